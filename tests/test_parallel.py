"""The worker threads of tinygrad_cnn.parallel: same answers on any thread count, errors surface."""
import time

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import parallel
from tinygrad_cnn.ops import _blocks
from tinygrad_cnn.ops.norm import batch_norm2d


@pytest.fixture
def threads():
    """Set the thread count for one test, and put the old one back."""
    before = tg.get_num_threads()
    yield tg.set_num_threads
    tg.set_num_threads(before)


def _step(seed):
    """Gradients of a small conv / pool / linear net on a batch big enough for several blocks."""
    rng = np.random.default_rng(seed)
    x = tg.Tensor(rng.standard_normal((24, 3, 17, 17), dtype=np.float32), requires_grad=True)
    w1 = tg.Tensor(rng.standard_normal((8, 3, 3, 3), dtype=np.float32), requires_grad=True)
    w2 = tg.Tensor(rng.standard_normal((6, 8, 3, 3), dtype=np.float32), requires_grad=True)
    lin = tg.Tensor(rng.standard_normal((6 * 5 * 5, 5), dtype=np.float32), requires_grad=True)
    gamma = tg.Tensor(rng.standard_normal(8, dtype=np.float32), requires_grad=True)
    beta = tg.Tensor(rng.standard_normal(8, dtype=np.float32), requires_grad=True)
    running = np.zeros(8, dtype=np.float32), np.ones(8, dtype=np.float32)
    h = batch_norm2d(x.conv2d(w1, padding=1), gamma, beta, *running).relu().max_pool2d(2)
    h = h.conv2d(w2, padding=1, stride=1).relu().max_pool2d(2, padding=1)
    loss = (h.flatten(1) @ lin).cross_entropy(np.arange(24) % 5)
    loss.backward()
    return [loss.numpy(), *running] + [t.grad.numpy() for t in (x, w1, w2, lin, gamma, beta)]


def test_results_are_bit_identical_on_any_thread_count(threads, monkeypatch):
    monkeypatch.setattr(_blocks, "COLS_BLOCK_BYTES", 4096)  # many blocks even for this small batch
    monkeypatch.setattr(parallel, "_ELEMENTWISE_MIN_SIZE", 1)  # ReLU and batch norm shared out too
    monkeypatch.setattr(parallel, "_break_even", (0, 0))  # however cheap the job
    threads(1)
    serial = _step(0)
    threads(2)
    two = _step(0)
    threads(3)
    three_once, three_twice = _step(0), _step(0)
    for results in zip(serial, two, three_once, three_twice):
        for other in results[1:]:
            np.testing.assert_array_equal(results[0], other)  # bit-identical on any thread count


def test_parallel_matmul_splits_rows_or_columns(threads, monkeypatch):
    monkeypatch.setattr(parallel, "_MATMUL_MIN_FLOPS", 0)
    monkeypatch.setattr(parallel, "_break_even", (0, 0))
    threads(2)
    rng = np.random.default_rng(1)
    for m, k, n in [(37, 5, 3), (3, 5, 41), (64, 64, 64), (1, 7, 1)]:
        a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
        np.testing.assert_allclose(parallel.matmul(a, b), a @ b, rtol=1e-12)
        np.testing.assert_allclose(parallel.matmul(a.T.copy().T, b), a @ b, rtol=1e-12)  # non-contiguous views


def test_an_error_in_a_worker_reaches_the_caller_after_the_others_stop(threads):
    threads(2)
    finished = []

    def work(worker, block):
        if block == 0:
            time.sleep(0.2)  # still busy when block 1 fails on the other worker
        elif block == 1:
            raise ZeroDivisionError("block 1")
        finished.append(block)

    with pytest.raises(ZeroDivisionError, match="block 1"):
        parallel.run_blocks(work, range(50), 2)
    assert finished == [0]  # the busy block was waited for; no new block was started after the error


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="set_num_threads: n must be a positive int"):
        tg.set_num_threads(bad)


def test_set_num_threads_is_reported_back(threads):
    threads(1)
    assert tg.get_num_threads() == 1
    threads(2)
    assert tg.get_num_threads() == (2 if parallel._blas_controllers() else 1)


def _conv_sum(_):
    x = tg.Tensor(np.ones((16, 4, 12, 12), dtype=np.float32))
    w = tg.Tensor(np.ones((5, 4, 3, 3), dtype=np.float32))
    return float(x.conv2d(w).relu().max_pool2d(2).sum().numpy())


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_gets_workers_of_its_own(threads, monkeypatch):
    import multiprocessing

    monkeypatch.setattr(_blocks, "COLS_BLOCK_BYTES", 4096)
    threads(2)
    expected = _conv_sum(None)  # the parent's pool now exists; the child must not wait on it
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.map_async(_conv_sum, [0]).get(timeout=30) == [expected]


def test_keep_freed_memory_applies_on_glibc_and_can_be_switched_off(monkeypatch):
    import platform

    from tinygrad_cnn._memory import keep_freed_memory

    assert keep_freed_memory() == (platform.libc_ver()[0] == "glibc")
    monkeypatch.setenv("TINYGRAD_CNN_DEFAULT_MALLOC", "1")
    assert keep_freed_memory() is False


def test_without_a_controllable_blas_the_ops_run_serially_and_say_so(monkeypatch):
    monkeypatch.setattr(parallel, "_blas", [])  # as if threadpoolctl were missing
    monkeypatch.setattr(parallel, "_num_threads", None)
    with pytest.warns(RuntimeWarning, match="run serially"):
        tg.set_num_threads(2)
    assert tg.get_num_threads() == 1
    assert _conv_sum(None) == _conv_sum(None)  # and they still work


def test_block_size_comes_from_the_machine(monkeypatch):
    """Twice the per-core L2, clamped to 0.5-8 MB; $TINYGRAD_CNN_BLOCK_BYTES overrides it."""
    monkeypatch.delenv("TINYGRAD_CNN_BLOCK_BYTES", raising=False)
    for l2, want in ((1 << 20, 2 << 20), (2 << 20, 4 << 20), (64 << 10, 512 << 10), (32 << 20, 8 << 20)):
        monkeypatch.setattr(_blocks, "_l2_bytes", lambda l2=l2: l2)
        assert _blocks._block_bytes() == want
    monkeypatch.setenv("TINYGRAD_CNN_BLOCK_BYTES", "1000000")
    assert _blocks._block_bytes() == 1000000
    assert _blocks._l2_bytes() > 0


def test_break_even_is_measured_once_and_decides_only_where_a_job_runs(threads, monkeypatch):
    """Small jobs stay on the calling thread when waking the workers would cost more than it saves; the
    measurement happens once, and a job's result is the same whether or not it is shared."""
    threads(2)
    monkeypatch.setattr(parallel, "_break_even", None)
    min_bytes, min_flops = parallel.break_even()
    assert min_bytes > 0 and min_flops > 0
    assert parallel.break_even() == (min_bytes, min_flops)  # remembered
    assert parallel.share_workers(8, nbytes=1024) == 1
    assert parallel.share_workers(8, nbytes=int(min_bytes) + 1) == 2
    assert parallel.share_workers(8, flops=int(min_flops) + 1) == 2
    assert parallel.share_workers(1, nbytes=int(min_bytes) + 1) == 1  # one block: nothing to share
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8, 32, 32)).astype(np.float32)
    alone = tg.Tensor(x).relu().numpy()
    monkeypatch.setattr(parallel, "_break_even", (0, 0))
    monkeypatch.setattr(parallel, "_ELEMENTWISE_MIN_SIZE", 1)
    shared = tg.Tensor(x).relu().numpy()
    np.testing.assert_array_equal(alone, shared)
    threads(1)
    assert parallel.share_workers(8, nbytes=1 << 40) == 1  # one thread: never shared
