"""Load-side layer ops: convolutions, pooling, normalisation, padding and resizing (the contract is
in ``_load_ops.py``). 2-D (4-D NCHW) inputs only, as the framework's layers."""
import math

import numpy as np

from .._tensor import Tensor
from ..nn import functional as F
from ._load_ops import static, tensor


def _four_d(node, x):
    if x.ndim != 4:
        node.fail(f"a {x.ndim}-D input (only 2-D spatial, NCHW, is supported)")


def _pads(node, attrs, x, kernel, strides, dilations):
    """(top, left, bottom, right), also for auto_pad SAME_UPPER / SAME_LOWER / VALID."""
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", "VALID"):
        pads = attrs.get("pads", [0, 0, 0, 0]) if auto == "NOTSET" else [0, 0, 0, 0]
        return [int(p) for p in pads]
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        node.fail(f"auto_pad={auto!r}")
    begin, end = [], []
    for size, k, s, d in zip(x.shape[2:], kernel, strides, dilations):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else large)
        end.append(large if auto == "SAME_UPPER" else small)
    return begin + end


def _geometry(node, attrs, x, kernel):
    strides = list(attrs.get("strides", [1, 1]))
    dilations = list(attrs.get("dilations", [1, 1]))
    return strides, dilations, _pads(node, attrs, x, kernel, strides, dilations)


def _pad_input(x, pads, value):
    top, left, bottom, right = pads
    return F.pad(x, (left, right, top, bottom), value=value) if any(pads) else x


def _conv(node, args, attrs, module):
    x, w = tensor(args[0]), tensor(args[1], args[0])
    _four_d(node, x)
    bias = tensor(args[2], x) if len(args) > 2 and args[2] is not None else None
    strides, dilations, pads = _geometry(node, attrs, x, w.shape[2:])
    padding = (pads[0], pads[1])
    if pads[:2] != pads[2:]:
        x, padding = _pad_input(x, pads, 0.0), (0, 0)
    return F.conv2d(x, w, bias, tuple(strides), padding, tuple(dilations), attrs.get("group", 1))


def _conv_transpose(node, args, attrs, module):
    x, w = tensor(args[0]), tensor(args[1], args[0])
    _four_d(node, x)
    bias = tensor(args[2], x) if len(args) > 2 and args[2] is not None else None
    if "output_shape" in attrs:
        node.fail("output_shape (give pads and output_padding instead)")
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        node.fail(f"auto_pad={attrs['auto_pad']!r}")
    pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]
    if pads[:2] != pads[2:]:
        node.fail(f"asymmetric pads {pads}")
    strides, dilations = attrs.get("strides", [1, 1]), attrs.get("dilations", [1, 1])
    return F.conv_transpose2d(x, w, bias, tuple(strides), tuple(pads[:2]), tuple(attrs.get("output_padding", [0, 0])),
                              attrs.get("group", 1), tuple(dilations))


def _max_pool(node, args, attrs, module):
    x = tensor(args[0])
    _four_d(node, x)
    if len(node.outputs) > 1 and node.outputs[1]:
        node.fail("the Indices output")
    kernel = list(attrs["kernel_shape"])
    strides, dilations, pads = _geometry(node, attrs, x, kernel)
    ceil = bool(attrs.get("ceil_mode", 0))
    padding = (pads[0], pads[1])
    if pads[:2] != pads[2:] or any(p > ((d * (k - 1) + 1) // 2) or p > k // 2
                                   for p, k, d in zip(padding, kernel, dilations)):
        x, padding = _pad_input(x, pads, -math.inf), (0, 0)
    return F.max_pool2d(x, tuple(kernel), tuple(strides), padding, tuple(dilations), ceil)


def _avg_pool(node, args, attrs, module):
    x = tensor(args[0])
    _four_d(node, x)
    kernel = list(attrs["kernel_shape"])
    strides, _, pads = _geometry(node, attrs, x, kernel)
    ceil, include = bool(attrs.get("ceil_mode", 0)), bool(attrs.get("count_include_pad", 0))
    padding = (pads[0], pads[1])
    if pads[:2] == pads[2:] and all(p <= k // 2 for p, k in zip(padding, kernel)):
        return F.avg_pool2d(x, tuple(kernel), tuple(strides), padding, ceil, include)
    if ceil:
        node.fail(f"ceil_mode with pads {pads}")
    out = F.avg_pool2d(_pad_input(x, pads, 0.0), tuple(kernel), tuple(strides))
    if include:
        return out
    ones = Tensor(np.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype))
    return out / F.avg_pool2d(_pad_input(ones, pads, 0.0), tuple(kernel), tuple(strides))  # the real pixels' share


def _global(kind):
    def op(node, args, attrs, module):
        x = tensor(args[0])
        axes = tuple(range(2, x.ndim))
        return x.mean(axes, keepdim=True) if kind == "avg" else x.amax(axes, keepdim=True)
    return op


def _batch_norm(node, args, attrs, module):
    x, scale, bias, mean, var = args[0], *(tensor(a, args[0]) for a in args[1:5])
    if attrs.get("training_mode", 0) or len([o for o in node.outputs if o]) > 1:
        node.fail("training_mode / the running statistics outputs")
    momentum = 1.0 - attrs.get("momentum", 0.9)
    return F.batch_norm(tensor(x), mean, var, scale, bias, training=module.training, momentum=momentum,
                        eps=attrs.get("epsilon", 1e-5))


def _layer_norm(node, args, attrs, module):
    x = tensor(args[0])
    axis = attrs.get("axis", -1) % x.ndim
    if len([o for o in node.outputs if o]) > 1:
        node.fail("the Mean / InvStdDev outputs")
    scale = tensor(args[1], x)
    bias = tensor(args[2], x) if len(args) > 2 and args[2] is not None else None
    return F.layer_norm(x, tuple(x.shape[axis:]), scale, bias, attrs.get("epsilon", 1e-5))


def _instance_norm(node, args, attrs, module):
    x = tensor(args[0])
    return F.group_norm(x, x.shape[1], tensor(args[1], x), tensor(args[2], x), attrs.get("epsilon", 1e-5))


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


def _pad(node, args, attrs, module):
    x = tensor(args[0])
    pads = [int(p) for p in (static(node, args[1]) if len(args) > 1 else attrs["pads"])]
    mode = attrs.get("mode", "constant")
    if mode not in _PAD_MODES:
        node.fail(f"mode={mode!r}")
    value = attrs.get("value", 0.0)
    if len(args) > 2 and args[2] is not None:
        value = float(static(node, args[2]).reshape(-1)[0])
    rank = x.ndim
    begins, ends = pads[:rank], pads[rank:]
    if len(args) > 3 and args[3] is not None:  # opset 18: the axes the pads are for
        axes = [int(a) % rank for a in static(node, args[3])]
        begins, ends = [0] * rank, [0] * rank
        for i, a in enumerate(axes):
            begins[a], ends[a] = pads[i], pads[len(axes) + i]
    first = next((d for d in range(rank) if begins[d] or ends[d]), rank)
    torch_pad = []
    for d in range(rank - 1, first - 1, -1):
        torch_pad += [begins[d], ends[d]]
    if not torch_pad:
        return x
    if mode == "constant":
        return F.pad(x, tuple(torch_pad), value=value)
    return F.pad(x, tuple(torch_pad), mode=_PAD_MODES[mode])


def _resize_mode(node, attrs):
    mode = attrs.get("mode", "nearest")
    transform = attrs.get("coordinate_transformation_mode", "half_pixel")
    if mode == "nearest":
        nearest = attrs.get("nearest_mode", "round_prefer_floor")
        if transform == "asymmetric" and nearest == "floor":
            return "nearest", None  # torch's 'nearest': floor(dst / scale)
        if transform in ("half_pixel", "pytorch_half_pixel") and nearest == "round_prefer_ceil":
            return "nearest-exact", None  # floor((dst + 0.5) / scale)
    if mode == "linear":
        if transform in ("half_pixel", "pytorch_half_pixel"):
            return "bilinear", False
        if transform == "align_corners":
            return "bilinear", True
    node.fail(f"mode={mode!r} with coordinate_transformation_mode={transform!r}"
              f"{' and nearest_mode=' + repr(attrs.get('nearest_mode')) if mode == 'nearest' else ''}")


def _resize(node, args, attrs, module):
    x = tensor(args[0])
    _four_d(node, x)
    mode, align = _resize_mode(node, attrs)
    scales = static(node, args[2]) if len(args) > 2 and args[2] is not None else None
    sizes = static(node, args[3]) if len(args) > 3 and args[3] is not None else None
    if node.op_type == "Upsample":
        scales = static(node, args[1]) if len(args) > 1 else np.asarray(attrs["scales"])
    if sizes is not None and sizes.size:
        if tuple(int(s) for s in sizes[:2]) != tuple(x.shape[:2]):
            node.fail("resizing the batch or channel dimension")
        return F.interpolate(x, size=tuple(int(s) for s in sizes[2:]), mode=mode, align_corners=align)
    if scales is None or not scales.size or tuple(scales[:2]) != (1.0, 1.0):
        node.fail("scales that resize the batch or channel dimension (or none given)")
    factor = tuple(float(s) for s in scales[2:])
    return F.interpolate(x, scale_factor=factor, mode=mode, align_corners=align)


def _upsample(node, args, attrs, module):
    attrs = dict(attrs, coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    if attrs.get("mode", "nearest") != "nearest":
        node.fail(f"Upsample mode {attrs.get('mode')!r}")
    return _resize(node, args, attrs, module)


LAYER_OPS = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "MaxPool": _max_pool, "AveragePool": _avg_pool,
    "GlobalAveragePool": _global("avg"), "GlobalMaxPool": _global("max"), "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm, "InstanceNormalization": _instance_norm, "Pad": _pad, "Resize": _resize,
    "Upsample": _upsample,
}
