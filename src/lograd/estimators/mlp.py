"""``lograd.MLPClassifier``: scikit-learn's multilayer-perceptron classifier, trained by the engine.

Thin on :class:`lograd.estimators.base.GradientClassifier`: scikit-learn's hyperparameters and
fitted attributes, the model :class:`lograd.models.mlp.MLP`, scikit-learn's objective::

    F(W, b) = Σ_i s_i·loss_i / S  +  α/(2S)·Σ_l ‖W_l‖²        (S = Σ_i s_i of the batch)

with ``loss_i`` the log-loss of row i (a sigmoid output for two classes, softmax for more).
Every gradient comes from ``Tensor.backward()`` (or its compiled replay); there is no
hand-written backpropagation.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.metaestimators import available_if

from lograd.errors import UserError, shown
from lograd.estimators.base import GradientClassifier, Steps, check_init
from lograd.estimators.checks import _check_checkpoint, _check_class_weight
from lograd.models.mlp import ACTIVATIONS, MLP, initial_parameters
from lograd.models.targets import n_outputs

SOLVERS = ("lbfgs", "sgd", "adam", "gd")
SCHEDULES = ("constant", "invscaling", "adaptive")
INITS = ("glorot", "he", "lecun", "small")


def _has_stochastic_solver(est) -> bool:
    return est.solver in ("sgd", "adam", "gd")


class MLPClassifier(GradientClassifier):
    """Multilayer perceptron classifier, a drop-in for scikit-learn's, trained by the engine.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Units of each hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Of the hidden layers. The output is a sigmoid for two classes, softmax for more.
    solver : {'lbfgs', 'sgd', 'adam', 'gd'}, default='adam'
        scikit-learn's three, plus 'gd': full-batch gradient descent, the course's loop (with
        ``learning_rate_init=α``, ``alpha=0`` and ``tol=0``: at each of ``max_iter`` iterations
        the cost at the current parameters, its gradients, then ``W := W - α·dW``,
        ``b := b - α·db`` for every layer).
    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights (not the biases), divided by the batch's total
        weight, as in scikit-learn.
    batch_size : int or 'auto', default='auto'
        Mini-batch size for 'sgd'/'adam': ``min(200, n_samples)`` for 'auto'.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        The schedule of 'sgd': constant; ``learning_rate_init / (t + 1)^power_t`` with t the
        samples seen; or divided by 5 each time ``n_iter_no_change`` epochs fail to lower the
        training loss by ``tol``.
    learning_rate_init : float, default=0.001
        The step size (of every solver but 'lbfgs').
    power_t : float, default=0.5
    max_iter : int, default=200
        Epochs for 'sgd'/'adam', steps for 'gd', iterations for 'lbfgs'.
    shuffle : bool, default=True
        Shuffle the rows every epoch ('sgd', 'adam').
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the validation split and the shuffles.
    tol : float, default=1e-4
        'lbfgs' and 'gd': stop when the largest absolute gradient entry is at most ``tol``;
        'sgd'/'adam': when the loss (or, with early stopping, the validation score) has not
        improved by ``tol`` for ``n_iter_no_change`` epochs.
    verbose : bool or int, default=False
    warm_start : bool, default=False
        Start from the previous fit's weights (same classes, features and architecture).
    momentum : float in [0, 1], default=0.9
        Of 'sgd' (scikit-learn's; 'gd' takes plain steps).
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified), stop when their accuracy has
        not improved by ``tol`` for ``n_iter_no_change`` epochs, keep the best-scoring weights
        ('sgd', 'adam', 'gd'). The held-out rows' log-loss is recorded too.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's.
    n_iter_no_change : int, default=10
    max_fun : int, default=15000
        Most loss evaluations of 'lbfgs'.
    class_weight : dict, 'balanced' or None, default=None
        Multiplies the sample weights, as in scikit-learn's linear classifiers.
    init : {'glorot', 'he', 'lecun', 'small'} or callable, default='glorot'
        Initial weights: scikit-learn's ('glorot': the same ``random_state`` gives its initial
        network); 'he'/'lecun': ``randn·√(2/n_in)`` / ``randn·√(1/n_in)``, biases 0; 'small':
        ``randn·0.01``, biases 0 (the course's shallow network); or ``init(fan_in, fan_out,
        rng) -> (W, b)``. ``fit(..., coefs_init=, intercepts_init=)`` overrides it.
    callbacks : callable or list of callables, default=None
        Each called once per iteration as ``cb(info)`` (``iteration``, ``loss``, ``grad_norm``,
        ``step``, ``max_iter``, ``coefs``, ``intercepts``); returning True stops the fit.
    checkpoint : str or path-like, default=None
        A directory keeping the whole training state; an interrupted fit resumes from it,
        bit-identically for 'gd', 'sgd' and 'adam' (see :mod:`lograd.files.checkpoints`).
    checkpoint_every : int, default=10

    Attributes
    ----------
    classes_, coefs_, intercepts_ : as scikit-learn's (``coefs_[i]`` of shape (n_in, n_out))
    loss_ : float
        ``loss_curve_[-1]``.
    loss_curve_ : list of float
        ``loss_curve_[0]``: the objective at the initial weights (as for
        :class:`lograd.LogisticRegression`; scikit-learn's curve starts after the first
        epoch); ``loss_curve_[k]``: after k iterations, for 'sgd'/'adam' scikit-learn's figure,
        the mean loss of epoch k's mini-batches (each before its step).
    best_loss_ : float or None
        The smallest value of ``loss_curve_`` (None with early stopping).
    validation_scores_ : list of float or None
        Validation accuracy after every iteration, with early stopping.
    validation_loss_curve_ : list of float or None
        The held-out rows' mean log-loss after every iteration, with early stopping.
    n_iter_, t_, n_layers_, n_outputs_, out_activation_, n_features_in_, feature_names_in_
        As scikit-learn's.
    """

    _fitted_attribute = "coefs_"
    _l2_per_batch = True
    _batch_epoch_loss = True
    # One BLAS thread: a network's products are small per batch, where OpenBLAS's threads cost
    # more than they give (measured 2.5x slower on 2 shared cores, digits (64,) adam).
    _blas_threads = 1

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 class_weight=None, init="glorot", callbacks=None, checkpoint=None,
                 checkpoint_every=10):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.init = init
        self.callbacks = callbacks
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, coefs_init=None, intercepts_init=None):
        """Fit the network's weights by minimising the objective with ``solver``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array or DataFrame} of shape (n_samples, n_features)
            Float32 data is computed in float32.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        coefs_init : list of ndarray, optional
            One (n_in, n_out) array per layer (default: drawn by ``init``).
        intercepts_init : list of ndarray, optional
            One (n_out,) array per layer.

        Returns
        -------
        self

        Raises
        ------
        lograd.errors.DivergenceError
            When the fit produced no usable model (the loss became NaN/inf, exploded, or ended
            no lower than where it started); the best weights seen are kept and the message
            says what to change.
        """
        return self._fit(X, y, sample_weight,
                         {"coefs_init": coefs_init, "intercepts_init": intercepts_init})

    @available_if(_has_stochastic_solver)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of the solver on the chunk ``(X, y)`` ('gd': one full-batch step).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,)
            Every label that will ever be seen; required on the first call.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        if self.early_stopping:
            raise UserError("partial_fit does not support early_stopping=True")
        return self._partial_fit(X, y, classes, sample_weight)

    # -- what is this estimator's own (see GradientClassifier) ---------------------------------
    def _hidden(self) -> tuple:
        sizes = self.hidden_layer_sizes
        return (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)

    def _check_params(self) -> None:
        check_mlp_params(self)

    def _model(self, n_features, n_classes) -> MLP:
        return MLP(n_features, tuple(int(h) for h in self._hidden()), n_outputs(n_classes),
                   self.activation)

    def _penalty(self, weight_sum) -> tuple:
        return float(self.alpha), 0.0  # divided by each batch's weight (l2_per_batch)

    def _initial_arrays(self, model, init, previous, rng) -> list:
        shapes = [p.shape for p in model.parameters]
        if previous is not None and [a.shape for a in previous] == shapes:
            arrays = [np.asarray(a, dtype=np.float64) for a in previous]
        else:
            arrays = initial_parameters(model, self.init, rng, np.float64)
        n = len(arrays) // 2
        for key, offset in (("coefs_init", 0), ("intercepts_init", n)):
            given = init.get(key)
            if given is None:
                continue
            if len(given) != n:
                raise UserError(f"{key} has {len(given)} arrays, the network has {n} layers")
            for i, value in enumerate(given):
                arrays[offset + i] = check_init(f"{key}[{i}]", value, shapes[offset + i])
        for array, shape, name in zip(arrays, shapes, (p.name for p in model.parameters)):
            if array.shape != shape or not np.all(np.isfinite(array)):
                raise UserError(f"init gave {name} of shape {array.shape} (expected {shape}), "
                                "or non-finite values")
        return arrays

    def _set_fitted(self, model, arrays) -> None:
        coefs, intercepts = model.split(arrays)
        self.coefs_ = [c.copy() for c in coefs]
        self.intercepts_ = [b.copy() for b in intercepts]
        self.n_layers_ = len(model.layer_units)
        self.n_outputs_ = model.n_outputs
        self.out_activation_ = "logistic" if model.n_outputs == 1 else "softmax"

    def _fitted_arrays(self, model) -> list:
        return list(self.coefs_) + list(self.intercepts_)

    def _describe(self, model, arrays) -> dict:
        coefs, intercepts = model.split(arrays)
        return {"coefs": [c.copy() for c in coefs], "intercepts": [b.copy() for b in intercepts]}

    def _store(self, objective, result, partial):
        super()._store(objective, result, partial)
        self.loss_ = float(self.loss_curve_[-1])
        self.best_loss_ = None if self.early_stopping else float(np.min(self.loss_curve_))
        self.t_ = 0 if self.solver == "lbfgs" else int(self.n_iter_) * objective.n_samples

    def _steps(self) -> Steps:
        sgd = self.solver == "sgd"
        return Steps(self.solver, float(self.learning_rate_init),
                     schedule=self.learning_rate if sgd else "constant", power_t=self.power_t,
                     momentum=float(self.momentum) if sgd else 0.0,
                     nesterov=sgd and bool(self.nesterovs_momentum),
                     beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                     shuffle=bool(self.shuffle), schedule_unit="samples")

    def _lbfgs_options(self) -> dict:
        # scikit-learn's MLP: maxfun, and SciPy's default ftol and line search
        return {"options": {"maxfun": int(self.max_fun), "ftol": 2.220446049250313e-09,
                            "maxls": 20}}

    def _step_words(self) -> dict:
        return {"rate_name": "learning_rate_init", "step_advice": "lower learning_rate_init"}

    def _convergence_message(self, result) -> str:
        rate = ("" if self.solver == "lbfgs"
                else f", learning_rate_init={shown(self.learning_rate_init)}")
        what = (f"did not converge in max_iter={self.max_iter} iterations (tol={self.tol})"
                if result.stopped_by == "max_iter"
                else f"stopped before reaching tol={self.tol} ({result.message})")
        hint = ("raise max_fun or try solver='adam'" if self.solver == "lbfgs"
                else "change learning_rate_init")
        return (f"lograd MLPClassifier(solver={self.solver!r}{rate}) {what}: scale the data "
                f"(e.g. sklearn.preprocessing.StandardScaler), raise max_iter, or {hint}")


def _fail(name, value, expected):
    raise UserError(f"parameter {name}={shown(value)} is invalid: expected {expected}")


def _real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)


def _int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_mlp_params(est) -> None:
    """Validate the hyperparameters of an :class:`MLPClassifier` before a fit."""
    sizes = est.hidden_layer_sizes
    sizes = (sizes,) if _int(sizes) else sizes
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(_int(h) and h >= 1 for h in sizes):
        _fail("hidden_layer_sizes", est.hidden_layer_sizes,
              "an integer >= 1 or a tuple of them (units per hidden layer)")
    if est.activation not in ACTIVATIONS:
        _fail("activation", est.activation, f"one of {', '.join(map(repr, ACTIVATIONS))}")
    if est.solver not in SOLVERS:
        _fail("solver", est.solver, f"one of {', '.join(map(repr, SOLVERS))}")
    if not _real(est.alpha) or est.alpha < 0:
        _fail("alpha", est.alpha, "a number >= 0")
    if not (est.batch_size == "auto" or (_int(est.batch_size) and est.batch_size >= 1)):
        _fail("batch_size", est.batch_size, "'auto' or an integer >= 1")
    if est.learning_rate not in SCHEDULES:
        _fail("learning_rate", est.learning_rate, f"one of {', '.join(map(repr, SCHEDULES))}")
    if not _real(est.learning_rate_init) or est.learning_rate_init <= 0:
        _fail("learning_rate_init", est.learning_rate_init, "a positive number")
    if not _real(est.power_t) or est.power_t < 0:
        _fail("power_t", est.power_t, "a number >= 0")
    for name in ("max_iter", "n_iter_no_change", "max_fun", "checkpoint_every"):
        if not _int(getattr(est, name)) or getattr(est, name) < 1:
            _fail(name, getattr(est, name), "an integer >= 1")
    if not _real(est.tol) or est.tol < 0:
        _fail("tol", est.tol, "a number >= 0")
    if not _real(est.momentum) or not 0 <= est.momentum <= 1:
        _fail("momentum", est.momentum, "a number in [0, 1]")
    for name in ("shuffle", "nesterovs_momentum", "early_stopping", "warm_start"):
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            _fail(name, getattr(est, name), "True or False")
    if not _real(est.validation_fraction) or not 0 < est.validation_fraction < 1:
        _fail("validation_fraction", est.validation_fraction, "a number in (0, 1)")
    for name in ("beta_1", "beta_2"):
        if not _real(getattr(est, name)) or not 0 <= getattr(est, name) < 1:
            _fail(name, getattr(est, name), "a number in [0, 1)")
    if not _real(est.epsilon) or est.epsilon <= 0:
        _fail("epsilon", est.epsilon, "a positive number")
    if not (callable(est.init) or est.init in INITS):
        _fail("init", est.init, f"one of {', '.join(map(repr, INITS))} or a callable")
    if est.early_stopping and est.solver == "lbfgs":
        raise UserError("early_stopping=True needs solver 'sgd', 'adam' or 'gd', not 'lbfgs'")
    _check_class_weight(est.class_weight)
    _check_checkpoint(est)
    callbacks = est.callbacks
    if callbacks is not None and not callable(callbacks):
        if not isinstance(callbacks, (list, tuple)) or not all(map(callable, callbacks)):
            _fail("callbacks", callbacks, "a callable or a list of callables")
