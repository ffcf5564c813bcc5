"""The arguments of a cost function but θ, checked once: a `Problem`.

The public cost functions check their arguments on every call; `Objective`
checks them once, when it is made. Both go through `bind`, so that every
entry point accepts and refuses the same things with the same messages.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from . import _validation as v
from .activations import ACTIVATIONS
from .losses import DEFAULT_LOSS, LOSSES, OUTPUTS, PAIRS
from .parameters import _check_layer_sizes, n_params

__all__ = ["Problem", "bind"]


@dataclass(frozen=True)
class Problem:
    """Checked data and settings of one cost function J(θ).

    Attributes
    ----------
    X : ndarray, shape (m, n)
        In the computing dtype.
    idx : ndarray of intp, shape (m,), or None
        Class indices, when the targets are classes.
    Y : ndarray, shape (m, K), or None
        The target matrix (one-hot rows, 0/1 labels, or real values), in
        the computing dtype, when the targets are not class indices.
    w : ndarray of float64, shape (m,), or None
        Sample weights; None counts every example once.
    scale : float
        1/Σw (1/m without weights): the factor of the summed cost and of λ/2·ΣΘ².
    lam : float
    layer_sizes : tuple of int
    activation, output, loss : str
    dtype : numpy.dtype
    n_params : int
    """

    X: np.ndarray
    idx: np.ndarray
    Y: np.ndarray
    w: np.ndarray
    scale: float
    lam: float
    layer_sizes: tuple
    activation: str
    output: str
    loss: str
    dtype: np.dtype
    n_params: int

    @property
    def m(self):
        return self.X.shape[0]

    def rows(self, rows, lam):
        """The problem on some rows of X, with λ given anew (for mini-batches)."""
        X = self.X[rows]
        w = None if self.w is None else self.w[rows]
        total = X.shape[0] if w is None else float(w.sum())
        if X.ndim != 2 or X.shape[0] == 0 or total <= 0:
            raise ValueError(f"a batch needs at least one row of X of positive weight; rows={rows!r} "
                             f"selects {X.shape[0] if X.ndim == 2 else 'not a set of'} rows")
        return Problem(X, None if self.idx is None else self.idx[rows],
                       None if self.Y is None else self.Y[rows], w, 1.0 / total, lam,
                       self.layer_sizes, self.activation, self.output, self.loss, self.dtype,
                       self.n_params)


def check_choice(value, table, name):
    """Return value if it names an entry of `table`."""
    if not isinstance(value, str) or value not in table:
        raise ValueError(f"{name} must be one of {sorted(table)}; got {value!r}")
    return value


def check_pair(output, loss):
    """The loss for this output unit: its natural one for None; a pair not in the table is refused."""
    output = check_choice(output, OUTPUTS, "output")
    if loss is None:
        return output, DEFAULT_LOSS[output]
    check_choice(loss, LOSSES, "loss")
    if (output, loss) not in PAIRS:
        pairs = ", ".join(f"({o!r}, {l!r})" for o, l in PAIRS)
        raise ValueError(f"output={output!r} does not go with loss={loss!r}; the pairs are {pairs}")
    return output, loss


def check_targets(y, m, K, output):
    """(idx, None) for class indices, or (None, Y) for an (m, K) target matrix.

    A sigmoid or softmax output takes class indices 0..K−1 or targets in
    [0, 1]; an identity output (regression) takes any finite real values,
    shape (m,) when K = 1 or (m, K).
    """
    if output != "identity":
        y_arr = np.asarray(y) if y is not None and not isinstance(y, (str, bytes)) else None
        if (y_arr is not None and y_arr.ndim == 1 and y_arr.dtype.kind == "f"
                and np.isfinite(y_arr).all() and (y_arr != np.round(y_arr)).any()):
            i = int(np.argmax(y_arr != np.round(y_arr)))
            raise ValueError(
                f"y given as a 1-D array must hold whole class indices 0..K-1; got {float(y_arr[i])} "
                f"at index {i}. output={output!r} classifies; for regression on real targets "
                "give output='identity'")
        return v.check_y(y, m, K)
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"y must be an array of real targets of shape (m,) or (m, K); got {y!r}")
    Y = np.asarray(y)
    if Y.dtype.kind not in "iufb":
        raise TypeError(f"y must hold real numbers for output='identity'; got dtype {Y.dtype}")
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[0] != m or Y.shape[1] != K:
        raise ValueError(f"y must have shape ({m},{' ' if K != 1 else ''}) or ({m}, {K}) for {m} rows of X "
                         f"and K = {K} output units (layer_sizes[-1]); got shape {np.shape(y)}")
    Y = Y if Y.dtype.type in (np.float32, np.float64) else Y.astype(np.float64)
    v.check_finite_array(Y, "y")
    return None, Y


def check_sample_weight(sample_weight, m):
    """Return the weights as float64 (m,) ≥ 0 with a positive sum, or None."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, (str, bytes)):
        raise TypeError(f"sample_weight must be an array of m = {m} numbers >= 0; got {sample_weight!r}")
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        w = np.full(m, float(sample_weight))
    else:
        w = np.asarray(sample_weight)
        if w.dtype.kind not in "iuf":
            raise TypeError(f"sample_weight must hold real numbers; got dtype {w.dtype}")
        if w.shape != (m,):
            raise ValueError(f"sample_weight must have shape ({m},), one weight per row of X; "
                             f"got shape {w.shape}")
        w = w.astype(np.float64)
    v.check_finite_array(w, "sample_weight")
    if (w < 0).any():
        i = int(np.argmax(w < 0))
        raise ValueError(f"sample_weight must be >= 0; got {w[i]!r} at index {i}")
    if not w.sum() > 0:
        raise ValueError("sample_weight must have a positive sum: every weight is 0")
    return w


def bind(X, y, lam, layer_sizes, loss=None, dtype=None, activation="sigmoid", output="sigmoid",
         sample_weight=None, check_finite=False):
    """Check the arguments of a cost function but θ, once; return the `Problem`.

    Non-finite values in X are found by the first product with X unless
    `check_finite` asks for a scan of X here (the `Objective` makes it once).
    """
    sizes = _check_layer_sizes(layer_sizes)
    check_choice(activation, ACTIVATIONS, "activation")
    output, loss = check_pair(output, loss)
    lam = v.check_lam(lam)
    X = v.check_X(X, sizes[0], check_finite=check_finite)
    idx, Y = check_targets(y, X.shape[0], sizes[-1], output)
    dtype = v.check_dtype(dtype, X)
    w = check_sample_weight(sample_weight, X.shape[0])
    X = v.cast_checked(X, dtype, "X")
    if Y is not None:
        Y = v.cast_checked(Y, dtype, "y")
    scale = 1.0 / (X.shape[0] if w is None else float(w.sum()))
    return Problem(X, idx, Y, w, scale, lam, sizes, activation, output, loss, dtype, n_params(sizes))
