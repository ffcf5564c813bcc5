"""BLAS threads: keep SciPy's own OpenBLAS from stalling numpy's.

numpy and SciPy wheels each bundle their own OpenBLAS, each with a thread per
core. numpy's runs the large products of backpropagation; SciPy's runs the
optimizers' vector work (L-BFGS-B's, for one), which is small. After each
call, an OpenBLAS thread keeps spinning for a while waiting for more work,
so on a 2-core machine SciPy's idle spinners take the cores from numpy's
busy threads: L-BFGS-B on the digits ran several times slower without the
limit (benchmarks/README.md has the figures). Limiting SciPy's copy to one thread
while an optimizer runs costs nothing measurable (its vectors are short) and
removes the stall. threadpoolctl finds and limits a loaded BLAS by file; a
BLAS shared by numpy and SciPy (one system library) is left alone.
"""

import contextlib
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
