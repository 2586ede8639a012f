"""The objective a solver minimises: a model's data term plus its penalty, and the L1 prox.

For logistic regression this is scikit-learn's objective (``LogisticRegression``, version 1.9),
divided by ``C·S`` so that its size does not depend on the data set's size::

    F(w, b) = Σ_i s_i·loss_i / S  +  [ (1 - r)·½‖w‖²  +  r·‖w‖₁ ] / (C·S),     S = Σ_i s_i

with ``loss_i`` the log-loss of row i (sigmoid cross-entropy for two classes, softmax
cross-entropy for more), ``s_i`` the sample weights (times class weights), ``r`` the L1 ratio, and
the intercept ``b`` never penalized. scikit-learn minimises ``C·Σ_i s_i·loss_i + pen(w)``, which
is ``C·S·F``: the same minimiser. Any :class:`lograd.models.Model` fits the same frame: the
penalty applies to the parameters it marks as penalized.

Solvers see the objective only through :class:`Objective`'s ``loss_and_grad``, ``value`` and
``prox`` over the model's flat parameter vector ``theta`` (see :mod:`lograd.models.base`) in the
data's dtype. The objective holds its rows in memory; the Dask backend's objective
(:mod:`lograd.backends.dask`) computes the same data term over row blocks.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from lograd.autodiff.compile import compile_grad
from lograd.autodiff.engine import Tensor, no_grad

# Above this many parameters per class the Lipschitz bound uses the trace instead of λ_max.
MAX_EXACT_GRAM = 2000
_GRAM_BLOCK_ROWS = 8192


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
    """``F(theta)`` for one model and data set, its gradient by backpropagation, and the L1 prox.

    Parameters
    ----------
    model : lograd.models.Model
    X : ndarray or scipy.sparse CSR/CSC matrix, shape (n, d)
        Float32 or float64; the graph is computed in this dtype.
    Y : ndarray, shape (n,) of 0/1 or (n, k) one-hot, X's dtype
    sample_weight : ndarray of shape (n,), optional
    alpha_l2, alpha_l1 : float
        Penalty strengths on the model's penalized parameters (for logistic regression see
        :func:`penalty_strengths`, already divided by ``C·S``).
    compiled : bool, default True
        Run ``loss_and_grad`` as a program traced once by :func:`lograd.compile_grad` (one per
        batch shape): the same numbers as ``backward()``, without rebuilding the graph on every
        call.
    l2_per_batch : bool, default False
        Divide ``alpha_l2`` by the batch's total weight at every evaluation (scikit-learn's MLP:
        ``½ α ‖W‖² / S_batch``), instead of a penalty fixed for the data set.

    Notes
    -----
    ``batch`` arguments are row indices chosen by the training loop; the data term is then the
    batch's weighted mean, the penalty stays the full data set's.
    """

    def __init__(self, model, X, Y, sample_weight=None, *, alpha_l2=0.0, alpha_l1=0.0,
                 compiled=True, l2_per_batch=False):
        self.model, self.X, self.Y, self.sample_weight = model, X, Y, sample_weight
        self.alpha_l2, self.alpha_l1 = float(alpha_l2), float(alpha_l1)
        self.dtype = X.dtype
        self.n_params = model.n_params
        self._penalized = _penalized_slices(model)
        self.l2_per_batch = bool(l2_per_batch)
        self._compiled = None
        if compiled:
            self._compiled = _compiled_smooth(model, None if l2_per_batch else self.alpha_l2)

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    # -- parameters -----------------------------------------------------------------------------
    def zeros(self) -> np.ndarray:
        return self.model.zeros(self.dtype)

    def unpack(self, theta) -> list:
        """The model's parameter arrays (views into ``theta``)."""
        return self.model.unpack(theta)

    def pack(self, arrays) -> np.ndarray:
        return self.model.pack(arrays, self.dtype)

    # -- the graph ------------------------------------------------------------------------------
    def _batch(self, batch):
        if batch is None:
            return self.X, self.Y, self.sample_weight
        weights = None if self.sample_weight is None else self.sample_weight[batch]
        return self.X[batch], self.Y[batch], weights

    def _alpha_l2(self, X, weights):
        if not self.l2_per_batch:
            return self.alpha_l2
        total = X.shape[0] if weights is None else np.sum(weights, dtype=np.float64)
        return self.dtype.type(self.alpha_l2 / total)

    def data_term(self, params, X, Y, sample_weight=None):
        """The model's data term on these rows (the Dask backend's objective sums it over
        row blocks)."""
        return self.model.data_term(params, X, Y, sample_weight)

    def _l1(self, theta) -> float:
        if not self.alpha_l1:
            return 0.0
        return self.alpha_l1 * sum(float(np.abs(theta[part]).sum(dtype=np.float64))
                                   for part in self._penalized)

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
        arrays = self.unpack(theta)
        X, Y, weights = self._batch(batch)
        alpha = self._alpha_l2(X, weights)
        if self._compiled is not None:
            per_batch = (alpha,) if self.l2_per_batch else ()  # (an argument of the trace)
            loss, grads = self._compiled(*arrays, *per_batch, X, Y, *_present(weights))
        else:
            params = [Tensor(a, requires_grad=True) for a in arrays]
            loss = smooth_part(self.data_term, self.model, alpha, params, X, Y, weights)
            loss.backward()
            loss, grads = loss.data, [p.grad for p in params]
        flat = np.concatenate([np.reshape(g, -1) for g in grads])
        return float(loss) + self._l1(theta), flat

    def value(self, theta, batch=None) -> float:
        """``F(theta)`` by a forward pass only."""
        X, Y, weights = self._batch(batch)
        with no_grad():
            params = [Tensor(a) for a in self.unpack(theta)]
            loss = smooth_part(self.data_term, self.model, self._alpha_l2(X, weights), params,
                               X, Y, weights)
        return float(loss.item()) + self._l1(theta)

    def prox(self, theta, step) -> np.ndarray:
        """``argmin_u ½‖u - theta‖² + step·alpha_l1·‖u_penalized‖₁``: soft-thresholding of the
        penalized parameters."""
        if not self.alpha_l1:
            return theta
        out = theta.copy()
        threshold = step * self.alpha_l1
        for part in self._penalized:
            w = out[part]
            out[part] = np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)
        return out

    def graph(self, theta):
        """The smooth part of F at ``theta`` as training runs it, its leaves named (the model's
        parameters, X, Y and the weights S), after ``backward()``: the graph a report draws."""
        n, d = self.X.shape
        params = [Tensor(a, requires_grad=True, name=_label(p.name, p.shape))
                  for a, p in zip(self.unpack(theta), self.model.parameters)]
        X = Tensor(self.X, name=_label("X", (n, d)))
        Y = Tensor(self.Y, name=_label("y" if self.Y.ndim == 1 else "Y", self.Y.shape)
                   + ("" if self.Y.ndim == 1 else ", one-hot"))
        s = None if self.sample_weight is None else Tensor(self.sample_weight,
                                                            name=_label("S", (n,)))
        loss = smooth_part(self.data_term, self.model, self._alpha_l2(self.X, self.sample_weight),
                           params, X, Y, s)
        loss.backward()
        return loss

    # -- step sizes -----------------------------------------------------------------------------
    def lipschitz(self) -> float | None:
        """An upper bound ``L`` on the Lipschitz constant of the smooth part's gradient: the
        model's bound on the data term (None without one) plus ``alpha_l2``."""
        bound = self.model.lipschitz(self.gram_top)
        return None if bound is None else bound + self.alpha_l2

    def gram_top(self, with_intercept) -> float:
        """``λ_max(X̃ᵀ diag(s) X̃ / S)`` with ``X̃ = [X, 1]`` (or X): exact (a d×d eigenproblem) up
        to 2000 columns, bounded by the trace above that."""
        gram = _weighted_gram(self.X, self.sample_weight, with_intercept)
        if gram is None:
            return _weighted_mean_row_norm(self.X, self.sample_weight, with_intercept)
        return float(np.linalg.eigvalsh(gram)[-1])


def _label(name, shape) -> str:
    """A node's name with its shape, as drawings show it: "X (569×30)", "b"."""
    return f"{name} ({'×'.join(map(str, shape))})" if shape else name


def _penalized_slices(model) -> list:
    """The slices of theta that the penalty applies to, one per penalized parameter."""
    slices, start = [], 0
    for p in model.parameters:
        if p.penalized:
            slices.append(slice(start, start + p.size))
        start += p.size
    return slices


@functools.lru_cache(maxsize=8)
def _compiled_smooth(model, alpha_l2):
    """:func:`smooth_part` as a :func:`lograd.compile_grad` step, shared by every objective with
    this model and penalty: partial_fit makes an objective per call, and a trace costs ~4 eager
    calls. X, Y and the weights are arguments after the parameters, so one trace serves every
    batch of a shape; ``alpha_l2`` None makes the penalty an argument too, after the parameters
    (a per-batch penalty). (Tests hold it to ``backward()`` bit for bit, hence ``check=False``.)"""
    n = len(model.parameters)

    def smooth(*args):  # (*params, X, Y[, weights])
        return smooth_part(model.data_term, model, alpha_l2, args[:n], *args[n:])

    def smooth_per_batch(*args):  # (*params, alpha_l2, X, Y[, weights])
        return smooth_part(model.data_term, model, args[n], args[:n], *args[n + 1:])

    if alpha_l2 is None:
        return compile_grad(smooth_per_batch, tuple(range(n)), check=False)

    return compile_grad(smooth, tuple(range(n)), check=False)


def smooth_part(data_term, model, alpha_l2, params, X, Y, weights=None):
    """Smooth part of F: the data term plus the L2 penalty on the model's penalized parameters,
    as one scalar Tensor."""
    loss = data_term(params, X, Y, weights)
    if isinstance(alpha_l2, Tensor) or alpha_l2:  # (a Tensor: the trace's penalty argument)
        squares = None
        for p, spec in zip(params, model.parameters):
            if spec.penalized:
                term = (p * p).sum()
                squares = term if squares is None else squares + term
        loss = loss + (0.5 * alpha_l2) * squares  # ½ α Σ‖p‖² over the penalized parameters
    return loss


def _present(weights) -> tuple:
    """``(weights,)``, or no argument at all for None (a compiled step takes arrays only)."""
    return () if weights is None else (weights,)


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
    if d > MAX_EXACT_GRAM:
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
