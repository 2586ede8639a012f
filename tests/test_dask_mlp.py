"""MLPClassifier on Dask: the network's loss and gradient summed over row blocks on the workers."""

import concurrent.futures
import os
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask_support  # noqa: E402
from dask_support import KillOneWorker  # noqa: E402
from lograd import MLPClassifier  # noqa: E402

FIT_TIMEOUT = 180


def make_data(n=900, d=4, k=2, seed=0):
    r = np.random.default_rng(seed)
    y = r.integers(0, k, n)
    X = r.normal(size=(k, d))[y] + r.normal(size=(n, d))
    return X, y


def chunked(X, y, rows):
    return da.from_array(X, chunks=(rows, X.shape[1])), da.from_array(y, chunks=rows)


def fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(**params).fit(X, y)


def assert_same_network(a, b, rtol):
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(u, v, rtol=rtol, atol=rtol * np.abs(u).max())


@pytest.mark.parametrize("k", [2, 3])
def test_gd_with_a_fixed_step_equals_the_in_memory_fit(k):
    X, y = make_data(k=k)
    params = dict(hidden_layer_sizes=(6, 3), activation="tanh", solver="gd",
                  learning_rate_init=0.3, max_iter=40, tol=0.0, alpha=1e-3, random_state=0)
    assert_same_network(fit(X, y, **params), fit(*chunked(X, y, 200), **params), rtol=1e-10)


@pytest.mark.parametrize("k", [2, 3])
def test_the_blocks_sum_to_the_in_memory_loss_and_gradient(k):
    from lograd.backends import dask as dask_backend
    from lograd.models.mlp import MLP, initial_parameters
    from lograd.models.targets import encode
    from lograd.objective import Objective

    X, y = make_data(k=k)
    Y = encode(y, np.arange(k), np.float64)
    s = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    model = MLP(X.shape[1], (5, 3), 1 if k == 2 else k, "relu")
    theta = model.pack(initial_parameters(model, "glorot", np.random.RandomState(0),
                                          np.float64), np.float64)
    memory = Objective(model, X, Y, s, alpha_l2=0.01, l2_per_batch=True)
    blocks = dask_backend.BlockObjective(
        model, da.from_array(X, chunks=(200, X.shape[1])),
        da.from_array(Y, chunks=(200,) + Y.shape[1:]), da.from_array(s, chunks=200),
        alpha_l2=0.01, l2_per_batch=True)
    (loss_m, grad_m), (loss_b, grad_b) = memory.loss_and_grad(theta), blocks.loss_and_grad(theta)
    assert loss_b == pytest.approx(loss_m, rel=1e-12)
    np.testing.assert_allclose(grad_b, grad_m, rtol=1e-10, atol=1e-14)


def test_lbfgs_on_blocks_reaches_the_in_memory_loss():
    X, y = make_data()
    params = dict(hidden_layer_sizes=(4,), activation="tanh", solver="lbfgs", alpha=0.1,
                  max_iter=300, tol=1e-9, random_state=0)
    memory, blocks = fit(X, y, **params), fit(*chunked(X, y, 300), **params)
    assert blocks.loss_ == pytest.approx(memory.loss_, rel=1e-4)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_stochastic_solvers_run_over_the_blocks(solver):
    X, y = make_data()
    params = dict(hidden_layer_sizes=(5,), solver=solver, learning_rate_init=0.05,
                  max_iter=15, random_state=0)
    # one block: the epoch is the in-memory epoch (same shuffles, same batches)
    assert_same_network(fit(X, y, **params), fit(*chunked(X, y, len(y)), **params), rtol=1e-9)
    model = fit(*chunked(X, y, 300), **params)
    assert model.score(X, y) > 0.8 and len(model.loss_curve_) == model.n_iter_ + 1


def test_predictions_are_lazy_and_equal_the_in_memory_ones():
    X, y = make_data(k=3)
    model = fit(X, y, hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    Xd, _ = chunked(X, y, 250)
    np.testing.assert_allclose(model.predict_proba(Xd).compute(), model.predict_proba(X),
                               rtol=1e-12)
    assert (model.predict(Xd).compute() == model.predict(X)).all()


@pytest.mark.slow
def test_a_killed_worker_does_not_change_the_network():
    X, y = make_data(n=6000, d=8)
    params = dict(hidden_layer_sizes=(8,), activation="tanh", solver="gd",
                  learning_rate_init=0.5, max_iter=30, tol=0.0, random_state=0)
    reference = fit(X, y, **params)
    with dask_support.local_cluster_client() as client:
        killer = KillOneWorker(client, iteration=8)
        Xd, yd = chunked(X, y, 1000)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            model = pool.submit(fit, Xd, yd, callbacks=killer, **params).result(
                timeout=FIT_TIMEOUT)
        assert killer.victim is not None
        client.wait_for_workers(2, timeout=60)
        assert killer.victim not in set(client.run(os.getpid).values())
    assert_same_network(reference, model, rtol=1e-10)
