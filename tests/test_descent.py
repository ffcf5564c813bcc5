"""Batch gradient descent ("gd") and mini-batch SGD ("sgd") through nnopt.train."""

import math
import warnings

import numpy as np
import pytest

import nnopt
from nnopt import DivergenceError, Objective
from nnopt.descent import DEFAULTS, _all_finite, _data_term, _shuffler, _step
from nnopt.objective import batch_problem
from nnopt.training import ConvergenceWarning, encode_labels

SIZES = (5, 4, 3)
M = 30


def _data(m=M, seed=7):
    """A seeded, learnable 3-class problem with features in [0, 1]."""
    rng = np.random.default_rng(seed)
    X = rng.random((m, SIZES[0]))
    y = np.argmax(X[:, :3], axis=1)
    return X, y


def _train(method, X=None, y=None, lam=1.0, **kwargs):
    if X is None:
        X, y = _data()
    kwargs.setdefault("seed", 0)
    return nnopt.train(X, y, lam, hidden_layer_sizes=SIZES[1:-1], method=method, **kwargs)


SMALL = {"gd": {"learning_rate": 0.5, "maxiter": 15}, "sgd": {"batch_size": 7, "epochs": 4}}


# ------------------------------------------------------------- digits


def test_sgd_defaults_reach_91_percent_held_out_on_the_digits_within_30_epochs():
    X, y = nnopt.load_digits()
    X_train, X_test, y_train, y_test = nnopt.train_test_split(X, y, test_size=0.2, seed=0)
    model = nnopt.train(X_train, y_train, 1.0, method="sgd")
    epochs = DEFAULTS["sgd"]["epochs"]
    assert epochs <= 30
    assert model.n_iter == epochs and model.cost_history.shape == (epochs,)
    assert model.result.step_costs.shape == (epochs * math.ceil(4000 / 64),)
    assert model.score(X_test, y_test) >= 0.91


# ------------------------------------------------------------- what is recorded


@pytest.mark.parametrize("method", ["gd", "sgd"])
def test_returns_a_model_whose_last_cost_is_the_cost_of_its_parameters(method):
    X, y = _data()
    model = _train(method, X, y, **SMALL[method])
    assert isinstance(model, nnopt.Model) and model.method == method
    n = SMALL[method].get("maxiter") or SMALL[method]["epochs"]
    assert model.n_iter == n
    assert model.cost_history.shape == model.time_history.shape == (n,)
    assert np.all(np.diff(model.time_history) >= 0) and model.time_history[0] >= 0
    _, idx = encode_labels(y, M)
    J = nnopt.cost(model.theta, X, idx, 1.0, SIZES)
    assert model.cost_history[-1] == pytest.approx(J, rel=1e-12)
    assert model.result.fun == model.cost_history[-1]
    assert np.array_equal(model.result.x, model.theta)
    assert model.result.success and model.result.nit == n


def test_gd_counts_maxiter_plus_two_evaluations():
    # train's J(θ0), the gradient at θ0, then one evaluation per step
    assert _train("gd", learning_rate=0.5, maxiter=15).n_evals == 17


def test_sgd_counts_one_full_evaluation_per_epoch_and_records_every_step():
    model = _train("sgd", batch_size=7, epochs=4)  # 7 does not divide 30: batches 7, 7, 7, 7, 2
    assert model.n_evals == 4 + 1
    steps = 4 * math.ceil(M / 7)
    assert model.result.step_costs.shape == (steps,) and model.result.njev == steps
    assert np.all(np.isfinite(model.result.step_costs))


def test_gd_with_a_small_learning_rate_lowers_the_cost_at_every_iteration():
    model = _train("gd", learning_rate=0.2, maxiter=40)
    assert np.all(np.diff(np.r_[model.initial_cost, model.cost_history]) < 0)


def test_sgd_lowers_the_cost():
    model = _train("sgd", batch_size=5, epochs=20, learning_rate=1.0)
    assert model.cost_history[-1] < 0.9 * model.initial_cost


def test_sgd_maxiter_is_another_name_for_epochs():
    model = _train("sgd", batch_size=10, maxiter=3)
    assert model.n_iter == 3 and model.result.step_costs.shape == (9,)


def test_sgd_default_batch_is_the_whole_of_a_small_training_set():
    model = _train("sgd", epochs=2)  # m = 30 < 64
    assert model.result.step_costs.shape == (2,)


def test_sgd_in_float32():
    X, y = _data()
    model = _train("sgd", X.astype(np.float32), y, batch_size=10, epochs=3, dtype=np.float32)
    assert model.n_iter == 3 and np.all(np.isfinite(model.theta))


@pytest.mark.parametrize("method", ["gd", "sgd"])
def test_momentum_reaches_a_lower_cost_at_the_same_learning_rate(method):
    count = {"maxiter": 60} if method == "gd" else {"batch_size": 10, "epochs": 15}
    plain = _train(method, learning_rate=0.1, **count)
    heavy = _train(method, learning_rate=0.1, momentum=0.9, **count)
    assert heavy.cost_history[-1] < plain.cost_history[-1]


# ------------------------------------------------------------- the mini-batch gradient


@pytest.mark.parametrize("lam", [0.0, 1.0, 3.0])
@pytest.mark.parametrize("targets", ["indices", "matrix"])
def test_batch_gradients_average_to_the_full_gradient(lam, targets):
    # λ_B = λ·b/m makes each batch's λ term (λ/m)·Θ, as in the full gradient
    X, y = _data()
    if targets == "matrix":
        y = np.eye(SIZES[-1])[y]
    full = Objective(X, y, lam, SIZES)
    theta = nnopt.random_init(SIZES, epsilon=1.0, seed=3)
    # the full objective first: its batches must not reuse what it kept of its targets
    J, grad = full(theta)
    order = np.random.default_rng(4).permutation(M)
    batches = [full.batch(order[i:i + 6]) for i in range(0, M, 6)]  # 6 divides 30
    costs, grads = zip(*(b(theta) for b in batches))
    assert np.mean(costs) == pytest.approx(J, rel=1e-12)
    np.testing.assert_allclose(np.mean(grads, axis=0), grad, rtol=0, atol=1e-12)
    assert all(b.lam == pytest.approx(lam * 6 / M) for b in batches)


# ------------------------------------------------------------- seeds


@pytest.mark.parametrize("method", ["gd", "sgd"])
def test_the_same_seed_gives_the_same_model_and_other_seeds_differ(method):
    a, b = (_train(method, seed=5, **SMALL[method]) for _ in range(2))
    assert np.array_equal(a.theta, b.theta) and np.array_equal(a.cost_history, b.cost_history)
    assert not np.array_equal(a.theta, _train(method, seed=6, **SMALL[method]).theta)


def test_sgd_shuffles_with_a_stream_other_than_the_initial_weights_one():
    for seed in (0, 5):
        assert not np.array_equal(_shuffler(seed).permutation(50), np.random.default_rng(seed).permutation(50))
    assert np.array_equal(_shuffler(5).permutation(50), _shuffler(5).permutation(50))


def test_sgd_takes_a_generator_as_seed():
    a, b = (_train("sgd", seed=np.random.default_rng(9), **SMALL["sgd"]) for _ in range(2))
    assert np.array_equal(a.theta, b.theta)


def test_sgd_shuffling_depends_on_the_seed_beyond_the_initial_weights(monkeypatch):
    # same initial weights, different seeds: only the epochs' order differs
    theta0 = nnopt.random_init(SIZES, seed=0)
    monkeypatch.setattr("nnopt.training.random_init", lambda sizes, seed: theta0.copy())
    a, b = (_train("sgd", seed=s, **SMALL["sgd"]) for s in (1, 2))
    assert not np.array_equal(a.theta, b.theta)


# ------------------------------------------------------------- bad settings


BAD = [
    ("gd", {"learning_rate": 0}, ValueError, r"learning_rate must be a finite number > 0; got 0"),
    ("gd", {"learning_rate": -0.1}, ValueError, r"learning_rate must be .* > 0; got -0\.1"),
    ("sgd", {"learning_rate": float("nan")}, ValueError, r"learning_rate must be a finite number > 0; got nan"),
    ("sgd", {"learning_rate": float("inf")}, ValueError, r"learning_rate must be a finite number > 0; got inf"),
    ("gd", {"learning_rate": "0.1"}, TypeError, r"learning_rate must be a real number > 0; got '0\.1' of type str"),
    ("sgd", {"batch_size": 0}, ValueError, r"batch_size must be between 1 and m = 30 .*; got 0"),
    ("sgd", {"batch_size": 31}, ValueError, r"batch_size must be between 1 and m = 30 .*; got 31"),
    ("sgd", {"batch_size": 8.0}, TypeError, r"batch_size must be a whole number >= 1; got 8\.0 of type float"),
    ("sgd", {"batch_size": True}, TypeError, r"batch_size must be a whole number >= 1; got True"),
    ("sgd", {"epochs": 0}, ValueError, r"epochs must be >= 1; got 0"),
    ("sgd", {"epochs": 2.5}, TypeError, r"epochs must be a whole number >= 1; got 2\.5"),
    ("gd", {"momentum": 1.0}, ValueError, r"momentum must be a finite number in \[0, 1\); got 1\.0"),
    ("sgd", {"momentum": -0.5}, ValueError, r"momentum must be a finite number in \[0, 1\); got -0\.5"),
    ("sgd", {"momentum": None}, TypeError, r"momentum must be a real number in \[0, 1\); got None"),
    ("sgd", {"learnig_rate": 0.1}, TypeError, r"unexpected option\(s\) \['learnig_rate'\] for method 'sgd'"),
    ("gd", {"batch_size": 10}, TypeError, r"\['batch_size'\] for method 'gd'.*belong to 'sgd'"),
    ("gd", {"epochs": 10}, TypeError, r"\['epochs'\] for method 'gd'.*counts its steps with maxiter"),
    ("sgd", {"epochs": 3, "maxiter": 3}, TypeError, r"give either epochs or maxiter for 'sgd'"),
    ("sgd", {"seed": -1}, ValueError, r"seed must be a non-negative int; got -1"),
    ("sgd", {"seed": 1.5}, TypeError, r"seed must be None, an int or a numpy\.random\.Generator; got float"),
]


@pytest.mark.parametrize("method, options, error, match", BAD, ids=[str(c[1]) for c in BAD])
def test_bad_setting_raises_before_any_work(method, options, error, match, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the cost was evaluated before the settings were checked")

    monkeypatch.setattr("nnopt.training.Objective", no_work)
    with pytest.raises(error, match=match):
        _train(method, **options)


# ------------------------------------------------------------- failures


@pytest.mark.parametrize("method, options", [
    ("gd", {"learning_rate": 1e4}),  # α > 2m/λ = 60: the weights grow ×(αλ/m − 1) per step
    ("sgd", {"learning_rate": 1e4, "batch_size": 6}),
    ("gd", {"learning_rate": 1e300}),  # θ itself overflows in the first steps
    ("sgd", {"learning_rate": 1e300, "batch_size": 6}),
    ("gd", {"learning_rate": 1e4, "loss": "squared_error"}),
    ("gd", {"learning_rate": 1e4, "momentum": 0.99}),
    ("gd", {"learning_rate": 1e308, "lam": 0.0}),  # the summed loss overflows in the first step
    ("sgd", {"learning_rate": 1e307, "lam": 0.0, "momentum": 0.9, "batch_size": 6}),
])
def test_divergence_raises_naming_the_learning_rate_and_keeps_the_last_finite_model(method, options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DivergenceError, match=r"NaN or inf .*learning_rate=\S+ is too large; "
                                                  r"try a smaller one, such as learning_rate=") as info:
            _train(method, maxiter=200, **options) if method == "gd" else _train(method, epochs=200, **options)
    assert caught == []  # no numpy RuntimeWarning before the error
    err = info.value
    assert isinstance(err, ValueError) and err.learning_rate == options["learning_rate"]
    assert f"learning_rate={options['learning_rate']:g} is too large" in str(err)
    assert err.iteration >= 1 and err.cost_history.shape == err.time_history.shape == (err.iteration - 1,)
    assert np.all(np.isfinite(err.theta)) and np.all(np.isfinite(err.cost_history))
    if err.cost_history.size:
        _, idx = encode_labels(_data()[1], M)
        loss = options.get("loss", "cross_entropy")
        J = nnopt.cost(err.theta, _data()[0], idx, options.get("lam", 1.0), SIZES, loss)
        assert J == pytest.approx(err.cost_history[-1])


def test_a_step_that_overflows_the_parameters_is_caught_without_a_warning():
    theta, velocity = np.ones(3), np.zeros(3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _step(theta, velocity, np.array([-1e308, 1e308, 0.5]), (0.9, False))
        _step(theta, velocity, np.array([-1e308, 1e308, 0.5]), (0.9, False))
        assert _all_finite(theta) is False
    assert caught == []


def test_a_cost_that_ends_above_the_initial_one_warns_to_lower_the_learning_rate():
    # λ = 0: nothing overflows, the outputs saturate and the cost soars
    with pytest.warns(ConvergenceWarning, match=r"cost rose from .* learning_rate=1e\+06 is probably too large"):
        model = _train("gd", lam=0.0, learning_rate=1e6, maxiter=20)
    assert not model.result.success and model.result.status == 2


@pytest.mark.parametrize("method, calls, done", [
    ("gd", 4, 2),  # calls: θ0, after step 1, after step 2, then Ctrl-C in the 4th
    ("sgd", 2 * 5 + 3, 2),  # 5 mini-batches per epoch: Ctrl-C in the 3rd batch of epoch 3
])
def test_ctrl_c_returns_the_last_completed_iteration_with_a_warning(method, calls, done, monkeypatch):
    # gd evaluates through the Objective; sgd each batch through descent._data_term
    target, name = (Objective, "__call__") if method == "gd" else (nnopt.descent, "_data_term")
    evaluate = getattr(target, name)
    count = [0]

    def interrupted(*args):
        count[0] += 1
        if count[0] == calls:
            raise KeyboardInterrupt
        return evaluate(*args)

    monkeypatch.setattr(target, name, interrupted)
    options = {"gd": {"maxiter": 10}, "sgd": {"batch_size": 6, "epochs": 10}}[method]
    with pytest.warns(ConvergenceWarning, match=f"interrupted after {done} iteration"):
        model = _train(method, **options)
    assert count[0] == calls
    assert model.n_iter == done and model.cost_history.shape == model.time_history.shape == (done,)
    X, y = _data()
    _, idx = encode_labels(y, M)
    assert model.cost_history[-1] == pytest.approx(nnopt.cost(model.theta, X, idx, 1.0, SIZES), rel=1e-12)
    assert np.all(model.predict(X) >= 0) and not model.result.success


@pytest.mark.parametrize("method", ["gd", "sgd"])
def test_verbose_prints_one_line_per_iteration(method, capsys):
    model = _train(method, verbose=True, **SMALL[method])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["iter", "cost", "time", "(s)"]
    assert len(lines) == 1 + model.n_iter
    assert float(lines[-1].split()[1]) == pytest.approx(model.cost_history[-1], abs=1e-6)


def test_a_batch_needs_rows_and_copies_nothing_for_a_slice():
    X, y = _data()
    full = Objective(X, y, 1.0, SIZES)
    with pytest.raises(ValueError, match="a batch needs at least one row of X"):
        full.batch(np.array([], dtype=int))
    assert np.shares_memory(full.batch(slice(0, 6)).X, full.X)


@pytest.mark.parametrize("mu, nesterov", [(0.0, False), (0.0, True), (0.9, False), (0.9, True)])
def test_the_momentum_step_by_hand(mu, nesterov):
    # scikit-learn's rule: v ← μv − α∇J; θ ← θ + v, or θ + μv − α∇J (the new v) with Nesterov's
    rng = np.random.default_rng(3)
    theta, v, grad = rng.standard_normal((3, 8))
    alpha = 0.2
    v_new = mu * v - alpha * grad
    expected = theta + (mu * v_new - alpha * grad if nesterov else v_new)
    # with Nesterov's the velocity kept is μv (documented in _step)
    velocity = mu * v if nesterov else v.copy()
    step = alpha * grad
    _step(theta, velocity, step, (mu, nesterov))
    np.testing.assert_allclose(theta, expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(step, alpha * grad)  # read, not written
    if mu:
        np.testing.assert_allclose(velocity, mu * v_new if nesterov else v_new, rtol=1e-14, atol=1e-15)


def test_nesterov_reaches_train_and_changes_the_run():
    plain = _train("sgd", momentum=0.9, **SMALL["sgd"])
    ahead = _train("sgd", momentum=0.9, nesterov=True, **SMALL["sgd"])
    assert not np.allclose(plain.theta, ahead.theta)
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        _train("sgd", nesterov="yes", **SMALL["sgd"])


def test_sgd_epoch_cost_batches_records_the_mean_batch_cost_without_a_full_pass():
    model = _train("sgd", batch_size=7, epochs=4, epoch_cost="batches")  # batches 7, 7, 7, 7, 2
    assert model.n_evals == 1  # train's J(θ0) alone: no full-data pass per epoch
    steps = model.result.step_costs.reshape(4, 5)
    sizes = np.array([7, 7, 7, 7, 2])
    np.testing.assert_allclose(model.cost_history, steps @ sizes / M, rtol=1e-14)
    full = _train("sgd", batch_size=7, epochs=4)
    np.testing.assert_array_equal(model.theta, full.theta)  # the same steps: only the record differs
    assert np.all(np.isfinite(model.history["gradient_norm"]))


def test_sgd_epoch_cost_is_checked():
    with pytest.raises(ValueError, match=r"epoch_cost must be 'full' or 'batches'; got 'mean'"):
        _train("sgd", epochs=1, epoch_cost="mean")


# ------------------------------------------------------------- sgd against the rule written out


def _reference_sgd(X, y, lam, seed, alpha, b, epochs, mu=0.0, nesterov=False, dtype=np.float64,
                   sample_weight=None, **net):
    """The sgd rule written out, θ and v kept in `dtype`, on the batch gradients of Objective.batch
    (the Objective's evaluation path, not descent's): returns θ, the step costs, the epochs'
    gradient norms ‖Σ_B (|B|/m)·∇J_B‖."""
    _, idx = encode_labels(y, len(y))
    whole = Objective(X, idx, lam, SIZES, dtype=dtype, sample_weight=sample_weight, **net)
    theta = nnopt.random_init(SIZES, seed=seed).astype(dtype)
    v = np.zeros_like(theta)
    rng = _shuffler(seed)
    m, costs, norms = len(X), [], []
    for _ in range(epochs):
        order = rng.permutation(m)
        mean = np.zeros(theta.size)
        for start in range(0, m, b):
            rows = order[start:start + b]
            J, g = whole.batch(rows)(theta.astype(np.float64))
            costs.append(J)
            mean += rows.size / m * g
            g = g.astype(dtype)
            v = mu * v - alpha * g
            theta = theta + (mu * v - alpha * g if nesterov else v)
        norms.append(np.linalg.norm(mean))
    return theta, np.array(costs), np.array(norms)


@pytest.mark.parametrize("mu, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
@pytest.mark.parametrize("lam", [0.0, 2.0])
def test_sgd_follows_the_update_rule_written_out(mu, nesterov, lam):
    X, y = _data()
    # batches of 7 of 30 rows: the last of each epoch holds 2
    kwargs = dict(alpha=0.7, b=7, epochs=3, mu=mu, nesterov=nesterov)
    theta, costs, norms = _reference_sgd(X, y, lam, 4, **kwargs)
    model = _train("sgd", X, y, lam=lam, seed=4, learning_rate=0.7, batch_size=7, epochs=3,
                   momentum=mu, nesterov=nesterov, epoch_cost="batches")
    np.testing.assert_allclose(model.theta, theta, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.result.step_costs, costs, rtol=1e-12)
    np.testing.assert_allclose(model.history["gradient_norm"][1:], norms, rtol=1e-9)
    assert not np.allclose(theta, nnopt.random_init(SIZES, seed=4))  # the steps moved θ


def test_sgd_with_sample_weights_follows_the_update_rule_written_out():
    X, y = _data()
    w = np.random.default_rng(2).uniform(0.5, 2.0, M)
    theta, costs, norms = _reference_sgd(X, y, 1.0, 0, 0.5, 6, 2, mu=0.9, nesterov=True, sample_weight=w)
    model = _train("sgd", X, y, sample_weight=w, learning_rate=0.5, batch_size=6, epochs=2,
                   momentum=0.9, nesterov=True)
    np.testing.assert_allclose(model.theta, theta, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.result.step_costs, costs, rtol=1e-12)
    np.testing.assert_allclose(model.history["gradient_norm"][1:], norms, rtol=1e-9)


def test_sgd_in_float32_keeps_theta_in_float32_and_follows_a_float32_reference():
    X, y = _data()
    X32 = X.astype(np.float32)
    net = dict(activation="relu", output="softmax")
    theta, costs, _ = _reference_sgd(X32, y, 1.0, 3, 0.3, 7, 3, mu=0.9, nesterov=True, dtype=np.float32,
                                     **net)
    model = _train("sgd", X32, y, seed=3, dtype=np.float32, learning_rate=0.3, batch_size=7, epochs=3,
                   momentum=0.9, nesterov=True, **net)
    assert model.theta.dtype == np.float64 and model.result.x.dtype == np.float64
    # every value is a float32 one: θ was held in float32 and cast to float64 at the end
    np.testing.assert_array_equal(model.theta.astype(np.float32).astype(np.float64), model.theta)
    # float32 rounding in another order (BLAS, the λ term) is all that differs
    np.testing.assert_allclose(model.theta, theta, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.result.step_costs, costs, rtol=1e-5)
    # the last recorded cost is the float32 J of the returned θ
    _, idx = encode_labels(y, M)
    J = nnopt.cost(model.theta, X32, idx, 1.0, SIZES, dtype=np.float32, **net)
    assert model.cost_history[-1] == pytest.approx(J, rel=1e-12)


def test_sgd_binds_no_objective_per_batch(monkeypatch):
    def no_batch(self, rows):
        raise AssertionError("sgd bound an Objective for a mini-batch")

    monkeypatch.setattr(Objective, "batch", no_batch)
    model = _train("sgd", **SMALL["sgd"])
    assert model.n_iter == SMALL["sgd"]["epochs"]


def test_a_batch_longer_than_a_block_is_evaluated_block_by_block():
    X, y = _data()
    _, idx = encode_labels(y, M)
    whole = Objective(X, idx, 0.0, SIZES, working_memory=1e-4)  # a block of 1 row
    assert whole.problem.block_rows == 1
    rows = np.random.default_rng(1).permutation(M)[:13]
    theta = nnopt.random_init(SIZES, epsilon=1.0, seed=3)
    out = np.full_like(theta, np.nan)
    J = _data_term(batch_problem(whole.problem, rows), theta, out, 0.3)
    J_ref, g_ref = whole.batch(rows)(theta)  # λ = 0: the data term alone
    assert J == pytest.approx(J_ref, rel=1e-12)
    np.testing.assert_allclose(out, 0.3 * g_ref, rtol=1e-12, atol=1e-15)
    # and a whole run in blocks of one row gives the run in one block per batch
    a = _train("sgd", batch_size=13, epochs=2, working_memory=1e-4)
    b = _train("sgd", batch_size=13, epochs=2)
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-12, atol=1e-14)
