"""MNIST and Fashion-MNIST in the shape of ``torchvision.datasets``, read with ``tinygrad_cnn.data``.

``dataset[i]`` is ``(image, label)`` with ``label`` an int; ``.data`` is a uint8 Tensor (N, 28, 28),
``.targets`` an int64 Tensor (N,), ``.classes`` torchvision's class names.

The one difference: without a transform torchvision returns a PIL image; here (no PIL dependency)
the image is a uint8 ndarray (28, 28), which is what ``np.asarray`` of that PIL image gives, and
``transforms.ToTensor()`` turns it into torchvision's exact float32 (1, 28, 28) tensor in [0, 1].

Where the files are looked for: ``root`` itself or torchvision's layout ``root/MNIST/raw`` (any
directory with the four IDX files, raw or .gz, works); with ``root=None`` (MNIST only) the
directories of :func:`tinygrad_cnn.data.locate_mnist`: ``$TINYGRAD_CNN_DATA``, the copy shipped
in ``data/mnist/``, the download cache. ``download=True`` fetches missing MNIST files with the
checksummed :func:`tinygrad_cnn.data.download_mnist` (into ``root/MNIST/raw``, or the cache).
"""
import operator
import os
import warnings
from pathlib import Path

import numpy as np

from .. import data as _data
from .._args import check_bool
from .._tensor import Tensor
from .data.dataset import Dataset
from .transforms import apply_batched

__all__ = ["MNIST", "FashionMNIST"]


def _complete(directory):
    return directory.is_dir() and not _data._missing(directory)


def _read_split(directory, train):
    """(images uint8 (N, H, W), labels int64 (N,)) of one split, checked like ``load_mnist``."""
    prefix = "train" if train else "test"
    img_path = _data._find_file(directory, _data.MNIST_FILES[f"{prefix}_images"])
    lbl_path = _data._find_file(directory, _data.MNIST_FILES[f"{prefix}_labels"])
    images, labels = _data.read_idx(img_path), _data.read_idx(lbl_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{img_path}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or (labels.size and labels.min() < 0):
        raise ValueError(f"{lbl_path}: expected 1-D non-negative integer labels, got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{img_path} holds {len(images)} images but {lbl_path} holds {len(labels)} labels")
    return images, labels.astype(np.int64)


class MNIST(Dataset):
    """The MNIST digits (60,000 training, 10,000 test images), as ``torchvision.datasets.MNIST``."""

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False):
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{type(self).__name__}: {name} must be callable or None, got {type(fn).__name__}")
        self.root = os.path.expanduser(root) if isinstance(root, str) else root
        self.train = check_bool(train, "train", type(self).__name__)
        self.transform, self.target_transform = transform, target_transform
        self.folder = self._locate(check_bool(download, "download", type(self).__name__))
        images, labels = _read_split(self.folder, self.train)
        self.data, self.targets = Tensor(images), Tensor(labels)

    def _locate(self, download):
        """The directory holding the four files (see the module docstring)."""
        name = type(self).__name__
        if self.root is None:
            return self._default_folder(download)
        root = Path(self.root)
        for candidate in (root, root / name / "raw"):
            if _complete(candidate):
                return candidate
        if download:
            return self._download(root / name / "raw")
        missing = ", ".join(_data._missing(root)) if root.is_dir() else f"{root} does not exist"
        raise RuntimeError(f"Dataset not found. You can use download=True to download it ({name}: neither {root} "
                           f"nor {root / name / 'raw'} holds the four IDX files; missing in {root}: {missing})")

    def _default_folder(self, download):
        if os.environ.get(_data.ENV_VAR) or download:
            return _data.locate_mnist(None)  # an incomplete $TINYGRAD_CNN_DATA is an error there
        for candidate in (_data.SHIPPED_DIR, _data.default_cache_dir()):
            if _complete(candidate):
                return candidate
        raise RuntimeError(f"Dataset not found. You can use download=True to download it (MNIST: no root given, "
                           f"and neither ${_data.ENV_VAR}, {_data.SHIPPED_DIR} nor {_data.default_cache_dir()} "
                           f"holds the four files)")

    def _download(self, folder):
        return _data.download_mnist(folder)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError(f"{type(self).__name__} indices must be integers, got {type(index).__name__}") from None
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of bounds for dimension 0 with size {n}")
        img, target = self.data._data[i].copy(), int(self.targets._data[i])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _get_batch(self, indices):
        """``default_collate([self[i] for i in indices])`` in a few array operations, or None when a
        transform must run image by image."""
        if self.target_transform is not None:
            return None
        images = self.data._data[indices]  # a fresh copy: the transforms may work in place on it
        if self.transform is not None:
            images = apply_batched(self.transform, images)
            if images is None:
                return None
        return [Tensor(images), Tensor(self.targets._data[indices])]

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def _renamed(self, old, new):
        warnings.warn(f"{old} has been renamed {new}", UserWarning, stacklevel=3)
        return getattr(self, new)

    train_data = property(lambda self: self._renamed("train_data", "data"))
    test_data = property(lambda self: self._renamed("test_data", "data"))
    train_labels = property(lambda self: self._renamed("train_labels", "targets"))
    test_labels = property(lambda self: self._renamed("test_labels", "targets"))

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root if self.root is not None else self.folder}",
                 f"    Split: {'Train' if self.train else 'Test'}"]
        parts = [("Transform: ", self.transform), ("Target transform: ", self.target_transform)]
        if any(t is not None for _, t in parts):
            lines.append("    StandardTransform")
            for head, t in parts:
                if t is not None:
                    body = repr(t).splitlines()
                    lines += [head + body[0]] + [" " * len(head) + line for line in body[1:]]
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (same file names and layout as MNIST). No copy ships with the
    library, so ``root`` is required; ``download=True`` is refused (only MNIST's checksums are known)."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]

    def _default_folder(self, download):
        raise TypeError("FashionMNIST: root is required (only MNIST ships with tinygrad_cnn); pass the directory "
                        "holding the four Fashion-MNIST IDX files")

    def _download(self, folder):
        raise RuntimeError(f"FashionMNIST: download=True is not supported (tinygrad_cnn verifies downloads against "
                           f"MNIST's checksums only); download the four files from "
                           f"https://github.com/zalandoresearch/fashion-mnist into {folder} or pass their directory "
                           f"as root")
