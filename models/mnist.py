"""MNIST digit classifiers and their command line.

Models
------
``SeedCNN``  the seeds' network: conv 8@3x3 (valid, no bias) -> max-pool 2 -> linear 1352 -> 10.
``MnistCNN`` the default: two conv-BN-ReLU / max-pool stages and one linear layer (see the class).

Command line (run from the repository root; ``--help`` on every subcommand)::

    python -m models.mnist train                      # MnistCNN, the recipe that ships
    python -m models.mnist evaluate                   # the shipped weights on the MNIST test set
    python -m models.mnist predict digit.png x.npy    # white digit on black background, 28x28
    python -m models.mnist show-filters --out filters.png
    python -m models.mnist export CHECKPOINT --out weights.safetensors

Files written by ``train``
--------------------------
``--out`` (default ``checkpoints/mnist_<model>.safetensors``) is rewritten atomically after every
epoch. It holds the model's state_dict under the model's own keys, the optimizer's arrays under
``optim.state.<param index>.<name>`` keys, and in the safetensors metadata (JSON strings): the
training configuration, the epoch, the optimizer's hyperparameters and scalar state, the
scheduler's state, the library RNG state and the per-epoch history. ``--resume`` restores all of
it, so an interrupted run that is resumed ends with bit-identical weights.

When the last epoch completes, the weights alone (no ``optim.*`` keys; loadable with
``model.load_state_dict(tinygrad_cnn.state.load(path))``) are written to ``--export`` (default:
the checkpoint's name with ``.weights.safetensors``).

Exit codes: 0 success, 1 error (message on stderr), 2 bad command-line arguments, 3 training
diverged (NaN/inf loss; the last checkpoint is left as it was), 130 interrupted (Ctrl-C; the
checkpoint on disk holds the last *completed* epoch, never a half epoch).
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from tinygrad_cnn import Tensor, get_rng, get_rng_state, manual_seed, nn, no_grad, optim, set_rng_state
from tinygrad_cnn import state as tstate
from tinygrad_cnn.data import BatchIterator, load_mnist, normalize
from tinygrad_cnn.files import atomic_write

__all__ = ["SeedCNN", "MnistCNN", "MODELS", "SHIPPED_WEIGHTS", "load_weights", "main"]

SHIPPED_WEIGHTS = Path(__file__).resolve().parent / "mnist_cnn.safetensors"
CHECKPOINT_FORMAT = "tinygrad_cnn.models.mnist/checkpoint-1"
WEIGHTS_FORMAT = "tinygrad_cnn.models.mnist/weights-1"
OPTIM_PREFIX = "optim."
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130
PLOT_HINT = "pip install -e '.[plot]'"
IMAGE_HINT = "pip install -e '.[image]'"


# ------------------------------------------------------------------------------------- models


class SeedCNN(nn.Module):
    """The seeds' network: Conv2d(1, 8, 3, bias=False) -> MaxPool2d(2) -> Flatten -> Linear(1352, 10).

    No activation between the layers, exactly as in the seeds (the softmax is applied by the loss
    and by ``predict``). 10,098 parameters.
    """

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(8 * 13 * 13, 10)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.conv(x))))


def _conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class MnistCNN(nn.Module):
    """The default model (chosen by measured accuracy per CPU-minute, see models/README.md)::

        conv 3x3 1->C1 (pad 1) - BN - ReLU - maxpool 2        28x28 -> 14x14
        conv 3x3 C1->C2 (pad 1) - BN - ReLU - maxpool 2       14x14 -> 7x7
        flatten - dropout - linear C2*49 -> 10

    Convolutions have no bias (the BatchNorm that follows has one).
    """

    def __init__(self, channels=(32, 64), dropout=0.1):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(*_conv_bn_relu(1, c1), nn.MaxPool2d(2), *_conv_bn_relu(c1, c2), nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c2 * 7 * 7, 10)

    def forward(self, x):
        return self.fc(self.dropout(self.flatten(self.features(x))))


MODELS = {"cnn": MnistCNN, "seed": SeedCNN}

# Per-model training defaults; the learning rate also depends on the optimizer.
TRAIN_DEFAULTS = {
    "cnn": dict(epochs=8, batch_size=128, optimizer="adam", schedule="onecycle", augment=True,
                lr={"adam": 0.006, "sgd": 0.1}, momentum=0.9),
    # the Keras reference of the seeds: Adam, batch 32, 3 epochs, constant lr
    "seed": dict(epochs=3, batch_size=32, optimizer="adam", schedule="constant", augment=False,
                 lr={"adam": 0.001, "sgd": 0.01}, momentum=0.0),
}
# the settings that define a run: a resumed run must use the checkpoint's
CONFIG_KEYS = ("model", "epochs", "batch_size", "lr", "optimizer", "momentum", "schedule", "augment", "seed", "limit")


# ------------------------------------------------------------------------------------- errors


class CLIError(Exception):
    """A user-facing error: printed as one message, exit code 1, no traceback."""


class Diverged(Exception):
    pass


def _fail(message):
    raise CLIError(message)


# ------------------------------------------------------------------------------------- weights


def _split_optimizer(arrays):
    model = {k: v for k, v in arrays.items() if not k.startswith(OPTIM_PREFIX)}
    optimizer = {k: v for k, v in arrays.items() if k.startswith(OPTIM_PREFIX)}
    return model, optimizer


def _read_weights_file(path):
    """(arrays, metadata) of a safetensors file, or a CLIError naming the file."""
    path = Path(path)
    if not path.exists():
        _fail(f"weights file {path} does not exist")
    if path.is_dir():
        _fail(f"weights file {path} is a directory")
    try:
        return tstate.load(path), tstate.load_metadata(path)
    except (ValueError, OSError) as err:
        _fail(f"cannot read weights file {path}: {err} (corrupt, truncated or not a safetensors file)")


def _build_model(name, arrays, metadata, path):
    """A model of kind ``name`` with the arrays loaded; clear errors when they do not fit."""
    saved = metadata.get("model")
    if saved is not None and saved != name:
        _fail(f"{path} holds weights of the '{saved}' model, not '{name}': pass --model {saved}")
    model = MODELS[name]()
    weights, _ = _split_optimizer(arrays)
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        detail = str(err).split("\n", 1)[-1].strip().replace("\n", "; ")
        if len(detail) > 400:
            detail = detail[:400] + "..."
        others = [m for m in MODELS if m != name]
        fits = [m for m in others if set(MODELS[m]().state_dict()) == set(weights)]
        hint = f" (they fit --model {fits[0]})" if fits else ""
        _fail(f"the weights in {path} do not fit the '{name}' model{hint}: {detail}")
    return model


def load_weights(path=None, model=None):
    """Load a weights or checkpoint file into a fresh model; returns (model, model name).

    ``model`` (``'cnn'`` or ``'seed'``) defaults to what the file's metadata says, else 'cnn';
    ``path`` defaults to the shipped weights. Raises CLIError with a clear message on failure.
    """
    path = Path(path) if path is not None else SHIPPED_WEIGHTS
    arrays, metadata = _read_weights_file(path)
    name = model or metadata.get("model") or "cnn"
    if name not in MODELS:
        _fail(f"{path}: unknown model '{name}' in the metadata (known: {', '.join(MODELS)})")
    return _build_model(name, arrays, metadata, path), name


def _default_weights(model):
    if model in (None, "cnn"):
        return SHIPPED_WEIGHTS
    _fail(f"no weights ship for the '{model}' model: train some with `python -m models.mnist train --model {model}` "
          f"and pass --weights checkpoints/mnist_{model}.weights.safetensors")


def _load_for_cli(args):
    path = Path(args.weights) if args.weights else _default_weights(args.model)
    if not args.weights and not path.exists():
        _fail(f"the shipped weights {path} are missing; train them with `python -m models.mnist train "
              f"--export {path}` or pass --weights")
    model, name = load_weights(path, args.model)
    model.eval()
    return model, name, path


# ------------------------------------------------------------------------------------- data


def _load_data(data_dir):
    try:
        return load_mnist(data_dir)
    except Exception as err:  # FileNotFoundError, ValueError (bad IDX), DownloadError
        where = f" from {data_dir}" if data_dir else ""
        _fail(f"cannot load the MNIST data{where}: {err}")


def _check_images(data):
    h, w = data.train_images.shape[1:]
    if (h, w) != (28, 28):
        _fail(f"the models expect 28x28 images, the data set holds {h}x{w} images")
    for split in ("train", "test"):
        labels = getattr(data, f"{split}_labels")
        if labels.size and labels.max() >= 10:
            _fail(f"the {split} labels go up to {labels.max()}; the models have 10 classes (0-9)")


def random_shift(images, max_shift, rng):
    """Translate each image of a (N, H, W) batch by its own random offset in [-max_shift, max_shift]
    along each axis, filling with zeros (background); one gather, no Python loop over images."""
    n, h, w = images.shape
    p = max_shift
    padded = np.zeros((n, h + 2 * p, w + 2 * p), dtype=images.dtype)
    padded[:, p:p + h, p:p + w] = images
    dy = rng.integers(0, 2 * p + 1, size=n)
    dx = rng.integers(0, 2 * p + 1, size=n)
    rows = dy[:, None] + np.arange(h)
    cols = dx[:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def evaluate_model(model, images, labels, batch_size=1000):
    """(mean loss, accuracy) of ``model`` on uint8 images (N, 28, 28), in eval mode, batched."""
    model.eval()
    total_loss, correct, n = 0.0, 0, len(images)
    with no_grad():
        for i in range(0, n, batch_size):
            x = Tensor(normalize(images[i:i + batch_size]))
            y = labels[i:i + batch_size]
            logits = model(x)
            total_loss += float(logits.cross_entropy(y, reduction="sum").item())
            correct += int((logits.numpy().argmax(axis=1) == y).sum())
    return total_loss / n, correct / n


# ------------------------------------------------------------------------------------- checkpoints


def _optimizer_to_file(opt):
    """Split an optimizer state_dict into arrays (for the tensor section) and JSON-able rest."""
    sd = opt.state_dict()
    arrays, scalars = {}, {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, np.ndarray):
                arrays[f"{OPTIM_PREFIX}state.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return arrays, scalars, sd["param_groups"]


def _optimizer_from_file(arrays, scalars, param_groups):
    state = {}
    for key, value in arrays.items():
        idx, name = key[len(OPTIM_PREFIX + "state."):].split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    for idx, entry in scalars.items():
        state.setdefault(int(idx), {}).update(entry)
    return {"state": state, "param_groups": param_groups}


def save_checkpoint(path, model, opt, sched, config, epoch, history):
    arrays = dict(model.state_dict())
    opt_arrays, opt_scalars, groups = _optimizer_to_file(opt)
    arrays.update(opt_arrays)
    metadata = {
        "format": CHECKPOINT_FORMAT,
        "model": config["model"],
        "epoch": str(epoch),
        "config": json.dumps(config),
        "optimizer_param_groups": json.dumps(groups),
        "optimizer_state": json.dumps(opt_scalars),
        "scheduler": json.dumps(sched.state_dict() if sched is not None else None),
        "rng_state": json.dumps(get_rng_state()),
        "history": json.dumps(history),
    }
    tstate.save(arrays, path, metadata=metadata)


def export_weights(path, model, name, extra=None):
    """Write the model's weights alone (the keys of ``model.state_dict()``), atomically."""
    metadata = {"format": WEIGHTS_FORMAT, "model": name}
    metadata.update({k: (v if isinstance(v, str) else json.dumps(v)) for k, v in (extra or {}).items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tstate.save(model.state_dict(), path, metadata=metadata)


def _read_checkpoint(path):
    arrays, metadata = _read_weights_file(path)
    if metadata.get("format") != CHECKPOINT_FORMAT:
        _fail(f"{path} is not a training checkpoint of this CLI (no optimizer/RNG state); "
              f"--resume needs the --out file of `train`")
    try:
        meta = {key: json.loads(metadata[key]) for key in
                ("config", "optimizer_param_groups", "optimizer_state", "scheduler", "rng_state", "history")}
        meta["epoch"] = int(metadata["epoch"])
    except (KeyError, ValueError) as err:
        _fail(f"checkpoint {path} has damaged metadata ({err})")
    return arrays, meta


def _checkpoint_epoch(path):
    try:
        return int(tstate.load_metadata(path).get("epoch"))
    except Exception:
        return None


# ------------------------------------------------------------------------------------- train


def _number(kind, positive=True):
    """An argparse type: a finite ``kind`` (int or float), > 0 if ``positive`` else >= 0."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}")
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            if positive:
                what = "a positive integer" if kind is int else "a positive finite number"
            else:
                what = ">= 0" if kind is int else "a finite number >= 0"
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value
    parse.__name__ = f"{kind.__name__} {'> 0' if positive else '>= 0'}"
    return parse


def _resolve_config(args):
    """The run's configuration: explicit options, else the model's defaults (or the checkpoint's)."""
    given = {k: getattr(args, k) for k in CONFIG_KEYS if getattr(args, k, None) is not None}
    if args.resume:
        arrays, meta = _read_checkpoint(args.resume)
        config = meta["config"]
        clashes = [f"--{k.replace('_', '-')} {v} (checkpoint: {config.get(k)})"
                   for k, v in given.items() if config.get(k) != v]
        if clashes:
            _fail(f"--resume continues the run saved in {args.resume} with its own settings; these options "
                  f"differ: {', '.join(clashes)}. Drop them, or start a new run without --resume")
        return config, (arrays, meta)
    model = given.get("model", "cnn")
    defaults = TRAIN_DEFAULTS[model]
    optimizer = given.get("optimizer", defaults["optimizer"])
    config = {
        "model": model,
        "epochs": given.get("epochs", defaults["epochs"]),
        "batch_size": given.get("batch_size", defaults["batch_size"]),
        "lr": given.get("lr", defaults["lr"][optimizer]),
        "optimizer": optimizer,
        "momentum": given.get("momentum", defaults["momentum"] if optimizer == "sgd" else 0.0),
        "schedule": given.get("schedule", defaults["schedule"]),
        "augment": given.get("augment", defaults["augment"]),
        "seed": given.get("seed", 0),
        "limit": given.get("limit"),
    }
    return config, None


def _make_optimizer(config, model, steps_per_epoch):
    params = list(model.parameters())
    if config["optimizer"] == "adam":
        opt = optim.Adam(params, lr=config["lr"])
    else:
        opt = optim.SGD(params, lr=config["lr"], momentum=config["momentum"])
    sched = None
    if config["schedule"] == "onecycle":
        sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=config["lr"], epochs=config["epochs"],
                                              steps_per_epoch=steps_per_epoch,
                                              cycle_momentum=config["optimizer"] == "adam" or config["momentum"] > 0)
    return opt, sched


def _import_pyplot(option):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _fail(f"{option} needs matplotlib, which is not installed: {PLOT_HINT}")
    return plt


def _save_figure_atomic(fig, path):
    path = Path(path)
    if not path.parent.is_dir():
        _fail(f"cannot write {path}: directory {path.parent} does not exist")
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))


def plot_history(history, path, title, augmented=False):
    plt = _import_pyplot("--plot")
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train loss (running" + (", augmented)" if augmented else ")"))
    ax_loss.plot(epochs, [h["test_loss"] for h in history], "s-", label="test loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.set_yscale("log")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    ax_acc.plot(epochs, [100 * h["test_accuracy"] for h in history], "o-", color="tab:green", label="test accuracy")
    ax_acc.plot(epochs, [100 * h["train_accuracy"] for h in history], "^--", color="tab:gray", label="train accuracy (running" + (", augmented)" if augmented else ")"))
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.legend()
    ax_acc.grid(alpha=0.3)
    for ax in (ax_loss, ax_acc):
        ax.set_xticks(epochs)
    fig.suptitle(title)
    fig.tight_layout()
    try:
        _save_figure_atomic(fig, path)
    finally:
        plt.close(fig)


def _progress(total, desc, enabled=True):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, leave=True, dynamic_ncols=True,
                mininterval=0.5 if sys.stderr.isatty() else 5.0, disable=not enabled)


def _log(args, message):
    print(message, file=sys.stderr if args.json else sys.stdout, flush=True)


def cmd_train(args):
    config, resumed = _resolve_config(args)
    name = config["model"]
    out = Path(args.out or (args.resume if args.resume else f"checkpoints/mnist_{name}.safetensors"))
    export = Path(args.export) if args.export else out.with_name(out.name.removesuffix(".safetensors") + ".weights.safetensors")
    if export.resolve() == out.resolve():
        _fail(f"--export {export} would overwrite the checkpoint --out {out}; choose another path")
    if args.plot:
        _import_pyplot("--plot")  # fail now, not after training
    out.parent.mkdir(parents=True, exist_ok=True)

    data = _load_data(args.data_dir)
    _check_images(data)
    limit = config["limit"]
    train_x, train_y = data.train_images[:limit], data.train_labels[:limit]
    n_test = len(data.test_images) if limit is None else min(limit, len(data.test_images))
    test_x, test_y = data.test_images[:n_test], data.test_labels[:n_test]
    if len(train_x) == 0 or n_test == 0:
        _fail("the data set has no training or no test images")

    manual_seed(config["seed"])
    model = MODELS[name]()
    batches = BatchIterator(train_x, train_y, batch_size=config["batch_size"], shuffle=True)
    opt, sched = _make_optimizer(config, model, len(batches))
    history, start_epoch = [], 0
    if resumed is not None:
        arrays, meta = resumed
        weights, opt_arrays = _split_optimizer(arrays)
        try:
            model.load_state_dict(weights)
            opt.load_state_dict(_optimizer_from_file(opt_arrays, meta["optimizer_state"], meta["optimizer_param_groups"]))
            if sched is not None:
                sched.load_state_dict(meta["scheduler"])
            set_rng_state(meta["rng_state"])
        except (RuntimeError, ValueError, KeyError, TypeError) as err:
            _fail(f"cannot resume from {args.resume}: {err}")
        history, start_epoch = meta["history"], meta["epoch"]
        _log(args, f"resuming {args.resume} after epoch {start_epoch} of {config['epochs']}")
    epochs = config["epochs"]
    stop = min(epochs, args.stop_after) if args.stop_after else epochs
    if start_epoch >= epochs:
        _log(args, f"{args.resume} already holds all {epochs} epochs; nothing to train")

    session_start = time.perf_counter()
    train_seconds, steps = 0.0, 0
    epoch, bar = start_epoch, None
    try:
        for epoch in range(start_epoch + 1, stop + 1):
            model.train()
            epoch_start = time.perf_counter()
            loss_sum, correct, seen = 0.0, 0, 0
            bar = _progress(len(train_x), f"epoch {epoch}/{epochs}", not args.no_progress)
            last_postfix = 0.0
            rng = get_rng()
            for step, (xb, yb) in enumerate(batches, 1):
                if config["augment"]:
                    xb = random_shift(xb, 2, rng)
                logits = model(Tensor(normalize(xb)))
                loss = logits.cross_entropy(yb)
                value = float(loss.item())
                if not math.isfinite(value):
                    bar.close()
                    raise Diverged(epoch, step, len(batches), value)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                n = len(yb)
                loss_sum += value * n
                correct += int((logits.numpy().argmax(axis=1) == yb).sum())
                seen += n
                bar.update(n)
                now = time.perf_counter()
                if now - last_postfix > 0.5 or seen == len(train_x):
                    bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{100 * correct / seen:.2f}%", refresh=False)
                    last_postfix = now
            bar.close()
            epoch_train = time.perf_counter() - epoch_start
            train_seconds += epoch_train
            steps += len(batches)
            test_loss, test_acc = evaluate_model(model, test_x, test_y)
            previous_elapsed = history[-1]["elapsed"] if history else 0.0
            history.append({
                "epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
                "test_loss": test_loss, "test_accuracy": test_acc,
                "train_seconds": round(epoch_train, 3), "ms_per_step": round(1000 * epoch_train / len(batches), 3),
                "elapsed": round(previous_elapsed + time.perf_counter() - epoch_start, 3),
            })
            save_checkpoint(out, model, opt, sched, config, epoch, history)
            _log(args, f"epoch {epoch}/{epochs}: train loss {loss_sum / seen:.4f} acc {100 * correct / seen:.2f}% | "
                       f"test loss {test_loss:.4f} acc {100 * test_acc:.2f}% ({n_test} images) | "
                       f"{epoch_train:.1f} s, {1000 * epoch_train / len(batches):.1f} ms/step | checkpoint {out}")
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        held = _checkpoint_epoch(out) if out.exists() else None
        where = (f"the checkpoint {out} holds epoch {held}; resume with --resume {out}" if held
                 else "no checkpoint was written yet")
        print(f"\ninterrupted during epoch {epoch}; {where}", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED)
    except Diverged as d:
        ep, step, total, value = d.args
        held = _checkpoint_epoch(out) if out.exists() else None
        kept = (f"the checkpoint {out} (epoch {held}) was left untouched" if held and epoch > 1
                else "no checkpoint of this run was written")
        print(f"error: training diverged: the loss is {value} at epoch {ep}, step {step}/{total}; {kept}. "
              f"Try a lower --lr (this run used {config['lr']})", file=sys.stderr)
        raise SystemExit(EXIT_DIVERGED)

    finished = bool(history) and history[-1]["epoch"] == epochs
    if finished:
        final = history[-1]
        export_weights(export, model, name, {
            "test_accuracy": f"{final['test_accuracy']:.6f}", "test_samples": str(n_test),
            "epochs": str(epochs), "config": config,
        })
    elif history:
        _log(args, f"stopped after epoch {history[-1]['epoch']} of {epochs} (--stop-after); "
                   f"continue with --resume {out}")
    if args.plot and history:
        plot_history(history, args.plot, f"{name}: {config['optimizer']} lr {config['lr']}, batch "
                                         f"{config['batch_size']}, {len(train_x)} training images",
                     augmented=config["augment"])
    if history:
        final_loss, final_acc = history[-1]["test_loss"], history[-1]["test_accuracy"]
    else:
        final_loss, final_acc = evaluate_model(model, test_x, test_y)
    reached = next((h for h in history if h["test_accuracy"] >= 0.99), None)
    result = {
        "command": "train", "model": name, "accuracy": final_acc, "loss": final_loss, "samples": n_test,
        "seconds": round(time.perf_counter() - session_start, 3), "train_seconds": round(train_seconds, 3),
        "ms_per_step": round(1000 * train_seconds / steps, 3) if steps else None,
        "epochs": history[-1]["epoch"] if history else start_epoch, "epochs_planned": epochs,
        "train_samples": len(train_x), "config": config, "history": history,
        "checkpoint": str(out), "weights": str(export) if finished else None,
        "epoch_reaching_99": reached["epoch"] if reached else None,
        "seconds_to_99": reached["elapsed"] if reached else None,
        "plot": args.plot,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"test accuracy {100 * final_acc:.2f}% (loss {final_loss:.4f}) on {n_test} images"
              + (f"; weights {export}" if finished else ""))
    return 0


# ------------------------------------------------------------------------------------- evaluate


def cmd_evaluate(args):
    model, name, path = _load_for_cli(args)
    data = _load_data(args.data_dir)
    _check_images(data)
    n = len(data.test_images) if args.limit is None else min(args.limit, len(data.test_images))
    start = time.perf_counter()
    loss, acc = evaluate_model(model, data.test_images[:n], data.test_labels[:n])
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({"command": "evaluate", "model": name, "weights": str(path), "accuracy": acc,
                          "loss": loss, "samples": n, "seconds": round(seconds, 3)}))
    else:
        print(f"{name} model, weights {path}: test accuracy {100 * acc:.2f}% ({round(acc * n)}/{n}), "
              f"loss {loss:.4f} ({seconds:.1f} s)")
    return 0


# ------------------------------------------------------------------------------------- predict


def load_image(path, invert=False):
    """A (28, 28) uint8 image, white digit on black background (MNIST's convention)."""
    path = Path(path)
    if not path.is_file():
        _fail(f"image {path} does not exist")
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as err:
            _fail(f"cannot read {path} as a .npy array: {err}")
        if array.shape == (1, 28, 28):
            array = array[0]
        if array.shape != (28, 28):
            _fail(f"{path}: expected an array of shape (28, 28) or (1, 28, 28), got {array.shape}")
        if array.dtype == np.uint8:
            image = array
        elif array.dtype.kind == "f":
            if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
                _fail(f"{path}: a float image must hold values in [0, 1] (got {array.min():.3g} to {array.max():.3g}); "
                      f"use uint8 for 0-255")
            image = np.rint(array * 255).astype(np.uint8)
        elif array.dtype.kind in "iu" and array.size and array.min() >= 0 and array.max() <= 255:
            image = array.astype(np.uint8)
        else:
            _fail(f"{path}: expected uint8 pixels 0-255 or floats in [0, 1], got {array.dtype}")
    else:
        try:
            from PIL import Image, UnidentifiedImageError
        except ImportError:
            _fail(f"reading {path.suffix or 'image'} files needs Pillow, which is not installed: {IMAGE_HINT} "
                  f"(or pass a .npy array)")
        try:
            with Image.open(path) as img:
                img = img.convert("L")
                if img.size != (28, 28):
                    print(f"note: {path} is {img.size[0]}x{img.size[1]}; resized to 28x28 (MNIST digits are "
                          f"about 20x20, centred in a 28x28 frame)", file=sys.stderr)
                    img = img.resize((28, 28), Image.Resampling.LANCZOS)
                image = np.asarray(img, dtype=np.uint8).copy()
        except (UnidentifiedImageError, OSError) as err:
            _fail(f"cannot read image {path}: {err}")
    if invert:
        image = 255 - image
    elif image.mean() > 127:
        print(f"note: {path} looks like a dark digit on a light background; the models expect a white "
              f"digit on black (MNIST), pass --invert", file=sys.stderr)
    return image


def cmd_predict(args):
    images = np.stack([load_image(p, args.invert) for p in args.images])  # bad paths fail before loading weights
    model, name, path = _load_for_cli(args)
    with no_grad():
        probs = model(Tensor(normalize(images))).softmax(axis=1).numpy().astype(np.float64)
    entries = []
    for p, row in zip(args.images, probs):
        digit = int(row.argmax())
        entries.append({"path": str(p), "digit": digit, "probability": float(row[digit]),
                        "probabilities": [round(float(v), 6) for v in row]})
        if not args.json:
            print(f"{p}: {digit} (probability {row[digit]:.4f})")
    if args.json:
        print(json.dumps({"command": "predict", "model": name, "weights": str(path), "predictions": entries}))
    return 0


# ------------------------------------------------------------------------------------- show-filters


def cmd_show_filters(args):
    plt = _import_pyplot("show-filters")
    model, name, path = _load_for_cli(args)
    if args.image:
        image, label = load_image(args.image, args.invert), None
        source = str(args.image)
    else:
        data = _load_data(args.data_dir)
        if not 0 <= args.index < len(data.test_images):
            _fail(f"--index {args.index} is out of range: the test set has {len(data.test_images)} images")
        image, label = data.test_images[args.index], int(data.test_labels[args.index])
        source = f"test image {args.index} (label {label})"
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    x = Tensor(normalize(image[None]))
    with no_grad():
        maps = conv(x).numpy()[0]
        pred = int(model(x).numpy().argmax())
    weights = conv.weight.numpy()[:, 0]
    count = len(weights)
    cols = min(8, count)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(1 + 2 * rows, cols, figsize=(1.5 * cols, 1.6 * (1 + 2 * rows)), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    axes[0, 0].imshow(image, cmap="gray")
    axes[0, 0].set_title("input", fontsize=8)
    for i in range(count):
        r, c = divmod(i, cols)
        lim = np.abs(weights[i]).max() or 1.0
        axes[1 + 2 * r, c].imshow(weights[i], cmap="bwr", vmin=-lim, vmax=lim)
        axes[1 + 2 * r, c].set_title(f"filter {i}", fontsize=7)
        axes[2 + 2 * r, c].imshow(maps[i], cmap="viridis")
        axes[2 + 2 * r, c].set_title(f"map {i}", fontsize=7)
    fig.suptitle(f"{name}: first conv layer ({count} filters {weights.shape[1]}x{weights.shape[2]}) and its outputs "
                 f"on {source}; predicted {pred}", fontsize=9)
    fig.tight_layout()
    try:
        _save_figure_atomic(fig, args.out)
    finally:
        plt.close(fig)
    print(f"wrote {args.out}")
    return 0


# ------------------------------------------------------------------------------------- export


def cmd_export(args):
    arrays, metadata = _read_weights_file(args.checkpoint)
    name = args.model or metadata.get("model") or "cnn"
    if name not in MODELS:
        _fail(f"{args.checkpoint}: unknown model '{name}' in the metadata")
    model = _build_model(name, arrays, metadata, args.checkpoint)
    extra = {"source": Path(args.checkpoint).name}
    if "config" in metadata:
        extra["config"] = metadata["config"]
    if "epoch" in metadata:
        extra["epochs"] = metadata["epoch"]
    export_weights(args.out, model, name, extra)
    print(f"wrote {args.out} ({name} model weights, no optimizer state)")
    return 0


# ------------------------------------------------------------------------------------- CLI


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m models.mnist", description="Train, evaluate and use MNIST digit classifiers.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def model_arg(p, default_help):
        p.add_argument("--model", choices=sorted(MODELS), default=None,
                       help=f"cnn = MnistCNN (default model), seed = the seeds' SeedCNN ({default_help})")

    def weights_args(p):
        model_arg(p, "default: what the weights file says, else cnn")
        p.add_argument("--weights", metavar="PATH",
                       help="a weights or checkpoint file (default: the shipped models/mnist_cnn.safetensors)")

    t = sub.add_parser("train", help="train a model", description=(
        "Train on the MNIST training set, evaluate on the test set after every epoch and write a "
        "checkpoint (atomically) after every epoch. Ctrl-C keeps the last end-of-epoch checkpoint "
        "and exits with code 130; a NaN/inf loss stops with exit code 3."))
    model_arg(t, "default: cnn")
    t.add_argument("--epochs", type=_number(int), help="number of epochs (cnn: 8, seed: 3)")
    t.add_argument("--batch-size", type=_number(int), help="images per step (cnn: 128, seed: 32)")
    t.add_argument("--lr", type=_number(float),
                   help="learning rate; the peak one with --schedule onecycle (cnn: adam 0.006, sgd 0.1; seed: adam 0.001, sgd 0.01)")
    t.add_argument("--optimizer", choices=("adam", "sgd"), help="(cnn: adam, seed: adam)")
    t.add_argument("--momentum", type=_number(float, positive=False),
                   help="SGD momentum (cnn: 0.9, seed: 0 = plain SGD); cycled 0.85-0.95 by onecycle")
    t.add_argument("--schedule", choices=("onecycle", "constant"), help="learning-rate schedule (cnn: onecycle, seed: constant)")
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="random +-2 pixel translations of the training images (cnn: on, seed: off)")
    t.add_argument("--seed", type=_number(int, positive=False), help="seed of the library RNG: init, shuffling, augmentation, dropout (default 0)")
    t.add_argument("--data-dir", metavar="DIR",
                   help="a directory with the four MNIST-format IDX files (raw or .gz); default: the shipped copy")
    t.add_argument("--limit", type=_number(int),
                   help="train on the first N training images and test on the first min(N, test size) test images "
                        "(default: everything)")
    t.add_argument("--out", metavar="PATH",
                   help="checkpoint written after every epoch (default checkpoints/mnist_<model>.safetensors; "
                        "with --resume, the resumed file)")
    t.add_argument("--export", metavar="PATH",
                   help="where the final weights alone go (default: the --out name with .weights.safetensors)")
    t.add_argument("--resume", metavar="PATH", help="continue the run saved in this checkpoint (bit-identical result)")
    t.add_argument("--stop-after", type=_number(int), metavar="EPOCH",
                   help="stop after this epoch (the schedule still spans --epochs); continue later with --resume")
    t.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line of stdout")
    t.add_argument("--plot", metavar="PATH", help="write a PNG of loss and accuracy per epoch (needs matplotlib)")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="accuracy and loss on the test set")
    weights_args(e)
    e.add_argument("--data-dir", metavar="DIR", help="a directory with the four MNIST-format IDX files")
    e.add_argument("--limit", type=_number(int), help="only the first N test images")
    e.add_argument("--json", action="store_true", help="print the result as one JSON object")
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify 28x28 images (PNG/JPEG or .npy)", description=(
        "Classify images given as PNG/JPEG (read with Pillow, converted to grayscale; other sizes are "
        "resized to 28x28 with a note) or .npy arrays of shape (28, 28) or (1, 28, 28), uint8 0-255 or "
        "float in [0, 1]. MNIST convention: a white digit on a black background (use --invert otherwise)."))
    p.add_argument("images", nargs="+", metavar="IMAGE")
    weights_args(p)
    p.add_argument("--invert", action="store_true", help="the images are dark digits on a light background")
    p.add_argument("--json", action="store_true", help="print one JSON object with an entry per image")
    p.set_defaults(func=cmd_predict)

    s = sub.add_parser("show-filters", help="PNG of the first conv layer's filters and feature maps")
    weights_args(s)
    group = s.add_mutually_exclusive_group()
    group.add_argument("--image", metavar="PATH", help="an image file (as for predict)")
    group.add_argument("--index", type=_number(int, positive=False), default=0, help="a test-set image (default 0)")
    s.add_argument("--invert", action="store_true", help="--image is a dark digit on a light background")
    s.add_argument("--data-dir", metavar="DIR", help="where the test set for --index is")
    s.add_argument("--out", metavar="PATH", required=True, help="the PNG to write")
    s.set_defaults(func=cmd_show_filters)

    x = sub.add_parser("export", help="write the model weights of a checkpoint without optimizer state")
    x.add_argument("checkpoint", metavar="CHECKPOINT")
    model_arg(x, "default: what the checkpoint says")
    x.add_argument("--out", metavar="PATH", required=True)
    x.set_defaults(func=cmd_export)
    return parser


def main(argv=None):
    """Run the CLI; returns 0 on success. Errors raise SystemExit with a one-line message (code 1),
    bad arguments exit with code 2 (argparse), divergence 3, Ctrl-C 130."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CLIError as err:
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    sys.exit(main())
