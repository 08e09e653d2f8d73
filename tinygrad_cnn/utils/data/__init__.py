"""``torch.utils.data`` for tinygrad_cnn: datasets, samplers, ``default_collate`` and ``DataLoader``.

``from torch.utils.data import DataLoader, TensorDataset`` becomes
``from tinygrad_cnn.utils.data import DataLoader, TensorDataset``; the differences are the random
generator (a ``numpy.random.Generator`` or the library RNG, never a ``torch.Generator``) and that
loading always runs in the main process (``num_workers > 0`` warns once and loads in-process).
"""
from ._collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset", "random_split",
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
    "BatchSampler", "DataLoader", "default_collate", "default_convert", "get_worker_info",
]
