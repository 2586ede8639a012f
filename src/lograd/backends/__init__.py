"""Where a fit's rows live, chosen once per fit from the input.

- :mod:`~lograd.backends.memory`: NumPy arrays and SciPy sparse matrices in this process;
- :mod:`~lograd.backends.dask`: row-chunked dask arrays and DataFrames: the model's block sums
  computed where the blocks live and tree-added, epochs of mini-batch solvers over blocks.

Both offer the same methods (validation, weights, the held-out split, the objective, the epochs
of mini-batch solvers, the validation score, predictions); an estimator asks
:func:`for_data` once and never branches on the kind of input.
"""

from __future__ import annotations


def is_dask(value) -> bool:
    """A dask collection (array, DataFrame, Series), recognised without importing dask."""
    return type(value).__module__.split(".")[0] == "dask"


def for_data(X):
    """The backend of X: Dask for a dask collection, else memory."""
    if is_dask(X):
        from lograd.backends.dask import DASK

        return DASK
    from lograd.backends.memory import MEMORY

    return MEMORY
