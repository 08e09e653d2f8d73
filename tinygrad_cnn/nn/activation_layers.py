"""Activation layers: PyTorch's class names, constructor arguments, defaults and reprs, each
calling its ``nn.functional`` function (which checks the input and holds the math).

``inplace=True`` is accepted where PyTorch has it, and the result is a new tensor (the input
is left as it was; see docs/from-pytorch.md). ``Softmax``, ``LogSoftmax`` and ``Softmin``
default to ``dim=None``, PyTorch's legacy implicit choice (dim 0 for 0-, 1- and 3-D inputs,
else 1) with its warning: pass ``dim`` explicitly.
"""
import warnings

from .._tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Softplus", "Hardswish",
           "Hardsigmoid", "Hardtanh", "Softsign", "LogSigmoid", "Tanhshrink", "Sigmoid", "Tanh", "Softmax",
           "LogSoftmax", "Softmin", "Softmax2d"]


def _check(x, layer):
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: expected a Tensor input, got {type(x).__name__}")
    return x


def _inplace_text(inplace, first=False):
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class _Activation(Module):
    """An activation without settings: ``forward`` is ``_fn(x)``."""

    def forward(self, x):
        return type(self)._fn(_check(x, type(self).__name__))


class _InplaceActivation(Module):
    """An activation whose only setting is ``inplace`` (accepted; the result is a new tensor)."""

    _show_inplace = True  # PyTorch's Hardswish and Hardsigmoid leave it out of their repr

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return type(self)._fn(_check(x, type(self).__name__))

    def extra_repr(self):
        return _inplace_text(self.inplace, first=True) if self._show_inplace else ""


class ReLU(_InplaceActivation):
    """max(x, 0)."""

    _fn = staticmethod(F.relu)


class SELU(_InplaceActivation):
    """scale * elu(x, alpha) with PyTorch's constants."""

    _fn = staticmethod(F.selu)


class SiLU(_InplaceActivation):
    """x * sigmoid(x)."""

    _fn = staticmethod(F.silu)


class Mish(_InplaceActivation):
    """x * tanh(softplus(x))."""

    _fn = staticmethod(F.mish)


class Hardswish(_InplaceActivation):
    """x * relu6(x + 3) / 6."""

    _fn, _show_inplace = staticmethod(F.hardswish), False


class Hardsigmoid(_InplaceActivation):
    """relu6(x + 3) / 6."""

    _fn, _show_inplace = staticmethod(F.hardsigmoid), False


class Sigmoid(_Activation):
    _fn = staticmethod(F.sigmoid)


class Tanh(_Activation):
    _fn = staticmethod(F.tanh)


class Softsign(_Activation):
    """x / (1 + |x|)."""

    _fn = staticmethod(F.softsign)


class LogSigmoid(_Activation):
    """log(sigmoid(x))."""

    _fn = staticmethod(F.logsigmoid)


class Tanhshrink(_Activation):
    """x - tanh(x)."""

    _fn = staticmethod(F.tanhshrink)


class Hardtanh(Module):
    """clip(x, min_val, max_val). ``min_value`` / ``max_value`` are PyTorch's deprecated spellings."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None, max_value=None):
        super().__init__()
        if min_value is not None:
            warnings.warn("keyword argument `min_value` is deprecated and rename to `min_val`", FutureWarning,
                          stacklevel=2)
            min_val = min_value
        if max_value is not None:
            warnings.warn("keyword argument `max_value` is deprecated and rename to `max_val`", FutureWarning,
                          stacklevel=2)
            max_val = max_value
        layer = type(self).__name__
        for name, value in (("min_val", min_val), ("max_val", max_val)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{layer}: {name} must be a number, got {value!r}")
        if not max_val > min_val:
            raise ValueError(f"{layer}: max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x):
        return F.hardtanh(_check(x, type(self).__name__), self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_text(self.inplace)}"


class ReLU6(Hardtanh):
    """min(max(x, 0), 6): Hardtanh(0, 6), as in PyTorch (a subclass of it)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def forward(self, x):
        return F.relu6(_check(x, "ReLU6"))

    def extra_repr(self):
        return _inplace_text(self.inplace, first=True)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x):
        return F.leaky_relu(_check(x, "LeakyReLU"), self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{_inplace_text(self.inplace)}"


class _AlphaActivation(Module):
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return type(self)._fn(_check(x, type(self).__name__), self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace_text(self.inplace)}"


class ELU(_AlphaActivation):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    _fn = staticmethod(F.elu)


class CELU(_AlphaActivation):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""

    _fn = staticmethod(F.celu)


class GELU(Module):
    """x * Phi(x) (``approximate='none'``) or its tanh approximation (``approximate='tanh'``)."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(_check(x, "GELU"), approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(_check(x, "Softplus"), self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class _SoftmaxBase(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return type(self)._fn(_check(x, type(self).__name__), self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    """softmax along ``dim`` (None: PyTorch's implicit choice, with a warning)."""

    _fn = staticmethod(F.softmax)


class LogSoftmax(_SoftmaxBase):
    """log(softmax(x)) along ``dim``, computed stably."""

    _fn = staticmethod(F.log_softmax)


class Softmin(_SoftmaxBase):
    """softmax(-x) along ``dim``."""

    _fn = staticmethod(F.softmin)


class Softmax2d(Module):
    """softmax over the channels of each position of a (N, C, H, W) or (C, H, W) input."""

    def forward(self, x):
        _check(x, "Softmax2d")
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected a 3-D or 4-D input, got shape {x.shape}")
        return F.softmax(x, -3)
