"""A Dask array X, evaluated block by block on a local cluster of 2 worker processes."""

import numpy as np

from nnopt._problem import block_rows
from nnopt.network import Network
import pytest

import nnopt
from nnopt import Objective, cost, cost_and_gradient, random_init

da = pytest.importorskip("dask.array", reason="the dask extra (in the test extra)")
distributed = pytest.importorskip("distributed", reason="the dask extra (in the test extra)")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def digits():
    X, y = nnopt.load_digits()
    return X[:1500], y[:1500]


@pytest.mark.parametrize("kwargs", [
    {},
    {"activation": "relu", "output": "softmax", "dtype": np.float32},
    {"activation": "tanh", "sample_weight": np.arange(1500) % 4},
], ids=["course", "relu-softmax-f32", "tanh-weighted"])
def test_a_dask_X_gives_the_in_memory_J_and_gradient(client, digits, kwargs):
    X, y = digits
    sizes = (784, 20, 10)
    theta = random_init(sizes, seed=3)
    expected = cost_and_gradient(theta, X, y, 1.0, sizes, **kwargs)
    Xd = da.from_array(X, chunks=(400, 784))  # 4 blocks, the last short
    tol = 1e-5 if kwargs.get("dtype") == np.float32 else 1e-12
    got = cost_and_gradient(theta, Xd, y, 1.0, sizes, **kwargs)
    assert got[0] == pytest.approx(expected[0], rel=tol)
    np.testing.assert_allclose(got[1], expected[1], rtol=tol * 100, atol=tol * 1e-2)
    assert cost(theta, Xd, da.from_array(y, chunks=400), 1.0, sizes, **kwargs) == pytest.approx(
        expected[0], rel=tol)


def test_the_objective_sends_theta_once_and_keeps_the_blocks_on_the_workers(client, digits):
    X, y = digits
    sizes = (784, 15, 10)
    Xd = da.from_array(X, chunks=(500, 392))  # column chunks too: joined into whole rows
    obj = Objective(Xd, y, 0.5, sizes)
    theta = random_init(sizes, seed=4)
    ref = Objective(X, y, 0.5, sizes)
    for t in (theta, theta * 0.5):
        J, g = obj(t)
        J_ref, g_ref = ref(t)
        assert J == pytest.approx(J_ref, rel=1e-12)
        np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-14)
    assert obj.n_evals == 2
    # the blocks live on both workers
    where = client.who_has(obj.problem._chunks)
    assert len({w for ws in where.values() for w in ws}) == 2


def test_train_on_a_dask_X_gives_the_same_model(client, digits):
    X, y = digits
    # L-BFGS-B: TNC's Hessian products by differences of gradients magnify the
    # rounding of sums taken in another order (blocks) a hundred-million-fold
    a = nnopt.train(X, y, maxiter=10, method="L-BFGS-B")
    b = nnopt.train(da.from_array(X, chunks=(300, 784)), y, maxiter=10, method="L-BFGS-B")
    np.testing.assert_allclose(b.theta, a.theta, rtol=1e-9, atol=1e-12)
    assert b.n_iter == a.n_iter


def test_nan_in_a_dask_X_is_refused(client, digits):
    X, y = digits
    X = X.copy()
    X[1234, 100] = np.nan
    # named by its row in X, not in its chunk (issue 30, defect 2)
    with pytest.raises(ValueError, match=r"X must be finite.*index \(1234, 100\)"):
        Objective(da.from_array(X, chunks=(500, 784)), y, 1.0, (784, 5, 10))


def test_unknown_chunk_sizes_are_refused_saying_what_to_do(client, digits):
    # X[mask] has chunks of unknown size (issue 30, defect 3): the message names
    # the cause and the fix, and does not blame y
    X, y = digits
    Xd = da.from_array(X, chunks=(500, 784))
    mask = da.from_array(y % 2 == 0, chunks=500)
    with pytest.raises(ValueError, match=r"chunk sizes are unknown.*compute_chunk_sizes\(\)"):
        Objective(Xd[mask], y[y % 2 == 0], 1.0, (784, 5, 10))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunks_equal_to_the_blocks_give_the_same_sums_as_in_memory(client, dtype):
    # one evaluation path: a chunk is evaluated as a block is, and the parts are
    # added in the same order, so chunks of the block size give the same sums
    # (to rounding only: Dask's workers run BLAS on one thread, which may split
    # a product's work, and so its additions, otherwise than two threads do)
    rng = np.random.default_rng(3)
    sizes = (784, 25, 10)
    B = block_rows(Network(sizes), np.dtype(dtype))
    X = rng.random((2 * B + 17, 784)).astype(dtype)  # under Dask's 10 MiB graph warning
    y = rng.integers(0, 10, X.shape[0])
    theta = random_init(sizes, seed=1)
    ref = cost_and_gradient(theta, X, y, 1.0, sizes)
    got = cost_and_gradient(theta, da.from_array(X, chunks=(B, 784)), y, 1.0, sizes)
    tol = 1e-12 if dtype == np.float64 else 1e-6  # float32's products round at 6e-8
    assert got[0] == pytest.approx(ref[0], rel=tol, abs=0)
    np.testing.assert_allclose(got[1], ref[1], rtol=tol, atol=tol * 1e-3)


def test_chunks_equal_to_the_blocks_train_the_same_model(client, digits):
    X, y = digits
    B = block_rows(Network((784, 25, 10)), np.dtype(np.float64))
    a = nnopt.train(X, y, maxiter=10, method="L-BFGS-B")
    b = nnopt.train(da.from_array(X, chunks=(B, 784)), y, maxiter=10, method="L-BFGS-B")
    np.testing.assert_allclose(b.theta, a.theta, rtol=1e-9, atol=1e-12)


def test_sgd_on_a_dask_X_says_what_to_do(client, digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"mini-batches of a Dask X are not supported"):
        nnopt.train(da.from_array(X, chunks=(500, 784)), y, method="sgd", maxiter=1)
