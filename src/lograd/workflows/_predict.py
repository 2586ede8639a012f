"""What ``lograd predict`` does: every row of a data file through a saved model, streamed."""

from __future__ import annotations

import itertools
import os
import sys
from dataclasses import dataclass

DEFAULT_CHUNK_ROWS = 65536


@dataclass
class PredictResult:
    """What :func:`predict` wrote.

    Attributes
    ----------
    rows : int
        Rows predicted (one output line each, including rows left without a prediction).
    classes : ndarray of shape (n_classes,)
        The model's classes, in the order of the ``proba_<class>`` columns.
    output : str or None
        The file written; None when the predictions went to a stream.
    """

    rows: int
    classes: object
    output: str | None = None


def predict(model, data, *, output=None, stream=None, chunk_rows=DEFAULT_CHUNK_ROWS,
            delimiter=None, header=None, drop_missing=False) -> PredictResult:
    """Predict the label and the class probabilities of every row of ``data``, as CSV.

    The data is read and written ``chunk_rows`` rows at a time, so memory does not grow with
    its size. The CSV has a header: ``label``, then ``proba_<class>`` for each class, one line
    per input row, in order; probabilities are written with full precision.

    Parameters
    ----------
    model : str or path-like
        A model file written by ``lograd train`` (or :func:`lograd.save`).
    data : str or path-like
        A CSV/TSV, Parquet, ``.npy`` or ``.npz`` file, or a directory or glob of such files
        (predicted file after file, in name order). Features are matched to the training
        data by column name (by position when either file has no header line); the target
        and other columns are ignored.
    output : str or path-like, optional
        The CSV file to write: written whole or not at all. None: write to ``stream``.
    stream : text file, optional
        Where the CSV goes without ``output`` (default: ``sys.stdout``).
    chunk_rows : int
        Rows read at a time.
    delimiter, header
        How to read a text file (default: detected), as in :func:`lograd.workflows.train`.
    drop_missing : bool
        Rows with a missing value get empty fields instead of an error.

    Returns
    -------
    PredictResult

    Raises
    ------
    lograd.errors.UserError
        A bad model file, data that does not match the model, an output that cannot be written
        or would destroy an input (nothing is written then).
    """
    from lograd.files.atomic import atomic_write, check_outputs, input_files
    from lograd.files.filesets import expand
    from lograd.files.tables import iter_chunks
    from lograd.workflows._saved import read_saved

    model, data = os.fspath(model), os.fspath(data)
    check_outputs({"`output`": output},
                  inputs=[("`model`", model), *input_files("`data`", data)])
    saved, schema = read_saved(model)
    files = expand(data) or [data]
    chunks = itertools.chain.from_iterable(  # file after file, each read lazily
        iter_chunks(path, schema, chunk_rows=chunk_rows, delimiter=delimiter, header=header,
                    drop_missing=drop_missing) for path in files)
    classes = saved.model.classes_
    if output is None:
        stream = sys.stdout if stream is None else stream
        rows = write_predictions(stream, saved.model, classes, chunks)
        stream.flush()
        return PredictResult(rows, classes)
    with atomic_write(output, "w", what="`output`", newline="", encoding="utf-8") as f:
        rows = write_predictions(f, saved.model, classes, chunks)
    return PredictResult(rows, classes, os.fspath(output))


def write_predictions(stream, model, classes, chunks) -> int:
    """Write 'label,proba_<class>...' for each chunk's rows; returns the number of rows.

    Probabilities are written with full precision (they read back as the same floats); rows
    that are not valid (missing values with ``drop_missing``) get empty fields.
    """
    import numpy as np
    import pandas as pd

    from lograd.workflows._saved import model_input

    columns = ["label"] + [f"proba_{c}" for c in classes]
    total = 0
    for chunk in chunks:
        proba = np.full((len(chunk.X), len(classes)), np.nan)  # (rows, n_classes)
        if chunk.valid.any():
            rows = model_input(model, chunk.X[chunk.valid])
            proba[chunk.valid] = model.predict_proba(rows)
        labels = np.asarray(classes)[np.argmax(np.where(chunk.valid[:, None], proba, 0), axis=1)]
        frame = pd.DataFrame(proba, columns=columns[1:])
        frame.insert(0, "label", pd.Series(labels, dtype=object).where(chunk.valid, None))
        frame.to_csv(stream, header=total == 0, index=False, lineterminator="\n")
        total += len(chunk.X)
    return total
