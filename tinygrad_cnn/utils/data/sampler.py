"""Samplers, as in ``torch.utils.data.sampler``: iterables of dataset indices (Python ints).

The random ones draw from a ``numpy.random.Generator`` given as ``generator``, or else from the
library generator (``tinygrad_cnn.manual_seed``) at the moment iteration starts, so an epoch's
order is fixed by the generator state when the ``for`` loop begins. A ``torch.Generator`` is
refused: its stream could not be reproduced here, and silently ignoring it would be worse.
"""
import numpy as np

from ..._args import is_int
from ...rng import get_rng

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]


def check_generator(generator, op):
    """``generator`` if it is None or a numpy Generator; TypeError otherwise (naming torch's)."""
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    kind = type(generator)
    if kind.__module__.split(".")[0] == "torch":
        raise TypeError(f"{op}: generator must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)) or "
                        f"None, got a torch.Generator: tinygrad_cnn draws from NumPy generators and cannot "
                        f"reproduce torch's random stream")
    raise TypeError(f"{op}: generator must be a numpy.random.Generator or None, got {kind.__name__}")


def _positive_int(value, name):
    if not is_int(value) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


def _boolean(value, name, error=ValueError):
    if not isinstance(value, (bool, np.bool_)):
        raise error(f"{name} should be a boolean value, but got {name}={value!r}")
    return bool(value)


class Sampler:
    """Base class: subclasses define ``__iter__`` (yielding indices) and usually ``__len__``."""

    def __init__(self, data_source=None):
        pass  # torch's deprecated data_source argument: accepted and unused

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class _ArraySampler(Sampler):
    """A sampler whose whole epoch of indices is one ndarray, drawn when iteration starts.

    ``BatchSampler`` slices that array directly (no per-index Python objects), unless a subclass
    overrides ``__iter__``, which then wins."""

    def _index_array(self):
        raise NotImplementedError

    def __iter__(self):
        return iter(self._index_array().tolist())


class SequentialSampler(_ArraySampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _index_array(self):
        return np.arange(len(self.data_source))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(_ArraySampler):
    """A random permutation of the indices (``replacement=False``), or ``num_samples`` indices
    drawn uniformly with replacement. Without replacement, more samples than elements take
    whole fresh permutations one after another, as in PyTorch."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = _boolean(replacement, "replacement", TypeError)
        self._num_samples = num_samples
        self.generator = check_generator(generator, "RandomSampler")
        _positive_int(self.num_samples, "num_samples")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_array(self):
        n, k = len(self.data_source), self.num_samples
        if n == 0:
            raise ValueError(f"RandomSampler: cannot draw {k} samples from an empty data source")
        rng = self.generator if self.generator is not None else get_rng()
        if self.replacement:
            return rng.integers(0, n, size=k)
        parts = [rng.permutation(n) for _ in range(k // n)]
        if k % n:
            parts.append(rng.permutation(n)[:k % n])
        return np.concatenate(parts) if len(parts) != 1 else parts[0]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(_ArraySampler):
    """The given indices, in a random order drawn each epoch."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = check_generator(generator, "SubsetRandomSampler")

    def _index_array(self):
        rng = self.generator if self.generator is not None else get_rng()
        order = rng.permutation(len(self.indices))
        return np.asarray(self.indices)[order] if len(self.indices) else np.zeros(0, dtype=np.int64)

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(_ArraySampler):
    """``num_samples`` indices in [0, len(weights)), index i with probability weights[i] / sum."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        self.num_samples = _positive_int(num_samples, "num_samples")
        self.replacement = _boolean(replacement, "replacement")
        weights = np.asarray(weights._data if hasattr(weights, "_data") else weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {weights.shape}")
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise RuntimeError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise RuntimeError(f"WeightedRandomSampler: cannot sample {num_samples} indices without replacement "
                               f"from {np.count_nonzero(weights)} with non-zero weight")
        self.weights = weights
        self.generator = check_generator(generator, "WeightedRandomSampler")

    def _index_array(self):
        rng = self.generator if self.generator is not None else get_rng()
        return rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                          p=self.weights / self.weights.sum())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.drop_last = _boolean(drop_last, "drop_last")
        self.sampler = sampler

    def _array_batches(self):
        """The batches as int arrays; the epoch's indices are drawn now, not at the first next()."""
        if isinstance(self.sampler, _ArraySampler) and type(self.sampler).__iter__ is _ArraySampler.__iter__:
            order = self.sampler._index_array()
            return self._slices(order)
        return (np.asarray(b, dtype=np.int64) for b in self.__iter__())

    def _slices(self, order):
        n, b = len(order), self.batch_size
        stop = n - n % b if self.drop_last else n
        for start in range(0, stop, b):
            yield order[start:start + b]

    def __iter__(self):
        indices = iter(self.sampler)  # started now: the epoch's order is drawn at iter() time
        return self._group(indices)

    def _group(self, indices):
        batch = []
        for i in indices:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
