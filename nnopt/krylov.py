"""Solves of (G_F + μI) δ = −∇F for many shifts μ from one Krylov basis, for Levenberg-Marquardt.

Conjugate gradients on G_F + μI, started at δ = 0, take their k-th iterate in
the Krylov space K_k(G_F, ∇F), which is the same for every μ. A Lanczos
basis of it, built once at a point θ from exact Gauss-Newton products
(`nnopt.curvature.Curvature`), gives CG's iterate for any μ by a k×k
tridiagonal solve (Paige and Saunders 1975; the shifted-system view of
Frommer and Maass 1999). `nnopt.levenberg` uses it for its matrix-free
steps, where MATLAB's μ schedule tries several μ at one θ.
"""

import numpy as np

from .curvature import Curvature

__all__ = ["ShiftedLanczos"]


class ShiftedLanczos:
    """(G_F + μI) δ = −∇F for any μ from one Krylov basis of G_F at one θ (G_F = G_D + λ I_W).

    Conjugate gradients on G_F + μI from δ = 0 take their k-th iterate in
    the Krylov space K_k(G_F, ∇F), the same for every μ: it is
    δ_k = −Q_k (T_k + μI)⁻¹ ‖∇F‖ e_1, with Q_k the Lanczos basis and T_k the
    tridiagonal matrix of G_F in it. The basis is built once per θ, so a
    rejected trial's larger μ costs an O(k²) solve and no G·v product,
    where a solve of its own would repeat the products (MATLAB's μ schedule
    rejects about every other trial on a network's cross-entropy). The basis
    grows, one product at a time, until the shifted system's residual
    ‖β_k e_kᵀ y‖ is at most ``rtol``·‖∇F‖, or to ``maxiter`` products: the
    stopping rule of CG with that rtol. Each new vector is orthogonalized
    against the whole basis, so rounding does not make the basis lose rank
    as plain Lanczos does.
    """

    def __init__(self, theta, p, rtol, maxiter):
        self.curvature = Curvature(theta, p, check=False)  # the forward pass, shared by every product
        self.scale, self.rtol, self.maxiter = p.scale, rtol, maxiter
        self.products = 0
        N = p.net.n_params
        self.Q = np.empty((min(maxiter, N) + 1, N))  # the basis, one vector per row
        self.alpha, self.beta = [], []  # T's diagonal and off-diagonal
        self.norm = None  # ‖∇F‖, whose direction starts the basis
        self.size = 0.0  # the largest |α|, |β| so far: the scale of rounding in G_F's products
        self.exhausted = False  # the basis spans an invariant subspace: no further product helps

    def _extend(self):
        k = len(self.alpha)
        w = self.curvature.gauss_newton(self.Q[k], check=False)
        w /= self.scale  # J's G·v to F's: the λ/Σw on the weights becomes λ
        self.products += 1
        a = float(self.Q[k] @ w)
        Q = self.Q[:k + 1]
        w -= Q.T @ (Q @ w)  # the three-term recurrence, and then again against rounding
        w -= Q.T @ (Q @ w)
        b = float(np.linalg.norm(w))
        self.alpha.append(a)
        self.beta.append(b)
        self.size = max(self.size, abs(a), b)
        if b <= 1e-12 * self.size or k + 1 == self.Q.shape[0]:
            self.exhausted = True
        else:
            self.Q[k + 1] = w / b

    def _coefficients(self, mu):
        """y = (T_k + μI)⁻¹ ‖∇F‖ e_1 and the shifted system's residual norm β_k |y_k|."""
        k = len(self.alpha)
        T = np.diag(np.asarray(self.alpha) + mu)
        if k > 1:
            off = np.asarray(self.beta[:k - 1])
            T += np.diag(off, 1) + np.diag(off, -1)
        rhs = np.zeros(k)
        rhs[0] = self.norm
        y = np.linalg.solve(T, rhs)
        return y, 0.0 if self.exhausted else self.beta[k - 1] * abs(y[-1])

    def __call__(self, gradient, mu):
        if self.norm is None:
            self.norm = float(np.linalg.norm(gradient))
            np.divide(gradient, self.norm, out=self.Q[0])
        while True:
            if self.alpha:
                y, residual = self._coefficients(mu)
                if residual <= self.rtol * self.norm or self.exhausted or len(self.alpha) >= self.maxiter:
                    break
            self._extend()
        k = len(self.alpha)
        return -(y @ self.Q[:k])  # a truncated solve is still a descent direction
