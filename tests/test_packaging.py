"""The built wheel: it carries the bundled data, and a fresh install works from anywhere.

The wheel is built once per test session from a copy of the source tree, so
that a stale build/ folder in the checkout can never leak into it and parallel
runs do not share one. Installing it into a new venv takes about ten seconds;
numpy, scipy and matplotlib come from the environment running the tests (see
`installed`), so no network is needed beyond build isolation.
"""

import importlib.metadata
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 900  # seconds per command: a hung download should fail the test, not block the suite
_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "*.whl",
)


def _run(cmd, **kwargs):
    """Run a command and fail the test with its output if it fails."""
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def _setuptools_can_build_offline():
    """True if this environment has what pyproject.toml's build-system asks for."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    version = tuple(int(p) for p in importlib.metadata.version("setuptools").split(".")[:2] if p.isdigit())
    # setuptools >= 70.1 builds wheels by itself; older ones need the wheel package
    return version >= (70, 1) or (version >= (64,) and importlib.util.find_spec("wheel") is not None)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """Path of the nnopt wheel built with `pip wheel` from a copy of the repository."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=_IGNORE)
    cmd = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(tmp / "dist"),
           "--disable-pip-version-check", "-q"]
    if _setuptools_can_build_offline():
        cmd.append("--no-build-isolation")
    _run(cmd)
    (path,) = (tmp / "dist").glob("nnopt-*.whl")
    return path


class Venv:
    """A fresh venv with the wheel installed; `run` runs its programs."""

    def __init__(self, root):
        self.root = root
        self.bin = root / ("Scripts" if os.name == "nt" else "bin")
        # Without the test environment's PYTHONPATH, so only the installed nnopt can be found.
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}

    def run(self, program, *args, cwd):
        """Run `program` ("python", "nnopt", ...) from this venv in `cwd`; return its stdout."""
        return _run([str(self.bin / program), *args], cwd=cwd, env=self.env)


@pytest.fixture(scope="session")
def installed(wheel, tmp_path_factory):
    """A new venv with the wheel installed and the test environment's dependencies visible.

    ``venv --system-site-packages`` would show the base interpreter's packages,
    not those of the venv running the tests, so instead a .pth file appends the
    folders holding numpy, scipy and matplotlib. It is written after pip has
    installed nnopt, so that pip never sees another nnopt, and the venv's own
    site-packages stays first on sys.path.
    """
    venv = Venv(tmp_path_factory.mktemp("venv") / "venv")
    _run([sys.executable, "-m", "venv", str(venv.root)])
    venv.run("python", "-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check",
             "-q", str(wheel), cwd=venv.root)
    site = Path(venv.run("python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                         cwd=venv.root).strip())
    deps = {str(Path(importlib.util.find_spec(name).origin).parent.parent)
            for name in ("numpy", "scipy", "matplotlib")}
    (site / "test_environment_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    return venv


def test_wheel_carries_the_digits_and_their_attribution(wheel):
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        assert "nnopt/_data/digits.npz" in names
        assert "nnopt/_data/README.md" in names
        assert "nnopt/datasets.py" in names
        assert not [n for n in names if n.endswith(".csv.gz")]
        assert whl.getinfo("nnopt/_data/digits.npz").file_size < 2_000_000
        with np.load(io.BytesIO(whl.read("nnopt/_data/digits.npz")), allow_pickle=False) as npz:
            assert npz["X"].shape == (5000, 784) and npz["y"].shape == (5000,)
        assert "CC BY-SA 3.0" in whl.read("nnopt/_data/README.md").decode()
        # pure Python: nothing compiled, nothing to compile
        assert not [n for n in names if n.endswith((".so", ".pyd", ".dll", ".dylib", ".c", ".h"))]
        tags = [line for line in whl.read(_dist_info(names) + "/WHEEL").decode().splitlines()
                if line.startswith("Tag:")]
        assert tags == ["Tag: py3-none-any"]
        assert "Root-Is-Purelib: true" in whl.read(_dist_info(names) + "/WHEEL").decode()


def _dist_info(names):
    (folder,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    return folder


def test_the_source_holds_no_compiled_code():
    # numpy's BLAS does the arithmetic: nnopt has no C of its own, and no setup.py to build it
    package = REPO / "nnopt"
    assert not [p.name for p in package.rglob("*") if p.suffix in (".c", ".h", ".so", ".pyd", ".pyx")]
    assert not (REPO / "setup.py").exists()


def test_installed_wheel_works_from_another_directory(installed, tmp_path):
    out = installed.run("python", "-c", (
        "import nnopt, nnopt.datasets, nnopt._data.make_digits; "
        "X, y = nnopt.datasets.load_digits(); print(X.shape, y.shape); print(nnopt.__file__)"
    ), cwd=tmp_path)
    shape, location = out.splitlines()
    assert shape == "(5000, 784) (5000,)"
    # the installed copy, not the checkout
    assert Path(location).resolve().is_relative_to(installed.root.resolve())
    assert installed.run("nnopt", "--version", cwd=tmp_path).startswith("nnopt ")


def test_installed_console_script_trains_on_the_bundled_digits(installed, tmp_path):
    out = installed.run("nnopt", "train", "--maxiter", "20", cwd=tmp_path)
    assert "held-out accuracy" in out
    assert "20 iterations" in out
    accuracy = float(out.split("held-out accuracy ")[1].split("%")[0])
    assert accuracy > 70
    assert (tmp_path / "model.npz").is_file()
    predictions = installed.run("python", "-m", "nnopt", "predict", "--model", "model.npz", "--data",
                                str(_digits_npz()), cwd=tmp_path).split()
    assert len(predictions) == 5000 and set(predictions) <= set("0123456789")


def _digits_npz():
    """The repository's data/digits.npz (X uint8 and y), usable as --data."""
    return Path(__file__).resolve().parent.parent / "data" / "digits.npz"
