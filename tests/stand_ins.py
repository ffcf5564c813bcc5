"""Stand-ins the tests of nnopt's own methods (LM, BR, SCG, Rprop) share."""

import numpy as np


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
