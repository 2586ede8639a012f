"""The lectures, checked by the machine: traces of the lecture's logistic-regression graph and of
the course's two-layer network through the engine, beside their closed forms; pictures of any
engine graph; the step-through page; Jupyter display.

- :mod:`~lograd.lectures.logistic`: ``lograd explain``'s trace (``lograd.explain``);
- :mod:`~lograd.lectures.network`: ``lograd explain --hidden N`` (``lograd.explain_network``);
- :mod:`~lograd.lectures.drawing` and :mod:`~lograd.lectures.layout`: graphs to SVG/PNG/PDF;
- :mod:`~lograd.lectures.page`: the self-contained step-through HTML page;
- :mod:`~lograd.lectures.jupyter`: what a notebook shows; :mod:`~lograd.lectures.numbers`: how
  the traces write numbers.
"""
