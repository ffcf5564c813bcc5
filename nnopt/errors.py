"""The warnings and errors of training: nnopt.ConvergenceWarning, DivergenceError and ScalingWarning."""

import numpy as np

__all__ = ["ConvergenceWarning", "DivergenceError", "ScalingWarning"]


class ConvergenceWarning(UserWarning):
    """Training stopped before convergence for a reason other than its limit."""


class ScalingWarning(UserWarning):
    """X's values lie far outside the range the units can learn from: scale X first."""


class DivergenceError(ValueError):
    """The cost or the parameters became NaN or inf: the step size is too large.

    Attributes
    ----------
    learning_rate : float
        The step size α of the run.
    iteration : int
        The iteration (gd) or epoch (sgd), counted from 1, in which it happened.
    theta : ndarray of float64, shape (n_params,)
        The parameters of the last completed iteration or epoch (the initial
        parameters if none completed): finite, usable with `nnopt.reshape`.
    what : str
        What became NaN or inf, and when: "the cost or its gradient became
        NaN or inf in iteration 3" (for a message of the caller's own).
    cost_history, time_history : ndarray, shape (iteration - 1,)
        The run's record up to those parameters.
    """

    def __init__(self, message, learning_rate, iteration, theta, cost_history, time_history,
                 what=""):
        super().__init__(message)
        self.learning_rate, self.iteration, self.what = learning_rate, iteration, what
        self.theta = theta
        self.cost_history = np.asarray(cost_history, dtype=np.float64)
        self.time_history = np.asarray(time_history, dtype=np.float64)
