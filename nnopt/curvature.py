"""Exact curvature of J(θ): Hessian-vector products H·v and Gauss-Newton products G·v.

Both come from Pearlmutter's R-operator, R{f} = d/dr f(θ + r·v) at r = 0
(Pearlmutter 1994): every line of forward propagation and of
backpropagation is differentiated once more, along the direction v. The
forward R-pass gives R{z^(l)} and R{a^(l)}; the backward R-pass gives
R{δ^(l)}, and R{Δ^(l)} = R{∂J/∂Θ^(l)} is H·v. Each product does about the
work of a gradient evaluation, with one product with X more (R{z^(2)} =
V^(1) [1, X]ᵀ, besides the gradient's z^(2) and Δ^(1)), and never forms H,
which has n_params² entries. On the digits a product costs 1.6–2.8
`cost_and_gradient` calls, whose C kernels do the whole evaluation in one
pass (benchmarks/README.md).

The Gauss-Newton matrix G = Jᵀ H_L J (+ the λ term) keeps only the
curvature of the loss in the output pre-activations z^(L): J is the
Jacobian of z^(L) in θ and H_L the Hessian of the loss in z^(L), which is
positive semi-definite for every pair of `nnopt.losses.PAIRS`, so G is too
(Schraudolph 2002); H drops that guarantee where the network curves. The
G·v pass is the H·v pass without the terms in δ^(l): a forward R-pass, then
R{δ^(L)} = H_L R{z^(L)} backpropagated as an ordinary error.

Index conventions are backprop's (``thetas[l]`` is Θ^(l+1), ``a[l]`` is
a^(l+1), examples are columns). Lists here are indexed by the weight
matrix: ``delta[l]`` is δ^(l+2), the error of the units Θ^(l+1) feeds, so
that Δ^(l+1) = δ^(l+2) [1, a^(l+1)ᵀ] reads ``delta[l]`` with ``a[l]``.

The products with X (R{z^(2)} = V^(1) [1, X]ᵀ and R{Δ^(1)} = R{δ^(2)} [1, X])
go through nnopt's C kernels when they apply, as the gradient's do.
"""

from types import MappingProxyType

import numpy as np

from . import _accel
from . import _validation as val
from ._problem import bind
from .activations import derivative_from_activation
from .backprop import forward, times_inputs
from .losses import OUTPUTS, PAIRS
from .parameters import reshape

__all__ = ["hessian_vector_product", "gauss_newton_product", "Curvature", "at"]


# ---------------------------------------------------------------- the tables


def _sigmoid_ratio(a):
    # g′ = a(1 − a), so g″ = g′·(1 − 2a)
    ratio = np.multiply(a, -2)
    ratio += 1
    return ratio


def _tanh_first(a):
    return 1 - np.square(a)


def _tanh_ratio(a):
    # g′ = 1 − a², so g″ = −2a·g′
    return np.multiply(a, -2)


def _relu_first(a):
    # g′(0) = 0, as backpropagation takes it (nnopt.activations)
    return (a > 0).astype(a.dtype)


# name -> (g′(z) from a, g″(z)/g′(z) from a), a = g(z) the stored activation;
# each returns a new array (a is kept: the products at one θ all read it).
# The H·v pass wants g″ ⊙ R{z} = (g″/g′) ⊙ R{a}, with R{a} = g′ ⊙ R{z}
# already made: the ratio saves a pass over the layer. For the sigmoid and
# tanh it is a polynomial in a, exact where g′ underflows to 0.
# ReLU's g″ is 0 wherever it is defined: None, and its term is left out.
SECOND_DERIVATIVES = MappingProxyType({
    "sigmoid": (derivative_from_activation, _sigmoid_ratio),
    "tanh": (_tanh_first, _tanh_ratio),
    "relu": (_relu_first, None),
})


def _sigmoid_cross_entropy(h, Rz, error, Yt):
    # ∂(h − y)/∂z = h(1 − h) on the diagonal, whatever the targets
    Rz *= derivative_from_activation(h)
    return Rz


def _sigmoid_squared_error(h, Rz, error, Yt):
    # ∂δ/∂z of δ = (h − y)·g′(z) is g′² + (h − y)·g″ = g′² + δ·(1 − 2h).
    # Gauss-Newton keeps g′² alone: the Jacobian of h, with H_L = I
    curvature = np.square(derivative_from_activation(h))
    if error is not None:
        curvature += error * (1 - 2 * h)
    Rz *= curvature
    return Rz


def _softmax_cross_entropy(h, Rz, error, Yt):
    # (diag p − p pᵀ) R{z} for each example, times Σ_k y_k, the mass of its
    # targets (1 for a class index): the Hessian of (Σ_k y_k)·lse(z) − yᵀz
    u = h * Rz
    u -= h * u.sum(axis=0)
    if Yt is not None:
        u *= Yt.sum(axis=0)
    return u


def _identity_squared_error(h, Rz, error, Yt):
    return Rz  # H_L = I


# (output, loss) -> H_L·R{z^(L)} for each example (a column), from h = a^(L);
# `error` is the unscaled δ^(L) for the exact Hessian, None for Gauss-Newton.
# R{z^(L)} may be written over. The exact and Gauss-Newton terms differ only
# for sigmoid + squared_error, the one pair that is not matched.
OUTPUT_HESSIANS = MappingProxyType({
    ("sigmoid", "cross_entropy"): _sigmoid_cross_entropy,
    ("sigmoid", "squared_error"): _sigmoid_squared_error,
    ("softmax", "cross_entropy"): _softmax_cross_entropy,
    ("identity", "squared_error"): _identity_squared_error,
})


# ---------------------------------------------------------------- the passes


class Curvature:
    """The network at one θ, kept for any number of products H·v and G·v there.

    The forward pass (activations, g′ and the outputs) does not depend on v;
    nor do the δ^(l) that H·v also needs, which are computed at its first
    call. Each product then makes one forward and one backward R-pass.

    Parameters
    ----------
    theta : ndarray of float64, shape (n_params,)
    p : nnopt._problem.Problem
    check : bool
        Whether θ is checked (finite; within float32's range in float32),
        and a non-finite z^(2) raises.
    """

    def __init__(self, theta, p, check=True):
        if check:
            val.check_finite_array(theta, "theta")
            cast = val.cast_checked(theta, p.dtype, "theta")
        else:
            cast = theta.astype(p.dtype, copy=False)
        self.p = p
        self.thetas = reshape(cast, p.layer_sizes)
        with _accel.threads_for(p.X, p.layer_sizes[1]):
            self.a, z = forward(self.thetas, p.X, p.activation, check_first=check)
        gprime_of, self._ratio_of = SECOND_DERIVATIVES[p.activation]
        self.gprime = [None] + [gprime_of(a) for a in self.a[1:]]  # g′(z^(l)); the input has none
        self.Yt = None if p.Y is None else p.Y.T
        self.h = OUTPUTS[p.output](z)  # written over z^(L)
        # each example's error counts w_i/Σw (1/m unweighted), as in the gradient
        self.weights = p.scale if p.w is None else (p.w * p.scale).astype(p.dtype)
        self._delta = None

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
        V = reshape(v.astype(p.dtype, copy=False), p.layer_sizes)
        with _accel.threads_for(p.X, p.layer_sizes[1]):
            Ra, RzL = self._r_forward(V)
            if exact:
                delta, error, curve = self._deltas()
            else:
                delta = error = curve = None
            Rdelta = OUTPUT_HESSIANS[p.output, p.loss](self.h, RzL, error, self.Yt)
            Rdelta *= self.weights
            out = self._r_backward(V, Rdelta, Ra, delta, curve)
        # λ·scale/2·ΣΘ² has Hessian λ·scale on every non-bias weight, 0 on the biases
        if p.lam:
            for R, W in zip(reshape(out, p.layer_sizes), V):
                R[:, 1:] += (p.lam * p.scale) * W[:, 1:]
        return out.astype(np.float64, copy=False)

    def _r_forward(self, V):
        """R{a^(l)} of the hidden layers (None for the input), and R{z^(L)}."""
        a, thetas = self.a, self.thetas
        # R{z^(2)} = V^(1) [1, X]ᵀ: the input a^(1) = X does not move with θ
        z, _ = _accel.input_layer(V[0], self.p.X, activate=False, check=False)
        Ra = [None]
        for l in range(1, len(thetas)):
            z *= self.gprime[l]  # R{a} = g′(z) ⊙ R{z}, written over R{z}
            Ra.append(z)
            # R{z^(l+1)} = Θ^(l) R{a^(l)} + V^(l) [1, a^(l)]
            z = thetas[l][:, 1:] @ Ra[l]
            z += V[l][:, 1:] @ a[l]
            z += V[l][:, :1]
        return Ra, z

    def _deltas(self):
        """δ^(l+1) of every layer that H·v reads, the unscaled δ^(L), and
        (g″/g′)(z^(l)) ⊙ Θ^(l)ᵀ δ^(l+1) of the hidden layers.

        All three are those of the gradient at θ, whatever v: made once.
        δ^(2), which only Δ^(1) would read, is not made.
        """
        if self._delta is None:
            p, thetas = self.p, self.thetas
            # the table's δ^(L) (`nnopt.losses.PAIRS`) on a copy of h, which the products keep
            error = PAIRS[p.output, p.loss][1](self.h.copy(), p.idx, self.Yt)
            delta = [None] * len(thetas)
            curve = [None] * len(thetas)
            delta[-1] = error * self.weights
            for l in range(len(thetas) - 1, 0, -1):
                if l == 1 and self._ratio_of is None:
                    break  # ReLU: neither δ^(2) nor a curve term to make
                back = _accel.hidden_delta(thetas[l][:, 1:], delta[l], like=self.a[l])
                if l > 1:
                    delta[l - 1] = back * self.gprime[l]
                if self._ratio_of is not None:
                    curve[l] = self._ratio_of(self.a[l])
                    curve[l] *= back
            self._delta = (delta, error, curve)
        return self._delta

    def _r_backward(self, V, Rdelta, Ra, delta, curve):
        """R{Δ^(l)} of every layer, unrolled as θ, from R{δ^(L)}.

        Gauss-Newton (`delta` None) backpropagates R{δ^(L)} as an ordinary
        error: R{δ^(l)} = Θ^(l)ᵀ R{δ^(l+1)} ⊙ g′. The exact Hessian adds the
        terms of the product rule in δ^(l+1), V^(l) and g′(z^(l)). The
        R{a^(l)} are written over.
        """
        p, thetas, a = self.p, self.thetas, self.a
        out = np.empty(p.n_params, dtype=p.dtype)
        grads = reshape(out, p.layer_sizes)
        for l in range(len(thetas) - 1, -1, -1):
            # R{Δ^(l)} = R{δ^(l+1)} [1, a^(l)ᵀ] + δ^(l+1) [0, R{a^(l)}ᵀ]; R{a^(1)} = 0
            times_inputs(grads[l], Rdelta, a[l], first=l == 0)
            if l == 0:
                break
            if delta is None:
                Rdelta = _accel.hidden_delta(thetas[l][:, 1:], Rdelta, like=a[l])
                Rdelta *= self.gprime[l]
                continue
            grads[l][:, 1:] += delta[l] @ Ra[l].T
            # R{δ^(l)} = (Θᵀ R{δ^(l+1)} + Vᵀ δ^(l+1)) ⊙ g′ + (Θᵀ δ^(l+1)) ⊙ g″ ⊙ R{z^(l)}:
            # the first two terms as one product [Θ; V]ᵀ [R{δ}; δ], the last
            # as curve ⊙ R{a^(l)}, written over R{a^(l)}, which is done with
            stacked = np.vstack([thetas[l][:, 1:], V[l][:, 1:]])
            back = _accel.hidden_delta(stacked, np.vstack([Rdelta, delta[l]]), like=a[l])
            back *= self.gprime[l]
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


# ---------------------------------------------------------------- on a checked problem


def at(theta, p, check=True):
    """The `Curvature` of J at θ, for several products there (the forward pass is shared)."""
    return Curvature(theta, p, check)


def hessp(theta, v, p, check=True):
    """H·v at θ on a checked problem `p` (`nnopt._problem.Problem`): float64, shape (n_params,).

    θ must be a float64 vector of length n_params. With `check`, v is
    checked (length, finite values) before any work, then θ (finite),
    and a non-finite z^(2) raises; ``check=False`` skips all that, for a
    caller that made the checks (v is then a float vector of length n_params).
    """
    if check:
        v = _checked_direction(v, p)
    with _accel.threads_for(p.X, p.layer_sizes[1]):  # once for both steps: ~0.2 ms each time
        return Curvature(theta, p, check).hessp(v, check=False)


def gauss_newton(theta, v, p, check=True):
    """G·v at θ on a checked problem `p`: float64, shape (n_params,); `check` as in `hessp`."""
    if check:
        v = _checked_direction(v, p)
    with _accel.threads_for(p.X, p.layer_sizes[1]):
        return Curvature(theta, p, check).gauss_newton(v, check=False)


def _checked_direction(v, p):
    """v checked (`check_direction`) and in the problem's dtype, refused if beyond float32's range."""
    v = check_direction(v, p.n_params)
    return val.cast_checked(v, p.dtype, "v")


# ---------------------------------------------------------------- public functions


def _checked(theta, X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight):
    p = bind(X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight)
    return val.check_theta(theta, p.n_params, p.layer_sizes), p


def hessian_vector_product(theta, v, X, y, lam, layer_sizes, loss=None, dtype=None, *,
                           activation="sigmoid", output="sigmoid", sample_weight=None):
    theta, p = _checked(theta, X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight)
    return hessp(theta, v, p)


def gauss_newton_product(theta, v, X, y, lam, layer_sizes, loss=None, dtype=None, *,
                         activation="sigmoid", output="sigmoid", sample_weight=None):
    theta, p = _checked(theta, X, y, lam, layer_sizes, loss, dtype, activation, output, sample_weight)
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
