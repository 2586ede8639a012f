"""`lograd train DIR|GLOB`: file sets in memory, streamed from a spill directory under a memory
budget, and fitted on a Dask cluster; predict/evaluate on file sets; the bad-input paths."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from lograd.cli._common import dask_address, memory_size
from lograd.estimators import persistence
from lograd.estimators.logistic import LogisticRegression
from lograd.files.tables import read_table
from lograd.report import classification_metrics
from lograd.workflows import parse_dask_address

# gd with a fixed step and no tolerance: the same iterations everywhere, so the coefficients of
# every path must agree to rounding (1e-10 relative)
GD = ["--solver", "gd", "--learning-rate", "0.5", "--tol", "0", "--max-iter", "30", "-q"]


def frame(n, seed):
    """Two numeric features, a categorical one and string labels yes/no."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    color = rng.choice(["red", "green", "blue"], n)
    logit = 2 * X[:, 0] - X[:, 1] + np.where(color == "red", 1.0, 0.0)
    label = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame({"height": X[:, 0], "weight": X[:, 1], "color": color, "label": label})


@pytest.fixture(scope="module")
def parquet_set(tmp_path_factory):
    """(directory of 4 Parquet files, one Parquet file holding the same rows)."""
    root = tmp_path_factory.mktemp("set")
    directory = root / "parts"
    directory.mkdir()
    frames = [frame(n, seed) for seed, n in enumerate((300, 250, 350, 200))]
    for i, part in enumerate(frames):
        part.to_parquet(directory / f"part-{i}.parquet", row_group_size=100)
    whole = root / "whole.parquet"
    pd.concat(frames, ignore_index=True).to_parquet(whole)
    return directory, whole


@pytest.fixture(scope="module")
def in_memory_fit(parquet_set, tmp_path_factory):
    """The file set trained in memory (test rows held out), for the other paths to equal."""
    directory, _ = parquet_set
    out = tmp_path_factory.mktemp("fit") / "memory.lograd"
    result = subprocess.run([sys.executable, "-m", "lograd", "train", str(directory), "-t",
                             "label", "-o", str(out), *GD[:-1]], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def coef(path):
    model = persistence.load(path)
    estimator = model.steps[-1][1]
    return np.concatenate([estimator.coef_.ravel(), estimator.intercept_])


def assert_same_fit(path, reference):
    np.testing.assert_allclose(coef(path), coef(reference), rtol=1e-10, atol=1e-12)


def metrics_lines(stdout):
    """The metric table's lines (rows, accuracy, ... on train and test)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("metric "))
    return lines[start:start + 8]


def reference_fit(path):
    """What ``lograd train PATH -t label --test-size 0 GD`` fits, done with the library."""
    table = read_table(path, target="label")
    scaler = StandardScaler().fit(table.X)
    estimator = LogisticRegression(solver="gd", learning_rate=0.5, tol=0, max_iter=30)
    estimator.fit(scaler.transform(table.X), table.y)
    return np.concatenate([estimator.coef_.ravel(), estimator.intercept_])


# -- in memory, streamed ----------------------------------------------------------------------
def test_in_memory_file_set_equals_one_concatenated_file(lograd, tmp_path, parquet_set):
    directory, whole = parquet_set
    out = tmp_path / "set.lograd"
    result = lograd("train", directory, "-t", "label", "-o", out, "--test-size", "0", *GD)
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(coef(out), reference_fit(whole), rtol=1e-10, atol=1e-12)
    info = persistence.read_model(out).info
    assert info["rows"] == {"train": 1100, "test": 0, "dropped": 0}
    assert info["schema"]["categories"] == {"color": ["blue", "green", "red"]}
    assert not info.get("streamed")


def test_streamed_fit_equals_in_memory_fit(lograd, tmp_path, parquet_set, in_memory_fit):
    directory, _ = parquet_set
    reference, memory_out = in_memory_fit
    assert "in memory:" in memory_out and "held out row by row" in memory_out
    spill = tmp_path / "spill"
    spill.mkdir()
    out = tmp_path / "streamed.lograd"
    result = lograd("train", f"{directory}/*.parquet", "-t", "label", "-o", out, "--memory",
                    "60K", "--spill-dir", spill, *GD[:-1])
    assert result.returncode == 0, result.stderr
    assert "streaming 1100 rows in " in result.stdout and str(spill) in result.stdout
    assert "(budget 60.0 KiB)" in result.stdout
    n_chunks = int(result.stdout.split("streaming 1100 rows in ")[1].split()[0])
    assert n_chunks >= 8  # really cut into chunks
    assert_same_fit(out, reference)
    # Same split, so the same metrics, computed chunk by chunk.
    assert metrics_lines(result.stdout) == metrics_lines(memory_out)
    assert os.listdir(spill) == []  # the spill directory is removed
    saved = persistence.read_model(out)
    scaler = saved.model.steps[0][1]
    assert saved.info["streamed"] and scaler.n_samples_seen_ == saved.info["rows"]["train"]


def test_a_single_file_larger_than_the_budget_is_streamed(lograd, tmp_path, parquet_set):
    _, whole = parquet_set
    out = tmp_path / "m.lograd"
    result = lograd("train", whole, "-t", "label", "-o", out, "--memory", "40K", "--test-size",
                    "0", *GD)
    assert result.returncode == 0, result.stderr
    assert persistence.read_model(out).info.get("streamed")
    np.testing.assert_allclose(coef(out), reference_fit(whole), rtol=1e-10, atol=1e-12)


def test_predict_and_evaluate_on_a_file_set(lograd, tmp_path, parquet_set, in_memory_fit):
    directory, whole = parquet_set
    model_path, _ = in_memory_fit
    model = persistence.load(model_path)
    table = read_table(whole, target="label")
    result = lograd("predict", model_path, directory, "-o", tmp_path / "p.csv", "--chunk-rows",
                    "64")
    assert result.returncode == 0, result.stderr
    predicted = pd.read_csv(tmp_path / "p.csv")
    np.testing.assert_allclose(predicted[["proba_no", "proba_yes"]].to_numpy(),
                               model.predict_proba(table.X), rtol=1e-12)
    assert list(predicted["label"]) == list(model.predict(table.X))
    result = lograd("evaluate", model_path, f"{directory}/part-*", "--json", tmp_path / "m.json")
    assert result.returncode == 0, result.stderr
    assert "(4 files): 1100 rows" in result.stdout
    metrics = json.loads((tmp_path / "m.json").read_text())
    expected = classification_metrics(table.y, model.predict_proba(table.X), model.classes_)
    assert metrics.keys() == expected.keys()
    for name, value in expected.items():  # (pytest 9.2's approx refuses nested values)
        if isinstance(value, float):
            assert metrics[name] == pytest.approx(value, rel=1e-12), name
        else:
            assert metrics[name] == value, name


# -- on a Dask cluster ------------------------------------------------------------------------
@pytest.mark.slow
def test_dask_local_cluster_equals_in_memory_fit(lograd, tmp_path, parquet_set, in_memory_fit):
    directory, _ = parquet_set
    reference, _ = in_memory_fit
    out = tmp_path / "local.lograd"
    result = lograd("train", directory, "-t", "label", "-o", out, "--dask", "local:2", *GD,
                    timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no cluster chatter
    assert_same_fit(out, reference)


@pytest.mark.slow
def test_dask_scheduler_address_in_memory_and_streamed(lograd, tmp_path, parquet_set,
                                                       in_memory_fit):
    from distributed import LocalCluster

    directory, _ = parquet_set
    reference, _ = in_memory_fit
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                      dashboard_address=":0") as cluster:
        for name, extra in (("memory", []), ("streamed", ["--memory", "150K"])):
            out = tmp_path / f"{name}.lograd"
            result = lograd("train", directory, "-t", "label", "-o", out, "--dask",
                            cluster.scheduler_address, *extra, *GD, timeout=300)
            assert result.returncode == 0, result.stderr
            assert_same_fit(out, reference)
    assert persistence.read_model(tmp_path / "streamed.lograd").info.get("streamed")


def test_unreachable_scheduler_is_one_line(lograd, user_error, tmp_path, parquet_set):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    directory, _ = parquet_set
    out = tmp_path / "m.lograd"
    result = lograd("train", directory, "-t", "label", "-o", out, "--dask",
                    f"tcp://127.0.0.1:{port}")
    user_error(result, f"--dask tcp://127.0.0.1:{port}", "no Dask scheduler answered")
    assert not out.exists()


# -- bad input ------------------------------------------------------------------------------------
def write_parts(directory, frames, fmt="csv"):
    directory.mkdir()
    for i, part in enumerate(frames):
        if fmt == "csv":
            part.to_csv(directory / f"part-{i}.csv", index=False)
        else:
            part.to_parquet(directory / f"part-{i}.parquet")
    return directory


def third_edited(edit):
    frames = [frame(40, seed) for seed in range(3)]
    frames[2] = edit(frames[2].copy())
    return frames


def typo(part):
    part["weight"] = part["weight"].astype(object)
    part.loc[6, "weight"] = "7.O"
    return part


def test_bad_value_in_the_third_file_names_it(lograd, user_error, tmp_path):
    directory = write_parts(tmp_path / "typo", third_edited(typo))
    out = tmp_path / "m.lograd"
    result = lograd("train", directory, "-t", "label", "-o", out)
    user_error(result, "part-2.csv", "line 8", "column 'weight'", "'7.O' is not a number")
    assert not out.exists()


def test_inconsistent_columns(lograd, user_error, tmp_path):
    directory = write_parts(tmp_path / "cols",
                            third_edited(lambda f: f.rename(columns={"weight": "mass"})))
    result = lograd("train", directory, "-t", "label", "-o", tmp_path / "m.lograd")
    user_error(result, "part-2.csv", "columns differ from", "part-0.csv", "missing 'weight'",
               "extra 'mass'")


def test_error_while_spilling_leaves_no_model_and_no_spill(lograd, user_error, tmp_path):
    def missing(part):
        part.loc[30, "height"] = np.nan
        return part

    directory = write_parts(tmp_path / "nan", third_edited(missing))
    spill = tmp_path / "spill"
    spill.mkdir()
    out = tmp_path / "m.lograd"
    result = lograd("train", directory, "-t", "label", "-o", out, "--memory", "20K",
                    "--spill-dir", spill)
    user_error(result, "part-2.csv", "line 32", "column 'height'", "missing value")
    assert not out.exists() and os.listdir(spill) == []


@pytest.mark.parametrize("case, fragments", [
    ("empty directory", ["holds no data files"]),
    ("glob matching nothing", ["no file matches"]),
    ("mixed formats", ["mixed formats", "CSV", "PARQUET"]),
    ("--report while streamed", ["--report needs the data in memory", "--memory"]),
    ("bad --memory", ["argument --memory", "'lots'"]),
    ("bad --dask", ["argument --dask", "'cluster:9'", "tcp://HOST:PORT"]),
    ("missing --spill-dir", ["--spill-dir", "no such directory"]),
])
def test_bad_file_set_input(lograd, user_error, tmp_path, parquet_set, case, fragments):
    directory, _ = parquet_set
    args = [directory, "-t", "label"]
    if case == "empty directory":
        (tmp_path / "empty").mkdir()
        args[0] = tmp_path / "empty"
    elif case == "glob matching nothing":
        args[0] = f"{directory}/*.csv"
    elif case == "mixed formats":
        mixed = write_parts(tmp_path / "mixed", [frame(20, 0)])
        frame(20, 1).to_parquet(mixed / "part-9.parquet")
        args[0] = mixed
    elif case == "--report while streamed":
        args += ["--memory", "40K", "--report", tmp_path / "r.html"]
    elif case == "bad --memory":
        args += ["--memory", "lots"]
    elif case == "bad --dask":
        args += ["--dask", "cluster:9"]
    else:
        args += ["--memory", "40K", "--spill-dir", tmp_path / "nope"]
    out = tmp_path / "m.lograd"
    result = lograd("train", *args, "-o", out)
    user_error(result, *fragments)
    assert not out.exists() and not (tmp_path / "r.html").exists()


def test_option_types():
    assert memory_size("512M") == 512 << 20 and memory_size("2g") == 2 << 30
    assert memory_size("1.5GiB") == 3 << 29 and memory_size("1000") == 1000
    for text in ("local", "local:3", "tcp://10.0.0.1:8786"):  # checked, passed on as given
        assert dask_address(text) == text
    assert parse_dask_address("local") == ("local", 2)
    assert parse_dask_address("local:3") == ("local", 3)
    assert parse_dask_address("tcp://10.0.0.1:8786") == ("tcp", "tcp://10.0.0.1:8786")
    for bad in ("0", "-1M", "1X", "M"):
        with pytest.raises(argparse.ArgumentTypeError):
            memory_size(bad)
    for bad in ("local:0", "tcp://host", "10.0.0.1:8786"):
        with pytest.raises(argparse.ArgumentTypeError):
            dask_address(bad)


# -- out of core: peak memory -----------------------------------------------------------------
PEAK_RSS = """\
import resource, subprocess, sys
result = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(result.stderr)
print(result.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""
BUDGET = 48 << 20
MARGIN = 40 << 20  # allocator slack, pyarrow's read buffers, the n-sized metric arrays
OOC_GD = ["--solver", "gd", "--learning-rate", "0.2", "--tol", "0", "--max-iter", "4",
          "--test-size", "0", "-q"]


def write_numeric_set(directory, n_files, rows, d, seed=0):
    """Parquet files of float64 features x0..x{d-1} and 0/1 labels 'y'."""
    directory.mkdir()
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d) / np.sqrt(d)
    for i in range(n_files):
        X = rng.normal(size=(rows, d))
        part = pd.DataFrame(X, columns=[f"x{j}" for j in range(d)])
        part["y"] = (X @ w + rng.normal(size=rows) > 0).astype(np.int64)
        part.to_parquet(directory / f"part-{i:02d}.parquet", row_group_size=2048)
    return directory


def peak_rss(args, cwd):
    """(exit status, peak RSS in bytes) of ``python -m lograd ARGS`` run by a fresh helper."""
    result = subprocess.run([sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "lograd",
                             *map(str, args)], capture_output=True, text=True, cwd=cwd,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    status, peak = result.stdout.split()
    assert status == "0", result.stderr
    return int(peak)


@pytest.mark.slow
def test_out_of_core_peak_memory_is_bounded_by_the_budget(tmp_path):
    d = 100
    big = write_numeric_set(tmp_path / "big", n_files=8, rows=32_000, d=d)  # 205 MB of float64
    small = write_numeric_set(tmp_path / "small", n_files=2, rows=500, d=d, seed=1)
    common = ["-t", "y", "--memory", str(BUDGET), *OOC_GD]
    # The baseline runs the same code path (imports, compiled kernel, dask) on tiny data.
    baseline = peak_rss(["train", small, "-o", tmp_path / "small.lograd", *common], tmp_path)
    peak = peak_rss(["train", big, "-o", tmp_path / "big.lograd", *common], tmp_path)
    data_bytes = 8 * 32_000 * 8 * d
    assert data_bytes > 4 * BUDGET
    assert peak - baseline < BUDGET + MARGIN, (peak / 2**20, baseline / 2**20)
    assert persistence.read_model(tmp_path / "big.lograd").info["streamed"]

    # The same fit in memory, in this process.
    frames = pd.concat([pd.read_parquet(p) for p in sorted(big.iterdir())], ignore_index=True)
    X, y = frames.drop(columns="y").to_numpy(), frames["y"].to_numpy()
    reference = LogisticRegression(solver="gd", learning_rate=0.2, tol=0, max_iter=4)
    reference.fit(StandardScaler().fit_transform(X), y)
    streamed = persistence.load(tmp_path / "big.lograd").steps[-1][1]
    np.testing.assert_allclose(streamed.coef_, reference.coef_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(streamed.intercept_, reference.intercept_, rtol=1e-10,
                               atol=1e-13)
