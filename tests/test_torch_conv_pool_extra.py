"""conv_transpose2d, general max/avg pooling, max_unpool2d, interpolate, Conv2d padding modes and the
layers of nn/conv_layers.py against PyTorch (skipped without torch).

Values, input / weight / bias gradients of sum(out * g) for a random g, dtypes, shapes, the int64
indices of max pooling (ties and NaN included), reprs, state_dict keys, and error types.
"""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st

import tinygrad_cnn.nn.functional as F  # noqa: E402
from tinygrad_cnn import Tensor, nn  # noqa: E402
from tinygrad_cnn.ops.interpolate import nearest_index  # noqa: E402
from tinygrad_cnn.testing import arrays  # noqa: E402

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-5)}
DTYPES = st.sampled_from([np.float64, np.float32])


def channels_last(a):
    """The same values as an NCHW view of NHWC memory (the layout inside our conv nets)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def compare(ours, theirs, arrays_, dtype, grads=True, seed=0):
    """Run ours on Tensors and theirs on torch tensors of the same arrays; compare the outputs and
    the gradients of sum(out * g) of every input."""
    mine = [Tensor(a, requires_grad=True) for a in arrays_]
    ref = [torch.tensor(np.ascontiguousarray(a), requires_grad=True) for a in arrays_]
    out, expected = ours(*mine), theirs(*ref)
    assert out.shape == tuple(expected.shape) and out.dtype == dtype
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **TOL[dtype])
    if not grads or not out.numel():
        return
    g = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
    out.backward(Tensor(g))
    expected.backward(torch.from_numpy(g))
    for m, r in zip(mine, ref):
        assert m.grad.dtype == dtype
        np.testing.assert_allclose(m.grad.numpy(), r.grad.numpy(), **TOL[dtype])


# ----------------------------------------------------------------------------------------------
# conv_transpose2d


@st.composite
def transpose_cases(draw):
    groups = draw(st.integers(1, 3))
    cin, ocg = groups * draw(st.integers(1, 3)), draw(st.integers(1, 4))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    assume(all((n - 1) * s - 2 * p + d * (k - 1) + o + 1 >= 1
               for n, s, p, d, k, o in zip(size, stride, padding, dilation, kernel, output_padding)))
    shapes = [(draw(st.integers(1, 3)), cin) + size, (cin, ocg) + kernel]
    if draw(st.booleans()):
        shapes.append((ocg * groups,))
    return shapes, dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups,
                        dilation=dilation)


@settings(max_examples=40)
@given(case=transpose_cases(), dtype=DTYPES, layout=st.booleans(), data=st.data())
def test_conv_transpose2d_matches_torch(case, dtype, layout, data):
    shapes, kwargs = case
    values = [data.draw(arrays(s, dtype=dtype), label=f"input {i}") for i, s in enumerate(shapes)]
    if layout:
        values[0] = channels_last(values[0])
    compare(lambda *t: F.conv_transpose2d(*t, **kwargs), lambda *t: TF.conv_transpose2d(*t, **kwargs), values, dtype)


def test_conv_transpose2d_unbatched_and_empty_batch_match_torch():
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(2)
    for x in (rng.standard_normal((3, 4, 5)), np.zeros((0, 3, 4, 5))):
        compare(lambda *t: F.conv_transpose2d(*t, stride=2, padding=1, output_padding=1),
                lambda *t: TF.conv_transpose2d(*t, stride=2, padding=1, output_padding=1), [x, w, b], np.float64)


def test_conv_transpose2d_layer_matches_torch():
    for args in [(4, 6, (3, 2)), (4, 6, 3)]:
        for kwargs in [{}, dict(stride=2, padding=1, output_padding=1, groups=2, dilation=2, bias=False),
                       dict(stride=(2, 3), padding=(0, 1), dilation=(1, 2))]:
            ours, theirs = nn.ConvTranspose2d(*args, **kwargs), torch.nn.ConvTranspose2d(*args, **kwargs)
            assert repr(ours) == repr(theirs)
            assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
                   [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
            theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
            x = np.random.default_rng(1).standard_normal((2, 4, 5, 6)).astype(np.float32)
            compare(lambda t: ours(t), lambda t: theirs(t), [x], np.float32)
    ours, theirs = nn.ConvTranspose2d(3, 2, 3, stride=2), torch.nn.ConvTranspose2d(3, 2, 3, stride=2)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((1, 3, 5, 5)).astype(np.float32)
    for size in [(12, 11), (11, 12), [1, 2, 12, 12]]:
        compare(lambda t: ours(t, output_size=size), lambda t: theirs(t, output_size=size), [x], np.float32)
    for bad in [(13, 12), (10, 11)]:
        with pytest.raises(ValueError):
            theirs(torch.from_numpy(x), output_size=bad)
        with pytest.raises(ValueError, match="valid sizes range"):
            ours(Tensor(x), output_size=bad)


def test_conv_transpose2d_init_matches_torchs_fan():
    for args, kwargs in [((3, 64, (3, 2)), {}), ((8, 64, 3), {"groups": 4})]:
        ours, theirs = nn.ConvTranspose2d(*args, **kwargs), torch.nn.ConvTranspose2d(*args, **kwargs)
        fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(theirs.weight)  # of the transposed layout
        bound = 1 / math.sqrt(fan_in)
        for name in ("weight", "bias"):
            values = np.abs(getattr(ours, name).numpy())
            assert 0.5 * bound < values.max() <= bound, name  # U(-bound, bound): 64+ draws reach past bound / 2


@pytest.mark.parametrize("kwargs", [dict(stride=2, output_padding=2), dict(padding=-1), dict(padding=5),
                                    dict(stride=0), dict(dilation=0), dict(groups=0), dict(groups=2),
                                    dict(stride=(1, 2, 3)), dict(output_padding=-1), dict(weight_dtype=np.float32)])
def test_conv_transpose2d_errors_have_torchs_type(kwargs):
    kwargs = dict(kwargs)
    x, w = np.ones((1, 3, 5, 5)), np.ones((3, 2, 3, 3), dtype=kwargs.pop("weight_dtype", np.float64))
    with pytest.raises(Exception) as theirs:
        TF.conv_transpose2d(torch.tensor(x), torch.tensor(w), **kwargs)
    with pytest.raises(theirs.type):
        F.conv_transpose2d(Tensor(x), Tensor(w), **kwargs)


# ----------------------------------------------------------------------------------------------
# max / avg pooling


@st.composite
def pool_cases(draw, dilated=True):
    """Arguments valid for torch whose every window holds an input element (torch's max pooling
    kernel writes out of bounds otherwise)."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilated else (1, 1)
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    ceil = draw(st.booleans())
    size = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
        out -= ceil and (out - 1) * s >= n + p
        assume(out >= 1 and all(any(0 <= o * s - p + i * d < n for i in range(k)) for o in range(out)))
    return (draw(st.integers(0, 3)), draw(st.integers(1, 3))) + size, kernel, stride, padding, dilation, ceil


@settings(max_examples=60)
@given(case=pool_cases(), dtype=DTYPES, layout=st.booleans(), ties=st.booleans(), data=st.data())
def test_max_pool2d_values_indices_and_gradients_match_torch(case, dtype, layout, ties, data):
    shape, kernel, stride, padding, dilation, ceil = case
    x = data.draw(arrays(shape, dtype=dtype), label="x")
    if ties:  # few distinct values, and sometimes a NaN
        x = np.round(x)
        if x.size and data.draw(st.booleans(), label="nan"):
            x.flat[data.draw(st.integers(0, x.size - 1), label="where")] = np.nan
    x = channels_last(x) if layout else x
    args = (kernel, stride, padding, dilation, ceil)
    compare(lambda t: F.max_pool2d(t, *args), lambda t: TF.max_pool2d(t, *args), [x], dtype)
    out, index = F.max_pool2d(Tensor(x), *args, return_indices=True)
    expected, expected_index = TF.max_pool2d(torch.tensor(np.ascontiguousarray(x)), *args, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    np.testing.assert_array_equal(index.numpy(), expected_index.numpy())
    assert index.dtype == np.int64


@settings(max_examples=60)
@given(case=pool_cases(dilated=False), dtype=DTYPES, count_include_pad=st.booleans(),
       divisor=st.one_of(st.none(), st.integers(1, 7)), layout=st.booleans(), data=st.data())
def test_avg_pool2d_all_options_match_torch(case, dtype, count_include_pad, divisor, layout, data):
    shape, kernel, stride, padding, _, ceil = case
    x = data.draw(arrays(shape, dtype=dtype), label="x")
    x = channels_last(x) if layout else x
    args = (kernel, stride, padding, ceil, count_include_pad, divisor)
    compare(lambda t: F.avg_pool2d(t, *args), lambda t: TF.avg_pool2d(t, *args), [x], dtype)


def test_avg_pool2d_ceil_mode_many_sizes_match_torch():
    rng = np.random.default_rng(3)
    for size in range(1, 14):
        for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 3, 1), (4, 3, 2), (2, 3, 1), (5, 4, 2)]:
            if size + 2 * p < k and (size + 2 * p - k + s - 1) // s + 1 < 1:
                continue
            x = rng.standard_normal((1, 2, size, size + 1))
            for cip in (True, False):
                try:
                    TF.avg_pool2d(torch.tensor(x), k, s, p, True, cip)
                except RuntimeError:
                    continue
                compare(lambda t: F.avg_pool2d(t, k, s, p, True, cip), lambda t: TF.avg_pool2d(t, k, s, p, True, cip),
                        [x], np.float64)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2, padding=2), dict(kernel_size=2, padding=1, dilation=3),
                                    dict(kernel_size=2, padding=2, dilation=3), dict(kernel_size=6),
                                    dict(kernel_size=3, dilation=3), dict(kernel_size=2, ceil_mode=True, padding=2)])
def test_pool_errors_have_torchs_type(kwargs):
    x = np.ones((1, 3, 5, 5))
    for ours, theirs in ((F.max_pool2d, TF.max_pool2d), (F.avg_pool2d, TF.avg_pool2d)):
        if "dilation" in kwargs and ours is F.avg_pool2d:
            continue
        try:
            theirs(torch.tensor(x), **kwargs)
        except Exception as err:  # noqa: BLE001 - the type is what is compared
            with pytest.raises(type(err)):
                ours(Tensor(x), **kwargs)
        else:
            assert ours(Tensor(x), **kwargs).shape == theirs(torch.tensor(x), **kwargs).shape


@pytest.mark.parametrize("layer_args", [(2,), ((2, 3), 1, 1), (3, 2, 1, 2, True, True), (2, None, 0, 1, False, True)])
def test_max_pool2d_layer_matches_torch(layer_args):
    ours, theirs = nn.MaxPool2d(*layer_args), torch.nn.MaxPool2d(*layer_args)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(4).standard_normal((2, 3, 9, 8)).astype(np.float32)
    out, expected = ours(Tensor(x)), theirs(torch.from_numpy(x))
    if isinstance(expected, tuple):
        np.testing.assert_array_equal(out[0].numpy(), expected[0].numpy())
        np.testing.assert_array_equal(out[1].numpy(), expected[1].numpy())
    else:
        np.testing.assert_array_equal(out.numpy(), expected.numpy())


@pytest.mark.parametrize("layer_args", [(2,), ((2, 3), 1, 1), (3, 2, 1, True, False), (3, 2, 1, True, True, 2)])
def test_avg_pool2d_layer_matches_torch(layer_args):
    ours, theirs = nn.AvgPool2d(*layer_args), torch.nn.AvgPool2d(*layer_args)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(5).standard_normal((2, 3, 9, 8))
    compare(lambda t: ours(t), lambda t: theirs(t), [x], np.float64)


# ----------------------------------------------------------------------------------------------
# max_unpool2d


@settings(max_examples=30)
@given(case=pool_cases(dilated=False), extra=st.tuples(st.integers(-3, 3), st.integers(-3, 3)), data=st.data())
def test_max_unpool2d_matches_torch(case, extra, data):
    shape, kernel, stride, padding, _, _ = case
    assume(shape[0] > 0)
    x = data.draw(arrays(shape), label="x")
    try:
        pooled, index = TF.max_pool2d(torch.tensor(x), kernel, stride, padding, return_indices=True)
    except RuntimeError:  # a pooling with an empty output, which torch refuses: nothing to unpool
        assume(False)
    default = [(n - 1) * s - 2 * p + k for n, s, p, k in zip(pooled.shape[2:], stride, padding, kernel)]
    size = tuple(d + max(-s + 1, min(s - 1, e)) for d, s, e in zip(default, stride, extra))
    assume(min(size) >= 1 and index.max().item() < size[0] * size[1])
    ours_index = Tensor(index.numpy())
    compare(lambda t: F.max_unpool2d(t, ours_index, kernel, stride, padding, size),
            lambda t: TF.max_unpool2d(t, index, kernel, stride, padding, size), [pooled.numpy()], np.float64)
    layer, theirs = nn.MaxUnpool2d(kernel, stride, padding), torch.nn.MaxUnpool2d(kernel, stride, padding)
    assert repr(layer) == repr(theirs)


def test_max_unpool2d_errors_have_torchs_type():
    x, index = np.ones((1, 1, 2, 2)), np.zeros((1, 1, 2, 2), dtype=np.int64)
    cases = [(dict(output_size=(6, 5)), index), (dict(output_size=(1, 5, 5)), index), ({}, index + 16),
             ({}, index.astype(np.int32)), ({}, np.zeros((1, 1, 2, 3), dtype=np.int64))]
    for kwargs, idx in cases:
        with pytest.raises(Exception) as theirs:
            TF.max_unpool2d(torch.tensor(x), torch.tensor(idx), 2, **kwargs)
        with pytest.raises(theirs.type):
            F.max_unpool2d(Tensor(x), Tensor(idx), 2, **kwargs)


# ----------------------------------------------------------------------------------------------
# interpolate


@st.composite
def interpolate_cases(draw):
    dims = draw(st.sampled_from([1, 2]))
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "area", "linear" if dims == 1 else "bilinear"]))
    spatial = tuple(draw(st.integers(1, 9)) for _ in range(dims))
    kwargs = {"mode": mode}
    if mode in ("linear", "bilinear"):
        kwargs["align_corners"] = draw(st.booleans())
    if draw(st.booleans()):
        scale = st.one_of(st.sampled_from([2.0, 3, 0.5, 1.5, 1 / 3, 2.0000001, 0.7, 2.3, 1.0]),
                          st.floats(0.3, 4.0))
        scales = tuple(draw(scale) for _ in spatial)
        assume(all(math.floor(n * s) >= 1 for n, s in zip(spatial, scales)))
        kwargs["scale_factor"] = scales if dims == 1 or draw(st.booleans()) or len(set(scales)) > 1 else scales[0]
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, True, False]))
    else:
        sizes = tuple(draw(st.integers(1, 13)) for _ in spatial)
        kwargs["size"] = sizes if dims == 1 or len(set(sizes)) > 1 or draw(st.booleans()) else sizes[0]
    return (draw(st.integers(0, 3)), draw(st.integers(1, 3))) + spatial, kwargs


@settings(max_examples=80)
@given(case=interpolate_cases(), dtype=DTYPES, data=st.data())
def test_interpolate_matches_torch(case, dtype, data):
    shape, kwargs = case
    x = data.draw(arrays(shape, dtype=dtype), label="x")
    if len(shape) == 4 and data.draw(st.booleans(), label="channels_last"):
        x = channels_last(x)
    # torch's 1-D 'nearest' backward takes out == 2*in as an exact halving where its forward uses
    # 1/scale_factor; ours is the adjoint of the forward: compare values only there
    scale = kwargs.get("scale_factor")
    grads = True
    if len(shape) == 3 and kwargs["mode"] == "nearest" and scale is not None and not kwargs["recompute_scale_factor"]:
        out = math.floor(shape[2] * scale[0])
        grads = np.array_equal(nearest_index(shape[2], out, scale[0], False, True),
                               nearest_index(shape[2], out, scale[0], False, False))
    compare(lambda t: F.interpolate(t, **kwargs), lambda t: TF.interpolate(t, **kwargs), [x], dtype, grads=grads)


def test_interpolate_benchmark_shapes_match_torch():
    x = np.random.default_rng(6).standard_normal((4, 3, 16, 15)).astype(np.float32)
    for kwargs in [dict(scale_factor=2, mode="bilinear"), dict(scale_factor=2), dict(size=(31, 7), mode="bilinear"),
                   dict(scale_factor=3, mode="bilinear", align_corners=True), dict(scale_factor=0.5, mode="area")]:
        compare(lambda t: F.interpolate(t, **kwargs), lambda t: TF.interpolate(t, **kwargs), [x, ], np.float32)
        compare(lambda t: F.interpolate(t, **kwargs), lambda t: TF.interpolate(t, **kwargs), [channels_last(x)],
                np.float32)


@pytest.mark.parametrize("kwargs", [{}, dict(size=3, scale_factor=2), dict(size=(3,)), dict(scale_factor=(2, 2, 2)),
                                    dict(size=3, align_corners=True), dict(size=3, mode="linear"),
                                    dict(size=3, mode="foo"), dict(size=3, mode="nearest", antialias=True),
                                    dict(size=3, recompute_scale_factor=True), dict(scale_factor=0.1),
                                    dict(size=(2, 2.5))])
def test_interpolate_errors_have_torchs_type(kwargs):
    x = np.ones((1, 3, 5, 5))
    with pytest.raises(Exception) as theirs:
        TF.interpolate(torch.tensor(x), **kwargs)
    with pytest.raises(theirs.type):
        F.interpolate(Tensor(x), **kwargs)


def test_upsample_layers_match_torch():
    x = np.random.default_rng(7).standard_normal((2, 2, 4, 5))
    for name, kwargs in [("Upsample", dict(scale_factor=2)), ("Upsample", dict(size=(3, 7), mode="bilinear")),
                         ("Upsample", dict(scale_factor=(1.5, 2), mode="bilinear", align_corners=True)),
                         ("Upsample", dict(scale_factor=2.5, mode="nearest-exact", recompute_scale_factor=True)),
                         ("UpsamplingNearest2d", dict(scale_factor=3)), ("UpsamplingBilinear2d", dict(size=(6, 2)))]:
        ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
        assert repr(ours) == repr(theirs)
        compare(lambda t: ours(t), lambda t: theirs(t), [x], np.float64)


# ----------------------------------------------------------------------------------------------
# Conv2d padding modes, padding and adaptive pooling layers


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("kwargs", [dict(padding=1), dict(padding=(2, 1), stride=2), dict(padding="same"),
                                    dict(padding="same", kernel_size=(3, 4), dilation=(1, 2)), dict(padding="valid"),
                                    dict(padding=(0, 2), groups=2, bias=False)])
def test_conv2d_padding_modes_match_torch(mode, kwargs):
    kwargs = dict(kwargs)
    kernel = kwargs.pop("kernel_size", 3)
    ours = nn.Conv2d(4, 6, kernel, padding_mode=mode, **kwargs).double()
    theirs = torch.nn.Conv2d(4, 6, kernel, padding_mode=mode, **kwargs).double()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(8).standard_normal((2, 4, 6, 7))
    mine = Tensor(x, requires_grad=True)
    ref = torch.tensor(x, requires_grad=True)
    out, expected = ours(mine), theirs(ref)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(9).standard_normal(out.shape)
    out.backward(Tensor(g))
    expected.backward(torch.from_numpy(g))
    np.testing.assert_allclose(mine.grad.numpy(), ref.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, args", [("ZeroPad2d", (2,)), ("ZeroPad2d", ((1, 2, 0, 3),)),
                                        ("ConstantPad2d", ((1, 0, 2, 1), 3.5)), ("ConstantPad2d", (1, -2)),
                                        ("ReflectionPad2d", ((2, 1, 0, 3),)), ("ReplicationPad2d", (3,)),
                                        ("CircularPad2d", ((1, 2, 2, 0),)), ("AdaptiveAvgPool2d", ((3, None),)),
                                        ("AdaptiveAvgPool2d", (2,)), ("AdaptiveMaxPool2d", ((2, 3),)),
                                        ("AdaptiveMaxPool2d", (3, True))])
def test_padding_and_adaptive_layers_match_torch(name, args):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(10).standard_normal((2, 3, 5, 4))
    if name == "AdaptiveMaxPool2d" and len(args) > 1:  # (values, indices)
        out, index = ours(Tensor(x))
        expected, expected_index = theirs(torch.tensor(x))
        np.testing.assert_array_equal(out.numpy(), expected.numpy())
        np.testing.assert_array_equal(index.numpy(), expected_index.numpy())
        return
    compare(lambda t: ours(t), lambda t: theirs(t), [x], np.float64)
    compare(lambda t: ours(t), lambda t: theirs(t), [x[0]], np.float64)  # unbatched
