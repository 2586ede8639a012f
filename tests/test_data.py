"""lograd.data: every format read to the same numbers, columns chosen and encoded, errors named."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from lograd.data import Schema, iter_chunks, load_default, read_table
from lograd.errors import UserError

CSV = 'x1,x2,color,y\n1.5,-2,red,yes\n0.25,3,"dark, blue",no\n-1,0.5,red,no\n2,1e3,green,yes\n'
X_EXPECTED = np.array([  # x1, x2, then one-hot color: dark blue, green, red (sorted)
    [1.5, -2.0, 0, 0, 1], [0.25, 3.0, 1, 0, 0], [-1.0, 0.5, 0, 0, 1], [2.0, 1e3, 0, 1, 0]])


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(CSV)
    return path


def test_csv_with_header_quotes_and_categories(csv_path):
    table = read_table(csv_path, target="y")
    np.testing.assert_array_equal(table.X, X_EXPECTED)
    assert table.X.dtype == np.float64 and table.X.flags.c_contiguous
    assert list(table.y) == ["yes", "no", "no", "yes"]
    assert table.feature_names == ["x1", "x2", "color=dark, blue", "color=green", "color=red"]
    assert table.schema.categories == {"color": ["dark, blue", "green", "red"]}
    assert [table.where(i) for i in range(4)] == ["line 2", "line 3", "line 4", "line 5"]


@pytest.mark.parametrize("target", ["y", "3", "-1", 3])
def test_target_by_name_or_index(csv_path, target):
    assert read_table(csv_path, target=target).schema.target == "y"


def test_features_by_name_and_index(csv_path):
    table = read_table(csv_path, target="y", features="x2,0")
    assert table.feature_names == ["x2", "x1"]
    np.testing.assert_array_equal(table.X, X_EXPECTED[:, [1, 0]])


@pytest.mark.parametrize("delimiter,suffix,option", [
    ("\t", ".tsv", None), (";", ".txt", None), (";", ".csv", ";"), ("|", ".dat", "|"),
    ("\t", ".csv", "\\t")])
def test_delimiters(tmp_path, delimiter, suffix, option):
    path = tmp_path / f"d{suffix}"
    path.write_text(pd.read_csv(pd.io.common.StringIO(CSV)).to_csv(sep=delimiter, index=False))
    table = read_table(path, target="y", delimiter=option)
    np.testing.assert_array_equal(table.X, X_EXPECTED)


def test_headerless_file_is_detected_and_named_by_position(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text("1.5,-2,1\n0.25,3,0\n-1,0.5,0\n")
    table = read_table(path, target=-1)
    assert table.schema.header is False and table.feature_names == ["0", "1"]
    np.testing.assert_array_equal(table.y, [1, 0, 0])
    assert table.where(0) == "line 1"
    # --header forces the first line to be names; --no-header forces it to be data
    named = read_table(path, target=-1, header=True)
    assert named.feature_names == ["1.5", "-2"] and len(named.y) == 2
    words = tmp_path / "w.csv"
    words.write_text("a,b,yes\nc,d,no\n")
    assert read_table(words, target=-1, header=False).schema.columns == ["0", "1"]


def test_parquet_npy_npz_read_the_same_numbers(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "t": y}).to_parquet(
        tmp_path / "d.parquet")
    np.save(tmp_path / "d.npy", np.column_stack([X, y]))
    np.savez(tmp_path / "d.npz", X=X, y=y, feature_names=np.array(["a", "b", "c"]))
    np.savez(tmp_path / "plain.npz", X=X, y=y)
    tables = [read_table(tmp_path / "d.parquet", target="t"),
              read_table(tmp_path / "d.npy", target=3),
              read_table(tmp_path / "d.npz"), read_table(tmp_path / "plain.npz")]
    for table in tables:
        np.testing.assert_array_equal(table.X, X)
        np.testing.assert_array_equal(table.y, y)
    assert tables[0].feature_names == tables[2].feature_names == ["a", "b", "c"]
    assert tables[1].feature_names == ["0", "1", "2"]
    assert tables[0].where(4) == "row 5"


def test_numbers_with_a_typo_are_an_error_not_a_category(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,y\n" + "".join(f"{i}.5,{i % 2}\n" for i in range(10)) + "1,5,1\n")
    with pytest.raises(UserError, match=r"line 12: ragged row"):
        read_table(path, target="y")
    path.write_text("a,y\n" + "".join(f"{i}.5,{i % 2}\n" for i in range(10)) + "x,1\n")
    with pytest.raises(UserError, match=r"t.csv: line 12, column 'a': 'x' is not a number"):
        read_table(path, target="y")


def test_missing_values_are_an_error_or_dropped(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("a,b,y\n1,2,0\n3,,1\n4,inf,0\n5,6,1\n7,8,0\n")
    with pytest.raises(UserError, match=r"line 3, column 'b': missing value \(2 rows"):
        read_table(path, target="y")
    table = read_table(path, target="y", drop_missing=True)
    assert table.n_dropped == 2
    np.testing.assert_array_equal(table.X, [[1, 2], [5, 6], [7, 8]])
    assert [table.where(i) for i in range(3)] == ["line 2", "line 5", "line 6"]


def test_labels(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("a,y\n1,1.0\n2,0.0\n3,1.0\n")
    assert read_table(path, target="y").y.dtype == np.int64  # 1.0 is the class 1
    path.write_text("a,y\n1,cat\n2,non-cat\n3,cat\n")
    np.testing.assert_array_equal(read_table(path, target="y").y, ["cat", "non-cat", "cat"])


def test_schema_reads_new_files_by_name_in_any_order(csv_path, tmp_path):
    schema = read_table(csv_path, target="y").schema
    saved = Schema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert saved == schema
    shuffled = tmp_path / "s.csv"
    frame = pd.read_csv(csv_path)[["color", "y", "x2", "x1"]]
    frame["id"] = range(4)  # an extra column is ignored
    frame.to_csv(shuffled, index=False)
    np.testing.assert_array_equal(read_table(shuffled, schema=saved).X, X_EXPECTED)
    frame.drop(columns="y").to_csv(shuffled, index=False)
    table = read_table(shuffled, schema=saved, require_target=False)
    assert table.y is None
    frame.loc[2, "color"] = "purple"
    frame.to_csv(shuffled, index=False)
    with pytest.raises(UserError, match=r"line 4, column 'color': unknown category 'purple'"):
        read_table(shuffled, schema=saved)


@pytest.mark.parametrize("rows", [1, 3, 4, 1000])
def test_chunks_concatenate_to_the_whole_table(csv_path, rows):
    schema = read_table(csv_path, target="y").schema
    chunks = list(iter_chunks(csv_path, schema, chunk_rows=rows))
    assert [len(c.X) for c in chunks[:-1]] == [rows] * (len(chunks) - 1)
    assert [c.start for c in chunks] == list(range(0, 4, rows))
    np.testing.assert_array_equal(np.vstack([c.X for c in chunks]), X_EXPECTED)


@pytest.mark.parametrize("suffix", [".parquet", ".npy", ".npz"])
def test_chunks_from_binary_formats(tmp_path, suffix):
    X = np.arange(30, dtype=float).reshape(10, 3)
    path = tmp_path / f"d{suffix}"
    if suffix == ".parquet":
        pd.DataFrame(X, columns=["0", "1", "2"]).to_parquet(path)
    elif suffix == ".npy":
        np.save(path, X)
    else:
        np.savez(path, X)
    schema = Schema(columns=["0", "1", "2"], header=False, file_columns=["0", "1", "2"])
    chunks = list(iter_chunks(path, schema, chunk_rows=4))
    np.testing.assert_array_equal(np.vstack([c.X for c in chunks]), X)
    assert all(c.valid.all() for c in chunks)


def test_default_data_is_breast_cancer():
    table = load_default()
    assert table.X.shape == (569, 30) and set(np.unique(table.y)) == {0, 1}
    assert table.feature_names[0] == "mean radius" and table.schema.target == "diagnosis"


def _peak_streaming_bytes(path, schema, rows_per_chunk):
    import tracemalloc

    from lograd.cli.predict import write_predictions

    class Model:  # a stand-in that keeps nothing: memory is the reader's and the writer's
        classes_ = np.array([0, 1])

        @staticmethod
        def predict_proba(X):
            p = 1 / (1 + np.exp(-X.sum(axis=1)))
            return np.column_stack([1 - p, p])

    tracemalloc.start()
    try:
        with open(os.devnull, "w") as sink:
            n = write_predictions(sink, Model, Model.classes_,
                                  iter_chunks(path, schema, chunk_rows=rows_per_chunk))
        return n, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_memory_does_not_grow_with_the_file(tmp_path):
    rng = np.random.default_rng(0)
    schema = Schema(columns=["a", "b", "c"], header=True, file_columns=["a", "b", "c"])
    peaks = {}
    for n in (20_000, 160_000):
        path = tmp_path / f"{n}.csv"
        np.savetxt(path, rng.standard_normal((n, 3)), fmt="%.6f", delimiter=",",
                   header="a,b,c", comments="")
        if not peaks:  # a first pass imports what the reader and writer need, unmeasured
            _peak_streaming_bytes(path, schema, rows_per_chunk=1_000)
        rows, peaks[n] = _peak_streaming_bytes(path, schema, rows_per_chunk=1_000)
        assert rows == n
    import tracemalloc

    tracemalloc.start()
    read_table(tmp_path / "160000.csv", schema=schema, require_target=False)
    whole = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peaks[160_000] < 1.5 * peaks[20_000]  # 8 times the rows, about the same memory
    assert peaks[160_000] < whole / 3  # far less than reading the file whole


def test_a_header_with_numbers_in_it_gets_a_hint(tmp_path):
    path = tmp_path / "years.csv"
    path.write_text("year,2019,2020,label\n1,2,3,a\n2,3,4,b\n")
    with pytest.raises(UserError, match="no such column .*pass --header"):
        read_table(path, target="label")
    with pytest.raises(UserError, match="line 1, column '0': 'year' is not a number .*--header"):
        read_table(path, target=-1)
    assert read_table(path, target="label", header=True).feature_names == ["year", "2019", "2020"]
