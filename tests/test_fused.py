"""The fused linear-logistic op against the graph of plain ops, finite differences and NumPy."""

import tracemalloc

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from lograd import Tensor, gradcheck, no_grad
from lograd.losses import (
    DATA_LOSSES,
    _pick_kernel,
    fused_data_loss,
    unfused_data_loss,
)

RTOL = {np.float64: 1e-10, np.float32: 1e-5}


def make_problem(kind, layout, dtype, weighted, n=700, d=13, k=4, seed=0):
    """Random X in the given layout, targets, weights, and parameters of a realistic scale."""
    rng = np.random.default_rng(seed)
    if layout in ("csr", "csc"):
        X = sp.random(n, d, density=0.3, format=layout, random_state=seed, dtype=np.float64)
        X.data = rng.standard_normal(X.nnz)
        X = X.astype(dtype)
    else:
        X = rng.standard_normal((n, d)).astype(dtype, order="F" if layout == "fortran" else "C")
    if kind == "binary":
        Y = (rng.random(n) < 0.4).astype(np.float64)
        w0, b0 = rng.standard_normal(d), np.array(rng.standard_normal())
    else:
        Y = np.eye(k)[rng.integers(0, k, n)]
        w0, b0 = rng.standard_normal((d, k)), rng.standard_normal(k)
    s = rng.uniform(0.0, 3.0, n) if weighted else None
    return X, Y, s, w0.astype(dtype), b0.astype(dtype)


def loss_and_grads(data_loss, X, Y, s, w0, b0):
    w, b = Tensor(w0, requires_grad=True), Tensor(b0, requires_grad=True)
    loss = data_loss(X, w, b, Y, s)
    loss.backward()
    return loss, w.grad, b.grad


def assert_close(actual, expected, rtol):
    """Relative to the largest entry: a wrong derivative is off by O(1) of it."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    scale = max(np.abs(expected).max(), 1e-300)
    assert np.abs(actual - expected).max() <= rtol * scale, (actual, expected)


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
@pytest.mark.parametrize("layout", ["dense", "csr", "fortran", "csc"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_equals_unfused(kind, layout, dtype, weighted):
    X, Y, s, w0, b0 = make_problem(kind, layout, dtype, weighted)
    fused = loss_and_grads(fused_data_loss, X, Y, s, w0, b0)
    unfused = loss_and_grads(unfused_data_loss, X, Y, s, w0, b0)
    assert fused[0].op.name == "linear_logistic_loss"
    assert fused[0].dtype == unfused[0].dtype == dtype  # float32 data is computed in float32
    assert fused[1].dtype == fused[2].dtype == dtype
    assert fused[1].shape == w0.shape and fused[2].shape == b0.shape
    for got, want in zip(fused, unfused):
        assert_close(got.data if isinstance(got, Tensor) else got,
                     want.data if isinstance(want, Tensor) else want, RTOL[dtype])


@pytest.mark.parametrize("layout, compiled", [("dense", True), ("csr", True),
                                              ("fortran", False), ("csc", False)])
def test_c_contiguous_and_csr_take_the_compiled_kernel(layout, compiled):
    X, Y, *_ = make_problem("binary", layout, np.float64, False)
    assert (_pick_kernel(X, X.dtype, multinomial=False) is not None) == compiled


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
def test_float32_is_accurate_against_float64(kind):
    X, Y, s, w0, b0 = make_problem(kind, "dense", np.float64, True, n=5000)
    exact = loss_and_grads(unfused_data_loss, X, Y, s, w0, b0)
    single = loss_and_grads(fused_data_loss, X.astype(np.float32), Y, s,
                            w0.astype(np.float32), b0.astype(np.float32))
    for got, want in zip(single, exact):
        assert_close(got.data if isinstance(got, Tensor) else got,
                     want.data if isinstance(want, Tensor) else want, 2e-5)


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_fused_op_passes_gradcheck(kind, layout):
    X, Y, s, w0, b0 = make_problem(kind, layout, np.float64, True, n=40, d=5, k=3)
    gradcheck(lambda w, b: fused_data_loss(X, w, b, Y, s), w0, b0, atol=1e-8, rtol=1e-6)


def test_gradcheck_catches_a_wrong_saved_gradient(monkeypatch):
    import lograd.losses as losses

    X, Y, s, w0, b0 = make_problem("binary", "dense", np.float64, False, n=40, d=5)
    original = losses._dense_binary

    def off_by_a_factor(*args):
        loss, grad_w, grad_b = original(*args)
        return loss, 1.01 * grad_w, grad_b

    monkeypatch.setattr(losses, "_dense_binary", off_by_a_factor)
    with pytest.raises(AssertionError, match="input 0"):
        gradcheck(lambda w, b: fused_data_loss(X, w, b, Y, s), w0, b0, atol=1e-8, rtol=1e-6)


def test_backward_reuses_the_forward_pass_and_scales_by_upstream():
    X, Y, s, w0, b0 = make_problem("binary", "dense", np.float64, True)
    _, want_w, want_b = loss_and_grads(unfused_data_loss, X, Y, s, w0, b0)
    w, b = Tensor(w0, requires_grad=True), Tensor(b0, requires_grad=True)
    loss = 3.0 * fused_data_loss(X, w, b, Y, s) + 0.5 * (w * w).sum()
    X[:] = np.nan  # backward must not read X again: it reuses the gradient from the forward
    loss.backward()
    assert_close(w.grad, 3.0 * want_w + w0, 1e-10)
    assert_close(b.grad, 3.0 * want_b, 1e-10)


def test_forward_does_not_copy_x():
    X, Y, s, w0, b0 = make_problem("binary", "dense", np.float64, True, n=40_000, d=50)
    w, b = Tensor(w0, requires_grad=True), Tensor(b0, requires_grad=True)
    fused_data_loss(X, w, b, Y, s)  # warm up (compilation, caches)
    tracemalloc.start()
    fused_data_loss(X, w, b, Y, s).backward()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < X.nbytes / 10, f"peak {peak} bytes for X of {X.nbytes}"


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
def test_extreme_logits_stay_finite_and_exact(kind):
    X, Y, s, w0, b0 = make_problem(kind, "dense", np.float64, False, n=300)
    w0 = 300.0 * w0  # |z| in the thousands: exp(z) overflows, the losses must not
    fused = loss_and_grads(fused_data_loss, X, Y, s, w0, b0)
    unfused = loss_and_grads(unfused_data_loss, X, Y, s, w0, b0)
    assert np.isfinite(fused[0].item()) and fused[0].item() > 10
    for got, want in zip(fused, unfused):
        assert_close(got.data if isinstance(got, Tensor) else got,
                     want.data if isinstance(want, Tensor) else want, 1e-10)


def test_probability_targets_match_the_graph():
    X, _, s, w0, b0 = make_problem("multinomial", "csr", np.float64, True)
    Y = np.random.default_rng(1).dirichlet(np.ones(4), X.shape[0]) * 1.5  # rows sum to 1.5
    fused = loss_and_grads(fused_data_loss, X, Y, s, w0, b0)
    unfused = loss_and_grads(unfused_data_loss, X, Y, s, w0, b0)
    for got, want in zip(fused, unfused):
        assert_close(got.data if isinstance(got, Tensor) else got,
                     want.data if isinstance(want, Tensor) else want, 1e-10)


@pytest.mark.parametrize("n", [1, 3, 511, 513, 4099])
def test_any_number_of_rows_and_threads(n):
    X, Y, s, w0, b0 = make_problem("multinomial", "dense", np.float64, True, n=n)
    want = loss_and_grads(unfused_data_loss, X, Y, s, w0, b0)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = loss_and_grads(fused_data_loss, X, Y, s, w0, b0)
    finally:
        numba.set_num_threads(threads)
    for got, ref in zip(single, want):
        assert_close(got.data if isinstance(got, Tensor) else got,
                     ref.data if isinstance(ref, Tensor) else ref, 1e-10)


@pytest.mark.parametrize("n", [31, 32, 36, 67, 64 * 17 + 29])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 2])
def test_dense_binary_blocks_and_prefetch_at_every_row_count(n, dtype, threads):
    """The dense binary kernel goes in blocks of 32 rows and prefetches 64 rows ahead (clamped
    at the last rows of X); every row count around those sizes gives the graph's results."""
    X, Y, s, w0, b0 = make_problem("binary", "dense", dtype, False, n=n, d=100)
    want = loss_and_grads(unfused_data_loss, X, Y, s, w0, b0)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        got = loss_and_grads(fused_data_loss, X, Y, s, w0, b0)
    finally:
        numba.set_num_threads(before)
    for g, ref in zip(got, want):
        assert_close(g.data if isinstance(g, Tensor) else g,
                     ref.data if isinstance(ref, Tensor) else ref, RTOL[dtype])


def test_csr_with_64_bit_indices_and_unsorted_duplicates():
    X, Y, s, w0, b0 = make_problem("binary", "csr", np.float64, True)
    data, indices, indptr = [], [], [0]
    for i in range(X.shape[0]):  # each row's entries twice, the second time in reverse order
        row = slice(X.indptr[i], X.indptr[i + 1])
        data += [X.data[row], X.data[row][::-1]]
        indices += [X.indices[row], X.indices[row][::-1]]
        indptr.append(indptr[-1] + 2 * (row.stop - row.start))
    messy = sp.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr), X.shape)
    messy.indices, messy.indptr = messy.indices.astype(np.int64), messy.indptr.astype(np.int64)
    assert not messy.has_canonical_format
    fused = loss_and_grads(fused_data_loss, messy, Y, s, w0, b0)
    unfused = loss_and_grads(unfused_data_loss, 2 * X, Y, s, w0, b0)  # duplicates add up
    for got, want in zip(fused, unfused):
        assert_close(got.data if isinstance(got, Tensor) else got,
                     want.data if isinstance(want, Tensor) else want, 1e-10)


def test_mixed_dtypes_follow_the_parameters():
    X, Y, s, w0, b0 = make_problem("binary", "dense", np.float32, False)
    w, b = Tensor(w0.astype(np.float64), requires_grad=True), Tensor(b0.astype(np.float64),
                                                                     requires_grad=True)
    loss = fused_data_loss(X, w, b, Y, s)
    loss.backward()
    assert loss.dtype == w.grad.dtype == b.grad.dtype == np.float64


def test_no_grad_gives_the_value_without_a_graph():
    X, Y, s, w0, b0 = make_problem("binary", "dense", np.float64, True)
    w = Tensor(w0, requires_grad=True)
    with no_grad():
        loss = fused_data_loss(X, w, Tensor(b0), Y, s)
    assert loss.op is None and not loss.requires_grad
    assert_close(loss.data, unfused_data_loss(X, Tensor(w0), Tensor(b0), Y, s).data, 1e-10)


@pytest.mark.parametrize("bad, match", [
    (dict(Y=np.zeros(5)), r"Y has shape \(5,\)"),
    (dict(w0=np.zeros(4)), r"expected w \(13,\)"),
    (dict(s=np.ones(3)), r"sample_weight has shape \(3,\)"),
])
def test_shape_mismatches_name_the_argument(bad, match):
    X, Y, s, w0, b0 = make_problem("binary", "dense", np.float64, True)
    args = dict(Y=Y, s=s, w0=w0, b0=b0) | bad
    with pytest.raises(ValueError, match=match):
        fused_data_loss(X, Tensor(args["w0"]), Tensor(args["b0"]), args["Y"], args["s"])


def test_switch_names_both_forms():
    assert DATA_LOSSES == {"fused": fused_data_loss, "unfused": unfused_data_loss}


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_objective_gives_the_same_loss_and_gradient_with_either_form(kind, layout, dtype,
                                                                     fit_intercept):
    from tests.linear_support import linear_objective

    X, Y, s, *_ = make_problem(kind, layout, dtype, True)
    Y, s = Y.astype(dtype), s.astype(dtype)
    fused, unfused = (linear_objective(X, Y, s, alpha_l2=0.3, fit_intercept=fit_intercept,
                                       fused=f) for f in (True, False))
    theta = np.random.default_rng(2).standard_normal(fused.n_params).astype(dtype)
    batch = np.arange(0, X.shape[0], 7)  # a mini-batch, as the stochastic solvers ask for
    for rows in (None, batch):
        loss_f, grad_f = fused.loss_and_grad(theta, rows)
        loss_u, grad_u = unfused.loss_and_grad(theta, rows)
        assert grad_f.dtype == grad_u.dtype == dtype
        assert_close(loss_f, loss_u, RTOL[dtype])
        assert_close(grad_f, grad_u, RTOL[dtype])


@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_two_pass_kernel_for_wide_data(monkeypatch, weighted):
    import lograd.losses as losses

    monkeypatch.setattr(losses, "_SPARSE_ONE_PASS_MAX_BYTES", 0)  # every width takes two passes
    for dtype in (np.float64, np.float32):
        X, Y, s, w0, b0 = make_problem("binary", "csr", dtype, weighted)
        fused = loss_and_grads(fused_data_loss, X, Y, s, w0, b0)
        unfused = loss_and_grads(unfused_data_loss, X, Y, s, w0, b0)
        for got, want in zip(fused, unfused):
            assert_close(got.data if isinstance(got, Tensor) else got,
                         want.data if isinstance(want, Tensor) else want, RTOL[dtype])
