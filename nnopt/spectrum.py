"""The spectrum of the Hessian: how the cost surface curves near a point, in numbers.

The course asks what J(Θ) looks like near its minimum. Its Hessian H (or
the Gauss-Newton matrix G) answers: an eigenvalue is the curvature of J
along its eigenvector. H has n_params² entries, 384 million for the
digits' network, but the Lanczos iteration of `scipy.sparse.linalg.eigsh`
needs only products H·v, which `nnopt.curvature` computes exactly for
about two gradients' cost each.
"""

from types import MappingProxyType

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

from . import _validation as val
from .curvature import Curvature, checked as _checked
from .parameters import _as_generator

__all__ = ["hessian_eigenvalues"]

_CURVATURES = MappingProxyType({"hessian": Curvature.hessp, "gauss-newton": Curvature.gauss_newton})
# which= -> eigsh's which=: algebraic ends of the spectrum, not magnitudes
_ENDS = MappingProxyType({"both": "BE", "largest": "LA", "smallest": "SA"})


def hessian_eigenvalues(theta, X, y, lam, layer_sizes, k=6, which="both", loss=None, dtype=None, *,
                        activation="sigmoid", output="sigmoid", sample_weight=None,
                        curvature="hessian", seed=0, tol=None, maxiter=None):
    """The extreme eigenvalues of the Hessian of J (or of its Gauss-Newton matrix) at θ.

    Lanczos iteration (`scipy.sparse.linalg.eigsh`) on the product H·v
    (`hessian_vector_product`): H itself, n_params × n_params, is never
    formed, and each iteration costs about two gradient evaluations.

    Parameters
    ----------
    theta : ndarray, shape (n_params,)
        The point, for instance a trained model's parameters or θ0.
    X : ndarray, shape (m, n)
    y : ndarray, shape (m,) or (m, K)
    lam : float
    layer_sizes : sequence of int
        As `nnopt.cost` takes them, as are the keywords after `which`.
    k : int
        How many eigenvalues, 1 ≤ k < n_params.
    which : {"both", "largest", "smallest"}
        The k largest or smallest (algebraically: the most negative are the
        smallest), or both ends: k // 2 from the bottom and the rest from
        the top of the spectrum.
    loss : {None, "cross_entropy", "squared_error"}
    dtype : {None, numpy.float64, numpy.float32}
    activation : {"sigmoid", "tanh", "relu"}
    output : {"sigmoid", "softmax", "identity"}
    sample_weight : ndarray, shape (m,), optional
    curvature : {"hessian", "gauss-newton"}
        The exact Hessian H, or the Gauss-Newton matrix G
        (`gauss_newton_product`), positive semi-definite everywhere.
    seed : int or numpy.random.Generator
        Draws the Lanczos starting vector, so that a call's result is
        reproduced exactly.
    tol : float, optional
        Relative accuracy of the eigenvalues; None asks for full working
        precision in float64 and 1e-5 in float32, whose products are only
        that accurate. Near a minimum the smallest eigenvalues bunch up
        near 0 and converge slowly: ``tol=1e-2`` gives each to about 1%,
        several times faster than ``tol=1e-3``.
    maxiter : int, optional
        Lanczos restarts before `eigsh` gives up (ArpackNoConvergence);
        None is its own default, n_params × 10.

    Returns
    -------
    ndarray of float64, shape (k,)
        The eigenvalues in ascending order.

    Notes
    -----
    The eigenvalues are the curvatures of J along the principal directions
    at θ: J(θ + t·u) ≈ J(θ) + t ∇Jᵀu + ½ t² μ for a unit eigenvector u of
    eigenvalue μ.

    At a minimum of J all eigenvalues are ≥ 0 (up to rounding, and to how
    close the optimizer came): the surface curves up in every direction.
    The λ term adds λ/m (λ/Σw with sample weights) to the curvature along
    every non-bias weight and none along the biases, so with λ > 0 the
    smallest eigenvalues there sit near λ/m rather than 0. The ratio of the
    largest to the smallest positive eigenvalue, the condition number,
    says how elongated the valley is: gradient descent's step must stay
    below 2/μ_max, and it crawls along the flattest directions.

    At θ0, a random start, some eigenvalues are usually negative: J curves
    down along those directions, as at a saddle, and a pure Newton step
    would go uphill there. Trust-region methods handle that; the
    Gauss-Newton matrix G, positive semi-definite by construction
    (G = Jᵀ H_L J + λ/m on the weights), has no negative eigenvalues.
    """
    product = _check_choice(curvature, _CURVATURES, "curvature")
    ends = _check_choice(which, _ENDS, "which")
    theta, p = _checked(theta, X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight)
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be a whole number; got {k!r} of type {type(k).__name__}")
    if not 1 <= k < p.net.n_params:
        raise ValueError(f"k must be between 1 and n_params − 1 = {p.net.n_params - 1} (eigsh finds "
                         f"fewer eigenvalues than the matrix has); got {k}")
    if tol is None:
        tol = 0.0 if p.dtype == np.float64 else 1e-5
    else:
        tol = val.check_real(tol, "tol", ">= 0", lambda t: t >= 0)
    point = Curvature(theta, p)
    operator = LinearOperator((p.net.n_params, p.net.n_params), dtype=np.float64,
                              matvec=lambda u: product(point, np.ravel(u), check=False))
    v0 = _as_generator(seed).standard_normal(p.net.n_params)
    mu = eigsh(operator, k=int(k), which=ends, v0=v0, tol=tol, maxiter=maxiter,
               return_eigenvectors=False)
    return np.sort(mu)


def _check_choice(value, table, name):
    if not isinstance(value, str) or value not in table:
        raise ValueError(f"{name} must be one of {sorted(table)}; got {value!r}")
    return table[value]
