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

Modules
-------
``model``       the two networks and ``MODELS`` (command-line name -> class)
``checkpoint``  the weights and checkpoint files, loading them into models, resuming
``train``       the run's configuration, data, optimizer and schedule, the epoch loop, evaluation
``images``      reading digit images and the ``predict`` command
``plots``       the ``train --plot`` figure and the ``show-filters`` command (matplotlib)
``cli``         argparse, the ``train``, ``evaluate`` and ``export`` commands, ``main``
``errors``      ``CLIError``, ``Diverged`` and the exit codes
"""
from .checkpoint import (
    CHECKPOINT_FORMAT,
    OPTIM_PREFIX,
    SHIPPED_WEIGHTS,
    WEIGHTS_FORMAT,
    export_weights,
    load_weights,
    save_checkpoint,
)
from .cli import build_parser, cmd_evaluate, cmd_export, cmd_train, main
from .errors import EXIT_DIVERGED, EXIT_INTERRUPTED, CLIError, Diverged
from .images import IMAGE_HINT, cmd_predict, load_image
from .model import MODELS, MnistCNN, SeedCNN
from .plots import PLOT_HINT, cmd_show_filters, plot_history
from .train import CONFIG_KEYS, TRAIN_DEFAULTS, WeightEMA, evaluate_model, random_affine, random_shift

__all__ = ["SeedCNN", "MnistCNN", "MODELS", "SHIPPED_WEIGHTS", "load_weights", "main"]
