"""Tracing one forward pass: the recorded graph of Function nodes, and the module each node came from.

The graph is only recorded when grad is enabled and some input of an op requires grad (see
``Function.apply``), so the trace runs the model in eval mode under ``enable_grad`` on a copy of the
example input that requires grad (frozen parameters require grad during the trace, so that ops on
weights alone are recorded too). The user's input is never touched; the model's training flags and
requires_grad flags are restored afterwards and the hooks removed, whatever happens.

Which module a node belongs to: a forward pre-hook remembers a module's input tensors, and its
forward hook claims every not yet claimed node between its output and those inputs. Hooks of
inner modules run first, so each node goes to the innermost module that computed it.
"""
import numpy as np

from .._graph import topological_order
from .._tensor import Tensor
from ..grad_mode import enable_grad


class OnnxExportError(ValueError):
    """The model cannot be exported (an op ONNX cannot express here, a bad example input, a bad path)."""


class Trace:
    """One traced forward pass.

    ``inputs``/``outputs``: the traced Tensors; ``order``: every op-made Tensor the outputs depend
    on, parents before children; ``modules``: id(ctx) -> (qualified module name, class name);
    ``names``: id(Tensor or ndarray) -> its state_dict key, for parameters and buffers."""

    def __init__(self, inputs, outputs, modules, names):
        self.inputs, self.outputs, self.modules, self.names = inputs, outputs, modules, names
        self.order = [t for t in topological_order(outputs) if t._ctx is not None]  # the op-made ones

    def where(self, tensor):
        """'module 'features.0' (Conv2d)' for error messages."""
        name, kind = self.modules.get(id(tensor._ctx), ("", "the model's own forward"))
        return f"module '{name}' ({kind})" if name else f"{kind}"


def _tensors(value):
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


def _claim(outputs, stop, owner, modules, keep):
    """Assign every unclaimed node between ``outputs`` and the ``stop`` tensors to ``owner``."""
    stack = list(outputs)
    while stack:
        t = stack.pop()
        ctx = t._ctx
        if ctx is None or id(t) in stop or id(ctx) in modules:
            continue
        modules[id(ctx)] = owner
        keep.append(ctx)  # ids stay unique while the trace lives
        stack.extend(ctx.parents)


def _install_hooks(model, modules, keep):
    handles, pending = [], {}
    for name, module in model.named_modules():
        owner = (name, type(module).__name__)

        def pre(mod, args, _key=id(module)):
            pending.setdefault(_key, []).append({id(t) for t in _tensors(args)})

        def post(mod, args, output, _key=id(module), _owner=owner):
            stops = pending[_key].pop() if pending.get(_key) else set()
            _claim(_tensors(output), stops, _owner, modules, keep)

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    return handles


def _state_names(model):
    names = {}
    for key, t in model.named_parameters():
        names.setdefault(id(t), key)
    for key, t in model.named_buffers():
        if t is not None:
            names.setdefault(id(t), key)
            names.setdefault(id(t._data), key)
    return names


def _example_copies(example_input):
    items = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    if not items:
        raise OnnxExportError("onnx.export: example_input is empty; give a Tensor (or a tuple of Tensors)")
    copies = []
    for i, item in enumerate(items):
        if isinstance(item, Tensor):
            array = item.numpy()
        elif isinstance(item, np.ndarray):
            array = item
        else:
            raise OnnxExportError(f"onnx.export: example_input[{i}] must be a Tensor or an ndarray, "
                                  f"got {type(item).__name__}")
        if array.dtype.kind != "f":
            raise OnnxExportError(f"onnx.export: example_input[{i}] must be floating point, got {array.dtype}")
        if array.ndim == 0 or array.shape[0] == 0:
            raise OnnxExportError(f"onnx.export: example_input[{i}] needs a non-empty batch dimension, "
                                  f"got shape {array.shape}")
        copies.append(Tensor(np.array(array, copy=True), requires_grad=True))
    return copies


def trace(model, example_input):
    """Run ``model`` once in eval mode on copies of ``example_input`` and return the `Trace`."""
    inputs = _example_copies(example_input)
    modes = [(m, m.training) for m in model.modules()]
    frozen = [p for p in model.parameters() if not p.requires_grad]
    modules, keep = {}, []
    handles = _install_hooks(model, modules, keep)
    try:
        model.eval()
        for p in frozen:  # so that ops on frozen weights alone (W.T) are recorded too
            p.requires_grad_(True)
        with enable_grad():
            result = model(*inputs)
    except OnnxExportError:
        raise
    except Exception as err:
        shapes = ", ".join(str(tuple(t.shape)) for t in inputs)
        raise OnnxExportError(f"onnx.export: the model failed on the example input of shape {shapes}: "
                              f"{type(err).__name__}: {err}") from err
    finally:
        for handle in handles:
            handle.remove()
        for m, mode in modes:
            m.training = mode
        for p in frozen:
            p.requires_grad_(False)
    outputs = _tensors(result)
    if not outputs:
        raise OnnxExportError(f"onnx.export: the model returned {type(result).__name__}, not a Tensor "
                              f"(or a tuple of Tensors)")
    trace_ = Trace(inputs, outputs, modules, _state_names(model))
    trace_.keep = keep
    return trace_
