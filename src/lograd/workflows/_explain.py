"""What ``lograd explain`` does: a lecture's trace through the engine, its pictures and page."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lograd.errors import UserError

_TITLES = {
    "logistic": "The lecture's graph: forward values and gradients from backward()",
    "network": "The course's two-layer network: values and gradients from backward()",
}


@dataclass
class ExplainResult:
    """What :func:`explain` traced and wrote.

    Attributes
    ----------
    trace : lograd.lectures.logistic.Explanation or lograd.lectures.network.NetworkTrace
        The trace: ``trace.table()`` is the text ``lograd explain`` prints, ``trace.to_dict()``
        its JSON form.
    title : str
        The pictures' title.
    written : dict
        The files written, by what they are: ``{"svg": path, "png": path, "html": path}``.
    """

    trace: object
    title: str
    written: dict = field(default_factory=dict)


def explain(*, x=None, y=None, w=None, b=None, alpha=None, data=None, target="y", hidden=None,
            activation=None, params=None, seed=None, svg=None, png=None, html=None,
            steps=None) -> ExplainResult:
    """Trace the lecture's logistic regression (or, with ``hidden``, the course's two-layer
    network) forward, backward and one gradient-descent step; draw and page it if asked.

    Parameters
    ----------
    x : sequence of float, shape (n,), or of sequences, shape (m, n), optional
        One example's features, or m examples' (default: the lecture's example).
    y : float or sequence of float, shape (m,), optional
        The labels, 0 or 1, one per example.
    w : sequence of float, shape (n,), optional
        The weights (default: the lecture's, for its two features).
    b : float, optional
        The bias.
    alpha : float, optional
        The learning rate of the step (default: the lecture's; with ``hidden``, the course's).
    data : str or path-like, optional
        The examples from a table with a header: feature columns, in order, and the label
        column ``target`` (instead of ``x`` and ``y``).
    target : str or int
        The label column of ``data``, by name or 0-based index.
    hidden : int, optional
        Trace the two-layer network with this many hidden units (1 to 100) instead.
    activation : {'tanh', 'relu', 'sigmoid'}, optional
        With ``hidden``: the hidden layer's activation (default tanh).
    params : str or path-like, optional
        With ``hidden``: W1, b1, W2, b2 from a ``.npz`` file (default: the course's
        initialisation, drawn with ``seed``).
    seed : int, optional
        With ``hidden``: the seed of the default weights (default: the course's).
    svg, png : str or path-like, optional
        Also draw the graph with its numbers to these files.
    html : str or path-like, optional
        Also write a self-contained page stepping through the passes and the update.
    steps : int, optional
        With ``html``: a timeline of this many gradient-descent steps (1 to 10000).

    Returns
    -------
    ExplainResult

    Raises
    ------
    lograd.errors.UserError
        One line naming the parameter or the file and line: inputs of the wrong shape or
        value, parameters of the other trace, bad files, outputs that cannot be written.
    """
    _check_outputs(svg=svg, png=png, html=html, steps=steps, data=data, params=params)
    if hidden is not None:
        trace = _network_trace(x=x, y=y, w=w, b=b, alpha=alpha, data=data, target=target,
                               hidden=hidden, activation=activation, params=params, seed=seed)
        title = _TITLES["network"]
    else:
        for name, value in (("activation", activation), ("params", params), ("seed", seed)):
            if value is not None:
                raise UserError(f"`{name}` is for the two-layer network: give `hidden=N` too")
        trace = _logistic_trace(x=x, y=y, w=w, b=b, alpha=alpha, data=data, target=target)
        title = _TITLES["logistic"]
    return ExplainResult(trace, title, _write(trace, title, svg=svg, png=png, html=html,
                                              steps=steps))


def _logistic_trace(*, x, y, w, b, alpha, data, target):
    from lograd.lectures import logistic

    examples, labels = _examples(x, y, data, target)
    n = _width(examples)
    if w is None and n != len(logistic.DEFAULT_W):
        raise UserError(f"`w` is needed: the examples have {n} features and the default "
                        f"weights are for {len(logistic.DEFAULT_W)}")
    return logistic.explain(
        x=examples, y=labels,
        w=logistic.DEFAULT_W if w is None else w,
        b=logistic.DEFAULT_B if b is None else b,
        alpha=logistic.DEFAULT_ALPHA if alpha is None else alpha)


def _width(examples) -> int:
    """The number of features of one example (n,) or of m examples (m, n)."""
    import numpy as np

    return int(np.shape(examples)[-1])


def _network_trace(*, x, y, w, b, alpha, data, target, hidden, activation, params, seed):
    from lograd.lectures import network

    if not 1 <= hidden <= network.MAX_HIDDEN:
        raise UserError(f"`hidden` {hidden}: give a number of hidden units from 1 to "
                        f"{network.MAX_HIDDEN}")
    for name, value in (("x", x), ("y", y), ("w", w), ("b", b)):
        if value is not None:
            raise UserError(f"`{name}` is for the logistic-regression trace; with `hidden` give "
                            "the examples with `data` and the weights with `params`")
    if params is not None and seed is not None:
        raise UserError("`seed` draws the default weights and `params` gives them: use one")
    if seed is not None and not 0 <= seed < 2**32:
        raise UserError(f"`seed` {seed}: give a whole number from 0 to {2**32 - 1}")
    if alpha is not None and not (math.isfinite(alpha) and alpha > 0):
        raise UserError(f"`alpha` {alpha:g}: the learning rate must be a positive number")
    if data is not None:
        examples, labels = _read_examples(data, target)
        X, Y = examples.T, labels.reshape(1, -1)  # the course's layout: examples as columns
    else:
        X, Y = network.default_examples()
    weights = {}
    if params is not None:
        weights = network.read_parameters(params, n_x=X.shape[0], n_h=hidden, what="`params`")
    return network.explain_network(
        X, Y, **weights, activation=activation or "tanh", hidden=None if weights else hidden,
        alpha=network.DEFAULT_ALPHA if alpha is None else alpha, seed=seed)


def _examples(x, y, data, target):
    """The examples and labels, from ``data`` or from ``x``/``y`` (or the lecture's): x of
    shape (n,) and a label, or (m, n) and m labels."""
    if data is not None:
        if x is not None or y is not None:
            raise UserError("give the examples either with `data` or with `x`/`y`, not both")
        return _read_examples(data, target)
    from lograd.lectures import logistic

    xs = [list(logistic.DEFAULT_X)] if x is None else _rows(x)
    ys = [logistic.DEFAULT_Y] if y is None else _labels(y)
    if len(ys) != len(xs):
        raise UserError(f"{len(xs)} example{'s' * (len(xs) != 1)} (`x`) but {len(ys)} "
                        f"label{'s' * (len(ys) != 1)} (`y`): give one `y` per `x`")
    widths = {len(row) for row in xs}
    if len(widths) > 1:
        raise UserError(f"every `x` needs the same number of features; got "
                        f"{', '.join(str(len(row)) for row in xs)}")
    return (xs[0], ys[0]) if len(xs) == 1 else (xs, ys)


def _rows(x) -> list:
    """``x`` as a list of examples: one example (numbers) becomes a list of one."""
    rows = list(x)
    if rows and not hasattr(rows[0], "__len__"):
        return [rows]
    return [list(row) for row in rows]


def _labels(y) -> list:
    return list(y) if hasattr(y, "__len__") else [y]


def _read_examples(path, target):
    """Examples (m, n) and 0/1 labels (m,) from a table (read as every command reads files)."""
    import numpy as np

    from lograd.files.tables import read_table

    table = read_table(path, target=target)
    where = "line" if table.schema.header else "row"
    first = 2 if table.schema.header else 1
    labels = table.y
    if labels.dtype.kind not in "iuf":
        raise UserError(f"{table.source}: label column {table.schema.target!r} must hold 0 or 1; "
                        f"found {labels[0]!s} ({where} {first})")
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        raise UserError(f"{table.source}: {where} {bad[0] + first}, label column "
                        f"{table.schema.target!r}: {labels[bad[0]].item()!r} is not 0 or 1")
    return table.X, labels.astype(np.float64)


def _check_outputs(*, svg, png, html, steps, data, params) -> None:
    """Every output names a file of its kind, never an input or another output (before any
    work: nothing is half-written)."""
    from lograd.files.atomic import check_outputs

    if steps is not None and not html:
        raise UserError("`steps` adds a timeline to the page: give `html=FILE` too")
    if steps is not None and not 1 <= steps <= _max_steps():
        raise UserError(f"`steps` {steps}: give a number of steps from 1 to {_max_steps()}")
    if html and not str(html).lower().endswith((".html", ".htm")):
        raise UserError(f"`html` {html}: the file name must end in .html")
    for name, path, suffix in (("svg", svg, ".svg"), ("png", png, ".png")):
        if path and not str(path).lower().endswith(suffix):
            raise UserError(f"`{name}` {path}: the file name must end in {suffix}")
    inputs = [(f"`{name}`", path) for name, path in (("data", data), ("params", params))
              if path]
    check_outputs({"`svg`": svg, "`png`": png, "`html`": html}, inputs)


def _max_steps() -> int:
    from lograd.lectures.page import MAX_TIMELINE_STEPS

    return MAX_TIMELINE_STEPS


def _write(trace, title, *, svg, png, html, steps) -> dict:
    """The pictures and the page asked for; what was written."""
    written = {}
    if svg or png:
        from lograd.lectures.drawing import draw_graph  # matplotlib only for a picture

        for kind, path in (("svg", svg), ("png", png)):
            if path:
                draw_graph(trace.graph, path, title=title)
                written[kind] = path
    if html:
        trace.page(steps or 0).write(html, what="`html`")
        written["html"] = html
    return written
