"""The benchmark scripts still run (tiny settings: this checks they work, not how fast)."""
import importlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")
# torchvision's parameter counts of resnet18 and mobilenet_v2 (1000 classes), and their forward
# multiply-adds on a 3x224x224 image (torchvision's model table: 1.81 and 0.30 GFLOPS, i.e. GMACs)
TORCHVISION = {"resnet18": (11_689_512, 1.814e9), "mobilenetv2": (3_504_872, 0.3008e9)}


def _bench_module(name):
    if BENCH not in sys.path:
        sys.path.insert(0, BENCH)
    return importlib.import_module(name)


def _table_rows(out, model):
    return [[c.strip() for c in line.strip("|").split("|")] for line in out.splitlines()
            if line.startswith(f"| {model} |")]


def test_bench_models_prints_a_table_row_per_model():
    cmd = [sys.executable, os.path.join(ROOT, "benchmarks", "bench_models.py"),
           "--models", "seed", "mid", "--batches", "4", "--rounds", "1", "--steps", "1", "--no-torch"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300).stdout
    rows = [line for line in out.splitlines() if line.startswith("| seed |") or line.startswith("| mid |")]
    assert len(rows) == 4, out  # default --mode both: the training table, then the inference table
    assert out.index("**Training step") < out.index(rows[0]) < out.index("**Inference") < out.index(rows[2])
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == "4" and float(cells[2]) > 0, row  # batch, ms per step (or per call)
    assert [len(r.strip("|").split("|")) for r in rows] == [7, 7, 6, 6], rows  # the training table's old columns
    assert "Threads per side" in out and "GEMM peak" in out


def test_bench_models_infer_mode_json_and_machine_line(tmp_path):
    path = tmp_path / "raw.json"
    cmd = [sys.executable, os.path.join(BENCH, "bench_models.py"), "--no-torch", "--models", "seed", "--mode",
           "infer", "--batch", "1", "--rounds", "1", "--steps", "2", "--json", str(path)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout
    machine = [line for line in out.splitlines() if line.startswith("Machine: ")]
    assert len(machine) == 1 and "logical cores" in machine[0] and "GEMM peak" in machine[0], out
    assert "Training step" not in out  # --mode infer: no training table
    (row,) = _table_rows(out, "seed")
    assert row[1] == "1" and float(row[2]) > 0 and int(row[5]) >= 2, row  # batch, ms, calls timed
    data = json.loads(path.read_text())
    assert data["machine_line"] == machine[0][len("Machine: "):]
    (rec,) = data["speed"]
    assert rec["model"] == "seed" and rec["mode"] == "infer" and rec["ours_infer_ms"] > 0
    assert "ours_train_ms" not in rec and rec["forward_flops"] == 2 * 26 * 26 * 8 * 9 + 2 * 1352 * 10
    assert not any(p.name != "raw.json" for p in tmp_path.iterdir())  # the temporary file was renamed


def test_bench_models_build_mode():
    cmd = [sys.executable, os.path.join(BENCH, "bench_models.py"), "--no-torch", "--build", "--models", "seed",
           "--rounds", "1", "--build-time", "0.05"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout
    (row,) = _table_rows(out, "seed")
    assert row[1] == "13,602" and float(row[2]) > 0 and float(row[3]) > 0, row


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_large_models_match_torchvision_counts(name):
    from tinygrad_cnn import Tensor, nn, no_grad

    nets = _bench_module("_bench_nets")
    params, macs = TORCHVISION[name]
    model = nets.build_model(nn, name).eval()
    assert nets.num_params(model) == params
    with no_grad():
        census = nets.forward_census(model, Tensor(np.zeros((1, 3, 224, 224), np.float32)), nn.Conv2d, nn.Linear)
    assert abs(census["forward_flops"] / 2 - macs) < 0.005 * macs, census


@pytest.mark.parametrize("name", ["seed", "mid", "lenet", "resnet18", "mobilenetv2", "vgg11_bn"])
def test_models_have_the_same_state_dict_in_both_frameworks(name):
    torch = pytest.importorskip("torch")
    from tinygrad_cnn import nn

    nets = _bench_module("_bench_nets")
    ours = {k: tuple(v.shape) for k, v in nets.build_model(nn, name).state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in nets.build_model(torch.nn, name).state_dict().items()}
    assert list(ours) == list(theirs) and ours == theirs
    if name == "resnet18":  # torchvision's key names
        assert "layer2.0.downsample.1.running_var" in ours and ours["fc.weight"] == (1000, 512)
    if name == "mobilenetv2":
        assert ours["features.2.conv.1.0.weight"] == (96, 1, 3, 3) and ours["classifier.1.weight"] == (1000, 1280)


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
