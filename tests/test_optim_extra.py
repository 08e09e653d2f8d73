"""Adadelta, Adagrad, RMSprop, NAdam, RAdam, Adamax and the extra lr schedulers, without torch: each
optimizer against its update rule written per element in Python floats, dtype/in-place rules, groups,
state_dicts, errors; schedulers against hand-computed lrs, ReduceLROnPlateau, state_dicts, errors."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn import optim
from tinygrad_cnn.optim import lr_scheduler as S
from tinygrad_cnn.testing import arrays, shapes

NEW = ["Adadelta", "Adagrad", "RMSprop", "NAdam", "RAdam", "Adamax"]
GRADS = [[0.5, -1.0, 2.0], [0.25, 0.75, -3.0], [-0.5, 0.1, 1.0], [1.5, -2.0, 0.0]]
START = [1.0, -2.0, 0.5]


def param(values=START, dtype=np.float64):
    return tg.tensor(np.array(values, dtype=dtype), requires_grad=True)


def run(name, grads=GRADS, dtype=np.float64, **kwargs):
    p = param(dtype=dtype)
    opt = getattr(optim, name)([p], **kwargs)
    for g in grads:
        p.grad = tg.tensor(np.array(g, dtype=dtype))
        opt.step()
    return p, opt


# ----------------------------------------------------------------------------- reference rules
# each: (x, grads, hyperparameters) -> final x, one element at a time, from the papers / torch docs

def ref_adadelta(x, gs, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
    v = u = 0.0
    for g in gs:
        g = (-g if maximize else g) + weight_decay * x
        v = rho * v + (1 - rho) * g * g
        d = math.sqrt(u + eps) / math.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d * d
        x -= lr * d
    return x


def ref_adagrad(x, gs, lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False):
    s = initial_accumulator_value
    for t, g in enumerate(gs, 1):
        g = (-g if maximize else g) + weight_decay * x
        s += g * g
        x -= lr / (1 + (t - 1) * lr_decay) * g / (math.sqrt(s) + eps)
    return x


def ref_rmsprop(x, gs, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, maximize=False):
    v = m = b = 0.0
    for g in gs:
        g = (-g if maximize else g) + weight_decay * x
        v = alpha * v + (1 - alpha) * g * g
        m = alpha * m + (1 - alpha) * g
        denom = math.sqrt(v - m * m if centered else v) + eps
        if momentum > 0:
            b = momentum * b + g / denom
            x -= lr * b
        else:
            x -= lr * g / denom
    return x


def ref_nadam(x, gs, lr=0.002, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=0.004,
              decoupled_weight_decay=False, maximize=False):
    (b1, b2), m, v, prod = betas, 0.0, 0.0, 1.0
    for t, g in enumerate(gs, 1):
        g = -g if maximize else g
        x, g = (x * (1 - lr * weight_decay), g) if decoupled_weight_decay else (x, g + weight_decay * x)
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        prod = float(np.float32(prod) * np.float32(mu))  # torch keeps this product in a float32 tensor
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = math.sqrt(v / (1 - b2 ** t)) + eps
        x -= lr * (1 - mu) / (1 - prod) * g / denom + lr * mu_next / (1 - prod * mu_next) * m / denom
    return x


def ref_radam(x, gs, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
              maximize=False):
    (b1, b2), m, v = betas, 0.0, 0.0
    rho_inf = 2 / (1 - b2) - 1
    for t, g in enumerate(gs, 1):
        g = -g if maximize else g
        x, g = (x * (1 - lr * weight_decay), g) if decoupled_weight_decay else (x, g + weight_decay * x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t > 5:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            x -= lr * m_hat * r * math.sqrt(1 - b2 ** t) / (math.sqrt(v) + eps)
        else:
            x -= lr * m_hat
    return x


def ref_adamax(x, gs, lr=0.002, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False):
    (b1, b2), m, u = betas, 0.0, 0.0
    for t, g in enumerate(gs, 1):
        g = (-g if maximize else g) + weight_decay * x
        m = b1 * m + (1 - b1) * g
        u = max(b2 * u, abs(g) + eps)
        x -= lr / (1 - b1 ** t) * m / u
    return x


REFERENCES = {"Adadelta": ref_adadelta, "Adagrad": ref_adagrad, "RMSprop": ref_rmsprop, "NAdam": ref_nadam,
              "RAdam": ref_radam, "Adamax": ref_adamax}
OPTIONS = [
    ("Adadelta", {}), ("Adadelta", {"lr": 0.5, "rho": 0.7, "eps": 1e-3, "weight_decay": 0.1, "maximize": True}),
    ("Adagrad", {}), ("Adagrad", {"lr": 0.3, "lr_decay": 0.2, "weight_decay": 0.05, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"maximize": True, "eps": 1e-3}),
    ("RMSprop", {}), ("RMSprop", {"momentum": 0.8}), ("RMSprop", {"centered": True, "alpha": 0.5}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "maximize": True, "lr": 0.1}),
    ("NAdam", {}), ("NAdam", {"weight_decay": 0.2, "momentum_decay": 0.05, "betas": (0.8, 0.9)}),
    ("NAdam", {"weight_decay": 0.2, "decoupled_weight_decay": True, "maximize": True, "lr": 0.05}),
    ("RAdam", {}), ("RAdam", {"betas": (0.5, 0.6), "lr": 0.1, "weight_decay": 0.1}),  # rectified from step 2
    ("RAdam", {"betas": (0.5, 0.6), "weight_decay": 0.3, "decoupled_weight_decay": True, "maximize": True}),
    ("Adamax", {}), ("Adamax", {"betas": (0.5, 0.8), "weight_decay": 0.1, "maximize": True, "lr": 0.1}),
]


@pytest.mark.parametrize("name,kwargs", OPTIONS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIONS)])
def test_update_rule_matches_the_reference(name, kwargs):
    p, _ = run(name, **kwargs)
    expected = [REFERENCES[name](x, [g[i] for g in GRADS], **kwargs) for i, x in enumerate(START)]
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", NEW)
def test_float32_stays_float32_and_updates_in_place(name):
    p = param(dtype=np.float32)
    view = p.data  # shares memory: an in-place update shows through it
    array = p._data
    opt = getattr(optim, name)([p], weight_decay=0.1)
    for g in GRADS:
        grad = np.array(g, dtype=np.float32)
        p.grad = tg.tensor(grad.copy())
        opt.step()
        np.testing.assert_array_equal(p.grad.numpy(), grad)  # the gradient itself is never changed
    assert p._data is array and p.dtype == tg.float32
    np.testing.assert_array_equal(view.numpy(), p.numpy())
    for key, value in opt.state[p].items():
        assert value.dtype == np.float32 if isinstance(value, np.ndarray) else type(value) in (int, float), key
    p64, _ = run(name, weight_decay=0.1)
    np.testing.assert_allclose(p.numpy(), p64.numpy(), rtol=1e-4, atol=1e-5)


@settings(max_examples=12)
@given(data=st.data(), name=st.sampled_from(NEW), shape=shapes(min_dims=0, max_dims=3, min_side=0))
def test_any_shape_any_dtype_keeps_dtype_and_matches_float64(data, name, shape):
    x = data.draw(arrays(shape, low=-2.0, high=2.0))
    grads = [data.draw(arrays(shape)) for _ in range(3)]
    results = {}
    for dtype in (np.float64, np.float32):
        p = tg.tensor(x.astype(dtype), requires_grad=True)
        opt = getattr(optim, name)([p], lr=0.01)
        for g in grads:
            p.grad = tg.tensor(g.astype(dtype))
            opt.step()
        assert p.dtype == (tg.float64 if dtype == np.float64 else tg.float32) and p.shape == shape
        results[dtype] = p.numpy()
    np.testing.assert_allclose(results[np.float32], results[np.float64], rtol=1e-4, atol=1e-4)


def test_param_groups_have_their_own_hyperparameters_and_defaults():
    a, b = param(), param()
    opt = optim.RMSprop([{"params": [a]}, {"params": [b], "lr": 0.1, "momentum": 0.5}], alpha=0.9)
    assert opt.param_groups[0]["lr"] == 0.01 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["alpha"] == 0.9 and opt.param_groups[1]["momentum"] == 0.5
    for g in GRADS:
        a.grad, b.grad = tg.tensor(np.array(g)), tg.tensor(np.array(g))
        opt.step()
    for i, x in enumerate(START):
        gs = [g[i] for g in GRADS]
        assert a.numpy()[i] == pytest.approx(ref_rmsprop(x, gs, alpha=0.9), rel=1e-13)
        assert b.numpy()[i] == pytest.approx(ref_rmsprop(x, gs, lr=0.1, alpha=0.9, momentum=0.5), rel=1e-13)
    assert set(opt.state[b]) == {"step", "square_avg", "momentum_buffer"} and "momentum_buffer" not in opt.state[a]


@pytest.mark.parametrize("name", NEW)
def test_parameters_without_a_gradient_are_skipped(name):
    a, b = param(), param()
    opt = getattr(optim, name)([a, b])
    a.grad = tg.tensor(np.array(GRADS[0]))
    opt.step()
    np.testing.assert_array_equal(b.numpy(), START)
    assert opt.state[a]["step"] == 1
    assert (b not in opt.state) if name != "Adagrad" else opt.state[b]["step"] == 0


def test_adagrad_creates_its_state_at_construction_like_torch():
    a, b, c = param(), param(), param()
    opt = optim.Adagrad([{"params": [a]}, {"params": [b], "initial_accumulator_value": 9.0}],
                        initial_accumulator_value=0.5)
    # torch fills every sum with the constructor's value, a group's own value is not used there ...
    assert opt.state[a]["step"] == 0 and opt.state[b]["sum"].tolist() == [0.5, 0.5, 0.5]
    assert sorted(opt.state_dict()["state"]) == [0, 1]
    opt.add_param_group({"params": [c], "initial_accumulator_value": 2.0})
    c.grad = tg.tensor([0.0, 0.0, 0.0])
    opt.step()  # ... while a parameter added later starts from its group's
    assert opt.state[c]["sum"].tolist() == [2.0, 2.0, 2.0]


def test_nadam_mu_product_is_a_float32_rounded_python_float():
    (state,) = run("NAdam")[1].state.values()
    expected = 1.0
    for t in range(1, 5):
        expected = float(np.float32(expected) * np.float32(0.9 * (1 - 0.5 * 0.96 ** (t * 0.004))))
    assert type(state["mu_product"]) is float and state["mu_product"] == expected


@pytest.mark.parametrize("name,kwargs", OPTIONS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIONS)])
def test_state_dict_round_trip_resumes_identically(name, kwargs):
    p, opt = run(name, grads=GRADS[:2], **kwargs)
    saved = opt.state_dict()
    q = param(p.numpy().copy())
    other = getattr(optim, name)([q], **kwargs)
    other.load_state_dict(saved)
    # a copy: stepping on does not change the saved dict
    assert all(v is not opt.state[p][k] for k, v in saved["state"][0].items() if isinstance(v, np.ndarray))
    for g in GRADS[2:]:
        p.grad, q.grad = tg.tensor(np.array(g)), tg.tensor(np.array(g))
        opt.step()
        other.step()
    np.testing.assert_array_equal(p.numpy(), q.numpy())
    full, _ = run(name, **kwargs)
    np.testing.assert_array_equal(p.numpy(), full.numpy())


def test_load_state_dict_checks_shapes_and_restores_scalars():
    _, opt = run("NAdam", grads=GRADS[:1])
    saved = opt.state_dict()
    saved["state"][0]["mu_product"] = np.float64(saved["state"][0]["mu_product"])
    saved["state"][0]["step"] = np.array(1.0)  # torch keeps its counters in 0-d float tensors
    fresh = optim.NAdam([param()])
    fresh.load_state_dict(saved)
    (state,) = fresh.state.values()
    assert type(state["step"]) is int and type(state["mu_product"]) is float
    saved["state"][0]["exp_avg"] = np.zeros(4)
    with pytest.raises(ValueError, match="shape"):
        optim.NAdam([param()]).load_state_dict(saved)


TORCH_ONLY = {"Adagrad": ("foreach", "fused", "differentiable"), "SGD": ("foreach", "fused", "differentiable"),
              "Adam": ("foreach", "fused", "capturable", "differentiable"), "AdamW": ("foreach", "capturable"),
              **{n: ("foreach", "capturable", "differentiable") for n in ("Adadelta", "RMSprop", "NAdam", "RAdam",
                                                                          "Adamax")}}


@pytest.mark.parametrize("name,flag", [(n, f) for n, flags in TORCH_ONLY.items() for f in flags])
def test_torch_only_switches_accept_defaults_and_refuse_true(name, flag):
    cls = getattr(optim, name)
    cls([param()], **{flag: None if flag in ("foreach", "fused") else False})
    with pytest.raises(NotImplementedError, match=rf"{name}: {flag}=True is not supported"):
        cls([param()], **{flag: True})


@pytest.mark.parametrize("name,kwargs,message", [
    ("Adadelta", {"lr": -1}, "Adadelta: Invalid learning rate: -1"),
    ("Adamax", {"lr": "0.1"}, "lr must be a number"), ("NAdam", {"betas": 0.9}, "betas must be a pair"),
    ("Adadelta", {"rho": 1.1}, "Invalid rho value: 1.1"),
    ("Adagrad", {"lr_decay": -0.5}, "Invalid lr_decay value: -0.5"),
    ("Adagrad", {"initial_accumulator_value": -1}, "Invalid initial_accumulator_value value: -1"),
    ("RMSprop", {"alpha": -1}, "Invalid alpha value: -1"),
    ("RMSprop", {"momentum": float("nan")}, "Invalid momentum value: nan"),
    ("NAdam", {"momentum_decay": -1}, "Invalid momentum_decay value: -1"),
    ("NAdam", {"betas": (0.9, 1.0)}, "Invalid beta parameter at index 1: 1.0"),
    ("RAdam", {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ("Adamax", {"weight_decay": float("inf")}, "Invalid weight_decay value: inf"),
])
def test_invalid_hyperparameters(name, kwargs, message):
    error = TypeError if "must be a number" in message else ValueError
    with pytest.raises(error, match=message):
        getattr(optim, name)([param()], **kwargs)
    with pytest.raises(error, match=message):  # a group's own values are checked too
        getattr(optim, name)([{"params": [param()], **kwargs}])


# ----------------------------------------------------------------------------- schedulers

def sgd(*lrs):
    return optim.SGD([{"params": [param()], "lr": lr} for lr in lrs], lr=lrs[0])


def trajectory(scheduler, steps, group=0):
    lrs = [scheduler.get_last_lr()[group]]
    for _ in range(steps):
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[group])
    return lrs


@pytest.mark.parametrize("build,expected", [
    (lambda: S.MultiStepLR(sgd(1.0), [2, 4, 4], gamma=0.5), [1, 1, 0.5, 0.5, 0.125, 0.125, 0.125]),
    (lambda: S.ConstantLR(sgd(0.8), factor=0.5, total_iters=2), [0.4, 0.4, 0.8, 0.8, 0.8]),
    (lambda: S.LinearLR(sgd(1.0), start_factor=0.25, total_iters=3), [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]),
    (lambda: S.ExponentialLR(sgd(2.0), gamma=0.5), [2.0, 1.0, 0.5, 0.25]),
    (lambda: S.PolynomialLR(sgd(1.0), total_iters=4, power=2.0), [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]),
    (lambda: S.MultiplicativeLR(sgd(1.0), lambda e: 0.5), [1.0, 0.5, 0.25, 0.125]),
    (lambda: S.LambdaLR(sgd(0.5, 1.0), [lambda e: e + 1, lambda e: 0.1 * e]), [0.5, 1.0, 1.5]),
])
def test_schedules_by_hand(build, expected):
    assert trajectory(build(), len(expected) - 1) == pytest.approx(expected, rel=1e-15)


def test_warm_restarts_periods_grow_by_t_mult():
    lrs = trajectory(S.CosineAnnealingWarmRestarts(sgd(1.0), T_0=2, T_mult=2), 8)
    half = lambda t, period: (1 + math.cos(math.pi * t / period)) / 2  # noqa: E731
    assert lrs == pytest.approx([1, half(1, 2), 1, half(1, 4), half(2, 4), half(3, 4), 1, half(1, 8), half(2, 8)])
    scheduler = S.CosineAnnealingWarmRestarts(sgd(1.0), T_0=2, T_mult=2)
    scheduler.step(2.5)  # fractional epochs fall into the second period (length 4)
    assert (scheduler.T_i, scheduler.T_cur, scheduler.last_epoch) == (4, 0.5, 2)


def test_sequential_warmup_then_decay_and_chained_product():
    opt = sgd(1.0)
    warmup, decay = S.LinearLR(opt, start_factor=0.5, total_iters=2), S.ExponentialLR(opt, gamma=0.5)
    assert trajectory(S.SequentialLR(opt, [warmup, decay], milestones=[2]), 4) == pytest.approx(
        [0.5, 0.75, 1.0, 0.5, 0.25])
    opt = sgd(1.0)
    chained = S.ChainedScheduler([S.ExponentialLR(opt, gamma=0.5), S.MultiStepLR(opt, [2], gamma=0.1)])
    assert trajectory(chained, 3) == pytest.approx([1.0, 0.5, 0.025, 0.0125])
    seq = S.SequentialLR(opt, [S.ExponentialLR(opt, 0.9), chained], milestones=[1])
    with pytest.raises(NotImplementedError, match="ChainedScheduler has no lr formula of its own"):
        seq.step()  # a composite cannot be restarted at a milestone (torch fails there too)


def test_reduce_on_plateau_patience_cooldown_min_lr_and_eps():
    opt = sgd(1.0, 0.02)
    scheduler = S.ReduceLROnPlateau(opt, patience=1, cooldown=1, factor=0.5, min_lr=[0.0, 0.015])
    lrs = []
    for metric in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]:
        scheduler.step(metric)
        lrs.append(scheduler.get_last_lr())
    # bad epochs 1, 2 -> cut; one epoch of cooldown; bad epochs 1, 2 -> cut (second group held at min_lr)
    assert lrs == [[1.0, 0.02], [1.0, 0.02], [0.5, 0.015], [0.5, 0.015], [0.5, 0.015], [0.25, 0.015],
                   [0.25, 0.015], [0.25, 0.015]]
    assert scheduler.best == 0.5
    tiny = S.ReduceLROnPlateau(sgd(1e-9), patience=0, eps=1e-8)  # changes below eps are skipped
    tiny.step(1.0), tiny.step(2.0)
    assert tiny.get_last_lr() == [1e-9]


@pytest.mark.parametrize("kwargs,metrics,lr,best", [
    (dict(mode="max", threshold=0.1), [1.0, 1.05], 0.1, 1.0),  # not 10 % better: a bad epoch
    (dict(threshold_mode="abs", threshold=0.5), [1.0, 0.4], 1.0, 0.4),  # 0.6 lower: better
    (dict(mode="max", threshold_mode="abs", threshold=0.5), [1.0, 1.4], 0.1, 1.0),
    (dict(), [1.0, 0.9999], 0.1, 1.0),  # 'min', 'rel' with threshold 1e-4
])
def test_reduce_on_plateau_modes_and_thresholds(kwargs, metrics, lr, best):
    scheduler = S.ReduceLROnPlateau(sgd(1.0), patience=0, **kwargs)
    for metric in metrics:
        scheduler.step(metric)
    assert scheduler.get_last_lr() == [lr] and scheduler.best == best


class Decay:
    def __init__(self):
        self.rate = 0.9

    def __call__(self, epoch):
        return self.rate ** epoch


def test_scheduler_state_dicts_resume():
    scheduler, other_fn = S.LambdaLR(sgd(1.0), Decay()), Decay()
    scheduler.lr_lambdas[0].rate = 0.5
    scheduler.step()
    saved = scheduler.state_dict()  # a callable object's attributes are saved, a plain function's not
    assert saved["lr_lambdas"] == [{"rate": 0.5}] and "optimizer" not in saved
    other = S.LambdaLR(sgd(1.0), other_fn)
    other.load_state_dict(saved)
    assert other_fn.rate == 0.5 and other.last_epoch == 1
    assert S.LambdaLR(sgd(1.0), lambda e: 1.0).state_dict()["lr_lambdas"] == [None]
    opt = sgd(1.0)
    seq = S.SequentialLR(opt, [S.ConstantLR(opt, 0.5, 3), S.ExponentialLR(opt, 0.9)], milestones=[3])
    for _ in range(4):
        seq.step()
    saved = seq.state_dict()
    assert len(saved["_schedulers"]) == 2 and saved["_schedulers"][1]["last_epoch"] == 1
    opt2 = sgd(1.0)
    seq2 = S.SequentialLR(opt2, [S.ConstantLR(opt2, 0.5, 3), S.ExponentialLR(opt2, 0.9)], milestones=[3])
    seq2.load_state_dict(saved)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    assert trajectory(seq2, 3)[1:] == trajectory(seq, 3)[1:]


@pytest.mark.parametrize("build,error,message", [
    (lambda: S.LambdaLR("opt", lambda e: 1.0), TypeError, "str is not an Optimizer"),
    (lambda: S.LambdaLR(sgd(1.0), [lambda e: 1.0, lambda e: 1.0]), ValueError, "Expected 1 lr_lambdas, but got 2"),
    (lambda: S.MultiStepLR(sgd(1.0), [1.5]), TypeError, "milestones must be integers"),
    (lambda: S.MultiStepLR(sgd(1.0), 3), TypeError, "milestones must be an iterable"),
    (lambda: S.ExponentialLR(sgd(1.0), "0.5"), TypeError, "gamma must be a number"),
    (lambda: S.ConstantLR(sgd(1.0), -0.1), ValueError, "between 0 and 1"),
    (lambda: S.ConstantLR(sgd(1.0), total_iters=-1), ValueError, "total_iters must be an integer >= 0"),
    (lambda: S.LinearLR(sgd(1.0), total_iters=0), ValueError, "total_iters must be an integer >= 1"),
    (lambda: S.PolynomialLR(sgd(1.0), total_iters=0), ValueError, "total_iters must be an integer >= 1"),
    (lambda: S.SequentialLR(sgd(1.0), [S.ExponentialLR(sgd(1.0), 0.5)], []), ValueError, "same optimizer"),
    (lambda: S.SequentialLR(object(), [], []), TypeError, "object is not an Optimizer"),
    (lambda: S.SequentialLR(sgd(1.0), [object()], []), TypeError, "should have `optimizer`"),
    (lambda: S.ChainedScheduler([S.ExponentialLR(sgd(1.0), 0.5)], "x"), TypeError, "not an Optimizer"),
    (lambda: S.ChainedScheduler(5), TypeError, "expects a list of schedulers"),
    (lambda: S.ReduceLROnPlateau(sgd(1.0), factor=1.5), ValueError, "Factor should be < 1.0"),
    (lambda: S.ReduceLROnPlateau(sgd(1.0), patience=-1), ValueError, "patience must be an integer >= 0"),
    (lambda: S.ReduceLROnPlateau(sgd(1.0), cooldown=1.5), ValueError, "cooldown must be an integer >= 0"),
    (lambda: S.ReduceLROnPlateau(sgd(1.0, 0.1), min_lr=[0.1]), ValueError, "expected 2 min_lrs, got 1"),
    (lambda: S.ReduceLROnPlateau(sgd(1.0), mode="up"), ValueError, "mode up is unknown"),
    (lambda: S.CosineAnnealingWarmRestarts(sgd(1.0), T_0=1.5), ValueError, "Expected positive integer T_0"),
    (lambda: S.CosineAnnealingWarmRestarts(sgd(1.0), T_0=1).step("1"), TypeError, "epoch must be a number"),
])
def test_scheduler_argument_errors(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_reduce_on_plateau_refuses_a_new_group_without_min_lr():
    opt = sgd(1.0)
    scheduler = S.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0])
    opt.add_param_group({"params": [param()], "lr": 0.5})
    scheduler.step(1.0)
    with pytest.raises(RuntimeError, match="number of param groups"):
        scheduler.step(2.0)
    default = S.ReduceLROnPlateau(opt, patience=0)  # a single min_lr extends to new groups
    opt.add_param_group({"params": [param()], "lr": 0.25})
    default.step(1.0), default.step(2.0)
    assert default.get_last_lr() == [0.1, 0.05, 0.025]


def test_step_with_an_epoch_warns_like_torch():
    scheduler = S.ExponentialLR(sgd(1.0), gamma=0.5)
    with pytest.warns(UserWarning, match="deprecated"):
        scheduler.step(2)
    assert scheduler.get_last_lr() == [0.25]


def test_exports():
    assert set(NEW) <= set(optim.__all__) and all(getattr(optim, n).__module__.startswith("tinygrad_cnn.optim")
                                                  for n in NEW)
    assert all(issubclass(getattr(S, n), S.LRScheduler) for n in S.__all__)
