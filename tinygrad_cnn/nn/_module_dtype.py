"""`Module`'s dtype and device methods (``to``, ``float``, ``double``, ``type``, ``cpu``...).

Casts happen in place on the parameters' and buffers' arrays: the Parameter objects stay the
same, so an optimizer built before a cast still updates them. Only the CPU exists, and only
float32 and float64 (``half``/``bfloat16`` are refused rather than silently ignored).
"""
import itertools

import numpy as np

from .._tensor import Tensor
from .._tensor_convert import _TYPE_NAMES
from ..device import check_device
from ..device import device as device_type


class DtypeMethods:
    """Mixed into `Module`."""

    def _cast(self, dtype, floating_only=True):
        """Cast parameters and buffers (only floating ones unless told) in place; the Parameter
        objects stay the same, so optimizers keep them. Gradients are cast too."""
        seen = set()
        for module in self.modules():
            for tensor in itertools.chain(module._parameters.values(), module._buffers.values()):
                if tensor is None or id(tensor) in seen or (floating_only and tensor.dtype.kind != "f"):
                    continue
                seen.add(id(tensor))
                if tensor.dtype != dtype:
                    tensor._data = tensor._data.astype(dtype)
                if tensor.grad is not None and tensor.grad.dtype != dtype:
                    tensor.grad = Tensor(tensor.grad._data.astype(dtype))
        return self

    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(tensor)``, in place, returning self.

        Only the CPU exists, so a device is checked and otherwise changes nothing. A dtype casts the
        floating-point parameters and buffers; the Parameter objects stay the same (only their
        array is replaced), so an optimizer built before the cast still updates them; their
        gradients are cast too.
        """
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"Module.to: unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, device_type)):
                device = a
            else:
                dtype = a
        check_device(device, "Module.to")
        if dtype is None:
            return self
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"Module.to: {dtype!r} is not a dtype or device (use 'cpu', float32 or float64)") from None
        if dtype == np.float16:
            self.half()
        if dtype.kind != "f":
            raise TypeError(f"Module.to: nn.Module.to only accepts floating point dtypes, but got desired "
                            f"dtype={dtype}")
        return self._cast(dtype)

    def type(self, dst_type):
        """Cast *every* parameter and buffer (integer buffers too, as PyTorch) to ``dst_type``: a
        dtype or a type string such as 'torch.DoubleTensor'."""
        if isinstance(dst_type, str):
            names = {f"torch.{v}": k for k, v in _TYPE_NAMES.items()}
            if dst_type not in names:
                raise TypeError(f"Module.type: unknown type {dst_type!r} (e.g. 'torch.FloatTensor')")
            dst_type = names[dst_type]
        try:
            dtype = np.dtype(dst_type)
        except TypeError:
            raise TypeError(f"Module.type: {dst_type!r} is not a dtype") from None
        if dtype == np.float16:
            self.half()
        if dtype.kind != "f" and any(p.requires_grad for p in self.parameters()):
            raise RuntimeError(f"Module.type: only floating-point parameters can require grad, cannot cast to {dtype}")
        return self._cast(dtype, floating_only=False)

    def cpu(self):
        return self

    def cuda(self, device=None):
        check_device("cuda", "Module.cuda")

    def double(self):
        return self._cast(np.dtype(np.float64))

    def float(self):
        return self._cast(np.dtype(np.float32))

    def half(self):
        raise TypeError("Module.half: float16 is not supported by tinygrad_cnn (float32 and float64 only); "
                        "keep the model in float32")

    def bfloat16(self):
        raise TypeError("Module.bfloat16: bfloat16 is not supported by tinygrad_cnn (float32 and float64 only)")
