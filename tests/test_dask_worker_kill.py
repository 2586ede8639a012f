"""A worker process SIGKILLed in the middle of a Dask fit: the fit completes, and its
coefficients are the NumPy fit's, because Dask recomputes the blocks the worker held."""

import concurrent.futures
import os
import signal
import threading
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask_support  # noqa: E402
import lograd  # noqa: E402
from dask_support import KillOneWorker  # noqa: E402

FIT_TIMEOUT = 180  # seconds; the fit takes a few


def make_data(n=6000, d=8, seed=0):
    r = np.random.default_rng(seed)
    y = r.integers(0, 2, n)
    X = r.normal(size=(2, d))[y] + 1.5 * r.normal(size=(n, d))
    return X, y


@pytest.fixture
def cluster_client():
    """A fresh 2-process LocalCluster (not shared: this test kills one of its workers)."""
    with dask_support.local_cluster_client() as client:
        yield client


@pytest.mark.slow  # ~15 s alone, 35 s on a busy machine: a worker restart is slow to see
def test_fit_completes_with_the_same_coefficients_after_a_worker_is_killed(cluster_client):
    X, y = make_data()
    params = dict(solver="gd", learning_rate=0.5, tol=0, max_iter=60)
    reference = lograd.LogisticRegression(**params).fit(X, y)
    # from_array: the blocks are in the graph, so the scheduler can recompute lost ones
    Xd, yd = da.from_array(X, chunks=(1000, 8)), da.from_array(y, chunks=1000)
    killer = KillOneWorker(cluster_client, iteration=10)
    model = lograd.LogisticRegression(callbacks=killer, **params)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        start = time.perf_counter()
        pool.submit(model.fit, Xd, yd).result(timeout=FIT_TIMEOUT)
        seconds = time.perf_counter() - start
    assert killer.victim is not None and killer.keys_lost > 0  # it held persisted blocks
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-10, atol=0)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-10, atol=0)
    np.testing.assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=1e-12)
    assert model.n_iter_ == 60
    # the kill did happen: the nanny started a new worker process in its place
    cluster_client.wait_for_workers(2, timeout=60)
    pids = set(cluster_client.run(os.getpid).values())
    assert killer.victim not in pids and len(pids) == 2
    print(f"fit with a killed worker: {seconds:.1f} s, {killer.keys_lost} keys lost")


@pytest.mark.slow
def test_sgd_epoch_chain_survives_a_worker_killed_mid_epoch(cluster_client):
    """The chained block tasks work on copies of the solver and random state, so the ones
    recomputed after the kill give the same parameters as an undisturbed run."""
    import dask

    X, y = make_data(n=40000, seed=1)
    Xd = da.from_array(X, chunks=(4000, 8))
    params = dict(solver="sgd", learning_rate=0.05, momentum=0.5, max_iter=5, tol=0,
                  random_state=0)
    with dask.config.set(scheduler="threads"):  # the undisturbed run, in this process
        reference = lograd.LogisticRegression(**params).fit(Xd, y)
    victim = next(iter(cluster_client.run(os.getpid).values()))

    def kill_during_epoch_3(info):
        if info["iteration"] == 2:  # epochs last ~0.5 s: the kill lands inside the next one
            threading.Timer(0.2, os.kill, (victim, signal.SIGKILL)).start()
        return False

    model = lograd.LogisticRegression(callbacks=kill_during_epoch_3, **params)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(model.fit, Xd, y).result(timeout=FIT_TIMEOUT)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12, atol=0)
    np.testing.assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=1e-12)
    cluster_client.wait_for_workers(2, timeout=60)
    assert victim not in set(cluster_client.run(os.getpid).values())
