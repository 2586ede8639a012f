"""lograd.compile_grad: the traced, straight-line code gives the engine's numbers bit for bit."""

import time

import numpy as np
import pytest
import scipy.sparse as sp
from tests.linear_support import linear_objective
from tests.test_engine import COMPOSITE_CASES, OP_CASES
from tests.test_engine import lecture_loss as lecture_loss_and_more

import lograd
from lograd import Tensor, TraceError, compile_grad, no_grad
from lograd.autodiff import ops

X1, X2, Y = 1.0, 2.0, 1.0


def lecture_loss(w1, w2, b):
    """The lecture's graph: z = w1 x1 + w2 x2 + b, a = σ(z), L = -(y log a + (1-y) log(1-a))."""
    a = (w1 * X1 + w2 * X2 + b).sigmoid()
    return -(Y * a.log() + (1.0 - Y) * (1.0 - a).log())

rng = np.random.default_rng(7)


def eager(fn, args, argnums):
    """Value and gradients by Tensor.backward(), the reference."""
    wrt = (argnums,) if isinstance(argnums, int) else argnums
    tensors = [Tensor(a, requires_grad=i in wrt) for i, a in enumerate(args)]
    out = fn(*tensors)
    out.backward()
    grads = tuple(tensors[i].grad for i in wrt)
    return out.data, grads[0] if isinstance(argnums, int) else grads


def assert_identical(got, expected):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def central_differences(fn, args, i, eps=1e-6):
    """d fn / d args[i] element by element, from fn's value alone."""
    x = np.array(args[i], dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        shifted = []
        for sign in (1, -1):
            moved = x.copy()
            moved[index] += sign * eps
            with no_grad():
                value = fn(*[Tensor(moved if j == i else a) for j, a in enumerate(args)])
            shifted.append(float(value.data))
        grad[index] = (shifted[0] - shifted[1]) / (2 * eps)
    return grad


def nearby(x):
    """Another point like x: same shape, dtype and signs (logs and relus stay where they were)."""
    x = np.asarray(x)
    return x * rng.uniform(0.7, 1.3, x.shape).astype(x.dtype)


def scalar_case(f, inputs):
    """The op case reduced to one value, as gradcheck reduces it: sum(f * r), r fixed."""
    with no_grad():
        shape = f(*[Tensor(x) for x in inputs]).shape
    weights = rng.standard_normal(shape)
    return lambda *ts: (f(*ts) * weights).sum()


def test_lecture_graph_matches_the_engine_and_the_closed_forms():
    x1, x2, y = X1, X2, Y
    step = compile_grad(lecture_loss, (0, 1, 2))
    for w1, w2, b in [(0.5, -1.0, 0.25), (-0.3, 0.8, 1.5), (2.0, 2.0, -4.0)]:
        loss, grads = step(w1, w2, b)
        expected_loss, expected_grads = eager(lecture_loss, (w1, w2, b), (0, 1, 2))
        assert_identical(loss, expected_loss)
        for got, expected in zip(grads, expected_grads):
            assert_identical(got, expected)
        a = 1 / (1 + np.exp(-(w1 * x1 + w2 * x2 + b)))
        dz = a - y  # the lecture: dz = a - y, dw_i = x_i dz, db = dz
        np.testing.assert_allclose(grads, [x1 * dz, x2 * dz, dz], rtol=1e-12)
        np.testing.assert_allclose(loss, -np.log(a), rtol=1e-12)


@pytest.mark.parametrize("loss", [lecture_loss, lecture_loss_and_more])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_descent_on_the_lecture_graph_follows_the_engine_bit_for_bit(loss, dtype):
    step = compile_grad(loss, (0, 1, 2))
    params = [dtype(v) for v in (0.5, -1.0, 0.25)]
    tensors = [Tensor(v, requires_grad=True) for v in params]
    for _ in range(200):
        _, grads = step(*params)
        params = [p - dtype(0.1) * g for p, g in zip(params, grads)]
        loss(*tensors).backward()
        for t in tensors:
            t.data, t.grad = t.data - dtype(0.1) * t.grad, None
    for p, t in zip(params, tensors):
        assert_identical(p, t.data)


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_every_op_compiled_equals_the_engine_on_new_points(name):
    for f, inputs in OP_CASES[name]:
        fn = scalar_case(f, inputs)
        argnums = tuple(range(len(inputs)))
        step = compile_grad(fn, argnums)
        value_driven = name == "getitem" and f(Tensor(inputs[0])).shape != f(
            Tensor(-np.asarray(inputs[0]))).shape  # a[a.data > 0]: its mask is traced
        step(*inputs)
        points = [inputs, [nearby(x) for x in inputs], [nearby(x) for x in inputs]]
        if value_driven:
            with pytest.raises(TraceError, match="different"):
                step(*[-np.asarray(x) for x in inputs])
            continue
        for point in points:
            value, grads = step(*point)
            expected_value, expected_grads = eager(fn, point, argnums)
            assert_identical(value, expected_value)
            for got, expected in zip(grads, expected_grads):
                assert_identical(got, expected)


def far(x):
    """A point unlike x: entries scaled by up to ±400 (signs flip, logits overflow exp)."""
    x = np.asarray(x)
    return x * rng.uniform(-400, 400, x.shape).astype(x.dtype)


@pytest.mark.parametrize("name", sorted(COMPOSITE_CASES))
def test_every_composite_compiled_equals_the_engine_at_a_far_point(name):
    """A composite that read a value from .data while tracing (log_softmax's max-shift did)
    replays it frozen: wrong, and at large logits inf/nan, where the engine is finite."""
    for f, inputs in COMPOSITE_CASES[name]:
        fn = scalar_case(f, inputs)
        argnums = tuple(range(len(inputs)))
        step = compile_grad(fn, argnums)
        step(*inputs)
        for point in ([far(x) for x in inputs], [nearby(x) for x in inputs]):
            value, grads = step(*point)
            expected_value, expected_grads = eager(fn, point, argnums)
            assert_identical(value, expected_value)
            for got, expected in zip(grads, expected_grads):
                assert_identical(got, expected)


@pytest.mark.parametrize("composite", [ops.log_softmax, ops.softmax, ops.logsumexp])
def test_log_softmax_replayed_at_large_logits_is_finite(composite):
    weights = np.array([0.5, -1.0, 2.0])
    step = compile_grad(lambda z: (composite(z) * weights).sum())
    step(np.array([1.0, 2.0, 3.0]))
    value, grad = step(np.array([1200.0, 800.0, 400.0]))
    expected_value, expected_grad = eager(lambda z: (composite(z) * weights).sum(),
                                          (np.array([1200.0, 800.0, 400.0]),), 0)
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert_identical(value, expected_value)
    assert_identical(grad, expected_grad)


def test_a_mask_from_a_comparison_is_recomputed_on_replay():
    step = compile_grad(lambda r: ops.where(r > 0, r * r, -r).sum(), check=False)
    step(np.array([1.0, 2.0]))
    value, grad = step(np.array([-1.0, 3.0]))  # the traced mask was [True, True]
    assert value == 1.0 + 9.0
    np.testing.assert_array_equal(grad, [-1.0, 6.0])


def test_gradients_of_two_arguments_are_arrays_of_their_own():
    step = compile_grad(lambda a, b: (a + b).sum(), (0, 1))
    for _ in range(2):  # the traced call and a replay
        _, (da, db) = step(np.ones(3), np.ones(3))
        assert da is not db and da.flags.writeable
        da *= 2.0
        np.testing.assert_array_equal(db, np.ones(3))


@pytest.mark.parametrize("name", ["mul", "div", "matmul", "sum", "log", "sigmoid",
                                  "softmax_cross_entropy", "linear_logistic_loss"])
def test_compiled_gradients_match_finite_differences_at_a_replayed_point(name):
    f, inputs = OP_CASES[name][-1]
    fn = scalar_case(f, inputs)
    step = compile_grad(fn, tuple(range(len(inputs))))
    step(*inputs)  # traced here; the point below is a replay
    point = [nearby(x) for x in inputs]
    _, grads = step(*point)
    for i, grad in enumerate(grads):
        np.testing.assert_allclose(grad, central_differences(fn, point, i), rtol=1e-6, atol=1e-8)


def test_data_passed_as_arguments_changes_between_calls_and_is_not_differentiated():
    """Mini-batches: X, y and weights are arguments, w and b the differentiated ones."""
    X, y, s = rng.standard_normal((40, 3)), rng.integers(0, 2, 40).astype(float), rng.uniform(
        0.5, 2, 40)

    def loss(w, b, X, y, s):
        return lograd.losses.fused_data_loss(X, w, b, y, s) + 0.01 * (w * w).sum()

    step = compile_grad(loss, (0, 1))
    w, b = rng.standard_normal(3), np.float64(0.1)
    for start in range(0, 40, 10):
        rows = slice(start, start + 10)
        value, (dw, db) = step(w, b, X[rows], y[rows], s[rows])
        expected_value, (ew, eb) = eager(loss, (w, b, X[rows], y[rows], s[rows]), (0, 1))
        assert_identical(value, expected_value)
        assert_identical(dw, ew)
        assert_identical(db, eb)
    assert len(step._traces) == 1


def test_a_new_shape_or_dtype_gets_its_own_trace():
    step = compile_grad(lambda w: (w * w).sum().log())
    for w in [np.arange(1.0, 4.0), np.arange(1.0, 6.0), np.arange(1.0, 4.0, dtype=np.float32)]:
        value, grad = step(w)
        assert grad.dtype == w.dtype and grad.shape == w.shape
        np.testing.assert_allclose(grad, 2 * w / (w * w).sum(), rtol=1e-6)
    assert len(step._traces) == 3


def test_float32_and_broadcast_gradients_are_summed_and_cast_as_the_engine_does():
    def fn(w, b):
        return ((X32 @ w + b).sigmoid() * 2.0).sum()  # b broadcast over rows; 2.0 stays float32

    X32 = rng.standard_normal((5, 3)).astype(np.float32)
    step = compile_grad(fn, (0, 1))
    for _ in range(3):
        w, b = rng.standard_normal(3).astype(np.float32), np.float32(rng.standard_normal())
        value, (dw, db) = step(w, b)
        expected_value, (ew, eb) = eager(fn, (w, b), (0, 1))
        assert value.dtype == np.float32 and dw.dtype == np.float32
        assert_identical(dw, ew)
        assert_identical(db, eb)


def test_sparse_constant_and_multinomial_fused_loss():
    X = sp.random(30, 6, density=0.3, format="csr", random_state=1)
    Y = np.eye(3)[rng.integers(0, 3, 30)]

    def fn(w, b):
        return lograd.losses.fused_data_loss(X, w, b, Y, None) + (X @ w).sum() * 1e-3

    step = compile_grad(fn, (0, 1))
    for _ in range(3):
        w, b = rng.standard_normal((6, 3)), rng.standard_normal(3)
        value, (dw, db) = step(w, b)
        expected_value, (ew, eb) = eager(fn, (w, b), (0, 1))
        assert_identical(value, expected_value)
        assert_identical(dw, ew)
        assert_identical(db, eb)


def test_no_grad_inside_the_function_and_an_unused_argument():
    def fn(w, unused):
        with no_grad():
            scale = w.sum()  # recomputed on each call, but not differentiated through
        return (w * scale).sum()

    step = compile_grad(fn, (0, 1))
    w = np.array([1.0, 2.0, 3.0])
    for point in (w, 2 * w):
        value, (dw, dunused) = step(point, np.ones(2))
        assert value == point.sum() ** 2
        np.testing.assert_array_equal(dw, np.full(3, point.sum()))
        np.testing.assert_array_equal(dunused, np.zeros(2))


def test_returned_gradients_are_fresh_arrays():
    step = compile_grad(lambda w: (w * 1.0).reshape(1, 3).sum(axis=1).reshape(()))
    _, first = step(np.ones(3))
    first[:] = 99.0
    _, second = step(np.ones(3))
    np.testing.assert_array_equal(second, np.ones(3))


def test_value_dependent_python_is_caught_on_the_first_replay():
    def clipped(w):
        return (w * w).sum() if float(w.data.sum()) > 0 else -w.sum()

    step = compile_grad(clipped)
    step(np.array([1.0, 2.0]))
    with pytest.raises(TraceError, match="froze"):
        step(np.array([-1.0, -2.0]))

    noisy = compile_grad(lambda w: (w * rng.standard_normal()).sum())
    noisy(np.ones(2))
    with pytest.raises(TraceError):
        noisy(np.ones(2))


def test_the_check_can_be_turned_off_and_then_replays_the_trace():
    step = compile_grad(lambda w: (w * w).sum() if float(w.data.sum()) > 0 else -w.sum(),
                        check=False)
    step(np.array([1.0]))
    value, grad = step(np.array([-3.0]))  # traced branch: w·w
    assert value == 9.0 and grad == -6.0


@pytest.mark.parametrize("fn, args, argnums, message", [
    (lambda w: w * 2.0, (np.ones(3),), 0, "single value"),
    (lambda w: w.data.sum(), (np.ones(3),), 0, "single value"),
    (lambda w, x: (x * 2.0).sum(), (np.ones(3), np.ones(3)), 0, "does not depend"),
])
def test_bad_functions_are_refused(fn, args, argnums, message):
    with pytest.raises(TraceError, match=message):
        compile_grad(fn, argnums)(*args)


def test_tensor_requiring_grad_from_outside_is_refused():
    outside = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TraceError, match="not one of its arguments"):
        compile_grad(lambda w: (w * outside).sum())(np.ones(2))


@pytest.mark.parametrize("argnums", [-1, (0, 0), (), "0", 1.5])
def test_bad_argnums_are_refused(argnums):
    with pytest.raises(ValueError, match="argnums"):
        compile_grad(lambda w: w.sum(), argnums)


def test_argnums_past_the_arguments_is_refused():
    with pytest.raises(ValueError, match="argument 2"):
        compile_grad(lambda w: w.sum(), (0, 2))(np.ones(2))


def test_source_shows_the_straight_line_program():
    step = compile_grad(lecture_loss, (0, 1, 2))
    source = step.source(0.5, -1.0, 0.25)
    assert source.startswith("def forward_backward(a0, a1, a2):")
    assert "sigmoid(" in source and "sigmoid_vjp0(" in source
    assert "# c" in source  # the constants x1, x2, y are listed
    unused = compile_grad(lambda w: ((w * 3.0).exp() * 0.0 + (w * w)).sum())
    assert unused.source(np.ones(2)).count("exp(") == 1  # exp is needed: its VJP uses it
    dead = compile_grad(lambda w: (w.exp(), (w * w).sum())[1])
    assert "exp(" not in dead.source(np.ones(2))  # computed, never used: not in the program


def test_a_compiled_function_inside_a_trace_is_refused():
    inner = compile_grad(lambda w: (w * w).sum())
    inner(np.ones(2))

    def outer(w):
        inner(w.data)  # would escape the outer trace
        return w.sum()

    with pytest.raises(TraceError, match="another one"):
        compile_grad(outer)(np.ones(2))


def test_compiled_is_exported_with_its_error():
    assert lograd.compile_grad is compile_grad
    assert issubclass(TraceError, ValueError)


def test_ops_of_other_threads_do_not_enter_a_trace():
    import threading

    halfway, other_done = threading.Event(), threading.Event()

    def slow(w):
        first = w * 2.0
        halfway.set()
        other_done.wait(10)  # meanwhile another thread runs ops on the engine
        return (first * w).sum()

    results = []

    def other():
        halfway.wait(10)
        for _ in range(5):
            (Tensor(np.ones(3), requires_grad=True).exp() * 3.0).sum().backward()
        other_done.set()
        # a trace of its own: waits until the one in progress is done
        results.append(compile_grad(lambda v: (v * v).sum())(np.ones(2)))

    thread = threading.Thread(target=other)
    thread.start()
    step = compile_grad(slow)
    start = time.perf_counter()
    step(np.arange(3.0))
    thread.join(10)
    assert time.perf_counter() - start < 5  # (no thread waited out a timeout)
    assert "exp(" not in step.source(np.arange(3.0))
    value, grad = results[0]
    assert value == 2.0 and np.array_equal(grad, [2.0, 2.0])
    value, grad = step(np.arange(1.0, 4.0))
    np.testing.assert_array_equal(grad, 4 * np.arange(1.0, 4.0))


# -- the estimator's objective runs its compiled step by default ---------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept, alpha_l2", [(True, 0.0), (True, 0.3), (False, 0.3)])
def test_objective_compiled_equals_backward_on_batches(dtype, classes, weighted, sparse,
                                                       fit_intercept, alpha_l2):
    n, d = 50, 4
    X = rng.standard_normal((n, d)).astype(dtype)
    if sparse:
        X = sp.csr_matrix(X * (rng.random((n, d)) < 0.5))
    labels = rng.integers(0, classes, n)
    Y = (labels if classes == 2 else np.eye(classes)[labels]).astype(dtype)
    weights = rng.uniform(0.5, 2.0, n).astype(dtype) if weighted else None
    settings = dict(alpha_l2=alpha_l2, alpha_l1=0.01, fit_intercept=fit_intercept)
    compiled = linear_objective(X, Y, weights, compiled=True, **settings)
    engine = linear_objective(X, Y, weights, compiled=False, **settings)
    assert compiled._compiled is not None and engine._compiled is None
    order = rng.permutation(n)
    batches = [None, order[:16], order[16:32], order[32:48], order[48:], None]  # last one short
    for batch in batches:
        theta = rng.standard_normal(compiled.n_params).astype(dtype)
        loss, grad = compiled.loss_and_grad(theta, batch)
        expected_loss, expected_grad = engine.loss_and_grad(theta, batch)
        assert loss == expected_loss
        assert_identical(grad, expected_grad)
    x_at = len(compiled.model.parameters)  # the step's arguments: (*params, X, Y[, s])
    traced = {key[x_at][1] for key in compiled._compiled._traces}  # shapes of X traced
    assert {(50, d), (16, d), (2, d)} <= traced  # full data, batches of 16, the batch of 2


def test_objectives_with_the_same_settings_share_their_traces():
    """partial_fit makes an objective per call: it must not pay for a new trace each time."""
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 2, 20).astype(float)
    first = linear_objective(X, y, alpha_l2=0.123)
    second = linear_objective(X[:10], y[:10], alpha_l2=0.123)
    other = linear_objective(X, y, alpha_l2=0.5)
    assert first._compiled is second._compiled and first._compiled is not other._compiled
    first.loss_and_grad(first.zeros(), np.arange(5))
    before = dict(first._compiled._traces)
    second.loss_and_grad(second.zeros(), np.arange(5, 10))
    assert first._compiled._traces == before  # the same batch shape: no new trace


def test_sgd_fit_is_unchanged_by_compiling(monkeypatch):
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from lograd import objective

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    settings = dict(solver="sgd", max_iter=5, batch_size=32, random_state=0, tol=0)
    compiled = lograd.LogisticRegression(**settings).fit(X, y)
    init = objective.Objective.__init__

    def on_the_engine(self, *args, **kwargs):
        init(self, *args, **{**kwargs, "compiled": False})

    monkeypatch.setattr(objective.Objective, "__init__", on_the_engine)
    engine = lograd.LogisticRegression(**settings).fit(X, y)
    np.testing.assert_array_equal(compiled.coef_, engine.coef_)
    np.testing.assert_array_equal(compiled.intercept_, engine.intercept_)


def test_traces_are_kept_for_the_latest_signatures_only(monkeypatch):
    monkeypatch.setattr(lograd.autodiff.compile, "MAX_TRACES", 3)
    step = compile_grad(lambda w: (w * w).sum())
    for n in range(1, 7):
        _, grad = step(np.ones(n))
        np.testing.assert_array_equal(grad, 2 * np.ones(n))
    assert sorted(key[0][1] for key in step._traces) == [(4,), (5,), (6,)]


@pytest.mark.parametrize("name", ["v0", "lambda", "np", "a1", "forward_backward"])
def test_ops_named_like_the_generated_code_still_compile(name, monkeypatch):
    from lograd.autodiff.engine import OPS, apply, defop

    monkeypatch.delitem(OPS, name, raising=False)
    defop(name, lambda x: x * 3.0, lambda g, ans, x: g * 3.0)
    try:
        step = compile_grad(lambda w: apply(name, w).sum())
        for point in (np.ones(2), np.arange(2.0)):
            value, grad = step(point)
            assert value == 3 * point.sum()
            np.testing.assert_array_equal(grad, [3.0, 3.0])
    finally:
        OPS.pop(name, None)
