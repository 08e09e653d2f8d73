"""Max and average pooling, NCHW like PyTorch: the fast path of the MNIST nets (floor-sized output,
no dilation, no indices); ``pool_extra.py`` has the rest of torch's options.

Both run on the NHWC view (``layout.py``) as kh*kw passes of strided window views with
``np.maximum`` / ``np.add`` (about 3x faster than reshaping into windows and reducing), in
cache-sized batch blocks on the worker threads (``_blocks.py``). ``max_pool2d`` and ``avg_pool2d``
check the arguments once; the Functions assume they are valid.
"""
from typing import NamedTuple

import numpy as np

from ..function import Function
from ._blocks import Blocks, one_small_block
from ._checks import check_4d, memoize_checks, output_length, pool_window
from .layout import nhwc, pad_nhwc, window_view
from .pool_extra import taps_dtype, window_taps


class PoolGeometry(NamedTuple):
    kernel: tuple
    stride: tuple
    padding: tuple


class MaxPool2d(Function):
    """Max over each kernel window. Backward sends each window's gradient to its first maximum in
    row-major order, as PyTorch does: MNIST is full of tied zeros, and splitting or copying the
    gradient among ties gives very different (wrong) gradients.

    Both directions run in cache-sized batch blocks on the worker threads: the kh*kw passes over
    a block (strided window views, ``np.maximum`` / compare / multiply) then hit the cache."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        (kh, kw), (ph, pw) = kernel, padding
        n, c, h, w = x.shape
        out_h, out_w = (h + 2 * ph - kh) // stride[0] + 1, (w + 2 * pw - kw) // stride[1] + 1
        xs = nhwc(x)
        out = np.empty((n, out_h, out_w, c), dtype=x.dtype)
        ctx.save_for_backward(x, out)
        ctx.geometry = PoolGeometry(kernel, stride, padding)
        if not (ph or pw) and one_small_block(x.size * x.itemsize):  # no scheduler
            _max_windows(xs, out, kernel, stride)
            return out.transpose(0, 3, 1, 2)
        blocks = _pool_blocks(xs, padding, -np.inf)
        blocks.run(lambda worker, blk: _max_windows(blocks.padded(worker, xs, blk), out[blk], kernel, stride))
        return out.transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        (kh, kw), stride, (ph, pw) = ctx.geometry
        n, c, h, w = x.shape
        out_h, out_w = out.shape[1:3]
        xs, g = nhwc(x), nhwc(grad)
        dx = np.empty((n, h, w, c), dtype=grad.dtype)
        disjoint = stride[0] >= kh and stride[1] >= kw  # each input pixel in at most one window
        covered = stride == (kh, kw) and out_h * kh == h + 2 * ph and out_w * kw == w + 2 * pw
        # per tap: a compare, the first-hit logic and a multiply: ~2 kh*kw passes (measured on mid's
        # 128x16x28x28 pool: 5.2 ms on one core, 2.1 ms on two)
        blocks = _pool_blocks(xs, padding=(ph, pw), fill=-np.inf, passes=2 * kh * kw)
        step = blocks.slices[0].stop  # images per block
        grad_bufs = [np.empty((step, h + 2 * ph, w + 2 * pw, c), dtype=grad.dtype) for _ in range(blocks.workers)]

        def block(worker, blk):
            src = blocks.padded(worker, xs, blk)
            target = grad_bufs[worker][: blk.stop - blk.start] if ph or pw else dx[blk]
            if not covered:
                target[...] = 0  # pixels in no window (or in several) start from zero
            o, gb = out[blk], g[blk]
            taps = None  # windows with a NaN: torch sends the gradient to their last NaN, which
            if np.isnan(o.min()):  # equality cannot find; the winning offset of each window then
                taps = np.empty(o.shape, dtype=taps_dtype((kh, kw)))
                window_taps(src, o, taps, (kh, kw), stride, (1, 1))
            taken = None  # windows whose maximum has already received the gradient
            for i in range(kh):
                for j in range(kw):
                    if taps is not None:
                        hit = taps == i * kw + j
                    elif taken is None:
                        hit = window_view(src, i, j, out_h, out_w, stride, (1, 1)) == o
                        taken = hit.copy() if kh * kw > 1 else hit
                    else:
                        hit = window_view(src, i, j, out_h, out_w, stride, (1, 1)) == o
                        np.greater(hit, taken, out=hit)  # hit and not yet taken, in one pass
                        taken |= hit
                    window = window_view(target, i, j, out_h, out_w, stride, (1, 1))
                    if disjoint:
                        np.multiply(gb, hit, out=window)  # no overlap: write, don't add
                    else:
                        window += gb * hit
            if ph or pw:
                dx[blk] = target[:, ph:ph + h, pw:pw + w]

        blocks.run(block)
        return dx.transpose(0, 3, 1, 2)


def _max_windows(src, out, kernel, stride):
    """out = the max over each window of the (padded) NHWC block ``src``: kh*kw strided views and
    np.maximum, about 3x faster than reshaping into windows and reducing. Kernels of more than 4 taps
    and small blocks go by rows, then columns (``_max_rows_then_columns``)."""
    out_h, out_w = out.shape[1:3]
    if kernel[0] * kernel[1] > 4 or src.size <= SEPARABLE_MAX_SIZE:
        _max_rows_then_columns(src, out, kernel, stride)
        return
    taps = [(i, j) for i in range(kernel[0]) for j in range(kernel[1])]
    if len(taps) == 1:
        np.copyto(out, window_view(src, 0, 0, out_h, out_w, stride, (1, 1)))
        return
    first, second = (window_view(src, i, j, out_h, out_w, stride, (1, 1)) for i, j in taps[:2])
    np.maximum(first, second, out=out)
    for i, j in taps[2:]:
        np.maximum(out, window_view(src, i, j, out_h, out_w, stride, (1, 1)), out=out)


SEPARABLE_MAX_SIZE = 1 << 16  # elements of a block below which 2x2 max pooling goes by rows, then columns


def _max_rows_then_columns(src, out, kernel, stride):
    """The window max as two passes, max over kh rows then over kw columns: kh + kw - 2 np.maximum
    calls instead of kh*kw - 1 (3x3 stride 2 on ResNet-18's 112x112x64: 390 -> 190 us), through an
    (n, out_h, W, C) buffer, which costs more than it saves on large blocks of 2x2 windows."""
    n, out_h, out_w, c = out.shape
    (kh, kw), (sh, sw) = kernel, stride
    last_h, last_w = sh * (out_h - 1) + 1, sw * (out_w - 1) + 1
    rows = src[:, :last_h:sh] if kh == 1 else np.maximum(src[:, :last_h:sh], src[:, 1:1 + last_h:sh])
    for i in range(2, kh):
        np.maximum(rows, src[:, i:i + last_h:sh], out=rows)
    if kw == 1:
        np.copyto(out, rows[:, :, :last_w:sw])
    else:
        np.maximum(rows[:, :, :last_w:sw], rows[:, :, 1:1 + last_w:sw], out=out)
    for j in range(2, kw):
        np.maximum(out, rows[:, :, j:j + last_w:sw], out=out)


def _pool_blocks(xs, padding, fill, passes=1):
    """Batch blocks of about _blocks.COLS_BLOCK_BYTES of pooling input, padded per block with ``fill``;
    ``passes``: about how many times the op streams the input (for whether to share it out)."""
    n, h, w, c = xs.shape
    ph, pw = padding
    padded = ((h + 2 * ph, w + 2 * pw, c), (ph, pw)) if ph or pw else None
    return Blocks(n, 1, 0, xs.dtype, padded, fill=fill, item_bytes=(h + 2 * ph) * (w + 2 * pw) * c * xs.dtype.itemsize,
                  passes=passes)


class AvgPool2d(Function):
    """Mean over each kernel window; zero padding counts in the mean (PyTorch's default)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        (kh, kw), (ph, pw) = kernel, padding
        n, c, h, w = x.shape
        out_h, out_w = (h + 2 * ph - kh) // stride[0] + 1, (w + 2 * pw - kw) // stride[1] + 1
        xp = pad_nhwc(nhwc(x), (ph, ph, pw, pw)) if ph or pw else nhwc(x)
        out = None
        for i in range(kh):
            for j in range(kw):
                view = window_view(xp, i, j, out_h, out_w, stride, (1, 1))
                out = np.array(view) if out is None else np.add(out, view, out=out)
        out *= out.dtype.type(1.0 / (kh * kw))
        ctx.geometry = PoolGeometry(kernel, stride, padding)
        ctx.shapes = (x.shape, xp.shape, out_h, out_w)
        return out.transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad):
        (kh, kw), stride, (ph, pw) = ctx.geometry
        (n, c, h, w), padded_shape, out_h, out_w = ctx.shapes
        share = nhwc(grad) * grad.dtype.type(1.0 / (kh * kw))
        dxp = np.zeros(padded_shape, dtype=grad.dtype)
        for i in range(kh):
            for j in range(kw):
                window_view(dxp, i, j, out_h, out_w, stride, (1, 1))[...] += share
        return dxp[:, ph:ph + h, pw:pw + w].transpose(0, 3, 1, 2)


# ----------------------------------------------------------------------------- Tensor methods


def pool_args(x, kernel_size, stride, padding, op):
    """Checked (kernel, stride, padding) pairs of a fast-path pooling of the 4-D ``x``."""
    check_4d(x, op)
    return _window_args(tuple(x.shape), kernel_size, stride, padding, op)


@memoize_checks
def _window_args(shape, kernel_size, stride, padding, op):
    kernel, stride, padding = pool_window(kernel_size, stride, padding, op)
    if min(shape) == 0:
        raise ValueError(f"{op}: empty input {shape}")
    output_length(shape[2], 2 * padding[0], kernel[0], stride[0], 1, op, "rows")
    output_length(shape[3], 2 * padding[1], kernel[1], stride[1], 1, op, "columns")
    stride = (min(stride[0], shape[2] + 2 * padding[0]), min(stride[1], shape[3] + 2 * padding[1]))  # as conv2d
    return kernel, stride, padding


def max_pool2d(x, kernel_size=2, stride=None, padding=0):
    """Max pooling of a 4-D Tensor (floor-sized output, no dilation); see ``nn.functional.max_pool2d``."""
    kernel, stride, padding = pool_args(x, kernel_size, stride, padding, "max_pool2d")
    return MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding)


def avg_pool2d(x, kernel_size=2, stride=None, padding=0):
    """Average pooling of a 4-D Tensor, padding counted; see ``nn.functional.avg_pool2d``."""
    kernel, stride, padding = pool_args(x, kernel_size, stride, padding, "avg_pool2d")
    return AvgPool2d.apply(x, kernel=kernel, stride=stride, padding=padding)
