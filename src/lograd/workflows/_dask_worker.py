"""Preloaded into the worker processes of a local Dask cluster (distributed's ``preload``).

Ctrl-C in a terminal reaches the whole process group, workers included; only the process that
started the cluster should act on it (it closes the cluster), so workers ignore SIGINT.
"""

import signal


def dask_setup(worker) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker's main thread runs this
