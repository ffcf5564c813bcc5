"""scikit-learn estimators over `nnopt.train`: `NNClassifier` and `NNRegressor`.

They make a network usable wherever scikit-learn takes an estimator:
``cross_val_score``, a ``Pipeline`` after a ``StandardScaler``,
``GridSearchCV`` over ``lam`` and ``hidden_layer_sizes``. Each parameter is
the `train` argument of the same name; ``fit`` calls `train` and keeps the
`nnopt.Model` it returns as ``model_``.

They follow scikit-learn's conventions for third-party estimators (1.6 and
later): ``__init__`` stores its arguments and nothing else, so `train`
checks them when ``fit`` runs; ``validate_data`` checks X and y and records
``n_features_in_`` (and ``feature_names_in_`` for a data frame with string
column names); learned attributes end in ``_``.

scikit-learn is an optional dependency (``pip install nnopt[sklearn]``):
``import nnopt`` does not import it, and importing this module without it
raises an ImportError that says how to install it.
"""

import numpy as np
from scipy import sparse

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data
except ImportError as e:  # not installed, or older than 1.6 (no validate_data)
    raise ImportError(
        "nnopt.NNClassifier and nnopt.NNRegressor need scikit-learn 1.6 or later; "
        "install it with: pip install nnopt[sklearn]"
    ) from e

from .training import train

__all__ = ["NNClassifier", "NNRegressor"]

# train's options of the "gd" and "sgd" methods; passed on only when set, since
# train refuses them for the SciPy methods
_DESCENT_OPTIONS = ("learning_rate", "momentum", "batch_size", "epochs")


class _NNEstimator(BaseEstimator):
    """What both estimators share: checking X, and calling `train`."""

    def _refuse_sparse(self, A, name):
        if sparse.issparse(A):
            raise TypeError(
                f"{type(self).__name__} does not support sparse matrices: {name} is a scipy.sparse "
                f"{A.format} matrix of shape {A.shape}. Give {name}.toarray() (a network's first "
                "layer reads every entry anyway)"
            )

    def _validate_X(self, X, reset):
        self._refuse_sparse(X, "X")
        # float32 stays float32 (train computes in it); C order lets nnopt read
        # each block of rows in place, without a copy
        return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32], order="C")

    def _validate_X_y(self, X, y, **y_checks):
        self._refuse_sparse(X, "X")
        self._refuse_sparse(y, "y")
        return validate_data(self, X, y, dtype=[np.float64, np.float32], order="C",
                             multi_output=True, **y_checks)

    def _train(self, X, y, sample_weight, output):
        """Fit a network with `train` and keep it and its record."""
        if sample_weight is not None:
            sample_weight = check_array(sample_weight, ensure_2d=False, dtype=np.float64,
                                        input_name="sample_weight")
            # train's own checks give the shape and sign errors; this one is
            # worded as scikit-learn's are, which its tools look for
            if sample_weight.ndim == 1 and not np.any(sample_weight):
                raise ValueError("sample_weight is zero for every example: at least one weight "
                                 "must be positive")
        descent = {k: getattr(self, k) for k in _DESCENT_OPTIONS if getattr(self, k) is not None}
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise TypeError(f"early_stopping must be True or False; got {self.early_stopping!r}")
        model = train(X, y, self.lam, self.hidden_layer_sizes, self.method, self.maxiter, self.seed,
                      self.loss, self.verbose, self.dtype, self.options, activation=self.activation,
                      output=output, sample_weight=sample_weight, progress=False,
                      curvature=self.curvature, curvature_fraction=self.curvature_fraction,
                      validation=self.validation_fraction if self.early_stopping else None,
                      max_fail=self.n_iter_no_change, **descent)
        self.model_ = model
        self.cost_history_ = model.cost_history
        self.loss_curve_ = model.cost_history.tolist()  # MLPClassifier's name and type
        self.n_iter_ = model.n_iter
        if self.early_stopping:  # MLPClassifier's names: a score per iteration, and the best's
            scores = model.history["validation_score"]
            self.validation_scores_ = scores[1:].tolist()
            self.best_validation_score_ = float(scores[model.best_iteration])
        else:
            self.validation_scores_ = self.best_validation_score_ = None
        return model


_PARAMETERS = """\
    hidden_layer_sizes : int or tuple of int, default=(25,)
        Units per hidden layer; the network is ``(n_features, *hidden_layer_sizes, K)``.
    lam : float, default=1.0
        Regularization strength λ ≥ 0.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        The hidden units."""

_MORE_PARAMETERS = """\
    loss : {None, "cross_entropy", "squared_error"}, default=None
        None takes the output's own loss.
    method : str, default="TNC"
        A `scipy.optimize.minimize` method that uses the gradient ("TNC",
        "CG", "L-BFGS-B", "BFGS", ...), one of MATLAB's trainers ("LM",
        "BR", "SCG", "Rprop"), or "gd" / "sgd" for gradient descent
        (`nnopt.train`).
    maxiter : int or None, default=None
        The most iterations (epochs for "sgd"); None takes the method's
        default (`nnopt.training.DEFAULT_MAXITER`; 25 for TNC).
    seed : int, numpy.random.Generator or None, default=0
        Seeds the initial weights (and the order of sgd's batches). An int
        makes every fit on the same data give the same network.
    dtype : {None, numpy.float32, numpy.float64}, default=None
        Precision of the cost and gradient arithmetic; None follows X.
    options : dict or None, default=None
        Further options for `scipy.optimize.minimize`, or the method's own
        (`nnopt.train`).
    curvature : {None, "gauss-newton", "hessian"}, default=None
        The curvature products of "Newton-CG", "trust-ncg", "trust-krylov"
        and "trust-constr"; None takes the method's default.
    curvature_fraction : float, default=1.0
        For those methods: the share of the examples, in (0, 1], that each
        curvature product reads, drawn anew at each iteration.
    learning_rate, momentum, batch_size, epochs : default=None
        Options of the "gd" and "sgd" methods (see `nnopt.descent`), passed
        to `train` when not None.
    early_stopping : bool, default=False
        Hold out `validation_fraction` of the training rows (stratified for
        classes) and stop when their cost has not fallen for
        `n_iter_no_change` iterations, keeping the best iteration's
        network: `train`'s ``validation`` and ``max_fail``, under
        MLPClassifier's names and defaults. Works with every method.
    validation_fraction : float, default=0.1
        The share of the training rows held out, with early_stopping.
    n_iter_no_change : int, default=10
        Iterations without a lower validation cost that stop the fit
        (MATLAB's max_fail, whose default is 6).
    verbose : bool, default=False
        Print each iteration's cost while fitting."""

_ATTRIBUTES = """\
    model_ : nnopt.Model
        The trained network, as `nnopt.train` returns it.
    cost_history_ : ndarray, shape (``n_iter_``,)
        J after each iteration.
    loss_curve_ : list of float, length ``n_iter_``
        The same values as a list, under `sklearn.neural_network`'s name,
        for every method.
    validation_scores_ : list of float or None
        With early_stopping, the score (accuracy or R²) of the held-out
        rows after each iteration; else None.
    best_validation_score_ : float or None
        With early_stopping, the score of the iteration whose network was
        kept (the lowest validation cost); else None.
    n_iter_ : int
        Iterations done.
    n_features_in_ : int
        Columns of X seen in fit.
    feature_names_in_ : ndarray of str, shape (``n_features_in_``,)
        X's column names, when fit was given a data frame with string names."""


class NNClassifier(ClassifierMixin, _NNEstimator):
    __doc__ = f"""A neural network classifier trained by `nnopt.train`.

    Parameters
    ----------
{_PARAMETERS}
    output : {{"auto", "sigmoid", "softmax"}}, default="auto"
        The output units: softmax (one class per example), sigmoid (the
        course's one-vs-all units; also multi-label y), or "auto", as
        scikit-learn's MLPClassifier chooses: softmax for labels, sigmoid
        for a multi-label 0/1 y. (`nnopt.train`'s default stays the
        course's sigmoid: here predict_proba is a probability over the
        classes, which softmax gives as it is. On the digits after a
        StandardScaler, the default averages 0.904 in 5-fold
        cross-validation, sigmoid outputs 0.891.)
{_MORE_PARAMETERS}

    Attributes
    ----------
    classes_ : ndarray, shape (K,)
        The class labels, sorted; for a multi-label y of K columns, 0..K-1.
{_ATTRIBUTES}

    Notes
    -----
    y is either labels of any sortable kind, shape (m,), or a multi-label
    0/1 matrix, shape (m, K), which needs ``output="sigmoid"`` (or
    "auto"). A problem of two classes gets two output units.
    """

    def __init__(self, hidden_layer_sizes=(25,), lam=1.0, *, activation="sigmoid", output="auto",
                 loss=None, method="TNC", maxiter=None, seed=0, dtype=None, options=None,
                 curvature=None, curvature_fraction=1.0, learning_rate=None, momentum=None,
                 batch_size=None, epochs=None, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.lam = lam
        self.activation = activation
        self.output = output
        self.loss = loss
        self.method = method
        self.maxiter = maxiter
        self.seed = seed
        self.dtype = dtype
        self.options = options
        self.curvature = curvature
        self.curvature_fraction = curvature_fraction
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # an (m, K) 0/1 y: one sigmoid unit per label (softmax units compete for one class)
        tags.classifier_tags.multi_label = self.output in ("auto", "sigmoid")
        return tags

    def fit(self, X, y, sample_weight=None):
        """Train the network on X and y.

        Parameters
        ----------
        X : array_like, shape (m, n)
            Features scaled to a small range (a `StandardScaler` before it
            in a pipeline does that).
        y : array_like, shape (m,) or (m, K)
            Class labels, or a 0/1 matrix of K labels per example.
        sample_weight : array_like, shape (m,), optional
            Weights w_i ≥ 0 of the examples in the cost.

        Returns
        -------
        self : NNClassifier
        """
        if self.output not in ("auto", "sigmoid", "softmax"):
            raise ValueError(f"output must be 'auto', 'sigmoid' or 'softmax' for a classifier; got "
                             f"{self.output!r} (for regression use nnopt.NNRegressor)")
        X, y = self._validate_X_y(X, y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # one column is one label per example
        check_classification_targets(y)
        if type_of_target(y, input_name="y") == "multiclass-multioutput":
            raise ValueError("y of shape (m, K) must be a multi-label matrix of 0 and 1; several "
                             "columns of classes each (multiclass-multioutput) are not supported")
        if y.ndim == 1:
            classes = np.unique(y)  # the order of train's output units
            if classes.size < 2:
                raise ValueError(f"{type(self).__name__} needs examples of at least 2 classes; "
                                 f"y holds one class only: {classes.tolist()[0]!r}")
        else:
            classes = np.arange(y.shape[1])
        output = self.output
        if output == "auto":  # as MLPClassifier: softmax for labels, sigmoid per label otherwise
            output = "sigmoid" if y.ndim == 2 else "softmax"
        self._train(X, y, sample_weight, output)
        self.classes_ = classes
        return self

    def predict_proba(self, X):
        """The probability of each class for each example.

        Parameters
        ----------
        X : array_like, shape (m, n)

        Returns
        -------
        ndarray, shape (m, K)
            Softmax outputs as they are. The course's sigmoid units are K
            one-vs-all classifiers whose outputs need not sum to 1; each row
            is divided by its sum, as `sklearn.multiclass.OneVsRestClassifier`
            does, so that it does. For a multi-label y the units are
            independent, and each is the probability of its label as it is.
            ``model_.predict_proba`` gives the raw output units.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        h = self.model_.predict_proba(X)
        if self.model_.output == "sigmoid" and self.model_.target == "classes":
            total = h.sum(axis=1, keepdims=True)
            # every unit can underflow to 0 far from all the training data: no class is favored
            h = np.divide(h, total, out=np.full_like(h, 1.0 / h.shape[1]), where=total > 0)
        return h

    def predict(self, X):
        """The most probable class of each example (each label ≥ 0.5, for multi-label y).

        Parameters
        ----------
        X : array_like, shape (m, n)

        Returns
        -------
        ndarray, shape (m,) or (m, K)
            Labels from ``classes_``, the class of the largest
            `predict_proba`; for a multi-label y, a 0/1 matrix.
        """
        proba = self.predict_proba(X)
        if self.model_.target == "multilabel":
            return (proba >= 0.5).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]


class NNRegressor(RegressorMixin, _NNEstimator):
    __doc__ = f"""A neural network regressor trained by `nnopt.train`.

    The output units are linear (``output="identity"`` in `train`), with the
    squared-error loss; there is no ``output`` parameter, since that is the
    only output that predicts unbounded values.

    Parameters
    ----------
{_PARAMETERS}
{_MORE_PARAMETERS}

    Attributes
    ----------
{_ATTRIBUTES}

    Notes
    -----
    ``score`` is R² (`sklearn.metrics.r2_score`). Scale y as well as X
    (e.g. with `sklearn.compose.TransformedTargetRegressor`) when its values
    are large: λ's penalty and the optimizer's tolerances are in y's units.
    """

    def __init__(self, hidden_layer_sizes=(25,), lam=1.0, *, activation="sigmoid", loss=None,
                 method="TNC", maxiter=None, seed=0, dtype=None, options=None, curvature=None,
                 curvature_fraction=1.0, learning_rate=None, momentum=None, batch_size=None,
                 epochs=None, early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.lam = lam
        self.activation = activation
        self.loss = loss
        self.method = method
        self.maxiter = maxiter
        self.seed = seed
        self.dtype = dtype
        self.options = options
        self.curvature = curvature
        self.curvature_fraction = curvature_fraction
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y of shape (m, k): k output units
        return tags

    def fit(self, X, y, sample_weight=None):
        """Train the network on X and y.

        Parameters
        ----------
        X : array_like, shape (m, n)
            Features scaled to a small range.
        y : array_like, shape (m,) or (m, k)
            Real targets, one or k per example.
        sample_weight : array_like, shape (m,), optional
            Weights w_i ≥ 0 of the examples in the cost.

        Returns
        -------
        self : NNRegressor
        """
        X, y = self._validate_X_y(X, y, y_numeric=True)
        self._train(X, y, sample_weight, "identity")
        return self

    def predict(self, X):
        """The predicted values.

        Parameters
        ----------
        X : array_like, shape (m, n)

        Returns
        -------
        ndarray, shape (m,) or (m, k)
            The shape y had in fit: (m,) for a 1-D y.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self.model_.predict(X)
