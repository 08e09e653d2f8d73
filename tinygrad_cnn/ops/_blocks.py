"""The batch-block scheduler shared by conv, transposed conv and pooling.

A conv's im2col columns for a whole batch would be far larger than the cache, so the batch is cut
into blocks whose columns take about ``COLS_BLOCK_BYTES``; each block is written and then read
by its GEMM while still in cache. The blocks are shared out among the worker threads of
``tinygrad_cnn.parallel``; each worker reuses one column buffer (and, for padded inputs, one
bordered copy of its block) for all its blocks. Sums over blocks (weight gradients) are added
in a fixed order, so results do not depend on the thread count.
"""
import os

import numpy as np

from .. import parallel


def _l2_bytes(default=1 << 20):
    """The per-core L2 cache of CPU 0 as Linux reports it (sysfs), else ``default``."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for entry in sorted(os.listdir(base)):
            with open(os.path.join(base, entry, "level")) as f:
                if f.read().strip() != "2":
                    continue
            with open(os.path.join(base, entry, "size")) as f:
                text = f.read().strip().upper()
            scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:], 1)
            return int(text.rstrip("KM")) * scale
    except (OSError, ValueError):
        pass
    return default


def _block_bytes():
    """Column bytes per block: twice the per-core L2 (measured on a 1 MB-L2 AMD EPYC, 0.5-8 MB
    blocks: 2 MB best or equal on the reference convs), clamped to 0.5-8 MB, or the integer in
    $TINYGRAD_CNN_BLOCK_BYTES. The blocks fix the order of the weight-gradient sums, so two
    machines with different L2 sizes (like two BLAS builds) may differ in the last bits."""
    override = os.environ.get("TINYGRAD_CNN_BLOCK_BYTES", "")
    if override.isdigit() and int(override) > 0:
        return int(override)
    return min(8 << 20, max(512 << 10, 2 * _l2_bytes()))


COLS_BLOCK_BYTES = _block_bytes()  # per block and worker
PARALLEL_MIN_BYTES = 1 << 20  # smaller jobs run serially (seed model, batch 32: 1.3 ms serial vs 1.95 ms on 2 threads)
MIN_BLOCKS = 2  # blocks of a job of PARALLEL_MIN_BYTES or more: a constant, so the sums do not depend on the cores
SUM_GROUPS = 8  # weight-gradient partial sums: a fixed number of groups of blocks, whatever the thread count


def one_small_block(nbytes):
    """True when a job of ``nbytes`` (columns or input) is small enough to run as one block on the
    calling thread without the scheduler: the short path of small inputs (batch 1 inference). The
    same arithmetic as a single block of ``Blocks``, so the results are the same bits."""
    return nbytes <= COLS_BLOCK_BYTES // 4 and nbytes < PARALLEL_MIN_BYTES


class Blocks:
    """Slices of the batch whose im2col columns take about COLS_BLOCK_BYTES, shared out among the
    worker threads of ``parallel``. Each worker has its own column buffer, reused by all its
    blocks (a fresh large buffer per block costs page faults), and, for padded inputs, its own
    padded copy of the block: its border is filled once (zeros, or -inf for max-pooling), then
    only the interior is rewritten."""

    def __init__(self, n, rows_per_item, k, dtype, padded_item=None, fill=0.0, item_bytes=None, flops=0, passes=1):
        per_item = max(1, item_bytes or rows_per_item * k * np.dtype(dtype).itemsize)
        total = n * per_item
        big = total >= PARALLEL_MIN_BYTES  # small jobs stay on one thread: waking a worker costs tens of us
        count = min(n, -(-n * per_item // COLS_BLOCK_BYTES))  # blocks of at most COLS_BLOCK_BYTES
        if big:  # a job worth sharing is never one block (lenet's first conv at batch 32: 1.8 MB of columns)
            count = max(count, min(n, MIN_BLOCKS))
        step = -(-n // count)
        self.slices = [slice(s, min(s + step, n)) for s in range(0, n, step)]
        # (``passes``: how many times the job streams its input, for the cost of running it on one core)
        self.workers = parallel.share_workers(len(self.slices), total * passes, flops) if big else 1
        self.rows = rows_per_item
        self.cols = [np.empty(step * rows_per_item * k, dtype=dtype) for _ in range(self.workers)]
        self.padded_bufs = None
        if padded_item is not None:
            (hp, wp, c), self.offsets = padded_item
            self.padded_bufs = [np.full((step, hp, wp, c), fill, dtype=dtype) for _ in range(self.workers)]

    def run(self, fn):
        """fn(worker, blk) for every block, on the worker threads."""
        if self.workers == 1:  # the short path of a small job: no thread pool at all
            for blk in self.slices:
                fn(0, blk)
            return
        parallel.run_blocks(fn, self.slices, self.workers)

    def run_summed(self, fn, shape, dtype):
        """The sum over all blocks of fn(worker, blk) -> array of ``shape``. Blocks are summed in
        a fixed order within a fixed number of groups (run by whichever worker is free), then
        the groups in order: the same result on any number of threads."""
        groups = min(len(self.slices), SUM_GROUPS)
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
