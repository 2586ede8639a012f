"""Training on dask arrays: the dask op equals the fused op, a dask fit equals a NumPy fit."""


import numpy as np
import pytest

da = pytest.importorskip("dask.array")

from tests.linear_support import dask_linear_loss as dask_data_loss  # noqa: E402

import dask_support  # noqa: E402
import lograd  # noqa: E402
from lograd import Tensor, gradcheck, losses  # noqa: E402
from lograd.errors import UserError  # noqa: E402

rng = np.random.default_rng(7)


def make_data(n=600, d=5, k=2, seed=0):
    """Overlapping Gaussian classes (finite optimum), labels 0..k-1."""
    r = np.random.default_rng(seed)
    y = r.integers(0, k, n)
    centers = r.normal(size=(k, d))
    X = centers[y] + 1.5 * r.normal(size=(n, d))
    return X, y


def one_hot(y, k):
    return np.eye(k)[y]


def both_losses(X, Xd, w0, b0, Y, Yd, s=None, sd=None):
    """(loss, dL/dw, dL/db) from the fused op on X and the dask op on Xd."""
    results = []
    for fn, data, target, weight in ((losses.fused_data_loss, X, Y, s),
                                     (dask_data_loss, Xd, Yd, sd)):
        w, b = Tensor(w0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)
        loss = fn(data, w, b, target, weight)
        loss.backward()
        results.append((loss.item(), w.grad, b.grad))
    return results


@pytest.mark.parametrize("multinomial", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_dask_op_equals_fused_op(multinomial, weighted):
    X, y = make_data(n=700, d=6, k=3 if multinomial else 2)
    Y = one_hot(y, 3) if multinomial else y.astype(float)
    s = rng.uniform(0.1, 2.0, len(y)) if weighted else None
    w0 = rng.normal(size=(6, 3) if multinomial else 6)
    b0 = rng.normal(size=3 if multinomial else ())
    # uneven row chunks, two column chunks (merged by the op), targets chunked differently
    Xd = da.from_array(X, chunks=((250, 250, 200), (4, 2)))
    Yd = da.from_array(Y, chunks=100 if multinomial else 333)
    sd = None if s is None else da.from_array(s, chunks=350)
    (l_ref, gw_ref, gb_ref), (l_dask, gw_dask, gb_dask) = both_losses(X, Xd, w0, b0, Y, Yd, s, sd)
    assert l_dask == pytest.approx(l_ref, rel=1e-12)
    np.testing.assert_allclose(gw_dask, gw_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gb_dask, gb_ref, rtol=1e-12, atol=1e-14)


def test_dask_op_accepts_numpy_targets_and_float32():
    X, y = make_data(n=300, d=4)
    X32 = X.astype(np.float32)
    Xd = da.from_array(X32, chunks=(128, 4))
    w0, b0 = rng.normal(size=4).astype(np.float32), np.array(0.2, dtype=np.float32)
    s = rng.uniform(0.5, 1.5, 300)
    (l_ref, gw_ref, gb_ref), (l_dask, gw_dask, gb_dask) = both_losses(
        X32, Xd, w0, b0, y.astype(float), y.astype(float), s, s)
    assert gw_dask.dtype == np.float32
    assert l_dask == pytest.approx(l_ref, rel=1e-5)
    np.testing.assert_allclose(gw_dask, gw_ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gb_dask, gb_ref, rtol=1e-4, atol=1e-6)


def test_dask_op_passes_gradcheck():
    X, y = make_data(n=60, d=3, k=2)
    Xd = da.from_array(X, chunks=(25, 3))
    Y3 = one_hot(make_data(n=60, d=3, k=3)[1], 3)
    s = da.from_array(rng.uniform(0.1, 2.0, 60), chunks=25)
    gradcheck(lambda w, b: dask_data_loss(Xd, w, b, y.astype(float), None),
              rng.normal(size=3), rng.normal(size=()), atol=1e-7, rtol=1e-6)
    gradcheck(lambda w, b: dask_data_loss(Xd, w, b, Y3, s),
              rng.normal(size=(3, 3)), rng.normal(size=3), atol=1e-7, rtol=1e-6)


def test_one_evaluation_reads_every_block_once(monkeypatch):
    import lograd.backends.dask as lograd_dask

    calls = []

    def counting_block_sums(model, arrays, X, *args):
        calls.append(X.shape[0])
        return block_sums(model, arrays, X, *args)

    block_sums = lograd_dask._block_sums
    monkeypatch.setattr(lograd_dask, "_block_sums", counting_block_sums)
    X, y = make_data(n=500, d=3)
    w, b = Tensor(np.zeros(3), requires_grad=True), Tensor(np.zeros(()), requires_grad=True)
    loss = dask_data_loss(da.from_array(X, chunks=(120, 3)), w, b, y.astype(float))
    loss.backward()  # the gradient was saved by the forward: no second pass
    assert sorted(calls) == [20, 120, 120, 120, 120]
    assert loss.item() == pytest.approx(np.log(2.0), rel=1e-14)  # z = 0: log(1 + e^0)


def fit_both(X, y, chunks, **params):
    reference = lograd.LogisticRegression(**params).fit(X, y)
    Xd = da.from_array(X, chunks=(chunks, X.shape[1]))
    on_dask = lograd.LogisticRegression(**params).fit(Xd, da.from_array(y, chunks=chunks))
    return reference, on_dask, Xd


def assert_same_model(reference, on_dask, rtol):
    dask_support.assert_same_model(reference, on_dask, rtol, same_n_iter=True)


@pytest.mark.parametrize("k", [2, 3])
def test_gd_fit_on_dask_equals_numpy_fit(k):
    X, y = make_data(n=800, k=k, seed=k)
    reference, on_dask, Xd = fit_both(X, y, 300, solver="gd", learning_rate=0.5, tol=0,
                                      max_iter=20)
    assert_same_model(reference, on_dask, 1e-10)
    np.testing.assert_allclose(on_dask.loss_curve_, reference.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("k", [2, 4])
def test_lbfgs_fit_on_dask_equals_numpy_fit(k):
    X, y = make_data(n=900, k=k, seed=10 + k)
    labels = np.array(["ant", "bee", "cat", "dog"])[y]  # string labels go through classes_
    reference, on_dask, Xd = fit_both(X, labels, 250, solver="lbfgs", C=0.5, max_iter=200,
                                      tol=1e-8)
    assert_same_model(reference, on_dask, 1e-8)
    predicted = on_dask.predict(Xd)
    assert isinstance(predicted, da.Array)
    np.testing.assert_array_equal(predicted.compute(), reference.predict(X))


@pytest.mark.parametrize("k", [2, 3])
def test_predictions_are_lazy_and_equal_numpy_ones(k):
    X, y = make_data(n=500, k=k, seed=20 + k)
    reference, on_dask, Xd = fit_both(X, y, 128, solver="lbfgs", max_iter=100)
    for method in ("decision_function", "predict_proba", "predict_log_proba", "predict"):
        lazy = getattr(on_dask, method)(Xd)
        assert isinstance(lazy, da.Array), method
        expected = getattr(reference, method)(X)
        assert lazy.shape == expected.shape, method
        np.testing.assert_allclose(lazy.compute(), expected, rtol=1e-7, atol=1e-9,
                                   err_msg=method)
    assert on_dask.score(Xd, da.from_array(y, chunks=128)) == reference.score(X, y)


def test_auto_learning_rate_from_dask_gram_equals_numpy():
    X, y = make_data(n=400, k=3, seed=3)
    for fit_intercept in (True, False):
        params = dict(solver="gd", max_iter=3, tol=0, fit_intercept=fit_intercept)
        reference, on_dask, _ = fit_both(X, y, 150, **params)
        assert on_dask.learning_rate_ == pytest.approx(reference.learning_rate_, rel=1e-12)
        assert_same_model(reference, on_dask, 1e-10)


def test_warm_start_and_numpy_labels_with_dask_X():
    X, y = make_data(n=300, seed=5)
    Xd = da.from_array(X, chunks=(100, 5))
    model = lograd.LogisticRegression(solver="gd", learning_rate=0.5, tol=0, max_iter=10,
                                      warm_start=True)
    reference = lograd.LogisticRegression(solver="gd", learning_rate=0.5, tol=0, max_iter=20)
    model.fit(Xd, y).fit(Xd, y)  # y stays NumPy: cut like X's rows
    reference.fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-10)


def test_bad_dask_input_raises_user_error():
    X, y = make_data(n=100)
    model = lograd.LogisticRegression()
    with pytest.raises(UserError, match="dtype int64"):
        model.fit(da.from_array(X.astype(np.int64), chunks=(50, 5)), y)
    with pytest.raises(UserError, match=r"y has shape \(99,\)"):
        model.fit(da.from_array(X, chunks=(50, 5)), y[:99])
    with pytest.raises(UserError, match="2-D"):
        model.fit(da.from_array(X[:, 0], chunks=50), y)
    with pytest.raises(UserError, match="at least 2 classes"):
        model.fit(da.from_array(X, chunks=(50, 5)), np.zeros(100))
    model.fit(da.from_array(X, chunks=(50, 5)), y)
    with pytest.raises(UserError, match="fitted on 5 features"):
        model.predict(da.from_array(X[:, :4], chunks=(50, 4)))


@pytest.fixture(scope="module")
def distributed_client():
    pytest.importorskip("distributed")
    with dask_support.local_cluster_client() as client:
        yield client


@pytest.mark.parametrize("k", [2, 3])
def test_fit_on_a_distributed_cluster_equals_numpy_fit(distributed_client, k):
    X, y = make_data(n=1000, k=k, seed=30 + k)
    params = dict(solver="gd", learning_rate=0.5, tol=0, max_iter=20)
    reference, on_dask, Xd = fit_both(X, y, 250, **params)
    assert_same_model(reference, on_dask, 1e-10)
    reference, on_dask, Xd = fit_both(X, y, 250, solver="lbfgs", max_iter=200, tol=1e-8)
    assert_same_model(reference, on_dask, 1e-8)
    np.testing.assert_array_equal(on_dask.predict(Xd).compute(), reference.predict(X))


def test_stochastic_fit_on_a_cluster_equals_the_threaded_scheduler_fit(distributed_client):
    """The chained block tasks carry their random state: the scheduler does not matter."""
    import dask

    X, y = make_data(n=1200, k=3, seed=40)
    s = rng.uniform(0.0, 2.0, len(y))
    params = dict(solver="sgd", learning_rate=0.05, momentum=0.5, max_iter=8, tol=0,
                  class_weight="balanced", early_stopping=True, n_iter_no_change=50,
                  random_state=4)
    Xd, sd = da.from_array(X, chunks=(300, 5)), da.from_array(s, chunks=300)
    on_cluster = lograd.LogisticRegression(**params).fit(Xd, y, sample_weight=sd)
    with dask.config.set(scheduler="threads"):
        threaded = lograd.LogisticRegression(**params).fit(Xd, y, sample_weight=sd)
    np.testing.assert_allclose(on_cluster.coef_, threaded.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(on_cluster.loss_curve_, threaded.loss_curve_, rtol=1e-12)
    assert on_cluster.validation_scores_ == threaded.validation_scores_
    assert len(on_cluster.validation_scores_) == 8
