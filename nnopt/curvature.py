"""Exact curvature of J(θ): Hessian-vector products H·v and Gauss-Newton products G·v.

Both come from Pearlmutter's R-operator, R{f} = d/dr f(θ + r·v) at r = 0
(Pearlmutter 1994): every line of forward propagation and of
backpropagation is differentiated once more, along the direction v. The
forward R-pass gives R{z^(l)} and R{a^(l)}; the backward R-pass gives
R{δ^(l)}, and R{Δ^(l)} = R{∂J/∂Θ^(l)} is H·v. A product never forms H,
which has n_params² entries.

The Gauss-Newton matrix G = Jᵀ H_L J (+ the λ term) keeps only the
curvature of the loss in the output pre-activations z^(L): J is the
Jacobian of z^(L) in θ and H_L the Hessian of the loss in z^(L), which is
positive semi-definite for every pair of `nnopt.losses.PAIRS`, so G is too
(Schraudolph 2002); H drops that guarantee where the network curves. The
G·v pass is the H·v pass without the terms in δ^(l): a forward R-pass, then
R{δ^(L)} = H_L R{z^(L)} backpropagated as an ordinary error.

This module keeps only the R-passes: g′ and g″/g′ come from the
activations table, H_L from the losses table, and X is read block by
block as backpropagation reads it (`nnopt.backprop`), whose index
conventions hold here (``thetas[l]`` is Θ^(l+1), ``a[l]`` is a^(l+1),
examples are rows). Lists here are indexed by the weight matrix:
``delta[l]`` is δ^(l+2), the error of the units Θ^(l+1) feeds, so that
Δ^(l+1) = δ^(l+2) [1, a^(l+1)ᵀ] reads ``delta[l]`` with ``a[l]``.
"""

import numpy as np

from . import _validation as val
from ._problem import add_in_order, bind, is_dask
from .backprop import bias, example_weights, forward, in_dtype, times_inputs
from .network import Network

__all__ = ["hessian_vector_product", "gauss_newton_product", "Curvature", "at"]


class _Block:
    """The forward pass of one block at θ, and (made when H·v first asks) its δ^(l).

    Given the first direction V, z^(2) = X Θ^(1)ᵀ and R{z^(2)} = X V^(1)ᵀ
    come from one product with the two stacked, one pass over the block's X
    where two products would make two; R{z^(2)} is kept for that first
    product.
    """

    def __init__(self, block, thetas, V=None):
        net = block.net
        z2 = self.Rz2 = None
        if V is not None:
            s2 = thetas[0].shape[0]
            both = block.X @ np.vstack([thetas[0][:, 1:], V[0][:, 1:]]).T
            z2 = both[:, :s2] + bias(thetas[0])
            self.Rz2 = both[:, s2:] + bias(V[0])
        self.a, z = forward(thetas, net, block.X, z2=z2)
        self.a[0] = None  # X itself is read again from the block, not kept
        self.gprime = [None] + [net.unit.derivative(a) for a in self.a[1:]]  # g′(z^(l))
        self.h = net.pair.output(z)  # written over z^(L)
        self.weights = example_weights(block)
        self.deltas = None

    def make_deltas(self, block, thetas):
        """δ^(l+1) of every layer H·v reads, the unscaled δ^(L), and (g″/g′)(z^(l)) ⊙ Θ^(l)ᵀ δ^(l+1)
        of the hidden layers: those of the gradient at θ, whatever v, so made once.
        δ^(2), which only Δ^(1) would read, is not made."""
        if self.deltas is None:
            net = block.net
            error = net.pair.delta(self.h.copy(), block.t)  # on a copy: the products keep h
            delta = [None] * len(thetas)
            curve = [None] * len(thetas)
            delta[-1] = error * self.weights
            for l in range(len(thetas) - 1, 0, -1):
                if l == 1 and net.unit.ratio is None:
                    break  # ReLU: neither δ^(2) nor a curve term to make
                back = delta[l] @ thetas[l][:, 1:]
                if l > 1:
                    delta[l - 1] = back * self.gprime[l]
                if net.unit.ratio is not None:
                    curve[l] = net.unit.ratio(self.a[l])
                    curve[l] *= back
            self.deltas = (delta, error, curve)
        return self.deltas


class Curvature:
    """The network at one θ, kept for any number of products H·v and G·v there.

    The forward pass (activations, g′ and the outputs) does not depend on v;
    nor do the δ^(l) that H·v also needs, which are made at its first call.
    Each product then makes one forward and one backward R-pass over X's
    blocks, reading X twice (R{z^(2)} = X V^(1)ᵀ and R{Δ^(1)} = R{δ^(2)}ᵀ X),
    as a gradient does.

    Parameters
    ----------
    theta : ndarray of float64, shape (n_params,)
    p : nnopt._problem.Problem
    check : bool
        Whether θ is checked (finite; within float32's range in float32).
    """

    def __init__(self, theta, p, check=True, v=None):
        self.p = p
        self.thetas = p.net.thetas(in_dtype(theta, p, check))
        # the first direction's products with X ride on the forward pass (`_Block`)
        self._first = None if v is None else v.astype(p.dtype, copy=False)
        V = None if v is None else p.net.thetas(self._first)
        self._blocks = [_Block(block, self.thetas, V) for block in p.blocks()]

    def hessp(self, v, check=True):
        """H·v, the exact Hessian of J at θ times v: float64, shape (n_params,)."""
        return self._product(v, exact=True, check=check)

    def gauss_newton(self, v, check=True):
        """G·v, the Gauss-Newton matrix of J at θ times v: float64, shape (n_params,)."""
        return self._product(v, exact=False, check=check)

    def _product(self, v, exact, check):
        p = self.p
        if check:
            v = _checked_direction(v, p)
        cast = v.astype(p.dtype, copy=False)
        first = self._first is not None and (cast is self._first or np.array_equal(cast, self._first))
        self._first = None  # R{z^(2)} of the first direction serves one product
        V = p.net.thetas(cast)
        (out,) = add_in_order((self._block_product(kept, block, V, exact, first),)
                              for kept, block in zip(self._blocks, p.blocks()))
        # λ/(2Σw)·ΣΘ² has Hessian λ/Σw on every non-bias weight, 0 on the biases
        if p.lam:
            for R, W in zip(p.net.thetas(out), V):
                R[:, 1:] += (p.lam * p.scale) * W[:, 1:]
        return out

    def _block_product(self, kept, block, V, exact, first):
        Rz2, kept.Rz2 = kept.Rz2 if first else None, None
        Ra, RzL = self._r_forward(kept, block.X, V, Rz2)
        delta, error, curve = kept.make_deltas(block, self.thetas) if exact else (None, None, None)
        Rdelta = block.net.pair.hessian(kept.h, RzL, error, block.t)
        Rdelta *= kept.weights
        out = self._r_backward(kept, block.X, V, Rdelta, Ra, delta, curve)
        return out.astype(np.float64, copy=False)

    def _r_forward(self, kept, X, V, Rz2=None):
        """R{a^(l)} of the hidden layers (None for the input), and R{z^(L)}.

        `Rz2`: R{z^(2)} when the forward pass made it (written over)."""
        # R{z^(2)} = V^(1) [1, X]ᵀ: the input a^(1) = X does not move with θ
        if Rz2 is None:
            z = X @ V[0][:, 1:].T
            z += bias(V[0])
        else:
            z = Rz2
        Ra = [None]
        for l in range(1, len(self.thetas)):
            z *= kept.gprime[l]  # R{a} = g′(z) ⊙ R{z}, written over R{z}
            Ra.append(z)
            # R{z^(l+1)} = Θ^(l) [0, R{a^(l)}] + V^(l) [1, a^(l)]
            z = Ra[l] @ self.thetas[l][:, 1:].T
            z += kept.a[l] @ V[l][:, 1:].T
            z += bias(V[l])
        return Ra, z

    def _r_backward(self, kept, X, V, Rdelta, Ra, delta, curve):
        """R{Δ^(l)} of every layer, unrolled as θ, from R{δ^(L)}.

        Gauss-Newton (`delta` None) backpropagates R{δ^(L)} as an ordinary
        error: R{δ^(l)} = Θ^(l)ᵀ R{δ^(l+1)} ⊙ g′. The exact Hessian adds the
        terms of the product rule in δ^(l+1), V^(l) and g′(z^(l)). The
        R{a^(l)} are written over.
        """
        net, thetas = self.p.net, self.thetas
        out = np.empty(net.n_params, dtype=self.p.dtype)
        grads = net.thetas(out)
        for l in range(len(thetas) - 1, -1, -1):
            # R{Δ^(l)} = R{δ^(l+1)} [1, a^(l)ᵀ] + δ^(l+1) [0, R{a^(l)}ᵀ]; R{a^(1)} = 0
            times_inputs(grads[l], Rdelta, X if l == 0 else kept.a[l])
            if l == 0:
                break
            if delta is None:
                Rdelta = Rdelta @ thetas[l][:, 1:]
                Rdelta *= kept.gprime[l]
                continue
            grads[l][:, 1:] += delta[l].T @ Ra[l]
            # R{δ^(l)} = (Θᵀ R{δ^(l+1)} + Vᵀ δ^(l+1)) ⊙ g′ + (Θᵀ δ^(l+1)) ⊙ g″ ⊙ R{z^(l)}:
            # the first two terms as one product [R{δ}, δ] [Θ; V], the last
            # as curve ⊙ R{a^(l)}, written over R{a^(l)}, which is done with
            back = np.hstack([Rdelta, delta[l]]) @ np.vstack([thetas[l][:, 1:], V[l][:, 1:]])
            back *= kept.gprime[l]
            if curve[l] is not None:
                Ra[l] *= curve[l]
                back += Ra[l]
            Rdelta = back
        return out


def check_direction(v, n_params):
    """v as a finite 1-D float array of length n_params, or a ValueError/TypeError naming v."""
    if isinstance(v, (str, bytes)) or v is None:
        raise TypeError(f"v must be a 1-D direction vector of length {n_params}, as theta; "
                        f"got {type(v).__name__}")
    v = np.asarray(v)
    if v.dtype.kind not in "iuf":
        raise TypeError(f"v must hold real numbers; got dtype {v.dtype}")
    if v.shape != (n_params,):
        raise ValueError(f"v must be a 1-D vector of length {n_params}, the length of theta; "
                         f"got shape {v.shape}")
    val.check_finite_array(v, "v")
    return v if v.dtype.kind == "f" else v.astype(np.float64)


def _checked_direction(v, p):
    """v checked (`check_direction`) and in the problem's dtype, refused if beyond float32's range."""
    v = check_direction(v, p.net.n_params)
    return val.cast_checked(v, p.dtype, "v")


def at(theta, p, check=True, v=None):
    """The `Curvature` of J at θ, for several products there (the forward pass is shared);
    `v`, the first direction, if known."""
    return Curvature(theta, p, check, v)


def hessp(theta, v, p, check=True):
    """H·v at θ on a checked problem `p`: float64, shape (n_params,).

    With `check`, v is checked (length, finite values) before any work,
    then θ (finite).
    """
    if check:
        v = _checked_direction(v, p)
    return Curvature(theta, p, check, v).hessp(v, check=False)


def gauss_newton(theta, v, p, check=True):
    """G·v at θ on a checked problem `p`: float64, shape (n_params,); `check` as in `hessp`."""
    if check:
        v = _checked_direction(v, p)
    return Curvature(theta, p, check, v).gauss_newton(v, check=False)


NO_DASK = ("curvature products read X block by block on this machine; a Dask array is not "
           "supported: compute it into memory (X.compute()) or use a method without them "
           "('L-BFGS-B', 'TNC', 'CG', 'gd')")


def checked(theta, X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight):
    """(θ, Problem) of the public functions' arguments."""
    if is_dask(X):
        raise ValueError(NO_DASK)
    p, _ = bind(X, y, lam, Network(layer_sizes, activation, output, loss), dtype, sample_weight)
    return val.check_theta(theta, p.net.n_params, p.net.layer_sizes), p


def hessian_vector_product(theta, v, X, y, lam, layer_sizes, loss=None, dtype=None, *,
                           activation="sigmoid", output="sigmoid", sample_weight=None):
    theta, p = checked(theta, X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight)
    return hessp(theta, v, p)


def gauss_newton_product(theta, v, X, y, lam, layer_sizes, loss=None, dtype=None, *,
                         activation="sigmoid", output="sigmoid", sample_weight=None):
    theta, p = checked(theta, X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight)
    return gauss_newton(theta, v, p)


_PARAMS_DOC = """
    Parameters
    ----------
    theta : ndarray, shape (n_params,)
        The point: all Θ^(l) unrolled, as made by `nnopt.unroll`.
    v : ndarray, shape (n_params,)
        The direction, unrolled as theta; finite.
    X : ndarray, shape (m, n)
    y : ndarray, shape (m,) or (m, K)
    lam : float
    layer_sizes : sequence of int
    loss : {None, "cross_entropy", "squared_error"}
    dtype : {None, numpy.float64, numpy.float32}
        Precision of the arithmetic; θ, v and the result stay float64.
    activation : {"sigmoid", "tanh", "relu"}
    output : {"sigmoid", "softmax", "identity"}
    sample_weight : ndarray, shape (m,), optional
        All as `nnopt.cost` takes them: the product is that of the
        curvature of the same J.
"""

hessian_vector_product.__doc__ = """H·v, the exact Hessian of J(θ) times a vector, for about two gradients' cost.
""" + _PARAMS_DOC + """
    Returns
    -------
    ndarray of float64, shape (n_params,)
        H·v, unrolled as θ.

    Notes
    -----
    Pearlmutter's R-operator, R{f} = d/dr f(θ + r·v) at r = 0, applied to
    forward propagation and to backpropagation (1-based layers as in the
    articles, V^(l) the part of v that Θ^(l) has, g′ and g″ at z^(l))::

        R{z^(2)} = V^(1) [1, X]ᵀ,
        R{a^(l)} = g′ ⊙ R{z^(l)},
        R{z^(l+1)} = Θ^(l) [0, R{a^(l)}] + V^(l) [1, a^(l)],
        R{δ^(L)} = (w_i/Σw) H_L R{z^(L)}, H_L = ∂²cost_i/∂z^(L)²,
        R{δ^(l)} = (Θ^(l)ᵀ R{δ^(l+1)} + V^(l)ᵀ δ^(l+1)) ⊙ g′
                   + (Θ^(l)ᵀ δ^(l+1)) ⊙ g″ ⊙ R{z^(l)},
        R{Δ^(l)} = R{δ^(l+1)} [1, a^(l)ᵀ] + δ^(l+1) [0, R{a^(l)}ᵀ],

    the bias rows of Θᵀ and Vᵀ left out as in backpropagation; then
    H·v = R{Δ^(l)} + (λ/Σw)·V^(l) off the bias column (Σw = m without
    sample weights). Exact up to rounding: not a difference of gradients.

    References: B. A. Pearlmutter, "Fast exact multiplication by the
    Hessian", Neural Computation 6 (1994).
"""

gauss_newton_product.__doc__ = """G·v, the Gauss-Newton matrix of J(θ) times a vector: positive semi-definite.
""" + _PARAMS_DOC + """
    Returns
    -------
    ndarray of float64, shape (n_params,)
        G·v, unrolled as θ.

    Notes
    -----
    G = Σ_i (w_i/Σw) J_iᵀ H_L J_i + (λ/Σw) on the non-bias weights, with J_i
    the Jacobian of example i's output pre-activations z^(L) in θ and H_L
    the Hessian of its cost in z^(L): diag h(1 − h) for sigmoid outputs with
    cross-entropy, diag p − p pᵀ for softmax (times Σ_k y_k when target
    rows do not sum to 1), I for identity outputs with squared error. Each
    H_L is positive semi-definite, hence G is (Schraudolph 2002). For
    sigmoid outputs with squared error, G is the classic Gauss-Newton of
    least squares, J_hᵀ J_h with J_h the Jacobian of the outputs h.

    G drops from H the terms that carry the network's own curvature
    (those in δ^(l) of `hessian_vector_product`): its forward R-pass is
    the same, then R{δ^(L)} = (w_i/Σw) H_L R{z^(L)} is backpropagated as an
    ordinary error. With no hidden layer and a matched pair, z^(L) is
    linear in θ and G = H.

    References: N. N. Schraudolph, "Fast curvature matrix-vector products
    for second-order gradient descent", Neural Computation 14 (2002);
    J. Martens, "Deep learning via Hessian-free optimization", ICML 2010.
"""
