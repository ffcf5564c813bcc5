"""Timing in rounds, as every per-call benchmark here does it.

Before each timed call the benchmark sleeps SETTLE seconds: OpenBLAS's
spinning threads, which slow whatever runs next on a small machine, have
stopped by then (bench_cost.py says more).
"""

import time

import numpy as np

SETTLE = 0.3


def time_rounds(candidates, rounds, in_a_loop=False):
    """Seconds per call of each candidate, timed in turn within each round.

    Parameters
    ----------
    candidates : dict of str -> callable
        Each is called as ``f(i)`` with the round number i, so that it can
        alternate between two θ (and nothing kept from the last call
        answers); each is called twice before the timing. Round i starts
        with the i-th candidate, so that none always runs right after
        another.
    rounds : int
    in_a_loop : bool
        Whether each timed call follows an untimed one of the same candidate
        (at the other θ), as in an optimizer's loop, rather than SETTLE
        seconds of idle only.

    Returns
    -------
    dict of str -> ndarray, shape (rounds,)
    """
    for f in candidates.values():  # warm up: imports, caches, the kernels' threads
        f(0)
        f(1)
    names = list(candidates)
    times = {name: np.empty(rounds) for name in names}
    for i in range(rounds):
        # each round starts with the next candidate: none always follows the same one
        for name in names[i % len(names):] + names[:i % len(names)]:
            time.sleep(SETTLE)
            if in_a_loop:
                candidates[name](i + 1)
            t0 = time.perf_counter()
            candidates[name](i)
            times[name][i] = time.perf_counter() - t0
    return times
