"""nnopt.plots: what each picture draws, rendered with the Agg backend."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display needed, and no window opens

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

import nnopt  # noqa: E402
import nnopt.cli  # noqa: E402
import nnopt.plots  # noqa: E402
from nnopt.plots import (  # noqa: E402
    display_digits, display_hidden_units, plot_confusion_matrix, plot_cost_curve, plot_spectrum,
    plot_validation_curve, validation_curve,
)

RED = to_rgba("red")


@pytest.fixture(autouse=True)
def pyplot_state():
    """Every test leaves rcParams as they were; figures it made are closed after."""
    before = set(plt.get_fignums())
    rc = matplotlib.rcParams.copy()
    yield before
    assert dict(matplotlib.rcParams) == dict(rc)
    for num in set(plt.get_fignums()) - before:
        plt.close(num)


@pytest.fixture(scope="module")
def digits():
    """300 training and 100 held-out digits, classes mixed."""
    X, y = nnopt.load_digits()
    X_train, X_test, y_train, y_test = nnopt.train_test_split(X, y, test_size=0.2, seed=0)
    return X_train[:300], y_train[:300], X_test[:100], y_test[:100]


@pytest.fixture(scope="module")
def models(digits):
    """A 784-25-10 network trained a few iterations with each of three methods, same seed."""
    X, y = digits[:2]
    return [nnopt.train(X, y, lam=1.0, method=method, maxiter=3, seed=0)
            for method in ("TNC", "CG", "L-BFGS-B")]


def new_axes():
    """An Axes in a Figure that pyplot does not know about."""
    return Figure().add_subplot()


def test_import_nnopt_does_not_import_matplotlib():
    code = ("import sys, nnopt, nnopt.plots; "
            "print('matplotlib.pyplot' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --- plot_cost_curve --------------------------------------------------------

def test_cost_curve_one_line_per_model_with_legend(models):
    ax = new_axes()
    lines = plot_cost_curve(*models, ax=ax)
    assert len(lines) == len(ax.lines) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["TNC", "CG", "L-BFGS-B"]
    assert ax.get_xlabel() == "iteration"
    assert ax.get_ylabel() == "cost J(Θ)"
    for line, model in zip(lines, models):
        # the initial cost at iteration 0, then J after each iteration
        np.testing.assert_array_equal(line.get_xdata(), np.arange(model.n_iter + 1))
        assert line.get_ydata()[0] == pytest.approx(model.initial_cost)
        np.testing.assert_allclose(line.get_ydata()[1:], model.cost_history)
    # same seed, same initial weights: every curve starts at the same point
    assert len({line.get_ydata()[0] for line in lines}) == 1


def test_cost_curve_against_time(models):
    ax = new_axes()
    lines = plot_cost_curve(*models, ax=ax, x="time")
    assert ax.get_xlabel() == "time (s)"
    for line, model in zip(lines, models):
        np.testing.assert_allclose(line.get_xdata(), np.concatenate([[0.0], model.time_history]))


def test_cost_curve_of_plain_arrays_starts_at_iteration_1():
    ax = new_axes()
    lines = plot_cost_curve([3.0, 2.0, 1.5], np.array([3.0, 1.0]), ax=ax, labels=["a", "b"])
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines[1].get_ydata(), [3.0, 1.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    unnamed = plot_cost_curve([1.0], [2.0], ax=new_axes())
    assert [line.get_label() for line in unnamed] == ["curve 1", "curve 2"]


def test_cost_curve_names_lambda_when_runs_differ_in_it(digits):
    X, y = digits[:2]
    runs = [nnopt.train(X[:100], y[:100], lam=lam, method="L-BFGS-B", maxiter=2) for lam in (0.0, 10.0)]
    lines = plot_cost_curve(*runs, ax=new_axes())
    assert [line.get_label() for line in lines] == ["L-BFGS-B, λ=0", "L-BFGS-B, λ=10"]


def test_cost_curve_log_scale(models):
    ax = new_axes()
    plot_cost_curve(models[0], ax=ax, logy=True)
    assert ax.get_yscale() == "log"


def test_cost_curve_bad_input(models):
    with pytest.raises(ValueError, match="time_history"):
        plot_cost_curve([3.0, 2.0], ax=new_axes(), x="time")
    with pytest.raises(ValueError, match='x must be "iteration" or "time"'):
        plot_cost_curve(models[0], ax=new_axes(), x="evaluations")
    with pytest.raises(ValueError, match="one label per curve"):
        plot_cost_curve(*models, ax=new_axes(), labels=["TNC"])
    with pytest.raises(TypeError, match="at least one"):
        plot_cost_curve(ax=new_axes())
    with pytest.raises(ValueError, match="non-empty 1-D"):
        plot_cost_curve(np.ones((2, 3)), ax=new_axes())
    with pytest.raises(TypeError, match="a Model or a 1-D array"):
        plot_cost_curve({"cost": 1}, ax=new_axes())


def test_given_ax_leaves_pyplot_alone(models, pyplot_state):
    plot_cost_curve(*models, ax=new_axes())
    assert set(plt.get_fignums()) == pyplot_state


def test_without_ax_draws_one_new_pyplot_figure(models, digits, pyplot_state):
    lines = plot_cost_curve(models[0])
    new = set(plt.get_fignums()) - pyplot_state
    assert len(new) == 1 and lines[0].figure is plt.figure(new.pop())
    images = display_digits(digits[0], n=4)
    assert len(set(plt.get_fignums()) - pyplot_state) == 2
    assert images[0].figure in [plt.figure(num) for num in plt.get_fignums()]


# --- display_digits ---------------------------------------------------------

def test_display_digits_marks_mistakes_in_red(digits):
    X, y = digits[2], digits[3]
    predictions = y.copy()
    predictions[[1, 4]] = (y[[1, 4]] + 1) % 10
    fig = Figure()
    images = display_digits(X, y, predictions, n=12, ncols=5, fig=fig)
    assert len(images) == 12 and all(isinstance(im, AxesImage) for im in images)
    assert len(fig.axes) == 12  # the three empty cells of the 3×5 grid are removed
    assert images[0].get_array().shape == (28, 28)
    np.testing.assert_array_equal(images[3].get_array(), X[3].reshape(28, 28))
    titles = [im.axes.title for im in images]
    assert titles[1].get_text() == f"{y[1]} (pred {predictions[1]})"
    assert [i for i, t in enumerate(titles) if to_rgba(t.get_color()) == RED] == [1, 4]


def test_display_digits_titles_with_labels_or_predictions_alone(digits):
    X, y = digits[2], digits[3]
    images = display_digits(X, labels=y, n=3, fig=Figure())
    assert [im.axes.get_title() for im in images] == [str(v) for v in y[:3]]
    images = display_digits(X, predictions=y, n=3, fig=Figure())
    assert [im.axes.get_title() for im in images] == [f"pred {v}" for v in y[:3]]
    images = display_digits(X, n=3, fig=Figure())
    assert [im.axes.get_title() for im in images] == ["", "", ""]


@pytest.mark.parametrize("side", [8, 20])
def test_display_digits_any_square_size_and_column_major(side):
    X = np.arange(3 * side * side, dtype=float).reshape(3, side * side)
    images = display_digits(X, fig=Figure())
    np.testing.assert_array_equal(images[2].get_array(), X[2].reshape(side, side))
    # the course's 20×20 data: unrolled column by column
    images = display_digits(X, order="F", fig=Figure())
    np.testing.assert_array_equal(images[2].get_array(), X[2].reshape(side, side, order="F"))


def test_display_digits_into_a_subfigure(digits):
    fig = Figure()
    left, right = fig.subfigures(1, 2)
    right.add_subplot().plot([0, 1])
    images = display_digits(digits[0], n=6, fig=left)
    assert len(images) == len(left.axes) == 6 and len(fig.axes) == 7


def test_display_digits_shows_at_most_m(digits):
    assert len(display_digits(digits[0][:7], n=25, fig=Figure())) == 7


def test_display_digits_bad_input(digits):
    X, y = digits[2], digits[3]
    with pytest.raises(ValueError, match="50 values per image, which is not a square number"):
        display_digits(np.zeros((4, 50)), fig=Figure())
    with pytest.raises(ValueError, match='order must be "C"'):
        display_digits(X, order="K", fig=Figure())
    with pytest.raises(ValueError, match=r"one entry per row of X \(100\)"):
        display_digits(X, labels=y[:10], fig=Figure())
    with pytest.raises(ValueError, match="n must be a whole number"):
        display_digits(X, n=0, fig=Figure())
    with pytest.raises(ValueError, match="ncols must be a whole number"):
        display_digits(X, ncols=2.5, fig=Figure())
    with pytest.raises(ValueError, match="2-D"):
        display_digits(np.zeros((2, 2, 4)), fig=Figure())
    fig = Figure()
    fig.add_subplot()
    with pytest.raises(ValueError, match="fig already holds 1 Axes"):
        display_digits(X, fig=fig)


# --- compact grids ---------------------------------------------------------

def _inches(fig, bbox):
    """(x0, y0, x1, y1) of a display-space bbox, in inches."""
    return tuple(v / fig.dpi for v in (bbox.x0, bbox.y0, bbox.x1, bbox.y1))


@pytest.mark.parametrize("figsize", [None, (9, 4.6), (6, 8)])
def test_digit_grid_is_compact_whatever_the_figure(digits, figsize):
    X, y = digits[2], digits[3]
    predictions = (y + 1) % 10
    fig = None if figsize is None else Figure(figsize=figsize)
    images = display_digits(X, y, predictions, n=30, ncols=10, fig=fig)
    fig = images[0].figure
    fig.draw_without_rendering()
    boxes = np.array([_inches(fig, im.axes.get_window_extent()) for im in images])
    sides = boxes[:, 2] - boxes[:, 0]
    # every image fills its cell: square, all the same size
    np.testing.assert_allclose(boxes[:, 3] - boxes[:, 1], sides, rtol=1e-6)
    np.testing.assert_allclose(sides, sides[0], rtol=1e-6)
    # neighbours in a row are a few percent of a side apart
    gaps = boxes[1:10, 0] - boxes[:9, 2]
    assert np.all(gaps > 0) and np.all(gaps < 0.1 * sides[0])
    # between rows: just the titles, which neither overlap the row above nor leave much room
    for i in range(10, 30):
        title = _inches(fig, images[i].axes.title.get_window_extent())
        above = boxes[i - 10]
        assert boxes[i, 3] <= title[1] + 1e-9 and title[3] < above[1]
        assert above[1] - boxes[i, 3] < 2 * (title[3] - title[1])
    # as large as the figure allows: the grid spans its width or its height
    width, height = fig.get_size_inches()
    spans_width = boxes[:, 2].max() - boxes[:, 0].min() == pytest.approx(width, rel=1e-6)
    top = _inches(fig, images[0].axes.title.get_window_extent())[3]
    spans_height = top - boxes[:, 1].min() == pytest.approx(height, rel=0.02)
    assert spans_width or spans_height
    if figsize is None:  # a figure made to measure: 0.8 inch per digit, nothing spare
        assert sides[0] == pytest.approx(0.8) and spans_width and spans_height


def test_grid_titles_are_small(digits):
    images = display_digits(digits[2], digits[3], n=4, fig=Figure())
    # smaller than the text around them ("small": 0.83 of the font size)
    assert images[0].axes.title.get_fontsize() < matplotlib.rcParams["font.size"]


def test_grid_in_a_figure_too_small_for_its_titles_raises(digits):
    with pytest.raises(ValueError, match=r"too small for a 5 × 5 grid"):
        display_digits(digits[2], digits[3], n=25, fig=Figure(figsize=(3, 0.5)))


def test_grid_in_a_tight_layout_figure_raises(digits, models):
    with pytest.raises(ValueError, match="fig uses tight layout"):
        display_digits(digits[2], fig=Figure(layout="tight"))
    with pytest.raises(ValueError, match="fig uses tight layout"):
        display_hidden_units(models[0], fig=Figure(layout="tight").subfigures(1, 2)[0])


# --- display_hidden_units ---------------------------------------------------

def test_display_hidden_units_one_image_per_unit(models):
    model = models[0]
    fig = Figure()
    images = display_hidden_units(model, fig=fig)
    assert len(images) == 25 and len(fig.axes) == 26  # the units and the colour bar
    weights = model.thetas[0][:, 1:]
    np.testing.assert_array_equal(images[7].get_array(), weights[7].reshape(28, 28))


def test_display_hidden_units_share_one_symmetric_scale(models):
    weights = models[0].thetas[0][:, 1:]
    images = display_hidden_units(models[0], fig=Figure())
    lim = np.percentile(np.abs(weights), 99)
    for image in images:
        assert image.get_clim() == pytest.approx((-lim, lim))
        assert image.norm is images[0].norm  # one scale: a colour means the same weight everywhere
    # diverging colours, white at a zero weight, red for excitation, blue for inhibition
    assert images[0].get_cmap().name == "RdBu_r"
    white, red, blue = (images[0].to_rgba(np.array([[w]]))[0, 0] for w in (0.0, lim, -lim))
    np.testing.assert_allclose(white[:3], 0.97, atol=0.01)
    assert red[0] > 0.3 > red[2] and blue[2] > 0.3 > blue[0]


def test_display_hidden_units_colour_bar(models):
    weights = models[0].thetas[0][:, 1:]
    fig = Figure()
    images = display_hidden_units(models[0], fig=fig)
    bar = images[0].colorbar
    assert bar is not None and bar.ax in fig.axes
    assert (bar.vmin, bar.vmax) == pytest.approx(images[0].get_clim())
    assert "Theta" in bar.ax.get_ylabel()
    # the 1% largest weights lie beyond the scale on both sides: pointed ends say so
    assert weights.min() < bar.vmin and weights.max() > bar.vmax and bar.extend == "both"
    # beside the grid, not over it, and inside the figure with its tick labels
    fig.draw_without_rendering()
    right_of_grid = max(im.axes.get_window_extent().x1 for im in images)
    assert bar.ax.get_window_extent().x0 > right_of_grid
    assert bar.ax.get_tightbbox().x1 <= fig.bbox.x1


def test_display_hidden_units_given_scale_and_no_colour_bar():
    theta1 = np.linspace(-1, 1, 4 * 17).reshape(4, 17)  # 4 units of 4×4 pixels, weights within ±1
    fig = Figure()
    images = display_hidden_units(theta1, fig=fig, vmax=2.0)
    assert images[0].get_clim() == (-2.0, 2.0)
    assert images[0].colorbar.extend == "neither"
    images = display_hidden_units(theta1, fig=Figure(), vmax=0.5)
    assert images[0].colorbar.extend == "both"
    fig = Figure()
    images = display_hidden_units(theta1, fig=fig, colorbar=False)
    assert len(fig.axes) == 4 and images[0].colorbar is None
    # weights all zero: still a symmetric scale, drawn in the middle colour
    images = display_hidden_units(np.zeros((2, 10)), fig=Figure())
    assert images[0].get_clim() == (-1.0, 1.0)


@pytest.mark.parametrize("layout", ["constrained", None])
def test_display_hidden_units_colour_bar_with_a_layout_engine_or_in_a_subfigure(models, layout):
    fig = Figure(figsize=(9, 4), layout=layout)
    left, right = fig.subfigures(1, 2)
    right.add_subplot().plot([0, 1])
    images = display_hidden_units(models[0], fig=left)
    fig.draw_without_rendering()
    bar_box = images[0].colorbar.ax.get_window_extent()
    assert bar_box.x0 > max(im.axes.get_window_extent().x1 for im in images)
    assert left.bbox.x0 <= bar_box.x0 and bar_box.x1 <= left.bbox.x1


def test_display_hidden_units_of_a_weight_matrix_column_major():
    theta1 = np.arange(3 * 401, dtype=float).reshape(3, 401)  # the course's 400-pixel inputs
    images = display_hidden_units(theta1, order="F", fig=Figure(), ncols=3)
    np.testing.assert_array_equal(images[1].get_array(), theta1[1, 1:].reshape(20, 20, order="F"))


def test_display_hidden_units_bad_input():
    model = nnopt.Model([np.zeros((4, 6)), np.zeros((2, 5))], classes=[0, 1], lam=0.0)
    with pytest.raises(ValueError, match="the input layer has 5 values per image, which is not a square"):
        display_hidden_units(model, fig=Figure())
    with pytest.raises(ValueError, match=r"shape \(s_2, n \+ 1\)"):
        display_hidden_units(np.zeros(10), fig=Figure())
    theta1 = np.zeros((2, 5))
    for vmax in (0, -1.0, np.inf, "1", True):
        with pytest.raises(ValueError, match=f"vmax must be a positive number or None; got {vmax!r}"):
            display_hidden_units(theta1, fig=Figure(), vmax=vmax)
    with pytest.raises(TypeError, match="colorbar must be True or False; got 'yes'"):
        display_hidden_units(theta1, fig=Figure(), colorbar="yes")
    theta1[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        display_hidden_units(theta1, fig=Figure())


# --- plot_confusion_matrix --------------------------------------------------

def test_confusion_matrix_counts_in_cells():
    y_true = [0, 0, 1, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 2, 2, 2, 0]
    ax = new_axes()
    image, texts = plot_confusion_matrix(y_true, y_pred, ax=ax)
    expected = np.array([[1, 1, 0],
                         [0, 2, 1],
                         [1, 0, 3]])
    np.testing.assert_array_equal(image.get_array(), expected)
    assert texts.shape == (3, 3) and len(ax.texts) == 9
    assert [[int(t.get_text()) for t in row] for row in texts] == expected.tolist()
    assert texts[2, 0].get_position() == (0, 2)  # column = prediction, row = truth
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]


def test_confusion_matrix_label_order_and_strings():
    y_true = np.array(["cat", "dog", "dog", "eel"])
    y_pred = np.array(["dog", "dog", "dog", "eel"])
    image, texts = plot_confusion_matrix(y_true, y_pred, labels=["eel", "dog", "cat"], ax=new_axes())
    np.testing.assert_array_equal(image.get_array(), [[1, 0, 0], [0, 2, 0], [0, 1, 0]])
    assert [t.get_text() for t in image.axes.get_yticklabels()] == ["eel", "dog", "cat"]


def test_confusion_matrix_of_digits(models, digits):
    X_test, y_test = digits[2], digits[3]
    predictions = models[0].predict(X_test)
    image, texts = plot_confusion_matrix(y_test, predictions, labels=range(10), ax=new_axes())
    counts = image.get_array()
    assert texts.shape == (10, 10) and counts.sum() == len(y_test)
    assert np.trace(counts) == np.sum(predictions == y_test)


def test_confusion_matrix_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        plot_confusion_matrix([0, 1, 1], [0, 1], ax=new_axes())
    with pytest.raises(ValueError, match="y_pred holds 3, which is not among labels"):
        plot_confusion_matrix([0, 1], [0, 3], labels=[0, 1], ax=new_axes())
    with pytest.raises(ValueError, match="without repeats"):
        plot_confusion_matrix([0, 1], [0, 1], labels=[0, 1, 1], ax=new_axes())


# --- validation curve -------------------------------------------------------

@pytest.fixture(scope="module")
def blobs():
    """90 examples of 3 classes around 3 centres in 4 dimensions."""
    rng = np.random.default_rng(7)
    y = np.repeat([0, 1, 2], 30)
    X = rng.normal(size=(3, 4))[y] + 0.8 * rng.normal(size=(90, 4))
    return X, y


@pytest.fixture(scope="module")
def curve(blobs):
    return validation_curve(*blobs, [0.0, 1.0, 100.0], hidden_layer_sizes=(5,), method="L-BFGS-B",
                            maxiter=20, test_size=0.3, seed=0)


def test_validation_curve_measures_each_lambda(blobs, curve):
    np.testing.assert_array_equal(curve.lams, [0.0, 1.0, 100.0])
    for name in ("train_accuracy", "val_accuracy", "train_cost", "val_cost"):
        assert getattr(curve, name).shape == (3,)
    assert [m.lam for m in curve.models] == [0.0, 1.0, 100.0]
    # the split is train_test_split's with the same seed; the costs leave out the λ term
    X_train, X_val, y_train, y_val = nnopt.train_test_split(*blobs, test_size=0.3, seed=0)
    model = curve.models[1]
    assert curve.val_accuracy[1] == pytest.approx(model.score(X_val, y_val))
    assert curve.train_cost[1] == pytest.approx(nnopt.cost(model.theta, X_train, y_train, 0.0, (4, 5, 3)))
    assert curve.val_cost[1] == pytest.approx(nnopt.cost(model.theta, X_val, y_val, 0.0, (4, 5, 3)))
    # a large λ fits the training set worse
    assert curve.train_cost[2] > curve.train_cost[0]
    assert curve.best_lam == curve.lams[np.argmax(curve.val_accuracy)]


def test_validation_curve_same_start_for_every_lambda(blobs):
    twice = validation_curve(*blobs, [0.5, 0.5], hidden_layer_sizes=(3,), method="L-BFGS-B", maxiter=3)
    np.testing.assert_array_equal(twice.models[0].theta, twice.models[1].theta)


def test_validation_curve_bad_input(blobs):
    with pytest.raises(ValueError, match="finite and >= 0"):
        validation_curve(*blobs, [1.0, -1.0])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        validation_curve(*blobs, [])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        validation_curve(*blobs, 1.0)
    with pytest.raises(TypeError, match="remove lam="):
        validation_curve(*blobs, [1.0], lam=1.0)


def test_plot_validation_curve_accuracy(curve):
    ax = new_axes()
    lines = plot_validation_curve(curve, ax=ax)
    assert lines == list(ax.lines) and len(lines) == 2
    np.testing.assert_array_equal(lines[0].get_xdata(), curve.lams)
    np.testing.assert_array_equal(lines[0].get_ydata(), curve.train_accuracy)
    np.testing.assert_array_equal(lines[1].get_ydata(), curve.val_accuracy)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training accuracy", "validation accuracy"]
    assert ax.get_xlabel() == "λ" and ax.get_ylabel() == "accuracy"
    assert ax.get_yscale() == "linear"
    # λ = 0 cannot go on a log axis: symlog, linear up to the smallest positive λ
    assert ax.get_xscale() == "symlog"
    assert ax.xaxis.get_transform().linthresh == 1.0


def test_plot_validation_curve_cost(curve):
    ax = new_axes()
    lines = plot_validation_curve(curve, ax=ax, metric="cost", logy=True)
    np.testing.assert_array_equal(lines[1].get_ydata(), curve.val_cost)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training cost", "validation cost"]
    assert ax.get_ylabel() == "cost J(Θ) without the λ term"
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match='metric must be "accuracy" or "cost"'):
        plot_validation_curve(curve, ax=new_axes(), metric="loss")


def test_plot_validation_curve_log_axis_without_zero(curve):
    positive = nnopt.plots.ValidationCurve(curve.lams[1:], curve.train_accuracy[1:], curve.val_accuracy[1:],
                                           curve.train_cost[1:], curve.val_cost[1:], curve.models[1:])
    lines = plot_validation_curve(positive, ax=new_axes())
    assert lines[0].axes.get_xscale() == "log"
    only_zero = nnopt.plots.ValidationCurve(curve.lams[:1], curve.train_accuracy[:1], curve.val_accuracy[:1],
                                            curve.train_cost[:1], curve.val_cost[:1], curve.models[:1])
    assert plot_validation_curve(only_zero, ax=new_axes())[0].axes.get_xscale() == "linear"


# --- plot_spectrum ----------------------------------------------------------

def test_spectrum_one_marker_per_eigenvalue_per_set():
    start, end = [4.2, -2.6, 3.5, -2.3], [0.9, -1.2e-3, 0.7]
    ax = new_axes()
    lines = plot_spectrum(start, end, labels=["at θ0", "at the minimum"], ax=ax)
    assert len(lines) == 2
    for i, (line, mu) in enumerate(zip(lines, (start, end))):
        # one marker per eigenvalue, in ascending order, in the set's own column
        np.testing.assert_array_equal(line.get_ydata(), np.sort(mu))
        np.testing.assert_array_equal(line.get_xdata(), np.full(len(mu), i))
        assert line.get_linestyle() == "None" and line.get_marker() == "_"
    assert lines[0].get_color() != lines[1].get_color()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["at θ0", "at the minimum"]
    assert ax.get_ylabel() == "eigenvalue μ: the curvature of J"
    # symmetric log: the largest power of ten at or below the smallest |μ|, 1.2e-3
    assert ax.get_yscale() == "symlog"
    assert ax.yaxis.get_transform().linthresh == pytest.approx(1e-3)
    low, high = ax.get_ylim()
    assert low < -2.6 and high > 4.2
    # a zero line, and a band over the negative half named in the legend
    zero = [line for line in ax.lines if line not in lines]
    assert len(zero) == 1 and np.all(np.asarray(zero[0].get_ydata()) == 0)
    (band,) = ax.patches
    y0, y1 = band.get_bbox().y0, band.get_bbox().y1
    assert y0 == pytest.approx(low) and y1 == 0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["μ < 0: J curves down"]


def test_spectrum_without_negative_eigenvalues_has_no_band():
    ax = new_axes()
    lines = plot_spectrum(np.array([2.0, 1e-3, 0.5]), ax=ax, linthresh=1e-2)
    np.testing.assert_array_equal(lines[0].get_ydata(), [1e-3, 0.5, 2.0])
    assert len(ax.patches) == 0 and ax.get_legend() is None
    assert ax.yaxis.get_transform().linthresh == 1e-2  # as given
    assert [t.get_text() for t in ax.get_xticklabels()] == ["set 1"]
    # nothing but zeros: any linear part will do
    only_zero = plot_spectrum([0.0, 0.0], ax=new_axes())
    assert only_zero[0].axes.yaxis.get_transform().linthresh == 1.0


def test_spectrum_of_hessian_eigenvalues(small_problem):
    theta, X, y, sizes = small_problem
    mu = nnopt.hessian_eigenvalues(theta, X, y, 0.1, sizes, k=4)
    gn = nnopt.hessian_eigenvalues(theta, X, y, 0.1, sizes, k=4, curvature="gauss-newton")
    lines = plot_spectrum(mu, gn, labels=["H", "G"], ax=new_axes())
    np.testing.assert_allclose(lines[0].get_ydata(), mu, rtol=0, atol=0)
    np.testing.assert_allclose(lines[1].get_ydata(), gn, rtol=0, atol=0)


def test_spectrum_bad_input():
    with pytest.raises(TypeError, match="at least one set of eigenvalues"):
        plot_spectrum(ax=new_axes())
    with pytest.raises(ValueError, match=r"eigenvalue set 2 must be a non-empty 1-D array; got shape \(2, 2"):
        plot_spectrum([1.0], np.ones((2, 2)), ax=new_axes())
    with pytest.raises(ValueError, match=r"eigenvalue set 1 must be a non-empty 1-D array; got shape \(0,\)"):
        plot_spectrum([], ax=new_axes())
    with pytest.raises(ValueError, match="eigenvalue set 1 holds NaN or infinite"):
        plot_spectrum([1.0, np.nan], ax=new_axes())
    with pytest.raises(TypeError, match="eigenvalue set 1: expected a 1-D array of numbers"):
        plot_spectrum(["large", "small"], ax=new_axes())
    with pytest.raises(ValueError, match=r"labels must be a sequence of one label per eigenvalue set \(2\)"):
        plot_spectrum([1.0], [2.0], labels=["θ0"], ax=new_axes())
    with pytest.raises(ValueError, match="labels must be a sequence"):
        plot_spectrum([1.0], [2.0], labels="ab", ax=new_axes())
    with pytest.raises(ValueError, match="labels must be a sequence"):
        plot_spectrum([1.0], labels=1, ax=new_axes())
    for bad in (0, -1e-3, np.inf, True, "1e-3"):
        with pytest.raises(ValueError, match="linthresh must be a positive number or None"):
            plot_spectrum([1.0], linthresh=bad, ax=new_axes())


def test_spectrum_without_ax_draws_one_new_pyplot_figure(pyplot_state):
    plot_spectrum([1.0, -1.0], ax=new_axes())
    assert set(plt.get_fignums()) == pyplot_state
    lines = plot_spectrum([1.0, -1.0])
    new = set(plt.get_fignums()) - pyplot_state
    assert len(new) == 1 and lines[0].figure is plt.figure(new.pop())


# --- the command line -------------------------------------------------------

def test_cli_train_plot_draws_the_cost_curve(tmp_path, monkeypatch, digits):
    data = tmp_path / "small.npz"
    np.savez(data, X=digits[0][:150], y=digits[1][:150])
    calls = []
    real = nnopt.plots.plot_cost_curve

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(nnopt.plots, "plot_cost_curve", spy)
    png, out = tmp_path / "cost.png", tmp_path / "model.npz"
    code = nnopt.cli.main(["train", "--data", str(data), "--plot", str(png), "--maxiter", "3",
                           "--out", str(out)])
    assert code == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert len(calls) == 1
    (model,), kwargs = calls[0]
    assert model.method == "TNC" and kwargs["labels"] == ["TNC"]
    assert len(kwargs["ax"].lines) == 1
