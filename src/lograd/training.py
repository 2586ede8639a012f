"""The loop around a solver: batches, history, stopping rules, divergence guard, callbacks.

One *iteration* is one update of full-batch gradient descent, one epoch (a pass over shuffled
mini-batches) of ``'sgd'``/``'adam'``, or one L-BFGS iteration. The loop records
``loss_curve[k]``, the objective after ``k`` iterations (``loss_curve[0]`` at the initial
parameters), and calls every callback once per iteration with a dict (see :func:`fit_iterative`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lograd.errors import DivergenceError
from lograd.solvers import lbfgs

#: The objective "explodes" when it exceeds this many times max(1, its initial value).
DIVERGENCE_FACTOR = 1e3


@dataclass
class TrainingResult:
    """What a training run produced: final parameters and the history."""

    theta: np.ndarray
    loss_curve: list = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False
    stopped_by: str = "max_iter"  # 'tol', 'max_iter', 'early_stopping', 'callback', ...
    validation_scores: list | None = None
    learning_rate: float | None = None
    message: str = ""


class TrainingDiverged(DivergenceError):
    """The objective became NaN/inf or exploded; ``result`` holds the best parameters seen."""

    def __init__(self, message, result: TrainingResult):
        super().__init__(message)
        self.result = result


class _Tracker:
    """Keeps the history, the best parameters, and talks to callbacks and the console."""

    def __init__(self, callbacks, verbose, describe, max_iter):
        self.callbacks, self.verbose, self.describe = callbacks or [], verbose, describe
        self.max_iter = max_iter
        self.loss_curve = []
        self.best_theta, self.best_loss, self.best_iteration = None, np.inf, 0

    def record(self, theta, loss):
        """Append F(theta) to the curve, keeping theta if it is the best so far."""
        self.loss_curve.append(loss)
        if np.isfinite(loss) and loss < self.best_loss:
            self.best_theta, self.best_loss = theta, loss
            self.best_iteration = len(self.loss_curve) - 1

    def check_divergence(self, loss, iteration, learning_rate, n_iter):
        limit = DIVERGENCE_FACTOR * max(1.0, self.loss_curve[0])
        if np.isfinite(loss) and loss <= limit:
            return
        what = "became non-finite" if not np.isfinite(loss) else f"exploded to {loss:.3g}"
        result = TrainingResult(self.best_theta, list(self.loss_curve), n_iter, False,
                                "diverged", learning_rate=learning_rate)
        raise TrainingDiverged(
            f"training diverged: the objective {what} at iteration {iteration} with "
            f"learning_rate={learning_rate:.6g}; lower learning_rate (or use "
            f"learning_rate='auto'); the best parameters seen (objective "
            f"{self.best_loss:.6g} at iteration {self.best_iteration}) were kept", result)

    def report(self, iteration, loss, grad_norm, step, theta, **extra) -> bool:
        """Print and call the callbacks; True when a callback asks to stop."""
        if self.verbose:
            line = (f"Iteration {iteration}, loss = {loss:.8g}, grad norm = {grad_norm:.4g}, "
                    f"step = {step:.4g}")
            if extra.get("validation_score") is not None:
                line += f", validation score = {extra['validation_score']:.6g}"
            print(line, flush=True)
        if not self.callbacks:
            return False
        info = {"iteration": iteration, "loss": loss, "grad_norm": grad_norm, "step": step,
                "max_iter": self.max_iter, **self.describe(theta), **extra}
        stop = False
        for callback in self.callbacks:
            stop = bool(callback(dict(info))) or stop
        return stop


def fit_iterative(problem, solver, theta0, *, max_iter, tol, batches=None, stop_rule="gradient",
                  n_iter_no_change=10, schedule="constant", power_t=0.5, validation_score=None,
                  callbacks=None, verbose=0, describe=lambda theta: {}):
    """Run a step-based solver (gd, sgd, adam) until a stopping rule fires.

    Parameters
    ----------
    problem : Objective-like
        ``loss_and_grad``, ``value``, ``prox`` (see :mod:`lograd.solvers`).
    solver : object with ``step(theta, problem, batch)`` and a ``learning_rate`` attribute
    theta0 : ndarray of shape (n_params,)
    max_iter : int
        Most iterations (full-batch steps or epochs).
    tol : float
        ``stop_rule='gradient'`` (full batch): converged when the largest absolute entry of the
        (proximal) gradient at the current parameters is ``<= tol``.
        ``stop_rule='loss'`` (mini-batch): converged when the objective has not fallen below
        ``best - tol`` for ``n_iter_no_change`` consecutive epochs. With early stopping the same
        rule applies to the validation score (rising above ``best + tol``). ``tol=0`` with the
        gradient rule runs exactly ``max_iter`` steps.
    batches : callable, optional
        ``batches(epoch) -> list of batch tokens`` for mini-batch solvers; None means full batch.
    schedule : {'constant', 'invscaling', 'adaptive'}
        Learning rate per epoch: constant; ``η₀/(epoch+1)^power_t``; or divided by 5 each time
        the loss rule fires, stopping once it falls below 1e-6.
    validation_score : callable, optional
        ``score(theta) -> float`` (higher is better), evaluated after every iteration; turns on
        early stopping, and the best-scoring parameters are returned.
    callbacks : list of callables
        Each called as ``cb(info)`` once per iteration with keys ``iteration`` (1-based),
        ``loss``, ``grad_norm``, ``step``, ``max_iter``, the keys of ``describe(theta)``, and
        ``validation_score`` with early stopping. For full-batch ``'gd'`` ``loss`` and
        ``grad_norm`` are the iteration's cost and gradient at the parameters it started from
        (the lecture's order: cost, gradients, update); for epochs they are the full objective
        after the epoch and the norm of the epoch's last gradient. A callback returning True
        stops the fit.
    verbose : int
        Print one line per iteration when > 0.

    Returns
    -------
    TrainingResult

    Raises
    ------
    TrainingDiverged
        When the objective becomes NaN/inf or exceeds ``DIVERGENCE_FACTOR·max(1, F(theta0))``.
    """
    tracker = _Tracker(callbacks, verbose, describe, max_iter)
    full_batch = batches is None
    theta, stopped_by, no_improvement = theta0, "max_iter", 0
    scores, best_score, best_scored_theta = [], -np.inf, theta0
    initial_rate = solver.learning_rate
    if not full_batch:
        tracker.record(theta, problem.value(theta))
    iteration = 0
    for iteration in range(1, max_iter + 1):
        if schedule == "invscaling":
            solver.learning_rate = initial_rate / iteration ** power_t
        start = theta
        for batch in [None] if full_batch else batches(iteration - 1):
            theta, info = solver.step(theta, problem, batch)
            if not np.isfinite(info.grad_norm):
                info.loss = np.inf  # a NaN gradient is divergence even if the loss looks fine
                break
        if full_batch:
            loss = info.loss if info.loss is not None else problem.value(start)
            tracker.record(start, loss)
        else:
            loss = problem.value(theta) if np.isfinite(info.grad_norm) else np.inf
            tracker.record(theta, loss)
        tracker.check_divergence(loss, iteration, solver.learning_rate, iteration - 1)
        extra = {}
        if validation_score is not None:
            extra["validation_score"] = score = validation_score(theta)
            scores.append(score)
        stop = tracker.report(iteration, loss, info.grad_norm, info.step, theta, **extra)
        if validation_score is not None:
            if score > best_score:
                best_scored_theta = theta
            no_improvement = no_improvement + 1 if score <= best_score + tol else 0
            best_score = max(best_score, score)
        elif full_batch:
            if info.grad_max <= tol:
                stopped_by = "tol"
        else:
            improved = loss < min(tracker.loss_curve[:-1]) - tol
            no_improvement = 0 if improved else no_improvement + 1
        if no_improvement >= n_iter_no_change:
            if validation_score is not None:
                stopped_by = "early_stopping"
            elif schedule == "adaptive" and solver.learning_rate > 1e-6:
                solver.learning_rate /= 5.0
                no_improvement = 0
            else:
                stopped_by = "tol"
        if stop and stopped_by == "max_iter":
            stopped_by = "callback"
        if stopped_by != "max_iter":
            break
    if full_batch:
        final_loss = problem.value(theta)
        tracker.record(theta, final_loss)
        tracker.check_divergence(final_loss, iteration, solver.learning_rate, iteration)
    if validation_score is not None:
        theta = best_scored_theta
    return TrainingResult(theta, tracker.loss_curve, iteration, stopped_by != "max_iter",
                          stopped_by, scores if validation_score is not None else None,
                          solver.learning_rate)


def fit_lbfgs(problem, theta0, *, max_iter, tol, callbacks=None, verbose=0,
              describe=lambda theta: {}):
    """Run SciPy's L-BFGS-B (see :func:`lograd.solvers.lbfgs`) with the loop's bookkeeping.

    ``loss_curve[k]`` is F after k iterations; callbacks get the same keys as in
    :func:`fit_iterative`, with ``step`` the Euclidean length of the iteration's update.
    Converged means SciPy reports success (``max|grad| <= tol``, or a relative decrease of F
    below ``64·eps``); an iteration limit or a failed line search is not convergence.
    """
    tracker = _Tracker(callbacks, verbose, describe, max_iter)
    tracker.record(theta0, problem.value(theta0))
    previous = {"x": np.asarray(theta0, dtype=np.float64)}
    state = {"stop": False}

    def on_iteration(x, loss, grad):
        step = float(np.linalg.norm(x - previous["x"]))
        previous["x"] = x.copy()
        theta = x.astype(theta0.dtype)
        tracker.record(theta, loss)
        if tracker.report(len(tracker.loss_curve) - 1, loss, float(np.linalg.norm(grad)), step,
                          theta):
            state["stop"] = True
            raise StopIteration

    result = lbfgs(problem, theta0, max_iter=max_iter, tol=tol, callback=on_iteration)
    theta = result.x.astype(theta0.dtype)
    if state["stop"]:
        stopped_by = "callback"
    else:  # SciPy's status: 0 converged, 1 iteration limit, 2 line search failed
        stopped_by = {0: "tol", 1: "max_iter"}.get(result.status, "line_search")
    converged = stopped_by in ("tol", "callback")
    return TrainingResult(theta, tracker.loss_curve, int(result.nit), converged, stopped_by,
                          message=str(result.message))
