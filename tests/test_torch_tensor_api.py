"""The Tensor API and the torch-level functions against PyTorch itself (skipped without torch).

Every case is one lambda ``f(lib, *tensors)`` written once and run twice: with ``lib`` = torch on
torch tensors and with ``lib`` = tinygrad_cnn on ours. The same source text running under both is
the point: values, result dtypes and shapes (``keepdim``), and the gradient of every input for a
random upstream gradient must agree. Shapes come from hypothesis and include 0-d tensors.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

import tinygrad_cnn as tg  # noqa: E402
from tinygrad_cnn.testing import arrays, broadcastable_shapes, shapes  # noqa: E402

RTOL, ATOL = 1e-6, 1e-9


def _run(lib, fn, inputs, upstream_seed):
    make = torch.tensor if lib is torch else tg.tensor
    ts = [make(a, dtype=lib.float64, requires_grad=True) for a in inputs]
    out = fn(lib, *ts)
    if isinstance(out, tuple):  # (values, indices) pairs: compare both, differentiate the values
        extra = [o for o in out[1:]]
        out = out[0]
    else:
        extra = []
    value = out.detach().numpy().copy() if lib is torch else out.numpy().copy()
    grads = None
    if out.requires_grad:
        g = np.random.default_rng(upstream_seed).standard_normal(tuple(out.shape))
        out.backward(make(g, dtype=out.dtype))
        grads = [np.zeros(t.shape) if t.grad is None else t.grad.numpy() for t in ts]
    return value, str(out.dtype).replace("torch.", ""), tuple(out.shape), grads, [np.asarray(e) for e in extra]


def compare(fn, *inputs, seed=0):
    ours, theirs = _run(tg, fn, inputs, seed), _run(torch, fn, inputs, seed)
    np.testing.assert_allclose(ours[0], theirs[0], RTOL, ATOL, err_msg="forward value")
    assert ours[1] == theirs[1], f"dtype {ours[1]} != torch's {theirs[1]}"
    assert ours[2] == theirs[2], f"shape {ours[2]} != torch's {theirs[2]}"
    assert (ours[3] is None) == (theirs[3] is None), "one side requires grad, the other does not"
    for i, (g, r) in enumerate(zip(ours[3] or [], theirs[3] or [])):
        np.testing.assert_allclose(g, r, RTOL, ATOL, err_msg=f"gradient of input {i}")
    for e, r in zip(ours[4], theirs[4]):
        np.testing.assert_array_equal(e, r)


UNARY = {
    "neg": lambda t, x: x.neg(), "abs": lambda t, x: x.abs(), "exp": lambda t, x: t.exp(x),
    "sqrt": lambda t, x: (x * x + 1).sqrt(), "rsqrt": lambda t, x: (x * x + 1).rsqrt(),
    "log": lambda t, x: t.log(x * x + 0.5), "sign": lambda t, x: x.sign() * x,
    "sigmoid": lambda t, x: t.sigmoid(x), "tanh": lambda t, x: x.tanh(), "relu": lambda t, x: t.relu(x),
    "clamp": lambda t, x: x.clamp(-0.5, 1.0), "clamp_min": lambda t, x: x.clamp(min=0.25),
    "clip_max": lambda t, x: t.clip(x, max=0.3), "pow": lambda t, x: x.pow(3), "rpow": lambda t, x: 2 ** x,
    "square": lambda t, x: x.square(), "reciprocal": lambda t, x: (x * x + 1).reciprocal(),
    "sum": lambda t, x: x.sum(), "mean": lambda t, x: t.mean(x), "prod": lambda t, x: x.prod(),
    "max": lambda t, x: x.max(), "min": lambda t, x: t.min(x), "amax": lambda t, x: x.amax(),
    "norm": lambda t, x: x.norm(), "norm1": lambda t, x: x.norm(p=1), "norm3": lambda t, x: x.norm(3),
    "norm_inf": lambda t, x: x.norm(float("inf")), "clone": lambda t, x: x.clone() * 2,
    "reshape": lambda t, x: x.reshape(-1), "flatten": lambda t, x: t.flatten(x), "view": lambda t, x: x.view(-1),
    "unsqueeze": lambda t, x: x.unsqueeze(0), "squeeze": lambda t, x: x.unsqueeze(-1).squeeze(),
    "T": lambda t, x: x.T if x.ndim == 2 else x, "contiguous": lambda t, x: x.contiguous() + 1,
    "masked_fill": lambda t, x: x.masked_fill(x > 0, 0.5), "where": lambda t, x: t.where(x > 0, x, x * x),
    "where_scalar": lambda t, x: t.where(x > 0, x, 0.0), "maximum": lambda t, x: t.maximum(x, x * 0.5),
    "minimum": lambda t, x: x.minimum(1 - x), "div_int": lambda t, x: x / 3, "rdiv": lambda t, x: 1 / (x * x + 1),
    "sub_alpha": lambda t, x: x.sub(x * x, alpha=2), "add_alpha": lambda t, x: t.add(x, x, alpha=0.5),
    "softmax0": lambda t, x: x.softmax(0) if x.ndim else x.softmax(0), "logsm": lambda t, x: x.log_softmax(-1),
    "expand": lambda t, x: x.expand(3, *x.shape), "repeat": lambda t, x: x.repeat(2, *([1] * x.ndim)),
    "item_free": lambda t, x: x * x.detach().sum().item(),
}


@pytest.mark.parametrize("name", UNARY)
@settings(max_examples=8)
@given(a=arrays(shapes(min_dims=0, max_dims=3, max_side=3), away_from=[0.0, 0.3, 0.5, -0.5, 1.0, 0.25], unique=True))
def test_unary(name, a):
    compare(UNARY[name], a)


DIMMED = {
    "sum": lambda t, x, d, k: x.sum(dim=d, keepdim=k), "sum_pos": lambda t, x, d, k: x.sum(d, k),
    "mean": lambda t, x, d, k: t.mean(x, d, keepdim=k), "var": lambda t, x, d, k: x.var(d, keepdim=k),
    "var_biased": lambda t, x, d, k: x.var(d, unbiased=False, keepdim=k),
    "std": lambda t, x, d, k: x.std(dim=d, keepdim=k, correction=0), "max": lambda t, x, d, k: x.max(d, k),
    "max_kw": lambda t, x, d, k: x.max(dim=d, keepdim=k).values, "min": lambda t, x, d, k: t.min(x, d, keepdim=k),
    "argmax": lambda t, x, d, k: x.argmax(dim=d, keepdim=k), "argmin": lambda t, x, d, k: t.argmin(x, d, k),
    "prod": lambda t, x, d, k: x.prod(d, keepdim=k), "cumsum": lambda t, x, d, k: x.cumsum(d),
    "norm": lambda t, x, d, k: x.norm(dim=d, keepdim=k), "amax": lambda t, x, d, k: x.amax(d, keepdim=k),
    "softmax": lambda t, x, d, k: t.softmax(x, d), "log_softmax": lambda t, x, d, k: x.log_softmax(dim=d),
    "unbind": lambda t, x, d, k: t.stack(x.unbind(d), d) if x.ndim else x,
    "chunk": lambda t, x, d, k: t.cat(x.chunk(2, d)[::-1], d) if x.ndim else x,
    "split": lambda t, x, d, k: t.cat(x.split(1, dim=d)[::-1], dim=d) if x.ndim else x,
    "transpose": lambda t, x, d, k: x.transpose(d, 0), "unsqueeze": lambda t, x, d, k: x.unsqueeze(d) * 2,
    "size": lambda t, x, d, k: x * x.size(d) if x.ndim else x, "flatten": lambda t, x, d, k: x.flatten(d) + 1,
}


@pytest.mark.parametrize("name", DIMMED)
@settings(max_examples=10)
@given(data=st.data(), keepdim=st.booleans())
def test_reductions_over_every_dim(name, data, keepdim):
    a = data.draw(arrays(shapes(min_dims=0, max_dims=3, max_side=3), unique=True, low=0.2, high=2.0), label="a")
    dim = data.draw(st.integers(-max(a.ndim, 1), max(a.ndim, 1) - 1), label="dim")
    compare(lambda t, x: DIMMED[name](t, x, dim, keepdim), a)


BINARY = {
    "add": lambda t, a, b: a.add(b), "sub": lambda t, a, b: t.sub(a, b), "mul": lambda t, a, b: a.mul(b),
    "div": lambda t, a, b: a.div(b * b + 1), "maximum": lambda t, a, b: a.maximum(b),
    "minimum": lambda t, a, b: t.minimum(a, b),
    "max_binary": lambda t, a, b: t.max(a, b), "where": lambda t, a, b: t.where(a > b, a, b),
    "clamp_tensor": lambda t, a, b: a.clamp(min=b), "pow": lambda t, a, b: (a * a + 1).pow(b),
    "eq": lambda t, a, b: a.eq(b), "ne": lambda t, a, b: (a != b), "lt": lambda t, a, b: a.lt(b),
    "ge": lambda t, a, b: a >= b,
}


@pytest.mark.parametrize("name", BINARY)
@settings(max_examples=8)
@given(data=st.data())
def test_binary_broadcasting(name, data):
    sa, sb = data.draw(broadcastable_shapes(2, max_dims=3, max_side=3), label="shapes")
    compare(BINARY[name], data.draw(arrays(sa), label="a"), data.draw(arrays(sb), label="b"))


def test_matrix_products():
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((2, 4, 5))
    compare(lambda t, x, y: x.mm(y), a, b)
    compare(lambda t, x, y: t.matmul(x, y), a, b)
    compare(lambda t, x, y: t.bmm(x, y), c, rng.standard_normal((2, 5, 3)))
    compare(lambda t, x, y: x @ y.T, a, rng.standard_normal((2, 4)))


def test_indexing_and_gather():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 5))
    compare(lambda t, x: x[1:3, ::2] * 2, a)
    compare(lambda t, x: x[t.tensor([0, 0, 3])], a)
    compare(lambda t, x: x[x > 0].sum(), a)
    compare(lambda t, x: x.gather(1, t.tensor([[0, 0], [1, 4], [2, 2], [3, 1]])), a)
    compare(lambda t, x: x.unflatten(1, (1, 5)).permute(2, 0, 1), a)
    compare(lambda t, x: x.expand_as(t.ones(3, 4, 5, dtype=t.float64)) * 1, a)
    compare(lambda t, x: x.view_as(x.t()), a)


def test_micrograd_scalar_chain_on_0d_and_shape_1():
    """The expression of micrograd's engine test, on 0-d tensors and on (1,) tensors."""
    def chain(t, x):
        z = 2 * x + 2 + x
        q = z.relu() + z * x
        h = (z * z).relu()
        y = h + q + q * x
        return y

    def more(t, a, b):
        c = a + b
        d = a * b + b ** 3
        c = c + c + 1
        c = c + 1 + c + (-a)
        d = d + d * 2 + (b + a).relu()
        d = d + 3 * d + (b - a).relu()
        e = c - d
        f = e ** 2
        g = f / 2.0
        g = g + 10.0 / f
        return g

    for shape in [(), (1,)]:
        compare(chain, np.full(shape, -4.0))
        compare(more, np.full(shape, -4.0), np.full(shape, 2.0))


@pytest.mark.parametrize("make", [
    lambda t: t.tensor([1, 2, 3]), lambda t: t.tensor([1.5, 2]), lambda t: t.tensor([True, False]),
    lambda t: t.tensor(3), lambda t: t.tensor(np.arange(3, dtype=np.float64)), lambda t: t.zeros(2, 3),
    lambda t: t.ones((2,), dtype=t.int64), lambda t: t.full((2, 2), 7), lambda t: t.full((2,), 1.5),
    lambda t: t.full((1,), True), lambda t: t.eye(3, 2), lambda t: t.arange(5), lambda t: t.arange(0, 1, 0.25),
    lambda t: t.arange(1.0, 4), lambda t: t.linspace(0, 1, 5), lambda t: t.zeros_like(t.tensor([1, 2])),
    lambda t: t.ones_like(t.tensor([1.0])), lambda t: t.full_like(t.zeros(2), 3),
    lambda t: t.tensor([1, 2]) * 0.5, lambda t: t.tensor([1, 2]) / 2, lambda t: t.tensor([1, 2]) / t.tensor([2, 4]),
    lambda t: t.tensor([1, 2]) + t.tensor(2.5, dtype=t.float64),
    lambda t: t.tensor([1.0], dtype=t.float32) + t.tensor(2.0, dtype=t.float64),
    lambda t: t.tensor([1.0], dtype=t.float32) + t.tensor([2.0], dtype=t.float64), lambda t: t.tensor([True]) + 1,
    lambda t: t.tensor([3, 4], dtype=t.int32).sum(), lambda t: t.tensor([True, True]).sum(),
    lambda t: t.tensor([1, 2], dtype=t.uint8) + t.tensor([1], dtype=t.int8), lambda t: t.tensor([[1, 2]]).float(),
    lambda t: t.tensor([1.7, -1.7]).long(), lambda t: t.tensor([1.7]).int(), lambda t: t.tensor([0.0, 2.0]).bool(),
    lambda t: t.tensor([1.5]).double(), lambda t: t.tensor([1, 2]).to(t.float32), lambda t: t.tensor([7, -7]) // 2,
    lambda t: t.tensor([7.0, -7.0]).div(2, rounding_mode="trunc"), lambda t: t.tensor([7, -7]) % 3,
    lambda t: t.tensor([1.0, 2.0]).type(t.int64), lambda t: t.tensor([2, 3]).type_as(t.tensor([1.0])),
    lambda t: t.cat([t.tensor([1, 2]), t.tensor([0.5])]), lambda t: t.stack([t.tensor([1.0]), t.tensor([2.0])], 1),
    lambda t: ~t.tensor([True, False]), lambda t: t.tensor([True]) & t.tensor([False]),
    lambda t: t.tensor([1, 5, 2]).cumsum(0), lambda t: t.tensor([[1, 5, 2]]).max(1)[1],
    lambda t: t.tensor([[1.0, 3.0], [3.0, 1.0]]).argmax(), lambda t: t.tensor([2.0, 3.0]).prod(),
])
def test_dtype_rules_and_constructors(make):
    ours, theirs = make(tg), make(torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_python_protocols_match_torch():
    for t in (tg, torch):
        x = t.tensor([[1.0, 2.0], [3.0, 4.0]])
        assert x.size() == (2, 2) and x.size(0) == 2 and x.size(-1) == 2 and x.dim() == 2 and x.numel() == 4
        assert float(x[1, 1]) == 4.0 and int(x[0, 1]) == 2 and x[0, 0].item() == 1.0
        assert ["a", "b", "c"][t.tensor(2)] == "c"
        assert f"{x.sum():.2f}" == "10.00" and len(x) == 2 and [r.tolist() for r in x] == [[1.0, 2.0], [3.0, 4.0]]
        assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]] and bool(x[0, 0] == 1.0)
        assert x.dtype == t.float32 and x.is_leaf and x.grad_fn is None and str(x.device) == "cpu"
        y = x.clone().requires_grad_() * 2
        assert y.grad_fn is not None and not y.is_leaf and y.grad_fn.name().startswith("Mul")
        assert x.type() == "torch.FloatTensor" and x.long().type() == "torch.LongTensor"
        assert t.is_tensor(x) and not t.is_tensor(1.0) and t.numel(x) == 4
        assert t.equal(x, x.clone()) and t.allclose(x, x + 1e-9)
        with pytest.raises((TypeError, RuntimeError, ValueError)):
            len(t.tensor(1.0))
        with pytest.raises((TypeError, RuntimeError, ValueError)):
            bool(x)


def test_in_place_updates_like_torch():
    results = []
    for t in (tg, torch):
        w = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        loss = (w * w).sum()
        loss.backward()
        with t.no_grad():
            w.sub_(0.1 * w.grad)
            w.data.mul_(2.0)
        w.grad.zero_()
        x = t.zeros(2, 3)
        x[0, 1] = 5.0
        x[1] = t.tensor([1.0, 2.0, 3.0])
        x += 1
        x.clamp_(max=4.0).add_(t.ones(3), alpha=2)
        total = 0
        for k in range(3):
            total += (w * k).sum()
        total.backward()
        results.append((w.detach().numpy().copy(), x.numpy().copy(), w.grad.numpy().copy(), float(total)))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b)
    with pytest.raises(RuntimeError, match="leaf"):
        tg.tensor([1.0], requires_grad=True).add_(1)


def test_in_place_after_use_is_caught():
    for t in (tg, torch):
        a = t.tensor([1.0, 2.0], requires_grad=True)
        b = a * 1
        c = b * b
        with pytest.raises(RuntimeError):
            b.mul_(2)
            c.sum().backward()


def test_grad_modes_match():
    for t in (tg, torch):
        x = t.ones(2, requires_grad=True)
        with t.no_grad():
            assert not (x * 2).requires_grad
            with t.enable_grad():
                assert (x * 2).requires_grad
        with t.set_grad_enabled(False):
            assert not (x * 2).requires_grad
        with t.inference_mode():
            assert not (x * 2).requires_grad
        assert (x * 2).requires_grad and t.is_grad_enabled()
        assert not t.cuda.is_available()
