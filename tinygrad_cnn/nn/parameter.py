"""`Parameter`: a Tensor that a Module registers and an optimizer updates (``torch.nn.Parameter``)."""
import numpy as np

from .._tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates.

    Leaves with ``requires_grad=True`` by default. The data is float32 unless it is given as
    float64 (so ``Parameter([1, 2])`` or an int array gives float32, as in PyTorch). The data is
    copied (PyTorch shares the given tensor's storage).
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty(0, dtype=np.float32)
        if isinstance(data, Tensor):
            data = data._data
        array = np.array(data, copy=True) if isinstance(data, np.ndarray) else np.asarray(data)
        if array.dtype != np.float64:
            array = array.astype(np.float32, copy=False)
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def empty_parameter(shape, dtype=np.float32):
    """A Parameter around a fresh uninitialised array of ``shape``, for a layer to initialise in
    place: no copy, so building a large model does not touch its memory twice (``Parameter(x)``
    copies ``x``)."""
    param = Parameter.__new__(Parameter)
    Tensor.__init__(param, np.empty(shape, dtype=dtype), requires_grad=True)
    return param
