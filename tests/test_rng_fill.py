"""The fast fills of tinygrad_cnn.rng draw the very numbers NumPy's Generator.uniform / normal draw,
and leave the generator in the same state, so faster weight init changes no trained model."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn import nn, rng


@settings(max_examples=25, deadline=None)
@given(size=st.integers(0, 3 * rng._CHUNK + 7), low=st.floats(-10, 10), width=st.floats(0, 5),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**32 - 1))
def test_fill_uniform_is_generator_uniform(size, low, width, dtype, seed):
    size = size if size < 1000 else rng._CHUNK + size % 5000  # a few that cross a chunk boundary
    tg.manual_seed(seed)
    got = rng.fill_uniform(np.empty(size, dtype=dtype), low, low + width)
    after = tg.get_rng().random()
    expected = np.random.default_rng(seed)
    want = expected.uniform(low, low + width, size).astype(dtype)
    np.testing.assert_array_equal(got, want)
    assert after == expected.random()


@settings(max_examples=25, deadline=None)
@given(shape=st.sampled_from([(0,), (5,), (3, 4), (rng._CHUNK + 3,), (2, rng._CHUNK // 2 + 1)]),
       mean=st.floats(-3, 3), std=st.floats(0, 4), seed=st.integers(0, 2**32 - 1))
def test_fill_normal_is_generator_normal(shape, mean, std, seed):
    tg.manual_seed(seed)
    got = rng.fill_normal(np.empty(shape, dtype=np.float64), mean, std)
    after = tg.get_rng().random()
    expected = np.random.default_rng(seed)
    np.testing.assert_array_equal(got, expected.normal(mean, std, shape))
    assert after == expected.random()


def test_fill_into_a_strided_view_writes_only_the_view():
    base = np.zeros((6, 8), dtype=np.float32)
    tg.manual_seed(3)
    rng.fill_uniform(base[:, ::2], -1.0, 1.0)
    want = np.random.default_rng(3).uniform(-1.0, 1.0, (6, 4)).astype(np.float32)
    np.testing.assert_array_equal(base[:, ::2], want)
    assert not base[:, 1::2].any()


def test_infinite_range_is_numpys_error():
    with pytest.raises(OverflowError):
        rng.fill_uniform(np.empty(3), -1e308, 1e308)


def test_layer_init_is_unchanged_by_the_fast_fill():
    """Conv2d / Linear weights are PyTorch's kaiming_uniform_(a=sqrt(5)) bound, drawn as before."""
    tg.manual_seed(0)
    conv, lin = nn.Conv2d(3, 8, 3), nn.Linear(20, 4)
    g = np.random.default_rng(0)
    b = 1 / np.sqrt(27)
    np.testing.assert_array_equal(conv.weight.numpy(), g.uniform(-b, b, (8, 3, 3, 3)).astype(np.float32))
    np.testing.assert_array_equal(conv.bias.numpy(), g.uniform(-b, b, 8).astype(np.float32))
    b = 1 / np.sqrt(20)
    np.testing.assert_array_equal(lin.weight.numpy(), g.uniform(-b, b, (4, 20)).astype(np.float32))
    assert conv.weight.dtype == np.float32 and conv.weight.requires_grad


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("cached_half", [False, True])
def test_a_large_uniform_fill_drawn_in_parts_is_generator_uniform(monkeypatch, threads, cached_half):
    """Large fills are drawn in parts by jumped copies of the generator (on the workers): the same
    numbers and the same state after; with a cached 32-bit half in the generator, the plain path."""
    monkeypatch.setattr(rng, "_SHARED_FILL_BYTES", 4096)
    monkeypatch.setattr(rng, "_CHUNK", 1000)  # several chunks per part
    before = tg.get_num_threads()
    tg.set_num_threads(threads)
    try:
        tg.manual_seed(11)
        if cached_half:
            tg.get_rng().integers(0, 10, dtype=np.int32)  # leaves half a 64-bit draw cached
        assert rng._can_jump(np.empty(3)) != cached_half
        spy = []
        monkeypatch.setattr(rng, "_fill_uniform_shared", lambda *a, f=rng._fill_uniform_shared: spy.append(1) or f(*a))
        got = rng.fill_uniform(np.empty((37, 301), dtype=np.float32), -0.3, 0.7)
        after = tg.get_rng().integers(0, 1 << 30, size=3, dtype=np.int32)
    finally:
        tg.set_num_threads(before)
    expected = np.random.default_rng(11)
    if cached_half:
        expected.integers(0, 10, dtype=np.int32)
    want = expected.uniform(-0.3, 0.7, (37, 301)).astype(np.float32)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(after, expected.integers(0, 1 << 30, size=3, dtype=np.int32))
    assert bool(spy) != cached_half  # the parts were used exactly when they can be
