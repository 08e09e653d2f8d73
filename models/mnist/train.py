"""Training: the run's configuration, data, optimizer and schedule, the epoch loop, evaluation."""
import math
import sys
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from tinygrad_cnn import Tensor, get_rng, get_rng_state, manual_seed, no_grad, optim, set_rng_state
from tinygrad_cnn.data import BatchIterator, is_mnist, load_mnist, normalize

from .checkpoint import checkpoint_epoch, read_checkpoint, restore_checkpoint, save_checkpoint
from .errors import EXIT_DIVERGED, EXIT_INTERRUPTED, Diverged, fail
from .model import MODELS

# Per-model training defaults; the learning rate also depends on the optimizer.
TRAIN_DEFAULTS = {
    "cnn": dict(epochs=12, batch_size=128, optimizer="adam", schedule="onecycle", augment=True,
                lr={"adam": 0.006, "sgd": 0.1}, momentum=0.9, label_smoothing=0.1, ema=0.999),
    # the Keras reference of the seeds: Adam, batch 32, 3 epochs, constant lr
    "seed": dict(epochs=3, batch_size=32, optimizer="adam", schedule="constant", augment=False,
                 lr={"adam": 0.001, "sgd": 0.01}, momentum=0.0, label_smoothing=0.0, ema=0.0),
}
# the settings that define a run: a resumed run must use the checkpoint's
CONFIG_KEYS = ("model", "epochs", "batch_size", "lr", "optimizer", "momentum", "schedule", "augment",
               "label_smoothing", "ema", "seed", "limit")
# the training-image augmentation of --augment: each image gets its own random rotation, scaling and shift
AUGMENT = dict(max_rotation=10.0, max_scale=0.1, max_shift=2.0)


def log(args, message):
    """A progress line: on stderr with --json (stdout then holds only the result), else stdout."""
    print(message, file=sys.stderr if args.json else sys.stdout, flush=True)


# ------------------------------------------------------------------------------------- data


def load_data(data_dir):
    """``load_mnist(data_dir)``, any failure as one CLIError."""
    try:
        return load_mnist(data_dir)
    except Exception as err:  # FileNotFoundError, ValueError (bad IDX), DownloadError
        where = f" from {data_dir}" if data_dir else ""
        fail(f"cannot load the MNIST data{where}: {err}")


def check_images(data):
    """A CLIError unless the data set holds 28x28 images and labels 0-9."""
    h, w = data.train_images.shape[1:]
    if (h, w) != (28, 28):
        fail(f"the models expect 28x28 images, the data set holds {h}x{w} images")
    for split in ("train", "test"):
        labels = getattr(data, f"{split}_labels")
        if labels.size and labels.max() >= 10:
            fail(f"the {split} labels go up to {labels.max()}; the models have 10 classes (0-9)")


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


def random_affine(images, rng, max_rotation=10.0, max_scale=0.1, max_shift=2.0):
    """Rotate each image of a uint8 (N, H, W) batch about its centre by its own random angle in
    [-max_rotation, max_rotation] degrees, scale it by a factor in [1 - max_scale, 1 + max_scale] and
    shift it by up to ``max_shift`` pixels along each axis (continuous offsets), with bilinear
    interpolation and zeros (background) outside the image. Returns uint8 (N, H, W).

    Four draws of N numbers from ``rng`` per call and NumPy element-wise arithmetic in float64 (no
    BLAS, no threads), so a batch is reproducible from the RNG state; one gather per corner for the
    whole batch, no Python loop over images."""
    n, h, w = images.shape
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation, size=n))
    scale = rng.uniform(1.0 - max_scale, 1.0 + max_scale, size=n)
    shift_y = rng.uniform(-max_shift, max_shift, size=n)
    shift_x = rng.uniform(-max_shift, max_shift, size=n)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    # output pixel -> source position: undo the shift, then the rotation and scaling about the centre
    oy = np.arange(h, dtype=np.float64)[None, :, None] - cy - shift_y[:, None, None]
    ox = np.arange(w, dtype=np.float64)[None, None, :] - cx - shift_x[:, None, None]
    cos, sin = (np.cos(angle) / scale)[:, None, None], (np.sin(angle) / scale)[:, None, None]
    sy = cos * oy - sin * ox + cy
    sx = sin * oy + cos * ox + cx
    y0, x0 = np.floor(sy), np.floor(sx)
    fy, fx = sy - y0, sx - x0
    # a one-pixel zero border; every position outside reads it (clipped indices)
    padded = np.zeros((n, h + 2, w + 2), dtype=np.float64)
    padded[:, 1:-1, 1:-1] = images
    flat = padded.reshape(n, -1)
    yi0 = np.clip(y0.astype(np.int64) + 1, 0, h + 1)
    yi1 = np.clip(y0.astype(np.int64) + 2, 0, h + 1)
    xi0 = np.clip(x0.astype(np.int64) + 1, 0, w + 1)
    xi1 = np.clip(x0.astype(np.int64) + 2, 0, w + 1)
    rows = np.arange(n)[:, None, None]

    def at(yi, xi):
        return flat[rows, yi * (w + 2) + xi]

    top = at(yi0, xi0) * (1 - fx) + at(yi0, xi1) * fx
    bottom = at(yi1, xi0) * (1 - fx) + at(yi1, xi1) * fx
    out = top * (1 - fy) + bottom * fy
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class WeightEMA:
    """An exponential moving average of a model's parameters and float buffers (BatchNorm running
    statistics), kept in a second model of the same class: ``average <- d * average + (1 - d) * live``
    after every optimizer step, with ``d = min(decay, (1 + t) / (10 + t))`` at update ``t`` (so the
    first steps are not dominated by the random initialisation). Integer buffers are copied.
    The averaged network is the one evaluated and exported; ``state_dict`` / ``load_state_dict``
    (its arrays and the update count) go into the checkpoint so ``--resume`` stays bit-identical."""

    def __init__(self, model, decay, factory):
        self.decay, self.updates = float(decay), 0
        state = get_rng_state()  # building the copy must not consume the run's random numbers
        self.model = factory()
        set_rng_state(state)
        self.model.load_state_dict(model.state_dict())
        self.model.eval()

    def update(self, model):
        self.updates += 1
        d = np.float32(min(self.decay, (1 + self.updates) / (10 + self.updates)))
        averaged = self.model.state_dict(keep_vars=True)
        for key, live in model.state_dict(keep_vars=True).items():
            target, source = averaged[key].numpy(), live.numpy()
            if target.dtype.kind == "f":
                target *= d
                target += (np.float32(1) - d) * source
            else:
                target[...] = source

    def state_dict(self):
        return self.model.state_dict()

    def load_state_dict(self, arrays, updates):
        self.model.load_state_dict(arrays)
        self.updates = int(updates)


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


# ------------------------------------------------------------------------------------- setup


def resolve_config(args):
    """The run's configuration: explicit options, else the model's defaults (or the checkpoint's).
    Returns (config, the checkpoint's (arrays, meta) with --resume, else None)."""
    given = {k: getattr(args, k) for k in CONFIG_KEYS if getattr(args, k, None) is not None}
    if args.resume:
        arrays, meta = read_checkpoint(args.resume)
        config = meta["config"]
        clashes = [f"--{k.replace('_', '-')} {v} (checkpoint: {config.get(k)})"
                   for k, v in given.items() if config.get(k) != v]
        if clashes:
            fail(f"--resume continues the run saved in {args.resume} with its own settings; these options "
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
        "augment": given["augment"] if "augment" in given else defaults["augment"] and _digits(args),
        "label_smoothing": given.get("label_smoothing", defaults["label_smoothing"]),
        "ema": given.get("ema", defaults["ema"]),
        "seed": given.get("seed", 0),
        "limit": given.get("limit"),
    }
    return config, None


def _digits(args):
    """Whether the training images are MNIST's handwritten digits: the shipped copy, or a --data-dir
    holding MNIST itself (its sha256). The default augmentation imitates how handwriting varies
    (slant, size, position); on another data set in MNIST's format it is off unless --augment is
    given: one epoch of Fashion-MNIST scored 88.1% with it and 90.2% without (models/README.md)."""
    if args.data_dir is None or is_mnist(args.data_dir):
        return True
    log(args, f"note: {args.data_dir} does not hold MNIST's digits, so the digit augmentation is off "
              "(pass --augment to use it)")
    return False


def make_optimizer(config, model, steps_per_epoch):
    """(optimizer, per-step lr scheduler or None) of the configuration."""
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


@dataclass
class Run:
    """Everything one ``train`` invocation works on; ``history`` grows by one dict per epoch."""
    config: dict
    model: object
    batches: BatchIterator
    opt: object
    sched: object
    n_train: int
    test_x: np.ndarray
    test_y: np.ndarray
    out: object
    history: list
    start_epoch: int
    stop: int
    ema: object = None
    train_seconds: float = 0.0
    steps: int = 0

    @property
    def eval_model(self):
        """The network that is evaluated, checkpointed as the weights and exported: the EMA, if any."""
        return self.ema.model if self.ema is not None else self.model

    @property
    def epochs(self):
        return self.config["epochs"]

    @property
    def n_test(self):
        return len(self.test_x)


def _training_data(data_dir, limit):
    """(train images, train labels, test images, test labels): the first ``limit`` of each split."""
    data = load_data(data_dir)
    check_images(data)
    train_x, train_y = data.train_images[:limit], data.train_labels[:limit]
    n_test = len(data.test_images) if limit is None else min(limit, len(data.test_images))
    if len(train_x) == 0 or n_test == 0:
        fail("the data set has no training or no test images")
    return train_x, train_y, data.test_images[:n_test], data.test_labels[:n_test]


def setup_run(config, resumed, args, out):
    """Seed, model, batches, optimizer and schedule (in this order: it fixes the RNG draws), then
    the checkpoint's state with --resume."""
    train_x, train_y, test_x, test_y = _training_data(args.data_dir, config["limit"])
    manual_seed(config["seed"])
    model = MODELS[config["model"]]()
    batches = BatchIterator(train_x, train_y, batch_size=config["batch_size"], shuffle=True)
    opt, sched = make_optimizer(config, model, len(batches))
    decay = config.get("ema") or 0.0  # checkpoints written before EMA existed have no "ema"
    ema = WeightEMA(model, decay, MODELS[config["model"]]) if decay > 0 else None
    history, start_epoch = [], 0
    if resumed is not None:
        history, start_epoch = restore_checkpoint(resumed, model, opt, sched, args.resume, ema)
        log(args, f"resuming {args.resume} after epoch {start_epoch} of {config['epochs']}")
    epochs = config["epochs"]
    stop = min(epochs, args.stop_after) if args.stop_after else epochs
    if start_epoch >= epochs:
        log(args, f"{args.resume} already holds all {epochs} epochs; nothing to train")
    return Run(config, model, batches, opt, sched, len(train_x), test_x, test_y, out, history, start_epoch, stop, ema)


# ------------------------------------------------------------------------------------- epochs


def progress(total, desc, enabled=True):
    """A tqdm bar on stderr counting images; refreshed rarely when stderr is not a terminal."""
    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, leave=True, dynamic_ncols=True,
                mininterval=0.5 if sys.stderr.isatty() else 5.0, disable=not enabled)


def _train_step(run, xb, yb):
    """Forward, backward, optimizer and schedule step; returns (loss, correct predictions), or
    (loss, None) without stepping when the loss is NaN/inf."""
    logits = run.model(Tensor(normalize(xb)))
    loss = logits.cross_entropy(yb, label_smoothing=run.config.get("label_smoothing") or 0.0)
    value = float(loss.item())
    if not math.isfinite(value):
        return value, None
    run.opt.zero_grad()
    loss.backward()
    run.opt.step()
    if run.sched is not None:
        run.sched.step()
    if run.ema is not None:
        run.ema.update(run.model)
    return value, int((logits.numpy().argmax(axis=1) == yb).sum())


def train_epoch(run, epoch, show_progress):
    """One pass over the training batches; returns (loss sum, correct, seen, start time).
    Raises Diverged on a NaN/inf loss."""
    run.model.train()
    epoch_start = time.perf_counter()
    loss_sum, correct, seen = 0.0, 0, 0
    bar = progress(run.n_train, f"epoch {epoch}/{run.epochs}", show_progress)
    last_postfix = 0.0
    rng = get_rng()
    try:
        for step, (xb, yb) in enumerate(run.batches, 1):
            if run.config["augment"]:
                xb = random_affine(xb, rng, **AUGMENT)
            value, hits = _train_step(run, xb, yb)
            if hits is None:
                raise Diverged(epoch, step, len(run.batches), value)
            n = len(yb)
            loss_sum += value * n
            correct += hits
            seen += n
            bar.update(n)
            now = time.perf_counter()
            if now - last_postfix > 0.5 or seen == run.n_train:
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{100 * correct / seen:.2f}%", refresh=False)
                last_postfix = now
    finally:
        bar.close()  # also on Ctrl-C and divergence, before their messages
    return loss_sum, correct, seen, epoch_start


def finish_epoch(run, args, epoch, loss_sum, correct, seen, epoch_start):
    """Evaluate, append the epoch to the history, write the checkpoint and log the epoch line."""
    epoch_train = time.perf_counter() - epoch_start
    run.train_seconds += epoch_train
    run.steps += len(run.batches)
    test_loss, test_acc = evaluate_model(run.eval_model, run.test_x, run.test_y)
    previous_elapsed = run.history[-1]["elapsed"] if run.history else 0.0
    ms_per_step = 1000 * epoch_train / len(run.batches)
    run.history.append({
        "epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
        "test_loss": test_loss, "test_accuracy": test_acc,
        "train_seconds": round(epoch_train, 3), "ms_per_step": round(ms_per_step, 3),
        "elapsed": round(previous_elapsed + time.perf_counter() - epoch_start, 3),
    })
    save_checkpoint(run.out, run.model, run.opt, run.sched, run.config, epoch, run.history, run.ema)
    log(args, f"epoch {epoch}/{run.epochs}: train loss {loss_sum / seen:.4f} acc {100 * correct / seen:.2f}% | "
              f"test loss {test_loss:.4f} acc {100 * test_acc:.2f}% ({run.n_test} images) | "
              f"{epoch_train:.1f} s, {ms_per_step:.1f} ms/step | checkpoint {run.out}")


def run_epochs(run, args):
    """Train epochs ``start_epoch + 1 .. stop``; Ctrl-C exits 130 and a NaN/inf loss exits 3,
    both leaving the last end-of-epoch checkpoint as it was."""
    epoch = run.start_epoch
    try:
        for epoch in range(run.start_epoch + 1, run.stop + 1):
            finish_epoch(run, args, epoch, *train_epoch(run, epoch, not args.no_progress))
    except KeyboardInterrupt:
        held = checkpoint_epoch(run.out) if run.out.exists() else None
        where = (f"the checkpoint {run.out} holds epoch {held}; resume with --resume {run.out}" if held
                 else "no checkpoint was written yet")
        print(f"\ninterrupted during epoch {epoch}; {where}", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED)
    except Diverged as d:
        ep, step, total, value = d.args
        held = checkpoint_epoch(run.out) if run.out.exists() else None
        kept = (f"the checkpoint {run.out} (epoch {held}) was left untouched" if held and epoch > 1
                else "no checkpoint of this run was written")
        print(f"error: training diverged: the loss is {value} at epoch {ep}, step {step}/{total}; {kept}. "
              f"Try a lower --lr (this run used {run.config['lr']})", file=sys.stderr)
        raise SystemExit(EXIT_DIVERGED)
