"""The progress bar: on a terminal and in a notebook, never in captured output, never fatal."""

import fcntl
import io
import os
import select
import struct
import subprocess
import sys
import termios
import textwrap
import types

import nbclient
import nbformat
import numpy as np
import pytest

from nnopt.progress import ProgressBar

COSTS = (0.5, 0.25, 0.123456)


def run_on_pty(code, columns=100, rows=24):
    """Run ``code`` in a child Python whose stdin, stdout and stderr are a
    pseudo-terminal ``columns`` wide and ``rows`` high; return everything it
    wrote there, as text."""
    master, slave = os.openpty()
    # a new pty is 0 x 0 until someone sets its size, as a terminal window does
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = dict(os.environ, TERM="xterm")
    env.pop("COLUMNS", None)  # the width comes from the terminal itself
    try:
        child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)],
                                 stdin=slave, stdout=slave, stderr=slave, env=env,
                                 close_fds=True)
    finally:
        os.close(slave)  # only the child holds the terminal now: its exit ends the reads
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                child.kill()
                pytest.fail("the child under the pty wrote nothing for 60 s")
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: Linux's answer once the child has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        child.wait(timeout=60)
    assert child.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode("utf-8", errors="replace")


DRIVE = """
    import sys
    from nnopt.progress import ProgressBar
    bar = ProgressBar(5, enabled={enabled})
    for J in {costs}:
        bar.update(J)
    bar.close()
    print("shown" if sys.stderr.isatty() else "not a tty", "IPython" in sys.modules)
"""


def test_the_bar_appears_on_a_terminal():
    out = run_on_pty(DRIVE.format(enabled=None, costs=COSTS))
    assert "3/5" in out  # iterations done of the limit
    assert "J=0.1235" in out  # the last cost, to 4 significant digits
    assert "<" in out.split("3/5")[-1]  # elapsed<remaining
    # the detection of a notebook did not import IPython
    assert out.rstrip().endswith("shown False")


def test_the_bar_fits_the_terminal():
    out = run_on_pty(DRIVE.format(enabled=None, costs=COSTS), columns=60)
    lines = [line for line in out.replace("\r\n", "\r").split("\r") if "3/5" in line]
    assert lines and all(len(line) <= 60 for line in lines)
    assert max(len(line) for line in lines) >= 50  # and uses it: the bar grows to fill it


@pytest.mark.parametrize("columns, rows", [(0, 24), (0, 0), (60, 0)], ids=["0x24", "0x0", "60x0"])
def test_the_bar_appears_on_a_terminal_that_reports_no_size(columns, rows):
    # os.openpty() without a size, some containers' terminals: 0 x 0. tqdm
    # would draw the bar 0 wide, and hide it as below a screen of 0 rows.
    out = run_on_pty(DRIVE.format(enabled=None, costs=COSTS), columns=columns, rows=rows)
    assert "3/5" in out and "J=0.1235" in out
    lines = [line for line in out.replace("\r\n", "\r").split("\r") if "3/5" in line]
    assert all(len(line) <= (columns or 80) for line in lines)


def test_enabled_false_prints_nothing_on_a_terminal():
    out = run_on_pty(DRIVE.format(enabled=False, costs=COSTS))
    # the pty turns "\n" into "\r\n"; nothing but the child's own line came out
    assert out.replace("\r\n", "\n") == "shown False\n"


def drive(bar, costs=COSTS):
    with bar:
        for J in costs:
            bar.update(J)


def test_nothing_at_all_is_written_to_a_captured_stream():
    stream = io.StringIO()
    bar = ProgressBar(5, file=stream)
    assert not bar.enabled
    drive(bar)
    assert stream.getvalue() == ""


def test_nothing_is_written_to_captured_stderr_or_stdout_by_default(capsys):
    # under pytest sys.stderr is a capture, not a terminal
    bar = ProgressBar(5)
    drive(bar)
    assert capsys.readouterr() == ("", "")


def test_enabled_true_forces_the_bar_onto_a_stream_that_is_no_terminal():
    stream = io.StringIO()
    drive(ProgressBar(5, enabled=True, desc="fitting", file=stream))
    text = stream.getvalue()
    assert text.startswith("\rfitting")
    assert "3/5" in text and "J=0.1235" in text
    assert text.endswith("\n")  # closed: the finished bar keeps its line


def test_no_limit_counts_without_a_length():
    stream = io.StringIO()
    drive(ProgressBar(None, enabled=True, file=stream))
    last = stream.getvalue().strip().split("\r")[-1]
    assert "3it" in last and "/" not in last.split("[")[0]


class FakeKernel:
    kernel = object()  # what ipykernel's shell has and a terminal IPython lacks


class FakeTerminalIPython:
    pass


def fake_ipython(monkeypatch, shell):
    module = types.ModuleType("IPython")
    module.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", module)


def test_in_a_notebook_kernel_the_bar_is_shown_by_default(monkeypatch, capsys):
    fake_ipython(monkeypatch, FakeKernel())
    # without ipywidgets the text bar goes to stdout, which a notebook shows as output
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    drive(ProgressBar(5))
    out, err = capsys.readouterr()
    assert "3/5" in out and "J=0.1235" in out
    assert len(out.split("\r")[-1].rstrip("\n")) == 100  # the cell's width, not a terminal's
    assert err == ""


@pytest.mark.parametrize("shell", [FakeTerminalIPython(), None], ids=["terminal IPython", "no shell"])
def test_ipython_without_a_kernel_is_not_a_notebook(monkeypatch, capsys, shell):
    fake_ipython(monkeypatch, shell)
    drive(ProgressBar(5))
    assert capsys.readouterr() == ("", "")


def test_in_a_notebook_an_explicit_stream_decides_by_itself(monkeypatch):
    fake_ipython(monkeypatch, FakeKernel())
    stream = io.StringIO()
    drive(ProgressBar(5, file=stream))
    assert stream.getvalue() == ""


class BrokenPipe(io.StringIO):
    """A terminal whose reader has gone away."""

    def isatty(self):
        return True

    def write(self, s):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_stream_never_raises():
    stream = io.StringIO()
    stream.close()
    bar = ProgressBar(5, enabled=True, file=stream)
    drive(bar)
    assert not bar.enabled


def test_a_stream_closed_during_the_run_never_raises():
    stream = io.StringIO()
    bar = ProgressBar(5, enabled=True, file=stream)
    bar.update(0.5)
    stream.close()
    for J in COSTS:
        bar.update(J)
    bar.close()
    bar.close()  # twice is fine too
    assert not bar.enabled


def test_a_broken_pipe_never_raises():
    bar = ProgressBar(5, file=BrokenPipe())  # a "terminal", so shown by default
    drive(bar)
    assert not bar.enabled


def test_the_context_manager_closes_the_bar():
    stream = io.StringIO()
    with ProgressBar(2, enabled=True, file=stream) as bar:
        bar.update(1.0)
        assert bar.enabled
    assert not bar.enabled
    assert stream.getvalue().endswith("\n")


@pytest.mark.parametrize("total, error, match", [
    (0, ValueError, r"total must be at least 1 .* got 0"),
    (-3, ValueError, r"total must be at least 1 .* got -3"),
    (2.5, TypeError, r"total must be an int .* got float 2\.5"),
    (True, TypeError, r"total must be an int .* got bool True"),
    ("10", TypeError, r"total must be an int .* got str '10'"),
])
def test_a_bad_total_is_refused(total, error, match):
    with pytest.raises(error, match=match):
        ProgressBar(total)


def test_a_bad_enabled_is_refused():
    with pytest.raises(TypeError, match=r"enabled must be True, False or None .* got str 'yes'"):
        ProgressBar(5, enabled="yes")


def test_a_bad_desc_is_refused():
    with pytest.raises(TypeError, match=r"desc must be a str, got int 3"):
        ProgressBar(5, desc=3)


def test_numpy_integers_are_a_valid_total():
    stream = io.StringIO()
    drive(ProgressBar(np.int64(5), enabled=True, file=stream))
    assert "3/5" in stream.getvalue()


def test_tqdm_is_not_imported_for_a_disabled_bar():
    # a disabled bar must cost nothing: not even tqdm's import
    code = ("import sys; from nnopt.progress import ProgressBar\n"
            "b = ProgressBar(5, enabled=False); b.update(1.0); b.close()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tqdm', 'IPython')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert out.stderr == ""


# jupyter_client and pyzmq may emit DeprecationWarnings of their own while a
# kernel starts (as in test_notebook); the kernel's output is checked below
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_in_a_real_jupyter_kernel_the_bar_is_shown_and_nothing_goes_to_stderr(tmp_path):
    code = ("from nnopt.progress import ProgressBar\n"
            f"with ProgressBar(5) as bar:\n    for J in {COSTS}:\n        bar.update(J)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    assert all(o.get("name") != "stderr" for o in outputs), outputs
    # a text bar on stdout, or with ipywidgets a widget whose text/plain is the bar
    shown = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                    for o in outputs)
    assert "3/5" in shown and "J=0.1235" in shown


# ---------------------------------------------------------------- through train and the CLI


def test_train_shows_the_bar_on_a_terminal():
    out = run_on_pty("""
        import nnopt
        X, y = nnopt.load_digits()
        nnopt.train(X[::25], y[::25], hidden_layer_sizes=(5,), method="L-BFGS-B", maxiter=4)
    """)
    assert "4/4" in out and "J=" in out


def test_the_cli_shows_the_bar_on_a_terminal(tmp_path):
    out = run_on_pty(f"""
        from nnopt.cli import main
        main(["train", "--maxiter", "3", "--hidden", "5", "--method", "L-BFGS-B",
              "--out", {str(tmp_path / "m.npz")!r}])
    """)
    assert "3/3" in out and "held-out accuracy" in out


def test_train_writes_no_bar_to_captured_output(capsys):
    import nnopt
    X, y = nnopt.load_digits()
    nnopt.train(X[::25], y[::25], hidden_layer_sizes=(5,), method="L-BFGS-B", maxiter=4)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
