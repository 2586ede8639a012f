"""Labels <-> targets, and logits -> the loss, probabilities and labels, once for every model.

Two classes are one logit per row, ``z`` of shape (n,), with the sigmoid cross-entropy; more
than two are ``k`` logits per row, shape (n, k), with the softmax cross-entropy.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logsumexp, softmax

from lograd.autodiff import ops
from lograd.autodiff.engine import Tensor


def encode(y, classes, dtype) -> np.ndarray:
    """0/1 targets of shape (n,) for two classes, one-hot rows (n, k) for more."""
    index = np.searchsorted(classes, y)
    if classes.size == 2:
        return index.astype(dtype)
    return np.eye(classes.size, dtype=dtype)[index]


def n_outputs(n_classes: int) -> int:
    """Logits per row: 1 for two classes, one per class for more."""
    return 1 if n_classes == 2 else n_classes


def mean_cross_entropy(z, Y, sample_weight=None):
    """``Σ_i s_i loss_i / Σ_i s_i`` of the logits ``z`` (a Tensor), as engine ops.

    Parameters
    ----------
    z : Tensor of shape (n,) or (n, k)
    Y : ndarray of shape (n,) (0/1) or (n, k) (one-hot rows or probabilities)
    sample_weight : ndarray of shape (n,), optional
    """
    # (Y and the weights may be Tensors: the arguments of a compiled step, never read here)
    if not isinstance(Y, Tensor):
        Y = np.asarray(Y, dtype=z.dtype)
    if Y.ndim == 1:
        per_example = ops.sigmoid_cross_entropy(z, Y)
    else:
        per_example = ops.softmax_cross_entropy(z, Y)
    if sample_weight is None:
        return per_example.mean()
    total = sample_weight.sum() if isinstance(sample_weight, Tensor) else np.sum(sample_weight)
    return (per_example * sample_weight).sum() / total


def labels(scores, classes) -> np.ndarray:
    """The most probable class of each row of logits, shape (n,)."""
    index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
    return classes[index]


def probabilities(scores) -> np.ndarray:
    """Class probabilities (n, n_classes): ``[σ(-z), σ(z)]`` or softmax, finite for any z."""
    if scores.ndim == 1:
        return np.column_stack([expit(-scores), expit(scores)])
    return softmax(scores, axis=1)


def log_probabilities(scores) -> np.ndarray:
    """Log of :func:`probabilities`, computed stably."""
    if scores.ndim == 1:  # log σ(z) = -log(1 + e^{-z})
        return np.column_stack([-np.logaddexp(0, scores), -np.logaddexp(0, -scores)])
    return scores - logsumexp(scores, axis=1, keepdims=True)
