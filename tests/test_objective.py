"""The objective's value against closed forms, its gradient against finite differences."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, logsumexp
from tests.linear_support import linear_objective

from lograd import gradcheck
from lograd.autodiff.engine import Tensor
from lograd.losses import unfused_data_loss as data_loss
from lograd.models.linear import Linear
from lograd.objective import Objective, penalty_strengths


def make_problem(n=40, d=5, k=None, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    if k is None:
        Y = (rng.random(n) < 0.4).astype(dtype)
    else:
        Y = np.eye(k, dtype=dtype)[rng.integers(0, k, n)]
    weights = rng.uniform(0.2, 3.0, n).astype(dtype)
    return X, Y, weights, rng


def closed_form_loss(X, Y, weights, w, b):
    """Σ s_i·loss_i / Σ s_i written out in NumPy: -y log σ(z) - (1-y) log σ(-z), or softmax."""
    z = X @ w + b
    if Y.ndim == 1:
        per_row = -(Y * np.log(expit(z)) + (1 - Y) * np.log(expit(-z)))
    else:
        per_row = logsumexp(z, axis=1) - (Y * z).sum(axis=1)
    return float(np.sum(weights * per_row) / np.sum(weights))


@pytest.mark.parametrize("k", [None, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_data_loss_value_is_the_weighted_mean_log_loss(k, weighted):
    X, Y, weights, rng = make_problem(k=k)
    w = rng.standard_normal(X.shape[1] if k is None else (X.shape[1], k))
    b = rng.standard_normal(() if k is None else (k,))
    s = weights if weighted else None
    value = data_loss(X, Tensor(w), Tensor(b), Y, s).item()
    expected = closed_form_loss(X, Y, weights if weighted else np.ones(len(Y)), w, b)
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("k", [None, 3])
@pytest.mark.parametrize("sparse", [False, True])
def test_data_loss_gradient_matches_finite_differences(k, sparse):
    X, Y, weights, rng = make_problem(k=k)
    w = rng.standard_normal(X.shape[1] if k is None else (X.shape[1], k))
    b = rng.standard_normal(() if k is None else (k,))
    X_used = sp.csr_matrix(np.where(np.abs(X) < 0.7, 0, X)) if sparse else X
    gradcheck(lambda w_, b_: data_loss(X_used, w_, b_, Y, weights), w, b)


@pytest.mark.parametrize("k", [None, 4])
@pytest.mark.parametrize("penalty, l1_ratio", [("l2", None), ("elasticnet", 0.3)])
def test_objective_is_sklearns_divided_by_c_times_weight_sum(k, penalty, l1_ratio):
    """C·S·F = C·Σ s_i loss_i + (1-r)·½‖w‖² + r·‖w‖₁: scikit-learn's primal objective."""
    X, Y, weights, rng = make_problem(k=k)
    C, S = 0.7, weights.sum()
    alpha_l2, alpha_l1 = penalty_strengths(penalty, C, l1_ratio, S)
    objective = linear_objective(X, Y, weights, alpha_l2=alpha_l2, alpha_l1=alpha_l1)
    theta = rng.standard_normal(objective.n_params)
    w, b = objective.unpack(theta)
    ratio = l1_ratio or 0.0
    sklearn_primal = (C * S * closed_form_loss(X, Y, weights, w, b)
                      + (1 - ratio) * 0.5 * np.sum(w * w) + ratio * np.abs(w).sum())
    assert C * S * objective.value(theta) == pytest.approx(sklearn_primal, rel=1e-12)
    assert C * S * objective.loss_and_grad(theta)[0] == pytest.approx(sklearn_primal, rel=1e-12)


@pytest.mark.parametrize("k", [None, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_loss_and_grad_gradient_matches_finite_differences_of_value(k, fit_intercept):
    X, Y, weights, rng = make_problem(k=k)
    objective = linear_objective(X, Y, weights, alpha_l2=0.3, fit_intercept=fit_intercept)
    theta = rng.standard_normal(objective.n_params)
    _, grad = objective.loss_and_grad(theta)
    eps = 1e-6
    numeric = np.array([(objective.value(theta + eps * e) - objective.value(theta - eps * e))
                        / (2 * eps) for e in np.eye(len(theta))])
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_intercept_is_not_penalized():
    X, Y, weights, rng = make_problem()
    plain = linear_objective(X, Y, weights)
    penalized = linear_objective(X, Y, weights, alpha_l2=5.0)
    theta = np.zeros(plain.n_params)
    theta[-1] = 3.0  # only the intercept is non-zero
    assert penalized.value(theta) == plain.value(theta)
    np.testing.assert_array_equal(penalized.loss_and_grad(theta)[1],
                                  plain.loss_and_grad(theta)[1])


def test_batch_uses_its_rows_and_the_full_penalty():
    X, Y, weights, rng = make_problem()
    objective = linear_objective(X, Y, weights, alpha_l2=0.5)
    theta = rng.standard_normal(objective.n_params)
    rows = np.array([3, 7, 11, 20])
    w, b = objective.unpack(theta)
    expected = closed_form_loss(X[rows], Y[rows], weights[rows], w, b) + 0.25 * np.sum(w * w)
    assert objective.value(theta, rows) == pytest.approx(expected, rel=1e-12)


def test_prox_is_soft_thresholding_of_the_weights_only():
    X, Y, weights, _ = make_problem(d=3)
    objective = linear_objective(X, Y, weights, alpha_l1=2.0)
    theta = np.array([0.5, -3.0, 1.2, 7.0])  # three weights, then the intercept
    np.testing.assert_allclose(objective.prox(theta, 0.5), [0.0, -2.0, 0.2, 7.0])


@pytest.mark.parametrize("k", [None, 3])
@pytest.mark.parametrize("sparse", [False, True])
def test_lipschitz_bound_exceeds_the_hessian_spectrum(k, sparse):
    """L >= the largest Hessian eigenvalue at random points (finite differences of the grad)."""
    X, Y, weights, rng = make_problem(n=60, d=4, k=k)
    X = X * np.array([1.0, 3.0, 0.2, 1.0])
    X_used = sp.csr_matrix(X) if sparse else X
    objective = linear_objective(X_used, Y, weights, alpha_l2=0.1)
    bound = objective.lipschitz()
    for scale in (0.0, 0.3, 1.0):
        theta = scale * rng.standard_normal(objective.n_params)
        top = np.linalg.eigvalsh(numeric_hessian(objective, theta))[-1]
        assert top <= bound
        if scale == 0.0 and k is None:  # σ'(0) = 1/4 exactly: the bound is attained at 0
            assert bound == pytest.approx(top, rel=1e-5)


def numeric_hessian(objective, theta, eps=1e-6):
    columns = [(objective.loss_and_grad(theta + eps * e)[1]
                - objective.loss_and_grad(theta - eps * e)[1]) / (2 * eps)
               for e in np.eye(len(theta))]
    hessian = np.array(columns)
    return (hessian + hessian.T) / 2


def test_trace_bound_is_used_for_many_features(monkeypatch):
    import lograd.objective as objective_module

    X, Y, weights, _ = make_problem(n=30, d=6)
    exact = linear_objective(X, Y, weights).lipschitz()
    monkeypatch.setattr(objective_module, "MAX_EXACT_GRAM", 3)
    trace = linear_objective(X, Y, weights).lipschitz()
    assert trace >= exact
    row_norms = np.einsum("ij,ij->i", X, X) + 1
    assert trace == pytest.approx(0.25 * (row_norms @ weights) / weights.sum(), rel=1e-5)


def test_float32_graph_stays_float32():
    X, Y, weights, rng = make_problem(dtype=np.float32)
    objective = linear_objective(X, Y, weights, alpha_l2=0.1)
    theta = rng.standard_normal(objective.n_params).astype(np.float32)
    loss, grad = objective.loss_and_grad(theta)
    assert grad.dtype == np.float32
    X64 = linear_objective(X.astype(np.float64), Y.astype(np.float64), weights.astype(np.float64),
                    alpha_l2=0.1)
    loss64, grad64 = X64.loss_and_grad(theta.astype(np.float64))
    assert loss == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(grad, grad64, rtol=1e-4, atol=1e-6)


def test_the_objective_asks_the_model_for_its_data_term():
    """The model seam: the objective calls ``model.data_term`` with the parameters and rows."""
    X, Y, weights, rng = make_problem()
    calls = []

    class RecordingLinear(Linear):
        def data_term(self, params, X_, Y_, s=None):
            calls.append((X_.shape, tuple(p.shape for p in params), Y_.shape,
                          None if s is None else s.shape))
            return super().data_term(params, X_, Y_, s)

    objective = Objective(RecordingLinear(5), X, Y, weights, alpha_l2=0.2, compiled=False)
    reference = linear_objective(X, Y, weights, alpha_l2=0.2)
    theta = rng.standard_normal(objective.n_params)
    np.testing.assert_array_equal(objective.loss_and_grad(theta)[1],
                                  reference.loss_and_grad(theta)[1])
    assert calls == [((40, 5), ((5,), ()), (40,), (40,))]
