"""Beyond the course's network: tanh and ReLU units, softmax and identity outputs, sample weights."""

import numpy as np
import pytest

import nnopt
from nnopt import cost, cost_and_gradient, numerical_gradient, random_init
from nnopt.activations import ACTIVATIONS
from nnopt.losses import PAIRS

PAIR_IDS = [f"{o}-{l}" for o, l in PAIRS]


def _split():
    """The bundled digits' 4,000/1,000 split (the digits come sorted by class)."""
    X, y = nnopt.load_digits()
    X_train, X_test, y_train, y_test = nnopt.train_test_split(X, y, test_size=1000, seed=0)
    return X_train, X_test, y_train, y_test


def _targets(output, loss, m, K, rng, kind="auto"):
    """y suited to an output unit: class indices, 0/1 labels, or real values."""
    if output == "identity":
        return rng.standard_normal((m, K))
    if kind == "multilabel":
        return (rng.random((m, K)) < 0.4).astype(float)
    return rng.integers(0, K, size=m)


def _problem(depth, output, loss, seed, m=9, kind="auto"):
    rng = np.random.default_rng(seed)
    sizes = (4, *(5, 4, 3)[:depth], 3)
    theta = random_init(sizes, epsilon=0.9, seed=rng)
    X = rng.standard_normal((m, sizes[0]))
    y = _targets(output, loss, m, sizes[-1], rng, kind)
    return theta, X, y, sizes


# ---------------------------------------------------------------- gradient checks


# depths 1-3 hidden layers for every unit; with none, the hidden unit plays no part
NETWORKS = [(a, d) for a in ACTIVATIONS for d in (1, 2, 3)] + [("sigmoid", 0)]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("lam", [0.0, 0.7])
@pytest.mark.parametrize("pair", list(PAIRS), ids=PAIR_IDS)
@pytest.mark.parametrize("activation, depth", NETWORKS, ids=[f"{a}-depth{d}" for a, d in NETWORKS])
def test_backprop_matches_central_differences(activation, depth, pair, lam, weighted):
    output, loss = pair
    theta, X, y, sizes = _problem(depth, output, loss, seed=depth * 10 + len(activation))
    w = np.random.default_rng(3).uniform(0.2, 3.0, size=X.shape[0]) if weighted else None
    kw = dict(activation=activation, output=output, sample_weight=w)
    J, grad = cost_and_gradient(theta, X, y, lam, sizes, loss, **kw)
    num = numerical_gradient(lambda t: cost(t, X, y, lam, sizes, loss, **kw), theta, eps=1e-5)
    rel = np.linalg.norm(num - grad) / np.linalg.norm(num + grad)
    assert rel < 1e-7, rel
    assert J == pytest.approx(cost(theta, X, y, lam, sizes, loss, **kw), rel=1e-12)


@pytest.mark.parametrize("depth", [1, 2])
def test_multilabel_targets_gradient(depth):
    theta, X, y, sizes = _problem(depth, "sigmoid", "cross_entropy", seed=4, kind="multilabel")
    J, grad = cost_and_gradient(theta, X, y, 0.3, sizes, activation="tanh")
    num = numerical_gradient(lambda t: cost(t, X, y, 0.3, sizes, activation="tanh"), theta, eps=1e-5)
    assert np.linalg.norm(num - grad) / np.linalg.norm(num + grad) < 1e-7


def test_a_wrong_activation_breaks_the_check():
    # the check can fail: tanh's gradient is not the sigmoid's
    theta, X, y, sizes = _problem(2, "sigmoid", "cross_entropy", seed=5)
    _, grad = cost_and_gradient(theta, X, y, 0.0, sizes, activation="sigmoid")
    num = numerical_gradient(lambda t: cost(t, X, y, 0.0, sizes, activation="tanh"), theta)
    assert np.linalg.norm(num - grad) / np.linalg.norm(num + grad) > 1e-2


# ---------------------------------------------------------------- sample weights


@pytest.mark.parametrize("lam", [0.0, 1.3])
@pytest.mark.parametrize("pair", list(PAIRS), ids=PAIR_IDS)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_integer_weights_equal_repeated_rows(activation, pair, lam):
    output, loss = pair
    theta, X, y, sizes = _problem(2, output, loss, seed=6, m=8)
    w = np.array([0, 1, 2, 3, 1, 0, 4, 1])
    kw = dict(activation=activation, output=output)
    J, g = cost_and_gradient(theta, X, y, lam, sizes, loss, sample_weight=w, **kw)
    rows = np.repeat(np.arange(8), w)
    J_rep, g_rep = cost_and_gradient(theta, X[rows], y[rows], lam, sizes, loss, **kw)
    assert J == pytest.approx(J_rep, rel=1e-12)
    np.testing.assert_allclose(g, g_rep, rtol=1e-12, atol=1e-14)


def test_integer_weights_equal_repeated_rows_on_the_course_network():
    # the kernels' pass takes no weights: weighted and repeated go different ways
    X, y = nnopt.load_digits()
    X, y = X[:300], y[:300]
    sizes = (784, 25, 10)
    theta = random_init(sizes, seed=3)
    w = np.random.default_rng(0).integers(0, 4, size=300)
    J, g = cost_and_gradient(theta, X, y, 1.0, sizes, sample_weight=w)
    rows = np.repeat(np.arange(300), w)
    J_rep, g_rep = cost_and_gradient(theta, X[rows], y[rows], 1.0, sizes)
    assert J == pytest.approx(J_rep, rel=1e-12)
    np.testing.assert_allclose(g, g_rep, rtol=1e-10, atol=1e-14)


def test_unit_weights_are_no_weights():
    theta, X, y, sizes = _problem(1, "softmax", "cross_entropy", seed=7)
    a = cost_and_gradient(theta, X, y, 0.5, sizes, output="softmax")
    b = cost_and_gradient(theta, X, y, 0.5, sizes, output="softmax", sample_weight=np.ones(len(X)))
    assert a[0] == pytest.approx(b[0], rel=1e-14)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("w, message", [
    (np.ones(3), r"sample_weight must have shape \(9,\)"),
    (-np.ones(9), r"sample_weight must be >= 0"),
    (np.zeros(9), r"sample_weight must have a positive sum"),
    (np.full(9, np.nan), r"sample_weight must be finite"),
    (np.array(["a"] * 9), r"sample_weight must hold real numbers"),
])
def test_bad_sample_weights_are_refused(w, message):
    theta, X, y, sizes = _problem(1, "sigmoid", "cross_entropy", seed=8)
    with pytest.raises((ValueError, TypeError), match=message):
        cost(theta, X, y, 1.0, sizes, sample_weight=w)


# ---------------------------------------------------------------- the tables, by hand


def test_each_activation_by_hand():
    z = np.array([-2.0, 0.0, 3.0])
    expected = {"sigmoid": 1 / (1 + np.exp(-z)), "tanh": np.tanh(z), "relu": np.array([0.0, 0.0, 3.0])}
    # g′ by hand: σ(1 − σ); 1 − tanh²; ReLU's 0 for z ≤ 0 (g′(0) = 0, documented) and 1 above
    gprime = {"sigmoid": expected["sigmoid"] * (1 - expected["sigmoid"]),
              "tanh": 1 - np.tanh(z) ** 2, "relu": np.array([0.0, 0.0, 1.0])}
    for name, (g, derivative, _) in ACTIVATIONS.items():
        a = g(z.copy())
        np.testing.assert_allclose(a, expected[name], rtol=1e-15, atol=1e-16)
        np.testing.assert_allclose(derivative(a), gprime[name], rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("pair, y, expected", [
    # one example x = 2, no hidden layer, Θ = [[0, 1], [0, −1]]: z = (2, −2)
    (("sigmoid", "cross_entropy"), [0], 2 * np.log1p(np.exp(-2))),   # −log σ(2) − log(1 − σ(−2))
    (("sigmoid", "squared_error"), [0], (1 / (1 + np.exp(2))) ** 2),  # ½[(σ(2) − 1)² + σ(−2)²] = σ(−2)²
    (("softmax", "cross_entropy"), [0], np.log1p(np.exp(-4))),       # log(e² + e⁻²) − 2
    (("identity", "squared_error"), [[1.0, 0.0]], 2.5),              # ½[(2 − 1)² + (−2)²]
], ids=PAIR_IDS)
def test_each_output_and_loss_by_hand(pair, y, expected):
    output, loss = pair
    theta = np.array([0.0, 1.0, 0.0, -1.0])
    J = cost(theta, np.array([[2.0]]), np.array(y), 0.0, (1, 2), loss, output=output)
    assert J == pytest.approx(expected, rel=1e-14)


def test_softmax_cost_is_finite_and_exact_at_z_1000():
    # z = (1000, −1000, 0) for x = 1; the log-sum-exp written out:
    # log(e^1000 + e^−1000 + e^0) = 1000 + log(1 + e^−2000 + e^−1000) = 1000 in float64
    theta = np.array([0.0, 1000.0, 0.0, -1000.0, 0.0, 0.0])
    X = np.array([[1.0], [1.0], [1.0]])
    y = np.array([0, 1, 2])
    zmax = 1000.0
    lse = zmax + np.log(np.exp(1000.0 - zmax) + np.exp(-1000.0 - zmax) + np.exp(0.0 - zmax))
    expected = np.mean([lse - 1000.0, lse + 1000.0, lse - 0.0])
    J, grad = cost_and_gradient(theta, X, y, 0.0, (1, 3), output="softmax")
    assert np.isfinite(J) and np.isfinite(grad).all()
    assert J == expected  # (0 + 2000 + 1000) / 3, exactly
    assert J == pytest.approx(1000.0, rel=0)


def test_softmax_outputs_of_a_model_sum_to_one():
    X, _, y, _ = _split()
    model = nnopt.train(X[:500], y[:500], output="softmax", activation="relu", maxiter=5)
    h = model.predict_proba(X[500:600])
    np.testing.assert_allclose(h.sum(axis=1), 1.0, rtol=1e-12)


# ---------------------------------------------------------------- refusals


def test_a_pair_not_in_the_table_names_both():
    theta, X, y, sizes = _problem(1, "sigmoid", "cross_entropy", seed=9)
    with pytest.raises(ValueError, match=r"output='softmax' does not go with loss='squared_error'"):
        cost(theta, X, y, 1.0, sizes, "squared_error", output="softmax")
    with pytest.raises(ValueError, match=r"output='identity' does not go with loss='cross_entropy'"):
        cost(theta, X, y, 1.0, sizes, "cross_entropy", output="identity")


@pytest.mark.parametrize("name, value", [("activation", "elu"), ("output", "tanh"), ("loss", "hinge")])
def test_unknown_names_are_refused(name, value):
    theta, X, y, sizes = _problem(1, "sigmoid", "cross_entropy", seed=10)
    kw = {name: value}
    loss = kw.pop("loss", None)
    with pytest.raises(ValueError, match=rf"{name} must be one of .*; got '{value}'"):
        cost(theta, X, y, 1.0, sizes, loss, **kw)


def test_real_targets_with_a_classifying_output_suggest_identity():
    rng = np.random.default_rng(11)
    X, y = rng.standard_normal((50, 2)), rng.standard_normal(50)
    with pytest.raises(ValueError, match=r"output='identity'"):
        nnopt.train(X, y, loss="squared_error")
    with pytest.raises(ValueError, match=r"output='identity'"):
        cost(random_init((2, 3, 4), seed=0), X, y, 1.0, (2, 3, 4))


# ---------------------------------------------------------------- training


def test_regression_learns_a_known_function():
    rng = np.random.default_rng(12)
    x = rng.uniform(-1, 1, size=(600, 1))
    y = np.sin(3 * x[:, 0]) + 0.05 * rng.standard_normal(600)
    model = nnopt.train(x[:400], y[:400], lam=1e-4, hidden_layer_sizes=(20,), activation="tanh",
                        output="identity", method="L-BFGS-B", maxiter=500)
    assert model.predict(x[400:]).shape == (200,)
    assert model.score(x[400:], y[400:]) >= 0.95  # R²


def test_multilabel_training_predicts_zero_one_rows():
    rng = np.random.default_rng(13)
    X = rng.standard_normal((300, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] < -0.5]).astype(int)
    model = nnopt.train(X[:200], Y[:200], lam=0.01, hidden_layer_sizes=(8,), maxiter=100)
    P = model.predict(X[200:])
    assert P.shape == (100, 3) and set(np.unique(P)) <= {0, 1}
    assert (P == Y[200:]).mean() > 0.9


def test_sample_weight_reaches_training():
    # weight 0 on every example of class 2: the network never learns to say 2
    X, _, y, _ = _split()
    X, y = X[:1000], y[:1000]
    w = np.where(y == 2, 0.0, 1.0)
    plain = nnopt.train(X, y, maxiter=15)
    weighted = nnopt.train(X, y, maxiter=15, sample_weight=w)
    assert (plain.predict(X[y == 2]) == 2).mean() > 0.5
    assert (weighted.predict(X[y == 2]) == 2).mean() < 0.1


def test_softmax_gradient_with_target_rows_that_do_not_sum_to_one():
    # rows of Y with two labels, or none: δ^(L) = (Σ_k y_k)·h − y, not h − y
    rng = np.random.default_rng(14)
    sizes = (4, 5, 3)
    theta = random_init(sizes, epsilon=0.9, seed=rng)
    X = rng.standard_normal((6, 4))
    Y = np.array([[1, 1, 0], [0, 0, 0], [0, 1, 0], [1, 0, 1], [0.5, 0.5, 0], [0, 0, 1]], dtype=float)
    _, grad = cost_and_gradient(theta, X, Y, 0.2, sizes, output="softmax")
    num = numerical_gradient(lambda t: cost(t, X, Y, 0.2, sizes, output="softmax"), theta, eps=1e-5)
    assert np.linalg.norm(num - grad) / np.linalg.norm(num + grad) < 1e-7


@pytest.mark.parametrize("pair", list(PAIRS), ids=PAIR_IDS)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_check_gradients_takes_every_network(activation, pair):
    output, loss = pair
    w = np.array([1.0, 2.0, 0.5, 0.0, 3.0])
    result = nnopt.check_gradients(0.5, (3, 5, 4, 3), loss=loss, activation=activation, output=output,
                                   sample_weight=w)
    assert result.relative_difference < 1e-8
    # and the weights do reach it: reversed, they give another gradient
    other = nnopt.check_gradients(0.5, (3, 5, 4, 3), loss=loss, activation=activation, output=output,
                                  sample_weight=w[::-1])
    assert not np.allclose(other.analytic, result.analytic)
