"""``lograd train``: fit a model on a data file (or the bundled breast-cancer data) and save it."""

from __future__ import annotations

import argparse
import contextlib
import os

import numpy as np

from lograd.cli import _common
from lograd.errors import DivergenceError, UserError

DEFAULT_OUTPUT = "model.lograd"
SOLVERS = ("lbfgs", "gd", "sgd", "adam")
PENALTIES = ("l2", "l1", "elasticnet", "none")

DESCRIPTION = """\
Train a logistic regression model by gradient descent (every derivative by backpropagation)
and save it. Without DATA, trains on scikit-learn's bundled breast-cancer data (569 rows,
30 features; target 'diagnosis': 0 = malignant, 1 = benign).

Shows the data, a progress bar (plain lines when stderr is not a terminal), then accuracy,
log-loss, ROC AUC, precision, recall and F1 on the training rows and on held-out test rows.

DATA: CSV/TSV (with or without a header line), Parquet (.parquet), NumPy (.npy: a 2-D array;
.npz: arrays X and y, optionally feature_names). Columns of words (at most 50 distinct values)
are one-hot encoded; the encoding is saved with the model.

DATA may also be a directory (all its files, sorted by name, one format) or a quoted glob
('data/*.parquet'): the files are read as one table, a chunk at a time. Its rows are held out
for testing row by row (seeded, not stratified). When the data does not fit the --memory
budget, the encoded chunks are written to a spill directory and streamed from disk at every
iteration (LogisticRegression's fit on dask arrays), so memory stays within the budget."""

EPILOG = """\
examples:
  lograd train                                   # bundled data -> model.lograd
  lograd train data.csv --target label -o m.lograd --report report.html
  lograd train data.tsv --target 0 --features 1,2,5 --solver gd --learning-rate 0.5
  lograd train data.parquet --target y --penalty l1 --solver gd --C 0.1
  lograd train data/ --target y --memory 2G      # a directory; streamed if larger than 2 GiB
  lograd train 'part-*.parquet' --target y --dask local:4"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a model on a data file (or the bundled data) and save it",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", metavar="DATA",
                        help="the training data (default: the bundled breast-cancer data)")
    parser.add_argument("-t", "--target", metavar="COLUMN",
                        help="the column to predict, by name or 0-based index (negative counts "
                             "from the end); required with DATA unless it is an .npz with y")
    parser.add_argument("--features", metavar="COLUMNS",
                        help="comma-separated feature columns, by name or index (default: all "
                             "columns but the target, leaving out columns that look like "
                             "identifiers)")
    parser.add_argument("--exclude", metavar="COLUMNS",
                        help="comma-separated columns not to use as features, by name or index")
    parser.add_argument("--keep", metavar="COLUMNS",
                        help="use these columns as features even if they look like "
                             "identifiers (named id/ID/index/PassengerId/..., or row numbers: "
                             "distinct consecutive whole numbers)")
    parser.add_argument("-o", "--output", metavar="MODEL", default=DEFAULT_OUTPUT,
                        type=_common.output_path,
                        help=f"where to save the model (default: ./{DEFAULT_OUTPUT})")
    parser.add_argument("--report", metavar="FILE.html", type=_common.output_path,
                        help="also write a self-contained HTML report (curves, confusion "
                             "matrix, coefficients, computation graph)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing but errors and warnings")
    _common.add_reading_options(parser)
    _add_model_options(parser)
    _add_scale_options(parser)
    parser.set_defaults(func=run)


def _add_scale_options(parser) -> None:
    group = parser.add_argument_group("larger than memory / on a cluster")
    group.add_argument("--memory", type=_common.memory_size, metavar="SIZE",
                       help="memory for the data, e.g. 512M, 2G or bytes; larger data is "
                            "streamed from a spill directory (default: half the available RAM)")
    group.add_argument("--spill-dir", metavar="DIR",
                       help="where to write the encoded chunks of streamed data (a fresh "
                            "directory inside DIR, removed at the end; default: the system's "
                            "temp dir). On a real cluster it must be storage every worker sees")
    group.add_argument("--dask", type=_common.dask_address, metavar="CLUSTER",
                       help="fit on Dask: 'local' or 'local:N' starts N worker processes "
                            "(default 2) on this machine; 'tcp://HOST:PORT' uses a running "
                            "scheduler")


def _add_model_options(parser) -> None:
    group = parser.add_argument_group(
        "the model (as lograd.LogisticRegression's parameters; unset means its default)")
    group.add_argument("--solver", choices=SOLVERS,
                       help="lbfgs (default; fast), gd (full-batch gradient descent, the "
                            "lecture's), sgd (mini-batches, one epoch per iteration), adam")
    group.add_argument("--learning-rate", "--lr", type=_common.positive_float, metavar="RATE",
                       help="step size for gd/sgd/adam (default: auto, a safe 1/L for gd/sgd, "
                            "0.05 for adam)")
    group.add_argument("--momentum", metavar="M",
                       help="momentum for gd/sgd, in [0, 1), or 'nesterov' (gd) (default: 0)")
    group.add_argument("--penalty", choices=PENALTIES,
                       help="regularization (default: l2); l1/elasticnet need --solver gd or sgd")
    group.add_argument("--C", "-C", type=_common.positive_float_or_inf, metavar="C",
                       help="inverse regularization strength, > 0 (default: 1.0)")
    group.add_argument("--l1-ratio", type=_common.unit_interval, metavar="R",
                       help="elastic-net mix: 0 = l2, 1 = l1 (required with elasticnet)")
    group.add_argument("--max-iter", type=_common.positive_int, metavar="N",
                       help="most iterations (epochs for sgd/adam) (default: 100)")
    group.add_argument("--tol", type=_common.non_negative_float, metavar="TOL",
                       help="stopping tolerance (default: 1e-4)")
    group.add_argument("--batch-size", type=_common.positive_int, metavar="N",
                       help="mini-batch size for sgd/adam (default: min(200, rows))")
    group.add_argument("--class-weight", metavar="WEIGHTS",
                       help="'balanced', or per class: 'yes=3,no=1' (default: all 1)")
    group.add_argument("--no-intercept", action="store_true", help="fit no intercept")
    group.add_argument("--seed", type=_common.seed, default=0,
                       help="random seed for the train/test split and sgd/adam (default: 0)")
    group.add_argument("--test-size", type=_common.test_fraction, default=0.2, metavar="FRACTION",
                       help="fraction of rows held out (stratified; for a directory or glob, "
                            "row by row) for evaluation; 0 to train on all rows (default: 0.2)")
    group.add_argument("--checkpoint", metavar="DIR",
                       help="save the training state in DIR every --checkpoint-every "
                            "iterations; rerunning the same command resumes from it")
    group.add_argument("--checkpoint-every", type=_common.positive_int, metavar="K",
                       help="iterations (epochs for sgd/adam) between checkpoints (default: 10)")
    scale = group.add_mutually_exclusive_group()
    scale.add_argument("--standardize", dest="standardize", action="store_true", default=True,
                       help="standardize features (mean 0, variance 1 on the training rows); "
                            "the scaler is saved with the model (default)")
    scale.add_argument("--no-standardize", dest="standardize", action="store_false",
                       help="use the features as they are")


# -- the command -----------------------------------------------------------------------------------
def run(args) -> int:
    from lograd.files import checkpoints, filesets
    from lograd.files.atomic import check_outputs, input_files

    inputs = input_files("DATA", args.data)
    if args.checkpoint:  # its file is read and written too
        inputs.append(("--checkpoint", os.path.join(args.checkpoint, checkpoints.FILENAME)))
    check_outputs({"--output": args.output, "--report": args.report}, inputs)  # before any work
    if args.spill_dir is not None and not os.path.isdir(args.spill_dir):
        raise UserError(f"--spill-dir {args.spill_dir}: no such directory")
    budget = args.memory if args.memory is not None else filesets.default_budget()
    with _common.dask_client(args.dask):
        files = _file_set(args, budget)
        if files is not None:
            return _run_file_set(args, files, budget)
        return _run_in_memory(args, _load(args))


def _run_in_memory(args, table, split=None, how="stratified", note=None) -> int:
    """Fit on ``split = (X_train, X_test, y_train, y_test)`` (default: a stratified split of
    ``table``) in memory; report and save."""
    from lograd.files.tables import too_large

    estimator = _estimator(args, table.y)  # a bad option fails before the split
    huge = too_large(table.X, table.feature_names, table.source, table.where)
    if huge is not None:
        raise huge
    split = _split(table, args.test_size, args.seed) if split is None else split
    X_train, X_test, y_train, y_test = split
    _common.say(args, *_summary_lines(table, y_train, y_test, how), *([note] if note else []))
    model = _fit(args, estimator, X_train, y_train)

    metrics = {"train": _metrics(model, X_train, y_train)}
    if len(y_test):
        metrics["test"] = _metrics(model, X_test, y_test)
    rows = {"train": int(len(y_train)), "test": int(len(y_test)), "dropped": table.n_dropped}
    report = None
    if args.report:  # built before anything is written: all outputs or none
        report = _report(args, table, model, metrics, (X_train, y_train), (X_test, y_test))
    with _common.undone_on_failure(args.output):
        _save(args, model, estimator, metrics, table.schema, table.source, rows)
        if report is not None:
            from lograd.report import write_report_text

            write_report_text(args.report, report)
    _say_saved(args)
    if report is not None:
        _common.say(args, f"report written to {args.report}")
    return 0


def _save(args, model, estimator, metrics, schema, source, rows, **extra) -> None:
    """Print the fit's outcome and metrics, and save the model with what it was trained on."""
    from lograd.estimators import persistence
    from lograd.report import metrics_table

    _common.say(args, f"trained in {int(np.sum(estimator.n_iter_))} {_unit(estimator)}s "
                      f"(final objective {estimator.loss_curve_[-1]:.6f})", "",
                metrics_table(metrics), "")
    info = {"schema": schema.to_dict(), "metrics": metrics, "source": source, "rows": rows,
            "standardize": bool(args.standardize), "test_size": args.test_size,
            "seed": args.seed, **extra}
    persistence.save(model, args.output, info=info)


def _say_saved(args) -> None:
    _common.say(args, f"model saved to {args.output}  (next: lograd predict {args.output} DATA "
                      "-o predictions.csv)")


# -- file sets and data larger than memory ------------------------------------------------------
def _file_set(args, budget):
    """DATA's files when it is a directory or glob, or one file too large for the budget;
    None for the in-memory path."""
    from lograd.files import filesets

    if args.data is None:
        return None
    files = filesets.expand(args.data)
    if files is None and filesets.IN_MEMORY_COPIES * filesets.estimated_bytes(args.data) > budget:
        files = [args.data]
    return files


def _run_file_set(args, files, budget) -> int:
    from lograd.files import filesets
    from lograd.files.tables import Table

    filesets.use_system_allocator()  # this process reads many files one chunk at a time
    with _common.warnings_as_lines("train", quiet=args.quiet):
        fileset = filesets.scan(files, args.data, target=args.target, features=args.features,
                               delimiter=args.delimiter, header=args.header, budget=budget,
                               exclude=args.exclude, keep=args.keep)
    source = _file_set_name(fileset)
    if not fileset.fits(budget):
        return _run_streamed(args, fileset, source, budget)
    split = filesets.load(fileset, args.seed, args.test_size, args.drop_missing)
    note = (f"in memory: {filesets.format_bytes(fileset.encoded_bytes)} encoded (budget "
            f"{filesets.format_bytes(budget)})")
    y_all = np.concatenate([split.y_train, split.y_test])
    table = Table(split.X_train, y_all, fileset.schema.feature_names, fileset.schema, source,
                  split.n_dropped)
    return _run_in_memory(args, table, (split.X_train, split.X_test, split.y_train,
                                        split.y_test), how=_SPLIT_BY_ROW, note=note)


_SPLIT_BY_ROW = "held out row by row, not stratified"


def _file_set_name(fileset) -> str:
    from lograd.files.tables import file_format

    if len(fileset.files) == 1 and fileset.files[0] == fileset.source:
        return fileset.source
    fmt = file_format(fileset.files[0])
    return (f"{fileset.source} ({len(fileset.files)} {_FORMAT_NAMES.get(fmt, fmt.upper())} "
            f"file{'s' if len(fileset.files) > 1 else ''})")


_FORMAT_NAMES = {"parquet": "Parquet", "text": "text"}


def _run_streamed(args, fileset, source, budget) -> int:
    """Spill the encoded chunks to disk and fit on dask arrays reading them."""
    from lograd.backends import dask as dask_backend
    from lograd.files import filesets

    if args.report:
        raise UserError(f"--report needs the data in memory, but {fileset.source} "
                        f"({filesets.format_bytes(fileset.encoded_bytes)} encoded) is streamed "
                        f"under --memory {filesets.format_bytes(budget)}; leave out --report or "
                        "raise --memory")
    estimator = _estimator(args, fileset.classes)
    with filesets.spill_directory(args.spill_dir) as directory:
        spilled = filesets.spill(fileset, directory, args.seed, args.test_size,
                                args.drop_missing, args.standardize)
        counts = spilled.class_counts
        n_rows = int(counts["train"].sum() + counts["test"].sum())
        _common.say(args, *_data_lines(source, fileset.schema, n_rows, spilled.n_dropped,
                                       fileset.classes, counts["train"] + counts["test"],
                                       int(counts["train"].sum()), int(counts["test"].sum()),
                                       _SPLIT_BY_ROW),
                    f"streaming {n_rows} rows in {spilled.n_chunks} chunks from {directory} "
                    f"(budget {filesets.format_bytes(budget)})")
        X, y = dask_backend.spilled_arrays(spilled.train, fileset.n_features,
                                           fileset.classes.dtype)
        with contextlib.nullcontext() if args.dask else dask_backend.streaming_scheduler():
            _fit_estimator(args, estimator, X, y)
        metrics = {"train": _streamed_metrics(estimator, spilled.train)}
        if spilled.test:
            metrics["test"] = _streamed_metrics(estimator, spilled.test)
    model = estimator if spilled.scaler is None else _pipeline_with(spilled.scaler, estimator)
    rows = {"train": int(counts["train"].sum()), "test": int(counts["test"].sum()),
            "dropped": spilled.n_dropped}
    _save(args, model, estimator, metrics, fileset.schema, source, rows, streamed=True)
    _say_saved(args)
    return 0


def _streamed_metrics(estimator, parts):
    """Metrics over spilled (already standardized) chunks, predicted one chunk at a time."""
    from lograd.files import filesets
    from lograd.report import classification_metrics

    labels, probas = [], []
    for X, y in filesets.iter_spilled(parts):
        probas.append(estimator.predict_proba(X))  # (rows, n_classes)
        labels.append(y)
    return classification_metrics(np.concatenate(labels), np.concatenate(probas),
                                  estimator.classes_)


def _pipeline_with(scaler, estimator):
    from sklearn.pipeline import make_pipeline

    return make_pipeline(scaler, estimator)


def _load(args):
    """The training table: the DATA file, or the bundled breast-cancer data."""
    from lograd.files.tables import check_classes, load_default, read_table

    if args.data is None:
        if any(v is not None for v in (args.target, args.features, args.exclude, args.keep)):
            raise UserError("--target/--features/--exclude/--keep need a DATA file (without "
                            "DATA the bundled breast-cancer data is used)")
        table = load_default()
    else:
        table = read_table(args.data, target=args.target, features=args.features,
                           delimiter=args.delimiter, header=args.header,
                           drop_missing=args.drop_missing, exclude=args.exclude,
                           keep=args.keep)
    check_classes(table.y, table.source, table.schema.target)
    return table


def _fit(args, estimator, X, y):
    """Fit (scaler and) estimator with a progress bar; Python warnings become one line each.

    With --dask the scaler is fitted here and the estimator on the cluster, on a dask array of
    the standardized rows (the estimator persists it in the workers' memory).
    """
    model = _pipeline(estimator, args.standardize)
    if args.dask is None:
        _fit_estimator(args, model, X, y, estimator)
        return model
    import dask.array as da

    if model is not estimator:
        X = model.steps[0][1].fit(X).transform(X)
    rows = max(1024, -(-len(X) // 8))  # 8 chunks to share among the workers
    _fit_estimator(args, estimator, da.from_array(X, chunks=(rows, -1)),
                   da.from_array(y, chunks=rows))
    return model


def _fit_estimator(args, model, X, y, estimator=None):
    """``model.fit(X, y)`` with a progress bar; errors as one line (``estimator``: its last
    step, default ``model``)."""
    estimator = model if estimator is None else estimator
    progress = _common.Progress(estimator.max_iter, _unit(estimator), quiet=args.quiet)
    estimator.set_params(callbacks=[progress, _common.interrupt_check])
    finished = False
    with _common.warnings_as_lines("train"), _common.deferred_interrupts():
        try:
            model.fit(X, y)
            finished = True
        except DivergenceError as exc:
            raise UserError(_failed_fit(args, estimator, exc)) from None
        except UserError as exc:
            if not _is_dask_array(X):
                raise
            raise UserError(f"training on dask arrays (streamed from disk or --dask): {exc}") \
                from None
        finally:
            progress.close(finished)
    # run-time only, not part of the saved model (a reloaded model refitted elsewhere must not
    # resume from or overwrite this run's checkpoint directory)
    estimator.set_params(callbacks=None, checkpoint=None)


def _failed_fit(args, estimator, exc) -> str:
    """A fit that produced no usable model: what happened, and which flag to change."""
    what = getattr(exc, "what", str(exc))
    reason = getattr(exc, "reason", "diverged")
    if reason == "aborted":
        advice = ["check the data for huge values"]
        if not args.standardize:
            advice.append("leave out --no-standardize")
        if args.class_weight not in (None, "balanced"):
            advice.append("give smaller --class-weight values")
        advice.append("or use --solver gd")
    elif estimator.solver == "adam":
        advice = ["lower --learning-rate (adam's default is 0.05)"]
    elif args.learning_rate is not None:
        advice = ["lower --learning-rate, or leave it out (the automatic step cannot diverge)"]
    else:
        advice = ["check the data for huge values", "or leave out --no-standardize"
                  if not args.standardize else "or use --solver lbfgs"]
    return f"{what}; {', '.join(advice)}; no model was saved"


def _is_dask_array(X) -> bool:
    return type(X).__module__.startswith("dask.")


def _report(args, table, model, metrics, train, test):
    """The report's HTML text (written with the model, all or nothing)."""
    from lograd.report import build_report

    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    (X_train, y_train), (X_test, y_test) = train, test
    eval_name = "test" if len(y_test) else "train"
    X_eval, y_eval = (X_test, y_test) if len(y_test) else (X_train, y_train)
    return build_report(
        model=model, estimator=estimator, title=f"lograd: {table.source}",
        summary=_summary_rows(table, y_train, y_test, args), params=_shown_params(estimator),
        metrics=metrics, feature_names=table.feature_names, classes=estimator.classes_,
        X_eval=X_eval, y_eval=y_eval, eval_name=eval_name, standardized=args.standardize,
        X_train=X_train, y_train=y_train, unit=_unit(estimator))


def _estimator(args, y):
    from lograd.estimators.logistic import LogisticRegression

    chosen = {
        "solver": args.solver, "learning_rate": args.learning_rate, "C": args.C,
        "l1_ratio": args.l1_ratio, "max_iter": args.max_iter, "tol": args.tol,
        "batch_size": args.batch_size, "checkpoint": args.checkpoint,
        "checkpoint_every": args.checkpoint_every,
        "penalty": None if args.penalty == "none" else args.penalty,
    }
    params = {k: v for k, v in chosen.items() if v is not None}
    if args.penalty == "none":
        params["penalty"] = None
    if args.momentum is not None:
        params["momentum"] = _momentum(args.momentum)
    if args.class_weight is not None:
        params["class_weight"] = _class_weight(args.class_weight, y)
    if args.no_intercept:
        params["fit_intercept"] = False
    estimator = LogisticRegression(random_state=args.seed, **params)
    from lograd.estimators.checks import check_params

    check_params(estimator)  # a bad combination fails now, before reading more or training
    if args.checkpoint is not None:
        from lograd.files.checkpoints import resume_note

        note = resume_note(args.checkpoint)  # a damaged checkpoint fails now, too
        if note:
            _common.say(args, note)
    return estimator


def _momentum(text):
    if text == "nesterov":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise UserError(f"--momentum must be a number in [0, 1) or 'nesterov', got {text!r}")
    return value


def _class_weight(text, y):
    if text == "balanced":
        return "balanced"
    weights = {}
    as_int = y.dtype.kind == "i"
    for item in text.split(","):
        label, sep, weight = item.partition("=")
        try:
            key = int(label) if as_int else label.strip()
            weights[key] = float(weight)
        except ValueError:
            sep = ""
        if not sep or not 0 < weights.get(key, 0) < np.inf:
            raise UserError(f"--class-weight: expected 'balanced' or LABEL=WEIGHT pairs with "
                            f"positive finite weights, like 'yes=3,no=1'; got {item!r}")
    unknown = [k for k in weights if k not in set(np.unique(y).tolist())]
    if unknown:
        raise UserError(f"--class-weight: no class {unknown[0]!r} in the target "
                        f"(classes: {', '.join(map(str, np.unique(y)))})")
    return weights


def _split(table, test_size, seed):
    if test_size == 0:
        empty = np.empty((0, table.X.shape[1]))
        return table.X, empty, table.y, table.y[:0]
    from sklearn.model_selection import train_test_split

    _check_stratifiable(table, test_size)
    return train_test_split(table.X, table.y, test_size=test_size, random_state=seed,
                            stratify=table.y)


def _check_stratifiable(table, test_size) -> None:
    """Refuse a stratified split scikit-learn cannot make, saying what would make it possible:
    every class needs 2 rows, and the test and training parts one row of each class."""
    import math

    labels, counts = np.unique(table.y, return_counts=True)
    n, k = len(table.y), len(labels)
    rare = [str(label) for label, count in zip(labels, counts) if count < 2]
    if rare:
        more = f" (and {len(rare) - 1} more such classes)" if len(rare) > 1 else ""
        raise UserError(f"{table.source}: class {rare[0]!r} has only 1 row{more}: a stratified "
                        "test set needs 2 rows of every class; pass --test-size 0 to train on "
                        "all rows (no test metrics), or add rows of that class")
    n_test = math.ceil(test_size * n)
    if n_test < k:
        smallest = k / n
        raise UserError(f"--test-size {test_size}: holds out {n_test} of {n} rows, fewer than "
                        f"the {k} classes (a stratified test set needs one row of each); pass "
                        f"--test-size {math.ceil(smallest * 1000) / 1000:g} or more, or 0")
    if n - n_test < k:
        largest = (n - k) / n
        raise UserError(f"--test-size {test_size}: leaves {n - n_test} of {n} rows for "
                        f"training, fewer than the {k} classes; pass --test-size "
                        f"{math.floor(largest * 1000) / 1000:g} or less")


def _pipeline(estimator, standardize):
    if not standardize:
        return estimator
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), estimator)


def _unit(estimator) -> str:
    return "epoch" if estimator.solver in ("sgd", "adam") else "iteration"


def _metrics(model, X, y):
    from lograd.report import classification_metrics

    return classification_metrics(y, model.predict_proba(X), model.classes_)


def _class_counts(y) -> str:
    labels, counts = np.unique(y, return_counts=True)
    return ", ".join(f"{label}: {count}" for label, count in zip(labels, counts))


def _summary_lines(table, y_train, y_test, how="stratified"):
    labels, counts = np.unique(table.y, return_counts=True)
    return _data_lines(table.source, table.schema, len(table.y), table.n_dropped, labels, counts,
                       len(y_train), len(y_test), how)


def _data_lines(source, schema, n_rows, n_dropped, labels, counts, n_train, n_test, how):
    """What was read: rows, features, classes with their counts, the split."""
    dropped = f" ({n_dropped} with missing values left out)" if n_dropped else ""
    split = (f"train {n_train} rows, test {n_test} rows ({how})" if n_test
             else f"train {n_train} rows, no test rows (--test-size 0)")
    encoded = [c for c in schema.columns if c in schema.categories]
    shown_counts = ", ".join(f"{label}: {count}" for label, count in zip(labels, counts))
    lines = [f"data: {source}",
             f"  {n_rows} rows{dropped}, {len(schema.feature_names)} features, target "
             f"{schema.target!r} with {len(labels)} classes ({shown_counts})"]
    shown = schema.columns[:5]
    more = f", ... ({len(schema.columns) - 5} more)" if len(schema.columns) > 5 else ""
    lines.append(f"  feature columns: {', '.join(shown)}{more}")
    if encoded:
        lines.append(f"  one-hot encoded: {', '.join(encoded)}")
    lines += [f"  {what}: {', '.join(columns)}" for what, columns in schema.decisions()]
    if any(reason != "--exclude" for reason in schema.left_out.values()):
        lines.append("  (pass --keep COLUMN to use a column left out as an identifier)")
    lines.append(f"  {split}")
    return lines


def _summary_rows(table, y_train, y_test, args):
    return [("data", table.source), ("target", table.schema.target),
            ("rows", f"{len(table.y)} ({len(y_train)} train, {len(y_test)} test)"
                     + (f"; {table.n_dropped} left out (missing values)" if table.n_dropped
                        else "")),
            ("features", str(table.X.shape[1])),
            *[(what, ", ".join(columns)) for what, columns in table.schema.decisions()],
            ("classes", _class_counts(table.y)),
            ("standardized", "yes" if args.standardize else "no"),
            ("model file", os.path.abspath(args.output))]


def _shown_params(estimator):
    return {k: repr(v) for k, v in estimator.get_params(deep=False).items() if k != "callbacks"}
