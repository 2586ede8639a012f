"""The Dask cluster of one run: started (``local:N``) or reached (``tcp://HOST:PORT``)."""

from __future__ import annotations

import contextlib
import os
import re
import sys

from lograd.errors import UserError

CONNECT_TIMEOUT = 10  # seconds to reach a tcp:// scheduler
DEFAULT_LOCAL_WORKERS = 2
_TCP = re.compile(r"^tcp://[^\s:/]+:\d{1,5}$")


def parse_address(text: str) -> tuple:
    """``("local", n_workers)`` for ``local[:N]``, ``("tcp", address)`` for ``tcp://HOST:PORT``.

    Raises
    ------
    ValueError
        Saying what was expected.
    """
    kind, _, count = text.partition(":")
    if kind == "local":
        if not count:
            return "local", DEFAULT_LOCAL_WORKERS
        try:
            workers = int(count)
        except ValueError:
            raise ValueError(f"must be a whole number, got {count!r}") from None
        if workers < 1:
            raise ValueError(f"must be >= 1, got {count!r}")
        return "local", workers
    if _TCP.match(text):
        port = int(text.rsplit(":", 1)[1])
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is out of range (1 to 65535) in {text!r}")
        return "tcp", text
    raise ValueError(f"must be 'local', 'local:N' or 'tcp://HOST:PORT', got {text!r}")


@contextlib.contextmanager
def cluster(spec, uninterruptible=contextlib.nullcontext, timeout: float = CONNECT_TIMEOUT):
    """A ``distributed.Client`` of ``spec`` (see :func:`parse_address`), closed at the end;
    nothing for ``spec`` None, False or True (True: whatever client or scheduler is current).
    While it is open, dask computations run on its cluster.

    ``uninterruptible()`` is a context manager around starting a local cluster, which Ctrl-C
    should not cut in the middle (the CLI defers Ctrl-C to its end).
    """
    if not isinstance(spec, str):
        yield None
        return
    try:
        kind, value = parse_address(spec)
    except ValueError as exc:
        raise UserError(f"`dask` {spec}: {exc}") from None
    import logging

    from distributed import Client, LocalCluster

    for name in ("distributed", "tornado"):  # their connection warnings are not the user's
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if kind == "local":
        with contextlib.ExitStack() as stack:
            with uninterruptible(), _children_write_no_stderr():
                local = stack.enter_context(LocalCluster(
                    n_workers=value, threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=logging.CRITICAL,
                    preload=["lograd.workflows._dask_worker"]))  # the workers ignore Ctrl-C
            yield stack.enter_context(Client(local))
        return
    try:
        client = Client(value, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise UserError(f"`dask` {value}: no Dask scheduler answered within {timeout:g} s "
                        f"({' '.join(str(exc).split()) or type(exc).__name__})") from None
    with client:
        yield client


@contextlib.contextmanager
def _children_write_no_stderr():
    """Processes started inside (the workers) get /dev/null as their stderr: a Ctrl-C while
    they start, before they ignore it, would print their tracebacks. Their errors reach this
    process through the scheduler; this process's own stderr is back at the end."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
