"""Importing tinygrad_cnn and running a conv net changes nothing outside the library: the BLAS
thread count, the umask and the malloc settings are the process's own; grad mode is per thread.
Run in a fresh interpreter, so that nothing the rest of the suite did can hide a change."""
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("threadpoolctl")

SCRIPT = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    from threadpoolctl import threadpool_info

    def blas():
        return [(p["internal_api"], p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas"]

    def umask():
        with open("/proc/self/status") as f:
            return next(line.split()[1] for line in f if line.startswith("Umask:"))

    before = (blas(), umask())
    import tinygrad_cnn as tg
    from tinygrad_cnn import nn
    after_import = (blas(), umask())
    tg.set_num_threads(2)
    net = nn.Sequential(nn.Conv2d(1, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(16 * 14 * 14, 10))
    x = tg.randn(64, 1, 32, 32)
    loss = tg.nn.functional.cross_entropy(net(x), tg.randint(0, 10, (64,)))
    loss.backward()
    tg.save(net.state_dict(), sys.argv[1])
    after_run = (blas(), umask())
    print(json.dumps([before, after_import, after_run]))
""")


def test_import_and_a_training_step_leave_blas_and_umask_alone(tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "w.safetensors")], capture_output=True,
                         text=True, check=True, env={"PATH": "", "OPENBLAS_NUM_THREADS": "2"}).stdout
    before, after_import, after_run = __import__("json").loads(out)
    assert before == after_import == after_run, (before, after_import, after_run)
    assert before[0], "no BLAS found: the check would prove nothing"
