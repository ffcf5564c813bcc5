"""The data of one cost function J(θ), checked once: a `Problem`, and its row blocks.

Every entry point that takes X (the cost functions, `Objective`, `train`,
the curvature products, the model's predictions) turns it into what the
core reads with `as_rows` and checks it with `bind`, so that each accepts
the same containers, refuses the same things with the same messages, and
reports a bad value by its place in X whatever the container.

The core then reads X only through `Problem.blocks`: consecutive rows, cast
to the computing dtype, C-contiguous. The block size depends on the network
and the dtype alone (`block_rows`), never on the container, so the same
data as an array, a memmap, a list or a DataFrame is summed block by block
in the same order and gives the same J and gradient, bit for bit.
"""

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from . import _validation as v
from ._scratch import using
from .network import Network

__all__ = ["Problem", "bind", "as_rows", "is_dask", "block_rows", "add_in_order"]

#: Bytes of one block: its rows of X and their activations. A block that
#: fits in a core's share of the caches is read from there by the second
#: product with X (Δ^(1) = δ^(2)ᵀ X after z^(2) = X Θ^(1)ᵀ), where X whole
#: would come from memory twice. A size, not a tuning: any cache of a few
#: MiB holds it, on any CPU.
BLOCK_BYTES = 4 * 2**20

#: Rows of a block at the least and at the most: below, BLAS's calls cost
#: more than their work; above, the block is past any cache anyway.
MIN_ROWS, MAX_ROWS = 256, 8192

#: How many times the values a block's product Δ^(l) = δ^(l+1)ᵀ a^(l) reads
#: exceed the sums it writes, at the least (see `block_rows`).
WRITES = 4

#: The activations an evaluation holds at a time, in MiB, unless told
#: otherwise (``working_memory=``).
WORKING_MEMORY = 64


def block_rows(net, dtype, working_memory=None):
    """Rows per block: a block of X and its activations in `BLOCK_BYTES`, within the working memory.

    Wide layers get taller blocks: each block's gradient products write
    Θ's size of sums, which must stay small beside what they read (`WRITES`).

    Parameters
    ----------
    net : Network
    dtype : numpy.dtype
        The computing dtype.
    working_memory : float, optional
        MiB an evaluation's activations may take (default `WORKING_MEMORY`).

    Returns
    -------
    int
        A multiple of 64 in [MIN_ROWS, MAX_ROWS], or fewer rows when the
        working memory allows no more (at least 1).
    """
    mib = WORKING_MEMORY if working_memory is None else v.check_real(
        working_memory, "working_memory", "> 0 (MiB)", lambda x: x > 0)
    itemsize = np.dtype(dtype).itemsize
    # forward keeps a^(l) of every layer after the input, backward makes a δ of each
    activations = 3 * sum(net.layer_sizes[1:]) * itemsize
    in_cache = BLOCK_BYTES // (net.n_features * itemsize + activations) // 64 * 64
    # Δ^(l) = δ^(l+1)ᵀ a^(l) over b rows reads b·(s_l + s_{l+1}) values and writes
    # s_l·s_{l+1} sums: b ≥ WRITES·s_l·s_{l+1}/(s_l + s_{l+1}) keeps the writes to
    # 1/WRITES of the reads, where a wide layer would make the cache's block too short
    few_writes = max(math.ceil(WRITES * s * t / (s + t) / 64) * 64
                     for s, t in zip(net.layer_sizes, net.layer_sizes[1:]))
    rows = min(MAX_ROWS, max(MIN_ROWS, in_cache, few_writes))
    return max(1, min(rows, int(mib * 2**20 // activations)))


@dataclass(frozen=True)
class Problem:
    """Checked data and settings of one cost function J(θ).

    Attributes
    ----------
    net : Network
    X : ndarray, memmap or array-like, shape (m, n)
        An ndarray in the computing dtype, or a container read block by
        block (a memmap, an HDF5 or Zarr dataset) in its own dtype.
    t : ndarray, shape (m,) or (m, K)
        The targets: class indices (intp), or a target matrix (one-hot
        rows, 0/1 labels or real values) in the computing dtype.
    w : ndarray of float64, shape (m,), or None
        Sample weights; None counts every example once.
    scale : float
        1/Σw (1/m without weights): the factor of the summed cost and of λ/2·ΣΘ².
    lam : float
    dtype : numpy.dtype
    block_rows : int
    start : int
        The row of the whole data this problem's first row is (0 unless
        it is a block, or a Dask chunk): bad values are reported by their
        row in the whole X.
    """

    net: Network
    X: object
    t: np.ndarray
    w: np.ndarray
    scale: float
    lam: float
    dtype: np.dtype
    block_rows: int
    start: int = 0

    @property
    def m(self):
        return self.X.shape[0]

    @property
    def in_memory(self):
        """Whether X is an ndarray in memory in the computing dtype (a block is read without a copy)."""
        return type(self.X) is np.ndarray and self.X.dtype == self.dtype

    def rows(self, rows, **changes):
        """The problem on some rows (a slice or indices), the targets and weights taken with them.

        X is read now: the rows come back in memory, in the computing dtype.
        `changes` replaces other fields.
        """
        return replace(self, X=read_rows(self.X, rows, self.dtype), t=self.t[rows],
                       w=None if self.w is None else self.w[rows], **changes)

    def blocks(self):
        """The problem's blocks of `block_rows` consecutive rows, in order, each in memory."""
        if self.m <= self.block_rows and self.in_memory and self.X.flags.c_contiguous:
            yield self
            return
        for start in range(0, self.m, self.block_rows):
            yield self.rows(slice(start, start + self.block_rows), start=self.start + start)

    def sums(self, share, *args, scratch=None):
        """Σ over the blocks of ``share(block, *args, scratch=...)``, added in block order (`add_in_order`).

        One `Scratch` serves every block (`scratch`, the caller's, when no
        other sum is using it; else a new one): a block's intermediate
        arrays, even an array it returns, are dead once its share is added.
        """
        with using(scratch) as s:
            return add_in_order(share(block, *args, scratch=s) for block in self.blocks())


def add_in_order(parts):
    """Add tuples of partial sums (floats, float64 arrays or None) element by element, in order.

    One order for every container: the blocks of an array in memory and the
    chunks of a Dask array (one block each, when their sizes agree) are added
    as ((s_1 + s_2) + s_3) + ..., so the same data gives the same bits.
    The first part's arrays are copied into new float64 totals, so that every
    part may return the same buffer (`Problem.sums`'s scratch), read here
    before the next part is made.
    """
    total = None
    for part in parts:
        if total is None:
            total = [np.array(x, dtype=np.float64) if isinstance(x, np.ndarray) else x for x in part]
            continue
        for i, x in enumerate(part):
            if isinstance(x, np.ndarray):
                total[i] += x
            elif x is not None:
                total[i] = total[i] + x
    return tuple(total)


def in_dtype(X, dtype):
    """An ndarray X in the computing dtype (X itself when it is in it already).

    Integers and booleans go through float64 first, whatever the container,
    so that the same values read from an array, a memmap or a Dask chunk
    become the same floats; a finite value beyond float32's range is refused
    by name (`_validation.cast_checked`).
    """
    if X.dtype == dtype:
        return X
    return v.cast_checked(X if X.dtype.kind == "f" else X.astype(np.float64), dtype, "X")


def read_rows(X, rows, dtype):
    """X[rows] as a C-contiguous ndarray in `dtype` (a view where it already is one)."""
    return np.ascontiguousarray(in_dtype(np.asarray(X[rows]), dtype))


def is_dask(X):
    """Whether X is a Dask collection (told by its type, without importing Dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "to_delayed")


def _read_in_blocks(X):
    """Whether X is kept as it is and read in blocks, never whole: a memmap, or an
    array-like that is not an ndarray but has a numpy dtype and slices into rows
    (an HDF5 or Zarr dataset). A PyTorch tensor has a dtype numpy does not know,
    and is converted instead."""
    if isinstance(X, np.memmap):
        return True
    if isinstance(X, np.ndarray) or not all(hasattr(X, a) for a in ("shape", "dtype", "__getitem__")):
        return False
    try:
        np.dtype(X.dtype)
    except TypeError:
        return False
    return len(X.shape) == 2


def as_rows(X, name="X"):
    """X as the core takes it: a Dask array or a container read in blocks as it is,
    anything else (lists, DataFrames, tensors, arrays in any layout) as an ndarray.

    Only the container changes here: the values are checked by `bind`.
    """
    if X is None or isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be a 2-D numeric array of shape (m, n); got {type(X).__name__}")
    v.check_not_sparse(X, name)
    if is_dask(X) or _read_in_blocks(X):
        return X
    try:
        return np.asarray(X)
    except (TypeError, ValueError, RuntimeError) as e:
        # a tensor that requires grad, ragged lists, ...: numpy's message, named
        raise TypeError(f"{name} cannot be read as a numeric array ({type(X).__name__}): {e}") from None


def check_features(X, n_features, name="X"):
    """The shape and kind checks of X without reading its values; returns X (an ndarray as float)."""
    kind = np.dtype(X.dtype).kind
    if kind == "c":
        raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}")
    if kind not in "iufb":
        raise TypeError(f"{name} must hold numbers; got an array of dtype {X.dtype}")
    if len(X.shape) != 2:
        hint = " (use X.reshape(1, -1) for a single example)" if len(X.shape) == 1 else ""
        raise ValueError(f"{name} must be 2-D with shape (m, n); got {len(X.shape)}-D shape "
                         f"{tuple(X.shape)}{hint}")
    m, n = X.shape
    if m == 0 or n == 0:
        raise ValueError(f"{name} is empty: got shape {tuple(X.shape)}; it needs at least one example "
                         "and one feature")
    if n_features is not None and n != n_features:
        raise ValueError(f"{name} has {n} columns, but the network's input layer has {n_features} units "
                         f"(layer_sizes[0]); give {name} of shape (m, {n_features})")
    return X


def value_range(X, name="X", start=0):
    """(smallest, largest) value of X, read once, block by block if X is not in memory.

    Raises a ValueError naming the first NaN or inf by its row and column
    in the whole X (`start` is the row X's first row is there).
    """
    if isinstance(X, np.ndarray) and not isinstance(X, np.memmap):
        return v.finite_range(X, name, start)
    lo, hi = np.inf, -np.inf
    step = max(1, 2**24 // max(1, X.shape[1] * np.dtype(X.dtype).itemsize))  # 16 MiB at a time
    for s in range(0, X.shape[0], step):
        b_lo, b_hi = v.finite_range(np.asarray(X[s:s + step]), name, start + s)
        lo, hi = min(lo, b_lo), max(hi, b_hi)
    return lo, hi


def check_targets(y, m, K, output):
    """The targets as the core takes them: class indices (m,) or an (m, K) matrix.

    A sigmoid or softmax output takes class indices 0..K−1 or targets in
    [0, 1]; an identity output (regression) takes any finite real values,
    shape (m,) when K = 1 or (m, K).
    """
    if output != "identity":
        idx, Y = v.check_y(as_rows(y, "y") if y is not None else y, m, K)
        return idx if Y is None else Y
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"y must be an array of real targets of shape (m,) or (m, K); got {y!r}")
    Y = as_rows(y, "y")
    if Y.dtype.kind not in "iufb":
        raise TypeError(f"y must hold real numbers for output='identity'; got dtype {Y.dtype}")
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[0] != m or Y.shape[1] != K:
        raise ValueError(f"y must have shape ({m},{' ' if K != 1 else ''}) or ({m}, {K}) for {m} rows of X "
                         f"and K = {K} output units (layer_sizes[-1]); got shape {np.shape(y)}")
    Y = Y if Y.dtype.type in (np.float32, np.float64) else Y.astype(np.float64)
    v.check_finite_array(Y, "y")
    return Y


def check_sample_weight(sample_weight, m):
    """The weights as float64 (m,) ≥ 0 with a positive sum, or None."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, (str, bytes)):
        raise TypeError(f"sample_weight must be an array of m = {m} numbers >= 0; got {sample_weight!r}")
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        w = np.full(m, float(sample_weight))
    else:
        w = as_rows(sample_weight, "sample_weight")
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


def bind(X, y, lam, net, dtype=None, sample_weight=None, working_memory=None):
    """Check everything but θ once; return the `Problem` and the range of X's values.

    Parameters
    ----------
    X : array_like, shape (m, n)
        Anything `as_rows` takes but a Dask array (`nnopt._dask` binds those).
    y, lam, net, dtype, sample_weight, working_memory
        As the cost functions take them.

    Returns
    -------
    Problem
    range : tuple of float
        (smallest, largest) value of X, read once: NaN and inf are refused
        there, by their row and column.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a Network; got {type(net).__name__}")  # internal
    lam = v.check_lam(lam)
    X = check_features(as_rows(X), net.n_features)
    dtype = v.check_dtype(dtype, X)
    if type(X) is np.ndarray:  # in memory: cast once here; other containers block by block
        X = in_dtype(X, dtype)
    span = value_range(X)
    t = check_targets(y, X.shape[0], net.K, net.output)
    if t.ndim == 2:
        t = v.cast_checked(t, dtype, "y")
    w = check_sample_weight(sample_weight, X.shape[0])
    scale = 1.0 / (X.shape[0] if w is None else float(w.sum()))
    return Problem(net, X, t, w, scale, lam, dtype, block_rows(net, dtype, working_memory)), span
