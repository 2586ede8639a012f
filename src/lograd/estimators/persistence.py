"""Saving and loading estimators: ``lograd.save`` and ``lograd.load``.

A fitted estimator (or a scikit-learn ``Pipeline`` of a ``StandardScaler`` and the estimator)
becomes a :class:`lograd.files.model_files.SavedModel` -- its hyperparameters, fitted arrays and
scalars -- written by :func:`lograd.files.model_files.write`; loading reads one back and builds
the estimator, which predicts exactly as the saved one did. The file format, its bounds and its
checks are :mod:`lograd.files.model_files`'s; what an estimator is, is this module's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from lograd.errors import UserError
from lograd.estimators.checks import check_params
from lograd.estimators.logistic import LogisticRegression
from lograd.files import model_files
from lograd.files.model_files import FITTED, SCALER, SavedModel


@dataclass
class LoadedModel:
    """A model file, loaded.

    Attributes
    ----------
    model : LogisticRegression or sklearn Pipeline(StandardScaler, LogisticRegression)
        Ready to predict.
    info : dict
        The free-form metadata saved with the model (data schema, metrics, ...).
    meta : dict
        The whole ``meta.json``.
    """

    model: object
    info: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


def save(model, path, *, info=None) -> None:
    """Write a fitted model to ``path`` (atomically), without pickle.

    Parameters
    ----------
    model : lograd.LogisticRegression or Pipeline
        A fitted estimator, or a fitted scikit-learn ``Pipeline`` of a ``StandardScaler``
        followed by the estimator.
    path : str or path-like
        Destination, conventionally ``*.lograd``.
    info : dict, optional
        JSON-serializable metadata stored with the model (e.g. training metrics).

    Raises
    ------
    UserError
        If the model is not fitted or not of a supported kind, or the path is not writable.
    """
    scaler, estimator = _split(model)
    arrays, attributes = _fitted_state(estimator)
    if scaler is not None:
        for name in SCALER:
            arrays[f"scaler.{name}"] = np.asarray(getattr(scaler, name), dtype=np.float64)
        attributes["scaler.n_samples_seen_"] = int(np.max(scaler.n_samples_seen_))
        if hasattr(scaler, "feature_names_in_"):
            arrays["scaler.feature_names_in_"] = np.asarray(scaler.feature_names_in_).astype(str)
    try:  # the checks of loading: a file that could not be loaded back is never written
        check_params(estimator)
    except UserError as exc:
        raise UserError(f"lograd.save: cannot save this model: hyperparameters: {exc}") from None
    model_files.write(path, SavedModel(_params(estimator), arrays, attributes, info or {}))


def read_model(path) -> LoadedModel:
    """Read and validate a model file written by :func:`save`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    LoadedModel
        The model, its ``info`` dict and the whole ``meta.json``.

    Raises
    ------
    UserError
        One line naming the file: missing, foreign, damaged, truncated or inconsistent (see
        :mod:`lograd.files.model_files`), or written by a newer format version.
    """
    saved = model_files.read(path, check_params=_params_problem)
    estimator = _estimator(saved.params, saved.arrays, saved.attributes)
    if not saved.scaler:
        return LoadedModel(estimator, saved.info, saved.meta)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler()
    for name in SCALER:
        setattr(scaler, name, saved.arrays[f"scaler.{name}"])
    scaler.n_features_in_ = len(scaler.mean_)
    scaler.n_samples_seen_ = saved.attributes.get("scaler.n_samples_seen_", 0)
    if "scaler.feature_names_in_" in saved.arrays:
        scaler.feature_names_in_ = saved.arrays["scaler.feature_names_in_"].astype(object)
    return LoadedModel(make_pipeline(scaler, estimator), saved.info, saved.meta)


def load(path):
    """Load a model saved with :func:`save`; it predicts exactly as the saved one did.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    lograd.LogisticRegression or Pipeline

    Raises
    ------
    UserError
        See :func:`read_model`.
    """
    return read_model(path).model


def _split(model):
    """(scaler or None, estimator) from an estimator or a scaler+estimator pipeline."""
    steps = getattr(model, "steps", None)
    if steps is None:
        scaler, estimator = None, model
    else:
        if len(steps) != 2 or type(steps[0][1]).__name__ != "StandardScaler":
            raise UserError("lograd.save: a Pipeline must be exactly StandardScaler() followed by "
                            "the estimator")
        scaler, estimator = steps[0][1], steps[1][1]
    if not hasattr(estimator, "coef_"):
        raise UserError("lograd.save: the model is not fitted (call fit first)")
    if scaler is not None and not hasattr(scaler, "scale_"):
        raise UserError("lograd.save: the StandardScaler is not fitted")
    return scaler, estimator


def _fitted_state(estimator):
    """(arrays, scalars) of the fitted attributes."""
    arrays, attributes = {}, {}
    for name in FITTED:
        if not hasattr(estimator, name):
            continue
        value = getattr(estimator, name)
        if isinstance(value, (np.ndarray, list, tuple)):
            array = np.asarray(value)
            if array.dtype.kind == "O":  # e.g. string labels held as objects: store as text
                array = array.astype(str)
            arrays[name] = array
        else:
            attributes[name] = value
    return arrays, attributes


def _params(estimator) -> dict:
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if callable(value) or name == "callbacks":
            continue  # callables (progress bars, ...) are run-time only, never stored
        if isinstance(value, np.random.RandomState | np.random.Generator):
            value = None
        if isinstance(value, os.PathLike):  # e.g. checkpoint=pathlib.Path(...)
            value = os.fspath(value)
        params[name] = value
    return params


def _unfitted(params) -> LogisticRegression:
    """The estimator with a model file's hyperparameters (the names it knows)."""
    known = LogisticRegression().get_params(deep=False)
    return LogisticRegression(**{k: v for k, v in params.items() if k in known})


def _params_problem(params) -> str | None:
    """What is wrong with a model file's hyperparameters, or None."""
    try:
        check_params(_unfitted(params))
    except UserError as exc:
        return str(exc)
    return None


def _estimator(params, arrays, attributes) -> LogisticRegression:
    """The fitted estimator of a model file's (checked) contents."""
    estimator = _unfitted(params)
    for name in FITTED:
        if name in arrays:
            value = arrays[name]
            if name == "feature_names_in_":
                value = value.astype(object)  # as scikit-learn stores them
            elif name == "loss_curve_":
                value = value.tolist()  # the estimator keeps a list
            setattr(estimator, name, value)
        elif name in attributes:
            setattr(estimator, name, attributes[name])
    if not hasattr(estimator, "n_features_in_"):
        estimator.n_features_in_ = estimator.coef_.shape[1]
    return estimator


__all__ = ["save", "load", "read_model", "LoadedModel"]
