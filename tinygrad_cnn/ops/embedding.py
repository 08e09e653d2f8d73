"""Index -> vector ops: the embedding lookup as a `Function` (a gather forward, a scatter-add
backward) with its functional ``embedding``, and ``one_hot`` (not differentiable), each with
``torch.nn.functional``'s arguments."""
import numpy as np

from .._memory import check_memory
from ..errors import ArgumentError, DtypeError, OutOfRangeError
from ..function import Function
from ._checks import check_tensor, flag, is_int, is_tensor, real, tensor_input
from .movement import Constant

__all__ = ["embedding", "one_hot"]


class EmbeddingFunction(Function):
    """weight[indices]: rows of a (V, D) weight picked by integer ``indices`` (any shape, checked
    by the caller). The gradient adds each output row's gradient into its weight row (repeated
    indices add up); the ``padding_idx`` row gets none; ``scale_grad_by_freq`` divides by how
    often each index occurs in ``indices``."""

    @staticmethod
    def forward(ctx, weight, indices=None, padding_idx=None, scale_grad_by_freq=False):
        ctx.indices, ctx.padding_idx, ctx.scale = indices, padding_idx, scale_grad_by_freq
        ctx.weight_shape = weight.shape
        return np.take(weight, indices, axis=0)

    @staticmethod
    def backward(ctx, grad):
        flat = ctx.indices.reshape(-1)
        rows = grad.reshape(flat.size, ctx.weight_shape[1])
        if ctx.scale:
            counts = np.bincount(flat, minlength=ctx.weight_shape[0])
            rows = rows / counts[flat, None].astype(grad.dtype)
        grad_weight = np.zeros(ctx.weight_shape, dtype=grad.dtype)
        np.add.at(grad_weight, flat, rows)
        if ctx.padding_idx is not None:
            grad_weight[ctx.padding_idx] = 0
        return grad_weight


def _padding_idx(fn, padding_idx, rows):
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"{fn}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -rows <= padding_idx < rows:
        raise ValueError(f"{fn}: padding_idx must be within num_embeddings: in [{-rows}, {rows - 1}], got "
                         f"{padding_idx}")
    return int(padding_idx) % rows


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer tensor ``input``:
    output shape input.shape + (embedding_dim,). The ``padding_idx`` row gets no gradient (its
    value is used as it is). ``max_norm`` (which renormalises rows in place) and ``sparse=True``
    are not supported and raise NotImplementedError."""
    fn = "embedding"
    if not is_tensor(input):
        raise TypeError(f"{fn}: input must be a Tensor of integer indices, got {type(input).__name__}")
    indices = input.numpy()
    if indices.dtype.kind not in "iu":
        raise DtypeError(f"{fn}: input must hold integer indices (int64 or int32), got dtype {indices.dtype}")
    tensor_input(fn, weight, name="weight")
    if weight.ndim != 2:
        raise ArgumentError(f"{fn}: weight must be 2-D (num_embeddings, embedding_dim), got shape "
                            f"{tuple(weight.shape)}")
    if max_norm is not None:
        raise NotImplementedError(f"{fn}: max_norm is not supported (got max_norm={max_norm!r}); renormalise the "
                                  f"weight rows yourself under no_grad()")
    if flag(fn, "sparse", sparse):
        raise NotImplementedError(f"{fn}: sparse=True (sparse gradients) is not supported; use sparse=False")
    real(fn, "norm_type", norm_type)
    rows = weight.shape[0]
    padding_idx = _padding_idx(fn, padding_idx, rows)
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        bad = indices[(indices < 0) | (indices >= rows)].flat[0]
        raise OutOfRangeError(f"{fn}: index {bad} is out of range for a weight of {rows} rows (num_embeddings); "
                         f"indices must be in [0, {rows - 1}]")
    return EmbeddingFunction.apply(weight, indices=indices.astype(np.intp, copy=False), padding_idx=padding_idx,
                                   scale_grad_by_freq=flag(fn, "scale_grad_by_freq", scale_grad_by_freq))


def one_hot(tensor, num_classes=-1):
    """``torch.nn.functional.one_hot``: integer class indices (*) -> int64 one-hot rows (*, num_classes);
    num_classes=-1 means the largest class + 1. Not differentiable."""
    check_tensor(tensor, "one_hot", "tensor")
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot: tensor must hold integer class indices (int64), got {tensor.dtype}")
    if not is_int(num_classes):
        raise TypeError(f"one_hot: num_classes must be an int (-1: the largest class + 1), got {num_classes!r}")
    if num_classes < -1:
        raise ValueError(f"one_hot: num_classes must be -1 or non-negative, got {num_classes}")
    labels = tensor.numpy()
    if not labels.size and num_classes == -1:
        raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {labels.min()}")
    if labels.size and num_classes != -1 and labels.max() >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes={num_classes}, got {labels.max()}")
    num_classes = int(labels.max()) + 1 if num_classes == -1 else num_classes
    check_memory("one_hot", labels.size * num_classes * 8, f"an int64 output of {num_classes} classes", "")
    return Constant.apply((labels[..., None] == np.arange(num_classes)).astype(np.int64))  # no gradient
