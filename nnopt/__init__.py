"""nnopt: neural networks trained by backpropagation on SciPy's optimizers.

The public API is the list below; every other name may change.
NNClassifier and NNRegressor (scikit-learn estimators) are imported on
first use, so that ``import nnopt`` never needs scikit-learn.
"""

__version__ = "0.1.0"

from . import plots  # matplotlib is imported only when a plot is drawn
from .activations import sigmoid, sigmoid_gradient
from .backprop import cost, cost_and_gradient, forward_cost, regularized_gradient
from .curvature import gauss_newton_product, hessian_vector_product
from .errors import ConvergenceWarning, DivergenceError, ScalingWarning
from .datasets import load_digit_weights, load_digits, load_mat, train_test_split
from .mnist import load_mnist
from .gradcheck import check_gradients, numerical_gradient
from .model import Model, load
from .parameters import random_init, reshape, unroll
from .objective import Objective, SampledCurvature
from .spectrum import hessian_eigenvalues
from .training import train

__all__ = [
    "unroll", "reshape", "random_init",
    "sigmoid", "sigmoid_gradient",
    "cost", "regularized_gradient", "cost_and_gradient", "forward_cost", "Objective",
    "hessian_vector_product", "gauss_newton_product", "SampledCurvature", "hessian_eigenvalues",
    "numerical_gradient", "check_gradients",
    "train", "Model", "load", "ConvergenceWarning", "DivergenceError", "ScalingWarning",
    "NNClassifier", "NNRegressor",
    "load_digits", "load_digit_weights", "load_mat", "load_mnist", "train_test_split",
    "plots",
]


def __getattr__(name):
    # the scikit-learn estimators, imported when first asked for (PEP 562)
    if name in ("NNClassifier", "NNRegressor"):
        from . import estimators
        return getattr(estimators, name)
    raise AttributeError(f"module 'nnopt' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"NNClassifier", "NNRegressor"})
