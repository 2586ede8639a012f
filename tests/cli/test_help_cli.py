"""What --help says is what the code does: every default a command's help states, checked
against the code that has it. The help states the estimator's and the lectures' defaults in
words (their modules load scikit-learn or NumPy, too slow for --help), so these tests keep the
words true; the workflows' own defaults reach argparse from their signatures."""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from lograd import workflows
from lograd.estimators.logistic import LogisticRegression
from lograd.lectures import logistic, network, page


@pytest.fixture(scope="module")
def help_of():
    """``help_of("train")``: the command's --help, its whitespace runs made single spaces."""
    import contextlib
    import io

    from lograd.cli import main

    def text(command):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
            main([command, "--help"])
        assert exited.value.code == 0
        return " ".join(out.getvalue().split())
    return text


def stated(text, pattern) -> str:
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return match.group(1)


def signature_default(function, name):
    return inspect.signature(function).parameters[name].default


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(random_state=0, **params).fit(X, y)


def test_train_help_states_the_estimators_defaults(help_of, data):
    text, defaults = help_of("train"), LogisticRegression().get_params()
    assert "lbfgs (default; fast)" in text and defaults["solver"] == "lbfgs"
    adam = float(stated(text, r"a safe 1/L for gd/sgd, (\S+) for adam\)"))
    assert fit(*data, solver="adam", max_iter=1).learning_rate_ == adam
    assert defaults["learning_rate"] == "auto"
    assert float(stated(text, r"'nesterov' \(gd\) \(default: (\S+)\)")) == defaults["momentum"]
    assert float(stated(text, r"strength, > 0 \(default: ([\d.]+);")) == defaults["C"]
    assert int(stated(text, r"\(epochs for sgd/adam\) \(default: (\d+)\)")) == \
        defaults["max_iter"]
    assert float(stated(text, r"stopping tolerance \(default: (\S+)\)")) == defaults["tol"]
    assert "(default: all 1)" in text and defaults["class_weight"] is None
    assert int(stated(text, r"between checkpoints \(default: (\d+)\)")) == \
        defaults["checkpoint_every"]


def test_train_help_states_the_penalty_the_default_chooses(help_of, data):
    X, y = data
    assert "regularization (default: l2; l1 with --l1-ratio 1, elasticnet with --l1-ratio " \
           "between 0 and 1, none with --C inf)" in help_of("train")
    for chosen, explicit in (({}, {"penalty": "l2"}),
                             ({"l1_ratio": 1.0}, {"penalty": "l1"}),
                             ({"l1_ratio": 0.5}, {"penalty": "elasticnet", "l1_ratio": 0.5}),
                             ({"C": np.inf}, {"penalty": None})):
        got = fit(X, y, solver="gd", max_iter=20, **chosen).coef_
        np.testing.assert_array_equal(got, fit(X, y, solver="gd", max_iter=20,
                                               **explicit).coef_)


def test_train_help_states_the_batch_size_the_default_takes(help_of, data):
    assert "(default: min(200, rows))" in help_of("train")
    X, y = data
    for n in (50, 300):  # 'auto' is 50 rows for 50, 200 for 300
        auto = fit(X[:n], y[:n], solver="sgd", max_iter=3, tol=0.0).coef_
        np.testing.assert_array_equal(auto, fit(X[:n], y[:n], solver="sgd", max_iter=3,
                                                tol=0.0, batch_size=min(200, n)).coef_)


def test_train_help_states_the_workflows_defaults(help_of):
    text = help_of("train")
    assert int(stated(text, r"sgd/adam \(default: (\d+)\)")) == \
        signature_default(workflows.train, "seed")
    assert float(stated(text, r"train on all rows \(default: ([\d.]+)\)")) == \
        signature_default(workflows.train, "test_size")
    assert "the scaler is saved with the model (default)" in text
    assert signature_default(workflows.train, "standardize") is True


def test_predict_help_states_the_chunk_size(help_of):
    assert int(stated(help_of("predict"), r"rows read at a time \(default: (\d+)\)")) == \
        signature_default(workflows.predict, "chunk_rows")


def _numbers(values) -> str:
    return " ".join(f"{v:g}" for v in values)


def test_explain_help_states_the_lectures_defaults(help_of):
    text = help_of("explain")
    assert f"repeat for several examples (default {_numbers(logistic.DEFAULT_X)})" in text
    assert f"one per --x (default {logistic.DEFAULT_Y:g})" in text
    assert f"one per feature (default {_numbers(logistic.DEFAULT_W)})" in text
    assert f"bias (default {logistic.DEFAULT_B:g})" in text
    assert (f"(default {logistic.DEFAULT_ALPHA:g}; with --hidden {network.DEFAULT_ALPHA:g}, "
            "the course's)") in text
    assert f"(default {signature_default(workflows.explain, 'target')})" in text
    assert f"K gradient-descent steps (1 to {page.MAX_TIMELINE_STEPS})" in text
    assert (f"N hidden units (1 to {network.MAX_HIDDEN}; the course uses "
            f"{network.DEFAULT_HIDDEN})") in text
    assert "--activation {" + ",".join(network.ACTIVATIONS) + "}" in text
    activation = signature_default(network.explain_network, "activation")
    assert f"activation g (default {activation})" in text
    assert f"seed of the default weights (default {network.DEFAULT_SEED}, the course's)" in text
