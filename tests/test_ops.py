"""Tests for the core ops: elementwise (with broadcasting), reductions, matmul, movement, indexing,
cat/stack. Every op gets a float64 gradcheck over hypothesis-drawn shapes and a forward check
against NumPy; a few get hand-computed gradients."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_cnn import Tensor
from tinygrad_cnn.testing import assert_gradcheck, broadcastable_shapes, shapes, tensors

SMALL = shapes(max_dims=3, max_side=4)  # at most 64 elements: a gradcheck stays cheap


def check(fn, reference, *inputs, atol=1e-12):
    """fn's forward matches NumPy's ``reference`` on the inputs' data, and its gradient gradchecks."""
    out = fn(*inputs)
    expected = reference(*(t.numpy() for t in inputs))
    assert out.shape == np.shape(expected)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=atol)
    if any(t.requires_grad for t in inputs):
        assert_gradcheck(fn, *inputs)


# ----------------------------------------------------------------------------------------------
# elementwise binary ops, with broadcasting across different ndims


BINARY = {
    "add": (lambda a, b: a + b, np.add, {}, {}),
    "sub": (lambda a, b: a - b, np.subtract, {}, {}),
    "mul": (lambda a, b: a * b, np.multiply, {}, {}),
    "div": (lambda a, b: a / b, np.divide, {}, {"away_from": 0.0, "margin": 0.5}),
    "pow": (lambda a, b: a ** b, np.power, {"low": 0.5, "high": 2.0}, {"low": -2.0, "high": 2.0}),
}


@pytest.mark.parametrize("name", BINARY)
@settings(max_examples=40)
@given(shape_pair=broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       grads=st.sampled_from([(True, True), (True, False), (False, True)]), data=st.data())
def test_binary_op_broadcasting(name, shape_pair, grads, data):
    fn, reference, left_args, right_args = BINARY[name]
    a = data.draw(tensors(shape_pair[0], requires_grad=grads[0], **left_args), label="a")
    b = data.draw(tensors(shape_pair[1], requires_grad=grads[1], **right_args), label="b")
    check(fn, reference, a, b)


SCALAR_OPS = {
    "x + 2.5": (lambda x: x + 2.5, {}), "2.5 + x": (lambda x: 2.5 + x, {}),
    "x - 1.5": (lambda x: x - 1.5, {}), "1.5 - x": (lambda x: 1.5 - x, {}),
    "x * -2": (lambda x: x * -2, {}), "-2.0 * x": (lambda x: -2.0 * x, {}),
    "x / 4.0": (lambda x: x / 4.0, {}), "2.0 / x": (lambda x: 2.0 / x, {"away_from": 0.0, "margin": 0.5}),
    "x ** 2": (lambda x: x ** 2, {}), "x ** 3": (lambda x: x ** 3, {}),
    "x ** 0.5": (lambda x: x ** 0.5, {"low": 0.1}), "x ** -1.5": (lambda x: x ** -1.5, {"low": 0.5}),
    "2 ** x": (lambda x: 2 ** x, {}), "0.5 ** x": (lambda x: 0.5 ** x, {}),
    "-x": (lambda x: -x, {}),
}


@pytest.mark.parametrize("name", SCALAR_OPS)
@settings(max_examples=20)
@given(data=st.data())
def test_ops_with_a_scalar_on_either_side(name, data):
    fn, domain = SCALAR_OPS[name]
    x = data.draw(tensors(SMALL, **domain))
    with np.errstate(all="raise", under="ignore"):  # no nan/inf in the domain; tiny values are fine
        expected = fn(x.numpy())
    check(fn, lambda _: expected, x)


def test_scalar_tensor_broadcasts_against_anything():
    s = Tensor(np.array(2.0), requires_grad=True)
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    check(lambda a, b: a * b + b / (a + 1), lambda a, b: a * b + b / (a + 1), s, x)


def test_binary_ops_reject_shapes_that_do_not_broadcast():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4,)))
    for op, fn in [("add", lambda: a + b), ("sub", lambda: a - b), ("mul", lambda: a * b),
                   ("div", lambda: a / b), ("pow", lambda: a ** b)]:
        with pytest.raises(ValueError, match=rf"{op}: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
            fn()


# hand-computed values


def test_derivative_of_cube_at_two_is_twelve():
    x = Tensor(np.array(2.0), requires_grad=True)
    (x ** 3).backward()
    assert x.grad.item() == pytest.approx(12.0)


def test_broadcast_gradients_are_summed():
    a = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = Tensor(np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]]), requires_grad=True)
    (a * b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [50.0, 70.0, 90.0])  # column sums of b
    np.testing.assert_allclose(b.grad.numpy(), [[1, 2, 3], [1, 2, 3]])
    c = Tensor(np.array([[1.0], [2.0]]), requires_grad=True)
    (c + b).sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), [[3.0], [3.0]])


def test_hand_computed_gradients():
    x = Tensor(np.array([1.0, 4.0]), requires_grad=True)
    y = Tensor(np.array([2.0, 0.5]), requires_grad=True)
    (x / y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 2.0])
    np.testing.assert_allclose(y.grad.numpy(), [-1.0 / 4.0, -4.0 / 0.25])
    x.grad = y.grad = None
    (x ** y).sum().backward()  # d/dy x^y = x^y ln x
    np.testing.assert_allclose(y.grad.numpy(), [0.0, 2.0 * np.log(4.0)])
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.5 * 4.0 ** -0.5])
    z = Tensor(np.array(3.0), requires_grad=True)
    (2 ** z).backward()
    assert z.grad.item() == pytest.approx(8 * np.log(2))


def test_pow_base_gradient_at_zero_base():
    b = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    e = Tensor(np.array([2.0, 2.0]), requires_grad=True)
    (b ** e).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), [0.0, 0.0])  # d/de 0^e := 0, 1^e ln 1 = 0
    np.testing.assert_allclose(b.grad.numpy(), [0.0, 2.0])


# ----------------------------------------------------------------------------------------------
# elementwise unary ops


UNARY = {
    "exp": (Tensor.exp, np.exp, {}),
    "log": (Tensor.log, np.log, {"low": 0.1}),
    "sqrt": (Tensor.sqrt, np.sqrt, {"low": 0.1}),
    "relu": (Tensor.relu, lambda a: np.maximum(a, 0), {"away_from": 0.0}),
    "sigmoid": (Tensor.sigmoid, lambda a: 1 / (1 + np.exp(-a)), {"low": -8.0, "high": 8.0}),
    "tanh": (Tensor.tanh, np.tanh, {}),
    "abs": (Tensor.abs, np.abs, {"away_from": 0.0}),
    "neg": (Tensor.__neg__, np.negative, {}),
}


@pytest.mark.parametrize("name", UNARY)
@settings(max_examples=25)
@given(data=st.data())
def test_unary_op(name, data):
    fn, reference, domain = UNARY[name]
    check(fn, reference, data.draw(tensors(SMALL, **domain)))


def test_unary_hand_computed_gradients():
    x = Tensor(np.array([-2.0, 0.5, 3.0]), requires_grad=True)
    for fn, expected in [(Tensor.relu, [0, 1, 1]), (Tensor.abs, [-1, 1, 1]),
                         (Tensor.sigmoid, [np.exp(2) / (1 + np.exp(2)) ** 2, 0.2350037122015945, 0.045176659730912]),
                         (Tensor.tanh, 1 - np.tanh([-2.0, 0.5, 3.0]) ** 2)]:
        x.grad = None
        fn(x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_sigmoid_saturates_without_overflow():
    x = Tensor(np.array([-1000.0, 0.0, 1000.0]), requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        y = x.sigmoid()
        y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.25, 0.0])


# ----------------------------------------------------------------------------------------------
# reductions


@st.composite
def axis_args(draw, ndim):
    """An axis argument for a tensor of ``ndim`` axes: None, an int (maybe negative) or a tuple."""
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin"])
@settings(max_examples=40)
@given(data=st.data(), keepdims=st.booleans())
def test_reduction(name, data, keepdims):
    x = data.draw(tensors(SMALL, unique=name in ("amax", "amin")), label="x")
    axis = data.draw(axis_args(x.ndim), label="axis")
    reference = {"sum": np.sum, "mean": np.mean, "amax": np.max, "amin": np.min}[name]
    dim = () if axis is None and name in ("amax", "amin") else axis
    check(lambda t: getattr(t, name)(dim, keepdims),
          lambda a: reference(a, axis=axis, keepdims=keepdims), x)


def test_reduction_dim_keyword_and_values():
    x = Tensor(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), requires_grad=True)
    np.testing.assert_array_equal(x.sum(dim=1).numpy(), [9.0, 12.0])
    np.testing.assert_array_equal(x.max(dim=0).values.numpy(), [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(x.max(dim=0)[1].numpy(), [1, 0, 1])
    np.testing.assert_array_equal(x.mean(axis=(0, 1), keepdims=True).numpy(), [[3.5]])
    x.mean().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 1 / 6))
    x.grad = None
    x.max(axis=1)[0].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [0, 0, 1]])


def test_max_splits_the_gradient_among_ties():
    x = Tensor(np.array([1.0, 3.0, 3.0, 2.0]), requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.5, 0.5, 0.0])


def test_reduction_axis_errors():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(IndexError, match="sum: dimension out of range"):
        x.sum(axis=2)
    with pytest.raises(RuntimeError, match="amax: dim .* repeats"):
        x.amax((1, -1))
    with pytest.raises(TypeError, match="max: dim must be a single int"):
        x.max(dim=(0, 1))
    with pytest.raises(TypeError, match="mean: dim must be an int"):
        x.mean(axis=1.0)
    with pytest.raises(TypeError, match="dim or axis"):
        x.sum(axis=0, dim=1)


# ----------------------------------------------------------------------------------------------
# matmul


@st.composite
def matmul_shapes(draw):
    """Shapes of a @ b: 1-D, 2-D or batched with batch axes that broadcast."""
    n, k, m = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    batch_a, batch_b = draw(broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3))
    a = (k,) if draw(st.booleans()) else batch_a + (n, k)
    b = (k,) if draw(st.booleans()) else batch_b + (k, m)
    return a, b


@settings(max_examples=40)
@given(matmul_shapes(), st.data())
def test_matmul(shapes_ab, data):
    a = data.draw(tensors(shapes_ab[0]), label="a")
    b = data.draw(tensors(shapes_ab[1]), label="b")
    check(lambda p, q: p @ q, np.matmul, a, b, atol=1e-12)
    check(lambda p, q: p.matmul(q), np.matmul, a, b.detach())


def test_matmul_hand_computed():
    a = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    v = Tensor(np.array([5.0, 6.0]), requires_grad=True)
    out = a @ v
    np.testing.assert_array_equal(out.numpy(), [17.0, 39.0])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[5.0, 6.0], [5.0, 6.0]])
    np.testing.assert_array_equal(v.grad.numpy(), [4.0, 6.0])
    assert (np.ones(2) @ a).shape == (2,)  # ndarray @ Tensor goes to Tensor.__rmatmul__


def test_matmul_errors():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(2, 3\) do not fit"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="matmul: both operands need at least 1 dimension"):
        Tensor(np.ones(3)) @ Tensor(np.array(2.0))
    with pytest.raises(ValueError, match="matmul: batch axes"):
        Tensor(np.ones((2, 1, 3))) @ Tensor(np.ones((3, 3, 1)))


# ----------------------------------------------------------------------------------------------
# movement ops


@st.composite
def reshape_targets(draw, shape):
    """A target shape for a reshape of ``shape``: its reverse plus some 1s, one entry maybe -1."""
    target = list(reversed(shape))
    for _ in range(draw(st.integers(0, 2))):
        target.insert(draw(st.integers(0, len(target))), 1)
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return tuple(target)


@settings(max_examples=30)
@given(st.data())
def test_reshape(data):
    x = data.draw(tensors(SMALL), label="x")
    target = data.draw(reshape_targets(x.shape), label="target")
    check(lambda t: t.reshape(*target), lambda a: a.reshape(target), x)
    check(lambda t: t.view(target), lambda a: a.reshape(target), x)
    check(lambda t: t.reshape(-1), lambda a: a.reshape(-1), x)


def test_reshape_errors():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match="only one dimension can be -1"):
        x.reshape(-1, -1)
    with pytest.raises(ValueError, match="reshape"):
        x.reshape(4, -1)


@settings(max_examples=30)
@given(st.data())
def test_permute_transpose_and_T(data):
    x = data.draw(tensors(SMALL), label="x")
    nd = x.ndim
    perm = data.draw(st.permutations(range(nd)), label="perm")
    perm = tuple(p - nd if data.draw(st.booleans()) else p for p in perm)
    check(lambda t: t.permute(*perm), lambda a: a.transpose([p % nd for p in perm]) if nd else a, x)
    check(lambda t: t.T, lambda a: a.T, x)
    if nd:
        d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
        check(lambda t: t.transpose(d0, d1), lambda a: np.swapaxes(a, d0, d1), x)


def test_permute_errors():
    x = Tensor(np.ones((2, 3)))
    for axes, error, words in [((0,), RuntimeError, "number of dims"), ((0, 0), RuntimeError, "dim repeated"),
                               ((0, 2), IndexError, "out of range"), ((0, -3), IndexError, "out of range"),
                               ((1, 0, 2), RuntimeError, "number of dims")]:  # torch's error types
        with pytest.raises(error, match=f"permute: .*{words}"):
            x.permute(*axes)


@settings(max_examples=30)
@given(st.data())
def test_flatten(data):
    x = data.draw(tensors(shapes(min_dims=1, max_dims=4, max_side=3)), label="x")
    nd = x.ndim
    start = data.draw(st.integers(0, nd - 1), label="start")
    end = data.draw(st.integers(start, nd - 1), label="end")
    start_arg = start - nd if data.draw(st.booleans()) else start
    end_arg = end - nd if data.draw(st.booleans()) else end
    expected_shape = x.shape[:start] + (int(np.prod(x.shape[start:end + 1])),) + x.shape[end + 1:]
    check(lambda t: t.flatten(start_arg, end_arg), lambda a: a.reshape(expected_shape), x)
    check(lambda t: t.flatten(), lambda a: a.reshape(-1), x)


def test_flatten_values_and_errors():
    assert Tensor(np.ones((2, 3, 4, 5))).flatten(1).shape == (2, 60)
    assert Tensor(np.ones((2, 3, 4, 5))).flatten(1, 2).shape == (2, 12, 5)
    assert Tensor(np.array(1.0)).flatten().shape == (1,)
    with pytest.raises(ValueError, match="flatten: start_dim"):
        Tensor(np.ones((2, 3, 4))).flatten(2, 1)


@settings(max_examples=30)
@given(st.data())
def test_unsqueeze_and_squeeze(data):
    x = data.draw(tensors(shapes(max_dims=3, max_side=2)), label="x")
    dim = data.draw(st.integers(-x.ndim - 1, x.ndim), label="dim")
    check(lambda t: t.unsqueeze(dim), lambda a: np.expand_dims(a, dim), x)
    check(lambda t: t.squeeze(), np.squeeze, x)
    if x.ndim:
        d = data.draw(st.integers(-x.ndim, x.ndim - 1), label="squeeze dim")
        expected = np.squeeze(x.numpy(), d) if x.shape[d] == 1 else x.numpy()  # PyTorch: no-op if not 1
        check(lambda t: t.squeeze(d), lambda a: expected, x)


# ----------------------------------------------------------------------------------------------
# indexing


@st.composite
def advanced_indices(draw, shape):
    """An index with an integer array (repeats and negatives allowed) or a bool mask in it."""
    kind = draw(st.sampled_from(["int_array", "int_arrays_all_axes", "bool_mask", "bool_mask_first_axis", "mixed"]))
    if kind == "int_array":  # along axis 0, as a list or an ndarray
        idx = draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=5))
        return idx if draw(st.booleans()) else np.array(idx)
    if kind == "int_arrays_all_axes":
        return draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=3)))
    if kind == "bool_mask":
        return draw(hnp.arrays(np.bool_, shape))
    if kind == "bool_mask_first_axis":
        return draw(hnp.arrays(np.bool_, shape[:1]))
    # a slice with a step, then an integer array with repeats on the second axis
    if len(shape) < 2:
        return (slice(None, None, -1),)
    idx = draw(st.lists(st.integers(-shape[1], shape[1] - 1), min_size=1, max_size=4))
    return (slice(None, None, draw(st.sampled_from([1, 2, -1]))), np.array(idx))


@settings(max_examples=40)
@given(st.data())
def test_getitem_basic(data):
    x = data.draw(tensors(shapes(min_dims=1, max_dims=3, max_side=4)), label="x")
    index = data.draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True), label="index")
    check(lambda t: t[index], lambda a: a[index], x)


@settings(max_examples=40)
@given(st.data())
def test_getitem_advanced(data):
    x = data.draw(tensors(shapes(min_dims=1, max_dims=3, max_side=4)), label="x")
    index = data.draw(advanced_indices(x.shape), label="index")
    check(lambda t: t[index], lambda a: a[index], x)


def test_getitem_hand_computed():
    x = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    np.testing.assert_array_equal(x[1].numpy(), [4, 5, 6, 7])
    np.testing.assert_array_equal(x[-1, ::-2].numpy(), [11, 9])
    np.testing.assert_array_equal(x[:, 1:3].numpy(), [[1, 2], [5, 6], [9, 10]])
    np.testing.assert_array_equal(x[x > 8].numpy(), [9, 10, 11])  # a bool Tensor as the mask
    assert x[1, 2].shape == () and x[1, 2].item() == 6
    x[[0, 0, 2, -1]].sum().backward()  # repeated rows: their gradients add up
    np.testing.assert_array_equal(x.grad.numpy(), [[2] * 4, [0] * 4, [2] * 4])
    x.grad = None
    x[Tensor(np.array([1, 1, 1])), Tensor(np.array([0, 0, 3]))].sum().backward()
    expected = np.zeros((3, 4))
    expected[1, 0], expected[1, 3] = 2, 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_getitem_errors():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(IndexError, match=r"invalid for a tensor of shape \(2, 3\)"):
        x[2]
    with pytest.raises(IndexError, match="invalid"):
        x[:, [0, 3]]
    with pytest.raises(TypeError, match="float"):
        x[1.0]
    with pytest.raises(TypeError, match="integer or bool"):
        x[np.array([0.0, 1.0])]


def test_iteration_and_len():
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 == len(x)
    sum(r.sum() for r in rows).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((3, 2)))


# ----------------------------------------------------------------------------------------------
# cat and stack


@settings(max_examples=30)
@given(st.data())
def test_cat(data):
    base = data.draw(shapes(min_dims=1, max_dims=3, max_side=3), label="base shape")
    nd = len(base)
    axis = data.draw(st.integers(-nd, nd - 1), label="axis")
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3), label="sizes")
    parts = [data.draw(tensors(base[:axis % nd] + (s,) + base[axis % nd + 1:]), label=f"part{i}")
             for i, s in enumerate(sizes)]
    check(lambda *ts: Tensor.cat(ts, axis=axis), lambda *arrays: np.concatenate(arrays, axis=axis), *parts)
    check(lambda *ts: Tensor.cat(list(ts), dim=axis), lambda *arrays: np.concatenate(arrays, axis=axis), *parts)


@settings(max_examples=30)
@given(st.data())
def test_stack(data):
    shape = data.draw(shapes(max_dims=3, max_side=3), label="shape")
    count = data.draw(st.integers(1, 3), label="count")
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    parts = [data.draw(tensors(shape), label=f"part{i}") for i in range(count)]
    check(lambda *ts: Tensor.stack(ts, axis=axis), lambda *arrays: np.stack(arrays, axis=axis), *parts)


def test_cat_hand_computed_and_errors():
    a = Tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    b = Tensor(np.array([[3.0, 4.0], [5.0, 6.0]]), requires_grad=True)
    out = Tensor.cat([a, b], axis=-2)
    np.testing.assert_array_equal(out.numpy(), [[1, 2], [3, 4], [5, 6]])
    (out * Tensor(np.array([[1.0], [2.0], [3.0]]))).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[1, 1]])
    np.testing.assert_array_equal(b.grad.numpy(), [[2, 2], [3, 3]])
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2, 2\)"):
        Tensor.cat([a, b], axis=1)
    with pytest.raises(ValueError, match="cat: needs at least one tensor"):
        Tensor.cat([])
    with pytest.raises(ValueError, match="stack: needs at least one tensor"):
        Tensor.stack([])


def test_cat_with_a_constant_and_mixed_grads():
    a = Tensor(np.ones(2), requires_grad=True)
    out = Tensor.cat([a, np.zeros(3), a * 2])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])


# ----------------------------------------------------------------------------------------------
# a composite, end to end


@settings(max_examples=15)
@given(tensors((3, 4)), tensors((4, 2)), tensors((2,)))
def test_composite_mlp_gradcheck(x, w, b):
    assert_gradcheck(lambda x, w, b: ((x @ w + b).tanh() ** 2).mean(axis=0).sum(), x, w, b)
