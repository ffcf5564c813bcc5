"""The Gauss-Newton matrix of the summed cost, assembled whole, for a dense Levenberg-Marquardt solve.

For the data cost D(θ) = Σ_i w_i cost_i (nnopt's J without λ's term, times
Σw), the generalized Gauss-Newton matrix is

    G_D = Σ_i w_i J_iᵀ H_L,i J_i,        shape (N, N),

with J_i = ∂z_i^(L)/∂θ (K × N) the Jacobian of example i's output
pre-activations and H_L,i = ∂²cost_i/∂z^(L)² from the losses table
(`nnopt.losses.PAIRS`, its ``hessian`` with ``error=None``, applied to each
column of J_i). For identity outputs with squared error H_L = I and G_D is
JᵀJ, the matrix MATLAB's trainlm forms.

Row i of J_i's block for Θ^(l) is the outer product δ_k^(l+1) [1, a^(l)ᵀ]
of the error that unit k of the output sends back to layer l+1 when
δ^(L) = e_k: K backward passes of unit vectors, all K at once as a third
axis. The Jacobian is built for a few rows at a time (`JACOBIAN_BYTES`),
so the m·K × N Jacobian is never held whole; X is read block by block as
backpropagation reads it (`nnopt._problem.Problem.blocks`), whose index
conventions hold here (``thetas[l]`` is Θ^(l+1), ``a[l]`` is a^(l+1)).
"""

import numpy as np

from .backprop import forward

__all__ = ["JACOBIAN_BYTES", "output_jacobian", "gauss_newton_matrix", "weight_mask"]

#: Bytes of one chunk's Jacobian (rows × K × N float64); its H_L·J takes as
#: much again. Enough rows for BLAS to run at speed, few enough for any machine.
JACOBIAN_BYTES = 32 * 2**20


def weight_mask(net):
    """True on the regularized weights (every column of Θ^(l) but the bias's): bool, shape (N,)."""
    mask = np.zeros(net.n_params, dtype=bool)
    for M in net.thetas(mask):
        M[:, 1:] = True
    return mask


def output_jacobian(thetas, net, a):
    """∂z^(L)/∂θ of each row: float64, shape (r, K, N).

    Parameters
    ----------
    thetas : list of ndarray of float64
        Θ^(l), shape (s_{l+1}, s_l + 1).
    net : Network
    a : list of ndarray of float64
        ``[a^(1), ..., a^(L-1)]`` of r rows, as `nnopt.backprop.forward` makes them.

    Returns
    -------
    ndarray of float64, shape (r, K, N)
        ``out[i, k]`` is the gradient of z_k^(L) of row i, unrolled as θ.
    """
    r, K = a[0].shape[0], net.K
    starts = np.cumsum([0] + [rows * cols for rows, cols in net.shapes])
    out = np.empty((r, K, net.n_params))
    # δ^(L) = e_k for output unit k: the third axis carries the K backward passes
    delta = np.broadcast_to(np.eye(K), (r, K, K))
    for l in range(len(thetas) - 1, -1, -1):
        rows, cols = net.shapes[l]
        # a view into `out` (its last axis is contiguous), Δ^(l)'s shape for each row and unit
        D = out[:, :, starts[l]:starts[l + 1]].reshape(r, K, rows, cols)
        D[..., 0] = delta  # the bias unit's input is 1
        np.multiply(delta[..., None], a[l][:, None, None, :], out=D[..., 1:])
        if l > 0:
            delta = delta @ thetas[l][:, 1:]
            delta *= net.unit.derivative(a[l])[:, None, :]
    return out


def gauss_newton_matrix(theta, p):
    """G_D = Σ_i w_i J_iᵀ H_L J_i, the Gauss-Newton matrix of the summed data cost.

    Parameters
    ----------
    theta : ndarray of float64, shape (N,)
    p : nnopt._problem.Problem
        The data; its λ is not included (the caller adds λ·D).

    Returns
    -------
    ndarray of float64, shape (N, N)
        Symmetric positive semi-definite; in the units of Σ_i w_i cost_i,
        not divided by Σw (nnopt's G·v products are this times 1/Σw, plus λ/Σw
        on the weights).

    Notes
    -----
    The forward pass runs in the problem's dtype, as J's does; the Jacobian
    and the sum are float64. Cost: m·K·N² multiply-adds, and
    `JACOBIAN_BYTES` plus N²·8 bytes of memory.
    """
    net, N, K = p.net, p.net.n_params, p.net.K
    thetas = net.thetas(theta)
    thetas_dtype = net.thetas(theta.astype(p.dtype, copy=False))
    rows = max(1, JACOBIAN_BYTES // (8 * K * N))
    G = np.zeros((N, N))
    for block in p.blocks():
        a, z = forward(thetas_dtype, net, block.X)
        a = [x.astype(np.float64, copy=False) for x in a]
        h = net.pair.output(z).astype(np.float64, copy=False)
        for s in range(0, block.m, rows):
            part = slice(s, s + rows)
            jac = output_jacobian(thetas, net, [x[part] for x in a])
            t = block.t[part]
            # H_L applied to each of the N columns: h and a target matrix get a third axis
            HJ = net.pair.hessian(h[part][:, :, None], jac.copy(), None, t if t.ndim == 1 else t[:, :, None])
            if block.w is not None:
                HJ *= block.w[part][:, None, None]
            n = jac.shape[0] * K
            G += jac.reshape(n, N).T @ HJ.reshape(n, N)
    # JᵀHJ is symmetric; the products' rounding is not
    G += G.T
    G *= 0.5
    return G
