"""A small reverse-mode autodiff engine over NumPy.

A :class:`Tensor` wraps a NumPy array. Every primitive operation is looked up by name in one
table, :data:`OPS`, where it is registered with its NumPy forward and one vector-Jacobian product
(VJP) per argument (see :mod:`lograd.autodiff.ops`, which fills the table). Applying an op
records the output's parents; calling ``backward()`` on a result walks the graph once in reverse
topological order, adding up the gradients that flow into each node.

The engine does one thing for every op: a gradient flowing into a broadcast input is summed back
to that input's shape (:func:`unbroadcast`), so no VJP has to think about broadcasting.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
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
    An op with ``stops_gradient=True`` has no VJPs: its result never requires a gradient
    (``detach``, and the comparisons, whose results are plain boolean arrays).
    """

    name: str
    forward: Callable
    vjps: tuple | PerArgument
    saves: bool = False
    stops_gradient: bool = False


class PerArgument:
    """The VJPs of an op that takes any number of arrays (``concatenate``, ``stack``):
    ``vjps[i]`` is ``vjp(i, g, ans, *arrays, **params)`` for argument ``i``."""

    def __init__(self, vjp: Callable):
        self.vjp, self._bound = vjp, {}

    def __len__(self):
        return sys.maxsize

    def __getitem__(self, i):
        if i not in self._bound:  # (one function per argument, so a trace can name it)
            self._bound[i] = functools.partial(self.vjp, i)
        return self._bound[i]


OPS: dict[str, Op] = {}


def defop(name: str, forward: Callable, *vjps: Callable | None | PerArgument, saves: bool = False,
          stops_gradient: bool = False) -> None:
    """Register the primitive ``name`` with its forward and one VJP per argument.

    With ``saves=True`` the forward returns ``(value, saved)`` and each VJP gets ``saved=``.
    A single :class:`PerArgument` stands for the VJPs of every argument of a variadic op.
    """
    if len(vjps) == 1 and isinstance(vjps[0], PerArgument):
        vjps = vjps[0]
    OPS[name] = Op(name, forward, vjps, saves, stops_gradient)


class _GradMode(threading.local):
    enabled = True  # per thread, as in PyTorch: one thread's no_grad() leaves others recording


_grad_mode = _GradMode()
_tracer = None  # (thread id, callback) while a thread's ops are recorded: see recording()


@contextlib.contextmanager
def recording(callback):
    """Within this context, ``callback(op, inputs, params, out, value)`` is told of every op
    that this thread applies, after its forward: ``inputs`` the Tensors it took, ``value`` what
    the forward returned, ``out`` the Tensor made of it (None for a comparison, whose ``value`` is
    a plain boolean array). One recorder at a time (``lograd.compile_grad`` is one)."""
    global _tracer
    if _tracer is not None:
        raise RuntimeError("the engine's ops are already being recorded")
    _tracer = (threading.get_ident(), callback)
    try:
        yield
    finally:
        _tracer = None


def is_recording() -> bool:
    """Whether this thread's ops are being recorded (inside :func:`recording`)."""
    return _tracer is not None and _tracer[0] == threading.get_ident()


@contextlib.contextmanager
def no_grad():
    """Within this context this thread's ops record no graph: results never require a gradient.

    Grad mode is per thread: ``no_grad()`` in one thread does not affect ops in another.
    """
    previous, _grad_mode.enabled = _grad_mode.enabled, False
    try:
        yield
    finally:
        _grad_mode.enabled = previous


def is_grad_enabled() -> bool:
    """Whether ops in this thread record the graph (False inside :func:`no_grad`)."""
    return _grad_mode.enabled


def as_data(value, like_dtype=None):
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
_SCALARS = frozenset([np.float64, np.float32])  # what a 0-d result is stored as (see as_value)
_VALUES = _SCALARS | {np.ndarray}  # what a VJP returns on the fast path


def as_value(value):
    """An op's result as a Tensor holds it: a 0-d result as a NumPy scalar.

    NumPy computes on scalars several times faster than on 0-d arrays (one ``*`` of two float64
    scalars costs ~60 ns, of two 0-d arrays ~400 ns), and both follow the same dtype rules, so
    tiny graphs run on scalars.
    """
    if type(value) is np.ndarray and value.dtype.kind == "f":
        return value if value.ndim else value[()]
    return as_data(value)


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
        self.data = data.data if isinstance(data, Tensor) else as_data(data)
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
        from lograd.autodiff.jupyter import tensor_mimebundle  # Jupyter: the graph as SVG, lazily

        return tensor_mimebundle(self, include, exclude)

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
        backpropagate(self, self._seed(grad))

    def _seed(self, grad):
        """The upstream gradient dL/d(self) that backward() starts from (1 for a single value)."""
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() on a non-scalar of shape {self.shape} needs an explicit upstream "
                    "gradient of that shape"
                )
            return as_value(np.ones_like(self.data)) if self.data.ndim else self.dtype.type(1)
        grad = np.asarray(grad, dtype=self.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"upstream gradient has shape {grad.shape}, expected {self.shape}")
        return as_value(grad)

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
        return apply("pow", self, exponent)

    def __rpow__(self, base):
        return apply("pow", base, self)

    def __abs__(self):
        return apply("abs", self)

    # Comparisons give plain boolean arrays (no gradient flows through them), as masks for
    # ops.where or for indexing. Tensors still hash by identity.
    def __lt__(self, other):
        return compare("less", self, other)

    def __le__(self, other):
        return compare("less_equal", self, other)

    def __gt__(self, other):
        return compare("greater", self, other)

    def __ge__(self, other):
        return compare("greater_equal", self, other)

    def __eq__(self, other):
        return compare("equal", self, other)

    def __ne__(self, other):
        return compare("not_equal", self, other)

    __hash__ = object.__hash__

    def __getitem__(self, index):
        return apply("getitem", self, index=index)

    def sum(self, axis=None, keepdims=False):
        return apply("sum", self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return self.sum(axis=axis, keepdims=keepdims) * (1.0 / self._count(axis))

    def var(self, axis=None, ddof=0, keepdims=False):
        """Σ (x - mean)² / (N - ddof) over ``axis``; ddof=0 as in NumPy (PyTorch's default is 1)."""
        centred = self - self.mean(axis=axis, keepdims=True)
        squares = (centred * centred).sum(axis=axis, keepdims=keepdims)
        return squares * (1.0 / (self._count(axis) - ddof))

    def std(self, axis=None, ddof=0, keepdims=False):
        return self.var(axis=axis, ddof=ddof, keepdims=keepdims).sqrt()

    def _count(self, axis) -> int:
        axes = range(self.ndim) if axis is None else np.atleast_1d(axis)
        return int(np.prod([self.shape[a] for a in axes]))

    def max(self, axis=None, keepdims=False):
        """The largest entry along ``axis``; ties share the gradient equally (as in JAX)."""
        return apply("max", self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        """The smallest entry along ``axis``; ties share the gradient equally."""
        return apply("min", self, axis=axis, keepdims=keepdims)

    def exp(self):
        return apply("exp", self)

    def log(self):
        return apply("log", self)

    def log1p(self):
        return apply("log1p", self)

    def sqrt(self):
        return apply("sqrt", self)

    def abs(self):
        return apply("abs", self)

    def sigmoid(self):
        return apply("sigmoid", self)

    def tanh(self):
        return apply("tanh", self)

    def relu(self):
        return apply("relu", self)

    def clip(self, min=None, max=None):
        """Values limited to [min, max]; the gradient is 1 inside, boundaries included, as in
        PyTorch's clamp, and 0 outside."""
        return apply("clip", self, a_min=min, a_max=max)

    def astype(self, dtype):
        """The values in another float dtype; the gradient comes back in this tensor's dtype."""
        return apply("astype", self, dtype=np.dtype(dtype))

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return apply("reshape", self, shape=shape)

    def flatten(self):
        return self.reshape(-1)

    def squeeze(self, axis=None):
        """Axes of length one removed (all of them, or those in ``axis``), as np.squeeze."""
        return self.reshape(np.squeeze(self._shape_only(), axis).shape)

    def expand_dims(self, axis):
        """A new axis of length one at ``axis``, as np.expand_dims."""
        return self.reshape(np.expand_dims(self._shape_only(), axis).shape)

    def _shape_only(self) -> np.ndarray:
        return np.broadcast_to(False, self.shape)  # (no memory: NumPy's shape rules applied)

    def transpose(self, *axes):
        """The axes permuted (reversed by default); negative axes count from the end."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        if axes:  # (normalised: the VJP inverts the permutation with argsort)
            n = self.ndim
            axes = tuple(int(a) + n if -n <= a < 0 else int(a) for a in axes)
            if sorted(axes) != list(range(n)):
                raise ValueError(f"transpose axes {axes} are not a permutation of the "
                                 f"{self.ndim} axes of a tensor of shape {self.shape}")
        return apply("transpose", self, axes=axes or None)

    @property
    def T(self):
        return self.transpose()

    def detach(self) -> Tensor:
        """The same data, cut from the graph (no gradient flows back through it)."""
        return apply("detach", self)


def apply(name: str, *inputs, **params) -> Tensor:
    """Run the primitive ``name`` forward on ``inputs``, recording the graph if needed."""
    op = OPS.get(name)
    if op is None:
        raise NotImplementedError(f"no primitive op named '{name}' in lograd.autodiff.engine.OPS")
    # (plain loops, not generators or any(): this runs once per op, and tiny graphs are overhead)
    for x in inputs:
        if not isinstance(x, Tensor):
            inputs = _with_constants(inputs)
            break
    requires_grad = False
    for t in inputs:
        if t.requires_grad:
            requires_grad = _grad_mode.enabled and not op.stops_gradient
            break
    arrays = [t.data for t in inputs]
    if len(arrays) > 1:
        dtype = arrays[0].dtype
        for a in arrays:
            if a.dtype is not dtype and a.dtype != dtype:  # (rare: mixed dtypes)
                inputs = _zero_d_follows_arrays(inputs)
                arrays = [t.data for t in inputs]
                break
    value = op.forward(*arrays, **params) if params else op.forward(*arrays)
    if op.saves:  # (value, work its VJPs reuse)
        value, saved = value
        params = {**params, "saved": saved}
    out = Tensor.__new__(Tensor)
    out.data = value if type(value) in _SCALARS else as_value(value)
    out.grad, out.name = None, None
    if requires_grad:
        out.requires_grad, out.op, out.parents, out.params = True, op, inputs, params
        out._inputs = arrays
    else:
        out.requires_grad, out.op, out.parents, out.params, out._inputs = False, None, (), {}, ()
    if _tracer is not None and _tracer[0] == threading.get_ident():
        _tracer[1](op, inputs, params, out, value)  # (value: the forward's result, as it was)
    return out


def compare(name: str, a, b) -> np.ndarray:
    """The comparison ``name`` ("less", "equal", ...) of Tensors or arrays: a plain boolean array.

    No graph is recorded (a comparison has no gradient), but a trace is told, so a mask computed
    from traced tensors (``ops.where(x > 0, x, 0)``) is recomputed when the trace is replayed.
    """
    inputs = _with_constants((a, b))
    if inputs[0].data.dtype != inputs[1].data.dtype:  # compared in the dtype of the arithmetic
        inputs = _zero_d_follows_arrays(inputs)
    value = np.asarray(OPS[name].forward(inputs[0].data, inputs[1].data))  # (never np.True_,
    # a singleton: each mask must be an object of its own for a trace to recognise it)
    if _tracer is not None and _tracer[0] == threading.get_ident():
        _tracer[1](OPS[name], inputs, {}, None, value)
    return value


def _zero_d_follows_arrays(inputs) -> tuple[Tensor, ...]:
    """PyTorch's rule: a 0-d float operand does not raise the float precision of the arrays it
    meets (float32 X @ w + b, with b a float64 0-d Tensor, stays float32). The cast is an op
    (``astype``), so b's gradient flows back, in b's dtype."""
    floats = [t.data.dtype for t in inputs if t.data.ndim and t.data.dtype.kind == "f"]
    if not floats:
        return inputs
    target = np.result_type(*floats)
    return tuple([apply("astype", t, dtype=target) if t.data.ndim == 0 and t.data.dtype.kind == "f"
                  and t.data.dtype != target and np.result_type(t.data.dtype, target) != target
                  else t for t in inputs])


def _own_copy(grad):
    """A leaf's gradient as an array of its own: writable, not shared with another leaf, the
    upstream gradient or a broadcast view (NumPy scalars are immutable and need no copy)."""
    return np.array(grad) if type(grad) is np.ndarray else grad


def _with_constants(inputs) -> tuple[Tensor, ...]:
    """The inputs, each non-Tensor made a constant.

    A number (Python's, a NumPy scalar or a 0-d array) is weak, as in PyTorch: it takes the float
    dtype of the operands that have one (arrays first, then 0-d Tensors), so float32 stays
    float32. Arrays keep their own dtype.
    """
    like = None
    for x in inputs:
        data = x.data if isinstance(x, Tensor) else x
        if (isinstance(x, Tensor) or type(data) is np.ndarray and data.ndim) and \
                data.dtype.kind == "f":
            like = data.dtype
            if data.ndim:
                break
    return tuple([x if isinstance(x, Tensor) else _constant(x, like) for x in inputs])


def _constant(value, like_dtype) -> Tensor:
    tensor = Tensor.__new__(Tensor)
    if type(value) is np.ndarray and value.dtype == np.bool_:
        # A mask (a comparison's result) stays one: it keeps its identity, so that a trace can
        # tell it was computed from traced tensors; NumPy's bool x float keeps the float.
        tensor.data = value
    elif like_dtype is not None and (type(value) in (float, int, bool) or isinstance(
            value, np.generic) or type(value) is np.ndarray and value.ndim == 0):
        tensor.data = like_dtype.type(value)  # a weak number
    else:
        tensor.data = as_data(value, like_dtype)
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


def backpropagate(root: Tensor, seed, watch=None) -> None:
    """Reverse-mode differentiation from ``root``, seeded with dL/d(root) = ``seed``.

    The nodes are taken in reverse topological order; each one's gradient is complete when it
    is taken, and flows to each parent through the op's VJP, summed back to the parent's shape
    and cast to its dtype, and *added* to what the parent already has. Leaves add it to
    ``.grad`` (over several calls), intermediate nodes keep the last pass's.

    ``watch``, if given (:func:`lograd.compile_grad` writes code from it), is told of each step
    in order: ``watch(node, i, parent, fixes, added)`` after the VJP of ``node``'s argument
    ``i``, with ``fixes`` what was done to its result ("result", "unbroadcast", "astype") and
    ``added`` whether it was added to a gradient already pending for ``parent``.
    """
    pending = {root: seed}  # gradients waiting to flow on: added, never replaced
    for node in reversed(backward_order(root)):
        g = pending.pop(node)
        if node.op is None:  # a leaf: its gradient adds up over backward() calls
            node.grad = _own_copy(g) if node.grad is None else node.grad + g
            continue
        node.grad = g
        arrays = node._inputs  # the parents' data as the forward saw it
        vjps = node.op.vjps
        for i, parent in enumerate(node.parents):
            if not parent.requires_grad:
                continue
            if i >= len(vjps) or vjps[i] is None:
                raise NotImplementedError(f"op '{node.op.name}' has no VJP for its argument {i}")
            if node.params:
                contribution = vjps[i](g, node.data, *arrays, **node.params)
            else:  # (no empty ** to unpack: tiny graphs are all overhead)
                contribution = vjps[i](g, node.data, *arrays)
            fixes = [] if watch is not None else None
            contribution = _conform(contribution, arrays[i], fixes)
            added = parent in pending
            if added:
                contribution = pending[parent] + contribution
            pending[parent] = contribution
            if watch is not None:
                watch(node, i, parent, fixes, added)


def _conform(contribution, target, fixes=None):
    """A VJP's result as the gradient of ``target``: a stored value (as_value), of its shape
    (broadcast axes summed) and dtype. ``fixes``, a list, is told which of these were needed."""
    if type(contribution) not in _VALUES:
        contribution = as_value(np.asarray(contribution))
        if fixes is not None:
            fixes.append("result")
    if contribution.shape != target.shape:
        contribution = unbroadcast(contribution, target.shape)
        if fixes is not None:
            fixes.append("unbroadcast")
    if contribution.dtype is not target.dtype and contribution.dtype != target.dtype:
        contribution = contribution.astype(target.dtype)
        if fixes is not None:
            fixes.append("astype")
    return contribution


def backward_order(root: Tensor) -> list[Tensor]:
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
