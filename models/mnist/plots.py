"""PNG figures (matplotlib, an optional dependency imported lazily): the training history for
``train --plot`` and the ``show-filters`` command."""
import math
from pathlib import Path

import numpy as np

from tinygrad_cnn import Tensor, nn, no_grad
from tinygrad_cnn.data import normalize
from tinygrad_cnn.files import atomic_write

from .checkpoint import load_for_cli
from .errors import fail
from .images import load_image
from .train import load_data

PLOT_HINT = "pip install -e '.[plot]'"


def import_pyplot(option):
    """matplotlib.pyplot on the Agg backend, or a CLIError saying ``option`` needs matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        fail(f"{option} needs matplotlib, which is not installed: {PLOT_HINT}")
    return plt


def save_figure_atomic(fig, path):
    path = Path(path)
    if not path.parent.is_dir():
        fail(f"cannot write {path}: directory {path.parent} does not exist")
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))


def plot_history(history, path, title, augmented=False):
    """A PNG of the loss (log scale) and accuracy per epoch of a ``train`` history."""
    plt = import_pyplot("--plot")
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    running = "(running" + (", augmented)" if augmented else ")")
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label=f"train loss {running}")
    ax_loss.plot(epochs, [h["test_loss"] for h in history], "s-", label="test loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.set_yscale("log")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    ax_acc.plot(epochs, [100 * h["test_accuracy"] for h in history], "o-", color="tab:green", label="test accuracy")
    ax_acc.plot(epochs, [100 * h["train_accuracy"] for h in history], "^--", color="tab:gray",
                label=f"train accuracy {running}")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.legend()
    ax_acc.grid(alpha=0.3)
    for ax in (ax_loss, ax_acc):
        ax.set_xticks(epochs)
    fig.suptitle(title)
    fig.tight_layout()
    try:
        save_figure_atomic(fig, path)
    finally:
        plt.close(fig)


def _filter_input(args):
    """(image, description) of show-filters' input: --image, else test image --index."""
    if args.image:
        return load_image(args.image, args.invert), str(args.image)
    data = load_data(args.data_dir)
    if not 0 <= args.index < len(data.test_images):
        fail(f"--index {args.index} is out of range: the test set has {len(data.test_images)} images")
    label = int(data.test_labels[args.index])
    return data.test_images[args.index], f"test image {args.index} (label {label})"


def _draw_filters(plt, image, weights, maps):
    """A figure: the input, then per filter its weights and its feature map, 8 columns."""
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
    return fig


def cmd_show_filters(args):
    plt = import_pyplot("show-filters")
    model, name, path = load_for_cli(args)
    image, source = _filter_input(args)
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    x = Tensor(normalize(image[None]))
    with no_grad():
        maps = conv(x).numpy()[0]
        pred = int(model(x).numpy().argmax())
    weights = conv.weight.numpy()[:, 0]
    fig = _draw_filters(plt, image, weights, maps)
    fig.suptitle(f"{name}: first conv layer ({len(weights)} filters {weights.shape[1]}x{weights.shape[2]}) and its "
                 f"outputs on {source}; predicted {pred}", fontsize=9)
    fig.tight_layout()
    try:
        save_figure_atomic(fig, args.out)
    finally:
        plt.close(fig)
    print(f"wrote {args.out}")
    return 0
