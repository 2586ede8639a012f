"""``lograd.LogisticRegression``: a scikit-learn classifier trained by backpropagation.

Thin on :class:`lograd.estimators.base.GradientClassifier`: its hyperparameters, its model
(:class:`lograd.models.linear.Linear`), scikit-learn's penalty scaling and its fitted attributes
``coef_``/``intercept_``. It never computes a gradient itself: every gradient comes from
``Tensor.backward()`` (or its compiled replay) in the objective.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.metaestimators import available_if

from lograd.errors import UserError, shown
from lograd.estimators.base import GradientClassifier, Steps, _has_stepwise_solver, check_init
from lograd.estimators.checks import check_params, resolved_penalty, warn_about_penalty
from lograd.models.linear import Linear
from lograd.models.targets import n_outputs
from lograd.objective import penalty_strengths

_ADAM_DEFAULT_RATE = 0.05


class LogisticRegression(GradientClassifier):
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

    _blas_threads = 1  # the fused kernel's own threads do the work
    _fitted_attribute = "coef_"

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
            callback stopped it), or L-BFGS aborted without lowering it. The best parameters
            seen are kept in ``coef_``/``intercept_`` (``exc.result`` holds the history) and
            the message says what to change (usually the learning rate). scikit-learn users
            expect ``fit`` to raise on an unusable result, so this is an error, not a
            ConvergenceWarning.
        """
        return self._fit(X, y, sample_weight,
                         {"coef_init": coef_init, "intercept_init": intercept_init})

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
        return self._partial_fit(X, y, classes, sample_weight)

    # -- what is this estimator's own (see GradientClassifier) ---------------------------------
    def _check_params(self) -> None:
        check_params(self)
        warn_about_penalty(self)

    def _model(self, n_features, n_classes) -> Linear:
        return Linear(n_features, n_outputs(n_classes), bool(self.fit_intercept),
                      fused=bool(self.fused))

    def _penalty(self, weight_sum) -> tuple:
        alpha_l2, alpha_l1 = penalty_strengths(resolved_penalty(self), self.C, self.l1_ratio,
                                               weight_sum)
        if not np.isfinite(alpha_l2 + alpha_l1):  # 1/(C·S) overflows
            raise UserError(f"parameter C={shown(self.C)} is invalid: so small that the penalty "
                            f"1/(C·{weight_sum:g}) overflows; pass C=1e-300 or more")
        return alpha_l2, alpha_l1

    def _initial_arrays(self, model, init, previous, rng) -> list:
        n_out = model.n_outputs
        coef, intercept = np.zeros((n_out, model.n_features)), np.zeros(n_out)
        if previous is not None:
            coef, intercept = model.to_coef(previous)
        if init.get("coef_init") is not None:
            coef = check_init("coef_init", init["coef_init"], coef.shape)
        if init.get("intercept_init") is not None:
            intercept = check_init("intercept_init", init["intercept_init"], intercept.shape)
        return model.from_coef(coef, intercept)

    def _set_fitted(self, model, arrays) -> None:
        coef, intercept = model.to_coef(arrays)
        self.coef_, self.intercept_ = coef.copy(), intercept.copy()

    def _fitted_arrays(self, model) -> list:
        return model.from_coef(self.coef_, self.intercept_)

    def _describe(self, model, arrays) -> dict:
        coef, intercept = model.to_coef(arrays)
        return {"coef": coef.copy(), "intercept": intercept.copy()}

    def _n_iter_value(self, n_iter):
        return np.array([n_iter], dtype=np.int32)  # shape (1,), as scikit-learn keeps it

    def _steps(self) -> Steps:
        if self.learning_rate != "auto":
            rate = float(self.learning_rate)
        else:  # 'auto': 1/L from the data for gd and sgd (None), Adam's usual step
            rate = _ADAM_DEFAULT_RATE if self.solver == "adam" else None
        return Steps(self.solver, rate, schedule=self.lr_schedule, momentum=self.momentum)

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
