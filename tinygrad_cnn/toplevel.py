"""The functions PyTorch has at its top level (``torch.cat``, ``torch.max``, ``torch.exp``...).

Most call the Tensor method of the same name, so both spellings share one implementation;
``cat``, ``stack`` and ``where`` are the ones that are not methods of a single tensor.
"""
import numpy as np

from . import ops
from ._args import normalize_axis, one_axis, result_dtype
from ._tensor import Tensor


def _tensor_sequence(tensors, op):
    """The list of Tensors given to cat/stack (arrays and numbers are wrapped), checked."""
    if isinstance(tensors, (Tensor, np.ndarray)) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{op}: expected a list or tuple of Tensors, got {type(tensors).__name__}")
    out = []
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            try:
                t = Tensor(t)
            except (TypeError, ValueError) as err:
                raise TypeError(f"{op}: item {i} is not a tensor ({err})") from None
        out.append(t)
    if not out:
        raise ValueError(f"{op}: needs at least one tensor")
    return out


def cat(tensors, dim=0, *, axis=None):
    """Join tensors along an existing dim; dtypes are promoted as in PyTorch."""
    tensors = _tensor_sequence(tensors, "cat")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated")
    d = one_axis(dim if axis is None else axis, tensors[0].ndim, "cat")
    dtype = result_dtype(tensors)
    return ops.Cat.apply(*[t.to(dtype) for t in tensors], axis=d)


concat = concatenate = cat


def stack(tensors, dim=0, *, axis=None):
    """Join same-shaped tensors along a new dim."""
    tensors = _tensor_sequence(tensors, "stack")
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape {tensors[0].shape}")
    d = one_axis(dim if axis is None else axis, tensors[0].ndim + 1, "stack")
    return cat([t.unsqueeze(d) for t in tensors], d)


def where(condition, input=None, other=None):
    """``where(c, x, y)``: x where c holds, else y. ``where(c)``: the indices of the True elements."""
    if input is None and other is None:
        return tuple(Tensor(i.astype(np.int64)) for i in np.nonzero(np.asarray(condition)))
    if not isinstance(condition, Tensor):
        condition = Tensor(np.asarray(condition))
    if condition.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {condition.dtype}")
    return condition.where_(input, other)


def _method(name):
    def call(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be a Tensor, got {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``{name}(input, ...)`` is ``input.{name}(...)``."
    return call


_METHODS = [
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow", "neg", "negative", "abs",
    "exp", "log", "sqrt", "rsqrt", "reciprocal", "square", "sign", "relu", "sigmoid", "tanh", "softmax",
    "log_softmax", "clamp", "clip", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "logical_not",
    "logical_and", "logical_or", "logical_xor", "isnan", "isfinite", "masked_fill", "sum", "mean", "var", "std",
    "prod", "max", "min", "amax", "amin", "argmax", "argmin", "cumsum", "norm", "all", "any", "matmul", "mm", "bmm",
    "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "permute", "transpose", "swapaxes", "t", "chunk",
    "split", "unbind", "gather", "clone", "numel",
]
for _name in _METHODS:
    globals()[_name] = _method(_name)
del _name

Tensor.cat, Tensor.stack = staticmethod(cat), staticmethod(stack)  # the spellings from before this module


def var_mean(input, dim=None, *, correction=1, keepdim=False):
    return input.var(dim, correction=correction, keepdim=keepdim), input.mean(dim, keepdim=keepdim)


def std_mean(input, dim=None, *, correction=1, keepdim=False):
    return input.std(dim, correction=correction, keepdim=keepdim), input.mean(dim, keepdim=keepdim)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input.dtype.kind == "f"


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(np.allclose(input.numpy(), other.numpy(), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return Tensor(np.isclose(input.numpy(), other.numpy(), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other):
    """True if both have the same shape and elements."""
    return input.shape == other.shape and bool(np.array_equal(input.numpy(), other.numpy()))


def broadcast_shapes(*shapes):
    return np.broadcast_shapes(*shapes)


def count_nonzero(input, dim=None):
    return Tensor(np.count_nonzero(input.numpy(), axis=normalize_axis(dim, input.ndim, "count_nonzero")))


__all__ = ["cat", "concat", "concatenate", "stack", "where", "var_mean", "std_mean", "is_tensor", "is_floating_point",
           "allclose", "isclose", "equal", "broadcast_shapes", "count_nonzero"] + _METHODS
