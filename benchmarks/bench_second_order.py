"""Second-order methods with exact curvature products against TNC, L-BFGS-B and CG.

Run from the repository root:

    python benchmarks/bench_second_order.py           # one run, a few minutes
    python benchmarks/bench_second_order.py --quick   # a smoke test, not a measurement

On the bundled digits split (4,000 to train, 1,000 held out,
``nnopt.train_test_split(X, y, test_size=1000, seed=0)``), the 784-25-10
network with λ = 1: for each method (and for Newton-CG, trust-ncg and
trust-krylov each curvature, the Gauss-Newton matrix G and the exact
Hessian H), the wall time, the gradient evaluations and the curvature
products a run needs to reach 92% held-out accuracy; and the
Hessian-free methods again with products on a sample of the examples
(``curvature_fraction`` 0.2 and 0.1). Each method is run with growing
iteration limits until it gets there (the runs are deterministic, so a
longer run repeats a shorter one's iterations); the run that gets there is
repeated twice more, and the table gives the median time of the three.
Also: one product H·v and G·v timed against one cost_and_gradient.
Asserts nothing; benchmarks/README.md records a run.
"""

import argparse
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import nnopt  # noqa: E402
from _machine import header, load, stolen  # noqa: E402
from nnopt.objective import Objective  # noqa: E402

TARGET = 0.92
LIMITS = {
    "TNC": (10, 15, 20, 25, 30, 40, 50),
    "L-BFGS-B": (40, 60, 80, 100, 120, 150, 200),
    "CG": (40, 60, 80, 100, 150, 200, 300),
    "Newton-CG": (5, 8, 10, 12, 15, 20, 25, 30, 40, 50),
    "trust-ncg": (5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 70),
    "trust-krylov": (5, 8, 10, 12, 15, 20, 25, 30, 40, 50),
}
SECOND_ORDER = ("Newton-CG", "trust-ncg", "trust-krylov")


class _Counted:
    """Counts the curvature products of every Objective while in force."""

    def __enter__(self):
        self.n = 0
        self._saved = Objective.hessp, Objective.gauss_newton
        hessp, gn = self._saved

        def count(f):
            def counted(obj, theta, v):
                self.n += 1
                return f(obj, theta, v)
            return counted

        Objective.hessp, Objective.gauss_newton = count(hessp), count(gn)
        return self

    def __exit__(self, *exc):
        Objective.hessp, Objective.gauss_newton = self._saved


REPEATS = 3


def run(split, method, maxiter, curvature=None, fraction=1.0):
    X_train, X_test, y_train, y_test = split
    kw = {} if curvature is None else {"curvature": curvature, "curvature_fraction": fraction}
    with warnings.catch_warnings(), _Counted() as products:
        warnings.simplefilter("ignore", nnopt.ConvergenceWarning)
        t0 = time.perf_counter()
        model = nnopt.train(X_train, y_train, lam=1.0, method=method, maxiter=maxiter, **kw)
        seconds = time.perf_counter() - t0
    return seconds, model.score(X_test, y_test), model.n_iter, model.n_evals, products.n


def to_target(split, method, curvature, fraction, limits, repeats):
    for maxiter in limits:
        seconds, acc, n_iter, n_evals, n_products = run(split, method, maxiter, curvature, fraction)
        if acc >= TARGET:
            again = [run(split, method, maxiter, curvature, fraction)[0] for _ in range(repeats - 1)]
            return maxiter, statistics.median([seconds, *again]), acc, n_iter, n_evals, n_products
    return None, seconds, acc, n_iter, n_evals, n_products


def products(X, y, rounds):
    sizes = (784, 25, 10)
    thetas = [nnopt.random_init(sizes, seed=s) for s in (1, 2)]
    v = np.random.default_rng(0).standard_normal(thetas[0].size)
    calls = {
        "cost_and_gradient": lambda t: nnopt.cost_and_gradient(t, X, y, 1.0, sizes),
        "hessian_vector_product": lambda t: nnopt.hessian_vector_product(t, v, X, y, 1.0, sizes),
        "gauss_newton_product": lambda t: nnopt.gauss_newton_product(t, v, X, y, 1.0, sizes),
    }
    times = {k: [] for k in calls}
    for i in range(rounds):
        for name, f in calls.items():
            t0 = time.perf_counter()
            f(thetas[i % 2])
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["cost_and_gradient"])
    print(f"\none product on the 5,000 digits, 784-25-10, float64 (median of {rounds}):")
    for name, t in times.items():
        print(f"  {name:24s} {statistics.median(t) * 1e3:7.2f} ms  {statistics.median(t) / base:5.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    header("bench_second_order.py")
    X, y = nnopt.load_digits()
    split = nnopt.train_test_split(X, y, test_size=1000, seed=0)
    products(X, y, 3 if args.quick else 21)
    rows = [(m, None, 1.0) for m in ("TNC", "L-BFGS-B", "CG")] + \
        [(m, c, 1.0) for m in SECOND_ORDER for c in ("gauss-newton", "hessian")] + \
        [(m, "gauss-newton", f) for m in ("Newton-CG", "trust-krylov") for f in (0.2, 0.1)] + \
        [("Newton-CG", "hessian", 0.2)]
    repeats = 1 if args.quick else REPEATS
    print(f"\nto {TARGET:.0%} held-out on the 4,000/1,000 digits split, 784-25-10, λ = 1 "
          f"(time: median of {repeats} runs):")
    print(f"| method | curvature | sample | maxiter | time (s) | held-out | iterations "
          f"| gradient evaluations | curvature products |")
    print("|---|---|---|---|---|---|---|---|---|")
    for method, curvature, fraction in rows:
        limits = LIMITS[method][:2] if args.quick else LIMITS[method]
        maxiter, seconds, acc, n_iter, n_evals, n_products = to_target(
            split, method, curvature, fraction, limits, repeats)
        reached = f"{maxiter}" if maxiter else f"not reached by {limits[-1]}"
        sample = "-" if curvature is None else f"{fraction:.0%}"
        print(f"| {method} | {curvature or '-'} | {sample} | {reached} | {seconds:.2f} | {acc:.1%} "
              f"| {n_iter} | {n_evals} | {n_products} |", flush=True)
    print(f"\nload average {load()}; CPU time stolen by the host: {stolen()}")


if __name__ == "__main__":
    main()
