"""Model files of networks (format version 2): lograd.save/lograd.load of an MLPClassifier, alone
and in the CLI's scaler pipeline, predict bit-identically; each layer is one plain .npy member;
every inconsistency is one line naming the file; logistic regressions stay version-1 files and
the old version-1 file still loads."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tests.old_files import OLD_MODEL, OLD_MODEL_PARAMS, data

import lograd
from lograd.errors import UserError
from lograd.estimators import persistence
from lograd.estimators.logistic import LogisticRegression
from lograd.estimators.mlp import MLPClassifier
from lograd.files import model_files

NEWER = model_files.FORMAT_VERSION + 1


def rows(n=120, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * [1.0, 10.0, 0.1, 3.0][:d] + 2.0
    return X, rng


def fitted_networks():
    """(name, model, X): binary and three-class networks, plain and in the CLI's pipeline."""
    X, rng = rows()
    binary = (X[:, 0] + 0.1 * X[:, 1] > 2.5).astype(int)
    words = np.array(["no", "yes", "maybe"])[np.argmax(X[:, :3] - X[:, :3].mean(0), axis=1)]
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    yield "binary tanh gd", MLPClassifier((5,), activation="tanh", solver="gd",
                                          learning_rate_init=0.1, max_iter=30, tol=0,
                                          random_state=0).fit(X, binary), X
    yield "three layers, words, adam", make_pipeline(StandardScaler(), MLPClassifier(
        (6, 4, 3), max_iter=15, random_state=1)).fit(X, words), X
    yield "named columns, lbfgs, relu", MLPClassifier((7,), solver="lbfgs", max_iter=20,
                                                      random_state=2).fit(frame, binary), frame
    yield "early stopping, sgd", make_pipeline(StandardScaler(), MLPClassifier(
        (4,), solver="sgd", early_stopping=True, max_iter=12, random_state=3,
        init="small")).fit(X, words), X


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("case", [c[0] for c in fitted_networks()])
def test_a_saved_network_predicts_bit_identically(tmp_path, case):
    name, model, X = next(c for c in fitted_networks() if c[0] == case)
    path = tmp_path / "net.lograd"
    lograd.save(model, path)
    loaded = lograd.load(path)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert np.array_equal(loaded.predict(X), model.predict(X))
    ours = loaded.steps[-1][1] if hasattr(loaded, "steps") else loaded
    theirs = model.steps[-1][1] if hasattr(model, "steps") else model
    assert type(ours) is MLPClassifier
    assert ours.get_params() == theirs.get_params() | {"callbacks": None}
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_,
                    strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    for attribute in ("classes_", "n_layers_", "n_outputs_", "out_activation_", "n_iter_",
                      "loss_curve_", "loss_", "best_loss_", "t_", "validation_scores_",
                      "validation_loss_curve_", "n_features_in_"):
        np.testing.assert_equal(getattr(ours, attribute), getattr(theirs, attribute))
    if hasattr(theirs, "feature_names_in_"):
        assert list(ours.feature_names_in_) == list(theirs.feature_names_in_)
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("meta.json"))
        members = set(archive.namelist())
    assert meta["format_version"] == 2 and meta["estimator"] == "lograd.MLPClassifier"
    n = len(theirs.coefs_)
    assert {f"coefs_.{i}.npy" for i in range(n)} | {f"intercepts_.{i}.npy"
                                                    for i in range(n)} <= members
    assert f"coefs_.{n}.npy" not in members


def test_a_logistic_regression_is_still_a_version_1_file_and_the_old_file_loads(tmp_path):
    X, y = data()
    path = tmp_path / "lr.lograd"
    lograd.save(LogisticRegression(max_iter=20).fit(X, y), path)
    assert persistence.read_model(path).meta["format_version"] == 1
    with zipfile.ZipFile(OLD_MODEL) as archive:
        assert json.loads(archive.read("meta.json"))["format_version"] == 1
    expected = make_pipeline(StandardScaler(), LogisticRegression(**OLD_MODEL_PARAMS)).fit(X, y)
    np.testing.assert_allclose(lograd.load(OLD_MODEL).predict_proba(X),
                               expected.predict_proba(X), rtol=0, atol=1e-12)


# -- damaged network files --------------------------------------------------------------------
@pytest.fixture(scope="module")
def network_file(tmp_path_factory):
    """A three-class network of hidden layers (5, 3) in a scaler pipeline, saved."""
    X, _ = rows()
    words = np.array(["no", "yes", "maybe"])[np.argmax(X[:, :3] - X[:, :3].mean(0), axis=1)]
    model = make_pipeline(StandardScaler(), MLPClassifier(
        (5, 3), solver="gd", learning_rate_init=0.2, max_iter=10, tol=0,
        random_state=0)).fit(X, words)
    path = tmp_path_factory.mktemp("net") / "net.lograd"
    lograd.save(model, path)
    return path


def members(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def changed(path, out, arrays=None, drop=(), meta=None):
    """A copy of ``path`` at ``out``: arrays replaced (meta.json's dtype and shape updated, so
    only the content is wrong), members dropped (and their meta.json entries), meta changed."""
    files = members(path)
    spec = json.loads(files["meta.json"])
    for name, array in (arrays or {}).items():
        array = np.asarray(array)
        files[f"{name}.npy"] = npy(array)
        spec["arrays"][name] = {"dtype": array.dtype.str, "shape": list(array.shape)}
    for name in drop:
        files.pop(f"{name}.npy")
        spec["arrays"].pop(name)
    if meta is not None:
        meta(spec)
    files["meta.json"] = json.dumps(spec).encode()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out


def array(path, name):
    return np.lib.format.read_array(io.BytesIO(members(path)[f"{name}.npy"]))


def damaged_cases(path):
    W0, W1, W2 = (array(path, f"coefs_.{i}") for i in range(3))
    nan = W1.copy()
    nan[0, 0] = np.nan
    return {
        "shapes do not chain": (dict(arrays={"coefs_.1": np.ones((4, 3))}),
                                "coefs_.1 has shape (4, 3), but layer 0 has 5 outputs"),
        "an intercept of the wrong length": (dict(arrays={"intercepts_.2": np.zeros(2)}),
                                             "intercepts_.2 has shape (2,), coefs_.2 (3, 3)"),
        "a NaN weight": (dict(arrays={"coefs_.1": nan}), "coefs_.1 holds NaN or infinite"),
        "an infinite bias": (dict(arrays={"intercepts_.0": np.full(5, np.inf)}),
                             "intercepts_.0 holds NaN or infinite"),
        "classes do not match the outputs": (
            dict(arrays={"coefs_.2": W2[:, :2], "intercepts_.2": np.zeros(2)}),
            "3 classes but the last layer has 2 outputs (expected 3)"),
        "an unknown activation": (dict(meta=lambda m: m["params"].update(activation="swish")),
                                  "activation='swish' is invalid"),
        "hidden sizes that are not the weights'": (
            dict(meta=lambda m: m["params"].update(hidden_layer_sizes=[5, 4])),
            "hidden layers of 5, 4 units, but the weights' are 5, 3"),
        "a missing layer": (dict(drop=("coefs_.1",)), "no array coefs_.1"),
        "a missing intercept": (dict(drop=("intercepts_.2",)), "no array intercepts_.2"),
        "a layer beyond the last": (dict(arrays={"intercepts_.3": np.zeros(3)}),
                                    "unexpected array 'intercepts_.3'"),
        "a layer numbered oddly": (dict(arrays={"coefs_.01": W0}), "unexpected array 'coefs_.01'"),
        "a logistic regression's arrays": (dict(arrays={"coef_": W0.T}),
                                           "unexpected array 'coef_'"),
        "integer weights": (dict(arrays={"coefs_.0": W0.astype(np.int64)}),
                            "coefs_.0 is not a 2-d array of floats"),
        "a network in a version-1 file": (dict(meta=lambda m: m.update(format_version=1)),
                                          "it needs format version 2"),
        "a newer format": (dict(meta=lambda m: m.update(format_version=NEWER)),
                           f"model format version {NEWER}"),
        "an unknown estimator": (dict(meta=lambda m: m.update(estimator="lograd.Forest")),
                                 "unknown estimator 'lograd.Forest'"),
    }


CASE_NAMES = ["shapes do not chain", "an intercept of the wrong length", "a NaN weight",
              "an infinite bias", "classes do not match the outputs", "an unknown activation",
              "hidden sizes that are not the weights'", "a missing layer",
              "a missing intercept", "a layer beyond the last", "a layer numbered oddly",
              "a logistic regression's arrays", "integer weights",
              "a network in a version-1 file", "a newer format", "an unknown estimator"]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_a_damaged_network_file_is_one_line_naming_it(network_file, tmp_path, case):
    change, fragment = damaged_cases(network_file)[case]
    bad = changed(network_file, tmp_path / "bad.lograd", **change)
    with pytest.raises(UserError) as error:
        lograd.load(bad)
    message = str(error.value)
    assert message.startswith(f"model file {bad}: "), message
    assert fragment in message and "\n" not in message, message


def test_the_damaged_cases_are_all_run(network_file):
    assert set(CASE_NAMES) == set(damaged_cases(network_file))


def test_save_refuses_a_network_it_could_not_load(network_file, tmp_path):
    model = lograd.load(network_file)
    model.steps[-1][1].set_params(hidden_layer_sizes=(5, 4))  # no longer the weights' layers
    path = tmp_path / "never.lograd"
    with pytest.raises(UserError, match="cannot save this model: .*hidden layers of 5, 4 "
                                        "units, but the weights' are 5, 3"):
        lograd.save(model, path)
    assert not path.exists()
