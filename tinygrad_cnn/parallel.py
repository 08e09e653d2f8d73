"""Run the heavy ops (conv, pooling, batch norm, ReLU, large matmuls) on several cores.

NumPy runs elementwise work and copies on one core, and OpenBLAS's own threads do poorly on the
skinny GEMMs of small convolutions: on the 2-core machine of docs/benchmarks.md, 2 BLAS threads
took 23-63 ms for the forward pass of a 32->32 5x5 conv that two single-threaded workers did in
19-21 ms. After each call OpenBLAS's threads also keep spinning for a while, stealing the core
from whatever runs next. So the hot ops cut the batch into cache-sized blocks and hand them to a
few worker threads; NumPy and BLAS release the GIL while they work (a product with a small
result must go through `dot`: ``np.matmul`` keeps the GIL for those). A job stays on the calling
thread unless one core would take several times what waking the workers costs on this machine
(`break_even`, measured once: 25-90 us on a 2-vCPU VM).

* The worker count is the number of threads the BLAS was set to use when tinygrad_cnn first
  needed it (so ``OPENBLAS_NUM_THREADS=1`` means serial), or what ``set_num_threads`` says.
* While an op runs (its forward, or a whole backward pass), the BLAS runs single-threaded (set
  through threadpoolctl, about 2 us per op): the parallelism is ours. Its thread count is put back when the region
  ends, so NumPy products outside tinygrad_cnn's ops keep the process's setting, and importing
  or using the library leaves ``threadpoolctl.threadpool_info()`` as it was. Without
  threadpoolctl, or with a BLAS it cannot control, the ops run serially.
* A forked child has none of the parent's worker threads; the pool notices the new process id
  and starts afresh (no fork handler is registered with the interpreter).
* Each worker takes the next block that nobody has taken yet, so a core stolen by the OS or the
  hypervisor holds nobody up. No result depends on which worker ran which block: outputs are
  written to disjoint places, and sums are kept per fixed group of blocks and added in order.
  The blocks themselves do not depend on the thread count either, so a run gives bit-identical
  results on 1, 2 or 8 threads (tests/test_parallel.py).
"""
import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import ThreadpoolController

_state = threading.local()  # .inside: True in a worker thread (nested calls run serially)
_lock = threading.Lock()  # one parallel region at a time; other callers run serially meanwhile
_num_threads = None  # None: not decided yet
_pool = None
_blas = None  # threadpoolctl controllers of the loaded BLAS libraries, found on first use
_pid = os.getpid()  # the process the pool and the lock belong to


def _check_process():
    """After a fork the child has none of the parent's worker threads (and maybe a held lock):
    start with a fresh pool and lock when needed."""
    global _pool, _lock, _state, _pid
    if os.getpid() != _pid:
        _pool, _lock, _state, _pid = None, threading.Lock(), threading.local(), os.getpid()


_blas_scope = threading.local()  # .depth: how many single_threaded_blas blocks this thread is inside


class _SingleThreadedBlas:
    """The context manager behind `single_threaded_blas` (a class: entering a nested block is
    two attribute reads, cheaper than a generator-based context manager)."""

    __slots__ = ("_restore",)

    def __enter__(self):
        depth = getattr(_blas_scope, "depth", 0)
        _blas_scope.depth = depth + 1
        self._restore = _blas_to_one_thread() if depth == 0 else ()
        return self

    def __exit__(self, *exc):
        _blas_scope.depth -= 1
        for lib, n in self._restore:
            lib.set_num_threads(n)
        return False


def _blas_to_one_thread():
    """Set every BLAS that runs more than one thread to one; the (library, count) pairs to put back."""
    restore = []
    for lib in _blas or _blas_controllers():
        n = lib.num_threads
        if n != 1:
            lib.set_num_threads(1)
            restore.append((lib, n))
    return restore


def single_threaded_blas():
    """The BLAS at one thread for the duration of the block (an op's forward, a backward pass, a
    parallel region, a Module's forward), then as it was. Nested blocks cost nothing; the
    outermost one costs a few microseconds. Without it, NumPy's multi-threaded BLAS runs the ops'
    small GEMMs on threads that keep spinning afterwards and slow every op that follows (mid
    model: 15 -> 25 ms per step; at batch 1, 0.4 -> 16 ms per forward)."""
    return _SingleThreadedBlas()


def in_single_threaded_blas():
    """True inside a `single_threaded_blas` block of this thread."""
    return getattr(_blas_scope, "depth", 0) > 0


def _blas_controllers():
    global _blas
    if _blas is None:
        try:
            _blas = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
        except Exception:  # a platform threadpoolctl cannot inspect: stay serial
            _blas = []
    return _blas


def get_num_threads():
    """How many threads the heavy ops use (1 = serial)."""
    if _num_threads is None:
        blas = _blas_controllers()
        set_num_threads(max(1, min(blas[0].num_threads, os.cpu_count() or 1)) if blas else 1)
    return _num_threads


def set_num_threads(n):
    """Run the heavy ops on ``n`` threads (like ``torch.set_num_threads``); the BLAS is kept at
    one thread per worker."""
    global _num_threads, _pool
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int, got {n!r}")
    with _lock:
        blas = _blas_controllers()
        if not blas and n > 1:
            warnings.warn(f"set_num_threads({n}): threadpoolctl is missing or cannot control NumPy's BLAS, so the BLAS "
                          "keeps its own threads and tinygrad_cnn's ops run serially", RuntimeWarning, stacklevel=2)
        if not blas:
            n = 1  # the BLAS's own threads would fight ours
        if _pool is not None and n != _num_threads:
            _pool.shutdown(wait=True)
            _pool = None
        _num_threads = n


def worker_count(num_blocks):
    """How many workers ``run_blocks`` would use for ``num_blocks`` blocks (buffers are per worker)."""
    if getattr(_state, "inside", False):
        return 1
    return max(1, min(get_num_threads(), num_blocks))


def share_workers(num_blocks, nbytes=0, flops=0):
    """The workers for a job of ``num_blocks`` blocks that streams ``nbytes`` or computes ``flops``:
    one (the calling thread) unless the job takes longer on one core than waking the others costs
    on this machine (`break_even`), else as ``worker_count``. The blocks stay the same either way,
    so the result does not change, only where it is computed."""
    workers = worker_count(num_blocks)
    if workers == 1:
        return 1
    min_bytes, min_flops = break_even()
    return workers if nbytes >= min_bytes or (flops and flops >= min_flops) else 1


_break_even = None  # (bytes, flops): measured at the first job that could be shared
_SHARE_FACTOR = 2  # share a job when one core would take this many times the round trip of waking the workers


def break_even():
    """(bytes streamed, flops computed) below which a job runs faster on the calling thread alone: ``_SHARE_FACTOR``
    times the measured round trip of handing the workers an empty job, in units of one core's copy bandwidth and
    single-threaded GEMM speed, each measured once (a few ms, at the first job big enough to share). The round trip
    is a machine's own: 20-30 us to wake a core on bare metal, 50-150 us on the 2-vCPU VM of docs/benchmarks.md,
    where a 400 K-float ReLU took 70 us alone and 170 us on both cores."""
    global _break_even
    if _break_even is None:
        _break_even = _measure_break_even()
    return _break_even


def _measure_break_even():
    workers = get_num_threads()
    trips = []
    for _ in range(35):
        start = time.perf_counter()
        run_blocks(lambda worker, block: None, range(workers), workers)
        trips.append(time.perf_counter() - start)
    trip = sorted(trips[5:])[len(trips[5:]) // 2]  # the median, after a warm-up
    a = np.ones(1 << 20, dtype=np.float32)
    b = np.empty_like(a)
    m = np.ones((192, 192), dtype=np.float32)
    with single_threaded_blas():
        copy_s = min(_timed(lambda: np.add(a, a, out=b)) for _ in range(3))
        gemm_s = min(_timed(lambda: m @ m) for _ in range(3))
    return _SHARE_FACTOR * trip * 3 * a.nbytes / copy_s, _SHARE_FACTOR * trip * 2 * 192 ** 3 / gemm_s


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_blocks(fn, blocks, workers):
    """Call ``fn(worker, block)`` for every block, on ``workers`` threads (the caller is worker 0).

    Each worker takes the next block nobody has taken yet, so a core that the OS or the
    hypervisor takes away for a while holds nobody up. Which worker runs which block therefore
    varies from run to run: ``fn`` must make its result independent of that (write disjoint
    parts of the output, keep partial sums per block, use ``worker`` only to pick a scratch
    buffer). Returns when every block is done; the first error is raised (after the others
    have stopped, since they may be writing into shared arrays)."""
    _check_process()
    blocks = list(blocks)
    workers = min(workers, len(blocks))
    if workers <= 1 or not _lock.acquire(blocking=False):
        for block in blocks:
            fn(0, block)
        return
    try:
        with single_threaded_blas():
            _share_out(fn, blocks, workers)
    finally:
        _lock.release()


def _share_out(fn, blocks, workers):
    """The body of `run_blocks` once the lock is held: the workers take blocks until none is left."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(get_num_threads(), thread_name_prefix="tinygrad_cnn")
    untaken = iter(blocks)  # shared: next() on it is atomic under the GIL
    failed = []

    def share(worker):
        _state.inside = True
        try:
            for block in untaken:
                if failed:
                    return
                fn(worker, block)
        except BaseException:
            failed.append(True)
            raise
        finally:
            _state.inside = False

    futures = [_pool.submit(share, w) for w in range(1, workers)]
    error = None
    try:
        share(0)
    except BaseException as err:
        error = err
    for future in futures:
        try:
            future.result()
        except BaseException as err:
            error = error or err
    if error is not None:
        raise error


def dot(a, b, out=None):
    """``np.dot`` of 2-D (or 1-D by 2-D) float arrays: the product for worker threads. NumPy 2's
    ``np.matmul`` keeps the GIL when its result has fewer than ~500 values however long the sum,
    so two workers' weight-gradient products (9 x 16 for a 3x3 conv of one input channel) ran one
    after the other, slower than on one core; ``np.dot`` calls the same BLAS routine (the same
    bits) with the GIL released. mid's first conv, batch 128, weight gradient: 1.2 -> 0.6 ms."""
    return np.dot(a, b, out=out)


_MATMUL_MIN_FLOPS = 4e6  # below this a product takes ~50 us or less: not worth waking a worker


def matmul(a, b):
    """``np.matmul(a, b)``; a large 2-D product is split along its longer output side among the
    workers (each a single-threaded GEMM into its slice of the result)."""
    if a.ndim != 2 or b.ndim != 2:
        return np.matmul(a, b)
    m, k = a.shape
    n = b.shape[1]
    flops = 2.0 * m * n * k
    workers = share_workers(max(m, n), flops=flops) if flops >= _MATMUL_MIN_FLOPS else 1
    if workers <= 1:
        return np.matmul(a, b)
    out = np.empty((m, n), dtype=np.result_type(a, b))
    along_rows = m >= n
    size = m if along_rows else n
    step = -(-size // workers)
    parts = [slice(s, min(s + step, size)) for s in range(0, size, step)]

    def part(worker, rows_or_cols):
        if along_rows:
            np.matmul(a[rows_or_cols], b, out=out[rows_or_cols])
        else:
            np.matmul(a, b[:, rows_or_cols], out=out[:, rows_or_cols])

    run_blocks(part, parts, len(parts))
    return out


_ELEMENTWISE_MIN_SIZE = 1 << 18  # elements; smaller arrays take a few tens of microseconds anyway


_PARTS = 8  # parts of a shared elementwise op or reduction: a fixed number, whatever the thread count


def split(length, size):
    """Slices of ``range(length)`` for an op over ``size`` elements: ``_PARTS`` of them (fewer
    if ``length`` is smaller), or one when the op is too small to be worth sharing. The count
    does not depend on the thread count, so neither do sums over the parts."""
    count = min(_PARTS, length) if size >= _ELEMENTWISE_MIN_SIZE else 1
    step = -(-length // count) if length else 1
    return [slice(s, min(s + step, length)) for s in range(0, length, step)] or [slice(0, 0)]


def run_parts(fn, count, nbytes=None):
    """Call ``fn(i)`` for i in range(count) on the workers (parts from ``split``); a job that streams
    ``nbytes`` stays on the calling thread when that is faster (`share_workers`)."""
    workers = 1 if count <= 1 else worker_count(count) if nbytes is None else share_workers(count, nbytes)
    run_blocks(lambda worker, i: fn(i), range(count), workers)


def elementwise(fn, out, *arrays):
    """``fn(out_part, *array_parts)`` over slices of axis 0, one per worker: for one-pass
    elementwise ops on activation-sized arrays (NumPy runs a ufunc on one core). ``out`` and the
    arrays must have the same shape. Returns ``out``."""
    if out.ndim == 0 or out.size < _ELEMENTWISE_MIN_SIZE:  # one part: no slicing, no scheduling
        fn(out, *arrays)
        return out
    parts = split(out.shape[0], out.size)
    nbytes = out.nbytes + sum(a.nbytes for a in arrays)
    run_parts(lambda i: fn(out[parts[i]], *(a[parts[i]] for a in arrays)), len(parts), nbytes)
    return out
