"""train(X, y, lam): accuracy, the cost curve, maxiter, seeds, labels, failures."""

import inspect
import warnings

import numpy as np
import pytest
from scipy.optimize import OptimizeWarning

import nnopt
from nnopt.record import Recorder
from nnopt import training
from nnopt.training import ConvergenceWarning, DEFAULT_MAXITER, encode_labels


@pytest.fixture(scope="module")
def digits_split():
    X, y = nnopt.load_digits()
    return nnopt.train_test_split(X, y, test_size=0.2, seed=0)


@pytest.fixture(scope="module")
def small(digits_split):
    """600 training digits, downsampled to 14×14 pixels so that tests run fast."""
    X_train, X_test, y_train, y_test = digits_split

    def shrink(X):
        return X.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(X), -1)

    return shrink(X_train[:600]), y_train[:600], shrink(X_test[:300]), y_test[:300]


def _cost_of(model, X, y):
    """J at the model's parameters, recomputed from scratch."""
    idx = np.searchsorted(model.classes_, y)
    return nnopt.cost(model.theta, X, idx, model.lam, model.layer_sizes, model.loss)


def test_defaults_reach_91_percent_on_the_digits(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    assert (len(y_train), len(y_test)) == (4000, 1000)
    model = nnopt.train(X_train, y_train, lam=1.0)
    assert model.method == "TNC" and model.layer_sizes == (784, 25, 10)
    assert model.n_iter == DEFAULT_MAXITER["tnc"]
    assert model.score(X_test, y_test) >= 0.91


@pytest.mark.parametrize("method", ["TNC", "CG", "L-BFGS-B", "SCG"])
def test_cost_history_is_monotone_complete_and_ends_at_the_model(small, method):
    X, y, _, _ = small
    model = nnopt.train(X, y, lam=1.0, method=method, maxiter=15)
    h = model.cost_history
    assert h.ndim == 1 and len(h) == model.n_iter == 15
    assert len(model.time_history) == len(h)
    assert np.all(np.diff(model.time_history) >= 0)
    assert np.all(np.diff(h) <= 0), f"{method} cost went up: {h}"
    assert h[-1] < model.initial_cost
    assert h[-1] == pytest.approx(_cost_of(model, X, y), rel=1e-12)
    # the curve reuses the optimizer's own evaluations: none are added for it, and
    # the initial cost is the optimizer's first evaluation (kept, with its gradient);
    # SciPy counts that one in nfev, nnopt's own methods count only the run's
    assert model.n_evals == model.result.nfev + (method == "SCG")


@pytest.mark.parametrize("method", ["TNC", "CG", "L-BFGS-B", "BFGS", "Newton-CG", "SLSQP", "trust-constr",
                                    "LM", "BR", "SCG", "Rprop"])
def test_maxiter_is_honoured_by_every_method_without_warnings(method):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = nnopt.train(X, y, lam=0.1, hidden_layer_sizes=(3,), method=method, maxiter=4)
    assert not [w for w in caught if issubclass(w.category, OptimizeWarning)]
    assert [str(w.message) for w in caught] == []
    assert model.n_iter == len(model.cost_history) <= 4
    assert model.n_iter == 4 or model.result.success


def test_tnc_stops_at_maxiter_where_scipy_alone_would_not(small):
    X, y, _, _ = small
    model = nnopt.train(X, y, method="TNC", maxiter=3)
    assert model.n_iter == 3
    assert "maxiter" in model.result.message


def test_verbose_prints_each_iteration(small, capsys):
    X, y, _, _ = small
    model = nnopt.train(X, y, method="L-BFGS-B", maxiter=4, verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["iter", "cost", "time", "(s)"]
    assert [int(line.split()[0]) for line in lines[1:]] == [1, 2, 3, 4]
    assert float(lines[-1].split()[1]) == pytest.approx(model.cost_history[-1], abs=1e-6)


def test_same_seed_same_parameters_different_seed_different(small):
    X, y, _, _ = small
    a = nnopt.train(X, y, method="CG", maxiter=5, seed=3)
    b = nnopt.train(X, y, method="CG", maxiter=5, seed=3)
    c = nnopt.train(X, y, method="CG", maxiter=5, seed=4)
    assert np.array_equal(a.theta, b.theta)
    assert np.array_equal(a.cost_history, b.cost_history)
    assert not np.array_equal(a.theta, c.theta)


def test_seed_generator_is_accepted(small):
    X, y, _, _ = small
    a = nnopt.train(X, y, method="CG", maxiter=2, seed=np.random.default_rng(5))
    b = nnopt.train(X, y, method="CG", maxiter=2, seed=np.random.default_rng(5))
    assert np.array_equal(a.theta, b.theta)


@pytest.mark.parametrize("relabel", [lambda y: y + 1, lambda y: np.array(["zero", "one", "two", "three", "four",
                                                                          "five", "six", "seven", "eight",
                                                                          "nine"])[y]],
                         ids=["course_1_to_10", "strings"])
def test_labels_round_trip_through_predict(small, relabel):
    X, y, X_test, y_test = small
    y_user, y_test_user = relabel(y), relabel(y_test)
    model = nnopt.train(X, y_user, method="L-BFGS-B", maxiter=30)
    assert np.array_equal(model.classes_, np.unique(y_user))
    predicted = model.predict(X_test)
    assert set(predicted) <= set(y_user)
    assert model.score(X_test, y_test_user) > 0.6
    # same parameters as training on 0..9, since classes are learned in sorted order
    reference = nnopt.train(X, np.searchsorted(np.unique(y_user), y_user), method="L-BFGS-B", maxiter=30)
    assert np.array_equal(model.theta, reference.theta)


def test_predict_proba_shape_and_range(small):
    X, y, X_test, _ = small
    model = nnopt.train(X, y, method="CG", maxiter=3)
    P = model.predict_proba(X_test)
    assert P.shape == (len(X_test), 10)
    assert np.all((P >= 0) & (P <= 1))
    assert np.array_equal(model.predict(X_test), model.classes_[P.argmax(axis=1)])


def test_larger_lambda_gives_smaller_weights(small):
    X, y, _, _ = small
    norms = [np.linalg.norm(np.concatenate([t[:, 1:].ravel() for t in
                                            nnopt.train(X, y, lam=lam, method="L-BFGS-B", maxiter=40).thetas]))
             for lam in (0.0, 10.0)]
    assert norms[1] < 0.7 * norms[0]


def test_float32_trains_as_well(small):
    X, y, X_test, y_test = small
    m64 = nnopt.train(X, y, method="L-BFGS-B", maxiter=20)
    m32 = nnopt.train(X, y, method="L-BFGS-B", maxiter=20, dtype=np.float32)
    assert m32.theta.dtype == np.float64
    assert m32.cost_history[-1] == pytest.approx(m64.cost_history[-1], rel=1e-3)


def test_deeper_network(small):
    X, y, X_test, y_test = small
    model = nnopt.train(X, y, hidden_layer_sizes=(20, 15), method="L-BFGS-B", maxiter=100)
    assert model.layer_sizes == (196, 20, 15, 10)
    assert model.score(X_test, y_test) > 0.6


def test_squared_error_loss(small):
    X, y, X_test, y_test = small
    model = nnopt.train(X, y, loss="squared_error", method="L-BFGS-B", maxiter=100)
    assert model.loss == "squared_error"
    assert model.cost_history[-1] == pytest.approx(_cost_of(model, X, y), rel=1e-12)
    assert model.score(X_test, y_test) > 0.6


# --- interruption and failure -------------------------------------------------

def _fail_at_call(monkeypatch, k, exc):
    """Make the k-th cost evaluation raise `exc` (or return NaN for exc=None)."""
    real = training.Objective.__call__
    calls = {"n": 0}

    def patched(self, theta):
        calls["n"] += 1
        if calls["n"] == k:
            if exc is None:
                J, g = real(self, theta)
                return np.nan, g
            raise exc
        return real(self, theta)

    monkeypatch.setattr(training.Objective, "__call__", patched)


@pytest.mark.parametrize("method", ["TNC", "L-BFGS-B", "SCG", "Rprop"])
def test_keyboard_interrupt_returns_the_last_completed_iteration(small, monkeypatch, method):
    X, y, X_test, y_test = small
    _fail_at_call(monkeypatch, 40, KeyboardInterrupt)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        model = nnopt.train(X, y, method=method, maxiter=50)
    assert 0 < model.n_iter < 50
    assert len(model.cost_history) == model.n_iter
    assert model.cost_history[-1] == pytest.approx(_cost_of(model, X, y), rel=1e-12)
    assert "KeyboardInterrupt" in model.result.message and not model.result.success
    # usable: it learned something, and it predicts
    assert model.cost_history[-1] < model.initial_cost
    assert model.score(X_test, y_test) > 0.1


def test_interrupt_before_the_first_iteration_returns_the_initial_model(small, monkeypatch):
    X, y, _, _ = small
    _fail_at_call(monkeypatch, 1, KeyboardInterrupt)
    with pytest.warns(ConvergenceWarning, match="after 0 iteration"):
        model = nnopt.train(X, y, method="CG", maxiter=5, seed=1)
    assert model.n_iter == 0
    assert np.array_equal(model.theta, nnopt.random_init(model.layer_sizes, seed=1))


def test_non_finite_cost_warns_and_keeps_the_last_good_parameters(small, monkeypatch):
    X, y, _, _ = small
    _fail_at_call(monkeypatch, 6, None)
    with pytest.warns(ConvergenceWarning, match="non-finite.*Things to try"):
        model = nnopt.train(X, y, method="L-BFGS-B", maxiter=50)
    assert np.all(np.isfinite(model.theta))
    assert model.n_iter >= 1
    assert model.cost_history[-1] == pytest.approx(_cost_of(model, X, y), rel=1e-12)


def test_optimizer_failure_warns_with_scipy_message(monkeypatch, small):
    X, y, _, _ = small
    real = training.minimize

    def failing(*args, **kwargs):
        result = real(*args, **kwargs)
        result.success, result.status = False, 2
        result.message = "Desired error not necessarily achieved due to precision loss."
        return result

    monkeypatch.setattr(training, "minimize", failing)
    with pytest.warns(ConvergenceWarning, match="precision loss.*Things to try"):
        nnopt.train(X, y, method="CG", maxiter=50, options={"gtol": 1e-1})


# --- bad input: clear errors before any optimization ---------------------------

@pytest.fixture
def no_optimizer(monkeypatch):
    """Fail the test if the optimizer or any cost evaluation runs."""
    def forbidden(*a, **k):
        raise AssertionError("optimization started before the input was checked")

    monkeypatch.setattr(training, "minimize", forbidden)
    monkeypatch.setattr(training.Objective, "__call__", forbidden)


def _Xy():
    rng = np.random.default_rng(0)
    return rng.random((12, 4)), np.arange(12) % 3


@pytest.mark.parametrize("change, error, match", [
    (dict(method="Nelder-Mead"), ValueError, "Nelder-Mead.*uses no gradient"),
    (dict(method="COBYLA"), ValueError, "COBYLA.*uses no gradient"),
    (dict(method="trust-exact"), ValueError, "needs the whole Hessian matrix.*'trust-ncg'"),
    (dict(method="L-BFGS-B", curvature="hessian"), ValueError, "curvature='hessian' is for the methods"),
    (dict(method="trust-ncg", curvature="newton"), ValueError, "curvature must be one of"),
    (dict(method="TNC", curvature_fraction=0.5), ValueError, "curvature_fraction=0.5 is for the methods"),
    (dict(method="Newton-CG", curvature_fraction=0.0), ValueError,
     r"curvature_fraction must be a finite number in \(0, 1\]; got 0.0"),
    (dict(method="trust-krylov", curvature_fraction="all"), TypeError, "curvature_fraction must be a real"),
    (dict(method="ADAM!"), ValueError, "unknown method 'ADAM!'"),
    (dict(method=3), TypeError, "method must be a string"),
    (dict(hidden_layer_sizes=(25, 0)), ValueError, r"at least 1 unit.*\(25, 0\)"),
    (dict(hidden_layer_sizes=-2), ValueError, r"at least 1 unit.*\(-2,\)"),
    (dict(hidden_layer_sizes=(2.5,)), TypeError, "whole numbers"),
    (dict(maxiter=0), ValueError, "maxiter must be >= 1; got 0"),
    (dict(maxiter=2.5), TypeError, "maxiter must be a whole number"),
    (dict(lam=-1.0), ValueError, "lam must be a finite number >= 0; got -1.0"),
    (dict(lam=float("nan")), ValueError, "lam must be a finite number >= 0; got nan"),
    (dict(loss="hinge"), ValueError, "loss must be one of.*'hinge'"),
    (dict(learning_rate=0.1), TypeError, "learning_rate"),
    (dict(options=[1]), TypeError, "options must be a dict"),
])
def test_bad_settings_raise_before_optimization(no_optimizer, change, error, match):
    X, y = _Xy()
    with pytest.raises(error, match=match):
        nnopt.train(X, y, **change)


@pytest.mark.parametrize("make, error, match", [
    (lambda X, y: (X[:, None], y), ValueError, "X must be 2-D.*got 3-D"),
    (lambda X, y: (X[:0], y[:0]), ValueError, "X is empty"),
    (lambda X, y: (np.where(np.eye(12, 4) > 0, np.nan, X), y), ValueError, "X must be finite.*NaN"),
    (lambda X, y: (np.where(np.eye(12, 4) > 0, np.inf, X), y), ValueError, "X must be finite"),
    (lambda X, y: (X, y[:-1]), ValueError, "y has 11 labels but X has m = 12 rows"),
    (lambda X, y: (X, np.zeros(12)), ValueError, r"at least 2 classes.*\[0.0\]"),
    (lambda X, y: (X, np.where(np.arange(12) == 3, np.nan, y)), ValueError, "y holds NaN"),
    (lambda X, y: (X, np.array([1, "a"] * 6, dtype=object)), TypeError, "comparable"),
    (lambda X, y: (X, np.full((12, 3), 2.0)), ValueError, r"multi-label target and must hold only 0 and 1"),
    (lambda X, y: (X, np.ones((12, 3, 2))), ValueError, r"y must be 1-D.*\(12, 3, 2\)"),
    (lambda X, y: ("abc", y), TypeError, "X must be a 2-D numeric array"),
])
def test_bad_data_raise_before_optimization(no_optimizer, make, error, match):
    X, y = make(*_Xy())
    with pytest.raises(error, match=match):
        nnopt.train(X, y)


def test_encode_labels_sorts_classes():
    classes, idx = encode_labels(np.array(["b", "a", "c", "a"]), 4)
    assert classes.tolist() == ["a", "b", "c"]
    assert idx.tolist() == [1, 0, 2, 0]


def test_tnc_gets_nnopts_options_and_the_users_win(monkeypatch, small):
    X, y, _, _ = small
    seen = []
    real = training.minimize

    def spy(*args, **kwargs):
        seen.append(dict(kwargs["options"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "minimize", spy)
    nnopt.train(X, y, method="TNC", maxiter=2)
    nnopt.train(X, y, method="TNC", maxiter=2, options={"maxCGit": 50, "eta": 0.5})
    assert seen[0]["maxCGit"] == 10 and seen[0]["rescale"] == 0
    assert seen[1]["maxCGit"] == 50 and seen[1]["eta"] == 0.5 and seen[1]["rescale"] == 0
    assert "maxiter" not in seen[0]  # SciPy's TNC would warn about it


# ---------------------------------------------------------------- defects of the adversarial battery


def test_lambda_0_with_huge_weights_gives_a_finite_cost_not_nan():
    # defect 1: ΣΘ² overflows to inf above |θ| ≈ 1.4e154, and λ/(2m)·ΣΘ² was 0·inf = NaN
    sizes = (3, 4, 3)
    theta = nnopt.random_init(sizes, seed=0) * 1e155
    rng = np.random.default_rng(0)
    X, y = rng.random((5, 3)), rng.integers(0, 3, 5)
    J, grad = nnopt.cost_and_gradient(theta, X, y, 0.0, sizes)
    assert np.isfinite(J) and np.isfinite(grad).all()
    assert np.isfinite(nnopt.cost(theta, X, y, 0.0, sizes))
    assert J == pytest.approx(nnopt.cost(theta, X, y, 0.0, sizes), rel=1e-12)


def _interrupt_at_line(offset, call):
    """A tracer that raises KeyboardInterrupt at line `offset` of Recorder._commit, in its `call`-th call."""
    first = Recorder._commit.__code__.co_firstlineno
    seen = {"calls": 0}

    def local(frame, event, arg):
        if event == "line" and frame.f_lineno == first + offset and seen["calls"] == call:
            seen["calls"] = -1  # once
            raise KeyboardInterrupt
        return local

    def tracer(frame, event, arg):
        if frame.f_code is Recorder._commit.__code__:
            if event == "call" and seen["calls"] >= 0:
                seen["calls"] += 1
            return local
        return None

    return tracer, seen


def test_ctrl_c_anywhere_inside_the_recorder_leaves_theta_and_the_curve_matching():
    # defect 5: Ctrl-C between setting θ and appending its cost returned a model
    # one iteration ahead of its cost curve, or curves of different lengths
    import sys
    X, y = nnopt.load_digits()
    X, y = X[::20], y[::20]
    n_lines = len(inspect.getsource(Recorder._commit).splitlines())
    interrupted = 0
    for offset in range(1, n_lines):
        tracer, seen = _interrupt_at_line(offset, call=4)  # call 1 records iteration 0
        sys.settrace(tracer)
        try:
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                model = nnopt.train(X, y, hidden_layer_sizes=(5,), method="L-BFGS-B", maxiter=6,
                                    progress=False)
        finally:
            sys.settrace(None)
        if seen["calls"] != -1:
            continue  # no line at this offset ran
        interrupted += 1
        assert len(model.cost_history) == len(model.time_history) == model.n_iter
        assert {len(values) for values in model.history.values()} == {model.n_iter + 1}
        assert model.n_iter in (2, 3)
        # the model's θ is the one whose cost ends the curve
        J = nnopt.cost(model.theta, X, np.searchsorted(model.classes_, y), 1.0, model.layer_sizes)
        assert model.cost_history[-1] == pytest.approx(J, rel=1e-10)
    assert interrupted >= 5  # the interruption did land on the recorder's lines


def test_unscaled_pixels_warn_once_naming_the_largest_value_and_the_fix():
    # defect 6: uint8 pixels in 0..255 trained silently to a poor model
    X, y = nnopt.load_digits()
    X255 = np.round(X[::10] * 255).astype(np.uint8)
    with pytest.warns(nnopt.ScalingWarning) as caught:
        nnopt.train(X255, y[::10], maxiter=2)
    scaling = [w for w in caught if issubclass(w.category, nnopt.ScalingWarning)]
    assert len(scaling) == 1
    assert "255" in str(scaling[0].message) and "X / 255" in str(scaling[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error", nnopt.ScalingWarning)
        nnopt.train(X[::10], y[::10], maxiter=2)  # pixels in [0, 1]: no warning
