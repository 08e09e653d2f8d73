"""Tests for tinygrad_cnn.nn: Module bookkeeping, state dicts, layers, BatchNorm, Dropout, init."""
import math
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_cnn import Tensor, gradcheck, manual_seed, nn, no_grad
from tinygrad_cnn.nn import init
from tinygrad_cnn.ops.norm import BatchNorm2dFunction, batch_stats

# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, bias=False)
        self.bn = nn.BatchNorm2d(2)


class Net(nn.Module):
    """Nested modules, a raw parameter, a buffer, a shared parameter and a shared module."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(1))
        self.block = Block()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8, 3))
        self.register_buffer("steps", np.zeros((), dtype=np.int64))
        self.tied = nn.Linear(3, 3, bias=False)
        self.tied_again = self.tied          # the same module under two names
        self.alias = self.head[1].weight     # the same parameter under two names


def small_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 2 * 2, 3))


# ----------------------------------------------------------------------------------------------
# Parameter and registration
# ----------------------------------------------------------------------------------------------


def test_parameter_dtype_and_grad():
    assert nn.Parameter([1, 2]).dtype == np.float32
    assert nn.Parameter(np.arange(3)).dtype == np.float32
    assert nn.Parameter(np.zeros(2, np.float64)).dtype == np.float64
    p = nn.Parameter(np.zeros(2))
    assert p.requires_grad and p.is_leaf and isinstance(p, Tensor)
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad


def test_parameter_discovery_names_order_and_sharing():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    # a module's own parameters come before its children's; a shared one is listed once, under
    # the first name that reaches it ("alias" hides "head.1.weight", "tied" hides "tied_again")
    assert names == ["scale", "alias", "block.conv.weight", "block.bn.weight", "block.bn.bias", "head.1.bias",
                     "tied.weight"]
    params = list(net.parameters())
    assert len(params) == 7 and len({id(p) for p in params}) == 7
    assert net.num_parameters() == 1 + 18 + 2 + 2 + 24 + 3 + 9
    assert [n for n, _ in net.named_buffers()] == ["steps", "block.bn.running_mean", "block.bn.running_var",
                                                    "block.bn.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["block", "head", "tied"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.conv", "block.bn", "head", "head.0",
                                                   "head.1", "tied"]
    assert len(list(net.modules())) == 8
    assert net.alias is net.head[1].weight


def test_registration_rules():
    m = nn.Linear(2, 3)
    w = m.weight
    m.weight = None                       # keeps the slot
    assert "weight" in m._parameters and m.weight is None
    assert "weight" not in m.state_dict()
    m.weight = w
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.weight = Tensor(np.zeros((3, 2)))
    m.register_buffer("stat", np.arange(3.0))
    assert isinstance(m.stat, Tensor) and not m.stat.requires_grad
    m.stat = np.ones(3)
    np.testing.assert_array_equal(m.stat.numpy(), np.ones(3))
    m.stat = None
    assert "stat" in m._buffers and "stat" not in m.state_dict()
    m.register_buffer("hidden", np.ones(1), persistent=False)
    assert "hidden" not in m.state_dict() and "hidden" in dict(m.named_buffers())
    del m.bias
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        m.nothing

    class Forgot(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Forgot()


def test_sequential_container():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is seq[1]
    with pytest.raises(IndexError):
        seq[3]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]
    ml = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    with pytest.raises(TypeError):
        nn.Sequential(nn.ReLU(), "not a module")
    seq.append(nn.Sigmoid())
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    assert [type(m).__name__ for m in seq] == ["Linear", "Linear", "Sigmoid"]
    x = Tensor(np.ones((5, 2), np.float32))
    assert seq(x).shape == (5, 1) and float(seq(x).numpy().min()) > 0


def test_apply_zero_grad_and_to_dtype():
    model = small_cnn()
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "Sequential" and visited[0] == "Conv2d"
    x = Tensor(np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32))
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    weight = model[0].weight
    model.double()
    assert model[0].weight is weight and weight.dtype == np.float64
    assert model[1].running_mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64
    assert model(x.double()).dtype == np.float64
    model.float()
    assert weight.dtype == np.float32


# ----------------------------------------------------------------------------------------------
# state_dict / load_state_dict
# ----------------------------------------------------------------------------------------------


def test_state_dict_keys_types_and_snapshot():
    sd = small_cnn().state_dict()
    assert list(sd) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                        "1.num_batches_tracked", "5.weight", "5.bias"]
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    assert sd["1.num_batches_tracked"].dtype == np.int64 and sd["1.num_batches_tracked"].shape == ()
    assert sd["0.weight"].dtype == np.float32 and sd["0.weight"].shape == (4, 1, 3, 3)
    net = Net()
    sd = net.state_dict()
    # shared modules and parameters appear under every name, as in PyTorch
    assert {"tied.weight", "tied_again.weight", "alias", "head.1.weight"} <= set(sd)
    before = sd["block.conv.weight"].copy()
    net.block.conv.weight.data += 1               # a state_dict is a snapshot
    np.testing.assert_array_equal(sd["block.conv.weight"], before)
    live = net.state_dict(keep_vars=True)
    assert live["block.conv.weight"] is net.block.conv.weight


def test_state_dict_round_trip_into_fresh_model():
    manual_seed(1)
    a = small_cnn()
    x = Tensor(np.random.default_rng(0).standard_normal((4, 1, 6, 6)).astype(np.float32))
    a(x)                                    # move the running stats away from their defaults
    a.eval()
    manual_seed(2)
    b = small_cnn().eval()
    assert not np.array_equal(a[0].weight.numpy(), b[0].weight.numpy())
    arrays_before = [p.numpy() for p in b.parameters()]
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert all(p.numpy() is arr for p, arr in zip(b.parameters(), arrays_before))  # copied in place
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(va, vb, err_msg=k)
    assert int(b[1].num_batches_tracked.item()) == 1
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_load_state_dict_accepts_tensors_and_casts_dtype():
    m = nn.Linear(2, 2)
    sd = {"weight": Tensor(np.full((2, 2), 0.5)), "bias": np.array([1.0, 2.0], dtype=np.float64)}
    m.load_state_dict(sd)
    assert m.weight.dtype == np.float32 and m.bias.dtype == np.float32
    np.testing.assert_array_equal(m.weight.numpy(), np.full((2, 2), 0.5, np.float32))


def test_load_state_dict_errors_name_keys():
    model = nn.Sequential(nn.Conv2d(1, 8, 3, bias=False), nn.ReLU(), nn.Linear(4, 2))
    good = model.state_dict()
    bad = OrderedDict(good)
    bad["0.weight"] = np.zeros((8, 3, 3), np.float32)
    del bad["2.bias"]
    bad["3.weight"] = np.zeros(1)
    before = model[0].weight.numpy().copy()
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(bad)
    msg = str(info.value)
    assert "0.weight: expected (8, 1, 3, 3), got (8, 3, 3)" in msg
    assert "missing keys: '2.bias'" in msg
    assert "unexpected keys: '3.weight'" in msg
    np.testing.assert_array_equal(model[0].weight.numpy(), before)   # nothing was loaded

    # strict=False tolerates missing/unexpected keys but not shape mismatches
    with pytest.raises(RuntimeError, match=r"0\.weight: expected \(8, 1, 3, 3\), got \(8, 3, 3\)"):
        model.load_state_dict(bad, strict=False)
    partial = OrderedDict(good)
    del partial["2.bias"]
    partial["extra"] = np.zeros(2)
    result = model.load_state_dict(partial, strict=False)
    assert result == nn.IncompatibleKeys(["2.bias"], ["extra"])
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["extra"]
    with pytest.raises(RuntimeError, match="2.weight: expected a numeric array"):
        model.load_state_dict({**good, "2.weight": np.array([["a", "b"]] * 2)})


# ----------------------------------------------------------------------------------------------
# modes, repr
# ----------------------------------------------------------------------------------------------


def test_train_eval_recursive():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.block.train(False)
    assert net.training and not net.block.bn.training and net.head.training


def test_repr_matches_pytorch_format():
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Dropout(0.25), nn.Linear(1352, 10),
    )
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), bias=False)\n"
        "  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)\n"
        "  (2): ReLU()\n"
        "  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  (4): Flatten(start_dim=1, end_dim=-1)\n"
        "  (5): Dropout(p=0.25, inplace=False)\n"
        "  (6): Linear(in_features=1352, out_features=10, bias=True)\n"
        ")"
    )
    nested = nn.Sequential(nn.Sequential(nn.Tanh()), nn.Sequential(), nn.AvgPool2d(2))
    assert repr(nested) == (
        "Sequential(\n  (0): Sequential(\n    (0): Tanh()\n  )\n  (1): Sequential()\n"
        "  (2): AvgPool2d(kernel_size=2, stride=2, padding=0)\n)"
    )
    assert repr(nn.Conv2d(2, 4, (3, 5), stride=2, padding=1, dilation=2, groups=2)) == (
        "Conv2d(2, 4, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1), dilation=(2, 2), groups=2)"
    )
    assert repr(nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Sigmoid()])) == (
        "ModuleList(\n  (0-1): 2 x ReLU()\n  (2): Sigmoid()\n)"
    )
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)" and repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"


# ----------------------------------------------------------------------------------------------
# Linear / Conv2d / loss
# ----------------------------------------------------------------------------------------------


def test_linear_forward_and_wrong_in_features():
    lin = nn.Linear(3, 2)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(lin(Tensor(x)).numpy(), x @ lin.weight.numpy().T + lin.bias.numpy(), rtol=1e-6)
    assert lin(Tensor(x[0])).shape == (2,)
    assert nn.Linear(3, 2, bias=False)(Tensor(x)).shape == (4, 2)
    big = nn.Linear(1352, 10)
    with pytest.raises(ValueError, match=r"Linear: expected input with last dimension 1352 \(in_features\), "
                                         r"got shape \(4, 1000\)"):
        big(Tensor(np.zeros((4, 1000), np.float32)))


def test_conv2d_argument_checks():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(4, 3, 3, groups=2)
    assert nn.Conv2d(4, 6, 3, groups=2).weight.shape == (6, 2, 3, 3)
    with pytest.raises(ValueError, match="in_channels=3"):
        nn.Conv2d(3, 4, 3)(Tensor(np.zeros((1, 2, 5, 5), np.float32)))
    with pytest.raises(ValueError):
        nn.Dropout(1.5)
    with pytest.raises(ValueError):
        nn.Dropout(-0.1)


def test_cross_entropy_loss_module():
    logits = Tensor(np.random.default_rng(0).standard_normal((5, 4)))
    target = np.array([0, 3, 1, 1, 2])
    loss = nn.CrossEntropyLoss(label_smoothing=0.1)
    assert loss(logits, target).item() == pytest.approx(
        logits.cross_entropy(target, label_smoothing=0.1).item())
    assert nn.CrossEntropyLoss(reduction="none")(logits, target).shape == (5,)


@settings(max_examples=10)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3))
def test_gradcheck_through_linear_and_sequential(batch, n_in, n_out):
    manual_seed(batch * 100 + n_in * 10 + n_out)
    model = nn.Sequential(nn.Linear(n_in, 3), nn.Tanh(), nn.Linear(3, n_out), nn.Sigmoid()).double()
    x = Tensor(np.random.default_rng(0).standard_normal((batch, n_in)), requires_grad=True)
    w1, b1, w2, b2 = model.parameters()
    assert gradcheck(lambda x, *_: model(x), (x, w1, b1, w2, b2))


# ----------------------------------------------------------------------------------------------
# BatchNorm
# ----------------------------------------------------------------------------------------------


def test_batchnorm_train_and_eval_hand_computed():
    bn = nn.BatchNorm2d(2)
    # channel 0 holds 1, 2, 3, 6 (mean 3, biased var 3.5, unbiased 14/3); channel 1 holds 0, 0, 4, 4
    x = np.array([[[[1, 2]], [[0, 0]]], [[[3, 6]], [[4, 4]]]], dtype=np.float32)  # (2, 2, 1, 2)
    y = bn(Tensor(x))
    assert y.dtype == np.float32
    expected0 = (np.array([1, 2, 3, 6]) - 3) / math.sqrt(3.5 + 1e-5)
    expected1 = (np.array([0, 0, 4, 4]) - 2) / math.sqrt(4 + 1e-5)
    np.testing.assert_allclose(y.numpy()[:, 0].reshape(-1), expected0, rtol=1e-5)
    np.testing.assert_allclose(y.numpy()[:, 1].reshape(-1), expected1, rtol=1e-5)
    # running stats: 0.9 * old + 0.1 * batch, with the UNBIASED variance
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.3, 0.2], rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), [0.9 + 0.1 * 14 / 3, 0.9 + 0.1 * 16 / 3], rtol=1e-6)
    assert bn.num_batches_tracked.item() == 1 and bn.running_mean.dtype == np.float32
    bn(Tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.9 * 0.3 + 0.3, 0.9 * 0.2 + 0.2], rtol=1e-6)
    assert bn.num_batches_tracked.item() == 2

    # eval: the running statistics, with the affine parameters; nothing is updated
    bn.weight.numpy()[:] = [2.0, 1.0]
    bn.bias.numpy()[:] = [0.5, -1.0]
    bn.eval()
    rm, rv = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    y = bn(Tensor(x))
    ref = (x - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + 1e-5) * np.array(
        [2.0, 1.0])[None, :, None, None] + np.array([0.5, -1.0])[None, :, None, None]
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(bn.running_mean.numpy(), rm)
    assert bn.num_batches_tracked.item() == 2


def test_batchnorm_variants_and_errors():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((3, 2, 2, 2)))
    cumulative = nn.BatchNorm2d(2, momentum=None)
    cumulative(x)
    cumulative(Tensor(x.numpy() + 1))
    mean0 = x.numpy().mean(axis=(0, 2, 3))
    np.testing.assert_allclose(cumulative.running_mean.numpy(), (mean0 + mean0 + 1) / 2, rtol=1e-5)

    untracked = nn.BatchNorm2d(2, track_running_stats=False).eval()
    assert list(untracked.state_dict()) == ["weight", "bias"]
    y = untracked(x)                    # eval without running stats: batch statistics
    np.testing.assert_allclose(y.numpy().mean(axis=(0, 2, 3)), 0, atol=1e-6)
    plain = nn.BatchNorm2d(2, affine=False)
    assert list(plain.parameters()) == [] and plain(x).dtype == np.float64

    bn = nn.BatchNorm2d(2)
    with pytest.raises(ValueError, match="4-D"):
        bn(Tensor(np.zeros((3, 2, 4))))
    with pytest.raises(ValueError, match="expected 2 channels"):
        bn(Tensor(np.zeros((3, 3, 2, 2))))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(Tensor(np.zeros((1, 2, 1, 1))))
    bn.eval()(Tensor(np.zeros((1, 2, 1, 1))))  # fine in eval


def test_batchnorm_keeps_channels_last_layout():
    rng = np.random.default_rng(0)
    nchw = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    nhwc_view = np.ascontiguousarray(nchw.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w, b = Tensor(rng.standard_normal(3)), Tensor(rng.standard_normal(3))
    a = BatchNorm2dFunction.apply(Tensor(nchw), w, b)
    c = BatchNorm2dFunction.apply(Tensor(nhwc_view), w, b)
    np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-5, atol=1e-6)
    assert c.numpy().transpose(0, 2, 3, 1).flags.c_contiguous
    # backward agrees too, whatever the memory order of the incoming gradient
    g = rng.standard_normal(nchw.shape).astype(np.float32)
    grads = []
    for x_arr, g_arr in [(nchw, g), (nhwc_view, g), (nhwc_view, np.asfortranarray(g))]:
        x = Tensor(x_arr, requires_grad=True)
        w = Tensor(np.full(3, 1.5, np.float32), requires_grad=True)
        b = Tensor(np.zeros(3, np.float32), requires_grad=True)
        BatchNorm2dFunction.apply(x, w, b).backward(g_arr)
        grads.append((x.grad.numpy(), w.grad.numpy(), b.grad.numpy()))
    for other in grads[1:]:
        for u, v in zip(grads[0], other):
            np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5)


@st.composite
def bn_shapes(draw):
    n, c, h, w = (draw(st.integers(1, 3)) for _ in range(4))
    if n * h * w < 2:
        h = 2
    return n, c, h, w


@settings(max_examples=16)
@given(bn_shapes(), st.booleans(), st.booleans(), st.integers(0, 2 ** 16))
def test_batchnorm_function_gradcheck(shape, fixed_stats, channels_last, seed):
    rng = np.random.default_rng(seed)
    c = shape[1]
    data = rng.standard_normal(shape) * 2 + 0.5
    w = Tensor(rng.standard_normal(c) + 1.5, requires_grad=True)
    b = Tensor(rng.standard_normal(c), requires_grad=True)
    stats = dict(mean=rng.standard_normal(c), var=rng.uniform(0.5, 2.0, c)) if fixed_stats else {}
    if channels_last:
        # an NCHW-shaped view of NHWC memory, as the conv ops produce: permute a contiguous NHWC
        # tensor (gradcheck itself needs C-contiguous inputs to perturb)
        x = Tensor(np.ascontiguousarray(data.transpose(0, 2, 3, 1)), requires_grad=True)

        def fn(x, w, b):
            return BatchNorm2dFunction.apply(x.permute(0, 3, 1, 2), w, b, eps=1e-5, **stats)
    else:
        x = Tensor(data, requires_grad=True)

        def fn(x, w, b):
            return BatchNorm2dFunction.apply(x, w, b, eps=1e-5, **stats)
    assert gradcheck(fn, (x, w, b), atol=1e-5, rtol=1e-3)


def test_batchnorm_function_with_given_batch_stats_matches():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)
    w, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.zeros(3), requires_grad=True)

    def fn(x, w, b):  # the statistics are recomputed from x at every perturbation, as in training
        mean, var = batch_stats(x.numpy())
        return BatchNorm2dFunction.apply(x, w, b, mean=mean, var=var, batch_stats=True)

    assert gradcheck(fn, (x, w, b))
    mean, var = batch_stats(x.numpy())
    np.testing.assert_allclose(mean, x.numpy().mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(var, x.numpy().var(axis=(0, 2, 3)), rtol=1e-12)


def test_batchnorm_module_gradcheck_float64():
    manual_seed(0)
    bn = nn.BatchNorm2d(2).double()
    bn.weight.numpy()[:] = [1.5, 0.7]
    x = Tensor(np.random.default_rng(1).standard_normal((2, 2, 2, 3)), requires_grad=True)
    assert gradcheck(lambda x, w, b: bn(x) * Tensor(np.arange(24.0).reshape(2, 2, 2, 3)), (x, bn.weight, bn.bias))


# ----------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------


def test_dropout_rate_scaling_and_eval():
    manual_seed(0)
    p = 0.3
    drop = nn.Dropout(p)
    x = Tensor(np.random.default_rng(0).uniform(1, 2, (400, 500)).astype(np.float32), requires_grad=True)
    y = drop(x)
    zeros = y.numpy() == 0
    assert abs(zeros.mean() - p) < 0.005
    kept = ~zeros
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / (1 - p), rtol=1e-6)
    assert y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / (1 - p), rtol=1e-6)   # gradient is the mask
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).numpy(), 0)


def test_dropout_reproducible_with_manual_seed():
    x = Tensor(np.ones((50, 50), np.float32))
    manual_seed(7)
    a = nn.Dropout(0.5)(x).numpy()
    manual_seed(7)
    b = nn.Dropout(0.5)(x).numpy()
    c = nn.Dropout(0.5)(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


# ----------------------------------------------------------------------------------------------
# init
# ----------------------------------------------------------------------------------------------


def test_model_construction_is_reproducible():
    manual_seed(0)
    a = small_cnn().state_dict()
    manual_seed(0)
    b = small_cnn().state_dict()
    manual_seed(1)
    c = small_cnn().state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["0.weight"], c["0.weight"])


def test_calculate_gain_and_fans():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(ValueError):
        init.calculate_gain("swish")
    assert init._calculate_fan_in_and_fan_out(Tensor(np.zeros((8, 3, 5, 5)))) == (75, 200)
    assert init._calculate_fan_in_and_fan_out(Tensor(np.zeros((10, 20)))) == (20, 10)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(Tensor(np.zeros(5)))


def test_init_bounds_and_std():
    manual_seed(0)
    t = Tensor(np.zeros((300, 200), np.float32))
    init.xavier_uniform_(t, gain=2.0)
    bound = 2.0 * math.sqrt(6 / 500)
    assert t.dtype == np.float32 and np.abs(t.numpy()).max() <= bound
    assert np.abs(t.numpy()).max() > 0.99 * bound
    assert t.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    init.xavier_normal_(t)
    assert t.numpy().std() == pytest.approx(math.sqrt(2 / 500), rel=0.02)
    init.kaiming_uniform_(t, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 200)
    assert np.abs(t.numpy()).max() <= bound and t.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
    assert t.numpy().std() == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    assert abs(t.numpy().mean()) < 0.01
    init.uniform_(t, -0.5, 0.25)
    assert t.numpy().min() >= -0.5 and t.numpy().max() < 0.25
    init.normal_(t, 3.0, 0.5)
    assert t.numpy().mean() == pytest.approx(3.0, abs=0.01) and t.numpy().std() == pytest.approx(0.5, rel=0.02)
    init.zeros_(t)
    assert not t.numpy().any()
    init.ones_(t)
    assert (t.numpy() == 1).all()
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(t, mode="fan_avg")


def test_default_layer_init_matches_pytorch_bounds():
    manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)             # kaiming_uniform_(a=sqrt(5)) reduces to 1/sqrt(fan_in)
    assert np.abs(lin.weight.numpy()).max() <= bound and np.abs(lin.weight.numpy()).max() > 0.99 * bound
    assert np.abs(lin.bias.numpy()).max() <= bound
    conv = nn.Conv2d(16, 32, 3)
    bound = 1 / math.sqrt(16 * 9)
    assert np.abs(conv.weight.numpy()).max() <= bound and np.abs(conv.bias.numpy()).max() <= bound
    assert conv.weight.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    bn = nn.BatchNorm2d(3)
    assert (bn.weight.numpy() == 1).all() and (bn.bias.numpy() == 0).all()


def test_no_grad_forward_builds_no_graph():
    model = small_cnn()
    with no_grad():
        out = model(Tensor(np.zeros((2, 1, 6, 6), np.float32)))
    assert not out.requires_grad
