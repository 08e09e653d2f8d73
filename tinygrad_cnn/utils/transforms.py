"""Image transforms in the shape of ``torchvision.transforms`` (no PIL, no torchvision needed).

An *image* is what ``np.asarray`` of a PIL image gives: a uint8 ndarray (H, W) or (H, W, C); the
MNIST datasets hand out (28, 28) ones (a PIL image in mode L, LA, RGB or RGBA is also accepted, if
Pillow happens to be installed). ``ToTensor`` turns it into torchvision's exact result, a
float32 Tensor (C, H, W) in [0, 1] (``uint8 / 255`` in float32); ``Normalize`` then works on
tensors, as in torchvision. ``RandomAffine`` supports integer-pixel translations only, which is
what MNIST augmentation uses; ``RandomShift`` is a simpler spelling of the same idea.

The library's transforms can also run on a whole batch of images at once (``_batched``): the
MNIST datasets use that when a ``DataLoader`` asks for a batch, so a training epoch does a few
array operations per batch instead of a Python call per image. Random draws come from the
library RNG (``tinygrad_cnn.manual_seed``); batch and per-image calls draw the same distribution
but not the same numbers.
"""
import enum
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._tensor import Tensor
from ..rng import get_rng

__all__ = ["Compose", "ToTensor", "PILToTensor", "Normalize", "Lambda", "RandomAffine", "RandomShift",
           "InterpolationMode"]


class InterpolationMode(enum.Enum):
    """torchvision's names; with integer translations every mode gives the same, exact pixels."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _image_array(pic, op):
    """The pixels of an image (ndarray, or a PIL image if one is passed) as an (H, W[, C]) ndarray."""
    if type(pic).__module__.split(".")[0] == "PIL" and hasattr(pic, "mode"):
        if pic.mode not in ("L", "RGB", "RGBA", "LA"):
            raise NotImplementedError(f"{op}: PIL mode {pic.mode!r} is not supported (use L, LA, RGB or RGBA)")
        pic = np.array(pic)
    if not isinstance(pic, np.ndarray):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if pic.ndim not in (2, 3):
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    return pic


def _channels_first(batch):
    """(B, H, W) -> (B, 1, H, W); (B, H, W, C) -> (B, C, H, W)."""
    return batch[:, None] if batch.ndim == 3 else batch.transpose(0, 3, 1, 2)


def _to_float(array):
    """torchvision's ToTensor scaling: uint8 -> float32 ``x / 255``; other dtypes unchanged."""
    if array.dtype != np.uint8:
        return array
    out = array.astype(np.float32)
    np.divide(out, np.float32(255), out=out)
    return out


def _check_batch_images(batch):
    if batch.ndim - 1 not in (2, 3):
        raise ValueError(f"pic should be 2/3 dimensional. Got {batch.ndim - 1} dimensions.")


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def _batched(self, batch, is_tensor):
        for t in self.transforms:
            batch, is_tensor = t._batched(batch, is_tensor)
        return batch, is_tensor

    def __repr__(self):
        return f"{type(self).__name__}(" + "".join(f"\n    {t}" for t in self.transforms) + "\n)"


class ToTensor:
    """Image (H, W[, C]) -> Tensor (C, H, W); uint8 becomes float32 in [0, 1], as in torchvision."""

    def __call__(self, pic):
        pic = _image_array(pic, "ToTensor")
        chw = np.ascontiguousarray((pic[:, :, None] if pic.ndim == 2 else pic).transpose(2, 0, 1))
        return Tensor(_to_float(chw))

    def _batched(self, batch, is_tensor):
        if is_tensor:
            raise TypeError(f"pic should be PIL Image or ndarray. Got {Tensor}")
        _check_batch_images(batch)
        return _to_float(np.ascontiguousarray(_channels_first(batch))), True

    def __repr__(self):
        return "ToTensor()"


class PILToTensor:
    """Image (H, W[, C]) -> Tensor (C, H, W) of the same dtype (no scaling)."""

    def __call__(self, pic):
        pic = _image_array(pic, "PILToTensor")
        return Tensor(np.ascontiguousarray((pic[:, :, None] if pic.ndim == 2 else pic).transpose(2, 0, 1)))

    def _batched(self, batch, is_tensor):
        if is_tensor:
            raise TypeError(f"pic should be PIL Image or ndarray. Got {Tensor}")
        _check_batch_images(batch)
        return np.ascontiguousarray(_channels_first(batch)), True

    def __repr__(self):
        return "PILToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a float Tensor (..., C, H, W), in its dtype."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def _params(self, dtype, shape):
        mean, std = np.asarray(self.mean, dtype=dtype), np.asarray(self.std, dtype=dtype)
        if (std == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {dtype}, leading to division by zero.")
        mean = mean.reshape(-1, 1, 1) if mean.ndim == 1 else mean
        std = std.reshape(-1, 1, 1) if std.ndim == 1 else std
        for name, p in (("mean", mean), ("std", std)):
            try:
                np.broadcast_shapes(p.shape, shape)
            except ValueError:
                raise RuntimeError(f"Normalize: {name} {self.mean if name == 'mean' else self.std!r} does not fit an "
                                   f"image of shape {tuple(shape)} (one value per channel, or one for all)") from None
        return mean, std

    @staticmethod
    def _check(dtype, shape):
        if dtype.kind != "f":
            raise TypeError(f"Input tensor should be a float tensor. Got {dtype}.")
        if len(shape) < 3:
            raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = "
                             f"{tuple(shape)}.")

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
        self._check(tensor.dtype, tensor.shape)
        mean, std = self._params(tensor.dtype, tensor.shape)
        mean, std = Tensor(mean), Tensor(std)
        if self.inplace:
            return tensor.sub_(mean).div_(std)
        return tensor.sub(mean).div(std)

    def _batched(self, batch, is_tensor):
        if not is_tensor:
            raise TypeError(f"img should be Tensor Image. Got {np.ndarray}")
        self._check(batch.dtype, batch.shape[1:])
        mean, std = self._params(batch.dtype, batch.shape[1:])
        np.subtract(batch, mean, out=batch)  # the batch is a private copy: in place is safe
        np.divide(batch, std, out=batch)
        return batch, True

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """Apply a user function (runs image by image: the DataLoader cannot batch it)."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{type(self).__name__}()"


def _shift_batch(batch, dx, dy, fill, is_tensor):
    """Move image b of ``batch`` right by dx[b] and down by dy[b] pixels, filling with ``fill``.

    Tensor images are (..., H, W); ndarray images (H, W[, C]). One padded copy and one gather."""
    x = batch if is_tensor else np.moveaxis(batch, (1, 2), (-2, -1)) if batch.ndim == 4 else batch
    h, w = x.shape[-2:]
    dx, dy = np.clip(dx, -w, w).astype(np.intp), np.clip(dy, -h, h).astype(np.intp)
    p = int(max(np.abs(dx).max(initial=0), np.abs(dy).max(initial=0)))
    padded = np.full(x.shape[:-2] + (h + 2 * p, w + 2 * p), fill, dtype=x.dtype)
    padded[..., p:p + h, p:p + w] = x
    windows = sliding_window_view(padded, (h, w), axis=(-2, -1))  # (B, ..., 2p+1, 2p+1, H, W)
    middle = (slice(None),) * (x.ndim - 3)
    out = windows[(np.arange(len(x)),) + middle + (p - dy, p - dx)]
    if not is_tensor and batch.ndim == 4:
        out = np.ascontiguousarray(np.moveaxis(out, (-2, -1), (1, 2)))
    return out


class _RandomTranslate:
    """Shared by RandomShift and RandomAffine: per-image integer offsets, drawn by ``_draw(n, h, w)``."""

    fill = 0

    def _image_size(self, shape, is_tensor):
        return shape[-2:] if is_tensor else shape[:2]

    def __call__(self, img):
        if isinstance(img, Tensor):
            if img.ndim < 2:
                raise ValueError(f"{type(self).__name__}: a tensor image needs at least 2 dims (..., H, W), "
                                 f"got shape {tuple(img.shape)}")
            out, _ = self._batched(img.numpy()[None], True)
            return Tensor(out[0])
        img = _image_array(img, type(self).__name__)
        out, _ = self._batched(img[None], False)
        return out[0]

    def _batched(self, batch, is_tensor):
        if not is_tensor:
            _check_batch_images(batch)
        h, w = self._image_size(batch.shape[1:], is_tensor)
        dx, dy = self._draw(len(batch), h, w)
        return _shift_batch(batch, dx, dy, self.fill, is_tensor), is_tensor


class RandomShift(_RandomTranslate):
    """Move each image by independent random whole-pixel offsets in [-max_shift, max_shift]
    horizontally and vertically, filling with ``fill`` (not a torchvision name)."""

    def __init__(self, max_shift, fill=0):
        if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
            raise ValueError(f"RandomShift: max_shift must be a non-negative int, got {max_shift!r}")
        if isinstance(fill, bool) or not isinstance(fill, numbers.Real):
            raise TypeError(f"RandomShift: fill must be a number, got {fill!r}")
        self.max_shift, self.fill = int(max_shift), fill

    def _draw(self, n, h, w):
        d = get_rng().integers(-self.max_shift, self.max_shift + 1, size=(n, 2))
        return d[:, 0], d[:, 1]

    def __repr__(self):
        return f"{type(self).__name__}(max_shift={self.max_shift}, fill={self.fill})"


def _pair(value, name):
    try:
        pair = [float(v) for v in value]
    except TypeError:
        raise TypeError(f"{name} should be a sequence of length 2, got {value!r}") from None
    if len(pair) != 2:
        raise ValueError(f"{name} should be a sequence of length 2, got {value!r}")
    return pair


class RandomAffine(_RandomTranslate):
    """torchvision's RandomAffine restricted to translations: ``tx = round(U(-translate[0] * W,
    translate[0] * W))`` and likewise ``ty``, as torchvision draws them. Rotation, scale and shear
    raise NotImplementedError; ``interpolation`` and ``center`` do not change an integer shift."""

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation=InterpolationMode.NEAREST,
                 fill=0, center=None):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError("If degrees is a single number, it must be positive.")
            degrees = [-degrees, degrees]
        self.degrees = _pair(degrees, "degrees")
        if any(d != 0 for d in self.degrees):
            raise NotImplementedError(f"RandomAffine: rotation is not supported (degrees must be 0, got {degrees}); "
                                      f"only integer translations are")
        if translate is not None:
            if not all(0.0 <= t <= 1.0 for t in _pair(translate, "translate")):
                raise ValueError("translation values should be between 0 and 1")
        if scale is not None and _pair(scale, "scale") != [1.0, 1.0]:
            raise NotImplementedError(f"RandomAffine: scale is not supported (got {scale}); only translations are")
        if shear is not None and np.any(np.asarray(shear, dtype=np.float64) != 0):
            raise NotImplementedError(f"RandomAffine: shear is not supported (got {shear}); only translations are")
        if not isinstance(interpolation, InterpolationMode):
            raise TypeError(f"Argument interpolation should be of type InterpolationMode, got {interpolation!r}")
        if isinstance(fill, (list, tuple)) and len(fill) == 1:
            fill = fill[0]
        if isinstance(fill, bool) or not isinstance(fill, numbers.Real):
            raise NotImplementedError(f"RandomAffine: fill must be one number, got {fill!r}")
        self.translate, self.scale, self.shear = translate, scale, shear
        self.interpolation, self.fill, self.center = interpolation, fill, center

    def _draw(self, n, h, w):
        if self.translate is None:
            return np.zeros(n, dtype=np.intp), np.zeros(n, dtype=np.intp)
        max_dx, max_dy = self.translate[0] * w, self.translate[1] * h
        rng = get_rng()
        return np.rint(rng.uniform(-max_dx, max_dx, size=n)), np.rint(rng.uniform(-max_dy, max_dy, size=n))

    def __repr__(self):
        s = f"{type(self).__name__}(degrees={self.degrees}"
        s += f", translate={self.translate}" if self.translate is not None else ""
        s += f", interpolation={self.interpolation.value}" if self.interpolation != InterpolationMode.NEAREST else ""
        s += f", fill={self.fill}" if self.fill != 0 else ""
        s += f", center={self.center}" if self.center is not None else ""
        return s + ")"


def apply_batched(transform, images):
    """``stack([transform(img) for img in images])`` as one array operation, or None when some part
    of ``transform`` (a Lambda, a user's callable or subclass) has to run image by image."""
    if not _batchable(transform):
        return None
    return transform._batched(images, False)[0]


def _batchable(transform):
    """Only the library's own classes (exact types: a subclass may change ``__call__``)."""
    if type(transform) is Compose:
        return all(_batchable(t) for t in transform.transforms)
    return type(transform) in (ToTensor, PILToTensor, Normalize, RandomShift, RandomAffine)
