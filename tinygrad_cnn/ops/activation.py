"""PyTorch's activation functions (``torch.nn.functional`` names, arguments and defaults).

Each op is a `Function` with forward and backward side by side, and next to it the functional
that checks its arguments once and applies it. Gradients at the kinks follow PyTorch's backward
exactly (e.g. relu6 and hardtanh have gradient 0 on their bounds, leaky_relu has
``negative_slope`` at 0). Float inputs keep their dtype. ``inplace=True`` is accepted for
compatibility but returns a new tensor and leaves the input as it was (no in-place graph ops).

The smooth ones (gelu, silu, mish, softplus, logsigmoid, tanhshrink) live in activation_smooth.py
and are re-exported here, so ``from tinygrad_cnn.ops.activation import *`` gives all of them.
"""
import numpy as np

from ..function import Function
from ._checks import flag, real, tensor_input
from .activation_smooth import (  # noqa: F401 (the Functions are re-exported too)
    Gelu,
    LogSigmoid,
    Mish,
    Silu,
    Softplus,
    Tanhshrink,
    gelu,
    logsigmoid,
    mish,
    silu,
    softplus,
    tanhshrink,
)

__all__ = [
    "relu6", "hardtanh", "leaky_relu", "elu", "selu", "celu", "hardsigmoid", "hardswish", "softsign",
    "gelu", "silu", "mish", "softplus", "logsigmoid", "tanhshrink",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class Hardtanh(Function):
    """clip(x, min_val, max_val); gradient 1 strictly inside the bounds, 0 on and beyond them."""

    @staticmethod
    def forward(ctx, x, min_val=-1.0, max_val=1.0):
        ctx.save_for_backward(x)
        ctx.bounds = (min_val, max_val)
        if x.dtype.kind in "iu":  # PyTorch clamps integer tensors to the truncated bounds
            return np.clip(x, int(min_val), int(max_val)).astype(x.dtype, copy=False)
        return np.clip(x, min_val, max_val)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        low, high = ctx.bounds
        return grad * ((x > low) & (x < high))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``clip(input, min_val, max_val)``. Integer tensors are accepted (as in PyTorch), bool is not."""
    tensor_input("hardtanh", input, allow_int=True)
    min_val, max_val = real("hardtanh", "min_val", min_val), real("hardtanh", "max_val", max_val)
    flag("hardtanh", "inplace", inplace)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return Hardtanh.apply(input, min_val=min_val, max_val=max_val)


def relu6(input, inplace=False):
    """``min(max(input, 0), 6)``: hardtanh(input, 0, 6), with gradient 0 at 0 and at 6."""
    tensor_input("relu6", input, allow_int=True)
    flag("relu6", "inplace", inplace)
    return Hardtanh.apply(input, min_val=0.0, max_val=6.0)


class LeakyRelu(Function):
    """x if x > 0 else negative_slope * x; the gradient at 0 is negative_slope."""

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return np.where(x > 0, grad, grad * ctx.negative_slope)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``input if input > 0 else negative_slope * input``."""
    tensor_input("leaky_relu", input)
    negative_slope = real("leaky_relu", "negative_slope", negative_slope)
    flag("leaky_relu", "inplace", inplace)
    return LeakyRelu.apply(input, negative_slope=negative_slope)


class Elu(Function):
    """scale * x for x > 0, else scale * alpha * (exp(input_scale * x) - 1): elu, selu and celu.

    The gradient at 0 is the left one, scale * alpha * input_scale (PyTorch's ``x <= 0`` branch).
    """

    @staticmethod
    def forward(ctx, x, alpha=1.0, scale=1.0, input_scale=1.0):
        ctx.save_for_backward(x)
        ctx.coefficients = (alpha, scale, input_scale)
        with np.errstate(over="ignore"):  # only a negative alpha for celu can overflow, as in PyTorch
            negative = np.expm1(np.minimum(x, 0) * input_scale) * (alpha * scale)
        return np.where(x > 0, x * scale, negative)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        alpha, scale, input_scale = ctx.coefficients
        with np.errstate(over="ignore"):
            negative = np.exp(np.minimum(x, 0) * input_scale) * (alpha * scale * input_scale)
        return grad * np.where(x > 0, scale, negative)


class Celu(Elu):
    """Elu with input_scale = 1 / alpha (its own class only for PyTorch's grad_fn name)."""


def elu(input, alpha=1.0, inplace=False):
    """``input if input > 0 else alpha * (exp(input) - 1)``."""
    tensor_input("elu", input)
    alpha = real("elu", "alpha", alpha)
    flag("elu", "inplace", inplace)
    return Elu.apply(input, alpha=alpha)


def selu(input, inplace=False):
    """``scale * elu(input, alpha)`` with PyTorch's constants alpha = 1.6732632..., scale = 1.0507009...."""
    tensor_input("selu", input)
    flag("selu", "inplace", inplace)
    return Elu.apply(input, alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def celu(input, alpha=1.0, inplace=False):
    """``max(0, input) + min(0, alpha * (exp(input / alpha) - 1))``; alpha must not be 0."""
    tensor_input("celu", input)
    alpha = real("celu", "alpha", alpha)
    flag("celu", "inplace", inplace)
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0")
    return Celu.apply(input, alpha=alpha, input_scale=1.0 / alpha)


class Hardsigmoid(Function):
    """min(max(x + 3, 0), 6) / 6; gradient 1/6 strictly between -3 and 3, 0 elsewhere."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ((x > -3) & (x < 3)) / 6


def hardsigmoid(input, inplace=False):
    """``min(max(input + 3, 0), 6) / 6``."""
    tensor_input("hardsigmoid", input)
    flag("hardsigmoid", "inplace", inplace)
    return Hardsigmoid.apply(input)


class Hardswish(Function):
    """x * min(max(x + 3, 0), 6) / 6; gradient 0 for x <= -3, x / 3 + 1/2 below 3, 1 from 3 on."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * np.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        slope = np.where(x < 3, x / 3 + 0.5, 1)
        return grad * np.where(x <= -3, 0, slope)


def hardswish(input, inplace=False):
    """``input * min(max(input + 3, 0), 6) / 6``."""
    tensor_input("hardswish", input)
    flag("hardswish", "inplace", inplace)
    return Hardswish.apply(input)


class Softsign(Function):
    """x / (1 + |x|), gradient 1 / (1 + |x|)^2."""

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind != "f":  # PyTorch turns integer input into its default float dtype
            x = x.astype(np.float32)
        denominator = 1 + np.abs(x)
        ctx.save_for_backward(denominator)
        return x / denominator

    @staticmethod
    def backward(ctx, grad):
        (denominator,) = ctx.saved_tensors
        return grad / (denominator * denominator)


def softsign(input):
    """``input / (1 + |input|)``. Integer tensors give float32, as in PyTorch."""
    tensor_input("softsign", input, allow_int=True)
    return Softsign.apply(input)
