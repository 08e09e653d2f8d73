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
    "PoolArgs", "assert_gradcheck",
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
    return (v, v) if isinstance(v, int) else tuple(v)


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
