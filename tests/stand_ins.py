"""Stand-ins and runs the tests of nnopt's own methods (LM, BR, SCG, Rprop) share."""

import time

import numpy as np
from threadpoolctl import threadpool_limits

import nnopt


class Stop(Exception):
    """The stand-in recorder's iteration limit."""


class Recorder:
    """Keeps each entry; raises Stop after `limit` of them, as train's recorder may."""

    def __init__(self, limit=10**9):
        self.limit, self.entries = limit, []

    def record(self, theta, J, **quantities):
        self.entries.append({"theta": np.array(theta), "J": J, **quantities})
        if len(self.entries) >= self.limit:
            raise Stop


def default_run_on_the_digits(method):
    """`method` with its defaults on the digits' 80/20 split (seed 0): (model, held-out score, seconds)."""
    X, y = nnopt.load_digits()
    X_train, X_test, y_train, y_test = nnopt.train_test_split(X, y, test_size=0.2, seed=0)
    # One BLAS thread: on two cores shared with other work, numpy's second OpenBLAS thread
    # waits for a core at every product and makes each evaluation several times slower.
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        model = nnopt.train(X_train, y_train, 1.0, method=method, progress=False)
    return model, model.score(X_test, y_test), time.perf_counter() - start
