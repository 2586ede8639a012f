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
import scipy.special

from lograd.autodiff.engine import PerArgument, Tensor, apply, defop


def _matmul_vjp_left(g, ans, a, b):
    if sp.issparse(b):  # dense @ sparse:   dA = G Bᵀ = (B Gᵀ)ᵀ
        return np.asarray(b @ g.T).T if g.ndim > 1 else np.asarray(b @ g)
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


def _matmul(a, b):
    if sp.issparse(b) and not sp.issparse(a):  # (m, n) or (n,) @ sparse (n, k): a dense array
        return np.asarray(b.T @ a.T).T if a.ndim > 1 else np.asarray(b.T @ a)
    return a @ b


def _expanded(g, x, axis, keepdims):
    """A reduction's upstream gradient with the reduced axes put back (length 1)."""
    return g if axis is None or keepdims else np.expand_dims(g, axis)


def _sum_vjp(g, ans, x, axis, keepdims):
    if axis is None:  # (np.full is several times cheaper than broadcast_to for small arrays)
        return np.full(x.shape, g)  # d(sum x)/dx_i = 1
    return np.broadcast_to(_expanded(g, x, axis, keepdims), x.shape)


def _extremum_vjp(g, ans, x, axis, keepdims):
    # d max(x)/dx_i = 1/t on the t entries equal to the max (ties share it, as in JAX), else 0
    hit = x == _expanded(ans, x, axis, keepdims)
    share = (hit / hit.sum(axis=axis, keepdims=True)).astype(x.dtype, copy=False)
    return _expanded(g, x, axis, keepdims) * share


def _getitem_vjp(g, ans, x, index):
    dx = np.zeros_like(x)
    np.add.at(dx, index, g)  # dx[index] += g, repeated indices add up
    return dx


def _times(a, b):
    """a·b, but 0 where a == 0: a term with no weight is absent, even against an infinity."""
    return np.where(a == 0, 0, a * b)


def _sigmoid_cross_entropy(z, y):
    # -(y log σ(z) + (1-y) log(1-σ(z))) = log(1 + e^z) - y z
    #   = (1-y)·max(z, 0) + y·max(-z, 0) + log(1 + e^-|z|): no overflow, exact at z = ±inf
    with np.errstate(invalid="ignore"):  # (0·inf, replaced by 0 in _times)
        return (_times(1 - y, np.maximum(z, 0)) + _times(y, np.maximum(-z, 0))
                + np.log1p(np.exp(-np.abs(z))))


def _logsumexp(z, axis=None, keepdims=False):
    # log Σ e^z = m + log Σ e^(z - m), m the max (0 where it is ±inf: then the sum is exact)
    z = np.asarray(z)
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):  # (log 0 = -inf: every entry -inf)
        out = np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _row_softmax(z):
    """softmax along the last axis, shifted by the row's max."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _logsumexp_vjp(g, ans, z, axis, keepdims):
    # d logsumexp(z)/dz_i = e^(z_i - logsumexp(z)) = softmax(z)_i
    return _expanded(g, z, axis, keepdims) * np.exp(z - _expanded(ans, z, axis, keepdims))


def _softmax_cross_entropy(z, y):
    # -Σ_k y_k log softmax(z)_k = logsumexp(z) Σ_k y_k - Σ_k y_k z_k   (per row; a class of
    # weight 0 adds nothing, even at z_k = -inf)
    with np.errstate(invalid="ignore"):
        return (_logsumexp(z, axis=-1) * y.sum(axis=-1)
                - _times(y, z).sum(axis=-1))


def _softmax_cross_entropy_vjp_z(g, ans, z, y):
    # dL/dz = softmax(z) Σ_k y_k - y   (= softmax(z) - y for one-hot rows)
    return g[..., None] * (_row_softmax(z) * y.sum(axis=-1, keepdims=True) - y)


def _pow_vjp_base(g, ans, x, p):
    # d xᵖ/dx = p xᵖ⁻¹ (0 where p = 0, also at x = 0: x⁰ = 1 is constant)
    if np.ndim(p) == 0 and p != 0:  # (the usual x ** 2: no mask to build)
        return g * p * x ** (p - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * np.where(p == 0, 0, p * x ** (p - 1))


def _pow_vjp_exponent(g, ans, x, p):
    # d xᵖ/dp = xᵖ log x (0 at x = 0 for p >= 0, as in PyTorch: xᵖ is 0 or 1 there)
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * np.where((x == 0) & (p >= 0), 0, ans * np.log(x))


def _between(x, a_min, a_max):
    """The mask a_min <= x <= a_max (a bound of None is no bound)."""
    inside = np.ones(np.shape(x), dtype=np.bool_)
    if a_min is not None:
        inside &= x >= a_min
    if a_max is not None:
        inside &= x <= a_max
    return inside


def _concatenate_vjp(i, g, ans, *arrays, axis):
    start = sum(a.shape[axis] for a in arrays[:i])
    index = [slice(None)] * g.ndim
    index[axis] = slice(start, start + arrays[i].shape[axis])
    return g[tuple(index)]  # the slice of g that argument i filled


def _stack_vjp(i, g, ans, *arrays, axis):
    return np.take(g, i, axis=axis)  # the layer of g that argument i became


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
defop("pow", operator.pow, _pow_vjp_base, _pow_vjp_exponent)
defop("matmul", _matmul, _matmul_vjp_left, _matmul_vjp_right)
defop("sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims), _sum_vjp)
defop("max", lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims), _extremum_vjp)
defop("min", lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims), _extremum_vjp)
defop("logsumexp", _logsumexp, _logsumexp_vjp)
defop("exp", np.exp, lambda g, ans, x: g * ans)  # d eˣ/dx = eˣ
defop("log", np.log, lambda g, ans, x: g / x)  # d log x/dx = 1/x
defop("log1p", np.log1p, lambda g, ans, x: g / (1 + x))  # d log(1+x)/dx = 1/(1+x)
defop("sqrt", np.sqrt, lambda g, ans, x: g / (2 * ans))  # d √x/dx = 1/(2√x)
defop("abs", np.abs, lambda g, ans, x: g * np.sign(x))  # d|x|/dx = sign x (0 at 0)
defop("sigmoid", scipy.special.expit, lambda g, ans, x: g * ans * (1 - ans))  # dσ/dx = σ(1-σ)
defop("tanh", np.tanh, lambda g, ans, x: g * (1 - ans * ans))  # d tanh/dx = 1 - tanh²
defop("relu", lambda x: np.maximum(x, 0), lambda g, ans, x: g * (x > 0))  # 1 where x > 0
defop("leaky_relu", lambda x, slope: np.where(x > 0, x, slope * x),
      lambda g, ans, x, slope: g * np.where(x > 0, 1, slope))  # 1 where x > 0, else the slope
defop("clip", lambda x, a_min, a_max: np.clip(x, a_min, a_max),
      lambda g, ans, x, a_min, a_max: g * _between(x, a_min, a_max))  # 1 inside [min, max]
defop("maximum", np.maximum,  # 1 for the larger argument; ties share it (½ each)
      lambda g, ans, a, b: g * ((a > b) + 0.5 * (a == b)),
      lambda g, ans, a, b: g * ((b > a) + 0.5 * (a == b)))
defop("minimum", np.minimum,
      lambda g, ans, a, b: g * ((a < b) + 0.5 * (a == b)),
      lambda g, ans, a, b: g * ((b < a) + 0.5 * (a == b)))
defop("where", np.where, None,  # cond: a boolean mask; g flows to the branch that was taken
      lambda g, ans, cond, a, b: np.where(cond, g, 0),
      lambda g, ans, cond, a, b: np.where(cond, 0, g))
defop("astype", lambda x, dtype: x.astype(dtype),
      lambda g, ans, x, dtype: g)  # d/dx = 1; the engine casts g back to x's dtype
defop("reshape", lambda x, shape: np.reshape(x, shape),
      lambda g, ans, x, shape: np.reshape(g, x.shape))  # same values, old shape
defop("transpose", lambda x, axes: np.transpose(x, axes),  # the inverse permutation
      lambda g, ans, x, axes: np.transpose(g, None if axes is None else
                                           np.argsort([a % x.ndim for a in axes])))
defop("getitem", lambda x, index: x[index], _getitem_vjp)
defop("concatenate", lambda *arrays, axis: np.concatenate(arrays, axis=axis),
      PerArgument(_concatenate_vjp))
defop("stack", lambda *arrays, axis: np.stack(arrays, axis=axis), PerArgument(_stack_vjp))
defop("sigmoid_cross_entropy", _sigmoid_cross_entropy,
      lambda g, ans, z, y: g * (scipy.special.expit(z) - y),  # dL/dz = σ(z) - y (the lecture's
      lambda g, ans, z, y: -g * z)  # dL/dy = -z                                dz = a - y)
defop("softmax_cross_entropy", _softmax_cross_entropy,
      _softmax_cross_entropy_vjp_z,
      lambda g, ans, z, y: g[..., None] * (_logsumexp(z, axis=-1, keepdims=True) - z))
# dL/dy_k = logsumexp(z) - z_k = -log softmax(z)_k

# No gradient flows through these: their results never require one.
defop("detach", lambda x: x, stops_gradient=True)
for _name in ["less", "less_equal", "greater", "greater_equal", "equal", "not_equal"]:
    defop(_name, getattr(np, _name), stops_gradient=True)  # a plain boolean array


# -- functional forms ----------------------------------------------------------------------------
def add(a, b):
    return apply("add", a, b)


def mul(a, b):
    return apply("mul", a, b)


def matmul(a, b):
    """``a @ b``; either may be a scipy.sparse matrix (a constant data matrix)."""
    return apply("matmul", a, b)


def exp(x):
    return apply("exp", x)


def log(x):
    return apply("log", x)


def log1p(x):
    """``log(1 + x)``, accurate for small x."""
    return apply("log1p", x)


def sqrt(x):
    return apply("sqrt", x)


def abs(x):  # noqa: A001  (NumPy's name)
    """``|x|``; its gradient at 0 is 0, as in NumPy's sign, PyTorch and autograd."""
    return apply("abs", x)


def sigmoid(x):
    return apply("sigmoid", x)


def tanh(x):
    return apply("tanh", x)


def relu(x):
    """``max(x, 0)``; the gradient is 1 where x > 0 and 0 elsewhere (0 at x = 0)."""
    return apply("relu", x)


def leaky_relu(x, negative_slope=0.01):
    """``x`` where x > 0, ``negative_slope·x`` elsewhere (PyTorch's name and default)."""
    return apply("leaky_relu", x, slope=float(negative_slope))


def softplus(x):
    """``log(1 + e^x)``, finite for any x; its gradient is σ(x)."""
    return sigmoid_cross_entropy(x, 0.0)  # log(1 + e^x) - 0·x, the stable form


def clip(x, a_min=None, a_max=None):
    """``x`` limited to [a_min, a_max] (as np.clip); see :meth:`Tensor.clip`."""
    return _tensor(x).clip(a_min, a_max)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """The largest entry along ``axis``; ties share the gradient equally."""
    return _tensor(x).max(axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """The smallest entry along ``axis``; ties share the gradient equally."""
    return _tensor(x).min(axis=axis, keepdims=keepdims)


def maximum(a, b):
    """The elementwise larger of ``a`` and ``b`` (broadcast); on ties each gets half the
    gradient (as in HIPS autograd and JAX)."""
    return apply("maximum", a, b)


def minimum(a, b):
    """The elementwise smaller of ``a`` and ``b``; on ties each gets half the gradient."""
    return apply("minimum", a, b)


def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b`` (as np.where, broadcast).

    Parameters
    ----------
    condition : boolean ndarray
        A mask, such as a comparison of Tensors (``x > 0``) gives: not differentiated. A
        comparison made inside a compiled function is replayed with the trace.
    a, b : Tensor, array_like or number
    """
    if isinstance(condition, Tensor):
        raise TypeError("ops.where takes a boolean array as its condition, such as a comparison "
                        "of Tensors gives (x > 0), not a Tensor")
    if not (type(condition) is np.ndarray and condition.dtype == np.bool_):
        condition = np.asarray(condition, dtype=np.bool_)
    return apply("where", condition, a, b)


def logsumexp(x, axis=None, keepdims=False):
    """``log Σ e^x`` along ``axis``, without overflow (shifted by the max, as SciPy's)."""
    return apply("logsumexp", x, axis=axis, keepdims=keepdims)


def concatenate(tensors, axis=0):
    """Tensors joined along an existing axis, as np.concatenate."""
    return apply("concatenate", *tensors, axis=axis)


def stack(tensors, axis=0):
    """Tensors of one shape joined along a new axis, as np.stack."""
    return apply("stack", *tensors, axis=axis)


def squeeze(x, axis=None):
    return _tensor(x).squeeze(axis)


def expand_dims(x, axis):
    return _tensor(x).expand_dims(axis)


def flatten(x):
    return _tensor(x).flatten()


def var(x, axis=None, ddof=0, keepdims=False):
    """Variance along ``axis``: Σ (x - mean)² / (N - ddof); ddof=0 as in NumPy."""
    return _tensor(x).var(axis=axis, ddof=ddof, keepdims=keepdims)


def std(x, axis=None, ddof=0, keepdims=False):
    """Standard deviation, ``sqrt(var)``; ddof=0 as in NumPy."""
    return _tensor(x).std(axis=axis, ddof=ddof, keepdims=keepdims)


def sigmoid_cross_entropy(z, y):
    """Binary cross-entropy on logits, elementwise: ``log(1 + exp(z)) - y z``.

    Finite and exact for any |z| (no ``log(0)``; +inf where the true value is), and its gradient
    with respect to ``z`` is exactly ``sigmoid(z) - y``: the lecture's ``dz = a - y``, without
    forming ``da``.

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
        Logits; a class of target weight 0 may have the logit -inf.
    y : Tensor or array_like, shape (..., n_classes)
        Target probabilities, usually one-hot rows.

    Returns
    -------
    Tensor of shape (...,): the loss per row. Its gradient with respect to ``z`` is
    ``softmax(z) - y`` for rows of ``y`` that sum to one.
    """
    return apply("softmax_cross_entropy", z, y)


def log_sigmoid(x):
    """``log σ(x)`` for any x (0 at +inf), as ``-sigmoid_cross_entropy(x, 1)``."""
    return -sigmoid_cross_entropy(x, 1.0)


def log_softmax(z, axis=-1):
    """``z - logsumexp(z)`` along ``axis``."""
    return z - logsumexp(z, axis=axis, keepdims=True)


def softmax(z, axis=-1):
    """``e^z / Σ e^z`` along ``axis``, as ``exp(log_softmax(z))``."""
    return log_softmax(z, axis=axis).exp()


def _tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


__all__ = [
    "add", "mul", "matmul", "exp", "log", "log1p", "sqrt", "abs", "sigmoid", "tanh", "relu",
    "leaky_relu", "softplus", "clip", "max", "min", "maximum", "minimum", "where", "logsumexp",
    "concatenate", "stack", "squeeze", "expand_dims", "flatten", "var", "std",
    "sigmoid_cross_entropy", "softmax_cross_entropy", "log_sigmoid", "log_softmax", "softmax",
]
