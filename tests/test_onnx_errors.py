"""Clear errors of tinygrad_cnn.onnx: ops ONNX cannot express (naming the op and its module), bad example
inputs, bad paths and options, unreadable files and unsupported ONNX ops on load."""
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

import tinygrad_cnn as tg  # noqa: E402
import tinygrad_cnn.onnx as tg_onnx  # noqa: E402
from tinygrad_cnn import nn  # noqa: E402
from tinygrad_cnn.nn import functional as F  # noqa: E402
from tinygrad_cnn.onnx import OnnxExportError, OnnxLoadError  # noqa: E402

X = np.zeros((2, 3, 8, 8), dtype=np.float32)


class Unpool(nn.Module):
    def forward(self, x):
        y, idx = F.max_pool2d(x, 2, return_indices=True)
        return F.max_unpool2d(y, idx, 2)


class Net(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.inner = inner

    def forward(self, x):
        return self.inner(self.conv(x))


def test_unsupported_op_names_the_op_and_its_module(tmp_path):
    with pytest.raises(OnnxExportError, match=r"MaxUnpool2d \(from module 'inner' \(Unpool\)\)"):
        tg_onnx.export(Net(Unpool()), X, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("inner, message", [
    (nn.AdaptiveAvgPool2d((3, 5)), r"AdaptiveAvgPool \(from module 'inner' \(AdaptiveAvgPool2d\)\).*8x8 to 3x5"),
    (nn.BatchNorm2d(3, track_running_stats=False), r"BatchNorm2dFunction .*batch statistics"),
    (nn.Flatten(0), r"Reshape .*changes the batch dimension.*dynamic_batch=False"),
    (nn.Softmax(0), r"Softmax .*batch dimension"),
])
def test_inexpressible_uses(inner, message, tmp_path):
    with pytest.raises(OnnxExportError, match=message):
        tg_onnx.export(Net(inner), X, tmp_path / "m.onnx")


def test_a_custom_function_is_refused(tmp_path):
    class ReLU(tg.Function):  # the name of a built-in op, but not one
        @staticmethod
        def forward(ctx, x):
            return np.maximum(x, 0)

    model = Net(nn.Identity())
    model.inner.forward = lambda x: ReLU.apply(x)
    with pytest.raises(OnnxExportError, match=r"ReLU \(from module 'inner' \(Identity\)\).*custom Function"):
        tg_onnx.export(model, X, tmp_path / "m.onnx")


def test_a_condition_computed_from_the_input_is_refused(tmp_path):
    model = Net(nn.Identity())
    model.forward = lambda x: tg.where(x > 0, x, 0.1 * x)
    with pytest.raises(OnnxExportError, match="Where .*outside the graph"):
        tg_onnx.export(model, X, tmp_path / "m.onnx")


@pytest.mark.parametrize("example, message", [
    ("image", "must be a Tensor or an ndarray, got str"),
    (np.zeros((2, 3, 8, 8), dtype=np.int64), "must be floating point"),
    (np.zeros((0, 3, 8, 8), dtype=np.float32), "non-empty batch"),
    ((), "example_input is empty"),
    (np.zeros((2, 5, 8, 8), dtype=np.float32), r"failed on the example input of shape \(2, 5, 8, 8\).*Conv2d"),
])
def test_bad_example_input(example, message, tmp_path):
    with pytest.raises(OnnxExportError, match=message):
        tg_onnx.export(Net(nn.ReLU()), example, tmp_path / "m.onnx")


def test_export_leaves_model_and_input_alone_when_it_fails(tmp_path):
    model = Net(Unpool())
    model.train()
    x = tg.Tensor(X)
    with pytest.raises(OnnxExportError):
        tg_onnx.export(model, x, tmp_path / "m.onnx")
    assert model.training and model.inner.training and not x.requires_grad
    assert not model.conv._forward_hooks and not model.conv._forward_pre_hooks


def test_bad_paths_and_options(tmp_path):
    model = Net(nn.ReLU())
    with pytest.raises(OnnxExportError, match="is a directory"):
        tg_onnx.export(model, X, tmp_path)
    with pytest.raises(OnnxExportError, match="does not exist"):
        tg_onnx.export(model, X, tmp_path / "no" / "m.onnx")
    with pytest.raises(OnnxExportError, match="opset_version must be an int from 13"):
        tg_onnx.export(model, X, tmp_path / "m.onnx", opset_version=9)
    with pytest.raises(OnnxExportError, match="input_names must be 1 distinct"):
        tg_onnx.export(model, X, tmp_path / "m.onnx", input_names=["a", "b"])
    with pytest.raises(OnnxExportError, match="must be an nn.Module"):
        tg_onnx.export(lambda x: x, X, tmp_path / "m.onnx")
    target = tmp_path / "keep.onnx"
    target.write_bytes(b"old")
    with pytest.raises(OnnxExportError):
        tg_onnx.export(Net(Unpool()), X, target)
    assert target.read_bytes() == b"old", "a failed export touched the existing file"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.onnx"], "a temporary file was left behind"


def _model_with(op_type, domain=""):
    helper = onnx.helper
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 2])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 2])
    node = helper.make_node(op_type, ["x"], ["y"], name="the_node", domain=domain)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(helper.make_graph([node], "g", [x], [y]), opset_imports=opsets)


def test_load_unsupported_op_names_it_and_the_node(tmp_path):
    path = tmp_path / "det.onnx"
    onnx.save(_model_with("Det"), str(path))
    with pytest.raises(OnnxLoadError, match=r"unsupported ONNX op Det at node 'the_node' \(Det\)"):
        tg_onnx.load(path)
    with pytest.raises(OnnxLoadError, match="op Relu of domain 'com.example'"):
        tg_onnx.load(_model_with("Relu", "com.example"))


def test_load_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tg_onnx.load(tmp_path / "missing.onnx")
    with pytest.raises(OnnxLoadError, match="is a directory"):
        tg_onnx.load(tmp_path)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\x00 certainly not protobuf \x13\x37" * 10)
    with pytest.raises(OnnxLoadError, match="cannot read .*junk.onnx|holds no graph nodes"):
        tg_onnx.load(junk)


def test_load_runs_a_tiny_graph_and_checks_its_inputs():
    model = tg_onnx.load(_model_with("Relu"))
    x = np.array([[-1.0, 2.0], [3.0, -4.0]], dtype=np.float32)
    np.testing.assert_array_equal(model(x).numpy(), np.maximum(x, 0))
    with pytest.raises(ValueError, match="takes 1 input"):
        model(x, x)


def test_importing_the_package_does_not_import_onnx():
    code = "import sys, tinygrad_cnn, tinygrad_cnn.onnx; assert 'onnx' not in sys.modules, 'onnx was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_onnx_package_is_explained(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'tinygrad_cnn\[onnx\]'"):
        tg_onnx.export(Net(nn.ReLU()), X, tmp_path / "m.onnx")
    with pytest.raises(ImportError, match="needs the onnx package"):
        tg_onnx.load(tmp_path / "m.onnx")
