"""A float32 model trains in float32 end to end: no op's forward, no op's backward and no optimizer
state produces a float64 array. (One stray float64 constant would silently upcast the whole step
and halve its speed.) The check wraps every Function subclass, so ops added later are covered too."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Function, Tensor, nn, optim


def _all_functions(cls=Function):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_functions(sub)


@pytest.fixture
def dtype_log(monkeypatch):
    """Every float array an op's forward returns or its backward gives back, with the op's name."""
    log = []

    def record(name, phase, value):
        for v in value if isinstance(value, tuple) else (value,):
            if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                log.append((name, phase, v.dtype))

    for fn in set(_all_functions()):
        if "forward" in vars(fn):
            original = fn.forward

            def forward(ctx, *args, _original=original, _name=fn.__name__, **kwargs):
                out = _original(ctx, *args, **kwargs)
                record(_name, "forward", out)
                return out

            monkeypatch.setattr(fn, "forward", staticmethod(forward))
        if "backward" in vars(fn):
            original = fn.backward

            def backward(ctx, grad, _original=original, _name=fn.__name__):
                out = _original(ctx, grad)
                record(_name, "backward", out)
                return out

            monkeypatch.setattr(fn, "backward", staticmethod(backward))
    return log


def _models():
    return {
        "conv-bn-dropout": nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 5, padding="same"), nn.Tanh(), nn.AvgPool2d(2),
            nn.Flatten(), nn.Dropout(0.2), nn.Linear(16 * 3 * 3, 32), nn.Sigmoid(), nn.Linear(32, 10),
        ),
        "lenet-like": nn.Sequential(
            nn.Conv2d(1, 4, 5), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(4 * 1 * 1, 10),
        ),
    }


@pytest.mark.parametrize("name", ["conv-bn-dropout", "lenet-like"])
@pytest.mark.parametrize("make_optimizer", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True),
    lambda p: optim.Adam(p, lr=1e-3, weight_decay=1e-4),
], ids=["sgd", "adam"])
@pytest.mark.parametrize("shared", [False, True], ids=["serial", "on-workers"])
def test_a_float32_training_step_makes_no_float64_array(dtype_log, name, make_optimizer, shared, monkeypatch):
    if shared:  # the worker-thread code paths, even for these small arrays
        from tinygrad_cnn import parallel
        from tinygrad_cnn.ops import _blocks

        monkeypatch.setattr(_blocks, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(_blocks, "COLS_BLOCK_BYTES", 2048)
        monkeypatch.setattr(parallel, "_ELEMENTWISE_MIN_SIZE", 1)
        monkeypatch.setattr(parallel, "_MATMUL_MIN_FLOPS", 0)
        monkeypatch.setattr(parallel, "_break_even", (0, 0))
        tg.get_num_threads()  # the BLAS is set up (single-threaded) first
        monkeypatch.setattr(parallel, "_num_threads", 2)
    tg.manual_seed(0)
    model = _models()[name]
    opt = make_optimizer(model.parameters())
    x = Tensor(np.random.default_rng(0).standard_normal((6, 1, 12, 12), dtype=np.float32))
    y = np.array([0, 1, 2, 3, 4, 5])
    for _ in range(2):
        opt.zero_grad()
        loss = model(x).cross_entropy(y, label_smoothing=0.1)
        loss.backward()
        opt.step()

    assert dtype_log, "the wrappers recorded nothing: the check itself is broken"
    assert {phase for _, phase, _ in dtype_log} == {"forward", "backward"}
    upcasts = sorted({(op, phase) for op, phase, dtype in dtype_log if dtype != np.float32})
    assert not upcasts, f"float64 arrays made by: {upcasts}"
    for key, value in model.state_dict().items():
        if value.dtype.kind == "f":
            assert value.dtype == np.float32, key
    for state in opt.state_dict()["state"].values():
        for key, value in state.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert value.dtype == np.float32, key


def test_the_check_catches_an_upcast(dtype_log):
    """The wrapper really sees a float64 array when an op makes one (the test above can fail)."""
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    (x * Tensor(np.full(3, 2.0))).sum().backward()  # a float64 (3,) tensor upcasts, as in torch (a 0-d one would not)
    assert any(dtype == np.float64 for _, _, dtype in dtype_log)
