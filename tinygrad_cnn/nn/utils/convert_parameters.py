"""Parameters to one flat vector and back (``torch.nn.utils.convert_parameters``)."""
from ..._tensor import Tensor
from ...toplevel import cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D Tensor (differentiable, as PyTorch's
    ``torch.cat`` of views; dtypes promoted)."""
    tensors = list(parameters)
    if not tensors:
        raise ValueError("parameters_to_vector: expected a non-empty iterable of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"parameters_to_vector: item {i} is a {type(t).__name__}, not a Tensor")
    return cat([t.reshape(-1) for t in tensors])


def vector_to_parameters(vec, parameters):
    """Set each parameter's data to the next ``numel`` elements of ``vec``, in order.

    As in PyTorch the parameters then share ``vec``'s memory and take its dtype. Every size is
    checked before anything is changed.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise RuntimeError(f"vector_to_parameters: expected a 1-D vector, got shape {vec.shape}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if total > vec.numel():
        raise RuntimeError(f"vector_to_parameters: the parameters have {total} elements but the vector only "
                           f"{vec.numel()}")
    pointer = 0
    for param in params:
        n = param.numel()
        param._data = vec._data[pointer:pointer + n].reshape(param.shape)
        pointer += n
