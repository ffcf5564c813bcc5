"""BLAS threads: keep SciPy's own OpenBLAS from stalling numpy's.

numpy and SciPy wheels each bundle their own OpenBLAS, each with a thread per
core. numpy's runs the large products of backpropagation; SciPy's runs the
optimizers' vector work (L-BFGS-B's, for one), which is small. After each
call, an OpenBLAS thread keeps spinning for a while waiting for more work,
so on a 2-core machine SciPy's idle spinners take the cores from numpy's
busy threads: L-BFGS-B on the digits ran 3× slower (7.0 s against 2.2 s for
200 iterations, benchmarks/README.md). Limiting SciPy's copy to one thread
while an optimizer runs costs nothing measurable (its vectors are short) and
removes the stall. threadpoolctl finds and limits a loaded BLAS by file; a
BLAS shared by numpy and SciPy (one system library) is left alone.
"""

import contextlib
import functools
import os

import numpy as np
import scipy


def scipy_blas_limited():
    """A context in which SciPy's bundled BLAS, when it is not numpy's, uses one thread."""
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    numpy_dir = os.path.dirname(np.__file__)
    scipy_dir = os.path.dirname(scipy.__file__)  # also the prefix of the wheel's scipy.libs
    own = [lib["filepath"] for lib in controller.info()
           if lib["user_api"] == "blas" and lib["filepath"].startswith(scipy_dir)
           and not lib["filepath"].startswith(numpy_dir)]
    if not own:
        return contextlib.nullcontext()
    return controller.select(filepath=own).limit(limits=1)


@functools.lru_cache(maxsize=None)
def _blas_controllers():
    """threadpoolctl's handle on every loaded BLAS (found once: that takes ~2 ms)."""
    from threadpoolctl import ThreadpoolController

    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


@contextlib.contextmanager
def blas_single_threaded():
    """A context in which every loaded BLAS runs on the calling thread only.

    nnopt's C kernels (nnopt/_accel.py) split their products over all cores.
    An OpenBLAS that just ran a product on two threads leaves its second
    thread spinning for a while, and on 2 cores that thread takes the core
    a kernel thread needs: the forward kernel took 6.8 ms after a 10×25
    product instead of 3.7 ms. The products left to BLAS in an evaluation
    are small, so one thread costs them little. Setting the count directly
    costs ~5 µs per call (threadpoolctl's `limit` ~20 µs).
    """
    libs = _blas_controllers()
    before = [lib.get_num_threads() for lib in libs]
    for lib, n in zip(libs, before):
        if n != 1:
            lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in zip(libs, before):
            if n != 1:
                lib.set_num_threads(n)
