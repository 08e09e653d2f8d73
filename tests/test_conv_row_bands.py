"""The forward of a conv of a few large images runs in bands of output rows (ops/conv.py
_forward_row_bands): the same numbers as torch, whatever the bands and the thread count."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tg
import tinygrad_cnn.nn.functional as F
from tinygrad_cnn import parallel
from tinygrad_cnn.ops import conv


@pytest.fixture
def small_bands(monkeypatch):
    """Bands of a few rows even on small test images."""
    monkeypatch.setattr(conv, "COLS_BLOCK_BYTES", 2048)


def _run(x, w, b, **kw):
    calls = []
    original = conv._forward_row_bands

    def spy(*args):
        calls.append(True)
        return original(*args)

    conv._forward_row_bands = spy
    try:
        got = F.conv2d(tg.Tensor(x), tg.Tensor(w), None if b is None else tg.Tensor(b), **kw).numpy()
    finally:
        conv._forward_row_bands = original
    return got, bool(calls)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 6), oc=st.integers(1, 5), size=st.integers(6, 15),
       k=st.integers(1, 4), stride=st.integers(1, 3), pad=st.integers(0, 2), dil=st.integers(1, 2),
       bias=st.booleans(), seed=st.integers(0, 1000))
def test_row_bands_match_torch(n, c, oc, size, k, stride, pad, dil, bias, seed):
    if dil * (k - 1) + 1 > size + 2 * pad:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, size, size))
    w = rng.standard_normal((oc, c, k, k))
    b = rng.standard_normal(oc) if bias else None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv, "COLS_BLOCK_BYTES", 2048)  # bands of a few rows even on these small images
        got, banded = _run(x, w, b, stride=stride, padding=pad, dilation=dil)
    want = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), None if b is None else
                                      torch.from_numpy(b), stride=stride, padding=pad, dilation=dil).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    out_h = (size + 2 * pad - dil * (k - 1) - 1) // stride + 1
    assert banded == (out_h > 1 and out_h * out_h * k * k * c * 8 >= 2048)  # columns of at least a block


def test_a_big_batch_one_image_uses_bands_and_both_threads_agree(monkeypatch):
    monkeypatch.setattr(parallel, "_break_even", (0, 0))  # the bands shared out, whatever this machine's costs
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 224, 224), dtype=np.float32)  # ResNet's stem: 7x7, stride 2 (no Winograd)
    w = rng.standard_normal((64, 3, 7, 7), dtype=np.float32)
    before = tg.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            tg.set_num_threads(threads)
            got, banded = _run(x, w, None, padding=3, stride=2)
            assert banded
            results.append(got)
    finally:
        tg.set_num_threads(before)
    np.testing.assert_array_equal(results[0], results[1])
    want = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=3, stride=2).numpy()
    np.testing.assert_allclose(results[0], want, rtol=1e-4, atol=1e-4)
    assert results[0].dtype == np.float32


def test_gradients_after_a_banded_forward(small_bands):
    rng = np.random.default_rng(1)
    x = tg.Tensor(rng.standard_normal((2, 3, 9, 9)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    F.conv2d(x, w, padding=1, stride=2).sum().backward()
    tx = torch.from_numpy(x.numpy()).requires_grad_()
    tw = torch.from_numpy(w.numpy()).requires_grad_()
    torch.nn.functional.conv2d(tx, tw, padding=1, stride=2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-10)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 6), size=st.integers(2, 5), k=st.integers(1, 3),
       stride=st.integers(1, 2), pad=st.integers(0, 1), dil=st.integers(1, 2), bias=st.booleans(),
       seed=st.integers(0, 1000))
def test_deep_layer_forward_keeps_the_weight_as_is_and_matches_torch(n, c, size, k, stride, pad, dil, bias, seed):
    """Fewer output pixels than channels (ResNet's 7x7 stage at batch 1): the weight (OC, C*kh*kw)
    times transposed columns; the same numbers as torch, and its gradients too."""
    if dil * (k - 1) + 1 > size + 2 * pad:
        return
    out_size = (size + 2 * pad - dil * (k - 1) - 1) // stride + 1
    oc = n * out_size * out_size + 3  # more output channels than output pixels
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((n, c, size, size)), rng.standard_normal((oc, c, k, k))
    b = rng.standard_normal(oc) if bias else None
    xt, wt = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
    got = F.conv2d(xt, wt, None if b is None else tg.Tensor(b), stride=stride, padding=pad, dilation=dil)
    got.square().sum().backward()
    tx, tw = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
    want = torch.nn.functional.conv2d(tx, tw, None if b is None else torch.from_numpy(b), stride=stride,
                                      padding=pad, dilation=dil)
    want.square().sum().backward()
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(wt.grad.numpy(), tw.grad.numpy(), rtol=1e-9, atol=1e-9)
