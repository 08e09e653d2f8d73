"""Weights on disk in the safetensors format: ``save(model.state_dict(), path)`` / ``load(path)``.

Why safetensors: the file is a JSON header plus raw little-endian arrays, so loading one can never
run code (unlike pickle), and PyTorch reads and writes the same files (``safetensors.torch``),
which makes checkpoints portable both ways.

Why atomic saves: the bytes go to a temporary file next to the target, are flushed and fsynced,
and only then renamed over it (``os.replace`` is atomic on POSIX and Windows). A crash or an
error half-way leaves the previous checkpoint intact and no stray temporary file.

API: ``save(state_dict, path, metadata=None)``, ``load(path) -> dict[str, ndarray]`` and
``load_metadata(path) -> dict[str, str]`` (the metadata is read separately, from the header
only, so ``load`` always returns just the arrays).
"""
import json
import os
import struct
from collections.abc import Mapping

import numpy as np
import safetensors.numpy

from ._tensor import Tensor
from .files import atomic_write

__all__ = ["save", "load", "load_metadata"]

# the element types safetensors can store (kinds: bool, signed, unsigned, float)
_STORABLE_KINDS = "biuf"


def _prepare_arrays(state_dict):
    """Validate keys and values; return C-contiguous, little-endian ndarrays ready to serialise."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save: state_dict must be a dict of name -> array, got {type(state_dict).__name__}")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"save: keys must be strings, got {key!r} ({type(key).__name__})")
        if isinstance(value, Tensor):
            value = value._data
        elif isinstance(value, np.generic):
            value = np.asarray(value)
        if not isinstance(value, np.ndarray):
            raise TypeError(f"save: value of {key!r} must be an ndarray or Tensor, got {type(value).__name__}")
        if value.dtype.kind not in _STORABLE_KINDS or value.dtype.itemsize > 8:
            raise TypeError(f"save: value of {key!r} has dtype {value.dtype}; only numeric arrays can be saved")
        if value.dtype.byteorder == ">":
            value = value.astype(value.dtype.newbyteorder("<"))
        # safetensors.numpy serialises the memory buffer as is: a strided view (a transpose, a slice
        # with a step) would be written in the wrong order without this copy.
        if not value.flags.c_contiguous:
            value = np.array(value, order="C", copy=True)
        arrays[key] = value
    return arrays


def _check_metadata(metadata):
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise TypeError(f"save: metadata must be a dict of str -> str, got {type(metadata).__name__}")
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(
                f"save: metadata must map str to str, got {k!r}: {v!r} ({type(k).__name__} -> {type(v).__name__}); "
                f"convert values with str() or json.dumps()"
            )
    # None, not {}: safetensors (0.8) writes an unreadable header for no arrays and empty metadata
    return dict(metadata) or None


def save(state_dict, path, metadata=None):
    """Write ``state_dict`` (name -> ndarray or Tensor) to ``path`` in safetensors format, atomically.

    ``metadata`` is an optional dict of str -> str stored in the header (read it back with
    :func:`load_metadata`). On any error the file previously at ``path`` is left untouched.
    """
    path = _path(path, "save")
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: {path!r} is a directory; give a file name")
    metadata = _check_metadata(metadata)
    arrays = _prepare_arrays(state_dict)
    data = _sorted_header(safetensors.numpy.save(arrays, metadata=metadata))  # serialise before touching the disk

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory!r} does not exist (saving {path!r})")
    atomic_write(path, data)
    _fsync_directory(directory)


def _sorted_header(data):
    """The same file with its JSON header's keys sorted: safetensors writes the metadata from a
    hash map, in an order that changes from process to process, so without this two identical
    trainings would not give identical files. The tensors' offsets count from the end of the
    header, so rewriting it (padded with spaces to a multiple of 8 bytes, as safetensors does)
    leaves the data as it is."""
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data[8 + size:]


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); harmless to skip where directories can't be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _path(path, op):
    """``path`` as a str; TypeError naming ``op`` for anything that is not a path."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{op}: path must be a str or os.PathLike, got {type(path).__name__}") from None
    return os.fsdecode(path) if isinstance(path, bytes) else path


def _existing_file(path, op):
    """``path`` as a str, with clear errors for a missing file or a directory."""
    path = _path(path, op)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{op}: no such file: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{op}: {path!r} is a directory, not a safetensors file")
    return path


def _read(path):
    path = _existing_file(path, "load")
    with open(path, "rb") as f:
        return path, f.read()


def _invalid(path, detail):
    return ValueError(f"load: {path!r} is not a valid safetensors file ({detail})")


def load(path):
    """Read a safetensors file into a dict of name -> ndarray (writable arrays, their own copies).

    Raises FileNotFoundError for a missing file and ValueError naming the file when it is
    truncated or not a safetensors file. Never executes code from the file.
    """
    path, data = _read(path)
    try:
        arrays = safetensors.numpy.load(data)
    except Exception as err:  # SafetensorError and friends: a bad header or truncated data
        raise _invalid(path, err) from None
    return {k: (v if v.flags.writeable else v.copy()) for k, v in arrays.items()}


def load_metadata(path):
    """The str -> str metadata stored in a safetensors file's header ({} when there is none)."""
    path = _existing_file(path, "load_metadata")
    with open(path, "rb") as f:
        size_bytes = f.read(8)
        if len(size_bytes) != 8:
            raise _invalid(path, "file is shorter than the 8-byte header length")
        (size,) = struct.unpack("<Q", size_bytes)
        if size > os.path.getsize(path) - 8:
            raise _invalid(path, f"header length {size} exceeds the file size")
        header_bytes = f.read(size)
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _invalid(path, f"header is not JSON: {err}") from None
    if not isinstance(header, dict):
        raise _invalid(path, "header is not a JSON object")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _invalid(path, "__metadata__ is not a map of strings")
    return dict(metadata)
