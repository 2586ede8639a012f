"""Helpers shared by the commands: argument types, Ctrl-C, messages in the CLI's words, progress
and printing. Nothing here imports a third-party library at the top (``lograd --help`` and the
parsers load none)."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import shutil
import signal
import sys
import time
import warnings


# -- argument types: each refuses a bad value with one line naming the value ------------------
def positive_float(text: str) -> float:
    value = _float(text)
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def positive_float_or_inf(text: str) -> float:
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 (or 'inf' for no penalty), got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    value = _float(text)
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def unit_interval(text: str) -> float:
    value = _float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text!r}")
    return value


def test_fraction(text: str) -> float:
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1), got {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def seed(text: str) -> int:
    """A random seed: a whole number from 0 to 2**32 - 1 (what NumPy's legacy seeding takes)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 4294967295, got "
                                         f"{text!r}")
    return value


def output_path(text: str) -> str:
    """A path to write to: not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a file path, got an empty one")
    return text


_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def memory_size(text: str) -> int:
    """A size in bytes: ``512M``, ``2G``, ``1.5GiB``, ``100000`` (K, M, G, T are powers of 1024)."""
    match = _SIZE.match(text)
    value = float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()] if match else 0
    if not value >= 1:
        raise argparse.ArgumentTypeError(f"must be a size like 512M, 2G or a number of bytes, "
                                         f"got {text!r}")
    return int(value)


def dask_address(text: str) -> str:
    """``local``, ``local:N`` or ``tcp://HOST:PORT`` (see :func:`lograd.workflows.train`)."""
    from lograd.workflows import parse_dask_address

    try:
        parse_dask_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if math.isnan(value):
        raise argparse.ArgumentTypeError("must be a number, got NaN")
    return value


def add_reading_options(parser) -> None:
    """Options that say how to read a data file."""
    group = parser.add_argument_group("reading the data")
    group.add_argument("--delimiter", metavar="CHAR",
                       help="field delimiter of a text file, e.g. ';' or '\\t' (default: ',' for "
                            ".csv, tab for .tsv, else detected)")
    header = group.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_true", default=None,
                        help="the first line holds column names (default: detected: it does "
                             "when none of its fields is a number)")
    header.add_argument("--no-header", dest="header", action="store_false",
                        help="the first line is data; columns are named 0, 1, 2, ...")
    group.add_argument("--drop-missing", action="store_true",
                       help="leave out rows with an empty, NaN or infinite value (default: such "
                            "a value is an error naming its line and column)")


# -- Ctrl-C ----------------------------------------------------------------------------------------
class _Interrupts:
    """Ctrl-C for the CLI: KeyboardInterrupt at once, except inside :func:`deferred_interrupts`
    (a fit; starting a cluster), where it is raised at the next safe point (between
    iterations; once the cluster can be closed), not inside compiled code, which turns it into
    a SystemError. A second Ctrl-C there raises at once."""

    def __init__(self):
        self.installed = False
        self.requested = False
        self.deferred = 0

    def handler(self, signum, frame):
        first = not self.requested
        self.requested = True
        if self.deferred and first:
            return
        raise KeyboardInterrupt

    def check(self, info=None) -> None:
        """A training callback: stop the fit with KeyboardInterrupt once Ctrl-C was pressed."""
        if self.requested:
            raise KeyboardInterrupt


_interrupts = _Interrupts()


@contextlib.contextmanager
def catching_interrupts():
    """Install the CLI's SIGINT handler (see :class:`_Interrupts`) for the block."""
    previous = signal.signal(signal.SIGINT, _interrupts.handler)
    _interrupts.installed, _interrupts.requested = True, False
    try:
        yield _interrupts
    finally:
        signal.signal(signal.SIGINT, previous)
        _interrupts.installed = False


@contextlib.contextmanager
def deferred_interrupts():
    """Inside: Ctrl-C stops training at the next iteration (``interrupt_check`` is the
    callback that does it), or at the end of the block."""
    _interrupts.deferred += 1
    try:
        yield
    finally:
        _interrupts.deferred -= 1
    _interrupts.check()


def interrupt_check(info) -> None:
    _interrupts.check(info)


def interrupted() -> bool:
    """Whether Ctrl-C was pressed (any error raised since is a consequence)."""
    return _interrupts.requested


# -- messages in the CLI's words ---------------------------------------------------------------
# The estimator's parameters as its messages write them (solver='lbfgs', learning_rate): the
# flags of `lograd train`.
_FLAGS = {"penalty": "--penalty", "solver": "--solver", "C": "--C", "l1_ratio": "--l1-ratio",
          "learning_rate": "--learning-rate", "max_iter": "--max-iter", "tol": "--tol",
          "batch_size": "--batch-size", "momentum": "--momentum",
          "class_weight": "--class-weight", "random_state": "--seed",
          "checkpoint_every": "--checkpoint-every", "checkpoint": "--checkpoint",
          "learning_rate_init": "--learning-rate", "hidden_layer_sizes": "--hidden",
          "activation": "--activation", "alpha": "--alpha",
          "early_stopping": "--early-stopping", "validation_fraction": "--validation-fraction",
          "max_fun": "--max-fun", "power_t": "--power-t", "beta_1": "--beta-1",
          "beta_2": "--beta-2", "epsilon": "--epsilon", "n_iter_no_change": "--n-iter-no-change"}
_NAMES = "|".join(sorted(_FLAGS, key=len, reverse=True))
_ASSIGNMENT = re.compile(rf"(?<![\w'\"=.-])(?:parameter )?({_NAMES})=('[^']*'|\{{[^}}]*\}}|"
                         r"[^\s,;)]+)")
_BARE = re.compile(r"(?<![\w'\"=.-])(l1_ratio|learning_rate_init|learning_rate|max_iter|"
                   r"batch_size|class_weight|checkpoint_every|hidden_layer_sizes|"
                   r"validation_fraction|max_fun|power_t|beta_1|beta_2|n_iter_no_change)"
                   r"(?![\w=])")
# A workflow's parameter between backquotes: `output`, or with its value: `test_size=0`.
_MARKED = re.compile(r"`(\w+)(?:=([^`]*))?`")
_NEGATED = {"standardize": "--no-standardize", "fit_intercept": "--no-intercept"}
_SWITCHES = {"early_stopping"}  # a flag that sets its parameter to True


def as_flags(message: str, flags=None) -> str:
    """A library message in the CLI's words.

    A workflow's parameters, which its messages write between backquotes, become the
    command's flags: "`output`" -> "--output" (``flags`` maps the exceptions, such as
    ``{"data": "DATA"}``; the rest become "--name-with-dashes"), "`test_size=0`" ->
    "--test-size 0", "`standardize=False`" -> "--no-standardize". Then the estimator's own
    words: "solver='lbfgs'" -> "--solver lbfgs", "learning_rate" -> "--learning-rate",
    "penalty=None" -> "--penalty none".
    """
    message = flag_words(message, flags)
    message = message.replace("(e.g. sklearn.preprocessing.StandardScaler)",
                              "(lograd train standardizes unless --no-standardize)")
    return _BARE.sub(lambda m: _FLAGS[m.group(1)],
                     _ASSIGNMENT.sub(lambda m: _assigned(_FLAGS[m.group(1)], m.group(1),
                                                         m.group(2)), message))


def flag_words(text: str, flags=None) -> str:
    """Only the backquoted parameters of ``text`` in the CLI's words (see :func:`as_flags`):
    for the lines a command prints, where a column's name must stay as it is."""
    flags = flags or {}

    def marked(match):
        name, value = match.group(1), match.group(2)
        flag = flags.get(name) or _FLAGS.get(name) or "--" + name.replace("_", "-")
        return flag if value is None else _assigned(flag, name, value)
    return _MARKED.sub(marked, text)


def _assigned(flag: str, name: str, value: str) -> str:
    """``name=value`` as the flag and its value."""
    value = value.strip("'")
    if name == "learning_rate" and value == "auto":
        return "the default, automatic --learning-rate"
    if name in _NEGATED and value == "False":
        return _NEGATED[name]
    if name in _SWITCHES and value == "True":
        return flag
    return f"{flag} {'none' if value == 'None' else value}"


# -- progress --------------------------------------------------------------------------------------
class Progress:
    """A callback for ``LogisticRegression(callbacks=...)`` that shows training progress.

    On a terminal: a tqdm bar with the current loss. Otherwise (a log file, a pipe): a plain
    line about every ``every_seconds`` and at the end. ``quiet``: nothing.
    """

    def __init__(self, total: int, unit: str = "iteration", quiet: bool = False,
                 stream=None, every_seconds: float = 2.0):
        self.total, self.unit, self.quiet = total, unit, quiet
        self.stream = stream if stream is not None else sys.stderr
        self.every_seconds = every_seconds
        self.bar = None
        self.last = None
        self._last_print = time.monotonic()
        if not quiet and _isatty(self.stream):
            from tqdm import tqdm

            # A terminal reporting size 0 (some ptys) would hide tqdm's bar: fall back to 80x24.
            size = shutil.get_terminal_size()
            self.bar = tqdm(total=total, unit="it" if unit == "iteration" else unit,
                            file=self.stream, desc="training",
                            ncols=min(size.columns, 100), nrows=size.lines, leave=True)

    def __call__(self, info: dict) -> None:
        self.last = info
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(info["iteration"] - self.bar.n)
            self.bar.set_postfix(loss=f"{info['loss']:.6f}", refresh=False)
            return
        now = time.monotonic()
        if info["iteration"] == 1 or now - self._last_print >= self.every_seconds:
            self._print(info)
            self._last_print = now

    def _print(self, info) -> None:
        print(f"{self.unit} {info['iteration']}/{self.total}  loss {info['loss']:.6f}  "
              f"gradient norm {info['grad_norm']:.3g}", file=self.stream, flush=True)

    def close(self, finished: bool = True) -> None:
        """End the display; ``finished=False`` (an error, Ctrl-C) leaves the bar where it is."""
        if self.bar is not None:
            if finished and self.last is not None and self.bar.n < self.total:  # converged
                self.bar.total = self.bar.n
                self.bar.refresh()
            self.bar.close()
        elif finished and not self.quiet and self.last is not None and \
                self.last["iteration"] != 1:
            self._print(self.last)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def warnings_as_lines(command: str, quiet: bool = False, flags=None):
    """Show Python warnings raised inside as one stderr line each (no source line dump), in
    the command's words (``flags``: see :func:`as_flags`)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if quiet:
        return
    seen = set()
    for warning in caught:
        text = as_flags(" ".join(str(warning.message).split()), flags)
        if text not in seen:
            seen.add(text)
            print(f"lograd {command}: warning: {text}", file=sys.stderr)


def say(args, *lines) -> None:
    """Print to stdout unless ``--quiet``."""
    if not getattr(args, "quiet", False):
        write_stdout("".join(f"{line}\n" for line in lines))


def default(function, name: str):
    """The default of ``function``'s parameter ``name``: the one copy of it, which the
    command's argument also takes (and its help shows)."""
    import inspect

    return inspect.signature(function).parameters[name].default


def write_stdout(text: str) -> None:
    """Write to stdout; if the reader has gone (``lograd ... | head``), stop writing quietly."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()


def silence_stdout() -> None:
    """Send further stdout writes (including the interpreter's final flush) to /dev/null."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
