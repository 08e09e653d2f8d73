"""The same models, weights, data and hyperparameters give the same numbers here and in PyTorch.

Weights travel through safetensors files both ways (ours -> ``safetensors.torch.load_file``;
``safetensors.torch.save_file`` -> ours), so these tests also pin the on-disk compatibility.
Skipped when torch is not installed (it is not a dependency).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

from tinygrad_cnn import Tensor, manual_seed, nn, optim  # noqa: E402
from tinygrad_cnn.optim import lr_scheduler  # noqa: E402
from tinygrad_cnn.state import load, save  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def single_threaded_torch():
    """These models are tiny: with several threads torch spends ~0.2 s per backward on thread
    hand-offs on a busy 2-core machine, with one it takes well under a millisecond."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-5, atol=1e-5)}


def cnn_pair():
    ours = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 5 * 5, 10))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(4 * 5 * 5, 10))
    return ours, theirs


def dropout_pair():
    ours = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, bias=False), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Dropout(0.5), nn.Linear(3 * 6 * 6, 5))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1, bias=False), torch.nn.Tanh(),
                                 torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Dropout(0.5),
                                 torch.nn.Linear(3 * 6 * 6, 5))
    return ours, theirs


def images(dtype, n=6, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 1, 12, 12)).astype(dtype)


def ours_to_torch(ours, theirs, tmp_path):
    path = tmp_path / "ours.safetensors"
    save(ours.state_dict(), path)
    theirs.load_state_dict(safetensors_torch.load_file(str(path)), strict=True)


def torch_to_ours(theirs, ours, tmp_path):
    path = tmp_path / "theirs.safetensors"
    safetensors_torch.save_file({k: v.contiguous() for k, v in theirs.state_dict().items()}, str(path))
    ours.load_state_dict(load(path), strict=True)


def check_close(a, b, dtype, what):
    np.testing.assert_allclose(a, b, err_msg=what, **TOL[dtype])


# ----------------------------------------------------------------------------------------------
# structure
# ----------------------------------------------------------------------------------------------


def test_state_dict_keys_dtypes_and_repr_match():
    ours, theirs = cnn_pair()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert a.shape == tuple(b.shape) and a.dtype == b.numpy().dtype, k
    assert repr(ours) == repr(theirs)
    ours, theirs = dropout_pair()
    assert repr(ours) == repr(theirs)


# ----------------------------------------------------------------------------------------------
# forward / backward
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("direction", ["ours_to_torch", "torch_to_ours"])
def test_cnn_logits_and_gradients_match(dtype, direction, tmp_path):
    manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = cnn_pair()
    if direction == "ours_to_torch":
        ours_to_torch(ours, theirs, tmp_path)
    else:
        torch_to_ours(theirs, ours, tmp_path)
    if dtype == np.float64:
        ours.double()
        theirs.double()
    x = images(dtype)
    target = np.array([0, 1, 2, 3, 4, 9])

    # training mode: batch statistics, running statistics updated, gradients
    out = ours(Tensor(x))
    t_out = theirs(torch.from_numpy(x))
    assert out.dtype == dtype
    check_close(out.numpy(), t_out.detach().numpy(), dtype, "train logits")
    out.cross_entropy(target).backward()
    torch.nn.functional.cross_entropy(t_out, torch.from_numpy(target)).backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        check_close(p.grad.numpy(), q.grad.numpy(), dtype, f"grad of {name}")
    for (name, b), c in zip(ours.named_buffers(), theirs.buffers()):
        check_close(b.numpy(), c.numpy(), dtype, f"buffer {name}")

    # evaluation mode: running statistics
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        check_close(ours(Tensor(x)).numpy(), theirs(torch.from_numpy(x)).numpy(), dtype, "eval logits")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_model_in_eval_matches(dtype, tmp_path):
    manual_seed(3)
    ours, theirs = dropout_pair()
    ours_to_torch(ours, theirs, tmp_path)
    if dtype == np.float64:
        ours.double()
        theirs.double()
    ours.eval()
    theirs.eval()
    x = images(dtype, seed=1)
    with torch.no_grad():
        check_close(ours(Tensor(x)).numpy(), theirs(torch.from_numpy(x)).numpy(), dtype, "eval logits")


# ----------------------------------------------------------------------------------------------
# optimizers: twelve steps on the same model with the same data
# ----------------------------------------------------------------------------------------------

OPTIMIZERS = [
    ("SGD plain", lambda m: optim.SGD(m.parameters(), lr=0.1), lambda m: torch.optim.SGD(m.parameters(), lr=0.1)),
    ("SGD momentum+dampening+wd",
     lambda m: optim.SGD(m.parameters(), lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.01),
     lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.01)),
    ("SGD nesterov",
     lambda m: optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001),
     lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001)),
    ("Adam wd", lambda m: optim.Adam(m.parameters(), lr=0.01, weight_decay=0.05),
     lambda m: torch.optim.Adam(m.parameters(), lr=0.01, weight_decay=0.05)),
    ("Adam amsgrad", lambda m: optim.Adam(m.parameters(), lr=0.01, betas=(0.8, 0.99), amsgrad=True),
     lambda m: torch.optim.Adam(m.parameters(), lr=0.01, betas=(0.8, 0.99), amsgrad=True)),
    ("AdamW", lambda m: optim.AdamW(m.parameters(), lr=0.01, weight_decay=0.1),
     lambda m: torch.optim.AdamW(m.parameters(), lr=0.01, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, make_ours, make_theirs", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_twelve_optimizer_steps_match(name, make_ours, make_theirs, tmp_path):
    manual_seed(1)
    ours, theirs = cnn_pair()
    ours_to_torch(ours, theirs, tmp_path)
    ours.double()
    theirs.double()
    opt, t_opt = make_ours(ours), make_theirs(theirs)
    rng = np.random.default_rng(5)
    for _ in range(12):
        x = rng.standard_normal((4, 1, 12, 12))
        target = rng.integers(0, 10, 4)
        opt.zero_grad()
        ours(Tensor(x)).cross_entropy(target).backward()
        opt.step()
        t_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(target)).backward()
        t_opt.step()
    for (key, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-5, atol=1e-5, err_msg=f"{name}: {key}")


# ----------------------------------------------------------------------------------------------
# learning-rate schedulers
# ----------------------------------------------------------------------------------------------

SCHEDULES = [
    ("StepLR", lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.3),
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.3), 20),
    ("Cosine", lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.001), 30),
    ("OneCycle cos", lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=25),
     lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=25), 24),
    ("OneCycle linear 3-phase",
     lambda o: lr_scheduler.OneCycleLR(o, max_lr=[0.5], epochs=3, steps_per_epoch=7, pct_start=0.25,
                                       anneal_strategy="linear", three_phase=True, div_factor=10.0),
     lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=[0.5], epochs=3, steps_per_epoch=7, pct_start=0.25,
                                                   anneal_strategy="linear", three_phase=True, div_factor=10.0), 21),
]


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize("name, make_ours, make_theirs, steps", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_scheduler_lrs_match(name, make_ours, make_theirs, steps, optimizer):
    p, q = nn.Parameter(np.zeros(1)), torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    if optimizer == "SGD":
        opt, t_opt = optim.SGD([p], lr=0.1, momentum=0.9), torch.optim.SGD([q], lr=0.1, momentum=0.9)
        momentum = lambda o: o.param_groups[0]["momentum"]  # noqa: E731
    else:
        opt, t_opt = optim.Adam([p], lr=0.1), torch.optim.Adam([q], lr=0.1)
        momentum = lambda o: o.param_groups[0]["betas"][0]  # noqa: E731
    sched, t_sched = make_ours(opt), make_theirs(t_opt)
    ours, theirs = [], []
    for _ in range(steps):
        ours.append((sched.get_last_lr()[0], momentum(opt)))
        theirs.append((t_sched.get_last_lr()[0], momentum(t_opt)))
        p.grad, q.grad = Tensor(np.ones(1)), torch.ones(1, dtype=torch.float64)
        opt.step()
        t_opt.step()
        sched.step()
        t_sched.step()
    ours.append((sched.get_last_lr()[0], momentum(opt)))
    theirs.append((t_sched.get_last_lr()[0], momentum(t_opt)))
    np.testing.assert_allclose(np.array(ours, dtype=float), np.array(theirs, dtype=float), rtol=1e-15, atol=0)
    np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-12)
