"""The arguments of a cost function but θ, checked once: a `Problem`.

The public cost functions check their arguments on every call; `Objective`
checks them once, when it is made. Both go through `bind`, so that every
entry point accepts and refuses the same things with the same messages.
"""

import numbers
from dataclasses import dataclass, replace

import numpy as np

from . import _validation as v
from .activations import ACTIVATIONS
from .losses import DEFAULT_LOSS, LOSSES, OUTPUTS, PAIRS
from .parameters import _check_layer_sizes, n_params

__all__ = ["Problem", "bind", "is_dask"]


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
    block_rows : int
        Rows of X an evaluation takes at a time (`block_rows`).
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
    block_rows: int

    @property
    def m(self):
        return self.X.shape[0]

    @property
    def in_memory(self):
        """Whether X is a numpy array in memory, in the computing dtype (not read block by block)."""
        return type(self.X) is np.ndarray and self.X.dtype == self.dtype

    def rows(self, rows, **changes):
        """The problem on some rows of X, the targets and weights taken with
        them; `changes` replaces other fields (X given there is not read
        from self.X: a block cast by the caller)."""
        taken = dict(idx=None if self.idx is None else self.idx[rows],
                     Y=None if self.Y is None else self.Y[rows],
                     w=None if self.w is None else self.w[rows])
        if "X" not in changes:
            taken["X"] = self.X[rows]
        return replace(self, **taken, **changes)


#: The activations an evaluation holds at a time, in MiB, unless told otherwise
#: (``working_memory=``): X is taken in blocks of rows that fit.
WORKING_MEMORY = 64


def block_rows(layer_sizes, dtype, working_memory=None):
    """Rows per block so that one block's activations fit in `working_memory` MiB.

    Forward propagation keeps a^(l) for every layer after the input, and
    backpropagation makes a δ for each: about 3·(s_2 + ... + s_L) numbers
    a row, in the computing dtype.
    """
    mib = WORKING_MEMORY if working_memory is None else v.check_real(
        working_memory, "working_memory", "> 0 (MiB)", lambda x: x > 0)
    per_row = 3 * sum(layer_sizes[1:]) * np.dtype(dtype).itemsize
    return max(1, int(mib * 2**20 // per_row))


def is_dask(X):
    """Whether X is a Dask collection (told by its type, without importing Dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "to_delayed")


def _is_out_of_core(X):
    """Whether X is to be read in blocks, never whole: a memmap, or an array-like
    that is not a numpy array (an HDF5 or Zarr dataset) but slices into rows."""
    if isinstance(X, np.memmap):
        return True
    return (not isinstance(X, (np.ndarray, list, tuple)) and hasattr(X, "shape")
            and hasattr(X, "dtype") and hasattr(X, "__getitem__") and len(getattr(X, "shape", ())) == 2)


def _check_out_of_core(X, n_features, check_finite, working_memory):
    """The checks of `_validation.check_X` for X read block by block (no copy of all of X)."""
    kind = np.dtype(X.dtype).kind
    if kind not in "iuf":
        raise TypeError(f"X must hold real numbers; got {type(X).__name__} of dtype {X.dtype}")
    m, n = X.shape
    if m == 0 or n == 0:
        raise ValueError(f"X is empty: got shape {X.shape}; it needs at least one example and one feature")
    if n != n_features:
        raise ValueError(f"X has {n} columns, but the network's input layer has {n_features} units "
                         f"(layer_sizes[0]); give X of shape (m, {n_features})")
    if check_finite and kind == "f":
        rows = block_rows((n, n), np.float64, working_memory)
        for start in range(0, m, rows):
            block = np.asarray(X[start:start + rows])
            try:
                v.check_finite_array(block, "X")
            except ValueError:
                bad = np.argwhere(~np.isfinite(block))[0]
                raise ValueError(f"X must be finite, but X[{start + bad[0]}, {bad[1]}] is "
                                 f"{block[tuple(bad)].item()!r}") from None
    return X


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
         sample_weight=None, check_finite=False, working_memory=None):
    """Check the arguments of a cost function but θ, once; return the `Problem`.

    Non-finite values in X are found by the first product with X unless
    `check_finite` asks for a scan of X here (the `Objective` makes it once).
    A memmap X (or an array-like that slices into rows) is kept as it is
    and read block by block, never whole.
    """
    sizes = _check_layer_sizes(layer_sizes)
    check_choice(activation, ACTIVATIONS, "activation")
    output, loss = check_pair(output, loss)
    lam = v.check_lam(lam)
    v.check_not_sparse(X, "X")
    if _is_out_of_core(X):
        X = _check_out_of_core(X, sizes[0], check_finite, working_memory)
        dtype = v.check_dtype(dtype, np.empty(0, X.dtype))
    else:
        X = v.check_X(X, sizes[0], check_finite=check_finite)
        dtype = v.check_dtype(dtype, X)
        X = v.cast_checked(X, dtype, "X")
    idx, Y = check_targets(y, X.shape[0], sizes[-1], output)
    w = check_sample_weight(sample_weight, X.shape[0])
    if Y is not None:
        Y = v.cast_checked(Y, dtype, "y")
    scale = 1.0 / (X.shape[0] if w is None else float(w.sum()))
    return Problem(X, idx, Y, w, scale, lam, sizes, activation, output, loss, dtype, n_params(sizes),
                   block_rows(sizes, dtype, working_memory))
