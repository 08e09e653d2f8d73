"""nn.Module, the containers, nn.init and nn.utils against PyTorch (skipped without torch).

The same model structure is built in both libraries and its traversal orders, names, state_dict
keys and reprs compared; hooks are compared by the sequence of calls they record; the init
functions by their deterministic results (eye_, dirac_, gains, fans) and the properties that
define the random ones (orthogonality, bounds, moments); the clipping utilities by value.
"""
import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tnn = torch.nn

from hypothesis import given, settings, strategies as st  # noqa: E402

import tinygrad_cnn as tg  # noqa: E402
from tinygrad_cnn import nn  # noqa: E402
from tinygrad_cnn.nn import init  # noqa: E402
from tinygrad_cnn.nn import utils as U  # noqa: E402


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


# ----------------------------------------------------------------------------------------------
# nn.init


GAINS = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None), ("conv_transpose1d", None),
         ("conv_transpose2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0), ("leaky_relu", math.sqrt(5)),
         ("leaky_relu", 3), ("selu", None), ("relu", 0.5)]


@pytest.mark.parametrize("nonlinearity, param", GAINS)
def test_calculate_gain_exactly_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == tnn.init.calculate_gain(nonlinearity, param)


@pytest.mark.parametrize("args", [("swish",), ("leaky_relu", "a"), ("leaky_relu", True)])
def test_calculate_gain_errors_match_torch(args):
    with pytest.raises(ValueError):
        tnn.init.calculate_gain(*args)
    with pytest.raises(ValueError):
        init.calculate_gain(*args)


@settings(max_examples=20)
@given(st.lists(st.integers(1, 5), min_size=2, max_size=5))
def test_fans_match_torch(shape):
    from torch.nn.init import _calculate_fan_in_and_fan_out as torch_fans
    assert init._calculate_fan_in_and_fan_out(tg.zeros(*shape)) == torch_fans(torch.zeros(*shape))


@settings(max_examples=20)
@given(st.integers(1, 6), st.integers(1, 6), st.sampled_from([np.float32, np.float64, np.int64]))
def test_eye_matches_torch(rows, cols, dtype):
    t = tg.tensor(np.full((rows, cols), 7, dtype))
    ref = tnn.init.eye_(torch.full((rows, cols), 7, dtype=getattr(torch, np.dtype(dtype).name)))
    out = init.eye_(t)
    assert out is t and t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), ref.numpy())


@st.composite
def dirac_cases(draw):
    groups = draw(st.integers(1, 3))
    out = groups * draw(st.integers(1, 3))
    spatial = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    return [out, draw(st.integers(1, 4))] + spatial, groups


@settings(max_examples=25)
@given(dirac_cases())
def test_dirac_matches_torch(case):
    shape, groups = case
    t = tg.ones(*shape)
    init.dirac_(t, groups)
    np.testing.assert_array_equal(t.numpy(), tnn.init.dirac_(torch.ones(*shape), groups).numpy())


@pytest.mark.parametrize("call, shape", [
    (lambda i, t: i.eye_(t), (2, 2, 2)), (lambda i, t: i.dirac_(t), (2, 2)), (lambda i, t: i.dirac_(t, 3), (4, 2, 3)),
    (lambda i, t: i.orthogonal_(t), (3,)), (lambda i, t: i.sparse_(t, 0.5), (3,)),
    (lambda i, t: i.kaiming_normal_(t, mode="fan_avg"), (2, 3)), (lambda i, t: i.xavier_uniform_(t), (4,)),
    (lambda i, t: i.uniform_(t, 1, 0), (3,)), (lambda i, t: i.normal_(t, 0, -1), (3,)),
])
def test_init_error_types_match_torch(call, shape):
    with pytest.raises(Exception) as theirs:
        call(tnn.init, torch.zeros(*shape))
    with pytest.raises(Exception) as ours:
        call(init, tg.zeros(*shape))
    assert ours.type is theirs.type


def test_zero_element_no_ops_like_torch():
    for fn in (init.kaiming_uniform_, init.kaiming_normal_, init.orthogonal_):
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            fn(tg.zeros(0, 3))
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            getattr(tnn.init, fn.__name__)(torch.zeros(0, 3))
        assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (8, 2), (4, 2, 3, 3), (2, 9, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal_like_torch(shape, dtype):
    """Same rows-or-columns orthonormality (times gain) as torch's result."""
    tg.manual_seed(0)
    gain = 1.7
    ours = init.orthogonal_(tg.zeros(*shape, dtype=dtype), gain=gain).numpy().reshape(shape[0], -1)
    ref = tnn.init.orthogonal_(torch.zeros(*shape, dtype=getattr(torch, np.dtype(dtype).name)),
                               gain=gain).numpy().reshape(shape[0], -1)
    assert ours.dtype == dtype
    small = min(ours.shape)
    gram = (lambda q: q @ q.T) if ours.shape[0] <= ours.shape[1] else (lambda q: q.T @ q)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gram(ours), gain ** 2 * np.eye(small), atol=tol)
    np.testing.assert_allclose(gram(ref), gain ** 2 * np.eye(small), atol=tol)


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, -2.0, 2.0), (0.5, 0.2, 0.0, 1.0), (0.0, 1.0, 1.0, 3.0),
                                             (0.0, 1.0, -6.0, -4.0), (2.0, 3.0, -1.0, 10.0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trunc_normal_bounds_and_moments_like_torch(mean, std, a, b, dtype):
    tg.manual_seed(1)
    torch.manual_seed(1)
    n = 200_000
    ours = init.trunc_normal_(tg.zeros(n, dtype=dtype), mean, std, a, b).numpy()
    ref = tnn.init.trunc_normal_(torch.zeros(n, dtype=torch.float64), mean, std, a, b).numpy()
    assert ours.dtype == dtype and ours.min() >= a and ours.max() <= b
    # exact moments of the truncated normal
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in (alpha, beta)]
    mass = 0.5 * (math.erf(beta / math.sqrt(2)) - math.erf(alpha / math.sqrt(2)))
    exp_mean = mean + std * (pdf[0] - pdf[1]) / mass
    exp_var = std ** 2 * (1 + (alpha * pdf[0] - beta * pdf[1]) / mass - ((pdf[0] - pdf[1]) / mass) ** 2)
    sem = math.sqrt(exp_var / n)
    for sample in (ours, ref):
        assert abs(sample.mean() - exp_mean) < 5 * sem
        assert sample.var() == pytest.approx(exp_var, rel=0.02)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, a", [("relu", 0), ("leaky_relu", 0), ("leaky_relu", 0.2), ("tanh", 0),
                                             ("selu", 0), ("linear", 0), ("leaky_relu", math.sqrt(5))])
def test_kaiming_std_and_bound_like_torch(mode, nonlinearity, a):
    shape = (64, 32, 3, 3)
    fan = 32 * 9 if mode == "fan_in" else 64 * 9
    expected_std = tnn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    tg.manual_seed(0)
    torch.manual_seed(0)
    ours = init.kaiming_normal_(tg.zeros(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    ref = tnn.init.kaiming_normal_(torch.zeros(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    assert ours.std() == pytest.approx(expected_std, rel=0.02) and ref.std() == pytest.approx(expected_std, rel=0.02)
    ours = init.kaiming_uniform_(tg.zeros(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    ref = tnn.init.kaiming_uniform_(torch.zeros(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    bound = math.sqrt(3) * expected_std
    for sample in (ours, ref):
        assert np.abs(sample).max() <= bound * (1 + 1e-6) and np.abs(sample).max() > 0.99 * bound


def test_sparse_zero_count_like_torch():
    tg.manual_seed(0)
    torch.manual_seed(0)
    ours = init.sparse_(tg.zeros(10, 30), 0.25, std=0.5).numpy()
    ref = tnn.init.sparse_(torch.zeros(10, 30), 0.25, std=0.5).numpy()
    np.testing.assert_array_equal((ours == 0).sum(axis=0), (ref == 0).sum(axis=0))


# ----------------------------------------------------------------------------------------------
# nn.utils


@st.composite
def grad_sets(draw):
    shapes = draw(st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3), min_size=1, max_size=4))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    grads = [draw(st.lists(st.floats(-5, 5), min_size=int(np.prod(s)), max_size=int(np.prod(s))))
             for s in shapes]
    grads = [np.array(g, dtype=dtype).reshape(s) for g, s in zip(grads, shapes)]
    with_grad = draw(st.lists(st.booleans(), min_size=len(shapes), max_size=len(shapes)))
    return grads, with_grad


def make_params(grads, with_grad):
    ours, theirs = [], []
    for g, has in zip(grads, with_grad):
        p, q = nn.Parameter(np.zeros_like(g)), tnn.Parameter(torch.zeros(g.shape, dtype=getattr(torch, g.dtype.name)))
        if has:
            p.grad = g.copy()
            q.grad = torch.from_numpy(g.copy())
        ours.append(p)
        theirs.append(q)
    return ours, theirs


@settings(max_examples=40)
@given(grad_sets(), st.sampled_from([2.0, 1.0, math.inf, 3.5, 0, -math.inf, "inf"]), st.floats(0.01, 20))
def test_clip_grad_norm_matches_torch(case, norm_type, max_norm):
    grads, with_grad = case
    ours, theirs = make_params(grads, with_grad)
    got = U.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = tnn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    rtol = 1e-5 if grads[0].dtype == np.float32 else 1e-12
    assert isinstance(got, tg.Tensor) and got.shape == ()
    assert got.dtype.name == str(expected.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.item(), expected.item(), rtol=rtol)
    for p, q in zip(ours, theirs):
        if q.grad is None:
            assert p.grad is None
        else:
            assert p.grad.dtype == p.dtype
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=1e-7)


def test_clip_grad_norm_mixed_dtypes_and_nonfinite_like_torch():
    a, b = make_params([np.array([1.0, -2.0, 3.0], np.float32), np.array([4.0, 5.0])], [True, True])
    got, expected = U.clip_grad_norm_(a, 1.0), tnn.utils.clip_grad_norm_(b, 1.0)
    assert got.dtype == np.float64 and expected.dtype == torch.float64
    np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-12)
    assert a[0].grad.dtype == np.float32
    a, b = make_params([np.array([1.0, np.nan]), np.array([np.inf])], [True, True])
    with pytest.raises(RuntimeError) as ours:
        U.clip_grad_norm_(a, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as theirs:
        tnn.utils.clip_grad_norm_(b, 1.0, error_if_nonfinite=True)
    assert str(ours.value) == str(theirs.value)
    got, expected = U.clip_grad_norm_(a, 1.0), tnn.utils.clip_grad_norm_(b, 1.0)
    assert math.isnan(got.item()) and math.isnan(expected.item())
    np.testing.assert_array_equal(a[0].grad.numpy(), b[0].grad.numpy())
    empty = U.clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0)
    ref = tnn.utils.clip_grad_norm_([tnn.Parameter(torch.zeros(2))], 1.0)
    assert empty.item() == ref.item() == 0 and empty.dtype.name == str(ref.dtype)[6:]


@settings(max_examples=25)
@given(grad_sets(), st.floats(0, 3))
def test_clip_grad_value_matches_torch(case, clip_value):
    grads, with_grad = case
    ours, theirs = make_params(grads, with_grad)
    if not any(with_grad):
        return  # torch raises an internal error for an empty list of gradients
    assert U.clip_grad_value_(ours, clip_value) is None
    tnn.utils.clip_grad_value_(theirs, clip_value)
    for p, q in zip(ours, theirs):
        if q.grad is not None:
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_parameters_vector_round_trip_like_torch():
    ours_model, theirs_model = nn.Linear(3, 2), tnn.Linear(3, 2)
    vec = np.arange(8, dtype=np.float32)
    U.vector_to_parameters(tg.tensor(vec), ours_model.parameters())
    tnn.utils.vector_to_parameters(torch.from_numpy(vec.copy()), theirs_model.parameters())
    for p, q in zip(ours_model.parameters(), theirs_model.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.detach().numpy())
    got = U.parameters_to_vector(ours_model.parameters())
    expected = tnn.utils.parameters_to_vector(theirs_model.parameters())
    np.testing.assert_array_equal(got.numpy(), expected.detach().numpy())
    assert got.requires_grad == expected.requires_grad
    (got * tg.arange(8.0)).sum().backward()
    (expected * torch.arange(8.0)).sum().backward()
    np.testing.assert_array_equal(ours_model.weight.grad.numpy(), theirs_model.weight.grad.numpy())
    for call in (lambda lib, u: u.vector_to_parameters([1.0], []), lambda lib, u: u.parameters_to_vector([])):
        with pytest.raises(Exception) as theirs:
            call(tnn, tnn.utils)
        with pytest.raises(Exception) as ours:
            call(nn, U)
        assert ours.type is theirs.type
