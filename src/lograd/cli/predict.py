"""``lograd predict``: its flags as :func:`lograd.workflows.predict`'s parameters."""

from __future__ import annotations

import argparse
import sys

from lograd import workflows
from lograd.cli import _common

FLAGS = {"model": "MODEL", "data": "DATA"}  # the parameters not named --like-this

DESCRIPTION = """\
Predict with a saved model: for every row of DATA, the predicted label and the probability of
each class. The file is read and written in chunks, so memory does not grow with its size.

The output is CSV with a header: 'label', then 'proba_<class>' for each class, one line per
input row, in order. Features are matched to the training data by column name (or by position
when either file has no header line); the target column, if present, and other columns are
ignored. With --drop-missing, rows with a missing value get empty fields instead of an error."""

EPILOG = """\
examples:
  lograd predict model.lograd new.csv -o predictions.csv
  lograd predict model.lograd big.parquet -o predictions.csv --chunk-rows 100000
  lograd predict model.lograd new.csv            # to standard output
  lograd predict model.lograd 'parts/*.parquet' -o predictions.csv"""


def configure(parser) -> None:
    """The arguments of ``lograd predict``."""
    parser.description, parser.epilog = DESCRIPTION, EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("model", metavar="MODEL", help="a model file written by 'lograd train'")
    parser.add_argument("data", metavar="DATA",
                        help="CSV/TSV, Parquet, .npy or .npz file, or a directory or quoted glob "
                             "of such files (predicted file after file, in name order)")
    parser.add_argument("-o", "--output", metavar="OUT.csv", type=_common.output_path,
                        help="where to write the predictions (default, or '-': standard "
                             "output); written whole or not at all")
    parser.add_argument("--chunk-rows", type=_common.positive_int, metavar="N",
                        default=_common.default(workflows.predict, "chunk_rows"),
                        help="rows read at a time (default: %(default)s)")
    _common.add_reading_options(parser)


def run(args) -> int:
    output = None if args.output in (None, "-") else args.output  # None: standard output
    result = workflows.predict(args.model, args.data, output=output, stream=sys.stdout,
                               chunk_rows=args.chunk_rows, delimiter=args.delimiter,
                               header=args.header, drop_missing=args.drop_missing)
    if result.output is not None:
        print(f"{result.rows} predictions written to {result.output}", file=sys.stderr)
    return 0
