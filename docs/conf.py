"""Sphinx configuration of nnopt's documentation.

Build it, with warnings as errors as CI does:

    pip install ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

The notebooks are rendered from their saved outputs (never re-executed), the
API reference from the docstrings, and the command-line page from the parser
itself, so none of them can drift from the code.
"""

import argparse
import contextlib
import io
import os
from unittest import mock

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

import nnopt
from nnopt import cli

project = "nnopt"
author = "the nnopt authors"
copyright = "nnopt authors"  # noqa: A001 (Sphinx's name for it)
version = release = nnopt.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]

# docs/notebooks is a link to the repository's notebooks/ folder: the
# notebooks and their pictures are documented where they live, not copied
exclude_patterns = ["_build", "README.md", "**/.ipynb_checkpoints"]
templates_path = ["_templates"]
# `name` in a docstring, numpy's convention, links to that name when it is
# documented here and reads as code when it is not
default_role = "py:obj"

# --- notebooks (myst-nb) ----------------------------------------------------
# Rendered from the outputs saved in the file: building the docs must not
# train networks, and what readers see is what the notebook shows on GitHub.
nb_execution_mode = "off"
# tqdm's "\r" redraws and split print() calls read as one clean stream
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]

# --- API reference (autosummary + numpydoc) -------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False  # a module's page lists its __all__, nothing else
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc sections carry the types, with shapes
# the class template lists the methods itself, one page per class
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# --- HTML -------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"nnopt {release}"
html_theme_options = {
    "description": "Neural networks, backpropagation, SciPy's optimizers",
    "fixed_sidebar": False,
    # room for the notebooks' 100-character lines of code without a scroll bar
    "page_width": "1240px",
    "sidebar_width": "220px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}
html_show_sourcelink = False


# --- the command line's --help, generated at build time ------------------------

def help_text(command=None, width=80):
    """What ``nnopt [COMMAND] --help`` prints, at a fixed width.

    argparse wraps to the terminal's width (COLUMNS); fixing it keeps the page
    the same whichever terminal built it.
    """
    argv = ([command] if command else []) + ["--help"]
    out = io.StringIO()
    with mock.patch.dict(os.environ, {"COLUMNS": str(width)}), \
            contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        cli._parser().parse_args(argv)
    text = out.getvalue()
    if not text.startswith("usage: nnopt"):
        raise RuntimeError(f"nnopt {' '.join(argv)} printed no usage: {text!r}")
    return text


def subcommands():
    """The parser's subcommands, in its order."""
    for action in cli._parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


class NnoptHelp(SphinxDirective):
    """``.. nnopt-help:: [COMMAND]``: the text of ``nnopt [COMMAND] --help``."""

    optional_arguments = 1
    option_spec = {"width": directives.positive_int}

    def run(self):
        command = self.arguments[0] if self.arguments else None
        if command is not None and command not in subcommands():
            raise self.error(f"nnopt has no command {command!r} (it has {subcommands()})")
        text = help_text(command, self.options.get("width", 80))
        block = nodes.literal_block(text, text, language="text")
        self.set_source_info(block)
        return [block]


def drop_object_base(app, name, obj, options, bases):
    """Keep "Bases: ValueError" on the exceptions, but no "Bases: object" on
    every plain class."""
    bases[:] = [base for base in bases if base is not object]


def skip_metadata_requests(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_*_request`` methods of the
    estimators: their docstrings link into scikit-learn's own glossary,
    which this site does not have, and they are scikit-learn's API, not nnopt's."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.add_directive("nnopt-help", NnoptHelp)
    app.connect("autodoc-process-bases", drop_object_base)
    app.connect("autodoc-skip-member", skip_metadata_requests)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
