"""``lograd evaluate``: its flags as :func:`lograd.workflows.evaluate`'s parameters; the metrics
printed."""

from __future__ import annotations

import argparse
import sys

from lograd import workflows
from lograd.cli import _common

FLAGS = {"model": "MODEL", "data": "DATA", "json_output": "--json"}  # not named --like-this

DESCRIPTION = """\
Score a saved model on labelled data: accuracy, log-loss, ROC AUC, precision, recall, F1 (of
the second class for two classes, macro averages for more) and the confusion matrix.

The target column defaults to the one the model was trained on."""

EPILOG = """\
examples:
  lograd evaluate model.lograd test.csv
  lograd evaluate model.lograd test.csv --target label --json metrics.json"""


def configure(parser) -> None:
    """The arguments of ``lograd evaluate``."""
    parser.description, parser.epilog = DESCRIPTION, EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("model", metavar="MODEL", help="a model file written by 'lograd train'")
    parser.add_argument("data", metavar="DATA",
                        help="CSV/TSV, Parquet, .npy or .npz file, or a directory or quoted glob "
                             "of such files (read one file at a time)")
    parser.add_argument("-t", "--target", metavar="COLUMN",
                        help="the true labels' column, by name or 0-based index (default: the "
                             "training target's name)")
    parser.add_argument("--json", metavar="FILE", type=_common.output_path,
                        help="also write the metrics as JSON to FILE ('-': to standard output, "
                             "the table then goes to standard error)")
    _common.add_reading_options(parser)


def run(args) -> int:
    to_stdout = args.json == "-"
    result = workflows.evaluate(args.model, args.data, target=args.target,
                                json_output=None if to_stdout else args.json,
                                delimiter=args.delimiter, header=args.header,
                                drop_missing=args.drop_missing)
    if to_stdout:  # the JSON alone on standard output, the table on stderr
        sys.stderr.write(result.summary)
        _common.write_stdout(result.to_json() + "\n")
    else:
        _common.write_stdout(result.summary)
    return 0
