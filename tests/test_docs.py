"""The documentation runs: every ```python block of README.md and docs/*.md, plus checks of
docs/api.md (every listed name exists), the docs' relative links, and tinygrad_cnn.viz.

The blocks of one file run in order in one shared namespace, like the cells of a notebook, so a
block may use names defined by an earlier block of the same file. Each file starts from a fresh
namespace, with the working directory set to a temporary directory (blocks that write files
leave nothing behind) and the repository root first on sys.path (``import models`` works).
A block fenced as ```python no-run is shown but not run.
"""
import ast
import importlib
import inspect
import re
import runpy
import shutil
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
DOC_FILES = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


class Block:
    def __init__(self, path, index, line, info, code):
        self.path, self.index, self.line, self.info, self.code = path, index, line, info, code

    @property
    def language(self):
        return self.info.split()[0].lower() if self.info.split() else ""

    @property
    def runnable(self):
        return self.language == "python" and "no-run" not in self.info.split()[1:]

    def where(self):
        name = self.path.relative_to(REPO) if self.path.is_relative_to(REPO) else self.path.name
        return f"{name} block {self.index} (line {self.line})"


def code_blocks(path):
    """All fenced code blocks of a Markdown file, numbered from 1 (``line``: first code line)."""
    blocks, lines = [], path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info, start = m.group("fence"), m.group("info").strip(), i + 1
        j = start
        while j < len(lines) and not re.match(rf"^ {{0,3}}{fence[0]}{{{len(fence)},}}\s*$", lines[j]):
            j += 1
        code = textwrap.dedent("\n".join(lines[start:j]) + "\n")  # a fence indented in a list item
        blocks.append(Block(path, len(blocks) + 1, start + 1, info, code))
        i = j + 1
    return blocks


def python_blocks(path):
    return [b for b in code_blocks(path) if b.language == "python"]


@pytest.fixture
def docs_env(tmp_path, monkeypatch):
    """CWD in a temporary directory, the repository root importable, global library state restored."""
    import tinygrad_cnn as tg

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(REPO))
    state = tg.get_rng_state()
    grad_enabled = tg.is_grad_enabled()
    yield tmp_path
    tg.set_rng_state(state)
    assert tg.is_grad_enabled() == grad_enabled, "a docs block left gradient recording switched off"


def _doc_id(path):
    return str(path.relative_to(REPO))


def run_doc(path):
    """Run the python blocks of one Markdown file in order, in one namespace; say which failed."""
    namespace = {"__name__": "__docs__"}
    for block in python_blocks(path):
        if not block.runnable:
            continue
        # padded with blank lines, so a traceback shows the Markdown file and its line numbers
        code = compile("\n" * (block.line - 1) + block.code, str(path), "exec")
        try:
            exec(code, namespace)
        except (Exception, SystemExit) as err:  # SystemExit: a CLI call inside a block failed
            raise AssertionError(f"{block.where()} failed: {type(err).__name__}: {err}") from err
    return namespace


@pytest.mark.parametrize("path", DOC_FILES, ids=_doc_id)
def test_doc_python_blocks_run(path, docs_env):
    if not path.exists():
        pytest.skip(f"{_doc_id(path)} does not exist")
    run_doc(path)


def test_run_doc_shares_names_and_names_the_failing_block(tmp_path):
    md = tmp_path / "example.md"
    md.write_text("```python\na = 1\n```\n\n```python no-run\nraise RuntimeError\n```\n"
                  "```python\nb = a + 1\n```\n```python\n\nassert b == 3, 'b is 2'\n```\n")
    with pytest.raises(AssertionError, match=r"example.md block 4 \(line 12\) failed: AssertionError: b is 2") as info:
        run_doc(md)
    assert info.value.__cause__.__traceback__.tb_next.tb_lineno == 13  # the line in the Markdown file
    md.write_text("```python\na = 1\n```\n")
    assert run_doc(md)["a"] == 1


def test_enough_runnable_blocks():
    blocks = [b for path in DOC_FILES if path.exists() for b in python_blocks(path)]
    runnable = [b for b in blocks if b.runnable]
    assert len(runnable) >= 5, f"only {len(runnable)} runnable python blocks in the docs"
    skipped = [b.where() for b in blocks if not b.runnable]
    assert len(skipped) <= 3, f"too many ```python no-run blocks, run them or make them another language: {skipped}"


def test_block_parser_on_a_file(tmp_path):
    md = tmp_path / "example.md"
    md.write_text("intro\n```python\na = 1\n```\n\n```bash\nls\n```\n````python no-run\nx = '```'\n````\n"
                  "```Python\nb = 2\n```\n- a list item:\n\n  ```python\n  if b:\n      c = 3\n  ```\n")
    blocks = code_blocks(md)
    assert [b.language for b in blocks] == ["python", "bash", "python", "python", "python"]
    assert [b.runnable for b in blocks] == [True, False, False, True, True]
    assert blocks[0].code == "a = 1\n" and blocks[0].line == 3
    assert blocks[2].code == "x = '```'\n"
    assert blocks[4].code == "if b:\n    c = 3\n"
    assert blocks[4].where() == "example.md block 5 (line 18)"


# ----------------------------------------------------------------------------- links


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_BLOCK = re.compile(r"(?ms)^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1\s*$")


def _links(path):
    text = CODE_BLOCK.sub("", path.read_text(encoding="utf-8"))  # not inside code blocks
    return LINK.findall(text)


def _anchors(path):
    """GitHub's anchors for the headings of a Markdown file."""
    anchors, seen = set(), {}
    for line in CODE_BLOCK.sub("", path.read_text(encoding="utf-8")).split("\n"):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


@pytest.mark.parametrize("path", DOC_FILES, ids=_doc_id)
def test_relative_links_resolve(path):
    if not path.exists():
        pytest.skip(f"{_doc_id(path)} does not exist")
    broken = []
    for target in _links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # http(s), mailto
        assert not target.startswith("/"), f"{_doc_id(path)}: use relative links, not {target}"
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part) if file_part else path
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(target)
    assert not broken, f"{_doc_id(path)}: links to missing files or headings: {broken}"


def test_docs_have_no_absolute_paths_of_this_machine():
    for path in DOC_FILES:
        if path.exists():
            assert str(REPO) not in path.read_text(encoding="utf-8"), f"{_doc_id(path)} names a local path"


def test_doc_images_are_small():
    for png in (REPO / "docs" / "images").glob("*.png"):
        assert png.stat().st_size < 150_000, f"{png.name} is {png.stat().st_size // 1024} KB; keep doc images small"


# ----------------------------------------------------------------------------- docs/api.md


API = REPO / "docs" / "api.md"
ENTRY = re.compile(r"^- (?P<names>`[^`]+`(?:, `[^`]+`)*):")
SECTION = re.compile(r"^#{2,3} `(?P<module>[\w.]+)`")


def api_entries():
    """(module, entry text, line number) for every name listed as "- `name(...)`: ..." (or
    "- `A`, `B`: ...") under a "## `module`" heading; other headings keep the current module."""
    entries, module = [], None
    for number, line in enumerate(API.read_text(encoding="utf-8").split("\n"), 1):
        section = SECTION.match(line)
        if section:
            module = section.group("module")
            continue
        entry = ENTRY.match(line)
        if entry and module:
            entries.extend((module, text, number) for text in re.findall(r"`([^`]+)`", entry.group("names")))
    return entries


def _resolve(module_name, dotted):
    """The object ``module.dotted`` names; an instance attribute of a class (``self.x = ...`` in
    its source) resolves to None."""
    obj = importlib.import_module(module_name)
    for part in dotted.split("."):
        if isinstance(obj, type):
            try:
                obj = inspect.getattr_static(obj, part)
            except AttributeError:
                ours = [c for c in obj.__mro__ if c.__module__.startswith(("tinygrad_cnn", "models"))]
                sources = [inspect.getsource(c) for c in ours]
                if not any(re.search(rf"\bself\.{part}\s*=", src) for src in sources):
                    raise
                obj = None
        else:
            obj = getattr(obj, part)
    return obj


def _listed_parameters(signature_text):
    """Parameter names written in "name(a, b=1, *args, c=None, **kw)" (``...`` allowed)."""
    text = re.sub(r"=\s*\.\.\.", "=dots_", signature_text)   # "a=..." : any default
    text = re.sub(r",?\s*\.\.\.", "", text)                  # ", ..." : more parameters
    call = ast.parse("f" + text, mode="eval").body
    names = [a.id for a in call.args if isinstance(a, ast.Name)]
    names += [a.value.id for a in call.args if isinstance(a, ast.Starred)]
    names += [k.arg for k in call.keywords if k.arg is not None]
    names += [k.value.id for k in call.keywords if k.arg is None and isinstance(k.value, ast.Name)]
    return [n for n in names if n != "dots_"]


@pytest.mark.skipif(not API.exists(), reason="docs/api.md does not exist")
def test_api_names_exist(docs_env):
    entries = api_entries()
    assert len(entries) > 50, "docs/api.md lists too few names (or its format changed)"
    problems = []
    for module, text, number in entries:
        name = re.match(r"[\w.]+", text).group(0)
        try:
            obj = _resolve(module, name)
        except (ImportError, AttributeError) as err:
            problems.append(f"line {number}: {module}.{name} does not exist ({err})")
            continue
        rest = text[len(name):]
        if not rest.startswith("("):
            continue
        target = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
        if target is None or isinstance(target, property):
            problems.append(f"line {number}: {module}.{name} is a property, list it without ( )")
            continue
        try:
            params = inspect.signature(target).parameters
        except (TypeError, ValueError):
            continue
        for p in _listed_parameters(rest):
            if p not in params:
                problems.append(f"line {number}: {module}.{name} has no parameter {p!r} (has {list(params)})")
    assert not problems, "docs/api.md is out of date:\n" + "\n".join(problems)


@pytest.mark.skipif(not API.exists(), reason="docs/api.md does not exist")
def test_api_lists_every_public_name(docs_env):
    import models.mnist
    import tinygrad_cnn
    from tinygrad_cnn import Function, data, nn, ops, optim, state, testing, viz
    from tinygrad_cnn.nn import init
    from tinygrad_cnn.ops import conv, norm, pool
    from tinygrad_cnn.optim import lr_scheduler

    listed = {(m, re.match(r"[\w.]+", t).group(0).split(".")[0]) for m, t, _ in api_entries()}
    from tinygrad_cnn.nn import functional
    from tinygrad_cnn.nn import utils as nn_utils
    from tinygrad_cnn.utils import data as utils_data
    from tinygrad_cnn.utils import datasets, transforms

    public = [(mod, list(mod.__all__)) for mod in (tinygrad_cnn, nn, init, optim, lr_scheduler, state, data, testing,
                                                   viz, models.mnist, functional, nn_utils, utils_data, datasets,
                                                   transforms)]
    for mod in (ops, conv, norm, pool):  # every op class (the names viz and error messages show)
        public.append((mod, [n for n, v in vars(mod).items()
                             if isinstance(v, type) and issubclass(v, Function) and v is not Function
                             and (mod is ops or v.__module__ == mod.__name__)]))
    missing = []
    for mod, names in public:
        for name in names:
            if isinstance(getattr(mod, name), type(sys)):
                continue  # submodules have sections of their own
            if (mod.__name__, name) not in listed:
                missing.append(f"{mod.__name__}.{name}")
    assert not missing, f"docs/api.md does not list: {missing}"


# ----------------------------------------------------------------------------- viz


def _small_graph():
    from tinygrad_cnn import Tensor

    x = Tensor([[1.0, 2.0, 3.0]])
    w = Tensor([[0.5], [-1.0], [2.0]], requires_grad=True)
    b = Tensor([0.5], requires_grad=True)
    loss = (x @ w + b).relu().sum()
    return x, w, b, loss


def _parse_dot(text):
    nodes = dict(re.findall(r"^  (\w+) \[label=\"((?:[^\"\\]|\\.)*)\"", text, flags=re.M))
    edges = re.findall(r"^  (\w+) -> (\w+);$", text, flags=re.M)
    return nodes, edges


def test_to_dot_small_graph():
    from tinygrad_cnn.viz import to_dot

    x, w, b, loss = _small_graph()
    text = to_dot(loss)
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    assert text.count("{") == text.count("}") == 1
    nodes, edges = _parse_dot(text)
    tensor_nodes = [n for n in nodes if n.startswith("t")]
    op_nodes = [n for n in nodes if n.startswith("op")]
    assert len(tensor_nodes) == 7           # x, w, b, x@w, +b, relu, sum
    assert [nodes[o] for o in op_nodes] == ["MatMul", "Add", "ReLU", "Sum"]  # topological order
    assert len(edges) == 2 + 2 + 1 + 1 + 4  # inputs of each op, plus one op -> output edge per op
    assert all(src in nodes and dst in nodes for src, dst in edges)
    assert "(1, 3) float32" in text and "requires_grad=True" in text and "requires_grad=False" in text
    # the output is drawn with a double border, and is produced by the Sum op
    (root,) = re.findall(r"^  (\w+) \[.*peripheries=2", text, flags=re.M)
    assert (op_nodes[-1], root) in edges


def test_to_dot_names_shapes_and_reuse():
    from tinygrad_cnn import Tensor, nn
    from tinygrad_cnn.viz import graph, to_dot

    x = Tensor(np.ones((2, 2)), requires_grad=True)
    y = x * x + x                                        # x used three times
    nodes, edges = _parse_dot(to_dot(y, names={"my \"x\"": x}, show_shapes=False))
    assert sum(1 for n in nodes if n.startswith("t")) == 3  # x, x*x, y: x appears once
    x_id = next(n for n, label in nodes.items() if label.startswith('my \\"x\\"'))
    assert edges.count((x_id, "op0")) == 2               # both inputs of Mul
    assert "float" not in to_dot(y, show_shapes=False)

    layer = nn.Linear(3, 2)
    out = layer(Tensor(np.ones((1, 3), dtype=np.float32))).sum()
    g = graph(out, names=layer)                          # a Module labels its parameters
    kinds = {n.name: n.kind for n in g.nodes}
    assert kinds["weight"] == "param" and kinds["bias"] == "param"
    assert [n.name for n in g.nodes if n.kind == "op"] == ["Linear", "Sum"]  # x @ weight.T + bias is one op


def test_to_dot_leaf_and_deep_chain():
    from tinygrad_cnn import Tensor
    from tinygrad_cnn.viz import graph, to_dot

    leaf = Tensor([1.0, 2.0])
    nodes, edges = _parse_dot(to_dot(leaf))
    assert list(nodes) == ["t0"] and edges == []

    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):                                # far deeper than Python's recursion limit
        y = y * 1.0
    g = graph(y)
    assert len([n for n in g.nodes if n.kind == "op"]) == 5000
    assert len(g.edges) == 5000 * 3                      # two inputs (y and the constant) + one output each


def test_to_dot_after_backward_says_the_graph_was_freed():
    from tinygrad_cnn.viz import FREED_NOTE, graph, to_dot

    x, w, b, loss = _small_graph()
    assert not graph(loss).freed
    loss.backward(retain_graph=True)
    assert not graph(loss).freed and len(graph(loss).nodes) == 11
    loss.backward()
    g = graph(loss)
    assert g.freed
    assert [n.kind for n in g.nodes] == ["freed-op", "tensor"]
    text = to_dot(loss)
    assert "freed by backward" in text and FREED_NOTE in text


def test_viz_rejects_bad_input():
    from tinygrad_cnn import Tensor
    from tinygrad_cnn.viz import to_dot

    with pytest.raises(TypeError, match="expected a Tensor"):
        to_dot(np.ones(3))
    with pytest.raises(TypeError, match="names must map"):
        to_dot(Tensor([1.0]), names={"a": 1.0})


def test_render_writes_dot_and_explains_missing_graphviz(tmp_path, monkeypatch):
    from tinygrad_cnn import viz

    *_, loss = _small_graph()
    path = viz.render(loss, tmp_path / "g.dot")
    assert Path(path).read_text() == viz.to_dot(loss)
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz"):
        viz.render(loss, tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()
    with pytest.raises(ValueError, match="format"):
        viz.render(loss, tmp_path / "graph")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_png_with_graphviz(tmp_path):
    from tinygrad_cnn import viz

    *_, loss = _small_graph()
    path = viz.render(loss, tmp_path / "g.png")
    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_doc_images_script(tmp_path):
    pytest.importorskip("matplotlib")
    script = runpy.run_path(str(REPO / "docs" / "images" / "make_images.py"), run_name="make_images")  # no .pyc left
    start = time.perf_counter()
    script["main"]([str(tmp_path)])
    assert (tmp_path / "autograd_graph.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "sobel_digit.png").stat().st_size > 1000
    assert time.perf_counter() - start < 30
