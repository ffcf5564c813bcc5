"""What the benchmarks time nnopt against. Not part of nnopt.

Each baseline computes the same J(Θ) and gradient as `nnopt.cost_and_gradient`
with the cross-entropy loss and class indices y:

- `BareProducts`: only the two products with X that any evaluation must do,
  the floor nnopt is measured against;
- `sklearn_objective`: scikit-learn's MLP objective on the same weights
  (in scikit-learn's packing: `to_sklearn`, `from_sklearn`);
- `TorchProcess`: PyTorch's autograd on the same network and the same θ,
  in a process of its own, so that torch's BLAS and OpenMP threads never
  share a process with numpy's (run this file with ``--serve-torch`` to be
  that process);
- `fit_mlp`: a whole scikit-learn MLPClassifier fit with L-BFGS, the
  trainer nnopt's `train` is timed against.
"""

import os
import pickle
import subprocess
import sys
import time
import warnings
from itertools import pairwise

import numpy as np

from nnopt.parameters import n_params, reshape, unroll

# scikit-learn's names for nnopt's hidden activations and outputs
SKLEARN_NAMES = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu", "softmax": "softmax"}


class BareProducts:
    """The two products with X of one evaluation, and nothing else.

    Forward z^(2) from X and W₁ = Θ^(1)[:, 1:], backward Δ^(1) from δ^(2)
    and X written into a preallocated Θ-shaped array, each either way round:
    ``"rows"`` is X @ W₁ᵀ, δ₂ᵀ @ X (examples as rows, the form of the
    issue's figures), ``"columns"`` is W₁ @ Xᵀ, δ₂ @ X (examples as columns).

    Parameters
    ----------
    X : ndarray, shape (m, n)
    hidden : int
        s_2, the hidden units.
    forward, backward : {"rows", "columns"}
    """

    def __init__(self, X, hidden, forward, backward, seed=0):
        rng = np.random.default_rng(seed)
        m, n = X.shape
        self.X = X
        self.W = rng.uniform(-0.1, 0.1, (hidden, n + 1)).astype(X.dtype)[:, 1:]
        delta = rng.uniform(-1e-3, 1e-3, (hidden, m)).astype(X.dtype)
        self.delta = np.ascontiguousarray(delta.T) if backward == "rows" else delta
        self.G = np.empty((hidden, n + 1), dtype=X.dtype)
        self.forward, self.backward = forward, backward

    def __call__(self, _=None):
        z = self.X @ self.W.T if self.forward == "rows" else self.W @ self.X.T
        delta = self.delta.T if self.backward == "rows" else self.delta
        np.matmul(delta, self.X, out=self.G[:, 1:])
        return z


def to_sklearn(theta, layer_sizes):
    """θ in nnopt's layout as scikit-learn packs an MLP: every coefficient matrix, then every intercept."""
    thetas = reshape(theta, layer_sizes)
    return np.concatenate([Th[:, 1:].T.ravel() for Th in thetas] + [Th[:, 0] for Th in thetas])


def from_sklearn(packed, layer_sizes):
    """The inverse of `to_sklearn`."""
    shapes = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    ends = np.cumsum([n_in * n_out for n_in, n_out in shapes] + [n_out for _, n_out in shapes])
    parts = np.split(packed, ends[:-1])
    coefs, intercepts = parts[:len(shapes)], parts[len(shapes):]
    return unroll([np.hstack([b[:, None], W.reshape(shape).T])
                   for W, b, shape in zip(coefs, intercepts, shapes)])


def sklearn_objective(X, y, lam, layer_sizes, activation="sigmoid", output="sigmoid"):
    """scikit-learn's L-BFGS objective for the same network, or why there is none.

    The MLPClassifier is set up by its own fit (one L-BFGS iteration), and
    its objective then called with the buffers its fit makes, in X's dtype
    (scikit-learn keeps float32 X in float32). Its outputs follow the
    targets: given one-hot targets (a multi-label problem) it has logistic
    outputs and the binary log-loss, the cost of the articles; given class
    labels, softmax outputs and the log-loss. Its L2 term is
    alpha/(2m)·‖W‖², so alpha = λ.

    Parameters
    ----------
    X : ndarray of float64 or float32, shape (m, n)
    y : ndarray of int, shape (m,)
        Class indices 0..K-1.
    lam : float
    layer_sizes : sequence of int
    activation : {"sigmoid", "tanh", "relu"}
        The hidden units, in nnopt's names.
    output : {"sigmoid", "softmax"}

    Returns
    -------
    f : callable or None
        ``f(packed) -> (J, grad)``, scikit-learn's objective on its packing of
        the weights (see `to_sklearn`, which stays outside timed calls). It
        computes in the dtype of `packed` and X together: a float64 `packed`
        (what scipy's L-BFGS hands it) on a float32 X computes in float64.
    note : str
        "scikit-learn <version>, <its output>", or why it could not be set up.
    """
    try:
        import sklearn
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None, "scikit-learn is not installed"
    # one-hot targets make a multi-label problem (logistic outputs), labels a multiclass one (softmax)
    targets = np.eye(layer_sizes[-1], dtype=int)[y] if output == "sigmoid" else y
    clf = MLPClassifier(hidden_layer_sizes=tuple(layer_sizes[1:-1]), activation=SKLEARN_NAMES[activation],
                        solver="lbfgs", alpha=lam, max_iter=1, random_state=0)
    try:
        with warnings.catch_warnings():
            # one iteration only sets up the internals; its warning is expected
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, targets)
        # the buffers and targets _fit hands to _fit_lbfgs
        Y = clf._label_binarizer.transform(targets).astype(bool)
        activations = [X] + [None] * (len(layer_sizes) - 1)
        deltas = [None] * (len(activations) - 1)
        coef_grads = [np.empty((a, b), dtype=X.dtype) for a, b in pairwise(layer_sizes)]
        intercept_grads = [np.empty(b, dtype=X.dtype) for b in layer_sizes[1:]]

        def f(packed):
            return clf._loss_grad_lbfgs(packed, X, Y, None, activations, deltas, coef_grads, intercept_grads)

        f(to_sklearn(np.zeros(n_params(layer_sizes)), layer_sizes).astype(X.dtype))
    except (AttributeError, TypeError, ValueError) as e:
        return None, (f"scikit-learn {sklearn.__version__}'s private MLP objective differs "
                      f"from the one this benchmark knows ({type(e).__name__}: {e})")
    expected = SKLEARN_NAMES[output]
    if clf.out_activation_ != expected:
        return None, f"scikit-learn {sklearn.__version__} chose {clf.out_activation_!r} outputs, not {expected!r}"
    loss = "binary log-loss" if expected == "logistic" else "log-loss"
    return f, f"scikit-learn {sklearn.__version__}, {expected} outputs and {loss}"


class TorchProcess:
    """PyTorch's autograd on the same network, in a Python process of its own.

    torch brings its own BLAS (MKL on x86) and OpenMP threads; in a process
    of its own they never run beside numpy's OpenBLAS threads, nor change
    how nnopt's process runs. The process is this file run with
    ``--serve-torch``; it reads pickled requests on its stdin and answers on
    its stdout.

    Parameters
    ----------
    threads : int
        torch's intra-op threads (``torch.set_num_threads``).

    Attributes
    ----------
    about : str
        torch's version, threads, CPU capability and BLAS; or why there is no torch.
    available : bool
    """

    def __init__(self, threads):
        self._proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-torch", str(threads)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            self.available, self.about = pickle.load(self._proc.stdout)
        except EOFError:
            self.available, self.about = False, "its process ended before it started (its error is above)"
        if not self.available:
            self.close()

    def _ask(self, *request):
        pickle.dump(request, self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self._proc.stdin.flush()
        answer = pickle.load(self._proc.stdout)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def bind(self, X, y, lam, layer_sizes, thetas, activation="sigmoid", output="sigmoid"):
        """Send the problem: X (float64; float32 is cast there, as here), y as class indices, two θ."""
        self._ask("bind", X, y, lam, tuple(layer_sizes), [np.asarray(t) for t in thetas], activation, output)

    def evaluation(self, dtype):
        """A candidate for `time_rounds`: one evaluation at θ[i % 2] in `dtype`, timed there."""
        return _TorchEvaluation(self, np.dtype(dtype).name)

    def result(self, dtype, k):
        """(J, gradient in nnopt's layout) at the k-th θ, in `dtype`."""
        return self._ask("result", np.dtype(dtype).name, k)

    def close(self):
        if self._proc.poll() is None:
            self._proc.stdin.close()
            self._proc.wait(timeout=30)


class _TorchEvaluation:
    """One evaluation in the torch process; ``seconds`` is the time it took there."""

    def __init__(self, process, dtype):
        self.process, self.dtype, self.seconds = process, dtype, None

    def __call__(self, i):
        self.seconds = self.process._ask("time", self.dtype, i % 2)


def torch_cost_and_gradient(theta, X, target, lam, layer_sizes, activation, output):
    """J and ∂J/∂θ by PyTorch's autograd, θ in nnopt's layout (runs in the torch process only).

    Θ^(l) is a view of θ of shape (s_{l+1}, s_l + 1), bias column first, as
    in nnopt; the forward pass is ``torch.nn.functional.linear`` and the
    hidden activation, the cost the loss of the output summed over the
    outputs, averaged over the m examples, plus λ/(2m)·Σ Θ[:, 1:]². θ
    comes as the optimizer's float64 vector and is cast to X's dtype here,
    inside the evaluation, as nnopt's Objective does.

    Returns
    -------
    J : float
    grad : ndarray of X's dtype, shape (n_params,)
    """
    import torch
    import torch.nn.functional as F
    params = torch.from_numpy(np.asarray(theta)).to(X.dtype).requires_grad_()
    hidden = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation]
    m, a, penalty, start = X.shape[0], X, 0.0, 0
    for l, (n_in, n_out) in enumerate(pairwise(layer_sizes)):
        if l > 0:
            a = hidden(z)
        Theta = params[start:start + n_out * (n_in + 1)].view(n_out, n_in + 1)
        start += n_out * (n_in + 1)
        z = F.linear(a, Theta[:, 1:], Theta[:, 0])
        penalty = penalty + Theta[:, 1:].square().sum()
    if output == "sigmoid":
        loss = F.binary_cross_entropy_with_logits(z, target, reduction="sum")
    else:
        loss = F.cross_entropy(z, target, reduction="sum")
    J = loss / m + lam / (2 * m) * penalty
    J.backward()
    return J.item(), params.grad.numpy()


def _serve_torch(threads):
    """The torch process: answer `TorchProcess`'s requests until its stdin closes."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, not into the answers
    try:
        import torch
    except ImportError as e:
        pickle.dump((False, f"PyTorch is not installed ({e})"), out)
        out.flush()
        return
    torch.set_num_threads(threads)
    blas = next((s.split("=")[1] for s in torch.__config__.show().replace(",", " ").split()
                 if s.startswith("BLAS_INFO=")), "unknown")
    pickle.dump((True, f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
                       f"{torch.backends.cpu.get_cpu_capability()}, BLAS {blas}"), out)
    out.flush()
    problems = {}

    def bind(X, y, lam, layer_sizes, thetas, activation, output):
        problems.clear()
        for dtype in (np.float64, np.float32):
            Xd = torch.from_numpy(np.ascontiguousarray(X, dtype=dtype))
            if output == "sigmoid":
                target = torch.from_numpy(np.eye(layer_sizes[-1], dtype=dtype)[y])
            else:
                target = torch.from_numpy(np.asarray(y, dtype=np.int64))
            problems[np.dtype(dtype).name] = (Xd, target, lam, layer_sizes, activation, output)
        problems["thetas"] = thetas

    def result(dtype, k):
        return torch_cost_and_gradient(problems["thetas"][k], *problems[dtype])

    def timed(dtype, k):
        t0 = time.perf_counter()
        result(dtype, k)
        return time.perf_counter() - t0

    handlers = {"bind": bind, "time": timed, "result": result}
    while True:
        try:
            kind, *args = pickle.load(sys.stdin.buffer)
        except EOFError:
            return
        try:
            answer = handlers[kind](*args)
        except Exception as e:  # sent back, raised in the benchmark's process
            answer = RuntimeError(f"in the torch process: {type(e).__name__}: {e}")
        pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


def fit_mlp(split, activation, hidden, lam, max_iter):
    """(seconds, held-out accuracy, iterations, None) of one MLPClassifier L-BFGS fit.

    `split` is ``(X_train, X_test, y_train, y_test)``; `activation` is
    scikit-learn's name ("logistic" for the course's sigmoid); `lam` goes in
    as its alpha, the same λ/m-scaled penalty as nnopt's.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    X_train, X_test, y_train, y_test = split
    clf = MLPClassifier(hidden_layer_sizes=(hidden,), activation=activation, solver="lbfgs",
                        alpha=lam, max_iter=max_iter, random_state=0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    seconds = time.perf_counter() - t0
    return seconds, clf.score(X_test, y_test), clf.n_iter_, None


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-torch"]:
        _serve_torch(int(sys.argv[2]))
