"""A saved model as predict and evaluate use it: the model, and the columns it reads."""

from __future__ import annotations


def read_saved(path):
    """``(saved, schema)``: the model file at ``path`` and the schema of its training data.

    A model saved from Python without a schema reads its features by name when it was fitted
    with named columns (``feature_names_in_``), else by position.
    """
    from lograd.estimators import persistence
    from lograd.files.tables import Schema

    saved = persistence.read_model(path)
    if "schema" in saved.info:
        return saved, Schema.from_dict(saved.info["schema"])
    names = getattr(saved.model, "feature_names_in_", None)
    if names is not None:
        columns = [str(n) for n in names]
        return saved, Schema(columns=columns, header=True, file_columns=columns)
    columns = [str(i) for i in range(int(saved.model.n_features_in_))]
    return saved, Schema(columns=columns, header=False, file_columns=columns)


def model_input(model, X):
    """``X`` as the model was fitted: a DataFrame with its column names if it had them."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return X
    import pandas as pd

    return pd.DataFrame(X, columns=names)
