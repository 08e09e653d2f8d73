"""The smooth activations: gelu (with a float64-accurate erf), silu, mish, softplus, logsigmoid
and tanhshrink. Re-exported by activation.py, whose docstring gives the conventions."""
import math

import numpy as np

from ..function import Function
from ._checks import flag, real, tensor_input

__all__ = ["gelu", "silu", "mish", "softplus", "logsigmoid", "tanhshrink"]

# ----------------------------------------------------------------------------------- erf, erfc
# |x| < 1: erf(x) = x * sum_n c_n x^(2n), the Taylor series with c_n = 2/sqrt(pi) (-1)^n / (n! (2n+1));
# 20 terms leave < 1e-19. x >= 1: erfc(x) = exp(-x^2) / (x sqrt(pi)) * f(z) with z = (x - 3) / (x + 3),
# which maps [1, inf) onto [-1/2, 1); f (-> 1 as x -> inf) is smooth in z, and 25 Chebyshev
# coefficients (Chebyshev interpolation at 40 digits, done once offline with mpmath) give it to 1e-18.
# Measured against mpmath, erf and erfc have a relative error below 1e-15 down to the subnormals.
_TAYLOR = np.array([2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(20)])
_CHEBYSHEV = np.array([
    0.9341412626770402, 0.10357932038837163, -0.050975784747735835, 0.016702513786128928,
    -0.004126549727618003, 0.0007750957242057051, -0.00010334034222433621, 7.166233973174019e-06,
    4.801543322869795e-07, -1.7663248024652167e-07, 1.0456448342645866e-08, 2.456586095872082e-09,
    -4.104353207927421e-10, -2.7657718841811996e-11, 1.1137460114050129e-11, 2.1586231668728365e-13,
    -2.9693906126337777e-13, 5.553698303674915e-16, 8.426995612309627e-15, -4.356658337954387e-17,
    -2.5826619091499064e-16, -2.116128080080747e-18, 8.405107362138644e-18, 3.129880275673899e-19,
    -2.8949984257772304e-19,
])
# the same series in powers of u = (4 z - 1) / 3 in [-1, 1], for a Horner loop (well conditioned here)
_POWERS = np.polynomial.chebyshev.cheb2poly(_CHEBYSHEV)


def _horner(coefficients, u):
    out = np.full_like(u, coefficients[-1])
    for c in coefficients[-2::-1]:
        out *= u
        out += c
    return out


def _erf_small(x):
    """erf(x) for |x| < 1 (float64)."""
    return x * _horner(_TAYLOR, x * x)


def _erfc_large(x):
    """erfc(x) for x >= 1 (float64). exp(-x^2) is exp(-h^2) exp(-(x-h)(x+h)) with h = x rounded to
    float32, whose square is exact: exp(-x * x) would pass on the rounding error of x^2, x^2 * 1e-16."""
    z = (x - 3) / (x + 3)
    head = x.astype(np.float32).astype(np.float64)
    with np.errstate(under="ignore"):
        gauss = np.exp(-head * head) * np.exp(-(x - head) * (x + head))
    return gauss * _horner(_POWERS, (4 * z - 1) / 3) / (x * math.sqrt(math.pi))


def erfc(x):
    """The complementary error function 1 - erf(x), elementwise in float64, without cancellation for x > 0."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = np.abs(x) < 1
    out[small] = 1 - _erf_small(x[small])
    rest = x[~small]
    tail = _erfc_large(np.minimum(np.abs(rest), 30.0))  # erfc(30) is 0 in float64; this also covers inf
    out[~small] = np.where(rest > 0, tail, 2 - tail)  # erfc(-x) = 2 - erfc(x); NaN stays NaN
    return out


def erf(x):
    """The error function 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise in float64."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = np.abs(x) < 1
    out[small] = _erf_small(x[small])
    rest = x[~small]
    out[~small] = np.copysign(1 - _erfc_large(np.minimum(np.abs(rest), 30.0)), rest)
    return out


# ----------------------------------------------------------------------------------- gelu

_SQRT1_2 = 0.7071067811865476  # M_SQRT1_2: PyTorch scales x by this same double
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_TANH_BETA = math.sqrt(2 / math.pi)
_TANH_KAPPA = 0.044715


class Gelu(Function):
    """x * Phi(x) (Phi the standard normal CDF), or the tanh approximation
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Phi is 0.5 erfc(-x / sqrt 2), computed in
    float64 (and rounded back for float32), so it keeps full relative accuracy for very negative x."""

    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.approximate = approximate
        if approximate == "tanh":
            ctx.save_for_backward(x)
            inner = _TANH_BETA * (x + _TANH_KAPPA * x * x * x)
            return 0.5 * x * (1 + np.tanh(inner))
        x64 = x.astype(np.float64, copy=False)
        cdf = 0.5 * erfc(-x64 * _SQRT1_2)
        ctx.save_for_backward(x, cdf.astype(x.dtype, copy=False))
        return (x64 * cdf).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        if ctx.approximate == "tanh":  # d/dx of 0.5 x (1 + tanh(inner)), as PyTorch writes it
            (x,) = ctx.saved_tensors
            x_sq = x * x
            tanh_inner = np.tanh(_TANH_BETA * (x + _TANH_KAPPA * x_sq * x))
            right = 0.5 * x * (1 - tanh_inner * tanh_inner) * (_TANH_BETA * (1 + 3 * _TANH_KAPPA * x_sq))
            return grad * (0.5 * (1 + tanh_inner) + right)
        x, cdf = ctx.saved_tensors
        return grad * (cdf + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x))  # Phi + x phi


def gelu(input, approximate="none"):
    """``input * Phi(input)`` with Phi the standard normal CDF (``approximate='none'``, via erf),
    or its tanh approximation (``approximate='tanh'``)."""
    tensor_input("gelu", input)
    if not isinstance(approximate, str) or approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(input, approximate=approximate)


# ----------------------------------------------------------------------------------- sigmoid family


def stable_sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: exp only ever sees -|x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def stable_softplus(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), finite for any finite x."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class Silu(Function):
    """x * sigmoid(x); gradient sigmoid(x) (1 + x (1 - sigmoid(x)))."""

    @staticmethod
    def forward(ctx, x):
        s = stable_sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved_tensors
        return grad * s * (1 + x * (1 - s))


def silu(input, inplace=False):
    """``input * sigmoid(input)`` (swish). ``inplace=True`` returns a new tensor (see activation.py)."""
    tensor_input("silu", input)
    flag("silu", "inplace", inplace)
    return Silu.apply(input)


class Mish(Function):
    """x * tanh(softplus(x)); gradient tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2)."""

    @staticmethod
    def forward(ctx, x):
        t = np.tanh(stable_softplus(x))
        ctx.save_for_backward(x, t)
        return x * t

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        return grad * (t + x * stable_sigmoid(x) * (1 - t * t))


def mish(input, inplace=False):
    """``input * tanh(softplus(input))``. ``inplace=True`` returns a new tensor (see activation.py)."""
    tensor_input("mish", input)
    flag("mish", "inplace", inplace)
    return Mish.apply(input)


class Softplus(Function):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule); the
    gradient is sigmoid(beta x), and 1 on the linear part."""

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        z = x * beta
        linear = z > threshold
        ctx.save_for_backward(z, linear)
        with np.errstate(divide="ignore", invalid="ignore"):  # beta = 0 gives inf, as in PyTorch
            return np.where(linear, x, stable_softplus(z) / beta)

    @staticmethod
    def backward(ctx, grad):
        z, linear = ctx.saved_tensors
        return np.where(linear, grad, grad * stable_sigmoid(z))


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * input)) / beta``, linear (= input) where ``beta * input > threshold``."""
    tensor_input("softplus", input)
    beta, threshold = real("softplus", "beta", beta), real("softplus", "threshold", threshold)
    return Softplus.apply(input, beta=beta, threshold=threshold)


class LogSigmoid(Function):
    """log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|)); gradient sigmoid(-x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * stable_sigmoid(-x)


def logsigmoid(input):
    """``log(sigmoid(input))``, finite for any finite input."""
    tensor_input("logsigmoid", input)
    return LogSigmoid.apply(input)


class Tanhshrink(Function):
    """x - tanh(x); gradient tanh(x)^2."""

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind != "f":  # PyTorch turns integer input into its default float dtype
            x = x.astype(np.float32)
        t = np.tanh(x)
        ctx.save_for_backward(t)
        return x - t

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        return grad * t * t


def tanhshrink(input):
    """``input - tanh(input)``. Integer tensors give float32, as in PyTorch."""
    tensor_input("tanhshrink", input, allow_int=True)
    return Tanhshrink.apply(input)

