"""What ``lograd evaluate`` does: score a saved model on labelled data."""

from __future__ import annotations

from dataclasses import dataclass

from lograd.errors import UserError, shown


@dataclass
class EvaluateResult:
    """What :func:`evaluate` found.

    Attributes
    ----------
    metrics : dict
        Accuracy, log-loss, ROC AUC, precision, recall, F1, the row count ``n`` and the
        confusion matrix (see :func:`lograd.report.classification_metrics`).
    source : str
        The data as messages name it.
    target : str
        The column of true labels.
    dropped : int
        Rows left out for missing values (with ``drop_missing``).
    summary : str
        The text ``lograd evaluate`` prints: the data, the metrics table and the confusion
        matrix.
    json_output : str or None
        The JSON file written, if asked for.
    """

    metrics: dict
    source: str
    target: str
    dropped: int
    summary: str
    json_output: str | None = None

    def to_json(self) -> str:
        """The metrics as the JSON file holds them."""
        from lograd.files import json_codec

        return json_codec.dumps(self.metrics, indent=2, default=str)


def evaluate(model, data, *, target=None, json_output=None, delimiter=None, header=None,
             drop_missing=False) -> EvaluateResult:
    """Score a saved model on labelled data.

    Parameters
    ----------
    model : str or path-like
        A model file written by ``lograd train`` (or :func:`lograd.save`).
    data : str or path-like
        A CSV/TSV, Parquet, ``.npy`` or ``.npz`` file, or a directory or glob of such files
        (read one file at a time).
    target : str or int, optional
        The column of true labels, by name or 0-based index (default: the training target's
        name).
    json_output : str or path-like, optional
        Also write the metrics there as JSON.
    delimiter, header, drop_missing
        How to read the data, as in :func:`lograd.workflows.train`.

    Returns
    -------
    EvaluateResult

    Raises
    ------
    lograd.errors.UserError
        A bad model file, data that does not match it, a label that is not one of its
        classes, an output that cannot be written or would destroy an input.
    """
    import os

    import numpy as np

    from lograd import report
    from lograd.files.atomic import atomic_write, check_outputs, input_files
    from lograd.files.filesets import expand
    from lograd.files.tables import read_table
    from lograd.workflows._saved import model_input, read_saved

    model, data = os.fspath(model), os.fspath(data)
    check_outputs({"`json_output`": json_output},
                  inputs=[("`model`", model), *input_files("`data`", data)])
    saved, schema = read_saved(model)
    classes = saved.model.classes_
    files = expand(data)
    labels, probas, n_dropped = [], [], 0
    for path in files or [data]:  # one file in memory at a time
        table = read_table(path, target=target, delimiter=delimiter, header=header,
                           drop_missing=drop_missing, schema=schema)
        labels.append(_as_classes(table, classes))
        probas.append(saved.model.predict_proba(model_input(saved.model, table.X)))
        n_dropped += table.n_dropped
    y, proba = np.concatenate(labels), np.concatenate(probas)  # (n,), (n, n_classes)
    metrics = report.classification_metrics(y, proba, classes)
    dropped = f" ({n_dropped} rows with missing values left out)" if n_dropped else ""
    source = f"{data} ({len(files)} files)" if files else table.source
    summary = (f"{source}: {len(y)} rows{dropped}, target {table.schema.target!r}\n"
               f"{report.metrics_table({'evaluation': metrics})}\n\n"
               f"{report.confusion_table(metrics['confusion_matrix'], classes)}\n")
    result = EvaluateResult(metrics, source, table.schema.target, n_dropped, summary)
    if json_output is not None:
        with atomic_write(json_output, "w", what="`json_output`", encoding="utf-8") as f:
            f.write(result.to_json())
        result.json_output = os.fspath(json_output)
    return result


def _as_classes(table, classes):
    """The file's labels as the model's classes (ints or words), refusing unknown labels."""
    import numpy as np

    by_text = {str(c): c for c in classes}
    labels = np.array([by_text.get(str(v)) for v in table.y], dtype=object)
    unknown = np.flatnonzero([v is None for v in labels])
    if unknown.size:
        value = table.y[unknown[0]]
        raise UserError(f"{table.source}: {table.where(unknown[0])}, target column "
                        f"{table.schema.target!r}: label {shown(value)} is not a class of the "
                        f"model ({', '.join(map(str, classes))}; {unknown.size} such rows)")
    return labels.astype(classes.dtype)
