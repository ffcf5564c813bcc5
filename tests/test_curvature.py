"""Exact curvature: Hessian-vector products H·v and Gauss-Newton products G·v."""

import numpy as np
import pytest
from scipy.special import expit

import nnopt
from nnopt import cost, cost_and_gradient, random_init
from nnopt._problem import bind as _bind
from nnopt.network import Network
from nnopt.activations import ACTIVATIONS
from nnopt.curvature import at, gauss_newton_product, hessian_vector_product
from nnopt.spectrum import hessian_eigenvalues
from nnopt.losses import PAIRS
from nnopt.parameters import reshape

PAIR_IDS = [f"{o}-{l}" for o, l in PAIRS]
MATCHED = [("sigmoid", "cross_entropy"), ("softmax", "cross_entropy"), ("identity", "squared_error")]

# depths 1-3 for every hidden unit; with no hidden layer the unit plays no part
NETWORKS = [(a, d) for a in ACTIVATIONS for d in (1, 2, 3)] + [("sigmoid", 0)]
NETWORK_IDS = [f"{a}-depth{d}" for a, d in NETWORKS]


def _problem(depth, output, seed, m=9):
    """A seeded network and data: (theta, X, y, sizes) with targets suited to the output."""
    rng = np.random.default_rng(seed)
    sizes = (4, *(5, 4, 3)[:depth], 3)
    theta = random_init(sizes, epsilon=0.9, seed=rng)
    X = rng.standard_normal((m, sizes[0]))
    y = rng.standard_normal((m, sizes[-1])) if output == "identity" else rng.integers(0, sizes[-1], m)
    return theta, X, y, sizes


def _case(activation, depth, pair, lam, weighted):
    """The arguments of one product: (theta, args, keywords), and a seeded Generator."""
    output, loss = pair
    theta, X, y, sizes = _problem(depth, output, seed=depth * 10 + len(activation) + len(output))
    w = np.random.default_rng(3).uniform(0.2, 3.0, size=X.shape[0]) if weighted else None
    kw = dict(activation=activation, output=output, sample_weight=w)
    return theta, (X, y, lam, sizes, loss), kw, np.random.default_rng(depth + 100 * len(loss))


def _gradient(theta, args, kw):
    return cost_and_gradient(theta, *args, **kw)[1]


def _dense(product, theta, args, kw):
    """The matrix of a product, column by column: M e_i."""
    n = theta.size
    return np.column_stack([product(theta, np.eye(n)[i], *args, **kw) for i in range(n)])


def _non_bias(sizes):
    """1 on every weight off a bias column, 0 on the biases, unrolled as θ."""
    mask = np.ones(nnopt.parameters.n_params(sizes))
    for M in reshape(mask, sizes):
        M[:, 0] = 0
    return mask


MATRIX = pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
LAMS = pytest.mark.parametrize("lam", [0.0, 0.7])
EVERY_PAIR = pytest.mark.parametrize("pair", list(PAIRS), ids=PAIR_IDS)
EVERY_NETWORK = pytest.mark.parametrize("activation, depth", NETWORKS, ids=NETWORK_IDS)


# ---------------------------------------------------------------- H·v


@MATRIX
@LAMS
@EVERY_PAIR
@EVERY_NETWORK
def test_hessian_vector_product_matches_differences_of_the_gradient(activation, depth, pair, lam,
                                                                     weighted):
    theta, args, kw, rng = _case(activation, depth, pair, lam, weighted)
    v = rng.standard_normal(theta.size)
    Hv = hessian_vector_product(theta, v, *args, **kw)
    eps = 1e-5
    num = (_gradient(theta + eps * v, args, kw) - _gradient(theta - eps * v, args, kw)) / (2 * eps)
    assert Hv.dtype == np.float64 and Hv.shape == theta.shape
    assert np.linalg.norm(Hv - num) / np.linalg.norm(num) <= 1e-6


@MATRIX
@LAMS
@EVERY_PAIR
@EVERY_NETWORK
def test_hessian_is_symmetric(activation, depth, pair, lam, weighted):
    theta, args, kw, rng = _case(activation, depth, pair, lam, weighted)
    u, v = rng.standard_normal((2, theta.size))
    uHv = u @ hessian_vector_product(theta, v, *args, **kw)
    vHu = v @ hessian_vector_product(theta, u, *args, **kw)
    assert abs(uHv - vHu) <= 1e-10 * abs(uHv)


def test_a_wrong_hessian_fails_the_difference_check():
    # the check can fail: the Gauss-Newton matrix is not the Hessian of a network with hidden layers
    theta, args, kw, rng = _case("tanh", 2, ("sigmoid", "cross_entropy"), 0.0, False)
    v = rng.standard_normal(theta.size)
    eps = 1e-5
    num = (_gradient(theta + eps * v, args, kw) - _gradient(theta - eps * v, args, kw)) / (2 * eps)
    Gv = gauss_newton_product(theta, v, *args, **kw)
    assert np.linalg.norm(Gv - num) / np.linalg.norm(num) > 1e-2


@pytest.mark.parametrize("activation, pair", [("tanh", ("softmax", "cross_entropy")),
                                              ("relu", ("sigmoid", "squared_error")),
                                              ("sigmoid", ("identity", "squared_error"))])
def test_dense_hessian_equals_the_jacobian_of_the_gradient(activation, pair):
    theta, args, kw, _ = _case(activation, 2, pair, 0.4, True)
    H = _dense(hessian_vector_product, theta, args, kw)
    eps = 1e-5
    n = theta.size
    num = np.column_stack([(_gradient(theta + eps * e, args, kw) - _gradient(theta - eps * e, args, kw))
                           / (2 * eps) for e in np.eye(n)])
    assert np.linalg.norm(H - num) / np.linalg.norm(num) <= 1e-6
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-12 * np.abs(H).max())


def test_softmax_hessian_with_target_rows_that_do_not_sum_to_one():
    # soft targets: the cost is (Σ_k y_k)·lse(z) − yᵀz per example, so its Hessian
    # carries Σ_k y_k; vᵀHv is checked against second differences of the cost itself
    rng = np.random.default_rng(12)
    sizes = (4, 5, 3)
    theta = random_init(sizes, epsilon=0.9, seed=rng)
    X, Y = rng.standard_normal((9, 4)), rng.uniform(0.1, 0.9, (9, 3))
    args, kw = (X, Y, 0.3, sizes), dict(activation="tanh", output="softmax")
    for v in rng.standard_normal((3, theta.size)):
        eps = 1e-4
        second = (cost(theta + eps * v, *args, **kw) - 2 * cost(theta, *args, **kw)
                  + cost(theta - eps * v, *args, **kw)) / eps ** 2
        vHv = v @ hessian_vector_product(theta, v, *args, **kw)
        assert vHv == pytest.approx(second, rel=1e-5)


# ---------------------------------------------------------------- G·v


@MATRIX
@LAMS
@EVERY_PAIR
@EVERY_NETWORK
def test_gauss_newton_is_positive_semidefinite_and_symmetric(activation, depth, pair, lam, weighted):
    theta, args, kw, rng = _case(activation, depth, pair, lam, weighted)
    V = rng.standard_normal((12, theta.size))
    GV = np.array([gauss_newton_product(theta, v, *args, **kw) for v in V])
    quadratic = np.einsum("ij,ij->i", V, GV)
    scale = np.abs(quadratic).max()
    assert (quadratic >= -1e-13 * scale).all()
    cross = V @ GV.T  # uᵀGv for every pair
    np.testing.assert_allclose(cross, cross.T, rtol=1e-10, atol=1e-14 * scale)


_UNITS = {"sigmoid": expit, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}


def _forward_z(theta, X, sizes, activation):
    """z^(L) of each row of X, shape (m, K): the forward pass written out here, independently."""
    a = X
    thetas = reshape(theta, sizes)
    for Th in thetas[:-1]:
        a = _UNITS[activation](np.hstack([np.ones((len(a), 1)), a]) @ Th.T)
    return np.hstack([np.ones((len(a), 1)), a]) @ thetas[-1].T


def _output_jacobians(theta, X, sizes, activation, of):
    """∂z^(L)/∂θ (or ∂h/∂θ) of each example by central differences: shape (m, K, n_params)."""
    def outputs(t):
        z = _forward_z(t, X, sizes, activation)
        return expit(z) if of == "h" else z
    eps = 1e-6
    columns = [(outputs(theta + eps * e) - outputs(theta - eps * e)) / (2 * eps) for e in np.eye(theta.size)]
    return np.stack(columns, axis=-1)


def _loss_hessians(z, y, pair):
    """H_L of each example, written out: shape (m, K, K)."""
    m, K = z.shape
    if pair == ("sigmoid", "cross_entropy"):
        h = expit(z)
        return np.einsum("ik,kl->ikl", h * (1 - h), np.eye(K))
    if pair == ("softmax", "cross_entropy"):
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return np.einsum("ik,kl->ikl", p, np.eye(K)) - np.einsum("ik,il->ikl", p, p)
    return np.broadcast_to(np.eye(K), (m, K, K))  # identity outputs, or h itself for sigmoid + squared error


@EVERY_PAIR
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gauss_newton_is_jacobian_transpose_loss_hessian_jacobian(activation, pair):
    # G = Σ_i (w_i/Σw) J_iᵀ H_L J_i + (λ/Σw) on the weights, from the network's
    # outputs alone (J of h for sigmoid + squared error), against the product
    lam = 0.6
    theta, (X, y, _, sizes, loss), kw, _ = _case(activation, 2, pair, lam, True)
    w = kw["sample_weight"]
    of = "h" if pair == ("sigmoid", "squared_error") else "z"
    J = _output_jacobians(theta, X, sizes, activation, of)
    HL = _loss_hessians(_forward_z(theta, X, sizes, activation), y, pair)
    expected = np.einsum("i,ikp,ikl,ilq->pq", w / w.sum(), J, HL, J)
    expected += lam / w.sum() * np.diag(_non_bias(sizes))
    G = _dense(gauss_newton_product, theta, (X, y, lam, sizes, loss), kw)
    np.testing.assert_allclose(G, expected, rtol=1e-6, atol=1e-8 * np.abs(expected).max())


@MATRIX
@LAMS
@pytest.mark.parametrize("pair", MATCHED, ids=[f"{o}-{l}" for o, l in MATCHED])
def test_gauss_newton_equals_hessian_without_hidden_layer(pair, lam, weighted):
    # z^(L) = Θ [1, x] is linear in θ: the network adds no curvature of its own
    theta, args, kw, _ = _case("sigmoid", 0, pair, lam, weighted)
    G = _dense(gauss_newton_product, theta, args, kw)
    H = _dense(hessian_vector_product, theta, args, kw)
    np.testing.assert_allclose(G, H, rtol=1e-12, atol=1e-14 * np.abs(H).max())


def test_gauss_newton_differs_from_hessian_for_the_unmatched_pair():
    # sigmoid + squared error: G keeps g′² of the outputs, H adds (h − y)·g″
    theta, args, kw, _ = _case("sigmoid", 0, ("sigmoid", "squared_error"), 0.0, False)
    G = _dense(gauss_newton_product, theta, args, kw)
    H = _dense(hessian_vector_product, theta, args, kw)
    assert np.linalg.norm(G - H) > 0.05 * np.linalg.norm(H)


def test_hessian_is_indefinite_where_gauss_newton_is_not():
    # at a random θ0 the surface curves down along some directions: vᵀHv < 0 for the
    # eigenvector of H's smallest eigenvalue, while vᵀGv ≥ 0 there and everywhere
    theta, args, kw, rng = _case("tanh", 2, ("sigmoid", "cross_entropy"), 0.0, False)
    H = _dense(hessian_vector_product, theta, args, kw)
    mu, U = np.linalg.eigh(H)
    assert mu[0] < -1e-3 * mu[-1]
    u = U[:, 0]
    assert u @ hessian_vector_product(theta, u, *args, **kw) < 0
    assert u @ gauss_newton_product(theta, u, *args, **kw) >= 0
    G = _dense(gauss_newton_product, theta, args, kw)
    assert np.linalg.eigvalsh(G)[0] >= -1e-12 * np.abs(G).max()


# ---------------------------------------------------------------- λ


@MATRIX
@EVERY_PAIR
@EVERY_NETWORK
@pytest.mark.parametrize("product", [hessian_vector_product, gauss_newton_product], ids=["H", "G"])
def test_lambda_term_is_exact(product, activation, depth, pair, weighted):
    theta, (X, y, _, sizes, loss), kw, rng = _case(activation, depth, pair, 0.0, weighted)
    v = rng.standard_normal(theta.size)
    lam = 2.5
    scale = 1 / (X.shape[0] if kw["sample_weight"] is None else kw["sample_weight"].sum())
    with_lam = product(theta, v, X, y, lam, sizes, loss, **kw)
    without = product(theta, v, X, y, 0.0, sizes, loss, **kw)
    mask = _non_bias(sizes)
    size = np.abs(with_lam).max()
    np.testing.assert_allclose(with_lam - without, lam * scale * v * mask, rtol=0, atol=1e-14 * size)
    assert (with_lam - without)[mask == 0].tolist() == [0.0] * int((mask == 0).sum())


def bind(X, y, lam, sizes, loss=None, dtype=None, activation="sigmoid", output="sigmoid",
         sample_weight=None):
    return _bind(X, y, lam, Network(sizes, activation, output, loss), dtype, sample_weight)[0]


# ---------------------------------------------------------------- the tables


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_table_agrees_with_differences(name):
    g, first, ratio = ACTIVATIONS[name]
    z = np.linspace(-3, 3, 13) + 0.05  # no z exactly 0, where ReLU has no derivative
    a = g(z.copy())
    # g′ from a against g′ by central differences of g
    eps = 1e-6
    np.testing.assert_allclose(first(a), (g(z + eps) - g(z - eps)) / (2 * eps), rtol=1e-7, atol=1e-9)
    a_before = a.copy()
    eps = 1e-5
    gprime = lambda t: first(g(t.copy()))
    numerical = (gprime(z + eps) - gprime(z - eps)) / (2 * eps)
    # the table gives g″/g′: times g′ it must be the derivative of g′
    exact = np.zeros_like(z) if ratio is None else ratio(a) * first(a)
    np.testing.assert_allclose(exact, numerical, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(a, a_before)  # the table reads a and keeps it
    # into a given array (backpropagation reuses one per block): the same values, a kept
    for dtype in (np.float64, np.float32):
        out = np.full_like(a, np.nan, dtype=dtype)
        assert first(a.astype(dtype), out=out) is out
        np.testing.assert_array_equal(out, first(a.astype(dtype)))
    np.testing.assert_array_equal(a, a_before)


# ---------------------------------------------------------------- one point, many products


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_products_at_one_point_equal_fresh_ones(activation, depth):
    # the forward pass and the δ^(l) are kept between products: none may change them
    theta, args, kw, rng = _case(activation, depth, ("sigmoid", "squared_error"), 0.5, True)
    X, y, lam, sizes, loss = args
    p = bind(X, y, lam, sizes, loss, **kw)
    point = at(theta, p)
    for v in rng.standard_normal((3, theta.size)):
        np.testing.assert_array_equal(point.hessp(v), at(theta, p).hessp(v))
        np.testing.assert_array_equal(point.gauss_newton(v), at(theta, p).gauss_newton(v))
        # the public functions make the same passes at a fresh point: the same bits
        np.testing.assert_array_equal(point.hessp(v), hessian_vector_product(theta, v, *args, **kw))
        np.testing.assert_array_equal(point.gauss_newton(v), gauss_newton_product(theta, v, *args, **kw))


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_a_wide_first_layer_and_a_narrow_second(activation):
    rng = np.random.default_rng(13)
    sizes = (6, 67, 4, 3)
    theta = random_init(sizes, epsilon=0.5, seed=rng)
    X, y = rng.standard_normal((20, 6)), rng.integers(0, 3, 20)
    args, kw = (X, y, 0.3, sizes), dict(activation=activation, output="softmax")
    v = rng.standard_normal(theta.size)
    eps = 1e-5
    num = (_gradient(theta + eps * v, args, kw) - _gradient(theta - eps * v, args, kw)) / (2 * eps)
    Hv = hessian_vector_product(theta, v, *args, **kw)
    assert np.linalg.norm(Hv - num) / np.linalg.norm(num) <= 1e-6
    p = bind(*args, **kw)
    np.testing.assert_array_equal(gauss_newton_product(theta, v, *args, **kw), at(theta, p).gauss_newton(v))


@pytest.mark.parametrize("product", [hessian_vector_product, gauss_newton_product], ids=["H", "G"])
def test_nan_in_x_is_refused(product):
    theta, (X, y, lam, sizes, loss), kw, rng = _case("tanh", 2, ("sigmoid", "cross_entropy"), 1.0, False)
    X[4, 2] = np.nan
    with pytest.raises(ValueError, match=r"X must be finite.*the first at index \(4, 2\)"):
        product(theta, rng.standard_normal(theta.size), X, y, lam, sizes, loss, **kw)


@pytest.mark.parametrize("product", [hessian_vector_product, gauss_newton_product], ids=["H", "G"])
def test_float32_agrees_with_float64(product):
    theta, (X, y, lam, sizes, loss), kw, rng = _case("tanh", 2, ("softmax", "cross_entropy"), 0.3, True)
    v = rng.standard_normal(theta.size)
    double = product(theta, v, X, y, lam, sizes, loss, **kw)
    single = product(theta, v, X.astype(np.float32), y, lam, sizes, loss, **kw)
    explicit = product(theta, v, X, y, lam, sizes, loss, np.float32, **kw)
    assert single.dtype == np.float64
    assert np.linalg.norm(single - double) / np.linalg.norm(double) < 1e-5
    np.testing.assert_array_equal(single, explicit)
    assert not np.array_equal(single, double)  # float32 did compute in float32


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("product", [hessian_vector_product, gauss_newton_product], ids=["H", "G"])
@pytest.mark.parametrize("bad, error, message", [
    (lambda n: np.ones(n - 1), ValueError, r"v must be a 1-D vector of length \d+.*got shape \(\d+,\)"),
    (lambda n: np.ones((n, 1)), ValueError, r"v must be a 1-D vector of length \d+.*got shape \(\d+, 1\)"),
    (lambda n: np.r_[np.ones(n - 1), np.nan], ValueError, r"v must be finite.*the first at index \(\d+,\)"),
    (lambda n: np.r_[np.inf, np.ones(n - 1)], ValueError, r"v must be finite.*the first at index \(0,\)"),
    (lambda n: np.array(["x"] * n), TypeError, r"v must hold real numbers"),
    (lambda n: None, TypeError, r"v must be a 1-D direction vector"),
], ids=["short", "column", "nan", "inf", "strings", "none"])
def test_bad_direction_is_refused(product, bad, error, message):
    theta, args, kw, _ = _case("sigmoid", 1, ("sigmoid", "cross_entropy"), 1.0, False)
    with pytest.raises(error, match=message):
        product(theta, bad(theta.size), *args, **kw)


def test_a_direction_beyond_float32_is_refused_in_float32():
    theta, (X, y, lam, sizes, loss), kw, _ = _case("sigmoid", 1, ("sigmoid", "cross_entropy"), 1.0, False)
    v = np.zeros(theta.size)
    v[3] = 1e39
    with pytest.raises(ValueError, match=r"v holds 1 value\(s\) beyond the range of float32"):
        hessian_vector_product(theta, v, X, y, lam, sizes, loss, np.float32, **kw)


def test_bad_theta_is_refused():
    theta, args, kw, _ = _case("sigmoid", 1, ("sigmoid", "cross_entropy"), 1.0, False)
    v = np.ones(theta.size)
    theta[2] = np.nan
    with pytest.raises(ValueError, match=r"theta must be finite"):
        hessian_vector_product(theta, v, *args, **kw)
    with pytest.raises(ValueError, match=r"theta has length"):
        gauss_newton_product(theta[:-1], v, *args, **kw)


# ---------------------------------------------------------------- eigenvalues


@pytest.mark.parametrize("curvature, product", [("hessian", hessian_vector_product),
                                                ("gauss-newton", gauss_newton_product)])
def test_eigenvalues_equal_those_of_the_dense_matrix(curvature, product):
    theta, (X, y, lam, sizes, loss), kw, _ = _case("tanh", 1, ("sigmoid", "cross_entropy"), 0.2, True)
    mu = np.linalg.eigvalsh(_dense(product, theta, (X, y, lam, sizes, loss), kw))
    common = dict(loss=loss, curvature=curvature, **kw)
    both = hessian_eigenvalues(theta, X, y, lam, sizes, k=5, **common)
    np.testing.assert_allclose(both, np.r_[mu[:2], mu[-3:]], rtol=0, atol=1e-8)  # k // 2 from the bottom
    top = hessian_eigenvalues(theta, X, y, lam, sizes, k=4, which="largest", **common)
    np.testing.assert_allclose(top, mu[-4:], rtol=0, atol=1e-8)
    bottom = hessian_eigenvalues(theta, X, y, lam, sizes, k=3, which="smallest", **common)
    np.testing.assert_allclose(bottom, mu[:3], rtol=0, atol=1e-8)
    if curvature == "hessian":
        assert bottom[0] < 0  # at a random θ the Hessian is indefinite ...
    else:
        assert bottom[0] > -1e-10  # ... the Gauss-Newton matrix never


def test_eigenvalues_are_reproducible_from_the_seed():
    theta, (X, y, lam, sizes, loss), kw, _ = _case("sigmoid", 2, ("softmax", "cross_entropy"), 0.5, False)
    first = hessian_eigenvalues(theta, X, y, lam, sizes, k=4, loss=loss, seed=7, tol=1e-3, **kw)
    again = hessian_eigenvalues(theta, X, y, lam, sizes, k=4, loss=loss, seed=7, tol=1e-3, **kw)
    np.testing.assert_array_equal(first, again)


def test_eigenvalues_in_float32():
    theta, (X, y, lam, sizes, loss), kw, _ = _case("relu", 1, ("identity", "squared_error"), 0.5, False)
    double = hessian_eigenvalues(theta, X, y, lam, sizes, k=4, loss=loss, **kw)
    single = hessian_eigenvalues(theta, X, y, lam, sizes, k=4, loss=loss, dtype=np.float32, **kw)
    np.testing.assert_allclose(single, double, rtol=1e-4, atol=1e-5 * np.abs(double).max())


@pytest.mark.parametrize("keywords, error, message", [
    (dict(k=0), ValueError, r"k must be between 1 and n_params − 1 = \d+ .*; got 0"),
    (dict(k=10_000), ValueError, r"k must be between 1 and n_params − 1 = \d+ .*; got 10000"),
    (dict(k=2.0), TypeError, r"k must be a whole number; got 2.0"),
    (dict(which="top"), ValueError, r"which must be one of \['both', 'largest', 'smallest'\]; got 'top'"),
    (dict(curvature="fisher"), ValueError, r"curvature must be one of \['gauss-newton', 'hessian'\]"),
    (dict(tol=-1.0), ValueError, r"tol must be a finite number >= 0; got -1.0"),
])
def test_bad_eigenvalue_arguments_are_refused(keywords, error, message):
    theta, (X, y, lam, sizes, loss), kw, _ = _case("sigmoid", 1, ("sigmoid", "cross_entropy"), 1.0, False)
    with pytest.raises(error, match=message):
        hessian_eigenvalues(theta, X, y, lam, sizes, loss=loss, **keywords, **kw)


# ---------------------------------------------------------------- wired into Objective and train


def test_the_objective_keeps_the_point_for_products_at_the_same_theta():
    import nnopt
    from nnopt import curvature
    X, y = nnopt.load_digits()
    X, y = X[::10], y[::10]
    sizes = (784, 10, 10)
    theta = random_init(sizes, seed=1)
    v = np.random.default_rng(2).standard_normal(theta.size)
    obj = nnopt.Objective(X, y, 1.0, sizes)
    calls = []
    real = curvature.at
    try:
        curvature.at = lambda *a, **k: calls.append(1) or real(*a, **k)
        Hv, Gv, Hv2 = obj.hessp(theta, v), obj.gauss_newton(theta, v), obj.hessp(theta, 2 * v)
        assert len(calls) == 1  # one forward pass for three products at one θ
        obj.hessp(theta * 0.5, v)
        assert len(calls) == 2
    finally:
        curvature.at = real
    np.testing.assert_allclose(Hv, hessian_vector_product(theta, v, X, y, 1.0, sizes), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Gv, gauss_newton_product(theta, v, X, y, 1.0, sizes), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Hv2, 2 * Hv, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("method", ["Newton-CG", "trust-ncg", "trust-krylov", "trust-constr"])
@pytest.mark.parametrize("curvature", ["gauss-newton", "hessian"])
def test_train_drives_every_hessp_method_and_records_its_curve(method, curvature):
    import warnings

    import nnopt
    X, y = nnopt.load_digits()
    X, y = X[::25], y[::25]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnopt.ConvergenceWarning)
        model = nnopt.train(X, y, hidden_layer_sizes=(8,), method=method, curvature=curvature, maxiter=4)
    assert 1 <= model.n_iter <= 4 and len(model.cost_history) == model.n_iter
    assert model.cost_history[-1] < model.initial_cost
    # the last entry of the curve is the cost of the returned parameters
    assert model.cost_history[-1] == pytest.approx(cost(model.theta, X, np.searchsorted(model.classes_, y),
                                                         1.0, model.layer_sizes), rel=1e-9)


# ---------------------------------------------------------------- products on a sample of the examples


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("kind", ["hessp", "gauss_newton"])
def test_a_sampled_product_is_the_exact_product_of_the_samples_cost(kind, weighted):
    theta, (X, y, lam, sizes, loss), kw, rng = _case("tanh", 2, ("softmax", "cross_entropy"), 1.5, weighted)
    obj = nnopt.Objective(X, y, lam, sizes, loss, **kw)
    sampled = obj.sampled_curvature(0.3, seed=4)
    v = rng.standard_normal(theta.size)
    got = getattr(sampled, kind)(theta, v)
    rows, m = sampled.rows, X.shape[0]
    assert rows.size == sampled.n_rows == round(0.3 * m) and np.unique(rows).size == rows.size
    # the sample's J: its mean cost plus the whole problem's λ/(2Σw)·ΣΘ², i.e. λ scaled by its share
    w = kw["sample_weight"]
    share = rows.size / m if w is None else w[rows].sum() / w.sum()
    product = hessian_vector_product if kind == "hessp" else gauss_newton_product
    kw_rows = dict(kw, sample_weight=None if w is None else w[rows])
    expected = product(theta, v, X[rows], y[rows], lam * share, sizes, loss, **kw_rows)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14 * np.abs(expected).max())


def test_a_sample_is_kept_at_one_theta_and_drawn_anew_at_the_next():
    theta, (X, y, lam, sizes, loss), kw, rng = _case("sigmoid", 1, ("sigmoid", "cross_entropy"), 1.0, False)
    obj = nnopt.Objective(X, y, lam, sizes, loss, **kw)
    sampled = obj.sampled_curvature(0.5, seed=0)
    v, u = rng.standard_normal((2, theta.size))
    Hv = sampled.hessp(theta, v)
    first = sampled.rows.copy()
    sampled.gauss_newton(theta, u)
    np.testing.assert_array_equal(sampled.rows, first)  # the same θ: the same sample
    np.testing.assert_array_equal(sampled.hessp(theta, v), Hv)
    sampled.hessp(theta + 0.01, v)
    assert not np.array_equal(sampled.rows, first)  # a new θ: a new draw (C(m, m/2) of them)
    # the same seed draws the same samples
    again = obj.sampled_curvature(0.5, seed=0)
    np.testing.assert_array_equal(again.hessp(theta, v), Hv)
    np.testing.assert_array_equal(again.rows, first)


def test_the_whole_fraction_is_the_whole_problem():
    theta, (X, y, lam, sizes, loss), kw, rng = _case("relu", 2, ("identity", "squared_error"), 0.7, True)
    obj = nnopt.Objective(X, y, lam, sizes, loss, **kw)
    v = rng.standard_normal(theta.size)
    sampled = obj.sampled_curvature(1.0)
    np.testing.assert_allclose(sampled.hessp(theta, v), obj.hessp(theta, v), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(sampled.rows, np.arange(X.shape[0]))


@pytest.mark.parametrize("fraction, error, match", [
    (0, ValueError, r"fraction must be a finite number in \(0, 1\]; got 0"),
    (1.2, ValueError, r"in \(0, 1\]; got 1.2"),
    (float("nan"), ValueError, "got nan"),
    ("half", TypeError, "fraction must be a real number"),
    (None, TypeError, "fraction must be a real number"),
])
def test_a_bad_fraction_is_refused(fraction, error, match):
    theta, (X, y, lam, sizes, loss), kw, _ = _case("sigmoid", 1, ("sigmoid", "cross_entropy"), 1.0, False)
    with pytest.raises(error, match=match):
        nnopt.Objective(X, y, lam, sizes, loss, **kw).sampled_curvature(fraction)


def test_train_with_sampled_products_learns_and_is_reproducible():
    import warnings
    X, y = nnopt.load_digits()
    X_train, X_test, y_train, y_test = nnopt.train_test_split(X[::5], y[::5], test_size=200, seed=0)
    counts = []
    real = nnopt.Objective.gauss_newton

    def counted(self, theta, v):
        counts.append(self.problem.m)
        return real(self, theta, v)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnopt.ConvergenceWarning)
        try:
            nnopt.Objective.gauss_newton = counted
            model = nnopt.train(X_train, y_train, hidden_layer_sizes=(10,), method="Newton-CG",
                                maxiter=15, curvature_fraction=0.25, seed=3)
        finally:
            nnopt.Objective.gauss_newton = real
        again = nnopt.train(X_train, y_train, hidden_layer_sizes=(10,), method="Newton-CG",
                            maxiter=15, curvature_fraction=0.25, seed=3)
    # every product read a quarter of the examples; the cost and the gradient, all of them
    m = X_train.shape[0]
    assert counts and set(counts) == {round(0.25 * m)}
    assert len(model.cost_history) == model.n_iter <= 15
    assert model.score(X_test, y_test) >= 0.8
    np.testing.assert_array_equal(model.theta, again.theta)


def test_train_draws_its_samples_from_a_stream_spawned_from_its_seed(monkeypatch):
    import warnings
    from nnopt.objective import SampledCurvature
    X, y = nnopt.load_digits()
    X, y = X[::25], y[::25]
    firsts = []
    real = SampledCurvature._sample

    def spy(self, theta):
        batch = real(self, theta)
        firsts.append(self.rows.copy())
        return batch

    monkeypatch.setattr(SampledCurvature, "_sample", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnopt.ConvergenceWarning)
        nnopt.train(X, y, hidden_layer_sizes=(5,), method="Newton-CG", maxiter=2, curvature_fraction=0.3,
                    seed=11)
    # independent of the initial weights' default_rng(11), as SeedSequence.spawn makes it
    stream = np.random.default_rng(np.random.SeedSequence(11).spawn(1)[0])
    m = X.shape[0]
    np.testing.assert_array_equal(firsts[0], np.sort(stream.choice(np.arange(m), round(0.3 * m), replace=False)))
    # and not default_rng(11)'s own draws, which the initial weights come from
    assert not np.array_equal(firsts[0], np.sort(np.random.default_rng(11).choice(np.arange(m), round(0.3 * m),
                                                                               replace=False)))


def test_products_on_a_memmap_equal_those_in_memory_bit_for_bit(tmp_path):
    # one rule for every entry point: a memmap X is read block by block, as in memory
    theta, (X, y, lam, sizes, loss), kw, rng = _case("sigmoid", 1, ("softmax", "cross_entropy"), 1.0, False)
    path = tmp_path / "X.npy"
    np.save(path, X)
    on_disk = nnopt.Objective(np.load(path, mmap_mode="r"), y, lam, sizes, loss, **kw)
    in_memory = nnopt.Objective(X, y, lam, sizes, loss, **kw)
    v = rng.standard_normal(theta.size)
    np.testing.assert_array_equal(on_disk.hessp(theta, v), in_memory.hessp(theta, v))
    np.testing.assert_array_equal(on_disk.gauss_newton(theta, v), in_memory.gauss_newton(theta, v))
    got = on_disk.sampled_curvature(0.5, seed=1).gauss_newton(theta, v)
    np.testing.assert_array_equal(got, in_memory.sampled_curvature(0.5, seed=1).gauss_newton(theta, v))


def test_samples_are_drawn_among_the_examples_of_positive_weight():
    theta, (X, y, lam, sizes, loss), kw, rng = _case("tanh", 1, ("sigmoid", "cross_entropy"), 1.0, False)
    w = np.zeros(X.shape[0])
    w[[2, 5]] = [1.0, 3.0]  # a sample among all rows would often hold no weight at all
    obj = nnopt.Objective(X, y, lam, sizes, loss, sample_weight=w, **{k: kw[k] for k in ("activation", "output")})
    sampled = obj.sampled_curvature(0.5, seed=0)
    assert sampled.n_rows == 1
    v = rng.standard_normal(theta.size)
    for t in range(20):
        got = sampled.gauss_newton(theta + 0.01 * t, v)
        assert sampled.rows.tolist() in ([2], [5])
        assert np.all(np.isfinite(got))


@pytest.mark.parametrize("fraction", [0.5, 0.99], ids=["half", "rounds-to-all"])
def test_a_sample_of_a_memmap_is_read_in_the_computing_dtype(tmp_path, fraction):
    theta, (X, y, lam, sizes, loss), kw, rng = _case("sigmoid", 1, ("softmax", "cross_entropy"), 1.0, False)
    path = tmp_path / "X.npy"
    np.save(path, X)  # float64 on disk
    on_disk = nnopt.Objective(np.load(path, mmap_mode="r"), y, lam, sizes, loss, np.float32, **kw)
    in_memory = nnopt.Objective(X.astype(np.float32), y, lam, sizes, loss, np.float32, **kw)
    v = rng.standard_normal(theta.size)
    got = on_disk.sampled_curvature(fraction, seed=1).hessp(theta, v)
    np.testing.assert_array_equal(got, in_memory.sampled_curvature(fraction, seed=1).hessp(theta, v))
