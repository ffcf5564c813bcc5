"""The trained network: prediction, scoring, and a pickle-free file format."""

import os
import stat
import tempfile
import zipfile

import numpy as np

from . import _validation as v
from ._problem import as_rows, block_rows, check_features, read_rows, value_range
from .backprop import outputs
from .network import Network, check_choice
from .parameters import n_params, reshape, unroll
from .targets import KINDS, accuracy, decode, r2_score  # noqa: F401  (accuracy: the CLI's)

__all__ = ["Model", "load"]

# Written into every model file; a file without it is not an nnopt model.
_FORMAT = "nnopt-model"
_FORMAT_VERSION = 3
# The arrays of a model file of each version: `save` writes them, `load` needs them.
# Version 2 adds the units and the kind of target; version-1 files are the
# course's network (sigmoid units and outputs, classes) and still load.
_KEYS = ("format", "format_version", "layer_sizes", "theta", "classes", "lam", "loss", "method",
         "cost_history", "time_history", "n_iter", "n_evals", "initial_cost")
_KEYS_2 = _KEYS + ("activation", "output", "target")
# Version 3 adds the training record: "history_<name>" arrays and best_iteration.
_HISTORY = "history_"


class Model:
    """A trained network and the record of its training.

    Parameters
    ----------
    thetas : list of ndarray
        Θ^(l) of shape (s_{l+1}, s_l + 1), bias column first.
    classes : array_like, shape (K,), or None
        The label of each output unit, in sorted order (classes; the
        column numbers for multi-label targets; None for regression). An
        object array of strings or of numbers (what a pandas Series gives)
        is kept as a unicode or numeric array (`_validation.as_labels`).
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
    activation : {"sigmoid", "tanh", "relu"}
        The hidden units.
    output : {"sigmoid", "softmax", "identity"}
        The output units.
    target : {"classes", "multilabel", "regression", "multioutput"}
        What the outputs mean (`nnopt.targets`): what `predict` returns and
        `score` measures.

    Attributes
    ----------
    network : nnopt.network.Network
        What the network is: its layer sizes, units and loss, which
        ``layer_sizes``, ``activation``, ``output`` and ``loss`` read.
    history : dict of str to ndarray
        The training record, one entry per iteration, iteration 0 the
        initial θ: "cost" (the training objective J), "gradient_norm",
        "time" (seconds since the start), with a validation set
        "validation_cost", "validation_score" (accuracy or R²) and
        "validation_fails" (iterations since the validation cost last
        fell), and the method's own quantities ("mu", ...). NaN where a
        quantity is unknown (models saved before version 3 have only the
        cost and the time).
    best_iteration : int
        The iteration whose θ the model holds: the lowest validation
        cost's with a validation set, else the last.
    thetas, classes_, lam, cost_history, time_history, n_iter, n_evals,
    method, result, initial_cost, target
    """

    def __init__(self, thetas, classes, lam, loss=None, cost_history=(), time_history=(),
                 n_iter=0, n_evals=0, method=None, result=None, initial_cost=None, *,
                 activation="sigmoid", output="sigmoid", target="classes", history=None,
                 best_iteration=None):
        self.thetas = [np.asarray(t, dtype=np.float64) for t in thetas]
        self.network = Network([self.thetas[0].shape[1] - 1] + [t.shape[0] for t in self.thetas],
                               activation, output, loss)
        self.target = check_choice(target, dict.fromkeys(KINDS), "target")
        if target in ("regression", "multioutput"):
            if output != "identity":
                raise ValueError(f"a {target} model needs output='identity'; got output={output!r}")
            self.classes_ = None
        else:
            self.classes_ = v.as_labels(classes)
            if self.classes_.shape != (self.layer_sizes[-1],):
                raise ValueError(
                    f"classes has {self.classes_.size} entries but the output layer has "
                    f"{self.layer_sizes[-1]} units"
                )
        self.lam, self.method = lam, method
        self.cost_history = np.asarray(cost_history, dtype=np.float64)
        self.time_history = np.asarray(time_history, dtype=np.float64)
        self.n_iter, self.n_evals = int(n_iter), int(n_evals)
        self.result = result
        self.initial_cost = initial_cost
        if history is None:  # a model from before the record: its cost curve is all there is
            n = self.cost_history.size
            history = {"cost": np.r_[np.nan if initial_cost is None else initial_cost, self.cost_history],
                       "gradient_norm": np.full(n + 1, np.nan),
                       "time": np.r_[0.0, self.time_history] if self.time_history.size == n else np.full(n + 1, np.nan)}
        self.history = {name: np.asarray(values, dtype=np.float64) for name, values in history.items()}
        lengths = {name: values.shape for name, values in self.history.items()}
        if len(set(lengths.values())) > 1 or any(len(shape) != 1 for shape in lengths.values()):
            raise ValueError(f"history must map names to 1-D arrays of one length; got shapes {lengths}")
        self.best_iteration = self.n_iter if best_iteration is None else int(best_iteration)

    @property
    def theta(self):
        """All Θ^(l) unrolled into one vector (a copy), shape (n_params,)."""
        return unroll(self.thetas)

    # what the network is, read from the one description of it
    layer_sizes = property(lambda self: self.network.layer_sizes, doc="Units per layer, input first.")
    activation = property(lambda self: self.network.activation, doc="The hidden units.")
    output = property(lambda self: self.network.output, doc="The output units.")
    loss = property(lambda self: self.network.loss, doc="The loss it was trained with.")

    def __repr__(self):
        sizes = "-".join(map(str, self.layer_sizes))
        units = "" if (self.activation, self.output) == ("sigmoid", "sigmoid") else \
            f", activation={self.activation!r}, output={self.output!r}"
        return (f"Model({sizes}{units}, lam={self.lam}, method={self.method!r}, n_iter={self.n_iter}, "
                f"cost={self.cost_history[-1] if self.cost_history.size else None})")

    def _outputs(self, X):
        """h = a^(L) for each row of X: shape (m, K)."""
        X = check_features(as_rows(X), self.layer_sizes[0])
        value_range(X)  # NaN and inf refused, by their place in X
        rows = block_rows(self.network, np.float64)
        return np.concatenate([outputs(self.thetas, self.network, read_rows(X, slice(s, s + rows), np.float64))
                               for s in range(0, X.shape[0], rows)])

    def predict_proba(self, X):
        """The output units' activations h_Θ(x), as the network computes them.

        Parameters
        ----------
        X : array_like, shape (m, n)

        Returns
        -------
        ndarray, shape (m, K)
            a^(L), each in [0, 1]. Sigmoid units are one-vs-all (or
            multi-label) classifiers, so a row need not sum to 1; softmax
            rows do.

        Raises
        ------
        ValueError
            For a regression model (identity outputs), which has no probabilities.
        """
        if self.output == "identity":
            raise ValueError("a regression model (output='identity') gives values, not "
                             "probabilities: use predict")
        return self._outputs(X)

    def predict(self, X):
        """What the network says for each row of X, in the kind of y it learned.

        Parameters
        ----------
        X : array_like, shape (m, n)

        Returns
        -------
        ndarray, shape (m,) or (m, K)
            Classes: the label (from ``classes_``) of the most active output
            unit, shape (m,). Multi-label: 0/1 per unit (h ≥ 0.5), shape
            (m, K). Regression: the outputs, shape (m,) for a y given as
            (m,), else (m, k).
        """
        return decode(self._outputs(X), self.target, self.classes_)

    def score(self, X, y):
        """Accuracy for classes, R² for regression: how well the model predicts `y`.

        Parameters
        ----------
        X : array_like, shape (m, n)
        y : array_like, shape (m,) or (m, K)

        Returns
        -------
        float
            Classes: the fraction of rows whose prediction equals `y`.
            Multi-label: the fraction of rows whose every label is right.
            Regression: the coefficient of determination R² = 1 − Σ(y −
            ŷ)² / Σ(y − ȳ)² (averaged over the outputs), as scikit-learn
            defines it: 1 is perfect, 0 is the mean's, and it can be
            negative.

        Raises
        ------
        ValueError
            If `y` does not match X, or holds labels of another kind than
            ``classes_`` (strings against numbers), which could never equal a
            prediction. Numbers match across dtypes: 1.0 equals the class 1.
        """
        predictions = self.predict(X)  # checks X (once: the finiteness scan reads all of it)
        if self.target == "classes":
            return accuracy(predictions, y, self.classes_)
        y = np.asarray(y)
        if y.shape != predictions.shape:
            raise ValueError(f"y must have shape {predictions.shape}, one target per prediction; "
                             f"got shape {y.shape}")
        if self.target == "multilabel":
            return float(np.mean(np.all(predictions == y, axis=1)))
        return r2_score(y, predictions)

    def save(self, path):
        """Write the model to a portable ``.npz`` file, readable by `nnopt.load`.

        The file holds plain numeric and string arrays only, so loading it
        never runs code. It is written to a temporary file in the same
        folder first and renamed into place, so an interrupted save never
        leaves a half-written model where a good one was.

        A symbolic link is followed: the file it points to is replaced and
        the link stays. An existing file keeps its permission bits (and its
        owner and group, where the system allows), and a file the user may
        not write, or one marked read-only, is not replaced. Unlike writing
        into the old file, the rename gives `path` a new file: another hard
        link to the old file (another name for the same file) keeps the old
        model, as does a program that has the old file open.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write; the name is used as given. It must name a file:
            a path ending in a separator, ``.`` or ``..`` is refused, as
            ``open(path, "wb")`` refuses it.

        Raises
        ------
        TypeError
            If ``classes_`` holds Python objects other than strings or
            numbers, which cannot be saved without pickle.
        IsADirectoryError
            If `path` is a folder, or ends in a separator, ``.`` or ``..``.
        ValueError
            If `path` exists and is not a regular file (a device, a pipe).
        PermissionError
            If `path` is a file the user cannot write, or marked read-only
            (no write permission for anyone), or its folder cannot be
            written to.
        """
        if self.classes_ is not None and self.classes_.dtype == object:
            types = sorted({type(c).__name__ for c in self.classes_.tolist()})
            # an object array of strings is left so by as_labels only for trailing NULs
            why = " (numpy's strings drop trailing NUL characters)" if types == ["str"] else ""
            raise TypeError(
                f"classes_ holds Python objects ({', '.join(types)}) that no numeric or string array "
                f"holds exactly{why}, so they cannot be saved without pickle; use numbers or strings "
                "(of one kind) as labels")
        arrays = dict(
            format=np.array(_FORMAT), format_version=np.array(_FORMAT_VERSION),
            layer_sizes=np.array(self.layer_sizes), theta=self.theta,
            classes=np.zeros(0) if self.classes_ is None else self.classes_,
            activation=np.array(self.activation), output=np.array(self.output), target=np.array(self.target),
            lam=np.array(float(self.lam)), loss=np.array(self.loss), method=np.array(self.method or ""),
            cost_history=self.cost_history, time_history=self.time_history,
            n_iter=np.array(self.n_iter), n_evals=np.array(self.n_evals),
            initial_cost=np.array(np.nan if self.initial_cost is None else self.initial_cost),
            best_iteration=np.array(self.best_iteration),
            **{_HISTORY + name: values for name, values in self.history.items()},
        )
        _write_replacing(os.fspath(path), lambda f: np.savez(f, **arrays))


def _write_replacing(path, write):
    """Call write(f) on a temporary file beside `path`'s real file, then
    rename it over that file: as safe against interruption as a rename, and
    otherwise as writing `path` would be, but for the old file's other hard
    links, which keep it (see `Model.save`)."""
    # realpath drops a trailing separator and resolves "." and "..", so
    # "newdir/" would become a file named newdir; open() refuses such a path
    if os.path.basename(path) in ("", os.curdir, os.pardir):
        raise IsADirectoryError(
            f"cannot save a model to {path!r}: the path names a folder, not a file; "
            f"add the file's name, such as {os.path.join(path, 'model.npz')!r}")
    # the file a link points to (through any chain of links): renaming over
    # the link itself would replace it with a regular file
    target = os.path.realpath(path)
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    if old is not None:
        if stat.S_ISDIR(old.st_mode):
            raise IsADirectoryError(f"cannot save a model to {path!r}: it is a folder")
        if not stat.S_ISREG(old.st_mode):
            # renaming over a device or a pipe would replace it, where a write goes into it
            raise ValueError(f"cannot save a model to {path!r}: it is not a regular file")
        # A rename needs only the folder's permission, so a file's own must be
        # asked for here. os.access answers for the real user; root passes it
        # for any file, hence also the mode bits: a file no one may write was
        # made read-only on purpose, and a plain write would be refused to all
        # but root.
        if not os.access(target, os.W_OK) or not old.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            shown = path if target == os.path.abspath(path) else f"{path} (-> {target})"
            raise PermissionError(
                f"cannot save a model to {shown}: the file is not writable "
                f"(mode {stat.filemode(old.st_mode)}); make it writable or choose another path")
    folder = os.path.dirname(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".nnopt-", suffix=".npz", dir=folder)
    except PermissionError:
        raise PermissionError(f"cannot save a model to {path!r}: cannot create files in {folder!r}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # the data on disk before the rename makes it the model
        if old is None:
            # mkstemp makes the file private (0600); give it the mode any new file gets here
            os.chmod(tmp, 0o666 & ~_umask())
        else:
            new = os.stat(tmp)
            if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid):
                try:
                    os.chown(tmp, old.st_uid, old.st_gid)
                except PermissionError:
                    pass  # only root may give a file away: as with an editor's save, it is now the user's
            # after chown, which clears set-id bits
            os.chmod(tmp, stat.S_IMODE(old.st_mode))
        os.replace(tmp, target)
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
            data = {k: f[k] for k in f.files}
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise ValueError(f"{path!r} holds object arrays, which need pickle to load; "
                             "nnopt refuses them because unpickling can run code") from None
        raise
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"{path!r} is not a readable .npz model file ({e})") from None
    if "format_version" in data:
        try:
            version = int(data["format_version"])
        except (TypeError, ValueError):
            raise ValueError(f"{path!r} is a damaged nnopt model file: format_version is "
                             f"{data['format_version']!r}") from None
        # before what is missing: a newer format may name its arrays otherwise
        if version > _FORMAT_VERSION:
            raise ValueError(f"{path!r} was written by a newer nnopt (format {version}); upgrade nnopt")
    else:
        version = 1
    missing = [k for k in (_KEYS if version == 1 else _KEYS_2) if k not in data]
    if missing:
        raise ValueError(f"{path!r} is a damaged nnopt model file: it lacks {', '.join(missing)}")
    try:
        sizes = tuple(int(s) for s in data["layer_sizes"])
        theta = np.asarray(data["theta"], dtype=np.float64)
        if theta.shape != (n_params(sizes),):
            raise ValueError(f"theta has shape {theta.shape}, layer_sizes {sizes} need ({n_params(sizes)},)")
        initial = float(data["initial_cost"])
        units = {} if version == 1 else dict(
            activation=str(data["activation"]), output=str(data["output"]), target=str(data["target"]))
        if version >= 3:
            units.update(best_iteration=int(data["best_iteration"]),
                         history={k[len(_HISTORY):]: data[k] for k in data if k.startswith(_HISTORY)})
        return Model(
            reshape(theta, sizes), data["classes"], float(data["lam"]), str(data["loss"]),
            data["cost_history"], data["time_history"], int(data["n_iter"]), int(data["n_evals"]),
            str(data["method"]) or None, None, None if np.isnan(initial) else initial, **units,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path!r} is a damaged nnopt model file: {e}") from None
