"""NAdam, RAdam and Adamax: Adam's relatives, with PyTorch's update rules, checks and state keys.

Same conventions as adaptive.py: in-place NumPy on the parameter's array, Python-float
hyperparameters (float32 stays float32), PyTorch's evaluation order.
"""
import numpy as np

from .adaptive import _Elementwise, _with_weight_decay
from .optimizer import _betas, _lerp_, _nonnegative, _refuse_torch_only

__all__ = ["NAdam", "RAdam", "Adamax"]


def _float32(value):
    """``value`` rounded to float32, as a Python float: PyTorch keeps NAdam's running product of
    momentum coefficients in a float32 0-d tensor (its default scalar dtype), so rounding it the
    same way keeps the trajectory within float64 round-off of PyTorch's."""
    return float(np.float32(value))


def _moments(exp_avg, exp_avg_sq, g, beta1, beta2):
    """Adam's running moments, in place: m = lerp(m, g, 1 - beta1), v = beta2 v + (1 - beta2) g^2."""
    _lerp_(exp_avg, g, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g


def _decay(x, g, group):
    """Weight decay: decoupled (p *= 1 - lr * wd, in place) or added to the gradient (new array)."""
    weight_decay = float(group["weight_decay"])
    if weight_decay != 0 and group["decoupled_weight_decay"]:
        x *= 1 - float(group["lr"]) * weight_decay
        return g
    return _with_weight_decay(x, g, weight_decay)


class _AdamLike(_Elementwise):
    """Shared checks (lr, eps, betas, weight_decay) and 'exp_avg' / 'exp_avg_sq' state."""

    def _validate(self, group):
        _nonnegative(group, "lr", "learning rate")
        _nonnegative(group, "eps", "epsilon value")
        _betas(group)
        _nonnegative(group, "weight_decay")

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(p._data)
        state["exp_avg_sq"] = np.zeros_like(p._data)


class NAdam(_AdamLike):
    """Adam with Nesterov momentum (Dozat, 2016), with PyTorch's momentum schedule:
    mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay)), mu_prod = prod of mu_1..mu_t, and
    p -= lr (1 - mu_t) / (1 - mu_prod) g / d + lr mu_{t+1} / (1 - mu_prod mu_{t+1}) m / d,
    d = sqrt(v / (1 - beta2^t)) + eps. ``decoupled_weight_decay`` gives NAdamW.
    State: 'step', 'mu_product' (a float), 'exp_avg', 'exp_avg_sq'.
    """

    _float_state_keys = ("mu_product",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False, differentiable=False):
        _refuse_torch_only("NAdam", foreach=foreach, capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        self._check_group(dict(defaults))
        super().__init__(params, defaults)

    def _validate(self, group):
        super()._validate(group)
        _nonnegative(group, "momentum_decay")

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["mu_product"] = 1.0
        state["exp_avg"] = np.zeros_like(p._data)
        state["exp_avg_sq"] = np.zeros_like(p._data)

    def _update(self, x, g, state, group):
        lr, eps, momentum_decay = float(group["lr"]), float(group["eps"]), float(group["momentum_decay"])
        beta1, beta2 = group["betas"]
        step = state["step"]
        bias_correction2 = 1 - beta2 ** step
        g = _decay(x, g, group)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_product = state["mu_product"] = _float32(np.float32(state["mu_product"]) * np.float32(mu))
        mu_product_next = mu_product * mu_next
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _moments(exp_avg, exp_avg_sq, g, beta1, beta2)
        denom = np.sqrt(exp_avg_sq / bias_correction2) + eps  # (no out=: 0-d arithmetic gives scalars)
        x += (-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
        x += ((-lr * mu_next) / (1.0 - mu_product_next)) * exp_avg / denom


class RAdam(_AdamLike):
    """Rectified Adam (Liu et al., 2019): plain momentum SGD while the variance estimate is
    unreliable (rho_t <= 5), then Adam scaled by the rectification term r_t.

    rho_inf = 2 / (1 - beta2) - 1, rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t);
    m_hat = m / (1 - beta1^t); if rho_t > 5: p -= m_hat lr sqrt(1 - beta2^t) / (sqrt(v) + eps) r_t,
    else p -= m_hat lr. ``decoupled_weight_decay`` gives RAdamW. State: 'step', 'exp_avg', 'exp_avg_sq'.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        _refuse_torch_only("RAdam", foreach=foreach, capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        self._check_group(dict(defaults))
        super().__init__(params, defaults)

    def _update(self, x, g, state, group):
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = group["betas"]
        step = state["step"]
        g = _decay(x, g, group)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _moments(exp_avg, exp_avg_sq, g, beta1, beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        update = exp_avg / bias_correction1
        update *= lr
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            # PyTorch's scalar / tensor is reciprocal(tensor) * scalar
            adaptive = np.reciprocal(np.sqrt(exp_avg_sq) + eps) * bias_correction2 ** 0.5
            update *= adaptive
            update *= rect
        x -= update


class Adamax(_AdamLike):
    """Adamax: Adam with the infinity norm, u = max(beta2 u, |g| + eps), p -= lr / (1 - beta1^t) m / u.
    State: 'step', 'exp_avg', 'exp_inf'."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _refuse_torch_only("Adamax", foreach=foreach, differentiable=differentiable, capturable=capturable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        self._check_group(dict(defaults))
        super().__init__(params, defaults)

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(p._data)
        state["exp_inf"] = np.zeros_like(p._data)

    def _update(self, x, g, state, group):
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = group["betas"]
        g = _with_weight_decay(x, g, float(group["weight_decay"]))
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        _lerp_(exp_avg, g, 1 - beta1)
        exp_inf *= beta2
        np.maximum(exp_inf, np.abs(g) + eps, out=exp_inf)
        clr = lr / (1 - beta1 ** state["step"])
        x += (-clr * exp_avg) / exp_inf
