"""Tensor methods that move data: views and reshapes, indexing, splitting, and in-place fills.

PyTorch's names and arguments (``size(d)``, ``view``, ``flatten(start_dim, end_dim)``,
``chunk``, ``split``, ``x[idx] = v``...). Every one is differentiable where PyTorch's is.
"""
import math

import numpy as np

from . import ops
from ._args import is_int, normalize_axis, one_axis, shape_args
from .errors import ArgumentError
from .rng import fill_normal, fill_uniform


class ShapeMethods:
    """Mixed into `Tensor`; relies on its ``_data``, ``_const``, ``_cast`` and ``_inplace``."""

    # --- sizes
    def size(self, dim=None):
        """The shape, or with ``dim`` the length of that dimension (``x.size(0)`` is the batch)."""
        if dim is None:
            return self.shape
        d = one_axis(dim, self.ndim, "size")
        if d is None:
            raise IndexError("size: a 0-d tensor has no dimensions")
        return self.shape[d]

    # --- reshaping
    def reshape(self, *shape):
        shape = shape_args(shape, "reshape")
        return ops.Reshape.apply(self, shape=ops.resolve_shape(self.shape, shape))

    def view(self, *shape):
        """As ``reshape`` (always possible here: no stride rules to break)."""
        if len(shape) == 1 and not isinstance(shape[0], (tuple, list)) and not is_int(shape[0]):
            raise TypeError(f"view: reinterpreting memory as another dtype ({shape[0]!r}) is not supported; use .to()")
        return self.reshape(*shape)

    def view_as(self, other):
        return self.reshape(*other.shape)

    reshape_as = view_as

    def contiguous(self, memory_format=None):
        return self

    def flatten(self, start_dim=0, end_dim=-1):
        shape = self._data.shape
        start, end = one_axis(start_dim, len(shape), "flatten"), one_axis(end_dim, len(shape), "flatten")
        if not shape:
            return self.reshape(1)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        merged = math.prod(shape[start:end + 1])  # not -1, which a 0-size tensor could not resolve
        return ops.Reshape.apply(self, shape=shape[:start] + (merged,) + shape[end + 1:])  # sizes known good

    def unflatten(self, dim, sizes):
        d = one_axis(dim, self.ndim, "unflatten")
        if d is None:
            raise IndexError("unflatten: a 0-d tensor has no dimension to unflatten")
        sizes = ops.resolve_shape((self.shape[d],), shape_args((sizes,), "unflatten"))
        return self.reshape(*self.shape[:d], *sizes, *self.shape[d + 1:])

    def unsqueeze(self, dim):
        d = one_axis(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(*self.shape[:d], 1, *self.shape[d:])

    def squeeze(self, dim=None):
        axes = normalize_axis(dim, self.ndim, "squeeze")
        return self.reshape(*[n for i, n in enumerate(self.shape) if not (i in axes and n == 1)])

    def permute(self, *dims):
        dims = shape_args(dims, "permute")
        if len(dims) != self.ndim:
            raise ArgumentError(f"permute: the number of dims ({len(dims)}) does not match the tensor's ({self.ndim}, "
                               f"shape {self.shape})")
        dims = tuple(one_axis(d, self.ndim, "permute") for d in dims) if self.ndim else ()
        if len(set(dims)) != len(dims):
            raise ArgumentError(f"permute: dim repeated in {dims}, which is not a permutation of the {self.ndim} dims")
        return ops.Permute.apply(self, axes=dims)

    def transpose(self, dim0, dim1):
        a, b = one_axis(dim0, self.ndim, "transpose"), one_axis(dim1, self.ndim, "transpose")
        if self.ndim == 0:
            return self.reshape(())  # a new view, as in PyTorch, not the tensor itself
        axes = list(range(self.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return self.permute(*axes)

    swapaxes = swapdims = transpose

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, got {self.ndim} (use transpose or mT)")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def expand(self, *sizes):
        """A broadcast view: -1 keeps a size, new dims go in front (no copy; read-only)."""
        sizes = shape_args(sizes, "expand")
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: the number of sizes ({len(sizes)}) must be >= the tensor's dims ({self.ndim})")
        shape = tuple(n if s == -1 and i >= lead else s for i, (s, n) in
                      enumerate(zip(sizes, (None,) * lead + self.shape)))
        for i, (s, n) in enumerate(zip(shape[lead:], self.shape)):
            if n != 1 and s != n:
                raise RuntimeError(f"expand: size {n} of dim {i} cannot be expanded to {s} (only size-1 dims can)")
        if any(s is None or s < 0 for s in shape):
            raise RuntimeError(f"expand: -1 is not allowed for a new leading dimension, got sizes {sizes}")
        return ops.Expand.apply(self, shape=shape)

    def expand_as(self, other):
        return self.expand(*other.shape)

    def broadcast_to(self, shape):
        return self.expand(*shape)

    def repeat(self, *sizes):
        sizes = shape_args(sizes, "repeat")
        if len(sizes) < self.ndim:
            raise RuntimeError(f"repeat: give at least one count per dim ({self.ndim}), got {sizes}")
        return ops.Repeat.apply(self, reps=sizes)

    # --- splitting
    def split(self, split_size_or_sections, dim=0):
        d = one_axis(dim, self.ndim, "split")
        if d is None:
            raise RuntimeError("split: a 0-d tensor cannot be split")
        n = self.shape[d]
        if is_int(split_size_or_sections):
            size = int(split_size_or_sections)
            if size <= 0 and n:
                raise ValueError(f"split: split_size must be positive, got {size}")
            sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]
        else:
            sizes = list(shape_args((split_size_or_sections,), "split"))
            if sum(sizes) != n or any(s < 0 for s in sizes):
                raise ValueError(f"split: sections {sizes} must be non-negative and sum to the size {n} of dim {d}")
        starts = np.cumsum([0] + sizes[:-1])
        lead = (slice(None),) * d
        return tuple(self[lead + (slice(int(s), int(s) + k),)] for s, k in zip(starts, sizes))

    def chunk(self, chunks, dim=0):
        if not is_int(chunks) or chunks <= 0:
            raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
        d = one_axis(dim, self.ndim, "chunk")
        if d is None:
            raise RuntimeError("chunk: a 0-d tensor cannot be chunked")
        return self.split(max(1, -(-self.shape[d] // chunks)), d)

    def unbind(self, dim=0):
        d = one_axis(dim, self.ndim, "unbind")
        if d is None:
            raise RuntimeError("unbind: a 0-d tensor cannot be unbound")
        lead = (slice(None),) * d
        return tuple(self[lead + (i,)] for i in range(self.shape[d]))

    # --- indexing
    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=ops.normalize_index(_plain_index(index), self.shape))

    def __setitem__(self, index, value):
        index = ops.normalize_index(_plain_index(index), self.shape)
        target_shape = np.broadcast_to(np.int8(0), self.shape)[index].shape
        value = self._wrap_other(value) if isinstance(value, ShapeMethods) else np.asarray(value, dtype=self.dtype)
        try:
            np.broadcast_shapes(np.shape(value), target_shape)
        except ValueError:
            raise ValueError(f"setitem: a value of shape {np.shape(value)} does not fit the selection of shape "
                             f"{target_shape}") from None

        def assign(t):
            v = value._cast(t.dtype) if isinstance(value, ShapeMethods) else value
            return ops.SetItem.apply(t, v, index=index)

        self._inplace("setitem", assign, value)

    def gather(self, dim, index):
        d = one_axis(dim, self.ndim, "gather")
        idx = np.asarray(index._data if isinstance(index, ShapeMethods) else index)
        if idx.dtype.kind not in "iu" or idx.ndim != self.ndim:
            raise RuntimeError(
                f"gather: index must be an int64 tensor with {self.ndim} dims, got {idx.dtype} {idx.shape}")
        if idx.size and (idx.min() < -self.shape[d] or idx.max() >= self.shape[d]):
            raise IndexError(f"gather: index out of range for dim {d} of size {self.shape[d]}")
        src = self[tuple(slice(0, n) if i != d else slice(None) for i, n in enumerate(idx.shape))]
        return ops.TakeAlongAxis.apply(src, index=idx % self.shape[d], axis=d)

    # --- copies and in-place fills
    def clone(self, memory_format=None):
        return ops.Clone.apply(self)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if isinstance(value, ShapeMethods):
            value = value.item()
        return self._inplace("fill_", lambda t: t._const(np.full(t.shape, value, dtype=t.dtype)))

    def copy_(self, src, non_blocking=False):
        src = self._wrap_other(src)
        try:
            fits = np.broadcast_shapes(src.shape, self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"copy_: a source of shape {src.shape} does not broadcast to {self.shape}")
        return self._inplace("copy_", lambda t: src._cast(t.dtype).expand(*t.shape).clone(), src)

    def normal_(self, mean=0.0, std=1.0, generator=None):
        _no_generator(generator, "normal_")
        return self._inplace("normal_", lambda t: t._const(fill_normal(np.empty(t.shape, t.dtype), mean, std)))

    def uniform_(self, *bounds, generator=None, **names):
        """``uniform_(from=0, to=1)``: samples from [from, to) (``from`` is a Python keyword, so
        give the bounds positionally, or as ``**{'from': a, 'to': b}``)."""
        _no_generator(generator, "uniform_")
        low = bounds[0] if len(bounds) > 0 else names.pop("from", 0.0)
        high = bounds[1] if len(bounds) > 1 else names.pop("to", 1.0)
        if names:
            raise TypeError(f"uniform_: unexpected arguments {sorted(names)}")
        return self._inplace("uniform_", lambda t: t._const(fill_uniform(np.empty(t.shape, t.dtype), low, high)))

    # --- the CNN ops as methods (kept from before tinygrad_cnn.nn.functional; prefer F.conv2d etc.)
    def conv2d(self, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return ops.conv.conv2d(self, weight, bias, stride, padding, dilation, groups)

    def max_pool2d(self, kernel_size=2, stride=None, padding=0):
        return ops.pool.max_pool2d(self, kernel_size, stride, padding)

    def avg_pool2d(self, kernel_size=2, stride=None, padding=0):
        return ops.pool.avg_pool2d(self, kernel_size, stride, padding)

    def cross_entropy(self, target, reduction="mean", label_smoothing=0.0):
        return ops.loss.cross_entropy(self, target, reduction=reduction, label_smoothing=label_smoothing)


def _plain_index(index):
    """The index with every Tensor in it replaced by its array."""
    if isinstance(index, tuple):
        return tuple(p._data if isinstance(p, ShapeMethods) else p for p in index)
    return index._data if isinstance(index, ShapeMethods) else index


def _no_generator(generator, op):
    if generator is not None:
        raise TypeError(f"{op}: generator= is not supported; seed the library generator with manual_seed")
