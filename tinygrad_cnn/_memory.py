"""A guard against allocations that cannot succeed.

``Tensor.ones(10**5, 10**5)``, ``conv2d(..., padding=10**9)`` or ``Conv2d(1, 1, kernel_size=10**6)``
would ask NumPy for gigabytes or exabytes: the luckier cases fail deep inside NumPy, the unlucky
ones are granted by the kernel's overcommit and then get the whole process OOM-killed when the
memory is touched. `check_memory` turns them into a ValueError naming the op, before anything
is allocated. It costs one multiplication for ordinary sizes: only requests above 1 GiB look at
the memory actually available (``MemAvailable`` in ``/proc/meminfo`` where there is one).
"""
import os

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
        raise ValueError(f"{op}: {what} would need {nbytes / 2**30:.3g} GiB{have}{hint}")
