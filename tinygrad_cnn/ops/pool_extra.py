"""Pooling beyond the MNIST fast path of pool.py: max pooling with dilation, ceil_mode and indices,
and average pooling in ceil_mode (torch's divisors at the clipped border windows).

``nn.functional.max_pool2d`` / ``avg_pool2d`` keep pool.py's tuned Functions for the common case
(no dilation, floor-sized output, no indices) and route the rest here, after one geometry check
(`pool_geometry`) that both paths share. Channels-last inside (layout.py):

* `MaxPool2dWithIndices`: per cache-sized batch block, np.maximum over the kernel offsets' strided
  window views of the -inf padded input (as pool.py). Backward, per offset: its view compared with
  the maxima, minus the windows already served, gives where it won (the first maximum in
  row-major order), and the output gradient there is added into its window of the padded input
  gradient (no scatter). Blocks holding a NaN or a window of -inf only take torch's other rules
  (the last NaN; the window's first element) through the winning offsets (uint8 per output),
  which return_indices also uses to give the int64 indices into H*W.
* `AvgPool2dCeil`: window sums as two separable passes (kw then kh strided slice-adds, instead of
  kh*kw), times 1/divisor per output pixel; torch's divisor is a product of a row and a column
  term, so it is kept as two vectors. Backward: the two adjoint passes.
"""
import math

import numpy as np

from .._memory import check_memory
from ..errors import ArgumentError
from ..function import Function
from ._blocks import Blocks
from ._checks import int_pair, memoize_checks, output_length
from .layout import nhwc, window_view
from .movement import Constant

# ----------------------------------------------------------------------------- geometry


def _pool_size(size, kernel, stride, pad, dilation, ceil_mode):
    """torch's pooling output size: floor or ceil of the window count; in ceil mode the last
    window must start inside the input or the left padding, else it is dropped."""
    span = dilation * (kernel - 1) + 1
    out = (size + 2 * pad - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _one(value):
    """torch takes [k] for k."""
    return value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value


@memoize_checks
def pool_geometry(op, shape, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    """Checked (kernel, stride, padding, dilation, (OH, OW)) of a 2-D pooling of a 4-D ``shape``.
    stride None (or []) means the kernel size. Errors: TypeError for a wrong type (as conv.py);
    for a wrong value ArgumentError, both torch's RuntimeError and conv.py's ValueError."""
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"{op}: ceil_mode must be True or False, got {ceil_mode!r}")
    kernel = int_pair(_one(kernel_size), "kernel_size", op, 1)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not len(stride)) else \
        int_pair(_one(stride), "stride", op, 1)
    padding = int_pair(_one(padding), "padding", op, 0)
    dilation = int_pair(_one(dilation), "dilation", op, 1)
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ArgumentError(f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
                             f"kernel_size={k} and dilation={d}")
        if p > k // 2:
            raise ArgumentError(f"{op}: pad should be smaller than or equal to half of kernel size, but got "
                             f"padding {padding} for kernel_size {kernel}")
    if len(shape) != 4 or 0 in shape[1:]:
        raise ArgumentError(f"{op}: expected a 4-D (N, C, H, W) input with non-empty C, H and W (only the batch "
                         f"may be empty), got shape {tuple(shape)}")
    out = tuple(_pool_size(shape[2 + a], kernel[a], stride[a], padding[a], dilation[a], ceil_mode) for a in (0, 1))
    for axis, name in ((0, "rows"), (1, "columns")):
        if out[axis] < 1:  # (in ceil mode a kernel larger than the padded input may still fit one window)
            try:
                output_length(shape[2 + axis], 2 * padding[axis], kernel[axis], 1, dilation[axis], op, name)
            except ValueError as err:  # conv.py's message; torch's RuntimeError too
                raise ArgumentError(str(err)) from None
    # a stride that places one window, or a dilation of a 1-tap kernel, changes nothing: cap them so
    # that no strided view gets an absurd step (stride=10**30 is legal), as conv.py does
    stride = tuple(s if n > 1 else min(s, max(size + 2 * p, d * (k - 1) + 1))  # (still one window, in either mode)
                   for s, n, size, p, d, k in zip(stride, out, shape[2:], padding, dilation, kernel))
    dilation = tuple(d if k > 1 else 1 for d, k in zip(dilation, kernel))
    return kernel, stride, padding, dilation, out


@memoize_checks
def pool_plan(op, shape, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    """``pool_geometry`` and whether pool.py's tuned Functions compute this pooling: no dilation,
    the floor-mode output size (a ceil_mode that changes nothing stays fast), a non-empty input."""
    geometry = pool_geometry(op, shape, kernel_size, stride, padding, dilation, ceil_mode)
    kernel, step, pad, dil, out = geometry
    floor = tuple((size + 2 * p - k) // s + 1 for size, k, s, p in zip(shape[2:], kernel, step, pad))
    return geometry, dil == (1, 1) and out == floor and min(shape) > 0


def _padded_item(shape, kernel, stride, padding, dilation, out_size):
    """((Hp, Wp, C), (top, left)) of the padded buffer that holds every window of the output
    (it may reach past the bottom/right padding in ceil mode, or stop short of the input's end)."""
    hp = (out_size[0] - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1
    wp = (out_size[1] - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1
    return (hp, wp, shape[3]), padding


def _blocks(xs, kernel, stride, padding, dilation, out_size, fill):
    """Batch blocks of about 2 MB of padded NHWC input, padded per block with ``fill``."""
    n, h, w, c = xs.shape
    item = _padded_item(xs.shape, kernel, stride, padding, dilation, out_size)
    (hp, wp, _), _ = item
    return Blocks(n, 1, 0, xs.dtype, item if any(padding) or hp > h or wp > w else None, fill=fill,
                   item_bytes=max(hp, h) * max(wp, w) * c * xs.dtype.itemsize)


# ----------------------------------------------------------------------------- max pooling


def _first_valid(out_len, stride, pad, dilation):
    """Per output position, the first kernel offset at or after the start of the input (torch's
    index of a window that holds only -inf)."""
    start = np.arange(out_len) * stride - pad
    return -(np.minimum(start, 0) // dilation)


def taps_dtype(kernel):
    return np.uint8 if kernel[0] * kernel[1] < 256 else np.int32


def window_taps(src, o, t, kernel, stride, dilation):
    """t = the kernel offset i*kw + j of each window's winner, given its maximum ``o`` (NHWC blocks):
    the first maximum in row-major order, or the last NaN. Offsets are visited last to first, so
    that the first one holding the maximum is written last; t + hit * (k - t) is where(hit, k, t)
    without a mask (masked copies were measured 10x slower than these passes)."""
    (kh, kw), (oh, ow) = kernel, o.shape[1:3]
    tmp = np.empty(t.shape, dtype=t.dtype)
    t[...] = 0
    nan = np.isnan(o).any()
    for k in range(kh * kw - 1, -1, -1):
        hit = window_view(src, k // kw, k % kw, oh, ow, stride, dilation) == o
        np.subtract(k, t, out=tmp)  # modular in uint8, and exact: where(hit, k, t)
        tmp *= hit
        t += tmp
    for k in range(kh * kw) if nan else ():  # NaN windows: the last NaN (torch: val > max || isnan(val))
        hit = np.isnan(window_view(src, k // kw, k % kw, oh, ow, stride, dilation))
        np.subtract(k, t, out=tmp)
        tmp *= hit
        t += tmp


def _fix_empty(t, o, kernel, stride, padding, dilation):
    """Windows holding only -inf point at their first element at or after the input's start (torch)."""
    empty = o == -np.inf
    if empty.any():
        kw, (oh, ow) = kernel[1], o.shape[1:3]
        first = (_first_valid(oh, stride[0], padding[0], dilation[0])[:, None] * kw
                 + _first_valid(ow, stride[1], padding[1], dilation[1]))
        np.copyto(t, first[:, :, None].astype(t.dtype), where=empty)


def max_windows(x, kernel, stride, padding, dilation, out_size, with_taps=False):
    """The maxima (N, OH, OW, C) of a max pooling of NCHW ``x``, and, if ``with_taps``, the winning
    kernel offsets (uint8, or int32 for kernels of 256 elements or more)."""
    (kh, kw), (oh, ow) = kernel, out_size
    xs = nhwc(x)
    n, c = xs.shape[0], xs.shape[3]
    out = np.empty((n, oh, ow, c), dtype=x.dtype)
    taps = np.zeros((n, oh, ow, c), dtype=taps_dtype(kernel)) if with_taps else None
    blocks = _blocks(xs, kernel, stride, padding, dilation, out_size, -np.inf) if n else None

    def block(worker, blk):
        src = blocks.padded(worker, xs, blk)
        o = out[blk]
        for i in range(kh):
            for j in range(kw):  # kh*kw strided views and np.maximum (NaN propagates), as conv.py
                view = window_view(src, i, j, oh, ow, stride, dilation)
                np.copyto(o, view) if i == j == 0 else np.maximum(o, view, out=o)
        if with_taps:
            window_taps(src, o, taps[blk], kernel, stride, dilation)

    if n:
        blocks.run(block)
    if with_taps:
        _fix_empty(taps, out, kernel, stride, padding, dilation)
    return out, taps


def flat_indices(taps, in_size, kernel, stride, padding, dilation):
    """int64 NHWC indices into H*W of the winning elements, from the winning kernel offsets: the
    window's start plus a lookup of each offset's displacement (two passes)."""
    (kh, kw), (oh, ow), width = kernel, taps.shape[1:3], in_size[1]
    start = ((np.arange(oh) * stride[0] - padding[0])[:, None] * width + np.arange(ow) * stride[1] - padding[1])
    shift = (np.arange(kh)[:, None] * dilation[0] * width + np.arange(kw) * dilation[1]).ravel()
    return np.take(shift, taps) + start[:, :, None]


class MaxPool2dWithIndices(Function):
    """Max pooling with dilation and any output size; gradient to each window's winner (recomputed
    in backward from the saved input and maxima, as conv.py's MaxPool2d). ``found``: the maxima
    from `max_windows`, when the functional computed them already (for return_indices)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, out_size, found=None):
        values = found if found is not None else max_windows(x, kernel, stride, padding, dilation, out_size)[0]
        ctx.save_for_backward(x, values)
        ctx.geometry = (kernel, stride, padding, dilation, out_size)
        return values.transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad):
        x, values = ctx.saved_tensors
        kernel, stride, padding, dilation, out_size = ctx.geometry
        (n, c, h, w), (kh, kw), (top, left) = x.shape, kernel, padding
        xs, g = nhwc(x), nhwc(grad)
        dx = np.zeros((n, h, w, c), dtype=grad.dtype)
        if n == 0:
            return dx.transpose(0, 3, 1, 2)
        (hp, wp, _), _ = _padded_item(dx.shape, kernel, stride, padding, dilation, out_size)
        hp, wp = max(hp, top + h), max(wp, left + w)
        blocks = _blocks(xs, kernel, stride, padding, dilation, out_size, -np.inf)
        step = blocks.slices[0].stop
        bufs = [(np.empty((step, hp, wp, c), dtype=grad.dtype), np.empty((step,) + values.shape[1:],
                                                                         dtype=taps_dtype(kernel)))
                for _ in range(blocks.workers)]
        disjoint = all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel))

        def block(worker, blk):
            b = blk.stop - blk.start
            target, src = bufs[worker][0][:b], blocks.padded(worker, xs, blk)
            o, gb = values[blk], g[blk]
            target[...] = 0
            special = not o.min() > -np.inf  # a NaN, or a window of -inf only: torch's rules, via the offsets
            if special:
                t = bufs[worker][1][:b]
                window_taps(src, o, t, kernel, stride, dilation)
                _fix_empty(t, o, kernel, stride, padding, dilation)
            taken = None  # else fused, as conv.py: the windows whose first maximum was found already
            for k in range(kh * kw):
                window = window_view(target, k // kw, k % kw, out_size[0], out_size[1], stride, dilation)
                if special:
                    hit = t == k
                else:
                    hit = window_view(src, k // kw, k % kw, out_size[0], out_size[1], stride, dilation) == o
                    if taken is None:
                        taken = hit.copy()
                    else:
                        np.greater(hit, taken, out=hit)  # a maximum, and the first in its window
                        taken |= hit
                if disjoint:  # each input pixel in at most one window: write, don't add
                    np.multiply(gb, hit, out=window)
                else:
                    window += gb * hit
            dx[blk] = target[:, top:top + h, left:left + w]

        blocks.run(block)
        return dx.transpose(0, 3, 1, 2)


def max_pool2d_general(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling of a 4-D Tensor with every torch option (nn.functional.max_pool2d's slow path)."""
    op = "max_pool2d"
    if not isinstance(return_indices, (bool, np.bool_)):
        raise TypeError(f"{op}: return_indices must be True or False, got {return_indices!r}")
    kernel, stride, padding, dilation, out_size = pool_geometry(op, x.shape, kernel_size, stride, padding, dilation,
                                                                ceil_mode)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {x.dtype}")
    n, c, h, w = x.shape
    check_memory(op, n * c * (math.prod(out_size) * (x.dtype.itemsize + 9) + (h + 2) * (w + 2) * x.dtype.itemsize),
                 f"an output of shape {(n, c) + out_size}", "; check kernel_size and stride")
    geometry = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation, "out_size": out_size}
    if not return_indices:
        return MaxPool2dWithIndices.apply(x, **geometry)
    values, taps = max_windows(x.numpy(), kernel, stride, padding, dilation, out_size, with_taps=True)
    out = MaxPool2dWithIndices.apply(x, found=values, **geometry)
    index = flat_indices(taps, (h, w), kernel, stride, padding, dilation)
    return out, Constant.apply(index.transpose(0, 3, 1, 2))


# ----------------------------------------------------------------------------- average pooling


def _divisors(size, out_len, kernel, stride, pad, count_include_pad):
    """torch's per-window divisor along one axis: the window clipped to the padded input (with
    the padding) or to the input (without)."""
    start = np.arange(out_len) * stride - pad
    end = np.minimum(start + kernel, size + pad)
    return end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0)


def _strided(a, axis, first, count, step):
    """``count`` positions from ``first`` every ``step`` along axis 1 or 2 of a 4-D array."""
    index = slice(first, first + step * (count - 1) + 1, step)
    return a[:, index] if axis == 1 else a[:, :, index]


class AvgPool2dCeil(Function):
    """Average pooling with any output size and torch's divisors; ``scale``: the (OH, OW, 1)
    reciprocal divisors."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, out_size, scale):
        (kh, kw), (oh, ow) = kernel, out_size
        xs = nhwc(x)
        n, h, w, c = xs.shape
        ctx.geometry = (x.shape, kernel, stride, padding, out_size, scale)
        out = np.empty((n, oh, ow, c), dtype=x.dtype)
        if n == 0:
            return out.transpose(0, 3, 1, 2)
        blocks = _blocks(xs, kernel, stride, padding, (1, 1), out_size, 0.0)
        (hp, _, _), _ = _padded_item(xs.shape, kernel, stride, padding, (1, 1), out_size)
        step = blocks.slices[0].stop
        bufs = [np.empty((step, hp, ow, c), dtype=x.dtype) for _ in range(blocks.workers)]

        def block(worker, blk):
            src = blocks.padded(worker, xs, blk)[:, :hp]
            rows = bufs[worker][: blk.stop - blk.start]
            np.copyto(rows, _strided(src, 2, 0, ow, stride[1]))  # separable: kw then kh passes
            for j in range(1, kw):
                rows += _strided(src, 2, j, ow, stride[1])
            o = out[blk]
            np.copyto(o, _strided(rows, 1, 0, oh, stride[0]))
            for i in range(1, kh):
                o += _strided(rows, 1, i, oh, stride[0])
            o *= scale

        blocks.run(block)
        return out.transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad):
        (n, c, h, w), (kh, kw), stride, (top, left), (oh, ow), scale = ctx.geometry
        (hp, wp, _), _ = _padded_item((n, h, w, c), (kh, kw), stride, (top, left), (1, 1), (oh, ow))
        hp, wp = max(hp, top + h), max(wp, left + w)
        g = nhwc(grad)
        dx = np.zeros((n, h, w, c), dtype=grad.dtype)
        if n == 0:
            return dx.transpose(0, 3, 1, 2)
        blocks = Blocks(n, 1, 0, dx.dtype, item_bytes=hp * wp * c * dx.dtype.itemsize)
        step = blocks.slices[0].stop
        bufs = [(np.empty((step, hp, ow, c), dtype=grad.dtype), np.empty((step, hp, wp, c), dtype=grad.dtype))
                for _ in range(blocks.workers)]

        def block(worker, blk):
            b = blk.stop - blk.start
            rows, dxp = bufs[worker][0][:b], bufs[worker][1][:b]
            share = g[blk] * scale
            rows[...] = 0
            for i in range(kh):
                _strided(rows, 1, i, oh, stride[0])[...] += share
            dxp[...] = 0
            for j in range(kw):
                _strided(dxp, 2, j, ow, stride[1])[...] += rows
            dx[blk] = dxp[:, top:top + h, left:left + w]

        blocks.run(block)
        return dx.transpose(0, 3, 1, 2)


def avg_pool2d_general(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                       divisor_override=None):
    """Average pooling of a 4-D Tensor with every torch option (nn.functional.avg_pool2d's slow path)."""
    op = "avg_pool2d"
    kernel, stride, padding, _, out_size = pool_geometry(op, x.shape, kernel_size, stride, padding, 1, ceil_mode)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {x.dtype}")
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"{op}: count_include_pad must be True or False, got {count_include_pad!r}")
    n, c, h, w = x.shape
    check_memory(op, n * c * (math.prod(out_size) + 3 * (h + 2 * padding[0] + stride[0]) * (w + 2 * padding[1]
                                                                                             + stride[1]))
                 * x.dtype.itemsize, f"an output of shape {(n, c) + out_size}", "; check kernel_size and stride")
    if divisor_override is not None:
        scale = np.full(out_size, 1.0 / divisor_override)
    else:
        rows = _divisors(h, out_size[0], kernel[0], stride[0], padding[0], count_include_pad)
        cols = _divisors(w, out_size[1], kernel[1], stride[1], padding[1], count_include_pad)
        scale = 1.0 / (rows[:, None] * cols[None, :]).astype(np.float64)
    return AvgPool2dCeil.apply(x, kernel=kernel, stride=stride, padding=padding, out_size=out_size,
                               scale=scale[:, :, None].astype(x.dtype))
