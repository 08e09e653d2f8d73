"""The memory layout of activations: NCHW to the user, channels-last (NHWC) in memory.

Every 4-D activation a user sees has PyTorch's NCHW shape, (N, C, H, W). The convolution writes
its output channels-last, because its GEMM produces one row of C values per pixel, and hands back
an NCHW-shaped *view* of that NHWC memory (``out.transpose(0, 3, 1, 2)``): no copy. The ops that
follow keep that memory order, so the next conv finds NHWC again and its im2col copies whole runs
of contiguous channels:

* elementwise ops and ReLU keep their input's memory order (NumPy does, for same-shape inputs);
* pooling and padding work on the NHWC view (`nhwc`) and return NCHW views of NHWC results;
* batch norm works on 2-D rows that are contiguous in either order (`ChannelRows`);
* `empty_in_order` allocates a result whose axes lie in memory as its input's do.

Nothing depends on the order for correctness: an op given plain NCHW memory (a user's array)
gets the same values, and the first conv makes the one copy into channels-last. ``Flatten`` and
``reshape`` of such a view copy into PyTorch's C-major order, so a Linear after a conv sees
exactly torch's features.
"""
import numpy as np

from .. import parallel


def nhwc(x):
    """The NHWC view of an NCHW-shaped array (free when its memory is already channels-last)."""
    return x.transpose(0, 2, 3, 1)


def pad_nhwc(x_nhwc, pads, value=0.0):
    """A new channels-last array with (top, bottom, left, right) padding filled with ``value``."""
    top, bottom, left, right = pads
    n, h, w, c = x_nhwc.shape
    out = np.empty((n, h + top + bottom, w + left + right, c), dtype=x_nhwc.dtype)
    if top or bottom or left or right:
        out[:, :top], out[:, h + top:] = value, value
        out[:, :, :left], out[:, :, w + left:] = value, value
    out[:, top:top + h, left:left + w] = x_nhwc
    return out


def window_view(xp, i, j, out_h, out_w, stride, dilation):
    """The strided view of padded NHWC input seen by kernel offset (i, j) at every output pixel."""
    (sh, sw), (dh, dw) = stride, dilation
    return xp[:, i * dh: i * dh + sh * (out_h - 1) + 1: sh, j * dw: j * dw + sw * (out_w - 1) + 1: sw]


def pixels_per_run(pixels, channels, target=8192):
    """The largest divisor of ``pixels`` whose run of ``channels``-long pixels has at most ``target``
    values (at least one pixel). A per-channel vector applied to channels-last memory as rows of
    that many pixels, against the vector repeated as often, runs NumPy's inner loop over the whole
    row instead of one pixel's C values (a 16-channel bias on 1.6 M values: 600 -> 225 us)."""
    best = max(1, min(pixels, target // max(channels, 1)))
    while pixels % best:
        best -= 1
    return best


def add_channel_vector(rows, vec, min_size=1 << 15):
    """rows += vec for an (M, C) array of pixels and a (C,) ``vec`` of its dtype (a conv's bias), by
    runs of ``pixels_per_run`` pixels; below ``min_size`` values the plain broadcast add is quicker
    (a batch-1 conv: repeating the vector costs more than it saves). The same sums, the same bits."""
    m, c = rows.shape
    pixels = pixels_per_run(m, c) if m * c >= min_size and rows.flags.c_contiguous else 1
    if pixels == 1:
        rows += vec
        return
    repeated = np.empty((pixels, c), dtype=rows.dtype)
    repeated[...] = vec
    runs = rows.reshape(-1, pixels * c)  # a view: rows is contiguous
    np.add(runs, repeated.reshape(-1), out=runs)


def empty_in_order(shape, dtype, like, fill=None):
    """An array of ``shape`` whose axes lie in memory in the order of ``like``'s (largest stride
    first): an NCHW view of channels-last memory gives a channels-last result."""
    order = sorted(range(like.ndim), key=lambda a: -abs(like.strides[a]))
    shape = [shape[a] for a in order]
    buf = np.empty(shape, dtype=dtype) if fill is None else np.full(shape, fill, dtype=dtype)
    return buf.transpose(np.argsort(order))


class ChannelRows:
    """How to view (N, C, H, W) arrays as 2-D blocks with long contiguous rows, and back."""

    def __init__(self, x):
        self.shape = n, c, h, w = x.shape
        self.count = n * h * w  # values per channel
        self.nbytes = 2 * x.nbytes  # what a pass over x reads and writes, about
        # channels-last when the NHWC transpose of x is the contiguous one (and C > 1 matters)
        self.channels_last = not x.flags.c_contiguous and x.transpose(0, 2, 3, 1).flags.c_contiguous
        # row slices of the working view, whole images each: one per worker
        per_image = 1 if self.channels_last else c
        self.parts = [slice(p.start * per_image, p.stop * per_image) for p in parallel.split(n, x.size)]

    def each_part(self, fn):
        """fn(part_index, row_slice) for every part, on the workers."""
        parallel.run_parts(lambda i: fn(i, self.parts[i]), len(self.parts), self.nbytes)

    def total(self, fn):
        """Sum over the parts of fn(row_slice) -> (C,), computed on the workers, added in order."""
        partial = [None] * len(self.parts)

        def work(i, part):
            partial[i] = fn(part)

        self.each_part(work)
        result = partial[0]
        for p in partial[1:]:
            result = result + p
        return result

    def rows(self, a):
        """The 2-D working view of an (N, C, H, W) array (a copy only if its memory order differs)."""
        n, c, h, w = self.shape
        if self.channels_last:
            return a.transpose(0, 2, 3, 1).reshape(n, h * w * c)
        return a.reshape(n * c, h * w)

    def unrows(self, r):
        """Back from the working view to an (N, C, H, W)-shaped array (a view, never a copy)."""
        n, c, h, w = self.shape
        if self.channels_last:
            return r.reshape(n, h, w, c).transpose(0, 3, 1, 2)
        return r.reshape(n, c, h, w)

    def expand(self, v):
        """A per-channel (C,) vector in a shape that broadcasts against the working view; index
        it with ``at`` to broadcast against rows ``part`` of the view."""
        n, c, h, w = self.shape
        if self.channels_last:
            return np.tile(v, h * w)
        return np.tile(v, n)[:, None]

    def at(self, expanded, part):
        return expanded if self.channels_last else expanded[part]

    def channel_sum(self, r):
        """Per-channel sum of a working view -> (C,). Sums each row (or column) first, then the
        partial sums, which keeps float32 rounding error close to a pairwise sum's."""
        n, c, h, w = self.shape
        if self.channels_last:
            return r.sum(axis=0).reshape(h * w, c).sum(axis=0)
        return np.einsum("rl->r", r).reshape(-1, c).sum(axis=0)

    def channel_dot(self, a, b):
        """Per-channel sum of a * b over a working view, without materialising the product."""
        n, c, h, w = self.shape
        if self.channels_last:
            return np.einsum("nk,nk->k", a, b).reshape(h * w, c).sum(axis=0)
        return np.einsum("rl,rl->r", a, b).reshape(-1, c).sum(axis=0)
