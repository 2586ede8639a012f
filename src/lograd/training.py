"""The loop around a solver: batches, history, stopping rules, divergence guard, callbacks.

One *iteration* is one update of full-batch gradient descent, one epoch (a pass over shuffled
mini-batches) of ``'sgd'``/``'adam'``, or one L-BFGS iteration. The loop records
``loss_curve[k]``, the objective after ``k`` iterations (``loss_curve[0]`` at the initial
parameters), and calls every callback once per iteration with a dict (see :func:`fit_iterative`).

Checkpoints: given ``checkpoint=save``, the loop calls ``save(state)`` every
``checkpoint_every`` iterations, when a callback stops it, and once at the end with
``state["complete"] = True`` and the result. ``state`` is a dict of numbers, strings, None,
lists and arrays holding everything the loop needs to go on (parameters, the solver's
``state_dict()``, the history, the best parameters, the stopping counters); passing it back as
``resume=state`` continues the run exactly where it was saved. Writing it to disk is the
caller's business (see :mod:`lograd.files.checkpoints`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lograd.errors import DivergenceError
from lograd.solvers import gradient_mapping, lbfgs

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

    def state_dict(self) -> dict:
        """The result as a checkpoint's ``state["result"]`` (curves as float64 arrays)."""
        scores = self.validation_scores
        return {"theta": self.theta, "loss_curve": _floats(self.loss_curve),
                "n_iter": int(self.n_iter), "converged": bool(self.converged),
                "stopped_by": self.stopped_by,
                "validation_scores": None if scores is None else _floats(scores),
                "learning_rate": self.learning_rate, "message": self.message}

    @classmethod
    def from_state(cls, state) -> TrainingResult:
        scores = state["validation_scores"]
        return cls(state["theta"], np.asarray(state["loss_curve"]).tolist(), state["n_iter"],
                   state["converged"], state["stopped_by"],
                   None if scores is None else np.asarray(scores).tolist(),
                   state["learning_rate"], state["message"])


def _floats(values) -> np.ndarray:
    """Python floats as a float64 array: ``.tolist()`` gives back exactly the same floats."""
    return np.asarray(values, dtype=np.float64).reshape(-1)


class TrainingDiverged(DivergenceError):
    """The run produced no usable model; ``result`` holds the best parameters seen.

    Attributes
    ----------
    reason : {'diverged', 'no_progress', 'aborted'}
        The objective became NaN/inf or exploded; it ended no lower than it started; the
        solver (L-BFGS) stopped without lowering it.
    what : str
        What happened, with the numbers; ``advice``: what to change (in Python's words).
    result : TrainingResult
    """

    def __init__(self, reason, what, advice, result: TrainingResult, kept: str):
        super().__init__(f"{what}; {advice}; {kept}")
        self.reason, self.what, self.advice, self.result = reason, what, advice, result


_STEP_ADVICE = "lower learning_rate (or use learning_rate='auto')"
_LBFGS_ADVICE = ("check the data for huge values or weights, scale the features (e.g. "
                 "sklearn.preprocessing.StandardScaler), use float64 data, or use solver='gd'")


def _is_minimum(problem, theta, eta, tol) -> bool:
    """Whether nothing is left to improve at theta: the largest entry of the (proximal, for a
    step ``eta``) gradient is at most ``tol`` (or rounding noise)."""
    _, grad = problem.loss_and_grad(theta)
    if eta:
        descent = theta - eta * grad
        grad = gradient_mapping(grad, descent, problem.prox(descent, eta), eta)
    noise = float(np.sqrt(np.finfo(np.asarray(theta).dtype).eps))
    return float(np.max(np.abs(grad), initial=0.0)) <= max(tol, noise)


class _Tracker:
    """Keeps the history, the best parameters, and talks to callbacks and the console."""

    def __init__(self, callbacks, verbose, describe, max_iter, theta0):
        self.callbacks, self.verbose, self.describe = callbacks or [], verbose, describe
        self.max_iter = max_iter
        self.theta0 = theta0  # kept as "best" when no finite objective was ever seen
        self.loss_curve = []
        self.best_theta, self.best_loss, self.best_iteration = None, np.inf, 0
        self.rate_name, self.step_advice = "learning_rate", _STEP_ADVICE  # (the messages' words)

    def state_dict(self) -> dict:
        return {"loss_curve": _floats(self.loss_curve), "best_theta": self.best_theta,
                "best_loss": float(self.best_loss), "best_iteration": self.best_iteration}

    def load_state_dict(self, state) -> None:
        self.loss_curve = np.asarray(state["loss_curve"]).tolist()
        self.best_theta, self.best_loss = state["best_theta"], float(state["best_loss"])
        self.best_iteration = int(state["best_iteration"])

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
        self.fail("diverged", f"training diverged: the objective {what} at iteration "
                  f"{iteration} with {self.rate_name}={learning_rate:.6g}", self.step_advice,
                  n_iter, learning_rate)

    def check_progress(self, problem, iteration, eta, tol, advice, learning_rate=None,
                       reason="no_progress", how=None, end=None):
        """Fail when the objective ``end`` at the returned parameters (default: the curve's
        last) is no lower than at the start, unless the start was already a minimum (then
        nothing could be gained)."""
        start = self.loss_curve[0]
        end = self.loss_curve[-1] if end is None else end
        if end < start or _is_minimum(problem, self.theta0, eta, tol):
            return
        rate = "" if learning_rate is None else f" with {self.rate_name}={learning_rate:.6g}"
        self.fail(reason, f"{how or 'training made no progress'}: the objective ended at "
                  f"{end:.6g}{rate}, not below its starting value {start:.6g}", advice,
                  iteration, learning_rate)

    def fail(self, reason, what, advice, n_iter, learning_rate):
        best = self.theta0 if self.best_theta is None else self.best_theta
        result = TrainingResult(best, list(self.loss_curve), n_iter, False, reason,
                                learning_rate=learning_rate)
        kept = (f"the best parameters seen (objective {self.best_loss:.6g} at iteration "
                f"{self.best_iteration}) were kept" if self.best_theta is not None
                else "the initial parameters were kept")
        raise TrainingDiverged(reason, what, advice, result, kept)

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


def fit_iterative(problem, solver, theta0, *, max_iter, tol, batches=None,
                  n_iter_no_change=10, schedule="constant", power_t=0.5, schedule_unit=1,
                  validation_score=None,
                  callbacks=None, verbose=0, describe=lambda theta: {}, checkpoint=None,
                  checkpoint_every=10, resume=None, require_progress=True,
                  rate_name="learning_rate", step_advice=_STEP_ADVICE, epoch_loss="objective"):
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
        Full batch (``batches`` None): converged when the largest absolute entry of the
        (proximal) gradient at the current parameters is ``<= tol``.
        Mini-batches: converged when the objective has not fallen below
        ``best - tol`` for ``n_iter_no_change`` consecutive epochs. With early stopping the same
        rule applies to the validation score (rising above ``best + tol``). ``tol=0`` with the
        gradient rule runs exactly ``max_iter`` steps.
    batches : callable, optional
        ``batches(epoch) -> list of batch tokens`` for mini-batch solvers; None means full batch.
    schedule : {'constant', 'invscaling', 'adaptive'}
        Learning rate per epoch t (1-based): constant; ``η₀/(1 + (t-1)·schedule_unit)^power_t``
        (``η₀/t^power_t`` for unit 1; scikit-learn's MLP counts samples: unit = n); or divided
        by 5 each time the loss rule fires, stopping once it falls below 1e-6.
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
    checkpoint : callable, optional
        ``checkpoint(state)``: called every ``checkpoint_every`` iterations, when a callback
        stops the run, and at the end (see the module's docstring).
    checkpoint_every : int
    resume : dict, optional
        A ``state`` given to ``checkpoint`` by an earlier run with the same problem, solver
        and settings, not complete: the run goes on from there, exactly as it would have.
    require_progress : bool
        Raise when the run ends with F no lower than ``F(theta0)`` (unless ``theta0`` is
        already a minimum, or a callback stopped the run). False for one step of
        ``partial_fit``, where mini-batch noise on a chunk may do that.
    epoch_loss : {'objective', 'batches'}
        What the curve records after an epoch of mini-batches: the objective at the epoch's
        parameters (one more pass over the data), or scikit-learn's MLP's cheaper figure, the
        mean of the epoch's batch losses, each at the parameters before its step.
    rate_name, step_advice : str
        The step size's name and what to change, in the estimator's words, for the messages of
        a failed fit.

    Returns
    -------
    TrainingResult

    Raises
    ------
    TrainingDiverged
        When the objective becomes NaN/inf or exceeds ``DIVERGENCE_FACTOR·max(1, F(theta0))``
        (``reason='diverged'``), or, with ``require_progress``, ends no lower than it started
        (``'no_progress'``). Its ``result`` holds the best parameters seen.
    """
    tracker = _Tracker(callbacks, verbose, describe, max_iter, theta0)
    tracker.rate_name, tracker.step_advice = rate_name, step_advice
    full_batch = batches is None
    theta, stopped_by, no_improvement = theta0, "max_iter", 0
    scores, best_score, best_scored_theta = [], -np.inf, theta0
    initial_rate = solver.learning_rate
    done = 0
    if resume is not None:
        tracker.load_state_dict(resume["tracker"])
        solver.load_state_dict(resume["solver"])
        theta, done = resume["theta"], resume["iteration"]
        no_improvement, initial_rate = resume["no_improvement"], resume["initial_rate"]
        scores = np.asarray(resume["scores"]).tolist()
        best_score, best_scored_theta = resume["best_score"], resume["best_scored_theta"]
    elif not full_batch:
        tracker.record(theta, problem.value(theta))

    def snapshot():
        return {"complete": False, "iteration": iteration, "theta": theta,
                "solver": solver.state_dict(), "tracker": tracker.state_dict(),
                "no_improvement": no_improvement, "initial_rate": initial_rate,
                "scores": _floats(scores), "best_score": float(best_score),
                "best_scored_theta": best_scored_theta}

    iteration = done
    for iteration in range(done + 1, max_iter + 1):
        if schedule == "invscaling":  # η₀/(1 + (t-1)·unit)^p: η₀/t^p for unit 1
            solver.learning_rate = initial_rate / (1 + (iteration - 1) * schedule_unit) ** power_t
        start = theta
        seen, seen_loss = 0, 0.0  # rows and their summed batch losses (epoch_loss='batches')
        for batch in [None] if full_batch else batches(iteration - 1):
            theta, info = solver.step(theta, problem, batch)
            if epoch_loss == "batches" and not full_batch:
                seen, seen_loss = seen + len(batch), seen_loss + info.loss * len(batch)
            if not np.isfinite(info.grad_norm):
                info.loss = np.inf  # a NaN gradient is divergence even if the loss looks fine
                break
        if full_batch:
            loss = info.loss if info.loss is not None else problem.value(start)
            tracker.record(start, loss)
        elif not np.isfinite(info.grad_norm):
            loss = np.inf
            tracker.record(theta, loss)
        else:
            loss = seen_loss / seen if epoch_loss == "batches" else problem.value(theta)
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
        if checkpoint is not None and (stopped_by == "callback" or (
                iteration % checkpoint_every == 0 and iteration < max_iter)):
            checkpoint(snapshot())  # a callback's stop can be resumed: not the end of the fit
        if stopped_by != "max_iter":
            break
    if full_batch:
        final_loss = problem.value(theta)
        tracker.record(theta, final_loss)
        tracker.check_divergence(final_loss, iteration, solver.learning_rate, iteration)
    if validation_score is not None:
        theta = best_scored_theta
    if require_progress and stopped_by != "callback":  # (a callback's stop is the user's)
        # early stopping returns the best-scored parameters: judge those
        end = (None if validation_score is None and epoch_loss != "batches"
               else problem.value(theta))
        tracker.check_progress(problem, iteration, solver.learning_rate, tol,
                               tracker.step_advice, solver.learning_rate, end=end)
    result = TrainingResult(theta, tracker.loss_curve, iteration, stopped_by != "max_iter",
                            stopped_by, scores if validation_score is not None else None,
                            solver.learning_rate)
    if checkpoint is not None and stopped_by != "callback":
        checkpoint({"complete": True, "iteration": iteration, "result": result.state_dict()})
    return result


def fit_lbfgs(problem, theta0, *, max_iter, tol, callbacks=None, verbose=0,
              describe=lambda theta: {}, checkpoint=None, checkpoint_every=10, resume=None,
              options=None):
    """Run SciPy's L-BFGS-B (see :func:`lograd.solvers.lbfgs`) with the loop's bookkeeping.

    ``loss_curve[k]`` is F after k iterations; callbacks get the same keys as in
    :func:`fit_iterative`, with ``step`` the Euclidean length of the iteration's update.
    Converged means SciPy reports success (``max|grad| <= tol``, or a relative decrease of F
    below ``64·eps``); an iteration limit or a failed line search is not convergence.

    ``checkpoint``/``resume`` work as in :func:`fit_iterative`, but SciPy's L-BFGS-B keeps its
    curvature pairs to itself: a checkpoint holds the parameters and the history, and a resumed
    run restarts L-BFGS from the saved parameters (with the iterations left). It reaches the
    same optimum, to ``tol``, by a slightly different path: not bit-identical.

    Raises
    ------
    TrainingDiverged
        ``reason='aborted'`` when L-BFGS stopped (its line search failing, typically on its
        first step because the objective or its gradient overflows) with F no lower than
        ``F(theta0)``; ``'no_progress'`` when it ended so for another reason. ``theta0`` being
        a minimum already is no failure.
    """
    tracker = _Tracker(callbacks, verbose, describe, max_iter, theta0)
    if resume is None:
        start, done = theta0, 0
        tracker.record(theta0, problem.value(theta0))
    else:
        tracker.load_state_dict(resume["tracker"])
        start, done = resume["theta"].astype(theta0.dtype), resume["iteration"]
    previous = {"x": np.asarray(start, dtype=np.float64)}
    state = {"stop": False}

    def on_iteration(x, loss, grad):
        step = float(np.linalg.norm(x - previous["x"]))
        previous["x"] = x.copy()
        theta = x.astype(theta0.dtype)
        tracker.record(theta, loss)
        iteration = len(tracker.loss_curve) - 1
        state["stop"] = tracker.report(iteration, loss, float(np.linalg.norm(grad)), step, theta)
        if checkpoint is not None and (state["stop"] or (
                iteration % checkpoint_every == 0 and iteration < max_iter)):
            checkpoint({"complete": False, "iteration": iteration, "theta": theta,
                        "tracker": tracker.state_dict()})
        if state["stop"]:
            raise StopIteration

    if max_iter > done:
        result = lbfgs(problem, start, max_iter=max_iter - done, tol=tol, callback=on_iteration,
                       options=options)
        theta, n_iter = result.x.astype(theta0.dtype), done + int(result.nit)
        status, message = result.status, str(result.message)
    else:  # resumed at the iteration limit (a callback stopped the run there)
        theta, n_iter, status, message = start, done, 1, "iteration limit reached"
    if state["stop"]:
        stopped_by = "callback"
    else:  # SciPy's status: 0 converged, 1 iteration limit, 2 line search failed
        stopped_by = {0: "tol", 1: "max_iter"}.get(status, "line_search")
    converged = stopped_by in ("tol", "callback")
    if stopped_by != "callback":
        aborted = stopped_by == "line_search"
        how = f"L-BFGS aborted at iteration {n_iter} ({message.rstrip(': ')})" if aborted \
            else None
        tracker.check_progress(problem, n_iter, None, tol, _LBFGS_ADVICE,
                               reason="aborted" if aborted else "no_progress", how=how)
    result = TrainingResult(theta, tracker.loss_curve, n_iter, converged, stopped_by,
                            message=message)
    if checkpoint is not None and stopped_by != "callback":
        checkpoint({"complete": True, "iteration": n_iter, "result": result.state_dict()})
    return result
