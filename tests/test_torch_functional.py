"""The activations and losses of ops/activation.py and ops/loss.py against PyTorch (skipped without torch).

On hypothesis-drawn shapes (0-d included) and arguments, in float64 and float32: the forward
value, its dtype and shape, and the gradient of sum(out * g) for a random upstream g with
respect to every differentiable input (targets and weights too, where PyTorch has them).
"""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

from tinygrad_cnn import Tensor  # noqa: E402
from tinygrad_cnn.ops import activation as A  # noqa: E402
from tinygrad_cnn.ops import loss as L  # noqa: E402
from tinygrad_cnn.testing import arrays, shapes  # noqa: E402

SMALL = shapes(min_dims=0, max_dims=3, max_side=4)
DTYPES = [np.float64, np.float32]
TOL = {np.float64: (1e-12, 1e-14), np.float32: (2e-5, 5e-6)}  # float32: kernels round differently


def check(data, ours, theirs, inputs, grads, dtype, grad_rtol=None):
    """ours(*Tensors) and theirs(*torch tensors) agree in value, dtype, shape and the gradients of
    the inputs flagged in ``grads`` (float64 arrays in ``inputs`` are cast to ``dtype``)."""
    rtol, atol = TOL[dtype]
    mine = [Tensor(np.array(a, dtype=dtype), requires_grad=g) for a, g in zip(inputs, grads)]
    ref = [torch.tensor(np.array(a, dtype=dtype), requires_grad=g) for a, g in zip(inputs, grads)]
    out, expected = ours(*mine), theirs(*ref)
    assert out.shape == tuple(expected.shape)
    assert out.numpy().dtype == dtype
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol, atol)
    if not any(grads):
        return
    upstream = data.draw(arrays(out.shape), label="upstream gradient").astype(dtype)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    for i, (m, r, g) in enumerate(zip(mine, ref, grads)):
        if g:
            assert m.grad.numpy().dtype == dtype, f"input {i}"
            np.testing.assert_allclose(m.grad.numpy(), r.grad.numpy(), grad_rtol or rtol, atol, err_msg=f"input {i}")


# ----------------------------------------------------------------------------------------------
# activations: (ours, theirs, domain of the drawn values)

ACTIVATIONS = {
    "relu6": (A.relu6, TF.relu6, {"low": -8, "high": 8, "away_from": [0, 6]}),
    "hardtanh": (A.hardtanh, TF.hardtanh, {"away_from": [-1, 1]}),
    "hardtanh(-2, 0.5)": (lambda x: A.hardtanh(x, -2.0, 0.5), lambda x: TF.hardtanh(x, -2.0, 0.5),
                          {"away_from": [-2, 0.5]}),
    "leaky_relu": (A.leaky_relu, TF.leaky_relu, {"away_from": 0}),
    "leaky_relu(-0.3)": (lambda x: A.leaky_relu(x, -0.3), lambda x: TF.leaky_relu(x, -0.3), {"away_from": 0}),
    "elu": (A.elu, TF.elu, {"away_from": 0}),
    "elu(alpha=-0.5)": (lambda x: A.elu(x, alpha=-0.5), lambda x: TF.elu(x, alpha=-0.5), {"away_from": 0}),
    "selu": (A.selu, TF.selu, {"away_from": 0}),
    "celu(0.7)": (lambda x: A.celu(x, 0.7), lambda x: TF.celu(x, 0.7), {"away_from": 0}),
    "celu(-1.5)": (lambda x: A.celu(x, -1.5), lambda x: TF.celu(x, -1.5), {"away_from": 0}),
    "hardsigmoid": (A.hardsigmoid, TF.hardsigmoid, {"low": -5, "high": 5, "away_from": [-3, 3]}),
    "hardswish": (A.hardswish, TF.hardswish, {"low": -5, "high": 5, "away_from": [-3, 3]}),
    "softsign": (A.softsign, TF.softsign, {}),
    "gelu": (A.gelu, TF.gelu, {"low": -10, "high": 10}),
    "gelu(tanh)": (lambda x: A.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh"),
                   {"low": -10, "high": 10}),
    "silu": (A.silu, TF.silu, {"low": -20, "high": 20}),
    "mish": (A.mish, TF.mish, {"low": -20, "high": 20}),
    "softplus": (A.softplus, TF.softplus, {"low": -30, "high": 30, "away_from": 20}),
    "softplus(2, 3)": (lambda x: A.softplus(x, beta=2, threshold=3), lambda x: TF.softplus(x, beta=2, threshold=3),
                       {"away_from": 1.5}),
    "softplus(-1)": (lambda x: A.softplus(x, beta=-1.0), lambda x: TF.softplus(x, beta=-1.0), {}),
    "logsigmoid": (A.logsigmoid, TF.logsigmoid, {"low": -30, "high": 30}),
    "tanhshrink": (A.tanhshrink, TF.tanhshrink, {}),
}
# Two float64 backward kernels of PyTorch round a constant to float32, which this library does not:
# hardsigmoid multiplies by float32(1/6) (3e-8 relative off) and celu uses 1 / float32(alpha) (~1e-8)
GRAD_RTOL = {"hardsigmoid": {np.float64: 1e-7}, "celu(0.7)": {np.float64: 1e-6}, "celu(-1.5)": {np.float64: 1e-6}}


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("name", ACTIVATIONS)
@settings(max_examples=10)
@given(data=st.data())
def test_activation(name, dtype, data):
    ours, theirs, domain = ACTIVATIONS[name]
    x = data.draw(arrays(SMALL, **domain), label="x")
    check(data, ours, theirs, [x], [True], dtype, GRAD_RTOL.get(name, {}).get(dtype))


KINKS = np.array([-6.0, -3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 6.0, 20.0])


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_gradient_at_kinks_matches_torch(name):
    ours, theirs, _ = ACTIVATIONS[name]
    t, r = Tensor(KINKS.copy(), requires_grad=True), torch.tensor(KINKS, requires_grad=True)
    out, expected = ours(t), theirs(r)
    out.backward(np.ones_like(KINKS))
    expected.sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), 1e-13, 1e-15)
    np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), GRAD_RTOL.get(name, {}).get(np.float64, 1e-13), 1e-15)


@pytest.mark.parametrize("name", ["gelu", "gelu(tanh)", "silu", "mish", "softplus", "logsigmoid", "softsign",
                                  "elu", "selu", "hardswish"])
def test_activation_far_out_matches_torch(name):
    ours, theirs, _ = ACTIVATIONS[name]
    x = np.array([-1e3, -50.0, -30.0, -8.0, 8.0, 30.0, 50.0, 1e3])
    t, r = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(t), theirs(r)
    out.backward(np.ones_like(x))
    expected.sum().backward()
    assert np.isfinite(out.numpy()).all() and np.isfinite(t.grad.numpy()).all()
    # absolute: for x < -8 PyTorch's gelu is 0.5 x (1 + erf(x / sqrt 2)) = 0 by cancellation, ours the tiny true value
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), 1e-12, 1e-15)
    np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), 1e-12, 1e-15)


@pytest.mark.parametrize("name", ["relu6", "hardtanh(-2, 0.5)", "softsign", "tanhshrink"])
def test_integer_input_matches_torch(name):
    ours, theirs, _ = ACTIVATIONS[name]
    x = np.array([-7, -1, 0, 2, 9])
    out, expected = ours(Tensor(x)), theirs(torch.from_numpy(x))
    assert out.numpy().dtype == np.dtype(str(expected.dtype).replace("torch.", ""))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), 1e-6)


def test_gelu_float64_matches_torch_to_1e12_on_a_fine_grid():
    x = np.concatenate([np.linspace(-12, 12, 20001), -np.geomspace(1e-8, 12, 500), np.geomspace(1e-8, 12, 500)])
    t, r = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = A.gelu(t), TF.gelu(r)
    out.backward(np.ones_like(x))
    expected.sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), 1e-12, 1e-15)
    np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), 1e-12, 1e-15)


# ----------------------------------------------------------------------------------------------
# pointwise losses

REDUCTIONS = ["mean", "sum", "none"]


@st.composite
def pair(draw, low=-3.0, high=3.0, target_low=-3.0, target_high=3.0):
    shape = draw(SMALL, label="shape")
    return draw(arrays(shape, low=low, high=high), label="input"), \
        draw(arrays(shape, low=target_low, high=target_high), label="target")


REGRESSION = {
    "mse_loss": (L.mse_loss, TF.mse_loss, {}),
    "l1_loss": (L.l1_loss, TF.l1_loss, {}),
    "smooth_l1_loss": (L.smooth_l1_loss, TF.smooth_l1_loss, {}),
    "smooth_l1_loss(beta=0.5)": (L.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.5}),
    "smooth_l1_loss(beta=0)": (L.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.0}),
    "huber_loss": (L.huber_loss, TF.huber_loss, {}),
    "huber_loss(delta=0.3)": (L.huber_loss, TF.huber_loss, {"delta": 0.3}),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", REGRESSION)
@settings(max_examples=8)
@given(xy=pair(), weighted=st.booleans(), data=st.data())
def test_regression_loss(name, reduction, dtype, xy, weighted, data):
    ours, theirs, kwargs = REGRESSION[name]
    weighted = weighted and "smooth" not in name  # smooth_l1_loss has no weight
    inputs = list(xy) + ([data.draw(arrays(xy[0].shape, low=0.1, high=2.0), label="weight")] if weighted else [])

    def call(fn):
        return lambda x, y, *w: fn(x, y, reduction=reduction, **kwargs, **({"weight": w[0]} if w else {}))

    check(data, call(ours), call(theirs), inputs, [True] * len(inputs), dtype)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
@settings(max_examples=8)
@given(data=st.data())
def test_regression_loss_broadcasts_and_warns_like_torch(name, data):
    ours, theirs, _ = REGRESSION[name]
    x, y = data.draw(arrays((3, 1, 2)), label="x"), data.draw(arrays((4, 1)), label="y")
    with pytest.warns(UserWarning, match="different to the input size"):
        check(data, ours, lambda a, b: _quiet(theirs, a, b), [x, y], [True, True], np.float64)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@st.composite
def weight_for(draw, shape, low=0.1, high=2.0):
    """None, a scalar-like weight, a weight of the trailing axis, or one of the full shape."""
    kind = draw(st.sampled_from(["none", "last", "full"]))
    if kind == "none":
        return None
    wshape = shape[-1:] if kind == "last" else shape
    return draw(arrays(wshape, low=low, high=high), label=f"{kind} weight")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=10)
@given(xy=pair(low=0.02, high=0.98, target_low=0.0, target_high=1.0), data=st.data())
def test_binary_cross_entropy(reduction, dtype, xy, data):
    weight = data.draw(weight_for(xy[0].shape))
    kw = {"reduction": reduction}
    tw = None if weight is None else torch.tensor(weight.astype(dtype))
    check(data, lambda x, y: L.binary_cross_entropy(x, y, None if weight is None else weight.astype(dtype), **kw),
          lambda x, y: TF.binary_cross_entropy(x, y, tw, **kw), list(xy), [True, True], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=10)
@given(xy=pair(low=-8.0, high=8.0, target_low=0.0, target_high=1.0), data=st.data())
def test_binary_cross_entropy_with_logits(reduction, dtype, xy, data):
    weight = data.draw(weight_for(xy[0].shape))
    pos_weight = data.draw(weight_for(xy[0].shape, low=0.2, high=3.0))
    mine = {k: None if v is None else v.astype(dtype) for k, v in (("weight", weight), ("pos_weight", pos_weight))}
    theirs = {k: None if v is None else torch.tensor(v) for k, v in mine.items()}
    check(data, lambda x, y: L.binary_cross_entropy_with_logits(x, y, reduction=reduction, **mine),
          lambda x, y: TF.binary_cross_entropy_with_logits(x, y, reduction=reduction, **theirs),
          list(xy), [True, True], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
@settings(max_examples=8)
@given(data=st.data())
def test_kl_div(reduction, log_target, dtype, data):
    shape = data.draw(SMALL, label="shape")
    x = data.draw(arrays(shape, low=-4.0, high=0.0), label="input (log-probabilities)")
    y = data.draw(arrays(shape, low=-3.0, high=0.0) if log_target else arrays(shape, low=0.0, high=1.0), label="y")
    if not log_target and y.size:
        y.reshape(-1)[::3] = 0.0  # zeros in the target: no contribution, no NaN
    kw = {"reduction": reduction, "log_target": log_target}
    check(data, lambda a, b: L.kl_div(a, b, **kw), lambda a, b: _quiet(TF.kl_div, a, b, **kw), [x, y],
          [True, True], dtype)


# ----------------------------------------------------------------------------------------------
# cross_entropy and nll_loss


@st.composite
def class_problem(draw, max_dims=4):
    """Input of shape (C,), (N, C) or (N, C, d1, ...) and a class-index target, some entries ignore_index."""
    ndim = draw(st.integers(1, max_dims), label="input ndim")
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim), label="input shape"))
    c = shape[0] if ndim == 1 else shape[1]
    index_shape = () if ndim == 1 else shape[:1] + shape[2:]
    ignore_index = draw(st.sampled_from([-100, 0, 1]), label="ignore_index")
    target = np.asarray(draw(arrays(index_shape, low=0, high=c - 1e-9).map(np.floor), label="target")).astype(np.int64)
    if draw(st.booleans(), label="ignore some") and target.size:
        target.reshape(-1)[::2] = ignore_index
    if ignore_index < 0 and target.size:  # make sure at least one target is kept
        target.reshape(-1)[-1] = draw(st.integers(0, c - 1))
    x = draw(arrays(shape, low=-4.0, high=4.0), label="input")
    weight = draw(st.none() | arrays(c, low=0.1, high=2.0), label="weight")
    return x, target, ignore_index, weight


def _torch_kwargs(weight, dtype, **kw):
    return dict(kw, weight=None if weight is None else torch.tensor(weight.astype(dtype)))


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=12)
@given(problem=class_problem(), smoothing=st.sampled_from([0.0, 0.15, 1.0]), data=st.data())
def test_cross_entropy_class_indices(reduction, dtype, problem, smoothing, data):
    x, target, ignore_index, weight = problem
    if reduction == "mean" and not (target != ignore_index).any():
        return  # 0 / 0: both nan, compared in test_loss_ops
    kw = {"ignore_index": ignore_index, "reduction": reduction, "label_smoothing": smoothing}
    w = None if weight is None else weight.astype(dtype)
    check(data, lambda a: L.cross_entropy(a, target, weight=w, **kw),
          lambda a: TF.cross_entropy(a, torch.from_numpy(target), **_torch_kwargs(weight, dtype, **kw)),
          [x], [True], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=12)
@given(problem=class_problem(), smoothing=st.sampled_from([0.0, 0.3]), data=st.data())
def test_cross_entropy_class_probabilities(reduction, dtype, problem, smoothing, data):
    x, _, _, weight = problem
    axis = 0 if x.ndim == 1 else 1
    probs = data.draw(arrays(x.shape, low=0.0, high=1.0), label="target")
    probs = probs / probs.sum(axis=axis, keepdims=True).clip(1e-3)
    inputs = [x, probs] + ([] if weight is None else [weight])

    def call(fn):
        return lambda a, y, *w: fn(a, y, *w, reduction=reduction, label_smoothing=smoothing)

    check(data, call(L.cross_entropy), call(TF.cross_entropy), inputs, [True] * len(inputs), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=12)
@given(problem=class_problem(), data=st.data())
def test_nll_loss(reduction, dtype, problem, data):
    x, target, ignore_index, weight = problem
    if reduction == "mean" and not (target != ignore_index).any():
        return
    kw = {"ignore_index": ignore_index, "reduction": reduction}
    w = None if weight is None else weight.astype(dtype)
    check(data, lambda a: L.nll_loss(a, target, weight=w, **kw),
          lambda a: TF.nll_loss(a, torch.from_numpy(target), **_torch_kwargs(weight, dtype, **kw)), [x], [True], dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=10)
@given(n=st.integers(1, 5), c=st.integers(1, 5), smoothing=st.sampled_from([0.0, 0.1]), data=st.data())
def test_cross_entropy_fused_path(reduction, n, c, smoothing, data):
    x = data.draw(arrays((n, c)), label="logits")
    target = data.draw(arrays(n, low=0, high=c - 1e-9).map(np.floor), label="target").astype(np.int64)
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    check(data, lambda a: L.cross_entropy(a, target, **kw),
          lambda a: TF.cross_entropy(a, torch.from_numpy(target), **kw), [x], [True], np.float32)


@pytest.mark.parametrize("case", ["all ignored", "zero weight", "empty batch"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_degenerate_means_match_torch(case, smoothing):
    x = np.random.default_rng(0).standard_normal((3, 4))
    target = {"all ignored": [-100, -100, -100], "zero weight": [0, -100, 0], "empty batch": []}[case]
    if case == "empty batch":
        x = x[:0]
    weight = np.array([0.0, 1.0, 2.0, 3.0]) if case == "zero weight" else None
    target = np.array(target, dtype=np.int64)
    t, r = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = L.cross_entropy(t, target, weight=weight, label_smoothing=smoothing)
    expected = TF.cross_entropy(r, torch.from_numpy(target), label_smoothing=smoothing,
                                weight=None if weight is None else torch.from_numpy(weight))
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())  # nan == nan here
    out.backward()
    expected.backward()
    np.testing.assert_array_equal(t.grad.numpy(), r.grad.numpy())
