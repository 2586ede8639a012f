"""lograd.files.model_files: a pickle-free, versioned file that loads back a model predicting
identically."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tests.old_files import OLD_MODEL, OLD_MODEL_PARAMS, data

from lograd.errors import UserError
from lograd.estimators import persistence
from lograd.estimators.logistic import LogisticRegression
from lograd.files import model_files


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
    persistence.save(model, path, info={"note": name, "metrics": {"accuracy": np.float64(0.5)}})
    saved = persistence.read_model(path)
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
    persistence.save(model, path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        meta = json.loads(archive.read("meta.json"))
    assert {"meta.json", "coef_.npy", "intercept_.npy", "classes_.npy"} <= names
    assert meta["format"] == "lograd-model" and meta["format_version"] == model_files.FORMAT_VERSION
    assert meta["estimator"] == "lograd.LogisticRegression"
    assert meta["params"]["solver"] == "gd" and "lograd_version" in meta
    with np.load(path, allow_pickle=False) as arrays:  # every array loads without pickle
        np.testing.assert_array_equal(arrays["coef_"], model.coef_)


def test_object_arrays_are_refused_on_load(tmp_path, iris):
    _, model, _ = next(fitted_models(iris))
    path = tmp_path / "m.lograd"
    persistence.save(model, path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    buffer = io.BytesIO()
    np.save(buffer, np.array([print], dtype=object), allow_pickle=True)
    members["classes_.npy"] = buffer.getvalue()  # a pickled object: must never be unpickled
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(UserError, match="damaged"):
        persistence.load(path)


def test_newer_format_version_is_refused(tmp_path, iris):
    _, model, _ = next(fitted_models(iris))
    path = tmp_path / "m.lograd"
    persistence.save(model, path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    meta = json.loads(members["meta.json"])
    meta["format_version"] = model_files.FORMAT_VERSION + 1
    members["meta.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(UserError, match="newer lograd.*upgrade"):
        persistence.load(path)


def test_save_is_atomic(tmp_path, iris, monkeypatch):
    _, model, X = next(fitted_models(iris))
    path = tmp_path / "m.lograd"
    persistence.save(model, path)
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", fail)
    with pytest.raises(UserError, match="cannot write"):
        persistence.save(model, path)
    assert path.read_bytes() == before  # the old file is untouched
    assert sorted(os.listdir(tmp_path)) == ["m.lograd"]  # and no temporary file is left


def test_unfitted_and_unsupported_models_are_refused(tmp_path):
    with pytest.raises(UserError, match="not fitted"):
        persistence.save(LogisticRegression(), tmp_path / "m.lograd")
    with pytest.raises(UserError, match="Pipeline must be"):
        persistence.save(make_pipeline(LogisticRegression()), tmp_path / "m.lograd")
    assert not (tmp_path / "m.lograd").exists()


def test_check_writable(tmp_path):
    with pytest.raises(UserError, match="--output .*does not exist"):
        model_files.check_writable(tmp_path / "no" / "m.lograd", "--output")
    with pytest.raises(UserError, match="is a directory"):
        model_files.check_writable(tmp_path, "--output")
    model_files.check_writable(tmp_path / "fine.lograd")


# -- bounded reading (issue 12, item 2) ------------------------------------------------------------
def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_zip(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _tampered(path, out, arrays=None, meta=None, members=None):
    """A copy of the model file ``path`` at ``out`` with some arrays replaced (and meta.json's
    record of their dtype and shape updated to match, so only the content is wrong), meta.json
    changed by ``meta(meta)`` and raw members replaced by ``members``."""
    files = _members(path)
    spec = json.loads(files["meta.json"])
    for name, array in (arrays or {}).items():
        array = np.asarray(array)
        files[f"{name}.npy"] = _npy(array)
        spec["arrays"][name] = {"dtype": array.dtype.str, "shape": list(array.shape)}
    if meta is not None:
        meta(spec)
    files["meta.json"] = json.dumps(spec).encode()
    files.update(members or {})
    return _write_zip(out, files)


@pytest.fixture
def saved_wide(tmp_path):
    """A model file with 200,000 features (1.6 MB of float64 coefficients) and its path."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 200_000)), np.arange(40) % 2
    path = tmp_path / "wide.lograd"
    persistence.save(LogisticRegression(max_iter=2, tol=1.0).fit(X, y), path)
    return path


def test_members_larger_than_the_bound_are_refused_before_anything_is_unpacked(
        saved_wide, monkeypatch):
    unpacked = []
    real_read = zipfile.ZipExtFile.read
    monkeypatch.setattr(zipfile.ZipExtFile, "read",
                        lambda self, *a: unpacked.append(self.name) or real_read(self, *a))
    monkeypatch.setattr(model_files, "MAX_FILE_BYTES", 1 << 20, raising=False)  # 1 MiB
    with pytest.raises(UserError, match=r"wide.lograd: .*unpack to more than 1 MiB"):
        persistence.load(saved_wide)
    assert unpacked == []  # refused from the ZIP directory's declared sizes alone
    monkeypatch.setattr(model_files, "MAX_FILE_BYTES", 4 << 20, raising=False)
    assert persistence.load(saved_wide).coef_.shape == (1, 200_000)


def test_a_padded_meta_json_is_refused(tmp_path, iris):
    _, model, _ = next(fitted_models(iris))
    path, bad = tmp_path / "m.lograd", tmp_path / "padded.lograd"
    persistence.save(model, path)
    meta = _members(path)["meta.json"]
    padded = meta[:-1] + b" " * (65 << 20) + b"}"  # valid JSON, 65 MiB of it
    _tampered(path, bad, members={"meta.json": padded})
    with pytest.raises(UserError, match=r"padded.lograd: damaged \(meta.json is 65 MiB; at "
                                        r"most 64 MiB expected\)"):
        persistence.load(bad)


@pytest.mark.parametrize("case", ["huge shape", "trailing data", "short data", "object dtype",
                                  "fortran order"])
def test_npy_headers_must_account_for_their_member(tmp_path, iris, case):
    _, model, _ = list(fitted_models(iris))[1]  # three classes: coef_ of shape (3, 4)
    path, bad = tmp_path / "m.lograd", tmp_path / "bad.lograd"
    persistence.save(model, path)
    coef = model.coef_
    raw = _npy(coef)
    header_end = raw.index(b"\n") + 1
    if case == "huge shape":  # 8 TB claimed, meta.json agreeing: nothing may be allocated
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                      "shape": (10**6, 10**6)})
        member = header.getvalue() + raw[header_end:]

        def meta(spec):
            spec["arrays"]["coef_"]["shape"] = [10**6, 10**6]
        expected = r"array coef_\.npy: its header says shape \(1000000, 1000000\)"
    elif case == "trailing data":
        member, meta, expected = raw + b"\x00" * 16, None, "but the member holds"
    elif case == "short data":
        member, meta, expected = raw[:-8], None, "but the member holds"
    elif case == "object dtype":
        member, meta = raw.replace(b"'<f8'", b"'|O' "), None
        expected = "holds Python objects"
    else:  # Fortran order is a valid layout: it loads, transposed right
        member, meta, expected = _npy(np.asfortranarray(coef)), None, None
        assert b"'fortran_order': True" in member
    _tampered(path, bad, meta=meta, members={"coef_.npy": member})
    if expected is None:
        np.testing.assert_array_equal(persistence.load(bad).coef_, coef)
        return
    with pytest.raises(UserError, match=expected) as error:
        persistence.load(bad)
    assert str(error.value).startswith(f"model file {bad}: damaged")


# -- validated completely (issue 12, item 7) -------------------------------------------------------
def _wide_iris_pipeline(iris):
    X, y = iris
    words = np.array(["setosa", "versicolor", "virginica"])[y]
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)).fit(X, words), X


INVALID = {  # what is replaced -> (arrays to put in, fragment of the error)
    "NaN coefficient": (lambda m: {"coef_": np.where(np.eye(3, 4) > 0, np.nan, m.coef_)},
                        "coef_ holds NaN or infinite values"),
    "infinite intercept": (lambda m: {"intercept_": np.array([0.0, np.inf, 0.0])},
                           "intercept_ holds NaN or infinite values"),
    "coef_ of two classes": (lambda m: {"coef_": m.coef_[:1], "intercept_": m.intercept_[:1]},
                             "3 classes but coef_ has 1 rows"),
    "intercept_ of another shape": (lambda m: {"intercept_": m.intercept_[:2]},
                                    "intercept_ has shape (2,), coef_ (3, 4)"),
    "a class twice": (lambda m: {"classes_": np.array(["a", "b", "a"])},
                      "classes_ holds a label twice"),
    "one class": (lambda m: {"classes_": np.array(["a"]), "coef_": m.coef_[:1],
                             "intercept_": m.intercept_[:1]}, "at least two labels"),
    "zero scale": (lambda m: {"scaler.scale_": np.array([1.0, 0.0, 1.0, 1.0])},
                   "scaler.scale_ holds 0"),
    "NaN mean": (lambda m: {"scaler.mean_": np.array([1.0, np.nan, 1.0, 1.0])},
                 "scaler.mean_ holds NaN"),
    "scaler of other features": (lambda m: {"scaler.var_": np.ones(5)},
                                 "scaler.var_ has shape (5,), not (4,)"),
    "integer coefficients": (lambda m: {"coef_": np.ones((3, 4), dtype=np.int64)},
                             "coef_ is not a 2-d array of floats"),
}


@pytest.mark.parametrize("case", INVALID)
def test_an_invalid_model_is_refused_on_loading(tmp_path, iris, case):
    model, X = _wide_iris_pipeline(iris)
    path, bad = tmp_path / "m.lograd", tmp_path / "bad.lograd"
    persistence.save(model, path)
    make, fragment = INVALID[case]
    _tampered(path, bad, arrays=make(model.steps[-1][1]))
    with pytest.raises(UserError) as error:
        persistence.load(bad)
    message = str(error.value)
    assert message.startswith(f"model file {bad}: damaged ("), message
    assert fragment in message and "\n" not in message


def test_meta_json_inconsistencies_are_refused(tmp_path, iris):
    model, _ = _wide_iris_pipeline(iris)
    path, bad = tmp_path / "m.lograd", tmp_path / "bad.lograd"
    persistence.save(model, path, info={"schema": {"columns": ["a", "b", "c"], "categories": {},
                                                "target": "y", "header": True,
                                                "file_columns": ["a", "b", "c", "y"]}})
    cases = [  # (change to meta.json, fragment)
        (lambda m: m["attributes"].update(n_features_in_=5), "n_features_in_ is not 4"),
        (lambda m: m["params"].update(C=-1), "hyperparameters: parameter C=-1 is invalid"),
        (lambda m: m.update(scaler="yes"), "'scaler' is text, not true/false"),
        (lambda m: m["arrays"].pop("scaler.var_"), "no array scaler.var_"),
        (lambda m: m.pop("params"), "no 'params'"),
        (lambda m: m["arrays"].update(coef_=[3, 4]), "array coef_: expected its dtype and shape"),
        (lambda m: m["info"].update(schema={"columns": 3}), "info.schema is not a data schema"),
        (None, "info.schema describes 3 features, the model has 4"),
    ]
    for change, fragment in cases:
        _tampered(path, bad, meta=change)
        with pytest.raises(UserError) as error:
            persistence.load(bad)
        message = str(error.value)
        assert message.startswith(f"model file {bad}: "), message
        assert fragment in message and "\n" not in message, (fragment, message)
        assert "UserError" not in message  # one error, not one wrapped in another
    _tampered(path, bad, arrays={"n_iter_": np.array([-3])})  # (n_iter_ is an array member)
    with pytest.raises(UserError, match="n_iter_ is -3, not a count"):
        persistence.load(bad)


def test_a_newer_format_is_one_error_not_one_wrapped_in_another(tmp_path, iris):
    _, model, _ = next(fitted_models(iris))
    path, bad = tmp_path / "m.lograd", tmp_path / "new.lograd"
    persistence.save(model, path)
    _tampered(path, bad, meta=lambda m: m.update(format_version=model_files.FORMAT_VERSION + 1))
    with pytest.raises(UserError) as error:
        persistence.load(bad)
    assert str(error.value).startswith(f"model file {bad}: written by a newer lograd")
    assert "damaged" not in str(error.value)


def test_a_model_that_could_not_be_loaded_is_not_saved(tmp_path, iris):
    _, model, _ = next(fitted_models(iris))
    model.coef_ = np.full_like(model.coef_, np.nan)
    with pytest.raises(UserError, match="lograd.save: cannot save this model: coef_ holds NaN"):
        persistence.save(model, tmp_path / "m.lograd")
    assert not (tmp_path / "m.lograd").exists()


def test_a_model_file_written_by_the_older_lograd_loads_and_predicts_as_it_did():
    with zipfile.ZipFile(OLD_MODEL) as archive:
        meta = json.loads(archive.read("meta.json"))
    assert meta["params"]["C"] == {"__float__": "inf"}  # as the older lograd wrote it
    assert meta["info"]["classes"] == {"__pairs__": [[0, "no"], [1, "yes"]]}
    X, y = data()
    saved = persistence.read_model(OLD_MODEL)
    expected = make_pipeline(StandardScaler(), LogisticRegression(**OLD_MODEL_PARAMS)).fit(X, y)
    # the same fit today, to the last bits of this machine's BLAS
    np.testing.assert_allclose(saved.model.predict_proba(X), expected.predict_proba(X),
                               rtol=1e-9, atol=1e-12)
    assert saved.model.steps[-1][1].C == np.inf
    info = saved.info
    assert info["inf"] == np.inf and info["minus_inf"] == -np.inf and np.isnan(info["nan"])
    assert info["classes"] == {0: "no", 1: "yes"}


def test_every_json_a_model_file_holds_is_valid_json(tmp_path, iris):
    X, y = iris
    model = LogisticRegression(C=np.inf, max_iter=50).fit(X, y > 0)
    path = tmp_path / "m.lograd"
    persistence.save(model, path, info={"log_loss": float("inf"), "weights": {0: 1.0}})
    with zipfile.ZipFile(path) as archive:
        meta = strict_json(archive.read("meta.json").decode())
    assert meta["params"]["C"] == {"__float__": "inf"}
    assert meta["info"] == {"log_loss": {"__float__": "inf"}, "weights": {"__pairs__": [[0, 1.0]]}}
    loaded = persistence.read_model(path)
    assert loaded.model.C == np.inf and loaded.info == {"log_loss": np.inf, "weights": {0: 1.0}}


def strict_json(text):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)
