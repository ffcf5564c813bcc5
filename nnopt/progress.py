"""A progress bar for training: iterations done of the limit, the cost, the time left.

Shown on a terminal and in a Jupyter notebook, silent everywhere else (a log
file, a pipe, captured output), unless forced on or off. The display never
fails a training run: if its stream breaks, the bar goes quiet and training
goes on.
"""

import importlib.util
import numbers
import os
import sys


def _in_kernel():
    """Whether this Python is a Jupyter kernel (IPython with a ``kernel``).

    Looks only at an IPython that is already imported: importing it here
    would slow every script's start to learn that it is not.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython half torn down at exit, a stub: not a kernel
        return False
    return shell is not None and hasattr(shell, "kernel")


def _isatty(file):
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def _terminal_size(file):
    """(columns, lines) of the terminal ``file`` is; 0 for each unknown, (0, 0) if not a terminal."""
    try:
        return tuple(os.get_terminal_size(file.fileno()))
    except (AttributeError, ValueError, OSError):  # no fileno, closed, not a terminal
        return 0, 0


class ProgressBar:
    """Iterations done of ``total``, the current cost, elapsed and remaining time.

    A thin layer over tqdm that decides where the bar belongs and keeps a
    broken display from ever stopping the computation it reports on.

    Parameters
    ----------
    total : int or None
        The iteration limit (``maxiter``), at least 1; None when there is
        none, and then the bar counts without a length or a time left. A run
        that stops early, having converged, leaves the bar short of it.
    enabled : bool or None, optional
        None (default): shown when ``file`` is a terminal, or, when ``file``
        is not given, inside a Jupyter kernel (as a widget when ipywidgets is
        installed, else as text on the notebook's stdout). True shows it on
        any stream; False never shows it.
    desc : str, optional
        The bar's label.
    file : file-like or None, optional
        Where the bar is drawn; None means ``sys.stderr`` as it is when the
        bar is made.

    Notes
    -----
    Disabled, the bar neither imports tqdm nor writes a byte: ``update``
    is one attribute test. Use it as a context manager, or call ``close``
    at the end, so the finished bar stays on screen and the terminal's line
    is released.

    Examples
    --------
    >>> with ProgressBar(3, enabled=False) as bar:
    ...     for J in (0.9, 0.5, 0.3):
    ...         bar.update(J)
    """

    def __init__(self, total, enabled=None, desc="training", file=None):
        if total is not None:
            if isinstance(total, bool) or not isinstance(total, numbers.Integral):
                raise TypeError(f"total must be an int (the iteration limit) or None, "
                                f"got {type(total).__name__} {total!r}")
            if total < 1:
                raise ValueError(f"total must be at least 1 (the iteration limit), got {total}")
            total = int(total)
        if enabled is not None and not isinstance(enabled, bool):
            raise TypeError(f"enabled must be True, False or None (show on a terminal or in "
                            f"a notebook), got {type(enabled).__name__} {enabled!r}")
        if not isinstance(desc, str):
            raise TypeError(f"desc must be a str, got {type(desc).__name__} {desc!r}")
        notebook = file is None and _in_kernel()
        if file is None:
            file = sys.stderr
        if enabled is None:
            enabled = notebook or _isatty(file)
        self._bar = None
        if enabled:
            self._bar = self._guarded(self._make, total, desc, file, notebook)

    @staticmethod
    def _make(total, desc, file, notebook):
        width = {}
        if notebook and importlib.util.find_spec("ipywidgets") is not None:
            # tqdm.auto picks the widget in a notebook and text in qtconsole or
            # spyder; without ipywidgets it would warn and fall back to stderr
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
            if notebook:
                # a text bar in a notebook: on stderr it would look like an
                # error, and its width is the cell's, not some terminal's
                file, width["ncols"] = sys.stdout, 100
            else:
                columns, lines = _terminal_size(file)
                if columns and lines:
                    width["dynamic_ncols"] = True  # follow a resized terminal
                elif _isatty(file):
                    # A terminal that reports no size (0 x 0: a fresh pty, some
                    # containers'): tqdm would fit the bar into 0 columns and,
                    # taking the screen for 0 rows high, hide the bar as lying
                    # below it. So the size is given: what the terminal reports
                    # (less one, as tqdm reads it), else 80 x 24.
                    width["ncols"] = columns - 1 if columns else 80
                    width["nrows"] = lines - 1 if lines else 24
        # leave: the finished bar stays on screen
        return tqdm(total=total, desc=desc, file=file, unit="it", leave=True, **width)

    def _guarded(self, action, *args):
        """``action(*args)``; on any error the bar goes quiet instead.

        A display has no business stopping a training run: a stream closed
        under it, a broken pipe, a terminal gone away all silence it.
        KeyboardInterrupt is not an Exception and still stops the run.
        """
        try:
            return action(*args)
        except Exception:
            self._bar = None
            return None

    @property
    def enabled(self):
        """bool: whether the bar is being drawn (False once closed or broken)."""
        return self._bar is not None

    def update(self, J):
        """Count one iteration done, at cost ``J``.

        Parameters
        ----------
        J : float
            The cost after this iteration, shown as ``J=...`` after the count.
        """
        if self._bar is None:
            return
        self._guarded(self._step, J)

    def _step(self, J):
        # refresh=False: update() below redraws at most every 0.1 s anyway
        self._bar.set_postfix_str(f"J={float(J):.4g}", refresh=False)
        self._bar.update(1)

    def close(self):
        """Draw the final state and release the line. Calling it again does nothing."""
        if self._bar is None:
            return
        bar, self._bar = self._bar, None
        try:
            bar.close()
        except Exception:  # the same reasons as in _guarded: never fail the run
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False
