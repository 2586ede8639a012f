"""Reverse-mode automatic differentiation over NumPy: the bottom layer of lograd.

- :mod:`~lograd.autodiff.engine`: ``Tensor``, ``apply``, the backward pass, per-thread grad mode,
  the op recorder;
- :mod:`~lograd.autodiff.ops`: the one table of primitive ops, each NumPy forward beside its
  vector-Jacobian products, and the composites built from them;
- :mod:`~lograd.autodiff.compile`: ``compile_grad``, a function traced once into straight-line
  code that the engine's backward pass writes down;
- :mod:`~lograd.autodiff.gradcheck`: gradients against central finite differences;
- :mod:`~lograd.autodiff.pictures` and :mod:`~lograd.autodiff.layout`: a picture of any graph
  (matplotlib, loaded when first drawn); :mod:`~lograd.autodiff.jupyter`: a Tensor in a notebook
  shows its graph.
"""

from lograd.autodiff import engine, ops  # noqa: F401  (ops fills engine.OPS)
