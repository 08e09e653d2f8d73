"""``load``: an ONNX file as a Module that runs here, differentiably.

Only the protobuf is parsed (``onnx.load``); nothing in the file is executed. Initializers become
Parameters (float ones that feed weights), buffers (batch norm's running statistics) or plain
constants (shapes, axes, scales), all under their ONNX names, so a file written by
``tinygrad_cnn.onnx.export`` loads with the state_dict keys of the exported model. The forward
runs the nodes in order with nn.functional / Tensor ops; values that only describe shapes stay
NumPy arrays (Shape -> Gather -> Concat -> Reshape chains of exported dynamic-batch graphs).
"""
import os
import re

import numpy as np

from .._tensor import Tensor
from ..nn import Module, Parameter
from ._export import import_onnx
from ._load_layers import LAYER_OPS
from ._load_ops import OPS, STATIC_INPUTS

ALL_OPS = {**OPS, **LAYER_OPS}


class OnnxLoadError(ValueError):
    """The file is not an ONNX model this package can run (an unsupported op, a bad graph)."""


class Node:
    """One ONNX node, as plain data: op_type, name, inputs, outputs, attributes (Python values)."""

    def __init__(self, onnx, proto, index):
        self.op_type, self.inputs, self.outputs = proto.op_type, list(proto.input), list(proto.output)
        self.name = proto.name or f"{proto.op_type}_{index}"
        self.domain = proto.domain
        self.attrs = {a.name: _attribute(onnx, a) for a in proto.attribute}

    def where(self):
        return f"node '{self.name}' ({self.op_type})"

    def fail(self, what):
        raise OnnxLoadError(f"onnx.load: {self.where()}: {what}")


def _attribute(onnx, attr):
    value = onnx.helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, onnx.TensorProto):
        return onnx.numpy_helper.to_array(value)
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode("utf-8") for v in value]
    return value


def _safe(part):
    """A name part a Module accepts (letters, digits, underscores)."""
    return re.sub(r"\W", "_", part) or "_"


class _Holder(Module):
    """A plain container, so that parameter names keep their dots (state_dict keys)."""

    def forward(self, *args):
        raise RuntimeError("a container of an ONNX model's weights; call the model itself")


def _classify(nodes, initializers):
    """{name: 'parameter' | 'buffer' | 'constant'} for every initializer."""
    kinds = {}
    static, buffers, weights = set(), set(), set()
    for node in nodes:
        slots = STATIC_INPUTS.get(node.op_type, set())
        for i, name in enumerate(node.inputs):
            if node.op_type == "BatchNormalization" and i in (3, 4):
                buffers.add(name)
            elif i in slots:
                static.add(name)
            else:
                weights.add(name)
    for name, array in initializers.items():
        if array.dtype.kind != "f" or (name in static and name not in weights and name not in buffers):
            kinds[name] = "constant"
        elif name in buffers and name not in weights:
            kinds[name] = "buffer"
        else:
            kinds[name] = "parameter"
    return kinds


class OnnxModule(Module):
    """An ONNX graph run with this framework's ops. ``input_names`` / ``output_names`` as in the
    file; the forward takes the inputs positionally (Tensors or arrays) and returns the output, or
    a tuple of them. ``state_dict()`` keys are the ONNX initializer names."""

    def __init__(self, onnx, graph, opset):
        super().__init__()
        self.opset = opset
        self._nodes = [Node(onnx, n, i) for i, n in enumerate(graph.node)]
        initializers = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
        self.input_names = [i.name for i in graph.input if i.name not in initializers]
        self.output_names = [o.name for o in graph.output]
        self._constants, self._slots = {}, {}
        kinds = _classify(self._nodes, initializers)
        for name, array in initializers.items():
            if kinds[name] == "constant":
                self._constants[name] = array
            else:
                self._register(name, array, kinds[name])
        for node in self._nodes:
            if node.domain not in ("", "ai.onnx") or node.op_type not in ALL_OPS:
                domain = f" of domain '{node.domain}'" if node.domain not in ("", "ai.onnx") else ""
                raise OnnxLoadError(f"onnx.load: unsupported ONNX op {node.op_type}{domain} at {node.where()} "
                                    f"(see docs/api.md for the supported ops)")

    def _register(self, name, array, kind):
        parts = [_safe(p) for p in name.split(".")]
        owner = self
        for part in parts[:-1]:
            while part not in owner._modules and hasattr(owner, part):
                part += "_"  # a name a Module already uses ("training", "forward")
            child = owner._modules.get(part)
            if child is None:
                child = _Holder()
                owner.add_module(part, child)
            owner = child
        leaf = parts[-1]
        while hasattr(owner, leaf):
            leaf += "_"
        array = np.array(array, copy=True)
        if kind == "buffer":
            owner.register_buffer(leaf, Tensor(array))
            self._slots[name] = (owner, "_buffers", leaf)
        else:
            owner.register_parameter(leaf, Parameter(Tensor(array)))
            self._slots[name] = (owner, "_parameters", leaf)

    def _initial_env(self):
        env = dict(self._constants)
        for name, (owner, registry, leaf) in self._slots.items():
            env[name] = getattr(owner, registry)[leaf]
        return env

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise ValueError(f"OnnxModule: the model takes {len(self.input_names)} input(s) "
                             f"({', '.join(self.input_names)}), got {len(inputs)}")
        env = self._initial_env()
        for name, x in zip(self.input_names, inputs):
            env[name] = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
        env[""] = None
        for node in self._nodes:
            args = []
            for name in node.inputs:
                if name not in env:
                    node.fail(f"input '{name}' is computed by no earlier node (the graph is not in order)")
                args.append(env[name])
            result = ALL_OPS[node.op_type](node, args, node.attrs, self)
            results = result if isinstance(result, (tuple, list)) else (result,)
            for name, value in zip(node.outputs, results):
                env[name] = value
        outs = [env[name] if isinstance(env[name], Tensor) else Tensor(np.asarray(env[name]))
                for name in self.output_names]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def extra_repr(self):
        return f"inputs={self.input_names}, outputs={self.output_names}, nodes={len(self._nodes)}, opset={self.opset}"


def load(path):
    """An ONNX model file (or ``onnx.ModelProto``) as an `OnnxModule` in eval mode, a trainable
    Module whose forward uses this framework's ops. Raises OnnxLoadError for an op it cannot run, naming the op
    type and the node; FileNotFoundError / OnnxLoadError for a missing or unreadable file."""
    onnx = import_onnx("tinygrad_cnn.onnx.load")
    if isinstance(path, onnx.ModelProto):
        proto = path
    else:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"onnx.load: {path} does not exist")
        if os.path.isdir(path):
            raise OnnxLoadError(f"onnx.load: {path} is a directory, not an ONNX file")
        try:
            proto = onnx.load(path)
        except Exception as err:  # a DecodeError of protobuf, or a truncated file
            raise OnnxLoadError(f"onnx.load: cannot read {path} as an ONNX model: {type(err).__name__}: {err}") \
                from None
    if not proto.graph.node:
        raise OnnxLoadError("onnx.load: the file holds no graph nodes (not an ONNX model?)")
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None or opset < 7:
        raise OnnxLoadError(f"onnx.load: the model's default-domain opset is {opset}; opset 7 or later is needed")
    return OnnxModule(onnx, proto.graph, opset).eval()  # as deployed; .train() to fine-tune with batch statistics
