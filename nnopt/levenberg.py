"""Levenberg-Marquardt and Bayesian regularization: MATLAB's trainlm and trainbr on numpy and SciPy.

``method="LM"`` minimizes nnopt's J(θ) in MATLAB's units, the summed cost

    F(θ) = J(θ)/scale = Σ_i w_i cost_i + (λ/2) Σ_{weights} Θ²,     scale = 1/Σw (1/m),

with gradient ∇F = ∇J/scale and generalized Gauss-Newton matrix G_D + λ I_W:
G_D = Σ_i w_i J_iᵀ H_L J_i (`nnopt.jacobian`), I_W the identity on the
non-bias weights, 0 on the biases. Each trial solves (G_D + λ I_W + μI) δ = −∇F;
θ + δ is kept if it lowers the cost, and then μ ← max(μ·mu_dec, 1e-20) and
the iteration is done; else θ stays, μ ← μ·mu_inc and another trial is
solved, until μ passes mu_max. For identity outputs with squared error
G_D = JᵀJ and ∇F = Jᵀe: δ = −(JᵀJ + μI)⁻¹Jᵀe, MATLAB's ``dX = -(jj+I*mu) \\ je``
(whose errors are not divided by m either). For the other (output, loss)
pairs G_D is the generalized Gauss-Newton matrix (Schraudolph 2002).

``method="BR"`` minimizes MacKay's negative log posterior in MATLAB's form

    F = β·E_D + α·E_W,    E_D = 2 Σ_i w_i cost_i,    E_W = Σ_{weights} Θ²,

E_D being the sum of squared errors for squared error (twice the
cross-entropy otherwise), by the steps above on F/2 = β·D + (α/2)·E_W,
D = Σ_i w_i cost_i: (β G_D + α I_W + μI) δ = −(β ∇D + α Θ_W), trainbr's
``dX = -(beta*jj + ii*(mu+alph)) \\ (beta*je + alph*X)``. After each accepted
step, at the new θ, with the α and β of the step,

    γ = N − 2α·tr_W((2β G_D + 2α I_W)⁻¹),   α = (γ − N_b)/(2 E_W),   β = (n − γ)/(2 E_D),

N the parameters, N_b of them biases, tr_W the trace over the weights'
rows, n = K·Σw the error terms (m·K). The start is trainbr's, every
parameter well determined: γ = N, β = (n − N)/(2 E_D), α = (N − N_b)/(2 E_W)
(1 where a formula is undefined or β ≤ 0). nnopt's J at λ = α/β equals
F·scale/(2β): the result's ``lam_equivalent``. ``lam`` is not used by BR.

Followed from MATLAB's trainlm and trainbr pages (mathworks.com/help/
deeplearning/ref/trainlm.html and trainbr.html): the steps; μ's schedule and
defaults (μ = 0.001 for trainlm, 0.005 for trainbr; mu_dec 0.1, mu_inc 10,
mu_max 1e10; min_grad 1e-7 as ``gtol``); an iteration (epoch) is one
accepted step, rejected trials count as evaluations only; stops at maxiter
(epochs, default 1000), at a gradient norm ≤ gtol, or when μ passes mu_max.
trainbr's start and updates of γ, α, β as its source computes them
(Foresee and Hagan 1997).

Departures:

- Every (output, loss) pair of nnopt, by the generalized Gauss-Newton
  matrix; trainlm needs mse or sse.
- Biases are not regularized, in LM (nnopt's λ) nor in BR, whose prior
  covers the weights only (trainbr's covers all of X): the biases have a
  flat prior, are well determined and count in γ (MacKay's classes with
  α_bias = 0), so γ ≤ N compares with trainbr's "effective # param". Bias
  directions the data leave undetermined (softmax's shift of all output
  biases, a dead unit's) are left out of the trace, which they do not change;
  α is kept above `ALPHA_FLOOR`·β·max G_D.
- BR with cross-entropy follows MacKay's classification evidence: the
  likelihood has no noise level, β stays ½ (F = D + α E_W), α is re-estimated.
- gtol bounds ‖∇F‖ for LM and ‖∇(F/2)‖ for BR, the function minimized.
- Matrix-free steps for large networks. No goal, time or validation stop:
  those come through the recorder, which may raise to end training.

Solvers: "dense" assembles G_D (N×N) and factors by Cholesky, chosen when
N²·8 bytes ≤ `DENSE_BYTES` (256 MiB, N ≤ 5792); it holds G and one working
copy. Above, "cg": conjugate gradients on exact Gauss-Newton products
(`nnopt.curvature.Curvature`, one per θ) to a relative residual ``cg_rtol``
in at most ``cg_maxiter`` products, a truncated Newton step as in
Hessian-free optimization (Martens 2010); the m·K × N Jacobian is never
formed. The CG iterates are taken from a Lanczos basis of G_F built once
per θ, which serves every μ a rejected trial tries (CG's iterates for all
shifts share one Krylov space), so a rejected trial costs one evaluation
and no product. BR needs the dense matrix.

Each accepted iteration is recorded with J (BR's at λ = α/β), its gradient
norm, ``mu``, and BR's ``alpha``, ``beta``, ``gamma``; the result's status
is 0 (gradient ≤ gtol), 1 (maxiter) or 2 (μ past mu_max).

References: K. Levenberg (1944); D. Marquardt (1963); M. T. Hagan and
M. B. Menhaj, IEEE Trans. Neural Networks 5 (1994); D. J. C. MacKay,
"Bayesian interpolation" and "The evidence framework applied to
classification networks", Neural Computation 4 (1992); F. D. Foresee and
M. T. Hagan, "Gauss-Newton approximation to Bayesian learning", ICNN 1997.
"""

import contextlib
import math
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, eigh
from scipy.linalg.lapack import dpotri
from scipy.optimize import OptimizeResult

from . import _validation as v
from ._dask import DaskProblem
from ._threads import scipy_blas_limited
from .krylov import ShiftedLanczos
from .record import gradient_or_limit
from .jacobian import gauss_newton_matrix, weight_mask

__all__ = ["DEFAULTS", "DEFAULT_MAXITER", "DENSE_BYTES", "prepare"]

#: MATLAB's epochs.
DEFAULT_MAXITER = 1000
#: The largest G_D the dense solver assembles: N ≤ 5792.
DENSE_BYTES = 256 * 2**20
DENSE_MAX = math.isqrt(DENSE_BYTES // 8)
#: trainlm's floor for μ after a decrease.
MU_MIN = 1e-20
#: A dense run whose G_D takes at most this many multiply-adds (m·K·N²) runs on one BLAS
#: thread: a second thread gains little on products this small, and on cores shared with
#: other work each product waits for it (bench_lm.py).
ONE_THREAD_FLOPS = 2**27
#: Bias directions with less curvature than this share of G_D's largest
#: diagonal entry are taken as undetermined by the data (`_trace_inverse`).
BIAS_CUTOFF = 1e-12
#: α is kept above this share of β times G_D's largest diagonal entry, so that β G_D + α I_W
#: stays positive definite when γ comes out at N_b (every weight left to the prior).
ALPHA_FLOOR = 1e-10

# cg_rtol and cg_maxiter: on the digits of benchmarks/bench_lm.py (e), 60 iterations from seed 0,
# (0.1, 10) ends at TNC's cost (J = 0.287) and more exact solves take more products than they
# save; MATLAB's μ schedule rejects about every other trial, which the shared basis makes cheap.
_COMMON = {"mu_dec": 0.1, "mu_inc": 10.0, "mu_max": 1e10, "gtol": 1e-7, "solver": None}
DEFAULTS = MappingProxyType({
    "lm": MappingProxyType({"mu": 1e-3, **_COMMON, "cg_rtol": 0.1, "cg_maxiter": 10}),
    "br": MappingProxyType({"mu": 5e-3, **_COMMON}),
})


class Settings(NamedTuple):
    """A run's checked options."""

    mu: float
    mu_dec: float
    mu_inc: float
    mu_max: float
    gtol: float
    solver: str
    cg_rtol: float
    cg_maxiter: int
    maxiter: int


def prepare(method, maxiter, options, n_params):
    """Check a run's settings before any work; return the run, its arguments and its iteration count.

    Parameters
    ----------
    method : {"LM", "BR"}
        Case does not matter.
    maxiter : int or None
        Accepted steps at most; None is `DEFAULT_MAXITER`.
    options : dict
        Any of `DEFAULTS`' keys for the method: ``mu``, ``mu_dec``, ``mu_inc``,
        ``mu_max``, ``gtol``, ``solver`` ({None, "dense", "cg"}; None picks
        by size) and, for LM's "cg", ``cg_rtol`` and ``cg_maxiter``.
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
    key = method.lower() if isinstance(method, str) else method
    if key not in DEFAULTS:
        raise ValueError(f"method must be 'LM' or 'BR'; got {method!r}")
    opts = v.method_options(options, DEFAULTS[key], method)
    mu = v.check_real(opts["mu"], "mu", "> 0", lambda x: x > 0)
    mu_dec = v.check_real(opts["mu_dec"], "mu_dec", "in (0, 1)", lambda x: 0 < x < 1)
    mu_inc = v.check_real(opts["mu_inc"], "mu_inc", "> 1", lambda x: x > 1)
    mu_max = v.check_real(opts["mu_max"], "mu_max", f"> mu = {mu:g}", lambda x: x > mu)
    gtol = v.check_real(opts["gtol"], "gtol", ">= 0", lambda x: x >= 0)
    n_params = v.check_int(n_params, "n_params", 1)
    solver = _check_solver(opts["solver"], key, n_params)
    cg_rtol = cg_maxiter = None
    if key == "lm":
        cg_rtol = v.check_real(opts["cg_rtol"], "cg_rtol", "in (0, 1)", lambda x: 0 < x < 1)
        cg_maxiter = v.check_int(opts["cg_maxiter"], "cg_maxiter", 1)
    steps = v.check_int(maxiter, "maxiter", 1, allow_none=True) or DEFAULT_MAXITER
    settings = Settings(mu, mu_dec, mu_inc, mu_max, gtol, solver, cg_rtol, cg_maxiter, steps)
    return (_run_lm if key == "lm" else _run_br), (settings,), steps


def _check_solver(solver, key, n_params):
    if solver not in (None, "dense", "cg"):
        raise ValueError(f"solver must be None (chosen by size), 'dense' or 'cg'; got {solver!r}")
    fits = n_params <= DENSE_MAX
    need = f"{n_params}² · 8 bytes = {n_params**2 * 8 / 2**20:.0f} MiB"
    if key == "br":
        if solver == "cg":
            raise ValueError("method 'BR' needs the dense Gauss-Newton matrix for γ: "
                             "solver='cg' is for 'LM'")
        if not fits:
            raise ValueError(f"method 'BR' holds the N×N Gauss-Newton matrix, {need}, above the limit of "
                             f"{DENSE_BYTES // 2**20} MiB (N ≤ {DENSE_MAX}); use a smaller network, or "
                             "'LM' with lam, which solves matrix-free")
        return "dense"
    if solver == "dense" and not fits:
        raise ValueError(f"solver='dense' would hold the N×N Gauss-Newton matrix, {need}, above the limit "
                         f"of {DENSE_BYTES // 2**20} MiB (N ≤ {DENSE_MAX}); use solver='cg' or None")
    return solver or ("dense" if fits else "cg")


# ---------------------------------------------------------------- points, steps and solvers


class _Point(NamedTuple):
    """One evaluation: θ, nnopt's J and ∂J/∂θ (the objective's λ), and E_W = Σ_{weights} Θ²."""

    theta: np.ndarray
    J: float
    g: np.ndarray
    EW: float


def _evaluate(objective, theta, mask):
    # a trial far out may overflow inside the forward pass: J is then inf or NaN and rejected
    with np.errstate(over="ignore", invalid="ignore"):
        J, g = objective(theta)
    weights = theta[mask]
    return _Point(theta, J, g, float(weights @ weights))


def _data(point, p, mask):
    """D = Σ_i w_i cost_i and ∇D at a point: J and ∂J/∂θ without λ's terms, times Σw."""
    gD = point.g / p.scale
    if not p.lam:
        return point.J / p.scale, gD
    gD[mask] -= p.lam * point.theta[mask]
    return point.J / p.scale - p.lam / 2 * point.EW, gD


class _Dense:
    """(c·G_D + ρ·I_W + μI) δ = −∇Φ by Cholesky, for any μ, G_D assembled once per θ."""

    def __init__(self, G, c, rho, mask):
        G *= c  # taken over: no one reads G_D after its step is built
        G.flat[::G.shape[0] + 1] += rho * mask
        self.A = G
        self.products = 0

    def __call__(self, gradient, mu):
        A = self.A.copy()
        A.flat[::A.shape[0] + 1] += mu
        try:
            factor = cho_factor(A, lower=True, overwrite_a=True, check_finite=False)
        except LinAlgError:  # μ too small for the rounding of G: a larger μ is tried (MATLAB's flag_inv)
            return None
        return -cho_solve(factor, gradient, check_finite=False)


def _solver(point, p, s, mask):
    """LM's solver at a point: G_F = G_D + λ I_W whole, or its products."""
    if s.solver == "cg":
        return ShiftedLanczos(point.theta, p, s.cg_rtol, s.cg_maxiter)
    return _Dense(gauss_newton_matrix(point.theta, p), 1.0, p.lam, mask)


def _step(objective, point, gradient, solve, cost, mu, s, mask):
    """MATLAB's inner loop: raise μ by mu_inc until a step lowers `cost`.

    Returns (the new point, μ·mu_dec), or (None, μ) once μ passes mu_max;
    a rejected trial leaves θ as it was.
    """
    current = cost(point)
    while mu <= s.mu_max:
        delta = solve(gradient, mu)
        if delta is not None and np.isfinite(delta).all():
            trial = _evaluate(objective, point.theta + delta, mask)
            if cost(trial) < current:  # False for NaN
                return trial, max(mu * s.mu_dec, MU_MIN)
        mu *= s.mu_inc
    return None, mu


def _problem(objective):
    if isinstance(objective.problem, DaskProblem):
        raise ValueError("'LM' and 'BR' read X block by block on this machine for their Gauss-Newton "
                         "steps; a Dask array is not supported: compute it into memory (X.compute()) or "
                         "use 'L-BFGS-B', 'TNC', 'CG' or 'gd'")
    return objective.problem


def _stopped(gradient, nit, s):
    """The status and message if a run stops before its next step, else None."""
    return gradient_or_limit(float(np.linalg.norm(gradient)), nit, s.gtol, s.maxiter)


def _mu_max_reached(mu, s):
    return 2, (f"mu reached {mu:.3g}, above mu_max = {s.mu_max:g}: no step lowers the cost, a minimum "
               "to the precision of the arithmetic (MATLAB's 'Maximum MU reached').")


def _result(point, status, message, nit, objective, evals0, fun, **extra):
    nfev = objective.n_evals - evals0
    return OptimizeResult(x=point.theta, fun=fun, success=status != 1, status=status, message=message,
                          nit=nit, nfev=nfev, njev=nfev, **extra)


# ---------------------------------------------------------------- the two runs


def _threads(p, s):
    """The BLAS threads of a run: SciPy's own BLAS, left spinning after each Cholesky, would
    take the cores from numpy's (`nnopt._threads`); small dense runs use one thread."""
    limits = contextlib.ExitStack()
    limits.enter_context(scipy_blas_limited())
    if s.solver == "dense" and p.m * p.net.K * p.net.n_params ** 2 <= ONE_THREAD_FLOPS:
        from threadpoolctl import threadpool_limits
        limits.enter_context(threadpool_limits(limits=1, user_api="blas"))
    return limits


def _run_lm(objective, theta0, recorder, s):
    """Levenberg-Marquardt on F = J/scale, recording each accepted step."""
    p = _problem(objective)
    with _threads(p, s):
        return _lm(objective, p, theta0, recorder, s)


def _lm(objective, p, theta0, recorder, s):
    mask = weight_mask(p.net)
    evals0 = objective.n_evals
    point, mu, nit, products = _evaluate(objective, np.array(theta0, dtype=np.float64), mask), s.mu, 0, 0
    while True:
        gradient = point.g / p.scale  # ∇F
        stop = _stopped(gradient, nit, s)
        if stop:
            break
        solve = _solver(point, p, s, mask)
        new, mu = _step(objective, point, gradient, solve, lambda q: q.J, mu, s, mask)
        products += solve.products
        if new is None:
            stop = _mu_max_reached(mu, s)
            break
        point, nit = new, nit + 1
        recorder.record(point.theta, point.J, gradient_norm=float(np.linalg.norm(point.g)), mu=mu)
    extra = {"n_products": products} if s.solver == "cg" else {}
    return point.theta, _result(point, *stop, nit, objective, evals0, point.J, mu=mu, **extra)


def _run_br(objective, theta0, recorder, s):
    """Bayesian regularization: LM steps on F/2 = β·D + (α/2)·E_W, α and β re-estimated after each."""
    p = _problem(objective)
    with _threads(p, s):
        return _br(objective, p, theta0, recorder, s)


def _br(objective, p, theta0, recorder, s):
    net, mask = p.net, weight_mask(p.net)
    N, N_b, n = net.n_params, int((~mask).sum()), net.K / p.scale
    noise = net.loss == "squared_error"
    evals0 = objective.n_evals
    point, mu, nit = _evaluate(objective, np.array(theta0, dtype=np.float64), mask), s.mu, 0
    D, gD = _data(point, p, mask)
    G = gauss_newton_matrix(point.theta, p)
    gamma = float(N)  # trainbr's start: every parameter well determined
    alpha, beta = _hyperparameters(gamma, N_b, D, point.EW, n, noise, G)
    while True:
        gradient = beta * gD + alpha * point.theta * mask  # ∇(F/2)
        stop = _stopped(gradient, nit, s)
        if stop:
            break
        solve = _Dense(G, beta, alpha, mask)
        new, mu = _step(objective, point, gradient, solve,
                        lambda q: beta * _data(q, p, mask)[0] + alpha / 2 * q.EW, mu, s, mask)
        if new is None:
            stop = _mu_max_reached(mu, s)
            break
        point, nit = new, nit + 1
        D, gD = _data(point, p, mask)
        G = gauss_newton_matrix(point.theta, p)  # for γ now and the next step
        gamma = N - alpha * _trace_inverse(G, beta, alpha, mask)
        alpha, beta = _hyperparameters(gamma, N_b, D, point.EW, n, noise, G)
        lam = alpha / beta
        recorder.record(point.theta, p.scale * (D + lam / 2 * point.EW),
                        gradient_norm=p.scale * float(np.linalg.norm(gD + lam * point.theta * mask)),
                        mu=mu, alpha=alpha, beta=beta, gamma=gamma)
    lam = alpha / beta
    return point.theta, _result(point, *stop, nit, objective, evals0, p.scale * (D + lam / 2 * point.EW),
                                mu=mu, alpha=alpha, beta=beta, gamma=gamma, lam_equivalent=lam)


def _hyperparameters(gamma, N_b, D, EW, n, noise, G):
    """α = (γ − N_b)/(2E_W) and β = (n − γ)/(2E_D), E_D = 2D; trainbr's 1 where they are undefined."""
    alpha = (gamma - N_b) / (2 * EW) if EW > 0 else 1.0
    beta = 0.5  # cross-entropy: the likelihood's own scale, F = D + α E_W
    if noise:
        beta = (n - gamma) / (4 * D) if D > 0 else 1.0
        beta = beta if beta > 0 else 1.0
    return max(alpha, ALPHA_FLOOR * beta * G.diagonal().max()), beta


def _trace_inverse(G, beta, alpha, mask):
    """tr_W(A⁻¹), A = β G_D + α I_W: the sum of A⁻¹'s diagonal over the weights.

    The biases have no prior, so A is singular along a bias direction the
    data do not determine (softmax's shift of every output bias, a dead or
    saturated unit's bias). Such a direction moves no weight and adds
    nothing to the weights' block of the inverse: the bias block is taken on
    the directions whose curvature is above `BIAS_CUTOFF` of G_D's largest
    diagonal entry (all of them, when A is well conditioned).
    """
    W, B = np.flatnonzero(mask), np.flatnonzero(~mask)
    curvature, Q = eigh(G[np.ix_(B, B)])  # the bias block in its eigenvectors' basis
    kept = curvature > BIAS_CUTOFF * max(G.diagonal().max(), np.finfo(float).tiny)
    GWB = G[np.ix_(W, B)] @ Q[:, kept]
    A = beta * np.block([[G[np.ix_(W, W)], GWB], [GWB.T, np.diag(curvature[kept])]])
    A.flat[:W.size * (A.shape[0] + 1):A.shape[0] + 1] += alpha
    factor, _ = cho_factor(A, lower=True, overwrite_a=True, check_finite=False)
    inverse, _ = dpotri(factor, lower=1, overwrite_c=1)
    return float(inverse.diagonal()[:W.size].sum())
