"""The slow references of tinygrad_cnn.testing (reference_conv2d, reference_conv_transpose2d,
reference_max_pool2d, reference_avg_pool2d, reference_pool_output_size).

1. The references themselves, on small cases worked out by hand (in the comments).
2. The fast public ops of tinygrad_cnn.nn.functional against the references, in float64, on
   hypothesis-drawn shapes and arguments; and conv2d / conv_transpose2d against each other.
3. The references against torch.nn.functional, when torch is installed.
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_cnn.nn.functional as F
from tinygrad_cnn import Tensor
from tinygrad_cnn.testing import (
    arrays,
    conv_args,
    reference_avg_pool2d,
    reference_conv2d,
    reference_conv_transpose2d,
    reference_max_pool2d,
    reference_pool_output_size,
)

TOL = {"rtol": 1e-10, "atol": 1e-10}


def image(rows):
    """A (1, 1, H, W) float64 array from a nested list of rows."""
    return np.array(rows, dtype=np.float64)[None, None]


def grid(h, w):
    """0, 1, 2, ... row by row: the value of a pixel is its flat index row * w + column."""
    return np.arange(float(h * w)).reshape(1, 1, h, w)


# ----------------------------------------------------------------------------------------------
# 1. worked by hand


def test_conv2d_by_hand():
    x = image([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    w = image([[1, 2], [3, 4]])
    # top left: 1*1 + 2*2 + 4*3 + 5*4 = 37; each step right adds 1+2+3+4 = 10, each step down 3*10
    np.testing.assert_array_equal(reference_conv2d(x, w)[0, 0], [[37, 47], [67, 77]])
    np.testing.assert_array_equal(reference_conv2d(x, w, np.array([0.5]))[0, 0], [[37.5, 47.5], [67.5, 77.5]])
    # all ones with a 3x3 kernel of ones and padding 1: each output counts the window's real pixels
    ones = reference_conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), padding=1)[0, 0]
    np.testing.assert_array_equal(ones, [[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]])
    # dilation 2, stride 2 on 0..24: taps (0, 0), (0, 2), (2, 0), (2, 2) of each window, windows 2 apart
    out = reference_conv2d(grid(5, 5), np.ones((1, 1, 2, 2)), stride=2, dilation=2)[0, 0]
    np.testing.assert_array_equal(out, [[0 + 2 + 10 + 12, 2 + 4 + 12 + 14], [10 + 12 + 20 + 22, 12 + 14 + 22 + 24]])
    # asymmetric stride and padding: rows 2 apart, two zero columns either side
    out = reference_conv2d(x, np.ones((1, 1, 1, 1)), stride=(2, 1), padding=(0, 2))[0, 0]
    np.testing.assert_array_equal(out, [[0, 0, 1, 2, 3, 0, 0], [0, 0, 7, 8, 9, 0, 0]])
    # the channels are summed over
    two = np.concatenate([x, 10 * x], axis=1)
    np.testing.assert_array_equal(reference_conv2d(two, np.ones((1, 2, 1, 1)))[0, 0], 11 * x[0, 0])


def test_conv2d_same_valid_and_groups_by_hand():
    x = grid(3, 3)
    # 'same' with an even kernel: no padding on top / left, one row / column at the bottom / right
    same = reference_conv2d(x, np.ones((1, 1, 2, 2)), padding="same")[0, 0]
    np.testing.assert_array_equal(same, [[0 + 1 + 3 + 4, 1 + 2 + 4 + 5, 2 + 5],
                                         [3 + 4 + 6 + 7, 4 + 5 + 7 + 8, 5 + 8],
                                         [6 + 7, 7 + 8, 8]])
    # odd kernels pad evenly; with dilation the kernel's extent counts
    assert reference_conv2d(grid(4, 5), np.ones((2, 1, 3, 2)), padding="same", dilation=(2, 3)).shape == (1, 2, 4, 5)
    np.testing.assert_array_equal(reference_conv2d(x, image([[1, 1], [1, 1]]), padding="valid"),
                                  reference_conv2d(x, image([[1, 1], [1, 1]])))
    # groups=2: output channels 0, 1 see input channel 0 (ones), channels 2, 3 input channel 1 (twos)
    x2 = np.concatenate([np.ones((1, 1, 2, 2)), 2 * np.ones((1, 1, 2, 2))], axis=1)
    out = reference_conv2d(x2, np.array([1.0, 2.0, 3.0, 4.0]).reshape(4, 1, 1, 1), groups=2)
    np.testing.assert_array_equal(out[0, :, 0, 0], [1, 2, 6, 8])
    with pytest.raises(ValueError, match="stride 1"):
        reference_conv2d(x, np.ones((1, 1, 2, 2)), stride=2, padding="same")
    with pytest.raises(ValueError, match="groups=2"):
        reference_conv2d(x2, np.ones((3, 1, 1, 1)), groups=2)
    with pytest.raises(ValueError, match="does not fit"):
        reference_conv2d(x, np.ones((1, 1, 4, 4)))


def test_conv_transpose2d_by_hand():
    x = image([[1, 2], [3, 4]])
    ones = np.ones((1, 1, 2, 2))
    # stride 1: each pixel stamps a 2x2 block of its value at its own position; overlaps add up
    np.testing.assert_array_equal(reference_conv_transpose2d(x, ones)[0, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]])
    # stride 2: the blocks sit side by side
    blocks = [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    np.testing.assert_array_equal(reference_conv_transpose2d(x, ones, stride=2)[0, 0], blocks)
    # padding 1 crops a row / column off each side of that
    np.testing.assert_array_equal(reference_conv_transpose2d(x, ones, stride=2, padding=1)[0, 0], [[1, 2], [3, 4]])
    # output_padding adds a row and a column at the bottom / right, which only the bias reaches
    out = reference_conv_transpose2d(x, ones, np.array([0.5]), stride=2, output_padding=1)[0, 0]
    np.testing.assert_array_equal(out, np.pad(np.array(blocks, dtype=float), ((0, 1), (0, 1))) + 0.5)
    # dilation 2 spreads the kernel's taps: one pixel of value 2 stamps 2 * kernel, taps 2 apart
    out = reference_conv_transpose2d(image([[2]]), image([[1, 2], [3, 4]]), dilation=2)[0, 0]
    np.testing.assert_array_equal(out, [[2, 0, 4], [0, 0, 0], [6, 0, 8]])
    # groups=2: weight (C_in, C_out / groups, kH, kW); output channel 0 from input channel 0 only
    x2 = np.concatenate([x, 10 * x], axis=1)
    out = reference_conv_transpose2d(x2, np.array([2.0, 3.0]).reshape(2, 1, 1, 1), groups=2)[0]
    np.testing.assert_array_equal(out, [2 * x[0, 0], 30 * x[0, 0]])
    with pytest.raises(ValueError, match="output would be"):
        reference_conv_transpose2d(image([[1]]), np.ones((1, 1, 1, 1)), padding=1)


def test_pool_output_size_by_hand():
    assert reference_pool_output_size(4, 2, 2) == 2
    assert reference_pool_output_size(5, 2, 2) == 2                      # floor: the last column is left out
    assert reference_pool_output_size(5, 2, 2, ceil_mode=True) == 3      # ceil: a last, one-column window
    # padding 1: windows at -1, 1, 3 and (ceil) 5, which would start in the right padding: dropped
    assert reference_pool_output_size(5, 2, 2, padding=1, ceil_mode=True) == 3
    assert reference_pool_output_size(6, 3, 2, padding=1, ceil_mode=True) == 4   # windows at -1, 1, 3, 5
    assert reference_pool_output_size(5, 2, 1, dilation=3) == 2          # a window spans 4 pixels


def test_max_pool2d_by_hand():
    values, indices = reference_max_pool2d(grid(4, 4), 2, return_indices=True)
    np.testing.assert_array_equal(values[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(indices[0, 0], [[5, 7], [13, 15]])      # grid: value == flat index
    assert indices.dtype == np.int64
    # ceil mode on 5x5: a third window of one row / column; stride defaults to the kernel size
    values, indices = reference_max_pool2d(grid(5, 5), 2, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(values[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    np.testing.assert_array_equal(indices[0, 0], values[0, 0])
    np.testing.assert_array_equal(reference_max_pool2d(grid(5, 5), 2, stride=1, dilation=3)[0, 0],
                                  [[18, 19], [23, 24]])
    # padding never wins: all zeros, kernel 2, stride 1, padding 1; ties keep the first real pixel
    values, indices = reference_max_pool2d(np.zeros((1, 1, 2, 2)), 2, stride=1, padding=1, return_indices=True)
    np.testing.assert_array_equal(values[0, 0], np.zeros((3, 3)))
    np.testing.assert_array_equal(indices[0, 0], [[0, 0, 1], [0, 0, 1], [2, 2, 3]])
    # -inf everywhere: the value is -inf, the index the window's first pixel
    values, indices = reference_max_pool2d(np.full((1, 1, 2, 2), -np.inf), 2, return_indices=True)
    assert values[0, 0, 0, 0] == -np.inf and indices[0, 0, 0, 0] == 0
    # ties: the first maximum in row-major order; NaN wins, the last NaN of the window
    assert reference_max_pool2d(image([[5, 1], [5, 5]]), 2, return_indices=True)[1][0, 0, 0, 0] == 0
    values, indices = reference_max_pool2d(image([[1, np.nan], [np.nan, 0]]), 2, return_indices=True)
    assert np.isnan(values[0, 0, 0, 0]) and indices[0, 0, 0, 0] == 2
    assert reference_max_pool2d(image([[np.nan, 5], [1, 2]]), 2, return_indices=True)[1][0, 0, 0, 0] == 0
    with pytest.raises(ValueError, match="padding only"):
        reference_max_pool2d(grid(2, 2), 1, padding=1)


def test_avg_pool2d_by_hand():
    np.testing.assert_array_equal(reference_avg_pool2d(grid(4, 4), 2)[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    # ones 3x3, kernel 2, stride 1, padding 1: 4x4 windows; the corner ones hold 1 real pixel, the
    # edge ones 2 and the inner ones 4
    ones = np.ones((1, 1, 3, 3))
    counted = [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]]
    np.testing.assert_array_equal(reference_avg_pool2d(ones, 2, 1, 1)[0, 0], np.array(counted) / 4)
    np.testing.assert_array_equal(reference_avg_pool2d(ones, 2, 1, 1, count_include_pad=False)[0, 0], np.ones((4, 4)))
    np.testing.assert_array_equal(reference_avg_pool2d(ones, 2, 1, 1, divisor_override=1)[0, 0], counted)
    # ceil mode on ones 5x5: the last windows hold one row / column and divide by that
    np.testing.assert_array_equal(reference_avg_pool2d(np.ones((1, 1, 5, 5)), 2, ceil_mode=True)[0, 0],
                                  np.ones((3, 3)))
    out = reference_avg_pool2d(np.ones((1, 1, 5, 5)), 2, ceil_mode=True, divisor_override=4)[0, 0]
    np.testing.assert_array_equal(out, [[1, 1, 0.5], [1, 1, 0.5], [0.5, 0.5, 0.25]])
    # ones 6x6, kernel 3, stride 2, padding 1, ceil: columns -1..1, 1..3, 3..5 and 5..7, the last
    # clipped to the padded input (5..6: 2 columns, 1 of them real); rows -1..1 (3 rows, 2 real)
    out = reference_avg_pool2d(np.ones((1, 1, 6, 6)), 3, stride=2, padding=1, ceil_mode=True)[0, 0, 0]
    np.testing.assert_allclose(out, [4 / 9, 6 / 9, 6 / 9, 2 / 6], rtol=1e-15)
    out = reference_avg_pool2d(np.ones((1, 1, 6, 6)), 3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_array_equal(out, np.ones((1, 1, 4, 4)))


def test_references_take_tensors_and_return_float64_arrays():
    x, w = grid(3, 3).astype(np.float32), np.ones((1, 1, 2, 2), dtype=np.float32)
    for out in (reference_conv2d(Tensor(x), Tensor(w), Tensor(np.zeros(1))), reference_conv_transpose2d(Tensor(x), w),
                reference_max_pool2d(Tensor(x), 2), reference_avg_pool2d(Tensor(x), 2)):
        assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(reference_conv2d(Tensor(x), Tensor(w)), reference_conv2d(x, w))
    assert reference_max_pool2d(np.zeros((0, 2, 3, 3)), 2).shape == (0, 2, 1, 1)   # an empty batch


# ----------------------------------------------------------------------------------------------
# 2. the fast ops against the references, on drawn cases


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def int_or_pair(low, high):
    return st.one_of(st.integers(low, high), st.tuples(st.integers(low, high), st.integers(low, high)))


def as_tensor(a):
    return None if a is None else Tensor(a)


@st.composite
def conv_cases(draw):
    """(x, weight, bias or None, kwargs) for conv2d: padding int, pair, 'valid' or 'same'."""
    args = draw(conv_args(max_batch=2, max_channels_per_group=2, max_groups=3, max_kernel=4, max_stride=3,
                          max_padding=2, max_extra=3))
    x, w = draw(arrays(args.input_shape)), draw(arrays(args.weight_shape))
    b = draw(arrays(args.bias_shape)) if args.bias else None
    return x, w, b, args.kwargs


@st.composite
def transpose_cases(draw):
    """(x, weight, bias or None, kwargs) for conv_transpose2d, output_padding < max(stride, dilation)."""
    groups = draw(st.integers(1, 2))
    in_channels, group_out = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel, stride, dilation = draw(int_or_pair(1, 3)), draw(int_or_pair(1, 3)), draw(int_or_pair(1, 2))
    padding = draw(int_or_pair(0, 2))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(pair(stride), pair(dilation)))
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    for n, k, s, p, d, o in zip(size, pair(kernel), pair(stride), pair(padding), pair(dilation), output_padding):
        assume((n - 1) * s - 2 * p + d * (k - 1) + o + 1 >= 1)
    x = draw(arrays((draw(st.integers(1, 2)), in_channels) + size))
    w = draw(arrays((in_channels, group_out) + pair(kernel)))
    b = draw(arrays(group_out * groups)) if draw(st.booleans()) else None
    kwargs = {"stride": stride, "padding": padding, "output_padding": output_padding, "groups": groups,
              "dilation": dilation}
    return x, w, b, kwargs


@st.composite
def pool_cases(draw, dilated=True):
    """(x, kwargs) for max_pool2d / avg_pool2d that PyTorch accepts: padding at most half the
    kernel, and every window (ceil mode's last ones included) holds a pixel of the input."""
    kernel = draw(int_or_pair(1, 3))
    stride = draw(st.one_of(st.none(), int_or_pair(1, 3)))
    padding = draw(st.one_of(st.integers(0, min(pair(kernel)) // 2),
                             st.tuples(*[st.integers(0, k // 2) for k in pair(kernel)])))
    dilation = draw(int_or_pair(1, 2)) if dilated else 1
    ceil_mode = draw(st.booleans())
    size = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    steps = pair(kernel) if stride is None else pair(stride)
    for n, k, s, p, d in zip(size, pair(kernel), steps, pair(padding), pair(dilation)):
        count = reference_pool_output_size(n, k, s, p, d, ceil_mode)
        assume(count >= 1 and all(any(0 <= o * s - p + i * d < n for i in range(k)) for o in range(count)))
    x = draw(arrays((draw(st.integers(1, 2)), draw(st.integers(1, 3))) + size))
    kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    if dilated:
        kwargs["dilation"] = dilation
    return x, kwargs


@settings(max_examples=60)
@given(case=conv_cases())
def test_conv2d_matches_the_reference(case):
    x, w, b, kwargs = case
    out = F.conv2d(Tensor(x), Tensor(w), as_tensor(b), **kwargs).numpy()
    expected = reference_conv2d(x, w, b, **kwargs)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, **TOL)


@settings(max_examples=60)
@given(case=transpose_cases())
def test_conv_transpose2d_matches_the_reference(case):
    x, w, b, kwargs = case
    out = F.conv_transpose2d(Tensor(x), Tensor(w), as_tensor(b), **kwargs).numpy()
    expected = reference_conv_transpose2d(x, w, b, **kwargs)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, **TOL)


@settings(max_examples=30)
@given(case=conv_cases(), data=st.data())
def test_the_transposed_reference_is_the_transpose_of_the_conv_reference(case, data):
    # <conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for every y, with the output_padding that
    # gives back x's size: the two references check each other, with no fast op involved
    x, w, _, kwargs = case
    assume(not isinstance(kwargs["padding"], str))
    out = reference_conv2d(x, w, **kwargs)
    y = data.draw(arrays(out.shape), label="y")
    stride, padding, dilation = (pair(kwargs[name]) for name in ("stride", "padding", "dilation"))
    output_padding = tuple(size - ((o - 1) * s - 2 * p + d * (k - 1) + 1) for size, o, s, p, d, k in
                           zip(x.shape[2:], out.shape[2:], stride, padding, dilation, w.shape[2:]))
    back = reference_conv_transpose2d(y, w, None, stride, padding, output_padding, kwargs["groups"], dilation)
    assert back.shape == x.shape
    assert np.sum(out * y) == pytest.approx(np.sum(x * back), rel=1e-10, abs=1e-10)


@settings(max_examples=80)
@given(case=pool_cases(), ties=st.sampled_from(["none", "ties", "nan"]), data=st.data())
def test_max_pool2d_values_and_indices_match_the_reference(case, ties, data):
    x, kwargs = case
    if ties != "none":
        x = np.round(x)                                    # values in -3..3: many ties
    if ties == "nan":
        x.flat[data.draw(st.integers(0, x.size - 1), label="nan at")] = np.nan
    values, indices = reference_max_pool2d(x, **kwargs, return_indices=True)
    out, out_indices = F.max_pool2d(Tensor(x), **kwargs, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), values)   # NaN == NaN here
    np.testing.assert_array_equal(out_indices.numpy(), indices)
    assert out_indices.dtype == np.int64
    np.testing.assert_array_equal(F.max_pool2d(Tensor(x), **kwargs).numpy(), values)   # the path without indices


@settings(max_examples=80)
@given(case=pool_cases(dilated=False), count_include_pad=st.booleans(),
       divisor_override=st.one_of(st.none(), st.integers(1, 5)))
def test_avg_pool2d_matches_the_reference(case, count_include_pad, divisor_override):
    x, kwargs = case
    kwargs = dict(kwargs, count_include_pad=count_include_pad, divisor_override=divisor_override)
    np.testing.assert_allclose(F.avg_pool2d(Tensor(x), **kwargs).numpy(), reference_avg_pool2d(x, **kwargs), **TOL)


# ----------------------------------------------------------------------------------------------
# 3. the references against PyTorch


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def torch_or_none(torch, a):
    return None if a is None else torch.from_numpy(a)


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on a copy it makes
@settings(max_examples=10)
@given(conv=conv_cases(), transpose=transpose_cases())
def test_conv_references_match_torch(torch, conv, transpose):
    x, w, b, kwargs = conv
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch_or_none(torch, b), **kwargs)
    np.testing.assert_allclose(reference_conv2d(x, w, b, **kwargs), expected.numpy(), **TOL)
    x, w, b, kwargs = transpose
    expected = torch.nn.functional.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w),
                                                    torch_or_none(torch, b), **kwargs)
    np.testing.assert_allclose(reference_conv_transpose2d(x, w, b, **kwargs), expected.numpy(), **TOL)


@settings(max_examples=15)
@given(case=pool_cases(), avg=pool_cases(dilated=False), ties=st.booleans(), count_include_pad=st.booleans(),
       divisor_override=st.one_of(st.none(), st.integers(1, 5)))
def test_pool_references_match_torch(torch, case, avg, ties, count_include_pad, divisor_override):
    x, kwargs = case
    x = np.round(x) if ties else x
    values, indices = torch.nn.functional.max_pool2d(torch.from_numpy(x), **kwargs, return_indices=True)
    ours, our_indices = reference_max_pool2d(x, **kwargs, return_indices=True)
    np.testing.assert_array_equal(ours, values.numpy())
    np.testing.assert_array_equal(our_indices, indices.numpy())
    x, kwargs = avg
    kwargs = dict(kwargs, count_include_pad=count_include_pad, divisor_override=divisor_override)
    expected = torch.nn.functional.avg_pool2d(torch.from_numpy(x), **kwargs)
    np.testing.assert_allclose(reference_avg_pool2d(x, **kwargs), expected.numpy(), **TOL)
