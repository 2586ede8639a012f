"""The step-through page: a graph, its forward pass node by node, then its backward pass.

The page knows nothing about logistic regression. It draws any graph given as a
:class:`StepThrough`: nodes in forward order, each with its inputs, formula, value and gradient,
the terms its gradient is made of (upstream gradient x local derivative, one per user), a closed
form to check it against; the order the engine's backward pass visited the nodes; the
gradient-descent update; and optionally a timeline of several steps.
:mod:`lograd.lectures.logistic` fills it from the lecture's trace,
:mod:`lograd.lectures.network` from the two-layer network's.

The page is one self-contained HTML file: the model as JSON in a ``<script>`` element, the
drawing and the stepping done by a small inline script, no network access. Each node's SVG
element carries ``data-node="NAME"``, and once the step has reached it ``data-value`` (forward)
and ``data-grad`` (backward): the numbers as JSON at full precision (``repr`` of each float64,
``{"__float__": "inf"}`` for inf and nan as :mod:`lograd.files.json_codec` writes them, a list
for a vector), so that a test or a reader can check them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from lograd.autodiff.layout import layered_layout
from lograd.files import json_codec
from lograd.lectures.numbers import jsonable, short

KINDS = ("data", "parameter", "op", "result")
MAX_ITEMS = 20  # per-example rows shown in the page's tables; data-value/data-grad hold them all
MAX_TIMELINE_STEPS = 10_000  # a timeline longer than this is not readable on a slider
IFRAME_HEIGHT = 760  # pixels, for the notebook view


@dataclass(frozen=True, eq=False)
class Term:
    """One term of a node's gradient: a user's gradient times the local derivative of the edge.

    Attributes
    ----------
    user : str
        The node that the gradient flows back from (it was computed from this one).
    upstream : ndarray
        d(result)/d(user), as the engine holds it.
    local_label, local_formula : str
        The local derivative d(user)/d(this node) and its formula, e.g. ``"∂a/∂z"`` and
        ``"a*(1-a)"``.
    local : ndarray
        That local derivative, computed by the engine (one per example for vector nodes).
    combine : str
        How upstream x local becomes the term: ``""`` when it is the product itself, else what
        is done to the products, e.g. ``"(1/m)*sum over examples of"``.
    value : ndarray
        The term, of the node's shape.
    """

    user: str
    upstream: np.ndarray
    local_label: str
    local_formula: str
    local: np.ndarray
    combine: str
    value: np.ndarray


@dataclass(frozen=True, eq=False)
class PageNode:
    """One node of the drawn graph.

    Attributes
    ----------
    name : str
        Unique; the page's ``data-node``.
    kind : {"data", "parameter", "op", "result"}
        Colours the box: data and constants, parameters (leaves that need a gradient),
        operations, and the result the backward pass starts from.
    formula : str
        How the forward pass computes it (``"z = w1*x1 + b"``), or what a leaf is.
    value : ndarray
        Forward value, any shape (``(m,)`` for a node with one value per example).
    inputs : tuple of str
        The nodes it is computed from (the graph's edges), all earlier in forward order.
    grad : ndarray or None
        The gradient the engine's backward pass left on it, of ``value``'s shape; None when no
        gradient flows to it (data).
    grad_label : str
        What ``grad`` is, e.g. ``"dL/dz"``.
    seed : str
        For the node the backward pass starts from: why its gradient is what it is.
    terms : tuple of Term
        What ``grad`` is made of: its sum, up to rounding.
    closed_formula : str
        The closed form of the gradient, e.g. ``"dz = a - y"``.
    closed : ndarray or None
        That closed form evaluated independently of the engine.
    agrees : bool or None
        Whether ``grad`` equals ``closed`` within the caller's tolerance (None: not finite).
    abs_diff : float or None
        max |grad - closed|.
    """

    name: str
    kind: str
    formula: str
    value: np.ndarray
    inputs: tuple = ()
    grad: np.ndarray | None = None
    grad_label: str = ""
    seed: str = ""
    terms: tuple = ()
    closed_formula: str = ""
    closed: np.ndarray | None = None
    agrees: bool | None = None
    abs_diff: float | None = None


@dataclass(frozen=True, eq=False)
class Update:
    """One parameter's gradient-descent update ``after = before - alpha * grad``."""

    name: str
    before: np.ndarray
    grad: np.ndarray
    after: np.ndarray


@dataclass(frozen=True, eq=False)
class Timeline:
    """Several gradient-descent steps from the page's starting point.

    Attributes
    ----------
    loss : ndarray, shape (K+1,)
        The loss before step 1, then after each of the K steps.
    parameters : dict of str to ndarray, shape (K+1, ...)
        Each parameter at the same K+1 points.
    """

    loss: np.ndarray
    parameters: dict


@dataclass(frozen=True, eq=False)
class StepThrough:
    """Everything the step-through page shows; build one, then :meth:`html` or :meth:`write`.

    Attributes
    ----------
    title : str
    summary : tuple of str
        Formula lines shown above the graph.
    nodes : tuple of PageNode
        In forward order: each node after its inputs.
    backward_order : tuple of str
        The nodes with a gradient, in the order the engine's backward pass visited them.
    alpha : float
        The learning rate of the update.
    updates : tuple of Update
    loss_name : str
        The node whose value is the loss (``"L"`` or ``"J"``).
    loss_before, loss_after : float
        The loss before the update and after it.
    timeline : Timeline or None
    notes : tuple of str
        Numerical remarks (e.g. a saturated sigmoid).
    verdict : str
        One sentence on whether every gradient agreed with its closed form.
    """

    title: str
    summary: tuple
    nodes: tuple
    backward_order: tuple
    alpha: float
    updates: tuple
    loss_name: str
    loss_before: float
    loss_after: float
    timeline: Timeline | None = None
    notes: tuple = ()
    verdict: str = ""
    _by_name: dict = field(init=False, repr=False)

    def __post_init__(self):
        by_name = {}
        for node in self.nodes:
            if node.kind not in KINDS:
                raise ValueError(f"node {node.name!r}: kind must be one of {KINDS}")
            if node.name in by_name:
                raise ValueError(f"two nodes are named {node.name!r}")
            missing = [name for name in node.inputs if name not in by_name]
            if missing:
                raise ValueError(f"node {node.name!r}: inputs {missing} are not earlier nodes")
            by_name[node.name] = node
        for name in self.backward_order:
            if name not in by_name or by_name[name].grad is None:
                raise ValueError(f"backward_order: {name!r} is not a node with a gradient")
        object.__setattr__(self, "_by_name", by_name)

    def node(self, name: str) -> PageNode:
        return self._by_name[name]

    def steps(self) -> list[dict]:
        """The page's steps in order, each ``{"kind", "title", "nodes"}``.

        ``start`` (nothing computed), one ``forward`` step for all the leaves, one per computed
        node, one ``backward`` step per node in the engine's order, then ``update``.
        """
        leaves = [node.name for node in self.nodes if not node.inputs]
        steps = [{"kind": "start", "title": "the graph", "nodes": []},
                 {"kind": "forward", "title": "forward: the inputs", "nodes": leaves}]
        steps += [{"kind": "forward", "title": f"forward: {node.name}", "nodes": [node.name]}
                  for node in self.nodes if node.inputs]
        steps += [{"kind": "backward", "title": f"backward: {name}", "nodes": [name]}
                  for name in self.backward_order]
        steps.append({"kind": "update", "title": "the gradient-descent step", "nodes": []})
        return steps

    def to_json(self) -> dict:
        """The model as the page's script reads it: numbers as exact JSON text and short text."""
        layout = layered_layout([node.name for node in self.nodes],
                                {node.name: list(node.inputs) for node in self.nodes})
        edges = [{"from": route[0], "to": route[-1],
                  "points": [layout.position[key] for key in route]} for route in layout.routes]
        return {
            "title": self.title,
            "summary": list(self.summary),
            "nodes": [_node_json(node, layout.position[node.name]) for node in self.nodes],
            "edges": edges,
            "steps": self.steps(),
            "alpha": _numbers(self.alpha),
            "updates": [{"name": u.name, "before": _numbers(u.before), "grad": _numbers(u.grad),
                         "after": _numbers(u.after)} for u in self.updates],
            "loss_name": self.loss_name,
            "loss_before": _numbers(self.loss_before),
            "loss_after": _numbers(self.loss_after),
            "loss_change": _numbers(self.loss_after - self.loss_before),
            "timeline": _timeline_json(self.timeline),
            "notes": list(self.notes),
            "verdict": self.verdict,
        }

    def html(self) -> str:
        """The page: one self-contained HTML document (inline CSS, script and SVG)."""
        data = json_codec.dumps(self.to_json(), separators=(",", ":"))
        parts = {
            "TITLE": html.escape(self.title),
            "CSS": _asset("stepthrough.css"),
            "SCRIPT": _asset("stepthrough.js"),
            "DATA": data.replace("</", "<\\/"),  # "</script>" in a string must not end the tag
        }
        # one pass, so that nothing substituted is substituted again
        return re.sub(r"\{\{(TITLE|CSS|SCRIPT|DATA)\}\}", lambda match: parts[match.group(1)],
                      _asset("stepthrough.html"))

    def write(self, path, what="output"):
        """Write :meth:`html` to ``path`` atomically (whole or not at all).

        Parameters
        ----------
        path : str or os.PathLike
        what : str
            How error messages name the file (e.g. ``"--html"``).
        """
        from lograd.files.atomic import atomic_write  # the one atomic writer

        page = self.html()
        with atomic_write(path, "w", what=what, encoding="utf-8") as f:
            f.write(page)

    def iframe(self, height: int = IFRAME_HEIGHT) -> str:
        """The page inside an ``<iframe srcdoc>``, for a notebook: scripts and styles stay in it."""
        return (f'<div class="lograd-stepthrough"><iframe srcdoc="{html.escape(self.html())}" '
                f'style="width: 100%; height: {int(height)}px; border: 1px solid #ced4da" '
                f'title="{html.escape(self.title)}"></iframe></div>')

    def table_html(self) -> str:
        """The nodes as an HTML table: formula, value, gradient, closed form, agreement."""
        cells = []
        for node in self.nodes:
            grad = "" if node.grad is None else short(node.grad)
            closed = "" if node.closed is None else short(node.closed)
            agrees = {True: "yes", False: "NO", None: ""}[node.agrees]
            if node.grad is not None and node.agrees is None:
                agrees = "not finite"
            cells.append([node.name, node.formula, short(node.value), node.grad_label, grad,
                          node.closed_formula, closed, agrees])
        header = ["node", "computed as", "value", "gradient", "engine", "closed form",
                  "closed value", "agrees"]
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in cells)
        head = "".join(f"<th>{h}</th>" for h in header)
        update = "".join(
            f"<li><code>{html.escape(u.name)} := {short(u.before)} - {short(self.alpha)}*"
            f"({short(u.grad)}) = {short(u.after)}</code></li>" for u in self.updates)
        return (f"<div><p><b>{html.escape(self.title)}</b></p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
                f"<p>Gradient-descent step, alpha = {short(self.alpha)}:</p><ul>{update}</ul>"
                f"<p>{html.escape(self.loss_name)} before the step: {short(self.loss_before)}, "
                f"after: {short(self.loss_after)}</p>"
                + "".join(f"<p>Note: {html.escape(note)}</p>" for note in self.notes)
                + f"<p>{html.escape(self.verdict)}</p></div>")


def _asset(name: str) -> str:
    assets = resources.files("lograd.lectures").joinpath("templates")
    return assets.joinpath(name).read_text(encoding="utf-8")


def _numbers(value) -> dict | None:
    """A value for the page: exact JSON text, short text, and per-element short text."""
    if value is None:
        return None
    array = np.asarray(value, dtype=np.float64)
    out = {"exact": json_codec.dumps(jsonable(array)), "short": short(array),
           "shape": list(array.shape)}
    if array.ndim:
        flat = array.reshape(-1)[:MAX_ITEMS]
        out["items"] = [short(v) for v in flat]
        out["index"] = [_index_label(i, array.shape) for i in range(flat.size)]
        out["size"] = int(array.size)
    return out


def _index_label(flat_index: int, shape: tuple) -> str:
    """1-based, as the lecture counts examples: ``"3"`` for a vector, ``"(1, 3)"`` else."""
    where = np.unravel_index(flat_index, shape)
    if len(where) == 1:
        return str(int(where[0]) + 1)
    return "(" + ", ".join(str(int(i) + 1) for i in where) + ")"


def _node_json(node: PageNode, position) -> dict:
    return {
        "name": node.name, "kind": node.kind, "formula": node.formula,
        "inputs": list(node.inputs), "position": list(position),
        "value": _numbers(node.value), "grad": _numbers(node.grad),
        "grad_label": node.grad_label, "seed": node.seed,
        "terms": [_term_json(term) for term in node.terms],
        "closed_formula": node.closed_formula, "closed": _numbers(node.closed),
        "agrees": node.agrees,
        "abs_diff": None if node.abs_diff is None else _diff_text(node.abs_diff),
    }


def _term_json(term: Term) -> dict:
    upstream, local = np.asarray(term.upstream), np.asarray(term.local)
    with np.errstate(all="ignore"):  # inf * 0 shows as nan, as the engine would find it
        elementwise = upstream.shape == local.shape or 0 in (upstream.ndim, local.ndim)
        products = upstream * local if elementwise else None
    return {"user": term.user, "upstream": _numbers(upstream),
            "local_label": term.local_label, "local_formula": term.local_formula,
            "local": _numbers(local),
            "combine": term.combine, "products": _numbers(products),
            "value": _numbers(term.value)}


def _diff_text(value: float) -> str:
    return f"{value:.1e}" if np.isfinite(value) else str(value)


def _timeline_json(timeline: Timeline | None) -> dict | None:
    if timeline is None:
        return None
    loss = np.asarray(timeline.loss, dtype=np.float64)
    return {
        "loss": jsonable(loss),
        "loss_exact": [json_codec.dumps(jsonable(v)) for v in loss],
        "loss_short": [short(v) for v in loss],
        "parameters": [{"name": name, "values": jsonable(np.asarray(values)),
                        "exact": [json_codec.dumps(jsonable(v)) for v in np.asarray(values)],
                        "short": [short(v) for v in np.asarray(values)]}
                       for name, values in timeline.parameters.items()],
    }


__all__ = ["StepThrough", "PageNode", "Term", "Update", "Timeline", "MAX_TIMELINE_STEPS"]
