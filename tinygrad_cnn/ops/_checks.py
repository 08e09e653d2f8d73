"""Argument checks shared by the functionals (activations, losses, conv, pooling).

Each check names the function and the argument, and says what was expected and what came, so a
bad call fails once, up front, instead of deep inside NumPy.
"""
import math
import numbers

import numpy as np

from .. import function
from ..errors import NotImplementedForDtype

# the names PyTorch prints in "not implemented for 'Long'"
_TORCH_NAMES = {"int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long", "uint8": "Byte",
                "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "bool": "Bool"}
REDUCTIONS = ("mean", "sum", "none")


def is_tensor(value):
    """A Tensor (the class ``Function.apply`` wraps results in; ops do not import it)."""
    return isinstance(value, function.tensor_type())


def is_int(value):
    """An int (Python or NumPy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_tensor(value, op, what="input"):
    """TypeError unless ``value`` is a Tensor (of any dtype)."""
    if not is_tensor(value):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(value).__name__}")


def tensor_input(fn, value, name="input", allow_int=False):
    """``value`` must be a Tensor of floating dtype (or also integer, with ``allow_int``); returns its dtype."""
    if not is_tensor(value):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(value).__name__}")
    dtype = value.numpy().dtype
    if dtype.kind == "f" or (allow_int and dtype.kind in "iu"):
        return dtype
    torch_name = _TORCH_NAMES.get(dtype.name, dtype.name)
    raise NotImplementedForDtype(f"{fn}: not implemented for '{torch_name}' ({name} has dtype {dtype}); "
                    f"use a floating-point tensor (.float() or .double())")


def real(fn, name, value):
    """A real number (not bool, not NaN), as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{fn}: {name} must not be NaN")
    return value


def flag(fn, name, value):
    """True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fn}: {name} must be True or False, got {value!r}")
    return bool(value)


def reduction_arg(fn, reduction, size_average=None, reduce=None, allowed=REDUCTIONS):
    """The reduction string; the legacy ``size_average`` / ``reduce`` flags are refused."""
    if size_average is not None or reduce is not None:
        raise ValueError(f"{fn}: size_average and reduce are deprecated and not supported (got size_average="
                         f"{size_average!r}, reduce={reduce!r}); pass reduction='mean', 'sum' or 'none' instead")
    if not isinstance(reduction, str) or reduction not in allowed:
        names = ", ".join(repr(r) for r in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise ValueError(f"{fn}: reduction must be {names}, got {reduction!r}")
    return reduction


def as_array(fn, name, value):
    """The ndarray of a Tensor (``numpy()``), ndarray, number or nested list of numbers."""
    if is_tensor(value):
        array = value.numpy()
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{fn}: {name} must be a Tensor or an array of numbers, got "
                            f"{type(value).__name__} ({err})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {name} must be a Tensor or an array of numbers, got {type(value).__name__} "
                        f"of dtype {array.dtype}")
    return array


def float_operand(fn, name, value, dtype):
    """A target or weight that becomes a Function input: a Tensor as is (so it gets a gradient),
    anything else as an ndarray of ``dtype``. Returns (operand, the ndarray as given)."""
    array = as_array(fn, name, value)
    if array.dtype.kind == "b":
        raise TypeError(f"{fn}: {name} must hold numbers, got dtype bool (convert it with .float())")
    return (value if is_tensor(value) else array.astype(dtype, copy=False)), array


def no_grad_needed(fn, name, value):
    """PyTorch does not differentiate this argument and refuses one that requires grad."""
    if getattr(value, "requires_grad", False):
        raise ValueError(f"{fn}: {name} gets no gradient (as in PyTorch), so it must not require grad; "
                         f"pass {name}.detach()")


def int_pair(value, name, op, minimum):
    """An int or a pair of ints, each >= minimum, as a pair."""
    pair = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in pair)):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in pair):
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {kind}, got {value!r}")
    return int(pair[0]), int(pair[1])


def pool_window(kernel_size, stride, padding, op):
    """Checked (kernel, stride, padding) pairs of a pooling window; ``stride=None`` means the kernel size."""
    kernel = int_pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None else int_pair(stride, "stride", op, 1)
    padding = int_pair(padding, "padding", op, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    return kernel, stride, padding


def tensor_or_array(value, what, op):
    """A tensor argument of a conv op: a Tensor as it is, an array-like as an ndarray (``Function.apply``
    wraps it into a constant Tensor)."""
    if is_tensor(value):
        return value
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{op}: {what} must be a Tensor or an array, got {type(value).__name__} ({err})") from None
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{op}: {what} must be a Tensor or an array of numbers, got {type(value).__name__}")
    if not isinstance(value, np.ndarray) and array.dtype == np.float64:
        array = array.astype(np.float32)  # Python floats make float32, as torch.tensor([...]) does
    return array


def check_4d(x, op, what="input"):
    if x.ndim != 4:
        raise ValueError(f"{op}: {what} must be 4-D (N, C, H, W), got shape {tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be floating point, got {x.dtype}")


def output_length(size, pad_total, kernel, stride, dilation, op, axis_name):
    """Output length along one axis of a conv/pool window; ValueError if the kernel does not fit."""
    span = dilation * (kernel - 1) + 1
    if size + pad_total < span:
        raise ValueError(
            f"{op}: the kernel ({span} {axis_name} with dilation) is larger than the padded input "
            f"({size} + {pad_total} padding = {size + pad_total} {axis_name})"
        )
    return (size + pad_total - span) // stride + 1


_PLAIN = (int, float, str, bool, type(None), np.integer, np.floating, np.bool_, np.dtype)
_MEMO_SIZE = 1024  # distinct argument sets remembered per checked function (layer shapes of a few models)


_SCALARS = frozenset((int, float, str, bool, type(None)))


def _plain(value):
    return type(value) in _SCALARS or isinstance(value, _PLAIN)


def _plain_key(args):
    """A hashable key of the arguments that tells ``1``, ``True`` and ``1.0`` apart, or None when
    one is not a number, string, dtype or flat tuple/list of those (those calls are not memoized).

    The usual call (Python scalars and tuples of them, a dtype) takes the short way: the argument
    tuple itself plus the type of every value, nested one level."""
    types = []
    for v in args:
        kind = v.__class__
        if kind is tuple:
            inner = tuple(map(type, v))
            if not _SCALARS.issuperset(inner):
                return _general_key(args)
            types.append(inner)
        elif kind in _SCALARS:
            types.append(kind)
        elif isinstance(v, np.dtype):
            types.append(np.dtype)
        else:
            return _general_key(args)
    return args, tuple(types)


def _general_key(args):
    """``_plain_key`` for NumPy scalars and lists: each value with its type, lists as tuples."""
    key = []
    for v in args:
        kind = type(v)
        if kind is tuple or kind is list:
            types = tuple(map(type, v))
            if not all(map(_plain, v)):
                return None
            key.append((kind, tuple(v), types))
        elif _plain(v):
            key.append((kind, v))
        else:
            return None
    return "general", tuple(key)


def memoize_checks(fn):
    """Remember what a pure geometry check returned for each set of plain arguments (shapes,
    kernel sizes, strides, ...), so a layer called again on the same shape skips the checking:
    the short path of a small input (batch 1 inference). A call that raises is not remembered,
    so a bad call fails every time with the same message."""
    memo = {}

    def checked(*args):
        key = _plain_key(args)
        if key is None:
            return fn(*args)
        hit = memo.get(key)
        if hit is None:
            hit = fn(*args)
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = hit
        return hit

    checked.__wrapped__, checked.__name__, checked.__doc__ = fn, fn.__name__, fn.__doc__
    return checked
