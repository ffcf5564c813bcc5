"""The two costs of the articles, as small functions of the output layer.

Each loss gives the summed (not yet averaged) cost over a batch and δ^(L),
the error of the output units, from the output pre-activations z^(L) and
activations a^(L) = g(z^(L)). Targets come either as class indices
(`idx`, shape (m,)) or as a target matrix (`Y`, shape (m, K)); exactly one of
the two is given.
"""

import numpy as np
from scipy.special import expit

from .activations import derivative_from_activation

__all__ = ["LOSSES"]


def _signed_logits(z, idx):
    """z with the sign of each example's target entry flipped (a copy)."""
    zs = z.copy()
    zs[np.arange(z.shape[0]), idx] *= -1
    return zs


def cross_entropy(z, a, idx=None, Y=None):
    """Σ_i Σ_k −y log h − (1 − y) log(1 − h), computed from z.

    Notes
    -----
    With h = g(z): −log h = softplus(−z) and −log(1 − h) = softplus(z),
    where softplus(t) = log(1 + e^t) = logaddexp(0, t). That form never
    takes log(0), stays finite for any z, and keeps its relative accuracy
    when the outputs saturate (at z = 40, −log h ≈ 4.2e-18, where log(h)
    would give exactly 0).
    """
    dtype = np.float64
    if Y is None:
        # one-hot targets: the target entry costs softplus(−z), the rest softplus(z)
        return np.logaddexp(0, _signed_logits(z, idx)).sum(dtype=dtype)
    return (Y * np.logaddexp(0, -z)).sum(dtype=dtype) + ((1 - Y) * np.logaddexp(0, z)).sum(dtype=dtype)


def cross_entropy_delta(z, a, idx=None, Y=None):
    """δ^(L) = a^(L) − y: the sigmoid's g′ cancels against ∂J/∂a."""
    if Y is None:
        delta = a.copy()
        delta[np.arange(a.shape[0]), idx] -= 1
        return delta
    return a - Y


def _residual(z, a, idx, Y):
    """h − y as a new array, exact even where h rounds to 1.

    h − y = (1 − y)·g(z) − y·g(−z): for a target unit (y = 1) that is
    −g(−z), which keeps its relative accuracy where 1 − h would round to 0.
    """
    if Y is None:
        r = a.copy()
        rows = np.arange(a.shape[0])
        r[rows, idx] = -expit(-z[rows, idx])
        return r
    return (1 - Y) * a - Y * expit(-z)


def squared_error(z, a, idx=None, Y=None):
    """Σ_i ½‖h − y‖², the least-squares cost."""
    r = _residual(z, a, idx, Y)
    return 0.5 * np.einsum("ij,ij->", r, r, dtype=np.float64)


def squared_error_delta(z, a, idx=None, Y=None):
    """δ^(L) = (a^(L) − y) ⊙ g′(z^(L))."""
    r = _residual(z, a, idx, Y)
    r *= derivative_from_activation(a)
    return r


# name -> (summed cost, output error δ^(L))
LOSSES = {
    "cross_entropy": (cross_entropy, cross_entropy_delta),
    "squared_error": (squared_error, squared_error_delta),
}
