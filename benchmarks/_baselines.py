"""What the benchmarks time nnopt against. Not part of nnopt.

Each baseline computes the same J(Θ) and gradient as `nnopt.cost_and_gradient`
with the cross-entropy loss and class indices y, in the layout of nnopt's θ:

- `loop_cost_and_gradient`: the articles' per-example backpropagation,
  Δ^(l) += δ^(l+1) a^(l)ᵀ accumulated over the examples one at a time;
- `plain_cost_and_gradient`: the straightforward vectorized numpy most
  tutorials write (a bias column stacked onto each a^(l), log(h));
- `BareProducts`: only the two products with X that any evaluation must do,
  the floor nnopt is measured against;
- `sklearn_objective`: scikit-learn's MLP objective on the same weights;
- `fit_mlp`: a whole scikit-learn MLPClassifier fit with L-BFGS, the
  trainer nnopt's `train` is timed against.
"""

import time
import warnings

import numpy as np

from nnopt.parameters import n_params, reshape, unroll


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _regularization(thetas, lam, m):
    return lam / (2.0 * m) * sum((Th[:, 1:] ** 2).sum() for Th in thetas)


def _add_regularization(grads, thetas, lam, m):
    for G, Th in zip(grads, thetas):
        G[:, 1:] += (lam / m) * Th[:, 1:]


def loop_cost_and_gradient(theta, X, y, lam, layer_sizes):
    """J and ∂J/∂θ by the articles' loop over examples (any depth).

    For each example: forward propagation with a bias unit prepended,
    δ^(L) = a^(L) − y, δ^(l) = (Θ^(l)ᵀ δ^(l+1))[1:] ⊙ a^(l)(1 − a^(l)), and
    Δ^(l) += δ^(l+1) a^(l)ᵀ; finally D^(l) = Δ^(l)/m plus the λ term.
    """
    thetas = reshape(theta, layer_sizes)
    m, K = X.shape[0], layer_sizes[-1]
    Deltas = [np.zeros_like(Th) for Th in thetas]
    J = 0.0
    for i in range(m):
        a = [np.concatenate(([1.0], X[i]))]
        for Th in thetas[:-1]:
            a.append(np.concatenate(([1.0], _sigmoid(Th @ a[-1]))))
        h = _sigmoid(thetas[-1] @ a[-1])
        yk = np.zeros(K)
        yk[y[i]] = 1.0
        J += np.sum(-yk * np.log(h) - (1 - yk) * np.log(1 - h))
        delta = h - yk
        for l in range(len(thetas) - 1, -1, -1):
            Deltas[l] += np.outer(delta, a[l])
            if l > 0:
                delta = (thetas[l].T @ delta)[1:] * a[l][1:] * (1 - a[l][1:])
    grads = [D / m for D in Deltas]
    _add_regularization(grads, thetas, lam, m)
    return J / m + _regularization(thetas, lam, m), np.concatenate([G.ravel() for G in grads])


def plain_cost_and_gradient(theta, X, y, lam, layer_sizes):
    """J and ∂J/∂θ in straightforward vectorized numpy, for one hidden layer."""
    Theta1, Theta2 = reshape(theta, layer_sizes)
    m, K = X.shape[0], layer_sizes[-1]
    Y = np.eye(K)[y]
    ones = np.ones((m, 1))
    a1 = np.hstack([ones, X])
    z2 = a1 @ Theta1.T
    a2 = np.hstack([ones, _sigmoid(z2)])
    h = _sigmoid(a2 @ Theta2.T)
    J = np.sum(-Y * np.log(h) - (1 - Y) * np.log(1 - h)) / m
    delta3 = h - Y
    delta2 = (delta3 @ Theta2)[:, 1:] * _sigmoid(z2) * (1 - _sigmoid(z2))
    grads = [delta2.T @ a1 / m, delta3.T @ a2 / m]
    _add_regularization(grads, (Theta1, Theta2), lam, m)
    return J + _regularization((Theta1, Theta2), lam, m), np.concatenate([G.ravel() for G in grads])


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


def sklearn_objective(X, y, lam, layer_sizes):
    """scikit-learn's L-BFGS objective for the same network, or why there is none.

    An MLPClassifier with logistic units, given one-hot targets (a
    multilabel problem), has sigmoid outputs and the binary log-loss: the
    cost of the articles. Its L2 term is alpha/(2m)·‖W‖², so alpha = λ.

    Returns
    -------
    f : callable or None
        ``f(packed) -> (J, grad)``, scikit-learn's objective on its packing of
        the weights (see `to_sklearn`, which stays outside timed calls).
    note : str
        "scikit-learn <version>", or why it could not be set up.
    """
    try:
        import sklearn
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None, "scikit-learn is not installed"
    Y = np.eye(layer_sizes[-1])[y]
    clf = MLPClassifier(hidden_layer_sizes=tuple(layer_sizes[1:-1]), activation="logistic",
                        solver="lbfgs", alpha=lam, max_iter=1)
    n_layers = len(layer_sizes)
    activations = [X] + [None] * (n_layers - 1)
    deltas = [None] * (n_layers - 1)
    coef_grads = [np.empty((a, b)) for a, b in zip(layer_sizes[:-1], layer_sizes[1:])]
    intercept_grads = [np.empty(b) for b in layer_sizes[1:]]

    def f(packed):
        return clf._loss_grad_lbfgs(packed, X, Y, None, activations, deltas, coef_grads, intercept_grads)

    try:
        with warnings.catch_warnings():
            # one iteration only sets up the internals; its warning is expected
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, Y)
        f(to_sklearn(np.zeros(n_params(layer_sizes)), layer_sizes))
    except (AttributeError, TypeError, ValueError) as e:
        return None, (f"scikit-learn {sklearn.__version__}'s private MLP objective differs "
                      f"from the one this benchmark knows ({type(e).__name__}: {e})")
    if clf.out_activation_ != "logistic":
        return None, f"scikit-learn {sklearn.__version__} chose {clf.out_activation_!r} outputs, not logistic"
    return f, f"scikit-learn {sklearn.__version__}"


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
