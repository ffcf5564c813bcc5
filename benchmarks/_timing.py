"""Timing in rounds, as every per-call benchmark here does it.

Before each timed call the benchmark sleeps SETTLE seconds: after a
product on several threads, OpenBLAS keeps its other threads spinning for a
tenth of a second or more (an OpenMP runtime, as PyTorch's, does much the
same), and on a 2-core machine a spinning thread halves the speed of
whatever runs next on more than one core. Each call thus starts on an idle
machine; with ``in_a_loop`` it then follows an untimed call of its own, as
in an optimizer's loop, with its threads awake and its caches warm.
"""

import time

import numpy as np

SETTLE = 0.3


def time_rounds(candidates, rounds, in_a_loop=False, warm_up=2):
    """Seconds per call of each candidate, timed in turn within each round.

    Parameters
    ----------
    candidates : dict of str -> callable
        Each is called as ``f(i)`` with the round number i, so that it can
        alternate between two θ (and nothing kept from the last call
        answers). Round i starts with the i-th candidate, so that none
        always runs right after another. A candidate that runs in another process times itself:
        after each call its ``seconds`` attribute holds the time the call
        took there, which is recorded instead of the time here (that would
        add the round trip through the pipe).
    rounds : int
    in_a_loop : bool
        Whether each timed call follows an untimed one of the same candidate
        (at the other θ), as in an optimizer's loop, rather than SETTLE
        seconds of idle only.
    warm_up : int
        Untimed calls of each candidate, with i = 0, 1, ..., before the first round.

    Returns
    -------
    dict of str -> ndarray, shape (rounds,)
    """
    for f in candidates.values():  # warm up: imports, caches, BLAS threads
        for i in range(warm_up):
            f(i)
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
            elapsed = time.perf_counter() - t0
            times[name][i] = getattr(candidates[name], "seconds", elapsed)
    return times
