"""File sets: a directory or glob of data files trained on as one table, within a memory budget.

A file set is read twice, a chunk at a time, so memory does not grow with its size:

1. :func:`scan` decides one schema for all files (numeric and categorical columns with the
   union of their categories, the target's classes; :class:`lograd.files.tables.FileSetSchema`) and
   counts the rows.
2. :func:`load` then concatenates the encoded chunks in memory when they fit the budget;
   otherwise :func:`spill` writes every encoded chunk as ``.npy`` files (X and y, training and
   test rows apart), fits a :class:`~sklearn.preprocessing.StandardScaler` incrementally on the
   training rows (Chan's parallel mean/variance updates) and rewrites the chunks standardized,
   and :func:`lograd.backends.dask.spilled_arrays` gives row-chunked dask arrays reading them
   (one ``np.load`` task per chunk file), for ``LogisticRegression.fit``: each gradient
   evaluation streams the chunks from disk through the fused kernel.

Which rows are held out for testing is decided row by row from a hash of (seed, file, row), so
the split does not depend on how the files are cut into chunks (hence on the budget): the
in-memory and the streamed fit see the same training rows. The split is not stratified.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from lograd.errors import UserError
from lograd.files.tables import (
    FileSetSchema,
    Schema,
    encode_frame,
    file_format,
    iter_frames,
    splitmix64,
    too_large,
)

GLOB_CHARS = "*?["
# The in-memory path holds the encoded table about this many times (the chunks, their
# concatenation, the train/test copies, the standardized copy): it is taken when that fits.
IN_MEMORY_COPIES = 4
# Chunks in flight at once (reading one while others are encoded or fitted, one per thread):
# a chunk gets this fraction of the budget.
CHUNKS_IN_BUDGET = 8
# Spilled chunks in memory at once while fitting (two threads, each loading one chunk while the
# kernel runs on another, plus copies): a spilled chunk gets this fraction of the budget.
SPILLED_CHUNKS_IN_BUDGET = 16
_PROBE_ROWS = 1000
_FALLBACK_BUDGET = 1 << 30


# -- which files --------------------------------------------------------------------------------
def expand(data: str) -> list[str] | None:
    """The data files of DATA when it is a directory or a glob pattern; None for one file.

    A directory's files are taken sorted by name, leaving out hidden files and names starting
    with ``_`` (such as Spark's ``_SUCCESS``); all must have one format.

    Raises
    ------
    UserError
        An empty directory, a pattern matching no file, or files of mixed formats.
    """
    data = os.fspath(data)
    if os.path.isdir(data):
        files = sorted(os.path.join(data, name) for name in os.listdir(data)
                       if not name.startswith((".", "_"))
                       and os.path.isfile(os.path.join(data, name)))
        if not files:
            raise UserError(f"{data}: the directory holds no data files")
    elif any(c in data for c in GLOB_CHARS) and not os.path.exists(data):
        files = sorted(p for p in glob.glob(data) if os.path.isfile(p))
        if not files:
            raise UserError(f"{data}: no file matches this pattern")
    else:
        return None
    _check_one_format(data, files)
    return files


def _check_one_format(data: str, files: list) -> None:
    first = file_format(files[0])
    for path in files[1:]:
        if file_format(path) != first:
            raise UserError(f"{data}: files of mixed formats ({os.path.basename(files[0])} is "
                            f"{first.upper()}, {os.path.basename(path)} is "
                            f"{file_format(path).upper()}); a file set holds one format (select "
                            "one with a quoted glob such as 'DIR/*.parquet')")


def estimated_bytes(path: str) -> int:
    """A cheap estimate of a file's table in memory as float64: from Parquet/NPY metadata, else
    the file's size (a number written as text takes about as many bytes as a float64)."""
    path = os.fspath(path)
    with contextlib.suppress(Exception):  # unreadable here: the reader will name the problem
        fmt = file_format(path)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            return int(meta.num_rows) * int(meta.num_columns) * 8
        if fmt == "npy":
            array = np.load(path, mmap_mode="r", allow_pickle=False)
            return int(array.size) * 8
    return os.path.getsize(path) if os.path.isfile(path) else 0


# -- the budget -----------------------------------------------------------------------------------
def default_budget() -> int:
    """Half of the memory available now (MemAvailable in /proc/meminfo, else psutil), bytes."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 2
    with contextlib.suppress(Exception):
        import psutil

        return int(psutil.virtual_memory().available) // 2
    return _FALLBACK_BUDGET


def format_bytes(n: float) -> str:
    """``48.0 MiB``-style sizes for messages."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


# -- pass 1: the schema ---------------------------------------------------------------------------
@dataclass
class FileSet:
    """A scanned file set.

    Attributes
    ----------
    files : list of str
    source : str
        DATA as the user gave it, for messages.
    schema : Schema
    classes : ndarray of shape (n_classes,)
        The target's classes over all files, sorted (int64 or str).
    labels_as_text : bool
    rows : int
        Data rows in all files (before leaving out rows with missing values).
    chunk_rows : int
        Rows read at a time, chosen from the budget.
    reading : dict
        ``delimiter`` and ``header`` as given.
    budget : int
        Bytes of memory for the data.
    """

    files: list
    source: str
    schema: Schema
    classes: np.ndarray
    labels_as_text: bool
    rows: int
    chunk_rows: int
    reading: dict = field(default_factory=dict)
    budget: int = 0

    @property
    def n_features(self) -> int:
        return len(self.schema.feature_names)

    @property
    def spill_rows(self) -> int:
        """Rows per spilled chunk: its encoded rows take 1/SPILLED_CHUNKS_IN_BUDGET of the
        budget (no raw frame is held while fitting, so it can hold more rows than a read)."""
        per_chunk = self.budget // SPILLED_CHUNKS_IN_BUDGET // (8 * max(self.n_features, 1))
        return max(self.chunk_rows, int(per_chunk))

    @property
    def encoded_bytes(self) -> int:
        """The encoded table's size: rows x features x 8 bytes."""
        return self.rows * self.n_features * 8

    def fits(self, budget: int) -> bool:
        """Whether the in-memory path's copies of the table fit ``budget`` bytes."""
        return IN_MEMORY_COPIES * self.encoded_bytes <= budget

    def frames(self, file_index: int) -> Iterator:
        return iter_frames(self.files[file_index], self.chunk_rows, **self.reading)


def scan(files, source, target=None, features=None, delimiter=None, header=None,
         budget=None, exclude=None, keep=None) -> FileSet:
    """Pass 1 over a file set: one schema, the classes, the row count.

    Parameters
    ----------
    files : list of str
        The data files, one format (see :func:`expand`).
    source : str
        What to call the set in messages (e.g. the directory).
    target, features, delimiter, header, exclude, keep
        As for :func:`lograd.files.tables.read_table`.
    budget : int, optional
        Bytes of memory for the data (default :func:`default_budget`); chunks get a fraction.

    Returns
    -------
    FileSet
    """
    budget = default_budget() if budget is None else int(budget)
    reading = {"delimiter": delimiter, "header": header}
    _check_row_groups(files, budget)
    chunk_rows = _chunk_rows(files[0], budget, reading)
    census = FileSetSchema(target, features, exclude, keep)
    for path in files:
        for frame in iter_frames(path, chunk_rows, **reading):
            census.add(frame)
    schema, classes, as_text = census.finish()
    return FileSet(list(files), source, schema, classes, as_text, census.rows, chunk_rows,
                   reading, budget)


# Decoding a Parquet row group takes about this many times its size as float64 (measured with
# pyarrow 26: the compressed pages, the decoded arrays, the pandas frame).
ROW_GROUP_COST = 5


def _check_row_groups(files, budget) -> None:
    """Warn when a Parquet file's row groups, each decoded whole, are large for the budget."""
    if file_format(files[0]) != "parquet":
        return
    import pyarrow.parquet as pq

    for path in files:
        with contextlib.suppress(Exception):  # an unreadable file is named by the reader
            meta = pq.ParquetFile(path).metadata
            rows = max(meta.row_group(i).num_rows for i in range(meta.num_row_groups))
            size = rows * meta.num_columns * 8
            if ROW_GROUP_COST * size > budget // 2:
                warnings.warn(f"{path}: row groups of up to {rows} rows ({format_bytes(size)} "
                              f"as float64) are read whole, which takes about {ROW_GROUP_COST}x "
                              f"that, large for a budget of {format_bytes(budget)}; write the "
                              "files with smaller row groups (pyarrow: row_group_size=...)",
                              stacklevel=3)
                return


def _chunk_rows(path, budget, reading) -> int:
    """Rows per chunk: a chunk's raw frame and its encoding take 1/CHUNKS_IN_BUDGET of it."""
    probe = next(iter_frames(path, _PROBE_ROWS, **reading), None)
    if probe is None:
        return 65536
    raw = probe.df.memory_usage(deep=True, index=True).sum() / len(probe.df)
    row_bytes = raw + 8 * probe.df.shape[1] * 2  # raw + encoded (one-hot widens: counted twice)
    return max(10, int(budget // CHUNKS_IN_BUDGET // row_bytes))


# -- pass 2: encoded chunks, split row by row ------------------------------------------------
@dataclass
class Part:
    """Encoded rows of one chunk of one file."""

    X: np.ndarray  # (rows, n_features) float64
    y: np.ndarray  # (rows,)
    test: np.ndarray  # (rows,) bool: held out
    n_dropped: int


def iter_parts(fileset: FileSet, seed: int, test_size: float,
               drop_missing: bool = False) -> Iterator[Part]:
    """Every chunk of every file, encoded with the set's schema, each row marked train/test."""
    for file_index in range(len(fileset.files)):
        for frame in fileset.frames(file_index):
            X, y, rows = encode_frame(frame, fileset.schema, fileset.labels_as_text,
                                      drop_missing)
            huge = too_large(X, fileset.schema.feature_names, frame.source,
                             lambda i, rows=rows, frame=frame: frame.where(int(rows[i])))
            if huge is not None:
                raise huge
            test = test_rows(seed, file_index, rows, test_size)
            yield Part(X, y.astype(fileset.classes.dtype), test, len(frame.df) - len(rows))


def test_rows(seed: int, file_index: int, rows: np.ndarray, test_size: float) -> np.ndarray:
    """Which rows are held out: ``u < test_size`` with ``u`` in [0, 1) hashed from
    (seed, file, row) by SplitMix64, the same whatever the chunking."""
    if test_size == 0:
        return np.zeros(len(rows), dtype=bool)
    key = splitmix64(np.array([seed & (2**64 - 1)], dtype=np.uint64))[0]
    key = splitmix64(np.array([key ^ np.uint64(file_index)], dtype=np.uint64))[0]
    u = (splitmix64(rows.astype(np.uint64) ^ key) >> np.uint64(11)) * 2.0**-53
    return u < test_size


@dataclass
class Split:
    """Training and test rows in memory."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_dropped: int


def load(fileset: FileSet, seed: int, test_size: float, drop_missing: bool = False) -> Split:
    """The whole set in memory, split row by row (see :func:`test_rows`), files in order."""
    train_X, train_y, test_X, test_y, dropped = [], [], [], [], 0
    for part in iter_parts(fileset, seed, test_size, drop_missing):
        train_X.append(part.X[~part.test])
        train_y.append(part.y[~part.test])
        test_X.append(part.X[part.test])
        test_y.append(part.y[part.test])
        dropped += part.n_dropped
    d, dtype = fileset.n_features, fileset.classes.dtype
    split = Split(_stack(train_X, d), _concat(train_y, dtype), _stack(test_X, d),
                  _concat(test_y, dtype), dropped)
    check_training_rows(split.y_train, fileset)
    return split


def _stack(blocks, d) -> np.ndarray:
    return np.concatenate(blocks) if blocks else np.empty((0, d))


def _concat(blocks, dtype) -> np.ndarray:
    return np.concatenate(blocks) if blocks else np.empty(0, dtype=dtype)


def check_training_rows(y_train: np.ndarray, fileset: FileSet) -> None:
    """Refuse a split that leaves a class (or every row) out of training."""
    counts = _class_counts(y_train, fileset.classes)
    _check_counts(counts, fileset)


def _class_counts(y, classes) -> np.ndarray:
    return np.bincount(np.searchsorted(classes, y), minlength=len(classes))


def _check_counts(counts, fileset) -> None:
    if counts.sum() == 0:
        raise UserError(f"{fileset.source}: no training rows left (all rows have missing "
                        "values, or --test-size holds them all out)")
    absent = [str(c) for c, n in zip(fileset.classes, counts) if n == 0]
    if absent:
        raise UserError(f"{fileset.source}: class {absent[0]!r} has no training rows (only "
                        "test rows, or rows with missing values); pass a smaller --test-size")


# -- pass 2 for data larger than the budget: spill to .npy files ---------------------------------
@dataclass
class SpilledPart:
    """One chunk's rows on disk."""

    X_path: str
    y_path: str
    rows: int


@dataclass
class Spill:
    """A file set written as encoded (and standardized) chunks.

    Attributes
    ----------
    directory : str
    train, test : list of SpilledPart
    scaler : sklearn StandardScaler or None
        Fitted on the training rows (the chunks on disk are already standardized with it).
    class_counts : dict of str -> ndarray of shape (n_classes,)
        Rows per class, for "train" and "test".
    n_dropped : int
    """

    directory: str
    train: list
    test: list
    scaler: object
    class_counts: dict
    n_dropped: int

    @property
    def n_chunks(self) -> int:
        return len(self.train) + len(self.test)


@contextlib.contextmanager
def spill_directory(parent=None):
    """A fresh directory (in ``parent``, default the system's temp dir), removed at the end
    whatever happens."""
    if parent is not None and not os.path.isdir(parent):
        raise UserError(f"--spill-dir {parent}: no such directory")
    try:
        directory = tempfile.mkdtemp(prefix="lograd-spill-", dir=parent)
    except OSError as exc:
        raise UserError(f"--spill-dir {parent}: cannot create a directory there "
                        f"({exc.strerror})") from None
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def spill(fileset: FileSet, directory: str, seed: int, test_size: float,
          drop_missing: bool = False, standardize: bool = True) -> Spill:
    """Write the set's encoded chunks to ``directory`` as ``.npy`` files, and standardize them.

    Memory: a few chunks (:attr:`FileSet.chunk_rows` rows read at a time, joined into
    chunk files of :attr:`FileSet.spill_rows` rows). Each file is written to a
    temporary name and renamed, so no half-written chunk is ever read.

    Returns
    -------
    Spill
    """
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler() if standardize else None
    k = len(fileset.classes)
    counts = {"train": np.zeros(k, dtype=np.int64), "test": np.zeros(k, dtype=np.int64)}
    writers = {name: _ChunkWriter(directory, name, fileset.spill_rows) for name in counts}
    n_dropped = 0
    for part in iter_parts(fileset, seed, test_size, drop_missing):
        n_dropped += part.n_dropped
        for name, mask in (("train", ~part.test), ("test", part.test)):
            if mask.any():
                X, y = part.X[mask], part.y[mask]
                if name == "train" and scaler is not None:
                    scaler.partial_fit(X)  # Chan et al.'s pairwise mean/variance update
                writers[name].add(X, y)
                counts[name] += _class_counts(y, fileset.classes)
    _check_counts(counts["train"], fileset)
    train, test = (writers[name].close() for name in ("train", "test"))
    if scaler is not None:
        for spilled in train + test:
            X = np.load(spilled.X_path)
            _save(spilled.X_path, scaler.transform(X, copy=False))
    return Spill(directory, train, test, scaler, counts, n_dropped)


class _ChunkWriter:
    """Gathers one split's rows into chunk files of ``rows`` rows (the last one fewer), however
    the reads were cut (small Parquet row groups, say): fewer, larger chunks cost dask less."""

    def __init__(self, directory: str, name: str, rows: int):
        self.directory, self.name, self.rows = directory, name, rows
        self.blocks, self.buffered, self.parts = [], 0, []

    def add(self, X: np.ndarray, y: np.ndarray) -> None:
        self.blocks.append((X, y))
        self.buffered += len(y)
        while self.buffered >= self.rows:
            X, y = self._joined()
            self._write(X[:self.rows], y[:self.rows])
            self.blocks = [(X[self.rows:], y[self.rows:])]
            self.buffered = len(y) - self.rows

    def close(self) -> list:
        if self.buffered:
            self._write(*self._joined())
        return self.parts

    def _joined(self):
        if len(self.blocks) == 1:
            return self.blocks[0]
        return (np.concatenate([b[0] for b in self.blocks]),
                np.concatenate([b[1] for b in self.blocks]))

    def _write(self, X, y) -> None:
        stem = f"{self.name}-{len(self.parts):06d}"
        self.parts.append(_write_part(self.directory, stem, X, y))


def _write_part(directory, stem, X, y) -> SpilledPart:
    X_path = os.path.join(directory, f"{stem}-X.npy")
    y_path = os.path.join(directory, f"{stem}-y.npy")
    _save(X_path, np.ascontiguousarray(X))
    _save(y_path, y)
    return SpilledPart(X_path, y_path, len(y))


def _save(path, array) -> None:
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise UserError(f"spill directory {os.path.dirname(path)}: cannot write "
                        f"({exc.strerror or exc})") from None


def use_system_allocator() -> None:
    """Make pyarrow allocate with malloc: its default pool (mimalloc) keeps the pages of
    freed row groups, which costs tens of MB while streaming through many files."""
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def iter_spilled(parts) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(X, y)`` of each spilled chunk, loaded one at a time."""
    for part in parts:
        yield np.load(part.X_path), np.load(part.y_path)
