"""`Tensor`: an n-d array that records how it was computed, and reverse-mode autodiff over that record.

Every op result remembers the `Function` call (its *context*) that produced it and that call's
input tensors (its *parents*): together they form a directed acyclic graph whose leaves are the
tensors you created. ``loss.backward()`` walks that graph from ``loss`` back to the leaves in
reverse topological order, asks each op's ``backward`` for the gradient of its inputs, sums the
gradients reaching the same tensor and stores the result in the leaves' ``.grad``.

This file holds the graph and its bookkeeping; the math and shape methods (PyTorch's names and
arguments) come from the two mixins in ``_tensor_math.py`` and ``_tensor_shape.py``, and the
primitive ops themselves live in ``ops/`` (one `Function` each).
"""
import numbers

import numpy as np

from . import parallel
from ._args import numeric_dtype
from ._graph import topological_order
from ._tensor_convert import ConvertMethods
from ._tensor_math import MathMethods
from ._tensor_reduce import ReduceMethods
from ._tensor_shape import ShapeMethods
from .device import cpu
from .function import register_tensor_type
from .grad_mode import (  # noqa: F401
    AnomalyError,
    check_anomaly,
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

# ----------------------------------------------------------------------------- helpers


def _to_array(data, dtype=None):
    """Turn user data into the ndarray a Tensor holds: Python numbers and lists become float32
    (as ``torch.Tensor(...)``; ``tinygrad_cnn.tensor`` infers int64 and bool like ``torch.tensor``)."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.ndarray):
        array = data
    elif isinstance(data, (numbers.Number, list, tuple, np.generic)):
        try:
            array = np.asarray(data)
        except ValueError as err:  # ragged nesting, e.g. [[1, 2], [3]]
            raise ValueError(f"Tensor: cannot make a tensor from a ragged nested sequence ({err})") from None
        if not isinstance(data, np.generic) and dtype is None and array.dtype.kind in "biuf":
            array = array.astype(np.float32)
    else:
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} (expected a number, list or ndarray)")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Tensor: unsupported data type {array.dtype} (expected numbers: float, int or bool)")
    if dtype is not None:
        array = array.astype(numeric_dtype(dtype, "Tensor"), copy=False)
    elif array.dtype == np.float16:
        raise TypeError("Tensor: float16 is not supported (use float32)")
    return array


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
    return np.asarray(grad).reshape(shape)


# ----------------------------------------------------------------------------- Tensor


class Tensor(MathMethods, ReduceMethods, ShapeMethods, ConvertMethods):
    __array_priority__ = 1000  # so ndarray + Tensor dispatches to Tensor.__radd__

    def __init__(self, data, requires_grad=False, dtype=None):
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(
                f"Tensor: requires_grad must be True or False, got {requires_grad!r} (to make a tensor of a "
                f"given shape use tinygrad_cnn.empty / zeros)"
            )
        self._data = _to_array(data, dtype)
        self._grad = None
        self._ctx = None  # the Context of the op that made this tensor; None for a leaf
        self._retain_grad = False
        self._version = [0]  # in-place changes so far; shared with detach()ed aliases
        self._used = False  # True once an op has taken this tensor as an input
        self.requires_grad = requires_grad

    @classmethod
    def _from_op(cls, array, ctx):
        out = Tensor.__new__(Tensor)
        out._data, out._grad, out._ctx, out._retain_grad = array, None, ctx, False
        out._version, out._used = [0], False
        out._requires_grad = ctx is not None
        return out

    def _const(self, array):
        """A new leaf tensor (no history) holding ``array``: the result of a non-differentiable op."""
        return Tensor._from_op(np.asarray(array), None)

    # --- attributes
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self._data.dtype.kind != "f":
            raise RuntimeError(
                f"Tensor: only floating-point tensors can require grad; this one is {self._data.dtype} "
                f"(make it with dtype=tinygrad_cnn.float32)"
            )
        if not value and self._ctx is not None:
            raise RuntimeError("Tensor: cannot turn off requires_grad of a non-leaf tensor; use .detach()")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                try:
                    value = Tensor(np.asarray(value, dtype=self._data.dtype))
                except (TypeError, ValueError) as err:
                    raise TypeError(f"Tensor.grad: cannot use {type(value).__name__} as a gradient ({err})") from None
            if value.shape != self.shape:
                raise ValueError(f"Tensor.grad: gradient shape {value.shape} does not match tensor shape {self.shape}")
        self._grad = value

    @property
    def data(self):
        """The same memory as a tensor without history (``p.data.sub_(...)`` updates ``p``)."""
        out = Tensor._from_op(self._data, None)
        return out

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else _to_array(value)

    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    is_leaf = property(lambda self: self._ctx is None)
    device = property(lambda self: cpu)
    is_cuda = property(lambda self: False)

    @property
    def grad_fn(self):
        """The op call that made this tensor (its `Context`, with ``name()``); None for a leaf."""
        return self._ctx

    def numel(self):
        return self._data.size

    nelement = numel

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def element_size(self):
        return self._data.itemsize

    def numpy(self):
        """The underlying ndarray (shared, not copied)."""
        return self._data

    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self._data, dtype=dtype, copy=True)
        return self._data if dtype is None else self._data.astype(dtype, copy=False)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"Tensor.item: a Tensor with {self._data.size} elements cannot be converted to a Python number"
            )
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def detach(self):
        """The same data, cut from the graph (in-place changes to either show in both)."""
        out = Tensor._from_op(self._data, None)
        out._version = self._version
        return out

    def detach_(self):
        if self._ctx is not None:
            self._ctx = None
        self._requires_grad = False
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        self._retain_grad = True

    # --- Python protocols
    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def _scalar(self, kind):
        if self._data.size != 1:
            raise TypeError(f"only a one-element tensor can be converted to a Python {kind}; shape is {self.shape}")
        return self._data.reshape(())

    def __float__(self):
        return float(self._scalar("float"))

    def __int__(self):
        return int(self._scalar("int"))

    def __index__(self):
        if self.dtype.kind not in "biu":  # bool too, as in PyTorch ([1, 2] * tensor(True) is [1, 2])
            raise TypeError("only integer tensors of a single element can be used as an index; "
                            f"this one is {self.dtype}")
        return int(self._scalar("int"))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of a Tensor with {self._data.size} elements is ambiguous")
        return bool(self._data.reshape(()))

    def __format__(self, spec):
        if self.ndim == 0:
            return self._data.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        if self._data.size <= 16:
            body = np.array2string(self._data, separator=", ", precision=4).replace("\n", "")
            return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{grad})"
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{grad})"

    __hash__ = object.__hash__

    # --- in-place changes
    def _inplace(self, op, compute, *others):
        """Apply an in-place op: into the array itself when no graph is involved, else by rebinding
        this tensor to the out-of-place result, which is safe only while no op has used it yet.
        ``compute(t)`` gives the new value from ``t`` (and ``others``, the op's other inputs)."""
        graph = self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others)
        if is_grad_enabled() and graph:
            if self.is_leaf:
                raise RuntimeError(
                    f"{op}: a leaf tensor that requires grad cannot be changed in place (its old value is "
                    f"needed for its gradient); do it under tinygrad_cnn.no_grad() or on .data"
                )
            if self._used:
                raise RuntimeError(
                    f"{op}: this tensor was already used by another op whose backward needs its old value; "
                    f"write x = x.op(...) instead of changing it in place"
                )
            old = Tensor._from_op(self._data, self._ctx)
            result = _cast_back(op, compute(old), self.dtype)
            data = result._data if result._data.flags.writeable else result._data.copy()
            self._data, self._ctx, self._requires_grad = data, result._ctx, result._requires_grad
        else:
            with no_grad():
                result = _cast_back(op, compute(self), self.dtype)
            np.copyto(self._data, result._data)  # keeps this array (and so every alias of it)
        self._version[0] += 1
        return self

    def _wrap_other(self, value):
        return value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype=self.dtype))

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
        with parallel.single_threaded_blas():
            self._run_backward(self._seed_gradient(gradient), retain_graph)

    def _run_backward(self, gradient, retain_graph):
        """The reverse walk of `backward`: each op's backward, gradients summed per tensor."""
        grads = {self: gradient}
        owned = set()  # tensors whose entry in grads is an array we allocated (safe to add into)
        for node in reversed(topological_order([self], follow=_requires_grad)):
            grad = grads.pop(node, None)
            if grad is None:
                continue
            ctx = node._ctx
            if ctx is None or node._retain_grad:
                node._accumulate_grad(grad)
            if ctx is None:
                continue
            ctx.check_usable()
            with no_grad():
                input_grads = ctx.function.backward(ctx, grad)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            name = ctx.function.__name__
            if len(input_grads) != len(ctx.parents):
                raise RuntimeError(
                    f"{name}.backward returned {len(input_grads)} gradients for {len(ctx.parents)} inputs")
            for parent, g in zip(ctx.parents, input_grads):
                if g is None or not parent.requires_grad:
                    continue
                g = _input_gradient(name, g, parent)
                if parent not in grads:
                    grads[parent] = g
                elif parent in owned:
                    np.add(grads[parent], g, out=grads[parent])
                else:
                    # np.add with out=: a sum of two 0-d arrays stays an array (a plain + gives a scalar)
                    grads[parent] = np.add(grads[parent], g, out=np.empty(parent.shape, dtype=parent.dtype))
                    owned.add(parent)
            if not retain_graph:
                ctx.release()
            del grad, input_grads

    def _seed_gradient(self, gradient):
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"backward: a gradient can be implied only for a one-element output; this output has shape "
                    f"{self.shape}, so pass gradient= of that shape (e.g. loss = out.sum() first)"
                )
            return np.ones(self.shape, dtype=self.dtype)
        try:
            gradient = np.asarray(gradient._data if isinstance(gradient, Tensor) else gradient)
        except ValueError as err:
            raise ValueError(f"backward: gradient is not a regular array ({err})") from None
        if gradient.dtype.kind not in "biuf":
            raise TypeError(f"backward: gradient must be numeric (a Tensor, ndarray or number), got {gradient.dtype}")
        if gradient.shape != self.shape:
            raise ValueError(f"backward: gradient has shape {gradient.shape} but the tensor has shape {self.shape}")
        return gradient.astype(self.dtype, copy=False)

    def _accumulate_grad(self, grad):
        if self._grad is None:
            self._grad = Tensor(np.array(grad, dtype=self.dtype, copy=True))  # a fresh array the user may own
        else:
            np.add(self._grad._data, grad, out=self._grad._data)


register_tensor_type(Tensor)  # Function.apply wraps its inputs and results in this class


def _requires_grad(tensor):
    return tensor.requires_grad


def _cast_back(op, result, dtype):
    """An in-place op's result in the tensor's own dtype: float64 into float32 is fine, as in
    PyTorch, but a float result into an integer tensor (or an int into bool) is refused."""
    if result.dtype == dtype:
        return result
    both_integer = result.dtype.kind in "iu" and dtype.kind in "iu"
    if "biuf".index(result.dtype.kind) > "biuf".index(dtype.kind) and not both_integer:
        raise RuntimeError(f"{op}: result type {result.dtype} can't be cast to the desired output type {dtype}")
    return result._cast(dtype)


def _input_gradient(name, g, parent):
    """One op's gradient for ``parent``, summed down to its shape, as an array of its dtype."""
    g = np.asarray(g)
    check_anomaly(name, "backward", g)
    try:
        g = _unbroadcast(g, parent.shape)
    except ValueError:
        raise RuntimeError(
            f"{name}.backward returned a gradient of shape {g.shape} for an input of shape {parent.shape}"
        ) from None
    return g if g.dtype == parent.dtype else g.astype(parent.dtype)
