"""How lograd objects show themselves in Jupyter; imported only when a notebook asks.

A :class:`lograd.Tensor` displays the graph that computed it as SVG (drawn by
:func:`lograd.autodiff.pictures.graph_svg`), with its ``repr`` as the text/plain fallback.
Graphs larger than :data:`MAX_DRAWN_NODES` nodes, and lone leaves, show the text only:
counting stops there, so displaying the result of a huge graph costs no more than walking
that many nodes.
"""

from __future__ import annotations

MAX_DRAWN_NODES = 60  # more boxes than this make an unreadable inline picture


def graph_size(root, limit: int) -> int:
    """The number of nodes ``root`` was computed from (itself included), counting at most
    ``limit + 1``."""
    seen = {id(root)}
    stack = [root]
    while stack and len(seen) <= limit:
        for parent in stack.pop().parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return min(len(seen), limit + 1)


def tensor_mimebundle(tensor, include=None, exclude=None) -> dict:
    """What ``Tensor._repr_mimebundle_`` returns: text/plain, and image/svg+xml for a graph.

    Parameters
    ----------
    tensor : lograd.Tensor
    include, exclude : collection of str, optional
        MIME types IPython asks for, or asks to leave out.

    Returns
    -------
    dict of str to str
    """
    text = repr(tensor)
    size = graph_size(tensor, MAX_DRAWN_NODES)
    wanted = (include is None or "image/svg+xml" in include) and not (
        exclude and "image/svg+xml" in exclude)
    bundle = {}
    if size > MAX_DRAWN_NODES:
        text += (f"\n(its graph has more than {MAX_DRAWN_NODES} nodes: not drawn inline; "
                 "lograd.lectures.drawing.draw_graph writes a picture of up to 300)")
    elif size > 1 and wanted:
        from lograd.autodiff.pictures import graph_svg  # matplotlib only now

        bundle["image/svg+xml"] = graph_svg(tensor)
    bundle["text/plain"] = text
    return bundle


__all__ = ["tensor_mimebundle", "graph_size", "MAX_DRAWN_NODES"]
