"""interpolate and its layers, Conv2d's padding modes, the padding and adaptive pooling layers
(nn/conv_layers.py), without torch; the rest of that work is in test_conv_pool_extra.py.

Gradients: float64 gradchecks over hypothesis-drawn shapes and arguments. Forward values: a slow
reference written here (bilinear, one output element at a time) and hand-computed cases.
Errors: type and message. Layers: reprs, state_dict keys.
"""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_cnn.nn.functional as F
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn.testing import assert_gradcheck, tensors


def ref_bilinear_axis(size, out, align_corners):
    """(i0, i1, w0, w1) by torch's formula with the scale computed from the sizes, in float64."""
    taps = []
    for o in range(out):
        if align_corners:
            src = o * (size - 1) / (out - 1) if out > 1 else 0.0
        else:
            src = max((o + 0.5) * size / out - 0.5, 0.0)
        i0 = min(int(math.floor(src)), size - 1)
        lam = min(max(src - i0, 0.0), 1.0)
        taps.append((i0, i0 + (i0 < size - 1), 1 - lam, lam))
    return taps


def ref_bilinear(x, size, align_corners):
    rows, cols = ref_bilinear_axis(x.shape[2], size[0], align_corners), ref_bilinear_axis(x.shape[3], size[1],
                                                                                           align_corners)
    out = np.zeros(x.shape[:2] + tuple(size))
    for a, (r0, r1, u0, u1) in enumerate(rows):
        for b, (q0, q1, v0, v1) in enumerate(cols):
            out[:, :, a, b] = (u0 * (v0 * x[:, :, r0, q0] + v1 * x[:, :, r0, q1])
                               + u1 * (v0 * x[:, :, r1, q0] + v1 * x[:, :, r1, q1]))
    return out


# ----------------------------------------------------------------------------------------------
# interpolate


@settings(max_examples=30)
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 5), st.integers(1, 5)),
       size=st.tuples(st.integers(1, 7), st.integers(1, 7)), align_corners=st.booleans(), data=st.data())
def test_bilinear_forward_and_gradcheck(shape, size, align_corners, data):
    x = data.draw(tensors(shape), label="x")
    out = F.interpolate(x, size=size, mode="bilinear", align_corners=align_corners)
    np.testing.assert_allclose(out.numpy(), ref_bilinear(x.numpy(), size, align_corners), rtol=1e-12, atol=1e-12)
    assert_gradcheck(lambda t: F.interpolate(t, size=size, mode="bilinear", align_corners=align_corners), x)


@settings(max_examples=30)
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 5), st.integers(1, 5)),
       mode=st.sampled_from(["nearest", "nearest-exact", "bilinear", "area"]),
       scale=st.sampled_from([2, 3, 0.5, 1.5, (2, 1), (1.7, 2.5), (0.6, 3)]), data=st.data())
def test_interpolate_scale_factor_gradcheck(shape, mode, scale, data):
    scales = scale if isinstance(scale, tuple) else (scale, scale)
    assume(all(math.floor(n * s) >= 1 for n, s in zip(shape[2:], scales)))
    x = data.draw(tensors(shape), label="x")
    out = F.interpolate(x, scale_factor=scale, mode=mode)
    assert out.shape == shape[:2] + tuple(math.floor(n * s) for n, s in zip(shape[2:], scales))
    assert_gradcheck(lambda t: F.interpolate(t, scale_factor=scale, mode=mode), x)


def test_interpolate_hand_cases():
    x = Tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), requires_grad=True)
    np.testing.assert_array_equal(F.interpolate(x, scale_factor=2).numpy()[0, 0],
                                  [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    out = F.interpolate(x, scale_factor=2, mode="bilinear")
    np.testing.assert_allclose(out.numpy()[0, 0, 0], [1, 1.25, 1.75, 2])
    np.testing.assert_allclose(out.numpy()[0, 0, :, 0], [1, 1.5, 2.5, 3])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((1, 1, 2, 2), 4.0))  # every weight row sums to 1
    corners = F.interpolate(x, size=(3, 3), mode="bilinear", align_corners=True).numpy()[0, 0]
    np.testing.assert_allclose(corners, [[1, 1.5, 2], [2, 2.5, 3], [3, 3.5, 4]])
    line = Tensor(np.array([[[0.0, 10.0, 20.0]]]))
    np.testing.assert_allclose(F.interpolate(line, size=5, mode="linear", align_corners=True).numpy()[0, 0],
                               [0, 5, 10, 15, 20])
    np.testing.assert_array_equal(F.interpolate(line, size=2, mode="nearest").numpy()[0, 0], [0, 10])
    np.testing.assert_array_equal(F.interpolate(line, size=2, mode="nearest-exact").numpy()[0, 0], [0, 20])
    np.testing.assert_allclose(F.interpolate(Tensor(np.arange(4.0).reshape(1, 1, 2, 2)), size=1, mode="area").numpy(),
                               [[[[1.5]]]])


@pytest.mark.parametrize("kwargs, error, message", [
    ({}, ValueError, "either size or scale_factor should be defined"),
    ({"size": 3, "scale_factor": 2}, ValueError, "only one of size or scale_factor"),
    ({"size": (3,)}, ValueError, "same number of spatial dimensions"),
    ({"scale_factor": (2, 2, 2)}, ValueError, "same number of spatial dimensions"),
    ({"size": 3, "align_corners": True}, ValueError, "align_corners option can only be set"),
    ({"size": 3, "mode": "linear"}, NotImplementedError, "Got 4D input, but linear mode needs 3D input"),
    ({"size": 3, "mode": "bicubic"}, NotImplementedError, "bicubic"),
    ({"size": 3, "mode": "foo"}, NotImplementedError, "got foo"),
    ({"size": 3, "mode": "nearest", "antialias": True}, ValueError, "Anti-alias option is restricted"),
    ({"size": 3, "mode": "bilinear", "antialias": True}, NotImplementedError, "antialias=True is not supported"),
    ({"size": 3, "recompute_scale_factor": True}, ValueError, "recompute_scale_factor is not meaningful"),
    ({"scale_factor": 0.1}, RuntimeError, "sizes should be greater than 0"),
    ({"size": (2, 2.5)}, TypeError, "expected size"),
    ({"scale_factor": "a"}, TypeError, "scale_factor must be a finite number"),
    ({"size": 3, "mode": "bilinear", "align_corners": 1}, TypeError, "align_corners must be True, False or None"),
])
def test_interpolate_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        F.interpolate(Tensor(np.ones((1, 3, 5, 5))), **kwargs)


def test_upsample_layers():
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.Upsample(size=3, mode="bilinear", align_corners=True)) == "Upsample(size=3, mode='bilinear')"
    assert repr(nn.UpsamplingNearest2d(scale_factor=2)) == "UpsamplingNearest2d(scale_factor=2.0, mode='nearest')"
    assert repr(nn.UpsamplingBilinear2d(size=(2, 3))) == "UpsamplingBilinear2d(size=(2, 3), mode='bilinear')"
    x = Tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    np.testing.assert_allclose(nn.UpsamplingBilinear2d(size=(3, 3))(x).numpy()[0, 0, 1], [2, 2.5, 3])
    assert nn.Upsample(scale_factor=(2, 3))(x).shape == (1, 1, 4, 6)
    with pytest.warns(UserWarning, match="deprecated"):
        F.upsample(x, scale_factor=2)


# ----------------------------------------------------------------------------------------------
# Conv2d padding modes, padding and adaptive pooling layers


@settings(max_examples=20)
@given(mode=st.sampled_from(["reflect", "replicate", "circular", "zeros"]),
       padding=st.sampled_from([1, (0, 1), (2, 1), "same", "valid"]), kernel=st.sampled_from([1, 2, 3, (3, 2)]),
       stride=st.sampled_from([1, 2]), data=st.data())
def test_conv2d_padding_modes_pad_then_convolve(mode, padding, kernel, stride, data):
    assume(not (padding == "same" and stride != 1))
    layer = nn.Conv2d(2, 3, kernel, stride=stride, padding=padding, padding_mode=mode).double()
    x = data.draw(tensors((2, 2, 4, 5)), label="x")
    pads = layer._reversed_padding_repeated_twice
    padded = F.pad(x, pads, mode="constant" if mode == "zeros" else mode)
    expected = F.conv2d(padded, layer.weight, layer.bias, layer.stride, 0, layer.dilation)
    np.testing.assert_allclose(layer(x).numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)
    assert_gradcheck(lambda t: layer(t), x)
    assert list(layer.state_dict()) == ["weight", "bias"]


def test_conv2d_padding_mode_hand_case_repr_and_errors():
    layer = nn.Conv2d(1, 1, (1, 3), padding=(0, 1), padding_mode="circular", bias=False)
    layer.weight.data.numpy()[...] = [[[[1.0, 0.0, 0.0]]]]  # picks the left neighbour
    np.testing.assert_array_equal(layer(Tensor(np.array([[[[1.0, 2.0, 3.0]]]], dtype=np.float32))).numpy()[0, 0, 0],
                                  [3, 1, 2])
    assert repr(layer) == ("Conv2d(1, 1, kernel_size=(1, 3), stride=(1, 1), padding=(0, 1), bias=False, "
                           "padding_mode=circular)")
    same = nn.Conv2d(3, 2, (3, 4), padding="same", padding_mode="reflect", dilation=(1, 2))
    assert same._reversed_padding_repeated_twice == (3, 3, 1, 1)
    assert same(Tensor(np.ones((1, 3, 5, 5), dtype=np.float32))).shape == (1, 2, 5, 5)
    with pytest.raises(ValueError, match="padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular'"):
        nn.Conv2d(1, 1, 3, padding_mode="foo")
    with pytest.raises(ValueError, match="reflect padding must be less than the size"):
        nn.Conv2d(3, 2, 3, padding=5, padding_mode="reflect")(Tensor(np.ones((1, 3, 5, 5), dtype=np.float32)))


def test_padding_and_adaptive_layers():
    x = Tensor(np.arange(12.0).reshape(1, 1, 3, 4), requires_grad=True)
    cases = [(nn.ZeroPad2d(1), "ZeroPad2d((1, 1, 1, 1))", "constant"),
             (nn.ConstantPad2d((1, 2, 0, 1), 3.5), "ConstantPad2d(padding=(1, 2, 0, 1), value=3.5)", "constant"),
             (nn.ReflectionPad2d((2, 1, 1, 2)), "ReflectionPad2d((2, 1, 1, 2))", "reflect"),
             (nn.ReplicationPad2d(2), "ReplicationPad2d((2, 2, 2, 2))", "replicate"),
             (nn.CircularPad2d((1, 0, 2, 1)), "CircularPad2d((1, 0, 2, 1))", "circular")]
    for layer, text, mode in cases:
        assert repr(layer) == text
        value = getattr(layer, "value", None) if mode == "constant" else None
        np.testing.assert_array_equal(layer(x).numpy(), F.pad(x, layer.padding, mode, value).numpy())
    assert isinstance(nn.ZeroPad2d(1), nn.ConstantPad2d) and nn.ZeroPad2d(1).value == 0.0
    assert_gradcheck(lambda t: nn.ReflectionPad2d((2, 1, 1, 2))(t), x)
    with pytest.raises(ValueError, match="padding must be an int or 4 ints"):
        nn.ZeroPad2d((1, 2, 3))
    with pytest.raises(TypeError, match="padding must be an int or 4 ints"):
        nn.ZeroPad2d(1.5)
    assert repr(nn.AdaptiveAvgPool2d((3, None))) == "AdaptiveAvgPool2d(output_size=(3, None))"
    assert repr(nn.AdaptiveMaxPool2d(2, return_indices=True)) == "AdaptiveMaxPool2d(output_size=2)"
    np.testing.assert_array_equal(nn.AdaptiveAvgPool2d(1)(x).numpy(), [[[[5.5]]]])
    values, index = nn.AdaptiveMaxPool2d((1, 2), return_indices=True)(x)
    np.testing.assert_array_equal(values.numpy(), [[[[9, 11]]]])
    np.testing.assert_array_equal(index.numpy(), [[[[9, 11]]]])
