"""The state of a `Module`: buffers, and loading a ``state_dict`` with PyTorch's keys and results.

Loading checks everything before writing anything, so a failed ``load_state_dict`` leaves the
model as it was; every problem is listed in one RuntimeError.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from .._args import numeric_dtype
from .._tensor import Tensor
from .parameter import Parameter


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """``(missing_keys, unexpected_keys)`` as ``load_state_dict`` returns them."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def as_buffer(value, name):
    """A buffer value as a Tensor without grad (ndarrays and numbers are accepted too)."""
    if isinstance(value, Tensor):
        return value.detach() if value.requires_grad else value
    if isinstance(value, (np.ndarray, np.generic, int, float, bool, list, tuple)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"buffer '{name}': expected numeric data, got dtype {array.dtype}")
        return Tensor(array)
    raise TypeError(f"cannot assign '{type(value).__name__}' object to buffer '{name}' "
                    f"(Tensor, ndarray or None required)")


def state_entries(module):
    """(key, owner, name, tensor, is_parameter) for every parameter and persistent buffer, in
    ``state_dict`` order: each module's parameters, then its buffers, then its children's."""
    for prefix, owner in module.named_modules(remove_duplicate=False):
        dot = prefix + "." if prefix else ""
        for name, param in owner._parameters.items():
            if param is not None:
                yield dot + name, owner, name, param, True
        for name, buf in owner._buffers.items():
            if buf is not None and name not in owner._non_persistent_buffers_set:
                yield dot + name, owner, name, buf, False


def _checked(key, raw, target, is_param, assign):
    """(array, None) when ``raw`` can be loaded into ``target``, else (None, problem)."""
    value = raw._data if isinstance(raw, Tensor) else raw
    try:
        value = np.asarray(value)
    except Exception:
        value = None
    if value is None or value.dtype.kind not in "biuf":
        kind = type(raw).__name__ if value is None else f"array of {value.dtype}"
        return None, f"{key}: expected a numeric array, got {kind}"
    if value.shape != target.shape:
        return None, f"{key}: expected {tuple(target.shape)}, got {tuple(value.shape)}"
    if assign:
        try:
            numeric_dtype(value.dtype, "load_state_dict")
        except TypeError as err:
            return None, f"{key}: {err}"
        if is_param and value.dtype.kind != "f":
            return None, f"{key}: assign=True needs a floating-point array for a parameter, got {value.dtype}"
    return value, None


def _assign(owner, name, raw, value, target, is_param):
    """``assign=True``: the module takes the state_dict's tensor (its dtype and memory)."""
    if is_param:
        param = raw if isinstance(raw, Parameter) else Parameter(np.empty(0, value.dtype))
        if param is not raw:  # shares the array, as PyTorch shares the tensor (copied if read-only)
            param._data = value if value.flags.writeable else value.copy()
        param.requires_grad = target.requires_grad
        owner._parameters[name] = param
    else:
        owner._buffers[name] = as_buffer(raw if isinstance(raw, Tensor) else value, name)


def load_state_dict(module, state_dict, strict=True, assign=False):
    """See `Module.load_state_dict`."""
    if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
        raise TypeError(f"load_state_dict: expected a dict of arrays, got {type(state_dict).__name__}")
    own = OrderedDict((entry[0], entry) for entry in state_entries(module))
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict.keys() if k not in own]
    problems, updates = [], []
    for key, (_, owner, name, target, is_param) in own.items():
        if key in state_dict:
            value, problem = _checked(key, state_dict[key], target, is_param, assign)
            if problem:
                problems.append(problem)
            else:
                updates.append((owner, name, state_dict[key], value, target, is_param))
    if strict:
        key_problems = []
        if missing:
            key_problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
        if unexpected:
            key_problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        problems = key_problems + problems
    if problems:
        raise RuntimeError(f"Error(s) in loading state_dict for {type(module).__name__}:\n  " + "\n  ".join(problems))
    for owner, name, raw, value, target, is_param in updates:
        if assign:
            _assign(owner, name, raw, value, target, is_param)
        else:
            np.copyto(target._data, value, casting="unsafe")
            target._version[0] += 1  # an in-place change, as PyTorch's copy_ under no_grad
    return IncompatibleKeys(missing, unexpected)
