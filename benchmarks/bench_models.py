"""Training-step and inference speed of the three reference CNNs, tinygrad_cnn vs PyTorch.

    python benchmarks/bench_models.py                      # all models, batch 32/128/512, 3 rounds
    python benchmarks/bench_models.py --models lenet --batches 128 --rounds 5

Each (framework, model, batch) is measured in its own process: NumPy's BLAS threads keep spinning
after a GEMM and slow a PyTorch run in the same process by up to 2x. The order of the two
frameworks alternates from round to round, and the reported ratio is the median of per-round
ratios. PyTorch is optional (``pip install -e '.[bench]'``); without it only our figures print.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("seed", "mid", "lenet")


def layers(nn, name):
    """The reference architectures, written once for both frameworks (same layer names)."""
    if name == "seed":
        return [nn.Conv2d(1, 8, 3, bias=False), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1352, 10)]
    if name == "mid":
        return [nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(1568, 128), nn.ReLU(), nn.Linear(128, 10)]
    if name == "lenet":
        return [nn.Conv2d(1, 32, 5), nn.ReLU(), nn.Conv2d(32, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(576, 10)]
    raise ValueError(name)


def step_flops(name, batch):
    """Multiply-adds x 2 of one training step: forward, input gradients (not of the first conv) and weight gradients."""
    convs = {  # (in, out, k, out_h) per conv layer
        "seed": [(1, 8, 3, 26)],
        "mid": [(1, 16, 3, 28), (16, 32, 3, 14)],
        "lenet": [(1, 32, 5, 24), (32, 32, 5, 20), (32, 64, 3, 8), (64, 64, 3, 6)],
    }[name]
    linears = {"seed": [(1352, 10)], "mid": [(1568, 128), (128, 10)], "lenet": [(576, 10)]}[name]
    flops = 0
    for i, (cin, cout, k, oh) in enumerate(convs):
        f = 2 * batch * oh * oh * cout * cin * k * k
        flops += f * (2 if i == 0 else 3)
    for i, (fin, fout) in enumerate(linears):
        flops += 2 * batch * fin * fout * 3
    return flops


def measure_ours(name, batch, steps):
    sys.path.insert(0, ROOT)
    import tinygrad_cnn as tg
    from tinygrad_cnn import nn, optim

    tg.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    tg.keep_freed_memory()  # as the MNIST command line does: malloc keeps freed activation memory (process-wide)
    tg.manual_seed(0)
    model = nn.Sequential(*layers(nn, name))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((batch, 1, 28, 28), dtype=np.float32))
    y = rng.integers(0, 10, batch)

    def train_step():
        opt.zero_grad()
        loss = model(x).cross_entropy(y)
        loss.backward()
        opt.step()

    def infer():
        with tg.no_grad():
            model(x)

    model.eval()
    result = _time(train_step, infer, steps, model.train)
    result.update(_memory_ours(model, x, train_step))
    return result


def _memory_ours(model, x, train_step):
    """Peak bytes NumPy allocates during one training step (tracemalloc sees NumPy's buffers),
    next to what the step must hold at least: every layer's output, the parameters, their grads."""
    import tracemalloc

    import tinygrad_cnn as tg

    with tg.no_grad():
        h, activations = x, 0
        for layer in model.children():
            h = layer(h)
            activations += h.numpy().nbytes
    params = sum(p.numpy().nbytes for p in model.parameters())
    train_step()
    tracemalloc.start()
    tracemalloc.reset_peak()
    train_step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    floor = activations + 2 * params
    return {"step_peak_mb": peak / 2**20, "floor_mb": floor / 2**20, "memory_ratio": peak / floor}


def measure_torch(name, batch, steps):
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    torch.manual_seed(0)
    model = torch.nn.Sequential(*layers(torch.nn, name))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))

    def train_step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    def infer():
        with torch.no_grad():
            model(x)

    model.eval()
    return _time(train_step, infer, steps, model.train)


def _time(train_step, infer, steps, train_mode):
    for _ in range(3):
        infer()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        infer()
        times.append(time.perf_counter() - t)
    infer_s = float(np.median(times))
    train_mode()
    for _ in range(3):
        train_step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        train_step()
        times.append(time.perf_counter() - t)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"train_ms": 1000 * float(np.median(times)), "infer_s": infer_s, "peak_rss_mb": peak_rss_mb}


def run_child(framework, name, batch, steps):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", framework, name, str(batch), str(steps)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def machine_description():
    lines = [f"- {platform.machine()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
             f"NumPy {np.__version__}"]
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
        lines.append(f"- CPU: {model}")
    except (OSError, StopIteration):
        pass
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                lines.append(f"- BLAS: {pool.get('internal_api')} {pool.get('version')}, "
                             f"kernel {pool.get('architecture')}, {pool.get('num_threads')} threads by default")
    except ImportError:
        lines.append("- BLAS: (install threadpoolctl to show the BLAS and its kernel)")
    threads = os.environ.get("BENCH_THREADS", "2")
    lines.append(f"- Threads per side: {threads} (tinygrad_cnn.set_num_threads({threads}): {threads} workers, "
                 f"each with a single-threaded BLAS; torch.set_num_threads({threads})); set BENCH_THREADS to change")
    lines.append("- malloc: tinygrad_cnn.keep_freed_memory() in our processes "
                 "(glibc keeps freed blocks of up to 32 MB)")
    return "\n".join(lines)


def gemm_peak_gflops():
    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    a @ a
    times = []
    for _ in range(5):
        t = time.perf_counter()
        a @ a
        times.append(time.perf_counter() - t)
    return 2 * 2048 ** 3 / min(times) / 1e9


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        framework, name, batch, steps = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        fn = measure_torch if framework == "torch" else measure_ours
        print(json.dumps(fn(name, batch, steps)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--batches", nargs="+", type=int, default=[32, 128, 512])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=15, help="timed steps per process")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
        have_torch = not args.no_torch
    except ImportError:
        have_torch = False

    print(f"# bench_models  ({time.strftime('%Y-%m-%d')})\n")
    print(machine_description())
    peak = gemm_peak_gflops()
    print(f"- NumPy float32 GEMM peak (2048^3): {peak:.0f} GFLOP/s\n")
    head = ("| model | batch | ours ms/step | ours GFLOP/s | ours infer img/s | ours peak RSS MB "
            "| step peak / (activations + params + grads) |")
    if have_torch:
        head += " torch ms/step | torch infer img/s | ratio ours/torch (median of rounds) |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name in args.models:
        for batch in args.batches:
            ours, theirs, ratios = [], [], []
            for r in range(args.rounds):
                order = ["ours", "torch"] if r % 2 == 0 else ["torch", "ours"]
                got = {}
                for fw in order:
                    if fw == "torch" and not have_torch:
                        continue
                    got[fw] = run_child(fw, name, batch, args.steps)
                ours.append(got["ours"])
                if have_torch:
                    theirs.append(got["torch"])
                    ratios.append(got["ours"]["train_ms"] / got["torch"]["train_ms"])
            ms = float(np.median([o["train_ms"] for o in ours]))
            row = (f"| {name} | {batch} | {ms:.1f} | {step_flops(name, batch) / ms / 1e6:.0f} | "
                   f"{batch / np.median([o['infer_s'] for o in ours]):.0f} | "
                   f"{max(o['peak_rss_mb'] for o in ours):.0f} | "
                   f"{ours[0]['step_peak_mb']:.0f} MB / {ours[0]['floor_mb']:.0f} MB = {ours[0]['memory_ratio']:.2f} |")
            if have_torch:
                row += (f" {np.median([t['train_ms'] for t in theirs]):.1f} | "
                        f"{batch / np.median([t['infer_s'] for t in theirs]):.0f} | {np.median(ratios):.2f} |")
            print(row, flush=True)


if __name__ == "__main__":
    main()
