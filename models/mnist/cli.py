"""The command line: ``python -m models.mnist train | evaluate | predict | show-filters | export``."""
import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

import tinygrad_cnn as tg
from tinygrad_cnn import onnx as tg_onnx

from .checkpoint import build_model, default_weights, export_weights, load_for_cli, load_weights, read_weights_file
from .errors import CLIError, fail
from .images import cmd_predict
from .model import MODELS
from .plots import cmd_show_filters, import_pyplot, plot_history
from .train import check_images, evaluate_model, load_data, log, resolve_config, run_epochs, setup_run


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


def _fraction(text):
    """An argparse type: a number in [0, 1) (label smoothing, EMA decay)."""
    value = _number(float, positive=False)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be >= 0 and < 1, got {text!r}")
    return value


_fraction.__name__ = "number in [0, 1)"


# ------------------------------------------------------------------------------------- train


def _train_paths(args, name):
    """(checkpoint path, export path), checked before any work; creates the checkpoint's directory."""
    out = Path(args.out or (args.resume if args.resume else f"checkpoints/mnist_{name}.safetensors"))
    default_export = out.with_name(out.name.removesuffix(".safetensors") + ".weights.safetensors")
    export = Path(args.export) if args.export else default_export
    if export.resolve() == out.resolve():
        fail(f"--export {export} would overwrite the checkpoint --out {out}; choose another path")
    if args.plot:
        import_pyplot("--plot")  # fail now, not after training
    out.parent.mkdir(parents=True, exist_ok=True)
    return out, export


def _export_final(run, args, export):
    """Write the weights when the last epoch is done (returns True), else say how to continue."""
    history = run.history
    if history and history[-1]["epoch"] == run.epochs:
        final = history[-1]
        export_weights(export, run.eval_model, run.config["model"], {
            "test_accuracy": f"{final['test_accuracy']:.6f}", "test_samples": str(run.n_test),
            "epochs": str(run.epochs), "config": run.config,
        })
        return True
    if history:
        log(args, f"stopped after epoch {history[-1]['epoch']} of {run.epochs} (--stop-after); "
                  f"continue with --resume {run.out}")
    return False


def _train_result(run, args, export, finished, session_start):
    """The JSON result of ``train`` (also the source of its one-line summary)."""
    history, config = run.history, run.config
    if history:
        final_loss, final_acc = history[-1]["test_loss"], history[-1]["test_accuracy"]
    else:
        final_loss, final_acc = evaluate_model(run.eval_model, run.test_x, run.test_y)
    reached = next((h for h in history if h["test_accuracy"] >= 0.99), None)
    return {
        "command": "train", "model": config["model"], "accuracy": final_acc, "loss": final_loss,
        "samples": run.n_test, "seconds": round(time.perf_counter() - session_start, 3),
        "train_seconds": round(run.train_seconds, 3),
        "ms_per_step": round(1000 * run.train_seconds / run.steps, 3) if run.steps else None,
        "epochs": history[-1]["epoch"] if history else run.start_epoch, "epochs_planned": run.epochs,
        "train_samples": run.n_train, "config": config, "history": history,
        "checkpoint": str(run.out), "weights": str(export) if finished else None,
        "epoch_reaching_99": reached["epoch"] if reached else None,
        "seconds_to_99": reached["elapsed"] if reached else None,
        "plot": args.plot,
    }


def cmd_train(args):
    config, resumed = resolve_config(args)
    out, export = _train_paths(args, config["model"])
    run = setup_run(config, resumed, args, out)
    session_start = time.perf_counter()
    run_epochs(run, args)
    finished = _export_final(run, args, export)
    if args.plot and run.history:
        plot_history(run.history, args.plot, f"{config['model']}: {config['optimizer']} lr {config['lr']}, batch "
                                              f"{config['batch_size']}, {run.n_train} training images",
                     augmented=config["augment"])
    result = _train_result(run, args, export, finished, session_start)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"test accuracy {100 * result['accuracy']:.2f}% (loss {result['loss']:.4f}) on {run.n_test} images"
              + (f"; weights {export}" if finished else ""))
    return 0


# ------------------------------------------------------------------------------------- evaluate, export


def cmd_evaluate(args):
    model, name, path = load_for_cli(args)
    data = load_data(args.data_dir)
    check_images(data)
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


def cmd_export(args):
    if args.format == "onnx":
        return _export_onnx(args)
    if args.checkpoint is None:
        fail("export: give the CHECKPOINT whose weights to write (only --format onnx defaults to the shipped weights)")
    arrays, metadata = read_weights_file(args.checkpoint)
    name = args.model or metadata.get("model") or "cnn"
    if name not in MODELS:
        fail(f"{args.checkpoint}: unknown model '{name}' in the metadata")
    model = build_model(name, arrays, metadata, args.checkpoint)
    extra = {"source": Path(args.checkpoint).name}
    if "config" in metadata:
        extra["config"] = metadata["config"]
    if "epoch" in metadata:
        extra["epochs"] = metadata["epoch"]
    export_weights(args.out, model, name, extra)
    print(f"wrote {args.out} ({name} model weights, no optimizer state)")
    return 0


def _export_onnx(args):
    """``export --format onnx``: the model of a weights/checkpoint file (default: the shipped weights)
    as an ONNX file with a dynamic batch; its input is normalized images (N, 1, 28, 28), as evaluate's."""
    path = Path(args.checkpoint) if args.checkpoint else default_weights(args.model, "{path} as CHECKPOINT")
    if not path.exists():
        fail(f"weights file {path} does not exist")
    model, name = load_weights(path, args.model)
    model.eval()
    try:
        tg_onnx.export(model, np.zeros((1, 1, 28, 28), dtype=np.float32), args.out, opset_version=args.opset)
    except (ImportError, ValueError) as err:
        fail(str(err))
    print(f"wrote {args.out} ({name} model from {path}, ONNX opset {args.opset}; input 'input': normalized images "
          f"(batch, 1, 28, 28), output 'output': logits (batch, 10))")
    return 0


# ------------------------------------------------------------------------------------- parser


def _model_arg(p, default_help):
    p.add_argument("--model", choices=sorted(MODELS), default=None,
                   help=f"cnn = MnistCNN (default model), seed = the seeds' SeedCNN ({default_help})")


def _weights_args(p):
    _model_arg(p, "default: what the weights file says, else cnn")
    p.add_argument("--weights", metavar="PATH",
                   help="a weights or checkpoint file (default: the shipped models/mnist_cnn.safetensors)")


def _add_train_parser(sub):
    t = sub.add_parser("train", help="train a model", description=(
        "Train on the MNIST training set, evaluate on the test set after every epoch and write a "
        "checkpoint (atomically) after every epoch. Ctrl-C keeps the last end-of-epoch checkpoint "
        "and exits with code 130; a NaN/inf loss stops with exit code 3."))
    _model_arg(t, "default: cnn")
    t.add_argument("--epochs", type=_number(int), help="number of epochs (cnn: 12, seed: 3)")
    t.add_argument("--batch-size", type=_number(int), help="images per step (cnn: 128, seed: 32)")
    t.add_argument("--lr", type=_number(float),
                   help="learning rate; the peak one with --schedule onecycle "
                        "(cnn: adam 0.006, sgd 0.1; seed: adam 0.001, sgd 0.01)")
    t.add_argument("--optimizer", choices=("adam", "sgd"), help="(cnn: adam, seed: adam)")
    t.add_argument("--momentum", type=_number(float, positive=False),
                   help="SGD momentum (cnn: 0.9, seed: 0 = plain SGD); cycled 0.85-0.95 by onecycle")
    t.add_argument("--schedule", choices=("onecycle", "constant"),
                   help="learning-rate schedule (cnn: onecycle, seed: constant)")
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="random rotations (+-10 degrees), scalings (+-10%%) and shifts (+-2 px) of the training "
                        "images (cnn: on for MNIST's digits, off for another data set in --data-dir; seed: off)")
    t.add_argument("--label-smoothing", type=_fraction, metavar="EPS",
                   help="label smoothing of the training loss, 0 = none (cnn: 0.1, seed: 0)")
    t.add_argument("--ema", type=_fraction, metavar="DECAY",
                   help="decay of the exponential moving average of the weights, which is evaluated and "
                        "exported; 0 = no averaging (cnn: 0.999, seed: 0)")
    t.add_argument("--seed", type=_number(int, positive=False),
                   help="seed of the library RNG: init, shuffling, augmentation, dropout (default 0)")
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


def _add_use_parsers(sub):
    """The commands that use weights: evaluate, predict, show-filters, export."""
    e = sub.add_parser("evaluate", help="accuracy and loss on the test set")
    _weights_args(e)
    e.add_argument("--data-dir", metavar="DIR", help="a directory with the four MNIST-format IDX files")
    e.add_argument("--limit", type=_number(int), help="only the first N test images")
    e.add_argument("--json", action="store_true", help="print the result as one JSON object")
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify 28x28 images (PNG/JPEG or .npy)", description=(
        "Classify images given as PNG/JPEG (read with Pillow, converted to grayscale; other sizes are "
        "resized to 28x28 with a note) or .npy arrays of shape (28, 28) or (1, 28, 28), uint8 0-255 or "
        "float in [0, 1]. MNIST convention: a white digit on a black background (use --invert otherwise)."))
    p.add_argument("images", nargs="+", metavar="IMAGE")
    _weights_args(p)
    p.add_argument("--invert", action="store_true", help="the images are dark digits on a light background")
    p.add_argument("--json", action="store_true", help="print one JSON object with an entry per image")
    p.set_defaults(func=cmd_predict)

    s = sub.add_parser("show-filters", help="PNG of the first conv layer's filters and feature maps")
    _weights_args(s)
    group = s.add_mutually_exclusive_group()
    group.add_argument("--image", metavar="PATH", help="an image file (as for predict)")
    group.add_argument("--index", type=_number(int, positive=False), default=0, help="a test-set image (default 0)")
    s.add_argument("--invert", action="store_true", help="--image is a dark digit on a light background")
    s.add_argument("--data-dir", metavar="DIR", help="where the test set for --index is")
    s.add_argument("--out", metavar="PATH", required=True, help="the PNG to write")
    s.set_defaults(func=cmd_show_filters)

    x = sub.add_parser("export", help="write the model weights of a checkpoint without optimizer state, or the "
                                      "model as ONNX (--format onnx)")
    x.add_argument("checkpoint", metavar="CHECKPOINT", nargs="?",
                   help="a weights or checkpoint file (optional with --format onnx: the shipped weights)")
    _model_arg(x, "default: what the checkpoint says")
    x.add_argument("--out", metavar="PATH", required=True)
    x.add_argument("--format", choices=("safetensors", "onnx"), default="safetensors",
                   help="safetensors weights (default) or an ONNX model file (needs the onnx package)")
    x.add_argument("--opset", type=_number(int), default=17, help="the ONNX opset version (default 17)")
    x.set_defaults(func=cmd_export)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m models.mnist",
                                     description="Train, evaluate and use MNIST digit classifiers.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_train_parser(sub)
    _add_use_parsers(sub)
    return parser


def main(argv=None):
    """Run the CLI; returns 0 on success. Errors raise SystemExit with a one-line message (code 1),
    bad arguments exit with code 2 (argparse), divergence 3, Ctrl-C 130."""
    args = build_parser().parse_args(argv)
    tg.keep_freed_memory()  # a process-wide malloc setting, worth 20 of 57 ms per step of the mid model
    try:
        return args.func(args)
    except CLIError as err:
        raise SystemExit(f"error: {err}") from None
