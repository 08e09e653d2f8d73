"""Adadelta, Adagrad and RMSprop with PyTorch's update rules, defaults, checks and state keys.

Each step is a handful of in-place NumPy operations on the parameter's array, written in the
order PyTorch's CPU kernels evaluate them (``addcmul(t1, t2, value=v)`` is ``(v * t1) * t2``,
``addcdiv`` is ``(v * t1) / t2``), with hyperparameters as Python floats so a float32 parameter
and its state stay float32. PyTorch's vectorised CPU kernels fuse some multiply-adds (FMA), so
results agree with it to a few units in the last place, not always bit for bit.
"""
import numpy as np

from .optimizer import Optimizer, _lerp_, _nonnegative, _real, _refuse_torch_only

__all__ = ["Adadelta", "Adagrad", "RMSprop"]


class _Elementwise(Optimizer):
    """The step loop the optimizers here share: per parameter with a gradient, negate it for
    ``maximize``, create the state on first use (``_init_state``), then ``_update`` in place."""

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()`` (run with grad on) if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            for p, g in self._params_with_grad(group):
                if group["maximize"]:
                    g = -g
                state = self.state.setdefault(p, {})
                if not state:
                    self._init_state(p, state, group)
                state["step"] += 1
                self._update(p._data, g, state, group)
        return loss

    def _init_state(self, p, state, group):
        raise NotImplementedError

    def _update(self, x, g, state, group):
        raise NotImplementedError


def _with_weight_decay(x, g, weight_decay):
    """g + weight_decay * x as a new array (the gradient itself is never changed)."""
    return g + weight_decay * x if weight_decay != 0 else g


class Adadelta(_Elementwise):
    """Adadelta (Zeiler, 2012): an lr-free ratio of running RMS of updates and gradients.

    v = rho * v + (1 - rho) g^2; d = sqrt(u + eps) / sqrt(v + eps) * g;
    u = rho * u + (1 - rho) d^2; p -= lr * d. State: 'step', 'square_avg' (v), 'acc_delta' (u).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        _refuse_torch_only("Adadelta", foreach=foreach, capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        self._check_group(dict(defaults))
        super().__init__(params, defaults)

    def _validate(self, group):
        _nonnegative(group, "lr", "learning rate")
        raw = group["rho"]
        group["rho"] = rho = _real(raw, "rho")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {raw}")
        _nonnegative(group, "eps", "epsilon value")
        _nonnegative(group, "weight_decay")

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["square_avg"] = np.zeros_like(p._data)
        state["acc_delta"] = np.zeros_like(p._data)

    def _update(self, x, g, state, group):
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        g = _with_weight_decay(x, g, float(group["weight_decay"]))
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * g * g
        std = np.sqrt(square_avg + eps)
        delta = np.sqrt(acc_delta + eps)
        delta /= std
        delta *= g
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        x += -lr * delta


class Adagrad(_Elementwise):
    """Adagrad: per-element lr divided by the root of the running sum of squared gradients.

    clr = lr / (1 + (step - 1) * lr_decay); s += g^2; p -= clr * g / (sqrt(s) + eps).
    State: 'step', 'sum', created for every parameter at construction as PyTorch does, filled
    with the constructor's ``initial_accumulator_value`` (PyTorch ignores a group's own value
    there, and so does this, to give the same numbers; parameters added later use their group's).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _refuse_torch_only("Adagrad", foreach=foreach, differentiable=differentiable, fused=fused)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        self._check_group(dict(defaults))
        super().__init__(params, defaults)
        initial = float(initial_accumulator_value)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": 0, "sum": np.full_like(p._data, initial)}

    def _validate(self, group):
        _nonnegative(group, "lr", "learning rate")
        _nonnegative(group, "lr_decay")
        _nonnegative(group, "weight_decay")
        _nonnegative(group, "initial_accumulator_value")
        _nonnegative(group, "eps", "epsilon value")

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["sum"] = np.full_like(p._data, float(group["initial_accumulator_value"]))

    def _update(self, x, g, state, group):
        lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
        g = _with_weight_decay(x, g, float(group["weight_decay"]))
        clr = lr / (1 + (state["step"] - 1) * lr_decay)
        state_sum = state["sum"]
        state_sum += g * g
        std = np.sqrt(state_sum)
        std += eps
        x += (-clr * g) / std


class RMSprop(_Elementwise):
    """RMSprop: divide the gradient by a running RMS of recent gradients.

    v = alpha * v + (1 - alpha) g^2; with ``centered``, m = lerp(m, g, 1 - alpha) and the
    denominator is sqrt(v - m^2) + eps, else sqrt(v) + eps; with ``momentum``,
    b = momentum * b + g / denom and p -= lr * b, else p -= lr * g / denom.
    State: 'step', 'square_avg', 'momentum_buffer' (momentum > 0), 'grad_avg' (centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _refuse_torch_only("RMSprop", capturable=capturable, foreach=foreach, differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        self._check_group(dict(defaults))
        super().__init__(params, defaults)

    def _validate(self, group):
        _nonnegative(group, "lr", "learning rate")
        _nonnegative(group, "eps", "epsilon value")
        _nonnegative(group, "momentum")
        _nonnegative(group, "weight_decay")
        _nonnegative(group, "alpha")

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["square_avg"] = np.zeros_like(p._data)
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(p._data)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(p._data)

    def _update(self, x, g, state, group):
        lr, alpha, eps, momentum = (float(group[k]) for k in ("lr", "alpha", "eps", "momentum"))
        g = _with_weight_decay(x, g, float(group["weight_decay"]))
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if group["centered"]:
            grad_avg = state.get("grad_avg")
            if grad_avg is None:  # centered switched on after the first step
                grad_avg = state["grad_avg"] = np.zeros_like(x)
            _lerp_(grad_avg, g, 1 - alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.zeros_like(x)
            buf *= momentum
            buf += g / avg
            x += -lr * buf
        else:
            x += (-lr * g) / avg
