"""The lecture's gradient trace: logistic regression on one example, node by node.

The lecture, for one example with features x1..xn, weights w1..wn, bias b and label y::

    z = w1*x1 + ... + wn*xn + b  ->  a = sigmoid(z)  ->  L(a, y) = -(y*log(a) + (1-y)*log(1-a))

and backwards, by hand: da = -y/a + (1-y)/(1-a), dz = da*a*(1-a) = a - y, dw_i = x_i*dz, db = dz;
then one gradient-descent step w_i := w_i - alpha*dw_i, b := b - alpha*db. Over m examples the
cost is J = (1/m)*sum(L) and the parameter gradients are means, dw_i = (1/m)*sum(x_i*dz).

:func:`explain` builds exactly this graph with the engine -- a separate sigmoid node and the plain
log-loss, so that ``a`` is a real node with a derivative of its own -- runs it forward and
backward, and sets each derivative the engine found beside the lecture's closed form, evaluated
independently with plain NumPy. Training does not use this graph: LogisticRegression's data
term is one fused op, ``linear_logistic_loss`` (:mod:`lograd.losses`), which computes
``z = X w + b`` and the loss ``log(1+e^z) - y*z`` in one pass, with the derivative ``a - y``
and never ``da``, which divides by zero once ``a`` rounds to 0 or 1. The trace's ``fused`` step
is that loss on the graph's z, :func:`lograd.autodiff.ops.sigmoid_cross_entropy`.

:meth:`Explanation.page` turns a trace into the step-through page's model
(:mod:`lograd.lectures.page`): each gradient written as upstream gradient x local derivative, the
local derivatives computed by the engine stage by stage (:func:`local_derivatives`), in the
order the engine's backward() visits the nodes (:func:`backward_order`), and optionally a
timeline of K gradient-descent steps on the same graph (:func:`descend`).
"""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass, field

import numpy as np

from lograd.autodiff import ops
from lograd.autodiff.engine import Tensor, no_grad
from lograd.errors import UserError
from lograd.lectures.display import TraceDisplay
from lograd.lectures.numbers import diff_text as _diff
from lograd.lectures.numbers import format_table as _format_table
from lograd.lectures.numbers import jsonable, short

# The example a bare `lograd explain` shows: wrong enough (a = 0.22 for y = 1) that one step
# visibly lowers the loss, with inputs that are exact in binary so the numbers check by hand.
DEFAULT_X = (1.0, 2.0)
DEFAULT_W = (0.5, -1.0)
DEFAULT_B = 0.25
DEFAULT_Y = 1.0
DEFAULT_ALPHA = 0.1

# A derivative "agrees" with its closed form when |engine - closed| <= ATOL + RTOL*|closed|.
# Both evaluate the same float formulas in a different order, so they differ by rounding only.
RTOL = 1e-9
ATOL = 1e-12

TEXT_WIDTH = 88  # prose lines of the table are wrapped to this width
MAX_TABLE_EXAMPLES = 20  # rows of the per-example table; --json always carries every example

LOSS_FORMULA = "-(y*log(a) + (1-y)*log(1-a))"
DA_FORMULA = "-y/a + (1-y)/(1-a)"


@dataclass(frozen=True, eq=False)
class NodeRow:
    """One node of the lecture's graph: forward value, the engine's derivative, the closed form.

    Attributes
    ----------
    name : str
        The node's label in the graph: ``x1``, ``y``, ``w1``, ``b``, ``z``, ``a``, ``L``, ``J``.
    formula : str
        How the forward pass computes it (``"data"``/``"parameter"`` for leaves).
    value : ndarray, shape () or (m,)
        Forward value; one per example for data and for ``z``, ``a``, ``L``.
    grad : ndarray or None, shape of ``value``
        The derivative from the engine's backward pass: dL/d(node) for one example (per example
        for ``z``, ``a``, ``L``), dJ/d(node) for the parameters and ``J`` over m examples. None
        for data, which needs no derivative.
    closed_formula : str
        The lecture's formula for that derivative.
    closed : ndarray or None
        That formula evaluated with plain NumPy, never from the engine's gradients.
    """

    name: str
    formula: str
    value: np.ndarray
    grad: np.ndarray | None = None
    closed_formula: str = ""
    closed: np.ndarray | None = None

    @property
    def abs_diff(self) -> float | None:
        """max |engine - closed form|, or None for data (nan where a value is not finite)."""
        if self.grad is None or self.closed is None:
            return None
        with np.errstate(invalid="ignore"):
            return float(np.max(np.abs(self.grad - self.closed)))

    @property
    def agrees(self) -> bool | None:
        """Whether the engine and the closed form agree (None for data or non-finite values)."""
        if self.grad is None or self.closed is None:
            return None
        if not (np.all(np.isfinite(self.grad)) and np.all(np.isfinite(self.closed))):
            return None
        return bool(np.all(np.abs(self.grad - self.closed) <= ATOL + RTOL * np.abs(self.closed)))


@dataclass(frozen=True, eq=False)
class Explanation(TraceDisplay):
    """The trace of one forward pass, one backward pass and one gradient-descent step.

    Engine values (``z`` ... ``db``) come from running the lecture's graph; ``closed`` holds the
    lecture's formulas evaluated independently; ``fused`` the same step through the fused op that
    training uses. Arrays over examples have shape (m,), over features (n,).

    Attributes
    ----------
    x : ndarray, shape (m, n)
    y : ndarray, shape (m,)
    w : ndarray, shape (n,)
    b, alpha : float
    z, a, loss, da, dz : ndarray, shape (m,)
        Per example, from the engine: da and dz are that example's dL/da and dL/dz.
    dw : ndarray, shape (n,)
    db : float
        dJ/dw and dJ/db from the engine (for one example, J = L).
    w_new : ndarray, shape (n,)
    b_new : float
        After the step w - alpha*dw, b - alpha*db.
    loss_new : ndarray, shape (m,)
        The loss of each example at the new parameters, forward through the same graph.
    closed : dict of str to ndarray
        ``z, a, loss, da, dz, dz_chain (= da*a*(1-a)), dw, db`` by the lecture's formulas.
    fused : dict of str to ndarray
        ``loss, dz, dw, db, w_new, b_new, loss_new`` through ``ops.sigmoid_cross_entropy``.
    rows : tuple of NodeRow
        One row per named node of the graph.
    graph : Tensor
        The graph's result (L for one example, J for several), e.g. for
        :func:`lograd.lectures.drawing.draw_graph`; its nodes hold the values and gradients above.
    """

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    b: float
    alpha: float
    z: np.ndarray
    a: np.ndarray
    loss: np.ndarray
    da: np.ndarray
    dz: np.ndarray
    dw: np.ndarray
    db: float
    w_new: np.ndarray
    b_new: float
    loss_new: np.ndarray
    closed: dict = field(repr=False)
    fused: dict = field(repr=False)
    rows: tuple = field(repr=False)
    graph: Tensor = field(repr=False)

    @property
    def m(self) -> int:
        return self.x.shape[0]

    @property
    def n(self) -> int:
        return self.x.shape[1]

    @property
    def cost(self) -> float:
        """J = (1/m)*sum(L) before the step."""
        return float(np.mean(self.loss))

    @property
    def cost_new(self) -> float:
        """J after the step."""
        return float(np.mean(self.loss_new))

    @property
    def saturated(self) -> np.ndarray:
        """Boolean mask, shape (m,): examples whose a is exactly 0 or 1 in float64."""
        return (self.a == 0.0) | (self.a == 1.0)

    @property
    def agrees(self) -> bool:
        """True when every derivative the engine found equals its closed form (and is finite)."""
        return all(row.agrees for row in self.rows if row.grad is not None)

    @property
    def max_abs_diff(self) -> float:
        """The largest |engine - closed form| over every derivative."""
        return max(row.abs_diff for row in self.rows if row.abs_diff is not None)

    def notes(self) -> list[str]:
        """Sentences about what went wrong numerically, if anything (empty when nothing did)."""
        if not self.saturated.any():
            return []
        return [_saturation_note(self, i) for i in np.flatnonzero(self.saturated)]

    def to_dict(self) -> dict:
        """The trace as plain JSON types, full precision; a non-finite number as
        ``{"__float__": "inf"}`` (``"-inf"``, ``"nan"``: :mod:`lograd.files.json_codec`).

        For one example ``x, y, z, a, loss, da, dz, loss_new`` are scalars (``x`` a list of n);
        for several they are lists over examples (``x`` a list of rows). ``dw, w, w_new`` are
        lists over features, ``db, b, b_new, cost, cost_new`` scalars.
        """
        one = self.m == 1

        def per_example(values):
            return jsonable(values[0] if one else values)

        out = {
            "m": self.m,
            "n": self.n,
            "x": jsonable(self.x[0] if one else self.x),
            "y": per_example(self.y),
            "w": jsonable(self.w),
            "b": jsonable(self.b),
            "alpha": jsonable(self.alpha),
        }
        for key in ("z", "a", "loss", "da", "dz"):
            out[key] = per_example(getattr(self, key))
        out.update(
            dw=jsonable(self.dw), db=jsonable(self.db), w_new=jsonable(self.w_new),
            b_new=jsonable(self.b_new), loss_new=per_example(self.loss_new),
            cost=jsonable(self.cost), cost_new=jsonable(self.cost_new),
        )
        out["closed_form"] = {
            key: (per_example(value) if key not in ("dw", "db") else jsonable(value))
            for key, value in self.closed.items()
        }
        out["fused"] = {
            key: (per_example(value) if key in ("loss", "dz", "loss_new") else jsonable(value))
            for key, value in self.fused.items()
        }
        out["agree"] = self.agrees
        out["max_abs_diff"] = jsonable(self.max_abs_diff)
        out["saturated"] = bool(self.saturated.any())
        out["notes"] = self.notes()
        out["nodes"] = [_row_dict(row) for row in self.rows]
        return out

    def table(self) -> str:
        """The trace as aligned plain text for a terminal (6 significant digits)."""
        return _render(self)

    def page(self, steps: int = 0):
        """The step-through page's model (:class:`lograd.lectures.page.StepThrough`).

        Parameters
        ----------
        steps : int, default 0
            With K > 0, add a timeline of K gradient-descent steps computed by the engine.
        """
        return lecture_page(self, steps)



def explain(x=DEFAULT_X, w=DEFAULT_W, b=DEFAULT_B, y=DEFAULT_Y, alpha=DEFAULT_ALPHA) -> Explanation:
    """Trace the lecture's forward pass, backward pass and one gradient-descent step.

    Parameters
    ----------
    x : array_like, shape (n,) or (m, n)
        The features of one example, or of m examples (one per row).
    w : array_like, shape (n,)
        Weights, one per feature.
    b : float
        Bias.
    y : float or array_like, shape (m,)
        Labels in [0, 1]: 0 or 1 as in the lecture (a probability works too).
    alpha : float
        Learning rate, > 0.

    Returns
    -------
    Explanation
        Values, derivatives (engine and closed form) and the step; ``.table()`` renders it,
        ``.to_dict()`` gives the JSON form.

    Raises
    ------
    lograd.errors.UserError
        Naming the parameter, when an input has the wrong shape or value.

    Examples
    --------
    >>> trace = explain(x=[1.0, 2.0], w=[0.5, -1.0], b=0.25, y=1, alpha=0.1)
    >>> round(float(trace.dz[0]), 6), trace.agrees
    (-0.7773, True)
    """
    x, w, b, y, alpha = _validated(x, w, b, y, alpha)
    with np.errstate(all="ignore"):  # saturated examples are reported in notes(), not warned
        nodes = lecture_graph(x, w, b, y)
        per_example, dw, db = _backward_passes(nodes)
        closed = closed_forms(x, w, b, y)
        w_new, b_new = w - alpha * dw, b - alpha * db
        loss_new = _forward_loss(x, w_new, b_new, y)
        fused = _fused_step(x, w, b, y, alpha)
    root = nodes["J"] if "J" in nodes else nodes["L"]
    rows = _rows(nodes, per_example, dw, db, closed, x.shape[0])
    return Explanation(
        x=x, y=y, w=w, b=b, alpha=alpha,
        z=_per_example(nodes["z"].data), a=_per_example(nodes["a"].data),
        loss=_per_example(nodes["L"].data),
        da=_per_example(per_example["a"]), dz=_per_example(per_example["z"]),
        dw=dw, db=db, w_new=w_new, b_new=b_new, loss_new=loss_new,
        closed=closed, fused=fused, rows=rows, graph=root,
    )


# -- the graph ------------------------------------------------------------------------------------
def lecture_graph(x, w, b, y) -> dict[str, Tensor]:
    """Build the lecture's graph with the engine and run it forward.

    Parameters
    ----------
    x : ndarray, shape (m, n)
    w : ndarray, shape (n,)
    b : float
    y : ndarray, shape (m,)

    Returns
    -------
    dict of str to Tensor
        The named nodes ``x1..xn, y, w1..wn, b, z, a, L`` (and ``J`` when m > 1). Node by node
        with one tensor per feature, as on the blackboard; for one example every node is a
        scalar, for m examples the data nodes and ``z, a, L`` are vectors of shape (m,).
    """
    nodes = _linear_graph(x, w, b)
    y_node = Tensor(_per_example_input(y), name="y")
    a = _named(nodes["z"].sigmoid(), "a")
    nodes.update(y=y_node, a=a, L=_log_loss(a, y_node))
    if x.shape[0] > 1:
        nodes["J"] = _named(nodes["L"].mean(), "J")
    return nodes


def _log_loss(a: Tensor, y: Tensor) -> Tensor:
    """L = -(y*log(a) + (1-y)*log(1-a)), one named node per operation."""
    log_a = _named(a.log(), "log(a)")
    log_1ma = _named(_named(1.0 - a, "1-a").log(), "log(1-a)")
    y_log_a = _named(y * log_a, "y*log(a)")
    rest = _named(_named(1.0 - y, "1-y") * log_1ma, "(1-y)*log(1-a)")
    return _named(-_named(y_log_a + rest, "-L"), "L")


def _linear_graph(x, w, b) -> dict[str, Tensor]:
    """z = w1*x1 + ... + wn*xn + b, one node per product, as the lecture writes it."""
    nodes = {}
    z = None
    for i in range(x.shape[1]):
        x_i = nodes[f"x{i + 1}"] = Tensor(_per_example_input(x[:, i]), name=f"x{i + 1}")
        w_i = nodes[f"w{i + 1}"] = Tensor(w[i], requires_grad=True, name=f"w{i + 1}")
        term = _named(w_i * x_i, f"w{i + 1}*x{i + 1}")
        z = term if z is None else _named(z + term, _partial_sum_name(i + 1))
    nodes["b"] = Tensor(b, requires_grad=True, name="b")
    nodes["z"] = _named(z + nodes["b"], "z")
    return nodes


def _partial_sum_name(i: int) -> str:
    return "w1*x1 + w2*x2" if i == 2 else f"w1*x1+...+w{i}*x{i}"


def _backward_passes(nodes):
    """Per-example derivatives of z, a, L, then the parameters' derivatives of the cost.

    Pass 1 runs backward from the per-example losses L with upstream gradient 1 for each: as
    example i's L depends on its own z and a only, that leaves dL_i/dz_i and dL_i/da_i in
    z.grad and a.grad -- the lecture's dz and da. For one example the same pass gives dw and db.
    Pass 2, for m > 1, runs backward from J = mean(L) on cleared leaves, giving the means dw, db.
    """
    params = [t for t in nodes.values() if t.requires_grad and t.op is None]
    loss = nodes["L"]
    loss.backward(np.ones_like(loss.data))
    per_example = {name: nodes[name].grad.copy() for name in ("z", "a", "L") if name in nodes}
    if "J" in nodes:
        for leaf in params:
            leaf.zero_grad()
        nodes["J"].backward()
    dw = np.array([nodes[name].grad for name in nodes if re.fullmatch(r"w\d+", name)])
    return per_example, dw.astype(np.float64), float(nodes["b"].grad)


def _forward_loss(x, w, b, y) -> np.ndarray:
    """Per-example loss L at (w, b) through the same graph, shape (m,)."""
    with no_grad():
        return _per_example(lecture_graph(x, w, b, y)["L"].data)


def _fused_step(x, w, b, y, alpha) -> dict:
    """The same step with the loss of training's fused op, L = log(1+e^z) - y*z, dL/dz = a - y
    (``ops.sigmoid_cross_entropy`` on the graph's z)."""
    nodes = _linear_graph(x, w, b)
    loss = ops.sigmoid_cross_entropy(nodes["z"], _per_example_input(y))
    nodes["L"] = loss
    if x.shape[0] > 1:
        nodes["J"] = loss.mean()
    per_example, dw, db = _backward_passes(nodes)
    w_new, b_new = w - alpha * dw, b - alpha * db
    with no_grad():
        z_new = _linear_graph(x, w_new, b_new)["z"]
        loss_new = ops.sigmoid_cross_entropy(z_new, _per_example_input(y)).data
    return {
        "loss": _per_example(loss.data), "dz": _per_example(per_example["z"]), "dw": dw,
        "db": db, "w_new": w_new, "b_new": b_new, "loss_new": _per_example(loss_new),
    }


# -- the closed forms, computed without the engine ------------------------------------------------
def closed_forms(x, w, b, y) -> dict[str, np.ndarray]:
    """The lecture's formulas in plain NumPy float64, independent of the engine.

    Parameters
    ----------
    x : ndarray, shape (m, n)
    w : ndarray, shape (n,)
    b : float
    y : ndarray, shape (m,)

    Returns
    -------
    dict
        ``z, a, loss, da, dz, dz_chain`` of shape (m,), ``dw`` of shape (n,) and ``db`` (float):
        z = sum_i w_i*x_i + b, a = 1/(1+e^-z), loss = -(y log a + (1-y) log(1-a)),
        da = -y/a + (1-y)/(1-a), dz = a - y, dz_chain = da*a*(1-a),
        dw = (1/m)*sum(x*dz) over examples, db = (1/m)*sum(dz).
    """
    with np.errstate(all="ignore"):
        z = w[0] * x[:, 0]
        for i in range(1, x.shape[1]):  # summed in the graph's order, so rounding matches
            z = z + w[i] * x[:, i]
        z = z + b
        a = _logistic(z)
        loss = -(y * np.log(a) + (1 - y) * np.log(1 - a))
        da = -y / a + (1 - y) / (1 - a)
        dz = a - y
        return {
            "z": z, "a": a, "loss": loss, "da": da, "dz": dz, "dz_chain": da * a * (1 - a),
            "dw": (x * dz[:, None]).mean(axis=0), "db": float(dz.mean()),
        }


def _logistic(z: np.ndarray) -> np.ndarray:
    """1/(1+e^-z), written so that e^t never overflows where its branch is used."""
    e = np.exp(-np.abs(z))  # e^-|z| in (0, 1]
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


# -- rows of the table ----------------------------------------------------------------------------
def _rows(nodes, per_example, dw, db, closed, m) -> tuple[NodeRow, ...]:
    one = m == 1
    rows = [NodeRow(name, "data", nodes[name].data)
            for name in nodes if re.fullmatch(r"x\d+", name)]
    rows.append(NodeRow("y", "data", nodes["y"].data))
    n = len(dw)
    for i in range(n):
        mean = "" if one else "(1/m)*sum"
        formula = f"dw{i + 1} = {mean}(x{i + 1}*dz)" if mean else f"dw{i + 1} = x{i + 1}*dz"
        rows.append(NodeRow(f"w{i + 1}", "parameter", np.asarray(nodes[f"w{i + 1}"].data),
                            np.asarray(dw[i]), formula, np.asarray(closed["dw"][i])))
    rows.append(NodeRow("b", "parameter", np.asarray(nodes["b"].data), np.asarray(db),
                        "db = dz" if one else "db = (1/m)*sum(dz)", np.asarray(closed["db"])))
    linear = _linear_formula(n)
    rows += [
        NodeRow("z", linear, nodes["z"].data, per_example["z"], "dz = a - y",
                _like(closed["dz"], one)),
        NodeRow("a", "sigmoid(z)", nodes["a"].data, per_example["a"], f"da = {DA_FORMULA}",
                _like(closed["da"], one)),
        NodeRow("L", LOSS_FORMULA, nodes["L"].data, per_example["L"], "dL/dL = 1",
                np.ones_like(nodes["L"].data)),
    ]
    if not one:
        rows.append(NodeRow("J", "(1/m)*sum(L)", nodes["J"].data, nodes["J"].grad,
                            "dJ/dJ = 1", np.ones_like(nodes["J"].data)))
    return tuple(rows)


def _linear_formula(n: int) -> str:
    terms = [f"w{i + 1}*x{i + 1}" for i in range(n)]
    if n > 4:
        terms = terms[:2] + ["...", terms[-1]]
    return " + ".join(terms) + " + b"


def _row_dict(row: NodeRow) -> dict:
    return {
        "name": row.name, "formula": row.formula, "value": jsonable(row.value),
        "grad": jsonable(row.grad), "closed_formula": row.closed_formula or None,
        "closed": jsonable(row.closed), "abs_diff": jsonable(row.abs_diff),
        "agree": row.agrees,
    }


# -- the step-through page ------------------------------------------------------------------------
def backward_order(trace: Explanation) -> list[str]:
    """The named nodes with a derivative, in the order the engine's backward() visits them.

    For m examples that is the pass from J (the per-example pass from L visits z, a, L in the
    same order).
    """
    # The engine's backward plan, as compile_grad also reads it: reversed topological order.
    from lograd.autodiff.engine import backward_order

    named = {row.name for row in trace.rows if row.grad is not None}
    return [node.name for node in reversed(backward_order(trace.graph)) if node.name in named]


def local_derivatives(trace: Explanation) -> dict[tuple[str, str], np.ndarray]:
    """d(user)/d(input) along each edge of the lecture's graph, computed by the engine.

    Each stage of :func:`lecture_graph` is run on its own from fresh leaves holding the trace's
    values, and backward from the stage's output with upstream gradient 1 for every example.
    The parameters get one copy per example, so their local derivatives come out per example
    (x_i for w_i) instead of summed over the examples as a shared parameter's gradient is.

    Returns
    -------
    dict
        ``(input, user) -> array``: ``(w_i, z), (b, z), (z, a), (a, L)`` and, for m > 1,
        ``(L, J)``, each of shape () for one example or (m,).
    """
    m, n = trace.x.shape
    one = m == 1
    local = {}
    with np.errstate(all="ignore"):
        copies = _linear_graph(trace.x, trace.w if one else np.repeat(trace.w[:, None], m, axis=1),
                               trace.b if one else np.full(m, trace.b))
        _seed_ones(copies["z"])
        for name in [f"w{i + 1}" for i in range(n)] + ["b"]:
            local[(name, "z")] = np.asarray(copies[name].grad)
        z = Tensor(_per_example_input(trace.z), requires_grad=True)
        _seed_ones(z.sigmoid())
        local[("z", "a")] = np.asarray(z.grad)
        a = Tensor(_per_example_input(trace.a), requires_grad=True)
        _seed_ones(_log_loss(a, Tensor(_per_example_input(trace.y))))
        local[("a", "L")] = np.asarray(a.grad)
        if not one:
            loss = Tensor(trace.loss, requires_grad=True)
            loss.mean().backward()
            local[("L", "J")] = np.asarray(loss.grad)
    return local


def _seed_ones(output: Tensor) -> None:
    output.backward(np.ones_like(output.data))


def lecture_page(trace: Explanation, steps: int = 0):
    """The trace as a :class:`lograd.lectures.page.StepThrough` (the step-through page's model).

    Parameters
    ----------
    trace : Explanation
    steps : int, default 0
        With K > 0, a timeline of K gradient-descent steps from the trace's starting point,
        computed by :func:`descend`.

    Returns
    -------
    lograd.lectures.page.StepThrough
    """
    from lograd.lectures.page import StepThrough, Timeline, Update

    m, n = trace.x.shape
    weights = [f"w{i + 1}" for i in range(n)]
    updates = [Update(weights[i], trace.w[i], trace.dw[i], trace.w_new[i]) for i in range(n)]
    updates.append(Update("b", trace.b, trace.db, trace.b_new))
    timeline = None
    if steps:
        path = descend(trace.x, trace.w, trace.b, trace.y, trace.alpha, steps)
        parameters = {name: path["w"][:, i] for i, name in enumerate(weights)}
        timeline = Timeline(path["cost"], {**parameters, "b": path["b"]})
    examples = "one example" if m == 1 else f"m = {m} examples"
    summary = [f"z = {_linear_formula(n)}", "a = sigmoid(z)", f"L = {LOSS_FORMULA}"]
    summary += [] if m == 1 else ["J = (1/m)*sum(L)"]
    summary += [f"{examples}, learning rate alpha = {short(trace.alpha)}; every number is "
                "computed by the lograd engine, each derivative beside the lecture's formula"]
    return StepThrough(
        title=f"The lecture's logistic-regression graph, step by step ({examples})",
        summary=tuple(summary), nodes=_page_nodes(trace),
        backward_order=tuple(backward_order(trace)), alpha=trace.alpha, updates=tuple(updates),
        loss_name="L" if m == 1 else "J", loss_before=trace.cost, loss_after=trace.cost_new,
        timeline=timeline, notes=tuple(trace.notes()), verdict=_verdict(trace))


def _page_nodes(trace: Explanation) -> tuple:
    """The lecture's graph node by node for the page: x1, w1, ..., xn, wn, b, y, z, a, L (, J).

    Each gradient is written as its terms upstream x local (the lecture's chain rule), from
    :func:`local_derivatives`; for m examples z, a and L carry each example's dL/d(node), as
    the lecture's dz = a - y does, and the parameters' terms average over the examples.
    """
    from lograd.lectures.page import PageNode, Term

    m, n = trace.x.shape
    one = m == 1
    rows = {row.name: row for row in trace.rows}
    local = local_derivatives(trace)
    cost = "L" if one else "J"

    def term(name, user, formula):
        upstream, derivative = np.asarray(rows[user].grad), local[(name, user)]
        shared = not one and name not in ("a", "z")  # one w_i and b for every example
        with np.errstate(all="ignore"):
            value = np.mean(upstream * derivative) if shared else upstream * derivative
        return Term(user, upstream, f"\u2202{user}/\u2202{name}", formula, derivative,
                    "(1/m)*sum over examples of" if shared else "", np.asarray(value))

    def node(name, kind, formula, inputs=(), grad_label="", seed="", terms=()):
        row = rows[name]
        return PageNode(name, kind, formula, np.asarray(row.value), tuple(inputs),
                        None if row.grad is None else np.asarray(row.grad), grad_label, seed,
                        tuple(terms), row.closed_formula, row.closed, row.agrees, row.abs_diff)

    nodes = []
    for i in range(1, n + 1):
        nodes.append(node(f"x{i}", "data", f"x{i}: feature {i}, data"))
        nodes.append(node(f"w{i}", "parameter", f"w{i}: weight {i}, a parameter",
                          grad_label=f"d{cost}/dw{i}", terms=[term(f"w{i}", "z", f"x{i}")]))
    nodes.append(node("b", "parameter", "b: bias, a parameter", grad_label=f"d{cost}/db",
                      terms=[term("b", "z", "1")]))
    nodes.append(node("y", "data", "y: the label, data"))
    nodes.append(node("z", "op", f"z = {_linear_formula(n)}",
                      [f"{v}{i}" for i in range(1, n + 1) for v in "wx"] + ["b"], "dL/dz",
                      terms=[term("z", "a", "a*(1-a)")]))
    nodes.append(node("a", "op", "a = sigmoid(z)", ["z"], "dL/da",
                      terms=[term("a", "L", DA_FORMULA)]))
    if one:
        nodes.append(node("L", "result", f"L = {LOSS_FORMULA}", ["a", "y"], "dL/dL",
                          seed="dL/dL = 1: backward() starts here"))
        return tuple(nodes)
    share = short(local[("L", "J")][0])
    nodes.append(node(
        "L", "op", f"L = {LOSS_FORMULA}", ["a", "y"], "dL/dL",
        seed=f"dL/dL = 1 for each example, as the lecture writes dz = a - y per example; "
             f"dJ/dL = 1/m = {share} by the engine, which is the (1/m)*sum in dw and db"))
    nodes.append(node("J", "result", "J = (1/m)*sum(L)", ["L"], "dJ/dJ",
                      seed="dJ/dJ = 1: backward() starts here"))
    return tuple(nodes)


def descend(x, w, b, y, alpha, steps: int) -> dict[str, np.ndarray]:
    """K steps of gradient descent on the lecture's graph, each forward and backward by the engine.

    Parameters
    ----------
    x, w, b, y, alpha
        As for :func:`explain`.
    steps : int
        K, from 1 to :data:`lograd.lectures.page.MAX_TIMELINE_STEPS`.

    Returns
    -------
    dict
        ``cost`` of shape (K+1,): J = mean(L) (L for one example) at the start and after each
        step;
        ``w`` of shape (K+1, n) and ``b`` of shape (K+1,): the parameters at those points.
    """
    from lograd.lectures.page import MAX_TIMELINE_STEPS

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not (
            1 <= steps <= MAX_TIMELINE_STEPS):
        raise UserError(f"steps must be a whole number from 1 to {MAX_TIMELINE_STEPS}; "
                        f"got {steps!r}")
    x, w, b, y, alpha = _validated(x, w, b, y, alpha)
    cost = np.empty(steps + 1)
    ws, bs = np.empty((steps + 1, w.size)), np.empty(steps + 1)
    with np.errstate(all="ignore"):
        for k in range(steps + 1):
            nodes = lecture_graph(x, w, b, y)
            root = nodes["J"] if "J" in nodes else nodes["L"]
            # J as the trace reports it: the mean of the engine's per-example losses
            cost[k], ws[k], bs[k] = np.mean(nodes["L"].data), w, b
            if k == steps:
                break
            root.backward()
            dw = np.array([nodes[f"w{i + 1}"].grad for i in range(w.size)], dtype=np.float64)
            w, b = w - alpha * dw, b - alpha * float(nodes["b"].grad)
    return {"cost": cost, "w": ws, "b": bs}


# -- the terminal table ---------------------------------------------------------------------------
def _render(trace: Explanation) -> str:
    one = trace.m == 1
    linear = _linear_formula(trace.n)
    examples = "one example" if one else f"m = {trace.m} examples"
    lines = [f"The lecture's graph for {examples}, forward and backward through the lograd engine:",
             f"  z = {linear}", "  a = sigmoid(z)", f"  L = {LOSS_FORMULA}"]
    lines += [] if one else ["  J = (1/m)*sum(L)"]
    by_name = {row.name: row for row in trace.rows}
    backward = [by_name[name] for name in backward_order(trace)]
    if one:
        lines += ["", "Forward pass:", ""]
        lines += _format_table(("node", "computed as", "value"),
                               [[row.name, row.formula, short(row.value)] for row in trace.rows])
        lines += ["", "Backward pass: dL/d(node) from the engine's backward(), node by node as it "
                  "runs,", "beside the lecture's formula evaluated on its own:", ""]
        lines += _format_table(_BACKWARD_HEADER, [
            [row.name, short(row.grad)] + _check_cells(row) for row in backward])
        chain_rule = trace.closed["dz_chain"][0]
        lines += [""] + _wrap(
            f"Chain rule by hand: dz = da*a*(1-a) = {short(chain_rule)}; the lecture's shortcut "
            f"dz = a - y = {short(trace.closed['dz'][0])} (difference "
            f"{_diff(abs(chain_rule - trace.closed['dz'][0]))}).")
    else:
        lines += ["", "Forward pass, per example:", ""]
        lines += _format_table(*_forward_examples(trace)) + _more_examples(trace)
        lines += ["", "Backward pass, per example: each example's dL/da and dL/dz from the "
                  "engine's", "backward() from L, beside the lecture's da and dz:", ""]
        lines += _format_table(*_backward_examples(trace)) + _more_examples(trace)
        lines += ["", "Parameters: dJ/d(node) from the engine's backward() from J, beside the "
                  "lecture's", "averaged dw and db:", ""]
        header = ("node", "value") + _BACKWARD_HEADER[1:]
        lines += _format_table(header, [
            [row.name, short(row.value), short(row.grad)] + _check_cells(row)
            for row in backward if row.name not in ("a", "z", "L")])
    lines += [""] + _step_lines(trace) + [""] + _fused_lines(trace)
    notes = trace.notes()
    for note in notes:
        lines += [""] + _wrap(f"Note: {note}")
    lines += [""] + _wrap(_verdict(trace))
    return "\n".join(lines)


_BACKWARD_HEADER = ("node", "engine", "lecture's formula", "closed form", "|diff|", "agrees")
_AGREES = {True: "yes", False: "NO", None: "not finite"}


def _check_cells(row: NodeRow) -> list[str]:
    return [row.closed_formula, short(row.closed), _diff(row.abs_diff), _AGREES[row.agrees]]


def _more_examples(trace: Explanation) -> list[str]:
    if trace.m <= MAX_TABLE_EXAMPLES:
        return []
    return [f"... {trace.m - MAX_TABLE_EXAMPLES} more examples (--json has them all)"]


def _forward_examples(trace: Explanation):
    header = ["i"] + [f"x{j + 1}" for j in range(trace.n)] + ["y", "z", "a", "L"]
    rows = [[str(i + 1)] + [short(v) for v in trace.x[i]]
            + [short(v) for v in (trace.y[i], trace.z[i], trace.a[i], trace.loss[i])]
            for i in range(min(trace.m, MAX_TABLE_EXAMPLES))]
    return header, rows


def _backward_examples(trace: Explanation):
    header = ["i", "da engine", "da closed", "dz engine", "dz closed", "|diff|", "agrees"]
    rows = []
    for i in range(min(trace.m, MAX_TABLE_EXAMPLES)):
        engine = np.array([trace.da[i], trace.dz[i]])
        closed = np.array([trace.closed["da"][i], trace.closed["dz"][i]])
        row = NodeRow("", "", engine, engine, "", closed)
        rows.append([str(i + 1), short(engine[0]), short(closed[0]), short(engine[1]),
                     short(closed[1]), _diff(row.abs_diff), _AGREES[row.agrees]])
    return header, rows


def _step_lines(trace: Explanation) -> list[str]:
    lines = [f"Gradient-descent step, alpha = {short(trace.alpha)}: "
             "w_i := w_i - alpha*dw_i, b := b - alpha*db", ""]
    names = [f"w{i + 1}" for i in range(trace.n)] + ["b"]
    old = list(trace.w) + [trace.b]
    grads = list(trace.dw) + [trace.db]
    new = list(trace.w_new) + [trace.b_new]
    width = max(len(name) for name in names)
    for name, before, grad, after in zip(names, old, grads, new):
        lines.append(f"  {name:<{width}} := {short(before)} - {short(trace.alpha)}*({short(grad)})"
                     f" = {short(after)}")
    lines.append("")
    if trace.m == 1:
        before, after = trace.loss[0], trace.loss_new[0]
        lines.append(f"Loss L before the step: {short(before)}   after: {short(after)}"
                     f"   change: {short(after - before)}")
    else:
        lines.append(f"Cost J = (1/m)*sum(L) before the step: {short(trace.cost)}   after: "
                     f"{short(trace.cost_new)}   change: {short(trace.cost_new - trace.cost)}")
    return lines


def _fused_lines(trace: Explanation) -> list[str]:
    fused = trace.fused
    if trace.m == 1:
        values = f"L = {short(fused['loss'][0])}, dz = {short(fused['dz'][0])}"
    else:
        values = (f"J = {short(float(np.mean(fused['loss'])))}, dJ/db = mean(dz) = "
                  f"{short(fused['db'])}")
    cost_new = short(float(np.mean(fused["loss_new"])))
    step = (f"w := [{', '.join(short(v) for v in fused['w_new'])}], b := {short(fused['b_new'])}, "
            f"{'L' if trace.m == 1 else 'J'} after: {cost_new}")
    return _wrap("Training uses a fused op (linear_logistic_loss: z = Xw + b and L = "
                 "log(1+e^z) - y*z in one pass), whose derivative is dz = sigmoid(z) - y with "
                 "no da; the same loss here, ops.sigmoid_cross_entropy(z, y):") + [
        f"  {values}", f"  the same step with it: {step}"]


def _verdict(trace: Explanation) -> str:
    largest = f"(largest difference {_diff(trace.max_abs_diff)})"
    if trace.agrees:
        return f"Agreement: every derivative from backpropagation equals its closed form {largest}."
    if any(row.agrees is False for row in trace.rows):
        return f"Agreement: NO -- some derivatives differ from their closed forms {largest}."
    return ("Agreement: not checkable -- some values are inf or nan: the plain log-loss graph "
            "breaks down where a rounds to 0 or 1 (see the note).")


def _saturation_note(trace: Explanation, i: int) -> str:
    where = "" if trace.m == 1 else f"example {i + 1}: "
    a, y = trace.a[i], trace.y[i]
    zero_side = "a" if a == 0.0 else "1-a"
    return (
        f"{where}a = {short(a)} exactly in float64 (z = {short(trace.z[i])}), so {zero_side} = 0: "
        f"da = {DA_FORMULA} divides by zero (da = {short(trace.closed['da'][i])}), and "
        f"log({zero_side}) = -inf in the graph makes L = {short(trace.loss[i])} and the "
        f"engine's da = {short(trace.da[i])}, dz = {short(trace.dz[i])}. The closed form "
        f"dz = a - y = {short(a - y)} stays exact, and so does the fused op that training uses: "
        f"loss {short(trace.fused['loss'][i])}, dz {short(trace.fused['dz'][i])}."
    )


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, width=TEXT_WIDTH, subsequent_indent="  ", break_on_hyphens=False)


# -- inputs ---------------------------------------------------------------------------------------
def _validated(x, w, b, y, alpha):
    """Check every input, naming the parameter in a one-line UserError."""
    x = _float_array(x, "x")
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise UserError(f"x must hold n features of one example or an (m, n) table of examples; "
                        f"got shape {x.shape}")
    m, n = x.shape
    _check_finite(x, "x", lambda i: f"example {i[0] + 1}, feature x{i[1] + 1}")
    w = _float_array(w, "w")
    if w.ndim != 1 or w.shape[0] != n:
        raise UserError(f"w has {w.size} weight{'s' * (w.size != 1)} but the examples have "
                        f"{n} feature{'s' * (n != 1)}: give one weight per feature")
    _check_finite(w, "w", lambda i: f"w{i[0] + 1}")
    b = _scalar(b, "b")
    alpha = _scalar(alpha, "alpha")
    if alpha <= 0:
        raise UserError(f"alpha must be a positive learning rate; got {alpha:g}")
    y = _float_array(y, "y").reshape(-1)
    if y.shape[0] != m:
        raise UserError(f"y has {y.shape[0]} label{'s' * (y.shape[0] != 1)} but x has {m} "
                        f"example{'s' * (m != 1)}: give one label per example")
    bad = np.flatnonzero(~((y >= 0) & (y <= 1)))  # also catches nan
    if bad.size:
        where = "" if m == 1 else f" (example {bad[0] + 1})"
        raise UserError(f"y must be a label 0 or 1 (or a probability in [0, 1]); "
                        f"got {y[bad[0]]:g}{where}")
    return x, w, b, y, alpha


def _float_array(value, name) -> np.ndarray:
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be numbers; got {value!r}") from None


def _scalar(value, name) -> float:
    array = _float_array(value, name)
    if array.size != 1:
        raise UserError(f"{name} must be one number; got {array.size}")
    number = float(array.reshape(-1)[0])
    if not math.isfinite(number):
        raise UserError(f"{name} must be a finite number; got {number}")
    return number


def _check_finite(array, name, where):
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        raise UserError(f"{name} must be finite numbers; {where(bad[0])} is {array[tuple(bad[0])]}")


# -- small helpers --------------------------------------------------------------------------------
def _named(tensor: Tensor, name: str) -> Tensor:
    tensor.name = name
    return tensor


def _per_example_input(column: np.ndarray) -> np.ndarray:
    """One example: a 0-d scalar, so every node of the graph is a scalar. Several: shape (m,)."""
    return column.reshape(()) if column.shape[0] == 1 else column


def _per_example(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _like(values: np.ndarray, one: bool) -> np.ndarray:
    return values.reshape(()) if one else values


__all__ = ["explain", "Explanation", "NodeRow", "lecture_graph", "closed_forms", "descend",
           "lecture_page", "local_derivatives", "backward_order"]
