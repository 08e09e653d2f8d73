"""Tensor methods that compute: arithmetic, comparisons, reductions, matmul, in-place updates.

Names, arguments, defaults and result dtypes are PyTorch's (``dim``/``keepdim``; NumPy's
``axis``/``keepdims`` are accepted as aliases). Binary ops promote dtypes by PyTorch's rules
(``_args.result_dtype``), so an int64 tensor times 0.5 is float32, as in PyTorch, not float64.
"""
import numbers

import numpy as np

from . import ops
from ._args import check_bool, dim_arg, is_int, normalize_axis, numeric_dtype, one_axis, result_dtype

_FLOAT = np.dtype(np.float32)


class MathMethods:
    """Mixed into `Tensor`; relies on its ``_data``, ``_const``, ``_cast`` and ``_inplace``."""

    # --- operands
    def _operand(self, other):
        """A Tensor or a Python number as given; an array becomes a constant tensor."""
        if isinstance(other, MathMethods) or (isinstance(other, numbers.Number) and not isinstance(other, complex)):
            return other
        if isinstance(other, np.ndarray):  # (a list is not an operand, as in PyTorch: [1] * t repeats the list)
            array = np.asarray(other)
            if array.dtype.kind in "biuf":
                return self._const(array)
        return NotImplemented

    def _binary(self, other, function, reverse=False, floating=False):
        other = self._operand(other)
        if other is NotImplemented:
            return NotImplemented
        dtype = result_dtype((self, other))
        if floating and dtype.kind != "f":
            dtype = _FLOAT  # true division and the like of integers give float32, as in PyTorch
        a = self._cast(dtype)
        b = other._cast(dtype) if isinstance(other, MathMethods) else np.asarray(other, dtype=dtype)
        return function.apply(b, a) if reverse else function.apply(a, b)

    def _unary(self, function, floating=True):
        x = self._cast(_FLOAT) if floating and self.dtype.kind != "f" else self
        return function.apply(x)

    # --- arithmetic
    def add(self, other, alpha=1):
        return self._binary(other if alpha == 1 else other * alpha, ops.Add)

    def sub(self, other, alpha=1):
        _no_bool_sub(self, other)
        return self._binary(other if alpha == 1 else other * alpha, ops.Sub)

    subtract = sub

    def mul(self, other):
        return self._binary(other, ops.Mul)

    multiply = mul

    def div(self, other, rounding_mode=None):
        if rounding_mode is None:
            return self._binary(other, ops.Div, floating=True)
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
        other = self._operand(other)
        b = other._data if isinstance(other, MathMethods) else other
        dtype = result_dtype((self, other))
        with np.errstate(divide="ignore", invalid="ignore"):
            if dtype.kind == "f":
                q = np.true_divide(self._data, b)
                out = np.floor(q) if rounding_mode == "floor" else np.trunc(q)
            elif rounding_mode == "floor":
                out = np.floor_divide(self._data, b)
            else:
                out = np.trunc(np.true_divide(self._data, b))
        return self._const(np.asarray(out).astype(dtype, copy=False))

    divide = true_divide = div

    def pow(self, exponent):
        return self._binary(exponent, ops.Pow)

    def neg(self):
        if self.dtype == np.bool_:
            raise TypeError("neg: negating a bool tensor is not supported (use logical_not() or ~x)")
        return ops.Neg.apply(self)

    negative = neg

    def abs(self):
        return ops.Abs.apply(self)

    def exp(self):
        return self._unary(ops.Exp)

    def log(self):
        return self._unary(ops.Log)

    def sqrt(self):
        return self._unary(ops.Sqrt)

    def rsqrt(self):
        return self._unary(ops.Sqrt).reciprocal()

    def reciprocal(self):
        return 1.0 / (self if self.dtype.kind == "f" else self._cast(_FLOAT))

    def square(self):
        return self * self

    def sign(self):
        return ops.Sign.apply(self)

    def relu(self):
        if self._data.dtype.kind == "b":
            raise TypeError("relu: not implemented for bool tensors, as in PyTorch")
        return ops.ReLU.apply(self)

    def sigmoid(self):
        return self._unary(ops.Sigmoid)

    def tanh(self):
        return self._unary(ops.Tanh)

    def softmax(self, dim=None, dtype=None, *, axis=None):
        x = self if dtype is None else self._cast(numeric_dtype(dtype, "softmax"))
        dim = one_axis(_required_dim(dim_arg(dim, axis, "softmax"), "softmax"), self.ndim, "softmax")
        return ops.Softmax.apply(x._float_only("softmax"), axis=dim)

    def log_softmax(self, dim=None, dtype=None, *, axis=None):
        x = self if dtype is None else self._cast(numeric_dtype(dtype, "log_softmax"))
        dim = one_axis(_required_dim(dim_arg(dim, axis, "log_softmax"), "log_softmax"), self.ndim, "log_softmax")
        return ops.LogSoftmax.apply(x._float_only("log_softmax"), axis=dim)

    def _float_only(self, op):
        if self.dtype.kind != "f":
            raise TypeError(f"{op}: not implemented for {self.dtype} tensors, as in PyTorch "
                            "(give dtype=tinygrad_cnn.float32)")
        return self

    def _float_or_self(self):
        return self if self.dtype.kind == "f" else self._cast(_FLOAT)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min or max must be given")
        if isinstance(min, MathMethods) or isinstance(max, MathMethods):
            out = self  # tensor bounds: the gradient goes to whichever value is picked, bounds included
            if min is not None:
                out = (out >= min).where_(out, min) if isinstance(min, MathMethods) else out.clamp(min=min)
            if max is not None:
                out = (out <= max).where_(out, max) if isinstance(max, MathMethods) else out.clamp(max=max)
            return out
        for name, v in (("min", min), ("max", max)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
                raise TypeError(f"clamp: {name} must be a number or a Tensor, got {v!r}")
        x = self if self.dtype.kind == "f" or all(v is None or is_int(v) for v in (min, max)) else self._cast(_FLOAT)
        return ops.Clamp.apply(x, low=min, high=max)

    clip = clamp

    def maximum(self, other):
        return self._binary(other, ops.Maximum)

    def minimum(self, other):
        return self._binary(other, ops.Minimum)

    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other`` (``torch.where(condition, self, other)``)."""
        return _as_condition(condition, "where", self).where_(self, other)

    def where_(self, x, y):
        """With self the bool condition: ``torch.where(self, x, y)``."""
        xt, yt = self._operand(x), self._operand(y)
        if xt is NotImplemented or yt is NotImplemented:
            raise TypeError(f"where: x and y must be Tensors or numbers, got {type(x).__name__} and {type(y).__name__}")
        dtype = result_dtype((xt, yt))
        a = xt._cast(dtype) if isinstance(xt, MathMethods) else np.asarray(xt, dtype=dtype)
        b = yt._cast(dtype) if isinstance(yt, MathMethods) else np.asarray(yt, dtype=dtype)
        ops.check_broadcast("where", self.shape, ops.check_broadcast("where", np.shape(a), np.shape(b)))
        return ops.Where.apply(a, b, condition=self._data)

    def masked_fill(self, mask, value):
        mask = _as_condition(mask, "masked_fill", self)
        if np.broadcast_shapes(mask.shape, self.shape) != self.shape:
            raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the tensor's {self.shape}")
        if isinstance(value, MathMethods):
            if value.ndim != 0:
                raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
            value = value._cast(self.dtype)
        else:
            value = np.asarray(value, dtype=self.dtype)
        return ops.Where.apply(value, self, condition=mask._data)

    # --- comparisons and logic: bool tensors, outside the graph
    def _compare(self, other, fn):
        other = other._data if isinstance(other, MathMethods) else other
        if not isinstance(other, numbers.Real):  # Python numbers stay as they are (NumPy's weak scalars)
            try:
                kind = (other if isinstance(other, np.ndarray) else np.asarray(other)).dtype.kind
            except ValueError:
                kind = "O"
            if kind not in "biuf":
                return NotImplemented  # Python then gives False for ==, True for != and TypeError for <
        ops.check_broadcast(fn.__name__, self.shape, np.shape(other))
        return self._const(fn(self._data, other))

    def eq(self, other):
        return self._compare(other, np.equal)

    def ne(self, other):
        return self._compare(other, np.not_equal)

    def lt(self, other):
        return self._compare(other, np.less)

    def le(self, other):
        return self._compare(other, np.less_equal)

    def gt(self, other):
        return self._compare(other, np.greater)

    def ge(self, other):
        return self._compare(other, np.greater_equal)

    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def logical_not(self):
        return self._const(np.logical_not(self._data))

    def logical_and(self, other):
        return self._compare(other, np.logical_and)

    def logical_or(self, other):
        return self._compare(other, np.logical_or)

    def logical_xor(self, other):
        return self._compare(other, np.logical_xor)

    def isnan(self):
        return self._const(np.isnan(self._data))

    def isfinite(self):
        return self._const(np.isfinite(self._data))

    def all(self, dim=None, keepdim=False):
        axes = normalize_axis(dim, self.ndim, "all")
        return self._const(np.all(self._data, axis=axes, keepdims=check_bool(keepdim, "keepdim", "all")))

    def any(self, dim=None, keepdim=False):
        axes = normalize_axis(dim, self.ndim, "any")
        return self._const(np.any(self._data, axis=axes, keepdims=check_bool(keepdim, "keepdim", "any")))

    # --- matrix products
    def matmul(self, other):
        return ops.MatMul.apply(self, other)

    def mm(self, mat2):
        if self.ndim != 2 or mat2.ndim != 2:
            raise RuntimeError(f"mm: both arguments must be 2-D matrices, got shapes {self.shape} and {mat2.shape}")
        return ops.MatMul.apply(self, mat2)

    def bmm(self, mat2):
        if self.ndim != 3 or mat2.ndim != 3:
            raise RuntimeError(
                f"bmm: both arguments must be 3-D (batch, n, m), got shapes {self.shape} and {mat2.shape}")
        if self.shape[0] != mat2.shape[0]:
            raise RuntimeError(f"bmm: batch sizes differ: {self.shape[0]} and {mat2.shape[0]}")
        return ops.MatMul.apply(self, mat2)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return ops.MatMul.apply(other, self)

    # --- operators
    def __add__(self, other):
        return self._binary(other, ops.Add)

    def __radd__(self, other):
        return self._binary(other, ops.Add, reverse=True)

    def __sub__(self, other):
        _no_bool_sub(self, other)
        return self._binary(other, ops.Sub)

    def __rsub__(self, other):
        _no_bool_sub(self, other)
        return self._binary(other, ops.Sub, reverse=True)

    def __mul__(self, other):
        return self._binary(other, ops.Mul)

    def __rmul__(self, other):
        return self._binary(other, ops.Mul, reverse=True)

    def __truediv__(self, other):
        return self._binary(other, ops.Div, floating=True)

    def __rtruediv__(self, other):
        return self._binary(other, ops.Div, reverse=True, floating=True)

    def __floordiv__(self, other):
        return self.div(other, rounding_mode="floor")

    def __mod__(self, other):
        other = self._operand(other)
        b = other._data if isinstance(other, MathMethods) else other
        return self._const(np.asarray(np.mod(self._data, b)).astype(result_dtype((self, other)), copy=False))

    def __pow__(self, other):
        return self._binary(other, ops.Pow)

    def __rpow__(self, other):
        return self._binary(other, ops.Pow, reverse=True)

    def __neg__(self):
        return self.neg()

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __invert__(self):
        return self._const(np.invert(self._data))

    def __and__(self, other):
        return self._compare(other, np.bitwise_and)

    def __or__(self, other):
        return self._compare(other, np.bitwise_or)

    def __xor__(self, other):
        return self._compare(other, np.bitwise_xor)

    __eq__, __ne__, __lt__, __le__, __gt__, __ge__ = eq, ne, lt, le, gt, ge

    # --- in place
    def add_(self, other, alpha=1):
        return self._inplace("add_", lambda t: t.add(other, alpha=alpha), other)

    def sub_(self, other, alpha=1):
        return self._inplace("sub_", lambda t: t.sub(other, alpha=alpha), other)

    def mul_(self, other):
        return self._inplace("mul_", lambda t: t.mul(other), other)

    def div_(self, other, rounding_mode=None):
        return self._inplace("div_", lambda t: t.div(other, rounding_mode=rounding_mode), other)

    def pow_(self, exponent):
        return self._inplace("pow_", lambda t: t.pow(exponent), exponent)

    def clamp_(self, min=None, max=None):
        return self._inplace("clamp_", lambda t: t.clamp(min, max), min, max)

    clip_ = clamp_

    def masked_fill_(self, mask, value):
        return self._inplace("masked_fill_", lambda t: t.masked_fill(mask, value), value)

    def neg_(self):
        return self._inplace("neg_", lambda t: t.neg())

    def relu_(self):
        return self._inplace("relu_", lambda t: t.relu())

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)


def _no_bool_sub(a, b):
    if a.dtype == np.bool_ or (isinstance(b, MathMethods) and b.dtype == np.bool_) or isinstance(b, bool):
        raise TypeError("sub: subtracting with a bool tensor is not supported, as in PyTorch (use ~x or logical_xor)")


def _required_dim(dim, op):
    if dim is None:
        raise TypeError(f"{op}: the dim argument is required (e.g. {op}(dim=-1))")
    return dim


def _as_condition(condition, op, like):
    array = condition._data if isinstance(condition, MathMethods) else np.asarray(condition)
    if array.dtype != np.bool_:
        raise TypeError(f"{op}: the condition / mask must be a bool tensor, got dtype {array.dtype}")
    return condition if isinstance(condition, MathMethods) else like._const(array)
