"""``torch.nn.functional``'s pad, adaptive_avg/max_pool1d/2d and one_hot: same names, arguments, semantics.
Each functional checks its arguments once and turns them into plain options (slices, sizes).

* ``pad`` writes one ``np.empty`` output in the input's memory order (an NCHW view of channels-last
  memory stays channels-last; see ``conv.py``): constant mode fills the borders and copies the
  interior; reflect, replicate and circular cut each padded dimension into at most three segments,
  each an input slice (reversed for reflect, one element stretched for replicate), copy one block
  per combination of segments (at most 27), and add each gradient block back: no scatter.
* Adaptive pooling splits an axis of size L into O bins, bin i covering [floor(i*L/O), ceil((i+1)*L/O)),
  one axis at a time: a reshape when O divides L, else each bin gathered as k positions, padded by
  repeating its last one (masked out of means, never first for max). A 2-D bin's first maximum in
  row-major order is in the first row holding the bin's maximum, at that row's first maximum.
"""
import itertools
import math

import numpy as np

from .._memory import check_memory
from ..function import Function
from .conv import _nhwc

__all__ = ["pad", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "one_hot"]

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_tensor(value, op, what="input"):  # duck-typed: ops do not import the Tensor class
    if not callable(getattr(value, "numpy", None)) or not hasattr(value, "shape") or not hasattr(value, "dtype"):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(value).__name__}")


def _empty_in_order(shape, dtype, like, fill=None):
    """An array of ``shape`` whose axes lie in memory in the order of ``like``'s (largest stride
    first): an NCHW view of channels-last memory gives a channels-last result."""
    order = sorted(range(like.ndim), key=lambda a: -abs(like.strides[a]))
    shape = [shape[a] for a in order]
    buf = np.empty(shape, dtype=dtype) if fill is None else np.full(shape, fill, dtype=dtype)
    return buf.transpose(np.argsort(order))


# ----------------------------------------------------------------------------- pad


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
        out = _empty_in_order(out_shape, x.dtype, x)
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
        dx = _empty_in_order(shape, grad.dtype, grad, fill=0)
        dx[src] = part
        return dx


class BorderPad(Function):
    """Reflect, replicate or circular padding by copies of input slices (see the module docstring).
    ``segments``: per padded axis, ``(axis, ((out_slice, in_slice, stretched), ...))``; a stretched
    segment repeats one input element (replicate), so its gradient is summed over that axis."""

    @staticmethod
    def forward(ctx, x, segments, out_shape):
        out = _empty_in_order(out_shape, x.dtype, x)
        for dst, src, _ in _segment_blocks(segments, x.ndim):
            out[dst] = x[src]
        ctx.geometry = (x.shape, segments)
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, segments = ctx.geometry
        dx = _empty_in_order(shape, grad.dtype, grad, fill=0)
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
    _check_tensor(input, "pad")
    shape = tuple(input.shape)
    if not isinstance(pad, (tuple, list)) or not all(_is_int(p) for p in pad):
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
    segments = [(a, (_circular_segments(shape[a], l, r) if out_shape[a] else ()) if mode == "circular"
                 else _mirror_segments(mode == "reflect", shape[a], l, r)) for a, l, r in dims]
    return BorderPad.apply(input, segments=tuple(segments), out_shape=out_shape)


# ----------------------------------------------------------------------------- adaptive pooling


def _nchw(nhwc, out_shape):
    return nhwc.transpose(0, 3, 1, 2).reshape(out_shape)


def _bins(size, count):
    """Start and stop of each of ``count`` adaptive-pooling bins over an axis of ``size``."""
    i = np.arange(count)
    return i * size // count, -(-(i + 1) * size // count)


def _divides(size, count):
    return count > 0 and size % count == 0


def _along(vector, axis, ndim):
    """A 1-D (or, for a table, 2-D) array shaped to broadcast along ``axis`` of an ndim-array."""
    return vector.reshape(vector.shape + (1,) * (ndim - axis - 1))


def _bin_views(x, axis, count):
    """For each offset i below k (the longest bin), the i-th element of every bin, (..., count, ...),
    a shorter bin repeating its last element; with their positions (count, k) and which are real."""
    size = x.shape[axis]
    start, stop = _bins(size, count)
    k = int((stop - start).max()) if count else 1
    table = np.minimum(start[:, None] + np.arange(k), stop[:, None] - 1)
    if _divides(size, count):  # strided views of a reshape
        windows = x.reshape(x.shape[:axis] + (count, k) + x.shape[axis + 1:])
        views = [windows[(slice(None),) * (axis + 1) + (i,)] for i in range(k)]
    else:
        views = [np.take(x, table[:, i], axis=axis) for i in range(k)]
    return views, table, np.arange(k) < (stop - start)[:, None]


def _masked_sum(views, inside, axis):
    """The sum of the views where ``inside`` (per bin, offset); views[0] is all inside. A where=
    mask, not a 0/1 weight, so that an inf or NaN stays in its own bins (0 * inf is NaN)."""
    total = np.array(views[0])
    for i, view in enumerate(views[1:], 1):
        np.add(total, view, out=total, where=_along(inside[:, i], axis, total.ndim))
    return total


def _bin_mean(x, axis, count):
    """The mean of each of ``count`` bins along ``axis``."""
    if _divides(x.shape[axis], count):
        return x.reshape(x.shape[:axis] + (count, x.shape[axis] // count) + x.shape[axis + 1:]).mean(axis=axis + 1)
    views, _, inside = _bin_views(x, axis, count)
    return _masked_sum(views, inside, axis) / _along(inside.sum(axis=1).astype(x.dtype), axis, x.ndim)


def _bin_mean_grad(g, axis, size):
    """The adjoint of _bin_mean: input j gets g[i] / len(bin i) from each bin i that holds it.
    These bins are a run first(j)..last(j), gathered like the forward's bins: no scatter."""
    count = g.shape[axis]
    if _divides(size, count):
        return np.repeat(g * g.dtype.type(count / size), size // count, axis=axis)
    if count == 0:
        return np.zeros(g.shape[:axis] + (size,) + g.shape[axis + 1:], dtype=g.dtype)
    start, stop = _bins(size, count)
    share = g / _along((stop - start).astype(g.dtype), axis, g.ndim)
    j = np.arange(size)
    first, last = np.searchsorted(stop, j, side="right"), np.searchsorted(start, j, side="right") - 1
    offsets = np.arange(int((last - first).max()) + 1)
    table = np.minimum(first[:, None] + offsets, last[:, None])
    views = [np.take(share, table[:, i], axis=axis) for i in offsets]
    return _masked_sum(views, offsets <= (last - first)[:, None], axis)


def _bin_max(x, axis, count, payload=None):
    """The max of each of ``count`` bins along ``axis``, the position along ``axis`` of its winner
    (and ``payload``, an array like x, there): the first maximum, or the last NaN (torch's kernels
    take ``val > max || isnan(val)``). Per offset, elementwise passes with bool masks used as
    numbers: argmax along a middle axis, fancy indexing or where= are 5-10x slower."""
    views, table, _ = _bin_views(x, axis, count)
    carried = [[_along(table[:, i], axis, x.ndim) for i in range(len(views))]]
    if payload is not None:
        carried.append(_bin_views(payload, axis, count)[0])
    values = np.array(views[0])
    for view in views[1:]:
        np.maximum(values, view, out=values)  # NaN propagates
    best = [np.zeros(values.shape, dtype=np.intp) for _ in carried]
    taken = np.zeros(values.shape, dtype=bool)
    for i, view in enumerate(views):
        hit = view == values
        np.greater(hit, taken, out=hit)  # a maximum, and the first in its bin
        taken |= hit
        for b, c in zip(best, carried):
            b += hit * c[i]
    if not taken.all():  # bins whose maximum is NaN (never equal to itself): the last NaN wins
        for i, view in enumerate(views):
            for b, c in zip(best, carried):
                np.copyto(b, c[i], where=np.isnan(view))
    return (values, *best)


def _adaptive_max(x, output_size, shape4):
    """Maxima and their flat indices into H*W, both (N, OH, OW, C): per row and column bin first,
    then per row bin the first row holding the maximum, carrying that row's column along."""
    xs = _nhwc(x.reshape(shape4))
    row_max, col = _bin_max(xs, 2, output_size[1])
    values, row, col = _bin_max(row_max, 1, output_size[0], col)
    return values, row * xs.shape[2] + col


class AdaptiveAvgPool(Function):
    """Mean over each adaptive bin of the last two axes of the input's 4-D view ``shape4`` (1-D: H = 1)."""

    @staticmethod
    def forward(ctx, x, output_size, shape4, out_shape):
        ctx.geometry = (x.shape, shape4, output_size)
        return _nchw(_bin_mean(_bin_mean(_nhwc(x.reshape(shape4)), 2, output_size[1]), 1, output_size[0]), out_shape)

    @staticmethod
    def backward(ctx, grad):
        in_shape, (n, c, h, w), (oh, ow) = ctx.geometry
        g = _nhwc(grad.reshape(n, c, oh, ow))
        return _nchw(_bin_mean_grad(_bin_mean_grad(g, 1, h), 2, w), in_shape)


class AdaptiveMaxPool(Function):
    """Max over each adaptive bin; backward sends a bin's gradient to the element that won it.
    ``found``: (values, indices) computed already by the functional (for return_indices)."""

    @staticmethod
    def forward(ctx, x, output_size, shape4, out_shape, found=None):
        values, index = found if found is not None else _adaptive_max(x, output_size, shape4)
        ctx.save_for_backward(index)
        ctx.geometry = (x.shape, shape4, output_size)
        return _nchw(values, out_shape)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        in_shape, (n, c, h, w), (oh, ow) = ctx.geometry
        g = _nhwc(grad.reshape(n, c, oh, ow))
        flat = (np.arange(n).reshape(n, 1, 1, 1) * (h * w) + index) * c + np.arange(c)  # into NHWC dx
        if _divides(h, oh) and _divides(w, ow):  # disjoint bins: every input element wins at most once
            dx = np.zeros(n * h * w * c, dtype=grad.dtype)
            dx[flat] = g
        else:  # overlapping bins may share a winner: sum (vectorised, unlike np.add.at)
            dx = np.bincount(flat.ravel(), weights=g.ravel(), minlength=n * h * w * c).astype(grad.dtype, copy=False)
        return _nchw(dx.reshape(n, h, w, c), in_shape)


class _Constant(Function):
    """An array computed outside the graph (max pooling's indices, one_hot), returned as a Tensor."""

    @staticmethod
    def forward(ctx, array):
        return array

    @staticmethod
    def backward(ctx, grad):
        return None


def _adaptive_args(input, output_size, op, dims, is_max):
    """Checked options of a pooling over ``dims`` axes: the input's 4-D view, output shape, (OH, OW).
    output_size: an int or one per pooled axis; in 2-D, None keeps that input size."""
    _check_tensor(input, op)
    shape = tuple(input.shape)
    if len(shape) not in (dims + 1, dims + 2):
        layouts = ("(C, L) or (N, C, L)", "(C, H, W) or (N, C, H, W)")[dims - 1]
        raise ValueError(f"{op}: input must be {dims + 1}-D or {dims + 2}-D {layouts}, got shape {shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {input.dtype}")
    for axis in range(1 if is_max else len(shape) - dims, len(shape)):  # which dims torch lets be empty
        if shape[axis] == 0:
            raise ValueError(f"{op}: dimension {axis} of the input is empty (shape {shape}); only the batch "
                             f"dimension{'' if is_max else ' and the channels'} may be")
    sizes = (output_size,) * dims if _is_int(output_size) else output_size
    if not isinstance(sizes, (tuple, list)) or not all(_is_int(s) or (s is None and dims == 2) for s in sizes):
        kind = "an int or a pair of ints (or None)" if dims == 2 else "an int"
        raise TypeError(f"{op}: output_size must be {kind}, got {output_size!r}")
    if len(sizes) != dims:
        raise ValueError(f"{op}: output_size must have {dims} entries, got {output_size!r}")
    sizes = tuple(shape[i - dims] if size is None else int(size) for i, size in enumerate(sizes))
    if min(sizes) < 0:
        raise ValueError(f"{op}: output_size must be non-negative, got {output_size!r}")
    out_shape = shape[:-dims] + sizes
    item = input.dtype.itemsize + 8 * is_max  # max pooling keeps int64 indices too
    check_memory(op, math.prod(out_shape) * item, f"an output of shape {out_shape}", "; check output_size")
    shape4 = (1,) * (4 - len(shape)) + shape if dims == 2 else ((1,) + shape)[-3:-1] + (1, shape[-1])  # 1-D: H = 1
    return {"shape4": shape4, "out_shape": out_shape, "output_size": sizes if dims == 2 else (1,) + sizes}


def _adaptive_max_pool(input, output_size, return_indices, op, dims):
    options = _adaptive_args(input, output_size, op, dims, is_max=True)
    if not isinstance(return_indices, (bool, np.bool_)):
        raise TypeError(f"{op}: return_indices must be True or False, got {return_indices!r}")
    if not return_indices:
        return AdaptiveMaxPool.apply(input, **options)
    values, index = _adaptive_max(input.numpy(), options["output_size"], options["shape4"])
    out = AdaptiveMaxPool.apply(input, found=(values, index), **options)
    return out, _Constant.apply(_nchw(index.astype(np.int64, copy=False), options["out_shape"]))


def adaptive_avg_pool2d(input, output_size):
    """``torch.nn.functional.adaptive_avg_pool2d``: (N, C, H, W) or (C, H, W) -> (..., OH, OW) bin means."""
    return AdaptiveAvgPool.apply(input, **_adaptive_args(input, output_size, "adaptive_avg_pool2d", 2, False))


def adaptive_avg_pool1d(input, output_size):
    """``torch.nn.functional.adaptive_avg_pool1d``: (N, C, L) or (C, L) -> (..., output_size)."""
    return AdaptiveAvgPool.apply(input, **_adaptive_args(input, output_size, "adaptive_avg_pool1d", 1, False))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """``torch.nn.functional.adaptive_max_pool2d``; ``return_indices``: also the int64 index into H*W
    of each bin's first maximum in row-major order."""
    return _adaptive_max_pool(input, output_size, return_indices, "adaptive_max_pool2d", 2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """``torch.nn.functional.adaptive_max_pool1d``: (N, C, L) or (C, L) -> (..., output_size)."""
    return _adaptive_max_pool(input, output_size, return_indices, "adaptive_max_pool1d", 1)


def one_hot(tensor, num_classes=-1):
    """``torch.nn.functional.one_hot``: integer class indices (*) -> int64 one-hot rows (*, num_classes);
    num_classes=-1 means the largest class + 1. Not differentiable."""
    _check_tensor(tensor, "one_hot", "tensor")
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot: tensor must hold integer class indices (int64), got {tensor.dtype}")
    if not _is_int(num_classes):
        raise TypeError(f"one_hot: num_classes must be an int (-1: the largest class + 1), got {num_classes!r}")
    if num_classes < -1:
        raise ValueError(f"one_hot: num_classes must be -1 or non-negative, got {num_classes}")
    labels = tensor.numpy()
    if not labels.size and num_classes == -1:
        raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {labels.min()}")
    if labels.size and num_classes != -1 and labels.max() >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes={num_classes}, got {labels.max()}")
    num_classes = int(labels.max()) + 1 if num_classes == -1 else num_classes
    check_memory("one_hot", labels.size * num_classes * 8, f"an int64 output of {num_classes} classes", "")
    return _Constant.apply((labels[..., None] == np.arange(num_classes)).astype(np.int64))  # no gradient
