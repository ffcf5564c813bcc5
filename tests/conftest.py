"""Shared fixtures, and the Hypothesis profile every run uses.

The profile "nnopt" is loaded by default: deterministic (the same examples
on every run and machine, so a failure is reproduced by running the test
again), no example database, no deadline (a shared machine's timing is not
a property), and few enough examples that all the Hypothesis tests take
well under a minute. ``--hypothesis-profile=thorough`` searches longer,
with fresh random examples each run.
"""

import os
import shutil
import sys

import numpy as np
import pytest
from hypothesis import settings

from nnopt.parameters import random_init

settings.register_profile("nnopt", derandomize=True, max_examples=200, deadline=None, database=None,
                          print_blob=True)
settings.register_profile("thorough", max_examples=2000, deadline=None, database=None, print_blob=True)
settings.load_profile("nnopt")


@pytest.fixture
def small_problem():
    """A seeded 4-6-3 network with m = 7 examples: (theta, X, y, layer_sizes).

    Fresh arrays for every test, so a test may modify them in place.
    """
    sizes = (4, 6, 3)
    rng = np.random.default_rng(20240501)
    theta = random_init(sizes, epsilon=1.0, seed=rng)
    X = rng.standard_normal((7, sizes[0]))
    y = rng.integers(0, sizes[-1], size=7)
    return theta, X, y, sizes


@pytest.fixture
def run_notebook(tmp_path):
    """A function that runs a copy of a notebook top to bottom and returns it, run.

    The copy runs in a scratch folder, so the repository's file stays as
    saved. It fails the test at the first cell that raises (a notebook's
    own asserts included), when the kernel runs another Python than the
    tests, and when a cell writes to stderr.
    """
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    def run(notebook):
        copy = tmp_path / notebook.name
        shutil.copyfile(notebook, copy)
        nb = nbformat.read(copy, as_version=4)
        n_cells = len(nb.cells)
        # One cell more, to learn which Python the kernel runs.
        nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)"))
        client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                         resources={"metadata": {"path": str(tmp_path)}})
        # One BLAS thread: on a small shared machine, OpenBLAS threads competing for
        # the cores with other processes make training many times slower.
        # execute() raises CellExecutionError at the first cell that fails
        client.execute(env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        assert nb.cells[-1].outputs[0]["text"].strip() == sys.prefix, (
            "the python3 kernel ran another Python than the tests; install ipykernel in this environment")
        nb.cells = nb.cells[:n_cells]
        for i, cell in enumerate(nb.cells):
            for output in cell.get("outputs", []):
                assert output.get("name") != "stderr", f"cell {i} wrote to stderr:\n{output['text']}"
        return nb

    return run
