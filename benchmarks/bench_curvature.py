"""One curvature product, H·v or G·v, against one evaluation of J and its gradient.

Run from the repository root, in an environment where nnopt is installed:

    python benchmarks/bench_curvature.py           # the full run, about a minute
    python benchmarks/bench_curvature.py --quick   # a smoke test, not a measurement

On the 5,000 digits (784-25-10 network, λ = 1, float64) it times nnopt's
public `cost_and_gradient`, `hessian_vector_product` and
`gauss_newton_product`, and the two products at a point whose forward pass
is kept (what an optimizer's inner conjugate-gradient loop can reuse at one
θ); then checks H·v against central differences of the gradient and
float32 against float64. The target (issues 19 and 26): one product ≤ 2× one
`cost_and_gradient`. It prints medians and ratios and asserts nothing.

Timing is in rounds, each candidate once per round in turn, after SETTLE
seconds of idle (OpenBLAS's spinning threads, which slow whatever runs
next on a small machine, have stopped by then; bench_cost.py says more).
A ratio is the median over the rounds of the two times of one round, so
that load from elsewhere hits both alike. Each candidate alternates
between two θ (and two v).
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nnopt  # noqa: E402
from _machine import header, load, stolen  # noqa: E402
from _timing import time_rounds  # noqa: E402
from nnopt import cost_and_gradient  # noqa: E402
from nnopt._problem import bind  # noqa: E402
from nnopt.network import Network  # noqa: E402
from nnopt.curvature import at, gauss_newton_product, hessian_vector_product  # noqa: E402

SIZES = (784, 25, 10)
LAM = 1.0
GRADIENT = "cost_and_gradient"
HV = "hessian_vector_product"
GV = "gauss_newton_product"
TARGET = 2.0


def candidates(X, y, thetas, vs):
    p, _ = bind(X, y, LAM, Network(SIZES))
    points = [at(t, p) for t in thetas]
    return {
        GRADIENT: lambda i: cost_and_gradient(thetas[i % 2], X, y, LAM, SIZES),
        HV: lambda i: hessian_vector_product(thetas[i % 2], vs[i % 2], X, y, LAM, SIZES),
        GV: lambda i: gauss_newton_product(thetas[i % 2], vs[i % 2], X, y, LAM, SIZES),
        "H·v at a kept point (forward pass and δ reused)": lambda i: points[i % 2].hessp(vs[i % 2]),
        "G·v at a kept point (forward pass reused)": lambda i: points[i % 2].gauss_newton(vs[i % 2]),
    }


def timing_table(times, rounds):
    print(f"\n1. One call, m = 5000, {'-'.join(map(str, SIZES))} network, λ = {LAM}, float64: "
          f"medians of {rounds} rounds")
    print(f"   {'':50s} {'median':>10s}  {'÷ ' + GRADIENT:>22s}")
    for name, t in times.items():
        r = np.median(times[name] / times[GRADIENT])
        print(f"   {name:50s} {1e3 * np.median(t):7.2f} ms  {r:21.2f}×")
    print(f"   (÷ is the median over the rounds of the ratio within a round; the ratio of the "
          f"medians: H·v {np.median(times[HV]) / np.median(times[GRADIENT]):.2f}×, "
          f"G·v {np.median(times[GV]) / np.median(times[GRADIENT]):.2f}×)")


def accuracy(X, y, theta, v):
    print("\n2. Accuracy on the digits")
    Hv = hessian_vector_product(theta, v, X, y, LAM, SIZES)
    eps = 1e-5
    g = lambda t: cost_and_gradient(t, X, y, LAM, SIZES)[1]
    num = (g(theta + eps * v) - g(theta - eps * v)) / (2 * eps)
    print(f"   H·v against central differences of the gradient (ε = {eps:g}): relative "
          f"{np.linalg.norm(Hv - num) / np.linalg.norm(num):.1e}")
    X32 = X.astype(np.float32)
    for name, product in ((HV, hessian_vector_product), (GV, gauss_newton_product)):
        double = product(theta, v, X, y, LAM, SIZES)
        single = product(theta, v, X32, y, LAM, SIZES)
        rel = np.linalg.norm(single - double) / np.linalg.norm(double)
        print(f"   {name} in float32 against float64: relative {rel:.1e}")
    print(f"   vᵀGv = {v @ gauss_newton_product(theta, v, X, y, LAM, SIZES):.4g} (≥ 0), "
          f"vᵀHv = {v @ Hv:.4g}")


def targets(times):
    print("\n3. Targets")
    for name in (HV, GV):
        r = float(np.median(times[name] / times[GRADIENT]))
        print(f"   {'met    ' if r <= TARGET else 'NOT MET'}  one {name} ≤ {TARGET:g}× one "
              f"{GRADIENT}, float64: {r:.2f}×")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a few rounds: a smoke test, not a measurement")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 25

    header("bench_curvature.py")
    X, y = nnopt.load_digits()
    X = np.ascontiguousarray(X, dtype=np.float64)
    print(f"data: nnopt.load_digits(), X {X.shape}, {np.unique(y).size} classes")
    thetas = [nnopt.random_init(SIZES, seed=s) for s in (1, 2)]
    vs = list(np.random.default_rng(3).standard_normal((2, thetas[0].size)))

    times = time_rounds(candidates(X, y, thetas, vs), rounds)
    timing_table(times, rounds)
    accuracy(X, y, thetas[0], vs[0])
    targets(times)
    print(f"\nload average at the end: {load()}; stolen by the host during the run: {stolen()}")


if __name__ == "__main__":
    main()
