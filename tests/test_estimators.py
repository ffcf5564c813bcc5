"""NNClassifier and NNRegressor: scikit-learn's own estimator checks, and the
uses they exist for (cross-validation, pipelines, grid search)."""

import functools
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import nnopt
from nnopt import estimators
from nnopt._validation import ScalingWarning
from nnopt.estimators import NNClassifier, NNRegressor


# ---------------------------------------------------------------- scikit-learn's checks

# Each estimator with the default optimizer (TNC) and with L-BFGS-B, and each
# output and hidden activation at least once; maxiter=20 keeps a check's fits
# to milliseconds.
CHECKED = [
    NNClassifier(maxiter=20),
    NNClassifier(output="sigmoid", maxiter=20),
    NNClassifier(method="L-BFGS-B", maxiter=20),
    NNClassifier(output="softmax", activation="tanh", method="L-BFGS-B", maxiter=20),
    NNRegressor(maxiter=20),
    NNRegressor(activation="relu", method="L-BFGS-B", maxiter=20),
    NNClassifier(method="SCG", maxiter=20),
    NNRegressor(method="Rprop", maxiter=20),
    NNClassifier(early_stopping=True, method="L-BFGS-B", maxiter=20),
    NNRegressor(early_stopping=True, method="L-BFGS-B", maxiter=20),
]


def expected_failed_checks(estimator):
    if estimator.early_stopping:
        return {
            # the held-out rows are drawn from the rows given: a row repeated
            # k times and a row of weight k go to one side or the other in
            # different draws, so the two fits see different training sets
            # (MLPClassifier's early stopping does the same)
            "check_sample_weight_equivalence_on_dense_data":
                "the validation split draws repeated rows and weighted rows differently",
        }
    if estimator.method.upper() != "TNC":
        return {}
    return {
        # The check compares a fit with integer weights to a fit on the rows
        # repeated, in another row order. nnopt's cost and gradient agree
        # between the two to 1e-16 and the L-BFGS-B instances pass it (as does
        # test_integer_weights_equal_repeated_rows), but TNC takes its
        # Hessian-vector products by finite differences of the gradient,
        # which magnify those rounding differences about 1e9 times: the two
        # fits' parameters differ by 2e-7 after one iteration and 0.1 after
        # 20, as they do for the same rows merely reordered without weights.
        "check_sample_weight_equivalence_on_dense_data":
            "TNC's finite-difference Hessian products magnify the rounding of a changed row order",
    }


# These checks draw X around 100 on purpose (their subject is the API, not
# the fit); nnopt says such X will saturate its units, and must say so.
UNSCALED_X_CHECKS = {"check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in"}


def check_name(check):
    while isinstance(check, functools.partial):
        check = check.func
    return check.__name__


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks)
def test_scikit_learn_estimator_checks(estimator, check):
    if check_name(check) in UNSCALED_X_CHECKS:
        with pytest.warns(ScalingWarning, match="far outside the range"):
            check(estimator)
    else:
        check(estimator)


def test_integer_weights_equal_repeated_rows():
    # The equivalence scikit-learn checks, with an optimizer that does not
    # magnify rounding: same rows in the same order, so the cost and gradient
    # agree to rounding at every point the optimizer visits.
    rng = np.random.default_rng(3)
    X = rng.random((15, 6))
    y = rng.integers(0, 3, size=15)
    w = rng.integers(1, 4, size=15)
    clf = NNClassifier(method="L-BFGS-B", maxiter=30)
    weighted = clone(clf).fit(X, y, sample_weight=w)
    repeated = clone(clf).fit(X.repeat(w, axis=0), y.repeat(w))
    assert weighted.n_iter_ == repeated.n_iter_ == 30
    np.testing.assert_allclose(weighted.model_.theta, repeated.model_.theta, rtol=0, atol=1e-10)
    # and the weights mattered: unweighted, the fit is another one
    unweighted = clone(clf).fit(X, y)
    assert np.abs(unweighted.model_.theta - weighted.model_.theta).max() > 1e-3


# ---------------------------------------------------------------- real use

@pytest.fixture(scope="module")
def digits():
    return nnopt.load_digits()


def test_cross_val_score_of_a_scaled_pipeline_on_the_digits(digits):
    X, y = digits
    # the call, with the defaults: softmax outputs ("auto" for labels),
    # λ = 1, TNC for 25 iterations. Standardized pixels, unlike the course's
    # [0, 1] ones, turn a pixel that is dark in a handful of examples into
    # values near 60 there: the course's sigmoid outputs average 0.891 here
    # (λ = 10 with softmax outputs 0.907; unscaled [0, 1] pixels 0.917).
    pipeline = make_pipeline(StandardScaler(), NNClassifier())
    scores = cross_val_score(pipeline, X, y, cv=5)
    assert scores.shape == (5,)
    assert scores.mean() >= 0.90, scores
    assert pipeline.fit(X[::2], y[::2])[-1].model_.output == "softmax"


def test_grid_search_over_lam_and_hidden_layer_sizes(digits):
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=1200, test_size=600,
                                                        stratify=y, random_state=0)
    grid = {"nnclassifier__lam": [0.1, 10.0], "nnclassifier__hidden_layer_sizes": [(5,), (25,)]}
    search = GridSearchCV(make_pipeline(StandardScaler(), NNClassifier(maxiter=15)), grid, cv=3,
                          n_jobs=2)
    search.fit(X_train, y_train)
    assert len(search.cv_results_["params"]) == 4
    # the settings matter: the four candidates do not score alike
    mean_scores = search.cv_results_["mean_test_score"]
    assert mean_scores.max() - mean_scores.min() > 0.01, mean_scores
    # the refit network was built and trained with the chosen values
    best = search.best_estimator_[-1]
    hidden = search.best_params_["nnclassifier__hidden_layer_sizes"]
    assert best.model_.layer_sizes == (784, *hidden, 10)
    assert best.model_.lam == search.best_params_["nnclassifier__lam"]
    assert search.score(X_test, y_test) >= 0.80


def test_clone_and_set_params():
    clf = NNClassifier((10,), lam=0.5, method="L-BFGS-B", maxiter=7)
    params = clf.get_params()
    assert params["hidden_layer_sizes"] == (10,) and params["lam"] == 0.5
    assert params["maxiter"] == 7 and params["output"] == "auto" and params["seed"] == 0

    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf.fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == params
    assert not hasattr(copy, "model_")  # a clone is unfitted

    assert copy.set_params(hidden_layer_sizes=(4, 3), lam=2.0) is copy
    copy.fit(X, y)
    assert copy.model_.layer_sizes == (2, 4, 3, 3)
    assert copy.model_.lam == 2.0
    assert clf.model_.layer_sizes == (2, 10, 3)  # the original is untouched


def test_regressor_in_a_pipeline_learns_a_known_function():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(400, 1))
    y = np.sin(3 * x[:, 0]) + 0.1 * rng.standard_normal(400)  # noise caps R² near 0.98
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
    pipeline = make_pipeline(StandardScaler(), NNRegressor(lam=0.1)).fit(x_train, y_train)
    prediction = pipeline.predict(x_test)
    assert prediction.shape == (100,)
    assert pipeline.score(x_test, y_test) >= 0.95


def test_sample_weight_reaches_train(monkeypatch):
    received = []

    def recording_train(*args, **kwargs):
        received.append(kwargs["sample_weight"])
        return nnopt.train(*args, **kwargs)

    monkeypatch.setattr(estimators, "train", recording_train)
    X, y = make_blobs(n_samples=30, centers=2, random_state=1)
    w = np.linspace(0.5, 2.0, 30)
    NNClassifier(maxiter=5).fit(X, y, sample_weight=w.tolist())
    NNRegressor(maxiter=5).fit(X, X[:, 0], sample_weight=w)
    NNRegressor(maxiter=5).fit(X, X[:, 0])
    assert len(received) == 3
    np.testing.assert_array_equal(received[0], w)
    np.testing.assert_array_equal(received[1], w)
    assert received[2] is None


def test_zero_weight_on_a_class_stops_it_being_predicted():
    X, y = make_blobs(n_samples=150, centers=3, cluster_std=0.5, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = NNClassifier(method="L-BFGS-B", maxiter=50)
    assert np.mean(clone(clf).fit(X, y).predict(X[y == 2]) == 2) > 0.9
    weighted = clone(clf).fit(X, y, sample_weight=np.where(y == 2, 0.0, 1.0))
    np.testing.assert_array_equal(weighted.classes_, [0, 1, 2])
    assert np.mean(weighted.predict(X[y == 2]) == 2) < 0.1


# ---------------------------------------------------------------- what the estimators give

@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=90, centers=3, cluster_std=2.0, random_state=2)
    return StandardScaler().fit_transform(X), np.array(["cat", "dog", "emu"])[y]


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_predict_proba_rows_sum_to_1_and_agree_with_predict(blobs, output):
    X, y = blobs
    clf = NNClassifier(output=output, maxiter=10).fit(X, y)
    proba = clf.predict_proba(X)
    raw = clf.model_.predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # the sigmoid units rescaled row by row; softmax as it is
    np.testing.assert_allclose(proba, raw / raw.sum(axis=1, keepdims=True), rtol=1e-12)
    if output == "sigmoid":
        assert np.abs(raw.sum(axis=1) - 1).max() > 0.01  # so the rescaling was needed
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(proba, axis=1)])
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "emu"])


def test_binary_problem_gets_two_output_units(blobs):
    X, y = blobs
    keep = y != "emu"
    clf = NNClassifier(maxiter=10).fit(X[keep], y[keep])
    assert clf.model_.layer_sizes[-1] == 2
    assert clf.predict_proba(X).shape == (90, 2)
    assert set(clf.predict(X)) <= {"cat", "dog"}


def test_fitted_attributes(blobs):
    X, y = blobs
    clf = NNClassifier(maxiter=12).fit(X, y)
    assert clf.n_features_in_ == 2
    assert clf.n_iter_ == clf.model_.n_iter == 12
    assert isinstance(clf.cost_history_, np.ndarray) and clf.cost_history_.shape == (12,)
    assert isinstance(clf.loss_curve_, list)
    np.testing.assert_array_equal(clf.loss_curve_, clf.cost_history_)
    assert clf.cost_history_[-1] < clf.cost_history_[0]
    assert not hasattr(clf, "feature_names_in_")  # X had no column names
    # the fitted estimator survives a pickle round trip (scikit-learn's
    # business; nnopt's own model files never use pickle)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_multilabel_y(blobs):
    X, _ = blobs
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X.sum(axis=1) > 0]).astype(int)
    clf = NNClassifier(method="L-BFGS-B", maxiter=50).fit(X, Y)
    assert clf.model_.output == "sigmoid"  # "auto": one sigmoid unit per label
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(proba, clf.model_.predict_proba(X))  # independent units, unscaled
    prediction = clf.predict(X)
    assert prediction.shape == (90, 3)
    np.testing.assert_array_equal(prediction, (proba >= 0.5).astype(int))
    assert np.mean(prediction == Y) > 0.9
    with pytest.raises(ValueError, match="output='sigmoid'"):
        NNClassifier(output="softmax", maxiter=5).fit(X, Y)


def test_regressor_predicts_in_the_shape_of_y():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3))
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    assert NNRegressor(maxiter=5).fit(X, Y[:, 0]).predict(X).shape == (40,)
    two = NNRegressor(maxiter=5).fit(X, Y)
    assert two.predict(X).shape == (40, 2)
    assert two.model_.layer_sizes == (3, 25, 2)


def test_sparse_matrices_are_refused_with_a_message_that_says_so(blobs):
    X, y = blobs
    for estimator, target in [(NNClassifier(maxiter=5), y), (NNRegressor(maxiter=5), X[:, 0])]:
        with pytest.raises(TypeError, match="does not support sparse matrices: X is a scipy.sparse csr"):
            estimator.fit(sparse.csr_matrix(X), target)
        estimator.fit(X, target)
        with pytest.raises(TypeError, match="does not support sparse matrices"):
            estimator.predict(sparse.csr_array(X))


def test_bad_settings_raise_clear_errors(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="output must be 'auto', 'sigmoid' or 'softmax' for a classifier; "
                                         "got 'identity'.*NNRegressor"):
        NNClassifier(output="identity").fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes; y holds one class only: 'cat'"):
        NNClassifier().fit(X, np.full(90, "cat"))
    with pytest.raises(ValueError, match="Unknown label type"):
        NNClassifier().fit(X, X[:, 0])  # real values: regression, not classes
    with pytest.raises(ValueError, match="must be a multi-label matrix of 0 and 1"):
        NNClassifier().fit(X, np.column_stack([np.arange(90) % 3, np.arange(90) % 2]))
    with pytest.raises(ValueError, match="sample_weight is zero for every example"):
        NNClassifier().fit(X, y, sample_weight=np.zeros(90))
    # train checks its own arguments; the estimator passes them on unchanged
    with pytest.raises(ValueError, match="unknown method 'newton'"):
        NNClassifier(method="newton").fit(X, y)
    with pytest.raises(TypeError, match=r"unexpected options \['learning_rate'\] for method 'TNC'"):
        NNClassifier(learning_rate=0.1).fit(X, y)


def test_curvature_options_reach_train(blobs, monkeypatch):
    from nnopt import estimators
    X, y = blobs
    seen = {}
    real = estimators.train

    def spy(*args, **kw):
        seen.update(kw)
        return real(*args, **kw)

    monkeypatch.setattr(estimators, "train", spy)
    clf = NNClassifier(method="Newton-CG", curvature="hessian", curvature_fraction=0.5, maxiter=5).fit(X, y)
    assert (seen["curvature"], seen["curvature_fraction"]) == ("hessian", 0.5)
    assert clf.model_.method == "Newton-CG" and clf.score(X, y) > 0.5
    with pytest.raises(ValueError, match="curvature_fraction=0.5 is for the methods"):
        NNRegressor(curvature_fraction=0.5).fit(X, X[:, 0])


def test_descent_options_reach_train(blobs):
    X, y = blobs
    clf = NNClassifier(method="sgd", learning_rate=0.3, batch_size=16, epochs=4).fit(X, y)
    assert clf.n_iter_ == 4  # sgd counts epochs
    assert clf.model_.method == "sgd"


# ---------------------------------------------------------------- without scikit-learn

_HIDE_SKLEARN = """
import sys

class HideScikitLearn:
    # as if scikit-learn were not installed
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, HideScikitLearn())
"""


def run_python(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_import_nnopt_does_not_import_scikit_learn():
    result = run_python("""
        import sys
        import nnopt
        assert "sklearn" not in sys.modules, "import nnopt imported scikit-learn"
        print(nnopt.NNClassifier.__module__, nnopt.NNRegressor.__name__)
        assert "sklearn" in sys.modules
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["nnopt.estimators", "NNRegressor"]


def test_without_scikit_learn_nnopt_works_and_the_estimators_say_what_to_install():
    result = run_python(_HIDE_SKLEARN + textwrap.dedent("""
        import numpy as np
        import nnopt
        assert "sklearn" not in sys.modules
        X = np.random.default_rng(0).random((20, 3))
        model = nnopt.train(X, (X[:, 0] > 0.5).astype(int), maxiter=3, progress=False)
        assert model.n_iter == 3
        def from_module():
            import nnopt.estimators

        for get in (from_module, lambda: nnopt.NNClassifier, lambda: nnopt.NNRegressor):
            try:
                get()
            except ImportError as e:
                print(e)
            else:
                raise AssertionError("no ImportError")
    """))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        assert "need scikit-learn 1.6 or later" in line and "pip install nnopt[sklearn]" in line


def test_early_stopping_on_the_digits_gives_validation_scores():
    X, y = nnopt.load_digits()
    clf = NNClassifier(hidden_layer_sizes=(100,), lam=0.0, method="L-BFGS-B", maxiter=300,
                       early_stopping=True, validation_fraction=0.15, n_iter_no_change=6)
    clf.fit(X[::2], y[::2])
    model = clf.model_
    assert len(clf.validation_scores_) == clf.n_iter_ == model.n_iter
    assert clf.best_validation_score_ == model.history["validation_score"][model.best_iteration]
    assert 0.8 < clf.best_validation_score_ <= 1
    assert model.n_iter < 300 and "Validation stop" in model.result.message
    assert clf.loss_curve_ == model.cost_history.tolist()
    plain = NNClassifier(maxiter=2).fit(X[::17], y[::17])
    assert plain.validation_scores_ is None and plain.best_validation_score_ is None
