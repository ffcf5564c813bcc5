"""Evaluations in blocks of rows: bounded memory, and X read from a memmap."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnopt
from nnopt import Objective, cost, cost_and_gradient, random_init
from nnopt._problem import block_rows
from nnopt.network import Network


def _digits(m=1200):
    X, y = nnopt.load_digits()
    return X[:m], y[:m]


@pytest.mark.parametrize("kwargs", [
    {},                                                     # the course network
    {"activation": "relu", "output": "softmax"},
    {"activation": "tanh", "output": "sigmoid", "sample_weight": np.arange(1200) % 3},
], ids=["course", "relu-softmax", "tanh-weighted"])
@pytest.mark.parametrize("sizes", [(784, 25, 10), (784, 30, 20, 10)], ids=["one_hidden", "two_hidden"])
def test_blocks_give_the_same_J_and_gradient(sizes, kwargs):
    X, y = _digits()
    theta = random_init(sizes, seed=2)
    whole = cost_and_gradient(theta, X, y, 1.0, sizes, **kwargs)
    # 0.05 MiB: blocks of a few dozen rows, the last one short (1200 is no multiple)
    rows = block_rows(Network(sizes, kwargs.get("activation", "sigmoid"), kwargs.get("output", "sigmoid")),
                      np.float64, 0.05)
    assert 1 < rows < 1200 and 1200 % rows
    blocked = cost_and_gradient(theta, X, y, 1.0, sizes, working_memory=0.05, **kwargs)
    assert blocked[0] == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(blocked[1], whole[1], rtol=1e-10, atol=1e-13)
    assert cost(theta, X, y, 1.0, sizes, working_memory=0.05, **kwargs) == pytest.approx(whole[0], rel=1e-12)


def test_a_block_of_one_row():
    X, y = _digits(40)
    sizes = (784, 6, 10)
    theta = random_init(sizes, seed=3)
    whole = cost_and_gradient(theta, X, y, 0.5, sizes)
    one = cost_and_gradient(theta, X, y, 0.5, sizes, working_memory=1e-9)
    assert block_rows(Network(sizes), np.float64, 1e-9) == 1
    assert one[0] == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(one[1], whole[1], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("sizes", [(784, 25, 10), (784, 100, 10), (784, 300, 10), (784, 1000, 10),
                                   (20000, 300, 10), (50, 400, 400, 3), (2, 5, 1)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocks_hold_4_mib_or_enough_rows_that_each_product_reads_4_times_what_it_writes(sizes, dtype):
    rows = block_rows(Network(sizes), np.dtype(dtype))
    itemsize = np.dtype(dtype).itemsize
    assert rows % 64 == 0 and 256 <= rows <= 8192
    # a row of X and three arrays of each later layer's width
    row_bytes = (sizes[0] + 3 * sum(sizes[1:])) * itemsize
    if sizes[1] <= 100:  # narrow: the write bound is below the block that fills 4 MiB, which decides
        assert rows == min(8192, max(256, 4 * 2**20 // row_bytes // 64 * 64))
    if rows < 8192:
        for s, t in zip(sizes, sizes[1:]):
            # δᵀa over the block reads rows·(s + t) values and writes s·t sums
            assert rows * (s + t) >= 4 * s * t
        # and no taller than either the 4 MiB block or the write bound asks, rounded to 64 rows
        needed = max(4 * s * t / (s + t) for s, t in zip(sizes, sizes[1:]))
        assert rows < max(256, 4 * 2**20 / row_bytes, needed) + 64


def test_working_memory_is_checked():
    X, y = _digits(20)
    theta = random_init((784, 5, 10), seed=0)
    with pytest.raises(ValueError, match="working_memory must be a finite number > 0"):
        cost(theta, X, y, 1.0, (784, 5, 10), working_memory=0)


@pytest.fixture
def memmapped(tmp_path):
    X, y = _digits()
    path = tmp_path / "X.f32"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    return np.memmap(path, dtype=np.float32, mode="r", shape=X.shape), X.astype(np.float32), y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_memmap_gives_the_in_memory_result(memmapped, dtype):
    mm, X, y = memmapped
    sizes = (784, 20, 10)
    theta = random_init(sizes, seed=4)
    expected = cost_and_gradient(theta, X, y, 1.0, sizes, dtype=dtype)
    for working_memory in (None, 0.1):
        got = cost_and_gradient(theta, mm, y, 1.0, sizes, dtype=dtype, working_memory=working_memory)
        tol = 1e-12 if dtype == np.float64 else 1e-6
        assert got[0] == pytest.approx(expected[0], rel=tol)
        np.testing.assert_allclose(got[1], expected[1], rtol=tol * 100, atol=tol * 1e-2)
    obj = Objective(mm, y, 1.0, sizes, dtype=dtype, working_memory=0.1)
    assert isinstance(obj.X, np.memmap)  # bound as it is, not read whole
    J, g = obj(theta)
    assert J == pytest.approx(expected[0], rel=1e-12 if dtype == np.float64 else 1e-6)


def test_train_on_a_memmap_gives_the_same_model(memmapped):
    mm, X, y = memmapped
    a = nnopt.train(X, y, maxiter=8, dtype=np.float64, working_memory=0.2)
    b = nnopt.train(mm, y, maxiter=8, dtype=np.float64, working_memory=0.2)
    np.testing.assert_allclose(b.theta, a.theta, rtol=1e-9, atol=1e-12)


def test_a_memmap_with_nan_is_refused_naming_the_place(tmp_path):
    path = tmp_path / "X.f64"
    mm = np.memmap(path, dtype=np.float64, mode="w+", shape=(300, 4))
    mm[:] = 0.5
    mm[217, 3] = np.nan
    mm.flush()
    with pytest.raises(ValueError, match=r"X must be finite, but it holds 1 NaN or inf value\(s\), the first at index \(217, 3\): nan"):
        Objective(np.memmap(path, dtype=np.float64, mode="r", shape=(300, 4)), np.arange(300) % 2, 1.0,
                  (4, 3, 2), working_memory=0.001)


_MEASURE = textwrap.dedent("""
    import sys
    import numpy as np
    import nnopt

    def rss_peak():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

    m = int(sys.argv[1])
    rng = np.random.default_rng(0)
    X = rng.random((m, 784), dtype=np.float32)
    y = rng.integers(0, 10, m)
    sizes = (784, 300, 10)
    theta = nnopt.random_init(sizes, seed=0)
    obj = nnopt.Objective(X, y, 1.0, sizes)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak starts again from the memory in use now: X and the rest
    base = rss_peak()
    obj(theta)
    print((rss_peak() - base) / 2**20)
""")


@pytest.mark.parametrize("m", [60_000, 120_000])
def test_one_evaluation_holds_at_most_100_MiB_above_X(m):
    # a 784-300-10 network on float32 rows, as the issue measures it; without
    # blocks the activations alone would be 3·310·4 bytes a row (214 MiB at 60,000)
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(m)], capture_output=True, text=True,
                         check=True)
    extra = float(out.stdout.strip())
    assert extra <= 100, f"{extra:.1f} MiB above X at m = {m}"
