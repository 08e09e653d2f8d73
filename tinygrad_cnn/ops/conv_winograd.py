"""Winograd convolution F(m x m, r x r) on channels-last (NHWC) arrays: forward, input gradient
and weight gradient of a stride-1, undilated, ungrouped conv with a square r x r kernel.

The method (Lavin & Gray 2015). Output tiles of m x m pixels are computed from input tiles of
alpha x alpha pixels, alpha = m + r - 1, taken every m pixels::

    Y = A^T [ (G g G^T) * (B^T d B) ] A        (* elementwise, per channel pair, summed over C)

so a tile costs alpha^2 multiply-adds per channel pair instead of m^2 r^2: F(2x2, 3x3) 16/36,
F(4x4, 3x3) 36/144, F(4x4, 5x5) 64/400. The matrices are built here, exactly (fractions), from
the interpolation points ``POINTS`` and infinity; the rows of B^T are scaled to integers.

How it runs in NumPy (``_correlate``): the tiles of the batch are cut into blocks whose scratch
fits in cache, shared out among the worker threads like the im2col path's (``parallel``). Per
block: the alpha x alpha input tiles are copied out of one 6-D strided view into an offset-major
(alpha, alpha, tiles, C) buffer; B^T is applied along each of the two alpha axes by one GEMM
each; then alpha^2 GEMMs (tiles, C) @ (C, OC) (one batched matmul); then A^T along each axis,
again one GEMM each; and the m x m results are copied into the NHWC output. Every step is one
BLAS call or one copy, so no Python loop runs per tile or per channel.

* Input gradient: the full correlation of the output gradient (placed at r - 1 - pad in zeros)
  with the flipped, transposed kernel; the same routine.
* Weight gradient: dW = G^T [ (A g_tile A^T) * (B^T d B) ] G summed over tiles, i.e. the forward's
  input tiles against the output-gradient tiles transformed by A^T's transpose, contracted over
  tiles by alpha^2 GEMMs (C, tiles) @ (tiles, OC); the sums are kept per fixed group of blocks.
* float32 inputs are computed in float32 (the kernel transform in the input's dtype, too).
  Measured max error relative to the output's largest value, against float64, C = 64, in
  float32: F(2x2, 3x3) 3.9e-7 (the im2col path: 4.5e-7), F(4x4, 3x3) 8.0e-6, F(4x4, 5x5) 4.8e-6,
  F(2x2, 5x5) 3.3e-6; float64 stays near 1e-15.

When it pays is ``winograd_wins``; its docstring has the figures.
"""
import functools
import math
from fractions import Fraction

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import parallel
from ._blocks import PARALLEL_MIN_BYTES, SUM_GROUPS

# the finite interpolation points for each tile size alpha (infinity is the last point); chosen
# by the measured float32 error: 0, +-1, +-2 (and +-1/2 for alpha 7, 8)
POINTS = {
    4: (0, 1, -1),
    6: (0, 1, -1, 2, -2),
    7: (0, 1, -1, Fraction(1, 2), Fraction(-1, 2), 2),
    8: (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2)),
}
BLOCK_BYTES = 1 << 20  # per scratch buffer and worker
DEFAULT_TILE = {3: 4, 5: 4}  # m for kernel size r, when the caller does not choose


# ----------------------------------------------------------------------------- the matrices


def _evaluation(points, k):
    """Evaluation of a polynomial with k coefficients at each point, then at infinity (its
    leading coefficient): (len(points) + 1, k), exact."""
    rows = [[Fraction(p) ** j for j in range(k)] for p in points]
    return rows + [[Fraction(0)] * (k - 1) + [Fraction(1)]]


def _inverse(rows):
    """Gauss-Jordan inverse of a square matrix of fractions."""
    n = len(rows)
    a = [list(row) + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(rows)]
    for col in range(n):
        pivot = next(i for i in range(col, n) if a[i][col] != 0)
        a[col], a[pivot] = a[pivot], a[col]
        a[col] = [x / a[col][col] for x in a[col]]
        for i in range(n):
            if i != col and a[i][col] != 0:
                f = a[i][col]
                a[i] = [x - f * y for x, y in zip(a[i], a[col])]
    return [row[n:] for row in a]


@functools.lru_cache(maxsize=None)
def transform_matrices(m, r):
    """(A^T (m, alpha), G (alpha, r), B^T (alpha, alpha)), float64, of F(m, r): for a 1-D input d
    of alpha values and a kernel g of r, ``A^T @ ((G @ g) * (B^T @ d))`` is the correlation
    y[i] = sum_k g[k] d[i + k], i < m. From the polynomial view of the transposed linear
    convolution: with V the alpha x alpha evaluation matrix, B^T = V^-T, G and A the evaluation
    matrices of the kernel and output polynomials. Row i of B^T is scaled to integers and row i
    of G divided by the same factor."""
    alpha = m + r - 1
    points = POINTS[alpha]
    inv = _inverse(_evaluation(points, alpha))
    bt = [[inv[j][i] for j in range(alpha)] for i in range(alpha)]
    g = _evaluation(points, r)
    for i, row in enumerate(bt):
        scale = math.lcm(*(x.denominator for x in row))
        bt[i] = [x * scale for x in row]
        g[i] = [x / scale for x in g[i]]
    at = [list(col) for col in zip(*_evaluation(points, m))]
    return tuple(np.array([[float(x) for x in row] for row in mat]) for mat in (at, g, bt))


@functools.lru_cache(maxsize=None)
def _matrices(m, r, dtype):
    """A^T, B^T and G kron G in ``dtype``, read-only."""
    at, g, bt = transform_matrices(m, r)
    mats = tuple(np.asarray(a, dtype=dtype) for a in (at, bt, np.kron(g, g)))
    for a in mats:
        a.flags.writeable = False
    return mats


def _weight_tiles(weight, m, dtype, flip=False):
    """The transformed kernel G w G^T of every channel pair, (alpha^2, C, OC): one GEMM of
    G kron G (alpha^2, r^2) with the kernel arranged (r^2, C * OC). With ``flip``, the kernel of
    the input gradient instead: w[o, c, r-1-i, r-1-j] with the channels swapped, (alpha^2, OC, C)."""
    oc, c, r, _ = weight.shape
    gg = _matrices(m, r, dtype)[2]
    w = weight[:, :, ::-1, ::-1].transpose(2, 3, 0, 1) if flip else weight.transpose(2, 3, 1, 0)
    w = np.ascontiguousarray(w, dtype=dtype).reshape(r * r, c * oc)
    return (gg @ w).reshape(gg.shape[0], *((oc, c) if flip else (c, oc)))


# ----------------------------------------------------------------------------- blocks and tiles


def _tile_blocks(n, th, tw, tile_bytes, target=None, min_blocks=1):
    """(image slice, tile-row slice) pairs covering n images of th x tw tiles, each with about
    ``target`` (BLOCK_BYTES) of scratch per buffer, and at least ``min_blocks`` of them if there are
    that many tile rows: whole images when one fits, else rows of one image."""
    per_image = th * tw * tile_bytes
    count = min(n * th, max(min_blocks, -(-n * per_image // (target or BLOCK_BYTES))))
    if count <= n:
        step = -(-n // count)
        return [(slice(s, min(s + step, n)), slice(0, th)) for s in range(0, n, step)]
    step = -(-th // -(-count // n))
    return [(slice(i, i + 1), slice(t, min(t + step, th))) for i in range(n) for t in range(0, th, step)]


class _Scratch:
    """Per-worker flat buffers, reused by all of a worker's blocks."""

    def __init__(self, blocks, sizes, dtype, flops=0):
        total = sum(sizes) * np.dtype(dtype).itemsize * len(blocks)
        self.workers = parallel.share_workers(len(blocks), total, flops) if total >= PARALLEL_MIN_BYTES else 1
        self.bufs = [[np.empty(s, dtype=dtype) for s in sizes] for _ in range(self.workers)]

    def __call__(self, worker):
        return self.bufs[worker]


def _take(buf, shape):
    return buf[: math.prod(shape)].reshape(shape)


def _window_rows(src, ib, row0, rows, cols, top, left, buf):
    """Rows row0 .. row0 + rows (and columns 0 .. cols) of images ``ib`` of NHWC ``src`` as if
    src were placed at (top, left) in zeros (a negative offset crops it): a view of src when no
    zero is needed, else written into ``buf``."""
    h, w, c = src.shape[1:]
    r0, r1 = max(0, row0 - top), min(h, row0 + rows - top)
    c0, c1 = max(0, -left), min(w, cols - left)
    if r0 == row0 - top and r1 == row0 + rows - top and c0 == -left and c1 == cols - left:
        return src[ib, r0:r1, c0:c1]
    out = _take(buf, (ib.stop - ib.start, rows, cols, c))
    if r1 <= r0 or c1 <= c0:
        out[...] = 0
        return out
    d0, d1, e0, e1 = r0 + top - row0, r1 + top - row0, c0 + left, c1 + left
    out[:, :d0], out[:, d1:], out[:, d0:d1, :e0], out[:, d0:d1, e1:] = 0, 0, 0, 0
    out[:, d0:d1, e0:e1] = src[ib, r0:r1, c0:c1]
    return out


def _tiles_view(src, size, step, count_h, count_w):
    """The (size, size, N, count_h, count_w, C) view of NHWC ``src``'s size x size tiles taken
    every ``step`` pixels, offset-major."""
    s0, s1, s2, s3 = src.strides
    shape = (size, size, src.shape[0], count_h, count_w, src.shape[3])
    return as_strided(src, shape, (s1, s2, s0, step * s1, step * s2, s3), writeable=False)


def _two_sided(mat, data, buf_mid, buf_out):
    """mat applied along both leading axes of data (k, k, L): mat @ data @ mat^T for every
    column, as two GEMMs; the result (j, j, L) is written into buf_out."""
    j, k = mat.shape
    length = data.size // (k * k)
    mid = _take(buf_mid, (j, k * length))
    np.matmul(mat, data.reshape(k, k * length), out=mid)
    out = _take(buf_out, (j, j, length))
    np.matmul(mat, mid.reshape(j, k, length), out=out)
    return out


def _input_tiles(src, m, bt, buf_a, buf_b):
    """B^T d B of every alpha x alpha tile of the padded NHWC block ``src``, (alpha^2, tiles, C),
    in buf_a (buf_b is scratch)."""
    alpha = bt.shape[0]
    nb, rows, cols, c = src.shape
    count_h, count_w = (rows - alpha) // m + 1, (cols - alpha) // m + 1
    view = _tiles_view(src, alpha, m, count_h, count_w)
    d = _take(buf_a, view.shape)
    np.copyto(d, view)
    return _two_sided(bt, d, buf_b, buf_a).reshape(alpha * alpha, nb * count_h * count_w, c)


def _store_tiles(y, out, row0, bias):
    """Copy the m x m output tiles y (m, m, N, tiles_h, tiles_w, OC) into NHWC ``out`` from row
    ``row0`` on, cropping tiles beyond its edges; add ``bias`` to those rows."""
    m, nb, count_h, count_w = y.shape[0], y.shape[2], y.shape[3], y.shape[4]
    out_h, out_w = out.shape[1:3]
    row1 = min(out_h, row0 + count_h * m)
    if row1 - row0 == count_h * m and out_w == count_w * m:  # whole tiles: one copy
        s0, s1, s2, s3 = out.strides
        dst = as_strided(out[:, row0:], (nb, count_h, m, count_w, m, y.shape[5]), (s0, m * s1, s1, m * s2, s2, s3))
        np.copyto(dst, y.transpose(2, 3, 0, 4, 1, 5))
    else:
        for p in range(m):
            rows = len(range(row0 + p, row1, m))
            for q in range(m if rows else 0):
                cols = len(range(q, out_w, m))
                out[:, row0 + p: row1: m, q::m] = y[p, q, :, :rows, :cols]
    if bias is not None:
        out[:, row0:row1] += bias


# ----------------------------------------------------------------------------- the three passes


def _correlate(xs, u, m, r, out_size, offsets, bias=None):
    """The stride-1 correlation (n, out_h, out_w, OC) of NHWC ``xs`` placed at ``offsets`` =
    (top, left) in zeros, with the transformed kernel ``u`` (alpha^2, C, OC) of F(m, r)."""
    n, _, _, c = xs.shape
    alpha, oc = m + r - 1, u.shape[2]
    at, bt, _ = _matrices(m, r, xs.dtype)
    (out_h, out_w), (top, left) = out_size, offsets
    th, tw = -(-out_h // m), -(-out_w // m)
    cols = tw * m + r - 1
    out = np.empty((n, out_h, out_w, oc), dtype=xs.dtype)
    # each block reads all of u: blocks of >= min(C, OC) tiles keep its GEMMs from streaming u per few tiles
    # (and at least two blocks for two workers, the split being fixed by the shape alone)
    tile_bytes = alpha * alpha * max(c, oc) * xs.itemsize
    two = 2 if n * th * tw * tile_bytes >= PARALLEL_MIN_BYTES else 1
    blocks = _tile_blocks(n, th, tw, tile_bytes, max(BLOCK_BYTES, u.nbytes), two)
    nb, ntr = blocks[0][0].stop - blocks[0][0].start, blocks[0][1].stop - blocks[0][1].start
    big = alpha * alpha * nb * ntr * tw * max(c, oc)
    scratch = _Scratch(blocks, (big, big, nb * (ntr * m + r - 1) * cols * c), xs.dtype,
                       flops=2 * alpha * alpha * n * th * tw * c * oc)

    def block(worker, blk):
        ib, tr = blk
        buf_a, buf_b, buf_pad = scratch(worker)
        count = tr.stop - tr.start
        src = _window_rows(xs, ib, tr.start * m, count * m + r - 1, cols, top, left, buf_pad)
        v = _input_tiles(src, m, bt, buf_a, buf_b)
        prod = _take(buf_b, (alpha * alpha, v.shape[1], oc))
        np.matmul(v, u, out=prod)
        y = _two_sided(at, prod, buf_a, buf_b)
        _store_tiles(y.reshape(m, m, ib.stop - ib.start, count, tw, oc), out[ib], tr.start * m, bias)

    parallel.run_blocks(block, blocks, scratch.workers)
    return out


def conv2d_nhwc(xs, weight, pads, bias=None, m=None):
    """Forward of a stride-1 conv: NHWC ``xs`` (n, h, w, C), ``weight`` (OC, C, r, r), ``pads`` =
    (top, bottom, left, right), optional ``bias`` (OC,) -> NHWC (n, out_h, out_w, OC). ``m`` is
    the output tile (default DEFAULT_TILE[r])."""
    r = weight.shape[2]
    m = m or DEFAULT_TILE[r]
    n, h, w, c = xs.shape
    out_size = (h + pads[0] + pads[1] - r + 1, w + pads[2] + pads[3] - r + 1)
    u = _weight_tiles(weight, m, xs.dtype)
    b = None if bias is None else bias.astype(xs.dtype, copy=False)
    return _correlate(xs, u, m, r, out_size, (pads[0], pads[2]), b)


def conv2d_input_grad_nhwc(grad, weight, pads, in_size, m=None):
    """dL/dx (n, h, w, C), NHWC, of a stride-1 conv, from the NHWC output gradient ``grad``
    (n, out_h, out_w, OC): the full correlation of grad with the flipped, transposed kernel.
    ``in_size`` = (h, w) of the conv's input, ``pads`` as in the forward."""
    r = weight.shape[2]
    m = m or DEFAULT_TILE[r]
    u = _weight_tiles(weight, m, grad.dtype, flip=True)
    return _correlate(grad, u, m, r, tuple(in_size), (r - 1 - pads[0], r - 1 - pads[2]))


def conv2d_weight_grad_nhwc(xs, grad, pads, kernel, m=None):
    """dL/dw (OC, C, r, r) of a stride-1 conv from its NHWC input ``xs`` (n, h, w, C) and NHWC
    output gradient ``grad`` (n, out_h, out_w, OC); ``kernel`` = r, ``pads`` as in the forward.
    Sums over blocks are added in a fixed order: the result does not depend on the thread count."""
    r = kernel
    m = m or DEFAULT_TILE[r]
    n, _, _, c = xs.shape
    _, out_h, out_w, oc = grad.shape
    alpha = m + r - 1
    at, bt, gg = _matrices(m, r, xs.dtype)
    th, tw = -(-out_h // m), -(-out_w // m)
    cols = tw * m + r - 1
    a2, prod_bytes = alpha * alpha, alpha * alpha * c * oc * xs.itemsize
    # a block's product (alpha^2, C, OC) should not outweigh its tiles: blocks of >= min(C, OC) tiles
    blocks = _tile_blocks(n, th, tw, a2 * max(c, oc) * xs.itemsize, max(BLOCK_BYTES, prod_bytes))
    nb, ntr = blocks[0][0].stop - blocks[0][0].start, blocks[0][1].stop - blocks[0][1].start
    big = a2 * nb * ntr * tw * max(c, oc)
    scratch = _Scratch(blocks, (big, big, big, nb * (ntr * m + r - 1) * cols * c, nb * ntr * m * tw * m * oc,
                                a2 * c * oc), xs.dtype, flops=2 * a2 * n * th * tw * c * oc)
    # partial sums per fixed group of blocks (at most SUM_GROUPS, and at most ~16 MB of them)
    step = -(-len(blocks) // min(len(blocks), SUM_GROUPS, max(1, (16 << 20) // prod_bytes)))
    groups = [blocks[i:i + step] for i in range(0, len(blocks), step)]
    partial = np.empty((len(groups), a2, c, oc), dtype=xs.dtype)

    def group(worker, index):
        buf_a, buf_b, buf_c, buf_pad, buf_gpad, buf_prod = scratch(worker)
        prod = buf_prod.reshape(a2, c, oc)
        for i, (ib, tr) in enumerate(groups[index]):
            count = tr.stop - tr.start
            src = _window_rows(xs, ib, tr.start * m, count * m + r - 1, cols, pads[0], pads[2], buf_pad)
            v = _input_tiles(src, m, bt, buf_a, buf_b)
            gsrc = _window_rows(grad, ib, tr.start * m, count * m, tw * m, 0, 0, buf_gpad)
            gt = _take(buf_b, (m, m) + gsrc.shape[:1] + (count, tw, oc))
            np.copyto(gt, _tiles_view(gsrc, m, m, count, tw))
            e = _two_sided(at.T, gt, buf_c, buf_b).reshape(a2, v.shape[1], oc)
            np.matmul(v.transpose(0, 2, 1), e, out=prod if i else partial[index])
            if i:
                partial[index] += prod

    parallel.run_blocks(group, range(len(groups)), scratch.workers)
    dw = gg.T @ partial.sum(axis=0).reshape(a2, c * oc)  # (r * r, C * OC)
    return np.ascontiguousarray(dw.reshape(r, r, c, oc).transpose(3, 2, 0, 1))


# ----------------------------------------------------------------------------- when it pays

PASSES = ("forward", "input_grad", "weight_grad")
# predicted time ratio Winograd / im2col per (pass, r) (see winograd_wins):
#   inv_speedup * (gemm + input / C_in + output / C_out) + kernel * alpha^2 / (N * out_h * out_w * r^2)
RATIO_MODEL = {  # (gemm, input, output, kernel)
    ("forward", 3): (1.33, 21.9, 0.0, 25.6), ("forward", 5): (1.37, 22.5, 5.7, 45.3),
    ("input_grad", 3): (1.49, 0.0, 19.6, 25.1), ("input_grad", 5): (1.75, 0.0, 30.2, 43.4),
    ("weight_grad", 3): (1.33, 26.3, 0.0, 36.6), ("weight_grad", 5): (1.40, 26.6, 3.6, 51.9),
}
WIN_BELOW = 0.85  # predicted ratio under which Winograd is taken (differences under ~10% are noise here)
MIN_CHANNELS = {3: 32, 5: 16}  # min(C, OC) below which it never is
MIN_TILE_USE = 0.75  # a tile m whose tiles cover more than 1 / 0.75 of the pixels computed is never used
BIG_WEIGHT_GRAD = 1 << 17  # C * OC from which the weight gradient uses m = 2 (its alpha^2 x C x OC sums)


def predicted_ratio(batch, in_channels, out_channels, in_size, out_size, kernel, m, which):
    """RATIO_MODEL's Winograd / im2col time ratio for pass ``which`` with output tile m (inf for a
    tile that wastes more than MIN_TILE_USE allows). ``in_size``, ``out_size``: (h, w) of the
    conv's input and output."""
    (dom_h, dom_w), ci, co = (in_size, out_channels, in_channels) if which == "input_grad" else \
        (out_size, in_channels, out_channels)
    a2, tiles = (m + kernel - 1) ** 2, -(-dom_h // m) * -(-dom_w // m)
    if dom_h * dom_w < MIN_TILE_USE * tiles * m * m:
        return math.inf
    gemm, inp, outp, kern = RATIO_MODEL[which, kernel]
    inv_speedup = a2 * tiles / (kernel * kernel * dom_h * dom_w)  # transformed products per direct one
    return inv_speedup * (gemm + inp / ci + outp / co) + kern * a2 / (batch * math.prod(out_size) * kernel ** 2)


def winograd_tile(batch, in_channels, out_channels, height, width, kernel, which="forward", padding=0,
                  stride=1, dilation=1, groups=1, dtype=np.float32):
    """The output tile m to run pass ``which`` of this conv with, or 0 for the im2col path; see
    ``winograd_wins``."""
    if which not in PASSES:
        raise ValueError(f"winograd_tile: which must be one of {PASSES}, got {which!r}")
    if np.dtype(dtype) not in (np.float32, np.float64):
        return 0
    pads = (padding,) * 4 if isinstance(padding, int) else tuple(padding)
    if isinstance(kernel, (tuple, list)):
        if len(set(kernel)) > 1:
            return 0
        kernel = kernel[0]
    if stride not in (1, (1, 1)) or dilation not in (1, (1, 1)) or groups != 1 or kernel not in MIN_CHANNELS:
        return 0
    out_size = (height + pads[0] + pads[1] - kernel + 1, width + pads[2] + pads[3] - kernel + 1)
    if min(in_channels, out_channels) < MIN_CHANNELS[kernel] or min(out_size) < 1:
        return 0
    tiles = (2,) if which == "weight_grad" and in_channels * out_channels >= BIG_WEIGHT_GRAD else (2, 4)
    ratio, m = min((predicted_ratio(batch, in_channels, out_channels, (height, width), out_size, kernel, m, which), m)
                   for m in tiles)
    return m if ratio < WIN_BELOW else 0


def winograd_wins(batch, in_channels, out_channels, height, width, kernel, which="forward", padding=0,
                  stride=1, dilation=1, groups=1, dtype=np.float32):
    """True when pass ``which`` ("forward", "input_grad" or "weight_grad") of this conv should run
    by Winograd rather than im2col; ``winograd_tile`` gives the tile m to use. ``height``,
    ``width``: the conv's input size; ``padding``: an int or (top, bottom, left, right);
    ``kernel``: r or (r, r). Only float32/float64, stride 1, no dilation, groups 1, r = 3 or 5.

    The rule, from measurements (AMD EPYC Zen 5, 2 vCPUs, 2 MB L2 per core, NumPy 2.4 + OpenBLAS
    0.3.31, 2 worker threads, float32; the machine shared with other jobs):

    * min(C, OC) >= 32 for 3x3, >= 16 for 5x5. Below, the transforms cost as much as the GEMM
      work they save: 16 -> 32 3x3 convs (the mid net's second conv) measured 1.0-1.4x im2col's
      time, 1-channel first convs 4-9x (most of the MNIST-net shapes: never Winograd).
    * a tile that computes over 1/0.75 of the pixels asked for is out (F(4x4) on a 6x6 output, or
      on the 10x10 input gradient of an 8x8 output: 1.0-1.3x im2col's time).
    * otherwise the tile m in (2, 4) with the lower predicted ratio ``predicted_ratio`` is taken if
      that is < 0.85. The model (RATIO_MODEL, per pass and r): with s = r^2 out_h out_w /
      (alpha^2 tiles) the GEMM speed-up, ratio = (gemm + input / C_in + output / C_out) / s
      + kernel alpha^2 / (N out_h out_w r^2): the batched GEMMs are ~1.4x less efficient per
      product than im2col's one long GEMM, a transformed value costs ~20-30 products per channel,
      the kernel transform ~25-50 products per value against the batch's output pixels (which is
      why ResNet-18's 7x7x512 and 14x14x256 convs at batch 1 stay on im2col).
    * the weight gradient uses m = 2 from C * OC >= 2^17 (its alpha^2 x C x OC partial sums).

    Fitted by least squares on relative error over 157 shapes x 3 passes x m in (2, 4) (3x3 and
    5x5, 8..512 channels, outputs 6..56, batches 1..128) timed in CPU seconds (median |error|
    0.09-0.17), then checked against the same grid timed in wall seconds: it takes 311 of the 471
    passes, median 0.58x im2col's time, the worst 1.02x; it leaves 6 that were < 0.8x (all
    0.71-0.80x). Commands::

        python benchmarks/bench_winograd.py --clock cpu --rounds 5 --grid grid.jsonl
        python benchmarks/bench_winograd.py --fit grid.jsonl
        python benchmarks/bench_winograd.py            # the reference nets' shapes, and the rule's picks

    The reference nets (``python benchmarks/bench_winograd.py``, wall time, medians of 15
    alternated rounds; Winograd / im2col time, forward / input grad / weight grad):

    * lenet 32->32 5x5, 24 -> 20, batch 128: F(4x4) 0.43 / 0.54 / 0.45 (im2col 53 / 58 / 54 ms);
      batch 32: 0.43 / 0.53 / 0.45. Taken, all passes.
    * lenet 32->64 3x3, 10 -> 8: F(4x4) 0.71 / 1.02 / 0.78 at batch 128, 0.69 / 1.11 / 0.72 at
      32 (F(2x2) dx 1.04-1.11). Taken for forward and weight grad; dx stays on im2col.
    * lenet 64->64 3x3, 8 -> 6: forward F(2x2) 0.80 (F(4x4) 0.90), dx F(4x4) 0.67, dw F(2x2)
      0.83 at batch 128; 0.79 / 0.69 / 0.83 at 32. Taken.
    * the 1-channel first convs (lenet, mid): 1.8-10.6x; mid's 16->32 3x3: 1.07-1.32x. im2col.
    * ResNet-18 forward, batch 1: 56x56x64 F(4x4) 0.48, 28x28x128 F(4x4) 0.54 (taken);
      14x14x256 F(2x2) 0.90 (predicted 0.86: im2col), 7x7x512 1.27 (im2col).
    """
    return winograd_tile(batch, in_channels, out_channels, height, width, kernel, which, padding,
                         stride, dilation, groups, dtype) > 0
