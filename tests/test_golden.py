"""Golden outputs: what lograd computes and prints, frozen, so a refactor cannot change it.

Recorded once (``LOGRAD_RECORD_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py``) into
``tests/golden/``, then compared on every run:

- ``coef_``, ``intercept_``, ``loss_curve_`` and ``n_iter_`` of LogisticRegression for every
  solver × binary/multinomial × float32/float64 × dense/CSR × with/without sample weights, and
  the penalties, class weights, early stopping, warm start and partial_fit;
- the ``compile_grad`` program of the logistic-regression step;
- ``lograd explain --json``; ``lograd train`` on the bundled data (its console output and the
  saved model's meta.json, timings and timestamps aside).

Arrays are compared bit for bit (SHA-256 of their bytes) on a machine like the one that recorded
them (same CPU model, NumPy and BLAS: floating-point reductions differ between CPUs), and to
1e-12 relative elsewhere, where the stored values are compared instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from lograd import LogisticRegression

GOLDEN = Path(__file__).parent / "golden"
RECORD = os.environ.get("LOGRAD_RECORD_GOLDEN") == "1"
SOLVERS = {
    "lbfgs": {"solver": "lbfgs"},
    "gd": {"solver": "gd"},
    "nesterov": {"solver": "gd", "momentum": "nesterov"},
    "sgd": {"solver": "sgd", "momentum": 0.5, "batch_size": 32},
    "adam": {"solver": "adam", "batch_size": 32},
}
EXTRA = {  # settings beyond the grid, on the binary float64 dense data
    "l1_gd": {"solver": "gd", "penalty": "l1", "C": 0.5},
    "elasticnet_sgd": {"solver": "sgd", "penalty": "elasticnet", "l1_ratio": 0.3,
                       "batch_size": 50},
    "no_penalty_lbfgs": {"solver": "lbfgs", "penalty": None},
    "balanced_lbfgs": {"solver": "lbfgs", "class_weight": "balanced"},
    "early_stopping_sgd": {"solver": "sgd", "early_stopping": True, "validation_fraction": 0.2,
                           "n_iter_no_change": 3, "tol": 1e-4},
    "unfused_gd": {"solver": "gd", "fused": False},
    "invscaling_sgd": {"solver": "sgd", "lr_schedule": "invscaling", "learning_rate": 0.5},
    "no_intercept_adam": {"solver": "adam", "fit_intercept": False},
}


def machine() -> dict:
    """What decides the last bits of a floating-point result."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return {"cpu": cpu, "cores": os.cpu_count(), "numpy": np.__version__,
            "blas": f"{blas.get('name')} {blas.get('version')}"}


def data(classes, dtype, fmt):
    if classes == "binary":
        X, y = load_breast_cancer(return_X_y=True)
        X, y = X[:200, :8], y[:200]
    else:
        X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(dtype)
    X[np.abs(X) < 0.3] = 0.0  # zeros, so that CSR differs from dense
    return (sp.csr_matrix(X) if fmt == "csr" else X), y


def fit_cases():
    for solver in SOLVERS:
        for classes in ("binary", "multinomial"):
            for dtype in ("float64", "float32"):
                for fmt in ("dense", "csr"):
                    for weighted in (False, True):
                        kind = "weighted" if weighted else "plain"
                        name = f"{solver}-{classes}-{dtype}-{fmt}-{kind}"
                        yield name, SOLVERS[solver], classes, dtype, fmt, weighted
    for name, params in EXTRA.items():
        yield name, params, "binary", "float64", "dense", False


def run_fit(params, classes, dtype, fmt, weighted):
    X, y = data(classes, dtype, fmt)
    weights = np.random.default_rng(3).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    settings = {"max_iter": 15, "tol": 0.0, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(**settings).fit(X, y, sample_weight=weights)
    return {"coef_": model.coef_, "intercept_": model.intercept_,
            "loss_curve_": np.asarray(model.loss_curve_, dtype=np.float64),
            "n_iter_": np.asarray(model.n_iter_)}


def run_partial_and_warm():
    X, y = data("binary", "float64", "dense")
    model = LogisticRegression(solver="sgd", batch_size=40, random_state=1)
    for part in np.array_split(np.arange(X.shape[0]), 3):
        model.partial_fit(X[part], y[part], classes=np.unique(y))
    warm = LogisticRegression(solver="gd", max_iter=5, tol=0.0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(X, y).fit(X[::2], y[::2])
    return {"partial_coef_": model.coef_, "partial_loss_curve_": np.asarray(model.loss_curve_),
            "warm_coef_": warm.coef_, "warm_loss_curve_": np.asarray(warm.loss_curve_)}


def described(arrays: dict) -> dict:
    return {key: {"sha256": hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest(),
                  "dtype": str(a.dtype), "shape": list(a.shape), "values": a.ravel().tolist()}
            for key, a in arrays.items()}


def lograd_cli(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "lograd", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


def without_timings(text: str) -> str:
    """Console text with durations and dates masked (they change from run to run)."""
    text = re.sub(r"\d+(\.\d+)?\s?(ms|µs|s|min)\b", "<time>", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?", "<date>", text)
    return re.sub(r"\d+(\.\d+)? ?it/s", "<rate>", text)


def meta_without_timestamps(model_path: Path) -> dict:
    import zipfile

    with zipfile.ZipFile(model_path) as archive:
        meta = json.loads(archive.read("meta.json"))
    for key in ("created_utc", "lograd_version"):  # (when, and by which release)
        meta.pop(key, None)
    return meta


def compile_source() -> str:
    from lograd.models.linear import Linear
    from lograd.objective import Objective

    X, y = data("binary", "float64", "dense")
    objective = Objective(Linear(X.shape[1]), X, y.astype(np.float64), alpha_l2=0.01)
    objective.loss_and_grad(objective.zeros())
    w, b = objective.unpack(objective.zeros())
    return objective._compiled.source(w, b, X, y.astype(np.float64))


def outputs(tmp_path) -> dict:
    """Everything the golden files hold, computed now."""
    fits = {name: described(run_fit(*case)) for name, *case in fit_cases()}
    fits["partial_fit_and_warm_start"] = described(run_partial_and_warm())
    explain, _ = lograd_cli("explain", "--json", cwd=tmp_path)
    train_out, train_err = lograd_cli("train", "-o", "m.lograd", cwd=tmp_path)
    return {"fits": fits, "compile_source": compile_source(), "explain_json": explain,
            "train_stdout": without_timings(train_out),
            "train_stderr": without_timings(train_err),
            "train_meta": meta_without_timestamps(tmp_path / "m.lograd")}


@pytest.fixture(scope="module")
def computed(tmp_path_factory):
    return outputs(tmp_path_factory.mktemp("golden"))


@pytest.fixture(scope="module")
def golden(computed):
    path = GOLDEN / "golden.json"
    if RECORD:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps({"machine": machine(), **computed}, indent=1) + "\n")
    return json.loads(path.read_text())


def same_machine(golden) -> bool:
    return golden["machine"] == machine()


def test_fits_are_unchanged(golden, computed):
    exact = same_machine(golden)
    for name, arrays in golden["fits"].items():
        for key, expected in arrays.items():
            got = computed["fits"][name][key]
            assert (got["dtype"], got["shape"]) == (expected["dtype"], expected["shape"]), name
            if exact:
                assert got["sha256"] == expected["sha256"], f"{name}: {key} changed"
            else:
                np.testing.assert_allclose(got["values"], expected["values"], rtol=1e-12,
                                           atol=1e-14, err_msg=f"{name}: {key}")
    assert set(golden["fits"]) == set(computed["fits"])


def test_compiled_step_program_is_unchanged(golden, computed):
    assert computed["compile_source"] == golden["compile_source"]


def test_explain_json_is_unchanged(golden, computed):
    got, expected = json.loads(computed["explain_json"]), json.loads(golden["explain_json"])
    if same_machine(golden):
        assert computed["explain_json"] == golden["explain_json"]
    else:
        assert _close(got, expected)


def test_train_on_the_bundled_data_prints_and_saves_the_same(golden, computed):
    assert computed["train_stdout"] == golden["train_stdout"]
    assert computed["train_stderr"] == golden["train_stderr"]
    got, expected = computed["train_meta"], golden["train_meta"]
    assert got == expected if same_machine(golden) else _close(got, expected)


def _close(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return bool(np.isclose(a, b, rtol=1e-12, atol=1e-14))
    return a == b
