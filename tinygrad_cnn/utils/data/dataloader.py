"""``DataLoader``: batches from a dataset, with ``torch.utils.data.DataLoader``'s arguments and rules.

Everything runs in the main process. ``num_workers > 0`` is accepted (PyTorch code often passes
it) and warns once that loading stays in-process: results are the same, only not parallel, and,
as with ``num_workers=0`` in PyTorch, ``worker_init_fn`` is not called and ``get_worker_info()``
is None. ``pin_memory`` is accepted and does nothing (CPU only).

With the default collate function and a dataset that can build a whole batch at once
(``TensorDataset``, the MNIST datasets with the library's transforms, ``Subset`` s of them), a
batch is one fancy index per array instead of a Python loop over its samples, with the same result.
"""
import itertools
import warnings

from ..._args import is_int
from ._collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, check_generator

__all__ = ["DataLoader", "get_worker_info"]

_warned_workers = False
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


def get_worker_info():
    """Always None: there are no worker processes (as in PyTorch's main process)."""
    return None


class _InfiniteConstantSampler(Sampler):
    """The placeholder sampler of an iterable dataset (indices are not used)."""

    def __iter__(self):
        return itertools.repeat(None)


def _warn_workers(num_workers):
    global _warned_workers
    if not _warned_workers:
        _warned_workers = True
        warnings.warn(f"DataLoader: num_workers={num_workers} loads the batches in the main process (tinygrad_cnn "
                      f"has no worker processes): same batches, no parallelism; worker_init_fn is not called. "
                      f"Pass num_workers=0 to silence this.", UserWarning, stacklevel=3)


class DataLoader:
    """Iterate over batches of ``dataset``; the arguments are PyTorch's (see the module docstring)."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        prefetch_factor = self._check_workers(num_workers, timeout, prefetch_factor, persistent_workers,
                                              multiprocessing_context)
        generator = check_generator(generator, "DataLoader")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable or None, got {type(collate_fn).__name__}")
        if isinstance(dataset, IterableDataset):
            for name, value, unset in (("shuffle", shuffle, shuffle in (False, None)),
                                       ("sampler", sampler, sampler is None),
                                       ("batch_sampler", batch_sampler, batch_sampler is None)):
                if not unset:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, "
                                     f"but got {name}={value!r}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None:
            if isinstance(dataset, IterableDataset):
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, bool(drop_last)
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.collate_fn, self.pin_memory = num_workers, collate_fn, bool(pin_memory)
        self.timeout, self.worker_init_fn, self.prefetch_factor = timeout, worker_init_fn, prefetch_factor
        self.multiprocessing_context, self.persistent_workers = multiprocessing_context, persistent_workers
        self.pin_memory_device, self.in_order = pin_memory_device, in_order
        self.__initialized = True

    @staticmethod
    def _check_workers(num_workers, timeout, prefetch_factor, persistent_workers, context):
        """The worker arguments, validated as in PyTorch; returns the effective prefetch_factor."""
        if not is_int(num_workers):
            raise TypeError(f"DataLoader: num_workers must be an int, got {num_workers!r}")
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0:
            if prefetch_factor is not None:
                raise ValueError("prefetch_factor option could only be specified in multiprocessing.let "
                                 "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
            if persistent_workers:
                raise ValueError("persistent_workers option needs num_workers > 0")
            if context is not None:
                raise ValueError(f"multiprocessing_context can only be used with multi-process loading "
                                 f"(num_workers > 0), but got num_workers={num_workers}")
            return None
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        _warn_workers(num_workers)
        return 2 if prefetch_factor is None else prefetch_factor

    def __setattr__(self, name, value):
        if name in _FROZEN and self.__dict__.get("_DataLoader__initialized", False):
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # TypeError if the stream has no length, as in PyTorch
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self.batch_sampler if self._auto_collation else self.sampler)

    def __iter__(self):
        return _LoaderIter(self)

    def _batches(self):
        """A generator of the epoch's batches; samplers are started here, so the epoch's order is
        drawn when iteration begins."""
        dataset, collate = self.dataset, self.collate_fn
        if isinstance(dataset, IterableDataset):
            return self._stream_batches(iter(dataset))
        if not self._auto_collation:
            return (collate(dataset[i]) for i in iter(self.sampler))
        get_batch = getattr(dataset, "_get_batch", None)
        if collate is default_collate and get_batch is not None \
                and type(self.batch_sampler).__iter__ is BatchSampler.__iter__:  # not a subclass's own order
            return self._fast_batches(self.batch_sampler._array_batches(), get_batch)
        return (collate(self._fetch(idx)) for idx in iter(self.batch_sampler))

    def _fetch(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return getitems(indices)
        return [self.dataset[i] for i in indices]

    def _fast_batches(self, index_arrays, get_batch):
        for idx in index_arrays:
            batch = get_batch(idx)
            yield batch if batch is not None else default_collate(self._fetch(idx.tolist()))

    def _stream_batches(self, stream):
        if not self._auto_collation:
            for sample in stream:
                yield self.collate_fn(sample)
            return
        while True:
            batch = list(itertools.islice(stream, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)


class _LoaderIter:
    """What ``iter(loader)`` returns: an iterator with ``len()``, like PyTorch's."""

    def __init__(self, loader):
        self._loader = loader
        self._batches = loader._batches()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)

    def __len__(self):
        return len(self._loader)
