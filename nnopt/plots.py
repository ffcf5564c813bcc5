"""Pictures: cost curves, digit grids, hidden units, the confusion matrix, λ curves.

Every plotting function draws into the Axes (``ax``) or Figure (``fig``) it
is given and returns the artists it drew. Given none, it makes a new figure with
`matplotlib.pyplot`, so that the picture shows in Jupyter or on
``plt.show()`` like any pyplot figure; close it with ``plt.close(fig)``
when drawing many. Nothing here calls ``plt.show()`` or changes rcParams.

matplotlib is imported inside the functions, and pyplot only when a new
figure is needed, so ``import nnopt`` stays light.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from . import backprop
from .datasets import train_test_split
from .parameters import _as_generator
from .training import train

__all__ = ["plot_cost_curve", "display_digits", "display_hidden_units",
           "plot_confusion_matrix", "validation_curve", "ValidationCurve",
           "plot_validation_curve", "plot_spectrum"]

# Title colour of a misclassified example in `display_digits`.
MISTAKE_COLOR = "red"


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
    elif isinstance(labels, str) or len(labels) != len(curves):
        raise ValueError(f"labels must be a sequence of one label per curve ({len(curves)}); got {labels!r}")
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
    elif fig.axes:
        raise ValueError(f"fig already holds {len(fig.axes)} Axes; pass an empty Figure or SubFigure "
                         "(plt.figure(), or fig.subfigures() to place a grid beside other plots)")
    elif _layout_engine(fig) == "tight":
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
        The unregularized cost J(Θ) (λ = 0 in the formula) on each set.
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
        Further arguments of `nnopt.train` (loss, dtype, ...).

    Returns
    -------
    ValidationCurve
        Accuracies and unregularized costs on both sets, per λ.

    Notes
    -----
    The costs are J(Θ) without the λ/(2m) ΣΘ² term, as the course plots
    J_train and J_cv: the term is part of the objective, not of how well
    the network fits. Too small a λ shows as a training cost far below the
    validation cost (overfitting); too large a λ as both high (underfitting).
    The best λ is where the validation accuracy peaks. Keep the test set
    out of this choice, so that its accuracy stays an honest estimate.
    """
    if "lam" in train_kwargs:
        raise TypeError("validation_curve takes its λ values in lams; remove lam=")
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
            # classes_ is sorted, so searchsorted turns labels into class indices
            idx = np.searchsorted(model.classes_, ys)
            J = backprop.forward_cost(model.theta, Xs, idx, 0.0, model.layer_sizes, loss=model.loss)
            columns[f"{name}_cost"].append(J)
    return ValidationCurve(lams_array, **{k: np.array(v) for k, v in columns.items()}, models=models)


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
    elif isinstance(labels, str) or not hasattr(labels, "__len__") or len(labels) != len(sets):
        raise ValueError(f"labels must be a sequence of one label per eigenvalue set ({len(sets)}); "
                         f"got {labels!r}")
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
