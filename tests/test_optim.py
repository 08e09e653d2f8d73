"""Tests for tinygrad_cnn.optim: update rules against hand-computed numbers, argument checks,
exact resume from state_dict, learning-rate schedules and dtype preservation."""
import math

import numpy as np
import pytest

from tinygrad_cnn import Tensor
from tinygrad_cnn.nn import Parameter
from tinygrad_cnn.optim import SGD, Adam, AdamW
from tinygrad_cnn.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR, StepLR

G1, G2 = [0.5, -1.0], [1.0, 1.0]


def run(optimizer_cls, grads=(G1, G2), start=(1.0, 2.0), dtype=np.float64, **kwargs):
    """Parameter values after each step with the given gradients."""
    p = Parameter(np.array(start, dtype=dtype))
    opt = optimizer_cls([p], **kwargs)
    history = []
    for g in grads:
        p.grad = Tensor(np.array(g, dtype=dtype))
        opt.step()
        history.append(p.numpy().copy())
    return history


# ----------------------------------------------------------------------------------------------
# SGD, step by step
# ----------------------------------------------------------------------------------------------


def test_sgd_plain():
    s1, s2 = run(SGD, lr=0.1)
    np.testing.assert_allclose(s1, [1 - 0.05, 2 + 0.1])          # p -= lr * g
    np.testing.assert_allclose(s2, [0.95 - 0.1, 2.1 - 0.1])


def test_sgd_momentum():
    s1, s2 = run(SGD, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(s1, [0.95, 2.1])                   # buf = g on the first step
    # buf = 0.9 * [0.5, -1] + [1, 1] = [1.45, 0.1]
    np.testing.assert_allclose(s2, [0.95 - 0.145, 2.1 - 0.01])


def test_sgd_dampening():
    s1, s2 = run(SGD, lr=0.1, momentum=0.9, dampening=0.5)
    np.testing.assert_allclose(s1, [0.95, 2.1])                   # no dampening on the first step
    # buf = 0.9 * [0.5, -1] + 0.5 * [1, 1] = [0.95, -0.4]
    np.testing.assert_allclose(s2, [0.95 - 0.095, 2.1 + 0.04])


def test_sgd_weight_decay():
    s1, s2 = run(SGD, lr=0.1, weight_decay=0.1)
    # g = [0.5 + 0.1 * 1, -1 + 0.1 * 2] = [0.6, -0.8]
    np.testing.assert_allclose(s1, [0.94, 2.08])
    # g = [1 + 0.094, 1 + 0.208]
    np.testing.assert_allclose(s2, [0.94 - 0.1094, 2.08 - 0.1208])


def test_sgd_nesterov():
    s1, s2 = run(SGD, lr=0.1, momentum=0.9, nesterov=True)
    # buf = [0.5, -1]; g = g + 0.9 * buf = [0.95, -1.9]
    np.testing.assert_allclose(s1, [1 - 0.095, 2 + 0.19])
    # buf = [1.45, 0.1]; g = [1, 1] + 0.9 * buf = [2.305, 1.09]
    np.testing.assert_allclose(s2, [0.905 - 0.2305, 2.19 - 0.109])


def test_sgd_maximize():
    (s1,) = run(SGD, grads=(G1,), lr=0.1, maximize=True)
    np.testing.assert_allclose(s1, [1.05, 1.9])


# ----------------------------------------------------------------------------------------------
# Adam, step by step
# ----------------------------------------------------------------------------------------------


def test_adam_bias_correction_steps_1_and_2():
    s1, s2 = run(Adam, lr=0.1)
    # step 1: m = 0.1 g, v = 0.001 g^2; the corrections make m_hat = g, sqrt(v_hat) = |g|:
    # the update is lr * g / (|g| + eps) = [0.1, -0.1] up to eps
    np.testing.assert_allclose(s1, [1 - 0.05 / (0.5 + 1e-8), 2 + 0.1 / (1 + 1e-8)], rtol=1e-12)
    # step 2: m = [0.145, 0.01], v = [0.00124975, 0.001999], bc1 = 0.19, bc2 = 0.001999
    # update = (0.1 / 0.19) * m / (sqrt(v) / sqrt(bc2) + eps) = [0.0965182..., 0.0052631...]
    np.testing.assert_allclose(s2, [0.900000002 - 0.0965182015615, 2.099999999 - 0.0052631578421], rtol=1e-9)


def test_adam_weight_decay_and_adamw():
    (s1,) = run(Adam, grads=(G1,), lr=0.1, weight_decay=0.1)
    # g = [0.6, -0.8]: the first step is still lr * sign(g)
    np.testing.assert_allclose(s1, [0.9, 2.1], rtol=1e-7)
    (s1,) = run(AdamW, grads=(G1,), lr=0.1, weight_decay=0.1)
    # decoupled: p *= 1 - lr * wd first, then the Adam step
    np.testing.assert_allclose(s1, [0.99 - 0.1, 1.98 + 0.1], rtol=1e-7)


def test_adam_amsgrad_uses_max_second_moment():
    grads = ([1.0], [0.0], [0.0])
    plain = run(Adam, grads=grads, start=(0.0,), lr=0.1)
    ams = run(Adam, grads=grads, start=(0.0,), lr=0.1, amsgrad=True)
    assert ams[0][0] == plain[0][0]
    assert abs(ams[2][0] - ams[1][0]) < abs(plain[2][0] - plain[1][0])  # a larger denominator


# ----------------------------------------------------------------------------------------------
# behaviour common to optimizers
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01, nesterov=False),
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda ps: Adam(ps, lr=0.01, weight_decay=0.1, amsgrad=True),
    lambda ps: AdamW(ps, lr=0.01),
])
def test_float32_stays_float32(make):
    rng = np.random.default_rng(0)
    ps = [Parameter(rng.standard_normal((3, 4)).astype(np.float32)) for _ in range(2)]
    opt = make(ps)
    for _ in range(3):
        for p in ps:
            p.grad = Tensor(rng.standard_normal(p.shape).astype(np.float32))
        opt.step()
    for p in ps:
        assert p.dtype == np.float32 and p.grad.dtype == np.float32
        for value in opt.state[p].values():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32
            else:
                assert isinstance(value, int)


def test_params_without_grad_are_skipped_and_zero_grad():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad = Tensor(np.ones(2))
    opt.step()
    np.testing.assert_array_equal(b.numpy(), 1)
    assert b not in opt.state and a in opt.state
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), 0)
    assert b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_param_groups_with_own_hyperparameters():
    a, b = Parameter(np.ones(1)), Parameter(np.ones(1))
    opt = SGD([{"params": [a]}, {"params": b, "lr": 1.0}], lr=0.1, momentum=0.5)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 1.0
    assert opt.param_groups[1]["momentum"] == 0.5
    a.grad, b.grad = Tensor(np.ones(1)), Tensor(np.ones(1))
    opt.step()
    np.testing.assert_allclose([a.numpy()[0], b.numpy()[0]], [0.9, 0.0])


def test_closure_is_evaluated():
    p = Parameter(np.array([3.0]))
    opt = SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 9.0
    np.testing.assert_allclose(p.numpy(), [3.0 - 0.6])


def test_argument_validation():
    p = [Parameter(np.ones(2))]
    cases = [
        (lambda: SGD(p, lr=-0.1), ValueError, "learning rate"),
        (lambda: SGD(p, lr=0.1, momentum=-0.5), ValueError, "momentum"),
        (lambda: SGD(p, lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
        (lambda: SGD(p, lr=0.1, nesterov=True), ValueError, "Nesterov"),
        (lambda: SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "Nesterov"),
        (lambda: Adam(p, lr=-1), ValueError, "learning rate"),
        (lambda: Adam(p, betas=(1.0, 0.999)), ValueError, "beta parameter at index 0"),
        (lambda: Adam(p, betas=(0.9, -0.1)), ValueError, "beta parameter at index 1"),
        (lambda: Adam(p, eps=-1e-8), ValueError, "epsilon"),
        (lambda: Adam(p, weight_decay=-0.1), ValueError, "weight_decay"),
        (lambda: SGD(p[0], lr=0.1), TypeError, "iterable of Tensors"),
        (lambda: SGD([], lr=0.1), ValueError, "empty parameter list"),
        (lambda: SGD([np.ones(2)], lr=0.1), TypeError, "only optimize Tensors"),
        (lambda: SGD([p[0], p[0]], lr=0.1), ValueError, "more than once"),
        (lambda: SGD([{"params": p}, {"params": p}], lr=0.1), ValueError, "more than one parameter group"),
        (lambda: SGD([p[0] * 2], lr=0.1), ValueError, "non-leaf"),
        (lambda: SGD([{"params": p, "lr": -1.0}], lr=0.1), ValueError, "learning rate"),
    ]
    for make, error, text in cases:
        with pytest.raises(error, match=text):
            make()


# ----------------------------------------------------------------------------------------------
# state_dict: exact resume
# ----------------------------------------------------------------------------------------------


def _quadratic_grads(params, step):
    """Deterministic gradients that depend on the parameters (so the trajectories must match)."""
    for i, p in enumerate(params):
        p.grad = Tensor(p.numpy() * 0.5 + np.sin(step + i + np.arange(p.numel()).reshape(p.shape)).astype(p.dtype))


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01),
    lambda ps: SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.2}], lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: Adam(ps, lr=0.01, weight_decay=0.1, amsgrad=True),
])
def test_state_dict_resume_is_exact(make):
    rng = np.random.default_rng(0)
    params = [Parameter(rng.standard_normal((2, 3)).astype(np.float32)),
              Parameter(rng.standard_normal(4).astype(np.float32))]
    opt = make(params)
    for step in range(3):
        _quadratic_grads(params, step)
        opt.step()
    saved_params = [p.numpy().copy() for p in params]
    saved_state = opt.state_dict()
    assert sorted(saved_state) == ["param_groups", "state"]
    assert [g["params"] for g in saved_state["param_groups"]] in ([[0, 1]], [[0], [1]])

    for step in range(3, 6):
        _quadratic_grads(params, step)
        opt.step()

    fresh = [Parameter(a) for a in saved_params]
    other = make(fresh)
    other.load_state_dict(saved_state)
    for step in range(3, 6):
        _quadratic_grads(fresh, step)
        other.step()
    for p, q in zip(params, fresh):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        assert q.dtype == np.float32


def test_state_dict_is_a_snapshot_and_checks_structure():
    p = Parameter(np.ones(2))
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = Tensor(np.ones(2))
    opt.step()
    sd = opt.state_dict()
    assert sd["state"][0]["momentum_buffer"].tolist() == [1.0, 1.0]
    assert sd["param_groups"][0]["lr"] == 0.1 and sd["param_groups"][0]["params"] == [0]
    opt.step()
    assert sd["state"][0]["momentum_buffer"].tolist() == [1.0, 1.0]
    two = SGD([{"params": [Parameter(np.ones(2))]}, {"params": [Parameter(np.ones(2))]}], lr=0.1)
    with pytest.raises(ValueError, match="parameter groups"):
        two.load_state_dict(sd)
    wrong_shape = SGD([Parameter(np.ones(3))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="shape"):
        wrong_shape.load_state_dict(sd)


def test_load_state_dict_restores_hyperparameters():
    p = Parameter(np.ones(2))
    opt = Adam([p], lr=0.5, betas=(0.8, 0.9))
    sd = opt.state_dict()
    other = Adam([Parameter(np.ones(2))], lr=0.001)
    other.load_state_dict(sd)
    assert other.param_groups[0]["lr"] == 0.5 and other.param_groups[0]["betas"] == (0.8, 0.9)


# ----------------------------------------------------------------------------------------------
# learning-rate schedulers
# ----------------------------------------------------------------------------------------------


def _lrs(scheduler, steps):
    out = [scheduler.get_last_lr()[0]]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        out.append(scheduler.get_last_lr()[0])
    return out


def test_step_lr():
    opt = SGD([Parameter(np.ones(1))], lr=1.0)
    lrs = _lrs(StepLR(opt, step_size=2, gamma=0.5), 6)
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert opt.param_groups[0]["lr"] == 0.125 and opt.param_groups[0]["initial_lr"] == 1.0
    with pytest.raises(ValueError):
        StepLR(opt, step_size=0)


def test_cosine_annealing_lr():
    opt = SGD([Parameter(np.ones(1))], lr=1.0)
    lrs = _lrs(CosineAnnealingLR(opt, T_max=4, eta_min=0.1), 6)
    c = math.cos(math.pi / 4)
    # 0.1 + 0.9 * (1 + cos(pi t / 4)) / 2, then back up after T_max
    expected = [1.0, 0.1 + 0.45 * (1 + c), 0.55, 0.1 + 0.45 * (1 - c), 0.1, 0.1 + 0.45 * (1 - c), 0.55]
    assert lrs == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle_lr(strategy):
    opt = SGD([Parameter(np.ones(1))], lr=0.123, momentum=0.9)
    sched = OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.3, anneal_strategy=strategy)
    lrs = _lrs(sched, 9)
    # warm-up from 1/25 to 1 over steps 0..2 (halfway is the mean for both strategies), then down
    # to 0.04 / 1e4 at the last step
    assert lrs[0] == pytest.approx(0.04) and lrs[1] == pytest.approx(0.52) and lrs[2] == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(4e-6)
    assert all(a > b for a, b in zip(lrs[2:], lrs[3:]))
    if strategy == "linear":
        assert lrs[5] == pytest.approx(1.0 + (4e-6 - 1.0) * 3 / 7)
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)   # momentum cycles the other way
    sched.step()  # like PyTorch, one step past the end is tolerated; the next one is an error
    with pytest.raises(ValueError, match="total steps"):
        sched.step()


def test_scheduler_state_dict_resume():
    def make():
        opt = SGD([Parameter(np.ones(1))], lr=1.0, momentum=0.9)
        return opt, CosineAnnealingLR(opt, T_max=5, eta_min=0.01)

    opt, sched = make()
    for _ in range(3):
        sched.step()
    state, opt_state = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in state
    expected = _lrs(sched, 4)
    opt2, sched2 = make()
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(state)
    assert _lrs(sched2, 4) == expected
