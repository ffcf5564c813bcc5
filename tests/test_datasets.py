"""Data: the bundled digits, the course's .mat files, the stratified split."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import nnopt
from nnopt.datasets import (_digits_source, _weights_source, load_digit_weights, load_digits, load_mat,
                            train_test_split)

REPO = Path(__file__).resolve().parent.parent
# sha256 of X.tobytes() + y.tobytes() of the uint8 arrays, as in data/README.md
DIGITS_SHA256 = "809ec085d551285cf9efad12c42a6aead98c62f96eb9936cc5b778870773e50d"


@pytest.fixture(scope="module")
def digits():
    return load_digits()


# --- load_digits ---------------------------------------------------------------

def test_load_digits_shapes_dtypes_and_range(digits):
    X, y = digits
    assert X.shape == (5000, 784) and X.dtype == np.float64
    assert y.shape == (5000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.array_equal(np.bincount(y), [500] * 10)


def test_bundled_file_matches_its_documented_fingerprint():
    with _digits_source().open("rb") as f, np.load(f, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["X", "y"]
        X, y = npz["X"], npz["y"]
    assert X.dtype == np.uint8 and y.dtype == np.uint8
    assert hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest() == DIGITS_SHA256
    assert DIGITS_SHA256 in (REPO / "data" / "README.md").read_text()


def test_load_digits_gives_pixels_over_255(digits):
    X, _ = digits
    # identity is the point: every value is an exact multiple of 1/255
    assert np.array_equal(np.round(X * 255) / 255, X)


def test_load_digits_says_where_it_looked_when_the_file_is_missing(monkeypatch):
    monkeypatch.setattr("nnopt.datasets._DIGITS_FILE", "no_such_file.npz")
    with pytest.raises(FileNotFoundError, match=r"no_such_file.npz was not found, neither installed as .*_data"):
        load_digits()


def test_load_digits_from_a_checkout_in_another_directory(tmp_path):
    """PYTHONPATH at the source tree, no install needed, cwd elsewhere."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = (
        "import nnopt.datasets as d; X, y = d.load_digits(); "
        "print(X.shape, y.shape, d.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("(5000, 784) (5000,)")
    assert str(REPO / "nnopt") in out.stdout


@pytest.mark.parametrize("script", ["make_digits.py", "make_weights.py"])
def test_data_script_does_nothing_on_import(script):
    """data/ is installed as nnopt._data, so its scripts are importable there."""
    code = (
        "import importlib.util, sys; before = set(sys.modules); "
        f"spec = importlib.util.spec_from_file_location('script', {str(REPO / 'data' / script)!r}); "
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
        "print(callable(module.main), sorted(set(sys.modules) - before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True []"


# --- load_digit_weights --------------------------------------------------------

def test_digit_weights_have_the_shapes_of_a_784_25_10_network():
    thetas = load_digit_weights()
    assert [t.shape for t in thetas] == [(25, 785), (10, 26)]
    assert all(t.dtype == np.float64 and np.all(np.isfinite(t)) for t in thetas)


def test_digit_weights_classify_the_bundled_digits(digits):
    """A trained network for load_digits' pixel order and labels: output unit k is the digit k."""
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    model = nnopt.Model(load_digit_weights(), classes=np.arange(10), lam=1.0)
    assert model.score(X_train, y_train) > 0.97
    assert model.score(X_test, y_test) > 0.90  # held out when the weights were made
    # far below J at small random weights, which is about K ln 2 = 6.9
    theta = nnopt.unroll(load_digit_weights())
    assert nnopt.cost(theta, X_train, y_train, 0.0, (784, 25, 10)) < 0.3


def test_load_digit_weights_returns_new_arrays_each_call():
    first = load_digit_weights()
    first[0][:] = 0.0
    assert np.abs(load_digit_weights()[0]).max() > 0.1


def test_bundled_weights_file_is_small_and_plain():
    source = _weights_source()
    with source.open("rb") as f:
        size = len(f.read())
    assert size < 200_000
    with source.open("rb") as f, np.load(f, allow_pickle=False) as npz:  # numbers only, no pickle
        assert sorted(npz.files) == ["Theta1", "Theta2"]
        assert npz["Theta1"].dtype == np.float64


def test_load_digit_weights_says_where_it_looked_when_the_file_is_missing(monkeypatch):
    monkeypatch.setattr("nnopt.datasets._WEIGHTS_FILE", "no_weights.npz")
    with pytest.raises(FileNotFoundError, match=r"weights file no_weights.npz was not found, neither "
                                                r"installed as .*_data.*make_weights\.py"):
        load_digit_weights()


# --- train_test_split ----------------------------------------------------------

def test_split_of_the_digits_is_exactly_stratified(digits):
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    assert X_train.shape == (4000, 784) and X_test.shape == (1000, 784)
    assert np.array_equal(np.bincount(y_train), [400] * 10)
    assert np.array_equal(np.bincount(y_test), [100] * 10)


def test_split_is_disjoint_and_covers_every_example():
    m = 103
    X = np.arange(m)  # each example is its own index
    y = np.arange(m) % 4
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=1)
    assert np.intersect1d(X_train, X_test).size == 0
    assert np.array_equal(np.sort(np.concatenate([X_train, X_test])), X)
    # rows and labels stay together
    assert np.array_equal(y[X_train], y_train) and np.array_equal(y[X_test], y_test)


def test_split_shuffles_the_classes_together(digits):
    _, y = digits  # grouped by class in the file
    _, _, y_train, y_test = train_test_split(np.zeros((5000, 1)), y, seed=0)
    assert len(np.unique(y_test[:50])) > 5
    assert len(np.unique(y_train[:50])) > 5


def test_split_is_deterministic_per_seed_and_differs_across_seeds():
    X = np.arange(200).reshape(100, 2)
    y = np.arange(100) % 3
    a = train_test_split(X, y, seed=7)
    b = train_test_split(X, y, seed=7)
    c = train_test_split(X, y, seed=8)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_split_accepts_a_generator_and_leaves_global_state_alone():
    X, y = np.arange(20), np.arange(20) % 2
    state = np.random.get_state()[1].copy()
    a = train_test_split(X, y, seed=np.random.default_rng(3))
    b = train_test_split(X, y, seed=np.random.default_rng(3))
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert np.array_equal(np.random.get_state()[1], state)


def test_split_with_string_labels_and_a_count():
    y = np.array(["cat"] * 6 + ["dog"] * 4 + ["emu"] * 10)
    X = np.arange(20 * 3).reshape(20, 3)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=5, seed=0)
    assert X_test.shape == (5, 3) and y_test.shape == (5,)
    labels, counts = np.unique(y_test, return_counts=True)
    # 5 in proportion 6:4:10 is 1.5:1:2.5; the tied remainders go to the first class
    assert dict(zip(labels.tolist(), counts.tolist())) == {"cat": 2, "dog": 1, "emu": 2}
    assert set(y_train) == {"cat", "dog", "emu"}


@pytest.mark.parametrize("m, test_size, expected", [(10, 0.25, 3), (10, 0.35, 4), (7, 0.5, 4), (1000, 0.2, 200)])
def test_test_count_is_rounded_half_up(m, test_size, expected):
    y = np.arange(m) % 2
    _, X_test, _, _ = train_test_split(np.arange(m), y, test_size=test_size, seed=0)
    assert X_test.shape == (expected,)


def test_every_class_gets_one_on_each_side_even_when_rounding_says_zero():
    y = np.array([0] * 96 + [1] * 2 + [2] * 2)
    _, _, y_train, y_test = train_test_split(np.arange(100), y, test_size=0.1, seed=0)
    assert y_test.size == 10
    assert np.array_equal(np.bincount(y_test), [8, 1, 1])
    assert np.array_equal(np.bincount(y_train), [88, 1, 1])


@pytest.mark.parametrize("test_size, error, match", [
    (0.0, ValueError, r"strictly between 0 and 1; got 0\.0"),
    (1.0, ValueError, r"strictly between 0 and 1; got 1\.0"),
    (-0.2, ValueError, "strictly between 0 and 1"),
    (0, ValueError, r"count must lie in 1\.\.19 \(m = 20 examples\); got 0"),
    (20, ValueError, r"count must lie in 1\.\.19"),
    (True, TypeError, "test_size must be a fraction"),
    ("0.2", TypeError, "got '0.2' of type str"),
    (0.01, ValueError, r"gives 0 test examples"),
])
def test_bad_test_size_raises(test_size, error, match):
    with pytest.raises(error, match=match):
        train_test_split(np.arange(20), np.arange(20) % 2, test_size=test_size)


def test_split_errors_name_the_problem():
    X = np.arange(20)
    with pytest.raises(ValueError, match="y has 19 labels but X has m = 20 rows"):
        train_test_split(X, np.arange(19) % 2)
    with pytest.raises(ValueError, match=r"y must be 1-D.*use y\.ravel\(\)"):
        train_test_split(X, (np.arange(20) % 2).reshape(20, 1))
    y = np.array([0] * 10 + [1] * 9 + [7])
    with pytest.raises(ValueError, match="class 7 has 1 example"):
        train_test_split(X, y)
    y = np.array(["a"] * 19 + ["z"])
    with pytest.raises(ValueError, match="class 'z' has 1 example"):
        train_test_split(X, y)
    with pytest.raises(ValueError, match="gives 2 test and 18 training examples, but y has 4 classes"):
        train_test_split(X, np.arange(20) % 4, test_size=2)
    with pytest.raises(TypeError, match="labels must be sortable"):
        train_test_split(X, np.array([1, "a"] * 10, dtype=object))
    with pytest.raises(TypeError, match="seed must be"):
        train_test_split(X, np.arange(20) % 2, seed="zero")


# --- load_mat ------------------------------------------------------------------

@pytest.fixture
def course_like(tmp_path):
    """Small stand-ins for ex4data1.mat and ex4weights.mat, saved by scipy."""
    rng = np.random.default_rng(4)
    X = rng.random((12, 4))
    y = np.array([10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1], dtype=np.uint8).reshape(-1, 1)
    Theta1 = rng.standard_normal((3, 5))
    Theta2 = rng.standard_normal((10, 4))
    scipy.io.savemat(tmp_path / "data.mat", {"X": X, "y": y})
    scipy.io.savemat(tmp_path / "weights.mat", {"Theta1": Theta1, "Theta2": Theta2})
    return tmp_path, X, y, Theta1, Theta2


def test_load_mat_data_file_maps_label_10_to_digit_0(course_like):
    folder, X, y, _, _ = course_like
    data = load_mat(folder / "data.mat")
    assert set(data) == {"X", "y"}
    assert data["X"].dtype == np.float64 and np.array_equal(data["X"], X)
    assert data["y"].shape == (12,) and data["y"].dtype == np.int64
    assert data["y"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


def test_load_mat_weights_file_rotates_the_output_units(course_like):
    folder, _, _, Theta1, Theta2 = course_like
    thetas = load_mat(str(folder / "weights.mat"))["thetas"]
    assert [t.shape for t in thetas] == [(3, 5), (10, 4)]
    assert np.array_equal(thetas[0], Theta1)
    assert np.array_equal(thetas[1][0], Theta2[9])  # course unit 10 is the digit 0
    assert np.array_equal(thetas[1][1:], Theta2[:9])


def test_load_mat_stored_keeps_everything_as_in_the_file(course_like):
    folder, X, y, Theta1, Theta2 = course_like
    data = load_mat(folder / "data.mat", labels="stored")
    assert np.array_equal(data["y"], y.ravel())
    thetas = load_mat(folder / "weights.mat", labels="stored")["thetas"]
    assert np.array_equal(thetas[0], Theta1) and np.array_equal(thetas[1], Theta2)


def test_relabelling_leaves_the_course_cost_unchanged(course_like):
    folder, *_ = course_like
    sizes = (4, 3, 10)
    digits = {**load_mat(folder / "data.mat"), **load_mat(folder / "weights.mat")}
    stored = {**load_mat(folder / "data.mat", labels="stored"),
              **load_mat(folder / "weights.mat", labels="stored")}
    J_digits = nnopt.cost(nnopt.unroll(digits["thetas"]), digits["X"], digits["y"], 1.0, sizes)
    J_stored = nnopt.cost(nnopt.unroll(stored["thetas"]), stored["X"], stored["y"] - 1, 1.0, sizes)
    assert J_digits == pytest.approx(J_stored, rel=1e-12)


def test_load_mat_file_with_data_and_weights_returns_both(tmp_path):
    Theta1, Theta2, Theta3 = np.ones((2, 3)), np.ones((4, 3)), np.full((3, 5), 2.0)
    scipy.io.savemat(tmp_path / "both.mat", {
        "X": np.ones((3, 2)), "y": np.array([[1], [2], [3]]),
        "Theta1": Theta1, "Theta2": Theta2, "Theta3": Theta3,
    })
    data = load_mat(tmp_path / "both.mat")
    assert set(data) == {"X", "y", "thetas"}
    # only a 10-unit output layer follows the course's digit convention
    assert [t.shape for t in data["thetas"]] == [(2, 3), (4, 3), (3, 5)]
    assert np.array_equal(data["thetas"][2], Theta3)


def test_load_mat_unrolling_differs_from_octave_only_in_order(course_like):
    folder, _, _, Theta1, Theta2 = course_like
    thetas = load_mat(folder / "weights.mat", labels="stored")["thetas"]
    octave = np.concatenate([Theta1.ravel(order="F"), Theta2.ravel(order="F")])
    assert np.array_equal(np.concatenate([t.ravel(order="F") for t in thetas]), octave)
    assert np.array_equal(np.sort(nnopt.unroll(thetas)), np.sort(octave))


def test_load_mat_bad_files_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file at .*missing.mat"):
        load_mat(tmp_path / "missing.mat")
    (tmp_path / "notes.mat").write_text("not a mat file at all\n")
    with pytest.raises(ValueError, match="notes.mat could not be read as a MATLAB/Octave .mat file"):
        load_mat(tmp_path / "notes.mat")
    (tmp_path / "empty.mat").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.mat could not be read"):
        load_mat(tmp_path / "empty.mat")
    scipy.io.savemat(tmp_path / "other.mat", {"A": np.ones((2, 2))})
    with pytest.raises(ValueError, match=r"holds neither X and y nor Theta1, Theta2, \.\.\.; it holds \['A'\]"):
        load_mat(tmp_path / "other.mat")
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        load_mat(3)
    with pytest.raises(ValueError, match='labels must be "digits" or "stored"'):
        load_mat(tmp_path / "other.mat", labels="course")


@pytest.mark.parametrize("contents, match", [
    ({"X": np.ones((3, 2))}, "holds X but not y"),
    ({"X": np.ones((3, 2)) * 1j, "y": np.ones((3, 1))}, "X must be a non-empty 2-D matrix of real numbers"),
    ({"X": np.ones((3, 2)), "y": np.ones((3, 2))}, r"y must be a numeric \(m, 1\) column"),
    ({"X": np.ones((3, 2)), "y": np.ones((2, 1))}, r"one label per row of X \(m = 3\)"),
    ({"X": np.ones((3, 2)), "y": np.array([[1.5], [2], [3]])}, "whole labels"),
    ({"X": np.ones((3, 2)), "y": np.array([[0], [10], [3]])}, "holds both 0 and 10"),
    ({"X": np.ones((3, 2)), "y": np.array([[1], [26], [3]])}, "goes up to 26"),
    ({"Theta1": np.ones((2, 3)), "Theta3": np.ones((1, 3))}, "without gaps; got Theta1, Theta3"),
    ({"Theta1": np.ones((2, 3)), "Theta2": np.ones((1, 4))}, r"Theta2 has shape \(1, 4\) .* needs 3 columns"),
])
def test_load_mat_inconsistent_contents_raise(tmp_path, contents, match):
    scipy.io.savemat(tmp_path / "f.mat", contents)
    with pytest.raises(ValueError, match=match):
        load_mat(tmp_path / "f.mat")
