"""Padding, adaptive pooling and one_hot, with the names, arguments and semantics of
``torch.nn.functional``: ``pad``, ``adaptive_avg_pool1d/2d``, ``adaptive_max_pool1d/2d``, ``one_hot``.

Each op is a `Function` with its lowercase functional beside it. The functional checks the
arguments once and turns them into plain options (slices, sizes), so forward and backward only
compute.

* ``pad`` writes into one ``np.empty`` output laid out in the input's memory order (an NCHW view
  of channels-last memory stays channels-last; see ``conv.py``). Constant mode fills the borders
  and copies the interior once. Reflect, replicate and circular describe each padded dimension
  as at most three segments, each the copy of an input slice (reversed for reflect, one element
  stretched for replicate); the output is their product, one slice copy per block (at most 27),
  and the backward adds each gradient block back onto its input slice: no scatter at all.
* Adaptive pooling splits an axis of size L into O bins, bin i covering
  [floor(i*L/O), ceil((i+1)*L/O)). When O divides L the bins are a reshape. Otherwise average
  pooling multiplies each axis by an (O, L) matrix of bin weights (BLAS; the backward multiplies
  by its transpose), and max pooling gathers each bin as a fixed number of positions, clipped to
  the bin so that a repeat never comes first. Max pooling works one axis at a time: the first
  maximum of a 2-D bin in row-major order lies in the first row that holds the bin's maximum, at
  that row's first maximum (and a NaN wins, the last one, as in torch).
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


# ----------------------------------------------------------------------------- shared helpers


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_tensor(value, op, what="input"):
    if not callable(getattr(value, "numpy", None)) or not hasattr(value, "shape") or not hasattr(value, "dtype"):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(value).__name__}")


def _empty_in_order(shape, dtype, like, fill=None):
    """An array of ``shape`` whose axes lie in memory in the order of ``like``'s (largest stride
    first), so that e.g. an NCHW view of channels-last memory gives a channels-last result."""
    order = sorted(range(like.ndim), key=lambda a: -abs(like.strides[a]))
    shape = [shape[a] for a in order]
    buf = np.empty(shape, dtype=dtype) if fill is None else np.full(shape, fill, dtype=dtype)
    return buf.transpose(np.argsort(order))


def _axis_index(ndim, axis, index):
    """The index tuple that applies ``index`` along ``axis`` and takes everything elsewhere."""
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


# ----------------------------------------------------------------------------- pad


class ConstantPad(Function):
    """Constant padding of any dimensions; negative pads crop. Backward: the interior of the
    gradient (with zeros where the input was cropped away)."""

    @staticmethod
    def forward(ctx, x, dims, value):
        out_shape = list(x.shape)
        src, dst = [slice(None)] * x.ndim, [slice(None)] * x.ndim
        for axis, left, right in dims:
            size = x.shape[axis]
            out_shape[axis] = size + left + right
            first = min(max(0, -left), size)  # the input range that survives the cropping
            last = max(min(size, size + right), first)
            src[axis], dst[axis] = slice(first, last), slice(first + left, last + left)
        out = _empty_in_order(out_shape, x.dtype, x)
        for axis, left, right in dims:  # the border slabs (corners are filled twice: cheaper than exact)
            if left > 0:
                out[_axis_index(x.ndim, axis, slice(0, left))] = value
            if right > 0:
                out[_axis_index(x.ndim, axis, slice(max(0, out_shape[axis] - right), None))] = value
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
    """Reflect, replicate or circular padding as copies of input slices (see the module docstring).

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
            if stretched:
                part = part.sum(axis=stretched, keepdims=True)
            dx[src] += part  # within one block the input slices are one-to-one: no collisions
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
    mirrored about the first and last element (reflect) or clamped (replicate) into [0, size);
    negative pads just hide some of these positions."""
    lo, hi = -left, size + right  # the virtual indices shown, [lo, hi)
    top = 2 * size - 2  # reflect: j >= size shows top - j
    segments = []
    a, b = lo, min(0, hi)  # before the first element
    if a < b:
        segments.append((slice(a + left, b + left), slice(-a, -b, -1) if reflect else slice(0, 1), not reflect))
    a, b = max(lo, 0), min(hi, size)  # the input itself
    if a < b:
        segments.append((slice(a + left, b + left), slice(a, b), False))
    a, b = max(lo, size), hi  # after the last element
    if a < b:
        src = slice(top - a, top - b if top - b >= 0 else None, -1) if reflect else slice(size - 1, size)
        segments.append((slice(a + left, b + left), src, not reflect))
    return tuple(segments)


def _circular_segments(size, left, right):
    """Circular, as torch: negative pads crop first, then the cropped input wraps around."""
    start, lp, rp = max(0, -left), max(0, left), max(0, right)
    kept = size - start - max(0, -right)
    segments = []
    if lp:
        segments.append((slice(0, lp), slice(start + kept - lp, start + kept), False))
    if kept:
        segments.append((slice(lp, lp + kept), slice(start, start + kept), False))
    if rp:
        segments.append((slice(lp + kept, lp + kept + rp), slice(start, start + rp), False))
    return tuple(segments)


def _pad_widths(pad, shape):
    """``pad`` as (axis, left, right) per padded axis, last axis first (torch's order)."""
    if not isinstance(pad, (tuple, list)) or not all(_is_int(p) for p in pad):
        raise TypeError(f"pad: pad must be a tuple of ints (left, right of the last dimension first), got {pad!r}")
    if len(pad) % 2:
        raise ValueError(f"pad: pad must have an even length (a (left, right) pair per dimension), got {tuple(pad)}")
    if len(pad) // 2 > len(shape):
        raise ValueError(f"pad: pad {tuple(pad)} pads {len(pad) // 2} dimensions but the input has only "
                         f"{len(shape)} (shape {shape})")
    return tuple((len(shape) - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(len(pad) // 2))


def _fill_value(value, dtype):
    """The constant of constant padding (None = 0) as a scalar of the input's dtype."""
    if value is None:
        value = 0
    if not isinstance(value, (int, float, np.number, np.bool_)):  # bool is an int
        raise TypeError(f"pad: value must be a number, got {value!r}")
    if dtype.kind in "biu" and not math.isfinite(value):
        raise ValueError(f"pad: value {value!r} cannot be stored in a {dtype} tensor")
    return np.asarray(value).astype(dtype)[()]


def _check_border_pad(mode, shape, dims, value):
    """torch's rules for the non-constant modes (which dims they pad, which sizes they accept)."""
    if value is not None and value != 0:
        raise ValueError(f"pad: mode={mode!r} takes no value argument (it is for mode='constant'), got value={value!r}")
    k, ndim = len(dims), len(shape)
    if k not in (1, 2, 3) or ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: mode={mode!r} pads the last 1, 2 or 3 dimensions of a 2-D/3-D, 3-D/4-D or 4-D/5-D input "
            f"(pad of length 2, 4 or 6); got a pad of length {2 * k} for a {ndim}-D input of shape {shape}")
    if mode != "circular":
        for axis in range(1 if ndim == k + 2 else 0, ndim):
            if shape[axis] == 0:
                raise ValueError(f"pad: mode={mode!r} needs non-empty dimensions (only a leading batch dimension "
                                 f"may be empty), got input shape {shape}")
    if mode == "reflect":
        for axis, left, right in dims:
            if left >= shape[axis] or right >= shape[axis]:
                raise ValueError(f"pad: reflect padding must be less than the size of the dimension it pads; got "
                                 f"({left}, {right}) for dimension {axis} of size {shape[axis]} (input shape {shape})")


def pad(input, pad, mode="constant", value=None):
    """``torch.nn.functional.pad``: pad (or, with negative widths, crop) the last ``len(pad) // 2``
    dimensions; ``pad = (left, right)`` of the last dimension, then of the one before, and so on.

    mode: 'constant' (``value``, default 0; any number of dimensions), 'reflect' (mirror without
    repeating the edge), 'replicate' (repeat the edge) or 'circular' (wrap around); the last three
    pad the last 1, 2 or 3 dimensions of a 2-D/3-D, 3-D/4-D or 4-D/5-D input, as in torch.
    """
    op = "pad"
    _check_tensor(input, op)
    shape = tuple(input.shape)
    dims = _pad_widths(pad, shape)
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: mode must be one of {', '.join(map(repr, _PAD_MODES))}, got {mode!r}")
    if mode != "constant":
        _check_border_pad(mode, shape, dims, value)
    out_shape = list(shape)
    smallest = 1 if mode in ("reflect", "replicate") else 0
    for axis, left, right in dims:
        out_shape[axis] += left + right
        if out_shape[axis] < smallest:
            raise ValueError(f"pad: padding ({left}, {right}) of dimension {axis} (size {shape[axis]}) leaves "
                             f"{out_shape[axis]} elements; mode={mode!r} needs at least {smallest}")
        kept = shape[axis] - max(0, -left) - max(0, -right)
        if mode == "circular" and max(left, right) > kept:
            raise ValueError(f"pad: circular padding ({left}, {right}) of dimension {axis} would wrap around more "
                             f"than once: it keeps {kept} of its {shape[axis]} elements (input shape {shape})")
    out_shape = tuple(out_shape)
    check_memory(op, math.prod(out_shape) * input.dtype.itemsize, f"an output of shape {out_shape}", "; check pad")
    if mode == "constant":
        return ConstantPad.apply(input, dims=dims, value=_fill_value(value, input.dtype))
    if mode == "circular":
        segments = tuple((axis, _circular_segments(shape[axis], left, right)) for axis, left, right in dims)
    else:
        segments = tuple((axis, _mirror_segments(mode == "reflect", shape[axis], left, right))
                         for axis, left, right in dims)
    return BorderPad.apply(input, segments=segments, out_shape=out_shape)


# ----------------------------------------------------------------------------- adaptive pooling


def _bins(size, count):
    """Start and stop of each of ``count`` adaptive-pooling bins over an axis of ``size``."""
    i = np.arange(count)
    return i * size // count, -(-(i + 1) * size // count)


def _divides(size, count):
    return count > 0 and size % count == 0


def _avg_matrix(size, count, dtype):
    """The (count, size) matrix whose row i averages bin i."""
    start, stop = _bins(size, count)
    j = np.arange(size)
    inside = (j >= start[:, None]) & (j < stop[:, None])
    return (inside / (stop - start)[:, None]).astype(dtype)


def _along(matrix, x, axis):
    """``matrix`` applied to ``x`` along ``axis`` (one GEMM)."""
    return np.moveaxis(np.tensordot(matrix, x, axes=(1, axis)), 0, axis)


def _to_nchw(nhwc, out_shape):
    return nhwc.transpose(0, 3, 1, 2).reshape(out_shape)


class AdaptiveAvgPool(Function):
    """Mean over each adaptive bin of the last two axes of a 4-D view of the input
    (``shape4``; 1-D pooling has H = 1). Works on the channels-last view, as conv.py's ops do."""

    @staticmethod
    def forward(ctx, x, output_size, shape4, out_shape):
        xs = _nhwc(x.reshape(shape4))
        n, h, w, c = xs.shape
        oh, ow = output_size
        if _divides(h, oh) and _divides(w, ow):  # equal, disjoint bins (global pooling among them)
            out = xs.reshape(n, oh, h // oh, ow, w // ow, c).mean(axis=(2, 4))
        else:
            rows = _along(_avg_matrix(h, oh, xs.dtype), xs, 1)
            out = np.ascontiguousarray(_along(_avg_matrix(w, ow, xs.dtype), rows, 2))
        ctx.geometry = (x.shape, shape4, output_size)
        return _to_nchw(out, out_shape)

    @staticmethod
    def backward(ctx, grad):
        in_shape, (n, c, h, w), (oh, ow) = ctx.geometry
        g = _nhwc(grad.reshape(n, c, oh, ow))
        if _divides(h, oh) and _divides(w, ow):
            kh, kw = h // oh, w // ow
            share = g * g.dtype.type(1.0 / (kh * kw))
            dx = np.broadcast_to(share[:, :, None, :, None], (n, oh, kh, ow, kw, c)).reshape(n, h, w, c)
        else:
            cols = _along(_avg_matrix(w, ow, g.dtype).T, g, 2)
            dx = np.ascontiguousarray(_along(_avg_matrix(h, oh, g.dtype).T, cols, 1))
        return _to_nchw(dx, in_shape)


def _bin_max(x, axis, count):
    """Maximum of each of ``count`` bins along ``axis`` and its position along that axis: the first
    maximum, or the last NaN when there is one (torch's kernels: ``val > max || isnan(val)``)."""
    size = x.shape[axis]
    start, stop = _bins(size, count)
    if _divides(size, count):
        k = size // count
        positions = start[:, None] + np.arange(k)
        windows = x.reshape(x.shape[:axis] + (count, k) + x.shape[axis + 1:])
    else:
        k = int((stop - start).max()) if count else 1
        positions = np.minimum(start[:, None] + np.arange(k), stop[:, None] - 1)  # (count, k), clipped to the bin
        windows = np.take(x, positions, axis=axis)
    arg = np.expand_dims(np.argmax(windows, axis=axis + 1), axis + 1)
    values = np.take_along_axis(windows, arg, axis=axis + 1)
    if np.isnan(values).any():  # rare: only then pay for finding the last NaN
        isnan = np.isnan(windows)
        last = k - 1 - np.argmax(np.flip(isnan, axis=axis + 1), axis=axis + 1, keepdims=True)
        arg = np.where(isnan.any(axis=axis + 1, keepdims=True), last, arg)
    arg = arg.squeeze(axis + 1)
    bins = np.arange(count).reshape((count,) + (1,) * (x.ndim - axis - 1))
    return values.squeeze(axis + 1), positions[bins, arg]


def _adaptive_max(x, output_size, shape4):
    """Maxima and their flat indices into H*W, both (N, OH, OW, C): per row and column bin first,
    then per row bin the first row holding the maximum, keeping that row's column."""
    xs = _nhwc(x.reshape(shape4))
    row_max, col = _bin_max(xs, 2, output_size[1])
    values, row = _bin_max(row_max, 1, output_size[0])
    return values, row * xs.shape[2] + np.take_along_axis(col, row, axis=1)


class AdaptiveMaxPool(Function):
    """Max over each adaptive bin; backward sends a bin's gradient to the element that won it.
    ``found`` = (values, indices) already computed by the functional (for return_indices)."""

    @staticmethod
    def forward(ctx, x, output_size, shape4, out_shape, found=None):
        values, index = found if found is not None else _adaptive_max(x, output_size, shape4)
        ctx.save_for_backward(index)
        ctx.geometry = (x.shape, shape4, output_size)
        return _to_nchw(values, out_shape)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        in_shape, (n, c, h, w), (oh, ow) = ctx.geometry
        g = _nhwc(grad.reshape(n, c, oh, ow))
        flat = (np.arange(n).reshape(n, 1, 1, 1) * (h * w) + index) * c + np.arange(c)  # into NHWC dx
        if _divides(h, oh) and _divides(w, ow):  # disjoint bins: every input element wins at most once
            dx = np.zeros(n * h * w * c, dtype=grad.dtype)
            dx[flat] = g
        else:  # overlapping bins can share a winner: sum (vectorised, unlike np.add.at)
            dx = np.bincount(flat.ravel(), weights=g.ravel(), minlength=n * h * w * c).astype(grad.dtype, copy=False)
        return _to_nchw(dx.reshape(n, h, w, c), in_shape)


class _Constant(Function):
    """Wraps an array computed elsewhere (the indices of adaptive max pooling) as a Tensor."""

    @staticmethod
    def forward(ctx, array):
        return array

    @staticmethod
    def backward(ctx, grad):
        return None


def _output_size(output_size, in_sizes, op):
    """torch's output_size: an int or a sequence of len(in_sizes) ints; for 2-D pooling an entry
    may be None (keep that input size)."""
    dims = len(in_sizes)
    sizes = (output_size,) * dims if _is_int(output_size) else output_size
    kind = "an int or a pair of ints (or None)" if dims == 2 else "an int"
    if not isinstance(sizes, (tuple, list)) or not all(_is_int(s) or (s is None and dims == 2) for s in sizes):
        raise TypeError(f"{op}: output_size must be {kind}, got {output_size!r}")
    if len(sizes) != dims:
        raise ValueError(f"{op}: output_size must have {dims} entries, got {output_size!r}")
    sizes = tuple(int(size) if size is not None else in_sizes[i] for i, size in enumerate(sizes))
    if min(sizes) < 0:
        raise ValueError(f"{op}: output_size must be non-negative, got {output_size!r}")
    return sizes


def _adaptive_args(input, output_size, op, dims, is_max):
    """(shape4, out_shape, (OH, OW)) of a checked adaptive pooling call; dims = 1 or 2."""
    _check_tensor(input, op)
    shape = tuple(input.shape)
    layouts = ("(C, L) or (N, C, L)", "(C, H, W) or (N, C, H, W)")[dims - 1]
    if len(shape) not in (dims + 1, dims + 2):
        raise ValueError(f"{op}: input must be {dims + 1}-D or {dims + 2}-D {layouts}, got shape {shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {input.dtype}")
    # torch: the batch (and for average pooling the channels) may be empty, the pooled axes not
    for axis in range(1 if is_max else len(shape) - dims, len(shape)):
        if shape[axis] == 0:
            raise ValueError(f"{op}: dimension {axis} of the input is empty (shape {shape}); only the batch "
                             f"dimension{'' if is_max else ' and the channels'} may be")
    sizes = _output_size(output_size, shape[-dims:], op)
    out_shape = shape[:-dims] + sizes
    item = input.dtype.itemsize + (8 if is_max else 0)  # max pooling keeps int64 indices too
    check_memory(op, math.prod(out_shape) * item, f"an output of shape {out_shape}", "; check output_size")
    if dims == 2:
        return (1,) * (4 - len(shape)) + shape, out_shape, sizes
    n, c = ((1,) + shape)[-3:-1]
    return (n, c, 1, shape[-1]), out_shape, (1,) + sizes


def _adaptive_max_pool(input, output_size, return_indices, op, dims):
    shape4, out_shape, size = _adaptive_args(input, output_size, op, dims, is_max=True)
    if not isinstance(return_indices, (bool, np.bool_)):
        raise TypeError(f"{op}: return_indices must be True or False, got {return_indices!r}")
    options = {"output_size": size, "shape4": shape4, "out_shape": out_shape}
    if not return_indices:
        return AdaptiveMaxPool.apply(input, **options)
    values, index = _adaptive_max(input.numpy(), size, shape4)
    out = AdaptiveMaxPool.apply(input, found=(values, index), **options)
    return out, _Constant.apply(_to_nchw(index.astype(np.int64, copy=False), out_shape))


def adaptive_avg_pool2d(input, output_size):
    """``torch.nn.functional.adaptive_avg_pool2d``: (N, C, H, W) or (C, H, W) -> (..., OH, OW), each
    output the mean of its bin; ``output_size`` an int or (OH, OW), None keeping that size."""
    shape4, out_shape, size = _adaptive_args(input, output_size, "adaptive_avg_pool2d", 2, is_max=False)
    return AdaptiveAvgPool.apply(input, output_size=size, shape4=shape4, out_shape=out_shape)


def adaptive_avg_pool1d(input, output_size):
    """``torch.nn.functional.adaptive_avg_pool1d``: (N, C, L) or (C, L) -> (..., output_size)."""
    shape4, out_shape, size = _adaptive_args(input, output_size, "adaptive_avg_pool1d", 1, is_max=False)
    return AdaptiveAvgPool.apply(input, output_size=size, shape4=shape4, out_shape=out_shape)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """``torch.nn.functional.adaptive_max_pool2d``: the max of each bin (see adaptive_avg_pool2d);
    with ``return_indices``, also (values, indices), an index being the flat position of the
    winner in its H*W plane (int64; the first maximum in row-major order, as torch)."""
    return _adaptive_max_pool(input, output_size, return_indices, "adaptive_max_pool2d", 2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """``torch.nn.functional.adaptive_max_pool1d``: (N, C, L) or (C, L) -> (..., output_size)."""
    return _adaptive_max_pool(input, output_size, return_indices, "adaptive_max_pool1d", 1)


# ----------------------------------------------------------------------------- one_hot


class OneHot(Function):
    """(*) class indices -> (*, num_classes) int64, 1 at each class; integer input: no gradient."""

    @staticmethod
    def forward(ctx, labels, num_classes):
        return (labels[..., None] == np.arange(num_classes)).astype(np.int64)

    @staticmethod
    def backward(ctx, grad):
        return None


def one_hot(tensor, num_classes=-1):
    """``torch.nn.functional.one_hot``: integer class indices -> int64 one-hot rows over a new last
    dimension of ``num_classes`` (-1: the largest class + 1)."""
    op = "one_hot"
    _check_tensor(tensor, op, "tensor")
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"{op}: tensor must hold integer class indices (int64), got {tensor.dtype}")
    if not _is_int(num_classes):
        raise TypeError(f"{op}: num_classes must be an int (-1: the largest class + 1), got {num_classes!r}")
    if num_classes < -1:
        raise ValueError(f"{op}: num_classes must be -1 or non-negative, got {num_classes}")
    labels = tensor.numpy()
    if labels.size:
        low, high = labels.min(), labels.max()
        if low < 0:
            raise ValueError(f"{op}: class values must be non-negative, got {low}")
        if num_classes == -1:
            num_classes = int(high) + 1
        elif high >= num_classes:
            raise ValueError(f"{op}: class values must be smaller than num_classes={num_classes}, got {high}")
    elif num_classes == -1:
        raise ValueError(f"{op}: cannot infer num_classes from an empty tensor; pass num_classes")
    out_shape = tuple(tensor.shape) + (int(num_classes),)
    check_memory(op, math.prod(out_shape) * 8, f"an int64 output of shape {out_shape}", "; check num_classes")
    return OneHot.apply(tensor, num_classes=int(num_classes))
