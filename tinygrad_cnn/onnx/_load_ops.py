"""Load-side ops: ``op(node, args, attrs, module) -> value or tuple of values``. Values are Tensors,
or NumPy arrays for constants and shape arithmetic (kept out of the graph: an op on arrays only
computes with NumPy). The conv, pooling, normalisation and resize ops are in ``_load_layers.py``.
"""
import math

import numpy as np

from .._tensor import Tensor
from ..nn import functional as F
from ..toplevel import cat

# the input slots that must be known when the graph runs (shapes, axes, scales, bounds)
STATIC_INPUTS = {"Reshape": {1}, "Resize": {1, 2, 3}, "Upsample": {1}, "Clip": {1, 2}, "Pad": {1, 2, 3},
                 "Slice": {1, 2, 3, 4}, "Squeeze": {1}, "Unsqueeze": {1}, "Expand": {1}, "Tile": {1},
                 "ReduceSum": {1}, "ReduceMean": {1}, "ReduceMax": {1}, "ReduceMin": {1}, "ReduceProd": {1},
                 "ReduceL2": {1}, "ConstantOfShape": {0}, "Where": {0}, "Gather": {1}}


def tensor(value, like=None):
    """A Tensor of ``value`` (an array becomes a constant, of ``like``'s float dtype if it is float)."""
    if isinstance(value, Tensor):
        return value
    array = np.asarray(value)
    if like is not None and array.dtype.kind == "f" and like.dtype.kind == "f":
        array = array.astype(like.dtype, copy=False)
    return Tensor(array)


def static(node, value):
    """The NumPy value of a shape-like input."""
    if value is None:
        return None
    return value.numpy() if isinstance(value, Tensor) else np.asarray(value)


def _operands(args):
    like = next((a for a in args if isinstance(a, Tensor)), None)
    return [tensor(a, like) for a in args]


def _elementwise(numpy_fn, tensor_fn):
    def op(node, args, attrs, module):
        if all(isinstance(a, np.ndarray) for a in args):
            return np.asarray(numpy_fn(*args))
        return tensor_fn(*_operands(args))
    return op


def _variadic(numpy_fn, tensor_fn):
    def op(node, args, attrs, module):
        if all(isinstance(a, np.ndarray) for a in args):
            return np.asarray(numpy_fn.reduce(np.broadcast_arrays(*args)) if len(args) > 1 else args[0])
        values = _operands(args)
        out = values[0]
        for v in values[1:]:
            out = tensor_fn(out, v)
        return out
    return op


def _div(a, b):
    if np.asarray(a).dtype.kind in "iu" and np.asarray(b).dtype.kind in "iu":
        return np.trunc(a / b).astype(np.result_type(a, b))
    return a / b


def _compare(fn):
    def op(node, args, attrs, module):
        a, b = (static(node, v) for v in args)
        return fn(a, b)
    return op


def _erf(x):
    """erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7) from differentiable Tensor ops."""
    a = x.abs()
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return x.sign() * (1.0 - poly * (-(a * a)).exp())


def _unary(fn):
    def op(node, args, attrs, module):
        return fn(tensor(args[0]))
    return op


def _clip(node, args, attrs, module):
    x = tensor(args[0])
    low = attrs.get("min") if len(args) < 2 or args[1] is None else float(static(node, args[1]))
    high = attrs.get("max") if len(args) < 3 or args[2] is None else float(static(node, args[2]))
    return x.clamp(low, high)


def _hard_sigmoid(node, args, attrs, module):
    alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
    x = tensor(args[0])
    if math.isclose(alpha, 1 / 6, rel_tol=1e-6) and beta == 0.5:
        return F.hardsigmoid(x)
    return (x * alpha + beta).clamp(0.0, 1.0)


def _selu(node, args, attrs, module):
    alpha, gamma = attrs.get("alpha", 1.67326319217681884765625), attrs.get("gamma", 1.05070102214813232421875)
    return F.elu(tensor(args[0]), alpha) * gamma


def _gelu(node, args, attrs, module):
    return F.gelu(tensor(args[0]), approximate=attrs.get("approximate", "none"))


def _softmax(fn):
    def op(node, args, attrs, module):
        x = tensor(args[0])
        axis = attrs.get("axis", -1 if module.opset >= 13 else 1)
        if module.opset < 13 and axis % x.ndim != x.ndim - 1:
            node.fail(f"opset {module.opset} {node.op_type} over the flattened dims from axis {axis}")
        return fn(x, dim=axis)
    return op


def _gemm(node, args, attrs, module):
    a, b = tensor(args[0]), tensor(args[1], args[0])
    a = a.T if attrs.get("transA", 0) else a
    b = b.T if attrs.get("transB", 0) else b
    out = a @ b
    if attrs.get("alpha", 1.0) != 1.0:
        out = out * attrs["alpha"]
    if len(args) > 2 and args[2] is not None:
        c = tensor(args[2], out)
        out = out + (c if attrs.get("beta", 1.0) == 1.0 else c * attrs["beta"])
    return out


def _matmul(node, args, attrs, module):
    a, b = _operands(args)
    return a @ b


# ----------------------------------------------------------------------------- shapes and movement


def _shape(node, args, attrs, module):
    shape = np.asarray(np.shape(args[0]) if isinstance(args[0], np.ndarray) else args[0].shape, dtype=np.int64)
    return shape[attrs.get("start", 0):attrs.get("end", None)]


def _constant(node, args, attrs, module):
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in attrs:
            dtype = np.float32 if key.startswith("value_f") else (np.int64 if key != "value" else None)
            return np.asarray(attrs[key], dtype=dtype)
    node.fail(f"a Constant with {sorted(attrs)} (only tensor, float(s) and int(s) values are supported)")


def _constant_of_shape(node, args, attrs, module):
    value = attrs.get("value", np.zeros(1, dtype=np.float32))
    return np.full(tuple(static(node, args[0]).tolist()), value.reshape(-1)[0], dtype=value.dtype)


def _cast(node, args, attrs, module):
    from onnx import helper  # the optional dependency (loading already imported it)

    dtype = helper.tensor_dtype_to_np_dtype(attrs["to"])
    if isinstance(args[0], np.ndarray):
        return args[0].astype(dtype)
    return args[0] if args[0].dtype == dtype else args[0].to(dtype)


def _reshape(node, args, attrs, module):
    x, shape = args[0], [int(s) for s in static(node, args[1])]
    old = np.shape(x) if isinstance(x, np.ndarray) else x.shape
    if not attrs.get("allowzero", 0):
        shape = [old[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape) if isinstance(x, np.ndarray) else x.reshape(*shape)


def _flatten(node, args, attrs, module):
    x = args[0]
    shape = np.shape(x) if isinstance(x, np.ndarray) else x.shape
    axis = attrs.get("axis", 1) % (len(shape) + 1) if shape else 0
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    return x.reshape(outer, int(np.prod(shape[axis:], dtype=np.int64)))


def _transpose(node, args, attrs, module):
    x = args[0]
    ndim = x.ndim
    perm = attrs.get("perm", list(range(ndim))[::-1])
    return np.transpose(x, perm) if isinstance(x, np.ndarray) else x.permute(*perm)


def _axes(node, args, attrs, index=1):
    if len(args) > index and args[index] is not None:
        return [int(a) for a in static(node, args[index]).reshape(-1)]
    return attrs.get("axes")


def _squeeze(node, args, attrs, module):
    x, axes = args[0], _axes(node, args, attrs)
    shape = list(np.shape(x) if isinstance(x, np.ndarray) else x.shape)
    axes = [a % len(shape) for a in axes] if axes is not None else [i for i, n in enumerate(shape) if n == 1]
    new = [n for i, n in enumerate(shape) if i not in axes]
    return x.reshape(new) if isinstance(x, np.ndarray) else x.reshape(*new)


def _unsqueeze(node, args, attrs, module):
    x, axes = args[0], _axes(node, args, attrs)
    shape = list(np.shape(x) if isinstance(x, np.ndarray) else x.shape)
    rank = len(shape) + len(axes)
    for a in sorted(a % rank for a in axes):
        shape.insert(a, 1)
    return x.reshape(shape) if isinstance(x, np.ndarray) else x.reshape(*shape)


def _concat(node, args, attrs, module):
    values = [a for a in args if a is not None]
    axis = attrs["axis"]
    if all(isinstance(a, np.ndarray) for a in values):
        return np.concatenate(values, axis=axis)
    return cat(_operands(values), dim=axis)


def _slice(node, args, attrs, module):
    x = args[0]
    shape = np.shape(x) if isinstance(x, np.ndarray) else x.shape
    if len(args) > 1:
        starts, ends = static(node, args[1]), static(node, args[2])
        axes = static(node, args[3]) if len(args) > 3 and args[3] is not None else range(len(starts))
        steps = static(node, args[4]) if len(args) > 4 and args[4] is not None else [1] * len(starts)
    else:  # opset < 10: attributes
        starts, ends = attrs["starts"], attrs["ends"]
        axes, steps = attrs.get("axes", range(len(starts))), [1] * len(starts)
    index = [slice(None)] * len(shape)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        size, start, end, step = shape[int(axis)], int(start), int(end), int(step)
        start = max(min(start, size), -size - 1)
        end = None if (step < 0 and end < -size) else max(min(end, size), -size - 1)
        index[int(axis) % len(shape)] = slice(start, end, step)
    return x[tuple(index)]


def _gather(node, args, attrs, module):
    x, indices = args[0], static(node, args[1]).astype(np.int64)
    axis = attrs.get("axis", 0)
    shape = np.shape(x) if isinstance(x, np.ndarray) else x.shape
    axis %= len(shape)
    indices = np.where(indices < 0, indices + shape[axis], indices)
    if isinstance(x, np.ndarray):
        return np.take(x, indices, axis=axis)
    index = (slice(None),) * axis + ((int(indices),) if indices.ndim == 0 else (indices,))
    return x[index]


def _expand(node, args, attrs, module):
    x, shape = tensor(args[0]), [int(s) for s in static(node, args[1])]
    target = np.broadcast_shapes(tuple(x.shape), tuple(shape))
    if x.ndim < len(target):
        x = x.reshape(*((1,) * (len(target) - x.ndim) + tuple(x.shape)))
    return x.expand(*target)


def _tile(node, args, attrs, module):
    return tensor(args[0]).repeat(*[int(r) for r in static(node, args[1])])


def _where(node, args, attrs, module):
    condition = static(node, args[0]).astype(bool)
    if all(isinstance(a, np.ndarray) for a in args[1:]):
        return np.where(condition, args[1], args[2])
    a, b = _operands(args[1:])
    return Tensor(condition).where_(a, b)


def _dropout(node, args, attrs, module):
    return args[0]


def _prod(x, axes, keep):
    for axis in sorted(axes, reverse=True):
        x = x.prod(axis, keepdim=keep)
    return x


def _reduce(method):
    def op(node, args, attrs, module):
        x = tensor(args[0])
        axes = _axes(node, args, attrs)
        keep = bool(attrs.get("keepdims", 1))
        if not axes:
            if attrs.get("noop_with_empty_axes", 0):
                return x
            axes = list(range(x.ndim))
        return method(x, tuple(a % x.ndim for a in axes), keep)
    return op


OPS = {
    "Add": _variadic(np.add, lambda a, b: a + b), "Sub": _elementwise(np.subtract, lambda a, b: a - b),
    "Mul": _variadic(np.multiply, lambda a, b: a * b), "Div": _elementwise(_div, lambda a, b: a / b),
    "Pow": _elementwise(np.power, lambda a, b: a ** b), "Sum": _variadic(np.add, lambda a, b: a + b),
    "Max": _variadic(np.maximum, lambda a, b: a.maximum(b)), "Min": _variadic(np.minimum, lambda a, b: a.minimum(b)),
    "Mean": _elementwise(lambda *a: sum(a) / len(a), lambda *a: sum(a[1:], a[0]) * (1.0 / len(a))),
    "Neg": _elementwise(np.negative, lambda a: -a), "Abs": _elementwise(np.abs, lambda a: a.abs()),
    "Exp": _unary(lambda a: a.exp()), "Log": _unary(lambda a: a.log()), "Sqrt": _unary(lambda a: a.sqrt()),
    "Reciprocal": _unary(lambda a: 1.0 / a), "Sign": _elementwise(np.sign, lambda a: a.sign()),
    "Erf": _unary(_erf), "Relu": _unary(F.relu), "Sigmoid": _unary(F.sigmoid), "Tanh": _unary(F.tanh),
    "LeakyRelu": lambda n, a, at, m: F.leaky_relu(tensor(a[0]), at.get("alpha", 0.01)),
    "Elu": lambda n, a, at, m: F.elu(tensor(a[0]), at.get("alpha", 1.0)),
    "Celu": lambda n, a, at, m: F.celu(tensor(a[0]), at.get("alpha", 1.0)), "Selu": _selu,
    "HardSigmoid": _hard_sigmoid, "HardSwish": _unary(F.hardswish), "Softplus": _unary(F.softplus),
    "Softsign": _unary(F.softsign), "Mish": _unary(F.mish), "Gelu": _gelu, "Clip": _clip,
    "Softmax": _softmax(F.softmax), "LogSoftmax": _softmax(F.log_softmax), "Gemm": _gemm, "MatMul": _matmul,
    "Greater": _compare(np.greater), "Less": _compare(np.less), "Equal": _compare(np.equal),
    "GreaterOrEqual": _compare(np.greater_equal), "LessOrEqual": _compare(np.less_equal),
    "Not": lambda n, a, at, m: np.logical_not(static(n, a[0])),
    "Shape": _shape, "Constant": _constant, "ConstantOfShape": _constant_of_shape, "Cast": _cast,
    "Reshape": _reshape, "Flatten": _flatten, "Transpose": _transpose, "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze, "Concat": _concat, "Slice": _slice, "Gather": _gather, "Expand": _expand,
    "Tile": _tile, "Where": _where, "Dropout": _dropout, "Identity": _dropout,
    "ReduceSum": _reduce(lambda x, axes, keep: x.sum(axes, keepdim=keep)),
    "ReduceMean": _reduce(lambda x, axes, keep: x.mean(axes, keepdim=keep)),
    "ReduceMax": _reduce(lambda x, axes, keep: x.amax(axes, keepdim=keep)),
    "ReduceMin": _reduce(lambda x, axes, keep: -((-x).amax(axes, keepdim=keep))),
    "ReduceProd": _reduce(_prod),
    "ReduceL2": _reduce(lambda x, axes, keep: (x * x).sum(axes, keepdim=keep).sqrt()),
}
