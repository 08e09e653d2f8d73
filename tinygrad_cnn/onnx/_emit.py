"""The ONNX graph under construction, as plain Python data (no onnx import here).

Nodes are ``(op_type, inputs, outputs, attributes, name)``; initializers are named ndarrays. The
emitter knows which values carry the batch in their first dimension (``batched``) so that shape
arguments can keep it symbolic (a 0 in a Reshape target copies the input's dimension).
"""
import numpy as np

from ._trace import OnnxExportError


class Emitter:
    def __init__(self, trace, opset, dynamic_batch):
        self.trace, self.opset, self.dynamic = trace, opset, dynamic_batch
        self.nodes, self.initializers = [], {}
        self.names = {}      # id(Tensor) -> ONNX value name
        self.batched = set()  # ONNX value names whose dimension 0 is the batch
        self.used = set()
        self.current = None  # the Tensor being converted, for error messages

    # ----------------------------------------------------------------- names
    def fresh(self, hint):
        hint = hint.replace("/", "_")
        name, k = hint, 1
        while name in self.used:
            name, k = f"{hint}_{k}", k + 1
        self.used.add(name)
        return name

    def initializer(self, array, hint="const", state=False):
        """An initializer for the model's state (``state``) and for integer constants (shapes,
        axes); other float constants become Constant nodes, so that a loader can take every float
        initializer for a weight."""
        array = np.asarray(array)
        if state or array.dtype.kind != "f":
            name = self.fresh(hint)
            self.initializers[name] = array
            return name
        return self.node("Constant", [], {"value": array}, batched=False, hint=hint)

    def ints(self, values, hint="shape"):
        return self.initializer(np.asarray(values, dtype=np.int64).reshape(-1), hint)

    def scalar(self, value, dtype, hint="scalar"):
        return self.initializer(np.asarray(value, dtype=dtype), hint)

    def like(self, value, tensor, hint="scalar"):
        """A scalar initializer of ``tensor``'s dtype."""
        return self.scalar(value, tensor.dtype, hint)

    def value(self, tensor):
        """The ONNX name of a Tensor: a traced value, a parameter/buffer initializer or a constant."""
        key = id(tensor)
        if key in self.names:
            return self.names[key]
        state = self.trace.names.get(key)
        name = self.initializer(tensor.numpy(), state if state else "const", state=bool(state))
        self.names[key] = name
        return name

    def state_array(self, array, hint):
        """An option array (e.g. batch norm's running statistics) as an initializer, named by its
        state_dict key when it is a buffer's."""
        key = id(array)
        if key in self.names:
            return self.names[key]
        state = self.trace.names.get(key)
        name = self.initializer(np.asarray(array), state or hint, state=bool(state))
        self.names[key] = name
        return name

    # ----------------------------------------------------------------- nodes
    def node(self, op_type, inputs, attrs=None, batched=None, hint=None):
        """Add a node; returns its output name. ``batched``: whether the output's dim 0 is the batch
        (default: whether any input's is)."""
        out = self.fresh(hint or f"{op_type.lower()}")
        module = self.trace.modules.get(id(self.current._ctx), ("",))[0] if self.current is not None else ""
        node_name = f"{module}/{op_type}_{len(self.nodes)}" if module else f"{op_type}_{len(self.nodes)}"
        self.nodes.append((op_type, list(inputs), [out], dict(attrs or {}), node_name))
        if batched is None:
            batched = any(i in self.batched for i in inputs)
        if batched:
            self.batched.add(out)
        return out

    def is_batched(self, name):
        return self.dynamic and name in self.batched

    def fail(self, what):
        t = self.current
        op = t._ctx.function.__name__ if t is not None else "?"
        where = self.trace.where(t) if t is not None else "the model"
        raise OnnxExportError(f"onnx.export: cannot express op {op} (from {where}) in ONNX: {what}")

    def shape_arg(self, shape, source):
        """A Reshape/Expand target: dim 0 becomes 0 (copy it) when ``source`` is batched."""
        shape = list(shape)
        if self.is_batched(source):
            shape[0] = 0
        return self.ints(shape)

    def no_batch_axis(self, source, axes, what):
        """An error when an op would mix the batch dimension of ``source`` (dynamic batch only)."""
        if self.is_batched(source) and 0 in axes:
            self.fail(f"{what} acts on the batch dimension, which a dynamic-batch export keeps symbolic "
                      f"(export with dynamic_batch=False)")

    # ----------------------------------------------------------------- opset-dependent forms
    def reduce(self, op_type, x, axes, keepdims):
        """ReduceSum (axes an input since opset 13) and the other reductions (since opset 18)."""
        attrs = {"keepdims": int(keepdims)}
        if axes is None:
            return self.node(op_type, [x], attrs, batched=False)
        axes = [int(a) for a in axes]
        self.no_batch_axis(x, axes, op_type)
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.node(op_type, [x, self.ints(axes, "axes")], attrs)
        return self.node(op_type, [x], dict(attrs, axes=axes))

    def unsqueeze(self, x, axes):
        return self.node("Unsqueeze", [x, self.ints(axes, "axes")])

    def squeeze(self, x, axes):
        return self.node("Squeeze", [x, self.ints(axes, "axes")])
