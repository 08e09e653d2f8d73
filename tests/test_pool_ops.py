"""Tests for ops/pad.py, ops/adaptive_pool.py and one_hot (ops/embedding.py): pad (every mode),
adaptive average and max pooling (1-D and 2-D), one_hot.

Gradients: float64 gradchecks over hypothesis-drawn shapes, pads (negative and asymmetric ones
included) and output sizes (dividing the input or not, larger than it, None entries). Forward
values: slow references written here (NumPy's np.pad, one bin at a time), and hand-computed cases.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_cnn import Tensor
from tinygrad_cnn.nn.functional import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    one_hot,
    pad,
)
from tinygrad_cnn.testing import arrays, assert_gradcheck, tensors

MODES = ("constant", "reflect", "replicate", "circular")


# ----------------------------------------------------------------------------------------------
# strategies and slow references


def valid_pad(mode, size, left, right):
    """torch's rules for one padded dimension."""
    out, kept = size + left + right, size - max(0, -left) - max(0, -right)
    if mode == "constant":
        return kept >= 0
    if mode == "reflect":
        return left < size and right < size and out >= 1
    if mode == "replicate":
        return out >= 1
    return out >= 0 and max(left, right, 0) <= (kept if out else size)  # wraps at most once


@st.composite
def pad_cases(draw, modes=MODES):
    """(shape, pad, mode): a valid torch pad call with small sides; 4-D and 5-D inputs smaller still."""
    mode = draw(st.sampled_from(modes))
    if mode == "constant":
        ndim = draw(st.integers(1, 4))
        k = draw(st.integers(0, ndim))
    else:
        k = draw(st.integers(1, 3))
        ndim = k + draw(st.integers(1, 2))
    side = {1: 5, 2: 4, 3: 4, 4: 3}.get(ndim, 2)
    shape = tuple(draw(st.integers(1, side)) for _ in range(ndim))
    widths = []
    for axis in range(ndim - 1, ndim - 1 - k, -1):  # last dimension first, as torch
        widths += draw_widths(draw, mode, shape[axis])
    return shape, tuple(widths), mode


def draw_widths(draw, mode, size):
    """(left, right) valid for ``mode`` on a dimension of ``size``: crops, asymmetric pads, and pads
    as large as the mode allows."""
    if mode in ("constant", "circular"):  # crops at most the whole input; circular pads at most what is kept
        high = size + 1 if mode == "constant" else size
        left = draw(st.integers(-size, high))
        kept = size - max(0, -left)
        right = draw(st.integers(-kept, high if mode == "constant" else kept))
        kept -= max(0, -right)
        widths = (left, right) if mode == "constant" else (min(left, kept), right)
    else:  # reflect and replicate leave an element; their pads may exceed a crop on the other side
        low, high = -size - 2, (size - 1 if mode == "reflect" else size + 1)
        left = draw(st.integers(max(low, 1 - size - high), high))
        widths = (left, draw(st.integers(max(low, 1 - size - left), high)))
    assert valid_pad(mode, size, *widths)
    return widths


def pad_reference(x, widths, mode, value=0.0):
    """np.pad of the positive widths, then cropping of the negative ones (torch's constant, reflect
    and replicate); circular crops first and then wraps what is left, as torch does."""
    pairs = [(0, 0)] * x.ndim
    for i in range(len(widths) // 2):
        pairs[x.ndim - 1 - i] = (widths[2 * i], widths[2 * i + 1])
    crop = tuple(slice(max(0, -left), x.shape[a] + min(0, right)) for a, (left, right) in enumerate(pairs))
    grow = [(max(0, left), max(0, right)) for left, right in pairs]
    if mode == "circular":
        return np.pad(x[crop], grow, mode="wrap")
    kwargs = {"constant_values": value} if mode == "constant" else {}
    padded = np.pad(x, grow, mode={"constant": "constant", "reflect": "reflect", "replicate": "edge"}[mode], **kwargs)
    cut = tuple(slice(max(0, -left), padded.shape[a] + min(0, right)) for a, (left, right) in enumerate(pairs))
    return padded[cut]


def bins(size, count):
    return [(i * size // count, -(-(i + 1) * size // count)) for i in range(count)]


def adaptive_reference(x, out_hw, kind):
    """One bin at a time over the last two axes: mean or max, and the flat index of the first max."""
    h, w = x.shape[-2:]
    oh, ow = out_hw
    values = np.zeros(x.shape[:-2] + (oh, ow))
    index = np.zeros(x.shape[:-2] + (oh, ow), dtype=np.int64)
    for i, (hs, he) in enumerate(bins(h, oh)):
        for j, (ws, we) in enumerate(bins(w, ow)):
            block = x[..., hs:he, ws:we]
            flat = block.reshape(block.shape[:-2] + (-1,))
            if kind == "avg":
                values[..., i, j] = flat.mean(axis=-1)
            else:
                values[..., i, j] = flat.max(axis=-1)
                arg = flat.argmax(axis=-1)
                index[..., i, j] = (hs + arg // (we - ws)) * w + ws + arg % (we - ws)
    return values, index


@st.composite
def adaptive_cases(draw, dims=2, min_out=1, max_side=6):
    """(input shape, output_size): batched or not, output sizes that divide the input or not,
    larger than it, and (2-D) None entries."""
    shape = ((draw(st.integers(1, 2)),) if draw(st.booleans()) else ()) + (draw(st.integers(1, 2)),)
    shape += tuple(draw(st.integers(1, max_side)) for _ in range(dims))
    entry = st.integers(min_out, max_side + 1)
    if dims == 1:
        output_size = draw(st.one_of(entry, st.tuples(entry)))
    else:
        output_size = draw(st.one_of(entry, st.tuples(entry | st.none(), entry | st.none())))
    return shape, output_size


def resolved(output_size, in_sizes):
    sizes = (output_size,) * len(in_sizes) if isinstance(output_size, int) else output_size
    return tuple(s if s is not None else n for s, n in zip(sizes, in_sizes))


# ----------------------------------------------------------------------------------------------
# pad


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=25)
@given(data=st.data())
def test_pad_gradcheck_and_reference(mode, data):
    shape, widths, mode = data.draw(pad_cases(modes=(mode,)), label="case")
    x = data.draw(tensors(shape), label="x")
    value = 1.5 if mode == "constant" else None
    out = pad(x, widths, mode=mode, value=value)
    np.testing.assert_array_equal(out.numpy(), pad_reference(x.numpy(), widths, mode, value=1.5))
    assert out.dtype == np.float64
    assert_gradcheck(lambda t: pad(t, widths, mode=mode, value=value), x)


def test_pad_hand_computed_values_and_gradients():
    cases = {  # x = [1, 2, 3] padded (2, 1): output, then the gradient of its sum
        "reflect": ([3, 2, 1, 2, 3, 2], [1, 3, 2]),
        "replicate": ([1, 1, 1, 2, 3, 3], [3, 1, 2]),
        "circular": ([2, 3, 1, 2, 3, 1], [2, 2, 2]),
        "constant": ([0, 0, 1, 2, 3, 0], [1, 1, 1]),
    }
    for mode, (expected, grad) in cases.items():
        x = Tensor(np.array([[1.0, 2.0, 3.0]]), requires_grad=True)
        out = pad(x, (2, 1), mode=mode)
        np.testing.assert_array_equal(out.numpy()[0], expected)
        out.backward(np.ones(out.shape))
        np.testing.assert_array_equal(x.grad.numpy()[0], grad)
    # negative pads crop; the cropped elements get no gradient
    x = Tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    out = pad(x, (-1, 2), value=9.0)
    np.testing.assert_array_equal(out.numpy(), [2, 3, 4, 9, 9])
    out.backward(np.ones(5))
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 1, 1])
    # 2-D reflect: corners mirror in both directions
    x = Tensor(np.arange(9.0).reshape(1, 3, 3))
    np.testing.assert_array_equal(pad(x, (1, 1, 1, 1), mode="reflect").numpy()[0, 0], [4, 3, 4, 5, 4])


def test_pad_keeps_dtype_and_memory_order():
    x32 = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    for mode in MODES:
        out = pad(x32, (1, 1), mode=mode)
        assert out.dtype == np.float32
        out.backward(np.ones(out.shape, dtype=np.float32))
        assert x32.grad.dtype == np.float32
        x32.grad = None
    ints = pad(Tensor(np.arange(3)), (1, 2), value=7)
    assert ints.dtype == np.int64 and ints.numpy().tolist() == [7, 0, 1, 2, 7, 7]
    assert pad(Tensor(np.arange(3)), (1, 1), value=2.7).numpy().tolist() == [2, 0, 1, 2, 2]  # truncated, as torch
    flags = pad(Tensor(np.array([True, False])), (1, 0), value=True)
    assert flags.dtype == np.bool_ and flags.numpy().tolist() == [True, True, False]
    assert pad(Tensor(np.arange(4).reshape(1, 4)), (1, 1), mode="reflect").numpy().tolist() == [[1, 0, 1, 2, 3, 2]]
    # an NCHW view of channels-last memory stays channels-last, for every mode
    nhwc = np.random.default_rng(0).standard_normal((2, 5, 6, 3))
    x = Tensor(nhwc.transpose(0, 3, 1, 2))
    for mode in MODES:
        out = pad(x, (1, 2, 2, 1), mode=mode).numpy()
        assert out.transpose(0, 2, 3, 1).flags.c_contiguous, mode
        np.testing.assert_array_equal(out, pad_reference(x.numpy(), (1, 2, 2, 1), mode))


def test_pad_edge_cases():
    x = Tensor(np.arange(6.0).reshape(1, 1, 6))
    assert pad(x, (-3, -3)).shape == (1, 1, 0)  # constant and circular may empty a dimension
    assert pad(x, (-3, -3), mode="circular").shape == (1, 1, 0)
    assert pad(x, ()).numpy().tolist() == x.numpy().tolist()
    assert pad(Tensor(np.zeros((0, 1, 3))), (1, 1), mode="reflect").shape == (0, 1, 5)  # an empty batch is fine
    assert pad(Tensor(np.zeros((2, 0))), (1, 1)).shape == (2, 2)
    np.testing.assert_array_equal(pad(x, (-5, 1), mode="reflect").numpy().ravel(), [5, 4])
    np.testing.assert_array_equal(pad(x, (3, -4), mode="replicate").numpy().ravel(), [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(pad(x, (-1, 2), mode="circular").numpy().ravel(), [1, 2, 3, 4, 5, 1, 2])
    assert pad(x, (1, 1), mode="reflect", value=0).shape == (1, 1, 8)  # value=0 is allowed in every mode
    assert pad(Tensor(np.ones((1, 1, 2))), (1, -3), mode="circular").shape == (1, 1, 0)  # nothing left to wrap
    assert pad(Tensor(np.ones(())), ()).shape == ()


def test_pad_errors():
    x = Tensor(np.ones((1, 2, 3)))
    with pytest.raises(TypeError, match="pad: input must be a Tensor"):
        pad(np.ones(3), (1, 1))
    with pytest.raises(TypeError, match="pad: pad must be a tuple of ints"):
        pad(x, 1)
    with pytest.raises(TypeError, match="pad: pad must be a tuple of ints"):
        pad(x, (1.0, 1))
    with pytest.raises(TypeError, match="pad: pad must be a tuple of ints"):
        pad(x, (True, 1))
    with pytest.raises(ValueError, match="pad: pad must have an even length"):
        pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match=r"pad: pad .* pads 4 dimensions but the input has only 3"):
        pad(x, (1,) * 8)
    with pytest.raises(NotImplementedError, match="pad: mode must be one of"):
        pad(x, (1, 1), mode="symmetric")
    with pytest.raises(ValueError, match="pad: mode='reflect' takes no value argument"):
        pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(NotImplementedError, match="pad: mode='replicate' pads the last 1, 2 or 3 dimensions"):
        pad(Tensor(np.ones(3)), (1, 1), mode="replicate")
    with pytest.raises(NotImplementedError, match="got a pad of length 2 for a 4-D input"):
        pad(Tensor(np.ones((1, 1, 2, 3))), (1, 1), mode="circular")
    with pytest.raises(ValueError, match=r"reflect padding must be less than .* \(3, 0\) for dimension 2 of size 3"):
        pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="mode='replicate' needs non-empty dimensions"):
        pad(Tensor(np.ones((1, 0, 3))), (1, 1), mode="replicate")
    with pytest.raises(ValueError,
                       match=r"pad: padding \(-2, -2\) crops 4 elements from dimension 2, which has only 3"):
        pad(x, (-2, -2))
    with pytest.raises(ValueError, match=r"pad: padding \(5, -4\) crops 4 elements from dimension 2"):
        pad(x, (5, -4))  # torch crops before it pads
    with pytest.raises(ValueError, match="leaves 0 elements; mode='reflect' needs at least 1"):
        pad(x, (-2, -1), mode="reflect")
    with pytest.raises(ValueError, match="circular padding .* would wrap around more than once: it keeps 1 of its 3"):
        pad(x, (-2, 2), mode="circular")
    with pytest.raises(ValueError, match="pad: circular padding"):
        pad(x, (4, 0), mode="circular")
    with pytest.raises(TypeError, match="pad: value must be a number"):
        pad(x, (1, 1), value="zero")
    with pytest.raises(ValueError, match="pad: value nan cannot be stored in a int64 tensor"):
        pad(Tensor(np.arange(3)), (1, 1), value=float("nan"))
    with pytest.raises(ValueError, match="pad: an output of shape .* would need"):
        pad(x, (10 ** 12, 0))


# ----------------------------------------------------------------------------------------------
# adaptive pooling


@pytest.mark.parametrize("kind", ["avg", "max"])
@settings(max_examples=25)
@given(case=adaptive_cases(), data=st.data())
def test_adaptive_pool2d_gradcheck_and_reference(kind, case, data):
    shape, output_size = case
    x = data.draw(tensors(shape, unique=kind == "max"), label="x")
    fn = adaptive_avg_pool2d if kind == "avg" else adaptive_max_pool2d
    out = fn(x, output_size)
    values, index = adaptive_reference(x.numpy(), resolved(output_size, shape[-2:]), kind)
    np.testing.assert_allclose(out.numpy(), values, rtol=1e-12, atol=1e-15)
    if kind == "max":
        got_values, got_index = adaptive_max_pool2d(x, output_size, return_indices=True)
        np.testing.assert_array_equal(got_values.numpy(), values)
        assert got_index.dtype == np.int64 and not got_index.requires_grad
        np.testing.assert_array_equal(got_index.numpy(), index)
    assert_gradcheck(lambda t: fn(t, output_size), x)


@pytest.mark.parametrize("kind", ["avg", "max"])
@settings(max_examples=20)
@given(case=adaptive_cases(dims=1, max_side=8), data=st.data())
def test_adaptive_pool1d_gradcheck_and_reference(kind, case, data):
    shape, output_size = case
    x = data.draw(tensors(shape, unique=kind == "max"), label="x")
    fn = adaptive_avg_pool1d if kind == "avg" else adaptive_max_pool1d
    out = fn(x, output_size)
    values, index = adaptive_reference(x.numpy()[..., None, :], (1,) + resolved(output_size, shape[-1:]), kind)
    np.testing.assert_allclose(out.numpy(), values[..., 0, :], rtol=1e-12, atol=1e-15)
    if kind == "max":
        np.testing.assert_array_equal(adaptive_max_pool1d(x, output_size, True)[1].numpy(), index[..., 0, :])
    assert_gradcheck(lambda t: fn(t, output_size), x)


@settings(max_examples=15)
@given(st.sampled_from([(1, 1), (2, 3), (4, 4), (3, 5), (8, 8), (7, 2)]), st.data())
def test_adaptive_pools_on_larger_channels_last_inputs(output_size, data):
    nhwc = data.draw(arrays((2, 8, 8, 5)), label="x")
    x = Tensor(nhwc.transpose(0, 3, 1, 2))  # an NCHW view of channels-last memory, as conv2d returns
    for kind, fn in (("avg", adaptive_avg_pool2d), ("max", adaptive_max_pool2d)):
        out = fn(x, output_size).numpy()
        np.testing.assert_allclose(out, adaptive_reference(x.numpy(), output_size, kind)[0], rtol=1e-12, atol=1e-15)
        assert out.transpose(0, 2, 3, 1).flags.c_contiguous  # the output stays channels-last


def test_adaptive_hand_computed():
    # 3 -> 2 bins: [0, 2) and [1, 3), overlapping in the middle row and column
    x = Tensor(np.arange(9.0).reshape(1, 1, 3, 3), requires_grad=True)
    out = adaptive_avg_pool2d(x, 2)
    np.testing.assert_array_equal(out.numpy()[0, 0], [[2, 3], [5, 6]])
    out.backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]])
    x.grad = None
    values, index = adaptive_max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(values.numpy()[0, 0], [[4, 5], [7, 8]])
    np.testing.assert_array_equal(index.numpy()[0, 0], [[4, 5], [7, 8]])
    values.backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[0, 0, 0], [0, 1, 1], [0, 1, 1]])
    # global pooling and None entries
    y = Tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(adaptive_avg_pool2d(y, 1).numpy().ravel(), [5.5, 17.5])
    np.testing.assert_array_equal(adaptive_max_pool2d(y, (1, None)).numpy()[:, 0], [[8, 9, 10, 11], [20, 21, 22, 23]])
    assert adaptive_avg_pool2d(y, (None, None)).numpy().tolist() == y.numpy().tolist()
    # more bins than elements repeat them
    np.testing.assert_array_equal(adaptive_avg_pool1d(Tensor(np.array([[1.0, 3.0]])), 3).numpy(), [[1, 2, 3]])


def test_adaptive_max_ties_go_to_the_first_maximum_in_row_major_order():
    x = Tensor(np.zeros((1, 1, 4, 6)), requires_grad=True)
    values, index = adaptive_max_pool2d(x, (3, 4), return_indices=True)
    starts_h, starts_w = [s for s, _ in bins(4, 3)], [s for s, _ in bins(6, 4)]
    np.testing.assert_array_equal(index.numpy()[0, 0], np.add.outer(np.array(starts_h) * 6, starts_w))
    values.backward(np.ones((1, 1, 3, 4)))
    assert x.grad.numpy().sum() == 12  # every bin's gradient arrives, shared winners get the sum
    y = Tensor(np.array([[1.0, 5.0, 5.0], [5.0, 5.0, 2.0]]).reshape(1, 2, 3), requires_grad=True)
    np.testing.assert_array_equal(adaptive_max_pool2d(y, 1, True)[1].numpy().ravel(), [1])


def test_adaptive_nan_and_empty_cases():
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan
    values, index = adaptive_max_pool2d(Tensor(x), (1, 2), return_indices=True)
    assert np.isnan(values.numpy()[0, 0, 0, 0]) and values.numpy()[0, 0, 0, 1] == 0
    assert index.numpy()[0, 0, 0, 0] == 4  # the last NaN, as torch
    assert adaptive_avg_pool2d(Tensor(np.zeros((2, 3, 4, 5))), (0, 2)).shape == (2, 3, 0, 2)
    assert adaptive_max_pool2d(Tensor(np.zeros((0, 3, 4, 5))), 2).shape == (0, 3, 2, 2)
    assert adaptive_avg_pool2d(Tensor(np.zeros((2, 0, 4, 5))), 2).shape == (2, 0, 2, 2)
    assert adaptive_max_pool1d(Tensor(np.zeros((3, 5))), 0).shape == (3, 0)


def test_adaptive_avg_keeps_inf_in_its_own_bins():
    x = Tensor(np.array([[1.0, np.inf, 2.0, 3.0, 4.0]]), requires_grad=True)
    np.testing.assert_array_equal(adaptive_avg_pool1d(x, 3).numpy(), [[np.inf, np.inf, 3.5]])  # bins [0,2) [1,4) [3,5)
    np.testing.assert_array_equal(adaptive_avg_pool1d(x, 2).numpy(), [[np.inf, 3.0]])  # bins [0,3) [2,5)
    adaptive_avg_pool1d(x, 2).backward(np.array([[0.0, 3.0]]))
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 1, 1, 1]])


def test_adaptive_keeps_float32():
    x = Tensor(np.random.default_rng(1).standard_normal((2, 3, 5, 7)).astype(np.float32), requires_grad=True)
    for fn in (adaptive_avg_pool2d, adaptive_max_pool2d):
        for size in (1, (2, 7), (3, 4), 9):
            out = fn(x, size)
            assert out.dtype == np.float32
            out.backward(np.ones(out.shape, dtype=np.float32))
            assert x.grad.dtype == np.float32
            x.grad = None


def test_adaptive_errors():
    x = Tensor(np.ones((1, 2, 3, 4)))
    for name, fn in (("adaptive_avg_pool2d", adaptive_avg_pool2d), ("adaptive_max_pool2d", adaptive_max_pool2d)):
        with pytest.raises(ValueError, match=rf"{name}: input must be 3-D or 4-D \(C, H, W\) or \(N, C, H, W\)"):
            fn(Tensor(np.ones((3, 4))), 2)
        with pytest.raises(TypeError, match=f"{name}: input must be floating point, got int64"):
            fn(Tensor(np.ones((1, 2, 3), dtype=np.int64)), 2)
        with pytest.raises(TypeError, match=f"{name}: output_size must be an int or a pair"):
            fn(x, 2.0)
        with pytest.raises(TypeError, match=f"{name}: output_size must be an int or a pair"):
            fn(x, (True, 2))
        with pytest.raises(TypeError, match=f"{name}: output_size must be an int or a pair"):
            fn(x, None)
        with pytest.raises(ValueError, match=f"{name}: output_size must have 2 entries"):
            fn(x, (1, 2, 3))
        with pytest.raises(ValueError, match=f"{name}: output_size must be non-negative"):
            fn(x, -1)
        with pytest.raises(ValueError, match=f"{name}: dimension 2 of the input is empty"):
            fn(Tensor(np.ones((1, 2, 0, 4))), 2)
        with pytest.raises(TypeError, match=f"{name}: input must be a Tensor"):
            fn(np.ones((1, 2, 3, 4)), 2)
    with pytest.raises(ValueError, match="adaptive_max_pool2d: dimension 1 of the input is empty"):
        adaptive_max_pool2d(Tensor(np.ones((1, 0, 3, 4))), 2)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool1d: input must be 2-D or 3-D \(C, L\) or \(N, C, L\)"):
        adaptive_avg_pool1d(Tensor(np.ones(5)), 2)
    with pytest.raises(TypeError, match="adaptive_max_pool1d: output_size must be an int"):
        adaptive_max_pool1d(Tensor(np.ones((2, 5))), (None,))
    with pytest.raises(ValueError, match="adaptive_avg_pool1d: output_size must have 1 entries"):
        adaptive_avg_pool1d(Tensor(np.ones((2, 5))), (2, 2))
    with pytest.raises(TypeError, match="adaptive_max_pool2d: return_indices must be True or False"):
        adaptive_max_pool2d(x, 2, return_indices="yes")
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: an output of shape .* would need"):
        adaptive_avg_pool2d(x, 10 ** 6)


# ----------------------------------------------------------------------------------------------
# one_hot


def test_one_hot():
    labels = Tensor(np.array([[0, 2], [1, 2]]))
    out = one_hot(labels)
    assert out.dtype == np.int64 and out.shape == (2, 2, 3) and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), np.eye(3, dtype=np.int64)[labels.numpy()])
    assert one_hot(labels, num_classes=5).shape == (2, 2, 5)
    assert one_hot(Tensor(np.array(2)), 4).numpy().tolist() == [0, 0, 1, 0]
    assert one_hot(Tensor(np.zeros(0, dtype=np.int64)), 3).shape == (0, 3)
    assert one_hot(Tensor(np.array([1, 0], dtype=np.int32))).numpy().tolist() == [[0, 1], [1, 0]]


def test_one_hot_errors():
    with pytest.raises(ValueError, match="one_hot: class values must be non-negative, got -1"):
        one_hot(Tensor(np.array([0, -1])))
    with pytest.raises(ValueError, match="one_hot: class values must be smaller than num_classes=2, got 2"):
        one_hot(Tensor(np.array([0, 2])), 2)
    with pytest.raises(TypeError, match="one_hot: tensor must hold integer class indices"):
        one_hot(Tensor(np.array([0.0, 1.0])))
    with pytest.raises(TypeError, match="one_hot: tensor must hold integer class indices"):
        one_hot(Tensor(np.array([True, False])))
    with pytest.raises(ValueError, match="one_hot: cannot infer num_classes from an empty tensor"):
        one_hot(Tensor(np.zeros(0, dtype=np.int64)))
    with pytest.raises(TypeError, match="one_hot: num_classes must be an int"):
        one_hot(Tensor(np.array([0, 1])), 2.0)
    with pytest.raises(ValueError, match="one_hot: num_classes must be -1 or non-negative, got -2"):
        one_hot(Tensor(np.array([0, 1])), -2)
    with pytest.raises(TypeError, match="one_hot: tensor must be a Tensor"):
        one_hot([0, 1])
