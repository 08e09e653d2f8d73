"""The normalisation, dropout, embedding, activation and loss layers against PyTorch's (skipped
without torch).

Each layer is built with the same arguments in both frameworks, torch's weights are copied into
ours through ``state_dict``, and then: state_dict keys, shapes and dtypes, parameter and buffer
names, repr; forward values, the gradients of the input and of every parameter; running
statistics after a few training steps and the outputs in eval mode. Norm layers are also run on
float32 channels-last inputs (the memory order a conv produces).
"""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tnn = torch.nn

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

import tinygrad_cnn as tg  # noqa: E402
from tinygrad_cnn import Tensor, nn  # noqa: E402

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}


def channels_last(a):
    """The same values, in NHWC (or N L C) memory, as a conv output."""
    order = (0, *range(2, a.ndim), 1)
    return np.ascontiguousarray(a.transpose(order)).transpose(np.argsort(order))


def build(name, *args, dtype=np.float64, randomise=True, **kwargs):
    """(ours, theirs): the same layer in both frameworks, torch's (randomised) state copied into ours."""
    theirs = getattr(tnn, name)(*args, **kwargs)
    ours = getattr(nn, name)(*args, **kwargs)
    if dtype == np.float64:
        theirs.double()
        ours.double()
    if randomise:
        with torch.no_grad():
            for p in theirs.parameters():
                p.uniform_(0.5, 1.5)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def assert_same_state(ours, theirs):
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(ref)
    for key in ref:
        assert mine[key].shape == tuple(ref[key].shape), key
        assert str(mine[key].dtype) == str(ref[key].dtype).replace("torch.", ""), key
        np.testing.assert_allclose(mine[key], ref[key].detach().numpy(), rtol=1e-6, atol=1e-7, err_msg=key)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert repr(ours) == repr(theirs)


def run_both(ours, theirs, x, dtype=np.float64, layout=None, seed=0, grad=True, tol=None):
    """Forward (and backward with the same upstream gradient) in both; compare values and grads.
    torch's in-place layers get a non-leaf copy (they would refuse a leaf that requires grad)."""
    tol = tol or TOL[dtype]
    x = np.asarray(x, dtype=dtype)
    mine = Tensor(layout(x) if layout else x, requires_grad=grad)
    ref = torch.tensor(x, requires_grad=grad)
    out, expected = ours(mine), theirs(ref * 1 if getattr(theirs, "inplace", False) else ref)
    assert out.shape == tuple(expected.shape) and out.dtype == dtype
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **tol)
    if grad:
        g = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
        out.backward(g)
        expected.backward(torch.tensor(g))
        np.testing.assert_allclose(mine.grad.numpy(), ref.grad.numpy(), **tol)
        theirs_params = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), **tol, err_msg=name)
            assert p.grad.dtype == p.dtype
    return out


def data(shape, seed=1, scale=2.0, shift=0.5):
    return np.random.default_rng(seed).standard_normal(shape) * scale + shift


# ----------------------------------------------------------------------------------------------
# normalisation layers

NORM_CASES = [
    ("BatchNorm1d", (3,), {}, (4, 3)),
    ("BatchNorm1d", (3,), {}, (4, 3, 5)),
    ("BatchNorm1d", (3,), {"momentum": None}, (4, 3, 5)),
    ("BatchNorm1d", (3,), {"affine": False, "track_running_stats": False}, (4, 3)),
    ("BatchNorm2d", (3,), {}, (2, 3, 4, 5)),
    ("BatchNorm2d", (3,), {"momentum": None}, (2, 3, 4, 5)),
    ("BatchNorm2d", (3,), {"momentum": 0.3, "eps": 1e-3}, (2, 3, 4, 5)),
    ("BatchNorm2d", (3,), {"affine": False}, (2, 3, 4, 5)),
    ("BatchNorm2d", (3,), {"bias": False}, (2, 3, 4, 5)),
    ("BatchNorm2d", (3,), {"track_running_stats": False}, (2, 3, 4, 5)),
    ("BatchNorm2d", (3,), {"affine": False, "track_running_stats": False, "momentum": None}, (2, 3, 4, 5)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 6)),
    ("InstanceNorm1d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 6)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 6)),
    ("InstanceNorm2d", (3,), {}, (2, 3, 4, 5)),
    ("InstanceNorm2d", (3,), {"affine": True}, (2, 3, 4, 5)),
    ("InstanceNorm2d", (3,), {"track_running_stats": True, "momentum": 0.4}, (2, 3, 4, 5)),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True, "momentum": None}, (2, 3, 4, 5)),
    ("InstanceNorm2d", (3,), {"affine": True, "bias": False}, (3, 4, 5)),
    ("LayerNorm", (5,), {}, (2, 3, 4, 5)),
    ("LayerNorm", ([4, 5],), {}, (2, 3, 4, 5)),
    ("LayerNorm", ((3, 4, 5),), {"eps": 1e-3}, (2, 3, 4, 5)),
    ("LayerNorm", (5,), {"bias": False}, (6, 5)),
    ("LayerNorm", ([3, 4],), {"elementwise_affine": False}, (2, 3, 4)),
    ("LayerNorm", (4,), {}, (4,)),
    ("GroupNorm", (1, 6), {}, (2, 6, 4, 5)),
    ("GroupNorm", (2, 6), {}, (2, 6, 4, 5)),
    ("GroupNorm", (3, 6), {"eps": 1e-3}, (2, 6, 7)),
    ("GroupNorm", (6, 6), {}, (2, 6, 3, 2)),
    ("GroupNorm", (2, 6), {"affine": False}, (2, 6)),
    ("GroupNorm", (3, 6), {"bias": False}, (2, 6, 2, 2, 2)),
]


def case_id(case):
    name, args, kwargs, shape = case
    return f"{name}{args}{kwargs or ''}-{shape}"


@pytest.mark.parametrize("case", NORM_CASES, ids=case_id)
def test_norm_layer_matches_torch(case):
    """State, repr, three training steps (outputs, grads, running statistics) and eval outputs."""
    name, args, kwargs, shape = case
    ours, theirs = build(name, *args, **kwargs)
    assert_same_state(ours, theirs)
    for step in range(3):
        run_both(ours, theirs, data(shape, seed=step, shift=step), seed=step)
        for p in list(ours.parameters()) + list(theirs.parameters()):
            p.grad = None
        assert_same_state(ours, theirs)  # running statistics and num_batches_tracked
    ours.eval()
    theirs.eval()
    run_both(ours, theirs, data(shape, seed=9, shift=-1.0), seed=9)
    assert_same_state(ours, theirs)


@pytest.mark.parametrize("name, args, kwargs", [
    ("BatchNorm2d", (16,), {}), ("InstanceNorm2d", (16,), {"affine": True, "track_running_stats": True}),
    ("GroupNorm", (4, 16), {}), ("GroupNorm", (16, 16), {}), ("LayerNorm", ((16, 7, 6),), {}),
    ("LayerNorm", (6,), {}),
])
def test_norm_layer_float32_channels_last(name, args, kwargs):
    """float32 inputs in channels-last memory: torch's values and grads, the output keeps the
    input's memory order where the normalised axes allow it, and everything stays float32."""
    ours, theirs = build(name, *args, dtype=np.float32, **kwargs)
    x = data((3, 16, 7, 6)).astype(np.float32)
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        out = run_both(ours, theirs, x, dtype=np.float32, layout=channels_last)
        if args != (6,):  # normalising W alone needs C order
            assert out.numpy().transpose(0, 2, 3, 1).flags.c_contiguous
        assert_same_state(ours, theirs)


def test_batchnorm_eval_without_running_stats_uses_batch_stats():
    ours, theirs = build("BatchNorm2d", 3, track_running_stats=False)
    ours.eval()
    theirs.eval()
    run_both(ours, theirs, data((2, 3, 4, 4)))
    ours, theirs = build("BatchNorm2d", 3)  # buffers set to None after construction: batch statistics too
    ours.running_mean = ours.running_var = None
    theirs.running_mean = theirs.running_var = None
    ours.eval()
    theirs.eval()
    run_both(ours, theirs, data((2, 3, 4, 4)))


def test_instance_norm_channel_mismatch_warns_like_torch():
    ours, theirs = build("InstanceNorm2d", 4)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        run_both(ours, theirs, data((2, 3, 4, 4)))
    messages = [str(w.message) for w in got if issubclass(w.category, UserWarning)]
    assert len(messages) == 2 and messages[0] == messages[1]
    for layer in (nn.InstanceNorm2d(4, affine=True), tnn.InstanceNorm2d(4, affine=True)):
        with pytest.raises(ValueError, match="num_features"):
            layer(Tensor(data((2, 3, 4, 4))) if isinstance(layer, nn.Module) else torch.tensor(data((2, 3, 4, 4))))


@settings(max_examples=15)
@given(n=st.integers(1, 3), groups=st.sampled_from([1, 2, 4]), per_group=st.integers(1, 3),
       spatial=st.lists(st.integers(1, 4), min_size=0, max_size=3), last=st.booleans(), affine=st.booleans())
def test_group_norm_drawn_shapes(n, groups, per_group, spatial, last, affine):
    c = groups * per_group
    ours, theirs = build("GroupNorm", groups, c, affine=affine)
    shape = (n, c, *spatial)
    if n * per_group * np.prod(spatial, dtype=int) == 1:  # torch's "more than 1 value per channel" rule
        for layer, x in ((ours, Tensor(data(shape))), (theirs, torch.tensor(data(shape)))):
            with pytest.raises(ValueError, match="more than 1 value"):
                layer(x)
        return
    run_both(ours, theirs, data(shape), layout=channels_last if last and spatial else None)


@settings(max_examples=15)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2), norm=st.lists(st.integers(1, 4), min_size=1,
       max_size=3), perm_seed=st.integers(0, 100), affine=st.booleans())
def test_layer_norm_drawn_shapes_and_memory_orders(lead, norm, perm_seed, affine):
    ours, theirs = build("LayerNorm", tuple(norm), elementwise_affine=affine)
    shape = (*lead, *norm)
    order = np.random.default_rng(perm_seed).permutation(len(shape))
    run_both(ours, theirs, data(shape), layout=lambda a: np.ascontiguousarray(a.transpose(order)).transpose(
        np.argsort(order)))


# ----------------------------------------------------------------------------------------------
# embedding, dropout, unflatten


@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 2}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
                                    {"padding_idx": 0, "scale_grad_by_freq": True}, {"norm_type": 1.0}])
def test_embedding_matches_torch(kwargs):
    ours, theirs = build("Embedding", 7, 3, randomise=False, **kwargs)
    assert_same_state(ours, theirs)
    idx = np.array([[0, 2, 2, 6], [6, 1, 2, 0]])
    out, expected = ours(tg.tensor(idx)), theirs(torch.tensor(idx))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **TOL[np.float64])
    g = data(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **TOL[np.float64])
    assert ours(tg.tensor(3, dtype=tg.int32)).shape == tuple(theirs(torch.tensor(3, dtype=torch.int32)).shape)


def test_embedding_init_and_from_pretrained_like_torch():
    torch.manual_seed(0)
    tg.manual_seed(0)
    ours, theirs = nn.Embedding(500, 40, padding_idx=3), tnn.Embedding(500, 40, padding_idx=3)
    w = ours.weight.numpy()
    assert w.dtype == np.float32 and not w[3].any() and not theirs.weight[3].any()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02  # N(0, 1), as torch's
    pre = data((4, 2))
    mine = nn.Embedding.from_pretrained(Tensor(pre), padding_idx=1)
    ref = tnn.Embedding.from_pretrained(torch.tensor(pre), padding_idx=1)
    assert repr(mine) == repr(ref) and mine.weight.requires_grad == ref.weight.requires_grad is False
    unfrozen = nn.Embedding.from_pretrained(Tensor(pre), freeze=False)
    assert unfrozen.weight.requires_grad and unfrozen.weight.dtype == np.float64
    np.testing.assert_array_equal(unfrozen.weight.numpy(), pre)


@pytest.mark.parametrize("name, shape", [("Dropout", (3, 4)), ("Dropout1d", (3, 4, 5)), ("Dropout1d", (4, 5)),
                                         ("Dropout2d", (2, 3, 4, 5)), ("Dropout2d", (3, 4, 5))])
def test_dropout_layers_like_torch(name, shape):
    """Same repr; the same kind of mask (elementwise or per channel), scaled by 1/(1-p); eval is
    the identity."""
    ours, theirs = getattr(nn, name)(p=0.4), getattr(tnn, name)(p=0.4)
    assert repr(ours) == repr(theirs) and not ours.state_dict()
    x = np.ones(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's and our 3-D Dropout2d warnings
        out, expected = ours(Tensor(x)).numpy(), theirs(torch.tensor(x)).numpy()
    for o in (out, expected):
        assert set(np.unique(o)) <= {0.0, 1 / 0.6}
        if name != "Dropout":  # whole channels: constant along the last axes (3-D Dropout2d: (N, C, L))
            channel_axes = 1 if name == "Dropout1d" and len(shape) == 2 else 2
            flat = o.reshape(*o.shape[:channel_axes], -1)
            assert (flat == flat[..., :1]).all()
    ours.eval()
    theirs.eval()
    np.testing.assert_array_equal(ours(Tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())


@pytest.mark.parametrize("dim, sizes, shape", [(1, (2, 3), (4, 6)), (-1, [2, -1], (3, 4, 8)), (0, (1, 2), (2, 5))])
def test_unflatten_matches_torch(dim, sizes, shape):
    ours, theirs = nn.Unflatten(dim, sizes), tnn.Unflatten(dim, sizes)
    assert repr(ours) == repr(theirs)
    run_both(ours, theirs, data(shape))
    with pytest.raises(RuntimeError):
        theirs(torch.zeros(7, 7))
    with pytest.raises(RuntimeError):
        ours(tg.zeros(7, 7))


# ----------------------------------------------------------------------------------------------
# activations

ACTIVATIONS = [
    ("ReLU", (), {}), ("ReLU", (), {"inplace": True}), ("ReLU6", (), {}), ("ReLU6", (True,), {}),
    ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}), ("ELU", (), {}), ("ELU", (0.5,), {"inplace": True}),
    ("SELU", (), {}), ("SELU", (True,), {}), ("CELU", (), {}), ("CELU", (2.0,), {}), ("GELU", (), {}),
    ("GELU", ("tanh",), {}), ("SiLU", (), {}), ("SiLU", (True,), {}), ("Mish", (), {}), ("Mish", (True,), {}),
    ("Softplus", (), {}), ("Softplus", (2.0, 1.0), {}), ("Hardswish", (), {}), ("Hardswish", (True,), {}),
    ("Hardsigmoid", (), {}), ("Hardsigmoid", (True,), {}), ("Hardtanh", (), {}), ("Hardtanh", (0, 6, True), {}),
    ("Hardtanh", (-2.0, 0.5), {}), ("Softsign", (), {}), ("LogSigmoid", (), {}), ("Tanhshrink", (), {}),
    ("Sigmoid", (), {}), ("Tanh", (), {}), ("Softmax", (1,), {}), ("Softmax", (), {"dim": -1}),
    ("LogSoftmax", (0,), {}), ("LogSoftmax", (), {"dim": 2}), ("Softmin", (), {"dim": 1}), ("Softmax2d", (), {}),
]


@pytest.mark.parametrize("name, args, kwargs", ACTIVATIONS, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activation_matches_torch(name, args, kwargs, dtype):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs) and not ours.state_dict()
    assert isinstance(ours, nn.Hardtanh) == isinstance(theirs, tnn.Hardtanh)
    x = data((2, 3, 4, 5), scale=3.0, shift=0.0)
    x[np.abs(x) < 1e-3] = 0.5  # keep away from kinks
    x[np.abs(np.abs(x) - 3) < 1e-3] = 1.5
    x[np.abs(x - 6) < 1e-3] = 5.0
    # torch's float64 hardsigmoid backward multiplies by a float32 1/6 (relative error 3e-8)
    tol = dict(rtol=1e-7, atol=1e-12) if name == "Hardsigmoid" and dtype == np.float64 else None
    run_both(ours, theirs, x, dtype=dtype, tol=tol)


@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax", "Softmin"])
@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_softmax_default_dim_is_torch_implicit_choice(name, ndim):
    ours, theirs = getattr(nn, name)(), getattr(tnn, name)()
    assert repr(ours) == repr(theirs) == f"{name}(dim=None)"
    x = data((2, 3, 4, 5)[:ndim])
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        out = ours(Tensor(x)).numpy()
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        expected = theirs(torch.tensor(x)).numpy()
    np.testing.assert_allclose(out, expected, **TOL[np.float64])


def test_hardtanh_bounds_checked_like_torch():
    for module in (nn, tnn):
        with pytest.raises((ValueError, AssertionError)):
            module.Hardtanh(1.0, 1.0)
    with pytest.warns(FutureWarning):
        layer = nn.Hardtanh(min_value=-2.0)
    assert layer.min_val == -2.0


# ----------------------------------------------------------------------------------------------
# losses


def loss_inputs(name, seed=3):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((5, 4))
    if name in ("CrossEntropyLoss", "NLLLoss"):
        target = np.array([0, 3, 1, 3, 2])
        x = logits if name == "CrossEntropyLoss" else logits - np.log(np.exp(logits).sum(1, keepdims=True))
        return x, target
    if name == "BCELoss":
        return 1 / (1 + np.exp(-logits)), rng.random((5, 4))
    if name == "BCEWithLogitsLoss":
        return logits, rng.random((5, 4))
    if name == "KLDivLoss":
        return logits - np.log(np.exp(logits).sum(1, keepdims=True)), rng.dirichlet(np.ones(4), 5)
    return logits, rng.standard_normal((5, 4))


LOSSES = [
    ("CrossEntropyLoss", {}), ("CrossEntropyLoss", {"weight": [1.0, 2.0, 0.5, 1.5]}),
    ("CrossEntropyLoss", {"ignore_index": 3, "reduction": "sum"}), ("CrossEntropyLoss", {"label_smoothing": 0.2}),
    ("CrossEntropyLoss", {"weight": [1.0, 2.0, 0.5, 1.5], "label_smoothing": 0.1, "reduction": "none"}),
    ("NLLLoss", {}), ("NLLLoss", {"weight": [1.0, 2.0, 0.5, 1.5], "ignore_index": 1}),
    ("MSELoss", {}), ("MSELoss", {"reduction": "sum"}), ("L1Loss", {"reduction": "none"}), ("L1Loss", {}),
    ("SmoothL1Loss", {}), ("SmoothL1Loss", {"beta": 0.5}), ("SmoothL1Loss", {"beta": 0.0}), ("HuberLoss", {}),
    ("HuberLoss", {"delta": 0.3, "reduction": "sum"}), ("BCELoss", {}), ("BCELoss", {"weight": [1.0, 2.0, 0.5, 1.5]}),
    ("BCEWithLogitsLoss", {}), ("BCEWithLogitsLoss", {"pos_weight": [1.0, 3.0, 0.5, 2.0]}),
    ("BCEWithLogitsLoss", {"weight": [[1.0], [2.0], [0.5], [1.0], [3.0]], "pos_weight": [2.0, 1.0, 1.0, 1.0]}),
    ("KLDivLoss", {"reduction": "batchmean"}), ("KLDivLoss", {"reduction": "sum", "log_target": True}),
]


@pytest.mark.parametrize("name, kwargs", LOSSES, ids=lambda v: str(v))
def test_loss_matches_torch(name, kwargs):
    """Buffers (weight, pos_weight) in state_dict as torch's; values and input gradients."""
    mine = {k: Tensor(np.array(v)) if isinstance(v, list) else v for k, v in kwargs.items()}
    ref = {k: torch.tensor(np.array(v)) if isinstance(v, list) else v for k, v in kwargs.items()}
    ours, theirs = getattr(nn, name)(**mine), getattr(tnn, name)(**ref)
    assert_same_state(ours, theirs)
    x, target = loss_inputs(name)
    if name == "KLDivLoss" and kwargs.get("log_target"):
        target = np.log(target)
    a, b = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    t_ours = tg.tensor(target) if target.dtype.kind == "i" else Tensor(target)
    out, expected = ours(a, t_ours), theirs(b, torch.tensor(target))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **TOL[np.float64])
    g = data(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL[np.float64])


@pytest.mark.parametrize("size_average, reduce", [(False, None), (None, False), (True, True), (False, True)])
def test_legacy_reduction_flags_like_torch(size_average, reduce):
    for name in ("MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss", "KLDivLoss"):
        with pytest.warns(UserWarning) as ours_warn:
            ours = getattr(nn, name)(size_average=size_average, reduce=reduce)
        with pytest.warns(UserWarning) as theirs_warn:
            theirs = getattr(tnn, name)(size_average=size_average, reduce=reduce)
        assert ours.reduction == theirs.reduction
        assert str(ours_warn[0].message) == str(theirs_warn[0].message)


def test_loss_buffers_follow_dtype_casts():
    ours = nn.CrossEntropyLoss(weight=Tensor(np.ones(3, dtype=np.float32)))
    theirs = tnn.CrossEntropyLoss(weight=torch.ones(3))
    ours.double()
    theirs.double()
    assert_same_state(ours, theirs)


@pytest.mark.parametrize("name, args, kwargs", [
    ("BatchNorm1d", (3,), {}), ("BatchNorm2d", (3,), {"affine": False}),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}), ("LayerNorm", ((2, 3),), {}),
    ("GroupNorm", (1, 3), {}), ("Embedding", (4, 3), {}),
])
def test_device_and_dtype_arguments_like_torch(name, args, kwargs):
    ours = getattr(nn, name)(*args, device="cpu", dtype=tg.float64, **kwargs)
    theirs = getattr(tnn, name)(*args, device="cpu", dtype=torch.float64, **kwargs)
    assert {k: str(v.dtype) for k, v in ours.state_dict().items()} == {
        k: str(v.dtype).replace("torch.", "") for k, v in theirs.state_dict().items()}
    with pytest.raises(RuntimeError, match="CPU only"):
        getattr(nn, name)(*args, device="cuda", **kwargs)


def test_moved_layers_still_importable_from_nn_layers():
    from tinygrad_cnn.nn import layers
    for name in ("BatchNorm2d", "Dropout", "ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "CrossEntropyLoss",
                 "Flatten", "Identity"):
        assert getattr(layers, name) is getattr(nn, name) and name in layers.__all__
    for name in nn.__all__:
        assert hasattr(nn, name), name
