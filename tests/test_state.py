"""Tests for tinygrad_cnn.state: safetensors round trips, atomic saves, clear errors on bad files."""
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
import safetensors.numpy

from tinygrad_cnn import Tensor, files, manual_seed, nn, state
from tinygrad_cnn.state import load, load_metadata, save


def _leftovers(directory):
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


def test_round_trip_dtypes_and_metadata(tmp_path):
    arrays = {
        "w32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "w64": np.linspace(0, 1, 5),
        "count": np.array(7, dtype=np.int64),
        "labels": np.array([1, 2, 3], dtype=np.int64),
        "mask": np.array([True, False]),
        "tensor": Tensor(np.ones((2, 2), np.float32)),
    }
    path = tmp_path / "model.safetensors"
    save(arrays, path, metadata={"epoch": "3", "arch": "cnn"})
    loaded = load(path)
    assert set(loaded) == set(arrays)
    for key, value in arrays.items():
        expected = value.numpy() if isinstance(value, Tensor) else value
        assert loaded[key].dtype == expected.dtype and loaded[key].shape == expected.shape, key
        np.testing.assert_array_equal(loaded[key], expected)
    assert loaded["count"].shape == ()
    assert load_metadata(path) == {"epoch": "3", "arch": "cnn"}
    loaded["w32"][0, 0] = 5  # arrays are writable
    save({"a": np.zeros(1)}, str(path))
    assert load_metadata(path) == {}


def test_non_contiguous_arrays_are_saved_in_logical_order(tmp_path):
    base = np.arange(12.0).reshape(3, 4)
    arrays = {
        "transposed": base.T,
        "strided": base[:, ::2],
        "nhwc_view": np.arange(24.0).reshape(1, 2, 3, 4).transpose(0, 3, 1, 2),
    }
    save(arrays, tmp_path / "x.safetensors")
    loaded = load(tmp_path / "x.safetensors")
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value)


def test_model_round_trip(tmp_path):
    def make():
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))

    manual_seed(0)
    a = make()
    a(Tensor(np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)))
    save(a.state_dict(), tmp_path / "m.safetensors")
    manual_seed(1)
    b = make()
    b.load_state_dict(load(tmp_path / "m.safetensors"))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and va.dtype == vb.dtype
        np.testing.assert_array_equal(va, vb)


def test_file_mode_is_not_the_temp_files(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"a": np.zeros(1)}, path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    os.chmod(path, 0o640)
    save({"a": np.ones(1)}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640  # replacing keeps the existing file's mode


# ----------------------------------------------------------------------------------------------
# atomicity
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def existing(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"old": np.arange(4.0)}, path, metadata={"v": "1"})
    return path, path.read_bytes()


def _fail(*args, **kwargs):
    raise OSError("disk on fire")


@pytest.mark.parametrize("target", ["os.replace", "os.fsync", "serializer"])
def test_failed_save_keeps_old_file_and_leaves_no_temp(existing, monkeypatch, target):
    path, old_bytes = existing
    if target == "serializer":
        monkeypatch.setattr(safetensors.numpy, "save", _fail)
    else:
        monkeypatch.setattr(state.os, target.split(".")[1], _fail)
    with pytest.raises(OSError, match="disk on fire"):
        save({"new": np.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert _leftovers(path.parent) == []
    assert list(load(path)) == ["old"]


def test_failed_write_midway_keeps_old_file(existing, monkeypatch):
    path, old_bytes = existing
    real_open = open

    class Half:
        """A temp file whose write stores half the bytes and then fails (a full disk)."""

        def __init__(self, name, mode):
            self.f = real_open(name, mode)

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError("No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(files, "open", Half, raising=False)  # the open() atomic_write uses for its temp file
    with pytest.raises(OSError, match="No space left"):
        save({"new": np.zeros(1000)}, path)
    assert path.read_bytes() == old_bytes and _leftovers(path.parent) == []


@pytest.mark.parametrize("bad, error, text", [
    ({"a": np.zeros(2), "b": np.array(["x", "y"]), "c": np.zeros(2)}, TypeError, "'b'.*dtype"),
    ({"a": np.zeros(2), "b": [1.0, 2.0]}, TypeError, "'b'.*ndarray or Tensor"),
    ({"a": np.zeros(2), 3: np.zeros(2)}, TypeError, "keys must be strings"),
    ({"a": np.zeros(2, dtype=np.complex64)}, TypeError, "'a'.*complex64"),
    ([("a", np.zeros(2))], TypeError, "dict"),
])
def test_invalid_values_are_rejected_before_touching_the_file(existing, bad, error, text):
    path, old_bytes = existing
    with pytest.raises(error, match=text):
        save(bad, path)
    assert path.read_bytes() == old_bytes and _leftovers(path.parent) == []


@pytest.mark.parametrize("metadata", [{"epoch": 3}, {1: "x"}, ["a"]])
def test_invalid_metadata(existing, metadata):
    path, old_bytes = existing
    with pytest.raises(TypeError, match="metadata"):
        save({"a": np.zeros(1)}, path, metadata=metadata)
    assert path.read_bytes() == old_bytes


def test_save_into_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({"a": np.zeros(1)}, tmp_path / "nope" / "m.safetensors")


# ----------------------------------------------------------------------------------------------
# bad files
# ----------------------------------------------------------------------------------------------


def test_missing_file_names_it(tmp_path):
    path = tmp_path / "absent.safetensors"
    with pytest.raises(FileNotFoundError, match="absent.safetensors"):
        load(path)
    with pytest.raises(FileNotFoundError, match="absent.safetensors"):
        load_metadata(path)


@pytest.mark.parametrize("corrupt", ["truncated", "garbage", "empty", "huge_header", "bad_json"])
def test_corrupt_files_give_value_error_naming_the_file(existing, corrupt):
    path, good = existing
    contents = {
        "truncated": good[:-5],
        "garbage": b"this is not a safetensors file at all",
        "empty": b"",
        "huge_header": (10 ** 12).to_bytes(8, "little") + b"{}",
        "bad_json": (5).to_bytes(8, "little") + b"{oops",
    }[corrupt]
    path.write_bytes(contents)
    with pytest.raises(ValueError, match=r"ckpt\.safetensors.*not a valid safetensors file"):
        load(path)
    if corrupt != "truncated":  # a truncated file still has an intact header
        with pytest.raises(ValueError, match=r"ckpt\.safetensors.*not a valid safetensors file"):
            load_metadata(path)


def test_pickle_is_never_used(tmp_path):
    """A pickle (what torch.save writes) is rejected, not executed."""
    import pickle

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"a": np.zeros(2)}))
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        load(path)


def test_atomic_write_gives_new_files_the_umask_mode_and_keeps_an_existing_mode(tmp_path):
    """The temporary file is created 0600; the finished file must not keep that."""
    import os

    path = tmp_path / "w.safetensors"
    save({"a": np.zeros(2)}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o640)
    files.atomic_write(path, b"x")
    assert path.stat().st_mode & 0o777 == 0o640 and path.read_bytes() == b"x"


def test_the_same_state_gives_the_same_bytes_in_any_process(tmp_path):
    """safetensors writes its metadata from a hash map (a new order in each process): save sorts
    the header, so an identical training gives an identical file, byte for byte."""
    code = ("import sys, numpy as np, tinygrad_cnn.state as S; S.save({'w': np.arange(6.0).reshape(2, 3), "
            "'b': np.ones(2, np.float32)}, sys.argv[1], {k: str(i) for i, k in enumerate('zyxwvuts')})")
    paths = [tmp_path / f"{i}.safetensors" for i in range(3)]
    for path in paths:
        subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    first = paths[0].read_bytes()
    assert all(p.read_bytes() == first for p in paths[1:])
    assert load_metadata(paths[0]) == {k: str(i) for i, k in enumerate("zyxwvuts")}
    np.testing.assert_array_equal(load(paths[0])["w"], np.arange(6.0).reshape(2, 3))
