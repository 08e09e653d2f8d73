"""Making tensors, with PyTorch's functions, arguments and dtype rules.

``tensor([1, 2])`` is int64 and ``tensor([1., 2.])`` float32, as in PyTorch; the random ones draw
from the library generator (``manual_seed``). ``device=`` takes only the CPU.
"""
import math
import numbers

import numpy as np

from ._args import is_int, numeric_dtype, shape_args
from ._memory import check_memory
from ._tensor import Tensor, _to_array
from .device import check_device
from .errors import NotImplementedForDtype
from .rng import fill_uniform, get_rng

_DEFAULT_FLOAT = np.dtype(np.float32)
_INT64, _BOOL = np.dtype(np.int64), np.dtype(np.bool_)


def _dtype(dtype, op, default=None):
    return default if dtype is None else numeric_dtype(dtype, op)


def _finish(array, op, requires_grad, device):
    check_device(device, op)
    return Tensor(array, requires_grad=requires_grad)


def _infer(data):
    """The dtype ``torch.tensor`` gives Python data: bool, int64 or float32."""
    array = np.asarray(data)
    if array.dtype.kind == "b":
        return _BOOL
    if array.dtype.kind in "iu":
        return _INT64
    return _DEFAULT_FLOAT


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (a number, nested lists, an ndarray or a Tensor)."""
    if isinstance(data, Tensor):
        data = data.numpy()
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data, dtype=_dtype(dtype, "tensor"), copy=True)
    else:
        try:
            array = np.array(data, dtype=_dtype(dtype, "tensor", None))
        except (ValueError, TypeError) as err:
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} ({err})") from None
        if dtype is None and array.dtype.kind in "biuf":
            array = array.astype(_infer(array), copy=False)
    return _finish(_to_array(array), "tensor", requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    """Like `tensor`, but shares the memory of an ndarray or Tensor when no cast is needed."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        return _finish(data if dtype is None else data.astype(numeric_dtype(dtype, "as_tensor")), "as_tensor", False,
                       device)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray):
    """A tensor sharing the memory of ``ndarray`` (changes to either show in both)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(ndarray).__name__}")
    return Tensor(ndarray)


def _new(make, size, dtype, op, requires_grad, device, floating=False):
    """``make(shape, dtype)`` for a constructor, with its shape and dtype checked first."""
    shape = shape_args(size, op)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"{op}: negative dimension in shape {shape}")
    dtype = _dtype(dtype, op, _DEFAULT_FLOAT)
    if floating and dtype.kind != "f":
        raise NotImplementedForDtype(f"{op}: dtype must be floating point, got {dtype}")
    check_memory(op, dtype.itemsize * math.prod(shape), f"a tensor of shape {shape} and dtype {dtype}")
    try:
        array = make(shape, dtype)
    except (ValueError, OverflowError) as err:  # "array is too big", "maximum supported dimension"
        raise ValueError(f"{op}: cannot create a tensor of shape {shape} ({err})") from None
    return _finish(array, op, requires_grad, device)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _new(np.zeros, size, dtype, "zeros", requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _new(np.ones, size, dtype, "ones", requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _new(np.empty, size, dtype, "empty", requires_grad, device)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """``size`` filled with ``fill_value``; without a dtype, that of the value (bool, int64 or float32)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if not isinstance(fill_value, numbers.Number):
        raise TypeError(f"full: fill_value must be a number, got {type(fill_value).__name__}")
    dtype = _infer(fill_value) if dtype is None else dtype
    return _new(lambda s, dt: np.full(s, fill_value, dtype=dt), (size,), dtype, "full", requires_grad, device)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    m = n if m is None else m
    return _new(lambda s, dt: np.eye(s[0], s[1], dtype=dt), (n, m), dtype, "eye", requires_grad, device)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """[start, end) in steps; int64 when every bound is an int, else float32 (as PyTorch)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    ints = all(is_int(v) for v in (start, end, step))
    dtype = _dtype(dtype, "arange", _INT64 if ints else _DEFAULT_FLOAT)
    count = max(0, math.ceil((end - start) / step))
    values = start + step * np.arange(count, dtype=np.float64 if not ints else np.int64)
    return _finish(values.astype(dtype), "arange", requires_grad, device)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    if not is_int(steps) or steps < 0:
        raise RuntimeError(f"linspace: steps must be a non-negative int, got {steps!r}")
    values = np.linspace(start, end, steps, dtype=np.float64)
    return _finish(values.astype(_dtype(dtype, "linspace", _DEFAULT_FLOAT)), "linspace", requires_grad, device)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform samples on [0, 1) from the library generator."""
    _no_generator(generator, "rand")
    return _new(lambda s, dt: get_rng().random(s).astype(dt), size, dtype, "rand", requires_grad, device, True)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal samples from the library generator."""
    _no_generator(generator, "randn")
    return _new(lambda s, dt: get_rng().standard_normal(s).astype(dt), size, dtype, "randn", requires_grad, device,
                True)


def randint(low, high=None, size=None, dtype=None, device=None, requires_grad=False, generator=None):
    """Integers in [low, high) of shape ``size`` (``randint(high, size)`` takes low = 0), int64."""
    _no_generator(generator, "randint")
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint: size must be given, as randint(low, high, size) or randint(high, size)")
        low, high, size = 0, low, high
    if not is_int(low) or not is_int(high) or low >= high:
        raise RuntimeError(f"randint: need integers low < high, got low={low!r}, high={high!r}")
    return _new(lambda s, dt: get_rng().integers(low, high, s).astype(dt), (size,), _dtype(dtype, "randint", _INT64),
                "randint", requires_grad, device)


def randperm(n, dtype=None, device=None, requires_grad=False, generator=None):
    _no_generator(generator, "randperm")
    if not is_int(n) or n < 0:
        raise RuntimeError(f"randperm: n must be a non-negative int, got {n!r}")
    values = get_rng().permutation(n).astype(_dtype(dtype, "randperm", _INT64))
    return _finish(values, "randperm", requires_grad, device)


def _like(make, input, dtype, requires_grad, device):
    return make(*input.shape, dtype=input.dtype if dtype is None else dtype, requires_grad=requires_grad, device=device)


def zeros_like(input, dtype=None, device=None, requires_grad=False):
    return _like(zeros, input, dtype, requires_grad, device)


def ones_like(input, dtype=None, device=None, requires_grad=False):
    return _like(ones, input, dtype, requires_grad, device)


def empty_like(input, dtype=None, device=None, requires_grad=False):
    return _like(empty, input, dtype, requires_grad, device)


def rand_like(input, dtype=None, device=None, requires_grad=False):
    return _like(rand, input, dtype, requires_grad, device)


def randn_like(input, dtype=None, device=None, requires_grad=False):
    return _like(randn, input, dtype, requires_grad, device)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    return full(input.shape, fill_value, dtype=input.dtype if dtype is None else dtype, device=device,
                requires_grad=requires_grad)


def _no_generator(generator, op):
    if generator is not None:
        raise TypeError(f"{op}: generator= is not supported; seed the library generator with manual_seed")


def _uniform(*shape, low=0.0, high=1.0, dtype=_DEFAULT_FLOAT, requires_grad=False):
    """``Tensor.uniform(*shape, low=, high=)``: samples uniform on [low, high) (kept from before `rand`)."""
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"Tensor.uniform: {name} must be a number, got {v!r}")
        if not -1e308 < v < 1e308:  # also catches nan and ints too big for a float
            raise ValueError(f"Tensor.uniform: {name} must be finite, got {v!r}")
    if low > high:
        raise ValueError(f"Tensor.uniform: low ({low}) must not exceed high ({high})")
    return _new(lambda s, dt: fill_uniform(np.empty(s, dt), low, high), shape, dtype, "Tensor.uniform",
                requires_grad, None, True)


# the constructors as static methods too, as before: Tensor.zeros(2, 3), Tensor.randn(...)
Tensor.zeros, Tensor.ones, Tensor.randn = staticmethod(zeros), staticmethod(ones), staticmethod(randn)
Tensor.uniform = staticmethod(_uniform)
