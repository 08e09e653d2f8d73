"""Tests for gradcheck itself, and for the hypothesis strategies of tinygrad_cnn.testing."""
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings

from tinygrad_cnn import Function, GradcheckError, Tensor, gradcheck
from tinygrad_cnn.testing import (
    UNIQUE_SPACING,
    arrays,
    assert_gradcheck,
    broadcastable_shapes,
    conv_args,
    pool_args,
    shapes,
    tensors,
)


class ScaledWrongSquare(Function):
    """x**2 whose backward is off by a factor of 1.5 (3x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x * grad


class WrongSecondInput(Function):
    """a * b with a correct gradient for a and a wrong one (missing a factor) for b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * b, grad


def t64(values, requires_grad=True):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=requires_grad)


def test_gradcheck_passes_on_correct_ops():
    x, y = t64([[0.5, -1.0], [2.0, 1.5]]), t64([0.3, -0.7])
    assert gradcheck(lambda a, b: (a * b).tanh().sum(axis=0), [x, y]) is True
    assert gradcheck(lambda a: a.exp(), x) is True  # a single Tensor instead of a sequence
    assert gradcheck(lambda a, b: (a @ b, a.sum()), [x, y]) is True  # several outputs


def test_gradcheck_reports_a_wrong_backward():
    x = t64([1.0, 2.0, -0.5])
    with pytest.raises(GradcheckError) as info:
        gradcheck(ScaledWrongSquare.apply, [x])
    assert isinstance(info.value, AssertionError)
    message = str(info.value)
    assert "input 0" in message and "shape (3,)" in message
    # the worst element is x[1] = 2: analytic 3 * 2 = 6, numerical 2 * 2 = 4
    assert "input element (1,)" in message
    assert re.search(r"analytic 6(\.0*)? vs numerical 4(\.0+\d*)?", message), message


def test_gradcheck_names_the_input_index_of_the_wrong_gradient():
    a, b = t64([[1.0, 2.0]]), t64([[3.0, -4.0]])
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(1, 2\)\) at input element \(0, [01]\)"):
        gradcheck(WrongSecondInput.apply, [a, b])
    # when only the first input requires grad, its (correct) gradient is all that is checked
    assert gradcheck(WrongSecondInput.apply, [a, t64([[3.0, -4.0]], requires_grad=False)])


def test_gradcheck_without_raising_returns_false():
    assert gradcheck(ScaledWrongSquare.apply, [t64([1.0, 2.0])], raise_exception=False) is False
    assert gradcheck(lambda a: a * a, [t64([1.0, 2.0])], raise_exception=False) is True


def test_gradcheck_catches_nan_gradients():
    class NanGrad(Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            return grad * np.nan

    with pytest.raises(GradcheckError, match="analytic nan"):
        gradcheck(NanGrad.apply, [t64([1.0])])


def test_gradcheck_warns_about_float32_inputs():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="input 0 is float32, not float64"):
        gradcheck(lambda a: a * 3, [x], raise_exception=False)


def test_gradcheck_does_not_warn_about_float64_or_constant_float32_inputs():
    constant = Tensor(np.array([1.0, 2.0], dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda a, c: a * c, [t64([1.0, 2.0]), constant])


def test_gradcheck_skips_inputs_that_do_not_require_grad():
    x = t64([1.0, 2.0])
    frozen = t64([5.0, 6.0], requires_grad=False)
    # the "gradient" for the frozen input is wrong, but it is not checked
    assert gradcheck(WrongSecondInput.apply, [x, frozen])
    assert frozen.grad is None
    # non-Tensor inputs are passed through as they are
    assert gradcheck(lambda a, k: a * k, [x, 3.0])


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda a: a * 2, [t64([1.0], requires_grad=False)])


def test_gradcheck_restores_the_users_grads_and_data():
    x, y = t64([1.0, 2.0]), t64([3.0, 4.0])
    (x * y).sum().backward()
    before_x, before_y = x.grad, y.grad.numpy().copy()
    data = x.numpy()
    assert gradcheck(lambda a, b: (a * b).exp(), [x, y])
    assert x.grad is before_x
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(y.grad.numpy(), before_y)
    assert x.numpy() is data
    np.testing.assert_array_equal(data, [1.0, 2.0])
    z = t64([1.0])
    assert gradcheck(lambda a: a * 2, [z]) and z.grad is None
    with pytest.raises(GradcheckError):
        gradcheck(ScaledWrongSquare.apply, [x])
    assert x.grad is before_x  # also after a failure


def test_gradcheck_tolerances():
    x = t64([2.0])
    # relative error 0.5 passes with rtol=1 and fails with the default
    assert gradcheck(ScaledWrongSquare.apply, [x], rtol=1.0)
    assert not gradcheck(ScaledWrongSquare.apply, [x], raise_exception=False)
    assert gradcheck(ScaledWrongSquare.apply, [x], atol=3.0)


def test_assert_gradcheck():
    assert assert_gradcheck(lambda a, b: a / b, t64([1.0, 2.0]), t64([3.0, -4.0])) is True
    with pytest.raises(AssertionError, match="Jacobian mismatch"):
        assert_gradcheck(ScaledWrongSquare.apply, t64([1.0]))


# ----------------------------------------------------------------------------------------------
# the strategies of tinygrad_cnn.testing


@settings(max_examples=50)
@given(shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
def test_shapes_respect_their_bounds(shape):
    assert 1 <= len(shape) <= 3 and all(2 <= n <= 4 for n in shape)


@settings(max_examples=50)
@given(arrays(low=-2.0, high=5.0))
def test_arrays_are_finite_float64_in_range(a):
    assert a.dtype == np.float64 and np.isfinite(a).all()
    assert ((a >= -2.0) & (a <= 5.0)).all()
    assert a.ndim <= 4 and all(1 <= n <= 5 for n in a.shape)


@settings(max_examples=50)
@given(arrays(shape=(3, 4), away_from=[0.0, 1.0], margin=0.25))
def test_arrays_away_from_points(a):
    assert a.shape == (3, 4)
    assert (np.abs(a) >= 0.25).all() and (np.abs(a - 1.0) >= 0.25).all()


@settings(max_examples=50)
@given(arrays(shape=shapes(max_dims=2, max_side=10), unique=True, away_from=0.0))
def test_unique_arrays_are_spaced_apart(a):
    values = np.sort(a.reshape(-1))
    assert (np.abs(values) >= 0.1).all()
    if values.size > 1:
        assert np.diff(values).min() >= min(UNIQUE_SPACING, 6 / (4 * values.size)) * (1 - 1e-9)


@settings(max_examples=5)
@given(arrays(shape=shapes(min_dims=4, max_dims=4, min_side=5, max_side=5), unique=True))
def test_unique_arrays_can_be_large(a):
    assert a.size == 625 and np.unique(a).size == 625


@settings(max_examples=30)
@given(arrays(shape=7, dtype=np.float32, low=0.1, high=2.0))
def test_float32_arrays(a):
    assert a.dtype == np.float32 and a.shape == (7,) and (a >= np.float32(0.1)).all()


@settings(max_examples=30)
@given(tensors(shape=(2, 3)), tensors(requires_grad=False))
def test_tensors(t, frozen):
    assert isinstance(t, Tensor) and t.requires_grad and t.shape == (2, 3) and t.dtype == np.float64
    assert not frozen.requires_grad


@settings(max_examples=50)
@given(broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, max_side=4))
def test_broadcastable_shapes_broadcast(shape_tuple):
    assert len(shape_tuple) == 3
    np.broadcast_shapes(*shape_tuple)
    assert all(len(s) <= 4 and all(1 <= n <= 4 for n in s) for s in shape_tuple)


@settings(max_examples=50)
@given(conv_args(), pool_args())
def test_conv_and_pool_args_are_valid(conv, pool):
    out = Tensor(np.ones(conv.input_shape)).conv2d(
        Tensor(np.ones(conv.weight_shape)), Tensor(np.ones(conv.bias_shape)) if conv.bias else None, **conv.kwargs)
    assert out.shape[:2] == (conv.n, conv.out_channels) and min(out.shape) >= 1
    if conv.padding == "same":
        assert out.shape[2:] == (conv.height, conv.width)
    for name in ("max_pool2d", "avg_pool2d"):
        assert getattr(Tensor(np.ones(pool.input_shape)), name)(**pool.kwargs).shape[:2] == (pool.n, pool.channels)


def test_bad_strategy_arguments():
    with pytest.raises(ValueError, match="no values left"):
        arrays(low=0.0, high=0.1, away_from=0.05, margin=0.1)
    with pytest.raises(ValueError, match="low <= high"):
        arrays(low=1.0, high=0.0)


def test_module_docstring_example():
    """The three-line example of the module docstring runs as written."""
    import textwrap

    import tinygrad_cnn.testing as testing

    block = []
    for line in testing.__doc__.split("::", 1)[1].splitlines()[1:]:
        if line.strip() and not line.startswith("    "):
            break
        block.append(line)
    namespace = {}
    exec(compile(textwrap.dedent("\n".join(block)), "<docstring>", "exec"), namespace)
    namespace["test_abs_gradient"]()
