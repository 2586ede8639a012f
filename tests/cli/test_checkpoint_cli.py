"""`lograd train --checkpoint DIR`: SIGKILLed part-way, rerun, the same model bit for bit."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from lograd.estimators import persistence
from lograd.files.checkpoints import read_meta

MAX_ITER = 150
KILL_AFTER = 20  # SIGKILL once the checkpoint holds at least this many iterations


def write_data(path, n=40_000, d=20):
    """A CSV large enough that 150 gd iterations take a couple of seconds."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    logit = X @ rng.standard_normal(d) / 2
    frame = pd.DataFrame(X.round(6), columns=[f"x{i}" for i in range(d)])
    frame["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame.to_csv(path, index=False)
    return path


def train_args(data, max_iter=MAX_ITER):
    return ["train", data, "--target", "y", "--solver", "gd", "--learning-rate", "0.5",
            "--tol", "0", "--max-iter", max_iter]


def wait_for_checkpoint(directory, process, at_least, timeout=300):
    """Poll the checkpoint's meta until it holds ``at_least`` iterations; its iteration."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        meta = read_meta(directory) if directory.exists() else None
        if meta is not None and meta["iteration"] >= at_least:
            return meta["iteration"]
        assert process.poll() is None, "the training ended before it could be killed"
        time.sleep(0.01)
    raise AssertionError(f"no checkpoint with {at_least} iterations after {timeout} s")


def fitted(path):
    model = persistence.load(path)
    return model.steps[-1][1] if hasattr(model, "steps") else model


@pytest.mark.slow  # four runs of the CLI on 40000 rows: about 10 s, more on a busy machine
def test_sigkill_then_the_same_command_ends_with_the_uninterrupted_model(lograd, tmp_path):
    data = write_data(tmp_path / "data.csv")
    reference = lograd(*train_args(data), "-q", "-o", tmp_path / "reference.lograd")
    assert reference.returncode == 0, reference.stderr

    directory, output = tmp_path / "checkpoints", tmp_path / "model.lograd"
    command = [*train_args(data), "-o", output, "--checkpoint", directory,
               "--checkpoint-every", "5"]
    process = subprocess.Popen([sys.executable, "-m", "lograd", *map(str, command)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_checkpoint(directory, process, KILL_AFTER)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    meta = read_meta(directory)
    assert not meta["complete"] and KILL_AFTER <= meta["iteration"] < MAX_ITER
    assert meta["iteration"] % 5 == 0
    assert not output.exists()

    resumed = lograd(*command)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {directory} at iteration {meta['iteration']}" in resumed.stdout
    assert f"trained in {MAX_ITER} iterations" in resumed.stdout
    ours, theirs = fitted(output), fitted(tmp_path / "reference.lograd")
    assert np.array_equal(ours.coef_, theirs.coef_)
    assert np.array_equal(ours.intercept_, theirs.intercept_)
    assert ours.n_iter_ == theirs.n_iter_ == MAX_ITER
    assert ours.loss_curve_ == theirs.loss_curve_
    assert read_meta(directory)["complete"]

    # Once more: the finished checkpoint is reused, nothing is trained again.
    output.unlink()
    again = lograd(*command)
    assert again.returncode == 0, again.stderr
    assert f"checkpoint {directory} holds the finished fit" in again.stdout
    assert not [line for line in again.stderr.splitlines() if line.startswith("iteration")]
    assert np.array_equal(fitted(output).coef_, theirs.coef_)


@pytest.fixture
def small_checkpoint(lograd, csv_files, tmp_path):
    """A finished checkpoint of a small gd fit, and the command that wrote it."""
    train, _ = csv_files
    directory = tmp_path / "ck"
    command = ["train", train, "--target", "label", "--solver", "gd", "-q",
               "-o", tmp_path / "m.lograd", "--checkpoint", directory]
    result = lograd(*command)
    assert result.returncode == 0, result.stderr
    return directory, command


def test_a_checkpoint_of_another_fit_is_one_error_line_and_kept(lograd, user_error,
                                                               small_checkpoint):
    directory, command = small_checkpoint
    before = (directory / "checkpoint.npz").read_bytes()
    result = lograd(*command, "--max-iter", "50")
    user_error(result, f"checkpoint {directory} holds the state of a different fit",
               "--max-iter 50, the checkpoint's 100", "nothing was changed")
    assert (directory / "checkpoint.npz").read_bytes() == before


def test_checkpoint_options_are_checked(lograd, user_error, csv_files, tmp_path):
    train, _ = csv_files
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    result = lograd("train", train, "--target", "label", "--checkpoint", not_a_directory,
                    "-o", tmp_path / "m.lograd")
    user_error(result, f"checkpoint {not_a_directory}: not a directory")
    result = lograd("train", train, "--target", "label", "--checkpoint", tmp_path / "ck",
                    "--checkpoint-every", "0")
    assert result.returncode == 2 and "--checkpoint-every" in result.stderr
