"""tinygrad_cnn.optim against the installed PyTorch: every optimizer's trajectory (two param
groups with different hyperparameters, 30 steps of the same gradients), state_dict round trips
(ours and torch's), argument errors; every scheduler's lr sequence, closed forms and state_dict."""
import copy
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinygrad_cnn as tg  # noqa: E402
from tinygrad_cnn import nn, optim  # noqa: E402
from tinygrad_cnn.optim import lr_scheduler  # noqa: E402

SHAPES = [(3, 4), (5,), (2, 3)]  # params 0, 1 in group 0; param 2 in group 1
STEPS = 30

# (optimizer, constructor keywords, group-1 overrides): maximize, weight decay, momentum,
# centered, amsgrad, decoupled decay; group 1 always differs in at least one hyperparameter
CASES = [
    ("Adadelta", {}, {"lr": 0.5}),
    ("Adadelta", {"lr": 0.3, "rho": 0.8, "weight_decay": 0.1, "maximize": True}, {"eps": 1e-4, "rho": 0.95}),
    ("Adagrad", {}, {"lr": 0.05}),
    ("Adagrad", {"lr_decay": 0.01, "weight_decay": 0.05, "initial_accumulator_value": 0.1}, {"eps": 1e-6, "lr": 0.2}),
    ("Adagrad", {"maximize": True, "lr": 0.1}, {"lr_decay": 0.1}),
    ("RMSprop", {}, {"lr": 0.003}),
    ("RMSprop", {"momentum": 0.9}, {"alpha": 0.9, "momentum": 0.5}),
    ("RMSprop", {"centered": True, "lr": 0.001}, {"centered": False}),
    ("RMSprop", {"momentum": 0.9, "centered": True, "weight_decay": 0.01, "maximize": True}, {"alpha": 0.9}),
    ("NAdam", {}, {"lr": 0.01}),
    ("NAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True, "momentum_decay": 0.01}, {"betas": (0.8, 0.99)}),
    ("NAdam", {"weight_decay": 0.1, "maximize": True}, {"lr": 0.01, "eps": 1e-3}),
    ("RAdam", {}, {"lr": 0.01}),
    ("RAdam", {"betas": (0.8, 0.9), "weight_decay": 0.1}, {"decoupled_weight_decay": True}),
    ("RAdam", {"maximize": True, "lr": 0.02}, {"betas": (0.5, 0.8)}),  # rectified from step 2 on
    ("Adamax", {}, {"lr": 0.01}),
    ("Adamax", {"weight_decay": 0.1, "maximize": True}, {"betas": (0.5, 0.9)}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.01}, {"lr": 0.01, "amsgrad": False}),
    ("Adam", {"decoupled_weight_decay": True, "weight_decay": 0.1}, {"lr": 0.01}),
    ("AdamW", {"maximize": True}, {"lr": 0.01, "weight_decay": 0.5}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}, {"lr": 0.02, "weight_decay": 0.1}),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


def gradient(x, t):
    """The gradient of sum(0.65 x^2 + 0.7/3 sin(3x + 0.1t) - 0.05 t x): a quadratic plus a sine,
    drifting with the step t, so moments, maxima and plateaus all get exercised."""
    return 1.3 * x + 0.7 * np.cos(3 * x + 0.1 * t) - 0.05 * t


def starts(dtype):
    rng = np.random.default_rng(1)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def make_pair(name, kwargs, group1, values):
    ours = [nn.Parameter(tg.tensor(v.copy())) for v in values]
    theirs = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    mine = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:], **group1}], **kwargs)
    ref = getattr(torch.optim, name)([{"params": theirs[:2]}, {"params": theirs[2:], **group1}], **kwargs)
    return ours, mine, theirs, ref


def feed(params, t, dtype, to_grad):
    """Set each parameter's gradient from its own current value; parameter 1 gets none every
    fourth step (so its state's step count lags, as in torch)."""
    for i, p in enumerate(params):
        value = p.numpy() if isinstance(p, tg.Tensor) else p.detach().numpy()
        p.grad = None if (i == 1 and t % 4 == 3) else to_grad(gradient(value, t).astype(dtype))


def step_ours(params, opt, t, dtype):
    feed(params, t, dtype, tg.tensor)
    opt.step()


def step_torch(params, opt, t, dtype):
    feed(params, t, dtype, torch.from_numpy)
    opt.step()


def tolerance(dtype):
    return dict(rtol=1e-12, atol=1e-13) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)


def assert_match(ours, theirs, dtype):
    for a, b in zip(ours, theirs):
        assert a.numpy().dtype == dtype
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **tolerance(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name,kwargs,group1", CASES, ids=IDS)
def test_trajectory_matches_torch(name, kwargs, group1, dtype):
    ours, mine, theirs, ref = make_pair(name, kwargs, group1, starts(dtype))
    for t in range(STEPS):
        step_ours(ours, mine, t, dtype)
        step_torch(theirs, ref, t, dtype)
        assert_match(ours, theirs, dtype)
    for p in ours:
        for value in mine.state[p].values():
            if isinstance(value, np.ndarray):
                assert value.dtype == dtype and value.shape == p.shape


def _torch_state_to_numpy(state_dict):
    """torch's optimizer state_dict with its tensors as NumPy arrays / Python numbers."""
    def convert(v):
        if isinstance(v, torch.Tensor):
            return v.item() if v.dim() == 0 else v.detach().numpy().copy()
        return copy.deepcopy(v)
    return {"state": {i: {k: convert(v) for k, v in s.items()} for i, s in state_dict["state"].items()},
            "param_groups": copy.deepcopy(state_dict["param_groups"])}


@pytest.mark.parametrize("name,kwargs,group1", CASES, ids=IDS)
def test_state_dict_round_trip_mid_run(name, kwargs, group1):
    dtype = np.float64
    ours, mine, theirs, ref = make_pair(name, kwargs, group1, starts(dtype))
    for t in range(12):
        step_ours(ours, mine, t, dtype)
        step_torch(theirs, ref, t, dtype)
    saved, torch_saved = mine.state_dict(), _torch_state_to_numpy(ref.state_dict())
    # the same per-parameter state keys and group hyperparameters as torch
    assert sorted(saved["state"]) == sorted(torch_saved["state"])
    for i in saved["state"]:
        assert list(saved["state"][i]) == list(torch_saved["state"][i])
    for g_ours, g_torch in zip(saved["param_groups"], torch_saved["param_groups"]):
        assert set(g_ours) <= set(g_torch) and g_ours["params"] == g_torch["params"]
        for key, value in g_ours.items():
            assert value == (tuple(g_torch[key]) if key == "betas" else g_torch[key]), key
    # resume from our state_dict and from torch's, in fresh optimizers over copies of the parameters
    resumed = []
    for state in (saved, torch_saved):
        params = [nn.Parameter(tg.tensor(p.numpy().copy())) for p in ours]
        opt = getattr(optim, name)([{"params": params[:2]}, {"params": params[2:]}], **kwargs)
        opt.load_state_dict(state)
        resumed.append((params, opt))
    for t in range(12, STEPS):
        step_ours(ours, mine, t, dtype)
        step_torch(theirs, ref, t, dtype)
        for params, opt in resumed:
            step_ours(params, opt, t, dtype)
    for a, b in zip(ours, resumed[0][0]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # resuming gives the identical trajectory
    assert_match(resumed[1][0], theirs, dtype)
    assert_match(ours, theirs, dtype)


BAD_ARGUMENTS = [
    ("Adadelta", {"lr": -1}), ("Adadelta", {"rho": 1.5}), ("Adadelta", {"eps": -1e-3}),
    ("Adadelta", {"weight_decay": -0.5}),
    ("Adagrad", {"lr": -0.1}), ("Adagrad", {"lr_decay": -1}), ("Adagrad", {"weight_decay": -1}),
    ("Adagrad", {"initial_accumulator_value": -1}), ("Adagrad", {"eps": -1}),
    ("RMSprop", {"lr": -1}), ("RMSprop", {"eps": -1}), ("RMSprop", {"momentum": -0.1}),
    ("RMSprop", {"weight_decay": -1}), ("RMSprop", {"alpha": -0.5}),
    ("NAdam", {"lr": -1}), ("NAdam", {"eps": -1}), ("NAdam", {"betas": (1.0, 0.9)}), ("NAdam", {"betas": (0.9, -0.1)}),
    ("NAdam", {"weight_decay": -1}), ("NAdam", {"momentum_decay": -1}),
    ("RAdam", {"lr": -1}), ("RAdam", {"betas": (-0.1, 0.9)}), ("RAdam", {"betas": (0.9, 1)}), ("RAdam", {"eps": -2}),
    ("RAdam", {"weight_decay": -1}),
    ("Adamax", {"lr": -1}), ("Adamax", {"eps": -1}), ("Adamax", {"betas": (1.5, 0.9)}),
    ("Adamax", {"betas": (0.9, 1.0)}), ("Adamax", {"weight_decay": -1}),
]


@pytest.mark.parametrize("name,kwargs", BAD_ARGUMENTS, ids=[f"{n}-{list(k)[0]}-{i}" for i, (n, k) in
                                                           enumerate(BAD_ARGUMENTS)])
def test_argument_errors_match_torch(name, kwargs):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([nn.Parameter(tg.zeros(2))], **kwargs)
    assert str(ours.value) == f"{name}: {theirs.value}"


@pytest.mark.parametrize("name", ["Adadelta", "Adagrad", "RMSprop", "NAdam", "RAdam", "Adamax"])
def test_defaults_match_torch(name):
    ours = getattr(optim, name)([nn.Parameter(tg.zeros(2))])
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))])
    for key, value in ours.defaults.items():
        assert theirs.defaults[key] == value, key
    torch_only = {"foreach", "fused", "capturable", "differentiable"}
    assert set(theirs.defaults) - set(ours.defaults) <= torch_only


# ----------------------------------------------------------------------------- schedulers

def two_groups(module_optim, make_param):
    return module_optim.SGD([{"params": [make_param()]}, {"params": [make_param()], "lr": 0.02}], lr=0.1,
                            momentum=0.9)


def pair_of_optimizers():
    return (two_groups(optim, lambda: nn.Parameter(tg.zeros(2))),
            two_groups(torch.optim, lambda: torch.nn.Parameter(torch.zeros(2))))


class Halve:
    """A callable object (its attributes travel in LambdaLR's state_dict)."""

    def __init__(self):
        self.rate = 0.5

    def __call__(self, epoch):
        return self.rate ** (epoch // 3)


SCHEDULES = {
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 1.0 / (1 + 0.3 * e)),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, [lambda e: 0.95 ** e, Halve()]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 0.99),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 15], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.87),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=9),
    "LinearLR-down": lambda m, o: m.LinearLR(o, start_factor=0.9, end_factor=0.05, total_iters=13),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.3, total_iters=4),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=17, power=2.5),
    "StepLR": lambda m, o: m.StepLR(o, step_size=4, gamma=0.7),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=9, eta_min=0.001),
    "WarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5),
    "WarmRestarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.2, total_iters=5), m.CosineAnnealingLR(o, T_max=20)], milestones=[5]),
    "SequentialLR-3": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.5, total_iters=10), m.ExponentialLR(o, gamma=0.9),
            m.CosineAnnealingWarmRestarts(o, T_0=4)], milestones=[3, 12]),
    "SequentialLR-chained": lambda m, o: m.SequentialLR(  # a composite can only come first (as in torch)
        o, [m.ChainedScheduler([m.ExponentialLR(o, gamma=0.95), m.MultiStepLR(o, milestones=[2, 4])]),
            m.LinearLR(o, start_factor=0.5, total_iters=4)], milestones=[6]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler([m.ExponentialLR(o, gamma=0.9),
                                                         m.MultiStepLR(o, milestones=[4, 11], gamma=0.5)]),
    "ChainedScheduler-opt": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.25, total_iters=6), m.CosineAnnealingLR(o, T_max=8)], optimizer=o),
}

METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.92, 0.5, 0.5, 0.50001, 0.6, 0.7, 0.8, 0.49, 0.4999, 0.4998, 0.7, 0.7, 0.7,
           0.7, 0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05]
PLATEAUS = {
    "min-rel": dict(patience=2),
    "min-abs-cooldown": dict(threshold_mode="abs", threshold=0.05, patience=1, cooldown=2, factor=0.5),
    "max-rel": dict(mode="max", patience=0, factor=0.7, min_lr=[0.01, 0.005]),
    "max-abs": dict(mode="max", threshold_mode="abs", threshold=0.01, patience=1, min_lr=0.001, eps=1e-3),
}


def _lrs(opt):
    return [group["lr"] for group in opt.param_groups]


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch_exactly(name):
    ours_opt, torch_opt = pair_of_optimizers()
    ours, theirs = SCHEDULES[name](lr_scheduler, ours_opt), SCHEDULES[name](torch.optim.lr_scheduler, torch_opt)
    assert ours.get_last_lr() == theirs.get_last_lr() and _lrs(ours_opt) == _lrs(torch_opt)
    for _ in range(35):
        ours_opt.step()
        torch_opt.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == theirs.get_last_lr()  # to the last bit
        assert _lrs(ours_opt) == _lrs(torch_opt)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_state_dict_resumes_like_torch(name):
    ours_opt, torch_opt = pair_of_optimizers()
    ours, theirs = SCHEDULES[name](lr_scheduler, ours_opt), SCHEDULES[name](torch.optim.lr_scheduler, torch_opt)
    for _ in range(13):
        ours.step()
        theirs.step()
    saved = ours.state_dict()
    ignored = {"_get_lr_called_within_step"}  # torch's guard for a warning this library does not give
    assert set(saved) == set(theirs.state_dict()) - ignored
    fresh_opt, _ = pair_of_optimizers()
    fresh_opt.load_state_dict(ours_opt.state_dict())
    fresh = SCHEDULES[name](lr_scheduler, fresh_opt)
    fresh.load_state_dict(saved)
    fresh_opt.load_state_dict(ours_opt.state_dict())  # the constructor above reset the lrs
    for _ in range(20):
        for s in (ours, theirs, fresh):
            s.step()
        assert fresh.get_last_lr() == ours.get_last_lr() == theirs.get_last_lr()
        assert _lrs(fresh_opt) == _lrs(torch_opt)


@pytest.mark.parametrize("name", list(PLATEAUS))
def test_reduce_on_plateau_matches_torch(name):
    ours_opt, torch_opt = pair_of_optimizers()
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, **PLATEAUS[name])
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, **PLATEAUS[name])
    metrics = METRICS if PLATEAUS[name].get("mode") != "max" else [-m for m in METRICS]
    for i, metric in enumerate(metrics):
        ours.step(metric if i % 2 else tg.tensor(metric, dtype=tg.float64))  # a 0-d Tensor works as in torch
        theirs.step(metric if i % 2 else torch.tensor(metric, dtype=torch.float64))
        assert ours.get_last_lr() == theirs.get_last_lr() and _lrs(ours_opt) == _lrs(torch_opt)
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter) == (
            theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter)
        if i == 17:
            saved = ours.state_dict()
            assert set(saved) == set(theirs.state_dict())
            ours = lr_scheduler.ReduceLROnPlateau(ours_opt)
            ours.load_state_dict(saved)


CLOSED_FORMS = {
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5], gamma=0.4),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.8),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.25, total_iters=6),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=3),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=8, power=1.5),
    "WarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    "WarmRestarts-1": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4, eta_min=0.01),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_step_with_epoch_matches_torch(name):
    ours_opt, torch_opt = pair_of_optimizers()
    ours, theirs = CLOSED_FORMS[name](lr_scheduler, ours_opt), CLOSED_FORMS[name](torch.optim.lr_scheduler, torch_opt)
    fractional = name.startswith("WarmRestarts")
    for epoch in [1, 2, 5, 3, 9, 0, 12, 7, 30, 4]:
        epoch = epoch + 0.25 if fractional else epoch
        ours.step(epoch)
        theirs.step(epoch)
        assert ours.get_last_lr() == theirs.get_last_lr() and ours.last_epoch == theirs.last_epoch
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == theirs.get_last_lr()


def _both_raise(build, error):
    ours_opt, torch_opt = pair_of_optimizers()
    with pytest.raises(error) as theirs:
        build(torch.optim.lr_scheduler, torch_opt)
    with pytest.raises(error) as ours:
        build(lr_scheduler, ours_opt)
    return str(ours.value), str(theirs.value)


@pytest.mark.parametrize("build,error,same_message", [
    (lambda m, o: m.ExponentialLR("not an optimizer", 0.5), TypeError, True),
    (lambda m, o: m.ReduceLROnPlateau(object()), TypeError, True),
    (lambda m, o: m.ReduceLROnPlateau(o, factor=1.0), ValueError, True),
    (lambda m, o: m.ReduceLROnPlateau(o, mode="avg"), ValueError, True),
    (lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, True),
    (lambda m, o: m.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, True),
    (lambda m, o: m.SequentialLR(o, [m.ExponentialLR(o, 0.9), m.StepLR(o, 2)], milestones=[2, 4]), ValueError, True),
    (lambda m, o: m.SequentialLR(o, [], milestones=[]), ValueError, False),
    (lambda m, o: m.SequentialLR(o, [m.ReduceLROnPlateau(o)], milestones=[]), ValueError, True),
    (lambda m, o: m.SequentialLR(o, [m.ExponentialLR(o, 0.9), object()], milestones=[2]), TypeError, True),
    (lambda m, o: m.ChainedScheduler([]), ValueError, False),
    (lambda m, o: m.ChainedScheduler([m.ExponentialLR(o, 0.9), m.ReduceLROnPlateau(o)]), ValueError, True),
    (lambda m, o: m.LambdaLR(o, [lambda e: 1.0]), ValueError, True),
    (lambda m, o: m.MultiplicativeLR(o, 0.5), TypeError, True),
    (lambda m, o: m.ConstantLR(o, factor=1.5), ValueError, True),
    (lambda m, o: m.LinearLR(o, start_factor=0), ValueError, True),
    (lambda m, o: m.LinearLR(o, end_factor=1.5), ValueError, True),
    (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, True),
    (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError, True),
    (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0"), ValueError, True),
    (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2).step(-1), ValueError, True),
])
def test_scheduler_errors_match_torch(build, error, same_message):
    ours, theirs = _both_raise(build, error)
    if same_message:
        assert ours == theirs
    else:
        assert "expects at least one scheduler" in ours and "expects at least one scheduler" in theirs


def test_sequential_lr_with_a_foreign_scheduler_is_refused_like_torch():
    ours_opt, torch_opt = pair_of_optimizers()
    other_ours, other_torch = pair_of_optimizers()
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        torch.optim.lr_scheduler.SequentialLR(torch_opt, [torch.optim.lr_scheduler.ExponentialLR(other_torch, 0.5)],
                                              milestones=[])
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        lr_scheduler.SequentialLR(ours_opt, [lr_scheduler.ExponentialLR(other_ours, 0.5)], milestones=[])


def test_warm_restarts_per_batch_fractional_epochs_match_torch():
    ours_opt, torch_opt = pair_of_optimizers()
    ours = lr_scheduler.CosineAnnealingWarmRestarts(ours_opt, T_0=2, T_mult=3, eta_min=1e-4)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(torch_opt, T_0=2, T_mult=3, eta_min=1e-4)
    iters = 7
    for epoch in range(12):
        for i in range(iters):
            ours.step(epoch + i / iters)
            theirs.step(epoch + i / iters)
            assert ours.get_last_lr() == theirs.get_last_lr()
            assert (ours.T_cur, ours.T_i) == (theirs.T_cur, theirs.T_i)
    assert not math.isnan(ours.get_last_lr()[0])
