"""`lograd train --model mlp`: networks everywhere the linear model goes (the flags, the course's
flower, predict and evaluate on network files, the report, progress, file sets streamed past
--memory, --dask, --checkpoint), each against MLPClassifier fitted directly or a forward pass
written out in NumPy."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, log_loss
from sklearn.preprocessing import StandardScaler

from lograd import datasets
from lograd.cli import train as train_cli
from lograd.estimators import mlp as mlp_module
from lograd.estimators import persistence
from lograd.estimators.mlp import MLPClassifier
from lograd.files.checkpoints import read_meta
from lograd.files.tables import read_table
from lograd.models.mlp import ACTIVATIONS

# Full-batch gd, a fixed step, no tolerance: the same iterations on every path.
NET = ["--model", "mlp", "--hidden", "5,3", "--activation", "tanh", "--solver", "gd",
       "--learning-rate", "0.3", "--max-iter", "40", "--tol", "0", "--alpha", "0.001",
       "--init", "he", "--seed", "3"]
NET_PARAMS = dict(hidden_layer_sizes=(5, 3), activation="tanh", solver="gd",
                  learning_rate_init=0.3, max_iter=40, tol=0, alpha=0.001, init="he",
                  random_state=3)


def three_classes(n=300, seed=0):
    """Three numeric features on different scales, labels in words (softmax outputs)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)) * [1.0, 20.0, 0.05] + [0.0, 100.0, -1.0]
    score = np.stack([X[:, 0], (X[:, 1] - 100) / 20, -(X[:, 2] + 1) / 0.05], axis=1)
    labels = np.array(["ant", "bee", "cat"])[np.argmax(score + rng.normal(0, .5, (n, 3)), 1)]
    return pd.DataFrame({"f1": X[:, 0], "f2": X[:, 1], "f3": X[:, 2], "kind": labels})


def estimator(path):
    model = persistence.load(path)
    return model.steps[-1][1] if hasattr(model, "steps") else model


def layers(path):
    net = estimator(path)
    return np.concatenate([a.ravel() for a in net.coefs_ + net.intercepts_])


def metric(stdout, name, column=0):
    line = next(line for line in stdout.splitlines() if line.startswith(name + " "))
    return float(line.split()[1 + column])


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """The CLI's network on three classes, all rows (``--test-size 0``), and its data."""
    root = tmp_path_factory.mktemp("net")
    data = root / "data.csv"
    three_classes().to_csv(data, index=False)
    out = root / "net.lograd"
    result = subprocess.run([sys.executable, "-m", "lograd", "train", data, "-t", "kind",
                             "--test-size", "0", "-o", out, *NET], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return data, out, result


def direct_fit(data):
    """What the CLI should fit: MLPClassifier on the standardized rows, fitted here."""
    table = read_table(data, target="kind")
    scaler = StandardScaler().fit(table.X)
    return scaler, MLPClassifier(**NET_PARAMS).fit(scaler.transform(table.X), table.y), table


def test_the_saved_network_predicts_what_mlpclassifier_fitted_directly_predicts(network):
    data, out, result = network
    scaler, reference, table = direct_fit(data)
    model = persistence.load(out)
    assert [type(step).__name__ for _, step in model.steps] == ["StandardScaler",
                                                                "MLPClassifier"]
    assert model.steps[-1][1].hidden_layer_sizes == (5, 3)
    np.testing.assert_allclose(model.predict_proba(table.X),
                               reference.predict_proba(scaler.transform(table.X)),
                               rtol=0, atol=1e-12)
    assert "trained in 40 iterations" in result.stdout
    assert f"(final objective {reference.loss_curve_[-1]:.6f})" in result.stdout
    assert metric(result.stdout, "accuracy") == pytest.approx(
        accuracy_score(table.y, reference.predict(scaler.transform(table.X))), abs=5e-5)


@pytest.mark.parametrize("flags, params", [
    (["--solver", "sgd", "--learning-rate-schedule", "invscaling", "--momentum", "0.5",
      "--batch-size", "32"],
     dict(solver="sgd", learning_rate="invscaling", momentum=0.5, batch_size=32)),
    (["--solver", "sgd", "--momentum", "nesterov", "--batch-size", "50",
      "--learning-rate-schedule", "adaptive"],
     dict(solver="sgd", nesterovs_momentum=True, batch_size=50, learning_rate="adaptive")),
    (["--solver", "adam", "--batch-size", "64", "--class-weight", "ant=2,bee=1,cat=1"],
     dict(solver="adam", batch_size=64, class_weight={"ant": 2.0, "bee": 1.0, "cat": 1.0})),
    (["--solver", "sgd", "--learning-rate-schedule", "invscaling", "--power-t", "0.3",
      "--no-shuffle", "--no-nesterov", "--momentum", "0.8", "--n-iter-no-change", "3"],
     dict(solver="sgd", learning_rate="invscaling", power_t=0.3, shuffle=False,
          nesterovs_momentum=False, momentum=0.8, n_iter_no_change=3)),
    (["--solver", "adam", "--beta-1", "0.8", "--beta-2", "0.99", "--epsilon", "1e-6"],
     dict(solver="adam", beta_1=0.8, beta_2=0.99, epsilon=1e-6)),
])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 8 epochs
def test_the_stochastic_flags_reach_the_network(lograd, tmp_path, flags, params):
    """Schedules, momentum, batch sizes and class weights: the saved network is the one
    MLPClassifier fits with those parameters on the same standardized rows."""
    data = tmp_path / "data.csv"
    three_classes().to_csv(data, index=False)
    common = ["--hidden", "6", "--learning-rate", "0.05", "--max-iter", "8", "--seed", "4"]
    result = lograd("train", data, "-t", "kind", "--test-size", "0", "--model", "mlp", *common,
                    *flags, "-o", tmp_path / "m.lograd")
    assert result.returncode == 0, result.stderr
    table = read_table(data, target="kind")
    scaler = StandardScaler().fit(table.X)
    reference = MLPClassifier(hidden_layer_sizes=(6,), learning_rate_init=0.05, max_iter=8,
                              random_state=4, **params).fit(scaler.transform(table.X), table.y)
    saved = estimator(tmp_path / "m.lograd")
    assert {name: saved.get_params()[name] for name in params} == params
    np.testing.assert_allclose(layers(tmp_path / "m.lograd"), np.concatenate(
        [a.ravel() for a in reference.coefs_ + reference.intercepts_]), rtol=0, atol=1e-12)


def test_predict_and_evaluate_on_a_network_file(network, lograd, tmp_path):
    data, out, _ = network
    scaler, reference, table = direct_fit(data)
    expected = reference.predict_proba(scaler.transform(table.X))
    predicted = tmp_path / "p.csv"
    result = lograd("predict", out, data, "-o", predicted)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(predicted)
    assert list(frame.columns) == ["label", "proba_ant", "proba_bee", "proba_cat"]
    np.testing.assert_allclose(frame.filter(like="proba_").to_numpy(), expected, rtol=0,
                               atol=1e-12)
    assert list(frame["label"]) == list(reference.classes_[np.argmax(expected, axis=1)])

    result = lograd("evaluate", out, data)
    assert result.returncode == 0, result.stderr
    assert metric(result.stdout, "accuracy") == pytest.approx(
        accuracy_score(table.y, reference.classes_[np.argmax(expected, 1)]), abs=5e-5)
    assert metric(result.stdout, "log_loss") == pytest.approx(
        log_loss(table.y, expected, labels=reference.classes_), abs=5e-5)


@pytest.mark.slow  # 10000 full-batch iterations: about 10 s
def test_the_flower_command_reaches_the_courses_accuracy(lograd, tmp_path):
    out = tmp_path / "flower.lograd"
    result = lograd("train", "--example", "flower", "--model", "mlp", "--hidden", "4",
                    "--activation", "tanh", "--solver", "gd", "--learning-rate", "1.2",
                    "--max-iter", "10000", "--init", "small", "--alpha", "0", "--tol", "0",
                    "--test-size", "0", "--no-standardize", "-o", out)
    assert result.returncode == 0, result.stderr
    assert "data: example 'flower' (lograd.datasets)" in result.stdout
    assert "400 rows, 2 features" in result.stdout
    X, y, _ = datasets.load_example("flower")
    net = estimator(out)
    assert [W.shape for W in net.coefs_] == [(2, 4), (4, 1)]
    # The course's forward pass, written out: A1 = tanh(X W1 + b1), A2 = σ(A1 W2 + b2) > 0.5.
    A1 = np.tanh(X @ net.coefs_[0] + net.intercepts_[0])
    predicted = (A1 @ net.coefs_[1] + net.intercepts_[1])[:, 0] > 0
    accuracy = np.mean(predicted == y)
    assert accuracy >= 0.90  # the course: about 90% with 4 tanh units
    assert metric(result.stdout, "accuracy") == pytest.approx(accuracy, abs=5e-5)


@pytest.mark.slow  # 10000 full-batch iterations: about 10 s
def test_the_issues_flower_command_takes_the_courses_settings(lograd, tmp_path):
    """The command as the course's learner types it: the settings it leaves out (10,000
    iterations from randn*0.01 weights, no penalty, no early stop) are the course's, and said."""
    out = tmp_path / "flower.lograd"
    result = lograd("train", "--example", "flower", "--model", "mlp", "--hidden", "4",
                    "--activation", "tanh", "--solver", "gd", "--learning-rate", "1.2", "-o", out)
    assert result.returncode == 0, result.stderr
    assert ("the course's settings for the flower network: --max-iter 10000, --init small, "
            "--alpha 0, --tol 0 (set one to change it)") in result.stdout
    assert "trained in 10000 iterations" in result.stdout
    assert metric(result.stdout, "accuracy") >= 0.90  # training rows, as the course reports
    net = estimator(out)
    assert (net.max_iter, net.init, net.alpha, net.tol) == (10000, "small", 0.0, 0.0)


def test_a_flag_given_overrides_the_courses_setting(lograd, tmp_path):
    result = lograd("train", "--example", "flower", "--model", "mlp", "--hidden", "4",
                    "--solver", "gd", "--max-iter", "30", "--alpha", "0.01",
                    "-o", tmp_path / "m.lograd")
    assert result.returncode == 0, result.stderr
    assert ("the course's settings for the flower network: --init small, --tol 0 "
            "(set one to change it)") in result.stdout
    assert "trained in 30 iterations" in result.stdout
    assert estimator(tmp_path / "m.lograd").alpha == 0.01
    logistic = lograd("train", "--example", "flower", "-o", tmp_path / "l.lograd")
    assert logistic.returncode == 0 and "course's settings" not in logistic.stdout


def test_the_example_data_sets_train_and_name_their_columns(lograd, tmp_path):
    out = tmp_path / "m.lograd"
    result = lograd("train", "--example", "moons", "--model", "mlp", "--hidden", "6",
                    "--solver", "lbfgs", "--max-iter", "50", "-q", "-o", out)
    assert result.returncode == 0, result.stderr
    info = persistence.read_model(out).info
    assert info["schema"]["columns"] == ["x1", "x2"] and info["schema"]["target"] == "y"
    assert info["rows"] == {"train": 160, "test": 40, "dropped": 0}
    result = lograd("train", "--example", "breast_cancer", "-q", "-o", out)  # the default data
    assert result.returncode == 0, result.stderr
    assert persistence.read_model(out).info["source"].startswith("breast-cancer")


@pytest.mark.parametrize("args, fragments", [
    (["--hidden", "4"], ["--hidden is for --model mlp, not --model logistic"]),
    (["--activation", "tanh"], ["--activation is for --model mlp"]),
    (["--early-stopping"], ["--early-stopping is for --model mlp"]),
    (["--model", "mlp", "--C", "0.5"], ["--C is for --model logistic, not --model mlp"]),
    (["--model", "mlp", "--penalty", "l1"], ["--penalty is for --model logistic"]),
    (["--model", "mlp", "--no-intercept"], ["--no-intercept is for --model logistic"]),
    (["--max-fun", "10"], ["--max-fun is for --model mlp"]),
    (["--model", "mlp", "--hidden", "4,0"], ["--hidden", "whole numbers >= 1", "'4,0'"]),
    (["--model", "mlp", "--hidden", "4,x"], ["--hidden", "like 20,7,5"]),
    (["--model", "mlp", "--activation", "softplus"], ["--activation", "invalid choice"]),
    (["--model", "mlp", "--validation-fraction", "1"], ["--validation-fraction", "(0, 1)"]),
    (["--power-t", "0.3"], ["--power-t is for --model mlp"]),
    (["--no-shuffle"], ["--no-shuffle is for --model mlp"]),
    (["--model", "mlp", "--beta-1", "1"], ["--beta-1", "[0, 1)", "'1'"]),
    (["--model", "mlp", "--epsilon", "0"], ["--epsilon"]),
    (["--model", "mlp", "--momentum", "nesterov", "--no-nesterov"],
     ["--momentum nesterov and --no-nesterov"]),
    (["--model", "mlp", "--n-iter-no-change", "0"], ["--n-iter-no-change"]),
    (["--model", "forest"], ["--model", "invalid choice"]),
    (["--example", "flowers"], ["--example", "invalid choice"]),
    (["data.csv", "--example", "flower"], ["give DATA or --example, not both"]),
    (["--example", "flower", "--target", "y"],
     ["--target/--features/--exclude/--keep need a DATA file",
      "--example flower has its own columns"]),
    (["--model", "mlp", "--early-stopping", "--solver", "lbfgs"],
     ["--early-stopping needs solver 'sgd', 'adam' or 'gd', not 'lbfgs'"]),
])
def test_a_flag_the_model_does_not_take_is_one_line(lograd_main, user_error, tmp_path, args,
                                                    fragments):
    out = tmp_path / "m.lograd"
    user_error(lograd_main("train", *args, "-o", out), *fragments)
    assert not out.exists()


def test_the_library_messages_name_the_flags(lograd, tmp_path):
    result = lograd("train", "--example", "circles", "--model", "mlp", "--hidden", "3",
                    "--solver", "gd", "--learning-rate", "0.01", "--max-iter", "3",
                    "-o", tmp_path / "m.lograd")
    assert result.returncode == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if "warning" in line)
    assert "--learning-rate 0.01" in warning and "--max-iter 3" in warning, warning
    assert "learning_rate_init" not in warning and "max_iter" not in warning, warning

    result = lograd("train", "--example", "circles", "--model", "mlp", "--hidden", "3",
                    "--solver", "lbfgs", "--max-iter", "2", "-o", tmp_path / "m.lograd")
    assert result.returncode == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if "warning" in line)
    assert "raise --max-fun or try --solver adam" in warning, warning
    assert "max_fun" not in warning, warning


def test_the_help_states_mlpclassifiers_defaults_and_choices(lograd_main):
    help_text = " ".join(lograd_main("train", "--help").stdout.split())
    defaults = MLPClassifier().get_params()
    for fragment in (f"--solver {defaults['solver']}",
                     f"--learning-rate {defaults['learning_rate_init']} (learning_rate_init)",
                     f"--max-iter {defaults['max_iter']}", f"--momentum {defaults['momentum']}",
                     f"--alpha {defaults['alpha']}", f"(default: {defaults['activation']})",
                     f"(default: {defaults['hidden_layer_sizes'][0]})",
                     f"(default: {defaults['validation_fraction']})",
                     f"{defaults['init']} (scikit-learn's; default)",
                     f"(default: {defaults['learning_rate']})",
                     f"lbfgs (default: {defaults['max_fun']})"):
        assert fragment in help_text, fragment
    assert train_cli.ACTIVATIONS == tuple(ACTIVATIONS)
    assert train_cli.INITS == mlp_module.INITS and train_cli.SCHEDULES == mlp_module.SCHEDULES
    assert train_cli.EXAMPLES == datasets.EXAMPLES


def test_the_report_draws_the_network(lograd, tmp_path):
    report = tmp_path / "r.html"
    result = lograd("train", "--example", "flower", "--model", "mlp", "--hidden", "6,3",
                    "--solver", "adam", "--max-iter", "20", "--early-stopping", "-q",
                    "-o", tmp_path / "m.lograd", "--report", report)
    assert result.returncode == 0, result.stderr
    html = report.read_text()
    for section in ("<h2>The network</h2>", "<h2>Training</h2>", "<h2>Loss curve</h2>",
                    "<h2>Decision boundary (test rows)</h2>", "<h2>Computation graph</h2>"):
        assert section in html, section
    assert "<h2>Coefficients</h2>" not in html
    net = estimator(tmp_path / "m.lograd")
    assert net.validation_loss_curve_ is not None  # the loss curve draws it (early stopping)
    assert "W1 2×6" in html and "W2 6×3" in html and "W3 3×1" in html
    total = sum(W.size + b.size for W, b in zip(net.coefs_, net.intercepts_))
    assert f"{total} parameters" in html


@pytest.mark.parametrize("solver, unit", [("adam", "epoch"), ("sgd", "epoch"),
                                          ("gd", "iteration")])
def test_progress_counts_the_solvers_units(lograd, tmp_path, solver, unit):
    result = lograd("train", "--example", "moons", "--model", "mlp", "--hidden", "4",
                    "--solver", solver, "--max-iter", "5", "--tol", "0",
                    "-o", tmp_path / "m.lograd")
    assert result.returncode == 0, result.stderr
    assert f"{unit} 5/5" in result.stderr
    assert f"trained in 5 {unit}s" in result.stdout


# -- file sets, streamed, Dask, checkpoints ---------------------------------------------------
@pytest.fixture(scope="module")
def file_set(tmp_path_factory):
    """(a directory of 4 CSV files, the in-memory network fitted on it)."""
    root = tmp_path_factory.mktemp("set")
    parts = root / "parts"
    parts.mkdir()
    frame = three_classes(n=800, seed=1)
    for i in range(4):
        frame.iloc[i * 200:(i + 1) * 200].to_csv(parts / f"part-{i}.csv", index=False)
    out = root / "memory.lograd"
    result = subprocess.run([sys.executable, "-m", "lograd", "train", parts, "-t", "kind",
                             "-o", out, *NET], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "in memory:" in result.stdout and "held out row by row" in result.stdout
    return parts, out, result.stdout


def test_a_file_set_streamed_past_memory_fits_the_same_network(lograd, tmp_path, file_set):
    parts, reference, memory_out = file_set
    out = tmp_path / "streamed.lograd"
    result = lograd("train", parts, "-t", "kind", "-o", out, "--memory", "20K", *NET)
    assert result.returncode == 0, result.stderr
    assert "streaming 800 rows in " in result.stdout
    assert persistence.read_model(out).info["streamed"]
    np.testing.assert_allclose(layers(out), layers(reference), rtol=1e-10, atol=1e-12)
    lines = [line for line in result.stdout.splitlines() if line.startswith(("accuracy",
                                                                             "log_loss"))]
    assert lines == [line for line in memory_out.splitlines()
                     if line.startswith(("accuracy", "log_loss"))]


@pytest.mark.slow  # starts a local cluster of two worker processes
def test_dask_fits_the_same_network(lograd, tmp_path, file_set):
    parts, reference, _ = file_set
    out = tmp_path / "dask.lograd"
    result = lograd("train", parts, "-t", "kind", "-o", out, "--dask", "local:2", *NET,
                    timeout=300)
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(layers(out), layers(reference), rtol=1e-10, atol=1e-12)


@pytest.mark.slow  # a fit long enough to be killed part-way, then resumed and run in full
def test_a_killed_network_fit_resumes_from_its_checkpoint_bit_identically(lograd, tmp_path):
    data = tmp_path / "data.csv"
    three_classes(n=3000, seed=2).to_csv(data, index=False)
    args = ["train", data, "-t", "kind", "--model", "mlp", "--hidden", "32,16",
            "--solver", "adam", "--batch-size", "50", "--max-iter", "60", "--tol", "0",
            "--seed", "5", "-q"]
    reference = lograd(*args, "-o", tmp_path / "reference.lograd", timeout=300)
    assert reference.returncode == 0, reference.stderr

    directory, out = tmp_path / "ck", tmp_path / "m.lograd"
    command = [*args, "-o", out, "--checkpoint", directory, "--checkpoint-every", "2"]
    process = subprocess.Popen([sys.executable, "-m", "lograd", *map(str, command)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            meta = read_meta(directory) if directory.exists() else None
            if meta is not None and meta["iteration"] >= 4:
                break
            assert process.poll() is None, "the fit ended before it could be killed"
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    meta = read_meta(directory)
    assert not meta["complete"] and 4 <= meta["iteration"] < 60 and not out.exists()

    resumed = lograd(*[a for a in command if a != "-q"], timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {directory} at iteration {meta['iteration']}" in resumed.stdout
    ours, theirs = estimator(out), estimator(tmp_path / "reference.lograd")
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_,
                    strict=True):
        assert np.array_equal(a, b)
    assert ours.loss_curve_ == theirs.loss_curve_ and ours.n_iter_ == theirs.n_iter_ == 60


def test_n_iter_no_change_reaches_either_model(lograd, tmp_path):
    for model in ("logistic", "mlp"):
        out = tmp_path / f"{model}.lograd"
        result = lograd("train", "--example", "moons", "--model", model, "--solver", "sgd",
                        "--n-iter-no-change", "2", "--tol", "0.01", "--max-iter", "400", "-q",
                        "-o", out)
        assert result.returncode == 0, result.stderr
        fitted = estimator(out)
        assert fitted.n_iter_no_change == 2
        assert int(np.sum(fitted.n_iter_)) < 400, model  # it stopped on no improvement
