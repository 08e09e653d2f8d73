"""``export``: trace, convert every node, build the ONNX ModelProto, check it, write it atomically."""
import os

import numpy as np

from .. import __version__
from ..files import atomic_write
from ..nn import Module
from ._emit import Emitter
from ._export_layers import CONVERTERS as _LAYER_CONVERTERS
from ._export_ops import CONVERTERS as _OP_CONVERTERS
from ._trace import OnnxExportError, trace

CONVERTERS = {**_OP_CONVERTERS, **_LAYER_CONVERTERS}
DEFAULT_OPSET = 17
MIN_OPSET = 13


def import_onnx(what):
    try:
        import onnx
    except ImportError:
        raise ImportError(f"{what} needs the onnx package: pip install 'tinygrad_cnn[onnx]' (or pip install onnx)") \
            from None
    return onnx


def _names(given, count, default, what):
    if given is None:
        return [default if count == 1 else f"{default}{i}" for i in range(count)]
    names = [given] if isinstance(given, str) else list(given)
    if len(names) != count or not all(isinstance(n, str) and n for n in names) or len(set(names)) != count:
        raise OnnxExportError(f"onnx.export: {what} must be {count} distinct non-empty names, got {given!r}")
    return names


def _convert(tr, opset, dynamic_batch, input_names, output_names):
    e = Emitter(tr, opset, dynamic_batch)
    for t, name in zip(tr.inputs, input_names):
        e.used.add(name)
        e.names[id(t)] = name
        e.batched.add(name)
    e.used.update(output_names)
    for t in tr.order:
        fn = t._ctx.function
        e.current = t
        convert = CONVERTERS.get(fn.__name__) if fn.__module__.startswith("tinygrad_cnn.ops") else None
        if convert is None and not fn.__module__.startswith("tinygrad_cnn.ops"):
            e.fail(f"it is a custom Function (defined in {fn.__module__}); only the ops of tinygrad_cnn.ops "
                   f"have ONNX conversions")
        if convert is None:
            e.fail("no ONNX conversion for this op (see docs/api.md for the supported ops)")
        ins = [e.value(p) for p in t._ctx.parents]
        e.names[id(t)] = convert(e, t, ins, dict(getattr(t._ctx, "options", {}) or {}))
    e.current = None
    outputs, renames = [], {}
    produced = {out for node in e.nodes for out in node[2]}
    for t, name in zip(tr.outputs, output_names):
        if t._ctx is None and id(t) not in e.names:
            raise OnnxExportError("onnx.export: an output of the model does not depend on its input")
        source = e.value(t)
        if source in produced and source not in renames:
            renames[source] = name  # the node writes the output itself
        else:
            e.nodes.append(("Identity", [source], [name], {}, f"output_{name}"))
        if source in e.batched:
            e.batched.add(name)
        outputs.append(name)
    e.nodes = [(op, [renames.get(i, i) for i in ins], [renames.get(o, o) for o in outs], attrs, node_name)
               for op, ins, outs, attrs, node_name in e.nodes]
    return e, outputs


def _fuse_gemm_bias(nodes, initializers):
    """Gemm(x, W) followed by its only consumer Add(., b) of a 1-D initializer b: Gemm(x, W, b)."""
    uses = {}
    for node in nodes:
        for name in node[1]:
            uses[name] = uses.get(name, 0) + 1
    producer = {node[2][0]: i for i, node in enumerate(nodes) if node[0] == "Gemm" and len(node[1]) == 2}
    drop = set()
    for i, (op, ins, outs, attrs, name) in enumerate(nodes):
        if op != "Add" or len(ins) != 2:
            continue
        for gemm_out, bias in (ins, ins[::-1]):
            j = producer.get(gemm_out)
            b = initializers.get(bias)
            if j is None or uses.get(gemm_out) != 1 or b is None or b.ndim != 1:
                continue
            g_op, g_ins, _, g_attrs, g_name = nodes[j]
            nodes[j] = (g_op, g_ins + [bias], outs, g_attrs, g_name)
            drop.add(i)
            break
    return [node for i, node in enumerate(nodes) if i not in drop]


def _prune(nodes, outputs):
    """Drop nodes nothing needs (e.g. Linear's W.T, consumed by a Gemm instead)."""
    needed, kept = set(outputs), []
    for node in reversed(nodes):
        if any(o in needed for o in node[2]):
            kept.append(node)
            needed.update(i for i in node[1] if i)
    return kept[::-1], needed


def _attribute(onnx, value):
    if isinstance(value, np.dtype):
        return onnx.helper.np_dtype_to_tensor_dtype(value)
    if isinstance(value, np.ndarray):
        return onnx.numpy_helper.from_array(np.array(value, order="C"))
    return value


def _value_info(onnx, name, tensor, batched):
    dims = list(tensor.shape)
    if batched and dims:
        dims[0] = "batch"
    elem = onnx.helper.np_dtype_to_tensor_dtype(tensor.dtype)
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def _build(onnx, e, tr, input_names, outputs, opset, dynamic_batch):
    helper = onnx.helper
    nodes, needed = _prune(_fuse_gemm_bias(e.nodes, e.initializers), outputs)
    protos = [helper.make_node(op, ins, outs, name=name, **{k: _attribute(onnx, v) for k, v in attrs.items()})
              for op, ins, outs, attrs, name in nodes]
    inits = [onnx.numpy_helper.from_array(np.array(a, order="C"), name)
             for name, a in e.initializers.items() if name in needed]
    inputs = [_value_info(onnx, n, t, dynamic_batch) for n, t in zip(input_names, tr.inputs)]
    outs = [_value_info(onnx, n, t, dynamic_batch and n in e.batched) for n, t in zip(outputs, tr.outputs)]
    graph = helper.make_graph(protos, "tinygrad_cnn", inputs, outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="tinygrad_cnn", producer_version=__version__)
    model.ir_version = min(model.ir_version, _max_ir_version(onnx, opset))
    return model


def _max_ir_version(onnx, opset):
    """The IR version that goes with ``opset`` (so that older runtimes accept the file)."""
    for ir, ops in ((7, 14), (8, 18), (9, 20), (10, 22)):
        if opset <= ops:
            return ir
    return onnx.IR_VERSION


def _check_path(path):
    try:
        path = os.fspath(path)
    except TypeError:
        raise OnnxExportError(f"onnx.export: path must be a file path, got {type(path).__name__}") from None
    if os.path.isdir(path):
        raise OnnxExportError(f"onnx.export: {path} is a directory; give a file path such as model.onnx")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise OnnxExportError(f"onnx.export: the directory {parent} of {path} does not exist")
    return path


def export(model, example_input, path, opset_version=DEFAULT_OPSET, input_names=None, output_names=None,
           dynamic_batch=True):
    """Write ``model`` as an ONNX file at ``path``, traced on ``example_input`` (a Tensor, ndarray or
    tuple of them) in eval mode; the weights are initializers named by their state_dict keys.

    ``dynamic_batch``: the first dimension of the inputs and outputs is symbolic ('batch'), so the
    file runs on any batch size. Returns the ``onnx.ModelProto``. Raises OnnxExportError (a
    ValueError) for an op ONNX cannot express here, naming the op and the module it came from."""
    onnx = import_onnx("tinygrad_cnn.onnx.export")
    if not isinstance(model, Module):
        raise OnnxExportError(f"onnx.export: model must be an nn.Module, got {type(model).__name__}")
    max_opset = onnx.defs.onnx_opset_version()
    if isinstance(opset_version, bool) or not isinstance(opset_version, int) or \
            not MIN_OPSET <= opset_version <= max_opset:
        raise OnnxExportError(f"onnx.export: opset_version must be an int from {MIN_OPSET} to {max_opset}, "
                              f"got {opset_version!r}")
    path = _check_path(path)
    tr = trace(model, example_input)
    input_names = _names(input_names, len(tr.inputs), "input", "input_names")
    output_names = _names(output_names, len(tr.outputs), "output", "output_names")
    if set(input_names) & set(output_names):
        raise OnnxExportError("onnx.export: input_names and output_names must differ")
    e, outputs = _convert(tr, opset_version, bool(dynamic_batch), input_names, output_names)
    proto = _build(onnx, e, tr, input_names, outputs, opset_version, bool(dynamic_batch))
    onnx.checker.check_model(proto)
    atomic_write(path, proto.SerializeToString())
    return proto
