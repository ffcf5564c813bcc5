"""The "Beyond the course" notebook: one example of each thing nnopt adds to the course,
run top to bottom in a real Jupyter kernel without errors or warnings, each printing the
number it checks; the repository keeps it with the outputs of one such run."""

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "beyond.ipynb"

SECTIONS = [
    "Other units: ReLU hidden units and a softmax output", "Regression", "Multi-label classification",
    "Sample weights", "Exact curvature: the Hessian's eigenvalues, and Newton's method", "scikit-learn",
    "Early stopping on a validation set, as MATLAB's `train` does it",
    "Fitting a noisy curve: Levenberg–Marquardt and Bayesian regularization",
]
NUMBER = r"([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"
# the figures: the fitted curve, the cost curves, the spectra, the performance plot, and the
# noisy curve's fits and its performance and regression plots (one figure)
N_PICTURES = 6


def _text(nb):
    """Everything the code cells printed, in order."""
    return "".join(output.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for output in cell.get("outputs", []))


def _numbers(line_start, text):
    """The comma-separated numbers printed after `line_start`."""
    match = re.search(rf"^{re.escape(line_start)}(.*)$", text, flags=re.M)
    assert match, f"no line starting {line_start!r}"
    return [float(value) for value in match.group(1).split(",")]


def _found(pattern, text):
    """The groups of `pattern`'s first match in `text`, as numbers."""
    match = re.search(pattern, text)
    assert match, f"nothing printed matches {pattern!r}"
    return [float(group) for group in match.groups()]


def check_printed_numbers(text):
    """Each section's number, as the notebook prints it, against what the section claims."""
    (accuracy,) = _found(rf"ReLU and softmax: held-out accuracy {NUMBER}%", text)
    assert accuracy >= 91.0

    r2, r2_truth = _found(rf"R² on 100 new points: {NUMBER}  \(sin 3x itself: {NUMBER}\)", text)
    assert r2 >= 0.95 and r2 > r2_truth - 0.01

    (all_three,) = _found(rf"on all three: {NUMBER}%", text)
    assert all_three >= 93.0

    # weight 0 on the 9s: no held-out 9 is read as one, and J is J without them
    read_as_nine, nines = _found(r"held-out 9s read as 9: (\d+) of (\d+);", text)
    assert read_as_nine == 0 and nines > 0
    weighted, without = _found(rf"J with weights {NUMBER}\nJ without 9s +{NUMBER}", text)
    assert weighted == pytest.approx(without, abs=1e-12)

    # negative curvature at θ0 comparable to the positive; slight after training
    start = _numbers("eigenvalues of H at θ0:", text)
    end = _numbers("eigenvalues of H after training:", text)
    assert len(start) == len(end) == 6
    assert start == sorted(start) and end == sorted(end)
    assert start[0] < -0.1 * start[-1]
    assert end[0] > -1e-2 * end[-1] and end[-1] > 0
    # along a weight from a blank pixel the curvature is exactly λ/m
    along, floor = _found(rf"H·v = {NUMBER} v along one of them, λ/m = {NUMBER}", text)
    assert along == pytest.approx(floor, rel=1e-12)

    folds = re.search(r"accuracy on each held-out fold: \[(.*)\]", text)
    assert folds and len(folds.group(1).split()) == 3
    (mean,) = _found(rf"accuracy on each held-out fold: .*  mean {NUMBER}%", text)
    assert mean >= 85.0

    # the overfitting network, stopped early, against the same run's last iteration
    assert "Validation stop" in text
    best_accuracy, best, last_accuracy = _found(
        rf"held-out accuracy: {NUMBER}% with the best validation iteration \((\d+)\), {NUMBER}% with the last",
        text)
    assert best_accuracy >= 88.0 and best >= 5

    # the noisy sine: LM at λ = 0 fits the points more closely than sin 2πx does, and is further
    # from sin 2πx than BR, whose γ lies within (0, N) and whose λ is α/β
    lm_mse, lm_iterations, lm_cost, sin_cost = _found(
        rf"LM, λ = 0: MSE against sin 2πx {NUMBER} after (\d+) iterations; "
        rf"training cost J = {NUMBER}, sin 2πx itself {NUMBER}", text)
    assert lm_cost < sin_cost and lm_iterations > 0
    assert sin_cost == pytest.approx(0.2**2 / 2, rel=0.25)  # σ²/2, to the sampling of 60 points
    br_mse, gamma, n_params, alpha, beta, lam_br = _found(
        rf"BR: MSE against sin 2πx {NUMBER}, γ = {NUMBER} of (\d+), λ = α/β = {NUMBER}/{NUMBER} = {NUMBER}",
        text)
    assert n_params == 1 * 20 + 20 + 20 * 1 + 1  # the weights and biases of 1-20-1
    assert 0 < gamma < n_params
    assert lam_br == pytest.approx(alpha / beta, rel=1e-2)  # to the 3 digits printed
    assert br_mse < 0.5 * lm_mse and br_mse < 0.02
    lam_lm, lm_br_mse, gap = _found(
        rf"LM, λ = {NUMBER}: MSE against sin 2πx {NUMBER}, BR's curve to within {NUMBER}", text)
    assert lam_lm == lam_br and lm_br_mse == pytest.approx(br_mse, abs=1e-4) and gap < 1e-4
    stopped_mse, best_lm, n_lm = _found(
        rf"LM, λ = 0, early stopping: MSE against sin 2πx {NUMBER} \(the θ of iteration (\d+) of (\d+)\)", text)
    assert stopped_mse < lm_mse and 0 < best_lm < n_lm
    lm_train, br_train, lm_new, br_new, sin_new = _found(
        rf"R on the 60 training points: LM {NUMBER}, BR {NUMBER}; on 200 new points: LM {NUMBER}, "
        rf"BR {NUMBER} \(sin 2πx itself {NUMBER}\)", text)
    assert lm_train > br_train and br_new > lm_new and br_new > sin_new - 0.02


def test_beyond_notebook_sections_in_order():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    headings = [m.group(1) for cell in nb.cells if cell.cell_type == "markdown"
                for m in re.finditer(r"^## (\d+\. .+)$", cell.source, flags=re.M)]
    assert headings == [f"{i}. {name}" for i, name in enumerate(SECTIONS, start=1)]


def test_saved_beyond_notebook_holds_the_outputs_of_one_run():
    """The repository keeps the notebook with its outputs (make_figures.py --beyond)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    # every code cell run, once each, in order, by one kernel
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    outputs = [output for cell in code for output in cell.outputs]
    assert not any(output.output_type == "error" for output in outputs)
    assert not any(output.get("name") == "stderr" for output in outputs)
    streams = [output.text for output in outputs if output.output_type == "stream"]
    assert not any("\r" in text for text in streams)
    assert sum("image/png" in output.get("data", {}) for output in outputs) == N_PICTURES
    check_printed_numbers(_text(nb))


# Some versions of jupyter_client and pyzmq emit DeprecationWarnings of their own while a
# kernel starts; the notebook's code runs in the kernel, whose warnings are checked below.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_beyond_notebook_runs_top_to_bottom(run_notebook):
    nb = run_notebook(NOTEBOOK)
    outputs = [output for cell in nb.cells for output in cell.get("outputs", [])]
    assert sum("image/png" in output.get("data", {}) for output in outputs) == N_PICTURES
    check_printed_numbers(_text(nb))
