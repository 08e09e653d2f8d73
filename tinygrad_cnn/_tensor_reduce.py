"""Tensor reductions with PyTorch's arguments and result dtypes: sum, mean, var, std, prod,
cumsum, max/min (values and indices), amax/amin, argmax/argmin, norm.

``dim`` is an int, a tuple (where PyTorch takes one) or None for every dim; ``keepdim`` keeps the
reduced dims as size 1. NumPy's ``axis`` / ``keepdims`` are accepted as aliases.
"""
import math
import numbers
from collections import namedtuple

import numpy as np

from . import ops
from ._args import check_bool, dim_arg, keepdim_arg, normalize_axis, numeric_dtype, one_axis
from ._tensor_math import MathMethods

#: What ``max(dim)`` / ``min(dim)`` return: a named pair, like ``torch.return_types.max``.
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


class ReduceMethods:
    """Mixed into `Tensor`; relies on its ``_data``, ``_const`` and ``_cast`` and the math methods."""

    def _reduce_args(self, dim, axis, keepdim, keepdims, op, dtype=None):
        x = self if dtype is None else self._cast(numeric_dtype(dtype, op))
        dim = dim_arg(dim, axis, op)
        if isinstance(dim, (tuple, list)) and not dim:
            dim = None  # dim=() means every dim, as in PyTorch
        return x, normalize_axis(dim, self.ndim, op), keepdim_arg(keepdim, keepdims, op)

    def sum(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        x, axes, keep = self._reduce_args(dim, axis, keepdim, keepdims, "sum", dtype)
        if x.dtype.kind in "biu" and x.dtype != np.int64:
            x = x._cast(np.dtype(np.int64))  # integer sums are int64 in PyTorch
        return ops.Sum.apply(x, axis=axes, keepdims=keep)

    def mean(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        x, axes, keep = self._reduce_args(dim, axis, keepdim, keepdims, "mean", dtype)
        if x.dtype.kind != "f":
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be floating point, got {x.dtype} "
                f"(use .float() or dtype=tinygrad_cnn.float32)"
            )
        count = math.prod(self.shape[a] for a in axes)
        return x.sum(axes, keep) * (1.0 / count if count else math.nan)  # an empty mean is nan, as in PyTorch

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
        """Variance with ``correction`` (default 1: the unbiased estimate; ``unbiased=False`` means 0)."""
        x, axes, keep = self._reduce_args(dim, axis, keepdim, keepdims, "var")
        if x.dtype.kind != "f":
            raise RuntimeError(f"var: input dtype must be floating point, got {x.dtype}")
        if unbiased is not None and correction is not None:
            raise TypeError("var: give unbiased or correction, not both")
        correction = (1 if unbiased is None or unbiased else 0) if correction is None else correction
        count = math.prod(self.shape[a] for a in axes)
        centred = x - x.mean(axes, keepdim=True)
        dof = max(0, count - correction)
        return (centred * centred).sum(axes, keep) * (1.0 / dof if dof else math.inf)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
        var = self.var(dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims)
        return ops.Sqrt.apply(var, zero_at_zero=True)

    def prod(self, dim=None, keepdim=False, dtype=None):
        x = self if dtype is None else self._cast(numeric_dtype(dtype, "prod"))
        keep = check_bool(keepdim, "keepdim", "prod")
        axis = None if dim is None else one_axis(dim, self.ndim, "prod")
        if x.dtype.kind in "biu":
            x = x._cast(np.dtype(np.int64))
        if axis is None and dim is not None:  # dim 0 of a 0-d tensor
            return x * 1
        return ops.Prod.apply(x, axis=axis, keepdims=keep)

    def cumsum(self, dim, dtype=None):
        x = self if dtype is None else self._cast(numeric_dtype(dtype, "cumsum"))
        if x.dtype.kind in "biu":
            x = x._cast(np.dtype(np.int64))
        axis = one_axis(dim, self.ndim, "cumsum")
        return x * 1 if axis is None else ops.Cumsum.apply(x, axis=axis)

    def _extreme(self, dim, keepdim, other, op):
        if isinstance(dim, MathMethods):
            return self.maximum(dim) if op == "max" else self.minimum(dim)
        if dim is None:
            if keepdim:
                raise TypeError(f"{op}(): keepdim=True needs a dim (use amax/amin(dim=(), keepdim=True))")
            if self._data.size == 0:
                raise RuntimeError(f"{op}(): expected a non-empty tensor (shape {self.shape}); give a dim")
            return self.amax() if op == "max" else self.amin()
        axis = one_axis(dim, self.ndim, op)
        keep = check_bool(keepdim, "keepdim", op)
        if axis is None:  # 0-d
            return ValuesIndices(self * 1, self._const(np.zeros((), dtype=np.int64)))
        if self.shape[axis] == 0:
            raise IndexError(f"{op}(): cannot reduce over dimension {axis} of size 0 (shape {self.shape})")
        pick = np.argmax if op == "max" else np.argmin
        index = pick(self._data, axis=axis, keepdims=True)
        values = ops.TakeAlongAxis.apply(self, index=index, axis=axis, unique=True)
        if not keep:
            values, index = values.squeeze(axis), np.squeeze(index, axis)
        return ValuesIndices(values, self._const(index.astype(np.int64)))

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """``max()``: the largest value; ``max(dim)``: (values, indices); ``max(other)``: elementwise."""
        return self._extreme(dim_arg(dim, axis, "max"), keepdim_arg(keepdim, keepdims, "max"), None, "max")

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return self._extreme(dim_arg(dim, axis, "min"), keepdim_arg(keepdim, keepdims, "min"), None, "min")

    def amax(self, dim=(), keepdim=False):
        """Max over one or more dims (all when ``dim=()``); tied maxima share the gradient evenly."""
        axes = normalize_axis(None if dim == () else dim, self.ndim, "amax")
        if self._data.size == 0 and (not axes or any(self.shape[a] == 0 for a in axes)):
            raise RuntimeError(f"amax(): cannot reduce an empty tensor of shape {self.shape}")
        return ops.Max.apply(self, axis=axes, keepdims=check_bool(keepdim, "keepdim", "amax"))

    def amin(self, dim=(), keepdim=False):
        if self.dtype.kind != "f":  # no gradient to track, and negating bool/unsigned ints would be wrong
            axes = normalize_axis(None if dim == () else dim, self.ndim, "amin")
            return self._const(np.min(self._data, axis=axes, keepdims=keepdim))
        return -((-self).amax(dim, keepdim))

    def _arg(self, dim, keepdim, op):
        keep = check_bool(keepdim, "keepdim", op)
        pick = np.argmax if op == "argmax" else np.argmin
        if dim is None:
            if self._data.size == 0:
                raise IndexError(f"{op}(): expected a non-empty tensor (shape {self.shape}); give a dim")
            index = np.asarray(pick(self._data))
            return self._const(index.reshape((1,) * self.ndim) if keep else index)
        axis = one_axis(dim, self.ndim, op)
        if axis is None:
            return self._const(np.zeros((), dtype=np.int64))
        if self.shape[axis] == 0:
            raise IndexError(f"{op}(): cannot reduce over dimension {axis} of size 0 (shape {self.shape})")
        return self._const(pick(self._data, axis=axis, keepdims=keep).astype(np.int64))

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """Indices of the maxima (int64, no gradient); the first one where several tie."""
        return self._arg(dim_arg(dim, axis, "argmax"), keepdim_arg(keepdim, keepdims, "argmax"), "argmax")

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return self._arg(dim_arg(dim, axis, "argmin"), keepdim_arg(keepdim, keepdims, "argmin"), "argmin")

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """Vector p-norm over ``dim`` (all elements by default): p = 'fro' or 2, 1, inf, -inf, 0, any real."""
        x = self if dtype is None else self._cast(numeric_dtype(dtype, "norm"))
        if x.dtype.kind != "f":
            raise RuntimeError(f"norm: input dtype must be floating point, got {x.dtype}")
        axes = normalize_axis(dim, self.ndim, "norm")
        keep = check_bool(keepdim, "keepdim", "norm")
        if p in ("fro", 2, 2.0):
            return ops.Norm2.apply(x, axis=axes, keepdims=keep)
        if isinstance(p, str) or isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise ValueError(f"norm: p must be 'fro' or a number, got {p!r}")
        if p == math.inf:
            return x.abs().amax(axes, keep)
        if p == -math.inf:
            return x.abs().amin(axes, keep)
        if p == 0:
            return (x != 0).float()._cast(x.dtype).sum(axes, keep)
        if p == 1:
            return x.abs().sum(axes, keep)
        return (x.abs() ** p).sum(axes, keep) ** (1.0 / p)

