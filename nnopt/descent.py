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

Precision: sgd keeps θ and its velocity in the computing dtype (``dtype``)
for the whole run, cast from θ0 once and back to float64 once for the
model, as scikit-learn keeps its weights in the data's dtype: in float32
the steps, the λ term and the ΣΘ² of J_B are float32 arithmetic, and the
model's θ holds float32 values. gd steps in float64, on the float64
gradient `nnopt.Objective` returns whatever the dtype.

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
from ._scratch import Scratch
from .backprop import block_share, squared_weights
from .jacobian import weight_mask
from .objective import batch_problem
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


def _step(theta, velocity, step, momentum):
    """One momentum step, in place: θ ← θ + v with v ← μv − s, where s = α∇J is `step`.

    With Nesterov's momentum (scikit-learn's form) θ ← θ + μv − s instead,
    and `velocity` holds u = μv rather than v: then u ← μ(u − s) and
    θ ← θ + u − s, four passes over θ's size where v would take five (μv
    would need a pass of its own, into a temporary). μ = 0 is the plain
    step θ ← θ − s and leaves `velocity` alone. `step` is read, not
    written. No temporary array: on a wide network each would be a fresh
    allocation of θ's size at every step. Overflow is the caller's to
    check, in θ (a non-finite s makes θ non-finite too).

    Parameters
    ----------
    theta, velocity, step : ndarray, shape (n_params,)
        In one dtype.
    momentum : tuple (float, bool)
        (μ, nesterov).
    """
    mu, nesterov = momentum
    with np.errstate(over="ignore", invalid="ignore"):  # checked by the caller
        if mu == 0:
            theta -= step
        elif nesterov:
            velocity -= step
            velocity *= mu
            theta += velocity
            theta -= step
        else:
            velocity *= mu
            velocity -= step
            theta += velocity


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
        with np.errstate(over="ignore", invalid="ignore"):  # θ is checked just below
            grad *= learning_rate  # the objective's gradient is ours to write over
        _step(theta, velocity, grad, momentum)
        if not _all_finite(theta):
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
    mini-batch cost, without `full`) after each.

    θ and the velocity are kept in the computing dtype for the whole run
    (cast once here, and θ back to float64 once at the end), and each step
    makes a fixed number of passes over θ's size into buffers made here:

        s ← α·(the batch's data gradient)   backpropagated into s (δ^(L) scaled by α/b)
        s ← s + αλ/m·Θ (off the biases)     2 passes: αλ/m·θ into a scratch, added
        Σs ← Σs + s                         1 pass: the epoch's mean gradient, for the record
        the momentum step                   3-4 passes (`_step`)
        ΣΘ² of the new θ                    1 pass, a dot product: J_B's λ term at the next
                                            step, and the check that θ is finite

    No Objective is bound per batch: each batch is a `batch_problem` of the
    whole problem, already checked, evaluated by `_data_term`.
    """
    p = objective.problem
    net, m = p.net, p.m
    theta = theta0.astype(p.dtype)  # a copy, the run's own
    velocity = np.zeros_like(theta)
    step = np.empty_like(theta)  # α·∇J_B, written anew at each step
    scratch = np.empty_like(theta)
    summed = np.empty_like(theta)  # Σ_k (b_k/b)·s_k over an epoch's steps
    decay = learning_rate * p.lam * p.scale  # αλ/m (αλ/Σw), the λ term's share of a step
    biases = np.flatnonzero(~weight_mask(net))  # positions of the bias columns in θ
    squares = squared_weights(theta, net)  # finite: θ0 is
    arrays = Scratch()  # the batches' activations and errors, reused from step to step
    step_costs = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(m)
        summed[:] = 0
        with np.errstate(over="ignore", invalid="ignore"):  # a divergence is checked and reported
            for start in range(0, m, batch_size):
                rows = order[start:start + batch_size]
                # the batch's mean loss with the whole problem's λ term (λ/2m·ΣΘ², (λ/m)·Θ):
                # each step is an unbiased estimate of the full one
                J_B = _data_term(batch_problem(p, rows), theta, step, learning_rate, arrays)
                if p.lam:  # λ = 0 adds nothing, even where ΣΘ² overflowed (0·inf would be NaN)
                    J_B += p.lam * p.scale / 2.0 * squares
                if decay:
                    np.multiply(theta, decay, out=scratch)
                    scratch[biases] = 0  # the biases are not regularized
                    step += scratch
                if rows.size == batch_size:
                    summed += step
                else:  # the epoch's last, smaller batch weighs as its share of the rows
                    summed += np.multiply(step, rows.size / batch_size, out=scratch)
                _step(theta, velocity, step, momentum)
                # in θ's dtype: a NaN or inf in θ shows here, with no pass of its own
                squares = squared_weights(theta, net)
                if not (math.isfinite(J_B) and math.isfinite(squares)):
                    if math.isfinite(J_B) and _all_finite(theta):  # ΣΘ² alone overflowed float32
                        squares = squared_weights(theta.astype(np.float64), net)
                    else:
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
        # Σ_k (b_k/m)·∇J_k = b/(αm)·Σ_k (b_k/b)·s_k; its norm in float64, once an epoch
        norm = float(np.linalg.norm(summed.astype(np.float64))) * batch_size / (learning_rate * m)
        recorder.record(theta, J, norm)
    theta = theta.astype(np.float64)  # the model's θ, whatever the computing dtype
    # the first batch cost, at θ0, is an unbiased estimate of J(θ0)
    return theta, _result(objective, theta, recorder, learning_rate, "epoch", step_costs[0],
                          njev=len(step_costs), step_costs=np.array(step_costs))


def _data_term(batch, theta, out, scale, arrays=None):
    """The batch's mean loss, and `scale` times its gradient written into `out`.

    `backprop.block_share` on each block of rows, its gradient kept in the
    computing dtype and written into the caller's buffer (no cast or
    allocation of θ's size at each step), the factor `scale` applied to
    δ^(L). A batch longer than the problem's blocks is taken block by
    block, as any evaluation is, so that its activations stay within the
    working memory.

    Parameters
    ----------
    batch : nnopt._problem.Problem
        A `batch_problem`: its ``scale`` is 1/b (1/Σ_B w).
    theta : ndarray, shape (n_params,)
        In the computing dtype.
    out : ndarray, shape (n_params,)
        In the computing dtype; written over.
    scale : float
    arrays : nnopt._scratch.Scratch, optional
        Where the blocks' activations and errors go.

    Returns
    -------
    float
        (1/b)·Σ_{i∈B} cost_i (weighted: Σ_B w_i cost_i / Σ_B w), without the λ term.
    """
    J, extra = 0.0, None
    for i, block in enumerate(batch.blocks()):
        if i == 1:
            extra = np.empty_like(out)
        share, _ = block_share(block, theta, True, out=out if i == 0 else extra, scale=scale, scratch=arrays)
        J += share
        if i:  # the blocks' shares added in their order, as Problem.sums adds them
            out += extra
    return J


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
