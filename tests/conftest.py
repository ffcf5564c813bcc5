"""Shared fixtures: a small seeded network with data."""

import numpy as np
import pytest

from nnopt.parameters import random_init


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
