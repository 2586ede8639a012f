"""Checkpoints: a fit's whole training state in a directory, written atomically, never pickled.

``LogisticRegression(checkpoint=DIR, checkpoint_every=k)`` keeps one file, ``DIR/checkpoint.npz``,
rewritten every k iterations and at the end of the fit. It is a ZIP archive, readable with
``numpy.load(path, allow_pickle=False)`` or any unzip tool, holding:

``meta.json``
    ``format`` (``"lograd-checkpoint"``), ``format_version``, ``lograd_version``,
    ``written_utc``, ``iteration`` (iterations done), ``complete`` (the fit finished),
    ``fit`` (what identifies the fit: its parameters but ``verbose``, ``callbacks`` and the
    checkpoint settings, the classes, the data's shape and dtype, a SHA-256 of a strided sample
    of rows of X plus the targets and weights, and of the initial parameters), ``state`` (the
    training loop's state, see :mod:`lograd.training`, each array replaced by
    ``{"__array__": NAME}``) and ``rng`` (the shuffling RandomState's state, for sgd/adam).
    Floats are written exactly (Python's shortest round-trip repr; ``Infinity`` for inf).
``NAME.npy``
    One array per array of the state: parameters, momentum/moment buffers, the loss curve, ...

The file is written to a temporary file in DIR, flushed to disk (fsync) and renamed over the
old one: a reader, or a fit resumed after ``kill -9`` or a power cut, finds the previous
checkpoint or the new one, never half of one.

A fit that finds a checkpoint of itself in DIR resumes from it; one that finds a checkpoint of
a *different* fit refuses with a :class:`lograd.errors.UserError` naming DIR and the difference,
and changes nothing (delete DIR, or pass another, to start over). Use one directory per fit:
two fits running at once in one directory would overwrite each other's checkpoints.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import tempfile
import zipfile

import numpy as np
import scipy.sparse as sp

from lograd._files import remove_quietly, umask
from lograd.errors import UserError

FILENAME = "checkpoint.npz"
FORMAT = "lograd-checkpoint"
FORMAT_VERSION = 1
#: Parameters that do not change a fit's result, so a checkpoint ignores them.
IGNORED_PARAMS = ("verbose", "callbacks", "checkpoint", "checkpoint_every")
_SAMPLE_ROWS = 1024  # rows of X hashed into the data fingerprint, evenly spread


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
        different fit, or a damaged one.
        """
        saved = _read(self.path, self.directory)
        if saved is None:
            return None
        meta, arrays = saved
        _check_same_fit(meta["fit"], self.fit, self.directory)
        state = _unflatten(meta["state"], arrays)
        state["rng"] = _unflatten(meta.get("rng"), arrays)
        return state

    def save(self, state: dict) -> None:
        """Write ``state`` (a training loop's checkpoint state) atomically."""
        arrays = {}
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "lograd_version": _version(),
                "written_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "iteration": int(state["iteration"]), "complete": bool(state["complete"]),
                "fit": self.fit, "state": _flatten(state, "", arrays),
                "rng": _flatten(_rng_state(self.rng), "rng", arrays)}
        _write_atomically(self.path, self.directory, meta, arrays)


def read_meta(directory) -> dict | None:
    """``meta.json`` of the checkpoint in ``directory`` (None if there is none).

    Raises UserError for a damaged or foreign file.
    """
    directory = os.fspath(directory)
    saved = _read(os.path.join(directory, FILENAME), directory)
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
def fit_fingerprint(params, classes, X, Y, sample_weight, theta0, validation=None) -> dict:
    """What a checkpoint must match to be resumed by this fit.

    Parameters
    ----------
    params : dict
        The estimator's ``get_params(deep=False)``; :data:`IGNORED_PARAMS` are left out.
    classes : ndarray of shape (n_classes,)
    X : {ndarray, sparse matrix, dask array} of shape (n_samples, n_features)
    Y : ndarray or dask array of shape (n_samples,) or (n_samples, n_classes)
        Encoded targets.
    sample_weight : ndarray of shape (n_samples,) or None
    theta0 : ndarray of shape (n_params,)
        Initial parameters (``coef_init``, ``warm_start`` change them).
    validation : tuple (X_val, y_val), optional
        The rows held out for early stopping.

    Returns
    -------
    dict of JSON values: ``params``, ``classes``, ``n_samples``, ``n_features``, ``dtype``,
    ``data`` and ``initial`` (SHA-256 hex digests).
    """
    kept = {name: _param_value(value) for name, value in sorted(params.items())
            if name not in IGNORED_PARAMS}
    return _normalized({
        "params": kept, "classes": [_plain(c) for c in np.asarray(classes).tolist()],
        "n_samples": int(X.shape[0]), "n_features": int(X.shape[1]), "dtype": str(X.dtype),
        "data": _data_digest(X, Y, sample_weight, validation), "initial": _digest([theta0])})


def _param_value(value):
    if isinstance(value, np.random.RandomState | np.random.Generator):
        return type(value).__name__  # an instance has no stable identity across runs
    if isinstance(value, dict):  # class_weight: JSON keys must be strings
        return {str(key): item for key, item in value.items()}
    return value


def _plain(value):
    return value if isinstance(value, (bool, int, float, str)) or value is None else str(value)


def _normalized(value):
    """``value`` as it reads back from JSON (tuples become lists, dict keys strings)."""
    text = json.dumps(value, default=lambda v: v.item() if isinstance(v, np.generic) else repr(v))
    return json.loads(text)


def _sample_rows(n) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, num=min(n, _SAMPLE_ROWS)).round().astype(np.intp))


def _data_digest(X, Y, sample_weight, validation) -> str:
    """SHA-256 of evenly spread rows of X, the targets and the weights (and validation rows).

    Of dask arrays only the sampled rows are hashed (computed in one go), targets included."""
    rows = _sample_rows(X.shape[0])
    parts = [X[rows], _whole_or_rows(Y, rows), _whole_or_rows(sample_weight, rows)]
    if validation is not None:
        X_val, y_val = validation
        rows_val = _sample_rows(X_val.shape[0])
        parts += [X_val[rows_val], _whole_or_rows(y_val, rows_val)]
    if any(_is_dask(part) for part in parts):
        import dask

        parts = dask.compute(*parts)
    return _digest(parts)


def _is_dask(value) -> bool:
    return type(value).__module__.startswith("dask.")


def _whole_or_rows(array, rows):
    return array[rows] if _is_dask(array) else array


def _digest(parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        if part is None:
            h.update(b"None")
        elif sp.issparse(part):
            csr = sp.csr_matrix(part)
            for array in (csr.data, csr.indices, csr.indptr):
                _update(h, array)
        else:
            _update(h, np.asarray(part))
    return h.hexdigest()


def _update(h, array) -> None:
    h.update(f"{array.dtype.str}{array.shape}".encode())
    if array.dtype.kind == "O":  # labels held as Python objects: hash their text
        h.update(repr(array.tolist()).encode())
    else:
        h.update(np.ascontiguousarray(array).tobytes())


def _check_same_fit(saved, current, directory) -> None:
    for key, value in current.items():
        if saved.get(key) != value:
            raise UserError(f"checkpoint {directory} holds the state of a different fit "
                            f"({_difference(key, saved.get(key), value, current)}); nothing "
                            "was changed: "
                            "delete it to start over, or pass another checkpoint directory")


def _difference(key, saved, current, fit) -> str:
    if key == "params":
        saved = saved or {}
        names = [name for name in current if saved.get(name) != current[name]]
        names += [name for name in saved if name not in current]
        return "; ".join(f"{name}={current.get(name)!r}, the checkpoint's {saved.get(name)!r}"
                         for name in names[:3])
    if key == "data":
        params = fit["params"]
        hint = (" (early_stopping with random_state=None holds out different rows each time)"
                if params.get("early_stopping") and params.get("random_state") is None else "")
        return f"other data: sampled rows, targets or sample weights differ{hint}"
    if key == "initial":
        return "other initial parameters: coef_init, intercept_init or warm_start"
    return f"{key} {current!r}, the checkpoint's {saved!r}"


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
            return arrays[value["__array__"]]
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


def _write_atomically(path, directory, meta, arrays) -> None:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{FILENAME}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive:
                archive.writestr("meta.json", json.dumps(meta))
                for name, array in arrays.items():
                    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.ascontiguousarray(array),
                                                  allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp's 0600 would hide it from the group
        os.replace(tmp, path)
        _fsync_directory(directory)  # the rename itself survives a power cut
    except OSError as exc:
        remove_quietly(tmp)
        raise UserError(f"checkpoint {directory}: cannot write {FILENAME} "
                        f"({exc.strerror or exc}); the previous checkpoint is kept") from None
    except BaseException:
        remove_quietly(tmp)
        raise


def _fsync_directory(directory) -> None:
    with contextlib.suppress(OSError):  # not every platform/file system allows it
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)




def _read(path, directory):
    """``(meta, arrays)`` from the checkpoint file, or None when there is none."""
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(archive["meta.json"].decode())
            arrays = {name: archive[name] for name in archive.files if name != "meta.json"}
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError,
            zipfile.BadZipFile) as exc:
        raise UserError(f"checkpoint {directory}: {FILENAME} is damaged ({type(exc).__name__}: "
                        f"{exc}); delete it to start over") from None
    _check_format(meta, directory)
    return meta, arrays


def _check_format(meta, directory) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"checkpoint {directory}: {FILENAME} is not a lograd checkpoint")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise UserError(f"checkpoint {directory}: written by another lograd version "
                        f"({meta.get('lograd_version', '?')}, checkpoint format {version!r}); "
                        f"this one reads format {FORMAT_VERSION}")
    for key in ("iteration", "complete", "fit", "state"):
        if key not in meta:
            raise UserError(f"checkpoint {directory}: {FILENAME} is damaged (no '{key}')")


def _version() -> str:
    from lograd import __version__

    return __version__
