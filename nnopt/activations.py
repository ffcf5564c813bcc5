"""Hidden units: the sigmoid g(z) = 1 / (1 + e^(−z)) of the course, tanh and ReLU.

`ACTIVATIONS` is the table backpropagation looks each layer's unit up in:
g written over z, and the factor g′(z^(l)) of δ^(l) = Θ^(l)ᵀ δ^(l+1) ⊙ g′(z^(l))
computed from the stored activation a = g(z), as the articles do for the
sigmoid (g′ = a(1 − a)). Each entry is defined once, here.
"""

from types import MappingProxyType

import numpy as np
from scipy.special import expit

__all__ = ["sigmoid", "sigmoid_gradient", "ACTIVATIONS"]


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
        Where to write the result; must not be `a` itself (1 − a is
        written to `out` before it is multiplied by `a`).
    """
    out = np.subtract(1.0, a, out=out)
    out *= a
    return out


def sigmoid_in_place(z):
    """g(z) written over z, for backpropagation's inner loop.

    Parameters
    ----------
    z : ndarray of float32 or float64
        Pre-activations; overwritten.

    Returns
    -------
    ndarray
        `z` itself, now holding g(z).

    Notes
    -----
    Computed as g(z) = (1 + tanh(z/2)) / 2. NumPy's tanh is vectorized
    (SIMD), about three times faster than SciPy's ``expit`` on the
    network's activations (see benchmarks/README.md), and cannot overflow.
    The price is absolute rather than relative accuracy near 0: the error
    is below one unit in the last place of 1 (g(−40) ≈ 4e-18 comes out 0).
    That is all backpropagation needs, since activations only enter sums
    and a(1 − a), and the cost is computed from z; `sigmoid` keeps the
    accurate tails for everyone else.
    """
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


def _times_sigmoid_derivative(delta, a):
    """δ ⊙ g′ with g′ = a(1 − a); 1 − a is written over a, which is not needed again."""
    delta *= a
    delta *= np.subtract(1.0, a, out=a)
    return delta


def tanh_in_place(z):
    """tanh(z) written over z."""
    return np.tanh(z, out=z)


def _times_tanh_derivative(delta, a):
    """δ ⊙ g′ with g′ = 1 − tanh² = 1 − a², written over a."""
    np.square(a, out=a)
    np.subtract(1.0, a, out=a)
    delta *= a
    return delta


def relu_in_place(z):
    """max(z, 0) written over z."""
    return np.maximum(z, 0, out=z)


def _times_relu_derivative(delta, a):
    """δ ⊙ g′ with g′ = 1 where a > 0, else 0.

    ReLU has no derivative at z = 0; like scikit-learn and the deep-learning
    libraries nnopt takes g′(0) = 0 there, so a unit that outputs exactly 0
    passes no error back.
    """
    delta[a <= 0] = 0
    return delta


# name -> (g written over z, δ ⊙ g′(z) computed from a = g(z), written over δ; a is overwritten)
# (read-only: a table no call can change)
ACTIVATIONS = MappingProxyType({
    "sigmoid": (sigmoid_in_place, _times_sigmoid_derivative),
    "tanh": (tanh_in_place, _times_tanh_derivative),
    "relu": (relu_in_place, _times_relu_derivative),
})
