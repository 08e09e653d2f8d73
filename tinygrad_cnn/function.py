"""`Function`: the unit of differentiation, with the contract of ``torch.autograd.Function``.

A primitive op is a subclass with two static methods that live side by side::

    class Square(Function):
        @staticmethod
        def forward(ctx, x):              # ndarrays in, one ndarray out
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):          # d(loss)/d(output) in,
            (x,) = ctx.saved_tensors      # one d(loss)/d(input) (or None) per tensor input out
            return 2 * x * grad

    y = Square.apply(t)                   # a Tensor wired into the graph

Positional arguments of ``apply`` are the differentiable inputs (Tensors; numbers and arrays are
wrapped into constant Tensors); keyword arguments are options passed through to ``forward`` as is.
"""
import numpy as np

from . import parallel
from .grad_mode import anomaly_checks_on, check_anomaly, is_grad_enabled

# The Tensor class builds on this module (its methods apply Functions), so this module does not import it:
# _tensor.py registers the class here right after defining it (see register_tensor_type).
_tensor_type = None


def register_tensor_type(cls):
    """Make ``cls`` the type that ``Function.apply`` wraps its inputs and results in (called once, by _tensor.py)."""
    global _tensor_type
    _tensor_type = cls


def tensor_type():
    """The Tensor class (for ``isinstance`` checks in modules that may not import it)."""
    return _tensor_type


class Context:
    """What one call of a Function remembers between its forward and its backward.

    ``needs_input_grad`` tells backward which input gradients are wanted (skip the rest);
    arrays passed to ``save_for_backward`` come back as ``saved_tensors``; any other attribute
    set on ctx in forward is there in backward too. ``options`` holds the keyword arguments of
    ``apply`` (the op's non-tensor arguments) until the backward has run.
    """

    def __init__(self, function, parents):
        self.function = function
        self.parents = parents
        self.needs_input_grad = tuple([p._requires_grad for p in parents])
        self.versions = ()  # the inputs' versions, set by apply when the call is recorded
        self.saved_tensors = ()
        self.released = False

    def name(self):
        """The op's name as PyTorch's grad_fn reports it, e.g. 'MulBackward'."""
        return f"{self.function.__name__}Backward"

    def __repr__(self):
        return f"<{self.name()}>"

    def check_usable(self):
        """RuntimeError if backward can no longer run: saved arrays freed, or an input the
        backward needs changed in place since the forward (PyTorch's version check)."""
        if self.released:
            raise RuntimeError(
                "backward: trying to backward through the graph a second time; its saved arrays were freed "
                "after the first backward (call backward(retain_graph=True) the first time)"
            )
        for parent, version in zip(self.parents, self.versions):
            if parent._version[0] != version and any(
                    isinstance(a, np.ndarray) and np.may_share_memory(a, parent._data) for a in self.saved_tensors):
                raise RuntimeError(
                    f"backward: an input of {self.function.__name__} (shape {parent.shape}) that its backward needs "
                    f"was modified by an in-place operation after the forward (version {version} -> "
                    f"{parent._version[0]}); make a copy with .clone() before changing it"
                )

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    def release(self):
        """Drop saved arrays and parent links after backward, so their memory is freed at once."""
        self.saved_tensors = ()
        self.parents = ()
        self.released = True
        # attributes the op set on ctx (shapes, masks, indices) can be large too
        for name in list(vars(self)):
            if name not in ("function", "parents", "needs_input_grad", "versions", "saved_tensors", "released"):
                delattr(self, name)


class Function:
    """Base class of every differentiable op; see the module docstring for the contract."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, *arrays, **kwargs)")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("a Function subclass must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *inputs, **kwargs):
        Tensor = _tensor_type
        parents = inputs
        for t in inputs:
            if t.__class__ is not Tensor and not isinstance(t, Tensor):  # numbers and arrays become constant tensors
                like = next((t for t in inputs if isinstance(t, Tensor)), None)
                parents = tuple([_as_tensor(t, like, cls.__name__) for t in inputs])
                break
        ctx = Context(cls, parents)
        ctx.options = kwargs  # the op's non-tensor arguments, as given (read by graph tools such as onnx export)
        if parallel.in_single_threaded_blas():  # inside a Module call (or a backward pass): BLAS already at one thread
            out = cls.forward(ctx, *[p._data for p in parents], **kwargs)
        else:
            with parallel.single_threaded_blas():
                out = cls.forward(ctx, *[p._data for p in parents], **kwargs)
        if out.__class__ is not np.ndarray:
            out = _as_result(out, cls.__name__)
        if True in ctx.needs_input_grad and is_grad_enabled():
            ctx.versions = tuple([p._version[0] for p in parents])
            result = Tensor._from_op(out, ctx)
            for p in parents:
                p._used = True
        else:
            result = Tensor._from_op(out, None)
        if anomaly_checks_on():
            check_anomaly(cls.__name__, "forward", out)
        return result


def _as_result(out, op_name):
    """A forward's result as an ndarray: NumPy scalars become 0-d arrays; anything else is an error."""
    if isinstance(out, np.ndarray):
        return out
    if np.isscalar(out) or isinstance(out, np.generic):
        return np.asarray(out)
    raise TypeError(f"{op_name}.forward must return an ndarray, got {type(out).__name__}")


def _as_tensor(value, like, op_name):
    Tensor = _tensor_type
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float)) and like is not None and like.dtype.kind == "f":
        # a Python scalar takes the dtype of the tensor it meets (no float32 -> float64 upcast)
        return Tensor(np.asarray(value, dtype=like.dtype))
    try:
        return Tensor(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{op_name}: cannot use {type(value).__name__} as a tensor input ({err})") from None
