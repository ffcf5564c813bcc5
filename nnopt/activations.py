"""The sigmoid unit g(z) = 1 / (1 + e^(−z)) and its derivative g′(z)."""

import numpy as np
from scipy.special import expit

__all__ = ["sigmoid", "sigmoid_gradient"]


def sigmoid(z):
    """Logistic sigmoid g(z) = 1 / (1 + e^(−z)), elementwise.

    Parameters
    ----------
    z : array_like, any shape
        Pre-activations.

    Returns
    -------
    ndarray, same shape as `z`
        Values in [0, 1]. No overflow warning for any float `z`:
        SciPy's ``expit`` evaluates e^(−|z|), which never overflows.
    """
    return expit(z)


def sigmoid_gradient(z):
    """Derivative of the sigmoid, g′(z) = g(z)·(1 − g(z)), elementwise.

    Parameters
    ----------
    z : array_like, any shape
        Pre-activations.

    Returns
    -------
    ndarray, same shape as `z`
        Values in [0, 0.25]; exactly 0.25 at z = 0.

    Notes
    -----
    Written as g(z)·g(−z) rather than g(z)·(1 − g(z)): the two are equal,
    but 1 − g(z) rounds to 0 once g(z) rounds to 1 (z ≳ 37), whereas g(−z)
    keeps its relative accuracy far into the tails.
    """
    z = np.asarray(z)
    return expit(z) * expit(-z)


def derivative_from_activation(a, out=None):
    """g′ from the stored activation a = g(z): a·(1 − a), the form backprop uses.

    Parameters
    ----------
    a : ndarray
        Sigmoid activations.
    out : ndarray or None
        Where to write the result; may be `a` itself.
    """
    out = np.subtract(1.0, a, out=out)
    out *= a
    return out
