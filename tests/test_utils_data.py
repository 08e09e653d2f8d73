"""tinygrad_cnn.utils.data / datasets / transforms without torch: semantics, fast path == per-item
path, MNIST against the IDX reader, transform values, error cases."""
import collections
import functools
import gzip
import struct
import warnings

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn.data import load_mnist
from tinygrad_cnn.utils import datasets
from tinygrad_cnn.utils import transforms as T
from tinygrad_cnn.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    random_split,
)
from tinygrad_cnn.utils.data import dataloader as dataloader_module

NORM = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])


@pytest.fixture(scope="module")
def arrays():
    return load_mnist()


@pytest.fixture(scope="module")
def train():
    return datasets.MNIST(train=True)


def PerItem(inner):  # noqa: N802
    """The same samples as ``inner``, without its batch shortcut (ConcatDataset has none): forces the
    DataLoader's per-item path."""
    return ConcatDataset([inner])


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def _same_batches(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert type(x) is type(y) and len(x) == len(y)
        for u, v in zip(x, y):
            assert u.dtype == v.dtype and u.shape == v.shape
            np.testing.assert_array_equal(u.numpy(), v.numpy())


# ------------------------------------------------------------------------------------ datasets

def test_tensor_dataset_items():
    x, y = tg.arange(12).reshape(6, 2), tg.tensor([0, 1, 0, 1, 1, 0])
    ds = TensorDataset(x, y)
    assert len(ds) == 6 and ds.tensors == (x, y)
    a, b = ds[4]
    np.testing.assert_array_equal(a.numpy(), [8, 9])
    assert b.item() == 1 and b.ndim == 0


def test_subset_random_split_concat():
    base = list(range(100, 110))
    sub = Subset(base, [3, 1, 7])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [103, 101, 107] and sub.__getitems__([2, 0]) == [107, 103]
    tg.manual_seed(0)
    parts = random_split(base, [0.3, 0.3, 0.4])
    assert [len(p) for p in parts] == [3, 3, 4]
    assert sorted(i for p in parts for i in p.indices) == list(range(10))
    assert [len(p) for p in random_split(range(11), [0.3, 0.3, 0.4])] == [4, 3, 4]  # remainder to the first
    assert [len(p) for p in random_split(range(10), [1])] == [10]  # sums to 1: a fraction, as in PyTorch
    a = random_split(base, [5, 5], generator=np.random.default_rng(3))
    b = random_split(base, [5, 5], generator=np.random.default_rng(3))
    assert [p.indices for p in a] == [p.indices for p in b]
    with pytest.warns(UserWarning, match="Length of split at index 0 is 0"):
        random_split(range(3), [0.0, 1.0])
    cat = ConcatDataset([base, list(range(5))])
    assert len(cat) == 15 and cat.cumulative_sizes == [10, 15]
    assert cat[9] == 109 and cat[10] == 0 and cat[-1] == 4 and cat[-15] == 100
    assert len(PerItem(base) + PerItem(base)) == 20
    assert list(ChainDataset([Stream(2), Stream(3)])) == [0, 1, 0, 1, 2] and len(Stream(2) + Stream(3)) == 5


# ------------------------------------------------------------------------------------ samplers

def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    tg.manual_seed(1)
    perm = list(RandomSampler(range(50)))
    assert sorted(perm) == list(range(50)) and perm != list(range(50)) and all(type(i) is int for i in perm)
    assert len(list(RandomSampler(range(10), num_samples=25))) == 25
    twice = list(RandomSampler(range(10), num_samples=20))
    assert sorted(twice[:10]) == sorted(twice[10:]) == list(range(10))  # whole permutations first
    assert set(RandomSampler(range(3), replacement=True, num_samples=200)) == {0, 1, 2}
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert list(RandomSampler(range(30), generator=g1)) == list(RandomSampler(range(30), generator=g2))
    assert sorted(SubsetRandomSampler([5, 6, 7])) == [5, 6, 7] and len(SubsetRandomSampler([5, 6])) == 2
    w = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 100))
    assert set(w) <= {1, 3} and len(w) == 100
    assert sorted(WeightedRandomSampler([1, 1, 1], 3, replacement=False)) == [0, 1, 2]
    assert list(BatchSampler(SequentialSampler(range(5)), 2, False)) == [[0, 1], [2, 3], [4]]
    assert list(BatchSampler(range(5), 2, True)) == [[0, 1], [2, 3]] and len(BatchSampler(range(5), 2, True)) == 2


# ------------------------------------------------------------------------------------ collate

DTYPE_RULES = [([1, 2], tg.int64), ([1.0, 2.0], tg.float64), ([1, 2.5], tg.float32), ([True, False], tg.bool),
               ([np.float32(1)] * 2, tg.float32), ([np.int8(1)] * 2, tg.int8), ([np.zeros(3, np.uint8)] * 2, tg.uint8),
               ([tg.zeros(2, 3)] * 2, tg.float32)]  # [1, 2.5] is tensor([1, 2.5]): the first element decides


def test_default_collate_rules():
    for batch, dtype in DTYPE_RULES:
        out = default_collate(batch)
        assert out.dtype == dtype and out.shape[0] == 2
    out = default_collate([(1, 2.0, "s"), (3, 4.0, "t")])
    assert type(out) is list and out[0].dtype == tg.int64 and out[2] == ("s", "t")  # tuples give lists
    P = collections.namedtuple("P", "x y")
    assert type(default_collate([P(1, "a"), P(2, "b")])) is P and default_collate(["a", "b"]) == ["a", "b"]
    d = default_collate([collections.OrderedDict(a=np.zeros(2, np.float32), b=1)] * 3)
    assert type(d) is collections.OrderedDict and d["a"].shape == (3, 2) and d["b"].tolist() == [1, 1, 1]
    for batch, error, message in (([[1, 2], [3]], RuntimeError, "equal size"),
                                  ([tg.zeros(2), tg.zeros(3)], RuntimeError, "stack expects each tensor"),
                                  ([object()], TypeError, "default_collate: batch must contain"),
                                  ([np.array(["a"])], TypeError, "default_collate: batch must contain")):
        with pytest.raises(error, match=message):
            default_collate(batch)
    w = tg.ones(2, requires_grad=True)
    assert default_collate([w, w * 2]).requires_grad  # stacked through the graph
    assert default_convert((np.array([1, 2]), 3))[0].dtype == tg.int64 and default_convert(3) == 3


# ------------------------------------------------------------------------------------ DataLoader

@pytest.mark.parametrize("n,batch_size,drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)])
def test_loader_batches_len_and_order(n, batch_size, drop_last):
    ds = TensorDataset(tg.arange(n * 2).reshape(n, 2).float(), tg.arange(n))
    loader = DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == (n // batch_size if drop_last else -(-n // batch_size))
    seen = np.concatenate([y.numpy() for _, y in batches])
    np.testing.assert_array_equal(seen, np.arange(len(seen)))  # shuffle=False: in order
    assert all(type(b) is list and b[0].dtype == tg.float32 and b[1].dtype == tg.int64 for b in batches)
    _same_batches(batches, list(DataLoader(PerItem(ds), batch_size=batch_size, drop_last=drop_last)))
    assert len(iter(loader)) == len(loader)


def test_loader_shuffle_reproducible_and_fast_path_equal():
    ds = TensorDataset(tg.randn(37, 3), tg.arange(37))
    tg.manual_seed(7)
    fast = list(DataLoader(ds, batch_size=8, shuffle=True))
    tg.manual_seed(7)
    slow = list(DataLoader(PerItem(ds), batch_size=8, shuffle=True))
    _same_batches(fast, slow)
    assert sorted(np.concatenate([y.numpy() for _, y in fast]).tolist()) == list(range(37))
    a = list(DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(1)))
    b = list(DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(1)))
    _same_batches(a, b)
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    first, second = [y.numpy().copy() for _, y in loader], [y.numpy().copy() for _, y in loader]
    assert not all(np.array_equal(u, v) for u, v in zip(first, second))  # a new order every epoch


def test_loader_other_modes():
    assert [b.tolist() for b in DataLoader([1, 2, 3], batch_size=2)] == [[1, 2], [3]]
    assert [b["a"].dtype for b in DataLoader([{"a": 1.5}, {"a": 2.5}], batch_size=2)] == [tg.float64]
    ds = TensorDataset(tg.arange(4), tg.arange(4) * 2)
    assert [(len(i), i[1].ndim, i[1].item()) for i in DataLoader(ds, batch_size=None)][1] == (2, 0, 2)
    assert list(DataLoader(ds, batch_size=2, collate_fn=lambda b: len(b))) == [2, 2]
    by_batches = [[t.tolist() for t in b] for b in DataLoader(ds, batch_sampler=[[3, 0], [1]])]
    assert by_batches == [[[3, 0], [6, 0]], [[1], [2]]]
    assert [[t.tolist() for t in b] for b in DataLoader(ds, sampler=[2, 1], batch_size=2)] == [[[2, 1], [4, 2]]]
    stream = DataLoader(Stream(7), batch_size=3)
    assert [b.tolist() for b in stream] == [[0, 1, 2], [3, 4, 5], [6]] and len(stream) == 3
    assert len(list(DataLoader(Stream(7), batch_size=3, drop_last=True))) == 2


def test_num_workers_warns_once_and_loads_in_process(monkeypatch):
    monkeypatch.setattr(dataloader_module, "_warned_workers", False)
    ds = TensorDataset(tg.arange(10))
    with pytest.warns(UserWarning, match="num_workers=2 loads the batches in the main process"):
        loader = DataLoader(ds, batch_size=4, num_workers=2, pin_memory=True, persistent_workers=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DataLoader(ds, batch_size=4, num_workers=4)  # once per process
    assert loader.prefetch_factor == 2
    _same_batches(list(loader), list(DataLoader(ds, batch_size=4)))


# ------------------------------------------------------------------------------------ MNIST datasets

def _tiny_mnist(directory, compress=False):
    """Four IDX files (6 training, 4 test images) in ``directory``; returns the test images."""
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", 6), ("t10k", 4)):
        images = np.random.default_rng(n).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", (np.arange(n) % 10).astype(np.uint8))):
            raw = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
            path = directory / f"{prefix}-{kind}-ubyte{'.gz' if compress else ''}"
            path.write_bytes(gzip.compress(raw) if compress else raw)
    return images


def test_mnist_matches_the_idx_reader(arrays, train):
    test = datasets.MNIST(train=False)
    for ds, images, labels in ((train, arrays.train_images, arrays.train_labels),
                               (test, arrays.test_images, arrays.test_labels)):
        assert len(ds) == len(images) and ds.data.dtype == tg.uint8 and ds.data.shape == images.shape
        assert ds.targets.dtype == tg.int64
        np.testing.assert_array_equal(ds.data.numpy(), images)
        np.testing.assert_array_equal(ds.targets.numpy(), labels)
    img, label = train[7]
    assert type(img) is np.ndarray and img.dtype == np.uint8 and img.shape == (28, 28) and type(label) is int
    np.testing.assert_array_equal(img, arrays.train_images[7])
    img[:] = 0  # a copy: the dataset is untouched
    assert train.data.numpy()[7].any()
    np.testing.assert_array_equal(train[-1][0], arrays.train_images[-1])
    assert train.classes[3] == "3 - three" and train.class_to_idx["9 - nine"] == 9
    assert "Number of datapoints: 60000" in repr(train) and "Split: Train" in repr(train)
    with pytest.warns(UserWarning, match="train_data has been renamed data"):
        assert train.train_data is train.data


def test_mnist_from_any_directory(tmp_path):
    test_images = _tiny_mnist(tmp_path / "flat", compress=True)
    ds = datasets.MNIST(root=str(tmp_path / "flat"), train=False, target_transform=lambda y: y * 10)
    assert len(ds) == 4 and ds[3][1] == 30
    np.testing.assert_array_equal(ds.data.numpy(), test_images)
    _tiny_mnist(tmp_path / "tv" / "MNIST" / "raw")  # torchvision's layout: root/MNIST/raw
    assert len(datasets.MNIST(root=tmp_path / "tv")) == 6
    _tiny_mnist(tmp_path / "fa" / "FashionMNIST" / "raw")
    fashion = datasets.FashionMNIST(root=tmp_path / "fa", transform=T.ToTensor())
    assert fashion.classes[9] == "Ankle boot" and fashion[0][0].shape == (1, 28, 28)


def test_mnist_download_and_environment(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr("tinygrad_cnn.data.download_mnist", lambda d: (calls.append(d), _tiny_mnist(d)) and d)
    assert len(datasets.MNIST(root=tmp_path, download=True)) == 6 and calls == [tmp_path / "MNIST" / "raw"]
    assert len(datasets.MNIST(root=tmp_path, download=True)) == 6 and len(calls) == 1  # present: no new download
    monkeypatch.setenv("TINYGRAD_CNN_DATA", str(tmp_path / "MNIST" / "raw"))
    assert len(datasets.MNIST(train=False)) == 4  # root=None: locate_mnist's order, the environment first


def test_mnist_loader_batches_equal_per_item(train):
    for transform in (None, NORM, T.Compose([T.PILToTensor()])):
        train.transform = transform
        sub = Subset(train, list(range(40, 75)))
        fast = list(DataLoader(sub, batch_size=16))
        slow = list(DataLoader(PerItem(sub), batch_size=16))
        _same_batches(fast, slow)
    train.transform = None
    assert fast[0][0].dtype == tg.uint8 and fast[0][0].shape == (16, 1, 28, 28)


def test_mnist_epoch_gives_every_image_once(arrays):
    ds = datasets.MNIST(transform=NORM)
    tg.manual_seed(0)
    loader = DataLoader(ds, batch_size=128, shuffle=True)
    assert len(loader) == 469
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in loader))
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.shape == (60000, 1, 28, 28) and x.dtype == np.float32 and xs[-1].shape[0] == 60000 - 468 * 128
    pixels = np.rint((x[:, 0] * np.float32(0.3081) + np.float32(0.1307)) * 255).astype(np.uint8)
    assert not np.array_equal(y, arrays.train_labels)  # shuffled
    def rows(images, labels):  # each (image, label) pair as one sortable byte string
        flat = np.concatenate([images.reshape(len(images), -1), labels[:, None].astype(np.uint8)], 1)
        return np.sort(np.ascontiguousarray(flat).view(f"V{flat.shape[1]}").ravel()).tobytes()
    assert rows(pixels, y) == rows(arrays.train_images, arrays.train_labels)  # every image once, with its label


def test_readme_training_loop_runs():
    from tinygrad_cnn.utils import datasets, transforms  # noqa: F811  (the README's imports)
    from tinygrad_cnn.utils.data import DataLoader  # noqa: F811
    model = tg.nn.Sequential(tg.nn.Flatten(), tg.nn.Linear(784, 10))
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    F = tg.nn.functional
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    loader = DataLoader(datasets.MNIST(train=True, transform=tf), batch_size=128, shuffle=True)
    for step, (images, labels) in enumerate(loader):  # float32 (128, 1, 28, 28), int64 (128,)
        opt.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        opt.step()
        if step == 20:
            break
    assert step == 20 and loss.item() < 1.5


# ------------------------------------------------------------------------------------ transforms

def test_to_tensor_and_normalize_values():
    img = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    t = T.ToTensor()(img)
    assert t.dtype == tg.float32 and t.shape == (1, 3, 4)
    np.testing.assert_array_equal(t.numpy()[0], img.astype(np.float32) / np.float32(255))
    rgb = T.ToTensor()(np.stack([np.zeros((2, 3), np.uint8)] * 2 + [np.full((2, 3), 255, np.uint8)], axis=-1))
    assert rgb.shape == (3, 2, 3) and rgb.numpy()[2].min() == 1.0 and rgb.numpy()[:2].max() == 0
    f64 = T.ToTensor()(np.full((2, 2), 7.0))
    assert f64.dtype == tg.float64 and f64.numpy().max() == 7.0  # only uint8 is scaled, as in torchvision
    assert T.PILToTensor()(img).dtype == tg.uint8 and T.PILToTensor()(img).shape == (1, 3, 4)
    n = T.Normalize((0.5,), (0.25,))(t)
    np.testing.assert_array_equal(n.numpy(), (t.numpy() - np.float32(0.5)) / np.float32(0.25))
    assert n.dtype == tg.float32 and not np.shares_memory(n.numpy(), t.numpy())
    three = T.Normalize([0.0, 1.0, 2.0], [1.0, 2.0, 4.0])(tg.ones(3, 2, 2))
    np.testing.assert_array_equal(three.numpy()[:, 0, 0], [1.0, 0.0, -0.25])
    inplace = tg.ones(1, 2, 2)
    assert T.Normalize((1.0,), (1.0,), inplace=True)(inplace) is inplace and inplace.numpy().max() == 0
    assert "Normalize(mean=(0.5,), std=(0.25,))" in repr(T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.25,))]))
    assert T.Lambda(lambda x: x + 1)(1) == 2


def _shifted(img, dx, dy):
    """Reference shift (right by dx, down by dy, zero fill) by padding and slicing."""
    h, w = img.shape[-2:]
    p = max(h, w, abs(dx), abs(dy))
    padded = np.pad(img, [(0, 0)] * (img.ndim - 2) + [(p, p), (p, p)])
    return padded[..., p - dy:p - dy + h, p - dx:p - dx + w]


def _shift_of(original, result, max_shift):
    return [(dx, dy) for dx in range(-max_shift, max_shift + 1) for dy in range(-max_shift, max_shift + 1)
            if np.array_equal(_shifted(original, dx, dy), result)]


def test_random_shift_moves_whole_pixels(train):
    from tinygrad_cnn.utils.transforms import _shift_batch
    img = np.arange(1, 31, dtype=np.uint8).reshape(5, 6)
    batch = np.stack([img] * 4)
    out = _shift_batch(batch, np.array([1, -2, 0, 9]), np.array([0, 1, -3, 0]), 0, False)
    for k, (dx, dy) in enumerate([(1, 0), (-2, 1), (0, -3), (9, 0)]):
        np.testing.assert_array_equal(out[k], _shifted(img, dx, dy))
    tensor_out = _shift_batch(batch[:, None].astype(np.float32), np.array([1, 0, 0, 0]), np.zeros(4, int), 0, True)
    np.testing.assert_array_equal(tensor_out[0, 0], _shifted(img, 1, 0))
    tg.manual_seed(3)
    shift = T.RandomShift(2)
    assert shift(img).shape == (5, 6) and _shift_of(img, shift(img), 2)
    assert isinstance(shift(tg.tensor(img[None])), tg.Tensor)
    train.transform = T.Compose([T.RandomShift(2), T.PILToTensor()])
    try:
        xb, _ = next(iter(DataLoader(train, batch_size=32)))  # the batched path
    finally:
        train.transform = None
    found = [_shift_of(train.data.numpy()[k], xb.numpy()[k, 0], 2) for k in range(32)]
    assert all(found) and len({f[0] for f in found}) > 3


def test_random_affine_translate_range():
    tg.manual_seed(0)
    affine = T.RandomAffine(degrees=0, translate=(0.1, 0.1))
    img = np.zeros((28, 28), np.uint8)
    img[14, 14] = 255
    moves = set()
    for _ in range(200):
        ys, xs = np.nonzero(affine(img))
        if len(xs):
            moves.add((int(xs[0]) - 14, int(ys[0]) - 14))
    assert {m for move in moves for m in move} == set(range(-3, 4))  # round(U(-2.8, 2.8))
    assert repr(affine) == "RandomAffine(degrees=[0.0, 0.0], translate=(0.1, 0.1))"
    np.testing.assert_array_equal(T.RandomAffine(0)(img), img)


# ------------------------------------------------------------------------------------ error cases

def _index(dataset, i):
    return dataset[i]


class FakeTorchGenerator:
    __module__ = "torch._C"


@functools.cache
def _mnist_test():
    return datasets.MNIST(train=False)


ERRORS = [
    (lambda: TensorDataset(tg.zeros(4), tg.zeros(5)), AssertionError, "Size mismatch"),
    (lambda: TensorDataset(np.zeros(3)), TypeError, "from_numpy"),
    (lambda: random_split(range(10), [3, 3]), ValueError, "Sum of input lengths"),
    (lambda: random_split(range(10), [0.5, -0.5, 1.0]), ValueError, "Fraction at index 1"),
    (lambda: random_split(range(10), [5, 5.0]), TypeError, "lengths must be ints"),
    (lambda: _index(ConcatDataset([[1, 2], [3]]), -4), ValueError, "absolute value"),
    (lambda: _index(ConcatDataset([[1, 2], [3]]), 3), IndexError, "out of range"),
    (lambda: ConcatDataset([]), AssertionError, "empty"),
    (lambda: ConcatDataset([[1], Stream(3)]), AssertionError, "IterableDataset"),
    (lambda: Dataset()[0], NotImplementedError, "should implement __getitem__"),
    (lambda: RandomSampler([]), ValueError, "num_samples should be a positive integer"),
    (lambda: RandomSampler(range(3), replacement=1), TypeError, "replacement should be a boolean"),
    (lambda: WeightedRandomSampler([[1.0]], 1), ValueError, "1d sequence"),
    (lambda: WeightedRandomSampler([1.0, 0.0], 2, replacement=False), RuntimeError, "without replacement"),
    (lambda: BatchSampler(range(5), 0, False), ValueError, "batch_size should be a positive integer"),
    (lambda: BatchSampler(range(5), 2.0, False), ValueError, "batch_size should be a positive integer"),
    (lambda: BatchSampler(range(5), True, False), ValueError, "batch_size should be a positive integer"),
    (lambda: BatchSampler(range(5), 2, 1), ValueError, "drop_last should be a boolean"),
    (lambda: _index(_mnist_test(), 10000), IndexError, "out of bounds"),
    (lambda: _index(_mnist_test(), 1.5), TypeError, "indices must be integers"),
    (lambda: datasets.MNIST(root="/nonexistent/mnist"), RuntimeError, "Dataset not found. You can use download=True"),
    (lambda: datasets.MNIST(transform="ToTensor"), TypeError, "transform must be callable"),
    (lambda: datasets.FashionMNIST(), TypeError, "root is required"),
    (lambda: datasets.FashionMNIST(root="/nonexistent", download=True), RuntimeError, "download=True is not supported"),
    (lambda: RandomSampler(range(3), generator=FakeTorchGenerator()), TypeError, "got a torch.Generator"),
    (lambda: DataLoader(range(3), shuffle=True, generator=FakeTorchGenerator()), TypeError, "got a torch.Generator"),
    (lambda: random_split(range(3), [1, 2], generator=42), TypeError, "must be a numpy.random.Generator"),
    (lambda: setattr(DataLoader(range(3)), "batch_size", 3), ValueError, "batch_size attribute should not be set"),
    (lambda: DataLoader(range(9), shuffle=True, sampler=[0]), ValueError, "mutually exclusive with shuffle"),
    (lambda: DataLoader(range(9), batch_sampler=[[0]], batch_size=2), ValueError, "batch_sampler option is mutually"),
    (lambda: DataLoader(range(9), batch_sampler=[[0]], drop_last=True), ValueError, "batch_sampler option is mutually"),
    (lambda: DataLoader(range(9), batch_size=None, drop_last=True), ValueError, "disables auto-batching"),
    (lambda: DataLoader(range(9), num_workers=-1), ValueError, "num_workers option should be non-negative"),
    (lambda: DataLoader(range(9), timeout=-1), ValueError, "timeout option should be non-negative"),
    (lambda: DataLoader(range(9), batch_size=0), ValueError, "batch_size should be a positive integer"),
    (lambda: DataLoader(range(9), prefetch_factor=2), ValueError, "prefetch_factor option could only be specified"),
    (lambda: DataLoader(range(9), persistent_workers=True), ValueError, "persistent_workers option needs num_workers"),
    (lambda: DataLoader(range(9), multiprocessing_context="spawn"), ValueError, "multiprocessing_context"),
    (lambda: DataLoader(range(9), collate_fn=3), TypeError, "collate_fn"),
    (lambda: DataLoader(Stream(3), shuffle=True), ValueError, "IterableDataset: expected unspecified shuffle"),
    (lambda: DataLoader(Stream(3), sampler=[0]), ValueError, "IterableDataset: expected unspecified sampler"),
    (lambda: DataLoader(Stream(3), batch_sampler=[[0]]), ValueError, "IterableDataset: expected unspecified batch_"),
    (lambda: T.ToTensor()(tg.zeros(1, 2, 2)), TypeError, "pic should be PIL Image or ndarray"),
    (lambda: T.ToTensor()(np.zeros((1, 1, 2, 2), np.uint8)), ValueError, "pic should be 2/3 dimensional"),
    (lambda: T.Normalize((0.5,), (0.5,))(np.zeros((1, 2, 2), np.float32)), TypeError, "img should be Tensor Image"),
    (lambda: T.Normalize((0.5,), (0.5,))(tg.zeros(1, 2, 2, dtype=tg.uint8)), TypeError, "should be a float tensor"),
    (lambda: T.Normalize((0.5,), (0.5,))(tg.zeros(2, 2)), ValueError, "tensor image of size"),
    (lambda: T.Normalize((0.5,), (0.0,))(tg.zeros(1, 2, 2)), ValueError, "std evaluated to zero"),
    (lambda: T.Normalize((0.5, 0.5), (0.5, 0.5))(tg.zeros(3, 2, 2)), RuntimeError, "does not fit"),
    (lambda: T.Lambda(3), TypeError, "lambd should be callable"),
    (lambda: T.RandomAffine(10), NotImplementedError, "rotation"),
    (lambda: T.RandomAffine(0, scale=(0.9, 1.1)), NotImplementedError, "scale"),
    (lambda: T.RandomAffine(0, translate=(0.1, 1.5)), ValueError, "between 0 and 1"),
    (lambda: T.RandomAffine(-1), ValueError, "must be positive"),
    (lambda: T.RandomShift(-1), ValueError, "max_shift"),
    (lambda: list(DataLoader(datasets.MNIST(transform=T.Normalize((0.5,), (0.5,))), batch_size=4)),  # batch path
     TypeError, "img should be Tensor Image"),
]


@pytest.mark.parametrize("call,error,message", ERRORS)
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
