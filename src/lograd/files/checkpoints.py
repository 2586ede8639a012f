"""Checkpoints: a fit's whole training state in a directory, written atomically, never pickled.

``LogisticRegression(checkpoint=DIR, checkpoint_every=k)`` keeps one file, ``DIR/checkpoint.npz``,
rewritten every k iterations and at the end of the fit. It is a ZIP archive, readable with
``numpy.load(path, allow_pickle=False)`` or any unzip tool, holding:

``meta.json``
    ``format`` (``"lograd-checkpoint"``), ``format_version``, ``lograd_version``,
    ``written_utc``, ``iteration`` (iterations done), ``complete`` (the fit finished),
    ``fit`` (what identifies the fit: its parameters but ``verbose``, ``callbacks`` and the
    checkpoint settings, the classes, the data's shape and dtype, the parameter vector's size
    and dtype, a SHA-256 of every byte of X, the targets and weights (and validation rows), and
    one of the initial parameters), ``state`` (the training loop's state, see
    :mod:`lograd.training`, each array replaced by ``{"__array__": NAME}``) and ``rng`` (the
    shuffling RandomState's state, for sgd/adam). Floats are written exactly (Python's shortest
    round-trip repr) by :mod:`lograd.files.json_codec`: inf is ``{"__float__": "inf"}``; the bare
    ``Infinity`` of checkpoints written before it is read too.
``NAME.npy``
    One array per array of the state: parameters, momentum/moment buffers, the loss curve, ...

The file is written to a temporary file in DIR, flushed to disk (fsync) and renamed over the
old one (:func:`lograd.files.atomic.atomic_write`): a reader, or a fit resumed after
``kill -9`` or a power cut, finds the previous checkpoint or the new one, never half of one.

Reading is bounded (at most :data:`MAX_FILE_BYTES` unpacked, checked in the archive's directory
before anything is unpacked; see :class:`lograd.files.atomic.BoundedZip`), never unpickles, and
validates the state completely against what the training loop and the solver of this fit
write, so a damaged checkpoint is one UserError, not a failure inside the fit.

Format 2 fingerprints every byte of the data; a format-1 checkpoint (which hashed 1,024 sampled
rows) cannot be verified and is refused with a request to delete it. Format 3 is format 2 in
valid JSON (inf tagged, not bare ``Infinity``); both are read.

A fit that finds a checkpoint of itself in DIR resumes from it; one that finds a checkpoint of
a *different* fit refuses with a :class:`lograd.errors.UserError` naming DIR and the difference,
and changes nothing (delete DIR, or pass another, to start over). Use one directory per fit:
two fits running at once in one directory would overwrite each other's checkpoints.
"""

from __future__ import annotations

import datetime
import hashlib
import math
import os
import zipfile

import numpy as np
import scipy.sparse as sp

from lograd.errors import UserError
from lograd.files import json_codec
from lograd.files.atomic import BadFile, BoundedZip, atomic_write

FILENAME = "checkpoint.npz"
FORMAT = "lograd-checkpoint"
FORMAT_VERSION = 3
READABLE_VERSIONS = (2, 3)  # 2: the same layout, with bare Infinity/NaN in its JSON
#: Parameters that do not change a fit's result, so a checkpoint ignores them.
IGNORED_PARAMS = ("verbose", "callbacks", "checkpoint", "checkpoint_every")
#: The most a checkpoint may unpack to, and its meta.json.
MAX_FILE_BYTES = 4 << 30
MAX_META_BYTES = 64 << 20
_HASH_CHUNK_BYTES = 16 << 20  # a non-contiguous array is hashed this much at a time


class Checkpoint:
    """The checkpoint directory of one fit.

    Parameters
    ----------
    directory : str or path-like
        Created if missing.
    fit : dict
        What identifies the fit, from :func:`fit_fingerprint`.
    rng : numpy.random.RandomState, optional
        Its state is saved with every checkpoint (set it before the first ``save``).
    """

    def __init__(self, directory, fit, rng=None):
        self.directory = os.fspath(directory)
        self.path = os.path.join(self.directory, FILENAME)
        self.fit = _normalized(fit)
        self.rng = rng
        _prepare_directory(self.directory)

    def load(self) -> dict | None:
        """The saved state (with ``"rng"``, a state for :func:`restored_rng`, or None).

        None when DIR holds no checkpoint. Raises UserError when it holds a checkpoint of a
        different fit, or a damaged one (the state is checked against what this fit's training
        loop and solver write before it is returned).
        """
        with _reading(self.directory) as read:
            saved = read(self.path, arrays=lambda meta: _check_same_fit(meta["fit"], self.fit,
                                                                        self.directory))
            if saved is None:
                return None
            meta, arrays = saved
            state = _unflatten(meta["state"], arrays)
            state["rng"] = _unflatten(meta.get("rng"), arrays)
            _check_state(state, meta, self.fit)
        return state

    def save(self, state: dict) -> None:
        """Write ``state`` (a training loop's checkpoint state) atomically."""
        arrays = {}
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "lograd_version": _version(),
                "written_utc": datetime.datetime.now(datetime.UTC).isoformat(
                    timespec="seconds"),
                "iteration": int(state["iteration"]), "complete": bool(state["complete"]),
                "fit": self.fit, "state": _flatten(state, "", arrays),
                "rng": _flatten(_rng_state(self.rng), "rng", arrays)}
        _write(self.path, self.directory, meta, arrays)


def read_meta(directory) -> dict | None:
    """``meta.json`` of the checkpoint in ``directory`` (None if there is none).

    Raises UserError for a damaged or foreign file.
    """
    directory = os.fspath(directory)
    with _reading(directory) as read:
        saved = read(os.path.join(directory, FILENAME))
    return None if saved is None else saved[0]


def resume_note(directory) -> str | None:
    """One line saying what a fit with this checkpoint directory will do, or None if new."""
    meta = read_meta(directory)
    if meta is None:
        return None
    if meta["complete"]:
        return (f"checkpoint {directory} holds the finished fit: its result is used without "
                "training")
    return f"resuming from {directory} at iteration {meta['iteration']}"


def restored_rng(state) -> np.random.RandomState:
    """A new RandomState in the saved ``state`` (a dict from a checkpoint's ``"rng"``)."""
    rng = np.random.RandomState()
    rng.set_state((state["bit_generator"], state["keys"], state["pos"], state["has_gauss"],
                   state["cached_gaussian"]))
    return rng


# -- what identifies a fit -------------------------------------------------------------------------
def fit_fingerprint(params, classes, X, Y, sample_weight, theta0, validation=None,
                    digest=None) -> dict:
    """What a checkpoint must match to be resumed by this fit.

    Parameters
    ----------
    params : dict
        The estimator's ``get_params(deep=False)``; :data:`IGNORED_PARAMS` are left out.
    classes : ndarray of shape (n_classes,)
    X : {ndarray, sparse matrix, dask array} of shape (n_samples, n_features)
    Y : ndarray or dask array of shape (n_samples,) or (n_samples, n_classes)
        Encoded targets.
    sample_weight : ndarray or dask array of shape (n_samples,), or None
    theta0 : ndarray of shape (n_params,)
        Initial parameters (``coef_init``, ``warm_start`` change them).
    validation : tuple (X_val, y_val), optional
        The rows held out for early stopping.
    digest : callable, optional
        ``digest(parts) -> hex`` of the data: :func:`data_digest` (the default) for NumPy and
        SciPy arrays; the Dask backend passes its own, which hashes blocks where they live.

    Returns
    -------
    dict of JSON values: ``params``, ``classes``, ``n_samples``, ``n_features``, ``dtype``,
    ``theta`` (the parameter vector's size and dtype), ``data`` and ``initial`` (SHA-256 hex
    digests; ``data`` of every byte of X, Y, the weights and the validation rows, see
    :func:`data_digest`).
    """
    kept = {name: _param_value(value) for name, value in sorted(params.items())
            if name not in IGNORED_PARAMS}
    parts = [X, Y, sample_weight, *(validation if validation is not None else ())]
    digest = digest or data_digest
    return _normalized({
        "params": kept, "classes": [_plain(c) for c in np.asarray(classes).tolist()],
        "n_samples": int(X.shape[0]), "n_features": int(X.shape[1]), "dtype": str(X.dtype),
        "theta": {"size": int(theta0.size), "dtype": theta0.dtype.name},
        "data": digest(parts), "initial": data_digest([theta0])})


def _param_value(value):
    if isinstance(value, np.random.RandomState | np.random.Generator):
        return type(value).__name__  # an instance has no stable identity across runs
    if isinstance(value, dict):  # class_weight: JSON keys must be strings
        return {str(key): item for key, item in value.items()}
    return value


def _plain(value):
    return value if isinstance(value, (bool, int, float, str)) or value is None else str(value)


def _normalized(value):
    """``value`` as it reads back from its JSON (tuples become lists; other objects their
    ``repr``)."""
    return json_codec.loads(json_codec.dumps(value, default=repr))


def add_to_digest(h, part) -> None:
    """Add ``part`` (None, a NumPy array or a SciPy sparse matrix) to the SHA-256 ``h``."""
    if part is None:
        h.update(b"None")
    elif sp.issparse(part):
        csr = sp.csr_matrix(part)
        h.update(f"csr {csr.shape}".encode())
        for array in (csr.data, csr.indices, csr.indptr):
            _update(h, array)
    else:
        _update(h, np.asarray(part))


def data_digest(parts, add=add_to_digest) -> str:
    """SHA-256 of every byte of ``parts``, with each one's dtype and shape.

    Parameters
    ----------
    parts : list of {ndarray, sparse matrix, None}
        NumPy arrays are hashed in place when C-contiguous, else in row blocks of at most
        16 MiB (memory stays flat). A sparse matrix is hashed as CSR (data, indices, indptr).
    add : callable, default :func:`add_to_digest`
        ``add(h, part)`` adds one part to the hash ``h``; a backend passes its own for its kind
        of array (:func:`lograd.backends.dask.data_digest` hashes a dask array's blocks where
        they live).

    Returns
    -------
    str
        The hex digest.
    """
    h = hashlib.sha256()
    for part in parts:
        add(h, part)
    return h.hexdigest()


def _update(h, array) -> None:
    h.update(f"{array.dtype.str}{array.shape}".encode())
    if array.dtype.kind == "O":  # labels held as Python objects: hash their text
        h.update(repr(array.tolist()).encode())
    elif array.flags.c_contiguous:
        h.update(array.reshape(-1).view(np.uint8))
    else:  # row blocks, each copied to C order: the same bytes as the C-ordered whole
        row_bytes = max(1, array[0].nbytes if len(array) else 1)
        rows = max(1, _HASH_CHUNK_BYTES // row_bytes)
        for start in range(0, len(array), rows):
            h.update(np.ascontiguousarray(array[start:start + rows]).reshape(-1).view(np.uint8))


def _check_same_fit(saved, current, directory) -> None:
    if not isinstance(saved, dict):
        raise _Invalid("its 'fit' is not a JSON object")
    for key, value in current.items():
        if saved.get(key) != value:
            raise UserError(f"checkpoint {directory} holds the state of a different fit "
                            f"({_difference(key, saved.get(key), value, current)}); nothing "
                            "was changed: "
                            "delete it to start over, or pass another checkpoint directory")


def _difference(key, saved, current, fit) -> str:
    if key == "params":
        saved = saved if isinstance(saved, dict) else {}
        names = [name for name in current if saved.get(name) != current[name]]
        names += [name for name in saved if name not in current]
        return "; ".join(f"{name}={current.get(name)!r}, the checkpoint's {saved.get(name)!r}"
                         for name in names[:3])
    if key == "data":
        params = fit["params"]
        hint = (" (early_stopping with random_state=None holds out different rows each time)"
                if params.get("early_stopping") and params.get("random_state") is None else "")
        return (f"other data: X, the targets or the sample weights differ (for dask arrays, "
                f"also their chunks){hint}")
    if key == "initial":
        return "other initial parameters: coef_init, intercept_init or warm_start"
    return f"{key} {current!r}, the checkpoint's {_shown(saved)}"


# -- what a checkpoint's state must be -------------------------------------------------------------
class _Invalid(Exception):
    """What is wrong with a checkpoint's content, as a phrase."""


def _check_state(state, meta, fit) -> None:
    """Raise _Invalid unless ``state`` is what this fit's training loop and solver write.

    The layouts are those of :func:`lograd.training.fit_iterative` / ``fit_lbfgs`` (their
    ``snapshot``s and ``TrainingResult.state_dict``) and of the solvers' ``state_dict``; the
    solver is the one the estimator picks for the fit's parameters.
    """
    params, theta = fit["params"], fit["theta"]
    solver = params.get("solver")
    if meta["complete"]:
        layout = _COMPLETE
    elif solver == "lbfgs":
        layout = _LBFGS_RUNNING
    else:
        layout = {**_STEPWISE_RUNNING, "solver": _SOLVERS[
            "adam" if solver == "adam" else "nesterov" if params.get("momentum") == "nesterov"
            else "gd"]}
    _check_layout(state, {**layout, "rng": _RNG}, "state", theta)
    if state["iteration"] != meta["iteration"] or state["complete"] != meta["complete"]:
        raise _Invalid("its iteration or completeness differs from meta.json's")
    if state["iteration"] > params.get("max_iter", math.inf):
        raise _Invalid(f"iteration {state['iteration']} is past max_iter")
    if not meta["complete"]:
        if state["iteration"] < 1 or len(state["tracker"]["loss_curve"]) < 1:
            raise _Invalid("a checkpoint of a running fit without an iteration done")
        if solver in ("sgd", "adam") and state["rng"] is None:
            raise _Invalid("no shuffling state (rng) for a running sgd/adam fit")


def _check_layout(value, layout, where, theta) -> None:
    """``value`` must have ``layout``: a dict of key -> layout, or a check(value, theta)."""
    if isinstance(layout, dict):
        if not isinstance(value, dict) or set(value) != set(layout):
            expected = ", ".join(sorted(layout))
            raise _Invalid(f"{where} is not an object of {expected}")
        for key, item in layout.items():
            _check_layout(value[key], item, f"{where}.{key}", theta)
    elif not layout(value, theta):
        raise _Invalid(f"{where} is {_shown(value)}: expected {layout.__doc__}")


def _optional(check):
    def optional(value, theta):
        return value is None or check(value, theta)
    optional.__doc__ = f"null or {check.__doc__}"
    return optional


def _parameters(value, theta) -> bool:
    """the parameter vector (floats, of this fit's size and dtype)"""
    return (isinstance(value, np.ndarray) and value.shape == (theta["size"],)
            and value.dtype.name == theta["dtype"])


def _final_parameters(value, theta) -> bool:
    """the fitted parameters (finite floats of this fit's size and dtype)"""
    return _parameters(value, theta) and bool(np.isfinite(value).all())


def _buffer(value, theta) -> bool:
    """floats of the parameter vector's size"""
    return (isinstance(value, np.ndarray) and value.shape == (theta["size"],)
            and value.dtype.kind == "f")


def _curve(value, theta) -> bool:
    """a list of floats"""
    return isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind == "f"


def _count(value, theta) -> bool:
    """an integer >= 0"""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _real(value, theta) -> bool:
    """a number"""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value, theta) -> bool:
    """a finite number"""
    return _real(value, theta) and math.isfinite(value)


def _rate(value, theta) -> bool:
    """a positive finite learning rate"""
    return _finite(value, theta) and value > 0


def _flag(value, theta) -> bool:
    """true or false"""
    return isinstance(value, bool)


def _text(value, theta) -> bool:
    """text"""
    return isinstance(value, str)


def _running(value, theta) -> bool:
    """false"""
    return value is False


def _finished(value, theta) -> bool:
    """true"""
    return value is True


def _rng(value, theta) -> bool:
    """null or a RandomState's state (MT19937, 624 keys)"""
    if value is None:
        return True
    layout = {"bit_generator", "keys", "pos", "has_gauss", "cached_gaussian"}
    return (isinstance(value, dict) and set(value) == layout
            and value["bit_generator"] == "MT19937"
            and isinstance(value["keys"], np.ndarray) and value["keys"].shape == (624,)
            and value["keys"].dtype.kind in "iu"
            and _count(value["pos"], theta) and value["pos"] <= 624
            and value["has_gauss"] in (0, 1) and not isinstance(value["has_gauss"], bool)
            and _finite(value["cached_gaussian"], theta))


_RNG = _rng
_TRACKER = {"loss_curve": _curve, "best_theta": _parameters, "best_loss": _finite,
            "best_iteration": _count}
_COMPLETE = {"complete": _finished, "iteration": _count, "result": {
    "theta": _final_parameters, "loss_curve": _curve, "n_iter": _count, "converged": _flag,
    "stopped_by": _text, "validation_scores": _optional(_curve),
    "learning_rate": _optional(_rate), "message": _text}}
_LBFGS_RUNNING = {"complete": _running, "iteration": _count, "theta": _parameters,
                  "tracker": _TRACKER}
_STEPWISE_RUNNING = {"complete": _running, "iteration": _count, "theta": _parameters,
                     "tracker": _TRACKER, "no_improvement": _count, "initial_rate": _rate,
                     "scores": _curve, "best_score": _real, "best_scored_theta": _parameters}
_SOLVERS = {  # lograd.solvers' state_dict()s
    "gd": {"learning_rate": _rate, "velocity": _optional(_buffer)},
    "nesterov": {"learning_rate": _rate, "y": _optional(_buffer), "t": _finite,
                 "loss_at_theta": _optional(_real)},
    "adam": {"learning_rate": _rate, "m": _optional(_buffer), "v": _optional(_buffer),
             "t": _count},
}


def _shown(value) -> str:
    """A value as a short phrase for a message (arrays by shape and dtype)."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


# -- the file --------------------------------------------------------------------------------------
def _prepare_directory(directory) -> None:
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UserError(f"checkpoint {directory}: not a directory")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise UserError(f"checkpoint {directory}: cannot create the directory "
                        f"({exc.strerror or exc})") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UserError(f"checkpoint {directory}: directory is not writable")


def _flatten(value, name, arrays):
    """JSON-ready ``value``: each array goes to ``arrays[name]``, a reference stays."""
    if isinstance(value, np.ndarray):
        arrays[name] = value
        return {"__array__": name}
    if isinstance(value, dict):
        return {key: _flatten(item, f"{name}.{key}" if name else key, arrays)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_flatten(item, f"{name}.{i}", arrays) for i, item in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _unflatten(value, arrays):
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            name = value["__array__"]
            if not isinstance(name, str) or name not in arrays:
                raise _Invalid(f"it refers to an array {_shown(name)} it does not hold")
            return arrays[name]
        return {key: _unflatten(item, arrays) for key, item in value.items()}
    if isinstance(value, list):
        return [_unflatten(item, arrays) for item in value]
    return value


def _rng_state(rng):
    if rng is None:
        return None
    bit_generator, keys, pos, has_gauss, cached_gaussian = rng.get_state()
    return {"bit_generator": bit_generator, "keys": keys, "pos": int(pos),
            "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)}


def _write(path, directory, meta, arrays) -> None:
    def failure(reason):
        return (f"checkpoint {directory}: cannot write {FILENAME} ({reason}); the previous "
                "checkpoint is kept")

    with atomic_write(path, what="checkpoint", failure=failure) as f:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("meta.json", json_codec.dumps(meta))
            for name, array in arrays.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.ascontiguousarray(array),
                                              allow_pickle=False)


class _reading:
    """``with _reading(directory) as read: read(path, arrays=...)``: any problem with the file
    becomes one UserError naming the directory."""

    def __init__(self, directory):
        self.directory = directory

    def __enter__(self):
        return _read

    def __exit__(self, kind, exc, traceback):
        if kind is None or not issubclass(kind, (BadFile, _Invalid, RecursionError)):
            return False
        reason = str(exc) if kind is BadFile else f"damaged ({exc or 'nested too deep'})"
        raise UserError(f"checkpoint {self.directory}: {FILENAME} is {reason}; delete it to "
                        "start over") from None


def _read(path, arrays=None):
    """``(meta, arrays)`` from the checkpoint file (``(meta, None)`` without ``arrays``), or None
    when there is none. ``arrays(meta)``, given, is called before the arrays are read: it may
    refuse the checkpoint first."""
    if not os.path.exists(path):
        return None
    with BoundedZip(path, "lograd checkpoint", MAX_FILE_BYTES) as archive:
        if "meta.json" not in archive.members:
            raise BadFile("not a lograd checkpoint (a ZIP file without meta.json)")
        meta = archive.read_json("meta.json", MAX_META_BYTES)
        _check_format(meta, os.path.dirname(path))
        if arrays is None:
            return meta, None
        arrays(meta)
        names = [name for name in archive.members if name != "meta.json"]
        if not all(name.endswith(".npy") for name in names):
            raise BadFile("damaged (a member that is not meta.json or an .npy array)")
        return meta, {name[:-len(".npy")]: archive.read_array(name) for name in names}


def _check_format(meta, directory) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise BadFile("not a lograd checkpoint")
    version = meta.get("format_version")
    if version == 1:
        raise UserError(f"checkpoint {directory} was written by an older lograd (checkpoint "
                        "format 1), whose fingerprint of the data sampled rows: it cannot be "
                        "checked against this fit; delete it to start over")
    if not isinstance(version, int) or isinstance(version, bool) \
            or version not in READABLE_VERSIONS:
        raise UserError(f"checkpoint {directory}: written by another lograd version "
                        f"({_shown(meta.get('lograd_version', '?'))}, checkpoint format "
                        f"{_shown(version)}); this one reads formats "
                        f"{READABLE_VERSIONS[0]} to {READABLE_VERSIONS[-1]}")
    for key, check in (("iteration", _count), ("complete", _flag), ("fit", None),
                       ("state", None)):
        if key not in meta:
            raise _Invalid(f"no '{key}'")
        if check is not None and not check(meta[key], None):
            raise _Invalid(f"'{key}' is {_shown(meta[key])}: expected {check.__doc__}")
    if not isinstance(meta["fit"], dict) or not isinstance(meta["state"], dict):
        raise _Invalid("'fit' and 'state' must be JSON objects")


def _version() -> str:
    from lograd import __version__

    return __version__
