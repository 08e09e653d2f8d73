"""tinygrad_cnn: a small, exact and fast deep-learning framework on NumPy, with PyTorch's API.

The engine is `Tensor` (_tensor.py, with its methods in _tensor_math.py and _tensor_shape.py) and
`Function` (function.py), with the primitive ops in ops/; `nn`, `optim` and the weight files
(`save` / `load`) build on it, never the other way round. ``import tinygrad_cnn as torch`` gives
the torch-level names (``tensor``, ``zeros``, ``cat``, ``no_grad``, dtypes, ``device``...).
"""
from . import autograd, nn, optim, utils  # utils: utils.data, utils.datasets, utils.transforms
from ._memory import keep_freed_memory
from ._tensor import (
    Tensor,
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from ._tensor_reduce import ValuesIndices
from .creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .device import accelerator, backends, cuda, device
from .dtypes import bool, double, float, float32, float64, int, int8, int16, int32, int64, long, short, uint8  # noqa: A004
from .function import Context, Function
from .gradcheck import GradcheckError, gradcheck
from .parallel import get_num_threads, set_num_threads
from .rng import get_rng, get_rng_state, manual_seed, set_rng_state
from .state import load, load_metadata, save
from .toplevel import *  # noqa: F401,F403  (cat, stack, where, and the method-shaped functions: exp, max, ...)
from .toplevel import __all__ as _toplevel_names

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "Context", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled",
    "inference_mode", "detect_anomaly", "gradcheck", "GradcheckError", "manual_seed", "get_rng", "get_rng_state",
    "set_rng_state", "save", "load", "load_metadata", "nn", "optim", "autograd", "get_num_threads",
    "set_num_threads", "keep_freed_memory", "ValuesIndices", "device", "cuda", "accelerator", "backends",
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "eye", "arange", "linspace", "rand",
    "randn", "randint", "randperm", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like",
    "float32", "float", "float64", "double", "int64", "long", "int32", "int", "int16", "short", "int8", "uint8",
    "bool",
] + _toplevel_names
