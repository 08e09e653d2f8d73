"""Pictures of the graph that produced a tensor: Graphviz DOT text, and PNG/SVG/PDF via ``dot``.

::

    from tinygrad_cnn.viz import to_dot, render
    loss = model(x).cross_entropy(y)
    print(to_dot(loss, names=dict(model.named_parameters())))   # paste into any Graphviz viewer
    render(loss, "graph.svg")                                   # needs Graphviz's `dot` program

Two kinds of node, as in the engine (see docs/autograd.md):

* tensors, drawn as boxes: parameters (blue), other leaves that require grad (green), tensors
  that need no gradient (grey; inputs, constants, results computed under ``no_grad``) and
  intermediate results (white); the tensor you asked about has a double border;
* ops, drawn as ellipses: one per `Function` call, named after its class (``Mul``, ``Conv2d``).

Edges run input -> op -> output, the direction the forward pass went; ``backward`` walks them the
other way. The walk is iterative, so a graph 100,000 ops deep is fine.

``backward()`` without ``retain_graph=True`` frees the graph as it goes: each op drops its saved
arrays and its links to its inputs (`Context.release` in function.py). What is left, the output
and the op that made it, is still drawn, with that op marked "freed by backward" and a note
saying so. Draw the graph before calling backward to see all of it.
"""
import os
import shutil
import subprocess
from typing import NamedTuple, Optional

from ._graph import topological_order
from ._tensor import Tensor
from .files import remove_if_there, temp_path_beside
from .nn.module import Parameter

__all__ = ["Node", "Graph", "graph", "to_dot", "render", "FREED_NOTE"]

FREED_NOTE = ("backward() freed this graph: its ops no longer link to their inputs. Draw it before "
              "backward, or call backward(retain_graph=True), to see the whole graph.")

_STYLE = {  # kind -> DOT node attributes
    "param": 'shape=box, style="rounded,filled", fillcolor="#cfe2ff"',
    "leaf": 'shape=box, style="rounded,filled", fillcolor="#d1f0d1"',
    "constant": 'shape=box, style="rounded,filled", fillcolor="#eeeeee"',
    "tensor": 'shape=box, style="rounded"',
    "op": 'shape=ellipse, style=filled, fillcolor="#fff3bf"',
    "freed-op": 'shape=ellipse, style=dashed',
}


class Node(NamedTuple):
    """One node of a `Graph`.

    ``kind`` is 'param', 'leaf', 'constant' or 'tensor' (an intermediate result) for tensors,
    'op' or 'freed-op' for ops; ``label`` is the text to draw (lines separated by ``\\n``);
    ``name`` is the tensor's name from ``names=`` or the op's class name.
    """

    id: str
    kind: str
    label: str
    name: Optional[str]


class Graph(NamedTuple):
    """Nodes in topological order (every input before the ops that use it), edges as
    ``(source id, target id)`` pairs, the id of the tensor the graph was drawn for, and whether
    backward had freed part of it."""

    nodes: list
    edges: list
    root: str
    freed: bool


def _name_map(names):
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):  # a Module: label its parameters
        names = dict(names.named_parameters())
    out = {}
    for name, t in dict(names).items():
        if not isinstance(t, Tensor):
            raise TypeError(f"viz: names must map str -> Tensor, got {type(t).__name__} for {name!r}")
        out[id(t)] = str(name)
    return out


def _tensor_kind(t):
    if t._ctx is not None:
        return "tensor"
    if isinstance(t, Parameter):
        return "param"
    return "leaf" if t.requires_grad else "constant"


def _tensor_label(t, kind, name, show_shapes):
    lines = [name] if name else []
    if show_shapes:
        lines.append(f"{tuple(t.shape)} {t.dtype}")
    role = {"param": "parameter", "leaf": "leaf", "constant": "leaf", "tensor": "result"}
    lines.append(f"{role[kind]}, requires_grad={t.requires_grad}")
    return "\n".join(lines)


def graph(tensor, show_shapes=True, names=None):
    """The graph that produced ``tensor`` as plain data (a `Graph`), for drawing it any way you like.

    ``names``: a dict name -> Tensor (e.g. ``dict(model.named_parameters())``) or a Module, whose
    tensors get their names in the labels. ``show_shapes``: put shape and dtype in the labels.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"viz: expected a Tensor, got {type(tensor).__name__}")
    name_of = _name_map(names)
    node_id = {}  # id(tensor) -> node id
    nodes, edges = [], []
    n_ops = 0
    freed = False
    for t in topological_order([tensor]):  # inputs come before their users
        ctx = t._ctx
        op = None
        if ctx is not None:
            op_name = ctx.function.__name__
            op = f"op{n_ops}"
            n_ops += 1
            if getattr(ctx, "released", False):
                freed = True
                nodes.append(Node(op, "freed-op", f"{op_name}\n(freed by backward)", op_name))
            else:
                nodes.append(Node(op, "op", op_name, op_name))
                edges.extend((node_id[id(p)], op) for p in ctx.parents)
        tid = f"t{len(node_id)}"
        node_id[id(t)] = tid
        kind = _tensor_kind(t)
        name = name_of.get(id(t))
        nodes.append(Node(tid, kind, _tensor_label(t, kind, name, show_shapes), name))
        if op is not None:
            edges.append((op, tid))
    return Graph(nodes, edges, node_id[id(tensor)], freed)


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor, show_shapes=True, names=None):
    """Graphviz DOT text of the graph that produced ``tensor`` (arguments as for `graph`).

    Tensors are boxes, ops are ellipses, edges go input -> op -> output; ``tensor`` itself has
    a double border. Turn the text into a picture with `render`, the ``dot`` program
    (``dot -Tpng graph.dot -o graph.png``) or any online Graphviz viewer.
    """
    g = graph(tensor, show_shapes=show_shapes, names=names)
    lines = [
        "digraph tinygrad_cnn {",
        "  rankdir=TB;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [color="#555555", arrowsize=0.7];',
    ]
    if g.freed:
        lines.append(f'  label={_quote(FREED_NOTE)}; labelloc=b; fontname="Helvetica"; fontsize=10;')
    for node in g.nodes:
        extra = ", peripheries=2" if node.id == g.root else ""
        lines.append(f"  {node.id} [label={_quote(node.label)}, {_STYLE[node.kind]}{extra}];")
    for src, dst in g.edges:
        lines.append(f"  {src} -> {dst};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(tensor, path, show_shapes=True, names=None):
    """Write a picture of the graph that produced ``tensor`` to ``path``; returns the path.

    The format comes from the suffix: ``.dot``/``.gv`` write the DOT text itself (nothing else
    needed); ``.png``, ``.svg``, ``.pdf`` (and any other format ``dot -T`` knows) run Graphviz's
    ``dot`` program, which must be installed (it is a system package, not a Python one).
    """
    path = os.fspath(path)
    text = to_dot(tensor, show_shapes=show_shapes, names=names)
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt in ("dot", "gv"):
        tmp = temp_path_beside(path)
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)  # atomic: readers see the old file or the whole new one
        finally:
            remove_if_there(tmp)
        return path
    if not fmt:
        raise ValueError(f"render: cannot tell the format of {path!r}; end the name with .png, .svg, .pdf or .dot")
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            f"render: drawing {path!r} needs Graphviz's `dot` program, which is not installed (or not on PATH). "
            f"Install Graphviz (Debian/Ubuntu: apt install graphviz; macOS: brew install graphviz; "
            f"conda: conda install graphviz), or write the DOT text instead with render(tensor, 'graph.dot') "
            f"and open it in any Graphviz viewer."
        )
    tmp = temp_path_beside(path)
    try:
        result = subprocess.run([dot, f"-T{fmt}", "-o", tmp], input=text, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"render: `dot -T{fmt}` failed for {path!r}: {result.stderr.strip()}")
        os.replace(tmp, path)
    finally:
        remove_if_there(tmp)
    return path


