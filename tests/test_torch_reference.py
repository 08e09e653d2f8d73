"""Every op against PyTorch (skipped when torch is not installed; it is not a dependency).

On random float64 inputs of hypothesis-drawn shapes, the forward value and the gradient of
sum(out * g) for a random upstream gradient g must agree with torch's to 1e-6 relative.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

from tinygrad_cnn import Tensor  # noqa: E402
from tinygrad_cnn.testing import arrays, broadcastable_shapes, conv_args, pool_args, shapes  # noqa: E402

RTOL, ATOL = 1e-6, 1e-9
SMALL = shapes(max_dims=3, max_side=4)


def compare(data, ours, theirs, *inputs, exact=False):
    """ours(*Tensors) and theirs(*torch tensors) agree in value and in the gradient of every input
    (all inputs require grad) for a random upstream gradient drawn from ``data``."""
    mine = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in inputs]
    ref = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in inputs]
    out, expected = ours(*mine), theirs(*ref)
    assert out.shape == tuple(expected.shape)
    assert out.dtype == np.float64
    check = np.testing.assert_array_equal if exact else lambda a, b: np.testing.assert_allclose(a, b, RTOL, ATOL)
    check(out.numpy(), expected.detach().numpy())
    if exact:  # small integers: sums of them are exact in any order
        upstream = data.draw(arrays(out.shape, unique=False).map(np.round), label="upstream gradient")
    else:
        upstream = data.draw(arrays(out.shape), label="upstream gradient")
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    for i, (m, r) in enumerate(zip(mine, ref)):
        expected_grad = np.zeros(m.shape) if r.grad is None else r.grad.numpy()  # torch: None = no dependence
        got = np.zeros(m.shape) if m.grad is None else m.grad.numpy()
        check(got, expected_grad)


def torch_axes(axis, ndim):
    """Our axis=None means every axis; torch spells that as a tuple."""
    return tuple(range(ndim)) if axis is None else axis


# ----------------------------------------------------------------------------------------------
# elementwise


BINARY = {
    "add": (lambda a, b: a + b, {}, {}),
    "sub": (lambda a, b: a - b, {}, {}),
    "mul": (lambda a, b: a * b, {}, {}),
    "div": (lambda a, b: a / b, {}, {"away_from": 0.0, "margin": 0.5}),
    "pow": (lambda a, b: a ** b, {"low": 0.5, "high": 2.0}, {"low": -2.0, "high": 2.0}),
}


@pytest.mark.parametrize("name", BINARY)
@settings(max_examples=20)
@given(shape_pair=broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), data=st.data())
def test_binary(name, shape_pair, data):
    fn, left, right = BINARY[name]
    a = data.draw(arrays(shape_pair[0], **left), label="a")
    b = data.draw(arrays(shape_pair[1], **right), label="b")
    compare(data, fn, fn, a, b)


SCALAR = {
    "x + 2.5": (lambda x: x + 2.5, {}), "1.5 - x": (lambda x: 1.5 - x, {}), "-2.0 * x": (lambda x: -2.0 * x, {}),
    "2.0 / x": (lambda x: 2.0 / x, {"away_from": 0.0, "margin": 0.5}), "x ** 3": (lambda x: x ** 3, {}),
    "x ** -1.5": (lambda x: x ** -1.5, {"low": 0.5}), "2 ** x": (lambda x: 2 ** x, {}), "-x": (lambda x: -x, {}),
}


@pytest.mark.parametrize("name", SCALAR)
@settings(max_examples=10)
@given(data=st.data())
def test_scalar_ops(name, data):
    fn, domain = SCALAR[name]
    compare(data, fn, fn, data.draw(arrays(SMALL, **domain), label="x"))


UNARY = {
    "exp": (Tensor.exp, torch.exp, {}),
    "log": (Tensor.log, torch.log, {"low": 0.1}),
    "sqrt": (Tensor.sqrt, torch.sqrt, {"low": 0.1}),
    "relu": (Tensor.relu, torch.relu, {"away_from": 0.0}),
    "sigmoid": (Tensor.sigmoid, torch.sigmoid, {"low": -10.0, "high": 10.0}),
    "tanh": (Tensor.tanh, torch.tanh, {}),
    "abs": (Tensor.abs, torch.abs, {"away_from": 0.0}),
}


@pytest.mark.parametrize("name", UNARY)
@settings(max_examples=15)
@given(data=st.data())
def test_unary(name, data):
    ours, theirs, domain = UNARY[name]
    compare(data, ours, theirs, data.draw(arrays(SMALL, **domain), label="x"))


def test_relu_and_abs_gradients_at_zero_match_torch():
    x = np.array([-1.0, 0.0, 2.0])
    for ours, theirs in [(Tensor.relu, torch.relu), (Tensor.abs, torch.abs)]:
        t, r = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours(t).sum().backward()
        theirs(r).sum().backward()
        np.testing.assert_array_equal(t.grad.numpy(), r.grad.numpy())


# ----------------------------------------------------------------------------------------------
# reductions


@st.composite
def axis_args(draw, ndim):
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


REDUCTIONS = {"sum": torch.sum, "mean": torch.mean, "amax": torch.amax, "amin": torch.amin}


@pytest.mark.parametrize("name", REDUCTIONS)
@settings(max_examples=25)
@given(data=st.data(), keepdims=st.booleans())
def test_reduction(name, data, keepdims):
    x = data.draw(arrays(SMALL, unique=name in ("amax", "amin")), label="x")
    axis = data.draw(axis_args(x.ndim), label="axis")
    theirs = REDUCTIONS[name]
    if x.ndim == 0:
        compare(data, lambda t: getattr(t, name)(), theirs, x)
    else:
        ours_axis = () if axis is None and name in ("amax", "amin") else axis
        compare(data, lambda t: getattr(t, name)(ours_axis, keepdims),
                lambda r: theirs(r, dim=torch_axes(axis, x.ndim), keepdim=keepdims), x)


@settings(max_examples=15)
@given(data=st.data(), keepdims=st.booleans())
def test_max_over_one_dim_matches_torch_max_values(data, keepdims):
    x = data.draw(arrays(shapes(min_dims=1, max_dims=3, max_side=4), unique=True), label="x")
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    compare(data, lambda t: t.max(dim=dim, keepdims=keepdims).values,
            lambda r: torch.max(r, dim=dim, keepdim=keepdims).values, x)


def test_max_with_ties_matches_amax():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    for axis in (None, 1, 0):
        t, r = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        t.amax(() if axis is None else axis).sum().backward()
        torch.amax(r, dim=torch_axes(axis, 2)).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), rtol=1e-15)


def test_max_with_ties_over_a_dim_sends_the_gradient_to_the_returned_index():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    for dim in (1, 0):
        t, r = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        values, indices = t.max(dim)
        ref_values, ref_indices = r.max(dim)
        np.testing.assert_array_equal(indices.numpy(), ref_indices.numpy())
        values.sum().backward()
        ref_values.sum().backward()
        np.testing.assert_array_equal(t.grad.numpy(), r.grad.numpy())
    whole = Tensor(x, requires_grad=True)
    whole.max().backward()  # max() of everything: ties share the gradient, as torch.max(x) does
    ref = torch.tensor(x, requires_grad=True)
    ref.max().backward()
    np.testing.assert_array_equal(whole.grad.numpy(), ref.grad.numpy())


# ----------------------------------------------------------------------------------------------
# matmul


@st.composite
def matmul_shapes(draw):
    n, k, m = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    batch_a, batch_b = draw(broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3))
    a = (k,) if draw(st.booleans()) else batch_a + (n, k)
    b = (k,) if draw(st.booleans()) else batch_b + (k, m)
    return a, b


@settings(max_examples=40)
@given(matmul_shapes(), st.data())
def test_matmul(shapes_ab, data):
    a = data.draw(arrays(shapes_ab[0]), label="a")
    b = data.draw(arrays(shapes_ab[1]), label="b")
    compare(data, lambda p, q: p @ q, torch.matmul, a, b)


# ----------------------------------------------------------------------------------------------
# movement


@settings(max_examples=25)
@given(st.data())
def test_reshape_permute_transpose(data):
    x = data.draw(arrays(SMALL), label="x")
    nd = x.ndim
    target = tuple(reversed(x.shape)) + (1,)
    compare(data, lambda t: t.reshape(*target), lambda r: r.reshape(target), x)
    compare(data, lambda t: t.reshape(-1), lambda r: r.reshape(-1), x)
    perm = data.draw(st.permutations(range(nd)), label="perm")
    compare(data, lambda t: t.permute(*perm), lambda r: r.permute(tuple(perm)), x)
    compare(data, lambda t: t.T, lambda r: r.permute(tuple(reversed(range(nd)))), x)
    if nd:
        d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
        compare(data, lambda t: t.transpose(d0, d1), lambda r: r.transpose(d0, d1), x)


@settings(max_examples=25)
@given(st.data())
def test_flatten_unsqueeze_squeeze(data):
    x = data.draw(arrays(shapes(min_dims=1, max_dims=3, max_side=3)), label="x")
    nd = x.ndim
    start = data.draw(st.integers(-nd, nd - 1), label="start")
    end = data.draw(st.integers(start % nd, nd - 1), label="end")
    compare(data, lambda t: t.flatten(start, end), lambda r: r.flatten(start, end), x)
    dim = data.draw(st.integers(-nd - 1, nd), label="unsqueeze dim")
    compare(data, lambda t: t.unsqueeze(dim), lambda r: r.unsqueeze(dim), x)
    compare(data, lambda t: t.squeeze(), lambda r: r.squeeze(), x)
    d = data.draw(st.integers(-nd, nd - 1), label="squeeze dim")
    compare(data, lambda t: t.squeeze(d), lambda r: r.squeeze(d), x)


@st.composite
def torch_compatible_indices(draw, shape):
    """Indices that mean the same in NumPy and torch: ints, slices with positive steps, None,
    Ellipsis, integer arrays (repeats, negatives) and bool masks."""
    kind = draw(st.sampled_from(["basic", "int_array", "int_arrays_all_axes", "slice_and_array", "bool_mask",
                                 "bool_first_axis"]))
    if kind == "basic":
        parts = []
        for n in shape[:draw(st.integers(0, len(shape)))]:
            choice = draw(st.sampled_from(["int", "slice", "slice", "none"]))
            if choice == "int":
                parts.append(draw(st.integers(-n, n - 1)))
            elif choice == "slice":
                bound = st.none() | st.integers(-n - 1, n + 1)
                parts.append(slice(draw(bound), draw(bound), draw(st.none() | st.integers(1, 3))))
            else:
                parts.append(None)
        if draw(st.booleans()):
            parts.insert(draw(st.integers(0, len(parts))), Ellipsis)
        return tuple(parts)
    if kind == "int_array":
        return np.array(draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=5)))
    if kind == "int_arrays_all_axes":
        length = draw(st.integers(1, 4))
        return tuple(np.array(draw(st.lists(st.integers(-n, n - 1), min_size=length, max_size=length))) for n in shape)
    if kind == "slice_and_array" and len(shape) >= 2:
        idx = np.array(draw(st.lists(st.integers(-shape[1], shape[1] - 1), min_size=1, max_size=4)))
        return (slice(None, None, draw(st.integers(1, 2))), idx)
    mask_shape = shape if kind == "bool_mask" else shape[:1]
    return draw(arrays(mask_shape)) > 0


def _to_torch_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    converted = tuple(torch.from_numpy(p) if isinstance(p, np.ndarray) else p for p in parts)
    return converted if isinstance(index, tuple) else converted[0]


@settings(max_examples=50)
@given(st.data())
def test_getitem(data):
    x = data.draw(arrays(shapes(min_dims=1, max_dims=3, max_side=4)), label="x")
    index = data.draw(torch_compatible_indices(x.shape), label="index")
    compare(data, lambda t: t[index], lambda r: r[_to_torch_index(index)], x)


@settings(max_examples=25)
@given(st.data())
def test_cat_and_stack(data):
    base = data.draw(shapes(min_dims=1, max_dims=3, max_side=3), label="base")
    nd = len(base)
    axis = data.draw(st.integers(-nd, nd - 1), label="axis")
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3), label="sizes")
    parts = [data.draw(arrays(base[:axis % nd] + (s,) + base[axis % nd + 1:])) for s in sizes]
    compare(data, lambda *ts: Tensor.cat(ts, axis=axis), lambda *rs: torch.cat(rs, dim=axis), *parts)
    same = [data.draw(arrays(base)) for _ in sizes]
    stack_axis = data.draw(st.integers(-nd - 1, nd), label="stack axis")
    compare(data, lambda *ts: Tensor.stack(ts, axis=stack_axis), lambda *rs: torch.stack(rs, dim=stack_axis), *same)


# ----------------------------------------------------------------------------------------------
# softmax, log_softmax, cross_entropy


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@settings(max_examples=20)
@given(data=st.data())
def test_softmax(name, data):
    x = data.draw(arrays(shapes(min_dims=1, max_dims=3, max_side=4), low=-10.0, high=10.0), label="x")
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    compare(data, lambda t: getattr(t, name)(axis=axis), lambda r: getattr(torch, name)(r, dim=axis), x)


def test_softmax_with_huge_logits():
    x = np.array([[1000.0, 0.0, -1000.0], [5e3, 5e3, 1.0]])
    for name in ("softmax", "log_softmax"):
        t, r = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, expected = getattr(t, name)(axis=1), getattr(torch, name)(r, dim=1)
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), RTOL, ATOL)
        g = np.arange(6.0).reshape(2, 3)
        out.backward(g)
        expected.backward(torch.from_numpy(g))
        np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), RTOL, ATOL)


@settings(max_examples=40)
@given(st.data(), st.sampled_from(["mean", "sum", "none"]), st.sampled_from([0.0, 0.1, 0.35, 1.0]))
def test_cross_entropy(data, reduction, smoothing):
    n, c = data.draw(st.integers(1, 5), label="N"), data.draw(st.integers(1, 6), label="C")
    logits = data.draw(arrays((n, c), low=-6.0, high=6.0), label="logits")
    target = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n), label="target"))
    compare(data, lambda t: t.cross_entropy(target, reduction=reduction, label_smoothing=smoothing),
            lambda r: F.cross_entropy(r, torch.from_numpy(target), reduction=reduction, label_smoothing=smoothing),
            logits)


# ----------------------------------------------------------------------------------------------
# conv2d and pooling


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@settings(max_examples=40)
@given(conv_args(max_batch=2, max_channels_per_group=3, max_groups=3, max_kernel=5, max_stride=3, max_padding=2,
                 max_extra=4), st.data())
def test_conv2d(args, data):
    inputs = [data.draw(arrays(args.input_shape), label="x"), data.draw(arrays(args.weight_shape), label="w")]
    if args.bias:
        inputs.append(data.draw(arrays(args.bias_shape), label="b"))
    torch_kwargs = dict(args.kwargs)
    compare(data, lambda x, w, b=None: x.conv2d(w, b, **args.kwargs),
            lambda x, w, b=None: F.conv2d(x, w, b, **torch_kwargs), *inputs)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("kernel, dilation", [((2, 2), 1), ((4, 3), (1, 2)), ((2, 5), (3, 1)), ((1, 4), 2)])
def test_conv2d_same_padding_with_even_kernels(kernel, dilation):
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((4, 3) + kernel), rng.standard_normal(4)
    mine = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    ref = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = mine[0].conv2d(mine[1], mine[2], padding="same", dilation=dilation)
    expected = F.conv2d(*ref, padding="same", dilation=dilation)
    assert out.shape == tuple(expected.shape) == (2, 4, 6, 7)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), RTOL, ATOL)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.from_numpy(g))
    for m, r in zip(mine, ref):
        np.testing.assert_allclose(m.grad.numpy(), r.grad.numpy(), RTOL, 1e-8)


def test_conv2d_mnist_sized_batch():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((32, 4, 28, 28)), rng.standard_normal((8, 4, 5, 5)), rng.standard_normal(8)
    mine = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    ref = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out, expected = mine[0].conv2d(mine[1], mine[2], padding=2), F.conv2d(*ref, padding=2)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), RTOL, ATOL)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.from_numpy(g))
    for m, r in zip(mine, ref):
        np.testing.assert_allclose(m.grad.numpy(), r.grad.numpy(), RTOL, 1e-8)


@pytest.mark.parametrize("kind", ["max", "avg"])
@settings(max_examples=30)
@given(pool_args(max_kernel=4, max_stride=4, max_extra=6), st.data())
def test_pool(kind, args, data):
    x = data.draw(arrays(args.input_shape, unique=kind == "max"), label="x")
    kernel, stride, padding = args.kernel_size, args.stride, args.padding
    theirs = F.max_pool2d if kind == "max" else F.avg_pool2d
    compare(data, lambda t: getattr(t, f"{kind}_pool2d")(kernel, stride, padding),
            lambda r: theirs(r, kernel, stride, padding), x)


@settings(max_examples=30)
@given(pool_args(max_kernel=4, max_stride=3, max_extra=5), st.data())
def test_max_pool_with_ties_matches_torch_exactly(args, data):
    # values from {0, 1, 2}: most windows hold tied maxima; torch sends the gradient to the first
    x = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.0]), min_size=int(np.prod(args.input_shape)),
                                    max_size=int(np.prod(args.input_shape))), label="x")).reshape(args.input_shape)
    compare(data, lambda t: t.max_pool2d(**args.kwargs),
            lambda r: F.max_pool2d(r, args.kernel_size, args.stride, args.padding), x, exact=True)


def test_max_pool_all_zero_ties_match_torch():
    x = np.zeros((1, 1, 4, 4))
    t, r = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    t.max_pool2d(2, 1).sum().backward()
    F.max_pool2d(r, 2, 1).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), r.grad.numpy())
