"""train(X, y, lam): fit a network with one of SciPy's optimizers, or gradient descent.

Every method reports each accepted iteration to one `nnopt.record.Recorder`,
which keeps the training record (`Model.history`: the cost, the gradient
norm, the time, the method's own quantities, and the validation cost and
score), stops the run at maxiter where SciPy cannot, and on a validation
set stops it as MATLAB's ``train`` does. Ctrl-C and optimizer failures end
in the same place: a model built from the last accepted parameters (the
best validation iteration's, with a validation set), and a warning.
"""

import numbers
import warnings
from types import MappingProxyType

import numpy as np
from scipy.optimize import OptimizeResult, minimize

from . import _validation as v
from ._problem import as_rows, bind, check_features
from ._threads import scipy_blas_limited
from . import descent as _descent
from . import levenberg, rprop, scg
from .errors import ConvergenceWarning
from .model import Model
from .objective import Objective, check_fraction
from .progress import ProgressBar
from .record import IterationLimit, Recorder, StopTraining, Validation, hold_out
from .targets import encode, encode_labels  # noqa: F401  (encode_labels: nnopt.training's before)
from .parameters import n_params, random_init, reshape

__all__ = ["train", "ConvergenceWarning", "DEFAULT_MAXITER", "DEFAULT_CURVATURE", "TNC_OPTIONS"]


# Methods of scipy.optimize.minimize that use the gradient, and the default
# iteration limit of each: enough for 92-94% held-out accuracy on the
# bundled digits with a 784-25-10 network, in a few seconds (see README).
# What one "iteration" is differs:
#   TNC        a truncated-Newton step: an inner CG solve of at most 10
#              Hessian-vector products (each one gradient evaluation) and a
#              line search. SciPy only bounds TNC by evaluations, so nnopt
#              stops it itself.
#   CG         one conjugate-gradient step with its line search (~2 evaluations).
#   L-BFGS-B   one quasi-Newton step (~1 evaluation).
#   BFGS       one quasi-Newton step; keeps a dense n×n matrix, so only for small nets.
#   Newton-CG  one Newton step: an inner CG solve on exact curvature
#              products (each about 1.2 gradient evaluations) and a line search.
#   trust-ncg, trust-krylov  one trust-region step: an inner (Steihaug or
#              Lanczos) solve on exact curvature products.
#   SLSQP, trust-constr  one step of their own kind; slow for large nets.
DEFAULT_MAXITER = MappingProxyType({
    "tnc": 25, "cg": 200, "l-bfgs-b": 200, "bfgs": 200,
    "newton-cg": 50, "trust-ncg": 50, "trust-krylov": 50, "slsqp": 100, "trust-constr": 200,
})
# The methods that take Hessian-vector products (SciPy's hessp), and the
# curvature each is given unless told otherwise (curvature=): the
# Gauss-Newton matrix G, positive semi-definite, or the exact Hessian H.
# Chosen by bench_second_order.py, the time to 92% held-out on the digits
# split (benchmarks/README.md): Newton-CG is about as fast with G as with H,
# and G is positive semi-definite; trust-krylov is faster with G; trust-ncg
# reaches 92% only with H. trust-constr: G, positive semi-definite, as for
# the other methods that do not say.
DEFAULT_CURVATURE = MappingProxyType({
    "newton-cg": "gauss-newton", "trust-ncg": "hessian", "trust-krylov": "gauss-newton",
    "trust-constr": "gauss-newton",
})
# nnopt's defaults for TNC's own options (the user's `options` win). SciPy's
# maxCGit allows up to 50 Hessian-vector products per Newton step; far from
# a minimum of a network's cost, so exact a Newton direction is not worth
# that much: 10 reaches the same accuracy in about half the evaluations.
# rescale=0 rescales the cost at every iteration, which keeps TNC's internal
# tolerances in proportion while J falls from ~7 to ~0.3. Measured on three
# stratified digit splits: 92.7-93.7% held-out after 25 iterations in
# ~1.8 s, against 92.5-94.0% after 50 iterations in ~9 s with SciPy's own.
TNC_OPTIONS = MappingProxyType({"maxCGit": 10, "rescale": 0})
_NO_GRADIENT = frozenset({"nelder-mead", "powell", "cobyla", "cobyqa"})
_NEED_HESSIAN = frozenset({"dogleg", "trust-exact"})
_CURVATURES = ("gauss-newton", "hessian")
_DESCENT = frozenset({"gd", "sgd"})
# MATLAB's trainers, each a module of nnopt with its own ``prepare``: trainlm and trainbr
# (nnopt.levenberg), trainscg (nnopt.scg), trainrp as iRprop⁺ (nnopt.rprop)
_MATLAB = MappingProxyType({"lm": levenberg, "br": levenberg, "scg": scg, "rprop": rprop})


class _NonFinite(Exception):
    """The optimizer asked for the cost at a non-finite θ, or got a non-finite cost."""


def _check_method(method):
    if not isinstance(method, str):
        raise TypeError(f"method must be a string such as 'TNC'; got {method!r}")
    key = method.lower()
    if key in _NO_GRADIENT:
        raise ValueError(f"method {method!r} uses no gradient, so backpropagation would be wasted; "
                         f"use one of {_method_list()}")
    if key in _NEED_HESSIAN:
        raise ValueError(f"method {method!r} needs the whole Hessian matrix (n_params² numbers), "
                         "which nnopt does not form; 'trust-ncg' and 'trust-krylov' take exact "
                         f"Hessian-vector products instead. Use one of {_method_list()}")
    if key not in DEFAULT_MAXITER and key not in _DESCENT and key not in _MATLAB:
        raise ValueError(f"unknown method {method!r}; use one of {_method_list()}")
    return key


def _method_list():
    return ("'TNC', 'CG', 'L-BFGS-B', 'BFGS', 'Newton-CG', 'trust-ncg', 'trust-krylov', 'SLSQP', "
            "'trust-constr', 'LM', 'BR', 'SCG', 'Rprop', 'gd', 'sgd'")


def _check_curvature(curvature, key):
    """The curvature for a method's Hessian-vector products; None picks the method's default."""
    if key not in DEFAULT_CURVATURE:
        if curvature is not None:
            raise _not_for_the_method(f"curvature={curvature!r}", key)
        return None
    if curvature is None:
        return DEFAULT_CURVATURE[key]
    if curvature not in _CURVATURES:
        raise ValueError(f"curvature must be one of {list(_CURVATURES)} or None; got {curvature!r}")
    return curvature


def _check_curvature_fraction(fraction, key):
    """The share of the examples a curvature product reads: 1 unless a hessp method is given another."""
    if key not in DEFAULT_CURVATURE:
        if isinstance(fraction, (bool, np.bool_)) or not (isinstance(fraction, numbers.Real)
                                                          and fraction == 1):
            raise _not_for_the_method(f"curvature_fraction={fraction!r}", key)
        return 1.0
    return check_fraction(fraction, "curvature_fraction")


def _not_for_the_method(setting, key):
    """The error for a curvature setting given to a method that takes no Hessian-vector products."""
    return ValueError(f"{setting} is for the methods that take Hessian-vector products "
                      f"({', '.join(sorted(DEFAULT_CURVATURE))}); got method {key!r}")


def _sampling_seed(seed):
    """The samples' random stream: train's Generator itself, or one spawned from its seed,
    independent of the initial weights' (`random_init` draws from ``default_rng(seed)``)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])


def _check_hidden(hidden_layer_sizes):
    if isinstance(hidden_layer_sizes, numbers.Integral) and not isinstance(hidden_layer_sizes, bool):
        hidden_layer_sizes = (hidden_layer_sizes,)
    try:
        hidden = tuple(hidden_layer_sizes)
    except TypeError:
        raise TypeError(f"hidden_layer_sizes must be an int or a sequence of ints such as (25,); "
                        f"got {hidden_layer_sizes!r}") from None
    for s in hidden:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
            raise TypeError(f"hidden_layer_sizes must hold whole numbers; got {hidden!r}")
        if s < 1:
            raise ValueError(f"every hidden layer needs at least 1 unit; got hidden_layer_sizes={hidden!r}")
    return tuple(int(s) for s in hidden)


def train(X, y, lam=1.0, hidden_layer_sizes=(25,), method="TNC", maxiter=None, seed=0,
          loss=None, verbose=False, dtype=None, options=None, *, activation="sigmoid",
          output="sigmoid", sample_weight=None, progress=None, working_memory=None, curvature=None,
          curvature_fraction=1.0, validation=None, max_fail=6, **descent):
    """Train a network by backpropagation.

    Parameters
    ----------
    X : array_like, shape (m, n)
        One example per row, features scaled to a small range (for pixels,
        [0, 1]); values far outside it give a warning.
    y : array_like, shape (m,) or (m, K)
        Classes: labels of any sortable kind (0-9, the course's 1-10,
        strings); the K distinct values become the output units, in sorted
        order. Multi-label (sigmoid output): an (m, K) matrix of 0/1.
        Regression (identity output): real values, (m,) or (m, k).
    lam : float
        Regularization strength λ ≥ 0.
    hidden_layer_sizes : int or sequence of int
        Units per hidden layer; the network is ``(n, *hidden_layer_sizes, K)``.
    method : str
        "TNC" (default, as in the articles), "CG", "L-BFGS-B", "BFGS",
        "SLSQP", the methods that take exact Hessian-vector products
        ("Newton-CG", "trust-ncg", "trust-krylov", "trust-constr"),
        "LM" and "BR" (MATLAB's Levenberg-Marquardt and Bayesian
        regularization, `nnopt.levenberg`; BR chooses its own
        regularization and does not use `lam`), "SCG" (Møller's scaled
        conjugate gradient, MATLAB's trainscg, `nnopt.scg`), "Rprop"
        (resilient backpropagation, iRprop⁺ with MATLAB trainrp's
        defaults, `nnopt.rprop`), or "gd" / "sgd" for the articles' batch
        and mini-batch gradient descent. README's "Which method?" compares
        them on the same problems.
    maxiter : int or None
        The most optimizer iterations (see `DEFAULT_MAXITER` for what one
        iteration is per method, and the default used for None).
    seed : int, numpy.random.Generator or None
        Seeds the initial weights (`random_init`).
    loss : {None, "cross_entropy", "squared_error"}
        None takes the output's own: cross-entropy for sigmoid and softmax,
        squared error for identity.
    verbose : bool
        Print each iteration's number, cost and time while training.
    dtype : {None, numpy.float64, numpy.float32}
        Precision of the cost and gradient arithmetic: a float32 evaluation
        takes about half the float64 time (benchmarks/README.md), though an
        optimizer may make more of them (the default TNC run on the digits
        does). The optimizer's vector stays float64.
    options : dict or None
        Further options for `scipy.optimize.minimize` (for example
        ``{"gtol": 1e-6}``); ``maxiter`` is set from the argument above.
        For TNC they override nnopt's `TNC_OPTIONS`. For "LM" and "BR",
        MATLAB's options: ``mu``, ``mu_dec``, ``mu_inc``, ``mu_max``,
        ``gtol`` and ``solver`` (`nnopt.levenberg`); for "SCG" and
        "Rprop", those in `nnopt.scg.DEFAULTS` and `nnopt.rprop.DEFAULTS`.
    activation : {"sigmoid", "tanh", "relu"}
        The hidden units.
    output : {"sigmoid", "softmax", "identity"}
        The output units: sigmoid (the course: one-vs-all, or multi-label),
        softmax (one class per example), identity (regression).
    sample_weight : array_like, shape (m,), optional
        Weights w_i ≥ 0; J = (1/Σw)·Σ w_i·cost_i + λ/(2Σw)·ΣΘ².
    progress : bool or None
        Show a progress bar (iterations of maxiter, the cost, the time
        left): None shows it on a terminal or in a notebook only.
    working_memory : float, optional
        MiB of activations an evaluation may hold at a time (default 64):
        X is taken in blocks of rows that fit. X may be a `numpy.memmap`,
        read one block at a time and never whole.
    curvature : {None, "gauss-newton", "hessian"}
        For the methods that take Hessian-vector products: the Gauss-Newton
        matrix G (positive semi-definite) or the exact Hessian H; None
        picks the method's default (`DEFAULT_CURVATURE`).
    curvature_fraction : float
        For the same methods: the share of the examples, in (0, 1], that
        each curvature product reads, drawn anew at each iteration's θ
        (`Objective.sampled_curvature`, seeded from `seed`); the cost and
        the gradient read them all. 1 (the default) reads all of them.
        Products on a sample are cheaper in proportion and still steer the
        Newton step (benchmarks/README.md: 0.2 on the digits).
    validation : None, float or (X_val, y_val)
        A validation set, for early stopping as MATLAB's ``train`` does it:
        a fraction in (0, 1) of the rows of X held out (stratified by class
        for labels, drawn from `seed`; X in memory), or an explicit pair in
        the labels of y. Its cost (the unregularized J on its rows) is
        computed after every iteration, and the model returned holds the θ
        of the iteration where it was lowest.
    max_fail : int
        With a validation set: stop once the validation cost has not
        fallen for this many iterations in a row (MATLAB's default, 6).
    **descent
        Options of the "gd" and "sgd" methods (see `nnopt.descent`).

    Returns
    -------
    Model
        With ``history`` (per iteration, iteration 0 the initial θ: "cost",
        "gradient_norm", "time", and with a validation set
        "validation_cost", "validation_score", "validation_fails"),
        ``best_iteration`` (the iteration whose θ it holds),
        ``cost_history`` (J after each iteration), ``time_history``,
        ``n_iter``, ``n_evals`` and SciPy's ``result``.

    Warns
    -----
    ConvergenceWarning
        When the optimizer stops for a reason other than convergence or its
        iteration limit (a failed line search, a non-finite cost), or when
        training is interrupted with Ctrl-C; the model then holds the
        parameters of the last completed iteration.
    ScalingWarning
        When X's values are far outside the range the units can use.

    Notes
    -----
    The course's ``fmincg(costFunction, initial_nn_params, optimset('MaxIter', 50))``
    corresponds to ``train(X, y, lam, method="CG", maxiter=50)``: a
    nonlinear conjugate-gradient method stopped after 50 iterations.
    """
    key = _check_method(method)
    curvature = _check_curvature(curvature, key)
    curvature_fraction = _check_curvature_fraction(curvature_fraction, key)
    maxiter = v.check_int(maxiter, "maxiter", 1, allow_none=True)
    hidden = _check_hidden(hidden_layer_sizes)
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None; got {progress!r}")
    max_fail = v.check_int(max_fail, "max_fail", 1)
    X = _checked_X(X)
    kind, classes, targets = encode(y, X.shape[0], output)
    sizes = (X.shape[1], *hidden, targets.shape[1] if targets.ndim == 2 else classes.size)
    X, targets, sample_weight, held_out = hold_out(X, targets, sample_weight, validation, kind, classes,
                                                   output, seed)
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"options must be a dict of scipy.optimize.minimize options or None; got {options!r}")
    if key in _DESCENT:
        run, run_args, limit = _descent.prepare(key, maxiter, X.shape[0], seed, descent)
    else:
        if descent:
            raise TypeError(f"train() got unexpected options {sorted(descent)} for method {method!r} "
                            "(learning_rate, batch_size, epochs and momentum belong to 'gd' and 'sgd')")
        if key in _MATLAB:
            run, run_args, limit = _MATLAB[key].prepare(method, maxiter, dict(options or {}), n_params(sizes))
        else:
            limit = maxiter or DEFAULT_MAXITER[key]
            run, run_args = _run_scipy, (key, limit, dict(options or {}), curvature)
    objective = Objective(X, targets, lam, sizes, loss, dtype, activation=activation, output=output,
                          sample_weight=sample_weight, working_memory=working_memory)
    if objective.range is not None:
        v.warn_if_unscaled_range(objective.range, stacklevel=3)
    net = objective.net
    checker = None if held_out is None else Validation(
        bind(*held_out, 0.0, net, objective.problem.dtype, working_memory=working_memory)[0], kind)
    theta0 = random_init(sizes, seed=seed)
    if curvature_fraction < 1:
        run_args += (objective.sampled_curvature(curvature_fraction, _sampling_seed(seed)),)

    with ProgressBar(limit, enabled=progress) as bar:
        recorder = Recorder(objective, checker, max_fail, verbose=verbose, progress=bar)
        # with the gradient, which the optimizer's first call takes: its own first evaluation
        initial = objective.cost(theta0)
        recorder.start(theta0, initial)
        try:
            theta, result = run(objective, theta0, recorder, *run_args)
        except StopTraining as stop:
            theta, result = _stopped(recorder, theta0, initial, objective, str(stop),
                                     status=1 if isinstance(stop, IterationLimit) else 3)
        except KeyboardInterrupt:
            theta, result = _stopped(recorder, theta0, initial, objective,
                                     "interrupted by KeyboardInterrupt (Ctrl-C)")
            warnings.warn(f"training was interrupted after {recorder.n_iter} iteration(s); "
                          "the model holds the parameters of the last completed iteration",
                          ConvergenceWarning, stacklevel=2)
        except _NonFinite as e:
            theta, result = _stopped(recorder, theta0, initial, objective, str(e))
            _warn_failure(method, result, stacklevel=2)
    history = recorder.history
    best = recorder.n_iter
    if checker is not None:  # the θ of the lowest validation cost, whatever stopped the run
        theta, best = recorder.best
        result.x, result.fun = theta, float(history["cost"][best])
    return Model(reshape(theta, sizes), classes, objective.lam, net.loss, recorder.costs, recorder.times,
                 n_iter=recorder.n_iter, n_evals=objective.n_evals, method=method,
                 result=result, initial_cost=initial, activation=net.activation, output=net.output,
                 target=kind, history=history, best_iteration=best)


def _checked_X(X):
    """X as train takes it (`as_rows`), 2-D; its values are read once, by the Objective."""
    return check_features(as_rows(X), None)


def _stopped(recorder, theta0, initial, objective, message, status=-1):
    """The result of a run that ended early: its last accepted point. A validation stop
    (status 3) is a success, as MATLAB counts it; the others are not."""
    x = recorder.x if recorder.x is not None else theta0.copy()
    fun = recorder.costs[-1] if recorder.costs else initial
    result = OptimizeResult(x=x, fun=fun, success=status == 3, status=status, message=message,
                            nit=recorder.n_iter, nfev=objective.n_evals)
    return x, result


def _cost_at(objective, theta):
    """J at θ: from the optimizer's own recent evaluations when it made one there."""
    J = objective.recorded_cost(theta)
    return J if J is not None else objective.forward_cost(theta)


def _warn_failure(method, result, stacklevel):
    warnings.warn(
        f"{method} stopped before converging: {result.message} The model holds the "
        f"parameters of the last accepted iteration (cost {result.fun:.6g}). Things to try: "
        "features scaled to [0, 1], a larger lam, another method ('L-BFGS-B' or 'TNC'), "
        "or dtype=numpy.float64 if float32 was used.",
        ConvergenceWarning, stacklevel=stacklevel + 1)


def _run_scipy(objective, theta0, recorder, key, maxiter, options, curvature=None, products=None):
    """Minimize with `scipy.optimize.minimize`, recording every iteration.

    `products`: where the curvature products come from (an Objective's
    `sampled_curvature`), if not from the objective itself.
    """

    def fun(theta):
        if not np.all(np.isfinite(theta)):
            raise _NonFinite("the optimizer stepped to non-finite parameters (NaN or inf).")
        J, grad = objective(theta)
        if not np.isfinite(J) or not np.all(np.isfinite(grad)):
            raise _NonFinite("the cost or its gradient became non-finite.")
        return J, grad

    if key == "tnc":
        # SciPy's TNC takes no iteration limit (only maxfun), and its callback
        # gets x alone: its cost is looked up among the recent evaluations.
        recorder.stop_after = maxiter
        options = {**TNC_OPTIONS, "maxfun": max(100, 10 * theta0.size, 200 * maxiter), **options}

        def callback(xk):
            recorder.record(xk, _cost_at(objective, xk))
    else:
        options["maxiter"] = maxiter

        def callback(intermediate_result):
            recorder.record(intermediate_result.x, intermediate_result.fun)

    # a StopTraining from the callback (TNC's iteration limit, a validation
    # stop) leaves minimize and this function for train, which ends the run
    with scipy_blas_limited():
        products = objective if products is None else products
        hessp = None if curvature is None else (
            products.hessp if curvature == "hessian" else products.gauss_newton)
        result = minimize(fun, theta0, jac=True, hessp=hessp, method=key, callback=callback,
                          options=options)
    theta = np.array(result.x, dtype=np.float64)
    if recorder.x is None or not np.array_equal(theta, recorder.x):
        # The optimizer returned a point that ended no iteration (it stopped
        # inside one): keep the curve consistent with the returned model.
        recorder.stop_after = None
        recorder.record(theta, _cost_at(objective, theta))
    if not result.success and recorder.n_iter < maxiter:
        _warn_failure(key.upper(), result, stacklevel=3)
    return theta, result
