"""Update rules. A solver knows parameters and a *problem*, never data.

A problem offers ``loss_and_grad(theta, batch) -> (F, grad)``, ``value(theta, batch) -> F`` and
``prox(theta, step) -> theta`` (see :class:`lograd.objective.Objective`); ``batch`` is an opaque
token chosen by the training loop and passed through. Each solver's ``step`` makes one update and
returns the new parameters (a new array: callers may keep the old one) and a :class:`StepInfo`.

Every solver's state (learning rate, momentum buffers, moments, ...) is a dict from
``state_dict()`` and goes back in with ``load_state_dict(state)`` (PyTorch's names): a solver
given the state of another after k steps continues exactly as that one would have. The dicts
hold floats, ints, None and arrays (references: solvers replace their arrays, never modify them
in place).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize


@dataclass
class StepInfo:
    """What one update saw: ``loss`` is F at the parameters *before* the update (None if the
    solver did not evaluate it there), ``grad_norm`` the Euclidean norm of the (proximal)
    gradient used, ``grad_max`` its largest absolute entry, ``step`` the learning rate."""

    loss: float | None
    grad_norm: float
    grad_max: float
    step: float


def _info(loss, direction, step) -> StepInfo:
    return StepInfo(loss, float(np.linalg.norm(direction)), float(np.max(np.abs(direction),
                                                                           initial=0.0)), step)


def gradient_mapping(grad, descent, proxed, eta):
    """``(θ - prox(θ - η g))/η`` written as ``g + (u - prox(u))/η`` with ``u = θ - η g``: exactly
    ``g`` where the prox changes nothing (no rounding from dividing a difference by η)."""
    return grad + (descent - proxed) / eta


class GradientDescent:
    """Proximal gradient descent, optionally with heavy-ball or Nesterov momentum.

    ``θ_new = prox_η(θ + μ·(θ - θ_prev) - η·∇f(θ))``; with ``μ = 0`` this is the textbook
    ``θ ← θ - η·∇f(θ)`` (plus soft-thresholding when there is an L1 term). Used for full-batch
    ``'gd'`` and mini-batch ``'sgd'`` alike. The reported gradient is the gradient mapping
    ``(θ - prox_η(θ - η∇f(θ)))/η``: the gradient itself without an L1 term, and zero exactly at
    a minimiser with one.

    ``nesterov=True`` is scikit-learn's MLP form of Nesterov's momentum (no L1 term): with the
    velocity ``v ← μ·v - η·∇f(θ)`` (v = 0 at first), the step is ``θ ← θ + μ·v - η·∇f(θ)``.
    """

    def __init__(self, learning_rate: float, momentum: float = 0.0, nesterov: bool = False):
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.velocity = None

    def step(self, theta, problem, batch=None):
        loss, grad = problem.loss_and_grad(theta, batch)
        eta = self.learning_rate
        descent = theta - eta * grad
        plain = problem.prox(descent, eta)
        if self.nesterov and self.momentum:
            velocity = -eta * grad if self.velocity is None else (
                self.momentum * self.velocity - eta * grad)
            new = theta + (self.momentum * velocity - eta * grad)
            self.velocity = velocity
        else:
            if self.momentum and self.velocity is not None:
                new = problem.prox(theta + self.momentum * self.velocity - eta * grad, eta)
            else:
                new = plain
            if self.momentum:
                self.velocity = new - theta  # v_k = θ_k - θ_{k-1}, after the prox
        return new, _info(loss, gradient_mapping(grad, descent, plain, eta), eta)

    def state_dict(self) -> dict:
        return {"learning_rate": self.learning_rate, "velocity": self.velocity}

    def load_state_dict(self, state) -> None:
        self.learning_rate = float(state["learning_rate"])
        self.velocity = state["velocity"]


class AcceleratedGradient:
    """Nesterov's accelerated proximal gradient (FISTA) with adaptive restart.

    ``x_{k+1} = prox_η(y_k - η∇f(y_k))``, ``t_{k+1} = (1 + √(1 + 4t_k²))/2``,
    ``y_{k+1} = x_{k+1} + (t_k - 1)/t_{k+1}·(x_{k+1} - x_k)``; the momentum restarts
    (``t = 1``) whenever F increases (O'Donoghue & Candès, 2015), which makes the method linearly
    convergent on strongly convex objectives such as the L2-penalized log-loss. With ``η ≤ 1/L``
    it converges for any convex objective.
    """

    def __init__(self, learning_rate: float):
        self.learning_rate = float(learning_rate)
        self.y = None
        self.t = 1.0
        self.loss_at_theta = None

    def step(self, theta, problem, batch=None):
        eta = self.learning_rate
        if self.y is None or self.y.shape != theta.shape:
            self.y, self.t, self.loss_at_theta = theta, 1.0, None
        loss_before = self.loss_at_theta
        if loss_before is None:
            loss_before = problem.value(theta, batch)
        _, grad = problem.loss_and_grad(self.y, batch)
        descent = self.y - eta * grad
        new = problem.prox(descent, eta)
        mapping = gradient_mapping(grad, descent, new, eta)
        loss_new = problem.value(new, batch)
        if loss_new > loss_before:  # restart: forget the momentum
            self.t, self.y = 1.0, new
        else:
            t_next = (1.0 + math.sqrt(1.0 + 4.0 * self.t * self.t)) / 2.0
            self.y = new + ((self.t - 1.0) / t_next) * (new - theta)
            self.t = t_next
        self.loss_at_theta = loss_new
        return new, _info(loss_before, mapping, eta)

    def state_dict(self) -> dict:
        return {"learning_rate": self.learning_rate, "y": self.y, "t": self.t,
                "loss_at_theta": self.loss_at_theta}

    def load_state_dict(self, state) -> None:
        self.learning_rate = float(state["learning_rate"])
        self.y, self.t, self.loss_at_theta = state["y"], float(state["t"]), state["loss_at_theta"]


class Adam:
    """Adam (Kingma & Ba, 2015) on the gradient of the smooth objective.

    ``m ← β₁m + (1-β₁)g``, ``v ← β₂v + (1-β₂)g²``, ``θ ← θ - η·m̂/(√v̂ + ε)`` with the bias
    corrections ``m̂ = m/(1-β₁ᵗ)``, ``v̂ = v/(1-β₂ᵗ)``. No L1 term: its prox does not fit the
    per-coordinate scaling.
    """

    def __init__(self, learning_rate: float, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.learning_rate = float(learning_rate)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.m = self.v = None
        self.t = 0

    def step(self, theta, problem, batch=None):
        loss, grad = problem.loss_and_grad(theta, batch)
        if self.m is None or self.m.shape != grad.shape:
            self.m, self.v, self.t = np.zeros_like(grad), np.zeros_like(grad), 0
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad * grad
        m_hat = self.m / (1 - self.beta1 ** self.t)
        v_hat = self.v / (1 - self.beta2 ** self.t)
        new = theta - self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)
        return new.astype(theta.dtype, copy=False), _info(loss, grad, self.learning_rate)

    def state_dict(self) -> dict:
        return {"learning_rate": self.learning_rate, "m": self.m, "v": self.v, "t": self.t}

    def load_state_dict(self, state) -> None:
        self.learning_rate = float(state["learning_rate"])
        self.m, self.v, self.t = state["m"], state["v"], int(state["t"])


def lbfgs(problem, theta0, *, max_iter, tol, callback=None, options=None):
    """Minimise the smooth problem with SciPy's L-BFGS-B, gradients from ``loss_and_grad``.

    scikit-learn's settings: ``gtol=tol`` (stop when the largest absolute gradient entry is at
    most ``tol``), ``ftol=64·eps``, ``maxls=50``. SciPy works in float64; a float32 problem is
    evaluated in float32 and converted at this boundary only.

    Parameters
    ----------
    problem : object with ``loss_and_grad(theta)``
    theta0 : ndarray of shape (n_params,)
    max_iter : int
    tol : float
    callback : callable, optional
        ``callback(theta, loss, grad)`` after every iteration; may raise StopIteration.
    options : dict, optional
        SciPy options that replace these (scikit-learn's MLP: ``maxfun`` and SciPy's default
        ``ftol`` and ``maxls``).

    Returns
    -------
    scipy.optimize.OptimizeResult (``x`` is float64).
    """
    dtype = theta0.dtype
    last = {}

    def fun(theta64):
        loss, grad = problem.loss_and_grad(theta64.astype(dtype, copy=False))
        last["x"], last["loss"], last["grad"] = theta64.copy(), loss, grad
        return loss, grad.astype(np.float64)

    def on_iteration(intermediate_result):
        x = intermediate_result.x
        if "x" in last and np.array_equal(last["x"], x):
            loss, grad = last["loss"], last["grad"]
        else:
            loss, grad = problem.loss_and_grad(x.astype(dtype, copy=False))
        callback(x, loss, grad)

    return optimize.minimize(
        fun, np.asarray(theta0, dtype=np.float64), method="L-BFGS-B", jac=True,
        callback=on_iteration if callback else None,
        options={"maxiter": max_iter, "gtol": tol, "ftol": 64 * np.finfo(float).eps,
                 "maxls": 50, **(options or {})},
    )
