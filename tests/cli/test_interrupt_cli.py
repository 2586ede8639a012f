"""Ctrl-C at any moment: "interrupted" on stderr, exit status 130, no traceback, nothing written.

Each test starts ``lograd train`` in a session of its own and sends SIGINT to its whole process
group, as a terminal's Ctrl-C does (Dask's workers included), at a moment it has observed:
while the heavy modules are imported, during a gradient-descent fit in memory, and during a
fit on a local Dask cluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")

WAIT = 120  # seconds: generous bounds on a loaded machine, never a timing assertion


def start(tmp_path, *args):
    return subprocess.Popen([sys.executable, "-m", "lograd", "train", *map(str, args)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def wait_until(condition, process):
    deadline = time.monotonic() + WAIT
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the moment to interrupt never came"
        time.sleep(0.005)


def first_progress_line(process) -> str:
    """Read stderr up to the first progress line (the fit is under way)."""
    for line in process.stderr:
        if line.startswith("iteration 1/"):
            return line
    raise AssertionError(process.communicate())


def interrupt(process) -> tuple[str, str]:
    os.killpg(process.pid, signal.SIGINT)
    try:
        out, err = process.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return out, err


def assert_interrupted(process, err, tmp_path):
    assert process.returncode == 130, (process.returncode, err)
    assert "Traceback" not in err and "Error" not in err, err
    lines = [line for line in err.splitlines() if not line.startswith("iteration ")]
    assert lines == ["lograd train: interrupted"], err
    left = [p.name for p in tmp_path.iterdir() if p.suffix != ".npz"]
    assert not left, left  # no model, no report, no temporary file


def loaded(pid, library):
    with open(f"/proc/{pid}/maps") as f:
        return library in f.read()


def write_data(path, n, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X[:, 0] + rng.standard_normal(n) > 0).astype(np.int64)
    np.savez(path, X=X, y=y)
    return path


def test_ctrl_c_while_importing(tmp_path):
    process = start(tmp_path, "-o", "m.lograd")
    wait_until(lambda: loaded(process.pid, "numpy"), process)  # deep in the imports
    _, err = interrupt(process)
    assert_interrupted(process, err, tmp_path)


def test_ctrl_c_during_a_gradient_descent_fit(tmp_path):
    """The kernel (numba) runs most of each iteration: a Ctrl-C there used to surface as a
    SystemError traceback, after the progress bar jumped to 100 %."""
    data = write_data(tmp_path / "d.npz", 200_000)
    process = start(tmp_path, data, "--solver", "gd", "--tol", "0", "--max-iter", "1000000",
                    "-o", "m.lograd", "--report", "r.html")
    first_progress_line(process)
    time.sleep(0.5)  # well inside the fit
    _, err = interrupt(process)
    assert_interrupted(process, err, tmp_path)


def test_ctrl_c_during_a_fit_on_a_local_dask_cluster(tmp_path):
    data = write_data(tmp_path / "d.npz", 4000, d=5)
    process = start(tmp_path, data, "--solver", "gd", "--tol", "0", "--max-iter", "1000000",
                    "--dask", "local:2", "-o", "m.lograd")
    first_progress_line(process)
    _, err = interrupt(process)
    assert_interrupted(process, err, tmp_path)
