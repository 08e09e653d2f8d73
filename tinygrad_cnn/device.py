"""Devices: there is one, the CPU. ``device('cpu')`` and ``.to('cpu')`` are accepted so that
PyTorch code runs unchanged; any other device is refused with a clear error rather than ignored."""
import types


class device:
    """``device('cpu')``, ``device('cpu', 0)`` or ``device('cpu:0')``, like ``torch.device``."""

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {type!r}")
        name, _, number = type.partition(":")
        if number:
            if not number.isdigit():
                raise RuntimeError(f"device: invalid device string {type!r}")
            index = int(number)
        check_device(name, "device")
        self.type, self.index = name, index

    def __eq__(self, other):
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


def check_device(value, op):
    """None or the CPU (as a string or a `device`); RuntimeError for anything else."""
    if value is None or isinstance(value, device):
        return
    if not isinstance(value, str):
        raise TypeError(f"{op}: expected a device such as 'cpu', got {value!r}")
    if value.partition(":")[0] != "cpu":
        raise RuntimeError(f"{op}: device {value!r} is not available: tinygrad_cnn runs on the CPU only (use 'cpu')")


cpu = device("cpu")


def _false(*args, **kwargs):
    return False


def _zero(*args, **kwargs):
    return 0


def _nothing(*args, **kwargs):
    return None


# torch.cuda, torch.accelerator and torch.backends.mps as far as CPU-only code asks them
cuda = types.SimpleNamespace(is_available=_false, device_count=_zero, manual_seed=_nothing,
                             manual_seed_all=_nothing, synchronize=_nothing)
accelerator = types.SimpleNamespace(is_available=_false, device_count=_zero, current_accelerator=_nothing)
backends = types.SimpleNamespace(mps=types.SimpleNamespace(is_available=_false, is_built=_false),
                                 cuda=types.SimpleNamespace(is_built=_false))
