"""The header every benchmark prints: date, machine, libraries, BLAS threads and load."""

import ctypes
import datetime
import os
import platform

import numpy as np
import scipy

import nnopt


def header(script):
    """Print what a reader needs to compare a run with another."""
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    print(f"{script}, {datetime.date.today().isoformat()}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"nnopt {nnopt.__version__}, scikit-learn {_sklearn_version() or 'not installed'}")
    print(f"numpy's BLAS: {blas.get('name')} {blas.get('version')}, built as "
          f"'{blas.get('openblas configuration', '?')}', running its {_openblas_core()} kernels")
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT")
    settings = {k: os.environ[k] for k in names if k in os.environ}
    print(f"BLAS settings: {settings or 'none (OpenBLAS runs one thread per core)'}; load average {load()}")


def load():
    """The 1, 5 and 15-minute load averages (Linux), or 'unknown'."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def _cpu_times():
    """(stolen, total) CPU time in ticks since boot, from /proc/stat's first line (Linux)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(t) for t in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice: inside user]
    return ticks[7], sum(ticks[:8])


_START = _cpu_times()


def stolen():
    """Share of CPU time the host took from this VM since the script started ('steal').

    A virtual machine's cores are shared with other guests; when the host
    runs them elsewhere, every timing here stretches. Runs with a few
    percent of steal are comparable; with tens of percent they are not.
    """
    now = _cpu_times()
    if _START is None or now is None or now[1] == _START[1]:
        return "unknown"
    return f"{100 * (now[0] - _START[0]) / (now[1] - _START[1]):.1f}% of CPU time"


def _sklearn_version():
    try:
        import sklearn
    except ImportError:
        return None
    return sklearn.__version__


def _openblas_core():
    """The kernel family numpy's OpenBLAS chose at run time (Linux only; else 'unknown')."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line and "numpy" in line}
        lib = ctypes.CDLL(paths.pop())
    except (OSError, KeyError):
        return "unknown"
    for name in ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"):
        if hasattr(lib, name):
            getattr(lib, name).restype = ctypes.c_char_p
            return getattr(lib, name)().decode()
    return "unknown"
