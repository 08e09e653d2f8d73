"""The activations of ops/activation.py (and activation_smooth.py): gradients, values, dtypes, errors.

PyTorch comparisons are in test_torch_functional.py; here everything is checked without torch:
central-difference gradchecks on hypothesis-drawn shapes (0-d included), hand-computed values and
kink gradients, overflow-free extremes, dtypes, and clear errors for bad arguments.
"""
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings

from tinygrad_cnn import Tensor
from tinygrad_cnn.ops import activation as A
from tinygrad_cnn.ops.activation import (
    celu,
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    logsigmoid,
    mish,
    relu6,
    selu,
    silu,
    softplus,
    softsign,
    tanhshrink,
)
from tinygrad_cnn.ops.activation_smooth import erf, erfc
from tinygrad_cnn.testing import arrays, assert_gradcheck, shapes, tensors

SMALL = shapes(min_dims=0, max_dims=3, max_side=3)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

# name -> (function of a Tensor, points to keep away from: kinks and threshold jumps)
OPS = {
    "relu6": (relu6, [0, 6]),
    "hardtanh": (hardtanh, [-1, 1]),
    "hardtanh(-0.5, 2)": (lambda x: hardtanh(x, min_val=-0.5, max_val=2.0), [-0.5, 2]),
    "leaky_relu": (leaky_relu, [0]),
    "leaky_relu(-0.4)": (lambda x: leaky_relu(x, negative_slope=-0.4), [0]),
    "elu": (elu, [0]),
    "elu(2.5)": (lambda x: elu(x, alpha=2.5), [0]),
    "selu": (selu, [0]),
    "celu(0.6)": (lambda x: celu(x, alpha=0.6), [0]),
    "hardsigmoid": (hardsigmoid, [-3, 3]),
    "hardswish": (hardswish, [-3, 3]),
    "softsign": (softsign, [0]),
    "gelu": (gelu, None),
    "gelu(tanh)": (lambda x: gelu(x, approximate="tanh"), None),
    "silu": (silu, None),
    "mish": (mish, None),
    "softplus": (softplus, None),
    "softplus(beta=3, threshold=2)": (lambda x: softplus(x, beta=3.0, threshold=2.0), [2 / 3]),
    "logsigmoid": (logsigmoid, None),
    "tanhshrink": (tanhshrink, None),
}


def run(fn, x, upstream=None):
    """(values, input gradient) of fn at the float64 values x."""
    t = Tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    out = fn(t)
    out.backward(np.ones(out.shape) if upstream is None else upstream)
    return out.numpy(), t.grad.numpy()


@pytest.mark.parametrize("name", OPS)
@settings(max_examples=12)
@given(x=tensors(SMALL, low=-4.0, high=4.0, away_from=[-3, -1, -0.5, 0, 2 / 3, 1, 2, 3]))
def test_gradcheck(name, x):
    fn, _ = OPS[name]
    assert_gradcheck(fn, x)


# ----------------------------------------------------------------------------------------------
# hand-computed values and kink gradients (PyTorch's conventions)

e = math.exp
HAND = [
    # (name, fn, x, expected values, expected gradients)
    ("relu6", relu6, [-1, 0, 3, 6, 7], [0, 0, 3, 6, 6], [0, 0, 1, 0, 0]),
    ("hardtanh", hardtanh, [-2, -1, 0, 1, 2], [-1, -1, 0, 1, 1], [0, 0, 1, 0, 0]),
    ("hardtanh(0, 0)", lambda x: hardtanh(x, 0.0, 0.0), [-1, 0, 1], [0, 0, 0], [0, 0, 0]),
    ("leaky_relu(0.1)", lambda x: leaky_relu(x, 0.1), [-2, 0, 3], [-0.2, 0, 3], [0.1, 0.1, 1]),
    ("elu(2)", lambda x: elu(x, 2.0), [-1, 0, 1], [2 * (e(-1) - 1), 0, 1], [2 * e(-1), 2, 1]),
    ("selu", selu, [-1, 0, 1], [SELU_SCALE * SELU_ALPHA * (e(-1) - 1), 0, SELU_SCALE],
     [SELU_SCALE * SELU_ALPHA * e(-1), SELU_SCALE * SELU_ALPHA, SELU_SCALE]),
    ("celu(2)", lambda x: celu(x, 2.0), [-2, 0, 1], [2 * (e(-1) - 1), 0, 1], [e(-1), 1, 1]),
    ("hardsigmoid", hardsigmoid, [-4, -3, 0, 3, 4], [0, 0, 0.5, 1, 1], [0, 0, 1 / 6, 0, 0]),
    ("hardswish", hardswish, [-4, -3, -1.5, 0, 3, 4], [0, 0, -0.375, 0, 3, 4], [0, 0, 0, 0.5, 1, 1]),
    ("softsign", softsign, [-1, 0, 3], [-0.5, 0, 0.75], [0.25, 1, 1 / 16]),
    ("gelu", gelu, [-1, 0, 1], [-0.15865525393145707, 0, 0.8413447460685429],
     [0.15865525393145707 - 0.24197072451914337, 0.5, 0.8413447460685429 + 0.24197072451914337]),
    ("silu", silu, [0, 1], [0, 0.7310585786300049], [0.5, 0.7310585786300049 * (1 + 0.2689414213699951)]),
    ("mish", mish, [0], [0], [0.6]),  # tanh(log 2) = 3/5
    ("softplus", softplus, [0, 20, 21], [math.log(2), math.log1p(e(20)), 21], [0.5, 1 / (1 + e(-20)), 1]),
    ("softplus(2, 3)", lambda x: softplus(x, beta=2.0, threshold=3.0), [1.5, 2],
     [math.log1p(e(3)) / 2, 2], [1 / (1 + e(-3)), 1]),
    ("logsigmoid", logsigmoid, [0, -1000, 1000], [-math.log(2), -1000, 0], [0.5, 1, 0]),
    ("tanhshrink", tanhshrink, [0, 1], [0, 1 - math.tanh(1)], [0, math.tanh(1) ** 2]),
]


@pytest.mark.parametrize("name, fn, x, values, grads", HAND, ids=[h[0] for h in HAND])
def test_hand_computed(name, fn, x, values, grads):
    out, grad = run(fn, x)
    np.testing.assert_allclose(out, values, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(grad, grads, rtol=1e-15, atol=1e-300)


def test_gelu_tanh_is_the_tanh_formula():
    x = np.linspace(-5, 5, 101)
    inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
    out, grad = run(lambda t: gelu(t, approximate="tanh"), x)
    np.testing.assert_allclose(out, 0.5 * x * (1 + np.tanh(inner)), rtol=1e-14, atol=1e-16)
    dinner = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x ** 2)
    np.testing.assert_allclose(grad, 0.5 * (1 + np.tanh(inner)) + 0.5 * x * (1 - np.tanh(inner) ** 2) * dinner,
                               rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("name", ["gelu", "gelu(tanh)", "silu", "mish", "softplus", "logsigmoid", "elu", "selu",
                                  "celu(0.6)", "softsign", "tanhshrink", "hardswish", "leaky_relu"])
def test_extremes_are_finite_and_quiet(name):
    fn, _ = OPS[name]
    x = np.array([-1e3, -700.0, -40.0, 40.0, 700.0, 1e3])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, grad = run(fn, x)
    assert np.isfinite(out).all() and np.isfinite(grad).all()


def test_softplus_and_logsigmoid_are_exact_far_out():
    out, grad = run(softplus, [-1e3, 1e3])
    np.testing.assert_array_equal(out, [0.0, 1e3])
    np.testing.assert_array_equal(grad, [0.0, 1.0])
    out, _ = run(logsigmoid, [-800.0, -30.0])
    np.testing.assert_allclose(out, [-800.0, -30.0 - math.log1p(e(-30))], rtol=1e-15)


def test_gelu_keeps_relative_accuracy_for_very_negative_input():
    # Phi(-x) from erfc, never 1 - erf: gelu(-10) = -10 * Phi(-10) = -7.6198530241605e-23
    out, _ = run(gelu, [-10.0, -30.0])
    np.testing.assert_allclose(out, [-10 * 7.619853024160527e-24, -30 * 4.906713927148187e-198], rtol=1e-13)


# ----------------------------------------------------------------------------------------------
# erf and erfc


def test_erf_and_erfc_match_math_to_a_few_ulp():
    x = np.concatenate([np.linspace(-7, 7, 14001), np.geomspace(1e-300, 1, 301), -np.geomspace(1e-300, 1, 301),
                        np.linspace(7, 27, 2001), [np.nextafter(1.0, 0), 1.0, np.nextafter(1.0, 2)]])
    np.testing.assert_allclose(erf(x), [math.erf(v) for v in x], rtol=1e-15, atol=0)
    np.testing.assert_allclose(erfc(x), [math.erfc(v) for v in x], rtol=2e-15, atol=1e-305)  # subnormals: absolute


def test_erf_special_values():
    np.testing.assert_array_equal(erf(np.array([0.0, np.inf, -np.inf, 40.0])), [0.0, 1.0, -1.0, 1.0])
    np.testing.assert_array_equal(erfc(np.array([np.inf, -np.inf, 30.0, -30.0])), [0.0, 2.0, 0.0, 2.0])
    assert np.isnan(erf(np.array([np.nan]))).all() and np.isnan(erfc(np.array([np.nan]))).all()
    assert math.copysign(1, erf(np.array(-0.0))) == -1
    assert erf(np.float64(0.5)).shape == ()


# ----------------------------------------------------------------------------------------------
# dtypes, integers, inplace


@pytest.mark.parametrize("name", OPS)
def test_float32_in_float32_out(name):
    fn, _ = OPS[name]
    t = Tensor(np.linspace(-4, 4, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    out = fn(t)
    out.backward(np.ones((3, 4), np.float32))
    assert out.numpy().dtype == np.float32 and t.grad.numpy().dtype == np.float32
    expected, _ = run(fn, t.numpy().astype(np.float64))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn", [leaky_relu, elu, selu, celu, gelu, silu, mish, softplus, hardswish, hardsigmoid,
                                logsigmoid])
def test_integer_input_is_not_implemented(fn):
    with pytest.raises(TypeError, match=rf"{fn.__name__}: not implemented for 'Long' \(input has dtype int64\)"):
        fn(Tensor(np.array([1, 2])))


def test_integer_input_where_pytorch_takes_it():
    x = Tensor(np.array([-7, -1, 0, 2, 9]))
    assert relu6(x).numpy().tolist() == [0, 0, 0, 2, 6] and relu6(x).numpy().dtype == np.int64
    assert hardtanh(x, -1.5, 2.5).numpy().tolist() == [-1, -1, 0, 2, 2]  # bounds truncated, as PyTorch
    assert softsign(x).numpy().dtype == np.float32 and tanhshrink(x).numpy().dtype == np.float32
    np.testing.assert_allclose(softsign(x).numpy(), [-7 / 8, -0.5, 0, 2 / 3, 0.9], rtol=1e-7)


@pytest.mark.parametrize("fn", [relu6, hardtanh, softsign, tanhshrink, gelu])
def test_bool_input_is_refused(fn):
    with pytest.raises(TypeError, match=rf"{fn.__name__}: not implemented for 'Bool'"):
        fn(Tensor(np.array([True, False])))


@pytest.mark.parametrize("fn", [relu6, hardtanh, leaky_relu, elu, selu, celu, silu, mish, hardswish, hardsigmoid])
def test_inplace_returns_a_new_tensor_and_leaves_the_input(fn):
    data = np.array([-2.0, 0.5, 4.0])
    t = Tensor(data.copy(), requires_grad=True)
    out = fn(t, inplace=True)
    assert out is not t
    np.testing.assert_array_equal(t.numpy(), data)
    np.testing.assert_array_equal(out.numpy(), fn(Tensor(data)).numpy())


def test_all_lists_exactly_the_public_functions():
    expected = {"relu6", "hardtanh", "leaky_relu", "elu", "selu", "celu", "hardsigmoid", "hardswish", "softsign",
                "gelu", "silu", "mish", "softplus", "logsigmoid", "tanhshrink"}
    assert set(A.__all__) == expected and len(A.__all__) == len(expected)
    assert all(callable(getattr(A, name)) for name in A.__all__)


# ----------------------------------------------------------------------------------------------
# bad arguments

x3 = Tensor(np.zeros(3))
BAD = [
    ("gelu-approximate", lambda: gelu(x3, approximate="fast"), ValueError,
     "gelu: approximate must be 'none' or 'tanh', got 'fast'"),
    ("gelu-approximate-None", lambda: gelu(x3, approximate=None), ValueError, "gelu: approximate must be"),
    ("celu-alpha-0", lambda: celu(x3, alpha=0.0), ValueError, "celu: alpha cannot be 0"),
    ("hardtanh-inverted", lambda: hardtanh(x3, 2.0, 1.0), ValueError,
     r"hardtanh: min_val \(2.0\) cannot be greater than max_val \(1.0\)"),
    ("hardtanh-string", lambda: hardtanh(x3, "a"), TypeError, "hardtanh: min_val must be a number, got 'a'"),
    ("leaky-slope-none", lambda: leaky_relu(x3, None), TypeError, "leaky_relu: negative_slope must be a number"),
    ("leaky-slope-bool", lambda: leaky_relu(x3, True), TypeError, "leaky_relu: negative_slope must be a number"),
    ("elu-alpha-nan", lambda: elu(x3, float("nan")), ValueError, "elu: alpha must not be NaN"),
    ("softplus-beta-string", lambda: softplus(x3, beta="2"), TypeError, "softplus: beta must be a number"),
    ("softplus-threshold-nan", lambda: softplus(x3, threshold=math.nan), ValueError, "softplus: threshold must not"),
    ("inplace-not-bool", lambda: relu6(x3, inplace=1), TypeError, "relu6: inplace must be True or False, got 1"),
    ("silu-inplace-string", lambda: silu(x3, inplace="yes"), TypeError, "silu: inplace must be True or False"),
    ("ndarray-input", lambda: mish(np.zeros(3)), TypeError, "mish: input must be a Tensor, got ndarray"),
    ("list-input", lambda: logsigmoid([1.0]), TypeError, "logsigmoid: input must be a Tensor, got list"),
    ("number-input", lambda: hardswish(1.0), TypeError, "hardswish: input must be a Tensor, got float"),
]


@pytest.mark.parametrize("call, kind, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments(call, kind, message):
    with pytest.raises(kind, match=message):
        call()


def test_errors_name_the_function_for_every_op():
    for name in A.__all__:
        with pytest.raises(TypeError, match=re.escape(f"{name}: input must be a Tensor")):
            getattr(A, name)("not a tensor")


@settings(max_examples=10)
@given(x=arrays(SMALL))
def test_output_shape_is_input_shape(x):
    for name in A.__all__:
        assert getattr(A, name)(Tensor(x)).shape == x.shape
