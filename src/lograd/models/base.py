"""The model seam: what every model gives the objective, the backends and the estimators.

A model maps parameters and a batch of rows to logits. It declares its parameters (names,
shapes, which are penalized), and the flat vector ``theta`` the solvers see is their
concatenation in that order, each in C order::

    theta = [p_0.ravel(), p_1.ravel(), ...]          (p_i of shape parameters[i].shape)

The objective asks a model for its data term (the weighted mean cross-entropy of its logits,
as one scalar Tensor), a backend for the same sums over row blocks, and an estimator for the
logits it predicts with. A model never sees a solver, a backend or a file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lograd.autodiff.engine import Tensor
from lograd.models import targets


@dataclass(frozen=True)
class Parameter:
    """One parameter array of a model: its name, shape, and whether the L2/L1 penalty applies."""

    name: str
    shape: tuple
    penalized: bool = True

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class Model:
    """Parameters + a batch of rows -> logits. Subclasses set ``parameters`` and ``logits``.

    Attributes
    ----------
    parameters : tuple of Parameter
        In the order of ``theta``.
    """

    parameters: tuple = ()

    # -- the graph ------------------------------------------------------------------------------
    def logits(self, params, X):
        """Logits of the rows of X: a Tensor of shape (n,) for two classes, (n, k) for more.

        Parameters
        ----------
        params : sequence of Tensor or ndarray, one per :attr:`parameters`
        X : ndarray or scipy.sparse matrix of shape (n, d)
        """
        raise NotImplementedError

    def data_term(self, params, X, Y, sample_weight=None) -> Tensor:
        """``Σ_i s_i loss_i / Σ_i s_i``, the weighted mean cross-entropy of the logits."""
        return targets.mean_cross_entropy(self.logits(params, X), Y, sample_weight)

    def block_sums(self, arrays, X, Y, sample_weight=None):
        """What a backend adds up over row blocks: ``(Σ s_i loss_i, (Σ s_i ∂loss_i/∂p for each
        parameter p), Σ s_i)`` for the rows of one block, from the engine's backward pass."""
        params = [Tensor(a, requires_grad=True) for a in arrays]
        loss = self.data_term(params, X, Y, sample_weight)
        loss.backward()
        total = float(X.shape[0] if sample_weight is None
                      else np.sum(sample_weight, dtype=np.float64))
        grads = tuple(np.zeros_like(a) if p.grad is None else np.asarray(p.grad) * total
                      for a, p in zip(arrays, params))
        return float(loss.data) * total, grads, total

    def lipschitz(self, gram_top) -> float | None:
        """An upper bound on the Lipschitz constant of the data term's gradient, or None.

        ``gram_top(with_intercept)`` gives ``λ_max(X̃ᵀ diag(s/S) X̃)`` of the data (the backend
        computes it where the rows are); models without such a bound return None."""
        return None

    # -- theta ----------------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.parameters)

    def unpack(self, theta) -> list:
        """The parameter arrays, views into ``theta`` (shapes as :attr:`parameters`)."""
        arrays, start = [], 0
        for p in self.parameters:
            arrays.append(theta[start:start + p.size].reshape(p.shape))
            start += p.size
        return arrays

    def pack(self, arrays, dtype) -> np.ndarray:
        """``theta`` from one array per parameter (converted to ``dtype``)."""
        return np.concatenate([np.asarray(a, dtype=dtype).ravel() for a in arrays])

    def zeros(self, dtype) -> np.ndarray:
        return np.zeros(self.n_params, dtype=dtype)
