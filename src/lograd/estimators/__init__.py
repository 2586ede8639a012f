"""lograd.estimators."""
