"""One evaluation of J(Θ) and its gradient, against the machine's limit.

Run from the repository root, in an environment where nnopt is installed
(scikit-learn too, for its row of the table):

    python benchmarks/bench_cost.py           # the full run, a few minutes
    python benchmarks/bench_cost.py --quick   # a smoke test, not a measurement

On the 5,000 digits (784-25-10 network, λ = 1) it times nnopt's public
`cost_and_gradient` in float64 and float32 (and `cost` followed by
`regularized_gradient`, the articles' way; and float64 on half the rows,
exactly half the work, for scale) beside the articles' loop over
examples, a plain vectorized numpy version, scikit-learn's MLP objective
and the bare matrix products with X that any evaluation needs; then the
agreement of the results, the memory of one evaluation, and how the time
grows with m and with the hidden layer. It prints medians and ratios and
says which targets were met; it asserts nothing. benchmarks/README.md
records a run.

The machine may be shared, so every table is timed in rounds, each
candidate once per round in turn: load from elsewhere then hits all of
them alike. A ratio is the median over the rounds of the two times of
one round. Before each timed call the benchmark sleeps SETTLE seconds:
after a product on two threads, OpenBLAS keeps its second thread spinning
for a tenth of a second or more, and on 2 cores that thread halves the speed
of whatever runs next on more than one core (nnopt's kernels ran 1.7–2×
slower right after a numpy product). Each call thus starts on an idle
machine. Table 1b times the same evaluations the way an optimizer makes
them, one right after another: after the idle time, an untimed call of
the same candidate, then the timed one. A call after idle pays for waking
the second core and refilling the caches, about the same in float32 as in
float64, so the float32 ratio differs most between the two tables.
"""

import argparse
import os
import subprocess
import sys
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nnopt  # noqa: E402
from _machine import header, load, stolen  # noqa: E402
from _timing import time_rounds  # noqa: E402
from _baselines import (BareProducts, from_sklearn, loop_cost_and_gradient,  # noqa: E402
                        plain_cost_and_gradient, sklearn_objective, to_sklearn)
from nnopt import _accel, cost, cost_and_gradient, regularized_gradient  # noqa: E402
from nnopt import Objective  # noqa: E402

SIZES = (784, 25, 10)
LAM = 1.0
NNOPT64 = "nnopt cost_and_gradient, float64"
NNOPT32 = "nnopt cost_and_gradient, float32"
SKLEARN = "scikit-learn MLP L-BFGS objective, float64"
LOOP = "per-example loop (the articles), float64"
ARTICLES = "nnopt cost, then regularized_gradient, float64"
HALF = "nnopt cost_and_gradient, float64, half the rows"
KERNELS_BUILT = _accel.enabled


def numpy_products(f):
    """`f` with nnopt's C kernels switched off: numpy (OpenBLAS) does the products."""
    def call(i):
        _accel.enabled = False
        try:
            return f(i)
        finally:
            _accel.enabled = KERNELS_BUILT
    return call


class KernelProducts:
    """The two products with X through nnopt's kernels, as an evaluation makes
    them: a^(2) = g(X Θ^(1)ᵀ) and Δ^(1) = δ^(2) [1, X]."""

    def __init__(self, X, hidden):
        rng = np.random.default_rng(0)
        self.X = X
        self.Th = rng.standard_normal((hidden, X.shape[1] + 1)).astype(X.dtype)
        self.delta = np.asfortranarray(rng.standard_normal((hidden, X.shape[0])).astype(X.dtype))
        self.G = np.empty((hidden, X.shape[1] + 1), dtype=X.dtype)

    def __call__(self, i):
        with _accel.threads_for(self.X, self.Th.shape[0]):
            _accel.input_layer(self.Th, self.X, activate=True)
            _accel.input_gradient(self.delta, self.X, out=self.G)


# the two products with X alone, (forward, backward) either way round:
# the issue's form, nnopt's float64 form and nnopt's float32 form
ARRANGEMENTS = {("rows", "rows"): "X·W₁ᵀ, δ₂ᵀ·X", ("columns", "columns"): "W₁·Xᵀ, δ₂·X",
                ("rows", "columns"): "X·W₁ᵀ, δ₂·X"}
ISSUE = ("rows", "rows")


def bare(arrangement, dtype):
    return f"bare products {ARRANGEMENTS[arrangement]}, {dtype}"


# ---------------------------------------------------------------- timing


def ratio(times, name, ref):
    """Median over the rounds of times[name] / times[ref]."""
    return float(np.median(times[name] / times[ref]))


def ms(t):
    return f"{1e3 * np.median(t):8.2f} ms"


# ---------------------------------------------------------------- the tables


def _evaluations(X, X32, y, thetas):
    """nnopt's evaluations, the first rows of tables 1 and 1b.

    HALF, float64 on the first half of the rows, is exactly half the
    arithmetic of NNOPT64 with the same costs per call, as float32 would be
    if its arithmetic took exactly half float64's time: its ratio to
    NNOPT64 shows what those costs leave of a halving on this machine.
    """
    objective = Objective(X, y, LAM, SIZES)
    half = X.shape[0] // 2
    Xh, yh = X[:half], y[:half]  # views: C-contiguous, as X is
    return {
        NNOPT64: lambda i: cost_and_gradient(thetas[i % 2], X, y, LAM, SIZES),
        NNOPT32: lambda i: cost_and_gradient(thetas[i % 2], X32, y, LAM, SIZES),
        "nnopt Objective (what nnopt.train calls), float64": lambda i: objective(thetas[i % 2]),
        ARTICLES: lambda i: (cost(thetas[i % 2], X, y, LAM, SIZES),
                             regularized_gradient(thetas[i % 2], X, y, LAM, SIZES)),
        HALF: lambda i: cost_and_gradient(thetas[i % 2], Xh, yh, LAM, SIZES),
    }


def _sklearn_row(sklearn, thetas):
    """scikit-learn's objective on the same two θ, when it is installed."""
    sk, _ = sklearn
    if sk is None:
        return {}
    packed = [to_sklearn(t, SIZES) for t in thetas]
    return {SKLEARN: lambda i: sk(packed[i % 2])}


def main_table(X, X32, y, thetas, sklearn, rounds):
    """nnopt, the baselines and the bare products on the same data."""
    candidates = _evaluations(X, X32, y, thetas)
    candidates["plain vectorized numpy (hstack, log h), float64"] = \
        lambda i: plain_cost_and_gradient(thetas[i % 2], X, y, LAM, SIZES)
    if KERNELS_BUILT:
        candidates.update({
            "nnopt, kernels off (numpy products), float64":
                numpy_products(candidates[NNOPT64]),
            "nnopt, kernels off (numpy products), float32":
                numpy_products(candidates[NNOPT32]),
            "products through nnopt's kernels, float64": KernelProducts(X, SIZES[1]),
            "products through nnopt's kernels, float32": KernelProducts(X32, SIZES[1]),
        })
    for dtype, data in (("float64", X), ("float32", X32)):
        for arrangement in ARRANGEMENTS:
            candidates[bare(arrangement, dtype)] = BareProducts(data, SIZES[1], *arrangement)
    candidates.update(_sklearn_row(sklearn, thetas))
    times = time_rounds(candidates, rounds)

    print(f"\n1. One evaluation (J and gradient), m = {X.shape[0]}, {'-'.join(map(str, SIZES))} network, "
          f"λ = {LAM}: medians of {rounds} rounds")
    print(f"   {'':52s} {'median':>11s}   ÷ bare products of the same dtype:")
    print(f"   {'':52s} {'':11s}   {'X·W₁ᵀ, δ₂ᵀ·X':>14s} {'fastest':>9s}")
    for name, t in times.items():
        dtype = "float32" if "float32" in name else "float64"
        print(f"   {name:52s} {ms(t)}   {ratio(times, name, bare(ISSUE, dtype)):13.2f}× "
              f"{ratio(times, name, fastest(times, dtype)):8.2f}×")
    print(f"   fastest bare products: {fastest(times, 'float64')!r}, {fastest(times, 'float32')!r}")
    sk, sk_note = sklearn
    print(f"   ({sk_note}{'' if sk is not None else ': its row is left out'})")
    print(f"   nnopt's C kernels: {'built and used' if KERNELS_BUILT else 'NOT built (numpy does the products)'}")
    print(_halving(times, "1"))
    return times


def loop_like_table(X, X32, y, thetas, sklearn, rounds):
    """Table 1's main rows again, each timed call right after another of its own."""
    candidates = _evaluations(X, X32, y, thetas)
    candidates[bare(ISSUE, "float64")] = BareProducts(X, SIZES[1], *ISSUE)
    candidates[bare(ISSUE, "float32")] = BareProducts(X32, SIZES[1], *ISSUE)
    candidates.update(_sklearn_row(sklearn, thetas))
    times = time_rounds(candidates, rounds, in_a_loop=True)
    print(f"\n1b. The same, each timed call right after an untimed one (as in an optimizer's loop): "
          f"medians of {rounds} rounds")
    print(f"   {'':52s} {'median':>11s}   ÷ X·W₁ᵀ, δ₂ᵀ·X of the same dtype")
    for name, t in times.items():
        dtype = "float32" if "float32" in name else "float64"
        print(f"   {name:52s} {ms(t)}   {ratio(times, name, bare(ISSUE, dtype)):13.2f}×")
    print(f"   the articles' minimize(fun=cost, jac=regularized_gradient) takes "
          f"{ratio(times, ARTICLES, NNOPT64):.2f}× cost_and_gradient at a point")
    print(_halving(times, "1b"))
    return times


def _halving(times, table):
    """float32's ratio beside that of exactly half the work in float64 (HALF)."""
    return (f"   table {table}: float32 takes {ratio(times, NNOPT32, NNOPT64):.3f}× float64; "
            f"float64 on half the rows, exactly half the work, {ratio(times, HALF, NNOPT64):.3f}×")


def fastest(times, dtype):
    """The fastest arrangement of the bare products, by median."""
    return min((bare(a, dtype) for a in ARRANGEMENTS), key=lambda name: np.median(times[name]))


def loop_table(X, y, thetas, rounds):
    """The per-example loop: slow, so few rounds, each beside nnopt's evaluation."""
    times = time_rounds({
        LOOP: lambda i: loop_cost_and_gradient(thetas[i % 2], X, y, LAM, SIZES),
        NNOPT64: lambda i: cost_and_gradient(thetas[i % 2], X, y, LAM, SIZES),
    }, rounds)
    print(f"\n2. The loop over examples: medians of {rounds} rounds")
    for name, t in times.items():
        print(f"   {name:52s} {ms(t)}")
    speedup = ratio(times, LOOP, NNOPT64)
    print(f"   nnopt is {speedup:.0f}× faster than the loop")
    return speedup


def agreement(X, X32, y, theta, sk):
    """Relative differences of J and the gradient from nnopt's float64 result."""
    print("\n3. Agreement with nnopt in float64: relative difference of J, of the gradient (2-norm)")
    reference = cost_and_gradient(theta, X, y, LAM, SIZES)
    others = {
        "nnopt float32": cost_and_gradient(theta, X32, y, LAM, SIZES),
        "plain vectorized numpy": plain_cost_and_gradient(theta, X, y, LAM, SIZES),
    }
    if sk is not None:
        J_sk, g_sk = sk(to_sklearn(theta, SIZES))
        others["scikit-learn (gradient repacked)"] = (J_sk, from_sklearn(g_sk, SIZES))
    rel = {name: _relative(result, reference) for name, result in others.items()}
    # the loop on the first 500 examples only: it is slow
    rel["per-example loop (first 500 examples)"] = _relative(
        loop_cost_and_gradient(theta, X[:500], y[:500], LAM, SIZES),
        cost_and_gradient(theta, X[:500], y[:500], LAM, SIZES))
    for name, (dJ, dg) in rel.items():
        print(f"   {name:40s} J {dJ:8.1e}   gradient {dg:8.1e}")
    return rel["nnopt float32"][1]


def _relative(result, reference):
    (J, g), (J0, g0) = result, reference
    return abs(J - J0) / abs(J0), np.linalg.norm(g - g0) / np.linalg.norm(g0)


def memory_table(X, X32, y, thetas):
    """Peak memory one evaluation allocates, against X and the activations m·(s2+K)."""
    print("\n4. Peak memory allocated during one evaluation (tracemalloc)")
    results = {}
    for dtype, data in (("float64", X), ("float32", X32)):
        activations = data.shape[0] * (SIZES[1] + SIZES[2]) * data.itemsize
        cost_and_gradient(thetas[0], data, y, LAM, SIZES)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        cost_and_gradient(thetas[1], data, y, LAM, SIZES)  # another θ: a full evaluation
        peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
        results[dtype] = (peak / data.nbytes, peak / activations)
        print(f"   {dtype}: {peak / 2**20:5.2f} MiB = {peak / activations:4.2f}× the activations "
              f"m·(s2+K) ({activations / 2**20:.2f} MiB) = {peak / data.nbytes:.3f}× X ({data.nbytes / 2**20:.1f} MiB)")
    return results


def scaling_tables(X, y, rounds):
    """Time against m (the digits repeated) and against the hidden layer's size, float64."""
    print(f"\n5. Scaling, float64: medians of {rounds} rounds; ÷ the fastest bare products at that size "
          f"(of the {len(ARRANGEMENTS)} arrangements of table 1)")
    print(f"   {'m':>6s} {'nnopt':>11s} {'per example':>12s} {'÷ bare':>7s}")
    medians = {}
    for m in (1000, 5000, 20000, 50000):
        reps = -(-m // X.shape[0])
        Xm, ym = np.tile(X, (reps, 1))[:m], np.tile(y, reps)[:m]
        t, r = _against_products(Xm, ym, SIZES, rounds)
        medians[m] = np.median(t)
        print(f"   {m:6d} {ms(t)} {1e6 * medians[m] / m:9.2f} µs {r:6.2f}×")
    # no faster than linear: the time per example never grows from one m to the next
    per_example = np.array([t / m for m, t in medians.items()])
    growth = float(np.max(per_example[1:] / per_example[:-1]))
    print(f"   time per example from 1k to 50k: ×{per_example[-1] / per_example[0]:.2f}; "
          f"its largest rise from one m to the next: ×{growth:.2f}")
    print(f"   {'hidden':>6s} {'nnopt':>11s} {'':12s} {'÷ bare':>7s}  (m = {X.shape[0]})")
    for hidden in (25, 100, 300):
        t, r = _against_products(X, y, (SIZES[0], hidden, SIZES[2]), rounds)
        print(f"   {hidden:6d} {ms(t)} {'':12s} {r:6.2f}×")
    return growth


def _against_products(X, y, sizes, rounds):
    thetas = [nnopt.random_init(sizes, seed=s) for s in (1, 2)]
    candidates = {"nnopt": lambda i: cost_and_gradient(thetas[i % 2], X, y, LAM, sizes)}
    for arrangement in ARRANGEMENTS:
        candidates[arrangement] = BareProducts(X, sizes[1], *arrangement)
    times = time_rounds(candidates, rounds)
    best = min(ARRANGEMENTS, key=lambda name: np.median(times[name]))
    return times["nnopt"], ratio(times, "nnopt", best)


def targets(times, in_loop, loop_speedup, rel32, memory, growth):
    """Each target of the issue: the measured figure, and whether it was met.

    The ratio targets are judged on table 1 and, separately, on table 1b.
    """
    rows = [
        ("float64 ≤ 1.1× the bare float64 products X·W₁ᵀ, δ₂ᵀ·X", ratio(times, NNOPT64, bare(ISSUE, "float64")), 1.1),
        ("float64 ≤ 1.1× the fastest bare float64 products", ratio(times, NNOPT64, fastest(times, "float64")), 1.1),
    ]
    if SKLEARN in times:
        rows.append(("float64 ≤ 0.5× scikit-learn's objective", ratio(times, NNOPT64, SKLEARN), 0.5))
    rows.append(("float32 ≤ 0.55× float64", ratio(times, NNOPT32, NNOPT64), 0.55))
    rows += [
        ("in a loop (1b): float64 ≤ 1.1× the bare products X·W₁ᵀ, δ₂ᵀ·X",
         ratio(in_loop, NNOPT64, bare(ISSUE, "float64")), 1.1),
        ("in a loop (1b): float32 ≤ 0.55× float64", ratio(in_loop, NNOPT32, NNOPT64), 0.55),
    ]
    if SKLEARN in in_loop:
        rows.insert(-1, ("in a loop (1b): float64 ≤ 0.5× scikit-learn's objective",
                         ratio(in_loop, NNOPT64, SKLEARN), 0.5))
    rows += [
        ("≥ 25× faster than the per-example loop (loop ÷ nnopt)", loop_speedup, -25),
        ("float32 gradient within 1e-4 of float64 (relative)", rel32, 1e-4),
    ]
    for dtype, (of_X, of_activations) in memory.items():
        rows.append((f"{dtype}: no copy of X (peak ÷ size of X < 1)", of_X, 1.0))
        rows.append((f"{dtype}: peak ≤ 4× the activations m·(s2+K)", of_activations, 4.0))
    rows.append(("at most linear in m: time per example rises by ≤ 10% from one m to the next",
                 growth, 1.10))
    print("\n6. Targets")
    for text, value, limit in rows:
        met = value >= -limit if limit < 0 else value <= limit
        print(f"   {'met    ' if met else 'NOT MET'}  {text}: {value:.3g}")


def one_blas_thread(rounds):
    """Table 1 again in a subprocess whose OpenBLAS runs one thread: for insight only.

    On a small shared machine BLAS threads wait for each other; the
    single-threaded figures show the evaluation without that noise.
    """
    print("\n7. For insight: table 1 in a subprocess with OPENBLAS_NUM_THREADS=1")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    run = subprocess.run([sys.executable, os.path.abspath(__file__), "--table1-only", "--rounds", str(rounds)],
                         env=env, capture_output=True, text=True, check=False)
    lines = run.stdout.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("1.")), len(lines))
    for line in lines[first + 1:]:
        print(line)
    if run.returncode:
        print(f"   (the subprocess failed: {run.stderr.strip().splitlines()[-1:]})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few rounds: a smoke test, not a measurement")
    parser.add_argument("--table1-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rounds, loop_rounds, scaling_rounds = (3, 1, 2) if args.quick else (30, 4, 15)
    rounds = args.rounds or rounds

    header("bench_cost.py")
    X, y = nnopt.load_digits()
    X = np.ascontiguousarray(X, dtype=np.float64)
    X32 = X.astype(np.float32)
    print(f"data: nnopt.load_digits(), X {X.shape} in [{X.min():g}, {X.max():g}], {np.unique(y).size} classes")
    thetas = [nnopt.random_init(SIZES, seed=s) for s in (1, 2)]

    sklearn = sklearn_objective(X, y, LAM, SIZES)
    times = main_table(X, X32, y, thetas, sklearn, rounds)
    if args.table1_only:
        return
    in_loop = loop_like_table(X, X32, y, thetas, sklearn, rounds)
    loop_speedup = loop_table(X, y, thetas, loop_rounds)
    rel32 = agreement(X, X32, y, thetas[0], sklearn[0])
    memory = memory_table(X, X32, y, thetas)
    growth = scaling_tables(X, y, scaling_rounds)
    targets(times, in_loop, loop_speedup, rel32, memory, growth)
    one_blas_thread(rounds)
    print(f"\nload average at the end: {load()}; stolen by the host during the run: {stolen()}")


if __name__ == "__main__":
    main()
