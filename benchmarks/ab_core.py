"""Two versions of nnopt, old and new, measured alternately on the same machine.

    python benchmarks/ab_core.py OLD_TREE NEW_TREE [--rounds 3]

Each tree is a checkout of the repository (one with compiled extensions
built in place: ``python setup.py build_ext --inplace``). For each round
the old tree and then the new one run in a fresh Python process
(PYTHONPATH set to the tree), which measures, on the bundled digits:

1. one evaluation through ``nnopt.Objective`` (what ``nnopt.train`` calls),
   784-25-10, float64 and float32, all 5,000 digits: the median of 30 calls
   alternating between two θ;
2. the default ``nnopt.train`` (TNC, λ = 1) on the 4,000-digit split
   (bench_train's headline row): the median of 3 runs, with its held-out
   accuracy and evaluations.

Old and new alternate so that a change of load on this shared machine
touches both. Asserts nothing; prints a table and the ratios new ÷ old.
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _machine import load  # noqa: E402

CHILD = r"""
import json, statistics, time, warnings
import numpy as np
import nnopt
try:
    from nnopt import Objective
except ImportError:  # before the pure core, Objective lived in backprop
    from nnopt.backprop import Objective

X, y = nnopt.load_digits()
sizes = (784, 25, 10)
thetas = [nnopt.random_init(sizes, seed=s) for s in (1, 2)]
out = {}
for name, dtype in (("f64", np.float64), ("f32", np.float32)):
    obj = Objective(X, y, 1.0, sizes, dtype=dtype)
    for i in range(4):
        obj(thetas[i % 2])
    times = []
    for i in range(30):
        t0 = time.perf_counter()
        obj(thetas[i % 2])
        times.append(time.perf_counter() - t0)
    out["objective_" + name] = statistics.median(times)
X_train, X_test, y_train, y_test = nnopt.train_test_split(X, y, test_size=1000, seed=0)
runs = []
for _ in range(3):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnopt.ConvergenceWarning)
        model = nnopt.train(X_train, y_train, lam=1.0)
    runs.append((time.perf_counter() - t0, model.score(X_test, y_test), model.n_evals))
out["train"] = statistics.median(r[0] for r in runs)
out["train_accuracy"] = runs[0][1]
out["train_evals"] = runs[0][2]
print(json.dumps(out))
"""


def measure(tree):
    env = {**os.environ, "PYTHONPATH": os.path.abspath(tree)}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                          check=True, cwd=os.path.abspath(tree))
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"ab_core.py: old {args.old}, new {args.new}; load average {load()}")
    rows = []
    for r in range(1, args.rounds + 1):
        for label, tree in (("old", args.old), ("new", args.new)):
            res = measure(tree)
            rows.append((r, label, res))
            print(f"round {r} {label}: "
                  f"Objective f64 {res['objective_f64'] * 1e3:.2f} ms, f32 {res['objective_f32'] * 1e3:.2f} ms, "
                  f"train {res['train']:.2f} s ({res['train_evals']} evaluations, "
                  f"held-out {res['train_accuracy']:.2%}); load {load()}", flush=True)
    for key, unit, scale in (("objective_f64", "ms", 1e3), ("objective_f32", "ms", 1e3), ("train", "s", 1)):
        old = [res[key] * scale for _, label, res in rows if label == "old"]
        new = [res[key] * scale for _, label, res in rows if label == "new"]
        print(f"{key}: old {', '.join(f'{v:.2f}' for v in old)} {unit} (spread {min(old):.2f}-{max(old):.2f}); "
              f"new {', '.join(f'{v:.2f}' for v in new)} {unit}; "
              f"new within old's spread: {min(old) <= min(new) and max(new) <= max(old)}, "
              f"median ratio new/old {sorted(new)[len(new) // 2] / sorted(old)[len(old) // 2]:.3f}")


if __name__ == "__main__":
    main()
