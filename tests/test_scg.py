"""Møller's scaled conjugate gradient (nnopt.scg), against a reference written here and SciPy.

The independent references: Møller's algorithm (Neural Networks 6, 1993,
steps 1-9, with the difference of gradients) written out below in plain
numpy on J(θ) and its gradient alone, following the paper's own
bookkeeping (the scaled s_k kept as a vector, p and r swapped at the end);
the minimizer of convex problems by SciPy's L-BFGS-B and, for least
squares, by numpy's lstsq; and Rosenbrock's function from SciPy.
"""

import numpy as np
import pytest
from scipy.optimize import minimize, rosen, rosen_der, rosen_hess_prod

import nnopt
from nnopt import scg
from stand_ins import Recorder, Stop, default_run_on_the_digits


class Logged:
    """An objective that keeps every θ it is evaluated at (the σ-points and the trials)."""

    def __init__(self, objective):
        self.objective, self.points = objective, []

    def __call__(self, theta):
        self.points.append(np.array(theta))
        return self.objective(theta)

    def __getattr__(self, name):  # n_evals, problem, hessp, gauss_newton
        return getattr(self.objective, name)


class Function:
    """J and its gradient from plain functions, with the attributes a run reads."""

    def __init__(self, f, grad, hessp=None):
        self.f, self.grad, self._hessp = f, grad, hessp
        self.n_evals, self.points = 0, []

    def __call__(self, theta):
        self.n_evals += 1
        self.points.append(np.array(theta))
        return float(self.f(theta)), np.array(self.grad(theta), dtype=np.float64)

    def hessp(self, theta, v):
        return self._hessp(theta, v)

    gauss_newton = hessp


def run(objective, theta0, maxiter=None, recorder=None, **options):
    fn, args, _ = scg.prepare("SCG", maxiter, options, theta0.size)
    recorder = recorder or Recorder()
    theta, result = fn(objective, theta0, recorder, *args)
    return theta, result, recorder.entries


# ---------------------------------------------------------------- the reference


def moller(f, w, n_steps, sigma=5e-5, lam=5e-7, N=None):
    """Møller's SCG with the difference of gradients, for `n_steps` accepted steps.

    `f(w) -> (E, E')`. Conventions of nnopt.scg's docstring where the paper
    leaves a choice: a restart after every N accepted steps, and a trial
    whose E is not finite taken as Δ = −2.

    Returns the points evaluated (in order), the accepted steps as
    (w, λ after the step, α), each trial's Δ, and how often step 4 acted.
    """
    points = []

    def E(x):
        points.append(x.copy())
        return f(x)

    N = N or w.size
    w = w.copy()
    Ew, gw = E(w)
    r = -gw
    p = r.copy()
    lam_bar, success, k, steps, step4, Deltas = 0.0, True, 0, [], 0, []
    while k < n_steps:
        pp = p @ p
        if success:  # 2
            sigma_k = sigma / np.sqrt(pp)
            s = (E(w + sigma_k * p)[1] + r) / sigma_k
            delta = p @ s
        s = s + (lam - lam_bar) * p  # 3
        delta = delta + (lam - lam_bar) * pp
        if delta <= 0:  # 4
            step4 += 1
            s = s + (lam - 2 * delta / pp) * p
            lam_bar = 2 * (lam - delta / pp)
            delta = -delta + lam * pp
            lam = lam_bar
        mu = p @ r  # 5
        alpha = mu / delta
        E_new, g_new = E(w + alpha * p)  # 6
        Delta = 2 * delta * (Ew - E_new) / mu**2 if np.isfinite(E_new) else -2.0
        Deltas.append(Delta)
        if Delta >= 0:  # 7
            w = w + alpha * p
            Ew, r_new = E_new, -g_new
            lam_bar, success, k = 0.0, True, k + 1
            if k % N == 0:
                p_next = r_new
            else:
                beta = (r_new @ r_new - r_new @ r) / mu
                p_next = r_new + beta * p
            if Delta >= 0.75:
                lam = lam / 4
        else:
            lam_bar, success = lam, False
            p_next, r_new = p, r
        if Delta < 0.25:  # 8, with this iteration's p_k
            lam = lam + delta * (1 - Delta) / pp
        p, r = p_next, r_new
        if Delta >= 0:
            steps.append((w, lam, alpha))
    return points, steps, Deltas, step4


def network(sizes, output, seed, scale=1.0, lam=0.01, m=30):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, sizes[0]))
    obj = nnopt.Objective(X, rng.integers(0, sizes[-1], m), lam, sizes, output=output)
    return obj, nnopt.random_init(sizes, seed=seed) * scale


# ---------------------------------------------------------------- iterate by iterate


# small networks (N = 14: the restart after N steps comes twice in 30), started where the
# quadratic model is poor enough that trials are rejected, step 4 acts, and a step is taken with
# Δ < 0.25 (step 8 after step 7)
@pytest.mark.parametrize("sizes, output, seed, scale", [((3, 2, 2), "sigmoid", 4, 2.0),
                                                        ((3, 2, 2), "softmax", 0, 5.0)])
def test_the_difference_version_is_mollers_algorithm_iterate_by_iterate(sizes, output, seed, scale):
    obj, theta0 = network(sizes, output, seed, scale)
    points, steps, Deltas, step4 = moller(obj, theta0, 30)
    logged = Logged(obj)
    theta, result, entries = run(logged, theta0, maxiter=30, curvature="difference")

    assert len(entries) == result.nit == 30 and result.status == 1
    assert len(logged.points) == len(points) == result.nfev
    Deltas = np.array(Deltas)  # the test reaches steps 4, 7's else, 7 with 8, and 7's λ/4:
    assert step4 >= 1 and np.sum(Deltas < 0) >= 2 and np.any((0 <= Deltas) & (Deltas < 0.25))
    assert np.any(Deltas >= 0.75)
    for a, b in zip(logged.points, points):  # every σ-point and trial, in the same order
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for entry, (w, lam, alpha) in zip(entries, steps):
        np.testing.assert_allclose(entry["theta"], w, rtol=1e-10, atol=1e-12)
        assert entry["scale"] == pytest.approx(lam, rel=1e-8)
        assert entry["step"] == pytest.approx(alpha, rel=1e-8)
        J, g = obj(entry["theta"])
        assert entry["J"] == J and entry["gradient_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-14)
    assert np.array_equal(theta, entries[-1]["theta"]) and result.fun == entries[-1]["J"]


def linear_regression(m=40, n=6, K=2, seed=0):
    """Least squares with an identity-output network of no hidden layer: J is quadratic."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n)) * np.geomspace(1, 10, n)  # conditioned so that CG takes its N steps
    Y = X @ rng.normal(size=(n, K)) + rng.normal(size=(m, K))
    return X, Y, nnopt.Objective(X, Y, 0.0, (n, K), output="identity")


def test_exact_products_follow_the_difference_iterates_on_a_quadratic():
    # J quadratic: the difference of gradients is H·p up to rounding, and H = G. Well
    # conditioned and far from converged in 10 steps, so that the rounding of the differences
    # (~1e-11 of a step) is not yet amplified by the loss of conjugacy CG shows near the end.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 20)) * np.geomspace(1, 3, 20)
    obj = nnopt.Objective(X, X @ rng.normal(size=20) + rng.normal(size=100), 0.0, (20, 1),
                          output="identity")
    theta0 = nnopt.random_init((20, 1), seed=1)
    theta_d, result_d, entries_d = run(obj, theta0, maxiter=10, curvature="difference")
    assert result_d.nfev == 1 + 2 * 10  # θ0, then a σ-point and a trial per step
    for curvature in ("hessian", "gauss-newton"):
        theta, result, entries = run(obj, theta0, maxiter=10, curvature=curvature)
        assert result.n_products == 10 and result.nfev == 1 + 10  # θ0, then one product, one trial
        assert len(entries) == len(entries_d) == 10
        for a, b in zip(entries, entries_d):
            np.testing.assert_allclose(a["theta"], b["theta"], rtol=0, atol=1e-9 * np.abs(b["theta"]).max())
            assert a["step"] == pytest.approx(b["step"], rel=1e-9)
            assert a["scale"] == pytest.approx(b["scale"], rel=1e-12)
        assert entries[-1]["gradient_norm"] > 1e-3  # not yet at the minimum


def test_on_a_quadratic_it_is_conjugate_gradients_and_ends_at_least_squares():
    # λ_k small and the model exact: every step is taken with Δ ≈ 1 (λ_k/4 each time), and
    # conjugate gradients end within N = 14 steps, up to rounding
    X, Y, obj = linear_regression()
    A = np.column_stack([np.ones(len(X)), X])
    W = np.linalg.lstsq(A, Y, rcond=None)[0]  # (n+1, K): bias row first
    theta, result, entries = run(obj, nnopt.random_init((6, 2), seed=1), gtol=1e-9,
                                 curvature="hessian")
    assert result.status == 0 and result.nit <= 14 and result.nfev == 1 + result.nit
    np.testing.assert_allclose(theta, W.T.ravel(), rtol=0, atol=1e-9)
    scales = [e["scale"] for e in entries]
    assert scales[:10] == pytest.approx([5e-7 / 4 ** (k + 1) for k in range(10)], rel=1e-12)


# ---------------------------------------------------------------- convex problems


@pytest.mark.parametrize("curvature", scg.CURVATURES)
@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_logistic_regression_reaches_lbfgsb_minimum(output, curvature):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 5))
    y = (X[:, :3] @ rng.normal(size=3) + rng.normal(size=200) > 0).astype(int) + (X[:, 3] > 0.5)
    obj = nnopt.Objective(X, y, 0.1, (5, 3), output=output)
    theta0 = nnopt.random_init((5, 3), seed=0)
    reference = minimize(obj, theta0, jac=True, method="L-BFGS-B",
                         options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 10_000, "maxcor": 30})
    theta, result, entries = run(obj, theta0, maxiter=2000, gtol=1e-9, curvature=curvature)
    assert result.status == 0 and result.success and np.linalg.norm(obj(theta)[1]) <= 1e-9
    assert abs(result.fun - reference.fun) <= 1e-8
    assert result.fun <= reference.fun + 1e-12  # SciPy's is no lower: both at the minimum
    np.testing.assert_allclose(theta, reference.x, atol=1e-6)
    costs = [e["J"] for e in entries]
    assert all(b <= a for a, b in zip(costs, costs[1:]))  # Δ ≥ 0: no step raises J


def test_rosenbrock():
    # the classic test of a method without line search: from (−1.2, 1) to (1, 1)
    f = Function(rosen, rosen_der, rosen_hess_prod)
    for curvature in scg.CURVATURES:
        theta, result, entries = run(f, np.array([-1.2, 1.0]), maxiter=2000, gtol=1e-8, curvature=curvature)
        assert result.status == 0, result.message
        np.testing.assert_allclose(theta, [1.0, 1.0], atol=1e-7)
        assert result.nfev < result.nit * 3 + 1  # a few rejected trials, not a line search's many


# ---------------------------------------------------------------- rejected trials and stops


def test_a_rejected_trial_leaves_theta_and_a_nonfinite_one_quarters_the_step():
    # J = −log(1 − |θ|²) + θ·c is finite inside the unit disc only: the first trial
    # overshoots it, and each rejection cuts the step to a quarter until a trial lands inside
    c = np.array([30.0, -10.0])

    def J(t):
        q = 1 - t @ t
        return -np.log(q) + t @ c if q > 0 else np.inf

    def grad(t):
        return 2 * t / (1 - t @ t) + c

    f = Function(J, grad)
    theta0 = np.array([0.1, 0.0])
    theta, result, entries = run(f, theta0, maxiter=1, curvature="difference")
    trials = f.points[2:]  # θ0, its σ-point, then the trials
    assert len(trials) >= 3 and result.nit == 1 and len(entries) == 1
    costs = [J(t) for t in trials]
    assert all(np.isinf(costs[:-1])) and np.isfinite(costs[-1]) and costs[-1] < J(theta0)
    d0 = trials[0] - theta0
    for k, t in enumerate(trials):  # every trial from θ0, along the same p
        np.testing.assert_allclose(t - theta0, d0 / 4**k, rtol=1e-12, atol=1e-15)
    assert np.array_equal(theta, trials[-1]) and result.nfev == len(trials) + 2
    length = np.linalg.norm(d0) / 4 ** (len(trials) - 1)  # α|p|, p = −∇J(θ0)
    assert entries[0]["step"] * np.linalg.norm(grad(theta0)) == pytest.approx(length, rel=1e-12)


def test_a_worse_trial_is_rejected_and_the_next_step_shrinks_by_mollers_rule():
    # Σ log cosh θ_i is nearly flat at θ0 = (3, 0.5) along θ_1: the first trial overshoots to a
    # higher J (finite). Rejected, θ stays; δ ← δ(2 − Δ) by steps 8 and 3, so α ← α/(2 − Δ).
    f = Function(lambda t: np.sum(np.log(np.cosh(t))), np.tanh)
    theta0 = np.array([3.0, 0.5])
    J0, g0 = f.f(theta0), np.tanh(theta0)
    theta, result, entries = run(f, theta0, maxiter=1, curvature="difference")
    trials = f.points[2:]
    costs = [f.f(t) for t in trials]
    assert len(trials) >= 2 and all(c > J0 for c in costs[:-1]) and costs[-1] <= J0
    for t, c, t_next in zip(trials, costs, trials[1:]):
        step = t - theta0  # along p = −∇J(θ0), from θ0 each time
        assert step[0] * g0[1] - step[1] * g0[0] == pytest.approx(0, abs=1e-12 * np.linalg.norm(step))
        Delta = 2 * (J0 - c) / (np.linalg.norm(step) * np.linalg.norm(g0))  # α μ = |αp|·|r|, p = r
        assert np.linalg.norm(t_next - theta0) == pytest.approx(np.linalg.norm(step) / (2 - Delta),
                                                               rel=1e-9)
    assert np.array_equal(theta, trials[-1]) and result.nit == 1 and result.nfev == len(trials) + 2


def test_each_reason_to_stop_is_reported():
    X, Y, obj = linear_regression()
    theta0 = nnopt.random_init((6, 2), seed=1)
    theta, result, entries = run(obj, theta0, maxiter=1)
    assert (result.status, result.success, result.nit, len(entries)) == (1, False, 1, 1)
    assert "maxiter" in result.message and result.nfev == 2 and result.n_products == 1
    theta, result, entries = run(obj, theta0, maxiter=5, gtol=1e6)
    assert (result.status, result.success, result.nit, entries) == (0, True, 0, [])
    assert "gtol" in result.message and np.array_equal(theta, theta0)
    # gtol = 0 asks for more than rounding allows: at the minimum the steps shrink away
    theta, result, entries = run(obj, theta0, maxiter=10_000, gtol=0.0)
    assert result.status == 2 and result.success and "too small to change θ" in result.message
    assert result.nit < 100 and np.linalg.norm(obj(theta)[1]) < 1e-9
    # a cost that is not a number is never lowered: every trial is rejected, each a quarter of the
    # one before, until the step no longer moves θ
    f = Function(lambda t: np.nan, lambda t: t)
    theta, result, entries = run(f, np.array([1.0, 2.0]), curvature="difference")
    assert (result.status, result.nit, entries) == (2, 0, []) and np.array_equal(theta, [1.0, 2.0])
    assert "the cost at θ is nan" in result.message
    assert 20 < result.nfev < 40


def test_the_restart_option_gives_steepest_descent():
    obj, theta0 = network((3, 2, 2), "softmax", 2)
    theta, result, entries = run(obj, theta0, maxiter=6, restart=1, curvature="gauss-newton")
    previous = theta0
    for entry in entries:  # each step along −∇J at its start
        step, g = entry["theta"] - previous, obj(previous)[1]
        assert abs(step @ -g) == pytest.approx(np.linalg.norm(step) * np.linalg.norm(g), rel=1e-12)
        previous = entry["theta"]


def test_the_recorders_exception_is_not_caught():
    obj, theta0 = network((3, 2, 2), "softmax", 2)
    with pytest.raises(Stop):
        run(obj, theta0, maxiter=50, recorder=Recorder(limit=2))


def test_prepare_checks_the_options_before_any_work():
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['lambda'\] for method 'SCG'; it takes "
                                         r"\['curvature', 'gtol', 'restart', 'scale0', 'sigma'\]"):
        scg.prepare("SCG", None, {"lambda": 1e-6}, 10)
    with pytest.raises(ValueError, match="sigma must be a finite number > 0; got 0"):
        scg.prepare("SCG", None, {"sigma": 0}, 10)
    with pytest.raises(ValueError, match="scale0 must be a finite number > 0; got -1"):
        scg.prepare("SCG", None, {"scale0": -1}, 10)
    with pytest.raises(TypeError, match="scale0 must be a real number > 0; got '1e-6'"):
        scg.prepare("SCG", None, {"scale0": "1e-6"}, 10)
    with pytest.raises(ValueError, match="gtol must be a finite number >= 0; got nan"):
        scg.prepare("SCG", None, {"gtol": float("nan")}, 10)
    with pytest.raises(ValueError, match=r"curvature must be one of \['difference', 'hessian', "
                                         r"'gauss-newton'\]; got 'exact'"):
        scg.prepare("SCG", None, {"curvature": "exact"}, 10)
    with pytest.raises(ValueError, match="restart must be >= 1; got 0"):
        scg.prepare("SCG", None, {"restart": 0}, 10)
    with pytest.raises(TypeError, match="restart must be a whole number >= 1 or None; got 2.5"):
        scg.prepare("SCG", None, {"restart": 2.5}, 10)
    with pytest.raises(ValueError, match="maxiter must be >= 1; got 0"):
        scg.prepare("SCG", 0, {}, 10)
    with pytest.raises(ValueError, match="method must be 'SCG'; got 'trainscg'"):
        scg.prepare("trainscg", None, {}, 10)
    with pytest.raises(TypeError, match="options must be a dict; got list"):
        scg.prepare("SCG", None, [], 10)
    run_, (settings,), limit = scg.prepare("scg", None, {}, 10)
    assert limit == settings.maxiter == scg.DEFAULT_MAXITER and settings.restart == 10
    assert (settings.sigma, settings.scale0, settings.gtol) == (5e-5, 5e-7, 1e-6)  # trainscg's
    assert settings.curvature == scg.DEFAULTS["curvature"] == "gauss-newton"


# ---------------------------------------------------------------- the digits


def test_the_default_run_reaches_92_percent_held_out_on_the_digits():
    model, score, seconds = default_run_on_the_digits("SCG")
    assert model.layer_sizes == (784, 25, 10) and model.n_iter == scg.DEFAULT_MAXITER == 150
    # train evaluates θ0 itself; then one trial per step (no rejection here) and one G·p product
    assert model.n_evals == 151 and model.result.n_products == 150 and model.result.status == 1
    assert score >= 0.92, f"after {seconds:.1f} s"
