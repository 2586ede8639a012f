"""Training on Dask arrays: the fused data term computed where the row blocks live.

:func:`dask_data_loss` is the engine op ``dask_linear_logistic_loss``: the same value and
gradients as :func:`lograd.losses.fused_data_loss`, for X a row-chunked ``dask.array``. Its
forward runs the fused kernel on every row block (in the block's worker), each block giving::

    (Σ_i s_i loss_i,  Σ_i x_i r_iᵀ,  Σ_i r_i,  Σ_i s_i)       over the block's rows

sums these four partial results in a tree (pairs of blocks, then pairs of pairs, ...), and
divides by ``S = Σ_i s_i`` on the client, once per evaluation. Only these sums, of the size of
``w``, travel; X never leaves the workers. Like the fused op, the forward saves ``dL/dw`` and
``dL/db`` and its VJPs scale them by the upstream gradient, so ``backward()`` works unchanged.

The other helpers give lazy predictions: dask arrays computed block by block.
"""

from __future__ import annotations

import threading

import dask
import dask.array as da
import numpy as np
from scipy.special import expit, logsumexp
from scipy.special import softmax as _softmax

from lograd.engine import Tensor, apply, defop
from lograd.errors import UserError
from lograd.losses import _compute_dtype, _numpy_pass, _pick_kernel, _prepare

_DASK_OP = "dask_linear_logistic_loss"
# The compiled kernel already runs on every core; two of them at once (dask's threaded
# scheduler) only oversubscribe, and numba's "workqueue" threading layer forbids it outright.
_KERNEL_LOCK = threading.Lock()


def is_dask_array(value) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask in the caller)."""
    return isinstance(value, da.Array)


def dask_data_loss(X, w, b, Y, sample_weight=None):
    """Weighted mean cross-entropy of ``X @ w + b`` for a Dask X, from one pass over its blocks.

    Parameters
    ----------
    X : dask.array.Array of shape (n, d)
        Row-chunked data, a constant (column chunks are merged into one). Known chunk sizes.
    w : Tensor of shape (d,) or (d, k)
    b : Tensor of shape () or (k,)
    Y : dask.array.Array or ndarray of shape (n,) or (n, k)
        Targets, as for :func:`lograd.losses.fused_data_loss`; rechunked like X's rows.
    sample_weight : dask.array.Array or ndarray of shape (n,), optional

    Returns
    -------
    Tensor of shape (), the primitive ``dask_linear_logistic_loss`` in the graph: its forward
    has already computed dL/dw and dL/db, which ``backward()`` scales by the upstream gradient.
    """
    X, Y, sample_weight = (v.data if isinstance(v, Tensor) else v for v in (X, Y, sample_weight))
    # X, Y and the weights are op parameters, not inputs: an input would be turned into a
    # NumPy array (pulling X to the client).
    return apply(_DASK_OP, w, b, X=X, y=Y, sample_weight=sample_weight)


def _dask_forward(w, b, X, y, sample_weight):
    """``(loss, (dL/dw, dL/db))`` for the op table, computing once over X's row blocks."""
    X = _one_column_chunk(X)
    row_chunks = X.chunks[0]
    x_blocks = X.to_delayed().ravel()
    y_blocks = _row_blocks(y, row_chunks)
    s_blocks = _row_blocks(sample_weight, row_chunks)
    w_c, b_c = np.asarray(w), np.asarray(b)
    partials = [dask.delayed(_block_sums, pure=True)(xb, w_c, b_c, yb, sb)
                for xb, yb, sb in zip(x_blocks, y_blocks, s_blocks)]
    loss_sum, grad_w, grad_b, total_weight = dask.compute(_tree_sum(partials))[0]
    dtype = _compute_dtype(X)
    loss = np.asarray(loss_sum / total_weight, dtype=np.result_type(dtype, w.dtype))
    grads = ((np.asarray(grad_w) / total_weight).astype(w.dtype),
             (np.asarray(grad_b) / total_weight).astype(b.dtype))
    return loss, grads


defop(_DASK_OP, _dask_forward,
      lambda g, ans, w, b, X, y, sample_weight, saved: g * saved[0],  # dL/dw, from the forward
      lambda g, ans, w, b, X, y, sample_weight, saved: g * saved[1],  # dL/db, from the forward
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


def _block_sums(X, w, b, y, s):
    """One row block's ``(Σ s_i loss_i, Σ x_i r_iᵀ, Σ r_i, Σ s_i)``: the fused kernel's pass."""
    X = np.asarray(X)
    dtype = _compute_dtype(X)
    y, s, w_c, b_c = _prepare(X, w, b, y, s, dtype)
    kernel = _pick_kernel(X, dtype, y.ndim == 2)
    if kernel is None:
        loss_sum, grad_w, grad_b = _numpy_pass(X, w_c, b_c, y, s)
    else:
        with _KERNEL_LOCK:
            loss_sum, grad_w, grad_b = kernel(X, w_c, b_c, y, s)
    weight_sum = float(s.sum(dtype=np.float64)) if s.size else float(X.shape[0])
    grad_w = np.asarray(grad_w, dtype=np.float64)
    return float(loss_sum), grad_w, np.asarray(grad_b, dtype=np.float64), weight_sum


def _add_sums(left, right):
    return tuple(a + b for a, b in zip(left, right))


def _tree_sum(partials):
    """Pairwise sums of delayed partial results: depth log2(blocks), no single hot task."""
    while len(partials) > 1:
        pairs = [dask.delayed(_add_sums, pure=True)(partials[i], partials[i + 1])
                 for i in range(0, len(partials) - 1, 2)]
        partials = pairs + ([partials[-1]] if len(partials) % 2 else [])
    return partials[0]


# -- the estimator's side -----------------------------------------------------------------------
def check_fit_data(X, y):
    """Light checks of a dask ``(X, y)`` without computing X; y cut like X's rows.

    Parameters
    ----------
    X : dask.array.Array of shape (n, d), float32 or float64, known row chunk sizes
    y : dask.array.Array or array-like of shape (n,)

    Returns
    -------
    X : dask.array.Array with one column chunk
    y : dask.array.Array of shape (n,), chunked like X's rows
    """
    if X.ndim != 2:
        raise UserError(f"X must be 2-D (n_samples, n_features); got a dask array of shape "
                        f"{X.shape}")
    if X.dtype not in (np.float32, np.float64):
        raise UserError(f"X has dtype {X.dtype}; dask input must be float32 or float64 "
                        "(use X.astype('float64'))")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise UserError("X has unknown row chunk sizes; call X.compute_chunk_sizes() first")
    X = X if X.numblocks[1] == 1 else X.rechunk({1: -1})
    if not is_dask_array(y):
        y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise UserError(f"y has shape {y.shape}; expected ({X.shape[0]},) to match X's rows")
    if not is_dask_array(y):
        y = da.from_array(y, chunks=(X.chunks[0],))
    if y.chunks[0] != X.chunks[0]:
        y = y.rechunk((X.chunks[0],))
    return X, y


def check_n_features(X, n_features):
    """UserError unless X is a 2-D dask array with ``n_features`` columns."""
    if X.ndim != 2 or X.shape[1] != n_features:
        raise UserError(f"X has shape {X.shape}, but the model was fitted on {n_features} "
                        "features")


def unique(y) -> np.ndarray:
    """The distinct labels of a dask y, computed (only they come to the client)."""
    return np.asarray(da.unique(y).compute())


def encode(y, classes, dtype, encode_block):
    """Lazy targets: ``encode_block(y_block, classes, dtype)`` on every block of y.

    Shape (n,) of 0/1 for two classes, else (n, k) one-hot, chunked like y's rows.
    """
    if classes.size == 2:
        return y.map_blocks(encode_block, classes, dtype, dtype=dtype)
    return y.map_blocks(encode_block, classes, dtype, dtype=dtype, new_axis=1,
                        chunks=(y.chunks[0], (classes.size,)))


def persist_if_distributed(*arrays):
    """The arrays persisted in the workers' memory when a distributed client is active.

    Without one (dask's local schedulers) they stay lazy: persisting would load an out-of-core
    X into this process's memory.
    """
    try:
        from distributed import default_client
        default_client()
    except (ImportError, ValueError):  # no distributed, or no client
        return arrays
    return dask.persist(*arrays)


# -- lazy predictions ----------------------------------------------------------------------------
def lazy_decision_function(X, coef, intercept):
    """Logits ``X @ coef.T + intercept`` as a dask array: shape (n,) for one row of coef,
    else (n, k)."""
    X = _one_column_chunk(X)
    if coef.shape[0] == 1:
        return X.map_blocks(_block_binary_scores, coef[0], intercept[0], drop_axis=1,
                            dtype=np.result_type(X.dtype, coef.dtype))
    return X.map_blocks(_block_scores, coef, intercept, chunks=(X.chunks[0], (coef.shape[0],)),
                        dtype=np.result_type(X.dtype, coef.dtype))


def lazy_predict(scores, classes):
    """Most probable class per row, from lazy logits: dask array of shape (n,)."""
    drop = {} if scores.ndim == 1 else {"drop_axis": 1}
    return scores.map_blocks(_block_predict, classes, dtype=classes.dtype, **drop)


def lazy_predict_proba(scores, log=False):
    """Class probabilities (or their logs) from lazy logits: dask array of shape (n, k)."""
    k = 2 if scores.ndim == 1 else scores.shape[1]
    extra = {"new_axis": 1} if scores.ndim == 1 else {}
    return scores.map_blocks(_block_log_proba if log else _block_proba,
                             chunks=(scores.chunks[0], (k,)), dtype=np.float64, **extra)


def _block_binary_scores(X, w, b):
    return np.asarray(X @ w) + b


def _block_scores(X, coef, intercept):
    return np.asarray(X @ coef.T) + intercept


def _block_predict(scores, classes):
    index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
    return classes[index]


def _block_proba(scores):
    if scores.ndim == 1:
        return np.column_stack([expit(-scores), expit(scores)])
    return _softmax(scores, axis=1)


def _block_log_proba(scores):
    if scores.ndim == 1:  # log σ(z) = -log(1 + e^{-z})
        return np.column_stack([-np.logaddexp(0, scores), -np.logaddexp(0, -scores)])
    return scores - logsumexp(scores, axis=1, keepdims=True)
