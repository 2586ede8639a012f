"""scikit-learn's own estimator checks: LogisticRegression's default solver and the two descent
solvers, MLPClassifier's default (adam) and lbfgs.

We mark no check as skipped or expected to fail. (scikit-learn itself skips its array-API input
check unless the environment sets SCIPY_ARRAY_API=1; we do not claim array-API support, so that
skip is correct.) ConvergenceWarnings are silenced here (and only here):
the checks fit on tiny, unscaled toy data with our default ``max_iter``, where a warning is the
correct behaviour, and some checks (e.g. ``check_non_transformer_estimators_n_iter``) fit with
``max_iter`` small on purpose.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from lograd.estimators.logistic import LogisticRegression
from lograd.estimators.mlp import MLPClassifier

CONFIGURATIONS = [
    LogisticRegression(),
    LogisticRegression(solver="gd", momentum="nesterov", max_iter=1000),
    LogisticRegression(solver="sgd", random_state=0),
    MLPClassifier(random_state=0),
    MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(CONFIGURATIONS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
