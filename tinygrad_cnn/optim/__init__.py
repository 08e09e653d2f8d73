"""Optimizers and learning-rate schedulers, with PyTorch's update rules, defaults and checks.

``opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)``; per batch: ``opt.zero_grad()``,
``loss.backward()``, ``opt.step()``. Optimizers depend only on `Tensor`, not on `nn`.
SGD, Adam, AdamW: optimizer.py; Adadelta, Adagrad, RMSprop: adaptive.py; NAdam, RAdam, Adamax:
adam_variants.py; schedulers: ``optim.lr_scheduler``.
"""
from . import lr_scheduler
from .adam_variants import Adamax, NAdam, RAdam
from .adaptive import Adadelta, Adagrad, RMSprop
from .optimizer import SGD, Adam, AdamW, Optimizer

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adadelta", "Adagrad", "RMSprop", "NAdam", "RAdam", "Adamax",
           "lr_scheduler"]
