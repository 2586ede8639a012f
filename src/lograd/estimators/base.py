"""The shared base of lograd's classifiers: a model trained by gradient descent on a backend.

The path of one fit::

    X, y -> backend (memory or Dask, chosen from X) validates, weighs, holds rows out
         -> the subclass's model and initial parameters
         -> objective (model + penalty on that backend) -> solver steps on theta in the
            training loop (history, tolerance, divergence guard, early stopping, callbacks,
            checkpoints) -> the subclass stores theta as its fitted attributes

A subclass says only what is its own: its hyperparameters and their checks, its model
(:mod:`lograd.models`), its penalty, its initial parameters, its fitted attributes and its
step settings (:class:`Steps`). Predictions are the model's logits on the backend, turned into
labels and probabilities by :mod:`lograd.models.targets`. No estimator computes a gradient or
a forward pass itself.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from lograd import backends, solvers
from lograd.errors import UserError
from lograd.estimators.checks import as_callback_list
from lograd.training import TrainingDiverged, TrainingResult, fit_iterative, fit_lbfgs

STOCHASTIC = ("sgd", "adam")


@dataclass
class Steps:
    """How a fit steps: the solver and its settings, in lograd's terms.

    ``rate`` is the step size (None: the objective's ``1/L``, for models with a Lipschitz
    bound); ``schedule`` is 'constant', 'invscaling' (``rate/t^power_t``) or 'adaptive';
    ``momentum`` a float or 'nesterov' (accelerated full-batch gd); ``nesterov`` Nesterov's
    momentum for sgd (scikit-learn's ``nesterovs_momentum``).
    """

    solver: str
    rate: float | None
    schedule: str = "constant"
    power_t: float = 0.5
    momentum: float | str = 0.0
    nesterov: bool = False
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    shuffle: bool = True
    schedule_unit: str = "epoch"  # 'invscaling' counts epochs, or 'samples' (scikit-learn's MLP)


def _has_stepwise_solver(est) -> bool:
    return est.solver in ("gd", "sgd", "adam")


class GradientClassifier(ClassifierMixin, BaseEstimator):
    """A classifier whose model's parameters are fitted by gradient descent (see the module).

    Subclasses set the hyperparameters shared here (``solver``, ``max_iter``, ``tol``,
    ``batch_size``, ``class_weight``, ``random_state``, ``warm_start``, ``verbose``,
    ``early_stopping``, ``validation_fraction``, ``n_iter_no_change``, ``callbacks``,
    ``checkpoint``, ``checkpoint_every``) and implement the methods marked "subclass".
    """

    #: BLAS threads during a fit: 1 when the model's work is the fused kernel's own threads
    #: (BLAS threads spinning after SciPy's small vector ops slow its next call ~2x), None to
    #: leave BLAS alone (a network's matrix products are BLAS's work).
    _blas_threads = None
    _fitted_attribute = "classes_"  # set once a fit succeeded enough to predict

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # both models take CSR X
        return tags
    _l2_per_batch = False  # the L2 penalty divided by each batch's weight (scikit-learn's MLP)
    _batch_epoch_loss = False  # an epoch's loss: the mean of its batch losses (scikit-learn MLP)

    # -- subclass --------------------------------------------------------------------------------
    def _check_params(self) -> None:
        raise NotImplementedError

    def _model(self, n_features, n_classes):
        """The :class:`lograd.models.Model` this estimator fits."""
        raise NotImplementedError

    def _penalty(self, weight_sum) -> tuple:
        """``(alpha_l2, alpha_l1)`` of the objective, given the rows' total weight."""
        raise NotImplementedError

    def _initial_arrays(self, model, init, previous, rng) -> list:
        """The parameter arrays to start from: ``init`` holds fit's ``*_init`` arguments,
        ``previous`` the fitted arrays of the last fit (warm start) or None."""
        raise NotImplementedError

    def _set_fitted(self, model, arrays) -> None:
        """Store the parameter arrays (copies) as the fitted attributes."""
        raise NotImplementedError

    def _fitted_arrays(self, model) -> list:
        """The parameter arrays of the fitted attributes (for partial_fit, warm start,
        predictions)."""
        raise NotImplementedError

    def _steps(self) -> Steps:
        raise NotImplementedError

    def _describe(self, model, arrays) -> dict:
        """What callbacks see of the parameters at an iteration (copies)."""
        raise NotImplementedError

    def _convergence_message(self, result) -> str:
        raise NotImplementedError

    def _n_iter_value(self, n_iter):
        return n_iter

    # -- fitting ---------------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, init=None):
        self._check_params()
        for name in ("_partial_solver", "_partial_rate", "_partial_epochs"):
            self.__dict__.pop(name, None)  # a later partial_fit starts a fresh solver
        warm = self.warm_start and hasattr(self, self._fitted_attribute)
        previous = None
        if warm:
            previous = (self.classes_, self.n_features_in_,
                        self._fitted_arrays(self._model(self.n_features_in_,
                                                        len(self.classes_))))
        backend = backends.for_data(X)
        X, y = backend.fit_data(self, X, y, reset=True)
        self.classes_ = _classes(backend.labels(X, y))
        weights = backend.sample_weights(X, y, self.classes_, sample_weight, self.class_weight)
        rng = check_random_state(self.random_state)
        model = self._model(self.n_features_in_, len(self.classes_))
        if previous is not None and not (np.array_equal(previous[0], self.classes_)
                                         and previous[1] == self.n_features_in_):
            previous = None  # other classes or features: warm_start cannot reuse the fit
        arrays = self._initial_arrays(model, init or {}, previous and previous[2], rng)
        validation = None
        if self.early_stopping:
            (X, y, weights), validation = backend.holdout(X, y, weights, self.classes_,
                                                          self.validation_fraction, rng)
        objective = backend.objective(model, X, y, weights, self.classes_, self._penalty,
                                      row_batches=self.solver in STOCHASTIC,
                                      l2_per_batch=self._l2_per_batch)
        self._train(backend, objective, objective.pack(arrays), rng, validation)
        return self

    def _partial_fit(self, X, y, classes=None, sample_weight=None):
        self._check_params()
        first = not hasattr(self, self._fitted_attribute)
        if first and classes is None:
            raise UserError("partial_fit needs classes=[...] (every label) on its first call")
        backend = backends.for_data(X)
        X, y = backend.fit_data(self, X, y, reset=first)
        _set_partial_classes(self, classes, backend.labels(X, y), first)
        weights = backend.sample_weights(X, y, self.classes_, sample_weight, self.class_weight)
        rng = check_random_state(self.random_state)
        model = self._model(self.n_features_in_, len(self.classes_))
        arrays = (self._initial_arrays(model, {}, None, rng) if first
                  else self._fitted_arrays(model))
        objective = backend.objective(model, X, y, weights, self.classes_, self._penalty,
                                      row_batches=self.solver in STOCHASTIC,
                                      l2_per_batch=self._l2_per_batch)
        self._train(backend, objective, objective.pack(arrays), rng, None, partial=True)
        return self

    def _train(self, backend, objective, theta0, rng, validation, partial=False):
        callbacks = as_callback_list(self.callbacks)
        model = objective.model
        describe = ((lambda theta: self._describe(model, objective.unpack(theta)))
                    if callbacks else (lambda theta: {}))
        limit = (threadpool_limits(self._blas_threads, user_api="blas")
                 if self._blas_threads else _no_limit())
        start = time.perf_counter()
        with limit:
            self._run_solver(backend, objective, theta0, rng, validation, partial, callbacks,
                             describe)
        self.fit_seconds_ = time.perf_counter() - start

    def _run_solver(self, backend, objective, theta0, rng, validation, partial, callbacks,
                    describe):
        store = (None if partial
                 else self._checkpoint_store(backend, objective, theta0, validation))
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
                                   resume=resume, **self._lbfgs_options())
            else:
                result = self._fit_stepwise(backend, objective, theta0, rng, validation,
                                            partial, callbacks, describe, store, resume)
        except TrainingDiverged as exc:
            self._store(objective, exc.result, partial)
            raise
        self._store(objective, result, partial)
        if not result.converged and self.tol > 0 and not partial:
            warnings.warn(self._convergence_message(result), ConvergenceWarning, stacklevel=4)

    def _lbfgs_options(self) -> dict:
        return {}

    def _step_words(self) -> dict:
        """The step size's parameter and the advice of a failed fit (see fit_iterative)."""
        return {}

    def _checkpoint_store(self, backend, objective, theta0, validation):
        """The :class:`lograd.files.checkpoints.Checkpoint` of this fit, or None without one."""
        if self.checkpoint is None:
            return None
        from lograd.files import checkpoints

        fit = checkpoints.fit_fingerprint(self.get_params(deep=False), self.classes_,
                                          objective.X, objective.Y, objective.sample_weight,
                                          theta0, validation, digest=backend.data_digest)
        return checkpoints.Checkpoint(self.checkpoint, fit)

    def _fit_stepwise(self, backend, objective, theta0, rng, validation, partial, callbacks,
                      describe, store=None, resume=None):
        steps = self._steps()
        solver = self._solver(steps, objective, partial, resume)
        batches = None
        if self.solver in STOCHASTIC:
            if resume is not None:  # the shuffles go on as the interrupted fit's would have
                from lograd.files.checkpoints import restored_rng

                rng = restored_rng(resume["rng"])
            if store is not None:
                store.rng = rng
            solver, batches = backend.epochs(objective, solver, self.batch_size, rng,
                                             shuffle=steps.shuffle)
        score = None
        if validation is not None:
            score = self._recording_validation_loss(backend, objective, validation)
        schedule = steps.schedule
        unit = objective.n_samples if steps.schedule_unit == "samples" else 1
        if partial:  # the schedule advances one epoch per call
            self._partial_epochs = getattr(self, "_partial_epochs", 0) + 1
            if schedule == "invscaling":
                solver.learning_rate = (self._partial_rate / (
                    1 + (self._partial_epochs - 1) * unit) ** steps.power_t)
            schedule = "constant"
        return fit_iterative(
            objective, solver, theta0, max_iter=1 if partial else self.max_iter, tol=self.tol,
            batches=batches, n_iter_no_change=self.n_iter_no_change, schedule=schedule,
            power_t=steps.power_t, schedule_unit=unit, validation_score=score, callbacks=callbacks,
            verbose=self.verbose, describe=describe,
            checkpoint=None if store is None else store.save,
            checkpoint_every=self.checkpoint_every, resume=resume, require_progress=not partial,
            epoch_loss="batches" if self._batch_epoch_loss and backend.name == "memory"
            else "objective", **self._step_words())

    def _recording_validation_loss(self, backend, objective, validation):
        """The validation accuracy that early stopping follows; the held-out rows' log-loss
        is recorded beside it (``validation_loss_curve_``) where the backend computes it."""
        accuracy = backend.validation_scorer(objective, validation, self.classes_)
        loss = backend.validation_loss(objective, validation, self.classes_)
        if loss is None:
            return accuracy
        losses = self._validation_losses = []

        def score(theta):
            losses.append(loss(theta))
            return accuracy(theta)
        return score

    def _solver(self, steps, objective, partial, resume=None):
        if resume is not None:  # the checkpoint holds the rate: skip computing 'auto' again
            rate = resume["solver"]["learning_rate"]
        else:
            rate = steps.rate if steps.rate is not None else 1.0 / objective.lipschitz()
        if partial and hasattr(self, "_partial_solver"):
            self._partial_rate = min(self._partial_rate, rate)
            self._partial_solver.learning_rate = self._partial_rate
            return self._partial_solver
        if steps.solver == "adam":
            solver = solvers.Adam(rate, steps.beta_1, steps.beta_2, steps.epsilon)
        elif steps.momentum == "nesterov":
            solver = solvers.AcceleratedGradient(rate)
        else:
            solver = solvers.GradientDescent(rate, steps.momentum, nesterov=steps.nesterov)
        if partial:
            self._partial_solver, self._partial_rate = solver, rate
        return solver

    def _store(self, objective, result, partial):
        self._set_fitted(objective.model, [a.copy() for a in objective.unpack(result.theta)])
        if partial and hasattr(self, "loss_curve_") and getattr(self, "_partial_started", False):
            self.loss_curve_ = self.loss_curve_ + result.loss_curve[1:]
            self.n_iter_ = self.n_iter_ + result.n_iter
        else:
            self.loss_curve_ = list(result.loss_curve)
            self.n_iter_ = self._n_iter_value(result.n_iter)
        self._partial_started = partial
        self.stopped_by_ = result.stopped_by  # 'tol', 'max_iter', 'early_stopping', ...
        self.validation_scores_ = result.validation_scores
        losses = self.__dict__.pop("_validation_losses", None)
        if result.validation_scores is None or losses is None:
            self.validation_loss_curve_ = None
        else:  # (a fit resumed from a checkpoint recorded only its own iterations: NaN before)
            missing = len(result.validation_scores) - len(losses)
            self.validation_loss_curve_ = [float("nan")] * missing + losses
        self.learning_rate_ = result.learning_rate

    def training_objective(self, X, y, sample_weight=None):
        """``(objective, theta)``: the objective a fit on these rows minimises (the same model,
        weights and penalty, built by the fit's own path), and the fitted parameters as its
        ``theta``; ``objective.graph(theta)`` is the graph training ran, at the result."""
        check_is_fitted(self)
        backend = backends.for_data(X)
        X, y = backend.fit_data(self, X, y, reset=False)
        weights = backend.sample_weights(X, y, self.classes_, sample_weight, self.class_weight)
        model = self._model(self.n_features_in_, len(self.classes_))
        objective = backend.objective(model, X, y, weights, self.classes_, self._penalty,
                                      l2_per_batch=self._l2_per_batch)
        return objective, objective.pack(self._fitted_arrays(model))

    # -- predicting ------------------------------------------------------------------------------
    def _logits(self, X):
        check_is_fitted(self)
        backend = backends.for_data(X)
        X = backend.predict_data(self, X)
        model = self._model(self.n_features_in_, len(self.classes_))
        return backend, backend.logits(model, self._fitted_arrays(model), X)

    def decision_function(self, X):
        """The model's logits.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array or DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) for two classes (the positive class's logit), else
        (n_samples, n_classes); a lazy dask array for a dask X (likewise ``predict``,
        ``predict_proba`` and ``predict_log_proba``).
        """
        return self._logits(X)[1]

    def predict(self, X):
        """Most probable class of each row, shape (n_samples,)."""
        backend, scores = self._logits(X)
        return backend.labels_of(scores, self.classes_)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order.

        Sigmoid for two classes (``[σ(-z), σ(z)]``), softmax for more: finite and summing to
        one for any logits.
        """
        backend, scores = self._logits(X)
        return backend.probabilities(scores)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed stably: shape (n_samples, n_classes)."""
        backend, scores = self._logits(X)
        return backend.probabilities(scores, log=True)

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
        if backends.for_data(X).name == "memory":
            return super().score(X, y, sample_weight)
        from lograd.backends.dask import accuracy

        return accuracy(self.predict(X), y, sample_weight)


class _no_limit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


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


def check_init(name, value, shape) -> np.ndarray:
    """A user's initial parameter array: float64 of ``shape`` (a flat one of the right size
    reshaped), finite; else a UserError naming it."""
    array = np.asarray(value, dtype=np.float64)
    if array.size == int(np.prod(shape)) and array.ndim <= 2:
        array = array.reshape(shape)
    if array.shape != shape:
        raise UserError(f"{name} has shape {np.shape(value)}, expected {shape}")
    if not np.all(np.isfinite(array)):
        raise UserError(f"{name} contains NaN or infinity")
    return array
