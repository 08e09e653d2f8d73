"""The pointwise losses: mse_loss, l1_loss, smooth_l1_loss, huber_loss, binary_cross_entropy,
binary_cross_entropy_with_logits and kl_div, with PyTorch's signatures and semantics.

The input is a float Tensor and fixes the result's dtype (a float64 target meets a float32 input
in float32, where PyTorch would promote). The target may be a Tensor, which then gets a gradient
as in PyTorch, or an array. mse/l1/smooth_l1/huber broadcast input against target with
PyTorch's UserWarning when the shapes differ, kl_div broadcasts silently (as PyTorch), and the
binary cross-entropies require equal shapes (as PyTorch). Re-exported by loss.py.
"""
import warnings

import numpy as np

from ..function import Function
from ._checks import as_array, flag, float_operand, no_grad_needed, real, reduction_arg, tensor_input
from .activation_smooth import stable_sigmoid, stable_softplus

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div"]


def _reduce(losses, reduction, denominator):
    """'none': the losses; 'sum': their sum; 'mean': the sum / denominator (an empty mean is nan)."""
    if reduction == "none":
        return losses
    total = np.asarray(losses.sum(), dtype=losses.dtype)
    if reduction == "sum":
        return total
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(total / denominator, dtype=losses.dtype)


def _upstream(grad, reduction, denominator):
    """d(loss)/d(each elementwise loss), times the upstream gradient."""
    if reduction != "mean":
        return grad
    with np.errstate(divide="ignore", invalid="ignore"):
        return grad / denominator


# ----------------------------------------------------------------------------------- losses of d = input - target


def _difference_forward(ctx, x, y, weight, reduction, value, mean_over_weights=True):
    """Forward of a loss ``value(d)`` of d = x - y, times an optional weight of the input's shape.
    A weighted 'mean' divides by the weights' sum (mse, l1) or by the count (huber), as PyTorch."""
    d = x - y.astype(x.dtype, copy=False)
    losses = value(d)
    w = None if weight is None else weight.astype(x.dtype, copy=False)
    weighted = losses if w is None else losses * w
    by_weights = w is not None and mean_over_weights
    ctx.save_for_backward(d, losses, w)
    ctx.reduction, ctx.denominator = reduction, (w.sum() if by_weights else weighted.size)
    out = _reduce(weighted, reduction, ctx.denominator)
    ctx.mean = out if by_weights and reduction == "mean" else None
    return out


def _difference_backward(ctx, grad, slope):
    """Gradients for input, target and weight, ``slope(d)`` being d(value)/dd."""
    d, losses, w = ctx.saved_tensors
    up = _upstream(grad, ctx.reduction, ctx.denominator)
    g = slope(d) * (up if w is None else up * w)
    grads = (g if ctx.needs_input_grad[0] else None, -g if ctx.needs_input_grad[1] else None)
    if w is None:
        return grads
    gw = None
    if ctx.needs_input_grad[2]:  # sum(w l) / sum(w) moves with w through its denominator too
        gw = (losses if ctx.mean is None else losses - ctx.mean) * up
    return grads + (gw,)


class MseLoss(Function):
    """(input - target)^2."""

    @staticmethod
    def forward(ctx, x, y, weight=None, reduction="mean"):
        return _difference_forward(ctx, x, y, weight, reduction, lambda d: d * d)

    @staticmethod
    def backward(ctx, grad):
        return _difference_backward(ctx, grad, lambda d: 2 * d)


class L1Loss(Function):
    """|input - target|; the gradient at 0 is 0 (sign)."""

    @staticmethod
    def forward(ctx, x, y, weight=None, reduction="mean"):
        return _difference_forward(ctx, x, y, weight, reduction, np.abs)

    @staticmethod
    def backward(ctx, grad):
        return _difference_backward(ctx, grad, np.sign)


class SmoothL1Loss(Function):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta > 0); gradient clip(d / beta, -1, 1)."""

    @staticmethod
    def forward(ctx, x, y, reduction="mean", beta=1.0):
        ctx.beta = beta
        def value(d):
            return np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta)

        return _difference_forward(ctx, x, y, None, reduction, value)

    @staticmethod
    def backward(ctx, grad):
        return _difference_backward(ctx, grad, lambda d: np.clip(d / ctx.beta, -1, 1))


class HuberLoss(Function):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); gradient clip(d, -delta, delta)."""

    @staticmethod
    def forward(ctx, x, y, weight=None, reduction="mean", delta=1.0):
        ctx.delta = delta
        def value(d):
            return np.where(np.abs(d) < delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))

        return _difference_forward(ctx, x, y, weight, reduction, value, mean_over_weights=False)

    @staticmethod
    def backward(ctx, grad):
        return _difference_backward(ctx, grad, lambda d: np.clip(d, -ctx.delta, ctx.delta))


# ----------------------------------------------------------------------------------- probabilities


class BinaryCrossEntropy(Function):
    """-w (y log x + (1 - y) log(1 - x)), each log clamped to >= -100 (PyTorch's rule), so x = 0 or 1
    give finite losses; the input gradient w (x - y) / max(x (1 - x), 1e-12) is finite there too."""

    @staticmethod
    def forward(ctx, x, y, weight=None, reduction="mean"):
        y = y.astype(x.dtype, copy=False)
        with np.errstate(divide="ignore"):
            log_x, log_1mx = np.maximum(np.log(x), -100), np.maximum(np.log1p(-x), -100)
        losses = (y - 1) * log_1mx - y * log_x
        if weight is not None:
            losses = losses * weight
        ctx.save_for_backward(x, y, weight)
        ctx.reduction = reduction
        return _reduce(losses, reduction, losses.size)

    @staticmethod
    def backward(ctx, grad):
        x, y, weight = ctx.saved_tensors
        up = _upstream(grad, ctx.reduction, x.size)
        if weight is not None:
            up = up * weight
        gx = (x - y) / np.maximum(x * (1 - x), 1e-12) * up if ctx.needs_input_grad[0] else None
        gy = None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                gy = -np.log(x / (1 - x)) * up  # -logit(x), unclamped as in PyTorch
        return gx, gy


class BinaryCrossEntropyWithLogits(Function):
    """BCE of sigmoid(x) without ever forming it: w ((1 - y) x + l softplus(-x)) with
    l = 1 + (pos_weight - 1) y; softplus is the stable max(-x, 0) + log1p(exp(-|x|))."""

    @staticmethod
    def forward(ctx, x, y, weight=None, pos_weight=None, reduction="mean"):
        y = y.astype(x.dtype, copy=False)
        sp = stable_softplus(-x)
        log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
        losses = (1 - y) * x + log_weight * sp
        if weight is not None:
            losses = losses * weight
        ctx.save_for_backward(x, y, sp, weight, pos_weight)
        ctx.reduction = reduction
        return _reduce(losses, reduction, losses.size)

    @staticmethod
    def backward(ctx, grad):
        x, y, sp, weight, pos_weight = ctx.saved_tensors
        up = _upstream(grad, ctx.reduction, x.size)
        if weight is not None:
            up = up * weight
        gx = gy = None
        if ctx.needs_input_grad[0]:
            s = stable_sigmoid(x)
            gx = (s - y if pos_weight is None else (1 + (pos_weight - 1) * y) * s - pos_weight * y) * up
        if ctx.needs_input_grad[1]:
            gy = (-x if pos_weight is None else (pos_weight - 1) * sp - x) * up
        return gx, gy


class KlDiv(Function):
    """target (log target - input), 0 where target = 0; or exp(target) (target - input) with
    log_target. 'batchmean' divides the sum by the batch size input.shape[0]."""

    @staticmethod
    def forward(ctx, x, y, reduction="mean", log_target=False):
        y = y.astype(x.dtype, copy=False)
        if log_target:
            losses = np.exp(y) * (y - x)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                losses = np.where(y == 0, 0, y * np.log(y)) - y * x
        ctx.save_for_backward(x, y)
        ctx.log_target = log_target
        ctx.reduction = "mean" if reduction == "batchmean" else reduction
        ctx.denominator = (x.shape[0] if x.ndim else 1) if reduction == "batchmean" else losses.size
        return _reduce(losses, ctx.reduction, ctx.denominator)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        up = _upstream(grad, ctx.reduction, ctx.denominator)
        gx = gy = None
        if ctx.log_target:
            e = np.exp(y)
            gx = -e * up if ctx.needs_input_grad[0] else None
            gy = e * (y + 1 - x) * up if ctx.needs_input_grad[1] else None
        else:
            gx = -y * up if ctx.needs_input_grad[0] else None
            if ctx.needs_input_grad[1]:  # nan at target 0, where PyTorch's xlogy(t, t) backward gives 0 / 0
                with np.errstate(divide="ignore", invalid="ignore"):
                    gy = np.where(y == 0, np.nan, np.log(y) + 1 - x) * up
        return gx, gy


# ----------------------------------------------------------------------------------- functionals


def _input_and_target(fn, input, target, broadcast="warn", float_target=False):
    """The input's dtype and the target operand (a Tensor as is, else an ndarray of that dtype).
    ``broadcast``: 'warn' (PyTorch's UserWarning when the shapes differ), 'silent', or 'no'."""
    dtype = tensor_input(fn, input)
    operand, array = float_operand(fn, "target", target, dtype)
    if float_target and array.dtype.kind != "f":
        raise TypeError(f"{fn}: target must be floating point, got dtype {array.dtype}")
    shape = tuple(input.shape)
    if array.shape != shape:
        if broadcast == "no":
            raise ValueError(f"{fn}: target shape {array.shape} must be the same as input shape {shape}")
        try:
            np.broadcast_shapes(shape, array.shape)
        except ValueError:
            raise ValueError(f"{fn}: target shape {array.shape} does not broadcast with input shape {shape}") from None
        if broadcast == "warn":
            warnings.warn(f"{fn}: using a target size {array.shape} that is different to the input size {shape}; "
                          f"this will likely lead to incorrect results due to broadcasting. Please ensure they "
                          f"have the same size.", UserWarning, stacklevel=3)
    return dtype, operand


def _same_shape_weight(fn, weight, shape, dtype):
    """() or (weight,): a weight of the input's shape, which gets a gradient (PyTorch's composite)."""
    if weight is None:
        return ()
    operand, array = float_operand(fn, "weight", weight, dtype)
    if array.shape != shape:
        raise ValueError(f"{fn}: weight must have the input's shape {shape}, got {array.shape}")
    return (operand,)


def _broadcast_weight(fn, name, weight, shape, dtype):
    """None, or a weight broadcastable to the input's shape as an ndarray (PyTorch gives it no gradient)."""
    if weight is None:
        return None
    no_grad_needed(fn, name, weight)
    _, array = float_operand(fn, name, weight, dtype)
    try:
        fits = np.broadcast_shapes(array.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{fn}: {name} of shape {array.shape} does not broadcast to the input's shape {shape}")
    return array.astype(dtype, copy=False)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """``(input - target)^2``, reduced. With ``weight`` (the input's shape) each term is weighted and
    the 'mean' divides by ``weight.sum()``; the weight gets a gradient."""
    reduction = reduction_arg("mse_loss", reduction, size_average, reduce)
    dtype, target = _input_and_target("mse_loss", input, target)
    weight = _same_shape_weight("mse_loss", weight, tuple(input.shape), dtype)
    return MseLoss.apply(input, target, *weight, reduction=reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """``|input - target|``, reduced; ``weight`` as in `mse_loss`."""
    reduction = reduction_arg("l1_loss", reduction, size_average, reduce)
    dtype, target = _input_and_target("l1_loss", input, target)
    weight = _same_shape_weight("l1_loss", weight, tuple(input.shape), dtype)
    return L1Loss.apply(input, target, *weight, reduction=reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (d = input - target);
    ``beta = 0`` is l1_loss (as in PyTorch), a negative beta is an error."""
    reduction = reduction_arg("smooth_l1_loss", reduction, size_average, reduce)
    beta = real("smooth_l1_loss", "beta", beta)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    _, target = _input_and_target("smooth_l1_loss", input, target)
    if beta == 0:
        return L1Loss.apply(input, target, reduction=reduction)
    return SmoothL1Loss.apply(input, target, reduction=reduction, beta=beta)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``; delta must be positive.
    With ``weight`` (the input's shape) the 'mean' is the plain mean of the weighted terms (PyTorch's
    rule for huber_loss, unlike mse_loss), and the weight gets a gradient."""
    reduction = reduction_arg("huber_loss", reduction)
    delta = real("huber_loss", "delta", delta)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    dtype, target = _input_and_target("huber_loss", input, target)
    weight = _same_shape_weight("huber_loss", weight, tuple(input.shape), dtype)
    return HuberLoss.apply(input, target, *weight, reduction=reduction, delta=delta)


def _check_unit_interval(fn, name, array):
    outside = ~((array >= 0) & (array <= 1))  # NaN is outside too
    if outside.any():
        raise ValueError(f"{fn}: all elements of {name} should be between 0 and 1, found {array[outside].flat[0]}")


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """``-weight (target log(input) + (1 - target) log(1 - input))`` with each log clamped to >= -100.
    input and target must have the same shape and lie in [0, 1]; ``weight`` broadcasts to the input
    and gets no gradient (as in PyTorch)."""
    fn = "binary_cross_entropy"
    reduction = reduction_arg(fn, reduction, size_average, reduce)
    dtype, target = _input_and_target(fn, input, target, broadcast="no", float_target=True)
    _check_unit_interval(fn, "input", input.numpy())
    _check_unit_interval(fn, "target", as_array(fn, "target", target))
    weight = _broadcast_weight(fn, "weight", weight, tuple(input.shape), dtype)
    return BinaryCrossEntropy.apply(input, target, weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """``binary_cross_entropy(sigmoid(input), target)`` computed stably from the logits, with
    ``pos_weight`` weighing the positive term (broadcast along the last axis, e.g. (C,)). input and
    target must have the same shape; ``weight`` and ``pos_weight`` broadcast to it and get no gradient."""
    fn = "binary_cross_entropy_with_logits"
    reduction = reduction_arg(fn, reduction, size_average, reduce)
    dtype, target = _input_and_target(fn, input, target, broadcast="no", float_target=True)
    shape = tuple(input.shape)
    weight = _broadcast_weight(fn, "weight", weight, shape, dtype)
    pos_weight = _broadcast_weight(fn, "pos_weight", pos_weight, shape, dtype)
    return BinaryCrossEntropyWithLogits.apply(input, target, weight=weight, pos_weight=pos_weight, reduction=reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise KL divergence ``target (log target - input)`` of log-probabilities ``input``
    (``target`` holds probabilities, or log-probabilities with ``log_target=True``).

    'mean' (PyTorch's default) averages over every element; 'batchmean' divides the sum by the batch
    size input.shape[0] and is the true KL divergence. (PyTorch also warns on 'mean'; this does not.)
    """
    fn = "kl_div"
    reduction = reduction_arg(fn, reduction, size_average, reduce, allowed=("mean", "batchmean", "sum", "none"))
    log_target = flag(fn, "log_target", log_target)
    _, target = _input_and_target(fn, input, target, broadcast="silent", float_target=True)
    return KlDiv.apply(input, target, reduction=reduction, log_target=log_target)
