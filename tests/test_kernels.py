"""nnopt's C kernels (nnopt/_kernels.c) against numpy's products.

Every shape class the tiles handle: hidden sizes below, at and above whole
vectors (8 doubles, 16 floats) and tiles (4 vectors), inputs whose width is
not a whole vector, row counts that leave partial tiles, and 500 rows: three
chunks of rows (CHUNK = 192 in _kernels.c) shared by three threads.
"""

import os
import threading
import time
import warnings

import numpy as np
import pytest
from scipy.special import expit

import nnopt
from nnopt import _accel, _threads
from nnopt import Objective
from nnopt.backprop import cost_and_gradient
from nnopt.parameters import random_init


def test_the_kernels_are_built_and_used():
    # setup.py builds them with any C compiler; this install must have them,
    # built from this source (a build of other code has another API, and
    # _accel leaves it unused)
    assert _accel._kernels is not None
    assert _accel.enabled
    X = np.ones((3, 4))
    assert _accel._applies(X, 25)
    assert not _accel._applies(X, _accel.MAX_HIDDEN + 1)
    assert not _accel._applies(np.asfortranarray(np.ones((3, 4)))[:, :3], 25)
    assert not _accel._applies(X.astype(np.float16), 25)


@pytest.fixture
def many_threads(monkeypatch):
    """Threads even for the tiny problems below, more than the cores, and
    the kernels for every hidden size tested."""
    monkeypatch.setattr(_accel, "_WORK_PER_THREAD", 1)
    monkeypatch.setattr(_accel, "_CORES", 3)
    monkeypatch.setattr(_accel, "MAX_HIDDEN", 1000)


TOL = {np.float64: 1e-13, np.float32: 2e-6}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("s2", [1, 7, 8, 9, 16, 17, 25, 33, 70])
@pytest.mark.parametrize("n", [1, 5, 16, 17, 40])
@pytest.mark.parametrize("m", [1, 7, 13, 50, 500])
def test_forward_matches_numpy(m, n, s2, dtype, many_threads):
    rng = np.random.default_rng(m * 10_000 + n * 100 + s2)
    X = rng.standard_normal((m, n)).astype(dtype)
    Th = rng.standard_normal((s2, n + 1)).astype(dtype)
    z, finite = _accel.input_layer(Th, X, activate=False)
    expected = Th[:, 1:].astype(np.float64) @ X.T.astype(np.float64) + Th[:, :1]
    assert z.shape == (s2, m) and z.dtype == dtype and finite
    # in float64, as `expected`: float32 products of small shapes have been seen to raise
    # a spurious "invalid value" flag in OpenBLAS (finite inputs, finite results)
    scale = np.abs(Th[:, 1:]).astype(np.float64) @ np.abs(X.T).astype(np.float64) + np.abs(Th[:, :1])
    assert np.all(np.abs(z - expected) <= TOL[dtype] * scale)
    # with the sigmoid of the kernels' epilogue: g(z) of the z above, to
    # a few units in the last place, relative, even far in the tails
    a, finite = _accel.input_layer(Th, X, activate=True)
    assert a.shape == (s2, m) and a.dtype == dtype and finite
    ulp = np.finfo(dtype).eps
    g = expit(z.astype(np.float64))
    assert np.all(np.abs(a - g) <= 4 * ulp * g)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_the_kernels_sigmoid_is_exact_to_a_few_ulp_over_its_whole_range(dtype, many_threads):
    # z^(2) = X·1 + 0 with one input: z runs over the values of X itself
    top = 750.0 if dtype == np.float64 else 110.0
    z = np.concatenate([np.linspace(-top, top, 40_001), [0.0, -0.0, 1e-300, -1e-300],
                        np.geomspace(1e-8, top, 2000), -np.geomspace(1e-8, top, 2000)])
    z = z.astype(dtype)
    Th = np.array([[0.0, 1.0]], dtype=dtype)
    a, finite = _accel.input_layer(Th, z[:, None].copy(), activate=True)
    g = expit(z.astype(np.float64))
    tiny = np.finfo(dtype).tiny
    assert finite
    # relative accuracy wherever g is a normal number; 0 allowed below that
    normal = g >= (2.3e-308 if dtype == np.float64 else 1.2e-38) * 1e8
    assert np.all(np.abs(a[0, normal] - g[normal]) <= 4 * np.finfo(dtype).eps * g[normal])
    assert np.all(np.abs(a[0, ~normal] - g[~normal]) <= tiny * 1e8)
    assert np.all((a >= 0) & (a <= 1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, "overflow"])
def test_the_kernels_report_a_nonfinite_z_which_the_sigmoid_would_hide(dtype, bad, many_threads):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((400, 30)).astype(dtype)
    Th = rng.standard_normal((25, 31)).astype(dtype)
    if bad == "overflow":
        X[123, 7] = np.finfo(dtype).max  # finite, but X Θᵀ overflows
    else:
        X[123, 7] = bad
    z, finite = _accel.input_layer(Th, X, activate=True)
    assert not finite
    X[123, 7] = 0
    assert _accel.input_layer(Th, X, activate=True)[1]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("s2", [1, 7, 8, 9, 16, 17, 25, 33])
@pytest.mark.parametrize("n", [1, 5, 16, 17, 40, 70])
@pytest.mark.parametrize("m", [1, 7, 33, 70, 500])
def test_backward_matches_numpy_and_writes_only_its_columns(m, n, s2, dtype, many_threads):
    rng = np.random.default_rng(m * 10_000 + n * 100 + s2 + 1)
    X = rng.standard_normal((m, n)).astype(dtype)
    delta = np.asfortranarray(rng.standard_normal((s2, m)).astype(dtype))
    g = np.full(s2 * (n + 2) + 3, 7.0, dtype=dtype)  # a spare column, and 3 guard entries
    G = g[: s2 * (n + 2)].reshape(s2, n + 2)
    assert _accel.input_gradient(delta, X, out=G[:, :-1])
    expected = delta.astype(np.float64) @ X.astype(np.float64)
    scale = np.abs(delta) @ np.abs(X)
    assert np.all(np.abs(G[:, 1:-1] - expected) <= TOL[dtype] * scale)
    # column 0: the bias column Σ_i δ_i
    sums = delta.astype(np.float64).sum(axis=1)
    assert np.all(np.abs(G[:, 0] - sums) <= TOL[dtype] * np.abs(delta).sum(axis=1))
    assert np.all(G[:, -1] == 7.0) and np.all(g[-3:] == 7.0)  # nothing beyond: untouched


def test_backward_leaves_a_c_ordered_delta_to_numpy():
    # the kernels take δ^(2) as rows of examples; otherwise they decline and
    # touch nothing, and backpropagation computes Δ^(1) with numpy
    rng = np.random.default_rng(3)
    X, delta = rng.standard_normal((20, 9)), rng.standard_normal((4, 20))
    out = np.full((4, 10), 7.0)
    assert _accel.input_gradient(delta, X, out=out) is False
    assert np.all(out == 7.0)
    assert _accel.input_gradient(np.asfortranarray(delta), X, out=out) is True
    assert np.allclose(out[:, 1:], delta @ X, rtol=1e-14, atol=0)
    assert np.allclose(out[:, 0], delta.sum(axis=1), rtol=1e-14, atol=0)


def test_backpropagation_through_numpy_when_the_kernels_decline(monkeypatch):
    # a non-contiguous X: numpy's products, the same result to rounding
    rng = np.random.default_rng(8)
    sizes = (30, 7, 4)
    X = np.asfortranarray(rng.standard_normal((300, 30)))
    y = rng.integers(0, 4, 300)
    theta = random_init(sizes, seed=8)
    assert not _accel._applies(X, 7)
    J, grad = cost_and_gradient(theta, X, y, 1.0, sizes)
    J1, grad1 = cost_and_gradient(theta, np.ascontiguousarray(X), y, 1.0, sizes)
    assert J == pytest.approx(J1, rel=1e-14)
    assert np.allclose(grad, grad1, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("call, args, message", [
    ("forward", lambda X, Wt, Z: (X, Wt, Z[:-1], 5, 3, 2, 8, False, 1, True), "buffer Z"),
    ("forward", lambda X, Wt, Z: (X[:-1], Wt, Z, 5, 3, 2, 8, False, 1, True), "buffer X"),
    ("forward", lambda X, Wt, Z: (X, Wt[:-1], Z, 5, 3, 2, 8, False, 1, True), "buffer Wt"),
    ("forward", lambda X, Wt, Z: (X, Wt, Z, 5, 3, 2, 6, False, 1, True), "inconsistent sizes"),
    ("backward", lambda X, Wt, Z: (X, Z, Wt[:4], 5, 3, 2, 4, False, 1), "buffer G"),
    ("backward", lambda X, Wt, Z: (X, Z, Wt, 5, 3, 2, 3, False, 1), "inconsistent sizes"),
])
def test_the_kernels_refuse_buffers_too_short_for_the_sizes(call, args, message):
    # the sizes come from Python; a mistake there must be an error, not a stray write
    X, Wt, Z = np.ones((5, 3)), np.zeros((4, 8)), np.empty((5, 2))
    with pytest.raises(ValueError, match=message):
        getattr(_accel._kernels, call)(*args(X.reshape(-1), Wt.reshape(-1), Z.reshape(-1)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_an_evaluation_on_the_digits_is_the_same_with_and_without_kernels(dtype, monkeypatch):
    X, y = nnopt.load_digits()
    X, y = X[:1500], y[:1500]
    sizes = (784, 25, 10)
    theta = random_init(sizes, seed=4)
    J, grad = Objective(X, y, 1.0, sizes, dtype=dtype)(theta)
    monkeypatch.setattr(_accel, "enabled", False)
    J0, grad0 = Objective(X, y, 1.0, sizes, dtype=dtype)(theta)
    J64, grad64 = cost_and_gradient(theta, X, y, 1.0, sizes)
    assert J == pytest.approx(J0, rel=1e-6 if dtype == np.float32 else 1e-14)
    assert np.linalg.norm(grad - grad0) <= TOL[dtype] * 10 * np.linalg.norm(grad0)
    # the bound for float32 against float64, through the kernels
    assert np.linalg.norm(grad - grad64) < 1e-4 * np.linalg.norm(grad64)


def test_blas_runs_on_one_thread_inside_and_as_before_after():
    libs = _threads._blas_controllers()
    assert libs, "numpy's BLAS was not found by threadpoolctl"
    before = [lib.get_num_threads() for lib in libs]
    with _threads.blas_single_threaded():
        assert [lib.get_num_threads() for lib in libs] == [1] * len(libs)
        with _threads.blas_single_threaded():  # nested: still one, and restored once
            pass
        assert [lib.get_num_threads() for lib in libs] == [1] * len(libs)
    assert [lib.get_num_threads() for lib in libs] == before


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_backward_sums_are_the_same_bits_for_any_threads_and_timing(dtype, monkeypatch):
    # threads take the row groups as they come; the groups' sums must still
    # be added in one fixed order, or a training run would not repeat exactly
    rng = np.random.default_rng(11)
    m, n, s2 = 3000, 40, 25  # 16 chunks of 192 rows: 8 groups
    X = rng.standard_normal((m, n)).astype(dtype)
    delta = np.asfortranarray(rng.standard_normal((s2, m)).astype(dtype))
    monkeypatch.setattr(_accel, "_WORK_PER_THREAD", 1)
    results = []
    for cores in (1, 2, 3, 2, 2, 2, 2, 2):
        monkeypatch.setattr(_accel, "_CORES", cores)
        out = np.empty((s2, n + 1), dtype=dtype)
        assert _accel.input_gradient(delta, X, out=out)
        results.append(out)
    assert all(np.array_equal(r, results[0]) for r in results[1:])
    # and the grouping does change the bits against one plain sum, so the
    # test above is about something
    assert not np.array_equal(results[0][:, 1:], delta @ X)


def test_a_default_training_run_repeats_bit_for_bit():
    X, y = nnopt.load_digits()
    X, y = X[:2000], y[:2000]
    first = nnopt.train(X, y, 1.0, maxiter=5, seed=3)
    second = nnopt.train(X, y, 1.0, maxiter=5, seed=3)
    assert np.array_equal(first.theta, second.theta)
    assert np.array_equal(first.cost_history, second.cost_history)
    assert first.n_evals == second.n_evals


# ---------------------------------------------------------------- one hidden layer in one pass


def _network_reference(T1, T2, X, Y, squared, scale):
    """The fused pass's outputs by plain float64 numpy: the summed cost, Δ^(1), Δ^(2)."""
    T1, T2, X, Y = (a.astype(np.float64) for a in (T1, T2, X, Y))
    a2 = expit(X @ T1[:, 1:].T + T1[:, 0])
    z3 = a2 @ T2[:, 1:].T + T2[:, 0]
    h = expit(z3)
    if squared:
        cost = 0.5 * np.sum((h - Y) ** 2)
        d3 = (h - Y) * h * (1 - h) * scale
    else:
        cost = np.sum(np.logaddexp(0, -z3) * Y + np.logaddexp(0, z3) * (1 - Y))
        d3 = (h - Y) * scale
    G2 = d3.T @ np.hstack([np.ones((len(X), 1)), a2])
    d2 = (d3 @ T2[:, 1:]) * a2 * (1 - a2)
    G1 = d2.T @ np.hstack([np.ones((len(X), 1)), X])
    return cost, G1, G2


def _flat(thetas):
    """Θ^(1), Θ^(2) unrolled in float64, and their gradient's layers as views of a flat vector."""
    theta = nnopt.unroll([T.astype(float) for T in thetas])
    g = np.full(theta.size, np.nan)
    return theta, g, nnopt.reshape(g, [thetas[0].shape[1] - 1, *(T.shape[0] for T in thetas)])


def _fused(T1, T2, X, Y, squared, scale, lam_m=0.0):
    theta, g, out = _flat([T1, T2])   # the gradient in float64 in either dtype
    keep = np.full(theta.size + _accel.SAMPLE, np.nan)
    cost, squares, finite, weights_finite = _accel.network(
        theta, X, Y, (X.shape[1], T1.shape[0], T2.shape[0]), squared, scale, lam_m, out=g, keep=keep)
    # and a copy of θ, then the kernel's sample of X: 64 values spread over X
    # (its API keeps them; nnopt no longer uses them)
    assert np.array_equal(keep[:theta.size], theta)
    i = np.arange(_accel.SAMPLE)
    m, n = X.shape
    assert np.array_equal(keep[theta.size:], X[i * max(1, m // _accel.SAMPLE) % m, (n // 2 + 97 * i) % n])
    assert weights_finite
    # λ/m·Θ off the bias column, and Σ Θ² over the same weights
    assert squares == pytest.approx(np.sum(T1[:, 1:].astype(float) ** 2)
                                    + np.sum(T2[:, 1:].astype(float) ** 2), rel=1e-12)
    return cost, finite, out


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("squared", [False, True], ids=["cross_entropy", "squared_error"])
@pytest.mark.parametrize("m, n, s2, K", [(1, 1, 1, 1), (7, 5, 9, 3), (500, 17, 25, 10),
                                         (500, 40, 33, 17), (193, 16, 8, 16), (385, 8, 17, 1),
                                         (2000, 33, 25, 10)])
def test_the_fused_pass_matches_numpy(m, n, s2, K, squared, dtype, many_threads):
    # 2000 rows: 11 chunks in 8 groups, some of two chunks
    rng = np.random.default_rng(m + n + s2 + K)
    X = rng.standard_normal((m, n)).astype(dtype)
    T1 = (0.5 * rng.standard_normal((s2, n + 1))).astype(dtype)
    T2 = (2 * rng.standard_normal((K, s2 + 1))).astype(dtype)
    Y = np.eye(K, dtype=dtype)[rng.integers(0, K, m)]
    lam_m = 0.7 / m
    cost, finite, (G1, G2) = _fused(T1, T2, X, Y, squared, 1.0 / m, lam_m)
    cost0, G1_0, G2_0 = _network_reference(T1, T2, X, Y, squared, 1.0 / m)
    G1_0[:, 1:] += lam_m * T1[:, 1:]
    G2_0[:, 1:] += lam_m * T2[:, 1:]
    assert finite
    tol = TOL[dtype] * 10
    assert cost == pytest.approx(cost0, rel=tol)
    assert np.abs(G2 - G2_0).max() <= tol * np.abs(G2_0).max()
    assert np.abs(G1 - G1_0).max() <= tol * np.abs(G1_0).max()


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("squared", [False, True], ids=["cross_entropy", "squared_error"])
def test_the_fused_cost_and_output_error_keep_their_digits_where_sigmoids_saturate(squared, dtype):
    # one example, one output unit whose z^(3) is its bias: the cost term
    # and δ^(3) (Δ^(2)'s bias column, with scale 1) for z over the whole range
    ulp = np.finfo(dtype).eps
    tiny = np.finfo(dtype).tiny
    X = np.ones((1, 3), dtype=dtype)
    T1 = np.zeros((2, 4), dtype=dtype)
    for z in [0.0, 1e-30, -1e-8, 0.3, -1.0, 2.5, -7.0, 15.0, -30.0, 40.0, -60.0, 85.0, -300.0, 700.0]:
        for y in (0.0, 1.0):
            T2 = np.array([[z, 0.0, 0.0]], dtype=dtype)
            cost, _, (_, out) = _fused(T1, T2, X, np.array([[y]], dtype=dtype), squared, 1.0)
            zz = float(dtype(z))
            # h − y as −g(−z) for y = 1: not 0 where h rounds to 1
            r = expit(zz) if y == 0 else -expit(-zz)
            g1 = expit(zz) * expit(-zz)
            expected_cost = 0.5 * r * r if squared else (np.log1p(np.exp(-abs(zz))) + max(zz if y == 0 else -zz, 0.0))
            expected_delta = r * g1 if squared else r
            for got, want in ((cost, expected_cost), (out[0, 0], expected_delta)):
                want = float(dtype(want))  # what the dtype can hold (0 below its range)
                assert abs(got - want) <= 4 * ulp * abs(want) + 2 * tiny, (z, y, got, want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_the_fused_sums_are_the_same_bits_for_any_threads(dtype, monkeypatch):
    rng = np.random.default_rng(12)
    m, n, s2, K = 3000, 40, 25, 10
    X = rng.standard_normal((m, n)).astype(dtype)
    T1 = (0.3 * rng.standard_normal((s2, n + 1))).astype(dtype)
    T2 = rng.standard_normal((K, s2 + 1)).astype(dtype)
    Y = np.eye(K, dtype=dtype)[rng.integers(0, K, m)]
    monkeypatch.setattr(_accel, "_WORK_PER_THREAD", 1)
    results = []
    for cores in (1, 2, 3, 2, 2, 2):
        monkeypatch.setattr(_accel, "_CORES", cores)
        results.append(_fused(T1, T2, X, Y, False, 1.0 / m))
    for cost, _, (G1, G2) in results[1:]:
        assert cost == results[0][0]
        assert np.array_equal(G1, results[0][2][0]) and np.array_equal(G2, results[0][2][1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
@pytest.mark.parametrize("matrix_targets", [False, True], ids=["indices", "matrix"])
def test_an_evaluation_is_the_same_through_the_fused_pass_or_not(matrix_targets, loss, dtype,
                                                                   monkeypatch):
    X, y = nnopt.load_digits()
    X, y = X[:700], y[:700]
    target = np.eye(10)[y] if matrix_targets else y
    sizes = (784, 25, 10)
    theta = random_init(sizes, seed=5)
    objective = Objective(X, target, 0.7, sizes, loss=loss, dtype=dtype)
    assert _accel.fuses(objective.X, sizes)
    J, grad = objective(theta)
    monkeypatch.setattr(_accel, "fuses", lambda X, sizes: False)
    J0, grad0 = Objective(X, target, 0.7, sizes, loss=loss, dtype=dtype)(theta)
    assert J == pytest.approx(J0, rel=1e-6 if dtype == np.float32 else 1e-13)
    assert np.linalg.norm(grad - grad0) <= TOL[dtype] * 10 * np.linalg.norm(grad0)


def _digits_problem(m, dtype, seed):
    X, y = nnopt.load_digits()
    X = np.ascontiguousarray(X[:m], dtype=dtype)
    T1, T2 = (T.astype(dtype) for T in nnopt.reshape(random_init((784, 25, 10), seed=seed),
                                                     (784, 25, 10)))
    return [T1, T2], X, np.eye(10, dtype=dtype)[y[:m]]


def _fused_on_two_threads(thetas, X, Y, monkeypatch):
    monkeypatch.setattr(_accel, "_CORES", 2)
    monkeypatch.setattr(_accel, "_WORK_PER_THREAD", 1)
    theta, g, out = _flat(thetas)
    keep = np.empty(theta.size + _accel.SAMPLE)
    cost, squares, finite, _ = _accel.network(theta, X, Y, (X.shape[1], len(thetas[0]), len(thetas[1])),
                                              False, 1 / len(X), 0.1, out=g, keep=keep)
    assert np.array_equal(keep[:theta.size], theta)
    return cost, out


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_the_fused_pass_from_several_python_threads_at_once(dtype, monkeypatch):
    # one call holds the kernels' pooled workers; the others start threads
    # of their own: every call must still get its own problem's result
    problems = [_digits_problem(600 + 100 * i, dtype, seed=i) for i in range(4)]
    expected = [_fused_on_two_threads(*p, monkeypatch) for p in problems]
    got = [[] for _ in problems]

    def work(i):
        for _ in range(5):
            got[i].append(_fused_on_two_threads(*problems[i], monkeypatch))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(problems))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for want, results in zip(expected, got):
        assert len(results) == 5
        for cost, out in results:
            assert cost == want[0]
            assert all(np.array_equal(a, b) for a, b in zip(out, want[1]))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_the_fused_pass_works_in_a_child_forked_after_a_call(monkeypatch):
    # the child has none of the parent's pooled workers; waiting for them
    # would hang, so the child is given 60 s and then killed
    thetas, X, Y = _digits_problem(800, np.float64, seed=3)
    expected = _fused_on_two_threads(thetas, X, Y, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, Python ≥ 3.12
        pid = os.fork()
    if pid == 0:
        try:
            cost, out = _fused_on_two_threads(thetas, X, Y, monkeypatch)
            same = cost == expected[0] and all(np.array_equal(a, b)
                                               for a, b in zip(out, expected[1]))
            os._exit(0 if same else 1)
        finally:
            os._exit(2)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child's evaluation did not finish in 60 s")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_fused_pass_reports_nonfinite_data_by_name():
    X, y = nnopt.load_digits()
    X = X[:300].copy()
    X[17, 40] = np.nan
    sizes = (784, 25, 10)
    with pytest.raises(ValueError, match="X"):
        cost_and_gradient(random_init(sizes, seed=0), X, y[:300], 1.0, sizes)


def test_the_fused_pass_refuses_buffers_too_short_for_the_sizes():
    X, theta = np.ones(15), np.zeros(8 + 9)       # m=5, n=3, s2=2, K=3
    Y, G, keep = np.zeros(15), np.empty(8 + 9), np.empty(8 + 9 + _accel.SAMPLE)
    args = (5, 3, 2, 3, False, 1, False, 0.2, 0.0)
    for i, name in enumerate(["X", "theta", "Y", "G", "keep"]):
        buffers = [X, theta, Y, G, keep]
        buffers[i] = buffers[i][:-1]
        with pytest.raises(ValueError, match=f"buffer {name} "):
            _accel._kernels.network(*buffers, *args)
    with pytest.raises(ValueError, match="inconsistent sizes"):
        _accel._kernels.network(X, theta, Y, G, keep, *args[:5], 0, *args[6:])
    # and the right lengths are taken
    finite, cost, squares, weights_finite = _accel._kernels.network(X, theta, Y, G, keep, *args)
    assert finite and weights_finite and cost == pytest.approx(15 * np.log(2))


@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
def test_a_network_without_hidden_layer_is_the_same_with_and_without_kernels(loss, monkeypatch):
    # there z^(L) comes from the kernels one example per row, a Fortran-ordered
    # (K, m) array, and the losses find each example's target unit in it
    X, y = nnopt.load_digits()
    X, y = X[:400], y[:400]
    sizes = (784, 10)
    theta = random_init(sizes, seed=6)
    J, grad = Objective(X, y, 0.5, sizes, loss=loss)(theta)
    monkeypatch.setattr(_accel, "enabled", False)
    J0, grad0 = Objective(X, y, 0.5, sizes, loss=loss)(theta)
    assert J == pytest.approx(J0, rel=1e-13)
    np.testing.assert_allclose(grad, grad0, rtol=1e-10, atol=1e-15)


def test_switching_the_kernels_off_takes_effect_on_the_next_call(monkeypatch):
    passes = []
    network = _accel.network
    monkeypatch.setattr(_accel, "network", lambda *a, **k: passes.append(1) or network(*a, **k))
    X, y = nnopt.load_digits()
    X, y = X[:300], y[:300]
    sizes = (784, 25, 10)
    theta = random_init(sizes, seed=7)
    expected = cost_and_gradient(theta, X, y, 1.0, sizes)
    assert passes == [1]
    monkeypatch.setattr(_accel, "enabled", False)
    J, grad = cost_and_gradient(theta, X, y, 1.0, sizes)
    assert passes == [1]  # numpy's path
    assert J == pytest.approx(expected[0], rel=1e-13) and J != expected[0]
    monkeypatch.setattr(_accel, "enabled", True)
    assert cost_and_gradient(theta, X, y, 1.0, sizes)[0] == expected[0]
    assert passes == [1, 1]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_articles_way_and_the_objective_use_the_kernels_pass(dtype, monkeypatch):
    # cost is forward propagation alone (no pass of the kernels);
    # regularized_gradient is one pass; Objective.cost then .gradient at the
    # same θ is one pass, with cost_and_gradient's bits
    from nnopt.backprop import cost, forward_cost, regularized_gradient
    passes = []
    network = _accel.network
    monkeypatch.setattr(_accel, "network", lambda *a, **k: passes.append(1) or network(*a, **k))
    X, y = nnopt.load_digits()
    X, y = np.ascontiguousarray(X[:700], dtype=dtype), y[:700]
    sizes = (784, 25, 10)
    theta = random_init(sizes, seed=5)
    J = cost(theta, X, y, 1.0, sizes)
    assert passes == []
    g = regularized_gradient(theta, X, y, 1.0, sizes)
    assert len(passes) == 1
    J2, g2 = cost_and_gradient(theta, X, y, 1.0, sizes)
    assert len(passes) == 2 and np.array_equal(g, g2)
    assert J == pytest.approx(J2, rel=1e-12 if dtype == np.float64 else 1e-5)
    assert forward_cost(theta, X, y, 1.0, sizes) == J
    obj = Objective(X, y, 1.0, sizes)
    assert obj.cost(theta) == J2 and np.array_equal(obj.gradient(theta), g2)
    assert len(passes) == 3
