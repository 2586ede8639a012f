"""lograd.LogisticRegression against scikit-learn, closed forms, and its own contract."""

import io
import re
import warnings
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn import linear_model
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tests.linear_support import linear_objective

import lograd.backends.memory as memory_backend
from lograd.errors import DivergenceError, UserError
from lograd.estimators.logistic import LogisticRegression
from lograd.objective import Objective

# Tight settings for each solver that reaches the optimum deterministically.
EXACT = {
    "lbfgs": dict(solver="lbfgs", tol=1e-10, max_iter=10_000),
    "gd-nesterov": dict(solver="gd", momentum="nesterov", tol=1e-9, max_iter=50_000),
}
# Stochastic solvers: a decaying learning rate, stopped when the loss stalls. Mini-batch noise
# limits them to about 1e-3 relative on these problems, so they are checked at 2e-2.
STOCHASTIC = {
    "sgd": dict(solver="sgd", lr_schedule="adaptive", tol=1e-12, n_iter_no_change=30,
                max_iter=3000, random_state=0),
    "adam": dict(solver="adam", learning_rate=0.01, lr_schedule="adaptive", tol=1e-12,
                 n_iter_no_change=30,
                 max_iter=3000, random_state=0),
}


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def sklearn_fit(X, y, **params):
    """scikit-learn's LogisticRegression at a tight tolerance (C and l1_ratio, not penalty)."""
    params.setdefault("tol", 1e-12)
    params.setdefault("max_iter", 100_000)
    return linear_model.LogisticRegression(**params).fit(X, y)


def assert_same_model(ours, ref, rtol):
    """Coefficients and intercepts agree to ``rtol`` relative to the largest coefficient."""
    scale = max(np.abs(ref.coef_).max(), np.abs(ref.intercept_).max())
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=0, atol=rtol * scale)


# -- the same optimum as scikit-learn ------------------------------------------------------------
@pytest.mark.parametrize("solver", list(EXACT))
@pytest.mark.parametrize("C", [0.01, 0.1, 1.0, 10.0])
def test_binary_l2_matches_sklearn(cancer, solver, C):
    X, y = cancer
    ours = LogisticRegression(C=C, **EXACT[solver]).fit(X, y)
    assert_same_model(ours, sklearn_fit(X, y, C=C), rtol=1e-4)


@pytest.mark.parametrize("C", [0.01, 0.1])
def test_plain_gd_matches_sklearn_when_well_conditioned(cancer, C):
    X, y = cancer
    ours = LogisticRegression(C=C, solver="gd", tol=1e-9, max_iter=20_000).fit(X, y)
    assert_same_model(ours, sklearn_fit(X, y, C=C), rtol=1e-4)


@pytest.mark.parametrize("solver", list(EXACT))
def test_multinomial_matches_sklearn(iris, solver):
    X, y = iris
    ours = LogisticRegression(C=1.0, **EXACT[solver]).fit(X, y)
    assert ours.coef_.shape == (3, 4) and ours.intercept_.shape == (3,)
    assert_same_model(ours, sklearn_fit(X, y, C=1.0), rtol=1e-4)


@pytest.mark.parametrize("solver", list(EXACT))
def test_class_weight_balanced_matches_sklearn(cancer, solver):
    X, y = cancer
    X, y = X[:400], y[:400]  # a less balanced subset: 'balanced' then matters
    ours = LogisticRegression(class_weight="balanced", **EXACT[solver]).fit(X, y)
    assert_same_model(ours, sklearn_fit(X, y, class_weight="balanced"), rtol=1e-4)


@pytest.mark.parametrize("C", [0.05, 0.1])
def test_l1_matches_sklearn_saga(cancer, C):
    X, y = cancer
    ref = sklearn_fit(X, y, C=C, l1_ratio=1.0, solver="saga", tol=1e-12)
    ours = LogisticRegression(penalty="l1", C=C, **EXACT["gd-nesterov"]).fit(X, y)
    assert_same_model(ours, ref, rtol=1e-4)
    np.testing.assert_array_equal(ours.coef_ == 0, ref.coef_ == 0)  # the same sparsity


def test_plain_proximal_gd_l1_matches_sklearn_saga(cancer):
    X, y = cancer
    ref = sklearn_fit(X, y, C=0.05, l1_ratio=1.0, solver="saga")
    ours = LogisticRegression(penalty="l1", C=0.05, solver="gd", tol=1e-9,
                              max_iter=20_000).fit(X, y)
    assert_same_model(ours, ref, rtol=1e-4)


def test_elasticnet_matches_sklearn_saga(cancer):
    X, y = cancer
    ref = sklearn_fit(X, y, C=0.1, l1_ratio=0.5, solver="saga")
    ours = LogisticRegression(penalty="elasticnet", C=0.1, l1_ratio=0.5,
                              **EXACT["gd-nesterov"]).fit(X, y)
    assert_same_model(ours, ref, rtol=1e-4)


@pytest.mark.parametrize("solver", list(STOCHASTIC))
def test_stochastic_solvers_near_sklearn(cancer, iris, solver):
    for (X, y), C in [(cancer, 0.01), (iris, 0.1)]:
        ours = LogisticRegression(C=C, **STOCHASTIC[solver]).fit(X, y)
        assert_same_model(ours, sklearn_fit(X, y, C=C), rtol=2e-2)


def test_sgd_with_momentum_near_sklearn(cancer):
    X, y = cancer
    params = dict(STOCHASTIC["sgd"], momentum=0.9, learning_rate=0.03)
    ours = LogisticRegression(C=0.01, **params).fit(X, y)
    assert_same_model(ours, sklearn_fit(X, y, C=0.01), rtol=2e-2)


def test_sgd_l1_near_sklearn_saga(cancer):
    X, y = cancer
    ref = sklearn_fit(X, y, C=0.05, l1_ratio=1.0, solver="saga")
    ours = LogisticRegression(penalty="l1", C=0.05, **STOCHASTIC["sgd"]).fit(X, y)
    assert_same_model(ours, ref, rtol=2e-2)


def test_no_penalty_matches_sklearn(iris):
    X, y = iris
    X, y = X[y > 0], y[y > 0]  # versicolor vs virginica: not separable, a finite optimum
    ours = LogisticRegression(penalty=None, **EXACT["lbfgs"]).fit(X, y)
    ref = sklearn_fit(X, y, C=np.inf)
    assert_same_model(ours, ref, rtol=1e-4)
    inf_c = LogisticRegression(C=np.inf, **EXACT["lbfgs"]).fit(X, y)
    assert_same_model(inf_c, ref, rtol=1e-4)


def test_no_intercept_matches_sklearn(cancer):
    X, y = cancer
    ours = LogisticRegression(fit_intercept=False, **EXACT["lbfgs"]).fit(X, y)
    ref = sklearn_fit(X, y, fit_intercept=False)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-4, atol=1e-8)
    assert np.all(ours.intercept_ == 0)


def test_predictions_match_sklearn(iris):
    X, y = iris
    ours = LogisticRegression(**EXACT["lbfgs"]).fit(X, y)
    ref = sklearn_fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(ours.predict_log_proba(X), ref.predict_log_proba(X), atol=1e-5)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-5)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    assert ours.score(X, y) == ref.score(X, y)


# -- the lecture's gradient descent --------------------------------------------------------------
def test_gd_is_the_textbook_algorithm(cancer):
    """tol=0 and a numeric rate: exactly max_iter steps w -= lr·dw, b -= lr·db, by hand here."""
    X, y = cancer
    lr, steps, C = 0.5, 25, 2.0
    model = LogisticRegression(solver="gd", learning_rate=lr, tol=0, max_iter=steps, C=C)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tol=0 asks for no stopping rule, so no warning
        model.fit(X, y)
    n = len(y)
    w, b, costs = np.zeros(X.shape[1]), 0.0, []
    for _ in range(steps):
        a = 1 / (1 + np.exp(-(X @ w + b)))
        costs.append(-np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)) + w @ w / (2 * C * n))
        dz = a - y
        w, b = w - lr * (X.T @ dz / n + w / (C * n)), b - lr * dz.mean()
    assert model.n_iter_ == steps and len(model.loss_curve_) == steps + 1
    np.testing.assert_allclose(model.coef_[0], w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.intercept_[0], b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.loss_curve_[:steps], costs, rtol=1e-12)
    assert model.loss_curve_[0] == pytest.approx(np.log(2))


def test_auto_learning_rate_decreases_the_objective_monotonically(cancer, iris):
    for X, y in (cancer, iris):
        model = LogisticRegression(solver="gd", tol=0, max_iter=200).fit(X, y)
        assert np.all(np.diff(model.loss_curve_) <= 1e-15)


def test_tol_stops_gd_when_the_gradient_is_small(cancer):
    X, y = cancer
    model = LogisticRegression(solver="gd", momentum="nesterov", tol=1e-3, max_iter=5000)
    model.fit(X, y)
    assert model.n_iter_ < 5000
    looser = clone(model).set_params(tol=1e-2).fit(X, y)
    assert looser.n_iter_ < model.n_iter_


# -- weights, dtypes, sparse, chunks, warm start -------------------------------------------------
@pytest.mark.parametrize("solver", list(EXACT))
def test_sample_weight_two_equals_repeated_row(cancer, solver):
    X, y = cancer[0][:150], cancer[1][:150]
    weights = np.ones(len(y))
    weights[::3] = 2
    repeat = np.repeat(np.arange(len(y)), weights.astype(int))
    weighted = LogisticRegression(**EXACT[solver]).fit(X, y, sample_weight=weights)
    repeated = LogisticRegression(**EXACT[solver]).fit(X[repeat], y[repeat])
    assert_same_model(weighted, repeated, rtol=1e-6)


def test_sample_weight_zero_equals_dropped_row(iris):
    X, y = iris
    weights = np.ones(len(y))
    weights[::4] = 0
    weighted = LogisticRegression(**EXACT["lbfgs"]).fit(X, y, sample_weight=weights)
    dropped = LogisticRegression(**EXACT["lbfgs"]).fit(X[weights > 0], y[weights > 0])
    assert_same_model(weighted, dropped, rtol=1e-6)


@pytest.mark.parametrize("solver", ["lbfgs", "gd", "sgd", "adam"])
def test_float32_is_computed_in_float32_and_agrees(cancer, solver):
    X, y = cancer
    params = dict(solver=solver, random_state=0, max_iter=300)
    if solver == "gd":
        params["momentum"] = "nesterov"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m64 = LogisticRegression(**params).fit(X, y)
        m32 = LogisticRegression(**params).fit(X.astype(np.float32), y)
    assert m32.coef_.dtype == np.float32 and m32.intercept_.dtype == np.float32
    assert m64.coef_.dtype == np.float64
    scale = np.abs(m64.coef_).max()
    np.testing.assert_allclose(m32.coef_, m64.coef_, atol=2e-3 * scale)
    assert m32.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_float32_lbfgs_converges_to_float64_optimum(cancer):
    X, y = cancer
    m64 = LogisticRegression(C=0.1, tol=1e-8, max_iter=1000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # float32 stalls near 1e-7
        m32 = LogisticRegression(C=0.1, tol=1e-5, max_iter=1000).fit(X.astype(np.float32), y)
    assert_same_model(m32, m64, rtol=1e-3)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_c_contiguous_float_input_is_not_copied(cancer, monkeypatch, dtype):
    seen = []

    class RecordingObjective(Objective):
        def __init__(self, model, X, *args, **kwargs):
            seen.append(X)
            super().__init__(model, X, *args, **kwargs)

    monkeypatch.setattr(memory_backend, "Objective", RecordingObjective)
    X = np.ascontiguousarray(cancer[0], dtype=dtype)
    LogisticRegression(max_iter=5, tol=1e-2).fit(X, cancer[1])
    assert len(seen) == 1 and seen[0] is X


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["lbfgs", "gd", "sgd"])
def test_sparse_equals_dense(iris, fmt, solver):
    X, y = iris
    X = np.where(np.abs(X) < 0.5, 0.0, X)  # some real zeros
    params = dict(solver=solver, random_state=0, max_iter=50, tol=0 if solver != "lbfgs" else 1e-8)
    dense = LogisticRegression(**params).fit(X, y)
    sparse = LogisticRegression(**params).fit(sp.csr_matrix(X).asformat(fmt), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X).asformat(fmt)),
                               dense.predict_proba(X), rtol=1e-9)


def test_partial_fit_over_shuffled_chunks_reaches_fit_optimum(cancer):
    X, y = cancer[0][:568], cancer[1][:568]  # 4 equal chunks of 142 rows
    C, n_chunks = 0.01, 4
    target = LogisticRegression(C=C, **EXACT["lbfgs"]).fit(X, y)
    # partial_fit minimises each chunk's objective; over m equal chunks that is fit's with C/m
    model = LogisticRegression(C=C * n_chunks, solver="sgd", learning_rate=1.0,
                               lr_schedule="invscaling")
    rng = np.random.default_rng(0)
    chunks = np.array_split(rng.permutation(len(y)), n_chunks)
    for _ in range(300):
        for chunk in rng.permutation(n_chunks):
            model.partial_fit(X[chunks[chunk]], y[chunks[chunk]], classes=[0, 1])
    assert model.n_iter_ == 300 * n_chunks
    assert_same_model(model, target, rtol=5e-3)


def test_partial_fit_with_gd_on_the_whole_data_is_fit_step_by_step(cancer):
    X, y = cancer
    params = dict(solver="gd", learning_rate=0.5, tol=0)
    fitted = LogisticRegression(max_iter=20, **params).fit(X, y)
    stepped = LogisticRegression(**params)
    for _ in range(20):
        stepped.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_allclose(stepped.coef_, fitted.coef_, rtol=1e-12)
    np.testing.assert_allclose(stepped.loss_curve_, fitted.loss_curve_, rtol=1e-12)
    assert stepped.n_iter_ == 20


def test_partial_fit_needs_classes_and_a_stepwise_solver(cancer):
    X, y = cancer
    with pytest.raises(UserError, match="classes"):
        LogisticRegression(solver="sgd").partial_fit(X, y)
    assert not hasattr(LogisticRegression(solver="lbfgs"), "partial_fit")
    model = LogisticRegression(solver="sgd").partial_fit(X, y, classes=[0, 1])
    with pytest.raises(UserError, match="not in classes"):
        model.partial_fit(X[:3], [0, 1, 2])


def test_warm_start_continues_where_it_stopped(cancer):
    X, y = cancer
    params = dict(solver="gd", learning_rate=0.5, tol=0)
    once = LogisticRegression(max_iter=60, **params).fit(X, y)
    twice = LogisticRegression(max_iter=30, warm_start=True, **params).fit(X, y)
    first_curve = twice.loss_curve_
    twice.fit(X, y)
    np.testing.assert_allclose(twice.coef_, once.coef_, rtol=1e-12)
    np.testing.assert_allclose(first_curve[:-1] + twice.loss_curve_, once.loss_curve_,
                               rtol=1e-12)
    cold = LogisticRegression(max_iter=30, **params).fit(X, y)
    cold.fit(X, y)
    assert cold.loss_curve_[0] == pytest.approx(np.log(2))


def test_coef_init_is_the_starting_point(cancer):
    X, y = cancer
    start = LogisticRegression(**EXACT["lbfgs"]).fit(X, y)
    model = LogisticRegression(solver="gd", tol=0, max_iter=1)
    model.fit(X, y, coef_init=start.coef_, intercept_init=start.intercept_)
    assert model.loss_curve_[0] == pytest.approx(start.loss_curve_[-1], rel=1e-12)
    with pytest.raises(UserError, match="coef_init"):
        model.fit(X, y, coef_init=np.zeros(3))


# -- numerical stability --------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["lbfgs", "gd", "sgd", "adam"])
def test_huge_logits_give_no_nan_inf_or_warning(cancer, solver):
    X, y = cancer
    X_big = X * 1e3  # logits reach ±1e4 once the coefficients are of order 1
    start = LogisticRegression(**EXACT["lbfgs"]).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(solver=solver, max_iter=20, random_state=0)
        model.fit(X_big, y, coef_init=start.coef_, intercept_init=start.intercept_)
        assert np.abs(X_big @ start.coef_.T).max() > 1e4
        proba = model.predict_proba(X_big)
        log_proba = model.predict_log_proba(X_big)
    for values in (model.coef_, model.loss_curve_, proba):
        assert np.all(np.isfinite(values))
    assert np.all(np.isfinite(log_proba))


@pytest.mark.parametrize("data", ["binary", "multinomial"])
def test_predict_proba_rows_sum_to_one_with_huge_coefficients(cancer, iris, data):
    X, y = cancer if data == "binary" else iris
    model = LogisticRegression(max_iter=300).fit(X, y)
    model.coef_ = model.coef_ * 1e6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = model.predict_proba(X)
        log_proba = model.predict_log_proba(X)
    assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-15, atol=1e-15)
    assert np.all(np.isfinite(log_proba)) and np.all(log_proba <= 0)


@pytest.mark.parametrize("solver, momentum", [("gd", 0.0), ("gd", "nesterov"), ("gd", 0.9),
                                              ("sgd", 0.0), ("adam", 0.0)])
def test_absurd_learning_rate_raises_divergence_error_and_keeps_best(cancer, solver, momentum):
    X, y = cancer
    model = LogisticRegression(solver=solver, learning_rate=1e9, max_iter=50, random_state=0,
                               momentum=momentum)
    with pytest.raises(DivergenceError, match="learning_rate=1e\\+09"):
        model.fit(X, y)
    assert np.all(np.isfinite(model.coef_))
    assert model.loss_curve_[0] == pytest.approx(np.log(2))
    # the parameters kept are the best seen: here the starting zeros
    assert np.all(model.coef_ == 0) and min(model.loss_curve_) == model.loss_curve_[0]


@pytest.mark.parametrize("solver", ["gd", "sgd"])
def test_a_fit_ending_above_its_start_raises_and_keeps_the_best_parameters(cancer, solver):
    X, y = cancer  # learning_rate=100: the loss swings above log 2 and ends there, never exploding
    model = LogisticRegression(solver=solver, learning_rate=100, max_iter=100, random_state=0)
    with pytest.raises(DivergenceError, match="no progress.*learning_rate=100") as info:
        model.fit(X, y)
    assert info.value.reason == "no_progress"
    curve = info.value.result.loss_curve
    assert curve[-1] >= curve[0] == pytest.approx(np.log(2))
    # coef_/intercept_ hold the best parameters seen: their objective is the curve's minimum
    objective = linear_objective(X, y.astype(float), alpha_l2=model._penalty(len(y))[0])
    best = objective.value(objective.pack([model.coef_[0], model.intercept_[0]]))
    assert best == pytest.approx(min(curve), rel=1e-9) and best < curve[0]


def test_lbfgs_aborting_on_its_first_step_raises_instead_of_keeping_zeros(cancer):
    X, y = cancer
    X = X.copy()
    X[5, 0] = 1e150  # squares still finite, but the first step's logits overflow
    model = LogisticRegression()
    with pytest.raises(DivergenceError, match=r"L-BFGS aborted at iteration 0 \(ABNORMAL.*"
                                              "scale the features") as info:
        model.fit(X, y)
    assert info.value.reason == "aborted"
    assert np.all(model.coef_ == 0)  # the parameters kept: the start, the best seen


def test_a_fit_starting_at_the_minimum_is_no_failure(cancer):
    X, y = cancer
    fitted = LogisticRegression(tol=1e-12, max_iter=1000).fit(X, y)
    for solver in ("gd", "lbfgs"):  # nothing to gain: ending where it started is fine
        again = LogisticRegression(solver=solver, tol=1e-6, max_iter=5)
        again.fit(X, y, coef_init=fitted.coef_, intercept_init=fitted.intercept_)
        np.testing.assert_allclose(again.coef_, fitted.coef_, atol=1e-6)


@pytest.mark.parametrize("value", [1e200, 1e308])
@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_a_value_whose_square_overflows_is_a_user_error_naming_it(cancer, value, solver):
    X, y = cancer
    X = X.copy()
    X[7, 2] = value
    message = re.escape(f"X has {value:g} at row 7, column 2: too large")
    with pytest.raises(UserError, match=message):
        LogisticRegression(solver=solver).fit(X, y)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    with pytest.raises(UserError, match="row 7, column 'f2'"):
        LogisticRegression(solver=solver).fit(frame, y)
    with pytest.raises(UserError, match="row 7, column 2"):
        LogisticRegression(solver=solver).fit(sp.csr_matrix(X), y)


def test_a_C_so_small_that_the_penalty_overflows_is_a_user_error(cancer):
    X, y = cancer
    with pytest.raises(UserError, match="C=1e-320 is invalid.*overflows"):
        LogisticRegression(C=1e-320, solver="gd").fit(X, y)


# -- scikit-learn's parameters --------------------------------------------------------------------
def test_l1_ratio_alone_chooses_the_penalty_as_sklearn_does(cancer):
    X, y = cancer
    settings = dict(C=0.1, **EXACT["gd-nesterov"])
    for ratio, penalty in [(1.0, "l1"), (0.5, "elasticnet"), (0.0, "l2"), (None, "l2")]:
        chosen = LogisticRegression(l1_ratio=ratio, **settings).fit(X, y)
        explicit = LogisticRegression(penalty=penalty, l1_ratio=ratio, **settings).fit(X, y)
        np.testing.assert_array_equal(chosen.coef_, explicit.coef_)
    l1 = LogisticRegression(l1_ratio=1.0, **settings).fit(X, y)
    ref = sklearn_fit(X, y, C=0.1, l1_ratio=1.0, solver="saga")
    assert_same_model(l1, ref, rtol=1e-4)
    assert (l1.coef_ == 0).sum() > 5  # an L1 fit's zeros
    with warnings.catch_warnings():  # C=inf: no penalty (lbfgs may fit it), separable data
        warnings.simplefilter("ignore", ConvergenceWarning)
        LogisticRegression(C=np.inf, l1_ratio=1.0, solver="lbfgs", max_iter=5).fit(X, y)


CONTRADICTIONS = [
    dict(penalty="l2", l1_ratio=0.5),
    dict(penalty="l2", l1_ratio=1.0),
    dict(penalty="l1", l1_ratio=0.0),
    dict(penalty="l1", l1_ratio=0.3),
    dict(penalty=None, C=10.0),
    dict(penalty=None, l1_ratio=0.3),
    dict(penalty="elasticnet", l1_ratio=0.5),  # consistent: no warning
    dict(penalty="l2", l1_ratio=0.0),  # consistent: no warning
]


def _user_warnings(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    return [str(w.message).split(". ")[0] for w in caught if w.category is UserWarning]


@pytest.mark.parametrize("params", CONTRADICTIONS, ids=str)
def test_contradicting_penalty_settings_warn_as_sklearn_warns(iris, params):
    X, y = iris
    ours = _user_warnings(lambda: LogisticRegression(solver="gd", max_iter=3, **params).fit(X, y))
    theirs = _user_warnings(lambda: linear_model.LogisticRegression(
        solver="saga", max_iter=3, **params).fit(X, y))
    assert ours == theirs  # the same warnings, in the same words (first sentence)
    if params.get("penalty") == "l2" and params.get("l1_ratio"):  # penalty wins, as there
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plain = LogisticRegression(solver="gd", max_iter=3).fit(X, y)
            model = LogisticRegression(solver="gd", max_iter=3, **params).fit(X, y)
        np.testing.assert_array_equal(model.coef_, plain.coef_)


def test_n_iter_is_an_array_of_shape_one_as_in_sklearn(iris):
    X, y = iris
    ours = LogisticRegression(max_iter=500).fit(X, y)
    theirs = linear_model.LogisticRegression(max_iter=500).fit(X, y)
    assert isinstance(ours.n_iter_, np.ndarray)
    assert ours.n_iter_.shape == theirs.n_iter_.shape == (1,)
    assert ours.n_iter_.dtype == theirs.n_iter_.dtype
    assert ours.n_iter_[0] == len(ours.loss_curve_) - 1


def test_sklearns_other_parameters_are_accepted_and_change_nothing(iris):
    X, y = iris
    plain = LogisticRegression(max_iter=500).fit(X, y)
    model = LogisticRegression(max_iter=500, n_jobs=2, dual=False, intercept_scaling=3.0)
    assert model.get_params()["n_jobs"] == 2
    np.testing.assert_array_equal(model.fit(X, y).coef_, plain.coef_)
    clone(model).set_params(n_jobs=None, intercept_scaling=1).fit(X, y)
    with pytest.raises(UserError, match="dual=True"):
        LogisticRegression(dual=True).fit(X, y)


# -- scikit-learn API -----------------------------------------------------------------------------
def test_string_and_bool_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = LogisticRegression().fit(X, names)
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(model.predict(X)) <= set(names)
    flags = y == 2
    binary = LogisticRegression().fit(X, flags)
    assert binary.classes_.dtype == bool and binary.coef_.shape == (1, 4)
    assert binary.score(X, flags) > 0.9


def test_lists_and_pandas(iris):
    X, y = iris
    columns = ["sepal length", "sepal width", "petal length", "petal width"]
    frame = pd.DataFrame(X, columns=columns)
    from_frame = LogisticRegression().fit(frame, pd.Series(y))
    from_list = LogisticRegression().fit(X.tolist(), y.tolist())
    assert list(from_frame.feature_names_in_) == columns
    assert not hasattr(from_list, "feature_names_in_")
    np.testing.assert_allclose(from_frame.coef_, from_list.coef_)


def test_pipeline_grid_search_cross_val_score_clone():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(solver="gd", momentum="nesterov",
                                                              max_iter=2000))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.95
    search = GridSearchCV(pipe, {"logisticregression__C": [0.01, 1.0]}, cv=3).fit(X, y)
    assert search.best_params_["logisticregression__C"] in (0.01, 1.0)
    copy = clone(LogisticRegression(C=3.0, solver="sgd"))
    assert copy.get_params()["C"] == 3.0 and not hasattr(copy, "coef_")


def test_deterministic_for_fixed_random_state(cancer):
    X, y = cancer
    for solver in ("sgd", "adam"):
        first = LogisticRegression(solver=solver, random_state=7, max_iter=20, tol=0).fit(X, y)
        again = LogisticRegression(solver=solver, random_state=7, max_iter=20, tol=0).fit(X, y)
        other = LogisticRegression(solver=solver, random_state=8, max_iter=20, tol=0).fit(X, y)
        np.testing.assert_array_equal(first.coef_, again.coef_)
        assert not np.array_equal(first.coef_, other.coef_)


@pytest.mark.parametrize("load", [load_breast_cancer, load_iris, load_wine, load_digits])
def test_default_estimator_converges_without_warnings(load):
    X, y = load(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LogisticRegression().fit(X, y)
    assert model.n_iter_ < 100 and model.score(X, y) > 0.95


def test_not_converging_warns_with_advice(cancer):
    X, y = cancer
    with pytest.warns(ConvergenceWarning, match="scale the data.*raise max_iter.*learning_rate"):
        LogisticRegression(solver="gd", max_iter=3).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        LogisticRegression(max_iter=2).fit(X, y)


def test_early_stopping_records_validation_scores_and_keeps_the_best(cancer):
    X, y = cancer
    model = LogisticRegression(solver="sgd", early_stopping=True, n_iter_no_change=3,
                               validation_fraction=0.2, random_state=0, max_iter=200)
    model.fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_ < 200
    assert max(model.validation_scores_) > 0.9
    assert LogisticRegression().fit(X, y).validation_scores_ is None


@pytest.mark.parametrize("solver", ["gd", "lbfgs"])
def test_verbose_prints_loss_gradient_and_step(cancer, solver):
    X, y = cancer
    out = io.StringIO()
    with redirect_stdout(out):
        model = LogisticRegression(solver=solver, verbose=1, max_iter=3, tol=0).fit(X, y)
    lines = out.getvalue().splitlines()
    assert len(lines) == model.n_iter_ == 3
    assert lines[0].startswith("Iteration 1, loss = ") and "grad norm = " in lines[0]
    assert "step = " in lines[0]
    if solver == "gd":  # gd reports the cost it computed before its first update: log 2
        assert lines[0].startswith("Iteration 1, loss = 0.693147")


@pytest.mark.parametrize("solver", ["lbfgs", "gd", "sgd", "adam"])
def test_callbacks_once_per_iteration_and_can_stop(cancer, solver):
    X, y = cancer
    seen = []
    model = LogisticRegression(solver=solver, callbacks=seen.append, max_iter=8, tol=0,
                               random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert [info["iteration"] for info in seen] == list(range(1, model.n_iter_[0] + 1))
    for info in seen:
        assert {"iteration", "loss", "grad_norm", "step", "coef", "intercept"} <= set(info)
        assert info["coef"].shape == (1, X.shape[1]) and np.isfinite(info["loss"])
    np.testing.assert_allclose(seen[-1]["coef"], model.coef_)
    stopper = LogisticRegression(solver=solver, callbacks=[lambda info: info["iteration"] >= 2],
                                 max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a callback stop is not a convergence failure
        stopper.fit(X, y)
    assert stopper.n_iter_ == 2


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(penalty="l3"), "penalty"),
        (dict(C=-1.0), "parameter C"),
        (dict(solver="newton"), "solver"),
        (dict(penalty="l1", solver="lbfgs"), "solver='lbfgs' cannot handle penalty='l1'"),
        (dict(penalty="l1", solver="adam"), "proximal"),
        (dict(penalty="elasticnet"), "l1_ratio"),
        (dict(learning_rate=0), "learning_rate"),
        (dict(max_iter=0), "max_iter"),
        (dict(tol=-1), "tol"),
        (dict(batch_size=0), "batch_size"),
        (dict(momentum=1.0), "momentum"),
        (dict(momentum="nesterov", solver="sgd"), "momentum"),
        (dict(early_stopping=True), "early_stopping"),
        (dict(callbacks=3), "callbacks"),
        (dict(class_weight={0: -1.0}), r"class_weight=\{0: -1.0, ...\}.*>= 0"),
        (dict(class_weight={1: np.inf}), r"class_weight=\{1: inf, ...\}"),
        (dict(class_weight={0: 0.0, 1: 0.0, 2: 0.0}), "every row weight 0"),
        (dict(l1_ratio=1.5), "l1_ratio=1.5"),
        (dict(l1_ratio=1.0), "solver='lbfgs' cannot handle l1_ratio=1.0"),
        (dict(dual=True), "dual=True"),
        (dict(intercept_scaling=0), "intercept_scaling"),
        (dict(n_jobs="all"), "n_jobs"),
    ],
)
def test_bad_parameters_raise_one_line_user_error(iris, params, match):
    X, y = iris
    with pytest.raises(UserError, match=match) as info:
        LogisticRegression(**params).fit(X, y)
    assert "\n" not in str(info.value)


def test_bad_sample_weight_and_labels(iris):
    X, y = iris
    with pytest.raises(UserError, match="sample_weight has shape"):
        LogisticRegression().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(UserError, match="negative value at row 5"):
        LogisticRegression().fit(X, y, sample_weight=np.where(np.arange(150) == 5, -1.0, 1.0))
    with pytest.raises(UserError, match="at least 2 classes"):
        LogisticRegression().fit(X, np.zeros(150))
