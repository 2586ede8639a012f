"""lograd.workflows called from Python: what each command does, checked against independent
references (the same fit done directly with the estimator and scikit-learn, scikit-learn's
metrics, the lecture's closed forms written here in NumPy)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from lograd import workflows
from lograd.errors import UserError
from lograd.estimators import persistence
from lograd.estimators.logistic import LogisticRegression

GD = {"solver": "gd", "learning_rate": 0.5, "max_iter": 30, "tol": 0.0}


def frame(n=240, seed=0):
    """Three numeric features and string labels 'yes'/'no' from a logistic model."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).round(6)
    logit = 2.0 * X[:, 0] - 1.5 * X[:, 1] + 0.5 * X[:, 2]
    label = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": label})


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """train.csv (180 rows), test.csv (60 rows) and a model trained on train.csv."""
    directory = tmp_path_factory.mktemp("workflows")
    data = frame()
    train, test = directory / "train.csv", directory / "test.csv"
    data.iloc[:180].to_csv(train, index=False)
    data.iloc[180:].to_csv(test, index=False)
    model = directory / "m.lograd"
    workflows.train(train, target="label", params=GD, output=model, seed=3)
    return train, test, model


def direct_fit(X, y, test_size, seed, params):
    """What train() should do, written with scikit-learn and the estimator directly."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size,
                                                        random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_train)
    estimator = LogisticRegression(random_state=seed, **params)
    estimator.fit(scaler.transform(X_train), y_train)
    return scaler, estimator, (X_train, X_test, y_train, y_test)


# -- train -------------------------------------------------------------------------------------
def test_train_on_a_csv_equals_the_estimator_fitted_on_the_same_rows(tmp_path):
    data = frame()
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    result = workflows.train(path, target="label", params=GD, test_size=0.25, seed=3,
                             output=tmp_path / "m.lograd")

    X, y = data[["a", "b", "c"]].to_numpy(), data["label"].to_numpy()
    scaler, estimator, (_, X_test, _, y_test) = direct_fit(X, y, 0.25, 3, GD)
    np.testing.assert_allclose(result.estimator.coef_, estimator.coef_, rtol=1e-12)
    np.testing.assert_allclose(result.estimator.intercept_, estimator.intercept_, rtol=1e-12)
    np.testing.assert_allclose(result.model.steps[0][1].mean_, scaler.mean_, rtol=1e-15)
    proba = estimator.predict_proba(scaler.transform(X_test))
    test = result.metrics["test"]
    assert test["accuracy"] == pytest.approx(accuracy_score(y_test, estimator.classes_[
        proba.argmax(axis=1)]), abs=1e-15)
    assert test["log_loss"] == pytest.approx(log_loss(y_test, proba), rel=1e-10)
    assert test["roc_auc"] == pytest.approx(roc_auc_score(y_test == "yes", proba[:, 1]),
                                            rel=1e-12)
    assert result.rows == {"train": 180, "test": 60, "dropped": 0}
    assert list(result.estimator.classes_) == ["no", "yes"]
    assert "  train 180 rows, test 60 rows (stratified)" in result.lines

    saved = persistence.read_model(result.output)  # the model file holds the same model
    assert result.output == str(tmp_path / "m.lograd")
    np.testing.assert_array_equal(saved.model.steps[-1][1].coef_, result.estimator.coef_)
    assert saved.info["rows"] == result.rows and saved.info["seed"] == 3


def test_train_on_the_bundled_data_writes_nothing_without_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = workflows.train()
    assert result.output is None and result.report is None
    assert list(tmp_path.iterdir()) == []

    X, y = load_breast_cancer(return_X_y=True)
    scaler, estimator, (_, X_test, _, y_test) = direct_fit(X, y, 0.2, 0, {})
    np.testing.assert_allclose(result.estimator.coef_, estimator.coef_, rtol=1e-12)
    assert result.estimator.n_iter_ == estimator.n_iter_
    proba = estimator.predict_proba(scaler.transform(X_test))[:, 1]
    assert result.metrics["test"]["roc_auc"] == pytest.approx(roc_auc_score(y_test, proba),
                                                               rel=1e-12)
    assert result.source == "breast-cancer (scikit-learn's bundled copy)"
    assert result.schema.target == "diagnosis"


@pytest.mark.parametrize("memory, streamed", [(None, False), (60 << 10, True)])
def test_a_directory_in_memory_or_streamed_equals_the_fit_on_its_rows(tmp_path, memory,
                                                                      streamed):
    parts = [frame(600, seed=1), frame(500, seed=2)]
    (tmp_path / "parts").mkdir()
    for i, part in enumerate(parts):
        part.to_csv(tmp_path / "parts" / f"{i}.csv", index=False)
    result = workflows.train(tmp_path / "parts", target="label", params=GD, test_size=0,
                             memory=memory, spill_dir=tmp_path)
    assert result.streamed is streamed
    assert result.source == f"{tmp_path / 'parts'} (2 CSV files)"
    assert result.rows == {"train": 1100, "test": 0, "dropped": 0}
    assert any(line.startswith("streaming 1100 rows") for line in result.lines) is streamed

    whole = pd.concat(parts, ignore_index=True)
    X, y = whole[["a", "b", "c"]].to_numpy(), whole["label"].to_numpy()
    estimator = LogisticRegression(random_state=0, **GD).fit(StandardScaler().fit_transform(X),
                                                             y)
    np.testing.assert_allclose(result.estimator.coef_, estimator.coef_, rtol=1e-10)
    np.testing.assert_allclose(result.estimator.intercept_, estimator.intercept_, rtol=1e-10,
                               atol=1e-12)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parts"]  # the spill is removed


def test_the_lines_are_what_lograd_train_prints(tmp_path):
    """The CLI prints the workflow's lines, then where it saved the model."""
    result = workflows.train(output=tmp_path / "m.lograd")
    cli = subprocess.run([sys.executable, "-m", "lograd", "train", "-o", "m.lograd"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.splitlines() == [*result.lines, "model saved to m.lograd  (next: lograd "
                                       "predict m.lograd DATA -o predictions.csv)"]


class Recorder(workflows.TrainListener):
    def __init__(self):
        self.lines, self.fits = [], []

    def line(self, text):
        self.lines.append(text)

    def fitting(self, total, unit):
        self.fits.append((total, unit))
        return super().fitting(total, unit)


@pytest.mark.parametrize("solver, unit", [("gd", "iteration"), ("sgd", "epoch")])
def test_a_listener_and_callbacks_see_the_run(tmp_path, solver, unit):
    data = frame()
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    recorder, infos = Recorder(), []
    result = workflows.train(path, target="label", listener=recorder, callbacks=[infos.append],
                             params={"solver": solver, "max_iter": 7, "tol": 0.0})
    assert recorder.lines == result.lines and result.lines[0] == f"data: {path}"
    assert recorder.fits == [(7, unit)]
    assert [info["iteration"] for info in infos] == list(range(1, 8))
    assert {info["loss"] for info in infos} <= set(result.estimator.loss_curve_)
    assert result.estimator.callbacks is None  # run-time only: not saved with the model


def test_class_weights_may_name_integer_classes_by_their_text():
    result = workflows.train(params={"class_weight": {"0": 3.0}, "max_iter": 5},
                             test_size=0)
    assert result.estimator.class_weight == {0: 3.0}
    with pytest.raises(UserError, match=r"`class_weight`: no class 'maybe' in the target "
                                        r"\(classes: 0, 1\)"):
        workflows.train(params={"class_weight": {"maybe": 2.0}})


# -- errors in the parameters' names; nothing written -----------------------------------------
@pytest.mark.parametrize("kwargs, words", [
    ({"target": "label"}, "`target`/`features`/`exclude`/`keep` need a `data` file"),
    ({"output": "."}, "`output` .: is a directory"),
    ({"spill_dir": "/no/such/dir"}, "`spill_dir` /no/such/dir: no such directory"),
    ({"test_size": 0.001}, "`test_size=0.001`: holds out 1 of 569 rows, fewer than the 2 "
                           "classes"),
    ({"params": {"solver": "adam", "learning_rate": 1e6, "max_iter": 3}},
     "lower `learning_rate` (adam's default is 0.05)"),
])
def test_errors_name_the_parameters(tmp_path, monkeypatch, kwargs, words):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as raised:
        workflows.train(**{"output": "m.lograd", **kwargs})
    assert words in str(raised.value)
    assert "--" not in str(raised.value)
    assert not (tmp_path / "m.lograd").exists()


def test_adams_default_step_is_the_one_messages_and_help_state():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    fitted = LogisticRegression(solver="adam", max_iter=2, tol=0.0).fit(X, y)
    assert fitted.learning_rate_ == 0.05


def test_a_failed_report_leaves_the_old_model(tmp_path, monkeypatch):
    import lograd.report

    def fail(*args, **kwargs):
        raise UserError("report r.html: cannot write (No space left on device)")
    monkeypatch.setattr(lograd.report, "write_report_text", fail)
    model = tmp_path / "m.lograd"
    model.write_bytes(b"the previous model")
    with pytest.raises(UserError, match="No space left"):
        workflows.train(output=model, report=tmp_path / "r.html")
    assert model.read_bytes() == b"the previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.lograd"]


# -- predict, evaluate -----------------------------------------------------------------------
def test_predict_writes_each_rows_label_and_probabilities(files, tmp_path):
    _, test, model = files
    out = tmp_path / "p.csv"
    result = workflows.predict(model, test, output=out)
    assert (result.rows, result.output, list(result.classes)) == (60, str(out), ["no", "yes"])

    X = pd.read_csv(test)[["a", "b", "c"]].to_numpy()
    proba = persistence.load(model).predict_proba(X)
    written = pd.read_csv(out)
    assert list(written.columns) == ["label", "proba_no", "proba_yes"]
    np.testing.assert_allclose(written[["proba_no", "proba_yes"]].to_numpy(), proba, rtol=1e-15)
    np.testing.assert_array_equal(written["label"], np.where(proba[:, 1] > 0.5, "yes", "no"))

    stream = io.StringIO()
    streamed = workflows.predict(model, test, stream=stream, chunk_rows=7)
    assert streamed.output is None and streamed.rows == 60
    by_chunks = pd.read_csv(io.StringIO(stream.getvalue()))
    assert list(by_chunks["label"]) == list(written["label"])  # chunks of 7 rows: the same
    np.testing.assert_allclose(by_chunks[["proba_no", "proba_yes"]], proba, rtol=1e-15)


def test_evaluate_equals_scikit_learns_metrics(files, tmp_path):
    _, test, model = files
    result = workflows.evaluate(model, test, json_output=tmp_path / "m.json")
    table = pd.read_csv(test)
    y = table["label"].to_numpy()
    proba = persistence.load(model).predict_proba(table[["a", "b", "c"]].to_numpy())
    predicted = np.where(proba[:, 1] > 0.5, "yes", "no")
    metrics = result.metrics
    assert metrics["n"] == 60 and result.target == "label" and result.dropped == 0
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y, predicted), abs=1e-15)
    assert metrics["log_loss"] == pytest.approx(log_loss(y, proba), rel=1e-10)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y == "yes", proba[:, 1]), rel=1e-12)
    assert np.array_equal(metrics["confusion_matrix"], confusion_matrix(y, predicted))
    assert json.loads((tmp_path / "m.json").read_text()) == json.loads(result.to_json())
    assert result.summary.startswith(f"{test}: 60 rows, target 'label'\n")


def test_predict_and_evaluate_refuse_to_overwrite_their_inputs(files):
    _, test, model = files
    before = model.read_bytes()
    with pytest.raises(UserError, match=r"`output` .*m.lograd: is the input `model`"):
        workflows.predict(model, test, output=model)
    with pytest.raises(UserError, match=r"`json_output` .*test.csv: is the input `data`"):
        workflows.evaluate(model, test, json_output=test)
    assert model.read_bytes() == before


# -- explain -----------------------------------------------------------------------------------
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_explain_traces_the_lectures_formulas_and_writes_the_files(tmp_path):
    x, y, w, b, alpha = [[1.0, 2.0], [3.0, -1.0]], [1.0, 0.0], [0.5, -0.3], 0.1, 0.2
    result = workflows.explain(x=x, y=y, w=w, b=b, alpha=alpha, svg=tmp_path / "g.svg",
                               html=tmp_path / "p.html", steps=3)
    trace = result.trace
    X, Y = np.array(x), np.array(y)
    dz = sigmoid(X @ w + b) - Y  # the lecture: dz = a - y, dw = mean(x dz), db = mean(dz)
    np.testing.assert_allclose(trace.dw, X.T @ dz / 2, rtol=1e-12)
    np.testing.assert_allclose(trace.db, dz.mean(), rtol=1e-12)
    np.testing.assert_allclose(trace.w_new, np.array(w) - alpha * X.T @ dz / 2, rtol=1e-12)
    assert result.written == {"svg": tmp_path / "g.svg", "html": tmp_path / "p.html"}
    assert "<svg" in (tmp_path / "g.svg").read_text()[:500]
    assert (tmp_path / "p.html").read_text().startswith("<!DOCTYPE html>")


def test_explain_defaults_are_the_lectures_example():
    trace = workflows.explain().trace
    a = sigmoid(0.5 * 1.0 - 1.0 * 2.0 + 0.25)  # x = (1, 2), w = (0.5, -1), b = 0.25, y = 1
    np.testing.assert_allclose(trace.a, [a], rtol=1e-12)
    np.testing.assert_allclose(trace.loss, [-np.log(a)], rtol=1e-12)
    assert trace.alpha == 0.1


def test_explain_network_cost_is_the_courses(tmp_path):
    trace = workflows.explain(hidden=3, seed=7, alpha=0.5).trace
    A1 = np.tanh(trace.W1 @ trace.X + trace.b1)  # the course's forward, in NumPy
    A2 = sigmoid(trace.W2 @ A1 + trace.b2)
    Y = trace.Y
    cost = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
    assert trace.cost == pytest.approx(cost, rel=1e-12)
    dZ2 = A2 - Y
    np.testing.assert_allclose(trace.dW2, dZ2 @ A1.T / Y.shape[1], rtol=1e-10)
    assert trace.alpha == 0.5 and trace.W1.shape[0] == 3


@pytest.mark.parametrize("kwargs, words", [
    ({"seed": 3}, "`seed` is for the two-layer network: give `hidden=N` too"),
    ({"hidden": 4, "w": [1, 2]}, "`w` is for the logistic-regression trace"),
    ({"x": [[1, 2]], "y": [1, 0]}, "1 example (`x`) but 2 labels (`y`): give one `y` per `x`"),
    ({"x": [1, 2, 3]}, "`w` is needed: the examples have 3 features"),
    ({"steps": 5}, "`steps` adds a timeline to the page: give `html=FILE` too"),
    ({"hidden": 0}, "`hidden` 0: give a number of hidden units from 1 to 100"),
])
def test_explain_errors_name_the_parameters(kwargs, words):
    with pytest.raises(UserError) as raised:
        workflows.explain(**kwargs)
    assert words in str(raised.value)


# -- imports -----------------------------------------------------------------------------------
def test_importing_the_workflows_loads_no_third_party_library():
    code = ("import sys, lograd.workflows; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'scipy', "
            "'pandas', 'sklearn', 'numba', 'dask', 'matplotlib'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
