"""nn.init and nn.utils against PyTorch (skipped without torch): the deterministic results
(gains, fans, eye_, dirac_) exactly, the random ones by the properties that define them
(orthogonality, bounds, moments, std by mode and nonlinearity), error types, and the clipping
utilities and parameter/vector conversion by value and dtype."""
import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tnn = torch.nn

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

import tinygrad_cnn as tg  # noqa: E402
from tinygrad_cnn import nn  # noqa: E402
from tinygrad_cnn.nn import init  # noqa: E402
from tinygrad_cnn.nn import utils as U  # noqa: E402

# ----------------------------------------------------------------------------------------------
# nn.init


GAINS = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None), ("conv_transpose1d", None),
         ("conv_transpose2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0), ("leaky_relu", math.sqrt(5)),
         ("leaky_relu", 3), ("selu", None), ("relu", 0.5)]


@pytest.mark.parametrize("nonlinearity, param", GAINS)
def test_calculate_gain_exactly_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == tnn.init.calculate_gain(nonlinearity, param)


@pytest.mark.parametrize("args", [("swish",), ("leaky_relu", "a"), ("leaky_relu", True)])
def test_calculate_gain_errors_match_torch(args):
    with pytest.raises(ValueError):
        tnn.init.calculate_gain(*args)
    with pytest.raises(ValueError):
        init.calculate_gain(*args)


@settings(max_examples=20)
@given(st.lists(st.integers(1, 5), min_size=2, max_size=5))
def test_fans_match_torch(shape):
    from torch.nn.init import _calculate_fan_in_and_fan_out as torch_fans
    assert init._calculate_fan_in_and_fan_out(tg.zeros(*shape)) == torch_fans(torch.zeros(*shape))


@settings(max_examples=20)
@given(st.integers(1, 6), st.integers(1, 6), st.sampled_from([np.float32, np.float64, np.int64]))
def test_eye_matches_torch(rows, cols, dtype):
    t = tg.tensor(np.full((rows, cols), 7, dtype))
    ref = tnn.init.eye_(torch.full((rows, cols), 7, dtype=getattr(torch, np.dtype(dtype).name)))
    out = init.eye_(t)
    assert out is t and t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), ref.numpy())


@st.composite
def dirac_cases(draw):
    groups = draw(st.integers(1, 3))
    out = groups * draw(st.integers(1, 3))
    spatial = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    return [out, draw(st.integers(1, 4))] + spatial, groups


@settings(max_examples=25)
@given(dirac_cases())
def test_dirac_matches_torch(case):
    shape, groups = case
    t = tg.ones(*shape)
    init.dirac_(t, groups)
    np.testing.assert_array_equal(t.numpy(), tnn.init.dirac_(torch.ones(*shape), groups).numpy())


@pytest.mark.parametrize("call, shape", [
    (lambda i, t: i.eye_(t), (2, 2, 2)), (lambda i, t: i.dirac_(t), (2, 2)), (lambda i, t: i.dirac_(t, 3), (4, 2, 3)),
    (lambda i, t: i.orthogonal_(t), (3,)), (lambda i, t: i.sparse_(t, 0.5), (3,)),
    (lambda i, t: i.kaiming_normal_(t, mode="fan_avg"), (2, 3)), (lambda i, t: i.xavier_uniform_(t), (4,)),
    (lambda i, t: i.uniform_(t, 1, 0), (3,)), (lambda i, t: i.normal_(t, 0, -1), (3,)),
])
def test_init_error_types_match_torch(call, shape):
    with pytest.raises(Exception) as theirs:
        call(tnn.init, torch.zeros(*shape))
    with pytest.raises(Exception) as ours:
        call(init, tg.zeros(*shape))
    assert ours.type is theirs.type


def test_zero_element_no_ops_like_torch():
    for fn in (init.kaiming_uniform_, init.kaiming_normal_, init.orthogonal_):
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            fn(tg.zeros(0, 3))
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            getattr(tnn.init, fn.__name__)(torch.zeros(0, 3))
        assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (8, 2), (4, 2, 3, 3), (2, 9, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal_like_torch(shape, dtype):
    """Same rows-or-columns orthonormality (times gain) as torch's result."""
    tg.manual_seed(0)
    gain = 1.7
    ours = init.orthogonal_(tg.zeros(*shape, dtype=dtype), gain=gain).numpy().reshape(shape[0], -1)
    ref = tnn.init.orthogonal_(torch.zeros(*shape, dtype=getattr(torch, np.dtype(dtype).name)),
                               gain=gain).numpy().reshape(shape[0], -1)
    assert ours.dtype == dtype
    small = min(ours.shape)
    gram = (lambda q: q @ q.T) if ours.shape[0] <= ours.shape[1] else (lambda q: q.T @ q)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gram(ours), gain ** 2 * np.eye(small), atol=tol)
    np.testing.assert_allclose(gram(ref), gain ** 2 * np.eye(small), atol=tol)


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, -2.0, 2.0), (0.5, 0.2, 0.0, 1.0), (0.0, 1.0, 1.0, 3.0),
                                             (0.0, 1.0, -6.0, -4.0), (2.0, 3.0, -1.0, 10.0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trunc_normal_bounds_and_moments_like_torch(mean, std, a, b, dtype):
    tg.manual_seed(1)
    torch.manual_seed(1)
    n = 200_000
    ours = init.trunc_normal_(tg.zeros(n, dtype=dtype), mean, std, a, b).numpy()
    samples = [ours]
    if dtype == np.float64:  # torch's sampler is a slow loop for far intervals: once, smaller
        samples.append(tnn.init.trunc_normal_(torch.zeros(n // 4, dtype=torch.float64), mean, std, a, b).numpy())
    assert ours.dtype == dtype and ours.min() >= a and ours.max() <= b
    # exact moments of the truncated normal
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in (alpha, beta)]
    mass = 0.5 * (math.erf(beta / math.sqrt(2)) - math.erf(alpha / math.sqrt(2)))
    exp_mean = mean + std * (pdf[0] - pdf[1]) / mass
    exp_var = std ** 2 * (1 + (alpha * pdf[0] - beta * pdf[1]) / mass - ((pdf[0] - pdf[1]) / mass) ** 2)
    for sample in samples:
        assert sample.min() >= a and sample.max() <= b
        assert abs(sample.mean() - exp_mean) < 5 * math.sqrt(exp_var / sample.size)
        assert sample.var() == pytest.approx(exp_var, rel=0.02)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, a", [("relu", 0), ("leaky_relu", 0), ("leaky_relu", 0.2), ("tanh", 0),
                                             ("selu", 0), ("linear", 0), ("leaky_relu", math.sqrt(5))])
def test_kaiming_std_and_bound_like_torch(mode, nonlinearity, a):
    shape = (64, 32, 3, 3)
    fan = 32 * 9 if mode == "fan_in" else 64 * 9
    expected_std = tnn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    tg.manual_seed(0)
    torch.manual_seed(0)
    ours = init.kaiming_normal_(tg.zeros(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    ref = tnn.init.kaiming_normal_(torch.zeros(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    assert ours.std() == pytest.approx(expected_std, rel=0.02) and ref.std() == pytest.approx(expected_std, rel=0.02)
    ours = init.kaiming_uniform_(tg.zeros(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    ref = tnn.init.kaiming_uniform_(torch.zeros(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    bound = math.sqrt(3) * expected_std
    for sample in (ours, ref):
        assert np.abs(sample).max() <= bound * (1 + 1e-6) and np.abs(sample).max() > 0.99 * bound


def test_sparse_zero_count_like_torch():
    tg.manual_seed(0)
    torch.manual_seed(0)
    ours = init.sparse_(tg.zeros(10, 30), 0.25, std=0.5).numpy()
    ref = tnn.init.sparse_(torch.zeros(10, 30), 0.25, std=0.5).numpy()
    np.testing.assert_array_equal((ours == 0).sum(axis=0), (ref == 0).sum(axis=0))


# ----------------------------------------------------------------------------------------------
# nn.utils


@st.composite
def grad_sets(draw):
    shapes = draw(st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3), min_size=1, max_size=4))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    grads = [draw(st.lists(st.floats(-5, 5), min_size=int(np.prod(s)), max_size=int(np.prod(s))))
             for s in shapes]
    grads = [np.array(g, dtype=dtype).reshape(s) for g, s in zip(grads, shapes)]
    with_grad = draw(st.lists(st.booleans(), min_size=len(shapes), max_size=len(shapes)))
    return grads, with_grad


def make_params(grads, with_grad):
    ours, theirs = [], []
    for g, has in zip(grads, with_grad):
        p, q = nn.Parameter(np.zeros_like(g)), tnn.Parameter(torch.zeros(g.shape, dtype=getattr(torch, g.dtype.name)))
        if has:
            p.grad = g.copy()
            q.grad = torch.from_numpy(g.copy())
        ours.append(p)
        theirs.append(q)
    return ours, theirs


@settings(max_examples=40)
@given(grad_sets(), st.sampled_from([2.0, 1.0, math.inf, 3.5, 0, -math.inf, "inf"]), st.floats(0.01, 20))
def test_clip_grad_norm_matches_torch(case, norm_type, max_norm):
    grads, with_grad = case
    ours, theirs = make_params(grads, with_grad)
    got = U.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = tnn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    rtol = 1e-5 if grads[0].dtype == np.float32 else 1e-12
    assert isinstance(got, tg.Tensor) and got.shape == ()
    assert got.dtype.name == str(expected.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.item(), expected.item(), rtol=rtol)
    for p, q in zip(ours, theirs):
        if q.grad is None:
            assert p.grad is None
        else:
            assert p.grad.dtype == p.dtype
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=1e-7)


def test_clip_grad_norm_mixed_dtypes_and_nonfinite_like_torch():
    a, b = make_params([np.array([1.0, -2.0, 3.0], np.float32), np.array([4.0, 5.0])], [True, True])
    got, expected = U.clip_grad_norm_(a, 1.0), tnn.utils.clip_grad_norm_(b, 1.0)
    assert got.dtype == np.float64 and expected.dtype == torch.float64
    np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-12)
    assert a[0].grad.dtype == np.float32
    a, b = make_params([np.array([1.0, np.nan]), np.array([np.inf])], [True, True])
    with pytest.raises(RuntimeError) as ours:
        U.clip_grad_norm_(a, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as theirs:
        tnn.utils.clip_grad_norm_(b, 1.0, error_if_nonfinite=True)
    assert str(ours.value) == str(theirs.value)
    got, expected = U.clip_grad_norm_(a, 1.0), tnn.utils.clip_grad_norm_(b, 1.0)
    assert math.isnan(got.item()) and math.isnan(expected.item())
    np.testing.assert_array_equal(a[0].grad.numpy(), b[0].grad.numpy())
    empty = U.clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0)
    ref = tnn.utils.clip_grad_norm_([tnn.Parameter(torch.zeros(2))], 1.0)
    assert empty.item() == ref.item() == 0 and empty.dtype.name == str(ref.dtype)[6:]


@settings(max_examples=25)
@given(grad_sets(), st.floats(0, 3))
def test_clip_grad_value_matches_torch(case, clip_value):
    grads, with_grad = case
    ours, theirs = make_params(grads, with_grad)
    if not any(with_grad):
        return  # torch raises an internal error for an empty list of gradients
    assert U.clip_grad_value_(ours, clip_value) is None
    tnn.utils.clip_grad_value_(theirs, clip_value)
    for p, q in zip(ours, theirs):
        if q.grad is not None:
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_parameters_vector_round_trip_like_torch():
    ours_model, theirs_model = nn.Linear(3, 2), tnn.Linear(3, 2)
    vec = np.arange(8, dtype=np.float32)
    U.vector_to_parameters(tg.tensor(vec), ours_model.parameters())
    tnn.utils.vector_to_parameters(torch.from_numpy(vec.copy()), theirs_model.parameters())
    for p, q in zip(ours_model.parameters(), theirs_model.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.detach().numpy())
    got = U.parameters_to_vector(ours_model.parameters())
    expected = tnn.utils.parameters_to_vector(theirs_model.parameters())
    np.testing.assert_array_equal(got.numpy(), expected.detach().numpy())
    assert got.requires_grad == expected.requires_grad
    (got * tg.arange(8.0)).sum().backward()
    (expected * torch.arange(8.0)).sum().backward()
    np.testing.assert_array_equal(ours_model.weight.grad.numpy(), theirs_model.weight.grad.numpy())
    for call in (lambda lib, u: u.vector_to_parameters([1.0], []), lambda lib, u: u.parameters_to_vector([])):
        with pytest.raises(Exception) as theirs:
            call(tnn, tnn.utils)
        with pytest.raises(Exception) as ours:
            call(nn, U)
        assert ours.type is theirs.type
