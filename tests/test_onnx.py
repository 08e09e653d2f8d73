"""ONNX export of whole models: the bundled MNIST nets and the ResNet-, MobileNet-, VGG-, SqueezeNet- and
U-Net-style networks of tests/_networks.py. Each file passes ``onnx.checker`` (full check), runs in
onnxruntime at batch 1 and at batch 3 (dynamic batch) with this framework's eval output, and loads
back with ``tinygrad_cnn.onnx.load`` (same outputs, same state_dict keys, trainable). The shipped
model's export gives the same 10,000 test predictions in onnxruntime as ``evaluate``."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from _networks import NETWORKS  # noqa: E402

import tinygrad_cnn as tg  # noqa: E402
import tinygrad_cnn.onnx as tg_onnx  # noqa: E402
from models.mnist import MnistCNN, SeedCNN, main  # noqa: E402

ATOL = 2e-5  # float32: the largest difference measured was 7e-7 on outputs of size ~1


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # the machine is shared
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def eval_output(model, x):
    model.eval()
    with tg.no_grad():
        return model(tg.Tensor(x)).numpy()


def randomize_batch_norm(model, seed=0):
    """Running statistics away from 0 and 1, so that an export that ignored them would fail."""
    rng = np.random.default_rng(seed)
    for key, buf in model.named_buffers():
        if key.endswith("running_mean"):
            buf._data[...] = rng.standard_normal(buf.shape) * 0.2
        elif key.endswith("running_var"):
            buf._data[...] = rng.uniform(0.5, 2.0, buf.shape)


def check_export(model, shape, path, batches=(1, 3)):
    """Export on a batch of 2, then: checker, onnxruntime and the round trip at each batch size.
    Returns the largest difference to this framework's output."""
    rng = np.random.default_rng(1)
    modes = [m.training for m in model.modules()]
    proto = tg_onnx.export(model, tg.Tensor(rng.standard_normal((2,) + shape).astype(np.float32)), path)
    assert [m.training for m in model.modules()] == modes, "export changed the model's modes"
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    sess, loaded = session(path), tg_onnx.load(path)
    worst = 0.0
    for n in batches:
        x = rng.standard_normal((n,) + shape).astype(np.float32)
        expected = eval_output(model, x)
        got = sess.run(None, {"input": x})[0]
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=ATOL, err_msg=f"onnxruntime, batch {n}")
        np.testing.assert_allclose(eval_output(loaded, x), expected, rtol=1e-5, atol=1e-6,
                                   err_msg=f"tinygrad_cnn.onnx.load, batch {n}")
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst, loaded


@pytest.mark.parametrize("name", NETWORKS)
def test_network_exports_and_runs_in_onnxruntime(name, tmp_path):
    build, size = NETWORKS[name]
    tg.manual_seed(0)
    model = build(tg.nn, tg)
    randomize_batch_norm(model)
    model.train()
    _, loaded = check_export(model, (3, size, size), tmp_path / f"{name}.onnx")
    expected = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    assert set(loaded.state_dict()) == expected, "the initializers are not named by the state_dict keys"
    loaded.load_state_dict({k: v for k, v in model.state_dict().items() if k in expected})


@pytest.mark.parametrize("build", [MnistCNN, SeedCNN], ids=["MnistCNN", "SeedCNN"])
def test_mnist_models_export(build, tmp_path):
    tg.manual_seed(0)
    model = build()
    randomize_batch_norm(model)
    x_user = tg.Tensor(np.ones((2, 1, 28, 28), dtype=np.float32))
    check_export(model, (1, 28, 28), tmp_path / "mnist.onnx", batches=(1, 5))
    assert x_user.grad_fn is None and not x_user.requires_grad, "export changed the example input"


def test_loaded_model_fine_tunes(tmp_path):
    """The loaded module's weights are Parameters and its forward is differentiable."""
    tg.manual_seed(0)
    model = MnistCNN(channels=(4, 8))
    path = tmp_path / "small.onnx"
    tg_onnx.export(model, np.zeros((1, 1, 28, 28), dtype=np.float32), path)
    loaded = tg_onnx.load(path)
    assert not loaded.training, "load gives the deployed (eval) mode"
    loaded.train()
    mean_before = loaded.state_dict()["features.1.running_mean"].copy()
    params = list(loaded.parameters())
    assert len(params) == len(list(model.parameters()))
    x = tg.Tensor(np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32))
    loss = tg.nn.functional.cross_entropy(loaded(x), tg.Tensor(np.array([0, 1, 2, 3])))
    loss.backward()
    assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all() for p in params)
    assert not np.array_equal(loaded.state_dict()["features.1.running_mean"], mean_before), \
        "train mode: batch norm should use and track batch statistics"
    before = loaded.state_dict()["fc.weight"].copy()
    tg.optim.SGD(loaded.parameters(), lr=0.1).step()
    assert not np.array_equal(loaded.state_dict()["fc.weight"], before)


def test_cli_export_onnx_matches_evaluate_on_the_test_set(tmp_path, capsys):
    """The shipped weights' ONNX file: the same 10,000 test predictions as the framework's evaluate."""
    from models.mnist.checkpoint import load_weights
    from models.mnist.train import evaluate_model

    path = tmp_path / "mnist.onnx"
    assert main(["export", "--format", "onnx", "--out", str(path)]) == 0
    assert "wrote" in capsys.readouterr().out
    data = tg.data.load_mnist()
    model, _ = load_weights()
    _, accuracy = evaluate_model(model, data.test_images, data.test_labels)
    x = tg.data.normalize(data.test_images)
    sess = session(path)
    ours, theirs = [], []
    model.eval()
    with tg.no_grad():
        for i in range(0, len(x), 2000):
            ours.append(model(tg.Tensor(x[i:i + 2000])).numpy().argmax(1))
            theirs.append(sess.run(None, {"input": x[i:i + 2000]})[0].argmax(1))
    ours, theirs = np.concatenate(ours), np.concatenate(theirs)
    assert len(theirs) == 10000
    np.testing.assert_array_equal(theirs, ours)
    assert (theirs == data.test_labels).mean() == pytest.approx(accuracy, abs=1e-12)


def test_cli_export_safetensors_still_works(tmp_path, capsys):
    from models.mnist.checkpoint import SHIPPED_WEIGHTS

    out = tmp_path / "w.safetensors"
    assert main(["export", str(SHIPPED_WEIGHTS), "--out", str(out)]) == 0
    assert set(tg.state.load(out)) == set(MnistCNN().state_dict())
    with pytest.raises(SystemExit, match="CHECKPOINT"):
        main(["export", "--out", str(out)])  # the safetensors format needs a CHECKPOINT


def test_cli_export_onnx_errors(tmp_path, capsys):
    with pytest.raises(SystemExit, match="does not exist"):
        main(["export", "--format", "onnx", "--out", str(tmp_path / "missing" / "m.onnx")])
    with pytest.raises(SystemExit, match="nope.safetensors does not exist"):
        main(["export", str(tmp_path / "nope.safetensors"), "--format", "onnx", "--out", str(tmp_path / "m.onnx")])
    with pytest.raises(SystemExit, match="'seed' model"):
        main(["export", "--format", "onnx", "--model", "seed", "--out", str(tmp_path / "m.onnx")])
    assert not (tmp_path / "m.onnx").exists()
