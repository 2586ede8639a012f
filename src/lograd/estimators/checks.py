"""Checks of the estimator's parameters and sample weights: one clear line naming the culprit."""

from __future__ import annotations

import numbers
import os
import warnings

import numpy as np

from lograd.errors import UserError, shown

PENALTIES = ("auto", "l2", "l1", "elasticnet", None)
SOLVERS = ("lbfgs", "gd", "sgd", "adam")
SCHEDULES = ("constant", "invscaling", "adaptive")
PROX_SOLVERS = ("gd", "sgd")  # solvers that take an L1 term by a proximal step


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _fail(name, value, expected):
    raise UserError(f"parameter {name}={shown(value)} is invalid: expected {expected}")


def resolved_penalty(est):
    """The penalty a fit of ``est`` uses (``'auto'`` resolved, see
    :func:`lograd.objective.resolve_penalty`)."""
    from lograd.objective import resolve_penalty

    return resolve_penalty(est.penalty, est.C, est.l1_ratio)


def check_params(est) -> None:
    """Validate the hyper-parameters of a :class:`lograd.LogisticRegression` before a fit."""
    if est.penalty not in PENALTIES:
        _fail("penalty", est.penalty, "one of 'auto', 'l2', 'l1', 'elasticnet', None")
    if not _is_real(est.C) or not est.C > 0 or np.isnan(est.C):
        _fail("C", est.C, "a positive number (np.inf for no penalty)")
    if est.l1_ratio is not None and (not _is_real(est.l1_ratio)
                                     or not 0 <= est.l1_ratio <= 1):
        _fail("l1_ratio", est.l1_ratio, "None or a number in [0, 1]")
    if est.penalty == "elasticnet" and est.l1_ratio is None:
        _fail("l1_ratio", est.l1_ratio, "a number in [0, 1] with penalty='elasticnet'")
    if est.solver not in SOLVERS:
        _fail("solver", est.solver, f"one of {', '.join(map(repr, SOLVERS))}")
    penalty = resolved_penalty(est)
    uses_l1 = penalty == "l1" or (penalty == "elasticnet" and est.l1_ratio > 0)
    if uses_l1 and not np.isinf(est.C) and est.solver not in PROX_SOLVERS:
        chosen = (f"penalty={penalty!r}" if est.penalty != "auto"
                  else f"l1_ratio={shown(est.l1_ratio)}")
        raise UserError(
            f"solver={est.solver!r} cannot handle {chosen} (an L1 term, which has no gradient "
            "at 0); use solver='gd' or solver='sgd', which take proximal steps")
    _check_class_weight(est.class_weight)
    _check_sklearn_only(est)
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


def _check_class_weight(class_weight) -> None:
    if class_weight is None or class_weight == "balanced":
        return
    if not isinstance(class_weight, dict):
        _fail("class_weight", class_weight, "None, 'balanced' or a dict {label: weight}")
    for label, weight in class_weight.items():
        if not _is_real(weight) or not np.isfinite(weight) or weight < 0:
            raise UserError(f"parameter class_weight={{{shown(label)}: {shown(weight)}, ...}} is "
                            "invalid: expected a finite weight >= 0 for every class")


def _check_sklearn_only(est) -> None:
    """Parameters scikit-learn's LogisticRegression takes that have no effect here."""
    if est.n_jobs is not None and not _is_int(est.n_jobs):
        _fail("n_jobs", est.n_jobs, "None or an integer (it has no effect in lograd)")
    if not isinstance(est.dual, (bool, np.bool_)):
        _fail("dual", est.dual, "False")
    if est.dual:
        raise UserError("parameter dual=True is invalid: the dual formulation is only for "
                        "scikit-learn's 'liblinear' solver; lograd solves the primal problem "
                        "(dual=False)")
    scaling = est.intercept_scaling
    if not _is_real(scaling) or not 0 < scaling < np.inf:
        _fail("intercept_scaling", scaling, "a positive number (it has no effect in lograd)")


def warn_about_penalty(est) -> None:
    """scikit-learn 1.9's warnings about ``penalty``, ``l1_ratio`` and ``C`` that contradict
    each other, with its words (``sklearn/linear_model/_logistic.py``,
    ``LogisticRegression.fit``); lograd does what scikit-learn does in each case."""
    penalty, ratio = resolved_penalty(est), est.l1_ratio
    if penalty != "elasticnet" and ratio is not None and 0 < ratio < 1:
        warnings.warn("l1_ratio parameter is only used when penalty is 'elasticnet'. Got "
                      f"(penalty={penalty})", UserWarning, stacklevel=3)
    if ratio is not None and ((est.penalty == "l2" and ratio != 0)
                              or (est.penalty == "l1" and ratio != 1)):
        warnings.warn(f"Inconsistent values: penalty={est.penalty} with l1_ratio={ratio}. "
                      "l1_ratio is ignored; leave penalty at its default ('auto') to choose "
                      "the penalty from l1_ratio.", UserWarning, stacklevel=3)
    if est.penalty is None and est.C != 1.0:
        warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters",
                      UserWarning, stacklevel=3)


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
