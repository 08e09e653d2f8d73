"""Fuzzing the public API: random shapes, dtypes and arguments thrown at every Tensor op, CNN op,
nn layer, optimizer and file reader.

The contract checked on every call: it either returns a *correct* result (the shape and values of
a NumPy reference computed here, or for conv and pooling by tinygrad_cnn.testing's slow references,
and for differentiable results a backward pass that gives each input a gradient of its own shape),
or it raises a *clear* error:

* ValueError (wrong shapes or values) or TypeError (wrong types), a builtin class and never a
  NumPy subclass such as AxisError or UFuncTypeError leaking out of the internals;
* the exception classes PyTorch uses where the API follows PyTorch: IndexError from indexing and
  for a dim out of range; RuntimeError for autograd / load_state_dict misuse, requires_grad on a
  non-float tensor, a negative size, item()/bool() of a tensor that is not one element, the mean
  of an integer tensor and a max/min/argmax over nothing; NotImplementedError only for the
  documented unsupported layer options;
* with a message that names the op (or the file, for the readers).

Each test lists the classes its op may raise. Never anything else (no AttributeError/KeyError from
internals), and never a hang: shapes are tiny and each example runs under a wall-clock guard.

Where a call is valid (an independent predicate here says so), it must succeed: a check that
wrongly rejects good input is as much a bug as a crash.
"""
import contextlib
import operator
import os
import re
import signal
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, nn, optim
from tinygrad_cnn.data import read_idx
from tinygrad_cnn.testing import conv_args, pool_args, reference_avg_pool2d, reference_conv2d, reference_max_pool2d

# 60 examples per test keeps the file at a few seconds; hunt longer with e.g.
# HYPOTHESIS_PROFILE=dev FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 60))
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DTYPES = [np.float32, np.float64, np.int64, np.bool_]

# things that are not what a numeric argument should be
JUNK = st.sampled_from(["a", "", None, 1.5, float("nan"), object(), {}, [], (1, 2, 3), b"x", 1 + 2j])
# integers around the edges: negative, zero, huge
EDGE_INTS = st.one_of(st.integers(-3, 4), st.sampled_from([10**9, 2**62, 10**30, -(10**30)]))

OUR_EXCEPTIONS = {"AnomalyError", "GradcheckError", "DownloadError"}


# ----------------------------------------------------------------------------------------------
# the contract


class _Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds=10.0):
    """Fail instead of hanging (POSIX main thread only; elsewhere the tiny sizes are the guard)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum, frame):
        raise _Hang(f"call did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


RAISED = object()
LAST_ERROR = []  # the exception behind the latest RAISED, for tests that check which case raised what


def attempt(fn, names, allowed=(ValueError, TypeError)):
    """Call ``fn()``: return its result, or RAISED after checking that the error is a clear one.

    ``names``: a regex that the message must match (the op's name, the file...)."""
    LAST_ERROR[:] = [None]
    try:
        with time_limit(), np.errstate(all="ignore"):
            out = fn()
        event("returned")
        return out
    except _Hang:
        raise
    except Exception as err:  # noqa: BLE001 - classifying every exception is the point
        kind = type(err)
        assert isinstance(err, allowed), f"{kind.__name__} is not one of {[a.__name__ for a in allowed]}: {err}"
        assert kind.__module__ in ("builtins", "tinygrad_cnn.errors") or kind.__name__ in OUR_EXCEPTIONS, (
            f"{kind.__module__}.{kind.__name__} leaked from the internals: {err}"
        )
        assert re.search(names, str(err), re.IGNORECASE), f"{kind.__name__} message does not name {names!r}: {err}"
        event(f"raised {kind.__name__}")
        LAST_ERROR[:] = [err]
        return RAISED


def assert_backward_ok(out, inputs):
    """A differentiable result backpropagates and each input gets a gradient of its own shape."""
    if not isinstance(out, Tensor) or not out.requires_grad:
        return
    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    with time_limit(), np.errstate(all="ignore"):
        out.sum().backward()
    for t in inputs:
        if isinstance(t, Tensor) and t.requires_grad:
            assert t.grad is not None and t.grad.shape == t.shape and t.grad.dtype == t.dtype


def assert_matches(out, expected, rtol=1e-4, atol=1e-5):
    assert isinstance(out, Tensor), type(out)
    expected = np.asarray(expected)
    assert out.shape == expected.shape, (out.shape, expected.shape)
    if expected.size:
        np.testing.assert_allclose(out.numpy().astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol,
                                   equal_nan=True)


# ----------------------------------------------------------------------------------------------
# strategies


def elements(dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return st.booleans()
    if dtype.kind == "i":
        return st.integers(-4, 4)
    return st.floats(-3, 3, width=32, allow_subnormal=False)


@st.composite
def arrays(draw, dtype=None, shape=None, min_dims=0, max_dims=4, min_side=0, max_side=3):
    dtype = draw(st.sampled_from(DTYPES)) if dtype is None else dtype
    if shape is None:
        shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side))
    return draw(hnp.arrays(dtype, shape, elements=elements(dtype)))


@st.composite
def tensors(draw, dtype=None, shape=None, **kw):
    a = draw(arrays(dtype=dtype, shape=shape, **kw))
    grad = a.dtype.kind == "f" and draw(st.booleans())
    return Tensor(a, requires_grad=grad)


def reference_axes(axis, ndim):
    """PyTorch's dim rules, written independently: ints in [-ndim, ndim) (0 and -1 for a 0-d
    tensor, which reduce nothing), no repeats. None if the dim is invalid."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)) and len(axis) == 0:  # () or []: every dim, as torch (not NumPy's none)
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
        return None
    n = max(ndim, 1)
    if not all(-n <= a < n for a in axes):
        return None
    out = [a % n for a in axes]
    if len(set(out)) != len(out):
        return None
    return () if ndim == 0 else tuple(sorted(out))


def mostly(good, bad):
    """Three draws in four from ``good``: enough bad values to test the checks, enough good ones
    that a call with several arguments is often valid and its result gets checked."""
    return st.one_of(good, good, good, bad)


AXES = st.one_of(st.none(), st.integers(-5, 5), st.tuples(st.integers(-4, 4), st.integers(-4, 4)),
                 st.tuples(st.integers(-3, 3)), JUNK)


# ----------------------------------------------------------------------------------------------
# Tensor construction


@fuzz
@given(data=st.one_of(
    arrays(),
    st.lists(st.one_of(st.floats(allow_nan=False, width=32), st.integers(-5, 5), st.booleans()), max_size=4),
    st.lists(st.lists(st.integers(-3, 3), max_size=3), max_size=3),  # possibly ragged
    st.floats(allow_nan=False), st.integers(-(2**70), 2**70), st.booleans(),
    st.text(max_size=3), st.none(), st.just(object()), st.dictionaries(st.integers(), st.integers(), max_size=2),
    st.just(np.array(["a", "b"])), st.just(np.array([1, None], dtype=object)), st.just(np.array([1j])),
), dtype=st.one_of(st.none(), st.sampled_from(DTYPES + [np.float16, "float32", "int64", "nope", object, np.complex64])),
   requires_grad=st.booleans())
def test_tensor_constructor(data, dtype, requires_grad):
    t = attempt(lambda: Tensor(data, dtype=dtype, requires_grad=requires_grad), r"Tensor",
                allowed=(ValueError, TypeError, RuntimeError))
    if dtype is np.float16:
        assert t is RAISED and isinstance(LAST_ERROR[0], TypeError), "float16 must be refused"
    if t is RAISED:
        if isinstance(LAST_ERROR[0], RuntimeError):  # as torch: only a float tensor can require grad
            assert requires_grad and "require grad" in str(LAST_ERROR[0])
        return
    assert t.dtype.kind in "biuf"
    assert t.requires_grad == requires_grad and (not requires_grad or t.dtype.kind == "f")
    expected = np.asarray(data)
    assert t.shape == expected.shape
    if dtype is None and expected.dtype.kind == "f" and expected.dtype != np.float16 and isinstance(data, np.ndarray):
        assert t.dtype == expected.dtype


@fuzz
@given(make=st.sampled_from(["zeros", "ones", "randn", "uniform"]),
       shape=st.lists(st.one_of(st.integers(-2, 3), JUNK), max_size=3),
       dtype=st.sampled_from(DTYPES + [None, np.float16, "x", object]), requires_grad=st.booleans(),
       top_level=st.booleans())
def test_tensor_factories(make, shape, dtype, requires_grad, top_level):
    # Tensor.zeros/ones/randn are the torch-level tinygrad_cnn.zeros/ones/randn; Tensor.uniform is ours
    fn = getattr(tg, make) if top_level and make != "uniform" else getattr(Tensor, make)
    kwargs = {"requires_grad": requires_grad} if dtype is None and make == "uniform" else {
        "dtype": dtype, "requires_grad": requires_grad}
    out = attempt(lambda: fn(*shape, **kwargs), rf"{make}|only floating-point tensors can require grad",
                  allowed=(ValueError, TypeError, RuntimeError))
    expected = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)
    if out is RAISED:
        err = LAST_ERROR[0]
        if isinstance(err, RuntimeError):  # as torch: a negative size, requires_grad on a non-float dtype,
            negative = any(isinstance(s, int) and s < 0 for s in expected if not isinstance(s, bool))
            floating = "dtype must be floating point" in str(err)  # or randn of an integer dtype
            assert negative or floating or (requires_grad and "require grad" in str(err)), err
        return
    assert dtype is not np.float16, "float16 must be refused"
    assert out.shape == expected and out.dtype == np.dtype(np.float32 if dtype is None else dtype)
    assert out.requires_grad == requires_grad and (not requires_grad or out.dtype.kind == "f")


# ----------------------------------------------------------------------------------------------
# elementwise


BINARY = {  # (a non-numeric operand gets Python's own "unsupported operand type(s) for +", as in torch)
    "add": (lambda a, b: a + b, np.add, r"add|unsupported operand type\(s\) for \+:"),
    "sub": (lambda a, b: a - b, np.subtract, r"sub|unsupported operand type\(s\) for -:"),
    "mul": (lambda a, b: a * b, np.multiply, r"mul|unsupported operand type\(s\) for \*:"),
    "div": (lambda a, b: a / b, np.true_divide, r"div|unsupported operand type\(s\) for /:"),
    "pow": (lambda a, b: a ** b, np.power, r"pow|unsupported operand type\(s\) for \*\* or pow\(\):"),
}


@fuzz
@given(name=st.sampled_from(sorted(BINARY)), a=tensors(max_dims=3), b=tensors(max_dims=3), swap=st.booleans())
def test_binary_ops_on_tensors(name, a, b, swap):
    op, ref, names = BINARY[name]
    if swap:
        a, b = b, a
    out = attempt(lambda: op(a, b), names)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        assert out is RAISED, "shapes that do not broadcast must be rejected"
        return
    # only a subtraction with a bool tensor (as torch), and integers to negative integer powers, may fail
    if out is RAISED:
        assert (name == "sub" and np.bool_ in (a.dtype, b.dtype)) or (
            name == "pow" and a.dtype.kind in "bi" and b.dtype.kind in "bi" and (b.numpy() < 0).any())
        return
    with np.errstate(all="ignore"):
        expected = ref(a.numpy(), b.numpy())
    assert out.shape == shape
    assert_matches(out, expected)
    assert_backward_ok(out, [a, b])


@fuzz
@given(name=st.sampled_from(sorted(BINARY)), a=tensors(max_dims=2), other=st.one_of(JUNK, st.floats(-2, 2)),
       reflected=st.booleans())
@example(name="mul", a=Tensor(np.array(False)), other="a", reflected=False)  # torch: "" (a bool is an index)
def test_binary_ops_with_non_tensors(name, a, other, reflected):
    op, ref, names = BINARY[name]
    # list + Tensor and str + Tensor raise in list/str themselves (Python never asks the Tensor)
    assume(not (reflected and isinstance(other, (list, tuple, str, bytes))))
    # tensor * "ab": the str repeats itself, asking the tensor for __index__ (as torch: a one-element
    # integer or bool tensor gives the repetition, any other tensor a TypeError naming the index rule)
    repeats = name == "mul" and isinstance(other, (str, bytes, list, tuple))  # a list is no operand, as in torch
    out = attempt(lambda: op(other, a) if reflected else op(a, other),
                  names + (r"|integer tensors of a single element|one-element tensor" if repeats else ""))
    if repeats:
        if a.numel() == 1 and a.dtype.kind in "biu":
            assert out is not RAISED and out == other * int(a.item())
        else:
            assert out is RAISED
        return
    if out is not RAISED:
        assert out.shape == np.broadcast_shapes(a.shape, np.shape(other))


UNARY = {
    "neg": (lambda t: -t, np.negative),
    "exp": (Tensor.exp, np.exp),
    "log": (Tensor.log, np.log),
    "sqrt": (Tensor.sqrt, np.sqrt),
    "abs": (Tensor.abs, np.abs),
    "relu": (Tensor.relu, lambda x: np.maximum(x, 0)),
    "sigmoid": (Tensor.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (Tensor.tanh, np.tanh),
}


@fuzz
@given(name=st.sampled_from(sorted(UNARY)), a=tensors())
def test_unary_ops(name, a):
    op, ref = UNARY[name]
    out = attempt(lambda: op(a), name)
    if out is RAISED:
        assert name == "neg" and a.dtype == np.bool_
        return
    x = a.numpy() if a.dtype.kind == "f" or name in ("neg", "abs", "relu") else a.numpy().astype(np.float32)
    with np.errstate(all="ignore"):
        assert_matches(out, ref(x))
    if name in ("exp", "log", "sqrt", "sigmoid", "tanh"):
        assert out.dtype.kind == "f"  # integers and bools are promoted, as in PyTorch
    assert_backward_ok(out, [a])


@fuzz
@given(a=tensors(max_dims=3), b=st.one_of(tensors(max_dims=3), JUNK, st.floats(-2, 2)),
       name=st.sampled_from(["lt", "le", "gt", "ge", "eq", "ne"]))
def test_comparisons(a, b, name):
    out = attempt(lambda: getattr(operator, name)(a, b), r"equal|less|greater|not supported")
    if out is RAISED:
        return
    if isinstance(out, bool):  # == / != with a non-number: Python's identity rule, as in PyTorch
        assert name in ("eq", "ne") and not isinstance(b, (Tensor, float))
        return
    assert out.dtype == np.bool_ and not out.requires_grad
    other = b.numpy() if isinstance(b, Tensor) else b
    assert out.shape == np.broadcast_shapes(a.shape, np.shape(other))


# ----------------------------------------------------------------------------------------------
# reductions


ABSENT = object()  # the keyword is not passed at all

REDUCTION_ERRORS = (ValueError, TypeError, IndexError, RuntimeError)


@fuzz
@given(a=tensors(), name=st.sampled_from(["sum", "mean", "max", "min"]), axis=st.one_of(st.just(ABSENT), AXES),
       keepdims=st.one_of(st.just(ABSENT), st.booleans(), st.sampled_from(["yes", None, 2])),
       use_dim=st.booleans(), use_keepdim=st.booleans())
@example(a=Tensor(np.ones((2, 3), np.float32)), name="sum", axis=(), keepdims=ABSENT, use_dim=True,
         use_keepdim=True)  # torch: dim=() reduces every dim
@example(a=Tensor(np.ones((2, 3), np.float32)), name="max", axis=ABSENT, keepdims=True, use_dim=True,
         use_keepdim=True)  # torch: TypeError, max() takes no keepdim
def test_reductions(a, name, axis, keepdims, use_dim, use_keepdim):
    """PyTorch's contract: dim/keepdim (or the aliases axis/keepdims); sum/mean take an int or a
    tuple of ints (an empty tuple reduces every dim); max/min without a dim give the value and take
    no keepdim, with a single int dim a (values, indices) pair; mean needs a float tensor; the mean
    over nothing is nan, the max over nothing an error."""
    kwargs = {}
    if axis is not ABSENT:
        kwargs["dim" if use_dim else "axis"] = axis
    if keepdims is not ABSENT:
        kwargs["keepdim" if use_keepdim else "keepdims"] = keepdims
    out = attempt(lambda: getattr(a, name)(**kwargs), name, allowed=REDUCTION_ERRORS)
    keep = False if keepdims is ABSENT or (keepdims is None and not use_keepdim) else keepdims  # keepdims=None: unset
    pair = name in ("max", "min") and axis is not ABSENT and axis is not None  # dim=None: as no dim (lenient)
    if pair:  # max(dim) / min(dim): one int (torch refuses None, tuples and lists here)
        single = isinstance(axis, int) and not isinstance(axis, bool)
        axes = reference_axes(axis, a.ndim) if single else None
    else:
        axes = reference_axes(None if axis is ABSENT else axis, a.ndim)
    empty = axes is not None and any(a.shape[i] == 0 for i in axes)
    valid = (axes is not None and isinstance(keep, bool)
             and not (name == "mean" and a.dtype.kind != "f")  # torch: RuntimeError, no integer mean
             and not (name in ("max", "min") and empty)
             and not (name in ("max", "min") and not pair and keepdims is True))  # torch: TypeError
    if not valid:
        assert out is RAISED, f"{name}({kwargs}) of a {a.dtype} tensor of shape {a.shape} must be refused"
        return
    assert out is not RAISED, "a valid reduction was rejected"
    x = a.numpy()
    ref = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}[name]
    with np.errstate(all="ignore"):
        expected = ref(x, axis=axes, keepdims=keep) if a.ndim else x
    if pair:
        values, indices = out
        assert out.values is values and out.indices is indices
        assert_matches(values, expected, rtol=1e-3, atol=1e-4)
        assert values.dtype == a.dtype and indices.dtype == np.int64 and indices.shape == values.shape
        if a.ndim:  # the indices point at the values (whichever of tied ones)
            ax, idx = axes[0], indices.numpy()
            picked = np.take_along_axis(x, idx if keep else np.expand_dims(idx, axes[0]), axis=ax)
            np.testing.assert_array_equal(picked if keep else picked.squeeze(ax), values.numpy())
        else:
            assert indices.item() == 0
        assert_backward_ok(values, [a])
        return
    assert_matches(out, expected, rtol=1e-3, atol=1e-4)
    # dtypes as torch: sum of bools and ints is int64, mean and max/min keep the dtype
    assert out.dtype == (np.int64 if name == "sum" and a.dtype.kind in "biu" else a.dtype)
    assert_backward_ok(out, [a])


@fuzz
@given(a=tensors(), axis=st.one_of(st.just(ABSENT), AXES),
       keepdims=st.one_of(st.just(ABSENT), st.booleans(), st.just("no")), use_dim=st.booleans())
def test_argmax(a, axis, keepdims, use_dim):
    kwargs = {} if axis is ABSENT else {"dim" if use_dim else "axis": axis}
    if keepdims is not ABSENT:
        kwargs["keepdim" if use_dim else "keepdims"] = keepdims
    out = attempt(lambda: a.argmax(**kwargs), "argmax", allowed=REDUCTION_ERRORS)
    dim = None if axis is ABSENT else axis
    keep = False if keepdims is ABSENT else keepdims
    single = dim is None or (isinstance(dim, int) and not isinstance(dim, bool))  # torch: one int, or None
    axes = reference_axes(dim, a.ndim) if single else None
    valid = axes is not None and isinstance(keep, bool) and not any(a.shape[i] == 0 for i in axes)
    if not valid:
        assert out is RAISED, f"argmax({kwargs}) of a tensor of shape {a.shape} must be refused"
        return
    assert out is not RAISED, "a valid argmax was rejected"
    assert out.dtype == np.int64
    if dim is None:  # the flat index; keepdim=True keeps every dim at size 1, as torch
        assert out.shape == ((1,) * a.ndim if keep else ())
        assert out.item() == np.argmax(a.numpy())
    elif a.ndim:
        np.testing.assert_array_equal(out.numpy(), np.argmax(a.numpy(), axis=dim, keepdims=keep))
    else:
        assert out.shape == () and out.item() == 0


@fuzz
@given(a=tensors(), name=st.sampled_from(["softmax", "log_softmax"]),
       axis=st.one_of(st.just(ABSENT), st.integers(-4, 4), JUNK), how=st.sampled_from(["dim", "axis", "positional"]))
def test_softmax(a, name, axis, how):
    if axis is ABSENT:  # the Tensor methods need a dim, as torch's Tensor.softmax
        call = lambda: getattr(a, name)()  # noqa: E731
    elif how == "positional":
        call = lambda: getattr(a, name)(axis)  # noqa: E731
    else:
        call = lambda: getattr(a, name)(**{how: axis})  # noqa: E731
    out = attempt(call, name, allowed=(ValueError, TypeError, IndexError))
    ok = axis is not ABSENT and isinstance(axis, int) and not isinstance(axis, bool)
    ok = ok and a.dtype.kind == "f"  # torch: softmax is not implemented for integer tensors
    axes = reference_axes(axis, a.ndim) if ok else None
    if axes is None:
        assert out is RAISED
        return
    assert out is not RAISED, "a valid softmax was rejected"
    x = a.numpy().astype(np.float64)
    if a.ndim and a.numel():
        e = np.exp(x - x.max(axis=axes, keepdims=True))
        s = e / e.sum(axis=axes, keepdims=True)
    else:
        s = np.ones_like(x)
    assert_matches(out, s if name == "softmax" else np.log(s), rtol=1e-3, atol=1e-4)
    assert out.dtype.kind == "f"
    assert_backward_ok(out, [a])


# ----------------------------------------------------------------------------------------------
# movement


@fuzz
@given(a=tensors(), shape=st.lists(st.one_of(st.integers(-2, 6), JUNK), max_size=4))
def test_reshape(a, shape):
    out = attempt(lambda: a.reshape(*shape), "reshape")
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):  # reshape((2, 3)) means reshape(2, 3)
        shape = list(shape[0])
    try:
        ints = all(isinstance(s, int) and not isinstance(s, bool) and s >= -1 for s in shape)  # NumPy takes any < 0
        expected = np.reshape(a.numpy(), shape) if ints else None
    except (ValueError, TypeError):
        expected = None
    if expected is None:
        assert out is RAISED
        return
    assert out is not RAISED, "a valid reshape was rejected"
    assert_matches(out, expected)
    assert_backward_ok(out, [a])


@fuzz
@given(a=tensors(), perm=st.lists(st.one_of(st.integers(-4, 4), JUNK), max_size=4))
def test_permute(a, perm):
    out = attempt(lambda: a.permute(*perm), "permute", allowed=(ValueError, TypeError, IndexError, RuntimeError))
    if len(perm) == 1 and isinstance(perm[0], (tuple, list)):  # permute((1, 0)) means permute(1, 0)
        perm = list(perm[0])
    try:
        ok = all(isinstance(p, int) and not isinstance(p, bool) for p in perm) and len(perm) == a.ndim
        expected = np.transpose(a.numpy(), perm) if ok else None
    except Exception:  # noqa: BLE001 - NumPy's AxisError etc.: an invalid permutation
        expected = None
    if expected is None:
        assert out is RAISED
        return
    assert out is not RAISED, "a valid permutation was rejected"
    assert_matches(out, expected)
    assert_backward_ok(out, [a])


@fuzz
@given(a=tensors(), name=st.sampled_from(["transpose", "flatten", "unsqueeze", "squeeze"]),
       d0=st.one_of(st.integers(-5, 5), JUNK), d1=st.one_of(st.integers(-5, 5), JUNK))
def test_axis_movement(a, name, d0, d1):
    call = {"transpose": lambda: a.transpose(d0, d1), "flatten": lambda: a.flatten(d0, d1),
            "unsqueeze": lambda: a.unsqueeze(d0), "squeeze": lambda: a.squeeze(d0)}[name]
    out = attempt(call, name, allowed=(ValueError, TypeError, IndexError))  # a dim out of range: IndexError
    if out is RAISED:
        return
    assert out.numel() == a.numel()
    if name == "unsqueeze":
        assert out.ndim == a.ndim + 1
    np.testing.assert_array_equal(np.sort(out.numpy(), axis=None), np.sort(a.numpy(), axis=None))
    assert_backward_ok(out, [a])


INDEX_PARTS = st.one_of(
    st.integers(-4, 4), st.slices(4), st.none(), st.just(Ellipsis),
    st.lists(st.integers(-4, 4), max_size=3), st.lists(st.booleans(), min_size=1, max_size=3).map(np.array),
    st.sampled_from([1.0, "a", np.array([0.5]), slice("a", None), slice(None, None, 0), [[0, 1], [1]], {}]),
)


@fuzz
@given(a=tensors(min_dims=0, max_dims=3), index=st.one_of(INDEX_PARTS, st.tuples(INDEX_PARTS, INDEX_PARTS)))
def test_getitem(a, index):
    out = attempt(lambda: a[index], r"index", allowed=(IndexError, TypeError, ValueError))
    try:
        with np.errstate(all="ignore"):
            expected = np.asarray(a.numpy()[index])
    except Exception:  # noqa: BLE001 - anything NumPy refuses, we must refuse too
        expected = None
    if expected is None or isinstance(index, float) or (isinstance(index, tuple) and any(
            isinstance(p, float) for p in index)):
        assert out is RAISED
        return
    assert out is not RAISED, "a valid index was rejected"
    assert_matches(out, expected)
    assert_backward_ok(out, [a])


@fuzz
@given(items=st.lists(tensors(max_dims=3, max_side=2), max_size=3), axis=st.one_of(st.integers(-4, 4), JUNK),
       name=st.sampled_from(["cat", "stack"]), junk=st.one_of(st.none(), JUNK), how=st.sampled_from(["axis", "dim"]))
def test_cat_and_stack(items, axis, name, junk, how):
    args = items if junk is None else (items + [junk] if items else junk)
    if how == "dim" and axis is None:
        axis = 0  # (axis=None is the alias not given; dim=None is not an int, as torch)
    out = attempt(lambda: getattr(Tensor, name)(args, **{how: axis}), name,
                  allowed=(ValueError, TypeError, IndexError, RuntimeError))  # a dim out of range: IndexError
    if out is RAISED or junk is not None:
        return
    arrays_, ax = [t.numpy() for t in items], 0 if axis is None else axis  # None: the default axis 0
    expected = np.concatenate(arrays_, axis=ax) if name == "cat" else np.stack(arrays_, axis=ax)
    assert_matches(out, expected)
    assert_backward_ok(out, items)


@st.composite
def matmul_operands(draw):
    """Mostly compatible operands (1-D, 2-D, batched, 0-size), sometimes arbitrary ones."""
    if draw(st.booleans()):
        return draw(tensors(max_dims=3)), draw(tensors(max_dims=3))
    n, k, m = (draw(st.integers(0, 3)) for _ in range(3))
    batch = draw(st.sampled_from([(), (2,), (1,), (2, 1)]))
    a_shape = (k,) if draw(st.booleans()) else batch + (n, k)
    b_shape = (k,) if draw(st.booleans()) else draw(st.sampled_from([(), (1,), (2,)])) + (k, m)
    if draw(st.integers(0, 4)) == 0:  # a mismatch
        b_shape = b_shape[:-2] + (k + 1,) + b_shape[-1:] if len(b_shape) >= 2 else (k + 1,)
    dtype = draw(st.sampled_from([np.float32, np.float64, np.float64, np.int64]))
    return draw(tensors(dtype=dtype, shape=a_shape)), draw(tensors(dtype=dtype, shape=b_shape))


@fuzz
@given(operands=matmul_operands())
def test_matmul(operands):
    a, b = operands
    out = attempt(lambda: a @ b, r"matmul")
    try:
        expected = np.matmul(a.numpy(), b.numpy())
    except (ValueError, TypeError):
        expected = None
    if expected is None or a.ndim == 0 or b.ndim == 0:
        assert out is RAISED
        return
    assert out is not RAISED, "a valid matmul was rejected"
    assert_matches(out, expected, rtol=1e-3, atol=1e-4)
    assert_backward_ok(out, [a, b])


# ----------------------------------------------------------------------------------------------
# conversions


@fuzz
@given(a=tensors(), dtype=st.one_of(st.sampled_from(DTYPES + ["float32", np.float16]), JUNK, st.just("nope")))
def test_conversions(a, dtype):
    out = attempt(lambda: a.astype(dtype), "astype")
    if dtype is np.float16:
        assert out is RAISED, "float16 must be refused"
    if out is not RAISED:
        assert out.dtype == np.dtype(dtype) and out.shape == a.shape
        np.testing.assert_array_equal(out.numpy(), a.numpy().astype(dtype))
        assert out.requires_grad == (a.requires_grad and out.dtype.kind == "f")
    # item() and bool() of anything but one element: RuntimeError, as torch
    item = attempt(a.item, r"item: a Tensor with \d+ elements", allowed=(RuntimeError,))
    assert (item is RAISED) == (a.numel() != 1)
    if item is not RAISED:
        assert item == a.numpy().reshape(()).item() and type(item) is type(a.numpy().reshape(()).item())
    truth = attempt(lambda: bool(a), r"Boolean value of a Tensor with \d+ elements is ambiguous",
                    allowed=(RuntimeError,))
    assert (truth is RAISED) == (a.numel() != 1)
    length = attempt(lambda: len(a), r"len\(\) of a 0-d tensor")
    assert (length is RAISED) == (a.ndim == 0)


# ----------------------------------------------------------------------------------------------
# detect_anomaly


ANOMALY_OPS = {
    "log": lambda x: x.log(), "sqrt": lambda x: x.sqrt(), "div": lambda x: 1.0 / x, "exp": lambda x: (x * 100).exp(),
    "pow": lambda x: x ** -1.5, "softmax": lambda x: x.softmax(dim=-1),
    "matmul": lambda x: x @ x.T if x.ndim == 2 else x * x,
    "relu": lambda x: x.relu().sum(), "max": lambda x: x.max(), "mean": lambda x: x.mean(),
}


@fuzz
@given(values=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3),
                         elements=st.one_of(st.floats(-3, 3), st.sampled_from([0.0, np.nan, np.inf, -np.inf]))),
       name=st.sampled_from(sorted(ANOMALY_OPS)))
def test_detect_anomaly(values, name):
    """Inside detect_anomaly every op either gives finite values, forward and backward, or the first
    one that does not raises an error naming it (and the phase)."""
    x = Tensor(values, requires_grad=True)

    def run():
        with tg.detect_anomaly():
            out = ANOMALY_OPS[name](x)
            out.sum().backward()
            return out

    out = attempt(run, r"detect_anomaly: [A-Z][A-Za-z]+\.(forward|backward) produced (nan|inf)",
                  allowed=(FloatingPointError,))
    if out is RAISED:
        return
    assert np.isfinite(out.numpy()).all() and np.isfinite(x.grad.numpy()).all()


# ----------------------------------------------------------------------------------------------
# autograd misuse


@fuzz
@given(a=tensors(max_dims=2), gradient=st.one_of(st.none(), arrays(max_dims=2), JUNK),
       retain=st.booleans(), twice=st.booleans(), same_shape=st.booleans())
def test_backward(a, gradient, retain, twice, same_shape):
    if a.dtype.kind == "f" and same_shape:
        a.requires_grad = True
        if isinstance(gradient, np.ndarray):
            gradient = np.resize(gradient, a.shape)
    y = a * 2
    out = attempt(lambda: y.backward(gradient, retain_graph=retain), r"backward|gradient",
                  allowed=(ValueError, TypeError, RuntimeError))
    if out is RAISED:
        return
    assert a.requires_grad and a.grad.shape == a.shape
    if twice:
        again = attempt(lambda: y.backward(gradient), r"backward", allowed=(RuntimeError,))
        assert (again is RAISED) != retain


# ----------------------------------------------------------------------------------------------
# conv2d and pooling


def geometry(value, minimum):
    """A valid int-or-pair argument as a pair, or None."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, tuple) or len(value) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    return value if min(value) >= minimum else None


GEOM = st.one_of(EDGE_INTS, st.tuples(st.integers(-1, 3), st.integers(-1, 3)), JUNK)
FLOATS = st.sampled_from([np.float32, np.float64])


@st.composite
def conv_calls(draw):
    """(x, weight, bias, kwargs): a valid conv2d call (0-size batch included), and half the time
    the same call with one thing broken: the rank, dtype or channels of an input, the bias, or
    one argument replaced by an edge value or junk."""
    args = draw(conv_args(max_batch=2, max_kernel=3, max_stride=3, max_padding=2))
    x = draw(tensors(dtype=draw(FLOATS), shape=args.input_shape))
    w = draw(tensors(dtype=draw(FLOATS), shape=args.weight_shape))
    bias = draw(tensors(dtype=draw(FLOATS), shape=args.bias_shape)) if args.bias else None
    kwargs = dict(args.kwargs)
    what = draw(st.sampled_from(["nothing"] * 6 + ["x", "w", "bias", "stride", "padding", "dilation", "groups"]))
    if what == "x":
        x = draw(st.one_of(tensors(min_dims=3, max_dims=5, max_side=4),
                           tensors(shape=(0,) + args.input_shape[1:]),
                           tensors(shape=args.input_shape)))  # any dtype
    elif what == "w":
        w = draw(tensors(min_dims=3, max_dims=5, max_side=3))
    elif what == "bias":
        bias = draw(st.one_of(tensors(max_dims=2, max_side=4), JUNK))
    elif what == "padding":
        kwargs["padding"] = draw(st.one_of(GEOM, st.sampled_from(["same", "valid", "full", 10**6])))
    elif what != "nothing":
        kwargs[what] = draw(st.one_of(GEOM, st.integers(-1, 3)) if what == "groups" else GEOM)
    return x, w, bias, kwargs



def conv_pads(padding, stride, dilation, kernel):
    """(top, bottom, left, right) for a valid padding argument, else None."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        if stride != (1, 1):
            return None
        th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    p = None if isinstance(padding, str) else geometry(padding, 0)
    return None if p is None else (p[0], p[0], p[1], p[1])


@fuzz
@given(call=conv_calls())
def test_conv2d(call):
    x, w, bias, kw = call
    stride, padding, dilation, groups = kw["stride"], kw["padding"], kw["dilation"], kw["groups"]
    out = attempt(lambda: x.conv2d(w, bias, **kw), "conv2d")
    s, d = geometry(stride, 1), geometry(dilation, 1)
    valid = bool(x.ndim == 4 and w.ndim == 4 and x.dtype.kind == "f" and w.dtype.kind == "f" and s and d
                 and isinstance(groups, int) and not isinstance(groups, bool) and groups >= 1
                 and min(x.shape) > 0 and min(w.shape) > 0 and x.shape[1] == w.shape[1] * groups
                 and w.shape[0] % groups == 0
                 and (bias is None or (isinstance(bias, Tensor) and bias.shape == (w.shape[0],))))
    pads = conv_pads(padding, s, d, w.shape[2:]) if valid else None
    valid = pads is not None and all(
        size + pt >= dd * (k - 1) + 1 for size, pt, dd, k in
        ((x.shape[2], pads[0] + pads[1], d[0], w.shape[2]), (x.shape[3], pads[2] + pads[3], d[1], w.shape[3])))
    if not valid:
        assert out is RAISED
        return
    if max(pads) > 1000:  # valid, but may need more memory than there is: a clear error is fine too
        return
    assert out is not RAISED, "a valid conv2d was rejected"
    expected = reference_conv2d(x, w, bias, stride=s, padding=padding, dilation=d, groups=groups)
    assert_matches(out, expected, rtol=1e-3, atol=1e-3)
    assert out.dtype == np.result_type(x.dtype, w.dtype)
    assert_backward_ok(out, [x, w, bias])


@st.composite
def pool_calls(draw):
    """(x, kernel, stride, padding): valid, or with one thing broken (as conv_calls)."""
    args = draw(pool_args(max_kernel=3, max_stride=3))
    x = draw(tensors(dtype=draw(FLOATS), shape=args.input_shape))
    kernel, stride, padding = args.kernel_size, args.stride, args.padding
    what = draw(st.sampled_from(["nothing"] * 4 + ["x", "kernel", "stride", "padding"]))
    if what == "x":
        x = draw(st.one_of(tensors(min_dims=3, max_dims=5, max_side=4), tensors(shape=(0,) + args.input_shape[1:])))
    elif what == "kernel":
        kernel = draw(GEOM)
    elif what == "stride":
        stride = draw(st.one_of(GEOM, st.none()))
    elif what == "padding":
        padding = draw(GEOM)
    return x, kernel, stride, padding


@fuzz
@given(call=pool_calls(), name=st.sampled_from(["max_pool2d", "avg_pool2d"]))
def test_pooling(call, name):
    x, kernel, stride, padding = call
    out = attempt(lambda: getattr(x, name)(kernel, stride, padding), name)
    k, p = geometry(kernel, 1), geometry(padding, 0)
    s = k if stride is None else geometry(stride, 1)
    valid = (x.ndim == 4 and x.dtype.kind == "f" and k and s and p and min(x.shape) > 0
             and all(2 * pp <= kk and size + 2 * pp >= kk for size, kk, pp in zip(x.shape[2:], k, p)))
    if not valid:
        assert out is RAISED
        return
    assert out is not RAISED, f"a valid {name} was rejected"
    reference = reference_max_pool2d if name == "max_pool2d" else reference_avg_pool2d
    expected = reference(x, k, s, p)
    assert_matches(out, expected)
    assert out.dtype == x.dtype
    assert_backward_ok(out, [x])


@st.composite
def cross_entropy_calls(draw):
    """Logits (N, C) (N = 0 included) with class indices; sometimes one unbatched sample, logits
    (C,) with a 0-d target; sometimes class probabilities (a float target shaped like the
    logits); then half the time one thing broken."""
    n, c = draw(st.integers(0, 4)), draw(st.integers(1, 4))
    logits = draw(tensors(dtype=draw(FLOATS), shape=(n, c)))
    target = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    kind = draw(st.sampled_from(["indices"] * 4 + ["unbatched", "probabilities"]))
    if kind == "unbatched":
        logits, target = draw(tensors(dtype=draw(FLOATS), shape=(c,))), np.array(draw(st.integers(0, c - 1)))
    elif kind == "probabilities":
        target = draw(hnp.arrays(draw(FLOATS), (n, c), elements=st.floats(0, 1, width=32)))
    if draw(st.booleans()):
        target = draw(st.sampled_from([target, target.tolist(), Tensor(target)] + (
            [target.astype(np.uint8)] if kind != "probabilities" else [])))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    smoothing = draw(st.sampled_from([0.0, 0.1, 1.0]))
    what = draw(st.sampled_from(["nothing"] * 4 + ["logits", "target", "reduction", "smoothing"]))
    if what == "logits":
        logits = draw(tensors(min_dims=0, max_dims=3, max_side=4))
    elif what == "target":
        target = draw(st.one_of(arrays(min_dims=0, max_dims=2, max_side=4), tensors(max_dims=1, max_side=4),
                                st.lists(st.integers(-2, 5), max_size=4), JUNK,
                                hnp.arrays(np.int64, (n,), elements=st.integers(-3, c + 2))))
    elif what == "reduction":
        reduction = draw(st.sampled_from(["avg", None, "MEAN", 1]))
    elif what == "smoothing":
        smoothing = draw(st.one_of(st.floats(-0.5, 1.5), JUNK))
    return logits, target, reduction, smoothing


@fuzz
@given(call=cross_entropy_calls())
@example(call=(Tensor(np.zeros((2, 3), np.float32)), np.full((2, 3), 0.5), "mean", 0.0))  # torch: a float64 loss
def test_cross_entropy(call):
    logits, target, reduction, smoothing = call
    # (class indices out of range: IndexError in torch, "Target 5 is out of bounds"; an integer
    # input: NotImplementedError; a bad target dtype: RuntimeError)
    out = attempt(lambda: logits.cross_entropy(target, reduction=reduction, label_smoothing=smoothing),
                  "cross_entropy", allowed=(ValueError, TypeError, IndexError, RuntimeError, NotImplementedError))
    try:
        t = target.numpy() if isinstance(target, Tensor) else np.asarray(target)
    except ValueError:
        t = None
    float_logits = logits.dtype.kind == "f" and logits.ndim in (1, 2) and logits.shape[-1] > 0
    arguments_ok = (isinstance(reduction, str) and reduction in ("mean", "sum", "none")
                    and isinstance(smoothing, float) and 0 <= smoothing <= 1)
    n, c = (logits.shape if logits.ndim == 2 else (None, logits.shape[-1])) if logits.ndim else (None, 0)
    batch = () if logits.ndim == 1 else (n,)
    indices = (t is not None and t.dtype.kind in "iu" and t.shape == batch
               and (t.size == 0 or (t.min() >= 0 and t.max() < c)))
    probabilities = t is not None and t.dtype.kind == "f" and t.shape == logits.shape
    valid = float_logits and arguments_ok and (indices or probabilities)
    if not valid:
        assert out is RAISED
        return
    assert out is not RAISED, "a valid cross_entropy was rejected"
    x = logits.numpy().astype(np.float64).reshape(-1, c)
    logp = x - x.max(1, keepdims=True) if x.size else x
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    if probabilities:
        p = t.reshape(-1, c).astype(np.float64) * (1 - smoothing) + smoothing / c
        losses = -(p * logp).sum(1)
    else:
        rows = t.reshape(-1).astype(np.int64)
        losses = -(1 - smoothing) * logp[np.arange(len(rows)), rows] - smoothing / c * logp.sum(1)
    mean = losses.mean() if losses.size else np.nan  # the mean over an empty batch: nan, as torch
    expected = {"mean": mean, "sum": losses.sum(), "none": losses.reshape(batch)}[reduction]
    assert_matches(out, expected, rtol=1e-3, atol=1e-4)
    # torch promotes: float32 logits with float64 probabilities give a float64 loss (a list of floats
    # is read as torch.tensor reads it, float32)
    target_dtype = np.dtype(np.float32) if isinstance(target, list) else t.dtype
    assert out.dtype == (np.result_type(logits.dtype, target_dtype) if probabilities else logits.dtype)
    assert_backward_ok(out, [logits])


# ----------------------------------------------------------------------------------------------
# nn layers


@st.composite
def break_one(draw, good, bad):
    """A dict of arguments drawn from ``good`` (name -> strategy), then, in about half the
    examples, one of them replaced by a draw from ``bad`` (name -> strategy). Returns
    (arguments, name of the broken one or None)."""
    args = {name: draw(strategy) for name, strategy in good.items()}
    broken = draw(st.sampled_from([None] * len(bad) + sorted(bad)))
    if broken is not None:
        args[broken] = draw(bad[broken])
    return args, broken


POSITIVE = st.integers(1, 4)
BAD_COUNT = st.one_of(st.integers(-2, 0), JUNK, st.just(True), st.just(10**30))
BAD_GEOM = st.one_of(st.integers(-2, 0), st.tuples(st.integers(-1, 3), st.integers(-1, 3)), JUNK, st.just(10**30))


@fuzz
@given(call=break_one({"in_features": POSITIVE, "out_features": POSITIVE, "bias": st.booleans()},
                      {"in_features": BAD_COUNT, "out_features": BAD_COUNT}),
       x=tensors(max_dims=3, max_side=4), fit=st.booleans())
def test_linear(call, x, fit):
    (args, broken) = call
    layer = attempt(lambda: nn.Linear(**args), "Linear")
    if broken:
        assert layer is RAISED
        return
    assert layer is not RAISED
    if fit and x.ndim:
        x = Tensor(np.resize(x.numpy(), x.shape[:-1] + (args["in_features"],)), requires_grad=x.requires_grad)
    out = attempt(lambda: layer(x), "Linear")
    if x.ndim == 0 or x.shape[-1] != args["in_features"]:
        assert out is RAISED
        return
    assert out is not RAISED, "a valid Linear call was rejected"
    expected = x.numpy().astype(np.float64) @ layer.weight.numpy().T + (layer.bias.numpy() if args["bias"] else 0)
    assert_matches(out, expected, rtol=1e-3, atol=1e-4)
    assert_backward_ok(out, [x, layer.weight])


@fuzz
@given(call=break_one({"in_channels": POSITIVE, "out_channels": POSITIVE, "kernel_size": st.integers(1, 3),
                       "stride": st.integers(1, 2), "padding": st.one_of(st.integers(0, 2), st.just("valid")),
                       "dilation": st.integers(1, 2), "bias": st.booleans()},
                      {"in_channels": BAD_COUNT, "out_channels": BAD_COUNT, "kernel_size": BAD_GEOM,
                       "stride": BAD_GEOM, "padding": st.one_of(BAD_GEOM, st.just("full")),
                       "dilation": BAD_GEOM, "groups": st.one_of(BAD_COUNT, st.integers(2, 3)),
                       "padding_mode": st.sampled_from(["reflect", "circular", 1])}),
       batch=st.integers(1, 2), size=st.tuples(st.integers(1, 6), st.integers(1, 6)),
       x_broken=st.sampled_from([None, None, None, "rank", "channels", "dtype"]))
def test_conv2d_layer(call, batch, size, x_broken):
    (args, broken) = call
    layer = attempt(lambda: nn.Conv2d(**args), "Conv2d", allowed=(ValueError, TypeError, NotImplementedError))
    if layer is RAISED:
        assert broken is not None
        return
    c = args["in_channels"] if isinstance(args["in_channels"], int) else 1
    shape = {"rank": (c, *size), "channels": (batch, c + 1, *size)}.get(x_broken, (batch, c, *size))
    x = Tensor(np.ones(shape, np.int64 if x_broken == "dtype" else np.float32))
    out = attempt(lambda: layer(x), "conv2d|Conv2d")
    if out is not RAISED:
        assert x_broken is None and out.shape[:2] == (batch, layer.out_channels)
        expected = reference_conv2d(x, layer.weight, layer.bias, layer.stride, layer.padding, layer.dilation,
                                    layer.groups)
        assert_matches(out, expected, rtol=1e-3, atol=1e-4)
    elif x_broken is None and broken is None:
        k, d = layer.kernel_size, layer.dilation
        pads = conv_pads(layer.padding, layer.stride, d, k)
        assert any(size[i] + pads[2 * i] + pads[2 * i + 1] < d[i] * (k[i] - 1) + 1 for i in (0, 1))


@fuzz
@given(name=st.sampled_from(["MaxPool2d", "AvgPool2d"]),
       call=break_one({"kernel_size": st.integers(1, 3), "stride": st.one_of(st.none(), st.integers(1, 3)),
                       "padding": st.integers(0, 1)},
                      {"kernel_size": BAD_GEOM, "stride": BAD_GEOM, "padding": st.one_of(BAD_GEOM, st.integers(2, 3)),
                       "ceil_mode": st.just(True)}),
       x=st.one_of(tensors(dtype=np.float32, shape=(1, 2, 3, 4)), tensors(min_dims=3, max_dims=5, max_side=4)))
def test_pool_layers(name, call, x):
    (args, broken) = call
    layer = attempt(lambda: getattr(nn, name)(**args), name, allowed=(ValueError, TypeError, NotImplementedError))
    if layer is RAISED:
        assert broken is not None or 2 * args["padding"] > args["kernel_size"]
        return
    out = attempt(lambda: layer(x), name + "|" + name[:3].lower() + "_pool2d")
    if out is not RAISED:  # (N, C, H, W) or, as torch, one unbatched (C, H, W)
        assert x.ndim in (3, 4) and out.ndim == x.ndim and out.shape[:-2] == x.shape[:-2]
        assert_backward_ok(out, [x])


@fuzz
@given(call=break_one({"num_features": POSITIVE, "eps": st.sampled_from([1e-5, 0.0, 0.1]),
                       "momentum": st.sampled_from([0.1, 0.0, 1.0, None]), "affine": st.booleans(),
                       "track_running_stats": st.booleans()},
                      {"num_features": BAD_COUNT, "eps": st.one_of(st.floats(-1, -1e-9), JUNK),
                       "momentum": st.one_of(st.floats(1.01, 3), st.floats(-1, -0.01), JUNK)}),
       train=st.booleans(), x=tensors(min_dims=3, max_dims=5, max_side=3), fit=st.booleans())
def test_batchnorm(call, train, x, fit):
    (args, broken) = call
    layer = attempt(lambda: nn.BatchNorm2d(**args), "BatchNorm2d")
    if layer is RAISED:
        assert broken is not None
        return
    num, track = args["num_features"], args["track_running_stats"]
    if fit:
        x = Tensor(np.random.default_rng(0).standard_normal((2, num, 2, 1)), requires_grad=x.requires_grad)
    layer.train(train)
    out = attempt(lambda: layer(x), "BatchNorm2d")
    valid = x.ndim == 4 and x.shape[1] == num and x.dtype.kind == "f" and (
        (not train and track) or x.shape[0] * x.shape[2] * x.shape[3] > 1)
    if not valid:
        assert out is RAISED
        return
    assert out is not RAISED, "a valid BatchNorm2d call was rejected"
    assert out.shape == x.shape and out.dtype.kind == "f"
    assert_backward_ok(out, [x])


@fuzz
@given(p=mostly(st.floats(0, 1), st.one_of(st.floats(-0.5, 1.5), JUNK)), train=st.booleans(), x=tensors(max_dims=3))
def test_dropout(p, train, x):
    layer = attempt(lambda: nn.Dropout(p), "Dropout")
    if layer is RAISED:
        assert not (isinstance(p, float) and 0 <= p <= 1)
        return
    layer.train(train)
    out = attempt(lambda: layer(x), "Dropout", allowed=(ValueError, TypeError, RuntimeError))
    if x.dtype.kind != "f" and train and p > 0:  # torch: RuntimeError (a float mask cannot scale ints)
        assert out is RAISED
        return
    assert out is not RAISED and out.shape == x.shape and out.dtype == x.dtype
    if not train or p == 0:  # the identity, for any dtype, as torch
        np.testing.assert_array_equal(out.numpy(), x.numpy())
    assert_backward_ok(out, [x])


@fuzz
@given(name=st.sampled_from(["ReLU", "Sigmoid", "Tanh", "Flatten", "Softmax", "LogSoftmax", "Identity"]),
       arg=st.one_of(st.integers(-3, 3), JUNK), x=st.one_of(tensors(max_dims=3), JUNK, arrays(max_dims=2)))
def test_simple_layers(name, arg, x):
    cls = getattr(nn, name)
    layer = cls(arg) if name in ("Flatten", "Softmax", "LogSoftmax") else cls()
    op = {"Flatten": "flatten", "Softmax": "softmax", "LogSoftmax": "log_softmax"}.get(name, name.lower())
    out = attempt(lambda: layer(x), f"{name}|{op}", allowed=(ValueError, TypeError, IndexError))  # dim out of range
    if name == "Identity":
        assert out is x
    elif out is not RAISED:
        assert isinstance(x, Tensor)
        assert_backward_ok(out, [x])


@fuzz
@given(call=break_one({"reduction": st.sampled_from(["mean", "sum", "none"]),
                       "label_smoothing": st.sampled_from([0.0, 0.2])},
                      {"reduction": st.one_of(st.just("avg"), JUNK),
                       "label_smoothing": st.one_of(st.floats(1.01, 2), JUNK)}),
       logits=mostly(tensors(dtype=np.float32, shape=(3, 4)), st.one_of(tensors(max_dims=3, max_side=3), JUNK)),
       target=mostly(st.lists(st.integers(0, 3), min_size=3, max_size=3), st.lists(st.integers(-1, 5), max_size=4)))
def test_cross_entropy_loss_layer(call, logits, target):
    (args, broken) = call
    layer = attempt(lambda: nn.CrossEntropyLoss(**args), "CrossEntropyLoss")
    if layer is RAISED:
        assert broken is not None
        return
    out = attempt(lambda: layer(logits, target), "CrossEntropyLoss|cross_entropy")
    if out is not RAISED:
        assert_backward_ok(out, [logits])


# ----------------------------------------------------------------------------------------------
# optimizers


HYPER = st.floats(0, 0.99)
BAD_HYPER = st.one_of(st.floats(-2, -1e-6), st.sampled_from([float("inf"), float("nan"), "a", None, object(), (1, 2, 3),
                                                              [], 1 + 2j, True]))


@fuzz
@given(cls=st.sampled_from(["SGD", "Adam", "AdamW"]),
       call=break_one({"lr": HYPER, "weight_decay": HYPER},
                      {"lr": BAD_HYPER, "weight_decay": BAD_HYPER,
                       "params": st.sampled_from(["none", "empty", "tensor", "ints", "nonleaf", "twice"])}),
       sgd=break_one({"momentum": HYPER, "nesterov": st.booleans()}, {"momentum": BAD_HYPER}),
       adam=break_one({"betas": st.tuples(HYPER, HYPER), "eps": HYPER},
                      {"betas": st.one_of(st.tuples(BAD_HYPER, HYPER), st.tuples(HYPER, st.floats(1, 2)), JUNK),
                       "eps": BAD_HYPER}))
def test_optimizer_arguments(cls, call, sgd, adam):
    (args, broken), (extra, broken_extra) = call, (sgd if cls == "SGD" else adam)
    p = nn.Parameter(np.ones(3))
    params = {"none": None, "empty": [], "tensor": p, "ints": [1, 2], "nonleaf": [p * 2], "twice": [p, p]}.get(
        args.pop("params", None), [p])
    opt = attempt(lambda: getattr(optim, cls)(params, **args, **extra), rf"{cls}|optimi[sz]e|param")
    nesterov_without_momentum = cls == "SGD" and extra["nesterov"] and not (isinstance(extra["momentum"], float)
                                                                           and extra["momentum"] > 0)
    if broken or broken_extra or nesterov_without_momentum:
        assert opt is RAISED
        return
    assert opt is not RAISED, "valid optimizer arguments were rejected"
    p.grad = np.full(3, 0.5)
    opt.step()
    assert np.isfinite(p.numpy()).all()


# ----------------------------------------------------------------------------------------------
# files


@pytest.fixture(scope="module")
def weight_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "weights.safetensors"
    tg.save({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(2, np.int64)}, path)
    return path


@fuzz
@given(cut=st.integers(0, 200), flips=st.lists(st.tuples(st.integers(0, 199), st.integers(0, 255)), max_size=4),
       extra=st.binary(max_size=8))
def test_load_of_damaged_weight_files(weight_file, tmp_path_factory, cut, flips, extra):
    data = bytearray(weight_file.read_bytes())
    for where, value in flips:
        if where < len(data):
            data[where] = value
    data = bytes(data[:cut]) + extra
    path = tmp_path_factory.mktemp("damaged") / "broken.safetensors"
    path.write_bytes(data)
    loaded = attempt(lambda: tg.load(path), re.escape(str(path)), allowed=(ValueError,))
    if loaded is not RAISED:
        assert all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in loaded.items())
    meta = attempt(lambda: tg.load_metadata(path), re.escape(str(path)), allowed=(ValueError,))
    assert meta is RAISED or isinstance(meta, dict)


IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


@fuzz
@given(array=st.sampled_from(sorted(IDX_CODES, key=str)).flatmap(
           lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))),
       cut=st.one_of(st.none(), st.integers(0, 40)), flips=st.lists(st.tuples(st.integers(0, 15), st.integers(0, 255)),
                                                                    max_size=2),
       gz=st.booleans(), gz_cut=st.booleans())
def test_read_idx_of_damaged_files(tmp_path_factory, array, cut, flips, gz, gz_cut):
    import gzip

    payload = bytearray(bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim]))
    payload += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload += array.astype(array.dtype.newbyteorder(">")).tobytes()
    for where, value in flips:
        if where < len(payload):
            payload[where] = value
    payload = bytes(payload if cut is None else payload[:cut])
    if gz:
        payload = gzip.compress(payload)
        payload = payload[: len(payload) // 2] if gz_cut else payload
    path = tmp_path_factory.mktemp("idx") / "file.idx"
    path.write_bytes(payload)
    out = attempt(lambda: read_idx(path), re.escape(str(path)), allowed=(ValueError,))
    if out is not RAISED and cut is None and not flips and not (gz and gz_cut):
        np.testing.assert_array_equal(out, array)


@fuzz
@given(state=st.dictionaries(st.one_of(st.text(max_size=4), st.integers(0, 3), st.none()),
                             st.one_of(arrays(max_dims=2), tensors(max_dims=2), JUNK,
                                       st.just(np.array([1j])), st.just(np.array(["s"]))), max_size=3),
       metadata=st.one_of(st.none(), st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
                          st.dictionaries(st.text(max_size=2), st.integers(), min_size=1, max_size=1), JUNK))
def test_save_and_load_round_trip(tmp_path_factory, state, metadata):
    """save either writes a file that loads back the same arrays and metadata, or raises TypeError
    (naming save) and leaves the file that was there untouched, with no temporary file behind."""
    directory = tmp_path_factory.mktemp("save")
    path = directory / "model.safetensors"
    tg.save({"old": np.zeros(2, np.float32)}, path)
    before = path.read_bytes()
    out = attempt(lambda: tg.save(state, path, metadata=metadata), r"save")
    assert sorted(p.name for p in directory.iterdir()) == ["model.safetensors"]
    if out is RAISED:
        assert path.read_bytes() == before
        return
    loaded = tg.load(path)
    assert sorted(loaded) == sorted(state)
    for key, value in state.items():
        np.testing.assert_array_equal(loaded[key], value.numpy() if isinstance(value, Tensor) else value)
    assert tg.load_metadata(path) == (metadata or {})


@fuzz
@given(keys=st.lists(st.one_of(st.sampled_from(["weight", "bias", "other"]), st.integers(0, 2)), max_size=3),
       shapes=st.lists(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), min_size=3, max_size=3),
       strict=st.booleans())
def test_load_state_dict(keys, shapes, strict):
    layer = nn.Linear(3, 2)
    state = {k: np.zeros(s, np.float32) for k, s in zip(keys, shapes)}
    before = layer.weight.numpy().copy()
    out = attempt(lambda: layer.load_state_dict(state, strict=strict), r"state_dict|Linear",
                  allowed=(RuntimeError, TypeError))
    if out is RAISED:
        np.testing.assert_array_equal(layer.weight.numpy(), before)  # nothing copied on error
