"""The ``nnopt`` command line."""

import argparse
import sys

from . import __version__
from .gradcheck import check_gradients


def _parser():
    p = argparse.ArgumentParser(prog="nnopt", description="Train sigmoid neural networks with backpropagation.")
    p.add_argument("--version", action="version", version=f"nnopt {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("check-gradients", help="compare backpropagation with central differences")
    g.add_argument("--lam", type=float, default=0.0)
    g.add_argument("--loss", default="cross_entropy", choices=["cross_entropy", "squared_error"])
    g.add_argument("--hidden", type=int, nargs="+", default=[5])
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "check-gradients":
        check_gradients(args.lam, (3, *args.hidden, 3), loss=args.loss, verbose=True)
    return 0
