"""Gradient checking: backpropagation against central differences, and the
course's hand-worked gradient-check network."""

import math

import numpy as np
import pytest

from nnopt.backprop import cost, cost_and_gradient
from nnopt.gradcheck import (
    GradientCheck, check_gradients, course_problem, debug_matrix, numerical_gradient,
)
from nnopt.parameters import layer_shapes, reshape

DEPTHS = {1: (3, 5, 3), 2: (3, 5, 4, 3), 3: (3, 5, 4, 5, 3)}


@pytest.mark.parametrize("one_hot", [False, True], ids=["indices", "one_hot"])
@pytest.mark.parametrize("lam", [0.0, 3.0])
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
@pytest.mark.parametrize("hidden", [1, 2, 3])
@pytest.mark.parametrize("seed", [None, 1], ids=["course", "random"])
def test_backprop_matches_central_differences(seed, hidden, loss, lam, one_hot):
    check = check_gradients(lam, DEPTHS[hidden], m=5, loss=loss, seed=seed, one_hot=one_hot)
    assert check.analytic.shape == check.numerical.shape
    assert np.linalg.norm(check.analytic) > 1e-3  # not trivially zero
    assert check.relative_difference < 1e-9


def test_a_wrong_epsilon_fails_the_check():
    # the check must be able to fail: ε = 1 makes central differences inaccurate
    assert check_gradients(0.0, eps=1.0).relative_difference > 1e-6
    assert check_gradients(3.0, seed=1, eps=1.0).relative_difference > 1e-6


def test_relative_difference_is_the_documented_formula():
    check = check_gradients(3.0, (3, 5, 3), loss="squared_error", seed=5)
    num, grad = check.numerical, check.analytic
    expected = np.linalg.norm(num - grad) / np.linalg.norm(num + grad)
    assert check.relative_difference == pytest.approx(expected, rel=1e-12)


def test_check_gradients_reports_backprops_gradient():
    theta, X, y = course_problem((3, 5, 3), 5)
    _, grad = cost_and_gradient(theta, X, y, 3.0, (3, 5, 3))
    check = check_gradients(3.0)
    np.testing.assert_allclose(check.analytic, grad, rtol=1e-12, atol=1e-15)


def test_one_hot_and_indices_give_the_same_gradients():
    a = check_gradients(3.0, (3, 5, 4, 3), seed=9)
    b = check_gradients(3.0, (3, 5, 4, 3), seed=9, one_hot=True)
    np.testing.assert_allclose(a.analytic, b.analytic, rtol=1e-12, atol=1e-15)


def test_seed_accepts_a_generator():
    a = check_gradients(0.0, seed=np.random.default_rng(11))
    b = check_gradients(0.0, seed=11)
    assert np.array_equal(a.analytic, b.analytic)


# ------------------------------------------------------ the course's network


def _course_matrix(rows, cols):
    """sin(1), sin(2), ... filled column by column, divided by 10 (written out)."""
    M = np.empty((rows, cols))
    k = 1
    for j in range(cols):
        for i in range(rows):
            M[i, j] = math.sin(k) / 10
            k += 1
    return M


def test_course_problem_is_built_as_the_course_specifies():
    theta, X, y = course_problem((3, 5, 3), 5)
    Theta1, Theta2 = reshape(theta, (3, 5, 3))
    assert Theta1.shape == (5, 4) and Theta2.shape == (3, 6)
    np.testing.assert_allclose(Theta1, _course_matrix(5, 4), rtol=0, atol=1e-15)
    np.testing.assert_allclose(Theta2, _course_matrix(3, 6), rtol=0, atol=1e-15)
    assert X.shape == (5, 3)
    np.testing.assert_allclose(X, _course_matrix(5, 3), rtol=0, atol=1e-15)
    # the course's labels 1 + mod(1:m, K) = 2, 3, 1, 2, 3, shifted to 0..K-1
    assert y.tolist() == [1, 2, 0, 1, 2]


def test_debug_matrix_first_column_then_second():
    M = debug_matrix(2, 3)
    np.testing.assert_allclose(M[:, 0], [math.sin(1) / 10, math.sin(2) / 10], rtol=1e-15)
    np.testing.assert_allclose(M[0, 1], math.sin(3) / 10, rtol=1e-15)


@pytest.mark.parametrize("lam, expected", [(0.0, 2.1009505699), (3.0, 2.1463598150)])
def test_course_network_cost(lam, expected):
    theta, X, y = course_problem((3, 5, 3), 5)
    assert cost(theta, X, y, lam, (3, 5, 3)) == pytest.approx(expected, abs=1e-9)


def test_course_problem_deeper_network_shapes():
    sizes = (3, 5, 4, 3)
    theta, X, y = course_problem(sizes, 7)
    for Theta, shape in zip(reshape(theta, sizes), layer_shapes(sizes)):
        np.testing.assert_allclose(Theta, _course_matrix(*shape), rtol=0, atol=1e-15)
    assert X.shape == (7, 3)
    assert y.tolist() == [1, 2, 0, 1, 2, 0, 1]


# ------------------------------------------------------ the report


def test_table_shows_both_columns_and_the_relative_difference():
    check = check_gradients(0.0)
    assert isinstance(check, GradientCheck)
    lines = check.table().splitlines()
    assert "numerical" in lines[0] and "analytic" in lines[0]
    rows = lines[1:-1]
    assert len(rows) == check.analytic.size
    first = [float(x) for x in rows[0].split()]
    np.testing.assert_allclose(first, [check.numerical[0], check.analytic[0]], atol=1e-10)
    assert f"{check.relative_difference:.3e}" in lines[-1]
    assert str(check) == check.table()


def test_verbose_prints_the_table(capsys):
    check = check_gradients(3.0, verbose=True)
    out = capsys.readouterr().out
    assert out.strip() == check.table().strip()


def test_not_verbose_prints_nothing(capsys):
    check_gradients(3.0)
    assert capsys.readouterr().out == ""


# ------------------------------------------------------ numerical_gradient


def test_numerical_gradient_of_a_known_function():
    theta = np.random.default_rng(2).uniform(-3, 3, size=12)
    num = numerical_gradient(lambda t: np.sin(t).sum(), theta)
    np.testing.assert_allclose(num, np.cos(theta), rtol=0, atol=1e-8)


def test_numerical_gradient_leaves_theta_unchanged():
    theta = np.random.default_rng(3).standard_normal(5)
    before = theta.copy()
    numerical_gradient(lambda t: float(t @ t), theta)
    assert np.array_equal(theta, before)


@pytest.mark.parametrize("eps", [0.0, -1e-4, float("nan")])
def test_numerical_gradient_rejects_a_bad_step(eps):
    with pytest.raises(ValueError, match=rf"eps must be a positive finite number; got {eps!r}"):
        numerical_gradient(np.sum, np.zeros(3), eps=eps)


def test_check_gradients_rejects_bad_m():
    with pytest.raises(ValueError, match=r"m must be a whole number >= 1; got 0"):
        check_gradients(m=0)
