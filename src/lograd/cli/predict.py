"""``lograd predict``: class probabilities and labels for every row of a data file, streamed."""

from __future__ import annotations

import argparse
import itertools
import sys

import numpy as np

from lograd.cli import _common

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


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="predict labels and probabilities for a data file",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="a model file written by 'lograd train'")
    parser.add_argument("data", metavar="DATA",
                        help="CSV/TSV, Parquet, .npy or .npz file, or a directory or quoted glob "
                             "of such files (predicted file after file, in name order)")
    parser.add_argument("-o", "--output", metavar="OUT.csv", type=_common.output_path,
                        help="where to write the predictions (default, or '-': standard "
                             "output); written whole or not at all")
    parser.add_argument("--chunk-rows", type=_common.positive_int,
                        default=_common.DEFAULT_CHUNK_ROWS, metavar="N",
                        help=f"rows read at a time (default: {_common.DEFAULT_CHUNK_ROWS})")
    _common.add_reading_options(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from lograd.estimators import persistence
    from lograd.files import model_files
    from lograd.files.atomic import check_outputs, input_files
    from lograd.files.filesets import expand
    from lograd.files.tables import Schema, iter_chunks

    check_outputs({"--output": args.output}, stdout=("--output",),
                  inputs=[("MODEL", args.model), *input_files("DATA", args.data)])
    if args.output == "-":
        args.output = None  # standard output
    saved = persistence.read_model(args.model)
    schema = _common.training_schema(saved, args.model, Schema)
    files = expand(args.data) or [args.data]
    chunks = itertools.chain.from_iterable(  # file after file, each read lazily
        iter_chunks(path, schema, chunk_rows=args.chunk_rows, delimiter=args.delimiter,
                    header=args.header, drop_missing=args.drop_missing) for path in files)
    classes = saved.model.classes_
    if args.output is None:
        try:
            write_predictions(sys.stdout, saved.model, classes, chunks)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. `lograd predict ... | head`: the reader has gone
            _common.silence_stdout()
        return 0
    with model_files.atomic_write(args.output, "w", what="--output", newline="",
                               encoding="utf-8") as f:
        rows = write_predictions(f, saved.model, classes, chunks)
    print(f"{rows} predictions written to {args.output}", file=sys.stderr)
    return 0


def write_predictions(stream, model, classes, chunks) -> int:
    """Write 'label,proba_<class>...' for each chunk's rows; returns the number of rows.

    Probabilities are written with full precision (they read back as the same floats); rows
    that are not valid (missing values with --drop-missing) get empty fields.
    """
    import pandas as pd

    columns = ["label"] + [f"proba_{c}" for c in classes]
    total = 0
    for chunk in chunks:
        proba = np.full((len(chunk.X), len(classes)), np.nan)  # (rows, n_classes)
        if chunk.valid.any():
            rows = _common.model_input(model, chunk.X[chunk.valid])
            proba[chunk.valid] = model.predict_proba(rows)
        labels = np.asarray(classes)[np.argmax(np.where(chunk.valid[:, None], proba, 0), axis=1)]
        frame = pd.DataFrame(proba, columns=columns[1:])
        frame.insert(0, "label", pd.Series(labels, dtype=object).where(chunk.valid, None))
        frame.to_csv(stream, header=total == 0, index=False, lineterminator="\n")
        total += len(chunk.X)
    return total
