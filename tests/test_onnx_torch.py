"""ONNX files written by ``torch.onnx.export`` (the TorchScript exporter, ``dynamo=False``: it works
offline without onnxscript) of the test networks and of the MNIST CNN load with ``tinygrad_cnn.onnx.load``
and give torch's eval outputs, at batch 1 and 3 (dynamic batch); our export of the same weights runs
in onnxruntime like torch's file. Skipped without torch."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from _networks import NETWORKS  # noqa: E402

import tinygrad_cnn as tg  # noqa: E402
import tinygrad_cnn.onnx as tg_onnx  # noqa: E402
from models.mnist.checkpoint import load_weights  # noqa: E402


def torch_export(model, x, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def _randomize(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    for name, buf in model.named_buffers():
        if name.endswith("running_mean"):
            buf.copy_(torch.randn(buf.shape, generator=gen) * 0.2)
        elif name.endswith("running_var"):
            buf.copy_(torch.rand(buf.shape, generator=gen) + 0.5)


@pytest.mark.parametrize("name", NETWORKS)
def test_torch_exported_network_loads_and_matches(name, tmp_path):
    build, size = NETWORKS[name]
    torch.manual_seed(0)
    ref = build(torch.nn, torch)
    _randomize(ref)
    ref.eval()
    path = tmp_path / f"torch_{name}.onnx"
    torch_export(ref, torch.randn(2, 3, size, size), path)
    loaded = tg_onnx.load(path)
    loaded.eval()
    ours = build(tg.nn, tg)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in ref.state_dict().items()})
    ours_path = tmp_path / f"ours_{name}.onnx"
    tg_onnx.export(ours, np.zeros((2, 3, size, size), dtype=np.float32), ours_path)
    sess = ort.InferenceSession(str(ours_path), providers=["CPUExecutionProvider"])
    for n in (1, 3):
        x = torch.randn(n, 3, size, size)
        with torch.no_grad():
            expected = ref(x).numpy()
        with tg.no_grad():
            got = loaded(tg.Tensor(x.numpy())).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5, err_msg=f"torch's file, batch {n}")
        np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], expected, rtol=1e-4, atol=2e-5,
                                   err_msg=f"our export in onnxruntime, batch {n}")


def test_torch_exported_mnist_cnn(tmp_path):
    """The shipped MnistCNN weights in the same architecture written with torch.nn."""
    tn = torch.nn

    def block(cin, cout):
        return [tn.Conv2d(cin, cout, 3, padding=1, bias=False), tn.BatchNorm2d(cout), tn.ReLU()]

    features = tn.Sequential(*block(1, 32), tn.MaxPool2d(2), *block(32, 64), tn.MaxPool2d(2),
                             *block(64, 128), tn.MaxPool2d(2))
    ref = tn.Module()
    ref.features, ref.flatten, ref.dropout, ref.fc = features, tn.Flatten(), tn.Dropout(0.1), tn.Linear(128 * 9, 10)
    ref.forward = lambda x: ref.fc(ref.dropout(ref.flatten(ref.features(x))))
    model, _ = load_weights()
    ref.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    ref.eval()
    path = tmp_path / "mnist_torch.onnx"
    torch_export(ref, torch.zeros(1, 1, 28, 28), path)
    loaded = tg_onnx.load(path).eval()
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    with tg.no_grad():
        got = loaded(tg.Tensor(x)).numpy()
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5)


def test_torch_exported_op_mix(tmp_path):
    """Resize, padding modes, pooling options, norms and activations as torch's exporter writes them."""
    tn, tf = torch.nn, torch.nn.functional

    class Mix(tn.Module):
        def __init__(self):
            super().__init__()
            self.conv = tn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")
            self.up = tn.ConvTranspose2d(4, 4, 2, stride=2)
            self.norm = tn.GroupNorm(2, 4)
            self.ln = tn.LayerNorm(4)
            self.act = tn.Sequential(tn.Hardswish(), tn.LeakyReLU(0.1), tn.GELU(), tn.SiLU(), tn.ELU())

        def forward(self, x):
            y = self.act(self.norm(self.conv(x)))
            y = tf.interpolate(y, scale_factor=2, mode="nearest") + tf.interpolate(y, scale_factor=2, mode="bilinear")
            y = (tf.avg_pool2d(y, 3, 2, 1, ceil_mode=True, count_include_pad=False)
                 + tf.max_pool2d(y, 3, 2, 1, ceil_mode=True))
            y = self.up(tf.pad(y, (1, 0, 0, 1), mode="replicate"))
            y = self.ln(y.mean((2, 3)))
            return tf.log_softmax(y, dim=1) + torch.sigmoid(y).clamp(0.1, 0.9)

    torch.manual_seed(0)
    ref = Mix().eval()
    path = tmp_path / "mix.onnx"
    torch_export(ref, torch.randn(2, 3, 9, 10), path)
    loaded = tg_onnx.load(path)
    for n in (1, 3):
        x = torch.randn(n, 3, 9, 10)
        with torch.no_grad():
            expected = ref(x).numpy()
        with tg.no_grad():
            got = loaded(tg.Tensor(x.numpy())).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5, err_msg=f"batch {n}")
