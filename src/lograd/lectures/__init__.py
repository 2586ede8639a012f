"""The lectures, checked by the machine: traces of the lecture's logistic-regression graph and of
the course's two-layer network through the engine, beside their closed forms; their pictures
and the step-through page.

- :mod:`~lograd.lectures.logistic`: ``lograd explain``'s trace (``lograd.explain``);
- :mod:`~lograd.lectures.network`: ``lograd explain --hidden N`` (``lograd.explain_network``);
- :mod:`~lograd.lectures.drawing`: any engine graph to an SVG/PNG/PDF file (the picture is
  :mod:`lograd.autodiff.pictures`);
- :mod:`~lograd.lectures.page`: the self-contained step-through HTML page;
- :mod:`~lograd.lectures.numbers`: how the traces write numbers.
"""
