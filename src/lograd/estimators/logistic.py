"""``lograd.LogisticRegression``: a scikit-learn classifier trained by backpropagation.

The estimator turns data into an :class:`~lograd.objective.Objective`, hands it to a solver
through the training loop, and stores the result in scikit-learn's fitted attributes. It never
computes a gradient itself: every gradient comes from ``Tensor.backward()`` in the objective.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, logsumexp
from scipy.special import softmax as _softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from lograd import solvers
from lograd.errors import UserError, shown
from lograd.estimators.checks import (
    as_callback_list,
    check_params,
    check_sample_weight,
    first_overflowing_cell,
    resolved_penalty,
    warn_about_penalty,
)
from lograd.losses import DATA_LOSSES
from lograd.objective import Objective, penalty_strengths
from lograd.training import TrainingDiverged, TrainingResult, fit_iterative, fit_lbfgs

_ACCEPT_SPARSE = ("csr", "csc")
_FLOATS = (np.float64, np.float32)
_ADAM_DEFAULT_RATE = 0.05
_STOCHASTIC = ("sgd", "adam")


def _has_stepwise_solver(est) -> bool:
    return est.solver in ("gd", "sgd", "adam")


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression trained by gradient descent on a computation graph.

    Minimises scikit-learn's objective, divided by ``C·S`` (the same minimiser)::

        F(w, b) = Σ_i s_i·loss_i / S + [(1 - r)·½‖w‖² + r·‖w‖₁] / (C·S),   S = Σ_i s_i

    where ``loss_i`` is the log-loss of row i (sigmoid for two classes, softmax for more),
    ``s_i`` the sample weight times the class weight, ``r`` = 0 for 'l2', 1 for 'l1', ``l1_ratio``
    for 'elasticnet'; the intercept is not penalized. Gradients come from ``backward()``.

    Parameters
    ----------
    penalty : {'auto', 'l2', 'l1', 'elasticnet', None}, default='auto'
        'auto' chooses the penalty from ``l1_ratio`` and ``C`` as scikit-learn 1.9 does: 'l2'
        (``l1_ratio`` None or 0), 'l1' (``l1_ratio=1``), 'elasticnet' (in between), none for
        ``C=np.inf``. L1 and elastic-net need ``solver='gd'`` or ``'sgd'`` (proximal steps).
        Contradicting settings (``penalty='l2'`` with ``l1_ratio=0.5``, ``penalty=None`` with
        ``C=10``) warn with scikit-learn's words and do what scikit-learn does: ``penalty``
        wins.
    C : float, default=1.0
        Inverse penalty strength, as in scikit-learn; ``np.inf`` means no penalty.
    l1_ratio : float in [0, 1] or None, default=None
        The L1 share of the penalty: with ``penalty='auto'`` it chooses the penalty (1 alone is
        the L1 fit); required with ``penalty='elasticnet'``.
    fit_intercept : bool, default=True
    solver : {'lbfgs', 'gd', 'sgd', 'adam'}, default='lbfgs'
        'lbfgs': SciPy's L-BFGS-B, fast and tolerance-tight (L2 or no penalty).
        'gd': full-batch gradient descent, the lecture's algorithm (see ``momentum``).
        'sgd': shuffled mini-batches of ``batch_size``, one epoch per iteration.
        'adam': Adam on mini-batches (L2 or no penalty).
    learning_rate : float or 'auto', default='auto'
        Step size. 'auto' is ``1/L`` for 'gd', with ``L`` a bound on the Lipschitz constant of
        the gradient computed from the data, which cannot diverge; the same ``1/L`` for 'sgd' (a
        mini-batch's own ``L`` may be larger, but the log-loss gradient is bounded, so the
        iterates cannot blow up); 0.05 for 'adam'. Unused by 'lbfgs'.
    lr_schedule : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning rate per epoch for 'gd', 'sgd', 'adam': constant; ``η₀/√t`` at iteration t;
        or divided by 5 whenever ``n_iter_no_change`` iterations fail to lower the objective by
        ``tol`` (training stops once it falls below 1e-6), as in scikit-learn's MLP.
    max_iter : int, default=100
        Most iterations: steps for 'gd', epochs for 'sgd'/'adam', iterations for 'lbfgs'.
    tol : float, default=1e-4
        Stopping rule. 'lbfgs' and 'gd': stop when the largest absolute entry of the gradient
        (for 'gd' with an L1 term, the proximal gradient ``(θ - prox(θ - η∇f))/η``) is at most
        ``tol``. 'sgd'/'adam': stop when the objective has not fallen below its best value minus
        ``tol`` for ``n_iter_no_change`` consecutive epochs. ``tol=0`` with 'gd' runs exactly
        ``max_iter`` steps, without a ConvergenceWarning.
    batch_size : int or 'auto', default='auto'
        Mini-batch size for 'sgd'/'adam'; 'auto' is ``min(200, n_samples)``.
    momentum : float in [0, 1) or 'nesterov', default=0.0
        Heavy-ball momentum for 'gd'/'sgd'. 'nesterov' (gd only): Nesterov's accelerated
        gradient with adaptive restart, much faster on ill-conditioned data.
    class_weight : dict, 'balanced' or None, default=None
        Multiplies the sample weights, as in scikit-learn.
    random_state : int, RandomState or None, default=None
        Seeds the epoch shuffles and the validation split; fixed means reproducible.
    warm_start : bool, default=False
        Start ``fit`` from the previous ``coef_``/``intercept_`` (when classes and features match).
    verbose : int, default=0
        Print loss, gradient norm and step at every iteration when > 0.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified), score accuracy after each
        iteration, stop when it has not risen by ``tol`` for ``n_iter_no_change`` iterations and
        keep the best-scoring parameters ('gd', 'sgd', 'adam').
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    callbacks : callable or list of callables, default=None
        Each called once per iteration as ``cb(info)``, ``info`` a dict with ``iteration``,
        ``loss``, ``grad_norm``, ``step``, ``max_iter``, ``coef``, ``intercept`` (copies) and
        ``validation_score`` with early stopping. Returning True stops the fit.
    fused : bool, default=True
        Compute the data term with the fused one-pass kernel
        (:func:`lograd.losses.fused_data_loss`); False builds it from plain engine ops
        (:func:`lograd.losses.unfused_data_loss`). Both give the same loss and gradient.
    checkpoint : str or path-like, default=None
        A directory where ``fit`` keeps the whole training state (parameters, solver state,
        history, random state), written atomically every ``checkpoint_every`` iterations, when a
        callback stops the fit, and at the end. A ``fit`` that finds there the checkpoint of
        the same fit (same data and parameters, ``verbose``, ``callbacks`` and ``checkpoint*``
        aside) resumes from it: for 'gd', 'sgd' and 'adam' with results bit-identical to an
        uninterrupted fit; for 'lbfgs' by restarting L-BFGS from the saved parameters (the same
        optimum to ``tol``, not bit-identical). A finished fit's checkpoint is reused without
        training. The checkpoint of a different fit raises a UserError and is left untouched.
        ``partial_fit`` ignores this. See :mod:`lograd.files.checkpoints`.
    checkpoint_every : int, default=10
        Iterations (epochs for 'sgd'/'adam') between checkpoints.
    dual : bool, default=False
        Accepted for scikit-learn compatibility; only False (lograd solves the primal problem).
    intercept_scaling : float > 0, default=1
        Accepted for scikit-learn compatibility; no effect (it is liblinear's device for
        penalizing the intercept, which lograd never penalizes).
    n_jobs : int or None, default=None
        Accepted for scikit-learn compatibility; no effect (the fused kernel chooses its own
        threads; scikit-learn 1.8 ignores it too).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,), int32
        Iterations run (updates for 'gd', epochs for 'sgd'/'adam'), as scikit-learn stores it.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only for inputs with string column names (pandas).
    loss_curve_ : list of float
        ``loss_curve_[k]``: the objective F after k iterations; ``loss_curve_[0]`` is at the
        initial parameters, ``loss_curve_[-1]`` at the returned ones (on the training part when
        early stopping holds out rows).
    validation_scores_ : list of float or None
        Validation accuracy after every iteration, with ``early_stopping``.
    learning_rate_ : float or None
        The step size used last (None for 'lbfgs').

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from lograd import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> LogisticRegression(max_iter=500).fit(X, y).predict(X[:3])
    array([0, 0, 0])
    """

    def __init__(self, penalty="auto", *, C=1.0, l1_ratio=None, fit_intercept=True,
                 solver="lbfgs", learning_rate="auto", lr_schedule="constant", max_iter=100,
                 tol=1e-4, batch_size="auto", momentum=0.0, class_weight=None,
                 random_state=None, warm_start=False, verbose=0, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, callbacks=None, fused=True,
                 checkpoint=None, checkpoint_every=10, dual=False, intercept_scaling=1,
                 n_jobs=None):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.momentum = momentum
        self.class_weight = class_weight
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.fused = fused
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.dual = dual
        self.intercept_scaling = intercept_scaling
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, coef_init=None, intercept_init=None):
        """Fit the model by minimising the objective with ``solver``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array or DataFrame} of shape (n_samples, n_features)
            Float32 data is computed in float32; C-contiguous float arrays are not copied.
            Dask input stays in its row blocks, where every full-data loss and gradient is
            computed (see :mod:`lograd.backends.dask`): a float32/float64 ``dask.array`` with
            known row chunks, or a ``dask.dataframe`` of numeric columns (float64, or float32 if
            all are; its column names become ``feature_names_in_``). 'sgd'/'adam' run each
            epoch over the blocks in a random order, each block's mini-batches where it lives;
            early stopping holds out rows per block (stratified within each block).
        y : array-like, dask array or Series of shape (n_samples,)
            Labels of any kind (ints, strings, bools), at least two distinct.
        sample_weight : array-like, dask array or Series of shape (n_samples,), optional
        coef_init : ndarray of shape (n_classes or 1, n_features), optional
            Initial coefficients (default zeros, or the previous ones with ``warm_start``).
        intercept_init : ndarray of shape (n_classes or 1,), optional

        Returns
        -------
        self

        Raises
        ------
        lograd.errors.UserError
            Bad parameters, labels, weights, or a value so large that the squares of its column
            overflow (training needs them).
        lograd.errors.DivergenceError
            When the fit produced no usable model: the objective became NaN/inf or exploded,
            or ended no lower than where it started (unless it started at a minimum or a
            callback stopped it), or
            L-BFGS aborted without lowering it. The best parameters seen are kept in
            ``coef_``/``intercept_`` (``exc.result`` holds the history) and the message says
            what to change (usually the learning rate). scikit-learn users expect ``fit`` to
            raise on an unusable result, so this is an error, not a ConvergenceWarning.
        """
        check_params(self)
        warn_about_penalty(self)
        for name in ("_partial_solver", "_partial_rate", "_partial_epochs"):
            self.__dict__.pop(name, None)  # a later partial_fit starts a fresh solver
        warm = self.warm_start and hasattr(self, "coef_")
        previous = (self.classes_, self.coef_, self.intercept_) if warm else None
        if _is_dask(X):
            return self._fit_dask(X, y, sample_weight, coef_init, intercept_init, previous)
        X, y = validate_data(self, X, y, accept_sparse=_ACCEPT_SPARSE, dtype=_FLOATS)
        self._check_magnitude(X)
        check_classification_targets(y)
        self.classes_ = _classes(y)
        weights = self._sample_weight(X, y, sample_weight)
        rng = check_random_state(self.random_state)
        X_fit, y_fit, w_fit, validation = self._validation_split(X, y, weights, rng)
        objective = self._objective(X_fit, y_fit, w_fit)
        theta0 = self._initial_theta(objective, coef_init, intercept_init, previous)
        self._train(objective, theta0, rng, validation)
        return self

    def _fit_dask(self, X, y, sample_weight, coef_init, intercept_init, previous):
        """``fit`` on dask input: the data stays in its blocks (see :mod:`lograd.backends.dask`)."""
        from lograd.backends import dask as lograd_dask

        X, y = self._dask_input(X, y, reset=True)
        self.classes_ = _classes(lograd_dask.checked_labels(X, y))
        weights = lograd_dask.sample_weights(X, y, self.classes_, sample_weight,
                                             self.class_weight)
        rng = check_random_state(self.random_state)
        validation = None
        if self.early_stopping:
            (X, y, weights), validation = lograd_dask.holdout(
                X, y, weights, self.classes_, self.validation_fraction, rng)
        objective = self._dask_objective(X, y, weights)
        theta0 = self._initial_theta(objective, coef_init, intercept_init, previous)
        self._train(objective, theta0, rng, validation)
        return self

    def _partial_fit_dask(self, X, y, classes, sample_weight, first):
        """``partial_fit`` on dask input: one epoch over the blocks ('gd': one step)."""
        from lograd.backends import dask as lograd_dask

        X, y = self._dask_input(X, y, reset=first)
        _set_partial_classes(self, classes, lograd_dask.checked_labels(X, y), first)
        weights = lograd_dask.sample_weights(X, y, self.classes_, sample_weight,
                                             self.class_weight)
        objective = self._dask_objective(X, y, weights)
        theta0 = objective.zeros() if first else objective.pack(*self._coef_to_wb())
        self._train(objective, theta0, check_random_state(self.random_state), None, partial=True)
        return self

    def _dask_input(self, X, y, reset):
        """Dask ``(X, y)`` as arrays cut alike; sets or checks the features seen by fit."""
        from lograd.backends import dask as lograd_dask

        X, y, names = lograd_dask.check_fit_data(X, y)
        if reset:
            self.n_features_in_ = X.shape[1]
            self.__dict__.pop("feature_names_in_", None)
            if names is not None:
                self.feature_names_in_ = names
        else:
            lograd_dask.check_n_features(X, self.n_features_in_)
            lograd_dask.check_feature_names(names, getattr(self, "feature_names_in_", None))
        return X, y

    def _dask_objective(self, X, y, weights):
        from lograd.backends import dask as lograd_dask

        return lograd_dask.make_objective(
            X, y, weights, self.classes_, _encode, penalty=resolved_penalty(self), C=self.C,
            l1_ratio=self.l1_ratio, fit_intercept=self.fit_intercept)

    @available_if(_has_stepwise_solver)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of the solver on the chunk ``(X, y)`` ('gd': one full-batch step).

        Each call minimises the objective ``fit`` would minimise on this chunk alone (its
        penalty scaled by the chunk's total weight), continuing from the current parameters and
        the solver's state (momentum, Adam moments, the smallest 'auto' step seen). Over ``m``
        equal chunks of a data set this is, on average, ``fit``'s objective on the whole data
        with ``C/m``: pass ``C·m`` to reach the optimum of ``fit(C)``. Each call counts as one
        epoch for ``lr_schedule``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array or DataFrame} of shape (n_samples, n_features)
            A dask X: one epoch over its blocks (as in ``fit``).
        y : array-like, dask array or Series of shape (n_samples,)
        classes : array-like of shape (n_classes,)
            Every label that will ever be seen; required on the first call.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        check_params(self)
        warn_about_penalty(self)
        first = not hasattr(self, "coef_")
        if first and classes is None:
            raise UserError("partial_fit needs classes=[...] (every label) on its first call")
        if _is_dask(X):
            return self._partial_fit_dask(X, y, classes, sample_weight, first)
        X, y = validate_data(self, X, y, accept_sparse=_ACCEPT_SPARSE, dtype=_FLOATS,
                             reset=first)
        self._check_magnitude(X)
        check_classification_targets(y)
        _set_partial_classes(self, classes, y, first)
        weights = self._sample_weight(X, y, sample_weight)
        objective = self._objective(X, y, weights)
        theta0 = objective.zeros() if first else objective.pack(*self._coef_to_wb())
        self._train(objective, theta0, check_random_state(self.random_state), None, partial=True)
        return self

    def _check_magnitude(self, X):
        cell = first_overflowing_cell(X)
        if cell is None:
            return
        row, column = cell
        names = getattr(self, "feature_names_in_", None)
        where = f"column {names[column]!r}" if names is not None else f"column {column}"
        raise UserError(f"X has {float(X[row, column]):g} at row {row}, {where}: too large to "
                        f"train on (the squares of the column overflow {X.dtype}); scale or fix "
                        "it")

    def _sample_weight(self, X, y, sample_weight):
        weights = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        if self.class_weight is None:
            return weights
        per_class = compute_class_weight(self.class_weight, classes=self.classes_, y=y,
                                         sample_weight=weights)
        class_of_row = np.searchsorted(self.classes_, y)
        scaled = per_class[class_of_row] * (1.0 if weights is None else weights)
        if not scaled.sum() > 0:
            raise UserError("class_weight gives every row weight 0: at least one class present "
                            "in y needs a positive weight")
        return scaled.astype(X.dtype)

    def _validation_split(self, X, y, weights, rng):
        if not self.early_stopping:
            return X, y, weights, None
        rows = np.arange(X.shape[0])
        try:
            train, test = train_test_split(rows, test_size=self.validation_fraction,
                                           random_state=rng, stratify=y)
        except ValueError as exc:
            raise UserError(f"early_stopping cannot hold out validation_fraction="
                            f"{self.validation_fraction} of {X.shape[0]} rows: {exc}") from None
        w = None if weights is None else weights[train]
        return X[train], y[train], w, (X[test], y[test])

    def _objective(self, X, y, weights) -> Objective:
        if self.solver in _STOCHASTIC and sp.issparse(X) and X.format == "csc":
            X = X.tocsr()  # mini-batches take rows: CSC row slicing would scan every column
        target = _encode(y, self.classes_, X.dtype)
        total = float(X.shape[0] if weights is None else weights.sum(dtype=np.float64))
        alpha_l2, alpha_l1 = penalty_strengths(self.penalty, self.C, self.l1_ratio,
                                               total)
        if not np.isfinite(alpha_l2 + alpha_l1):  # 1/(C·S) overflows
            raise UserError(f"parameter C={shown(self.C)} is invalid: so small that the penalty "
                            f"1/(C·{total:g}) overflows; pass C=1e-300 or more")
        loss_fn = DATA_LOSSES["fused" if self.fused else "unfused"]
        return Objective(X, target, weights, alpha_l2=alpha_l2, alpha_l1=alpha_l1,
                         fit_intercept=self.fit_intercept, loss_fn=loss_fn)

    def _initial_theta(self, objective, coef_init, intercept_init, previous):
        n_out = 1 if len(self.classes_) == 2 else len(self.classes_)
        coef = np.zeros((n_out, self.n_features_in_))
        intercept = np.zeros(n_out)
        if previous is not None:
            classes, prev_coef, prev_intercept = previous
            if np.array_equal(classes, self.classes_) and prev_coef.shape == coef.shape:
                coef, intercept = prev_coef, prev_intercept
        if coef_init is not None:
            coef = _check_init("coef_init", coef_init, coef.shape)
        if intercept_init is not None:
            intercept = _check_init("intercept_init", intercept_init, intercept.shape)
        w = coef[0] if n_out == 1 else coef.T
        return objective.pack(w, intercept[0] if n_out == 1 else intercept)

    def _train(self, objective, theta0, rng, validation, partial=False):
        callbacks = as_callback_list(self.callbacks)
        describe = self._describer(objective) if callbacks else (lambda theta: {})
        # BLAS threads spinning after scipy's small vector ops slow the next kernel call ~2x;
        # the heavy work is the fused kernel's own threads, so BLAS runs single-threaded here.
        with threadpool_limits(1, user_api="blas"):
            self._run_solver(objective, theta0, rng, validation, partial, callbacks, describe)

    def _run_solver(self, objective, theta0, rng, validation, partial, callbacks, describe):
        store = None if partial else self._checkpoint_store(objective, theta0, validation)
        resume = None if store is None else store.load()
        if resume is not None and self.verbose:
            print(f"resuming from {self.checkpoint} at iteration {resume['iteration']}",
                  flush=True)
        save = None if store is None else store.save
        try:
            if resume is not None and resume["complete"]:  # finished: nothing left to train
                result = TrainingResult.from_state(resume["result"])
            elif self.solver == "lbfgs":
                result = fit_lbfgs(objective, theta0, max_iter=self.max_iter, tol=self.tol,
                                   callbacks=callbacks, verbose=self.verbose, describe=describe,
                                   checkpoint=save, checkpoint_every=self.checkpoint_every,
                                   resume=resume)
            else:
                result = self._fit_stepwise(objective, theta0, rng, validation, partial,
                                            callbacks, describe, store, resume)
        except TrainingDiverged as exc:
            self._store(objective, exc.result, partial)
            raise
        self._store(objective, result, partial)
        if not result.converged and self.tol > 0 and not partial:
            warnings.warn(self._convergence_message(result), ConvergenceWarning, stacklevel=4)

    def _checkpoint_store(self, objective, theta0, validation):
        """The :class:`lograd.files.checkpoints.Checkpoint` of this fit, or None without one."""
        if self.checkpoint is None:
            return None
        from lograd.files import checkpoints

        fit = checkpoints.fit_fingerprint(self.get_params(deep=False), self.classes_, objective.X,
                                         objective.Y, objective.sample_weight, theta0, validation)
        return checkpoints.Checkpoint(self.checkpoint, fit)

    def _fit_stepwise(self, objective, theta0, rng, validation, partial, callbacks, describe,
                      store=None, resume=None):
        solver = self._solver(objective, partial, resume)
        batches = None
        if self.solver in _STOCHASTIC:
            if resume is not None:  # the shuffles go on as the interrupted fit's would have
                from lograd.files.checkpoints import restored_rng

                rng = restored_rng(resume["rng"])
            if store is not None:
                store.rng = rng
            solver, batches = _epochs(objective, solver, self.batch_size, rng)
        score = None if validation is None else _validation_scorer(objective, *validation,
                                                                    self.classes_)
        schedule = self.lr_schedule
        if partial:  # the schedule advances one epoch per call
            self._partial_epochs = getattr(self, "_partial_epochs", 0) + 1
            if schedule == "invscaling":
                solver.learning_rate = self._partial_rate / self._partial_epochs ** 0.5
            schedule = "constant"
        return fit_iterative(
            objective, solver, theta0, max_iter=1 if partial else self.max_iter, tol=self.tol,
            batches=batches, stop_rule="gradient" if batches is None else "loss",
            n_iter_no_change=self.n_iter_no_change, schedule=schedule,
            validation_score=score, callbacks=callbacks, verbose=self.verbose,
            describe=describe, checkpoint=None if store is None else store.save,
            checkpoint_every=self.checkpoint_every, resume=resume, require_progress=not partial)

    def _solver(self, objective, partial, resume=None):
        if resume is not None:  # the checkpoint holds the rate: skip computing 'auto' again
            rate = resume["solver"]["learning_rate"]
        else:
            rate = self._learning_rate(objective)
        if partial and hasattr(self, "_partial_solver"):
            self._partial_rate = min(self._partial_rate, rate)
            self._partial_solver.learning_rate = self._partial_rate
            return self._partial_solver
        if self.solver == "adam":
            solver = solvers.Adam(rate)
        elif self.momentum == "nesterov":
            solver = solvers.AcceleratedGradient(rate)
        else:
            solver = solvers.GradientDescent(rate, self.momentum)
        if partial:
            self._partial_solver, self._partial_rate = solver, rate
        return solver

    def _learning_rate(self, objective) -> float:
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        if self.solver == "adam":
            return _ADAM_DEFAULT_RATE
        return 1.0 / objective.lipschitz()

    def _describer(self, objective):
        def describe(theta):
            coef, intercept = _wb_to_coef(*objective.unpack(theta))
            return {"coef": coef.copy(), "intercept": intercept.copy()}
        return describe

    def _store(self, objective, result, partial):
        coef, intercept = _wb_to_coef(*objective.unpack(result.theta))
        self.coef_, self.intercept_ = coef.copy(), intercept.copy()
        if partial and hasattr(self, "loss_curve_") and getattr(self, "_partial_started", False):
            self.loss_curve_ = self.loss_curve_ + result.loss_curve[1:]
            self.n_iter_ += result.n_iter
        else:  # an array of shape (1,), as scikit-learn's LogisticRegression keeps it
            self.loss_curve_ = list(result.loss_curve)
            self.n_iter_ = np.array([result.n_iter], dtype=np.int32)
        self._partial_started = partial
        self.validation_scores_ = result.validation_scores
        self.learning_rate_ = result.learning_rate

    def _convergence_message(self, result) -> str:
        rate = "" if self.solver == "lbfgs" else f", learning_rate={result.learning_rate:.4g}"
        hint = ("try another solver" if self.solver == "lbfgs"
                else "change learning_rate or momentum='nesterov'" if self.solver == "gd"
                else "change learning_rate or lr_schedule")
        what = (f"did not converge in max_iter={self.max_iter} iterations (tol={self.tol})"
                if result.stopped_by == "max_iter"
                else f"stopped before reaching tol={self.tol} ({result.message})")
        return (f"lograd LogisticRegression(solver={self.solver!r}{rate}) {what}: scale the "
                f"data (e.g. sklearn.preprocessing.StandardScaler), raise max_iter, or {hint}")

    def _coef_to_wb(self):
        n_out = self.coef_.shape[0]
        if n_out == 1:
            return self.coef_[0], self.intercept_[0]
        return self.coef_.T, self.intercept_

    # -- predicting -----------------------------------------------------------------------------
    def decision_function(self, X):
        """Logits ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array or DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) for two classes (the positive class's logit), else
        (n_samples, n_classes); a lazy dask array for a dask X (likewise ``predict``,
        ``predict_proba`` and ``predict_log_proba``).
        """
        check_is_fitted(self)
        if _is_dask(X):  # a lazy dask array, computed block by block
            from lograd.backends import dask as lograd_dask

            X = lograd_dask.check_predict_data(X, self.n_features_in_,
                                               getattr(self, "feature_names_in_", None))
            return lograd_dask.lazy_decision_function(X, self.coef_, self.intercept_)
        X = validate_data(self, X, accept_sparse=_ACCEPT_SPARSE, dtype=_FLOATS, reset=False)
        scores = np.asarray(X @ self.coef_.T) + self.intercept_  # (n, 1) or (n, k)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Most probable class of each row, shape (n_samples,)."""
        scores = self.decision_function(X)
        if _is_dask(scores):
            from lograd.backends.dask import lazy_predict

            return lazy_predict(scores, self.classes_)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order.

        Sigmoid for two classes (``[σ(-z), σ(z)]``), softmax for more: finite and summing to
        one for any logits.
        """
        scores = self.decision_function(X)
        if _is_dask(scores):
            from lograd.backends.dask import lazy_predict_proba

            return lazy_predict_proba(scores)
        if scores.ndim == 1:
            return np.column_stack([expit(-scores), expit(scores)])
        return _softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed stably: shape (n_samples, n_classes)."""
        scores = self.decision_function(X)
        if _is_dask(scores):
            from lograd.backends.dask import lazy_predict_proba

            return lazy_predict_proba(scores, log=True)
        if scores.ndim == 1:  # log σ(z) = -log(1 + e^{-z})
            return np.column_stack([-np.logaddexp(0, scores), -np.logaddexp(0, -scores)])
        return scores - logsumexp(scores, axis=1, keepdims=True)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``).

        For a dask X (array or DataFrame) it is computed where the rows live, in one dask
        computation: neither X nor the predictions come to the client.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array or DataFrame} of shape (n_samples, n_features)
        y : array-like, dask array or Series of shape (n_samples,)
        sample_weight : array-like, dask array or Series of shape (n_samples,), optional

        Returns
        -------
        float
        """
        if not _is_dask(X):
            return super().score(X, y, sample_weight)
        from lograd.backends.dask import accuracy

        return accuracy(self.predict(X), y, sample_weight)


# -- helpers --------------------------------------------------------------------------------------
def _is_dask(X) -> bool:
    """A dask collection: array, DataFrame, Series (checked without importing dask, an optional
    dependency)."""
    return type(X).__module__.split(".")[0] == "dask"


def _set_partial_classes(est, classes, labels, first):
    """``classes_`` from partial_fit's ``classes`` (first call) or checked against them; every
    label of ``labels`` must be one of them."""
    if first:
        est.classes_ = _classes(np.asarray(classes))
    elif classes is not None and not np.array_equal(_classes(np.asarray(classes)),
                                                    est.classes_):
        raise UserError(f"classes={np.asarray(classes).tolist()} differ from the first "
                        f"call's {est.classes_.tolist()}")
    unknown = np.setdiff1d(labels, est.classes_)
    if unknown.size:
        raise UserError(f"y has labels {unknown.tolist()} not in classes "
                        f"{est.classes_.tolist()}")


def _classes(y) -> np.ndarray:
    classes = np.unique(y)
    if classes.size < 2:
        raise UserError("y needs samples of at least 2 classes; got only 1 class: "
                        f"{classes.tolist()}")
    return classes


def _encode(y, classes, dtype) -> np.ndarray:
    """0/1 targets of shape (n,) for two classes, one-hot rows (n, k) for more."""
    index = np.searchsorted(classes, y)
    if classes.size == 2:
        return index.astype(dtype)
    return np.eye(classes.size, dtype=dtype)[index]


def _wb_to_coef(w, b):
    """scikit-learn's layout: coef_ (1 or k, d), intercept_ (1 or k,)."""
    if w.ndim == 1:
        return w[None, :], np.reshape(b, 1)
    return w.T, np.reshape(b, -1)


def _check_init(name, value, shape) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.size == int(np.prod(shape)) and array.ndim <= 2:
        array = array.reshape(shape)
    if array.shape != shape:
        raise UserError(f"{name} has shape {np.shape(value)}, expected {shape}")
    if not np.all(np.isfinite(array)):
        raise UserError(f"{name} contains NaN or infinity")
    return array


def _batcher(objective, batch_size, rng):
    """``batches(epoch)``: a fresh shuffle of the rows cut into mini-batches each epoch."""
    n = objective.n_samples
    size = min(200, n) if batch_size == "auto" else min(batch_size, n)
    weights = objective.sample_weight

    def batches(epoch):
        order = rng.permutation(n)
        chunks = [order[i:i + size] for i in range(0, n, size)]
        if weights is not None:  # a batch of zero total weight has no mean loss
            chunks = [c for c in chunks if weights[c].sum() > 0]
        return chunks
    return batches


def _epochs(objective, solver, batch_size, rng):
    """``(solver, batches)`` for 'sgd'/'adam': shuffled mini-batches of the rows, or the
    objective's own plan (a dask X: one step per epoch over its blocks, see
    :mod:`lograd.backends.dask`)."""
    plan = getattr(objective, "epoch_plan", None)
    if plan is not None:
        return plan(solver, batch_size, rng)
    return solver, _batcher(objective, batch_size, rng)


def _validation_scorer(objective, X_val, y_val, classes):
    if _is_dask(X_val):  # y_val holds class indices; accuracy computed where the rows live
        from lograd.backends.dask import validation_scorer

        return validation_scorer(objective, X_val, y_val)

    def accuracy(theta):
        w, b = objective.unpack(theta)
        scores = np.asarray(X_val @ w) + b
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return float(np.mean(classes[index] == y_val))
    return accuracy
