"""``linear``: x @ weight.T + bias as one op (PyTorch's addmm), for a short path per layer call.

It computes exactly what ``matmul(x, weight.T) + bias`` computes, with the same NumPy calls in
the same order forward and backward, so models give the same bits as before this op existed;
one op instead of three (a transpose, a matmul, an add) saves two ops' bookkeeping per call,
which is most of a small Linear layer's time at batch 1.
"""
import numpy as np

from .. import parallel
from ..function import Function
from .reduce import _sum_to


class Linear(Function):
    """y = x @ weight.T (+ bias), weight (out_features, in_features), x (..., in_features)."""

    @staticmethod
    def forward(ctx, x, weight, *bias):
        ctx.save_for_backward(x, weight)
        out = parallel.matmul(x, weight.T)
        return out + bias[0] if bias else out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[:2]
        x2 = x[None, :] if x.ndim == 1 else x
        g2 = np.expand_dims(grad, -2) if x.ndim == 1 else grad
        grad_x = grad_w = None
        if need_x:
            grad_x = _sum_to(parallel.matmul(g2, weight), x2.shape).reshape(x.shape)
        if need_w:
            grad_w = _sum_to(parallel.matmul(np.swapaxes(x2, -1, -2), g2), weight.T.shape).T
        if len(ctx.needs_input_grad) == 2:
            return grad_x, grad_w
        grad_b = None
        if ctx.needs_input_grad[2]:
            grad_b = grad.sum(axis=tuple(range(grad.ndim - 1))) if grad.ndim > 1 else grad
        return grad_x, grad_w, grad_b
