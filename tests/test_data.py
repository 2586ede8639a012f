"""lograd.files.tables: every format read to the same numbers, columns chosen and encoded,
errors named."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest

from lograd.errors import UserError
from lograd.files.tables import Schema, check_classes, iter_chunks, load_default, read_table

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

    from lograd.workflows._predict import write_predictions

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


# -- where a row is: lines as an editor counts them (issue 12, item 11) -------------------------
def test_lines_count_blank_lines_and_quoted_multi_line_fields(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text('a,note,y\n1,plain,yes\n\n\n2,"two\nlines",no\n   \n3,x,yes\n4,ok,no\n'
                    '"oops",fine,yes\n')
    #      lines:   1          2             3 4   5 and 6           7    8      9       10
    with pytest.raises(UserError, match=r"line 10, column 'a': 'oops' is not a number"):
        read_table(path, target="y")
    path.write_text('a,note,y\n1,plain,yes\n\n2,"two\nlines",no\n3,x,\n')
    with pytest.raises(UserError, match=r"line 6, column 'y': missing value"):
        read_table(path, target="y")
    path.write_text('a,note,y\n\n1,"a\nb",yes\n2,c,no,extra\n')
    with pytest.raises(UserError, match=r"line 5: ragged row: 4 fields"):
        read_table(path, target="y")


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip"])
def test_compressed_text_files_need_no_header_option(tmp_path, csv_path, suffix):
    path = tmp_path / f"d{suffix}"
    pd.read_csv(csv_path).to_csv(path, index=False)  # pandas compresses by the suffix
    table = read_table(path, target="y")  # the header is detected in the compressed file
    np.testing.assert_array_equal(table.X, X_EXPECTED)
    bad = tmp_path / f"bad{suffix}"
    frame = pd.read_csv(csv_path).astype({"x2": object})
    frame.loc[2, "x2"] = "huh"
    frame.to_csv(bad, index=False)
    with pytest.raises(UserError, match="line 4, column 'x2': 'huh' is not a number"):
        read_table(bad, target="y")


@pytest.mark.parametrize("text", ["a;b;y\n1,5;2;yes\n2;3;no\n", "a;b;y\n1.5;2;yes\n2;3;no\n"],
                         ids=["decimal commas", "one column"])
def test_a_semicolon_file_read_as_csv_gets_a_delimiter_hint_and_no_warning(tmp_path, text):
    path = tmp_path / "semi.csv"
    path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas' ParserWarning must not leak
        with pytest.raises(UserError, match="pass --delimiter ';'"):
            read_table(path, target="y")
    table = read_table(path, target="y", delimiter=";") if "1.5" in text else None
    if table is not None:
        assert table.feature_names == ["a", "b"]


def test_a_row_longer_than_the_header_is_ragged_not_dropped(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("a,y\n1,yes,9\n2,no\n3,yes\n")  # pandas would warn and drop the 9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserError, match="line 2: ragged row: 3 fields where the first row "
                                            "has 2"):
            read_table(path, target="y")


def test_messages_show_values_not_numpy_reprs(tmp_path):
    path = tmp_path / "v.parquet"
    pd.DataFrame({"a": [1.0, np.inf, 2.0], "y": ["yes", "no", "yes"]}).to_parquet(path)
    with pytest.raises(UserError, match=r"non-finite value inf \(") as info:
        read_table(path, target="y")
    assert "np." not in str(info.value)
    with pytest.raises(UserError, match=r"only one class \('yes'\)") as info:
        check_classes(np.array(["yes", "yes"]), "f.csv", "y")
    assert "np." not in str(info.value)


# -- labels and header names (issue 12, item 6) -------------------------------------------------
def test_labels_are_stripped_and_case_only_differences_refused(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text('a,y\n1,yes\n2," yes"\n3,"yes "\n4,no\n5,no\n')
    assert sorted(set(read_table(path, target="y").y)) == ["no", "yes"]
    path.write_text("a,y\n1,Yes\n2,yes\n3,YES\n4,no\n5,no\n")
    table = read_table(path, target="y")
    with pytest.raises(UserError, match="labels that differ only in case: 'YES', 'Yes', 'yes'"):
        check_classes(table.y, table.source, "y")


def test_a_column_name_given_twice_is_an_error_naming_it(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,b, a,y\n1,2,3,yes\n4,5,6,no\n")
    with pytest.raises(UserError, match=r"line 1: duplicate column name 'a' \(columns 1 and 3\)"):
        read_table(path, target="y")
    with pytest.raises(UserError, match="duplicate column name 'a'"):
        list(iter_chunks(path, Schema(columns=["b"], header=True)))


# -- identifiers and dates (issue 12, item 5) ---------------------------------------------------
def _frame(**columns):
    """40 rows: ``columns``, then a genuine feature x and labels y."""
    rng = np.random.default_rng(0)
    base = {"x": rng.normal(size=40).round(3), "y": np.where(rng.random(40) < 0.5, "a", "b")}
    return pd.DataFrame({**columns, **base})


ID_CASES = {
    "id": {"id": np.arange(40)},
    "ID, shuffled": {"ID": np.random.default_rng(1).permutation(40) + 1},
    "PassengerId": {"PassengerId": np.arange(1, 41)},
    "customer_id, not consecutive": {"customer_id": np.arange(40) * 37 + 1000},
    "Unnamed: 0": {"Unnamed: 0": np.arange(40)},
    "row numbers, no such name": {"n": np.random.default_rng(2).permutation(40) + 100},
    "text ids": {"user id": [f"user-{i * 7919 % 1000}" for i in range(40)]},
}
GENUINE_CASES = {
    "valid (not an id suffix)": {"valid": np.arange(40) % 2},
    "paid": {"paid": np.arange(40)[::-1] % 9},
    "whole numbers with repeats": {"age": np.arange(40) % 13 + 20},
    "a range with a gap": {"n": np.r_[np.arange(20), np.arange(21, 41)]},
    "a fractional id column": {"fluid_id": np.linspace(0, 1, 40)},
    "seat row": {"row": np.arange(40) % 8 + 1},
    "a short range (fewer than 20 rows)": {"n": np.arange(40) % 19},
}


@pytest.mark.parametrize("case", ID_CASES, ids=list(ID_CASES))
def test_identifier_columns_are_left_out_saying_why(tmp_path, case):
    frame = _frame(**ID_CASES[case])
    (name,) = ID_CASES[case]
    for suffix in (".csv", ".parquet"):
        path = tmp_path / f"d{suffix}"
        frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
        table = read_table(path, target="y")
        assert table.feature_names == ["x"], suffix
        assert name in table.schema.left_out
        kept = read_table(path, target="y", keep=name)  # --keep uses it after all
        assert name in kept.schema.columns and name not in kept.schema.left_out
        named = read_table(path, target="y", features=f"{name},x")  # so does --features
        assert named.schema.columns == [name, "x"]


@pytest.mark.parametrize("case", GENUINE_CASES, ids=list(GENUINE_CASES))
def test_genuine_numeric_features_are_kept(tmp_path, case):
    frame = _frame(**GENUINE_CASES[case])
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    table = read_table(path, target="y")
    assert table.schema.columns == [*GENUINE_CASES[case], "x"] and not table.schema.left_out


def test_the_reasons_and_exclude_are_in_the_schema(tmp_path):
    frame = _frame(PassengerId=np.arange(1, 41), n=np.arange(40) + 5, junk=np.ones(40))
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    table = read_table(path, target="y", exclude="junk")
    assert table.schema.columns == ["x"]
    assert table.schema.left_out == {"junk": "--exclude", "PassengerId":
                                     "an identifier, by its name", "n": "row numbers 5..44"}
    assert Schema.from_dict(json.loads(json.dumps(table.schema.to_dict()))) == table.schema
    with pytest.raises(UserError, match="--exclude names the target column 'y'"):
        read_table(path, target="y", exclude="y")
    with pytest.raises(UserError, match="--exclude 'nope': no such column"):
        read_table(path, target="y", exclude="nope")
    with pytest.raises(UserError, match="no feature column left.*--keep"):
        read_table(path, target="y", exclude="x,junk")


def test_dates_are_days_since_1970_in_every_format(tmp_path):
    days = np.array([0.0, 1.0, 18262.0, 18262.5, 19000.25])
    stamps = pd.to_datetime(days, unit="D")
    y = ["a", "b", "a", "b", "a"]
    csv = tmp_path / "d.csv"
    pd.DataFrame({"when": stamps.strftime("%Y-%m-%dT%H:%M:%S"), "y": y}).to_csv(csv, index=False)
    naive = tmp_path / "naive.parquet"
    pd.DataFrame({"when": stamps, "y": y}).to_parquet(naive)
    aware = tmp_path / "aware.parquet"
    pd.DataFrame({"when": stamps.tz_localize("UTC").tz_convert("Asia/Tokyo"), "y": y}) \
        .to_parquet(aware)
    dates = tmp_path / "dates.parquet"  # Parquet date32: datetime.date objects in pandas
    pd.DataFrame({"when": stamps.floor("D").date, "y": y}).to_parquet(dates)
    for path in (csv, naive, aware):
        table = read_table(path, target="y")
        np.testing.assert_allclose(table.X[:, 0], days, rtol=0, atol=1e-9, err_msg=path.name)
        assert table.schema.dates == ["when"]
    np.testing.assert_array_equal(read_table(dates, target="y").X[:, 0], np.floor(days))
    # predicting reads a new file's dates the same way
    schema = read_table(csv, target="y").schema
    chunk = next(iter_chunks(naive, schema))
    np.testing.assert_allclose(chunk.X[:, 0], days, atol=1e-9)
