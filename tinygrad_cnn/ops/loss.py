"""Softmax, log-softmax, cross_entropy and nll_loss, with PyTorch's signatures and semantics.

Class-index targets (``(N,)`` for ``(N, C)`` input, ``(N, d1, ...)`` for ``(N, C, d1, ...)``, ``()``
for ``(C,)``) may skip entries equal to ``ignore_index`` and weigh classes by ``weight``; the mean
then divides by the total weight of the targets kept. cross_entropy also takes class
probabilities (a float target of the input's shape), whose mean divides by the number of
positions. The plain ``(N, C)`` case without weight or ignored targets runs the fused
`CrossEntropy` (the training hot path). The pointwise losses (mse_loss, ..., kl_div) live in
loss_pointwise.py and are re-exported here.
"""
import numpy as np

from ..function import Function
from ._checks import is_tensor, no_grad_needed, real, reduction_arg, tensor_input
from .loss_pointwise import (BinaryCrossEntropy, BinaryCrossEntropyWithLogits, HuberLoss, KlDiv, L1Loss, MseLoss,
                             SmoothL1Loss, binary_cross_entropy, binary_cross_entropy_with_logits, huber_loss, kl_div,
                             l1_loss, mse_loss, smooth_l1_loss)

__all__ = [
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div",
]


def _log_softmax(x, axis):
    """Stable log-softmax: shift by the max so exp never overflows (logits of 1e3 are fine)."""
    if x.size == 0:  # max of an empty axis is undefined; the result is just as empty
        return np.empty_like(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        if x.size == 0:
            ctx.save_for_backward(x)
            ctx.axis = axis
            return x.copy()
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        # Jacobian-vector product of softmax: s * (g - <g, s>)
        return out * (grad - (grad * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        out = _log_softmax(x, axis)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - np.exp(out) * grad.sum(axis=ctx.axis, keepdims=True)


class CrossEntropy(Function):
    """Fused (N, C) case: mean/sum/per-sample of -log softmax(logits)[target], one pass each way.

    With label smoothing ``s`` the target distribution is ``(1 - s) * one_hot + s / C``, so the
    gradient with respect to the logits is always ``softmax(logits) - target_distribution``.
    """

    @staticmethod
    def forward(ctx, logits, target, reduction="mean", label_smoothing=0.0):
        n, c = logits.shape
        logp = _log_softmax(logits, axis=1)
        rows = np.arange(n)
        losses = -(1.0 - label_smoothing) * logp[rows, target]
        if label_smoothing:
            losses = losses - (label_smoothing / c) * logp.sum(axis=1)
        losses = losses.astype(logits.dtype, copy=False)
        ctx.save_for_backward(logp)
        ctx.target, ctx.reduction, ctx.label_smoothing = target, reduction, label_smoothing
        if reduction == "none":
            return losses
        total = losses.sum(dtype=logits.dtype)
        return np.asarray(total / n if reduction == "mean" else total, dtype=logits.dtype)

    @staticmethod
    def backward(ctx, grad):
        (logp,) = ctx.saved_tensors
        n, c = logp.shape
        d = np.exp(logp)  # softmax
        s = ctx.label_smoothing
        if s:
            d -= s / c
        d[np.arange(n), ctx.target] -= 1.0 - s
        if ctx.reduction == "none":
            d *= grad[:, None]
        else:
            d *= grad / n if ctx.reduction == "mean" else grad
        return d


