"""Build of nnopt's C kernels; everything else is declared in setup.cfg.

The extension is optional: without a C compiler, nnopt installs anyway and
numpy computes the products the kernels would (nnopt/_accel.py).
"""

import sys

from setuptools import Extension, setup

# -O2, not Python's -O3: the kernels' tiles are unrolled by hand, and -O3
# took minutes to compile them for no speed
flags = [] if sys.platform == "win32" else ["-O2", "-pthread"]

setup(ext_modules=[Extension(
    "nnopt._kernels",
    sources=["nnopt/_kernels.c"],
    depends=["nnopt/_kernels_tile.h"],
    extra_compile_args=flags,
    extra_link_args=flags[1:],
    optional=True,
)])
