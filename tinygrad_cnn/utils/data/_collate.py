"""``default_collate`` and ``default_convert`` with PyTorch's rules (``torch.utils.data._utils.collate``).

Tensors are stacked; ndarrays become tensors of their own dtype and are stacked; NumPy scalars
keep their dtype; Python ints become int64 (``tensor(batch)``: a batch starting with an int and
holding a float gives float32), Python floats float64; strings and bytes stay lists; dicts,
namedtuples and sequences are collated field by field (a tuple gives a list, as in PyTorch).
"""
import collections.abc
import copy
import re

import numpy as np

from ..._args import result_dtype
from ..._tensor import Tensor
from ...creation import tensor as _tensor
from ...toplevel import stack

__all__ = ["default_collate", "default_convert"]

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
_STR_OR_OBJECT = re.compile(r"[SaUO]")  # ndarray dtypes that cannot become tensors


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _stack(arrays, tensors=None):
    """Stack equally shaped arrays along a new first dim, promoting dtypes as torch.stack does."""
    shape = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                               f"and {list(a.shape)} at entry {i}")
    if tensors is not None and any(t.requires_grad for t in tensors):
        return stack(tensors)  # records the graph, as torch.stack would
    dtypes = {a.dtype for a in arrays}
    dtype = arrays[0].dtype if len(dtypes) == 1 else result_dtype(tensors or [Tensor(a) for a in arrays])
    return Tensor(np.stack(arrays).astype(dtype, copy=False))


def _collate_sequence(batch, elem):
    size = len(elem)
    if any(len(e) != size for e in batch):
        raise RuntimeError("each element in list of batch should be of equal size")
    columns = [default_collate(samples) for samples in zip(*batch)]  # tuples, as in PyTorch (strings stay tuples)
    if isinstance(elem, tuple):
        return columns  # PyTorch's backwards-compatible choice: a tuple of fields gives a list
    if isinstance(elem, collections.abc.MutableSequence):
        clone = copy.copy(elem)
        for i, c in enumerate(columns):
            clone[i] = c
        return clone
    try:
        return type(elem)(columns)
    except TypeError:
        return columns


def _collate_mapping(batch, elem):
    columns = {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, collections.abc.MutableMapping):
        clone = copy.copy(elem)
        clone.update(columns)
        return clone
    try:
        return type(elem)(columns)
    except TypeError:
        return columns


def default_collate(batch):
    """Merge a list of samples into a batch (see the module docstring for the rules)."""
    elem = batch[0]  # an empty batch is an IndexError, as in PyTorch
    if isinstance(elem, Tensor):
        return _stack([t._data for t in batch], list(batch))
    if isinstance(elem, np.ndarray):
        if _STR_OR_OBJECT.search(elem.dtype.str):
            raise TypeError(_ERR.format(elem.dtype))
        return _stack([np.asarray(a) for a in batch])
    if isinstance(elem, (np.bool_, np.number)):
        return Tensor(np.array(batch))  # NumPy scalars keep their dtype
    if isinstance(elem, float):
        return _tensor(batch, dtype=np.float64)
    if isinstance(elem, int):
        return _tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _collate_mapping(batch, elem)
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        return _collate_sequence(batch, elem)
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data):
    """Turn ndarrays and NumPy scalars (also inside dicts and sequences) into tensors; keep the rest.

    This is the ``collate_fn`` when automatic batching is off (``batch_size=None``)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _STR_OR_OBJECT.search(data.dtype.str) else Tensor(data)
    if isinstance(data, (np.bool_, np.number)):
        return Tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(v) for key, v in data.items()}
        if isinstance(data, collections.abc.MutableMapping):
            clone = copy.copy(data)
            clone.update(converted)
            return clone
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        converted = [default_convert(d) for d in data]
        if isinstance(data, collections.abc.MutableSequence):
            clone = copy.copy(data)
            clone[:] = converted
            return clone
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    return data
