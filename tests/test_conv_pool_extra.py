"""conv_transpose2d, max/avg pooling with dilation / ceil_mode / indices, max_unpool2d and their
layers, without torch (interpolate, Conv2d's padding modes and the other new layers:
test_conv_pool_extra_nn.py).

Gradients: float64 gradchecks over hypothesis-drawn shapes and arguments. Forward values: the slow
references of tinygrad_cnn.testing (one output or input pixel at a time) and hand-computed cases.
Errors: type and message. Layers: reprs, parameter shapes, init bounds, state_dict keys.
"""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_cnn.nn.functional as F
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn.testing import (
    arrays,
    assert_gradcheck,
    reference_avg_pool2d,
    reference_conv_transpose2d,
    reference_max_pool2d,
    reference_pool_output_size,
    tensors,
)

# ----------------------------------------------------------------------------------------------
# strategies


@st.composite
def transpose_args(draw):
    groups = draw(st.integers(1, 2))
    cin, ocg = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    out = [(n - 1) * s - 2 * p + d * (k - 1) + o + 1
           for n, s, p, d, k, o in zip(size, stride, padding, dilation, kernel, output_padding)]
    assume(min(out) >= 1)
    n = draw(st.integers(1, 2))
    return {"x": (n, cin) + size, "w": (cin, ocg) + kernel, "b": draw(st.booleans()) and (ocg * groups,),
            "kwargs": {"stride": stride, "padding": padding, "output_padding": output_padding, "groups": groups,
                       "dilation": dilation}}


@st.composite
def pool_cases(draw, dilated=True, max_side=6, disjoint=False):
    """kernel, stride, padding, dilation, ceil_mode and an input shape valid for torch, every
    window holding at least one input element (``disjoint``: windows do not overlap, floor mode)."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if disjoint:
        stride = tuple(k + draw(st.integers(0, 1)) for k in kernel)
    else:
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilated else (1, 1)
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    ceil = draw(st.booleans()) and not disjoint
    size = (draw(st.integers(1, max_side)), draw(st.integers(1, max_side)))
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        out = reference_pool_output_size(n, k, s, p, d, ceil)
        assume(out >= 1)
        assume(all(any(0 <= o * s - p + i * d < n for i in range(k)) for o in range(out)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + size
    return shape, kernel, stride, padding, dilation, ceil


# ----------------------------------------------------------------------------------------------
# conv_transpose2d


@settings(max_examples=30)
@given(args=transpose_args(), data=st.data())
def test_conv_transpose2d_forward_and_gradcheck(args, data):
    x = data.draw(tensors(args["x"]), label="x")
    w = data.draw(tensors(args["w"]), label="w")
    b = data.draw(tensors(args["b"]), label="b") if args["b"] else None
    out = F.conv_transpose2d(x, w, b, **args["kwargs"])
    expected = reference_conv_transpose2d(x, w, b, **args["kwargs"])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    inputs = (x, w) if b is None else (x, w, b)
    assert_gradcheck(lambda *t: F.conv_transpose2d(*t, **args["kwargs"]), *inputs)


def test_conv_transpose2d_hand_case():
    # one input pixel per image: the output is the kernel, shifted by stride per pixel, summed
    x = Tensor(np.array([[[[1.0, 2.0]]]]), requires_grad=True)
    w = Tensor(np.array([[[[1.0, 10.0], [100.0, 1000.0]]]]), requires_grad=True)
    out = F.conv_transpose2d(x, w, stride=1)
    np.testing.assert_array_equal(out.numpy()[0, 0], [[1, 12, 20], [100, 1200, 2000]])
    out = F.conv_transpose2d(x, w, Tensor(np.array([0.5])), stride=2, padding=(0, 1), output_padding=(1, 0))
    # uncropped rows [1, 10, 2, 20] and [100, 1000, 200, 2000], cut by one column each side; then
    # the output_padding row, which only the bias reaches
    np.testing.assert_array_equal(out.numpy()[0, 0], [[10.5, 2.5], [1000.5, 200.5], [0.5, 0.5]])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[0, 0], [[2, 1], [2, 1]])  # column 0 survives for x[1], 1 for x[0]


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3))
    x = Tensor(rng.standard_normal((2, 3, 9, 8)), requires_grad=True)
    y = F.conv2d(x, Tensor(w), stride=2, padding=1, dilation=(1, 2))
    g = rng.standard_normal(y.shape)
    y.backward(Tensor(g))
    back = F.conv_transpose2d(Tensor(g), Tensor(w), stride=2, padding=1, dilation=(1, 2), output_padding=(0, 1))
    np.testing.assert_allclose(back.numpy(), x.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_conv_transpose2d_unbatched_empty_batch_and_float32():
    rng = np.random.default_rng(1)
    w = Tensor(rng.standard_normal((3, 2, 2, 2)).astype(np.float32))
    x = Tensor(rng.standard_normal((3, 4, 5)).astype(np.float32))
    out = F.conv_transpose2d(x, w, stride=2)
    assert out.shape == (2, 8, 10) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), F.conv_transpose2d(x.unsqueeze(0), w, stride=2).numpy()[0])
    empty = Tensor(np.zeros((0, 3, 4, 5), dtype=np.float32), requires_grad=True)
    out = F.conv_transpose2d(empty, w, Tensor(np.ones(2, dtype=np.float32)))
    assert out.shape == (0, 2, 5, 6)
    out.sum().backward()
    assert empty.grad.shape == (0, 3, 4, 5)


@pytest.mark.parametrize("call, error, message", [
    (lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=2), RuntimeError,
     "output padding must be smaller than either stride or dilation"),
    (lambda x, w: F.conv_transpose2d(x, Tensor(np.ones((4, 2, 3, 3)))), RuntimeError, "to have 4 channels"),
    (lambda x, w: F.conv_transpose2d(x, w, groups=2), RuntimeError, "divisible by 2 at dimension 0"),
    (lambda x, w: F.conv_transpose2d(x, w, Tensor(np.ones(3))), RuntimeError, "bias .* 2 elements"),
    (lambda x, w: F.conv_transpose2d(x, w, padding=-1), RuntimeError, "negative padding is not supported"),
    (lambda x, w: F.conv_transpose2d(x, w, padding=5), RuntimeError, "output size .* too small"),
    (lambda x, w: F.conv_transpose2d(x, w, stride=0), RuntimeError, "non-positive stride"),
    (lambda x, w: F.conv_transpose2d(x, w, dilation=0), RuntimeError, "dilation should be greater than zero"),
    (lambda x, w: F.conv_transpose2d(x, w, padding="same"), TypeError, "padding must be an int or a pair"),
    (lambda x, w: F.conv_transpose2d(x, w, stride=(1, 2, 3)), RuntimeError, "a list of 2 values"),
    (lambda x, w: F.conv_transpose2d(x[0, 0], w), RuntimeError, "expected 3D .* or 4D"),
    (lambda x, w: F.conv_transpose2d(x, w.float()), RuntimeError, "weight has dtype float32 but input has float64"),
    (lambda x, w: F.conv_transpose2d(Tensor(np.ones((1, 3, 5, 5), dtype=np.int64)), w), TypeError,
     "input must be floating point"),
    (lambda x, w: F.conv_transpose2d(x, w, groups=0), RuntimeError, "non-positive groups"),
])
def test_conv_transpose2d_errors(call, error, message):
    x, w = Tensor(np.ones((1, 3, 5, 5))), Tensor(np.ones((3, 2, 3, 3)))
    with pytest.raises(error, match=message):
        call(x, w)


def test_conv_transpose2d_layer():
    layer = nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1, groups=2, dilation=2)
    assert layer.weight.shape == (4, 3, 3, 2) and layer.bias.shape == (6,)
    assert list(layer.state_dict()) == ["weight", "bias"]
    bound = 1 / math.sqrt(3 * 3 * 2)  # fan_in of the (in, out/groups, kh, kw) weight: out/groups * kh * kw
    assert np.abs(layer.weight.numpy()).max() <= bound and np.abs(layer.bias.numpy()).max() <= bound
    assert np.abs(layer.weight.numpy()).max() > 0.8 * bound
    assert repr(layer) == ("ConvTranspose2d(4, 6, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), "
                           "dilation=(2, 2), output_padding=(1, 1), groups=2)")
    assert repr(nn.ConvTranspose2d(1, 2, 3, bias=False)) == ("ConvTranspose2d(1, 2, kernel_size=(3, 3), stride=(1, 1), "
                                                            "bias=False)")
    x = Tensor(np.ones((1, 4, 5, 5), dtype=np.float32))
    assert layer(x).shape == (1, 6, 12, 10)
    plain = nn.ConvTranspose2d(3, 2, 3, stride=2)
    y = Tensor(np.ones((1, 3, 5, 5), dtype=np.float32))
    assert plain(y, output_size=(12, 11)).shape == (1, 2, 12, 11)
    assert plain(y, output_size=[1, 2, 11, 12]).shape == (1, 2, 11, 12)
    assert plain(y[0], output_size=(2, 11, 12)).shape == (2, 11, 12)
    with pytest.raises(ValueError, match=r"valid sizes range from \[11, 11\] to \[12, 12\]"):
        plain(y, output_size=(13, 12))
    with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
        plain(y, output_size=(11,))
    with pytest.raises(ValueError, match='only "zeros" padding mode'):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="out_channels .* divisible by groups"):
        nn.ConvTranspose2d(4, 6, 3, groups=4)


# ----------------------------------------------------------------------------------------------
# max pooling


@settings(max_examples=40)
@given(case=pool_cases(), data=st.data())
def test_max_pool2d_general_forward_indices_and_gradcheck(case, data):
    shape, kernel, stride, padding, dilation, ceil = case
    x = data.draw(tensors(shape, unique=True), label="x")
    out, index = F.max_pool2d(x, kernel, stride, padding, dilation, ceil, return_indices=True)
    values, expected_index = reference_max_pool2d(x, kernel, stride, padding, dilation, ceil, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), values)
    np.testing.assert_array_equal(index.numpy(), expected_index)
    assert index.dtype == np.int64 and not index.requires_grad
    assert_gradcheck(lambda t: F.max_pool2d(t, kernel, stride, padding, dilation, ceil), x)


@settings(max_examples=25)
@given(case=pool_cases(), data=st.data())
def test_max_pool2d_ties_and_nan_follow_torchs_loop(case, data):
    shape, kernel, stride, padding, dilation, ceil = case
    x = data.draw(arrays(shape, low=-1, high=1).map(np.round), label="x")  # many ties
    if data.draw(st.booleans(), label="nan"):
        x.flat[data.draw(st.integers(0, x.size - 1), label="where")] = np.nan
    t = Tensor(x, requires_grad=True)
    out, index = F.max_pool2d(t, kernel, stride, padding, dilation, ceil, return_indices=True)
    values, expected_index = reference_max_pool2d(x, kernel, stride, padding, dilation, ceil, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), values)
    np.testing.assert_array_equal(index.numpy(), expected_index)
    g = np.arange(1.0, out.numel() + 1).reshape(out.shape)
    out.backward(Tensor(g))
    expected = np.zeros(x.shape)
    n, c = x.shape[:2]
    for a in range(n):
        for b in range(c):
            np.add.at(expected[a, b].reshape(-1), expected_index[a, b].reshape(-1), g[a, b].reshape(-1))
    np.testing.assert_array_equal(t.grad.numpy(), expected)  # the gradient goes where the index points


def test_max_pool2d_hand_cases():
    x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    out, index = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, return_indices=True)
    # ceil mode adds a third window, starting at 3 (inside the input) and clipped to one row/column
    np.testing.assert_array_equal(out.numpy()[0, 0], [[5, 7, 7], [13, 15, 15], [13, 15, 15]])
    np.testing.assert_array_equal(index.numpy()[0, 0], [[5, 7, 7], [13, 15, 15], [13, 15, 15]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[0, 0, 0, 0], [0, 1, 0, 2], [0, 0, 0, 0], [0, 2, 0, 4]])
    # a window that would start in the right padding is dropped: 5 rows, kernel 2, stride 2, padding 1
    assert F.max_pool2d(Tensor(np.ones((1, 1, 5, 5))), 2, stride=2, padding=1, ceil_mode=True).shape == (1, 1, 3, 3)
    out = F.max_pool2d(Tensor(np.arange(25.0).reshape(1, 1, 5, 5)), 2, ceil_mode=True)
    np.testing.assert_array_equal(out.numpy()[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    out = F.max_pool2d(Tensor(np.arange(25.0).reshape(1, 1, 5, 5)), 2, stride=1, dilation=3)
    np.testing.assert_array_equal(out.numpy()[0, 0], [[18, 19], [23, 24]])
    z = Tensor(np.zeros((1, 1, 4, 4)), requires_grad=True)
    out, index = F.max_pool2d(z, 3, stride=1, padding=1, return_indices=True)
    np.testing.assert_array_equal(index.numpy()[0, 0], [[0, 0, 1, 2], [0, 0, 1, 2], [4, 4, 5, 6], [8, 8, 9, 10]])
    inf = F.max_pool2d(Tensor(np.full((1, 1, 2, 2), -np.inf)), 2, stride=1, padding=1, return_indices=True)[1]
    np.testing.assert_array_equal(inf.numpy()[0, 0], [[0, 0, 1], [0, 0, 1], [2, 2, 3]])  # the first element, not a pad


def test_max_pool2d_unbatched_and_empty_batch():
    x = Tensor(np.arange(32.0).reshape(2, 4, 4))
    out, index = F.max_pool2d(x, 2, return_indices=True, ceil_mode=True)
    assert out.shape == index.shape == (2, 2, 2)
    empty = Tensor(np.zeros((0, 2, 5, 5)), requires_grad=True)
    out = F.max_pool2d(empty, 2, ceil_mode=True)
    assert out.shape == (0, 2, 3, 3)
    out.sum().backward()
    assert empty.grad.shape == (0, 2, 5, 5)


def test_common_cases_keep_the_fast_path_and_extreme_arguments_work():
    x = Tensor(np.arange(25.0).reshape(1, 1, 5, 5), requires_grad=True)
    assert repr(F.max_pool2d(x, 2).grad_fn) == "<MaxPool2dBackward>"
    assert repr(F.max_pool2d(x, 3, 2, ceil_mode=True).grad_fn) == "<MaxPool2dBackward>"  # same size as floor
    assert repr(F.avg_pool2d(x, 3, 1, 1, ceil_mode=True).grad_fn) == "<AvgPool2dBackward>"
    assert repr(F.max_pool2d(x, 2, ceil_mode=True).grad_fn) == "<MaxPool2dWithIndicesBackward>"
    assert repr(F.avg_pool2d(x, 2, ceil_mode=True).grad_fn) == "<AvgPool2dCeilBackward>"
    out, index = F.max_pool2d(x, 2, stride=10**30, ceil_mode=True, return_indices=True)  # one window
    assert out.shape == (1, 1, 1, 1) and index.item() == 6
    assert F.avg_pool2d(x, 2, stride=(10**30, 1), ceil_mode=True).shape == (1, 1, 1, 4)
    assert F.max_pool2d(x, 1, dilation=10**30).shape == (1, 1, 5, 5)
    # in ceil mode a kernel larger than the input still gives one (clipped) window, as in torch
    np.testing.assert_array_equal(F.max_pool2d(Tensor(np.ones((1, 1, 1, 3))), (2, 1), ceil_mode=True).numpy(), 1)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"kernel_size": 2, "padding": 2}, ValueError, "pad should be at most half of effective kernel size"),
    ({"kernel_size": 2, "padding": 2, "dilation": 3}, ValueError, "smaller than or equal to half of kernel size"),
    ({"kernel_size": 6}, ValueError, r"the kernel \(6 rows"),
    ({"kernel_size": 3, "dilation": 3}, ValueError, r"the kernel \(7 rows with dilation"),
    ({"kernel_size": 2, "dilation": 0}, ValueError, "dilation must be positive"),
    ({"kernel_size": 2, "ceil_mode": 1}, TypeError, "ceil_mode must be True or False"),
    ({"kernel_size": 2, "return_indices": 1}, TypeError, "return_indices must be True or False"),
    ({"kernel_size": (2, 2, 2)}, TypeError, "kernel_size must be an int or a pair"),
])
def test_max_pool2d_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        F.max_pool2d(Tensor(np.ones((1, 3, 5, 5))), **kwargs)


def test_max_pool2d_layer_all_options():
    layer = nn.MaxPool2d((2, 3), stride=1, padding=1, dilation=2, return_indices=True, ceil_mode=True)
    assert repr(layer) == "MaxPool2d(kernel_size=(2, 3), stride=1, padding=1, dilation=2, ceil_mode=True)"
    out, index = layer(Tensor(np.arange(50.0).reshape(1, 2, 5, 5)))
    assert out.shape == index.shape == (1, 2, 5, 3)
    with pytest.raises(TypeError, match="MaxPool2d: ceil_mode must be True or False"):
        nn.MaxPool2d(2, ceil_mode="yes")


# ----------------------------------------------------------------------------------------------
# average pooling


@settings(max_examples=40)
@given(case=pool_cases(dilated=False), count_include_pad=st.booleans(),
       divisor=st.one_of(st.none(), st.integers(1, 5)), data=st.data())
def test_avg_pool2d_ceil_mode_divisors_and_gradcheck(case, count_include_pad, divisor, data):
    shape, kernel, stride, padding, _, ceil = case
    x = data.draw(tensors(shape), label="x")
    run = lambda t: F.avg_pool2d(t, kernel, stride, padding, ceil, count_include_pad, divisor)  # noqa: E731
    expected = reference_avg_pool2d(x, kernel, stride, padding, ceil, count_include_pad, divisor)
    np.testing.assert_allclose(run(x).numpy(), expected, rtol=1e-12, atol=1e-14)
    assert_gradcheck(run, x)


def test_avg_pool2d_ceil_hand_cases():
    x = Tensor(np.ones((1, 1, 5, 5)))
    # last window covers one row/column of the input (and none of the bottom/right padding)
    np.testing.assert_allclose(F.avg_pool2d(x, 2, ceil_mode=True).numpy()[0, 0], [[1, 1, 1]] * 3)
    out = F.avg_pool2d(x, 2, ceil_mode=True, divisor_override=4).numpy()[0, 0]
    np.testing.assert_allclose(out, [[1, 1, 0.5], [1, 1, 0.5], [0.5, 0.5, 0.25]])
    # with padding 1: windows start at -1, 1, 3, 5; the last one, clipped to the right padding,
    # counts 2 columns in its divisor (1 of the input, 1 of padding) and sums 2 ones
    out = F.avg_pool2d(Tensor(np.ones((1, 1, 6, 6))), 3, stride=2, padding=1, ceil_mode=True).numpy()[0, 0, 0]
    np.testing.assert_allclose(out, [4 / 9, 6 / 9, 6 / 9, 2 / 6])
    out = F.avg_pool2d(Tensor(np.ones((1, 1, 6, 6))), 3, stride=2, padding=1, ceil_mode=True,
                       count_include_pad=False).numpy()[0, 0, 0]
    np.testing.assert_allclose(out, [1, 1, 1, 1])


def test_avg_pool2d_layer_all_options():
    layer = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False, divisor_override=None)
    assert repr(layer) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"
    assert layer(Tensor(np.ones((1, 1, 6, 6)))).shape == (1, 1, 4, 4)
    out = nn.AvgPool2d(2, divisor_override=3)(Tensor(np.ones((1, 1, 4, 4))))
    assert out.numpy()[0, 0, 0, 0] == pytest.approx(4 / 3)
    with pytest.raises(ValueError, match="divisor_override must be a positive integer"):
        nn.AvgPool2d(2, divisor_override=0)


# ----------------------------------------------------------------------------------------------
# max_unpool2d


@settings(max_examples=25)
@given(case=pool_cases(dilated=False, max_side=5, disjoint=True), data=st.data())
def test_max_unpool2d_inverts_max_pool2d_and_gradcheck(case, data):
    shape, kernel, stride, padding, _, _ = case  # disjoint windows: distinct indices
    x = data.draw(tensors(shape, unique=True), label="x")
    pooled, index = F.max_pool2d(x, kernel, stride, padding, return_indices=True)
    default = [(n - 1) * s - 2 * p + k for n, s, p, k in zip(pooled.shape[2:], stride, padding, kernel)]
    assume(min(default) >= 1 and index.numpy().max() < default[0] * default[1])
    out = F.max_unpool2d(pooled, index, kernel, stride, padding)
    expected = np.zeros(shape[:2] + tuple(default))
    flat = expected.reshape(shape[0], shape[1], -1)
    np.put_along_axis(flat, index.numpy().reshape(shape[0], shape[1], -1),
                      pooled.numpy().reshape(flat.shape[:2] + (-1,)), axis=2)
    np.testing.assert_array_equal(out.numpy(), expected)
    p = Tensor(pooled.numpy(), requires_grad=True)
    assert_gradcheck(lambda t: F.max_unpool2d(t, index, kernel, stride, padding), p)


def test_max_unpool2d_hand_case_output_size_and_errors():
    x = Tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    index = Tensor(np.array([[[[0, 3], [9, 14]]]], dtype=np.int64))
    out = F.max_unpool2d(x, index, 2, output_size=(4, 5))
    expected = np.zeros(20)
    expected[[0, 3, 9, 14]] = [1, 2, 3, 4]
    np.testing.assert_array_equal(out.numpy()[0, 0], expected.reshape(4, 5))
    assert F.max_unpool2d(x[0], index[0], 2).shape == (1, 4, 4)
    assert nn.MaxUnpool2d(2)(x, index, output_size=(1, 1, 4, 5)).shape == (1, 1, 4, 5)
    assert repr(nn.MaxUnpool2d(2)) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    with pytest.raises(ValueError, match=r'invalid output_size "\(6, 5\)" \(dim 0 must be between 2 and 6\)'):
        F.max_unpool2d(x, index, 2, output_size=(6, 5))
    with pytest.raises(ValueError, match="2 or 4 elements"):
        F.max_unpool2d(x, index, 2, output_size=(1, 4, 5))
    with pytest.raises(RuntimeError, match="invalid max index: 16"):
        F.max_unpool2d(x, Tensor(np.full((1, 1, 2, 2), 16, dtype=np.int64)), 2)
    with pytest.raises(RuntimeError, match="indices should be type int64"):
        F.max_unpool2d(x, Tensor(np.zeros((1, 1, 2, 2), dtype=np.int32)), 2)
    with pytest.raises(RuntimeError, match="same as that of the input"):
        F.max_unpool2d(x, Tensor(np.zeros((1, 1, 2, 3), dtype=np.int64)), 2)
