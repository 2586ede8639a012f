"""Solvers and the training loop on problems with closed-form answers (no data involved)."""

import numpy as np
import pytest

from lograd.errors import DivergenceError
from lograd.solvers import AcceleratedGradient, Adam, GradientDescent, lbfgs
from lograd.training import TrainingDiverged, fit_iterative, fit_lbfgs


class Quadratic:
    """F(θ) = ½θᵀAθ - cᵀθ + α‖θ‖₁: the problem interface of lograd.objective.Objective.

    ``batch`` (when given) is a scale factor on the gradient, so tests can see it pass through.
    """

    def __init__(self, A, c, alpha_l1=0.0, dtype=np.float64):
        self.A, self.c, self.alpha_l1 = np.asarray(A, dtype), np.asarray(c, dtype), alpha_l1
        self.batches_seen = []

    def value(self, theta, batch=None):
        return float(0.5 * theta @ self.A @ theta - self.c @ theta
                     + self.alpha_l1 * np.abs(theta).sum())

    def loss_and_grad(self, theta, batch=None):
        self.batches_seen.append(batch)
        grad = self.A @ theta - self.c
        return self.value(theta), grad if batch is None else grad * batch

    def prox(self, theta, step):
        return np.sign(theta) * np.maximum(np.abs(theta) - step * self.alpha_l1, 0.0)

    @property
    def lipschitz(self):
        return float(np.linalg.eigvalsh(self.A)[-1])

    @property
    def minimiser(self):
        return np.linalg.solve(self.A, self.c)


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    A = Q @ np.diag([100.0, 30.0, 10.0, 3.0, 1.0, 0.5]) @ Q.T  # condition number 200
    return Quadratic(A, rng.standard_normal(6))


def run(problem, solver, max_iter, tol=0.0, **kwargs):
    return fit_iterative(problem, solver, np.zeros(len(problem.c)), max_iter=max_iter, tol=tol,
                         **kwargs)


def test_gd_step_is_theta_minus_rate_times_gradient(problem):
    theta = np.arange(6.0)
    new, info = GradientDescent(0.01).step(theta, problem)
    gradient = problem.A @ theta - problem.c
    np.testing.assert_allclose(new, theta - 0.01 * gradient, rtol=1e-15)
    assert info.loss == problem.value(theta) and info.step == 0.01
    assert info.grad_norm == pytest.approx(np.linalg.norm(gradient))


def test_heavy_ball_momentum_by_hand(problem):
    solver, mu, eta = GradientDescent(0.005, momentum=0.9), 0.9, 0.005
    theta0 = np.ones(6)
    theta1, _ = solver.step(theta0, problem)
    theta2, _ = solver.step(theta1, problem)
    g = lambda t: problem.A @ t - problem.c  # noqa: E731
    expected1 = theta0 - eta * g(theta0)
    expected2 = theta1 + mu * (expected1 - theta0) - eta * g(expected1)
    np.testing.assert_allclose(theta1, expected1, rtol=1e-14)
    np.testing.assert_allclose(theta2, expected2, rtol=1e-14)


@pytest.mark.parametrize("make", [
    lambda L: GradientDescent(1 / L),
    lambda L: GradientDescent(1 / L, momentum=0.5),
    lambda L: AcceleratedGradient(1 / L),
])
def test_full_batch_solvers_reach_the_closed_form_minimiser(problem, make):
    result = run(problem, make(problem.lipschitz), max_iter=20_000, tol=1e-10)
    assert result.converged and result.stopped_by == "tol"
    np.testing.assert_allclose(result.theta, problem.minimiser, rtol=1e-8, atol=1e-9)


def test_acceleration_needs_far_fewer_iterations(problem):
    plain = run(problem, GradientDescent(1 / problem.lipschitz), max_iter=20_000, tol=1e-8)
    fast = run(problem, AcceleratedGradient(1 / problem.lipschitz), max_iter=20_000, tol=1e-8)
    assert fast.n_iter * 4 < plain.n_iter


@pytest.mark.parametrize("solver_class", [GradientDescent, AcceleratedGradient])
def test_proximal_steps_solve_the_lasso_in_closed_form(solver_class):
    """Diagonal A: the L1 minimiser is soft-thresholding, θ_i = S(c_i, α)/A_ii."""
    A = np.diag([4.0, 2.0, 1.0, 0.5])
    c = np.array([3.0, -0.2, 0.5, -2.0])
    problem = Quadratic(A, c, alpha_l1=0.4)
    result = run(problem, solver_class(1 / 4.0), max_iter=5000, tol=1e-12)
    expected = np.sign(c) * np.maximum(np.abs(c) - 0.4, 0) / np.diag(A)
    np.testing.assert_allclose(result.theta, expected, atol=1e-10)
    assert result.theta[1] == 0.0  # exactly zero, not merely small


def test_adam_first_step_and_convergence(problem):
    theta = np.ones(6)
    gradient = problem.A @ theta - problem.c
    new, _ = Adam(0.1).step(theta, problem)
    # bias-corrected m̂ = g, v̂ = g², so the first step is -η·g/(|g| + ε)
    np.testing.assert_allclose(new, theta - 0.1 * gradient / (np.abs(gradient) + 1e-8))
    result = run(problem, Adam(0.01), max_iter=20_000, schedule="constant")
    np.testing.assert_allclose(result.theta, problem.minimiser, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lbfgs_reaches_the_minimiser(problem, dtype):
    problem = Quadratic(problem.A, problem.c, dtype=dtype)
    result = lbfgs(problem, np.zeros(6, dtype=dtype), max_iter=200, tol=1e-10)
    atol = 1e-8 if dtype == np.float64 else 1e-3
    np.testing.assert_allclose(result.x, problem.minimiser, atol=atol)


def test_fit_lbfgs_records_the_curve_and_reports(problem):
    seen = []
    result = fit_lbfgs(problem, np.zeros(6), max_iter=200, tol=1e-10, callbacks=[seen.append])
    assert result.converged and len(result.loss_curve) == result.n_iter + 1
    assert result.loss_curve[0] == 0.0 and np.all(np.diff(result.loss_curve) <= 0)
    assert [info["iteration"] for info in seen] == list(range(1, result.n_iter + 1))
    assert result.loss_curve[-1] == pytest.approx(problem.value(problem.minimiser), rel=1e-10)


# -- the training loop ----------------------------------------------------------------------------
def test_tol_zero_runs_exactly_max_iter_and_records_every_value(problem):
    result = run(problem, GradientDescent(0.001), max_iter=37)
    assert result.n_iter == 37 and len(result.loss_curve) == 38 and not result.converged
    theta = np.zeros(6)
    for k in range(38):
        assert result.loss_curve[k] == pytest.approx(problem.value(theta), rel=1e-13, abs=1e-15)
        theta = theta - 0.001 * (problem.A @ theta - problem.c)


def test_exploding_objective_raises_with_learning_rate_and_best_parameters(problem):
    with pytest.raises(TrainingDiverged, match=r"learning_rate=0\.1\b.*best parameters") as info:
        run(problem, GradientDescent(0.1), max_iter=500)  # 0.1 > 2/L = 0.02: explodes
    assert isinstance(info.value, DivergenceError)
    kept = info.value.result
    assert kept.loss_curve[-1] > 1e3 * max(1.0, kept.loss_curve[0]) or not np.isfinite(
        kept.loss_curve[-1])
    assert problem.value(kept.theta) == min(kept.loss_curve)


def test_nan_is_divergence(problem):
    class Poisoned(Quadratic):
        def loss_and_grad(self, theta, batch=None):
            loss, grad = super().loss_and_grad(theta, batch)
            return (np.nan, grad) if np.abs(theta).max() > 0 else (loss, grad)

    with pytest.raises(TrainingDiverged, match="non-finite"):
        run(Poisoned(problem.A, problem.c), GradientDescent(0.001), max_iter=10)


def test_callbacks_get_the_documented_keys_and_can_stop(problem):
    seen = []

    def stop_at_five(info):
        seen.append(info)
        return info["iteration"] == 5

    result = run(problem, GradientDescent(0.001), max_iter=100, callbacks=[stop_at_five],
                 describe=lambda theta: {"params": theta.copy()})
    assert result.n_iter == 5 and result.stopped_by == "callback" and result.converged
    assert set(seen[0]) >= {"iteration", "loss", "grad_norm", "step", "max_iter", "params"}
    assert seen[0]["loss"] == 0.0 and seen[0]["step"] == 0.001 and seen[0]["max_iter"] == 100


def test_minibatch_tokens_pass_through_and_loss_rule_stops(problem):
    epochs = []

    def batches(epoch):
        epochs.append(epoch)
        return [0.5, 1.5]  # two "batches": gradient scaled by 1/2 and 3/2, mean 1

    result = run(problem, GradientDescent(0.005), max_iter=10_000, tol=1e-9, batches=batches,
                 n_iter_no_change=3)
    assert result.stopped_by == "tol" and result.n_iter < 10_000
    assert epochs == list(range(result.n_iter))
    assert problem.batches_seen[:4] == [0.5, 1.5, 0.5, 1.5]
    assert len(result.loss_curve) == result.n_iter + 1
    np.testing.assert_allclose(result.theta, problem.minimiser, atol=1e-2)


def test_schedules(problem):
    steps = []
    run(problem, GradientDescent(0.01), max_iter=4, batches=lambda e: [None],
        schedule="invscaling", callbacks=[lambda info: steps.append(info["step"])])
    np.testing.assert_allclose(steps, 0.01 / np.sqrt([1, 2, 3, 4]))
    solver = GradientDescent(0.01)
    result = run(problem, solver, max_iter=10_000, tol=1e-3, batches=lambda e: [None],
                 schedule="adaptive", n_iter_no_change=2)
    assert result.stopped_by == "tol" and solver.learning_rate <= 1e-6


def test_early_stopping_keeps_the_best_scored_parameters(problem):
    scores = iter([0.1, 0.5, 0.9, 0.8, 0.85, 0.7, 0.9, 0.2])
    thetas = []

    def score(theta):
        thetas.append(theta)
        return next(scores)

    result = run(problem, GradientDescent(0.001), max_iter=50, tol=0.0, validation_score=score,
                 n_iter_no_change=4)
    assert result.validation_scores == [0.1, 0.5, 0.9, 0.8, 0.85, 0.7, 0.9]
    assert result.stopped_by == "early_stopping" and result.n_iter == 7
    assert result.theta is thetas[2]
