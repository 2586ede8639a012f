"""Saving and loading models: one documented, versioned, pickle-free file format.

A model file (by convention ``*.lograd``) is a ZIP archive, readable with ``numpy.load`` or any
unzip tool, holding:

``meta.json``
    ``format`` (always ``"lograd-model"``), ``format_version`` (an integer, currently
    :data:`FORMAT_VERSION`), ``lograd_version``, ``created_utc``, ``estimator``
    (``"lograd.LogisticRegression"``), ``params`` (the estimator's hyperparameters),
    ``attributes`` (fitted scalars such as ``n_iter_``), ``arrays`` (the name, dtype and shape of
    each array below), ``scaler`` (true when the model standardizes its input) and ``info``
    (free JSON: the data schema, training metrics, ...).
``<name>.npy``
    One NumPy array per fitted array attribute: ``coef_``, ``intercept_``, ``classes_``,
    ``loss_curve_``, ``feature_names_in_`` when present, and ``scaler.mean_`` /
    ``scaler.scale_`` / ``scaler.var_`` for a standardizing model.

Reading parses JSON and loads arrays with ``allow_pickle=False``: a model file cannot execute
code. A file written by a newer format version, a foreign file and a damaged file are refused
with a :class:`lograd.errors.UserError`. Files are written atomically: to a temporary file in
the same directory, then renamed over the destination.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field

import numpy as np

from lograd._files import remove_quietly, umask
from lograd.errors import UserError

FORMAT = "lograd-model"
FORMAT_VERSION = 1
ESTIMATOR = "lograd.LogisticRegression"
_FITTED = ("coef_", "intercept_", "classes_", "n_iter_", "loss_curve_", "n_features_in_",
           "feature_names_in_")
_SCALER = ("mean_", "scale_", "var_")


@dataclass
class SavedModel:
    """What a model file holds.

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


# -- atomic writing --------------------------------------------------------------------------------
def check_writable(path, what="output") -> None:
    """Raise a UserError now if ``path`` cannot be written, before any long work is done."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UserError(f"{what} {path}: is a directory")
    if not os.path.isdir(directory):
        raise UserError(f"{what} {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UserError(f"{what} {path}: directory {directory} is not writable")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UserError(f"{what} {path}: file is not writable")


@contextlib.contextmanager
def atomic_write(path, mode="wb", what="output", **open_kwargs):
    """Open a temporary file next to ``path``; on success rename it to ``path``, else delete it.

    Readers of ``path`` see the old file or the complete new one, never half of one, and a
    failure leaves nothing behind.
    """
    path = os.fspath(path)
    check_writable(path, what)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                                   suffix=".tmp")
    except OSError as exc:
        raise UserError(f"{what} {path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except OSError as exc:
        remove_quietly(tmp)
        raise UserError(f"{what} {path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        remove_quietly(tmp)
        raise




# -- saving ----------------------------------------------------------------------------------------
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
        for name in _SCALER:
            arrays[f"scaler.{name}"] = np.asarray(getattr(scaler, name), dtype=np.float64)
        attributes["scaler.n_samples_seen_"] = int(np.max(scaler.n_samples_seen_))
        if hasattr(scaler, "feature_names_in_"):
            arrays["scaler.feature_names_in_"] = np.asarray(scaler.feature_names_in_).astype(str)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lograd_version": _version(),
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "estimator": ESTIMATOR,
        "params": _params(estimator),
        "attributes": attributes,
        "arrays": {k: {"dtype": v.dtype.str, "shape": list(v.shape)} for k, v in arrays.items()},
        "scaler": scaler is not None,
        "info": _jsonable(info or {}),
    }
    payload = json.dumps(meta, indent=2, allow_nan=False).encode()
    with atomic_write(path, what="model file") as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("meta.json", payload)
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, array, allow_pickle=False)
                archive.writestr(f"{name}.npy", buffer.getvalue())


def _version() -> str:
    from lograd import __version__

    return __version__


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
    arrays, attributes = {}, {}
    for name in _FITTED:
        if not hasattr(estimator, name):
            continue
        value = getattr(estimator, name)
        if isinstance(value, (np.ndarray, list, tuple)):
            array = np.asarray(value)
            if array.dtype.kind == "O":  # e.g. string labels held as objects: store as text
                array = array.astype(str)
            arrays[name] = array
        else:
            attributes[name] = _jsonable(value)
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
        params[name] = _jsonable(value)
    return params


def _jsonable(value):
    """A JSON-safe copy: numpy scalars to Python, dicts with non-string keys as pair lists."""
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _jsonable(v) for k, v in value.items()}
        return {"__pairs__": [[_jsonable(k), _jsonable(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not np.isfinite(value):
        return {"__float__": repr(value)}  # JSON has no inf/nan: 'inf', '-inf' or 'nan'
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise UserError(f"lograd.save: cannot store {type(value).__name__} value {value!r}")


def _from_json(value):
    if isinstance(value, dict):
        if set(value) == {"__pairs__"}:
            return {_hashable(k): _from_json(v) for k, v in value["__pairs__"]}
        if set(value) == {"__float__"} and value["__float__"] in ("inf", "-inf", "nan"):
            return float(value["__float__"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


# -- loading ---------------------------------------------------------------------------------------
def read_model(path) -> SavedModel:
    """Read a model file written by :func:`save`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    SavedModel
        The model, its ``info`` dict and the whole ``meta.json``.

    Raises
    ------
    UserError
        Missing, foreign, corrupt or truncated file, or one written by a newer format version.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        problem = "is a directory" if os.path.isdir(path) else "no such file"
        raise UserError(f"model file {path}: {problem}")
    try:
        with zipfile.ZipFile(path) as archive:
            meta = _read_meta(archive, path)
            arrays = {name: _read_array(archive, path, name) for name in meta["arrays"]}
    except zipfile.BadZipFile as exc:
        raise UserError(f"model file {path}: not a lograd model, or damaged/truncated ({exc})") \
            from None
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"model file {path}: damaged or truncated ({type(exc).__name__}: "
                        f"{exc})") from None
    model = _rebuild(meta, arrays, path)
    return SavedModel(model, _from_json(meta.get("info") or {}), meta)


def load(path):
    """Load a model saved with :func:`save`; it predicts exactly as the saved one did.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    lograd.LogisticRegression or Pipeline
    """
    return read_model(path).model


def _read_meta(archive, path) -> dict:
    try:
        raw = archive.read("meta.json")
    except KeyError:
        raise UserError(f"model file {path}: not a lograd model (a ZIP file without "
                        "meta.json)") from None
    try:
        meta = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"model file {path}: damaged meta.json ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"model file {path}: not a lograd model (meta.json has no "
                        f"'format': '{FORMAT}')")
    version = meta.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise UserError(f"model file {path}: damaged (format_version {version!r})")
    if version > FORMAT_VERSION:
        raise UserError(f"model file {path}: written by a newer lograd "
                        f"({meta.get('lograd_version', '?')}, model format version {version}); "
                        f"this lograd {_version()} reads format version {FORMAT_VERSION} and "
                        "older: upgrade lograd")
    for key in ("estimator", "params", "attributes", "arrays", "scaler"):
        if key not in meta:
            raise UserError(f"model file {path}: damaged meta.json (no '{key}')")
    return meta


def _read_array(archive, path, name) -> np.ndarray:
    with archive.open(f"{name}.npy") as f:
        return np.lib.format.read_array(io.BytesIO(f.read()), allow_pickle=False)


def _rebuild(meta, arrays, path):
    if meta["estimator"] != ESTIMATOR:
        raise UserError(f"model file {path}: unknown estimator {meta['estimator']!r}")
    for name, spec in meta["arrays"].items():
        if list(arrays[name].shape) != list(spec["shape"]):
            raise UserError(f"model file {path}: damaged (array {name} has shape "
                            f"{arrays[name].shape}, meta.json says {tuple(spec['shape'])})")
    estimator = _estimator(meta, arrays, path)
    if not meta["scaler"]:
        return estimator
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler()
    for name in _SCALER:
        setattr(scaler, name, arrays[f"scaler.{name}"])
    scaler.n_features_in_ = len(scaler.mean_)
    scaler.n_samples_seen_ = meta["attributes"].get("scaler.n_samples_seen_", 0)
    if "scaler.feature_names_in_" in arrays:
        scaler.feature_names_in_ = arrays["scaler.feature_names_in_"].astype(object)
    return make_pipeline(scaler, estimator)


def _estimator(meta, arrays, path):
    from lograd.estimator import LogisticRegression

    known = LogisticRegression().get_params(deep=False)
    params = {k: v for k, v in _from_json(meta["params"]).items() if k in known}
    try:
        estimator = LogisticRegression(**params)
    except TypeError as exc:
        raise UserError(f"model file {path}: damaged hyperparameters ({exc})") from None
    for name in _FITTED:
        if name in arrays:
            value = arrays[name]
            if name == "feature_names_in_":
                value = value.astype(object)  # as scikit-learn stores them
            elif name == "loss_curve_":
                value = value.tolist()  # the estimator keeps a list
            setattr(estimator, name, value)
        elif name in meta["attributes"]:
            setattr(estimator, name, meta["attributes"][name])
    for required in ("coef_", "intercept_", "classes_"):
        if not hasattr(estimator, required):
            raise UserError(f"model file {path}: damaged (no {required})")
    return estimator
