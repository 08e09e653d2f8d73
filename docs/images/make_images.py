"""Draw the pictures used by the docs (needs matplotlib: ``pip install -e '.[plot]'``).

    python docs/images/make_images.py            # from the repository root; rewrites docs/images/*.png

* ``autograd_graph.png``: the graph of the small example in docs/autograd.md, laid out and drawn
  with matplotlib from `tinygrad_cnn.viz.graph` (so no Graphviz is needed);
* ``sobel_digit.png``: an MNIST test digit and its vertical / horizontal Sobel responses
  (docs/tutorial.md).
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the repository root: tinygrad_cnn without installing

from tinygrad_cnn import Tensor  # noqa: E402
from tinygrad_cnn.data import load_mnist  # noqa: E402
from tinygrad_cnn.viz import graph  # noqa: E402

COLORS = {"param": "#cfe2ff", "leaf": "#d1f0d1", "constant": "#eeeeee", "tensor": "white",
          "op": "#fff3bf", "freed-op": "white"}
LEGEND = [("param", "parameter"), ("leaf", "leaf, requires grad"), ("constant", "no grad (input)"),
          ("tensor", "intermediate result"), ("op", "op (a Function call)")]


def layered_layout(g, spacing=1.5):
    """Positions (x, y) for a small DAG: one row per rank, inputs on top.

    rank = 1 + the largest rank among a node's inputs; an input that only feeds one op sits in the
    row just above that op. An op is centred under its inputs; a tensor sits under its op; a
    source placed next to its sibling inputs.
    """
    parents = {n.id: [] for n in g.nodes}
    children = {n.id: [] for n in g.nodes}
    for src, dst in g.edges:
        parents[dst].append(src)
        children[src].append(dst)
    rank = {}
    for n in g.nodes:  # topological order
        rank[n.id] = 1 + max((rank[p] for p in parents[n.id]), default=-1)
    for n in g.nodes:  # pull sources down next to their consumer
        if not parents[n.id] and children[n.id]:
            rank[n.id] = min(rank[c] for c in children[n.id]) - 1
    x = {}
    roots = [n.id for n in g.nodes if rank[n.id] == 0]
    for i, nid in enumerate(roots):
        x[nid] = (i - (len(roots) - 1) / 2) * spacing
    for n in g.nodes:
        if n.id in x:
            continue
        if parents[n.id]:
            xs = [x[p] for p in parents[n.id] if p in x]
            x[n.id] = sum(xs) / len(xs)
    for n in g.nodes:  # sources placed after their row-mates, to the right
        if n.id not in x:
            row = [m for m in x if rank[m] == rank[n.id]]
            x[n.id] = max((x[m] for m in row), default=0.0) + spacing
            for c in children[n.id]:  # re-centre the consumer and what hangs below it
                old = x[c]
                ps = parents[c]
                x[c] = sum(x[p] for p in ps) / len(ps)
                shift = x[c] - old
                stack = list(children[c])
                while stack:
                    d = stack.pop()
                    if len(parents[d]) == 1:
                        x[d] += shift
                        stack.extend(children[d])
    return {nid: (x[nid], -rank[nid]) for nid in x}


def draw_graph(g, path, title):
    pos = layered_layout(g)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    span_x, span_y = max(xs) - min(xs) + 2.6, max(ys) - min(ys) + 1.3
    fig, ax = plt.subplots(figsize=(1.25 * span_x + 0.4, 0.6 * span_y + 0.6), dpi=110)
    ax.set_xlim(min(xs) - 1.3, max(xs) + 1.3)
    ax.set_ylim(min(ys) - 0.65, max(ys) + 0.65)
    ax.axis("off")
    texts = {}
    for n in g.nodes:
        is_op = n.kind in ("op", "freed-op")
        style = "round,pad=0.45,rounding_size=0.9" if is_op else "round,pad=0.35,rounding_size=0.15"
        texts[n.id] = ax.text(
            *pos[n.id], n.label, ha="center", va="center", fontsize=8.5 if is_op else 7.5,
            fontweight="bold" if is_op else "normal", zorder=3,
            bbox=dict(boxstyle=style, facecolor=COLORS[n.kind], edgecolor="#333333",
                      linewidth=2.0 if n.id == g.root else 0.8, linestyle="--" if n.kind == "freed-op" else "-"),
        )
    fig.canvas.draw()  # so that the text boxes have their final size before the arrows are clipped to them
    for src, dst in g.edges:
        ax.annotate("", xy=pos[dst], xytext=pos[src], zorder=2,
                    arrowprops=dict(arrowstyle="-|>", color="#555555", linewidth=0.9, shrinkA=2, shrinkB=2,
                                    patchA=texts[src].get_bbox_patch(), patchB=texts[dst].get_bbox_patch()))
    present = {n.kind for n in g.nodes}
    legend = [(kind, text) for kind, text in LEGEND if kind in present]
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=COLORS[k], edgecolor="#333333", linewidth=0.8)
               for k, _ in legend]
    ax.legend(handles, [text for _, text in legend], loc="lower left", fontsize=7.5, frameon=False)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def autograd_graph(path):
    # the example of docs/autograd.md, section "A picture of the graph"
    x = Tensor([[1.0, 2.0, 3.0]])
    w = Tensor([[0.5], [-1.0], [2.0]], requires_grad=True)
    b = Tensor([0.5], requires_grad=True)
    loss = (x @ w + b).relu().sum()
    g = graph(loss, names={"x": x, "w": w, "b": b, "loss": loss})
    draw_graph(g, path, "loss = (x @ w + b).relu().sum()\nforward runs down the arrows; backward walks them up")


def sobel_digit(path):
    digit = load_mnist().test_images[0].astype(np.float32) / 255
    vertical = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float32)
    filters = Tensor(np.stack([vertical, vertical.T])[:, None])  # (2, 1, 3, 3)
    maps = Tensor(digit[None, None]).conv2d(filters).numpy()[0]  # (2, 26, 26)
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.7), dpi=100)
    axes[0].imshow(digit, cmap="gray")
    axes[0].set_title("input 28x28", fontsize=9)
    lim = np.abs(maps).max()
    for ax, m, name in zip(axes[1:], maps, ("vertical Sobel 26x26", "horizontal Sobel 26x26")):
        ax.imshow(m, cmap="bwr", vmin=-lim, vmax=lim)
        ax.set_title(name, fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("red: positive response, blue: negative, white: no edge", fontsize=8, y=0.04)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else HERE
    out.mkdir(parents=True, exist_ok=True)
    for name, make in (("autograd_graph.png", autograd_graph), ("sobel_digit.png", sobel_digit)):
        make(out / name)
        print(f"wrote {out / name} ({(out / name).stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
