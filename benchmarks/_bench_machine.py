"""What the benchmarks ran on: CPU, cores, caches, NumPy, its BLAS, and the float32 GEMM speed NumPy gets.

``machine_info()`` returns the raw figures (for --json), ``machine_line(info)`` the one-line description
that heads the tables (and docs/benchmarks.md). Every probe is optional: a missing /proc or /sys entry,
lscpu or threadpoolctl leaves its field out instead of failing.
"""
import os
import platform
import re
import subprocess
import time

import numpy as np

_SYS_CACHE = "/sys/devices/system/cpu/cpu0/cache"
GEMM_N = 1536  # 7.2 GFLOP per product: ~0.1 s on one core of a recent x86 CPU


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cache_sizes():
    """{"L1d": "48 KiB", "L2": "1 MiB", "L3": "32 MiB"} as cpu0 sees them (sysfs), else lscpu's lines
    (its totals over instances, e.g. "96 KiB (2 instances)")."""
    sizes = {}
    try:
        for entry in sorted(os.listdir(_SYS_CACHE)):
            if not entry.startswith("index"):
                continue
            d = os.path.join(_SYS_CACHE, entry)
            level, kind, size = (_read(os.path.join(d, f)) for f in ("level", "type", "size"))
            if level and kind != "Instruction" and size:
                sizes[f"L{level}d" if level == "1" else f"L{level}"] = _pretty_size(size)
    except OSError:
        pass
    return sizes or _lscpu_caches()


def _pretty_size(size):
    """sysfs "32768K" as "32 MiB" (other spellings unchanged)."""
    m = re.fullmatch(r"(\d+)K", size)
    if not m:
        return size
    kib = int(m.group(1))
    return f"{kib // 1024} MiB" if kib % 1024 == 0 else f"{kib} KiB"


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _lscpu_caches():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return {}
    sizes = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\s*(L1d|L2|L3) cache:\s*(.+)", line)
        if m:
            sizes[m.group(1)] = m.group(2).strip()
    return sizes


def blas_info():
    """The BLAS NumPy calls (threadpoolctl), or None when threadpoolctl is not installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            return {k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "prefix")}
    return None


def gemm_gflops(threads, n=GEMM_N, budget_s=0.35):
    """Best float32 n x n x n GEMM rate of NumPy with its BLAS limited to ``threads`` (None: BLAS default),
    over repeated products within ``budget_s`` (at least 3)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threads is not None and threadpool_limits is None:
        return None
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = a.T.copy()
    limit = threadpool_limits(threads, user_api="blas") if threads is not None else _Nothing()
    with limit:
        a @ b
        best, start, reps = float("inf"), time.perf_counter(), 0
        while reps < 3 or time.perf_counter() - start < budget_s:
            t = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t)
            reps += 1
    return 2 * n ** 3 / best / 1e9


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def machine_info():
    """The raw machine figures; measures the GEMM rate (about 1 s)."""
    info = {"cpu": cpu_model(), "arch": platform.machine(), "logical_cores": os.cpu_count(),
            "caches": cache_sizes(), "python": platform.python_version(), "numpy": np.__version__,
            "blas": blas_info(), "blas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")}}
    info["gemm_n"] = GEMM_N
    info["gemm_gflops_2_threads"] = gemm_gflops(2)
    info["gemm_gflops_1_thread"] = gemm_gflops(1)
    if info["gemm_gflops_2_threads"] is None:  # no threadpoolctl: the BLAS's own thread count
        info["gemm_gflops_default_threads"] = gemm_gflops(None)
    return info


def machine_line(info):
    """One line: CPU, cores, caches, NumPy, BLAS kernel, measured GEMM GFLOP/s on 2 and 1 threads."""
    caches = ", ".join(f"{k} {v}" for k, v in info["caches"].items())
    parts = [f"{info['cpu']} ({info['arch']})", f"{info['logical_cores']} logical cores"]
    if caches:
        parts.append(f"caches {caches}")
    parts.append(f"Python {info['python']}, NumPy {info['numpy']}")
    blas = info["blas"]
    if blas:
        parts.append(f"BLAS {blas['internal_api']} {blas['version']} kernel {blas['architecture']} "
                     f"({blas['num_threads']} threads by default)")
    if info.get("blas_env"):  # e.g. OPENBLAS_CORETYPE=Haswell: AVX2 kernels on a CPU that has AVX-512
        parts.append("set in the environment: " + " ".join(f"{k}={v}" for k, v in sorted(info["blas_env"].items())))
    else:
        parts.append("BLAS unknown (install threadpoolctl)")
    if info.get("gemm_gflops_2_threads") is not None:
        gemm = (f"{info['gemm_gflops_2_threads']:.0f} GFLOP/s on 2 threads, "
                f"{info['gemm_gflops_1_thread']:.0f} on 1 thread")
    else:
        gemm = f"{info['gemm_gflops_default_threads']:.0f} GFLOP/s on the BLAS's default threads"
    parts.append(f"NumPy float32 GEMM peak ({info['gemm_n']}^3, this run): {gemm}")
    return "; ".join(parts)


def median_ms(fn, repeats, warmup=1):
    """The median of ``repeats`` timed calls of ``fn``, in ms, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))
