"""Neural-network building blocks with PyTorch's names: `Module`, `Parameter`, layers and `init`.

``from tinygrad_cnn import nn`` then ``nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), ...)``.
"""
from . import init, utils
from ._parameter_containers import ParameterDict, ParameterList
from .activation_layers import *  # noqa: F401,F403
from .activation_layers import __all__ as _activation_layers
from .containers import ModuleDict, ModuleList, Sequential
from .conv_layers import *  # noqa: F401,F403
from .conv_layers import __all__ as _conv_layers
from .layers import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Identity,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .loss_layers import *  # noqa: F401,F403
from .loss_layers import __all__ as _loss_layers
from .module import IncompatibleKeys, Module, Parameter
from .norm_layers import *  # noqa: F401,F403
from .norm_layers import __all__ as _norm_layers

__all__ = [
    "init", "Module", "Parameter", "Sequential", "ModuleList", "IncompatibleKeys",
    "utils", "ModuleDict", "ParameterList", "ParameterDict",
    "Identity", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "Sigmoid", "Tanh", "Flatten",
    "Dropout", "BatchNorm2d", "Softmax", "LogSoftmax", "CrossEntropyLoss",
]
__all__ += [n for n in _activation_layers + _loss_layers + _norm_layers if n not in __all__]
__all__ += [n for n in _conv_layers if n not in __all__]
