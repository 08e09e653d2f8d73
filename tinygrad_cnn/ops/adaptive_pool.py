"""``torch.nn.functional``'s adaptive_avg/max_pool1d/2d: same names, arguments, semantics.

Adaptive pooling splits an axis of size L into O bins, bin i covering [floor(i*L/O), ceil((i+1)*L/O)),
one axis at a time: a reshape when O divides L, else each bin gathered as k positions, padded by
repeating its last one (masked out of means, never first for max). A 2-D bin's first maximum in
row-major order is in the first row holding the bin's maximum, at that row's first maximum.
Channels-last inside (``layout.py``).
"""
import math

import numpy as np

from .._memory import check_memory
from ..function import Function
from ._checks import check_tensor, is_int
from .layout import nhwc
from .movement import Constant

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d"]


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
    xs = nhwc(x.reshape(shape4))
    row_max, col = _bin_max(xs, 2, output_size[1])
    values, row, col = _bin_max(row_max, 1, output_size[0], col)
    return values, row * xs.shape[2] + col


class AdaptiveAvgPool(Function):
    """Mean over each adaptive bin of the last two axes of the input's 4-D view ``shape4`` (1-D: H = 1)."""

    @staticmethod
    def forward(ctx, x, output_size, shape4, out_shape):
        ctx.geometry = (x.shape, shape4, output_size)
        return _nchw(_bin_mean(_bin_mean(nhwc(x.reshape(shape4)), 2, output_size[1]), 1, output_size[0]), out_shape)

    @staticmethod
    def backward(ctx, grad):
        in_shape, (n, c, h, w), (oh, ow) = ctx.geometry
        g = nhwc(grad.reshape(n, c, oh, ow))
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
        g = nhwc(grad.reshape(n, c, oh, ow))
        flat = (np.arange(n).reshape(n, 1, 1, 1) * (h * w) + index) * c + np.arange(c)  # into NHWC dx
        if _divides(h, oh) and _divides(w, ow):  # disjoint bins: every input element wins at most once
            dx = np.zeros(n * h * w * c, dtype=grad.dtype)
            dx[flat] = g
        else:  # overlapping bins may share a winner: sum (vectorised, unlike np.add.at)
            dx = np.bincount(flat.ravel(), weights=g.ravel(), minlength=n * h * w * c).astype(grad.dtype, copy=False)
        return _nchw(dx.reshape(n, h, w, c), in_shape)


def _adaptive_args(input, output_size, op, dims, is_max):
    """Checked options of a pooling over ``dims`` axes: the input's 4-D view, output shape, (OH, OW).
    output_size: an int or one per pooled axis; in 2-D, None keeps that input size."""
    check_tensor(input, op)
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
    sizes = (output_size,) * dims if is_int(output_size) else output_size
    if not isinstance(sizes, (tuple, list)) or not all(is_int(s) or (s is None and dims == 2) for s in sizes):
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
    return out, Constant.apply(_nchw(index.astype(np.int64, copy=False), options["out_shape"]))


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
