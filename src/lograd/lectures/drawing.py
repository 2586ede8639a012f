"""Pictures of computation graphs written to SVG, PNG or PDF files.

The picture is :func:`lograd.autodiff.pictures.graph_figure` (any engine graph: a box per node
with its value and gradient, arrows in the order of the forward pass); this module writes it to
a file, whole or not at all.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

from lograd.autodiff.engine import Tensor
from lograd.autodiff.pictures import SVG_SETTINGS, graph_figure, graph_svg
from lograd.errors import UserError
from lograd.files.atomic import atomic_write, check_writable

FORMATS = (".svg", ".png", ".pdf")


def draw_graph(root: Tensor, path, *, title: str | None = None, dpi: int = 150) -> Path:
    """Draw the graph that computed ``root`` to an SVG, PNG or PDF file, chosen by extension.

    The file is written whole or not at all (:func:`lograd.files.atomic.atomic_write`). SVG
    text stays text, so labels can be searched and selected.

    Parameters
    ----------
    root : Tensor
        The result to draw back from.
    path : str or os.PathLike
        Where to write; the extension picks the format (.svg, .png or .pdf).
    title : str, optional
    dpi : int, default 150
        Resolution of a PNG.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    lograd.errors.UserError
        For an unknown extension or a directory that does not exist.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UserError(f"{path}: cannot draw a graph to '{suffix or 'no extension'}'; "
                        f"use one of {', '.join(FORMATS)}")
    check_writable(path, "graph file")  # before drawing
    fig = graph_figure(root, title=title)
    with atomic_write(path, what="graph file") as f, matplotlib.rc_context(SVG_SETTINGS):
        fig.savefig(f, format=suffix[1:], dpi=dpi)
    return path


__all__ = ["draw_graph", "graph_figure", "graph_svg", "FORMATS"]
