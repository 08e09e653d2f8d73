"""The depthwise conv path (ops/conv_depthwise.py: groups == in_channels, any channel multiplier).

Forward, dL/dx, dL/dw and dL/db against torch.nn.functional.conv2d on hypothesis-drawn geometries
(float64 and float32), against the slow loop reference and the general GEMM path, a float64
gradcheck, a case worked by hand, and bit-identical results on 1, 2 and 3 threads."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, parallel
from tinygrad_cnn.ops import _blocks, conv, conv_depthwise
from tinygrad_cnn.testing import assert_gradcheck, reference_conv2d

torch = pytest.importorskip("torch")
# torch warns that it pads a copy for padding="same" with an even kernel: nothing to do with us
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


@st.composite
def depthwise_args(draw, max_batch=2, max_channels=4, max_multiplier=3, max_kernel=4, max_stride=3, max_extra=4):
    """(input shape, weight shape, bias, conv2d kwargs) of a valid depthwise conv (groups = C >= 2)."""
    n, c = draw(st.integers(1, max_batch)), draw(st.integers(2, max_channels))
    m = draw(st.integers(1, max_multiplier))
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = draw(st.sampled_from([1, 2, (1, 2), (2, 1), (max_stride, 1), (2, max_stride)]))
    dilation = draw(st.sampled_from([1, 2, (1, 2), (2, 1)]))
    same = stride == 1 and draw(st.booleans())
    padding = "same" if same else draw(st.sampled_from([0, 1, 2, (0, 1), (2, 0), (1, 2), "valid"]))
    pads = (0, 0) if isinstance(padding, str) else np.broadcast_to(padding, 2)
    strides, dilations = np.broadcast_to(stride, 2), np.broadcast_to(dilation, 2)
    size = []
    for k, s, d, p in zip(kernel, strides, dilations, pads):
        smallest = 1 if same else max(1, d * (k - 1) + 1 - 2 * int(p))  # the padded input holds a kernel
        size.append(draw(st.integers(smallest, smallest + int(s) * max_extra)))
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": c}
    return (n, c, *size), (c * m, 1, *kernel), draw(st.booleans()), kwargs


def _inputs(seed, x_shape, w_shape, bias, dtype):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[0]))
    return [a.astype(dtype) for a in arrays]


def _out_shape(x_shape, w_shape, kwargs):
    return tuple(torch.nn.functional.conv2d(torch.zeros(x_shape), torch.zeros(w_shape), **kwargs).shape)


def _ours(arrays, kwargs, upstream):
    """Output, then the gradients of sum(out * upstream) w.r.t. every input."""
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = tensors[0].conv2d(*tensors[1:], **kwargs)
    out.backward(upstream)
    return [out.numpy()] + [t.grad.numpy() for t in tensors]


def _torch(arrays, kwargs, upstream):
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = torch.nn.functional.conv2d(*tensors[:2], tensors[2] if len(tensors) > 2 else None, **kwargs)
    out.backward(torch.tensor(upstream))
    return [out.detach().numpy()] + [t.grad.numpy() for t in tensors]


def _assert_close(ours, theirs, rtol, atol_scale):
    for name, a, b in zip(["out", "dx", "dw", "db"], ours, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype, name
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol_scale * max(1.0, np.abs(b).max()), err_msg=name)


@settings(max_examples=60)
@given(depthwise_args(), st.integers(0, 2**16))
def test_float64_matches_torch(args, seed):
    x_shape, w_shape, bias, kwargs = args
    arrays = _inputs(seed, x_shape, w_shape, bias, np.float64)
    upstream = np.random.default_rng(seed + 1).standard_normal(_out_shape(x_shape, w_shape, kwargs))
    _assert_close(_ours(arrays, kwargs, upstream), _torch(arrays, kwargs, upstream), 1e-10, 1e-12)


@settings(max_examples=25)
@given(depthwise_args(max_batch=3, max_channels=6, max_extra=6), st.integers(0, 2**16))
def test_float32_matches_torch_and_stays_float32(args, seed):
    x_shape, w_shape, bias, kwargs = args
    arrays = _inputs(seed, x_shape, w_shape, bias, np.float32)
    upstream = np.random.default_rng(seed + 1).standard_normal(_out_shape(x_shape, w_shape, kwargs)).astype(np.float32)
    ours = _ours(arrays, kwargs, upstream)
    assert all(a.dtype == np.float32 for a in ours)
    _assert_close(ours, _torch(arrays, kwargs, upstream), 1e-5, 1e-5)


@settings(max_examples=25)
@given(depthwise_args(max_batch=2, max_channels=3, max_multiplier=2, max_kernel=3, max_extra=2),
       st.integers(0, 2**16))
def test_gradcheck(args, seed):
    x_shape, w_shape, bias, kwargs = args
    tensors = [Tensor(a, requires_grad=True) for a in _inputs(seed, x_shape, w_shape, bias, np.float64)]
    assert_gradcheck(lambda *t: t[0].conv2d(*t[1:], **kwargs), *tensors)


def _dense(weight, channels):
    """The (OC, C, kh, kw) groups=1 weight equal to a depthwise one: zero off its channel."""
    oc = weight.shape[0]
    dense = np.zeros((oc, channels) + weight.shape[2:])
    dense[np.arange(oc), np.arange(oc) // (oc // channels)] = weight[:, 0]
    return dense


@settings(max_examples=25)
@given(depthwise_args(max_extra=3), st.integers(0, 2**16))
def test_matches_the_loop_reference_and_the_general_gemm_path(args, seed):
    """Forward against reference_conv2d; all gradients against the same conv written as a
    groups=1 conv with a block-diagonal weight (the im2col + GEMM path of conv.py)."""
    x_shape, w_shape, bias, kwargs = args
    arrays = _inputs(seed, x_shape, w_shape, bias, np.float64)
    out = Tensor(arrays[0]).conv2d(*(Tensor(a) for a in arrays[1:]), **kwargs).numpy()
    np.testing.assert_allclose(out, reference_conv2d(*arrays[:2], *arrays[2:], **kwargs), rtol=1e-10, atol=1e-10)

    upstream = np.random.default_rng(seed + 1).standard_normal(out.shape)
    ours = _ours(arrays, kwargs, upstream)
    dense = [arrays[0], _dense(arrays[1], x_shape[1])] + arrays[2:]
    general = _ours(dense, {**kwargs, "groups": 1}, upstream)
    oc = w_shape[0]
    general[2] = general[2][np.arange(oc), np.arange(oc) // (oc // x_shape[1])][:, None]  # dw: the diagonal
    _assert_close(ours, general, 1e-10, 1e-12)


def test_a_case_worked_by_hand():
    """Two channels, 3x3 images, 2x2 kernels, stride 1, no padding; loss = sum of the outputs."""
    x = Tensor(np.stack([np.arange(9.0).reshape(3, 3), np.ones((3, 3))])[None], requires_grad=True)
    w = Tensor(np.array([[[[1.0, 1.0], [1.0, 1.0]]], [[[1.0, 2.0], [3.0, 4.0]]]]), requires_grad=True)
    b = Tensor(np.array([0.0, 0.5]), requires_grad=True)
    out = x.conv2d(w, b, groups=2)
    # channel 0: sums of the 2x2 windows of 0..8; channel 1: 1 + 2 + 3 + 4 on ones, plus the bias
    np.testing.assert_array_equal(out.numpy(), [[[[8, 12], [20, 24]], [[10.5, 10.5], [10.5, 10.5]]]])
    out.sum().backward()
    # dL/dx: the sum of the taps that saw each pixel (how many windows, for the all-ones kernel)
    np.testing.assert_array_equal(x.grad.numpy(), [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]],
                                                    [[1, 3, 2], [4, 10, 6], [3, 7, 4]]]])
    # dL/dw[c, 0, i, j]: the sum of the pixels tap (i, j) saw, over the four windows
    np.testing.assert_array_equal(w.grad.numpy(), [[[[8, 12], [20, 24]]], [[[4, 4], [4, 4]]]])
    np.testing.assert_array_equal(b.grad.numpy(), [4, 4])


def test_a_multiplier_and_stride_worked_by_hand():
    """One input channel pair, multiplier 2, 1x1 kernel, stride 2, padding 1: output channel o
    is input channel o // 2 times w[o], sampled at the even pixels of the padded image."""
    x = np.arange(2 * 3 * 3, dtype=np.float64).reshape(1, 2, 3, 3)
    w = np.array([1.0, -1.0, 2.0, 0.5]).reshape(4, 1, 1, 1)
    out = Tensor(x).conv2d(Tensor(w), stride=2, padding=1, groups=2).numpy()
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))[:, :, ::2, ::2]  # pixels (0, 0), (0, 2), ...: 3x3 out
    np.testing.assert_array_equal(out, np.repeat(padded, 2, axis=1) * w.reshape(1, 4, 1, 1))
    assert out[0, 3, 1, 1] == 0.5 * x[0, 1, 1, 1]


def test_the_depthwise_path_is_the_one_taken(monkeypatch):
    calls = []
    forward = conv.depthwise_forward

    def counted(xs, weight, *rest):
        calls.append(weight.shape)
        return forward(xs, weight, *rest)

    monkeypatch.setattr(conv, "depthwise_forward", counted)
    x = Tensor(np.ones((1, 4, 5, 5)))
    x.conv2d(Tensor(np.ones((8, 1, 3, 3))), groups=4)     # depthwise, multiplier 2
    x.conv2d(Tensor(np.ones((4, 2, 3, 3))), groups=2)     # grouped, not depthwise
    x[:, :1].conv2d(Tensor(np.ones((3, 1, 3, 3))))        # one channel, groups = 1: the GEMM path
    assert calls == [(8, 1, 3, 3)]


def test_layout_dtype_and_partial_gradients():
    """NCHW and channels-last inputs give the same numbers; the output is an NCHW view of NHWC
    memory; float32 stays float32; only the gradients asked for are computed."""
    rng = np.random.default_rng(3)
    x_nhwc = rng.standard_normal((2, 6, 7, 3), dtype=np.float32)
    w = rng.standard_normal((3, 1, 3, 3), dtype=np.float32)
    a = Tensor(x_nhwc.transpose(0, 3, 1, 2)).conv2d(Tensor(w), padding=1, groups=3)
    b = Tensor(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))).conv2d(Tensor(w), padding=1, groups=3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.numpy().dtype == np.float32 and a.numpy().transpose(0, 2, 3, 1).flags.c_contiguous
    xt, wt = Tensor(x_nhwc.transpose(0, 3, 1, 2), requires_grad=True), Tensor(w)
    xt.conv2d(wt, padding=1, groups=3).sum().backward()
    assert wt.grad is None and xt.grad.dtype == np.float32
    xt, wt = Tensor(x_nhwc.transpose(0, 3, 1, 2)), Tensor(w, requires_grad=True)
    xt.conv2d(wt, padding=1, groups=3).sum().backward()
    assert xt.grad is None and wt.grad.dtype == np.float32


@pytest.mark.parametrize("n, rows", [(1, 37), (5, 6), (3, 1)])
def test_tiles_cover_every_row_once_whatever_the_thread_count(monkeypatch, n, rows):
    monkeypatch.setattr(conv_depthwise, "TILE_BYTES", 1000)
    seen = []
    for threads in (1, 2):
        tg.set_num_threads(threads)
        tiles = conv_depthwise.Tiles(n, rows, 300, np.float32, lambda b, r: b * r)
        covered = np.zeros((n, rows), dtype=int)
        for images, band in tiles.slices:
            covered[images, band] += 1
            assert images.stop - images.start <= tiles.max_images and band.stop - band.start <= tiles.max_rows
        assert (covered == 1).all()
        seen.append(tiles.slices)
    assert seen[0] == seen[1]


def _training_step(seed):
    """Depthwise convs (stride 1 and 2, multiplier 1 and 2, bias) of a batch-1 image cut into row
    bands and of a batch cut into groups of images: outputs and all gradients."""
    rng = np.random.default_rng(seed)
    results = []
    for x_shape, m, kwargs in [((1, 5, 23, 9), 1, {"padding": 1}), ((1, 4, 20, 11), 2, {"stride": 2, "padding": 2}),
                               ((7, 3, 8, 6), 1, {"stride": (2, 1), "dilation": 2, "padding": 1})]:
        c = x_shape[1]
        x = Tensor(rng.standard_normal(x_shape, dtype=np.float32), requires_grad=True)
        w = Tensor(rng.standard_normal((c * m, 1, 3, 3), dtype=np.float32), requires_grad=True)
        b = Tensor(rng.standard_normal(c * m, dtype=np.float32), requires_grad=True)
        out = x.conv2d(w, b, groups=c, **kwargs)
        out.backward(rng.standard_normal(out.shape, dtype=np.float32))
        results += [out.numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()]
    return results


def test_results_are_bit_identical_on_any_thread_count(monkeypatch):
    monkeypatch.setattr(conv_depthwise, "TILE_BYTES", 512)  # many tiles, bands of rows for the batch-1 images
    monkeypatch.setattr(_blocks, "PARALLEL_MIN_BYTES", 1)   # and shared out among the threads
    monkeypatch.setattr(parallel, "_break_even", (0, 0))
    before = tg.get_num_threads()
    try:
        tg.set_num_threads(1)
        serial = _training_step(0)
        tg.set_num_threads(2)
        two = _training_step(0)
        tg.set_num_threads(3)
        three = _training_step(0)
    finally:
        tg.set_num_threads(before)
    monkeypatch.setattr(conv_depthwise, "TILE_BYTES", 1 << 30)  # one tile: a different sum order, same values
    whole = _training_step(0)
    for a, b, c, d in zip(serial, two, three, whole):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
        np.testing.assert_allclose(a, d, rtol=1e-5, atol=1e-5)
