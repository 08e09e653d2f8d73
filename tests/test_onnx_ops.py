"""Every exported op on its own: a small model per case, exported, run in onnxruntime at batch 1 and 3
and compared with this framework's eval output, then loaded back with ``tinygrad_cnn.onnx.load``."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import tinygrad_cnn as tg  # noqa: E402
import tinygrad_cnn.onnx as tg_onnx  # noqa: E402
from tinygrad_cnn import nn  # noqa: E402
from tinygrad_cnn.nn import functional as F  # noqa: E402


class Fn(nn.Module):
    """``fn(x, *layers)`` as a model."""

    def __init__(self, fn, *layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.fn = fn

    def forward(self, x):
        return self.fn(x, *self.layers)


class Scaled(nn.Module):
    """A per-channel Parameter broadcast against the input, and a constant."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(tg.Tensor(np.linspace(0.5, 2.0, 4, dtype=np.float32).reshape(4, 1, 1)))

    def forward(self, x):
        return x * self.scale - 0.25 / self.scale


def _layer(layer):
    return Fn(lambda x, m: m(x), layer)


IMAGE = (4, 8, 9)
_MASK = tg.Tensor(np.arange(8 * 9).reshape(1, 1, 8, 9) % 3 == 0)  # a fixed mask (not from the input)
CASES = {
    "conv_groups_dilation": (lambda: _layer(nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2)), IMAGE),
    "conv_same": (lambda: _layer(nn.Conv2d(4, 3, 4, padding="same")), IMAGE),
    "conv_reflect": (lambda: _layer(nn.Conv2d(4, 3, 3, padding=1, padding_mode="reflect")), IMAGE),
    "conv_replicate": (lambda: _layer(nn.Conv2d(4, 3, 3, padding=2, padding_mode="replicate")), IMAGE),
    "conv_circular": (lambda: _layer(nn.Conv2d(4, 3, 3, padding=1, padding_mode="circular")), IMAGE),
    "conv_transpose": (lambda: _layer(nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)),
                       IMAGE),
    "conv_transpose_dilation": (lambda: _layer(nn.ConvTranspose2d(4, 2, 2, stride=3, dilation=2)), IMAGE),
    "max_pool_pad": (lambda: _layer(nn.MaxPool2d(3, 2, padding=1)), IMAGE),
    "max_pool_ceil": (lambda: _layer(nn.MaxPool2d(3, 2, ceil_mode=True)), IMAGE),
    "max_pool_dilation": (lambda: _layer(nn.MaxPool2d(2, 1, padding=1, dilation=2, ceil_mode=True)), IMAGE),
    "avg_pool_pad": (lambda: _layer(nn.AvgPool2d(3, 2, padding=1)), IMAGE),
    "avg_pool_exclude_pad": (lambda: _layer(nn.AvgPool2d(3, 2, padding=1, count_include_pad=False)), IMAGE),
    "avg_pool_ceil": (lambda: _layer(nn.AvgPool2d(3, 2, padding=1, ceil_mode=True)), IMAGE),
    "avg_pool_ceil_exclude": (lambda: _layer(nn.AvgPool2d(2, 3, ceil_mode=True, count_include_pad=False)), IMAGE),
    "avg_pool_divisor": (lambda: _layer(nn.AvgPool2d(2, divisor_override=3)), IMAGE),
    "adaptive_avg_1": (lambda: _layer(nn.AdaptiveAvgPool2d(1)), IMAGE),
    "adaptive_avg_divides": (lambda: _layer(nn.AdaptiveAvgPool2d((4, 3))), IMAGE),
    "adaptive_max_1": (lambda: _layer(nn.AdaptiveMaxPool2d((1, 1))), IMAGE),
    "batch_norm": (lambda: _layer(nn.BatchNorm2d(4)), IMAGE),
    "batch_norm_no_affine": (lambda: _layer(nn.BatchNorm2d(4, affine=False)), IMAGE),
    "layer_norm": (lambda: _layer(nn.LayerNorm([8, 9])), IMAGE),
    "group_norm": (lambda: _layer(nn.GroupNorm(2, 4)), IMAGE),
    "instance_norm": (lambda: _layer(nn.InstanceNorm2d(4, affine=True)), IMAGE),
    "linear_gemm": (lambda: _layer(nn.Linear(9, 5)), (9,)),
    "linear_matmul_3d": (lambda: _layer(nn.Linear(9, 5)), (4, 9)),
    "matmul": (lambda: Fn(lambda x: x @ x.transpose(1, 2)), (3, 4)),
    "broadcast_parameter": (Scaled, IMAGE),
    "arithmetic": (lambda: Fn(lambda x: (x * 2 + 1) / 3 - x ** 2 + (x.abs() + 1).log() - (-x).exp()), IMAGE),
    "sqrt_clamp": (lambda: Fn(lambda x: x.clamp(min=0.1).sqrt() + x.clamp(max=0.5) + x.clamp(-0.2, 0.3)), IMAGE),
    "maximum_where": (lambda: Fn(lambda x: x.maximum(x * 0.5) + x.minimum(-x) + tg.where(_MASK, x, 0.1 * x)), IMAGE),
    "reductions": (lambda: Fn(lambda x: x.sum((2, 3)) + x.mean(1, keepdim=True).amax((2, 3)) + x.amax(3).sum(2)),
                   IMAGE),
    "shapes": (lambda: Fn(lambda x: tg.cat([x.flatten(1), x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)], 1)), IMAGE),
    "indexing": (lambda: Fn(lambda x: x[:, 1:3, ::2, -4:] * x[:, 0:1, 1:8:2, :4] + x[:, 2, None, :4, 2:6]), IMAGE),
    "pad_constant": (lambda: Fn(lambda x: F.pad(x, (1, 2, 0, 3), value=-1.5)), IMAGE),
    "pad_reflect": (lambda: Fn(lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect")), IMAGE),
    "softmax": (lambda: Fn(lambda x: F.softmax(x, dim=1) + F.log_softmax(x, dim=-1)), IMAGE),
    "dropout_eval": (lambda: Fn(lambda x, d: d(x) + F.dropout(x, 0.5, training=False), nn.Dropout(0.5)), IMAGE),
    "upsample_nearest": (lambda: _layer(nn.Upsample(scale_factor=2)), IMAGE),
    "interpolate_nearest_size": (lambda: Fn(lambda x: F.interpolate(x, size=(5, 13))), IMAGE),
    "interpolate_nearest_exact": (lambda: Fn(lambda x: F.interpolate(x, scale_factor=1.5, mode="nearest-exact")),
                                  IMAGE),
    "interpolate_bilinear": (lambda: Fn(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear")), IMAGE),
    "interpolate_bilinear_size": (lambda: Fn(lambda x: F.interpolate(x, size=(11, 5), mode="bilinear")), IMAGE),
    "interpolate_align_corners": (lambda: Fn(lambda x: F.interpolate(x, size=(12, 7), mode="bilinear",
                                                                     align_corners=True)), IMAGE),
}
for _act in [nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.GELU("tanh"), nn.SiLU(),
             nn.Hardswish(), nn.Hardsigmoid(), nn.ELU(0.7), nn.SELU(), nn.CELU(0.5), nn.Softplus(beta=2.0),
             nn.Mish(), nn.Softsign(), nn.LogSigmoid(), nn.Tanhshrink(), nn.Hardtanh(-2.0, 2.0)]:
    CASES[f"act_{type(_act).__name__}_{len(CASES)}"] = ((lambda a=_act: _layer(a)), IMAGE)


def _session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _eval(model, x):
    model.eval()
    with tg.no_grad():
        return model(tg.Tensor(x)).numpy()


def _randomize(model, rng):
    for key, buf in model.named_buffers():
        if key.endswith("running_mean"):
            buf._data[...] = rng.standard_normal(buf.shape)
        elif key.endswith("running_var"):
            buf._data[...] = rng.uniform(0.5, 2.0, buf.shape)


def export_and_compare(model, shape, path, opset=tg_onnx.DEFAULT_OPSET):
    rng = np.random.default_rng(0)
    _randomize(model, rng)
    tg_onnx.export(model, rng.standard_normal((2,) + shape).astype(np.float32), path, opset_version=opset)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    sess, loaded = _session(path), tg_onnx.load(path)
    worst = 0.0
    for n in (1, 3):
        x = (rng.standard_normal((n,) + shape) * 2).astype(np.float32)
        expected = _eval(model, x)
        got = sess.run(None, {"input": x})[0]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5, err_msg=f"onnxruntime, batch {n}")
        np.testing.assert_allclose(_eval(loaded, x), expected, rtol=1e-4, atol=2e-5, err_msg=f"load, batch {n}")
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


@pytest.mark.parametrize("case", CASES)
def test_op_exports_runs_and_loads(case, tmp_path):
    build, shape = CASES[case]
    tg.manual_seed(0)
    export_and_compare(build(), shape, tmp_path / "op.onnx")


@pytest.mark.parametrize("opset", [13, 18, 20])
def test_other_opsets(opset, tmp_path):
    """The opset-dependent forms: reductions' axes (attribute or input), HardSwish, GELU, Mish."""
    tg.manual_seed(0)
    model = Fn(lambda x, a, b, c: a(x).amax((2, 3)) + b(x).mean((2, 3)) + c(x).sum(1).amax((1, 2))[:, None],
               nn.Hardswish(), nn.GELU(), nn.Mish())
    export_and_compare(model, IMAGE, tmp_path / "op.onnx", opset=opset)


def test_static_batch_export(tmp_path):
    """dynamic_batch=False: fixed shapes, so a reshape may merge the batch."""
    model = Fn(lambda x: x.reshape(-1).softmax(0))
    path = tmp_path / "static.onnx"
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    proto = tg_onnx.export(model, x, path, dynamic_batch=False, input_names=["x"], output_names=["probs"])
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2
    got = _session(path).run(["probs"], {"x": x})[0]
    np.testing.assert_allclose(got, _eval(model, x), rtol=1e-6, atol=1e-7)


def test_several_inputs_and_outputs(tmp_path):
    class Two(nn.Module):
        def forward(self, a, b):
            return a + b, a * b

    a, b = (np.random.default_rng(i).standard_normal((2, 3)).astype(np.float32) for i in (0, 1))
    path = tmp_path / "two.onnx"
    tg_onnx.export(Two(), (a, b), path)
    s, p = _session(path).run(None, {"input0": a, "input1": b})
    np.testing.assert_allclose(s, a + b, rtol=1e-6)
    np.testing.assert_allclose(p, a * b, rtol=1e-6)
    loaded = tg_onnx.load(path)
    out = loaded(tg.Tensor(a), tg.Tensor(b))
    assert isinstance(out, tuple) and np.allclose(out[1].numpy(), a * b)


def test_frozen_model_exports_with_named_weights(tmp_path):
    """requires_grad_(False) weights: still initializers under their keys (Linear as one Gemm), and
    the flags stay as they were."""
    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(4, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 7, 3)).requires_grad_(False)
    proto = tg_onnx.export(model, np.zeros((1,) + IMAGE, dtype=np.float32), tmp_path / "frozen.onnx")
    assert [n.op_type for n in proto.graph.node] == ["Conv", "Reshape", "Gemm"]
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= {t.name for t in proto.graph.initializer}
    assert not any(p.requires_grad for p in model.parameters())
    export_and_compare(model, IMAGE, tmp_path / "frozen.onnx")
