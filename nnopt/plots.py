"""Pictures: cost curves, digit grids, hidden units, the confusion matrix, λ curves,
and MATLAB's pictures of one trained network (regression, ROC, error
histogram, performance, training state).

Every plotting function draws into the Axes (``ax``) or Figure (``fig``) it
is given and returns the artists it drew, except the pictures of one trained
network, which draw several kinds of artist and return their Axes (an array
of Axes for several panels). Given none, it makes a new figure with
`matplotlib.pyplot`, so that the picture shows in Jupyter or on
``plt.show()`` like any pyplot figure; close it with ``plt.close(fig)``
when drawing many. Nothing here calls ``plt.show()`` or changes rcParams.

matplotlib is imported inside the functions, and pyplot only when a new
figure is needed, so ``import nnopt`` stays light.
"""

import math
import numbers
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .backprop import cost
from .datasets import train_test_split
from .parameters import _as_generator
from .training import train

__all__ = ["plot_cost_curve", "display_digits", "display_hidden_units",
           "plot_confusion_matrix", "validation_curve", "ValidationCurve",
           "plot_validation_curve", "plot_spectrum", "plot_regression", "plot_roc",
           "plot_error_histogram", "plot_performance", "plot_training_state"]

# Title colour of a misclassified example in `display_digits`.
MISTAKE_COLOR = "red"


def _check_legend(labels, n, what):
    """A ValueError unless `labels` is a sequence of n names, one per `what`."""
    if isinstance(labels, str) or not hasattr(labels, "__len__") or len(labels) != n:
        raise ValueError(f"labels must be a sequence of one label per {what} ({n}); got {labels!r}")


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _new_axes(figsize):
    return _pyplot().subplots(figsize=figsize)[1]


# --- cost curves ------------------------------------------------------------

def _curve(item, i):
    """(default label, costs, times or None, initial cost or None, is_sgd) of one curve."""
    if hasattr(item, "cost_history"):
        costs = np.asarray(item.cost_history, dtype=np.float64)
        times = np.asarray(getattr(item, "time_history", ()), dtype=np.float64)
        initial = getattr(item, "initial_cost", None)
        method = getattr(item, "method", None)
        label = str(method) if method else f"model {i + 1}"
        is_sgd = str(method).lower() == "sgd"
    else:
        try:
            costs = np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"curve {i + 1}: expected a Model or a 1-D array of costs; "
                            f"got {type(item).__name__}") from None
        times, initial, label, is_sgd = None, None, f"curve {i + 1}", False
    if costs.ndim != 1 or costs.size == 0:
        raise ValueError(f"curve {i + 1} ({label}): the cost history must be a non-empty 1-D array; "
                         f"got shape {costs.shape}")
    return label, costs, times, initial, is_sgd


def plot_cost_curve(*models_or_histories, labels=None, ax=None, x="iteration", logy=False):
    """Draw the cost J(Θ) against iteration or wall time, one line per run.

    Parameters
    ----------
    *models_or_histories : Model or array_like of shape (n_iter,)
        Trained models (their ``cost_history``) or plain cost histories,
        entry k being J after iteration k + 1. All go on one axes, to
        compare optimizers or values of λ.
    labels : sequence of str, optional
        One legend entry per curve. By default a model's ``method`` (with
        its λ when the models' λ differ) and "curve i" for plain arrays.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new pyplot figure when None.
    x : {"iteration", "time"}
        The horizontal axis: iteration number (epochs for "sgd") or seconds
        since training started (``time_history``, recorded by `nnopt.train`;
        plain arrays have no times and raise ValueError).
    logy : bool
        Logarithmic cost axis, which shows the slow late decrease.

    Returns
    -------
    list of matplotlib.lines.Line2D
        One line per curve, in the order given.

    Notes
    -----
    A model that knows its ``initial_cost`` (J at the random initial
    weights) gets it as a first point at iteration 0 (time 0), so runs
    started from the same seed visibly start at the same cost.
    """
    if not models_or_histories:
        raise TypeError("plot_cost_curve needs at least one Model or cost history")
    if x not in ("iteration", "time"):
        raise ValueError(f'x must be "iteration" or "time"; got {x!r}')
    curves = [_curve(item, i) for i, item in enumerate(models_or_histories)]
    if labels is None:
        labels = [c[0] for c in curves]
        lams = [getattr(item, "lam", None) for item in models_or_histories]
        if len({lam for lam in lams if lam is not None}) > 1:  # runs that differ in λ
            labels = [f"{label}, λ={lam:g}" if lam is not None else label
                      for label, lam in zip(labels, lams)]
    else:
        _check_legend(labels, len(curves), "curve")
    if ax is None:
        ax = _new_axes((6, 4))

    lines = []
    for (name, costs, times, initial, _), label in zip(curves, labels):
        if x == "time":
            if times is None or times.shape != costs.shape:
                raise ValueError(f'{name}: x="time" needs the wall time of each iteration, which '
                                 "nnopt.train records in Model.time_history; pass the Model "
                                 'rather than its cost history, or use x="iteration"')
            xs = times
        else:
            xs = np.arange(1, costs.size + 1)
        if initial is not None:
            xs, costs = np.concatenate([[0], xs]), np.concatenate([[initial], costs])
        lines += ax.plot(xs, costs, label=str(label))
    any_sgd = any(c[4] for c in curves)
    ax.set_xlabel("time (s)" if x == "time" else
                  "iteration (epoch for sgd)" if any_sgd else "iteration")
    ax.set_ylabel("cost J(Θ)")
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return lines


# --- image grids ------------------------------------------------------------

# Geometry of an image grid, in inches: the side of one image in a figure
# made here (digits, hidden units), the gap between images as a fraction of
# that side, and the colour bar's gap, width and room for its tick labels.
_DIGIT_SIDE, _UNIT_SIDE = 0.8, 1.0
_GAP = 0.06
_BAR_PAD, _BAR_WIDTH, _BAR_LABELS = 0.12, 0.14, 0.6
_TITLE_SIZE = "small"
_TITLE_PAD = 1.5  # points between an image and its title


def _side(n_features, what):
    """The side s of an s×s image of n_features pixels, or a ValueError."""
    s = math.isqrt(n_features)
    if s * s != n_features:
        raise ValueError(f"{what} has {n_features} values per image, which is not a square number, "
                         "so it cannot be drawn as a square image (400 = 20×20 and 784 = 28×28 can)")
    return s


def _check_order(order):
    if order not in ("C", "F"):
        raise ValueError(f'order must be "C" (rows of pixels, as load_digits) or "F" (columns of '
                         f'pixels, as the course\'s ex4data1.mat); got {order!r}')


def _check_count(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1; got {value!r}")
    return int(value)


def _title_height(titles):
    """Inches that a row of titles takes above its images; 0 without titles."""
    if titles is None:
        return 0.0
    from matplotlib.font_manager import FontProperties

    points = FontProperties(size=_TITLE_SIZE).get_size_in_points()
    # 1.3 line heights hold the ascent of digits and the descent of "(p)"
    return (1.3 * points + _TITLE_PAD) / 72


def _grid_geometry(width, height, nrows, ncols, title_h, bar_w):
    """Where an nrows × ncols grid of square images goes in a width × height (inches) figure.

    The images are as large as fit with gaps of _GAP of their side, so no
    cell is wider or taller than its image; the grid is centred across and
    starts at the top, leaving any spare height below it, which a tight
    bounding box (``savefig(bbox_inches="tight")``, Jupyter's inline
    figures) crops away. Returns the GridSpec keywords.
    """
    side = min((width - bar_w) / (ncols + (ncols - 1) * _GAP),
               (height - nrows * title_h) / (nrows + (nrows - 1) * _GAP))
    if side <= 0:
        raise ValueError(f"fig is {width:.2g} × {height:.2g} inches, too small for a {nrows} × {ncols} "
                         "grid of images with titles; pass a larger figure or fig=None")
    block_w = side * (ncols + (ncols - 1) * _GAP)
    block_h = nrows * (side + title_h) + (nrows - 1) * _GAP * side
    left = (width - block_w - bar_w) / 2
    return dict(left=left / width, right=(left + block_w) / width,
                top=(height - title_h) / height, bottom=(height - block_h) / height,
                wspace=_GAP, hspace=(_GAP * side + title_h) / side)


def _layout_engine(fig):
    """The layout engine of the figure `fig` belongs to: "constrained", "tight" or None."""
    root = fig.figure  # a SubFigure's Figure; a Figure's is itself
    if hasattr(root, "get_layout_engine"):  # matplotlib >= 3.6
        name = type(root.get_layout_engine()).__name__
        return "constrained" if name.startswith("Constrained") else "tight" if name.startswith("Tight") else None
    return "constrained" if root.get_constrained_layout() else "tight" if root.get_tight_layout() else None


def _check_empty(fig):
    """The layout engine of `fig` (`_layout_engine`), or a ValueError if fig holds Axes already."""
    if fig.axes:
        raise ValueError(f"fig already holds {len(fig.axes)} Axes; pass an empty Figure or SubFigure "
                         "(plt.figure(), or fig.subfigures() to place these plots beside others)")
    return _layout_engine(fig)


def _image_grid(images, fig, ncols, cmap, side, titles=None, colors=None, norm=None, bar_label=None,
                extend="neither"):
    """Draw images (count, s, s) one per Axes in a compact grid; returns the AxesImages.

    With a `norm` every image shares that colour scale, and a `bar_label`
    adds a colour bar for it, with pointed ends as `extend` says; without,
    each image is scaled on its own.
    """
    count = images.shape[0]
    ncols = min(count, _check_count(ncols, "ncols") if ncols is not None else math.ceil(math.sqrt(count)))
    nrows = math.ceil(count / ncols)
    title_h = _title_height(titles)
    bar_w = _BAR_PAD + _BAR_WIDTH + _BAR_LABELS if bar_label is not None else 0.0
    if fig is None:
        fig = _pyplot().figure(figsize=(side * (ncols + (ncols - 1) * _GAP) + bar_w,
                                        nrows * (side + title_h) + (nrows - 1) * _GAP * side))
        if _layout_engine(fig):
            fig.set_layout_engine("none")  # rcParams asked for one; this grid places itself
    elif _check_empty(fig) == "tight":
        # tight layout refuses a grid with its own spacing, and would spread the images apart
        raise ValueError('fig uses tight layout, which cannot lay out a compact grid of images; pass a '
                         'figure without a layout engine (the grid places itself) or with layout="constrained"')
    # A SubFigure's bbox is in its parent's pixels, so divide by the parent's dpi.
    width, height = fig.bbox.width / fig.figure.dpi, fig.bbox.height / fig.figure.dpi
    grid = _grid_geometry(width, height, nrows, ncols, title_h, bar_w)
    axes = fig.subplots(nrows, ncols, squeeze=False, gridspec_kw=grid)
    drawn = []
    for i, ax in enumerate(axes.flat):
        if i >= count:
            fig.delaxes(ax)  # the last row's empty cells
            continue
        drawn.append(ax.imshow(images[i], cmap=cmap, norm=norm, interpolation="nearest"))
        ax.set_xticks([])
        ax.set_yticks([])
        if norm is None:
            ax.set_axis_off()  # a digit's black background is its own frame
        else:
            # a thin frame: the zero weights at the edges are the colour of the page
            for spine in ax.spines.values():
                spine.set(color="0.6", linewidth=0.5)
        if titles is not None:
            title = ax.set_title(titles[i], fontsize=_TITLE_SIZE, pad=_TITLE_PAD)
            if colors[i] is not None:
                title.set_color(colors[i])
    if bar_label is not None:
        if _layout_engine(fig) == "constrained":
            # the engine moves the images, so it must place the colour bar too
            bar = fig.colorbar(drawn[0], ax=[image.axes for image in drawn], extend=extend)
        else:
            x = grid["right"] + _BAR_PAD / width
            cax = fig.add_axes([x, grid["bottom"], _BAR_WIDTH / width, grid["top"] - grid["bottom"]])
            bar = fig.colorbar(drawn[0], cax=cax, extend=extend)
        bar.set_label(bar_label, fontsize=_TITLE_SIZE)
        bar.ax.tick_params(labelsize=_TITLE_SIZE)
    return drawn


def _check_labels(values, m, name):
    if values is None:
        return None
    values = np.asarray(values)
    if values.shape != (m,):
        raise ValueError(f"{name} must be 1-D with one entry per row of X ({m}); got shape {values.shape}")
    return values


def display_digits(X, labels=None, predictions=None, n=25, ncols=None, order="C", fig=None, cmap="gray"):
    """Draw examples as square images in a grid, as the course's displayData.

    Parameters
    ----------
    X : array_like, shape (m, s*s)
        One unrolled s×s image per row; any s (8, 20, 28, ...).
    labels : array_like, shape (m,), optional
        The true labels, shown as titles.
    predictions : array_like, shape (m,), optional
        Predicted labels. With `labels` the title reads "7 (pred 1)", in
        red when the two differ.
    n : int
        Draw the first ``min(n, m)`` rows; select rows beforehand (for
        example ``X[y != p]``) to show others.
    ncols : int, optional
        Images per row; by default about √n.
    order : {"C", "F"}
        How each row was unrolled: "C" row by row (`nnopt.load_digits`), "F"
        column by column (the course's ex4data1.mat, whose digits "C" would
        show transposed).
    fig : matplotlib.figure.Figure or SubFigure, optional
        An empty figure to fill; a new pyplot figure when None, sized so
        that each image is 0.8 inch wide with nothing around it.
    cmap : str or Colormap
        Grey levels; each image is scaled from its own minimum to maximum.

    Returns
    -------
    list of matplotlib.image.AxesImage
        One per example drawn, each in its own Axes (``image.axes``, whose
        title holds the label).

    Notes
    -----
    The grid is compact: images 6% of their side apart, small titles just
    above them, as large as `fig` allows. A given figure of another shape
    than the grid keeps its spare room to the sides or below the grid. In
    a figure with constrained layout the engine places the images instead;
    tight layout cannot keep a grid compact and raises ValueError.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[np.newaxis]
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be 2-D with one unrolled image per row, shape (m, s*s); "
                         f"got shape {X.shape}")
    _check_order(order)
    s = _side(X.shape[1], "X")
    m = X.shape[0]
    labels = _check_labels(labels, m, "labels")
    predictions = _check_labels(predictions, m, "predictions")
    count = min(_check_count(n, "n"), m)
    titles = colors = None
    if labels is not None and predictions is not None:
        pairs = list(zip(labels[:count], predictions[:count]))
        titles = [f"{t} (pred {p})" for t, p in pairs]
        colors = [MISTAKE_COLOR if t != p else None for t, p in pairs]
    elif labels is not None:
        titles, colors = [f"{t}" for t in labels[:count]], [None] * count
    elif predictions is not None:
        titles, colors = [f"pred {p}" for p in predictions[:count]], [None] * count
    images = X[:count].reshape(count, s, s)
    if order == "F":
        images = images.transpose(0, 2, 1)  # unrolled column by column: rows were read as columns
    return _image_grid(images, fig, ncols, cmap, _DIGIT_SIDE, titles, colors)


def display_hidden_units(model, ncols=None, order="C", fig=None, cmap="RdBu_r", colorbar=True,
                         vmax=None):
    """Draw each hidden unit's input weights as an image of the input.

    Parameters
    ----------
    model : Model or array_like of shape (s_2, n + 1)
        A trained network, or its first weight matrix Θ^(1) (bias column
        first), such as ``load_mat("ex4weights.mat")["thetas"][0]``.
    ncols : int, optional
        Images per row; by default about √s_2.
    order : {"C", "F"}
        How the inputs were unrolled, as in `display_digits` ("F" for the
        course's 20×20 data and weights).
    fig : matplotlib.figure.Figure or SubFigure, optional
        An empty figure to fill; a new pyplot figure when None, sized so
        that each unit is 1 inch wide.
    cmap : str or Colormap
        A diverging colour map, whose middle colour is drawn for a zero
        weight; the default "RdBu_r" is white there, red for positive
        weights and blue for negative ones.
    colorbar : bool
        Draw a colour bar of the weights beside the grid.
    vmax : float, optional
        The weight drawn in the scale's end colours, which runs from −vmax
        to vmax; larger weights get the end colours too, and the colour
        bar's pointed ends say so. By default the 99th percentile of the
        weights' absolute values over all units, so that a few large
        weights do not wash out the rest. Give a number to draw two
        networks on one scale.

    Returns
    -------
    list of matplotlib.image.AxesImage
        One per hidden unit, in order (unit j of layer 2 is image j - 1).
        They share one colour scale (``image.norm``); with `colorbar`,
        ``images[0].colorbar`` is the colour bar, in an Axes of its own.

    Notes
    -----
    Hidden unit j computes g(Θ^(1)_j0 + Σ_i Θ^(1)_ji x_i): the row
    Θ^(1)[j, 1:] holds one weight per pixel, so it has the shape of an
    input image. Every unit is drawn on the same scale, symmetric about 0:
    a zero weight is the middle colour, ink on a red pixel excites the unit
    and ink on a blue one inhibits it, and a pale unit has small weights.
    """
    from matplotlib.colors import Normalize

    theta1 = model.thetas[0] if hasattr(model, "thetas") else model
    theta1 = np.asarray(theta1, dtype=np.float64)
    if theta1.ndim != 2 or theta1.shape[1] < 2:
        raise ValueError("expected a Model or its first weight matrix Θ^(1) of shape (s_2, n + 1); "
                         f"got shape {theta1.shape}")
    _check_order(order)
    if not isinstance(colorbar, (bool, np.bool_)):
        raise TypeError(f"colorbar must be True or False; got {colorbar!r}")
    s = _side(theta1.shape[1] - 1, "the input layer")
    weights = theta1[:, 1:]  # the bias weight has no pixel
    if not np.all(np.isfinite(weights)):
        raise ValueError("the weights Θ^(1)[:, 1:] hold NaN or infinite values, which have no colour")
    images = weights.reshape(-1, s, s)
    if order == "F":
        images = images.transpose(0, 2, 1)
    if vmax is None:
        lim = float(np.percentile(np.abs(weights), 99)) or 1.0  # all zero: any range shows them
    elif (isinstance(vmax, (bool, np.bool_)) or not isinstance(vmax, numbers.Real)
          or not np.isfinite(vmax) or vmax <= 0):
        raise ValueError(f"vmax must be a positive number or None; got {vmax!r}")
    else:
        lim = float(vmax)
    norm = Normalize(vmin=-lim, vmax=lim)
    low, high = weights.min() < -lim, weights.max() > lim
    extend = "both" if low and high else "min" if low else "max" if high else "neither"
    return _image_grid(images, fig, ncols, cmap, _UNIT_SIDE, norm=norm,
                       bar_label=r"weight $\Theta^{(1)}_{ji}$" if colorbar else None, extend=extend)


# --- the confusion matrix ---------------------------------------------------

def plot_confusion_matrix(y_true, y_pred, labels=None, ax=None, cmap="Blues"):
    """Draw the table of counts of (true label, predicted label).

    Parameters
    ----------
    y_true : array_like, shape (m,)
    y_pred : array_like, shape (m,)
        For example ``model.predict(X_test)``.
    labels : array_like, shape (K,), optional
        The classes, in the order of the rows and columns; by default every
        value in `y_true` or `y_pred`, sorted.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new pyplot figure when None.
    cmap : str or Colormap

    Returns
    -------
    image : matplotlib.image.AxesImage
        The K×K counts as colours (``image.get_array()`` gives them).
    texts : ndarray of matplotlib.text.Text, shape (K, K)
        ``texts[i, j]`` shows how many examples of class ``labels[i]`` were
        predicted as ``labels[j]``; the diagonal holds the correct ones.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or y_true.size == 0:
        raise ValueError("y_true and y_pred must be non-empty 1-D arrays of equal length; "
                         f"got shapes {y_true.shape} and {y_pred.shape}")
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    if labels.ndim != 1 or np.unique(labels).size != labels.size:
        raise ValueError(f"labels must be 1-D without repeats; got {labels!r}")
    order = np.argsort(labels)
    rows, cols = (_positions(v, labels, order, name) for v, name in ((y_true, "y_true"), (y_pred, "y_pred")))
    K = labels.size
    counts = np.zeros((K, K), dtype=np.int64)
    np.add.at(counts, (rows, cols), 1)

    if ax is None:
        ax = _new_axes((1.0 + 0.5 * K, 1.0 + 0.5 * K))
    image = ax.imshow(counts, cmap=cmap, interpolation="nearest")
    texts = np.empty((K, K), dtype=object)
    for i in range(K):
        for j in range(K):
            # light text on the darkest half of the colour scale, to stay legible
            dark = counts[i, j] > counts.max() / 2
            texts[i, j] = ax.text(j, i, str(counts[i, j]), ha="center", va="center",
                                  fontsize="small", color="white" if dark else "black")
    ax.set_xticks(range(K), [str(c) for c in labels])
    ax.set_yticks(range(K), [str(c) for c in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return image, texts


def _positions(values, labels, order, name):
    """Index into `labels` of each value, or a ValueError naming a stray value."""
    ranked = labels[order]
    try:
        pos = np.clip(np.searchsorted(ranked, values), 0, ranked.size - 1)
    except TypeError:
        raise TypeError(f"{name} and labels must hold values of one kind (numbers or strings)") from None
    stray = ranked[pos] != values
    if stray.any():
        raise ValueError(f"{name} holds {values[np.argmax(stray)].item()!r}, "
                         f"which is not among labels {labels.tolist()}")
    return order[pos]


# --- validation curve over λ ------------------------------------------------

@dataclass
class ValidationCurve:
    """Result of `validation_curve`: one entry per λ.

    Attributes
    ----------
    lams : ndarray, shape (p,)
        The λ values, in the order given.
    train_accuracy, val_accuracy : ndarray, shape (p,)
        Accuracy on the training set and on the held-out validation set.
    train_cost, val_cost : ndarray, shape (p,)
        The unregularized cost J(Θ) (λ = 0 in the formula) on each set,
        with each network's own hidden units, output units and loss.
    models : list of Model
        The network trained with each λ.
    """

    lams: np.ndarray
    train_accuracy: np.ndarray
    val_accuracy: np.ndarray
    train_cost: np.ndarray
    val_cost: np.ndarray
    models: list

    @property
    def best_lam(self):
        """The λ with the highest validation accuracy (the first of any ties)."""
        return float(self.lams[np.argmax(self.val_accuracy)])


def validation_curve(X, y, lams, hidden_layer_sizes=(25,), method="TNC", maxiter=None,
                     test_size=0.2, seed=0, **train_kwargs):
    """Train one network per λ and measure it on a held-out validation set.

    Parameters
    ----------
    X : array_like, shape (m, n)
    y : array_like, shape (m,)
        Labels, as for `nnopt.train`.
    lams : array_like, shape (p,)
        Values of λ ≥ 0 to try, for example ``[0, 0.1, 1, 10]``.
    hidden_layer_sizes, method, maxiter
        As for `nnopt.train`; a small `maxiter` keeps this quick.
    test_size : float or int
        The share of examples held out, as for `nnopt.train_test_split`.
    seed : int, numpy.random.Generator or None
        Seeds the split and the initial weights. Every λ starts from the
        same initial weights, so the curves differ only through λ.
    **train_kwargs
        Further arguments of `nnopt.train` (activation, output, loss,
        dtype, ...), except output="identity": y must hold class labels.

    Returns
    -------
    ValidationCurve
        Accuracies and unregularized costs on both sets, per λ.

    Notes
    -----
    The costs are `nnopt.cost` of each trained network, with its own
    activation, output and loss, but without the λ/(2m) ΣΘ² term, as the
    course plots J_train and J_cv: the term is part of the objective, not
    of how well the network fits. Too small a λ shows as a training cost
    far below the validation cost (overfitting); too large a λ as both
    high (underfitting).
    The best λ is where the validation accuracy peaks. Keep the test set
    out of this choice, so that its accuracy stays an honest estimate.
    """
    if "lam" in train_kwargs:
        raise TypeError("validation_curve takes its λ values in lams; remove lam=")
    if train_kwargs.get("output") == "identity":
        # train_test_split stratifies by class, and the curve compares accuracies
        raise ValueError("validation_curve takes class labels y; output='identity' (regression) "
                         "is not supported: train one model per λ with nnopt.train instead")
    lams_array = np.asarray(lams, dtype=np.float64)
    if lams_array.ndim != 1 or lams_array.size == 0:
        raise ValueError("lams must be a non-empty 1-D sequence of λ values such as [0, 0.1, 1, 10]; "
                         f"got {lams!r}")
    if not np.all(np.isfinite(lams_array) & (lams_array >= 0)):
        raise ValueError(f"every λ in lams must be finite and >= 0; got {lams!r}")
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=test_size, seed=seed)
    # One initial-weights seed for every λ (an int seed is used as it is).
    init_seed = seed if isinstance(seed, numbers.Integral) else int(_as_generator(seed).integers(2**32))

    columns = {"train_accuracy": [], "val_accuracy": [], "train_cost": [], "val_cost": []}
    models = []
    for lam in lams_array:
        model = train(X_train, y_train, lam, hidden_layer_sizes=hidden_layer_sizes, method=method,
                      maxiter=maxiter, seed=init_seed, **train_kwargs)
        models.append(model)
        for name, Xs, ys in (("train", X_train, y_train), ("val", X_val, y_val)):
            columns[f"{name}_accuracy"].append(model.score(Xs, ys))
            columns[f"{name}_cost"].append(_unregularized_cost(model, Xs, ys))
    return ValidationCurve(lams_array, **{k: np.array(v) for k, v in columns.items()}, models=models)


def _unregularized_cost(model, X, y):
    """J(Θ) of `model` on (X, y) with λ = 0, with the model's own units and loss."""
    return cost(model.theta, X, _targets(model, y, X.shape[0]), 0.0, model.layer_sizes, loss=model.loss,
                activation=model.activation, output=model.output)


def _lam_scale(ax, lams):
    """A log λ axis; symlog when λ = 0 is among the values (log has no 0)."""
    positive = lams[lams > 0]
    if positive.size == lams.size:
        ax.set_xscale("log")
    elif positive.size:
        # linear within [0, smallest λ > 0], logarithmic beyond
        ax.set_xscale("symlog", linthresh=positive.min())


def plot_validation_curve(result, ax=None, metric="accuracy", logy=False):
    """Draw the training and validation accuracy, or cost, against λ.

    Parameters
    ----------
    result : ValidationCurve
        From `validation_curve`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new pyplot figure when None.
    metric : {"accuracy", "cost"}
        What to draw: the accuracies, or the unregularized costs. For both,
        call twice on two Axes that share the λ axis, for example from
        ``plt.subplots(2, 1, sharex=True)``.
    logy : bool
        A logarithmic y-axis; useful for the cost, where the validation
        cost of an overfitted network (small λ) can be many times the others.

    Returns
    -------
    list of matplotlib.lines.Line2D
        The training line, then the validation line.

    Notes
    -----
    λ goes on a logarithmic axis. λ = 0 has no place on one, so when it
    is among the values the axis is "symlog": linear from 0 to the smallest
    positive λ, logarithmic beyond.
    """
    if metric not in ("accuracy", "cost"):
        raise ValueError(f'metric must be "accuracy" or "cost"; got {metric!r}')
    lams = np.asarray(result.lams, dtype=np.float64)
    if ax is None:
        ax = _new_axes((6, 4))
    lines = ax.plot(lams, getattr(result, f"train_{metric}"), "o-", label=f"training {metric}")
    lines += ax.plot(lams, getattr(result, f"val_{metric}"), "o-", label=f"validation {metric}")
    _lam_scale(ax, lams)
    ax.set_xlabel("λ")
    ax.set_ylabel("accuracy" if metric == "accuracy" else "cost J(Θ) without the λ term")
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return lines


# --- eigenvalues of the Hessian -----------------------------------------------

# Colour of the band below zero in `plot_spectrum`: where J curves down.
NEGATIVE_COLOR = "tab:red"


def _eigenvalue_set(values, i):
    """One set of eigenvalues as a sorted 1-D float array, or an error naming the set."""
    try:
        mu = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"eigenvalue set {i + 1}: expected a 1-D array of numbers, such as "
                        f"hessian_eigenvalues returns; got {type(values).__name__}") from None
    if mu.ndim != 1 or mu.size == 0:
        raise ValueError(f"eigenvalue set {i + 1} must be a non-empty 1-D array; got shape {mu.shape}")
    if not np.all(np.isfinite(mu)):
        raise ValueError(f"eigenvalue set {i + 1} holds NaN or infinite values, which have no place "
                         "on the axis")
    return np.sort(mu)


def plot_spectrum(*eigenvalue_sets, labels=None, ax=None, linthresh=None):
    """Draw sets of eigenvalues side by side, one short level per eigenvalue.

    Each set, for instance the Hessian's extreme eigenvalues at θ0 and at
    the trained minimum (`nnopt.hessian_eigenvalues`), gets a column of its
    own, one horizontal dash per eigenvalue, on a symmetric logarithmic
    axis; a band marks the negative half, where J curves down.

    Parameters
    ----------
    *eigenvalue_sets : array_like, each of shape (k_i,)
        One or more sets of real eigenvalues, drawn left to right in the
        order given; a set need not be sorted.
    labels : sequence of str, optional
        One name per set, written under its column; by default "set 1",
        "set 2", ...
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new pyplot figure when None.
    linthresh : float, optional
        Half-width of the linear part of the axis around 0: values with
        ``|μ|`` above it are spaced by their order of magnitude, so that 0.001
        and 4 both read. By default the largest power of ten at or below
        the smallest nonzero ``|μ|`` of all sets, so that every nonzero
        eigenvalue falls in the logarithmic part.

    Returns
    -------
    list of matplotlib.lines.Line2D
        One per set, in the order given, with one marker per eigenvalue:
        ``line.get_ydata()`` holds the set's eigenvalues in ascending
        order, at ``x = i`` for the i-th set (from 0). The zero line
        (``ax.lines``) and the negative band (``ax.patches``, drawn only
        when some eigenvalue is negative) come in addition.

    Notes
    -----
    An eigenvalue μ of the Hessian is the curvature of J along its
    eigenvector u: J(θ + t·u) ≈ J(θ) + t ∇Jᵀu + ½ t² μ. A negative μ
    means that J curves down along u, as across a saddle; at a minimum
    every μ is ≥ 0. How far the levels of one set spread, in orders of
    magnitude, shows the condition number μ_max / μ_min of the positive
    ones: the wider, the more elongated the valley and the slower
    gradient descent is in it.
    """
    if not eigenvalue_sets:
        raise TypeError("plot_spectrum needs at least one set of eigenvalues")
    sets = [_eigenvalue_set(values, i) for i, values in enumerate(eigenvalue_sets)]
    if labels is None:
        labels = [f"set {i + 1}" for i in range(len(sets))]
    else:
        _check_legend(labels, len(sets), "eigenvalue set")
    everything = np.concatenate(sets)
    if linthresh is None:
        nonzero = np.abs(everything[everything != 0])
        # a power of ten, so that the axis' ticks fall on round numbers
        linthresh = 10.0 ** math.floor(math.log10(nonzero.min())) if nonzero.size else 1.0
    elif (isinstance(linthresh, (bool, np.bool_)) or not isinstance(linthresh, numbers.Real)
          or not np.isfinite(linthresh) or linthresh <= 0):
        raise ValueError(f"linthresh must be a positive number or None; got {linthresh!r}")
    if ax is None:
        ax = _new_axes((2.0 + 1.5 * len(sets), 4))

    lines = []
    for i, (mu, label) in enumerate(zip(sets, labels)):
        # dashes wide enough to read as levels; several close eigenvalues stack as one thick band
        lines += ax.plot(np.full(mu.size, i), mu, linestyle="none", marker="_", markersize=30,
                         markeredgewidth=2, label=str(label))
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    ax.set_yscale("symlog", linthresh=float(linthresh))
    ax.set_xticks(range(len(sets)), [str(label) for label in labels])
    ax.set_xlim(-0.6, len(sets) - 0.4)
    ax.set_ylabel("eigenvalue μ: the curvature of J")
    if everything.min() < 0:
        ax.autoscale_view()
        low, high = ax.get_ylim()
        band = ax.axhspan(low, 0.0, color=NEGATIVE_COLOR, alpha=0.1, linewidth=0, zorder=0,
                          label="μ < 0: J curves down")
        ax.set_ylim(low, high)
        ax.legend(handles=[band], loc="best", fontsize="small")
    return lines


# --- one trained network: its fit, ROC curves and errors -------------------------

# Colour of the zero-error line in `plot_error_histogram`: none of the bars' colours.
ZERO_ERROR_COLOR = "black"


def _targets(model, y, m):
    """y as an (m, K) float matrix T, one column per output unit of `model`.

    Classes: the one-hot row of each label; multi-label: y itself;
    regression: y as (m, k). The cost functions take T as it is.
    """
    K = model.layer_sizes[-1]
    y = np.asarray(y)
    if model.target == "classes":
        if y.shape != (m,):
            raise ValueError(f"y must be 1-D with one label per row of X ({m}); got shape {y.shape}")
        T = np.zeros((m, K))
        # output unit k stands for classes_[k], and classes_ is sorted (as `_positions` needs)
        T[np.arange(m), _positions(y, model.classes_, np.arange(K), "y")] = 1.0
        return T
    shape = (m,) if model.target == "regression" else (m, K)
    if y.shape != shape:
        raise ValueError(f"y must have shape {shape} for this {model.target} model, one target per row of X "
                         f"and output unit; got shape {y.shape}")
    if y.dtype.kind not in "iufb":
        raise TypeError(f"y must hold numbers for a {model.target} model; got dtype {y.dtype}")
    if model.target == "multilabel" and not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold only 0 and 1 for a multi-label model")
    if not np.all(np.isfinite(y)):
        raise ValueError("y holds NaN or inf; every example needs a finite target")
    return y.astype(np.float64).reshape(m, K)


def _outputs(model, X):
    """The network's outputs h(x), shape (m, K): probabilities, or a regression's values."""
    if model.output == "identity":
        h = np.asarray(model.predict(X), dtype=np.float64)
        return h.reshape(h.shape[0], -1)
    return model.predict_proba(X)


def _panels(ax, k):
    """k Axes: the one or k given in `ax`, or k side by side in a new pyplot figure."""
    from matplotlib.axes import Axes

    if ax is None:
        return _pyplot().subplots(1, k, figsize=(4 * k, 4), squeeze=False, layout="constrained")[1][0]
    axes = np.array(ax, dtype=object).reshape(-1)
    if axes.size != k or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(f"ax must be {'an Axes' if k == 1 else f'a sequence of {k} Axes'}, one per output "
                         f"unit; got {ax!r}")
    return axes


def plot_regression(model, X, y, ax=None):
    """Draw a regression network's outputs against their targets, with R, as MATLAB's plotregression.

    Parameters
    ----------
    model : Model
        A regression network (``output="identity"``).
    X : array_like, shape (m, n)
    y : array_like, shape (m,) or (m, k)
        The targets, as given to `nnopt.train`.
    ax : matplotlib.axes.Axes or sequence of k Axes, optional
        Where to draw: one Axes per output unit. A new pyplot figure with
        the k panels side by side when None.

    Returns
    -------
    ndarray of matplotlib.axes.Axes, shape (k,)
        Panel j shows output unit j: the examples (``ax.lines[0]``, target
        on x, output on y), the least-squares line, the line Y = T, and R
        in the title.

    Raises
    ------
    ValueError
        For a classifier: its outputs are probabilities, not fitted values
        (`plot_roc`, `plot_confusion_matrix` and `plot_error_histogram`
        draw those).

    Notes
    -----
    R = Σ(t − t̄)(y − ȳ) / √(Σ(t − t̄)² Σ(y − ȳ)²) is Pearson's correlation of
    the targets t and outputs y (`numpy.corrcoef`); a perfect fit has
    R = 1 and every point on the line Y = T. R is NaN when the targets or
    the outputs are all equal. The fit line is the least-squares
    Y ≈ a·T + b, as MATLAB's.

    MATLAB's ``plotregression(targets, outputs)`` pools all output units
    into one panel and draws the training, validation and test sets side
    by side; this draws one panel per output unit and one data set per call
    (for three sets, call it three times, for instance on the columns of
    ``plt.subplots(k, 3)``). MATLAB also draws a classifier's outputs;
    this refuses them.
    """
    if model.output != "identity":
        raise ValueError(f"plot_regression draws a regression network's fit; this is a {model.target} "
                         "model, whose outputs are probabilities: draw it with plot_roc, "
                         "plot_confusion_matrix or plot_error_histogram")
    H = _outputs(model, X)
    T = _targets(model, y, H.shape[0])
    axes = _panels(ax, H.shape[1])
    for j, panel in enumerate(axes):
        _draw_fit(panel, T[:, j], H[:, j], "" if axes.size == 1 else f"output {j + 1}: ")
    return axes


def _draw_fit(ax, t, h, name):
    """One panel of `plot_regression`: outputs h against targets t, the fit, Y = T and R."""
    # corrcoef divides by both spreads; a constant leaves R undefined
    R = np.corrcoef(t, h)[0, 1] if np.ptp(t) > 0 and np.ptp(h) > 0 else np.nan
    ax.plot(t, h, "o", fillstyle="none", alpha=0.6, label="data")
    if np.ptp(t) > 0:  # a line through points of one target would be vertical
        a, b = np.polyfit(t, h, 1)
        ends = np.array([t.min(), t.max()])
        ax.plot(ends, a * ends + b, label=f"fit: Y = {a:.2g} T {b:+.2g}")
    low, high = min(t.min(), h.min()), max(t.max(), h.max())
    ax.plot([low, high], [low, high], ":", color="0.4", label="Y = T")
    ax.set_xlabel("target T")
    ax.set_ylabel("output Y")
    ax.set_title(f"{name}R = {R:.4f}")
    ax.legend(loc="upper left", fontsize="small")


def _roc_curve(positive, scores, name):
    """False and true positive rates at each distinct threshold of `scores`, from (0, 0) to (1, 1).

    `positive` (m,) marks the examples of the class (1) and the rest (0).
    Equal to scikit-learn's ``roc_curve(positive, scores,
    drop_intermediate=False)``.
    """
    P = positive.sum()
    N = positive.size - P
    if P == 0 or N == 0:
        raise ValueError(f"y has {'no examples' if P == 0 else 'only examples'} of {name}, whose ROC curve "
                         "needs examples of it and of the rest; use data that holds both")
    order = np.argsort(scores, kind="stable")[::-1]
    ranked = scores[order]
    # the last example of each run of equal scores: tied examples cross a threshold together
    last = np.append(np.flatnonzero(np.diff(ranked)), ranked.size - 1)
    tp = np.cumsum(positive[order])[last]
    fp = last + 1 - tp
    return np.append(0.0, fp / N), np.append(0.0, tp / P)


def _trapezoid(x, y):
    """The area under the polyline through (x, y), by the trapezoid rule."""
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1])) / 2)


def plot_roc(model, X, y, ax=None):
    """Draw one ROC curve per class against the rest, with its AUC, as MATLAB's plotroc.

    Parameters
    ----------
    model : Model
        A classifier: classes (sigmoid or softmax outputs, two classes or
        more) or multi-label.
    X : array_like, shape (m, n)
    y : array_like, shape (m,) or (m, K)
        The labels, or the 0/1 matrix of a multi-label model, as given to
        `nnopt.train`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new pyplot figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.lines[k]`` is the curve of ``model.classes_[k]``: false positive
        rates in ``get_xdata()``, true positive rates in ``get_ydata()``,
        the class and its AUC as label. The chance diagonal comes last.

    Raises
    ------
    ValueError
        For a regression model; or when y holds no example of some class,
        or only examples of it, so that its curve is undefined.

    Notes
    -----
    Curve k ranks the examples by h_k(x), the output unit of class k
    (`Model.predict_proba`), and takes each distinct value s as a
    threshold: TPR(s) is the share of the examples of class k with
    h_k ≥ s, FPR(s) that of the others. Examples with equal h_k cross a
    threshold together, in one diagonal step, as in scikit-learn's
    ``roc_curve``. The AUC is the area under the curve by the trapezoid
    rule: the probability that an example of the class ranks above one of
    the rest, ties counting half.

    MATLAB's ``plotroc(targets, outputs)`` draws the same curves from the
    same one-hot targets and outputs; this adds each AUC to the legend.
    """
    if model.output == "identity":
        raise ValueError("plot_roc draws a classifier's ROC curves; this is a regression model "
                         "(output='identity'): draw it with plot_regression")
    H = _outputs(model, X)
    T = _targets(model, y, H.shape[0])
    kind = "class" if model.target == "classes" else "label"
    if ax is None:
        ax = _new_axes((5, 5))
    for k, c in enumerate(model.classes_):
        fpr, tpr = _roc_curve(T[:, k], H[:, k], f"{kind} {c}")
        ax.plot(fpr, tpr, label=f"{c}: AUC = {_trapezoid(fpr, tpr):.3f}")
    ax.plot([0, 1], [0, 1], ":", color="0.5")  # scores that rank at random
    ax.set_aspect("equal")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC: each {kind} against the rest")
    ax.legend(title=kind, loc="lower right", fontsize="small")
    return ax


def _errors(model, X, y):
    """target − output for every output unit of every example: shape (m·K,)."""
    H = _outputs(model, X)
    return (_targets(model, y, H.shape[0]) - H).ravel()


def plot_error_histogram(model, X, y, *more, labels=None, bins=20, ax=None):
    """Draw the errors target − output in bins, stacked by data set, as MATLAB's ploterrhist.

    Parameters
    ----------
    model : Model
    X : array_like, shape (m, n)
    y : array_like, shape (m,) or (m, K)
        The targets, as given to `nnopt.train`.
    *more : array_like
        Further data sets, as X, y pairs:
        ``plot_error_histogram(model, X_train, y_train, X_test, y_test,
        labels=["training", "test"])``.
    labels : sequence of str, optional
        One name per data set; by default "errors" for one set and "set 1",
        "set 2", ... for several.
    bins : int
        How many bins, of equal width, from the smallest error of all the
        sets to the largest.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new pyplot figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.containers[i]`` holds the bars of data set i, one per bin:
        ``patch.get_height()`` is the count, stacked on the sets before it
        (``patch.get_y()``). A vertical line marks zero error.

    Notes
    -----
    The errors are e = t − h over every output unit of every example, m·K
    per set. For a classifier t is the one-hot row of the label (the 0/1
    row of a multi-label target) and h the probabilities
    (`Model.predict_proba`), as MATLAB does for patternnet; for regression
    e = y − predict(X). A good fit piles them up around 0; a set whose
    errors spread wider than the training set's shows overfitting.

    MATLAB's ``ploterrhist(e1, "name1", e2, "name2")`` takes the errors and
    20 bins by default, as here; this computes the errors from the model
    and its data.
    """
    data = (X, y) + more
    if len(data) % 2:
        raise TypeError("plot_error_histogram takes the data sets as X, y pairs (X_train, y_train, "
                        f"X_test, y_test, ...); got {len(data)} arrays after the model")
    errors = [_errors(model, Xs, ys) for Xs, ys in zip(data[::2], data[1::2])]
    if labels is None:
        labels = ["errors"] if len(errors) == 1 else [f"set {i + 1}" for i in range(len(errors))]
    else:
        _check_legend(labels, len(errors), "data set")
    bins = _check_count(bins, "bins")
    edges = np.histogram_bin_edges(np.concatenate(errors), bins)
    if ax is None:
        ax = _new_axes((6, 4))
    below = np.zeros(bins, dtype=np.int64)
    for e, label in zip(errors, labels):
        counts = np.histogram(e, edges)[0]
        ax.bar(edges[:-1], counts, width=np.diff(edges), bottom=below, align="edge", label=str(label))
        below += counts
    ax.axvline(0.0, color=ZERO_ERROR_COLOR, label="zero error")
    ax.set_xlabel("error = target − output")
    ax.set_ylabel("instances")
    ax.set_title(f"error histogram with {bins} bins")
    ax.legend()
    return ax


# --- the record of training ------------------------------------------------------

# The curves of `plot_performance`: key of model.history, name, colour (MATLAB's).
_PERFORMANCE = (("cost", "training", "tab:blue"), ("validation_cost", "validation", "tab:green"),
                ("test_cost", "test", "tab:red"))
# The panels of `plot_training_state`, top to bottom: key of model.history, y scale, and
# how to join the points (a count holds its value until the next iteration).
_STATE = (("gradient_norm", "log", "default"), ("mu", "log", "default"), ("step", "linear", "default"),
          ("alpha", "linear", "default"), ("beta", "linear", "default"), ("gamma", "linear", "default"),
          ("validation_fails", "linear", "steps-post"))


def _history(model, keys):
    """model.history["cost"] and those of `keys` it holds, as checked 1-D float arrays of one length."""
    history = getattr(model, "history", None)
    if history is None:
        raise ValueError("this model has no training record (model.history); train it with a version "
                         "of nnopt.train that records one")
    if not isinstance(history, Mapping):
        raise ValueError(f"model.history must map names to arrays; got {type(history).__name__}")
    if "cost" not in history:
        raise ValueError("model.history must hold the training cost under 'cost'; "
                         f"it holds {list(history)!r}")
    cost = np.asarray(history["cost"], dtype=np.float64)
    if cost.ndim != 1 or cost.size == 0:
        raise ValueError("model.history['cost'] must be a non-empty 1-D array, one entry per recorded "
                         f"iteration; got shape {cost.shape}")
    record = {"cost": cost}
    for key in keys:
        if key in history:
            record[key] = np.asarray(history[key], dtype=np.float64)
            if record[key].shape != cost.shape:
                raise ValueError(f"model.history[{key!r}] must be a 1-D array with one entry per recorded "
                                 f"iteration, as 'cost' has ({cost.size}); got shape {record[key].shape}")
    return record


def _iteration_unit(model):
    return "epoch" if str(model.method).lower() == "sgd" else "iteration"


def _stop_title(model):
    """The method and, when SciPy's result says it, why training stopped."""
    message = getattr(getattr(model, "result", None), "message", None)
    method = model.method or "training"
    if not message:
        return str(method)
    # the reason up to its first ";", wrapped: a long message would run off the figure
    reason = str(message).split(";")[0].strip()
    return textwrap.fill(f"{method}: {reason}", 70)


def plot_performance(model, ax=None):
    """Draw the training, validation and test cost per iteration, as MATLAB's plotperform.

    Parameters
    ----------
    model : Model
        A network with a training record ``model.history``: "cost" (the
        training objective) and, when recorded, "validation_cost" and
        "test_cost", one entry per iteration from iteration 0 (the initial
        θ); and ``model.best_iteration``, an index into them or None.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new pyplot figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        One line per recorded cost (training, validation, test, in that
        order, in ``ax.lines``), on a logarithmic y axis; the best
        iteration circled, with its legend entry "best: iteration k", and
        a dotted vertical line through it. The title gives the method and
        why it stopped.

    Raises
    ------
    ValueError
        If the model has no ``history``, or its arrays differ in length, or
        ``best_iteration`` is not an index into them.

    Notes
    -----
    MATLAB's ``plotperform(tr)`` draws the mean squared error of its
    training record; this draws the costs the record holds, so that the
    training curve includes the λ term if the objective does. The best
    iteration is circled on the validation curve, or on the training curve
    when there is none.
    """
    record = _history(model, ("validation_cost", "test_cost"))
    n = record["cost"].size
    unit = _iteration_unit(model)
    if ax is None:
        ax = _new_axes((6, 4))
    for key, label, color in _PERFORMANCE:
        if key in record:
            ax.plot(np.arange(n), record[key], color=color, label=label)
    best = _best_iteration(model, n)
    if best is not None:
        ax.axvline(best, color="0.5", linestyle=":", linewidth=1)
        at = record.get("validation_cost", record["cost"])[best]
        ax.plot([best], [at], "o", color="black", fillstyle="none", markersize=10,
                label=f"best: {unit} {best}")
    ax.set_yscale("log")
    ax.set_xlabel(unit)
    ax.set_ylabel("cost J(Θ)")
    ax.set_title(_stop_title(model), fontsize="small")
    ax.legend()
    return ax


def _best_iteration(model, n):
    """model.best_iteration, checked to be None or an index in 0..n-1."""
    best = getattr(model, "best_iteration", None)
    if best is None:
        return None
    if isinstance(best, (bool, np.bool_)) or not isinstance(best, numbers.Integral) or not 0 <= best < n:
        raise ValueError(f"model.best_iteration must be None or an index into the training record, "
                         f"0..{n - 1}; got {best!r}")
    return int(best)


def plot_training_state(model, fig=None):
    """Draw the optimizer's state per iteration in stacked panels, as MATLAB's plottrainstate.

    Parameters
    ----------
    model : Model
        A network with a training record ``model.history`` (see
        `plot_performance`).
    fig : matplotlib.figure.Figure or SubFigure, optional
        An empty figure to fill; a new pyplot figure when None.

    Returns
    -------
    ndarray of matplotlib.axes.Axes, shape (p,)
        One panel per quantity the record holds, top to bottom:
        "gradient_norm" (log scale), the method's own "mu" (log scale),
        "step", "alpha", "beta", "gamma", then "validation_fails". They
        share the iteration axis; each is titled with its last value.

    Raises
    ------
    ValueError
        If the model has no ``history``, or it holds none of these.

    Notes
    -----
    "validation_fails" counts the consecutive iterations without a lower
    validation cost; training that stops early stops when it reaches its
    limit. MATLAB's ``plottrainstate(tr)`` draws the gradient, μ
    (Levenberg-Marquardt) and the validation checks; this draws whatever
    quantities of the method the record holds.
    """
    keys = [key for key, _, _ in _STATE]
    record = _history(model, keys)
    panels = [panel for panel in _STATE if panel[0] in record]
    if not panels:
        raise ValueError("model.history holds none of the quantities plot_training_state draws: "
                         f"{', '.join(keys)}")
    n = record["cost"].size
    unit = _iteration_unit(model)
    if fig is None:
        fig = _pyplot().figure(figsize=(6, 1 + 1.6 * len(panels)), layout="constrained")
    else:
        _check_empty(fig)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (key, scale, drawstyle) in zip(axes, panels):
        values = record[key]
        ax.plot(np.arange(n), values, drawstyle=drawstyle)
        ax.set_yscale(scale)
        ax.set_ylabel(key)
        ax.set_title(f"{key} = {values[-1]:.3g} at {unit} {n - 1}", fontsize="small")
    axes[-1].set_xlabel(unit)
    return axes
