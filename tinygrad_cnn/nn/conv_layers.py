"""More conv-net layers with PyTorch's constructor arguments, parameter names, init and reprs:
the transposed convolution, max unpooling, upsampling, padding and adaptive pooling.

Each only checks its arguments and calls the ``nn.functional`` op (ops/conv_transpose.py,
ops/pool_extra.py, ops/interpolate.py, ops/pool.py), which computes the gradients.
"""
import numbers

from ..ops._checks import int_pair, is_int
from ..ops.conv_transpose import _output_padding
from . import functional as F
from .layers import _check_param_size, _check_tensor, _positive_int, reset_like_pytorch
from .module import Module
from .parameter import empty_parameter

__all__ = [
    "ConvTranspose2d", "MaxUnpool2d", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "ZeroPad2d",
    "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d", "CircularPad2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
]


class ConvTranspose2d(Module):
    """The transposed 2-D convolution (the gradient of a conv with respect to its input) over
    (N, C, H, W) or (C, H, W) inputs; weight (in_channels, out_channels // groups, kh, kw).

    Default init as torch's: kaiming_uniform_(a=sqrt(5)) and a bias ~ U(-1/sqrt(fan_in), ...), the
    fan_in computed from the weight as laid out, i.e. out_channels // groups * kh * kw.
    ``forward(input, output_size=None)``: output_size picks the output_padding that gives it.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros"):
        super().__init__()
        layer = "ConvTranspose2d"
        self.in_channels = _positive_int(in_channels, "in_channels", layer)
        self.out_channels = _positive_int(out_channels, "out_channels", layer)
        self.groups = _positive_int(groups, "groups", layer)
        if self.in_channels % self.groups:
            raise ValueError(f"{layer}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if self.out_channels % self.groups:
            raise ValueError(f"{layer}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f'{layer}: only "zeros" padding mode is supported, got padding_mode={padding_mode!r}')
        self.padding_mode = padding_mode
        self.kernel_size = int_pair(kernel_size, "kernel_size", layer, 1)
        self.stride = int_pair(stride, "stride", layer, 1)
        self.padding = int_pair(padding, "padding", layer, 0)
        self.output_padding = int_pair(output_padding, "output_padding", layer, 0)
        self.dilation = int_pair(dilation, "dilation", layer, 1)
        self.transposed = True
        shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        _check_param_size(shape, layer)
        self.weight = empty_parameter(shape)
        if bias:
            self.bias = empty_parameter(self.out_channels)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_like_pytorch(self.weight, self.bias)

    def forward(self, input, output_size=None):
        _check_tensor(input, "ConvTranspose2d")
        output_padding = self.output_padding
        if output_size is not None:
            if not isinstance(output_size, (tuple, list)) or not all(is_int(s) for s in output_size):
                raise TypeError(f"ConvTranspose2d: output_size must be a sequence of ints, got {output_size!r}")
            output_padding = _output_padding(input.shape, output_size, self.stride, self.padding, self.kernel_size,
                                             self.dilation)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class MaxUnpool2d(Module):
    """The partial inverse of ``MaxPool2d(return_indices=True)``: ``forward(input, indices,
    output_size=None)`` puts each value at its index, zeros elsewhere."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = int_pair(kernel_size, "kernel_size", "MaxUnpool2d", 1)
        self.stride = int_pair(kernel_size if stride is None else stride, "stride", "MaxUnpool2d", 1)
        self.padding = int_pair(padding, "padding", "MaxUnpool2d", 0)

    def forward(self, input, indices, output_size=None):
        _check_tensor(input, "MaxUnpool2d")
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Upsample(Module):
    """``F.interpolate`` as a layer: modes 'nearest', 'nearest-exact', 'area', 'linear' (3-D input)
    and 'bilinear' (4-D); the scale factor is kept as a float (or a tuple of floats), as torch."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        elif scale_factor is not None and not isinstance(scale_factor, numbers.Real):
            raise TypeError(f"{self.name}: scale_factor must be a number or a tuple of numbers, got {scale_factor!r}")
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners, self.recompute_scale_factor = mode, align_corners, recompute_scale_factor

    def forward(self, input):
        _check_tensor(input, self.name)
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode='nearest')`` for 4-D inputs."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode='bilinear', align_corners=True)`` for 4-D inputs."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


def _quadruple(padding, layer):
    """An int or 4 ints (left, right, top, bottom) as a 4-tuple."""
    pads = (padding,) * 4 if is_int(padding) else tuple(padding) if isinstance(padding, (tuple, list)) else None
    if pads is None or not all(is_int(p) for p in pads):
        raise TypeError(f"{layer}: padding must be an int or 4 ints (left, right, top, bottom), got {padding!r}")
    if len(pads) != 4:
        raise ValueError(f"{layer}: padding must be an int or 4 ints (left, right, top, bottom), got {padding!r}")
    return tuple(int(p) for p in pads)


class ConstantPad2d(Module):
    """Pad the last two dimensions with ``value`` (negative pads crop): F.pad(mode='constant')."""

    def __init__(self, padding, value):
        super().__init__()
        self.padding = _quadruple(padding, type(self).__name__)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{type(self).__name__}: value must be a number, got {value!r}")
        self.value = value

    def forward(self, input):
        _check_tensor(input, type(self).__name__)
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dimensions with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class _ModePad2d(Module):
    mode = None

    def __init__(self, padding):
        super().__init__()
        self.padding = _quadruple(padding, type(self).__name__)

    def forward(self, input):
        _check_tensor(input, type(self).__name__)
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad2d(_ModePad2d):
    """Pad the last two dimensions of a 3-D or 4-D input by mirroring (the edge not repeated)."""

    mode = "reflect"


class ReplicationPad2d(_ModePad2d):
    """Pad the last two dimensions of a 3-D or 4-D input by repeating the edge."""

    mode = "replicate"


class CircularPad2d(_ModePad2d):
    """Pad the last two dimensions of a 3-D or 4-D input by wrapping around."""

    mode = "circular"


class AdaptiveAvgPool2d(Module):
    """Mean over adaptive bins giving ``output_size`` (an int, a pair, None entries keep the input size)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        _check_tensor(input, "AdaptiveAvgPool2d")
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max over adaptive bins giving ``output_size``; ``return_indices``: also the int64 index of each maximum."""

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):
        _check_tensor(input, "AdaptiveMaxPool2d")
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"
