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

Reading never unpickles (no array may hold Python objects): a model file cannot execute code.
It is bounded: the archive's directory is checked before anything is unpacked (at most
:data:`MAX_FILE_BYTES` in all, ``meta.json`` at most :data:`MAX_META_BYTES`), and each array's
header must account for exactly its member's size before the array is allocated. A loaded model
is validated completely: finite coefficients and intercepts of matching shapes, classes that
match them (at least two, distinct), a scaler with finite means and positive scales, valid
hyperparameters, and a data schema (``info["schema"]``) with as many features as the model.
A file written by a newer format version, a foreign file and a damaged or inconsistent file are
refused with one :class:`lograd.errors.UserError` naming the file and the problem; :func:`write`
refuses to write a model it could not read back. Files are written atomically (see
:func:`lograd.files.atomic.atomic_write`), their JSON by :mod:`lograd.files.json_codec`.

This module is the file: what it holds and what a valid one is. It builds no estimator: a
:class:`SavedModel` is plain data, and :mod:`lograd.estimators.persistence` (``lograd.save``,
``lograd.load``) turns an estimator into one and back.
"""

from __future__ import annotations

import datetime
import io
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

from lograd.errors import UserError
from lograd.files import json_codec
from lograd.files.atomic import (
    BadFile,
    BoundedZip,
    atomic_write,
    check_writable,  # noqa: F401  (the commands' name for it)
)

FORMAT = "lograd-model"
FORMAT_VERSION = 1
ESTIMATOR = "lograd.LogisticRegression"
#: The fitted arrays and scalars of the estimator, and the scaler's arrays (``scaler.NAME``).
FITTED = ("coef_", "intercept_", "classes_", "n_iter_", "loss_curve_", "n_features_in_",
          "feature_names_in_")
SCALER = ("mean_", "scale_", "var_")
_ARRAYS = {*FITTED, *(f"scaler.{name}" for name in (*SCALER, "feature_names_in_"))}
#: The most a model file may unpack to (1.3e8 float64 coefficients), and its meta.json.
MAX_FILE_BYTES = 1 << 30
MAX_META_BYTES = 64 << 20


@dataclass
class SavedModel:
    """What a model file holds: plain data, checked (see the module).

    Attributes
    ----------
    params : dict
        The estimator's hyperparameters (``get_params(deep=False)``, JSON values).
    arrays : dict of str to ndarray
        The fitted arrays: ``coef_``, ``intercept_``, ``classes_``, ... and, for a standardizing
        model, ``scaler.mean_``, ``scaler.scale_``, ``scaler.var_``.
    attributes : dict
        The fitted scalars (``n_features_in_``, ``scaler.n_samples_seen_``, ...).
    info : dict
        The free-form metadata saved with the model (data schema, metrics, ...).
    meta : dict
        The whole ``meta.json`` (filled in by :func:`read`).
    """

    params: dict
    arrays: dict
    attributes: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    @property
    def scaler(self) -> bool:
        """The model standardizes its input (it holds the scaler's arrays)."""
        return any(name.startswith("scaler.") for name in self.arrays)


# -- writing ---------------------------------------------------------------------------------------
def write(path, saved: SavedModel) -> None:
    """Write ``saved`` to ``path`` (atomically), without pickle.

    Parameters
    ----------
    path : str or path-like
        Destination, conventionally ``*.lograd``.
    saved : SavedModel
        Its ``meta`` is ignored (written anew).

    Raises
    ------
    UserError
        If a value cannot be stored in JSON, the model could not be read back (see
        :func:`read`), it is larger than a model file may be, or the path is not writable.
    """
    try:
        params, attributes, info = (json_codec.encode(part) for part in
                                    (saved.params, saved.attributes, saved.info))
    except TypeError as exc:
        raise UserError(f"lograd.save: {exc}") from None
    arrays = saved.arrays
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lograd_version": _version(),
        "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "estimator": ESTIMATOR,
        "params": params,
        "attributes": attributes,
        "arrays": {k: {"dtype": v.dtype.str, "shape": list(v.shape)} for k, v in arrays.items()},
        "scaler": saved.scaler,
        "info": info,
    }
    try:  # the checks of reading: a file that could not be read back is never written
        _check_fitted(arrays, attributes)
    except _Invalid as exc:
        raise UserError(f"lograd.save: cannot save this model: {exc}") from None
    payload = json_codec.dumps(meta, indent=2).encode()
    if len(payload) > MAX_META_BYTES or sum(a.nbytes for a in arrays.values()) > MAX_FILE_BYTES:
        raise UserError(f"lograd.save: the model is larger than a model file may be "
                        f"({MAX_FILE_BYTES >> 20} MiB of arrays, {MAX_META_BYTES >> 20} MiB "
                        "of meta.json)")
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


# -- loading ---------------------------------------------------------------------------------------
class _Invalid(Exception):
    """What is wrong with a model's content, as a phrase (no file name)."""


def read(path, check_params=None) -> SavedModel:
    """Read and check a model file written by :func:`write`.

    Parameters
    ----------
    path : str or path-like
    check_params : callable, optional
        ``check_params(params) -> None or a phrase``: what is wrong with the hyperparameters for
        the estimator that will be built from them (the estimators' layer knows; this one does
        not), checked after the fitted arrays and before the data schema.

    Returns
    -------
    SavedModel
        Its hyperparameters, arrays, scalars, ``info`` and the whole ``meta.json``.

    Raises
    ------
    UserError
        One line naming the file: missing, foreign, damaged, truncated or inconsistent (see the
        module's docstring for what is checked), or written by a newer format version.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        problem = "is a directory" if os.path.isdir(path) else "no such file"
        raise UserError(f"model file {path}: {problem}")
    try:
        with BoundedZip(path, "lograd model", MAX_FILE_BYTES) as archive:
            meta = _read_meta(archive)
            arrays = _read_arrays(archive, meta["arrays"])
        _check_fitted(arrays, meta["attributes"])
        problem = check_params(meta["params"]) if check_params is not None else None
        if problem:
            raise _Invalid(f"hyperparameters: {problem}")
        info = meta.get("info") or {}
        _check_schema(info, arrays["coef_"].shape[1])
    except BadFile as exc:
        raise UserError(f"model file {path}: {exc}") from None
    except _Invalid as exc:
        raise UserError(f"model file {path}: damaged ({exc})") from None
    except RecursionError:  # JSON nested thousands deep
        raise UserError(f"model file {path}: damaged (meta.json nests too deep)") from None
    return SavedModel(meta["params"], arrays, meta["attributes"], info, meta)


def _read_meta(archive) -> dict:
    if "meta.json" not in archive.members:
        raise BadFile("not a lograd model (a ZIP file without meta.json)")
    meta = archive.read_json("meta.json", MAX_META_BYTES)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise BadFile(f"not a lograd model (meta.json has no 'format': '{FORMAT}')")
    version = meta.get("format_version")
    if not _is_int(version) or version < 1:
        raise BadFile(f"damaged meta.json (format_version {_shown(version)})")
    if version > FORMAT_VERSION:
        written_by = meta.get("lograd_version")
        written_by = _shown(written_by) if isinstance(written_by, str) else "?"
        raise BadFile(f"written by a newer lograd ({written_by}, model format version "
                      f"{version}); this lograd {_version()} reads format version "
                      f"{FORMAT_VERSION} and older: upgrade lograd")
    for key, kind in (("estimator", str), ("params", dict), ("attributes", dict),
                      ("arrays", dict), ("scaler", bool)):
        if key not in meta:
            raise BadFile(f"damaged meta.json (no '{key}')")
        if not isinstance(meta[key], kind):
            raise BadFile(f"damaged meta.json ('{key}' is {_json_type(meta[key])}, not "
                          f"{_json_type(kind())})")
    if meta["estimator"] != ESTIMATOR:
        raise BadFile(f"unknown estimator {_shown(meta['estimator'])} (this lograd reads "
                      f"{ESTIMATOR!r})")
    if not isinstance(meta.get("info", {}), dict | None):
        raise BadFile(f"damaged meta.json ('info' is {_json_type(meta['info'])}, not object)")
    _check_declared_arrays(meta["arrays"], meta["scaler"])
    return meta


def _check_declared_arrays(declared, scaler) -> None:
    required = {"coef_", "intercept_", "classes_"}
    if scaler:
        required |= {f"scaler.{name}" for name in SCALER}
    for name in required - set(declared):
        raise BadFile(f"damaged meta.json (no array {name})")
    for name, spec in declared.items():
        if name not in _ARRAYS or (name.startswith("scaler.") and not scaler):
            raise BadFile(f"damaged meta.json (unexpected array {_shown(name)})")
        if (not isinstance(spec, dict) or not isinstance(spec.get("dtype"), str)
                or not isinstance(spec.get("shape"), list)
                or not all(_is_int(d) and d >= 0 for d in spec["shape"])):
            raise BadFile(f"damaged meta.json (array {name}: expected its dtype and shape)")


def _read_arrays(archive, declared) -> dict:
    expected = {"meta.json", *(f"{name}.npy" for name in declared)}
    for member in archive.members:
        if member not in expected:
            raise BadFile(f"damaged (unexpected member {_shown(member)})")
    arrays = {}
    for name, spec in declared.items():
        array = archive.read_array(f"{name}.npy")
        if list(array.shape) != spec["shape"] or array.dtype.str != spec["dtype"]:
            raise BadFile(f"damaged (array {name} has shape {array.shape} and dtype "
                          f"{array.dtype.str}, meta.json says {tuple(spec['shape'])} and "
                          f"{_shown(spec['dtype'])})")
        arrays[name] = array
    return arrays


# -- what a valid model is (checked on reading and before writing) ------------------------------
def _check_fitted(arrays, attributes) -> None:
    """Raise _Invalid unless the fitted arrays and scalars make a model that predicts."""
    coef = _float_array(arrays, "coef_", ndim=2)
    n_out, n_features = coef.shape
    if n_out < 1 or n_features < 1:
        raise _Invalid(f"coef_ has shape {coef.shape}")
    intercept = _float_array(arrays, "intercept_", ndim=1)
    if intercept.shape != (n_out,):
        raise _Invalid(f"intercept_ has shape {intercept.shape}, coef_ {coef.shape}")
    classes = arrays["classes_"]
    if classes.ndim != 1 or classes.dtype.kind not in "biufU" or len(classes) < 2:
        raise _Invalid(f"classes_ is not a list of at least two labels (shape {classes.shape})")
    if classes.dtype.kind == "f" and not np.isfinite(classes).all():
        raise _Invalid("classes_ holds NaN or infinite labels")
    if len(np.unique(classes)) != len(classes):
        raise _Invalid("classes_ holds a label twice")
    if n_out != (1 if len(classes) == 2 else len(classes)):
        raise _Invalid(f"{len(classes)} classes but coef_ has {n_out} rows (expected "
                       f"{1 if len(classes) == 2 else len(classes)})")
    if "loss_curve_" in arrays:
        _float_array(arrays, "loss_curve_", ndim=1, finite=False)
    _check_count(attributes, arrays, "n_iter_")
    if _check_count(attributes, arrays, "n_features_in_") not in (None, n_features):
        raise _Invalid(f"n_features_in_ is not {n_features}, the columns of coef_")
    for prefix in ("", "scaler."):
        names = arrays.get(f"{prefix}feature_names_in_")
        if names is not None and (names.dtype.kind != "U" or names.shape != (n_features,)
                                  or len(set(names.tolist())) != n_features):
            raise _Invalid(f"{prefix}feature_names_in_ is not {n_features} distinct names")
    if "scaler.mean_" in arrays:
        _check_scaler(arrays, attributes, n_features)


def _check_scaler(arrays, attributes, n_features) -> None:
    mean, scale, var = (_float_array(arrays, f"scaler.{name}", ndim=1) for name in SCALER)
    for name, array in zip(SCALER, (mean, scale, var)):
        if array.shape != (n_features,):
            raise _Invalid(f"scaler.{name} has shape {array.shape}, not ({n_features},)")
    if not (scale > 0).all():
        raise _Invalid(f"scaler.scale_ holds {scale[np.argmin(scale > 0)]:g} (scales are > 0)")
    if not (var >= 0).all():
        raise _Invalid("scaler.var_ holds a negative variance")
    seen = attributes.get("scaler.n_samples_seen_", 0)
    if not _is_int(seen) or seen < 0:
        raise _Invalid(f"scaler.n_samples_seen_ is {_shown(seen)}")


def _float_array(arrays, name, ndim, finite=True) -> np.ndarray:
    array = arrays[name]
    if array.dtype.kind != "f" or array.ndim != ndim:
        raise _Invalid(f"{name} is not a {ndim}-d array of floats ({array.dtype.str}, shape "
                       f"{array.shape})")
    if finite and not np.isfinite(array).all():
        raise _Invalid(f"{name} holds NaN or infinite values")
    return array


def _check_count(attributes, arrays, name):
    """A fitted count (``n_iter_``, ``n_features_in_``): an int >= 0, saved as a scalar or an
    array of one; None when absent."""
    value = arrays[name] if name in arrays else attributes.get(name)
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.size != 1 or value.dtype.kind not in "iu":
            raise _Invalid(f"{name} is not a count")
        value = int(value.reshape(-1)[0])
    if not _is_int(value) or value < 0:
        raise _Invalid(f"{name} is {_shown(value)}, not a count")
    return value


def _check_schema(info, n_features) -> None:
    """The CLI's data schema (``info["schema"]``), when present, must describe the features."""
    if "schema" not in info:
        return
    from lograd.files.tables import Schema

    try:
        schema = Schema.from_dict(info["schema"])
        n_columns = len(schema.feature_names)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise _Invalid(f"info.schema is not a data schema ({type(exc).__name__}: "
                       f"{' '.join(str(exc).split())[:100]})") from None
    if n_columns != n_features:
        raise _Invalid(f"info.schema describes {n_columns} features, the model has "
                       f"{n_features}")
    columns, file_columns = schema.columns, schema.file_columns
    if len(set(columns)) != len(columns) or len(set(file_columns)) != len(file_columns):
        raise _Invalid("info.schema names a column twice")
    if not set(columns) <= set(file_columns):
        raise _Invalid("info.schema has feature columns that are not columns of its file")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json_type(value) -> str:
    for kind, name in ((bool, "true/false"), (dict, "object"), (list, "list"), (str, "text"),
                       (int, "a number"), (float, "a number")):
        if isinstance(value, kind):
            return name
    return "null"


def _shown(value) -> str:
    """A JSON value as a short phrase for a message."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."
