"""The losses of ops/loss.py and loss_pointwise.py, checked without torch (that is test_torch_functional.py):
gradchecks of input, target and weight on hypothesis-drawn shapes (0-d too), hand-computed values,
PyTorch's reduction rules, stability for huge logits, float32, and clear errors for bad arguments.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_cnn import Tensor
from tinygrad_cnn.ops import loss as L
from tinygrad_cnn.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from tinygrad_cnn.testing import arrays, assert_gradcheck, shapes

SMALL = shapes(min_dims=0, max_dims=3, max_side=3)
REDUCTIONS = ["mean", "sum", "none"]


def T(a, grad=True):
    return Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def value_and_grads(out, *tensors):
    out.backward(np.ones(out.shape))
    return out.numpy(), [t.grad.numpy() for t in tensors]


# ----------------------------------------------------------------------------------------------
# gradchecks


@st.composite
def difference_pair(draw, away_from=None):
    """(input, target) Tensors whose difference keeps away from the loss's kinks."""
    shape = draw(SMALL, label="shape")
    y = draw(arrays(shape), label="target")
    d = draw(arrays(shape, away_from=away_from), label="input - target")
    return T(y + d), T(y)


PAIRWISE = {
    "mse_loss": (mse_loss, {}, None),
    "l1_loss": (l1_loss, {}, 0.0),
    "smooth_l1_loss": (smooth_l1_loss, {}, None),
    "smooth_l1_loss(beta=0.4)": (smooth_l1_loss, {"beta": 0.4}, None),
    "huber_loss(delta=0.7)": (huber_loss, {"delta": 0.7}, None),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", PAIRWISE)
@settings(max_examples=8)
@given(data=st.data())
def test_gradcheck_pairwise(name, reduction, data):
    fn, kwargs, kink = PAIRWISE[name]
    x, y = data.draw(difference_pair(kink))
    if "smooth" in name:
        assert_gradcheck(lambda a, b: fn(a, b, reduction=reduction, **kwargs), x, y)
    else:
        w = T(data.draw(arrays(x.shape, low=0.2, high=2.0), label="weight"))
        assert_gradcheck(lambda a, b, c: fn(a, b, reduction=reduction, weight=c, **kwargs), x, y, w)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("logits", [False, True])
@settings(max_examples=8)
@given(shape=SMALL, data=st.data())
def test_gradcheck_binary_cross_entropies(logits, reduction, shape, data):
    x = T(data.draw(arrays(shape, low=-5.0, high=5.0) if logits else arrays(shape, low=0.05, high=0.95), label="x"))
    y = T(data.draw(arrays(shape, low=0.05, high=0.95), label="target"))  # perturbed, it stays in [0, 1]
    w = data.draw(st.none() | arrays(shape[-1:], low=0.2, high=2.0), label="weight")
    if not logits:
        assert_gradcheck(lambda a, b: binary_cross_entropy(a, b, weight=w, reduction=reduction), x, y)
        return
    pw = data.draw(st.none() | arrays(shape, low=0.2, high=3.0), label="pos_weight")
    assert_gradcheck(lambda a, b: binary_cross_entropy_with_logits(a, b, w, reduction=reduction, pos_weight=pw), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
@settings(max_examples=8)
@given(shape=SMALL, data=st.data())
def test_gradcheck_kl_div(reduction, log_target, shape, data):
    x = T(data.draw(arrays(shape, low=-3.0, high=0.0), label="input"))
    y = T(data.draw(arrays(shape, low=-3.0, high=0.0) if log_target else arrays(shape, low=0.1, high=1.0)))
    assert_gradcheck(lambda a, b: kl_div(a, b, reduction=reduction, log_target=log_target), x, y)


@st.composite
def class_problem(draw):
    """(input, class-index target, ignore_index, weight) for (C,), (N, C) and (N, C, d1, ...) input;
    at least one target is kept."""
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=4), label="input shape"))
    c = shape[0] if len(shape) == 1 else shape[1]
    index_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
    ignore_index = draw(st.sampled_from([-100, 0, 2]), label="ignore_index")
    target = np.asarray(draw(arrays(index_shape, low=0, high=c - 1e-9), label="target")).astype(np.int64)
    if draw(st.booleans(), label="ignore some") and target.size > 1:
        target.reshape(-1)[1::2] = ignore_index
    kept = [k for k in range(c) if k != ignore_index]
    if not kept:
        ignore_index, kept = -100, list(range(c))
    target.reshape(-1)[0] = draw(st.sampled_from(kept))
    weight = draw(st.none() | arrays(c, low=0.2, high=2.0), label="weight")
    return T(draw(arrays(shape), label="input")), target, ignore_index, weight


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("fn", [cross_entropy, nll_loss])
@settings(max_examples=12)
@given(problem=class_problem(), smoothing=st.sampled_from([0.0, 0.2]))
def test_gradcheck_class_indices(fn, reduction, problem, smoothing):
    x, target, ignore_index, weight = problem
    kw = {"label_smoothing": smoothing} if fn is cross_entropy else {}
    assert_gradcheck(lambda a: fn(a, target, weight, ignore_index=ignore_index, reduction=reduction, **kw), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=12)
@given(problem=class_problem(), smoothing=st.sampled_from([0.0, 0.2]), data=st.data())
def test_gradcheck_cross_entropy_class_probabilities(reduction, problem, smoothing, data):
    x, _, _, weight = problem
    y = T(data.draw(arrays(x.shape, low=0.0, high=1.0), label="probabilities"))
    inputs = (x, y) + (() if weight is None else (T(weight),))
    assert_gradcheck(lambda a, b, *w: cross_entropy(a, b, *w, reduction=reduction, label_smoothing=smoothing), *inputs)


# ----------------------------------------------------------------------------------------------
# pointwise losses by hand


def test_mse_and_l1_by_hand():
    x, y = T([1.0, -2.0, 3.0]), np.array([0.0, 0.0, 3.0])
    assert mse_loss(x, y).item() == pytest.approx(5 / 3)
    assert mse_loss(x, y, reduction="sum").item() == 5.0
    np.testing.assert_array_equal(mse_loss(x, y, reduction="none").numpy(), [1.0, 4.0, 0.0])
    out, (g,) = value_and_grads(l1_loss(x, y, reduction="sum"), x)
    assert out == 3.0
    np.testing.assert_array_equal(g, [1.0, -1.0, 0.0])  # sign: 0 at d = 0
    x = T(np.zeros((2, 3)))
    with pytest.warns(UserWarning, match=r"mse_loss: using a target size \(3,\) that is different"):
        out = mse_loss(x, np.ones(3))  # PyTorch broadcasts, with this warning
    assert out.item() == 1.0
    out.backward()
    assert x.grad.shape == (2, 3)


def test_weighted_mse_divides_by_the_weight_sum_and_huber_by_the_count():
    x, y, w = T([1.0, 2.0]), np.zeros(2), T([1.0, 3.0])
    assert mse_loss(x, y, weight=w).item() == pytest.approx((1 + 3 * 4) / 4)
    assert l1_loss(x, y, weight=w).item() == pytest.approx((1 + 3 * 2) / 4)
    assert huber_loss(x, y, weight=w).item() == pytest.approx((0.5 + 3 * 1.5) / 2)  # PyTorch's rule
    out, (gw,) = value_and_grads(mse_loss(x, y, weight=w), w)
    np.testing.assert_allclose(gw, (np.array([1.0, 4.0]) - out) / 4)  # through the denominator too


def test_smooth_l1_and_huber_by_hand():
    x, y = T([-3.0, -1.0, 0.25, 1.0, 2.0]), np.zeros(5)
    out, (g,) = value_and_grads(smooth_l1_loss(x, y, reduction="none"), x)
    np.testing.assert_allclose(out, [2.5, 0.5, 0.03125, 0.5, 1.5])
    np.testing.assert_allclose(g, [-1.0, -1.0, 0.25, 1.0, 1.0])
    x.grad = None
    out, (g,) = value_and_grads(huber_loss(x, y, reduction="none", delta=2.0), x)
    np.testing.assert_allclose(out, [4.0, 0.5, 0.03125, 0.5, 2.0])
    np.testing.assert_allclose(g, [-2.0, -1.0, 0.25, 1.0, 2.0])
    np.testing.assert_array_equal(smooth_l1_loss(x, y, beta=0.0, reduction="none").numpy(), [3, 1, 0.25, 1, 2])
    np.testing.assert_allclose(huber_loss(x, y, delta=0.5).numpy(), 0.5 * smooth_l1_loss(x, y, beta=0.5).numpy())


def test_binary_cross_entropy_clamps_its_logs_like_pytorch():
    x, y = T([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 1.0])
    out, (g,) = value_and_grads(binary_cross_entropy(x, y, reduction="none"), x)
    np.testing.assert_allclose(out, [100.0, 100.0, math.log(2)])
    np.testing.assert_allclose(g, [-1e12, 1e12, -2.0])  # (x - y) / max(x (1 - x), 1e-12)
    w = np.array([2.0, 1.0, 3.0])
    assert binary_cross_entropy(x, y, w).item() == pytest.approx((200 + 100 + 3 * math.log(2)) / 3)


def test_binary_cross_entropy_with_logits_is_stable_for_huge_logits():
    x, y = T([1e3, -1e3, 1e3, -1e3, 0.0]), T([0.0, 1.0, 1.0, 0.0, 0.5])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, (gx, gy) = value_and_grads(binary_cross_entropy_with_logits(x, y, reduction="none"), x, y)
    np.testing.assert_allclose(out, [1e3, 1e3, 0.0, 0.0, math.log(2)])
    np.testing.assert_allclose(gx, [1.0, -1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(gy, [-1e3, 1e3, -1e3, 1e3, 0.0])
    # pos_weight p scales the positive term: p * log(1 + exp(-x)) where y = 1
    pw = np.array([3.0])
    assert binary_cross_entropy_with_logits(T([0.0]), np.array([1.0]), pos_weight=pw).item() == \
        pytest.approx(3 * math.log(2))
    x, y = np.linspace(-4, 4, 9), np.linspace(0, 1, 9)  # it is the BCE of the sigmoid
    np.testing.assert_allclose(binary_cross_entropy_with_logits(T(x), y, reduction="none").numpy(),
                               binary_cross_entropy(T(1 / (1 + np.exp(-x))), y, reduction="none").numpy(), rtol=1e-12)


def test_kl_div_by_hand():
    x = T(np.log([[0.25, 0.75], [0.5, 0.5]]))
    y = np.array([[0.5, 0.5], [0.0, 1.0]])
    pointwise = np.array([[0.5 * math.log(2), 0.5 * math.log(0.5 / 0.75)], [0.0, math.log(2)]])
    np.testing.assert_allclose(kl_div(x, y, reduction="none").numpy(), pointwise)
    assert kl_div(x, y).item() == pytest.approx(pointwise.mean())
    assert kl_div(x, y, reduction="batchmean").item() == pytest.approx(pointwise.sum() / 2)
    y[1] = [0.25, 0.75]
    pointwise[1] = [0.25 * math.log(0.5), 0.75 * math.log(1.5)]
    np.testing.assert_allclose(kl_div(x, np.log(y), reduction="none", log_target=True).numpy(), pointwise)
    assert kl_div(T(0.0), np.array(0.5), reduction="batchmean").item() == pytest.approx(0.5 * math.log(0.5))
    x, y = T([-1.0, -1.0]), T([0.0, 0.5])  # the target gradient at target 0 is nan, as in PyTorch
    _, (gx, gy) = value_and_grads(kl_div(x, y, reduction="sum"), x, y)
    np.testing.assert_array_equal(gx, [0.0, -0.5])
    assert np.isnan(gy[0]) and gy[1] == pytest.approx(math.log(0.5) + 2)


@pytest.mark.parametrize("fn", [mse_loss, l1_loss, smooth_l1_loss, huber_loss, kl_div])
def test_empty_mean_is_nan_and_sum_zero(fn):
    x = T(np.zeros((0, 3)))
    with np.errstate(all="raise"):
        assert np.isnan(fn(x, np.zeros((0, 3))).item())
        assert fn(x, np.zeros((0, 3)), reduction="sum").item() == 0.0


# ----------------------------------------------------------------------------------------------
# cross_entropy and nll_loss by hand


def _log_softmax(x, axis):
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def test_cross_entropy_by_hand():
    assert cross_entropy(T(np.zeros((4, 5))), [0, 1, 2, 3]).item() == pytest.approx(math.log(5))
    assert cross_entropy(T(np.zeros(5)), np.array(2)).item() == pytest.approx(math.log(5))
    assert cross_entropy(T(np.zeros(5)), np.array(2), reduction="none").shape == ()
    # weight, ignore_index and label smoothing together, by PyTorch's formula
    rng = np.random.default_rng(1)
    x, w, s = rng.standard_normal((5, 4)), np.array([0.5, 1.0, 2.0, 4.0]), 0.3
    target = np.array([0, 3, -1, 1, 3])
    logp = _log_softmax(x, 1)
    keep = target != -1
    t = np.where(keep, target, 0)
    nll = -w[t] * logp[np.arange(5), t] * keep
    smooth = -(logp * w).sum(1) * keep
    expected_none = (1 - s) * nll + s / 4 * smooth
    kw = {"weight": w, "ignore_index": -1, "label_smoothing": s}
    np.testing.assert_allclose(cross_entropy(T(x), target, reduction="none", **kw).numpy(), expected_none)
    np.testing.assert_allclose(cross_entropy(T(x), target, **kw).item(), expected_none.sum() / w[t][keep].sum())
    np.testing.assert_allclose(nll_loss(T(logp), target, w, ignore_index=-1).item(), nll.sum() / w[t][keep].sum())


def test_cross_entropy_k_dimensional_equals_the_flattened_problem():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4, 2))
    target = rng.integers(0, 3, (2, 4, 2))
    target[0, 1, 1] = -100
    flat_x = np.moveaxis(x, 1, -1).reshape(-1, 3)
    for reduction in ["mean", "sum"]:
        a, b = T(x), T(flat_x)
        out = cross_entropy(a, target, weight=np.array([1.0, 2.0, 0.5]), reduction=reduction, label_smoothing=0.1)
        ref = cross_entropy(b, target.reshape(-1), weight=np.array([1.0, 2.0, 0.5]), reduction=reduction,
                            label_smoothing=0.1)
        np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-13)
        out.backward()
        ref.backward()
        np.testing.assert_allclose(a.grad.numpy(), np.moveaxis(b.grad.numpy().reshape(2, 4, 2, 3), -1, 1), rtol=1e-13)


def test_cross_entropy_one_hot_probabilities_equal_class_indices():
    rng = np.random.default_rng(3)
    x, target = rng.standard_normal((4, 3)), np.array([2, 0, 1, 1])
    one_hot = np.eye(3)[target]
    for reduction in REDUCTIONS:
        for s in (0.0, 0.25):
            np.testing.assert_allclose(cross_entropy(T(x), one_hot, reduction=reduction, label_smoothing=s).numpy(),
                                       cross_entropy(T(x), target, reduction=reduction, label_smoothing=s).numpy(),
                                       rtol=1e-13)
    # with probabilities, the mean divides by the number of positions, not by the weights
    assert cross_entropy(T(np.zeros((2, 2))), np.eye(2), weight=np.array([1.0, 3.0])).item() == \
        pytest.approx((1 + 3) * math.log(2) / 2)


def test_cross_entropy_huge_logits_are_finite():
    x = T([[1e3, -1e3, 0.0], [-1e3, 1e3, 5e2]])
    with np.errstate(over="raise", invalid="raise"):
        out, (g,) = value_and_grads(cross_entropy(x, [1, 1], label_smoothing=0.1), x)
    # log-probabilities [0, -2e3, -1e3] and [-2e3, 0, -5e2]: nll 2e3 and 0, smoothing terms 3e3 and 2.5e3
    assert out == pytest.approx(((0.9 * 2e3 + 0.1 / 3 * 3e3) + 0.1 / 3 * 2.5e3) / 2)
    assert np.isfinite(g).all()


def test_fused_path_serves_the_plain_case_only(monkeypatch):
    x = T(np.zeros((3, 4)))

    def refuse(*args, **kwargs):
        raise AssertionError("wrong path")

    monkeypatch.setattr(L.CrossEntropyNd, "forward", staticmethod(refuse))
    cross_entropy(x, [0, 1, 3], label_smoothing=0.1)  # fused
    cross_entropy(Tensor(np.zeros((3, 4), np.float32)), np.array([0, 1, 3], np.uint8))
    with pytest.raises(AssertionError, match="wrong path"):
        cross_entropy(x, [0, 1, 3], weight=np.ones(4))
    with pytest.raises(AssertionError, match="wrong path"):
        cross_entropy(x, [0, -100, 3])
    monkeypatch.undo()
    monkeypatch.setattr(L.CrossEntropy, "forward", staticmethod(refuse))
    cross_entropy(T(np.zeros((3, 4, 2))), np.zeros((3, 2), np.int64))


def test_ignored_targets():
    x = T(np.zeros((2, 3)))
    with np.errstate(all="raise"):
        out = cross_entropy(x, [-100, -100])
    assert np.isnan(out.item())
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))
    assert cross_entropy(T(np.zeros((2, 3))), [-100, -100], reduction="sum").item() == 0.0
    x = T(np.random.default_rng(4).standard_normal((3, 3)))  # ignore_index may be a valid class
    full = cross_entropy(x, [1, 2, 0], reduction="none").numpy()
    assert cross_entropy(x, [1, 2, 0], ignore_index=2).item() == pytest.approx((full[0] + full[2]) / 2)


@pytest.mark.parametrize("fn", [cross_entropy, nll_loss])
def test_target_as_tensor_list_or_any_integer_dtype(fn):
    x = T(np.random.default_rng(5).standard_normal((3, 4)))
    expected = fn(x, np.array([0, 3, 1])).item()
    for target in ([0, 3, 1], Tensor(np.array([0, 3, 1])), np.array([0, 3, 1], np.uint8), np.int32([0, 3, 1])):
        assert fn(x, target).item() == expected


# ----------------------------------------------------------------------------------------------
# dtypes

Z64, H64 = np.zeros((2, 3)), np.full((2, 3), 0.5)  # float64 targets and weights
FLOAT32_CALLS = {
    "mse_loss": lambda x, r: mse_loss(x, Z64, reduction=r),
    "l1_loss": lambda x, r: l1_loss(x, Z64, reduction=r, weight=H64),
    "smooth_l1_loss": lambda x, r: smooth_l1_loss(x, Z64, reduction=r),
    "huber_loss": lambda x, r: huber_loss(x, Z64, reduction=r, weight=H64),
    "binary_cross_entropy": lambda x, r: binary_cross_entropy(x, H64, H64, reduction=r),
    "binary_cross_entropy_with_logits": lambda x, r: binary_cross_entropy_with_logits(x, H64, H64, reduction=r),
    "kl_div": lambda x, r: kl_div(x, H64, reduction=r),
    "cross_entropy": lambda x, r: cross_entropy(x, [0, 2], reduction=r),
    "cross_entropy(weight)": lambda x, r: cross_entropy(x, [0, 2], np.ones(3), reduction=r, label_smoothing=0.1),
    "cross_entropy(probabilities)": lambda x, r: cross_entropy(x, H64.astype(np.float32), np.ones(3), reduction=r),
    "nll_loss": lambda x, r: nll_loss(x, [0, 2], np.ones(3), reduction=r),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", FLOAT32_CALLS)
def test_float32_in_float32_out(name, reduction):
    """float64 targets and weights meet a float32 input in float32."""
    x = Tensor(np.full((2, 3), 0.25, np.float32), requires_grad=True)
    out = FLOAT32_CALLS[name](x, reduction)
    assert out.numpy().dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    assert x.grad.numpy().dtype == np.float32


def test_all_lists_exactly_the_public_functions():
    expected = {"cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
                "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"}
    assert set(L.__all__) == expected and len(L.__all__) == len(expected)


# ----------------------------------------------------------------------------------------------
# bad arguments

X, P, Z = Tensor(np.zeros((2, 3))), Tensor(np.full((2, 3), 0.5)), np.zeros((2, 3))
BCE, BCEL, CE, NLL = binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, nll_loss
BAD = [  # (id, call, exception, regex of the message)
    ("reduction", lambda: mse_loss(X, Z, reduction="avg"), ValueError, "mse_loss: reduction must be 'mean', 'sum' "
     "or 'none', got 'avg'"),
    ("kl-reduction", lambda: kl_div(X, P, reduction=1), ValueError, "kl_div: reduction must be 'mean', 'batchmean', "
     "'sum' or 'none', got 1"),
    ("size_average", lambda: mse_loss(X, Z, size_average=True), ValueError,
     "mse_loss: size_average and reduce are deprecated .* pass reduction="),
    ("reduce", lambda: CE(X, [0, 1], reduce=False), ValueError, "cross_entropy: size_average and reduce"),
    ("no-broadcast", lambda: mse_loss(X, np.zeros(4)), ValueError,
     r"mse_loss: target shape \(4,\) does not broadcast with input shape \(2, 3\)"),
    ("bce-shape", lambda: BCE(P, np.zeros(3)), ValueError,
     r"binary_cross_entropy: target shape \(3,\) must be the same as input shape \(2, 3\)"),
    ("bcel-shape", lambda: BCEL(X, Z.T), ValueError, r"binary_cross_entropy_with_logits: target shape \(3, 2\) must"),
    ("bce-input-range", lambda: BCE(Tensor(np.full(2, 1.5)), np.zeros(2)), ValueError,
     "binary_cross_entropy: all elements of input should be between 0 and 1, found 1.5"),
    ("bce-input-nan", lambda: BCE(Tensor(np.array([np.nan])), np.zeros(1)), ValueError, "input .* found nan"),
    ("bce-target-range", lambda: BCE(P, Z - 2), ValueError, "binary_cross_entropy: all elements of target should be"),
    ("bce-int-target", lambda: BCE(P, Z.astype(int)), TypeError, "binary_cross_entropy: target must be floating "
     "point, got dtype int64"),
    ("bce-weight-grad", lambda: BCE(P, Z, Tensor(np.ones(3), requires_grad=True)), ValueError,
     r"binary_cross_entropy: weight gets no gradient \(as in PyTorch\)"),
    ("bce-weight-shape", lambda: BCE(P, Z, np.ones(2)), ValueError,
     r"binary_cross_entropy: weight of shape \(2,\) does not broadcast to the input's shape \(2, 3\)"),
    ("bcel-pos-weight", lambda: BCEL(X, P, pos_weight=np.ones((4, 3))), ValueError, r"pos_weight of shape \(4, 3\)"),
    ("mse-weight-shape", lambda: mse_loss(X, P, weight=np.ones(3)), ValueError,
     r"mse_loss: weight must have the input's shape \(2, 3\), got \(3,\)"),
    ("smooth-beta", lambda: smooth_l1_loss(X, P, beta=-1.0), ValueError, "smooth_l1_loss: beta must be non-negative"),
    ("huber-delta", lambda: huber_loss(X, P, delta=0.0), ValueError, "huber_loss: delta must be positive"),
    ("kl-log-target", lambda: kl_div(X, P, log_target=1), TypeError, "kl_div: log_target must be True or False"),
    ("bool-target", lambda: l1_loss(X, Z > 0), TypeError, "l1_loss: target must hold numbers"),
    ("string-target", lambda: huber_loss(X, "abc"), TypeError, "huber_loss: target must be a Tensor or an array"),
    ("int-input", lambda: mse_loss(Tensor(np.zeros(3, np.int64)), Z), TypeError, "mse_loss: not implemented for 'Lo"),
    ("array-input", lambda: kl_div(Z, Z), TypeError, "kl_div: input must be a Tensor, got ndarray"),
    ("ce-out-of-range", lambda: CE(X, [0, 3]), ValueError,
     r"cross_entropy: target 3 is out of range for 3 classes \(valid: 0 to 2\) and is not ignore_index \(-100\)"),
    ("ce-huge-unsigned", lambda: CE(X, np.array([0, 2 ** 63], np.uint64)), ValueError, "target 9223372036854775808 is"),
    ("ce-target-shape", lambda: CE(X, [0, 1, 2]), ValueError,
     r"cross_entropy: target must have shape \(2,\) to match input \(2, 3\), got \(3,\)"),
    ("ce-float-indices", lambda: CE(X, np.array([0.0, 1.0])), TypeError, r"cross_entropy: target must hold integer "
     r"class indices \(shape \(2,\)\) or float class probabilities \(shape \(2, 3\)\), got dtype float64"),
    ("ce-int-probabilities", lambda: CE(X, Z.astype(int)), TypeError,
     r"cross_entropy: a target of the input's shape \(2, 3\) holds class probabilities and must be floating point"),
    ("ce-probabilities-ignore", lambda: CE(X, P, ignore_index=0), ValueError,
     "cross_entropy: ignore_index is not supported for class-probability targets"),
    ("ce-bool-target", lambda: CE(X, np.array([True, False])), TypeError, "cross_entropy: target must hold .* bool"),
    ("ce-string-target", lambda: CE(X, "ab"), TypeError, "cross_entropy: target must hold integer"),
    ("ce-None-target", lambda: CE(X, None), TypeError, "cross_entropy: target must hold .* got NoneType"),
    ("ce-0d-input", lambda: CE(Tensor(np.array(1.0)), np.array(0)), ValueError,
     r"cross_entropy: input must have shape \(C,\), \(N, C\) or \(N, C, d1, ...\), got a 0-d tensor"),
    ("ce-no-classes", lambda: CE(Tensor(np.zeros((2, 0))), [0, 0]), ValueError,
     r"cross_entropy: input \(2, 0\) has no classes \(C = 0\)"),
    ("ce-int-input", lambda: CE(Tensor(Z.astype(np.int32)), [0, 1]), TypeError, "cross_entropy: not implemented for "
     "'Int'"),
    ("ce-smoothing-range", lambda: CE(X, [0, 1], label_smoothing=1.5), ValueError,
     r"cross_entropy: label_smoothing must be a number in \[0, 1\], got 1.5"),
    ("ce-smoothing-string", lambda: CE(X, [0, 1], label_smoothing="a"), TypeError, "label_smoothing must be a number"),
    ("ce-ignore-index", lambda: CE(X, [0, 1], ignore_index=1.5), TypeError, "cross_entropy: ignore_index must be an "
     "int, got 1.5"),
    ("ce-weight-shape", lambda: CE(X, [0, 1], weight=np.ones(2)), ValueError,
     r"cross_entropy: weight must have shape \(3,\), one weight per class, got \(2,\)"),
    ("ce-weight-grad", lambda: CE(X, [0, 1], weight=Tensor(np.ones(3), requires_grad=True)), ValueError,
     "cross_entropy: weight gets no gradient"),
    ("ce-weight-string", lambda: CE(X, [0, 1], weight="abc"), TypeError, r"cross_entropy: weight must be a float "
     r"Tensor of shape \(3,\)"),
    ("ce-reduction", lambda: CE(X, [0, 1], reduction=None), ValueError, "cross_entropy: reduction must be 'mean', "
     "'sum' or 'none', got None"),
    ("nll-float-target", lambda: NLL(X, np.array([0.0, 1.0])), TypeError,
     r"nll_loss: target must hold integer class indices \(shape \(2,\)\), got dtype float64"),
    ("nll-out-of-range", lambda: NLL(X, [0, 5], ignore_index=-1), ValueError,
     r"nll_loss: target 5 is out of range for 3 classes \(valid: 0 to 2\) and is not ignore_index \(-1\)"),
    ("nll-kdim-shape", lambda: NLL(Tensor(np.zeros((2, 3, 4))), Z.astype(int)), ValueError,
     r"nll_loss: target must have shape \(2, 4\) to match input \(2, 3, 4\), got \(2, 3\)"),
]


@pytest.mark.parametrize("call, kind, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments(call, kind, message):
    with pytest.raises(kind, match=message):
        call()
