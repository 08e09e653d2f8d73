"""ops/pad.py, ops/adaptive_pool.py and one_hot against PyTorch (skipped without torch): pad, adaptive pooling
and one_hot.

Forward values, gradients of sum(out * g) for a random upstream g, dtypes, shapes, the indices of
max pooling (ties included: all-zero and small-integer inputs), and which calls are errors.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

from tinygrad_cnn import Tensor  # noqa: E402
from tinygrad_cnn.nn.functional import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    one_hot,
    pad,
)
from tinygrad_cnn.testing import arrays  # noqa: E402

MODES = ("constant", "reflect", "replicate", "circular")
RTOL, ATOL = 1e-6, 1e-9
OURS = {"adaptive_avg_pool1d": adaptive_avg_pool1d, "adaptive_avg_pool2d": adaptive_avg_pool2d,
        "adaptive_max_pool1d": adaptive_max_pool1d, "adaptive_max_pool2d": adaptive_max_pool2d}


def run_both(ours, theirs, x, upstream):
    """Forward and backward of ours on a Tensor and theirs on a torch tensor of the same data;
    returns ((our out, our grad), (torch out, torch grad)) as ndarrays. (torch's backward of
    adaptive pooling refuses empty outputs, whose gradient is zero.)"""
    mine = Tensor(x.copy(), requires_grad=True)
    ref = torch.tensor(x, requires_grad=True)
    out, expected = ours(mine), theirs(ref)
    assert out.shape == tuple(expected.shape)
    assert out.dtype == x.dtype and str(expected.dtype) == f"torch.{x.dtype}"
    out.backward(upstream)
    if not upstream.size:
        return (out.numpy(), mine.grad.numpy()), (expected.detach().numpy(), np.zeros_like(x))
    expected.backward(torch.from_numpy(upstream))
    assert mine.grad.dtype == x.dtype
    return (out.numpy(), mine.grad.numpy()), (expected.detach().numpy(), ref.grad.numpy())


@st.composite
def torch_pad_cases(draw, mode):
    """(shape, pad) valid in torch for ``mode``, negative and asymmetric pads included."""
    if mode == "constant":
        ndim = draw(st.integers(1, 4))
        k = draw(st.integers(0, ndim))
    else:
        k = draw(st.integers(1, 3))
        ndim = k + draw(st.integers(1, 2))
    shape = tuple(draw(st.integers(1, 5 if ndim < 4 else 3)) for _ in range(ndim))
    widths = []
    for axis in range(ndim - 1, ndim - 1 - k, -1):
        size = shape[axis]
        if mode in ("circular", "constant"):  # crops keep an element here; circular pads at most what is kept
            crop_left = draw(st.integers(0, size - 1))
            crop_right = draw(st.integers(0, size - 1 - crop_left))
            kept = size - crop_left - crop_right
            high = kept if mode == "circular" else size + 2
            left = -crop_left if crop_left else draw(st.integers(0, high))
            right = -crop_right if crop_right else draw(st.integers(0, high))
        else:
            high = size - 1 if mode == "reflect" else size + 2
            left = draw(st.integers(max(-size - 1, 1 - size - high), high))
            right = draw(st.integers(max(-size - 1, 1 - size - left), high))
        widths += [left, right]
    return shape, tuple(widths)


# ----------------------------------------------------------------------------------------------
# pad


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=25)
@given(data=st.data())
def test_pad_matches_torch(mode, data):
    shape, widths = data.draw(torch_pad_cases(mode), label="case")
    dtype = data.draw(st.sampled_from([np.float64, np.float32]), label="dtype")
    x = data.draw(arrays(shape, dtype=dtype), label="x")
    value = data.draw(st.sampled_from([None, -2.5]), label="value") if mode == "constant" else None
    out_shape = tuple(F.pad(torch.tensor(x), widths, mode=mode, value=value).shape)
    upstream = data.draw(arrays(out_shape, dtype=dtype), label="upstream")
    (out, grad), (expected, expected_grad) = run_both(lambda t: pad(t, widths, mode=mode, value=value),
                                                      lambda t: F.pad(t, widths, mode=mode, value=value), x, upstream)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5 if dtype == np.float32 else RTOL, atol=1e-5)


@pytest.mark.parametrize("mode", ["constant", "reflect", "circular"])
def test_pad_integer_and_bool_inputs_match_torch(mode):
    x = np.arange(12).reshape(1, 3, 4)
    kwargs = {"value": 2.7} if mode == "constant" else {}
    out = pad(Tensor(x), (2, 1, -1, 1), mode=mode, **kwargs)
    expected = F.pad(torch.tensor(x), (2, 1, -1, 1), mode=mode, **kwargs)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    flags = np.array([[True, False, True]])
    np.testing.assert_array_equal(pad(Tensor(flags), (1, 2), value=1).numpy(),
                                  F.pad(torch.tensor(flags), (1, 2), value=1).numpy())


BAD_PADS = [
    ((1, 1, 6), (1,), {}), ((1, 1, 6), (1,) * 8, {}), ((1, 1, 6), (-4, -3), {}),
    ((1, 1, 6), (6, 0), {"mode": "reflect"}), ((1, 1, 6), (0, 6), {"mode": "reflect"}),
    ((1, 1, 6), (-4, -3), {"mode": "reflect"}), ((1, 1, 6), (-3, -3), {"mode": "replicate"}),
    ((1, 1, 6), (7, 0), {"mode": "circular"}), ((1, 1, 6), (-4, 3), {"mode": "circular"}),
    ((6,), (1, 1), {"mode": "reflect"}), ((2, 2, 2, 6), (1, 1), {"mode": "replicate"}),
    ((2, 2, 2, 2, 6), (1, 1, 1, 1), {"mode": "circular"}), ((2,) * 6, (1,) * 6, {"mode": "reflect"}),
    ((1, 1, 6), (1, 1), {"mode": "reflect", "value": 1.0}), ((1, 1, 6), (1, 1), {"mode": "foo"}),
    ((1, 0, 6), (1, 1), {"mode": "reflect"}), ((2, 0), (1, 1), {"mode": "replicate"}),
    ((1, 1, 1), (1, 1), {"mode": "reflect"}), ((1, 1, 6), (1.0, 1), {}), ((1, 1, 6), 1, {}),
    ((1, 1, 6), (3, -8), {}), ((1, 1, 2), (1, -3), {}), ((1, 1, 2), (-3, 2), {"mode": "reflect"}),
    ((1, 1, 1), (-7, 6), {"mode": "circular"}),
]


@pytest.mark.parametrize("shape, widths, kwargs", BAD_PADS)
def test_pad_rejects_what_torch_rejects(shape, widths, kwargs):
    with pytest.raises((RuntimeError, NotImplementedError, TypeError, ValueError)):
        F.pad(torch.zeros(shape), widths, **kwargs)
    with pytest.raises((NotImplementedError, TypeError, ValueError)):
        pad(Tensor(np.zeros(shape)), widths, **kwargs)


@pytest.mark.parametrize("shape, widths, kwargs", [
    ((0, 1, 6), (1, 1), {"mode": "reflect"}), ((1, 0, 6), (1, 1), {"mode": "circular"}),
    ((1, 1, 6), (-3, -3), {}), ((1, 1, 6), (-3, -3), {"mode": "circular"}), ((1, 1, 6), (-5, 1), {"mode": "reflect"}),
    ((1, 1, 6), (1, 1), {"mode": "reflect", "value": 0}), ((1, 1, 0), (1, 1), {}), ((3,), (), {}),
    ((1, 1, 2), (1, -3), {"mode": "circular"}), ((1, 1, 2), (3, -4), {"mode": "replicate"}), ((), (), {}),
    ((1, 1, 2), (-3, 4), {"mode": "replicate"}), ((1, 1, 2), (-2, 1), {"mode": "reflect"}),
])
def test_pad_accepts_what_torch_accepts(shape, widths, kwargs):
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    np.testing.assert_array_equal(pad(Tensor(x), widths, **kwargs).numpy(), F.pad(torch.tensor(x), widths, **kwargs))


# ----------------------------------------------------------------------------------------------
# adaptive pooling


@st.composite
def torch_adaptive_cases(draw, dims):
    shape = ((draw(st.integers(1, 2)),) if draw(st.booleans()) else ()) + (draw(st.integers(1, 3)),)
    shape += tuple(draw(st.integers(1, 9)) for _ in range(dims))
    entry = st.integers(0, 10)
    if dims == 1:
        return shape, draw(st.one_of(entry, st.tuples(entry)))
    return shape, draw(st.one_of(entry, st.tuples(entry | st.none(), entry | st.none())))


@pytest.mark.parametrize("name", sorted(OURS))
@settings(max_examples=30)
@given(data=st.data())
def test_adaptive_pool_matches_torch(name, data):
    shape, output_size = data.draw(torch_adaptive_cases(1 if name.endswith("1d") else 2), label="case")
    dtype = data.draw(st.sampled_from([np.float64, np.float32]), label="dtype")
    ties = "max" in name and data.draw(st.booleans(), label="ties")
    # ties: small integers (or all zeros), so that many bins hold several maxima
    x = data.draw(arrays(shape, low=0, high=data.draw(st.sampled_from([0, 2]))).map(np.round) if ties
                  else arrays(shape), label="x").astype(dtype)
    theirs = getattr(F, name)
    out_shape = tuple(theirs(torch.tensor(x), output_size).shape)
    upstream = data.draw(arrays(out_shape, dtype=dtype), label="upstream")
    (out, grad), (expected, expected_grad) = run_both(lambda t: OURS[name](t, output_size),
                                                      lambda t: theirs(t, output_size), x, upstream)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": RTOL, "atol": ATOL}
    np.testing.assert_allclose(out, expected, **tol)
    np.testing.assert_allclose(grad, expected_grad, **tol)
    if "max" in name:
        values, index = OURS[name](Tensor(x), output_size, return_indices=True)
        expected_values, expected_index = theirs(torch.tensor(x), output_size, return_indices=True)
        np.testing.assert_array_equal(values.numpy(), expected_values.numpy())
        assert index.dtype == np.int64 and index.shape == tuple(expected_index.shape)
        np.testing.assert_array_equal(index.numpy(), expected_index.numpy())


@pytest.mark.parametrize("output_size", [1, 2, (3, 5), (4, 4), 7])
def test_adaptive_pool_channels_last_and_nan_match_torch(output_size):
    rng = np.random.default_rng(3)
    nhwc = rng.standard_normal((2, 8, 9, 4))
    nhwc[0, 1:4, 2, 1] = np.nan
    nhwc[1, 5, 5:8, 2] = np.nan
    nhwc[1, 2, 3, 0], nhwc[0, 6, 1, 3] = np.inf, -np.inf
    x = nhwc.transpose(0, 3, 1, 2)  # channels-last memory, NCHW shape
    for name in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
        out = OURS[name](Tensor(x), output_size).numpy()
        expected = getattr(F, name)(torch.tensor(x), output_size)
        expected = (expected[0] if isinstance(expected, tuple) else expected).numpy()
        np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)
    index = adaptive_max_pool2d(Tensor(x), output_size, return_indices=True)[1].numpy()
    np.testing.assert_array_equal(index, F.adaptive_max_pool2d(torch.tensor(x), output_size, return_indices=True)[1])


BAD_ADAPTIVE = [
    ("adaptive_avg_pool2d", (5, 7), 2), ("adaptive_max_pool2d", (1, 2, 3, 5, 7), 2),
    ("adaptive_avg_pool2d", (2, 3, 5, 7), -1), ("adaptive_max_pool2d", (2, 3, 5, 7), (2,)),
    ("adaptive_avg_pool2d", (2, 3, 5, 7), 2.0), ("adaptive_max_pool2d", (2, 3, 5, 7), None),
    ("adaptive_avg_pool2d", (2, 3, 0, 7), 2), ("adaptive_max_pool2d", (2, 0, 5, 7), 2),
    ("adaptive_avg_pool2d", (2, 3, 5, 7), (True, 2)), ("adaptive_avg_pool1d", (5,), 3),
    ("adaptive_max_pool1d", (2, 3, 5), (None,)), ("adaptive_avg_pool1d", (2, 3, 5), (2, 2)),
    ("adaptive_max_pool1d", (2, 0, 5), 2), ("adaptive_avg_pool1d", (3, 0), 2),
]


@pytest.mark.parametrize("name, shape, output_size", BAD_ADAPTIVE)
def test_adaptive_pool_rejects_what_torch_rejects(name, shape, output_size):
    with pytest.raises((RuntimeError, TypeError, ValueError)):
        getattr(F, name)(torch.zeros(shape), output_size)
    with pytest.raises((TypeError, ValueError)):
        OURS[name](Tensor(np.zeros(shape)), output_size)


@pytest.mark.parametrize("name", sorted(OURS))
def test_adaptive_pool_rejects_integer_input_like_torch(name):
    shape = (2, 3, 5) if name.endswith("1d") else (2, 3, 5, 7)
    with pytest.raises(RuntimeError):
        getattr(F, name)(torch.zeros(shape, dtype=torch.int64), 2)
    with pytest.raises(TypeError, match=f"{name}: input must be floating point"):
        OURS[name](Tensor(np.zeros(shape, dtype=np.int64)), 2)


@pytest.mark.parametrize("name, shape, output_size", [
    ("adaptive_avg_pool2d", (0, 3, 5, 7), 2), ("adaptive_avg_pool2d", (2, 0, 5, 7), 2),
    ("adaptive_max_pool2d", (0, 5, 7), 2), ("adaptive_max_pool2d", (2, 3, 5, 7), (0, 2)),
    ("adaptive_avg_pool1d", (2, 0, 5), 2), ("adaptive_max_pool1d", (0, 5), (3,)),
])
def test_adaptive_pool_accepts_what_torch_accepts(name, shape, output_size):
    assert OURS[name](Tensor(np.zeros(shape)), output_size).shape == tuple(
        getattr(F, name)(torch.zeros(shape), output_size).shape)


# ----------------------------------------------------------------------------------------------
# one_hot


@settings(max_examples=20)
@given(shape=st.tuples(*[st.integers(0, 3)] * 2), extra=st.integers(0, 2), data=st.data())
def test_one_hot_matches_torch(shape, extra, data):
    classes = data.draw(st.integers(1, 5))
    labels = data.draw(arrays(shape, low=0, high=classes - 1).map(lambda a: np.round(a).astype(np.int64)))
    num_classes = classes + extra
    out = one_hot(Tensor(labels), num_classes)
    expected = F.one_hot(torch.tensor(labels), num_classes)
    assert out.dtype == np.int64 and out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    if labels.size:
        np.testing.assert_array_equal(one_hot(Tensor(labels)).numpy(), F.one_hot(torch.tensor(labels)).numpy())


@pytest.mark.parametrize("labels, num_classes", [
    (np.array([0, -1]), -1), (np.array([0, 2]), 2), (np.array([0.0, 1.0]), -1), (np.array([True]), -1),
    (np.zeros(0, dtype=np.int64), -1), (np.array([0, 1]), 0), (np.array([0, 1]), -2),
])
def test_one_hot_rejects_what_torch_rejects(labels, num_classes):
    with pytest.raises(RuntimeError):
        F.one_hot(torch.tensor(labels), num_classes)
    with pytest.raises((TypeError, ValueError)):
        one_hot(Tensor(labels), num_classes)


def test_max_pool2d_sends_the_gradient_to_a_nan_as_torch_does():
    """A window holding a NaN pools to NaN and its gradient goes to the NaN (the fast path finds
    maxima by equality, so such inputs go to the general path)."""
    import tinygrad_cnn.nn.functional as F

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6))
    x[0, 1, 2, 3] = x[1, 2, 0, 0] = np.nan
    g = rng.standard_normal((2, 3, 3, 3))
    for shape in ((1, 1, 1, 1), x.shape):
        data = x if shape == x.shape else np.full(shape, np.nan)
        grad = g if shape == x.shape else np.full(shape, 0.5)
        k = 2 if shape == x.shape else 1
        ours = Tensor(data, requires_grad=True)
        out = F.max_pool2d(ours, k)
        out.backward(Tensor(grad))
        theirs = torch.tensor(data, requires_grad=True)
        expected = torch.nn.functional.max_pool2d(theirs, k)
        expected.backward(torch.tensor(grad))
        np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
