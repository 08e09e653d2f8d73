"""examples/pytorch_style_mnist.py: PyTorch-idiom code that runs under both frameworks.

The script runs here as is; with torch installed, the same file is loaded once per framework,
both models start from the same weights (copied through ``state_dict``), see the same batches and
the same dropout masks, and their losses must agree step by step.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pytorch_style_mnist.py"


def load_example(framework, monkeypatch):
    monkeypatch.setenv("MNIST_EXAMPLE_FRAMEWORK", framework)
    spec = importlib.util.spec_from_file_location(f"pytorch_style_mnist_{framework}", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_runs_under_tinygrad_cnn(monkeypatch, capsys):
    example = load_example("tinygrad_cnn", monkeypatch)
    example.main(["--framework", "tinygrad_cnn", "--limit", "2000", "--test-limit", "500", "--epochs", "1"])
    out = capsys.readouterr().out
    assert "Test set: average loss" in out and "tinygrad_cnn:" in out
    accuracy = float(out.split("(")[-1].split("%")[0])
    assert accuracy > 70.0, out  # 2,000 training images are enough to get well past chance (10%)


class SharedDropout:
    """Dropout drawing its masks from one NumPy generator per framework, both seeded alike."""

    def __init__(self, lib, p, seed):
        self.lib, self.p, self.rng = lib, p, np.random.default_rng(seed)

    def __call__(self, x):
        keep = (self.rng.random(tuple(x.shape)) >= self.p).astype(np.float32) / (1 - self.p)
        return x * self.lib.from_numpy(keep)


def test_same_losses_as_torch_step_by_step(monkeypatch):
    torch = pytest.importorskip("torch")
    ours, theirs = load_example("tinygrad_cnn", monkeypatch), load_example("torch", monkeypatch)
    assert ours.torch.__name__ == "tinygrad_cnn" and theirs.torch is torch

    theirs.torch.manual_seed(0)
    ref_model = theirs.Net()
    model = ours.Net()
    model.load_state_dict({k: v.detach().numpy() for k, v in ref_model.state_dict().items()})
    losses = {}
    for example, net in ((ours, model), (theirs, ref_model)):
        shared = [SharedDropout(example.torch, d.p, seed=i) for i, d in enumerate([net.dropout1, net.dropout2])]
        net.dropout1.forward, net.dropout2.forward = shared  # the modules stay; their masks are shared
        optimizer = example.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        scheduler = example.StepLR(optimizer, step_size=1, gamma=0.7)
        train_x, train_y, test_x, test_y = example.load_arrays(320, 200)
        run = []
        for epoch in (1, 2):
            loader = example.batches(train_x, train_y, 32, True, np.random.default_rng(epoch))
            run += example.train(net, example.torch.device("cpu"), loader, optimizer, epoch)
            scheduler.step()
        for d in shared:
            d.p = 0.0  # evaluation: no dropout (the stand-ins do not look at train/eval)
        run += list(example.test(net, "cpu", example.batches(test_x, test_y, 100, False, None)))
        losses[example.torch.__name__] = np.array(run)
    assert len(losses["torch"]) == 22
    np.testing.assert_allclose(losses["tinygrad_cnn"], losses["torch"], rtol=2e-4, atol=1e-5)
