"""Check the engine's gradients against central finite differences."""

from __future__ import annotations

import numpy as np

from lograd.autodiff.engine import Tensor


class GradcheckError(AssertionError):
    """The engine's gradient and the finite-difference estimate disagree."""


def gradcheck(f, *inputs, eps=1e-6, atol=1e-6, rtol=1e-4, max_elements=64, n_directions=8, seed=0):
    """Compare the gradients that ``backward()`` gives with central finite differences.

    ``f(*tensors)`` must return a Tensor. A non-scalar result is reduced to the scalar
    ``sum(f * r)`` with a fixed random ``r``, so every output element is checked. Inputs are
    checked in float64. Each input with at most ``max_elements`` elements is checked element by
    element, ``(f(x + eps e_i) - f(x - eps e_i)) / 2 eps``; a larger one along ``n_directions``
    random unit directions ``v``, against ``grad · v``.

    Parameters
    ----------
    f : callable
        Takes one Tensor per input and returns a Tensor.
    *inputs : array_like or Tensor
        The point at which to check. Every input is differentiated.
    eps, atol, rtol : float
        Step and tolerances: passes where ``|analytic - numeric| <= atol + rtol * |numeric|``.

    Returns
    -------
    True when every check passes.

    Raises
    ------
    GradcheckError
        Naming the input, the element or direction, both values, and the worst mismatch.
    """
    rng = np.random.default_rng(seed)
    points = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]
    out = f(*[Tensor(p) for p in points])
    weights = rng.standard_normal(np.shape(out.data)) if np.size(out.data) != 1 else None

    def scalar(*arrays):
        result = f(*[Tensor(a) for a in arrays]).data
        return float(np.sum(result * weights) if weights is not None else np.sum(result))

    leaves = [Tensor(p, requires_grad=True) for p in points]
    result = f(*leaves)
    if weights is None:
        result.backward()
    else:
        result.backward(weights.reshape(result.shape))

    worst = None  # (excess over tolerance, message)
    for k, (point, leaf) in enumerate(zip(points, leaves)):
        analytic = np.zeros_like(point) if leaf.grad is None else leaf.grad
        if point.size <= max_elements:
            probes = [(f"element {_index(i, point.shape)}", np.eye(point.size)[i])
                      for i in range(point.size)]
        else:
            probes = [(f"random direction {j}", _unit(rng.standard_normal(point.size)))
                      for j in range(n_directions)]
        for where, direction in probes:
            step = eps * direction.reshape(point.shape)
            before, after = [a.copy() for a in points], [a.copy() for a in points]
            before[k] -= step
            after[k] += step
            numeric = (scalar(*after) - scalar(*before)) / (2 * eps)
            exact = float(np.sum(analytic * direction.reshape(point.shape)))
            excess = abs(exact - numeric) - (atol + rtol * abs(numeric))
            if excess > 0 and (worst is None or excess > worst[0]):
                worst = (excess, f"input {k}, {where}: backward gives {exact:.10g}, "
                                 f"finite differences {numeric:.10g}")
    if worst is not None:
        raise GradcheckError(f"gradient mismatch, worst at {worst[1]}")
    return True


def _index(flat, shape):
    return tuple(int(i) for i in np.unravel_index(flat, shape))


def _unit(v):
    return v / np.linalg.norm(v)
