"""The files: weights (a model's state_dict) and training checkpoints (weights, optimizer,
scheduler, RNG state and history), reading them back into models, and resuming a run."""
import json
from pathlib import Path

import numpy as np

from tinygrad_cnn import get_rng_state, set_rng_state
from tinygrad_cnn import state as tstate

from .errors import fail
from .model import MODELS

SHIPPED_WEIGHTS = Path(__file__).resolve().parent.parent / "mnist_cnn.safetensors"
CHECKPOINT_FORMAT = "tinygrad_cnn.models.mnist/checkpoint-1"
WEIGHTS_FORMAT = "tinygrad_cnn.models.mnist/weights-1"
OPTIM_PREFIX = "optim."
EMA_PREFIX = "ema."  # a checkpoint's averaged weights (train --ema): the ones evaluated and exported
# the JSON metadata entries of a checkpoint (besides "format", "model" and "epoch")
_CHECKPOINT_JSON = ("config", "optimizer_param_groups", "optimizer_state", "scheduler", "rng_state", "history")


# ------------------------------------------------------------------------------------- weights


def split_optimizer(arrays):
    """(model arrays, optimizer arrays) of a file's tensors, by the ``optim.`` key prefix; the
    ``ema.`` arrays (the averaged weights of a checkpoint) are in neither, see ``split_ema``."""
    model = {k: v for k, v in arrays.items() if not k.startswith((OPTIM_PREFIX, EMA_PREFIX))}
    optimizer = {k: v for k, v in arrays.items() if k.startswith(OPTIM_PREFIX)}
    return model, optimizer


def split_ema(arrays):
    """The averaged weights of a checkpoint under the model's own keys (``ema.`` prefix removed),
    or {} when the file has none."""
    return {k[len(EMA_PREFIX):]: v for k, v in arrays.items() if k.startswith(EMA_PREFIX)}


def network_weights(arrays):
    """The weights a file stands for: a checkpoint's averaged (EMA) weights when it has them (they are
    what training evaluated and exported), else its model arrays."""
    return split_ema(arrays) or split_optimizer(arrays)[0]


def read_weights_file(path):
    """(arrays, metadata) of a safetensors file, or a CLIError naming the file."""
    path = Path(path)
    if not path.exists():
        fail(f"weights file {path} does not exist")
    if path.is_dir():
        fail(f"weights file {path} is a directory")
    try:
        return tstate.load(path), tstate.load_metadata(path)
    except (ValueError, OSError) as err:
        fail(f"cannot read weights file {path}: {err} (corrupt, truncated or not a safetensors file)")


def build_model(name, arrays, metadata, path):
    """A model of kind ``name`` with the arrays loaded; clear errors when they do not fit."""
    saved = metadata.get("model")
    if saved is not None and saved != name:
        fail(f"{path} holds weights of the '{saved}' model, not '{name}': pass --model {saved}")
    model = MODELS[name]()
    weights = network_weights(arrays)
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        detail = str(err).split("\n", 1)[-1].strip().replace("\n", "; ")
        if len(detail) > 400:
            detail = detail[:400] + "..."
        others = [m for m in MODELS if m != name]
        fits = [m for m in others if set(MODELS[m]().state_dict()) == set(weights)]
        hint = f" (they fit --model {fits[0]})" if fits else ""
        fail(f"the weights in {path} do not fit the '{name}' model{hint}: {detail}")
    return model


def load_weights(path=None, model=None):
    """Load a weights or checkpoint file into a fresh model; returns (model, model name).

    ``model`` (``'cnn'`` or ``'seed'``) defaults to what the file's metadata says, else 'cnn';
    ``path`` defaults to the shipped weights. Raises CLIError with a clear message on failure.
    """
    path = Path(path) if path is not None else SHIPPED_WEIGHTS
    arrays, metadata = read_weights_file(path)
    name = model or metadata.get("model") or "cnn"
    if name not in MODELS:
        fail(f"{path}: unknown model '{name}' in the metadata (known: {', '.join(MODELS)})")
    return build_model(name, arrays, metadata, path), name


def default_weights(model, how="--weights {path}"):
    """The shipped weights file of ``model``; a clear error for a model that ships none (``how``: the way to
    name a file instead, as the calling command spells it)."""
    if model in (None, "cnn"):
        return SHIPPED_WEIGHTS
    fail(f"no weights ship for the '{model}' model: train some with `python -m models.mnist train --model {model}` "
         f"and pass {how.format(path=f'checkpoints/mnist_{model}.weights.safetensors')}")


def load_for_cli(args):
    """(model in eval mode, name, path) for the ``--weights``/``--model`` options of a command."""
    path = Path(args.weights) if args.weights else default_weights(args.model)
    if not args.weights and not path.exists():
        fail(f"the shipped weights {path} are missing; train them with `python -m models.mnist train "
             f"--export {path}` or pass --weights")
    model, name = load_weights(path, args.model)
    model.eval()
    return model, name, path


def export_weights(path, model, name, extra=None):
    """Write the model's weights alone (the keys of ``model.state_dict()``), atomically."""
    metadata = {"format": WEIGHTS_FORMAT, "model": name}
    metadata.update({k: (v if isinstance(v, str) else json.dumps(v)) for k, v in (extra or {}).items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tstate.save(model.state_dict(), path, metadata=metadata)


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


def save_checkpoint(path, model, opt, sched, config, epoch, history, ema=None):
    """Write everything a bit-identical ``--resume`` needs (see the package docstring), atomically;
    with ``ema`` (a ``train.WeightEMA``) also its arrays under ``ema.<key>`` and its update count."""
    arrays = dict(model.state_dict())
    opt_arrays, opt_scalars, groups = _optimizer_to_file(opt)
    arrays.update(opt_arrays)
    if ema is not None:
        arrays.update({EMA_PREFIX + k: v for k, v in ema.state_dict().items()})
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
        "ema_updates": json.dumps(ema.updates if ema is not None else None),
    }
    tstate.save(arrays, path, metadata=metadata)


def read_checkpoint(path):
    """(arrays, decoded metadata) of a ``train --out`` file; a CLIError for anything else."""
    arrays, metadata = read_weights_file(path)
    if metadata.get("format") != CHECKPOINT_FORMAT:
        fail(f"{path} is not a training checkpoint of this CLI (no optimizer/RNG state); "
             f"--resume needs the --out file of `train`")
    try:
        meta = {key: json.loads(metadata[key]) for key in _CHECKPOINT_JSON}
        meta["epoch"] = int(metadata["epoch"])
        meta["ema_updates"] = json.loads(metadata.get("ema_updates", "null"))
    except (KeyError, ValueError) as err:
        fail(f"checkpoint {path} has damaged metadata ({err})")
    return arrays, meta


def checkpoint_epoch(path):
    """The last completed epoch a checkpoint holds, or None if it cannot be read."""
    try:
        return int(tstate.load_metadata(path).get("epoch"))
    except Exception:
        return None


def restore_checkpoint(checkpoint, model, opt, sched, path, ema=None):
    """Load ``read_checkpoint``'s (arrays, meta) into the run's objects and the library RNG;
    returns (history, epoch)."""
    arrays, meta = checkpoint
    weights, opt_arrays = split_optimizer(arrays)
    try:
        model.load_state_dict(weights)
        if ema is not None:
            averaged = split_ema(arrays)
            if not averaged or meta["ema_updates"] is None:
                raise ValueError("the checkpoint has no averaged (EMA) weights although its run uses --ema")
            ema.load_state_dict(averaged, meta["ema_updates"])
        opt.load_state_dict(_optimizer_from_file(opt_arrays, meta["optimizer_state"], meta["optimizer_param_groups"]))
        if sched is not None:
            sched.load_state_dict(meta["scheduler"])
        set_rng_state(meta["rng_state"])
    except (RuntimeError, ValueError, KeyError, TypeError) as err:
        fail(f"cannot resume from {path}: {err}")
    return meta["history"], meta["epoch"]
