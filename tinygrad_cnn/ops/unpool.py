"""max_unpool2d: the partial inverse of max pooling, as ``torch.nn.functional.max_unpool2d``.

`MaxUnpool2d` is one fancy-index assignment into the zeroed (channels-last) output; a repeated
index: the last wins, as in torch's CPU loop. Backward: the gather of the output gradient at the
indices.
"""
import numpy as np

from .._memory import check_memory
from ..errors import ArgumentError, DtypeError
from ..function import Function
from ._checks import check_tensor, int_pair
from .layout import nhwc

__all__ = ["max_unpool2d"]


class MaxUnpool2d(Function):
    """out[n, c].flat[indices[n, c, h, w]] = x[n, c, h, w] into zeros; ``flat``: those positions
    in the channels-last output, precomputed by the functional."""

    @staticmethod
    def forward(ctx, x, flat, out_shape):
        n, c, oh, ow = out_shape
        out = np.zeros(n * oh * ow * c, dtype=x.dtype)
        out[flat] = x
        ctx.flat = flat
        return out.reshape(n, oh, ow, c).transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad):
        return np.ascontiguousarray(nhwc(grad)).reshape(-1)[ctx.flat]


def _unpool_size(shape, kernel, stride, padding, output_size):
    """torch's max_unpool output size: the default (H - 1)*stride - 2*padding + kernel, or
    ``output_size`` (2 sizes, or 4 with N and C) within stride of it."""
    default = [(size - 1) * s - 2 * p + k for size, k, s, p in zip(shape[-2:], kernel, stride, padding)]
    if output_size is None:
        sizes = default
    else:
        sizes = list(output_size)
        if len(sizes) == 4:
            sizes = sizes[2:]
        if len(sizes) != 2:
            raise ValueError(f"max_unpool2d: output_size should be a sequence containing 2 or 4 elements, but it "
                             f"has a length of '{len(sizes)}'")
        for d, (size, low) in enumerate(zip(sizes, default)):
            if not isinstance(size, (int, np.integer)) or isinstance(size, bool):
                raise TypeError(f"max_unpool2d: output_size must hold ints, got {output_size!r}")
            if not low - stride[d] < size < low + stride[d]:
                raise ValueError(f'max_unpool2d: invalid output_size "{tuple(sizes)}" (dim {d} must be between '
                                 f"{low - stride[d]} and {low + stride[d]})")
    for d, size in enumerate(sizes):
        if size < 0:
            raise ValueError(f"max_unpool2d: output_size must contain non-negative spatial dimensions, but got "
                             f"output_size[{d}]={size}")
    return tuple(int(s) for s in sizes)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """``torch.nn.functional.max_unpool2d``: put each value of (N, C, H, W) or (C, H, W) ``input``
    at its int64 ``indices`` (into OH*OW, as max_pool2d(return_indices=True) gives) of a zero
    output; the rest stays zero. Differentiable in ``input``."""
    op = "max_unpool2d"
    check_tensor(input, op)
    check_tensor(indices, op, "indices")
    if input.ndim not in (3, 4):
        raise ArgumentError(f"{op}: input should be a 3d or 4d Tensor, but got a tensor with {input.ndim} dimensions")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {input.dtype}")
    if indices.dtype != np.int64:
        raise DtypeError(f"{op}: elements in indices should be type int64 but got: {indices.dtype}")
    if tuple(indices.shape) != tuple(input.shape):
        raise ArgumentError(f"{op}: expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    kernel = int_pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None else int_pair(stride, "stride", op, 1)
    padding = int_pair(padding, "padding", op, 0)
    oh, ow = _unpool_size(input.shape, kernel, stride, padding, output_size)
    shape4 = (1,) * (4 - input.ndim) + tuple(input.shape)
    n, c = shape4[:2]
    check_memory(op, n * c * oh * ow * input.dtype.itemsize, f"an output of shape {(n, c, oh, ow)}",
                 "; check output_size")
    idx = indices.numpy().reshape(shape4)
    if idx.size and (idx.min() < 0 or idx.max() >= oh * ow):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise ArgumentError(f"{op}: found an invalid max index: {bad} (output volumes are of size {oh}x{ow})")
    flat = (np.arange(n).reshape(n, 1, 1, 1) * (oh * ow) + idx) * c + np.arange(c).reshape(1, c, 1, 1)
    x4 = input if input.ndim == 4 else input.unsqueeze(0)
    out = MaxUnpool2d.apply(x4, flat=flat, out_shape=(n, c, oh, ow))
    return out if input.ndim == 4 else out.squeeze(0)
