"""layer_norm, group_norm, instance_norm and embedding (ops/norm_extra.py, ops/embedding.py) and
the layers built on them, without torch (test_torch_layers.py compares with PyTorch).

float64 gradchecks over hypothesis-drawn shapes, memory orders and affine choices; hand-computed
values; the memory order of the output; float32 in, float32 out; results that do not depend on
the thread count; running statistics; layer state, reprs and init; and clear errors.
"""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tg
import tinygrad_cnn.nn.functional as F
from tinygrad_cnn import Tensor, nn, parallel
from tinygrad_cnn.testing import arrays, assert_gradcheck

SIDE = st.integers(1, 3)


def permuted(a, order):
    """The same values with memory in axis order ``order`` (a non-contiguous view unless sorted)."""
    return np.ascontiguousarray(a.transpose(order)).transpose(np.argsort(order))


def channels_last(a):
    return permuted(a, (0, *range(2, a.ndim), 1))


def leaf(a):
    return Tensor(a, requires_grad=True)


# ----------------------------------------------------------------------------------------------
# gradchecks


@settings(max_examples=20)
@given(data=st.data(), lead=st.lists(SIDE, max_size=2), norm=st.lists(SIDE, min_size=1, max_size=3),
       affine=st.sampled_from(["both", "weight", "bias", "none"]), eps=st.sampled_from([1e-5, 0.5]))
def test_layer_norm_gradcheck(data, lead, norm, affine, eps):
    shape = (*lead, *norm)
    if math.prod(norm) < 2:
        norm, shape = [*norm[:-1], 2], (*lead, *norm[:-1], 2)
    order = data.draw(st.permutations(range(len(shape))), label="memory order")
    x = leaf(permuted(data.draw(arrays(shape, unique=True), label="x"), order))
    w = leaf(data.draw(arrays(tuple(norm), low=0.5, high=2.0))) if affine in ("both", "weight") else None
    b = leaf(data.draw(arrays(tuple(norm)))) if affine in ("both", "bias") else None
    inputs = [t for t in (x, w, b) if t is not None]

    def fn(*ts):
        it = iter(ts[1:])
        return F.layer_norm(ts[0], tuple(norm), next(it) if w is not None else None,
                            next(it) if b is not None else None, eps)

    assert_gradcheck(fn, *inputs)


@settings(max_examples=20)
@given(data=st.data(), n=st.integers(1, 2), groups=st.integers(1, 3), per_group=st.integers(1, 2),
       spatial=st.lists(SIDE, max_size=2), last=st.booleans(), affine=st.booleans())
def test_group_norm_gradcheck(data, n, groups, per_group, spatial, last, affine):
    c = groups * per_group
    if per_group * math.prod(spatial) < 2:
        spatial = [*spatial, 2]
    a = data.draw(arrays((n, c, *spatial), unique=True), label="x")
    x = leaf(channels_last(a) if last else a)
    if affine:
        w, b = leaf(data.draw(arrays(c, low=0.5, high=2.0))), leaf(data.draw(arrays(c)))
        assert_gradcheck(lambda x, w, b: F.group_norm(x, groups, w, b), x, w, b)
    else:
        assert_gradcheck(lambda x: F.group_norm(x, groups), x)


@settings(max_examples=20)
@given(data=st.data(), n=st.integers(1, 2), c=st.integers(1, 3), spatial=st.lists(SIDE, min_size=1, max_size=2),
       last=st.booleans(), use_input_stats=st.booleans(), running=st.booleans())
def test_instance_norm_gradcheck(data, n, c, spatial, last, use_input_stats, running):
    if math.prod(spatial) < 2:
        spatial = [*spatial, 2]
    a = data.draw(arrays((n, c, *spatial), unique=True), label="x")
    x, w, b = leaf(channels_last(a) if last else a), leaf(data.draw(arrays(c, low=0.5, high=2.0))), leaf(
        data.draw(arrays(c)))
    stats = (Tensor(data.draw(arrays(c))), Tensor(data.draw(arrays(c, low=0.5, high=2.0)))) if (
        running or not use_input_stats) else (None, None)
    before = [s.numpy().copy() for s in stats if s is not None]
    assert_gradcheck(lambda x, w, b: F.instance_norm(x, *stats, w, b, use_input_stats, momentum=0.0), x, w, b)
    for s, old in zip([s for s in stats if s is not None], before):  # momentum 0: the buffers stay
        np.testing.assert_array_equal(s.numpy(), old)


@settings(max_examples=20)
@given(data=st.data(), rows=st.integers(1, 5), dim=st.integers(1, 3), scale=st.booleans(), pad=st.booleans())
def test_embedding_gradcheck_with_repeated_indices(data, rows, dim, scale, pad):
    idx = np.array(data.draw(st.lists(st.integers(0, rows - 1), min_size=1, max_size=6)))
    idx = idx.reshape(data.draw(st.sampled_from([(-1,), (1, -1)])))
    padding_idx = int(idx.flat[0]) if pad else None
    w = leaf(data.draw(arrays((rows, dim))))
    out = F.embedding(tg.tensor(idx), w, padding_idx, scale_grad_by_freq=scale)
    np.testing.assert_array_equal(out.numpy(), w.numpy()[idx])
    if padding_idx is None and not scale:  # both change the gradient on purpose
        assert_gradcheck(lambda w: F.embedding(tg.tensor(idx), w), w)
    out.backward(np.ones(out.shape))
    counts = np.bincount(idx.reshape(-1), minlength=rows).astype(float)
    expected = np.repeat((np.minimum(counts, 1) if scale else counts)[:, None], dim, axis=1)
    if padding_idx is not None:
        expected[padding_idx] = 0
    np.testing.assert_allclose(w.grad.numpy(), expected)


# ----------------------------------------------------------------------------------------------
# values, memory order, dtypes, threads


def test_hand_computed_values():
    x = Tensor(np.array([[1.0, 2.0, 3.0, 4.0]]))
    expected = (np.array([1.0, 2.0, 3.0, 4.0]) - 2.5) / math.sqrt(1.25 + 1e-5)
    np.testing.assert_allclose(F.layer_norm(x, (4,)).numpy()[0], expected, rtol=1e-14)
    w, b = Tensor(np.array([1.0, 2.0, 3.0, 4.0])), Tensor(np.ones(4))
    np.testing.assert_allclose(F.layer_norm(x, 4, w, b).numpy()[0], expected * w.numpy() + 1, rtol=1e-14)
    # groups of two channels: [1, 2 | 3, 4] -> each group normalised on its own
    g = F.group_norm(x, 2, eps=0.0).numpy()[0]
    np.testing.assert_allclose(g, [-1.0, 1.0, -1.0, 1.0], rtol=1e-14)
    inst = F.instance_norm(Tensor(np.array([[[0.0, 2.0], [5.0, 5.0]]])), eps=0.0).numpy()
    np.testing.assert_allclose(inst[0, 0], [-1.0, 1.0])
    assert np.isnan(inst[0, 1]).all()  # a constant channel with eps 0: 0 / 0, as in PyTorch


@pytest.mark.parametrize("op", [
    lambda x: F.layer_norm(x, x.shape[1:]), lambda x: F.group_norm(x, 4), lambda x: F.instance_norm(x),
    lambda x: nn.GroupNorm(2, 8)(x), lambda x: nn.InstanceNorm2d(8, affine=True)(x),
])
def test_float32_channels_last_in_float32_channels_last_out(op):
    a = np.random.default_rng(0).standard_normal((2, 8, 5, 3)).astype(np.float32)
    x = leaf(channels_last(a))
    out = op(x)
    assert out.dtype == np.float32 and out.numpy().transpose(0, 2, 3, 1).flags.c_contiguous
    np.testing.assert_allclose(out.numpy(), op(Tensor(np.ascontiguousarray(a))).numpy(), rtol=1e-5, atol=1e-5)
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("op", [
    lambda x, w: F.layer_norm(x, x.shape[1:]), lambda x, w: F.group_norm(x, 4, w, w),
    lambda x, w: F.instance_norm(x, weight=w), lambda x, w: F.layer_norm(x, x.shape[-1:]),
])
def test_results_do_not_depend_on_the_thread_count(op, monkeypatch):
    monkeypatch.setattr(parallel, "_break_even", (0, 0))  # shared out, whatever this machine's costs
    rng = np.random.default_rng(1)
    a = channels_last(rng.standard_normal((8, 16, 48, 48)).astype(np.float32))  # above the parallel threshold
    g = rng.standard_normal(a.shape).astype(np.float32)
    results, before = [], parallel.get_num_threads()
    try:
        for threads in (1, 2):
            parallel.set_num_threads(threads)
            x, w = leaf(a), leaf(np.linspace(0.5, 1.5, 16, dtype=np.float32))
            out = op(x, w if x.shape[1] == 16 else None)
            out.backward(g)
            results.append([out.numpy(), x.grad.numpy()] + ([w.grad.numpy()] if w.grad is not None else []))
    finally:
        parallel.set_num_threads(before)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_empty_inputs():
    assert F.group_norm(tg.zeros(0, 4, 3), 2).shape == (0, 4, 3)
    assert F.layer_norm(tg.zeros(0, 4), (4,)).shape == (0, 4)
    x = tg.zeros(2, 0, requires_grad=True)
    F.layer_norm(x, (0,)).sum().backward()
    assert x.grad.shape == (2, 0)
    assert F.embedding(tg.tensor(np.zeros((0, 2), dtype=np.int64)), tg.randn(3, 4)).shape == (0, 2, 4)


# ----------------------------------------------------------------------------------------------
# running statistics and layer state


def test_instance_norm_running_statistics_rule():
    """The running mean moves towards the average of the (sample, channel) means, the running
    variance towards the average of their unbiased variances; num_batches_tracked stays 0."""
    layer = nn.InstanceNorm2d(3, momentum=0.3, track_running_stats=True)
    a = np.random.default_rng(2).standard_normal((4, 3, 5, 6)) * 2 + 1
    layer.double()(Tensor(a))
    np.testing.assert_allclose(layer.running_mean.numpy(), 0.3 * a.mean((2, 3)).mean(0))
    np.testing.assert_allclose(layer.running_var.numpy(), 0.7 + 0.3 * a.var((2, 3), ddof=1).mean(0))
    assert layer.num_batches_tracked.item() == 0
    layer.eval()
    expected = (a - layer.running_mean.numpy()[:, None, None]) / np.sqrt(layer.running_var.numpy()[:, None, None]
                                                                         + 1e-5)
    np.testing.assert_allclose(layer(Tensor(a)).numpy(), expected)


def test_batchnorm_momentum_none_is_a_cumulative_average():
    layer = nn.BatchNorm1d(2, momentum=None).double()
    batches = [np.random.default_rng(i).standard_normal((5, 2)) + i for i in range(3)]
    for x in batches:
        layer(Tensor(x))
    np.testing.assert_allclose(layer.running_mean.numpy(), np.mean([x.mean(0) for x in batches], axis=0))
    np.testing.assert_allclose(layer.running_var.numpy(), np.mean([x.var(0, ddof=1) for x in batches], axis=0))
    assert layer.num_batches_tracked.item() == 3


@pytest.mark.parametrize("layer, keys, shapes", [
    (nn.BatchNorm1d(4), ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"],
     [(4,), (4,), (4,), (4,), ()]),
    (nn.BatchNorm2d(4, affine=False), ["running_mean", "running_var", "num_batches_tracked"], [(4,), (4,), ()]),
    (nn.InstanceNorm2d(4), [], []),
    (nn.InstanceNorm1d(4, affine=True, track_running_stats=True),
     ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"], [(4,), (4,), (4,), (4,), ()]),
    (nn.LayerNorm([2, 3], bias=False), ["weight"], [(2, 3)]),
    (nn.GroupNorm(2, 4), ["weight", "bias"], [(4,), (4,)]),
    (nn.Embedding(5, 3), ["weight"], [(5, 3)]),
    (nn.CrossEntropyLoss(weight=tg.ones(3)), ["weight"], [(3,)]),
    (nn.BCEWithLogitsLoss(pos_weight=tg.ones(3)), ["pos_weight"], [(3,)]),
    (nn.NLLLoss(), [], []),
])
def test_state_dict_keys_and_shapes(layer, keys, shapes):
    state = layer.state_dict()
    assert list(state) == keys and [v.shape for v in state.values()] == shapes


def test_reprs():
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"
    assert repr(nn.GroupNorm(2, 4, affine=False)) == "GroupNorm(2, 4, eps=1e-05, affine=False, bias=False)"
    assert repr(nn.InstanceNorm2d(3)) == ("InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, "
                                          "track_running_stats=False)")
    assert repr(nn.Embedding(10, 3, padding_idx=-1)) == "Embedding(10, 3, padding_idx=9)"
    assert repr(nn.Unflatten(1, (2, 3))) == "Unflatten(dim=1, unflattened_size=(2, 3))"
    assert repr(nn.LeakyReLU(0.2, True)) == "LeakyReLU(negative_slope=0.2, inplace=True)"
    assert repr(nn.Softmax()) == "Softmax(dim=None)" and repr(nn.Hardswish(True)) == "Hardswish()"


def test_init():
    assert (nn.LayerNorm(3).weight.numpy() == 1).all() and (nn.GroupNorm(1, 3).bias.numpy() == 0).all()
    tg.manual_seed(0)
    first = nn.Embedding(4, 2, padding_idx=1).weight.numpy().copy()
    tg.manual_seed(0)
    np.testing.assert_array_equal(nn.Embedding(4, 2, padding_idx=1).weight.numpy(), first)  # the library RNG
    assert not first[1].any() and first.dtype == np.float32
    layer = nn.Embedding(4, 2, padding_idx=1)
    layer(tg.tensor([1, 2, 1])).sum().backward()
    assert not layer.weight.grad.numpy()[1].any() and layer.weight.grad.numpy()[2].all()


def test_activation_layers_accept_inplace_and_return_a_new_tensor():
    x = Tensor(np.array([-1.0, 2.0]))
    for layer in (nn.ReLU(True), nn.ELU(inplace=True), nn.Hardtanh(0, 1, True), nn.SiLU(True)):
        out = layer(x)
        assert out is not x and x.numpy()[0] == -1.0


def test_legacy_reduction_flags():
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert nn.L1Loss(reduce=False).reduction == "none"


# ----------------------------------------------------------------------------------------------
# errors

ERRORS = [
    (lambda: F.layer_norm(tg.zeros(2, 3), (4,)), RuntimeError, r"layer_norm: given normalized_shape=\(4,\), expected "
     r"an input of shape \(\*, 4\), got \(2, 3\)"),
    (lambda: F.layer_norm(tg.zeros(2, 3), ()), RuntimeError, r"normalized_shape must have at least one dimension"),
    (lambda: F.layer_norm(tg.zeros(2, 3), (3,), tg.ones(2)), RuntimeError, r"weight must have the normalized_shape"),
    (lambda: F.layer_norm(tg.zeros(2, 3), 3.0), TypeError, r"normalized_shape must be an int or a tuple of ints"),
    (lambda: F.layer_norm(tg.zeros(2, 3, dtype=tg.int64), (3,)), TypeError, r"layer_norm: not implemented for 'Long'"),
    (lambda: F.layer_norm(tg.zeros(2, 3), (3,), eps=-1.0), ValueError, r"layer_norm: eps must be non-negative"),
    (lambda: F.group_norm(tg.zeros(2, 6, 3), 4), RuntimeError, r"group_norm: the number of channels must be divisible"),
    (lambda: F.group_norm(tg.zeros(3), 1), RuntimeError, r"group_norm: expected an input with at least 2 dimensions"),
    (lambda: F.group_norm(tg.zeros(2, 6), 2, tg.ones(4)), RuntimeError, r"weight must have shape \(6,\)"),
    (lambda: F.group_norm(tg.zeros(2, 6), 2.0), TypeError, r"group_norm: num_groups must be a positive int"),
    (lambda: F.instance_norm(tg.zeros(2, 3, 1)), ValueError, r"expected more than 1 spatial element when training"),
    (lambda: F.instance_norm(tg.zeros(2, 3, 4), use_input_stats=False), RuntimeError, r"running_mean and running_var "
     r"must be given"),
    (lambda: F.instance_norm(tg.zeros(2, 3, 4), tg.zeros(3)), ValueError, r"give both running_mean and running_var"),
    (lambda: F.instance_norm(tg.zeros(2, 3, 4), weight=tg.ones(4)), RuntimeError, r"weight must have shape \(3,\)"),
    (lambda: F.embedding(tg.tensor([7]), tg.zeros(7, 2)), IndexError, r"embedding: index 7 is out of range for a "
     r"weight of 7 rows"),
    (lambda: F.embedding(tg.tensor([-1]), tg.zeros(7, 2)), IndexError, r"index -1 is out of range"),
    (lambda: F.embedding(tg.tensor([1.0]), tg.zeros(7, 2)), TypeError, r"embedding: input must hold integer indices"),
    (lambda: F.embedding([1], tg.zeros(7, 2)), TypeError, r"embedding: input must be a Tensor"),
    (lambda: F.embedding(tg.tensor([1]), tg.zeros(7)), RuntimeError, r"embedding: weight must be 2-D"),
    (lambda: F.embedding(tg.tensor([1]), tg.zeros(7, 2), max_norm=1.0), NotImplementedError, r"max_norm"),
    (lambda: F.embedding(tg.tensor([1]), tg.zeros(7, 2), padding_idx=7), ValueError, r"padding_idx must be within"),
    (lambda: nn.GroupNorm(4, 6), ValueError, r"GroupNorm: num_channels \(6\) must be divisible by num_groups \(4\)"),
    (lambda: nn.GroupNorm(0, 6), ValueError, r"GroupNorm: num_groups must be a positive integer"),
    (lambda: nn.GroupNorm(2, 4)(tg.zeros(2, 6, 3)), RuntimeError, r"GroupNorm: expected an input \(N, 4, \*\)"),
    (lambda: nn.LayerNorm(3.0), TypeError, r"LayerNorm: normalized_shape must be an int or a sequence"),
    (lambda: nn.LayerNorm([2, 3])(tg.zeros(2, 6, 3)), RuntimeError, r"given normalized_shape=\(2, 3\)"),
    (lambda: nn.BatchNorm1d(3)(tg.zeros(2, 3, 4, 4)), ValueError, r"BatchNorm1d: expected a 2-D \(N, C\) or 3-D"),
    (lambda: nn.BatchNorm1d(4)(tg.zeros(2, 3)), ValueError, r"BatchNorm1d: expected 4 channels"),
    (lambda: nn.BatchNorm1d(4)(tg.zeros(1, 4)), ValueError, r"more than 1 value per channel"),
    (lambda: nn.InstanceNorm2d(3)(tg.zeros(2, 3)), ValueError, r"InstanceNorm2d: expected a 3-D .* or 4-D"),
    (lambda: nn.InstanceNorm2d(4, affine=True)(tg.zeros(2, 3, 4, 4)), ValueError, r"expected input's size at dim=1 "
     r"to match num_features \(4\)"),
    (lambda: nn.Embedding(5, 2, padding_idx=5), ValueError, r"Embedding: padding_idx must be within num_embeddings"),
    (lambda: nn.Embedding(5, 2, sparse=True), NotImplementedError, r"sparse=True"),
    (lambda: nn.Embedding(5, 2, max_norm=1.0), NotImplementedError, r"max_norm"),
    (lambda: nn.Embedding(5, 2, _weight=tg.zeros(2, 5)), ValueError, r"_weight must have shape \(5, 2\)"),
    (lambda: nn.Unflatten(1, (2, 2.0)), TypeError, r"found element of type float at pos 1"),
    (lambda: nn.Unflatten(1, 4), TypeError, r"unflattened_size must be a tuple of ints, but found type int"),
    (lambda: nn.Unflatten(1, (2, 2))(tg.zeros(2, 6)), RuntimeError, r"don't multiply up to the size of dim 1 \(6\)"),
    (lambda: nn.Dropout1d()(tg.zeros(2, 3, 4, 5)), RuntimeError, r"Dropout1d: expected a 2-D \(C, L\) or 3-D"),
    (lambda: nn.Dropout2d(1.5), ValueError, r"Dropout2d: probability has to be between 0 and 1"),
    (lambda: nn.Hardtanh(1.0, 1.0), ValueError, r"Hardtanh: max_val \(1.0\) must be greater than min_val"),
    (lambda: nn.Softmax2d()(tg.zeros(3, 4)), ValueError, r"Softmax2d: expected a 3-D or 4-D input"),
    (lambda: nn.GELU("x")(tg.zeros(2)), ValueError, r"gelu: approximate must be 'none' or 'tanh'"),
    (lambda: nn.Sigmoid()([1.0]), TypeError, r"Sigmoid: expected a Tensor input, got list"),
    (lambda: nn.MSELoss(reduction="avg"), ValueError, r"MSELoss: reduction must be 'mean', 'sum' or 'none'"),
    (lambda: nn.KLDivLoss(reduction="avg"), ValueError, r"'mean', 'batchmean', 'sum' or 'none'"),
    (lambda: nn.NLLLoss(ignore_index=1.5), TypeError, r"NLLLoss: ignore_index must be an int"),
    (lambda: nn.BCELoss()(np.ones(3), np.ones(3)), TypeError, r"BCELoss: expected a Tensor input, got ndarray"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[m[:40] for _, _, m in ERRORS])
def test_errors(call, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=message):
            call()


def test_error_types_are_pytorchs_and_pythons():
    """PyTorch's error types (for ``except`` clauses in pasted code), still ValueError / TypeError."""
    cases = [
        (lambda: nn.BatchNorm2d(3)(tg.zeros(2, 2, 4, 4)), (RuntimeError, ValueError)),
        (lambda: F.layer_norm(tg.zeros(2, 3), (4,)), (RuntimeError, ValueError)),
        (lambda: F.group_norm(tg.zeros(2, 6, 3), 4), (RuntimeError, ValueError)),
        (lambda: F.embedding(tg.tensor([9]), tg.zeros(3, 2)), (IndexError, ValueError)),
        (lambda: F.embedding(tg.tensor([1.0]), tg.zeros(3, 2)), (RuntimeError, TypeError)),
        (lambda: nn.BatchNorm2d(3)(tg.zeros(2, 3, 2, 2, dtype=tg.int64)), (NotImplementedError, TypeError)),
        (lambda: nn.Unflatten(0, (2, 2))(tg.zeros(3)), (RuntimeError, ValueError)),
    ]
    for call, errors in cases:
        for error in errors:
            with pytest.raises(error):
                call()
