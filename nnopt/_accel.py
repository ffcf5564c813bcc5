"""The products with X, or a whole evaluation, through nnopt's C kernels when they apply.

z^(2) = Θ^(1)[:, 1:] Xᵀ + Θ^(1)[:, 0] and Δ^(1)[:, 1:] = δ^(2) X take most
of an evaluation. numpy hands them to OpenBLAS, which copies ("packs") X into
its own layout on every call; with a hidden layer of a few dozen units each
element of X is used only s2 times, so that copy costs about as much as the
arithmetic. `nnopt._kernels` (nnopt/_kernels.c) reads X in place instead,
with register-blocked tiles on every core: about 0.75× OpenBLAS's time in
float64 and 0.65× in float32 on the digits, for up to MAX_HIDDEN units in
the first hidden layer (benchmarks/README.md). For a network with one
hidden layer `network` does the whole evaluation, output layer and cost
included, in one pass over X.

The kernels are built when nnopt is installed, if a C compiler is there;
without them, or for data they do not take (X not C-contiguous, or neither
float32 nor float64), numpy computes the same products. Results agree to
rounding: the sums are taken in a different order.
"""

import contextlib
import os

import numpy as np

from ._threads import blas_single_threaded
from .activations import sigmoid_in_place

try:
    from . import _kernels
except ImportError:  # installed without a C compiler: numpy does the products
    _kernels = None

# The arguments this file passes (API in _kernels.c). setup.py builds the
# kernels as optional: a compile that fails on reinstall leaves the old
# build in place, which numpy then stands in for rather than being called
# with arguments it does not take.
_API = 3
if getattr(_kernels, "API", None) != _API:
    _kernels = None

#: Whether the kernels are used; a switch for tests and benchmarks.
enabled = _kernels is not None

try:
    _CORES = len(os.sched_getaffinity(0))
except AttributeError:  # not on Linux
    _CORES = os.cpu_count() or 1

# Multiply-adds below which a second thread costs more than it saves
# (starting and joining a thread takes tens of µs).
_WORK_PER_THREAD = 2_000_000


def _thread_count(m, n, s2):
    return int(max(1, min(_CORES, m * n * s2 // _WORK_PER_THREAD)))


# Above this many hidden units OpenBLAS's packing of X pays for itself: at
# 100 units the kernels only tie with it in float64 (benchmarks/README.md).
MAX_HIDDEN = 64


def _applies(X, s2):
    return (enabled and s2 <= MAX_HIDDEN and X.dtype in (np.float32, np.float64)
            and X.flags.c_contiguous)


def threads_for(X, s2):
    """The context of an evaluation on X with s2 units in the first hidden
    layer: BLAS on one thread when the kernels take X, so that its spinning
    threads leave the cores to them."""
    return blas_single_threaded() if _applies(X, s2) else contextlib.nullcontext()


def input_layer(Th, X, activate, check=True):
    """z^(2) = Θ^(1)[:, 1:] Xᵀ + Θ^(1)[:, 0], or a^(2) = g(z^(2)).

    Parameters
    ----------
    Th : ndarray, shape (s2, n + 1)
        Θ^(1), in the dtype of X.
    X : ndarray, shape (m, n)
    activate : bool
        Whether to return g(z^(2)) (the kernels compute it as they write
        z^(2)) rather than z^(2).
    check : bool
        Whether to find out if every z^(2) is finite (free in the kernels,
        a pass over z in numpy).

    Returns
    -------
    values : ndarray, shape (s2, m)
        z^(2) or a^(2); F-contiguous (the transpose of an m×s2 array) from
        the kernels, C-contiguous from numpy.
    finite : bool
        Whether every z^(2) was finite (True when not checked). NaN or inf
        in X, or an overflow of the product, makes it False.
    """
    s2 = Th.shape[0]
    if not _applies(X, s2):
        z = _input_layer_numpy(Th[:, 1:], Th[:, :1], X)
        finite = bool(np.isfinite(z).all()) if check else True
        return (sigmoid_in_place(z) if activate else z), finite
    m, n = X.shape
    Wt, S = _transposed_padded(Th, X.dtype)
    Z = np.empty((m, s2), dtype=X.dtype)
    finite = _kernels.forward(X, Wt, Z, m, n, s2, S, X.dtype == np.float32,
                              _thread_count(m, n, s2), activate)
    if not activate and check:
        finite = bool(np.isfinite(Z).all())
    return Z.T, finite


def fuses(X, layer_sizes):
    """Whether `network` takes this problem: one hidden layer, X for the kernels."""
    return len(layer_sizes) == 3 and _applies(X, layer_sizes[1])


#: Values of X in an evaluation's fingerprint (backprop._fingerprint), which
#: `network` takes as it goes (SAMPLE in _kernels.c).
SAMPLE = 64


def network(theta, X, Y, layer_sizes, squared, scale, lam_m, out, keep):
    """A network with one hidden layer, its cost and its gradient, in one C call.

    Each chunk of examples goes through the hidden layer, the output layer,
    the cost, backpropagation and its share of Δ^(1) while it is in cache,
    where the numpy path makes a dozen passes over the activations, three
    small products, and a second pass over X. The cost is computed as
    `nnopt.losses` does, in the form that never takes log(0).

    Parameters
    ----------
    theta : ndarray, shape (n_params,)
        Θ^(1) and Θ^(2) unrolled (`nnopt.unroll`), float64 and contiguous
        whatever the dtype of X: the kernel rounds them to float32 as it
        lays them out, where a cast in numpy cost a pass over θ.
    X : ndarray, shape (m, n)
        As `fuses` takes it.
    Y : ndarray, shape (m, K)
        The targets (one-hot for classes), C-contiguous, in the dtype of X.
    layer_sizes : (n, s2, K)
    squared : bool
        Squared error rather than cross-entropy: δ^(3) then has the factor g′(z^(3)).
    scale : float
        Factor of δ^(3): 1/m makes every Δ^(l) the gradient's (1/m)·Δ^(l).
    lam_m : float
        λ/m, the factor of Θ^(l) added to each gradient off its bias column.
    out : ndarray, shape (n_params,)
        float64, contiguous: overwritten with scale·Δ^(l) + lam_m·Θ^(l)
        (bias columns: no λ term), unrolled as θ is, summed in X's dtype
        and written in float64.
    keep : ndarray, shape (n_params + SAMPLE,)
        float64, contiguous: overwritten with a copy of θ, then the SAMPLE
        values of X that `nnopt.backprop._fingerprint` takes, for the cache
        of the last evaluation: a thread that waits for the weights makes them.

    Returns
    -------
    cost : float
        The summed cost over the examples and outputs (without 1/m and λ).
    squares : float
        Σ Θ² over the non-bias weights of both layers, for the λ term of J.
    finite : bool
        Whether every z^(2) was finite.
    weights_finite : bool
        Whether every weight of Θ^(1) and Θ^(2) was finite (the kernel reads
        them all to lay them out, so the caller need not check θ first).
    """
    (m, n), s2, K = X.shape, layer_sizes[1], layer_sizes[2]
    # θ and the gradient go in flat, as the optimizer has them: the kernel
    # finds each layer in them and lays out the weights for its products
    # itself (weights_f64 in _kernels_tile.h), where numpy took ~0.1 ms a call
    finite, cost, squares, weights_finite = _kernels.network(
        X, theta, Y, out, keep, m, n, s2, K, X.dtype == np.float32, _thread_count(m, n, s2),
        squared, scale, lam_m)
    return cost, squares, finite, weights_finite


def _transposed_padded(Th, dtype):
    """Θᵀ with the biases as row 0, its columns zero-padded to whole vectors; and that width."""
    lanes = 64 // dtype.itemsize
    S = -(-Th.shape[0] // lanes) * lanes
    Wt = np.zeros((Th.shape[1], S), dtype=dtype)
    Wt[:, :Th.shape[0]] = Th.T
    return Wt, S


def _input_layer_numpy(W, b, X):
    # OpenBLAS is faster one way round in float64 (as written, its kernels
    # running along m) and the other way in float32 (X Wᵀ, whose result the
    # bias addition then transposes): benchmarks/README.md.
    if X.dtype == np.float32:
        zt = X @ W.T
        return np.add(zt.T, b, out=np.empty(zt.shape[::-1], dtype=zt.dtype))
    z = W @ X.T
    z += b
    return z


def input_gradient(delta, X, out):
    """Δ^(1) = δ^(2) [1, X], written into `out` by the kernels, if they apply.

    Parameters
    ----------
    delta : ndarray, shape (s2, m)
        δ^(2), in the dtype of X; the kernels take it F-contiguous (as
        `hidden_delta` makes it).
    X : ndarray, shape (m, n)
    out : ndarray, shape (s2, n + 1)
        Overwritten: column 0 with Σ_i δ^(2) (the bias column), the rest
        with δ^(2) X. In practice a view into the gradient vector.

    Returns
    -------
    bool
        Whether the kernels did it; if not, `out` is untouched and the
        caller computes Δ^(1) as it does every other Δ^(l).
    """
    dT = delta.T
    if not (_applies(X, delta.shape[0]) and dT.flags.c_contiguous and dT.dtype == X.dtype
            and out.dtype == X.dtype and _is_column_view(out)):
        return False
    (m, n), s2 = X.shape, delta.shape[0]
    _kernels.backward(X, dT, _flat_from(out), m, n, s2, out.strides[0] // out.itemsize,
                      X.dtype == np.float32, _thread_count(m, n, s2))
    return True


def _is_column_view(out):
    """Whether `out` is rows of equal stride with contiguous columns, as G is."""
    return out.strides[1] == out.itemsize and out.strides[0] >= out.shape[1] * out.itemsize


def _flat_from(out):
    """The memory of `out`, from its first element, as one flat array (a view)."""
    rows, cols = out.shape
    ld = out.strides[0] // out.itemsize
    return np.lib.stride_tricks.as_strided(out, shape=((rows - 1) * ld + cols,),
                                           strides=(out.itemsize,), writeable=True)


def hidden_delta(W, delta, like):
    """Θ^(l)[:, 1:]ᵀ δ^(l+1), in the memory order of the activations `like`.

    Parameters
    ----------
    W : ndarray, shape (s_{l+1}, s_l)
    delta : ndarray, shape (s_{l+1}, m)
    like : ndarray, shape (s_l, m)
        a^(l); when it came from the kernels it is F-contiguous, and δ^(l)
        is made so too, so that δ^(l) ⊙ g′ runs over both in memory order
        and the kernels take δ^(2) without a copy.
    """
    if like.flags.f_contiguous and not like.flags.c_contiguous:
        return (delta.T @ W).T
    return W.T @ delta
