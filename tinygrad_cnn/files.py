"""Writing files so that nothing is ever half-written.

``atomic_write`` writes into a temporary file in the destination's directory, flushes it to disk
and only then renames it over the destination (``os.replace`` is atomic on POSIX and Windows): a
reader, a crash or a full disk sees the old file or the complete new one, and a failed write
leaves no temporary file behind. Weight files, checkpoints, downloads and plots all go through it.
"""
import os
import tempfile


def _new_file_mode():
    """Permissions a plain ``open()`` would give a new file (0666 minus the umask); temp files get 0600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path, data):
    """Replace the file at ``path`` with ``data`` (bytes, or a function that writes to a binary file)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o777 if os.path.isfile(path) else _new_file_mode()
    tmp = tempfile.NamedTemporaryFile(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                                      delete=False)
    try:
        if callable(data):
            data(tmp)
        else:
            tmp.write(data)
        tmp.flush()
        os.fsync(tmp.fileno())
        tmp.close()
        os.chmod(tmp.name, mode)  # keep an existing file's mode; a new one gets the umask's
        os.replace(tmp.name, path)
    except BaseException:
        tmp.close()
        try:
            os.unlink(tmp.name)
        except OSError:
            pass
        raise
