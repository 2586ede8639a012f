"""``lograd evaluate``: score a saved model on labelled data."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from lograd.cli import _common
from lograd.errors import UserError, shown

DESCRIPTION = """\
Score a saved model on labelled data: accuracy, log-loss, ROC AUC, precision, recall, F1 (of
the second class for two classes, macro averages for more) and the confusion matrix.

The target column defaults to the one the model was trained on."""

EPILOG = """\
examples:
  lograd evaluate model.lograd test.csv
  lograd evaluate model.lograd test.csv --target label --json metrics.json"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="score a saved model on labelled data",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
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
    parser.set_defaults(func=run)


def run(args) -> int:
    from lograd import report
    from lograd.estimators import persistence
    from lograd.files import json_codec, model_files
    from lograd.files.atomic import check_outputs, input_files
    from lograd.files.filesets import expand
    from lograd.files.tables import Schema, read_table

    check_outputs({"--json": args.json}, stdout=("--json",),
                  inputs=[("MODEL", args.model), *input_files("DATA", args.data)])
    saved = persistence.read_model(args.model)
    schema = _common.training_schema(saved, args.model, Schema)
    classes = saved.model.classes_
    files = expand(args.data)
    labels, probas, n_dropped = [], [], 0
    for path in files or [args.data]:  # one file in memory at a time
        table = read_table(path, target=args.target, delimiter=args.delimiter,
                           header=args.header, drop_missing=args.drop_missing, schema=schema)
        labels.append(_as_classes(table, classes))
        probas.append(saved.model.predict_proba(_common.model_input(saved.model, table.X)))
        n_dropped += table.n_dropped
    y, proba = np.concatenate(labels), np.concatenate(probas)  # (n,), (n, n_classes)
    metrics = report.classification_metrics(y, proba, classes)
    dropped = f" ({n_dropped} rows with missing values left out)" if n_dropped else ""
    source = f"{args.data} ({len(files)} files)" if files else table.source
    summary = (f"{source}: {len(y)} rows{dropped}, target {table.schema.target!r}\n"
               f"{report.metrics_table({'evaluation': metrics})}\n\n"
               f"{report.confusion_table(metrics['confusion_matrix'], classes)}\n")
    if args.json == "-":  # the JSON alone on standard output, the table on stderr
        sys.stderr.write(summary)
        _common.write_stdout(json_codec.dumps(metrics, indent=2, default=str) + "\n")
        return 0
    _common.write_stdout(summary)
    if args.json:
        with model_files.atomic_write(args.json, "w", what="--json", encoding="utf-8") as f:
            f.write(json_codec.dumps(metrics, indent=2, default=str))
    return 0


def _as_classes(table, classes) -> np.ndarray:
    """The file's labels as the model's classes (ints or words), refusing unknown labels."""
    by_text = {str(c): c for c in classes}
    labels = np.array([by_text.get(str(v)) for v in table.y], dtype=object)
    unknown = np.flatnonzero([v is None for v in labels])
    if unknown.size:
        value = table.y[unknown[0]]
        raise UserError(f"{table.source}: {table.where(unknown[0])}, target column "
                        f"{table.schema.target!r}: label {shown(value)} is not a class of the "
                        f"model ({', '.join(map(str, classes))}; {unknown.size} such rows)")
    return labels.astype(classes.dtype)
