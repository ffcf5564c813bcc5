"""The training record and the validation stop, for every method (MATLAB's max_fail)."""

import warnings

import numpy as np
import pytest

import nnopt
from nnopt import training
from nnopt.model import _KEYS_2

METHODS = ["TNC", "CG", "L-BFGS-B", "BFGS", "Newton-CG", "trust-krylov", "SCG", "Rprop", "gd", "sgd"]
BEST, MAX_FAIL = 4, 3


class ScriptedValidation:
    """A validation set whose cost falls to iteration BEST and rises after it, whatever θ is:
    it records each θ it is asked about, so the test knows which θ each iteration had."""

    def __init__(self, problem, kind):
        self.thetas = []

    def __call__(self, theta):
        k = len(self.thetas)
        self.thetas.append(theta.copy())
        return 10.0 - k if k <= BEST else 10.0 - BEST + (k - BEST), 0.5


@pytest.mark.parametrize("method", METHODS + ["LM", "BR"])
def test_the_stop_comes_max_fail_iterations_after_the_best_and_returns_its_theta(method, monkeypatch):
    X, y = nnopt.load_digits()
    X, y = X[::25, ::16], y[::25]  # 49 pixels: BFGS keeps an n_params² matrix
    made = []
    monkeypatch.setattr(training, "Validation", lambda p, kind: made.append(ScriptedValidation(p, kind))
                        or made[-1])
    options = {"learning_rate": 0.5, "batch_size": 50} if method == "sgd" else {}
    model = nnopt.train(X, y, lam=0.0, hidden_layer_sizes=(10,), method=method, maxiter=50,
                        validation=0.2, max_fail=MAX_FAIL, progress=False, **options)
    (scripted,) = made
    assert model.n_iter == BEST + MAX_FAIL
    assert model.best_iteration == BEST
    np.testing.assert_array_equal(model.theta, scripted.thetas[BEST])
    assert model.history["validation_fails"].tolist() == [0] * (BEST + 1) + list(range(1, MAX_FAIL + 1))
    assert model.result.status == 3 and model.result.success
    assert "Validation stop" in model.result.message
    np.testing.assert_array_equal(model.result.x, model.theta)
    assert model.result.fun == model.history["cost"][BEST]


@pytest.fixture(scope="module")
def digits_split():
    X, y = nnopt.load_digits()
    return nnopt.train_test_split(X[::2], y[::2], test_size=0.2, seed=0)


# a cap on the iterations that keeps each run to seconds; the Hessian-free
# methods make a dozen products an iteration
MAXITER = {"Newton-CG": 25, "trust-krylov": 25}


@pytest.mark.parametrize("method", METHODS)
def test_on_the_digits_the_returned_theta_has_the_lowest_validation_cost(method, digits_split):
    # λ = 0 and 100 hidden units on 2,000 rows: a network that overfits
    X, _, y, _ = digits_split
    hidden = 100
    if method == "BFGS":
        # BFGS keeps a dense n_params² matrix and SciPy updates it by matrix
        # products, n_params³ a step: 784-100-10's would take 47 GiB; the 49
        # pixels of every fourth row and column with 20 units, 1,210 parameters
        X, hidden = X[:, ::16], 20
    options = {"learning_rate": 0.5} if method == "sgd" else {}
    maxiter = MAXITER.get(method, 80)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnopt.ConvergenceWarning)
        model = nnopt.train(X, y, lam=0.0, hidden_layer_sizes=(hidden,), method=method, maxiter=maxiter,
                            validation=0.15, seed=1, progress=False, **options)
    h = model.history
    lengths = {name: values.shape for name, values in h.items()}
    assert set(lengths.values()) == {(model.n_iter + 1,)}, lengths
    assert {"cost", "gradient_norm", "time", "validation_cost", "validation_score",
            "validation_fails"} <= set(h)
    assert np.all(np.isfinite(h["gradient_norm"])) and np.all(np.diff(h["time"]) >= 0)
    # the returned θ's validation cost, computed anew on the held-out rows, is the minimum
    X_train, X_val, y_train, y_val = _the_split(X, y)
    J_val = nnopt.cost(model.theta, X_val, np.searchsorted(model.classes_, y_val), 0.0, model.layer_sizes)
    assert J_val == pytest.approx(h["validation_cost"].min(), rel=1e-12, abs=0)
    assert h["validation_cost"][model.best_iteration] == h["validation_cost"].min()
    assert model.history["validation_score"][model.best_iteration] == model.score(X_val, y_val)
    if model.n_iter < maxiter:
        assert "Validation stop" in model.result.message


def _the_split(X, y):
    """train's validation=0.15 split of (X, y) with seed 1, made again here as the docs say it is made."""
    n_val = int(round(0.15 * len(y)))
    rows = np.arange(len(y))
    train_rows, val_rows, _, _ = nnopt.train_test_split(rows, np.unique(y, return_inverse=True)[1],
                                                        test_size=n_val, seed=1)
    train_rows, val_rows = np.sort(train_rows), np.sort(val_rows)
    return X[train_rows], X[val_rows], y[train_rows], y[val_rows]


def test_an_explicit_validation_set_in_the_users_labels(digits_split):
    X, X_val, y, y_val = digits_split
    labels = np.array(list("abcdefghij"))
    model = nnopt.train(X, labels[y], hidden_layer_sizes=(8,), maxiter=5, validation=(X_val, labels[y_val]),
                        progress=False)
    assert model.history["validation_score"][model.best_iteration] == model.score(X_val, labels[y_val])
    with pytest.raises(ValueError, match=r"y_val holds the label 'z', which is not among the training classes"):
        nnopt.train(X, labels[y], maxiter=1, validation=(X_val[:3], np.array(["a", "b", "z"])))


@pytest.mark.parametrize("validation, error, match", [
    (1.5, ValueError, r"validation must be a fraction in \(0, 1\).*got 1\.5"),
    ("0.2", TypeError, r"validation must be None, a fraction in \(0, 1\), or a pair \(X_val, y_val\)"),
])
def test_bad_validation_settings_are_refused(validation, error, match, digits_split):
    X, _, y, _ = digits_split
    with pytest.raises(error, match=match):
        nnopt.train(X, y, maxiter=1, validation=validation)


def test_max_fail_is_checked(digits_split):
    X, _, y, _ = digits_split
    with pytest.raises(ValueError, match=r"max_fail must be >= 1; got 0"):
        nnopt.train(X, y, maxiter=1, validation=0.1, max_fail=0)


def test_history_and_best_iteration_survive_save_and_load(digits_split, tmp_path):
    X, _, y, _ = digits_split
    model = nnopt.train(X, y, hidden_layer_sizes=(8,), maxiter=6, validation=0.2, progress=False)
    model.save(tmp_path / "m.npz")
    back = nnopt.load(tmp_path / "m.npz")
    assert back.best_iteration == model.best_iteration
    assert set(back.history) == set(model.history)
    for name, values in model.history.items():
        np.testing.assert_array_equal(back.history[name], values)
    np.testing.assert_array_equal(back.cost_history, model.cost_history)


def test_a_version_2_file_loads_with_the_record_it_holds(digits_split, tmp_path):
    X, _, y, _ = digits_split
    model = nnopt.train(X, y, hidden_layer_sizes=(8,), maxiter=4, progress=False)
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in _KEYS_2}
    arrays["format_version"] = np.array(2)
    np.savez(tmp_path / "v2.npz", **arrays)
    old = nnopt.load(tmp_path / "v2.npz")
    np.testing.assert_array_equal(old.history["cost"], np.r_[model.initial_cost, model.cost_history])
    assert np.isnan(old.history["gradient_norm"]).all() and old.best_iteration == model.n_iter
    np.testing.assert_array_equal(old.theta, model.theta)


def test_cost_history_is_the_record_after_iteration_0(digits_split):
    X, _, y, _ = digits_split
    model = nnopt.train(X, y, hidden_layer_sizes=(8,), method="L-BFGS-B", maxiter=7, progress=False)
    np.testing.assert_array_equal(model.cost_history, model.history["cost"][1:])
    assert model.history["cost"][0] == model.initial_cost
    assert model.best_iteration == model.n_iter == 7  # without a validation set: the last
    # the gradient norm as computed anew at the returned θ
    g = nnopt.regularized_gradient(model.theta, X, np.searchsorted(model.classes_, y), 1.0, model.layer_sizes)
    assert model.history["gradient_norm"][-1] == pytest.approx(np.linalg.norm(g), rel=1e-12)
