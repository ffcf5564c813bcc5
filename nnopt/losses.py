"""The two costs of the articles, as small functions of the output layer.

Each loss gives the summed (not yet averaged) cost over a batch, from the
output pre-activations z^(L), and δ^(L), the error of the output units,
from the activations a^(L) = g(z^(L)). As in the articles, these arrays
hold one column per example: shape (K, m), in C or Fortran order (with no
hidden layer, z^(L) comes from the C kernels one example per row, which is
its Fortran-ordered transpose). Targets come either as class
indices (`idx`, shape (m,)) or as a target matrix (`Y`, shape (K, m));
exactly one of the two is given. δ^(L) is written over a^(L), which
backpropagation does not need again, so that no m×K array is allocated for it.
"""

import numpy as np
from scipy.special import expit

from .activations import derivative_from_activation

__all__ = ["LOSSES"]


def _log1p_exp_neg_abs(z):
    """log(1 + e^(−|z|)) as a new array: the part of softplus that is never 0."""
    c = np.abs(z)
    np.negative(c, out=c)
    np.exp(c, out=c)
    return np.log1p(c, out=c)


def _targets(a, idx):
    """Positions of each example's target unit in ``_flat(a)``, for a (K, m).

    Flat indices make the gather and scatter one-dimensional (np.take,
    np.put), about twice as fast as indexing with two arrays.
    """
    K, m = a.shape
    if a.flags.c_contiguous:
        return idx * m + np.arange(m)
    return np.arange(0, m * K, K) + idx  # Fortran order: example i's units at i·K..


def _flat(a):
    """A contiguous (K, m) array as one flat view, in its memory order."""
    if not (a.flags.c_contiguous or a.flags.f_contiguous):
        raise ValueError("the losses take contiguous arrays")  # internal: never from users
    return a.ravel(order="K")


def cross_entropy(z, idx=None, Y=None):
    """Σ_i Σ_k −y log h − (1 − y) log(1 − h), computed from z.

    Notes
    -----
    With h = g(z): −log h = softplus(−z) and −log(1 − h) = softplus(z),
    where softplus(t) = log(1 + e^t) = max(t, 0) + log(1 + e^(−|t|)). Hence
    each unit costs log(1 + e^(−|z|)) + y·max(−z, 0) + (1 − y)·max(z, 0).
    That form never takes log(0), stays finite for any z, and, being a sum
    of terms ≥ 0, keeps its relative accuracy when the outputs saturate (at
    z = 40, −log h ≈ 4.2e-18, where log(h) would give exactly 0). It uses
    NumPy's vectorized exp and log1p: ``logaddexp`` gives the same values
    about five times slower.
    """
    total = _log1p_exp_neg_abs(z).sum(dtype=np.float64)
    if Y is None:
        # one-hot targets: the target entry costs max(−z, 0), the rest max(z, 0)
        t = _targets(z, idx)
        u = np.maximum(z, 0)  # in the memory order of z, so the same t applies
        np.put(_flat(u), t, np.maximum(-np.take(_flat(z), t), 0))
    else:
        u = Y * np.maximum(-z, 0)
        u += (1 - Y) * np.maximum(z, 0)
    return total + u.sum(dtype=np.float64)


def _subtract_targets(h, idx, Y):
    """h − y, written over h."""
    if Y is None:
        t, flat = _targets(h, idx), _flat(h)
        np.put(flat, t, np.take(flat, t) - 1)
    else:
        h -= Y
    return h


def cross_entropy_delta(a, idx=None, Y=None):
    """δ^(L) = a^(L) − y, written over `a`: the sigmoid's g′ cancels against ∂J/∂a."""
    return _subtract_targets(a, idx, Y)


def _residual(z, idx, Y):
    """h − y as a new array, exact even where h rounds to 1 or to 0.

    h − y = (1 − y)·g(z) − y·g(−z), with SciPy's ``expit`` for g: for a
    target unit (y = 1) that is −g(−z), which keeps its relative accuracy
    where 1 − h would round to 0, and elsewhere g(z) keeps it near 0.
    """
    r = expit(z)
    if Y is None:
        t = _targets(z, idx)
        np.put(_flat(r), t, -expit(-np.take(_flat(z), t)))
        return r
    r *= 1 - Y
    r -= Y * expit(-z)
    return r


def squared_error(z, idx=None, Y=None):
    """Σ_i ½‖h − y‖², the least-squares cost."""
    r = _residual(z, idx, Y)
    return 0.5 * np.einsum("ij,ij->", r, r, dtype=np.float64)


def squared_error_delta(a, idx=None, Y=None):
    """δ^(L) = (a^(L) − y) ⊙ g′(z^(L)), written over `a`."""
    gprime = derivative_from_activation(a)
    delta = _subtract_targets(a, idx, Y)
    delta *= gprime
    return delta


# name -> (summed cost from z^(L), output error δ^(L) written over a^(L))
LOSSES = {
    "cross_entropy": (cross_entropy, cross_entropy_delta),
    "squared_error": (squared_error, squared_error_delta),
}
