"""Every training method on the same five problems: time to a stated held-out target, and the final score.

Run from the repository root, with OpenBLAS left to choose its own kernels:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_methods.py           # see below
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_methods.py --quick   # a smoke test
    python benchmarks/bench_methods.py --problems cancer,curve --methods LM,BR,sklearn-lbfgs    # some rows again

Methods: nnopt's TNC, CG, L-BFGS-B, BFGS, Newton-CG, trust-krylov, LM, BR,
SCG, Rprop, gd and sgd, each through ``nnopt.train(X, y, λ,
hidden_layer_sizes=..., method=..., maxiter=<budget>, seed=0,
activation=..., output=..., validation=(X_test, y_test), max_fail=10**9)``
with its own defaults (the exceptions are listed with the problem);
beside them scikit-learn's MLP (solver "lbfgs" and "adam") and PyTorch
(Adam and LBFGS) on the same network and cost. A method nnopt does not
have yet (``train`` raises "unknown method") prints "n/a (not available)".

Problems (``--problems``), each with its target, chosen from what the good
methods reach at the end of their budget:

digits
    the bundled digits, ``train_test_split(X, y, test_size=0.2, seed=0)``
    (4,000 to train, 1,000 held out), 784-25-10 sigmoid/sigmoid with
    cross-entropy (the course's), λ = 1, float64. Target: 92% held-out
    accuracy (nnopt's default iteration limits are set for 92-94%).
mnist
    the full MNIST (``nnopt.load_mnist(--data, dtype=float32)``, 60,000 to
    train, the 10,000 test images held out), 784-300-10 ReLU/softmax,
    λ = 5, float32 (bench_mnist.py's network). Target: 98% held-out.
    Each method has 60 s of training (held-out evaluations excluded) and
    10,000 iterations; sgd runs with bench_mnist.py's settings
    (learning_rate 0.2, momentum 0.9, batch_size 200).
cancer
    scikit-learn's breast-cancer data (569 × 30, 2 classes: MATLAB's
    cancer_dataset), ``train_test_split(test_size=0.2, seed=0)`` (455 /
    114), features standardized by the training rows; 30-10-2 tanh/softmax
    with cross-entropy, as MATLAB's ``patternnet(10)`` (tansig, softmax,
    crossentropy), λ = 1. Target: 97% held-out (111 of 114; the good methods
    end at 97.4-98.2%).
diabetes
    scikit-learn's diabetes data (442 × 10), 80/20 split by
    ``default_rng(0).permutation`` (bench_lm.py's), X and y standardized
    by the training rows; 10-10-1 tanh/identity with squared error, λ = 10
    (λ = 1 overfits: held-out R² 0.14-0.19). Target: held-out R² ≥ 0.50
    (L-BFGS-B and TNC end at 0.52, as ridge regression does).
curve
    the noisy curve of the LM issue: 60 points of sin(2πx) + N(0, 0.2²),
    x ~ U[−1, 1] (``default_rng(0)``), 1-20-1 tanh/identity, λ = 0.01 (the λ
    bench_lm.py's 5-fold cross-validation picks); the score is the MSE
    against sin(2πx) on 1,001 evenly spaced x in [−1, 1], the held-out set
    given to train (its R² there converts exactly: MSE = (1 − R²)·Var).
    Target: MSE ≤ 0.007 (the λ = 0.01 minimum is at 0.0053; BR, which
    picks its own regularization, ends at 0.0065).

Budgets (iterations as each method counts them: see nnopt.training's
DEFAULT_MAXITER; gd's steps; sgd's and Adam's epochs; `BUDGETS` below,
printed with each table): on the digits about 2-4× nnopt's defaults, TNC
100, CG, L-BFGS-B and SCG 400, Newton-CG, trust-krylov and LM 100, Rprop
and gd 1,000, sgd 100 epochs; scikit-learn's and PyTorch's L-BFGS 400,
their Adam 200 epochs. The three small problems give 1,000 to every method
(MATLAB's default epochs) but 300 to LM and BR. MNIST gives each 60 s.
The whole run is meant to take under 25 minutes on 2 quiet cores (MNIST
is 14 runs of a minute); on a busy machine it takes longer. Methods that
cannot run a problem say why: BR holds the N×N Gauss-Newton matrix
(N ≤ 5,792), SciPy's BFGS a dense N×N inverse Hessian (run here for
N ≤ 5,000 only); LM solves with matrix-free conjugate gradients above
N = 5,792.

Times. Each nnopt run is given the held-out set as ``validation=``, so its
record scores every iteration; ``max_fail`` = 10**9 keeps the validation
stop from ending it. The held-out evaluations are not training: this
script stands in for ``nnopt.training``'s Validation and ProgressBar
during its runs (nnopt's code is not changed) to time each held-out
evaluation and subtract it, and to end a run whose training time passes
the problem's time budget (after the iteration that passes it). An
iteration's time is thus the seconds since train's record started (after
the checks and setup; J(θ0) included) less the held-out evaluations
before it. "time to target" is that of the first iteration whose held-out
score reaches the target (later ones may fall below it again), "time used"
that of the last one. The final score and J are those of the last
iteration, not of the iteration of the lowest validation cost that
``train`` returns. sgd's epochs include the full-data J that its record
keeps (``epoch_cost="full"``, its default).

Baselines, same network, λ and held-out set:

sklearn-lbfgs
    ``MLPClassifier``/``MLPRegressor(solver="lbfgs", alpha=λ, max_iter=<budget>,
    random_state=0)`` (its J is nnopt's: mean loss + alpha/(2m)·‖W‖²).
    Its objective is wrapped to score every evaluation, untimed; the time
    to target is that of the first evaluation reaching it, and the final
    score and J are those of the lowest J evaluated.
sklearn-adam
    ``solver="adam"``, its defaults (learning rate 1e-3, batches of
    min(200, m)), alpha = λ·b/m (scikit-learn scales a batch's penalty by
    the batch, nnopt by m), one ``partial_fit`` per epoch, scored untimed
    after each; its J is computed afterwards on all training rows.
scikit-learn's times start at the call (its checks and setup included);
its weights start from its own initialization
(random_state=0), and with two classes it has one logistic output in place
of the two softmax outputs (the same functions); with the digits' sigmoid
outputs it is given one-hot targets (a multi-label problem: logistic
outputs, the course's cost). On float32 MNIST its L-BFGS computes in
float64 (SciPy hands it float64 weights), its Adam in float32.
torch-adam, torch-lbfgs
    PyTorch in a process of its own (its own threads and BLAS: one thread
    on the three small problems, where more only wait for each other, one
    per core else), the same J written out in torch, the initial weights
    nnopt's ``random_init(sizes, seed=0)``, in the problem's dtype (float32
    for MNIST, float64 else).
    Adam: learning rate 1e-3, shuffled batches of min(200, m), the
    penalty λ/(2m)·ΣW² in each batch's mean cost, scored after each
    epoch. LBFGS: full batch, ``torch.optim.LBFGS(lr=1, max_iter=<budget>,
    line_search_fn="strong_wolfe")`` (history 100, torch's default), every
    evaluation scored as scikit-learn's is. Times exclude torch's import.
    "n/a (PyTorch not installed)" without torch.

``--quick`` is a smoke test, not a measurement: the budgets of
`QUICK_BUDGETS` (a tenth or so of the above), and on MNIST the first 5,000
training and 1,000 test images with 4 s per method.

Before each problem's runs one untimed L-BFGS-B iteration warms the
caches and BLAS threads. Seed 0 everywhere, one run of each: on a shared
machine the times are noisy (the header gives the load; with another
process on one of 2 cores, a BLAS product on 2 threads can take 10× its
time). Output: the machine header, one table per problem and a summary,
in Markdown. Asserts nothing.
"""

import argparse
import contextlib
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import nnopt  # noqa: E402
import nnopt.training  # noqa: E402
from _machine import header, load, stolen  # noqa: E402
from _options import names  # noqa: E402
from nnopt import levenberg  # noqa: E402
from nnopt.parameters import n_params, random_init  # noqa: E402
from nnopt.record import IterationLimit  # noqa: E402

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "mnist")
PROBLEMS = ("digits", "mnist", "cancer", "diabetes", "curve")
METHODS = ("TNC", "CG", "L-BFGS-B", "BFGS", "Newton-CG", "trust-krylov", "LM", "BR", "SCG", "Rprop", "gd", "sgd")
BASELINES = ("sklearn-lbfgs", "sklearn-adam", "torch-lbfgs", "torch-adam")
# SciPy's BFGS updates a dense N×N inverse Hessian at every iteration, O(N²)
# work and memory: at 5,000 parameters it holds 200 MB (the digits' 19,885: 2.9 GiB).
BFGS_MAX = 5000
NO_STOP = 10**9  # max_fail: the validation set scores, it does not stop

_SMALL = {**dict.fromkeys(METHODS, 1000), "LM": 300, "BR": 300, "sklearn-lbfgs": 1000, "sklearn-adam": 1000,
          "torch-lbfgs": 1000, "torch-adam": 1000}
_SMALL_QUICK = {**dict.fromkeys(METHODS + BASELINES, 100), "LM": 50, "BR": 50}
BUDGETS = {
    "digits": {"TNC": 100, "CG": 400, "L-BFGS-B": 400, "BFGS": 400, "Newton-CG": 100, "trust-krylov": 100,
               "LM": 100, "BR": 100, "SCG": 400, "Rprop": 1000, "gd": 1000, "sgd": 100,
               "sklearn-lbfgs": 400, "sklearn-adam": 200, "torch-lbfgs": 400, "torch-adam": 200},
    "mnist": dict.fromkeys(METHODS + BASELINES, 10_000),
    "cancer": _SMALL, "diabetes": _SMALL, "curve": _SMALL,
}
QUICK_BUDGETS = {
    "digits": {"TNC": 10, "CG": 50, "L-BFGS-B": 50, "BFGS": 50, "Newton-CG": 15, "trust-krylov": 15,
               "LM": 3, "BR": 3, "SCG": 50, "Rprop": 100, "gd": 100, "sgd": 10,
               "sklearn-lbfgs": 50, "sklearn-adam": 10, "torch-lbfgs": 50, "torch-adam": 10},
    "mnist": dict.fromkeys(METHODS + BASELINES, 10_000),
    "cancer": _SMALL_QUICK, "diabetes": _SMALL_QUICK, "curve": _SMALL_QUICK,
}
MNIST_SECONDS, QUICK_MNIST_SECONDS = 60.0, 4.0
QUICK_MNIST_ROWS = (5_000, 1_000)  # --quick: the first training and test rows
MNIST_SGD = {"learning_rate": 0.2, "momentum": 0.9, "batch_size": 200}
SKLEARN_ACTIVATION = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}


@dataclass
class Problem:
    """One problem: its data, network, λ, held-out score and target, and each method's budget."""

    key: str
    title: str
    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    lam: float
    hidden: tuple
    activation: str
    output: str
    dtype: type
    score: str  # "accuracy", "R²" or "MSE" (against the truth, from the held-out R²)
    target: float
    budgets: dict
    seconds: float = None  # training time of each run, or None
    options: dict = field(default_factory=dict)  # method -> extra keyword arguments of train
    variance: float = None  # Var of the held-out targets, for MSE = (1 − R²)·Var

    @property
    def sizes(self):
        return (self.X.shape[1], *self.hidden, self.n_outputs)

    @property
    def n_outputs(self):
        return 1 if self.output == "identity" else int(self.y.max()) + 1

    @property
    def lower_is_better(self):
        return self.score == "MSE"

    def reaches(self, score):
        return score <= self.target if self.lower_is_better else score >= self.target

    def from_r2_or_accuracy(self, value):
        """The score as reported, from train's validation score."""
        return (1.0 - value) * self.variance if self.score == "MSE" else value

    def show(self, score):
        if score is None or not math.isfinite(score):
            return "—"
        if self.score == "accuracy":
            return f"{100 * score:.1f}%"
        if abs(score) >= 1e3:  # a diverged run's
            return f"{score:.3g}"
        return f"{score:.3f}" if self.score == "R²" else f"{score:.4f}"

    def target_text(self):
        sign = "≤" if self.lower_is_better else "≥"
        return f"{self.score} {sign} {self.show(self.target)}"


@dataclass
class Row:
    """One method's run on one problem."""

    method: str
    budget: str = ""
    iterations: str = ""
    to_target: float = None
    used: float = None
    score: float = None
    J: float = None
    ended: str = ""
    na: str = None  # why the method did not run
    notes: list = field(default_factory=list)  # warnings and remarks, printed under the table


# ------------------------------------------------------------------ problems

def digits(quick):
    X, y = nnopt.load_digits()
    X_train, X_test, y_train, y_test = nnopt.train_test_split(X, y, test_size=0.2, seed=0)
    return Problem("digits", "the bundled digits (4,000 / 1,000), 784-25-10 sigmoid/sigmoid, λ = 1, float64",
                   X_train, y_train, X_test, y_test, 1.0, (25,), "sigmoid", "sigmoid", np.float64,
                   "accuracy", 0.92, (QUICK_BUDGETS if quick else BUDGETS)["digits"])


def mnist(quick, data):
    X, y, X_test, y_test = nnopt.load_mnist(data, dtype=np.float32)
    if quick:
        (m, m_test) = QUICK_MNIST_ROWS
        X, y, X_test, y_test = X[:m], y[:m], X_test[:m_test], y_test[:m_test]
    seconds = QUICK_MNIST_SECONDS if quick else MNIST_SECONDS
    return Problem("mnist", f"MNIST ({len(y):,} / {len(y_test):,}), 784-300-10 ReLU/softmax, λ = 5, float32, "
                   f"{seconds:g} s of training per method",
                   X, y, X_test, y_test, 5.0, (300,), "relu", "softmax", np.float32, "accuracy", 0.98,
                   (QUICK_BUDGETS if quick else BUDGETS)["mnist"], seconds=seconds, options={"sgd": MNIST_SGD})


def cancer(quick):
    from sklearn.datasets import load_breast_cancer
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = nnopt.train_test_split(X, y, test_size=0.2, seed=0)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    return Problem("cancer", "breast cancer (455 / 114), 30-10-2 tanh/softmax (patternnet(10)), λ = 1",
                   (X_train - mean) / std, y_train, (X_test - mean) / std, y_test, 1.0, (10,), "tanh",
                   "softmax", np.float64, "accuracy", 0.97, (QUICK_BUDGETS if quick else BUDGETS)["cancer"])


def diabetes(quick):
    from sklearn.datasets import load_diabetes
    X, y = load_diabetes(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    test, train = order[:len(y) // 5], order[len(y) // 5:]
    X = (X - X[train].mean(axis=0)) / X[train].std(axis=0)
    y = (y - y[train].mean()) / y[train].std()
    return Problem("diabetes", "diabetes (354 / 88), 10-10-1 tanh/identity, λ = 10", X[train], y[train],
                   X[test], y[test], 10.0, (10,), "tanh", "identity", np.float64, "R²", 0.50,
                   (QUICK_BUDGETS if quick else BUDGETS)["diabetes"])


def curve(quick):
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-1, 1, 60))[:, None]
    y = np.sin(2 * np.pi * x[:, 0]) + rng.normal(0, 0.2, 60)
    grid = np.linspace(-1, 1, 1001)[:, None]
    truth = np.sin(2 * np.pi * grid[:, 0])
    return Problem("curve", "noisy curve (60 points; MSE against sin(2πx) on 1,001 points), 1-20-1 "
                   "tanh/identity, λ = 0.01", x, y, grid, truth, 0.01, (20,), "tanh", "identity", np.float64,
                   "MSE", 0.007, (QUICK_BUDGETS if quick else BUDGETS)["curve"],
                   variance=float(np.mean((truth - truth.mean()) ** 2)))


def score_of(problem, z):
    """The held-out score of outputs z, shape (m_test, K) (any monotone output for classes)."""
    if problem.score == "accuracy":
        return float(np.mean(np.argmax(z, axis=1) == problem.y_test))
    e = z.reshape(len(problem.y_test)) - problem.y_test
    if problem.score == "MSE":
        return float(np.mean(e ** 2))
    return float(1 - np.sum(e ** 2) / np.sum((problem.y_test - problem.y_test.mean()) ** 2))


# ------------------------------------------------------------------ nnopt's methods

class _Watch:
    """Stands in for nnopt.training's Validation and ProgressBar during one `train` call.

    Each held-out evaluation is timed, so that the iterations' times can
    leave it out, and its score kept; after each recorded iteration the
    stand-in progress bar ends the run (raising the recorder's own
    IterationLimit, which train handles as it does maxiter) once the
    training time passes `seconds`.
    """

    def __init__(self, seconds, convert):
        self.seconds, self.convert = seconds, convert
        self.t0 = self.validation_class = None
        self.held_out = 0.0
        self.times, self.scores = [], []  # per recorded iteration, 0 first
        self.out_of_time = False

    def _validation(self, problem, kind):
        inner = self.validation_class(problem, kind)
        self.t0 = time.perf_counter()  # train makes it just before its recorder, whose clock starts then
        watch = self

        class Timed:
            def __call__(self, theta):
                start = time.perf_counter()
                watch.times.append(start - watch.t0 - watch.held_out)
                cost, score = inner(theta)
                watch.scores.append(watch.convert(score))
                watch.held_out += time.perf_counter() - start
                return cost, score

        return Timed()

    def _progress_bar(self, total, enabled=None, **_):
        watch = self

        class Budget:
            def __enter__(self):
                return self

            def __exit__(self, *exc_info):
                return False

            def update(self, J):
                if watch.seconds is not None and watch.t0 is not None and \
                        time.perf_counter() - watch.t0 - watch.held_out >= watch.seconds:
                    watch.out_of_time = True
                    raise IterationLimit(f"time budget of {watch.seconds:g} s reached")

        return Budget()

    @contextlib.contextmanager
    def installed(self):
        training = nnopt.training
        if not (hasattr(training, "Validation") and hasattr(training, "ProgressBar")):
            raise RuntimeError("nnopt.training no longer uses Validation and ProgressBar by those names: "
                               "bench_methods.py's timing of held-out evaluations needs updating")
        saved = training.Validation, training.ProgressBar
        self.validation_class = saved[0]
        training.Validation, training.ProgressBar = self._validation, self._progress_bar
        try:
            yield self
        finally:
            training.Validation, training.ProgressBar = saved


def budget_text(problem, method):
    """The budget column: the time budget where the problem has one (its iteration cap is never reached)."""
    return f"{problem.seconds:g} s" if problem.seconds else f"{problem.budgets[method]:,}"


def _short(message, width=60):
    message = " ".join(str(message).split())
    return message if len(message) <= width else message[:width - 1] + "…"


def run_nnopt(problem, method):
    budget = problem.budgets[method]
    row = Row(method, budget=budget_text(problem, method))
    N = n_params(problem.sizes)
    if method == "BR" and N > levenberg.DENSE_MAX:
        row.na = f"n/a: BR needs the dense N×N Gauss-Newton matrix, N = {N:,} > {levenberg.DENSE_MAX:,}"
        return row
    if method == "BFGS" and N > BFGS_MAX:
        row.na = (f"n/a: BFGS keeps a dense N×N inverse Hessian ({N ** 2 * 8 / 2**30:.1f} GiB at N = {N:,}); "
                  f"run for N ≤ {BFGS_MAX:,}")
        return row
    watch = _Watch(problem.seconds, problem.from_r2_or_accuracy)
    costs, result = None, None
    with watch.installed(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = nnopt.train(problem.X, problem.y, problem.lam, hidden_layer_sizes=problem.hidden,
                                method=method, maxiter=budget, seed=0, activation=problem.activation,
                                output=problem.output, dtype=problem.dtype,
                                validation=(problem.X_test, problem.y_test), max_fail=NO_STOP,
                                progress=False, **problem.options.get(method, {}))
        except nnopt.DivergenceError as e:
            row.ended = f"diverged in iteration {e.iteration} (learning_rate {e.learning_rate:g})"
            costs = list(e.cost_history)
            row.iterations = f"{e.iteration - 1:,}"
        except ValueError as e:
            if "unknown method" in str(e):
                row.na = "n/a (not available)"
                return row
            raise
        else:
            costs, result = list(model.history["cost"][1:]), model.result
            row.iterations = f"{model.n_iter:,}"
    n = min(len(watch.times), len(watch.scores))
    times, scores = watch.times[:n], watch.scores[:n]
    hit = next((t for t, s in zip(times, scores) if problem.reaches(s)), None)
    row.to_target, row.used = hit, times[-1] if times else None
    row.score = scores[-1] if scores else None
    row.J = costs[-1] if costs else None
    if result is not None:
        if watch.out_of_time:
            row.ended = "time budget"
        elif not result.success and result.status != 1:  # 1: the iteration limit, for every method
            row.ended = _short(f"stopped: {result.message}")
        elif model.n_iter >= budget:
            row.ended = "budget"
        else:
            row.ended = "converged" if result.success else _short(f"stopped: {result.message}")
    notes = sorted({_short(w.message, 200) for w in caught
                    if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))})
    if method == "LM" and N > levenberg.DENSE_MAX:
        notes.insert(0, f"matrix-free (conjugate-gradient) steps: N = {N:,} > {levenberg.DENSE_MAX:,}")
    if method == "BR":
        notes.insert(0, "BR chooses its own regularization (λ not used); J is at its final λ = α/β")
    row.notes = notes
    return row


def warm_up(problem):
    """One untimed iteration, so that the first method timed does not pay for cold caches and threads."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nnopt.train(problem.X, problem.y, problem.lam, hidden_layer_sizes=problem.hidden, method="L-BFGS-B",
                    maxiter=1, activation=problem.activation, output=problem.output, dtype=problem.dtype,
                    progress=False)


# ------------------------------------------------------------------ scikit-learn

class _OutOfTime(Exception):
    pass


def _sklearn_estimator(problem, solver, budget):
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    m = len(problem.y)
    common = dict(hidden_layer_sizes=problem.hidden, activation=SKLEARN_ACTIVATION[problem.activation],
                  solver=solver, random_state=0)
    if solver == "lbfgs":
        common.update(alpha=problem.lam, max_iter=budget)
    else:
        batch = min(200, m)
        # scikit-learn's batch penalty is alpha/(2b)·‖W‖²: λ·b/m gives nnopt's λ/(2m)·‖W‖²
        common.update(alpha=problem.lam * batch / m, batch_size=batch, learning_rate_init=1e-3)
    if problem.output == "identity":
        return MLPRegressor(**common), problem.y
    # one-hot targets make a multi-label problem: logistic outputs, the course's cost
    targets = np.eye(problem.n_outputs)[problem.y] if problem.output == "sigmoid" else problem.y
    return MLPClassifier(**common), targets


def _sklearn_outputs(clf, problem):
    if problem.output == "identity":
        return clf.predict(problem.X_test).reshape(len(problem.X_test), 1)
    return clf.predict_proba(problem.X_test)


def _sklearn_J(clf, problem, targets):
    """nnopt's J (mean cost + λ/(2m)·ΣW²) of scikit-learn's network on the training rows."""
    X, m = problem.X, len(problem.y)
    penalty = problem.lam / (2 * m) * sum(float(np.sum(W.astype(np.float64) ** 2)) for W in clf.coefs_)
    if problem.output == "identity":
        return 0.5 * float(np.sum((clf.predict(X) - targets) ** 2)) / m + penalty
    P = np.clip(clf.predict_proba(X).astype(np.float64), 1e-15, 1 - 1e-15)
    if targets.ndim == 2:  # multi-label: Σ_k binary cross-entropy
        return -float(np.sum(targets * np.log(P) + (1 - targets) * np.log(1 - P))) / m + penalty
    return -float(np.mean(np.log(P[np.arange(m), np.searchsorted(clf.classes_, targets)]))) + penalty


def run_sklearn(problem, name):
    if importlib.util.find_spec("sklearn") is None:
        return Row(name, na="n/a (scikit-learn not installed)")
    from sklearn.exceptions import ConvergenceWarning
    budget = problem.budgets[name]
    solver = name.split("-")[1]
    clf, targets = _sklearn_estimator(problem, solver, budget)
    row = Row(name, budget=budget_text(problem, name))
    hit, held_out, t0 = None, 0.0, time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if solver == "lbfgs":
            objective = clf._loss_grad_lbfgs  # private: the function its L-BFGS calls
            state = {"evals": 0, "best": (math.inf, None), "last": 0.0}

            def tracked(packed, *args):
                nonlocal hit, held_out
                J, grad = objective(packed, *args)  # it unpacks the weights into clf first
                start = time.perf_counter()
                elapsed = start - t0 - held_out
                score = score_of(problem, _sklearn_outputs(clf, problem))
                state["evals"] += 1
                state["last"] = elapsed
                if hit is None and problem.reaches(score):
                    hit = elapsed
                if J < state["best"][0]:
                    state["best"] = (float(J), score)
                held_out += time.perf_counter() - start
                if problem.seconds is not None and elapsed >= problem.seconds:
                    raise _OutOfTime
                return J, grad

            clf._loss_grad_lbfgs = tracked
            try:
                clf.fit(problem.X, targets)
                row.iterations = f"{clf.n_iter_:,} ({state['evals']:,} evals)"
                row.ended = "budget" if clf.n_iter_ >= budget else "converged"
            except _OutOfTime:
                row.iterations = f"{state['evals']:,} evals"
                row.ended = "time budget"
            row.used = state["last"]
            row.J, row.score = state["best"]
        else:
            fit_time = 0.0
            first = {"classes": np.arange(problem.n_outputs)} if problem.output != "identity" else {}
            for epoch in range(1, budget + 1):
                start = time.perf_counter()
                clf.partial_fit(problem.X, targets, **(first if epoch == 1 else {}))
                fit_time += time.perf_counter() - start
                row.score = score_of(problem, _sklearn_outputs(clf, problem))
                if hit is None and problem.reaches(row.score):
                    hit = fit_time
                if problem.seconds is not None and fit_time >= problem.seconds:
                    break
            row.iterations = f"{epoch:,} epoch{'s' if epoch > 1 else ''}"
            row.ended = "time budget" if epoch < budget else "budget"
            row.used, row.J = fit_time, _sklearn_J(clf, problem, targets)
    row.to_target = hit
    return row


# ------------------------------------------------------------------ PyTorch, in a process of its own

def run_torch(problem, wanted):
    """Rows of torch-lbfgs and torch-adam (those in `wanted`), both from one process."""
    # one thread on the small problems: on products this small more threads only wait for each other
    threads = os.cpu_count() if len(problem.y) * n_params(problem.sizes) > 10**6 else 1
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "problem.npz")
        spec = {"lam": problem.lam, "sizes": problem.sizes, "activation": problem.activation,
                "output": problem.output, "dtype": np.dtype(problem.dtype).name, "score": problem.score,
                "target": problem.target, "seconds": problem.seconds, "threads": threads,
                "runs": {name: problem.budgets[name] for name in wanted}}
        np.savez(path, X=problem.X, y=problem.y, X_test=problem.X_test, y_test=problem.y_test,
                 theta0=random_init(problem.sizes, seed=0), spec=json.dumps(spec))
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-worker", path],
                             capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    if out.returncode or not lines:
        why = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return [Row(name, na=f"n/a (the torch process failed: {_short(why, 120)})") for name in wanted]
    answer = json.loads(lines[-1])
    if "missing" in answer:
        return [Row(name, na="n/a (PyTorch not installed)") for name in wanted]
    rows = []
    for name in wanted:
        r = answer["runs"][name]
        row = Row(name, budget=budget_text(problem, name), iterations=r["iterations"], to_target=r["hit"],
                  used=r["used"], score=r["score"], J=r["J"], ended=r["ended"])
        rows.append(row)
    rows[0].notes.append(answer["about"])
    return rows


def _torch_worker(path):
    """The torch process: train with Adam and LBFGS as the spec says; print the results as JSON."""
    out = sys.stdout
    sys.stdout = sys.stderr  # anything torch prints goes to stderr, not into the answer
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        print(json.dumps({"missing": True}), file=out)
        return
    data = np.load(path)
    spec = json.loads(str(data["spec"]))
    torch.set_num_threads(spec["threads"])
    dtype = getattr(torch, spec["dtype"])
    sizes, lam, output = spec["sizes"], spec["lam"], spec["output"]
    X, X_test = torch.from_numpy(data["X"]).to(dtype), torch.from_numpy(data["X_test"]).to(dtype)
    y, y_test = data["y"], data["y_test"]
    m = X.shape[0]
    if output == "identity":
        T = torch.from_numpy(y.reshape(m, 1)).to(dtype)
    elif output == "sigmoid":
        T = torch.from_numpy(np.eye(sizes[-1])[y]).to(dtype)
    else:
        T = torch.from_numpy(y.astype(np.int64))
    hidden = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[spec["activation"]]
    theta0 = data["theta0"]

    def fresh():
        """Θ^(l), bias column first, from nnopt's θ0."""
        params, start = [], 0
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            W = theta0[start:start + n_out * (n_in + 1)].reshape(n_out, n_in + 1)
            start += n_out * (n_in + 1)
            params.append(torch.tensor(W, dtype=dtype, requires_grad=True))
        return params

    def forward(params, A):
        z = F.linear(A, params[0][:, 1:], params[0][:, 0])
        for W in params[1:]:
            z = F.linear(hidden(z), W[:, 1:], W[:, 0])
        return z

    def cost(params, A, targets):
        """Mean cost of the rows given plus λ/(2m)·ΣW², m all the training rows."""
        z, rows = forward(params, A), A.shape[0]
        if output == "identity":
            loss = 0.5 * ((z - targets) ** 2).sum() / rows
        elif output == "sigmoid":
            loss = F.binary_cross_entropy_with_logits(z, targets, reduction="sum") / rows
        else:
            loss = F.cross_entropy(z, targets, reduction="sum") / rows
        return loss + lam / (2 * m) * sum((W[:, 1:] ** 2).sum() for W in params)

    def score(params):
        with torch.no_grad():
            z = forward(params, X_test).double().numpy()
        if spec["score"] == "accuracy":
            return float(np.mean(z.argmax(axis=1) == y_test))
        e = z[:, 0] - y_test
        if spec["score"] == "MSE":
            return float(np.mean(e ** 2))
        return float(1 - np.sum(e ** 2) / np.sum((y_test - y_test.mean()) ** 2))

    def reaches(s):
        return s <= spec["target"] if spec["score"] == "MSE" else s >= spec["target"]

    def full_J(params):
        with torch.no_grad():
            return float(cost(params, X, T))

    seconds, runs = spec["seconds"], {}
    if "torch-adam" in spec["runs"]:
        epochs, params = spec["runs"]["torch-adam"], fresh()
        opt = torch.optim.Adam(params, lr=1e-3)
        batch, generator = min(200, m), torch.Generator().manual_seed(0)
        hit, elapsed = None, 0.0
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            for rows in torch.randperm(m, generator=generator).split(batch):
                opt.zero_grad()
                cost(params, X[rows], T[rows]).backward()
                opt.step()
            elapsed += time.perf_counter() - start
            s = score(params)
            if hit is None and reaches(s):
                hit = elapsed
            if seconds is not None and elapsed >= seconds:
                break
        runs["torch-adam"] = {"iterations": f"{epoch:,} epoch{'s' if epoch > 1 else ''}", "hit": hit, "used": elapsed, "score": s,
                              "J": full_J(params), "ended": "time budget" if epoch < epochs else "budget"}
    if "torch-lbfgs" in spec["runs"]:
        iterations, params = spec["runs"]["torch-lbfgs"], fresh()
        opt = torch.optim.LBFGS(params, lr=1, max_iter=iterations, line_search_fn="strong_wolfe")
        state = {"evals": 0, "best": (math.inf, None), "hit": None, "held_out": 0.0, "last": 0.0}

        class OutOfTime(Exception):
            pass

        t0 = time.perf_counter()

        def closure():
            opt.zero_grad()
            J = cost(params, X, T)
            J.backward()
            start = time.perf_counter()
            elapsed = start - t0 - state["held_out"]
            s = score(params)
            state["evals"] += 1
            state["last"] = elapsed
            if state["hit"] is None and reaches(s):
                state["hit"] = elapsed
            if float(J) < state["best"][0]:
                state["best"] = (float(J), s)
            state["held_out"] += time.perf_counter() - start
            if seconds is not None and elapsed >= seconds:
                raise OutOfTime
            return J

        try:
            opt.step(closure)
            n_iter = opt.state[opt._params[0]]["n_iter"]
            ended = "budget" if n_iter >= iterations else "converged"
            done = f"{n_iter:,} ({state['evals']:,} evals)"
        except OutOfTime:
            ended, done = "time budget", f"{state['evals']:,} evals"
        runs["torch-lbfgs"] = {"iterations": done, "hit": state["hit"], "used": state["last"],
                               "score": state["best"][1], "J": state["best"][0], "ended": ended}
    threads = torch.get_num_threads()
    about = (f"torch {torch.__version__}, {threads} thread{'s' if threads > 1 else ''}, {spec['dtype']}, "
             f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print(json.dumps({"about": about, "runs": runs}), file=out)


# ------------------------------------------------------------------ output

def seconds_text(t):
    if t is None:
        return "—"
    if t < 1:
        return f"{1000 * t:.1f} ms" if t < 0.01 else f"{1000 * t:.0f} ms"
    return f"{t:.2f} s" if t < 10 else f"{t:.1f} s"


def print_problem(problem, rows):
    N = n_params(problem.sizes)
    if problem.seconds:
        budget = (f"{problem.seconds:g} s of training per run (the iteration after it ends the run; "
                  f"at most {max(problem.budgets.values()):,} iterations)")
    else:
        budget = "iterations as each method counts them (sgd, Adam: epochs)"
    print(f"\n### {problem.key}: {problem.title}\n")
    print(f"N = {N:,} parameters; target: held-out {problem.target_text()}; budget: {budget}\n")
    print("| method | budget | iterations | time to target | time used | held-out score | training J | ended |")
    print("|---|---|---|---|---|---|---|---|")
    notes = []
    for r in rows:
        if r.na:
            print(f"| {r.method} | {r.budget} | {r.na} | | | | | |")
            continue
        to_target = seconds_text(r.to_target) if r.to_target is not None else "not reached"
        J = "—" if r.J is None else f"{r.J:.4g}"
        print(f"| {r.method} | {r.budget} | {r.iterations} | {to_target} | {seconds_text(r.used)} | "
              f"{problem.show(r.score)} | {J} | {r.ended} |")
        notes += [f"{r.method}: {note}" for note in r.notes]
    for note in notes:
        print(f"- {note}")


def print_summary(problems, results, order):
    print("\n### Summary: time to target / final held-out score (seed 0, one run)\n")
    print("| method | " + " | ".join(f"{p.key} ({p.target_text()})" for p in problems) + " |")
    print("|---|" + "---|" * len(problems))
    for method in order:
        cells = []
        for p in problems:
            r = results[p.key].get(method)
            if r is None:
                cells.append("")
            elif r.na:
                cells.append("n/a")
            else:
                t = seconds_text(r.to_target) if r.to_target is not None else "not reached"
                cells.append(f"{t} / {p.show(r.score)}")
        print(f"| {method} | " + " | ".join(cells) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller budgets and a 5,000-row MNIST: a smoke test, not a measurement")
    parser.add_argument("--problems", default=",".join(PROBLEMS), help=f"some of {', '.join(PROBLEMS)}")
    parser.add_argument("--methods", default=",".join(METHODS + BASELINES),
                        help=f"some of {', '.join(METHODS + BASELINES)}")
    parser.add_argument("--data", default=DEFAULT_DATA, help="MNIST folder or mnist.npz")
    args = parser.parse_args(argv)
    chosen_problems = names(args.problems, PROBLEMS, "problems")
    chosen = names(args.methods, METHODS + BASELINES, "methods")
    order = [m for m in METHODS + BASELINES if m in chosen]
    start = time.perf_counter()
    header("bench_methods.py" + (" --quick (a smoke test, not a measurement)" if args.quick else ""))
    makers = {"digits": digits, "mnist": lambda quick: mnist(quick, os.path.normpath(args.data)),
              "cancer": cancer, "diabetes": diabetes, "curve": curve}
    problems, results = [], {}
    for key in PROBLEMS:
        if key not in chosen_problems:
            continue
        try:
            problem = makers[key](args.quick)
        except ImportError as e:  # the cancer and diabetes data are scikit-learn's
            print(f"\n### {key}: skipped ({e})")
            continue
        problems.append(problem)
        warm_up(problem)
        rows = {}
        for method in order:
            if method in METHODS:
                rows[method] = run_nnopt(problem, method)
            elif method.startswith("sklearn"):
                rows[method] = run_sklearn(problem, method)
        wanted = [m for m in order if m.startswith("torch")]
        if wanted:
            rows.update((r.method, r) for r in run_torch(problem, wanted))
        results[key] = rows
        print_problem(problem, [rows[m] for m in order])
        sys.stdout.flush()
    print_summary(problems, results, order)
    print(f"\nwhole run {time.perf_counter() - start:.0f} s; load average at the end: {load()}; "
          f"stolen by the host during the run: {stolen()}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--torch-worker"]:
        _torch_worker(sys.argv[2])
    else:
        main()
