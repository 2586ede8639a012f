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

from lograd import workflows
from lograd.cli import _common

FLAGS = {}  # every parameter of the workflow is a flag of its name (see as_flags)

# argparse takes "-2.0" as a value only when it matches its own negative-number pattern, which
# (before Python 3.13) misses "-1e-3", "-2." and "-inf"; none of our options looks like a number.
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.I)

# The defaults stated below are the lectures' (lograd.lectures.logistic and .network; their
# modules load NumPy, too slow for --help); tests/cli/test_help_cli.py checks each against them.
DESCRIPTION = (
    "Build the lecture's graph z = w.x + b -> a = sigmoid(z) -> "
    "L = -(y log a + (1-y) log(1-a)) in the engine, run it forward and backward, and show "
    "each node's value and derivative beside the lecture's closed form, then one "
    "gradient-descent step. Several examples (repeat --x/--y, or --data) show the "
    "m-example version J = (1/m) sum L. With --hidden N: the course's two-layer "
    "network Z1 = W1 X + b1 -> A1 = g(Z1) -> Z2 = W2 A1 + b2 -> A2 = sigmoid(Z2) on a few "
    "examples as columns, each gradient beside the course's dZ2, dW2, db2, dZ1, dW1, db1."
)


def configure(parser) -> None:
    """The arguments of ``lograd explain``."""
    parser.description, parser.epilog = DESCRIPTION, __doc__.split("\n\n", 1)[1]
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser._negative_number_matcher = _NEGATIVE_NUMBER
    parser.add_argument("--x", type=float, nargs="+", action="append", metavar="X",
                        help="features of one example; repeat for several examples "
                             "(default 1 2)")
    parser.add_argument("--y", type=float, action="append", metavar="Y",
                        help="label 0 or 1 (a probability in [0, 1] works too), one per --x "
                             "(default 1)")
    parser.add_argument("--w", type=float, nargs="+", metavar="W",
                        help="weights, one per feature (default 0.5 -1)")
    parser.add_argument("--b", type=float, metavar="B", help="bias (default 0.25)")
    parser.add_argument("--alpha", type=float, metavar="ALPHA",
                        help="learning rate, > 0 (default 0.1; with --hidden 1.2, the course's)")
    parser.add_argument("--data", metavar="FILE",
                        help="examples from a table with a header: feature columns (in order, "
                             "they become x1..xn) and a label column (see --target)")
    parser.add_argument("--target", default=_common.default(workflows.explain, "target"),
                        metavar="COLUMN",
                        help="label column of --data, by name or 0-based index (default "
                             "%(default)s)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (full precision) instead of the table")
    parser.add_argument("--svg", metavar="FILE", help="also draw the graph to an SVG file")
    parser.add_argument("--png", metavar="FILE", help="also draw the graph to a PNG file")
    parser.add_argument("--html", metavar="FILE",
                        help="also write a page (one self-contained HTML file) that steps "
                             "through the forward and backward pass node by node and the update")
    parser.add_argument("--steps", type=int, metavar="K",
                        help="with --html: add a timeline of K gradient-descent steps (1 to "
                             "10000), each computed by the engine")
    net = parser.add_argument_group(
        "the course's two-layer network (--hidden N)",
        "X holds the examples as columns (n_x, m), W1 (N, n_x), b1 (N, 1), W2 (1, N), b2 (1, 1). "
        "The course's dZ are per example, m x dJ/dZ; its dW and db equal dJ/dW and dJ/db.")
    net.add_argument("--hidden", type=int, metavar="N",
                     help="trace the two-layer network with N hidden units (1 to 100; the "
                          "course uses 4) instead of logistic regression")
    net.add_argument("--activation", choices=("tanh", "relu", "sigmoid"),
                     help="the hidden layer's activation g (default tanh)")
    net.add_argument("--params", metavar="FILE",
                     help="W1, b1, W2, b2 from a .npz file (numpy.savez); default: the course's "
                          "initialisation, randn*0.01 and zeros")
    net.add_argument("--seed", type=int, metavar="SEED",
                     help="seed of the default weights (default 2, the course's)")


def run(args) -> int:
    """Handle ``lograd explain``; returns the exit status."""
    result = workflows.explain(
        x=args.x, y=args.y, w=args.w, b=args.b, alpha=args.alpha, data=args.data,
        target=args.target, hidden=args.hidden, activation=args.activation, params=args.params,
        seed=args.seed, svg=args.svg, png=args.png, html=args.html, steps=args.steps)
    if args.json:
        print(json.dumps(result.trace.to_dict(), indent=2, allow_nan=False))
    else:
        print(result.trace.table())
    return 0
