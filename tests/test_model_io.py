"""lograd.model_io: a pickle-free, versioned file that loads back a model predicting identically."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lograd import model_io
from lograd.errors import UserError
from lograd.estimator import LogisticRegression


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


def fitted_models(iris):
    X, y = iris
    binary = y > 0
    words = np.where(y == 0, "setosa", np.where(y == 1, "versicolor", "virginica"))
    yield "binary gd", LogisticRegression(solver="gd", max_iter=30, tol=0).fit(X, binary), X
    yield "multiclass lbfgs", LogisticRegression(max_iter=300, C=0.5).fit(X, y), X
    yield "string labels, class weights", LogisticRegression(
        max_iter=300, class_weight={"setosa": 2.0, "virginica": 0.5}).fit(X, words), X
    yield "scaler pipeline", make_pipeline(StandardScaler(), LogisticRegression(
        penalty="l1", solver="gd", C=0.3, max_iter=50, tol=0)).fit(X, words), X
    yield "no penalty, C=inf", LogisticRegression(C=np.inf, max_iter=50).fit(X, binary), X


@pytest.mark.parametrize("index", range(5))
def test_round_trip_predicts_identically(tmp_path, iris, index):
    name, model, X = list(fitted_models(iris))[index]
    path = tmp_path / "m.lograd"
    model_io.save(model, path, info={"note": name, "metrics": {"accuracy": np.float64(0.5)}})
    saved = model_io.read_model(path)
    loaded = saved.model
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert saved.info == {"note": name, "metrics": {"accuracy": 0.5}}
    original = model.steps[-1][1] if hasattr(model, "steps") else model
    restored = loaded.steps[-1][1] if hasattr(loaded, "steps") else loaded
    assert restored.get_params() == original.get_params()
    assert restored.loss_curve_ == pytest.approx(original.loss_curve_, rel=0, abs=0)
    assert restored.n_iter_ == original.n_iter_
    assert isinstance(restored, LogisticRegression)


def test_file_is_a_zip_of_json_and_plain_arrays(tmp_path, iris):
    _, model, X = next(fitted_models(iris))
    path = tmp_path / "m.lograd"
    model_io.save(model, path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        meta = json.loads(archive.read("meta.json"))
    assert {"meta.json", "coef_.npy", "intercept_.npy", "classes_.npy"} <= names
    assert meta["format"] == "lograd-model" and meta["format_version"] == model_io.FORMAT_VERSION
    assert meta["estimator"] == "lograd.LogisticRegression"
    assert meta["params"]["solver"] == "gd" and "lograd_version" in meta
    with np.load(path, allow_pickle=False) as arrays:  # every array loads without pickle
        np.testing.assert_array_equal(arrays["coef_"], model.coef_)


def test_object_arrays_are_refused_on_load(tmp_path, iris):
    _, model, _ = next(fitted_models(iris))
    path = tmp_path / "m.lograd"
    model_io.save(model, path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([print], dtype=object), allow_pickle=True)
    members["classes_.npy"] = buffer.getvalue()  # a pickled object: must never be unpickled
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(UserError, match="damaged"):
        model_io.load(path)


def test_newer_format_version_is_refused(tmp_path, iris):
    _, model, _ = next(fitted_models(iris))
    path = tmp_path / "m.lograd"
    model_io.save(model, path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    meta = json.loads(members["meta.json"])
    meta["format_version"] = model_io.FORMAT_VERSION + 1
    members["meta.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(UserError, match="newer lograd.*upgrade"):
        model_io.load(path)


def test_save_is_atomic(tmp_path, iris, monkeypatch):
    _, model, X = next(fitted_models(iris))
    path = tmp_path / "m.lograd"
    model_io.save(model, path)
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", fail)
    with pytest.raises(UserError, match="cannot write"):
        model_io.save(model, path)
    assert path.read_bytes() == before  # the old file is untouched
    assert sorted(os.listdir(tmp_path)) == ["m.lograd"]  # and no temporary file is left


def test_unfitted_and_unsupported_models_are_refused(tmp_path):
    with pytest.raises(UserError, match="not fitted"):
        model_io.save(LogisticRegression(), tmp_path / "m.lograd")
    with pytest.raises(UserError, match="Pipeline must be"):
        model_io.save(make_pipeline(LogisticRegression()), tmp_path / "m.lograd")
    assert not (tmp_path / "m.lograd").exists()


def test_check_writable(tmp_path):
    with pytest.raises(UserError, match="--output .*does not exist"):
        model_io.check_writable(tmp_path / "no" / "m.lograd", "--output")
    with pytest.raises(UserError, match="is a directory"):
        model_io.check_writable(tmp_path, "--output")
    model_io.check_writable(tmp_path / "fine.lograd")
