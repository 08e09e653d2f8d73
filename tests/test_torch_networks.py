"""Whole CNNs written once, in their usual PyTorch form, built with torch and with tinygrad_cnn.

Each architecture is a function of the framework's ``nn``: the same source defines the torch
model and ours. Our model takes the torch model's weights through ``state_dict``; then the eval
outputs must agree at float32 tolerance, and one training step (its loss, every parameter's
gradient, the batch-norm running statistics and the parameters after an SGD step) in float64 to
1e-7. The step is checked in float64 because chains of batch norms on a batch of 4 amplify
float32 rounding: torch against itself in another summation order differs by percents there.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _networks import NETWORKS  # noqa: E402  (the architectures, in tests/_networks.py)

import tinygrad_cnn as tg  # noqa: E402

RTOL, ATOL = 2e-4, 2e-5


def _grads(model, lib):
    return {name: (p.grad.numpy() if p.grad is not None else None) for name, p in model.named_parameters()}


@pytest.mark.parametrize("name", NETWORKS)
def test_network_matches_torch(name):
    build, size = NETWORKS[name]
    torch.manual_seed(0)
    ref = build(torch.nn, torch)
    tg.manual_seed(0)
    ours = build(tg.nn, tg)
    state = {k: v.detach().numpy().copy() for k, v in ref.state_dict().items()}
    assert list(ours.state_dict()) == list(state), "state_dict keys differ"
    assert all(ours.state_dict()[k].shape == v.shape for k, v in state.items())
    ours.load_state_dict(state)

    x = np.random.default_rng(1).standard_normal((4, 3, size, size)).astype(np.float32)
    y = np.array([1, 3, 5, 7])
    ref.eval(), ours.eval()
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    with tg.no_grad():
        got = ours(tg.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL, err_msg="eval output")

    ref.double().train(), ours.double().train()
    x64 = x.astype(np.float64)
    opts = [torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9),
            tg.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)]
    losses = []
    for model, lib, opt in ((ref, torch, opts[0]), (ours, tg, opts[1])):
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(lib.from_numpy(x64)), lib.from_numpy(y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-10, err_msg="training loss")
    ref_grads, our_grads = _grads(ref, torch), _grads(ours, tg)
    for key, g in ref_grads.items():
        np.testing.assert_allclose(our_grads[key], g, rtol=1e-7, atol=1e-10, err_msg=f"gradient of {key}")
    after = ours.state_dict()
    for key, value in ref.state_dict().items():
        np.testing.assert_allclose(after[key], value.numpy(), rtol=1e-7, atol=1e-10, err_msg=f"{key} after the step")
