"""lograd.report: metrics against closed forms, the model graph against training, and the HTML
report rendered by a real headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lograd.autodiff.engine import Tensor
from lograd.autodiff.gradcheck import gradcheck
from lograd.estimators.logistic import LogisticRegression
from lograd.losses import unfused_data_loss as data_loss
from lograd.report import (
    classification_metrics,
    confusion_table,
    metrics_table,
    write_report,
)


def test_binary_metrics_equal_their_closed_forms():
    y = np.array(["no", "yes", "yes", "no", "yes", "no"])
    p_yes = np.array([0.2, 0.9, 0.4, 0.6, 0.8, 0.1])
    proba = np.column_stack([1 - p_yes, p_yes])
    m = classification_metrics(y, proba, np.array(["no", "yes"]))
    # predicted: no yes no yes yes no -> TP=2 (rows 1,4), FP=1 (row 3), FN=1 (row 2), TN=2
    assert m["confusion_matrix"] == [[2, 1], [1, 2]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    truth = (y == "yes").astype(float)
    log_loss = -np.mean(truth * np.log(p_yes) + (1 - truth) * np.log(1 - p_yes))
    assert m["log_loss"] == pytest.approx(log_loss, rel=1e-12)
    # AUC = P(score of a positive > score of a negative) over all 9 pairs: 8 of 9 are ordered
    assert m["roc_auc"] == pytest.approx(8 / 9)
    assert m["n"] == 6


def test_multiclass_metrics_use_macro_averages():
    y = np.array([0, 1, 2, 2])
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.1, 0.1, 0.8]])
    m = classification_metrics(y, proba, np.array([0, 1, 2]))
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    assert m["recall"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert m["precision"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert m["average"] == "macro"


def test_tables_show_every_metric():
    m = classification_metrics(np.array([0, 1]), np.array([[0.7, 0.3], [0.4, 0.6]]), [0, 1])
    text = metrics_table({"train": m, "test": m})
    for name in ("accuracy", "log_loss", "roc_auc", "precision", "recall", "f1"):
        assert re.search(rf"^{name}\s+\d\.\d{{4}}\s+\d\.\d{{4}}$", text, re.MULTILINE), name
    assert confusion_table([[1, 0], [0, 1]], ["no", "yes"]).splitlines()[2].split() == [
        "no", "1", "0"]


@pytest.fixture(scope="module")
def fitted():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:300]
    y = y[:300]
    return X, y, LogisticRegression(C=0.5, tol=1e-8, max_iter=500).fit(X, y)


@pytest.mark.parametrize("weighted", [False, True])
def test_the_graph_drawn_is_the_objective_that_training_minimised(fitted, weighted):
    """The estimator's own objective (weights, class weights, the penalty from the total
    weight, the fused op that ran), at the fitted parameters: not one rebuilt by the report."""
    X, y, _ = fitted
    s = np.random.default_rng(0).uniform(0.5, 2.0, len(y)) if weighted else None
    model = LogisticRegression(C=0.5, tol=1e-8, max_iter=500, class_weight="balanced")
    model.fit(X, y, sample_weight=s)
    objective, theta = model.training_objective(X, y, sample_weight=s)
    loss = objective.graph(theta)
    assert loss.item() == pytest.approx(model.loss_curve_[-1], rel=1e-12)
    names = {t.name for t in _leaves(loss)}
    assert {"X (300×30)", "y (300)", "w (30)", "b"} <= names
    assert ("S (300)" in names) == (weighted or model.class_weight is not None)
    assert "linear_logistic_loss" in {t.op.name for t in _nodes(loss) if t.op}
    w = next(t for t in _leaves(loss) if t.name == "w (30)")
    assert np.abs(w.grad).max() < 1e-6  # converged: the gradient vanishes at the minimum

    weights = model._penalty  # (the same penalty the fit used)
    total = float(objective.sample_weight.sum())
    alpha = weights(total)[0]

    def by_hand(w, b):  # the same function from plain ops, checked by finite differences
        return data_loss(X, w, b, y.astype(float), objective.sample_weight) + (
            0.5 * alpha) * (w * w).sum()

    shifted = model.coef_[0] + 0.3  # away from the minimum, where gradients are large
    gradcheck(by_hand, shifted, model.intercept_[0])
    moved = objective.graph(objective.pack([shifted, model.intercept_[0]]))
    w_moved = next(t for t in _leaves(moved) if t.name == "w (30)")
    reference = Tensor(shifted, requires_grad=True)
    by_hand(reference, Tensor(model.intercept_[0])).backward()
    np.testing.assert_allclose(w_moved.grad, reference.grad, rtol=1e-10)


def _nodes(root):
    seen, stack, found = set(), [root], []
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            found.append(node)
            stack.extend(node.parents)
    return found


def _leaves(root):
    seen, stack, found = set(), [root], []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if not node.parents:
            found.append(node)
        stack.extend(node.parents)
    return found


def _report(path, n_features=30, n_rows=200):
    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:n_rows, :n_features], y[:n_rows]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[:150], y[:150])
    estimator = model.steps[1][1]
    metrics = {"train": classification_metrics(y[:150], model.predict_proba(X[:150]), [0, 1]),
               "test": classification_metrics(y[150:], model.predict_proba(X[150:]), [0, 1])}
    names = [f"feature {i}" for i in range(n_features)]
    write_report(path, model=model, estimator=estimator, title="test report",
                 summary=[("rows", str(n_rows))], params={"C": "1.0"}, metrics=metrics,
                 feature_names=names, classes=estimator.classes_, X_eval=X[150:],
                 y_eval=y[150:], eval_name="test", standardized=True, X_train=X[:150],
                 y_train=y[:150])
    return path


def test_two_feature_report_has_a_decision_boundary(tmp_path):
    html = _report(tmp_path / "r.html", n_features=2).read_text()
    assert "<h2>Decision boundary (test rows)</h2>" in html
    assert "feature 1" in html
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', html)) == 5


def test_multiclass_report_draws_decision_regions(tmp_path):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = X[:, 2:]  # petal length and width
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    estimator = model.steps[1][1]
    metrics = {"train": classification_metrics(y, model.predict_proba(X), [0, 1, 2])}
    write_report(tmp_path / "r.html", model=model, estimator=estimator, title="iris",
                 summary=[], params={}, metrics=metrics, feature_names=["length", "width"],
                 classes=estimator.classes_, X_eval=X, y_eval=y, eval_name="train",
                 standardized=True, X_train=X, y_train=y)
    html = (tmp_path / "r.html").read_text()
    assert "<h2>Decision boundary (train rows)</h2>" in html
    assert "<th>class 2</th>" in html  # one coefficient column per class
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 5


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_CHECKER = """<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var ok = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute("data-images", ok + "/" + images.length);
});
</script>"""


def _rendered_image_count(page, tmp_path):
    """Open ``page`` in headless Chromium; return 'loaded/total' images after the load event."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    match = re.search(r'data-images="(\d+)/(\d+)"', result.stdout)
    assert match, (result.returncode, result.stdout[-500:], result.stderr[-2000:])
    return int(match.group(1)), int(match.group(2))


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="headless chromium is not installed "
                                             "(.ci/run installs Debian's chromium package)")
def test_report_renders_every_image_in_a_real_browser(tmp_path):
    html = _report(tmp_path / "report.html", n_features=2).read_text()
    page = tmp_path / "checked.html"  # the report plus a script that counts decoded images
    page.write_text(html.replace("</body>", _CHECKER + "</body>"))
    assert _rendered_image_count(page, tmp_path) == (5, 5)
    # The check can fail: one damaged image in an otherwise identical page is caught.
    broken = html.replace('src="data:image/png;base64,iVBOR', 'src="data:image/png;base64,XXXX', 1)
    page.write_text(broken.replace("</body>", _CHECKER + "</body>"))
    assert _rendered_image_count(page, tmp_path) == (4, 5)


def _hidden_fraction(ax, collection):
    """The fraction of a scatter's points whose centre a point drawn later covers."""
    from matplotlib.collections import PathCollection

    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    later = scatters[scatters.index(collection) + 1:]
    if not later:
        return 0.0
    centres = ax.transData.transform(collection.get_offsets())
    above = np.vstack([ax.transData.transform(c.get_offsets()) for c in later])
    radius = np.sqrt(collection.get_sizes()[0]) / 2 * ax.figure.dpi / 72  # points² -> pixels
    distances = np.linalg.norm(centres[:, None, :] - above[None, :, :], axis=2)
    return float(np.mean(distances.min(axis=1) < radius))


def test_the_decision_boundary_hides_no_class_under_another():
    """Fair-like data: two features with 5 values each, 68 % of rows in one class and both
    classes at every place; each class must stay visible (issue 12, item 11)."""
    from matplotlib.collections import PathCollection

    from lograd.report.figures import boundary_figure

    rng = np.random.default_rng(0)
    X = rng.integers(1, 6, size=(400, 2)).astype(float)
    y = np.where(rng.random(400) < 0.32 + 0.04 * (X[:, 0] - 3), True, False)
    model = LogisticRegression().fit(X, y)
    fig = boundary_figure(model, X, y, model.classes_, ["rating", "years"])
    ax = fig.axes[0]
    fig.canvas.draw()
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    by_size = sorted(scatters, key=lambda c: -len(c.get_offsets()))
    assert [len(c.get_offsets()) for c in by_size] == sorted(
        [int(np.sum(y)), int(np.sum(~y))], reverse=True)
    assert scatters[-1] is by_size[-1]  # the minority is drawn last, on top
    assert _hidden_fraction(ax, by_size[0]) < 0.2  # the majority stays visible (was: 100 % hidden)
    shown = np.vstack([c.get_offsets() for c in scatters])
    assert np.abs(shown - np.round(shown)).max() <= 0.3  # jitter stays near each value


def _network_report(path, early_stopping=True):
    from lograd import MLPClassifier
    from lograd.datasets import make_flower

    X, y = make_flower(400, random_state=1)
    order = np.random.default_rng(0).permutation(len(y))  # (the flower lists class 0 first)
    X, y = X[order], y[order]
    model = MLPClassifier((4,), "tanh", solver="adam", learning_rate_init=0.05, max_iter=400,
                          early_stopping=early_stopping, n_iter_no_change=40,
                          random_state=0).fit(X[:300], y[:300])
    metrics = {"test": classification_metrics(y[300:], model.predict_proba(X[300:]), [0, 1])}
    write_report(path, model=model, estimator=model, title="flower", summary=[], params={},
                 metrics=metrics, feature_names=["x1", "x2"], classes=model.classes_,
                 X_eval=X[300:], y_eval=y[300:], eval_name="test", standardized=False,
                 X_train=X[:300], y_train=y[:300], unit="epoch")
    return model, path.read_text()


def test_a_networks_report_shows_the_network_its_weights_and_both_loss_curves(tmp_path):
    model, html = _network_report(tmp_path / "net.html")
    assert "<h2>The network</h2>" in html and "<h2>Coefficients</h2>" not in html
    assert "W1 2×4, b1 4" in html and "W2 4×1, b2 1" in html  # the layers' shapes
    assert f"{2 * 4 + 4 + 4 + 1} parameters" in html
    assert "<h2>Decision boundary (test rows)</h2>" in html  # the flower is 2-D
    assert "<h2>Training</h2>" in html
    assert f"<td>epochs</td><td>{model.n_iter_}</td>" in html
    assert "stopped early" in html and "training time" in html
    # loss curve, ROC, confusion, network, weights, boundary, graph
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 7
    assert len(model.validation_loss_curve_) == model.n_iter_


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="headless chromium is not installed")
def test_a_networks_report_renders_in_a_real_browser(tmp_path):
    _, html = _network_report(tmp_path / "net.html")
    page = tmp_path / "checked.html"
    page.write_text(html.replace("</body>", _CHECKER + "</body>"))
    assert _rendered_image_count(page, tmp_path) == (7, 7)
