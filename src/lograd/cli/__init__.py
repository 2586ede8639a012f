"""The ``lograd`` command line: a thin layer over the library.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds its
parser and sets ``func`` to a handler ``func(args) -> int``. User errors raise
:class:`lograd.errors.UserError` and become one line on stderr with exit status 2; Ctrl-C
becomes "interrupted" and exit status 130, whenever it comes (even while the heavy modules are
imported, which is why this module imports nothing heavy at the top).
"""

from __future__ import annotations

import argparse
import os
import sys

from lograd import __version__
from lograd.cli import _common
from lograd.errors import DivergenceError, UserError

SUBCOMMAND_MODULES = ("explain", "train", "predict", "evaluate")


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="lograd",
        description="Logistic regression by gradient descent, every derivative by backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"lograd {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_ArgumentParser
    )
    import importlib

    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"lograd.cli.{name}")
        except ModuleNotFoundError as exc:  # a subcommand not written yet
            if exc.name == f"lograd.cli.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv=None) -> int:
    command = _command_name(sys.argv[1:] if argv is None else argv)
    with _common.catching_interrupts():
        try:
            return _run(argv)
        except KeyboardInterrupt:
            return _interrupted(command)
        except BaseException as exc:
            if _common.interrupted() and not isinstance(exc, SystemExit):
                return _interrupted(command)  # an error on the way out of Ctrl-C
            raise


def _run(argv) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UserError, DivergenceError) as exc:
        message = " ".join(str(exc).split())
        print(f"lograd {args.command}: error: {_common.as_flags(message)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `lograd ... | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush stays quiet
        return 0


def _command_name(argv) -> str:
    """The subcommand, for the "interrupted" line (known before argparse has run)."""
    return next((a for a in argv if a in SUBCOMMAND_MODULES), "")


def _interrupted(command) -> int:
    print(f"lograd{' ' + command if command else ''}: interrupted", file=sys.stderr)
    return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
