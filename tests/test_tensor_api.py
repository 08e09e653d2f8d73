"""The PyTorch-shaped Tensor API without PyTorch: float64 gradchecks of every differentiable method
over hypothesis-drawn shapes (0-d and size-0 dimensions included), hand-computed cases, the engine
rules behind in-place updates, and clear errors for what is not supported."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor
from tinygrad_cnn.testing import arrays, assert_gradcheck, broadcastable_shapes, shapes, tensors

ANY_SHAPE = shapes(min_dims=0, max_dims=3, max_side=3)
WITH_EMPTY = shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)


# ----------------------------------------------------------------------------- the 0-d engine bug


@pytest.mark.parametrize("shape", [(), (1,), (2, 1)])
def test_a_tensor_used_many_times_sums_its_gradients(shape):
    x = tg.full(shape, 2.0, requires_grad=True) if shape else tg.tensor(2.0, requires_grad=True)
    y = x + x + x + x * x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, 3.0 + 2 * 2.0, dtype=np.float32))
    assert x.grad.shape == shape and isinstance(x.grad.numpy(), np.ndarray)


@settings(max_examples=30)
@given(x=tensors(ANY_SHAPE, away_from=0.0), uses=st.integers(2, 6))
def test_any_shape_reused_many_times(x, uses):
    assert_gradcheck(lambda t: sum([t * (k + 1) for k in range(uses)], t.relu()), x)


# ----------------------------------------------------------------------------- gradchecks

UNARY = {
    "rsqrt": (lambda t: (t * t + 1).rsqrt(), {}), "sign": (lambda t: t.sign() * t, {"away_from": 0.0}),
    "clamp": (lambda t: t.clamp(-1.0, 1.5), {"away_from": [-1.0, 1.5]}),
    "clamp_min": (lambda t: t.clamp(min=0.5), {"away_from": 0.5}), "square": (lambda t: t.square(), {}),
    "reciprocal": (lambda t: t.reciprocal(), {"away_from": 0.0, "margin": 0.3}),
    "var": (lambda t: t.var() if t.numel() > 1 else t * 1, {}), "std": (lambda t: t.std(unbiased=False), {}),
    "prod": (lambda t: t.prod(), {}), "norm": (lambda t: t.norm(), {"away_from": 0.0}),
    "norm1": (lambda t: t.norm(1), {"away_from": 0.0}), "norm3": (lambda t: t.norm(p=3), {"away_from": 0.0}),
    "max": (lambda t: t.max(), {"unique": True}), "min": (lambda t: t.min(), {"unique": True}),
    "where": (lambda t: tg.where(t > 0, t * t, -t), {"away_from": 0.0}),
    "masked_fill": (lambda t: t.masked_fill(t < 0, 2.0) * t, {"away_from": 0.0}),
    "maximum": (lambda t: tg.maximum(t, 1 - t), {"away_from": 0.5}),
    "minimum": (lambda t: t.minimum(t * 0.5), {"away_from": 0.0}),
    "clone": (lambda t: t.clone() * t, {}), "expand": (lambda t: t.expand(2, *t.shape) * 2, {}),
    "repeat": (lambda t: t.repeat(2, *[2] * t.ndim), {}),
}


@pytest.mark.parametrize("name", UNARY)
@settings(max_examples=15)
@given(data=st.data())
def test_gradcheck_unary(name, data):
    fn, kwargs = UNARY[name]
    x = data.draw(tensors(ANY_SHAPE, **kwargs), label="x")
    assert_gradcheck(fn, x)


DIMMED = {
    "sum": lambda t, d, k: t.sum(d, keepdim=k), "mean": lambda t, d, k: t.mean(dim=d, keepdim=k),
    "var": lambda t, d, k: t.var(d, keepdim=k, correction=0), "std": lambda t, d, k: t.std(d, keepdim=k, correction=0),
    "prod": lambda t, d, k: t.prod(d, keepdim=k), "max": lambda t, d, k: t.max(d, keepdim=k).values,
    "min": lambda t, d, k: t.min(dim=d, keepdim=k)[0], "amax": lambda t, d, k: t.amax(d, k),
    "cumsum": lambda t, d, k: t.cumsum(d), "norm": lambda t, d, k: t.norm(dim=d, keepdim=k),
    "softmax": lambda t, d, k: t.softmax(d), "log_softmax": lambda t, d, k: t.log_softmax(dim=d),
    "chunk": lambda t, d, k: tg.cat(t.chunk(2, d)[::-1], d) if t.ndim else t * 1,
    "split": lambda t, d, k: tg.cat(t.split(1, d)[::-1], d) if t.ndim else t * 1,
    "unbind": lambda t, d, k: tg.stack(t.unbind(d)[::-1], d) if t.ndim else t * 1,
}


@pytest.mark.parametrize("name", DIMMED)
@settings(max_examples=12)
@given(data=st.data(), keepdim=st.booleans())
def test_gradcheck_over_every_dim(name, data, keepdim):
    unique = name in ("max", "min", "amax", "std", "var", "norm")
    x = data.draw(tensors(ANY_SHAPE, unique=unique, low=0.3, high=2.0), label="x")
    d = data.draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1), label="dim")
    assert_gradcheck(lambda t: DIMMED[name](t, d, keepdim), x)


@settings(max_examples=25)
@given(data=st.data())
def test_gradcheck_binary_broadcasting(data):
    sa, sb = data.draw(broadcastable_shapes(2, max_dims=3, max_side=3), label="shapes")
    a = data.draw(tensors(sa, away_from=0.0), label="a")
    b = data.draw(tensors(sb, away_from=[0.0]), label="b")
    assert_gradcheck(lambda x, y: tg.where(x > 0, x * y, y.maximum(x + 10)) + x.div(y) - x.sub(y, alpha=2), a, b)


@settings(max_examples=20)
@given(x=tensors(shapes(min_dims=1, max_dims=3, max_side=4)), data=st.data())
def test_gradcheck_setitem_and_gather(x, data):
    d = data.draw(st.integers(0, x.ndim - 1), label="dim")
    index = data.draw(arrays(x.shape, low=0, high=x.shape[d] - 1).map(lambda a: a.round().astype(np.int64)), label="i")

    def assign(t):
        out = t * 1
        out[(slice(None),) * d + (0,)] = t[(slice(None),) * d + (-1,)] * 3  # x[..., 0] = 3 x[..., -1]
        return out * t

    assert_gradcheck(assign, x)
    assert_gradcheck(lambda t: t.gather(d, tg.from_numpy(index)), x)


@settings(max_examples=20)
@given(a=arrays(WITH_EMPTY))
def test_size_zero_and_0d_shapes_run_forward_and_backward(a):
    x = Tensor(a, requires_grad=True)
    out = (x * 2 + 1).sum() + x.abs().sum(dim=0 if x.ndim else None).sum()
    out.backward()
    assert x.grad.shape == a.shape
    expected = 2 + np.sign(a) if a.ndim else 2 + np.sign(a)
    np.testing.assert_allclose(x.grad.numpy(), expected)
    assert float(x.mean().item() if a.size else 0.0) == pytest.approx(a.mean() if a.size else 0.0)


def test_empty_mean_is_nan_and_empty_sum_is_zero_as_in_torch():
    x = tg.zeros(0, 3)
    assert np.isnan(x.mean().item()) and x.sum().item() == 0.0
    assert x.sum(dim=0).shape == (3,) and np.isnan(x.mean(dim=0).numpy()).all()


# ----------------------------------------------------------------------------- hand-computed cases


def test_hand_computed_values():
    x = tg.tensor([[1.0, 4.0, 2.0], [3.0, 0.0, 5.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.tolist() == [4.0, 5.0] and indices.tolist() == [1, 2] and indices.dtype == tg.int64
    assert x.argmin(1, keepdim=True).tolist() == [[0], [1]]
    assert x.prod(1).tolist() == [8.0, 0.0]
    assert x.cumsum(1).tolist() == [[1.0, 5.0, 7.0], [3.0, 3.0, 8.0]]
    assert x.var(0).tolist() == [2.0, 8.0, 4.5]                               # unbiased, n - 1 = 1
    assert x.norm().item() == pytest.approx(np.sqrt(55.0))
    assert x.clamp(1.5, 3.5).tolist() == [[1.5, 3.5, 2.0], [3.0, 1.5, 3.5]]
    x.prod(1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[8.0, 2.0, 4.0], [0.0, 15.0, 0.0]])  # right at the zero
    y = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y.clamp(max=2.0).sum().backward()
    assert y.grad.tolist() == [1.0, 1.0, 0.0]                                  # the bound itself passes, as torch
    z = tg.tensor([2.0, 2.0], requires_grad=True)
    tg.maximum(z, tg.tensor([2.0, 1.0])).sum().backward()
    assert z.grad.tolist() == [0.5, 1.0]                                       # a tie splits the gradient


def test_split_chunk_unbind_shapes():
    x = tg.arange(10).reshape(2, 5)
    assert [t.shape for t in x.split(2, dim=1)] == [(2, 2), (2, 2), (2, 1)]
    assert [t.shape for t in x.split([1, 4], 1)] == [(2, 1), (2, 4)]
    assert [t.shape for t in x.chunk(3, 1)] == [(2, 2), (2, 2), (2, 1)]
    assert [t.tolist() for t in x.unbind(0)] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert x.unflatten(1, (5, 1)).shape == (2, 5, 1) and x.view(-1, 2).shape == (5, 2)
    assert x.t().shape == (5, 2) and x.T.shape == (5, 2) and x.expand(3, 2, 5).shape == (3, 2, 5)


# ----------------------------------------------------------------------------- in place and the graph


def test_in_place_on_a_leaf_that_requires_grad_is_refused_unless_no_grad():
    w = tg.ones(3, requires_grad=True)
    for update in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match="leaf"):
            update()
    with tg.no_grad():
        w.add_(1).mul_(2)
        w[0] = 10.0
    assert w.tolist() == [10.0, 4.0, 4.0] and w.requires_grad and w.is_leaf


def test_in_place_on_a_fresh_result_joins_the_graph():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    total = 0
    for k in (1, 2, 3):
        total += w * k                # after the first step, total is a fresh result: += is in place
    total.sum().backward()
    assert w.grad.tolist() == [6.0, 6.0]


def test_changing_a_saved_input_in_place_is_caught_at_backward():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    x = tg.tensor([3.0, 4.0])
    y = (w * x).sum()                 # Mul saved x for w's gradient
    x.mul_(10)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_data_shares_memory_without_history():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    p.data.sub_(0.5)                  # the usual hand-written SGD step
    assert p.tolist() == [0.5, 1.5] and not p.data.requires_grad and p.data.numpy() is p.numpy()
    p.data = tg.tensor([7.0, 8.0])
    assert p.tolist() == [7.0, 8.0] and p.requires_grad


def test_grad_mode_is_per_thread():
    seen = {}

    def other():
        seen["other"] = tg.is_grad_enabled()

    with tg.no_grad():
        t = threading.Thread(target=other)
        t.start()
        t.join()
        seen["here"] = tg.is_grad_enabled()
    assert seen == {"other": True, "here": False} and tg.is_grad_enabled()
    tg.set_grad_enabled(False)
    try:
        assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)


# ----------------------------------------------------------------------------- clear errors


@pytest.mark.parametrize("call, error, words", [
    (lambda: tg.ones(2, 3).softmax(), TypeError, "softmax: the dim argument is required"),
    (lambda: tg.ones(2, 3).sum(dim=2), IndexError, "sum: dimension out of range"),
    (lambda: tg.ones(2, 3).max(dim=(0, 1)), TypeError, "max: dim must be a single int"),
    (lambda: tg.ones(2, 3).mm(tg.ones(3)), RuntimeError, "mm: both arguments must be 2-D"),
    (lambda: tg.ones(2, 3, 4).bmm(tg.ones(3, 4, 2)), RuntimeError, "bmm: batch sizes differ"),
    (lambda: tg.ones(2).to("cuda"), RuntimeError, "CPU only"),
    (lambda: tg.device("mps"), RuntimeError, "CPU only"),
    (lambda: tg.ones(2, 3).view(tg.int32), TypeError, "view"),
    (lambda: tg.ones(2, 3).expand(4, 3), RuntimeError, "expand: size 2 of dim 0"),
    (lambda: tg.ones(2).masked_fill(tg.ones(2), 0.0), TypeError, "masked_fill: the condition / mask must be a bool"),
    (lambda: tg.tensor([1, 2]).mean(), RuntimeError, "mean"),
    (lambda: tg.ones(3).clamp(), ValueError, "clamp: at least one of min or max"),
    (lambda: tg.ones(3).split([1, 1]), ValueError, "split: sections"),
    (lambda: tg.ones(2).norm(p="nuc"), ValueError, "norm: p must be"),
    (lambda: tg.randn(2, generator=object()), TypeError, "generator"),
    (lambda: tg.ones(2).copy_(tg.ones(3)), RuntimeError, "copy_: a source of shape"),
    (lambda: tg.tensor([1, 2]).add_(0.5), RuntimeError, "can't be cast"),
    (lambda: tg.Tensor(2, 3), TypeError, "requires_grad must be True or False"),
    (lambda: tg.ones(2, 2).t().t().transpose(0, 2), IndexError, "transpose: dimension out of range"),
])
def test_unsupported_arguments_get_clear_errors(call, error, words):
    with pytest.raises(error, match=words):
        call()
