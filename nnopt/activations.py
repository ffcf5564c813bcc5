"""Hidden units: the sigmoid g(z) = 1 / (1 + e^(−z)) of the course, tanh and ReLU.

`ACTIVATIONS` is the one table of hidden units: for each, g written over z,
its derivative g′(z) computed from the stored activation a = g(z) (as the
articles do for the sigmoid: g′ = a(1 − a)), and the ratio g″(z)/g′(z),
also from a, which the exact Hessian-vector product needs
(`nnopt.curvature`). Backpropagation and the curvature products read the
same row.
"""

from types import MappingProxyType
from typing import Callable, NamedTuple, Optional

import numpy as np
from scipy.special import expit

__all__ = ["sigmoid", "sigmoid_gradient", "ACTIVATIONS", "Unit"]


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


def sigmoid_in_place(z):
    """g(z) written over z: 1/(1 + e^(−z)) in float64, (1 + tanh(z/2))/2 in float32.

    Each is the faster of the two in its precision with numpy's loops, on
    AVX-512 and on AVX2 alike (benchmarks/README.md): in float64, e^(−z) is
    the cheaper function (numpy's float64 tanh and exp are vectorized for
    AVX-512 only, and exp costs less either way), and it keeps the relative
    accuracy of the tails; in float32, tanh is vectorized everywhere. Neither
    form can overflow into a wrong value: e^(−z) = inf for z < −709 gives 0.
    The tanh form has absolute rather than relative accuracy near 0
    (g(−40) ≈ 4e-18 comes out 0), which is all backpropagation needs:
    activations only enter sums and a(1 − a), and the cost is computed from
    z. `sigmoid` keeps the tails in every precision.
    """
    if z.dtype == np.float64:
        np.negative(z, out=z)
        with np.errstate(over="ignore"):  # e^(−z) = inf: g = 1/inf = 0, as it should be
            np.exp(z, out=z)
        z += 1.0
        return np.reciprocal(z, out=z)
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


def sigmoid_derivative(a, out=None):
    """g′ = a(1 − a) from the sigmoid's activation a, in `out` (an array other than a) or a new array."""
    gprime = np.subtract(1.0, a, out=out)
    gprime *= a
    return gprime


def _sigmoid_ratio(a):
    # g″ = g′·(1 − 2a): the ratio is a polynomial in a, exact where g′ underflows
    return np.subtract(1.0, 2.0 * a)


def _tanh_in_place(z):
    return np.tanh(z, out=z)


def _tanh_derivative(a, out=None):
    # g′ = 1 − tanh² = 1 − a²
    gprime = np.square(a, out=out)
    return np.subtract(1.0, gprime, out=gprime)


def _tanh_ratio(a):
    # g″ = −2a·g′
    return np.multiply(a, -2.0)


def _relu_in_place(z):
    return np.maximum(z, 0, out=z)


def _relu_derivative(a, out=None):
    # no derivative at z = 0: like scikit-learn and the deep-learning
    # libraries, g′(0) = 0, so a unit that outputs exactly 0 passes no error back
    if out is None:
        out = np.empty_like(a)
    return np.greater(a, 0, out=out)


class Unit(NamedTuple):
    """One row of `ACTIVATIONS`."""

    g: Callable  #: g(z) written over z; returns z
    derivative: Callable  #: derivative(a, out=None): g′(z) from a = g(z), in `out` (not a) or a new array
    ratio: Optional[Callable]  #: g″(z)/g′(z) from a, a new array; None where g″ = 0


# (read-only: no call can change the table)
ACTIVATIONS = MappingProxyType({
    "sigmoid": Unit(sigmoid_in_place, sigmoid_derivative, _sigmoid_ratio),
    "tanh": Unit(_tanh_in_place, _tanh_derivative, _tanh_ratio),
    "relu": Unit(_relu_in_place, _relu_derivative, None),  # g″ = 0 wherever it is defined
})
