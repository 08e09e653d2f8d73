"""`Tensor`: an n-d array that records how it was computed, and reverse-mode autodiff over that record.

Every op result remembers the `Function` call (its *context*) that produced it and that call's
input tensors (its *parents*): together they form a directed acyclic graph whose leaves are the
tensors you created. ``loss.backward()`` walks that graph from ``loss`` back to the leaves in
reverse topological order, asks each op's ``backward`` for the gradient of its inputs, sums the
gradients reaching the same tensor and stores the result in the leaves' ``.grad``.

The ops themselves live in ``tinygrad_cnn/ops/`` (one `Function` per primitive); the methods at the
bottom of this class are the one place that exposes them as `Tensor` methods.
"""
import contextlib
import math
import numbers

import numpy as np

from ._memory import check_memory
from .rng import get_rng

# ----------------------------------------------------------------------------- global modes

_grad_enabled = True
_anomaly_enabled = False


def is_grad_enabled() -> bool:
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """Context manager and decorator that switches graph recording on or off, then restores it."""

    def __init__(self, enabled):
        self.enabled = enabled
        self._previous = []

    def __enter__(self):
        global _grad_enabled
        self._previous.append(_grad_enabled)
        _grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous.pop()
        return False


def no_grad():
    """``with no_grad():`` or ``@no_grad()``: ops record no graph and save nothing for backward."""
    return _GradMode(False)


def enable_grad():
    """Undo an enclosing ``no_grad`` for a block or function."""
    return _GradMode(True)


@contextlib.contextmanager
def detect_anomaly():
    """Within this block, the first op whose forward or backward gives NaN or inf raises an error
    naming the op (like ``torch.autograd.detect_anomaly``). It costs one ``isfinite`` pass per op."""
    global _anomaly_enabled
    previous = _anomaly_enabled
    _anomaly_enabled = True
    try:
        yield
    finally:
        _anomaly_enabled = previous


class AnomalyError(FloatingPointError, RuntimeError):
    """Raised inside ``detect_anomaly()``; a FloatingPointError, and a RuntimeError as in PyTorch."""


def _check_anomaly(op_name, phase, array):
    if _anomaly_enabled and array is not None and array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = "nan" if np.isnan(array).any() else "inf"
        raise AnomalyError(
            f"detect_anomaly: {op_name}.{phase} produced {bad} values "
            f"(output shape {array.shape}); this is the first op in the run that did"
        )


# ----------------------------------------------------------------------------- helpers


def _to_array(data, dtype=None):
    """Turn user data into the ndarray a Tensor holds, with the dtype rules of the library."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        array = data
    elif isinstance(data, (numbers.Number, list, tuple, np.generic)):
        try:
            array = np.asarray(data)
        except ValueError as err:  # ragged nesting, e.g. [[1, 2], [3]]
            raise ValueError(f"Tensor: cannot make a tensor from a ragged nested sequence ({err})") from None
        if not isinstance(data, np.generic) and dtype is None:  # NumPy scalars keep their dtype, like 0-d arrays
            if array.dtype.kind in "biuf":
                array = array.astype(np.float32)  # Python numbers and lists become float32
    else:
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} (expected a number, list or ndarray)")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Tensor: unsupported data type {array.dtype} (expected numbers: float, int or bool)")
    if dtype is not None:
        array = array.astype(_numeric_dtype(dtype, "Tensor"), copy=False)
    elif array.dtype == np.float16:
        array = array.astype(np.float32)
    return array


def _numeric_dtype(dtype, op):
    """``np.dtype(dtype)`` if it is a bool, integer or float type; TypeError naming ``op`` otherwise."""
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {dtype!r} is not a dtype (use e.g. np.float32, np.float64, np.int64)") from None
    if dt.kind not in "biuf":
        raise TypeError(f"{op}: unsupported dtype {dt} (expected a float, int or bool dtype)")
    return dt


def _unbroadcast(grad, shape):
    """Sum a gradient of a broadcast result down to the shape of the input it flows into.

    ValueError unless the input's shape broadcasts to the gradient's: a gradient of the same size
    but another shape (e.g. transposed) is a bug in the op's backward, not something to reshape."""
    if grad.shape == shape:
        return grad
    if grad.ndim < len(shape):  # missing leading axes can only stand for axes of size 1
        grad = grad.reshape((1,) * (len(shape) - grad.ndim) + grad.shape)
    extra = grad.ndim - len(shape)
    if any(n != 1 and n != g for n, g in zip(shape, grad.shape[extra:])):
        raise ValueError(f"gradient of shape {grad.shape} does not fit an input of shape {shape}")
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1
    )
    grad = grad.sum(axis=axes, keepdims=True) if axes else grad
    return grad.reshape(shape)


def _normalize_axis(axis, ndim, op):
    """An axis argument (None, int or tuple, negatives allowed) as a sorted tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)  # a bad scalar fails the check below
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -max(ndim, 1) <= a < max(ndim, 1):  # a 0-d tensor takes axis 0 or -1, as in PyTorch
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis!r} repeats an axis")
    if ndim == 0:
        return ()  # axis 0 of a 0-d tensor is the tensor itself (as in PyTorch): nothing to reduce
    return tuple(sorted(out))


def _one_axis(axis, ndim, op):
    """A single axis (an int, negatives allowed) as a non-negative int; None for a 0-d tensor."""
    if axis is None or isinstance(axis, (tuple, list)):
        raise TypeError(f"{op}: axis must be a single int, got {axis!r}")
    axes = _normalize_axis(axis, ndim, op)
    return axes[0] if axes else None


def _check_keepdims(keepdims, op):
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"{op}: keepdims must be True or False, got {keepdims!r}")
    return bool(keepdims)


def _axis_arg(axis, dim, op, default=None):
    """Accept PyTorch's ``dim=`` as a synonym of ``axis=``."""
    if dim is not None:
        if axis is not None and axis != default:
            raise TypeError(f"{op}: give axis or dim, not both")
        return dim
    return default if axis is None else axis


def _shape_args(shape, op):
    """``f(2, 3)`` and ``f((2, 3))`` both mean shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{op}: shape entries must be ints, got {shape!r}")
    return tuple(int(s) for s in shape)


def _new_array(make, shape, dtype, op, floating=False):
    """``make(shape, dtype)`` for a constructor, with its shape and dtype checked first."""
    shape = _shape_args(shape, op)
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: shape {shape} has a negative dimension")
    dtype = _numeric_dtype(dtype, op)
    if floating and dtype.kind != "f":
        raise TypeError(f"{op}: dtype must be floating point, got {dtype}")
    check_memory(op, dtype.itemsize * math.prod(shape), f"a tensor of shape {shape} and dtype {dtype}")
    try:
        return make(shape, dtype)
    except (ValueError, OverflowError) as err:  # "array is too big", "maximum supported dimension"
        raise ValueError(f"{op}: cannot create a tensor of shape {shape} ({err})") from None
    except MemoryError as err:
        raise MemoryError(f"{op}: not enough memory for a tensor of shape {shape} and dtype {dtype} ({err})") from None


# ----------------------------------------------------------------------------- Tensor


class Tensor:
    __array_priority__ = 1000  # so ndarray + Tensor dispatches to Tensor.__radd__

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ctx = None  # the Context of the op that made this tensor; None for a leaf
        self._retain_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _from_op(cls, array, ctx):
        out = cls.__new__(cls)
        out.data, out.grad, out._ctx, out._retain_grad = array, None, ctx, False
        out._requires_grad = ctx is not None
        return out

    # --- attributes
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self.data.dtype.kind != "f":
            raise TypeError(
                f"Tensor: only floating-point tensors can require grad; this one is {self.data.dtype} "
                f"(make it with dtype=np.float32 or np.float64)"
            )
        if not value and self._ctx is not None:
            raise RuntimeError("Tensor: cannot turn off requires_grad of a non-leaf tensor; use .detach()")
        self._requires_grad = bool(value)

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                try:
                    value = Tensor(np.asarray(value, dtype=self.data.dtype))
                except (TypeError, ValueError) as err:
                    raise TypeError(f"Tensor.grad: cannot use {type(value).__name__} as a gradient ({err})") from None
            if value.shape != self.shape:
                raise ValueError(f"Tensor.grad: gradient shape {value.shape} does not match tensor shape {self.shape}")
        self._grad = value

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._ctx is None)

    def numel(self):
        return self.data.size

    def numpy(self):
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"Tensor.item: only a one-element tensor converts to a Python number; shape is {self.shape}")
        return self.data.item()

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        self._retain_grad = True

    def astype(self, dtype):
        """A differentiable cast (float32 <-> float64)."""
        from .ops.elementwise import Cast
        dtype = _numeric_dtype(dtype, "astype")
        if dtype == self.dtype:
            return self
        if dtype.kind != "f" or self.dtype.kind != "f":
            return Tensor(self.data.astype(dtype), dtype=dtype)  # to or from int/bool: a constant, outside the graph
        return Cast.apply(self, dtype=dtype)

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        if self.size <= 16:
            body = np.array2string(self.data, separator=", ", precision=4).replace("\n", "")
            return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{grad})"
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{grad})"

    __hash__ = object.__hash__

    def __bool__(self):
        if self.size != 1:
            raise ValueError(f"Tensor: the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    # --- constructors
    @staticmethod
    def zeros(*shape, dtype=np.float32, requires_grad=False):
        return Tensor(_new_array(np.zeros, shape, dtype, "Tensor.zeros"), requires_grad=requires_grad)

    @staticmethod
    def ones(*shape, dtype=np.float32, requires_grad=False):
        return Tensor(_new_array(np.ones, shape, dtype, "Tensor.ones"), requires_grad=requires_grad)

    @staticmethod
    def randn(*shape, dtype=np.float32, requires_grad=False):
        """Standard normal samples from the library generator (see ``manual_seed``)."""
        data = _new_array(lambda s, dt: get_rng().standard_normal(s, dtype=np.float64).astype(dt),
                          shape, dtype, "Tensor.randn", floating=True)
        return Tensor(data, requires_grad=requires_grad)

    @staticmethod
    def uniform(*shape, low=0.0, high=1.0, dtype=np.float32, requires_grad=False):
        """Samples uniform on [low, high) from the library generator (see ``manual_seed``)."""
        for name, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"Tensor.uniform: {name} must be a number, got {v!r}")
            if not -1e308 < v < 1e308:  # also catches nan and ints too big for a float
                raise ValueError(f"Tensor.uniform: {name} must be finite, got {v!r}")
        if low > high:
            raise ValueError(f"Tensor.uniform: low ({low}) must not exceed high ({high})")
        data = _new_array(lambda s, dt: get_rng().uniform(low, high, s).astype(dt),
                          shape, dtype, "Tensor.uniform", floating=True)
        return Tensor(data, requires_grad=requires_grad)

    # --- autodiff
    def backward(self, gradient=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``gradient`` is d(loss)/d(self) and may be left out only when self holds one element.
        Unless ``retain_graph``, the graph's saved arrays are freed, and a second backward
        through it is an error (as in PyTorch).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad; no tensor it was computed from has requires_grad=True"
            )
        if gradient is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward: a gradient can be implied only for a one-element output; this output has shape "
                    f"{self.shape}, so pass gradient= of that shape (e.g. loss = out.sum() first)"
                )
            gradient = np.ones(self.shape, dtype=self.dtype)
        else:
            try:
                gradient = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient)
            except ValueError as err:
                raise ValueError(f"backward: gradient is not a regular array ({err})") from None
            if gradient.dtype.kind not in "biuf":
                raise TypeError(f"backward: gradient must be numeric (a Tensor, ndarray or number), got {gradient.dtype}")
            if gradient.shape != self.shape:
                raise ValueError(f"backward: gradient has shape {gradient.shape} but the tensor has shape {self.shape}")
            gradient = gradient.astype(self.dtype, copy=False)

        grads = {self: gradient}
        owned = set()  # tensors whose entry in grads is an array we allocated (safe to add into)
        for node in reversed(_topological_order(self)):
            grad = grads.pop(node, None)
            if grad is None:
                continue
            ctx = node._ctx
            if ctx is None or node._retain_grad:
                node._accumulate_grad(grad)
            if ctx is None:
                continue
            if ctx.released:
                raise RuntimeError(
                    "backward: trying to backward through the graph a second time; its saved arrays were freed "
                    "after the first backward (call backward(retain_graph=True) the first time)"
                )
            with no_grad():
                input_grads = ctx.function.backward(ctx, grad)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            name = ctx.function.__name__
            if len(input_grads) != len(ctx.parents):
                raise RuntimeError(f"{name}.backward returned {len(input_grads)} gradients for {len(ctx.parents)} inputs")
            for parent, g in zip(ctx.parents, input_grads):
                if g is None or not parent.requires_grad:
                    continue
                g = np.asarray(g)
                _check_anomaly(name, "backward", g)
                try:
                    g = _unbroadcast(g, parent.shape)
                except ValueError:
                    raise RuntimeError(
                        f"{name}.backward returned a gradient of shape {g.shape} for an input of shape {parent.shape}"
                    ) from None
                if g.dtype != parent.dtype:
                    g = g.astype(parent.dtype)
                if parent not in grads:
                    grads[parent] = g
                elif parent in owned:
                    np.add(grads[parent], g, out=grads[parent])
                else:
                    grads[parent] = grads[parent] + g
                    owned.add(parent)
            if not retain_graph:
                ctx.release()
            del grad, input_grads

    def _accumulate_grad(self, grad):
        if self._grad is None:
            self._grad = Tensor(np.array(grad, dtype=self.dtype, copy=True))  # a fresh array the user may own
        else:
            np.add(self._grad.data, grad, out=self._grad.data)

    # --- elementwise arithmetic (numpy broadcasting; numbers on either side)
    def __add__(self, other):
        return ops.Add.apply(self, other)

    def __radd__(self, other):
        return ops.Add.apply(other, self)

    def __sub__(self, other):
        return ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return ops.Sub.apply(other, self)

    def __mul__(self, other):
        return ops.Mul.apply(self, other)

    def __rmul__(self, other):
        return ops.Mul.apply(other, self)

    def __truediv__(self, other):
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        return ops.Div.apply(other, self)

    def __pow__(self, other):
        return ops.Pow.apply(self, other)

    def __rpow__(self, other):
        return ops.Pow.apply(other, self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return ops.MatMul.apply(other, self)

    def __neg__(self):
        if self.dtype == np.bool_:
            raise TypeError("neg: negating a bool tensor is not supported (use 1 - x, or x == 0)")
        return ops.Neg.apply(self)

    def _floating(self):
        """Self, or for an int/bool tensor a float32 copy (exp, log, ... of integers give floats, as in PyTorch)."""
        return self if self.dtype.kind == "f" else Tensor(self.data.astype(np.float32))

    def exp(self):
        return ops.Exp.apply(self._floating())

    def log(self):
        return ops.Log.apply(self._floating())

    def sqrt(self):
        return ops.Sqrt.apply(self._floating())

    def abs(self):
        return ops.Abs.apply(self)

    def relu(self):
        return ops.ReLU.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self._floating())

    def tanh(self):
        return ops.Tanh.apply(self._floating())

    def matmul(self, other):
        return self @ other

    # --- comparisons: bool tensors, outside the graph
    def _compare(self, other, fn):
        other = other.data if isinstance(other, Tensor) else other
        if not isinstance(other, numbers.Real):  # Python numbers stay as they are (NumPy's weak scalars)
            try:
                kind = (other if isinstance(other, np.ndarray) else np.asarray(other)).dtype.kind
            except ValueError:
                kind = "O"
            if kind not in "biuf":
                return NotImplemented  # Python then gives False for ==, True for != and TypeError for <
        ops.check_broadcast(fn.__name__, self.shape, np.shape(other))
        return Tensor(fn(self.data, other))

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    # --- reductions
    def sum(self, axis=None, keepdims=False, dim=None):
        axes = _normalize_axis(_axis_arg(axis, dim, "sum"), self.ndim, "sum")
        return ops.Sum.apply(self, axis=axes, keepdims=_check_keepdims(keepdims, "sum"))

    def mean(self, axis=None, keepdims=False, dim=None):
        axes = _normalize_axis(_axis_arg(axis, dim, "mean"), self.ndim, "mean")
        _check_keepdims(keepdims, "mean")
        count = int(np.prod([self.shape[a] for a in axes]))
        if count == 0:
            raise ValueError(f"mean: cannot average over zero elements (shape {self.shape}, axis {axes})")
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / count)

    def max(self, axis=None, keepdims=False, dim=None):
        axes = _normalize_axis(_axis_arg(axis, dim, "max"), self.ndim, "max")
        if self.size == 0 and any(self.shape[a] == 0 for a in axes):
            raise ValueError(f"max: cannot take the max over an empty axis (shape {self.shape}, axis {axes})")
        return ops.Max.apply(self, axis=axes, keepdims=_check_keepdims(keepdims, "max"))

    def min(self, axis=None, keepdims=False, dim=None):
        axes = _normalize_axis(_axis_arg(axis, dim, "min"), self.ndim, "min")
        keepdims = _check_keepdims(keepdims, "min")
        if self.size == 0 and any(self.shape[a] == 0 for a in axes):
            raise ValueError(f"min: cannot take the min over an empty axis (shape {self.shape}, axis {axes})")
        if self.dtype.kind != "f":  # no gradient to track, and negating bool/unsigned ints would be wrong
            return Tensor(np.asarray(self.data.min(axis=axes, keepdims=keepdims)))
        return -((-self).max(axis=axes, keepdims=keepdims))

    def argmax(self, axis=None, keepdims=False, dim=None):
        """Indices of the maxima (int64, no gradient)."""
        axis = _axis_arg(axis, dim, "argmax")
        keepdims = _check_keepdims(keepdims, "argmax")
        if isinstance(axis, (tuple, list)):
            raise TypeError(f"argmax: axis must be a single int or None, got {axis!r}")
        axes = _normalize_axis(axis, self.ndim, "argmax")
        if self.size == 0 and (axis is None or any(self.shape[a] == 0 for a in axes)):
            raise ValueError(f"argmax: cannot take the argmax over an empty axis (shape {self.shape}, axis {axis})")
        if axis is None:
            return Tensor(np.asarray(np.argmax(self.data)))
        if self.ndim == 0:
            return Tensor(np.zeros((), dtype=np.int64))
        return Tensor(np.asarray(np.argmax(self.data, axis=axes[0], keepdims=keepdims)))

    # --- movement
    def reshape(self, *shape):
        shape = _shape_args(shape, "reshape")
        return ops.Reshape.apply(self, shape=ops.resolve_shape(self.shape, shape))

    def view(self, *shape):
        return self.reshape(*shape)

    def permute(self, *axes):
        axes = _shape_args(axes, "permute")
        if (len(axes) != self.ndim or any(not -self.ndim <= a < self.ndim for a in axes)
                or sorted(a % self.ndim for a in axes) != list(range(self.ndim))):
            raise ValueError(f"permute: {axes} is not a permutation of the {self.ndim} axes of a tensor of shape {self.shape}")
        return ops.Permute.apply(self, axes=tuple(a % self.ndim for a in axes))

    def transpose(self, dim0, dim1):
        for d in (dim0, dim1):
            if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
                raise TypeError(f"transpose: dims must be ints, got {dim0!r} and {dim1!r}")
        if self.ndim == 0:
            _normalize_axis(dim0, 0, "transpose"), _normalize_axis(dim1, 0, "transpose")
            return self
        (a,), (b,) = _normalize_axis(dim0, self.ndim, "transpose"), _normalize_axis(dim1, self.ndim, "transpose")
        axes = list(range(self.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return self.permute(*axes)

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    def flatten(self, start_dim=0, end_dim=-1):
        start, end = _one_axis(start_dim, self.ndim, "flatten"), _one_axis(end_dim, self.ndim, "flatten")
        if self.ndim == 0:
            return self.reshape(1)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        merged = math.prod(self.shape[start:end + 1])  # not -1, which a 0-size tensor could not resolve
        return self.reshape(*self.shape[:start], merged, *self.shape[end + 1:])

    def unsqueeze(self, dim):
        d = _one_axis(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(*self.shape[:d], 1, *self.shape[d:])

    def squeeze(self, dim=None):
        axes = _normalize_axis(dim, self.ndim, "squeeze") if dim is not None else tuple(range(self.ndim))
        return self.reshape(*[n for i, n in enumerate(self.shape) if not (i in axes and n == 1)])

    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=ops.normalize_index(index, self.shape))

    @staticmethod
    def cat(tensors, axis=0, dim=None):
        tensors = _tensor_sequence(tensors, "cat")
        for i, t in enumerate(tensors):
            if t.ndim == 0:
                raise ValueError(f"cat: tensor {i} is 0-d and cannot be concatenated (use stack, or reshape it to (1,))")
        axis = _one_axis(_axis_arg(axis, dim, "cat", 0), tensors[0].ndim, "cat")
        return ops.Cat.apply(*tensors, axis=axis)

    @staticmethod
    def stack(tensors, axis=0, dim=None):
        tensors = _tensor_sequence(tensors, "stack")
        for i, t in enumerate(tensors[1:], 1):
            if t.shape != tensors[0].shape:
                raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape {tensors[0].shape}")
        axis = _one_axis(_axis_arg(axis, dim, "stack", 0), tensors[0].ndim + 1, "stack")
        return Tensor.cat([t.unsqueeze(axis) for t in tensors], axis=axis)

    # --- CNN ops (tinygrad_cnn/ops/conv.py, ops/loss.py)
    def conv2d(self, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        from .ops.conv import conv2d
        return conv2d(self, weight, bias, stride, padding, dilation, groups)

    def max_pool2d(self, kernel_size=2, stride=None, padding=0):
        from .ops.conv import max_pool2d
        return max_pool2d(self, kernel_size, stride, padding)

    def avg_pool2d(self, kernel_size=2, stride=None, padding=0):
        from .ops.conv import avg_pool2d
        return avg_pool2d(self, kernel_size, stride, padding)

    def softmax(self, axis=-1, dim=None):
        axis = _one_axis(_axis_arg(axis, dim, "softmax", -1), self.ndim, "softmax")
        return ops.Softmax.apply(self._floating(), axis=axis)

    def log_softmax(self, axis=-1, dim=None):
        axis = _one_axis(_axis_arg(axis, dim, "log_softmax", -1), self.ndim, "log_softmax")
        return ops.LogSoftmax.apply(self._floating(), axis=axis)

    def cross_entropy(self, target, reduction="mean", label_smoothing=0.0):
        from .ops.loss import cross_entropy
        return cross_entropy(self, target, reduction, label_smoothing)


def _tensor_sequence(tensors, op):
    """The list of Tensors given to cat/stack (arrays and numbers are wrapped), checked."""
    if isinstance(tensors, (Tensor, np.ndarray)) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{op}: expected a list or tuple of Tensors, got {type(tensors).__name__}")
    out = []
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            try:
                t = Tensor(t)
            except (TypeError, ValueError) as err:
                raise TypeError(f"{op}: item {i} is not a tensor ({err})") from None
        out.append(t)
    if not out:
        raise ValueError(f"{op}: needs at least one tensor")
    return out


def _topological_order(root):
    """Tensors of root's graph that require grad, every input before the ops that use it.

    Iterative depth-first search (no recursion, so a 100,000-op chain is fine).
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        if node._ctx is not None:
            stack.extend((p, False) for p in node._ctx.parents if p.requires_grad and p not in visited)
    return order


# the ops import this module, so they are imported last
from . import ops  # noqa: E402
