"""What a lecture trace shows, wherever it is looked at: its text table in a terminal, its
step-through page written to a file or shown inline in Jupyter, its HTML table in a notebook.

A trace class gives ``table()`` (its plain text) and ``page(steps)`` (its
:class:`lograd.lectures.page.StepThrough`); :class:`TraceDisplay` builds the rest on those two.
"""

from __future__ import annotations


class TraceDisplay:
    """``str()``, ``write_html``, ``show`` and ``_repr_html_`` from ``table`` and ``page``."""

    def table(self) -> str:  # pragma: no cover - each trace class gives its own
        raise NotImplementedError

    def page(self, steps: int = 0):  # pragma: no cover - each trace class gives its own
        raise NotImplementedError

    def __str__(self) -> str:
        return self.table()

    def write_html(self, path, steps: int = 0) -> None:
        """Write the step-through page to ``path``: one self-contained HTML file, atomically.

        Parameters
        ----------
        path : str or os.PathLike
        steps : int, default 0
            With K > 0, the page has a timeline of K gradient-descent steps.
        """
        self.page(steps).write(path)

    def show(self, steps: int = 0, height: int = 760) -> None:
        """Display the step-through page inline in a Jupyter notebook (in an iframe).

        Parameters
        ----------
        steps : int, default 0
            With K > 0, the page has a timeline of K gradient-descent steps.
        height : int, default 760
            Of the iframe, in pixels. Click into it, then step with the arrow keys.
        """
        from IPython.display import HTML, display

        display(HTML(self.page(steps).iframe(height)))

    def _repr_html_(self) -> str:
        """The nodes as an HTML table, for Jupyter."""
        return self.page().table_html()
