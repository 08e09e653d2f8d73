"""The benchmark scripts still run (tiny settings: this checks they work, not how fast)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_models_prints_a_table_row_per_model():
    cmd = [sys.executable, os.path.join(ROOT, "benchmarks", "bench_models.py"),
           "--models", "seed", "mid", "--batches", "4", "--rounds", "1", "--steps", "1", "--no-torch"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300).stdout
    rows = [line for line in out.splitlines() if line.startswith("| seed |") or line.startswith("| mid |")]
    assert len(rows) == 2, out
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == "4" and float(cells[2]) > 0, row  # batch, ms per step
    assert "Threads per side" in out and "GEMM peak" in out


def test_profile_step_lists_the_ops_of_a_step():
    cmd = [sys.executable, os.path.join(ROOT, "benchmarks", "profile_step.py"), "mid", "--batch", "16", "--steps", "1"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300).stdout
    assert "ms per step" in out and "in ops:" in out
    # the convs are the big ops of mid: both directions must be in the table (so the lazily
    # imported conv module's ops were wrapped too)
    for op in ("Conv2d(16, 1, 28, 28) | forward", "Conv2d(16, 16, 14, 14) | forward",
               "Conv2d(16, 16, 14, 14) | backward"):
        assert op in out, out


def test_bench_layers_prints_a_row_per_layer():
    cmd = [sys.executable, os.path.join(ROOT, "benchmarks", "bench_layers.py"), "--layers", "batch_norm", "global_avg",
           "--rounds", "1", "--repeats", "1", "--no-torch"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300).stdout
    rows = [line for line in out.splitlines() if line.startswith(("| batch_norm", "| global_avg"))]
    assert len(rows) == 2 and all(float(r.strip("|").split("|")[1]) > 0 for r in rows), out
    assert "Threads per side" in out
