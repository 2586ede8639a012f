"""Checks of the rows a fit is given, shared by the backends and the file readers: one clear
line naming the culprit."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from lograd.errors import UserError


def check_sample_weight(sample_weight, n_samples, dtype):
    """Sample weights as an array of shape (n_samples,) in ``dtype``, or None.

    Raises UserError for a wrong shape, NaN/inf, negative weights, or an all-zero total.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_samples, sample_weight)
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError("sample_weight must be numbers") from None
    if weights.shape != (n_samples,):
        raise UserError(f"sample_weight has shape {weights.shape}, expected ({n_samples},) "
                        "(one weight per row of X)")
    if not np.all(np.isfinite(weights)):
        raise UserError("sample_weight contains NaN or infinity")
    if np.any(weights < 0):
        raise UserError(f"sample_weight has a negative value at row {int(np.argmax(weights < 0))}")
    if not weights.sum() > 0:
        raise UserError("sample_weight sums to zero: at least one row needs a positive weight")
    return weights.astype(dtype, copy=False)


def first_overflowing_cell(X):
    """``(row, column)`` of the largest value in the first column whose sum of squares
    overflows X's dtype, or None.

    Training needs those sums (standardizing, the Lipschitz bound of 'gd', the curvature in
    every solver): one cell of 1e200 makes them infinite, and the fit NaN. X is an ndarray or a
    scipy.sparse matrix of floats without NaN/inf.
    """
    with np.errstate(over="ignore"):
        if sp.issparse(X):
            squares = np.asarray(X.multiply(X).sum(axis=0)).ravel()
        else:
            squares = np.einsum("ij,ij->j", X, X)  # (d,), accumulated in X's dtype
    bad = np.flatnonzero(~np.isfinite(squares))
    if not bad.size:
        return None
    column = int(bad[0])
    values = X[:, [column]].toarray().ravel() if sp.issparse(X) else X[:, column]
    return int(np.argmax(np.abs(values))), column
