"""``lograd explain``: the lecture's forward and backward pass, node by node, checked by hand.

    lograd explain                                   # the built-in example
    lograd explain --x 1.0 -2.0 --w 0.5 -0.3 --b 0.1 --y 1 --alpha 0.1
    lograd explain --x 1 2 --y 1 --x 3 -1 --y 0      # m examples: J = (1/m) sum L
    lograd explain --data examples.csv --json        # columns x1..xn and y
    lograd explain --svg graph.svg                   # also draw the graph with its numbers
    lograd explain --html lecture.html --steps 100   # a page that steps through it all
    lograd explain --hidden 4                        # the course's two-layer network
    lograd explain --hidden 4 --activation relu --data examples.csv --params weights.npz
    lograd explain --hidden 4 --html net.html --steps 50
"""

from __future__ import annotations

import argparse
import json
import re

import numpy as np

from lograd.errors import UserError
from lograd.lectures import network
from lograd.lectures.logistic import (
    DEFAULT_ALPHA,
    DEFAULT_B,
    DEFAULT_W,
    DEFAULT_X,
    DEFAULT_Y,
    explain,
)
from lograd.lectures.page import MAX_TIMELINE_STEPS

# argparse takes "-2.0" as a value only when it matches its own negative-number pattern, which
# (before Python 3.13) misses "-1e-3", "-2." and "-inf"; none of our options looks like a number.
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.I)


def register(subparsers) -> None:
    """Add the ``explain`` subcommand to the ``lograd`` parser."""
    parser = subparsers.add_parser(
        "explain",
        help="trace the lecture's forward/backward pass and one gradient-descent step",
        description=(
            "Build the lecture's graph z = w.x + b -> a = sigmoid(z) -> "
            "L = -(y log a + (1-y) log(1-a)) in the engine, run it forward and backward, and show "
            "each node's value and derivative beside the lecture's closed form, then one "
            "gradient-descent step. Several examples (repeat --x/--y, or --data) show the "
            "m-example version J = (1/m) sum L. With --hidden N: the course's two-layer "
            "network Z1 = W1 X + b1 -> A1 = g(Z1) -> Z2 = W2 A1 + b2 -> A2 = sigmoid(Z2) on a few "
            "examples as columns, each gradient beside the course's dZ2, dW2, db2, dZ1, dW1, db1."
        ),
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser._negative_number_matcher = _NEGATIVE_NUMBER
    parser.add_argument("--x", type=float, nargs="+", action="append", metavar="X",
                        help="features of one example; repeat for several examples "
                             f"(default {_numbers(DEFAULT_X)})")
    parser.add_argument("--y", type=float, action="append", metavar="Y",
                        help="label 0 or 1 (a probability in [0, 1] works too), one per --x "
                             f"(default {DEFAULT_Y:g})")
    parser.add_argument("--w", type=float, nargs="+", metavar="W",
                        help=f"weights, one per feature (default {_numbers(DEFAULT_W)})")
    parser.add_argument("--b", type=float, metavar="B", help=f"bias (default {DEFAULT_B:g})")
    parser.add_argument("--alpha", type=float, metavar="ALPHA",
                        help=f"learning rate, > 0 (default {DEFAULT_ALPHA:g}; with --hidden "
                             f"{network.DEFAULT_ALPHA:g}, the course's)")
    parser.add_argument("--data", metavar="FILE",
                        help="examples from a table with a header: feature columns (in order, "
                             "they become x1..xn) and a label column (see --target)")
    parser.add_argument("--target", default="y", metavar="COLUMN",
                        help="label column of --data, by name or 0-based index (default y)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (full precision) instead of the table")
    parser.add_argument("--svg", metavar="FILE", help="also draw the graph to an SVG file")
    parser.add_argument("--png", metavar="FILE", help="also draw the graph to a PNG file")
    parser.add_argument("--html", metavar="FILE",
                        help="also write a page (one self-contained HTML file) that steps "
                             "through the forward and backward pass node by node and the update")
    parser.add_argument("--steps", type=int, metavar="K",
                        help="with --html: add a timeline of K gradient-descent steps (1 to "
                             f"{MAX_TIMELINE_STEPS}), each computed by the engine")
    net = parser.add_argument_group(
        "the course's two-layer network (--hidden N)",
        "X holds the examples as columns (n_x, m), W1 (N, n_x), b1 (N, 1), W2 (1, N), b2 (1, 1). "
        "The course's dZ are per example, m x dJ/dZ; its dW and db equal dJ/dW and dJ/db.")
    net.add_argument("--hidden", type=int, metavar="N",
                     help=f"trace the two-layer network with N hidden units (1 to "
                          f"{network.MAX_HIDDEN}; the course uses {network.DEFAULT_HIDDEN}) "
                          f"instead of logistic regression")
    net.add_argument("--activation", choices=network.ACTIVATIONS,
                     help="the hidden layer's activation g (default tanh)")
    net.add_argument("--params", metavar="FILE",
                     help="W1, b1, W2, b2 from a .npz file (numpy.savez); default: the course's "
                          "initialisation, randn*0.01 and zeros")
    net.add_argument("--seed", type=int, metavar="SEED",
                     help=f"seed of the default weights (default {network.DEFAULT_SEED}, the "
                          "course's)")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Handle ``lograd explain``; returns the exit status."""
    _check_outputs(args)
    if args.hidden is not None:
        return _run_network(args)
    for flag in ("activation", "params", "seed"):
        if getattr(args, flag) is not None:
            raise UserError(f"--{flag} is for the two-layer network: give --hidden N too")
    x, y = _examples(args)
    if args.w is None and np.shape(x)[-1] != len(DEFAULT_W):
        raise UserError(f"--w is needed: the examples have {np.shape(x)[-1]} features and the "
                        f"default weights are for {len(DEFAULT_W)}")
    trace = explain(
        x=x,
        w=DEFAULT_W if args.w is None else args.w,
        b=DEFAULT_B if args.b is None else args.b,
        y=y,
        alpha=DEFAULT_ALPHA if args.alpha is None else args.alpha,
    )
    _write_outputs(args, trace, "The lecture's graph: forward values and gradients from "
                                "backward()")
    return 0


def _run_network(args) -> int:
    """``lograd explain --hidden N``: the course's two-layer network."""
    if not 1 <= args.hidden <= network.MAX_HIDDEN:
        raise UserError(f"--hidden {args.hidden}: give a number of hidden units from 1 to "
                        f"{network.MAX_HIDDEN}")
    for flag in ("x", "y", "w", "b"):
        if getattr(args, flag) is not None:
            raise UserError(f"--{flag} is for the logistic-regression trace; with --hidden give "
                            "the examples with --data and the weights with --params")
    if args.params is not None and args.seed is not None:
        raise UserError("--seed draws the default weights and --params gives them: use one")
    if args.seed is not None and not 0 <= args.seed < 2**32:
        raise UserError(f"--seed {args.seed}: give a whole number from 0 to {2**32 - 1}")
    if args.alpha is not None and not (np.isfinite(args.alpha) and args.alpha > 0):
        raise UserError(f"--alpha {args.alpha:g}: the learning rate must be a positive number")
    if args.data is not None:
        examples, labels = _read_examples(args.data, args.target)
        X, Y = examples.T, labels.reshape(1, -1)  # the course's layout: examples as columns
    else:
        X, Y = network.default_examples()
    params = {}
    if args.params is not None:
        params = network.read_parameters(args.params, n_x=X.shape[0], n_h=args.hidden)
    trace = network.explain_network(
        X, Y, **params, activation=args.activation or "tanh",
        hidden=None if params else args.hidden,
        alpha=network.DEFAULT_ALPHA if args.alpha is None else args.alpha, seed=args.seed)
    _write_outputs(args, trace, "The course's two-layer network: values and gradients from "
                                "backward()")
    return 0


def _write_outputs(args, trace, title):
    """The pictures and the page asked for, then the JSON or the table on standard output."""
    if args.svg or args.png:
        from lograd.lectures.drawing import (
            draw_graph,  # matplotlib only when a picture is asked for
        )

        for path in filter(None, (args.svg, args.png)):
            draw_graph(trace.graph, path, title=title)
    if args.html:
        trace.page(args.steps or 0).write(args.html, what="--html")
    if args.json:
        print(json.dumps(trace.to_dict(), indent=2, allow_nan=False))
    else:
        print(trace.table())


def _examples(args):
    """x of shape (n,) or (m, n) and y, from --data or the --x/--y options (or the defaults)."""
    if args.data is not None:
        if args.x is not None or args.y is not None:
            raise UserError("give the examples either with --data or with --x/--y, not both")
        return _read_examples(args.data, args.target)
    xs = args.x if args.x is not None else [list(DEFAULT_X)]
    ys = args.y if args.y is not None else [DEFAULT_Y]
    if len(ys) != len(xs):
        raise UserError(f"{len(xs)} example{'s' * (len(xs) != 1)} (--x) but {len(ys)} "
                        f"label{'s' * (len(ys) != 1)} (--y): give one --y per --x")
    widths = {len(row) for row in xs}
    if len(widths) > 1:
        raise UserError(f"every --x needs the same number of features; got "
                        f"{', '.join(str(len(row)) for row in xs)}")
    return (xs[0], ys[0]) if len(xs) == 1 else (xs, ys)


def _read_examples(path, target):
    from lograd.files.tables import read_table  # files are parsed in one place: lograd.files.tables

    table = read_table(path, target=target)
    where = "line" if table.schema.header else "row"
    first = 2 if table.schema.header else 1
    labels = table.y
    if labels.dtype.kind not in "iuf":
        raise UserError(f"{table.source}: label column {table.schema.target!r} must hold 0 or 1; "
                        f"found {labels[0]!s} ({where} {first})")
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        raise UserError(f"{table.source}: {where} {bad[0] + first}, label column "
                        f"{table.schema.target!r}: {labels[bad[0]].item()!r} is not 0 or 1")
    return table.X, labels.astype(np.float64)


def _check_outputs(args):
    """Every output option names a file of its kind, never the --data input or another output."""
    from lograd.files.atomic import check_outputs

    if args.steps is not None and not args.html:
        raise UserError("--steps adds a timeline to the page: give --html FILE too")
    if args.steps is not None and not 1 <= args.steps <= MAX_TIMELINE_STEPS:
        raise UserError(f"--steps {args.steps}: give a number of steps from 1 to "
                        f"{MAX_TIMELINE_STEPS}")
    if args.html and not args.html.lower().endswith((".html", ".htm")):
        raise UserError(f"--html {args.html}: the file name must end in .html")
    for option, path, suffix in (("--svg", args.svg, ".svg"), ("--png", args.png, ".png")):
        if path and not path.lower().endswith(suffix):  # before any work: nothing half-written
            raise UserError(f"{option} {path}: the file name must end in {suffix}")
    inputs = [(flag, path) for flag, path in (("--data", args.data), ("--params", args.params))
              if path]
    check_outputs({"--svg": args.svg, "--png": args.png, "--html": args.html}, inputs)


def _numbers(values) -> str:
    return " ".join(f"{v:g}" for v in values)
