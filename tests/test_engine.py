"""The engine: every op in the table against finite differences, and backward's bookkeeping."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lograd
from lograd import OPS, Tensor, gradcheck, losses, no_grad
from lograd.autodiff import ops
from lograd.autodiff.engine import apply, unbroadcast

try:  # registers the op "dask_data_term" (dask is an optional dependency)
    import dask.array as da
    from tests.linear_support import dask_linear_loss as dask_data_loss

    import lograd.backends.dask  # noqa: F401  (registers the op)
except ImportError:  # pragma: no cover
    da = None

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    """Values with |x| >= 0.2, so relu's kink is never inside the finite-difference step."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


def one_hot(n, k):
    return np.eye(k)[rng.integers(0, k, n)]


C3, C423 = randn(3), randn(4, 2, 3)  # fixed constants: a checked function must be deterministic
X63, Y6, Y62, S6 = randn(6, 3), rng.uniform(0, 1, 6), one_hot(6, 2), positive(6)

# For every primitive: (function of Tensors, inputs) cases, shapes broadcasting on both sides.
OP_CASES = {
    "add": [(lambda a, b: a + b, [randn(3, 4), randn(4)]),
            (lambda a, b: a + b, [randn(3, 1), randn(1, 5)]),
            (lambda a, b: a + b, [randn(), randn(2, 3)])],
    "sub": [(lambda a, b: a - b, [randn(3, 4), randn(3, 1)]),
            (lambda a, b: a - b, [randn(5), randn(2, 5)])],
    "mul": [(lambda a, b: a * b, [randn(3, 4), randn(4)]),
            (lambda a, b: a * b, [randn(2, 1, 3), randn(4, 1)])],
    "div": [(lambda a, b: a / b, [randn(3, 4), positive(4)]),
            (lambda a, b: a / b, [randn(3, 1), positive(1, 5)])],
    "neg": [(lambda a: -a, [randn(3, 4)]), (lambda a: -a, [randn()])],
    "pow": [(lambda a: a ** 3, [randn(3, 4)]), (lambda a: a ** -1.5, [positive(5)]),
            (lambda a: a ** 0.5, [positive(2, 3)]), (lambda a: 2.0 ** a, [randn(3)]),
            (lambda a, p: a ** p, [positive(3, 2), randn(2)])],
    "matmul": [(lambda a, b: a @ b, [randn(3, 4), randn(4, 2)]),
               (lambda a, b: a @ b, [randn(3, 4), randn(4)]),
               (lambda a, b: a @ b, [randn(4), randn(4, 2)]),
               (lambda a, b: a @ b, [randn(4), randn(4)]),
               (lambda a, b: a @ b, [randn(2, 3, 4), randn(4, 5)]),
               (lambda a, b: a @ b, [randn(2, 3, 4), randn(4)])],
    "sum": [(lambda a: a.sum(), [randn(3, 4)]),
            (lambda a: a.sum(axis=0), [randn(3, 4)]),
            (lambda a: a.sum(axis=(0, 2), keepdims=True), [randn(2, 3, 4)]),
            (lambda a: a.sum(axis=-1), [randn(2, 3, 4)])],
    "exp": [(lambda a: a.exp(), [randn(3, 4)])],
    "log": [(lambda a: a.log(), [positive(3, 4)])],
    "sigmoid": [(lambda a: a.sigmoid(), [randn(3, 4)]), (lambda a: a.sigmoid(), [randn()])],
    "tanh": [(lambda a: a.tanh(), [randn(3, 4)])],
    "relu": [(lambda a: a.relu(), [away_from_zero(3, 4)])],
    "reshape": [(lambda a: a.reshape(4, 3) * np.arange(12.0).reshape(4, 3), [randn(3, 4)]),
                (lambda a: a.reshape(-1), [randn(2, 3)])],
    "transpose": [(lambda a: a.T @ C3, [randn(3, 4)]),
                  (lambda a: a.transpose((2, 0, 1)) * C423, [randn(2, 3, 4)]),
                  (lambda a: a.transpose((-1, 0, 1)) * C423, [randn(2, 3, 4)])],
    "getitem": [(lambda a: a[1], [randn(3, 4)]),
                (lambda a: a[:, [0, 0, 2]], [randn(3, 4)]),
                # a mask from the data: 4 entries here, 1 at -a (a trace replays the 4)
                (lambda a: a[a.data > 0], [np.array([0.5, 1.0, 2.0, -0.3, 0.7])])],
    "max": [(lambda a: a.max(), [randn(3, 4)]),
            (lambda a: a.max(axis=0) * C3[:1], [randn(3, 4)]),
            (lambda a: a.max(axis=(0, 2), keepdims=True), [randn(2, 3, 4)])],
    "min": [(lambda a: a.min(axis=-1), [randn(3, 4)]),
            (lambda a: a.min(axis=1, keepdims=True), [randn(2, 3, 4)])],
    "maximum": [(lambda a, b: ops.maximum(a, b), [randn(3, 4), randn(4)]),
                (lambda a: ops.maximum(a, 0.1), [randn(5)])],
    "minimum": [(lambda a, b: ops.minimum(a, b), [randn(3, 1), randn(1, 5)])],
    "logsumexp": [(lambda a: ops.logsumexp(a), [randn(3, 4)]),
                  (lambda a: ops.logsumexp(a, axis=0), [randn(3, 4)]),
                  (lambda a: ops.logsumexp(a, axis=-1, keepdims=True) * C3, [randn(2, 4, 3)])],
    "log1p": [(lambda a: a.log1p(), [rng.uniform(-0.5, 2.0, (3, 4))])],
    "sqrt": [(lambda a: a.sqrt(), [positive(3, 4)])],
    "abs": [(lambda a: abs(a), [away_from_zero(3, 4)]), (lambda a: a.abs(), [away_from_zero()])],
    "leaky_relu": [(lambda a: ops.leaky_relu(a), [away_from_zero(3, 4)]),
                   (lambda a: ops.leaky_relu(a, 0.2), [away_from_zero(5)])],
    "clip": [(lambda a: a.clip(-0.5, 0.5), [away_from_zero(4, 3)]),
             (lambda a: ops.clip(a, a_min=0.3), [away_from_zero(6)]),
             (lambda a: a.clip(max=-0.4), [away_from_zero(6)])],
    "where": [(lambda a, b: ops.where(C3 > 0, a, b), [randn(2, 3), randn(3)]),
              (lambda a: ops.where(C3 > 0, a, 0.0), [randn(3)])],
    "astype": [(lambda a: a.astype(np.float64) * C3, [randn(2, 3)])],
    "concatenate": [(lambda a, b: ops.concatenate([a, b]), [randn(2, 3), randn(4, 3)]),
                    (lambda a, b, c: ops.concatenate([a, b, c], axis=-1) * 2.0,
                     [randn(2, 1), randn(2, 3), randn(2, 2)])],
    "stack": [(lambda a, b: ops.stack([a, b]), [randn(2, 3), randn(2, 3)]),
              (lambda a, b, c: ops.stack([a, b, c], axis=-1), [randn(4), randn(4), randn(4)])],
    # no gradient flows through these; each case's value is smooth where it is checked
    "detach": [(lambda a: (a - a.max().detach()).exp().sum().log() + a.max().detach(),
                [randn(3, 4)])],  # logsumexp by hand: the detached shift cancels exactly
    "less": [(lambda a, b: ops.where(a < b, a * b, b.exp()), [randn(3, 4), randn(4)])],
    "less_equal": [(lambda a: ops.where(a <= 0.2, a, a * a), [away_from_zero(5)])],
    "greater": [(lambda a: ops.where(a > 0, a * a, -a), [away_from_zero(5)])],
    "greater_equal": [(lambda a, b: ops.where(b >= a, a, b), [randn(5), randn(5)])],
    "equal": [(lambda a: ops.where(a == a, a * 3.0, a), [randn(4)])],
    "not_equal": [(lambda a: ops.where(a != 0.5, a.tanh(), a), [randn(4)])],
    "sigmoid_cross_entropy": [
        (lambda z, y: ops.sigmoid_cross_entropy(z, y), [randn(6), rng.uniform(0, 1, 6)]),
        (lambda z, y: ops.sigmoid_cross_entropy(z, y), [5 * randn(3, 4), rng.uniform(0, 1, 4)])],
    "softmax_cross_entropy": [
        (lambda z, y: ops.softmax_cross_entropy(z, y), [randn(5, 3), one_hot(5, 3)]),
        (lambda z, y: ops.softmax_cross_entropy(z, y), [randn(2, 5, 4), rng.uniform(0, 1, (5, 4))]),
    ],
    "linear_logistic_loss": [  # the fused one-pass kernel (lograd.losses); X, Y, s constants
        (lambda w, b: losses.fused_data_loss(X63, w, b, Y6, None), [randn(3), randn()]),
        (lambda w, b: losses.fused_data_loss(X63, w, b, Y62, S6), [randn(3, 2), randn(2)])],
}

if da is not None:  # the fused op on a dask X of two row blocks
    OP_CASES["dask_data_term"] = [
        (lambda w, b: dask_data_loss(da.from_array(X63, chunks=(4, 3)), w, b, Y6, None),
         [randn(3), randn()]),
        (lambda w, b: dask_data_loss(da.from_array(X63, chunks=(3, 2)), w, b, Y62, S6),
         [randn(3, 2), randn(2)])]


# Every function of lograd.autodiff.ops that is not a primitive of the table is a composite of them:
# (function of Tensors, inputs) cases for each, checked here and replayed compiled elsewhere.
COMPOSITE_CASES = {
    "log_softmax": [(lambda z: ops.log_softmax(z) * C3, [randn(4, 3)]),
                    (lambda z: ops.log_softmax(z, axis=0), [randn(3, 2)])],
    "softmax": [(lambda z: ops.softmax(z) * C3, [randn(2, 3)])],
    "log_sigmoid": [(lambda z: ops.log_sigmoid(z), [randn(5)])],
    "softplus": [(lambda z: ops.softplus(z), [randn(5)])],
    "var": [(lambda x: ops.var(x, axis=0), [randn(4, 3)]),
            (lambda x: x.var(ddof=1, keepdims=True), [randn(2, 3)])],
    "std": [(lambda x: ops.std(x, axis=-1), [randn(3, 4)])],
    "mean": [(lambda x: x.mean(axis=(0, 2)), [randn(2, 3, 4)])],
    "squeeze": [(lambda x: ops.squeeze(x) * C3, [randn(1, 3, 1)])],
    "expand_dims": [(lambda x: ops.expand_dims(x, -1) * C3, [randn(3)])],
    "flatten": [(lambda x: ops.flatten(x) * np.arange(6.0), [randn(2, 3)])],
    "clip": [(lambda x: ops.clip(x, -0.5, 0.5), [away_from_zero(5)])],
    "max": [(lambda x: ops.max(x, axis=1), [randn(2, 3)])],
    "min": [(lambda x: ops.min(x), [randn(2, 3)])],
    "squared_error_with_where": [  # a user's composite: a Huber loss from a comparison
        (lambda r: ops.where(abs(r) < 1.0, 0.5 * r * r, abs(r) - 0.5), [2 * randn(6)])],
}


def test_every_op_in_the_table_has_test_cases():
    assert set(OPS) == set(OP_CASES), "every primitive op needs gradcheck cases in OP_CASES"


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_gradients_match_finite_differences(name):
    for f, inputs in OP_CASES[name]:
        out = f(*[Tensor(x, requires_grad=True) for x in inputs])
        assert out.op is not None and name in ops_applied(f, inputs), f"case does not use {name}"
        gradcheck(f, *inputs, atol=1e-7, rtol=1e-6)


def ops_applied(f, inputs) -> set:
    """The names of the ops that ``f`` applies (comparisons and detach included)."""
    from lograd.autodiff import engine

    seen = set()
    with engine.recording(lambda op, *record: seen.add(op.name)):
        f(*[Tensor(x, requires_grad=True) for x in inputs])
    return seen


broadcastable = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)


@settings(max_examples=40, deadline=None)
@given(shapes=broadcastable, op=st.sampled_from(["add", "sub", "mul", "div"]))
def test_binary_ops_on_generated_broadcast_shapes(shapes, op):
    a_shape, b_shape = shapes.input_shapes
    a = rng.standard_normal(a_shape)
    b = rng.uniform(0.5, 2.0, b_shape) * rng.choice([-1, 1], b_shape)
    gradcheck(lambda x, y: apply(op, x, y), a, b, atol=1e-7, rtol=1e-6)


def test_every_function_of_ops_is_a_primitive_or_has_composite_cases():
    untested = set(ops.__all__) - set(OPS) - set(COMPOSITE_CASES)
    assert not untested, f"ops functions without cases: {sorted(untested)}"


@pytest.mark.parametrize("name", sorted(COMPOSITE_CASES))
def test_composites_match_finite_differences(name):
    for f, inputs in COMPOSITE_CASES[name]:
        gradcheck(f, *inputs, atol=1e-7, rtol=1e-6)


def test_gradcheck_catches_a_wrong_vjp():
    from lograd.autodiff.engine import defop

    defop("bad_square", np.square, lambda g, ans, x: g * x)  # wrong: should be 2x
    try:
        with pytest.raises(lograd.GradcheckError, match="input 0"):
            gradcheck(lambda x: apply("bad_square", x).sum(), randn(3))
    finally:
        del OPS["bad_square"]


def test_gradcheck_uses_random_directions_for_large_inputs():
    big = randn(40, 30)
    assert gradcheck(lambda a: (a.tanh() * a).sum(), big, max_elements=64)


def test_reuse_accumulates():
    a = Tensor(3.0, requires_grad=True)
    (a + a).backward()
    assert a.grad == 2.0
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0])


def test_node_feeding_two_branches_accumulates():
    x = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    h = x.exp()  # used twice below
    loss = (h * 2.0).sum() + h.log().sum()  # d/dx = 2 e^x + 1
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp(x.data) + 1, rtol=1e-14)
    np.testing.assert_allclose(h.grad, 2 + 1 / h.data, rtol=1e-14)


def test_leaf_gradients_accumulate_across_backward_calls_until_cleared():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * 3.0).sum().backward()
    (w * 3.0).sum().backward()
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])
    w.zero_grad()
    assert w.grad is None


def test_long_chain_has_no_recursion_limit():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 100_000, rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved_through_forward_and_backward(dtype):
    X = rng.standard_normal((5, 3)).astype(dtype)
    w = Tensor(np.zeros(3, dtype), requires_grad=True)
    b = Tensor(np.zeros((), dtype), requires_grad=True)
    y = np.array([0, 1, 1, 0, 1])
    loss = ops.sigmoid_cross_entropy(X @ w + b, y).mean() + 0.5 * (w * w).sum()
    loss.backward()
    assert loss.dtype == dtype and w.grad.dtype == dtype and b.grad.dtype == dtype


def test_integers_become_floats():
    assert Tensor([1, 2]).dtype == np.float64
    assert (Tensor(np.ones(2, np.float32)) * np.array([1, 2])).dtype == np.float32


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("w_shape", [(6,), (6, 3)])
def test_sparse_matmul_equals_dense(fmt, w_shape):
    X = sp.random(8, 6, density=0.4, format=fmt, random_state=1)
    w_sparse = Tensor(randn(*w_shape), requires_grad=True)
    w_dense = Tensor(w_sparse.data.copy(), requires_grad=True)
    upstream = randn(8, *w_shape[1:])
    out_sparse, out_dense = X @ w_sparse, X.toarray() @ w_dense
    np.testing.assert_allclose(out_sparse.data, out_dense.data, rtol=1e-13)
    (out_sparse * upstream).sum().backward()
    (out_dense * upstream).sum().backward()
    np.testing.assert_allclose(w_sparse.grad, w_dense.grad, rtol=1e-13)
    assert isinstance(w_sparse.grad, np.ndarray)


def test_sparse_tensor_cannot_require_grad():
    with pytest.raises(ValueError, match="sparse"):
        Tensor(sp.eye(3, format="csr"), requires_grad=True)


@pytest.mark.parametrize("z", [-1e4, -800.0, 0.0, 800.0, 1e4])
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_sigmoid_cross_entropy_is_finite_and_exact_at_extreme_logits(z, y):
    zt = Tensor(np.array([z]), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        loss = ops.sigmoid_cross_entropy(zt, np.array([y]))
        loss.sum().backward()
    # exact reference: log(1 + e^z) - y z = max(z, 0) - y z + log1p(e^-|z|)
    expected = max(z, 0.0) - y * z + np.log1p(np.exp(-abs(z)))
    assert np.isfinite(loss.data).all()
    assert loss.data[0] == pytest.approx(expected, rel=1e-15, abs=1e-300)
    sigmoid = 1.0 / (1.0 + np.exp(-z)) if z > -700 else 0.0
    assert zt.grad[0] == sigmoid - y


def test_sigmoid_cross_entropy_gradient_is_sigmoid_minus_y():
    z = Tensor(5 * randn(50), requires_grad=True)
    y = rng.integers(0, 2, 50).astype(float)
    ops.sigmoid_cross_entropy(z, y).sum().backward()
    np.testing.assert_array_equal(z.grad, ops.sigmoid(z.data).data - y)


def test_softmax_cross_entropy_is_finite_at_extreme_logits_and_gradient_is_softmax_minus_y():
    z = Tensor(np.array([[1e4, -1e4, 0.0], [-3.0, 2.0, 1.0]]), requires_grad=True)
    y = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        loss = ops.softmax_cross_entropy(z, y)
        loss.sum().backward()
    assert loss.data[0] == pytest.approx(2e4)
    np.testing.assert_allclose(z.grad, ops.softmax(z.data).data - y, atol=1e-15)
    np.testing.assert_allclose(ops.softmax(z.data).data.sum(axis=1), 1.0)


def test_composites_match_their_definitions():
    z = randn(4, 3)
    np.testing.assert_allclose(ops.log_softmax(z).data.sum(axis=1) * 0 + np.exp(
        ops.log_softmax(z).data).sum(axis=1), 1.0)
    np.testing.assert_allclose(ops.log_sigmoid(z).data, np.log(1 / (1 + np.exp(-z))), rtol=1e-12)
    weights = randn(4, 3)
    gradcheck(lambda t: ops.log_softmax(t) * weights, z)
    gradcheck(lambda t: t.mean(axis=0), z)


def test_no_grad_and_detach_record_no_graph():
    w = Tensor(randn(3), requires_grad=True)
    with no_grad():
        out = (w * 2.0).sum()
    assert not out.requires_grad and out.op is None
    d = w.detach()
    assert not d.requires_grad and d.data is w.data
    assert (w * 2.0).requires_grad  # the context restored grad recording


def test_backward_on_non_scalar_needs_upstream_gradient():
    x = Tensor(randn(3), requires_grad=True)
    with pytest.raises(ValueError, match="explicit upstream"):
        (x * 2.0).backward()
    (x * 2.0).backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])


def test_missing_vjp_raises_naming_the_op():
    from lograd.autodiff.engine import defop

    defop("floor", np.floor, None)
    try:
        x = Tensor(randn(3), requires_grad=True)
        with pytest.raises(NotImplementedError, match="'floor'"):
            apply("floor", x).sum().backward()
        with pytest.raises(NotImplementedError, match="no primitive op named 'nope'"):
            apply("nope", x)
    finally:
        del OPS["floor"]


def test_unbroadcast_sums_back_to_shape():
    g = np.ones((2, 3, 4))
    assert unbroadcast(g, (3, 1)).tolist() == [[8.0]] * 3
    assert unbroadcast(g, ()).item() == 24.0


def test_lecture_step_by_hand():
    """One gradient-descent step of the lecture's graph, against its closed forms."""
    x, y = np.array([1.0, 2.0]), 1.0
    w = Tensor(np.array([0.5, -0.3]), requires_grad=True)
    b = Tensor(0.1, requires_grad=True)
    a = (w @ x + b).sigmoid()
    loss = -(y * a.log() + (1 - y) * (1 - a).log())
    loss.backward()
    dz = a.data - y
    np.testing.assert_allclose(w.grad, x * dz, rtol=1e-12)
    np.testing.assert_allclose(b.grad, dz, rtol=1e-12)


# -- the fast path for tiny graphs: 0-d values as NumPy scalars --------------------------------
def lecture_loss(w1, w2, b, x1=1.0, x2=2.0, y=1.0):
    a = (w1 * x1 + w2 * x2 + b).sigmoid()
    return -(y * a.log() + (1.0 - y) * (1.0 - a).log()) + (w1 / b) ** 2 - w2.exp().tanh()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scalar_graph_equals_the_same_graph_on_arrays(dtype):
    """0-d values run as NumPy scalars; the same graph on shape-(1,) arrays takes the ufunc
    path: values and gradients must agree bit for bit, in the leaves' dtype."""
    start = [dtype(0.5), dtype(-1.0), dtype(0.25)]
    scalars = [Tensor(v, requires_grad=True) for v in start]
    arrays = [Tensor(np.array([v]), requires_grad=True) for v in start]
    on_scalars, on_arrays = lecture_loss(*scalars), lecture_loss(*arrays)
    on_scalars.backward()
    on_arrays.backward(np.ones(1, dtype))
    assert isinstance(on_scalars.data, np.floating) and on_scalars.dtype == dtype
    assert on_scalars.data == on_arrays.data[0]
    for s, a in zip(scalars, arrays):
        assert isinstance(s.grad, np.floating) and s.grad.dtype == dtype
        assert s.grad == a.grad[0]


def test_scalar_graph_matches_finite_differences():
    gradcheck(lecture_loss, 0.5, -1.0, 0.25, atol=1e-8, rtol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scalar_meets_array_broadcasts_and_keeps_dtype(dtype):
    s = Tensor(dtype(1.5), requires_grad=True)
    v = Tensor(np.arange(1.0, 4.0, dtype=dtype), requires_grad=True)
    out = (s * v + 2 * s - v / s).sum()  # a Python int follows the tensors' dtype
    out.backward()
    assert out.dtype == dtype and s.grad.dtype == dtype and v.grad.dtype == dtype
    assert s.grad.shape == () and v.grad.shape == (3,)
    vals = np.arange(1.0, 4.0)
    np.testing.assert_allclose(s.grad, vals.sum() + 6 + (vals / 1.5 ** 2).sum(), rtol=1e-6)
    np.testing.assert_allclose(v.grad, 1.5 - 1 / 1.5, rtol=1e-6)


def test_zero_d_array_leaf_is_kept_and_updated_in_place():
    """A 0-d array given as data stays that array (solvers update parameters in place)."""
    b_data = np.zeros(())
    b = Tensor(b_data, requires_grad=True)
    assert b.data is b_data
    (b * 3.0 + 1.0).backward()
    b_data -= 0.5 * b.grad
    assert b.data == -1.5 and b.grad == 3.0


def test_vjps_see_the_inputs_the_forward_saw():
    w = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    loss = (w * w).sum()
    w.data = np.array([100.0, 100.0])  # rebinding after the forward (an update step)
    loss.backward()
    np.testing.assert_array_equal(w.grad, [4.0, 6.0])


# -- where lograd disagreed with PyTorch and HIPS autograd (each failed before its fix) ----------
anp = pytest.importorskip("autograd.numpy")
autograd = pytest.importorskip("autograd")


@pytest.mark.parametrize("shape, axes", [((3, 4), (-1, 0)), ((1, 2, 4), (1, 0, -1)),
                                         ((2, 3, 4), (-2, -1, -3))])
def test_transpose_with_negative_axes(shape, axes):
    x = randn(*shape)
    upstream = randn(*np.transpose(x, axes).shape)
    t = Tensor(x, requires_grad=True)
    out = t.transpose(axes)
    (out * upstream).sum().backward()
    np.testing.assert_array_equal(out.data, np.transpose(x, axes))
    expected = np.zeros_like(x)  # (HIPS autograd itself gets negative axes wrong here)
    np.transpose(expected, axes)[...] = upstream  # d(sum(xᵀ u))/dx: u written back through xᵀ
    np.testing.assert_array_equal(t.grad, expected)


def test_transpose_refuses_axes_that_are_not_a_permutation():
    with pytest.raises(ValueError, match="not a permutation"):
        Tensor(randn(2, 3)).transpose((0, -2))


def test_each_leaf_gets_a_writable_gradient_of_its_own():
    a, b = Tensor(randn(3), requires_grad=True), Tensor(randn(3), requires_grad=True)
    upstream = randn(3)
    (a + b).backward(upstream)
    assert a.grad is not b.grad and a.grad is not upstream and b.grad is not upstream
    a.grad *= 2.0
    np.testing.assert_array_equal(b.grad, upstream)
    np.testing.assert_array_equal(a.grad, 2 * upstream)
    for reduce in (Tensor.sum, Tensor.mean):
        w = Tensor(randn(2, 3).astype(np.float32), requires_grad=True)
        reduce(w).backward()
        w.grad *= 0.5  # a read-only broadcast view raised here
        assert w.grad.shape == (2, 3) and w.grad.dtype == np.float32 and w.grad.flags.writeable
        np.testing.assert_allclose(w.grad, 0.5 * (1.0 if reduce is Tensor.sum else 1 / 6))


def test_a_zero_d_tensor_does_not_raise_the_precision_of_arrays():
    """PyTorch's rule: within float, a 0-d tensor or a number follows the arrays it meets."""
    X = randn(6, 3).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1, 0], np.float32)
    w = Tensor(np.full(3, 0.1, np.float32), requires_grad=True)
    b = Tensor(0.25, requires_grad=True)  # a Python number: float64 data, as the README's b
    assert b.dtype == np.float64
    z = X @ w + b
    cost = ops.sigmoid_cross_entropy(z, y).mean()
    cost.backward()
    assert z.dtype == np.float32 and cost.dtype == np.float32 and w.grad.dtype == np.float32
    assert b.grad.dtype == np.float64  # the gradient of b comes back in b's dtype
    dz = 1 / (1 + np.exp(-(X.astype(np.float64) @ w.data.astype(np.float64) + 0.25))) - y
    np.testing.assert_allclose(b.grad, dz.mean(), rtol=1e-6)
    np.testing.assert_allclose(w.grad, X.T.astype(np.float64) @ dz / 6, rtol=1e-5, atol=1e-7)
    f32, f64 = np.ones(3, np.float32), np.ones(3)
    assert (Tensor(np.float64(2.0)) * f32).dtype == np.float32
    assert (Tensor(f32) * np.float64(2.0)).dtype == np.float32
    assert (Tensor(f32) + np.array(2.0)).dtype == np.float32
    assert (Tensor(np.float32(1.0)) * np.float64(2.0)).dtype == np.float32  # a NumPy number
    assert (Tensor(np.float32(1.0)) * Tensor(np.float64(2.0))).dtype == np.float64  # 0-d, 0-d
    assert ops.where(np.array([True, False]), Tensor(np.float32(1.0)), 2.5).dtype == np.float32
    assert (Tensor(f32) + f64).dtype == np.float64  # arrays with arrays: NumPy's promotion
    assert ops.where(f32 > 0, Tensor(f32), Tensor(np.float64(0.0))).dtype == np.float32


@pytest.mark.parametrize("z, y, loss, dz", [
    (np.inf, 0.3, np.inf, 0.7), (np.inf, 1.0, 0.0, 0.0), (-np.inf, 0.0, 0.0, 0.0),
    (-np.inf, 0.5, np.inf, -0.5), (np.inf, 0.0, np.inf, 1.0)])
def test_sigmoid_cross_entropy_at_infinite_logits(z, y, loss, dz):
    zt = Tensor(np.array([z]), requires_grad=True)
    out = ops.sigmoid_cross_entropy(zt, np.array([y]))
    out.sum().backward()
    assert out.data[0] == loss and zt.grad[0] == pytest.approx(dz, abs=1e-15)


def test_log_sigmoid_at_infinities():
    x = Tensor(np.array([np.inf, -np.inf, 0.0]), requires_grad=True)
    out = ops.log_sigmoid(x)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [0.0, -np.inf, -np.log(2)])
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.5])  # d log σ/dx = 1 - σ(x)


def test_softmax_cross_entropy_with_a_minus_infinite_logit_off_target():
    z = Tensor(np.array([[0.0, -np.inf, 1.0]]), requires_grad=True)
    loss = ops.softmax_cross_entropy(z, np.array([[1.0, 0.0, 0.0]]))
    loss.sum().backward()
    assert loss.data[0] == pytest.approx(np.log(1 + np.e), rel=1e-15)
    p = np.array([1.0, 0.0, np.e]) / (1 + np.e)
    np.testing.assert_allclose(z.grad[0], p - [1, 0, 0], rtol=1e-15)


def test_power_zero_has_zero_gradient_at_zero():
    x = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    out = x ** 0
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


@pytest.mark.parametrize("w_shape", [(3, 8), (8,)])
def test_dense_tensor_at_sparse_matrix(w_shape):
    X = sp.random(8, 6, density=0.4, format="csr", random_state=2)
    w = Tensor(randn(*w_shape), requires_grad=True)
    w_dense = Tensor(w.data.copy(), requires_grad=True)
    out, reference = w @ X, w_dense @ X.toarray()
    assert isinstance(out.data, np.ndarray)
    np.testing.assert_allclose(out.data, reference.data, rtol=1e-13)
    upstream = randn(*reference.shape)
    (out * upstream).sum().backward()
    (reference * upstream).sum().backward()
    np.testing.assert_allclose(w.grad, w_dense.grad, rtol=1e-13)


def test_no_grad_in_one_thread_leaves_the_others_recording():
    import threading

    # the interleaving that left gradients off everywhere: A enters, B enters, A leaves, B leaves
    steps = [threading.Event() for _ in range(4)]

    def inside_no_grad(wait_for, then):
        with no_grad():
            steps[then].set()
            steps[wait_for].wait(5)

    a = threading.Thread(target=lambda: (inside_no_grad(1, 0), steps[2].set()))
    a.start()
    steps[0].wait(5)
    w = Tensor(randn(3), requires_grad=True)
    assert (w * 2.0).requires_grad  # this thread records while A is inside no_grad()
    b = threading.Thread(target=lambda: inside_no_grad(2, 1))
    b.start()
    a.join(5)
    b.join(5)
    assert lograd.autodiff.engine.is_grad_enabled() and (w * 2.0).requires_grad


def test_ops_exposes_its_own_functions_only():
    assert not hasattr(ops, "expit") and not hasattr(ops, "_softmax")
    out = ops.logsumexp(Tensor(np.array([1200.0, 800.0, 400.0]), requires_grad=True))
    assert isinstance(out, Tensor) and out.data == pytest.approx(1200.0)
    public = [name for name in vars(ops) if not name.startswith("_")]
    assert set(public) - set(ops.__all__) <= {"operator", "np", "sp", "scipy", "annotations",
                                             "Tensor", "PerArgument", "apply", "defop"}


# -- the new ops' conventions where the derivative is not unique --------------------------------
def test_ties_share_the_gradient_of_max_min_maximum_and_minimum():
    x = Tensor(np.array([[3.0, 1.0, 3.0, 3.0], [0.0, 2.0, 2.0, -1.0]]), requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1 / 3, 0, 1 / 3, 1 / 3], [0, 0.5, 0.5, 0]])
    x.zero_grad()
    x.min().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0, 0], [0, 0, 0, 1.0]])
    a, b = Tensor(np.array([1.0, 2.0]), requires_grad=True), Tensor(2.0, requires_grad=True)
    (ops.maximum(a, b).sum() + ops.minimum(a, b).sum() * 10).backward()
    np.testing.assert_array_equal(a.grad, [10.0, 0.5 + 5.0])  # as autograd's maximum/minimum
    assert b.grad == 1.0 + 0.5 + 5.0


def test_kinks_relu_abs_clip_follow_pytorch():
    x = Tensor(np.array([-1.0, 0.0, 0.5, 1.0, 2.0]), requires_grad=True)
    (x.relu() + abs(x) + x.clip(0.0, 1.0)).sum().backward()
    # relu'(0) = 0, |x|'(0) = 0, clamp passes the gradient on [min, max], bounds included
    np.testing.assert_array_equal(x.grad, [0 - 1 + 0, 0 + 0 + 1, 1 + 1 + 1, 1 + 1 + 1, 1 + 1 + 0])


def test_where_takes_the_branch_and_refuses_a_tensor_condition():
    a = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    out = ops.where(a > 0, a * a, -a)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [1.0, 2.0, 9.0])
    np.testing.assert_array_equal(a.grad, [2.0, -1.0, 6.0])
    assert isinstance(a > 0, np.ndarray) and (a > 0).dtype == np.bool_
    with pytest.raises(TypeError, match="boolean array"):
        ops.where(Tensor(np.ones(3)), a, a)


def test_tensors_still_hash_by_identity():
    a, b = Tensor(np.ones(2)), Tensor(np.ones(2))
    assert len({a: 1, b: 2}) == 2 and (a == b).tolist() == [True, True]


def test_shape_ops_and_statistics_against_numpy():
    x = randn(2, 1, 3)
    t = Tensor(x)
    assert t.squeeze().shape == (2, 3) and t.squeeze(1).shape == (2, 3)
    assert ops.expand_dims(t, 0).shape == (1, 2, 1, 3) and t.flatten().shape == (6,)
    np.testing.assert_allclose(t.var(axis=2, ddof=1).data, x.var(axis=2, ddof=1), rtol=1e-14)
    np.testing.assert_allclose(ops.std(t).data, x.std(), rtol=1e-14)
    with pytest.raises(ValueError):
        t.squeeze(0)
