"""The ``lograd`` command line: argparse and printing over :mod:`lograd.workflows`.

Each subcommand lives in its own module exposing ``configure(parser)``, which adds its
arguments, ``run(args) -> int``, which maps them to its workflow's parameters and prints what
it returns, and ``FLAGS``, how its messages name the workflow's parameters (see
:func:`lograd.cli._common.as_flags`). Only the module of the command given is imported, so
``lograd --help`` loads no third-party library. User errors raise
:class:`lograd.errors.UserError` and become one line on stderr with exit status 2; Ctrl-C
becomes "interrupted" and exit status 130, whenever it comes (even while the heavy modules are
imported, which is why this module imports nothing heavy at the top).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from lograd import __version__
from lograd.cli import _common
from lograd.errors import DivergenceError, UserError

COMMANDS = {  # name: its line in `lograd --help`
    "explain": "trace the lecture's forward/backward pass and one gradient-descent step",
    "train": "train a model on a data file (or the bundled data) and save it",
    "predict": "predict labels and probabilities for a data file",
    "evaluate": "score a saved model on labelled data",
}


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(argv=()) -> argparse.ArgumentParser:
    """The parser of ``lograd``, with the arguments of the command named in ``argv`` (the
    other commands are listed by name and summary only)."""
    parser = _ArgumentParser(
        prog="lograd",
        description="Logistic regression by gradient descent, every derivative by backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"lograd {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_ArgumentParser
    )
    chosen = _command_name(argv)
    for name, summary in COMMANDS.items():
        command = subparsers.add_parser(name, help=summary)
        if name == chosen:
            _module(name).configure(command)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command_name(argv)
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
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = _module(args.command)
    try:
        return int(module.run(args) or 0)
    except (UserError, DivergenceError) as exc:
        message = _common.as_flags(" ".join(str(exc).split()), module.FLAGS)
        print(f"lograd {args.command}: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `lograd ... | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush stays quiet
        return 0


def _module(command: str):
    return importlib.import_module(f"lograd.cli.{command}")


def _command_name(argv) -> str:
    """The subcommand (known before argparse has run): the first argument that is not an
    option, if it names a command; "" otherwise."""
    first = next((a for a in argv if not a.startswith("-")), "")
    return first if first in COMMANDS else ""


def _interrupted(command) -> int:
    print(f"lograd{' ' + command if command else ''}: interrupted", file=sys.stderr)
    return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
