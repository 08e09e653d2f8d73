"""Parameter initialisers with PyTorch's names and formulas (``torch.nn.init``).

Each function fills a Tensor's ``.data`` in place (an ndarray works too), keeps its dtype and
returns it. Every draw comes from :func:`tinygrad_cnn.rng.get_rng`, so ``manual_seed(n)`` makes
model construction reproducible. The same seed gives the same values (up to rounding) whatever
the parameter's dtype: the original initialisers draw in float64 and cast (kept, so that seeded
models, e.g. the shipped MNIST weights, reproduce), the newer ones (trunc_normal_, orthogonal_,
sparse_) draw float32 samples, which is faster, and compute in the tensor's dtype. As PyTorch's,
they are no-grad in-place writes (they bump the tensor's version counter).
"""
import math
import numbers
import warnings

import numpy as np

from .._tensor import Tensor
from ..rng import fill_normal, fill_uniform, get_rng

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "eye_", "dirac_", "trunc_normal_", "orthogonal_", "sparse_",
]

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def _array(tensor, fn):
    if isinstance(tensor, Tensor):
        return tensor._data
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"nn.init.{fn}: expected a Tensor or ndarray, got {type(tensor).__name__}")


def _random_target(tensor, fn, generator=None):
    """The array a random initialiser fills: floating point only (as PyTorch's kernels)."""
    if generator is not None:
        raise TypeError(f"nn.init.{fn}: generator= is not supported; seed the library generator with manual_seed")
    array = _array(tensor, fn)
    if array.dtype.kind != "f":
        raise RuntimeError(f"nn.init.{fn}: needs a floating-point tensor, got {array.dtype}")
    return array


def _fill(tensor, values):
    """Write values into the tensor's array in place, cast to its dtype."""
    if isinstance(tensor, Tensor):
        tensor._data[...] = values
        tensor._version[0] += 1
    else:
        tensor[...] = values
    return tensor


def _mark_written(tensor):
    """Count an in-place change of a Tensor's array (autograd's version check)."""
    if isinstance(tensor, Tensor):
        tensor._version[0] += 1
    return tensor


def _zero_elements(tensor, fn):
    if _array(tensor, fn).size == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance stable through ``nonlinearity``.

    ``param`` is leaky_relu's negative slope (default 0.01).
    """
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight laid out as (out, in, *kernel), as PyTorch counts them."""
    shape = _array(tensor, "fan").shape
    if len(shape) < 2:
        raise ValueError(
            f"nn.init: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions "
            f"(shape {shape})"
        )
    receptive_field = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive_field, shape[0] * receptive_field


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"nn.init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with samples from U(a, b)."""
    array = _random_target(tensor, "uniform_", generator)
    if a > b:
        raise RuntimeError(f"nn.init.uniform_: expects to return a [from, to) range, but found from={a} > to={b}")
    fill_uniform(array, a, b)
    return _mark_written(tensor)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with samples from N(mean, std^2)."""
    array = _random_target(tensor, "normal_", generator)
    if std < 0:
        raise RuntimeError(f"nn.init.normal_: expects std >= 0.0, but found std {std}")
    fill_normal(array, mean, std)
    return _mark_written(tensor)


def constant_(tensor, val):
    _array(tensor, "constant_")
    return _fill(tensor, val)


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std  # a uniform on [-b, b] has std b / sqrt(3)
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan); ``a`` is leaky_relu's negative slope.

    With ``a=sqrt(5)`` (PyTorch's default for Linear and Conv2d) b works out to 1/sqrt(fan_in).
    A tensor with no elements is left as it is (with PyTorch's warning).
    """
    if _zero_elements(tensor, "kaiming_uniform_"):
        return tensor
    fan = _fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He normal: N(0, std^2) with std = gain / sqrt(fan)."""
    if _zero_elements(tensor, "kaiming_normal_"):
        return tensor
    fan = _fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal of a non-square one)."""
    array = _array(tensor, "eye_")
    if array.ndim != 2:
        raise ValueError(f"nn.init.eye_: Only tensors with 2 dimensions are supported, got shape {array.shape}")
    return _fill(tensor, np.eye(*array.shape, dtype=array.dtype))


def dirac_(tensor, groups=1):
    """Fill a 3-, 4- or 5-D conv weight (out, in, *kernel) so the convolution is the identity:
    a one at the kernel centre of channel d -> d, within each of ``groups`` groups of outputs."""
    array = _array(tensor, "dirac_")
    if array.ndim not in (3, 4, 5):
        raise ValueError(f"nn.init.dirac_: Only tensors with 3, 4, or 5 dimensions are supported, got shape "
                         f"{array.shape}")
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"nn.init.dirac_: groups must be a positive integer, got {groups!r}")
    if array.shape[0] % groups != 0:
        raise ValueError(f"nn.init.dirac_: dim 0 must be divisible by groups (dim 0 is {array.shape[0]}, "
                         f"groups={groups})")
    per_group = array.shape[0] // groups
    diagonal = np.arange(min(per_group, array.shape[1]))
    outputs = (np.arange(groups)[:, None] * per_group + diagonal).ravel()
    centre = tuple(n // 2 for n in array.shape[2:])
    values = np.zeros(array.shape, dtype=array.dtype)
    values[(outputs, np.tile(diagonal, groups)) + centre] = 1
    return _fill(tensor, values)


# Acklam's rational approximation of the normal quantile (relative error below 1.2e-9)
_ACKLAM_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
             -3.066479806614716e+01, 2.506628277459239e+00)
_ACKLAM_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
             -1.328068155288572e+01, 1.0)
_ACKLAM_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
             4.374664141464968e+00, 2.938163982698783e+00)
_ACKLAM_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00, 1.0)


def _ndtri(p):
    """The standard normal quantile of each p in (0, 1), in p's dtype."""
    x = np.empty_like(p)
    low = p < 0.02425
    high = p > 1 - 0.02425
    mid = ~(low | high)
    q = p[mid] - 0.5
    r = q * q
    x[mid] = q * np.polyval(_ACKLAM_A, r) / np.polyval(_ACKLAM_B, r)
    for mask, tail in ((low, p[low]), (high, 1 - p[high])):
        t = np.sqrt(-2 * np.log(tail))
        value = np.polyval(_ACKLAM_C, t) / np.polyval(_ACKLAM_D, t)
        x[mask] = value if mask is low else -value
    return x


def _norm_cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) samples truncated to [a, b] (a and b are values, not multiples of std).

    Inverse-CDF sampling, one float32 uniform per element; the interval is mirrored to the
    lower tail first, where the CDF is accurate, so narrow far-out intervals work too.
    """
    array = _random_target(tensor, "trunc_normal_", generator)
    if not std >= 0:
        raise RuntimeError(f"nn.init.trunc_normal_: expects std >= 0.0, but found std {std}")
    if not a <= b:
        raise ValueError(f"nn.init.trunc_normal_: expects a <= b, but found a={a} > b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    u = get_rng().random(array.shape, dtype=np.float32).astype(array.dtype, copy=False)
    if std == 0:
        return _fill(tensor, min(max(mean, a), b))
    lo, hi = (a - mean) / std, (b - mean) / std
    flip = lo + hi > 0
    if flip:
        lo, hi = -hi, -lo
    cdf_lo, cdf_hi = _norm_cdf(lo), _norm_cdf(hi)
    p = np.clip(cdf_lo + (cdf_hi - cdf_lo) * u, np.finfo(array.dtype).tiny, None)
    z = _ndtri(p)
    values = mean + std * (-z if flip else z)
    return _fill(tensor, np.clip(values, a, b, out=values))


def orthogonal_(tensor, gain=1, generator=None):
    """Fill with a (semi-)orthogonal matrix times ``gain``: the Q of the QR decomposition of a
    normal sample, with the signs that make it uniformly distributed. Dims after the first are
    flattened, so a conv weight has orthonormal rows (or columns, when it has fewer rows)."""
    array = _random_target(tensor, "orthogonal_", generator)
    if array.ndim < 2:
        raise ValueError(f"nn.init.orthogonal_: Only tensors with 2 or more dimensions are supported, got shape "
                         f"{array.shape}")
    if array.size == 0:
        return tensor
    rows = array.shape[0]
    cols = array.size // rows
    flat = get_rng().standard_normal((rows, cols), dtype=np.float32).astype(array.dtype, copy=False)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diagonal(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(array.shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-D tensor with N(0, std^2) samples, then zero ceil(sparsity * rows) random rows of
    each column (a separate random choice per column)."""
    array = _random_target(tensor, "sparse_", generator)
    if array.ndim != 2:
        raise ValueError(f"nn.init.sparse_: Only tensors with 2 dimensions are supported, got shape {array.shape}")
    if not 0 <= sparsity <= 1:
        raise ValueError(f"nn.init.sparse_: sparsity must be in [0, 1], got {sparsity}")
    rows, cols = array.shape
    rng = get_rng()
    values = rng.standard_normal((rows, cols), dtype=np.float32).astype(array.dtype, copy=False) * std
    num_zeros = int(math.ceil(sparsity * rows))
    if num_zeros and cols:
        order = rng.permuted(np.broadcast_to(np.arange(rows)[:, None], (rows, cols)), axis=0)
        values[order[:num_zeros], np.arange(cols)] = 0
    return _fill(tensor, values)
