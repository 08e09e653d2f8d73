"""Training-step, inference and build speed of reference CNNs, tinygrad_cnn vs PyTorch.

    python benchmarks/bench_models.py                                  # seed/mid/lenet, train + infer, batch 32/128/512
    python benchmarks/bench_models.py --models lenet --batch 128 --rounds 5
    python benchmarks/bench_models.py --mode infer --batch 1 32 --models seed mid lenet
    python benchmarks/bench_models.py --models resnet18 mobilenetv2    # 3x224x224 nets: infer, batch 1 by default
    python benchmarks/bench_models.py --models resnet18 --mode train --batch 4
    python benchmarks/bench_models.py --build --rounds 3               # construction + init, every model + vgg11_bn
    python benchmarks/bench_models.py --json results.json              # all raw figures as well as the tables

Each (framework, model, batch) is measured in its own process: NumPy's BLAS threads keep spinning
after a GEMM and slow a PyTorch run in the same process by up to 2x. The order of the two
frameworks alternates from round to round, and each reported ratio (training and inference) is the
median of per-round ratios. Inference is model.eval() plus a no_grad forward, timed for at least
--steps calls and --infer-time seconds, and on to 200 calls unless that takes over 4x --infer-time
(so a batch-1 call of a few ms is the median of hundreds).
A training step is SGD with momentum on cross-entropy, the median of --steps steps.
resnet18 and mobilenetv2 (torchvision's layouts, 1000 classes) default to --mode infer at batch 1;
an explicit --mode/--batch applies to every model named. PyTorch is optional
(``pip install -e '.[bench]'``); without it only our figures print.
"""
import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
from _bench_machine import blas_info, cpu_model, machine_info, machine_line
from _bench_nets import ALL, BUILD_ONLY, LARGE, SMALL, layers  # noqa: F401  (layers: profile_step imports it)

MODELS = SMALL  # the 1x28x28 models; profile_step.py offers these
DEFAULT_BATCHES = {"small": [32, 128, 512], "large": [1]}
DASH = "–"


def run_child(framework, name, batch, steps, mode="both", infer_time=0.5):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", framework, name, str(batch), str(steps), mode,
           str(infer_time)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_build_child(framework, name, min_time):
    cmd = [sys.executable, os.path.abspath(__file__), "--child-build", framework, name, str(min_time)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def child_main(argv):
    import _bench_child

    if argv[0] == "--child-build":
        result = _bench_child.measure_build(argv[1], argv[2], float(argv[3]))
    else:
        framework, name, batch, steps = argv[1], argv[2], int(argv[3]), int(argv[4])
        mode = argv[5] if len(argv) > 5 else "both"
        infer_time = float(argv[6]) if len(argv) > 6 else 0.5
        fn = _bench_child.measure_torch if framework == "torch" else _bench_child.measure_ours
        result = fn(name, batch, steps, mode, infer_time)
    print(json.dumps(result))


def _setup_lines():
    threads = os.environ.get("BENCH_THREADS", "2")
    return [f"- Threads per side: {threads} (tinygrad_cnn.set_num_threads({threads}): {threads} workers, "
            f"each with a single-threaded BLAS; torch.set_num_threads({threads})); set BENCH_THREADS to change",
            "- malloc: tinygrad_cnn.keep_freed_memory() in our processes (glibc keeps freed blocks of up to 32 MB)"]


def machine_description():
    """The machine as bullet lines (no GEMM measurement; bench_layers.py prints this)."""
    lines = [f"- {platform.machine()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
             f"NumPy {np.__version__}", f"- CPU: {cpu_model()}"]
    blas = blas_info()
    if blas:
        lines.append(f"- BLAS: {blas['internal_api']} {blas['version']}, kernel {blas['architecture']}, "
                     f"{blas['num_threads']} threads by default")
    else:
        lines.append("- BLAS: (install threadpoolctl to show the BLAS and its kernel)")
    return "\n".join(lines + _setup_lines())


def torch_version():
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=ALL, default=None,
                        help=f"default: {' '.join(SMALL)} ({' '.join(ALL)} with --build)")
    parser.add_argument("--mode", choices=("train", "infer", "both"), default=None,
                        help="default: both for the small models, infer for resnet18/mobilenetv2")
    parser.add_argument("--batch", "--batches", dest="batch", nargs="+", type=int, default=None,
                        help="batch sizes (default: 32 128 512 for the small models, 1 for the large ones)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=15, help="timed training steps (and least inference calls) "
                        "per process")
    parser.add_argument("--infer-time", type=float, default=0.5, help="least seconds of timed inference calls")
    parser.add_argument("--build", action="store_true", help="time building the models (construction and "
                        "weight init) instead of running them")
    parser.add_argument("--build-time", type=float, default=0.5, help="least seconds of timed builds per process")
    parser.add_argument("--json", metavar="PATH", help="write all raw figures to PATH (atomically)")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args(argv)
    if args.models is None:
        args.models = list(ALL) if args.build else list(SMALL)
    if not args.build and any(m in BUILD_ONLY for m in args.models):
        parser.error(f"{', '.join(BUILD_ONLY)}: only in the --build measurement")
    if args.rounds < 1 or args.steps < 1 or (args.batch and min(args.batch) < 1):
        parser.error("--rounds, --steps and --batch must be positive")
    return args


def plan(args):
    """(model, mode, batches) for each model asked for."""
    out = []
    for name in args.models:
        group = "large" if name in LARGE else "small"
        mode = args.mode or ("infer" if group == "large" else "both")
        out.append((name, mode, args.batch or DEFAULT_BATCHES[group]))
    return out


def _rounds(rounds, measure, have_torch, label):
    """``rounds`` x {framework: measure(framework)}, ours first in even rounds and torch first in odd ones."""
    got = []
    for r in range(rounds):
        order = ["ours", "torch"] if r % 2 == 0 else ["torch", "ours"]
        result = {"order": [fw for fw in order if fw == "ours" or have_torch]}
        for fw in result["order"]:
            result[fw] = measure(fw)
        got.append(result)
        print(f"[bench_models] {label}: round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    return got


def _median(values):
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def speed_record(name, mode, batch, rounds, have_torch):
    """The medians of the rounds of one (model, batch), and their ratios (median of per-round ratios)."""
    rec = {"model": name, "mode": mode, "batch": batch, "rounds": rounds}
    ours = [r["ours"] for r in rounds]
    for kind in ("train", "infer"):
        key = f"{kind}_ms"
        if key not in ours[0]:
            continue
        rec[f"ours_{key}"] = _median([o[key] for o in ours])
        if have_torch:
            rec[f"torch_{key}"] = _median([r["torch"][key] for r in rounds])
            rec[f"{kind}_ratio"] = _median([r["ours"][key] / r["torch"][key] for r in rounds])
            rec[f"{kind}_ratios"] = [r["ours"][key] / r["torch"][key] for r in rounds]
    first = ours[0]
    rec.update(forward_flops=first["forward_flops"], train_flops=first["train_flops"], params=first["params"],
               ours_peak_rss_mb=max(o["peak_rss_mb"] for o in ours))
    if have_torch:
        rec["torch_peak_rss_mb"] = max(r["torch"]["peak_rss_mb"] for r in rounds)
    for key in ("step_peak_mb", "floor_mb", "memory_ratio"):
        if key in first:
            rec[key] = first[key]
    return rec


def measure_speed(args, have_torch):
    records = []
    for name, mode, batches in plan(args):
        for batch in batches:
            def measure(fw):
                return run_child(fw, name, batch, args.steps, mode, args.infer_time)

            rounds = _rounds(args.rounds, measure, have_torch, f"{name} batch {batch} {mode}")
            records.append(speed_record(name, mode, batch, rounds, have_torch))
    return records


def measure_builds(args, have_torch):
    records = []
    for name in args.models:
        rounds = _rounds(args.rounds, lambda fw: run_build_child(fw, name, args.build_time), have_torch,
                         f"{name} build")
        rec = {"model": name, "params": rounds[0]["ours"]["params"], "rounds": rounds,
               "ours_build_ms": _median([r["ours"]["build_ms"] for r in rounds]),
               "ours_first_ms": _median([r["ours"]["first_ms"] for r in rounds])}
        if have_torch:
            rec.update(torch_build_ms=_median([r["torch"]["build_ms"] for r in rounds]),
                       torch_first_ms=_median([r["torch"]["first_ms"] for r in rounds]),
                       build_ratio=_median([r["ours"]["build_ms"] / r["torch"]["build_ms"] for r in rounds]),
                       first_ratio=_median([r["ours"]["first_ms"] / r["torch"]["first_ms"] for r in rounds]))
        records.append(rec)
    return records


def _f(value, fmt):
    return DASH if value is None else format(value, fmt)


def _table(head, rows):
    return [head, "|" + "---|" * (head.count("|") - 1), *rows]


def train_table(records, have_torch):
    """The training table, with the columns this script has always printed (infer img/s from the same
    processes when inference ran too)."""
    head = ("| model | batch | ours ms/step | ours GFLOP/s | ours infer img/s | ours peak RSS MB "
            "| step peak / (activations + params + grads) |")
    if have_torch:
        head += " torch ms/step | torch infer img/s | ratio ours/torch (median of rounds) |"
    rows = []
    for rec in records:
        if "ours_train_ms" not in rec:
            continue
        ms, batch = rec["ours_train_ms"], rec["batch"]
        row = (f"| {rec['model']} | {batch} | {ms:.1f} | {rec['train_flops'] / ms / 1e6:.0f} | "
               f"{_img_s(batch, rec.get('ours_infer_ms'))} | {rec['ours_peak_rss_mb']:.0f} | "
               f"{rec['step_peak_mb']:.0f} MB / {rec['floor_mb']:.0f} MB = {rec['memory_ratio']:.2f} |")
        if have_torch:
            row += (f" {rec['torch_train_ms']:.1f} | {_img_s(batch, rec.get('torch_infer_ms'))} | "
                    f"{rec['train_ratio']:.2f} |")
        rows.append(row)
    return _table(head, rows) if rows else []


def _img_s(batch, ms):
    return DASH if ms is None else f"{1000 * batch / ms:.0f}"


def _ms(ms):
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}"


def infer_table(records, have_torch):
    head = "| model | batch | ours ms | ours img/s | ours GFLOP/s | ours calls timed |"
    if have_torch:
        head += " torch ms | torch img/s | torch GFLOP/s | torch calls timed | ratio ours/torch (median of rounds) |"
    rows = []
    for rec in records:
        if "ours_infer_ms" not in rec:
            continue
        batch, flops = rec["batch"], rec["forward_flops"]
        calls = {fw: int(np.median([r[fw]["infer"]["calls"] for r in rec["rounds"] if fw in r])) for fw in
                 (["ours", "torch"] if have_torch else ["ours"])}
        ms = rec["ours_infer_ms"]
        row = (f"| {rec['model']} | {batch} | {_ms(ms)} | {_img_s(batch, ms)} | {flops / ms / 1e6:.1f} | "
               f"{calls['ours']} |")
        if have_torch:
            ms = rec["torch_infer_ms"]
            row += (f" {_ms(ms)} | {_img_s(batch, ms)} | {flops / ms / 1e6:.1f} | {calls['torch']} | "
                    f"{rec['infer_ratio']:.2f} |")
        rows.append(row)
    return _table(head, rows) if rows else []


def build_table(records, have_torch):
    head = "| model | params | ours build ms | ours first build ms |"
    if have_torch:
        head += (" torch build ms | torch first build ms | ratio ours/torch (median of rounds) "
                 "| first-build ratio |")
    rows = []
    for rec in records:
        row = f"| {rec['model']} | {rec['params']:,} | {_ms(rec['ours_build_ms'])} | {_ms(rec['ours_first_ms'])} |"
        if have_torch:
            row += (f" {_ms(rec['torch_build_ms'])} | {_ms(rec['torch_first_ms'])} | {rec['build_ratio']:.2f} "
                    f"| {rec['first_ratio']:.2f} |")
        rows.append(row)
    return _table(head, rows)


def write_json(path, data):
    """Write ``data`` to ``path`` atomically: a temporary file next to it, then os.replace."""
    path = os.path.abspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def print_header(info, have_torch):
    """The one-line machine description (returned, for docs/benchmarks.md) and the setup bullets."""
    line = machine_line(info)
    print(f"# bench_models  ({time.strftime('%Y-%m-%d')})\n")
    print(f"Machine: {line}")
    version = torch_version()
    print(f"- PyTorch: {version or 'not installed'}{'' if have_torch else ' (not measured)'}")
    print("\n".join(_setup_lines()) + "\n")
    return line


def print_tables(args, speed, builds, have_torch):
    rounds = f"{args.rounds} round{'s' if args.rounds > 1 else ''}"
    tables = []
    if builds:
        tables.append((f"Build (construction + weight init), ms: median of builds per process (at least 3 and "
                       f"{args.build_time} s); first = the first build in a fresh process; {rounds}",
                       build_table(builds, have_torch)))
    train, infer = train_table(speed, have_torch), infer_table(speed, have_torch)
    if train:
        tables.append((f"Training step (SGD momentum 0.9, cross-entropy), median of {args.steps} steps per "
                       f"process; {rounds}", train))
    if infer:
        tables.append((f"Inference (eval(), no_grad forward), median of at least {args.steps} calls and "
                       f"{args.infer_time} s (and 200 calls if they fit in {4 * args.infer_time:g} s) per process; "
                       f"{rounds}", infer))
    for title, table in tables:
        print(f"**{title}**\n")
        print("\n".join(table) + "\n", flush=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("--child", "--child-build"):
        return child_main(argv)
    args = parse_args(argv)
    have_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    info = machine_info()
    line = print_header(info, have_torch)
    speed, builds = [], []
    if args.build:
        builds = measure_builds(args, have_torch)
    else:
        speed = measure_speed(args, have_torch)
    print_tables(args, speed, builds, have_torch)
    if args.json:
        write_json(args.json, {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "command": [sys.argv[0], *argv],
                               "machine_line": line, "machine": info, "torch": torch_version() if have_torch else None,
                               "threads": int(os.environ.get("BENCH_THREADS", "2")), "settings": vars(args),
                               "speed": speed, "build": builds})
        print(f"raw figures: {args.json}")
    return line


if __name__ == "__main__":
    main()
