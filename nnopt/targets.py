"""What y means to `train` and a `Model`: class labels, 0/1 label columns, or real values.

The cost functions take targets as class indices 0..K−1 or as an (m, K)
matrix. Users give labels of their own (0-9, the course's 1-10, strings),
0/1 rows for multi-label problems, or real values for regression. This
module turns one into the other (`encode`) and the network's outputs back
into the user's kind of y (`decode`).

Kinds of target:

============  ======================  ==========  =================================
kind          y given as              output      predict gives
============  ======================  ==========  =================================
classes       (m,) labels             sigmoid,    (m,) labels, the most active unit
                                      softmax
multilabel    (m, K) of 0/1           sigmoid     (m, K) of 0/1, each unit ≥ 0.5
regression    (m,) real values        identity    (m,) values
multioutput   (m, k) real values      identity    (m, k) values
============  ======================  ==========  =================================
"""

import numpy as np

from . import _validation as v

__all__ = ["KINDS", "encode", "encode_labels", "decode"]

KINDS = ("classes", "multilabel", "regression", "multioutput")


def encode_labels(y, m):
    """Sorted distinct labels and each example's class index.

    Parameters
    ----------
    y : array_like, shape (m,)
        Any labels that sort: ints, whole floats, strings.
    m : int
        Rows of X.

    Returns
    -------
    classes : ndarray, shape (K,)
    idx : ndarray of intp, shape (m,)
    """
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"y must be an array of labels, one per row of X; got {y!r}")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, one label per row of X; got shape {y.shape}")
    if y.shape[0] != m:
        raise ValueError(f"y has {y.shape[0]} labels but X has m = {m} rows; they must match")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ValueError("y holds NaN or inf; every example needs a label")
        fractional = y != np.round(y)
        if fractional.any():
            i = int(np.argmax(fractional))
            raise ValueError(
                f"y holds real values such as {y[i]!r} (index {i}), but the output classifies: "
                "a class per distinct value would be learned. For regression give "
                "output='identity'; for classes give whole-number or string labels")
    try:
        classes, idx = np.unique(y, return_inverse=True)
    except TypeError:
        raise TypeError("the labels in y must be mutually comparable (all numbers or all strings)") from None
    if classes.size < 2:
        raise ValueError(f"y needs at least 2 classes to learn from; got only {classes.tolist()!r}")
    return classes, idx.reshape(-1)


def encode(y, m, output):
    """The kind of target, the labels, and y as the cost functions take it.

    Parameters
    ----------
    y : array_like, shape (m,) or (m, K)
    m : int
        Rows of X.
    output : {"sigmoid", "softmax", "identity"}

    Returns
    -------
    kind : str
        One of `KINDS`.
    classes : ndarray, shape (K,), or None
        The label of each output unit (classes), the column numbers
        (multilabel), or None (regression).
    targets : ndarray
        Class indices (m,) or an (m, K) matrix, for `nnopt.cost` and `nnopt.Objective`.
    """
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"y must be an array with one entry or row per row of X; got {y!r}")
    arr = np.asarray(y)
    if output == "identity":
        if arr.dtype.kind not in "iufb":
            raise TypeError(f"y must hold real numbers for output='identity' (regression); "
                            f"got dtype {arr.dtype}")
        if arr.ndim not in (1, 2) or arr.shape[0] != m:
            raise ValueError(f"y must have shape ({m},) or ({m}, k) for regression on m = {m} rows; "
                             f"got shape {arr.shape}")
        Y = arr.astype(np.float64).reshape(m, -1)
        if not np.isfinite(Y).all():
            raise ValueError("y holds NaN or inf; every example needs a finite target")
        return ("regression" if arr.ndim == 1 else "multioutput"), None, Y
    if arr.ndim == 2 and arr.shape[1] > 1:
        if output != "sigmoid":
            raise ValueError(f"y of shape {arr.shape} is a multi-label target, which needs "
                             f"output='sigmoid' (one unit per label); output={output!r} picks one "
                             "class per example: give y as (m,) labels")
        if arr.shape[0] != m:
            raise ValueError(f"y has {arr.shape[0]} rows but X has m = {m} rows; they must match")
        if arr.dtype.kind not in "iufb" or not np.isin(arr, (0, 1)).all():
            raise ValueError("a 2-D y is a multi-label target and must hold only 0 and 1; "
                             "for regression on several outputs give output='identity'")
        return "multilabel", np.arange(arr.shape[1]), arr.astype(np.float64)
    classes, idx = encode_labels(arr, m)
    return "classes", classes, idx


def encode_as(y, m, kind, classes, output, name="y"):
    """y encoded as the training targets were (`encode`): the same kind, classes in the same units.

    Parameters
    ----------
    y : array_like, shape (m,) or (m, K)
        Targets of another set of rows (a validation set), in the user's labels.
    m : int
        Its rows.
    kind, classes, output
        What `encode` gave for the training targets, and the output units.
    name : str
        What to call y in errors.

    Returns
    -------
    ndarray
        Class indices (m,) into `classes`, or an (m, K) matrix.
    """
    if kind == "classes":
        labels = np.asarray(y)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1 or labels.shape[0] != m:
            raise ValueError(f"{name} must be 1-D with one label per row ({m}); got shape {labels.shape}")
        labels = v.check_labels_like(labels, classes, name)
        where = np.clip(np.searchsorted(classes, labels), 0, classes.size - 1)
        unknown = classes[where] != labels
        if unknown.any():
            shown = classes.tolist() if classes.size <= 10 else classes[:10].tolist() + ["..."]
            raise ValueError(f"{name} holds the label {labels[np.argmax(unknown)].item()!r}, which is not among "
                             f"the training classes {shown}")
        return where.astype(np.intp)
    got, _, targets = encode(y, m, output)
    K = targets.shape[1]
    if got != kind or (classes is not None and K != classes.size):
        raise ValueError(f"{name} must be targets of the training kind ({kind}, shape (m, {K}) or (m,)); "
                         f"got a {got} target of shape {np.shape(y)}")
    return targets


def decode(h, kind, classes):
    """The network's outputs h (m, K) as the user's kind of y: what `Model.predict` returns."""
    if kind == "classes":
        return classes[np.argmax(h, axis=1)]
    if kind == "multilabel":
        return (h >= 0.5).astype(np.int64)
    if kind == "regression":
        return h[:, 0].copy()
    return h


def r2_score(y, predictions):
    """R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², the mean over the outputs of a 2-D y.

    As scikit-learn's ``r2_score``: an output whose y is constant scores 1
    if predicted exactly, else 0.
    """
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    pred = np.asarray(predictions, dtype=np.float64).reshape(len(y), -1)
    residual = ((y - pred) ** 2).sum(axis=0)
    total = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1),
                      np.where(residual == 0, 1.0, 0.0))
    return float(r2.mean())


def accuracy(predictions, y, classes, name="y"):
    """The fraction of `predictions` equal to `y`.

    Parameters
    ----------
    predictions : ndarray, shape (m,)
        Labels predicted by a model whose classes are `classes`.
    y : array_like, shape (m,)
        The true labels.
    classes : ndarray, shape (K,)
        The model's ``classes_``.
    name : str
        What to call `y` in errors.

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ValueError
        If `y` is not 1-D with one label per prediction, or its labels are of
        another kind than `classes` (`_validation.check_labels_like`).
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != predictions.shape[0]:
        raise ValueError(f"{name} must be 1-D with one label per row of X ({predictions.shape[0]}); "
                         f"got shape {y.shape}")
    y = v.check_labels_like(y, classes, name)
    return float(np.mean(predictions == y))
