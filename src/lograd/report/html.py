"""The self-contained HTML report: sections of text, tables and embedded figures."""

from __future__ import annotations

import datetime
import html

import numpy as np

from lograd.files.atomic import atomic_write
from lograd.report.figures import (
    BOUNDARY_NOTE,
    boundary_figure,
    confusion_figure,
    graph_figure,
    loss_curve_figure,
    network_figure,
    png,
    roc_figure,
    weights_figure,
)
from lograd.report.metrics import METRIC_NAMES, number

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
            f'src="data:image/png;base64,{png(fig)}"></figure>')


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
             _training_html(estimator, unit),
             _section("Loss curve", _image(loss_curve_figure(
                 estimator.loss_curve_, unit, getattr(estimator, "validation_loss_curve_", None)),
                 "loss curve"), _note(f"The objective after each {unit}: mean log-loss plus "
                                      "penalty (for a network's mini-batch epochs, the mean of "
                                      "the epoch's batch losses, as scikit-learn reports it); "
                                      "with early stopping, the held-out rows' log-loss too.")),
             _section(f"ROC curve ({eval_name} rows)",
                      _image(roc_figure(y_eval, proba, classes), "ROC curve")),
             _section(f"Confusion matrix ({eval_name} rows)",
                      _image(confusion_figure(split["confusion_matrix"], classes),
                             "confusion matrix"),
                      _table(["true \\ predicted"] + [str(c) for c in classes],
                             [[str(c)] + row for c, row in zip(classes,
                                                                 split["confusion_matrix"])])),
             (_network_html(estimator, feature_names) if hasattr(estimator, "coefs_")
              else _coefficients_html(estimator, feature_names, classes, standardized))]
    if len(feature_names) == 2:
        parts.append(_section(f"Decision boundary ({eval_name} rows)",
                              _image(boundary_figure(model, X_eval, y_eval, classes,
                                                     feature_names), "decision boundary"),
                              _note(BOUNDARY_NOTE)))
    parts.append(_graph_html(model, estimator, X_train, y_train))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def _training_html(estimator, unit) -> str:
    """How the fit went: iterations, converged or why it stopped, how long it took."""
    why = {"tol": "converged (the stopping rule's tolerance was reached)",
           "max_iter": "stopped at max_iter without reaching the tolerance",
           "early_stopping": "stopped early: the validation score stopped improving",
           "callback": "stopped by a callback", "line_search": "L-BFGS's line search failed",
           }.get(getattr(estimator, "stopped_by_", None), "finished")
    n_iter = int(np.asarray(estimator.n_iter_).reshape(-1)[0])
    seconds = getattr(estimator, "fit_seconds_", None)
    rows = [[f"{unit}s", str(n_iter)], ["outcome", why],
            ["final objective", f"{estimator.loss_curve_[-1]:.6g}"]]
    if seconds is not None:
        rows.append(["training time", f"{seconds:.3g} s"])
    return _section("Training", _table(["", ""], rows))


def _network_html(estimator, feature_names) -> str:
    units = [estimator.coefs_[0].shape[0]] + [W.shape[1] for W in estimator.coefs_]
    rows = [[f"layer {i + 1}", f"W{i + 1} {W.shape[0]}×{W.shape[1]}, b{i + 1} {b.shape[0]}",
             estimator.activation if i < len(estimator.coefs_) - 1
             else estimator.out_activation_]
            for i, (W, b) in enumerate(zip(estimator.coefs_, estimator.intercepts_))]
    total = sum(W.size + b.size for W, b in zip(estimator.coefs_, estimator.intercepts_))
    return _section("The network",
                    _image(network_figure(units, estimator.activation,
                                          estimator.out_activation_, feature_names),
                           "the network", wide=True),
                    _table(["", "parameters", "activation"], rows),
                    _note(f"{total} parameters. The weights' distribution per layer:"),
                    _image(weights_figure(estimator.coefs_), "weights per layer", wide=True))


def _metrics_html(metrics) -> str:
    names = list(metrics)
    rows = [["rows"] + [metrics[n]["n"] for n in names]]
    rows += [[m] + [number(metrics[n][m]) for n in names] for m in METRIC_NAMES]
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
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


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
