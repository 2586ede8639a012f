"""Helpers shared by the Dask test files (not a test module)."""

import contextlib
import logging
import os
import signal
import warnings

import numpy as np


def assert_same_model(reference, on_dask, rtol, same_n_iter=False):
    """coef_/intercept_ equal to ``rtol`` (relative to the largest coefficient), same classes."""
    scale = np.abs(reference.coef_).max()
    np.testing.assert_allclose(on_dask.coef_, reference.coef_, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(on_dask.intercept_, reference.intercept_, rtol=rtol,
                               atol=rtol * scale)
    np.testing.assert_array_equal(on_dask.classes_, reference.classes_)
    if same_n_iter:
        assert on_dask.n_iter_ == reference.n_iter_


@contextlib.contextmanager
def local_cluster_client(n_workers=2):
    """A ``distributed.Client`` on a fresh LocalCluster of worker processes, closed at exit."""
    import distributed

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "Port 8787 is already in use"
        cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                           processes=True, dashboard_address=None,
                                           silence_logs=logging.CRITICAL)
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


class KillOneWorker:
    """A callback that SIGKILLs the worker process holding the most data at ``iteration``."""

    def __init__(self, client, iteration):
        self.client, self.iteration = client, iteration
        self.victim, self.keys_lost = None, 0

    def __call__(self, info):
        if info["iteration"] != self.iteration:
            return False
        pids = self.client.run(os.getpid)  # {worker address: pid}
        held = self.client.has_what()
        address = max(pids, key=lambda a: len(held.get(a, ())))
        self.victim, self.keys_lost = pids[address], len(held.get(address, ()))
        os.kill(self.victim, signal.SIGKILL)
        return False
