"""Optimizers with PyTorch's update rules, argument checks and ``state_dict`` layout.

Updates happen in place on ``p.data`` (so a Module's parameters and an optimizer share them) and
keep each parameter's dtype: hyperparameters are turned into Python floats, which NumPy 2 lets
take the dtype of the array they meet, so a float32 model never silently grows float64
temporaries. The per-parameter state (momentum buffers, Adam moments) has the parameter's dtype.
"""
import copy
import math
import numbers
from collections import OrderedDict

import numpy as np

from .._tensor import Tensor, enable_grad

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]


def _real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    return float(value)


def _nonnegative(group, key, label=None):
    """Turn ``group[key]`` into a float and check 0 <= value < inf (torch's "Invalid <label>: value")."""
    raw = group[key]
    group[key] = value = _real(raw, key)
    if not 0.0 <= value < math.inf:
        raise ValueError(f"Invalid {label or key + ' value'}: {raw}")
    return value


def _betas(group):
    """Normalise ``group['betas']`` to a pair of floats, each in [0, 1) as torch requires."""
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair of numbers, got {betas!r}")
    group["betas"] = (_real(betas[0], "betas[0]"), _real(betas[1], "betas[1]"))
    for i, beta in enumerate(group["betas"]):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")


def _refuse_torch_only(owner, **flags):
    """torch's implementation switches (foreach, fused, capturable, differentiable) select other
    kernels (CUDA, graph capture, autograd through the step); there is one NumPy update here, so
    None/False are accepted and True is refused rather than silently ignored."""
    for flag, value in flags.items():
        if value not in (None, False):
            raise NotImplementedError(
                f"{owner}: {flag}={value!r} is not supported (tinygrad_cnn has one vectorised NumPy update "
                f"per parameter, on the CPU); leave {flag} at its default (None or False)"
            )


class Optimizer:
    """Base class: holds ``param_groups`` (lists of dicts) and per-parameter ``state``.

    ``params`` is an iterable of Tensors, or of dicts ``{'params': [...], 'lr': ...}`` whose
    entries override ``defaults`` for that group (as in PyTorch). Subclasses implement
    ``_validate(group)`` and ``step()``.
    """

    _float_state_keys = ()  # per-parameter scalars kept as Python floats (NAdam's mu_product)

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {type(params).__name__}"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError("optimizer params must be an ordered iterable (a set has no stable order); use a list")
        self.defaults = defaults
        self.state = {}  # Tensor -> dict; Tensors hash by identity
        self.param_groups = []
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {type(params).__name__}"
            ) from None
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with 'params' and optional hyperparameters)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer params must be an ordered iterable (a set has no stable order); use a list")
        elif params is None:
            raise ValueError("param group must have a 'params' entry")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(
                f"param group 'params' must be an iterable of Tensors, got {type(params).__name__}") from None
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed by an op)")
            if not p.requires_grad:
                raise ValueError("optimizer got a parameter that does not require grad")
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError("optimizer param group contains the same parameter more than once")
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing.intersection(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self._check_group(group)
        self.param_groups.append(group)

    def _validate(self, group):
        """Check (and normalise) a group's hyperparameters; subclasses raise ValueError."""

    def _check_group(self, group):
        """``_validate`` with the optimizer's name in front of the message ("SGD: Invalid learning rate: -1")."""
        try:
            self._validate(group)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{type(self).__name__}: {err}") from None

    # ---------------------------------------------------------------- gradients
    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient (to None by default, like PyTorch 2)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad._data[...] = 0

    def _params_with_grad(self, group):
        for p in group["params"]:
            if p.grad is not None:
                yield p, p.grad._data

    def step(self, closure=None):
        raise NotImplementedError

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`` as PyTorch.

        Parameters are replaced by their position across all groups, so the dict can be loaded
        into an optimizer built over a freshly constructed copy of the model. Arrays are copied.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = OrderedDict()
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {
                        k: (v.copy() if isinstance(v, np.ndarray) else copy.deepcopy(v))
                        for k, v in self.state[p].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and per-parameter state saved by :meth:`state_dict`.

        Groups must match in number and size. Floating arrays are cast to each parameter's dtype
        and must match its shape; everything is checked before anything is changed.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("optimizer state_dict must be a dict with 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if not isinstance(saved_groups, (list, tuple)) or not all(
                isinstance(g, dict) and isinstance(g.get("params"), (list, tuple)) for g in saved_groups):
            raise ValueError("optimizer state_dict: 'param_groups' must be a list of dicts, each with a 'params' list")
        state = state_dict["state"]
        if not isinstance(state, dict) or not all(isinstance(v, dict) for v in state.values()):
            raise ValueError("optimizer state_dict: 'state' must be a dict of parameter index -> dict of arrays")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        for i, (saved, own) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    f"loaded state dict's parameter group {i} has {len(saved['params'])} parameters, "
                    f"this optimizer's has {len(own['params'])}"
                )
        id_to_param = {}
        for saved, own in zip(saved_groups, self.param_groups):
            for idx, p in zip(saved["params"], own["params"]):
                id_to_param[int(idx)] = p
        new_state = {}
        for idx, entry in state_dict["state"].items():
            idx = int(idx)
            if idx not in id_to_param:
                raise ValueError(f"loaded optimizer state refers to parameter {idx}, which no group contains")
            p = id_to_param[idx]
            new_state[p] = {key: self._restored(key, value, p, idx) for key, value in entry.items()}
        new_groups = []
        for saved, own in zip(saved_groups, self.param_groups):
            group = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            group["params"] = own["params"]
            for key, default in self.defaults.items():
                group.setdefault(key, default)
            self._check_group(group)
            new_groups.append(group)
        self.param_groups = new_groups
        self.state = new_state

    def _restored(self, key, value, p, idx):
        """One saved per-parameter state entry, as this optimizer keeps it for parameter ``p``."""
        if isinstance(value, Tensor):
            value = value._data
        if key == "step":
            # a Python int: an ndarray counter would make beta ** step a float64 scalar
            return int(np.asarray(value).item())
        if key in self._float_state_keys:
            return float(np.asarray(value).item())
        if isinstance(value, np.ndarray):
            if value.shape != p.shape:
                raise ValueError(
                    f"loaded optimizer state '{key}' of parameter {idx} has shape {value.shape}, "
                    f"the parameter has shape {p.shape}"
                )
            return value.astype(p.dtype if value.dtype.kind == "f" else value.dtype, copy=True)
        return copy.deepcopy(value)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay.

    Per step, with g the gradient (negated if ``maximize``):
    g += weight_decay * p; with momentum, buf = g on the first step, then
    buf = momentum * buf + (1 - dampening) * g, and g = g + momentum * buf (Nesterov) or buf;
    finally p -= lr * g. This is exactly PyTorch's rule.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False,
                 *, foreach=None, differentiable=False, fused=None):
        _refuse_torch_only("SGD", foreach=foreach, differentiable=differentiable, fused=fused)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        self._check_group(dict(defaults))
        super().__init__(params, defaults)

    def _validate(self, group):
        for key in ("lr", "momentum", "dampening", "weight_decay"):
            group[key] = _real(group[key], key)
        if not 0.0 <= group["lr"] < math.inf:
            raise ValueError(f"Invalid learning rate: {group['lr']}")
        if not 0.0 <= group["momentum"] < math.inf:
            raise ValueError(f"Invalid momentum value: {group['momentum']}")
        if not 0.0 <= group["weight_decay"] < math.inf:
            raise ValueError(f"Invalid weight_decay value: {group['weight_decay']}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, momentum, dampening = float(group["lr"]), float(group["momentum"]), float(group["dampening"])
            weight_decay, nesterov, maximize = float(group["weight_decay"]), group["nesterov"], group["maximize"]
            for p, g in self._params_with_grad(group):
                if maximize:
                    g = -g
                if weight_decay != 0:
                    g = g + weight_decay * p._data
                if momentum != 0:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype, copy=True)
                    else:
                        buf *= momentum
                        buf += (1 - dampening) * g
                    g = g + momentum * buf if nesterov else buf
                p._data -= lr * g
        return loss


class Adam(Optimizer):
    """Adam (and, with ``decoupled`` weight decay, AdamW) with PyTorch's exact arithmetic.

    m = beta1 * m + (1 - beta1) * g (computed as PyTorch's lerp), v = beta2 * v + (1 - beta2) g^2,
    denom = sqrt(v) / sqrt(1 - beta2^t) + eps, p -= lr / (1 - beta1^t) * m / denom.
    ``amsgrad`` uses the running maximum of v. Weight decay adds ``weight_decay * p`` to g.
    """

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
                 *, foreach=None, capturable=False, differentiable=False, fused=None, decoupled_weight_decay=False):
        _refuse_torch_only(type(self).__name__, foreach=foreach, capturable=capturable,
                           differentiable=differentiable, fused=fused)
        if decoupled_weight_decay:
            self._decoupled = True  # torch's Adam(decoupled_weight_decay=True) is AdamW
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
        self._check_group(dict(defaults))
        super().__init__(params, defaults)

    def _validate(self, group):
        for key in ("lr", "eps", "weight_decay"):
            group[key] = _real(group[key], key)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair of numbers, got {betas!r}")
        group["betas"] = (_real(betas[0], "betas[0]"), _real(betas[1], "betas[1]"))
        if not 0.0 <= group["lr"] < math.inf:
            raise ValueError(f"Invalid learning rate: {group['lr']}")
        if not 0.0 <= group["eps"] < math.inf:
            raise ValueError(f"Invalid epsilon value: {group['eps']}")
        if not 0.0 <= group["betas"][0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {group['betas'][0]}")
        if not 0.0 <= group["betas"][1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {group['betas'][1]}")
        if not 0.0 <= group["weight_decay"] < math.inf:
            raise ValueError(f"Invalid weight_decay value: {group['weight_decay']}")

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
            beta1, beta2 = (float(b) for b in group["betas"])
            amsgrad, maximize = group["amsgrad"], group["maximize"]
            for p, g in self._params_with_grad(group):
                if maximize:
                    g = -g
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(p._data)
                    state["exp_avg_sq"] = np.zeros_like(p._data)
                    if amsgrad:
                        state["max_exp_avg_sq"] = np.zeros_like(p._data)
                state["step"] += 1
                step = state["step"]
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                if weight_decay != 0:
                    if self._decoupled:
                        p._data *= 1 - lr * weight_decay
                    else:
                        g = g + weight_decay * p._data
                _lerp_(exp_avg, g, 1 - beta1)
                exp_avg_sq *= beta2
                exp_avg_sq += (1 - beta2) * (g * g)
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                second = exp_avg_sq
                if amsgrad:
                    if "max_exp_avg_sq" not in state:
                        state["max_exp_avg_sq"] = np.zeros_like(p._data)
                    np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
                    second = state["max_exp_avg_sq"]
                denom = np.sqrt(second)
                denom /= math.sqrt(bias_correction2)
                denom += eps
                update = step_size * exp_avg
                update /= denom
                p._data -= update
        return loss


def _lerp_(start, end, weight):
    """start += weight * (end - start), in place, with the two-sided formula PyTorch's lerp uses
    (it is exact at weight 1 and rounds the same way as torch)."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False,
                 *, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable,
                         fused=fused)
