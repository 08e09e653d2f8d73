"""Reductions and matrix multiplication."""
import numpy as np

from .. import parallel
from ..function import Function


def _expand_back(grad, shape, axis, keepdims):
    """Broadcast the gradient of a reduction back to the shape of its input."""
    if not keepdims:
        grad = np.expand_dims(grad, axis)
    return np.broadcast_to(grad, shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        return np.asarray(a.sum(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad, ctx.shape, ctx.axis, ctx.keepdims)


class Max(Function):
    """Max over axes. The gradient is split evenly among tied maxima (as ``torch.amax``)."""

    @staticmethod
    def forward(ctx, a, axis, keepdims=False):
        out = a.max(axis=axis, keepdims=True)
        ctx.save_for_backward(a, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return np.asarray(out if keepdims else out.squeeze(axis))

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        is_max = a == out
        count = is_max.sum(axis=ctx.axis, keepdims=True).astype(a.dtype)
        if not ctx.keepdims:
            grad = np.expand_dims(grad, ctx.axis)
        return is_max * (grad / count)


def _matmul_shapes_error(a, b):
    return ValueError(
        f"matmul: shapes {a.shape} and {b.shape} do not fit: the last axis of the first "
        f"({a.shape[-1] if a.ndim else '-'}) must equal the "
        f"{'only' if b.ndim == 1 else 'second-to-last'} axis of the second "
        f"({(b.shape[0] if b.ndim == 1 else b.shape[-2]) if b.ndim else '-'})"
    )


class MatMul(Function):
    """``a @ b`` with NumPy's rules: 1-D operands are promoted and the batch axes broadcast."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != (b.shape[0] if b.ndim == 1 else b.shape[-2]):
            raise _matmul_shapes_error(a, b)
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(
                f"matmul: batch axes of shapes {a.shape} and {b.shape} cannot be broadcast together") from None
        ctx.save_for_backward(a, b)
        return parallel.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # work on >= 2-D views: a row vector (1, n) and a column vector (n, 1)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad
        if b.ndim == 1:  # first: for 1-D @ 1-D, grad is 0-d and becomes (1,) then (1, 1)
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = parallel.matmul(g2, np.swapaxes(b2, -1, -2))
            grad_a = _sum_to(grad_a, a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            grad_b = parallel.matmul(np.swapaxes(a2, -1, -2), g2)
            grad_b = _sum_to(grad_b, b2.shape).reshape(b.shape)
        return grad_a, grad_b


def _sum_to(grad, shape):
    """Sum the broadcast batch axes of a matmul gradient away."""
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape[:-2]) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


class Prod(Function):
    """Product over one axis (``axis=None``: over all elements, flattened).

    The gradient of element i is the product of all the others: the exclusive cumulative
    products from the left and from the right, multiplied. Unlike ``out / x`` this is right
    when some elements are zero."""

    @staticmethod
    def forward(ctx, a, axis, keepdims=False):
        flat = a.reshape(-1) if axis is None else np.moveaxis(a, axis, -1)
        ctx.save_for_backward(flat)
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        out = flat.prod(axis=-1)
        if keepdims:
            out = out.reshape((1,) * a.ndim) if axis is None else np.expand_dims(out, axis)
        return np.asarray(out)

    @staticmethod
    def backward(ctx, grad):
        (flat,) = ctx.saved_tensors
        ones = np.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
        left = np.concatenate([ones, np.cumprod(flat[..., :-1], axis=-1)], axis=-1)
        right = np.concatenate([np.cumprod(flat[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
        if ctx.axis is None:
            return (left * right * grad.reshape(())).reshape(ctx.shape)
        g = grad if not ctx.keepdims else np.squeeze(grad, ctx.axis)
        return np.moveaxis(left * right * g[..., None], -1, ctx.axis)


class Cumsum(Function):
    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        return np.cumsum(a, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        # each input feeds every later output: the gradient is the reversed cumulative sum
        return np.flip(np.cumsum(np.flip(grad, ctx.axis), axis=ctx.axis), ctx.axis)


class TakeAlongAxis(Function):
    """``np.take_along_axis(a, index, axis)``: values at given indices (``max(dim)``, ``gather``).

    Backward scatters the gradient back with ``np.add.at`` only when an index may repeat."""

    @staticmethod
    def forward(ctx, a, index, axis, unique=False):
        ctx.shape, ctx.index, ctx.axis, ctx.unique = a.shape, index, axis, unique
        return np.take_along_axis(a, index, axis)

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        if ctx.unique:
            np.put_along_axis(out, ctx.index, grad, ctx.axis)
        else:
            index = [np.arange(n).reshape((-1,) + (1,) * (grad.ndim - 1 - d)) for d, n in enumerate(grad.shape)]
            index[ctx.axis] = ctx.index
            np.add.at(out, tuple(index), grad)
        return out


class Norm2(Function):
    """sqrt(sum of squares) over axes. Its gradient x / norm is taken as 0 where the norm is 0
    (the subgradient PyTorch uses), not nan."""

    @staticmethod
    def forward(ctx, a, axis, keepdims=False):
        out = np.sqrt(np.square(a).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(a, out)
        ctx.keepdims = keepdims
        return np.asarray(out if keepdims else out.reshape(np.squeeze(out, axis).shape))

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        g = grad.reshape(out.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(out == 0, 0, g / out)
        return a * scale
