"""2-D convolution, NCHW like PyTorch, made fast with strided views and BLAS.

How the speed is won (figures in docs/benchmarks.md):

* Inside, activations live channels-last (NHWC) in memory; what the user sees is an NCHW-shaped
  view of that memory (the convention is in ``layout.py``). A conv's im2col then copies whole runs
  of contiguous channels, and its GEMM writes straight into the NHWC output.
* The batch is processed in blocks whose columns fit in cache (a block is written and then read
  by the GEMM while still hot), and the blocks are shared out among worker threads
  (``_blocks.py``), each with its own reused buffers. Padding is done per block too.
* im2col is one copy of a 6-D strided view of the input; with few input channels, kh*kw copies
  into an offset-major layout instead, so that each copy is contiguous.
* Backward: dW is one GEMM per block against recomputed columns (cheaper than keeping them).
  With stride 1, dX is computed one kernel row at a time (``_input_grad_rows``); otherwise one
  small GEMM per kernel offset and a slice-add of its result into the padded input gradient.
  ``np.add.at`` is never used.

``conv2d`` (the functional) checks the arguments once; ``Conv2d`` assumes they are valid.
"""
import functools
import math
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import parallel
from .._memory import check_memory
from ..function import Function
from ._blocks import COLS_BLOCK_BYTES, Blocks, one_small_block
from ._checks import check_4d, int_pair, memoize_checks, output_length, tensor_or_array
from .conv_depthwise import depthwise_backward, depthwise_forward
from .conv_winograd import conv2d_input_grad_nhwc, conv2d_nhwc, conv2d_weight_grad_nhwc, winograd_tile
from .layout import add_channel_vector, nhwc, pad_nhwc, window_view


class ConvGeometry(NamedTuple):
    """What a Conv2d forward computed about its shapes and kept for the backward."""
    out_h: int
    out_w: int
    stride: tuple
    pads: tuple  # (top, bottom, left, right)
    dilation: tuple
    groups: int
    has_bias: bool


def im2col(xp, kh, kw, out_h, out_w, stride, dilation, buf):
    """Columns (M, K), M = n*out_h*out_w rows, K = kh*kw*C ordered (i, j, c), written into ``buf``."""
    n, c = xp.shape[0], xp.shape[3]
    m, k = n * out_h * out_w, kh * kw * c
    (sh, sw), (dh, dw) = stride, dilation
    s0, s1, s2, s3 = xp.strides
    if c <= 4:  # few channels: offset-major layout (kh, kw, C, n, out_h, out_w), runs of out_w pixels
        cols = buf[: m * k].reshape(kh, kw, c, n, out_h, out_w)
        np.copyto(cols, _strided(xp, (kh, kw, c, n, out_h, out_w), (dh * s1, dw * s2, s3, s0, sh * s1, sw * s2)))
        return cols.reshape(k, m).T
    # many channels: one copy of a 6-D strided view (n, out_h, out_w, kh, kw, C) of the input
    patches = _strided(xp, (n, out_h, out_w, kh, kw, c), (s0, sh * s1, sw * s2, dh * s1, dw * s2, s3))
    cols = buf[: m * k].reshape(n, out_h, out_w, kh, kw, c)
    np.copyto(cols, patches)
    return cols.reshape(m, k)


def _strided(x, shape, strides):
    """A read-only strided view of the memory of ``x`` (from its first element): NumPy's ndarray
    constructor when ``x`` is contiguous (a few times cheaper than ``as_strided``), else as_strided."""
    if x.flags.c_contiguous:
        view = np.ndarray(shape, x.dtype, x, 0, strides)
        view.flags.writeable = False
        return view
    return as_strided(x, shape, strides, writeable=False)


class Conv2d(Function):
    """y[n, o] = sum over c, i, j of w[o, c, i, j] * x_padded[n, c, s*h + d*i, s*w + d*j] (+ b[o])."""

    @staticmethod
    def forward(ctx, x, weight, *bias, stride, pads, dilation, groups):
        n, c, h, w = x.shape
        oc, cg, kh, kw = weight.shape
        dtype = x.dtype
        if weight.dtype != dtype:
            dtype = np.result_type(dtype, weight.dtype)
            x, weight = x.astype(dtype, copy=False), weight.astype(dtype, copy=False)
        hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
        out_h = (hp - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        out_w = (wp - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        # channels-last and contiguous: free when x came from a conv; one copy for a user's NCHW array
        xs = np.ascontiguousarray(nhwc(x))
        b = bias[0].astype(dtype, copy=False) if bias else None
        geometry = ConvGeometry(out_h, out_w, stride, pads, dilation, groups, has_bias=bool(bias))
        ctx.save_for_backward(xs, weight)  # every path's backward needs the same two
        ctx.geometry = geometry
        if groups == c > 1:  # depthwise: one pass per kernel offset, no GEMM (conv_depthwise.py)
            return depthwise_forward(xs, weight, b, geometry).transpose(0, 3, 1, 2)
        m = _winograd_tile(n, c, oc, h, w, (kh, kw), "forward", pads, stride, dilation, groups, dtype)
        if m:  # fewer multiplications where they dominate (conv_winograd.py has the measured rule)
            return conv2d_nhwc(xs, weight, pads, b, m=m).transpose(0, 3, 1, 2)
        if groups == 1 and kh * kw > 1 and n * out_h * out_w < oc:  # the weight is the larger operand: as it is
            out = _forward_weight_as_is(xs, weight, b, geometry)
            return out.reshape(n, out_h, out_w, oc).transpose(0, 3, 1, 2)
        wmat = weight_matrix(weight, groups)  # (G, K_g, OC_g)
        out = np.empty((n * out_h * out_w, oc), dtype=dtype)
        if n < ROW_BANDS_MAX_IMAGES and out_h > 1 and out_h * out_w * kh * kw * c * out.itemsize >= COLS_BLOCK_BYTES:
            _forward_row_bands(xs, wmat, b, out, geometry, (kh, kw))
            return out.reshape(n, out_h, out_w, oc).transpose(0, 3, 1, 2)
        def columns_times_weight(src, buf, rows):  # one block: im2col, GEMM, bias while still in cache
            gemm_cols_w(im2col(src, kh, kw, out_h, out_w, stride, dilation, buf), wmat, groups, kh * kw, rows)
            if b is not None:
                add_channel_vector(rows, b)

        cols_size = out.size // oc * kh * kw * c
        if one_small_block(cols_size * out.itemsize):  # the whole batch as one block: no scheduler, no buffers
            columns_times_weight(pad_nhwc(xs, pads) if any(pads) else xs, np.empty(cols_size, dtype), out)
        else:
            blocks = _input_blocks(xs, out_h, out_w, kh, kw, pads, oc // groups)
            blocks.run(lambda worker, blk: columns_times_weight(blocks.padded(worker, xs, blk), blocks.cols[worker],
                                                                out[blocks.rows_of(blk)]))
        return out.reshape(n, out_h, out_w, oc).transpose(0, 3, 1, 2)  # NCHW view of NHWC memory

    @staticmethod
    def backward(ctx, grad):
        xs, weight = ctx.saved_tensors
        out_h, out_w, stride, pads, dilation, groups, has_bias = ctx.geometry
        n, h, w, c = xs.shape
        oc, cg, kh, kw = weight.shape
        need_x, need_w = ctx.needs_input_grad[:2]
        need_b = has_bias and ctx.needs_input_grad[2]
        g = np.ascontiguousarray(nhwc(grad)).astype(xs.dtype, copy=False).reshape(-1, oc)  # (M, OC)

        grad_b = np.ones(g.shape[0], dtype=g.dtype) @ g if need_b else None  # a GEMV beats g.sum(0)
        if groups == c > 1:  # depthwise (conv_depthwise.py)
            g4 = g.reshape(n, out_h, out_w, oc)
            grad_x, grad_w = depthwise_backward(xs, weight, g4, ctx.geometry, need_x, need_w)
            return (grad_x, grad_w, grad_b) if has_bias else (grad_x, grad_w)
        grad_w = _weight_grad(xs, g, weight, ctx.geometry) if need_w else None
        grad_x = _input_grad(xs, g, weight, ctx.geometry) if need_x else None
        return (grad_x, grad_w, grad_b) if has_bias else (grad_x, grad_w)


# a pure rule of the shapes, called with ints, tuples of ints, a name and a dtype: remembered per layer shape
_winograd_tile = functools.lru_cache(maxsize=1024)(winograd_tile)


def _weight_grad(xs, g, weight, geometry):
    """dL/dweight from the NHWC input and the (M, OC) output gradient: Winograd where the rule
    says so, else im2col + GEMM per batch block (the columns recomputed, cheaper than kept)."""
    out_h, out_w, stride, pads, dilation, groups, _ = geometry
    n, h, w, c = xs.shape
    oc, cg, kh, kw = weight.shape
    m = _winograd_tile(n, c, oc, h, w, (kh, kw), "weight_grad", pads, stride, dilation, groups, xs.dtype)
    if m:
        return conv2d_weight_grad_nhwc(xs, g.reshape(n, out_h, out_w, oc), pads, kh, m=m)
    blocks = _input_blocks(xs, out_h, out_w, kh, kw, pads, oc // groups)

    def block(worker, blk):
        src = blocks.padded(worker, xs, blk)
        cols = im2col(src, kh, kw, out_h, out_w, stride, dilation, blocks.cols[worker])
        return gemm_cols_g(cols, g[blocks.rows_of(blk)], groups, kh * kw)

    gw = blocks.run_summed(block, (groups, kh * kw * cg, oc // groups), xs.dtype)
    return weight_from_matrix(gw, weight.shape)


def _input_grad(xs, g, weight, geometry):
    """dL/dx (an NCHW view of NHWC memory) from the (M, OC) output gradient: Winograd where the
    rule says so; stride 1: one kernel row at a time; else per kernel offset and slice-adds."""
    out_h, out_w, stride, pads, dilation, groups, _ = geometry
    n, h, w, c = xs.shape
    oc, cg, kh, kw = weight.shape
    m = _winograd_tile(n, c, oc, h, w, (kh, kw), "input_grad", pads, stride, dilation, groups, xs.dtype)
    g4 = g.reshape(n, out_h, out_w, oc)
    if m:
        dx = conv2d_input_grad_nhwc(g4, weight, pads, (h, w), m=m)
    elif groups == 1 and stride == (1, 1) and kh * kw > 1:
        dx = _input_grad_rows(g4, weight, dilation, (h, w), pads)
    else:
        padded = (n, h + pads[0] + pads[1], w + pads[2] + pads[3], c)
        dxp = _input_grad_scatter(g, weight, padded, out_h, out_w, stride, dilation, groups)
        dx = dxp[:, pads[0]:pads[0] + h, pads[2]:pads[2] + w]
    return dx.transpose(0, 3, 1, 2)


def _forward_weight_as_is(xs, weight, b, geometry):
    """The forward when the output has fewer pixels than channels (deep layers at batch 1, e.g.
    ResNet-18's 512-channel 7x7 stage): rearranging the weight into im2col's (kh*kw*C, OC) order
    would copy more than the whole input, so the columns are built transposed instead, in the
    weight's own (C, kh, kw) order, and the product is weight (OC, K) @ columns (K, M). On
    ResNet-18's 512 -> 512 convs at batch 1 the weight copy took longer than the GEMM."""
    n, h, w, c = xs.shape
    oc, _, kh, kw = weight.shape
    out_h, out_w, (sh, sw), pads, (dh, dw) = geometry.out_h, geometry.out_w, geometry.stride, geometry.pads, \
        geometry.dilation
    xp = pad_nhwc(xs, pads) if any(pads) else xs
    # gathered from a channel-first copy of the (small) input: runs of out_w pixels are then contiguous,
    # where gathering straight from NHWC memory reads one float per C*4 bytes (256 x 14 x 14: 400 -> 200 us)
    xc = np.ascontiguousarray(xp.transpose(3, 0, 1, 2))  # (C, n, Hp, Wp)
    s3, s0, s1, s2 = xc.strides
    windows = _strided(xc, (c, kh, kw, n, out_h, out_w), (s3, dh * s1, dw * s2, s0, sh * s1, sw * s2))
    cols = np.empty(windows.shape, dtype=xs.dtype)
    np.copyto(cols, windows)
    out_t = parallel.matmul(weight.reshape(oc, -1), cols.reshape(c * kh * kw, -1))  # (OC, M), on the workers
    out = np.ascontiguousarray(out_t.T)  # (M, OC): NHWC memory, as the other paths give
    if b is not None:
        add_channel_vector(out, b)
    return out


ROW_BANDS_MAX_IMAGES = 4  # fewer images than this, each with large columns: cut them into bands of rows
_MIN_BANDS = 4  # per image: enough for the workers, and the same bands on any thread count


def _forward_row_bands(xs, wmat, b, out, geometry, kernel):
    """The forward of a conv of one or a few large images (batch-1 inference of a 224x224 net).
    Batch blocks would give one block, so one core; instead each image's output rows are cut
    into bands whose columns take at most COLS_BLOCK_BYTES, run on the workers. The bands depend
    on the shapes only, so the result does not depend on the thread count."""
    n, h, w, c = xs.shape
    (kh, kw), (sh, _), (dh, _) = kernel, geometry.stride, geometry.dilation
    out_h, out_w, pads = geometry.out_h, geometry.out_w, geometry.pads
    xp = pad_nhwc(xs, pads) if any(pads) else xs
    row_bytes = out_w * kh * kw * c * out.itemsize
    rows = max(1, min(COLS_BLOCK_BYTES // row_bytes, -(-out_h // _MIN_BANDS)))
    bands = [(i, r, min(r + rows, out_h)) for i in range(n) for r in range(0, out_h, rows)]
    workers = parallel.share_workers(len(bands), n * out_h * row_bytes)
    bufs = [np.empty(rows * out_w * kh * kw * c, dtype=out.dtype) for _ in range(workers)]

    def band(worker, item):
        i, first, last = item
        src = xp[i:i + 1, first * sh: (last - 1) * sh + dh * (kh - 1) + 1]
        cols = im2col(src, kh, kw, last - first, out_w, geometry.stride, geometry.dilation, bufs[worker])
        dst = out[(i * out_h + first) * out_w: (i * out_h + last) * out_w]
        gemm_cols_w(cols, wmat, geometry.groups, kh * kw, dst)
        if b is not None:
            add_channel_vector(dst, b)

    parallel.run_blocks(band, bands, workers)


def _input_blocks(xs, out_h, out_w, kh, kw, pads, oc_per_group):
    """The im2col blocks of a conv's NHWC input ``xs``, padded per block by ``pads``."""
    n, h, w, c = xs.shape
    padded = (h + pads[0] + pads[1], w + pads[2] + pads[3], c), (pads[0], pads[2])
    flops = 2 * n * out_h * out_w * kh * kw * c * oc_per_group
    return Blocks(n, out_h * out_w, kh * kw * c, xs.dtype, padded if any(pads) else None, flops=flops)


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
    blocks = Blocks(n, out_h * w, kw * oc + kh * c, g.dtype, ((out_h, w + span_w, oc), (0, span_w - pads[2])),
                    flops=2 * n * out_h * w * kw * oc * kh * c)
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
            window_view(dxp, i, j, out_h, out_w, stride, dilation)[...] += contrib
    return dxp


def weight_matrix(weight, groups):
    """(OC, C_g, kh, kw) -> (G, kh*kw*C_g, OC_g), rows ordered (i, j, c) like the im2col columns."""
    oc, cg, kh, kw = weight.shape
    return np.ascontiguousarray(
        weight.reshape(groups, oc // groups, cg, kh, kw).transpose(0, 3, 4, 2, 1)
        .reshape(groups, kh * kw * cg, oc // groups)
    )


def weight_from_matrix(gw, shape):
    oc, cg, kh, kw = shape
    groups = gw.shape[0]
    return np.ascontiguousarray(gw.reshape(groups, kh, kw, cg, oc // groups).transpose(0, 4, 3, 1, 2).reshape(shape))


def gemm_cols_w(cols, wmat, groups, taps, out):
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


def gemm_cols_g(cols, g, groups, taps):
    """Weight gradient of one block: columns^T times the output gradient -> (G, K_g, OC_g)."""
    if groups == 1:
        return parallel.dot(cols.T, g)[None]
    m = cols.shape[0]
    cols4 = cols.reshape(m, taps, groups, -1)
    g3 = g.reshape(m, groups, -1)
    return np.einsum("mkgc,mgo->gkco", cols4, g3, optimize=True).reshape(groups, -1, g3.shape[2])


# ----------------------------------------------------------------------------- pooling


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``torch.nn.functional.conv2d`` on a 4-D input: checks the arguments once (shapes, channels, kernel
    against input, memory) and applies Conv2d."""
    op = "conv2d"
    weight = tensor_or_array(weight, "weight", op)
    check_4d(x, op)
    check_4d(weight, op, "weight")
    dtype = x.dtype if x.dtype == weight.dtype else np.result_type(x.dtype, weight.dtype)
    stride, pads, dilation = conv_geometry(tuple(x.shape), tuple(weight.shape), dtype,
                                           stride, padding, dilation, groups)
    inputs = (x, weight)
    if bias is not None:
        bias = tensor_or_array(bias, "bias", op)
        oc = weight.shape[0]
        if bias.shape != (oc,):
            raise ValueError(f"{op}: bias must have shape ({oc},) (one per output channel), got {tuple(bias.shape)}")
        inputs += (bias,)
    return Conv2d.apply(*inputs, stride=stride, pads=pads, dilation=dilation, groups=int(groups))


@memoize_checks
def conv_geometry(shape, weight_shape, dtype, stride, padding, dilation, groups):
    """The checked (stride, pads, dilation) of a conv2d of a 4-D input ``shape`` with a weight of
    ``weight_shape``; remembered per argument set, so a layer's later calls skip the checks."""
    op = "conv2d"
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{op}: groups must be a positive int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    n, c, h, w = shape
    oc, cg, kh, kw = weight_shape
    if c != cg * groups:
        raise ValueError(
            f"{op}: input has {c} channels but weight {weight_shape} expects {cg * groups} "
            f"(in_channels/groups = {cg}, groups = {groups})"
        )
    if oc % groups:
        raise ValueError(f"{op}: out_channels ({oc}) must be divisible by groups ({groups})")
    if min(weight_shape) == 0 or min(shape) == 0:
        raise ValueError(f"{op}: empty input {shape} or weight {weight_shape}")
    stride = int_pair(stride, "stride", op, 1)
    dilation = int_pair(dilation, "dilation", op, 1)
    pads = _conv_pads(padding, stride, dilation, kh, kw, op)
    out_h = output_length(h, pads[0] + pads[1], kh, stride[0], dilation[0], op, "rows")
    out_w = output_length(w, pads[2] + pads[3], kw, stride[1], dilation[1], op, "columns")
    # forward and backward hold the padded input and its gradient, the output and its gradient,
    # and the im2col columns of at least one image
    padded_shape = (n, c, h + pads[0] + pads[1], w + pads[2] + pads[3])
    elements = 2 * math.prod(padded_shape) + 2 * n * oc * out_h * out_w + out_h * out_w * kh * kw * c
    check_memory(op, elements * np.dtype(dtype).itemsize,
                 f"a padded input of shape {padded_shape} and an output of shape {(n, oc, out_h, out_w)}",
                 "; check padding, dilation and the input size")
    # a stride beyond the padded input places one window, as does a stride equal to its size; a
    # dilation of a 1-tap kernel changes nothing: cap them so no strided view gets an absurd byte
    # stride (stride=10**30 is legal, if useless)
    stride = (min(stride[0], h + pads[0] + pads[1]), min(stride[1], w + pads[2] + pads[3]))
    dilation = (dilation[0] if kh > 1 else 1, dilation[1] if kw > 1 else 1)
    return stride, pads, dilation


def _conv_pads(padding, stride, dilation, kh, kw, op):
    """(top, bottom, left, right) from conv2d's padding: an int, a pair, 'valid' or 'same'."""
    if not isinstance(padding, str):
        ph, pw = int_pair(padding, "padding", op, 0)
        return ph, ph, pw, pw
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        if stride != (1, 1):
            raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
        total_h, total_w = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
        return total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2
    raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
