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

Each trainer runs EPOCHS epochs per call, and every epoch is timed where
it ends: nnopt's from its record (``model.history["time"]``, taken as each
epoch is recorded), scikit-learn's from the call to its end-of-epoch
bookkeeping (``_update_no_improvement_count``, which its loop makes once an
epoch; wrapped on the instance to read the clock). An epoch's time is the
time between two such ends, so the first epoch of a call is left out of
both: what is compared is the steady epoch, setup excluded. The calls are
timed in rounds (each once per round in turn, after SETTLE seconds of idle:
see _timing.py), a different seed each round; a figure is the median over
every epoch of every round, a ratio the median over the rounds of the ratio
of the two trainers' median epochs within a round. The whole calls are
printed too, with their setup (the call less its epochs: checks, labels,
first weights; for nnopt also J(θ0) and its gradient for iteration 0 of
the record).

What an epoch does differs in one way: by default nnopt ends each epoch
with the full-data cost J for its record (a forward pass over the m rows,
also timed on its own below), scikit-learn with the mean of its mini-batch
losses, which nnopt records instead with ``epoch_cost="batches"`` (timed
too): that is the epoch that does scikit-learn's work. Asserts nothing.
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
#: epochs per call: the first is left out (its start is the call's), the others timed
EPOCHS = 4


def nnopt_sgd(X, y, epochs, seed, epoch_cost="full"):
    """nnopt's model after `epochs` epochs of SGD, and the seconds of each epoch after the first."""
    with warnings.catch_warnings():
        # a cost above J(θ0) after one epoch only warns: the time is the point
        warnings.simplefilter("ignore", nnopt.ConvergenceWarning)
        model = nnopt.train(X, y, lam=LAM, hidden_layer_sizes=(HIDDEN,), method="sgd", seed=seed,
                            dtype=np.float32, activation="relu", output="softmax", progress=False,
                            epochs=epochs, batch_size=BATCH, learning_rate=LEARNING_RATE,
                            momentum=MOMENTUM, nesterov=True, epoch_cost=epoch_cost)
    # history["time"][k]: seconds from the start of the run to the record of epoch k (0: θ0)
    return model, np.diff(model.history["time"])[1:]


def nnopt_sgd_batches(X, y, epochs, seed):
    """nnopt's SGD recording each epoch's mean mini-batch cost, as scikit-learn does."""
    return nnopt_sgd(X, y, epochs, seed, epoch_cost="batches")


def sklearn_sgd(X, y, epochs, seed):
    """scikit-learn's MLPClassifier after `epochs` epochs of SGD with the same settings, and
    the seconds of each epoch after the first."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(HIDDEN,), activation="relu", solver="sgd", batch_size=BATCH,
                        learning_rate_init=LEARNING_RATE, momentum=MOMENTUM, nesterovs_momentum=True,
                        shuffle=True, alpha=LAM * BATCH / X.shape[0], max_iter=epochs, random_state=seed)
    ends = []
    bookkeeping = clf._update_no_improvement_count  # called once at the end of each epoch

    def epoch_end(*args, **kwargs):
        ends.append(time.perf_counter())
        return bookkeeping(*args, **kwargs)

    clf._update_no_improvement_count = epoch_end
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the point
        clf.fit(X, y)
    del clf._update_no_improvement_count
    if len(ends) != epochs:
        raise RuntimeError(f"scikit-learn's epochs were not seen: {len(ends)} ends for {epochs} epochs")
    return clf, np.diff(ends)


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

    models, epoch_times = {}, {}

    def run(name, train):
        def call(i):
            models[name], epoch_times[name, i] = train(X, y, epochs, seed=i)
        return call

    epochs = 2 if args.quick else EPOCHS
    # name: (the printed label, the trainer)
    trainers = {"nnopt": ('nnopt train(method="sgd")', nnopt_sgd),
                "nnopt batches": ('nnopt, epoch_cost="batches"', nnopt_sgd_batches),
                "scikit-learn": ('MLPClassifier(solver="sgd")', sklearn_sgd)}
    times = time_rounds({name: run(name, train) for name, (_, train) in trainers.items()}, rounds, warm_up=1)
    J_time = full_cost_time(X, y, max(rounds, 3))

    each = {name: np.array([epoch_times[name, i] for i in range(rounds)]) for name in trainers}
    print(f"\nOne epoch: {epochs} epochs a call, the last {epochs - 1} timed, {rounds} round(s); "
          f"seconds, the median of the {rounds * (epochs - 1)} epochs (their range)")
    print(f"   {'':32s} {'epoch':>7s} {'range':>13s} {'÷ scikit-learn':>15s} {'whole call':>11s} "
          f"{'setup':>6s} {'held-out':>9s}")
    for name, (what, _) in trainers.items():
        ratio = float(np.median(np.median(each[name], axis=1) / np.median(each["scikit-learn"], axis=1)))
        whole = float(np.median(times[name]))
        setup = float(np.median(times[name] - each[name].sum(axis=1) - np.median(each[name], axis=1)))
        accuracy = models[name].score(X_test, y_test)
        target = "   (target ≤ 1.0)" if name == "nnopt batches" else ""
        print(f"   {what:32s} {np.median(each[name]):7.3f} {each[name].min():6.3f}–{each[name].max():<6.3f} "
              f"{ratio:15.2f} {whole:11.2f} {setup:6.2f} {100 * accuracy:8.2f}%{target}")
    print(f"   (÷ scikit-learn: the median over the rounds of the ratio of the median epochs within a "
          f"round; setup: the whole call less its epochs, the untimed first counted as a median "
          f"one; held-out accuracy after {epochs} epochs)")
    full_epoch = float(np.median(each["nnopt"]))
    print(f"   of nnopt's default epoch: the full-data J for its record, {J_time:.3f} s (median of "
          f"{max(rounds, 3)}); without it, {full_epoch - J_time:.3f} s an epoch")
    print(f"\nwhole run {time.perf_counter() - start:.0f} s; load average at the end: {load()}; "
          f"stolen by the host during the run: {stolen()}")


if __name__ == "__main__":
    main()
