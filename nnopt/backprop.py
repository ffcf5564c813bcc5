"""The cost J(Θ) and its gradient by vectorized backpropagation.

Index conventions: the articles number layers 1..L and weight matrices
Θ^(1)..Θ^(L-1); in code both are 0-based, so ``thetas[l]`` is Θ^(l+1) and
``a[l]`` is a^(l+1). Activations are kept without their bias unit: the
bias column Θ[:, 0] is added on its own and the products use the view
Θ[:, 1:].

Examples are rows, as in X: a[l] has shape (m, s_l), so that the
articles' z^(l+1) = Θ^(l) a^(l) reads ``z = a @ Θ[:, 1:].T + Θ[:, 0]``
and Δ^(l) = δ^(l+1) [1, a^(l)ᵀ] reads ``δᵀ [1, a]``, with δ of shape
(m, s_{l+1}) too. A block of rows of X is then a contiguous slice.

One evaluation path serves every container: J and the gradient are sums
over examples, so X is taken in blocks of rows (`Problem.blocks`), each
block's forward and backward pass done with numpy's BLAS products while
the block is in cache, and the blocks' shares added in their order; a
Dask array's chunks are evaluated by the same function on their workers
(`nnopt._dask`), and their shares added in the same way.

Every function here is pure: it reads its arguments and returns new
arrays, and keeps nothing between calls. Repeated evaluations on the same
data are the business of `nnopt.Objective`, which checks the data once.
"""

import math

import numpy as np

from . import _validation as v
from ._dask import DaskProblem
from ._problem import bind, is_dask
from ._scratch import take
from .activations import sigmoid
from .network import Network

__all__ = ["cost", "regularized_gradient", "cost_and_gradient", "forward_cost"]


def forward(thetas, net, X, check=False, z2=None, scratch=None):
    """Forward propagation up to the output layer's z^(L).

    Parameters
    ----------
    thetas : list of ndarray
        Θ^(l), shape (s_{l+1}, s_l + 1), in the dtype of X.
    net : Network
    X : ndarray, shape (m, n)
    check : bool
        Raise if z^(2) is not finite (X @ Θ^(1)ᵀ overflowed): the units
        would saturate silently and J would look finite.
    z2 : ndarray, shape (m, s_2), optional
        z^(2), when the caller made it (with another product in the same
        pass over X, as the curvature products do); written over.
    scratch : nnopt._scratch.Scratch, optional
        Where z^(l) and a^(l) go, reused from block to block; without it,
        new arrays.

    Returns
    -------
    a : list of ndarray
        ``[a^(1) = X, a^(2), ..., a^(L-1)]``, each of shape (m, s_l).
    z : ndarray, shape (m, K)
        z^(L), the output layer's pre-activations.
    """
    g = net.unit.g
    a = [X]
    for l, Th in enumerate(thetas):
        if l == 0 and z2 is not None:
            z = z2
        elif check and l == 0:
            with np.errstate(over="ignore", invalid="ignore"):  # looked at just below
                z = np.matmul(X, Th[:, 1:].T, out=take(scratch, ("z", l), X.shape[0], Th.shape[0], X.dtype))
                z += bias(Th)
            if not np.isfinite(z).all():
                _raise_overflow(X, Th)
        else:
            z = np.matmul(a[-1], Th[:, 1:].T, out=take(scratch, ("z", l), X.shape[0], Th.shape[0], X.dtype))
            z += bias(Th)
        if l == len(thetas) - 1:
            return a, z
        a.append(g(z))  # a^(l+1) = g(z^(l+1)), written over z: g′ comes from a


def _raise_overflow(X, Th1):
    raise ValueError(
        f"X @ Θ^(1)ᵀ overflowed in {X.dtype}: the values are too large for its arithmetic "
        f"(largest |X| is {np.abs(X).max():.3g}, largest |Θ^(1)| is {np.abs(Th1).max():.3g}); "
        "scale X first, or start from smaller weights")


def bias(Th):
    """Θ[:, 0], the bias column, as a contiguous copy.

    The column is strided (a row of Θ apart): added to every row of z as it
    is, or summed into as it is, it takes about twice as long as through a
    copy, and gives the same bits.
    """
    return Th[:, 0].copy()


def times_inputs(G, delta, a):
    """G = δᵀ [1, a], the form of Δ^(l) = δ^(l+1) [1, a^(l)ᵀ], written into G."""
    np.matmul(delta.T, a, out=G[:, 1:])
    G[:, 0] = delta.sum(axis=0)  # the bias unit's input is 1 (summed into a copy: see `bias`)


def backward(thetas, net, a, delta, out, scratch=None):
    """Backpropagation: Δ^(l) = δ^(l+1) [1, a^(l)ᵀ] for every layer, written into `out`.

    Parameters
    ----------
    thetas : list of ndarray
    net : Network
    a : list of ndarray
        The activations `forward` returned.
    delta : ndarray, shape (m, K)
        δ^(L), the output error, already scaled as the gradient wants it
        (1/m, or each example's weight w_i/Σw); overwritten.
    out : ndarray, shape (n_params,)
        Where the Δ^(l) go, unrolled as θ is.
    scratch : nnopt._scratch.Scratch, optional
        Where δ^(l) and g′ go, reused from block to block.

    Notes
    -----
    Going back, δ^(l) = Θ^(l)[:, 1:]ᵀ δ^(l+1) ⊙ g′(z^(l)), g′ from a^(l);
    the bias row of Θ^(l)ᵀ δ^(l+1) is left out (the bias unit has no input).
    """
    grads = net.thetas(out)
    for l in range(len(thetas) - 1, -1, -1):
        times_inputs(grads[l], delta, a[l])
        if l > 0:
            m, s = a[l].shape
            delta = np.matmul(delta, thetas[l][:, 1:], out=take(scratch, ("delta", l), m, s, delta.dtype))
            delta *= net.unit.derivative(a[l], out=take(scratch, ("g'", l), m, s, delta.dtype))
    return out


def example_weights(p):
    """What each example's error counts in the gradient: 1/m, or w_i/Σw as a column."""
    return p.scale if p.w is None else (p.w * p.scale).astype(p.dtype)[:, None]


def block_share(p, theta, gradient, check=False, out=None, scale=1.0, scratch=None):
    """One block's share of J and of the gradient, without λ's term.

    Parameters
    ----------
    p : Problem
        The block: X in memory, C-contiguous, in the computing dtype.
    theta : ndarray, shape (n_params,)
        θ in the computing dtype.
    gradient : bool
    check : bool
        Raise if X @ Θ^(1)ᵀ overflows (`forward`).
    out : ndarray, shape (n_params,), optional
        A buffer in the computing dtype for the gradient's share, written
        over and returned as it is (mini-batch steps reuse one); without
        it, `scratch`'s, which must then be given.
    scale : float
        A factor for the gradient's share, applied to δ^(L) (shape (b, K))
        rather than to the share (θ's size): a step's learning rate.
    scratch : nnopt._scratch.Scratch, optional
        The evaluation's arrays reused from block to block (`Problem.sums`).

    Returns
    -------
    J : float
        (1/Σw)·Σ_i w_i cost_i over the block's examples (Σw the whole data's).
    grad : ndarray, shape (n_params,), or None
        `out` or the scratch's buffer, in the computing dtype: read it
        before the next block is evaluated.
    """
    net = p.net
    thetas = net.thetas(theta)
    a, z = forward(thetas, net, p.X, check, scratch=scratch)
    J = p.scale * net.pair.cost(z, p.t, p.w)
    if not gradient:
        return J, None
    # δ^(L) from h = a^(L), both written over z^(L): the cost was z's last use
    delta = net.pair.delta(net.pair.output(z), p.t)
    delta *= example_weights(p) * scale
    if out is None:  # read by `add_in_order` before the next block writes it
        out = scratch.take("gradient", 1, theta.size, p.dtype)[0]
    return J, backward(thetas, net, a, delta, out, scratch)


def squared_weights(theta, net):
    """Σ_l Σ_{j, k≥1} (Θ^(l)_jk)², the regularized weights (no bias column).

    In θ's precision, float32 or float64 (anything else as float64): mini-batch
    steps keep a float32 θ and sum it as it is. θ·θ (one BLAS dot over the
    contiguous vector) less the biases' squares: the weights' views Θ[:, 1:]
    are strided, and summing them one by one took longer than a mini-batch's
    products on a wide network. Finite only if every value of θ is, and its
    squares' sum fits θ's precision.
    """
    theta = np.asarray(theta)
    if theta.dtype not in (np.float32, np.float64):
        theta = theta.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # a sum past float64's range is inf, as it should be
        return float(theta @ theta) - sum(float(Th[:, 0] @ Th[:, 0]) for Th in net.thetas(theta))


def add_regularization(J, g, theta, p):
    """J + λ/(2Σw)·ΣΘ², and g + (λ/Σw)·Θ^(l) off the bias column (g changed in place).

    `theta` is the float64 θ. λ = 0 adds nothing, even where ΣΘ² overflows
    to inf (0·inf would be NaN).
    """
    if not p.lam:
        return J
    J += p.lam * p.scale / 2.0 * squared_weights(theta, p.net)
    if g is not None:
        # (λ/Σw)·θ over the whole vector (contiguous), then the biases' share taken back
        g += (p.lam * p.scale) * theta
        for G, Th in zip(p.net.thetas(g), p.net.thetas(theta)):
            G[:, 0] -= (p.lam * p.scale) * Th[:, 0]
    return J


def in_dtype(theta, p, check):
    """θ in the computing dtype; with `check`, refused if not finite or beyond float32's range."""
    if check:
        v.check_finite_array(theta, "theta")
        return v.cast_checked(theta, p.dtype, "theta")
    return theta.astype(p.dtype, copy=False)


def evaluate(theta, p, gradient=True, check=True, scratch=None):
    """J(θ) and ∂J/∂θ for a checked problem `p` (a `Problem`, or a Dask one).

    Parameters
    ----------
    theta : ndarray of float64, shape (n_params,)
    p : Problem or nnopt._dask.DaskProblem
    gradient : bool
        Whether to backpropagate; without, only J is computed (forward
        propagation alone).
    check : bool
        Whether θ is checked (finite; within float32's range in float32)
        and an overflow of X @ Θ^(1)ᵀ or a non-finite J raises. An
        optimizer's step to huge weights shows up in J instead.
    scratch : nnopt._scratch.Scratch, optional
        Arrays to reuse from an earlier evaluation (an `Objective`'s).

    Returns
    -------
    J : float
    grad : ndarray of float64, shape (n_params,), or None
        None when not `gradient`.
    """
    cast = in_dtype(theta, p, check)
    J, g = p.sums(block_share, cast, gradient, check, scratch=scratch)
    J = add_regularization(J, g, theta, p)
    if check and not math.isfinite(J):
        raise ValueError(
            f"the cost is not finite at this theta in {np.dtype(p.dtype).name}: X @ Θ^(1)ᵀ or a later "
            f"product overflowed (largest |θ| is {np.abs(theta).max():.3g}); scale X first, or start "
            "from smaller weights")
    return J, g


def outputs(thetas, net, X):
    """The network's output h = a^(L) for each row of X (an ndarray in the dtype of θ): shape (m, K).

    Sigmoid outputs are computed accurately in their tails (for predicted
    probabilities), softmax rows sum to 1, identity outputs are z^(L).
    """
    _, z = forward(thetas, net, X)
    return sigmoid(z) if net.output == "sigmoid" else net.pair.output(z)


def problem(X, y, lam, net, dtype=None, sample_weight=None, working_memory=None):
    """The checked problem of J's arguments: a `Problem`, or a Dask one for a Dask X.

    Returns the problem and the (smallest, largest) value of X (None for a
    Dask X, whose values are checked on its workers).
    """
    if is_dask(X):  # each chunk checked and evaluated on the worker that holds it
        return DaskProblem(X, y, lam, net, dtype, sample_weight, working_memory), None
    return bind(X, y, lam, net, dtype, sample_weight, working_memory)


def _evaluate_public(theta, X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight,
                     working_memory, gradient):
    p, _ = problem(X, y, lam, Network(layer_sizes, activation, output, loss), dtype, sample_weight,
                   working_memory)
    theta = v.check_theta(theta, p.net.n_params, p.net.layer_sizes)
    return evaluate(theta, p, gradient=gradient)


def cost(theta, X, y, lam, layer_sizes, loss=None, dtype=None, *, activation="sigmoid",
         output="sigmoid", sample_weight=None, working_memory=None):
    return _evaluate_public(theta, X, y, lam, layer_sizes, loss, dtype, activation, output,
                            sample_weight, working_memory, gradient=False)[0]


def forward_cost(theta, X, y, lam, layer_sizes, loss=None, dtype=None, *, activation="sigmoid",
                 output="sigmoid", sample_weight=None, working_memory=None):
    return cost(theta, X, y, lam, layer_sizes, loss, dtype, activation=activation, output=output,
                sample_weight=sample_weight, working_memory=working_memory)


def regularized_gradient(theta, X, y, lam, layer_sizes, loss=None, dtype=None, *,
                         activation="sigmoid", output="sigmoid", sample_weight=None, working_memory=None):
    return cost_and_gradient(theta, X, y, lam, layer_sizes, loss, dtype, activation=activation,
                             output=output, sample_weight=sample_weight,
                             working_memory=working_memory)[1]


def cost_and_gradient(theta, X, y, lam, layer_sizes, loss=None, dtype=None, *,
                      activation="sigmoid", output="sigmoid", sample_weight=None, working_memory=None):
    return _evaluate_public(theta, X, y, lam, layer_sizes, loss, dtype, activation, output,
                            sample_weight, working_memory, gradient=True)


_PARAMS_DOC = """
    Parameters
    ----------
    theta : ndarray, shape (n_params,)
        All Θ^(l) unrolled, as made by `nnopt.unroll`.
    X : ndarray, shape (m, n)
        One example per row; n = layer_sizes[0].
    y : ndarray, shape (m,) or (m, K)
        Class indices 0..K−1, or a target matrix with K = layer_sizes[-1]
        columns: one-hot rows or 0/1 labels (multi-label) for a sigmoid or
        softmax output, real values for an identity output (regression;
        shape (m,) when K = 1).
    lam : float
        Regularization strength λ ≥ 0.
    layer_sizes : sequence of int
        Units per layer, input first, for example (784, 25, 10).
    loss : {None, "cross_entropy", "squared_error"}
        The cost per example. None takes the output's own: cross-entropy
        for sigmoid and softmax outputs, squared error for identity.
    dtype : {None, numpy.float64, numpy.float32}
        Precision of the arithmetic; None follows X (float64 unless X is
        float32). θ and the returned gradient stay float64. In float32
        every value of θ and X must lie within ±3.4e38; a ValueError names
        the first one beyond.
    activation : {"sigmoid", "tanh", "relu"}
        The hidden units (keyword only). ReLU's g′(0) is taken as 0.
    output : {"sigmoid", "softmax", "identity"}
        The output units (keyword only): sigmoid (the course; one-vs-all
        or multi-label), softmax (one class per example), identity
        (regression).
    sample_weight : ndarray, shape (m,), optional
        Weights w_i ≥ 0 of the examples (keyword only); an integer weight
        counts as that many copies of the row.
    working_memory : float, optional
        MiB of activations an evaluation may hold at a time (keyword only;
        default 64). X is always taken in blocks of rows that stay in the
        processor's cache (`nnopt._problem.block_rows`), fewer when the
        working memory allows fewer. X may be a `numpy.memmap`
        (or an array-like that slices into rows): it is then read one
        block at a time, never whole. X may also be a Dask array blocked
        by rows, with a `distributed.Client` running: each block is then
        evaluated on the worker that holds it.
"""

_NOTES_DOC = """
    Notes
    -----
    J(Θ) = (1/Σw) Σ_i w_i cost_i + λ/(2Σw) Σ_l Σ_{j, k≥1} (Θ^(l)_jk)²,
    with Σw = m and w_i = 1 without sample weights, and cost_i the loss of
    example i (`nnopt.losses`): for the course's sigmoid outputs with
    cross-entropy, Σ_k −y_k log h_k − (1 − y_k) log(1 − h_k); with squared
    error, ½‖h − y‖².

    This function keeps nothing between calls: each call checks its
    arguments and computes from them. The articles'
    ``minimize(fun=cost, jac=regularized_gradient, args=(X, y, lam, sizes))``
    therefore makes one forward pass more per iteration than
    ``minimize(cost_and_gradient, jac=True)``; `nnopt.Objective` binds the
    data once and computes one evaluation per distinct θ.
"""

cost.__doc__ = """The regularized cost J(Θ), by forward propagation.
""" + _PARAMS_DOC + """
    Returns
    -------
    J : float
        The cost, finite for any finite input (computed from z^(L) in a
        stable form, never as log(h)).
""" + _NOTES_DOC + """
    J comes from forward propagation alone, the same J, bit for bit, as
    `cost_and_gradient` gives.
"""

forward_cost.__doc__ = """J(Θ) by forward propagation alone: the same function as `cost`.

    Kept for code written when `cost` computed the gradient alongside.
""" + _PARAMS_DOC + """
    Returns
    -------
    J : float
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
