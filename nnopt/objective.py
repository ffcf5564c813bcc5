"""`Objective`: the cost function J(θ) bound to its data, for an optimizer's many calls."""

import dataclasses

import numpy as np

from . import _validation as v
from . import curvature
from ._dask import DaskProblem
from ._scratch import Scratch
from .backprop import evaluate, problem
from .network import Network

__all__ = ["Objective", "SampledCurvature"]


class Objective:
    """J(θ) and its gradient on data that is checked once, for repeated evaluations.

    An optimizer evaluates the cost hundreds of times on the same data.
    `nnopt.cost_and_gradient` checks its arguments on every call; an
    Objective checks X, y and the settings once, here (X is scanned for
    NaN and inf in full), and casts X to the computing dtype once. It also
    keeps its last evaluation, so that ``minimize(obj.cost, x0,
    jac=obj.gradient)``, which asks for J and then for the gradient at the
    same θ, computes one evaluation per distinct θ.

    Parameters
    ----------
    X : array_like, shape (m, n)
        One example per row.
    y : array_like, shape (m,) or (m, K)
        Targets, as `nnopt.cost` takes them.
    lam : float
        Regularization strength λ ≥ 0.
    layer_sizes : sequence of int or Network
        Units per layer, input first; or a `nnopt.network.Network`, which
        then also gives the activation, output and loss.
    loss : {None, "cross_entropy", "squared_error"}
        None takes the output's own loss.
    dtype : {None, numpy.float64, numpy.float32}
        Precision of the arithmetic; None follows X.
    activation : {"sigmoid", "tanh", "relu"}
    output : {"sigmoid", "softmax", "identity"}
    sample_weight : array_like, shape (m,), optional
    copy : bool
        Whether to bind a private copy of X. By default X is bound as it
        is when it is already in the computing dtype (no copy: X may be
        large), and copied only when it has to be cast.
    working_memory : float, optional
        MiB of activations an evaluation may hold at a time (default 64).
        X is taken in blocks of rows that stay in cache, fewer when the
        working memory allows fewer. A `numpy.memmap` X (or an
        array-like that slices into rows) is bound as it is and read one
        block at a time, never whole; `copy` does not apply to it.
        A Dask array X (with y, and sample_weight, in memory or Dask),
        blocked by rows, is evaluated on the workers of the running
        `distributed.Client`, each block where it lives; see `nnopt._dask`.

    Attributes
    ----------
    problem : nnopt._problem.Problem
        The checked data and settings; ``problem.X`` is the bound X.
    net : nnopt.network.Network
    range : tuple of float or None
        The smallest and largest value of X, read when it was checked
        (None for a Dask X, checked on its workers).
    layer_sizes : tuple of int
    n_params : int
        Length of θ.
    n_evals : int
        Evaluations computed so far (a repeated θ answered from the last
        evaluation is not counted).

    Notes
    -----
    The bound X must not change while the Objective is in use: the checks
    and the last evaluation were made on its values, and an in-place
    change would not be seen by either. Give ``copy=True`` to bind a copy
    when X may change. The last evaluation is reused only for a θ equal,
    value for value, to the one it was made at.

    Each returned gradient is an array the caller owns: the Objective
    hands its kept gradient over and forgets it, so a second request for
    the gradient at the same θ computes it again (and counts in `n_evals`).
    """

    def __init__(self, X, y, lam, layer_sizes, loss=None, dtype=None, *, activation="sigmoid",
                 output="sigmoid", sample_weight=None, copy=False, working_memory=None):
        net = layer_sizes if isinstance(layer_sizes, Network) else Network(layer_sizes, activation,
                                                                           output, loss)
        p, self.range = problem(X, y, lam, net, dtype, sample_weight, working_memory)
        if copy and type(p.X) is np.ndarray and np.may_share_memory(p.X, X):
            p = dataclasses.replace(p, X=p.X.copy())  # in memory (a memmap is never copied)
        self._bind(p, keeps_last=True)

    def _bind(self, p, keeps_last):
        """Take the checked problem `p`: what both a new Objective and a batch do.

        `keeps_last`: whether the last evaluation is kept for later calls
        (not for a mini-batch's, evaluated at one step's θ: the copies of θ
        and the gradient would be passes over them for nothing).
        """
        self.problem = p
        self.net = p.net
        self.layer_sizes, self.n_params = p.net.layer_sizes, p.net.n_params
        self.n_evals = 0
        self._last = None  # (θ, J, gradient or None) of the last evaluation
        self._point = None  # (θ, curvature.Curvature) of the last curvature product
        self._keeps_last = keeps_last
        self._recent = []  # (θ, J) of the last few evaluations, newest last
        # the blocks' activations, errors and gradient shares, reused by every
        # evaluation: fresh ones would cost the system's new pages each time
        self._scratch = Scratch()

    @property
    def X(self):
        """The bound data, shape (m, n), in the computing dtype."""
        return self.problem.X

    @property
    def lam(self):
        """λ."""
        return self.problem.lam

    def _at(self, theta, gradient):
        """The last evaluation if it was at θ (with the gradient, if wanted), else a new one."""
        if not self._keeps_last:  # a mini-batch's objective, made for one evaluation
            theta = self._checked(theta)
            self.n_evals += 1
            return (theta, *evaluate(theta, self.problem, gradient=gradient, check=False,
                                     scratch=self._scratch))
        last = self._last
        if (last is not None and (last[2] is not None or not gradient)
                and last[0].shape == theta.shape and np.array_equal(last[0], theta)):
            return last
        theta = self._checked(theta)
        J, g = evaluate(theta, self.problem, gradient=gradient, check=False, scratch=self._scratch)
        self.n_evals += 1
        # returned from the local: another thread's call may replace self._last meanwhile
        last = self._last = (theta.copy(), J, g)
        self._recent.append((last[0], J, None if g is None else float(np.linalg.norm(g))))
        del self._recent[:-8]
        return last

    def _checked(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.n_params,):
            v.check_theta(theta, self.n_params, self.layer_sizes)
        return theta

    def __call__(self, theta):
        """(J, grad) at θ, the form ``minimize(obj, x0, jac=True)`` takes.

        Parameters
        ----------
        theta : ndarray, shape (n_params,)

        Returns
        -------
        J : float
        grad : ndarray of float64, shape (n_params,)
        """
        _, J, g = self._at(theta, gradient=True)
        self._hand_over()
        return J, g

    def cost(self, theta):
        """J at θ; the gradient is computed alongside, for `gradient` at the same θ.

        Parameters
        ----------
        theta : ndarray, shape (n_params,)

        Returns
        -------
        float
        """
        return self._at(theta, gradient=True)[1]

    def gradient(self, theta):
        """∂J/∂θ at θ (from the last evaluation when it was at θ).

        Parameters
        ----------
        theta : ndarray, shape (n_params,)

        Returns
        -------
        ndarray of float64, shape (n_params,)
        """
        g = self._at(theta, gradient=True)[2]
        self._hand_over()
        return g

    def _hand_over(self):
        """Forget the last gradient, now the caller's own array: a copy would
        be a pass over it, and an optimizer asks for each θ's gradient once."""
        if self._last is not None and self._keeps_last:
            self._last = self._last[:2] + (None,)

    def forward_cost(self, theta):
        """J at θ by forward propagation alone, for callers that want no gradient.

        Parameters
        ----------
        theta : ndarray, shape (n_params,)

        Returns
        -------
        float
        """
        return self._at(theta, gradient=False)[1]

    def hessp(self, theta, v):
        """H·v, the exact Hessian of J at θ times v (`nnopt.hessian_vector_product`).

        The forward pass at θ is kept for the next product at the same θ:
        a Newton-CG or trust-region step asks for many at one point.

        Parameters
        ----------
        theta : ndarray, shape (n_params,)
        v : ndarray, shape (n_params,)

        Returns
        -------
        ndarray of float64, shape (n_params,)
        """
        return self._curvature(theta, v).hessp(v)

    def gauss_newton(self, theta, v):
        """G·v, the Gauss-Newton matrix of J at θ times v (`nnopt.gauss_newton_product`).

        Parameters
        ----------
        theta : ndarray, shape (n_params,)
        v : ndarray, shape (n_params,)

        Returns
        -------
        ndarray of float64, shape (n_params,)
        """
        return self._curvature(theta, v).gauss_newton(v)

    def _curvature(self, theta, v):
        """The curvature products' point at θ: the last one if it was at θ. A new point
        makes its first product, with `v`, in its forward pass (`curvature.Curvature`)."""
        kept = _kept_at(self._point, theta)
        if kept is not None:
            return kept
        if isinstance(self.problem, DaskProblem):
            raise ValueError(curvature.NO_DASK)
        theta = self._checked(theta)
        v = curvature.check_direction(v, self.n_params)  # checked before any work
        self._point = (theta.copy(), curvature.at(theta, self.problem, check=False, v=v))
        return self._point[1]

    def sampled_curvature(self, fraction, seed=None):
        """Curvature products on a random share of the examples, drawn anew at each θ.

        Parameters
        ----------
        fraction : float
            The share of the m examples each product reads, in (0, 1]:
            round(fraction·m) rows (at least 1), drawn without replacement.
        seed : int, numpy.random.Generator or None
            Seeds the draws.

        Returns
        -------
        SampledCurvature
            With ``hessp(theta, v)`` and ``gauss_newton(theta, v)``.
        """
        return SampledCurvature(self, fraction, seed)

    def recorded_cost(self, theta):
        """J at θ if one of the last few evaluations was at θ, else None."""
        for t, J, _ in reversed(self._recent):
            if np.array_equal(t, theta):
                return J
        return None

    def gradient_norm(self, theta):
        """‖∂J/∂θ‖ at θ: from the last few evaluations when one was at θ with its gradient,
        else from a new evaluation (counted in `n_evals`).

        Parameters
        ----------
        theta : ndarray, shape (n_params,)

        Returns
        -------
        float
        """
        for t, _, norm in reversed(self._recent):
            if norm is not None and np.array_equal(t, theta):
                return norm
        return float(np.linalg.norm(self(theta)[1]))

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
            its own `n_evals`, and keeping no evaluation for later calls
            (each call computes anew). Its λ is scaled by the batch's share of the
            examples (b/m, or Σ_B w/Σw with weights), so that its cost is the
            batch's mean loss plus the whole problem's λ/(2m)·ΣΘ²: the batch
            gradient is then an unbiased estimate of the full gradient.
        """
        batch = batch_problem(self.problem, rows)
        objective = object.__new__(Objective)
        objective.range = None
        objective._bind(batch, keeps_last=False)
        return objective


def batch_problem(p, rows):
    """The problem on some rows of `p` as a mini-batch: λ scaled so that its gradient is unbiased.

    What `Objective.batch` binds, and what mini-batch SGD evaluates at each
    step without binding an Objective (`nnopt.descent`).

    Parameters
    ----------
    p : nnopt._problem.Problem
        The whole problem, X in memory or read in blocks (not Dask).
    rows : slice or ndarray of int
        The batch's rows. A slice of consecutive rows of an X in memory
        costs no copy; an index array copies those rows.

    Returns
    -------
    nnopt._problem.Problem
        X[rows] in memory in the computing dtype, with its targets and
        weights; ``scale`` = 1/b (1/Σ_B w with weights) and ``lam`` =
        λ·b/m (λ·Σ_B w/Σw), so that ``lam·scale``, the factor of the λ
        term, is the whole problem's.
    """
    if isinstance(p, DaskProblem):
        raise ValueError("mini-batches of a Dask X are not supported: use a full-batch method "
                         "('L-BFGS-B', 'TNC', 'CG', 'gd') or X in memory for 'sgd'")
    batch = p.rows(rows)
    one_row = batch.X.ndim != 2  # an int, not a set of rows
    total = 0.0 if one_row else (batch.m if batch.w is None else float(batch.w.sum()))
    if total <= 0:  # no rows, or all of weight 0
        raise ValueError(f"a batch needs at least one row of X of positive weight; rows={rows!r} "
                         f"selects {'not a set of' if one_row else batch.m} rows")
    # its λ: the batch's share of the examples (b/m, or Σ_B w/Σw) times the whole problem's
    return dataclasses.replace(batch, scale=1.0 / total, lam=p.lam * total * p.scale)


class SampledCurvature:
    """H·v and G·v of a random share of the examples, for Hessian-free methods.

    A Newton-CG or trust-region step solves for a direction with a dozen
    curvature products at one θ, and the direction need not be exact: the
    products can read a sample of the examples while the cost and the
    gradient read them all, which makes each product cheaper in proportion
    (the subsampled Newton-CG of Byrd, Chin, Neveitt and Nocedal, 2011;
    Martens' Hessian-free optimization takes its products on a mini-batch
    too). Each product is the exact H·v or G·v of the sample's J: its mean
    cost over the sample plus the whole problem's λ term (`Objective.batch`).
    Without sample weights that is an unbiased estimate of the whole
    curvature; with them, a weighted mean over the sample, whose expectation
    differs from the whole one by O(1/sample size). A new θ draws a new
    sample; products at the same θ share one sample and its forward pass.

    Samples are drawn among the examples of positive weight (all of them
    without weights): the others add nothing to J. A sample of a
    `numpy.memmap` X (or of an array-like read in blocks) is read into
    memory, in the computing dtype.

    Parameters
    ----------
    objective : Objective
        The whole problem, bound with X in memory or as a memmap (not Dask).
    fraction : float
        The share of the examples each product reads, in (0, 1].
    seed : int, numpy.random.Generator or None
        Seeds the draws (`numpy.random.default_rng`).

    Attributes
    ----------
    objective : Objective
    fraction : float
    n_rows : int
        Rows per sample: round(fraction·m) of the m examples of positive
        weight, at least 1.
    rows : ndarray of intp or None
        The sample of the last θ, sorted (None before the first product).
    rng : numpy.random.Generator
        The draws' generator.
    """

    def __init__(self, objective, fraction, seed=None):
        self.fraction = check_fraction(fraction, "fraction")
        if isinstance(objective.problem, DaskProblem):
            raise ValueError(curvature.NO_DASK)
        p = objective.problem
        # the rows a sample is drawn from: those that count in J
        self._candidates = np.arange(p.m) if p.w is None else np.flatnonzero(p.w > 0)
        self.n_rows = max(1, int(round(self.fraction * self._candidates.size)))
        self.objective = objective
        self.rng = np.random.default_rng(seed)
        self.rows = None
        self._point = None  # (θ, the sample's Objective)

    def hessp(self, theta, v):
        """H·v of the sample's J at θ: float64, shape (n_params,)."""
        return self._sample(theta).hessp(theta, v)

    def gauss_newton(self, theta, v):
        """G·v of the sample's J at θ: float64, shape (n_params,)."""
        return self._sample(theta).gauss_newton(theta, v)

    def _sample(self, theta):
        kept = _kept_at(self._point, theta)
        if kept is not None:
            return kept
        rows = self._candidates
        if self.n_rows < rows.size:
            rows = np.sort(self.rng.choice(rows, self.n_rows, replace=False))
        batch = self.objective.batch(rows)  # read into memory, in the computing dtype
        self.rows = rows
        self._point = (np.array(theta, dtype=np.float64), batch)
        return batch


def _kept_at(point, theta):
    """What `point`, a pair (θ, kept), keeps for θ if it was made at this very θ, else None."""
    if point is not None and point[0].shape == np.shape(theta) and np.array_equal(point[0], theta):
        return point[1]
    return None


def check_fraction(fraction, name):
    """A share in (0, 1] as a float, or a TypeError/ValueError naming it."""
    return v.check_real(fraction, name, "in (0, 1]", lambda x: 0 < x <= 1)
