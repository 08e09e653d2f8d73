"""Tests for the CNN ops: conv2d, max_pool2d, avg_pool2d, softmax, log_softmax, cross_entropy.

Gradients: float64 gradchecks over hypothesis-drawn geometries. Forward values: the slow loop
references of tinygrad_cnn.testing (one output pixel at a time; cross entropy's is written here) on
random inputs, plus the worked numbers of the issue (the Sobel filter, the MNIST shapes,
uniform-logit cross entropy)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_cnn import Tensor
from tinygrad_cnn.testing import (
    arrays,
    assert_gradcheck,
    conv_args,
    pool_args,
    reference_avg_pool2d,
    reference_conv2d,
    reference_max_pool2d,
    shapes,
    tensors,
)

# ----------------------------------------------------------------------------------------------
# a slow, obviously-correct reference (conv and pooling: reference_* of tinygrad_cnn.testing)


def cross_entropy_reference(logits, target, reduction="mean", label_smoothing=0.0):
    n, c = logits.shape
    losses = np.zeros(n)
    for i in range(n):
        z = logits[i] - logits[i].max()
        logp = z - np.log(np.sum(np.exp(z)))
        q = np.full(c, label_smoothing / c)
        q[target[i]] += 1.0 - label_smoothing
        losses[i] = -np.sum(q * logp)
    return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]


def make_conv_inputs(args, data, requires_grad=True):
    x = data.draw(tensors(args.input_shape, requires_grad=requires_grad), label="x")
    w = data.draw(tensors(args.weight_shape, requires_grad=requires_grad), label="weight")
    b = data.draw(tensors(args.bias_shape, requires_grad=requires_grad), label="bias") if args.bias else None
    return x, w, b


# ----------------------------------------------------------------------------------------------
# conv2d


@settings(max_examples=25)
@given(conv_args(max_kernel=4), st.data())
def test_conv2d_gradcheck(args, data):
    x, w, b = make_conv_inputs(args, data)
    if b is None:
        assert_gradcheck(lambda x, w: x.conv2d(w, **args.kwargs), x, w)
    else:
        assert_gradcheck(lambda x, w, b: x.conv2d(w, b, **args.kwargs), x, w, b)


@settings(max_examples=10)
@given(conv_args(min_kernel=4, max_kernel=5, max_batch=1, max_channels_per_group=1, max_dilation=1, max_extra=1),
       st.data())
def test_conv2d_gradcheck_large_kernels(args, data):
    x, w, b = make_conv_inputs(args, data)
    inputs = (x, w) if b is None else (x, w, b)
    assert_gradcheck(lambda x, w, b=None: x.conv2d(w, b, **args.kwargs), *inputs)


@settings(max_examples=30)
@given(conv_args(max_batch=3, max_channels_per_group=3, max_groups=3, max_kernel=5, max_stride=3, max_padding=2,
                 max_extra=4), st.data())
def test_conv2d_forward_matches_the_loop_reference(args, data):
    x, w, b = make_conv_inputs(args, data, requires_grad=False)
    out = x.conv2d(w, b, **args.kwargs)
    expected = reference_conv2d(x, w, b, **args.kwargs)
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("x_shape, w_shape, kwargs", [
    ((1, 5, 3, 3), (2, 5, 2, 2), {}),                           # > 4 input channels: the other im2col layout
    ((1, 6, 3, 3), (3, 2, 2, 2), {"groups": 3}),
    ((1, 1, 5, 5), (1, 1, 4, 4), {"padding": 1}),                 # more than 9 taps
    ((1, 2, 4, 5), (2, 2, 5, 3), {"padding": "same"}),
    ((1, 1, 4, 5), (2, 1, 2, 4), {"padding": "same", "dilation": (1, 3)}),  # even kernels: extra pad bottom/right
    ((2, 1, 4, 5), (1, 1, 3, 3), {"stride": (2, 1), "padding": (2, 0), "dilation": (1, 2)}),
])
def test_conv2d_gradcheck_special_layouts(x_shape, w_shape, kwargs):
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal(x_shape), requires_grad=True)
    w = Tensor(rng.standard_normal(w_shape), requires_grad=True)
    b = Tensor(rng.standard_normal(w_shape[0]), requires_grad=True)
    np.testing.assert_allclose(x.conv2d(w, b, **kwargs).numpy(),
                               reference_conv2d(x, w, b, **kwargs), rtol=1e-10, atol=1e-10)
    assert_gradcheck(lambda x, w, b: x.conv2d(w, b, **kwargs), x, w, b)


@pytest.mark.parametrize("kernel", [3, 5])
def test_conv2d_large_batch_is_adjoint_consistent(kernel):
    """A batch big enough to be processed in several cache-sized blocks: the forward matches a
    vectorized reference, and backward is the adjoint of forward (<g, conv(x)> = <dx, x> = <dw, w>)."""
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((48, 6, 20, 20)), requires_grad=True)
    w = Tensor(rng.standard_normal((8, 6, kernel, kernel)), requires_grad=True)
    out = x.conv2d(w, padding=1)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1))),
                                                       (kernel, kernel), axis=(2, 3))
    np.testing.assert_allclose(out.numpy(), np.einsum("nchwij,ocij->nohw", windows, w.numpy()), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    inner = np.sum(g * out.numpy())
    assert np.sum(x.grad.numpy() * x.numpy()) == pytest.approx(inner, rel=1e-10)
    assert np.sum(w.grad.numpy() * w.numpy()) == pytest.approx(inner, rel=1e-10)


def test_sobel_worked_example():
    # the top-left 3x3 patch has left column (10, 20, 12) and right column (5, 10, 8):
    # 10*1 + 20*2 + 12*1 = 62, 5*1 + 10*2 + 8*1 = 33
    image = np.array([[10, 7, 5, 3],
                      [20, 9, 10, 4],
                      [12, 6, 8, 2],
                      [1, 2, 3, 4]], dtype=np.float64).reshape(1, 1, 4, 4)
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float64).reshape(1, 1, 3, 3)
    out = Tensor(image).conv2d(Tensor(sobel))
    assert out.shape == (1, 1, 2, 2)
    assert out.numpy()[0, 0, 0, 0] == 62 - 33 == 29
    np.testing.assert_array_equal(out.numpy()[0, 0], [[29, 31 - 13], [45 - 29, 23 - 12]])
    same = Tensor(image).conv2d(Tensor(sobel), padding="same")
    assert same.shape == (1, 1, 4, 4)
    assert same.numpy()[0, 0, 1, 1] == 29
    np.testing.assert_array_equal(same.numpy(), reference_conv2d(image, sobel, padding=1))


def test_same_padding_with_an_even_kernel_pads_bottom_and_right():
    x = Tensor(np.arange(9.0).reshape(1, 1, 3, 3))
    out = x.conv2d(Tensor(np.ones((1, 1, 2, 2))), padding="same")  # PyTorch: 0 rows on top, 1 at the bottom
    np.testing.assert_array_equal(out.numpy()[0, 0], [[0 + 1 + 3 + 4, 1 + 2 + 4 + 5, 2 + 5],
                                                      [3 + 4 + 6 + 7, 4 + 5 + 7 + 8, 5 + 8],
                                                      [6 + 7, 7 + 8, 8]])


def test_mnist_shapes():
    x = Tensor(np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32))
    w = Tensor(np.random.default_rng(1).standard_normal((8, 1, 3, 3)).astype(np.float32))
    features = x.conv2d(w, Tensor(np.zeros(8, np.float32)))
    assert features.shape == (2, 8, 26, 26)
    pooled = features.relu().max_pool2d(2)
    assert pooled.shape == (2, 8, 13, 13)
    assert pooled.flatten(1).shape == (2, 8 * 13 * 13)


def test_conv2d_hand_computed_gradients():
    x = Tensor(np.arange(9.0).reshape(1, 1, 3, 3), requires_grad=True)
    w = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    b = Tensor(np.zeros(1), requires_grad=True)
    x.conv2d(w, b).sum().backward()
    # x.grad counts the windows covering each pixel; w.grad[i, j] sums the pixels tap (i, j) sees
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(w.grad.numpy()[0, 0], [[0 + 1 + 3 + 4, 1 + 2 + 4 + 5],
                                                         [3 + 4 + 6 + 7, 4 + 5 + 7 + 8]])
    np.testing.assert_array_equal(b.grad.numpy(), [4.0])


def test_conv2d_with_only_some_inputs_requiring_grad():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((1, 2, 4, 4)))
    w = Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    assert_gradcheck(lambda w: x.conv2d(w, padding=1), w)
    w.requires_grad = False
    x.requires_grad = True
    assert_gradcheck(lambda x: x.conv2d(w, stride=2), x)


def test_conv2d_errors():
    x = Tensor(np.ones((1, 3, 5, 5)))
    with pytest.raises(ValueError, match="conv2d: input has 3 channels but weight"):
        x.conv2d(Tensor(np.ones((4, 2, 3, 3))))
    with pytest.raises(ValueError, match="conv2d: the kernel .* is larger than the padded input"):
        x.conv2d(Tensor(np.ones((4, 3, 7, 7))), padding=0)
    with pytest.raises(ValueError, match="conv2d: the kernel .* is larger than the padded input"):
        x.conv2d(Tensor(np.ones((4, 3, 3, 3))), dilation=3)
    with pytest.raises(ValueError, match=r"conv2d: input must be 4-D \(N, C, H, W\)"):
        Tensor(np.ones((3, 5, 5))).conv2d(Tensor(np.ones((4, 3, 3, 3))))
    with pytest.raises(ValueError, match="conv2d: weight must be 4-D"):
        x.conv2d(Tensor(np.ones((3, 3, 3))))
    for stride in (0, -1, (1, 0)):
        with pytest.raises(ValueError, match="conv2d: stride must be positive"):
            x.conv2d(Tensor(np.ones((4, 3, 3, 3))), stride=stride)
    with pytest.raises(TypeError, match="conv2d: stride must be an int or a pair"):
        x.conv2d(Tensor(np.ones((4, 3, 3, 3))), stride=1.5)
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(4,\)"):
        x.conv2d(Tensor(np.ones((4, 3, 3, 3))), Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="conv2d: padding='same' needs stride 1"):
        x.conv2d(Tensor(np.ones((4, 3, 3, 3))), padding="same", stride=2)
    with pytest.raises(ValueError, match="conv2d: padding must be"):
        x.conv2d(Tensor(np.ones((4, 3, 3, 3))), padding="full")
    with pytest.raises(ValueError, match="conv2d: padding must be non-negative"):
        x.conv2d(Tensor(np.ones((4, 3, 3, 3))), padding=-1)
    with pytest.raises(ValueError, match=r"conv2d: out_channels \(3\) must be divisible by groups \(3\)|groups"):
        Tensor(np.ones((1, 4, 5, 5))).conv2d(Tensor(np.ones((3, 2, 3, 3))), groups=2)
    with pytest.raises(TypeError, match="conv2d: input must be floating point"):
        Tensor(np.ones((1, 3, 5, 5), dtype=np.int64)).conv2d(Tensor(np.ones((4, 3, 3, 3))))


# ----------------------------------------------------------------------------------------------
# pooling


@settings(max_examples=25)
@given(pool_args(), st.data())
def test_max_pool2d_gradcheck_and_forward(args, data):
    x = data.draw(tensors(args.input_shape, unique=True), label="x")
    out = x.max_pool2d(**args.kwargs)
    np.testing.assert_array_equal(out.numpy(), reference_max_pool2d(x, **args.kwargs))
    assert_gradcheck(lambda t: t.max_pool2d(**args.kwargs), x)


@settings(max_examples=25)
@given(pool_args(), st.data())
def test_avg_pool2d_gradcheck_and_forward(args, data):
    x = data.draw(tensors(args.input_shape), label="x")
    out = x.avg_pool2d(**args.kwargs)
    np.testing.assert_allclose(out.numpy(), reference_avg_pool2d(x, **args.kwargs), rtol=1e-12, atol=1e-15)
    assert_gradcheck(lambda t: t.avg_pool2d(**args.kwargs), x)


@settings(max_examples=20)
@given(pool_args(max_batch=3, max_channels=3, max_kernel=4, max_stride=4, max_extra=8), st.data())
def test_pools_forward_on_larger_inputs(args, data):
    x = data.draw(arrays(args.input_shape), label="x")
    for kind, reference in (("max", reference_max_pool2d), ("avg", reference_avg_pool2d)):
        out = getattr(Tensor(x), f"{kind}_pool2d")(**args.kwargs)
        np.testing.assert_allclose(out.numpy(), reference(x, **args.kwargs), rtol=1e-12, atol=1e-15)


def test_max_pool_gradient_with_ties_goes_to_the_first_maximum():
    x = Tensor(np.zeros((1, 1, 4, 4)), requires_grad=True)
    x.max_pool2d(kernel_size=2, stride=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]])


def test_max_pool_ties_inside_one_window_in_row_major_order():
    x = Tensor(np.array([[5.0, 1.0], [5.0, 5.0]]).reshape(1, 1, 2, 2), requires_grad=True)
    x.max_pool2d(2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 0], [0, 0]])
    y = Tensor(np.array([[0.0, 2.0], [2.0, 1.0]]).reshape(1, 1, 2, 2), requires_grad=True)
    y.max_pool2d(2).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy()[0, 0], [[0, 1], [0, 0]])


def test_pool_hand_computed_values():
    x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    np.testing.assert_array_equal(x.max_pool2d(2).numpy()[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(x.avg_pool2d(2).numpy()[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    x.avg_pool2d(2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1, 1, 4, 4), 0.25))
    # zero padding counts in the mean: the corner window sees 0, 0, 0, x[0, 0] = 0 -> 0; next one 0, 0, 1, 2
    np.testing.assert_array_equal(x.avg_pool2d(2, stride=2, padding=1).numpy()[0, 0, 0], [0.0, 0.75, 0.75])
    # 5x5 with kernel 2: the last row and column are dropped (floor), and get no gradient
    y = Tensor(np.ones((1, 1, 5, 5)), requires_grad=True)
    y.max_pool2d(2).sum().backward()
    assert y.grad.numpy()[0, 0, 4].sum() == 0 and y.grad.numpy()[0, 0, :, 4].sum() == 0


def test_pool_errors():
    x = Tensor(np.ones((1, 1, 3, 3)))
    for name in ("max_pool2d", "avg_pool2d"):
        pool = getattr(x, name)
        with pytest.raises(ValueError, match=f"{name}: the kernel .* is larger than the padded input"):
            pool(4)
        with pytest.raises(ValueError, match=f"{name}: padding .* must be at most half the kernel size"):
            pool(2, padding=2)
        with pytest.raises(ValueError, match=f"{name}: stride must be positive"):
            pool(2, stride=0)
        with pytest.raises(ValueError, match=f"{name}: input must be 4-D"):
            getattr(Tensor(np.ones((3, 3))), name)(2)
        with pytest.raises(ValueError, match=f"{name}: kernel_size must be positive"):
            pool(0)


# ----------------------------------------------------------------------------------------------
# softmax and log_softmax


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@settings(max_examples=25)
@given(data=st.data())
def test_softmax_gradcheck_over_axes(name, data):
    x = data.draw(tensors(shapes(min_dims=1, max_dims=3, max_side=4), low=-5.0, high=5.0), label="x")
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    out = getattr(x, name)(axis=axis)
    shifted = x.numpy() - x.numpy().max(axis=axis, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    np.testing.assert_allclose(out.numpy(), np.exp(logp) if name == "softmax" else logp, rtol=1e-12, atol=1e-15)
    assert_gradcheck(lambda t: getattr(t, name)(dim=axis), x)


def test_softmax_worked_example():
    logits = np.array([-1.0, 0.0, 3.0, 5.0])
    p = Tensor(logits).softmax(-1)
    assert p.numpy().sum() == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(p.numpy(), np.exp(logits) / np.exp(logits).sum(), rtol=1e-15)
    np.testing.assert_allclose(Tensor(logits).log_softmax(-1).numpy(), np.log(np.exp(logits) / np.exp(logits).sum()),
                               rtol=1e-14)


@pytest.mark.parametrize("scale", [1e3, -1e3])
def test_softmax_and_log_softmax_are_stable_for_huge_logits(scale):
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -0.5, 0.0]]) * scale
    x = Tensor(logits, requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        p = x.softmax(axis=1)
        logp = x.log_softmax(axis=1)
        (p * Tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
        logp.sum().backward()
    assert np.isfinite(p.numpy()).all() and np.isfinite(logp.numpy()).all() and np.isfinite(x.grad.numpy()).all()
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.testing.assert_allclose(logp.numpy(), shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))
    np.testing.assert_allclose(p.numpy().sum(axis=1), [1.0, 1.0])


# ----------------------------------------------------------------------------------------------
# cross_entropy


@st.composite
def logits_and_targets(draw, max_n=4, max_c=5):
    n, c = draw(st.integers(1, max_n)), draw(st.integers(1, max_c))
    logits = draw(tensors((n, c), low=-4.0, high=4.0), label="logits")
    target = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)
    return logits, target


@settings(max_examples=40)
@given(logits_and_targets(), st.sampled_from(["mean", "sum", "none"]),
       st.one_of(st.just(0.0), st.floats(0.0, 1.0, allow_subnormal=False)))
def test_cross_entropy_gradcheck_and_forward(logits_target, reduction, smoothing):
    logits, target = logits_target
    out = logits.cross_entropy(target, reduction=reduction, label_smoothing=smoothing)
    expected = cross_entropy_reference(logits.numpy(), target, reduction, smoothing)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)
    assert_gradcheck(lambda t: t.cross_entropy(target, reduction=reduction, label_smoothing=smoothing), logits)


def test_cross_entropy_of_uniform_logits_is_ln_10():
    for logits in (np.zeros((3, 10)), np.full((2, 10), 7.5, dtype=np.float32)):
        loss = Tensor(logits).cross_entropy([0, 9, 4][:len(logits)])
        assert loss.item() == pytest.approx(-np.log(0.1)) == pytest.approx(2.302585, abs=1e-6)


def test_cross_entropy_hand_computed_gradient():
    logits = Tensor(np.array([[0.0, 0.0], [np.log(3.0), 0.0]]), requires_grad=True)
    loss = logits.cross_entropy(Tensor(np.array([0, 1])))  # integer Tensor targets work too
    assert loss.item() == pytest.approx((np.log(2) + np.log(4)) / 2)
    loss.backward()  # (softmax - one_hot) / N
    np.testing.assert_allclose(logits.grad.numpy(), [[-0.25, 0.25], [0.375, -0.375]])


def test_cross_entropy_with_huge_logits_is_finite():
    logits = Tensor(np.array([[1000.0, -1000.0, 0.0]]), requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        loss = logits.cross_entropy([1], label_smoothing=0.1)
        loss.backward()
    assert loss.item() == pytest.approx(0.9 * 2000 + 0.1 / 3 * (0 + 2000 + 1000))
    assert np.isfinite(logits.grad.numpy()).all()


def test_cross_entropy_errors():
    logits = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="cross_entropy: target 3 is out of range for 3 classes"):
        logits.cross_entropy([0, 3])
    with pytest.raises(ValueError, match="cross_entropy: target -1 is out of range"):
        logits.cross_entropy([-1, 0])
    with pytest.raises(ValueError, match=r"cross_entropy: target must have shape \(2,\)"):
        logits.cross_entropy([0, 1, 2])
    with pytest.raises(TypeError, match="cross_entropy: target must hold integer class indices"):
        logits.cross_entropy(np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="cross_entropy: target must hold integer class indices"):
        logits.cross_entropy(Tensor([0, 1]))  # a list becomes a float32 Tensor
    with pytest.raises(ValueError, match=r"cross_entropy: target must have shape \(\)"):
        Tensor(np.zeros(3)).cross_entropy([0])  # unbatched (C,) logits take a 0-d target, as in torch
    with pytest.raises(ValueError, match="cross_entropy: reduction must be"):
        logits.cross_entropy([0, 1], reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing must be a number in"):
        logits.cross_entropy([0, 1], label_smoothing=1.5)


# ----------------------------------------------------------------------------------------------
# float32 stays float32


def test_float32_stays_float32_through_the_cnn_ops():
    rng = np.random.default_rng(4)
    x = Tensor(rng.standard_normal((2, 1, 8, 8)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(4, np.float32), requires_grad=True)
    h = x.conv2d(w, b, padding="same")
    pooled = [h.max_pool2d(2), h.avg_pool2d(3, stride=2, padding=1)]
    logits = pooled[0].flatten(1)[:, :5] + pooled[1].flatten(1)[:, :5]
    outs = [h, *pooled, logits.softmax(-1), logits.log_softmax(axis=0)]
    loss = logits.cross_entropy([1, 4], label_smoothing=0.1)
    for out in outs + [loss, logits.cross_entropy([0, 1], reduction="none")]:
        assert out.dtype == np.float32
    (loss + sum(o.sum() for o in outs) * 1e-3).backward()
    for t in (x, w, b):
        assert t.grad.dtype == np.float32
