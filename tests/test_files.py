"""lograd.files.atomic: one atomic writer for every file lograd writes, and its clean-up after
a kill."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.datasets import load_iris

from lograd import Tensor
from lograd.estimators import persistence
from lograd.estimators.logistic import LogisticRegression
from lograd.files import atomic as files
from lograd.files import model_files
from lograd.files.checkpoints import Checkpoint
from lograd.lectures.drawing import draw_graph
from lograd.report import html as report_html
from lograd.report import write_report


@pytest.fixture(scope="module")
def model():
    X, y = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=200).fit(X, y)


def _writers(model):
    """name -> write(directory): each of lograd's writers writing one file into directory."""
    def report(directory):  # the page itself is tests/test_report.py's business
        write_report(directory / "r.html")

    def graph(directory):
        w = Tensor(np.ones(2), requires_grad=True)
        draw_graph((w * w).sum(), directory / "g.svg")

    def checkpoint(directory):
        Checkpoint(directory, {"n": 1}).save({"iteration": 1, "complete": False,
                                              "theta": np.zeros(3)})

    def predictions(directory):  # the CLI's predictions, JSON metrics
        with model_files.atomic_write(directory / "p.csv", "w", what="--output") as f:
            f.write("label\n")

    return {"model file": lambda d: persistence.save(model, d / "m.lograd"),
            "checkpoint": checkpoint, "report": report, "graph": graph,
            "predictions and JSON": predictions}


@pytest.mark.parametrize("writer", ["model file", "checkpoint", "report", "graph",
                                    "predictions and JSON"])
def test_every_writer_syncs_the_file_and_its_directory(model, tmp_path, monkeypatch, writer):
    monkeypatch.setattr(report_html, "build_report", lambda **fields: "<html></html>")
    synced, real_fsync = [], os.fsync

    def recording_fsync(fd):
        synced.append("directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    _writers(model)[writer](tmp_path)
    assert synced[-2:] == ["file", "directory"], synced  # the data, then the rename
    assert [name for name in os.listdir(tmp_path) if name.startswith(".")] == []


HOST = getattr(files, "_HOST", "00000000")  # this machine's tag in our temporary files' names


def _temporary(directory, name, host, pid):
    path = directory / f".{name}.{host}-{pid}-abc123.lograd-tmp"
    path.write_bytes(b"half a file")
    return path


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_temporary_files_of_killed_writes_are_removed_on_the_next_write(model, tmp_path):
    killed = _temporary(tmp_path, "m.lograd", HOST, _dead_pid())
    running = _temporary(tmp_path, "m.lograd", HOST, os.getpid())
    elsewhere_fresh = _temporary(tmp_path, "m.lograd", "0badc0de", 1)
    elsewhere_old = _temporary(tmp_path, "x.csv", "0badc0de", 1)
    hour_ago = time.time() - getattr(files, "STALE_SECONDS", 3600) - 60
    os.utime(elsewhere_old, (hour_ago, hour_ago))
    not_ours = tmp_path / ".m.lograd.abc123.tmp"
    not_ours.write_bytes(b"someone else's")
    persistence.save(model, tmp_path / "other.lograd")
    assert not killed.exists() and not elsewhere_old.exists()
    assert running.exists() and elsewhere_fresh.exists() and not_ours.exists()


def test_a_write_killed_part_way_leaves_a_file_the_next_write_removes(model, tmp_path):
    """SIGKILL in the middle of a write (as a user's kill -9 or the OOM killer would): the
    target is untouched, and the temporary file left behind goes with the next write."""
    target = tmp_path / "m.lograd"
    persistence.save(model, target)
    before = target.read_bytes()
    script = (f"from lograd.files import model_files\n"
              f"with model_files.atomic_write({str(target)!r}) as f:\n"
              f"    f.write(b'half a model'); f.flush()\n"
              f"    print('writing', flush=True); import time; time.sleep(60)\n")
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "writing\n"
    process.send_signal(signal.SIGKILL)
    process.wait()
    left = [name for name in os.listdir(tmp_path) if name != "m.lograd"]
    assert len(left) == 1 and left[0].startswith(".m.lograd.")
    assert target.read_bytes() == before
    persistence.save(model, tmp_path / "another.lograd")  # any write into the directory
    assert sorted(os.listdir(tmp_path)) == ["another.lograd", "m.lograd"]


def test_a_concurrent_writers_temporary_file_is_left_alone(model, tmp_path):
    with model_files.atomic_write(tmp_path / "slow.csv", "w") as f:
        f.write("label\n")
        persistence.save(model, tmp_path / "m.lograd")  # another write while this one runs
        (in_flight,) = [name for name in os.listdir(tmp_path) if name.startswith(".slow.csv.")]
        assert (tmp_path / in_flight).exists()
    assert sorted(os.listdir(tmp_path)) == ["m.lograd", "slow.csv"]
