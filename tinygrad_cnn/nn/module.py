"""`Module` and `Parameter`: the bookkeeping behind every layer, with PyTorch's API and key names.

A Module records what is assigned to it: a `Parameter` goes into ``_parameters``, a Module into
``_modules`` and arrays registered with :meth:`Module.register_buffer` into ``_buffers``, each in
insertion order. Everything else (``parameters()``, ``state_dict()``, ``train()``, ``repr``)
walks those three dicts, so a model built by plain attribute assignment needs no extra code.
"""
import itertools
from collections import OrderedDict, namedtuple

import numpy as np

from .._tensor import Tensor
from ..device import check_device
from ..device import device as device_type

__all__ = ["Parameter", "Module", "Sequential", "ModuleList"]


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates.

    Leaves with ``requires_grad=True`` by default. The data is float32 unless it is given as
    float64 (so ``Parameter([1, 2])`` or an int array gives float32, as in PyTorch).
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty(0, dtype=np.float32)
        if isinstance(data, Tensor):
            data = data._data
        array = np.array(data, copy=True) if isinstance(data, np.ndarray) else np.asarray(data)
        if array.dtype != np.float64:
            array = array.astype(np.float32)
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _indent(text, spaces):
    """Indent every line but the first (the first follows a "(name): " prefix)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


class Module:
    """Base class of layers and models: subclass it, assign layers/parameters in ``__init__``
    (after ``super().__init__()``) and define ``forward``."""

    def __init__(self):
        # object.__setattr__ because our own __setattr__ needs these dicts to exist already
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ attribute registration
    def _registries(self):
        try:
            return self.__dict__["_parameters"], self.__dict__["_buffers"], self.__dict__["_modules"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__}: cannot assign parameters, buffers or submodules before "
                f"Module.__init__() is called (call super().__init__() first in __init__)"
            ) from None

    def __setattr__(self, name, value):
        if isinstance(value, (Parameter, Module)) or name in self.__dict__.get("_parameters", ()) \
                or name in self.__dict__.get("_buffers", ()) or name in self.__dict__.get("_modules", ()):
            params, buffers, modules = self._registries()
        else:
            object.__setattr__(self, name, value)
            return

        def _move_to(target):
            for registry in (params, buffers, modules):
                if registry is not target:
                    registry.pop(name, None)
            self.__dict__.pop(name, None)
            if target is not buffers:
                self._non_persistent_buffers.discard(name)

        if isinstance(value, Parameter):
            _move_to(params)
            params[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter '{name}' of {type(self).__name__} "
                    f"(expected a Parameter or None)"
                )
            params[name] = None
        elif isinstance(value, Module):
            _move_to(modules)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module '{name}' of {type(self).__name__} "
                    f"(expected a Module or None)"
                )
            modules[name] = None
        else:  # a registered buffer
            buffers[name] = None if value is None else _as_buffer(value, name)

    def __getattr__(self, name):
        # only called when normal lookup fails, i.e. for registered parameters/buffers/modules
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, ()):
                del self.__dict__[registry][name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        extra = itertools.chain(self._parameters, self._buffers, self._modules)
        return sorted(set(super().__dir__()) | set(extra))

    def register_buffer(self, name, tensor, persistent=True):
        """Register state that is not trained but belongs to the model (e.g. running means).

        Buffers are stored as Tensors without grad, appear in ``state_dict()`` unless
        ``persistent=False``, and follow ``to(dtype)`` when floating point. None keeps a slot.
        """
        params, buffers, _ = self._registries()
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: buffer name must be a non-empty string without '.', got {name!r}")
        if name in params or name in self._modules or (name in self.__dict__ and name not in buffers):
            raise KeyError(f"register_buffer: attribute '{name}' already exists")
        buffers[name] = None if tensor is None else _as_buffer(tensor, name)
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def register_parameter(self, name, param):
        """Add a parameter (or a None slot) under ``name``."""
        params, _, _ = self._registries()
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be a Parameter or None, got {type(param).__name__}")
        if name in self.__dict__ or name in self._buffers or name in self._modules:
            raise KeyError(f"register_parameter: attribute '{name}' already exists")
        params[name] = param

    def add_module(self, name, module):
        """Add a child module (or a None slot) under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module")
        if not isinstance(name, str) or "." in name or not name:
            raise KeyError(f"add_module: module name must be a non-empty string without '.', got {name!r}")
        _, _, modules = self._registries()
        modules[name] = module

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for self and every descendant, each module once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            members = getattr(module, registry)
            for name, value in members.items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs in registration order; a shared parameter appears once,
        under the first name it is reachable by."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def num_parameters(self, trainable_only=False):
        """Total number of scalar parameters (each shared parameter counted once)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------ state
    def _state_items(self):
        """(key, Tensor) for every parameter and persistent buffer, PyTorch's keys and order:
        each module's own parameters, then its buffers, then its children's."""
        for module_prefix, module in self.named_modules(remove_duplicate=False):
            for name, param in module._parameters.items():
                if param is not None:
                    yield (f"{module_prefix}.{name}" if module_prefix else name), param
            for name, buf in module._buffers.items():
                if buf is not None and name not in module._non_persistent_buffers:
                    yield (f"{module_prefix}.{name}" if module_prefix else name), buf

    def state_dict(self, keep_vars=False):
        """OrderedDict of key -> ndarray for every parameter and persistent buffer.

        The arrays are *copies*: a state_dict is a snapshot that later training does not change
        (PyTorch shares storage instead, which silently changes a "best model" kept in memory).
        ``keep_vars=True`` gives the live Tensors themselves. A module shared under two names
        appears under both keys, as in PyTorch.
        """
        out = OrderedDict()
        for key, tensor in self._state_items():
            out[key] = tensor if keep_vars else tensor._data.copy()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (or Tensors) from ``state_dict`` into this module's parameters and buffers.

        Values are written *into* the existing arrays (cast to each one's dtype), so optimizers
        holding these parameters keep working. Nothing is copied unless every check passes.
        Raises RuntimeError listing every problem: shape mismatches always, missing and
        unexpected keys when ``strict``. Returns ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict: expected a dict of arrays, got {type(state_dict).__name__}")
        own = OrderedDict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict.keys() if k not in own]
        problems, updates = [], []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = value._data if isinstance(value, Tensor) else value
            try:
                value = np.asarray(value)
            except Exception:
                value = None
            if value is None or value.dtype.kind not in "biuf":
                kind = type(state_dict[key]).__name__ if value is None else f"array of {value.dtype}"
                problems.append(f"{key}: expected a numeric array, got {kind}")
            elif value.shape != target.shape:
                problems.append(f"{key}: expected {tuple(target.shape)}, got {tuple(value.shape)}")
            else:
                updates.append((target, value))
        if strict:
            key_problems = []
            if missing:
                key_problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                key_problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
            problems = key_problems + problems
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n  " + "\n  ".join(problems)
            )
        for target, value in updates:
            np.copyto(target._data, value, casting="unsafe")
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ modes and utilities
    def train(self, mode=True):
        """Set training mode on this module and every descendant (Dropout, BatchNorm change)."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none=True):
        """Drop (or zero) the gradients of every parameter."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad._data[...] = 0

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant, children before parents, then return self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(tensor)``, in place, returning self.

        Only the CPU exists, so a device is checked and otherwise changes nothing. A dtype casts the
        floating-point parameters and buffers; the Parameter objects stay the same (only their
        array is replaced), so an optimizer built before the cast still updates them; their
        gradients are cast too.
        """
        kwargs.pop("non_blocking", None)
        dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"Module.to: unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, device_type)):
                device = a
            else:
                dtype = a
        check_device(device, "Module.to")
        if dtype is None:
            return self
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"Module.to: {dtype!r} is not a dtype or device (use 'cpu', float32 or float64)") from None
        if dtype.kind != "f":
            raise TypeError(f"Module.to: nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        seen = set()
        for module in self.modules():
            for tensor in itertools.chain(module._parameters.values(), module._buffers.values()):
                if tensor is None or id(tensor) in seen or tensor.dtype.kind != "f":
                    continue
                seen.add(id(tensor))
                tensor._data = tensor._data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad = Tensor(tensor.grad._data.astype(dtype))
        return self

    def cpu(self):
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    # ------------------------------------------------------------------ calling and printing
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self):
        """The text between the parentheses of this module's repr line (its settings)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def _child_lines(self):
        return [f"({name}): {_indent(repr(module), 2)}" for name, module in self._modules.items()]

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = self._child_lines()
        if not child_lines and len(extra_lines) <= 1:
            return f"{self._get_name()}({extra})"
        body = "\n  ".join(extra_lines + child_lines)
        return f"{self._get_name()}(\n  {body}\n)"


def _as_buffer(value, name):
    if isinstance(value, Tensor):
        if value.requires_grad:
            value = value.detach()
        return value
    if isinstance(value, (np.ndarray, np.generic, int, float, bool, list, tuple)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"buffer '{name}': expected numeric data, got dtype {array.dtype}")
        return Tensor(array)
    raise TypeError(f"buffer '{name}': expected a Tensor or ndarray, got {type(value).__name__}")


class _ModuleSequence(Module):
    """Shared indexing for Sequential and ModuleList: children named "0", "1", ... in order."""

    def _key(self, idx):
        n = len(self._modules)
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)):
            raise TypeError(f"{type(self).__name__} indices must be integers or slices, not {type(idx).__name__}")
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for {type(self).__name__} of length {n}")
        return list(self._modules)[idx % n]

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self._from_items(list(self._modules.items())[idx])
        return self._modules[self._key(idx)]

    def __setitem__(self, idx, module):
        setattr(self, self._key(idx), module)

    def __delitem__(self, idx):
        keys = list(self._modules)[idx] if isinstance(idx, slice) else [self._key(idx)]
        for key in keys:
            del self._modules[key]
        # renumber, as PyTorch does, so the names stay "0", "1", ...
        items = list(self._modules.values())
        self._modules.clear()
        for i, module in enumerate(items):
            self._modules[str(i)] = module

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.append: {type(module).__name__} is not a Module")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self


class Sequential(_ModuleSequence):
    """Modules applied one after another; children are named "0", "1", ...

    A single OrderedDict argument (name -> module) chooses the names instead.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                if not isinstance(module, Module):
                    raise TypeError(f"Sequential: argument {index} is a {type(module).__name__}, not a Module")
                self.add_module(str(index), module)

    @classmethod
    def _from_items(cls, items):
        return cls(OrderedDict(items))

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(_ModuleSequence):
    """A list of modules that registers them (children "0", "1", ...) but defines no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @classmethod
    def _from_items(cls, items):
        return cls(module for _, module in items)

    def _child_lines(self):
        # like PyTorch, print a run of identical children once: "(0-2): 3 x Linear(...)"
        lines, items = [], list(self._modules.items())
        start = 0
        while start < len(items):
            text = repr(items[start][1])
            end = start
            while end + 1 < len(items) and repr(items[end + 1][1]) == text:
                end += 1
            if end > start:
                lines.append(f"({items[start][0]}-{items[end][0]}): {end - start + 1} x {_indent(text, 2)}")
            else:
                lines.append(f"({items[start][0]}): {_indent(text, 2)}")
            start = end + 1
        return lines
