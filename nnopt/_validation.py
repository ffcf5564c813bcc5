"""Checks run once at the public entry points.

Each check raises ValueError or TypeError with a message that names the
argument, says what was expected and what was given.

Dtypes are told apart by their kind letter rather than by np.issubdtype,
and the finiteness test is a max and a min: both cheap enough for the
public cost functions, which check their arguments on every call.
"""

import math
import numbers
import warnings
from types import MappingProxyType

import numpy as np
from scipy import sparse

from .errors import ScalingWarning

from .losses import LOSSES

# dtype kinds of numbers: signed, unsigned, float, complex (bool is "b")
_NUMBER_KINDS = "iufc"


def check_not_sparse(A, name):
    """Raise for a scipy.sparse matrix or array, which np.asarray would turn
    into a 0-d array of dtype object (and a message about the dtype)."""
    if type(A) is not np.ndarray and sparse.issparse(A):
        raise TypeError(
            f"{name} is a scipy.sparse {A.format} matrix of shape {A.shape}; sparse matrices are not "
            f"supported; use {name}.toarray()"
        )


def check_finite_array(A, name, start=0):
    """Raise if A holds NaN or inf, saying where the first one is.

    `start`: the row of the whole array that A's first row is (A a block
    of rows), so that the place named is the whole array's.
    """
    finite_range(A, name, start)


def finite_range(A, name, start=0):
    """(smallest, largest) value of A, after checking that every value is finite.

    The largest and smallest values come first (NaN shows in both, an inf
    in one): no temporary array, nothing that can overflow. Only with a NaN
    or inf are the values looked at one by one, and the first is named by
    its index, its row counted from `start`.
    """
    if A.size == 0:
        return 0.0, 0.0
    lo, hi = A.min().item(), A.max().item()
    if math.isfinite(lo) and math.isfinite(hi):
        return lo, hi
    bad = ~np.isfinite(A)
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    shown = (where[0] + start,) + where[1:] if where else where
    raise ValueError(
        f"{name} must be finite, but it holds {int(bad.sum())} NaN or inf "
        f"value(s), the first at index {shown}: {A[where].item()!r}"
    )


def cast_checked(A, dtype, name):
    """A in `dtype` (no copy when it is already), raising if a finite value
    of A is beyond the range of `dtype` (float32: ±3.4e38) and would turn
    into ±inf there; the error names the first such value and the dtype."""
    if A.dtype == dtype:
        return A
    # no pass of its own: only a cast that overflows is looked at again
    with np.errstate(over="raise"):
        try:
            return A.astype(dtype)
        except FloatingPointError:
            pass
    with np.errstate(over="ignore"):
        bad = np.isinf(A.astype(dtype)) & np.isfinite(A)
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    raise ValueError(
        f"{name} holds {int(bad.sum())} value(s) beyond the range of {np.dtype(dtype).name} "
        f"(±{np.finfo(dtype).max:.4g}), in which this evaluation computes; the first is "
        f"{name}[{', '.join(map(str, where))}] = {A[where].item()!r}. Give dtype=numpy.float64, "
        f"or scale {name}"
    )


def check_y(y, m, K):
    """Return (idx, None) for class indices or (None, Y) for an (m, K) target matrix."""
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"y must be an array of class indices or an (m, K) target matrix; got {y!r}")
    check_not_sparse(y, "y")
    y = np.asarray(y)
    if y.dtype.kind not in _NUMBER_KINDS and y.dtype.kind != "b":
        raise TypeError(
            f"y must hold numbers (class indices 0..K-1 or targets in [0, 1]); got dtype {y.dtype}. "
            "nnopt.train accepts any labels; the cost functions take indices"
        )
    if y.ndim == 2 and y.shape[1] == 1 and K != 1:
        # the course's (m, 1) column of labels; with one output unit an
        # (m, 1) y is the (m, K) target matrix it also is
        y = y[:, 0]
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D (class indices) or 2-D (m, K); got shape {y.shape}")
    if y.shape[0] != m:
        raise ValueError(f"y has {y.shape[0]} entries but X has m = {m} rows; they must match")
    if y.ndim == 1:
        if y.dtype.kind == "f":
            bad = ~np.isfinite(y) | (y != np.round(y))
            if bad.any():
                i = int(np.argmax(bad))
                # a finite fraction is a real-valued target: regression, not classes
                hint = (". The output classifies; for regression on real targets give "
                        "output='identity'") if np.isfinite(y[i]) else ""
                raise ValueError(
                    "y given as a 1-D array must hold whole class indices 0..K-1; "
                    f"got {float(y[i])} at index {i}{hint}"
                )
        # range-check before the cast, which would wrap or warn on huge values
        lo, hi = y.min().item(), y.max().item()
        if lo < 0 or hi >= K:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"class index {bad} in y is outside 0..{K - 1} (the output layer has K = {K} units); "
                "labels 1..K from the course must be shifted to 0..K-1"
            )
        return y.astype(np.intp, copy=False), None
    if y.shape[1] != K:
        raise ValueError(
            f"y is an (m, K) target matrix with K = {y.shape[1]} columns, but the output "
            f"layer has {K} units (layer_sizes[-1])"
        )
    Y = y.astype(np.float64) if y.dtype.type not in (np.float32, np.float64) else y
    check_finite_array(Y, "y")
    if Y.min() < 0 or Y.max() > 1:
        raise ValueError(f"targets in y must lie in [0, 1]; got values from {Y.min()} to {Y.max()}")
    return None, Y


def check_lam(lam):
    """Return lam as a float >= 0."""
    if isinstance(lam, (bool, np.bool_)) or not isinstance(lam, numbers.Real):
        raise TypeError(f"lam must be a real number >= 0; got {lam!r} of type {type(lam).__name__}")
    lam = float(lam)
    if not math.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0; got {lam}")
    return lam


def check_loss(loss):
    """Return loss if it names a known loss."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}; got {loss!r}")
    return loss


def check_dtype(dtype, X):
    """The computing dtype: float32 or float64 (None follows X)."""
    if dtype is None:
        # by type, not dtype: a big-endian '>f4' X is float32 too (computed in native float32)
        return np.dtype(X.dtype.type) if X.dtype.type in (np.float32, np.float64) else np.dtype(np.float64)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be numpy.float32 or numpy.float64; got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be numpy.float32 or numpy.float64; got {dt}")
    return dt


def check_theta(theta, n_params, layer_sizes):
    """Return theta as a 1-D float64 array of the right length."""
    if isinstance(theta, (str, bytes)) or theta is None:
        raise TypeError(f"theta must be a 1-D parameter vector; got {type(theta).__name__}")
    theta = np.asarray(theta)
    if theta.dtype.kind not in _NUMBER_KINDS:
        raise TypeError(f"theta must hold real numbers; got dtype {theta.dtype}")
    if theta.ndim != 1:
        raise ValueError(f"theta must be a 1-D parameter vector (see nnopt.unroll); got shape {theta.shape}")
    if theta.size != n_params:
        raise ValueError(
            f"theta has length {theta.size}, but layer_sizes {tuple(layer_sizes)!r} "
            f"needs {n_params} parameters"
        )
    return theta.astype(np.float64, copy=False)


def check_real(value, name, expected, ok):
    """Return value as a float if it is a finite real number for which ok(value) holds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number {expected}; got {value!r} of type {type(value).__name__}")
    if not (math.isfinite(value) and ok(value)):
        raise ValueError(f"{name} must be a finite number {expected}; got {value!r}")
    return float(value)


def method_options(options, defaults, method, aliases=None):
    """A method's options: `defaults` with the user's `options` in place of them.

    Parameters
    ----------
    options : dict
        The user's, each named in `defaults`.
    defaults : mapping
        Every option the method takes, with its default.
    method : str
        The method as the user named it, for the errors.
    aliases : mapping or None
        Names a user may try for an option (MATLAB's) → what to use
        instead, added to the error that meets them.

    Returns
    -------
    dict
        Unchecked values: each method checks its own.
    """
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict; got {type(options).__name__}")
    unknown = sorted(set(options) - set(defaults), key=str)
    if unknown:
        hints = [f"{name!r} is {aliases[name]}" for name in unknown if name in (aliases or {})]
        hint = f" (MATLAB's names: {'; '.join(hints)})" if hints else ""
        raise ValueError(f"unknown option(s) {unknown} for method {method!r}; it takes "
                         f"{sorted(defaults)}{hint}")
    return {**defaults, **options}


def check_int(value, name, low, high=None, allow_none=False):
    """Return value as an int in [low, high] (high None: no bound; high is m, the examples)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        none = " or None" if allow_none else ""
        raise TypeError(f"{name} must be a whole number >= {low}{none}; got {value!r} of type {type(value).__name__}")
    if value < low or (high is not None and value > high):
        within = f"between {low} and m = {high} (the number of training examples)" if high else f">= {low}"
        raise ValueError(f"{name} must be {within}; got {value}")
    return int(value)


# Labels are compared by kind: numbers (bool, int, float) with numbers,
# strings with strings. numpy compares other pairs without complaint and
# finds nothing equal, which would read as a wrong prediction on every row.
_LABEL_KINDS = MappingProxyType({"b": "numbers", "i": "numbers", "u": "numbers", "f": "numbers",
                                 "c": "numbers", "U": "strings", "S": "bytes"})


def as_labels(labels):
    """Labels as an array of numbers or strings where they are those.

    Parameters
    ----------
    labels : array_like
        Labels of any kind.

    Returns
    -------
    ndarray, same shape
        An object array whose items are all str, all bytes or all real
        numbers (what a pandas Series or a list of mixed ints and floats
        gives) as a unicode, bytes or numeric array holding the same values;
        any other array as given. An object array that cannot be converted
        without changing a value (mixed kinds, other objects, a string
        ending in NUL) stays an object array.
    """
    labels = np.asarray(labels)
    if labels.dtype != object or labels.size == 0:
        return labels
    items = labels.ravel().tolist()
    kind = _kind_of_items(items)
    if kind is None:
        return labels
    converted = np.array(items, dtype={"strings": str, "bytes": bytes, "numbers": None}[kind])
    # numpy drops trailing NULs from strings, and floats round ints beyond 2**53
    if converted.dtype == object or converted.tolist() != items:
        return labels
    return converted.reshape(labels.shape)


def _kind_of_items(items):
    """"strings", "bytes" or "numbers" if every item is one of those, else None."""
    if all(isinstance(i, str) for i in items):
        return "strings"
    if all(isinstance(i, bytes) for i in items):
        return "bytes"
    if all(isinstance(i, (numbers.Real, np.bool_)) for i in items):
        return "numbers"
    return None


def label_kind(labels):
    """What a label array holds, in words: "numbers", "strings", "bytes", or
    "Python objects (their types)". An object array is named by its items."""
    kind = _LABEL_KINDS.get(labels.dtype.kind)
    if kind is not None:
        return kind
    if labels.dtype == object:
        items = labels.ravel().tolist()
        return _kind_of_items(items) or f"Python objects ({', '.join(sorted({type(i).__name__ for i in items}))})"
    return f"values of dtype {labels.dtype}"


def check_labels_like(y, classes, name="y"):
    """Return `y` (as `as_labels` makes it) if its labels are of the kind of
    `classes`, so that comparing the two can find equal labels.

    Parameters
    ----------
    y : array_like
        Labels to compare with a model's classes.
    classes : ndarray, shape (K,)
        The model's ``classes_``.
    name : str
        What to call `y` in the error.

    Raises
    ------
    ValueError
        If `y` holds labels of another kind than `classes` (strings against
        numbers, say): no label could ever equal a class. Numbers of any
        dtype count as one kind, so 1.0 matches the class 1.
    """
    y = as_labels(y)
    given, expected = label_kind(y), label_kind(classes)
    if given != expected:
        shown = classes.tolist() if classes.size <= 10 else classes[:10].tolist() + ["..."]
        raise ValueError(
            f"{name} holds {given}, but the model's classes are {expected}: {shown}; "
            f"no label in {name} can equal a class. Give {name} in the labels the model was trained on"
        )
    return y


# Warn when max |X| exceeds this. A sigmoid unit learns through g'(z) =
# a(1 - a), below 1e-4 beyond |z| = 9.2. With the initial weights of the
# digits' 784-25-10 network (|θ| up to sqrt(6/809) = 0.086) one pixel of 255
# moves z by up to 22 on its own, and hundreds of them saturate every unit
# (issue 21 measured 50% training accuracy on the digits in 0..255 against
# 100% in [0, 1]). Scaled data stays below 100: [0, 1] pixels are at most 1,
# standard normal features stayed under 6.1 in 5·10^6 values, standardized
# log-normal ones (σ = 1) reached 28-62 in 10^5 examples, and a z-score can
# reach 100 only with m > 10^4 examples, one of which holds nearly all of a
# feature's variance (|z| <= sqrt(m - 1)). Raw pixels reach 255.
UNSCALED_LIMIT = 100.0


def warn_if_unscaled(X, name="X", stacklevel=3):
    """Warn once if X's values are far outside the range sigmoid units can use.

    Parameters
    ----------
    X : array_like, shape (m, n)
        The examples, as given to `nnopt.train`.
    name : str
        What to call X in the warning.
    stacklevel : int
        As for `warnings.warn`; 3 points at the caller of the function that
        calls this one (the user's call to `train`).

    Returns
    -------
    float
        The largest |value| of X (NaN if X holds NaN, 0.0 if it is empty).

    Warns
    -----
    ScalingWarning
        When max |X| > `UNSCALED_LIMIT` (100), naming the largest |value| and
        how to scale X.
    """
    X = np.asarray(X)
    if X.size == 0:
        return 0.0
    return warn_if_unscaled_range((float(X.min()), float(X.max())), name, stacklevel + 1)


def warn_if_unscaled_range(span, name="X", stacklevel=3):
    """`warn_if_unscaled` from X's (smallest, largest) value, when X has been read already."""
    # max and -min, not np.abs: no temporary array, and no overflow of -(-128) in int8
    largest = max(float(span[1]), -float(span[0]))
    if largest > UNSCALED_LIMIT:
        warnings.warn(
            f"{name}'s largest |value| is {largest:g}, far outside the range sigmoid units can "
            f"learn from (they saturate, and training stalls); scale {name} to [0, 1] first, "
            f"e.g. {name} / 255 for pixels, or standardize each feature",
            ScalingWarning, stacklevel=stacklevel)
    return largest
