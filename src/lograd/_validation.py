"""Checks of the estimator's parameters and sample weights: one clear line naming the culprit."""

from __future__ import annotations

import numbers
import os

import numpy as np

from lograd.errors import UserError

PENALTIES = ("l2", "l1", "elasticnet", None)
SOLVERS = ("lbfgs", "gd", "sgd", "adam")
SCHEDULES = ("constant", "invscaling", "adaptive")
PROX_SOLVERS = ("gd", "sgd")  # solvers that take an L1 term by a proximal step


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _fail(name, value, expected):
    raise UserError(f"parameter {name}={value!r} is invalid: expected {expected}")


def check_params(est) -> None:
    """Validate the hyper-parameters of a :class:`lograd.LogisticRegression` before a fit."""
    if est.penalty not in PENALTIES:
        _fail("penalty", est.penalty, "one of 'l2', 'l1', 'elasticnet', None")
    if not _is_real(est.C) or not est.C > 0 or np.isnan(est.C):
        _fail("C", est.C, "a positive number (np.inf for no penalty)")
    if est.penalty == "elasticnet":
        if not _is_real(est.l1_ratio) or not 0 <= est.l1_ratio <= 1:
            _fail("l1_ratio", est.l1_ratio, "a number in [0, 1] with penalty='elasticnet'")
    if est.solver not in SOLVERS:
        _fail("solver", est.solver, f"one of {', '.join(map(repr, SOLVERS))}")
    uses_l1 = est.penalty == "l1" or (est.penalty == "elasticnet" and est.l1_ratio > 0)
    if uses_l1 and not np.isinf(est.C) and est.solver not in PROX_SOLVERS:
        raise UserError(
            f"solver={est.solver!r} cannot handle penalty={est.penalty!r} (an L1 term has no "
            "gradient at 0); use solver='gd' or 'sgd', which take proximal steps")
    lr = est.learning_rate
    if not (lr == "auto" or (_is_real(lr) and np.isfinite(lr) and lr > 0)):
        _fail("learning_rate", lr, "'auto' or a positive number")
    if est.lr_schedule not in SCHEDULES:
        _fail("lr_schedule", est.lr_schedule, f"one of {', '.join(map(repr, SCHEDULES))}")
    if not _is_int(est.max_iter) or est.max_iter < 1:
        _fail("max_iter", est.max_iter, "an integer >= 1")
    if not _is_real(est.tol) or not est.tol >= 0:
        _fail("tol", est.tol, "a number >= 0")
    if not (est.batch_size == "auto" or (_is_int(est.batch_size) and est.batch_size >= 1)):
        _fail("batch_size", est.batch_size, "'auto' or an integer >= 1")
    _check_momentum(est)
    if est.early_stopping and est.solver == "lbfgs":
        raise UserError("early_stopping=True needs solver 'gd', 'sgd' or 'adam', not 'lbfgs'")
    if not _is_real(est.validation_fraction) or not 0 < est.validation_fraction < 1:
        _fail("validation_fraction", est.validation_fraction, "a number in (0, 1)")
    if not _is_int(est.n_iter_no_change) or est.n_iter_no_change < 1:
        _fail("n_iter_no_change", est.n_iter_no_change, "an integer >= 1")
    if not isinstance(est.fused, (bool, np.bool_)):
        _fail("fused", est.fused, "True or False")
    _check_checkpoint(est)
    callbacks = est.callbacks
    if callbacks is not None and not callable(callbacks):
        if not isinstance(callbacks, (list, tuple)) or not all(map(callable, callbacks)):
            _fail("callbacks", callbacks, "a callable or a list of callables")


def _check_checkpoint(est) -> None:
    if est.checkpoint is not None and not isinstance(est.checkpoint, (str, os.PathLike)):
        _fail("checkpoint", est.checkpoint, "None or a directory path")
    if isinstance(est.checkpoint, str) and not est.checkpoint:
        _fail("checkpoint", est.checkpoint, "None or a directory path (not empty)")
    if not _is_int(est.checkpoint_every) or est.checkpoint_every < 1:
        _fail("checkpoint_every", est.checkpoint_every, "an integer >= 1")


def _check_momentum(est) -> None:
    momentum = est.momentum
    if momentum == "nesterov":
        if est.solver != "gd":
            _fail("momentum", momentum, "a number in [0, 1); 'nesterov' is for solver='gd'")
        return
    if not _is_real(momentum) or not 0 <= momentum < 1:
        _fail("momentum", momentum, "a number in [0, 1) or 'nesterov'")
    if momentum and est.solver not in ("gd", "sgd"):
        _fail("momentum", momentum, f"0 with solver={est.solver!r} (momentum is for gd/sgd)")


def as_callback_list(callbacks) -> list:
    if callbacks is None:
        return []
    return [callbacks] if callable(callbacks) else list(callbacks)


def check_sample_weight(sample_weight, n_samples, dtype):
    """Sample weights as an array of shape (n_samples,) in ``dtype``, or None.

    Raises UserError for a wrong shape, NaN/inf, negative weights, or an all-zero total.
    """
    if sample_weight is None:
        return None
    if _is_real(sample_weight):
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
