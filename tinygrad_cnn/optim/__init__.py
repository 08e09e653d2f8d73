"""Optimizers (SGD, Adam, AdamW) and learning-rate schedulers, with PyTorch's update rules.

``opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)``; per batch: ``opt.zero_grad()``,
``loss.backward()``, ``opt.step()``. Optimizers depend only on `Tensor`, not on `nn`.
"""
from . import lr_scheduler
from .optimizer import SGD, Adam, AdamW, Optimizer

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
