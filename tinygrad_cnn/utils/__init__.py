"""PyTorch-shaped utilities: ``utils.data`` (``torch.utils.data``: Dataset, DataLoader, samplers) and,
in torchvision's shape, ``utils.datasets`` (MNIST, FashionMNIST) and ``utils.transforms``."""
from . import data, datasets, transforms

__all__ = ["data", "datasets", "transforms"]
