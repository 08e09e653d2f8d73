"""Tests for tinygrad_cnn.data: IDX parsing, MNIST lookup and download, normalize, batching.

No test touches the real network or the real ~/.cache: an autouse fixture points the cache
at tmp_path, clears $TINYGRAD_CNN_DATA and refuses any URL that is not on 127.0.0.1.
"""
import functools
import gzip
import hashlib
import http.server
import socket
import struct
import threading
import urllib.parse
import urllib.request

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_cnn import data, files
from tinygrad_cnn.data import MNIST, BatchIterator, DownloadError, download_mnist, load_mnist, normalize, read_idx
from tinygrad_cnn.rng import manual_seed

NAMES = list(data.MNIST_FILES.values())  # train-images, train-labels, t10k-images, t10k-labels


# ----------------------------------------------------------------------------------------------
# helpers and fixtures
# ----------------------------------------------------------------------------------------------

_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
          np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def idx_bytes(array) -> bytes:
    """Serialise an array in IDX format (the reference encoder for these tests)."""
    array = np.asarray(array)
    header = bytes([0, 0, _CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, payload: bytes, gz=False):
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def fake_mnist(seed=0, n_train=20, n_test=10):
    """Tiny MNIST-format contents keyed by file name."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)),
        "train-labels-idx1-ubyte": idx_bytes((np.arange(n_train) % 10).astype(np.uint8)),
        "t10k-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)),
        "t10k-labels-idx1-ubyte": idx_bytes((np.arange(n_test) % 10).astype(np.uint8)),
    }


def write_mnist_dir(directory, files, gz=False):
    directory.mkdir(parents=True, exist_ok=True)
    for name, payload in files.items():
        write(directory / (name + ".gz" if gz else name), payload, gz)
    return directory


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Keep every test off the real cache, the user's env var and the network."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    real_urlopen = urllib.request.urlopen

    def local_only(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        host = urllib.parse.urlsplit(url).hostname
        assert host == "127.0.0.1", f"test tried to reach the network: {url}"
        return real_urlopen(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", local_only)
    monkeypatch.setattr(data, "MIRRORS", [])


@pytest.fixture
def fake_files(monkeypatch):
    """Fake MNIST contents, with data.SHA256 patched to their checksums."""
    files = fake_mnist()
    monkeypatch.setattr(data, "SHA256", {n: hashlib.sha256(b).hexdigest() for n, b in files.items()})
    return files


@pytest.fixture
def http_root(tmp_path):
    """A local HTTP server on 127.0.0.1; yields (directory it serves, base URL)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url():
    """A URL on a port nothing listens on (bound then released), so connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def check_fake(mnist, files):
    for field, name in data.MNIST_FILES.items():
        assert getattr(mnist, field).tobytes() == files[name][16 if "images" in name else 8:]


# ----------------------------------------------------------------------------------------------
# read_idx
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5)])
def test_read_idx_uint8(tmp_path, gz, shape):
    a = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    out = read_idx(write(tmp_path / "a.idx", idx_bytes(a), gz))
    assert out.dtype == np.uint8 and out.shape == shape
    np.testing.assert_array_equal(out, a)
    out[...] = 0  # the result must be writable (not a read-only view of a bytes object)


def test_read_idx_non_uint8_is_native_endian(tmp_path):
    a = np.array([[1.5, -2.25], [3e30, 0.0]], dtype=np.float32)
    out = read_idx(write(tmp_path / "f.idx", idx_bytes(a)))
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, a)
    b = np.array([-32768, 1, 258], dtype=np.int16)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "i.idx", idx_bytes(b), gz=True)), b)


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    a = np.arange(6, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "plain-name", idx_bytes(a), gz=True)), a)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "raw.gz", idx_bytes(a))), a)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(st.sampled_from(list(_CODES)), hnp.array_shapes(min_dims=1, max_dims=4, max_side=5)),
       st.booleans())
def test_read_idx_roundtrip_property(tmp_path_factory, array, gz):
    path = write(tmp_path_factory.mktemp("idx") / "x", idx_bytes(array), gz)
    out = read_idx(path)
    assert out.dtype == array.dtype and out.shape == array.shape
    np.testing.assert_array_equal(out, array)


def header(code=0x08, dims=(2, 3)):
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("payload, problem", [
    (b"\x01\x02\x08\x01" + b"\x00\x00\x00\x01" + b"x", r"bad IDX magic number 0x01020801"),
    (header(code=0x07, dims=(1,)) + b"x", r"unknown IDX type code 0x07"),
    (b"\x00\x00", r"truncated IDX header: need at least 4 bytes, file holds 2"),
    (header(dims=(2, 3))[:9], r"truncated IDX header: 2 dimensions need a 12-byte header, file holds 9"),
    (bytes([0, 0, 8, 0]), r"IDX header declares 0 dimensions"),
    (header(dims=(2, 3)) + b"x" * 5, r"truncated IDX data: header says 2x3 uint8 = 6 bytes, file holds 5"),
    (header(0x0C, dims=(2,)) + b"x" * 7, r"truncated IDX data: header says 2 int32 = 8 bytes, file holds 7"),
    (header(dims=(2, 3)) + b"x" * 9,
     r"trailing bytes after IDX data: header says 2x3 uint8 = 6 bytes, file holds 9"),
], ids=["magic", "type-code", "short-header", "short-dims", "ndim-0", "short-data", "short-int32",
        "trailing"])
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_read_idx_errors_name_file_and_problem(tmp_path, payload, problem, gz):
    path = write(tmp_path / "broken-idx1-ubyte", payload, gz)
    # gzip files report the size of the decompressed stream, raw files that of the file
    problem = problem.replace("file holds", r"(file|decompressed stream) holds")
    with pytest.raises(ValueError, match=r"broken-idx1-ubyte: " + problem):
        read_idx(path)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_read_idx_corrupt_gzip(tmp_path, damage):
    blob = bytearray(gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8))))
    if damage == "truncate":
        blob = blob[:len(blob) // 2]
    else:
        blob[-6] ^= 0xFF  # inside the CRC/size trailer
    path = write(tmp_path / "labels.gz", bytes(blob))
    with pytest.raises(ValueError, match=r"labels\.gz: corrupt gzip stream"):
        read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope-idx3-ubyte\.gz: no such file"):
        read_idx(tmp_path / "nope-idx3-ubyte.gz")


def test_read_idx_directory(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        read_idx(tmp_path)


# ----------------------------------------------------------------------------------------------
# load_mnist
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_from_root(tmp_path, gz):
    files = fake_mnist()
    root = write_mnist_dir(tmp_path / "mnist", files, gz)
    mnist = load_mnist(root)
    assert isinstance(mnist, MNIST)
    assert mnist.train_images.shape == (20, 28, 28) and mnist.train_labels.shape == (20,)
    assert mnist.test_images.shape == (10, 28, 28) and mnist.test_labels.shape == (10,)
    assert all(a.dtype == np.uint8 for a in mnist)
    check_fake(mnist, files)
    assert load_mnist(str(root)).train_labels.tolist() == mnist.train_labels.tolist()  # str path too


def test_load_mnist_mixed_raw_and_gz(tmp_path):
    files = fake_mnist()
    root = tmp_path / "mixed"
    write_mnist_dir(root, dict(list(files.items())[:2]), gz=True)
    write_mnist_dir(root, dict(list(files.items())[2:]), gz=False)
    check_fake(load_mnist(root), files)


def test_load_mnist_env_var(tmp_path, monkeypatch):
    files = fake_mnist(seed=1)
    monkeypatch.setenv(data.ENV_VAR, str(write_mnist_dir(tmp_path / "env", files, gz=True)))
    check_fake(load_mnist(), files)
    # an explicit root beats the env var
    other = fake_mnist(seed=2, n_train=30)
    assert load_mnist(write_mnist_dir(tmp_path / "root", other)).train_images.shape[0] == 30


def test_load_mnist_env_var_incomplete_is_an_error(tmp_path, monkeypatch):
    files = fake_mnist()
    del files["t10k-images-idx3-ubyte"]
    monkeypatch.setenv(data.ENV_VAR, str(write_mnist_dir(tmp_path / "env", files)))
    with pytest.raises(FileNotFoundError, match=r"\$TINYGRAD_CNN_DATA.*missing: t10k-images-idx3-ubyte"):
        load_mnist()


def test_load_mnist_missing_files_listed(tmp_path):
    files = fake_mnist()
    del files["train-labels-idx1-ubyte"], files["t10k-labels-idx1-ubyte"]
    root = write_mnist_dir(tmp_path / "partial", files)
    with pytest.raises(FileNotFoundError, match=r"partial \(the root argument\) is missing: "
                       r"train-labels-idx1-ubyte\[\.gz\], t10k-labels-idx1-ubyte\[\.gz\];"):
        load_mnist(root)
    with pytest.raises(FileNotFoundError, match=r"no-such-dir \(the root argument\) does not exist"):
        load_mnist(tmp_path / "no-such-dir")


def test_load_mnist_count_mismatch(tmp_path):
    files = fake_mnist()
    files["t10k-labels-idx1-ubyte"] = idx_bytes(np.zeros(9, np.uint8))
    root = write_mnist_dir(tmp_path / "m", files)
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte holds 10 images but "
                                         r".*t10k-labels-idx1-ubyte holds 9 labels"):
        load_mnist(root)


@pytest.mark.parametrize("name, content, problem", [
    ("train-images-idx3-ubyte", np.zeros((20, 784), np.uint8),
     r"train-images-idx3-ubyte: expected 3-D images"),
    ("train-labels-idx1-ubyte", np.zeros((20, 1), np.uint8), r"train-labels-idx1-ubyte: expected 1-D labels"),
    ("train-labels-idx1-ubyte", np.zeros(20, np.float32),
     r"train-labels-idx1-ubyte: labels must be integers"),
    ("t10k-labels-idx1-ubyte", -np.ones(10, np.int8), r"t10k-labels-idx1-ubyte: labels must be non-negative"),
    ("t10k-images-idx3-ubyte", np.zeros((10, 32, 32), np.uint8), r"image size mismatch"),
])
def test_load_mnist_structure_checks(tmp_path, name, content, problem):
    files = fake_mnist()
    files[name] = idx_bytes(content)
    with pytest.raises(ValueError, match=problem):
        load_mnist(write_mnist_dir(tmp_path / "m", files))


def test_load_mnist_is_not_checksummed_for_user_dirs(tmp_path):
    """A same-format dataset (Fashion-MNIST, say) must load: only downloads are checksummed."""
    files = fake_mnist(seed=3)
    name = "t10k-labels-idx1-ubyte"
    assert hashlib.sha256(files[name]).hexdigest() != data.SHA256[name]
    check_fake(load_mnist(write_mnist_dir(tmp_path / "fashion", files)), files)


@pytest.fixture(scope="module")
def shipped():
    """The real MNIST shipped in data/mnist/, loaded once (about 1 s) through the default lookup."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(data.ENV_VAR, raising=False)
        assert data.locate_mnist() == data.SHIPPED_DIR
        return load_mnist()


def test_shipped_mnist_shapes(shipped):
    assert shipped.train_images.shape == (60000, 28, 28) and shipped.train_labels.shape == (60000,)
    assert shipped.test_images.shape == (10000, 28, 28) and shipped.test_labels.shape == (10000,)
    assert all(a.dtype == np.uint8 for a in shipped)


def test_shipped_mnist_label_counts(shipped):
    train = "5923 6742 5958 6131 5842 5421 5918 6265 5851 5949"
    test = "980 1135 1032 1010 982 892 958 1028 974 1009"
    assert np.bincount(shipped.train_labels).tolist() == [int(c) for c in train.split()]
    assert np.bincount(shipped.test_labels).tolist() == [int(c) for c in test.split()]


def test_shipped_files_match_checksums():
    for name in NAMES:
        raw = gzip.decompress((data.SHIPPED_DIR / f"{name}.gz").read_bytes())
        assert hashlib.sha256(raw).hexdigest() == data.SHA256[name], name


# ----------------------------------------------------------------------------------------------
# download_mnist (against a local HTTP server only)
# ----------------------------------------------------------------------------------------------

def test_download_success(tmp_path, http_root, fake_files):
    www, url = http_root
    write_mnist_dir(www / "good", fake_files, gz=True)
    cache = tmp_path / "cache"
    assert download_mnist(cache, mirrors=[f"{url}/good/"], timeout=5) == cache
    assert sorted(p.name for p in cache.iterdir()) == sorted(NAMES)  # no temporary files left
    check_fake(load_mnist(cache), fake_files)


def test_download_skips_verified_files_and_replaces_bad_ones(tmp_path, http_root, fake_files):
    www, url = http_root
    write_mnist_dir(www / "good", fake_files, gz=True)
    cache = write_mnist_dir(tmp_path / "cache", fake_files)
    (cache / "t10k-labels-idx1-ubyte").write_bytes(b"garbage")
    # only the corrupt file needs the server; with an unreachable mirror first, the rest must be skipped
    download_mnist(cache, mirrors=[closed_port_url(), f"{url}/good"], timeout=5)
    check_fake(load_mnist(cache), fake_files)
    # everything verified now: no mirror is contacted at all
    download_mnist(cache, mirrors=[closed_port_url()], timeout=5)


def test_download_bad_checksum_falls_back_to_next_mirror(tmp_path, http_root, fake_files):
    www, url = http_root
    corrupt = {name: payload[:-1] + bytes([payload[-1] ^ 1]) for name, payload in fake_files.items()}
    write_mnist_dir(www / "bad", corrupt, gz=True)
    write_mnist_dir(www / "good", fake_files, gz=True)
    cache = download_mnist(tmp_path / "cache", mirrors=[f"{url}/bad/", f"{url}/good/"], timeout=5)
    check_fake(load_mnist(cache), fake_files)


def test_download_all_mirrors_bad(tmp_path, http_root, fake_files):
    www, url = http_root
    write_mnist_dir(www / "bad1", {n: b + b"!" for n, b in fake_files.items()}, gz=True)
    for name in NAMES:  # not even gzip
        (www / "bad2").mkdir(exist_ok=True)
        (www / "bad2" / f"{name}.gz").write_bytes(b"\x1f\x8bnot really gzip")
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        download_mnist(cache, mirrors=[f"{url}/bad1/", f"{url}/bad2/", f"{url}/missing/"], timeout=5)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert f"{url}/bad1/train-images-idx3-ubyte.gz: sha256 mismatch" in message
    assert f"{url}/bad2/train-images-idx3-ubyte.gz: corrupt gzip stream" in message
    assert f"{url}/missing/train-images-idx3-ubyte.gz: HTTP 404" in message
    assert "no network?" in message and "TINYGRAD_CNN_DATA" in message
    assert list(cache.iterdir()) == []  # no file and no temporary file left behind


def test_download_unreachable_mirror(tmp_path, fake_files):
    bad = closed_port_url()
    pattern = (r"(?s)train-images-idx3-ubyte\.gz from any mirror.*"
               + bad + r"train-images-idx3-ubyte\.gz: cannot connect.*no network\?")
    with pytest.raises(DownloadError, match=pattern):
        download_mnist(tmp_path / "cache", mirrors=[bad], timeout=5)
    assert list((tmp_path / "cache").iterdir()) == []


def test_download_no_mirrors(tmp_path, fake_files):
    with pytest.raises(DownloadError, match="no mirrors given"):
        download_mnist(tmp_path / "cache", mirrors=[])


def test_atomic_write_cleans_up_on_failure(tmp_path, monkeypatch):
    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        files.atomic_write(tmp_path / "file", b"payload")
    assert list(tmp_path.iterdir()) == []


def test_load_mnist_cache_then_download(tmp_path, monkeypatch, http_root, fake_files):
    """Lookup steps (d) and (e): with no shipped copy, use the cache, downloading into it if empty."""
    www, url = http_root
    write_mnist_dir(www / "m", fake_files, gz=True)
    monkeypatch.setattr(data, "SHIPPED_DIR", tmp_path / "not-shipped")
    monkeypatch.setattr(data, "MIRRORS", [f"{url}/m/"])
    cache = tmp_path / "xdg-cache" / "tinygrad_cnn" / "mnist"
    assert data.default_cache_dir() == cache
    check_fake(load_mnist(), fake_files)
    assert sorted(p.name for p in cache.iterdir()) == sorted(NAMES)
    monkeypatch.setattr(data, "MIRRORS", [closed_port_url()])  # now served from the cache alone
    check_fake(load_mnist(), fake_files)


def test_default_cache_dir_without_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.default_cache_dir() == tmp_path / "home" / ".cache" / "tinygrad_cnn" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert data.default_cache_dir() == tmp_path / "home" / ".cache" / "tinygrad_cnn" / "mnist"


# ----------------------------------------------------------------------------------------------
# normalize
# ----------------------------------------------------------------------------------------------

def test_normalize_values_dtype_shape():
    images = np.array([[[0, 255], [51, 128]]], dtype=np.uint8)
    out = normalize(images)
    assert out.dtype == np.float32 and out.shape == (1, 1, 2, 2)
    expected = ((images.astype(np.float64) / 255 - 0.1307) / 0.3081)[:, None]
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(normalize(images, mean=0.5, std=0.5)[0, 0, 0], [-1, 1], atol=1e-6)


def test_normalize_accepts_channel_axis_and_does_not_modify_input():
    images = np.random.default_rng(0).integers(0, 256, (4, 1, 5, 5), dtype=np.uint8)
    before = images.copy()
    out = normalize(images)
    assert out.shape == (4, 1, 5, 5) and out.dtype == np.float32
    np.testing.assert_array_equal(images, before)
    np.testing.assert_array_equal(out, normalize(images[:, 0]))


@pytest.mark.parametrize("bad, match", [
    (np.zeros((28, 28), np.uint8), r"shape \(N, H, W\) or \(N, 1, H, W\), got \(28, 28\)"),
    (np.zeros((2, 28, 28, 1), np.uint8), r"got \(2, 28, 28, 1\)"),
    (np.zeros((2, 3, 4, 5, 6), np.uint8), r"got \(2, 3, 4, 5, 6\)"),
    (np.zeros((2, 28, 28), np.float32), r"already normalized"),
])
def test_normalize_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        normalize(bad)


def test_normalize_rejects_bad_std():
    with pytest.raises(ValueError, match="std must be positive"):
        normalize(np.zeros((1, 2, 2), np.uint8), std=0)


# ----------------------------------------------------------------------------------------------
# BatchIterator
# ----------------------------------------------------------------------------------------------

def dataset(n=10):
    images = np.arange(n * 4, dtype=np.uint8).reshape(n, 2, 2)
    return images, np.arange(n)


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_cover_every_index_once(shuffle):
    images, labels = dataset(10)
    it = BatchIterator(images, labels, batch_size=3, shuffle=shuffle, rng=np.random.default_rng(0))
    assert len(it) == 4
    batches = list(it)
    assert [len(y) for _, y in batches] == [3, 3, 3, 1]
    seen = np.concatenate([y for _, y in batches])
    assert sorted(seen.tolist()) == list(range(10))
    if not shuffle:
        assert seen.tolist() == list(range(10))
    for x, y in batches:  # images stay paired with their labels
        np.testing.assert_array_equal(x, images[y])


def test_drop_last():
    images, labels = dataset(10)
    it = BatchIterator(images, labels, batch_size=3, drop_last=True)
    assert len(it) == 3
    batches = list(it)
    assert len(batches) == 3 and all(len(y) == 3 for _, y in batches)
    assert len(set(np.concatenate([y for _, y in batches]).tolist())) == 9
    assert len(BatchIterator(images, labels, batch_size=11, drop_last=True)) == 0
    assert list(BatchIterator(images, labels, batch_size=11, drop_last=True)) == []
    assert len(BatchIterator(images, labels, batch_size=5, drop_last=True)) == 2


def test_len_exact_multiple_and_empty():
    assert len(BatchIterator(*dataset(12), batch_size=4)) == 3
    assert len(BatchIterator(*dataset(0), batch_size=4)) == 0
    assert list(BatchIterator(*dataset(0), batch_size=4)) == []


def order(it):
    return np.concatenate([y for _, y in it]).tolist()


def test_shuffle_reproducible_with_manual_seed():
    images, labels = dataset(50)
    manual_seed(123)
    first = order(BatchIterator(images, labels, batch_size=8))
    manual_seed(123)
    assert order(BatchIterator(images, labels, batch_size=8)) == first
    assert first != list(range(50))


def test_shuffle_reproducible_with_rng_and_new_order_each_epoch():
    images, labels = dataset(50)
    it = BatchIterator(images, labels, batch_size=8, rng=np.random.default_rng(7))
    epoch1, epoch2 = order(it), order(it)
    assert epoch1 != epoch2 and sorted(epoch1) == sorted(epoch2) == list(range(50))
    again = BatchIterator(images, labels, batch_size=8, rng=np.random.default_rng(7))
    assert [order(again), order(again)] == [epoch1, epoch2]


def test_permutation_drawn_when_iteration_starts():
    images, labels = dataset(50)
    it = BatchIterator(images, labels, batch_size=8)
    manual_seed(5)
    batches = iter(it)  # the epoch's order is fixed here ...
    manual_seed(99)  # ... so reseeding afterwards does not change it
    got = np.concatenate([y for _, y in batches]).tolist()
    manual_seed(5)
    assert order(it) == got


def test_batches_are_copies():
    images, labels = dataset(6)
    for shuffle in (False, True):
        for x, y in BatchIterator(images, labels, batch_size=4, shuffle=shuffle):
            x[...] = 0
            y[...] = -1
    ref_images, ref_labels = dataset(6)
    np.testing.assert_array_equal(images, ref_images)
    np.testing.assert_array_equal(labels, ref_labels)


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
    ({"batch_size": -2}, "batch_size must be a positive integer"),
    ({"batch_size": 2.0}, r"batch_size must be a positive integer, got 2\.0"),
    ({"batch_size": True}, "batch_size must be a positive integer"),
])
def test_batch_iterator_bad_batch_size(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BatchIterator(*dataset(4), **kwargs)


def test_batch_iterator_length_mismatch_and_bad_rng():
    images, labels = dataset(4)
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        BatchIterator(images, labels[:3])
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        BatchIterator(images, labels, rng=42)
