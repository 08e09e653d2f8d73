"""tinygrad_cnn.utils.data against torch.utils.data: collate structure and dtypes, DataLoader batches,
lengths, random_split rounding, Subset/ConcatDataset index maps, error types; ToTensor/Normalize
against torchvision's arithmetic written in torch (torchvision itself is not installed)."""
import collections
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
import torch.utils.data as tud  # noqa: E402

import tinygrad_cnn as tg  # noqa: E402
from tinygrad_cnn.utils import data as ud  # noqa: E402
from tinygrad_cnn.utils import transforms as T

P = collections.namedtuple("P", "x y")


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def _same(ours, theirs):
    """Same structure, container types, dtypes, shapes and values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, tg.Tensor), type(ours)
        assert str(ours.dtype) == _dtype_name(theirs) and tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            _same(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
    else:
        assert ours == theirs


def _pair(batch_fn):
    """The same batch for both libraries: batch_fn(lib) builds samples with lib's tensor type."""
    return batch_fn(tg), batch_fn(torch)


BATCHES = [
    lambda lib: [1, 2, 3],
    lambda lib: [1.0, 2.5],
    lambda lib: [1, 2.5],
    lambda lib: [True, False],
    lambda lib: [np.float32(1), np.float32(2)],
    lambda lib: [np.int16(1), np.int16(2)],
    lambda lib: [np.bool_(True), np.bool_(False)],
    lambda lib: [np.arange(6, dtype=np.uint8).reshape(2, 3)] * 4,
    lambda lib: [np.array(1.5), np.array(2.5)],
    lambda lib: [np.zeros(3, np.float64), np.ones(3, np.float64)],
    lambda lib: ["a", "b"],
    lambda lib: [(1, 2.0, "s"), (3, 4.0, "t")],
    lambda lib: [[1, [2.0, 3]], [4, [5.0, 6]]],
    lambda lib: [{"img": np.zeros((2, 2), np.float32), "y": 3}, {"img": np.ones((2, 2), np.float32), "y": 4}],
    lambda lib: [collections.OrderedDict(a=1.0, b=[1, 2])] * 2,
    lambda lib: [P(1, 2.0), P(3, 4.0)],
    lambda lib: [lib.arange(6).reshape(2, 3), lib.arange(6).reshape(2, 3) * 2],
    lambda lib: [(lib.zeros(2, 2), 1), (lib.ones(2, 2), 0)],
    lambda lib: [lib.tensor(1.5), lib.tensor(2.5)],
]


@pytest.mark.parametrize("index", range(len(BATCHES)))
def test_default_collate_matches_torch(index):
    ours, theirs = _pair(BATCHES[index])
    _same(ud.default_collate(ours), tud.default_collate(theirs))


@pytest.mark.parametrize("sample", [np.arange(3), (np.float32(2), 3), {"a": np.ones(2)}, P(np.zeros(1), "s"),
                                    [np.int8(1), 2.0], "text", 5])
def test_default_convert_matches_torch(sample):
    _same(ud.default_convert(sample), tud.default_convert(sample))


@pytest.mark.parametrize("batch", [[[1, 2], [3]], [object()], [np.array(["a"])], [], [{"a": 1}, {"b": 2}]])
def test_collate_errors_match_torch(batch):
    with pytest.raises(Exception) as theirs:
        tud.default_collate(batch)
    with pytest.raises(type(theirs.value)) as ours:
        ud.default_collate(batch)
    if isinstance(theirs.value, (TypeError, RuntimeError)):
        assert str(ours.value) == str(theirs.value)


def _datasets(n, features=3):
    x = np.arange(n * features, dtype=np.float32).reshape(n, features)
    y = (np.arange(n) % 7).astype(np.int64)
    return (ud.TensorDataset(tg.from_numpy(x), tg.from_numpy(y)),
            tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)))


@settings(max_examples=30)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_loader_batches_match_torch(n, batch_size, drop_last):
    ours_ds, theirs_ds = _datasets(n)
    ours = ud.DataLoader(ours_ds, batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(theirs_ds, batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    ours_batches, theirs_batches = list(ours), list(theirs)
    assert len(ours_batches) == len(theirs_batches) == len(theirs)
    for a, b in zip(ours_batches, theirs_batches):
        _same(a, b)


def test_loader_modes_match_torch():
    ours_ds, theirs_ds = _datasets(9)
    for kwargs in (dict(batch_size=None), dict(batch_sampler=[[4, 2], [8], [0, 1, 3]]),
                   dict(sampler=[5, 1, 7], batch_size=2), dict(batch_size=4, collate_fn=lambda b: len(b))):
        ours, theirs = ud.DataLoader(ours_ds, **kwargs), tud.DataLoader(theirs_ds, **kwargs)
        assert len(ours) == len(theirs)
        for a, b in zip(list(ours), list(theirs)):
            _same(a, b)
    dicts = [{"v": float(i), "i": i} for i in range(5)]
    for a, b in zip(ud.DataLoader(dicts, batch_size=2), tud.DataLoader(dicts, batch_size=2)):
        _same(a, b)

    class Ours(ud.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    class Theirs(tud.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    for drop_last in (False, True):
        ours, theirs = ud.DataLoader(Ours(), batch_size=3, drop_last=drop_last), \
            tud.DataLoader(Theirs(), batch_size=3, drop_last=drop_last)
        assert len(ours) == len(theirs)
        for a, b in zip(list(ours), list(theirs)):
            _same(a, b)


def test_shuffle_covers_every_sample_like_torch():
    ours_ds, theirs_ds = _datasets(50)
    tg.manual_seed(0)
    ours = np.concatenate([y.numpy() for _, y in ud.DataLoader(ours_ds, batch_size=8, shuffle=True)])
    theirs = np.concatenate([y.numpy() for _, y in tud.DataLoader(theirs_ds, batch_size=8, shuffle=True)])
    assert sorted(ours.tolist()) == sorted(theirs.tolist())


FRACTIONS = st.lists(st.integers(0, 20), min_size=1, max_size=5).filter(lambda w: sum(w) > 0)


@settings(max_examples=40)
@given(n=st.integers(0, 60), weights=FRACTIONS)
def test_random_split_lengths_match_torch(n, weights):
    fractions = [w / sum(weights) for w in weights]
    with warnings.catch_warnings(record=True) as theirs_warnings:
        warnings.simplefilter("always")
        try:
            theirs = [len(s) for s in tud.random_split(range(n), fractions)]
        except ValueError:
            theirs = ValueError
    with warnings.catch_warnings(record=True) as ours_warnings:
        warnings.simplefilter("always")
        try:
            ours = [len(s) for s in ud.random_split(range(n), fractions)]
        except ValueError:
            ours = ValueError
    assert ours == theirs
    assert len(ours_warnings) == len(theirs_warnings)


def test_random_split_subsets_and_concat_index_like_torch():
    data = list(range(100, 120))
    for ours, theirs in zip(ud.random_split(data, [7, 13]), tud.random_split(data, [7, 13])):
        assert len(ours) == len(theirs)
        assert [ours[i] for i in range(len(ours))] == [data[j] for j in ours.indices]
    ours_sub, theirs_sub = ud.Subset(data, [5, 0, 19, 5]), tud.Subset(data, [5, 0, 19, 5])
    assert [ours_sub[i] for i in range(-4, 4)] == [theirs_sub[i] for i in range(-4, 4)]
    assert ours_sub.__getitems__([3, 1]) == theirs_sub.__getitems__([3, 1])
    parts = [list(range(3)), list(range(10, 15)), list(range(20, 21))]
    ours_cat, theirs_cat = ud.ConcatDataset(parts), tud.ConcatDataset(parts)
    assert ours_cat.cumulative_sizes == theirs_cat.cumulative_sizes and len(ours_cat) == len(theirs_cat)
    assert [ours_cat[i] for i in range(-9, 9)] == [theirs_cat[i] for i in range(-9, 9)]
    for bad in (-10, 9):
        with pytest.raises(Exception) as theirs_error:
            theirs_cat[bad]
        with pytest.raises(type(theirs_error.value)):
            ours_cat[bad]


def test_samplers_match_torch():
    assert list(ud.SequentialSampler(range(6))) == list(tud.SequentialSampler(range(6)))
    for size, drop in ((2, False), (4, True), (7, False)):
        assert list(ud.BatchSampler(range(10), size, drop)) == list(tud.BatchSampler(range(10), size, drop))
        assert len(ud.BatchSampler(range(10), size, drop)) == len(tud.BatchSampler(range(10), size, drop))
    for kwargs in (dict(), dict(num_samples=25), dict(replacement=True), dict(replacement=True, num_samples=3)):
        ours, theirs = ud.RandomSampler(range(10), **kwargs), tud.RandomSampler(range(10), **kwargs)
        assert len(ours) == len(theirs) == len(list(ours)) == len(list(theirs))
        if not kwargs:
            assert sorted(ours) == sorted(theirs) == list(range(10))
    assert len(ud.WeightedRandomSampler([1, 2, 3], 8)) == len(tud.WeightedRandomSampler([1, 2, 3], 8))


ERROR_CASES = [
    dict(shuffle=True, sampler=[0, 1]), dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_sampler=[[0]], shuffle=True),
    dict(batch_size=None, drop_last=True), dict(num_workers=-1), dict(timeout=-1), dict(batch_size=0),
    dict(batch_size=2.0), dict(batch_size=True), dict(drop_last=1), dict(prefetch_factor=2),
    dict(persistent_workers=True),
]


@pytest.mark.parametrize("kwargs", ERROR_CASES)
def test_loader_errors_match_torch(kwargs):
    ours_ds, theirs_ds = _datasets(4)
    with pytest.raises(Exception) as theirs:
        tud.DataLoader(theirs_ds, **kwargs)
    with pytest.raises(type(theirs.value)) as ours:
        ud.DataLoader(ours_ds, **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_other_errors_match_torch():
    for make in (lambda m: m.TensorDataset(*([tg.zeros(3), tg.zeros(4)] if m is ud else
                                             [torch.zeros(3), torch.zeros(4)])),
                 lambda m: m.ConcatDataset([]),
                 lambda m: m.RandomSampler([]),
                 lambda m: m.RandomSampler(range(3), replacement=1),
                 lambda m: m.random_split(range(10), [3, 3]),
                 lambda m: m.random_split(range(10), [0.5, -0.5, 1.0]),
                 lambda m: m.WeightedRandomSampler([[1.0]], 1)):
        with pytest.raises(Exception) as theirs:
            make(tud)
        with pytest.raises(type(theirs.value)):
            make(ud)
    loader = ud.DataLoader(range(3))
    with pytest.raises(ValueError, match=str(_frozen_message())):
        loader.batch_size = 2


def _frozen_message():
    loader = tud.DataLoader(range(3))
    try:
        loader.batch_size = 2
    except ValueError as err:
        return err


def test_torch_generator_is_refused():
    with pytest.raises(TypeError, match="torch.Generator"):
        ud.DataLoader(range(4), shuffle=True, generator=torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="torch.Generator"):
        ud.random_split(range(4), [2, 2], generator=torch.Generator())


def test_to_tensor_and_normalize_bitwise_like_torchvision():
    """torchvision: ToTensor = from_numpy(img).to(float32).div(255); Normalize = sub_(mean).div_(std)."""
    img = np.random.default_rng(0).integers(0, 256, size=(28, 28), dtype=np.uint8)
    img[0, :256 - 28 * 27] = 0
    img.reshape(-1)[:256] = np.arange(256, dtype=np.uint8)  # every pixel value occurs
    ours = T.ToTensor()(img)
    theirs = torch.from_numpy(img[None]).to(torch.float32).div(255)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    mean, std = (0.1307,), (0.3081,)
    normalized = T.Normalize(mean, std)(ours)
    ref = theirs.clone().sub_(torch.as_tensor(mean).view(-1, 1, 1)).div_(torch.as_tensor(std).view(-1, 1, 1))
    np.testing.assert_array_equal(normalized.numpy(), ref.numpy())
    # and on the DataLoader's batched path
    from tinygrad_cnn.utils.transforms import apply_batched
    batch = apply_batched(T.Compose([T.ToTensor(), T.Normalize(mean, std)]), np.stack([img, img[::-1]]))
    np.testing.assert_array_equal(batch[0], ref.numpy())
    rgb = np.random.default_rng(1).integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(T.ToTensor()(rgb).numpy(),
                                  torch.from_numpy(rgb.transpose(2, 0, 1).copy()).to(torch.float32).div(255).numpy())
