"""The documentation's sources keep up with the code: every public name, every
command and every picture has its place. Reads the sources only; the build
itself (sphinx-build -W) runs in .ci/run."""

import argparse
import ast
import re
from pathlib import Path

import nnopt
from nnopt import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def directive_bodies(text, name):
    """The indented lines under each ``.. name::`` directive, without its
    options (``:toctree: ...``), blank lines and comments."""
    bodies = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = re.match(rf"^(\s*)\.\. {re.escape(name)}::(.*)$", line)
        if not match:
            continue
        indent = len(match.group(1))
        body = []
        for following in lines[i + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break  # back at the directive's own level: its body has ended
            entry = following.strip()
            if entry and not entry.startswith((":", "..")):
                body.append(entry)
        bodies.append((match.group(2).strip(), body))
    return bodies


def api_entries():
    text = (DOCS / "api.rst").read_text(encoding="utf-8")
    assert ".. currentmodule:: nnopt\n" in text  # the entries below are names in nnopt
    return [entry for _, body in directive_bodies(text, "autosummary") for entry in body]


def test_the_api_page_names_every_public_name():
    missing = sorted(set(nnopt.__all__) - set(api_entries()))
    assert not missing, (
        f"nnopt.__all__ has {missing} but docs/api.rst does not list them: add each, one "
        f"line, under its group's autosummary")


def test_the_api_page_names_only_public_names_and_each_once():
    entries = api_entries()
    assert len(entries) == len(set(entries)), f"listed twice: {entries}"
    extra = sorted(set(entries) - set(nnopt.__all__))
    assert not extra, f"docs/api.rst lists {extra}, which are not in nnopt.__all__"


def test_the_parser_finds_the_entries_and_only_them():
    # the check above is only as good as this reading of the .rst
    text = """
Heading
-------

.. autosummary::
   :toctree: generated
   :nosignatures:

   unroll
   reshape

Some prose, not an entry.

.. autosummary::

   .. a comment
   train
"""
    assert [b for _, b in directive_bodies(text, "autosummary")] == [["unroll", "reshape"], ["train"]]


def subcommands():
    for action in cli._parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    raise AssertionError("nnopt's parser has no subcommands")


def test_the_command_line_page_shows_every_command_s_help():
    text = (DOCS / "cli.rst").read_text(encoding="utf-8")
    shown = [argument for argument, _ in directive_bodies(text, "nnopt-help")]
    assert shown[0] == "", "the page starts with nnopt --help itself"
    assert shown[1:] == subcommands(), (
        f"docs/cli.rst shows the help of {shown[1:]}, the parser has {subcommands()}")


def test_the_pictures_page_shows_every_picture():
    figures = sorted(p.name for p in (ROOT / "notebooks" / "figures").glob("*.png"))
    assert figures, "notebooks/figures has no pictures"
    text = (DOCS / "pictures.rst").read_text(encoding="utf-8")
    shown = re.findall(r"^\.\. (?:figure|image):: notebooks/figures/(\S+)$", text, re.MULTILINE)
    assert sorted(shown) == figures


def test_the_notebooks_are_the_repository_s_own_and_are_not_executed():
    # a link, not a copy: the site shows the notebooks as they are saved
    assert (DOCS / "notebooks").resolve() == (ROOT / "notebooks").resolve()
    conf = ast.parse((DOCS / "conf.py").read_text(encoding="utf-8"))
    settings = {target.id: node.value for node in conf.body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    assert ast.literal_eval(settings["nb_execution_mode"]) == "off"
