"""Forward + backward time of conv2d and max_pool2d on MNIST-sized shapes, and their peak memory.

    python benchmarks/bench_ops.py            # median of 20 runs per shape, float32

Peak memory is what NumPy allocates during one forward+backward (tracemalloc tracks NumPy's
buffers), shown next to the size of the op's input and output.
"""
import os
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tinygrad_cnn import Tensor  # noqa: E402

CASES = [
    # (label, input shape, conv out channels or None for pooling, kernel, padding)
    ("conv 128x1x28x28 -> 8, 3x3", (128, 1, 28, 28), 8, 3, 0),
    ("conv 128x1x28x28 -> 16, 3x3 pad 1", (128, 1, 28, 28), 16, 3, 1),
    ("conv 128x1x28x28 -> 32, 3x3", (128, 1, 28, 28), 32, 3, 0),
    ("conv 128x32x12x12 -> 64, 3x3", (128, 32, 12, 12), 64, 3, 0),
    ("conv 128x32x24x24 -> 32, 5x5", (128, 32, 24, 24), 32, 5, 0),
    ("max_pool2d 2 on 128x8x26x26", (128, 8, 26, 26), None, 2, 0),
    ("max_pool2d 2 on 128x32x24x24", (128, 32, 24, 24), None, 2, 0),
    ("max_pool2d 3 stride 2 on 128x32x24x24", (128, 32, 24, 24), None, 3, 0),
]


def run_case(shape, out_channels, kernel, padding, repeats):
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=True)
    if out_channels:
        w = Tensor(rng.standard_normal((out_channels, shape[1], kernel, kernel), dtype=np.float32) * 0.1,
                   requires_grad=True)
        b = Tensor(np.zeros(out_channels, np.float32), requires_grad=True)

        def fn():
            return x.conv2d(w, b, padding=padding)
    else:
        stride = 2 if kernel == 3 else None

        def fn():
            return x.max_pool2d(kernel, stride)

    def step():
        out = fn()
        out.backward(np.ones(out.shape, np.float32))
        return out

    out = step()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    tracemalloc.reset_peak()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    io_bytes = x.numpy().nbytes + out.numpy().nbytes
    return 1000 * float(np.median(times)), peak / 2**20, io_bytes / 2**20


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print("| op and shape | fwd+bwd ms (median) | peak MB during the step | input + output MB |")
    print("|---|---|---|---|")
    for label, shape, oc, k, p in CASES:
        ms, peak, io = run_case(shape, oc, k, p, repeats)
        print(f"| {label} | {ms:.2f} | {peak:.1f} | {io:.1f} |", flush=True)


if __name__ == "__main__":
    main()
