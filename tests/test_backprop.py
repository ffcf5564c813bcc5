"""The sigmoid, the cost J(Θ) and its gradient by backpropagation."""

import math
import os
import sys
import threading
import warnings

import numpy as np

from nnopt._problem import block_rows
from nnopt.network import Network
import pytest
from scipy.optimize import minimize

import nnopt
from nnopt.activations import sigmoid, sigmoid_gradient
from nnopt import Objective
from nnopt.backprop import cost, cost_and_gradient, regularized_gradient
from nnopt.parameters import n_params, random_init, reshape

LOSSES = ["cross_entropy", "squared_error"]


def _problem(sizes, m, seed):
    """A seeded random network and data: (theta, X, y)."""
    rng = np.random.default_rng(seed)
    theta = random_init(sizes, epsilon=1.0, seed=rng)
    X = rng.standard_normal((m, sizes[0]))
    y = rng.integers(0, sizes[-1], size=m)
    return theta, X, y


# ---------------------------------------------------------------- sigmoid


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_hidden_layers_sigmoid_in_place_is_the_logistic_function(dtype):
    from scipy.special import expit

    from nnopt.activations import sigmoid_in_place

    big = np.finfo(dtype).max
    z = np.concatenate([np.linspace(-60, 60, 2401), [-big, -800.0, -710.0, 0.0, 710.0, big]]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning, for any z
        a = sigmoid_in_place(z.copy())
    exact = expit(z.astype(np.float64))
    assert a.dtype == dtype and np.all((a >= 0) & (a <= 1))
    if dtype == np.float64:  # 1/(1 + e^(−z)): relative accuracy, tails included
        np.testing.assert_allclose(a, exact, rtol=4e-16, atol=0)
        assert a[z == -60][0] > 0 and a[z == -710][0] == exact[z == -710][0]
    else:  # (1 + tanh(z/2))/2: absolute accuracy
        np.testing.assert_allclose(a, exact, rtol=0, atol=2e-7)


HUGE = [1000.0, -1000.0, 1e308, -1e308, np.finfo(np.float64).max, -np.finfo(np.float64).max,
        np.float32(1000), np.float32(-1000), np.finfo(np.float32).max, -np.finfo(np.float32).max]


@pytest.mark.parametrize("z", HUGE, ids=repr)
def test_sigmoid_has_no_overflow_for_huge_z(z):
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("always")
        g = sigmoid(z)
        dg = sigmoid_gradient(z)
    assert caught == []
    assert g == (1.0 if z > 0 else 0.0)
    assert dg == 0.0
    assert np.asarray(g).dtype == np.asarray(z).dtype


def test_sigmoid_on_arrays_of_huge_float32_values():
    z = np.array([-3e38, -1000, -90, 0, 90, 1000, 3e38], dtype=np.float32)
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("always")
        g, dg = sigmoid(z), sigmoid_gradient(z)
    assert caught == []
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(dg))
    assert g[0] == 0.0 and g[-1] == 1.0 and g[3] == 0.5


def test_sigmoid_gradient_at_zero_is_exactly_a_quarter():
    assert sigmoid_gradient(0.0) == 0.25
    assert sigmoid(0.0) == 0.5


def test_sigmoid_and_its_gradient_match_the_formula():
    z = np.linspace(-20, 20, 81)
    g = 1.0 / (1.0 + np.exp(-z))
    np.testing.assert_allclose(sigmoid(z), g, rtol=1e-14)
    # e^(−z) / (1 + e^(−z))² is g(1 − g) without the cancellation in 1 − g for z > 0
    np.testing.assert_allclose(sigmoid_gradient(z), np.exp(-z) / (1 + np.exp(-z)) ** 2, rtol=1e-13)
    np.testing.assert_allclose(sigmoid_gradient(z), g * (1 - g), rtol=1e-7)
    # g′ is the derivative of g: compare with central differences too
    h = 1e-5
    np.testing.assert_allclose(sigmoid_gradient(z), (sigmoid(z + h) - sigmoid(z - h)) / (2 * h),
                               rtol=1e-6, atol=1e-10)


def test_sigmoid_keeps_the_shape():
    z = np.zeros((2, 3, 4))
    assert sigmoid(z).shape == (2, 3, 4)
    assert sigmoid_gradient(z).shape == (2, 3, 4)


# ---------------------------------------------------------------- cost and gradient basics


@pytest.mark.parametrize("loss", LOSSES)
def test_cost_and_gradient_equals_cost_and_regularized_gradient(loss, small_problem):
    theta, X, y, sizes = small_problem
    J, grad = cost_and_gradient(theta, X, y, 1.5, sizes, loss)
    # a different call in between, so each function computes from scratch
    cost(theta + 1, X, y, 1.5, sizes, loss)
    J1 = cost(theta, X, y, 1.5, sizes, loss)
    cost(theta + 1, X, y, 1.5, sizes, loss)
    grad1 = regularized_gradient(theta, X, y, 1.5, sizes, loss)
    # the gradient is computed the same way by both: identical
    assert np.array_equal(grad, grad1)
    # cost alone skips the gradient
    # (one hidden layer), whose sums run in another order: equal to rounding
    assert J1 == pytest.approx(J, rel=1e-14)


@pytest.mark.parametrize("dtype", [None, np.float64, np.float32])
def test_gradient_is_a_float64_vector_of_n_params(dtype, small_problem):
    theta, X, y, sizes = small_problem
    J, grad = cost_and_gradient(theta, X, y, 1.0, sizes, dtype=dtype)
    g2 = regularized_gradient(theta, X, y, 1.0, sizes, dtype=dtype)
    for g in (grad, g2):
        assert isinstance(g, np.ndarray)
        assert g.dtype == np.float64
        assert g.shape == (n_params(sizes),)
    assert isinstance(J, float)


def test_cost_matches_a_direct_evaluation_of_the_formula(small_problem):
    theta, X, y, sizes = small_problem
    Theta1, Theta2 = reshape(theta, sizes)
    m, K = X.shape[0], sizes[-1]
    a2 = 1 / (1 + np.exp(-(np.hstack([np.ones((m, 1)), X]) @ Theta1.T)))
    h = 1 / (1 + np.exp(-(np.hstack([np.ones((m, 1)), a2]) @ Theta2.T)))
    Y = np.eye(K)[y]
    reg = (Theta1[:, 1:] ** 2).sum() + (Theta2[:, 1:] ** 2).sum()
    J_ce = (-Y * np.log(h) - (1 - Y) * np.log(1 - h)).sum() / m + 2.0 / (2 * m) * reg
    J_se = 0.5 * ((h - Y) ** 2).sum() / m + 2.0 / (2 * m) * reg
    assert cost(theta, X, y, 2.0, sizes) == pytest.approx(J_ce, rel=1e-12)
    assert cost(theta, X, y, 2.0, sizes, "squared_error") == pytest.approx(J_se, rel=1e-12)


def test_the_two_losses_differ(small_problem):
    theta, X, y, sizes = small_problem
    J_ce, g_ce = cost_and_gradient(theta, X, y, 0.0, sizes, "cross_entropy")
    J_se, g_se = cost_and_gradient(theta, X, y, 0.0, sizes, "squared_error")
    assert abs(J_ce - J_se) > 0.1
    assert np.linalg.norm(g_ce - g_se) > 1e-3


@pytest.mark.parametrize("loss", LOSSES)
def test_one_hot_targets_equal_class_indices(loss, small_problem):
    theta, X, y, sizes = small_problem
    Y = np.eye(sizes[-1])[y]
    J_i, g_i = cost_and_gradient(theta, X, y, 1.0, sizes, loss)
    J_y, g_y = cost_and_gradient(theta, X, Y, 1.0, sizes, loss)
    assert J_i == pytest.approx(J_y, rel=1e-13)
    np.testing.assert_allclose(g_i, g_y, rtol=1e-12, atol=1e-15)


def test_y_as_whole_float_indices_works(small_problem):
    theta, X, y, sizes = small_problem
    y_float = y.astype(np.float64)
    assert 2.0 in y_float
    J_i, g_i = cost_and_gradient(theta, X, y, 1.0, sizes)
    J_f, g_f = cost_and_gradient(theta, X, y_float, 1.0, sizes)
    assert J_f == pytest.approx(J_i, rel=1e-14)
    np.testing.assert_allclose(g_f, g_i, rtol=1e-14, atol=1e-16)


def test_y_as_a_column_vector_works(small_problem):
    theta, X, y, sizes = small_problem
    assert cost(theta, X, y[:, None], 1.0, sizes) == pytest.approx(cost(theta, X, y, 1.0, sizes), rel=1e-14)


def test_pure_functions_leave_their_inputs_alone(small_problem):
    theta, X, y, sizes = small_problem
    copies = theta.copy(), X.copy(), y.copy()
    cost_and_gradient(theta, X, y, 1.0, sizes)
    regularized_gradient(theta, X, y, 2.0, sizes, "squared_error")
    for before, after in zip(copies, (theta, X, y)):
        assert np.array_equal(before, after)


# ---------------------------------------------------------------- the λ term


@pytest.mark.parametrize("loss", LOSSES)
def test_regularization_adds_lambda_over_2m_times_the_squared_non_bias_weights(loss):
    sizes = (4, 6, 5, 3)
    theta, X, y = _problem(sizes, 9, seed=6)
    m = X.shape[0]
    J0, g0 = cost_and_gradient(theta, X, y, 0.0, sizes, loss)
    J3, g3 = cost_and_gradient(theta, X, y, 3.0, sizes, loss)
    thetas = reshape(theta, sizes)
    sq = sum((T[:, 1:] ** 2).sum() for T in thetas)
    assert J3 - J0 == pytest.approx(3.0 / (2 * m) * sq, rel=1e-12)
    for T, G0, G3 in zip(thetas, reshape(g0, sizes), reshape(g3, sizes)):
        # the bias column is not regularized
        np.testing.assert_allclose(G3[:, 0], G0[:, 0], rtol=1e-14, atol=1e-17)
        np.testing.assert_allclose(G3[:, 1:] - G0[:, 1:], 3.0 / m * T[:, 1:], rtol=1e-10, atol=1e-15)


def test_a_larger_lambda_gives_a_larger_cost(small_problem):
    theta, X, y, sizes = small_problem
    costs = [cost(theta, X, y, lam, sizes) for lam in (0.0, 0.5, 3.0, 30.0)]
    assert costs == sorted(costs) and len(set(costs)) == 4


# ---------------------------------------------------------------- saturation


def _softplus(t):
    """log(1 + e^t), computed in a way that is exact enough for |t| = 40."""
    return t + math.log1p(math.exp(-t)) if t > 0 else math.log1p(math.exp(t))


def _saturated_no_hidden(K, m, right):
    """A K-K network: one-hot inputs; z = +40 on the unit of x's class, −40 elsewhere."""
    labels = np.arange(m) % K
    X = np.eye(K)[labels]
    Theta = np.hstack([np.full((K, 1), -40.0), 80.0 * np.eye(K)])
    y = labels if right else (labels + 1) % K
    return np.ravel(Theta), X, y, (K, K)


def _saturated_hidden(K, m, right):
    """A 3-4-K network: zero output weights, bias +40 for unit 1, −40 elsewhere."""
    sizes = (3, 4, K)
    rng = np.random.default_rng(8)
    theta = random_init(sizes, seed=rng)
    Theta2 = reshape(theta, sizes)[1]
    Theta2[:, 1:] = 0.0
    Theta2[:, 0] = -40.0
    Theta2[1, 0] = 40.0
    X = rng.standard_normal((m, 3))
    y = np.full(m, 1 if right else 0)
    return theta, X, y, sizes


def _exact_cost(K, right, loss):
    """The exact unregularized cost per example, with z = ±40 on the output units."""
    s = 1.0 / (1.0 + math.exp(40.0))  # g(−40); g(40) = 1 − s
    if loss == "cross_entropy":
        if right:  # every unit costs softplus(−40)
            return K * _softplus(-40.0)
        # target unit at −40 costs softplus(40), the unit at +40 costs softplus(40), the rest softplus(−40)
        return 2 * _softplus(40.0) + (K - 2) * _softplus(-40.0)
    if right:
        return 0.5 * K * s * s
    return 0.5 * (2 * (1 - s) ** 2 + (K - 2) * s * s)


@pytest.mark.parametrize("build", [_saturated_no_hidden, _saturated_hidden], ids=["no_hidden", "hidden"])
@pytest.mark.parametrize("right", [True, False], ids=["right", "wrong"])
@pytest.mark.parametrize("loss", LOSSES)
def test_saturated_outputs_give_the_exact_finite_cost(build, right, loss):
    K, m = 4, 8
    theta, X, y, sizes = build(K, m, right)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        J, grad = cost_and_gradient(theta, X, y, 0.0, sizes, loss)
        J_onehot = cost(theta, X, np.eye(K)[y], 0.0, sizes, loss)
    assert caught == []
    assert math.isfinite(J) and math.isfinite(J_onehot)
    assert np.all(np.isfinite(grad))
    exact = _exact_cost(K, right, loss)
    # both losses keep relative accuracy: the squared error's target residual
    # h − 1 is computed as −g(−z), not as a rounded h minus 1
    assert J == pytest.approx(exact, rel=1e-12)
    assert J_onehot == pytest.approx(exact, rel=1e-12)
    if right:
        assert exact < 1e-15  # the right answer, confidently: J ≈ 0 but not log(0) trouble
    else:
        assert exact > (40 if loss == "cross_entropy" else 0.99)


def test_saturated_cross_entropy_keeps_relative_accuracy():
    # at z = 40, −log h = softplus(−40) ≈ 4.25e-18; computing log(h) would give 0
    theta, X, y, sizes = _saturated_no_hidden(3, 6, right=True)
    J = cost(theta, X, y, 0.0, sizes)
    assert J > 0
    assert J == pytest.approx(3 * math.log1p(math.exp(-40.0)), rel=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
def test_cost_is_finite_far_beyond_saturation(loss):
    sizes = (3, 4, 2)
    theta, X, y = _problem(sizes, 6, seed=10)
    theta = theta * 1e3  # z in the thousands
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        J, grad = cost_and_gradient(theta, X, y, 1.0, sizes, loss)
    assert caught == []
    assert math.isfinite(J) and np.all(np.isfinite(grad))


# ---------------------------------------------------------------- vectorization


def _count_nnopt_lines(fn):
    """Number of Python line events executed inside the nnopt package by fn()."""
    root = os.path.dirname(os.path.abspath(nnopt.__file__)) + os.sep
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def global_(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(root) else None

    previous = sys.gettrace()
    sys.settrace(global_)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return count


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("one_hot", [False, True], ids=["indices", "one_hot"])
@pytest.mark.parametrize("sizes", [(5, 4, 3, 3), (5, 4, 3)], ids=["two_hidden", "one_hidden"])
def test_no_python_loop_over_examples(sizes, loss, one_hot):
    # X is read in blocks of rows, each a few BLAS calls: the Python lines run
    # grow with the blocks (here: one), never with the examples
    B = block_rows(Network(sizes, loss=loss), np.dtype(np.float64))
    assert B >= 256
    counts = []
    for m in (10, B):
        theta, X, y = _problem(sizes, m, seed=12)
        if one_hot:
            y = np.eye(sizes[-1])[y]
        counts.append(_count_nnopt_lines(lambda: cost_and_gradient(theta, X, y, 1.0, sizes, loss)))
        counts.append(_count_nnopt_lines(lambda: cost(-theta, X, y, 1.0, sizes, loss)))
        counts.append(_count_nnopt_lines(lambda: regularized_gradient(-theta, X, y, 1.0, sizes, loss)))
    assert counts[0] > 20  # the tracer does see nnopt's code
    # the same Python lines run for 10 and for B examples
    assert counts[:3] == counts[3:]


# ---------------------------------------------------------------- purity: each call sees its own arguments


def _fresh(theta, X, y, lam, sizes, loss):
    """The result computed on copies, so no cached evaluation can be reused."""
    return cost_and_gradient(theta.copy(), X.copy(), np.array(y, copy=True), lam, sizes, loss)


def _assert_result(got, expected):
    assert got[0] == pytest.approx(expected[0], rel=1e-13)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-12, atol=1e-15)


def _assert_differs(a, b):
    assert abs(a[0] - b[0]) > 1e-6 or np.abs(a[1] - b[1]).max() > 1e-6


def _call_sequence(theta, X, y, lam, sizes, loss):
    """cost then regularized_gradient (the articles' minimize(fun, jac)), and cost_and_gradient."""
    J = cost(theta, X, y, lam, sizes, loss)
    g = regularized_gradient(theta, X, y, lam, sizes, loss)
    return (J, g), cost_and_gradient(theta, X, y, lam, sizes, loss)


def _check_no_stale_result(first, second):
    """Evaluate `first` (filling the cache), then `second`: it must not see `first`'s result."""
    expected = _fresh(*second)
    assert np.isfinite(expected[0])
    _assert_differs(expected, _fresh(*first))  # the change does matter
    _call_sequence(*first)  # the cache now holds `first`
    for got in _call_sequence(*second):
        _assert_result(got, expected)
    # and mixing the two: cost at one, gradient at the other
    cost(*first)
    _assert_result((cost(*second), regularized_gradient(*second)), expected)


def test_cache_sees_a_new_theta(small_problem):
    theta, X, y, sizes = small_problem
    _check_no_stale_result((theta, X, y, 1.0, sizes, "cross_entropy"),
                           (theta * 0.5, X, y, 1.0, sizes, "cross_entropy"))


def test_cache_sees_theta_changed_in_place(small_problem):
    theta, X, y, sizes = small_problem
    args = (theta, X, y, 1.0, sizes, "cross_entropy")
    theta2 = theta.copy()
    theta2[3] += 0.5
    expected = _fresh(theta2, X, y, 1.0, sizes, "cross_entropy")
    _assert_differs(_fresh(*args), expected)
    _call_sequence(*args)  # the cache now holds this theta, X and y
    theta[3] += 0.5
    for got in _call_sequence(*args):
        _assert_result(got, expected)


def test_cache_sees_a_different_X(small_problem):
    theta, X, y, sizes = small_problem
    X2 = X[::-1].copy()
    _check_no_stale_result((theta, X, y, 1.0, sizes, "cross_entropy"),
                           (theta, X2, y, 1.0, sizes, "cross_entropy"))


def _check_sees_X_scaled_in_place(theta, X, y, sizes, assert_result=_assert_result):
    """Fill the cache, then scale X in place: the next calls must see it."""
    args = (theta, X, y, 1.0, sizes, "cross_entropy")
    expected = _fresh(theta, X * 1.5, y, 1.0, sizes, "cross_entropy")
    _assert_differs(_fresh(*args), expected)
    _call_sequence(*args)  # the cache now holds this theta, X and y
    X *= 1.5
    for got in _call_sequence(*args):
        assert_result(got, expected)


@pytest.mark.parametrize("m", [7, 300])  # 300 rows: the sample of X skips rows
def test_cache_sees_X_scaled_in_place(m):
    sizes = (4, 6, 3)
    _check_sees_X_scaled_in_place(*_problem(sizes, m, seed=13), sizes)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cache_sees_digits_scaled_in_place(dtype):
    # digits are 0 in their margins: a sample of X taken there would not change
    X, y = nnopt.load_digits()
    sizes = (784, 25, 10)

    def assert_close(got, expected):
        # the calls take the fused pass or the layer-by-layer one: float32's rounding apart
        assert got[0] == pytest.approx(expected[0], rel=1e-5)
        np.testing.assert_allclose(got[1], expected[1], rtol=0, atol=1e-5 * np.abs(expected[1]).max())

    _check_sees_X_scaled_in_place(random_init(sizes, seed=4), X[:300].astype(dtype), y[:300], sizes,
                                  assert_close)


def test_a_cast_of_X_is_made_anew_after_X_changed_in_place():
    # float64 X computed in float32: each call casts X; a cast kept from the
    # last call would hold the values from before the change
    sizes = (4, 6, 3)
    theta, X, y = _problem(sizes, 50, seed=15)
    theta2 = theta * 0.9
    expected = cost_and_gradient(theta2, (X * 1.5).astype(np.float32), y, 1.0, sizes)
    cost_and_gradient(theta, X, y, 1.0, sizes, dtype=np.float32)
    X *= 1.5
    got = cost_and_gradient(theta2, X, y, 1.0, sizes, dtype=np.float32)
    assert got[0] == expected[0] and np.array_equal(got[1], expected[1])


def test_a_conversion_of_integer_X_is_made_anew_after_X_changed_in_place():
    # integer X is converted to float64 by the checks; a conversion kept from
    # the last call would hold the values from before the change
    sizes = (4, 6, 3)
    theta, X, y = _problem(sizes, 50, seed=16)
    Xi = np.round(X * 10).astype(np.int16)
    theta2 = theta * 0.9
    expected = _fresh(theta2, (Xi * 2).astype(np.float64), y, 1.0, sizes, "cross_entropy")
    cost(theta, Xi, y, 1.0, sizes)
    Xi *= 2
    for got in _call_sequence(theta2, Xi, y, 1.0, sizes, "cross_entropy"):
        _assert_result(got, expected)


def _two_data_sets(sizes=(4, 6, 3)):
    theta, X1, y1 = _problem(sizes, 40, seed=17)
    _, X2, y2 = _problem(sizes, 30, seed=18)
    return theta, (X1, y1), (X2, y2), sizes


def test_calls_alternating_between_data_sets_see_changes_to_each():
    theta, (X1, y1), (X2, y2), sizes = _two_data_sets()
    args1, args2 = (theta, X1, y1, 1.0, sizes, "cross_entropy"), (theta, X2, y2, 1.0, sizes, "cross_entropy")
    _call_sequence(*args1)
    _call_sequence(*args2)  # the memo now holds both data sets, the evaluation the second
    y1[:] = (y1 + 1) % sizes[-1]
    X2 *= 1.5
    for args in (args1, args2, args1):
        for got in _call_sequence(*args):
            _assert_result(got, _fresh(*args))


def test_no_call_keeps_X_alive():
    import gc
    import weakref

    theta, (X1, y1), _, sizes = _two_data_sets()
    cost_and_gradient(theta, X1, y1, 1.0, sizes)
    cost(theta * 0.9, X1, y1, 1.0, sizes)
    regularized_gradient(theta * 0.9, X1, y1, 1.0, sizes)
    ref = weakref.ref(X1)
    del X1
    gc.collect()
    assert ref() is None


def test_cache_sees_a_different_y(small_problem):
    theta, X, y, sizes = small_problem
    _check_no_stale_result((theta, X, y, 1.0, sizes, "cross_entropy"),
                           (theta, X, (y + 1) % sizes[-1], 1.0, sizes, "cross_entropy"))


def test_cache_sees_y_changed_in_place(small_problem):
    theta, X, y, sizes = small_problem
    args = (theta, X, y, 1.0, sizes, "cross_entropy")
    expected = _fresh(theta, X, (y + 1) % sizes[-1], 1.0, sizes, "cross_entropy")
    _assert_differs(_fresh(*args), expected)
    _call_sequence(*args)  # the cache now holds this theta, X and y
    y[:] = (y + 1) % sizes[-1]
    for got in _call_sequence(*args):
        _assert_result(got, expected)


def test_cache_sees_indices_versus_one_hot_of_other_classes(small_problem):
    theta, X, y, sizes = small_problem
    Y_other = np.eye(sizes[-1])[(y + 1) % sizes[-1]]
    _check_no_stale_result((theta, X, y, 1.0, sizes, "cross_entropy"),
                           (theta, X, Y_other, 1.0, sizes, "cross_entropy"))


def test_cache_sees_a_new_lambda(small_problem):
    theta, X, y, sizes = small_problem
    _check_no_stale_result((theta, X, y, 1.0, sizes, "cross_entropy"),
                           (theta, X, y, 3.0, sizes, "cross_entropy"))


def test_cache_sees_a_new_loss(small_problem):
    theta, X, y, sizes = small_problem
    _check_no_stale_result((theta, X, y, 1.0, sizes, "cross_entropy"),
                           (theta, X, y, 1.0, sizes, "squared_error"))


def test_cache_sees_a_new_dtype(small_problem):
    theta, X, y, sizes = small_problem
    expected = _fresh(theta, X, y, 1.0, sizes, "cross_entropy")
    cost_and_gradient(theta, X, y, 1.0, sizes, dtype=np.float32)
    _assert_result(cost_and_gradient(theta, X, y, 1.0, sizes, dtype=np.float64), expected)
    _assert_result((cost(theta, X, y, 1.0, sizes), regularized_gradient(theta, X, y, 1.0, sizes)), expected)


@pytest.mark.parametrize("func", [regularized_gradient, lambda *a: cost_and_gradient(*a)[1]],
                         ids=["regularized_gradient", "cost_and_gradient"])
def test_a_returned_gradient_may_be_modified_by_the_caller(func, small_problem):
    theta, X, y, sizes = small_problem
    g = func(theta, X, y, 1.0, sizes)
    expected = g.copy()
    g[:] = 12345.0
    np.testing.assert_allclose(func(theta, X, y, 1.0, sizes), expected, rtol=1e-15, atol=0)
    np.testing.assert_allclose(regularized_gradient(theta, X, y, 1.0, sizes), expected, rtol=1e-15, atol=0)
    assert cost(theta, X, y, 1.0, sizes) == pytest.approx(_fresh(theta, X, y, 1.0, sizes, "cross_entropy")[0],
                                                           rel=1e-15)


@pytest.mark.parametrize("func", [regularized_gradient, lambda *a: cost_and_gradient(*a)[1]],
                         ids=["regularized_gradient", "cost_and_gradient"])
def test_each_call_gets_a_gradient_of_its_own(func):
    # the kept gradient is handed to the first caller, which owns it; a
    # second call at the same θ, in turn or from other threads at once,
    # must get a vector of its own with the same values
    X, y = nnopt.load_digits()
    X, y = X[:600], y[:600]
    sizes = (784, 25, 10)
    theta = random_init(sizes, seed=8)
    expected = _fresh(theta, X, y, 1.0, sizes, "cross_entropy")[1]
    cost(theta, X, y, 1.0, sizes)
    got = []
    threads = [threading.Thread(target=lambda: got.extend(func(theta, X, y, 1.0, sizes) for _ in range(3)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 12
    assert len({id(g) for g in got}) == 12 and not any(np.shares_memory(a, b) for a in got for b in got if a is not b)
    for g in got:
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- float32


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("how", ["dtype", "X"])
def test_float32_agrees_with_float64(loss, how):
    sizes = (20, 12, 8, 5)
    theta, X, y = _problem(sizes, 60, seed=14)
    J64, g64 = cost_and_gradient(theta, X, y, 1.0, sizes, loss)
    if how == "dtype":
        J32, g32 = cost_and_gradient(theta, X, y, 1.0, sizes, loss, dtype=np.float32)
    else:
        J32, g32 = cost_and_gradient(theta, X.astype(np.float32), y, 1.0, sizes, loss)
    assert g32.dtype == np.float64
    assert J32 == pytest.approx(J64, rel=1e-5)
    assert J32 != J64  # the arithmetic really was float32
    assert np.linalg.norm(g32 - g64) / np.linalg.norm(g64) < 1e-4


# ---------------------------------------------------------------- scipy.optimize


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("form", ["fun_and_jac", "jac_true"])
def test_scipy_minimize_decreases_the_cost(form, loss):
    sizes = (4, 5, 3)
    theta0, X, y = _problem(sizes, 30, seed=15)
    args = (X, y, 0.1, sizes, loss)
    J0 = cost(theta0, *args)
    if form == "fun_and_jac":
        res = minimize(cost, theta0, args=args, jac=regularized_gradient, method="L-BFGS-B",
                       options={"maxiter": 30})
    else:
        res = minimize(cost_and_gradient, theta0, args=args, jac=True, method="L-BFGS-B",
                       options={"maxiter": 30})
    assert res.nit > 1
    assert res.fun < 0.9 * J0
    assert cost(res.x, *args) == pytest.approx(res.fun, rel=1e-12)


FUNCTIONS = {
    "cost": lambda *a: cost(*a),
    "forward_cost": lambda *a: nnopt.forward_cost(*a),
    "regularized_gradient": lambda *a: regularized_gradient(*a),
    "cost_and_gradient": lambda *a: cost_and_gradient(*a),
}


def _same_bits(a, b):
    a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))
    return all(np.array_equal(np.asarray(u), np.asarray(w)) for u, w in zip(a, b))


@pytest.mark.parametrize("sizes", [(784, 25, 10), (784, 12, 8, 10)], ids=["one_hidden", "two_hidden"])
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_a_change_of_one_value_anywhere_is_seen_bit_for_bit(name, sizes):
    # the issue's own case: X[2501, 392] on the digits, and values far from
    # any sample a cache could take (corners, the last row, random places)
    f = FUNCTIONS[name]
    X, y = nnopt.load_digits()
    theta = random_init(sizes, seed=1)
    rng = np.random.default_rng(5)
    places = [(2501, 392), (0, 0), (4999, 783), (1234, 1)] + [tuple(rng.integers((5000, 784))) for _ in range(3)]
    before = f(theta, X, y, 1.0, sizes)
    for i, j in places:
        X[i, j] = X[i, j] + 0.75
        got = f(theta, X, y, 1.0, sizes)
        assert _same_bits(got, f(theta, X.copy(), y.copy(), 1.0, sizes))
        assert not _same_bits(got, before)
        before = got
    # and one label of y
    y[4321] = (y[4321] + 1) % 10
    got = f(theta, X, y, 1.0, sizes)
    assert _same_bits(got, f(theta, X.copy(), y.copy(), 1.0, sizes))
    assert not _same_bits(got, before)


def test_the_backprop_module_keeps_no_state():
    # nothing at module level that a call could write to: every global is a
    # function, a class, a module, a constant string or a read-only table
    import types
    mutable = {name: type(value).__name__ for name, value in vars(nnopt.backprop).items()
               if not name.startswith("__")
               and not isinstance(value, (types.FunctionType, types.ModuleType, type, str,
                                          types.MappingProxyType))}
    assert mutable == {}


@pytest.mark.parametrize("sizes", [(784, 25, 10), (784, 12, 8, 10)], ids=["one_hidden", "two_hidden"])
def test_objective_makes_one_evaluation_per_distinct_theta(sizes):
    X, y = nnopt.load_digits()
    X, y = X[:1500], y[:1500]
    obj = Objective(X, y, 1.0, sizes)
    seen, answers = [], []

    def fun(t):
        seen.append(t.copy())
        J = obj.cost(t)
        answers.append((t.copy(), J, None))
        return J

    def jac(t):
        seen.append(t.copy())
        g = obj.gradient(t)
        answers.append((t.copy(), None, g))
        return g

    res = minimize(fun, random_init(sizes, seed=2), jac=jac, method="TNC", options={"maxfun": 60})
    distinct = {t.tobytes() for t in seen}
    assert res.nfev > 5 and len(seen) > len(distinct)  # fun and jac were asked at the same θ
    assert obj.n_evals == len(distinct)
    # each answer has the bits of cost_and_gradient at that θ
    for t, J, g in answers[:: max(1, len(answers) // 12)]:
        ref = cost_and_gradient(t, X, y, 1.0, sizes)
        assert (J == ref[0]) if J is not None else np.array_equal(g, ref[1])


def test_objective_gradient_is_the_callers_own(small_problem):
    theta, X, y, sizes = small_problem
    obj = Objective(X, y, 1.0, sizes)
    J = obj.cost(theta)
    g = obj.gradient(theta)
    assert obj.n_evals == 1  # cost then gradient at one θ: one evaluation
    expected = g.copy()
    g[:] = 7.0
    again = obj.gradient(theta)  # handed over before: computed anew, not the changed array
    assert np.array_equal(again, expected) and again is not g
    J2, g2 = obj(theta)
    assert J2 == J and np.array_equal(g2, expected) and not np.shares_memory(g2, again)
    assert obj.cost(theta) == J


def test_objective_copy_binds_data_that_later_changes_cannot_reach(small_problem):
    theta, X, y, sizes = small_problem
    obj = Objective(X, y, 1.0, sizes, copy=True)
    expected = cost_and_gradient(theta, X, y, 1.0, sizes)
    X *= 3.0
    assert _same_bits(obj(theta), expected)
    # without copy=True, float64 X is bound as it is (no copy of large data)
    assert np.shares_memory(Objective(X, y, 1.0, sizes).X, X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_objective_reuses_its_block_arrays_without_one_thetas_answer_reaching_anothers(activation, dtype):
    X, y = nnopt.load_digits()
    X, y = X[:1000], y[:1000]
    sizes = (784, 30, 20, 10)
    kw = dict(dtype=dtype, activation=activation, output="softmax")
    obj = Objective(X, y, 1.0, sizes, working_memory=0.1, **kw)
    assert obj.problem.block_rows < 500 and 1000 % obj.problem.block_rows  # blocks, the last one short
    thetas = [random_init(sizes, seed=s) for s in range(3)]
    order = [0, 1, 2, 0, 2, 1]
    answers = [obj(thetas[k]) for k in order]  # each gradient kept while later ones are computed
    assert obj.n_evals == len(order)
    for k, (J, g) in zip(order, answers):
        fresh = cost_and_gradient(thetas[k], X, y, 1.0, sizes, working_memory=0.1, **kw)
        assert J == fresh[0] and np.array_equal(g, fresh[1])  # the bits of a call with new arrays
        whole = cost_and_gradient(thetas[k], X, y, 1.0, sizes, **kw)  # one block: another order of sums
        assert J == pytest.approx(whole[0], rel=1e-5 if dtype == np.float32 else 1e-12)
    assert not any(np.shares_memory(a[1], b[1]) for i, a in enumerate(answers) for b in answers[i + 1:])


def test_a_scratch_in_use_is_not_handed_to_a_second_sum():
    from nnopt._scratch import Scratch, using

    mine = Scratch()
    with using(mine) as first:
        with using(mine) as second:
            assert first is mine and second is not mine
            assert not np.shares_memory(first.take("z", 8, 3, np.float64), second.take("z", 8, 3, np.float64))
    with using(mine) as again:
        assert again is mine  # free once the first sum is done
        assert again.take("z", 4, 3, np.float64).base is first.take("z", 8, 3, np.float64).base


def test_an_objective_pickles_and_copies_with_an_empty_scratch_of_its_own():
    import copy
    import pickle

    X, y = nnopt.load_digits()
    X, y = X[:900], y[:900]
    sizes = (784, 20, 10)
    obj = Objective(X, y, 1.0, sizes, working_memory=0.05)
    thetas = [random_init(sizes, seed=s) for s in range(2)]
    J0, g0 = obj(thetas[0])
    for other in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj)):
        assert other._scratch is not obj._scratch and other._scratch._arrays == {}
        J1, g1 = other(thetas[1])
        ref = cost_and_gradient(thetas[1], X, y, 1.0, sizes, working_memory=0.05)
        assert J1 == ref[0] and np.array_equal(g1, ref[1])
        assert obj(thetas[0])[0] == J0  # the original unchanged by its copy's evaluations


def test_an_objective_called_from_two_threads_at_once_answers_each_right():
    X, y = nnopt.load_digits()
    X, y = X[:2000], y[:2000]
    sizes = (784, 40, 10)
    obj = Objective(X, y, 1.0, sizes, working_memory=0.5)
    thetas = [random_init(sizes, seed=s) for s in range(4)]
    expected = [cost_and_gradient(t, X, y, 1.0, sizes, working_memory=0.5) for t in thetas]
    wrong = []

    def work(pair):
        for i in range(16):
            k = pair[i % 2]  # alternate, so that each call evaluates
            J, g = obj(thetas[k])
            # to rounding, not bit for bit: OpenBLAS called from two threads at
            # once may run a product on one thread, which adds in another order
            if not (math.isclose(J, expected[k][0], rel_tol=1e-12)
                    and np.allclose(g, expected[k][1], rtol=1e-10, atol=1e-15)):
                wrong.append(k)

    threads = [threading.Thread(target=work, args=(pair,)) for pair in ((0, 1), (2, 3))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_objective_matches_cost_and_gradient(small_problem):
    theta, X, y, sizes = small_problem
    f = Objective(X, y, 2.0, sizes, "squared_error")
    J, g = f(theta)
    J_ref, g_ref = cost_and_gradient(theta, X, y, 2.0, sizes, "squared_error")
    assert J == pytest.approx(J_ref, rel=1e-13)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-15)
    assert f.n_evals == 1
    assert f.recorded_cost(theta) == J
