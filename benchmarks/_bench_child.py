"""The measuring side of bench_models.py: what runs in one child process (one framework, one model, one batch).

Each function prints nothing and returns a JSON-able dict; bench_models.py runs it in a fresh process
(``--child`` / ``--child-build``) so that one framework's threads and allocator state never touch the
other's figures.
"""
import os
import resource
import sys
import time

import numpy as np
from _bench_nets import build_model, forward_census, input_shape, num_params

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP_S = 0.1  # inference warm-up: at least 3 calls and this long
INFER_CALLS = 200  # inference: this many timed calls at least, unless they take over 4 x --infer-time


def threads():
    return int(os.environ.get("BENCH_THREADS", "2"))


def time_calls(fn, min_calls, min_time=0.0, warmup_calls=3, warmup_time=0.0, want_calls=0):
    """Call ``fn`` until at least ``min_calls`` calls and ``min_time`` seconds have been timed, and on until
    ``want_calls`` calls unless that takes more than 4 x ``min_time`` (after a warm-up of ``warmup_calls``
    calls and ``warmup_time`` s); statistics of the per-call times in ms."""
    start, n = time.perf_counter(), 0
    while n < warmup_calls or time.perf_counter() - start < warmup_time:
        fn()
        n += 1
    times, start = [], time.perf_counter()
    while True:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
        if len(times) >= min_calls and elapsed >= min_time and (len(times) >= want_calls or elapsed >= 4 * min_time):
            break
    ms = 1000 * np.asarray(times)
    q25, median, q75 = np.percentile(ms, [25, 50, 75])
    return {"ms": float(median), "calls": len(times), "min_ms": float(ms.min()), "q25_ms": float(q25),
            "q75_ms": float(q75), "max_ms": float(ms.max()), "mean_ms": float(ms.mean())}


def _run(model, infer, train_step, mode, steps, infer_time):
    """Inference first (eval mode, no grad), then training steps (train mode), as ``mode`` asks."""
    result = {}
    model.eval()
    if mode in ("infer", "both"):
        stats = time_calls(infer, steps, infer_time, warmup_time=WARMUP_S, want_calls=INFER_CALLS)
        result["infer_ms"], result["infer"] = stats["ms"], stats
        result["infer_s"] = stats["ms"] / 1000  # the old key, kept for readers of older JSON
    if mode in ("train", "both"):
        model.train()
        stats = time_calls(train_step, steps)
        result["train_ms"], result["train"] = stats["ms"], stats
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def measure_ours(name, batch, steps, mode="both", infer_time=0.5):
    sys.path.insert(0, ROOT)
    import tinygrad_cnn as tg
    from tinygrad_cnn import nn, optim

    tg.set_num_threads(threads())
    tg.keep_freed_memory()  # as the MNIST command line does: malloc keeps freed activation memory (process-wide)
    tg.manual_seed(0)
    model = build_model(nn, name)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    shape, classes = input_shape(name)
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((batch, *shape), dtype=np.float32))
    y = rng.integers(0, classes, batch)

    def train_step():
        opt.zero_grad()
        loss = model(x).cross_entropy(y)
        loss.backward()
        opt.step()

    def infer():
        with tg.no_grad():
            model(x)

    model.eval()
    with tg.no_grad():
        census = forward_census(model, x, nn.Conv2d, nn.Linear)
    result = _run(model, infer, train_step, mode, steps, infer_time)
    result.update(census, params=num_params(model))
    if "train_ms" in result:
        result.update(_memory_ours(model, census["activation_bytes"], train_step))
    return result


def _memory_ours(model, activation_bytes, train_step):
    """Peak bytes NumPy allocates during one training step (tracemalloc sees NumPy's buffers),
    next to what the step must hold at least: every leaf layer's output, the parameters, their grads."""
    import tracemalloc

    params = sum(p.numpy().nbytes for p in model.parameters())
    train_step()
    tracemalloc.start()
    tracemalloc.reset_peak()
    train_step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    floor = activation_bytes + 2 * params
    return {"step_peak_mb": peak / 2**20, "floor_mb": floor / 2**20, "memory_ratio": peak / floor}


def measure_torch(name, batch, steps, mode="both", infer_time=0.5):
    import torch

    torch.set_num_threads(threads())
    torch.manual_seed(0)
    model = build_model(torch.nn, name)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    shape, classes = input_shape(name)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, classes, (batch,))

    def train_step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    def infer():
        with torch.no_grad():
            model(x)

    return _run(model, infer, train_step, mode, steps, infer_time)


def measure_build(framework, name, min_time=0.5, max_builds=100):
    """Time building the model (construction and weight initialisation): the first build in the process
    (cold: lazy imports and first allocations included) and the median of further builds (at least 3,
    for at least ``min_time`` s, at most ``max_builds``)."""
    if framework == "torch":
        import torch

        torch.set_num_threads(threads())
        torch.manual_seed(0)
        nn = torch.nn
    else:
        sys.path.insert(0, ROOT)
        import tinygrad_cnn as tg
        from tinygrad_cnn import nn

        tg.set_num_threads(threads())
        tg.keep_freed_memory()
        tg.manual_seed(0)
    t = time.perf_counter()
    model = build_model(nn, name)
    first = time.perf_counter() - t
    params = num_params(model)
    del model
    times, start = [], time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_time and len(times) < max_builds):
        t = time.perf_counter()
        model = build_model(nn, name)
        times.append(time.perf_counter() - t)
        del model
    return {"first_ms": 1000 * first, "build_ms": 1000 * float(np.median(times)), "builds": len(times),
            "min_ms": 1000 * min(times), "max_ms": 1000 * max(times), "params": params,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
