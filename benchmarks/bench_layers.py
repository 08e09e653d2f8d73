"""Forward and forward+backward time of single layers, tinygrad_cnn vs PyTorch.

    python benchmarks/bench_layers.py                  # every layer, 3 rounds
    python benchmarks/bench_layers.py --layers conv_transpose layer_norm --rounds 5

Each framework runs all layers in its own process (a GEMM's spinning BLAS threads would slow the
other framework in the same process); the order of the two alternates from round to round and
each ratio is the median of the per-round ratios. The input of every layer is the NCHW-shaped,
channels-last-in-memory tensor that a conv hands over in tinygrad_cnn (and a contiguous one in
PyTorch, its own default). Both sides use BENCH_THREADS threads (default 2).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench_machine import median_ms  # noqa: E402
from bench_models import machine_description  # noqa: E402

# name -> (input shape, a function of the framework's nn building the layer)
LAYERS = {
    "conv_transpose": ((32, 32, 16, 16), lambda nn: nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1)),
    "adaptive_avg_7": ((32, 64, 28, 28), lambda nn: nn.AdaptiveAvgPool2d(7)),
    "adaptive_avg_5": ((32, 64, 28, 28), lambda nn: nn.AdaptiveAvgPool2d(5)),
    "adaptive_max_7": ((32, 64, 28, 28), lambda nn: nn.AdaptiveMaxPool2d(7)),
    "global_avg": ((32, 256, 14, 14), lambda nn: nn.AdaptiveAvgPool2d(1)),
    "batch_norm": ((32, 64, 28, 28), lambda nn: nn.BatchNorm2d(64)),
    "layer_norm": ((32, 64, 28, 28), lambda nn: nn.LayerNorm([64, 28, 28])),
    "group_norm": ((32, 64, 28, 28), lambda nn: nn.GroupNorm(8, 64)),
    "instance_norm": ((32, 64, 28, 28), lambda nn: nn.InstanceNorm2d(64, affine=True)),
    "upsample_nearest": ((32, 16, 32, 32), lambda nn: nn.Upsample(scale_factor=2, mode="nearest")),
    "upsample_bilinear": ((32, 16, 32, 32),
                          lambda nn: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)),
    "max_pool_ceil": ((32, 16, 31, 31), lambda nn: nn.MaxPool2d(3, stride=2, ceil_mode=True)),
}


def measure(framework, names, repeats):
    threads = int(os.environ.get("BENCH_THREADS", "2"))
    if framework == "torch":
        import torch as lib

        lib.set_num_threads(threads)
        make = lambda a: lib.from_numpy(a).requires_grad_()  # noqa: E731
    else:
        sys.path.insert(0, ROOT)
        import tinygrad_cnn as lib

        lib.set_num_threads(threads)
        lib.keep_freed_memory()
        # the channels-last memory a conv would hand over, seen as NCHW
        make = lambda a: lib.from_numpy(np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)).requires_grad_()  # noqa: E731,E501
    lib.manual_seed(0)
    out = {}
    for name in names:
        shape, build = LAYERS[name]
        layer = build(lib.nn)
        x = make(np.random.default_rng(0).standard_normal(shape).astype(np.float32))

        def forward():
            with lib.no_grad():
                layer(x)

        def train():
            y = layer(x)
            y.backward(lib.ones_like(y))

        out[name] = {"forward_ms": median_ms(forward, repeats), "train_ms": median_ms(train, repeats)}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", nargs="+", choices=sorted(LAYERS), default=list(LAYERS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per layer and process")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--child", nargs=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], args.layers, args.repeats)))
        return
    frameworks = ["tinygrad_cnn"] + ([] if args.no_torch else ["torch"])
    rounds = []
    for r in range(args.rounds):
        order = frameworks if r % 2 == 0 else frameworks[::-1]
        result = {}
        for fw in order:
            cmd = [sys.executable, os.path.abspath(__file__), "--child", fw, "--layers", *args.layers,
                   "--repeats", str(args.repeats)]
            result[fw] = json.loads(
                subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        rounds.append(result)
    print(machine_description())
    print(f"- {args.rounds} rounds, median of {args.repeats} calls each; ratios: median of per-round ratios\n")
    print("| layer (input) | ours fwd ms | ours fwd+bwd ms | torch fwd ms | torch fwd+bwd ms "
          "| fwd ratio | fwd+bwd ratio |")
    print("|---|---|---|---|---|---|---|")
    for name in args.layers:
        ours = [r["tinygrad_cnn"][name] for r in rounds]
        cells = [np.median([o["forward_ms"] for o in ours]), np.median([o["train_ms"] for o in ours])]
        ratios = ["", ""]
        if not args.no_torch:
            theirs = [r["torch"][name] for r in rounds]
            cells += [np.median([t["forward_ms"] for t in theirs]), np.median([t["train_ms"] for t in theirs])]
            ratios = [f"{np.median([o[k] / t[k] for o, t in zip(ours, theirs)]):.2f}"
                      for k in ("forward_ms", "train_ms")]
        else:
            cells += [float("nan")] * 2
        print(f"| {name} {LAYERS[name][0]} | " + " | ".join(f"{c:.2f}" for c in cells)
              + f" | {ratios[0]} | {ratios[1]} |")


if __name__ == "__main__":
    main()
