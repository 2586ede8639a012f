"""The model's graph: parameters -> z = Xw + b -> sample-weighted mean log-loss + penalty.

The objective is scikit-learn's (``LogisticRegression``, version 1.9), divided by ``C·S`` so that
its size does not depend on the data set's size::

    F(w, b) = Σ_i s_i·loss_i / S  +  [ (1 - r)·½‖w‖²  +  r·‖w‖₁ ] / (C·S),     S = Σ_i s_i

with ``loss_i`` the log-loss of row i (sigmoid cross-entropy for two classes, softmax
cross-entropy for more), ``s_i`` the sample weights (times class weights), ``r`` the L1 ratio, and
the intercept ``b`` never penalized. scikit-learn minimises ``C·Σ_i s_i·loss_i + pen(w)``, which
is ``C·S·F``: the same minimiser.

Solvers see the objective only through :class:`Objective`'s ``loss_and_grad``, ``value`` and
``prox`` over a flat parameter vector ``theta = [w.ravel(), b]`` in the data's dtype. The data
term is one function, by default :func:`lograd.losses.fused_data_loss` (one pass over X).
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from lograd.autodiff.compile import compile_grad
from lograd.autodiff.engine import Tensor, no_grad
from lograd.losses import fused_data_loss, unfused_data_loss

# Above this many parameters per class the Lipschitz bound uses the trace instead of λ_max.
_MAX_EXACT_GRAM = 2000
_GRAM_BLOCK_ROWS = 8192


# The data term Σ_i s_i·loss_i / Σ_i s_i: `data_loss` is the graph of plain engine ops
# (X @ w + b -> cross-entropy -> weighted mean); the fused one-pass kernel gives the same value
# and gradients and is the default.
data_loss = unfused_data_loss


def resolve_penalty(penalty, C, l1_ratio):
    """The penalty ``'auto'`` stands for, chosen as scikit-learn 1.9 does from ``l1_ratio`` and
    ``C``: None for ``C=inf``, else 'l2' for ``l1_ratio`` None or 0, 'l1' for 1, 'elasticnet'
    in between. Any other penalty is itself."""
    if penalty != "auto":
        return penalty
    if C == np.inf:
        return None
    if l1_ratio is None or l1_ratio == 0:
        return "l2"
    return "l1" if l1_ratio == 1 else "elasticnet"


def penalty_strengths(penalty, C, l1_ratio, weight_sum):
    """``(alpha_l2, alpha_l1)`` with ``F = data + alpha_l2·½‖w‖² + alpha_l1·‖w‖₁``.

    ``alpha = 1/(C·S)`` split by the L1 ratio, as scikit-learn scales ``C``; ``penalty`` may be
    ``'auto'`` (see :func:`resolve_penalty`).
    """
    penalty = resolve_penalty(penalty, C, l1_ratio)
    if penalty is None or np.isinf(C):
        return 0.0, 0.0
    alpha = 1.0 / (C * weight_sum)
    ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[penalty]
    return alpha * (1.0 - ratio), alpha * ratio


class Objective:
    """``F(theta)`` for one data set, its gradient by backpropagation, and the L1 prox.

    Parameters
    ----------
    X : ndarray or scipy.sparse CSR/CSC matrix, shape (n, d)
        Float32 or float64; the graph is computed in this dtype.
    Y : ndarray, shape (n,) of 0/1 or (n, k) one-hot, X's dtype
    sample_weight : ndarray of shape (n,), optional
    alpha_l2, alpha_l1 : float
        Penalty strengths (see :func:`penalty_strengths`), already divided by ``C·S``.
    fit_intercept : bool
    loss_fn : callable, default :func:`lograd.losses.fused_data_loss`
        The data term, ``loss_fn(X, w, b, Y, sample_weight) -> Tensor``.
    compiled : bool, default True
        With the fused data term, run ``loss_and_grad`` as a program traced once by
        :func:`lograd.compile_grad` (one per batch shape): the same numbers as ``backward()``,
        without rebuilding the graph on every call (a 256-row mini-batch costs about a third
        less). Other data terms always run on the engine.

    Notes
    -----
    ``theta`` is flat: ``w`` in C order (shape (d,) or (d, k)), then ``b`` (1 or k values) when
    the intercept is fitted. ``batch`` arguments are row indices chosen by the training loop; the
    data term is then the batch's weighted mean, the penalty stays the full data set's.
    """

    def __init__(self, X, Y, sample_weight=None, *, alpha_l2=0.0, alpha_l1=0.0,
                 fit_intercept=True, loss_fn=fused_data_loss, compiled=True):
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.alpha_l2, self.alpha_l1 = float(alpha_l2), float(alpha_l1)
        self.fit_intercept = fit_intercept
        self.loss_fn = loss_fn
        self.dtype = X.dtype
        n_features = X.shape[1]
        self.w_shape = (n_features,) if Y.ndim == 1 else (n_features, Y.shape[1])
        self.b_shape = () if Y.ndim == 1 else (Y.shape[1],)
        self.n_weights = int(np.prod(self.w_shape))
        self.n_params = self.n_weights + (int(np.prod(self.b_shape)) if fit_intercept else 0)
        self._compiled = None
        if compiled and loss_fn is fused_data_loss:
            self._compiled = _compiled_smooth(self.alpha_l2, bool(fit_intercept))

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    # -- parameters -----------------------------------------------------------------------------
    def zeros(self) -> np.ndarray:
        return np.zeros(self.n_params, dtype=self.dtype)

    def unpack(self, theta):
        """``(w, b)`` as arrays of shapes ``w_shape`` and ``b_shape`` (b zero if not fitted)."""
        w = theta[: self.n_weights].reshape(self.w_shape)
        if self.fit_intercept:
            b = theta[self.n_weights:].reshape(self.b_shape)
        else:
            b = np.zeros(self.b_shape, dtype=self.dtype)
        return w, b

    def pack(self, w, b) -> np.ndarray:
        parts = [np.asarray(w, dtype=self.dtype).ravel()]
        if self.fit_intercept:
            parts.append(np.asarray(b, dtype=self.dtype).ravel())
        return np.concatenate(parts)

    # -- the graph ------------------------------------------------------------------------------
    def _batch(self, batch):
        if batch is None:
            return self.X, self.Y, self.sample_weight
        weights = None if self.sample_weight is None else self.sample_weight[batch]
        return self.X[batch], self.Y[batch], weights

    def _graph(self, w, b, batch):
        """Smooth part of F on the batch (see :func:`smooth_part`)."""
        X, Y, weights = self._batch(batch)
        return smooth_part(self.loss_fn, self.alpha_l2, w, b, X, Y, weights)

    def _l1(self, theta) -> float:
        if not self.alpha_l1:
            return 0.0
        return self.alpha_l1 * float(np.abs(theta[: self.n_weights]).sum(dtype=np.float64))

    def loss_and_grad(self, theta, batch=None):
        """``F(theta)`` and the gradient of its smooth part, by ``backward()``.

        Parameters
        ----------
        theta : ndarray of shape (n_params,), the data's dtype
        batch : index array, optional
            Rows of the data term (None: all rows).

        Returns
        -------
        loss : float
            The objective including the L1 term (of the batch's data term if ``batch``).
        grad : ndarray of shape (n_params,), the data's dtype
            Gradient of the data term and the L2 penalty (the L1 term goes through ``prox``).
        """
        w_data, b_data = self.unpack(theta)
        if self._compiled is not None:
            X, Y, weights = self._batch(batch)
            loss, grads = self._compiled(w_data, b_data, X, Y, *_present(weights))
        else:
            w = Tensor(w_data, requires_grad=True)
            b = Tensor(b_data, requires_grad=self.fit_intercept)
            loss = self._graph(w, b, batch)
            loss.backward()
            loss, grads = loss.data, (w.grad, b.grad)
        flat = [grads[0].ravel()]
        if self.fit_intercept:
            flat.append(np.reshape(grads[1], -1))
        return float(loss) + self._l1(theta), np.concatenate(flat)

    def value(self, theta, batch=None) -> float:
        """``F(theta)`` by a forward pass only."""
        w_data, b_data = self.unpack(theta)
        with no_grad():
            loss = self._graph(Tensor(w_data), Tensor(b_data), batch)
        return float(loss.item()) + self._l1(theta)

    def prox(self, theta, step) -> np.ndarray:
        """``argmin_u ½‖u - theta‖² + step·alpha_l1·‖u_w‖₁``: soft-thresholding of the weights."""
        if not self.alpha_l1:
            return theta
        out = theta.copy()
        w = out[: self.n_weights]
        threshold = step * self.alpha_l1
        out[: self.n_weights] = np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)
        return out

    # -- step sizes -----------------------------------------------------------------------------
    @property
    def _curvature(self) -> float:
        # Hessian of the loss in z: σ(1-σ) ≤ 1/4; softmax's diag(p) - ppᵀ ≤ ½ I (Böhning 1992)
        return 0.25 if self.Y.ndim == 1 else 0.5

    def lipschitz(self) -> float:
        """An upper bound ``L`` on the Lipschitz constant of the smooth part's gradient.

        ``L = c·λ_max(X̃ᵀ diag(s) X̃ / S) + alpha_l2`` with ``X̃ = [X, 1]`` and c = 1/4 (two
        classes) or 1/2 (softmax). λ_max is exact (a d×d eigenproblem) up to 2000 features, and
        bounded by the trace above that. Gradient descent with step ``1/L`` decreases F at every
        step, so it cannot diverge.
        """
        if _is_lazy(self.X):
            top = _lazy_top(self.X, self.sample_weight, self.fit_intercept)
            return self._curvature * top * (1 + 1e-6) + self.alpha_l2
        gram = _weighted_gram(self.X, self.sample_weight, self.fit_intercept)
        if gram is None:
            top = _weighted_mean_row_norm(self.X, self.sample_weight, self.fit_intercept)
        else:
            top = float(np.linalg.eigvalsh(gram)[-1])
        return self._curvature * top * (1 + 1e-6) + self.alpha_l2

    def lipschitz_per_row(self) -> float:
        """``c·max_i ‖x̃_i‖² + alpha_l2``: bounds every mini-batch objective's ``L``."""
        norms = _row_norms_squared(self.X) + (1.0 if self.fit_intercept else 0.0)
        if self.sample_weight is not None:
            norms = norms[self.sample_weight > 0]
        top = float(norms.max()) if norms.size else 0.0
        return self._curvature * top * (1 + 1e-6) + self.alpha_l2


@functools.lru_cache(maxsize=8)
def _compiled_smooth(alpha_l2: float, fit_intercept: bool):
    """:func:`smooth_part` with the fused loss as a :func:`lograd.compile_grad` step, shared by
    every objective with these settings: partial_fit makes an objective per call, and a trace
    costs ~4 eager calls. X, Y and the weights are arguments, so one trace serves every batch
    of a shape. (Tests hold it to ``backward()`` bit for bit, hence ``check=False``.)"""
    smooth = functools.partial(smooth_part, fused_data_loss, alpha_l2)
    return compile_grad(smooth, (0, 1) if fit_intercept else (0,), check=False)


def smooth_part(loss_fn, alpha_l2, w, b, X, Y, weights=None):
    """Smooth part of F: the data term plus the L2 penalty, as one scalar Tensor."""
    loss = loss_fn(X, w, b, Y, weights)
    if alpha_l2:
        loss = loss + (0.5 * alpha_l2) * (w * w).sum()  # ½ α‖w‖²
    return loss


def _present(weights) -> tuple:
    """``(weights,)``, or no argument at all for None (a compiled step takes arrays only)."""
    return () if weights is None else (weights,)


def _is_lazy(X) -> bool:
    """A dask array: statistics of X are computed by dask, where its blocks live."""
    return type(X).__module__.startswith("dask.")


def _lazy_top(X, sample_weight, fit_intercept) -> float:
    """λ_max (or, above 2000 features, the trace) of ``X̃ᵀ diag(s) X̃ / S`` for a dask X.

    ``sample_weight`` is a dask array chunked like X's rows, or None (all ones, S = n).
    """
    import dask

    X64 = X.astype(np.float64)
    if sample_weight is None:
        weighted, total = X64, X.shape[0]
    else:
        s = sample_weight.astype(np.float64)
        weighted, total = X64 * s[:, None], s.sum()
    if X.shape[1] + int(fit_intercept) > _MAX_EXACT_GRAM:
        trace, total = dask.compute((weighted * X64).sum(), total)
        return float(trace) / float(total) + float(fit_intercept)
    gram, col, total = dask.compute(weighted.T @ X64, weighted.sum(axis=0), total)
    gram, col = np.asarray(gram) / float(total), np.asarray(col) / float(total)
    if fit_intercept:
        gram = np.block([[gram, col[:, None]], [col[None, :], np.ones((1, 1))]])
    return float(np.linalg.eigvalsh(gram)[-1])


def _row_norms_squared(X) -> np.ndarray:
    if sp.issparse(X):
        return np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()
    X64 = np.asarray(X, dtype=np.float64)
    return np.einsum("ij,ij->i", X64, X64)


def _weights64(X, sample_weight):
    n = X.shape[0]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    return s / s.sum()


def _weighted_gram(X, sample_weight, fit_intercept):
    """``X̃ᵀ diag(s/S) X̃`` in float64, or None when it would be too large."""
    d = X.shape[1] + int(fit_intercept)
    if d > _MAX_EXACT_GRAM:
        return None
    s = _weights64(X, sample_weight)
    root = np.sqrt(s)
    if sp.issparse(X):
        scaled = sp.csr_matrix(X.astype(np.float64).multiply(root[:, None]))
        gram = (scaled.T @ scaled).toarray()
        col = np.asarray(scaled.T @ root).ravel()  # X̃ᵀ diag(s) 1
    else:
        gram, col = np.zeros((X.shape[1], X.shape[1])), np.zeros(X.shape[1])
        for start in range(0, X.shape[0], _GRAM_BLOCK_ROWS):  # blocks: no copy of the whole X
            rows = slice(start, start + _GRAM_BLOCK_ROWS)
            scaled = np.asarray(X[rows], dtype=np.float64) * root[rows, None]
            gram += scaled.T @ scaled  # one operand twice: BLAS uses the symmetric product
            col += scaled.T @ root[rows]
    if fit_intercept:
        gram = np.block([[gram, col[:, None]], [col[None, :], np.ones((1, 1))]])
    return gram


def _weighted_mean_row_norm(X, sample_weight, fit_intercept) -> float:
    """``trace(X̃ᵀ diag(s/S) X̃)``, an upper bound on its largest eigenvalue."""
    norms = _row_norms_squared(X) + (1.0 if fit_intercept else 0.0)
    return float(norms @ _weights64(X, sample_weight))
