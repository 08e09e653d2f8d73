"""Grad mode and anomaly mode, per thread as in PyTorch: ``no_grad``, ``enable_grad``,
``set_grad_enabled``, ``inference_mode``, ``detect_anomaly``.

A no_grad block in one thread leaves the others recording (the library's own worker threads
never record: they only run NumPy inside an op).
"""
import contextlib
import threading

import numpy as np

_mode = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_mode, "grad", True)


def _anomaly_enabled():
    return getattr(_mode, "anomaly", False)


anomaly_checks_on = _anomaly_enabled  # (the public name ops use to skip building the check's arguments)


class set_grad_enabled(contextlib.ContextDecorator):
    """``set_grad_enabled(False)`` switches graph recording off: called as a function it does so
    at once (for this thread); as a context manager or decorator, until the block ends."""

    def __init__(self, mode):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {mode!r}")
        self._previous = []
        self._before_call = is_grad_enabled()
        self.mode = bool(mode)
        _mode.grad = self.mode

    def __enter__(self):
        self._previous.append(self._before_call)
        _mode.grad = self.mode
        return self

    def __exit__(self, *exc):
        _mode.grad = self._previous.pop()
        self._before_call = is_grad_enabled()
        return False


class _GradMode(contextlib.ContextDecorator):
    """Context manager and decorator that switches graph recording on or off, then restores it."""

    def __init__(self, enabled):
        self.enabled = enabled
        self._previous = []

    def __enter__(self):
        self._previous.append(is_grad_enabled())
        _mode.grad = self.enabled
        return self

    def __exit__(self, *exc):
        _mode.grad = self._previous.pop()
        return False


def no_grad():
    """``with no_grad():`` or ``@no_grad()``: ops record no graph and save nothing for backward."""
    return _GradMode(False)


def enable_grad():
    """Undo an enclosing ``no_grad`` for a block or function."""
    return _GradMode(True)


def inference_mode(mode=True):
    """As ``no_grad()`` (PyTorch's faster variant; here they are the same thing)."""
    if not isinstance(mode, (bool, np.bool_)):
        raise TypeError(f"inference_mode: mode must be True or False, got {mode!r}")
    return _GradMode(not mode)


@contextlib.contextmanager
def detect_anomaly():
    """Within this block, the first op whose forward or backward gives NaN or inf raises an error
    naming the op (like ``torch.autograd.detect_anomaly``). It costs one ``isfinite`` pass per op."""
    previous = _anomaly_enabled()
    _mode.anomaly = True
    try:
        yield
    finally:
        _mode.anomaly = previous


class AnomalyError(FloatingPointError, RuntimeError):
    """Raised inside ``detect_anomaly()``; a FloatingPointError, and a RuntimeError as in PyTorch."""


def check_anomaly(op_name, phase, array):
    if _anomaly_enabled() and array is not None and array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = "nan" if np.isnan(array).any() else "inf"
        raise AnomalyError(
            f"detect_anomaly: {op_name}.{phase} produced {bad} values "
            f"(output shape {array.shape}); this is the first op in the run that did"
        )
