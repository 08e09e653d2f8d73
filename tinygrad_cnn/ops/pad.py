"""``torch.nn.functional.pad``: constant, reflect, replicate and circular padding of any trailing dims.

``pad`` checks its arguments once and turns them into plain options (slices, sizes). It writes one
``np.empty`` output in the input's memory order (an NCHW view of channels-last memory stays
channels-last; see ``layout.py``): constant mode fills the borders and copies the interior;
reflect, replicate and circular cut each padded dimension into at most three segments, each an
input slice (reversed for reflect, one element stretched for replicate), copy one block per
combination of segments (at most 27), and add each gradient block back: no scatter.
"""
import itertools
import math

import numpy as np

from .._memory import check_memory
from ..function import Function
from ._checks import check_tensor, is_int
from .layout import empty_in_order

__all__ = ["pad"]

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


class ConstantPad(Function):
    """Constant padding of any dimensions, negative pads crop; backward: the gradient's interior."""

    @staticmethod
    def forward(ctx, x, dims, value):
        out_shape = list(x.shape)
        src, dst = [slice(None)] * x.ndim, [slice(None)] * x.ndim
        for axis, left, right in dims:
            size = x.shape[axis]
            out_shape[axis] = size + left + right
            first, last = max(0, -left), size + min(0, right)  # the part of the input that is kept
            src[axis], dst[axis] = slice(first, last), slice(first + left, last + left)
        out = empty_in_order(out_shape, x.dtype, x)
        for axis, left, right in dims:  # the border slabs (corners twice: cheaper than exact)
            out[(slice(None),) * axis + (slice(0, max(0, left)),)] = value
            out[(slice(None),) * axis + (slice(out_shape[axis] - max(0, right), None),)] = value
        out[tuple(dst)] = x[tuple(src)]
        ctx.geometry = (x.shape, tuple(src), tuple(dst))
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, src, dst = ctx.geometry
        part = grad[dst]
        if part.shape == tuple(shape):  # nothing cropped
            return part
        dx = empty_in_order(shape, grad.dtype, grad, fill=0)
        dx[src] = part
        return dx


class BorderPad(Function):
    """Reflect, replicate or circular padding by copies of input slices (see the module docstring).
    ``segments``: per padded axis, ``(axis, ((out_slice, in_slice, stretched), ...))``; a stretched
    segment repeats one input element (replicate), so its gradient is summed over that axis."""

    @staticmethod
    def forward(ctx, x, segments, out_shape):
        out = empty_in_order(out_shape, x.dtype, x)
        for dst, src, _ in _segment_blocks(segments, x.ndim):
            out[dst] = x[src]
        ctx.geometry = (x.shape, segments)
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, segments = ctx.geometry
        dx = empty_in_order(shape, grad.dtype, grad, fill=0)
        for dst, src, stretched in _segment_blocks(segments, grad.ndim):
            part = grad[dst]
            dx[src] += part.sum(axis=stretched, keepdims=True) if stretched else part  # one-to-one within a block
        return dx


def _segment_blocks(segments, ndim):
    """Every combination of one segment per padded axis: (output index, input index, stretched axes)."""
    axes = [axis for axis, _ in segments]
    for combo in itertools.product(*(segs for _, segs in segments)):
        dst, src = [slice(None)] * ndim, [slice(None)] * ndim
        for axis, (out_slice, in_slice, _) in zip(axes, combo):
            dst[axis], src[axis] = out_slice, in_slice
        yield tuple(dst), tuple(src), tuple(axis for axis, seg in zip(axes, combo) if seg[2])


def _mirror_segments(reflect, size, left, right):
    """Reflect or replicate, as torch: output position p shows the virtual input index j = p - left,
    mirrored about the first and last element (reflect) or clamped (replicate) into [0, size)."""
    lo, hi, top = -left, size + right, 2 * size - 2  # shown: j in [lo, hi); reflect shows top - j for j >= size
    segments = []
    for part, (a, b) in enumerate([(lo, min(0, hi)), (max(lo, 0), min(hi, size)), (max(lo, size), hi)]):
        if a >= b:
            continue
        mirrored = slice(-a, -b, -1) if part == 0 else slice(top - a, top - b if top >= b else None, -1)
        edge = slice(0, 1) if part == 0 else slice(size - 1, size)
        src = slice(a, b) if part == 1 else mirrored if reflect else edge
        segments.append((slice(a + left, b + left), src, part != 1 and not reflect))
    return tuple(segments)


def _circular_segments(size, left, right):
    """Circular, as torch: negative pads crop first, then the cropped input wraps around."""
    start, lp, rp = max(0, -left), max(0, left), max(0, right)
    kept = size - start - max(0, -right)
    parts = [(0, lp, start + kept - lp), (lp, lp + kept, start), (lp + kept, lp + kept + rp, start)]
    return tuple((slice(a, b), slice(s, s + b - a), False) for a, b, s in parts if a < b)


def _fill_value(value, dtype):
    """Constant padding's value (None = 0) as a scalar of the input's dtype (truncated, as torch)."""
    value = 0 if value is None else value
    if not isinstance(value, (int, float, np.number, np.bool_)):
        raise TypeError(f"pad: value must be a number, got {value!r}")
    if dtype.kind in "biu" and not math.isfinite(value):
        raise ValueError(f"pad: value {value!r} cannot be stored in a {dtype} tensor")
    return np.asarray(value).astype(dtype)[()]


def _pad_output_shape(mode, shape, dims, value):
    """The output shape, after torch's rules: the non-constant modes take no value and pad the last
    1-3 dimensions of a 2-5-D input; reflect pads less than the size, constant mode crops at most
    it all, reflect and replicate need and leave an element, circular wraps at most once."""
    k, ndim = len(dims), len(shape)
    if mode != "constant" and value is not None and value != 0:
        raise ValueError(f"pad: mode={mode!r} takes no value argument (it is for mode='constant'), got value={value!r}")
    if mode != "constant" and (k not in (1, 2, 3) or ndim not in (k + 1, k + 2)):
        raise NotImplementedError(
            f"pad: mode={mode!r} pads the last 1, 2 or 3 dimensions of a 2-D/3-D, 3-D/4-D or 4-D/5-D input "
            f"(pad of length 2, 4 or 6); got a pad of length {2 * k} for a {ndim}-D input of shape {shape}")
    if mode in ("reflect", "replicate") and 0 in shape[1 if ndim == k + 2 else 0:]:
        raise ValueError(f"pad: mode={mode!r} needs non-empty dimensions (only a leading batch dimension "
                         f"may be empty), got input shape {shape}")
    out_shape = list(shape)
    least = int(mode in ("reflect", "replicate"))
    for axis, left, right in dims:
        size = shape[axis]
        if mode == "reflect" and max(left, right) >= size:
            raise ValueError(f"pad: reflect padding must be less than the size of the dimension it pads; got "
                             f"({left}, {right}) for dimension {axis} of size {size} (input shape {shape})")
        out_shape[axis] += left + right
        kept = size - max(0, -left) - max(0, -right)
        if mode == "constant" and kept < 0:
            raise ValueError(f"pad: padding ({left}, {right}) crops {size - kept} elements from dimension {axis}, "
                             f"which has only {size}")
        if out_shape[axis] < least:
            raise ValueError(f"pad: padding ({left}, {right}) of dimension {axis} (size {size}) leaves "
                             f"{out_shape[axis]} elements; mode={mode!r} needs at least {least}")
        if mode == "circular" and max(left, right) > (kept if out_shape[axis] else size):
            raise ValueError(f"pad: circular padding ({left}, {right}) of dimension {axis} would wrap around more "
                             f"than once: it keeps {kept} of its {size} elements (input shape {shape})")
    return tuple(out_shape)


def pad(input, pad, mode="constant", value=None):
    """``torch.nn.functional.pad``: pad (negative widths crop) the last ``len(pad) // 2`` dimensions,
    ``pad = (left, right)`` of the last one first. mode: 'constant' (``value``, default 0; any
    dimensions), 'reflect' (mirror, edge not repeated), 'replicate' (repeat the edge), 'circular'
    (wrap around); the last three pad the last 1/2/3 dimensions of a 2-3/3-4/4-5-D input, as torch."""
    check_tensor(input, "pad")
    shape = tuple(input.shape)
    if not isinstance(pad, (tuple, list)) or not all(is_int(p) for p in pad):
        raise TypeError(f"pad: pad must be a tuple of ints (left, right of the last dimension first), got {pad!r}")
    if len(pad) % 2:
        raise ValueError(f"pad: pad must have an even length (a (left, right) pair per dimension), got {tuple(pad)}")
    if len(pad) // 2 > len(shape):
        raise ValueError(f"pad: pad {tuple(pad)} pads {len(pad) // 2} dimensions but the input has only "
                         f"{len(shape)} (shape {shape})")
    dims = tuple((len(shape) - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(len(pad) // 2))  # last first
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: mode must be one of {', '.join(map(repr, _PAD_MODES))}, got {mode!r}")
    out_shape = _pad_output_shape(mode, shape, dims, value)
    check_memory("pad", math.prod(out_shape) * input.dtype.itemsize, f"an output of shape {out_shape}", "; check pad")
    if mode == "constant":
        return ConstantPad.apply(input, dims=dims, value=_fill_value(value, input.dtype))
    segments = [(a, (_circular_segments(shape[a], left, right) if out_shape[a] else ()) if mode == "circular"
                 else _mirror_segments(mode == "reflect", shape[a], left, right)) for a, left, right in dims]
    return BorderPad.apply(input, segments=tuple(segments), out_shape=out_shape)
