"""The linear model of logistic regression: ``z = X w + b``.

Its data term is one primitive by default, ``linear_logistic_loss`` (:mod:`lograd.losses`):
the loss and its gradient in a single pass over X. ``fused=False`` builds the same value from
plain engine ops (``X @ w + b`` -> cross-entropy -> weighted mean), the graph a student can
walk through. Both give the same numbers; the tests hold them to each other.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from lograd import losses
from lograd.models.base import Model, Parameter


@dataclass(frozen=True, eq=True)
class Linear(Model):
    """``z = X w + b``: w of shape (d,) for two classes, (d, k) for k > 2; b of shape () or (k,).

    Parameters
    ----------
    n_features : int
    n_outputs : int
        1 for two classes, else the number of classes.
    fit_intercept : bool, default True
        Without it, b is 0 and not a parameter.
    fused : bool, default True
        The data term as the one-pass primitive (else plain engine ops).
    """

    n_features: int
    n_outputs: int = 1
    fit_intercept: bool = True
    fused: bool = True

    @property
    def w_shape(self) -> tuple:
        return (self.n_features,) if self.n_outputs == 1 else (self.n_features, self.n_outputs)

    @property
    def b_shape(self) -> tuple:
        return () if self.n_outputs == 1 else (self.n_outputs,)

    @functools.cached_property  # (asked for at every step: built once)
    def parameters(self) -> tuple:
        w = Parameter("w", self.w_shape, penalized=True)
        return (w, Parameter("b", self.b_shape, penalized=False)) if self.fit_intercept else (w,)

    def weights(self, params, dtype):
        """``(w, b)`` from the parameters (b = 0 when the intercept is not fitted)."""
        if self.fit_intercept:
            return params[0], params[1]
        return params[0], np.zeros(self.b_shape, dtype=dtype)

    def logits(self, params, X):
        w, b = self.weights(params, X.dtype)
        return X @ w + b  # (n,) or (n, k)

    def data_term(self, params, X, Y, sample_weight=None):
        w, b = self.weights(params, X.dtype)
        loss = losses.fused_data_loss if self.fused else losses.unfused_data_loss
        return loss(X, w, b, Y, sample_weight)

    def block_sums(self, arrays, X, Y, sample_weight=None):
        """The fused kernel's pass over one block (see :func:`lograd.losses.block_sums`)."""
        w, b = self.weights(arrays, X.dtype)
        loss_sum, grad_w, grad_b, total = losses.block_sums(X, w, b, Y, sample_weight)
        return loss_sum, (grad_w, grad_b) if self.fit_intercept else (grad_w,), total

    def lipschitz(self, gram_top) -> float:
        """``c·λ_max(X̃ᵀ diag(s) X̃ / S)`` with ``X̃ = [X, 1]`` (with the intercept) and c = 1/4
        for two classes (σ(1-σ) ≤ 1/4), 1/2 for softmax (``diag(p) - ppᵀ ≤ ½ I``, Böhning
        1992): gradient descent with step ``1/L`` decreases the objective at every step."""
        curvature = 0.25 if self.n_outputs == 1 else 0.5
        return curvature * gram_top(self.fit_intercept) * (1 + 1e-6)

    # -- scikit-learn's layout ------------------------------------------------------------------
    def to_coef(self, arrays):
        """``coef_`` (1 or k, d) and ``intercept_`` (1 or k,) from the parameter arrays."""
        w, b = self.weights(arrays, arrays[0].dtype)
        if w.ndim == 1:
            return w[None, :], np.reshape(b, 1)
        return w.T, np.reshape(b, -1)

    def from_coef(self, coef, intercept) -> list:
        """The parameter arrays from ``coef_`` and ``intercept_``."""
        w = coef[0] if self.n_outputs == 1 else coef.T
        b = intercept[0] if self.n_outputs == 1 else intercept
        return [w, b] if self.fit_intercept else [w]
