"""Depthwise 3x3 convs of MobileNetV2: the depthwise path against the general one and PyTorch.

    python benchmarks/bench_depthwise.py                 # 5 rounds x 20 runs per case, float32
    python benchmarks/bench_depthwise.py --rounds 9 --repeats 30

Columns: ``new`` is tinygrad_cnn as it is (ops/conv_depthwise.py); ``old`` is the general grouped
path (im2col + einsum), i.e. ops/conv.py of the commit before the one that added
ops/conv_depthwise.py, loaded from git; ``torch@k`` is torch.nn.functional.conv2d on k threads
(1, and torch's default), run in a child process of its own (NumPy's BLAS threads slow torch
down when both live in one process). Each round times every case in every column; the order
of the columns rotates from round to round, and the table shows the median over rounds of each
round's median. Batch-1 rows time the forward (inference, no graph); batch-32 rows a forward
and the op's backward (dL/dx and dL/dw, no leaf .grad stored; torch: autograd.grad). Our
inputs and upstream gradients are channels-last in memory, as inside a network; torch's are
its default NCHW-contiguous tensors. Like bench_models.py, our process calls
tinygrad_cnn.keep_freed_memory() (malloc keeps freed blocks: no page faults on each new array).
"""
import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench_machine import median_ms  # noqa: E402

CASES = [
    # (label, input shape (N, C, H, W), stride, forward only); 3x3 kernel, padding 1, groups = C
    ("fwd 1x32x112x112 s1", (1, 32, 112, 112), 1, True),
    ("fwd 1x144x56x56 s2", (1, 144, 56, 56), 2, True),
    ("fwd 1x960x7x7 s1", (1, 960, 7, 7), 1, True),
    ("fwd+bwd 32x32x28x28 s1", (32, 32, 28, 28), 1, False),
    ("fwd+bwd 32x144x14x14 s2", (32, 144, 14, 14), 2, False),
    ("fwd+bwd 32x960x2x2 s1", (32, 960, 2, 2), 1, False),
    ("fwd+bwd 32x960x7x7 s1", (32, 960, 7, 7), 1, False),
]


def out_size(size, stride):
    return (size + 2 - 3) // stride + 1


def channels_last(rng, shape):
    """A float32 NCHW-shaped view of NHWC memory (what a conv hands the next layer)."""
    n, c, h, w = shape
    return rng.standard_normal((n, h, w, c), dtype=np.float32).transpose(0, 3, 1, 2)


def ours_case(conv2d, shape, stride, forward_only, repeats):
    import tinygrad_cnn as tg

    rng = np.random.default_rng(0)
    n, c, h, w = shape
    x = tg.Tensor(channels_last(rng, shape), requires_grad=not forward_only)
    weight = tg.Tensor(rng.standard_normal((c, 1, 3, 3), dtype=np.float32), requires_grad=not forward_only)
    if forward_only:
        def step():
            with tg.no_grad():
                conv2d(x, weight, stride=stride, padding=1, groups=c)
    else:
        grad = channels_last(rng, (n, c, out_size(h, stride), out_size(w, stride)))

        def step():  # the op's own backward: no .grad of a leaf to store (torch: autograd.grad)
            out = conv2d(x, weight, stride=stride, padding=1, groups=c)
            with tg.no_grad():
                out._ctx.function.backward(out._ctx, grad)
    return median_ms(step, repeats, warmup=2)


def torch_case(shape, stride, forward_only, repeats):
    import torch

    n, c, h, w = shape
    x = torch.randn(shape, requires_grad=not forward_only)
    weight = torch.randn((c, 1, 3, 3), requires_grad=not forward_only)
    conv = torch.nn.functional.conv2d
    if forward_only:
        def step():
            with torch.no_grad():
                conv(x, weight, None, stride, 1, 1, c)
    else:
        grad = torch.randn((n, c, out_size(h, stride), out_size(w, stride)))

        def step():
            torch.autograd.grad(conv(x, weight, None, stride, 1, 1, c), (x, weight), grad)
    return median_ms(step, repeats, warmup=2)


def git(*args):
    return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True, check=True).stdout.strip()


def old_conv2d():
    """conv2d of ops/conv.py before the depthwise path (the general grouped path), or None without git."""
    try:
        added = git("log", "--diff-filter=A", "--format=%h", "--", "tinygrad_cnn/ops/conv_depthwise.py")
        commit = f"{added.split()[-1]}^" if added else "HEAD"
        source = git("show", f"{commit}:tinygrad_cnn/ops/conv.py")
        print(f"old = tinygrad_cnn/ops/conv.py at {git('rev-parse', '--short', commit)}")
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"old path unavailable (git failed: {err})")
        return None
    import tinygrad_cnn.ops  # noqa: F401  (the package its relative imports resolve against)

    spec = importlib.util.spec_from_loader("tinygrad_cnn.ops._conv_before_depthwise", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "tinygrad_cnn.ops"
    exec(compile(source, f"conv.py@{commit}", "exec"), module.__dict__)
    return module.conv2d


def torch_round(repeats, threads):
    """All cases in torch on ``threads`` threads, in a child process; {label: ms}."""
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-child", str(threads),
                          "--repeats", str(repeats)], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def machine():
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor() or "unknown") if os.path.exists("/proc/cpuinfo") else platform.processor()
    return f"CPU {model}, {os.cpu_count()} cores; Python {platform.python_version()}, NumPy {np.__version__}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="tinygrad_cnn threads (default: as configured)")
    parser.add_argument("--torch-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_child:
        import torch

        torch.set_num_threads(args.torch_child)
        print(json.dumps({label: torch_case(shape, s, fwd, args.repeats) for label, shape, s, fwd in CASES}))
        return

    import tinygrad_cnn as tg

    if args.threads:
        tg.set_num_threads(args.threads)
    kept = tg.keep_freed_memory()  # as the MNIST command line and bench_models.py do (process-wide)
    print(machine())
    print(f"malloc keeps freed memory (tinygrad_cnn.keep_freed_memory()): {kept}")
    try:
        torch_version = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__, "
                                        "torch.get_num_threads())"], capture_output=True, text=True, check=True)
        version, torch_threads = torch_version.stdout.split()
        print(f"torch {version} (default threads {torch_threads})")
    except (OSError, subprocess.CalledProcessError):
        torch_version, torch_threads = None, None
        print("torch unavailable")
    print(f"tinygrad_cnn threads {tg.get_num_threads()}; {args.rounds} rounds x {args.repeats} runs per case")
    columns = {"new": tg.conv2d if hasattr(tg, "conv2d") else tg.nn.functional.conv2d, "old": old_conv2d()}
    columns = {name: fn for name, fn in columns.items() if fn is not None}
    torch_columns = {f"torch@{k}": int(k) for k in ["1", torch_threads]} if torch_version else {}
    names = list(columns) + list(torch_columns)
    results = {name: {label: [] for label, *_ in CASES} for name in names}
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:  # rotate the order
            if name in torch_columns:
                for label, ms in torch_round(args.repeats, torch_columns[name]).items():
                    results[name][label].append(ms)
            else:
                for label, shape, s, fwd in CASES:
                    results[name][label].append(ours_case(columns[name], shape, s, fwd, args.repeats))
    print_table(results, args.rounds)


def print_table(results, rounds):
    """Markdown: the median over rounds per column, old/new, and new against the faster torch column."""
    names = list(results)
    torch_names = [name for name in names if name.startswith("torch")]
    ratios = "old" in names and bool(torch_names)
    print(f"\n| case (ms, median of {rounds} round medians) | " + " | ".join(names) + " |"
          + (" old/new | new/best torch |" if ratios else ""))
    print("|---" * (len(names) + 1 + 2 * ratios) + "|")
    for label, *_ in CASES:
        ms = {name: float(np.median(results[name][label])) for name in names}
        row = f"| {label} | " + " | ".join(f"{ms[name]:.3f}" for name in names) + " |"
        if ratios:
            row += f" {ms['old'] / ms['new']:.1f}x | {ms['new'] / min(ms[t] for t in torch_names):.2f} |"
        print(row)


if __name__ == "__main__":
    main()
