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
from lograd.estimators.checks import check_estimator
from lograd.estimators.logistic import LogisticRegression
from lograd.estimators.mlp import MLPClassifier
from lograd.files import model_files
from lograd.files.model_files import (
    ESTIMATOR,
    FITTED,
    LAYER_LISTS,
    NETWORK,
    NETWORK_FITTED,
    SCALER,
    SavedModel,
)

#: The estimators a model file holds, by the name it records.
_CLASSES = {ESTIMATOR: LogisticRegression, NETWORK: MLPClassifier}


@dataclass
class LoadedModel:
    """A model file, loaded.

    Attributes
    ----------
    model : estimator or sklearn Pipeline(StandardScaler, estimator)
        Ready to predict; the estimator a LogisticRegression or an MLPClassifier.
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
    model : lograd.LogisticRegression, lograd.MLPClassifier or Pipeline
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
    kind = _name(estimator)
    arrays, attributes = _fitted_state(estimator, kind)
    if scaler is not None:
        for name in SCALER:
            arrays[f"scaler.{name}"] = np.asarray(getattr(scaler, name), dtype=np.float64)
        attributes["scaler.n_samples_seen_"] = int(np.max(scaler.n_samples_seen_))
        if hasattr(scaler, "feature_names_in_"):
            arrays["scaler.feature_names_in_"] = np.asarray(scaler.feature_names_in_).astype(str)
    # the checks of loading: a file that could not be loaded back is never written
    problem = _params_problem(kind, _params(estimator), arrays)
    if problem:
        raise UserError(f"lograd.save: cannot save this model: hyperparameters: {problem}")
    model_files.write(path, SavedModel(_params(estimator), arrays, attributes, info or {},
                                       estimator=kind))


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
    estimator = _estimator(saved.estimator, saved.params, saved.arrays, saved.attributes)
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
    lograd.LogisticRegression, lograd.MLPClassifier or Pipeline

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
    _name(estimator)
    if not hasattr(estimator, "coef_" if isinstance(estimator, LogisticRegression)
                   else "coefs_"):
        raise UserError("lograd.save: the model is not fitted (call fit first)")
    if scaler is not None and not hasattr(scaler, "scale_"):
        raise UserError("lograd.save: the StandardScaler is not fitted")
    return scaler, estimator


def _name(estimator) -> str:
    """The name a model file records for ``estimator``'s class."""
    for name, cls in _CLASSES.items():
        if isinstance(estimator, cls):
            return name
    raise UserError(f"lograd.save: cannot save a {type(estimator).__name__} (lograd saves "
                    "lograd.LogisticRegression and lograd.MLPClassifier)")


def _fitted_state(estimator, kind):
    """(arrays, scalars) of the fitted attributes (a network's lists as one array per layer:
    ``coefs_.0``, ...)."""
    arrays, attributes = {}, {}
    if kind == NETWORK:
        for name in LAYER_LISTS:
            for i, array in enumerate(getattr(estimator, name)):
                arrays[f"{name}.{i}"] = np.asarray(array)
    for name in FITTED if kind == ESTIMATOR else NETWORK_FITTED:
        value = getattr(estimator, name, None)
        if value is None:
            continue
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


def _unfitted(kind, params):
    """The estimator with a model file's hyperparameters (the names it knows)."""
    cls = _CLASSES[kind]
    known = cls().get_params(deep=False)
    params = {k: v for k, v in params.items() if k in known}
    if isinstance(params.get("hidden_layer_sizes"), list):  # a tuple, as JSON holds it
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    return cls(**params)


def _params_problem(kind, params, arrays) -> str | None:
    """What is wrong with a model file's hyperparameters (for a network, also its hidden layers
    against its arrays), or None."""
    try:
        estimator = _unfitted(kind, params)
        check_estimator(estimator)
    except (UserError, TypeError) as exc:
        return " ".join(str(exc).split())
    if kind == NETWORK:
        coefs, _ = model_files.layer_arrays(arrays)
        units = [int(W.shape[1]) for W in coefs[:-1]]
        sizes = estimator.hidden_layer_sizes  # checked: an int or a sequence of ints
        sizes = [int(sizes)] if np.ndim(sizes) == 0 else [int(h) for h in sizes]
        if sizes != units:
            return (f"hidden layers of {', '.join(map(str, sizes))} units, but the weights' "
                    f"are {', '.join(map(str, units)) or 'none'}")
    return None


def _estimator(kind, params, arrays, attributes):
    """The fitted estimator of a model file's (checked) contents."""
    estimator = _unfitted(kind, params)
    if kind == NETWORK:
        estimator.coefs_, estimator.intercepts_ = model_files.layer_arrays(arrays)
        estimator.n_layers_ = len(estimator.coefs_) + 1
        estimator.n_outputs_ = estimator.coefs_[-1].shape[1]
        estimator.out_activation_ = "logistic" if estimator.n_outputs_ == 1 else "softmax"
    for name in FITTED if kind == ESTIMATOR else NETWORK_FITTED:
        if name in arrays:
            value = arrays[name]
            if name == "feature_names_in_":
                value = value.astype(object)  # as scikit-learn stores them
            elif name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
                value = value.tolist()  # the estimator keeps a list
            setattr(estimator, name, value)
        elif name in attributes:
            setattr(estimator, name, attributes[name])
    if not hasattr(estimator, "n_features_in_"):
        first = estimator.coefs_[0].shape[0] if kind == NETWORK else estimator.coef_.shape[1]
        estimator.n_features_in_ = first
    if kind == NETWORK:
        estimator.loss_ = float(estimator.loss_curve_[-1]) if hasattr(estimator,
                                                                      "loss_curve_") else None
        if not hasattr(estimator, "best_loss_"):
            estimator.best_loss_ = None
        for name in ("validation_scores_", "validation_loss_curve_"):
            if not hasattr(estimator, name):
                setattr(estimator, name, None)
    return estimator


__all__ = ["save", "load", "read_model", "LoadedModel"]
