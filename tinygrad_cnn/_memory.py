"""A guard against allocations that cannot succeed.

``Tensor.ones(10**5, 10**5)``, ``conv2d(..., padding=10**9)`` or ``Conv2d(1, 1, kernel_size=10**6)``
would ask NumPy for gigabytes or exabytes: the luckier cases fail deep inside NumPy, the unlucky
ones are granted by the kernel's overcommit and then get the whole process OOM-killed when the
memory is touched. `check_memory` turns them into a ValueError naming the op, before anything
is allocated. It costs one multiplication for ordinary sizes: only requests above 1 GiB look at
the memory actually available (``MemAvailable`` in ``/proc/meminfo`` where there is one).
"""
import ctypes
import os
import platform

from .errors import ArgumentError

_CHEAP_LIMIT = 1 << 30  # below this, never look further


def _total_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX
        return None


_TOTAL = _total_memory()


def available_bytes():
    """Bytes that can be allocated now without swapping (best effort; None if unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return _TOTAL


def check_memory(op, nbytes, what, hint=""):
    """ValueError naming ``op`` if ``nbytes`` (for ``what``) exceed the memory available."""
    if nbytes <= _CHEAP_LIMIT:
        return
    available = available_bytes()
    if nbytes > 2 ** 63 - 1 or (available is not None and nbytes > available):
        have = "" if available is None else f", but only {available / 2**30:.3g} GiB are available"
        raise ArgumentError(f"{op}: {what} would need {nbytes / 2**30:.3g} GiB{have}{hint}")


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_MAX = 32 << 20  # the largest value glibc accepts on 64-bit systems


def keep_freed_memory():
    """Ask glibc's malloc to keep freed blocks of up to 32 MB for reuse instead of handing them
    back to the kernel. Each training step allocates and frees the same activation-sized arrays;
    by default glibc returns them (munmap, or trimming the heap top) and every step then pays
    for page faults on fresh memory again: about 10,000 faults and 20 of 57 ms of the mid
    model's step in docs/benchmarks.md. The price is that the process keeps its peak memory.

    This changes the whole process, so the library never calls it by itself: the MNIST command
    line and the benchmarks do (and say so). glibc only (elsewhere it does nothing); skipped when
    the environment sets TINYGRAD_CNN_DEFAULT_MALLOC=1. Returns whether it applied.
    """
    if os.environ.get("TINYGRAD_CNN_DEFAULT_MALLOC") == "1" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
        )
    except (OSError, AttributeError):
        return False
