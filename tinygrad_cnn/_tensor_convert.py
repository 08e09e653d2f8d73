"""Tensor methods that change the dtype or the device: ``to``, ``type``, ``float``, ``long``...

Only the CPU exists, so a device argument is checked and otherwise changes nothing. A cast
between float dtypes stays in the graph; a cast to or from integers and bool is a constant.
"""
import numpy as np

from . import ops
from ._args import numeric_dtype
from .device import check_device, device


class ConvertMethods:
    """Mixed into `Tensor`; relies on its ``_const`` and ``clone``."""

    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other)`` as in PyTorch; only
        the CPU exists. A cast between float types stays in the graph."""
        kwargs.pop("non_blocking", None)
        copy = kwargs.pop("copy", False)
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"Tensor.to: unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, ConvertMethods):
                dtype = a.dtype
            elif _is_device_like(a):
                device = a
            else:
                dtype = a
        if device is not None:
            check_device(device, "Tensor.to")
        out = self if dtype is None else self._cast(numeric_dtype(dtype, "Tensor.to"))
        return out.clone() if copy and out is self else out

    def _cast(self, dtype):
        if dtype == self.dtype:
            return self
        if dtype.kind != "f" or self.dtype.kind != "f":
            return self._const(self._data.astype(dtype))  # to or from int/bool: a constant, outside the graph
        return ops.Cast.apply(self, dtype=dtype)

    def type(self, dtype=None):
        """No argument: PyTorch's type string ('torch.FloatTensor'); with a dtype: a cast to it."""
        if dtype is None:
            return "torch." + _TYPE_NAMES[self.dtype.name]
        if isinstance(dtype, str) and dtype.startswith("torch."):
            names = {v: k for k, v in _TYPE_NAMES.items()}
            if dtype[6:] not in names:
                raise TypeError(f"Tensor.type: unknown type {dtype!r}")
            dtype = names[dtype[6:]]
        return self._cast(numeric_dtype(dtype, "Tensor.type"))

    def type_as(self, other):
        return self._cast(other.dtype)

    def astype(self, dtype):
        return self._cast(numeric_dtype(dtype, "astype"))

    def float(self):
        return self._cast(np.dtype(np.float32))

    def double(self):
        return self._cast(np.dtype(np.float64))

    def long(self):
        return self._cast(np.dtype(np.int64))

    def int(self):
        return self._cast(np.dtype(np.int32))

    def bool(self):
        return self._cast(np.dtype(np.bool_))

    def cpu(self):
        return self

    def cuda(self, *args, **kwargs):
        check_device("cuda", "Tensor.cuda")


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor", "int32": "IntTensor",
               "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def _is_device_like(value):
    return isinstance(value, (str, device))
