"""Arrays that one evaluation reuses from block to block.

An evaluation goes over X in blocks of rows (`nnopt._problem.Problem.blocks`),
and each block's activations and errors are dead once its share of J and of
the gradient is taken. Making them anew for every block costs more than their
arithmetic where they are large: the allocator hands each back to the system
and takes fresh pages for the next block, and every first touch of a page is
a fault. So one `Scratch` serves every block of a sum (`Problem.sums`), and
an `nnopt.Objective` keeps one for all its evaluations, as it keeps the rest
of what it reuses. An array taken from it is always written before it is
read, so nothing of one input can reach another's answer; and a sum that
finds the Scratch in use (an Objective called from two threads at once)
takes a new one of its own (`using`).
"""

import contextlib
import threading

import numpy as np

__all__ = ["Scratch", "take", "using"]


class Scratch:
    """Named 2-d arrays, each as tall as the tallest block that asked for it."""

    def __init__(self):
        self._arrays = {}
        self._busy = threading.Lock()

    def take(self, name, rows, cols, dtype):
        """A C-contiguous (rows, cols) array of `dtype`, its values left as the last use left them.

        The same `name` gives the same memory on the next call (the first
        `rows` rows of it): take each name for one use at a time.
        """
        buf = self._arrays.get(name)
        if buf is None or buf.shape[0] < rows or buf.shape[1] != cols or buf.dtype != dtype:
            # zeros, not whatever the allocator's memory held: BLAS writes a
            # product over it, and one CI run once saw an "invalid value"
            # warning from a product written over a new, uninitialized buffer
            buf = self._arrays[name] = np.zeros((rows, cols), dtype)
        return buf[:rows]

    def __getstate__(self):
        # a pickled or copied holder (an Objective) gets an empty Scratch of its
        # own: the arrays hold nothing worth keeping, and a lock cannot be pickled
        return {}

    def __setstate__(self, state):
        self.__init__()


def take(scratch, name, rows, cols, dtype):
    """`Scratch.take`, or a new array where there is no scratch (None)."""
    if scratch is None:
        return np.empty((rows, cols), dtype)
    return scratch.take(name, rows, cols, dtype)


@contextlib.contextmanager
def using(scratch):
    """`scratch` for the time of one sum, or a new Scratch if it is None or in use by another."""
    if scratch is not None and scratch._busy.acquire(blocking=False):
        try:
            yield scratch
        finally:
            scratch._busy.release()
    else:
        yield Scratch()
