"""Batch gradient descent and mini-batch SGD, the articles' own trainers.

``nnopt.train(..., method="gd")`` and ``method="sgd"`` run here, on the same
backpropagation cost and gradient as the SciPy methods:

    gd    θ ← θ − α ∇J(θ)          ∇J over all m examples, one step per iteration
    sgd   θ ← θ − α ∇J_B(θ)        ∇J_B over a mini-batch B of b examples,
                                   ∇W ≈ (1/b) Σ_{i∈B} ∇W_{x_i}  (the articles' eq. 17)

Both take a momentum μ ∈ [0, 1): v ← μv − α∇J, θ ← θ + v (μ = 0 is the plain
step), or with ``nesterov=True`` Nesterov's momentum in the form
scikit-learn's SGD uses, v ← μv − α∇J, θ ← θ + μv − α∇J: the step looks
ahead along the velocity it is about to take. Full-batch steps follow the
true gradient, so they can be larger (the articles' comparison); SGD takes
⌈m/b⌉ cheaper, noisier steps per pass.

Options (keyword arguments of `nnopt.train`)
--------------------------------------------
learning_rate : float > 0
    The step size α: 1.5 for gd, 0.5 for sgd.
momentum : float in [0, 1)
    μ, default 0.
nesterov : bool
    Nesterov's momentum (default False).
batch_size : int in [1, m], sgd only
    b, default 64 (or m when m < 64).
epoch_cost : {"full", "batches"}, sgd only
    What an epoch records: "full" (default) the whole data's J at its end,
    a forward pass over all m examples; "batches" the mean of the epoch's
    mini-batch costs, each at its step's θ (scikit-learn's ``loss_curve_``),
    which costs no pass of its own. Either way the gradient norm of an
    epoch is that of the mean of its mini-batch gradients, an estimate.
epochs : int >= 1, sgd only
    Passes over the data, default 30. ``train``'s ``maxiter`` is another
    name for it (give one of the two), so that for every method maxiter
    counts the entries of ``cost_history``. gd's count is ``maxiter``,
    default 500.

What is counted
---------------
gd
    One iteration is one step. ``cost_history[k]`` is J at the parameters
    after step k+1: it is computed at the start of the next step together
    with that step's gradient, and after the last step without a gradient,
    so the history ends at the cost of the returned parameters with no
    extra evaluation. ``n_evals`` is maxiter + 2 (train's J(θ0), the
    gradient at θ0, one evaluation per step).
sgd
    One iteration is one epoch, a pass over the m examples in a fresh random
    order in batches of b (the last batch of an epoch holds the remaining
    m mod b examples when b does not divide m). ``cost_history`` holds the
    full-data J after each epoch (``epoch_cost="full"``), the only
    full-data evaluations besides train's J(θ0): ``n_evals`` is epochs + 1;
    with ``epoch_cost="batches"`` it holds the mean mini-batch cost of
    each epoch, and ``n_evals`` is 1. ``result.step_costs``, shape
    (epochs·⌈m/b⌉,), holds the mini-batch cost of every step at the
    parameters before that step (an unbiased estimate of the full cost
    there), and ``result.njev`` the number of mini-batch gradients.

Both return a `scipy.optimize.OptimizeResult` with ``success`` True, since a
fixed schedule has no convergence test to fail, unless the cost ended above
its value at θ0 (J(θ0) for gd, the first mini-batch cost for sgd): then
``success`` is False, ``status`` 2, and a `ConvergenceWarning` says to lower
the learning rate.

Randomness: gd uses none beyond the initial weights. sgd shuffles with a
generator derived from ``seed`` that is independent of the one the initial
weights come from: for an int seed s, ``SeedSequence(s).spawn(1)[0]``; for
a `numpy.random.Generator`, that generator itself, after `random_init` has
drawn from it; for None, fresh entropy. The same int seed gives bit-for-bit
the same model.

Divergence: with λ > 0 each step multiplies the weights by (1 − αλ/m) besides
the data term, so α > 2m/λ makes them grow geometrically until the cost
overflows. A step that makes θ, the cost or the gradient NaN or inf raises
`DivergenceError` at once, holding the last completed iteration's parameters
and history.
"""

import math
import warnings
from types import MappingProxyType

import numpy as np
from scipy.optimize import OptimizeResult

from . import _validation as v
from .parameters import _as_generator
from .errors import ConvergenceWarning, DivergenceError

__all__ = ["DEFAULTS", "prepare"]

# Each method's defaults, chosen on the bundled digits split (4,000 training
# and 1,000 held-out examples, 784-25-10, λ = 1, seeds 0-2):
#   gd   α = 1.5: the cost falls at every one of the 500 steps (α = 2 overshoots
#        on the first step and then rises 15-44 times; α = 3 ends far higher);
#        91.2-91.8% held-out (91.2% after 300 steps, 91.2% after 1000).
#   sgd  α = 0.5 with b = 64: 91.6-92.6% held-out after 30 epochs (α = 0.3:
#        91.6-92.7% at a higher cost; α = 1: 90.8-92.2%; 30 epochs at α = 0.5
#        beat 20, 91.5-92.2%, and 10, 90.4-90.7%).
# On a busy 2-core machine gd's 500 steps took 7 s with one BLAS thread (26 s
# with two), sgd's 30 epochs 2.5 s (5 s).
DEFAULTS = MappingProxyType({
    "gd": MappingProxyType({"learning_rate": 1.5, "maxiter": 500, "momentum": 0.0, "nesterov": False}),
    "sgd": MappingProxyType({"learning_rate": 0.5, "batch_size": 64, "epochs": 30, "momentum": 0.0,
                             "nesterov": False, "epoch_cost": "full"}),
})


def prepare(method, maxiter, m, seed, options):
    """Check a run's settings before any work; return the run, its arguments and its iteration count.

    Parameters
    ----------
    method : {"gd", "sgd"}
    maxiter : int or None
        Iterations (gd) or epochs (sgd), already checked by `train`.
    m : int
        Training examples.
    seed : int, numpy.random.Generator or None
        `train`'s seed; sgd shuffles with a generator derived from it.
    options : dict
        The extra keyword arguments given to `train`.

    Returns
    -------
    run : callable
        ``run(objective, theta0, recorder, *run_args) -> (theta, result)``.
    run_args : tuple
    limit : int
        The iterations the run makes: gd's steps, sgd's epochs.
    """
    defaults = DEFAULTS[method]
    allowed = sorted(set(defaults) - {"maxiter"})  # gd's maxiter is train's own argument
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        hint = ""
        if method == "gd" and set(unknown) <= {"batch_size", "epochs"}:
            hint = ("; batch_size and epochs belong to 'sgd' ('gd' steps on all m examples "
                    "and counts its steps with maxiter)")
        raise TypeError(f"train() got unexpected option(s) {unknown} for method {method!r}; "
                        f"it takes {allowed}{hint}")
    opts = {**defaults, **options}
    learning_rate = v.check_real(opts["learning_rate"], "learning_rate", "> 0", lambda x: x > 0)
    momentum = v.check_real(opts["momentum"], "momentum", "in [0, 1)", lambda x: 0 <= x < 1)
    if not isinstance(opts["nesterov"], (bool, np.bool_)):
        raise TypeError(f"nesterov must be True or False; got {opts['nesterov']!r}")
    momentum = (momentum, bool(opts["nesterov"]))
    if method == "gd":
        steps = maxiter or defaults["maxiter"]
        return _run_gd, (learning_rate, steps, momentum), steps
    if maxiter is not None and "epochs" in options:
        raise TypeError(f"give either epochs or maxiter for 'sgd' (they are the same count); "
                        f"got epochs={options['epochs']!r} and maxiter={maxiter!r}")
    epochs = v.check_int(opts["epochs"] if maxiter is None else maxiter, "epochs", 1, None)
    # the default batch is the whole of a training set smaller than it
    batch_size = v.check_int(options.get("batch_size", min(defaults["batch_size"], m)), "batch_size", 1, m)
    if opts["epoch_cost"] not in ("full", "batches"):
        raise ValueError(f"epoch_cost must be 'full' or 'batches'; got {opts['epoch_cost']!r}")
    full = opts["epoch_cost"] == "full"
    return _run_sgd, (learning_rate, epochs, batch_size, momentum, _shuffler(seed), full), epochs


def _shuffler(seed):
    """The generator that orders each epoch: independent of the initial weights' one."""
    if seed is None or isinstance(seed, np.random.Generator):
        return _as_generator(seed)  # a Generator: random_init draws first, the epochs continue its stream
    _as_generator(seed)  # the same checks as the weights' seed: a non-negative int
    return np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(1)[0])


def _checked(objective, theta, gradient=True):
    """(J, grad) at θ, and whether both are finite.

    When the steps diverge, θ grows until products inside the forward pass
    overflow. Those overflows either saturate a sigmoid harmlessly or end in
    a non-finite J or gradient, which is checked here and reported as a
    `DivergenceError`; numpy's own warnings would only say where it broke.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if gradient:
            J, grad = objective(theta)
        else:
            J, grad = objective.forward_cost(theta), None
    return J, grad, bool(np.isfinite(J) and (grad is None or _all_finite(grad)))


def _all_finite(a):
    """Whether every value of `a` is finite: its max and min (NaN shows in both),
    two passes with no temporary array, where isfinite(a).all() makes one."""
    return math.isfinite(a.max()) and math.isfinite(a.min())


def _step(theta, velocity, grad, learning_rate, momentum):
    """v ← μv − α∇J; θ ← θ + v (or θ + μv − α∇J with Nesterov's), in place.

    `grad` is the caller's and is overwritten (with α∇J, then μv). `momentum`
    is (μ, nesterov). True while θ stays finite. No temporary array: on a
    wide network each would be a fresh allocation of θ's size at every step.
    """
    mu, nesterov = momentum
    with np.errstate(over="ignore", invalid="ignore"):  # checked on return
        grad *= learning_rate
        velocity *= mu
        velocity -= grad
        if nesterov:
            theta -= grad
            theta += np.multiply(velocity, mu, out=grad)
        else:
            theta += velocity
    return _all_finite(theta)


def _diverged(recorder, theta0, learning_rate, iteration, unit, what):
    theta = recorder.x.copy() if recorder.x is not None else theta0.copy()
    what = f"{what} became NaN or inf in {unit} {iteration}"
    return DivergenceError(
        f"{what}: learning_rate={learning_rate:g} is too large; try a smaller one, such as "
        f"learning_rate={learning_rate / 10:g}. The parameters of the last completed {unit} are "
        f"in this error's .theta, their costs in .cost_history.",
        learning_rate, iteration, theta, recorder.costs, recorder.times, what)


def _run_gd(objective, theta0, recorder, learning_rate, maxiter, momentum):
    """Batch gradient descent for maxiter steps, recording J after each."""
    theta, velocity = theta0.copy(), np.zeros_like(theta0)
    J0, grad, _ = _checked(objective, theta)  # finite: θ0 and X are
    for k in range(1, maxiter + 1):
        if not _step(theta, velocity, grad, learning_rate, momentum):
            raise _diverged(recorder, theta0, learning_rate, k, "iteration", "the parameters")
        # the gradient at the new θ is the next step's; the last step needs J only
        J, grad, finite = _checked(objective, theta, gradient=k < maxiter)
        if not finite:
            raise _diverged(recorder, theta0, learning_rate, k, "iteration", "the cost or its gradient")
        # before the next step, which writes over grad; the last one has none (the recorder finds it)
        recorder.record(theta, J, None if grad is None else float(np.linalg.norm(grad)))
    return theta, _result(objective, theta, recorder, learning_rate, "iteration", J0, njev=maxiter)


def _run_sgd(objective, theta0, recorder, learning_rate, epochs, batch_size, momentum, rng, full=True):
    """Mini-batch SGD for a number of epochs, recording the full-data J (or the mean
    mini-batch cost, without `full`) after each."""
    m = objective.X.shape[0]
    theta, velocity = theta0.copy(), np.zeros_like(theta0)
    step_costs = []
    mean_gradient, scaled = np.empty_like(theta0), np.empty_like(theta0)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(m)
        mean_gradient[:] = 0
        for start in range(0, m, batch_size):
            rows = order[start:start + batch_size]
            # Objective.batch scales λ by b/m: each step is an unbiased estimate of the full one
            J_B, grad, finite = _checked(objective.batch(rows), theta)
            # before the step writes over grad; in place, without a temporary of θ's size
            mean_gradient += np.multiply(grad, rows.size / m, out=scaled)
            if not finite or not _step(theta, velocity, grad, learning_rate, momentum):
                raise _diverged(recorder, theta0, learning_rate, epoch, "epoch",
                                "the mini-batch cost, its gradient or the parameters")
            step_costs.append(J_B)
        if full:
            J, _, finite = _checked(objective, theta, gradient=False)
            if not finite:
                raise _diverged(recorder, theta0, learning_rate, epoch, "epoch", "the cost")
        else:  # each batch's cost weighs as its share of the rows, as the gradient does
            sizes = np.diff(np.r_[np.arange(0, m, batch_size), m])
            J = float(np.dot(step_costs[-sizes.size:], sizes)) / m
        recorder.record(theta, J, float(np.linalg.norm(mean_gradient)))
    # the first batch cost, at θ0, is an unbiased estimate of J(θ0)
    return theta, _result(objective, theta, recorder, learning_rate, "epoch", step_costs[0],
                          njev=len(step_costs), step_costs=np.array(step_costs))


def _result(objective, theta, recorder, learning_rate, unit, J0, **extra):
    """The OptimizeResult of a completed run; warns when the cost ended above J(θ0)."""
    n, J = len(recorder.costs), recorder.costs[-1]
    success = J <= J0
    if success:
        message = (f"Completed {n} {unit}s with learning_rate={learning_rate:g} "
                   "(a fixed schedule: there is no convergence test).")
    else:
        message = (f"The cost rose from {J0:.6g} to {J:.6g} over {n} {unit}s: "
                   f"learning_rate={learning_rate:g} is probably too large; try a smaller one, "
                   f"such as learning_rate={learning_rate / 10:g}.")
        # train → _run_* → here: point the warning at the caller of train
        warnings.warn(message, ConvergenceWarning, stacklevel=4)
    return OptimizeResult(x=theta, fun=J, success=success, status=0 if success else 2,
                          message=message, nit=n, nfev=objective.n_evals, **extra)
