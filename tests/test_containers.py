"""One rule for every entry point: what `train` accepts as X, every function taking X accepts.

The containers: an ndarray in C or Fortran order, a list of rows, a pandas
DataFrame, a `numpy.memmap` (read block by block), and a tensor-like object
(the array protocol and a dtype numpy does not know, as a PyTorch tensor
has). Each gives the ndarray's result exactly: the same blocks, summed in
the same order. A NaN or inf is reported at its row and column of X, in
every container. Dask arrays, which need a running cluster, are covered in
tests/test_dask.py.
"""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd  # the test extra installs it: a DataFrame is one of the containers
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnopt
from nnopt._problem import block_rows
from nnopt.network import Network


SIZES = (784, 12, 10)


class TensorLike:
    """What makes a PyTorch tensor awkward: a shape, a slicing __getitem__ and a dtype
    numpy cannot interpret (nnopt once read such objects block by block and failed on
    the dtype), plus the array protocol, through which numpy converts it."""

    def __init__(self, values):
        self._values = np.asarray(values)
        self.shape = self._values.shape
        self.dtype = "tensorlike.float64"  # np.dtype() raises TypeError on it, as on torch.float64

    def __getitem__(self, key):
        return TensorLike(self._values[key])

    def __array__(self, dtype=None, copy=None):
        return self._values if dtype is None else self._values.astype(dtype)

    def __len__(self):
        return self.shape[0]


def _containers(X, tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X)
    return {
        "ndarray": X,
        "fortran": np.asfortranarray(X),
        "list": X.tolist(),
        "dataframe": pd.DataFrame(X),
        "memmap": np.load(path, mmap_mode="r"),
        "tensor": TensorLike(X),
    }


@pytest.fixture(scope="module")
def digits():
    X, y = nnopt.load_digits()
    # more rows than one block, and no multiple of it: the last block is short
    m = block_rows(Network(SIZES), np.dtype(np.float64)) * 2 + 37
    return np.ascontiguousarray(X[:m]), y[:m]


def test_every_container_trains_the_same_theta_bit_for_bit(digits, tmp_path):
    X, y = digits
    models = {name: nnopt.train(data, y, maxiter=5, hidden_layer_sizes=SIZES[1:-1], progress=False)
              for name, data in _containers(X, tmp_path).items()}
    for name, model in models.items():
        assert model.n_iter == 5
        np.testing.assert_array_equal(model.theta, models["ndarray"].theta, err_msg=name)


def test_every_function_taking_X_gives_the_ndarray_result(digits, tmp_path):
    X, y = digits
    X, y = X[:700], y[:700]
    theta = nnopt.random_init(SIZES, seed=3)
    v = np.random.default_rng(4).standard_normal(theta.size)
    model = nnopt.train(X, y, maxiter=2, hidden_layer_sizes=SIZES[1:-1], progress=False)

    def results(data):
        objective = nnopt.Objective(data, y, 1.0, SIZES)
        return [
            nnopt.cost(theta, data, y, 1.0, SIZES),
            *nnopt.cost_and_gradient(theta, data, y, 1.0, SIZES),
            nnopt.regularized_gradient(theta, data, y, 1.0, SIZES),
            *objective(theta),
            objective.hessp(theta, v),
            nnopt.hessian_vector_product(theta, v, data, y, 1.0, SIZES),
            nnopt.gauss_newton_product(theta, v, data, y, 1.0, SIZES),
            model.predict_proba(data), model.predict(data), model.score(data, y),
        ]

    expected = results(X)
    for name, data in _containers(X, tmp_path).items():
        for i, (got, want) in enumerate(zip(results(data), expected)):
            np.testing.assert_array_equal(got, want, err_msg=f"{name}, result {i}")


def test_newton_cg_trains_on_a_memmap_as_in_memory(digits, tmp_path):
    # issue 30, defect 8: the products took a memmap, train's Newton-CG refused it
    X, y = digits
    path = tmp_path / "X.npy"
    np.save(path, X)
    kw = dict(method="Newton-CG", maxiter=2, hidden_layer_sizes=(6,), progress=False)
    on_disk = nnopt.train(np.load(path, mmap_mode="r"), y, **kw)
    np.testing.assert_array_equal(on_disk.theta, nnopt.train(X, y, **kw).theta)


@given(row=st.integers(0, 59), column=st.integers(0, 783), value=st.sampled_from([np.nan, np.inf, -np.inf]),
       kind=st.sampled_from(["ndarray", "fortran", "list", "dataframe", "memmap", "tensor"]))
def test_a_bad_value_is_reported_at_its_row_and_column_in_every_container(row, column, value, kind):
    rng = np.random.default_rng(row * 1000 + column)
    X = rng.random((60, 784))
    X[row, column] = value
    y = rng.integers(0, 10, 60)
    theta = nnopt.random_init(SIZES, seed=0)
    with tempfile.TemporaryDirectory() as folder:
        # a small working memory: blocks of a few rows, the bad one inside one
        data = _containers(X, Path(folder))[kind]
        pattern = rf"X must be finite.*index \({row}, {column}\)"
        with pytest.raises(ValueError, match=pattern):
            nnopt.cost(theta, data, y, 1.0, SIZES, working_memory=0.002)
        with pytest.raises(ValueError, match=pattern):
            nnopt.train(data, y, maxiter=1, progress=False)
        del data  # the memmap, before its folder goes


def test_a_real_tensor_is_accepted_where_torch_is_installed(digits):
    # the defect as reported; TensorLike above stands for it where torch is absent
    torch = pytest.importorskip("torch", reason="PyTorch is not in the test extra")
    X, y = digits
    X, y = X[:300], y[:300]
    theta = nnopt.random_init(SIZES, seed=1)
    expected = nnopt.cost_and_gradient(theta, X, y, 1.0, SIZES)
    got = nnopt.cost_and_gradient(theta, torch.from_numpy(X), y, 1.0, SIZES)
    assert got[0] == expected[0]
    np.testing.assert_array_equal(got[1], expected[1])
