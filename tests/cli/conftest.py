"""Helpers for driving ``lograd`` as a subprocess, and small data files to drive it with."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest


def run_lograd(*args, cwd=None, timeout=180):
    """``python -m lograd ARGS`` as a user would run it; returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "lograd", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def assert_user_error(result, *fragments):
    """Exit status 2, exactly one stderr line containing every fragment, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def run_main(*args, capsys):
    """``lograd ARGS`` by calling its ``main`` in this process: the same code path without an
    interpreter's start-up, for the many quick checks of one-line errors. Returns a
    CompletedProcess-like object (returncode, stdout, stderr)."""
    from lograd.cli import main

    capsys.readouterr()
    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, out, err)


@pytest.fixture
def lograd_main(capsys):
    """Run ``lograd`` in this process: ``lograd_main("train", ...)`` (see :func:`run_main`)."""
    return lambda *args: run_main(*args, capsys=capsys)


@pytest.fixture(scope="session")
def lograd():
    """Run ``python -m lograd ARGS``: ``lograd("train", "--quiet", cwd=...)``."""
    return run_lograd


@pytest.fixture(scope="session")
def user_error():
    """Check a result is a user error: ``user_error(result, "fragment", ...)``."""
    return assert_user_error


def make_frame(n=240, seed=0):
    """Two informative features, one categorical column, string labels 'yes'/'no'."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    color = rng.choice(["red", "green", "blue"], size=n)
    shift = np.select([color == "red", color == "green"], [1.0, -1.0], 0.0)
    logit = 2.0 * X[:, 0] - 1.5 * X[:, 1] + shift
    label = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame({"height": X[:, 0].round(6), "weight": X[:, 1].round(6),
                         "color": color, "label": label})


@pytest.fixture(scope="session")
def frame_maker():
    """``frame_maker(n, seed)``: the DataFrame :func:`make_frame` builds."""
    return make_frame


@pytest.fixture
def csv_files(tmp_path):
    """(train.csv, test.csv) with a header, a categorical column and string labels."""
    frame = make_frame()
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    frame.iloc[:180].to_csv(train, index=False)
    frame.iloc[180:].to_csv(test, index=False)
    return train, test
