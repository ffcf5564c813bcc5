"""The ``nnopt`` command line: train, predict, check-gradients.

Every user mistake (a bad option, a missing or unreadable file, bad data)
ends in one line on stderr and exit code 2, never a traceback. A reader
that stops early (``nnopt predict ... | head``) ends the command normally.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

from . import __version__
from .datasets import _n_test, load_digits, load_mat, train_test_split
from .errors import DivergenceError
from .gradcheck import check_gradients
from .model import Model, accuracy, load
from .training import DEFAULT_CURVATURE, train


class _UsageError(Exception):
    """A mistake of the user's, reported in one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage mistakes reported in one line."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _parser():
    p = _Parser(prog="nnopt", description="Train neural networks by backpropagation "
                                "on SciPy's optimizers.")
    p.add_argument("--version", action="version", version=f"nnopt {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    t = sub.add_parser("train", help="train a network (by default on the bundled digits) and save it",
                       description="Train a network, report held-out accuracy, save the model.")
    t.add_argument("--hidden", type=int, nargs="+", default=[25], metavar="N",
                   help="units per hidden layer (default: 25)")
    t.add_argument("--lam", type=float, default=1.0, help="regularization strength λ (default: 1)")
    t.add_argument("--method", default="TNC", help="TNC, CG, L-BFGS-B, BFGS, Newton-CG, ..., LM, BR, SCG, Rprop, gd or sgd "
                   "(default: TNC)")
    t.add_argument("--maxiter", type=int, default=None, help="iteration limit (default: per method)")
    t.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the split (default: 0)")
    t.add_argument("--activation", default="sigmoid", choices=["sigmoid", "tanh", "relu"],
                   help="hidden units (default: sigmoid, as in the course)")
    t.add_argument("--output", default="sigmoid", choices=["sigmoid", "softmax", "identity"],
                   help="output units: sigmoid (the course), softmax, or identity for regression "
                   "on real y (default: sigmoid)")
    t.add_argument("--loss", default=None, choices=["cross_entropy", "squared_error"],
                   help="default: the output's own (cross_entropy; squared_error for identity)")
    t.add_argument("--curvature", default=None, choices=["gauss-newton", "hessian"],
                   help="the curvature products of Newton-CG, trust-ncg, trust-krylov and "
                        "trust-constr (default: per method)")
    t.add_argument("--curvature-fraction", type=float, default=None, metavar="F",
                   help="share of the examples, in (0, 1], each curvature product reads, drawn "
                        "anew at each iteration (default: 1, all)")
    t.add_argument("--float32", action="store_true", help="compute in float32 (about twice as fast)")
    t.add_argument("--data", metavar="PATH", help=".npz with X and y, or a course .mat file "
                   "(default: the bundled digits)")
    t.add_argument("--test-size", type=float, default=0.2,
                   help="held-out fraction, stratified; 0 trains on all rows, with no held-out "
                   "accuracy, as the course does (default: 0.2)")
    t.add_argument("--out", default="model.npz", metavar="PATH", help="where to save the model (default: model.npz)")
    t.add_argument("--plot", metavar="PNG", help="also save the cost curve as a picture")
    t.add_argument("--validation", type=float, default=None, metavar="F",
                   help="hold out this fraction of the training rows (stratified) and stop when "
                        "their cost has not fallen for --max-fail iterations, keeping the best "
                        "iteration's network, as MATLAB's train does (default: no validation set)")
    t.add_argument("--max-fail", type=int, default=6, metavar="N",
                   help="iterations without a lower validation cost that stop training (default: 6)")
    t.add_argument("--plots", metavar="DIR", help="save MATLAB's pictures of the fit in DIR: "
                   "performance.png, training_state.png, and confusion.png and roc.png (classes) "
                   "or regression.png and error_histogram.png (real targets)")
    t.add_argument("--learning-rate", type=float, help="step size for gd and sgd")
    t.add_argument("--batch-size", type=int, help="mini-batch size for sgd")
    t.add_argument("--epochs", type=int, help="passes over the data for sgd")
    t.add_argument("--momentum", type=float, help="momentum for gd and sgd")
    t.add_argument("--nesterov", action="store_true", default=None,
                   help="Nesterov's momentum for gd and sgd")
    t.add_argument("--verbose", action="store_true", help="print every iteration")

    pr = sub.add_parser("predict", help="print a saved model's predictions for some data")
    pr.add_argument("--model", required=True, metavar="PATH",
                    help="a model saved by `nnopt train`, or a course weights .mat file (Theta1, Theta2, ...; "
                    "labels as nnopt.load_mat maps them: 0-9 for 10 outputs)")
    pr.add_argument("--data", required=True, metavar="PATH", help=".npz with X (and optionally y), or a .mat file")

    g = sub.add_parser("check-gradients", help="compare backpropagation with central differences")
    g.add_argument("--lam", type=float, default=0.0)
    g.add_argument("--loss", default="cross_entropy", choices=["cross_entropy", "squared_error"])
    g.add_argument("--hidden", type=int, nargs="+", default=[5], metavar="N")
    return p


def read_data(path):
    """X and y (y may be None) from an ``.npz`` file or a course ``.mat`` file."""
    if not os.path.isfile(path):
        raise _UsageError(f"--data: no such file: {path}")
    if path.lower().endswith(".mat"):
        contents = load_mat(path)
        if "X" not in contents:
            raise _UsageError(f"--data: {path} holds no X (it looks like a weights file)")
        return contents["X"], contents.get("y")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "X" not in f.files:
                raise _UsageError(f"--data: {path} has no array named X (it has {sorted(f.files)})")
            return f["X"], (f["y"] if "y" in f.files else None)
    except ValueError as e:  # object arrays, or not an npz at all
        raise _UsageError(f"--data: cannot read {path} as .npz without pickle: {e}") from None
    except OSError as e:
        raise _UsageError(f"--data: cannot read {path}: {e}") from None


def _curvature_options(args):
    """--curvature and --curvature-fraction as train's keywords, checked in the options' names."""
    given = [f"--{name}" for name, value in (("curvature", args.curvature),
                                              ("curvature-fraction", args.curvature_fraction))
             if value is not None]
    if given and str(args.method).lower() not in DEFAULT_CURVATURE:
        raise _UsageError(f"{' and '.join(given)} are for the methods that take Hessian-vector "
                          f"products ({', '.join(sorted(DEFAULT_CURVATURE))}); got --method {args.method}"
                          if len(given) > 1 else
                          f"{given[0]} is for the methods that take Hessian-vector products "
                          f"({', '.join(sorted(DEFAULT_CURVATURE))}); got --method {args.method}")
    options = {"curvature": args.curvature}
    if args.curvature_fraction is not None:
        if not 0 < args.curvature_fraction <= 1:  # NaN too
            raise _UsageError(f"--curvature-fraction must be in (0, 1]; got {args.curvature_fraction:g}")
        options["curvature_fraction"] = args.curvature_fraction
    return options


def _train(args):
    if args.data:
        X, y = read_data(args.data)
        if y is None:
            raise _UsageError(f"--data: {args.data} has no labels y to train on")
    else:
        X, y = load_digits()
    if args.test_size == 0:
        X_train, X_test, y_train, y_test = X, None, np.asarray(y), None
    elif args.output == "identity":
        X_train, X_test, y_train, y_test = _random_split(X, y, args.test_size, args.seed)
    else:
        X_train, X_test, y_train, y_test = train_test_split(X, y, args.test_size, seed=args.seed)
    descent = {k: getattr(args, k) for k in ("learning_rate", "batch_size", "epochs", "momentum", "nesterov")
               if getattr(args, k) is not None}
    curvature = _curvature_options(args)
    if args.validation is not None and not 0 < args.validation < 1:  # NaN too
        raise _UsageError(f"--validation must be a fraction in (0, 1); got {args.validation:g}")
    if args.max_fail < 1:
        raise _UsageError(f"--max-fail must be >= 1; got {args.max_fail}")
    start = time.perf_counter()
    try:
        model = train(X_train, y_train, args.lam, hidden_layer_sizes=tuple(args.hidden),
                      method=args.method, maxiter=args.maxiter, seed=args.seed, loss=args.loss,
                      verbose=args.verbose, dtype=np.float32 if args.float32 else None,
                      activation=args.activation, output=args.output, validation=args.validation,
                      max_fail=args.max_fail, **curvature, **descent)
    except DivergenceError as e:
        # the error's own advice names train()'s argument and .theta, which
        # mean nothing here: say it with this command's option
        raise _UsageError(
            f"{e.what}: --learning-rate {e.learning_rate:g} is too large; try a smaller one, such "
            f"as --learning-rate {e.learning_rate / 10:g} (nothing was saved)") from None
    seconds = time.perf_counter() - start
    model.save(args.out)
    sizes = "-".join(map(str, model.layer_sizes))
    print(f"trained a {sizes} network with {args.method} on {len(y_train)} examples: "
          f"{model.n_iter} iterations, {model.n_evals} cost evaluations, {seconds:.1f} s")
    # accuracy for classes, R² for regression (Model.score)
    measure, shown = ("R²", "{:.4f}") if model.target in ("regression", "multioutput") else ("accuracy", "{:.2%}")
    print(f"final cost {model.cost_history[-1]:.4f}; training {measure} "
          f"{shown.format(model.score(X_train, y_train))}")
    if X_test is None:
        print("no held-out set (--test-size 0): every example was used for training")
    else:
        print(f"held-out {measure} {shown.format(model.score(X_test, y_test))} on {len(y_test)} examples")
    if args.validation is not None:
        print(f"validation: best iteration {model.best_iteration} of {model.n_iter} (validation cost "
              f"{model.history['validation_cost'][model.best_iteration]:.4f}); stopped: {model.result.message}")
    print(f"model saved to {args.out}")
    if args.plots:
        saved = _save_plots(model, args.plots, X_test if X_test is not None else X_train,
                            y_test if X_test is not None else y_train)
        print(f"pictures saved to {args.plots}: {', '.join(saved)}")
    if args.plot:
        _save_plot(model, args.plot)
        print(f"cost curve saved to {args.plot}")


def _random_split(X, y, test_size, seed):
    """A random (not stratified) split, for real-valued targets."""
    X, y = np.asarray(X), np.asarray(y)
    # the count as train_test_split takes it (a fraction, or a whole number of rows)
    n_test = _n_test(test_size if test_size < 1 else int(test_size), len(X))
    order = np.random.default_rng(seed).permutation(len(X))
    test, tr = order[:n_test], order[n_test:]
    return X[tr], X[test], y[tr], y[test]


def _save_plot(model, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import plot_cost_curve

    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        plot_cost_curve(model, labels=[model.method], ax=ax)
        fig.savefig(path, dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)


def _save_plots(model, folder, X, y):
    """MATLAB's pictures of a fit, one PNG each in `folder` (made if missing); returns their names."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plots

    os.makedirs(folder, exist_ok=True)
    pictures = {"performance.png": lambda fig: plots.plot_performance(model, ax=fig.subplots()),
                "training_state.png": lambda fig: plots.plot_training_state(model, fig=fig)}
    if model.target == "classes":
        pictures["confusion.png"] = lambda fig: plots.plot_confusion_matrix(
            y, model.predict(X), labels=model.classes_, ax=fig.subplots())
        pictures["roc.png"] = lambda fig: plots.plot_roc(model, X, y, ax=fig.subplots())
    elif model.target in ("regression", "multioutput"):
        pictures["regression.png"] = lambda fig: plots.plot_regression(model, X, y)
        pictures["error_histogram.png"] = lambda fig: plots.plot_error_histogram(model, X, y, ax=fig.subplots())
    for name, draw in pictures.items():
        fig = plt.figure(figsize=(7, 5))
        try:
            draw(fig)
            fig.savefig(os.path.join(folder, name), dpi=100, bbox_inches="tight")
        finally:
            plt.close("all")
    return list(pictures)


def read_model(path):
    """A model saved by `nnopt train`, or one made of a course weights .mat file."""
    try:
        if path.lower().endswith(".mat"):
            return _model_from_mat(path)
        return load(path)
    except FileNotFoundError:
        raise _UsageError(f"--model: no such file: {path}") from None
    except ValueError as e:
        raise _UsageError(f"--model: {e}") from None


def _model_from_mat(path):
    """The network of a weights file such as the course's ex4weights.mat."""
    contents = load_mat(path)
    if "thetas" not in contents:
        raise _UsageError(f"--model: {path} holds no weights Theta1, Theta2, ... (it looks like a data file)")
    thetas = contents["thetas"]
    K = thetas[-1].shape[0]
    # load_mat's labels: with 10 outputs it rotates the last Θ so that unit k
    # is the digit k; any other K is left as stored, where unit k is the
    # course's label k + 1
    classes = np.arange(10) if K == 10 else np.arange(1, K + 1)
    # λ and the optimizer are not in the file
    return Model(thetas, classes, lam=float("nan"), method=None)


def _predict(args):
    model = read_model(args.model)
    X, y = read_data(args.data)
    predictions = model.predict(X)
    score = None
    if y is not None and np.size(y) == len(predictions):
        # before any output: labels of another kind than the model's are an error
        score = accuracy(predictions, np.ravel(y), model.classes_, name=f"y in {args.data}")
    print("\n".join(str(p) for p in predictions))
    if score is not None:
        print(f"accuracy {score:.2%} on {len(predictions)} examples", file=sys.stderr)


# train()'s warnings give their advice in its arguments' names; here the
# same advice names the options (test_cli checks each against train's text)
_OPTION_NAMES = (
    ("learning_rate=", "--learning-rate "),
    ("a larger lam", "a larger --lam"),
    ("another method (", "another --method ("),
    ("dtype=numpy.float64 if float32 was used", "leaving out --float32 if it was given"),
)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning as one line for the command's user, without Python's file
    and line, and in the options' names."""
    text = str(message)
    for argument, option in _OPTION_NAMES:
        text = text.replace(argument, option)
    print(f"nnopt: warning: {text}", file=sys.stderr if file is None else file)


def _discard_stdout():
    """Point stdout's file descriptor at os.devnull."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a real file (captured output)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def main(argv=None):
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            with warnings.catch_warnings():
                warnings.simplefilter("always")  # a ConvergenceWarning is worth seeing each time
                warnings.showwarning = _show_warning
                _train(args)
        elif args.command == "predict":
            _predict(args)
        else:
            check_gradients(args.lam, (3, *args.hidden, 3), loss=args.loss, verbose=True)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at the interpreter's exit
    except BrokenPipeError:
        # the reader stopped early (`| head`): a normal end. Later writes to
        # stdout, such as the interpreter's final flush, go to devnull
        _discard_stdout()
        return 0
    except (_UsageError, ValueError, TypeError, FileNotFoundError, OSError) as e:
        print(f"nnopt {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nnopt {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
