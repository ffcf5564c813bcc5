"""Checks run once at the public entry points.

Each check raises ValueError or TypeError with a message that names the
argument, says what was expected and what was given.

`cost_and_gradient` runs these on every call, right after the kernels have
pushed the interpreter out of the caches, where each numpy call costs tens
of µs: dtypes are told apart by their kind letter rather than by
np.issubdtype, and the finiteness test is a max and a min.
"""

import math
import numbers

import numpy as np

from .losses import LOSSES

# dtype kinds of numbers: signed, unsigned, float, complex (bool is "b")
_NUMBER_KINDS = "iufc"


def check_X(X, n_features=None, name="X", check_finite=True):
    """Return X as a 2-D float array (float32 or float64 kept, else float64)."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{name} must be a 2-D numeric array of shape (m, n); got {type(X).__name__}")
    X = np.asarray(X)
    kind = X.dtype.kind
    if kind not in _NUMBER_KINDS and kind != "b":
        raise TypeError(f"{name} must hold numbers; got an array of dtype {X.dtype}")
    if kind == "c":
        raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}")
    if X.ndim != 2:
        hint = " (use X.reshape(1, -1) for a single example)" if X.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D with shape (m, n); got {X.ndim}-D shape {X.shape}{hint}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty: got shape {X.shape}; it needs at least one example and one feature")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{name} has {X.shape[1]} columns, but the network's input layer has "
            f"{n_features} units (layer_sizes[0]); give {name} of shape (m, {n_features})"
        )
    if X.dtype.type not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if check_finite:
        check_finite_array(X, name)
    return X


def check_finite_array(A, name):
    """Raise if A holds NaN or inf, saying where the first one is."""
    # First the largest and smallest values (NaN shows in both, and an inf
    # in one): no temporary array, nothing that can overflow. Only with a
    # NaN or inf are the values looked at one by one.
    if A.size == 0 or (math.isfinite(A.max()) and math.isfinite(A.min())):
        return
    bad = ~np.isfinite(A)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be finite, but it holds {int(bad.sum())} NaN or inf "
            f"value(s), the first at index {where}: {A[where].item()!r}"
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
    y = np.asarray(y)
    if y.dtype.kind not in _NUMBER_KINDS and y.dtype.kind != "b":
        raise TypeError(
            f"y must hold numbers (class indices 0..K-1 or targets in [0, 1]); got dtype {y.dtype}. "
            "nnopt.train accepts any labels; the cost functions take indices"
        )
    if y.ndim == 2 and y.shape[1] == 1:
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
                raise ValueError(
                    "y given as a 1-D array must hold whole class indices 0..K-1; "
                    f"got {float(y[i])} at index {i}"
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
        return np.dtype(X.dtype) if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
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
