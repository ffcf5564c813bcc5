"""The output layer and its cost: the table of (output unit, loss) pairs.

Each pair is one row of `PAIRS` with everything the core needs of it:

- ``output``: h = a^(L) from z^(L), written over z;
- ``cost``: the summed (not yet averaged) cost of a block of examples,
  computed from z^(L) in a stable form (never log(h));
- ``delta``: δ^(L) = ∂cost/∂z^(L) from h, written over h;
- ``hessian``: H_L·R{z^(L)}, the Hessian of the cost in z^(L) times a
  direction, for the curvature products (`nnopt.curvature`).

Arrays hold one example per row, as X does: z^(L) and h have shape (m, K).
Targets `t` come either as class indices (shape (m,), integer) or as a
target matrix (shape (m, K), float); with sample weights `w` (shape (m,))
each example's cost counts w_i times.

==========  ===============  =======================================  ===========================
output h    loss             cost of one example                      δ^(L)
==========  ===============  =======================================  ===========================
sigmoid     cross_entropy    Σ_k −y_k log h_k − (1 − y_k) log(1 − h_k)  h − y  (the course)
sigmoid     squared_error    ½‖h − y‖²                                 (h − y) ⊙ h(1 − h)
softmax     cross_entropy    −Σ_k y_k log softmax(z)_k                 (Σ_k y_k)·h − y
identity    squared_error    ½‖z − y‖²  (regression)                   h − y
==========  ===============  =======================================  ===========================

For the three matched pairs δ^(L) = h − y (for softmax, when each target
row sums to 1, as one-hot rows do): the derivative of the output unit
cancels against that of the loss.
"""

from types import MappingProxyType
from typing import Callable, NamedTuple

import numpy as np
from scipy.special import expit

from .activations import sigmoid_derivative, sigmoid_in_place

__all__ = ["PAIRS", "Pair", "LOSSES", "DEFAULT_LOSS"]


def _is_indices(t):
    return t.ndim == 1


def _target_positions(z, t):
    """Flat positions of each example's target unit in a C-ordered (m, K) array.

    A flat gather or scatter (np.take, np.put) is about twice as fast as
    indexing with two arrays.
    """
    m, K = z.shape
    return np.arange(0, m * K, K) + t


def _total(u, w):
    """Σ over examples and units of u (m, K), example i counted w_i times, in float64."""
    if w is None:
        return float(u.sum(dtype=np.float64))
    return float(np.dot(u.sum(axis=1, dtype=np.float64), w))


def _log1p_exp_neg_abs(z):
    """log(1 + e^(−|z|)) as a new array: the part of softplus that is never 0."""
    c = np.abs(z)
    np.negative(c, out=c)
    np.exp(c, out=c)
    return np.log1p(c, out=c)


def _subtract_targets(h, t):
    """h − y, written over h."""
    if _is_indices(t):
        flat, at = h.reshape(-1), _target_positions(h, t)
        np.put(flat, at, np.take(flat, at) - 1)
    else:
        h -= t
    return h


# ---------------------------------------------------------------- sigmoid, cross-entropy


def _cross_entropy(z, t, w):
    """Σ_i w_i Σ_k −y log h − (1 − y) log(1 − h), h = g(z), from z.

    With h = g(z), −log h = softplus(−z) and −log(1 − h) = softplus(z),
    softplus(s) = max(s, 0) + log(1 + e^(−|s|)), so each unit costs
    log(1 + e^(−|z|)) + y·max(−z, 0) + (1 − y)·max(z, 0): never log(0),
    finite for any z, and a sum of terms ≥ 0, so it keeps its relative
    accuracy where the outputs saturate (at z = 40, −log h ≈ 4.2e-18,
    where log(h) would give exactly 0).
    """
    if _is_indices(t):
        # one-hot targets: the target unit costs max(−z, 0), the others max(z, 0)
        u = np.maximum(z, 0)
        at = _target_positions(z, t)
        np.put(u.reshape(-1), at, np.maximum(-np.take(z.reshape(-1), at), 0))
    else:
        u = t * np.maximum(-z, 0)
        u += (1 - t) * np.maximum(z, 0)
    if w is None:  # two sums, no third pass to add the arrays
        return _total(_log1p_exp_neg_abs(z), None) + _total(u, None)
    u += _log1p_exp_neg_abs(z)
    return _total(u, w)


def _matched_delta(h, t):
    """δ^(L) = h − y: the output unit's derivative cancels against the loss's."""
    return _subtract_targets(h, t)


def _sigmoid_cross_entropy_hessian(h, Rz, error, t):
    # ∂(h − y)/∂z = h(1 − h) on the diagonal, whatever the targets
    Rz *= sigmoid_derivative(h)
    return Rz


# ---------------------------------------------------------------- sigmoid, squared error


def _residual(z, t):
    """h − y as a new array, exact even where h rounds to 1 or to 0.

    h − y = (1 − y)·g(z) − y·g(−z): for a target unit (y = 1) that is
    −g(−z), which keeps its relative accuracy where 1 − h would round to 0.
    """
    r = expit(z)
    if _is_indices(t):
        at = _target_positions(z, t)
        np.put(r.reshape(-1), at, -expit(-np.take(z.reshape(-1), at)))
        return r
    r *= 1 - t
    r -= t * expit(-z)
    return r


def _squared_error(z, t, w):
    """Σ_i w_i ½‖h − y‖², h = g(z): the articles' least squares."""
    r = _residual(z, t)
    return 0.5 * _total(np.square(r, out=r), w)


def _squared_error_delta(h, t):
    """δ^(L) = (h − y) ⊙ g′(z^(L)), g′ = h(1 − h)."""
    gprime = sigmoid_derivative(h)
    delta = _subtract_targets(h, t)
    delta *= gprime
    return delta


def _sigmoid_squared_error_hessian(h, Rz, error, t):
    # ∂δ/∂z of δ = (h − y)·g′ is g′² + (h − y)·g″ = g′² + δ·(1 − 2h).
    # Gauss-Newton (error None) keeps g′² alone: the Jacobian of h, H_L = I
    curve = np.square(sigmoid_derivative(h))
    if error is not None:
        curve += error * (1 - 2 * h)
    Rz *= curve
    return Rz


# ---------------------------------------------------------------- softmax, cross-entropy


def _log_sum_exp(z):
    """log Σ_k e^(z_k) of each row of z (m, K): shape (m,), exact for any finite z.

    The row's largest z_k is taken out first, so no e^z overflows.
    """
    zmax = z.max(axis=1)
    e = np.exp(z - zmax[:, None])
    return zmax + np.log(e.sum(axis=1))


def _softmax_cross_entropy(z, t, w):
    """Σ_i w_i (−Σ_k y_k log softmax(z)_k), from z by log-sum-exp (−log softmax(z)_k = lse − z_k)."""
    lse = _log_sum_exp(z).astype(np.float64)
    if _is_indices(t):
        per_example = lse - np.take(z.reshape(-1), _target_positions(z, t))
    else:
        # Σ_k y_k (lse − z_k); rows of y need not sum to 1
        per_example = lse * t.sum(axis=1, dtype=np.float64) - np.einsum("mk,mk->m", t, z, dtype=np.float64)
    return float(per_example.sum() if w is None else np.dot(per_example, w))


def _softmax_in_place(z):
    """softmax of each row of z, written over z."""
    z -= z.max(axis=1)[:, None]
    np.exp(z, out=z)
    z /= z.sum(axis=1)[:, None]
    return z


def _softmax_delta(h, t):
    """δ^(L) = (Σ_k y_k)·h − y: h − y for rows that sum to 1, exact for rows that do not."""
    if _is_indices(t):
        return _subtract_targets(h, t)
    h *= t.sum(axis=1)[:, None]
    h -= t
    return h


def _softmax_cross_entropy_hessian(h, Rz, error, t):
    # (diag p − p pᵀ) R{z} for each example, times Σ_k y_k, the mass of its
    # targets (1 for a class index): the Hessian of (Σ_k y_k)·lse(z) − yᵀz
    u = h * Rz
    u -= h * u.sum(axis=1)[:, None]
    if not _is_indices(t):
        u *= t.sum(axis=1)[:, None]
    return u


# ---------------------------------------------------------------- identity, squared error


def _identity_squared_error(z, t, w):
    """Σ_i w_i ½‖z − y‖², the least-squares cost of regression (h = z)."""
    r = np.subtract(z, t, dtype=np.float64)
    return 0.5 * _total(np.square(r, out=r), w)


def _identity(z):
    return z


def _identity_hessian(h, Rz, error, t):
    return Rz  # H_L = I


class Pair(NamedTuple):
    """One row of `PAIRS`: an output unit with its loss."""

    output: Callable  #: h = a^(L) from z^(L), written over z
    cost: Callable  #: cost(z, t, w): Σ_i w_i cost_i as a float, from z^(L)
    delta: Callable  #: delta(h, t): δ^(L), unscaled, written over h
    #: hessian(h, Rz, error, t): H_L·R{z^(L)} per example; `error` is the
    #: unscaled δ^(L) for the exact Hessian, None for Gauss-Newton (the two
    #: differ only for sigmoid + squared error, the one pair not matched).
    #: Rz may be written over.
    hessian: Callable


LOSSES = ("cross_entropy", "squared_error")

# (output, loss) -> Pair (read-only: no call can change the table)
PAIRS = MappingProxyType({
    ("sigmoid", "cross_entropy"): Pair(sigmoid_in_place, _cross_entropy, _matched_delta,
                                       _sigmoid_cross_entropy_hessian),
    ("sigmoid", "squared_error"): Pair(sigmoid_in_place, _squared_error, _squared_error_delta,
                                       _sigmoid_squared_error_hessian),
    ("softmax", "cross_entropy"): Pair(_softmax_in_place, _softmax_cross_entropy, _softmax_delta,
                                       _softmax_cross_entropy_hessian),
    ("identity", "squared_error"): Pair(_identity, _identity_squared_error, _matched_delta,
                                        _identity_hessian),
})

# the loss each output unit is paired with when none is given
DEFAULT_LOSS = MappingProxyType(
    {"sigmoid": "cross_entropy", "softmax": "cross_entropy", "identity": "squared_error"})
