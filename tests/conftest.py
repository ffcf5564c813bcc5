"""Shared fixtures, and the Hypothesis profile every run uses.

The profile "nnopt" is loaded by default: deterministic (the same examples
on every run and machine, so a failure is reproduced by running the test
again), no example database, no deadline (a shared machine's timing is not
a property), and few enough examples that all the Hypothesis tests take
well under a minute. ``--hypothesis-profile=thorough`` searches longer,
with fresh random examples each run.
"""

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
