"""The course's lessons, traced through the engine: every number computed by backpropagation and
set beside the course's closed form.

:mod:`lograd.lectures.network` traces the course's two-layer network
(:func:`lograd.explain_network`).
"""
