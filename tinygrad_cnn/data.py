"""Datasets without a framework: IDX reading, MNIST lookup/download, normalisation, batching.

This module deliberately depends only on the standard library, NumPy and the library's random
generator (``rng.py``), never on the autograd engine, so data code can be used and tested alone.

Where :func:`load_mnist` looks for the four MNIST files, in order:

1. the ``root`` argument, if given;
2. the directory named by ``$TINYGRAD_CNN_DATA``, if set;
3. the copy shipped with the repository in ``data/mnist/``;
4. the download cache (``$XDG_CACHE_HOME/tinygrad_cnn/mnist``, default ``~/.cache/...``);
5. otherwise the files are downloaded into that cache.

An explicitly requested directory (1 or 2) that lacks a file is an error, never a silent
fallback. Any directory with four files in the MNIST IDX layout works (e.g. Fashion-MNIST), so
checksums are enforced only on files this module downloads itself.
"""
import gzip
import hashlib
import math
import os
import struct
import sys
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

from .files import atomic_write
from .rng import get_rng

__all__ = [
    "MNIST", "MNIST_FILES", "MIRRORS", "SHA256", "SHIPPED_DIR", "DownloadError",
    "read_idx", "load_mnist", "locate_mnist", "is_mnist", "default_cache_dir", "download_mnist",
    "normalize", "BatchIterator",
]

# ----------------------------------------------------------------------------------------------
# IDX files
# ----------------------------------------------------------------------------------------------

# IDX type code -> (on-disk big-endian dtype, native dtype handed to the caller).
_IDX_TYPES = {
    0x08: (np.dtype(">u1"), np.dtype(np.uint8)),
    0x09: (np.dtype(">i1"), np.dtype(np.int8)),
    0x0B: (np.dtype(">i2"), np.dtype(np.int16)),
    0x0C: (np.dtype(">i4"), np.dtype(np.int32)),
    0x0D: (np.dtype(">f4"), np.dtype(np.float32)),
    0x0E: (np.dtype(">f8"), np.dtype(np.float64)),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_maybe_gzip(path: Path) -> tuple[bytes, bool]:
    """The file's bytes, gunzipped if it *is* gzip (by magic bytes, whatever its name says)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not an IDX file")
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw, False
    try:
        return gzip.decompress(raw), True
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise ValueError(f"{path}: corrupt gzip stream ({e}); replace or re-download the file") from None


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a native-endian, writable array.

    Layout: ``00 00 <type> <ndim>``, then one big-endian uint32 per dimension, then the
    big-endian data. Everything is checked up front so a damaged file fails with a message
    naming the file and the defect instead of producing a silently wrong array.
    """
    path = Path(path)
    buf, was_gz = _read_maybe_gzip(path)
    holds = "decompressed stream holds" if was_gz else "file holds"

    if len(buf) < 4:
        raise ValueError(f"{path}: truncated IDX header: need at least 4 bytes, {holds} {len(buf)}")
    if buf[0] != 0 or buf[1] != 0:
        raise ValueError(f"{path}: bad IDX magic number 0x{buf[:4].hex()}: the first two bytes "
                         f"must be zero (not an IDX file?)")
    code, ndim = buf[2], buf[3]
    if code not in _IDX_TYPES:
        known = ", ".join(f"0x{c:02x} {native}" for c, (_, native) in _IDX_TYPES.items())
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x} (known: {known})")
    if ndim < 1:
        raise ValueError(f"{path}: IDX header declares 0 dimensions (need at least 1)")
    header_len = 4 + 4 * ndim
    if len(buf) < header_len:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need a {header_len}-byte "
                         f"header, {holds} {len(buf)} bytes")

    dims = struct.unpack(f">{ndim}I", buf[4:header_len])
    disk_dtype, native_dtype = _IDX_TYPES[code]
    expected = math.prod(dims) * disk_dtype.itemsize  # Python ints: no overflow
    actual = len(buf) - header_len
    if actual != expected:
        problem = "truncated IDX data" if actual < expected else "trailing bytes after IDX data"
        shape = "x".join(map(str, dims))
        raise ValueError(f"{path}: {problem}: header says {shape} {native_dtype} = {expected} bytes, "
                         f"{holds} {actual} after the {header_len}-byte header")

    data = np.frombuffer(buf, dtype=disk_dtype, count=math.prod(dims), offset=header_len)
    # astype copies: the result is writable, native-endian and owns its memory.
    return data.astype(native_dtype).reshape(dims)


# ----------------------------------------------------------------------------------------------
# MNIST: lookup, loading, downloading
# ----------------------------------------------------------------------------------------------

class MNIST(NamedTuple):
    """The four MNIST arrays: images (N, H, W), labels (N,), as stored in the IDX files."""
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


# Field of MNIST -> base file name (each may exist raw or as ``<name>.gz``).
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# sha256 of the *uncompressed* files: gzip bytes vary between mirrors, the content must not.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Public mirrors serving ``<name>.gz``; tried in order.
MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"
ENV_VAR = "TINYGRAD_CNN_DATA"
_NO_NETWORK_HINT = ("no network? copy the four MNIST files into a directory and pass --data-dir / "
                    f"set {ENV_VAR}")


class DownloadError(RuntimeError):
    """No mirror delivered a file with the expected checksum."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/tinygrad_cnn/mnist``, or ``~/.cache/tinygrad_cnn/mnist``.

    Per the XDG spec a relative ``$XDG_CACHE_HOME`` is ignored.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "tinygrad_cnn" / "mnist"


def _find_file(directory: Path, name: str) -> Optional[Path]:
    """``directory/name`` if present, else ``directory/name.gz``, else None (raw wins: no gunzip)."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _missing(directory: Path) -> list[str]:
    return [name for name in MNIST_FILES.values() if _find_file(directory, name) is None]


def _check_explicit_dir(directory: Path, source: str) -> Path:
    """A directory the user asked for must be complete: falling back elsewhere would hide typos."""
    if not directory.is_dir():
        raise FileNotFoundError(f"MNIST data directory {directory} ({source}) does not exist")
    missing = _missing(directory)
    if missing:
        raise FileNotFoundError(
            f"MNIST data directory {directory} ({source}) is missing: "
            + ", ".join(f"{name}[.gz]" for name in missing)
            + "; it must hold the four IDX files " + ", ".join(MNIST_FILES.values())
            + ", each raw or gzip-compressed (.gz)")
    return directory


def locate_mnist(root=None) -> Path:
    """The directory :func:`load_mnist` would read, downloading into the cache as a last resort."""
    if root is not None:
        return _check_explicit_dir(Path(root).expanduser(), "the root argument")
    env = os.environ.get(ENV_VAR, "")
    if env:
        return _check_explicit_dir(Path(env).expanduser(), f"${ENV_VAR}")
    if SHIPPED_DIR.is_dir() and not _missing(SHIPPED_DIR):
        return SHIPPED_DIR
    cache = default_cache_dir()
    if cache.is_dir() and not _missing(cache):
        return cache
    print(f"tinygrad_cnn: MNIST not found in {SHIPPED_DIR} or {cache}; downloading it into {cache}",
          file=sys.stderr)
    return download_mnist(cache)


def load_mnist(root=None) -> MNIST:
    """Load the four MNIST arrays (see the module docstring for where they are looked up).

    Shapes are whatever the files hold (MNIST: images uint8 (60000|10000, 28, 28), labels uint8),
    but the structure is checked: 3-D images, 1-D non-negative integer labels, one label per
    image, and the same image size for train and test.
    """
    directory = locate_mnist(root)
    paths = {field: _find_file(directory, name) for field, name in MNIST_FILES.items()}
    arrays = {field: read_idx(path) for field, path in paths.items()}

    for split in ("train", "test"):
        img_path, lbl_path = paths[f"{split}_images"], paths[f"{split}_labels"]
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3:
            raise ValueError(f"{img_path}: expected 3-D images (N, H, W), got shape {images.shape}")
        if labels.ndim != 1:
            raise ValueError(f"{lbl_path}: expected 1-D labels (N,), got shape {labels.shape}")
        if labels.dtype.kind not in "iu":
            raise ValueError(f"{lbl_path}: labels must be integers, got {labels.dtype}")
        if labels.size and labels.min() < 0:
            raise ValueError(f"{lbl_path}: labels must be non-negative class indices, "
                             f"found {labels.min()}")
        if len(images) != len(labels):
            raise ValueError(f"{split} set mismatch: {img_path} holds {len(images)} images but "
                             f"{lbl_path} holds {len(labels)} labels")
    train_hw, test_hw = arrays["train_images"].shape[1:], arrays["test_images"].shape[1:]
    if train_hw != test_hw:
        raise ValueError(f"image size mismatch: {paths['train_images']} is {train_hw[0]}x{train_hw[1]} "
                         f"but {paths['test_images']} is {test_hw[0]}x{test_hw[1]}")
    return MNIST(**arrays)


def is_mnist(root) -> bool:
    """Does directory ``root`` hold MNIST's own training images (raw or gzip, checked by the
    sha256 of their bytes), rather than another data set in the same format (Fashion-MNIST,
    KMNIST, ...)? About 0.1 s."""
    path = _find_file(Path(root).expanduser(), MNIST_FILES["train_images"])
    return path is not None and _sha256_ok(path, MNIST_FILES["train_images"])


def _sha256_ok(path: Path, name: str) -> bool:
    """Does ``path`` (raw or gzip) hold exactly the expected uncompressed bytes?"""
    try:
        data, _ = _read_maybe_gzip(path)
    except (OSError, ValueError):
        return False
    return hashlib.sha256(data).hexdigest() == SHA256[name]


def _fetch_verified(url: str, name: str, timeout: float) -> bytes:
    """Download ``url``, gunzip it if needed and return the bytes only if the checksum matches."""
    request = urllib.request.Request(url, headers={"User-Agent": "tinygrad_cnn-data"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = response.read()
    if payload[:2] == _GZIP_MAGIC:
        try:
            payload = gzip.decompress(payload)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"corrupt gzip stream ({e})") from None
    digest = hashlib.sha256(payload).hexdigest()
    if digest != SHA256[name]:
        raise ValueError(f"sha256 mismatch: expected {SHA256[name]}, got {digest} "
                         f"(corrupt or not the MNIST file)")
    return payload


def _describe(error: Exception) -> str:
    """A one-line reason for a mirror's failure."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"cannot connect ({error.reason})"
    if isinstance(error, ValueError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def download_mnist(cache_dir=None, mirrors=None, timeout=30) -> Path:
    """Fetch the four MNIST files into ``cache_dir`` (default :func:`default_cache_dir`).

    Each ``<name>.gz`` is tried on every mirror in turn; it is kept only if the sha256 of its
    uncompressed bytes matches :data:`SHA256`, and is stored uncompressed (faster to load) via an
    atomic write. Files already in the cache that verify are not downloaded again. Raises
    :class:`DownloadError` listing every mirror's failure if a file cannot be obtained.
    """
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    mirrors = list(MIRRORS if mirrors is None else mirrors)
    cache_dir.mkdir(parents=True, exist_ok=True)

    for name in MNIST_FILES.values():
        present = [p for p in (cache_dir / name, cache_dir / f"{name}.gz") if p.is_file()]
        if any(_sha256_ok(p, name) for p in present):
            continue
        failures = []
        for base in mirrors:
            url = (base if base.endswith("/") else base + "/") + f"{name}.gz"
            print(f"tinygrad_cnn: downloading {url}", file=sys.stderr)
            try:
                payload = _fetch_verified(url, name, timeout)
            except Exception as e:  # network, HTTP, gzip or checksum trouble: try the next mirror
                failures.append(f"  {url}: {_describe(e)}")
                continue
            atomic_write(cache_dir / name, payload)
            break
        else:
            reasons = "\n".join(failures) if failures else "  (no mirrors given)"
            raise DownloadError(f"could not download {name}.gz from any mirror:\n{reasons}\n"
                                f"{_NO_NETWORK_HINT}")
    return cache_dir


# ----------------------------------------------------------------------------------------------
# Preprocessing and batching
# ----------------------------------------------------------------------------------------------

def normalize(images, mean=0.1307, std=0.3081) -> np.ndarray:
    """Raw pixels (N, H, W) or (N, 1, H, W), 0..255 -> float32 (N, 1, H, W) of ``(x/255 - mean)/std``.

    The defaults are the MNIST training-set statistics. Float input is rejected because it is
    almost always already normalised, and normalising twice fails silently otherwise.
    """
    images = np.asarray(images)
    if images.dtype.kind not in "ui":
        raise ValueError(f"normalize: expected integer pixel values 0..255 (e.g. uint8), got "
                         f"{images.dtype}; already normalized?")
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"normalize: expected images of shape (N, H, W) or (N, 1, H, W), "
                         f"got {images.shape}")
    if not std > 0:
        raise ValueError(f"normalize: std must be positive, got {std}")
    out = images.astype(np.float32)  # a fresh array; the in-place ops below stay in float32
    out *= np.float32(1 / 255)
    out -= np.float32(mean)
    out /= np.float32(std)
    return out


class BatchIterator:
    """Iterate over ``(x_batch, y_batch)`` pairs of two equally long arrays, like a DataLoader.

    With ``shuffle`` a fresh permutation is drawn each time iteration starts (each epoch),
    from ``rng`` if given, otherwise from the library generator, so ``manual_seed`` makes the
    order reproducible. Batches are built by fancy indexing, so they are copies: modifying one
    never touches the dataset.
    """

    def __init__(self, images, labels, batch_size=128, shuffle=True, drop_last=False, rng=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ValueError(f"BatchIterator: batch_size must be a positive integer, got {batch_size!r}")
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"BatchIterator: rng must be a numpy.random.Generator or None, "
                            f"got {type(rng).__name__}")
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim == 0 or labels.ndim == 0:
            raise ValueError("BatchIterator: images and labels must be arrays with a leading "
                             "sample axis, got a scalar")
        if len(images) != len(labels):
            raise ValueError(f"BatchIterator: {len(images)} images but {len(labels)} labels")
        self.images, self.labels = images, labels
        self.batch_size = int(batch_size)
        self.shuffle, self.drop_last, self.rng = bool(shuffle), bool(drop_last), rng

    def __len__(self) -> int:
        n = len(self.images)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        # Draw the permutation now, not lazily at the first next(): the epoch's order is fixed
        # by the generator state at the moment the loop starts.
        n = len(self.images)
        if self.shuffle:
            order = (self.rng if self.rng is not None else get_rng()).permutation(n)
        else:
            order = np.arange(n)
        return self._batches(order)

    def _batches(self, order):
        for i in range(len(self)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            yield self.images[idx], self.labels[idx]
