"""One epoch of mini-batch SGD on the full MNIST: nnopt's ``method="sgd"`` beside scikit-learn's.

Run from the repository root, in an environment where nnopt and
scikit-learn are installed, with OpenBLAS left to choose its own kernels:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_sgd.py    # about a minute
    python benchmarks/bench_sgd.py --quick    # 6,000 rows, one round: a smoke test, not a measurement

The data is the full MNIST read by ``nnopt.load_mnist`` in float32 (by
default from ``../shared/data/mnist`` beside the repository; ``--data`` for
another folder or ``mnist.npz``): 60,000 images to train on. The network is
784-300-10, ReLU hidden units, softmax outputs, float32, and both trainers
take the same settings:

nnopt
    ``nnopt.train(X, y, lam=5, hidden_layer_sizes=(300,), method="sgd",
    activation="relu", output="softmax", dtype=float32, batch_size=200,
    learning_rate=0.2, momentum=0.9, nesterov=True, epochs=1)``;
scikit-learn
    ``MLPClassifier((300,), activation="relu", solver="sgd", batch_size=200,
    learning_rate_init=0.2, momentum=0.9, nesterovs_momentum=True,
    shuffle=True, alpha=λ·b/m, max_iter=1).fit(X, y)``: alpha = λ·b/m makes
    each step decay the weights as nnopt's does (scikit-learn scales its
    penalty by the batch, nnopt by m).

Each is the whole call, setup included, for 1 epoch and for 2 epochs,
timed in rounds (each once per round in turn, after SETTLE seconds of idle:
see _timing.py), a different seed each round. The difference 2 − 1 epochs
is the cost of one more epoch, and 2·(1 epoch) − (2 epochs) the setup
(checks, labels, first weights; for nnopt also J(θ0)). What an epoch does
differs in one way: by default nnopt ends each epoch with the full-data
cost J for its record (a forward pass over the m rows, timed on its own
below), scikit-learn with the mean of its mini-batch losses, which nnopt
records instead with ``epoch_cost="batches"`` (timed too). Asserts
nothing.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nnopt  # noqa: E402
from _machine import header, load, stolen  # noqa: E402
from _timing import time_rounds  # noqa: E402

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "mnist")
HIDDEN = 300
LAM = 5.0
BATCH = 200
LEARNING_RATE = 0.2
MOMENTUM = 0.9
QUICK_ROWS = 6000


def nnopt_sgd(X, y, epochs, seed, epoch_cost="full"):
    """nnopt's model after `epochs` epochs of SGD."""
    with warnings.catch_warnings():
        # a cost above J(θ0) after one epoch only warns: the time is the point
        warnings.simplefilter("ignore", nnopt.ConvergenceWarning)
        return nnopt.train(X, y, lam=LAM, hidden_layer_sizes=(HIDDEN,), method="sgd", seed=seed,
                           dtype=np.float32, activation="relu", output="softmax", progress=False,
                           epochs=epochs, batch_size=BATCH, learning_rate=LEARNING_RATE,
                           momentum=MOMENTUM, nesterov=True, epoch_cost=epoch_cost)


def nnopt_sgd_batches(X, y, epochs, seed):
    """nnopt's SGD recording each epoch's mean mini-batch cost, as scikit-learn does."""
    return nnopt_sgd(X, y, epochs, seed, epoch_cost="batches")


def sklearn_sgd(X, y, epochs, seed):
    """scikit-learn's MLPClassifier after `epochs` epochs of SGD with the same settings."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(HIDDEN,), activation="relu", solver="sgd", batch_size=BATCH,
                        learning_rate_init=LEARNING_RATE, momentum=MOMENTUM, nesterovs_momentum=True,
                        shuffle=True, alpha=LAM * BATCH / X.shape[0], max_iter=epochs, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the point
        return clf.fit(X, y)


def full_cost_time(X, y, rounds):
    """Median seconds of nnopt's full-data J (no gradient), what it adds to each epoch."""
    objective = nnopt.Objective(X, y, LAM, (X.shape[1], HIDDEN, 10), dtype=np.float32,
                                activation="relu", output="softmax")
    thetas = [nnopt.random_init(objective.layer_sizes, seed=s) for s in (1, 2)]
    times = time_rounds({"J": lambda i: objective.forward_cost(thetas[i % 2])}, rounds)
    return float(np.median(times["J"]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_ROWS} rows, one round: a smoke test, not a measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--data", default=DEFAULT_DATA, help="MNIST folder or mnist.npz")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    start = time.perf_counter()

    header("bench_sgd.py")
    path = os.path.normpath(args.data)
    t0 = time.perf_counter()
    X, y, X_test, y_test = nnopt.load_mnist(path, dtype=np.float32)
    if args.quick:
        X, y = X[:QUICK_ROWS], y[:QUICK_ROWS]
    print(f"data: nnopt.load_mnist({path!r}, dtype=float32): {X.shape[0]} rows to train on, "
          f"{X_test.shape[0]} held out, read in {time.perf_counter() - t0:.1f} s")
    m = X.shape[0]
    print(f"network 784-{HIDDEN}-10, ReLU hidden units, softmax outputs, float32; batches of {BATCH} "
          f"({-(-m // BATCH)} steps an epoch), learning rate {LEARNING_RATE:g}, Nesterov momentum "
          f"{MOMENTUM:g}, shuffled each epoch; nnopt λ = {LAM:g}, scikit-learn alpha = λ·b/m = "
          f"{LAM * BATCH / m:.3g}")

    models = {}

    def run(name, train, epochs):
        def call(i):
            models[name, epochs] = train(X, y, epochs, seed=i)
        return call

    trainers = (("nnopt", nnopt_sgd), ("nnopt batches", nnopt_sgd_batches), ("scikit-learn", sklearn_sgd))
    candidates = {(name, epochs): run(name, train, epochs) for epochs in (1, 2) for name, train in trainers}
    times = time_rounds(candidates, rounds, warm_up=1)
    J_time = full_cost_time(X, y, max(rounds, 3))

    print(f"\nWhole call, medians of {rounds} rounds (seconds)")
    print(f"   {'':32s} {'1 epoch':>9s} {'2 epochs':>9s} {'per epoch':>10s} {'setup':>8s} "
          f"{'held-out after 1 epoch':>23s}")
    print(f"   {'':32s} {'':9s} {'':9s} {'(2 − 1)':>10s} {'(2·1 − 2)':>8s}")
    median = {key: float(np.median(t)) for key, t in times.items()}
    per_epoch = {}
    for name, what in (("nnopt", 'nnopt train(method="sgd")'),
                       ("nnopt batches", 'nnopt, epoch_cost="batches"'),
                       ("scikit-learn", "MLPClassifier(solver=\"sgd\")")):
        one, two = median[name, 1], median[name, 2]
        per_epoch[name] = two - one
        accuracy = models[name, 1].score(X_test, y_test)
        print(f"   {what:32s} {one:9.2f} {two:9.2f} {two - one:10.2f} {2 * one - two:8.2f} "
              f"{100 * accuracy:22.2f}%")
    whole = float(np.median(times["nnopt", 1] / times["scikit-learn", 1]))
    two = float(np.median(times["nnopt", 2] / times["scikit-learn", 2]))
    print(f"   {'nnopt ÷ scikit-learn':32s} {whole:9.2f} {two:9.2f} "
          f"{per_epoch['nnopt'] / per_epoch['scikit-learn']:10.2f}")
    whole_b = float(np.median(times["nnopt batches", 1] / times["scikit-learn", 1]))
    two_b = float(np.median(times["nnopt batches", 2] / times["scikit-learn", 2]))
    print(f"   {'nnopt batches ÷ scikit-learn':32s} {whole_b:9.2f} {two_b:9.2f} "
          f"{per_epoch['nnopt batches'] / per_epoch['scikit-learn']:10.2f}   (target per epoch ≤ 1.0)")
    print(f"   (the ratios of whole calls are medians over the rounds of the ratio within a round; "
          f"per epoch, the ratio of the differences of the medians)")
    print(f"   of nnopt's epoch: the full-data J for cost_history, {J_time:.2f} s (median of "
          f"{max(rounds, 3)}); without it, {per_epoch['nnopt'] - J_time:.2f} s an epoch, "
          f"{(per_epoch['nnopt'] - J_time) / per_epoch['scikit-learn']:.2f}× scikit-learn's")
    print(f"\nwhole run {time.perf_counter() - start:.0f} s; load average at the end: {load()}; "
          f"stolen by the host during the run: {stolen()}")


if __name__ == "__main__":
    main()
