"""Module containers with PyTorch's names, child names ("0", "1", ... or the dict keys) and reprs:
`Sequential`, `ModuleList`, `ModuleDict`; `ParameterList` and `ParameterDict` are in
_parameter_containers.py and importable from here."""
import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .module import Module, _indent

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _abs_index(container, idx):
    """``idx`` as a non-negative int below ``len(container)``; TypeError/IndexError as a list."""
    if isinstance(idx, bool):
        raise TypeError(f"{type(container).__name__} indices must be integers or slices, not bool")
    try:
        idx = operator.index(idx)
    except TypeError:
        raise TypeError(f"{type(container).__name__} indices must be integers or slices, "
                        f"not {type(idx).__name__}") from None
    n = len(container)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for {type(container).__name__} of length {n}")
    return idx % n


def _insert_index(container, index):
    index = operator.index(index)
    n = len(container._modules)
    if not -n <= index <= n:
        raise IndexError(f"{type(container).__name__}.insert: index {index} is out of range (length {n})")
    return index + n if index < 0 else index


def _require_module(container, op, module):
    if not isinstance(module, Module):
        raise TypeError(f"{type(container).__name__}.{op}: {type(module).__name__} is not a Module subclass")


class _ModuleSequence(Module):
    """Shared indexing for Sequential and ModuleList: children named "0", "1", ... in order."""

    def _key(self, idx):
        return list(self._modules)[_abs_index(self, idx)]

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self._from_items(list(self._modules.items())[idx])
        return self._modules[self._key(idx)]

    def __setitem__(self, idx, module):
        setattr(self, self._key(idx), module)

    def _renumber(self, modules):
        """Children become ``modules`` named "0", "1", ... (as PyTorch renumbers after a delete)."""
        self._modules.clear()
        for i, module in enumerate(modules):
            self._modules[str(i)] = module

    def __delitem__(self, idx):
        keys = list(self._modules)[idx] if isinstance(idx, slice) else [self._key(idx)]
        for key in keys:
            del self._modules[key]
        self._renumber(list(self._modules.values()))

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add ``module`` at the end (named ``str(len(self))``); returns self."""
        _require_module(self, "append", module)
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index, module):
        """Put ``module`` before position ``index`` (-len..len); the children are renumbered."""
        _require_module(self, "insert", module)
        modules = list(self._modules.values())
        modules.insert(_insert_index(self, index), module)
        self._renumber(modules)

    def pop(self, key):
        """Remove and return the module at ``key`` (an int or a slice)."""
        value = self[key]
        del self[key]
        return value


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

    def insert(self, index, module):
        super().insert(index, module)
        return self

    def extend(self, sequential):
        for module in sequential:
            self.append(module)
        return self

    def _check_sequential(self, other, op):
        if not isinstance(other, Sequential):
            raise ValueError(f"{op} operator supports only objects of Sequential class, but {type(other)} is given.")

    def __add__(self, other):
        self._check_sequential(other, "add")
        return Sequential().extend(self).extend(other)

    def __iadd__(self, other):
        self._check_sequential(other, "add")
        return self.extend(list(other))

    def _repeat(self, times):
        if isinstance(times, bool) or not isinstance(times, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(times)}")
        if times <= 0:
            raise ValueError(f"Non-positive multiplication factor {times} for {type(self)}")
        return list(self) * times

    def __mul__(self, times):
        return Sequential(*self._repeat(times))

    __rmul__ = __mul__

    def __imul__(self, times):
        return self.extend(self._repeat(times)[len(self):])

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

    def extend(self, modules):
        """Append every module of the iterable ``modules``; returns self."""
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend should be called with an iterable, but got {type(modules).__name__}")
        for module in modules:
            self.append(module)
        return self

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

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


def _pairs(items, owner):
    """(key, value) pairs from a mapping or an iterable of pairs, checked as PyTorch does."""
    if not isinstance(items, Iterable):
        raise TypeError(f"{owner}.update should be called with an iterable of key/value pairs, "
                        f"but got {type(items).__name__}")
    if isinstance(items, Mapping) or hasattr(items, "items") and hasattr(items, "keys"):
        return list(items.items())
    pairs = []
    for j, pair in enumerate(items):
        if not isinstance(pair, Iterable):
            raise TypeError(f"{owner} update sequence element #{j} should be Iterable; is {type(pair).__name__}")
        pair = list(pair)
        if len(pair) != 2:
            raise ValueError(f"{owner} update sequence element #{j} has length {len(pair)}; 2 is required")
        pairs.append(pair)
    return pairs


class ModuleDict(Module):
    """An ordered dict of modules that registers them under their keys; defines no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        """Remove ``key`` and return its module."""
        value = self[key]
        del self[key]
        return value

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        """Add (or replace) modules from a mapping or an iterable of (key, module) pairs, in order."""
        for key, module in _pairs(modules, "ModuleDict"):
            self[key] = module


