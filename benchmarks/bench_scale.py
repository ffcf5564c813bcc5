"""Evaluations in row blocks, wider and deeper networks, and the Dask path's overhead.

Run from the repository root (scikit-learn, dask and distributed needed for
their rows; ``pip install ".[test,bench]"`` has them):

    python benchmarks/bench_scale.py [--old TREE] [--rounds 15] [--mnist FOLDER]

1. Wider and deeper networks on the 5,000 bundled digits, float64:
   784-100-10, 784-100-50-10 and 784-300-10. One evaluation through
   ``nnopt.Objective`` with the default working memory (64 MiB: all 5,000
   rows in one block) and with smaller blocks (16, 4 and 1 MiB of
   activations), beside the two bare products with X (numpy's floor) and
   scikit-learn's MLP objective on the same weights. With ``--old TREE``
   (a checkout of an earlier nnopt, compiled extensions built in place) the
   same Objective evaluation of that code is timed in a subprocess, in the
   same run: before and after.
2. The Dask path: one evaluation of the course's 784-25-10 network through
   an Objective on a Dask X (2 blocks of rows, a ``distributed.LocalCluster``
   of 2 worker processes with 1 thread each) against the same Objective in
   process, on the digits, on 60,000 rows of MNIST (``--mnist``), and on a
   tiny problem that shows the fixed cost per evaluation.

Medians of `rounds` calls, alternating between two θ; asserts nothing.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import nnopt  # noqa: E402
from _baselines import BareProducts, sklearn_objective, to_sklearn  # noqa: E402
from _machine import header, load, stolen  # noqa: E402

LAM = 1.0
ARCHITECTURES = [(784, 100, 10), (784, 100, 50, 10), (784, 300, 10)]
BLOCKS = (None, 16, 4, 1)  # working_memory in MiB; None is the default, 64


def median_time(f, rounds):
    f(0)
    f(1)
    times = []
    for i in range(rounds):
        t0 = time.perf_counter()
        f(i)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


OLD_CHILD = r"""
import json, statistics, sys, time
import nnopt
try:
    from nnopt import Objective
except ImportError:
    from nnopt.backprop import Objective
X, y = nnopt.load_digits()
out = {}
for sizes in json.loads(sys.argv[1]):
    sizes = tuple(sizes)
    obj = Objective(X, y, 1.0, sizes)
    thetas = [nnopt.random_init(sizes, seed=s) for s in (1, 2)]
    obj(thetas[0]); obj(thetas[1])
    times = []
    for i in range(int(sys.argv[2])):
        t0 = time.perf_counter(); obj(thetas[i % 2]); times.append(time.perf_counter() - t0)
    out["-".join(map(str, sizes))] = statistics.median(times)
print(json.dumps(out))
"""


def old_times(tree, rounds):
    env = {**os.environ, "PYTHONPATH": os.path.abspath(tree)}
    done = subprocess.run([sys.executable, "-c", OLD_CHILD, json.dumps(ARCHITECTURES), str(rounds)],
                          env=env, capture_output=True, text=True, check=True, cwd=os.path.abspath(tree))
    return json.loads(done.stdout.strip().splitlines()[-1])


def architectures(X, y, rounds, old):
    print("\n1. one evaluation on the 5,000 digits, float64 (median of %d calls, ms)" % rounds)
    before = old_times(old, rounds) if old else {}
    cols = ["64 MiB (default)", "16 MiB", "4 MiB", "1 MiB", "bare products", "scikit-learn"]
    if before:
        cols.insert(0, "before (--old)")
    print("| network | " + " | ".join(cols) + " | default ÷ bare | default ÷ scikit-learn |")
    print("|---|" + "---|" * (len(cols) + 2))
    for sizes in ARCHITECTURES:
        name = "-".join(map(str, sizes))
        thetas = [nnopt.random_init(sizes, seed=s) for s in (1, 2)]
        row = {}
        for wm in BLOCKS:
            obj = nnopt.Objective(X, y, LAM, sizes, working_memory=wm)
            row[wm] = median_time(lambda i: obj(thetas[i % 2]), rounds)
        bare = BareProducts(X, sizes[1], "rows", "rows")
        row["bare"] = median_time(bare, rounds)
        sk, _ = sklearn_objective(X, y, LAM, sizes)
        if sk is not None:
            packed = [to_sklearn(t, sizes) for t in thetas]
            row["sk"] = median_time(lambda i: sk(packed[i % 2]), rounds)
        cells = ([f"{before[name] * 1e3:.2f}"] if before else []) + \
            [f"{row[wm] * 1e3:.2f}" for wm in BLOCKS] + [f"{row['bare'] * 1e3:.2f}",
                                                       f"{row.get('sk', float('nan')) * 1e3:.2f}"]
        print(f"| {name} | " + " | ".join(cells) +
              f" | {row[None] / row['bare']:.2f}× | {row[None] / row.get('sk', float('nan')):.2f}× |",
              flush=True)


def dask_overhead(X, y, rounds, mnist):
    try:
        import dask.array as da
        import distributed
    except ImportError:
        print("\n2. the Dask path: dask and distributed are not installed")
        return
    cases = [("tiny: 1,000 rows, 784-5-10", X[:1000], y[:1000], (784, 5, 10)),
             ("digits: 5,000 rows, 784-25-10", X, y, (784, 25, 10))]
    if mnist:
        Xm, ym, _, _ = nnopt.load_mnist(mnist)
        cases.append(("MNIST: 60,000 rows, 784-25-10", Xm, ym, (784, 25, 10)))
    print(f"\n2. one evaluation in process and on a LocalCluster of 2 worker processes "
          f"(1 thread each), X in 2 row blocks (median of {rounds} calls, ms)")
    print("| problem | in process | Dask | Dask − in process |")
    print("|---|---|---|---|")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
    try:
        for name, Xc, yc, sizes in cases:
            thetas = [nnopt.random_init(sizes, seed=s) for s in (1, 2)]
            local = nnopt.Objective(Xc, yc, LAM, sizes)
            Xd = da.from_array(Xc, chunks=(-(-len(Xc) // 2), Xc.shape[1]))
            remote = nnopt.Objective(Xd, yc, LAM, sizes)
            t_local = median_time(lambda i: local(thetas[i % 2]), rounds)
            t_dask = median_time(lambda i: remote(thetas[i % 2]), rounds)
            print(f"| {name} | {t_local * 1e3:.2f} | {t_dask * 1e3:.2f} | {(t_dask - t_local) * 1e3:.2f} |",
                  flush=True)
    finally:
        client.close()
        cluster.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", help="a checkout of an earlier nnopt, compiled extensions built in place")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--mnist", help="folder of the MNIST idx files, for the Dask rows")
    parser.add_argument("--part", choices=["1", "2", "both"], default="both")
    args = parser.parse_args(argv)
    header("bench_scale.py")
    X, y = nnopt.load_digits()
    if args.part in ("1", "both"):
        architectures(X, y, args.rounds, args.old)
    if args.part in ("2", "both"):
        dask_overhead(X, y, args.rounds, args.mnist)
    print(f"\nload average {load()}; CPU time stolen by the host: {stolen()}")


if __name__ == "__main__":
    main()
