"""Gradient checking: backpropagation against central differences."""

import numbers
from dataclasses import dataclass

import numpy as np

from . import _validation as v
from .network import Network
from .backprop import cost_and_gradient, forward_cost
from .parameters import _as_generator, _check_layer_sizes, layer_shapes, random_init, unroll

__all__ = ["numerical_gradient", "check_gradients", "GradientCheck", "debug_matrix"]


def numerical_gradient(f, theta, eps=1e-4):
    """Central-difference approximation of the gradient of a scalar function.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``.
    theta : ndarray, shape (p,)
        Where to differentiate.
    eps : float
        Step ε > 0.

    Returns
    -------
    ndarray of float64, shape (p,)
        (f(θ + ε e_i) − f(θ − ε e_i)) / (2ε) for each coordinate i.

    Notes
    -----
    The error is O(ε²) from truncation plus O(u/ε) from rounding (u the
    machine epsilon), which is why ε ≈ 1e-4 suits float64. It costs 2p
    evaluations of f: use it on small networks only.
    """
    if not isinstance(eps, numbers.Real) or not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a positive finite number; got {eps!r}")
    theta = np.array(theta, dtype=np.float64)
    if theta.ndim != 1:
        raise ValueError(f"theta must be 1-D; got shape {theta.shape}")
    grad = np.empty_like(theta)
    for i in range(theta.size):
        old = theta[i]
        theta[i] = old + eps
        f_plus = f(theta)
        theta[i] = old - eps
        f_minus = f(theta)
        theta[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def debug_matrix(rows, cols):
    """The course's deterministic test matrix: sin(1), sin(2), ... in column-major order, / 10.

    Returns
    -------
    ndarray, shape (rows, cols)
    """
    return np.sin(np.arange(1, rows * cols + 1)).reshape((rows, cols), order="F") / 10


def course_problem(layer_sizes=(3, 5, 3), m=5):
    """The course's gradient-check network: θ, X and class indices.

    Every Θ^(l) and X come from `debug_matrix`; the labels are
    1 + (i mod K) for i = 1..m in the course's 1-based labels, that is the
    0-based class i mod K: classes 1, 2, 0, 1, 2 for m = 5, K = 3.

    Returns
    -------
    theta : ndarray, shape (n_params,)
    X : ndarray, shape (m, layer_sizes[0])
    y : ndarray of int, shape (m,)
    """
    sizes = _check_layer_sizes(layer_sizes)
    theta = unroll([debug_matrix(*shape) for shape in layer_shapes(sizes)])
    X = debug_matrix(m, sizes[0])
    y = np.arange(1, m + 1) % sizes[-1]
    return theta, X, y


@dataclass
class GradientCheck:
    """Result of `check_gradients`.

    Attributes
    ----------
    analytic : ndarray, shape (p,)
        Backpropagation's gradient.
    numerical : ndarray, shape (p,)
        Central differences.
    relative_difference : float
        ‖num − grad‖ / ‖num + grad‖; below 1e-9 when backpropagation is right.
    """

    analytic: np.ndarray
    numerical: np.ndarray
    relative_difference: float

    def table(self):
        """The two gradients side by side, then the relative difference."""
        lines = [f"{'numerical':>16}  {'analytic':>16}"]
        lines += [f"{n:16.10f}  {a:16.10f}" for n, a in zip(self.numerical, self.analytic)]
        lines.append("The columns should agree; the relative difference "
                     f"‖num − grad‖ / ‖num + grad‖ is {self.relative_difference:.3e}.")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def check_gradients(lam=0.0, layer_sizes=(3, 5, 3), m=5, loss=None, seed=None,
                    one_hot=False, eps=1e-4, verbose=False, *, activation="sigmoid",
                    output="sigmoid", sample_weight=None):
    """Compare backpropagation with central differences on a small network.

    Parameters
    ----------
    lam : float
        Regularization strength λ ≥ 0.
    layer_sizes : sequence of int
        A small network, input first; any depth.
    m : int
        Number of examples.
    loss : {None, "cross_entropy", "squared_error"}
        None takes the output's own.
    seed : None, int or numpy.random.Generator
        None uses the course's deterministic sin-based weights and data
        (`course_problem`); otherwise θ comes from `random_init` and X from
        a standard normal, both drawn from this seed.
    one_hot : bool
        Give y as an (m, K) one-hot matrix instead of class indices.
    eps : float
        Finite-difference step.
    verbose : bool
        Print the table of `GradientCheck.table`.
    activation : {"sigmoid", "tanh", "relu"}
    output : {"sigmoid", "softmax", "identity"}
        For an identity output (regression) the targets are real: the
        course's y mapped to y / K, or a standard normal with a `seed`.
    sample_weight : ndarray, shape (m,), optional

    Returns
    -------
    GradientCheck
    """
    net = Network(layer_sizes, activation, output, loss)
    sizes, output, loss = net.layer_sizes, net.output, net.loss
    lam = v.check_lam(lam)
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
        raise ValueError(f"m must be a whole number >= 1; got {m!r}")
    if seed is None:
        theta, X, y = course_problem(sizes, m)
    else:
        rng = _as_generator(seed)
        theta = random_init(sizes, seed=rng)
        X = rng.standard_normal((m, sizes[0]))
        y = rng.integers(0, sizes[-1], size=m)
    if one_hot:
        y = np.eye(sizes[-1])[y]
    if output == "identity":  # real targets, one column per output unit
        y = (np.eye(sizes[-1])[y] if not one_hot else y) * (1.0 + np.arange(sizes[-1])) / sizes[-1]
    kw = dict(activation=activation, output=output, sample_weight=sample_weight)
    _, grad = cost_and_gradient(theta, X, y, lam, sizes, loss, **kw)
    # J alone at each of the 2·n_params points: no gradient alongside
    num = numerical_gradient(lambda t: forward_cost(t, X, y, lam, sizes, loss, **kw), theta, eps)
    denom = np.linalg.norm(num + grad)
    rel = float(np.linalg.norm(num - grad) / denom) if denom > 0 else float(np.linalg.norm(num - grad))
    result = GradientCheck(analytic=grad, numerical=num, relative_difference=rel)
    if verbose:
        print(result.table())
    return result
