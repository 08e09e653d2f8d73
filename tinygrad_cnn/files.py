"""Writing files so that nothing is ever half-written.

``atomic_write`` writes into a temporary file in the destination's directory, flushes it to disk
and only then renames it over the destination (``os.replace`` is atomic on POSIX and Windows): a
reader, a crash or a full disk sees the old file or the complete new one, and a failed write
leaves no temporary file behind. Weight files, checkpoints, downloads and plots all go through it.

The temporary file is created with mode 0666, which the kernel narrows by the process umask,
exactly as a plain ``open()`` would: the umask is never read or changed (changing it, even for
a moment, would change it for every thread of the process).
"""
import os
import secrets


def temp_path_beside(path):
    """Create an empty file with a fresh name next to ``path`` (same directory, so ``os.replace``
    is an atomic rename) and the mode a plain ``open()`` would give it; return its name."""
    directory = os.path.dirname(os.path.abspath(path))
    for _ in range(100):
        tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"atomic_write: could not find a free temporary name next to {path!r}")


def remove_if_there(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def atomic_write(path, data):
    """Replace the file at ``path`` with ``data`` (bytes, or a function that writes to a binary file)."""
    path = os.fspath(path)
    existing_mode = os.stat(path).st_mode & 0o777 if os.path.isfile(path) else None
    tmp = temp_path_beside(path)
    try:
        with open(tmp, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if existing_mode is not None:
            os.chmod(tmp, existing_mode)  # keep an existing file's mode
        os.replace(tmp, path)
    except BaseException:
        remove_if_there(tmp)
        raise
