"""Reading and validating tables from files: the only place in lograd that parses a file.

Formats: CSV and TSV (with or without a header line, quoted fields, any one-character
delimiter), Parquet, NumPy ``.npy`` (a 2-D array) and ``.npz`` (arrays ``X``, optional ``y`` and
``feature_names``, or a single 2-D array).

Every problem is a :class:`lograd.errors.UserError` whose message names the file and, where it
applies, the line (for text files: the line number as an editor shows it, the header being line
1) or the row (for binary formats: the 1-based data row) and the column.

Feature columns are numeric, or *categorical*: a column of words (at most
:data:`MAX_CATEGORIES` distinct values) is one-hot encoded, one 0/1 feature per category, and the
categories are kept in the :class:`Schema` saved with the model. A column of numbers with a few
non-numbers in it (a typo such as ``x`` or ``1,5``) is an error naming the line and column, never
a category.

The two entry points are :func:`read_table` (the whole table in memory, for training and
evaluation) and :func:`iter_chunks` (a fixed number of rows at a time, so that prediction on a
large file uses bounded memory).
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import functools
import importlib
import io
import lzma
import os
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lograd.errors import UserError, shown

MAX_CATEGORIES = 50
MAX_INTEGER_CLASSES = 20  # an integer target with more distinct values is taken as continuous
TEXT_FORMATS = ("csv", "tsv", "text")
_BOOL_WORDS = {"true": 1.0, "false": 0.0}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


@dataclass
class Schema:
    """How a file's columns become the model's input features; saved with the model.

    Attributes
    ----------
    columns : list of str
        The file's columns used as features, in order.
    categories : dict of str -> list of str
        For each categorical (one-hot encoded) column, its categories in feature order.
    target : str or None
        The target column's name in the training file.
    header : bool
        Whether the training data had column names (else columns are matched by position).
    file_columns : list of str
        All columns of the training file (to match files without a header line by position).
    dates : list of str
        Feature columns holding dates, read as days since 1970-01-01 UTC (in every format).
    left_out : dict of str -> str
        Columns of the training file not used as features, and why: ``--exclude``, or why
        they look like identifiers (see :func:`identifier_reason`).
    """

    columns: list
    categories: dict = field(default_factory=dict)
    target: str | None = None
    header: bool = True
    file_columns: list = field(default_factory=list)
    dates: list = field(default_factory=list)
    left_out: dict = field(default_factory=dict)

    @property
    def feature_names(self) -> list:
        """The model's input features: numeric columns as they are, ``column=category`` else."""
        names = []
        for column in self.columns:
            if column in self.categories:
                names.extend(f"{column}={c}" for c in self.categories[column])
            else:
                names.append(column)
        return names

    def to_dict(self) -> dict:
        return {"columns": list(self.columns), "categories": dict(self.categories),
                "target": self.target, "header": self.header,
                "file_columns": list(self.file_columns), "dates": list(self.dates),
                "left_out": dict(self.left_out)}

    @classmethod
    def from_dict(cls, d: dict) -> Schema:
        return cls(columns=[str(c) for c in d["columns"]],
                   categories={str(k): [str(c) for c in v] for k, v in d["categories"].items()},
                   target=d.get("target"), header=bool(d["header"]),
                   file_columns=[str(c) for c in d["file_columns"]],
                   dates=[str(c) for c in d.get("dates", [])],
                   left_out={str(k): str(v) for k, v in d.get("left_out", {}).items()})

    def decisions(self) -> list:
        """``(what, columns)`` pairs saying which columns were left out and why, and which
        were read as dates: for the training summary and the report."""
        groups = {}
        for column, reason in self.left_out.items():
            groups.setdefault(reason, []).append(column)
        found = [(f"left out ({reason})", columns) for reason, columns in groups.items()]
        if self.dates:
            found.append(("dates, as days since 1970-01-01", list(self.dates)))
        return found


@dataclass
class Table:
    """A validated table.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,) or None
        Class labels: int64 for integer labels, str for words; None without a target column.
    feature_names : list of str, length n_features
    schema : Schema
    source : str
        The file name, for messages.
    n_dropped : int
        Rows left out because of missing values (only with ``drop_missing=True``).
    rows : ndarray of shape (n_samples,) or None
        Each row's 0-based data row in the file.
    locate : callable or None
        ``locate(data_row) -> "line 7"`` (text files) or ``"row 7"``: how a message names it.
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list
    schema: Schema
    source: str
    n_dropped: int = 0
    rows: np.ndarray | None = None
    locate: object = None

    def where(self, i: int) -> str:
        """Name row ``i`` of ``X`` as the user sees it in the file, e.g. "line 7"."""
        if self.rows is None or self.locate is None:
            return f"row {i + 1}"
        return self.locate(int(self.rows[i]))


# -- the raw frame ---------------------------------------------------------------------------------
@dataclass
class _Frame:
    """A pandas frame with string column names plus what is needed to name a row in messages."""

    df: pd.DataFrame
    source: str
    header: bool
    text: bool  # True for CSV/TSV: rows are named by their line in the file
    delimiter: str = ","

    def where(self, index: int) -> str:
        """Name a data row (0-based ``index`` into the data) as the user sees it: its line in a
        text file (counting blank lines and the lines of quoted multi-line fields, as an editor
        does), else its 1-based row."""
        if self.text:
            return f"line {_record_line(self.source, self.delimiter, self.header, int(index))}"
        return f"row {index + 1}"


def file_format(path: str) -> str:
    """'csv', 'tsv', 'parquet', 'npy', 'npz' or 'text', from the file name."""
    name = os.path.basename(str(path)).lower()
    for suffix in (".gz", ".bz2", ".zip", ".xz", ".zst"):
        if name.endswith(suffix) and not name.endswith(".npz"):
            name = name[: -len(suffix)]
    for ext, fmt in ((".parquet", "parquet"), (".pq", "parquet"), (".npy", "npy"),
                     (".npz", "npz"), (".tsv", "tsv"), (".tab", "tsv"), (".csv", "csv")):
        if name.endswith(ext):
            return fmt
    return "text"


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise UserError(f"{path}: no such file")
    if os.path.isdir(path):
        raise UserError(f"{path}: is a directory, not a data file")
    if not os.access(path, os.R_OK):
        raise UserError(f"{path}: permission denied")
    if os.path.getsize(path) == 0:
        raise UserError(f"{path}: the file is empty")


_COMPRESSED = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma", ".zip": "zip", ".zst": "zstd"}


@contextlib.contextmanager
def _open_text(path: str, encoding: str = "utf-8-sig"):
    """A text file, decompressed as pandas does by its suffix (.gz, .bz2, .xz, .zip, .zst)."""
    kind = _COMPRESSED.get(os.path.splitext(path.lower())[1])
    with contextlib.ExitStack() as stack:
        try:
            raw = stack.enter_context(_open_binary(path, kind))
            text = stack.enter_context(io.TextIOWrapper(raw, encoding=encoding, newline=""))
        except (OSError, zipfile.BadZipFile, ImportError) as exc:
            raise UserError(f"{path}: cannot open as {kind or 'text'} ({exc})") from None
        try:
            yield text
        except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
            raise UserError(f"{path}: cannot read as {kind or 'text'} ({exc})") from None


@contextlib.contextmanager
def _open_binary(path: str, kind: str | None):
    if kind is None:
        with open(path, "rb") as f:
            yield f
    elif kind == "zip":
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            if len(names) != 1:
                raise UserError(f"{path}: a ZIP data file must hold exactly one file, it holds "
                                f"{len(names)}")
            with archive.open(names[0]) as f:
                yield f
    else:
        module = importlib.import_module("zstandard" if kind == "zstd" else kind)
        with module.open(path, "rb") as f:
            yield f


def _records(path: str, delimiter: str) -> Iterator[tuple[int, list]]:
    """``(line, fields)`` of each record of a text file, skipping blank lines as pandas does;
    ``line`` is where the record starts (a quoted field may span lines)."""
    with _open_text(path) as f:
        reader = csv.reader(f, delimiter=delimiter, skipinitialspace=True)
        end = 0  # the line the previous record ended on
        for row in reader:
            if row and row != [""]:
                yield end + 1, row
            end = reader.line_num


def _first_record(path: str, delimiter: str) -> tuple[int, list]:
    return next(_records(path, delimiter), (1, []))


def _record_line(path: str, delimiter: str, header: bool, index: int) -> int:
    """The line on which data row ``index`` (0-based, as pandas counts) starts."""
    stat = os.stat(path)
    return _cached_record_line(path, stat.st_mtime_ns, stat.st_size, delimiter, header, index)


@functools.lru_cache(maxsize=32)
def _cached_record_line(path, mtime_ns, size, delimiter, header, index) -> int:
    skip = index + (1 if header else 0)
    for count, (line, _) in enumerate(_records(path, delimiter)):
        if count == skip:
            return line
    return index + (2 if header else 1)  # past the end (cannot happen for a row pandas read)


def _sample(path: str) -> str:
    with _open_text(path, encoding="utf-8") as f:
        return f.read(64 * 1024)


def _sniff_delimiter(path: str) -> str:
    try:
        return csv.Sniffer().sniff(_sample(path), delimiters=",;\t|").delimiter
    except (csv.Error, UnicodeDecodeError):
        return ","


def _delimiter_hint(path: str, used: str) -> str:
    """``; pass --delimiter ';'`` when the file looks delimited by another character."""
    found = _sniff_delimiter(path)
    if found == used or found not in _sample(path).split("\n", 1)[0]:
        return ""
    return f"; the lines look delimited by {found!r}: pass --delimiter {_shell(found)}"


def _shell(delimiter: str) -> str:
    return "'\\t'" if delimiter == "\t" else f"'{delimiter}'"


def _resolve_delimiter(path: str, fmt: str, delimiter: str | None) -> str:
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise UserError(f"--delimiter must be one character, got {delimiter!r}")
        return delimiter
    if fmt == "tsv":
        return "\t"
    if fmt == "csv":
        return ","
    return _sniff_delimiter(path)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _header_names(path: str, delimiter: str) -> list:
    """The header line's column names; a name given twice is an error naming it."""
    line, names = _first_record(path, delimiter)
    names = [name.strip() for name in names]
    for i, name in enumerate(names):
        if name and name in names[i + 1:]:
            j = names.index(name, i + 1)
            raise UserError(f"{path}: line {line}: duplicate column name {name!r} (columns "
                            f"{i + 1} and {j + 1}); rename one")
    return names


def _text_read_options(path, fmt, delimiter, header):
    given = delimiter is not None
    delimiter = _resolve_delimiter(path, fmt, delimiter)
    try:
        if header is None:  # a first line none of whose fields is a number is the header
            first = _first_record(path, delimiter)[1]
            header = not any(_looks_numeric(field.strip()) for field in first)
        if header:
            _header_names(path, delimiter)
    except UnicodeDecodeError:
        raise _not_text(path, fmt) from None
    except csv.Error as exc:
        raise UserError(f"{path}: line 1: {exc}") from None
    options = dict(sep=delimiter, header=0 if header else None, index_col=False,
                   encoding="utf-8-sig", skipinitialspace=True, low_memory=False)
    return options, header, given


def _not_text(path, fmt) -> UserError:
    return UserError(f"{path}: not UTF-8 text (is it really a {fmt.upper()} file?)")


def _name_columns(df: pd.DataFrame, header: bool, source: str) -> pd.DataFrame:
    if header:
        names = [str(c).strip() for c in df.columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise UserError(f"{source}: duplicate column name(s) {', '.join(duplicates)}")
    else:
        names = [str(i) for i in range(df.shape[1])]  # headerless: columns are "0", "1", ...
    df.columns = names
    return df


def _ragged(path: str, delimiter: str, n_fields: int, given: bool) -> UserError | None:
    """The first record whose field count differs from ``n_fields``, as an error."""
    for line, row in _records(path, delimiter):
        if len(row) != n_fields:
            hint = "" if given else _delimiter_hint(path, delimiter)
            return UserError(f"{path}: line {line}: ragged row: {len(row)} fields where the "
                             f"first row has {n_fields}{hint}")
    return None


@contextlib.contextmanager
def _csv_errors(path, fmt, delimiter, given):
    """pandas' reading errors (and its warning that a row is longer than the header, which
    drops data) as one-line UserErrors naming the file and line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            yield
    except pd.errors.EmptyDataError:
        raise UserError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        n_fields = len(_first_record(path, delimiter)[1])
        ragged = _ragged(path, delimiter, n_fields, given)
        if ragged is not None:
            raise ragged from None
        message = str(exc)
        raise UserError(f"{path}: cannot parse as {file_format(path).upper()}: "
                        f"{message.splitlines()[-1] if message else type(exc).__name__}") \
            from None
    except UnicodeDecodeError:
        raise _not_text(path, fmt) from None


def _check_one_column(frame: _Frame, given: bool) -> None:
    """A file read as one column but delimited by something else: say which delimiter."""
    if frame.df.shape[1] == 1 and not given:
        hint = _delimiter_hint(frame.source, frame.delimiter)
        if hint:
            raise UserError(f"{frame.source}: every line reads as one column with the "
                            f"delimiter {frame.delimiter!r}{hint}")


def _read_text(path, fmt, delimiter, header) -> _Frame:
    options, header, given = _text_read_options(path, fmt, delimiter, header)
    with _csv_errors(path, fmt, options["sep"], given):
        df = pd.read_csv(path, **options)
    frame = _Frame(_name_columns(df, header, path), path, header, True, options["sep"])
    _check_one_column(frame, given)
    _check_short_rows(frame)
    return frame


def _read_parquet(path) -> _Frame:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged or foreign file
        raise UserError(f"{path}: cannot read as Parquet ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    return _Frame(_name_columns(df, True, path), path, header=True, text=False)


def _read_numpy(path, fmt) -> _Frame:
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise UserError(f"{path}: cannot read as {fmt.upper()} (object arrays are refused: "
                        f"{exc})") from None
    except Exception as exc:
        raise UserError(f"{path}: cannot read as {fmt.upper()} ({type(exc).__name__})") from None
    if fmt == "npy":
        return _Frame(_frame_from_matrix(loaded, path, "the array"), path, False, text=False)
    with loaded:
        arrays = {key: loaded[key] for key in loaded.files}
    if "X" in arrays:
        df = _frame_from_matrix(arrays["X"], path, "array 'X'")
        header = "feature_names" in arrays
        if header:
            names = [str(n) for n in np.asarray(arrays["feature_names"]).ravel()]
            if len(names) != df.shape[1]:
                raise UserError(f"{path}: 'feature_names' has {len(names)} names but 'X' has "
                                f"{df.shape[1]} columns")
            df.columns = names
        if "y" in arrays:
            y = np.asarray(arrays["y"])
            if y.ndim != 1 or len(y) != len(df):
                raise UserError(f"{path}: 'y' must be 1-D with one label per row of 'X' "
                                f"({len(df)}), got shape {y.shape}")
            df["y"] = y
        return _Frame(_name_columns(df, True, path), path, header=header, text=False)
    if len(arrays) == 1:
        (key, matrix), = arrays.items()
        return _Frame(_frame_from_matrix(matrix, path, f"array '{key}'"), path, False, False)
    raise UserError(f"{path}: an NPZ data file needs an array 'X' (and 'y'), or a single 2-D "
                    f"array; found {', '.join(sorted(arrays)) or 'no arrays'}")


def _frame_from_matrix(matrix, path, what) -> pd.DataFrame:
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise UserError(f"{path}: {what} must be 2-D (rows x columns), got shape {matrix.shape}")
    return pd.DataFrame(matrix, columns=[str(i) for i in range(matrix.shape[1])])


def read_frame(path, delimiter=None, header=None) -> _Frame:
    """Read a whole file into a frame with string column names (no validation of values)."""
    path = str(path)
    _check_file(path)
    fmt = file_format(path)
    if fmt in TEXT_FORMATS:
        frame = _read_text(path, fmt, delimiter, header)
    elif fmt == "parquet":
        frame = _read_parquet(path)
    else:
        frame = _read_numpy(path, fmt)
    if frame.df.shape[1] == 0:
        raise UserError(f"{path}: no columns")
    if len(frame.df) == 0:
        raise UserError(f"{path}: {'a header line but ' if frame.header else ''}no data rows")
    return frame


# -- columns ---------------------------------------------------------------------------------------
def _resolve_column(spec, frame: _Frame, option: str) -> str:
    """A column given by name, or by 0-based index (negative counts from the end)."""
    spec = str(spec).strip()
    columns = list(frame.df.columns)
    if spec in columns:
        return spec
    try:
        index = int(spec)
    except ValueError:
        shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
        hint = ("; line 1 was read as data: pass --header if it holds column names"
                if frame.text and not frame.header else "")
        raise UserError(f"{frame.source}: {option} {spec!r}: no such column "
                        f"(columns: {shown}){hint}") from None
    if not -len(columns) <= index < len(columns):
        raise UserError(f"{frame.source}: {option} {index}: column index out of range "
                        f"(the file has {len(columns)} columns, 0 to {len(columns) - 1})")
    return columns[index]


def _resolve_columns(specs, frame, option) -> list:
    """Columns named by a comma-separated string or a list (None: none)."""
    if specs is None:
        return []
    specs = specs.split(",") if isinstance(specs, str) else list(specs)
    return list(dict.fromkeys(_resolve_column(s, frame, option) for s in specs
                              if str(s).strip()))


def _select_features(frame, target, features, exclude=None, keep=None):
    """``(columns, left_out, kept)``: the candidate feature columns, the columns ``exclude``
    leaves out (name -> reason), and those never taken for identifiers (``keep``, or all of
    them when ``features`` names them)."""
    excluded = _resolve_columns(exclude, frame, "--exclude")
    kept = set(_resolve_columns(keep, frame, "--keep"))
    if target in excluded:
        raise UserError(f"{frame.source}: --exclude names the target column {target!r}")
    if features is None:
        chosen = [c for c in frame.df.columns if c != target]
    else:
        chosen = _resolve_columns(features, frame, "--features")
        if target in chosen:
            raise UserError(f"{frame.source}: --features includes the target column "
                            f"{target!r}")
        if not chosen:
            raise UserError(f"{frame.source}: --features selects no column")
        kept = set(chosen)  # named features are used as named
    columns = [c for c in chosen if c not in excluded]
    if not columns:
        raise UserError(f"{frame.source}: --exclude leaves no feature column")
    return columns, {c: "--exclude" for c in excluded}, kept


def _decide_columns(schema: Schema, kept: set, census_of, rows: int, source: str) -> None:
    """Leave out the columns that look like identifiers (unless kept) and note the date
    columns, in ``schema``; ``census_of(column)`` is its :class:`_Census` over all rows."""
    for column in list(schema.columns):
        census = census_of(column)
        reason = None if column in kept else identifier_reason(column, census, rows)
        if reason:
            schema.columns.remove(column)
            schema.left_out[column] = reason
        elif census.dates and census.dates == census.numbers and not census.words:
            schema.dates.append(column)
    if not schema.columns:
        shown_ = ", ".join(f"{c!r} ({r})" for c, r in schema.left_out.items())
        raise UserError(f"{source}: no feature column left: {shown_}; pass --keep COLUMN to "
                        "use a column that looks like an identifier")


def _to_number(values: pd.Series) -> pd.Series:
    """Numbers from a column of any dtype; NaN where a value is not a number (dates become
    days since 1970-01-01, see :func:`_numbers_and_dates`)."""
    return _numbers_and_dates(values)[0]


def _numbers_and_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numbers from a column of any dtype, and which of them were dates.

    A date or time is the same number in every format: days since 1970-01-01 00:00 UTC
    (fractional for times; a time without a zone is taken as UTC). Dates are datetime columns
    (Parquet, NumPy datetime64), date/datetime objects (Parquet's date32) and ISO-8601 text
    (``2021-03-04``, ``2021-03-04 10:30``, ``2021-03-04T10:30:00Z``) in CSV. In a column whose
    first non-number is no date, nothing is taken for a date (a word column stays words).
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        days = _days(values)
        return days, days.notna().to_numpy()
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype(float), np.zeros(len(values), dtype=bool)
    text = values.astype(object).where(values.notna(), None)
    lowered = text.map(lambda v: _BOOL_WORDS.get(v.strip().lower(), v) if isinstance(v, str)
                       else None if isinstance(v, _DATE_TYPES) else v)  # no nanoseconds
    numbers = pd.to_numeric(lowered, errors="coerce").astype(float)
    dates = np.zeros(len(values), dtype=bool)
    left = np.flatnonzero(numbers.isna().to_numpy() & text.notna().to_numpy())
    if left.size and _looks_like_date(text.iloc[left[0]]):
        candidates = text.iloc[left].astype(str).str.strip()  # date objects print as ISO 8601
        looks = candidates.str.match(_ISO_DATE).to_numpy(dtype=bool)
        days = _days(candidates[looks]).to_numpy()
        numbers.iloc[left[looks]] = days
        dates[left[looks]] = ~np.isnan(days)
    return numbers, dates


_DATE_TYPES = (datetime.date, np.datetime64)  # datetime.datetime and pd.Timestamp too


def _looks_like_date(value) -> bool:
    return isinstance(value, _DATE_TYPES) or (
        isinstance(value, str) and _ISO_DATE.match(value.strip()) is not None)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
                       r"(?:Z|[+-]\d{2}:?\d{2})?$")
_EPOCH = pd.Timestamp(0, tz="UTC")


def _days(values: pd.Series) -> pd.Series:
    """Days since 1970-01-01 UTC as floats (NaN where a value is no date): of a datetime
    column, or of ISO-8601 strings."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.to_datetime(values, utc=True)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' notes on mixed formats and zones
            stamps = pd.to_datetime(values.astype(object), utc=True, errors="coerce",
                                    format="ISO8601")
    return ((stamps - _EPOCH) / pd.Timedelta(days=1)).astype(float)


# -- identifier columns: a row's name or number, never a feature ---------------------------------
_ID_NAME = re.compile(r"^(id|index|idx|rowid|rownum|row[ _.-]?(id|no|num|number|index)|"
                      r"unnamed: ?\d+)$", re.IGNORECASE)
_ID_SUFFIX = re.compile(r"(?i:[ _.-]id)$|[a-z](Id|ID)$")  # customer_id, user id, PassengerId
MIN_ROWS_FOR_ROW_NUMBERS = 20


def is_identifier_name(name: str) -> bool:
    """``id``, ``ID``, ``index``, ``Unnamed: 0``, ``row_id``, ``PassengerId``, ``user_id``, ...
    (not ``valid``, ``paid``: a bare ``id`` suffix needs a separator or camel case)."""
    name = str(name).strip()
    return bool(_ID_NAME.match(name) or _ID_SUFFIX.search(name))


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, elementwise on uint64 (the arithmetic wraps modulo 2**64)."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@dataclass
class _RowNumbers:
    """Whether a column's values are row numbers: n distinct consecutive whole numbers, in any
    order, counted chunk by chunk (a file set need not fit in memory).

    Distinct consecutive values are tested exactly by count, min and max, and their being
    distinct by a sum of 64-bit hashes (SplitMix64) equal to the range's: a repeated value
    passes only by a 2**-64 chance.
    """

    count: int = 0
    low: float = np.inf
    high: float = -np.inf
    whole: bool = True
    hashes: int = 0  # the sum of splitmix64(value), modulo 2**64

    def add(self, numbers: np.ndarray) -> None:
        """``numbers``: the chunk's present values, float64."""
        if not self.whole or not numbers.size:
            return
        if not (np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers))
                and np.all(np.abs(numbers) < 2.0**53)):
            self.whole = False
            return
        self.count += numbers.size
        self.low, self.high = min(self.low, numbers.min()), max(self.high, numbers.max())
        with np.errstate(over="ignore"):
            h = splitmix64(numbers.astype(np.int64).astype(np.uint64))
            self.hashes = (self.hashes + int(h.sum(dtype=np.uint64))) % 2**64

    def is_range(self, rows: int) -> bool:
        """Every one of ``rows`` rows holds a value, and they are ``low..high`` each once."""
        if not (self.whole and rows >= MIN_ROWS_FOR_ROW_NUMBERS and self.count == rows
                and self.high - self.low + 1 == rows):
            return False
        total, start = 0, int(self.low)
        with np.errstate(over="ignore"):
            for block in range(start, int(self.high) + 1, 1 << 20):
                values = np.arange(block, min(block + (1 << 20), int(self.high) + 1))
                total += int(splitmix64(values.astype(np.uint64)).sum(dtype=np.uint64))
        return total % 2**64 == self.hashes


def identifier_reason(column: str, census, rows: int) -> str | None:
    """Why a feature column looks like an identifier, or None.

    - its name is an identifier's (:func:`is_identifier_name`) and it holds whole numbers, or
      text with every value distinct or more distinct values than a category may have; or
    - it holds row numbers: at least :data:`MIN_ROWS_FOR_ROW_NUMBERS` rows, every value a
      whole number, distinct and consecutive (``0..n-1``, ``1..n``, ``1000..1000+n-1``, in
      any order), and it is not a date column.

    ``census`` is the column's :class:`_Census` over all rows.
    """
    if census.dates and census.dates == census.numbers:
        return None
    numbers_only = census.words == 0
    text = census.words > census.numbers
    distinct_text = text and (census.overflow or len(census.values) == census.words)
    if is_identifier_name(column) and ((numbers_only and census.row_numbers.whole)
                                       or distinct_text):
        return "an identifier, by its name"
    if numbers_only and census.row_numbers.is_range(rows):
        low, high = int(census.row_numbers.low), int(census.row_numbers.high)
        return f"row numbers {low}..{high}"
    return None


def _first_bad(frame: _Frame, column: str, mask: np.ndarray, positions) -> tuple[str, object]:
    i = int(np.flatnonzero(mask)[0])
    value = frame.df[column].iloc[i]
    if isinstance(value, np.generic):
        value = value.item()  # shown as 2.5, not np.float64(2.5)
    return frame.where(int(positions[i])), value


def _is_categorical(frame: _Frame, column: str) -> bool:
    """A column of words (not of numbers with a few typos) is categorical."""
    raw = frame.df[column]
    present = raw.notna().to_numpy()
    numbers = _to_number(raw)
    non_numeric = present & numbers.isna().to_numpy()
    if not non_numeric.any():
        return False
    n_numeric = int((present & ~non_numeric).sum())
    if n_numeric >= non_numeric.sum():  # mostly numbers: the others are typos
        where, value = _first_bad(frame, column, non_numeric, frame.df.index)
        raise UserError(f"{frame.source}: {where}, column {column!r}: {value!r} is not a "
                        f"number{_hint(frame, where, value)}")
    words = raw[non_numeric].astype(str)
    if words.map(lambda w: bool(_DECIMAL_COMMA.match(w.strip()))).mean() > 0.5:
        raise UserError(f"{frame.source}: column {column!r}: values like {words.iloc[0]!r} use a "
                        "decimal comma; write decimal points (1.5), or quote nothing and pick "
                        "another --delimiter")
    n_distinct = raw[present].astype(str).nunique()
    if n_distinct > MAX_CATEGORIES:
        raise UserError(f"{frame.source}: column {column!r} is text with {n_distinct} distinct "
                        f"values (e.g. {words.iloc[0]!r}), too many for a category "
                        f"(at most {MAX_CATEGORIES}); leave it out with --features")
    return True


def _hint(frame: _Frame, where: str, value) -> str:
    """What probably went wrong with a non-number in a numeric column."""
    if isinstance(value, str) and _DECIMAL_COMMA.match(value.strip()):
        return " (write a decimal point: 1.5, not 1,5)"
    if frame.text and not frame.header and where == "line 1":
        return " (if line 1 holds column names, pass --header)"
    return ""


def infer_schema(frame: _Frame, target=None, features=None, exclude=None, keep=None) -> Schema:
    """Decide the target and feature columns and which features are categorical.

    Columns that look like identifiers are left out unless ``features`` names them or
    ``keep`` does (see :func:`identifier_reason`); dates become days since 1970-01-01.
    """
    target_name = _resolve_column(target, frame, "--target") if target is not None else None
    columns, left_out, kept = _select_features(frame, target_name, features, exclude, keep)
    schema = Schema(columns=columns, target=target_name, header=frame.header,
                    file_columns=list(frame.df.columns), left_out=left_out)

    def census_of(column):
        census = _Census()
        census.add(frame, column, MAX_CATEGORIES, target=False)
        return census
    _decide_columns(schema, kept, census_of, len(frame.df), frame.source)
    for column in schema.columns:
        if _is_categorical(frame, column):
            present = frame.df[column].dropna().astype(str).str.strip()
            schema.categories[column] = sorted(present.unique())
    return schema


# -- values ----------------------------------------------------------------------------------------
def _encode(frame: _Frame, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
    """Features (n, n_features) as float64, and a mask of rows with a missing value."""
    n = len(frame.df)
    blocks, missing = [], np.zeros(n, dtype=bool)
    for column in schema.columns:
        raw = frame.df[column]
        absent = raw.isna().to_numpy()
        if column in schema.categories:
            block, unknown = _one_hot(raw, schema.categories[column])
            bad = unknown & ~absent
            if bad.any():
                where, value = _first_bad(frame, column, bad, frame.df.index)
                raise UserError(f"{frame.source}: {where}, column {column!r}: unknown category "
                                f"{value!r} (the model knows "
                                f"{', '.join(schema.categories[column][:10])})")
        else:
            numbers = _to_number(raw).to_numpy()
            bad = np.isnan(numbers) & ~absent
            if bad.any():
                where, value = _first_bad(frame, column, bad, frame.df.index)
                raise UserError(f"{frame.source}: {where}, column {column!r}: {value!r} is not "
                                f"a number{_hint(frame, where, value)}")
            absent = absent | ~np.isfinite(numbers)
            block = numbers[:, None]
        missing |= absent
        blocks.append(block)
    X = np.hstack(blocks) if blocks else np.empty((n, 0))
    return np.ascontiguousarray(X, dtype=np.float64), missing


def _one_hot(raw: pd.Series, categories: list) -> tuple[np.ndarray, np.ndarray]:
    text = raw.astype(object).map(lambda v: None if pd.isna(v) else str(v).strip())
    codes = pd.Index(categories).get_indexer(text)  # -1: missing or unknown
    block = np.zeros((len(raw), len(categories)))
    known = codes >= 0
    block[np.flatnonzero(known), codes[known]] = 1.0
    return block, ~known


def _missing_error(frame: _Frame, schema: Schema, row_mask: np.ndarray) -> UserError:
    i = int(np.flatnonzero(row_mask)[0])
    row = frame.df.iloc[i]
    columns = schema.columns + ([schema.target] if schema.target else [])
    bad = next((c for c in columns if _is_missing(row[c])), columns[0])
    what = "missing value" if pd.isna(row[bad]) else f"non-finite value {shown(row[bad])}"
    count = int(row_mask.sum())
    return UserError(f"{frame.source}: {frame.where(int(frame.df.index[i]))}, column {bad!r}: "
                     f"{what} ({count} row{'s' if count > 1 else ''} affected; pass "
                     "--drop-missing to leave such rows out)")


def _is_missing(value) -> bool:
    if pd.isna(value):
        return True
    try:
        return not np.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _check_short_rows(frame: _Frame) -> None:
    """In a text file, a row with too few fields reads as missing values: name it as ragged.

    pandas fills a short row's last fields with NaN, so the file is scanned only when the last
    column has a missing value, and once per file version (cached), so that streaming through
    a file with missing values stays linear.
    """
    if not frame.text or not frame.df.iloc[:, -1].isna().any():
        return
    stat = os.stat(frame.source)
    ragged = _scan_short_rows(frame.source, stat.st_mtime_ns, stat.st_size, frame.delimiter,
                              frame.df.shape[1])
    if ragged:
        raise ragged


@functools.lru_cache(maxsize=8)
def _scan_short_rows(path, mtime_ns, size, delimiter, n_fields) -> UserError | None:
    return _ragged(path, delimiter, n_fields, given=True)


def _labels(frame: _Frame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Class labels (int64 if every label is an integer, else str) and the missing mask."""
    raw = frame.df[column]
    absent = raw.isna().to_numpy()
    numbers = _to_number(raw).to_numpy()
    non_numeric = np.isnan(numbers) & ~absent
    if not non_numeric.any() and not pd.api.types.is_bool_dtype(raw):
        absent = absent | ~np.isfinite(numbers)
        fractional = np.isfinite(numbers) & (numbers != np.round(numbers))
        if fractional.any():
            where, value = _first_bad(frame, column, fractional, frame.df.index)
            raise UserError(f"{frame.source}: target column {column!r} is continuous "
                            f"({where} has {value!r}); logistic regression needs class labels")
        labels = np.where(absent, 0, numbers).astype(np.int64)
        return labels, absent
    if non_numeric.any() and non_numeric.sum() < (~absent).sum() - non_numeric.sum():
        where, value = _first_bad(frame, column, non_numeric, frame.df.index)
        raise UserError(f"{frame.source}: {where}, target column {column!r}: {value!r} among "
                        "numeric labels (a typo?)")
    text = raw.astype(object).map(lambda v: "" if pd.isna(v) else str(v).strip())
    return text.to_numpy().astype(str), absent


def too_large(X: np.ndarray, feature_names: list, source: str, where) -> UserError | None:
    """The first value too large to train on, as an error naming the file, line and column,
    or None: a value that makes its column's sum of squares overflow (standardizing and every
    solver need it; see :func:`lograd.data_checks.first_overflowing_cell`).

    ``where(i)`` names row ``i`` of ``X`` ("line 7").
    """
    from lograd.data_checks import first_overflowing_cell

    cell = first_overflowing_cell(X)
    if cell is None:
        return None
    i, j = cell
    return UserError(f"{source}: {where(i)}, column {feature_names[j]!r}: {X[i, j]:g} is too "
                     f"large to train on (the squares of the column overflow {X.dtype}); fix "
                     "the value, or leave the column out with --exclude")


def check_classes(y: np.ndarray, source: str, column: str) -> None:
    """Refuse a target with one class, an integer target that looks continuous, or labels
    spelled differently only in case ("Yes", "yes", "YES": surrounding spaces are already
    stripped when a file is read)."""
    classes = np.unique(y)
    if len(classes) < 2:
        raise UserError(f"{source}: target column {column!r} has only one class "
                        f"({shown(classes[0])}); a classifier needs at least two")
    if classes.dtype.kind == "U":
        spellings = {}
        for label in classes.tolist():
            spellings.setdefault(label.casefold(), []).append(label)
        clash = next((labels for labels in spellings.values() if len(labels) > 1), None)
        if clash:
            listed = ", ".join(map(repr, clash))
            raise UserError(f"{source}: target column {column!r} has labels that differ only in "
                            f"case: {listed}; they would be separate classes: spell each class "
                            "one way in the file")
    if y.dtype.kind == "i" and len(classes) > MAX_INTEGER_CLASSES:
        raise UserError(f"{source}: target column {column!r} has {len(classes)} distinct "
                        "integer values; it looks continuous (logistic regression needs class "
                        f"labels; at most {MAX_INTEGER_CLASSES} integer classes are accepted)")


def _apply(frame: _Frame, schema: Schema, with_target: bool, drop_missing: bool):
    X, missing = _encode(frame, schema)
    y = None
    if with_target:
        y, absent = _labels(frame, schema.target)
        missing = missing | absent
    if missing.any() and not drop_missing:
        raise _missing_error(frame, schema, missing)
    return X, y, missing


def read_table(path, target=None, features=None, delimiter=None, header=None,
               drop_missing=False, schema=None, require_target=True, exclude=None,
               keep=None) -> Table:
    """Read, validate and encode a whole table.

    Parameters
    ----------
    path : str or path-like
        CSV/TSV/text, Parquet, NPY or NPZ file (chosen by extension).
    target : str or int, optional
        The target column, by name or 0-based index. Omitted: the NPZ array ``y`` if present,
        else (with ``schema``) the training target, else no target.
    features : str or list, optional
        Feature columns by name or index (a comma-separated string or a list); by default every
        column but the target. Ignored when ``schema`` is given.
    delimiter : str, optional
        Field delimiter of a text file (default: by extension, or sniffed).
    header : bool, optional
        Whether a text file's first line holds column names (default: detected; it does when
        none of its fields is a number).
    drop_missing : bool, default False
        Leave out rows with a missing or non-finite value instead of raising.
    schema : Schema, optional
        The training schema, to read new data exactly as the model expects it.
    require_target : bool, default True
        Raise when no target column can be found.

    Returns
    -------
    Table
        ``X`` of shape (n_samples, n_features), ``y`` of shape (n_samples,) or None.

    Raises
    ------
    UserError
        Naming the file, line/row and column of the first problem.
    """
    frame = read_frame(path, delimiter=delimiter, header=header)
    if schema is None:
        if target is None and "y" in frame.df.columns and file_format(path) == "npz":
            target = "y"
        if target is None and require_target:
            raise UserError(f"{frame.source}: which column is the target? pass --target NAME "
                            f"(columns: {', '.join(list(frame.df.columns)[:12])})")
        schema = infer_schema(frame, target, features, exclude, keep)
    else:
        schema = _match_schema(frame, schema, target, require_target)
    X, y, missing = _apply(frame, schema, schema.target is not None, drop_missing)
    kept = ~missing
    X, y = X[kept], (y[kept] if y is not None else None)
    if len(X) == 0:
        raise UserError(f"{frame.source}: no rows left after dropping rows with missing values")
    return Table(X, y, schema.feature_names, schema, frame.source, int(missing.sum()),
                 frame.df.index.to_numpy()[kept], frame.where)


def _match_schema(frame: _Frame, schema: Schema, target, require_target) -> Schema:
    """Check a new file against the training schema; returns the schema to read it with.

    With column names on both sides, features are matched by name. Otherwise they are matched
    by position: the file must have the training file's columns, or exactly the features.
    """
    columns = list(frame.df.columns)
    if schema.header and frame.header:
        absent = [c for c in schema.columns if c not in columns]
        if absent:
            raise UserError(f"{frame.source}: feature column(s) {', '.join(map(repr, absent))} "
                            "used in training are missing from this file")
        new_target = schema.target if schema.target in columns else None
    elif len(columns) == len(schema.file_columns):
        frame.df.columns = list(schema.file_columns)
        new_target = schema.target
    elif len(columns) == len(schema.columns):
        frame.df.columns = list(schema.columns)
        new_target = None
    else:
        with_target = (f" (or {len(schema.file_columns)} as in the training file)"
                       if len(schema.file_columns) != len(schema.columns) else "")
        raise UserError(f"{frame.source}: {len(columns)} columns, but the model expects "
                        f"{len(schema.columns)} feature columns{with_target}")
    if target is not None:
        new_target = _resolve_column(target, frame, "--target")
    if new_target is None and require_target:
        if schema.target is None:
            raise UserError(f"{frame.source}: which column holds the true labels? pass --target")
        raise UserError(f"{frame.source}: the target column {schema.target!r} is missing "
                        "(pass --target to name it)")
    return Schema(schema.columns, schema.categories, new_target, schema.header,
                  schema.file_columns)


# -- streaming -------------------------------------------------------------------------------------
@dataclass
class Chunk:
    """Rows ``start`` to ``start + len(X)`` of a file, encoded with the training schema."""

    X: np.ndarray
    valid: np.ndarray  # (n,) bool: False for rows with a missing value (only with drop_missing)
    start: int


def iter_chunks(path, schema: Schema, chunk_rows=65536, delimiter=None, header=None,
                drop_missing=False) -> Iterator[Chunk]:
    """Yield the file's feature rows, ``chunk_rows`` at a time, encoded with ``schema``.

    Memory is bounded by the chunk size for CSV/TSV (pandas' chunked reader), Parquet (record
    batches) and NPY (memory-mapped); an NPZ file is loaded whole.

    Parameters
    ----------
    path : str or path-like
    schema : Schema
        The training schema (from the saved model).
    chunk_rows : int
        Rows per chunk.
    drop_missing : bool
        Mark rows with missing values as not valid instead of raising.

    Yields
    ------
    Chunk
        ``X`` of shape (rows, n_features) and ``valid`` of shape (rows,).
    """
    path = str(path)
    seen_rows = 0
    for frame in _raw_chunks(path, chunk_rows, delimiter, header):
        if seen_rows == 0 and len(frame.df) == 0:
            break
        chunk_schema = _match_schema(frame, schema, None, require_target=False)
        X, _, missing = _apply(frame, chunk_schema, False, drop_missing)
        start = int(frame.df.index[0]) if len(frame.df) else seen_rows
        seen_rows += len(frame.df)
        yield Chunk(X, ~missing, start)
    if seen_rows == 0:
        raise UserError(f"{path}: no data rows")


def _raw_chunks(path, chunk_rows, delimiter, header) -> Iterator[_Frame]:
    """The file's rows as frames of at most ``chunk_rows`` rows (whole for NPZ)."""
    _check_file(path)
    fmt = file_format(path)
    if fmt in TEXT_FORMATS:
        return _text_chunks(path, fmt, delimiter, header, chunk_rows)
    if fmt == "parquet":
        return _parquet_chunks(path, chunk_rows)
    if fmt == "npy":
        return _npy_chunks(path, chunk_rows)
    return iter((read_frame(path),))


def _text_chunks(path, fmt, delimiter, header, chunk_rows):
    options, header, given = _text_read_options(path, fmt, delimiter, header)
    errors = functools.partial(_csv_errors, path, fmt, options["sep"], given)
    with errors():  # entered and left around each read: never across a yield
        reader = pd.read_csv(path, chunksize=chunk_rows, **options)
    with reader:
        while True:
            with errors():
                df = next(reader, None)
            if df is None:
                return
            frame = _Frame(_name_columns(df, header, path), path, header, True, options["sep"])
            _check_one_column(frame, given)
            _check_short_rows(frame)
            yield frame


def _parquet_chunks(path, chunk_rows):
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:
        raise UserError(f"{path}: cannot read as Parquet ({type(exc).__name__})") from None
    start = 0
    for group in range(parquet.metadata.num_row_groups):
        # One row group at a time (iter_batches decodes ahead, holding several in memory).
        try:
            table = parquet.read_row_group(group, use_threads=False)
        except Exception as exc:  # a damaged row group: pyarrow raises several types
            raise UserError(f"{path}: cannot read row group {group + 1} as Parquet "
                            f"({type(exc).__name__})") from None
        for batch in table.to_batches(max_chunksize=chunk_rows):
            df = batch.to_pandas(use_threads=False)
            df.index = pd.RangeIndex(start, start + len(df))
            start += len(df)
            yield _Frame(_name_columns(df, True, path), path, header=True, text=False)
        del table


def _npy_chunks(path, chunk_rows):
    try:
        matrix = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        raise UserError(f"{path}: cannot read as NPY ({type(exc).__name__})") from None
    if matrix.ndim != 2:
        raise UserError(f"{path}: the array must be 2-D (rows x columns), got {matrix.shape}")
    for start in range(0, len(matrix), chunk_rows):
        block = np.asarray(matrix[start:start + chunk_rows])
        df = pd.DataFrame(block, columns=[str(i) for i in range(block.shape[1])],
                          index=pd.RangeIndex(start, start + len(block)))
        yield _Frame(df, path, header=False, text=False)


# -- file sets: one schema over the chunks of many files ----------------------------------------
MAX_LABELS = 10000  # distinct target values tracked while scanning a file set


def iter_frames(path, chunk_rows: int, delimiter=None, header=None) -> Iterator[_Frame]:
    """A file's raw rows, ``chunk_rows`` at a time (an NPZ file whole), values not yet checked.

    A file without data rows yields nothing. Frames are indexed by their 0-based data row in
    the file, which :func:`encode_frame` and the messages use.
    """
    for frame in _raw_chunks(str(path), chunk_rows, delimiter, header):
        if frame.df.shape[1] == 0:
            raise UserError(f"{frame.source}: no columns")
        if len(frame.df):
            yield frame


@dataclass
class _Census:
    """What the chunks of one column say about its kind, added up over a file set."""

    numbers: int = 0
    words: int = 0
    decimal_commas: int = 0
    first_word: tuple | None = None  # (source, where, value, hint) of the first non-number
    first_fraction: tuple | None = None  # (source, where, value): the target's first 1.5
    values: set = field(default_factory=set)  # distinct present values as text, <= limit
    overflow: bool = False  # more than ``limit`` distinct values
    dates: int = 0  # values that were dates (counted in ``numbers`` too)
    row_numbers: _RowNumbers = field(default_factory=_RowNumbers)

    def add(self, frame: _Frame, column: str, limit: int, target: bool) -> None:
        raw = frame.df[column]
        present = raw.notna().to_numpy()
        numbers, dates = _numbers_and_dates(raw)
        numbers = numbers.to_numpy()
        words = present & np.isnan(numbers)
        if target and pd.api.types.is_bool_dtype(raw):
            words = present  # True/False labels are words, as in a whole file
        n_words = int(words.sum())
        self.words += n_words
        self.numbers += int(present.sum()) - n_words
        self.dates += int(dates.sum())
        if not target:
            self.row_numbers.add(numbers[present & ~words])
        if n_words:
            self._add_words(frame, column, raw, words)
        if target and self.first_fraction is None:
            fractional = np.isfinite(numbers) & ~words & (numbers != np.round(numbers))
            if fractional.any():
                self.first_fraction = (frame.source,
                                       *_first_bad(frame, column, fractional, frame.df.index))
        if not self.overflow:
            self.values.update(str(v).strip() for v in raw[present].unique()[:limit + 1])
            self.overflow = len(self.values) > limit

    def _add_words(self, frame, column, raw, words) -> None:
        if self.first_word is None:
            where, value = _first_bad(frame, column, words, frame.df.index)
            self.first_word = (frame.source, where, value, _hint(frame, where, value))
        texts = raw[words].astype(str).str.strip()
        self.decimal_commas += int(texts.str.match(_DECIMAL_COMMA).sum())


class FileSetSchema:
    """One :class:`Schema` for many files, from their chunks, as :func:`infer_schema` decides it
    for one file: numeric or categorical columns (the union of the categories), the target and
    its classes, with the same one-line errors naming the file, line and column.

    Parameters
    ----------
    target : str or int, optional
        The target column, by name or 0-based index (an NPZ set defaults to ``y``).
    features : str or list, optional
        Feature columns, as for :func:`read_table`.

    Call :meth:`add` with every chunk (:func:`iter_frames`), then :meth:`finish`.
    """

    def __init__(self, target=None, features=None, exclude=None, keep=None):
        self.target, self.features = target, features
        self.exclude, self.keep = exclude, keep
        self.first = None  # the first frame's source, header and columns
        self.rows = 0
        self.census = {}

    def add(self, frame: _Frame) -> None:
        """Check a chunk's columns against the first file's and count its values."""
        if self.first is None:
            self._start(frame)
        else:
            self._check_columns(frame)
        for column, census in self.census.items():
            census.add(frame, column, MAX_LABELS if column == self.schema.target
                       else MAX_CATEGORIES, target=column == self.schema.target)
        self.rows += len(frame.df)

    def _start(self, frame: _Frame) -> None:
        target = self.target
        if target is None and "y" in frame.df.columns and file_format(frame.source) == "npz":
            target = "y"
        if target is None:
            raise UserError(f"{frame.source}: which column is the target? pass --target NAME "
                            f"(columns: {', '.join(list(frame.df.columns)[:12])})")
        target = _resolve_column(target, frame, "--target")
        columns, left_out, self.kept = _select_features(frame, target, self.features,
                                                        self.exclude, self.keep)
        self.first = (frame.source, frame.header, list(frame.df.columns))
        self.schema = Schema(columns, {}, target, frame.header, list(frame.df.columns),
                             left_out=left_out)
        self.census = {column: _Census() for column in columns + [target]}

    def _check_columns(self, frame: _Frame) -> None:
        source, header, columns = self.first
        found = list(frame.df.columns)
        if frame.header != header:
            raise UserError(f"{frame.source}: {'a' if frame.header else 'no'} header line, "
                            f"unlike {source} (pass --header or --no-header)")
        if not header and len(found) != len(columns):
            raise UserError(f"{frame.source}: {len(found)} columns, but {source} has "
                            f"{len(columns)}")
        missing = [c for c in columns if c not in found]
        extra = [c for c in found if c not in columns]
        if missing or extra:
            parts = ([f"missing {', '.join(map(repr, missing))}"] if missing else []) + \
                    ([f"extra {', '.join(map(repr, extra))}"] if extra else [])
            raise UserError(f"{frame.source}: its columns differ from {source}'s "
                            f"({'; '.join(parts)})")

    def finish(self) -> tuple[Schema, np.ndarray, bool]:
        """The schema, the target's classes (sorted) and whether the labels are words.

        Raises
        ------
        UserError
            No data rows, a typo in a numeric column, too many categories, a target with one
            class or continuous values: the messages :func:`read_table` gives for one file.
        """
        if self.first is None or self.rows == 0:
            raise UserError("no data rows in any file")
        _decide_columns(self.schema, self.kept, self.census.get, self.rows, self.first[0])
        for column in self.schema.columns:
            categories = self._categories(column, self.census[column])
            if categories is not None:
                self.schema.categories[column] = categories
        classes, as_text = self._classes(self.schema.target, self.census[self.schema.target])
        check_classes(classes, self.first[0], self.schema.target)
        return self.schema, classes, as_text

    def _categories(self, column: str, census: _Census) -> list | None:
        if not census.words:
            return None
        if census.numbers >= census.words:  # mostly numbers: the others are typos
            source, where, value, hint = census.first_word
            raise UserError(f"{source}: {where}, column {column!r}: {value!r} is not a "
                            f"number{hint}")
        if census.decimal_commas > census.words / 2:
            raise UserError(f"{census.first_word[0]}: column {column!r}: values like "
                            f"{census.first_word[2]!r} use a decimal comma; write decimal points "
                            "(1.5), or quote nothing and pick another --delimiter")
        if census.overflow:
            raise UserError(f"{census.first_word[0]}: column {column!r} is text with more than "
                            f"{MAX_CATEGORIES} distinct values over the files (e.g. "
                            f"{census.first_word[2]!r}), too many for a category; leave it out "
                            "with --features")
        return sorted(census.values)

    def _classes(self, column: str, census: _Census) -> tuple[np.ndarray, bool]:
        if not census.words:
            if census.first_fraction is not None:
                source, where, value = census.first_fraction
                raise UserError(f"{source}: target column {column!r} is continuous ({where} "
                                f"has {value!r}); logistic regression needs class labels")
            if census.overflow:
                raise UserError(f"{self.first[0]}: target column {column!r} has more than "
                                f"{MAX_INTEGER_CLASSES} distinct integer values over the files; "
                                "it looks continuous (logistic regression needs class labels)")
            return np.unique([int(float(v)) for v in census.values]).astype(np.int64), False
        if census.words < census.numbers:
            source, where, value, _ = census.first_word
            raise UserError(f"{source}: {where}, target column {column!r}: {value!r} among "
                            "numeric labels (a typo?)")
        if census.overflow:
            raise UserError(f"{self.first[0]}: target column {column!r} has more than "
                            f"{MAX_LABELS} distinct labels")
        return np.array(sorted(census.values)), True


def encode_frame(frame: _Frame, schema: Schema, labels_as_text: bool,
                 drop_missing: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A chunk of a file set encoded with the set's schema.

    Parameters
    ----------
    frame : a chunk from :func:`iter_frames`
    schema : Schema
        From :class:`FileSetSchema` (holding the target).
    labels_as_text : bool
        The labels are words (else integers), as decided over the whole set.
    drop_missing : bool
        Leave out rows with a missing value instead of raising.

    Returns
    -------
    X : ndarray of shape (rows, n_features), float64
    y : ndarray of shape (rows,), int64 or str
    rows : ndarray of shape (rows,), int64
        Each kept row's 0-based data row in its file.
    """
    chunk_schema = _match_schema(frame, schema, None, require_target=True)
    X, missing = _encode(frame, chunk_schema)
    if labels_as_text:
        raw = frame.df[schema.target]
        absent = raw.isna().to_numpy()
        y = raw.astype(object).map(lambda v: "" if pd.isna(v) else str(v).strip()).to_numpy()
        y = y.astype(str)
    else:
        y, absent = _labels(frame, schema.target)
    missing |= absent
    rows = frame.df.index.to_numpy().astype(np.int64)
    if missing.any():
        if not drop_missing:
            raise _missing_error(frame, chunk_schema, missing)
        keep = ~missing
        X, y, rows = np.ascontiguousarray(X[keep]), y[keep], rows[keep]
    return X, y, rows


# -- the embedded default --------------------------------------------------------------------------
def load_default() -> Table:
    """scikit-learn's bundled breast-cancer data (569 rows, 30 features, classes 0/1).

    Returns
    -------
    Table
        With a schema naming the 30 features and the target ``diagnosis`` (0 = malignant,
        1 = benign), as if read from a file with a header line.
    """
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    names = [str(n) for n in bunch.feature_names]
    schema = Schema(columns=names, target="diagnosis", header=True,
                    file_columns=names + ["diagnosis"])
    X = np.ascontiguousarray(bunch.data, dtype=np.float64)
    return Table(X, bunch.target.astype(np.int64), names, schema,
                 source="breast-cancer (scikit-learn's bundled copy)")
