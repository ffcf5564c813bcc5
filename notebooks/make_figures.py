"""Make the README's pictures, and re-run the notebooks with their outputs.

    python notebooks/make_figures.py              # the PNGs in notebooks/figures/
    python notebooks/make_figures.py --notebook   # also re-execute notebooks/digits.ipynb in place
    python notebooks/make_figures.py --beyond     # only re-execute notebooks/beyond.ipynb in place
                                                  # (with --notebook: the pictures and both notebooks)

The pictures, from the bundled digits (4,000 to train, 1,000 held out, λ = 1, seed 0):

    figures/digits.png        a grid of training examples with their labels
    figures/cost_curve.png    J(Θ) of TNC, CG and L-BFGS-B, each with its default iteration
                              limit, against iteration and against wall time
    figures/hidden_units.png  the first-layer weights of the TNC network's 25 hidden units,
                              on one colour scale symmetric about 0
    figures/misclassified.png held-out digits the TNC network gets wrong, "true (pred p)"

The weights the notebook starts from (data/digits_weights.npz) are made by
data/make_weights.py, not here.

The wall times, and so the right half of cost_curve.png, change from run to run.
"""

import argparse
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import nnopt
from nnopt.plots import display_digits, display_hidden_units, plot_cost_curve

HERE = Path(__file__).resolve().parent
FIGURES = HERE / "figures"
NOTEBOOK = HERE / "digits.ipynb"
BEYOND = HERE / "beyond.ipynb"
DPI = 80  # small files that still read well on a code host


def save(fig, name):
    path = FIGURES / name
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    print(f"wrote {path.relative_to(HERE.parent)}")


def make_figures():
    FIGURES.mkdir(exist_ok=True)
    X, y = nnopt.load_digits()
    X_train, X_test, y_train, y_test = nnopt.train_test_split(X, y, test_size=0.2, seed=0)

    # Figure objects of their own: no pyplot, no window, nothing left open. The image
    # grids fill the width and leave spare height below, which bbox_inches="tight" crops.
    fig = Figure(figsize=(8.4, 5))
    display_digits(X_train, labels=y_train, n=40, ncols=10, fig=fig)
    save(fig, "digits.png")

    models = []
    for method in ("TNC", "CG", "L-BFGS-B"):
        model = nnopt.train(X_train, y_train, lam=1.0, method=method, seed=0)
        print(f"{method:>8}: {model.n_iter} iterations, {model.time_history[-1]:.1f} s, "
              f"held-out accuracy {model.score(X_test, y_test):.1%}")
        models.append(model)
    fig = Figure(figsize=(11, 4))
    left, right = fig.subplots(1, 2, sharey=True)
    plot_cost_curve(*models, ax=left, logy=True)
    plot_cost_curve(*models, ax=right, x="time", logy=True)
    left.set_title("against iterations (of different cost)")
    right.set_title("against wall time")
    save(fig, "cost_curve.png")

    fig = Figure(figsize=(6.2, 6))
    display_hidden_units(models[0], fig=fig)
    save(fig, "hidden_units.png")

    tnc = models[0]
    predictions = tnc.predict(X_test)
    wrong = np.flatnonzero(predictions != y_test)
    fig = Figure(figsize=(8.4, 5))
    display_digits(X_test[wrong], y_test[wrong], predictions[wrong], n=30, ncols=10, fig=fig)
    save(fig, "misclassified.png")


def as_displayed(outputs):
    """A cell's outputs as Jupyter shows them once the cell is done.

    A progress bar redraws its line with carriage returns, and arrives as
    one stream output per redraw; saved as they are, every redraw would show
    on a page that renders the notebook. Consecutive outputs of one stream
    are joined, and each line keeps what follows its last carriage return.
    """
    merged = []
    for output in outputs:
        if (output.output_type == "stream" and merged and merged[-1].output_type == "stream"
                and merged[-1].name == output.name):
            merged[-1].text += output.text
        else:
            merged.append(output)
    for output in merged:
        if output.output_type == "stream":
            output.text = "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in output.text.split("\n"))
    return merged


def run_notebook(path=NOTEBOOK):
    """Execute the notebook at `path` top to bottom in a python3 kernel and save it with its outputs."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=600, record_timing=False,
                            resources={"metadata": {"path": str(HERE)}})
    client.execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = as_displayed(cell.outputs)
    nbformat.write(nb, path)
    print(f"executed and saved {path.relative_to(HERE.parent)} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", action="store_true",
                        help="also re-execute notebooks/digits.ipynb in place")
    parser.add_argument("--beyond", action="store_true",
                        help="re-execute notebooks/beyond.ipynb in place; on its own, without remaking "
                             "the pictures (it makes none of them)")
    args = parser.parse_args()
    if args.notebook or not args.beyond:
        make_figures()
    if args.notebook:
        run_notebook()
    if args.beyond:
        run_notebook(BEYOND)
