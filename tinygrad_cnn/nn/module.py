"""`Module`: the bookkeeping behind every layer, with PyTorch's API and key names.

A Module records what is assigned to it: a `Parameter` goes into ``_parameters``, a Module into
``_modules`` and arrays registered with :meth:`Module.register_buffer` into ``_buffers``, each in
insertion order. Everything else (``parameters()``, ``state_dict()``, ``train()``, ``repr``)
walks those three dicts, so a model built by plain attribute assignment needs no extra code.
The containers (`Sequential`, `ModuleList`, ...) live in containers.py and _parameter_containers.py.
"""
import itertools
import warnings
from collections import OrderedDict

import numpy as np

from .. import parallel
from ._hooks import RemovableHandle, call_with_hooks
from ._module_dtype import DtypeMethods
from ._module_state import IncompatibleKeys, as_buffer, load_state_dict
from .parameter import Parameter

__all__ = ["Parameter", "Module", "IncompatibleKeys", "RemovableHandle"]

_HOOK_DICTS = ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
               "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs")
_BEFORE_INIT = ("{}: cannot assign parameters, buffers or submodules before Module.__init__() is called "
                "(call super().__init__() first in __init__)")


def _indent(text, spaces):
    """Indent every line but the first (the first follows a "(name): " prefix)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


def _check_name(name, kind, op):
    if not isinstance(name, str):
        raise TypeError(f"{op}: {kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f"{op}: {kind} name can't contain \".\", got: {name}")
    if name == "":
        raise KeyError(f"{op}: {kind} name can't be empty string \"\"")


class Module(DtypeMethods):
    """Base class of layers and models: subclass it, assign layers/parameters in ``__init__``
    (after ``super().__init__()``) and define ``forward``."""

    def __init__(self):
        # object.__setattr__ because our own __setattr__ needs these dicts to exist already
        for name in ("_parameters", "_buffers", "_modules") + _HOOK_DICTS:
            object.__setattr__(self, name, OrderedDict())
        non_persistent = set()
        object.__setattr__(self, "_non_persistent_buffers_set", non_persistent)
        object.__setattr__(self, "_non_persistent_buffers", non_persistent)  # the older name
        object.__setattr__(self, "training", True)

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in _HOOK_DICTS:  # modules pickled before hooks existed
            self.__dict__.setdefault(name, OrderedDict())
        self.__dict__.setdefault("_non_persistent_buffers_set", self.__dict__.get("_non_persistent_buffers", set()))

    # ------------------------------------------------------------------ attribute registration
    def _forget(self, name, keep):
        """Remove ``name`` from the other places an attribute can live, before registering it."""
        self.__dict__.pop(name, None)
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                self.__dict__[registry].pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __setattr__(self, name, value):
        d = self.__dict__
        params, modules, buffers = d.get("_parameters"), d.get("_modules"), d.get("_buffers")
        if isinstance(value, (Parameter, Module)) and params is None:
            raise AttributeError(_BEFORE_INIT.format(type(self).__name__))
        if isinstance(value, Parameter):
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' of "
                                f"{type(self).__name__} (expected a Parameter or None)")
            params[name] = None
        elif isinstance(value, Module):
            self._forget(name, keep="_modules")
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' of "
                                f"{type(self).__name__} (expected a Module or None)")
            modules[name] = None
        elif buffers is not None and name in buffers:
            buffers[name] = None if value is None else as_buffer(value, name)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # only called when normal lookup fails, i.e. for registered parameters/buffers/modules
        d = self.__dict__
        for registry in ("_parameters", "_modules", "_buffers"):
            entries = d.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, ()):
                del self.__dict__[registry][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        extra = itertools.chain(self._parameters, self._buffers, self._modules)
        return sorted(k for k in set(super().__dir__()) | set(extra) if not k[:1].isdigit())

    def _check_free(self, name, registry, op):
        if registry not in self.__dict__:
            raise AttributeError(_BEFORE_INIT.format(type(self).__name__))
        if hasattr(self, name) and name not in self.__dict__[registry]:
            raise KeyError(f"{op}: attribute '{name}' already exists")

    def register_buffer(self, name, tensor, persistent=True):
        """Register state that is not trained but belongs to the model (e.g. running means).

        Buffers are stored as Tensors without grad (an ndarray or number is accepted too), appear
        in ``state_dict()`` unless ``persistent=False``, and follow ``to(dtype)`` when floating
        point. None keeps a slot.
        """
        if "_buffers" in self.__dict__:
            _check_name(name, "buffer", "register_buffer")
        self._check_free(name, "_buffers", "register_buffer")
        self._buffers[name] = None if tensor is None else as_buffer(tensor, name)
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name, param):
        """Add a parameter (or a None slot) under ``name``."""
        if "_parameters" in self.__dict__:
            _check_name(name, "parameter", "register_parameter")
        self._check_free(name, "_parameters", "register_parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"register_parameter: cannot assign non-leaf Tensor to parameter '{name}'; compute "
                             f"'{name}' from other tensors in forward() instead")
        self._parameters[name] = param

    def add_module(self, name, module):
        """Add a child module (or a None slot) under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module subclass")
        _check_name(name, "module", "add_module")
        self._check_free(name, "_modules", "add_module")
        self._modules[name] = module

    def register_module(self, name, module):
        """Alias of :meth:`add_module`."""
        self.add_module(name, module)

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
        """(dotted name, buffer) pairs, non-persistent buffers included."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def num_parameters(self, trainable_only=False):
        """Total number of scalar parameters (each shared parameter counted once)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def get_submodule(self, target):
        """The module at dotted path ``target`` ("" is self); AttributeError naming the bad part."""
        module = self
        for item in target.split(".") if target else []:
            if not hasattr(module, item):
                raise AttributeError(f"{module._get_name()} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def _get_member(self, target, kind):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        if kind == "parameter" and not isinstance(getattr(module, name), Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        if kind == "buffer" and name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(module, name)

    def get_parameter(self, target):
        """The parameter at dotted path ``target`` (e.g. "features.0.weight")."""
        return self._get_member(target, "parameter")

    def get_buffer(self, target):
        """The buffer at dotted path ``target`` (e.g. "bn.running_mean")."""
        return self._get_member(target, "buffer")

    # ------------------------------------------------------------------ state
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param._data.copy()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else buf._data.copy()

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """OrderedDict of key -> ndarray for every parameter and persistent buffer.

        The arrays are *copies*: a state_dict is a snapshot that later training does not change
        (PyTorch shares storage instead, which silently changes a "best model" kept in memory).
        ``keep_vars=True`` gives the live Tensors themselves. A module shared under two names
        appears under both keys, as in PyTorch. ``destination`` is filled and returned; ``prefix``
        starts every key. Positional arguments mean (destination, prefix, keep_vars), deprecated.
        """
        if args:
            warnings.warn("Module.state_dict: positional args are being deprecated, use kwargs instead "
                          "(destination=, prefix=, keep_vars=)", FutureWarning, stacklevel=2)
            destination = args[0] if destination is None else destination
            prefix = args[1] if len(args) > 1 and prefix == "" else prefix
            keep_vars = args[2] if len(args) > 2 and keep_vars is False else keep_vars
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy arrays (or Tensors) from ``state_dict`` into this module's parameters and buffers.

        Values are written *into* the existing arrays (cast to each one's dtype), so optimizers
        holding these parameters keep working. ``assign=True`` instead makes the module take the
        given arrays/Tensors (their dtype and memory; each parameter keeps its requires_grad), as
        PyTorch does. Nothing is changed unless every check passes. Raises RuntimeError listing
        every problem: shape mismatches always, missing and unexpected keys when ``strict``.
        Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        return load_state_dict(self, state_dict, strict=strict, assign=assign)

    # ------------------------------------------------------------------ modes and utilities
    def train(self, mode=True):
        """Set training mode on this module and, through their ``train``, every descendant."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: training mode is expected to be boolean, got {mode!r}")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Drop (or zero) the gradients of every parameter."""
        for param in self.parameters():
            grad = param.grad
            if grad is None:
                continue
            if set_to_none:
                param.grad = None
                continue
            grad.detach_()
            if grad._data.flags.writeable:
                grad._data[...] = 0
            else:
                grad._data = np.zeros_like(grad._data)
            grad._version[0] += 1

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant, children before parents, then return self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ hooks and calling
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` (``with_kwargs``: ``hook(module, args, kwargs)``) before each
        forward; it may return replacement args (or ``(args, kwargs)``). Returns a handle."""
        return self._add_hook(hook, "_forward_pre_hooks", prepend, {"_forward_pre_hooks_with_kwargs": with_kwargs})

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """``hook(module, args, output)`` (``with_kwargs``: ``hook(module, args, kwargs, output)``)
        after each forward; it may return a replacement output. ``always_call``: run it even when
        forward raises. Returns a handle whose ``remove()`` unregisters it."""
        flags = {"_forward_hooks_with_kwargs": with_kwargs, "_forward_hooks_always_called": always_call}
        return self._add_hook(hook, "_forward_hooks", prepend, flags)

    def _add_hook(self, hook, registry, prepend, flags):
        if not callable(hook):
            raise TypeError(f"register hook: expected a callable, got {type(hook).__name__}")
        hooks = getattr(self, registry)
        handle = RemovableHandle(hooks, extra_dict=[getattr(self, name) for name in flags])
        hooks[handle.id] = hook
        for name, on in flags.items():
            if on:
                getattr(self, name)[handle.id] = True
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def _no_backward_hooks(self, *args, **kwargs):
        raise NotImplementedError(
            "Module backward hooks are not supported by tinygrad_cnn; read the gradients from .grad after "
            "backward(), or use register_forward_hook to see inputs and outputs"
        )

    register_full_backward_hook = register_full_backward_pre_hook = register_backward_hook = _no_backward_hooks

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if not parallel.in_single_threaded_blas():
            # the outermost module sets the BLAS to one thread once for all the ops inside
            with parallel.single_threaded_blas():
                return self._call_forward(args, kwargs)
        return self._call_forward(args, kwargs)

    def _call_forward(self, args, kwargs):
        d = self.__dict__
        if d.get("_forward_hooks") or d.get("_forward_pre_hooks"):
            return call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ printing
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


