"""Export converters of the layer ops: convolutions, pooling, normalisation, resampling (see
``_export_ops.py`` for the contract)."""
import numpy as np


def _conv(e, t, ins, o):
    x, w = t._ctx.parents[:2]
    top, bottom, left, right = (int(p) for p in o["pads"])
    attrs = {"kernel_shape": list(w.shape[2:]), "strides": list(o["stride"]), "dilations": list(o["dilation"]),
             "pads": [top, left, bottom, right], "group": int(o["groups"])}
    return e.node("Conv", ins, attrs)


def _linear(e, t, ins, o):
    """Gemm (transB) for a 2-D input whose operands share the result's dtype; else MatMul with the
    transposed weight, plus Add for the bias."""
    parents = t._ctx.parents
    if parents[0].ndim == 2 and all(p.dtype == t.dtype for p in parents):
        return e.node("Gemm", ins, {"transB": 1})
    ins = [name if p.dtype == t.dtype else e.node("Cast", [name], {"to": t.dtype}) for p, name in zip(parents, ins)]
    out = e.node("MatMul", [ins[0], e.node("Transpose", [ins[1]], {"perm": [1, 0]})])
    return e.node("Add", [out, ins[2]]) if len(ins) == 3 else out


def _conv_transpose(e, t, ins, o):
    x, w = t._ctx.parents[:2]
    kernel, stride, padding, dilation = w.shape[2:], o["stride"], o["padding"], o["dilation"]
    extra = [int(out) - ((size - 1) * s - 2 * p + d * (k - 1) + 1) for out, size, s, p, d, k in
             zip(o["out_size"], x.shape[2:], stride, padding, dilation, kernel)]
    attrs = {"kernel_shape": list(kernel), "strides": list(stride), "dilations": list(dilation),
             "pads": [int(p) for p in padding] * 2, "group": int(o["groups"]), "output_padding": extra}
    return e.node("ConvTranspose", ins, attrs)


def _floor_out(size, k, s, p, d=1):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _pool_attrs(kernel, stride, pads, dilation=None):
    attrs = {"kernel_shape": list(kernel), "strides": list(stride), "pads": list(pads)}
    if dilation is not None and tuple(dilation) != (1, 1):
        attrs["dilations"] = list(dilation)
    return attrs


def _max_pool(e, t, ins, o):
    (ph, pw) = o["padding"]
    return e.node("MaxPool", ins, _pool_attrs(o["kernel"], o["stride"], [ph, pw, ph, pw]))


def _avg_pool(e, t, ins, o):
    (ph, pw) = o["padding"]
    attrs = dict(_pool_attrs(o["kernel"], o["stride"], [ph, pw, ph, pw]), count_include_pad=1)
    return e.node("AveragePool", ins, attrs)


def _explicit_pads(x_shape, kernel, stride, padding, dilation, out_size):
    """(top, left, bottom, right) padding after which floor-mode windows give exactly ``out_size``
    (a ceil-mode output reaches past the input: that part is padded too; a negative end crops)."""
    ends = [(o - 1) * s + d * (k - 1) + 1 - size - p for o, s, d, k, size, p in
            zip(out_size, stride, dilation, kernel, x_shape[2:], padding)]
    return [padding[0], padding[1], ends[0], ends[1]]


def _pad_spatial(e, t, x, pads, fill):
    top, left, bottom, right = pads
    if not any(pads):
        return x
    spatial = e.ints([0, 0, top, left, 0, 0, bottom, right], "pads")
    return e.node("Pad", [x, spatial, e.like(fill, t, "pad_value")], {"mode": "constant"})


def _max_pool_general(e, t, ins, o):
    """Dilation and ceil mode: pad with -inf to exactly the windows torch uses, then MaxPool."""
    x = t._ctx.parents[0]
    kernel, stride, padding, dilation, out_size = (o[k] for k in ("kernel", "stride", "padding", "dilation",
                                                                  "out_size"))
    floor = tuple(_floor_out(n, k, s, p, d) for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
    if tuple(out_size) == floor:
        pads = [padding[0], padding[1], padding[0], padding[1]]
        return e.node("MaxPool", ins, _pool_attrs(kernel, stride, pads, dilation))
    padded = _pad_spatial(e, t, ins[0], _explicit_pads(x.shape, kernel, stride, padding, dilation, out_size), -np.inf)
    return e.node("MaxPool", [padded], _pool_attrs(kernel, stride, [0, 0, 0, 0], dilation))


def _avg_pool_general(e, t, ins, o):
    """Ceil mode, count_include_pad=False, divisor_override: zero-pad to exactly the windows torch
    uses, average over whole kernels, then rescale each output position to torch's divisor."""
    x = t._ctx.parents[0]
    kernel, stride, padding, out_size = o["kernel"], o["stride"], o["padding"], o["out_size"]
    padded = _pad_spatial(e, t, ins[0], _explicit_pads(x.shape, kernel, stride, padding, (1, 1), out_size), 0.0)
    pooled = e.node("AveragePool", [padded], dict(_pool_attrs(kernel, stride, [0, 0, 0, 0]), count_include_pad=1))
    scale = np.asarray(o["scale"], dtype=np.float64)[:, :, 0] * (kernel[0] * kernel[1])
    if np.allclose(scale, 1.0, rtol=0, atol=1e-12):
        return pooled
    return e.node("Mul", [pooled, e.initializer(scale.astype(t.dtype)[None, None], "divisor_scale")])


def _adaptive(op_type, global_type):
    def convert(e, t, ins, o):
        x = t._ctx.parents[0]
        shape4, (oh, ow) = tuple(o["shape4"]), tuple(o["output_size"])
        src = ins[0]
        if tuple(x.shape) != shape4:
            e.fail(f"adaptive pooling of a {x.ndim}-D input (only 4-D inputs are exported)")
        h, w = shape4[2:]
        if (oh, ow) == (1, 1):
            out = e.node(global_type, [src])
        elif h % oh == 0 and w % ow == 0:
            kernel = (h // oh, w // ow)
            out = e.node(op_type, [src], _pool_attrs(kernel, kernel, [0, 0, 0, 0]))
        else:
            e.fail(f"adaptive pooling from {h}x{w} to {oh}x{ow} (ONNX has it only for 1x1 or sizes that divide "
                   f"the input)")
        if tuple(o["out_shape"]) != tuple(t.shape) or len(t.shape) != 4:
            e.fail("adaptive pooling with a reshaped output")
        return out
    return convert


def _batch_norm(e, t, ins, o):
    if o.get("batch_stats") or o.get("mean") is None:
        e.fail("batch norm with batch statistics (a BatchNorm2d without running statistics, or in training "
               "mode); ONNX BatchNormalization uses running statistics")
    mean = e.state_array(o["mean"], "running_mean")
    var = e.state_array(o["var"], "running_var")
    return e.node("BatchNormalization", ins[:3] + [mean, var], {"epsilon": float(o.get("eps", 1e-5))})


def _affine(e, t, ins, o, shape):
    """(x, scale, bias) names of a normalisation, ones/zeros when it has no affine parameters."""
    rest, scale, bias = list(ins[1:]), None, None
    if o.get("has_weight"):
        scale = rest.pop(0)
    if o.get("has_bias"):
        bias = rest.pop(0)
    if scale is None:
        scale = e.initializer(np.ones(shape, dtype=t.dtype), "ones")
    if bias is None:
        bias = e.initializer(np.zeros(shape, dtype=t.dtype), "zeros")
    return ins[0], scale, bias


def _layer_norm(e, t, ins, o):
    if e.opset < 17:
        e.fail("LayerNormalization needs opset 17 or later")
    dims = int(o.get("dims", 1))
    x, scale, bias = _affine(e, t, ins, o, tuple(t.shape[-dims:]))
    e.no_batch_axis(ins[0], [t.ndim - dims], "a layer norm")
    return e.node("LayerNormalization", [x, scale, bias], {"axis": -dims, "epsilon": float(o.get("eps", 1e-5))})


def _group_norm(e, t, ins, o):
    if o.get("mean") is not None and not o.get("batch_stats", True):
        e.fail("instance norm with running statistics")
    groups, eps, c = int(o["groups"]), float(o.get("eps", 1e-5)), t.shape[1]
    x, scale, bias = _affine(e, t, ins, o, (c,))
    grouped = e.node("Reshape", [x, e.shape_arg((t.shape[0], groups, -1), x)])
    mean = e.reduce("ReduceMean", grouped, [2], True)
    centred = e.node("Sub", [grouped, mean])
    var = e.reduce("ReduceMean", e.node("Mul", [centred, centred]), [2], True)
    normed = e.node("Div", [centred, e.node("Sqrt", [e.node("Add", [var, e.like(eps, t, "eps")])])])
    back = e.node("Reshape", [normed, e.shape_arg(t.shape, x)])
    channel = [c] + [1] * (t.ndim - 2)
    scale = e.node("Reshape", [scale, e.ints(channel)], batched=False)
    bias = e.node("Reshape", [bias, e.ints(channel)], batched=False)
    return e.node("Add", [e.node("Mul", [back, scale]), bias])


def _half_pixel_taps(n_in, r, dtype):
    """torch's bilinear taps of an integer upsampling by r (align_corners=False)."""
    src = np.maximum((np.arange(n_in * r, dtype=np.float64) + 0.5) / r - 0.5, 0.0)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = (src - i0).astype(dtype)
    return i0, i1, (1 - w1).astype(dtype), w1


def _resample(e, t, ins, o):
    """Each per-axis plan of Resample: an integer nearest upsampling as Resize, the other nearest
    gathers as Gather, linear taps as two Gathers and their weights."""
    x, src = t._ctx.parents[0], ins[0]
    shape = list(x.shape)
    for axis_nhwc, kind, plan in o["plans"]:
        axis = {1: 2, 2: 3}[axis_nhwc]
        n_in = shape[axis]
        if kind == "repeat":
            scales = [1.0] * 4
            scales[axis] = float(plan)
            src = e.node("Resize", [src, "", e.initializer(np.asarray(scales, dtype=np.float32), "scales")],
                         {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"})
            shape[axis] = n_in * int(plan)
            continue
        if kind == "gather":
            src = e.node("Gather", [src, e.ints(np.asarray(plan), "indices")], {"axis": axis})
            shape[axis] = len(plan)
            continue
        i0, i1, w0, w1 = _half_pixel_taps(n_in, int(plan), t.dtype) if kind == "phases" else plan
        view = [1] * 4
        view[axis] = -1
        parts = [e.node("Mul", [e.node("Gather", [src, e.ints(np.asarray(i), "indices")], {"axis": axis}),
                                e.initializer(np.asarray(wt, dtype=t.dtype).reshape(view), "weights")])
                 for i, wt in ((i0, w0), (i1, w1))]
        src = e.node("Add", parts)
        shape[axis] = len(i0)
    if tuple(t.shape) != tuple(shape):
        src = e.node("Reshape", [src, e.shape_arg(t.shape, src)])
    return src


CONVERTERS = {
    "Conv2d": _conv, "Linear": _linear, "ConvTranspose2d": _conv_transpose, "MaxPool2d": _max_pool,
    "AvgPool2d": _avg_pool,
    "MaxPool2dWithIndices": _max_pool_general, "AvgPool2dCeil": _avg_pool_general,
    "AdaptiveAvgPool": _adaptive("AveragePool", "GlobalAveragePool"),
    "AdaptiveMaxPool": _adaptive("MaxPool", "GlobalMaxPool"), "BatchNorm2dFunction": _batch_norm,
    "LayerNormFunction": _layer_norm, "GroupNormFunction": _group_norm, "Resample": _resample,
}
