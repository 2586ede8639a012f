"""The Dask backend: a model trained on row-chunked dask arrays and DataFrames where they live.

The data term is one engine op, ``dask_data_term``: its forward asks the model for its block
sums on every row block (in the block's worker), each block giving::

    (Σ_i s_i loss_i,  Σ_i s_i ∂loss_i/∂p for each parameter p,  Σ_i s_i)    over its rows

sums these partial results in a tree (pairs of blocks, then pairs of pairs, ...), and divides by
``S = Σ_i s_i`` on the client, once per evaluation. Only these sums, of the size of the
parameters, travel; X never leaves the workers. The forward saves the gradients and the op's
VJPs scale them by the upstream gradient, so ``backward()`` works unchanged. For logistic
regression a block's sums are the fused kernel's one pass; for a network, the engine's backward
pass on the block.

:class:`DaskBackend` offers the estimators what :mod:`lograd.backends.memory` does:

- inputs: DataFrames become arrays with known row chunks; y, weights are cut like X's rows;
- weights: sample weights checked in one small computation, class weights ('balanced' from
  one ``bincount`` of the encoded labels) multiplied in lazily;
- :class:`BlockObjective`: the full objective through the dask op ('gd', 'lbfgs', and every
  ``loss_curve_`` value); 'sgd'/'adam' epochs run as a chain of block tasks
  (:class:`BlockEpochs`), each block's mini-batch pass where the block lives;
- early stopping: a seeded per-block holdout, accuracy summed where the rows live;
- lazy predictions (dask arrays computed block by block) and a one-computation ``score``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import threading
import warnings

import dask
import dask.array as da
import numpy as np
from sklearn.utils import compute_class_weight

from lograd import objective as objectives
from lograd.autodiff.engine import PerArgument, Tensor, apply, defop, no_grad
from lograd.data_checks import check_sample_weight
from lograd.errors import UserError
from lograd.files import checkpoints
from lograd.models import targets
from lograd.objective import Objective

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; the NumPy path still works
    numba = None

_DASK_OP = "dask_data_term"
# The compiled kernel already runs on every core; two of them at once (dask's threaded
# scheduler) only oversubscribe, and numba's "workqueue" threading layer forbids it outright.
_KERNEL_LOCK = threading.Lock()


@contextlib.contextmanager
def _kernel_threads():
    """Run the compiled kernel with the threads this process should give it.

    Outside a distributed worker: every core, one kernel at a time (``_KERNEL_LOCK``). In a
    worker, the cluster's parallelism is its worker threads, so the kernel gets
    ``OMP_NUM_THREADS`` threads (the nanny sets 1; dask's ``distributed.nanny.pre-spawn-environ``
    changes it): numba's default, every core in every worker, oversubscribed the machine and
    its OpenMP barriers made one 500-row block ~500x slower (0.1 s instead of 0.2 ms, measured
    with 2 workers on 2 cores).
    """
    try:
        from distributed import get_worker
        get_worker()
    except (ImportError, ValueError):  # no distributed, or not in one of its workers
        with _KERNEL_LOCK:
            yield
        return
    if numba is None:
        yield
        return
    previous = numba.get_num_threads()  # per thread: other worker threads are not affected
    wanted = int(os.environ.get("OMP_NUM_THREADS") or 1)
    numba.set_num_threads(max(1, min(wanted, numba.config.NUMBA_NUM_THREADS)))
    try:
        with _KERNEL_LOCK if _needs_lock() else contextlib.nullcontext():
            yield
    finally:
        numba.set_num_threads(previous)


def _needs_lock() -> bool:
    """numba's "workqueue" layer (or a layer not chosen yet) runs one kernel at a time."""
    try:
        return numba.threading_layer() == "workqueue"
    except ValueError:  # no parallel kernel has run in this process yet
        return True


def is_dask_array(value) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask in the caller)."""
    return isinstance(value, da.Array)


def dask_data_term(model, params, X, Y, sample_weight=None):
    """The model's weighted mean cross-entropy for a Dask X, from one pass over its blocks.

    Parameters
    ----------
    model : lograd.models.Model
    params : sequence of Tensor, one per ``model.parameters``
    X : dask.array.Array of shape (n, d)
        Row-chunked data, a constant (column chunks are merged into one). Known chunk sizes.
    Y : dask.array.Array or ndarray of shape (n,) or (n, k)
        Targets; rechunked like X's rows.
    sample_weight : dask.array.Array or ndarray of shape (n,), optional

    Returns
    -------
    Tensor of shape (), the primitive ``dask_data_term`` in the graph: its forward has already
    computed the gradients, which ``backward()`` scales by the upstream gradient.
    """
    X, Y, sample_weight = (v.data if isinstance(v, Tensor) else v for v in (X, Y, sample_weight))
    # X, Y and the weights are op parameters, not inputs: an input would be turned into a
    # NumPy array (pulling X to the client).
    return apply(_DASK_OP, *params, model=model, X=X, y=Y, sample_weight=sample_weight)


def _dask_forward(*arrays, model, X, y, sample_weight):
    """``(loss, gradients)`` for the op table, computing once over X's row blocks."""
    X = _one_column_chunk(X)
    row_chunks = X.chunks[0]
    x_blocks = X.to_delayed().ravel()
    y_blocks = _row_blocks(y, row_chunks)
    s_blocks = _row_blocks(sample_weight, row_chunks)
    arrays = [np.asarray(a) for a in arrays]
    partials = [dask.delayed(_block_sums, pure=True)(model, arrays, xb, yb, sb)
                for xb, yb, sb in zip(x_blocks, y_blocks, s_blocks)]
    loss_sum, *grads, total_weight = dask.compute(_tree_sum(partials))[0]
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    loss = np.asarray(loss_sum / total_weight, dtype=np.result_type(dtype, arrays[0].dtype))
    return loss, tuple((np.asarray(g) / total_weight).astype(a.dtype)
                       for g, a in zip(grads, arrays))


defop(_DASK_OP, _dask_forward,  # dL/dp_i: the forward's gradient, scaled by g
      PerArgument(lambda i, g, ans, *arrays, model, X, y, sample_weight, saved: g * saved[i]),
      saves=True)


def _one_column_chunk(X):
    if not is_dask_array(X) or X.ndim != 2:
        raise ValueError(f"X must be a 2-D dask array, got {type(X).__name__}")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError("X has unknown row chunk sizes; call X.compute_chunk_sizes() first")
    return X if X.numblocks[1] == 1 else X.rechunk({1: -1})


def _row_blocks(a, row_chunks):
    """``a`` cut like X's rows: delayed blocks (dask), NumPy slices, or Nones."""
    if a is None:
        return [None] * len(row_chunks)
    if is_dask_array(a):
        chunks = (row_chunks,) + tuple((size,) for size in a.shape[1:])
        if a.chunks != chunks:
            a = a.rechunk(chunks)
        return list(a.to_delayed().ravel())
    a = np.asarray(a)
    bounds = np.cumsum((0,) + tuple(row_chunks))
    return [a[start:stop] for start, stop in zip(bounds[:-1], bounds[1:])]


def _block_sums(model, arrays, X, y, s):
    """One row block's ``(Σ s_i loss_i, *Σ s_i ∂loss_i/∂p (float64), Σ s_i)``: the model's
    block sums, on the threads this worker should give them."""
    with _kernel_threads():
        loss_sum, grads, weight_sum = model.block_sums(arrays, np.asarray(X), y, s)
    return (float(loss_sum), *(np.asarray(g, dtype=np.float64) for g in grads),
            float(weight_sum))


def _add_sums(left, right):
    return tuple(a + b for a, b in zip(left, right))


def _tree_sum(partials):
    """Pairwise sums of delayed partial results: depth log2(blocks), no single hot task."""
    while len(partials) > 1:
        pairs = [dask.delayed(_add_sums, pure=True)(partials[i], partials[i + 1])
                 for i in range(0, len(partials) - 1, 2)]
        partials = pairs + ([partials[-1]] if len(partials) % 2 else [])
    return partials[0]


# -- inputs: dask arrays, DataFrames and Series -------------------------------------------------
def as_array(value, name="X"):
    """``(array, column_names)``: a dask DataFrame/Series as a dask array with known row chunks.

    A dask array passes through (names None). DataFrame columns must be numeric or boolean;
    they become float64, or float32 when every column is float32. ``column_names`` is an
    object array of the column names when all are strings (scikit-learn's rule), else None.
    """
    if is_dask_array(value):
        return value, None
    if _is_dask_frame(value, "DataFrame"):
        return _frame_to_array(value, name), _string_names(value.columns)
    if _is_dask_frame(value, "Series"):
        with warnings.catch_warnings():  # string labels become an object array: what we want
            warnings.filterwarnings("ignore", "Dask currently has limited support for "
                                    "converting pandas extension dtypes", UserWarning)
            return value.to_dask_array(lengths=True), None
    raise UserError(f"{name} is a {type(value).__name__}; dask input must be a dask array, "
                    "DataFrame or Series")


def _is_dask_frame(value, kind) -> bool:
    import dask.dataframe as dd

    return isinstance(value, getattr(dd, kind))


def _frame_to_array(frame, name):
    import pandas as pd

    for column, dtype in frame.dtypes.items():
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise UserError(f"{name} column {column!r} has dtype {dtype}; columns must be "
                            "numeric (encode or drop it)")
    floats32 = all(dtype == np.float32 for dtype in frame.dtypes)
    return frame.to_dask_array(lengths=True).astype(np.float32 if floats32 else np.float64)


def _string_names(columns):
    names = list(columns)
    return np.asarray(names, dtype=object) if all(isinstance(c, str) for c in names) else None


def check_fit_data(X, y):
    """Light checks of a dask ``(X, y)`` without computing X; y cut like X's rows.

    Parameters
    ----------
    X : dask array or DataFrame of shape (n, d)
        Array: float32 or float64. Known row chunk sizes (a DataFrame's are computed).
    y : dask array or Series, or array-like, of shape (n,)

    Returns
    -------
    X : dask.array.Array of shape (n, d) with one column chunk
    y : dask.array.Array of shape (n,), chunked like X's rows
    feature_names : ndarray of str or None
        The DataFrame's column names (when all are strings).
    """
    X, feature_names = as_array(X)
    if X.ndim != 2:
        raise UserError(f"X must be 2-D (n_samples, n_features); got a dask array of shape "
                        f"{X.shape}")
    if X.dtype not in (np.float32, np.float64):
        raise UserError(f"X has dtype {X.dtype}; dask input must be float32 or float64 "
                        "(use X.astype('float64'))")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise UserError("X has unknown row chunk sizes; call X.compute_chunk_sizes() first")
    X = X if X.numblocks[1] == 1 else X.rechunk({1: -1})
    return X, rows_like(y, X.chunks[0], "y"), feature_names


def rows_like(values, row_chunks, name):
    """``values`` (dask array/Series or array-like of shape (n,)) as a dask array cut in
    ``row_chunks`` (X's); UserError for another shape."""
    if is_dask_array(values) or _is_dask_frame(values, "Series"):
        values = as_array(values, name)[0]
    else:
        values = np.asarray(values)
    n = sum(row_chunks)
    if values.ndim != 1 or values.shape[0] != n:
        raise UserError(f"{name} has shape {values.shape}; expected ({n},) to match X's rows")
    if not is_dask_array(values):
        return da.from_array(values, chunks=(row_chunks,))
    return values if values.chunks[0] == row_chunks else values.rechunk((row_chunks,))


def check_predict_data(X, n_features, feature_names=None):
    """A dask X (array or DataFrame) for predictions: a dask array with ``n_features`` columns.

    UserError for another number of columns, or DataFrame column names other than the fitted
    ``feature_names`` (when both exist).
    """
    X, names = as_array(X)
    check_n_features(X, n_features)
    check_feature_names(names, feature_names)
    return X


def check_n_features(X, n_features):
    """UserError unless X is a 2-D dask array with ``n_features`` columns."""
    if X.ndim != 2 or X.shape[1] != n_features:
        raise UserError(f"X has shape {X.shape}, but the model was fitted on {n_features} "
                        "features")


def check_feature_names(names, fitted_names):
    """UserError when a DataFrame's column names differ from those seen by ``fit``."""
    if names is None or fitted_names is None or np.array_equal(names, fitted_names):
        return
    raise UserError(f"X has columns {list(names)}, but the model was fitted on columns "
                    f"{list(fitted_names)}")


def checked_labels(X, y) -> np.ndarray:
    """The distinct labels of y, after checking that X holds only finite values.

    Both in one dask computation (one pass over X, which the fit reads many times anyway);
    a NaN or infinity is then located, with a second pass, and named by row and column.
    """
    labels, finite = dask.compute(da.unique(y), da.isfinite(X).all())
    if not finite:
        row, column, value = _first_non_finite(X)
        raise UserError(f"X has a non-finite value ({value}) at row {row}, column {column}: "
                        "remove or impute it before fitting")
    return np.asarray(labels)


def _first_non_finite(X):
    """``(row, column, value)`` of the first NaN/inf of a row-chunked X (one column chunk);
    each block returns at most one position, so a badly broken X costs no memory."""
    starts = np.cumsum((0,) + tuple(X.chunks[0][:-1]))
    found = dask.compute(*[dask.delayed(_block_first_non_finite)(block, int(start))
                           for block, start in zip(X.to_delayed().ravel(), starts)])
    return next(position for position in found if position is not None)


def _block_first_non_finite(block, start):
    bad = np.flatnonzero(~np.isfinite(np.asarray(block)))
    if not bad.size:
        return None
    row, column = divmod(int(bad[0]), block.shape[1])
    return start + row, column, float(block[row, column])


def label_codes(y, classes):
    """Lazy class indices ``searchsorted(classes, y)`` (int), chunked like y."""
    return y.map_blocks(_block_codes, classes, dtype=np.intp)


def _block_codes(y, classes):
    return np.searchsorted(classes, y)


def encode(y, classes, dtype):
    """Lazy targets (:func:`lograd.models.targets.encode` on every block of y): shape (n,) of 0/1
    for two classes, else (n, k) one-hot, chunked like y's rows."""
    if classes.size == 2:
        return y.map_blocks(targets.encode, classes, dtype, dtype=dtype)
    return y.map_blocks(targets.encode, classes, dtype, dtype=dtype, new_axis=1,
                        chunks=(y.chunks[0], (classes.size,)))


# -- sample and class weights -------------------------------------------------------------------
def sample_weights(X, y, classes, sample_weight=None, class_weight=None):
    """Lazy per-row weights ``s_i`` (sample weight times class weight) in X's dtype, or None.

    Parameters
    ----------
    X : dask.array.Array of shape (n, d)
    y : dask.array.Array of shape (n,), labels chunked like X's rows
    classes : ndarray of shape (k,)
    sample_weight : dask array/Series or array-like of shape (n,), optional
        Checked in one small dask computation: finite, non-negative, positive total.
    class_weight : dict, 'balanced' or None
        As scikit-learn's; 'balanced' weighs class c by ``S / (k·S_c)``, ``S_c`` its total
        sample weight, from one ``bincount`` over the encoded labels.

    Returns
    -------
    dask.array.Array of shape (n,) chunked like X's rows, or None (all ones).
    """
    weights = _checked_weights(sample_weight, X)
    if class_weight is None:
        return weights
    codes = label_codes(y, classes)
    per_class = _class_weights(class_weight, classes, codes, weights)
    arrays = (codes,) if weights is None else (codes, weights)
    return da.map_blocks(_block_weights, *arrays, per_class=per_class, dtype_out=X.dtype,
                         dtype=X.dtype)


def _block_weights(codes, weights=None, *, per_class, dtype_out):
    scaled = per_class[codes] * (1.0 if weights is None else weights)  # float64, like NumPy's
    return scaled.astype(dtype_out)


def _checked_weights(sample_weight, X):
    if sample_weight is None:
        return None
    if not (is_dask_array(sample_weight) or _is_dask_frame(sample_weight, "Series")):
        weights = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return da.from_array(weights, chunks=(X.chunks[0],))
    weights = rows_like(sample_weight, X.chunks[0], "sample_weight")
    if not np.issubdtype(weights.dtype, np.number) or weights.dtype.kind == "c":
        raise UserError(f"sample_weight has dtype {weights.dtype}; it must be numbers")
    negative = weights < 0
    finite, any_negative, first_negative, total = dask.compute(
        da.isfinite(weights).all(), negative.any(), negative.argmax(),
        weights.sum(dtype=np.float64))
    if not finite:
        raise UserError("sample_weight contains NaN or infinity")
    if any_negative:
        raise UserError(f"sample_weight has a negative value at row {int(first_negative)}")
    if not total > 0:
        raise UserError("sample_weight sums to zero: at least one row needs a positive weight")
    return weights.astype(X.dtype)


def _class_weights(class_weight, classes, codes, weights):
    """Per-class multipliers, shape (k,), float64, by scikit-learn's ``compute_class_weight``
    given each class once with its total sample weight (what 'balanced' counts)."""
    counts = None
    if isinstance(class_weight, str) and class_weight == "balanced":
        counts = da.bincount(codes, weights=weights, minlength=classes.size).compute()
        if np.any(counts <= 0):
            missing = classes[np.flatnonzero(counts <= 0)[0]].tolist()
            raise UserError(f"class_weight='balanced' needs every class in y; class "
                            f"{missing!r} has no rows of positive weight")
    try:
        return compute_class_weight(class_weight, classes=classes, y=classes,
                                    sample_weight=counts).astype(np.float64)
    except (ValueError, TypeError) as exc:
        raise UserError(f"class_weight={class_weight!r} is invalid: {exc}") from None


# -- the objective and the validation split -------------------------------------------------------
def holdout(X, y, weights, classes, fraction, rng):
    """Split off a validation set: in every row block, ``ceil(fraction·m)`` random rows.

    Each block's rows are drawn with its own seed from ``rng`` and stratified by class within
    the block (largest-remainder quotas), not across blocks. A block keeps at least one
    training row. The part sizes are known without computing anything.

    Returns
    -------
    (X, y, weights) of the training rows, and ``(X_val, codes_val)`` (class indices).
    """
    row_chunks = X.chunks[0]
    held_counts = tuple(_n_held(m, fraction) for m in row_chunks)
    if sum(held_counts) == 0:
        raise UserError(f"early_stopping cannot hold out validation_fraction={fraction} of "
                        f"row blocks of sizes {row_chunks}: every block is too small")
    seeds = rng.randint(np.iinfo(np.int32).max, size=len(row_chunks))
    codes = label_codes(y, classes)
    held = codes.map_blocks(_held_mask, seeds, fraction, dtype=bool)
    kept_counts = tuple(m - h for m, h in zip(row_chunks, held_counts))
    train = tuple(None if a is None else _select_rows(a, held, False, kept_counts)
                  for a in (X, y, weights))
    validation = (_select_rows(X, held, True, held_counts),
                  _select_rows(codes, held, True, held_counts))
    return train, persist_if_distributed(*validation)


def _n_held(m, fraction):
    return 0 if m < 2 else min(int(np.ceil(fraction * m)), m - 1)


def _held_mask(codes, seeds, fraction, block_id=None):
    """True on this block's validation rows: per class, its share of ``_n_held`` rows."""
    rng = np.random.RandomState(seeds[block_id[0]])
    labels, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    n_held = _n_held(codes.size, fraction)
    exact = n_held * counts / max(codes.size, 1)
    quota = np.floor(exact).astype(int)
    by_remainder = np.argsort(quota - exact, kind="stable")  # largest remainders first
    quota[by_remainder[: n_held - quota.sum()]] += 1
    held = np.zeros(codes.size, dtype=bool)
    for label_index, count in enumerate(quota):
        rows = np.flatnonzero(inverse == label_index)
        held[rng.permutation(rows)[:count]] = True
    return held


def _select_rows(a, held, keep_held, row_counts):
    index = "ij"[: a.ndim]
    return da.blockwise(_pick_rows, index, a, index, held, "i", keep_held=keep_held,
                        dtype=a.dtype, adjust_chunks={"i": row_counts})


def _pick_rows(a, held, keep_held):
    return a[held] if keep_held else a[~held]


def validation_scorer(objective, X_val, codes_val):
    """``accuracy(theta)`` on the held-out rows: one dask computation, a count comes back."""
    x_blocks = X_val.to_delayed().ravel()
    code_blocks = _row_blocks(codes_val, X_val.chunks[0])
    model = objective.model

    def accuracy(theta):
        arrays = objective.unpack(theta)
        hits = [dask.delayed(_block_hits, pure=True)(xb, cb, model, arrays)
                for xb, cb in zip(x_blocks, code_blocks)]
        return float(dask.compute(_tree_sum(hits))[0][0]) / X_val.shape[0]
    return accuracy


def _block_hits(X, codes, model, arrays):
    scores = _block_logits(X, model, arrays)
    index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
    return (int(np.count_nonzero(index == codes)),)


def accuracy(predicted, y, sample_weight=None) -> float:
    """``Σ s_i [predicted_i = y_i] / Σ s_i`` of lazy predictions, from one dask computation.

    ``y`` and ``sample_weight`` may be dask arrays/Series or array-likes of shape (n,).
    """
    y = rows_like(y, predicted.chunks[0], "y")
    hits = (predicted == y).astype(np.float64)
    if sample_weight is None:
        return float(hits.mean().compute())
    weights = rows_like(sample_weight, predicted.chunks[0], "sample_weight")
    weights = weights.astype(np.float64)
    total_hits, total = dask.compute((hits * weights).sum(), weights.sum())
    return float(total_hits / total)


def persist_if_distributed(*arrays):
    """The arrays persisted in the workers' memory when a distributed client is active and
    they fit there.

    Without one (dask's local schedulers) they stay lazy: persisting would load an out-of-core
    X into this process's memory. With one, they are persisted when they take at most half of
    the workers' memory limits (:func:`fits_in_cluster`); otherwise they stay lazy too, and
    every evaluation streams the blocks from their source. None entries pass through.
    """
    try:
        from distributed import default_client
        client = default_client()
    except (ImportError, ValueError):  # no distributed, or no client
        return arrays
    if dask.base.get_scheduler() != client.get:  # e.g. dask.config.set(scheduler="threads")
        return arrays
    if not fits_in_cluster(client, arrays):
        return arrays
    return dask.persist(*arrays)


def fits_in_cluster(client, arrays, share=0.5) -> bool:
    """Whether the arrays take at most ``share`` of the sum of the workers' memory limits.

    The rest is left for the blocks in flight and dask's own bookkeeping (a worker starts
    spilling to disk at 60% of its limit by default). Workers without a limit: assumed to fit.
    """
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]
    except TypeError:  # distributed before 2025 lists every worker without being asked
        workers = client.scheduler_info()["workers"]
    limits = [info.get("memory_limit") or 0 for info in workers.values()]
    if not limits or not all(limits):
        return True
    size = sum(int(a.nbytes) for a in arrays if a is not None)
    return size <= share * sum(limits)


# -- a checkpoint's fingerprint of the data -------------------------------------------------------
def data_digest(parts) -> str:
    """:func:`lograd.files.checkpoints.data_digest` of parts some of which are dask arrays.

    Each dask array is hashed block by block where its blocks are (on the workers), in one
    computation for all of them, and stands in the digest as its dtype, its chunk sizes and its
    blocks' SHA-256 digests in order: only 32 bytes per block travel, and the same data chunked
    differently counts as other data. Other parts are hashed as in memory.
    """
    arrays = [part for part in parts if is_dask_array(part)]
    blocks = [array.to_delayed().ravel().tolist() for array in arrays]
    pending = list(dask.compute(*[[dask.delayed(_block_digest)(b) for b in row]
                                  for row in blocks])) if arrays else []

    def add(h, part):
        if not is_dask_array(part):
            return checkpoints.add_to_digest(h, part)
        h.update(f"dask {part.dtype.str} {part.chunks}".encode())
        for digest in pending.pop(0):
            h.update(digest)
    return checkpoints.data_digest(parts, add)


def _block_digest(block) -> bytes:
    h = hashlib.sha256()
    checkpoints.add_to_digest(h, np.asarray(block))
    return h.digest()


# -- file sets spilled to disk -----------------------------------------------------------------
def spilled_arrays(parts, n_features: int, label_dtype):
    """Row-chunked dask arrays over spilled chunks
    (:class:`lograd.files.filesets.SpilledPart`): one ``np.load`` task per file.

    Parameters
    ----------
    parts : list of SpilledPart
    n_features : int
    label_dtype : numpy dtype of the labels

    Returns
    -------
    X : dask.array.Array of shape (n, n_features), float64, one chunk per part
    y : dask.array.Array of shape (n,)
    """
    load_file = dask.delayed(np.load, pure=True)
    X = da.concatenate([da.from_delayed(load_file(p.X_path), shape=(p.rows, n_features),
                                        dtype=np.float64) for p in parts])
    y = da.concatenate([da.from_delayed(load_file(p.y_path), shape=(p.rows,), dtype=label_dtype)
                        for p in parts])
    return X, y


def streaming_scheduler(threads: int = 2):
    """A context in which dask computes with its local threaded scheduler and ``threads``
    threads: one chunk read from disk while another goes through the (already multi-threaded)
    kernel, so that only a few chunks are in memory at once, however many cores there are."""
    return dask.config.set(scheduler="threads", num_workers=threads)


# -- 'sgd' and 'adam' over shuffled blocks ------------------------------------------------------
class BlockObjective(Objective):
    """The objective of a dask X: full-data values and gradients through the dask op.

    Same parameters as :class:`lograd.objective.Objective` (X a row-chunked dask array with
    one column chunk; Y and sample_weight dask arrays chunked like its rows). Mini-batch
    solvers do not index it by rows: :meth:`DaskBackend.epochs` runs their epochs block by
    block.
    """

    def __init__(self, model, X, Y, sample_weight=None, *, alpha_l2=0.0, alpha_l1=0.0,
                 l2_per_batch=False):
        super().__init__(model, X, Y, sample_weight, alpha_l2=alpha_l2, alpha_l1=alpha_l1,
                         compiled=False, l2_per_batch=l2_per_batch)

    def _alpha_l2(self, X, weights):
        if not self.l2_per_batch:
            return self.alpha_l2
        total = X.shape[0] if weights is None else float(weights.sum(dtype=np.float64).compute())
        return self.dtype.type(self.alpha_l2 / total)

    def data_term(self, params, X, Y, sample_weight=None):
        return dask_data_term(self.model, params, X, Y, sample_weight)

    def gram_top(self, with_intercept) -> float:
        return _lazy_gram_top(self.X, self.sample_weight, with_intercept)


def _lazy_gram_top(X, sample_weight, fit_intercept) -> float:
    """λ_max (or, above 2000 features, the trace) of ``X̃ᵀ diag(s) X̃ / S`` for a dask X.

    ``sample_weight`` is a dask array chunked like X's rows, or None (all ones, S = n).
    """
    X64 = X.astype(np.float64)
    if sample_weight is None:
        weighted, total = X64, X.shape[0]
    else:
        s = sample_weight.astype(np.float64)
        weighted, total = X64 * s[:, None], s.sum()
    if X.shape[1] + int(fit_intercept) > objectives.MAX_EXACT_GRAM:
        trace, total = dask.compute((weighted * X64).sum(), total)
        return float(trace) / float(total) + float(fit_intercept)
    gram, col, total = dask.compute(weighted.T @ X64, weighted.sum(axis=0), total)
    gram, col = np.asarray(gram) / float(total), np.asarray(col) / float(total)
    if fit_intercept:
        gram = np.block([[gram, col[:, None]], [col[None, :], np.ones((1, 1))]])
    return float(np.linalg.eigvalsh(gram)[-1])


class BlockEpochs:
    """One epoch of a mini-batch solver over a dask X, as one step of the training loop.

    The row blocks come in a fresh random order every epoch (``rng``). Within a block, a task
    runs the solver over shuffled mini-batches of ``batch_size`` rows, where the block lives,
    with an in-memory :class:`~lograd.objective.Objective` of the block (the batch's mean data
    term plus the whole data's penalty, as in NumPy fits). The tasks are chained: each takes
    ``(theta, solver, rng)`` from the previous block and passes on its own, so X never moves and
    only parameters, solver state and the random state (a few kB) travel. The whole epoch is one
    dask computation. The chain carries the random state, so with a single block the shuffles,
    and the result, are those of the in-memory fit with the same ``random_state``.

    Parameters
    ----------
    objective : BlockObjective
    solver : lograd.solvers.GradientDescent or Adam
        Its state is updated after every epoch (it may be kept across ``partial_fit`` calls).
    batch_size : int or 'auto'
        'auto' is ``min(200, n)``, as in NumPy fits.
    rng : numpy.random.RandomState
        Advanced exactly as the chained tasks advanced their copies.
    """

    def __init__(self, objective, solver, batch_size, rng):
        X = objective.X
        self.x_blocks = list(X.to_delayed().ravel())
        self.y_blocks = _row_blocks(objective.Y, X.chunks[0])
        self.s_blocks = _row_blocks(objective.sample_weight, X.chunks[0])
        n = X.shape[0]
        self.batch_size = min(200, n) if batch_size == "auto" else min(batch_size, n)
        self.solver, self.rng = solver, rng
        self.model = objective.model
        self.settings = {"alpha_l2": objective.alpha_l2, "alpha_l1": objective.alpha_l1,
                         "l2_per_batch": objective.l2_per_batch}

    @property
    def learning_rate(self):
        return self.solver.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.solver.learning_rate = value

    def state_dict(self) -> dict:
        return self.solver.state_dict()

    def load_state_dict(self, state) -> None:
        self.solver.load_state_dict(state)

    def batches(self, epoch):
        """One token per epoch: the block indices in a fresh random order."""
        return [tuple(int(i) for i in self.rng.permutation(len(self.x_blocks)))]

    def step(self, theta, problem, order):
        """Run the epoch's chain of block passes; ``(theta, StepInfo of the last batch)``."""
        state = (theta, self.solver, self.rng, None)
        for i in order:
            state = dask.delayed(_block_epoch, pure=False)(
                self.x_blocks[i], self.y_blocks[i], self.s_blocks[i], state, self.batch_size,
                self.model, self.settings)
        theta, solver, rng, info = dask.compute(state)[0]
        self.solver.load_state_dict(solver.state_dict())
        self.rng.set_state(rng.get_state())
        return theta, info


def _block_epoch(X, Y, s, state, batch_size, model, settings):
    """One block's mini-batch pass: ``(theta, solver, rng, info)`` in, a new one out.

    Works on copies of the solver and the random state, so a task recomputed (e.g. after a
    worker was lost) gives the same result.
    """
    theta, solver, rng, info = state
    if X.shape[0] == 0 or (info is not None and not np.isfinite(info.grad_norm)):
        return state
    solver, rng = copy.deepcopy(solver), copy.deepcopy(rng)
    objective = Objective(model, np.asarray(X), Y, s, **settings)
    with _kernel_threads():
        for batch in _shuffled_batches(rng, X.shape[0], batch_size, s):
            theta, info = solver.step(theta, objective, batch)
            if not np.isfinite(info.grad_norm):
                break
    return theta, solver, rng, info


def _shuffled_batches(rng, n, size, weights):
    """The NumPy fit's epoch: a permutation of the rows cut into batches of ``size``, without
    the batches of zero total weight (they have no mean loss)."""
    order = rng.permutation(n)
    chunks = [order[i:i + size] for i in range(0, n, size)]
    if weights is not None:
        chunks = [c for c in chunks if weights[c].sum() > 0]
    return chunks


# -- lazy predictions ----------------------------------------------------------------------------
def lazy_logits(model, arrays, X):
    """The model's logits as a dask array computed block by block: shape (n,) for two classes,
    else (n, k)."""
    X = _one_column_chunk(X)
    dtype = np.result_type(X.dtype, *[a.dtype for a in arrays])
    k = _block_logits(np.zeros((1, X.shape[1]), X.dtype), model, arrays).shape[1:]  # () or (k,)
    if not k:
        return X.map_blocks(_block_logits, model, arrays, drop_axis=1, dtype=dtype)
    return X.map_blocks(_block_logits, model, arrays, chunks=(X.chunks[0], k), dtype=dtype)


def _block_logits(X, model, arrays):
    with no_grad():
        return np.asarray(model.logits([Tensor(a) for a in arrays], np.asarray(X)).data)


def lazy_predict(scores, classes):
    """Most probable class per row, from lazy logits: dask array of shape (n,)."""
    drop = {} if scores.ndim == 1 else {"drop_axis": 1}
    return scores.map_blocks(targets.labels, classes, dtype=classes.dtype, **drop)


def lazy_predict_proba(scores, log=False):
    """Class probabilities (or their logs) from lazy logits: dask array of shape (n, k)."""
    k = 2 if scores.ndim == 1 else scores.shape[1]
    extra = {"new_axis": 1} if scores.ndim == 1 else {}
    return scores.map_blocks(targets.log_probabilities if log else targets.probabilities,
                             chunks=(scores.chunks[0], (k,)), dtype=np.float64, **extra)


# -- the backend ---------------------------------------------------------------------------------
class DaskBackend:
    """Rows in dask arrays: what :class:`lograd.backends.memory.MemoryBackend` does, where the
    blocks live."""

    name = "dask"

    def fit_data(self, estimator, X, y, reset=True):
        """Dask ``(X, y)`` as arrays cut alike; sets or checks the features seen by fit."""
        X, y, names = check_fit_data(X, y)
        if reset:
            estimator.n_features_in_ = X.shape[1]
            estimator.__dict__.pop("feature_names_in_", None)
            if names is not None:
                estimator.feature_names_in_ = names
        else:
            check_n_features(X, estimator.n_features_in_)
            check_feature_names(names, getattr(estimator, "feature_names_in_", None))
        return X, y

    def labels(self, X, y) -> np.ndarray:
        return checked_labels(X, y)

    def predict_data(self, estimator, X):
        return check_predict_data(X, estimator.n_features_in_,
                                  getattr(estimator, "feature_names_in_", None))

    def sample_weights(self, X, y, classes, sample_weight=None, class_weight=None):
        return sample_weights(X, y, classes, sample_weight, class_weight)

    def holdout(self, X, y, weights, classes, fraction, rng):
        return holdout(X, y, weights, classes, fraction, rng)

    def objective(self, model, X, y, weights, classes, penalty, *, row_batches=False,
                  l2_per_batch=False):
        """The :class:`BlockObjective` of a dask fit, its arrays persisted on a cluster.

        ``penalty(S)`` scales the penalty by the total weight ``S`` (or n), as in NumPy fits.
        """
        target = encode(y, classes, X.dtype)
        X, target, weights = persist_if_distributed(X, target, weights)
        total = (float(X.shape[0]) if weights is None
                 else float(weights.sum(dtype=np.float64).compute()))
        alpha_l2, alpha_l1 = penalty(total)
        return BlockObjective(model, X, target, weights, alpha_l2=alpha_l2, alpha_l1=alpha_l1,
                              l2_per_batch=l2_per_batch)

    def epochs(self, objective, solver, batch_size, rng, shuffle=True):
        """``(epoch_solver, batches)`` for the training loop: one step is one epoch over the
        blocks (see :class:`BlockEpochs`)."""
        epochs = BlockEpochs(objective, solver, batch_size, rng)
        return epochs, epochs.batches

    def validation_scorer(self, objective, validation, classes):
        X_val, codes_val = validation  # (class indices: see holdout)
        return validation_scorer(objective, X_val, codes_val)

    def validation_loss(self, objective, validation, classes):
        return None  # (the held-out rows keep class indices only: their accuracy is scored)

    def data_digest(self, parts) -> str:
        """The data's fingerprint for a checkpoint (see :func:`data_digest`)."""
        return data_digest(parts)

    def logits(self, model, arrays, X):
        return lazy_logits(model, arrays, X)

    def labels_of(self, scores, classes):
        return lazy_predict(scores, classes)

    def probabilities(self, scores, log=False):
        return lazy_predict_proba(scores, log=log)


DASK = DaskBackend()

