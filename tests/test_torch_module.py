"""nn.Module and the containers against PyTorch (skipped without torch).

The same model structure is built in both libraries and its traversal orders, names, state_dict
keys and reprs compared; hooks are compared by the sequence of calls they record; container
operations by the resulting reprs; errors by their types (and messages where PyTorch's are
the natural ones). nn.init and nn.utils: test_torch_init_utils.py.
"""
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tnn = torch.nn

import tinygrad_cnn as tg  # noqa: E402
from tinygrad_cnn import nn  # noqa: E402

# ----------------------------------------------------------------------------------------------
# one structure, built with either library


def build(lib):
    """A model exercising every kind of member: nested containers, buffers (one non-persistent),
    None slots, a shared module and a shared parameter."""
    zeros = (lambda *s: np.zeros(s, np.float32)) if lib is nn else (lambda *s: torch.zeros(s))

    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.Linear(3, 4)
            self.register_buffer("count", zeros(2))
            self.register_buffer("scratch", zeros(3), persistent=False)
            self.register_parameter("unused", None)

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.scale = lib.Parameter(zeros(1))
            self.register_buffer("steps", zeros())
            self.body = lib.Sequential(OrderedDict([("first", Block()), ("act", lib.ReLU())]))
            self.layers = lib.ModuleList([lib.Linear(4, 4), Block()])
            self.heads = lib.ModuleDict({"b": lib.Linear(4, 2), "a": lib.Tanh()})
            self.plist = lib.ParameterList([lib.Parameter(zeros(2)), lib.Parameter(zeros(3, 2))])
            self.pdict = lib.ParameterDict({"z": lib.Parameter(zeros(1)), "y": lib.Parameter(zeros(2))})
            self.empty = None
            self.shared = self.layers[0]                      # the same module under two names
            self.alias = self.body.first.fc.weight            # the same parameter under two names

    return Net()


def names(pairs):
    return [name for name, _ in pairs]


@pytest.mark.parametrize("remove_duplicate", [True, False])
def test_traversal_names_and_order_match_torch(remove_duplicate):
    ours, theirs = build(nn), build(tnn)
    for method in ("named_modules", "named_parameters", "named_buffers"):
        a = getattr(ours, method)(remove_duplicate=remove_duplicate)
        b = getattr(theirs, method)(remove_duplicate=remove_duplicate)
        assert names(a) == names(b), method
    assert names(ours.named_children()) == names(theirs.named_children())
    assert names(ours.named_parameters(prefix="m", recurse=False)) == names(theirs.named_parameters(prefix="m",
                                                                                                     recurse=False))
    assert names(ours.named_buffers(recurse=False)) == names(theirs.named_buffers(recurse=False))
    assert names(ours.named_modules(prefix="root")) == names(theirs.named_modules(prefix="root"))
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.modules())) == len(list(theirs.modules()))


def test_state_dict_keys_match_torch():
    ours, theirs = build(nn), build(tnn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "body.first.scratch" not in ours.state_dict()
    assert list(ours.state_dict(prefix="p.")) == list(theirs.state_dict(prefix="p."))
    assert list(ours.plist.state_dict()) == ["0", "1"] == list(theirs.plist.state_dict())
    assert list(ours.pdict.state_dict()) == list(theirs.pdict.state_dict()) == ["y", "z"]  # a dict is sorted
    ordered = OrderedDict([("z", None), ("y", None)])
    assert list(nn.ParameterDict(ordered)) == list(tnn.ParameterDict(ordered)) == ["z", "y"]
    assert list(ours.heads) == list(theirs.heads) == ["b", "a"]
    assert ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()}) \
        == nn.IncompatibleKeys([], [])


def test_load_state_dict_results_match_torch():
    ours, theirs = build(nn), build(tnn)
    sd_t = theirs.state_dict()
    del sd_t["layers.1.fc.bias"], sd_t["steps"]
    sd_t["extra.weight"] = torch.zeros(1)
    sd_t["body.first.scratch"] = torch.zeros(3)  # non-persistent: unexpected in both
    sd = {k: v.numpy() for k, v in sd_t.items()}
    got, expected = ours.load_state_dict(sd, strict=False), theirs.load_state_dict(sd_t, strict=False)
    assert got.missing_keys == expected.missing_keys and got.unexpected_keys == expected.unexpected_keys
    with pytest.raises(RuntimeError):
        theirs.load_state_dict(sd_t)
    with pytest.raises(RuntimeError, match="missing keys: 'steps', 'layers.1.fc.bias'"):
        ours.load_state_dict(sd)
    assert repr(ours.load_state_dict(ours.state_dict())) == repr(theirs.load_state_dict(theirs.state_dict()))


def test_assign_takes_dtype_and_keeps_requires_grad_like_torch():
    ours, theirs = nn.Linear(2, 3), tnn.Linear(2, 3)
    ours.bias.requires_grad_(False)
    theirs.bias.requires_grad_(False)
    sd = {"weight": np.ones((3, 2)), "bias": np.zeros(3)}
    ours.load_state_dict(sd, assign=True)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, assign=True)
    for name in ("weight", "bias"):
        mine, ref = getattr(ours, name), getattr(theirs, name)
        assert mine.dtype == np.float64 and ref.dtype == torch.float64
        assert mine.requires_grad == ref.requires_grad and isinstance(mine, nn.Parameter)


# ----------------------------------------------------------------------------------------------
# repr


def containers(lib):
    return [
        lib.ModuleList([lib.ReLU(), lib.ReLU(), lib.Linear(2, 3), lib.Linear(2, 3), lib.Tanh()]),
        lib.ModuleList(),
        lib.ModuleDict({"act": lib.ReLU(), "fc": lib.Linear(1, 2)}),
        lib.ModuleDict(),
        lib.Sequential(lib.Sequential(lib.ReLU()), lib.ModuleList([lib.Tanh()])),
        lib.Sequential(OrderedDict([("fc", lib.Linear(2, 2)), ("act", lib.ReLU())])),
        lib.Sequential(lib.ReLU(), lib.Tanh()) * 2,
    ]


def test_container_reprs_match_torch():
    for mine, ref in zip(containers(nn), containers(tnn)):
        assert repr(mine) == repr(ref)


def test_parameter_container_reprs_match_torch():
    mine = nn.ParameterList([nn.Parameter(np.zeros(2, np.float32)), nn.Parameter(np.zeros((2, 3)))])
    ref = tnn.ParameterList([tnn.Parameter(torch.zeros(2)), tnn.Parameter(torch.zeros(2, 3, dtype=torch.float64))])
    assert repr(mine) == repr(ref)
    assert repr(nn.ParameterList([nn.Parameter(np.zeros(()))])) == repr(
        tnn.ParameterList([tnn.Parameter(torch.zeros((), dtype=torch.float64))]))
    assert repr(nn.ParameterList()) == repr(tnn.ParameterList())
    mine = nn.ParameterDict({"b": nn.Parameter(np.zeros(2, np.float32)), "a": nn.Parameter(np.zeros((3, 2)))})
    mine["o"] = 5
    ref = tnn.ParameterDict({"b": tnn.Parameter(torch.zeros(2)), "a": tnn.Parameter(torch.zeros(3, 2).double())})
    ref["o"] = 5
    assert repr(mine) == repr(ref)
    mixed = nn.ParameterList([nn.Parameter(np.zeros(1, np.float32)), 7, nn.Linear(1, 1)])
    assert repr(mixed) == repr(tnn.ParameterList([tnn.Parameter(torch.zeros(1)), 7, tnn.Linear(1, 1)]))
    assert list(mixed.state_dict()) == ["0", "2.weight", "2.bias"]


# ----------------------------------------------------------------------------------------------
# container operations


def test_sequential_and_modulelist_operations_match_torch():
    def run(lib):
        out = []
        seq = lib.Sequential(lib.ReLU(), lib.Tanh(), lib.Sigmoid())
        out.append(type(seq.pop(1)).__name__)
        seq.insert(-1, lib.Tanh())
        seq.insert(3, lib.ReLU())
        seq.append(lib.Identity())
        del seq[1:3]
        seq += lib.Sequential(lib.Tanh())
        seq.extend([lib.ReLU()])
        out.append(repr(seq))
        out.append(repr(seq + lib.Sequential(lib.Sigmoid())))
        out.append(repr(2 * lib.Sequential(lib.ReLU())))
        twice = lib.Sequential(lib.ReLU(), lib.Tanh())
        twice *= 2
        out.append(repr(twice))
        out.append(repr(seq[::2]))
        ml = lib.ModuleList([lib.ReLU(), lib.Tanh()])
        ml.insert(1, lib.Sigmoid())
        ml += [lib.Identity()]
        ml.append(lib.ReLU())
        out.append(type(ml.pop(0)).__name__)
        del ml[-1]
        ml[0] = lib.Tanh()
        out.append(repr(ml))
        out.append(repr(ml + lib.ModuleList([lib.ReLU()])))
        out.append(repr(ml[1:]))
        md = lib.ModuleDict([("x", lib.ReLU()), ("y", lib.Tanh())])
        md.update({"z": lib.Sigmoid(), "x": lib.Identity()})
        out.append(type(md.pop("y")).__name__)
        out.append((list(md.keys()), "x" in md, len(md), repr(md)))
        return out

    assert run(nn) == run(tnn)


@pytest.mark.parametrize("bad", [
    lambda lib: lib.Sequential(lib.ReLU())[3],
    lambda lib: lib.ModuleList([lib.ReLU()])[-2],
    lambda lib: lib.Sequential(lib.ReLU()) + 3,
    lambda lib: lib.Sequential(lib.ReLU()) * 0,
    lambda lib: lib.Sequential(lib.ReLU()) * 1.5,
    lambda lib: lib.ModuleList([lib.ReLU()]).extend(3),
    lambda lib: lib.ModuleList().append(3),
    lambda lib: lib.ModuleList()["a"],
    lambda lib: lib.ModuleDict().update(3),
    lambda lib: lib.ModuleDict().update([("a",)]),
    lambda lib: lib.ModuleDict().update([3]),
    lambda lib: lib.ModuleDict()["missing"],
    lambda lib: lib.ParameterList([]).extend(lib.Parameter(torch.zeros(2) if lib is tnn else np.zeros(2))),
    lambda lib: lib.ParameterList([])[0],
    lambda lib: lib.ParameterList([])(1),
    lambda lib: lib.ParameterDict()(1),
    lambda lib: lib.ParameterDict()["missing"],
    lambda lib: lib.ModuleDict()(),
], ids=lambda f: f.__code__.co_firstlineno)
def test_container_error_types_match_torch(bad):
    with pytest.raises(Exception) as theirs:
        bad(tnn)
    with pytest.raises(Exception) as ours:
        bad(nn)
    assert ours.type is theirs.type, (ours.value, theirs.value)


def test_parameter_dict_methods_match_torch():
    def run(lib, make):
        out = []
        pd = lib.ParameterDict({"a": lib.Parameter(make(1))})
        pd["t"] = make(2)
        out.append((type(pd["t"]).__name__, pd["t"].requires_grad))
        out.append(pd.setdefault("s", lib.Parameter(make(3))).shape[0])
        out.append((pd.get("nope", 3), list(reversed(pd)), "a" in pd, len(pd)))
        out.append(pd.popitem()[0])
        out.append(list((pd | {"z": lib.Parameter(make(1))}).keys()))
        pd |= {"y": lib.Parameter(make(1))}
        out.append((list(pd.keys()), list(pd.copy().keys()), list(pd.fromkeys(["p", "q"]).keys())))
        out.append(pd.pop("a").shape[0])
        pd.clear()
        out.append(len(pd))
        return out

    assert run(nn, tg.zeros) == run(tnn, torch.zeros)


# ----------------------------------------------------------------------------------------------
# get_submodule / get_parameter / get_buffer


@pytest.mark.parametrize("getter, target", [
    ("get_submodule", ""), ("get_submodule", "body.first"), ("get_submodule", "body.nope"),
    ("get_submodule", "body.first.fc.weight"), ("get_submodule", "layers.5"), ("get_submodule", "x.y"),
    ("get_parameter", "body.first.fc.weight"), ("get_parameter", "scale"), ("get_parameter", "body"),
    ("get_parameter", "body.first.training"), ("get_parameter", "nope"), ("get_parameter", "nope.weight"),
    ("get_parameter", "pdict.z"), ("get_parameter", "plist.1"),
    ("get_buffer", "steps"), ("get_buffer", "body.first.scratch"), ("get_buffer", "scale"), ("get_buffer", "x"),
])
def test_get_member_results_and_errors_match_torch(getter, target):
    ours, theirs = build(nn), build(tnn)
    try:
        expected = getattr(theirs, getter)(target)
    except AttributeError as err:
        with pytest.raises(AttributeError) as info:
            getattr(ours, getter)(target)
        assert str(info.value) == str(err)
        return
    got = getattr(ours, getter)(target)
    assert type(got).__name__ == type(expected).__name__
    assert tuple(getattr(got, "shape", ())) == tuple(getattr(expected, "shape", ()))


def test_registration_error_types_match_torch():
    def attempts(lib, make):
        yield lambda m: m.register_buffer(1, make())
        yield lambda m: m.register_buffer("a.b", make())
        yield lambda m: m.register_buffer("", make())
        yield lambda m: m.register_buffer("weight", make())
        yield lambda m: m.register_buffer("forward", make())
        yield lambda m: m.register_parameter(1, None)
        yield lambda m: m.register_parameter("a.b", None)
        yield lambda m: m.register_parameter("", None)
        yield lambda m: m.register_parameter("c", make())
        yield lambda m: m.register_parameter("training", None)
        yield lambda m: m.register_parameter("d", lib.Parameter(make()) * 2)
        yield lambda m: m.add_module(1, lib.ReLU())
        yield lambda m: m.add_module("a.b", lib.ReLU())
        yield lambda m: m.add_module("", lib.ReLU())
        yield lambda m: m.add_module("bias", lib.ReLU())
        yield lambda m: m.add_module("c", 3)
        yield lambda m: setattr(m, "weight", make())
        yield lambda m: m.train(1)
        yield lambda m: m.get_submodule("bias")

    for ours, theirs in zip(attempts(nn, lambda: np.zeros(1, np.float32)), attempts(tnn, lambda: torch.zeros(1))):
        with pytest.raises(Exception) as expected:
            theirs(tnn.Linear(1, 1))
        with pytest.raises(Exception) as got:
            ours(nn.Linear(1, 1))
        assert got.type is expected.type, (got.value, expected.value)


# ----------------------------------------------------------------------------------------------
# hooks


def run_hooks(lib, make):
    log = []

    class M(lib.Module):
        def forward(self, x, y=1):
            if x is None:
                raise ValueError("boom")
            log.append(("forward", float(x), float(y)))
            return x * y

    m = M()
    m.register_forward_pre_hook(lambda mod, args: log.append(("pre1", args[0] if args[0] is None else float(args[0]))))
    m.register_forward_pre_hook(lambda mod, args: None if args[0] is None else args[0] + 1, prepend=True)
    m.register_forward_hook(lambda mod, args, out: log.append(("post", float(args[0]), float(out))))
    m.register_forward_hook(lambda mod, args, kwargs, out: out * 10, with_kwargs=True)
    h5 = m.register_forward_hook(lambda mod, args, out: log.append(("always", None if out is None else float(out))),
                                 always_call=True)
    log.append(("result", float(m(make(1.0), y=make(3.0)))))
    try:
        m(None)
    except ValueError:
        log.append("raised")
    with m.register_forward_pre_hook(lambda mod, args, kw: ((args[0] * 2,), {"y": make(5.0)}), with_kwargs=True):
        log.append(("result", float(m(make(1.0)))))
    h5.remove()
    h5.remove()
    log.append(("result", float(m(make(1.0)))))
    first = m.register_forward_hook(lambda mod, args, out: log.append("first"), prepend=True)
    m(make(1.0))
    first.remove()
    with pytest.raises(RuntimeError):
        with m.register_forward_pre_hook(lambda mod, args, kw: 5, with_kwargs=True):
            m(make(1.0))
    log.append(("result", float(m(make(1.0)))))
    return log


def test_forward_hooks_match_torch():
    assert run_hooks(nn, lambda v: tg.tensor(v)) == run_hooks(tnn, lambda v: torch.tensor(v))


# ----------------------------------------------------------------------------------------------
# dtype methods


@pytest.mark.parametrize("ours_cast, theirs_cast", [
    (lambda m: m.double(), lambda m: m.double()),
    (lambda m: m.double().float(), lambda m: m.double().float()),
    (lambda m: m.type(tg.float64), lambda m: m.type(torch.float64)),
    (lambda m: m.type("torch.DoubleTensor"), lambda m: m.type("torch.DoubleTensor")),
    (lambda m: m.to(tg.float64), lambda m: m.to(torch.float64)),
    (lambda m: m.to("cpu", tg.float64), lambda m: m.to("cpu", torch.float64)),
])
def test_casts_match_torch(ours_cast, theirs_cast):
    """Which parameters and buffers each cast reaches (``type`` casts integer buffers too)."""
    ours, theirs = nn.BatchNorm2d(2), tnn.BatchNorm2d(2)
    assert ours_cast(ours) is ours and theirs_cast(theirs) is theirs
    mine = {k: str(v.dtype) for k, v in ours.state_dict().items()}
    ref = {k: str(v.dtype).replace("torch.", "") for k, v in theirs.state_dict().items()}
    assert mine == ref
