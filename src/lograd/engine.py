"""A small reverse-mode autodiff engine over NumPy.

A :class:`Tensor` wraps a NumPy array. Every primitive operation is looked up by name in one
table, :data:`OPS`, where it is registered with its NumPy forward and one vector-Jacobian product
(VJP) per argument (see :mod:`lograd.ops`). Applying an op records the output's parents; calling
``backward()`` on a result walks the graph once in reverse topological order, adding up the
gradients that flow into each node.

The engine does one thing for every op: a gradient flowing into a broadcast input is summed back
to that input's shape (:func:`unbroadcast`), so no VJP has to think about broadcasting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp


class Op(NamedTuple):
    """A primitive: ``forward(*arrays, **params) -> array`` and one VJP per array argument.

    Each VJP is ``vjp(g, ans, *arrays, **params) -> gradient for that argument``, where ``g`` is
    dL/d(output) and ``ans`` the forward's result. ``None`` means the op is not differentiable in
    that argument. An op with ``saves=True`` has a forward that returns ``(value, saved)``: work
    done in the forward that its VJPs reuse, passed to each of them as the keyword ``saved``.
    """

    name: str
    forward: Callable
    vjps: tuple
    saves: bool = False


OPS: dict[str, Op] = {}


def defop(name: str, forward: Callable, *vjps: Callable | None, saves: bool = False) -> None:
    """Register the primitive ``name`` with its forward and one VJP per argument.

    With ``saves=True`` the forward returns ``(value, saved)`` and each VJP gets ``saved=``.
    """
    OPS[name] = Op(name, forward, vjps, saves)


_grad_enabled = True


@contextlib.contextmanager
def no_grad():
    """Within this context ops record no graph: results never require a gradient."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    return _grad_enabled


def _as_array(value, like_dtype=None):
    """Data for a Tensor: sparse matrices stay sparse, integers and bools become floats.

    A Python scalar or a non-float array mixed into an expression takes the float dtype of the
    tensor it meets, so that float32 computations stay float32.
    """
    if type(value) is np.ndarray and value.dtype.kind == "f":
        return value  # the common case, kept cheap for tiny graphs
    if not isinstance(value, (np.generic, float, int)) and sp.issparse(value):
        return value
    array = np.asarray(value)
    if array.dtype.kind != "f":  # not a floating dtype
        array = array.astype(like_dtype or np.float64)
    elif like_dtype is not None and array.ndim == 0 and not isinstance(value, np.ndarray):
        array = array.astype(like_dtype)  # a Python float is "weak": it follows the tensor
    return array


class Tensor:
    """An array that remembers how it was computed, so gradients can flow back to its inputs.

    Parameters
    ----------
    data : array_like or scipy.sparse matrix
        The value. Float arrays keep their dtype; ints and bools become float64. A sparse matrix
        is kept as it is and can only be a constant (the left operand of ``@``).
    requires_grad : bool, default False
        Whether ``backward()`` should compute and store ``.grad`` for this tensor.

    Attributes
    ----------
    data : ndarray
    grad : ndarray or None
        dL/d(self), of ``data``'s shape and dtype, after ``backward()``. Leaf tensors add to it
        over several ``backward()`` calls (clear it with :meth:`zero_grad`); intermediate tensors
        hold the gradient of the last pass.
    op : Op or None
        The primitive that made this tensor (None for a leaf).
    parents : tuple of Tensor
        The op's inputs.
    """

    __slots__ = ("data", "grad", "requires_grad", "op", "parents", "params", "name")
    __array_ufunc__ = None  # makes `ndarray * tensor` defer to Tensor.__rmul__
    # No __len__: scipy.sparse then sees a Tensor as a 0-d object and lets `X_sparse @ tensor`
    # fall through to Tensor.__rmatmul__.

    def __init__(self, data, requires_grad=False, name=None):
        self.data = data.data if isinstance(data, Tensor) else _as_array(data)
        if requires_grad and sp.issparse(self.data):
            raise ValueError("a sparse Tensor cannot require a gradient; make it dense")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.op = None
        self.parents = ()
        self.params = {}
        self.name = name

    # -- the array side ------------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: int(np.prod(self.data.shape)))

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        return self.data.item()

    def __repr__(self):
        made_by = f", op={self.op.name}" if self.op else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.data!r}{made_by}{grad})"

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        """Forget the stored gradient."""
        self.grad = None

    # -- backward ------------------------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Compute d(self)/d(t) for every tensor t in the graph that requires a gradient.

        Parameters
        ----------
        grad : array_like, optional
            The upstream gradient dL/d(self), of self's shape. May be omitted when self holds a
            single value, which seeds 1.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require a gradient")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() on a non-scalar of shape {self.shape} needs an explicit upstream "
                    "gradient of that shape"
                )
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"upstream gradient has shape {grad.shape}, expected {self.shape}")

        pending = {id(self): grad}  # gradients waiting to flow further: they are added, never set
        for node in reversed(_topological_order(self)):
            g = pending.pop(id(node), None)
            if g is None:
                continue
            if node.op is None and node.grad is not None:
                node.grad = node.grad + g
            else:
                node.grad = g
            arrays = [p.data for p in node.parents]
            vjps = node.op.vjps if node.op is not None else ()
            for i, parent in enumerate(node.parents):
                if not parent.requires_grad:
                    continue
                vjp = vjps[i] if i < len(vjps) else None
                if vjp is None:
                    raise NotImplementedError(
                        f"op '{node.op.name}' has no VJP for its argument {i}"
                    )
                contribution = vjp(g, node.data, *arrays, **node.params)
                if type(contribution) is not np.ndarray:
                    contribution = np.asarray(contribution)
                if contribution.shape != parent.data.shape:
                    contribution = unbroadcast(contribution, parent.data.shape)
                if contribution.dtype != parent.data.dtype:
                    contribution = contribution.astype(parent.data.dtype)
                key = id(parent)
                pending[key] = pending[key] + contribution if key in pending else contribution

    # -- operators (each one a primitive from the table, or a composition of them) -------------
    def __add__(self, other):
        return apply("add", self, other)

    def __radd__(self, other):
        return apply("add", other, self)

    def __sub__(self, other):
        return apply("sub", self, other)

    def __rsub__(self, other):
        return apply("sub", other, self)

    def __mul__(self, other):
        return apply("mul", self, other)

    def __rmul__(self, other):
        return apply("mul", other, self)

    def __truediv__(self, other):
        return apply("div", self, other)

    def __rtruediv__(self, other):
        return apply("div", other, self)

    def __matmul__(self, other):
        return apply("matmul", self, other)

    def __rmatmul__(self, other):
        return apply("matmul", other, self)

    def __neg__(self):
        return apply("neg", self)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError("Tensor ** supports a scalar exponent only")
        return apply("pow", self, exponent=float(exponent))

    def __getitem__(self, index):
        return apply("getitem", self, index=index)

    def sum(self, axis=None, keepdims=False):
        return apply("sum", self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        shape = self.shape
        axes = range(len(shape)) if axis is None else np.atleast_1d(axis)
        count = int(np.prod([shape[a] for a in axes]))
        return self.sum(axis=axis, keepdims=keepdims) * (1.0 / count)

    def exp(self):
        return apply("exp", self)

    def log(self):
        return apply("log", self)

    def sigmoid(self):
        return apply("sigmoid", self)

    def tanh(self):
        return apply("tanh", self)

    def relu(self):
        return apply("relu", self)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return apply("reshape", self, shape=shape)

    def transpose(self, axes=None):
        return apply("transpose", self, axes=None if axes is None else tuple(axes))

    @property
    def T(self):
        return self.transpose()


def apply(name: str, *inputs, **params) -> Tensor:
    """Run the primitive ``name`` forward on ``inputs``, recording the graph if needed."""
    try:
        op = OPS[name]
    except KeyError:
        raise NotImplementedError(f"no primitive op named '{name}' in lograd.engine.OPS") from None
    # (plain loops, not generators: this runs once per op, and tiny graphs are all overhead)
    like = None  # a constant takes the dtype of the first dense tensor
    for x in inputs:
        if isinstance(x, Tensor) and isinstance(x.data, np.ndarray):
            like = x.data.dtype
            break
    tensors = [x if isinstance(x, Tensor) else _constant(x, like) for x in inputs]
    value = op.forward(*[t.data for t in tensors], **params)
    if op.saves:  # (value, work its VJPs reuse)
        value, saved = value
        params = {**params, "saved": saved}
    out = Tensor.__new__(Tensor)
    out.data = _as_array(value)
    out.grad = None
    out.name = None
    out.requires_grad = _grad_enabled and any([t.requires_grad for t in tensors])
    if out.requires_grad:
        out.op, out.parents, out.params = op, tuple(tensors), params
    else:
        out.op, out.parents, out.params = None, (), {}
    return out


def _constant(value, like_dtype) -> Tensor:
    tensor = Tensor.__new__(Tensor)
    if type(value) in (float, int, bool):  # a Python number follows the tensor's float dtype
        tensor.data = np.array(value, dtype=like_dtype or np.float64)
    else:
        tensor.data = _as_array(value, like_dtype)
    tensor.grad, tensor.requires_grad, tensor.op, tensor.parents = None, False, None, ()
    tensor.params, tensor.name = {}, None
    return tensor


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a gradient over the axes along which an input of ``shape`` was broadcast."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Nodes that require a gradient, each after all of its parents (iterative: no recursion)."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for p in node.parents:
            if p.requires_grad and id(p) not in visited:
                stack.append((p, False))
    return order


from lograd import ops as _ops  # noqa: E402,F401  (fills OPS; ops imports this module's names)
