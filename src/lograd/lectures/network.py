"""The course's two-layer network on a few examples, node by node through the engine.

The course's shallow network keeps the examples as columns: X of shape (n_x, m), Y of (1, m)::

    Z1 = W1 @ X + b1      (n_h, m)        A1 = g(Z1)           g: tanh, relu or sigmoid
    Z2 = W2 @ A1 + b2     (1, m)          A2 = sigmoid(Z2)
    J  = -(1/m) * sum(Y*log(A2) + (1-Y)*log(1-A2))

with W1 of shape (n_h, n_x), b1 (n_h, 1), W2 (1, n_h), b2 (1, 1); and backwards, by hand::

    dZ2 = A2 - Y                      dW2 = (1/m) dZ2 @ A1.T      db2 = (1/m) sum(dZ2, axis=1)
    dZ1 = (W2.T @ dZ2) * g'(Z1)       dW1 = (1/m) dZ1 @ X.T       db1 = (1/m) sum(dZ1, axis=1)

where g'(Z1) is 1 - A1**2 for tanh, 1 where Z1 > 0 and 0 elsewhere for relu (0 at 0, as the
engine's relu), A1*(1-A1) for sigmoid; then one step W := W - alpha*dW, b := b - alpha*db.

The course's convention (:data:`CONVENTION`): its dZ are per example, one column each, and equal
m x dJ/dZ -- J is the mean of the m losses, so the engine's dJ/dZ2 is (A2 - Y)/m -- while its
dW and db carry the 1/m themselves and equal dJ/dW and dJ/db. A trace's ``dZ1`` and ``dZ2`` are
the engine's dJ/dZ times m; its ``dW1, db1, dW2, db2`` are the engine's gradients unchanged.

:func:`explain_network` builds this graph with the engine -- a separate sigmoid node and the
plain log-loss, so that A2 is a real node with a derivative of its own -- runs it forward and
backward() once from J, and sets each gradient beside the course's closed form, computed on its
own in plain NumPy. Where A2 rounds to exactly 0 or 1 the plain log-loss breaks down (log 0); the
trace says so and shows the stable fused op that training uses, ``ops.sigmoid_cross_entropy``,
whose derivative is A2 - Y without forming dA2.
"""

from __future__ import annotations

import math
import os
import textwrap
from dataclasses import dataclass, field

import numpy as np

from lograd.autodiff import ops
from lograd.autodiff.engine import Tensor, no_grad
from lograd.errors import UserError
from lograd.lectures.display import TraceDisplay
from lograd.lectures.logistic import (  # one agreement rule for both lecture traces
    TEXT_WIDTH,
    NodeRow,
)
from lograd.lectures.numbers import diff_text, format_table, jsonable, short

ACTIVATIONS = ("tanh", "relu", "sigmoid")
PARAMETERS = ("W1", "b1", "W2", "b2")
GRADIENTS = ("dZ2", "dW2", "db2", "dZ1", "dW1", "db1")  # in the order the course computes them
FORWARD = ("Z1", "A1", "Z2", "A2", "cost")

DEFAULT_HIDDEN = 4  # the course's n_h for the flower
DEFAULT_EXAMPLES = 5  # points of the flower in the default trace: Z1 (4, 5) fits the page's tables
DEFAULT_ALPHA = 1.2  # the course's learning rate for the flower
DEFAULT_SEED = 2  # the course's initialize_parameters calls np.random.seed(2)
INIT_SCALE = 0.01  # the course's W = randn(...) * 0.01, b = 0
MAX_HIDDEN = 100  # a trace is for reading
MAX_PARAMETER_BYTES = 16 << 20  # the most a --params file may unpack to
MAX_TABLE_ROWS = 20  # rows of a matrix in the text table; --json always carries them all
MAX_TABLE_COLUMNS = 8  # columns (examples) of a matrix in the text table

CONVENTION = (
    "The course's dZ2 = A2 - Y and dZ1 = (W2.T @ dZ2) * g'(Z1) are per example, one column "
    "each: they are m x dJ/dZ, because J is the mean of the m losses (the engine's dJ/dZ2 is "
    "(A2 - Y)/m). Its dW = (1/m) dZ @ A.T and db = (1/m) sum(dZ) carry the 1/m themselves and "
    "equal dJ/dW and dJ/db. So dZ1 and dZ2 here are the engine's dJ/dZ times m, and dW1, db1, "
    "dW2, db2 are the engine's gradients as they are."
)
COST_FORMULA = "-(1/m)*sum(Y*log(A2) + (1-Y)*log(1-A2))"
LOSS_FORMULA = "-(Y*log(A2) + (1-Y)*log(1-A2))"
DA2_FORMULA = "-Y/A2 + (1-Y)/(1-A2)"
_ACTIVATION_FORMULA = {"tanh": "tanh(Z1)", "relu": "relu(Z1)", "sigmoid": "sigmoid(Z1)"}
_G_PRIME_FORMULA = {"tanh": "1 - A1**2", "relu": "(Z1 > 0)", "sigmoid": "A1*(1-A1)"}
_COURSE_FORMULA = {
    "Z1": "W1 @ X + b1", "A1": None, "Z2": "W2 @ A1 + b2", "A2": "sigmoid(Z2)",
    "cost": COST_FORMULA, "dZ2": "A2 - Y", "dW2": "(1/m) dZ2 @ A1.T",
    "db2": "(1/m) sum(dZ2, axis=1)", "dZ1": None, "dW1": "(1/m) dZ1 @ X.T",
    "db1": "(1/m) sum(dZ1, axis=1)",
}


def course_formula(name: str, activation: str) -> str:
    """The course's formula for ``name`` (one of :data:`FORWARD` or :data:`GRADIENTS`)."""
    if name == "A1":
        return _ACTIVATION_FORMULA[activation]
    if name == "dZ1":
        return f"(W2.T @ dZ2) * ({_G_PRIME_FORMULA[activation]})"
    return _COURSE_FORMULA[name]


@dataclass(frozen=True, eq=False)
class NetworkTrace(TraceDisplay):
    """The trace of one forward pass, one backward() and one gradient-descent step.

    Every array is in the course's layout, one column per example. Engine values come from
    the graph; ``closed`` holds the course's formulas evaluated independently in NumPy;
    ``fused`` the same step through the fused op that training uses.

    Attributes
    ----------
    activation : {"tanh", "relu", "sigmoid"}
        The hidden layer's g.
    X : ndarray, shape (n_x, m)
    Y : ndarray, shape (1, m)
    W1 : ndarray, shape (n_h, n_x)
    b1 : ndarray, shape (n_h, 1)
    W2 : ndarray, shape (1, n_h)
    b2 : ndarray, shape (1, 1)
    alpha : float
    Z1, A1 : ndarray, shape (n_h, m)
    Z2, A2, loss : ndarray, shape (1, m)
        ``loss`` is each example's L; the cost J is their mean.
    cost : float
    dZ2 : ndarray, shape (1, m)
    dZ1 : ndarray, shape (n_h, m)
        The engine's dJ/dZ times m: the course's per-example dZ (see :data:`CONVENTION`).
    dW1, db1, dW2, db2 : ndarray, shapes of W1, b1, W2, b2
        The engine's dJ/dW and dJ/db, which the course's dW and db equal.
    W1_new, b1_new, W2_new, b2_new : ndarray
        After the step ``W - alpha*dW``, ``b - alpha*db``.
    cost_new : float
        J at the new parameters, forward through the same graph.
    closed : dict of str to ndarray or float
        The course's ``Z1, A1, Z2, A2, cost, dZ2, dW2, db2, g_prime, dZ1, dW1, db1``, and
        ``dA2 = -Y/A2 + (1-Y)/(1-A2)``, ``dA1 = W2.T @ dZ2`` (per example, as dZ).
    fused : dict
        ``cost, dZ2, dW2, db2, dZ1, dW1, db1, cost_new`` with ``ops.sigmoid_cross_entropy``.
    rows : tuple of NodeRow
        The named nodes ``X, W1, b1, Z1, A1, W2, b2, Z2, A2, Y, L, J`` in forward order: each
        one's value and dJ/d(node) as backward() left it, and the closed form of that same
        derivative (the course's dZ divided by m for Z1, Z2).
    graph : Tensor
        J, the graph's result (e.g. for :func:`lograd.lectures.drawing.draw_graph`).
    """

    activation: str
    X: np.ndarray
    Y: np.ndarray
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    alpha: float
    Z1: np.ndarray
    A1: np.ndarray
    Z2: np.ndarray
    A2: np.ndarray
    loss: np.ndarray
    cost: float
    dZ2: np.ndarray
    dW2: np.ndarray
    db2: np.ndarray
    dZ1: np.ndarray
    dW1: np.ndarray
    db1: np.ndarray
    W1_new: np.ndarray
    b1_new: np.ndarray
    W2_new: np.ndarray
    b2_new: np.ndarray
    cost_new: float
    closed: dict = field(repr=False)
    fused: dict = field(repr=False)
    rows: tuple = field(repr=False)
    graph: Tensor = field(repr=False)

    @property
    def m(self) -> int:
        return self.X.shape[1]

    @property
    def n_x(self) -> int:
        return self.X.shape[0]

    @property
    def n_h(self) -> int:
        return self.W1.shape[0]

    @property
    def parameters(self) -> dict:
        """``W1, b1, W2, b2`` before the step."""
        return {name: getattr(self, name) for name in PARAMETERS}

    @property
    def new_parameters(self) -> dict:
        """``W1, b1, W2, b2`` after the step."""
        return {name: getattr(self, f"{name}_new") for name in PARAMETERS}

    @property
    def checks(self) -> dict:
        """``name -> (max |engine - closed form|, agrees)`` for :data:`FORWARD` and
        :data:`GRADIENTS`, in the course's convention; None where a value is not finite."""
        out = {}
        for name in FORWARD + GRADIENTS:
            engine = np.asarray(getattr(self, name), dtype=np.float64)
            row = NodeRow(name, "", engine, engine, "", np.asarray(self.closed[name]))
            out[name] = (row.abs_diff, row.agrees)
        return out

    @property
    def agrees(self) -> bool:
        """True when every value and derivative equals its closed form (and is finite)."""
        return all(agrees for _, agrees in self.checks.values())

    @property
    def max_abs_diff(self) -> float:
        """The largest |engine - closed form| over every checked quantity."""
        return max(diff for diff, _ in self.checks.values())

    @property
    def saturated(self) -> np.ndarray:
        """Boolean mask, shape (1, m): examples whose A2 is exactly 0 or 1 in float64."""
        return (self.A2 == 0.0) | (self.A2 == 1.0)

    def notes(self) -> list[str]:
        """Sentences about what went wrong numerically, if anything (empty when nothing did)."""
        columns = np.flatnonzero(self.saturated.reshape(-1))
        if not columns.size:
            return []
        i = columns[0]
        which = ", ".join(str(c + 1) for c in columns[:10])
        which += f" and {columns.size - 10} more" if columns.size > 10 else ""
        a2 = self.A2[0, i]
        zero_side = "A2" if a2 == 0.0 else "1-A2"
        return [
            f"A2 rounds to exactly 0 or 1 in float64 for example{'s' * (columns.size > 1)} "
            f"{which} (example {i + 1}: Z2 = {short(self.Z2[0, i])}, A2 = {short(a2)}), so "
            f"log({zero_side}) = -inf in the plain log-loss: the cost is {short(self.cost)} and "
            f"the engine's dJ/dA2 = {DA2_FORMULA} (over m) divides by zero, giving dZ2 = "
            f"{short(self.dZ2[0, i])}. The course's dZ2 = A2 - Y = "
            f"{short(self.closed['dZ2'][0, i])} stays exact, and so does the fused op that "
            f"training uses: cost {short(self.fused['cost'])}, dZ2 "
            f"{short(self.fused['dZ2'][0, i])}."
        ]

    def to_dict(self) -> dict:
        """The trace as plain JSON types, full precision; a non-finite number as
        ``{"__float__": "inf"}`` (``"-inf"``, ``"nan"``: :mod:`lograd.files.json_codec`).

        Matrices are nested lists in the course's layout (rows of columns, ``b1`` as
        ``[[b], ...]``); ``cost`` and ``cost_new`` are numbers. ``convention`` states how the
        engine's gradients relate to the course's dZ, dW, db.
        """
        out = {
            "model": "two-layer network", "activation": self.activation, "m": self.m,
            "n_x": self.n_x, "n_h": self.n_h, "alpha": jsonable(self.alpha),
            "convention": CONVENTION, "X": jsonable(self.X), "Y": jsonable(self.Y),
        }
        out.update({name: jsonable(value) for name, value in self.parameters.items()})
        for name in FORWARD + GRADIENTS:
            out[name] = jsonable(getattr(self, name))
        out.update({f"{name}_new": jsonable(value) for name, value in self.new_parameters.items()})
        out["cost_new"] = jsonable(self.cost_new)
        out["closed_form"] = {name: jsonable(value) for name, value in self.closed.items()}
        out["agreement"] = {name: {"max_abs_diff": jsonable(diff), "agree": agrees}
                            for name, (diff, agrees) in self.checks.items()}
        out["agree"] = self.agrees
        out["max_abs_diff"] = jsonable(self.max_abs_diff)
        out["fused"] = {name: jsonable(value) for name, value in self.fused.items()}
        out["saturated"] = bool(self.saturated.any())
        out["notes"] = self.notes()
        out["backward_order"] = backward_order(self)
        out["nodes"] = [_row_dict(row) for row in self.rows]
        return out

    def table(self) -> str:
        """The trace as plain text for a terminal (6 significant digits)."""
        return _render(self)

    def page(self, steps: int = 0):
        """The step-through page's model (:class:`lograd.lectures.page.StepThrough`).

        Parameters
        ----------
        steps : int, default 0
            With K > 0, add a timeline of K gradient-descent steps computed by the engine.
        """
        return network_page(self, steps)



def explain_network(X=None, Y=None, *, W1=None, b1=None, W2=None, b2=None, activation="tanh",
                    hidden=None, alpha=DEFAULT_ALPHA, seed=None) -> NetworkTrace:
    """Trace the course's two-layer network: forward, backward() and one gradient-descent step.

    Parameters
    ----------
    X : array_like, shape (n_x, m), optional
        The examples as columns, as in the course. Default: :func:`default_examples`, five
        points of the course's flower.
    Y : array_like, shape (1, m) or (m,), optional
        Labels in [0, 1] (0 or 1 as in the course); with X, or neither.
    W1 : array_like, shape (n_h, n_x), optional
    b1 : array_like, shape (n_h, 1) or (n_h,), optional
    W2 : array_like, shape (1, n_h) or (n_h,), optional
    b2 : array_like, shape (1, 1), (1,) or (), optional
        All four, or none: then the course's initialisation, W = randn*0.01 and b = 0
        (:func:`initial_parameters`).
    activation : {"tanh", "relu", "sigmoid"}, default "tanh"
        The hidden layer's g.
    hidden : int, optional
        n_h for the default parameters (default 4, the course's); with W1 it must equal W1's
        number of rows.
    alpha : float, default 1.2
        Learning rate of the step (the course's for the flower), > 0.
    seed : int, optional
        Seed of the default parameters (default 2, the course's); not with W1..b2.

    Returns
    -------
    NetworkTrace
        Values, derivatives (engine and closed form), their agreement and the step;
        ``.table()`` renders it, ``.to_dict()`` gives the JSON form.

    Raises
    ------
    lograd.errors.UserError
        Naming the parameter, when an input has the wrong shape or value.

    Examples
    --------
    >>> trace = explain_network(activation="tanh")
    >>> trace.dW1.shape, trace.dZ2.shape, trace.agrees
    ((4, 2), (1, 5), True)
    """
    X, Y, params, activation, alpha = _validated(X, Y, dict(W1=W1, b1=b1, W2=W2, b2=b2),
                                                 activation, hidden, alpha, seed)
    m = X.shape[1]
    with np.errstate(all="ignore"):  # a saturated A2 is reported in notes(), not warned
        nodes = network_graph(X, Y, **params, activation=activation)
        nodes["J"].backward()
        grads = {f"d{name}": _grad(nodes[name]) for name in PARAMETERS}
        grads.update(dZ1=m * _grad(nodes["Z1"]), dZ2=m * _grad(nodes["Z2"]))
        new = {f"{name}_new": params[name] - alpha * grads[f"d{name}"] for name in PARAMETERS}
        cost_new = _cost(X, Y, {name: new[f"{name}_new"] for name in PARAMETERS}, activation)
        closed = closed_forms(X, Y, **params, activation=activation)
        fused = _fused_step(X, Y, params, activation, alpha)
    return NetworkTrace(
        activation=activation, X=X, Y=Y, **params, alpha=alpha,
        Z1=_value(nodes["Z1"]), A1=_value(nodes["A1"]), Z2=_value(nodes["Z2"]),
        A2=_value(nodes["A2"]), loss=_value(nodes["L"]), cost=float(nodes["J"].data),
        **grads, **new, cost_new=cost_new, closed=closed, fused=fused,
        rows=_rows(nodes, closed, activation, m), graph=nodes["J"],
    )


def initial_parameters(n_x: int, n_h: int, seed: int = DEFAULT_SEED) -> dict:
    """The course's initialisation: ``W = randn(...) * 0.01``, ``b = 0``, in its order of draws.

    Parameters
    ----------
    n_x, n_h : int
        Features and hidden units.
    seed : int, default 2
        Of a legacy ``numpy.random.RandomState``, whose ``randn`` the course calls after
        ``np.random.seed(2)``.

    Returns
    -------
    dict
        ``W1`` (n_h, n_x), ``b1`` (n_h, 1), ``W2`` (1, n_h), ``b2`` (1, 1).
    """
    rng = np.random.RandomState(seed)
    W1 = rng.randn(n_h, n_x) * INIT_SCALE
    W2 = rng.randn(1, n_h) * INIT_SCALE
    return {"W1": W1, "b1": np.zeros((n_h, 1)), "W2": W2, "b2": np.zeros((1, 1))}


def default_examples(m: int = DEFAULT_EXAMPLES):
    """m points of the course's flower, evenly spaced through its 400 (both classes).

    Returns
    -------
    X : ndarray, shape (2, m)
    Y : ndarray, shape (1, m)
        0 or 1, as floats.
    """
    from lograd.datasets import EXAMPLE_SEED, make_flower

    X, y = make_flower(random_state=EXAMPLE_SEED)
    rows = np.linspace(0, len(y) - 1, m).round().astype(int)
    return np.ascontiguousarray(X[rows].T), y[rows].reshape(1, m).astype(np.float64)


# -- the graph ------------------------------------------------------------------------------------
def network_graph(X, Y, W1, b1, W2, b2, activation="tanh") -> dict[str, Tensor]:
    """Build the course's two-layer graph with the engine and run it forward.

    Parameters
    ----------
    X : ndarray, shape (n_x, m)
    Y : ndarray, shape (1, m)
    W1, b1, W2, b2 : ndarray or Tensor, shapes (n_h, n_x), (n_h, 1), (1, n_h), (1, 1)
        Arrays become leaves that require a gradient; a Tensor is used as it is (so that a
        caller can differentiate with respect to its own tensors, as gradcheck does).
    activation : {"tanh", "relu", "sigmoid"}

    Returns
    -------
    dict of str to Tensor
        The named nodes ``X, Y, W1, b1, W2, b2, Z1, A1, Z2, A2, L, J``: L of shape (1, m)
        holds each example's loss -(Y*log(A2) + (1-Y)*log(1-A2)), one node per operation,
        and J = mean(L) is the cost.
    """
    nodes = _forward_to_z2(X, W1, b1, W2, b2, activation)
    nodes["A2"] = _named(nodes["Z2"].sigmoid(), "A2")
    nodes["Y"] = Tensor(Y, name="Y")
    nodes["L"] = _log_loss(nodes["A2"], nodes["Y"])
    nodes["J"] = _named(nodes["L"].mean(), "J")
    return nodes


def _forward_to_z2(X, W1, b1, W2, b2, activation) -> dict[str, Tensor]:
    nodes = {"X": X if isinstance(X, Tensor) else Tensor(X, name="X")}
    for name, value in zip(PARAMETERS, (W1, b1, W2, b2)):  # a Tensor given is used as it is
        nodes[name] = value if isinstance(value, Tensor) else Tensor(value, requires_grad=True,
                                                                     name=name)
    nodes["Z1"] = _named(_named(nodes["W1"] @ nodes["X"], "W1 @ X") + nodes["b1"], "Z1")
    nodes["A1"] = _named(_activate(nodes["Z1"], activation), "A1")
    nodes["Z2"] = _named(_named(nodes["W2"] @ nodes["A1"], "W2 @ A1") + nodes["b2"], "Z2")
    return nodes


def _activate(z: Tensor, activation: str) -> Tensor:
    return {"tanh": Tensor.tanh, "relu": Tensor.relu, "sigmoid": Tensor.sigmoid}[activation](z)


def _log_loss(A2: Tensor, Y: Tensor) -> Tensor:
    """L = -(Y*log(A2) + (1-Y)*log(1-A2)), one named node per operation."""
    log_a = _named(A2.log(), "log(A2)")
    log_1ma = _named(_named(1.0 - A2, "1-A2").log(), "log(1-A2)")
    y_log_a = _named(Y * log_a, "Y*log(A2)")
    rest = _named(_named(1.0 - Y, "1-Y") * log_1ma, "(1-Y)*log(1-A2)")
    return _named(-_named(y_log_a + rest, "-L"), "L")


def _cost(X, Y, params, activation) -> float:
    """J at ``params`` through the same graph."""
    with no_grad():
        return float(network_graph(X, Y, **params, activation=activation)["J"].data)


def _fused_step(X, Y, params, activation, alpha) -> dict:
    """The same step with the fused op that training uses: J = mean(log(1+e^Z2) - Y*Z2)."""
    nodes = _forward_to_z2(X, **params, activation=activation)
    cost = ops.sigmoid_cross_entropy(nodes["Z2"], Y).mean()
    cost.backward()
    m = X.shape[1]
    out = {"cost": float(cost.data), "dZ2": m * _grad(nodes["Z2"])}
    out.update(dW2=_grad(nodes["W2"]), db2=_grad(nodes["b2"]), dZ1=m * _grad(nodes["Z1"]),
               dW1=_grad(nodes["W1"]), db1=_grad(nodes["b1"]))
    new = {name: params[name] - alpha * out[f"d{name}"] for name in PARAMETERS}
    with no_grad():
        z2 = _forward_to_z2(X, **new, activation=activation)["Z2"]
        out["cost_new"] = float(ops.sigmoid_cross_entropy(z2, Y).mean().data)
    return out


def descend_network(X, Y, *, W1, b1, W2, b2, activation="tanh", alpha=DEFAULT_ALPHA,
                    steps: int) -> dict[str, np.ndarray]:
    """K steps of gradient descent on the course's graph, each forward and backward() by the engine.

    Parameters
    ----------
    X, Y, W1, b1, W2, b2, activation, alpha
        As for :func:`explain_network` (the parameters are required).
    steps : int
        K, from 1 to :data:`lograd.lectures.page.MAX_TIMELINE_STEPS`.

    Returns
    -------
    dict
        ``cost`` of shape (K+1,): J at the start and after each step; ``W1`` of shape
        (K+1, n_h, n_x), ``b1`` (K+1, n_h, 1), ``W2`` (K+1, 1, n_h), ``b2`` (K+1, 1, 1): the
        parameters at those points.
    """
    from lograd.lectures.page import MAX_TIMELINE_STEPS

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not (
            1 <= steps <= MAX_TIMELINE_STEPS):
        raise UserError(f"steps must be a whole number from 1 to {MAX_TIMELINE_STEPS}; "
                        f"got {steps!r}")
    X, Y, params, activation, alpha = _validated(X, Y, dict(W1=W1, b1=b1, W2=W2, b2=b2),
                                                 activation, None, alpha, None)
    cost = np.empty(steps + 1)
    path = {name: np.empty((steps + 1,) + value.shape) for name, value in params.items()}
    with np.errstate(all="ignore"):
        for k in range(steps + 1):
            nodes = network_graph(X, Y, **params, activation=activation)
            cost[k] = nodes["J"].data
            for name in PARAMETERS:
                path[name][k] = params[name]
            if k == steps:
                break
            nodes["J"].backward()
            params = {name: params[name] - alpha * _grad(nodes[name]) for name in PARAMETERS}
    return {"cost": cost, **path}


# -- the closed forms, computed without the engine ------------------------------------------------
def closed_forms(X, Y, W1, b1, W2, b2, activation="tanh") -> dict:
    """The course's forward and backward propagation in plain NumPy float64, without the engine.

    Parameters
    ----------
    X : ndarray, shape (n_x, m)
    Y : ndarray, shape (1, m)
    W1, b1, W2, b2 : ndarray, shapes (n_h, n_x), (n_h, 1), (1, n_h), (1, 1)
    activation : {"tanh", "relu", "sigmoid"}

    Returns
    -------
    dict
        ``Z1, A1, g_prime, dZ1, dA1`` of shape (n_h, m); ``Z2, A2, dZ2, dA2`` of shape (1, m);
        ``cost`` (float); ``dW1, db1, dW2, db2`` of the parameters' shapes: as the module
        docstring writes them, with dA2 = -Y/A2 + (1-Y)/(1-A2) and dA1 = W2.T @ dZ2 per
        example as the course's dZ are.
    """
    m = X.shape[1]
    with np.errstate(all="ignore"):
        Z1 = np.dot(W1, X) + b1
        A1 = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "sigmoid": _sigmoid}[
            activation](Z1)
        Z2 = np.dot(W2, A1) + b2
        A2 = _sigmoid(Z2)
        logprobs = np.multiply(np.log(A2), Y) + np.multiply(1 - Y, np.log(1 - A2))
        cost = float(-np.sum(logprobs) / m)
        dZ2 = A2 - Y
        dW2 = (1 / m) * np.dot(dZ2, A1.T)
        db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)
        g_prime = {"tanh": lambda: 1 - np.power(A1, 2), "relu": lambda: (Z1 > 0) * 1.0,
                   "sigmoid": lambda: A1 * (1 - A1)}[activation]()
        dA1 = np.dot(W2.T, dZ2)
        dZ1 = dA1 * g_prime
        dW1 = (1 / m) * np.dot(dZ1, X.T)
        db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)
        dA2 = -Y / A2 + (1 - Y) / (1 - A2)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2, "cost": cost, "dZ2": dZ2, "dW2": dW2,
            "db2": db2, "g_prime": g_prime, "dZ1": dZ1, "dW1": dW1, "db1": db1, "dA2": dA2,
            "dA1": dA1}


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))  # as the course writes it (e^-z = inf gives 0, correctly)


# -- the named nodes ------------------------------------------------------------------------------
NODE_ORDER = ("X", "W1", "b1", "Z1", "A1", "W2", "b2", "Z2", "A2", "Y", "L", "J")


def _rows(nodes, closed, activation, m) -> tuple[NodeRow, ...]:
    """One row per named node: value, dJ/d(node) from backward(), that derivative's closed form."""
    per_node = {  # name -> (closed formula of dJ/d(node), its value)
        "W1": (f"dW1 = {course_formula('dW1', activation)}", closed["dW1"]),
        "b1": (f"db1 = {course_formula('db1', activation)}", closed["db1"]),
        "Z1": (f"dZ1/m, dZ1 = {course_formula('dZ1', activation)}", closed["dZ1"] / m),
        "A1": ("dA1/m, dA1 = W2.T @ dZ2", closed["dA1"] / m),
        "W2": (f"dW2 = {course_formula('dW2', activation)}", closed["dW2"]),
        "b2": (f"db2 = {course_formula('db2', activation)}", closed["db2"]),
        "Z2": ("dZ2/m, dZ2 = A2 - Y", closed["dZ2"] / m),
        "A2": (f"dA2/m, dA2 = {DA2_FORMULA}", closed["dA2"] / m),
        "L": ("dJ/dL = 1/m", np.full(closed["dZ2"].shape, 1 / m)),
        "J": ("dJ/dJ = 1", np.float64(1.0)),
    }
    formulas = {"X": "data", "Y": "data", "W1": "parameter", "b1": "parameter",
                "W2": "parameter", "b2": "parameter", "Z1": "W1 @ X + b1",
                "A1": _ACTIVATION_FORMULA[activation], "Z2": "W2 @ A1 + b2", "A2": "sigmoid(Z2)",
                "L": LOSS_FORMULA, "J": "(1/m)*sum(L)"}
    rows = []
    for name in NODE_ORDER:
        node = nodes[name]
        if name in per_node:
            formula, value = per_node[name]
            rows.append(NodeRow(name, formulas[name], _value(node), _grad(node), formula,
                                np.asarray(value, dtype=np.float64)))
        else:
            rows.append(NodeRow(name, formulas[name], _value(node)))
    return tuple(rows)


def _row_dict(row: NodeRow) -> dict:
    return {
        "name": row.name, "formula": row.formula, "value": jsonable(row.value),
        "grad": jsonable(row.grad), "closed_formula": row.closed_formula or None,
        "closed": jsonable(row.closed), "abs_diff": jsonable(row.abs_diff),
        "agree": row.agrees,
    }


def backward_order(trace: NetworkTrace) -> list[str]:
    """The named nodes with a derivative, in the order the engine's backward() visits them."""
    from lograd.autodiff.engine import backward_order as engine_order  # the engine's plan: reversed

    named = {row.name for row in trace.rows if row.grad is not None}
    return [node.name for node in reversed(engine_order(trace.graph)) if node.name in named]


# -- the step-through page ------------------------------------------------------------------------
def local_derivatives(trace: NetworkTrace) -> dict[tuple[str, str], np.ndarray]:
    """d(user)/d(input) along each elementwise edge, computed by the engine stage by stage.

    Each stage runs on its own from fresh leaves holding the trace's values and goes backward
    from the stage's output with upstream gradient 1 everywhere. A bias gets one copy per
    example (its column repeated), so its local derivative comes out per example: 1 each.

    Returns
    -------
    dict
        ``(input, user) -> array`` of the input's shape (per example for a bias):
        ``(L, J)`` 1/m, ``(A2, L)`` -Y/A2 + (1-Y)/(1-A2), ``(Z2, A2)`` A2*(1-A2),
        ``(Z1, A1)`` g'(Z1), ``(b2, Z2)`` and ``(b1, Z1)`` ones.
    """
    local = {}
    with np.errstate(all="ignore"):
        local[("L", "J")] = _local(trace.loss, Tensor.mean)
        local[("A2", "L")] = _local(trace.A2, lambda a2: _log_loss(a2, Tensor(trace.Y)))
        local[("Z2", "A2")] = _local(trace.Z2, Tensor.sigmoid)
        local[("Z1", "A1")] = _local(trace.Z1, lambda z1: _activate(z1, trace.activation))
        for bias, weights, inputs in (("b2", trace.W2, trace.A1), ("b1", trace.W1, trace.X)):
            copies = np.repeat(getattr(trace, bias), trace.m, axis=1)  # (n, 1) -> (n, m)
            local[(bias, "Z" + bias[1])] = _local(
                copies, lambda b, w=weights, a=inputs: Tensor(w) @ Tensor(a) + b)
    return local


def _local(value, stage) -> np.ndarray:
    leaf = Tensor(value, requires_grad=True)
    out = stage(leaf)
    out.backward(np.ones_like(out.data))
    return np.asarray(leaf.grad)


def _linear_terms(W, A, b, upstream) -> dict[str, np.ndarray]:
    """Z = W @ A + b on fresh leaves, backward() from Z with ``upstream`` = dJ/dZ: each input's
    term of its gradient, by the engine (dJ/dZ @ A.T, W.T @ dJ/dZ, dJ/dZ summed over columns)."""
    leaves = {name: Tensor(value, requires_grad=True) for name, value in zip("WAb", (W, A, b))}
    (leaves["W"] @ leaves["A"] + leaves["b"]).backward(upstream)
    return {name: np.asarray(leaf.grad) for name, leaf in leaves.items()}


def network_page(trace: NetworkTrace, steps: int = 0):
    """The trace as a :class:`lograd.lectures.page.StepThrough` (the step-through page's model).

    Parameters
    ----------
    trace : NetworkTrace
    steps : int, default 0
        With K > 0, a timeline of K gradient-descent steps from the trace's starting point,
        computed by :func:`descend_network`.

    Returns
    -------
    lograd.lectures.page.StepThrough
    """
    from lograd.lectures.page import StepThrough, Timeline, Update

    grads = {name: getattr(trace, f"d{name}") for name in PARAMETERS}
    updates = [Update(name, trace.parameters[name], grads[name], trace.new_parameters[name])
               for name in PARAMETERS]
    timeline = None
    if steps:
        path = descend_network(trace.X, trace.Y, **trace.parameters,
                               activation=trace.activation, alpha=trace.alpha, steps=steps)
        timeline = Timeline(path["cost"], {name: path[name] for name in PARAMETERS})
    return StepThrough(
        title=f"The course's two-layer network, step by step ({_size_text(trace)})",
        summary=tuple(_formula_lines(trace) + [CONVENTION]),
        nodes=_page_nodes(trace), backward_order=tuple(backward_order(trace)),
        alpha=trace.alpha, updates=tuple(updates), loss_name="J", loss_before=trace.cost,
        loss_after=trace.cost_new, timeline=timeline, notes=tuple(trace.notes()),
        verdict=_verdict(trace))


def _page_nodes(trace: NetworkTrace) -> tuple:
    """The nodes for the page, each gradient written as its terms upstream x local.

    Elementwise edges (J from L, L from A2, A2 from Z2, A1 from Z1, and a bias per example)
    have a local derivative of the node's shape, from :func:`local_derivatives`; the matrix
    products have the other factor as theirs (A1.T, W2.T, X.T), and their terms are what the
    engine's backward() of that stage gives (:func:`_linear_terms`).
    """
    from lograd.lectures.page import PageNode, Term

    rows = {row.name: row for row in trace.rows}
    local = local_derivatives(trace)
    grad = {name: np.asarray(row.grad) for name, row in rows.items() if row.grad is not None}
    layer2 = _linear_terms(trace.W2, trace.A1, trace.b2, grad["Z2"])
    layer1 = _linear_terms(trace.W1, trace.X, trace.b1, grad["Z1"])
    sum_over = "sum over the examples (along each row) of"

    def elementwise(name, user, formula, combine="", value=None):
        upstream, derivative = grad[user], local[(name, user)]
        with np.errstate(all="ignore"):
            value = upstream * derivative if value is None else value
        return Term(user, upstream, f"\u2202{user}/\u2202{name}", formula, derivative, combine,
                    np.asarray(value))

    def product(name, user, factor, formula, value):
        return Term(user, grad[user], f"\u2202{user}/\u2202{name}", formula, factor, "", value)

    terms = {
        "L": [elementwise("L", "J", "1/m for each example")],
        "A2": [elementwise("A2", "L", DA2_FORMULA)],
        "Z2": [elementwise("Z2", "A2", "A2*(1-A2)")],
        "W2": [product("W2", "Z2", trace.A1.T, "A1.T, on the right: \u2202J/\u2202Z2 @ A1.T",
                       layer2["W"])],
        "b2": [elementwise("b2", "Z2", "1 for each example", sum_over, layer2["b"])],
        "A1": [product("A1", "Z2", trace.W2.T, "W2.T, on the left: W2.T @ \u2202J/\u2202Z2",
                       layer2["A"])],
        "Z1": [elementwise("Z1", "A1", f"g'(Z1) = {_G_PRIME_FORMULA[trace.activation]}")],
        "W1": [product("W1", "Z1", trace.X.T, "X.T, on the right: \u2202J/\u2202Z1 @ X.T",
                       layer1["W"])],
        "b1": [elementwise("b1", "Z1", "1 for each example", sum_over, layer1["b"])],
    }
    what = {
        "X": f"X: the {trace.m} examples as columns, data {trace.X.shape}",
        "Y": f"Y: the labels, data {trace.Y.shape}",
        "W1": f"W1: the hidden layer's weights {trace.W1.shape}, a parameter",
        "b1": f"b1: the hidden layer's biases {trace.b1.shape}, a parameter",
        "W2": f"W2: the output layer's weights {trace.W2.shape}, a parameter",
        "b2": f"b2: the output layer's bias {trace.b2.shape}, a parameter",
    }
    inputs = {"Z1": ("W1", "X", "b1"), "A1": ("Z1",), "Z2": ("W2", "A1", "b2"), "A2": ("Z2",),
              "L": ("A2", "Y"), "J": ("L",)}
    nodes = []
    for name in NODE_ORDER:
        row = rows[name]
        if name in what:
            kind, formula = ("data" if row.grad is None else "parameter"), what[name]
        else:
            kind, formula = ("result" if name == "J" else "op"), f"{name} = {row.formula}"
        nodes.append(PageNode(
            name, kind, formula, np.asarray(row.value), inputs.get(name, ()),
            None if row.grad is None else grad[name],
            "" if row.grad is None else f"\u2202J/\u2202{name}",
            "\u2202J/\u2202J = 1: backward() starts here" if name == "J" else "",
            tuple(terms.get(name, ())), row.closed_formula, row.closed, row.agrees,
            row.abs_diff))
    return tuple(nodes)


# -- the terminal table ---------------------------------------------------------------------------
def _size_text(trace: NetworkTrace) -> str:
    return (f"m = {trace.m} example{'s' * (trace.m != 1)}, n_x = {trace.n_x}, "
            f"n_h = {trace.n_h} {trace.activation}")


def _formula_lines(trace: NetworkTrace) -> list[str]:
    shaped = [("Z1 = W1 @ X + b1", trace.Z1),
              (f"A1 = {_ACTIVATION_FORMULA[trace.activation]}", trace.A1),
              ("Z2 = W2 @ A1 + b2", trace.Z2), ("A2 = sigmoid(Z2)", trace.A2)]
    return [f"{formula:<22}  {_shape_text(value)}" for formula, value in shaped] + [
            f"J  = {COST_FORMULA}",
            f"{_size_text(trace)}, learning rate alpha = {short(trace.alpha)}; every number is "
            "computed by the lograd engine, each derivative beside the course's formula"]


def _render(trace: NetworkTrace) -> str:
    lines = _wrap(f"The course's two-layer network ({_size_text(trace)}), examples as columns, "
                  "forward and backward through the lograd engine:")
    lines += ["  " + line for line in _formula_lines(trace)[:-1]]
    lines += ["", "Forward pass:"]
    for name in ("X", "Y", "W1", "b1", "Z1", "A1", "W2", "b2", "Z2", "A2"):
        formula = _COURSE_FORMULA.get(name) or _ACTIVATION_FORMULA[trace.activation]
        what = {"X": "data", "Y": "labels", "W1": "parameter", "b1": "parameter",
                "W2": "parameter", "b2": "parameter"}.get(name, formula)
        lines += [""] + _matrix_block(f"{name} ({what})", getattr(trace, name))
    lines += ["", f"J = {COST_FORMULA} = {short(trace.cost)}"]
    order = ", ".join(backward_order(trace))
    lines += ["", "Backward pass: one backward() from J; the engine visits the nodes in the "
              "order", f"  {order}.", ""]
    lines += _wrap(f"Convention: {CONVENTION}")
    for name in GRADIENTS:
        source = "the engine's m*dJ/d" + name[1:] if name.startswith("dZ") else (
            "the engine's dJ/d" + name[1:])
        lines += [""] + _matrix_block(
            f"{name} = {source}   (course: {course_formula(name, trace.activation)})",
            getattr(trace, name))
    lines += ["", "Each against the course's formula evaluated on its own in plain NumPy:", ""]
    checks = trace.checks
    lines += format_table(
        ("quantity", "course's formula", "shape", "max |diff|", "agrees"),
        [[name, course_formula(name, trace.activation), _shape_text(getattr(trace, name)),
          diff_text(checks[name][0]), _AGREES[checks[name][1]]] for name in FORWARD + GRADIENTS])
    lines += ["", f"Gradient-descent step, alpha = {short(trace.alpha)}: W := W - alpha*dW, "
              "b := b - alpha*db, both layers:"]
    for name, value in trace.new_parameters.items():
        lines += [""] + _matrix_block(f"{name} := {name} - {short(trace.alpha)}*d{name}", value)
    lines += ["", f"Cost J before the step: {short(trace.cost)}   after: "
              f"{short(trace.cost_new)}   change: {short(trace.cost_new - trace.cost)}", ""]
    lines += _fused_lines(trace)
    for note in trace.notes():
        lines += [""] + _wrap(f"Note: {note}")
    lines += [""] + _wrap(_verdict(trace))
    return "\n".join(lines)


_AGREES = {True: "yes", False: "NO", None: "not finite"}


def _matrix_block(title: str, value) -> list[str]:
    """``title, shape (r, c):`` then the rows, at most MAX_TABLE_ROWS x MAX_TABLE_COLUMNS."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return [f"{title} = {short(array)}"]
    array = array.reshape(array.shape[0], -1)
    rows, columns = array.shape
    shown = array[:MAX_TABLE_ROWS, :MAX_TABLE_COLUMNS]
    cells = [[short(v) for v in row] for row in shown]
    width = max(len(cell) for row in cells for cell in row)
    more = " ..." if columns > MAX_TABLE_COLUMNS else ""
    lines = [f"{title}, shape {_shape_text(array)}:"]
    lines += ["  [" + "  ".join(cell.rjust(width) for cell in row) + more + "]" for row in cells]
    if rows > MAX_TABLE_ROWS:
        lines.append(f"  ... {rows - MAX_TABLE_ROWS} more rows (--json has them all)")
    if columns > MAX_TABLE_COLUMNS:
        lines.append(f"  ({MAX_TABLE_COLUMNS} of {columns} columns shown; --json has them all)")
    return lines


def _fused_lines(trace: NetworkTrace) -> list[str]:
    fused = trace.fused
    with np.errstate(invalid="ignore"):
        gap = max(float(np.max(np.abs(fused[name] - getattr(trace, name)))) for name in GRADIENTS)
    return _wrap(
        "Training uses the fused op ops.sigmoid_cross_entropy(Z2, Y) = log(1+e^Z2) - Y*Z2, "
        "whose derivative is dZ2 = A2 - Y with no dA2: J = "
        f"{short(fused['cost'])}, the same step gives J after = {short(fused['cost_new'])}, "
        f"and its gradients differ from the plain graph's by at most {diff_text(gap)}.")


def _verdict(trace: NetworkTrace) -> str:
    largest = f"(largest difference {diff_text(trace.max_abs_diff)})"
    if trace.agrees:
        return ("Agreement: every value and derivative from backpropagation equals the course's "
                f"closed form {largest}.")
    if any(agrees is False for _, agrees in trace.checks.values()):
        return f"Agreement: NO -- some derivatives differ from the course's closed forms {largest}."
    return ("Agreement: not checkable -- some values are inf or nan: the plain log-loss graph "
            "breaks down where A2 rounds to 0 or 1 (see the note).")


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, width=TEXT_WIDTH, subsequent_indent="  ", break_on_hyphens=False)


def _shape_text(value) -> str:
    """The shape of an array (or a shape itself, a tuple) as NumPy writes it: ``(4, 1)``."""
    return str(tuple(int(n) for n in (value if isinstance(value, tuple) else np.shape(value))))


# -- inputs ---------------------------------------------------------------------------------------
def read_parameters(path, *, n_x: int, n_h: int | None = None, what: str = "--params") -> dict:
    """W1, b1, W2, b2 from a ``.npz`` file (``numpy.savez``), checked; never unpickled.

    The archive is read within bounds (:class:`lograd.files.atomic.BoundedZip`: at most
    :data:`MAX_PARAMETER_BYTES` unpacked, checked before anything is allocated) and must hold
    exactly the four arrays, of numbers, finite, in the course's shapes.

    Parameters
    ----------
    path : str or os.PathLike
    n_x : int
        Features of the examples: W1 must have as many columns.
    n_h : int, optional
        Hidden units asked for (``--hidden``): W1 must have as many rows.
    what : str
        How messages name the file's option.

    Returns
    -------
    dict
        ``W1`` (n_h, n_x), ``b1`` (n_h, 1), ``W2`` (1, n_h), ``b2`` (1, 1), float64.

    Raises
    ------
    lograd.errors.UserError
        One line naming the option, the file and the array (and its row and column).
    """
    from lograd.files.atomic import BadFile, BoundedZip

    where = f"{what} {os.fspath(path)}: "
    if not os.path.isfile(path):
        raise UserError(where + ("is a directory" if os.path.isdir(path) else "no such file"))
    try:
        with BoundedZip(path, "weights file (.npz)", MAX_PARAMETER_BYTES) as archive:
            names = [name.removesuffix(".npy") for name in archive.members]
            missing = [name for name in PARAMETERS if name not in names]
            if missing:
                raise UserError(f"{where}no array {', '.join(missing)}; the file must hold W1, "
                                "b1, W2 and b2 (numpy.savez(FILE, W1=..., b1=..., W2=..., "
                                "b2=...))")
            extra = [name for name in names if name not in PARAMETERS]
            if extra:
                raise UserError(f"{where}unexpected array {', '.join(map(repr, extra))}; the "
                                "file must hold only W1, b1, W2 and b2")
            arrays = {name: archive.read_array(f"{name}.npy") for name in PARAMETERS}
    except BadFile as exc:
        raise UserError(f"{where}{exc}") from None
    for name, array in arrays.items():
        if array.dtype.kind not in "iuf":
            kind = "text" if array.dtype.kind == "U" else f"{array.dtype.name} values"
            raise UserError(f"{where}{name} holds {kind}, not numbers")
    return _checked_parameters(arrays, n_x, n_h, where, "--hidden")


def _validated(X, Y, given, activation, hidden, alpha, seed):
    """Check every input, naming the parameter in a one-line UserError."""
    if activation not in ACTIVATIONS:
        raise UserError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")
    if (X is None) != (Y is None):
        raise UserError("give both X and Y, or neither (the default: points of the flower)")
    if X is None:
        X, Y = default_examples()
    X = _float_array(X, "X")
    if X.ndim != 2 or 0 in X.shape:
        raise UserError(f"X must be an (n_x, m) array, one column per example as in the course; "
                        f"got shape {_shape_text(X)}")
    n_x, m = X.shape
    _check_finite(X, "X", "")
    Y = _float_array(Y, "Y")
    if Y.shape not in ((1, m), (m,)):
        raise UserError(f"Y must have shape (1, m) = (1, {m}), one label per column of X; got "
                        f"shape {_shape_text(Y)}")
    Y = Y.reshape(1, m)
    bad = np.flatnonzero(~((Y >= 0) & (Y <= 1)))  # also catches nan
    if bad.size:
        raise UserError(f"Y must hold labels 0 or 1 (or probabilities in [0, 1]); column "
                        f"{bad[0] + 1} is {Y[0, bad[0]]:g}")
    if hidden is not None:
        hidden = _hidden_units(hidden)
    present = {name: value for name, value in given.items() if value is not None}
    if present and len(present) < len(PARAMETERS):
        missing = [name for name in PARAMETERS if name not in present]
        raise UserError(f"give all of W1, b1, W2, b2 or none of them (the course's seeded "
                        f"initialisation); missing {', '.join(missing)}")
    if present:
        if seed is not None:
            raise UserError("seed draws the default parameters: give it or W1, b1, W2, b2, "
                            "not both")
        arrays = {name: _float_array(value, name) for name, value in present.items()}
        params = _checked_parameters(arrays, n_x, hidden, "", "hidden")
    else:
        params = initial_parameters(n_x, DEFAULT_HIDDEN if hidden is None else hidden,
                                    DEFAULT_SEED if seed is None else _seed(seed))
    alpha = _float_array(alpha, "alpha")
    if alpha.size != 1 or not (math.isfinite(float(alpha.reshape(-1)[0]))
                               and float(alpha.reshape(-1)[0]) > 0):
        raise UserError(f"alpha must be a positive learning rate; got {short(alpha)}")
    return X, Y, params, activation, float(alpha.reshape(-1)[0])


def _checked_parameters(arrays, n_x, n_h, where, hidden_name) -> dict:
    """W1, b1, W2, b2 in the course's shapes, finite; ``where`` prefixes each message."""
    W1 = np.asarray(arrays["W1"], dtype=np.float64)
    if W1.ndim != 2 or W1.shape[1] != n_x or 0 in W1.shape:
        rows = n_h if n_h is not None else (W1.shape[0] if W1.ndim == 2 else "n_h")
        raise UserError(f"{where}W1 has shape {_shape_text(W1)} but the examples have {n_x} "
                        f"feature{'s' * (n_x != 1)}: W1 must be (n_h, n_x) = ({rows}, {n_x})")
    if n_h is not None and W1.shape[0] != n_h:
        raise UserError(f"{where}W1 has {W1.shape[0]} row{'s' * (W1.shape[0] != 1)} (hidden "
                        f"units) but {hidden_name} is {n_h}")
    n_h = W1.shape[0]
    if n_h > MAX_HIDDEN:
        raise UserError(f"{where}W1 has {n_h} rows (hidden units); a trace takes at most "
                        f"{MAX_HIDDEN}")
    shapes = {"b1": [(n_h, 1), (n_h,)], "W2": [(1, n_h), (n_h,)], "b2": [(1, 1), (1,), ()]}
    params = {"W1": W1}
    for name, allowed in shapes.items():
        array = np.asarray(arrays[name], dtype=np.float64)
        if array.shape not in allowed:
            raise UserError(f"{where}{name} has shape {_shape_text(array)}; with W1 of shape "
                            f"{_shape_text(W1)} it must be {_shape_text(allowed[0])}")
        params[name] = array.reshape(allowed[0])
    for name in PARAMETERS:
        _check_finite(params[name], name, where)
    return {name: params[name] for name in PARAMETERS}


def _hidden_units(hidden) -> int:
    if isinstance(hidden, bool) or not isinstance(hidden, (int, np.integer)) or not (
            1 <= hidden <= MAX_HIDDEN):
        raise UserError(f"hidden must be a whole number of hidden units from 1 to {MAX_HIDDEN}; "
                        f"got {hidden!r}")
    return int(hidden)


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not (
            0 <= seed < 2**32):
        raise UserError(f"seed must be a whole number from 0 to {2**32 - 1}; got {seed!r}")
    return int(seed)


def _float_array(value, name) -> np.ndarray:
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be numbers; got {value!r}"[:200]) from None


def _check_finite(array, name, where):
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        index = tuple(bad[0])
        place = ", ".join(f"{axis} {i + 1}" for axis, i in zip(("row", "column"), index))
        place = f"{place} is" if place else "it is"
        raise UserError(f"{where}{name} must be finite numbers; {place} {array[index]}")


# -- small helpers --------------------------------------------------------------------------------
def _named(tensor: Tensor, name: str) -> Tensor:
    tensor.name = name
    return tensor


def _value(node: Tensor) -> np.ndarray:
    return np.asarray(node.data, dtype=np.float64)


def _grad(node: Tensor) -> np.ndarray:
    return np.asarray(node.grad, dtype=np.float64)


__all__ = ["explain_network", "NetworkTrace", "network_graph", "closed_forms", "descend_network",
           "initial_parameters", "default_examples", "read_parameters", "network_page",
           "local_derivatives", "backward_order", "course_formula", "ACTIVATIONS", "CONVENTION"]
