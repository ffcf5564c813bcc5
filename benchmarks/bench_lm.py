"""Levenberg-Marquardt and Bayesian regularization (``nnopt.levenberg``) against nnopt's SciPy methods.

Run from the repository root:

    python benchmarks/bench_lm.py            # one run, about 5 minutes on 2 cores
    python benchmarks/bench_lm.py --quick    # fewer seeds and iterations: a smoke test, not a measurement

(a) sinc: sin(10x)/(10x) on 2,000 evenly spaced x in [-1, 1], a 1-20-1
    tanh/identity network (61 parameters), λ = 0, initial weights
    ``random_init(sizes, seed)`` for seeds 0-4: LM for 500 iterations,
    L-BFGS-B and TNC (``nnopt.train``, maxiter 5,000, ftol = gtol = 0) and
    PyTorch's Adam (lr 0.01, 10,000 full-batch epochs, float64, the same
    initial weights, in a process of its own with one thread): the median final training
    MSE and time. Goal: LM's MSE ≤ 0.2× L-BFGS-B's, in less time.
(b) sine: MATLAB's 1-5-1 tansig/purelin sine, x = -1:0.05:1, t = sin(2πx):
    the median time to MSE ≤ 1e-5 over seeds 0-4, and how many seeds get there.
(c) noisy curve: 60 points of sin(2πx) + N(0, 0.2²), x ~ U[-1, 1], 1-20-1
    tanh: the MSE against sin(2πx) on 1,001 grid points for LM with λ = 0,
    BR, and LM with λ chosen by 5-fold cross-validation; BR's final γ.
(d) scikit-learn's diabetes data (442 × 10, standardized), 80/20 split:
    held-out R² and time for LM and L-BFGS-B at λ = 1, BR, and
    MLPRegressor(solver="lbfgs", alpha=1), the same J, 10 tanh hidden units each.
(e) the bundled digits, ``train_test_split(X, y, test_size=0.2, seed=0)``,
    784-25-10 sigmoid/cross-entropy, λ = 1: LM matrix-free (N = 19,885)
    against ``nnopt.train`` with its default TNC: held-out accuracy and time.

Times are wall-clock seconds on a possibly shared machine (the header gives
the load); asserts nothing.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import nnopt  # noqa: E402
from _machine import header, load, stolen  # noqa: E402
from nnopt import levenberg  # noqa: E402
from nnopt.backprop import outputs  # noqa: E402


class Recorder:
    """A stand-in for train's recorder: keeps (seconds, J, quantities) and, if told, θ;
    stops when `done` says so."""

    def __init__(self, done=None, keep_theta=False):
        self.t0, self.entries, self.done, self.keep_theta = time.perf_counter(), [], done, keep_theta
        self.thetas = []

    def record(self, theta, J, **quantities):
        self.entries.append((time.perf_counter() - self.t0, J, quantities))
        if self.keep_theta:
            self.thetas.append(theta.copy())
        if self.done is not None and self.done(theta):
            raise StopIteration


def run_levenberg(method, X, y, lam, sizes, seed, maxiter, done=None, **options):
    """(θ, result or None, seconds, recorder) of one LM or BR run of a tanh/identity network
    from random_init(sizes, seed); result is None when `done` stopped it."""
    obj = nnopt.Objective(X, y, lam, sizes, activation="tanh", output="identity")
    run, args, _ = levenberg.prepare(method, maxiter, options, obj.n_params)
    recorder = Recorder(done)
    t0 = time.perf_counter()
    try:
        theta, result = run(obj, nnopt.random_init(sizes, seed=seed), recorder, *args)
    except StopIteration:
        theta, result = None, None
    return theta, result, time.perf_counter() - t0, recorder


def train(X, y, lam, hidden, method, seed, maxiter, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        model = nnopt.train(X, y, lam=lam, hidden_layer_sizes=hidden, method=method, maxiter=maxiter,
                            seed=seed, progress=False, **kw)
        return model, time.perf_counter() - t0


def predict(theta, sizes, X, activation="tanh", output="identity"):
    net = nnopt.network.Network(sizes, activation, output)
    return outputs(net.thetas(theta), net, X)


_ADAM = textwrap.dedent("""
    import sys, time
    import numpy as np
    import torch
    torch.set_num_threads(1)  # 2,000 × 20: more threads only wait for each other
    data = np.load(sys.argv[1])
    X, y, theta0 = (torch.from_numpy(data[k]) for k in ("X", "y", "theta0"))
    epochs, lr = int(sys.argv[2]), float(sys.argv[3])
    W1 = theta0[:40].reshape(20, 2).clone().requires_grad_()
    W2 = theta0[40:].reshape(1, 21).clone().requires_grad_()
    opt = torch.optim.Adam([W1, W2], lr=lr)
    t0 = time.perf_counter()
    for _ in range(epochs):
        opt.zero_grad()
        z = torch.tanh(X @ W1[:, 1:].T + W1[:, 0]) @ W2[:, 1:].T + W2[:, 0]
        loss = ((z - y) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        z = torch.tanh(X @ W1[:, 1:].T + W1[:, 0]) @ W2[:, 1:].T + W2[:, 0]
        print(float(((z - y) ** 2).mean()), time.perf_counter() - t0, torch.__version__)
""")


def adam(X, y, theta0, epochs, lr=0.01):
    """(MSE, seconds, torch version) of PyTorch's Adam in its own process, or None without torch."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(path, X=X, y=y, theta0=theta0)
        out = subprocess.run([sys.executable, "-c", _ADAM, path, str(epochs), str(lr)], capture_output=True,
                             text=True)
    if out.returncode:
        return None
    mse, seconds, version = out.stdout.split()
    return float(mse), float(seconds), version


def median(values):
    return statistics.median(values) if values else float("nan")


def sinc(seeds, lm_iter, scipy_iter, epochs):
    print(f"\n(a) sinc(10x), 2,000 points, 1-20-1 tanh, λ = 0; median over seeds {list(seeds)}")
    x = np.linspace(-1, 1, 2000)[:, None]
    y = np.sin(10 * x) / (10 * x)
    sizes, rows = (1, 20, 1), {}
    for seed in seeds:
        _, result, seconds, _ = run_levenberg("LM", x, y, 0.0, sizes, seed, lm_iter)
        rows.setdefault(f"LM, {lm_iter} iterations", []).append((2 * result.fun, seconds))
        for method in ("L-BFGS-B", "TNC"):
            model, seconds = train(x, y[:, 0], 0.0, (20,), method, seed, scipy_iter, activation="tanh",
                                   output="identity", options={"ftol": 0, "gtol": 0})
            mse = 2 * model.cost_history[-1]  # J = (1/2m)·Σ e² at λ = 0
            rows.setdefault(f"{method}, {scipy_iter} iterations", []).append((mse, seconds))
        got = adam(x, y, nnopt.random_init(sizes, seed=seed), epochs)
        if got is not None:
            rows.setdefault(f"Adam (torch {got[2]}), {epochs} epochs", []).append(got[:2])
    print(f"{'method':<38} {'MSE':>10} {'seconds':>8}   MSE of each seed")
    for name, values in rows.items():
        print(f"{name:<38} {median([v[0] for v in values]):10.3g} {median([v[1] for v in values]):8.2f}   "
              + " ".join(f"{v[0]:.2g}" for v in values))
    lm, lbfgs = (next(v for k, v in rows.items() if k.startswith(p)) for p in ("LM", "L-BFGS-B"))
    ratio = median([v[0] for v in lm]) / median([v[0] for v in lbfgs])
    faster = median([v[1] for v in lm]) < median([v[1] for v in lbfgs])
    print(f"LM's MSE / L-BFGS-B's: {ratio:.3g} (goal ≤ 0.2: {'met' if ratio <= 0.2 else 'NOT met'}); "
          f"LM in less time: {'yes' if faster else 'NO'}")


def sine_time(seeds, maxiter):
    print(f"\n(b) MATLAB's 1-5-1 sine, x = -1:0.05:1, t = sin(2πx): median seconds to MSE ≤ 1e-5 "
          f"(seeds {list(seeds)})")
    x = np.linspace(-1, 1, 41)[:, None]
    t = np.sin(2 * np.pi * x)
    sizes, target = (1, 5, 1), 1e-5
    done = lambda theta: np.mean((predict(theta, sizes, x) - t) ** 2) <= target  # noqa: E731
    print(f"{'method':<10} {'seconds':>8} {'reached':>8} {'iterations':>10}")
    for method in ("LM", "BR"):
        times, its = [], []
        for seed in seeds:
            _, result, seconds, recorder = run_levenberg(method, x, t, 0.0, sizes, seed, maxiter, done)
            if result is None:  # stopped by `done`
                times.append(seconds)
                its.append(len(recorder.entries))
        print(f"{method:<10} {median(times):8.3f} {len(times):>5}/{len(seeds)} {median(its):10.0f}")
    for method in ("L-BFGS-B", "TNC", "CG"):
        times, its = [], []
        for seed in seeds:
            tolerances = {"gtol": 0} if method == "CG" else {"ftol": 0, "gtol": 0}
            model, _ = train(x, t[:, 0], 0.0, (5,), method, seed, 20 * maxiter, activation="tanh",
                             output="identity", options=tolerances)
            hit = [k for k, J in enumerate(model.cost_history) if 2 * J <= target]
            if hit:
                times.append(model.time_history[hit[0]])
                its.append(hit[0] + 1)
        print(f"{method:<10} {median(times):8.3f} {len(times):>5}/{len(seeds)} {median(its):10.0f}")


def noisy_curve(seeds, maxiter):
    print(f"\n(c) 60 points of sin(2πx) + N(0, 0.2²), 1-20-1 tanh: MSE against sin(2πx) on a grid "
          f"(median over initial seeds {list(seeds)})")
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-1, 1, 60))[:, None]
    y = np.sin(2 * np.pi * x) + rng.normal(0, 0.2, x.shape)
    grid = np.linspace(-1, 1, 1001)[:, None]
    sizes, lams = (1, 20, 1), (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
    truth = np.sin(2 * np.pi * grid)
    error = lambda theta: float(np.mean((predict(theta, sizes, grid) - truth) ** 2))  # noqa: E731
    folds = np.array_split(np.random.default_rng(1).permutation(60), 5)
    rows, gammas, chosen = {}, [], []
    for seed in seeds:
        theta, *_ = run_levenberg("LM", x, y, 0.0, sizes, seed, maxiter)
        rows.setdefault("LM, λ = 0", []).append(error(theta))
        theta, result, *_ = run_levenberg("BR", x, y, 0.0, sizes, seed, maxiter)
        rows.setdefault("BR", []).append(error(theta))
        gammas.append(result.gamma)
        cv = []
        for lam in lams:
            mse = 0.0
            for k, test in enumerate(folds):
                train_rows = np.concatenate([f for j, f in enumerate(folds) if j != k])
                theta, *_ = run_levenberg("LM", x[train_rows], y[train_rows], lam, sizes, seed, maxiter)
                mse += np.sum((predict(theta, sizes, x[test]) - y[test]) ** 2)
            cv.append(mse / 60)
        lam = lams[int(np.argmin(cv))]
        chosen.append(lam)
        theta, *_ = run_levenberg("LM", x, y, lam, sizes, seed, maxiter)
        rows.setdefault("LM, λ by 5-fold CV", []).append(error(theta))
    for name, values in rows.items():
        print(f"{name:<22} {median(values):10.4g}")
    print(f"BR's final γ: {', '.join(f'{g:.1f}' for g in gammas)} of {nnopt.parameters.n_params(sizes)} "
          f"parameters; λ chosen by CV: {chosen}")


def diabetes(seeds, maxiter):
    from sklearn.datasets import load_diabetes
    from sklearn.metrics import r2_score
    from sklearn.neural_network import MLPRegressor
    print(f"\n(d) diabetes, 10-10-1 tanh, 80/20 split: held-out R² and seconds "
          f"(median over seeds {list(seeds)})")
    X, y = load_diabetes(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    test, train_rows = order[:len(y) // 5], order[len(y) // 5:]
    mean, std = X[train_rows].mean(0), X[train_rows].std(0)
    X = (X - mean) / std
    y_mean, y_std = y[train_rows].mean(), y[train_rows].std()
    ys = ((y - y_mean) / y_std)[:, None]
    sizes, rows = (10, 10, 1), {}
    for seed in seeds:
        for name, method, lam in (("LM, λ = 1", "LM", 1.0), ("BR", "BR", 0.0)):
            theta, result, seconds, _ = run_levenberg(method, X[train_rows], ys[train_rows], lam, sizes, seed,
                                                      maxiter)
            rows.setdefault(name, []).append((r2_score(ys[test], predict(theta, sizes, X[test])), seconds))
        model, seconds = train(X[train_rows], ys[train_rows, 0], 1.0, (10,), "L-BFGS-B", seed, 1000,
                               activation="tanh", output="identity")
        r2 = r2_score(ys[test], predict(model.theta, sizes, X[test]))
        rows.setdefault("L-BFGS-B, λ = 1", []).append((r2, seconds))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            # alpha is nnopt's λ: scikit-learn's loss is (1/2m)·Σ e² + alpha/(2m)·Σ W²
            mlp = MLPRegressor(hidden_layer_sizes=(10,), activation="tanh", solver="lbfgs", alpha=1.0,
                               max_iter=1000, random_state=seed)
            mlp.fit(X[train_rows], ys[train_rows, 0])
            seconds = time.perf_counter() - t0
        rows.setdefault("MLPRegressor(lbfgs)", []).append((r2_score(ys[test], mlp.predict(X[test])), seconds))
    print(f"{'method':<22} {'R²':>7} {'seconds':>8}")
    for name, values in rows.items():
        print(f"{name:<22} {median([v[0] for v in values]):7.3f} {median([v[1] for v in values]):8.2f}")


def digits(maxiter):
    print("\n(e) digits, 784-25-10 sigmoid/cross-entropy, λ = 1, test_size=0.2, seed 0")
    X, y = nnopt.load_digits()
    X_train, X_test, y_train, y_test = nnopt.train_test_split(X, y, test_size=0.2, seed=0)
    sizes = (784, 25, 10)
    obj = nnopt.Objective(X_train, y_train, 1.0, sizes)
    run, args, _ = levenberg.prepare("LM", maxiter, {}, obj.n_params)
    recorder = Recorder(keep_theta=True)
    t0 = time.perf_counter()
    theta, result = run(obj, nnopt.random_init(sizes, seed=0), recorder, *args)
    seconds = time.perf_counter() - t0

    def accuracy(theta):
        return np.mean(predict(theta, sizes, X_test, "sigmoid", "sigmoid").argmax(1) == y_test)

    print(f"{'method':<36} {'accuracy':>8} {'J':>8} {'seconds':>8}")
    print(f"{f'LM matrix-free ({args[0].solver}), {result.nit} its':<36} {accuracy(theta):8.4f} "
          f"{result.fun:8.4f} {seconds:8.2f}   ({result.nfev} evaluations, "
          f"{result.n_products} G·v products)")
    steps = range(maxiter // 3 - 1, maxiter, maxiter // 3)
    print("  on the way: " + ", ".join(f"{accuracy(recorder.thetas[k]):.4f} at {k + 1} its "
                                       f"(J {recorder.entries[k][1]:.4f}, {recorder.entries[k][0]:.1f} s)"
                                       for k in steps if k < len(recorder.thetas)))
    model, seconds = train(X_train, y_train, 1.0, (25,), "TNC", 0, None)
    held_out = np.mean(model.predict(X_test) == y_test)
    print(f"{'TNC, nnopt.train default':<36} {held_out:8.4f} {model.cost_history[-1]:8.4f} {seconds:8.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and iterations: a smoke test")
    quick = parser.parse_args().quick
    header("bench_lm.py" + (" --quick" if quick else ""))
    seeds = range(2) if quick else range(5)
    sinc(seeds, 50 if quick else 500, 500 if quick else 5000, 1000 if quick else 10000)
    sine_time(seeds, 1000)
    noisy_curve(range(1) if quick else range(3), 200 if quick else 500)
    diabetes(seeds, 100 if quick else 300)
    digits(5 if quick else 60)
    print(f"\nload average {load()}; CPU time stolen by the host: {stolen()}")


if __name__ == "__main__":
    main()
