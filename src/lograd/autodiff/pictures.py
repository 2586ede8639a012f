"""Pictures of computation graphs, drawn with matplotlib alone (no graphviz needed).

Any engine graph can be drawn: the walk starts at a result Tensor and follows ``.parents``. Each
node is a box with its name or op, its forward value and its gradient (the number itself for a
single value, the numbers of a small matrix -- 2-D, at most 4 x 4 -- row by row, the shape of any
other array); arrows run from each input to the op that uses it, left to right in the order of
the forward pass. The layout (:mod:`lograd.autodiff.layout`, shared with the
step-through page) puts each node one column right of its furthest input, pulls every input next
to its first user, and orders each column by the average height of its neighbours.

The pictures live beside the engine because a Tensor shows its graph in Jupyter
(:mod:`lograd.autodiff.jupyter`); :func:`lograd.lectures.drawing.draw_graph` writes them to files.
"""

from __future__ import annotations

import io
import math

import matplotlib
import numpy as np
import scipy.sparse as sp
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath

from lograd.autodiff.engine import Tensor
from lograd.autodiff.layout import columns, layered_layout

# Geometry, in inches (the axes span the figure with 1 data unit = 1 inch).
COLUMN_PITCH = 2.35
ROW_PITCH = 0.95
BOX_WIDTH = 1.95
BOX_HEIGHT = 0.74
MARGIN = 0.25
LEGEND_HEIGHT = 0.35
TITLE_HEIGHT = 0.45
FONT_SIZE = 8.5
MAX_LABEL_CHARS = 26  # what fits in BOX_WIDTH at FONT_SIZE in a monospaced font
CHAR_WIDTH = FONT_SIZE * 0.6 / 72  # inches per character of the monospaced font
LINE_HEIGHT = FONT_SIZE * 1.25 / 72  # inches per line at the boxes' line spacing
PADDING = (0.06, 0.14)  # inches beside and above a label too big for BOX_WIDTH x BOX_HEIGHT
MAX_MATRIX_SIDE = 4  # a 2-D array of at most this many rows and columns is drawn by its values

COLORS = {
    "parameter": "#cfe2ff",  # a leaf that requires a gradient
    "constant": "#e9ecef",  # data: a leaf without a gradient
    "op": "#ffffff",
    "result": "#fff3cd",  # the tensor the walk started from
}


def graph_nodes(root: Tensor) -> list[Tensor]:
    """Every tensor that ``root`` was computed from, and ``root``; inputs before their users.

    Parameters
    ----------
    root : Tensor
        The result to walk back from through ``.parents``.

    Returns
    -------
    list of Tensor
        In topological order (iterative walk: deep graphs hit no recursion limit).
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node.parents) if id(p) not in seen)
    return order


def layers(nodes: list[Tensor]) -> dict[int, int]:
    """Column of each node (by ``id``): one past its furthest input; inputs beside their user.

    Parameters
    ----------
    nodes : list of Tensor
        In topological order, as :func:`graph_nodes` returns them.

    Returns
    -------
    dict of int to int
        ``id(node) -> column``, starting at 0.
    """
    return columns([id(node) for node in nodes], _inputs(nodes))


def graph_figure(root: Tensor, *, title: str | None = None, max_nodes: int = 300) -> Figure:
    """A matplotlib Figure of the graph that computed ``root``.

    Parameters
    ----------
    root : Tensor
        The result; gradients are shown where ``backward()`` has filled ``.grad``.
    title : str, optional
        Drawn above the graph.
    max_nodes : int, default 300
        Larger graphs raise ValueError rather than produce an unreadable picture.

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to pyplot: embed it, or save it with ``savefig``.
    """
    nodes = graph_nodes(root)
    if len(nodes) > max_nodes:
        raise ValueError(f"the graph has {len(nodes)} nodes, more than max_nodes={max_nodes} "
                         "that fit in a readable picture")
    layout = layered_layout([id(node) for node in nodes], _inputs(nodes))
    labels = {id(node): _label(node) for node in nodes}
    sizes = {key: _box_size(label) for key, label in labels.items()}
    # Each column as wide as its widest box; every row as tall as the tallest box (heights are
    # on a half-slot grid, so rows cannot differ). Small graphs of scalars keep the fixed sizes.
    column_width = [BOX_WIDTH] * layout.n_columns
    for key, (box_width, _) in sizes.items():
        column = layout.position[key][0]
        column_width[column] = max(column_width[column], box_width)
    tallest = max(height for _, height in sizes.values())
    row_pitch = ROW_PITCH if tallest <= BOX_HEIGHT else tallest + ROW_PITCH - BOX_HEIGHT
    extra = [w - BOX_WIDTH for w in column_width]  # what each column adds to COLUMN_PITCH
    width = 2 * MARGIN + layout.n_columns * COLUMN_PITCH + sum(extra)
    body = 2 * MARGIN + layout.n_rows * row_pitch
    height = body + LEGEND_HEIGHT + (TITLE_HEIGHT if title else 0)

    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()

    def center(key):
        col, row = layout.position[key]
        return (MARGIN + (col + 0.5) * COLUMN_PITCH + sum(extra[:col]) + extra[col] / 2,
                LEGEND_HEIGHT + body / 2 + row * row_pitch)

    def half_width(key):
        return sizes[key][0] / 2 if key in sizes else column_width[layout.position[key][0]] / 2

    for route in layout.routes:
        _arrow(ax, [center(key) for key in route], [half_width(key) for key in route])
    for node in nodes:
        _box(ax, center(id(node)), sizes[id(node)], labels[id(node)], _kind(node, root))
    if title:
        ax.text(width / 2, height - TITLE_HEIGHT / 2, title, ha="center", va="center",
                fontsize=FONT_SIZE + 2)
    ax.text(MARGIN, LEGEND_HEIGHT / 2, _LEGEND, ha="left", va="center",
            fontsize=FONT_SIZE - 1, color="#495057")
    return fig


def graph_svg(root: Tensor, *, title: str | None = None, max_nodes: int = 300) -> str:
    """The picture of :func:`graph_figure` as SVG text (labels stay text), e.g. for a notebook.

    Parameters
    ----------
    root : Tensor
    title : str, optional
    max_nodes : int, default 300
        Larger graphs raise ValueError.

    Returns
    -------
    str
        An ``<svg>`` document.
    """
    buffer = io.StringIO()
    with matplotlib.rc_context(SVG_SETTINGS):
        graph_figure(root, title=title, max_nodes=max_nodes).savefig(buffer, format="svg")
    return buffer.getvalue()


# Text stays text (searchable, selectable), and ids are the same on every run.
SVG_SETTINGS = {"svg.fonttype": "none", "svg.hashsalt": "lograd"}

_LEGEND = ("blue: parameters (need a gradient)   grey: data and constants   white: operations   "
           "arrows: forward pass   grad: d(result)/d(node) after backward()")


def _inputs(nodes):
    """``id(node) -> ids of its inputs``, the graph as :mod:`lograd.autodiff.layout` takes it."""
    return {id(node): [id(p) for p in node.parents] for node in nodes}


def _kind(node: Tensor, root: Tensor) -> str:
    if node is root:
        return "result"
    if node.op is not None:
        return "op"
    return "parameter" if node.requires_grad else "constant"


def _label(node: Tensor) -> str:
    op = node.op.name if node.op is not None else None
    if node.name and op:
        head = f"{node.name} [{op}]"
    else:
        head = node.name or op or "constant"
    lines = [_fit(head)] + _describe("value", node.data)
    if node.grad is not None:
        lines += _describe("grad", node.grad)
    elif not node.requires_grad:
        lines.append("no grad")
    return "\n".join(lines)


def _describe(what: str, array) -> list[str]:
    """``what`` and the number itself for a single value; the shape and, for a small matrix,
    its rows of numbers (3 significant digits); else the shape."""
    if sp.issparse(array):
        return [_fit(f"{what} sparse {array.shape}")]
    array = np.asarray(array)
    if array.size == 1:
        return [_fit(f"{what} {_number(array.reshape(-1)[0], 6)}")]
    if array.ndim == 2 and max(array.shape) <= MAX_MATRIX_SIDE:
        cells = [[_number(v, 3) for v in row] for row in array]
        width = max(len(cell) for row in cells for cell in row)
        return [f"{what} {array.shape}"] + [  # no-break spaces: SVG collapses runs of spaces
            "[" + _NBSP.join(cell.rjust(width, _NBSP) for cell in row) + "]" for row in cells]
    return [_fit(f"{what} shape {array.shape}")]


_NBSP = "\u00a0"


def _number(value, digits: int) -> str:
    value = float(value)
    return f"{value + 0.0:.{digits}g}" if math.isfinite(value) else str(value)  # no "-0"


def _box_size(label: str) -> tuple[float, float]:
    """(width, height) in inches of the box for ``label``: the fixed size, or larger to fit."""
    lines = label.split("\n")
    return (max(BOX_WIDTH, CHAR_WIDTH * max(len(line) for line in lines) + 2 * PADDING[0]),
            max(BOX_HEIGHT, LINE_HEIGHT * len(lines) + 2 * PADDING[1]))


def _fit(line: str) -> str:
    return line if len(line) <= MAX_LABEL_CHARS else line[: MAX_LABEL_CHARS - 3] + "..."


def _box(ax, center, size, label, kind):
    (x, y), (box_width, box_height) = center, size
    ax.add_patch(FancyBboxPatch(
        (x - box_width / 2, y - box_height / 2), box_width, box_height,
        boxstyle="round,pad=0,rounding_size=0.08", facecolor=COLORS[kind],
        edgecolor="#343a40", linewidth=0.8, zorder=2))
    ax.text(x, y, label, ha="center", va="center", fontsize=FONT_SIZE, family="monospace",
            linespacing=1.25, zorder=3)


def _arrow(ax, centers, half_widths):
    """From the right edge of the first box to the left edge of the last, level through each
    waypoint's column (``half_widths``: of each box, and of each waypoint's column) and
    slanting in the gaps between columns."""
    (x0, y0), *waypoints, (x1, y1) = centers
    points = [(x0 + half_widths[0], y0)]
    for (x, y), half in zip(waypoints, half_widths[1:-1]):
        points += [(x - half, y), (x + half, y)]
    points.append((x1 - half_widths[-1], y1))
    path = MplPath(points, [MplPath.MOVETO] + [MplPath.LINETO] * (len(points) - 1))
    ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=10, linewidth=0.9,
                                 color="#6c757d", zorder=1))

__all__ = ["graph_figure", "graph_svg", "graph_nodes", "layers", "SVG_SETTINGS"]
