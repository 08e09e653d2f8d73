"""nn.init's new functions and nn.utils, without PyTorch: init results by hand, reproducibility,
dtype and version rules, refusals; gradient clipping and parameter/vector conversion by hand."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_cnn import Tensor, manual_seed, nn
from tinygrad_cnn.nn import init
from tinygrad_cnn.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)
from tinygrad_cnn.testing import shapes

# ----------------------------------------------------------------------------------------------
# nn.init


def test_existing_initialisers_draw_the_same_values_as_before():
    """The shipped MNIST weights are reproduced from manual_seed(0): the draws must not change."""
    manual_seed(0)
    lin = nn.Linear(4, 3)
    rng = np.random.default_rng(0)
    bound = 1 / math.sqrt(4)
    np.testing.assert_array_equal(lin.weight.numpy(), rng.uniform(-bound, bound, (3, 4)).astype(np.float32))
    np.testing.assert_array_equal(lin.bias.numpy(), rng.uniform(-bound, bound, (3,)).astype(np.float32))
    manual_seed(3)
    t = init.normal_(Tensor(np.zeros(5, np.float32)), 1.0, 2.0)
    np.testing.assert_array_equal(t.numpy(), np.random.default_rng(3).normal(1.0, 2.0, 5).astype(np.float32))


@pytest.mark.parametrize("fn", [lambda t: init.trunc_normal_(t), lambda t: init.orthogonal_(t),
                                lambda t: init.sparse_(t, 0.3), lambda t: init.xavier_normal_(t)])
def test_random_initialisers_reproducible_keep_dtype_and_bump_version(fn):
    results = []
    for dtype in (np.float32, np.float64, np.float32):
        manual_seed(5)
        t = nn.Parameter(np.zeros((6, 4), dtype))
        before = t._version[0]
        assert fn(t) is t and t.dtype == dtype and t._version[0] == before + 1 and t.requires_grad
        results.append(t.numpy().astype(np.float64))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)   # same draws, any dtype
    np.testing.assert_array_equal(results[0], results[2])


def test_eye_and_dirac_by_hand():
    np.testing.assert_array_equal(init.eye_(Tensor(np.ones((2, 3)))).numpy(), [[1, 0, 0], [0, 1, 0]])
    w = init.dirac_(Tensor(np.ones((4, 2, 3, 3), np.float32)), groups=2).numpy()
    expected = np.zeros((4, 2, 3, 3), np.float32)
    expected[0, 0, 1, 1] = expected[1, 1, 1, 1] = expected[2, 0, 1, 1] = expected[3, 1, 1, 1] = 1
    np.testing.assert_array_equal(w, expected)
    x = Tensor(np.random.default_rng(0).standard_normal((1, 3, 5, 5)).astype(np.float32))
    conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
    init.dirac_(conv.weight)
    np.testing.assert_allclose(conv(x).numpy(), x.numpy(), rtol=1e-6)   # the identity convolution
    with pytest.raises(ValueError, match="positive integer"):
        init.dirac_(Tensor(np.zeros((2, 2, 3))), groups=0)


@settings(max_examples=15)
@given(shapes(min_dims=2, max_dims=4, max_side=5), st.floats(0.1, 3))
def test_orthogonal_rows_or_columns_are_orthonormal(shape, gain):
    t = init.orthogonal_(Tensor(np.zeros(shape)), gain=gain)
    flat = t.numpy().reshape(shape[0], -1)
    gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(flat.shape)), atol=1e-10)


def test_trunc_normal_edge_cases():
    t = Tensor(np.zeros(50_000))
    init.trunc_normal_(t, mean=0.0, std=1.0, a=8.0, b=8.5)     # far in the tail: still inside [a, b]
    assert 8.0 <= t.numpy().min() and t.numpy().max() <= 8.5 and t.numpy().mean() < 8.15
    init.trunc_normal_(t, mean=1.5, std=0.0, a=-1.0, b=1.0)
    assert (t.numpy() == 1.0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        init.trunc_normal_(t, mean=0.0, std=1.0, a=-math.inf, b=math.inf)
    assert np.isfinite(t.numpy()).all()
    with pytest.raises(ValueError, match="a <= b"):
        init.trunc_normal_(t, a=1.0, b=0.0)
    with pytest.warns(UserWarning, match="more than 2 std"):
        init.trunc_normal_(t, mean=5.0, std=1.0, a=-1.0, b=1.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("a, b", [(-2.0, 2.0), (1.0, 3.0), (-7.0, -6.0), (0.5, 9.0)])
def test_trunc_normal_matches_the_exact_cdf(a, b, dtype):
    """Kolmogorov-Smirnov distance to the truncated normal's CDF, tails included."""
    manual_seed(2)
    n = 20_000
    x = np.sort(init.trunc_normal_(Tensor(np.zeros(n, dtype)), 0.0, 1.0, a, b).numpy().astype(np.float64))
    phi = np.vectorize(lambda v: 0.5 * math.erfc(-v / math.sqrt(2)))
    cdf = (phi(x) - phi(a)) / (phi(b) - phi(a))
    assert np.max(np.abs(cdf - np.arange(1, n + 1) / n)) < 1.63 / math.sqrt(n)   # the 1% level


def test_sparse_zeros_per_column_and_errors():
    manual_seed(0)
    t = init.sparse_(Tensor(np.zeros((10, 7), np.float32)), 0.25, std=2.0)
    assert ((t.numpy() == 0).sum(axis=0) == 3).all() and t.dtype == np.float32
    with pytest.raises(ValueError, match="sparsity"):
        init.sparse_(t, 1.5)


def test_init_refusals():
    ints = Tensor(np.zeros((2, 2), np.int64))
    for fn in (init.uniform_, init.normal_, init.trunc_normal_, init.orthogonal_, init.xavier_uniform_):
        with pytest.raises(RuntimeError, match="floating-point"):
            fn(ints)
    with pytest.raises(TypeError, match="generator"):
        init.normal_(Tensor(np.zeros(2)), generator=object())
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(Tensor(np.zeros((0, 3))))
    assert init.constant_(ints, 3).numpy().tolist() == [[3, 3], [3, 3]]   # deterministic fills work on ints


# ----------------------------------------------------------------------------------------------
# nn.utils


def params_with(*grads):
    out = []
    for g in grads:
        p = nn.Parameter(np.zeros_like(np.asarray(g, dtype=np.float64)))
        p.grad = np.array(g, dtype=np.float64)  # a copy: the grad setter shares arrays
        out.append(p)
    return out


def test_clip_grad_norm_by_hand():
    a, b = params_with([3.0, 0.0], [0.0, 4.0])
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert isinstance(total, Tensor) and total.shape == () and total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.numpy(), [3 / (5 + 1e-6), 0])
    a, b = params_with([3.0, 0.0], [0.0, 4.0])
    assert clip_grad_norm_((p for p in [a, b]), 10.0).item() == pytest.approx(5.0)   # a generator works
    np.testing.assert_array_equal(b.grad.numpy(), [0, 4])                               # not clipped
    a, = params_with([1.0, -7.0])
    assert clip_grad_norm_(a, 1.0, norm_type="inf").item() == 7.0                      # a single tensor
    assert clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0).item() == 0.0
    with pytest.raises(TypeError, match="not a Tensor"):
        clip_grad_norm_([np.zeros(2)], 1.0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_([a], 1.0, norm_type="two")


@settings(max_examples=25)
@given(st.lists(shapes(min_dims=0, max_dims=3, max_side=4), min_size=1, max_size=3),
       st.sampled_from([1.0, 2.0, 3.0, math.inf]), st.integers(0, 2 ** 16))
def test_total_norm_is_the_norm_of_the_concatenation(grad_shapes, p, seed):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(s) for s in grad_shapes]
    flat = np.concatenate([g.ravel() for g in grads])
    expected = np.abs(flat).max() if p == math.inf else (np.abs(flat) ** p).sum() ** (1 / p)
    total = get_total_norm([Tensor(g) for g in grads], p)
    assert total.item() == pytest.approx(expected, rel=1e-12)
    params = params_with(*grads)
    clip_grads_with_norm_(params, 0.5, total)
    scale = min(1.0, 0.5 / (expected + 1e-6))
    for param, g in zip(params, grads):
        np.testing.assert_allclose(param.grad.numpy(), g * scale, rtol=1e-12)


def test_clip_grad_value_and_nonfinite():
    a, b = params_with([-3.0, 0.5, 2.0], [10.0])
    assert clip_grad_value_([a, b], 1.0) is None
    np.testing.assert_array_equal(a.grad.numpy(), [-1, 0.5, 1])
    np.testing.assert_array_equal(b.grad.numpy(), [1])
    c, = params_with([1.0, math.inf])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([c], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(c.grad.numpy(), [1, math.inf])   # nothing changed
    assert clip_grad_norm_([c], 1.0, foreach=True).item() == math.inf


def test_parameters_vector_conversion():
    m = nn.Linear(2, 2)
    vec = parameters_to_vector(m.parameters())
    assert vec.shape == (6,) and vec.requires_grad and vec.dtype == np.float32
    np.testing.assert_array_equal(vec.numpy()[:4], m.weight.numpy().ravel())
    new = Tensor(np.arange(6.0))
    vector_to_parameters(new, m.parameters())
    assert m.weight.dtype == np.float64 and np.shares_memory(m.weight.numpy(), new.numpy())   # as torch
    np.testing.assert_array_equal(m.bias.numpy(), [4, 5])
    with pytest.raises(RuntimeError, match="only 3"):
        vector_to_parameters(Tensor(np.zeros(3)), m.parameters())
    np.testing.assert_array_equal(m.bias.numpy(), [4, 5])          # nothing changed
    with pytest.raises(TypeError, match="expected a Tensor"):
        vector_to_parameters(np.zeros(6), m.parameters())
    with pytest.raises(ValueError, match="non-empty"):
        parameters_to_vector([])
