"""2-D convolution and pooling, NCHW like PyTorch, made fast with strided views and BLAS.

How the speed is won (figures in docs/benchmarks.md):

* Inside, activations live channels-last (NHWC) in memory; what the user sees is an NCHW-shaped
  view of that memory. A conv's im2col then copies whole runs of contiguous channels, and its
  GEMM writes straight into the NHWC output. ReLU, pooling and the other elementwise ops keep
  the memory order of their input, so the next conv finds NHWC again.
* The batch is processed in blocks whose columns fit in cache (a block is written and then read
  by the GEMM while still hot), and the blocks are shared out among worker threads
  (``tinygrad_cnn.parallel``), each with its own reused buffers. Padding is done per block too.
* im2col is one copy of a 6-D strided view of the input; with few input channels, kh*kw copies
  into an offset-major layout instead, so that each copy is contiguous.
* Backward: dW is one GEMM per block against recomputed columns (cheaper than keeping them).
  With stride 1, dX is computed one kernel row at a time (``_input_grad_rows``); otherwise one
  small GEMM per kernel offset and a slice-add of its result into the padded input gradient.
  ``np.add.at`` is never used.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._memory import check_memory
from .. import parallel
from ..function import Function

_COLS_BLOCK_BYTES = 2 << 20  # per block and worker; 0.5-8 MB measured, 2 MB best or equal on the reference convs (benchmarks/)
_PARALLEL_MIN_BYTES = 1 << 20  # smaller jobs run serially (seed model, batch 32: 1.3 ms serial vs 1.95 ms on 2 threads)
_SUM_GROUPS = 8  # weight-gradient partial sums: a fixed number of groups of blocks, whatever the thread count


# ----------------------------------------------------------------------------- argument checks


def _pair(value, name, op, minimum):
    """An int or a pair of ints, each >= minimum, as a pair."""
    pair = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in pair)):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in pair):
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {kind}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _tensor_arg(value, what, op):
    """A Tensor argument of a conv op; arrays, lists and numbers are wrapped."""
    from .._tensor import Tensor

    if isinstance(value, Tensor):
        return value
    try:
        return Tensor(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{op}: {what} must be a Tensor or an array, got {type(value).__name__} ({err})") from None


def _check_4d(x, op, what="input"):
    if x.ndim != 4:
        raise ValueError(f"{op}: {what} must be 4-D (N, C, H, W), got shape {tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be floating point, got {x.dtype}")


def _out_size(size, pad_total, kernel, stride, dilation, op, axis_name):
    span = dilation * (kernel - 1) + 1
    if size + pad_total < span:
        raise ValueError(
            f"{op}: the kernel ({span} {axis_name} with dilation) is larger than the padded input "
            f"({size} + {pad_total} padding = {size + pad_total} {axis_name})"
        )
    return (size + pad_total - span) // stride + 1


# ----------------------------------------------------------------------------- layout helpers


def _nhwc(x):
    """The NHWC view of an NCHW-shaped array (free when its memory is already channels-last)."""
    return x.transpose(0, 2, 3, 1)


def _pad_nhwc(x_nhwc, pads, value=0.0):
    """A new channels-last array with (top, bottom, left, right) padding filled with ``value``."""
    top, bottom, left, right = pads
    n, h, w, c = x_nhwc.shape
    out = np.empty((n, h + top + bottom, w + left + right, c), dtype=x_nhwc.dtype)
    if top or bottom or left or right:
        out[:, :top], out[:, h + top:] = value, value
        out[:, :, :left], out[:, :, w + left:] = value, value
    out[:, top:top + h, left:left + w] = x_nhwc
    return out


def _window(xp, i, j, out_h, out_w, stride, dilation):
    """The strided view of padded NHWC input seen by kernel offset (i, j) at every output pixel."""
    (sh, sw), (dh, dw) = stride, dilation
    return xp[:, i * dh: i * dh + sh * (out_h - 1) + 1: sh, j * dw: j * dw + sw * (out_w - 1) + 1: sw]


def _im2col(xp, kh, kw, out_h, out_w, stride, dilation, buf):
    """Columns (M, K), M = n*out_h*out_w rows, K = kh*kw*C ordered (i, j, c), written into ``buf``."""
    n, c = xp.shape[0], xp.shape[3]
    m, k = n * out_h * out_w, kh * kw * c
    if c <= 4:  # few channels: offset-major layout, each of the kh*kw copies writes one contiguous plane
        cols = buf[: m * k].reshape(kh, kw, c, n, out_h, out_w)
        for i in range(kh):
            for j in range(kw):
                cols[i, j] = _window(xp, i, j, out_h, out_w, stride, dilation).transpose(3, 0, 1, 2)
        return cols.reshape(k, m).T
    # many channels: one copy of a 6-D strided view (n, out_h, out_w, kh, kw, C) of the input
    (sh, sw), (dh, dw) = stride, dilation
    s0, s1, s2, s3 = xp.strides
    patches = as_strided(xp, (n, out_h, out_w, kh, kw, c), (s0, sh * s1, sw * s2, dh * s1, dw * s2, s3), writeable=False)
    cols = buf[: m * k].reshape(n, out_h, out_w, kh, kw, c)
    np.copyto(cols, patches)
    return cols.reshape(m, k)


class _Blocks:
    """Slices of the batch whose im2col columns take about _COLS_BLOCK_BYTES, shared out among the
    worker threads of ``parallel``. Each worker has its own column buffer, reused by all its
    blocks (a fresh large buffer per block costs page faults), and, for padded inputs, its own
    padded copy of the block: its border is filled once (zeros, or -inf for max-pooling), then
    only the interior is rewritten."""

    def __init__(self, n, rows_per_item, k, dtype, padded_item=None, fill=0.0, item_bytes=None):
        per_item = max(1, item_bytes or rows_per_item * k * np.dtype(dtype).itemsize)
        count = min(n, -(-n * per_item // _COLS_BLOCK_BYTES))  # blocks of at most _COLS_BLOCK_BYTES
        step = -(-n // count)
        self.slices = [slice(s, min(s + step, n)) for s in range(0, n, step)]
        # small jobs stay on one thread: waking a worker costs tens of microseconds
        self.workers = parallel.worker_count(len(self.slices)) if n * per_item >= _PARALLEL_MIN_BYTES else 1
        self.rows = rows_per_item
        self.cols = [np.empty(step * rows_per_item * k, dtype=dtype) for _ in range(self.workers)]
        self.padded_bufs = None
        if padded_item is not None:
            (hp, wp, c), self.offsets = padded_item
            self.padded_bufs = [np.full((step, hp, wp, c), fill, dtype=dtype) for _ in range(self.workers)]

    def run(self, fn):
        """fn(worker, blk) for every block, on the worker threads."""
        parallel.run_blocks(fn, self.slices, self.workers)

    def run_summed(self, fn, shape, dtype):
        """The sum over all blocks of fn(worker, blk) -> array of ``shape``. Blocks are summed in
        a fixed order within a fixed number of groups (run by whichever worker is free), then
        the groups in order: the same result on any number of threads."""
        groups = min(len(self.slices), _SUM_GROUPS)
        step = -(-len(self.slices) // groups)
        group_slices = [self.slices[i:i + step] for i in range(0, len(self.slices), step)]
        partial = np.zeros((len(group_slices),) + tuple(shape), dtype=dtype)

        def group(worker, index):
            for blk in group_slices[index]:
                partial[index] += fn(worker, blk)

        parallel.run_blocks(group, range(len(group_slices)), self.workers)
        return partial.sum(axis=0)

    def rows_of(self, blk):
        """The rows of an (M, ...) matrix that belong to batch slice ``blk``."""
        return slice(blk.start * self.rows, blk.stop * self.rows)

    def padded(self, worker, src, blk):
        """Images ``blk`` of NHWC ``src``: as they are when these blocks have no padding, else
        placed at (top, left) = self.offsets in this worker's bordered buffer (a negative offset
        crops the source instead)."""
        if self.padded_bufs is None:
            return src[blk]
        buf = self.padded_bufs[worker][: blk.stop - blk.start]
        (top, left), (h, w), (hp, wp) = self.offsets, src.shape[1:3], buf.shape[1:3]
        rows = slice(max(0, -top), min(h, hp - top))
        cols = slice(max(0, -left), min(w, wp - left))
        buf[:, rows.start + top: rows.stop + top, cols.start + left: cols.stop + left] = src[blk, rows, cols]
        return buf


# ----------------------------------------------------------------------------- conv2d


class Conv2d(Function):
    """y[n, o] = sum over c, i, j of w[o, c, i, j] * x_padded[n, c, s*h + d*i, s*w + d*j] (+ b[o])."""

    @staticmethod
    def forward(ctx, x, weight, *bias, stride, pads, dilation, groups):
        n, c, h, w = x.shape
        oc, cg, kh, kw = weight.shape
        dtype = np.result_type(x.dtype, weight.dtype)
        x, weight = x.astype(dtype, copy=False), weight.astype(dtype, copy=False)
        hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
        out_h = (hp - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        out_w = (wp - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        # channels-last and contiguous: free when x came from a conv; one copy for a user's NCHW array
        xs = np.ascontiguousarray(_nhwc(x))
        wmat = _weight_matrix(weight, groups)  # (G, K_g, OC_g)
        b = bias[0].astype(dtype, copy=False) if bias else None

        out = np.empty((n * out_h * out_w, oc), dtype=dtype)
        blocks = _input_blocks(xs, out_h, out_w, kh, kw, pads)

        def block(worker, blk):
            src = blocks.padded(worker, xs, blk)
            cols = _im2col(src, kh, kw, out_h, out_w, stride, dilation, blocks.cols[worker])
            rows = out[blocks.rows_of(blk)]
            _gemm_cols_w(cols, wmat, groups, kh * kw, rows)
            if b is not None:
                rows += b  # fused: added while the block is still in cache

        blocks.run(block)
        ctx.save_for_backward(xs, weight)
        ctx.geometry = (out_h, out_w, stride, pads, dilation, groups)
        return out.reshape(n, out_h, out_w, oc).transpose(0, 3, 1, 2)  # NCHW view of NHWC memory

    @staticmethod
    def backward(ctx, grad):
        xs, weight = ctx.saved_tensors
        out_h, out_w, stride, pads, dilation, groups = ctx.geometry
        n, h, w, c = xs.shape
        hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
        oc, cg, kh, kw = weight.shape
        need_x, need_w = ctx.needs_input_grad[:2]
        need_b = len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]
        g = np.ascontiguousarray(_nhwc(grad)).astype(xs.dtype, copy=False).reshape(-1, oc)  # (M, OC)

        grad_b = np.ones(g.shape[0], dtype=g.dtype) @ g if need_b else None  # a GEMV beats g.sum(0)
        grad_w = grad_x = None
        if need_w:
            blocks = _input_blocks(xs, out_h, out_w, kh, kw, pads)

            def block(worker, blk):  # recomputing the columns is cheaper than keeping them all
                src = blocks.padded(worker, xs, blk)
                cols = _im2col(src, kh, kw, out_h, out_w, stride, dilation, blocks.cols[worker])
                return _gemm_cols_g(cols, g[blocks.rows_of(blk)], groups, kh * kw)

            gw = blocks.run_summed(block, (groups, kh * kw * cg, oc // groups), xs.dtype)
            grad_w = _weight_from_matrix(gw, weight.shape)
        if need_x:
            if groups == 1 and stride == (1, 1) and kh * kw > 1:
                dx = _input_grad_rows(g.reshape(n, out_h, out_w, oc), weight, dilation, (h, w), pads)
            else:
                dxp = _input_grad_scatter(g, weight, (n, hp, wp, c), out_h, out_w, stride, dilation, groups)
                dx = dxp[:, pads[0]:pads[0] + h, pads[2]:pads[2] + w]
            grad_x = dx.transpose(0, 3, 1, 2)
        return (grad_x, grad_w, grad_b) if len(ctx.needs_input_grad) > 2 else (grad_x, grad_w)


def _input_blocks(xs, out_h, out_w, kh, kw, pads):
    """The im2col blocks of a conv's NHWC input ``xs``, padded per block by ``pads``."""
    n, h, w, c = xs.shape
    padded = (h + pads[0] + pads[1], w + pads[2] + pads[3], c), (pads[0], pads[2])
    return _Blocks(n, out_h * out_w, kh * kw * c, xs.dtype, padded if any(pads) else None)


def _input_grad_rows(g, weight, dilation, in_size, pads):
    """dL/dx for a stride-1 conv, one kernel row at a time.

    dx[y, x] = sum over i, j of g[y + top - i*dh, x + left - j*dw] @ w[:, :, i, j]. The sum over
    j (and the output channels) is a GEMM: a row-im2col of g, ``(out_h * w, kw*OC)``, times the
    column-flipped kernel arranged ``(kw*OC, kh*C)``; it yields every kernel row's contribution
    at once, and kh slice-adds shift them into place. Against a full im2col of the padded
    gradient this copies kh times fewer columns and multiplies fewer zeros; measured 30 -> 22 ms
    on the lenet 32->32 5x5 conv (batch 128, docs/benchmarks.md)."""
    oc, c, kh, kw = weight.shape
    n, out_h, out_w, _ = g.shape
    (dh, dw), (h, w), top = dilation, in_size, pads[0]
    span_w = dw * (kw - 1)
    w_rows = np.ascontiguousarray(weight[:, :, :, ::-1].transpose(3, 0, 2, 1).reshape(kw * oc, kh * c))
    dx = np.empty((n, h, w, c), dtype=g.dtype)
    # each block's buffer holds the row-im2col (out_h*w, kw*OC) and the product (out_h*w, kh*C)
    blocks = _Blocks(n, out_h * w, kw * oc + kh * c, g.dtype, ((out_h, w + span_w, oc), (0, span_w - pads[2])))
    # kernel row i adds product rows r to input rows y = r - top + i*dh (those inside 0..h-1)
    shifts = []
    for i in range(kh):
        first, last = max(0, top - i * dh), min(out_h, h + top - i * dh)
        if first < last:
            shifts.append((i, slice(first, last), slice(first - top + i * dh, last - top + i * dh)))

    def block(worker, blk):
        b = blk.stop - blk.start
        gp = blocks.padded(worker, g, blk)
        s0, s1, s2, s3 = gp.strides
        buf = blocks.cols[worker]
        rows = buf[: b * out_h * w * kw * oc].reshape(b, out_h, w, kw, oc)
        np.copyto(rows, as_strided(gp, rows.shape, (s0, s1, s2, dw * s2, s3), writeable=False))
        prod = buf[rows.size: rows.size + b * out_h * w * kh * c].reshape(b * out_h * w, kh * c)
        np.matmul(rows.reshape(-1, kw * oc), w_rows, out=prod)
        prod = prod.reshape(b, out_h, w, kh, c)
        out = dx[blk]
        out[...] = 0
        for i, src, dst in shifts:
            out[:, dst] += prod[:, src, :, i]

    blocks.run(block)
    return dx


def _input_grad_scatter(g, weight, padded_shape, out_h, out_w, stride, dilation, groups):
    """dL/dx_padded for any stride and groups: one GEMM (M, OC) @ (OC, C) per kernel offset, then
    a slice-add of its result into the windows that offset touched (never np.add.at)."""
    oc, cg, kh, kw = weight.shape
    n, c = padded_shape[0], padded_shape[3]
    dxp = np.zeros(padded_shape, dtype=g.dtype)
    g4 = g.reshape(n, out_h, out_w, groups, oc // groups)
    for i in range(kh):
        for j in range(kw):
            w_ij = weight[:, :, i, j].reshape(groups, oc // groups, cg)  # (G, OC_g, C_g)
            if groups == 1:  # a 2-D GEMM: never let matmul batch over pixels
                contrib = (g @ w_ij[0]).reshape(n, out_h, out_w, c)
            else:
                contrib = np.einsum("nhwgo,goc->nhwgc", g4, w_ij, optimize=True).reshape(n, out_h, out_w, c)
            _window(dxp, i, j, out_h, out_w, stride, dilation)[...] += contrib
    return dxp


def _weight_matrix(weight, groups):
    """(OC, C_g, kh, kw) -> (G, kh*kw*C_g, OC_g), rows ordered (i, j, c) like the im2col columns."""
    oc, cg, kh, kw = weight.shape
    return np.ascontiguousarray(
        weight.reshape(groups, oc // groups, cg, kh, kw).transpose(0, 3, 4, 2, 1).reshape(groups, kh * kw * cg, oc // groups)
    )


def _weight_from_matrix(gw, shape):
    oc, cg, kh, kw = shape
    groups = gw.shape[0]
    return np.ascontiguousarray(gw.reshape(groups, kh, kw, cg, oc // groups).transpose(0, 4, 3, 1, 2).reshape(shape))


def _gemm_cols_w(cols, wmat, groups, taps, out):
    """(M, K) columns times the weight matrix, written into ``out`` (M, OC); ``taps`` = kh*kw.
    With groups, each group's outputs contract only that group's channels."""
    if groups == 1:
        np.matmul(cols, wmat[0], out=out)
        return
    m = cols.shape[0]
    oc_g = wmat.shape[2]
    cols4 = cols.reshape(m, taps, groups, -1)  # (M, kh*kw, G, C_g)
    w4 = wmat.reshape(groups, taps, -1, oc_g)  # (G, kh*kw, C_g, OC_g)
    out[...] = np.einsum("mkgc,gkco->mgo", cols4, w4, optimize=True).reshape(m, groups * oc_g)


def _gemm_cols_g(cols, g, groups, taps):
    """Weight gradient of one block: columns^T times the output gradient -> (G, K_g, OC_g)."""
    if groups == 1:
        return (cols.T @ g)[None]
    m = cols.shape[0]
    cols4 = cols.reshape(m, taps, groups, -1)
    g3 = g.reshape(m, groups, -1)
    return np.einsum("mkgc,mgo->gkco", cols4, g3, optimize=True).reshape(groups, -1, g3.shape[2])


# ----------------------------------------------------------------------------- pooling


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
        xs = _nhwc(x)
        out = np.empty((n, out_h, out_w, c), dtype=x.dtype)
        blocks = _pool_blocks(xs, padding, -np.inf)

        def block(worker, blk):
            src = blocks.padded(worker, xs, blk)
            o = out[blk]
            for i in range(kh):
                for j in range(kw):
                    view = _window(src, i, j, out_h, out_w, stride, (1, 1))
                    # k*k strided views and np.maximum: ~3x faster than reshape(...).max(axis)
                    if i == j == 0:
                        np.copyto(o, view)
                    else:
                        np.maximum(o, view, out=o)

        blocks.run(block)
        ctx.save_for_backward(x, out)
        ctx.geometry = (kernel, stride, padding)
        return out.transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        (kh, kw), stride, (ph, pw) = ctx.geometry
        n, c, h, w = x.shape
        out_h, out_w = out.shape[1:3]
        xs, g = _nhwc(x), _nhwc(grad)
        dx = np.empty((n, h, w, c), dtype=grad.dtype)
        disjoint = stride[0] >= kh and stride[1] >= kw  # each input pixel in at most one window
        covered = stride == (kh, kw) and out_h * kh == h + 2 * ph and out_w * kw == w + 2 * pw
        blocks = _pool_blocks(xs, padding=(ph, pw), fill=-np.inf)
        step = blocks.slices[0].stop  # images per block
        grad_bufs = [np.empty((step, h + 2 * ph, w + 2 * pw, c), dtype=grad.dtype) for _ in range(blocks.workers)]

        def block(worker, blk):
            src = blocks.padded(worker, xs, blk)
            target = grad_bufs[worker][: blk.stop - blk.start] if ph or pw else dx[blk]
            if not covered:
                target[...] = 0  # pixels in no window (or in several) start from zero
            o, gb = out[blk], g[blk]
            taken = None  # windows whose maximum has already received the gradient
            for i in range(kh):
                for j in range(kw):
                    hit = _window(src, i, j, out_h, out_w, stride, (1, 1)) == o
                    if taken is None:
                        taken = hit.copy() if kh * kw > 1 else hit
                    else:
                        np.greater(hit, taken, out=hit)  # hit and not yet taken, in one pass
                        taken |= hit
                    window = _window(target, i, j, out_h, out_w, stride, (1, 1))
                    if disjoint:
                        np.multiply(gb, hit, out=window)  # no overlap: write, don't add
                    else:
                        window += gb * hit
            if ph or pw:
                dx[blk] = target[:, ph:ph + h, pw:pw + w]

        blocks.run(block)
        return dx.transpose(0, 3, 1, 2)


def _pool_blocks(xs, padding, fill):
    """Batch blocks of about _COLS_BLOCK_BYTES of pooling input, padded per block with ``fill``."""
    n, h, w, c = xs.shape
    ph, pw = padding
    padded = ((h + 2 * ph, w + 2 * pw, c), (ph, pw)) if ph or pw else None
    return _Blocks(n, 1, 0, xs.dtype, padded, fill=fill, item_bytes=(h + 2 * ph) * (w + 2 * pw) * c * xs.dtype.itemsize)


class AvgPool2d(Function):
    """Mean over each kernel window; zero padding counts in the mean (PyTorch's default)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        (kh, kw), (ph, pw) = kernel, padding
        n, c, h, w = x.shape
        out_h, out_w = (h + 2 * ph - kh) // stride[0] + 1, (w + 2 * pw - kw) // stride[1] + 1
        xp = _pad_nhwc(_nhwc(x), (ph, ph, pw, pw)) if ph or pw else _nhwc(x)
        out = None
        for i in range(kh):
            for j in range(kw):
                view = _window(xp, i, j, out_h, out_w, stride, (1, 1))
                out = np.array(view) if out is None else np.add(out, view, out=out)
        out *= out.dtype.type(1.0 / (kh * kw))
        ctx.geometry = (x.shape, xp.shape, kernel, stride, padding, out_h, out_w)
        return out.transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad):
        (n, c, h, w), padded_shape, (kh, kw), stride, (ph, pw), out_h, out_w = ctx.geometry
        share = _nhwc(grad) * grad.dtype.type(1.0 / (kh * kw))
        dxp = np.zeros(padded_shape, dtype=grad.dtype)
        for i in range(kh):
            for j in range(kw):
                _window(dxp, i, j, out_h, out_w, stride, (1, 1))[...] += share
        return dxp[:, ph:ph + h, pw:pw + w].transpose(0, 3, 1, 2)


# ----------------------------------------------------------------------------- Tensor methods


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Check the arguments of ``Tensor.conv2d`` (shapes, channels, kernel vs input) and apply Conv2d."""
    op = "conv2d"
    weight = _tensor_arg(weight, "weight", op)
    _check_4d(x, op)
    _check_4d(weight, op, "weight")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{op}: groups must be a positive int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    n, c, h, w = x.shape
    oc, cg, kh, kw = weight.shape
    if c != cg * groups:
        raise ValueError(
            f"{op}: input has {c} channels but weight {tuple(weight.shape)} expects {cg * groups} "
            f"(in_channels/groups = {cg}, groups = {groups})"
        )
    if oc % groups:
        raise ValueError(f"{op}: out_channels ({oc}) must be divisible by groups ({groups})")
    if min(weight.shape) == 0 or min(x.shape) == 0:
        raise ValueError(f"{op}: empty input {tuple(x.shape)} or weight {tuple(weight.shape)}")
    stride = _pair(stride, "stride", op, 1)
    dilation = _pair(dilation, "dilation", op, 1)
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
            total_h, total_w = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
            pads = (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
        else:
            raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    else:
        ph, pw = _pair(padding, "padding", op, 0)
        pads = (ph, ph, pw, pw)
    out_h = _out_size(h, pads[0] + pads[1], kh, stride[0], dilation[0], op, "rows")
    out_w = _out_size(w, pads[2] + pads[3], kw, stride[1], dilation[1], op, "columns")
    # forward and backward hold the padded input and its gradient, the output and its gradient,
    # and the im2col columns of at least one image
    padded_shape = (n, c, h + pads[0] + pads[1], w + pads[2] + pads[3])
    elements = 2 * math.prod(padded_shape) + 2 * n * oc * out_h * out_w + out_h * out_w * kh * kw * c
    check_memory(op, elements * np.result_type(x.dtype, weight.dtype).itemsize,
                 f"a padded input of shape {padded_shape} and an output of shape {(n, oc, out_h, out_w)}",
                 "; check padding, dilation and the input size")
    # a stride beyond the padded input places one window, as does a stride equal to its size; a
    # dilation of a 1-tap kernel changes nothing: cap them so no strided view gets an absurd byte
    # stride (stride=10**30 is legal, if useless)
    stride = (min(stride[0], h + pads[0] + pads[1]), min(stride[1], w + pads[2] + pads[3]))
    dilation = (dilation[0] if kh > 1 else 1, dilation[1] if kw > 1 else 1)
    inputs = (x, weight)
    if bias is not None:
        bias = _tensor_arg(bias, "bias", op)
        if bias.shape != (oc,):
            raise ValueError(f"{op}: bias must have shape ({oc},) (one per output channel), got {tuple(bias.shape)}")
        inputs += (bias,)
    return Conv2d.apply(*inputs, stride=stride, pads=pads, dilation=dilation, groups=int(groups))


def _pool_args(x, kernel_size, stride, padding, op):
    _check_4d(x, op)
    kernel = _pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None else _pair(stride, "stride", op, 1)
    padding = _pair(padding, "padding", op, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    if min(x.shape) == 0:
        raise ValueError(f"{op}: empty input {tuple(x.shape)}")
    _out_size(x.shape[2], 2 * padding[0], kernel[0], stride[0], 1, op, "rows")
    _out_size(x.shape[3], 2 * padding[1], kernel[1], stride[1], 1, op, "columns")
    stride = (min(stride[0], x.shape[2] + 2 * padding[0]), min(stride[1], x.shape[3] + 2 * padding[1]))  # as conv2d
    return kernel, stride, padding


def max_pool2d(x, kernel_size=2, stride=None, padding=0):
    kernel, stride, padding = _pool_args(x, kernel_size, stride, padding, "max_pool2d")
    return MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding)


def avg_pool2d(x, kernel_size=2, stride=None, padding=0):
    kernel, stride, padding = _pool_args(x, kernel_size, stride, padding, "avg_pool2d")
    return AvgPool2d.apply(x, kernel=kernel, stride=stride, padding=padding)
