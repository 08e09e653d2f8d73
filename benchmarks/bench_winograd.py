"""Winograd convolution (tinygrad_cnn/ops/conv_winograd.py) against the im2col path, per pass.

    python benchmarks/bench_winograd.py                 # every shape, 15 rounds, float32
    python benchmarks/bench_winograd.py --rounds 25 --only lenet
    python benchmarks/bench_winograd.py --tiles 2 4 3   # which output tiles m to try
    python benchmarks/bench_winograd.py --clock cpu     # CPU seconds of the process, not wall time
    python benchmarks/bench_winograd.py --clock cpu --rounds 5 --grid grid.jsonl   # the rule's fitting grid
    python benchmarks/bench_winograd.py --fit grid.jsonl                           # ... and its fit

For each conv shape of the reference nets (lenet and mid at batch 128 and 32, ResNet-18's 3x3
stride-1 convs at 224x224, batch 1) it times, through the Tensor API: the forward; the backward
alone when only the input needs a gradient (dx); the backward alone when only the weight does
(dw). The im2col side is ``tinygrad_cnn.nn.functional.conv2d``; the Winograd side is a Function
written here that calls conv_winograd on the same NHWC memory, as conv.py would. All variants
run in the same process, interleaved in a rotating order within each round (the machine is
shared: only ratios of medians taken this way mean much). A ratio < 1 means Winograd is faster.
``--clock cpu`` times the CPU seconds of the whole process (both worker threads) instead: what
each path costs in work, much less disturbed by other jobs on the machine than wall time.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_cnn as tg  # noqa: E402
from tinygrad_cnn import parallel  # noqa: E402
from tinygrad_cnn.function import Function  # noqa: E402
from tinygrad_cnn.nn import functional as F  # noqa: E402
from tinygrad_cnn.ops import conv_winograd as cw  # noqa: E402

# (label, batch, in channels, out channels, input size, kernel, padding, passes); a net's first
# conv needs no input gradient, ResNet-18 is timed for inference only
CASES = [
    ("lenet conv1 1->32 5x5 28", 128, 1, 32, 28, 5, 0, "fwd dw"),
    ("lenet conv2 32->32 5x5 24", 128, 32, 32, 24, 5, 0, "fwd dx dw"),
    ("lenet conv3 32->64 3x3 10", 128, 32, 64, 10, 3, 0, "fwd dx dw"),
    ("lenet conv4 64->64 3x3 8", 128, 64, 64, 8, 3, 0, "fwd dx dw"),
    ("lenet conv2 32->32 5x5 24", 32, 32, 32, 24, 5, 0, "fwd dx dw"),
    ("lenet conv3 32->64 3x3 10", 32, 32, 64, 10, 3, 0, "fwd dx dw"),
    ("lenet conv4 64->64 3x3 8", 32, 64, 64, 8, 3, 0, "fwd dx dw"),
    ("mid conv1 1->16 3x3 p1 28", 128, 1, 16, 28, 3, 1, "fwd dw"),
    ("mid conv2 16->32 3x3 p1 14", 128, 16, 32, 14, 3, 1, "fwd dx dw"),
    ("mid conv2 16->32 3x3 p1 14", 32, 16, 32, 14, 3, 1, "fwd dx dw"),
    ("resnet18 64->64 3x3 p1 56", 1, 64, 64, 56, 3, 1, "fwd"),
    ("resnet18 128->128 3x3 p1 28", 1, 128, 128, 28, 3, 1, "fwd"),
    ("resnet18 256->256 3x3 p1 14", 1, 256, 256, 14, 3, 1, "fwd"),
    ("resnet18 512->512 3x3 p1 7", 1, 512, 512, 7, 3, 1, "fwd"),
]


class WinogradConv2d(Function):
    """A stride-1 Conv2d whose three passes are conv_winograd's, on NHWC memory like conv.py's."""

    @staticmethod
    def forward(ctx, x, weight, bias, pads, m):
        xs = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        ctx.save_for_backward(xs, weight)
        ctx.pads, ctx.m = pads, m
        return cw.conv2d_nhwc(xs, weight, pads, bias, m=m).transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad):
        xs, weight = ctx.saved_tensors
        g = np.ascontiguousarray(grad.transpose(0, 2, 3, 1))
        need_x, need_w, need_b = ctx.needs_input_grad
        dx = dw = db = None
        if need_x:
            dx = cw.conv2d_input_grad_nhwc(g, weight, ctx.pads, xs.shape[1:3], m=ctx.m).transpose(0, 3, 1, 2)
        if need_w:
            dw = cw.conv2d_weight_grad_nhwc(xs, g, ctx.pads, weight.shape[2], m=ctx.m)
        if need_b:
            db = np.ones(g.shape[0] * g.shape[1] * g.shape[2], g.dtype) @ g.reshape(-1, g.shape[3])
        return dx, dw, db


def machine():
    """CPU model, cores, NumPy and its BLAS, the worker threads, the load."""
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = "?"
    try:
        from threadpoolctl import threadpool_info
        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        blas = ", ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')}" for i in info)
    except ImportError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, NumPy {np.__version__} "
            f"({blas}); {parallel.get_num_threads()} worker threads; load average {load:.2f}")


def make_case(batch, cin, cout, size, k, pad, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, cin, size, size)).astype(dtype)
    x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # NHWC memory, like a conv's output
    w = (rng.standard_normal((cout, cin, k, k)) / np.sqrt(cin * k * k)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    out = size + 2 * pad - k + 1
    g = rng.standard_normal((batch, out, out, cout)).astype(dtype).transpose(0, 3, 1, 2)
    return x, w, b, g


CLOCK = time.perf_counter


def runner(variant, x, w, b, g, pad):
    """fn(pass) -> seconds of that pass: 'fwd' (no grad), 'dx' or 'dw' (the backward alone)."""
    pads = (pad,) * 4

    def conv(xt, wt):
        if variant == "im2col":
            return F.conv2d(xt, wt, tg.Tensor(b), padding=pad)
        return WinogradConv2d.apply(xt, wt, tg.Tensor(b), pads=pads, m=variant)

    def run(which):
        xt = tg.Tensor(x, requires_grad=which == "dx")
        wt = tg.Tensor(w, requires_grad=which == "dw")
        if which == "fwd":
            with tg.no_grad():
                t = CLOCK()
                conv(xt, wt)
                return CLOCK() - t
        y = conv(xt, wt)
        t = CLOCK()
        y.backward(g)
        return CLOCK() - t

    return run


def check_close(runs, x, w, b, g, pad):
    """The variants agree with im2col (float32 tolerance) before anything is timed."""
    outs = {}
    for variant in runs:
        xt, wt = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
        if variant == "im2col":
            y = F.conv2d(xt, wt, tg.Tensor(b), padding=pad)
        else:
            y = WinogradConv2d.apply(xt, wt, tg.Tensor(b), pads=(pad,) * 4, m=variant)
        y.backward(g)
        outs[variant] = [a.numpy().astype(np.float64) for a in (y, xt.grad, wt.grad)]
    worst = 0.0
    for variant, arrays in outs.items():
        for a, ref in zip(arrays, outs["im2col"]):
            worst = max(worst, float(np.abs(a - ref).max() / np.abs(ref).max()))
    return worst


def measure(case, tiles, rounds, dtype):
    """Medians {(variant, pass): seconds} of one shape, and the worst relative difference."""
    label, batch, cin, cout, size, k, pad, passes = case
    x, w, b, g = make_case(batch, cin, cout, size, k, pad, dtype)
    variants = ["im2col"] + [m for m in tiles if (m + k - 1) in cw.POINTS]
    runs = {v: runner(v, x, w, b, g, pad) for v in variants}
    error = check_close(runs, x, w, b, g, pad)
    times = {(v, p): [] for v in variants for p in passes.split()}
    for p in passes.split():  # warm-up: buffers, caches, worker threads
        for v in variants:
            runs[v](p)
    for r in range(rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for p in passes.split():
            for v in order:
                times[v, p].append(runs[v](p))
    return {key: float(np.median(t)) for key, t in times.items()}, error


WHICH = {"fwd": "forward", "dx": "input_grad", "dw": "weight_grad"}


def report(case, med, error, out):
    """One table row: per pass the im2col time and each variant's ratio; what winograd_tile picks
    per pass and the ratio of all passes timed with those picks; the worst difference."""
    label, batch, cin, cout, size, k, pad, passes = case
    passes = passes.split()
    variants = sorted({v for v, _ in med if v != "im2col"})
    base = {p: med["im2col", p] for p in passes}
    cells = []
    for p in ("fwd", "dx", "dw"):
        ratios = " ".join(f"F{m}:{med[m, p] / base[p]:.2f}" for m in variants) if p in passes else ""
        cells.append(f"{base[p] * 1e3:.2f} ms, {ratios}" if p in passes else "-")
    pick = {p: cw.winograd_tile(batch, cin, cout, size, size, k, WHICH[p], padding=pad) for p in passes}
    picked = sum(med[pick[p], p] if pick[p] in variants else base[p] for p in passes) / sum(base.values())
    rule = "/".join(f"F{pick[p]}" if pick[p] else "im2col" for p in passes)
    out(f"| {label} | {batch} | " + " | ".join(cells) + f" | {rule}: {picked:.2f} | {error:.1e} |")


def grid_cases():
    """The shapes the selection rule was fitted on: 3x3 and 5x5 kernels, 8..512 channels, outputs
    of 6..56 pixels, a batch of about 2M input values (and batch 1 for large images)."""
    cases = []
    for r, pad, size in [(3, 1, 8), (3, 1, 14), (3, 1, 28), (3, 1, 56), (3, 0, 8), (3, 0, 10), (5, 0, 12),
                         (5, 0, 24), (5, 2, 14)]:
        for c, oc in [(8, 8), (16, 16), (16, 32), (32, 32), (32, 64), (64, 64), (128, 128), (256, 256), (512, 512)]:
            if c >= 256 and size < 14 and r == 5:
                continue
            for batch in sorted({max(1, min(128, round(2**21 / (size * size * c)))),
                                 1 if size + 2 * pad - r + 1 >= 14 and c >= 64 else 32}):
                if batch * size * size * c <= 2**23:
                    cases.append(("grid", batch, c, oc, size, r, pad, "fwd dx dw"))
    return cases


def features(rec, p, m):
    """The terms of conv_winograd.RATIO_MODEL for one measured shape, pass and tile."""
    n, c, oc, size, r, pad = (rec[key] for key in ("batch", "c", "oc", "size", "r", "pad"))
    out = size + 2 * pad - r + 1
    dom, ci, co = (size, oc, c) if p == "dx" else (out, c, oc)
    a2, tiles = (m + r - 1) ** 2, (-(-dom // m)) ** 2
    inv = a2 * tiles / (r * r * dom * dom)
    return [inv, inv / ci, inv / co, a2 / (n * out * out * r * r)]


def fit(path):
    """Least squares of the ratio model on relative error, per (pass, r), from a --grid file."""
    recs = [json.loads(line) for line in open(path)]
    for p in ("fwd", "dx", "dw"):
        for r in (3, 5):
            rows, ys = [], []
            for rec in (rec for rec in recs if rec["r"] == r):
                for m in (2, 4):
                    rows.append(features(rec, p, m))
                    ys.append(rec["t"][f"{m}|{p}"] / rec["t"][f"im2col|{p}"])
            x, y = np.array(rows), np.array(ys)
            keep = list(range(4))
            for _ in range(4):  # drop terms that come out negative, refit
                coef = np.linalg.lstsq(x[:, keep] / y[:, None], np.ones(len(y)), rcond=None)[0]
                if (coef >= 0).all():
                    break
                keep = [k for k, v in zip(keep, coef) if v >= 0]
            full = np.zeros(4)
            full[keep] = coef
            err = np.abs(x @ full / y - 1)
            terms = tuple(round(float(v), 2) for v in full)
            print(f"({WHICH[p]!r}, {r}): {terms}  median |error| {np.median(err):.2f}, "
                  f"90th percentile {np.percentile(err, 90):.2f}, {len(y)} points")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--tiles", type=int, nargs="+", default=[2, 4], help="output tile sizes m to try")
    parser.add_argument("--only", default="", help="only the shapes whose label contains this")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--clock", default="wall", choices=["wall", "cpu"])
    parser.add_argument("--grid", metavar="FILE", help="time the fitting grid instead, appending JSON lines to FILE")
    parser.add_argument("--fit", metavar="FILE", help="fit the selection rule's model to a --grid FILE and stop")
    args = parser.parse_args(argv)
    if args.fit:
        return fit(args.fit)
    global CLOCK
    CLOCK = time.perf_counter if args.clock == "wall" else time.process_time
    print(machine())
    print("python benchmarks/bench_winograd.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    print("ratio = Winograd F(m x m, r x r) median time / im2col median time, per pass; rule = what "
          "winograd_tile picks per pass, and the ratio of those passes' total time with its picks; "
          "err = max |diff| / max |im2col| over y, dx, dw\n")
    print("| shape | batch | fwd: im2col, ratios | dx: im2col, ratios | dw: im2col, ratios | rule | err |")
    print("|---|---|---|---|---|---|---|")
    cases = grid_cases() if args.grid else [c for c in CASES if args.only in c[0]]
    with parallel.single_threaded_blas():
        for case in cases:
            med, error = measure(case, args.tiles, args.rounds, np.dtype(args.dtype))
            report(case, med, error, lambda s: print(s, flush=True))
            if args.grid:
                with open(args.grid, "a") as f:
                    keys = dict(zip(("batch", "c", "oc", "size", "r", "pad"), case[1:7]))
                    f.write(json.dumps(dict(keys, err=error, t={f"{v}|{p}": t for (v, p), t in med.items()})) + "\n")


if __name__ == "__main__":
    main()
