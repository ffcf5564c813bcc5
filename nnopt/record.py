"""The training record: one entry per iteration for every method, and the validation stop.

Every trainer (SciPy's methods through their callbacks, gradient descent,
Levenberg-Marquardt, ...) reports each accepted iteration to one `Recorder`.
It keeps, per iteration, the training objective J, the gradient norm, the
time, the method's own quantities (μ, step sizes, ...), and with a
validation set its cost and score and the count of iterations since the
validation cost last fell. Iteration 0 is the initial θ.

The validation stop follows MATLAB's shallow-network toolbox (``train``
with ``max_fail``): after every iteration the unregularized cost J on the
validation rows is computed; when it has not fallen below its lowest value
for `max_fail` iterations in a row, training stops, and the model returned
holds the θ of the iteration with the lowest validation cost, whatever
the method and whether or not it stopped early.
"""

import numbers
import time

import numpy as np

from ._problem import as_rows, check_sample_weight
from .backprop import forward
from .datasets import train_test_split
from .parameters import _as_generator
from .targets import encode_as

__all__ = ["Recorder", "Validation", "StopTraining", "IterationLimit", "EarlyStop"]


class StopTraining(Exception):
    """Raised by `Recorder.record` to end a run; its message says why. Trainers let it through."""


class IterationLimit(StopTraining):
    """maxiter iterations are done."""


class EarlyStop(StopTraining):
    """The validation cost has not fallen for max_fail iterations in a row."""


class Validation:
    """The cost and score of held-out rows at any θ, from one forward pass over them.

    Parameters
    ----------
    problem : nnopt._problem.Problem
        The validation rows, bound with the training network, λ = 0.
    kind : {"classes", "multilabel", "regression", "multioutput"}
        What the targets are: the score is accuracy for classes, the share
        of rows with every label right for multi-label, R² (the mean over
        the outputs) for regression, as `Model.score` computes them.
    """

    def __init__(self, problem, kind):
        self.problem, self.kind = problem, kind
        if problem.w is not None:
            raise ValueError("the validation rows are unweighted")  # internal: bind gives none
        if kind in ("regression", "multioutput"):
            Y = problem.t.astype(np.float64)
            self._total = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)  # Σ(y − ȳ)² per output

    def __call__(self, theta):
        """(J on the validation rows, the score) at θ."""
        p = self.problem
        cast = theta.astype(p.dtype, copy=False)
        J, tally = p.sums(self._share, cast)
        if self.kind in ("regression", "multioutput"):
            with np.errstate(divide="ignore", invalid="ignore"):
                # as scikit-learn's r2_score: an output whose y is constant scores 1 if exact, else 0
                r2 = np.where(self._total > 0, 1 - tally / np.where(self._total > 0, self._total, 1),
                              np.where(tally == 0, 1.0, 0.0))
            return J, float(r2.mean())
        return J, float(tally[0]) / p.m

    def _share(self, block, theta, scratch=None):
        net = block.net
        _, z = forward(net.thetas(theta), net, block.X, scratch=scratch)
        J = block.scale * net.pair.cost(z, block.t, block.w)
        if self.kind == "classes":  # the largest output, as the largest z: h is monotone in z
            tally = np.array([np.count_nonzero(np.argmax(z, axis=1) == block.t)], dtype=np.float64)
        elif self.kind == "multilabel":  # h ≥ 0.5 where z ≥ 0
            tally = np.array([np.count_nonzero(np.all((z >= 0) == (block.t >= 0.5), axis=1))], dtype=np.float64)
        else:
            tally = ((z - block.t) ** 2).sum(axis=0, dtype=np.float64)
        return J, tally


def hold_out(X, targets, sample_weight, validation, kind, classes, output, seed):
    """The training rows and the validation rows of `train`'s ``validation=`` argument.

    Parameters
    ----------
    X : ndarray, memmap or Dask array, shape (m, n)
    targets : ndarray, shape (m,) or (m, K)
        As `nnopt.targets.encode` made them.
    sample_weight : array_like, shape (m,), or None
    validation : None, float in (0, 1), or (X_val, y_val)
        A fraction of the rows to hold out (stratified by class for labels
        where every class has the rows for it, else at random; drawn from
        `seed`), or an explicit validation set in the user's labels.
    kind, classes : as `encode` gave them
    output : str
        The output units.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    X, targets, sample_weight
        The training rows.
    (X_val, targets_val) or None
        The validation rows, targets encoded as the training ones.
    """
    if validation is None:
        return X, targets, sample_weight, None
    if isinstance(validation, tuple) and len(validation) == 2:
        X_val, y_val = validation
        X_val = as_rows(X_val, "X_val")
        t_val = encode_as(y_val, len(X_val), kind, classes, output, "y_val")
    elif isinstance(validation, numbers.Real) and not isinstance(validation, bool):
        if not 0 < validation < 1:
            raise ValueError(f"validation must be a fraction in (0, 1) of the rows to hold out, or "
                             f"(X_val, y_val); got {validation!r}")
        if type(X) is not np.ndarray:  # a memmap, a Dask array, an HDF5 dataset, ...
            raise ValueError("validation as a fraction splits X in memory; for a memmap, Dask or other "
                             "out-of-core X give validation=(X_val, y_val)")
        m = X.shape[0]
        if m < 2:
            raise ValueError(f"validation={validation!r} holds out rows of X, which has 1 sample: it "
                             "needs at least 2 (one to train on, one to validate)")
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, m)  # before it is split
        n_val = min(m - 1, max(1, int(round(validation * m))))
        counts = np.bincount(targets) if kind == "classes" else None
        if counts is not None and counts.min() >= 2 and min(n_val, m - n_val) >= counts.size:
            # stratified, as train_test_split splits: each class in proportion on both sides
            train_rows, val_rows, _, _ = train_test_split(np.arange(m), targets, test_size=n_val, seed=seed)
        else:  # regression, or too few rows of a class to give each side one: at random
            shuffled = _as_generator(seed).permutation(m)
            train_rows, val_rows = shuffled[n_val:], shuffled[:n_val]
        # each part in the order of X: the blocks read rows in the order given
        train_rows, val_rows = np.sort(train_rows), np.sort(val_rows)
        X_val, t_val = X[val_rows], targets[val_rows]
        X, targets = X[train_rows], targets[train_rows]
        if sample_weight is not None:
            sample_weight = sample_weight[train_rows]
    else:
        raise TypeError(f"validation must be None, a fraction in (0, 1), or a pair (X_val, y_val); "
                        f"got {validation!r}")
    return X, targets, sample_weight, (X_val, t_val)


def gradient_or_limit(norm, nit, gtol, maxiter):
    """Why nnopt's own methods (LM, BR, SCG, Rprop) stop before their next step, if they do.

    Parameters
    ----------
    norm : float
        The gradient's norm at the current θ, of the function the method minimizes.
    nit : int
        Iterations done.
    gtol : float
        MATLAB's min_grad.
    maxiter : int

    Returns
    -------
    (int, str) or None
        Status 0 (the gradient's norm is at most gtol) or 1 (maxiter reached)
        and the message, or None to go on.
    """
    if norm <= gtol:
        return 0, f"The gradient's norm {norm:.3g} is at most gtol = {gtol:g} (MATLAB's min_grad)."
    if nit >= maxiter:
        return 1, "Maximum number of iterations reached (maxiter)."
    return None


class Recorder:
    """The record of a run: one entry per iteration, and when to stop.

    Parameters
    ----------
    objective : nnopt.Objective
        The training objective: its recent evaluations give the gradient
        norm of an accepted θ without another evaluation.
    validation : Validation or None
    max_fail : int
        Iterations in a row without a lower validation cost that stop the run.
    stop_after : int or None
        Raise `IterationLimit` once this many iterations are recorded (for
        optimizers that cannot be given an iteration limit themselves).
    verbose : bool
        Print each entry as it arrives.
    progress : nnopt.progress.ProgressBar or None
        Advanced by one at each iteration.

    Notes
    -----
    A Ctrl-C can arrive between any two bytecodes. Each entry is therefore
    committed by one list append, then the state (θ, the number of entries
    it goes with, the best θ) by one assignment: an interruption between
    the two leaves an entry that `history` and `x` leave out, so the model a
    run returns always has a θ and a record that match.
    """

    def __init__(self, objective, validation=None, max_fail=6, stop_after=None, verbose=False,
                 progress=None):
        self.objective, self.validation, self.max_fail = objective, validation, max_fail
        self.stop_after, self.verbose, self.progress = stop_after, verbose, progress
        self._entries = []  # one dict per iteration, iteration 0 first
        # (θ of the last entry, entries it goes with, (θ, iteration, validation cost) of the best)
        self._state = (None, 0, None)
        self.t0 = time.perf_counter()

    # ---------------------------------------------------------------- reading

    @property
    def n_iter(self):
        """Iterations recorded after iteration 0."""
        return max(0, self._state[1] - 1)

    @property
    def x(self):
        """θ of the last iteration (iteration 0's before the first), or None before `start`."""
        return self._state[0]

    @property
    def best(self):
        """(θ, iteration) the run returns: the lowest validation cost's with a validation
        set, else the last iteration's."""
        x, n, best = self._state
        return (best[0], best[1]) if best is not None else (x, n - 1)

    @property
    def history(self):
        """name → 1-D float64 array, one entry per iteration (0 first); NaN where a
        quantity was not recorded in an iteration."""
        entries = self._entries[:self._state[1]]
        names = list(dict.fromkeys(name for e in entries for name in e))
        return {name: np.array([e.get(name, np.nan) for e in entries], dtype=np.float64)
                for name in names}

    @property
    def costs(self):
        """J after each iteration (iteration 0 left out), as a list."""
        return [e["cost"] for e in self._entries[1:self._state[1]]]

    @property
    def times(self):
        """Seconds since the start at each iteration (iteration 0 left out), as a list."""
        return [e["time"] for e in self._entries[1:self._state[1]]]

    # ---------------------------------------------------------------- writing

    def start(self, theta0, J0, gradient_norm=None, **quantities):
        """Record iteration 0, the initial θ (it counts for no iteration of maxiter)."""
        self._commit(theta0, J0, gradient_norm, quantities)

    def record(self, theta, J, gradient_norm=None, **quantities):
        """Record an accepted iteration at θ (copied) with the training objective J.

        Parameters
        ----------
        theta : ndarray, shape (n_params,)
        J : float
        gradient_norm : float, optional
            ‖∂J/∂θ‖ at θ; None looks it up among the objective's recent
            evaluations (or evaluates it).
        **quantities : float
            The method's own, recorded under their names (mu=..., step=...).

        Raises
        ------
        IterationLimit, EarlyStop
            After the entry is committed, when the run is to end.
        """
        n = self._commit(theta, J, gradient_norm, quantities)
        if self.verbose:
            self._print(n)
        if self.progress is not None:
            self.progress.update(float(J))
        fails = self._entries[n - 1].get("validation_fails", 0)
        if self.validation is not None and fails >= self.max_fail:
            raise EarlyStop(f"Validation stop: the validation cost has not fallen for max_fail = "
                            f"{self.max_fail} iterations in a row; the model holds the parameters of "
                            f"iteration {self.best[1]}, whose validation cost is the lowest.")
        if self.stop_after is not None and n - 1 >= self.stop_after:
            raise IterationLimit("Maximum number of iterations reached (maxiter).")

    def _commit(self, theta, J, gradient_norm, quantities):
        x = np.array(theta, dtype=np.float64)
        if gradient_norm is None:
            gradient_norm = self.objective.gradient_norm(x)
        entry = {"cost": float(J), "gradient_norm": float(gradient_norm),
                 "time": time.perf_counter() - self.t0}
        entry.update((name, float(value)) for name, value in quantities.items())
        _, n, best = self._state
        if self.validation is not None:
            cost, score = self.validation(x)
            entry.update(validation_cost=cost, validation_score=score)
            if best is None or cost < best[2]:
                best = (x, n, cost)
            entry["validation_fails"] = n - best[1]
        del self._entries[n:]  # an entry an interruption left without its state
        self._entries.append(entry)
        self._state = (x, n + 1, best)
        return n + 1

    def _print(self, n):
        entry = self._entries[n - 1]
        if n == 2:
            extra = "  validation" if self.validation is not None else ""
            print(f"{'iter':>6}  {'cost':>12}  {'time (s)':>8}{extra}", flush=True)
        line = f"{n - 1:6d}  {entry['cost']:12.6f}  {entry['time']:8.2f}"
        if self.validation is not None:
            line += f"  {entry['validation_cost']:10.6f}"
        print(line, flush=True)
