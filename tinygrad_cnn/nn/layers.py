"""Layers with PyTorch's constructor arguments, default initialisation, key names and reprs.

Each layer only checks its arguments and calls Tensor ops (``conv2d``, ``max_pool2d``,
``cross_entropy``...) or, for BatchNorm, the fused op in ``ops/norm.py``; gradients come from
those ops. Shape checks happen here so that the error names the layer and its configuration.
"""
import math

import numpy as np

from .._memory import check_memory
from .._tensor import Tensor
from ..ops._checks import int_pair, is_int, pool_window
from . import functional as F
from . import init

# moved to their own files; importable from here as before
from .activation_layers import LogSoftmax, ReLU, Sigmoid, Softmax, Tanh  # noqa: F401,E402
from .loss_layers import CrossEntropyLoss  # noqa: F401
from .module import Module
from .norm_layers import BatchNorm2d, Dropout  # noqa: F401
from .parameter import empty_parameter

__all__ = [
    "Identity", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "Sigmoid", "Tanh", "Flatten",
    "Dropout", "BatchNorm2d", "Softmax", "LogSoftmax", "CrossEntropyLoss",
]


def _positive_int(value, name, layer):
    if not is_int(value):
        raise TypeError(f"{layer}: {name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _check_param_size(shape, layer):
    """ValueError instead of an allocation that cannot succeed (or an OOM kill) for absurd sizes."""
    check_memory(layer, 4 * math.prod(shape), f"a weight of shape {tuple(shape)}")


def _check_tensor(x, layer):
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: expected a Tensor input, got {type(x).__name__}")


def reset_like_pytorch(weight, bias):
    """PyTorch's default init of Linear and conv layers: weight kaiming_uniform_(a=sqrt(5)), that
    is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias uniform on the same bound."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to switch a layer off)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x @ weight.T + bias with weight of shape (out_features, in_features).

    Default init as PyTorch: weight ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_ with a=sqrt(5))
    and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        _check_param_size((self.out_features, self.in_features), "Linear")
        self.weight = empty_parameter((self.out_features, self.in_features))
        if bias:
            self.bias = empty_parameter(self.out_features)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_like_pytorch(self.weight, self.bias)

    def forward(self, x):
        _check_tensor(x, "Linear")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear: expected input with last dimension {self.in_features} (in_features), got shape {x.shape}"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """2-D convolution (cross-correlation, as PyTorch) over (N, C, H, W) inputs.

    weight has shape (out_channels, in_channels // groups, kh, kw); default init as PyTorch's
    (uniform with bound 1/sqrt(fan_in) for both weight and bias). padding_mode 'reflect',
    'replicate' or 'circular': F.pad with that mode, then a convolution without padding (as torch).
    """

    _PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = _positive_int(out_channels, "out_channels", "Conv2d")
        self.groups = _positive_int(groups, "groups", "Conv2d")
        if self.in_channels % self.groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if self.out_channels % self.groups:
            raise ValueError(f"Conv2d: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in self._PADDING_MODES:
            modes = ", ".join(map(repr, self._PADDING_MODES))
            raise ValueError(f"Conv2d: padding_mode must be one of {modes}, but got padding_mode={padding_mode!r}")
        self.padding_mode = padding_mode
        self.kernel_size = int_pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = int_pair(stride, "stride", "Conv2d", 1)
        self.dilation = int_pair(dilation, "dilation", "Conv2d", 1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Conv2d: padding string must be 'valid' or 'same', got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided convolutions")
            self.padding = padding  # 'same' pads like PyTorch: any odd extra goes to the bottom/right
        else:
            self.padding = int_pair(padding, "padding", "Conv2d", 0)
        # F.pad's (left, right, top, bottom) for the non-zero padding modes, named as torch names it
        self._reversed_padding_repeated_twice = self._pads_for_mode(self.padding, self.kernel_size, self.dilation)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        _check_param_size(shape, "Conv2d")
        self.weight = empty_parameter(shape)
        if bias:
            self.bias = empty_parameter(self.out_channels)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    @staticmethod
    def _pads_for_mode(padding, kernel_size, dilation):
        """(left, right, top, bottom) for F.pad; 'same' splits d*(k-1), the odd one at the end."""
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            totals = [d * (k - 1) for d, k in zip(dilation, kernel_size)]
            return (totals[1] // 2, totals[1] - totals[1] // 2, totals[0] // 2, totals[0] - totals[0] // 2)
        return (padding[1], padding[1], padding[0], padding[0])

    def reset_parameters(self):
        reset_like_pytorch(self.weight, self.bias)

    def forward(self, x):
        _check_tensor(x, "Conv2d")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2d: expected a 4-D input (N, {self.in_channels}, H, W) for in_channels={self.in_channels}, "
                f"got shape {x.shape}"
            )
        if self.padding_mode != "zeros":  # as torch: pad with that mode, then a convolution without padding
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if isinstance(self.padding, str) or self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


def _pool_args(kernel_size, stride, padding, layer):
    """Validate pooling arguments; keep them as given (int or pair) so the repr matches PyTorch."""
    pool_window(kernel_size, stride, padding, layer)
    return kernel_size, kernel_size if stride is None else stride, padding


class MaxPool2d(Module):
    """Max over kernel_size windows (dilated by ``dilation``) moved by stride (default: kernel_size);
    padding counts as -inf; ``ceil_mode``: torch's output size rule; ``return_indices``: forward
    returns (values, int64 indices into H*W) as for ``MaxUnpool2d``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = _pool_args(kernel_size, stride, padding, "MaxPool2d")
        int_pair(dilation, "dilation", "MaxPool2d", 1)
        for name, flag in (("return_indices", return_indices), ("ceil_mode", ceil_mode)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"MaxPool2d: {name} must be True or False, got {flag!r}")
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x):
        _check_tensor(x, "MaxPool2d")
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over kernel_size windows moved by stride (default: kernel_size); zero padding counts in
    the mean unless ``count_include_pad=False``; ``divisor_override`` replaces the divisor;
    ``ceil_mode``: torch's output size and divisors at the clipped last windows."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = _pool_args(kernel_size, stride, padding, "AvgPool2d")
        for name, flag in (("ceil_mode", ceil_mode), ("count_include_pad", count_include_pad)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"AvgPool2d: {name} must be True or False, got {flag!r}")
        if divisor_override is not None:
            _positive_int(divisor_override, "divisor_override", "AvgPool2d")
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, x):
        _check_tensor(x, "AvgPool2d")
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Flatten(Module):
    """Merge dimensions start_dim..end_dim into one (by default everything but the batch)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        _check_tensor(x, "Flatten")
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
