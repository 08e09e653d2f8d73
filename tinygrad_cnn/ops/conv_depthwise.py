"""Depthwise 2-D convolution (groups == in_channels), without GEMMs: one pass per kernel offset.

Each output channel o of a depthwise conv sees only input channel o // multiplier, so there is
nothing for a GEMM to contract; the general path (im2col and one tiny product per group) spends
its time in overhead. Here, for every kernel offset (i, j), the input pixels it meets form a
strided view of the NHWC input, and

* forward:      out[pixels] += x[window(i, j)] * w[:, i, j]   (per channel, broadcast over pixels)
* weight grad:  dw[:, i, j]  = sum over pixels of g * x[window(i, j)]
* input grad:   dx[window(i, j)] += g * w[:, i, j]

Padding is never materialised: an offset only touches the output pixels whose input pixel lies
inside the image, so each pass works on the matching sub-rectangles. With a channel multiplier
m > 1 the input channels are repeated m times first (output channel o = c*m + k reads input c),
which makes it a depthwise conv with m = 1; dx is summed back over the m copies.

The work is cut into tiles of whole images or, for large images, bands of rows (a batch-1 224x224
image is still shared by both cores) of about ``TILE_BYTES`` of output each. Every output (or
input-gradient) element is written by one tile and sums its offsets in a fixed order; the
weight-gradient partial sums of the tiles are added by ``Blocks.run_summed``. So results are the
same on any thread count. Measured in benchmarks/bench_depthwise.py.
"""
import functools

import numpy as np

from .. import parallel
from . import _blocks

# output (or input-gradient) bytes per tile. Serially 256 KB - 2 MB are within noise of each
# other; on 2 threads smaller tiles lose (more, shorter NumPy calls per thread: 1.4 vs 0.8 ms for
# the batch-1 112x112x32 forward at 256 KB vs 1 MB), and 1 MB still cuts that image in two
TILE_BYTES = 1 << 20


class Tiles(_blocks.Blocks):
    """``Blocks`` whose items are (batch slice, row slice) tiles of an (N, R, ...) array: groups
    of whole images, or bands of rows of one image when an image is larger than TILE_BYTES.
    The tiles depend on the shapes only, never on the thread count. Each worker gets one
    scratch buffer of ``buffer_elems`` elements (``cols``, as in Blocks)."""

    def __init__(self, n, rows, row_bytes, dtype, buffer_elems):
        # not Blocks.__init__, which cuts the batch only: sets what run and run_summed use (slices, workers)
        image_bytes = max(1, rows * row_bytes)
        if image_bytes > TILE_BYTES and rows > 1:
            bands = min(rows, -(-image_bytes // TILE_BYTES))
            step = -(-rows // bands)
            row_slices = [slice(r, min(r + step, rows)) for r in range(0, rows, step)]
            self.slices = [(slice(k, k + 1), rs) for k in range(n) for rs in row_slices]
            self.max_images, self.max_rows = 1, step
        else:
            count = -(-n * image_bytes // TILE_BYTES)
            step = -(-n // count)
            self.slices = [(slice(s, min(s + step, n)), slice(0, rows)) for s in range(0, n, step)]
            self.max_images, self.max_rows = step, rows
        big = n * image_bytes >= _blocks.PARALLEL_MIN_BYTES
        self.workers = parallel.share_workers(len(self.slices), n * image_bytes) if big else 1
        self.cols = [np.empty(buffer_elems(self.max_images, self.max_rows), dtype=dtype) for _ in range(self.workers)]


def _span(lo, hi, count, stride, offset):
    """The indices y in [0, count) with lo <= y * stride + offset < hi, as (first, stop)."""
    first = max(0, -(-(lo - offset) // stride))
    stop = min(count, -(-(hi - offset) // stride))
    return first, max(first, stop)


@functools.lru_cache(maxsize=256)  # a layer calls it with the same shapes every step
def _taps(in_size, geometry, kernel):
    """For each kernel offset (i, j): its input offsets (oi, oj) (input row = out row * stride + oi)
    and the output rows [y0, y1) and columns [x0, x1) whose input pixel is inside the image. The
    offset that covers the most output pixels comes first (it can write instead of add)."""
    (h, w), (sh, sw), (dh, dw) = in_size, geometry.stride, geometry.dilation
    top, left = geometry.pads[0], geometry.pads[2]
    taps = []
    for i in range(kernel[0]):
        oi = i * dh - top
        rows = _span(0, h, geometry.out_h, sh, oi)
        for j in range(kernel[1]):
            oj = j * dw - left
            cols = _span(0, w, geometry.out_w, sw, oj)
            if rows[0] < rows[1] and cols[0] < cols[1]:
                taps.append(((i, j), (oi, oj), rows, cols))
    taps.sort(key=lambda t: -(t[2][1] - t[2][0]) * (t[3][1] - t[3][0]))  # stable: ties keep (i, j) order
    return tuple(taps)


def _tiled_weight(weight, out_w, dtype):
    """(OC, 1, kh, kw) -> (kh, kw, out_w, OC): each offset's per-channel weights repeated along a
    row, so that a product with a row of NHWC pixels is one long contiguous loop (not out_w
    loops of OC elements: 1.1-1.9x faster measured for OC = 32..576, equal at 960)."""
    oc, _, kh, kw = weight.shape
    w = weight.reshape(oc, kh, kw).transpose(1, 2, 0).astype(dtype, copy=False)
    return np.ascontiguousarray(np.broadcast_to(w[:, :, None, :], (kh, kw, out_w, oc)))


def _accumulate(acc, terms, tmp):
    """acc = sum of a * b over ``terms`` [(view of acc, a, b)], added in the order given. The
    first term is written straight into acc when it covers all of it; else acc starts at zero."""
    start = 0
    if terms and terms[0][0].shape == acc.shape:
        np.multiply(terms[0][1], terms[0][2], out=acc)
        start = 1
    else:
        acc[...] = 0
    for dst, a, b in terms[start:]:
        t = tmp[: dst.size].reshape(dst.shape)
        np.multiply(a, b, out=t)
        np.add(dst, t, out=dst)


def _repeat_channels(xs, multiplier):
    """Each input channel repeated ``multiplier`` times (output channel o reads channel o // m)."""
    return xs if multiplier == 1 else np.repeat(xs, multiplier, axis=3)


def depthwise_forward(xs, weight, bias, geometry):
    """Output (N, out_h, out_w, OC), C-contiguous, of a depthwise conv of NHWC ``xs`` with
    ``weight`` (OC, 1, kh, kw), OC = multiplier * C; ``bias`` (OC,) or None. ``geometry`` is
    conv.py's ConvGeometry (out_h, out_w, stride, pads, dilation)."""
    n, h, w, c = xs.shape
    oc, _, kh, kw = weight.shape
    out_h, out_w, (sh, sw) = geometry.out_h, geometry.out_w, geometry.stride
    x = _repeat_channels(xs, oc // c)
    wt = _tiled_weight(weight, out_w, xs.dtype)
    bias_row = None if bias is None else np.tile(bias.astype(xs.dtype, copy=False), out_w)
    taps = _taps((h, w), geometry, (kh, kw))
    out = np.empty((n, out_h, out_w, oc), dtype=xs.dtype)
    row_elems = out_w * oc
    tiles = Tiles(n, out_h, row_elems * out.itemsize, xs.dtype, lambda b, r: b * r * row_elems)

    def tile(worker, blk):
        images, (r0, r1) = blk[0], (blk[1].start, blk[1].stop)
        acc = out[images, r0:r1]
        terms = []
        for (i, j), (oi, oj), (y0, y1), (x0, x1) in taps:
            y0, y1 = max(y0, r0), min(y1, r1)
            if y0 < y1:
                src = x[images, y0 * sh + oi: (y1 - 1) * sh + oi + 1: sh, x0 * sw + oj: (x1 - 1) * sw + oj + 1: sw]
                terms.append((acc[:, y0 - r0: y1 - r0, x0:x1], src, wt[i, j, : x1 - x0]))
        _accumulate(acc, terms, tiles.cols[worker])
        if bias_row is not None:
            flat = acc.reshape(acc.shape[0], r1 - r0, row_elems)
            np.add(flat, bias_row, out=flat)

    tiles.run(tile)
    return out


def depthwise_backward(xs, weight, g, geometry, need_x, need_w):
    """(dL/dx as an NCHW view of NHWC memory, dL/dweight), each None when not needed, for the
    depthwise conv of ``depthwise_forward``; ``g`` is the output gradient, NHWC contiguous."""
    n, h, w, c = xs.shape
    oc, _, kh, kw = weight.shape
    taps = _taps((h, w), geometry, (kh, kw))
    grad_w = _weight_grad(_repeat_channels(xs, oc // c), g, geometry, taps, weight.shape) if need_w else None
    grad_x = _input_grad(g, weight, (n, h, w, c), geometry, taps).transpose(0, 3, 1, 2) if need_x else None
    return grad_x, grad_w


def _weight_grad(x, g, geometry, taps, shape):
    """dw[o, 0, i, j] = sum over batch and output pixels of g[..., o] * x[window(i, j), o]; per
    tile and offset one product and a GEMV with ones (the BLAS sum beats ``sum(axis=0)``)."""
    oc, _, kh, kw = shape
    n, out_h, out_w, _ = g.shape
    sh, sw = geometry.stride
    row_elems = out_w * oc
    tiles = Tiles(n, out_h, row_elems * g.itemsize, g.dtype, lambda b, r: b * r * row_elems)
    ones = np.ones(tiles.max_images * tiles.max_rows * out_w, dtype=g.dtype)

    def tile(worker, blk):
        images, (r0, r1) = blk[0], (blk[1].start, blk[1].stop)
        partial = np.zeros((kh, kw, oc), dtype=g.dtype)
        for (i, j), (oi, oj), (y0, y1), (x0, x1) in taps:
            y0, y1 = max(y0, r0), min(y1, r1)
            if y0 < y1:
                src = x[images, y0 * sh + oi: (y1 - 1) * sh + oi + 1: sh, x0 * sw + oj: (x1 - 1) * sw + oj + 1: sw]
                gs = g[images, y0:y1, x0:x1]
                t = tiles.cols[worker][: gs.size].reshape(gs.shape)
                np.multiply(gs, src, out=t)
                pixels = t.size // oc
                parallel.dot(ones[:pixels], t.reshape(pixels, oc), out=partial[i, j])
        return partial

    gw = tiles.run_summed(tile, (kh, kw, oc), g.dtype)
    return np.ascontiguousarray(gw.transpose(2, 0, 1)).reshape(shape)


def _input_grad(g, weight, in_shape, geometry, taps):
    """dx (N, H, W, C): every offset adds g * w[:, i, j] into the input pixels its windows saw.
    Tiles own rows of dx, and an offset adds only the output rows that land in a tile's rows,
    so no two tiles write the same element. With a multiplier, the m copies are summed last."""
    n, h, w, c = in_shape
    oc, _, kh, kw = weight.shape
    m = oc // c
    out_w, (sh, sw) = geometry.out_w, geometry.stride
    wt = _tiled_weight(weight, out_w, g.dtype)
    dx = np.empty(in_shape, dtype=g.dtype)
    row_elems = w * oc

    def buffer_elems(b, r):  # the temporary, and with a multiplier the (.., C, m) gradient
        return b * r * row_elems * (1 if m == 1 else 2)

    tiles = Tiles(n, h, row_elems * g.itemsize, g.dtype, buffer_elems)

    def tile(worker, blk):
        images, (a, b) = blk[0], (blk[1].start, blk[1].stop)
        buf = tiles.cols[worker]
        if m == 1:
            acc, tmp = dx[images, a:b], buf
        else:
            size = (images.stop - images.start) * (b - a) * row_elems
            acc, tmp = buf[:size].reshape(-1, b - a, w, oc), buf[size:]
        terms = []
        for (i, j), (oi, oj), (y0, y1), (x0, x1) in taps:
            y0, y1 = _span(a, b, geometry.out_h, sh, oi)  # the output rows that land in rows a..b-1
            if y0 < y1:
                dst = acc[:, y0 * sh + oi - a: (y1 - 1) * sh + oi - a + 1: sh, x0 * sw + oj: (x1 - 1) * sw + oj + 1: sw]
                terms.append((dst, g[images, y0:y1, x0:x1], wt[i, j, : x1 - x0]))
        _accumulate(acc, terms, tmp)
        if m > 1:
            np.sum(acc.reshape(acc.shape[:3] + (c, m)), axis=4, out=dx[images, a:b])

    tiles.run(tile)
    return dx
