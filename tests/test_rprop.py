"""Resilient backpropagation, iRprop⁺ (nnopt.rprop), against references written here.

The independent references: Igel and Hüsken's iRprop⁺ as a plain loop over
the weights, one branch per case of their pseudocode; a two-parameter
quadratic whose trajectory is worked out by hand below; PyTorch's Rprop,
which is iRprop⁻ (no backtracking), where the cost never rises.
"""

import math

import numpy as np
import pytest

import nnopt
from nnopt import rprop
from nnopt.errors import ConvergenceWarning
from stand_ins import Recorder, Stop, default_run_on_the_digits

SIZES = (4, 3, 2)


def run(objective, theta0, maxiter=None, recorder=None, **options):
    fn, args, limit = rprop.prepare("Rprop", maxiter, options, theta0.size)
    recorder = recorder or Recorder()
    theta, result = fn(objective, theta0, recorder, *args)
    return theta, result, recorder.entries


def problem(seed, lam=0.0, weighted=False, m=12):
    """Random data for a 4-3-2 network: the Objective under test, a second one for the
    references (its own evaluations), and θ0."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, SIZES[0]))
    y = rng.integers(0, SIZES[-1], m)
    w = rng.uniform(0.5, 2.0, m) if weighted else None
    make = lambda: nnopt.Objective(X, y, lam, SIZES, sample_weight=w)  # noqa: E731
    return make(), make(), nnopt.random_init(SIZES, seed=seed)


# ---------------------------------------------------------------- the reference


def irprop_plus(f, theta0, iterations, delta0=0.07, delta_inc=1.2, delta_dec=0.5, delta_max=50.0,
                delta_min=1e-6):
    """Igel and Hüsken's iRprop⁺, weight by weight, in Python floats.

    `f(theta) -> (E, gradient)`. Returns θ after each iteration, Δ after each
    iteration's update, the count of weights whose step was undone in each,
    and how often each branch was taken (to show the cases were exercised).
    """
    w = [float(t) for t in theta0]
    n = len(w)
    delta = [delta0] * n
    last_grad = [0.0] * n  # ∂E/∂w of the last iteration, 0 after a change of sign
    last_dw = [0.0] * n
    last_E = None
    thetas, deltas, undone = [], [], []
    branches = {"same": 0, "changed": 0, "zero": 0, "clamped_max": 0, "clamped_min": 0}
    E, grad = f(np.array(w))
    for _ in range(iterations):
        count = 0
        for i in range(n):
            d = grad[i]
            if last_grad[i] * d > 0:
                branches["same"] += 1
                if delta[i] * delta_inc > delta_max:
                    branches["clamped_max"] += 1
                delta[i] = min(delta[i] * delta_inc, delta_max)
                dw = -delta[i] if d > 0 else delta[i]
                w[i] += dw
                last_dw[i] = dw
                last_grad[i] = d
            elif last_grad[i] * d < 0:
                branches["changed"] += 1
                if delta[i] * delta_dec < delta_min:
                    branches["clamped_min"] += 1
                delta[i] = max(delta[i] * delta_dec, delta_min)
                if E > last_E:
                    w[i] -= last_dw[i]
                    count += 1
                last_grad[i] = 0.0
            else:
                branches["zero"] += 1
                dw = -delta[i] if d > 0 else (delta[i] if d < 0 else 0.0)
                w[i] += dw
                last_dw[i] = dw
                last_grad[i] = d
        last_E = E
        E, grad = f(np.array(w))
        thetas.append(np.array(w))
        deltas.append(np.array(delta))
        undone.append(count)
    return thetas, deltas, undone, branches


CASES = {
    "defaults": (dict(lam=0.0), {}),
    "lam_and_weights": (dict(lam=0.7, weighted=True), {}),
    # steps large enough that the cost rises (backtracking), and both bounds of Δ reached
    "backtracking_and_bounds": (dict(lam=0.1, weighted=True),
                                {"delta0": 1.0, "delta_max": 1.1, "delta_dec": 0.2, "delta_min": 0.3}),
}


@pytest.mark.parametrize("case", CASES)
def test_ten_iterations_are_those_of_a_weight_by_weight_irprop_plus(case):
    kwargs, options = CASES[case]
    obj, ref_obj, theta0 = problem(3, **kwargs)
    theta, result, entries = run(obj, theta0, maxiter=10, gtol=0.0, **options)
    thetas, deltas, undone, branches = irprop_plus(ref_obj, theta0, 10, **options)

    assert result.nit == len(entries) == 10 and result.status == 1 and not result.success
    for k, entry in enumerate(entries):
        np.testing.assert_allclose(entry["theta"], thetas[k], rtol=0, atol=1e-12,
                                   err_msg=f"θ of iteration {k + 1}")
        assert entry["step"] == pytest.approx(np.mean(deltas[k]), rel=0, abs=1e-12)
        assert entry["reverted"] == undone[k]
    np.testing.assert_allclose(result.delta, deltas[-1], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(theta, entries[-1]["theta"])
    # each row of the rule was taken; the last case also backtracks and meets both bounds of Δ
    assert branches["same"] and branches["changed"] and branches["zero"] > theta0.size
    if case == "backtracking_and_bounds":
        assert sum(undone) > 0 and branches["clamped_max"] and branches["clamped_min"]


def test_what_is_recorded_is_the_cost_and_gradient_of_the_recorded_theta():
    obj, fresh, theta0 = problem(5, lam=0.3, weighted=True)
    before = theta0.copy()
    theta, result, entries = run(obj, theta0, maxiter=8)
    np.testing.assert_array_equal(theta0, before)  # not modified
    for entry in entries:
        J, g = fresh(entry["theta"])
        assert entry["J"] == pytest.approx(J, rel=1e-13)
        assert entry["gradient_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-12)
    assert result.fun == entries[-1]["J"]
    # one evaluation at θ0, then one per iteration, each with its gradient
    assert result.nfev == result.njev == obj.n_evals == 9


# ---------------------------------------------------------------- the rule, by hand


class Quadratic:
    """J(x, y) = x² + 0.01·y², the stand-in objective; counts its evaluations."""

    def __init__(self, infinite_from=None):
        self.n_evals, self.infinite_from = 0, infinite_from

    def __call__(self, theta):
        self.n_evals += 1
        x, y = theta
        if self.infinite_from is not None and self.n_evals >= self.infinite_from:
            return math.inf, np.array([2 * x, 0.02 * y])
        return x * x + 0.01 * y * y, np.array([2 * x, 0.02 * y])


def test_the_rule_on_a_quadratic_worked_out_by_hand():
    # From (0.1, 1) with Δ₀ = 0.5, the steps of iRprop⁺ (η⁺ = 1.2, η⁻ = 0.5):
    # 1. both derivatives > 0, no previous sign: (0.1 − 0.5, 1 − 0.5) = (−0.4, 0.5);
    #    J rises from 0.02 to 0.1625.
    # 2. x's derivative changed sign and J rose: Δx = 0.25 and x's step is undone, x = 0.1;
    #    y's kept its sign: Δy = 0.6, y = 0.5 − 0.6 = −0.1. J = 0.0101, lower.
    # 3. x: no previous sign (kept as 0), x = 0.1 − 0.25 = −0.15; y changed sign but J fell:
    #    Δy = 0.3, y stays at −0.1. J = 0.0226, higher.
    # 4. x changed sign (against step 2's derivative) and J rose: Δx = 0.125, undone, x = 0.1;
    #    y: no previous sign, y = −0.1 + 0.3 = 0.2.
    expected = [(-0.4, 0.5), (0.1, -0.1), (-0.15, -0.1), (0.1, 0.2)]
    theta, result, entries = run(Quadratic(), np.array([0.1, 1.0]), maxiter=4, delta0=0.5, gtol=0.0)
    for entry, point in zip(entries, expected):
        np.testing.assert_allclose(entry["theta"], point, rtol=0, atol=1e-15)
    assert [e["reverted"] for e in entries] == [0, 1, 0, 1]
    assert [e["step"] for e in entries] == pytest.approx([0.5, 0.425, 0.275, 0.2125], abs=1e-15)
    np.testing.assert_allclose(result.delta, [0.125, 0.3], rtol=0, atol=1e-15)
    assert [e["J"] for e in entries] == pytest.approx([0.1625, 0.0101, 0.0226, 0.0104], abs=1e-15)
    # MATLAB's trainrp (Rprop without backtracking) would have stepped x to 0.1 + 0.25 = 0.35 in step 2


def test_an_equal_cost_is_not_a_rise():
    # Igel and Hüsken undo a step when E(t) > E(t−1), strictly. From x = 0.25 with Δ₀ = 0.5
    # the first step lands on x = −0.25, where J is the same 0.0625 and the derivative's sign
    # changed: x stays (Δ = 0.25), then steps to 0, the minimum, where the gradient is 0.
    theta, result, entries = run(Quadratic(), np.array([0.25, 0.0]), maxiter=10, delta0=0.5, gtol=0.0)
    assert [tuple(e["theta"]) for e in entries] == [(-0.25, 0.0), (-0.25, 0.0), (0.0, 0.0)]
    assert [e["reverted"] for e in entries] == [0, 0, 0]
    assert result.status == 0 and result.nit == 3 and result.fun == 0.0


def test_a_backtrack_on_the_network_returns_those_weights_to_their_earlier_values():
    obj, fresh, theta0 = problem(3, lam=0.1, weighted=True)
    options = {"delta0": 1.0, "delta_max": 1.1, "delta_dec": 0.2, "delta_min": 0.3, "gtol": 0.0}
    _, _, entries = run(obj, theta0, maxiter=10, **options)
    thetas = [theta0] + [e["theta"] for e in entries]
    costs, grads = zip(*(fresh(t) for t in thetas))
    # the derivatives each step compares: g_t, with 0 kept where its sign had just changed
    kept, backtracks = grads[0].copy(), 0
    for t in range(1, len(thetas) - 1):
        changed = grads[t] * kept < 0
        if costs[t] > costs[t - 1]:
            assert entries[t]["reverted"] == np.count_nonzero(changed)
            np.testing.assert_allclose(thetas[t + 1][changed], thetas[t - 1][changed], rtol=0, atol=1e-14)
            backtracks += np.count_nonzero(changed)
        else:
            assert entries[t]["reverted"] == 0
            np.testing.assert_array_equal(thetas[t + 1][changed], thetas[t][changed])
        moved = ~changed & (grads[t] != 0)
        assert np.all(np.sign(thetas[t + 1][moved] - thetas[t][moved]) == -np.sign(grads[t][moved]))
        kept = np.where(changed, 0.0, grads[t])
    assert backtracks > 0


def test_where_the_cost_never_rises_it_is_pytorchs_rprop():
    # torch.optim.Rprop skips the step where the derivative changed sign and keeps it as 0
    # (iRprop⁻); iRprop⁺ differs from it only by undoing steps when the cost rose
    torch = pytest.importorskip("torch")
    obj, fresh, theta0 = problem(3, lam=0.7, weighted=True)
    _, result, entries = run(obj, theta0, maxiter=10, gtol=0.0)
    costs = [fresh(theta0)[0]] + [e["J"] for e in entries]
    assert np.all(np.diff(costs) < 0)  # the case the comparison needs

    param = torch.nn.Parameter(torch.from_numpy(theta0.copy()))
    opt = torch.optim.Rprop([param], lr=0.07, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0))
    for entry in entries:
        _, g = fresh(param.detach().numpy().copy())
        param.grad = torch.from_numpy(g)
        opt.step()
        np.testing.assert_allclose(param.detach().numpy(), entry["theta"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(opt.state[param]["step_size"].numpy(), result.delta, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- stops


def test_maxiter_1_takes_one_step_of_delta0_against_the_gradients_signs():
    obj, fresh, theta0 = problem(1)
    theta, result, entries = run(obj, theta0, maxiter=1)
    _, g0 = fresh(theta0)
    np.testing.assert_array_equal(theta, theta0 - np.sign(g0) * 0.07)
    assert len(entries) == result.nit == 1 and result.status == 1 and obj.n_evals == 2
    assert "maxiter" in result.message


def test_gtol_stops_at_the_first_iteration_whose_gradient_is_small_enough():
    obj, _, theta0 = problem(2, lam=0.2)
    _, _, free = run(obj, theta0, maxiter=30, gtol=0.0)
    norms = np.array([e["gradient_norm"] for e in free])
    gtol = float(np.sort(norms[5:20])[3])  # met somewhere after iteration 5
    first = int(np.argmax(norms <= gtol)) + 1

    obj, _, theta0 = problem(2, lam=0.2)
    theta, result, entries = run(obj, theta0, maxiter=30, gtol=gtol)
    assert result.status == 0 and result.success and result.nit == len(entries) == first < 30
    assert entries[-1]["gradient_norm"] <= gtol < min(e["gradient_norm"] for e in entries[:-1])
    assert "gtol" in result.message
    np.testing.assert_array_equal(theta, free[first - 1]["theta"])


def test_a_gradient_within_gtol_at_theta0_takes_no_step():
    theta, result, entries = run(Quadratic(), np.array([1e-7, 1e-6]), maxiter=5)
    assert entries == [] and result.nit == 0 and result.status == 0
    np.testing.assert_array_equal(theta, [1e-7, 1e-6])


def test_the_recorders_stop_ends_the_run():
    obj, _, theta0 = problem(4)
    recorder = Recorder(limit=3)
    fn, args, _ = rprop.prepare("rprop", 50, {}, theta0.size)
    with pytest.raises(Stop):
        fn(obj, theta0, recorder, *args)
    assert len(recorder.entries) == 3


def test_a_non_finite_cost_stops_with_the_last_finite_theta_and_warns():
    recorder = Recorder()
    fn, args, _ = rprop.prepare("Rprop", 10, {"delta0": 0.5, "gtol": 0.0}, 2)
    with pytest.warns(ConvergenceWarning, match="NaN or inf at the new parameters of iteration 3"):
        theta, result = fn(Quadratic(infinite_from=4), np.array([0.1, 1.0]), recorder, *args)
    assert result.status == 2 and not result.success and result.nit == 2 == len(recorder.entries)
    np.testing.assert_array_equal(theta, recorder.entries[-1]["theta"])
    np.testing.assert_allclose(theta, [0.1, -0.1], rtol=0, atol=1e-15)
    assert result.fun == recorder.entries[-1]["J"]

    recorder = Recorder()
    with pytest.warns(ConvergenceWarning, match="NaN or inf at the initial parameters; the parameters are "
                                                "the initial ones"):
        theta, result = fn(Quadratic(infinite_from=1), np.array([0.1, 1.0]), recorder, *args)
    assert result.status == 2 and result.nit == 0 and recorder.entries == []
    np.testing.assert_array_equal(theta, [0.1, 1.0])


# ---------------------------------------------------------------- options


def test_defaults_are_trainrps():
    assert dict(rprop.DEFAULTS) == {"delta0": 0.07, "delta_inc": 1.2, "delta_dec": 0.5, "delta_max": 50.0,
                                    "delta_min": 1e-6, "gtol": 1e-5}
    _, (settings,), limit = rprop.prepare("RPROP", None, {}, 10)
    assert limit == settings.maxiter == rprop.DEFAULT_MAXITER


@pytest.mark.parametrize("options, error, match", [
    ({"delta0": 0}, ValueError, r"delta0 must be a finite number > 0; got 0"),
    ({"delta0": math.nan}, ValueError, r"delta0 must be a finite number > 0; got nan"),
    ({"delta0": "0.1"}, TypeError, r"delta0 must be a real number > 0; got '0.1' of type str"),
    ({"delta_inc": 1.0}, ValueError, r"delta_inc must be a finite number > 1; got 1.0"),
    ({"delta_dec": 1}, ValueError, r"delta_dec must be a finite number in \(0, 1\); got 1"),
    ({"delta_dec": 0.0}, ValueError, r"delta_dec must be a finite number in \(0, 1\); got 0.0"),
    ({"delta_max": 0.05}, ValueError, r"delta_max must be a finite number >= delta0 = 0.07; got 0.05"),
    ({"delta_min": 0.1}, ValueError, r"delta_min must be a finite number in \[0, delta0 = 0.07\]; got 0.1"),
    ({"delta_min": -1e-6}, ValueError, r"delta_min must be a finite number in \[0, delta0 = 0.07\]"),
    ({"gtol": -1}, ValueError, r"gtol must be a finite number >= 0; got -1"),
    ({"gtol": True}, TypeError, r"gtol must be a real number >= 0; got True of type bool"),
    ({"delt_inc": 1.3}, ValueError,
     r"unknown option\(s\) \['delt_inc'\] for method 'Rprop'; it takes \[.*\] \(MATLAB's names: "
     r"'delt_inc' is delta_inc\)"),
    ({"lr": 0.01, "mu": 1}, ValueError, r"\['lr', 'mu'\].*'lr' is nothing: trainrp's lr is not used"),
])
def test_bad_options_are_named(options, error, match):
    with pytest.raises(error, match=match):
        rprop.prepare("Rprop", None, options, 10)


@pytest.mark.parametrize("args, error, match", [
    (("Rp", None, {}, 10), ValueError, r"method must be 'Rprop'; got 'Rp'"),
    (("Rprop", 0, {}, 10), ValueError, r"maxiter must be >= 1; got 0"),
    (("Rprop", 2.5, {}, 10), TypeError, r"maxiter must be a whole number >= 1 or None; got 2.5"),
    (("Rprop", None, [("delta0", 1)], 10), TypeError, r"options must be a dict; got list"),
    (("Rprop", None, {}, 0), ValueError, r"n_params must be >= 1; got 0"),
])
def test_bad_arguments_are_named(args, error, match):
    with pytest.raises(error, match=match):
        rprop.prepare(*args)


# ---------------------------------------------------------------- through train


def test_train_runs_rprop_and_records_its_quantities():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(60, 5))
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    model = nnopt.train(X, y, 0.5, hidden_layer_sizes=(4,), method="Rprop", maxiter=20, progress=False)
    assert model.method == "Rprop" and model.n_iter == 20 == model.result.nit
    assert {"step", "reverted"} <= set(model.history) and np.isnan(model.history["step"][0])
    # train evaluates θ0 itself; the run takes it from there and evaluates once per step
    assert model.n_evals == 21 and model.result.nfev == 20
    J = nnopt.cost(model.theta, X, y, 0.5, model.layer_sizes, model.loss)
    assert model.cost_history[-1] == pytest.approx(J, rel=1e-12)
    with pytest.raises(ValueError, match=r"delta_inc must be a finite number > 1; got 0.9"):
        nnopt.train(X, y, method="Rprop", options={"delta_inc": 0.9})


def test_the_default_run_reaches_92_percent_held_out_on_the_digits():
    model, score, seconds = default_run_on_the_digits("Rprop")
    assert model.layer_sizes == (784, 25, 10) and model.n_iter == rprop.DEFAULT_MAXITER
    assert score >= 0.92, f"after {seconds:.1f} s"
