"""The short paths of small inputs (batch-1 inference) give the same bits as the general paths.

A small conv forward runs as one block without the scheduler, a small max pool too, small 2x2
pools and pools of more than 4 taps take the max by rows then columns, and im2col builds its
columns from one strided view; a conv's bias is added by runs of pixels, and the workers' products
go through np.dot. Each is compared here with the path it short-cuts: the same
NumPy arithmetic, so the results must be identical, not just close.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tg
import tinygrad_cnn.nn.functional as F
from tinygrad_cnn import nn, parallel
from tinygrad_cnn.ops import _blocks, conv, pool
from tinygrad_cnn.ops.layout import add_channel_vector


def _conv_case(n, c, oc, size, k, stride, pad, dil, groups, bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c * groups, size, size + 1), dtype=np.float32)
    w = rng.standard_normal((oc * groups, c, k, k), dtype=np.float32)
    b = rng.standard_normal(oc * groups, dtype=np.float32) if bias else None
    kw = dict(stride=stride, padding=pad, dilation=dil, groups=groups)
    return x, w, b, kw


def _conv(x, w, b, kw):
    return F.conv2d(tg.Tensor(x), tg.Tensor(w), None if b is None else tg.Tensor(b), **kw).numpy()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 6), oc=st.integers(1, 5), size=st.integers(5, 12),
       k=st.integers(1, 3), stride=st.integers(1, 2), pad=st.integers(0, 2), dil=st.integers(1, 2),
       groups=st.sampled_from([1, 1, 2]), bias=st.booleans(), seed=st.integers(0, 1000))
def test_small_conv_forward_is_the_blocked_forward_bit_for_bit(n, c, oc, size, k, stride, pad, dil, groups, bias,
                                                                 seed):
    x, w, b, kw = _conv_case(n, c, oc, size, k, stride, pad, dil, groups, bias, seed)
    if size + 2 * pad < dil * (k - 1) + 1:
        return
    assert _blocks.one_small_block(x.nbytes * k * k)  # this input takes the short path
    short = _conv(x, w, b, kw)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv, "one_small_block", lambda nbytes: False)  # the scheduler, with the one block
        blocked = _conv(x, w, b, kw)
    np.testing.assert_array_equal(short, blocked)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                                     None if b is None else torch.from_numpy(b), **kw).numpy()
    np.testing.assert_allclose(short, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("channels", [1, 3, 8])
def test_im2col_of_a_non_contiguous_input_matches_the_contiguous_one(channels):
    """The strided view is NumPy's ndarray constructor on contiguous memory, as_strided otherwise."""
    rng = np.random.default_rng(channels)
    wide = rng.standard_normal((2, 9, 14, channels), dtype=np.float32)
    xp = wide[:, :, 2:11]  # not contiguous
    assert not xp.flags.c_contiguous
    buf_a, buf_b = np.empty(2 * 7 * 7 * 9 * channels, np.float32), np.empty(2 * 7 * 7 * 9 * channels, np.float32)
    got = conv.im2col(xp, 3, 3, 7, 7, (1, 1), (1, 1), buf_a)
    want = conv.im2col(np.ascontiguousarray(xp), 3, 3, 7, 7, (1, 1), (1, 1), buf_b)
    np.testing.assert_array_equal(got, want)
    # each column is one window, channels last: compare with a direct slice
    rows = got.reshape(2, 7, 7, 3, 3, channels)
    np.testing.assert_array_equal(rows[1, 4, 2], xp[1, 4:7, 2:5])
    assert not conv._strided(np.ascontiguousarray(xp), (2,), (4,)).flags.writeable


def _every_tap(x, out_h, out_w, kernel, stride):
    """The window max by the definition: the largest of the kh*kw taps (NaN if any is NaN)."""
    out = np.full((x.shape[0], out_h, out_w, x.shape[3]), -np.inf, dtype=x.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            out = np.maximum(out, x[:, i:i + stride[0] * (out_h - 1) + 1:stride[0],
                                    j:j + stride[1] * (out_w - 1) + 1:stride[1]])
    return out


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 5), h=st.integers(3, 11), w=st.integers(3, 11),
       kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
       special=st.sampled_from([None, np.nan, -np.inf, np.inf]), seed=st.integers(0, 1000))
def test_max_by_rows_then_columns_is_the_max_over_every_tap(n, c, h, w, kh, kw, sh, sw, special, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    x[rng.random(x.shape) < 0.2] = 0.0  # ties
    if special is not None:
        x[rng.random(x.shape) < 0.1] = special
    out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
    want = _every_tap(x, out_h, out_w, (kh, kw), (sh, sw))
    separable = np.empty_like(want)
    pool._max_rows_then_columns(x, separable, (kh, kw), (sh, sw))
    np.testing.assert_array_equal(separable, want)  # NaN where NaN, the same values elsewhere
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pool, "SEPARABLE_MAX_SIZE", -1)  # kernels of up to 4 taps: every tap in turn
        chosen = np.empty_like(want)
        pool._max_windows(x, chosen, (kh, kw), (sh, sw))
    np.testing.assert_array_equal(chosen, want)


def test_small_max_pool_is_the_blocked_max_pool_and_matches_torch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 13, 12), dtype=np.float32)
    for kernel, stride in [(2, 2), (3, 2), (3, 1), ((2, 3), (1, 2))]:
        short = F.max_pool2d(tg.Tensor(x), kernel, stride).numpy()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_blocks, "COLS_BLOCK_BYTES", 256)  # blocks of one image on the scheduler
            patch.setattr(pool, "SEPARABLE_MAX_SIZE", -1)  # and 2x2 windows tap by tap
            blocked = F.max_pool2d(tg.Tensor(x), kernel, stride).numpy()
        np.testing.assert_array_equal(short, blocked)
        ref = torch.nn.functional.max_pool2d(torch.from_numpy(x), kernel, stride).numpy()
        np.testing.assert_array_equal(short, ref)


def test_a_batch_one_forward_matches_torch_and_records_nothing_under_no_grad():
    """The whole short path of a small net at batch 1: torch's numbers from torch's weights."""
    tg.manual_seed(0)
    layers = [nn.Conv2d(1, 8, 3, bias=False), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 6, 3, padding=1),
              nn.MaxPool2d(3, 2), nn.Flatten(), nn.Linear(6 * 6 * 6, 10)]
    ours = nn.Sequential(*layers).eval()
    ref = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, bias=False), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Conv2d(8, 6, 3, padding=1), torch.nn.MaxPool2d(3, 2), torch.nn.Flatten(),
                              torch.nn.Linear(216, 10)).eval()
    ref.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((1, 1, 28, 28), dtype=np.float32)
    with tg.no_grad():
        got = ours(tg.Tensor(x))
    assert got.grad_fn is None and not got.requires_grad
    with torch.no_grad():
        want = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    # and with grad on, the same numbers, recorded
    out = ours(tg.Tensor(x))
    assert out.grad_fn is not None
    np.testing.assert_array_equal(out.numpy(), got.numpy())


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_relu_keeps_nan_and_negative_zero_as_torch_does(layout):
    """ReLU's forward is np.clip(x, 0, inf) (faster than maximum against a scalar): torch's bits,
    -0.0 and NaN included, in either memory layout."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    x.flat[:6] = [-0.0, np.nan, -np.inf, np.inf, 0.0, -np.nan]
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    got = tg.Tensor(x).relu().numpy()
    want = torch.relu(torch.from_numpy(np.ascontiguousarray(x))).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    assert got.strides == x.strides  # the layout is kept


@pytest.mark.parametrize("shape", [(1, 64, 56, 56), (3, 5, 7, 11), (2, 960, 7, 7), (2, 3, 1, 1)])
def test_batch_norm_inference_is_one_multiply_add_per_value_in_either_layout(shape):
    """Eval-mode batch norm computes x * scale + shift (scale, shift folded per channel) on rows of a
    few pixels: the same float32 values as that formula, and torch's to rounding."""
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    bn = nn.BatchNorm2d(shape[1]).eval()
    for name, value in (("weight", 1.5), ("bias", -0.25)):
        getattr(bn, name).numpy()[...] = rng.standard_normal(shape[1]) * value
    bn.running_mean[...] = rng.standard_normal(shape[1]).astype(np.float32)
    bn.running_var[...] = rng.random(shape[1]).astype(np.float32) + 0.5
    scale = (bn.weight.numpy() / np.sqrt(bn.running_var.numpy() + np.float32(1e-5))).astype(np.float32)
    shift = (bn.bias.numpy() - bn.running_mean.numpy() * scale).astype(np.float32)
    want = x * scale[:, None, None] + shift[:, None, None]
    ref = torch.nn.BatchNorm2d(shape[1]).eval()
    ref.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in bn.state_dict().items()})
    for layout in (x, np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)):
        with tg.no_grad():
            got = bn(tg.Tensor(layout)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        with torch.no_grad():
            np.testing.assert_allclose(got, ref(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(0, 3000), c=st.integers(1, 70), contiguous=st.booleans(), seed=st.integers(0, 1000))
def test_adding_a_bias_by_runs_of_pixels_is_the_broadcast_add(m, c, contiguous, seed):
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((m, c + 1), dtype=np.float32)
    rows = np.ascontiguousarray(rows[:, :c]) if contiguous else rows[:, :c]  # a strided view when not
    vec = rng.standard_normal(c, dtype=np.float32)
    expected = rows + vec
    add_channel_vector(rows, vec)
    np.testing.assert_array_equal(rows, expected)


@pytest.mark.parametrize("shapes", [((9, 5000), (5000, 16)), ((300, 7), (7, 20)), ((5000,), (5000, 8))])
def test_the_workers_product_is_matmul_bit_for_bit(shapes):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shapes[0][::-1], dtype=np.float32).T  # a transposed view, as im2col's columns
    b = rng.standard_normal(shapes[1], dtype=np.float32)
    out = np.empty(np.matmul(a, b).shape, dtype=np.float32)
    np.testing.assert_array_equal(parallel.dot(a, b), np.matmul(a, b))
    assert parallel.dot(a, b, out=out) is out
    np.testing.assert_array_equal(out, np.matmul(a, b))
