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
_tracer = None  # while lograd.compiled traces a function: told of every op applied


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


def _as_data(value, like_dtype=None):
    """Data for a Tensor: float arrays and sparse matrices as they are (never copied); numbers
    and 0-d results as NumPy scalars; integers and bools become floats.

    A Python number or a non-float array mixed into an expression takes the float dtype of the
    tensor it meets (``like_dtype``), so that float32 computations stay float32.
    """
    if type(value) is np.ndarray and value.dtype.kind == "f":
        return value  # the common case, kept cheap
    if type(value) in (float, int, bool):  # a Python number is "weak": it follows the tensor
        return (like_dtype or _FLOAT64).type(value)
    if isinstance(value, np.floating):
        return value
    if sp.issparse(value):
        return value
    array = np.asarray(value)
    if array.dtype.kind != "f":  # not a floating dtype
        array = array.astype(like_dtype or np.float64)
    return array if array.ndim else array[()]


_FLOAT64 = np.dtype(np.float64)
_SCALARS = frozenset([np.float64, np.float32])  # what a 0-d result is stored as (see _result)
_VALUES = _SCALARS | {np.ndarray}  # what a VJP returns on the fast path


def _result(value):
    """An op's result as a Tensor holds it: a 0-d result as a NumPy scalar.

    NumPy computes on scalars several times faster than on 0-d arrays (one ``*`` of two float64
    scalars costs ~60 ns, of two 0-d arrays ~400 ns), and both follow the same dtype rules, so
    tiny graphs run on scalars.
    """
    if type(value) is np.ndarray and value.dtype.kind == "f":
        return value if value.ndim else value[()]
    return _as_data(value)


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
    data : ndarray or NumPy scalar
        An op's 0-d result (and a Python number given as ``data``) is a NumPy scalar, which has
        the same ``shape``, ``dtype`` and arithmetic as a 0-d array and computes faster; an array
        given as ``data`` is kept as it is (not copied).
    grad : ndarray, NumPy scalar or None
        dL/d(self), of ``data``'s shape and dtype, after ``backward()``. Leaf tensors add to it
        over several ``backward()`` calls (clear it with :meth:`zero_grad`); intermediate tensors
        hold the gradient of the last pass.
    op : Op or None
        The primitive that made this tensor (None for a leaf).
    parents : tuple of Tensor
        The op's inputs.
    params : dict
        The op's non-tensor arguments (axis, shape, ...).
    """

    __slots__ = ("data", "grad", "requires_grad", "op", "parents", "params", "name", "_inputs")
    __array_ufunc__ = None  # makes `ndarray * tensor` defer to Tensor.__rmul__
    # No __len__: scipy.sparse then sees a Tensor as a 0-d object and lets `X_sparse @ tensor`
    # fall through to Tensor.__rmatmul__.

    def __init__(self, data, requires_grad=False, name=None):
        self.data = data.data if isinstance(data, Tensor) else _as_data(data)
        if requires_grad and sp.issparse(self.data):
            raise ValueError("a sparse Tensor cannot require a gradient; make it dense")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.op = None
        self.parents = ()
        self.params = {}
        self.name = name
        self._inputs = ()

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

    def _repr_mimebundle_(self, include=None, exclude=None):
        from lograd.jupyter_display import tensor_mimebundle  # Jupyter: the graph as SVG, lazily

        return tensor_mimebundle(self, include, exclude)

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
        pending = {self: self._seed(grad)}  # gradients waiting to flow on: added, never replaced
        for node in reversed(_topological_order(self)):
            g = pending.pop(node)
            if node.op is None:  # a leaf: its gradient adds up over backward() calls
                node.grad = g if node.grad is None else node.grad + g
                continue
            node.grad = g
            arrays = node._inputs  # the parents' data as the forward saw it
            vjps = node.op.vjps
            for i, parent in enumerate(node.parents):
                if not parent.requires_grad:
                    continue
                if i >= len(vjps) or vjps[i] is None:
                    raise NotImplementedError(
                        f"op '{node.op.name}' has no VJP for its argument {i}"
                    )
                if node.params:
                    contribution = vjps[i](g, node.data, *arrays, **node.params)
                else:  # (no empty ** to unpack: tiny graphs are all overhead)
                    contribution = vjps[i](g, node.data, *arrays)
                target = arrays[i]
                if type(contribution) not in _VALUES:
                    contribution = _result(np.asarray(contribution))
                if contribution.shape != target.shape:
                    contribution = unbroadcast(contribution, target.shape)
                if contribution.dtype is not target.dtype and contribution.dtype != target.dtype:
                    contribution = contribution.astype(target.dtype)
                if parent in pending:
                    contribution = pending[parent] + contribution
                pending[parent] = contribution

    def _seed(self, grad):
        """The upstream gradient dL/d(self) that backward() starts from (1 for a single value)."""
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() on a non-scalar of shape {self.shape} needs an explicit upstream "
                    "gradient of that shape"
                )
            return _result(np.ones_like(self.data)) if self.data.ndim else self.dtype.type(1)
        grad = np.asarray(grad, dtype=self.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"upstream gradient has shape {grad.shape}, expected {self.shape}")
        return _result(grad)

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
    op = OPS.get(name)
    if op is None:
        raise NotImplementedError(f"no primitive op named '{name}' in lograd.engine.OPS")
    # (plain loops, not generators or any(): this runs once per op, and tiny graphs are overhead)
    for x in inputs:
        if not isinstance(x, Tensor):
            inputs = _with_constants(inputs)
            break
    requires_grad = False
    for t in inputs:
        if t.requires_grad:
            requires_grad = _grad_enabled
            break
    arrays = [t.data for t in inputs]
    value = op.forward(*arrays, **params) if params else op.forward(*arrays)
    if op.saves:  # (value, work its VJPs reuse)
        value, saved = value
        params = {**params, "saved": saved}
    out = Tensor.__new__(Tensor)
    out.data = value if type(value) in _SCALARS else _result(value)
    out.grad, out.name = None, None
    if requires_grad:
        out.requires_grad, out.op, out.parents, out.params = True, op, inputs, params
        out._inputs = arrays
    else:
        out.requires_grad, out.op, out.parents, out.params, out._inputs = False, None, (), {}, ()
    if _tracer is not None:
        _tracer(op, inputs, params, out, value)  # (value: the forward's result, before _result)
    return out


def _with_constants(inputs) -> tuple[Tensor, ...]:
    """The inputs, each non-Tensor made a constant in the float dtype of the first tensor."""
    like = None
    for x in inputs:
        if isinstance(x, Tensor) and x.data.dtype.kind == "f":
            like = x.data.dtype
            break
    return tuple([x if isinstance(x, Tensor) else _constant(x, like) for x in inputs])


def _constant(value, like_dtype) -> Tensor:
    tensor = Tensor.__new__(Tensor)
    tensor.data = _as_data(value, like_dtype)
    tensor.grad, tensor.requires_grad, tensor.op, tensor.parents = None, False, None, ()
    tensor.params, tensor.name, tensor._inputs = {}, None, ()
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
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for p in node.parents:
            if p.requires_grad and p not in visited:
                stack.append((p, False))
    return order


from lograd import ops as _ops  # noqa: E402,F401  (fills OPS; ops imports this module's names)
