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
8. the model's computation graph, drawn by :mod:`lograd.autodiff.pictures` with each node's shape.
"""

from lograd.report.html import build_report, write_report, write_report_text
from lograd.report.metrics import (
    METRIC_NAMES,
    classification_metrics,
    confusion_table,
    metrics_table,
)

__all__ = ["METRIC_NAMES", "build_report", "classification_metrics", "confusion_table",
           "metrics_table", "write_report", "write_report_text"]
