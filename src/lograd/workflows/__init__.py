"""What each ``lograd`` command does, as functions of Python values; the CLI only parses its
flags into their parameters and prints what they return.

- :func:`train`: read a data file (or the bundled data), split, fit, score, save the model and
  an HTML report; in memory, streamed from disk, or on Dask (:class:`TrainResult`);
- :func:`predict`: a saved model's labels and probabilities for every row of a file, streamed
  to CSV (:class:`PredictResult`);
- :func:`evaluate`: a saved model's metrics on labelled data (:class:`EvaluateResult`);
- :func:`explain`: the lecture's trace (or the two-layer network's), with its pictures and
  step-through page (:class:`ExplainResult`).

Messages name the functions' parameters between backquotes (`` `output` m.lograd: is a
directory``), so that the CLI can write its flags there instead. Importing this package loads
no third-party library: each function imports what it uses when it runs.

Examples
--------
>>> from lograd import workflows
>>> result = workflows.train(output="model.lograd")  # doctest: +SKIP
>>> result.metrics["test"]["accuracy"]  # doctest: +SKIP
0.9824561403508771
"""

from lograd.workflows._cluster import parse_address as parse_dask_address
from lograd.workflows._evaluate import EvaluateResult, evaluate
from lograd.workflows._explain import ExplainResult, explain
from lograd.workflows._predict import DEFAULT_CHUNK_ROWS, PredictResult, predict
from lograd.workflows._train import TrainListener, TrainResult, train

__all__ = ["DEFAULT_CHUNK_ROWS", "EvaluateResult", "ExplainResult", "PredictResult",
           "TrainListener", "TrainResult", "evaluate", "explain", "parse_dask_address", "predict",
           "train"]
