"""tinygrad_cnn: a small, exact and fast deep-learning framework on NumPy.

The engine is `Tensor` (tensor.py) and `Function` (function.py) with the primitive ops in ops/;
`nn`, `optim` and the weight files (`save` / `load`) build on it, never the other way round.
"""
from ._memory import keep_freed_memory as _keep_freed_memory

_keep_freed_memory()  # reuse freed activation memory instead of faulting fresh pages every step

# tensor first: it imports the ops, which import function, which needs tensor
from .tensor import Tensor, detect_anomaly, enable_grad, is_grad_enabled, no_grad  # isort: skip
from .function import Context, Function
from .gradcheck import GradcheckError, gradcheck
from .parallel import get_num_threads, set_num_threads
from .rng import get_rng, get_rng_state, manual_seed, set_rng_state
from .state import load, load_metadata, save
from . import nn, optim  # noqa: E402  (they build on the names above)

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "Context", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "gradcheck", "GradcheckError", "manual_seed", "get_rng", "get_rng_state", "set_rng_state",
    "save", "load", "load_metadata", "nn", "optim", "get_num_threads", "set_num_threads",
]
