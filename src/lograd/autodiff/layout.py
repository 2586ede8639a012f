"""Where to put each node of a graph drawing: columns by longest path, rows by neighbours.

Used by the matplotlib pictures (:mod:`lograd.autodiff.pictures`) and the step-through page
(:mod:`lograd.lectures.page`), so both draw a graph the same way. Nodes are any hashable keys; the
graph is given as each node's list of inputs. Pure Python: no matplotlib is imported.

Each node goes one column right of its furthest input, and an input with no inputs of its own
sits just left of its first user rather than at the far left. An edge that spans several
columns gets a waypoint in each column it crosses; waypoints take a slot like a node, so long
arrows run between boxes instead of through them. Each column is then ordered by the mean
height of its neighbours, in two sweeps right and left.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """A layered drawing of a graph.

    Attributes
    ----------
    column : dict
        ``node -> column``, starting at 0 on the left.
    position : dict
        ``key -> (column, height)`` for every node and waypoint; heights are centred on 0,
        larger is higher, one unit between neighbours in a column.
    routes : list of list
        One per edge, in the order the edges were given (node by node, input by input): the keys
        it passes, input first, user last, waypoints ``(edge number, column)`` between.
    n_columns, n_rows : int
        The drawing's size in slots.
    """

    column: dict
    position: dict
    routes: list
    n_columns: int
    n_rows: int


def columns(nodes: Sequence[Hashable], inputs: dict) -> dict:
    """Column of each node: one past its furthest input; a leaf just left of its first user.

    Parameters
    ----------
    nodes : sequence of hashable
        Every node, each after all of its inputs (topological order).
    inputs : dict
        ``node -> list of the nodes it was computed from`` (missing or empty for a leaf).

    Returns
    -------
    dict
        ``node -> column``, starting at 0.
    """
    column = {}
    for node in nodes:  # longest path from the inputs
        column[node] = 1 + max((column[p] for p in inputs.get(node, ())), default=-1)
    users = {node: [] for node in nodes}
    for node in nodes:
        for parent in inputs.get(node, ()):
            users[parent].append(node)
    for node in nodes:  # an input sits just left of its first user, not at the far left
        if not inputs.get(node) and users[node]:
            column[node] = min(column[u] for u in users[node]) - 1
    return column


def layered_layout(nodes: Sequence[Hashable], inputs: dict) -> Layout:
    """Columns, heights and edge routes for drawing the graph left to right.

    Parameters
    ----------
    nodes : sequence of hashable
        Every node, each after all of its inputs (topological order).
    inputs : dict
        ``node -> list of its inputs``; an input listed twice gives two edges.

    Returns
    -------
    Layout
    """
    column = columns(nodes, inputs)
    routes = []  # per edge: the keys it passes, input first
    above, below = {}, {}  # key -> neighbouring keys in earlier / later columns
    by_column = {}
    for node in nodes:
        by_column.setdefault(column[node], []).append(node)
    for node in nodes:
        for parent in inputs.get(node, ()):
            first, last = column[parent], column[node]
            waypoints = [(len(routes), col) for col in range(first + 1, last)]
            route = [parent, *waypoints, node]
            for key in waypoints:
                by_column[key[1]].append(key)
            for earlier, later in zip(route, route[1:]):
                below.setdefault(earlier, []).append(later)
                above.setdefault(later, []).append(earlier)
            routes.append(route)
    _order(by_column, above, below)
    position = {key: (col, height) for col, keys in by_column.items()
                for key, height in zip(keys, _heights(len(keys)))}
    return Layout(column=column, position=position, routes=routes,
                  n_columns=max(column.values(), default=-1) + 1,
                  n_rows=max((len(keys) for keys in by_column.values()), default=0))


def _order(by_column, above, below):
    """Two sweeps right then left, sorting each column by its neighbours' mean height."""
    for _ in range(2):
        for neighbours, cols in ((above, sorted(by_column)),
                                 (below, sorted(by_column, reverse=True))):
            for col in cols:
                height = {key: h for keys in by_column.values()
                          for key, h in zip(keys, _heights(len(keys)))}
                by_column[col] = sorted(by_column[col], key=lambda key: -_mean(
                    [height[k] for k in neighbours.get(key, [])], default=height[key]))


def _heights(count):
    """Slot heights, top first, centred on 0."""
    return [(count - 1) / 2 - i for i in range(count)]


def _mean(values, default):
    return sum(values) / len(values) if values else default


__all__ = ["Layout", "columns", "layered_layout"]
