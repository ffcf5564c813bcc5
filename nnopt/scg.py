"""Møller's scaled conjugate gradient: MATLAB's trainscg on numpy.

``method="SCG"`` minimizes nnopt's J(θ) by conjugate directions without a
line search. A Levenberg-Marquardt-like scale λ_k stands in for the line
search: it keeps the curvature along the direction positive and is raised
or lowered as the quadratic model of J along p_k predicts the real change
well or badly. With r_k = −∇J(θ_k), p_1 = r_1, λ̄ = 0 (Møller's steps):

2. at the start and after each accepted step, the curvature along p_k:
   s_k = H p_k, δ_k = p_kᵀ s_k, with H p_k from one of ``curvature``:
   "difference": s_k = (∇J(θ_k + σ_k p_k) − ∇J(θ_k))/σ_k, σ_k = σ/|p_k|
   (Møller's and MATLAB's); "hessian": the exact H·p_k
   (`Objective.hessp`); "gauss-newton": G·p_k (`Objective.gauss_newton`);
3. scale: δ_k ← δ_k + (λ_k − λ̄_k)|p_k|²;
4. if δ_k ≤ 0: λ̄_k = 2(λ_k − δ_k/|p_k|²), δ_k ← −δ_k + λ_k|p_k|², λ_k = λ̄_k;
5. μ_k = p_kᵀ r_k, α_k = μ_k/δ_k;
6. Δ_k = 2δ_k (J(θ_k) − J(θ_k + α_k p_k))/μ_k², the actual decrease over
   the model's;
7. if Δ_k ≥ 0 the step is taken: θ_{k+1} = θ_k + α_k p_k, λ̄ = 0, and
   p_{k+1} = r_{k+1} + β_k p_k, β_k = (|r_{k+1}|² − r_{k+1}ᵀ r_k)/μ_k
   (p_{k+1} = r_{k+1} after every N steps, N = len(θ) or ``restart``);
   if Δ_k ≥ 0.75, λ_k ← λ_k/4.
   Else θ stays, λ̄_k = λ_k, and step 2 is skipped next time;
8. if Δ_k < 0.25: λ_k ← λ_k + δ_k (1 − Δ_k)/|p_k|²;
9. repeat while r_k ≠ 0.

Followed: Møller's steps 1-9 as above (the increase of step 8 with the
|p_k|² of the direction just tried, as in the paper), and MATLAB's trainscg
for the defaults (mathworks.com/help/deeplearning/ref/trainscg.html):
σ = 5e-5 (``sigma``), λ_1 = 5e-7 (``scale0``: Møller's λ_1, trainscg's
``lambda``, named so as not to be taken for nnopt's regularization ``lam``),
min_grad = 1e-6 (``gtol``).

Departures:

- An iteration is one accepted step (Δ_k ≥ 0); a rejected trial leaves θ as
  it was and counts as an evaluation only, as in `nnopt.levenberg`.
  trainscg counts every trial as an epoch, and Møller's k counts every
  trial (trainscg restarts when its epoch count, from 0, is a multiple
  of N); here the restart comes after every N accepted steps (``restart``,
  N = len(θ) by default), the directions that build conjugacy.
- trainscg's step 8 divides by the |p|² of the next direction after an
  accepted step; the paper's |p_k|², of the direction tried, is used here.
- A trial whose cost is not finite (overflow far out), or whose Δ_k is not
  a number, is rejected and counts as Δ_k = −2: λ_k rises by 3δ_k/|p_k|²,
  a quarter of the step next time (Møller's rule would make λ infinite;
  trainscg's repeats the same trial).
- ``gtol`` bounds ‖∂J/∂θ‖ of nnopt's J (the mean cost over the examples
  plus the regularization term of ``lam``), not the gradient of MATLAB's
  performance function.
- The curvature is by default the Gauss-Newton product G·p_k, not the
  difference of gradients (``curvature="difference"``, Møller's and
  MATLAB's): chosen by measurement, the time to 92% held-out on the
  digits split (benchmarks/README.md). G is positive semi-definite: with
  λ_k > 0, δ_k > 0 and step 4 does not act. The exact Hessian is
  ``"hessian"``.
- μ_k = 0 (p_k orthogonal to the gradient, possible only by rounding)
  restarts from p_k = r_k. The run stops, status 2, when the trial step no
  longer moves θ in floating point (λ_k so large that α_k p_k is below
  θ's rounding) or the curvature or step is not finite.
- No goal, time or validation stop: those come through the recorder,
  which may raise to end training.

Each accepted iteration is recorded with J, its gradient norm, ``scale``
(λ after the iteration's updates, the next trial's) and ``step`` (α_k).
The result's status is 0 (gradient norm ≤ gtol), 1 (maxiter) or 2 (no
progress possible).

References: M. F. Møller, "A scaled conjugate gradient algorithm for fast
supervised learning", Neural Networks 6 (1993) 525-533; MATLAB's trainscg.
"""

import math
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
from scipy.optimize import OptimizeResult

from . import _validation as v
from ._dask import DaskProblem
from .record import gradient_or_limit

__all__ = ["DEFAULTS", "DEFAULT_MAXITER", "CURVATURES", "prepare"]

#: Accepted steps: with the default curvature, enough for ≥ 92% held-out on the digits split with
#: 784-25-10 at lam = 1, where it stays from about step 115 on (measured, benchmarks/README.md); well
#: short of MATLAB's 1000 epochs.
DEFAULT_MAXITER = 150
CURVATURES = ("difference", "hessian", "gauss-newton")
#: trainscg's σ, λ_1 and min_grad. ``curvature``: a step with G·p costs about 15% more than one
#: with the gradient difference, but holds 92% held-out on the digits split from ~115 steps on
#: against ~175: the fastest there (measured, benchmarks/README.md). ``restart``: None is
#: N = len(θ), Møller's.
DEFAULTS = MappingProxyType({"sigma": 5e-5, "scale0": 5e-7, "gtol": 1e-6, "curvature": "gauss-newton",
                             "restart": None})
#: Δ_k given to a trial whose cost is not finite: λ rises so that the next step is a quarter.
NONFINITE_DELTA = -2.0


class Settings(NamedTuple):
    """A run's checked options."""

    sigma: float
    scale0: float
    gtol: float
    curvature: str
    restart: int
    maxiter: int


def prepare(method, maxiter, options, n_params):
    """Check a run's settings before any work; return the run, its arguments and its iteration count.

    Parameters
    ----------
    method : {"SCG"}
        Case does not matter.
    maxiter : int or None
        Accepted steps at most; None is `DEFAULT_MAXITER`.
    options : dict
        Any of `DEFAULTS`' keys: ``sigma`` (> 0, the differencing length σ;
        σ_k = σ/|p_k|), ``scale0`` (> 0, the first scale λ_1), ``gtol``
        (≥ 0, the least gradient norm ‖∂J/∂θ‖), ``curvature`` (one of
        `CURVATURES`), ``restart`` (accepted steps between restarts to
        steepest descent, ≥ 1; None is n_params).
    n_params : int
        N, the length of θ.

    Returns
    -------
    run : callable
        ``run(objective, theta0, recorder, *run_args) -> (theta, OptimizeResult)``.
    run_args : tuple
    limit : int
        The iterations the run makes at most.
    """
    if not (isinstance(method, str) and method.lower() == "scg"):
        raise ValueError(f"method must be 'SCG'; got {method!r}")
    opts = v.method_options(options, DEFAULTS, method)
    sigma = v.check_real(opts["sigma"], "sigma", "> 0", lambda x: x > 0)
    scale0 = v.check_real(opts["scale0"], "scale0", "> 0", lambda x: x > 0)
    gtol = v.check_real(opts["gtol"], "gtol", ">= 0", lambda x: x >= 0)
    curvature = opts["curvature"]
    if not isinstance(curvature, str) or curvature not in CURVATURES:
        raise ValueError(f"curvature must be one of {list(CURVATURES)}; got {curvature!r}")
    n_params = v.check_int(n_params, "n_params", 1)
    restart = v.check_int(opts["restart"], "restart", 1, allow_none=True) or n_params
    steps = v.check_int(maxiter, "maxiter", 1, allow_none=True) or DEFAULT_MAXITER
    return _run, (Settings(sigma, scale0, gtol, curvature, restart, steps),), steps


def _curvature(objective, s):
    """s ↦ H·p at θ, by the settings' curvature: a function (theta, g, p, pp) -> H·p."""
    if s.curvature == "hessian":
        return lambda theta, g, p, pp: objective.hessp(theta, p)
    if s.curvature == "gauss-newton":
        return lambda theta, g, p, pp: objective.gauss_newton(theta, p)

    def difference(theta, g, p, pp):
        sigma_k = s.sigma / math.sqrt(pp)
        with np.errstate(over="ignore", invalid="ignore"):
            g_ahead = objective(theta + sigma_k * p)[1]
        g_ahead -= g
        g_ahead /= sigma_k
        return g_ahead

    return difference


def _run(objective, theta0, recorder, s):
    """Scaled conjugate gradients from θ0, recording each accepted step.

    Parameters
    ----------
    objective : nnopt.Objective
    theta0 : ndarray, shape (n_params,)
    recorder : nnopt.record.Recorder
        Its ``record`` may raise `nnopt.record.StopTraining`, which is let through.
    s : Settings

    Returns
    -------
    theta : ndarray, shape (n_params,)
    result : scipy.optimize.OptimizeResult
        With ``scale``, the final λ, and ``n_products`` for an exact curvature.
    """
    if s.curvature != "difference" and isinstance(getattr(objective, "problem", None), DaskProblem):
        raise ValueError(f"curvature={s.curvature!r} takes curvature products, which a Dask array does "
                         "not support; use curvature='difference' (gradients only) or compute X into "
                         "memory (X.compute())")
    product = _curvature(objective, s)
    evals0 = objective.n_evals
    theta = np.array(theta0, dtype=np.float64)
    J, g = objective(theta)
    norm = float(np.linalg.norm(g))  # at each θ once: the stop test and the record read it
    r = -g
    p = r.copy()
    pp = float(p @ p)
    lam, lam_bar = s.scale0, 0.0
    delta = mu = 0.0
    success, nit, products = True, 0, 0  # success: the last trial was taken, step 2 is due
    while True:
        stop = gradient_or_limit(norm, nit, s.gtol, s.maxiter)
        if stop:
            break
        if success:  # step 2: the curvature along p at the new θ
            mu = float(p @ r)
            if mu == 0 or not pp > 0:  # p ⊥ r by rounding: steepest descent again
                p = r.copy()
                pp = mu = float(p @ p)
            delta = float(p @ product(theta, g, p, pp))
            products += 1
        delta += (lam - lam_bar) * pp  # step 3
        if delta <= 0:  # step 4: a positive definite model along p
            lam_bar = 2 * (lam - delta / pp)
            delta = -delta + lam * pp
            lam = lam_bar
        alpha = mu / delta  # step 5
        if not (math.isfinite(delta) and math.isfinite(alpha)):
            stop = 2, (f"the scaled curvature along the search direction is zero or not finite "
                       f"(δ = {delta:.3g}): no step can be computed.")
            break
        trial = theta + alpha * p
        if np.array_equal(trial, theta):
            why = ("a minimum to the precision of the arithmetic" if math.isfinite(J) else
                   f"the cost at θ is {J}, which no trial's can be compared with")
            stop = 2, (f"the scale (Møller's λ) = {lam:.3g} makes the step too small to change θ: no "
                       f"step lowers the cost, {why}.")
            break
        with np.errstate(over="ignore", invalid="ignore"):
            J_new, g_new = objective(trial)
        Delta = 2 * delta * (J - J_new) / mu**2  # step 6
        if not (math.isfinite(J_new) and Delta == Delta):  # NaN, from a J that is not a number
            Delta = NONFINITE_DELTA
        pp_tried = pp
        success = Delta >= 0
        if success:  # step 7: the step is taken
            nit += 1
            r_new = -g_new
            if nit % s.restart == 0:
                p = r_new.copy()
            else:
                beta = (float(r_new @ r_new) - float(r_new @ r)) / mu
                p *= beta
                p += r_new
            theta, J, g, r = trial, J_new, g_new, r_new
            norm = float(np.linalg.norm(g))
            pp = float(p @ p)
            lam_bar = 0.0
            if Delta >= 0.75:
                lam /= 4
        else:
            lam_bar = lam
        if Delta < 0.25:  # step 8
            lam += delta * (1 - Delta) / pp_tried
        if success:
            recorder.record(theta, J, gradient_norm=norm, scale=lam, step=alpha)
    nfev = objective.n_evals - evals0
    extra = {"n_products": products} if s.curvature != "difference" else {}
    result = OptimizeResult(x=theta, fun=J, success=stop[0] != 1, status=stop[0], message=stop[1],
                            nit=nit, nfev=nfev, njev=nfev, scale=lam, **extra)
    return theta, result
