"""The digits notebook: the course's steps in order, run top to bottom in a real Jupyter kernel,
without errors or warnings, each step's number as the course checks it."""

import importlib.util
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "digits.ipynb"

# ex4.m's parts, in its order (with accuracy on held-out digits as well as on the training set)
STEPS = [
    "Load and see the data", "The given weights", "Feedforward and cost", "Regularized cost",
    "Sigmoid gradient", "Random initialization", "Backpropagation, from scratch", "Gradient checking",
    "Gradient checking with regularization", "Training", "Visualizing the hidden layer", "Accuracy",
]
NUMBER = r"([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"


def _text(cell):
    return "".join(output.get("text", "") for output in cell.get("outputs", []))


def test_notebook_follows_the_course_steps_in_order():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    headings = [m.group(1) for cell in nb.cells if cell.cell_type == "markdown"
                for m in re.finditer(r"^## (\d+\. .+)$", cell.source, flags=re.M)]
    assert headings == [f"{i}. {step}" for i, step in enumerate(STEPS, start=1)]


def test_saved_notebook_holds_the_outputs_of_one_run():
    """The repository keeps the notebook with its outputs (make_figures.py --notebook)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert not any(output.output_type == "error" for cell in code for output in cell.outputs)
    # a progress bar saved as Jupyter shows it when done: its last redraw, once
    streams = [output.text for cell in code for output in cell.outputs if output.output_type == "stream"]
    assert not any("\r" in text for text in streams)


def test_make_figures_saves_outputs_as_jupyter_shows_them():
    spec = importlib.util.spec_from_file_location("make_figures", NOTEBOOK.parent / "make_figures.py")
    make_figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_figures)
    new = nbformat.v4.new_output
    outputs = [new("stream", name="stdout", text="\rtraining:   0%|  | 0/25"),
               new("stream", name="stdout", text="\rtraining:  40%|# | 10/25"),
               new("stream", name="stdout", text="\rtraining: 100%|##| 25/25\r"),
               new("stream", name="stdout", text="\n25 iterations\n"),
               new("stream", name="stderr", text="a warning\n"),
               new("display_data", data={"text/plain": "<Figure>"}),
               new("stream", name="stdout", text="after the figure\n")]
    shown = make_figures.as_displayed(outputs)
    assert [(o.output_type, o.get("name")) for o in shown] == [
        ("stream", "stdout"), ("stream", "stderr"), ("display_data", None), ("stream", "stdout")]
    assert shown[0].text == "training: 100%|##| 25/25\n25 iterations\n"
    assert shown[1].text == "a warning\n" and shown[3].text == "after the figure\n"


# Some versions of jupyter_client and pyzmq emit DeprecationWarnings of their own while a
# kernel starts; the notebook's code runs in the kernel, whose warnings are checked below.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_digits_notebook_runs_top_to_bottom(run_notebook):
    nb = run_notebook(NOTEBOOK)
    outputs = [output for cell in nb.cells for output in cell.get("outputs", [])]
    assert sum("image/png" in output.get("data", {}) for output in outputs) >= 4

    text = "".join(_text(cell) for cell in nb.cells)
    # J at the given weights for λ = 0, 1, 3, each against the value the notebook states
    costs = re.findall(rf"\): {NUMBER}  \(this value should be about {NUMBER}\)", text)
    assert len(costs) == 3
    for value, expected in costs:
        assert float(value) == pytest.approx(float(expected), abs=1e-6)
    # the gradient checks, λ = 0 and 3, below the course's threshold
    checks = re.findall(rf"Relative difference.*: {NUMBER}  \(this should be less than 1e-9\)", text)
    assert len(checks) == 2 and all(float(value) < 1e-9 for value in checks)
    # backpropagation from scratch agrees with nnopt's
    difference = re.search(rf"largest \|difference\| from nnopt: {NUMBER}", text)
    assert difference and float(difference.group(1)) < 1e-12
    assert "g'(z) at z =" in text and "0.25 " in text
