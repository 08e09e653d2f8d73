"""Gradient clipping (``torch.nn.utils.clip_grad``): in place on the ``.grad`` of each parameter.

Each gradient's norm is computed in its own dtype and the total norm in the promoted one (a
float64 gradient makes it float64), as PyTorch does; the scale is applied in each gradient's
dtype. ``foreach`` is accepted and changes nothing (there is one implementation).
"""
import math

import numpy as np

from ..._tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _tensors(tensors, op):
    """A single Tensor or an iterable of them, as a list."""
    if isinstance(tensors, Tensor):
        return [tensors]
    try:
        tensors = list(tensors)
    except TypeError:
        raise TypeError(f"{op}: expected a Tensor or an iterable of Tensors, got {type(tensors).__name__}") from None
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: item {i} is a {type(t).__name__}, not a Tensor")
    return tensors


def _grads(parameters, op):
    return [p.grad for p in _tensors(parameters, op) if p.grad is not None]


def _vector_norm(x, p):
    """``torch.linalg.vector_norm(x, p)`` of an ndarray, in its dtype (0 for no elements)."""
    x = np.abs(x.ravel())
    if x.size == 0:
        return x.dtype.type(0)
    if p == math.inf:
        return x.max()
    if p == -math.inf:
        return x.min()
    if p == 0:
        return x.dtype.type(np.count_nonzero(x))
    if p == 2:
        return np.sqrt(np.dot(x, x))
    if p == 1:
        return x.sum()
    with np.errstate(divide="ignore", over="ignore"):
        return (x ** p).sum() ** (1 / p)


def _norm_type(norm_type, op):
    try:
        return float(norm_type)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: norm_type must be a number (or 'inf'), got {norm_type!r}") from None


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of all the tensors together, as if concatenated, as a 0-d Tensor."""
    tensors = _tensors(tensors, "get_total_norm")
    p = _norm_type(norm_type, "get_total_norm")
    if not tensors:
        return Tensor(np.zeros((), np.float32))
    norms = [_vector_norm(t._data, p) for t in tensors]
    dtype = np.result_type(*[t.dtype for t in tensors])
    total = np.asarray(_vector_norm(np.array(norms, dtype=dtype), p), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it cannot be clipped. "
            "To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return Tensor(total)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every gradient by ``min(1, max_norm / (total_norm + 1e-6))``, in place."""
    grads = _grads(parameters, "clip_grads_with_norm_")
    total = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    coef = np.minimum(float(max_norm) / (total + 1e-6), 1.0).astype(total.dtype if total.dtype.kind == "f" else
                                                                    np.float32)
    for g in grads:
        scale = coef.astype(g.dtype)
        if g._data.flags.writeable:
            np.multiply(g._data, scale, out=g._data)
        else:
            g._data = g._data * scale
        g._version[0] += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients so that their total ``norm_type``-norm is at most ``max_norm``.

    Returns the total norm before clipping, as a 0-d Tensor (0.0 when no parameter has a
    gradient). The gradients are always multiplied, by ``min(1, max_norm / (norm + 1e-6))``, so
    a non-finite norm makes them NaN unless ``error_if_nonfinite`` raises first.
    """
    parameters = _tensors(parameters, "clip_grad_norm_")
    max_norm = float(max_norm)
    grads = _grads(parameters, "clip_grad_norm_")
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    if grads:
        clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient to [-clip_value, clip_value], in place. Returns None."""
    clip_value = float(clip_value)
    for g in _grads(parameters, "clip_grad_value_"):
        low, high = g.dtype.type(-clip_value), g.dtype.type(clip_value)
        if g._data.flags.writeable:
            np.clip(g._data, low, high, out=g._data)
        else:
            g._data = np.clip(g._data, low, high)
        g._version[0] += 1
