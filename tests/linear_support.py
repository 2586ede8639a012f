"""Logistic regression's objective and Dask data term, built as the estimator builds them."""

import numpy as np

from lograd.models.linear import Linear
from lograd.objective import Objective


def linear_model(X, Y, fit_intercept=True, fused=True) -> Linear:
    return Linear(X.shape[1], 1 if np.ndim(Y) == 1 else Y.shape[1], fit_intercept, fused)


def linear_objective(X, Y, sample_weight=None, *, fit_intercept=True, fused=True, **kwargs):
    """The objective of the linear model ``X w + b`` on (X, Y)."""
    return Objective(linear_model(X, Y, fit_intercept, fused), X, Y, sample_weight, **kwargs)


def dask_linear_loss(X, w, b, Y, sample_weight=None):
    """The linear model's data term on a dask X through the Dask backend's op."""
    from lograd.backends.dask import dask_data_term

    return dask_data_term(linear_model(X, Y), [w, b], X, Y, sample_weight)
