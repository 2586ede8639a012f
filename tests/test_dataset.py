"""lograd.files.filesets: file sets read as one table, chunk by chunk; the split; spilled chunks."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from lograd.backends import dask as dask_backend
from lograd.errors import UserError
from lograd.files import filesets
from lograd.files.tables import MAX_CATEGORIES, read_table


def make_frame(n, seed, colors=("red", "green", "blue")):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x1": rng.normal(size=n).round(4), "x2": rng.normal(size=n).round(4),
                         "color": rng.choice(colors, n),
                         "label": rng.choice(["no", "yes"], n)})


def write_csv_set(directory, frames):
    """Each frame as part-<i>.csv; returns the files in order."""
    directory.mkdir(exist_ok=True)
    paths = []
    for i, frame in enumerate(frames):
        path = directory / f"part-{i}.csv"
        frame.to_csv(path, index=False)
        paths.append(str(path))
    return paths


@pytest.fixture
def three_files(tmp_path):
    """Three CSV files; only the last has the colour 'violet' (so categories are a union)."""
    frames = [make_frame(50, 0), make_frame(70, 1), make_frame(40, 2, ("red", "violet"))]
    return write_csv_set(tmp_path / "set", frames), frames


# -- which files -----------------------------------------------------------------------------------
def test_directory_lists_data_files_sorted_skipping_hidden_and_underscore(tmp_path):
    for name in ("b.csv", "a.csv", "c.csv", ".a.csv.crc", "_SUCCESS"):
        (tmp_path / name).write_text("x,y\n1,0\n")
    (tmp_path / "sub").mkdir()
    assert [os.path.basename(p) for p in filesets.expand(str(tmp_path))] == \
        ["a.csv", "b.csv", "c.csv"]
    assert [os.path.basename(p) for p in filesets.expand(str(tmp_path / "[ab].csv"))] == \
        ["a.csv", "b.csv"]
    assert filesets.expand(str(tmp_path / "a.csv")) is None  # one file: not a set


@pytest.mark.parametrize("case, fragment", [
    ("empty", "holds no data files"), ("no match", "no file matches"),
    ("mixed", "mixed formats")])
def test_bad_file_sets(tmp_path, case, fragment):
    if case == "mixed":
        (tmp_path / "a.csv").write_text("x,y\n1,0\n")
        pd.DataFrame({"x": [1.0], "y": [0]}).to_parquet(tmp_path / "b.parquet")
    data = str(tmp_path / "*.nothing") if case == "no match" else str(tmp_path)
    with pytest.raises(UserError, match=fragment):
        filesets.expand(data)


# -- pass 1: one schema ----------------------------------------------------------------------------
@pytest.mark.parametrize("budget", [None, 20_000])  # whole files, or chunks of ~100 rows
def test_file_set_reads_as_its_concatenation(tmp_path, three_files, budget):
    files, frames = three_files
    whole = tmp_path / "whole.csv"
    pd.concat(frames).to_csv(whole, index=False)
    reference = read_table(whole, target="label")
    fileset = filesets.scan(files, "set", target="label", budget=budget)
    if budget:
        assert fileset.chunk_rows < 70  # the files really were read in several chunks
    assert fileset.schema.to_dict() == reference.schema.to_dict()
    assert fileset.schema.categories["color"] == ["blue", "green", "red", "violet"]
    assert list(fileset.classes) == ["no", "yes"] and fileset.rows == 160
    split = filesets.load(fileset, seed=0, test_size=0)
    np.testing.assert_array_equal(split.X_train, reference.X)
    np.testing.assert_array_equal(split.y_train, reference.y)
    assert split.X_test.shape == (0, reference.X.shape[1])


def test_integer_labels_and_npy_files(tmp_path):
    rng = np.random.default_rng(3)
    for i in range(3):
        block = np.column_stack([rng.normal(size=(20, 2)), rng.integers(0, 3, 20)])
        np.save(tmp_path / f"p{i}.npy", block)
    fileset = filesets.scan(filesets.expand(str(tmp_path)), "set", target="2", budget=1)
    assert list(fileset.classes) == [0, 1, 2] and fileset.classes.dtype == np.int64
    split = filesets.load(fileset, 0, 0)
    stacked = np.concatenate([np.load(tmp_path / f"p{i}.npy") for i in range(3)])
    np.testing.assert_array_equal(split.X_train, stacked[:, :2])
    np.testing.assert_array_equal(split.y_train, stacked[:, 2].astype(int))


def edit_third(frames, edit):
    frames = [f.copy() for f in frames]
    frames[2] = edit(frames[2])
    return frames


def with_value(column, row, value):
    def edit(frame):
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame
    return edit


BAD_SETS = {
    # name: (edit of the third frame, fragments of the message)
    "typo in a numeric column": (with_value("x2", 5, "abc"),
                                 ["part-2.csv", "line 7", "column 'x2'", "'abc' is not a number"]),
    "missing value": (with_value("x1", 3, np.nan),
                      ["part-2.csv", "line 5", "column 'x1'", "missing value", "--drop-missing"]),
    "a column less": (lambda f: f.drop(columns="x2"),
                      ["part-2.csv", "columns differ from", "part-0.csv", "missing 'x2'"]),
    "an extra column": (lambda f: f.assign(extra=1.0),
                        ["part-2.csv", "columns differ", "extra 'extra'"]),
    "decimal comma": (with_value("x1", 0, "1,5"),
                      ["part-2.csv", "line 2", "column 'x1'", "not a number", "decimal point"]),
}


@pytest.mark.parametrize("case", BAD_SETS, ids=list(BAD_SETS))
def test_errors_name_the_file_line_and_column(tmp_path, three_files, case):
    _, frames = three_files
    edit, fragments = BAD_SETS[case]
    files = write_csv_set(tmp_path / "bad", edit_third(frames, edit))
    with pytest.raises(UserError) as info:
        fileset = filesets.scan(files, "bad", target="label", budget=20_000)
        filesets.load(fileset, 0, 0.2)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_categories_are_counted_over_all_files(tmp_path):
    half = MAX_CATEGORIES // 2 + 5  # each file under the limit, their union over it
    frames = [pd.DataFrame({"word": [f"w{i + k * half}" for i in range(half)] * 2,
                            "label": [0, 1] * half}) for k in range(2)]
    files = write_csv_set(tmp_path / "words", frames)
    with pytest.raises(UserError, match=f"more than {MAX_CATEGORIES} distinct values"):
        filesets.scan(files, "words", target="label")


def test_target_errors_over_files(tmp_path):
    frames = [pd.DataFrame({"a": [1.0, 2.0], "score": [0, 1]}),
              pd.DataFrame({"a": [3.0, 4.0], "score": [2, 2.5]})]
    files = write_csv_set(tmp_path / "cont", frames)
    with pytest.raises(UserError, match=r"part-1.csv: target column 'score' is continuous "
                                        r"\(line 3 has 2.5\)"):
        filesets.scan(files, "cont", target="score")
    files = write_csv_set(tmp_path / "one", [frames[0].assign(score=1)] * 2)
    with pytest.raises(UserError, match="only one class"):
        filesets.scan(files, "one", target="score")


def test_header_and_headerless_files_do_not_mix(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,0\n2,1\n")
    (tmp_path / "b.csv").write_text("3,0\n4,1\n")
    with pytest.raises(UserError, match="b.csv: no header line, unlike .*a.csv"):
        filesets.scan(filesets.expand(str(tmp_path)), "set", target="y")


# -- the split -------------------------------------------------------------------------------------
def test_split_is_per_row_whatever_the_chunking():
    rows = np.arange(100_000)
    mask = filesets.test_rows(7, 2, rows, 0.25)
    pieces = np.concatenate([filesets.test_rows(7, 2, rows[i:i + 333], 0.25)
                             for i in range(0, len(rows), 333)])
    np.testing.assert_array_equal(mask, pieces)
    # Binomial(100000, 0.25): sd 137; 5 sd either side.
    assert abs(mask.sum() - 25_000) < 700
    assert (mask != filesets.test_rows(8, 2, rows, 0.25)).any()  # another seed
    assert (mask != filesets.test_rows(7, 3, rows, 0.25)).any()  # another file
    assert not filesets.test_rows(7, 2, rows, 0).any()


def test_a_class_without_training_rows_is_refused(tmp_path):
    frame = pd.DataFrame({"a": np.arange(40.0) % 7, "y": ["a"] * 39 + ["b"]})
    files = write_csv_set(tmp_path / "rare", [frame])
    fileset = filesets.scan(files, "rare", target="y")
    seed = next(s for s in range(100) if filesets.test_rows(s, 0, np.array([39]), 0.5)[0])
    with pytest.raises(UserError, match="class 'b' has no training rows"):
        filesets.load(fileset, seed, 0.5)


# -- spilled chunks --------------------------------------------------------------------------------
@pytest.mark.parametrize("standardize", [True, False])
def test_spilled_chunks_equal_the_in_memory_split(tmp_path, three_files, standardize):
    files, _ = three_files
    fileset = filesets.scan(files, "set", target="label", budget=20_000)
    split = filesets.load(fileset, 5, 0.3)
    with filesets.spill_directory(str(tmp_path)) as directory:
        spilled = filesets.spill(fileset, directory, 5, 0.3, standardize=standardize)
        assert len(spilled.train) > 3  # several chunks
        X, y = dask_backend.spilled_arrays(spilled.train, fileset.n_features,
                                           fileset.classes.dtype)
        assert X.numblocks[0] == len(spilled.train)
        X_expected = split.X_train
        if standardize:
            reference = StandardScaler().fit(split.X_train)
            np.testing.assert_allclose(spilled.scaler.mean_, reference.mean_, rtol=1e-13)
            np.testing.assert_allclose(spilled.scaler.var_, reference.var_, rtol=1e-12)
            assert spilled.scaler.n_samples_seen_ == len(split.y_train)
            X_expected = reference.transform(split.X_train)
        np.testing.assert_allclose(X.compute(), X_expected, rtol=1e-12, atol=1e-13)
        np.testing.assert_array_equal(y.compute(), split.y_train)
        tests = list(filesets.iter_spilled(spilled.test))
        np.testing.assert_array_equal(np.concatenate([t[1] for t in tests]), split.y_test)
        assert spilled.class_counts["test"].sum() == len(split.y_test)
        assert not [n for n in os.listdir(directory) if n.endswith(".tmp")]
    assert not os.path.exists(directory)  # removed at the end


def test_spill_directory_is_removed_on_error(tmp_path):
    with pytest.raises(RuntimeError), filesets.spill_directory(str(tmp_path)) as directory:
        open(os.path.join(directory, "x.npy"), "w").close()
        raise RuntimeError
    assert os.listdir(tmp_path) == []
    with pytest.raises(UserError, match="--spill-dir .*nope: no such directory"):
        with filesets.spill_directory(str(tmp_path / "nope")):
            pass


def test_budget_decides_in_memory_and_chunk_size(three_files):
    files, _ = three_files
    big = filesets.scan(files, "set", target="label", budget=1 << 30)
    small = filesets.scan(files, "set", target="label", budget=20_000)
    assert big.fits(1 << 30) and not small.fits(20_000)
    assert small.chunk_rows < big.chunk_rows
    assert big.encoded_bytes == 160 * 6 * 8
    assert filesets.default_budget() > 0


def test_drop_missing_over_files_equals_one_file(tmp_path, three_files):
    files, frames = three_files
    frames = [f.copy() for f in frames]
    frames[1].loc[4, "x1"] = np.nan
    frames[2].loc[0, "label"] = np.nan
    files = write_csv_set(tmp_path / "gaps", frames)
    whole = tmp_path / "whole.csv"
    pd.concat(frames).to_csv(whole, index=False)
    reference = read_table(whole, target="label", drop_missing=True)
    fileset = filesets.scan(files, "gaps", target="label", budget=20_000)
    split = filesets.load(fileset, 0, 0, drop_missing=True)
    assert split.n_dropped == 2 == reference.n_dropped
    np.testing.assert_array_equal(split.X_train, reference.X)
    np.testing.assert_array_equal(split.y_train, reference.y)


def test_large_parquet_row_groups_are_warned_about(tmp_path):
    part = make_frame(400, 0)
    part.to_parquet(tmp_path / "a.parquet", row_group_size=400)  # 400 x 4 x 8 = 12.8 KB
    files = [str(tmp_path / "a.parquet")]
    with pytest.warns(UserWarning, match="a.parquet: row groups of up to 400 rows"):
        filesets.scan(files, "a", target="label", budget=100_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        filesets.scan(files, "a", target="label", budget=1 << 20)


def test_a_file_set_decides_columns_as_one_file_does(tmp_path):
    """Identifiers left out and dates read alike, whether one file is read whole or a set of
    files chunk by chunk (the same data must give the same model whatever --memory says)."""
    rng = np.random.default_rng(3)
    n = 90
    frame = pd.DataFrame({"Unnamed: 0": np.arange(n), "order": rng.permutation(n) + 1,
                          "user_id": [f"u{i}" for i in rng.permutation(n)],
                          "when": pd.date_range("2024-01-01", periods=n, freq="D")
                          .strftime("%Y-%m-%d"),
                          "x": rng.normal(size=n).round(3),
                          "label": np.where(rng.random(n) < 0.5, "yes", "no")})
    whole = tmp_path / "whole.csv"
    frame.to_csv(whole, index=False)
    files = write_csv_set(tmp_path / "set", [frame.iloc[:30], frame.iloc[30:55], frame.iloc[55:]])
    one = read_table(whole, target="label").schema
    fileset = filesets.scan(files, "set", target="label", budget=4_000)  # small chunks
    assert fileset.chunk_rows < 30
    assert fileset.schema.columns == one.columns == ["when", "x"]
    assert fileset.schema.left_out == one.left_out == {
        "Unnamed: 0": "an identifier, by its name", "order": "row numbers 1..90",
        "user_id": "an identifier, by its name"}
    assert fileset.schema.dates == one.dates == ["when"]
    split = filesets.load(fileset, 0, 0.0)
    np.testing.assert_array_equal(split.X_train, read_table(whole, target="label").X)


def test_a_value_too_large_to_train_on_is_named_in_a_file_set(tmp_path):
    frame = pd.DataFrame({"a": np.linspace(0, 1, 20), "label": ["yes", "no"] * 10})
    frame.loc[13, "a"] = 1e200
    files = write_csv_set(tmp_path / "set", [frame.iloc[:10], frame.iloc[10:]])
    fileset = filesets.scan(files, "set", target="label")
    with pytest.raises(UserError, match=r"part-1\.csv: line 5, column 'a': 1e\+200 is too large"):
        filesets.load(fileset, 0, 0.2)
