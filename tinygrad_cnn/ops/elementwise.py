"""Elementwise ops. Binary ops broadcast like NumPy; their backward returns gradients of the
broadcast shape and the engine sums them down to each input's shape (see ``Tensor.backward``)."""
import numpy as np

from .. import parallel
from ..function import Function


def check_broadcast(op, shape_a, shape_b):
    """Raise a clear error (naming the op and both shapes) when two shapes do not broadcast."""
    try:
        return np.broadcast_shapes(shape_a, shape_b)
    except ValueError:
        raise ValueError(f"{op}: shapes {tuple(shape_a)} and {tuple(shape_b)} cannot be broadcast together") from None


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        check_broadcast("add", a.shape, b.shape)
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        check_broadcast("sub", a.shape, b.shape)
        if a.dtype == np.bool_ and b.dtype == np.bool_:
            raise TypeError("sub: subtracting two bool tensors is not supported (convert one with .float())")
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        check_broadcast("mul", a.shape, b.shape)
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad * b if ctx.needs_input_grad[0] else None,
                grad * a if ctx.needs_input_grad[1] else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        check_broadcast("div", a.shape, b.shape)
        out = a / b
        ctx.save_for_backward(b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        b, out = ctx.saved_tensors
        grad_a = grad / b
        # d(a/b)/db = -a/b^2 = -(a/b)/b
        return (grad_a if ctx.needs_input_grad[0] else None,
                -grad_a * out if ctx.needs_input_grad[1] else None)


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        check_broadcast("pow", a.shape, b.shape)
        try:
            out = np.power(a, b)
        except ValueError as err:  # integers to negative integer powers
            raise ValueError(f"pow: {err} (use a float tensor)") from None
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = grad * b * np.power(a, b - 1)
        if ctx.needs_input_grad[1]:
            # d(a^b)/db = a^b ln a; define it as 0 where a == 0 (as PyTorch does)
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = np.where(a == 0, 0, grad * out * np.log(a))
        return grad_a, grad_b


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Sqrt(Function):
    """With ``zero_at_zero`` the gradient at 0 is taken as 0 rather than inf (``std`` of a constant,
    as in PyTorch)."""

    @staticmethod
    def forward(ctx, a, zero_at_zero=False):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        ctx.zero_at_zero = zero_at_zero
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        if ctx.zero_at_zero:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(out == 0, 0, grad / (2 * out))
        return grad / (2 * out)


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.sign(a)


class ReLU(Function):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind == "f":  # on the workers, for activation-sized arrays
            # np.clip to [0, inf]: NumPy 2.4's maximum against a scalar has no SIMD loop (2-4x slower
            # than clip on 0.01-5 M floats, docs/benchmarks.md); clip keeps NaN and -0.0 as torch.relu does
            out = parallel.elementwise(lambda o, x: np.clip(x, 0, np.inf, out=o), np.empty_like(a), a)
        else:
            out = np.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        if grad.shape != out.shape:
            return grad * (out > 0)
        # a multiply by a bool mask is several times faster than np.where
        result = np.empty_like(out, dtype=grad.dtype)
        return parallel.elementwise(lambda r, g, o: np.multiply(g, o > 0, out=r), result, grad, out)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        # exp of a non-positive number never overflows, on either side of 0
        e = np.exp(-np.abs(a))
        out = np.where(a >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.input_dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.input_dtype)


class Sign(Function):
    @staticmethod
    def forward(ctx, a):
        return np.sign(a)

    @staticmethod
    def backward(ctx, grad):
        return np.zeros_like(grad)  # sign is flat almost everywhere; 0 at the jump too (as PyTorch)


class Clamp(Function):
    """Clip to [low, high] (either may be None). The gradient passes where low <= x <= high,
    boundaries included, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, low=None, high=None):
        inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high
        ctx.save_for_backward(inside)
        out = a
        if low is not None:
            out = np.maximum(out, a.dtype.type(low))
        if high is not None:
            out = np.minimum(out, a.dtype.type(high))
        return out if out is not a else a.copy()

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside


class Maximum(Function):
    """Elementwise max of two tensors. Where they tie, each gets half the gradient (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        check_broadcast("maximum", a.shape, b.shape)
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share = (a > b) + 0.5 * (a == b)
        return grad * share, grad * (1 - share)


class Minimum(Function):
    """Elementwise min of two tensors; ties split the gradient in half, as in `Maximum`."""

    @staticmethod
    def forward(ctx, a, b):
        check_broadcast("minimum", a.shape, b.shape)
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share = (a < b) + 0.5 * (a == b)
        return grad * share, grad * (1 - share)


class Where(Function):
    """``a`` where ``condition`` (a bool array, an option) holds, else ``b``; all three broadcast."""

    @staticmethod
    def forward(ctx, a, b, condition):
        ctx.condition = condition
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        c = ctx.condition
        zero = grad.dtype.type(0)
        return (np.where(c, grad, zero) if ctx.needs_input_grad[0] else None,
                np.where(c, zero, grad) if ctx.needs_input_grad[1] else None)
