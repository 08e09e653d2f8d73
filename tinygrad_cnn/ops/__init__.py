"""Every differentiable primitive, one `Function` subclass each, forward and backward side by side."""
from .elementwise import (Abs, Add, Cast, Clamp, Div, Exp, Log, Maximum, Minimum, Mul, Neg, Pow, ReLU, Sigmoid, Sign,
                          Sqrt, Sub, Tanh, Where, check_broadcast)
from .loss import CrossEntropy, LogSoftmax, Softmax
from .movement import Cat, Clone, Constant, Expand, GetItem, Permute, Repeat, Reshape, SetItem, normalize_index, resolve_shape
from .reduce import Cumsum, MatMul, Max, Norm2, Prod, Sum, TakeAlongAxis
from .conv import Conv2d
from .pool import AvgPool2d, MaxPool2d
from .norm import BatchNorm2dFunction
from .conv_transpose import ConvTranspose2d
from .embedding import EmbeddingFunction
from .interpolate import Resample
from .norm_extra import GroupNormFunction, LayerNormFunction
from .pool_extra import AvgPool2dCeil, MaxPool2dWithIndices, MaxUnpool2d
from .adaptive_pool import AdaptiveAvgPool, AdaptiveMaxPool
from .pad import BorderPad, ConstantPad
