"""Metrics of a fitted classifier's predicted probabilities, and their tables as text."""

from __future__ import annotations

import numpy as np

METRIC_NAMES = ("accuracy", "log_loss", "roc_auc", "precision", "recall", "f1")


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
        cells = "".join(f"{number(columns[n][metric]):>10}" for n in names)
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


def number(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"
