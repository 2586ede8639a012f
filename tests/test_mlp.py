"""lograd.MLPClassifier: the network's gradients, the course's loop, scikit-learn's answers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.preprocessing import StandardScaler

from lograd import MLPClassifier, gradcheck
from lograd.errors import DivergenceError, UserError
from lograd.models.mlp import MLP, initial_parameters
from lograd.models.targets import encode
from lograd.objective import Objective

rng = np.random.default_rng(0)


def quiet(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(120, noise=0.25, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# -- the network's objective and its gradient -----------------------------------------------------
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("hidden, n_classes", [((3,), 2), ((4, 3), 3), ((), 2), ((5, 2, 3), 3)])
def test_network_objective_matches_finite_differences(activation, hidden, n_classes):
    n, d = 13, 4
    X = rng.standard_normal((n, d))
    y = rng.integers(0, n_classes, n)
    Y = encode(y, np.arange(n_classes), np.float64)
    s = rng.uniform(0.5, 2.0, n)
    model = MLP(d, hidden, 1 if n_classes == 2 else n_classes, activation)
    arrays = initial_parameters(model, "glorot", np.random.RandomState(1), np.float64)
    if activation == "relu":  # keep pre-activations away from relu's kink (finite differences)
        arrays = [a + 0.05 * np.sign(a) for a in arrays]

    def cost(*params):
        loss = model.data_term(params, X, Y, s)
        for p, spec in zip(params, model.parameters):
            if spec.penalized:
                loss = loss + 0.01 * (p * p).sum()
        return loss

    gradcheck(cost, *arrays, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_is_computed_in_float32(moons, dtype):
    X, y = moons
    model = quiet(MLPClassifier((5,), solver="sgd", max_iter=5, random_state=0),
                  X.astype(dtype), y)
    assert all(c.dtype == dtype for c in model.coefs_ + model.intercepts_)
    assert model.predict_proba(X.astype(dtype)).dtype == dtype


# -- the course's loop ----------------------------------------------------------------------------
def course_loop(X, Y, coefs, intercepts, activation, alpha_step, iterations):
    """Full-batch gradient descent written out in NumPy as the course writes it, in
    scikit-learn's layout (rows are examples): forward, cost, backward by hand, update."""
    g = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}[activation]
    dg = {"tanh": lambda a, z: 1 - a ** 2, "relu": lambda a, z: (z > 0).astype(float)}[activation]
    W, b = [c.copy() for c in coefs], [i.copy() for i in intercepts]
    m, costs = X.shape[0], []
    for _ in range(iterations):
        A, Z = [X], []
        for layer in range(len(W)):
            Z.append(A[-1] @ W[layer] + b[layer])
            last = layer == len(W) - 1
            A.append(1 / (1 + np.exp(-Z[-1])) if last else g(Z[-1]))
        costs.append(float(-np.mean(Y * np.log(A[-1]) + (1 - Y) * np.log(1 - A[-1]))))
        dZ = A[-1] - Y  # the course's dZ_L = A_L - Y (per example)
        for layer in reversed(range(len(W))):
            dW, db = A[layer].T @ dZ / m, dZ.sum(axis=0) / m
            if layer:
                dZ = (dZ @ W[layer].T) * dg(A[layer], Z[layer - 1])
            W[layer], b[layer] = W[layer] - alpha_step * dW, b[layer] - alpha_step * db
    return W, b, costs


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("hidden", [(4,), (5, 4, 3)])
def test_gd_is_exactly_the_courses_loop(moons, activation, hidden):
    X, y = moons
    init = MLPClassifier(hidden, activation, random_state=3, init="small")
    model = MLP(2, hidden, 1, activation)
    arrays = initial_parameters(model, "small", np.random.RandomState(3), np.float64)
    coefs, intercepts = model.split(arrays)
    fitted = init.set_params(solver="gd", learning_rate_init=0.5, alpha=0.0, tol=0.0,
                             max_iter=100).fit(X, y)
    W, b, costs = course_loop(X, y[:, None].astype(float), coefs, intercepts, activation, 0.5,
                              100)
    for got, expected in zip(fitted.coefs_ + fitted.intercepts_, W + b):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)
    # loss_curve_[k]: the cost after k steps; [0] at the initial parameters
    np.testing.assert_allclose(fitted.loss_curve_[:100], costs, rtol=1e-12)
    assert fitted.n_iter_ == 100 and len(fitted.loss_curve_) == 101


# -- scikit-learn's answers -----------------------------------------------------------------------
def sklearn_from(coefs, intercepts, X, y, **params):
    """scikit-learn's MLPClassifier continued from the given weights (set after a first,
    throw-away fit initialises its state; warm_start then keeps them)."""
    sk = SklearnMLP(**{**params, "max_iter": 1})
    quiet(sk, X, y)
    sk.coefs_ = [c.copy() for c in coefs]
    sk.intercepts_ = [i.copy() for i in intercepts]
    sk.set_params(warm_start=True, max_iter=params["max_iter"])
    return quiet(sk, X, y)


@pytest.mark.parametrize("data", ["moons", "iris"])
def test_sgd_full_batch_follows_sklearn_from_the_same_weights(data, moons, iris):
    X, y = moons if data == "moons" else iris
    n = X.shape[0]
    params = dict(hidden_layer_sizes=(6, 4), activation="tanh", solver="sgd", momentum=0.0,
                  batch_size=n, shuffle=False, learning_rate_init=0.2, alpha=1e-3, tol=0.0,
                  n_iter_no_change=1000, max_iter=50, random_state=0)
    ours = quiet(MLPClassifier(**params), X, y)
    start = MLPClassifier(**{**params, "max_iter": 1})
    model = start._model(X.shape[1], len(np.unique(y)))
    coefs, intercepts = model.split(initial_parameters(model, "glorot",
                                                      np.random.RandomState(0), np.float64))
    sk = sklearn_from(coefs, intercepts, X, y, **params)
    for got, expected in zip(ours.coefs_ + ours.intercepts_, sk.coefs_ + sk.intercepts_):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_glorot_draws_sklearns_initial_weights(moons):
    """The same random_state gives scikit-learn's initial network (its draws, in its order)."""
    X, y = moons
    sk = quiet(SklearnMLP((5, 3), solver="sgd", learning_rate_init=1e-12, max_iter=1,
                          momentum=0.0, random_state=7, batch_size=len(y), shuffle=False), X, y)
    ours = quiet(MLPClassifier((5, 3), solver="sgd", learning_rate_init=1e-12, max_iter=1,
                               momentum=0.0, random_state=7, batch_size=len(y), shuffle=False,
                               tol=0.0), X, y)
    for got, expected in zip(ours.coefs_, sk.coefs_):
        np.testing.assert_allclose(got, expected, rtol=1e-9)


@pytest.mark.parametrize("activation", ["tanh", "logistic"])
@pytest.mark.parametrize("data", ["moons", "iris"])
def test_lbfgs_reaches_sklearns_final_loss(data, activation, moons, iris):
    X, y = moons if data == "moons" else iris
    params = dict(hidden_layer_sizes=(4,), activation=activation, solver="lbfgs", alpha=0.1,
                  tol=1e-10, max_iter=3000, random_state=0)
    ours = quiet(MLPClassifier(**params), X, y)
    sk = quiet(SklearnMLP(**params), X, y)
    assert ours.loss_ == pytest.approx(sk.loss_, abs=1e-6)


# -- the estimator's contract ---------------------------------------------------------------------
def test_sample_weight_two_equals_repeating_the_rows(moons):
    X, y = moons
    params = dict(hidden_layer_sizes=(4,), solver="gd", learning_rate_init=0.3, max_iter=40,
                  tol=0.0, alpha=1e-3, random_state=0)
    weighted = MLPClassifier(**params).fit(X, y, sample_weight=np.where(np.arange(len(y)) < 30,
                                                                         2.0, 1.0))
    repeated = MLPClassifier(**params).fit(np.vstack([X, X[:30]]), np.concatenate([y, y[:30]]))
    for a, b in zip(weighted.coefs_, repeated.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_sparse_equals_dense(iris):
    X, y = iris
    X = np.where(np.abs(X) < 0.5, 0.0, X)
    params = dict(hidden_layer_sizes=(5,), solver="adam", max_iter=20, random_state=0)
    dense = quiet(MLPClassifier(**params), X, y)
    sparse = quiet(MLPClassifier(**params), sp.csr_matrix(X), y)
    for a, b in zip(dense.coefs_, sparse.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_fitted_attributes_are_sklearns(iris, moons):
    X, y = iris
    model = quiet(MLPClassifier((6, 5), max_iter=20, random_state=0), X, y)
    assert [c.shape for c in model.coefs_] == [(4, 6), (6, 5), (5, 3)]
    assert [b.shape for b in model.intercepts_] == [(6,), (5,), (3,)]
    assert model.n_layers_ == 4 and model.n_outputs_ == 3 and model.out_activation_ == "softmax"
    assert model.n_iter_ == 20 and model.t_ == 20 * len(y)
    assert model.loss_ == model.loss_curve_[-1] and model.best_loss_ == min(model.loss_curve_)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (model.predict(X) == model.classes_[proba.argmax(axis=1)]).all()
    binary = quiet(MLPClassifier((3,), max_iter=5, random_state=0), *moons)
    assert binary.out_activation_ == "logistic" and binary.coefs_[-1].shape == (3, 1)


def test_early_stopping_records_the_validation_loss(moons):
    X, y = moons
    model = quiet(MLPClassifier((6,), solver="adam", learning_rate_init=0.05, max_iter=200,
                                early_stopping=True, n_iter_no_change=5, random_state=0), X, y)
    assert len(model.validation_loss_curve_) == len(model.validation_scores_) == model.n_iter_
    assert model.best_loss_ is None
    held = np.asarray(model.validation_loss_curve_)
    assert np.all(np.isfinite(held)) and held[-1] < held[0]


def test_coefs_init_and_init_options(moons):
    X, y = moons
    coefs = [np.full((2, 3), 0.1), np.full((3, 1), -0.2)]
    intercepts = [np.zeros(3), np.zeros(1)]
    model = MLPClassifier((3,), solver="gd", max_iter=1, tol=0.0, learning_rate_init=1e-4)
    model.fit(X, y, coefs_init=coefs, intercepts_init=intercepts)
    np.testing.assert_allclose(model.coefs_[0], coefs[0], atol=1e-4)
    with pytest.raises(UserError, match=r"coefs_init\[1\] has shape"):
        model.fit(X, y, coefs_init=[coefs[0], np.zeros((2, 2))])
    for init in ("he", "lecun", "small", lambda i, o, r: (np.ones((i, o)), np.zeros(o))):
        quiet(MLPClassifier((3,), init=init, max_iter=2, random_state=0), X, y)
    with pytest.raises(UserError, match="parameter init="):
        MLPClassifier(init="zeros").fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"hidden_layer_sizes": (3, 0)}, "hidden_layer_sizes"),
    ({"activation": "softmax"}, "activation"),
    ({"solver": "newton"}, "solver"),
    ({"alpha": -1.0}, "alpha"),
    ({"learning_rate": "fast"}, "learning_rate"),
    ({"momentum": 1.5}, "momentum"),
    ({"early_stopping": True, "solver": "lbfgs"}, "early_stopping"),
])
def test_bad_parameters_are_one_line_errors(moons, params, match):
    with pytest.raises(UserError, match=match):
        MLPClassifier(**params).fit(*moons)


def test_a_diverging_fit_raises_and_keeps_the_best_weights(moons):
    X, y = moons
    with pytest.raises(DivergenceError, match="learning_rate_init"):
        MLPClassifier((8,), solver="gd", learning_rate_init=500.0, max_iter=50,
                      random_state=0).fit(X * 100, y)


def test_checkpoint_resume_is_bit_identical(moons, tmp_path):
    X, y = moons
    params = dict(hidden_layer_sizes=(5,), solver="adam", max_iter=12, random_state=0, tol=0.0,
                  n_iter_no_change=100, checkpoint_every=4)
    reference = quiet(MLPClassifier(**params), X, y)
    stops = []

    def stop_at_six(info):
        stops.append(info["iteration"])
        return info["iteration"] == 6

    quiet(MLPClassifier(**params, checkpoint=tmp_path, callbacks=[stop_at_six]), X, y)
    resumed = quiet(MLPClassifier(**params, checkpoint=tmp_path), X, y)
    assert stops[-1] == 6
    for a, b in zip(reference.coefs_ + reference.intercepts_,
                    resumed.coefs_ + resumed.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert resumed.loss_curve_ == reference.loss_curve_


def test_partial_fit_continues(iris):
    X, y = iris
    model = MLPClassifier((5,), solver="sgd", learning_rate_init=0.1, random_state=0)
    for _ in range(3):
        model.partial_fit(X, y, classes=np.unique(y))
    assert model.n_iter_ == 3 and len(model.loss_curve_) == 4
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_every_gradient_comes_from_the_engine(moons):
    """The objective the estimator builds is the model's data term plus its penalty, whose
    gradient backward() gives: the objective's gradient equals finite differences of its
    value."""
    X, y = moons
    model = MLP(2, (3,), 1, "tanh")
    objective = Objective(model, X, y.astype(float), alpha_l2=0.05, l2_per_batch=True)
    theta = objective.pack(initial_parameters(model, "glorot", np.random.RandomState(0),
                                              np.float64))
    _, grad = objective.loss_and_grad(theta)
    eps = 1e-6
    numeric = [(objective.value(theta + eps * e) - objective.value(theta - eps * e)) / (2 * eps)
               for e in np.eye(len(theta))]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
