"""`lograd train` as a user runs it: the bundled default end to end, options, progress, report."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from lograd.cli._common import Progress
from lograd.estimators import persistence
from lograd.estimators.logistic import LogisticRegression


def metric_row(text, name):
    match = re.search(rf"^{name}\s+(\S+)\s+(\S+)$", text, re.MULTILINE)
    assert match, (name, text)
    return float(match.group(1)), float(match.group(2))


def test_default_run_trains_on_bundled_data_and_matches_the_python_api(lograd, tmp_path):
    result = lograd("train", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr
    out = result.stdout
    assert "569 rows, 30 features" in out and "train 455 rows, test 114 rows" in out
    assert (tmp_path / "model.lograd").is_file()
    assert "model saved to model.lograd" in out
    # Progress: stderr is a pipe here, so plain lines ending at the final iteration.
    progress = [line for line in result.stderr.splitlines() if line.startswith("iteration ")]
    assert progress and progress[-1].startswith(f"iteration {_n_iter(tmp_path)}/100")

    # The same fit done by hand with the library gives the numbers the table shows.
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    model = LogisticRegression(random_state=0).fit(scaler.transform(X_tr), y_tr)
    proba = model.predict_proba(scaler.transform(X_te))[:, 1]
    assert metric_row(out, "accuracy")[1] == pytest.approx(
        accuracy_score(y_te, proba > 0.5), abs=5e-5)
    assert metric_row(out, "roc_auc")[1] == pytest.approx(roc_auc_score(y_te, proba), abs=5e-5)
    assert metric_row(out, "accuracy")[1] > 0.95


def _n_iter(directory):
    return int(persistence.load(directory / "model.lograd").steps[1][1].n_iter_[0])


def test_quiet_prints_nothing(lograd, tmp_path):
    result = lograd("train", "--quiet", "-o", tmp_path / "m.lograd")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    assert (tmp_path / "m.lograd").is_file()


def test_options_reach_the_estimator(lograd, tmp_path, csv_files):
    train, _ = csv_files
    out = tmp_path / "m.lograd"
    result = lograd("train", train, "--target", "label", "-o", out, "--solver", "gd",
                        "--learning-rate", "0.5", "--max-iter", "40", "--tol", "0", "--C", "2",
                        "--class-weight", "yes=2,no=1", "--seed", "3", "--test-size", "0.25",
                        "--no-standardize")
    assert result.returncode == 0, result.stderr
    saved = persistence.read_model(out)
    params = saved.model.get_params()
    assert (params["solver"], params["learning_rate"], params["max_iter"]) == ("gd", 0.5, 40)
    assert (params["tol"], params["C"], params["random_state"]) == (0.0, 2.0, 3)
    assert params["class_weight"] == {"yes": 2.0, "no": 1.0}
    assert saved.model.n_iter_ == 40  # tol 0: exactly max_iter steps
    assert not saved.meta["scaler"]
    assert saved.info["rows"] == {"train": 135, "test": 45, "dropped": 0}
    assert list(saved.model.classes_) == ["no", "yes"]
    assert saved.info["schema"]["categories"] == {"color": ["blue", "green", "red"]}
    assert "one-hot encoded: color" in result.stdout


def test_sgd_progress_counts_epochs(lograd, tmp_path, csv_files):
    train, _ = csv_files
    result = lograd("train", train, "-t", "label", "-o", tmp_path / "m.lograd",
                        "--solver", "sgd", "--max-iter", "5", "--tol", "0")
    assert result.returncode == 0, result.stderr
    assert "epoch 5/5" in result.stderr
    assert "trained in 5 epochs" in result.stdout


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_draws_a_bar_on_a_terminal_and_lines_elsewhere():
    terminal = FakeTerminal()
    bar = Progress(total=3, stream=terminal)
    for i, loss in enumerate([0.6, 0.4, 0.3], start=1):
        bar({"iteration": i, "loss": loss, "grad_norm": 0.1, "step": 1.0})
    bar.close()
    drawn = terminal.getvalue()
    assert "3/3" in drawn and "loss=0.300000" in drawn and "iteration" not in drawn

    log = io.StringIO()
    lines = Progress(total=3, stream=log, every_seconds=3600)
    for i, loss in enumerate([0.6, 0.4, 0.3], start=1):
        lines({"iteration": i, "loss": loss, "grad_norm": 0.1, "step": 1.0})
    lines.close()
    assert log.getvalue().splitlines() == [
        "iteration 1/3  loss 0.600000  gradient norm 0.1",
        "iteration 3/3  loss 0.300000  gradient norm 0.1"]

    silent = FakeTerminal()
    quiet = Progress(total=3, stream=silent, quiet=True)
    quiet({"iteration": 1, "loss": 0.5, "grad_norm": 0.1, "step": 1.0})
    quiet.close()
    assert silent.getvalue() == ""


def test_report_holds_every_section_with_embedded_images(lograd, tmp_path):
    report = tmp_path / "report.html"
    result = lograd("train", "-q", "-o", tmp_path / "m.lograd", "--report", report)
    assert result.returncode == 0, result.stderr
    html = report.read_text()
    for section in ("Data and settings", "Metrics", "Loss curve", "ROC curve",
                    "Confusion matrix", "Coefficients", "Computation graph"):
        assert f"<h2>{section}" in html, section
    assert "Decision boundary" not in html  # 30 features: no boundary to draw
    assert "mean radius" in html  # coefficient table has the feature names
    assert not re.search(r"(src|href)=\"(https?:|//)", html)  # nothing fetched from a network
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 4  # loss curve, ROC curve, confusion matrix, graph
    assert '<img alt="computation graph" src="data:image/png;base64,' in html
    for data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")


def test_two_features_report_draws_the_decision_boundary(lograd, tmp_path, csv_files):
    train, _ = csv_files
    report = tmp_path / "r.html"
    result = lograd("train", train, "-t", "label", "--features", "height,weight", "-q",
                        "-o", tmp_path / "m.lograd", "--report", report)
    assert result.returncode == 0, result.stderr
    html = report.read_text()
    assert "<h2>Decision boundary" in html
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 5


def test_npz_and_parquet_inputs(lograd, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((120, 3))
    y = (X[:, 0] + 0.3 * rng.standard_normal(120) > 0).astype(int)
    np.savez(tmp_path / "d.npz", X=X, y=y, feature_names=np.array(["a", "b", "c"]))
    result = lograd("train", tmp_path / "d.npz", "-q", "-o", tmp_path / "n.lograd")
    assert result.returncode == 0, result.stderr
    assert persistence.read_model(tmp_path / "n.lograd").info["schema"]["columns"] == [
        "a", "b", "c"]

    import pandas as pd

    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "target": y}).to_parquet(tmp_path / "d.parquet")
    result = lograd("train", tmp_path / "d.parquet", "-t", "target", "-q", "-o",
                        tmp_path / "p.lograd")
    assert result.returncode == 0, result.stderr


def test_help_is_complete(lograd):
    result = lograd("train", "--help")
    assert result.returncode == 0
    for option in ("--target", "--features", "--exclude", "--keep", "--solver", "--learning-rate",
                   "--penalty", "--C",
                   "--max-iter", "--tol", "--batch-size", "--class-weight", "--seed",
                   "--test-size", "--standardize", "--no-standardize", "--report", "--quiet",
                   "--delimiter", "--no-header", "--drop-missing", "model.lograd"):
        assert option in result.stdout, option
    for command, options in (("predict", ("MODEL", "DATA", "--output", "--chunk-rows",
                                          "--drop-missing", "proba_<class>")),
                             ("evaluate", ("MODEL", "DATA", "--target", "--json", "log-loss",
                                           "confusion matrix"))):
        text = lograd(command, "--help").stdout
        for option in options:
            assert option in text, (command, option)
    top = lograd("--help")
    for command in ("train", "predict", "evaluate"):
        assert command in top.stdout
    version = lograd("--version")
    assert version.returncode == 0 and version.stdout.startswith("lograd ")


def test_target_without_data_is_refused(lograd, user_error, tmp_path):
    user_error(lograd("train", "--target", "x", "-o", tmp_path / "m.lograd"),
                      "--target")


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_true_false_target_trains_with_classes_false_and_true(lograd, tmp_path, suffix):
    """A bool column (Parquet's bool, CSV's True/False) is a target of two named classes."""
    import pandas as pd

    rng = np.random.default_rng(3)
    X = rng.standard_normal((200, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["spam"] = X[:, 0] + 0.3 * rng.standard_normal(200) > 0
    path = tmp_path / f"d{suffix}"
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    result = lograd("train", str(path), "--target", "spam", "-o", "m.lograd", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    counts = frame["spam"].value_counts()
    assert (f"2 classes (False: {counts[False]}, True: {counts[True]})") in result.stdout
    assert list(persistence.load(tmp_path / "m.lograd").classes_) == ["False", "True"]
    predicted = lograd("predict", "m.lograd", str(path), "-o", "p.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    labels = pd.read_csv(tmp_path / "p.csv")["label"]
    assert set(labels) <= {True, False} and (labels == frame["spam"]).mean() > 0.8


def test_an_interrupted_fit_leaves_the_bar_where_it_stopped():
    terminal = FakeTerminal()
    bar = Progress(total=100, stream=terminal)
    bar({"iteration": 7, "loss": 0.5, "grad_norm": 0.1, "step": 1.0})
    bar.close(finished=False)  # Ctrl-C or an error: not a converged fit
    assert "7/100" in terminal.getvalue() and "100/100" not in terminal.getvalue()
    assert "7/7" not in terminal.getvalue()


# -- columns: identifiers and dates, said and saved (issue 12, item 5) ---------------------------
def _sorted_titanic_like(path, n=300, seed=0):
    """A file sorted by the label, with a PassengerId, a row-number column and a date: the
    id and the row numbers would predict the label from the file's order alone."""
    rng = np.random.default_rng(seed)
    fare = rng.gamma(2.0, 20.0, n).round(2)
    survived = (fare / 40 + rng.normal(size=n) > 1).astype(int)
    order = np.argsort(survived, kind="stable")
    frame = pd.DataFrame({"PassengerId": np.arange(1, n + 1), "fare": fare[order],
                          "boarded": pd.date_range("1912-04-01", periods=n, freq="h")
                          .strftime("%Y-%m-%d %H:%M"), "survived": survived[order]})
    frame.insert(0, "", np.arange(n))  # pandas' unnamed index column: "Unnamed: 0"
    frame.to_csv(path, index=False)
    return path


def test_identifier_and_date_columns_are_said_in_the_summary_report_and_model(
        lograd_main, tmp_path):
    data = _sorted_titanic_like(tmp_path / "titanic.csv")
    model, report = tmp_path / "m.lograd", tmp_path / "r.html"
    result = lograd_main("train", data, "-t", "survived", "-o", model, "--report", report)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "left out (an identifier, by its name): Unnamed: 0, PassengerId" in out
    assert "dates, as days since 1970-01-01: boarded" in out
    assert "--keep COLUMN" in out
    html = report.read_text()
    assert "left out (an identifier, by its name)" in html and "Unnamed: 0, PassengerId" in html
    assert "dates, as days since 1970-01-01" in html
    saved = persistence.read_model(model)
    assert saved.info["schema"]["columns"] == ["fare", "boarded"]
    assert list(saved.info["schema"]["left_out"]) == ["Unnamed: 0", "PassengerId"]
    # --keep puts one back (and the file's order then "predicts" the label); --exclude drops
    kept = lograd_main("train", data, "-t", "survived", "-o", model, "--keep", "PassengerId",
                       "--exclude", "boarded", "-q")
    assert kept.returncode == 0, kept.stderr
    schema = persistence.read_model(model).info["schema"]
    assert schema["columns"] == ["PassengerId", "fare"]
    assert schema["left_out"] == {"Unnamed: 0": "an identifier, by its name",
                                  "boarded": "--exclude"}


def test_a_compressed_csv_trains_without_header_option(lograd_main, tmp_path, frame_maker):
    data = tmp_path / "d.csv.gz"
    frame_maker(120).to_csv(data, index=False)
    result = lograd_main("train", data, "-t", "label", "-o", tmp_path / "m.lograd", "-q")
    assert result.returncode == 0, result.stderr
    assert persistence.read_model(tmp_path / "m.lograd").info["schema"]["columns"] == [
        "height", "weight", "color"]


# -- all outputs or none (issue 12, item 11) ---------------------------------------------------
@pytest.mark.parametrize("stage", ["building", "writing"])
def test_a_failed_report_leaves_no_model_and_keeps_an_old_one(lograd_main, tmp_path,
                                                              monkeypatch, stage):
    import lograd.report
    from lograd.errors import UserError

    def fail(*args, **kwargs):
        raise UserError("report r.html: cannot write (No space left on device)")
    target = "build_report" if stage == "building" else "write_report_text"
    monkeypatch.setattr(lograd.report, target, fail)
    model, report = tmp_path / "m.lograd", tmp_path / "r.html"
    result = lograd_main("train", "-o", model, "--report", report, "-q")
    assert result.returncode == 2 and "No space left" in result.stderr
    assert not model.exists() and not report.exists()
    assert not [p.name for p in tmp_path.iterdir()]  # nor a temporary file
    model.write_bytes(b"the previous model")
    assert lograd_main("train", "-o", model, "--report", report, "-q").returncode == 2
    assert model.read_bytes() == b"the previous model" and not report.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["m.lograd"]


@pytest.mark.parametrize("python, cli", [
    ("solver='lbfgs' cannot handle penalty='l1' (an L1 term, which has no gradient at 0); use "
     "solver='gd' or solver='sgd'", "--solver lbfgs cannot handle --penalty l1 (an L1 term, "
     "which has no gradient at 0); use --solver gd or --solver sgd"),
    ("parameter C=1e-320 is invalid", "--C 1e-320 is invalid"),
    ("Setting penalty=None will ignore the C and l1_ratio parameters",
     "Setting --penalty none will ignore the C and --l1-ratio parameters"),
    ("did not converge in max_iter=100 iterations (tol=0.0001): scale the data (e.g. "
     "sklearn.preprocessing.StandardScaler), or change learning_rate or momentum='nesterov'",
     "did not converge in --max-iter 100 iterations (--tol 0.0001): scale the data (lograd "
     "train standardizes unless --no-standardize), or change --learning-rate or --momentum "
     "nesterov"),
    ("lower learning_rate (or use learning_rate='auto')",
     "lower --learning-rate (or use the default, automatic --learning-rate)"),
    ("d.csv: line 3, column 'C=3': 'x' is not a number",  # a column's name is left alone
     "d.csv: line 3, column 'C=3': 'x' is not a number"),
])
def test_library_messages_name_the_flags(python, cli):
    from lograd.cli._common import as_flags

    assert as_flags(python) == cli


def test_the_help_gives_adams_default_step_as_the_estimator_takes_it(lograd_main):
    help_text = lograd_main("train", "--help")
    assert help_text.returncode == 0
    words = " ".join(help_text.stdout.split())
    stated = float(re.search(r"auto, .*?([0-9.]+) for adam\)", words).group(1))
    X, y = load_breast_cancer(return_X_y=True)
    fitted = LogisticRegression(solver="adam", max_iter=1, tol=0).fit(
        StandardScaler().fit_transform(X), y)
    assert fitted.learning_rate_ == stated
