"""The library's single source of randomness.

Every random draw in tinygrad_cnn (parameter init, dropout masks, data shuffling, ``Tensor.randn``)
goes through :func:`get_rng`, so ``manual_seed(n)`` makes a whole run reproducible and
``get_rng_state`` / ``set_rng_state`` let a checkpoint resume the exact same stream.
"""
import numpy as np

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the library-wide generator (like ``torch.manual_seed``) and return it."""
    global _rng
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _rng = np.random.default_rng(int(seed))
    return _rng


def get_rng() -> np.random.Generator:
    """The generator every random draw of the library uses."""
    return _rng


def get_rng_state() -> dict:
    """A JSON-serialisable snapshot of the generator (for checkpoints)."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a snapshot taken with :func:`get_rng_state`."""
    _rng.bit_generator.state = state
