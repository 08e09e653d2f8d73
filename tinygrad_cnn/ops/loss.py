"""Softmax, log-softmax and the fused softmax + cross-entropy loss."""
import numpy as np

from ..function import Function


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
    """Mean/sum/per-sample of -log softmax(logits)[target], in one pass each way.

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


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0):
    """Check the arguments of ``Tensor.cross_entropy`` and apply the fused op."""
    from ..tensor import Tensor

    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be 2-D (N, C), got shape {logits.shape}")
    n, c = logits.shape
    if logits.dtype.kind != "f":
        raise TypeError(f"cross_entropy: logits must be floating point, got {logits.dtype}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.integer, np.floating)):
        raise TypeError(f"cross_entropy: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    if isinstance(target, Tensor):
        target = target.data
    try:
        target = np.asarray(target)
    except Exception:
        raise TypeError(f"cross_entropy: target must be integer class indices, got {type(target).__name__}") from None
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"cross_entropy: target must hold integer class indices (ndarray, list or integer Tensor), got dtype {target.dtype}"
        )
    if target.shape != (n,):
        raise ValueError(f"cross_entropy: target must have shape ({n},) to match logits {logits.shape}, got {target.shape}")
    if n == 0:
        raise ValueError("cross_entropy: empty batch (N = 0)")
    if c == 0:
        raise ValueError(f"cross_entropy: logits {logits.shape} have no classes (C = 0)")
    if target.min() < 0 or target.max() >= c:
        bad = target[(target < 0) | (target >= c)][0]
        raise ValueError(f"cross_entropy: target {bad} is out of range for {c} classes (valid: 0 to {c - 1})")
    return CrossEntropy.apply(logits, target=target.astype(np.intp, copy=False), reduction=reduction,
                              label_smoothing=float(label_smoothing))
