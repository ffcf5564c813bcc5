"""The output layer and its cost: the table of (output unit, loss) pairs.

Each pair gives the summed (not yet averaged) cost over a batch, from the
output pre-activations z^(L), and δ^(L), the error of the output units,
from the activations a^(L) = h. As in the articles, these arrays hold one
column per example: shape (K, m), in C or Fortran order (with no hidden
layer, z^(L) comes from the C kernels one example per row, which is its
Fortran-ordered transpose). Targets come either as class indices (`idx`,
shape (m,)) or as a target matrix (`Y`, shape (K, m)); exactly one of the
two is given. With sample weights `w` (shape (m,)) each example's cost is
counted w_i times. δ^(L) is written over a^(L), which backpropagation does
not need again, so that no m×K array is allocated for it.

The pairs (`PAIRS`):

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

import numpy as np
from scipy.special import expit

from .activations import derivative_from_activation, sigmoid_in_place

__all__ = ["PAIRS", "OUTPUTS", "LOSSES", "DEFAULT_LOSS"]


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


def _total(u, w):
    """Σ over units and examples of u (K, m), each example's column counted w_i times."""
    if w is None:
        return float(u.sum(dtype=np.float64))
    return float(np.dot(u.sum(axis=0, dtype=np.float64), w))


def cross_entropy(z, idx=None, Y=None, w=None):
    """Σ_i w_i Σ_k −y log h − (1 − y) log(1 − h) with h = g(z), computed from z.

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
    if Y is None:
        # one-hot targets: the target entry costs max(−z, 0), the rest max(z, 0)
        t = _targets(z, idx)
        u = np.maximum(z, 0)  # in the memory order of z, so the same t applies
        np.put(_flat(u), t, np.maximum(-np.take(_flat(z), t), 0))
    else:
        u = Y * np.maximum(-z, 0)
        u += (1 - Y) * np.maximum(z, 0)
    if w is None:  # two sums, no third m×K pass to add the arrays
        return _total(_log1p_exp_neg_abs(z), None) + _total(u, None)
    u += _log1p_exp_neg_abs(z)
    return _total(u, w)


def _subtract_targets(h, idx, Y):
    """h − y, written over h."""
    if Y is None:
        t, flat = _targets(h, idx), _flat(h)
        np.put(flat, t, np.take(flat, t) - 1)
    else:
        h -= Y
    return h


def matched_delta(a, idx=None, Y=None):
    """δ^(L) = a^(L) − y, written over `a`: the output unit's derivative cancels against ∂J/∂a."""
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


def squared_error(z, idx=None, Y=None, w=None):
    """Σ_i w_i ½‖h − y‖² with h = g(z), the articles' least squares."""
    r = _residual(z, idx, Y)
    return 0.5 * _total(np.square(r, out=r), w)


def squared_error_delta(a, idx=None, Y=None):
    """δ^(L) = (a^(L) − y) ⊙ g′(z^(L)), written over `a`."""
    gprime = derivative_from_activation(a)
    delta = _subtract_targets(a, idx, Y)
    delta *= gprime
    return delta


def _log_sum_exp(z):
    """log Σ_k e^(z_k) for each column of z (K, m): shape (m,), exact for any finite z.

    The largest z_k of each column is taken out first, so no e^z overflows
    (at z = 1000, e^z is inf in float64) and the largest term is e^0 = 1.
    """
    zmax = z.max(axis=0)
    e = np.exp(z - zmax)
    return zmax + np.log(e.sum(axis=0))


def softmax_cross_entropy(z, idx=None, Y=None, w=None):
    """Σ_i w_i (−Σ_k y_k log softmax(z)_k), the multinomial log-loss, from z.

    Notes
    -----
    −log softmax(z)_k = log Σ_j e^(z_j) − z_k, with the log-sum-exp taken
    stably (`_log_sum_exp`): finite and exact for any finite z, where
    log(softmax(z)) would take log(0) once a probability underflows.
    """
    lse = _log_sum_exp(z).astype(np.float64)
    if Y is None:
        per_example = lse - np.take(_flat(z), _targets(z, idx))
    else:
        # Σ_k y_k (lse − z_k); rows of Y need not sum to 1
        per_example = lse * Y.sum(axis=0, dtype=np.float64) - np.einsum("km,km->m", Y, z, dtype=np.float64)
    return float(per_example.sum() if w is None else np.dot(per_example, w))


def softmax_in_place(z):
    """softmax over each column of z (K, m), written over z."""
    z -= z.max(axis=0)
    np.exp(z, out=z)
    z /= z.sum(axis=0)
    return z


def softmax_delta(a, idx=None, Y=None):
    """δ^(L) = (Σ_k y_k)·h − y, written over `a` = h = softmax(z).

    The derivative of Σ_k y_k (log Σ_j e^(z_j) − z_k) in z_j is
    (Σ_k y_k)·h_j − y_j: h − y for one-hot rows or any rows that sum to 1,
    and still exact for target rows that do not (several labels, weights).
    """
    if Y is None:
        return _subtract_targets(a, idx, None)
    a *= Y.sum(axis=0)
    a -= Y
    return a


def identity_squared_error(z, idx=None, Y=None, w=None):
    """Σ_i w_i ½‖z − y‖², the least-squares cost of regression (h = z)."""
    r = np.subtract(z, Y, dtype=np.float64)
    return 0.5 * _total(np.square(r, out=r), w)


def identity(z):
    """h = z: a linear output unit."""
    return z


# output unit -> h = a^(L) written over z^(L)
OUTPUTS = MappingProxyType({"sigmoid": sigmoid_in_place, "softmax": softmax_in_place, "identity": identity})

LOSSES = ("cross_entropy", "squared_error")

# The tables are read-only (MappingProxyType): no call can change them.
# (output, loss) -> (summed cost from z^(L), δ^(L) from a^(L), written over it)
PAIRS = MappingProxyType({
    ("sigmoid", "cross_entropy"): (cross_entropy, matched_delta),
    ("sigmoid", "squared_error"): (squared_error, squared_error_delta),
    ("softmax", "cross_entropy"): (softmax_cross_entropy, softmax_delta),
    ("identity", "squared_error"): (identity_squared_error, matched_delta),
})

# the loss each output unit is paired with when none is given
DEFAULT_LOSS = MappingProxyType(
    {"sigmoid": "cross_entropy", "softmax": "cross_entropy", "identity": "squared_error"})
