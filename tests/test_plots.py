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
    display_digits, display_hidden_units, plot_confusion_matrix, plot_cost_curve, plot_error_histogram,
    plot_performance, plot_regression, plot_roc, plot_spectrum, plot_training_state, plot_validation_curve,
    validation_curve,
)
from scipy.special import logsumexp  # noqa: E402

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


def _tanh_softmax_cost(model, X, y):
    """J(Θ) without the λ term of a tanh/softmax network, by a forward pass written out here."""
    a = X
    for theta in model.thetas[:-1]:
        a = np.tanh(np.column_stack([np.ones(len(a)), a]) @ theta.T)
    z = np.column_stack([np.ones(len(a)), a]) @ model.thetas[-1].T
    Y = (y[:, None] == model.classes_).astype(float)  # one-hot rows
    return np.mean(logsumexp(z, axis=1) - np.sum(Y * z, axis=1))  # −Σ y log softmax(z)


def test_validation_curve_cost_uses_the_models_own_units_and_loss(blobs):
    X, y = blobs
    names = np.array(["ant", "bee", "cat"])[y]  # labels that are not class indices
    curve = validation_curve(X, names, [0.0, 1.0], hidden_layer_sizes=(5,), method="L-BFGS-B", maxiter=30,
                             test_size=0.3, seed=0, activation="tanh", output="softmax")
    X_train, X_val, y_train, y_val = nnopt.train_test_split(X, names, test_size=0.3, seed=0)
    for i, model in enumerate(curve.models):
        assert (model.activation, model.output) == ("tanh", "softmax")
        assert curve.train_cost[i] == pytest.approx(_tanh_softmax_cost(model, X_train, y_train), rel=1e-10)
        assert curve.val_cost[i] == pytest.approx(_tanh_softmax_cost(model, X_val, y_val), rel=1e-10)
    # with λ = 0 the training cost is the objective the model itself reported
    assert curve.train_cost[0] == pytest.approx(curve.models[0].cost_history[-1], rel=1e-8)


def test_validation_curve_refuses_regression(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match=r"output='identity' \(regression\) is not supported"):
        validation_curve(X, X[:, 0], [0.0], activation="relu", output="identity")


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


# --- one trained network: regression, ROC, error histogram -----------------------

def _standardized(a):
    return (a - a.mean(axis=0)) / a.std(axis=0)


@pytest.fixture(scope="module")
def diabetes():
    """scikit-learn's 442 diabetes patients: 10 standardized features, the standardized progression."""
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_diabetes(return_X_y=True)
    return _standardized(X), _standardized(y)


@pytest.fixture(scope="module")
def regressor(diabetes):
    return nnopt.train(*diabetes, lam=0.1, hidden_layer_sizes=(8,), method="L-BFGS-B", maxiter=60,
                       activation="relu", output="identity")


@pytest.fixture(scope="module")
def breast_cancer():
    """scikit-learn's 569 tumours, 30 standardized features, benign (1) or malignant (0)."""
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_breast_cancer(return_X_y=True)
    return _standardized(X), y


def _one_hot(y, classes):
    return (np.asarray(y)[:, None] == classes).astype(float)


def test_regression_plot_draws_outputs_against_targets_with_r(diabetes, regressor):
    X, y = diabetes
    ax = new_axes()
    axes = plot_regression(regressor, X, y, ax=ax)
    assert axes.shape == (1,) and axes[0] is ax
    data, fit, diagonal = ax.lines
    h = regressor.predict(X)
    np.testing.assert_array_equal(data.get_xdata(), y)
    np.testing.assert_array_equal(data.get_ydata(), h)
    R = np.corrcoef(y, h)[0, 1]
    assert ax.get_title() == f"R = {R:.4f}" and 0.5 < R < 1
    # the least-squares line of outputs on targets, over the targets' range
    a, b = np.polyfit(y, h, 1)
    np.testing.assert_allclose(fit.get_xdata(), [y.min(), y.max()])
    np.testing.assert_allclose(fit.get_ydata(), a * np.array([y.min(), y.max()]) + b)
    np.testing.assert_array_equal(diagonal.get_xdata(), diagonal.get_ydata())
    assert [t.get_text() for t in ax.get_legend().get_texts()][::2] == ["data", "Y = T"]
    assert ax.get_xlabel() == "target T" and ax.get_ylabel() == "output Y"


def test_regression_plot_one_panel_per_output(diabetes, pyplot_state):
    X, y = diabetes
    Y = np.column_stack([y, X[:, 2]])  # the progression and the body mass index
    model = nnopt.train(X, Y, lam=0.1, hidden_layer_sizes=(8,), method="L-BFGS-B", maxiter=30,
                        activation="relu", output="identity")
    H = model.predict(X)
    axes = plot_regression(model, X, Y, ax=Figure().subplots(1, 2))
    for j, ax in enumerate(axes):
        np.testing.assert_array_equal(ax.lines[0].get_ydata(), H[:, j])
        assert ax.get_title() == f"output {j + 1}: R = {np.corrcoef(Y[:, j], H[:, j])[0, 1]:.4f}"
    # without ax: a new pyplot figure, the panels side by side
    axes = plot_regression(model, X, Y)
    assert axes.shape == (2,) and axes[0].figure is axes[1].figure
    assert len(set(plt.get_fignums()) - pyplot_state) == 1


def test_regression_plot_bad_input(diabetes, regressor, models, digits):
    X, y = diabetes
    with pytest.raises(ValueError, match="regression network's fit; this is a classes model"):
        plot_regression(models[0], digits[2], digits[3], ax=new_axes())
    with pytest.raises(ValueError, match="ax must be an Axes, one per output unit"):
        plot_regression(regressor, X, y, ax=Figure().subplots(1, 2))
    with pytest.raises(ValueError, match=r"y must have shape \(442,\) for this regression model"):
        plot_regression(regressor, X, y[:10], ax=new_axes())


def _roc_lines(ax):
    """The ROC curves of `plot_roc`: every line but the chance diagonal, which comes last."""
    *curves, chance = ax.lines
    np.testing.assert_array_equal(chance.get_xdata(), [0, 1])
    return curves


def _check_aucs(ax, T, H):
    """Each curve's area is scikit-learn's one-vs-rest AUC of its column, and its legend says so."""
    metrics = pytest.importorskip("sklearn.metrics")
    curves = _roc_lines(ax)
    assert len(curves) == T.shape[1] == len(ax.get_legend().get_texts())
    for k, line in enumerate(curves):
        fpr, tpr = line.get_xdata(), line.get_ydata()
        auc = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2
        assert 0 <= auc <= 1
        assert auc == pytest.approx(metrics.roc_auc_score(T[:, k], H[:, k]), abs=1e-12)
        assert line.get_label().endswith(f"AUC = {auc:.3f}")
        # the exact curve: every distinct threshold, from (0, 0)
        sk_fpr, sk_tpr, _ = metrics.roc_curve(T[:, k], H[:, k], drop_intermediate=False)
        np.testing.assert_allclose(fpr, sk_fpr, rtol=0, atol=1e-15)
        np.testing.assert_allclose(tpr, sk_tpr, rtol=0, atol=1e-15)


def test_roc_one_curve_per_class(models, digits):
    model, X, y = models[2], digits[2], digits[3]
    ax = new_axes()
    assert plot_roc(model, X, y, ax=ax) is ax
    _check_aucs(ax, _one_hot(y, model.classes_), model.predict_proba(X))
    assert [line.get_label().split(":")[0] for line in _roc_lines(ax)] == [str(c) for c in range(10)]
    assert ax.get_xlabel() == "false positive rate" and ax.get_ylabel() == "true positive rate"


def test_roc_of_a_binary_softmax_classifier(breast_cancer):
    X, y = breast_cancer
    model = nnopt.train(X, y, lam=1.0, hidden_layer_sizes=(5,), method="L-BFGS-B", maxiter=10,
                        activation="tanh", output="softmax")
    ax = plot_roc(model, X, y, ax=new_axes())
    _check_aucs(ax, _one_hot(y, model.classes_), model.predict_proba(X))
    # the two softmax outputs sum to 1: each class's curve has the same area
    labels = [line.get_label() for line in _roc_lines(ax)]
    assert labels[0].split("AUC")[1] == labels[1].split("AUC")[1]


def test_roc_of_a_multilabel_classifier(digits):
    X, y = digits[:2]
    Y = np.column_stack([y % 2 == 0, y >= 5]).astype(int)  # even, and large
    model = nnopt.train(X, Y, lam=1.0, hidden_layer_sizes=(10,), method="L-BFGS-B", maxiter=10)
    ax = plot_roc(model, X, Y, ax=new_axes())
    _check_aucs(ax, Y, model.predict_proba(X))
    assert ax.get_legend().get_title().get_text() == "label"


def test_roc_with_tied_scores():
    # zero weights: every example gets the same probabilities, one tie of all
    model = nnopt.Model([np.zeros((3, 5)), np.zeros((2, 4))], classes=["no", "yes"], lam=0.0,
                        output="softmax", loss="cross_entropy")
    X, y = np.ones((6, 4)), np.array(["no", "yes", "yes", "no", "yes", "yes"])
    ax = plot_roc(model, X, y, ax=new_axes())
    for line in _roc_lines(ax):
        np.testing.assert_array_equal(line.get_xdata(), [0, 1])
        np.testing.assert_array_equal(line.get_ydata(), [0, 1])
        assert line.get_label().endswith("AUC = 0.500")
    # many ties among distinct scores, as scikit-learn passes them
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    positive = rng.integers(0, 2, 200).astype(float)
    scores = np.round(rng.random(200) + 0.3 * positive, 1)
    fpr, tpr = nnopt.plots._roc_curve(positive, scores, "class 1")
    sk_fpr, sk_tpr, _ = metrics.roc_curve(positive, scores, drop_intermediate=False)
    np.testing.assert_array_equal(fpr, sk_fpr)
    np.testing.assert_array_equal(tpr, sk_tpr)
    assert nnopt.plots._trapezoid(fpr, tpr) == pytest.approx(metrics.roc_auc_score(positive, scores),
                                                             abs=1e-12)


def test_roc_bad_input(models, digits, regressor, diabetes):
    X, y = digits[2], digits[3]
    few = np.isin(y, [0, 1, 2, 3, 4, 5, 6, 7, 8])
    with pytest.raises(ValueError, match="y has no examples of class 9"):
        plot_roc(models[0], X[few], y[few], ax=new_axes())
    with pytest.raises(ValueError, match="plot_roc draws a classifier's ROC curves; this is a regression"):
        plot_roc(regressor, *diabetes, ax=new_axes())
    with pytest.raises(ValueError, match="y holds 11, which is not among labels"):
        plot_roc(models[0], X[:2], [1, 11], ax=new_axes())


def test_error_histogram_stacks_the_sets(models, digits):
    model = models[0]
    X_train, y_train, X_test, y_test = digits
    ax = new_axes()
    assert plot_error_histogram(model, X_train, y_train, X_test, y_test, labels=("training", "test"),
                                ax=ax) is ax
    # errors t − h on every output unit, t the one-hot row of the label
    errors = [(_one_hot(ys, model.classes_) - model.predict_proba(Xs)).ravel()
              for Xs, ys in ((X_train, y_train), (X_test, y_test))]
    edges = np.histogram_bin_edges(np.concatenate(errors), 20)
    training, test = ax.containers
    assert len(training) == len(test) == 20
    np.testing.assert_allclose([bar.get_x() for bar in training], edges[:-1])
    below = np.zeros(20)
    for bars, e in zip((training, test), errors):
        counts = np.array([bar.get_height() for bar in bars])
        np.testing.assert_array_equal(counts, np.histogram(e, edges)[0])
        assert counts.sum() == e.size
        np.testing.assert_array_equal([bar.get_y() for bar in bars], below)  # stacked
        below += counts
    (zero,) = ax.lines
    np.testing.assert_array_equal(zero.get_xdata(), [0, 0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["zero error", "training", "test"]


def test_error_histogram_of_a_regression(diabetes, regressor):
    X, y = diabetes
    ax = plot_error_histogram(regressor, X, y, bins=7, ax=new_axes())
    e = y - regressor.predict(X)
    (bars,) = ax.containers
    np.testing.assert_array_equal([bar.get_height() for bar in bars], np.histogram(e, 7)[0])
    assert sum(bar.get_height() for bar in bars) == len(y)
    assert bars.get_label() == "errors" and ax.get_title() == "error histogram with 7 bins"


def test_error_histogram_bad_input(models, digits):
    X, y = digits[2], digits[3]
    with pytest.raises(TypeError, match="X, y pairs .* got 3 arrays"):
        plot_error_histogram(models[0], X, y, X, ax=new_axes())
    with pytest.raises(ValueError, match=r"one label per data set \(2\)"):
        plot_error_histogram(models[0], X, y, X, y, labels=["test"], ax=new_axes())
    with pytest.raises(ValueError, match="bins must be a whole number >= 1"):
        plot_error_histogram(models[0], X, y, bins=0, ax=new_axes())


# --- the record of training -----------------------------------------------------

@pytest.fixture
def trained(blobs):
    """A freshly trained network and a plausible record of its training, with validation and test costs."""
    model = nnopt.train(*blobs, lam=0.1, hidden_layer_sizes=(5,), method="L-BFGS-B", maxiter=25)
    cost = np.concatenate([[model.initial_cost], model.cost_history])
    n = cost.size
    # the held-out costs stop falling after iteration 8 and then rise
    late = np.maximum(np.arange(n) - 8, 0)
    validation = 1.2 * cost + 0.01 * late
    record = {"cost": cost, "validation_cost": validation, "test_cost": 1.3 * cost + 0.012 * late,
              "gradient_norm": np.geomspace(1.0, 1e-4, n), "step": np.linspace(0.0, 1.0, n),
              "validation_fails": np.minimum(late, 6).astype(float)}
    return model, record, int(np.argmin(validation))


def test_performance_draws_each_cost_and_the_best_iteration(trained):
    model, record, best = trained
    model.history, model.best_iteration = record, best
    ax = new_axes()
    assert plot_performance(model, ax=ax) is ax
    training, validation, test, vertical, marker = ax.lines
    for line, key in ((training, "cost"), (validation, "validation_cost"), (test, "test_cost")):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(record["cost"].size))
        np.testing.assert_array_equal(line.get_ydata(), record[key])
    np.testing.assert_array_equal(vertical.get_xdata(), [best, best])
    assert (marker.get_xdata(), marker.get_ydata()) == ([best], [record["validation_cost"][best]])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "training", "validation", "test", f"best: iteration {best}"]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "iteration"
    assert ax.get_title() == f"L-BFGS-B: {model.result.message}"


def test_performance_without_held_out_costs(trained):
    model, record, _ = trained
    model.history, model.best_iteration = {"cost": record["cost"]}, 3
    model.result = None  # as a model loaded from a file
    ax = plot_performance(model, ax=new_axes())
    assert [line.get_label() for line in ax.lines if not line.get_label().startswith("_")] == [
        "training", "best: iteration 3"]
    assert ax.lines[-1].get_ydata() == [record["cost"][3]]  # circled on the training cost
    assert ax.get_title() == "L-BFGS-B"
    model.best_iteration = None
    assert len(plot_performance(model, ax=new_axes()).lines) == 1


def test_performance_bad_record(trained):
    model, record, _ = trained
    model.history = None
    with pytest.raises(ValueError, match="this model has no training record"):
        plot_performance(model, ax=new_axes())
    model.history = {"validation_cost": record["validation_cost"]}
    with pytest.raises(ValueError, match="training cost under 'cost'"):
        plot_performance(model, ax=new_axes())
    model.history = {"cost": record["cost"], "test_cost": record["test_cost"][:-1]}
    with pytest.raises(ValueError, match=r"history\['test_cost'\] must be a 1-D array with one entry"):
        plot_performance(model, ax=new_axes())
    model.history, model.best_iteration = record, record["cost"].size
    with pytest.raises(ValueError, match="best_iteration must be None or an index"):
        plot_performance(model, ax=new_axes())


def test_training_state_one_panel_per_quantity(trained):
    model, record, _ = trained
    model.history = record
    fig = Figure()
    axes = plot_training_state(model, fig=fig)
    assert axes.shape == (3,) and list(axes) == fig.axes
    n = record["cost"].size
    panels = (("gradient_norm", "log"), ("step", "linear"), ("validation_fails", "linear"))
    for ax, (key, scale) in zip(axes, panels):
        (line,) = ax.lines
        np.testing.assert_array_equal(line.get_ydata(), record[key])
        assert ax.get_ylabel() == key and ax.get_yscale() == scale
        assert ax.get_title() == f"{key} = {record[key][-1]:.3g} at iteration {n - 1}"
    assert axes[2].lines[0].get_drawstyle() == "steps-post"  # a count holds until the next iteration
    assert axes[0].get_shared_x_axes().joined(axes[0], axes[2])
    assert axes[2].get_xlabel() == "iteration"
    # a method's own quantities, in their own order: mu on a log scale
    model.history = {"cost": record["cost"], "mu": np.geomspace(1e-3, 10, n),
                     "gradient_norm": record["gradient_norm"]}
    axes = plot_training_state(model, fig=Figure())
    assert [ax.get_ylabel() for ax in axes] == ["gradient_norm", "mu"]
    assert axes[1].get_yscale() == "log"


def test_training_state_bad_input(trained, pyplot_state):
    model, record, _ = trained
    model.history = {"cost": record["cost"]}
    with pytest.raises(ValueError, match="holds none of the quantities plot_training_state draws"):
        plot_training_state(model, fig=Figure())
    model.history = record
    fig = Figure()
    fig.add_subplot()
    with pytest.raises(ValueError, match="fig already holds 1 Axes"):
        plot_training_state(model, fig=fig)
    axes = plot_training_state(model)  # a new pyplot figure
    (new,) = set(plt.get_fignums()) - pyplot_state
    assert axes[0].figure is plt.figure(new)


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
