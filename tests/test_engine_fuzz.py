"""Differential fuzzing: random graphs over every op of the table, against HIPS autograd.

Each graph is a list of steps (an op of the table, its operands, its constant parameters) grown
from random leaves: operands are earlier nodes (so subgraphs are shared and reused) or new leaves
of broadcast-compatible shapes. The same steps are evaluated by lograd and, independently, by
HIPS autograd (``autograd.numpy``), and the value of ``L = Σ_k sum(node_k · r_k)`` and its
gradient with respect to every leaf are compared. Then the graph is compiled with
``compile_grad`` at its first point and replayed at a new one, which must equal ``backward()``
there bit for bit. float64 and float32 graphs (with float64 0-d leaves and numbers mixed in, to
exercise the dtype rule) are both generated.

The default run takes about a minute; a longer one is::

    LOGRAD_FUZZ_GRAPHS=20000 .venv/bin/python -m pytest tests/test_engine_fuzz.py -s
"""

from __future__ import annotations

import operator
import os
from dataclasses import dataclass, field

import numpy as np
import pytest
import scipy.sparse as sp

import lograd
from lograd import OPS, Tensor, losses
from lograd.autodiff import ops

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")
from autograd.scipy.special import expit as ag_expit  # noqa: E402
from autograd.scipy.special import logsumexp as ag_logsumexp  # noqa: E402
from autograd.tracer import getval  # noqa: E402

try:
    import dask.array as da
    from tests.linear_support import dask_linear_loss as dask_data_loss

    import lograd.backends.dask  # noqa: F401  (registers the op)
except ImportError:  # pragma: no cover
    da = None

N_GRAPHS = int(os.environ.get("LOGRAD_FUZZ_GRAPHS", "4000"))
STEPS_PER_GRAPH = (4, 12)
LEAF_SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1), (2, 2, 3), (4,)]
BOUND = 1e4  # a step whose value leaves [-BOUND, BOUND] (or is not finite) is not kept


@dataclass
class Const:
    """A constant operand: the same value in both evaluations (dense copy for autograd)."""

    value: object

    def dense(self):
        return self.value.toarray() if sp.issparse(self.value) else self.value


@dataclass
class Step:
    op: str  # a key of SPECS
    args: tuple  # pool indices (int) or Const
    params: dict = field(default_factory=dict)


# -- the two evaluations of each step -----------------------------------------------------------
def _lograd_fused(w, b, X, Y, s):
    return losses.fused_data_loss(X, w, b, Y, s)


def _lograd_dask_fused(w, b, X, Y, s):
    return dask_data_loss(da.from_array(X, chunks=(3, X.shape[1])), w, b, Y, s)


def _autograd_fused(w, b, X, Y, s):
    """The weighted mean cross-entropy of X w + b, written out (the op's closed form)."""
    z = anp.dot(X, w) + b
    s = np.ones(X.shape[0]) if s is None else s
    if Y.ndim == 1:
        per_row = anp.logaddexp(0, z) - Y * z
    else:
        per_row = ag_logsumexp(z, axis=1) * Y.sum(axis=1) - anp.sum(Y * z, axis=1)
    return anp.sum(s * per_row) / s.sum()


def _autograd_sce(z, y):
    return anp.logaddexp(0, z) - y * z


def _autograd_softmax_ce(z, y):
    return ag_logsumexp(z, axis=-1) * anp.sum(y, axis=-1) - anp.sum(y * z, axis=-1)


def _autograd_clip(x, a_min, a_max):
    # PyTorch's clamp: the gradient passes on [min, max], bounds included (autograd's stops there)
    inside = np.ones(np.shape(x), dtype=bool)
    inside &= getval(x) >= a_min if a_min is not None else True
    inside &= getval(x) <= a_max if a_max is not None else True
    return anp.where(inside, x, anp.clip(x, a_min, a_max))


def _autograd_logsumexp(a, axis, keepdims):
    if np.ndim(a) == 0:  # (autograd's keeps a 0-d input as (1,), and its VJP then fails)
        return a + 0.0
    return ag_logsumexp(a, axis=axis, keepdims=keepdims)


def _autograd_where(condition, a, b):
    # (autograd's where does not sum a broadcast operand's gradient back: broadcast first)
    shape = np.broadcast_shapes(np.shape(condition), np.shape(a), np.shape(b))
    zeros = np.zeros(shape)
    return anp.where(condition, a + zeros, b + zeros)


COMPARE = {"less": operator.lt, "less_equal": operator.le, "greater": operator.gt,
           "greater_equal": operator.ge, "equal": operator.eq, "not_equal": operator.ne}

# op -> (lograd evaluation, autograd evaluation); each takes the operands, then the params
EVAL = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "neg": (lambda a: -a, lambda a: -a),
    "pow": (lambda a, b: a ** b, lambda a, b: a ** b),
    "matmul": (lambda a, b: ops.matmul(a, b), lambda a, b: anp.matmul(a, b)),
    "sum": (lambda a, axis, keepdims: a.sum(axis=axis, keepdims=keepdims),
            lambda a, axis, keepdims: anp.sum(a, axis=axis, keepdims=keepdims)),
    "max": (lambda a, axis, keepdims: a.max(axis=axis, keepdims=keepdims),
            lambda a, axis, keepdims: anp.max(a, axis=axis, keepdims=keepdims)),
    "min": (lambda a, axis, keepdims: ops.min(a, axis=axis, keepdims=keepdims),
            lambda a, axis, keepdims: anp.min(a, axis=axis, keepdims=keepdims)),
    "logsumexp": (lambda a, axis, keepdims: ops.logsumexp(a, axis=axis, keepdims=keepdims),
                  lambda a, axis, keepdims: _autograd_logsumexp(a, axis, keepdims)),
    "exp": (lambda a: a.exp(), anp.exp),
    "log": (lambda a: a.log(), anp.log),
    "log1p": (lambda a: a.log1p(), anp.log1p),
    "sqrt": (lambda a: a.sqrt(), anp.sqrt),
    "abs": (lambda a: abs(a), anp.abs),
    "sigmoid": (lambda a: a.sigmoid(), ag_expit),
    "tanh": (lambda a: a.tanh(), anp.tanh),
    "relu": (lambda a: a.relu(), lambda a: anp.where(a > 0, a, 0.0)),
    "leaky_relu": (lambda a, slope: ops.leaky_relu(a, slope),
                   lambda a, slope: anp.where(a > 0, a, slope * a)),
    "clip": (lambda a, a_min, a_max: a.clip(a_min, a_max), _autograd_clip),
    "maximum": (ops.maximum, anp.maximum),
    "minimum": (ops.minimum, anp.minimum),
    "where": (ops.where, _autograd_where),
    "astype": (lambda a, dtype: a.astype(dtype), lambda a, dtype: a),  # (autograd in float64)
    "reshape": (lambda a, shape: a.reshape(shape), lambda a, shape: anp.reshape(a, shape)),
    "transpose": (lambda a, axes, positive_axes: a.transpose(axes),
                  lambda a, axes, positive_axes: anp.transpose(a, positive_axes)),
    "getitem": (lambda a, index: a[index], lambda a, index: a[index]),
    "concatenate": (lambda *a, axis: ops.concatenate(a, axis=axis),
                    lambda *a, axis: anp.concatenate(a, axis=axis)),
    "stack": (lambda *a, axis: ops.stack(a, axis=axis), lambda *a, axis: anp.stack(a, axis=axis)),
    "sigmoid_cross_entropy": (ops.sigmoid_cross_entropy, _autograd_sce),
    "softmax_cross_entropy": (ops.softmax_cross_entropy, _autograd_softmax_ce),
    "linear_logistic_loss": (_lograd_fused, _autograd_fused),
    "dask_data_term": (_lograd_dask_fused, _autograd_fused),
    "detach": (lambda a: a.detach(), getval),
    **{name: (lambda a, b, f=f: f(a, b), lambda a, b, f=f: f(a, b))
       for name, f in COMPARE.items()},
}


# -- growing a random graph ---------------------------------------------------------------------
class Graph:
    """Leaves, steps, and the lograd value of every node as the graph grows."""

    def __init__(self, rng, dtype):
        self.rng, self.dtype = rng, np.dtype(dtype)
        self.leaves = []  # (pool index, array)
        self.steps = []  # (pool index, Step)
        self.values = []  # pool index -> lograd Tensor (or a boolean mask)

    # operands
    def leaf(self, shape, positive=False, float64=False):
        x = self.rng.standard_normal(shape)
        x = np.abs(x) + 0.5 if positive else x
        x = np.float64(x) if float64 and shape == () else np.asarray(x, self.dtype)
        if shape == () and not float64:
            x = self.dtype.type(x)
        self.leaves.append((len(self.values), x))
        self.values.append(Tensor(x, requires_grad=True))
        return len(self.values) - 1

    def node(self, min_ndim=0, max_ndim=3):
        """An earlier value node (reuse), or a new leaf."""
        nodes = [i for i, v in enumerate(self.values)
                 if isinstance(v, Tensor) and min_ndim <= v.ndim <= max_ndim]
        if nodes and self.rng.random() < 0.8:
            return int(self.rng.choice(nodes))
        shapes = [s for s in LEAF_SHAPES if min_ndim <= len(s) <= max_ndim]
        return self.leaf(shapes[self.rng.integers(len(shapes))])

    def shape(self, i):
        return self.values[i].shape

    def partner(self, shape):
        """An operand broadcastable with ``shape``: a node, a new leaf or a constant."""
        choice = self.rng.random()
        if choice < 0.15:  # a number: weak, follows the tensors' dtype
            return Const(float(self.rng.uniform(-2, 2)))
        if choice < 0.25 and self.dtype == np.float32:  # a float64 0-d leaf in a float32 graph
            return self.leaf((), float64=True)
        fits = [i for i, v in enumerate(self.values) if isinstance(v, Tensor)
                and _broadcasts(v.shape, shape)]
        if fits and choice < 0.7:
            return int(self.rng.choice(fits))
        dims = [n if self.rng.random() < 0.7 else 1 for n in shape]
        partner_shape = tuple(dims[int(self.rng.integers(0, len(dims) + 1)):])
        if choice < 0.8:
            return Const(self.rng.standard_normal(partner_shape).astype(self.dtype))
        return self.leaf(partner_shape)

    def positive(self, i):
        """A node > 0 made from node i: i·i + 0.5 (two more steps)."""
        square = self.add(Step("mul", (i, i)))
        return self.add(Step("add", (square, Const(self.dtype.type(0.5)))))

    def add(self, step):
        """Evaluate ``step`` with lograd; keep it if its value is finite and bounded."""
        if any(a is None for a in step.args):  # (an operand that was not kept)
            return None
        operands = [self.values[a] if isinstance(a, int) else a.value for a in step.args]
        if step.op in COMPARE and self.dtype == np.float32 and _near_tie(*operands):
            return None  # (float32 rounding may decide it unlike the float64 reference)
        value = EVAL[step.op][0](*operands, **step.params)
        if isinstance(value, Tensor):  # (empty nodes are not kept either)
            with np.errstate(invalid="ignore"):
                if value.size == 0 or not np.all(np.abs(value.data) <= BOUND):
                    return None
        self.steps.append((len(self.values), step))
        self.values.append(value)
        return len(self.values) - 1


def _near_tie(a, b):
    """Whether some entries of a and b differ by float32 rounding only (a node compared with
    itself is exactly tied in both precisions, and fine)."""
    if a is b:
        return False
    a, b = (np.asarray(x.data if isinstance(x, Tensor) else x, np.float64) for x in (a, b))
    return bool(np.any(np.abs(a - b) <= 1e-5 * (1 + np.abs(a))))


def _broadcasts(a, b):
    try:
        return np.broadcast_shapes(a, b) == tuple(b)
    except ValueError:
        return False


def _axis(rng, ndim):
    if ndim == 0 or rng.random() < 0.3:
        return None
    if rng.random() < 0.7:
        return int(rng.integers(-ndim, ndim))
    k = int(rng.integers(1, ndim + 1))
    return tuple(int(a) for a in rng.choice(ndim, k, replace=False))


def grow_unary(op, domain=None, **params):
    def grow(g):
        i = g.node()
        if domain == "positive":
            i = g.positive(i) if i is not None else None
        return None if i is None else g.add(Step(op, (i,), dict(params)))
    return grow


def grow_binary(op):
    def grow(g):
        i = g.node()
        j = g.partner(g.shape(i))
        if op == "div":  # a denominator away from 0, of either sign
            j = g.positive(j) if isinstance(j, int) else Const(np.abs(j.value) + 0.5)
        args = (i, j) if g.rng.random() < 0.6 else (j, i)
        return g.add(Step(op, args))
    return grow


def grow_pow(g):
    base = g.positive(g.node())
    if base is None:
        return None
    if g.rng.random() < 0.5:
        exponent = Const(float(g.rng.choice([-1.5, 0.0, 0.5, 1.0, 2.0, 3.0])))
    else:  # a Tensor exponent (tanh keeps it small), or 2 ** x
        partner = g.partner(g.shape(base))
        exponent = g.add(Step("tanh", (partner,))) if isinstance(partner, int) else partner
        if g.rng.random() < 0.3:
            return g.add(Step("pow", (Const(2.0), exponent)))
    return g.add(Step("pow", (base, exponent)))


def grow_matmul(g):
    rng = g.rng
    i = g.node(min_ndim=1)
    shape = g.shape(i)
    k = int(rng.integers(1, 4))
    choice = rng.random()
    if choice < 0.15 and len(shape) <= 2:  # a sparse data matrix on the left
        X = sp.random(4, shape[0], density=0.5, format="csr", random_state=rng.integers(1 << 30))
        return g.add(Step("matmul", (Const(X.astype(g.dtype)), i)))
    if choice < 0.3 and len(shape) in (1, 2):  # dense @ a sparse matrix on the right
        X = sp.random(shape[-1], k, density=0.5, format="csr", random_state=rng.integers(1 << 30))
        return g.add(Step("matmul", (i, Const(X.astype(g.dtype)))))
    if choice < 0.65:  # i @ (n,) or i @ (n, k)
        other = g.leaf((shape[-1],) if rng.random() < 0.4 else (shape[-1], k))
        return g.add(Step("matmul", (i, other)))
    rows = shape[-2] if len(shape) >= 2 else shape[0]  # (k, m) @ i
    other = g.leaf((rows,) if rng.random() < 0.4 else (k, rows))
    return g.add(Step("matmul", (other, i)))


def grow_reduction(op):
    def grow(g):
        i = g.node()
        axis = _axis(g.rng, len(g.shape(i)))
        return g.add(Step(op, (i,), {"axis": axis, "keepdims": bool(g.rng.random() < 0.3)}))
    return grow


def grow_reshape(g):
    i = g.node(min_ndim=1)
    shape = g.shape(i)
    options = [(-1,), tuple(reversed(shape)), (1, *shape), (*shape, 1)]
    return g.add(Step("reshape", (i,), {"shape": options[int(g.rng.integers(len(options)))]}))


def grow_transpose(g):
    i = g.node(min_ndim=2)
    n = len(g.shape(i))
    positive_axes = tuple(int(a) for a in g.rng.permutation(n))
    axes = tuple(a - n if g.rng.random() < 0.5 else a for a in positive_axes)  # negative too
    return g.add(Step("transpose", (i,), {"axes": axes, "positive_axes": positive_axes}))


def grow_getitem(g):
    rng = g.rng
    i = g.node(min_ndim=1)
    shape = g.shape(i)
    kind = rng.integers(4)
    if kind == 0:
        index = int(rng.integers(-shape[0], shape[0]))
    elif kind == 1:
        index = (Ellipsis, slice(0, max(1, shape[-1] - 1)))
    elif kind == 2:  # repeated rows: their gradients add up
        index = [int(v) for v in rng.integers(0, shape[0], 4)]
    else:  # a fixed mask (not from the data)
        index = rng.random(shape) < 0.6
    return g.add(Step("getitem", (i,), {"index": index}))


def grow_join(op):
    def grow(g):
        rng = g.rng
        i = g.node(min_ndim=1)
        shape = g.shape(i)
        n = len(shape)
        if op == "stack":
            axis = int(rng.integers(-n - 1, n + 1))
            others = [g.leaf(shape) if rng.random() < 0.5 else i for _ in range(rng.integers(1, 3))]
        else:
            axis = int(rng.integers(-n, n))
            others = []
            for _ in range(rng.integers(1, 3)):
                other_shape = list(shape)
                other_shape[axis] = int(rng.integers(1, 4))
                others.append(g.leaf(tuple(other_shape)) if rng.random() < 0.7 else i)
        return g.add(Step(op, (i, *others), {"axis": axis}))
    return grow


def grow_comparison(op):
    def grow(g):
        """A mask from comparing two nodes, used at once by a where (a mask alone is unused)."""
        a = g.node()
        b = g.partner(g.shape(a))
        mask = g.add(Step(op, (a, b)))
        if mask is None:
            return None
        shape = g.values[mask].shape
        return g.add(Step("where", (mask, g.partner(shape), g.partner(shape))))
    return grow


def grow_where(g):
    if g.rng.random() < 0.5:
        return grow_comparison(str(g.rng.choice(list(COMPARE))))(g)
    c = g.node()
    mask = Const(g.rng.random(g.shape(c)) < 0.5)
    return g.add(Step("where", (mask, c, g.partner(g.shape(c)))))


def grow_sigmoid_ce(g):
    z = g.node()
    shape = g.shape(z)
    if g.rng.random() < 0.7:
        y = Const(g.rng.uniform(0, 1, shape[int(g.rng.integers(0, len(shape) + 1)):])
                  .astype(g.dtype))
    else:
        y = g.partner(shape)  # any real y: the formula holds as an identity
    return g.add(Step("sigmoid_cross_entropy", (z, y)))


def grow_softmax_ce(g):
    z = g.node(min_ndim=1)
    shape = g.shape(z)
    y = g.rng.dirichlet(np.ones(shape[-1]), size=shape[:-1]).astype(g.dtype)
    return g.add(Step("softmax_cross_entropy", (z, Const(y))))


def grow_fused(op):
    def grow(g):
        rng = g.rng
        w = g.node(min_ndim=1, max_ndim=2)
        shape = g.shape(w)
        d, n = shape[0], 5
        X = rng.standard_normal((n, d)).astype(g.dtype)
        if len(shape) == 1:
            b, Y = g.leaf(()), rng.integers(0, 2, n).astype(g.dtype)
        else:
            k = shape[1]
            b, Y = g.leaf((k,)), np.eye(k, dtype=g.dtype)[rng.integers(0, k, n)]
        s = rng.uniform(0.5, 2.0, n).astype(g.dtype) if rng.random() < 0.5 else None
        return g.add(Step(op, (w, b, Const(X), Const(Y), Const(s))))
    return grow


SPECS = {
    **{op: grow_unary(op) for op in ["neg", "exp", "sigmoid", "tanh", "relu", "abs", "detach"]},
    **{op: grow_unary(op, "positive") for op in ["log", "log1p", "sqrt"]},
    **{op: grow_binary(op) for op in ["add", "sub", "mul", "div", "maximum", "minimum"]},
    **{op: grow_reduction(op) for op in ["sum", "max", "min", "logsumexp"]},
    **{op: grow_comparison(op) for op in COMPARE},
    "leaky_relu": lambda g: g.add(Step("leaky_relu", (g.node(),),
                                       {"slope": float(g.rng.uniform(0.01, 0.5))})),
    "clip": lambda g: g.add(Step("clip", (g.node(),), {
        "a_min": float(g.rng.uniform(-1.5, 0)) if g.rng.random() < 0.8 else None,
        "a_max": float(g.rng.uniform(0, 1.5)) if g.rng.random() < 0.8 else None})),
    "astype": lambda g: g.add(Step("astype", (g.node(),), {"dtype": g.dtype})),
    "pow": grow_pow,
    "matmul": grow_matmul,
    "reshape": grow_reshape,
    "transpose": grow_transpose,
    "getitem": grow_getitem,
    "concatenate": grow_join("concatenate"),
    "stack": grow_join("stack"),
    "where": grow_where,
    "sigmoid_cross_entropy": grow_sigmoid_ce,
    "softmax_cross_entropy": grow_softmax_ce,
    "linear_logistic_loss": grow_fused("linear_logistic_loss"),
    "dask_data_term": grow_fused("dask_data_term"),
}
RARE = {"dask_data_term"}  # a Dask graph per call: chosen first only, not at random


def random_graph(seed, first_op, dtype):
    rng = np.random.default_rng(seed)
    g = Graph(rng, dtype)
    common = sorted(set(SPECS) - RARE)
    n_steps = int(rng.integers(*STEPS_PER_GRAPH))
    SPECS[first_op](g)
    while len(g.steps) < n_steps:
        SPECS[common[int(rng.integers(len(common)))]](g)
    tensors = [i for i, v in enumerate(g.values) if isinstance(v, Tensor)]
    sinks = [i for i in tensors if rng.random() < 0.3] + [tensors[-1]]
    weights = {i: rng.standard_normal(g.values[i].shape) for i in sinks}
    return g, weights


def replay(g, weights, leaf_values, evaluate):
    """L = Σ sum(node · r) over the sinks, with ``evaluate`` = the lograd or autograd forms."""
    side = 0 if evaluate == "lograd" else 1
    values = dict(zip([i for i, _ in g.leaves], leaf_values))
    for index, step in g.steps:
        operands = [values[a] if isinstance(a, int) else
                    (a.value if side == 0 else a.dense()) for a in step.args]
        values[index] = EVAL[step.op][side](*operands, **step.params)
    total = 0.0
    for i, r in weights.items():
        term = values[i] * r
        total = total + (term.sum() if side == 0 else anp.sum(term))
    return total


def check_graph(seed, first_op, dtype):
    """Mismatches of one graph (a list of strings) and its number of steps."""
    g, weights = random_graph(seed, first_op, dtype)
    leaves = [x for _, x in g.leaves]
    problems = []

    tensors = [Tensor(x, requires_grad=True) for x in leaves]
    loss = replay(g, weights, tensors, "lograd")
    if not loss.requires_grad:  # every sink detached or constant: nothing to differentiate
        return problems, len(g.steps)
    loss.backward()
    for index, step in g.steps:
        value = g.values[index]
        expected = expected_dtype([g.values[a] if isinstance(a, int) else a.value
                                   for a in step.args])
        if (isinstance(value, Tensor) and expected is not None and value.dtype != expected
                and step.op != "astype"):
            problems.append(f"{step.op} gave {value.dtype}, the dtype rule says {expected}")

    wide = [np.asarray(x, np.float64) for x in leaves]
    ref_loss, ref_grads = autograd.value_and_grad(
        lambda *xs: replay(g, weights, xs, "autograd"), tuple(range(len(wide))))(*wide)
    rtol = 1e-7 if dtype == np.float64 else 2e-3
    scale = max(1.0, abs(float(ref_loss)), max(float(np.max(np.abs(r))) for r in ref_grads))
    atol = scale * (1e-9 if dtype == np.float64 else 2e-4)
    if not np.allclose(float(loss.data), float(ref_loss), rtol=rtol, atol=atol):
        problems.append(f"value {float(loss.data)!r} vs autograd {float(ref_loss)!r}")
    for k, (t, ref) in enumerate(zip(tensors, ref_grads)):
        grad = np.zeros_like(ref) if t.grad is None else np.asarray(t.grad, np.float64)
        if not np.allclose(grad, ref, rtol=rtol, atol=atol):
            problems.append(f"gradient of leaf {k}: max |diff| {np.max(np.abs(grad - ref)):.3g}")

    argnums = tuple(range(len(leaves)))
    step = lograd.compile_grad(lambda *ts: replay(g, weights, ts, "lograd"), argnums, check=False)
    step(*leaves)
    rng = np.random.default_rng(seed + 1)
    moved = [(x * rng.uniform(0.8, 1.2, np.shape(x))).astype(np.asarray(x).dtype)[()]
             for x in leaves]
    value, grads = step(*moved)
    fresh = [Tensor(x, requires_grad=True) for x in moved]
    eager = replay(g, weights, fresh, "lograd")
    eager.backward()
    if not _identical(value, eager.data):
        problems.append("compiled value differs from the engine at a new point")
    for k, (got, t) in enumerate(zip(grads, fresh)):
        expected = np.zeros_like(t.data) if t.grad is None else t.grad
        if not _identical(got, expected):
            problems.append(f"compiled gradient of leaf {k} differs from the engine")
    return problems, len(g.steps)


def expected_dtype(operands):
    """The dtype rule (PyTorch's): the float operands with dimensions decide; if there are none,
    the 0-d Tensors do; numbers (Python's, NumPy scalars, 0-d arrays) never do."""
    arrays, zero_d = [], []
    for x in operands:
        data = x.data if isinstance(x, Tensor) else x
        if getattr(data, "dtype", np.dtype(bool)).kind != "f":
            continue
        if np.ndim(data):
            arrays.append(data.dtype)
        elif isinstance(x, Tensor):
            zero_d.append(data.dtype)
    deciding = arrays or zero_d
    return np.result_type(*deciding) if deciding else None


def _identical(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def test_every_op_of_the_table_has_a_fuzz_spec():
    assert set(OPS) == set(SPECS) == set(EVAL), "every primitive op needs a fuzz spec"


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_random_graphs_agree_with_autograd_and_replay_bit_for_bit(dtype):
    names = sorted(SPECS)
    failures, steps, graphs = [], 0, N_GRAPHS // 2
    seed0 = 0 if dtype == np.float64 else 10 ** 6
    with np.errstate(all="ignore"):  # (unused branches of where may overflow; values are bounded)
        for k in range(graphs):
            first = names[k % len(names)]
            if first in RARE and k >= 2 * len(names):  # a few Dask graphs are enough
                first = "linear_logistic_loss"
            problems, n = check_graph(seed0 + k, first, dtype)
            steps += n
            failures += [f"seed {seed0 + k} (first op {first}): {p}" for p in problems]
    print(f"\n{np.dtype(dtype).name}: {graphs} graphs, {steps} steps, {len(failures)} mismatches")
    assert not failures, "\n".join(failures[:20])


def test_the_fuzzer_catches_a_wrong_vjp(monkeypatch):
    """The oracle works: a VJP off by a factor (as a real bug would be) is reported."""
    tanh = OPS["tanh"]
    monkeypatch.setitem(OPS, "tanh", tanh._replace(
        vjps=(lambda g, ans, x: g * (1 - ans * ans) * 1.01,)))
    with np.errstate(all="ignore"):
        problems = [p for k in range(30) for p in check_graph(k, "tanh", np.float64)[0]]
    assert any("gradient" in p for p in problems)
