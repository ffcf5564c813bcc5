"""The cost J(Θ) and its gradient by vectorized backpropagation.

Index conventions: the articles number layers 1..L and weight matrices
Θ^(1)..Θ^(L-1); in code both are 0-based, so ``thetas[l]`` is Θ^(l+1) and
``a[l]`` is a^(l+1). Activations are kept without their bias unit: instead of
stacking a column of ones onto a^(l), the bias column Θ[:, 0] is added
separately and the products use the view Θ[:, 1:].

Inside, examples are columns, as in the articles: a[l] has shape (s_l, m)
and z^(l+1) = Θ^(l) a^(l) reads as written. The data X (one example per
row, the users' layout) enters as the view X.T, without a copy.

Every function here is pure: it reads its arguments and returns new
arrays, and keeps nothing between calls. Repeated evaluations on the same
data are the business of `nnopt.Objective`, which checks the data once.

Speed: the two products with X (z^(2) and Δ^(1)) take most of an
evaluation; `_accel` runs them through nnopt's C kernels when it can. For
the course's network (one hidden layer of sigmoid units, sigmoid outputs,
no sample weights), when the gradient is wanted, the kernels do the whole
evaluation in one pass over X (`_accel.network`).
"""

import numpy as np

from . import _accel
from . import _validation as v
from ._problem import bind, is_dask
from .activations import ACTIVATIONS, sigmoid
from .losses import OUTPUTS, PAIRS
from .parameters import reshape

__all__ = ["cost", "regularized_gradient", "cost_and_gradient", "forward_cost"]


def forward(thetas, X, activation="sigmoid", check_first=True):
    """Forward propagation up to the output layer's z^(L).

    Parameters
    ----------
    thetas : list of ndarray
        Θ^(l), shape (s_{l+1}, s_l + 1), in the dtype of X.
    X : ndarray, shape (m, n)
    activation : str
        The hidden units (`nnopt.activations.ACTIVATIONS`).
    check_first : bool
        Raise if z^(2) is not finite (NaN or inf in X, or an overflow).

    Returns
    -------
    a : list of ndarray
        ``[a^(1) = X.T, a^(2), ..., a^(L-1)]``, each of shape (s_l, m).
    z : ndarray, shape (K, m)
        z^(L), the output layer's pre-activations.
    """
    g = ACTIVATIONS[activation][0]
    a = [X.T]
    for l, Th in enumerate(thetas):
        last = l == len(thetas) - 1
        if l == 0:
            # z^(2) = Θ^(1) [1, X]ᵀ; the kernels apply the sigmoid as they write it
            fused_g = activation == "sigmoid" and not last
            with np.errstate(over="ignore", invalid="ignore"):  # checked just below
                z, finite = _accel.input_layer(Th, X, activate=fused_g, check=check_first)
            if check_first and not finite:
                _raise_nonfinite(X, Th)
            if fused_g:
                a.append(z)
                continue
        else:
            z = Th[:, 1:] @ a[-1]
            z += Th[:, :1]
        if last:
            return a, z
        a.append(g(z))  # a^(l+1) = g(z^(l+1)), written over z: g′ comes from a


def backward(thetas, a, delta, activation="sigmoid", out=None):
    """Backpropagation: Δ^(l) = δ^(l+1) [1, a^(l)ᵀ] for every layer.

    Parameters
    ----------
    thetas : list of ndarray
    a : list of ndarray
        The activations `forward` returned; overwritten (g′ is written over them).
    delta : ndarray, shape (K, m)
        δ^(L), the output error, already scaled as the gradient wants it
        (1/m, or each example's weight w_i/Σw); overwritten.
    activation : str
    out : ndarray, shape (n_params,), optional
        Where to write the Δ^(l), unrolled as θ is.

    Returns
    -------
    ndarray, shape (n_params,)
        The Δ^(l), unrolled. Going back, δ^(l) = Θ^(l)[:, 1:]ᵀ δ^(l+1) ⊙ g′(z^(l));
        the bias row of Θ^(l)ᵀ δ^(l+1) is left out (the bias unit has no input).
    """
    times_gprime = ACTIVATIONS[activation][1]
    if out is None:
        out = np.empty(sum(Th.size for Th in thetas), dtype=delta.dtype)
    grads = reshape(out, [a[0].shape[0]] + [Th.shape[0] for Th in thetas])
    for l in range(len(thetas) - 1, -1, -1):
        times_inputs(grads[l], delta, a[l], first=l == 0)
        if l > 0:
            delta = _accel.hidden_delta(thetas[l][:, 1:], delta, like=a[l])
            delta = times_gprime(delta, a[l])
    return out


def times_inputs(G, delta, a, first):
    """G = δ [1, aᵀ], the form of Δ^(l) = δ^(l+1) [1, a^(l)ᵀ], written into G.

    `first`: whether a is a^(1) = Xᵀ, whose product goes through the
    kernels when they apply.
    """
    if first and _accel.input_gradient(delta, a.T, out=G):
        return
    np.matmul(delta, a.T, out=G[:, 1:])
    # Σ_i δ_i, the bias column of Δ, as a product: BLAS beats sum(axis=1) here
    np.matmul(delta, np.ones(delta.shape[1], dtype=delta.dtype), out=G[:, 0])


def squared_weights(thetas):
    """Σ_l Σ_{j, k≥1} (Θ^(l)_jk)², the regularized weights (no bias column)."""
    return sum(float(np.einsum("ij,ij->", Th[:, 1:], Th[:, 1:], dtype=np.float64)) for Th in thetas)


def regularization(thetas, lam, scale):
    """λ·scale/2 · ΣΘ² over every non-bias weight (scale = 1/m): the λ term of J.

    0 for λ = 0 whatever the weights, even where ΣΘ² overflows to inf.
    """
    if not lam:
        return 0.0
    with np.errstate(over="ignore"):
        return lam * scale / 2.0 * squared_weights(thetas)


def evaluate(theta, p, gradient=True, check=True, targets=None, copy_theta=False):
    """J(θ) and ∂J/∂θ for a checked problem `p` (`nnopt._problem.Problem`).

    The cost is a sum over examples, so X is taken in blocks of
    ``p.block_rows`` rows (all of X when it fits in the working memory):
    each block's share of J and of the Δ^(l) is added up, and λ's term
    once, at the end. The activations held at any time are those of one
    block, whatever m is.

    Parameters
    ----------
    theta : ndarray of float64, shape (n_params,)
    p : Problem
    gradient : bool
        Whether to backpropagate; without, only J is computed (forward
        propagation alone).
    check : bool
        Whether θ is checked (finite; within float32's range in float32)
        and a non-finite z^(2) raises. An optimizer's step to huge weights
        shows up in J instead.
    targets : ndarray, shape (m, K), optional
        The dense targets of the kernels' pass (`dense_targets`), when the
        caller keeps them; made here if needed and not given.
    copy_theta : bool
        Also return a copy of θ, for a caller that keeps the evaluation
        (the kernels' pass makes one as it reads θ, at no extra cost).

    Returns
    -------
    J : float
    grad : ndarray of float64, shape (n_params,), or None
        None when not `gradient`.
    theta_copy : ndarray of float64, shape (n_params,)
        Only with `copy_theta`.
    """
    if gradient and p.block_rows >= p.m and fuses(p):
        J, g, kept = _fused(theta, p, check, targets)  # θ's checks: by the kernel, as it reads θ
        return (J, g, kept) if copy_theta else (J, g)
    J, g = _evaluate_in_blocks(theta, p, gradient, check, targets)
    return (J, g, theta.copy()) if copy_theta else (J, g)


def _evaluate_in_blocks(theta, p, gradient, check, targets):
    """`evaluate` by forward propagation and backpropagation in numpy (the
    products with X through the kernels), over blocks of rows when X does
    not fit in one."""
    if check:
        v.check_finite_array(theta, "theta")
        cast = v.cast_checked(theta, p.dtype, "theta")  # in float32, a θ beyond its range
    else:
        cast = theta.astype(p.dtype, copy=False)
    thetas = reshape(cast, p.layer_sizes)
    if p.block_rows >= p.m and p.in_memory:
        return _evaluate_block(theta, thetas, p, gradient, check, targets)
    J, g = 0.0, (np.zeros(theta.size) if gradient else None)
    for start in range(0, p.m, p.block_rows):
        rows = slice(start, start + p.block_rows)
        block = p.rows(rows, X=_block_of(p.X, rows, p.dtype), lam=0.0)  # the whole X's scale
        J_b, g_b = _evaluate_block(theta, thetas, block, gradient, check,
                                   None if targets is None else targets[rows])
        J += J_b
        if gradient:
            g += g_b
    J += regularization(thetas, p.lam, p.scale)
    if gradient:
        _add_regularization(g, thetas, p)
    return J, g


def _block_of(X, rows, dtype):
    """Rows of X as a C-contiguous array in `dtype`: read from X (a memmap
    or another array that slices) only now, and cast block by block."""
    block = np.asarray(X[rows])
    return np.ascontiguousarray(v.cast_checked(block, dtype, "X"))


def _add_regularization(g, thetas, p):
    """+ (λ/m)·Θ^(l) off the bias column, into the float64 gradient g."""
    if p.lam:
        for G, Th in zip(reshape(g, p.layer_sizes), thetas):
            G[:, 1:] += (p.lam * p.scale) * Th[:, 1:]


def _evaluate_block(theta, thetas, p, gradient, check, targets):
    """J and the gradient on all rows of p.X (a block, or all of X), λ's term included."""
    if gradient and fuses(p):  # a block of a large X: the kernels' pass for it
        return _fused(theta, p, check, targets)[:2]
    Yt = None if p.Y is None else p.Y.T  # a column per example
    loss_of, delta_of = PAIRS[p.output, p.loss]
    with _accel.threads_for(p.X, p.layer_sizes[1]):
        a, z = forward(thetas, p.X, p.activation, check_first=check)
        J = p.scale * loss_of(z, p.idx, Yt, p.w) + regularization(thetas, p.lam, p.scale)
        if not gradient:
            return J, None
        # δ^(L) from h = a^(L), written over z^(L): the cost was z's last use
        delta = delta_of(OUTPUTS[p.output](z), p.idx, Yt)
        # each example's error counts w_i/Σw (1/m unweighted): this scales every Δ^(l)
        delta *= p.scale if p.w is None else (p.w * p.scale).astype(p.dtype)
        g = backward(thetas, a, delta, p.activation).astype(np.float64, copy=False)
    _add_regularization(g, thetas, p)
    return J, g


def fuses(p):
    """Whether the kernels' one pass (`_accel.network`) computes this problem:
    the course's network (one hidden layer, sigmoid units and outputs), no
    sample weights, and X as the kernels read it."""
    return (p.activation == "sigmoid" and p.output == "sigmoid" and p.w is None
            and p.in_memory and _accel.fuses(p.X, p.layer_sizes))


def dense_targets(p):
    """The targets as an (m, K) C-contiguous matrix in the problem's dtype, one-hot for classes."""
    if p.Y is not None:
        return np.ascontiguousarray(p.Y, dtype=p.dtype)
    T = np.zeros((p.m, p.layer_sizes[-1]), dtype=p.dtype)
    T[np.arange(p.m), p.idx] = 1
    return T


def _fused(theta, p, check, targets):
    """J and the gradient from the kernels' one pass (`_accel.network`)."""
    n = theta.size
    # θ in and the gradient out in float64 whatever the dtype: the kernel
    # converts as it reads and writes them
    g = np.empty(n)
    keep = np.empty(n + _accel.SAMPLE)  # the kernel's copy of θ, then a sample of X (unused)
    total, squares, finite, weights_finite = _accel.network(
        np.ascontiguousarray(theta), p.X, dense_targets(p) if targets is None else targets,
        p.layer_sizes, p.loss == "squared_error", p.scale, p.lam * p.scale, out=g, keep=keep)
    if check and not weights_finite:
        # raises, naming the first bad index: a NaN or inf, or in float32
        # a weight beyond float32's range (the kernel rounds θ to float32)
        v.check_finite_array(theta, "theta")
        v.cast_checked(theta, p.dtype, "theta")
    if check and not finite:
        s2, n1 = p.layer_sizes[1], p.X.shape[1] + 1
        _raise_nonfinite(p.X, theta[:s2 * n1])
    # λ = 0 adds nothing, even where ΣΘ² overflowed to inf (0·inf would be NaN)
    penalty = p.lam * p.scale / 2.0 * squares if p.lam else 0.0
    return float(total * p.scale + penalty), g, keep[:n]


def _raise_nonfinite(X, Th1):
    """Raise for a non-finite z^(2) = X Θ^(1)ᵀ + bias: NaN or inf in X, or an overflow."""
    v.check_finite_array(X, "X")
    raise ValueError(
        f"X @ Θ^(1)ᵀ overflowed in {X.dtype}: the values are too large for its "
        f"arithmetic (largest |X| is {np.abs(X).max():.3g}, largest |Θ^(1)| is "
        f"{np.abs(Th1).max():.3g}); scale X first, or start from smaller weights"
    )


def output(thetas, X, activation="sigmoid", output="sigmoid"):
    """The network's output h = a^(L), one row per example: shape (m, K).

    Sigmoid outputs are computed accurately in their tails (for predicted
    probabilities), softmax rows sum to 1, identity outputs are z^(L).
    """
    _, z = forward(thetas, X, activation, check_first=False)
    h = sigmoid(z) if output == "sigmoid" else OUTPUTS[output](z)
    return np.ascontiguousarray(h.T)


def _checked(theta, X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight,
             working_memory):
    p = bind(X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight,
             working_memory=working_memory)
    return v.check_theta(theta, p.n_params, p.layer_sizes), p


def _evaluate_public(theta, X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight,
                     working_memory, gradient):
    args = (X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight, working_memory)
    if is_dask(X):  # a Dask array: on its workers (nnopt._dask)
        from ._dask import DaskProblem
        dp = DaskProblem(*args)
        return dp.evaluate(v.check_theta(theta, dp.problem.n_params, dp.problem.layer_sizes), gradient)
    theta, p = _checked(theta, *args)
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
        default 64): X is taken in blocks of rows that fit, and J and the
        gradient are summed over the blocks. X may be a `numpy.memmap`
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
    J comes from forward propagation alone. With the course's network,
    `cost_and_gradient` takes its J from nnopt's C kernels, which add in
    another order: the two agree to rounding, not bit for bit.
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
