"""The table of primitive ops: each NumPy forward registered beside its vector-Jacobian products.

In every VJP, ``g`` is dL/d(out) and ``ans`` is ``out``; the comment gives the formula. Gradients
for broadcast inputs are summed back to the input's shape by the engine, not here.

Composite functions (``mean``, ``softmax``, ``log_softmax``, ...) are written from primitives.
Two losses are primitives because their numerics demand it: evaluated from ``log(sigmoid(z))``
they overflow or lose all precision for large |z|, while the fused forms below are exact.
"""

from __future__ import annotations

import operator

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, logsumexp
from scipy.special import softmax as _softmax

from lograd.engine import Tensor, apply, defop


def _matmul_vjp_left(g, ans, a, b):
    if b.ndim == 1:  # (..., n) @ (n,) -> (...):   dA = g ⊗ b
        return np.multiply.outer(g, b)
    if a.ndim == 1:  # (n,) @ (..., n, k) -> (..., k):   da = B g
        return (b @ g[..., None])[..., 0]
    return g @ np.swapaxes(b, -1, -2)  # dA = G Bᵀ


def _matmul_vjp_right(g, ans, a, b):
    a_t = a.T if sp.issparse(a) else np.swapaxes(a, -1, -2) if a.ndim > 1 else a
    if a.ndim == 1 and b.ndim == 1:  # a·b -> scalar:   db = g a
        return g * a
    if a.ndim == 1:  # (n,) @ (..., n, k) -> (..., k):   dB = a ⊗ g
        return a[:, None] * g[..., None, :]
    if b.ndim == 1:  # (..., m, n) @ (n,) -> (..., m):   db = Aᵀ g
        return np.asarray(a_t @ g) if sp.issparse(a) else (a_t @ g[..., None])[..., 0]
    return np.asarray(a_t @ g)  # dB = Aᵀ G


def _sum_vjp(g, ans, x, axis, keepdims):
    if axis is not None and not keepdims:  # put back the summed axes, then broadcast
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, x.shape)  # d(sum x)/dx_i = 1


def _getitem_vjp(g, ans, x, index):
    dx = np.zeros_like(x)
    np.add.at(dx, index, g)  # dx[index] += g, repeated indices add up
    return dx


def _sigmoid_cross_entropy(z, y):
    # -(y log σ(z) + (1-y) log(1-σ(z))) = log(1 + e^z) - y z, computed without overflow
    return np.logaddexp(0, z) - y * z


def _softmax_cross_entropy(z, y):
    # -Σ_k y_k log softmax(z)_k = logsumexp(z) Σ_k y_k - Σ_k y_k z_k   (per row)
    return logsumexp(z, axis=-1) * y.sum(axis=-1) - (y * z).sum(axis=-1)


def _softmax_cross_entropy_vjp_z(g, ans, z, y):
    # dL/dz = softmax(z) Σ_k y_k - y   (= softmax(z) - y for one-hot rows)
    return g[..., None] * (_softmax(z, axis=-1) * y.sum(axis=-1, keepdims=True) - y)


# Forwards of arithmetic are Python's operators, not ufuncs: on arrays `a * b` is np.multiply,
# and on the NumPy scalars of 0-d values it takes NumPy's scalar fast path (~20x cheaper than
# calling np.multiply on scalars).
# name            forward                                    VJP for each argument
defop("add", operator.add, lambda g, ans, a, b: g, lambda g, ans, a, b: g)  # d(a+b) = da + db
defop("sub", operator.sub, lambda g, ans, a, b: g, lambda g, ans, a, b: -g)  # d(a-b) = da - db
defop("mul", operator.mul,
      lambda g, ans, a, b: g * b,  # d(ab)/da = b
      lambda g, ans, a, b: g * a)  # d(ab)/db = a
defop("div", operator.truediv,
      lambda g, ans, a, b: g / b,  # d(a/b)/da = 1/b
      lambda g, ans, a, b: -g * ans / b)  # d(a/b)/db = -a/b²
defop("neg", operator.neg, lambda g, ans, x: -g)  # d(-x)/dx = -1
defop("pow", lambda x, exponent: x ** exponent,
      lambda g, ans, x, exponent: g * exponent * x ** (exponent - 1))  # d xᵖ/dx = p xᵖ⁻¹
defop("matmul", operator.matmul, _matmul_vjp_left, _matmul_vjp_right)
defop("sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims), _sum_vjp)
defop("exp", np.exp, lambda g, ans, x: g * ans)  # d eˣ/dx = eˣ
defop("log", np.log, lambda g, ans, x: g / x)  # d log x/dx = 1/x
defop("sigmoid", expit, lambda g, ans, x: g * ans * (1 - ans))  # dσ/dx = σ(1-σ)
defop("tanh", np.tanh, lambda g, ans, x: g * (1 - ans * ans))  # d tanh/dx = 1 - tanh²
defop("relu", lambda x: np.maximum(x, 0), lambda g, ans, x: g * (x > 0))  # 1 where x > 0
defop("reshape", lambda x, shape: np.reshape(x, shape),
      lambda g, ans, x, shape: np.reshape(g, x.shape))  # same values, old shape
defop("transpose", lambda x, axes: np.transpose(x, axes),
      lambda g, ans, x, axes: np.transpose(g, None if axes is None else np.argsort(axes)))
defop("getitem", lambda x, index: x[index], _getitem_vjp)
defop("sigmoid_cross_entropy", _sigmoid_cross_entropy,
      lambda g, ans, z, y: g * (expit(z) - y),  # dL/dz = σ(z) - y   (the lecture's dz = a - y)
      lambda g, ans, z, y: -g * z)  # dL/dy = -z
defop("softmax_cross_entropy", _softmax_cross_entropy,
      _softmax_cross_entropy_vjp_z,
      lambda g, ans, z, y: g[..., None] * (logsumexp(z, axis=-1, keepdims=True) - z))
# dL/dy_k = logsumexp(z) - z_k = -log softmax(z)_k


# -- functional forms ----------------------------------------------------------------------------
def add(a, b):
    return apply("add", a, b)


def mul(a, b):
    return apply("mul", a, b)


def matmul(a, b):
    """``a @ b``; ``a`` may be a scipy.sparse matrix (a constant data matrix)."""
    return apply("matmul", a, b)


def exp(x):
    return apply("exp", x)


def log(x):
    return apply("log", x)


def sigmoid(x):
    return apply("sigmoid", x)


def tanh(x):
    return apply("tanh", x)


def relu(x):
    return apply("relu", x)


def sigmoid_cross_entropy(z, y):
    """Binary cross-entropy on logits, elementwise: ``log(1 + exp(z)) - y z``.

    Finite and exact for any |z| (no ``log(0)``), and its gradient with respect to ``z`` is
    exactly ``sigmoid(z) - y``: the lecture's ``dz = a - y``, without forming ``da``.

    Parameters
    ----------
    z : Tensor or array_like, any shape
        Logits.
    y : Tensor or array_like, broadcastable to ``z``
        Targets in [0, 1].

    Returns
    -------
    Tensor of the broadcast shape of ``z`` and ``y``: the loss per element.
    """
    return apply("sigmoid_cross_entropy", z, y)


def softmax_cross_entropy(z, y):
    """Multiclass cross-entropy on logits, per row: ``logsumexp(z) - Σ_k y_k z_k``.

    Parameters
    ----------
    z : Tensor or array_like, shape (..., n_classes)
        Logits.
    y : Tensor or array_like, shape (..., n_classes)
        Target probabilities, usually one-hot rows.

    Returns
    -------
    Tensor of shape (...,): the loss per row. Its gradient with respect to ``z`` is
    ``softmax(z) - y`` for rows of ``y`` that sum to one.
    """
    return apply("softmax_cross_entropy", z, y)


def log_sigmoid(x):
    """``log σ(x)`` for any x, as ``-sigmoid_cross_entropy(x, 1)``."""
    return -sigmoid_cross_entropy(x, 1.0)


def log_softmax(z, axis=-1):
    """``z - logsumexp(z)`` along ``axis``, written from primitives (the shift cancels)."""
    z = z if isinstance(z, Tensor) else Tensor(z)
    shift = np.max(z.data, axis=axis, keepdims=True)  # a constant: keeps exp() from overflowing
    shifted = z - shift
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def softmax(z, axis=-1):
    return log_softmax(z, axis=axis).exp()


__all__ = [
    "add", "mul", "matmul", "exp", "log", "sigmoid", "tanh", "relu", "sigmoid_cross_entropy",
    "softmax_cross_entropy", "log_sigmoid", "log_softmax", "softmax",
]
