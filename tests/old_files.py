"""Files written by an older lograd, which this one must still read, and the data behind them.

Written at commit 64f6243 (before the one JSON codec and the format-3 checkpoint) by::

    X, y = data()
    model = make_pipeline(StandardScaler(), LogisticRegression(**OLD_MODEL_PARAMS)).fit(X, y)
    lograd.save(model, OLD_MODEL, info=OLD_MODEL_INFO)
    LogisticRegression(**OLD_CHECKPOINT_PARAMS, checkpoint=OLD_CHECKPOINT,
                       callbacks=<raise at iteration 7>).fit(X, y)

``old_model.lograd`` holds C=inf and non-finite info values as ``{"__float__": ...}`` and int
keys as ``{"__pairs__": ...}``; ``old_checkpoint/checkpoint.npz`` is format 2, whose meta.json
has the bare ``Infinity`` of Python's json (C=inf, the running fit's best_score -inf), saved at
iteration 5 of 12.
"""

from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).parent / "fixtures"
OLD_MODEL = FIXTURES / "old_model.lograd"
OLD_MODEL_PARAMS = dict(C=np.inf, max_iter=50)
OLD_MODEL_INFO = {"inf": float("inf"), "minus_inf": float("-inf"), "nan": float("nan"),
                  "classes": {0: "no", 1: "yes"}}
OLD_CHECKPOINT = FIXTURES / "old_checkpoint"
OLD_CHECKPOINT_PARAMS = dict(solver="sgd", learning_rate=0.05, batch_size=8, random_state=3,
                             tol=0, max_iter=12, C=np.inf, checkpoint_every=5)
OLD_CHECKPOINT_ITERATION = 5


def data():
    """40 rows, 3 features, two classes (the same on every machine: RandomState is stable)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    y = (X @ [1.0, -2.0, 0.5] + 0.3 * rng.normal(size=40) > 0).astype(int)
    return X, y
