"""The parameter vector: layer shapes, unroll/reshape round trip, random_init."""

import math

import numpy as np
import pytest

from nnopt.parameters import layer_shapes, n_params, random_init, reshape, unroll

SIZES = [(3, 5, 3), (400, 25, 10), (2, 1), (4, 6, 5, 3)]


def test_layer_shapes_have_a_bias_column():
    assert layer_shapes((400, 25, 10)) == [(25, 401), (10, 26)]
    assert layer_shapes((3, 5, 4, 2)) == [(5, 4), (4, 6), (2, 5)]


def test_n_params_counts_every_weight_including_bias():
    assert n_params((400, 25, 10)) == 25 * 401 + 10 * 26
    assert n_params((2, 1)) == 3


@pytest.mark.parametrize("sizes", SIZES)
def test_unroll_of_reshape_is_exact(sizes):
    theta = np.random.default_rng(0).standard_normal(n_params(sizes))
    # identity is the point here: the round trip must not change a single bit
    assert np.array_equal(unroll(reshape(theta, sizes)), theta)


@pytest.mark.parametrize("sizes", SIZES)
def test_reshape_of_unroll_is_exact(sizes):
    rng = np.random.default_rng(1)
    thetas = [rng.standard_normal(shape) for shape in layer_shapes(sizes)]
    back = reshape(unroll(thetas), sizes)
    assert len(back) == len(thetas)
    for t, b in zip(thetas, back):
        assert np.array_equal(t, b)


@pytest.mark.parametrize("sizes", SIZES)
def test_reshape_gives_views_with_the_right_shapes(sizes):
    theta = np.zeros(n_params(sizes))
    thetas = reshape(theta, sizes)
    assert [t.shape for t in thetas] == [(sizes[l + 1], sizes[l] + 1) for l in range(len(sizes) - 1)]
    for t in thetas:
        assert np.shares_memory(t, theta)


def test_writing_through_a_view_changes_theta():
    sizes = (3, 5, 3)
    theta = np.zeros(n_params(sizes))
    Theta1, Theta2 = reshape(theta, sizes)
    Theta2[1, 0] = 7.0
    Theta1[:] = 1.0
    assert theta[:20].tolist() == [1.0] * 20
    # Θ^(2) starts at offset 20 and has 6 columns: row 1, column 0 is entry 26
    assert theta[26] == 7.0
    assert np.count_nonzero(theta[20:]) == 1


def test_reshape_is_row_major_within_each_matrix():
    sizes = (2, 3, 2)  # Θ^(1): 3×3, Θ^(2): 2×4
    theta = np.arange(n_params(sizes), dtype=float)
    Theta1, Theta2 = reshape(theta, sizes)
    assert Theta1.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert Theta2.tolist() == [[9, 10, 11, 12], [13, 14, 15, 16]]


def test_unroll_is_row_major_whatever_the_memory_order():
    Theta1 = np.asfortranarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # (2, 2 + 1)
    Theta2 = np.array([[7.0, 8.0, 9.0]])  # (1, 2 + 1)
    theta = unroll([Theta1, Theta2])
    assert theta.dtype == np.float64
    assert theta.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_unroll_rejects_mismatched_matrices():
    with pytest.raises(ValueError, match=r"Θ\^\(2\) has shape \(3, 4\).*needs 3 columns"):
        unroll([np.zeros((2, 4)), np.zeros((3, 4))])


def test_reshape_rejects_a_theta_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"theta has length 37.*\(3, 5, 3\) needs 38"):
        reshape(np.zeros(37), (3, 5, 3))


# ---------------------------------------------------------------- random_init


@pytest.mark.parametrize("sizes", [(400, 25, 10), (3, 5, 3), (10, 7, 6, 2)])
def test_random_init_default_epsilon_bounds_every_layer(sizes):
    theta = random_init(sizes, seed=3)
    assert theta.shape == (n_params(sizes),)
    assert theta.dtype == np.float64
    for l, t in enumerate(reshape(theta, sizes)):
        eps = math.sqrt(6) / math.sqrt(sizes[l] + sizes[l + 1])
        assert np.abs(t).max() <= eps
        # uniform on [−ε, ε]: with this many draws the extremes come close to ±ε
        assert np.abs(t).max() > 0.75 * eps
        assert t.min() < 0 < t.max()


def test_random_init_default_epsilon_is_012_for_the_course_network():
    theta = random_init((400, 25, 10), seed=0)
    Theta1 = reshape(theta, (400, 25, 10))[0]
    eps = math.sqrt(6) / math.sqrt(400 + 25)
    assert round(eps, 2) == 0.12
    assert np.abs(Theta1).max() <= eps
    assert np.abs(Theta1).max() == pytest.approx(eps, rel=1e-2)  # 10 025 draws


def test_random_init_explicit_epsilon_applies_to_every_layer():
    sizes = (30, 20, 10)
    theta = random_init(sizes, epsilon=0.01, seed=4)
    assert np.abs(theta).max() <= 0.01
    assert np.abs(theta).max() == pytest.approx(0.01, rel=1e-2)


def test_random_init_same_int_seed_is_identical():
    assert np.array_equal(random_init((5, 4, 3), seed=42), random_init((5, 4, 3), seed=42))


def test_random_init_accepts_a_generator():
    a = random_init((5, 4, 3), seed=np.random.default_rng(42))
    b = random_init((5, 4, 3), seed=np.random.default_rng(42))
    assert np.array_equal(a, b)
    # a Generator is consumed: a second draw from the same one differs
    rng = np.random.default_rng(42)
    assert not np.array_equal(random_init((5, 4, 3), seed=rng), random_init((5, 4, 3), seed=rng))


def test_random_init_different_seeds_differ():
    assert not np.array_equal(random_init((5, 4, 3), seed=1), random_init((5, 4, 3), seed=2))


@pytest.mark.parametrize("seed", [None, 7, "generator"])
def test_random_init_leaves_the_global_numpy_state_alone(seed):
    if seed == "generator":
        seed = np.random.default_rng(7)
    np.random.seed(12345)
    before = np.random.get_state()
    random_init((20, 10, 3), seed=seed)
    after = np.random.get_state()
    assert before[0] == after[0]
    assert np.array_equal(before[1], after[1])
    assert before[2:] == after[2:]


def test_random_init_does_not_draw_from_the_global_numpy_state():
    # with the global state reset identically, seed=None must still give
    # fresh values: they come from new entropy, not from np.random
    np.random.seed(0)
    a = random_init((5, 4, 3))
    np.random.seed(0)
    b = random_init((5, 4, 3))
    assert not np.array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"epsilon": 0.0}, ValueError, r"epsilon must be a positive finite number.*got 0\.0"),
        ({"epsilon": -0.1}, ValueError, r"epsilon must be a positive finite number.*got -0\.1"),
        ({"epsilon": float("inf")}, ValueError, r"epsilon must be a positive finite number.*got inf"),
        ({"seed": -1}, ValueError, r"seed must be a non-negative int; got -1"),
        ({"seed": 1.5}, TypeError, r"seed must be None, an int or a numpy\.random\.Generator; got float"),
    ],
)
def test_random_init_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        random_init((3, 5, 3), **kwargs)


@pytest.mark.parametrize(
    "sizes, error, match",
    [
        ((3,), ValueError, r"layer_sizes needs at least 2 entries.*got \(3,\)"),
        ((3, 0, 2), ValueError, r"every entry of layer_sizes must be at least 1; got \(3, 0, 2\)"),
        ((3, 2.5, 2), TypeError, r"layer_sizes must hold whole numbers; got \(3, 2\.5, 2\)"),
        ("3,5,3", TypeError, r"layer_sizes must be a sequence.*got '3,5,3'"),
    ],
)
def test_layer_sizes_are_checked(sizes, error, match):
    with pytest.raises(error, match=match):
        layer_shapes(sizes)
    with pytest.raises(error, match=match):
        random_init(sizes, seed=0)
