"""The trained network: prediction, scoring, and a pickle-free file format."""

import os
import tempfile
import zipfile

import numpy as np

from . import _validation as v
from .backprop import output as _output
from .parameters import n_params, reshape, unroll

__all__ = ["Model", "load"]

# Written into every model file; a file without it is not an nnopt model.
_FORMAT = "nnopt-model"
_FORMAT_VERSION = 1


class Model:
    """A trained sigmoid network and the record of its training.

    Parameters
    ----------
    thetas : list of ndarray
        Θ^(l) of shape (s_{l+1}, s_l + 1), bias column first.
    classes : ndarray, shape (K,)
        The label of each output unit, in sorted order.
    lam : float
        The λ it was trained with.
    loss : str
        The loss it was trained with.
    cost_history : ndarray, shape (n_iter,), optional
        J after each optimizer iteration (each epoch for "sgd").
    time_history : ndarray, shape (n_iter,), optional
        Seconds since training started at each entry of `cost_history`.
    n_iter, n_evals : int
        Iterations done and cost evaluations made.
    method : str
        The optimizer.
    result : scipy.optimize.OptimizeResult or None
        SciPy's result (None for models loaded from a file).
    initial_cost : float or None
        J at the initial parameters, before the first iteration.

    Attributes
    ----------
    thetas, classes_, layer_sizes, lam, loss, cost_history, time_history,
    n_iter, n_evals, method, result, initial_cost
    """

    def __init__(self, thetas, classes, lam, loss="cross_entropy", cost_history=(), time_history=(),
                 n_iter=0, n_evals=0, method=None, result=None, initial_cost=None):
        self.thetas = [np.asarray(t, dtype=np.float64) for t in thetas]
        self.layer_sizes = tuple([self.thetas[0].shape[1] - 1] + [t.shape[0] for t in self.thetas])
        self.classes_ = np.asarray(classes)
        if self.classes_.shape != (self.layer_sizes[-1],):
            raise ValueError(
                f"classes has {self.classes_.size} entries but the output layer has "
                f"{self.layer_sizes[-1]} units"
            )
        self.lam, self.loss, self.method = lam, loss, method
        self.cost_history = np.asarray(cost_history, dtype=np.float64)
        self.time_history = np.asarray(time_history, dtype=np.float64)
        self.n_iter, self.n_evals = int(n_iter), int(n_evals)
        self.result = result
        self.initial_cost = initial_cost

    @property
    def theta(self):
        """All Θ^(l) unrolled into one vector (a copy), shape (n_params,)."""
        return unroll(self.thetas)

    def __repr__(self):
        sizes = "-".join(map(str, self.layer_sizes))
        return (f"Model({sizes}, lam={self.lam}, method={self.method!r}, n_iter={self.n_iter}, "
                f"cost={self.cost_history[-1] if self.cost_history.size else None})")

    def predict_proba(self, X):
        """Output activations h_Θ(x).

        Parameters
        ----------
        X : array_like, shape (m, n)

        Returns
        -------
        ndarray, shape (m, K)
            a^(L) = g(z^(L)), each in [0, 1]. The K sigmoid units are
            one-vs-all classifiers, so a row need not sum to 1.
        """
        X = v.check_X(X, self.layer_sizes[0])
        return _output(self.thetas, X.astype(np.float64, copy=False))

    def predict(self, X):
        """Predicted labels: the class of the most active output unit.

        Parameters
        ----------
        X : array_like, shape (m, n)

        Returns
        -------
        ndarray, shape (m,)
            Labels in the values `y` had in training (``classes_``).
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def score(self, X, y):
        """Accuracy: the fraction of rows whose prediction equals `y`.

        Parameters
        ----------
        X : array_like, shape (m, n)
        y : array_like, shape (m,)

        Returns
        -------
        float in [0, 1]
        """
        predictions = self.predict(X)  # checks X (once: the finiteness scan reads all of it)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != predictions.shape[0]:
            raise ValueError(f"y must be 1-D with one label per row of X ({predictions.shape[0]}); "
                             f"got shape {y.shape}")
        return float(np.mean(predictions == y))

    def save(self, path):
        """Write the model to a portable ``.npz`` file, readable by `nnopt.load`.

        The file holds plain numeric and string arrays only, so loading it
        never runs code. It is written to a temporary file first and moved
        into place, so an interrupted save never leaves a half-written model
        where a good one was.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write; the name is used as given.
        """
        if self.classes_.dtype == object:
            raise TypeError("classes_ holds Python objects, which cannot be saved without pickle; "
                            "use numbers or strings as labels")
        path = os.fspath(path)
        arrays = dict(
            format=np.array(_FORMAT), format_version=np.array(_FORMAT_VERSION),
            layer_sizes=np.array(self.layer_sizes), theta=self.theta, classes=self.classes_,
            lam=np.array(float(self.lam)), loss=np.array(self.loss), method=np.array(self.method or ""),
            cost_history=self.cost_history, time_history=self.time_history,
            n_iter=np.array(self.n_iter), n_evals=np.array(self.n_evals),
            initial_cost=np.array(np.nan if self.initial_cost is None else self.initial_cost),
        )
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".nnopt-", suffix=".npz", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            # mkstemp makes the file private (0600); give it the mode any new file gets here
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise


def _umask():
    """The process's umask (os.umask can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def load(path):
    """Read a model written by `Model.save`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Model
        With ``result`` None; everything else as saved.

    Raises
    ------
    ValueError
        If the file is not an nnopt model, or it holds object arrays (which
        would need pickle: such files are refused, never unpickled).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model file at {path!r}")
    if not zipfile.is_zipfile(path):
        # np.load would take any other file for a pickle and refuse it as one
        raise ValueError(f"{path!r} is not a readable .npz model file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "format" not in f.files or str(f["format"]) != _FORMAT:
                raise ValueError(f"{path!r} is not an nnopt model file (it has arrays {sorted(f.files)})")
            version = int(f["format_version"])
            if version > _FORMAT_VERSION:
                raise ValueError(f"{path!r} was written by a newer nnopt (format {version}); upgrade nnopt")
            data = {k: f[k] for k in f.files}
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise ValueError(f"{path!r} holds object arrays, which need pickle to load; "
                             "nnopt refuses them because unpickling can run code") from None
        raise
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"{path!r} is not a readable .npz model file ({e})") from None
    try:
        sizes = tuple(int(s) for s in data["layer_sizes"])
        theta = np.asarray(data["theta"], dtype=np.float64)
        if theta.shape != (n_params(sizes),):
            raise ValueError(f"theta has shape {theta.shape}, layer_sizes {sizes} need ({n_params(sizes)},)")
        initial = float(data["initial_cost"])
        return Model(
            reshape(theta, sizes), data["classes"], float(data["lam"]), str(data["loss"]),
            data["cost_history"], data["time_history"], int(data["n_iter"]), int(data["n_evals"]),
            str(data["method"]) or None, None, None if np.isnan(initial) else initial,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path!r} is a damaged nnopt model file: {e}") from None
