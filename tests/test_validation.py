"""Every bad input to the cost and gradient raises its own clear error.

Each case starts from a valid call and breaks one argument; the message must
name the argument and quote the given (and, where there is one, the expected)
value.
"""

import warnings

import numpy as np
import pytest
from scipy import sparse

from nnopt.backprop import cost, cost_and_gradient, regularized_gradient

FUNCS = [cost, regularized_gradient, cost_and_gradient]
SIZES = (3, 5, 3)  # 38 parameters


def _valid():
    rng = np.random.default_rng(30)
    return {
        "theta": rng.uniform(-1, 1, size=38),
        "X": rng.standard_normal((5, 3)),
        "y": np.array([0, 1, 2, 1, 0]),
        "lam": 1.0,
        "layer_sizes": SIZES,
        "loss": "cross_entropy",
    }


def _with_nonfinite(value, where=(1, 2)):
    X = _valid()["X"]
    X[where] = value
    return X


CASES = {
    # X
    "X_1d": ("X", np.zeros(3), ValueError,
             r"X must be 2-D with shape \(m, n\); got 1-D shape \(3,\).*X\.reshape\(1, -1\)"),
    "X_3d": ("X", np.zeros((5, 3, 1)), ValueError, r"X must be 2-D with shape \(m, n\); got 3-D shape \(5, 3, 1\)"),
    "X_empty_rows": ("X", np.zeros((0, 3)), ValueError, r"X is empty: got shape \(0, 3\)"),
    "X_empty_cols": ("X", np.zeros((5, 0)), ValueError, r"X is empty: got shape \(5, 0\)"),
    "X_nan": ("X", _with_nonfinite(np.nan), ValueError,
              r"X must be finite, but it holds 1 NaN or inf value\(s\), the first at index \(1, 2\): .*nan"),
    "X_inf": ("X", _with_nonfinite(-np.inf, (4, 0)), ValueError,
              r"X must be finite, but it holds 1 NaN or inf value\(s\), the first at index \(4, 0\): .*-inf"),
    "X_columns": ("X", np.zeros((5, 4)), ValueError,
                  r"X has 4 columns, but the network's input layer has 3 units \(layer_sizes\[0\]\)"),
    "X_strings": ("X", np.full((5, 3), "a"), TypeError, r"X must hold numbers; got an array of dtype <U1"),
    "X_complex": ("X", np.zeros((5, 3), dtype=complex), TypeError, r"X must hold real numbers; got dtype complex128"),
    "X_sparse": ("X", sparse.csr_matrix(np.eye(5, 3)), TypeError,
                 r"X is a scipy\.sparse csr matrix of shape \(5, 3\); sparse matrices are not supported; "
                 r"use X\.toarray\(\)"),
    # y
    "y_short": ("y", np.array([0, 1, 2, 1]), ValueError, r"y has 4 entries but X has m = 5 rows"),
    "y_long": ("y", np.zeros((6, 3)), ValueError, r"y has 6 entries but X has m = 5 rows"),
    "y_negative": ("y", np.array([0, 1, -1, 1, 0]), ValueError,
                   r"class index -1 in y is outside 0\.\.2 \(the output layer has K = 3 units\)"),
    "y_too_big": ("y", np.array([0, 1, 5, 1, 0]), ValueError,
                  r"class index 5 in y is outside 0\.\.2 \(the output layer has K = 3 units\)"),
    "y_huge_float": ("y", np.array([0.0, 1.0, 1e300, 1.0, 0.0]), ValueError,
                     r"class index 1e\+300 in y is outside 0\.\.2"),
    "y_huge_uint": ("y", np.array([0, 1, 2**64 - 1, 1, 0], dtype=np.uint64), ValueError,
                    r"class index 18446744073709551615 in y is outside 0\.\.2"),
    "y_course_labels": ("y", np.array([1, 2, 3, 1, 2]), ValueError,
                        r"class index 3 in y is outside 0\.\.2.*shifted to 0\.\.K-1"),
    "y_non_integer": ("y", np.array([0.0, 1.5, 2.0, 1.0, 0.0]), ValueError,
                      r"y given as a 1-D array must hold whole class indices 0\.\.K-1; got 1\.5 at index 1"),
    "y_nan_index": ("y", np.array([0.0, 1.0, 2.0, np.nan, 0.0]), ValueError,
                    r"y given as a 1-D array must hold whole class indices 0\.\.K-1; got nan at index 3"),
    "y_wrong_K": ("y", np.eye(4)[[0, 1, 2, 3, 0]], ValueError,
                  r"y is an \(m, K\) target matrix with K = 4 columns, "
                  r"but the output layer has 3 units \(layer_sizes\[-1\]\)"),
    "y_outside_01": ("y", 2 * np.eye(3)[[0, 1, 2, 1, 0]], ValueError,
                     r"targets in y must lie in \[0, 1\]; got values from 0\.0 to 2\.0"),
    "y_3d": ("y", np.zeros((5, 3, 2)), ValueError,
             r"y must be 1-D \(class indices\) or 2-D \(m, K\); got shape \(5, 3, 2\)"),
    "y_strings": ("y", np.array(["a", "b", "c", "a", "b"]), TypeError, r"y must hold numbers.*got dtype <U1"),
    "y_sparse": ("y", sparse.coo_matrix(np.eye(3)[[0, 1, 2, 1, 0]]), TypeError,
                 r"y is a scipy\.sparse coo matrix of shape \(5, 3\); sparse matrices are not supported; "
                 r"use y\.toarray\(\)"),
    "y_none": ("y", None, TypeError, r"y must be an array of class indices or an \(m, K\) target matrix; got None"),
    # theta
    "theta_short": ("theta", np.zeros(37), ValueError,
                    r"theta has length 37, but layer_sizes \(3, 5, 3\) needs 38 parameters"),
    "theta_long": ("theta", np.zeros(40), ValueError,
                   r"theta has length 40, but layer_sizes \(3, 5, 3\) needs 38 parameters"),
    "theta_2d": ("theta", np.zeros((2, 19)), ValueError, r"theta must be a 1-D parameter vector.*got shape \(2, 19\)"),
    "theta_nan": ("theta", np.r_[np.zeros(10), np.nan, np.zeros(27)], ValueError,
                  r"theta must be finite.*the first at index \(10,\)"),
    # layer_sizes
    "sizes_one_entry": ("layer_sizes", (3,), ValueError,
                        r"layer_sizes needs at least 2 entries \(input and output layer\); got \(3,\)"),
    "sizes_empty": ("layer_sizes", (), ValueError, r"layer_sizes needs at least 2 entries.*got \(\)"),
    "sizes_zero": ("layer_sizes", (3, 0, 3), ValueError,
                   r"every entry of layer_sizes must be at least 1; got \(3, 0, 3\)"),
    "sizes_negative": ("layer_sizes", (3, -5, 3), ValueError,
                       r"every entry of layer_sizes must be at least 1; got \(3, -5, 3\)"),
    "sizes_float": ("layer_sizes", (3, 5.0, 3), TypeError, r"layer_sizes must hold whole numbers; got \(3, 5\.0, 3\)"),
    "sizes_int": ("layer_sizes", 3, TypeError, r"layer_sizes must be a sequence of layer widths.*got 3"),
    # lam
    "lam_negative": ("lam", -0.5, ValueError, r"lam must be a finite number >= 0; got -0\.5"),
    "lam_nan": ("lam", float("nan"), ValueError, r"lam must be a finite number >= 0; got nan"),
    "lam_inf": ("lam", float("inf"), ValueError, r"lam must be a finite number >= 0; got inf"),
    "lam_string": ("lam", "1", TypeError, r"lam must be a real number >= 0; got '1' of type str"),
    "lam_bool": ("lam", True, TypeError, r"lam must be a real number >= 0; got True of type bool"),
    # loss
    "loss_unknown": ("loss", "hinge", ValueError,
                     r"loss must be one of \['cross_entropy', 'squared_error'\]; got 'hinge'"),
}


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_raises_a_clear_error(case, func):
    name, value, error, match = CASES[case]
    kwargs = _valid()
    kwargs[name] = value
    with pytest.raises(error, match=match):
        func(**kwargs)


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
def test_the_valid_base_call_works(func):
    # the cases above break exactly one argument of this call
    out = func(**_valid())
    assert np.all(np.isfinite(out[1] if isinstance(out, tuple) else out))


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("case", ["X_nan", "X_inf"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nonfinite_X_raises_without_a_runtime_warning(case, func, dtype):
    name, X, error, match = CASES[case]
    kwargs = _valid()
    kwargs["X"] = X.astype(dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(error, match=match):
            func(**kwargs)
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("where,value", [(3, np.nan), (30, -np.inf)], ids=["theta1_nan", "theta2_inf"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nonfinite_theta_in_either_layer_raises_without_a_runtime_warning(func, where, value, dtype):
    # with one hidden layer the kernels' pass reports θ's finiteness (it reads
    # every weight), in place of a pass of its own: both layers, both dtypes
    kwargs = _valid()
    kwargs["X"] = kwargs["X"].astype(dtype)
    kwargs["theta"][where] = value
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=rf"theta must be finite.*the first at index \({where},\)"):
            func(**kwargs)
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("where", [3, 30], ids=["theta1", "theta2"])
@pytest.mark.parametrize("route", ["X_float32", "dtype_float32"])
def test_a_finite_theta_beyond_float32_raises_naming_it(func, where, route):
    # 1e300 is finite in float64 but inf in float32: neither "not finite" nor
    # a silent inf in J, but the range, the index and the way out
    kwargs = _valid()
    if route == "X_float32":
        kwargs["X"] = kwargs["X"].astype(np.float32)
    else:
        kwargs["dtype"] = np.float32
    kwargs["theta"][where] = 1e300
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=rf"theta holds 1 value\(s\) beyond the range of float32 "
                                             rf".*theta\[{where}\] = 1e\+300\. Give dtype=numpy\.float64"):
            func(**kwargs)
    assert [str(w.message) for w in caught] == []


def test_the_largest_float32_itself_is_in_range():
    kwargs = _valid()
    kwargs["dtype"] = np.float32
    kwargs["theta"][:] = 0.0
    kwargs["theta"][30] = float(np.finfo(np.float32).max)   # a weight of Θ^(2), not a bias
    kwargs["X"][1, 2] = float(np.finfo(np.float32).max)
    J, grad = cost_and_gradient(**kwargs)
    # λ/(2m)·Θ² is summed in float64: (3.4e38)²/10 = 1.2e76
    assert J == pytest.approx(float(np.finfo(np.float32).max) ** 2 / 10, rel=1e-6)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
def test_X_beyond_float32_raises_naming_it_when_computing_in_float32(func):
    kwargs = _valid()
    kwargs["X"][1, 2] = -1e39
    kwargs["dtype"] = np.float32
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=r"X holds 1 value\(s\) beyond the range of float32 "
                                             r".*X\[1, 2\] = -1e\+39\. Give dtype=numpy\.float64, or scale X"):
            func(**kwargs)
        kwargs["dtype"] = None   # in float64 the same X is fine
        func(**kwargs)
    assert [str(w.message) for w in caught] == []


def test_objective_and_train_name_X_beyond_float32():
    import nnopt
    from nnopt import Objective
    kwargs = _valid()
    X = kwargs["X"]
    X[4, 0] = 1e39
    with pytest.raises(ValueError, match=r"X holds 1 value\(s\) beyond the range of float32.*X\[4, 0\]"):
        Objective(X, kwargs["y"], 1.0, SIZES, dtype=np.float32)
    with pytest.raises(ValueError, match=r"X holds 1 value\(s\) beyond the range of float32.*X\[4, 0\]"), \
            warnings.catch_warnings():
        # 1e39 is also far outside the range train warns about; the error is the point here
        warnings.simplefilter("ignore", nnopt._validation.ScalingWarning)
        nnopt.train(X, kwargs["y"], 1.0, hidden_layer_sizes=(5,), dtype=np.float32, maxiter=2)


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
def test_nonfinite_X_is_caught_even_where_theta_is_zero(func):
    # NaN · 0 is still NaN; inf · 0 is NaN: the check cannot be fooled by zero weights
    kwargs = _valid()
    kwargs["theta"] = np.zeros(38)
    kwargs["X"] = _with_nonfinite(np.inf)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=r"X must be finite.*index \(1, 2\)"):
            func(**kwargs)
    assert caught == []


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
def test_X_too_large_to_multiply_raises_without_a_runtime_warning(func):
    kwargs = _valid()
    kwargs["X"] = np.full((5, 3), 1e308)
    kwargs["theta"] = np.full(38, 10.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=r"X @ Θ\^\(1\)ᵀ overflowed.*largest \|X\| is 1e\+308.*scale X"):
            func(**kwargs)
    assert caught == []


def test_each_bad_input_has_its_own_message():
    messages = []
    for name, value, error, _ in CASES.values():
        kwargs = _valid()
        kwargs[name] = value
        with pytest.raises(error) as info:
            cost(**kwargs)
        messages.append(str(info.value))
    assert len(set(messages)) == len(messages)


@pytest.mark.parametrize("dtype, error, match", [
    (np.int32, ValueError, r"dtype must be numpy\.float32 or numpy\.float64; got int32"),
    (np.float16, ValueError, r"dtype must be numpy\.float32 or numpy\.float64; got float16"),
    ("banana", TypeError, r"dtype must be numpy\.float32 or numpy\.float64; got 'banana'"),
])
@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
def test_bad_dtype_is_rejected(func, dtype, error, match):
    with pytest.raises(error, match=match):
        func(**_valid(), dtype=dtype)



@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
def test_the_checks_run_again_on_the_same_arrays_changed_in_place(func):
    # a call on the same X and y as the last takes the last call's checks
    # (they are costly right after the kernels); a change in place must not
    # slip through that
    kwargs = _valid()
    func(**kwargs)
    kwargs["y"][3] = 7
    with pytest.raises(ValueError, match=r"class index 7 in y is outside 0\.\.2"):
        func(**kwargs)
    kwargs["y"][3] = 1
    func(**kwargs)
    kwargs["X"].shape = (3, 5)
    with pytest.raises(ValueError, match=r"X has 5 columns, but the network's input layer has 3"):
        func(**kwargs)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil"])
def test_sparse_X_is_refused_as_sparse_at_every_entry_point(fmt):
    import nnopt
    from nnopt.model import Model
    X = sparse.random(6, 3, density=0.5, format=fmt, random_state=0)
    message = (rf"X is a scipy\.sparse {fmt} matrix of shape \(6, 3\); sparse matrices are not supported; "
               r"use X\.toarray\(\)")
    model = Model([np.zeros((2, 4)), np.zeros((2, 3))], np.array([0, 1]), 0.0)
    for call in (lambda: nnopt.train(X, np.arange(6) % 2, maxiter=1),
                 lambda: model.predict(X),
                 lambda: cost_and_gradient(np.zeros(14), X, np.arange(6) % 2, 0.0, (3, 2, 2))):
        with pytest.raises(TypeError, match=message):
            call()


def test_big_endian_float32_X_is_computed_in_float32_as_native_float32_is():
    from nnopt._validation import check_dtype
    kwargs = _valid()
    X32 = kwargs.pop("X").astype(np.float32)
    assert check_dtype(None, X32.astype(">f4")) == np.dtype(np.float32)
    assert check_dtype(None, X32.astype(">f8")) == np.dtype(np.float64)
    J, grad = cost_and_gradient(X=X32, **kwargs)
    J_big, grad_big = cost_and_gradient(X=X32.astype(">f4"), **kwargs)
    # the same values in the same dtype: the same arithmetic, to the bit
    assert J_big == J
    assert np.array_equal(grad_big, grad)


class TestWarnIfUnscaled:
    """The warning for X far outside the range sigmoid units can use."""

    def _caught(self, X, **kwargs):
        from nnopt._validation import warn_if_unscaled
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            largest = warn_if_unscaled(X, **kwargs)
        return largest, caught

    def test_raw_pixels_warn_once_naming_the_largest_value_and_the_fix(self):
        from nnopt._validation import ScalingWarning
        pixels = np.random.default_rng(0).integers(0, 256, size=(50, 784), dtype=np.uint8)
        largest, caught = self._caught(pixels)
        assert largest == 255.0
        assert len(caught) == 1 and issubclass(caught[0].category, ScalingWarning)
        assert issubclass(ScalingWarning, UserWarning)
        message = str(caught[0].message)
        assert "X's largest |value| is 255," in message
        assert "scale X to [0, 1] first, e.g. X / 255 for pixels" in message

    def test_scaled_data_does_not_warn(self):
        rng = np.random.default_rng(1)
        normal = rng.standard_normal((100_000, 10))
        lognormal = rng.lognormal(0.0, 1.0, 100_000)
        for X in (rng.random((500, 784)), normal, ((lognormal - lognormal.mean()) / lognormal.std())[:, None],
                  np.zeros((3, 2)), np.full((1, 1), -100.0)):
            largest, caught = self._caught(X)
            assert caught == []
            assert largest == pytest.approx(np.abs(X).max())

    @pytest.mark.parametrize("X, largest", [
        (np.array([[0.0, -100.5]]), 100.5),   # just beyond the limit, and negative
        (np.array([[-128, 3]], dtype=np.int8), 128.0),   # -(-128) does not fit int8
        (np.array([[1e300, -1e300]]), 1e300),
    ])
    def test_values_beyond_the_limit_of_either_sign_warn(self, X, largest):
        from nnopt._validation import UNSCALED_LIMIT
        found, caught = self._caught(X, name="X_train")
        assert found == largest > UNSCALED_LIMIT
        assert len(caught) == 1
        assert f"X_train's largest |value| is {largest:g}," in str(caught[0].message)
        assert "X_train / 255" in str(caught[0].message)

    def test_the_warning_points_at_the_caller_of_the_checking_function(self):
        from nnopt._validation import warn_if_unscaled

        def train_like(X):
            warn_if_unscaled(X)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            train_like(np.full((2, 2), 255.0))
        import linecache
        assert caught[0].filename == __file__
        assert linecache.getline(__file__, caught[0].lineno).strip() == "train_like(np.full((2, 2), 255.0))"


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
def test_with_one_output_unit_an_m_by_1_y_is_the_target_matrix(func):
    # with K = 1, class index 0 means target 1; an (m, 1) y is the (m, K)
    # target matrix of 0/1, not a column of class indices
    rng = np.random.default_rng(3)
    sizes = (3, 4, 1)
    theta = rng.uniform(-1, 1, 21)
    X = rng.standard_normal((6, 3))
    targets = np.array([[1.0], [0.0], [1.0], [1.0], [0.0], [0.0]])
    half = func(theta, X, targets, 0.5, sizes)
    all_ones = func(theta, X, np.ones((6, 1)), 0.5, sizes)
    indices = func(theta, X, np.zeros(6, dtype=int), 0.5, sizes)
    first = (lambda r: r[0]) if func is cost_and_gradient else (lambda r: r)
    np.testing.assert_allclose(first(all_ones), first(indices), rtol=1e-12, atol=1e-15)
    assert not np.allclose(first(half), first(all_ones))
