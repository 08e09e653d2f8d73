"""Winograd convolution (tinygrad_cnn/ops/conv_winograd.py) against the im2col path and torch.

The im2col reference is ``tinygrad_cnn.nn.functional.conv2d`` on the explicitly zero-padded input
(so any top/bottom/left/right padding can be drawn), its gradients from ``backward``. float64
agrees to ~1e-14 of the largest value; float32 to F32_TOL (measured worst against float64, 32-256
channels: F(2x2, 3x3) 6.6e-7, F(4x4, 3x3) 8.4e-6, F(2x2, 5x5) 1.2e-5, F(3x3, 5x5) 1.0e-5,
F(4x4, 5x5) 1.1e-5; the im2col path itself 6.0e-7).
"""
import importlib.util
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn import parallel
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops import conv
from tinygrad_cnn.ops import conv_winograd as cw

F64_TOL = 1e-10  # relative to the largest value of the reference
F32_TOL = 5e-5  # float32, relative to the largest value


def reference(x, w, g, pads):
    """y, dx, dw of the conv of NCHW x with (top, bottom, left, right) zero padding, by im2col."""
    top, bottom, left, right = pads
    xt = tg.Tensor(np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right))), requires_grad=True)
    wt = tg.Tensor(w, requires_grad=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv, "_winograd_tile", lambda *args: 0)  # conv2d's own dispatch would pick Winograd
        y = F.conv2d(xt, wt)
        y.backward(g)
    h, wd = x.shape[2:]
    dx = xt.grad.numpy()[:, :, top:top + h, left:left + wd]
    return y.numpy(), dx, wt.grad.numpy()


def winograd(x, w, g, pads, m, bias=None):
    """The same three results from conv_winograd, on NHWC memory."""
    xs = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    gs = np.ascontiguousarray(g.transpose(0, 2, 3, 1))
    y = cw.conv2d_nhwc(xs, w, pads, bias, m=m).transpose(0, 3, 1, 2)
    dx = cw.conv2d_input_grad_nhwc(gs, w, pads, x.shape[2:], m=m).transpose(0, 3, 1, 2)
    dw = cw.conv2d_weight_grad_nhwc(xs, gs, pads, w.shape[2], m=m)
    return y, dx, dw


def assert_close(got, want, tol, what):
    for name, a, b in zip(("y", "dx", "dw"), got, want):
        assert a.shape == b.shape, (what, name, a.shape, b.shape)
        assert a.dtype == b.dtype, (what, name, a.dtype, b.dtype)
        err = np.abs(a.astype(np.float64) - b).max() / max(np.abs(b).max(), 1e-30)
        assert err < tol, f"{what}: {name} relative error {err:.2e} >= {tol:.0e}"


@st.composite
def conv_shapes(draw):
    """Batch, channels, kernel 3 or 5, a supported tile, sizes not divisible by the tile, and
    any padding up to r + 1 on each side (beyond r - 1 the input gradient crops)."""
    r = draw(st.sampled_from([3, 5]))
    m = draw(st.sampled_from([m for m in (2, 3, 4) if m + r - 1 in cw.POINTS]))
    pads = tuple(draw(st.integers(0, r + 1)) for _ in range(4))
    h = draw(st.integers(max(1, r - pads[0] - pads[1]), r + 9))
    w = draw(st.integers(max(1, r - pads[2] - pads[3]), r + 9))
    n, c, oc = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return n, c, oc, h, w, r, m, pads


def draw_arrays(shape, dtype, seed):
    n, c, oc, h, w, r, _, pads = shape
    rng = np.random.default_rng(seed)
    out_h, out_w = h + pads[0] + pads[1] - r + 1, w + pads[2] + pads[3] - r + 1
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((oc, c, r, r)).astype(dtype)
    g = rng.standard_normal((n, oc, out_h, out_w)).astype(dtype)
    return x, wt, g


@settings(max_examples=40)
@given(conv_shapes(), st.integers(0, 2**16))
def test_float64_matches_im2col(shape, seed):
    x, w, g = draw_arrays(shape, np.float64, seed)
    pads, m = shape[7], shape[6]
    assert_close(winograd(x, w, g, pads, m), reference(x, w, g, pads), F64_TOL, shape)


@settings(max_examples=25)
@given(conv_shapes(), st.integers(0, 2**16))
def test_float32_matches_im2col(shape, seed):
    x, w, g = draw_arrays(shape, np.float32, seed)
    pads, m = shape[7], shape[6]
    want = reference(x.astype(np.float64), w.astype(np.float64), g.astype(np.float64), pads)
    got = winograd(x, w, g, pads, m)
    assert all(a.dtype == np.float32 for a in got)
    assert_close(got, [a.astype(np.float32) for a in want], F32_TOL, shape)


@pytest.mark.parametrize("n, c, oc, size, r, pad, m", [
    (4, 32, 32, 24, 5, 0, 4),  # lenet's 32->32 conv
    (4, 32, 32, 24, 5, 0, 2),
    (4, 32, 64, 10, 3, 0, 4),  # lenet's 32->64 conv
    (4, 64, 64, 8, 3, 0, 2),
    (2, 16, 32, 14, 3, 1, 4),  # mid's second conv
    (1, 64, 64, 30, 3, 1, 4),  # ResNet-like, padded, several tile-row blocks
])
def test_float32_reference_shapes(n, c, oc, size, r, pad, m, monkeypatch):
    monkeypatch.setattr(cw, "BLOCK_BYTES", 1 << 16)  # many blocks, some of them rows of one image
    x, w, g = draw_arrays((n, c, oc, size, size, r, m, (pad,) * 4), np.float32, 0)
    w = w / np.sqrt(c * r * r)
    want = reference(x.astype(np.float64), w.astype(np.float64), g.astype(np.float64), (pad,) * 4)
    assert_close(winograd(x, w, g, (pad,) * 4, m), [a.astype(np.float32) for a in want], F32_TOL, (n, c, r, m))


def test_bias_is_added_to_every_pixel():
    x, w, g = draw_arrays((2, 3, 4, 9, 7, 3, 4, (1, 0, 2, 1)), np.float64, 3)
    b = np.arange(4.0)
    y = winograd(x, w, g, (1, 0, 2, 1), 4, bias=b)[0]
    y0 = winograd(x, w, g, (1, 0, 2, 1), 4)[0]
    np.testing.assert_allclose(y - y0, np.broadcast_to(b[:, None, None], y.shape[1:])[None].repeat(2, 0), atol=1e-12)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    x, w, g = draw_arrays((2, 6, 5, 13, 11, 5, 4, (2, 1, 0, 3)), np.float64, 7)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    y = torch.nn.functional.conv2d(torch.nn.functional.pad(xt, (0, 3, 2, 1)), wt)
    y.backward(torch.tensor(g))
    want = [a.detach().numpy() for a in (y, xt.grad, wt.grad)]
    assert_close(winograd(x, w, g, (2, 1, 0, 3), 4), want, F64_TOL, "torch")


def test_weight_gradient_is_the_same_on_any_thread_count(monkeypatch):
    monkeypatch.setattr(cw, "BLOCK_BYTES", 1 << 15)
    monkeypatch.setattr(parallel, "_break_even", (0, 0))  # shared out, whatever this machine's costs
    x, w, g = draw_arrays((16, 32, 32, 12, 12, 3, 4, (1, 1, 1, 1)), np.float32, 5)
    before = tg.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            tg.set_num_threads(threads)
            results.append(winograd(x, w, g, (1, 1, 1, 1), 4))
    finally:
        tg.set_num_threads(before)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("m, r", [(2, 3), (4, 3), (2, 5), (3, 5), (4, 5)])
def test_transform_matrices_compute_a_1d_correlation(m, r):
    at, g, bt = cw.transform_matrices(m, r)
    assert at.shape == (m, m + r - 1) and g.shape == (m + r - 1, r) and bt.shape == (m + r - 1,) * 2
    assert np.array_equal(bt, np.round(bt))  # B^T scaled to integers
    eye_d, eye_g = np.eye(m + r - 1), np.eye(r)
    # y[i] = sum_k g[k] d[i + k] for every basis pair (d = e_l, g = e_k): 1 exactly when l = i + k
    t = np.einsum("ia,ak,al->ikl", at, g @ eye_g, bt @ eye_d)
    want = np.zeros_like(t)
    for i in range(m):
        for k in range(r):
            want[i, k, i + k] = 1
    np.testing.assert_allclose(t, want, atol=1e-12)


def test_selection_rule():
    wins = cw.winograd_wins
    assert wins(128, 32, 32, 24, 24, 5)  # lenet's 32->32 5x5 conv, every pass
    assert wins(128, 32, 32, 24, 24, 5, which="input_grad") and wins(32, 32, 32, 24, 24, 5, which="weight_grad")
    assert not wins(128, 1, 32, 28, 28, 5)  # one input channel: the transforms cost more than they save
    assert not wins(1, 512, 512, 7, 7, 3, padding=1)  # ResNet-18's last stage: the kernel transform dominates
    assert not wins(128, 32, 32, 24, 24, 5, stride=2)
    assert not wins(128, 32, 32, 24, 24, 5, dilation=2)
    assert not wins(128, 32, 32, 24, 24, 5, groups=2)
    assert not wins(128, 32, 32, 24, 24, 7)
    assert not wins(128, 32, 32, 24, 24, (5, 3))
    for args in [(128, 32, 32, 24, 24, 5), (1, 64, 64, 56, 56, 3, "forward", 1), (32, 16, 32, 14, 14, 3)]:
        assert isinstance(wins(*args), bool)
        assert cw.winograd_tile(*args) in (0, 2, 3, 4)
    with pytest.raises(ValueError):
        wins(128, 32, 32, 24, 24, 5, which="backward")


def test_benchmark_prints_a_row_per_shape(capsys):
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "bench_winograd.py")
    spec = importlib.util.spec_from_file_location("bench_winograd", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--rounds", "1", "--only", "lenet conv4"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| lenet conv4")]
    assert len(rows) == 2 and all("F2:" in row and "F4:" in row for row in rows)


def test_conv2d_dispatches_by_the_rule_and_matches_torch():
    """F.conv2d runs lenet's 32 -> 32 5x5 conv by Winograd in all three passes (the rule) and still
    gives torch's numbers to float32 tolerance; a 1-channel conv stays on im2col."""
    import torch

    assert conv._winograd_tile(8, 32, 32, 24, 24, (5, 5), "forward", (0,) * 4, (1, 1), (1, 1), 1, np.float32)
    assert not conv._winograd_tile(8, 1, 32, 28, 28, (5, 5), "forward", (0,) * 4, (1, 1), (1, 1), 1, np.float32)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((8, 32, 24, 24), dtype=np.float32), rng.standard_normal((32, 32, 5, 5), dtype=np.float32)
    xt, wt = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
    F.conv2d(xt, wt).square().sum().backward()
    tx, tw = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
    torch.nn.functional.conv2d(tx, tw).square().sum().backward()
    for ours, theirs in ((xt.grad.numpy(), tx.grad.numpy()), (wt.grad.numpy(), tw.grad.numpy())):
        assert np.abs(ours - theirs).max() <= F32_TOL * np.abs(theirs).max()
