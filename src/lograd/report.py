"""Metrics of a fitted classifier, and a self-contained HTML report about it.

:func:`classification_metrics` computes accuracy, log-loss, ROC AUC, precision, recall, F1 and
the confusion matrix (with scikit-learn's metric functions). :func:`write_report` writes one HTML
file that needs nothing else to be viewed: every picture is drawn with matplotlib and embedded as
a base64 PNG, and there is no external CSS, JavaScript or font. Its sections:

1. the data and the hyperparameters;
2. the metrics on the training and the held-out test rows;
3. the loss curve (the objective at each iteration or epoch);
4. the ROC curve on the test rows (one-vs-rest per class with more than two classes);
5. the confusion matrix on the test rows;
6. the coefficients with their feature names (on the standardized scale when the model
   standardizes);
7. the decision boundary over the two features, when there are exactly two;
8. the model's computation graph, drawn by :mod:`lograd.draw` with each node's shape.
"""

from __future__ import annotations

import base64
import datetime
import html
import io

import numpy as np

from lograd.files.model_files import atomic_write

METRIC_NAMES = ("accuracy", "log_loss", "roc_auc", "precision", "recall", "f1")


# -- metrics ---------------------------------------------------------------------------------------
def classification_metrics(y_true, proba, classes) -> dict:
    """Scores of predicted probabilities against true labels.

    Parameters
    ----------
    y_true : array_like of shape (n_samples,)
        True labels, each one of ``classes``.
    proba : ndarray of shape (n_samples, n_classes)
        Predicted probabilities, columns in the order of ``classes``.
    classes : array_like of shape (n_classes,)

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``log_loss``, ``roc_auc`` (None when only one class is present),
        ``precision``, ``recall``, ``f1`` (of the positive class ``classes[1]`` for two classes,
        macro averages for more), ``average`` (which of the two) and ``confusion_matrix``
        (rows: true class, columns: predicted class, in the order of ``classes``).
    """
    from sklearn import metrics

    classes = np.asarray(classes)
    y_true = np.asarray(y_true)
    predicted = classes[np.argmax(proba, axis=1)]
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    prf = {"average": average, "zero_division": 0, "labels": classes}
    if binary:
        prf = {"average": "binary", "pos_label": classes[1], "zero_division": 0}
    result = {
        "n": int(len(y_true)),
        "accuracy": float(metrics.accuracy_score(y_true, predicted)),
        "log_loss": float(metrics.log_loss(y_true, proba, labels=classes)),
        "roc_auc": _roc_auc(y_true, proba, classes),
        "precision": float(metrics.precision_score(y_true, predicted, **prf)),
        "recall": float(metrics.recall_score(y_true, predicted, **prf)),
        "f1": float(metrics.f1_score(y_true, predicted, **prf)),
        "average": f"positive class {classes[1]}" if binary else "macro",
        "confusion_matrix": metrics.confusion_matrix(y_true, predicted, labels=classes).tolist(),
    }
    return result


def _roc_auc(y_true, proba, classes):
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y_true)) < 2:
        return None  # undefined with one class present
    if len(classes) == 2:
        return float(roc_auc_score(y_true == classes[1], proba[:, 1]))
    if len(np.unique(y_true)) < len(classes):
        return None
    return float(roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))


def metrics_table(columns: dict) -> str:
    """A plain-text table: one row per metric, one column per data split.

    Parameters
    ----------
    columns : dict of str -> dict
        Split name (e.g. "train", "test") -> the result of :func:`classification_metrics`.
    """
    names = list(columns)
    lines = [f"{'metric':<11}" + "".join(f"{n:>10}" for n in names)]
    lines.append(f"{'rows':<11}" + "".join(f"{columns[n]['n']:>10d}" for n in names))
    for metric in METRIC_NAMES:
        cells = "".join(f"{_number(columns[n][metric]):>10}" for n in names)
        lines.append(f"{metric:<11}" + cells)
    first = columns[names[0]]
    lines.append(f"(precision, recall and F1: {first['average']})")
    return "\n".join(lines)


def confusion_table(matrix, classes) -> str:
    """The confusion matrix as plain text: rows are true classes, columns predicted ones."""
    labels = [str(c) for c in classes]
    width = max(8, *(len(x) + 2 for x in labels))
    lines = ["confusion matrix (rows: true class, columns: predicted class)",
             " " * width + "".join(f"{x:>{width}}" for x in labels)]
    for label, row in zip(labels, matrix):
        lines.append(f"{label:>{width}}" + "".join(f"{v:>{width}d}" for v in row))
    return "\n".join(lines)


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


# -- figures ---------------------------------------------------------------------------------------
def _figure(width=5.6, height=3.6):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def loss_curve_figure(loss_curve, unit="iteration"):
    """The training objective per iteration (or epoch), on a log scale when it spans decades."""
    fig, ax = _figure()
    curve = np.asarray(loss_curve, dtype=float)
    ax.plot(np.arange(len(curve)), curve, color="#0d6efd")  # curve[0]: initial parameters
    if len(curve) and curve.min() > 0 and curve.max() / curve.min() > 20:
        ax.set_yscale("log")
    ax.set_xlabel(unit)
    ax.set_ylabel("objective (mean log-loss + penalty)")
    ax.set_title("Loss curve")
    ax.grid(alpha=0.3)
    return fig


def roc_figure(y_true, proba, classes):
    """ROC curve(s): the positive class for two classes, one-vs-rest for more."""
    from sklearn.metrics import auc, roc_curve

    fig, ax = _figure(4.6, 4.2)
    pairs = [(classes[1], proba[:, 1])] if len(classes) == 2 else list(zip(classes, proba.T))
    for label, score in pairs:
        positive = np.asarray(y_true) == label
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = roc_curve(positive, score)
        ax.plot(fpr, tpr, label=f"class {label} (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_aspect("equal")
    return fig


def confusion_figure(matrix, classes):
    """The confusion matrix as a heat map with the counts written in."""
    matrix = np.asarray(matrix)
    size = 1.6 + 0.6 * len(classes)
    fig, ax = _figure(size + 0.8, size)
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    labels = [str(c) for c in classes]
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Confusion matrix")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center",
                color="white" if value > threshold else "black")
    return fig


BOUNDARY_NOTE = ("Classes are drawn from the most to the least frequent, so the rarer ones lie "
                 "on top, half transparent. A feature with few distinct values is jittered: each "
                 "point moves by at most 0.3 of the step between values, so that rows at the "
                 "same place all stay visible.")


def _jittered(X, seed=0):
    """``X`` (n, 2) with each discrete column (repeated values) spread by uniform noise of at
    most 0.3 times the smallest step between its values: coincident points become a visible
    cloud, and no point gets nearer another value than its own."""
    rng = np.random.default_rng(seed)
    shown = X.copy()
    for j in range(X.shape[1]):
        values = np.unique(X[:, j])
        if len(values) > len(X) / 2:
            continue  # continuous: points rarely coincide
        step = float(np.diff(values).min()) if len(values) > 1 else 1.0
        shown[:, j] += rng.uniform(-0.3 * step, 0.3 * step, size=len(X))
    return shown


def boundary_figure(model, X, y, classes, feature_names):
    """Two features: the rows over the model's prediction, in the features' own units.

    Two classes: the probability of ``classes[1]`` shaded, and the P = 0.5 line. More: the
    region where each class is the most probable, and the lines between regions. The rows are
    drawn as :data:`BOUNDARY_NOTE` says (the most frequent class first, discrete features
    jittered), so that no class hides another.
    """
    fig, ax = _figure(5.4, 4.4)
    X = np.asarray(X, dtype=float)
    low, high = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * np.where(high > low, high - low, 1.0)
    g0, g1 = np.meshgrid(np.linspace(low[0] - pad[0], high[0] + pad[0], 200),
                         np.linspace(low[1] - pad[1], high[1] + pad[1], 200))
    grid = np.column_stack([g0.ravel(), g1.ravel()])  # (40000, 2)
    proba = model.predict_proba(grid)  # (40000, n_classes)
    colors = [f"C{i}" for i in range(len(classes))]
    if len(classes) == 2:
        shade = ax.contourf(g0, g1, proba[:, 1].reshape(g0.shape), levels=20, cmap="RdBu_r",
                            alpha=0.35, vmin=0, vmax=1)
        fig.colorbar(shade, ax=ax, shrink=0.8, label=f"P(class {classes[1]})")
        ax.contour(g0, g1, proba[:, 1].reshape(g0.shape), levels=[0.5], colors="black")
        title = "Decision boundary (P = 0.5)"
    else:
        winner = proba.argmax(axis=1).reshape(g0.shape).astype(float)
        levels = np.arange(len(classes) + 1) - 0.5
        ax.contourf(g0, g1, winner, levels=levels, colors=colors, alpha=0.25)
        ax.contour(g0, g1, winner, levels=levels[1:-1], colors="black", linewidths=1)
        title = "Decision regions (most probable class)"
    shown = _jittered(X)
    y = np.asarray(y)
    styles = list(zip(classes, "os^vD<>p*h" * 5, colors))
    counts = [int(np.sum(y == label)) for label in classes]
    for k in sorted(range(len(classes)), key=lambda k: -counts[k]):  # the rarest on top
        label, marker, color = styles[k]
        chosen = y == label
        ax.scatter(shown[chosen, 0], shown[chosen, 1], s=14, marker=marker, color=color,
                   alpha=0.6, edgecolor="black", linewidth=0.4,
                   label=f"class {label} ({counts[k]} rows)")
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def graph_figure(loss):
    from lograd.draw import graph_figure as draw

    return draw(loss, title="The model's computation graph (one full-batch step)")


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# -- HTML ------------------------------------------------------------------------------------------
_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em;
       color: #212529; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #dee2e6; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.2em 0.8em; border-bottom: 1px solid #e9ecef; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 0.5em 0; } img { max-width: 100%; height: auto; }
figure.wide { overflow-x: auto; } figure.wide img { max-width: none; }
.note { color: #6c757d; font-size: 0.9em; }
code { background: #f1f3f5; padding: 0 0.2em; }
"""


def _table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(fig, alt, wide=False) -> str:
    """A figure as an embedded PNG; a wide one keeps its size and scrolls sideways."""
    kind = ' class="wide"' if wide else ""
    return (f'<figure{kind}><img alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{_png(fig)}"></figure>')


def _section(title, *parts) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{''.join(parts)}</section>"


def _note(text) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _coefficient_rows(coef, intercept, feature_names, classes):
    coef = np.atleast_2d(np.asarray(coef))  # (1, d) for two classes, (k, d) for k
    intercept = np.atleast_1d(np.asarray(intercept))
    order = np.argsort(-np.abs(coef).max(axis=0))
    rows = [[feature_names[j]] + [f"{v:+.4f}" for v in coef[:, j]] for j in order]
    rows.append(["(intercept)"] + [f"{v:+.4f}" for v in intercept])
    if coef.shape[0] == 1:
        header = ["feature", f"coefficient (log-odds of class {classes[-1]})"]
    else:
        header = ["feature"] + [f"class {c}" for c in classes]
    return header, rows


def build_report(*, model, estimator, title, summary, params, metrics, feature_names, classes,
                 X_eval, y_eval, eval_name, standardized, X_train, y_train,
                 unit="iteration") -> str:
    """The report's HTML text (see the module docstring for its sections).

    Parameters
    ----------
    model : fitted estimator or Pipeline
        Used for predictions (the decision boundary), in the data's own units.
    estimator : fitted lograd.LogisticRegression
        Its ``coef_``, ``intercept_`` and ``loss_curve_``.
    title : str
    summary : list of (str, str)
        Facts about the data and the run, shown as a two-column table.
    params : dict
        Hyperparameters.
    metrics : dict of str -> dict
        Split name -> :func:`classification_metrics` result.
    feature_names : list of str, length n_features
    classes : array_like, length n_classes
    X_eval : ndarray of shape (n, n_features); y_eval : ndarray of shape (n,)
        The rows the ROC curve, confusion matrix and decision boundary are drawn from.
    eval_name : str
        Which rows those are ("test" or "train").
    standardized : bool
        Whether the coefficients apply to standardized features.
    X_train : ndarray of shape (n_train, n_features); y_train : ndarray of shape (n_train,)
        The training rows, for the computation graph.
    unit : str
        "iteration" or "epoch", the loss curve's x axis.

    Returns
    -------
    str
    """
    classes = np.asarray(classes)
    proba = model.predict_proba(X_eval)
    split = metrics[eval_name]
    parts = [f"<h1>{html.escape(title)}</h1>",
             _note(f"lograd report, written {_now()}. Everything on this page is in this one "
                   "file; it needs no network."),
             _section("Data and settings",
                      _table(["", ""], summary),
                      _table(["hyperparameter", "value"], sorted(params.items()))),
             _section("Metrics", _metrics_html(metrics)),
             _section("Loss curve", _image(loss_curve_figure(estimator.loss_curve_, unit),
                                           "loss curve"),
                      _note(f"The objective after each {unit}: mean log-loss plus penalty.")),
             _section(f"ROC curve ({eval_name} rows)",
                      _image(roc_figure(y_eval, proba, classes), "ROC curve")),
             _section(f"Confusion matrix ({eval_name} rows)",
                      _image(confusion_figure(split["confusion_matrix"], classes),
                             "confusion matrix"),
                      _table(["true \\ predicted"] + [str(c) for c in classes],
                             [[str(c)] + row for c, row in zip(classes,
                                                                 split["confusion_matrix"])])),
             _coefficients_html(estimator, feature_names, classes, standardized)]
    if len(feature_names) == 2:
        parts.append(_section(f"Decision boundary ({eval_name} rows)",
                              _image(boundary_figure(model, X_eval, y_eval, classes,
                                                     feature_names), "decision boundary"),
                              _note(BOUNDARY_NOTE)))
    parts.append(_graph_html(model, estimator, X_train, y_train))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def _metrics_html(metrics) -> str:
    names = list(metrics)
    rows = [["rows"] + [metrics[n]["n"] for n in names]]
    rows += [[m] + [_number(metrics[n][m]) for n in names] for m in METRIC_NAMES]
    return _table(["metric"] + names, rows) + _note(
        f"Precision, recall and F1: {metrics[names[0]]['average']}.")


def _coefficients_html(estimator, feature_names, classes, standardized) -> str:
    header, rows = _coefficient_rows(estimator.coef_, estimator.intercept_, feature_names,
                                     classes)
    scale = ("Coefficients apply to standardized features (each feature minus its training "
             "mean, divided by its standard deviation), so their sizes compare directly."
             if standardized else "Coefficients apply to the features in their own units.")
    return _section("Coefficients", _note(scale + " Sorted by size."), _table(header, rows))


def _graph_html(model, estimator, X_train, y_train) -> str:
    steps = getattr(model, "steps", None)
    X = steps[0][1].transform(X_train) if steps else X_train  # what the estimator saw
    objective, theta = estimator.training_objective(X, y_train)
    loss = objective.graph(theta)
    return _section("Computation graph",
                    _note("The graph lograd builds and backpropagates through at every "
                          "training step, as the estimator built it: the data term (for "
                          "logistic regression the fused one-pass op of X, y, w and b), plus "
                          "the L2 penalty; here at the fitted parameters on the training rows. "
                          "Each box shows a node's value (or shape) and the derivative of the "
                          "objective with respect to it: near zero for the parameters, since "
                          "training stopped at a minimum."),
                    _image(graph_figure(loss), "computation graph", wide=True))


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def write_report(path, **fields) -> None:
    """Write :func:`build_report`'s HTML to ``path``, atomically.

    Parameters
    ----------
    path : str or path-like
    **fields
        The keyword arguments of :func:`build_report`.
    """
    write_report_text(path, build_report(**fields))


def write_report_text(path, text: str) -> None:
    """Write a report's HTML text to ``path``, atomically."""
    with atomic_write(path, "w", what="report", encoding="utf-8") as f:
        f.write(text)
