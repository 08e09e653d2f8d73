"""Where one training step of a reference CNN spends its time, op by op.

    python benchmarks/profile_step.py lenet            # batch 128, 10 timed steps
    python benchmarks/profile_step.py mid --batch 32 --steps 20

Every `Function` subclass gets its forward and backward wrapped with a timer (in this process
only), so the table shows milliseconds per step for each op and direction, keyed by the op's
input shape. cProfile cannot show this: the heavy work runs on the worker threads.
"""
import argparse
import collections
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_models import MODELS, layers  # noqa: E402

import tinygrad_cnn as tg  # noqa: E402
from tinygrad_cnn import Function, nn, optim  # noqa: E402

tg.keep_freed_memory()  # as the MNIST command line and bench_models.py do (a process-wide malloc setting)

TIMES = collections.defaultdict(float)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _timed(cls):
    forward, backward = cls.forward, cls.backward

    def timed_forward(ctx, *args, **kwargs):
        ctx.profile_key = f"{cls.__name__}{tuple(getattr(args[0], 'shape', ()))}"
        start = time.perf_counter()
        out = forward(ctx, *args, **kwargs)
        TIMES[(ctx.profile_key, "forward")] += time.perf_counter() - start
        return out

    def timed_backward(ctx, grad):
        key = ctx.profile_key  # read before backward: the engine releases ctx attributes after it
        start = time.perf_counter()
        grads = backward(ctx, grad)
        TIMES[(key, "backward")] += time.perf_counter() - start
        return grads

    cls.forward, cls.backward = staticmethod(timed_forward), staticmethod(timed_backward)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="tg.set_num_threads (default: as the BLAS)")
    args = parser.parse_args()
    if args.threads:
        tg.set_num_threads(args.threads)
    for cls in set(_subclasses(Function)):
        _timed(cls)

    tg.manual_seed(0)
    model = nn.Sequential(*layers(nn, args.model))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((args.batch, 1, 28, 28), dtype=np.float32))
    y = rng.integers(0, 10, args.batch)

    def step():
        opt.zero_grad()
        model(x).cross_entropy(y).backward()
        opt.step()

    for _ in range(3):
        step()
    TIMES.clear()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    total = (time.perf_counter() - start) / args.steps * 1000
    print(f"{args.model}, batch {args.batch}, {tg.get_num_threads()} threads: "
          f"{total:.1f} ms per step (mean of {args.steps})\n")
    print("| op (input shape) | direction | ms per step | share |")
    print("|---|---|---|---|")
    in_ops = 0.0
    for (key, direction), seconds in sorted(TIMES.items(), key=lambda kv: -kv[1]):
        ms = seconds / args.steps * 1000
        in_ops += ms
        if ms >= 0.05:
            print(f"| {key} | {direction} | {ms:.2f} | {ms / total:.0%} |")
    print(f"\nin ops: {in_ops:.1f} ms; the rest ({total - in_ops:.1f} ms) is the graph, the optimizer and Python")


if __name__ == "__main__":
    main()
