"""``conv_transpose2d``: the transposed convolution (the input-gradient of a conv), NCHW like PyTorch.

y[n, o, h*s + i*d - p, w*s + j*d - p] += x[n, c, h, w] * weight[c, o, i, j], weight of shape
(in_channels, out_channels / groups, kh, kw). How it is computed, channels-last inside (see conv.py):

* Forward: one GEMM per cache-sized batch block, (b*H*W, C_in) @ (C_in, kh*kw*C_out), then
  col2im: for each kernel offset (i, j) one strided slice-add of its (b, H, W, C_out) columns into
  the output, clipped to the rows and columns that survive the padding (never np.add.at). The
  output starts as the bias, so no crop copy and no separate bias pass are needed.
* Backward: the same geometry is a plain conv of the output gradient (im2col of the gradient,
  padded by ``padding`` on the top/left and cut to (H-1)*s + d*(k-1) + 1 rows), whose GEMM with the
  weight, viewed as a conv weight (C_in, C_out / groups, kh, kw) as it is, gives dL/dx; the same
  columns against x give dL/dweight (summed over blocks in a fixed order), and dL/dbias is a GEMV.
"""
import math

import numpy as np

from .. import parallel
from .._memory import check_memory
from ..errors import ArgumentError, DtypeError, NotImplementedForDtype
from ..function import Function
from ._blocks import Blocks
from ._checks import check_tensor, int_pair, tensor_or_array
from .conv import gemm_cols_g, gemm_cols_w, im2col, weight_from_matrix, weight_matrix
from .layout import nhwc

__all__ = ["conv_transpose2d"]


def _phases(size, out_size, kernel, stride, dilation, pad):
    """Along one axis, per output phase ph (the output positions r = q*stride + ph): its length
    and, for each kernel offset i that lands on it, (i, input slice, slice of q). Offset i sends
    input h to r = h*stride + i*dilation - pad, i.e. to q = h + off in one phase, a plain shift."""
    phases = []
    for ph in range(min(stride, out_size)):
        length, taps = len(range(ph, out_size, stride)), []
        for i in range(kernel):
            shift = i * dilation - pad - ph
            if shift % stride == 0:
                off = shift // stride
                lo, hi = max(0, -off), min(size, length - off)
                if lo < hi:
                    taps.append((i, slice(lo, hi), slice(lo + off, hi + off)))
        phases.append((ph, length, taps))
    return phases


def _tap_weights(weight, groups):
    """(C_in, C_out_g, kh, kw) -> (kh*kw, G, C_in_g, C_out_g): one GEMM operand per kernel offset."""
    cin, oc_g, kh, kw = weight.shape
    w = weight.reshape(groups, cin // groups, oc_g, kh, kw).transpose(3, 4, 0, 1, 2)
    return np.ascontiguousarray(w.reshape(kh * kw, groups, cin // groups, oc_g))


def _sum_phase(target, taps, pairs, fill):
    """target = fill + each kernel offset's (b, H, W, ...) result ``taps[t]`` shifted into place;
    an offset that covers the whole target is written first, instead of filling then adding."""
    full = next((p for p in pairs if p[2].start == p[4].start == 0 and p[2].stop == target.shape[1]
                 and p[4].stop == target.shape[2]), None)
    if full is None:
        target[...] = fill
    elif isinstance(fill, np.ndarray):
        np.add(taps[full[0]][:, full[1], full[3]], fill.reshape(target.shape[3:]), out=target)
    else:
        np.copyto(target, taps[full[0]][:, full[1], full[3]])
    for p in pairs:
        if p is not full:
            t, src_h, dst_h, src_w, dst_w = p
            target[:, dst_h, dst_w] += taps[t][:, src_h, src_w]


class ConvTranspose2d(Function):
    """The transposed 2-D convolution; options are checked by ``conv_transpose2d``.

    Per batch block: one GEMM per kernel offset (a single batched matmul), tap-major so that
    each offset's (b, H, W, C_out) result is contiguous; then per output phase (r mod stride)
    its offsets are added, shifted, into a contiguous phase buffer, which is written once into
    the strided output. Measured against slice-adding position-major columns straight into the
    strided output: 2-3x faster col2im (the adds run over whole contiguous rows)."""

    @staticmethod
    def forward(ctx, x, weight, *bias, stride, padding, out_size, dilation, groups):
        n, cin, h, w = x.shape
        _, oc_g, kh, kw = weight.shape
        oc, (out_h, out_w) = oc_g * groups, out_size
        xs = np.ascontiguousarray(nhwc(x)).reshape(n * h * w, cin)
        ctx.save_for_backward(xs, weight)
        ctx.geometry = (x.shape, out_size, stride, padding, dilation, groups)
        out = np.empty((n, out_h, out_w, oc), dtype=x.dtype)
        if n == 0:
            out[...] = bias[0] if bias else 0
            return out.transpose(0, 3, 1, 2)
        wt = _tap_weights(weight, groups)
        fill = bias[0].reshape(groups, oc_g) if bias else 0
        rows = _phases(h, out_h, kh, stride[0], dilation[0], padding[0])
        cols = _phases(w, out_w, kw, stride[1], dilation[1], padding[1])
        single = len(rows) == len(cols) == 1  # stride 1: the phase buffer is the output itself
        blocks = Blocks(n, h * w, kh * kw * oc, x.dtype, flops=2 * n * h * w * kh * kw * oc * cin // groups)
        step = blocks.slices[0].stop
        phase_bufs = [None if single else np.empty((step, rows[0][1], cols[0][1], oc), dtype=x.dtype)
                      for _ in range(blocks.workers)]

        def block(worker, blk):
            b = blk.stop - blk.start
            prod = blocks.cols[worker][: kh * kw * b * h * w * oc].reshape(kh * kw, groups, b * h * w, oc_g)
            xg = xs[blocks.rows_of(blk)].reshape(b * h * w, groups, -1).transpose(1, 0, 2)
            np.matmul(xg, wt, out=prod)  # (kh*kw, G, M, C_out_g)
            taps = prod.reshape(kh * kw, groups, b, h, w, oc_g).transpose(0, 2, 3, 4, 1, 5)
            o = out[blk].reshape(b, out_h, out_w, groups, oc_g)
            for ph, length_h, rtaps in rows:
                for pw, length_w, ctaps in cols:
                    target = o if single else phase_bufs[worker][:b, :length_h, :length_w].reshape(o.shape[:1] + (
                        length_h, length_w, groups, oc_g))
                    _sum_phase(target, taps, [(i * kw + j, sh, dh, sw, dw) for i, sh, dh in rtaps
                                              for j, sw, dw in ctaps], fill)
                    if not single:
                        o[:, ph::stride[0], pw::stride[1]] = target

        blocks.run(block)
        return out.transpose(0, 3, 1, 2)  # NCHW view of NHWC memory

    @staticmethod
    def backward(ctx, grad):
        xs, weight = ctx.saved_tensors
        (n, cin, h, w), (out_h, out_w), stride, padding, dilation, groups = ctx.geometry
        _, oc_g, kh, kw = weight.shape
        oc = oc_g * groups
        need_x, need_w = ctx.needs_input_grad[:2]
        has_bias = len(ctx.needs_input_grad) > 2
        need_b = has_bias and ctx.needs_input_grad[2]
        g = np.ascontiguousarray(nhwc(grad)).astype(xs.dtype, copy=False)
        dx = (np.empty if n else np.zeros)((n, h, w, cin), dtype=g.dtype)
        grad_w, grad_b = np.zeros(weight.shape, dtype=g.dtype), np.zeros(oc, dtype=g.dtype)
        if n and (need_x or need_w or need_b):
            dw, db = _backward_blocks(g, xs, weight, (h, w), stride, padding, dilation, groups, dx if need_x else None,
                                      need_w, need_b)
            grad_w = weight_from_matrix(dw, weight.shape) if need_w else grad_w
            grad_b = db if need_b else grad_b
        grad_x = dx.transpose(0, 3, 1, 2) if ctx.needs_input_grad[0] else None
        grad_w = grad_w if ctx.needs_input_grad[1] else None
        return (grad_x, grad_w, grad_b if need_b else None) if has_bias else (grad_x, grad_w)


def _backward_blocks(g, xs, weight, in_size, stride, padding, dilation, groups, dx, need_w, need_b):
    """One pass over batch blocks of the output gradient ``g`` (N, OH, OW, C_out): im2col of the
    gradient padded to the conv geometry, then dx rows = cols @ weight matrix (written into ``dx``
    if given), and summed over blocks in a fixed order: the weight-gradient matrix cols^T @ x rows
    (if ``need_w``) and the bias gradient (if ``need_b``; a GEMV per block, in the workers, where
    the BLAS is single-threaded: a multi-threaded skinny GEMV was measured 100x slower on a busy machine)."""
    n, out_h, out_w, oc = g.shape
    (h, w), (kh, kw), cin = in_size, weight.shape[2:], xs.shape[1]
    hp, wp = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1, (w - 1) * stride[1] + dilation[1] * (kw - 1) + 1
    same = (hp, wp) == (out_h, out_w) and padding == (0, 0)
    blocks = Blocks(n, h * w, kh * kw * oc, g.dtype, None if same else ((hp, wp, oc), padding),
                    flops=2 * n * h * w * kh * kw * oc * cin)
    wmat = weight_matrix(weight, groups) if dx is not None else None  # (G, kh*kw*C_out_g, C_in_g)
    dx_rows = dx.reshape(n * h * w, -1) if dx is not None else None
    ones = np.ones(blocks.slices[0].stop * out_h * out_w, dtype=g.dtype)
    w_shape = (groups, kh * kw * oc // groups, cin // groups)
    w_size = math.prod(w_shape) if need_w else 0

    def block(worker, blk):
        rows, parts = blocks.rows_of(blk), []
        if dx_rows is not None or need_w:
            src = blocks.padded(worker, g, blk)
            cols = im2col(src, kh, kw, h, w, stride, dilation, blocks.cols[worker])
            if dx_rows is not None:
                gemm_cols_w(cols, wmat, groups, kh * kw, dx_rows[rows])
            if need_w:
                parts.append(gemm_cols_g(cols, xs[rows], groups, kh * kw).ravel())
        if need_b:
            g_rows = g[blk].reshape(-1, oc)
            parts.append(parallel.dot(ones[: g_rows.shape[0]], g_rows))
        return np.concatenate(parts) if len(parts) > 1 else parts[0] if parts else None

    if not (need_w or need_b):
        blocks.run(block)
        return None, None
    total = blocks.run_summed(block, (w_size + oc * need_b,), g.dtype)
    return (total[:w_size].reshape(w_shape) if need_w else None), total[w_size:]


# ----------------------------------------------------------------------------- the functional


def _geometry(value, name, minimum, message):
    """An int or a pair of ints (torch: TypeError otherwise), each >= minimum (RuntimeError)."""
    op = "conv_transpose2d"
    if isinstance(value, (tuple, list)) and len(value) not in (1, 2):
        raise ArgumentError(f"{op}: expected {name} to be a single integer value or a list of 2 values to match "
                           f"the convolution dimensions, but got {name}={list(value)}")
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    try:
        pair = int_pair(value, name, op, -math.inf)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}") from None
    if min(pair) < minimum:
        raise ArgumentError(f"{op}: {message}, got {name}={pair}")
    return pair


def _check_shapes(x, weight, bias, groups):
    op = "conv_transpose2d"
    if x.ndim != 4:
        raise ArgumentError(f"{op}: expected 3D (unbatched) or 4D (batched) input, but got input of size: "
                           f"{list(x.shape)}")
    if weight.ndim != 4:
        raise ArgumentError(f"{op}: weight must be 4-D (in_channels, out_channels/groups, kH, kW), got shape "
                           f"{tuple(weight.shape)}")
    for what, t in (("input", x), ("weight", weight)) + ((("bias", bias),) if bias is not None else ()):
        if t.dtype.kind != "f":
            raise NotImplementedForDtype(f"{op}: {what} must be floating point (float32 or float64), got {t.dtype}")
        if t.dtype != x.dtype:
            raise DtypeError(f"{op}: {what} has dtype {t.dtype} but input has {x.dtype}; they must match")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{op}: groups must be a positive int, got {groups!r}")
    if groups < 1:
        raise ArgumentError(f"{op}: non-positive groups is not supported, got groups={groups}")
    if 0 in weight.shape:
        raise ArgumentError(f"{op}: weight must not be empty, got weight of size {list(weight.shape)}")
    if weight.shape[0] % groups:
        raise ArgumentError(f"{op}: given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size {list(weight.shape)}")
    if x.shape[1] != weight.shape[0]:
        raise ArgumentError(f"{op}: given weight of size {list(weight.shape)}, expected input {list(x.shape)} to "
                           f"have {weight.shape[0]} channels (weight.shape[0]), but got {x.shape[1]} channels")
    oc = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (oc,):
        raise ArgumentError(f"{op}: expected bias to be 1-dimensional with {oc} elements (out_channels), but got "
                           f"bias of size {list(bias.shape)}")
    if x.shape[2] == 0 or x.shape[3] == 0:
        raise ArgumentError(f"{op}: only zero batch inputs are supported, but got input shape {list(x.shape)}")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """``torch.nn.functional.conv_transpose2d``: (N, C_in, H, W) or (C_in, H, W) input, weight
    (C_in, C_out / groups, kh, kw); output size (H-1)*stride - 2*padding + dilation*(kh-1) +
    output_padding + 1, output_padding smaller than the stride or the dilation."""
    op = "conv_transpose2d"
    check_tensor(input, op)
    x = input
    if x.ndim == 3:
        out = conv_transpose2d(x.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation)
        return out.squeeze(0)
    weight = tensor_or_array(weight, "weight", op)
    bias = None if bias is None else tensor_or_array(bias, "bias", op)
    _check_shapes(x, weight, bias, groups)
    stride = _geometry(stride, "stride", 1, "non-positive stride is not supported")
    padding = _geometry(padding, "padding", 0, "negative padding is not supported")
    output_padding = _geometry(output_padding, "output_padding", 0, "negative output_padding is not supported")
    dilation = _geometry(dilation, "dilation", 1, "dilation should be greater than zero")
    if any(op_ >= s and op_ >= d for op_, s, d in zip(output_padding, stride, dilation)):
        raise ArgumentError(f"{op}: output padding must be smaller than either stride or dilation, but got "
                           f"output_padding={output_padding}, stride={stride}, dilation={dilation}")
    kernel = weight.shape[2:]
    out_size = tuple((size - 1) * s - 2 * p + d * (k - 1) + o + 1 for size, s, p, d, k, o in
                     zip(x.shape[2:], stride, padding, dilation, kernel, output_padding))
    if min(out_size) < 1:
        raise ArgumentError(f"{op}: given input size per channel {tuple(x.shape[2:])}, the calculated output size "
                           f"per channel {out_size} is too small (padding {padding})")
    n, cin, h, w = x.shape
    oc = weight.shape[1] * groups
    elements = 2 * n * oc * math.prod(out_size) + 2 * n * cin * h * w + h * w * math.prod(kernel) * oc
    check_memory(op, elements * x.dtype.itemsize, f"an output of shape {(n, oc) + out_size}",
                 "; check stride, padding and dilation")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2d.apply(*inputs, stride=stride, padding=padding, out_size=out_size, dilation=dilation,
                                 groups=int(groups))


def _output_padding(input_shape, output_size, stride, padding, kernel_size, dilation):
    """The output_padding that makes a transposed conv give ``output_size`` (nn.ConvTranspose2d's
    forward(input, output_size)): 2 sizes, or the input's leading dimensions plus 2."""
    spatial = tuple(input_shape[-2:])
    size = list(output_size)
    if len(size) == len(input_shape):
        size = size[-2:]
    if len(size) != 2:
        raise ValueError(f"ConvTranspose2d: for {len(input_shape)}D input, output_size must have 2 or "
                         f"{len(input_shape)} elements (got {len(size)})")
    lows = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in zip(spatial, stride, padding, dilation,
                                                                        kernel_size)]
    highs = [low + s - 1 for low, s in zip(lows, stride)]
    if not all(low <= int(o) <= high for o, low, high in zip(size, lows, highs)):
        raise ValueError(f"ConvTranspose2d: requested an output size of {tuple(size)}, but valid sizes range from "
                         f"{lows} to {highs} (for an input of {spatial})")
    return tuple(int(o) - low for o, low in zip(size, lows))
