"""Tests for the engine: Tensor construction and dtype rules, constructors and seeding, backward
(accumulation, broadcasting, long chains, freeing the graph), grad modes, custom Functions,
detect_anomaly, comparisons."""
import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_cnn import (
    Context,
    Function,
    Tensor,
    detect_anomaly,
    enable_grad,
    gradcheck,
    is_grad_enabled,
    manual_seed,
    no_grad,
)
from tinygrad_cnn.testing import broadcastable_shapes, tensors


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------------------------------------
# construction and dtype rules


@pytest.mark.parametrize("data", [3, 2.5, True, [1, 2, 3], [[1.0, 2.0], [3.0, 4.0]], (1, 2)])
def test_python_numbers_and_lists_become_float32(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), np.asarray(data, dtype=np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_arrays_keep_their_dtype(dtype):
    a = np.arange(6, dtype=dtype).reshape(2, 3)
    t = Tensor(a)
    assert t.dtype == dtype
    assert t.numpy() is a  # shared, not copied


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_])
def test_integer_and_bool_arrays_keep_their_dtype(dtype):
    t = Tensor(np.zeros(3, dtype=dtype))
    assert t.dtype == dtype
    assert not t.requires_grad


def test_zero_dim_arrays_keep_their_dtype():
    assert Tensor(np.array(1.5)).dtype == np.float64
    assert Tensor(np.array(1.5, np.float32)).dtype == np.float32
    assert Tensor(np.array(3)).dtype == np.int64


def test_float16_is_refused_not_silently_promoted():
    with pytest.raises(TypeError, match="float16"):
        Tensor(np.ones(2, dtype=np.float16))


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating-point"):
        Tensor(np.arange(3), requires_grad=True)
    t = Tensor(np.arange(3))
    with pytest.raises(RuntimeError, match="floating-point"):
        t.requires_grad = True


@pytest.mark.parametrize("data", ["abc", object(), None, {"a": 1}, np.array(["x", "y"]), [1, "a"]])
def test_non_numeric_data_is_a_type_error(data):
    with pytest.raises(TypeError, match="Tensor"):
        Tensor(data)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, "float64"])
def test_dtype_argument(dtype):
    t = Tensor([1, 2, 3], dtype=dtype)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.numpy(), [1, 2, 3])
    assert Tensor(np.ones(2, np.float32), dtype=np.float64).dtype == np.float64


def test_attributes():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = Tensor(a, requires_grad=True)
    assert (t.shape == (2, 3) and t.ndim == 2 and t.size() == (2, 3) and t.size(1) == 3
            and t.numel() == 6 and len(t) == 2)
    assert t.dtype == np.float64
    assert t.numpy() is a and t.numpy() is a
    assert t.grad is None and t.requires_grad and t.is_leaf
    assert Tensor(np.array(4.5)).item() == 4.5 and isinstance(Tensor([4.5]).item(), float)
    with pytest.raises(RuntimeError, match="item"):
        t.item()


def test_detach_shares_data_and_leaves_graph():
    x = leaf([1.0, 2.0])
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d._ctx is None and d.is_leaf
    assert d.numpy() is y.numpy()
    assert not y.is_leaf


def test_repr_shows_values_shape_dtype_and_requires_grad():
    r = repr(Tensor(np.array([1.0, 2.0]), requires_grad=True))
    assert "shape=(2,)" in r and "float64" in r and "requires_grad=True" in r and "1." in r
    r = repr(Tensor(np.zeros((10, 10), np.float32)))
    assert "shape=(10, 10)" in r and "float32" in r and "requires_grad" not in r


def test_cannot_turn_off_requires_grad_of_a_non_leaf():
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad = False


def test_grad_setter_checks_shape():
    x = leaf([1.0, 2.0])
    x.grad = np.array([3.0, 4.0])
    assert isinstance(x.grad, Tensor) and x.grad.dtype == np.float64
    with pytest.raises(ValueError, match="shape"):
        x.grad = np.zeros(3)
    x.grad = None
    assert x.grad is None


# ----------------------------------------------------------------------------------------------
# constructors and seeding


@pytest.mark.parametrize("make", [Tensor.zeros, Tensor.ones, Tensor.randn, Tensor.uniform])
def test_constructor_shapes_and_dtypes(make):
    assert make(2, 3).shape == (2, 3)
    assert make((2, 3)).shape == (2, 3)
    assert make(()).shape == () and make().shape == ()
    assert make(4).dtype == np.float32
    t = make(4, dtype=np.float64, requires_grad=True)
    assert t.dtype == np.float64 and t.requires_grad
    with pytest.raises(TypeError):
        make(2.5)


def test_zeros_and_ones_values():
    np.testing.assert_array_equal(Tensor.zeros(2, 2).numpy(), np.zeros((2, 2)))
    np.testing.assert_array_equal(Tensor.ones(3).numpy(), np.ones(3))


def test_uniform_range_and_randn_moments():
    manual_seed(0)
    u = Tensor.uniform(2000, low=-2.0, high=5.0, dtype=np.float64).numpy()
    assert u.min() >= -2.0 and u.max() < 5.0
    assert abs(u.mean() - 1.5) < 0.2
    u32 = Tensor.uniform(2000).numpy()
    assert u32.dtype == np.float32 and u32.min() >= 0.0 and u32.max() <= 1.0
    r = Tensor.randn(4000, dtype=np.float64).numpy()
    assert abs(r.mean()) < 0.1 and abs(r.std() - 1) < 0.1


def test_manual_seed_reproducibility():
    manual_seed(123)
    a = Tensor.randn(5).numpy().copy()
    b = Tensor.uniform(5).numpy().copy()
    manual_seed(123)
    np.testing.assert_array_equal(Tensor.randn(5).numpy(), a)
    np.testing.assert_array_equal(Tensor.uniform(5).numpy(), b)
    manual_seed(124)
    assert not np.array_equal(Tensor.randn(5).numpy(), a)
    with pytest.raises(ValueError, match="seed"):
        manual_seed(-1)


# ----------------------------------------------------------------------------------------------
# backward


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_backward_of_a_one_element_tensor_needs_no_gradient(shape):
    x = leaf(np.full(shape, 3.0))
    (x * x).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(shape, 6.0))


def test_backward_of_non_scalar_needs_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="gradient"):
        (x * 2).backward()


def test_backward_with_a_gradient():
    x = leaf([1.0, 2.0])
    (x * 3).backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 30.0])


def test_backward_gradient_of_wrong_shape():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(np.ones(3))


def test_backward_of_tensor_not_requiring_grad():
    with pytest.raises(RuntimeError, match="require"):
        Tensor([1.0]).sum().backward()


def test_gradient_accumulates_over_reuse():
    x = leaf([2.0, -3.0])
    y = x * x + x  # dy/dx = 2x + 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, -5.0])


def test_gradient_accumulates_over_two_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    first = x.grad
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])
    assert x.grad is first  # accumulated in place, like PyTorch


def test_a_diamond_graph_adds_both_paths():
    x = leaf([1.5])
    a = x * 2
    b = a.exp()
    c = a * a
    (b + c).sum().backward()  # d/dx (e^{2x} + 4x^2) = 2e^{2x} + 8x
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(3.0) + 12.0)


def test_add_of_the_same_tensor_twice():
    x = leaf([1.0, 2.0])
    (x + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_broadcast_gradients_are_summed_to_each_input_shape():
    a = leaf(np.ones((3, 1, 4)))
    b = leaf(np.arange(2.0).reshape(2, 1))
    out = a * b
    assert out.shape == (3, 2, 4)
    out.sum().backward()
    assert a.grad.shape == (3, 1, 4) and b.grad.shape == (2, 1)
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1, 4), 0.0 + 1.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full((2, 1), 12.0))


@settings(max_examples=30)
@given(broadcastable_shapes(num_shapes=2), st.data())
def test_broadcast_gradient_shapes_match_inputs(shape_pair, data):
    a = data.draw(tensors(shape_pair[0]))
    b = data.draw(tensors(shape_pair[1]))
    out = a * b + a
    out.backward(np.ones(out.shape))
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    full = np.broadcast_to(a.numpy(), out.shape)  # d out / d b, before summing over broadcast axes
    expected_b = full.sum(axis=tuple(range(out.ndim - b.ndim))) if out.ndim > b.ndim else full
    expected_b = expected_b.sum(axis=tuple(i for i, n in enumerate(b.shape) if n == 1), keepdims=True)
    np.testing.assert_allclose(b.grad.numpy(), expected_b)


def test_a_100000_op_chain_backpropagates_without_recursion():
    x = leaf(2.0)
    y = x
    for _ in range(100_001):
        y = -y
    y.backward()
    assert y.item() == -2.0
    assert x.grad.item() == -1.0


def test_saved_arrays_are_released_after_backward():
    x = leaf([1.0, 2.0])
    y = x * x
    assert len(y._ctx.saved_tensors) == 2
    y.sum().backward()
    assert y._ctx.saved_tensors == ()
    assert y._ctx.parents == ()


def test_saved_arrays_are_freed_after_backward():
    x = leaf(np.ones(1000))
    y = x * Tensor(np.full(1000, 2.0))  # Mul saves both inputs; only the graph holds the constant
    saved = weakref.ref(y._ctx.saved_tensors[1])
    gc.collect()
    assert saved() is not None
    y.sum().backward()
    gc.collect()
    assert saved() is None  # freed although y is still alive


def test_second_backward_without_retain_graph_is_an_error():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x * x).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 24.0])


def test_retain_grad_keeps_intermediate_gradients():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 18 * x.numpy())


def test_constant_inputs_get_no_gradient():
    x = leaf([1.0, 2.0])
    c = Tensor(np.array([5.0, 6.0]))
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 6.0])


# ----------------------------------------------------------------------------------------------
# grad modes


def test_no_grad_as_context_manager():
    x = leaf([1.0, 2.0])
    with no_grad():
        assert not is_grad_enabled()
        y = x * 2
    assert is_grad_enabled()
    assert not y.requires_grad and y._ctx is None
    np.testing.assert_allclose(y.numpy(), [2.0, 4.0])


def test_no_grad_as_decorator():
    @no_grad()
    def double(t):
        assert not is_grad_enabled()
        return t * 2

    x = leaf([1.0])
    y = double(x)
    assert is_grad_enabled()
    assert not y.requires_grad and y._ctx is None
    assert double(x)._ctx is None  # the decorator works more than once


def test_nested_no_grad_and_enable_grad():
    x = leaf([1.0])
    with no_grad():
        with no_grad():
            a = x * 2
        assert not is_grad_enabled()
        with enable_grad():
            assert is_grad_enabled()
            b = x * 2
        assert not is_grad_enabled()
        c = x * 2
    assert is_grad_enabled()
    assert a._ctx is None and c._ctx is None
    assert b.requires_grad and b._ctx is not None
    b.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0])


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert is_grad_enabled()


# ----------------------------------------------------------------------------------------------
# dtypes through every op


def _every_op(x, y, m):
    """One result per op, for inputs x, y of shape (2, 3) with positive values, m of shape (3, 2)."""
    return {
        "add": x + y, "radd": 1 + x, "sub": x - y, "rsub": 1 - x, "mul": x * y, "rmul": 2.5 * x, "div": x / y,
        "rdiv": 1 / x, "pow": x ** 2, "rpow": 2 ** x, "pow_tt": x ** y, "neg": -x, "exp": x.exp(), "log": x.log(),
        "sqrt": x.sqrt(), "abs": x.abs(), "relu": x.relu(), "sigmoid": x.sigmoid(), "tanh": x.tanh(),
        "sum": x.sum(), "mean": x.mean(axis=1), "max": x.max(axis=0).values, "min": x.min(), "matmul": x @ m,
        "reshape": x.reshape(-1), "permute": x.permute(1, 0), "T": x.T, "flatten": x.flatten(),
        "unsqueeze": x.unsqueeze(0), "squeeze": x.unsqueeze(1).squeeze(1), "getitem": x[0, ::2],
        "fancy": x[[0, 0]], "cat": Tensor.cat([x, y], axis=1), "stack": Tensor.stack([x, y]),
        "softmax": x.softmax(-1), "log_softmax": x.log_softmax(axis=0),
        "cross_entropy": x.cross_entropy([0, 2], label_smoothing=0.1),
        "conv2d": x.reshape(1, 1, 2, 3).conv2d(m.reshape(1, 1, 3, 2)[:, :, :2, :2], bias=m[0, :1]),
        "max_pool2d": x.reshape(1, 1, 2, 3).max_pool2d(2, 1),
        "avg_pool2d": x.reshape(1, 1, 2, 3).avg_pool2d(2, 1, padding=1),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_op_keeps_the_float_dtype_forward_and_backward(dtype):
    rng = np.random.default_rng(0)
    x, y = (Tensor(rng.uniform(0.5, 2, (2, 3)).astype(dtype), requires_grad=True) for _ in range(2))
    m = Tensor(rng.uniform(0.5, 2, (3, 2)).astype(dtype), requires_grad=True)
    for name, out in _every_op(x, y, m).items():
        assert out.dtype == dtype, name
        for t in (x, y, m):
            t.grad = None
        out.sum().backward()
        for t in (x, y, m):
            assert t.grad is None or t.grad.dtype == dtype, name


def test_python_scalars_do_not_upcast_float32():
    x = Tensor([1.0, 2.0], requires_grad=True)
    for out in (x * 2.5, 2.5 * x, x + 1, x / 3.0, 2 ** x, x ** 2.0, 1.0 - x, x * np.float64(2.0)):
        assert out.dtype == np.float32


def test_astype_is_differentiable():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64 and x.float() is x
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


# ----------------------------------------------------------------------------------------------
# custom Functions


class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


class ScaledProduct(Function):
    """a * b * scale, recording needs_input_grad and a ctx attribute."""

    seen = []

    @staticmethod
    def forward(ctx, a, b, scale=1.0):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return a * b * scale

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ScaledProduct.seen.append((ctx.needs_input_grad, ctx.scale))
        grad_a = grad * b * ctx.scale if ctx.needs_input_grad[0] else None
        grad_b = grad * a * ctx.scale if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


def test_custom_function_forward_and_backward():
    x = leaf([1.0, -2.0, 3.0])
    y = Square.apply(x)
    assert isinstance(y._ctx, Context) and y._ctx.function is Square
    np.testing.assert_allclose(y.numpy(), [1.0, 4.0, 9.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])
    assert gradcheck(Square.apply, [leaf([0.5, -1.5])])


def test_custom_function_needs_input_grad_and_ctx_attributes():
    ScaledProduct.seen.clear()
    a = leaf([1.0, 2.0])
    b = Tensor(np.array([3.0, 4.0]))
    y = ScaledProduct.apply(a, b, scale=10.0)
    assert y._ctx.needs_input_grad == (True, False)
    y.sum().backward()
    assert ScaledProduct.seen == [((True, False), 10.0)]
    np.testing.assert_allclose(a.grad.numpy(), [30.0, 40.0])
    assert b.grad is None


def test_custom_function_with_a_number_input_and_gradcheck():
    a = leaf([1.0, 2.0])
    y = ScaledProduct.apply(a, 3.0)  # numbers become constant tensors of a's dtype
    assert y.dtype == np.float64 and y._ctx.needs_input_grad == (True, False)
    b = leaf([[0.5], [-1.0]])
    assert gradcheck(lambda p, q: ScaledProduct.apply(p, q, scale=2.0), [a, b])


def test_custom_function_without_grad_inputs_records_nothing():
    y = Square.apply(Tensor(np.array([2.0])))
    assert not y.requires_grad and y._ctx is None


def test_custom_function_returning_the_wrong_number_of_gradients():
    class TwoForOne(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(RuntimeError, match=r"TwoForOne.backward returned 1 gradients for 2 inputs"):
        TwoForOne.apply(leaf([1.0]), leaf([2.0])).sum().backward()


def test_custom_function_returning_a_gradient_of_the_wrong_shape():
    class Transposed(Function):  # same number of elements, wrong shape: must not be reshaped away
        @staticmethod
        def forward(ctx, a):
            return a.copy()

        @staticmethod
        def backward(ctx, grad):
            return grad.T

    with pytest.raises(RuntimeError, match=r"Transposed.backward returned a gradient of shape \(3, 2\)"):
        Transposed.apply(leaf(np.ones((2, 3)))).sum().backward()


def test_custom_function_forward_must_return_an_array():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a):
            return [1, 2]

    with pytest.raises(TypeError, match="Bad.forward must return an ndarray"):
        Bad.apply(leaf([1.0]))


# ----------------------------------------------------------------------------------------------
# detect_anomaly


def test_detect_anomaly_names_the_op_in_forward():
    with detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(FloatingPointError, match="Log"):
            Tensor([-1.0]).log()


def test_detect_anomaly_names_the_op_in_backward():
    x = leaf([0.0, 4.0])
    with detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt().sum()  # finite forward, d sqrt/dx = inf at 0
        with pytest.raises(FloatingPointError, match=r"Sqrt\.backward.*inf"):
            y.backward()


def test_without_detect_anomaly_nothing_is_raised():
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(Tensor([-1.0]).log().item())
        x = leaf([0.0])
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.item())


def test_detect_anomaly_is_switched_off_after_the_block():
    with detect_anomaly():
        Tensor([1.0]).log()
    with np.errstate(invalid="ignore"):
        Tensor([-1.0]).log()


# ----------------------------------------------------------------------------------------------
# comparisons and argmax


def test_comparisons_return_bool_tensors_outside_the_graph():
    x = leaf([1.0, 2.0, 3.0])
    for out, expected in [(x > 2, [0, 0, 1]), (x >= 2, [0, 1, 1]), (x < 2, [1, 0, 0]), (x <= 2, [1, 1, 0]),
                          (x == 2, [0, 1, 0]), (x != 2, [1, 0, 1]), (x == x, [1, 1, 1]),
                          (x > Tensor([3.0, 0.0, 0.0]), [0, 1, 1])]:
        assert out.dtype == np.bool_
        assert not out.requires_grad and out._ctx is None
        np.testing.assert_array_equal(out.numpy(), np.array(expected, dtype=bool))
    with pytest.raises(ValueError, match="broadcast"):
        x > Tensor([1.0, 2.0])


def test_argmax_returns_integer_tensors_outside_the_graph():
    x = leaf([[1.0, 5.0, 3.0], [7.0, 0.0, 2.0]])
    for out, expected in [(x.argmax(), 3), (x.argmax(axis=1), [1, 0]), (x.argmax(dim=0), [1, 0, 0]),
                          (x.argmax(axis=-1, keepdims=True), [[1], [0]])]:
        assert out.dtype.kind == "i"
        assert not out.requires_grad and out._ctx is None
        np.testing.assert_array_equal(out.numpy(), expected)
