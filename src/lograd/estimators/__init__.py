"""Estimators: scikit-learn classifiers whose models are trained by gradient descent.

- :mod:`~lograd.estimators.base`: the shared fit/partial_fit/checkpoints/predict machinery;
- :mod:`~lograd.estimators.logistic`: ``LogisticRegression``, thin on it;
- :mod:`~lograd.estimators.checks`: checks of the hyperparameters;
- :mod:`~lograd.estimators.persistence`: ``lograd.save`` and ``lograd.load``.
"""
