"""Hypothesis strategies for property-testing ops, yours or the library's.

Property-test a new op in three lines: draw float64 tensors, check the analytic gradient against
central differences::

    from hypothesis import given
    from tinygrad_cnn.testing import assert_gradcheck, tensors

    @given(tensors(away_from=0.0))            # |x| >= 0.1: keep clear of abs's kink at 0
    def test_abs_gradient(x):
        assert_gradcheck(lambda t: t.abs(), x)

The strategies draw only values that central differences handle well: finite, in a modest range
(default [-3, 3]), optionally kept a margin away from kinks and poles (``away_from``) and, for ops
such as max and max-pooling whose gradient depends on which element wins, distinct and spaced
apart (``unique=True``), so a perturbation of ``eps`` never changes the winner.

The ``reference_*`` functions are PyTorch's functional conv and pooling as plain, readable loops in
float64 NumPy (no tinygrad_cnn op): the slow, obviously-correct versions the fast ops are tested against.

Everything here needs the ``hypothesis`` package (``pip install tinygrad_cnn[test]``); the library
itself does not.
"""
import math
from typing import NamedTuple, Tuple, Union

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ._tensor import Tensor
from .gradcheck import gradcheck

__all__ = [
    "shapes", "broadcastable_shapes", "arrays", "tensors", "conv_args", "ConvArgs", "pool_args",
    "PoolArgs", "assert_gradcheck", "reference_conv2d", "reference_conv_transpose2d", "reference_max_pool2d",
    "reference_avg_pool2d", "reference_pool_output_size",
]

#: Distinct values drawn with ``unique=True`` differ by at least this much (>> gradcheck's eps); arrays
#: too big for the range get a finer grid, never finer than 1e-4.
UNIQUE_SPACING = 1.0 / 64
#: Default distance kept from each point of ``away_from``.
DEFAULT_MARGIN = 0.1


# ----------------------------------------------------------------------------------- shapes


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=5):
    """Array shapes (tuples) with ``min_dims..max_dims`` axes of ``min_side..max_side`` each.

    ``min_dims=0`` includes the scalar shape ``()``.
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=4):
    """A tuple of ``num_shapes`` shapes that broadcast together (NumPy rules).

    The shapes may have different numbers of axes, and size-1 axes that stretch, e.g.
    ``((3, 1, 4), (2, 1))``. Their common shape is ``np.broadcast_shapes(*shapes)``.
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    ).map(lambda drawn: tuple(drawn.input_shapes))


# ----------------------------------------------------------------------------------- values


def _allowed_intervals(low, high, away_from, margin):
    """[low, high] minus an open ball of radius ``margin`` around each point of ``away_from``."""
    if away_from is None:
        points = []
    elif isinstance(away_from, (int, float, np.integer, np.floating)):
        points = [float(away_from)]
    else:
        points = sorted(float(p) for p in away_from)
    intervals, start = [], float(low)
    for p in points:
        if p - margin > start:
            intervals.append((start, min(p - margin, high)))
        start = max(start, p + margin)
    if start <= high:
        intervals.append((start, float(high)))
    intervals = [(a, b) for a, b in intervals if a <= b]
    if not intervals:
        raise ValueError(f"testing: no values left in [{low}, {high}] at distance >= {margin} from {away_from!r}")
    return intervals


def _elements(low, high, away_from, margin, unique, size):
    """A strategy for one float64 value under the constraints of `arrays` (``size`` values per array)."""
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"testing: need finite low <= high, got low={low!r}, high={high!r}")
    intervals = _allowed_intervals(low, high, away_from, margin)
    if unique:
        # a grid: distinct draws are far apart compared to gradcheck's eps (two intervals are
        # >= 2 * margin apart); a big array gets a finer grid, with room for 4x its size
        spacing = min(UNIQUE_SPACING, sum(b - a for a, b in intervals) / (4 * max(size, 1)))
        if spacing < 1e-4:
            raise ValueError(f"testing: [{low}, {high}] is too narrow for {size} well-separated unique values")
        return st.one_of(*[st.integers(0, int(math.floor((b - a) / spacing))).map(lambda k, a=a: a + k * spacing)
                           for a, b in intervals])
    return st.one_of(*[st.floats(a, b, allow_nan=False, allow_infinity=False, allow_subnormal=False)
                       for a, b in intervals])


def _shape_strategy(shape):
    if shape is None:
        return shapes()
    if isinstance(shape, st.SearchStrategy):
        return shape
    if isinstance(shape, (int, np.integer)):
        return st.just((int(shape),))
    return st.just(tuple(int(n) for n in shape))


def arrays(shape=None, dtype=np.float64, low=-3.0, high=3.0, away_from=None, margin=DEFAULT_MARGIN, unique=False):
    """NumPy arrays of finite floats in ``[low, high]``.

    shape:     a tuple, an int (1-D), a strategy of shapes (e.g. ``shapes(max_dims=2)``), or None for
               ``shapes()``.
    dtype:     the dtype of the arrays (float64 by default, the one to gradcheck in).
    away_from: a number or a list of numbers; every value stays at least ``margin`` away from them
               (e.g. ``away_from=0.0`` for relu/abs, or a divisor).
    unique:    no ties: all values distinct and at least ``UNIQUE_SPACING`` apart (for max, max-pool
               and sorting-like ops). The range must hold enough grid points for the array.
    """
    dtype = np.dtype(dtype)
    _elements(low, high, away_from, margin, False, 0)  # check the arguments now, not at draw time

    def arrays_of_shape(shape):
        elements = _elements(low, high, away_from, margin, unique, int(np.prod(shape)))
        return hnp.arrays(np.float64, shape, elements=elements, unique=unique)

    drawn = _shape_strategy(shape).flatmap(arrays_of_shape)
    return drawn if dtype == np.float64 else drawn.map(lambda a: a.astype(dtype))


def tensors(shape=None, dtype=np.float64, low=-3.0, high=3.0, away_from=None, margin=DEFAULT_MARGIN, unique=False,
            requires_grad=True):
    """`Tensor` s holding `arrays` (same arguments), requiring grad unless told otherwise."""
    return arrays(shape, dtype, low, high, away_from, margin, unique).map(
        lambda a: Tensor(a, requires_grad=requires_grad)
    )


# ----------------------------------------------------------------------------------- conv and pooling


class ConvArgs(NamedTuple):
    """One valid set of conv2d arguments; ``x.conv2d(w, b, **args.kwargs)``."""

    n: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel: Tuple[int, int]
    stride: Union[int, Tuple[int, int]]
    padding: Union[int, Tuple[int, int], str]
    dilation: Union[int, Tuple[int, int]]
    groups: int
    bias: bool

    @property
    def input_shape(self):
        return (self.n, self.in_channels, self.height, self.width)

    @property
    def weight_shape(self):
        return (self.out_channels, self.in_channels // self.groups) + tuple(self.kernel)

    @property
    def bias_shape(self):
        return (self.out_channels,)

    @property
    def kwargs(self):
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation, "groups": self.groups}


def _pair(v):
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else tuple(int(n) for n in v)


def _int_or_pair(low, high):
    """An int, or (sometimes) a pair of two different draws: both spellings get exercised."""
    return st.one_of(st.integers(low, high), st.tuples(st.integers(low, high), st.integers(low, high)))


@st.composite
def conv_args(draw, max_batch=2, max_channels_per_group=2, max_groups=2, min_kernel=1, max_kernel=3, max_stride=2,
              max_dilation=2, max_padding=1, max_extra=2):
    """Drawn `ConvArgs`: batch, channels, image size, kernel, stride, padding (int, pair, 'valid'
    or 'same'), dilation, groups and bias that are valid together.

    The image is at most ``max_extra`` pixels (times the stride) larger than the dilated kernel in
    each direction, which keeps gradchecks cheap; raise the limits for forward-only tests.
    """
    n = draw(st.integers(1, max_batch))
    groups = draw(st.integers(1, max_groups))
    in_channels = groups * draw(st.integers(1, max_channels_per_group))
    out_channels = groups * draw(st.integers(1, max_channels_per_group))
    kernel = (draw(st.integers(min_kernel, max_kernel)), draw(st.integers(min_kernel, max_kernel)))
    stride = draw(_int_or_pair(1, max_stride))
    dilation = draw(_int_or_pair(1, max_dilation))
    kinds = ["int", "pair", "valid"] + (["same"] if _pair(stride) == (1, 1) else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "int":
        padding = draw(st.integers(0, max_padding))
    elif kind == "pair":
        padding = (draw(st.integers(0, max_padding)), draw(st.integers(0, max_padding)))
    else:
        padding = kind
    pads = (0, 0) if isinstance(padding, str) else _pair(padding)
    sizes = []
    for k, s, d, p in zip(kernel, _pair(stride), _pair(dilation), pads):
        span = d * (k - 1) + 1
        smallest = 1 if padding == "same" else max(1, span - 2 * p)  # the padded input holds a kernel
        sizes.append(draw(st.integers(smallest, smallest + s * max_extra)))
    bias = draw(st.booleans())
    return ConvArgs(n, in_channels, out_channels, sizes[0], sizes[1], kernel, stride, padding, dilation, groups, bias)


class PoolArgs(NamedTuple):
    """One valid set of pooling arguments; ``x.max_pool2d(**args.kwargs)``."""

    n: int
    channels: int
    height: int
    width: int
    kernel_size: Union[int, Tuple[int, int]]
    stride: Union[int, Tuple[int, int], None]
    padding: Union[int, Tuple[int, int]]

    @property
    def input_shape(self):
        return (self.n, self.channels, self.height, self.width)

    @property
    def kwargs(self):
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding}


@st.composite
def pool_args(draw, max_batch=2, max_channels=2, max_kernel=3, max_stride=3, max_extra=3):
    """Drawn `PoolArgs`: kernel, stride (None = kernel, smaller = overlapping windows, larger =
    skipped pixels) and padding (at most half the kernel) valid for the drawn image size, which
    need not be a multiple of the stride."""
    n = draw(st.integers(1, max_batch))
    channels = draw(st.integers(1, max_channels))
    kernel_size = draw(_int_or_pair(1, max_kernel))
    stride = draw(st.one_of(st.none(), _int_or_pair(1, max_stride)))
    kh, kw = _pair(kernel_size)
    padding = draw(st.one_of(st.integers(0, min(kh, kw) // 2),
                             st.tuples(st.integers(0, kh // 2), st.integers(0, kw // 2))))
    sizes = [draw(st.integers(max(1, k - 2 * p), k + max_extra)) for k, p in zip((kh, kw), _pair(padding))]
    return PoolArgs(n, channels, sizes[0], sizes[1], kernel_size, stride, padding)


# ----------------------------------------------------------------------------------- checks


def assert_gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3):
    """``gradcheck(fn, inputs)`` that fails with `GradcheckError` (an AssertionError) naming the
    input, element and both values when the analytic and numerical gradients differ."""
    return gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=True)


# ----------------------------------------------------------------------------------- slow references
# NumPy arrays (or Tensors) of shape (N, C, H, W) in, float64 arrays out; loops over pixels.


def _float64(x):
    """A float64 NumPy copy of an array, a Tensor or a nested list."""
    return np.array(x.numpy() if isinstance(x, Tensor) else x, dtype=np.float64)


def _conv_padding(padding, kernel, dilation, stride):
    """(top, bottom, left, right): the zeros conv2d's ``padding`` argument puts around the image."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        if stride != (1, 1):
            raise ValueError("reference_conv2d: padding='same' needs stride 1, as in PyTorch")
        # pad (dilated kernel extent - 1) in all, to keep the size; the odd one goes bottom / right
        total_h, total_w = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2
    pad_h, pad_w = _pair(padding)
    return pad_h, pad_h, pad_w, pad_w


def reference_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``torch.nn.functional.conv2d``, one output pixel at a time.

    input (N, C_in, H, W), weight (C_out, C_in / groups, kH, kW), bias (C_out,) or None. Like
    PyTorch's it is a cross-correlation (the kernel is not flipped)::

        out[n, o, i, j] = bias[o] + sum over c, a, b of
            weight[o, c, a, b] * padded[n, g * C_in / groups + c, i * sH + a * dH, j * sW + b * dW]

    where ``padded`` is the input with zeros around it and g = o // (C_out / groups) the group of
    output channel o: the channels are split into ``groups`` independent convolutions.
    """
    x, w = _float64(input), _float64(weight)
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    n, in_channels = x.shape[:2]
    out_channels, group_in, kh, kw = w.shape
    if in_channels != groups * group_in or out_channels % groups:
        raise ValueError(f"reference_conv2d: input {x.shape} and weight {w.shape} do not fit groups={groups}")
    top, bottom, left, right = _conv_padding(padding, (kh, kw), (dh, dw), (sh, sw))
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    # the dilated kernel spans dH * (kH - 1) + 1 rows; it slides in steps of sH while it fits
    out_h = (padded.shape[2] - (dh * (kh - 1) + 1)) // sh + 1
    out_w = (padded.shape[3] - (dw * (kw - 1) + 1)) // sw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"reference_conv2d: the kernel does not fit in the padded input {padded.shape}")
    out = np.zeros((n, out_channels, out_h, out_w))
    group_out = out_channels // groups
    for g in range(groups):
        ins, outs = slice(g * group_in, (g + 1) * group_in), slice(g * group_out, (g + 1) * group_out)
        for i, j in np.ndindex(out_h, out_w):   # every output pixel
            # the kH x kW pixels under output pixel (i, j), dH rows and dW columns apart
            rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
            cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
            patch = padded[:, ins, rows, cols]                       # (N, C_in / groups, kH, kW)
            # times each output channel's kernel, summed over channel, row and column
            out[:, outs, i, j] = np.einsum("ncab,ocab->no", patch, w[outs])
    if bias is not None:
        out += _float64(bias).reshape(1, out_channels, 1, 1)
    return out


def reference_conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                               dilation=1):
    """``torch.nn.functional.conv_transpose2d``, one input pixel at a time.

    input (N, C_in, H, W), weight (C_in, C_out / groups, kH, kW) (input channels first), bias
    (C_out,) or None. The transpose of conv2d (its gradient with respect to its input): each input
    pixel (y, z) stamps the kernel, times its value, onto the output at row y * sH, column z * sW,
    taps dH / dW apart; stamps add up. ``padding`` crops that many rows / columns off each side,
    ``output_padding`` adds some at the bottom / right (a strided conv2d maps several sizes to one)::

        H_out = (H - 1) * sH - 2 * pH + dH * (kH - 1) + output_padding_H + 1
    """
    x, w = _float64(input), _float64(weight)
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(_pair, (stride, padding, output_padding, dilation))
    n, in_channels, h, wd = x.shape
    _, group_out, kh, kw = w.shape
    if in_channels != w.shape[0] or in_channels % groups:
        raise ValueError(f"reference_conv_transpose2d: input {x.shape}, weight {w.shape}, groups={groups}")
    out_h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    out_w = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"reference_conv_transpose2d: the output would be {out_h} x {out_w}")
    out = np.zeros((n, group_out * groups, out_h, out_w))
    group_in = in_channels // groups
    for g in range(groups):
        ins, outs = slice(g * group_in, (g + 1) * group_in), slice(g * group_out, (g + 1) * group_out)
        for y, z, a, b in np.ndindex(h, wd, kh, kw):   # every input pixel (y, z), every kernel tap (a, b)
            row, col = y * sh + a * dh - ph, z * sw + b * dw - pw   # where the tap lands in the cropped output
            if 0 <= row < out_h and 0 <= col < out_w:
                # (N, C_in / groups) @ (C_in / groups, C_out / groups)
                out[:, outs, row, col] += x[:, ins, y, z] @ w[ins, :, a, b]
    if bias is not None:
        out += _float64(bias).reshape(1, -1, 1, 1)
    return out


def reference_pool_output_size(size, kernel_size, stride, padding=0, dilation=1, ceil_mode=False):
    """How many pooling windows fit along an axis of ``size`` pixels (ints), by PyTorch's rule: a
    window spans ``dilation * (kernel_size - 1) + 1`` pixels of the padded axis and moves ``stride``
    at a time; floor mode counts the windows that fit, ceil mode also a last, partial one, unless it
    would start in the right-hand padding."""
    room = size + 2 * padding - (dilation * (kernel_size - 1) + 1)   # how far the window can move
    count = (-(-room // stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (count - 1) * stride >= size + padding:
        count -= 1
    return count


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode):
    """The pairs (kernel, stride, padding, dilation) and the output size (out_h, out_w)."""
    kernel, pad, dil = _pair(kernel_size), _pair(padding), _pair(dilation)
    step = kernel if stride is None else _pair(stride)
    out = tuple(reference_pool_output_size(size, k, s, p, d, ceil_mode)
                for size, k, s, p, d in zip(x.shape[2:], kernel, step, pad, dil))
    return kernel, step, pad, dil, out


def reference_max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                         return_indices=False):
    """``torch.nn.functional.max_pool2d``: the largest input pixel in each window.

    Window (i, j) covers rows i * sH - pH + a * dH (a < kH), columns j * sW - pW + b * dW (b < kW);
    ``stride`` defaults to the kernel size. Only pixels inside the input compete (padding is -inf),
    in row-major order as in PyTorch's loop: a pixel wins if larger than the best so far or NaN, so
    a tie keeps the first maximum and the last NaN wins. ``return_indices=True`` also returns where
    each maximum is: the int64 flat position row * W + column in its H x W image.
    """
    x = _float64(input)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (out_h, out_w) = _pool_geometry(
        x, kernel_size, stride, padding, dilation, ceil_mode)
    n, c, h, w = x.shape
    values = np.full((n, c, out_h, out_w), -np.inf)
    indices = np.zeros((n, c, out_h, out_w), dtype=np.int64)
    for i, j in np.ndindex(out_h, out_w):   # every output pixel
        # the window's rows and columns that are inside the input
        rows = [r for r in (i * sh - ph + a * dh for a in range(kh)) if 0 <= r < h]
        cols = [q for q in (j * sw - pw + b * dw for b in range(kw)) if 0 <= q < w]
        if not rows or not cols:
            raise ValueError(f"reference_max_pool2d: window ({i}, {j}) lies in the padding only")
        best, where = values[:, :, i, j], indices[:, :, i, j]   # views: writing them fills the output
        where[...] = rows[0] * w + cols[0]                      # a window of -inf points at its first pixel
        for r in rows:
            for q in cols:
                pixel = x[:, :, r, q]
                wins = (pixel > best) | np.isnan(pixel)
                best[wins], where[wins] = pixel[wins], r * w + q
    return (values, indices) if return_indices else values


def reference_avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                         divisor_override=None):
    """``torch.nn.functional.avg_pool2d``: the sum of each window's input pixels over a divisor.

    Window (i, j) covers rows i * sH - pH .. i * sH - pH + kH - 1 and the like columns (padding is
    zero); ``stride`` defaults to the kernel size. The divisor, as in PyTorch: ``divisor_override``
    if given, else the window's pixels inside the padded input (``count_include_pad=True``; a
    ceil-mode window hanging past the padding counts its part inside), else those inside the input.
    """
    x = _float64(input)
    (kh, kw), (sh, sw), (ph, pw), _, (out_h, out_w) = _pool_geometry(
        x, kernel_size, stride, padding, 1, ceil_mode)
    n, c, h, w = x.shape
    out = np.zeros((n, c, out_h, out_w))
    for i, j in np.ndindex(out_h, out_w):   # every output pixel
        top, left = i * sh - ph, j * sw - pw                            # may be in the padding
        bottom, right = min(top + kh, h + ph), min(left + kw, w + pw)   # clipped to the padded input
        padded_count = (bottom - top) * (right - left)
        top, left, bottom, right = max(top, 0), max(left, 0), min(bottom, h), min(right, w)  # to the input
        input_count = (bottom - top) * (right - left)
        divisor = padded_count if count_include_pad else input_count
        divisor = divisor if divisor_override is None else divisor_override
        out[:, :, i, j] = x[:, :, top:bottom, left:right].sum(axis=(2, 3)) / divisor
    return out
