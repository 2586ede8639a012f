"""Models: parameters + a batch of rows -> logits (see :mod:`lograd.models.base`).

- :class:`~lograd.models.linear.Linear`: logistic regression's ``z = X w + b``;
- :mod:`~lograd.models.targets`: labels <-> 0/1 or one-hot targets, the cross-entropy of
  logits, probabilities and labels from logits, once for every model.
"""

from lograd.models.base import Model, Parameter

__all__ = ["Model", "Parameter"]
