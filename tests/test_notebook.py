"""The digits notebook runs top to bottom in a real Jupyter kernel, without errors or warnings."""

import os
import shutil
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "digits.ipynb"


# Some versions of jupyter_client and pyzmq emit DeprecationWarnings of their own while a
# kernel starts; the notebook's code runs in the kernel, whose warnings are checked below.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_digits_notebook_runs_top_to_bottom(tmp_path):
    copy = tmp_path / NOTEBOOK.name  # run a copy, in a scratch folder: the repository's file stays as saved
    shutil.copyfile(NOTEBOOK, copy)
    nb = nbformat.read(copy, as_version=4)
    n_cells = len(nb.cells)
    # One cell more, to learn which Python the kernel runs.
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)"))
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(tmp_path)}})
    # One BLAS thread: on a small shared machine, OpenBLAS threads competing for
    # the cores with other processes make training many times slower.
    # execute() raises CellExecutionError at the first cell that fails
    client.execute(env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))

    assert nb.cells[-1].outputs[0]["text"].strip() == sys.prefix, (
        "the python3 kernel ran another Python than the tests; install ipykernel in this environment")
    for i, cell in enumerate(nb.cells[:n_cells]):
        for output in cell.get("outputs", []):
            assert output.get("name") != "stderr", f"cell {i} wrote to stderr:\n{output['text']}"
    outputs = [output for cell in nb.cells for output in cell.get("outputs", [])]
    assert any("image/png" in output.get("data", {}) for output in outputs)
