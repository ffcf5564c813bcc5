"""The header every benchmark prints: date, machine, libraries, BLAS threads and load."""

import datetime
import os
import platform

import numpy as np
import scipy
from threadpoolctl import threadpool_info

import nnopt

# The vector extensions a BLAS kernel may use, as /proc/cpuinfo names them
# (x86 "flags", Arm "Features"), with the name people know them by.
VECTOR_EXTENSIONS = {
    "sse4_2": "SSE4.2", "avx": "AVX", "avx2": "AVX2", "fma": "FMA", "avx512f": "AVX-512F",
    "avx512bw": "AVX-512BW", "avx512vl": "AVX-512VL", "avx512_vnni": "AVX-512 VNNI",
    "avx512_bf16": "AVX-512 BF16", "avx512_fp16": "AVX-512 FP16", "amx_tile": "AMX",
    "asimd": "NEON", "asimddp": "NEON dot product", "sve": "SVE", "sve2": "SVE2",
    "bf16": "BF16", "i8mm": "I8MM",
}
# Environment variables that change how numpy's BLAS runs. OPENBLAS_CORETYPE
# forces one kernel family instead of the one OpenBLAS would pick for this
# CPU, and OPENBLAS_L2_SIZE changes its blocking: benchmarks run with both unset.
BLAS_SETTINGS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT",
                 "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
FORCED = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def header(script):
    """Print what a reader needs to compare a run with another."""
    sklearn_version = _sklearn_version()  # first: its import loads scipy's and its OpenMP libraries
    print(f"{script}, {datetime.date.today().isoformat()}")
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.machine()}, {platform.platform()}")
    print(f"vector extensions: {', '.join(vector_extensions()) or 'unknown'}")
    print(f"numpy's own loops (ufuncs) run with: {numpy_simd()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"nnopt {nnopt.__version__}, scikit-learn {sklearn_version or 'not installed'}")
    for line in blas_libraries():
        print(line)
    settings = {k: os.environ[k] for k in BLAS_SETTINGS if k in os.environ}
    print(f"BLAS settings: {settings or 'none (OpenBLAS runs one thread per core)'}; load average {load()}")
    forced = [k for k in FORCED if k in os.environ]
    if forced:
        print(f"WARNING: {', '.join(f'{k}={os.environ[k]}' for k in forced)} is set: OpenBLAS runs other "
              f"kernels or blocking than it would choose here; for figures to compare, run with "
              f"`env {' '.join(f'-u {k}' for k in FORCED)} python ...`")
    else:
        print(f"{' and '.join(FORCED)}: not set (OpenBLAS chose its kernels for this CPU)")


def numpy_simd():
    """The SIMD levels numpy's ufuncs dispatch to here, and whether some were switched off.

    ``NPY_DISABLE_CPU_FEATURES`` switches numpy's wider loops off (for one,
    "X86_V4 AVX512_ICL AVX512_SPR" leaves AVX2's on an AVX-512 machine):
    with OPENBLAS_CORETYPE=Haswell, a way to run AVX2's code on it.
    """
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # numpy < 2
        return "unknown (numpy < 2)"
    used = [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]
    off = os.environ.get("NPY_DISABLE_CPU_FEATURES")
    return f"{', '.join(used) or 'baseline only'}" + (f" (NPY_DISABLE_CPU_FEATURES={off})" if off else "")


def cpu_model():
    """The processor's name, from /proc/cpuinfo (Linux) or the platform module."""
    for key in ("model name", "Model", "Hardware", "cpu model"):
        value = _cpuinfo(key)
        if value:
            return value
    return platform.processor() or "unknown CPU"


def vector_extensions():
    """The CPU's vector extensions of `VECTOR_EXTENSIONS` (Linux only; else empty)."""
    flags = set((_cpuinfo("flags") or _cpuinfo("Features") or "").split())
    return [name for flag, name in VECTOR_EXTENSIONS.items() if flag in flags]


def _cpuinfo(key):
    """The first value of `key` in /proc/cpuinfo, or None."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return None


def blas_libraries():
    """One line per BLAS and OpenMP library loaded in this process (threadpoolctl's information).

    A BLAS library's ``architecture`` is the kernel family OpenBLAS chose at run time.
    """
    lines = []
    for lib in threadpool_info():
        where = os.path.basename(os.path.dirname(lib["filepath"]))
        version = f" {lib['version']}" if lib.get("version") else ""
        detail = ", ".join(f"{key} {lib[key]}" for key in ("architecture", "threading_layer") if lib.get(key))
        lines.append(f"{lib['user_api']} library: {lib['internal_api']}{version} "
                     f"({os.path.basename(lib['filepath'])} in {where}), {lib['num_threads']} threads"
                     f"{', ' + detail if detail else ''}")
    return lines


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

