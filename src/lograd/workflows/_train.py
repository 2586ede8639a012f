"""What ``lograd train`` does: read the data, split it, fit, score, save the model and report.

Three paths, chosen from the data and the memory budget:

- a table in memory (one file, an example data set, or the bundled breast-cancer data):
  stratified split, a StandardScaler + estimator pipeline fitted in this process (or the
  estimator on a Dask cluster, ``dask=True``);
- a directory or glob of files that fits the budget: read as one table, rows held out row by
  row (seeded, not stratified), then as above;
- data larger than the budget: the encoded (standardized) chunks are spilled to disk and the
  estimator is fitted on dask arrays reading them, so memory stays within the budget.

Messages name this function's parameters between backquotes, as in "`output` m.lograd: is a
directory" or "pass `test_size=0`"; the CLI writes its flags there instead.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass, field

from lograd.errors import DivergenceError, UserError

SPLIT_BY_ROW = "held out row by row, not stratified"
_FORMAT_NAMES = {"parquet": "Parquet", "text": "text"}
#: The estimators ``model`` names: (module, class) under lograd.estimators.
MODELS = {"logistic": ("logistic", "LogisticRegression"), "mlp": ("mlp", "MLPClassifier")}
# An example trained by the model the course trains on it takes the course's settings where the
# caller set none: its shallow network on the flower runs 10,000 plain gradient steps from
# randn*0.01 weights with no penalty (scikit-learn's defaults, 200 iterations from glorot
# weights with alpha=1e-4, stop at 88 % on the flower instead of the course's 90 %).
COURSE_SETTINGS = {("flower", "mlp"): {"max_iter": 10_000, "init": "small", "alpha": 0.0,
                                       "tol": 0.0}}


class TrainListener:
    """What :func:`train` tells while it works. This base class shows nothing: subclass it.

    The CLI's listener prints the lines, draws a progress bar during the fit, turns Python
    warnings into one line each and defers Ctrl-C to the end of an iteration (or of starting
    a cluster).
    """

    def line(self, text: str) -> None:
        """One line of the account, as soon as it is known: the data read, the split, the
        outcome and the metrics (:attr:`TrainResult.lines` holds them all)."""

    def reading(self):
        """A context manager around scanning a directory or glob of files."""
        return contextlib.nullcontext()

    def uninterruptible(self):
        """A context manager around a step that Ctrl-C should not cut in the middle (starting
        a local Dask cluster)."""
        return contextlib.nullcontext()

    def fitting(self, total: int, unit: str):
        """A context manager around the fit of at most ``total`` ``unit``\\ s ('iteration', or
        'epoch' for sgd and adam); it yields a list of training callbacks to add, each called
        as ``callback(info)`` once per iteration (see ``LogisticRegression(callbacks=...)``)."""
        return contextlib.nullcontext([])


@dataclass
class TrainResult:
    """What :func:`train` did.

    Attributes
    ----------
    model : estimator or sklearn Pipeline
        The fitted model as saved: ``Pipeline(StandardScaler, estimator)`` when standardizing,
        else the estimator.
    estimator : LogisticRegression or MLPClassifier
        The fitted estimator (the model's last step).
    metrics : dict
        ``{"train": {...}, "test": {...}}`` (see :func:`lograd.report.classification_metrics`);
        no ``"test"`` without test rows.
    rows : dict
        ``{"train": n, "test": n, "dropped": n}``: the split, and the rows left out for
        missing values.
    source : str
        The data as messages name it.
    schema : lograd.files.tables.Schema
        The columns read, their encoding and the target (saved with the model).
    lines : list of str
        The account of the run, line by line, as the CLI prints it.
    output, report : str or None
        The model file and the HTML report written (None when not asked for).
    streamed : bool
        Whether the data was streamed from a spill directory.
    """

    model: object
    estimator: object
    metrics: dict
    rows: dict
    source: str
    schema: object
    lines: list = field(default_factory=list)
    output: str | None = None
    report: str | None = None
    streamed: bool = False


def train(data=None, *, target=None, features=None, exclude=None, keep=None, delimiter=None,
          header=None, drop_missing=False, model="logistic", params=None, standardize=True,
          test_size=0.2, seed=0, memory=None, spill_dir=None, dask=False, output=None,
          report=None, listener=None, callbacks=(), example=None) -> TrainResult:
    """Train a logistic regression model or a network on a data file (or the bundled data);
    save it.

    Parameters
    ----------
    data : str or path-like, optional
        A CSV/TSV, Parquet, ``.npy`` or ``.npz`` file, a directory of such files or a glob
        (``'parts/*.parquet'``); None: ``example``, or else scikit-learn's bundled
        breast-cancer data (569 rows, 30 features, target 'diagnosis').
    target : str or int, optional
        The column to predict, by name or 0-based index (required with ``data`` unless it is
        an ``.npz`` with ``y``).
    features, exclude, keep : str, optional
        Comma-separated columns, by name or index: the features (default: all but the target,
        leaving out identifier-like columns); columns not to use; columns to use even if they
        look like identifiers.
    delimiter : str, optional
        A text file's field delimiter (default: from the extension, else detected).
    header : bool, optional
        Whether the first line holds column names (default: detected).
    drop_missing : bool
        Leave out rows with a missing or non-finite value (default: such a value is an error).
    model : {"logistic", "mlp"}
        The estimator: ``lograd.LogisticRegression`` or ``lograd.MLPClassifier``.
    params : dict, optional
        The estimator's parameters (``solver``, ``C``, ``learning_rate``, ``checkpoint``, ...;
        for "mlp" ``hidden_layer_sizes``, ``activation``, ``learning_rate_init``, ...); unset
        ones keep its defaults. ``random_state`` defaults to ``seed``. ``class_weight`` may
        name integer classes by their text (``{"1": 2.0}``).
    standardize : bool
        Fit a ``StandardScaler`` on the training rows first (saved with the model).
    test_size : float in [0, 1)
        Fraction of rows held out for the test metrics (stratified for one table); 0 trains on
        every row.
    seed : int
        Seeds the split (and the estimator, unless ``params`` sets ``random_state``).
    memory : int, optional
        Bytes of memory for the data; a file set larger than that is streamed from a spill
        directory (default: half the available RAM).
    spill_dir : str, optional
        Where the spill directory is made (default: the system's temporary directory).
    dask : bool or str
        Fit on Dask arrays: True on the current ``distributed`` client's cluster (or Dask's
        local scheduler); ``'local'`` or ``'local:N'`` starts N worker processes (default 2)
        on this machine for the run; ``'tcp://HOST:PORT'`` uses a running scheduler.
    output : str or path-like, optional
        Where to save the model (nothing is saved when None).
    report : str or path-like, optional
        Also write a self-contained HTML report there (needs the data in memory). The model
        and the report are written together or not at all.
    listener : TrainListener, optional
        Told the lines, the scan and the fit as they happen (default: nothing is shown).
    callbacks : sequence of callables
        More training callbacks, each called as ``callback(info)`` once per iteration.
    example : str, optional
        Without ``data``: one of :data:`lograd.datasets.EXAMPLES` (``"flower"``, the course's
        planar data; ``"moons"``, ``"circles"``, ``"breast_cancer"``), as
        :func:`lograd.datasets.load_example` gives it, features ``x1``, ``x2``, ... and target
        ``y``. ``example="flower"`` with ``model="mlp"`` takes the course's settings
        (:data:`COURSE_SETTINGS`: ``max_iter=10000``, ``init='small'``, ``alpha=0``,
        ``tol=0``) for those of them ``params`` does not set, and says so.

    Returns
    -------
    TrainResult

    Raises
    ------
    lograd.errors.UserError
        One line naming the file, row, column or parameter: bad data, bad parameters, an output
        that cannot be written or would destroy an input, a fit that diverged. Nothing is
        written then (an old model file stays as it was).
    """
    run = _Run(data=_path(data), target=target, features=features, exclude=exclude, keep=keep,
               delimiter=delimiter, header=header, drop_missing=drop_missing, model=model,
               example=example,
               params=dict(params or {}), standardize=standardize, test_size=test_size,
               seed=seed, spill_dir=spill_dir, dask=bool(dask), output=_path(output),
               report=_path(report), listener=listener or TrainListener(),
               callbacks=list(callbacks))
    from lograd.files import filesets
    from lograd.workflows import _cluster

    if model not in MODELS:
        raise UserError(f"`model` {model!r}: expected one of {', '.join(MODELS)}")
    if example is not None and run.data is not None:
        raise UserError("`example` and `data`: give one of them, not both")
    _check_outputs(run)  # before any work
    course = COURSE_SETTINGS.get((example, model), {})
    unset = {name: value for name, value in course.items() if name not in run.params}
    if unset:
        run.params.update(unset)
        settings = ", ".join(f"`{name}={value:g}`" if isinstance(value, float) else
                             f"`{name}={value}`" for name, value in unset.items())
        run.say(f"the course's settings for the {example} network: {settings} "
                f"(set one to change it)")
    if spill_dir is not None and not os.path.isdir(spill_dir):
        raise UserError(f"`spill_dir` {spill_dir}: no such directory")
    budget = memory if memory is not None else filesets.default_budget()
    with _cluster.cluster(dask, run.listener.uninterruptible):
        files = _file_set(run.data, budget)
        if files is not None:
            return _train_file_set(run, files, budget)
        return _train_in_memory(run, _load(run))


@dataclass
class _Run:
    """The arguments of one :func:`train` call, and the lines said so far."""

    data: object
    target: object
    features: object
    exclude: object
    keep: object
    delimiter: object
    header: object
    drop_missing: bool
    model: str
    example: object
    params: dict
    standardize: bool
    test_size: float
    seed: int
    spill_dir: object
    dask: bool
    output: str | None
    report: str | None
    listener: TrainListener
    callbacks: list
    lines: list = field(default_factory=list)

    def say(self, *texts) -> None:
        for text in texts:
            for line in text.split("\n"):
                self.lines.append(line)
                self.listener.line(line)


def _path(path):
    return None if path is None else os.fspath(path)


def _check_outputs(run) -> None:
    """Refuse, before any work, outputs that cannot be written or would destroy an input."""
    from lograd.files.atomic import check_outputs, input_files

    inputs = input_files("`data`", run.data)
    checkpoint = run.params.get("checkpoint")
    if checkpoint is not None:  # its file is read and written too
        from lograd.files.checkpoints import FILENAME

        inputs.append(("`checkpoint`", os.path.join(checkpoint, FILENAME)))
    check_outputs({"`output`": run.output, "`report`": run.report}, inputs)


# -- in memory ---------------------------------------------------------------------------------
def _load(run):
    """The training table: the data file, an example, or the bundled breast-cancer data."""
    from lograd.files.tables import check_classes, load_default, read_table

    if run.data is None:
        if any(v is not None for v in (run.target, run.features, run.exclude, run.keep)):
            used = (f"`example` {run.example} has its own columns, features x1, x2, ... and "
                    f"target y" if run.example is not None else
                    "without `data` the bundled breast-cancer data is used")
            raise UserError(f"`target`/`features`/`exclude`/`keep` need a `data` file; {used}")
        table = load_default() if run.example in (None, "breast_cancer") else \
            _example(run.example)
    else:
        table = read_table(run.data, target=run.target, features=run.features,
                           delimiter=run.delimiter, header=run.header,
                           drop_missing=run.drop_missing, exclude=run.exclude, keep=run.keep)
    check_classes(table.y, table.source, table.schema.target)
    return table


def _example(name):
    """An example data set of :func:`lograd.datasets.load_example` as a table with columns
    x1, x2, ... and target y."""
    from lograd.datasets import load_example
    from lograd.files.tables import Schema, Table

    X, y, _ = load_example(name)
    names = [f"x{j + 1}" for j in range(X.shape[1])]
    schema = Schema(columns=names, target="y", header=True, file_columns=[*names, "y"])
    return Table(X, y, names, schema, source=f"example {name!r} (lograd.datasets)")


def _train_in_memory(run, table, split=None, how="stratified", note=None) -> TrainResult:
    """Fit on ``split = (X_train, X_test, y_train, y_test)`` (default: a stratified split of
    ``table``) in memory; score, report and save."""
    from lograd.files.tables import too_large

    estimator = _estimator(run, table.y)  # a bad parameter fails before the split
    huge = too_large(table.X, table.feature_names, table.source, table.where)
    if huge is not None:
        raise huge
    split = _split(table, run.test_size, run.seed) if split is None else split
    X_train, X_test, y_train, y_test = split
    run.say(*_summary_lines(table, y_train, y_test, how), *([note] if note else []))
    model = _fit(run, estimator, X_train, y_train)

    metrics = {"train": _metrics(model, X_train, y_train)}
    if len(y_test):
        metrics["test"] = _metrics(model, X_test, y_test)
    rows = {"train": int(len(y_train)), "test": int(len(y_test)), "dropped": table.n_dropped}
    report = None
    if run.report:  # built before anything is written: all outputs or none
        report = _report(run, table, model, metrics, (X_train, y_train), (X_test, y_test))
    with _undone_on_failure(run.output):
        _say_outcome(run, estimator, metrics)
        _save(run, model, metrics, table.schema, table.source, rows)
        if report is not None:
            from lograd import report as reports  # (looked up now: tests replace it)

            reports.write_report_text(run.report, report)
    return TrainResult(model, estimator, metrics, rows, table.source, table.schema, run.lines,
                       run.output, run.report)


def _split(table, test_size, seed):
    import numpy as np

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
    import numpy as np

    labels, counts = np.unique(table.y, return_counts=True)
    n, k = len(table.y), len(labels)
    rare = [str(label) for label, count in zip(labels, counts) if count < 2]
    if rare:
        more = f" (and {len(rare) - 1} more such classes)" if len(rare) > 1 else ""
        raise UserError(f"{table.source}: class {rare[0]!r} has only 1 row{more}: a stratified "
                        "test set needs 2 rows of every class; pass `test_size=0` to train on "
                        "all rows (no test metrics), or add rows of that class")
    n_test = math.ceil(test_size * n)
    if n_test < k:
        smallest = k / n
        raise UserError(f"`test_size={test_size}`: holds out {n_test} of {n} rows, fewer than "
                        f"the {k} classes (a stratified test set needs one row of each); pass "
                        f"`test_size={math.ceil(smallest * 1000) / 1000:g}` or more, or 0")
    if n - n_test < k:
        largest = (n - k) / n
        raise UserError(f"`test_size={test_size}`: leaves {n - n_test} of {n} rows for "
                        f"training, fewer than the {k} classes; pass "
                        f"`test_size={math.floor(largest * 1000) / 1000:g}` or less")


# -- the estimator and its fit -------------------------------------------------------------------
def _estimator(run, y):
    """The estimator of ``run.model`` and ``run.params``, checked now (before reading more or
    training)."""
    import importlib

    from lograd.estimators.checks import check_estimator

    module, name = MODELS[run.model]
    cls = getattr(importlib.import_module(f"lograd.estimators.{module}"), name)
    params = {"random_state": run.seed, **run.params}
    unknown = sorted(set(params) - set(cls().get_params(deep=False)))
    if unknown:
        raise UserError(f"`params`: {name} has no parameter {unknown[0]!r} (`model` "
                        f"{run.model!r})")
    if params.get("class_weight") is not None:
        params["class_weight"] = _class_weight(params["class_weight"], y)
    estimator = cls(**params)
    check_estimator(estimator)
    if params.get("checkpoint") is not None:
        from lograd.files.checkpoints import resume_note

        note = resume_note(params["checkpoint"])  # a damaged checkpoint fails now, too
        if note:
            run.say(note)
    return estimator


def _class_weight(weights, y):
    """``weights`` with each key one of the classes of ``y``; integer classes may be named by
    their text (``"1"``), as a command line gives them."""
    if isinstance(weights, str):
        return weights
    import numpy as np

    integer = y.dtype.kind in "iu"
    classes = set(np.unique(y).tolist())
    result = {}
    for key, weight in weights.items():
        if integer and isinstance(key, str):
            with contextlib.suppress(ValueError):
                key = int(key)
        elif isinstance(key, str):
            key = key.strip()
        result[key] = weight
    unknown = [key for key in result if key not in classes]
    if unknown:
        raise UserError(f"`class_weight`: no class {unknown[0]!r} in the target "
                        f"(classes: {', '.join(map(str, np.unique(y)))})")
    return result


def _pipeline(estimator, standardize):
    if not standardize:
        return estimator
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), estimator)


def _unit(estimator) -> str:
    return "epoch" if estimator.solver in ("sgd", "adam") else "iteration"


def _fit(run, estimator, X, y):
    """Fit (scaler and) estimator; the model (the pipeline, or the estimator).

    With ``dask`` the scaler is fitted here and the estimator on a dask array of the
    standardized rows (the estimator persists it in the workers' memory).
    """
    model = _pipeline(estimator, run.standardize)
    if not run.dask:
        _fit_estimator(run, model, X, y, estimator)
        return model
    import dask.array as da

    if model is not estimator:
        X = model.steps[0][1].fit(X).transform(X)
    rows = max(1024, -(-len(X) // 8))  # 8 chunks to share among the workers
    _fit_estimator(run, estimator, da.from_array(X, chunks=(rows, -1)),
                   da.from_array(y, chunks=rows))
    return model


def _fit_estimator(run, model, X, y, estimator=None) -> None:
    """``model.fit(X, y)`` with the listener's callbacks; a fit that produced no usable model
    is a UserError saying what to change (``estimator``: the model's last step)."""
    estimator = model if estimator is None else estimator
    with run.listener.fitting(estimator.max_iter, _unit(estimator)) as callbacks:
        estimator.set_params(callbacks=[*callbacks, *run.callbacks])
        try:
            model.fit(X, y)
        except DivergenceError as exc:
            raise UserError(_failed_fit(run, estimator, exc)) from None
        except UserError as exc:
            if not _is_dask_array(X):
                raise
            raise UserError(f"training on dask arrays (streamed from disk or `dask`): {exc}") \
                from None
    # run-time only, not part of the saved model (a reloaded model refitted elsewhere must not
    # resume from or overwrite this run's checkpoint directory)
    estimator.set_params(callbacks=None, checkpoint=None)


def _failed_fit(run, estimator, exc) -> str:
    """A fit that produced no usable model: what happened, and which parameter to change."""
    what = getattr(exc, "what", str(exc))
    reason = getattr(exc, "reason", "diverged")
    if reason == "aborted":
        advice = ["check the data for huge values"]
        if not run.standardize:
            advice.append("leave out `standardize=False`")
        if run.params.get("class_weight") not in (None, "balanced"):
            advice.append("give smaller `class_weight` values")
        advice.append("or use `solver='gd'`")
    elif run.model == "mlp":
        advice = ["lower `learning_rate_init`"]
    elif estimator.solver == "adam":
        advice = ["lower `learning_rate` (adam's default is 0.05)"]
    elif run.params.get("learning_rate") is not None:
        advice = ["lower `learning_rate`, or leave it out (the automatic step cannot diverge)"]
    else:
        advice = ["check the data for huge values", "or leave out `standardize=False`"
                  if not run.standardize else "or use `solver='lbfgs'`"]
    return f"{what}; {', '.join(advice)}; no model was saved"


def _is_dask_array(X) -> bool:
    return type(X).__module__.startswith("dask.")


# -- scores, outputs -------------------------------------------------------------------------------
def _metrics(model, X, y):
    from lograd.report import classification_metrics

    return classification_metrics(y, model.predict_proba(X), model.classes_)


def _say_outcome(run, estimator, metrics) -> None:
    import numpy as np

    from lograd.report import metrics_table

    run.say(f"trained in {int(np.sum(estimator.n_iter_))} {_unit(estimator)}s "
            f"(final objective {estimator.loss_curve_[-1]:.6f})", "", metrics_table(metrics), "")


def _save(run, model, metrics, schema, source, rows, **extra) -> None:
    """Save the model with what it was trained on (nothing without ``output``)."""
    if run.output is None:
        return
    from lograd.estimators import persistence

    info = {"schema": schema.to_dict(), "metrics": metrics, "source": source, "rows": rows,
            "standardize": bool(run.standardize), "test_size": run.test_size,
            "seed": run.seed, **extra}
    persistence.save(model, run.output, info=info)


@contextlib.contextmanager
def _undone_on_failure(path):
    """If the block fails (or is interrupted), put back what was at ``path`` before it: the
    old file (kept meanwhile as a hard link), or nothing. So a run writing several outputs
    leaves all of them or none."""
    if path is None:
        yield
        return
    existed = os.path.lexists(path)
    backup = None
    if existed and os.path.isfile(path) and not os.path.islink(path):
        backup = os.path.join(os.path.dirname(os.path.abspath(path)),
                              f".{os.path.basename(path)}.{os.getpid()}.backup.tmp")
        try:
            os.link(path, backup)
        except OSError:
            backup = None
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError):
            if backup is not None:
                os.replace(backup, path)
                backup = None
            elif not existed:
                os.remove(path)
        raise
    finally:
        if backup is not None:
            with contextlib.suppress(OSError):
                os.remove(backup)


def _report(run, table, model, metrics, train, test) -> str:
    """The report's HTML text (written with the model, all or nothing)."""
    from lograd import report as reports  # (looked up now: tests replace it)

    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    (X_train, y_train), (X_test, y_test) = train, test
    eval_name = "test" if len(y_test) else "train"
    X_eval, y_eval = (X_test, y_test) if len(y_test) else (X_train, y_train)
    return reports.build_report(
        model=model, estimator=estimator, title=f"lograd: {table.source}",
        summary=_summary_rows(run, table, y_train, y_test), params=_shown_params(estimator),
        metrics=metrics, feature_names=table.feature_names, classes=estimator.classes_,
        X_eval=X_eval, y_eval=y_eval, eval_name=eval_name, standardized=run.standardize,
        X_train=X_train, y_train=y_train, unit=_unit(estimator))


def _summary_rows(run, table, y_train, y_test):
    rows = [("data", table.source), ("target", table.schema.target),
            ("rows", f"{len(table.y)} ({len(y_train)} train, {len(y_test)} test)"
                     + (f"; {table.n_dropped} left out (missing values)" if table.n_dropped
                        else "")),
            ("features", str(table.X.shape[1])),
            *[(what, ", ".join(columns)) for what, columns in table.schema.decisions()],
            ("classes", _class_counts(table.y)),
            ("standardized", "yes" if run.standardize else "no")]
    if run.output is not None:
        rows.append(("model file", os.path.abspath(run.output)))
    return rows


def _shown_params(estimator):
    return {k: repr(v) for k, v in estimator.get_params(deep=False).items() if k != "callbacks"}


# -- what was read ------------------------------------------------------------------------------
def _class_counts(y) -> str:
    import numpy as np

    labels, counts = np.unique(y, return_counts=True)
    return ", ".join(f"{label}: {count}" for label, count in zip(labels, counts))


def _summary_lines(table, y_train, y_test, how="stratified"):
    import numpy as np

    labels, counts = np.unique(table.y, return_counts=True)
    return _data_lines(table.source, table.schema, len(table.y), table.n_dropped, labels, counts,
                       len(y_train), len(y_test), how)


def _data_lines(source, schema, n_rows, n_dropped, labels, counts, n_train, n_test, how):
    """What was read: rows, features, classes with their counts, the split."""
    dropped = f" ({n_dropped} with missing values left out)" if n_dropped else ""
    split = (f"train {n_train} rows, test {n_test} rows ({how})" if n_test
             else f"train {n_train} rows, no test rows (`test_size=0`)")
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
        lines.append("  (pass `keep=COLUMN` to use a column left out as an identifier)")
    lines.append(f"  {split}")
    return lines


# -- file sets and data larger than memory ------------------------------------------------------
def _file_set(data, budget):
    """The files of ``data`` when it is a directory or glob, or one file too large for the
    budget; None for the in-memory path."""
    from lograd.files import filesets

    if data is None:
        return None
    files = filesets.expand(data)
    if files is None and filesets.IN_MEMORY_COPIES * filesets.estimated_bytes(data) > budget:
        files = [data]
    return files


def _train_file_set(run, files, budget) -> TrainResult:
    import numpy as np

    from lograd.files import filesets
    from lograd.files.tables import Table

    filesets.use_system_allocator()  # this process reads many files one chunk at a time
    with run.listener.reading():
        fileset = filesets.scan(files, run.data, target=run.target, features=run.features,
                                delimiter=run.delimiter, header=run.header, budget=budget,
                                exclude=run.exclude, keep=run.keep)
    source = _file_set_name(fileset)
    if not fileset.fits(budget):
        return _train_streamed(run, fileset, source, budget)
    split = filesets.load(fileset, run.seed, run.test_size, run.drop_missing)
    note = (f"in memory: {filesets.format_bytes(fileset.encoded_bytes)} encoded (budget "
            f"{filesets.format_bytes(budget)})")
    y_all = np.concatenate([split.y_train, split.y_test])
    table = Table(split.X_train, y_all, fileset.schema.feature_names, fileset.schema, source,
                  split.n_dropped)
    return _train_in_memory(run, table, (split.X_train, split.X_test, split.y_train,
                                         split.y_test), how=SPLIT_BY_ROW, note=note)


def _file_set_name(fileset) -> str:
    from lograd.files.tables import file_format

    if len(fileset.files) == 1 and fileset.files[0] == fileset.source:
        return fileset.source
    fmt = file_format(fileset.files[0])
    return (f"{fileset.source} ({len(fileset.files)} {_FORMAT_NAMES.get(fmt, fmt.upper())} "
            f"file{'s' if len(fileset.files) > 1 else ''})")


def _train_streamed(run, fileset, source, budget) -> TrainResult:
    """Spill the encoded chunks to disk and fit on dask arrays reading them."""
    from lograd.backends import dask as dask_backend
    from lograd.files import filesets

    if run.report:
        raise UserError(f"`report` needs the data in memory, but {fileset.source} "
                        f"({filesets.format_bytes(fileset.encoded_bytes)} encoded) is streamed "
                        f"under `memory` {filesets.format_bytes(budget)}; leave out `report` "
                        "or raise `memory`")
    estimator = _estimator(run, fileset.classes)
    with filesets.spill_directory(run.spill_dir) as directory:
        spilled = filesets.spill(fileset, directory, run.seed, run.test_size,
                                 run.drop_missing, run.standardize)
        counts = spilled.class_counts
        n_rows = int(counts["train"].sum() + counts["test"].sum())
        run.say(*_data_lines(source, fileset.schema, n_rows, spilled.n_dropped,
                             fileset.classes, counts["train"] + counts["test"],
                             int(counts["train"].sum()), int(counts["test"].sum()),
                             SPLIT_BY_ROW),
                f"streaming {n_rows} rows in {spilled.n_chunks} chunks from {directory} "
                f"(budget {filesets.format_bytes(budget)})")
        X, y = dask_backend.spilled_arrays(spilled.train, fileset.n_features,
                                           fileset.classes.dtype)
        with contextlib.nullcontext() if run.dask else dask_backend.streaming_scheduler():
            _fit_estimator(run, estimator, X, y)
        metrics = {"train": _streamed_metrics(estimator, spilled.train)}
        if spilled.test:
            metrics["test"] = _streamed_metrics(estimator, spilled.test)
    model = estimator if spilled.scaler is None else _pipeline_with(spilled.scaler, estimator)
    rows = {"train": int(counts["train"].sum()), "test": int(counts["test"].sum()),
            "dropped": spilled.n_dropped}
    _say_outcome(run, estimator, metrics)
    _save(run, model, metrics, fileset.schema, source, rows, streamed=True)
    return TrainResult(model, estimator, metrics, rows, source, fileset.schema, run.lines,
                       run.output, None, streamed=True)


def _streamed_metrics(estimator, parts):
    """Metrics over spilled (already standardized) chunks, predicted one chunk at a time."""
    import numpy as np

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
