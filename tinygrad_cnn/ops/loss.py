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

from ..errors import OutOfRangeError
from ..function import Function
from ._checks import is_tensor, no_grad_needed, reduction_arg, tensor_input
from .loss_pointwise import (  # noqa: F401 (the Functions are re-exported too)
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    HuberLoss,
    KlDiv,
    L1Loss,
    MseLoss,
    SmoothL1Loss,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)

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


# ----------------------------------------------------------------------------------- any shape, weight, ignore_index


def _class_view(weight, ndim):
    """A (C,) weight shaped to broadcast along axis 1 of an (N, C, d1, ...) array of ``ndim`` axes."""
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


def _kept_weights(target, weight, ignore_index, dtype):
    """Where the target is kept (not ignore_index), the target with ignored entries set to class 0
    (safe to index with), and each position's target-class weight (0 where ignored)."""
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    w_t = keep.astype(dtype) if weight is None else np.where(keep, weight[safe], 0)
    return keep, safe, w_t


def _reduce(losses, reduction, denominator):
    if reduction == "none":
        return losses
    total = np.asarray(losses.sum(), dtype=losses.dtype)
    if reduction == "sum":
        return total
    with np.errstate(divide="ignore", invalid="ignore"):  # nothing kept: 0 / 0 = nan, as in PyTorch
        return np.asarray(total / denominator, dtype=losses.dtype)


def _position_gradient(grad, reduction, keep, denominator):
    """d(loss)/d(loss at each position): 0 where ignored, even when the mean is 0 / 0."""
    if reduction == "none":
        grad = grad.reshape(keep.shape)
    elif reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = grad / denominator
    return np.where(keep, grad, 0)


class CrossEntropyNd(Function):
    """Cross-entropy of (C,), (N, C) or (N, C, d1, ...) logits against class indices, with class
    weights w, ignore_index and label smoothing s, by PyTorch's formula:
    (1 - s) * nll + s / C * (-sum_c w_c log p_c), where a 'mean' divides both parts by the kept
    targets' total weight."""

    @staticmethod
    def forward(ctx, x, target=None, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        ctx.input_shape, out_shape = x.shape, target.shape
        if x.ndim == 1:
            x, target = x[None], target[None]
        c, s = x.shape[1], label_smoothing
        logp = _log_softmax(x, axis=1)
        keep, safe, w_t = _kept_weights(target, weight, ignore_index, x.dtype)
        index = safe[:, None]
        nll = np.where(keep, -w_t * np.take_along_axis(logp, index, axis=1)[:, 0], 0)
        ctx.save_for_backward(logp, keep, index, w_t, weight)
        ctx.reduction, ctx.label_smoothing, ctx.denominator = reduction, s, w_t.sum()
        if not s:
            out = _reduce(nll, reduction, ctx.denominator)
            return out.reshape(out_shape) if reduction == "none" else out
        weighted = logp if weight is None else logp * _class_view(weight, x.ndim)
        smooth = np.where(keep, -weighted.sum(axis=1), 0)
        if reduction == "none":
            return ((1 - s) * nll + (s / c) * smooth).reshape(out_shape)
        # each part reduced on its own, as PyTorch does: a 0 / 0 mean of either is nan, not inf
        nll, smooth = _reduce(nll, reduction, ctx.denominator), _reduce(smooth, reduction, ctx.denominator)
        return (1 - s) * nll + (s / c) * smooth

    @staticmethod
    def backward(ctx, grad):
        logp, keep, index, w_t, weight = ctx.saved_tensors
        c, s = logp.shape[1], ctx.label_smoothing
        row = _position_gradient(grad, ctx.reduction, keep, ctx.denominator)
        # d/dx_c = (1 - s) w_t (p_c - [c == t]) + s / C (p_c sum_k w_k - w_c), per position; a 0 / 0 mean
        # (kept targets of total weight 0) makes row inf and these nan, as in PyTorch
        with np.errstate(invalid="ignore"):
            nll_scale, smooth_scale = (1 - s) * w_t * row, (s / c) * row
            d = np.exp(logp)
            d *= (nll_scale + smooth_scale * (c if weight is None else weight.sum()))[:, None]
            np.put_along_axis(d, index, np.take_along_axis(d, index, axis=1) - nll_scale[:, None], axis=1)
            if s:
                d -= smooth_scale[:, None] if weight is None else smooth_scale[:, None] * _class_view(weight, d.ndim)
        return d.reshape(ctx.input_shape)


class SoftCrossEntropy(Function):
    """Cross-entropy against class probabilities y of the input's shape: -sum_c w_c y'_c log p_c with
    y' = (1 - s) y + s / C. A 'mean' divides by the number of positions (N * d1 * ...), not by the
    weights. The target and the weight get gradients too (as in PyTorch, where this is composite)."""

    @staticmethod
    def forward(ctx, x, y, weight=None, reduction="mean", label_smoothing=0.0):
        ctx.input_shape = x.shape
        if x.ndim == 1:
            x, y = x[None], y[None]
        c, s = x.shape[1], label_smoothing
        logp = _log_softmax(x, axis=1)
        smoothed = y.astype(x.dtype, copy=False)
        if s:
            smoothed = smoothed * (1 - s) + s / c
        view = None if weight is None else _class_view(weight.astype(x.dtype, copy=False), x.ndim)
        wy = smoothed if view is None else smoothed * view
        losses = -(wy * logp).sum(axis=1)
        ctx.save_for_backward(logp, smoothed, wy, view)
        ctx.reduction, ctx.label_smoothing = reduction, s
        out = _reduce(losses, reduction, losses.size)
        return out.reshape(()) if reduction == "none" and len(ctx.input_shape) == 1 else out

    @staticmethod
    def backward(ctx, grad):
        logp, smoothed, wy, view = ctx.saved_tensors
        positions = logp.shape[:1] + logp.shape[2:]
        if ctx.reduction == "mean":
            with np.errstate(divide="ignore", invalid="ignore"):  # no positions: nan, as the loss
                grad = grad / (logp.size // logp.shape[1])
        row = np.broadcast_to(grad.reshape(positions) if ctx.reduction == "none" else grad, positions)[:, None]
        gx = gy = gw = None
        if ctx.needs_input_grad[0]:
            gx = ((np.exp(logp) * wy.sum(axis=1, keepdims=True) - wy) * row).reshape(ctx.input_shape)
        if ctx.needs_input_grad[1]:
            gy = -(1 - ctx.label_smoothing) * logp * row
            gy = (gy if view is None else gy * view).reshape(ctx.input_shape)
        if view is not None and ctx.needs_input_grad[2]:
            gw = -(smoothed * logp * row).sum(axis=tuple(i for i in range(logp.ndim) if i != 1))
        return (gx, gy) if view is None else (gx, gy, gw)


class NllLoss(Function):
    """-w[t] * input[t] at each position (the input holds log-probabilities), 0 where t is
    ignore_index; a 'mean' divides by the kept targets' total weight."""

    @staticmethod
    def forward(ctx, x, target=None, weight=None, ignore_index=-100, reduction="mean"):
        ctx.input_shape, out_shape = x.shape, target.shape
        if x.ndim == 1:
            x, target = x[None], target[None]
        keep, safe, w_t = _kept_weights(target, weight, ignore_index, x.dtype)
        index = safe[:, None]
        losses = np.where(keep, -w_t * np.take_along_axis(x, index, axis=1)[:, 0], 0)
        ctx.save_for_backward(keep, index, w_t)
        ctx.reduction, ctx.denominator, ctx.work_shape = reduction, w_t.sum(), x.shape
        out = _reduce(losses, reduction, ctx.denominator)
        return out.reshape(out_shape) if reduction == "none" else out

    @staticmethod
    def backward(ctx, grad):
        keep, index, w_t = ctx.saved_tensors
        d = np.zeros(ctx.work_shape, dtype=w_t.dtype)
        with np.errstate(invalid="ignore"):  # 0 * inf = nan for a 0 / 0 mean, as in PyTorch
            scale = w_t * _position_gradient(grad, ctx.reduction, keep, ctx.denominator)
        np.put_along_axis(d, index, -scale[:, None], axis=1)
        return d.reshape(ctx.input_shape)


# ----------------------------------------------------------------------------------- functionals


def _class_input(fn, input):
    """(dtype, shape, number of classes C, shape of a class-index target) of (C,) / (N, C, ...) input."""
    dtype = tensor_input(fn, input)
    shape = tuple(input.shape)
    if not shape:
        raise ValueError(f"{fn}: input must have shape (C,), (N, C) or (N, C, d1, ...), got a 0-d tensor")
    c = shape[0] if len(shape) == 1 else shape[1]
    if c == 0:
        raise OutOfRangeError(f"{fn}: input {shape} has no classes (C = 0)")
    return dtype, shape, c, (() if len(shape) == 1 else shape[:1] + shape[2:])


def _target_array(fn, target, expected):
    array = target.numpy() if is_tensor(target) else None
    if array is None:
        try:
            array = np.asarray(target)
        except (TypeError, ValueError):
            array = np.asarray(None)
    if array.dtype.kind not in "iuf":
        got = f"dtype {array.dtype}" if array.dtype.kind != "O" else type(target).__name__
        raise TypeError(f"{fn}: target must hold {expected}, got {got}")
    return array


def _class_indices(fn, array, shape, c, index_shape, ignore_index, also=""):
    """The checked class-index target as intp (integer, of the index shape, each in [0, C) or
    ignore_index), and whether any entry is ignore_index."""
    if array.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target must hold integer class indices (shape {index_shape}){also}, "
                        f"got dtype {array.dtype}")
    if array.shape != index_shape:
        raise ValueError(f"{fn}: target must have shape {index_shape} to match input {shape}, got {array.shape}")
    if not array.size:
        return array.astype(np.intp), False
    if 0 <= array.min() and array.max() < c:  # the common case: one pass each for min and max
        return array.astype(np.intp, copy=False), bool(0 <= ignore_index < c and (array == ignore_index).any())
    ignored = array == ignore_index
    bad = array[((array < 0) | (array >= c)) & ~ignored]
    if bad.size:
        raise OutOfRangeError(f"{fn}: target {bad[0]} is out of range for {c} classes (valid: 0 to {c - 1}) and is not "
                         f"ignore_index ({ignore_index})")
    return array.astype(np.intp, copy=False), bool(ignored.any())


def _class_weight(fn, weight, c, dtype, differentiable=False):
    """None, or the (C,) weight: as is if ``differentiable`` and a Tensor (it then gets a gradient),
    else as an ndarray of ``dtype`` (PyTorch refuses one that requires grad)."""
    if weight is None:
        return None
    if not differentiable:
        no_grad_needed(fn, "weight", weight)
    try:
        array = weight.numpy() if is_tensor(weight) else np.asarray(weight)
    except (TypeError, ValueError):
        array = np.asarray(None)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{fn}: weight must be a float Tensor of shape ({c},), got {type(weight).__name__}")
    if array.shape != (c,):
        raise ValueError(f"{fn}: weight must have shape ({c},), one weight per class, got {array.shape}")
    return weight if differentiable and is_tensor(weight) else array.astype(dtype, copy=False)


def _ignore_index(fn, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fn}: ignore_index must be an int, got {value!r}")
    return int(value)


def _label_smoothing(fn, value):
    message = f"{fn}: label_smoothing must be a number in [0, 1], got {value!r}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(message)
    if not 0.0 <= value <= 1.0:
        raise ValueError(message)
    return float(value)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy, as ``torch.nn.functional.cross_entropy``.

    input: logits (C,), (N, C) or (N, C, d1, ...). target: class indices of shape (), (N,) or
    (N, d1, ...) (any integer dtype; entries equal to ``ignore_index`` are skipped), or class
    probabilities of the input's shape (float; ``ignore_index`` must then be negative).
    weight: (C,) class weights; with class indices the 'mean' divides by the kept targets' total
    weight and the weight gets no gradient, with probabilities it divides by the number of
    positions and the weight (and the target) get gradients. label_smoothing s mixes the target
    with the uniform distribution: (1 - s) * loss + s / C * (-sum_c w_c log p_c).
    ``size_average`` / ``reduce`` must be None (use ``reduction``).
    """
    fn = "cross_entropy"
    dtype, shape, c, index_shape = _class_input(fn, input)
    reduction = reduction_arg(fn, reduction, size_average, reduce)
    s = _label_smoothing(fn, label_smoothing)
    ignore_index = _ignore_index(fn, ignore_index)
    array = _target_array(fn, target, "integer class indices or float class probabilities")
    if array.shape == shape:  # PyTorch's rule: a target of the input's shape holds probabilities
        if array.dtype.kind != "f":
            raise TypeError(f"{fn}: a target of the input's shape {shape} holds class probabilities and must be "
                            f"floating point, got dtype {array.dtype}")
        if ignore_index >= 0:
            raise ValueError(f"{fn}: ignore_index is not supported for class-probability targets "
                             f"(got ignore_index={ignore_index})")
        if np.result_type(dtype, array.dtype) != dtype:  # float64 probabilities promote float32 logits, as in torch
            dtype = np.result_type(dtype, array.dtype)
            input = input.to(dtype)
        w = _class_weight(fn, weight, c, dtype, differentiable=True)
        y = target if is_tensor(target) else array.astype(dtype, copy=False)
        return SoftCrossEntropy.apply(input, y, *(() if w is None else (w,)), reduction=reduction, label_smoothing=s)
    t, any_ignored = _class_indices(fn, array, shape, c, index_shape, ignore_index,
                                    also=f" or float class probabilities (shape {shape})")
    w = _class_weight(fn, weight, c, dtype)
    if w is None and len(shape) == 2 and shape[0] and not any_ignored:
        return CrossEntropy.apply(input, target=t, reduction=reduction, label_smoothing=s)  # the fused hot path
    return CrossEntropyNd.apply(input, target=t, weight=w, ignore_index=ignore_index, reduction=reduction,
                                label_smoothing=s)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of log-probabilities, as ``torch.nn.functional.nll_loss``:
    -weight[t] * input[n, t, ...] per position.

    input (C,), (N, C) or (N, C, d1, ...); target class indices (), (N,) or (N, d1, ...), any
    integer dtype, entries equal to ``ignore_index`` skipped. The 'mean' divides by the kept
    targets' total weight; the weight gets no gradient. ``size_average`` / ``reduce`` must be None.
    """
    fn = "nll_loss"
    dtype, shape, c, index_shape = _class_input(fn, input)
    reduction = reduction_arg(fn, reduction, size_average, reduce)
    ignore_index = _ignore_index(fn, ignore_index)
    array = _target_array(fn, target, "integer class indices")
    t, _ = _class_indices(fn, array, shape, c, index_shape, ignore_index)
    w = _class_weight(fn, weight, c, dtype)
    return NllLoss.apply(input, target=t, weight=w, ignore_index=ignore_index, reduction=reduction)
