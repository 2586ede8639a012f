"""Train, predict and evaluate from files as a user would, checked against the Python API."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from lograd.estimators import persistence
from lograd.files.tables import read_table


@pytest.fixture(scope="module")
def trained(tmp_path_factory, lograd, frame_maker):
    """A model trained by the CLI on a CSV with a categorical column and string labels."""
    directory = tmp_path_factory.mktemp("roundtrip")
    frame = frame_maker(n=300, seed=4)
    train, test = directory / "train.csv", directory / "test.csv"
    frame.iloc[:200].to_csv(train, index=False)
    frame.iloc[200:].to_csv(test, index=False)
    model = directory / "model.lograd"
    result = lograd("train", train, "--target", "label", "-o", model, "-q")
    assert result.returncode == 0, result.stderr
    return directory, train, test, model


def python_api_proba(model_path, data_path):
    """What a Python user gets: lograd.load + the data module with the model's schema."""
    saved = persistence.read_model(model_path)
    from lograd.files.tables import Schema

    table = read_table(data_path, schema=Schema.from_dict(saved.info["schema"]),
                       require_target=False)
    return saved.model, table, saved.model.predict_proba(table.X)


def test_predict_output_equals_the_python_api(lograd, trained):
    directory, _, test, model = trained
    out = directory / "pred.csv"
    result = lograd("predict", model, test, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "100 predictions written" in result.stderr
    predictions = pd.read_csv(out)
    estimator, table, proba = python_api_proba(model, test)
    assert list(predictions.columns) == ["label", "proba_no", "proba_yes"]
    assert len(predictions) == 100
    np.testing.assert_array_equal(predictions[["proba_no", "proba_yes"]].to_numpy(), proba)
    np.testing.assert_array_equal(predictions["label"].to_numpy(), estimator.predict(table.X))
    # and the pipeline is a standardizer + lograd.LogisticRegression, trained by backprop
    assert type(estimator.steps[1][1]).__module__ == "lograd.estimators.logistic"


def test_chunk_size_does_not_change_predictions(lograd, trained):
    directory, _, test, model = trained
    outputs = []
    for rows in (7, 100000):
        out = directory / f"pred{rows}.csv"
        result = lograd("predict", model, test, "-o", out, "--chunk-rows", rows)
        assert result.returncode == 0, result.stderr
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]


def test_predict_to_standard_output(lograd, trained):
    _, _, test, model = trained
    result = lograd("predict", model, test)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "label,proba_no,proba_yes" and len(lines) == 101


def test_evaluate_equals_scikit_learn_metrics(lograd, trained):
    directory, _, test, model = trained
    result = lograd("evaluate", model, test, "--json", directory / "m.json")
    assert result.returncode == 0, result.stderr
    reported = json.loads((directory / "m.json").read_text())
    estimator, table, proba = python_api_proba(model, test)
    truth = pd.read_csv(test)["label"].to_numpy()
    predicted = estimator.predict(table.X)
    assert reported["n"] == 100
    assert reported["accuracy"] == pytest.approx(metrics.accuracy_score(truth, predicted))
    assert reported["log_loss"] == pytest.approx(
        metrics.log_loss(truth, proba, labels=["no", "yes"]))
    assert reported["roc_auc"] == pytest.approx(metrics.roc_auc_score(truth == "yes",
                                                                      proba[:, 1]))
    assert reported["f1"] == pytest.approx(metrics.f1_score(truth, predicted, pos_label="yes"))
    assert reported["confusion_matrix"] == metrics.confusion_matrix(
        truth, predicted, labels=["no", "yes"]).tolist()
    assert f"accuracy       {reported['accuracy']:.4f}" in result.stdout
    assert "confusion matrix" in result.stdout


def test_saved_model_predicts_like_the_fitted_one(trained):
    directory, train, _, model = trained
    # Refit in Python exactly as the CLI did (same split, seed, scaler) and compare.
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from lograd.estimators.logistic import LogisticRegression

    table = read_table(train, target="label")
    X_tr, _, y_tr, _ = train_test_split(table.X, table.y, test_size=0.2, random_state=0,
                                        stratify=table.y)
    fresh = make_pipeline(StandardScaler(), LogisticRegression(random_state=0)).fit(X_tr, y_tr)
    loaded = persistence.load(model)
    np.testing.assert_allclose(loaded.predict_proba(table.X), fresh.predict_proba(table.X),
                               rtol=1e-12, atol=1e-15)


def test_headerless_tsv_with_drop_missing(lograd, tmp_path):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((150, 3))
    y = (X @ [1.0, -2.0, 0.5] > 0).astype(int)
    rows = [f"{a:.5f}\t{b:.5f}\t{c:.5f}\t{t}" for (a, b, c), t in zip(X, y)]
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.lograd"
    result = lograd("train", tmp_path / "train.tsv", "--target", "-1", "-o", model, "-q")
    assert result.returncode == 0, result.stderr
    # features only, one value missing: that row's fields are left empty, the others predicted
    new = [f"{a:.5f}\t{b:.5f}\t{c:.5f}" for a, b, c in X[:5]]
    new[2] = "0.1\t\t0.3"
    (tmp_path / "new.tsv").write_text("\n".join(new) + "\n")
    result = lograd("predict", model, tmp_path / "new.tsv", "-o", tmp_path / "p.csv",
                    "--drop-missing")
    assert result.returncode == 0, result.stderr
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert len(predictions) == 5
    assert predictions.iloc[2].isna().all() and not predictions.drop(index=2).isna().any().any()
    loaded = persistence.load(model)
    kept = [0, 1, 3, 4]
    np.testing.assert_allclose(predictions.iloc[kept, 1:].to_numpy(),
                               loaded.predict_proba(np.round(X[kept], 5)), rtol=1e-12)


def test_models_saved_from_python_work_with_the_cli(lograd, tmp_path):
    from lograd.estimators.logistic import LogisticRegression

    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 2))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    named = pd.DataFrame(X, columns=["a", "b"])
    persistence.save(LogisticRegression().fit(named, y), tmp_path / "named.lograd")
    persistence.save(LogisticRegression().fit(X, y), tmp_path / "plain.lograd")
    named.assign(y=y)[["b", "y", "a"]].to_csv(tmp_path / "named.csv", index=False)
    np.savetxt(tmp_path / "plain.csv", X, delimiter=",", fmt="%.17g")
    for model, data in (("named", "named.csv"), ("plain", "plain.csv")):
        result = lograd("predict", tmp_path / f"{model}.lograd", tmp_path / data)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        proba = pd.read_csv(pd.io.common.StringIO(result.stdout))["proba_1"].to_numpy()
        expected = persistence.load(tmp_path / f"{model}.lograd").predict_proba(
            named if model == "named" else X)[:, 1]
        np.testing.assert_allclose(proba, expected, rtol=1e-12)
    result = lograd("evaluate", tmp_path / "named.lograd", tmp_path / "named.csv", "-t", "y")
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_non_convergence_is_one_warning_line(lograd, trained):
    directory, train, _, _ = trained
    result = lograd("train", train, "-t", "label", "-o", directory / "w.lograd", "--solver", "gd",
                    "--max-iter", "3")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "did not converge" in warnings[0], result.stderr
    assert warnings[0].startswith("lograd train: warning: ")
