"""Datasets, as in ``torch.utils.data.dataset``: map-style (``__getitem__`` + ``__len__``) and
iterable ones, and the ways to combine them (``Subset``, ``random_split``, ``ConcatDataset``).

A dataset may also define ``_get_batch(indices)``: the collated batch for an int array of indices,
exactly what ``default_collate([self[i] for i in indices])`` gives, or None when it cannot. The
``DataLoader`` uses it with the default collate function, so a ``TensorDataset`` batch is one
fancy index per tensor instead of a Python loop over the batch.
"""
import bisect
import collections.abc
import math
import warnings

import numpy as np

from ..._args import is_int
from ..._tensor import Tensor
from ...rng import get_rng
from .sampler import check_generator

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset",
           "random_split"]


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__`` and (for most samplers) ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset, collections.abc.Iterable):
    """A dataset that is a stream: subclasses define ``__iter__`` (abstract, as in PyTorch)."""

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Sample i is ``tuple(t[i] for t in tensors)``; all tensors share their first dimension."""

    def __init__(self, *tensors):
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {i} must be a Tensor, got {type(t).__name__} "
                                f"(wrap an ndarray with tinygrad_cnn.from_numpy)")
            if t.ndim == 0:
                raise IndexError(f"TensorDataset: argument {i} is a 0-d tensor; samples are taken along dim 0")
        if any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            raise AssertionError(f"Size mismatch between tensors: first dims {[t.shape[0] for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        if not self.tensors:
            raise IndexError("TensorDataset: no tensors, so no length")
        return self.tensors[0].shape[0]

    def _get_batch(self, indices):
        # default_collate turns the sample tuples into a list of stacked tensors
        return [t[indices] if t.requires_grad else Tensor(t._data[indices]) for t in self.tensors]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (a sequence), in that order."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        mapped = [self.indices[i] for i in indices]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(mapped)
        return [self.dataset[i] for i in mapped]

    def __len__(self):
        return len(self.indices)

    def _get_batch(self, indices):
        inner = getattr(self.dataset, "_get_batch", None)
        if inner is None:
            return None
        return inner(np.asarray([self.indices[i] for i in indices.tolist()], dtype=np.int64))


class ConcatDataset(Dataset):
    """The samples of several map-style datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    @staticmethod
    def cumsum(sequence):
        out, total = [], 0
        for d in sequence:
            total += len(d)
            out.append(total)
        return out

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            idx += n
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for {n} samples")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Several iterable datasets, one stream after the other."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


def _fraction_lengths(n, fractions):
    """PyTorch's rule: floor(n * f) each, then the remainder one by one to the first splits."""
    for i, f in enumerate(fractions):
        if f < 0 or f > 1:
            raise ValueError(f"Fraction at index {i} is not between 0 and 1")
    lengths = [int(math.floor(n * f)) for f in fractions]
    for i in range(n - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, length in enumerate(lengths):
        if length == 0:
            warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                          stacklevel=3)
    return lengths


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset`` s of the given lengths.

    ``lengths`` are ints summing to ``len(dataset)``, or fractions summing to 1 (rounded as in
    PyTorch). The permutation comes from ``generator`` (a numpy Generator) or the library RNG.
    """
    generator = check_generator(generator, "random_split")
    lengths = list(lengths)
    n = len(dataset)
    if not all(isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) for x in lengths):
        raise TypeError(f"random_split: lengths must be ints or fractions, got {lengths!r}")
    total = sum(lengths)
    if lengths and math.isclose(total, 1) and total <= 1:  # even all-int [0, 1]: PyTorch's rule
        lengths = _fraction_lengths(n, lengths)
    elif not all(is_int(x) for x in lengths):
        raise TypeError(f"random_split: lengths must be ints summing to {n} or fractions summing to 1, "
                        f"got {lengths!r}")
    if any(x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative, got {lengths!r}")
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = (generator if generator is not None else get_rng()).permutation(n).tolist()
    splits, offset = [], 0
    for length in lengths:
        splits.append(Subset(dataset, order[offset:offset + length]))
        offset += length
    return splits
