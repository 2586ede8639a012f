"""The in-memory backend: NumPy arrays and SciPy sparse matrices in this process.

A backend is where a fit's rows live, chosen once per fit from the input
(:func:`lograd.backends.for_data`). It validates the data, weighs and splits the rows, builds
the objective, plans the epochs of mini-batch solvers and scores the held-out rows; the
estimator calls it and never branches on the kind of input. :mod:`lograd.backends.dask` is the
other one, with the same methods.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import train_test_split
from sklearn.utils import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from lograd.autodiff.engine import Tensor, no_grad
from lograd.data_checks import check_sample_weight, first_overflowing_cell
from lograd.errors import UserError
from lograd.models import targets
from lograd.objective import Objective

ACCEPT_SPARSE = ("csr", "csc")
FLOATS = (np.float64, np.float32)


class MemoryBackend:
    """Rows in memory: validation by scikit-learn, mini-batches by row indices."""

    name = "memory"

    # -- data ------------------------------------------------------------------------------------
    def fit_data(self, estimator, X, y, reset=True):
        """``(X, y)`` validated (float32 kept, C-contiguous floats not copied); sets or checks
        ``n_features_in_`` and ``feature_names_in_`` as scikit-learn does."""
        X, y = validate_data(estimator, X, y, accept_sparse=ACCEPT_SPARSE, dtype=FLOATS,
                             reset=reset)
        _check_magnitude(estimator, X)
        check_classification_targets(y)
        return X, y

    def labels(self, X, y) -> np.ndarray:
        """The labels present in y (for ``classes_``)."""
        return np.asarray(y)

    def predict_data(self, estimator, X):
        return validate_data(estimator, X, accept_sparse=ACCEPT_SPARSE, dtype=FLOATS,
                             reset=False)

    def sample_weights(self, X, y, classes, sample_weight=None, class_weight=None):
        """The rows' weights ``s_i`` (sample weight × class weight) in X's dtype, or None."""
        weights = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        if class_weight is None:
            return weights
        per_class = compute_class_weight(class_weight, classes=classes, y=y,
                                         sample_weight=weights)
        class_of_row = np.searchsorted(classes, y)
        scaled = per_class[class_of_row] * (1.0 if weights is None else weights)
        if not scaled.sum() > 0:
            raise UserError("class_weight gives every row weight 0: at least one class present "
                            "in y needs a positive weight")
        return scaled.astype(X.dtype)

    def holdout(self, X, y, weights, classes, fraction, rng):
        """A stratified validation split: ``((X, y, weights) to train on, (X_val, y_val))``."""
        rows = np.arange(X.shape[0])
        try:
            train, test = train_test_split(rows, test_size=fraction, random_state=rng,
                                           stratify=y)
        except ValueError as exc:
            raise UserError(f"early_stopping cannot hold out validation_fraction={fraction} "
                            f"of {X.shape[0]} rows: {exc}") from None
        w = None if weights is None else weights[train]
        return (X[train], y[train], w), (X[test], y[test])

    # -- the objective ---------------------------------------------------------------------------
    def objective(self, model, X, y, weights, classes, penalty, *, row_batches=False,
                  l2_per_batch=False):
        """The objective of ``model`` on these rows.

        ``penalty(weight_sum) -> (alpha_l2, alpha_l1)`` gives the penalty strengths from the
        rows' total weight ``S`` (n without weights). ``row_batches``: mini-batches will index
        its rows (CSC data is converted to CSR once, as row slicing would scan every column).
        ``l2_per_batch``: see :class:`lograd.objective.Objective`.
        """
        if row_batches and sp.issparse(X) and X.format == "csc":
            X = X.tocsr()
        target = targets.encode(y, classes, X.dtype)
        total = float(X.shape[0] if weights is None else weights.sum(dtype=np.float64))
        alpha_l2, alpha_l1 = penalty(total)
        return Objective(model, X, target, weights, alpha_l2=alpha_l2, alpha_l1=alpha_l1,
                         l2_per_batch=l2_per_batch)

    def epochs(self, objective, solver, batch_size, rng, shuffle=True):
        """``(solver, batches)``: each epoch a fresh shuffle of the rows (``shuffle``) cut into
        mini-batches of ``batch_size`` ('auto': ``min(200, n)``)."""
        n = objective.n_samples
        size = min(200, n) if batch_size == "auto" else min(batch_size, n)
        weights = objective.sample_weight

        def batches(epoch):
            order = rng.permutation(n) if shuffle else np.arange(n)
            chunks = [order[i:i + size] for i in range(0, n, size)]
            if weights is not None:  # a batch of zero total weight has no mean loss
                chunks = [c for c in chunks if weights[c].sum() > 0]
            return chunks
        return solver, batches

    def validation_scorer(self, objective, validation, classes):
        """``accuracy(theta)`` of the model on the held-out rows."""
        X_val, y_val = validation
        model = objective.model

        def accuracy(theta):
            scores = logits(model, objective.unpack(theta), X_val)
            return float(np.mean(targets.labels(scores, classes) == y_val))
        return accuracy

    def validation_loss(self, objective, validation, classes):
        """``loss(theta)``: the model's mean log-loss on the held-out rows (no penalty)."""
        X_val, y_val = validation
        held = Objective(objective.model, X_val, targets.encode(y_val, classes, X_val.dtype))
        return held.value

    def data_digest(self, parts) -> str:
        """The data's fingerprint for a checkpoint
        (:func:`lograd.files.checkpoints.data_digest`)."""
        from lograd.files.checkpoints import data_digest

        return data_digest(parts)

    # -- predictions -----------------------------------------------------------------------------
    def logits(self, model, arrays, X):
        return logits(model, arrays, X)

    def labels_of(self, scores, classes):
        return targets.labels(scores, classes)

    def probabilities(self, scores, log=False):
        return targets.log_probabilities(scores) if log else targets.probabilities(scores)


def logits(model, arrays, X) -> np.ndarray:
    """The model's logits of the rows of X, computed by the engine without a graph."""
    with no_grad():
        return np.asarray(model.logits([Tensor(a) for a in arrays], X).data)


def _check_magnitude(estimator, X):
    cell = first_overflowing_cell(X)
    if cell is None:
        return
    row, column = cell
    names = getattr(estimator, "feature_names_in_", None)
    where = f"column {names[column]!r}" if names is not None else f"column {column}"
    raise UserError(f"X has {float(X[row, column]):g} at row {row}, {where}: too large to "
                    f"train on (the squares of the column overflow {X.dtype}); scale or fix it")


MEMORY = MemoryBackend()
