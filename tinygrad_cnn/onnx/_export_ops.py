"""Export converters, one per Function class name: ``convert(e, t, ins, o)`` adds the ONNX nodes
computing Tensor ``t`` from the ONNX names ``ins`` of its parents (``o``: the op's options) to the
`Emitter` ``e`` and returns the name of the result. Functions are matched by name, so this module
imports none of them; the conv, pooling, normalisation and resampling ones are in
``_export_layers.py``.
"""
import math

import numpy as np

_BINARY = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Pow": "Pow", "Maximum": "Max", "Minimum": "Min"}
_UNARY = {"Neg": "Neg", "Exp": "Exp", "Log": "Log", "Abs": "Abs", "ReLU": "Relu", "Sigmoid": "Sigmoid",
          "Tanh": "Tanh", "Sign": "Sign", "Softsign": "Softsign", "Clone": "Identity"}


def _cast_inputs(e, t, ins):
    """Inputs of another dtype than the result (an int constant in float arithmetic) cast to it."""
    out = []
    for p, name in zip(t._ctx.parents, ins):
        out.append(name if p.dtype == t.dtype else e.node("Cast", [name], {"to": t.dtype}))
    return out


def binary(op_type):
    def convert(e, t, ins, o):
        ins = ins if op_type == "Pow" else _cast_inputs(e, t, ins)
        return e.node(op_type, ins[:2])
    return convert


def unary(op_type):
    def convert(e, t, ins, o):
        return e.node(op_type, ins[:1])
    return convert


def _sqrt(e, t, ins, o):
    return e.node("Sqrt", ins)


def _cast(e, t, ins, o):
    return e.node("Cast", ins, {"to": t.dtype})


def _clip(e, t, ins, low, high):
    args = [ins[0], "" if low is None else e.like(low, t, "min"), "" if high is None else e.like(high, t, "max")]
    while args[-1] == "":
        args.pop()
    return e.node("Clip", args)


def _clamp(e, t, ins, o):
    return _clip(e, t, ins, o.get("low"), o.get("high"))


def _hardtanh(e, t, ins, o):
    return _clip(e, t, ins, o.get("min_val", -1.0), o.get("max_val", 1.0))


def _leaky_relu(e, t, ins, o):
    return e.node("LeakyRelu", ins, {"alpha": float(o.get("negative_slope", 0.01))})


def _elu(e, t, ins, o):
    alpha, scale, input_scale = (float(o.get(k, 1.0)) for k in ("alpha", "scale", "input_scale"))
    if scale == 1.0 and input_scale == 1.0:
        return e.node("Elu", ins, {"alpha": alpha})
    if input_scale == 1.0:
        return e.node("Selu", ins, {"alpha": alpha, "gamma": scale})
    if scale == 1.0 and math.isclose(input_scale * alpha, 1.0, rel_tol=1e-12):
        return e.node("Celu", ins, {"alpha": alpha})
    e.fail(f"an ELU with alpha={alpha}, scale={scale}, input_scale={input_scale}")


def _hardsigmoid(e, t, ins, o):
    return e.node("HardSigmoid", ins, {"alpha": 1.0 / 6.0, "beta": 0.5})


def _hardswish(e, t, ins, o):
    if e.opset >= 14:
        return e.node("HardSwish", ins)
    return e.node("Mul", [ins[0], _hardsigmoid(e, t, ins, o)])


def _erf_gelu(e, t, x):
    inner = e.node("Erf", [e.node("Mul", [x, e.like(1.0 / math.sqrt(2.0), t)])])
    cdf = e.node("Mul", [e.node("Add", [inner, e.like(1.0, t)]), e.like(0.5, t)])
    return e.node("Mul", [x, cdf])


def _gelu(e, t, ins, o):
    x = ins[0]
    if o.get("approximate", "none") == "tanh":
        if e.opset >= 20:
            return e.node("Gelu", [x], {"approximate": "tanh"})
        cube = e.node("Mul", [e.node("Mul", [x, x]), x])
        inner = e.node("Add", [x, e.node("Mul", [cube, e.like(0.044715, t)])])
        th = e.node("Tanh", [e.node("Mul", [inner, e.like(math.sqrt(2.0 / math.pi), t)])])
        return e.node("Mul", [e.node("Mul", [x, e.like(0.5, t)]), e.node("Add", [th, e.like(1.0, t)])])
    if e.opset >= 20:
        return e.node("Gelu", [x])
    return _erf_gelu(e, t, x)


def _silu(e, t, ins, o):
    return e.node("Mul", [ins[0], e.node("Sigmoid", ins)])


def _softplus(e, t, ins, o):
    beta, threshold = float(o.get("beta", 1.0)), float(o.get("threshold", 20.0))
    x = ins[0]
    z = x if beta == 1.0 else e.node("Mul", [x, e.like(beta, t)])
    soft = e.node("Softplus", [z])
    if beta != 1.0:
        soft = e.node("Div", [soft, e.like(beta, t)])
    linear = e.node("Greater", [z, e.like(threshold, t)])
    return e.node("Where", [linear, x, soft])


def _mish(e, t, ins, o):
    if e.opset >= 18:
        return e.node("Mish", ins)
    return e.node("Mul", [ins[0], e.node("Tanh", [e.node("Softplus", ins)])])


def _logsigmoid(e, t, ins, o):
    return e.node("Neg", [e.node("Softplus", [e.node("Neg", ins)])])


def _tanhshrink(e, t, ins, o):
    return e.node("Sub", [ins[0], e.node("Tanh", ins)])


def _where(e, t, ins, o):
    cond = np.asarray(o["condition"], dtype=bool)
    if e.is_batched(ins[0]) or e.is_batched(ins[1]):
        if cond.ndim == t.ndim and cond.shape[0] == t.shape[0] and t.shape[0] > 1:
            e.fail("its condition has the batch dimension: it was computed from the input outside the graph "
                   "(comparisons are not recorded), so the file would hold the traced input's condition as a "
                   "constant (use a mask without the batch dimension, or rewrite it with relu / clamp)")
    ins = _cast_inputs(e, t, ins)
    return e.node("Where", [e.initializer(cond, "condition")] + ins[:2])


def _softmax(op_type):
    def convert(e, t, ins, o):
        axis = o.get("axis", -1) % t.ndim
        e.no_batch_axis(ins[0], [axis], op_type)
        return e.node(op_type, ins, {"axis": axis})
    return convert


# ----------------------------------------------------------------------------- linear algebra, reductions


def _gemm_weight(b):
    """The parameter W when ``b`` is ``W.T`` of a 2-D leaf (Linear's weight), else None."""
    ctx = b._ctx
    if ctx is None or ctx.function.__name__ != "Permute" or tuple(ctx.options.get("axes", ())) != (1, 0):
        return None
    w = ctx.parents[0]
    return w if w._ctx is None and w.ndim == 2 else None


def _matmul(e, t, ins, o):
    a, b = t._ctx.parents[:2]
    w = _gemm_weight(b)
    if a.ndim == 2 and w is not None and a.dtype == w.dtype:
        return e.node("Gemm", [ins[0], e.value(w)], {"transB": 1})
    return e.node("MatMul", _cast_inputs(e, t, ins))


def _axes(axis, ndim):
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return sorted(int(a) % ndim for a in axes)


def reduction(op_type):
    def convert(e, t, ins, o):
        a = t._ctx.parents[0]
        axes = _axes(o.get("axis"), a.ndim)
        if axes is None:
            if e.is_batched(ins[0]):
                e.no_batch_axis(ins[0], [0], op_type)
            axes = list(range(a.ndim))
        return e.reduce(op_type, ins[0], axes, o.get("keepdims", False))
    return convert


# ----------------------------------------------------------------------------- movement


def _reshape(e, t, ins, o):
    a = t._ctx.parents[0]
    shape = tuple(t.shape)
    if e.is_batched(ins[0]) and (not shape or shape[0] != a.shape[0]):
        e.fail(f"a reshape from {tuple(a.shape)} to {shape} changes the batch dimension, which a dynamic-batch "
               f"export keeps symbolic (keep dim 0, e.g. x.flatten(1), or export with dynamic_batch=False)")
    return e.node("Reshape", [ins[0], e.shape_arg(shape, ins[0])])


def _permute(e, t, ins, o):
    axes = [int(a) for a in o["axes"]]
    if axes and axes[0] != 0:
        e.no_batch_axis(ins[0], [0], "a permute that moves the batch dimension")
    return e.node("Transpose", ins, {"perm": axes})


def _expand(e, t, ins, o):
    a = t._ctx.parents[0]
    shape = list(t.shape)
    if e.is_batched(ins[0]) and a.ndim == len(shape):
        shape[0] = 1  # Expand broadcasts both ways: 1 keeps the input's (symbolic) batch
    return e.node("Expand", [ins[0], e.ints(shape)])


def _repeat(e, t, ins, o):
    a, reps = t._ctx.parents[0], list(o["reps"])
    x = ins[0]
    if len(reps) > a.ndim:
        x = e.node("Reshape", [x, e.ints((1,) * (len(reps) - a.ndim) + tuple(a.shape))])
    if e.is_batched(ins[0]) and (len(reps) != a.ndim or reps[0] != 1):
        e.fail("a repeat along the batch dimension (export with dynamic_batch=False)")
    return e.node("Tile", [x, e.ints(reps, "repeats")])


def _cat(e, t, ins, o):
    axis = int(o.get("axis", 0)) % t.ndim
    if axis == 0 and any(e.is_batched(i) for i in ins):
        e.no_batch_axis(ins[0], [0], "a concatenation")
    return e.node("Concat", _cast_inputs(e, t, ins), {"axis": axis})


def _getitem(e, t, ins, o):
    a = t._ctx.parents[0]
    parts = o["index"] if isinstance(o["index"], tuple) else (o["index"],)
    if not all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts):
        e.fail("indexing with arrays (only ints, slices, None and ... are exported)")
    if Ellipsis in parts:
        k = parts.index(Ellipsis)
        real = sum(p is not None for p in parts) - 1
        parts = parts[:k] + (slice(None),) * (a.ndim - real) + parts[k + 1:]
    parts = parts + (slice(None),) * (a.ndim - sum(p is not None for p in parts))
    starts, ends, axes, steps, drop, axis = [], [], [], [], [], 0
    for p in parts:
        if p is None:
            continue
        if isinstance(p, slice):
            if p != slice(None):
                start, stop, step = p.indices(a.shape[axis])
                if step < 0 and stop < 0:
                    stop = -(2 ** 62)  # to before the first element
                starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
        else:
            i = int(p) % a.shape[axis]
            starts.append(i), ends.append(i + 1), axes.append(axis), steps.append(1), drop.append(axis)
        axis += 1
    e.no_batch_axis(ins[0], axes, "indexing")
    x = ins[0]
    if axes:
        x = e.node("Slice", [x, e.ints(starts, "starts"), e.ints(ends, "ends"), e.ints(axes, "axes"),
                             e.ints(steps, "steps")])
    if drop:
        x = e.squeeze(x, drop)
    new, out_axis = [], 0
    for p in parts:
        if p is None:
            new.append(out_axis)
        if p is None or isinstance(p, slice):
            out_axis += 1
    if new:
        x = e.unsqueeze(x, new)
        if new[0] == 0:
            e.batched.discard(x)
    return x


def _constant(e, t, ins, o):
    return e.initializer(t.numpy(), "const")


def _constant_pad(e, t, ins, o):
    a = t._ctx.parents[0]
    begins, ends = [0] * a.ndim, [0] * a.ndim
    for axis, left, right in o["dims"]:
        begins[axis], ends[axis] = int(left), int(right)
    e.no_batch_axis(ins[0], [ax for ax in range(a.ndim) if begins[ax] or ends[ax]], "padding")
    value = e.like(o.get("value", 0.0), t, "pad_value")
    return e.node("Pad", [ins[0], e.ints(begins + ends, "pads"), value], {"mode": "constant"})


def _border_pad(e, t, ins, o):
    """Reflect/replicate/circular padding as one Gather per padded axis, its indices read off the op's
    own forward run on index arrays (exact for every mode)."""
    a, fn = t._ctx.parents[0], t._ctx.function
    x = ins[0]
    for axis, _ in o["segments"]:
        shape = list(a.shape)
        index = np.broadcast_to(np.arange(shape[axis], dtype=np.float64).reshape(
            [-1 if d == axis else 1 for d in range(a.ndim)]), shape).copy()
        out = np.asarray(fn.forward(_Scratch(), index, **o))
        src = out[tuple(slice(None) if d == axis else 0 for d in range(a.ndim))].astype(np.int64)
        e.no_batch_axis(x, [axis], "padding")
        x = e.node("Gather", [x, e.ints(src, "indices")], {"axis": axis})
    return x


class _Scratch:
    """A stand-in ctx for running a data-movement op's forward on index arrays."""

    def save_for_backward(self, *arrays):
        pass


CONVERTERS = {name: binary(op) for name, op in _BINARY.items()}
CONVERTERS.update({name: unary(op) for name, op in _UNARY.items()})
CONVERTERS.update({
    "Sqrt": _sqrt, "Cast": _cast, "Clamp": _clamp, "Hardtanh": _hardtanh, "LeakyRelu": _leaky_relu, "Elu": _elu,
    "Celu": _elu, "Hardsigmoid": _hardsigmoid, "Hardswish": _hardswish, "Gelu": _gelu, "Silu": _silu,
    "Softplus": _softplus, "Mish": _mish, "LogSigmoid": _logsigmoid, "Tanhshrink": _tanhshrink, "Where": _where,
    "Softmax": _softmax("Softmax"), "LogSoftmax": _softmax("LogSoftmax"), "MatMul": _matmul,
    "Sum": reduction("ReduceSum"), "Max": reduction("ReduceMax"), "Prod": reduction("ReduceProd"),
    "Norm2": reduction("ReduceL2"), "Reshape": _reshape, "Permute": _permute, "Expand": _expand,
    "Repeat": _repeat, "Cat": _cat, "GetItem": _getitem, "Constant": _constant, "ConstantPad": _constant_pad,
    "BorderPad": _border_pad,
})
