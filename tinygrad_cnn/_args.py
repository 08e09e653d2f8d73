"""Argument checks and dtype rules shared by the Tensor methods and the torch-level functions.

Each check raises an error that names the op, the argument and what it got, so that a user's
mistake never surfaces as a NumPy traceback from deep inside an op.
"""
import numbers

import numpy as np

from .errors import ArgumentError

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_bool(value, name, op):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be True or False, got {value!r}")
    return bool(value)


def numeric_dtype(dtype, op):
    """``np.dtype(dtype)`` for a bool, integer or float type; TypeError naming ``op`` otherwise."""
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {dtype!r} is not a dtype "
                        "(use e.g. tinygrad_cnn.float32 or tinygrad_cnn.int64)") from None
    if dt.kind not in "biuf" or dt == np.float16:
        raise TypeError(f"{op}: unsupported dtype {dt} (supported: float32, float64, the integer types and bool)")
    return dt


def normalize_axis(axis, ndim, op):
    """A dim argument (None, int, or tuple/list of ints; negatives allowed) as a sorted tuple."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if not is_int(a):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {axis!r}")
        if not -max(ndim, 1) <= a < max(ndim, 1):  # a 0-d tensor takes dim 0 or -1, as in PyTorch
            raise IndexError(
                f"{op}: dimension out of range (expected to be in range of [{-max(ndim, 1)}, {max(ndim, 1) - 1}], "
                f"but got {a})"
            )
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ArgumentError(f"{op}: dim {axis!r} repeats a dimension "
                            "(a dim appears multiple times in the list of dims)")
    if ndim == 0:
        return ()  # dim 0 of a 0-d tensor is the tensor itself (as in PyTorch): nothing to reduce
    return tuple(sorted(out))


def one_axis(axis, ndim, op):
    """A single dim (an int, negatives allowed) as a non-negative int; None for a 0-d tensor."""
    if axis.__class__ is int and -ndim <= axis < ndim:  # the usual call
        return axis % ndim
    if not is_int(axis):
        raise TypeError(f"{op}: dim must be a single int, got {axis!r}")
    axes = normalize_axis(axis, ndim, op)
    return axes[0] if axes else None


def dim_arg(dim, axis, op):
    """PyTorch's ``dim=``, with NumPy's ``axis=`` accepted as an alias."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: give dim or axis, not both")
        return axis
    return dim


def keepdim_arg(keepdim, keepdims, op):
    """PyTorch's ``keepdim=``, with NumPy's ``keepdims=`` accepted as an alias."""
    if keepdims is not None:
        return check_bool(keepdims, "keepdims", op)
    return check_bool(keepdim, "keepdim", op)


def shape_args(shape, op):
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if not is_int(s):
            raise TypeError(f"{op}: sizes must be ints, got {shape!r}")
    return tuple(int(s) for s in shape)


def _category(dtype):
    return _CATEGORY[dtype.kind]


def _promote(dtypes):
    """PyTorch's promote_types over a group: the highest category wins, then the widest type in it
    (int64 with float32 is float32, where NumPy would say float64)."""
    top = max(_category(d) for d in dtypes)
    return np.result_type(*[d for d in dtypes if _category(d) == top])


def _scalar_dtype(value):
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    return np.dtype(np.float32)  # the default float dtype


def result_dtype(operands):
    """The dtype of an elementwise op on ``operands`` (Tensors and Python numbers), by PyTorch's
    rules: dimensioned tensors decide, unless a 0-d tensor or a Python number is of a higher
    category (bool < integer < float); a Python float then gives float32, an int int64."""
    dims, zero_dims, scalars = [], [], []
    for x in operands:
        if isinstance(x, numbers.Number):
            scalars.append(_scalar_dtype(x))
        elif x.ndim == 0:
            zero_dims.append(x.dtype)
        else:
            dims.append(x.dtype)
    result = None
    for group in (dims, zero_dims, scalars):
        if group:
            g = _promote(group)
            if result is None or _category(g) > _category(result):
                result = g
    return result
