"""The cost J(Θ) and its gradient by vectorized backpropagation.

Index conventions: the articles number layers 1..L and weight matrices
Θ^(1)..Θ^(L-1); in code both are 0-based, so ``thetas[l]`` is Θ^(l+1) and
``a[l]`` is a^(l+1). Activations are kept without their bias unit: instead of
stacking a column of ones onto a^(l) on every call, the bias column Θ[:, 0]
is added separately and the products use the view Θ[:, 1:].

Inside, examples are columns, as in the articles: a[l] has shape (s_l, m)
and z^(l+1) = Θ^(l) a^(l) reads as written. The data X (one example per
row, the users' layout) enters as the view X.T, without a copy.

Speed: the two products with X (z^(2) and Δ^(1)) take most of an
evaluation; `_accel` runs them through nnopt's C kernels when it can. With
one hidden layer, when the gradient is wanted, the kernels do the whole
evaluation in one pass over X (`_accel.network`). Otherwise the rest works
on the m×(s_2 + K) activations in numpy, in place where it can, with no
Python loop over examples. benchmarks/bench_cost.py measures how close that
comes to the products alone.
"""

import copy
import functools
import threading
import weakref

import numpy as np

from . import _accel
from . import _validation as v
from .activations import sigmoid, sigmoid_in_place
from .losses import LOSSES
from .parameters import _check_layer_sizes, n_params, reshape

__all__ = ["cost", "regularized_gradient", "cost_and_gradient", "Objective"]


def _propagate(thetas, X, check_first=True):
    """Forward propagation up to the output layer's z^(L).

    Returns the activations ``a = [a^(1) = X.T, a^(2), ..., a^(L-1)]``,
    each of shape (s_l, m), and z^(L) of shape (K, m). Each hidden a^(l) is
    computed in place over its z^(l): z is not needed again, since g′
    comes from a.
    """
    a = [X.T]
    for l, Th in enumerate(thetas):
        last = l == len(thetas) - 1
        if l == 0:
            # The product with X is where NaN or inf in X would surface; it
            # is checked here, so numpy's own warning is not the message.
            with np.errstate(over="ignore", invalid="ignore"):
                z, finite = _accel.input_layer(Th, X, activate=not last, check=check_first)
            if check_first and not finite:
                _raise_nonfinite(X, Th)
            if not last:
                a.append(z)  # already a^(2) = g(z^(2))
                continue
        else:
            z = Th[:, 1:] @ a[-1]
            z += Th[:, :1]
        if last:
            return a, z
        a.append(sigmoid_in_place(z))


def _forward(thetas, X, check_first=True):
    """Forward propagation: `_propagate` and the network's output.

    Returns the hidden activations and z^(L) as `_propagate` does, and
    h = a^(L) = g(z^(L)) with one row per example, shape (m, K), accurate
    in its tails (for predicted probabilities).
    """
    a, z = _propagate(thetas, X, check_first)
    return a, z, np.ascontiguousarray(sigmoid(z).T)


def _raise_nonfinite(X, Th1):
    """Raise for a non-finite z^(2) = X Θ^(1)ᵀ + bias: NaN or inf in X, or an overflow."""
    v.check_finite_array(X, "X")
    raise ValueError(
        f"X @ Θ^(1)ᵀ overflowed in {X.dtype}: the values are too large for its "
        f"arithmetic (largest |X| is {np.abs(X).max():.3g}, largest |Θ^(1)| is "
        f"{np.abs(Th1).max():.3g}); scale X first, or start from smaller weights"
    )


def _backward(thetas, a, delta, grads):
    """Backpropagation, writing (1/m)·Δ^(l) into ``grads[l]``.

    `delta` is δ^(L), the output error of the summed cost, shape (K, m);
    then δ^(l) = Θ^(l)[:, 1:]ᵀ δ^(l+1) ⊙ g′(z^(l)) and
    Δ^(l) = δ^(l+1) [1, a^(l)ᵀ], scaled by 1/m. The bias row is left out of
    δ^(l) (it has no input). Overwrites `delta` and the hidden activations.
    """
    m = a[0].shape[1]
    delta *= 1.0 / m  # scaling δ^(L) once scales every Δ^(l) by 1/m
    ones = np.ones(m, dtype=delta.dtype)
    for l in range(len(thetas) - 1, -1, -1):
        Th, G = thetas[l], grads[l]
        # Δ^(1), the product with X, through the kernels when they apply
        if not (l == 0 and _accel.input_gradient(delta, a[0].T, out=G)):
            # straight into the gradient vector: G[:, 1:] is a strided view BLAS can write to
            np.matmul(delta, a[l].T, out=G[:, 1:])
            # Σ_i δ_i, the bias column of Δ, as a product: BLAS beats sum(axis=1) here
            np.matmul(delta, ones, out=G[:, 0])
        if l > 0:
            delta = _accel.hidden_delta(Th[:, 1:], delta, like=a[l])
            # ⊙ g′ = a(1 − a), with 1 − a written over a^(l), which is not needed again
            delta *= a[l]
            delta *= np.subtract(1.0, a[l], out=a[l])


def _regularize(grads, thetas, lam, m):
    """Adds (λ/m)·Θ^(l) to each gradient off the bias column."""
    if lam:
        for G, Th in zip(grads, thetas):
            G[:, 1:] += (lam / m) * Th[:, 1:]


def _dense_targets(idx, Y, K, dtype):
    """The targets (class indices, or Y of shape (m, K)) as an (m, K)
    C-contiguous matrix in `dtype`, one-hot for class indices."""
    if Y is not None:
        return np.ascontiguousarray(Y, dtype=dtype)
    T = np.zeros((idx.shape[0], K), dtype=dtype)
    T[np.arange(idx.shape[0]), idx] = 1
    return T


def _regularization(thetas, lam, m):
    """λ/(2m) · Σ Θ² over every non-bias weight."""
    if not lam:
        return 0.0
    return lam / (2.0 * m) * sum(np.einsum("ij,ij->", Th[:, 1:], Th[:, 1:], dtype=np.float64) for Th in thetas)


class _Evaluation:
    """One forward pass at one θ, and the gradient once it is asked for."""

    def __init__(self, theta, X, idx, Y, lam, layer_sizes, loss, dtype, check_first=True,
                 gradient=False, targets=None, check_theta=False, fused=None):
        self.layer_sizes = layer_sizes
        self.lam, self.loss, self.dtype = lam, loss, dtype
        self.idx, self.Y = idx, (None if Y is None else Y.T)  # Y.T: a column per example
        self._grad = None
        self.targets = targets
        # backpropagation works in place on the activations: one caller at a time
        self._lock = threading.Lock()
        m = X.shape[0]
        self.sample = None
        if gradient and _accel.fuses(X, layer_sizes) if fused is None else fused:
            self.a = None
            self.J = self._fused(theta, X, targets, check_first, check_theta)
            return
        self.theta = theta.copy()
        if check_theta:
            v.check_finite_array(self.theta, "theta")
            cast = v.cast_checked(self.theta, dtype, "theta")  # in float32, a θ beyond its range
        else:
            cast = self.theta.astype(dtype, copy=False)  # an optimizer's overflow shows in J
        self.thetas = reshape(cast, layer_sizes)  # read only
        with _accel.threads_for(X, layer_sizes[1]):
            self.a, z_L = _propagate(self.thetas, X, check_first)
        total = LOSSES[loss][0](z_L, idx, self.Y)
        self.J = float(total / m + _regularization(self.thetas, lam, m))
        self.a_L = sigmoid_in_place(z_L)  # the cost was the last use of z^(L)

    def _fused(self, theta, X, targets, check_first, check_theta):
        """J, and the gradient (kept), from the kernels' one pass (`_accel.network`)."""
        m, n = X.shape[0], theta.size
        if targets is None:
            targets = _dense_targets(self.idx, None if self.Y is None else self.Y.T,
                                     self.layer_sizes[-1], self.dtype)
        self.targets = targets  # for the next evaluation on the same targets
        # θ in and the gradient out in float64 whatever the dtype: the kernel
        # converts as it reads and writes them, where numpy would make a pass
        g = np.empty(n)
        keep = np.empty(n + _accel.SAMPLE)
        # no threads_for: this call runs no BLAS product, and switching BLAS's
        # thread count took ~0.13 ms of a 4-8 ms evaluation
        total, squares, finite, weights_finite = _accel.network(
            np.ascontiguousarray(theta), X, targets, self.layer_sizes,
            self.loss == "squared_error", 1.0 / m, self.lam / m, out=g, keep=keep)
        # θ as given, and X's sample (`_fingerprint`), taken by the kernel for the cache
        self.theta, self.sample = keep[:n], keep[n:]
        if check_theta and not weights_finite:
            # raises, naming the first bad index: a NaN or inf, or in float32
            # a weight beyond float32's range (the kernel rounds θ to float32)
            v.check_finite_array(self.theta, "theta")
            v.cast_checked(self.theta, self.dtype, "theta")
        if check_first and not finite:
            s2, n1 = self.layer_sizes[1], X.shape[1] + 1
            _raise_nonfinite(X, self.theta[:s2 * n1])
        self._grad = g
        return float(total / m + self.lam / (2.0 * m) * squares)

    def gradient(self):
        """∂J/∂θ as a float64 vector (computed on first use, then kept)."""
        with self._lock:
            return self._gradient()

    def holds_gradient(self):
        """Whether `gradient` can still answer: not if `take_gradient` took it."""
        return self._grad is not None or self.a is not None

    def take_gradient(self):
        """The gradient for a caller to keep and change as it likes: the kept
        vector itself, which this evaluation then forgets (a copy was a pass
        over it, 20-35 µs right after the kernels), or None if another
        caller took it first."""
        with self._lock:
            if not self.holds_gradient():
                return None
            g = self._gradient()
            self._grad = None
            return g

    def _gradient(self):
        if self._grad is None:
            g = np.empty(self.theta.size, dtype=self.dtype)
            delta = LOSSES[self.loss][1](self.a_L, self.idx, self.Y)
            grads = reshape(g, self.layer_sizes)
            with _accel.threads_for(self.a[0].T, self.layer_sizes[1]):
                _backward(self.thetas, self.a, delta, grads)
            _regularize(grads, self.thetas, self.lam, self.a[0].shape[1])
            self._grad = g.astype(np.float64, copy=False)
            # the activations were overwritten and are no longer needed
            self.a = self.a_L = None
        return self._grad


# The last evaluation, so that cost(θ) followed by regularized_gradient(θ)
# (the articles' minimize(fun=cost, jac=regularized_gradient)) runs one
# forward pass, not two. One entry; readers take a local reference, so a
# concurrent caller can at worst cause a recomputation.
_last = None


def _fingerprint(X):
    """A cheap sample of X to notice in-place changes: 64 values, one in
    each of 64 rows spread over X (taken again from the first when X has
    fewer), its column moving across the row from one sampled row to the
    next (so that images are sampled over their area, not only in a margin
    that is 0 everywhere). 64 cache lines: right after the kernels, 64
    consecutive columns a row took 50-80 µs."""
    return X[_sample(*X.shape)]


@functools.lru_cache(maxsize=8)
def _sample(m, n):
    # the kernels take the same values as they go (network_keep in _kernels.c)
    i = np.arange(_accel.SAMPLE)
    # columns by a step prime to most widths, so that they do not repeat early
    return i * max(1, m // _accel.SAMPLE) % m, (n // 2 + 97 * i) % n


def _state(X, y):
    """What the checks of X and y looked at, beyond their identity: X's
    layout, and y's layout and values (as bytes: np.array_equal took ~0.1 ms
    right after the kernels, a comparison of bytes a third of that)."""
    return X.shape, X.strides, X.dtype, y.shape, y.strides, y.dtype, y.tobytes()


class _Data:
    """What the checks of a call's arguments but θ found, kept for later
    calls on the same data (`_recall`): the same array X, held by a weak
    reference (the memo does not keep X alive), with the same layout; the
    same y with the same values; the same objects for layer_sizes, loss
    and dtype, and an equal float λ. The checks then stand. Run anew on
    every call they took 0.17 ms of Python back to back and 0.32 ms after
    idle, up to 8% of a float32 evaluation of the digits.

    Attributes
    ----------
    sizes, loss, lam, dtype
        As checked; dtype is the computing dtype.
    idx, Y : ndarray or None
        The targets as `_validation.check_y` returns them.
    converted : bool
        Whether X (not float32 or float64) is converted by the checks: the
        conversion is made anew on each call, as X may change in place.
    n : int
        Length of θ.
    targets : ndarray, shape (m, K), or None
        The dense targets of the kernels' pass, once an evaluation made them.
    """

    def __init__(self, X, y, lam, layer_sizes, loss, dtype):
        self.sizes = _check_layer_sizes(layer_sizes)
        self.loss, self.lam = v.check_loss(loss), v.check_lam(lam)
        # non-finite X is caught after the first product
        self.X = v.check_X(X, self.sizes[0], check_finite=False)
        self.idx, self.Y = v.check_y(y, self.X.shape[0], self.sizes[-1])
        self.dtype = v.check_dtype(dtype, self.X)
        self.converted = self.X is not X
        self.n = n_params(self.sizes)
        self.targets = None
        # only arrays themselves can be told unchanged (a list is converted anew each time)
        known = type(X) is np.ndarray and type(y) is np.ndarray
        self.state = _state(X, y) if known else None
        self._X = weakref.ref(X) if known else None
        self._given = (y, layer_sizes, loss, dtype)

    def holds(self, X, y, lam, layer_sizes, loss, dtype):
        """Whether these arguments are the ones this data was checked for, unchanged."""
        given = self._given
        # only data with a state is in the memo, and only it is asked
        return (self._X() is X and y is given[0]
                and layer_sizes is given[1] and loss is given[2] and dtype is given[3]
                and type(layer_sizes) is tuple and type(lam) is float and lam == self.lam
                and _state(X, y) == self.state)

    def checked_X(self, X):
        """X as the checks return it for this call: X itself, or its conversion made anew."""
        return v.check_X(X, self.sizes[0], check_finite=False) if self.converted else X


# The data of the last few calls, the latest first: a caller that goes back
# and forth between data sets (a training and a validation set, float64 and
# float32) runs their checks once each. Replaced whole, never changed in
# place, so that a concurrent reader sees one list or the other.
_MEMO_SIZE = 4
_memo = []


def _recall(X, y, lam, layer_sizes, loss, dtype):
    """The memo's `_Data` for these arguments, moved to the front, or a new one (checked)."""
    global _memo
    memo = _memo
    for i, data in enumerate(memo):
        if data.holds(X, y, lam, layer_sizes, loss, dtype):
            if i:
                _memo = [data] + [d for d in memo if d is not data]
            return data, data.checked_X(X)
    data = _Data(X, y, lam, layer_sizes, loss, dtype)
    Xc, data.X = data.X, None  # the memo holds X by its weak reference only
    if data.state is not None:
        _memo = [data] + memo[:_MEMO_SIZE - 1]
    return data, Xc


_FLOAT64 = np.dtype(np.float64)


def _checked_theta(theta, n, sizes):
    # dtypes of built-in types are singletons: `is` spares a comparison's ~15 µs when cold
    if type(theta) is np.ndarray and theta.dtype is _FLOAT64 and theta.ndim == 1 and theta.size == n:
        return theta
    return v.check_theta(theta, n, sizes)


def _evaluate(theta, X, y, lam, layer_sizes, loss, dtype, gradient, reuse=True, fuse_cost=True):
    """The evaluation at θ: the last call's if it was at the same θ and data
    (and still holds the gradient, if `gradient`), else a new one, kept for
    the next call unless not `reuse`. Without `gradient` a new evaluation
    still takes the kernels' one pass when it applies, unless not
    `fuse_cost`: see `cost`."""
    global _last
    data, Xc = _recall(X, y, lam, layer_sizes, loss, dtype)
    # X in the computing dtype: the same array, or cast anew (X may have changed in place)
    Xd = v.cast_checked(Xc, data.dtype, "X")
    theta = _checked_theta(theta, data.n, data.sizes)
    # θ's finiteness is checked by _Evaluation (in the kernels' pass, when it runs)
    prev = _last
    if (reuse and prev is not None and prev.data is data
            and (not gradient or prev.holds_gradient())
            # one entry first: an optimizer's next θ differs there, and the
            # comparison of the whole vector is a pass over it
            and prev.theta[0] == theta[0] and np.array_equal(prev.theta, theta)
            and np.array_equal(prev.fingerprint, _fingerprint(Xc))):
        return prev
    # asked on each call (~1 µs), not kept with the data: tests and
    # benchmarks switch the kernels off and on (`_accel.enabled`)
    fused = _accel.fuses(Xd, data.sizes) and (gradient or fuse_cost)
    ev = _Evaluation(theta, Xd, data.idx, data.Y, data.lam, data.sizes, data.loss, data.dtype,
                     targets=data.targets, check_theta=True, fused=fused)
    # the (m, K) targets of the fused pass, made once for a run of calls on the same data
    data.targets = ev.targets
    # X's sample: the kernels took it if they read X itself (not a cast of it)
    ev.fingerprint = _fingerprint(Xc) if ev.sample is None or Xd is not Xc else ev.sample
    ev.data = data
    if reuse:
        _last = ev
    return ev


def _owned_gradient(args):
    """J and the gradient at `args` (as `_evaluate` takes them), the
    gradient a vector the caller owns."""
    ev = _evaluate(*args, gradient=True)
    g = ev.take_gradient()
    if g is None:  # another thread took that evaluation's gradient first
        ev = _evaluate(*args, gradient=True, reuse=False)
        g = ev.take_gradient()
    return ev.J, g


_PARAMS_DOC = """
    Parameters
    ----------
    theta : ndarray, shape (n_params,)
        All Θ^(l) unrolled, as made by `nnopt.unroll`.
    X : ndarray, shape (m, n)
        One example per row; n = layer_sizes[0].
    y : ndarray, shape (m,) or (m, K)
        Class indices 0..K−1, or a target matrix (one-hot for classes) with
        K = layer_sizes[-1] columns.
    lam : float
        Regularization strength λ ≥ 0.
    layer_sizes : sequence of int
        Units per layer, input first, for example (784, 25, 10).
    loss : {"cross_entropy", "squared_error"}
        The cost per output unit.
    dtype : {None, numpy.float64, numpy.float32}
        Precision of the arithmetic; None follows X (float64 unless X is
        float32). θ and the returned gradient stay float64. Give X in that
        dtype already to avoid a cast of X on every call. In float32 every
        value of θ and X must lie within ±3.4e38; a ValueError names the
        first one beyond.
"""

_NOTES_DOC = """
    Notes
    -----
    J(Θ) = (1/m) Σ_i Σ_k [−y_k log h_k − (1 − y_k) log(1 − h_k)]
           + λ/(2m) Σ_l Σ_{j, k≥1} (Θ^(l)_jk)²   (cross-entropy), or
    J(Θ) = (1/m) Σ_i ½‖h − y‖² + the same λ term   (squared error).

    The result of the last call is kept, so `cost` then
    `regularized_gradient` at the same θ and data run one forward pass.
    That reuse is keyed on the identity of X and a sample of its values;
    other in-place changes to X between the two calls are not seen. A
    returned gradient is the caller's own array: the kept one is handed
    over, not copied, so a second request for it at the same θ computes
    it again. The checks of X and y run once for each of the last four
    data sets (the same array X, y with the same values), so calls that
    alternate between a training and a validation set do not repeat
    them. That memo refers to X weakly: it does not keep X in memory.
"""


def cost(theta, X, y, lam, layer_sizes, loss="cross_entropy", dtype=None):
    return _evaluate(theta, X, y, lam, layer_sizes, loss, dtype, gradient=False).J


def forward_cost(theta, X, y, lam, layer_sizes, loss="cross_entropy", dtype=None):
    return _evaluate(theta, X, y, lam, layer_sizes, loss, dtype, gradient=False, fuse_cost=False).J


def regularized_gradient(theta, X, y, lam, layer_sizes, loss="cross_entropy", dtype=None):
    return _owned_gradient((theta, X, y, lam, layer_sizes, loss, dtype))[1]


def cost_and_gradient(theta, X, y, lam, layer_sizes, loss="cross_entropy", dtype=None):
    return _owned_gradient((theta, X, y, lam, layer_sizes, loss, dtype))


cost.__doc__ = """The regularized cost J(Θ) of a sigmoid network.
""" + _PARAMS_DOC + """
    Returns
    -------
    J : float
        The cost, finite for any finite input (computed from z^(L) in a
        stable form, never as log(h)).
""" + _NOTES_DOC + """
    For a network with one hidden layer, where nnopt's kernels make the
    whole evaluation in one pass, `cost` computes the gradient alongside
    and keeps it: `regularized_gradient` at the same θ then costs nothing
    more than a second call, and ``minimize(fun=cost,
    jac=regularized_gradient)`` runs at nearly the speed of
    ``minimize(cost_and_gradient, jac=True)``, on the same path (J has the
    same bits either way). J alone thus takes about
    the time of `cost_and_gradient`; `nnopt.forward_cost` computes
    J by forward propagation only.
"""

forward_cost.__doc__ = """J(Θ) by forward propagation alone, with no gradient computed alongside.

    For callers that want J only, at many θ (a numerical gradient) or on
    other data (a validation curve): `cost` with one hidden layer computes
    the gradient too, for a `regularized_gradient` call that may follow.
""" + _PARAMS_DOC + """
    Returns
    -------
    J : float
        As `cost` returns it, to rounding (the sums run in another order).
"""

regularized_gradient.__doc__ = """The gradient ∂J/∂θ by vectorized backpropagation.
""" + _PARAMS_DOC + """
    Returns
    -------
    grad : ndarray of float64, shape (n_params,)
        In the layout of `theta`: (1/m)·Δ^(l) plus (λ/m)·Θ^(l) off the bias
        column.
""" + _NOTES_DOC

cost_and_gradient.__doc__ = """J(Θ) and ∂J/∂θ from a single forward pass.

    This is the form ``scipy.optimize.minimize(..., jac=True)`` takes.
""" + _PARAMS_DOC + """
    Returns
    -------
    J : float
    grad : ndarray of float64, shape (n_params,)
""" + _NOTES_DOC


class Objective:
    """`cost_and_gradient` bound to data that was checked once.

    The optimizers call it hundreds of times on the same X, so X is
    validated (including a full finiteness scan) and cast to the computing
    dtype once, here, and every call goes straight to the arithmetic.

    Parameters
    ----------
    X, y, lam, layer_sizes, loss, dtype
        As for `cost_and_gradient`.

    Attributes
    ----------
    X : ndarray, shape (m, n)
        The data, C-contiguous in the computing dtype.
    idx, Y : ndarray or None
        The targets as class indices (m,) or as a target matrix (m, K);
        one of the two is None.
    n_params : int
        Length of θ.
    n_evals : int
        Evaluations made so far.
    """

    def __init__(self, X, y, lam, layer_sizes, loss="cross_entropy", dtype=None):
        self.layer_sizes = _check_layer_sizes(layer_sizes)
        self.loss = v.check_loss(loss)
        self.lam = v.check_lam(lam)
        X = v.check_X(X, self.layer_sizes[0])
        self.idx, self.Y = v.check_y(y, X.shape[0], self.layer_sizes[-1])
        self.dtype = v.check_dtype(dtype, X)
        self.X = np.ascontiguousarray(v.cast_checked(X, self.dtype, "X"))
        if self.Y is not None:
            self.Y = self.Y.astype(self.dtype, copy=False)
        self.n_params = n_params(self.layer_sizes)
        self.n_evals = 0
        self._recent = []  # (θ, J) of the last few calls, newest last
        self._targets = None  # the targets as (m, K) for the kernels' pass, once made

    def evaluate(self, theta, gradient=True):
        """One evaluation at θ (no checks beyond θ's length).

        Parameters
        ----------
        theta : ndarray, shape (n_params,)
        gradient : bool
            Whether to backpropagate now. With False only J is computed;
            the gradient still follows if asked for later.

        Returns
        -------
        evaluation
            With ``.J`` (float) and ``.gradient()`` (float64, (n_params,)).
        """
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.n_params,):
            v.check_theta(theta, self.n_params, self.layer_sizes)
        ev = _Evaluation(theta, self.X, self.idx, self.Y, self.lam, self.layer_sizes,
                         self.loss, self.dtype, check_first=False, gradient=gradient,
                         targets=self._targets)
        self._targets = ev.targets  # made by the first fused evaluation, then reused
        if gradient:
            ev.gradient()
        self.n_evals += 1
        self._recent.append((ev.theta, ev.J))
        del self._recent[:-8]
        return ev

    def batch(self, rows):
        """The objective on some of the examples, for mini-batch gradient descent.

        Parameters
        ----------
        rows : slice or ndarray of int
            The examples of the batch. A slice of consecutive rows costs no
            copy of X; an index array copies those rows.

        Returns
        -------
        Objective
            Bound to X[rows] and its targets, without new checks, counting
            its own `n_evals`. Its `lam` is λ·b/m for a batch of b of the m
            examples, so that its cost is the batch's mean loss plus the
            whole problem's λ/(2m)·ΣΘ²: the batch gradient is then an
            unbiased estimate of the full gradient.
        """
        batch = copy.copy(self)
        batch.X = self.X[rows]
        if batch.X.ndim != 2 or batch.X.shape[0] == 0:
            raise ValueError(f"a batch needs at least one row of X; rows={rows!r} selects "
                             f"{batch.X.shape[0] if batch.X.ndim == 2 else 'not a set of'} rows")
        batch.idx = None if self.idx is None else self.idx[rows]
        batch.Y = None if self.Y is None else self.Y[rows]
        batch.lam = self.lam * batch.X.shape[0] / self.X.shape[0]
        batch.n_evals = 0
        batch._recent = []
        batch._targets = None
        return batch

    def __call__(self, theta):
        """(J, grad) at θ, for ``minimize(..., jac=True)``."""
        ev = self.evaluate(theta)
        return ev.J, ev.gradient()

    def recorded_cost(self, theta):
        """J at θ if one of the last few calls was at θ, else None."""
        for t, J in reversed(self._recent):
            if np.array_equal(t, theta):
                return J
        return None
