"""``import tinygrad_cnn.nn.functional as F``: the public entry of every op, as ``torch.nn.functional``.

PyTorch's names, argument names and defaults. Each function checks its arguments once, with an
error that names it, and calls the op's `Function`; the ``nn`` layers call these functions.
The activations and losses live beside their Functions in ``ops/activation.py`` and
``ops/loss.py``, ``pad`` in ``ops/pad.py``, adaptive pooling in ``ops/adaptive_pool.py``, ``embedding``
and ``one_hot`` in ``ops/embedding.py``; the rest is here.
"""
import numbers
import warnings

import numpy as np

from .._tensor import Tensor
from ..errors import ArgumentError, DtypeError
from ..ops import conv as _conv
from ..ops import linear as _linear
from ..ops import pool as _pool
from ..ops import pool_extra as _pool_extra
from ..ops.activation import *  # noqa: F401,F403
from ..ops.activation import __all__ as _activation_names
from ..ops.adaptive_pool import *  # noqa: F401,F403
from ..ops.adaptive_pool import __all__ as _adaptive_names
from ..ops.conv_transpose import *  # noqa: F401,F403
from ..ops.conv_transpose import __all__ as _conv_transpose_names
from ..ops.embedding import embedding, one_hot
from ..ops.interpolate import *  # noqa: F401,F403
from ..ops.interpolate import __all__ as _interpolate_names
from ..ops.loss import *  # noqa: F401,F403
from ..ops.loss import __all__ as _loss_names
from ..ops.norm import batch_norm2d as _batch_norm2d
from ..ops.norm_extra import *  # noqa: F401,F403
from ..ops.norm_extra import __all__ as _norm_names
from ..ops.pad import pad
from ..ops.unpool import *  # noqa: F401,F403
from ..ops.unpool import __all__ as _unpool_names
from ..rng import get_rng


def _tensor(x, op, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, got {type(x).__name__}")
    return x


# ----------------------------------------------------------------------------- activations kept on Tensor


def relu(input, inplace=False):
    """max(x, 0). ``inplace`` is accepted; the result is always a new tensor."""
    return _tensor(input, "relu").relu()


def sigmoid(input):
    """1 / (1 + exp(-x)), computed without overflow."""
    return _tensor(input, "sigmoid").sigmoid()


def tanh(input):
    """The hyperbolic tangent."""
    return _tensor(input, "tanh").tanh()


def _softmax_dim(input, dim, op):
    if dim is None:  # PyTorch's legacy choice, with its warning
        dim = 0 if input.ndim in (0, 1, 3) else 1
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X "
                      f"as an argument.", UserWarning, stacklevel=3)
    return dim


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``, computed stably; ``dim=None`` is PyTorch's implicit choice, with its
    warning."""
    return _tensor(input, "softmax").softmax(_softmax_dim(input, dim, "softmax"), dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log(softmax(x)) along ``dim``, computed stably (logits of 1e3 are fine)."""
    return _tensor(input, "log_softmax").log_softmax(_softmax_dim(input, dim, "log_softmax"), dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along ``dim``."""
    return softmax(-_tensor(input, "softmin"), _softmax_dim(input, dim, "softmin"), dtype=dtype)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p over dim, eps)."""
    return _tensor(input, "normalize") / input.norm(p, dim, keepdim=True).clamp(min=eps)


# ----------------------------------------------------------------------------- dropout


def _check_p(p, op):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p!r}")
    return float(p)


def _drop(input, p, mask_shape):
    """input * (mask / (1 - p)) with mask ~ Bernoulli(1 - p) of ``mask_shape``, from the library RNG."""
    if input.dtype.kind != "f":
        raise DtypeError(f"dropout: input must be floating point, got {input.dtype}")
    if p == 1:
        return input * 0.0
    # float32 uniforms are enough to compare against p and twice as fast to draw
    keep = get_rng().random(mask_shape, dtype=np.float32) >= np.float32(p)
    mask = keep.astype(input.dtype)
    mask *= 1.0 / (1.0 - p)
    return input * Tensor(mask)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p) ("inverted" dropout),
    in training only. ``inplace`` is accepted; the result is always a new tensor."""
    p = _check_p(p, "dropout")
    if not training or p == 0:
        return _tensor(input, "dropout")
    return _drop(_tensor(input, "dropout"), p, input.shape)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels: (N, C, H, W) or unbatched (C, H, W) input, as ``torch``'s dropout2d.
    A 3-D input is taken as (N, C, L) with a warning, as PyTorch does."""
    p = _check_p(p, "dropout2d")
    _tensor(input, "dropout2d")
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D or 4-D input, got shape {input.shape}")
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L)", UserWarning, stacklevel=2)
    if not training or p == 0:
        return input
    return _drop(input, p, input.shape[:2] + (1,) * (input.ndim - 2))


# ----------------------------------------------------------------------------- linear, conv, pooling


def linear(input, weight, bias=None):
    """x @ weight.T + bias, weight of shape (out_features, in_features)."""
    _tensor(input, "linear")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {input.shape} does not fit weight {tuple(weight.shape)}: "
                         f"its last dimension must be {weight.shape[1]} (in_features)")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    return _linear.Linear.apply(input, weight) if bias is None else _linear.Linear.apply(input, weight, bias)


def _batched(input, op, run):
    """Run a 4-D op on an unbatched (C, H, W) input too, as PyTorch does."""
    _tensor(input, op)
    if input.ndim == 3:
        out = run(input.unsqueeze(0))
        return tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)
    if input.ndim != 4:
        raise ArgumentError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {input.shape}")
    return run(input)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation; weight (out_channels, in_channels / groups, kh, kw); padding an int,
    a pair, 'valid' or 'same'."""
    if input.__class__ is Tensor and input.ndim == 4:  # the usual call: no unbatched case to handle
        return _conv.conv2d(input, weight, bias, stride, padding, dilation, groups)
    return _batched(input, "conv2d", lambda x: _conv.conv2d(x, weight, bias, stride, padding, dilation, groups))


def _pool_extras(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    """The checked geometry of a 4-D pooling (kernel, stride, padding, dilation, output size) and
    whether conv.py's tuned Function computes it: no dilation, the floor-mode output size (a
    ceil_mode that changes nothing stays fast) and a non-empty input. The rest goes to
    ops/pool_extra.py."""
    return _pool_extra.pool_plan(op, x.shape, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over kernel windows (dilated by ``dilation``); padding counts as -inf; ``ceil_mode``: torch's
    output size rule; ``return_indices``: also the int64 flat index into H*W of each maximum (the
    first in row-major window order, or the last NaN), for ``max_unpool2d``."""
    if not isinstance(return_indices, (bool, np.bool_)):
        raise TypeError(f"max_pool2d: return_indices must be True or False, got {return_indices!r}")

    def run(x):
        (kernel, step, pad, dil, _), fast = _pool_extras("max_pool2d", x, kernel_size, stride, padding, dilation,
                                                         ceil_mode)
        if fast and not return_indices:  # (the geometry is checked: straight to the Function)
            return _pool.MaxPool2d.apply(x, kernel=kernel, stride=step, padding=pad)
        return _pool_extra.max_pool2d_general(x, kernel, step, pad, dil, ceil_mode, return_indices)

    return _batched(input, "max_pool2d", run)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over kernel windows. Zero padding counts in the mean unless ``count_include_pad=False``;
    ``divisor_override`` replaces the window size as the divisor; ``ceil_mode``: torch's output
    size, and its divisors at the clipped last windows."""
    if divisor_override is not None and (not isinstance(divisor_override, numbers.Integral) or divisor_override <= 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a positive int, got {divisor_override!r}")
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"avg_pool2d: count_include_pad must be True or False, got {count_include_pad!r}")

    def run(x):
        (kernel, step, pad, _, _), fast = _pool_extras("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
        if not fast:
            return _pool_extra.avg_pool2d_general(x, kernel, step, pad, ceil_mode, count_include_pad,
                                                  divisor_override)
        out = _pool.avg_pool2d(x, kernel, step, pad)
        if divisor_override is not None:
            return out * (kernel[0] * kernel[1] / divisor_override)
        if not count_include_pad and pad != (0, 0):
            ones = Tensor(np.ones((1, 1) + x.shape[2:], dtype=x.dtype))
            return out / _pool.avg_pool2d(ones, kernel, step, pad)  # the share of real pixels
        return out

    return _batched(input, "avg_pool2d", run)


# ----------------------------------------------------------------------------- normalisation


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-05):
    """Normalise each channel of an (N, C), (N, C, L) or (N, C, H, W) input. Training (or no running
    statistics): with the batch mean and biased variance, and running statistics, if given, move
    by ``momentum`` towards the batch's (unbiased variance), in place. Otherwise: with the running ones."""
    _tensor(input, "batch_norm")
    if input.ndim not in (2, 3, 4):
        raise ValueError(f"batch_norm: expected a 2-D, 3-D or 4-D input (N, C, ...), got shape {input.shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"batch_norm: input must be floating point, got {input.dtype}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for {c} channels, got {tuple(t.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if momentum is None or isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
        raise TypeError(f"batch_norm: momentum must be a number, got {momentum!r}")
    use_batch = training or running_mean is None
    if use_batch and input.numel() // c <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                         f"{input.shape}")
    x4 = input if input.ndim == 4 else input.reshape(input.shape[0], c, -1, 1)
    out = _batch_norm2d(x4, weight, bias, running_mean, running_var, training=training, momentum=momentum, eps=eps)
    return out if input.ndim == 4 else out.reshape(*input.shape)


__all__ = (["relu", "sigmoid", "tanh", "softmax", "log_softmax", "softmin", "normalize", "dropout", "dropout2d",
            "linear", "conv2d", "max_pool2d", "avg_pool2d", "batch_norm"]
           + list(_activation_names) + list(_loss_names) + list(_adaptive_names) + ["pad", "one_hot", "embedding"]
           + list(_norm_names)
           + list(_unpool_names) + list(_conv_transpose_names) + list(_interpolate_names))
