"""Every differentiable primitive, one `Function` subclass each, forward and backward side by side."""
from .adaptive_pool import AdaptiveAvgPool, AdaptiveMaxPool
from .conv import Conv2d
from .conv_transpose import ConvTranspose2d
from .elementwise import (
    Abs,
    Add,
    Cast,
    Clamp,
    Div,
    Exp,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    ReLU,
    Sigmoid,
    Sign,
    Sqrt,
    Sub,
    Tanh,
    Where,
    check_broadcast,
)
from .embedding import EmbeddingFunction
from .interpolate import Resample
from .loss import CrossEntropy, LogSoftmax, Softmax
from .movement import (
    Cat,
    Clone,
    Constant,
    Expand,
    GetItem,
    Permute,
    Repeat,
    Reshape,
    SetItem,
    normalize_index,
    resolve_shape,
)
from .norm import BatchNorm2dFunction
from .norm_extra import GroupNormFunction, LayerNormFunction
from .pad import BorderPad, ConstantPad
from .pool import AvgPool2d, MaxPool2d
from .pool_extra import AvgPool2dCeil, MaxPool2dWithIndices
from .reduce import Cumsum, MatMul, Max, Norm2, Prod, Sum, TakeAlongAxis
from .unpool import MaxUnpool2d
