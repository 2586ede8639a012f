"""Every kind of bad input: one stderr line naming the file/line/column/parameter, exit status 2,
no traceback, and no output file (nor temporary file) left behind."""

from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest

GOOD = "height,weight,label\n0.1,1.2,yes\n-0.3,0.4,no\n1.1,-0.2,yes\n-1.0,0.8,no\n0.5,0.5,yes\n"


@pytest.fixture(scope="module")
def model(tmp_path_factory, lograd):
    """A model trained on GOOD-shaped data (features height, weight; target label)."""
    directory = tmp_path_factory.mktemp("model")
    data = directory / "train.csv"
    rows = ["height,weight,label"] + [
        f"{i / 10 - 1:.2f},{(i * 7 % 11) / 5 - 1:.2f},{'yes' if i % 3 else 'no'}"
        for i in range(30)]
    data.write_text("\n".join(rows) + "\n")
    path = directory / "m.lograd"
    result = lograd("train", data, "-t", "label", "-q", "-o", path, "--test-size", "0")
    assert result.returncode == 0, result.stderr
    return path


def write(directory, name, text):
    path = directory / name
    path.write_text(text)
    return path


def assert_nothing_written(directory, *outputs):
    for output in outputs:
        assert not output.exists(), output
    leftovers = [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, leftovers


# -- training data ---------------------------------------------------------------------------------
DATA_CASES = {
    # name: (file name, contents or None for a missing file, extra args, fragments)
    "missing file": ("nope.csv", None, [], ["nope.csv", "no such file"]),
    "empty file": ("empty.csv", "", [], ["empty.csv", "empty"]),
    "header only": ("header.csv", "height,weight,label\n", [], ["header.csv", "no data rows"]),
    "ragged, long row": ("long.csv", GOOD + "0.2,0.3,yes,9\n", [],
                         ["long.csv", "line 7", "ragged row", "4 fields"]),
    "ragged, short row": ("short.csv", GOOD.replace("-0.3,0.4,no", "-0.3,no"), [],
                          ["short.csv", "line 3", "ragged row", "2 fields"]),
    "short row even with --drop-missing": (
        "short2.csv", GOOD.replace("-0.3,0.4,no", "-0.3,no"), ["--drop-missing"],
        ["short2.csv", "line 3", "ragged row"]),
    "typo in a numeric column": ("typo.csv", GOOD.replace("1.1,-0.2", "1.1,x"), [],
                                 ["typo.csv", "line 4", "column 'weight'", "'x' is not a number"]),
    "decimal comma": ("comma.csv", GOOD.replace("1.1,-0.2", '"1,1",-0.2'), [],
                      ["comma.csv", "line 4", "column 'height'", "'1,1'", "decimal point"]),
    "NaN value": ("nan.csv", GOOD.replace("-1.0,0.8", "-1.0,NaN"), [],
                  ["nan.csv", "line 5", "column 'weight'", "missing value", "--drop-missing"]),
    "empty field": ("blank.csv", GOOD.replace("-1.0,0.8", "-1.0,"), [],
                    ["blank.csv", "line 5", "column 'weight'", "missing value"]),
    "infinite value": ("inf.csv", GOOD.replace("0.5,0.5", "inf,0.5"), [],
                       ["inf.csv", "line 6", "column 'height'", "non-finite value"]),
    "missing label": ("nolabel.csv", GOOD.replace("0.1,1.2,yes", "0.1,1.2,"), [],
                      ["nolabel.csv", "line 2", "column 'label'", "missing value"]),
    "target column missing": ("good.csv", GOOD, ["--target", "outcome"],
                              ["good.csv", "--target 'outcome'", "no such column"]),
    "target index out of range": ("good.csv", GOOD, ["--target", "7"],
                                  ["good.csv", "--target 7", "out of range"]),
    "no target given": ("good.csv", GOOD, None, ["good.csv", "--target"]),
    "unknown feature": ("good.csv", GOOD, ["--features", "height,size"],
                        ["good.csv", "--features 'size'", "no such column"]),
    "only one class": ("one.csv", GOOD.replace(",no", ",yes"), [],
                       ["one.csv", "'label'", "only one class", "'yes'"]),
    "continuous target": ("cont.csv", "a,b,score\n1,2,0.5\n2,3,1.7\n3,1,2.2\n", ["-t", "score"],
                          ["cont.csv", "'score'", "continuous", "line 2"]),
    "many integer values": ("ints.csv", "a,age\n" + "".join(f"{i % 7},{20 + i}\n"
                                                           for i in range(40)), ["-t", "age"],
                            ["ints.csv", "'age'", "40 distinct", "continuous"]),
    "free text column": ("text.csv", "note,label\n" + "".join(
        f"remark number {i},{'yes' if i % 2 else 'no'}\n" for i in range(60)), [],
        ["text.csv", "column 'note'", "60 distinct", "--features"]),
    "not UTF-8": ("latin.csv", None, [], ["latin.csv", "UTF-8"]),
    "object array in npy": ("obj.npy", None, ["-t", "0"], ["obj.npy", "NPY"]),
}


@pytest.mark.parametrize("case", DATA_CASES, ids=list(DATA_CASES))
def test_bad_training_data(lograd, user_error, tmp_path, case):
    name, contents, extra, fragments = DATA_CASES[case]
    path = tmp_path / name
    if contents is not None:
        path.write_text(contents)
    elif name == "latin.csv":
        path.write_bytes("h\u00f6he,label\n1,ja\n2,nein\n".encode("latin-1"))
    elif name == "obj.npy":
        import numpy as np

        np.save(path, np.array([[1, "a"], [2, None]], dtype=object), allow_pickle=True)
    target = [] if extra is None else (["-t", "label"] if "-t" not in extra and
                                       "--target" not in extra else [])
    output = tmp_path / "m.lograd"
    result = lograd("train", path, *target, *(extra or []), "-o", output)
    user_error(result, *fragments)
    assert_nothing_written(tmp_path, output)


# -- options ---------------------------------------------------------------------------------------
OPTION_CASES = {
    "negative learning rate": (["--learning-rate", "-0.1"], ["--learning-rate", "-0.1"]),
    "zero learning rate": (["--lr", "0"], ["--learning-rate", "positive"]),
    "C zero": (["--C", "0"], ["--C", "'0'"]),
    "C negative": (["--C", "-1"], ["--C", "'-1'"]),
    "unknown solver": (["--solver", "newton"], ["--solver", "'newton'", "lbfgs"]),
    "max-iter zero": (["--max-iter", "0"], ["--max-iter", "'0'"]),
    "max-iter not a number": (["--max-iter", "ten"], ["--max-iter", "'ten'"]),
    "negative tol": (["--tol", "-1e-3"], ["--tol"]),
    "test size one": (["--test-size", "1"], ["--test-size", "[0, 1)"]),
    "bad momentum": (["--momentum", "1.5"], ["--momentum", "'1.5'"]),
    "l1 with lbfgs": (["--penalty", "l1"], ["--solver lbfgs cannot handle --penalty l1",
                                            "use --solver gd or --solver sgd"]),
    "bad class weight": (["--class-weight", "yes:2"], ["--class-weight", "'yes:2'"]),
    "unknown class in weights": (["--class-weight", "maybe=2"], ["--class-weight", "'maybe'"]),
    "delimiter too long": (["--delimiter", ";;"], ["--delimiter", "one character"]),
    "test set too small": (["--test-size", "0.01"], ["--test-size 0.01", "stratified"]),
    "diverging learning rate": (["-q", "--solver", "gd", "--learning-rate", "1e9",
                                 "--test-size", "0", "--tol", "0"],
                                ["diverged", "--learning-rate 1e+09", "no model was saved"]),
}


@pytest.mark.parametrize("case", OPTION_CASES, ids=list(OPTION_CASES))
def test_invalid_option_values(lograd, user_error, tmp_path, case):
    args, fragments = OPTION_CASES[case]
    data = write(tmp_path, "good.csv", GOOD)
    output = tmp_path / "m.lograd"
    user_error(lograd("train", data, "-t", "label", *args, "-o", output), *fragments)
    assert_nothing_written(tmp_path, output)


# -- output paths ----------------------------------------------------------------------------------
def test_unwritable_output_paths(lograd, user_error, tmp_path, model):
    data = write(tmp_path, "good.csv", GOOD)
    missing_dir = tmp_path / "no" / "such" / "dir" / "m.lograd"
    user_error(lograd("train", data, "-t", "label", "-o", missing_dir), "--output",
               "does not exist")
    user_error(lograd("train", data, "-t", "label", "-o", tmp_path), "--output",
               "is a directory")
    user_error(lograd("train", "-o", tmp_path / "m.lograd", "--report", missing_dir.with_suffix(
        ".html")), "--report", "does not exist")
    assert_nothing_written(tmp_path, tmp_path / "m.lograd")
    user_error(lograd("predict", model, data, "-o", missing_dir.with_suffix(".csv")),
               "--output", "does not exist")


# -- predict and evaluate against a model ---------------------------------------------------------
def test_predict_with_renamed_feature(lograd, user_error, tmp_path, model):
    data = write(tmp_path, "renamed.csv", GOOD.replace("weight", "mass"))
    output = tmp_path / "p.csv"
    user_error(lograd("predict", model, data, "-o", output), "renamed.csv", "'weight'",
               "missing")
    assert_nothing_written(tmp_path, output)


def test_predict_with_wrong_feature_count(lograd, user_error, tmp_path, model):
    data = write(tmp_path, "four.csv", "1,2,3,4\n4,5,6,7\n")  # no header: by position
    output = tmp_path / "p.csv"
    user_error(lograd("predict", model, data, "--no-header", "-o", output), "four.csv",
               "4 columns", "expects 2 feature columns (or 3 as in the training file)")
    data = write(tmp_path, "one.csv", "1\n4\n")
    user_error(lograd("predict", model, data, "-o", output), "one.csv", "1 columns")
    assert_nothing_written(tmp_path, output)


def test_error_deep_in_a_streamed_file_leaves_no_output(lograd, user_error, tmp_path, model):
    rows = [f"{i % 5 / 5:.1f},{i % 3 / 3:.3f},yes" for i in range(5000)]
    rows[4321] = "0.1,oops,yes"
    data = write(tmp_path, "big.csv", "height,weight,label\n" + "\n".join(rows) + "\n")
    output = tmp_path / "p.csv"
    user_error(lograd("predict", model, data, "-o", output, "--chunk-rows", "500"),
               "big.csv", "line 4323", "column 'weight'", "'oops'")
    assert_nothing_written(tmp_path, output)


def test_evaluate_bad_labels_and_missing_target(lograd, user_error, tmp_path, model):
    data = write(tmp_path, "odd.csv", GOOD.replace("-1.0,0.8,no", "-1.0,0.8,maybe"))
    user_error(lograd("evaluate", model, data), "odd.csv", "line 5", "'maybe'", "not a class")
    data = write(tmp_path, "nolabel.csv", "height,weight\n1,2\n3,4\n")
    user_error(lograd("evaluate", model, data), "nolabel.csv", "target column 'label'",
               "missing")


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


MODEL_CASES = ["random bytes", "truncated", "foreign zip", "foreign json", "newer version",
               "a CSV file", "missing model", "bad array"]


@pytest.mark.parametrize("case", MODEL_CASES)
def test_bad_model_files(lograd, user_error, tmp_path, model, case):
    data = write(tmp_path, "good.csv", GOOD)
    bad = tmp_path / "bad.lograd"
    original = model.read_bytes()
    if case == "random bytes":
        bad.write_bytes(bytes(range(256)) * 4)
        fragments = ["not a lograd model"]
    elif case == "truncated":
        bad.write_bytes(original[: len(original) // 2])
        fragments = ["not a lograd model, or damaged/truncated"]
    elif case == "foreign zip":
        _zip(bad, {"readme.txt": "hello"})
        fragments = ["not a lograd model", "meta.json"]
    elif case == "foreign json":
        _zip(bad, {"meta.json": json.dumps({"format": "other"})})
        fragments = ["not a lograd model", "'format'"]
    elif case == "newer version":
        members = _members(model)
        meta = json.loads(members["meta.json"])
        meta["format_version"] = 99
        members["meta.json"] = json.dumps(meta)
        _zip(bad, members)
        fragments = ["newer lograd", "format version 99", "upgrade"]
    elif case == "a CSV file":
        bad = data
        fragments = ["good.csv", "not a lograd model"]
    elif case == "missing model":
        bad = tmp_path / "absent.lograd"
        fragments = ["absent.lograd", "no such file"]
    else:  # an array member replaced by garbage
        members = _members(model)
        members["coef_.npy"] = b"\x93NUMPY garbage"
        _zip(bad, members)
        fragments = ["damaged"]
    output = tmp_path / "p.csv"
    line = user_error(lograd("predict", bad, data, "-o", output), "model file", *fragments)
    assert str(bad.name) in line
    assert_nothing_written(tmp_path, output)
    if case in ("truncated", "newer version"):  # evaluate reads models the same way
        user_error(lograd("evaluate", bad, data), "model file", *fragments)


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# -- more one-line errors, run in this process (issue 12) ---------------------------------------
def _rows(n=40, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n).round(4), rng.normal(size=n).round(4)
    label = np.where(a + 0.5 * rng.normal(size=n) > 0, "yes", "no")
    return [f"{x},{z},{lab}" for x, z, lab in zip(a, b, label)]


def _csv(rows, header="a,b,label"):
    return "\n".join([header, *rows]) + "\n"


def _with(rows, index, row):
    rows = list(rows)
    rows[index] = row
    return rows


ROWS = _rows()
IN_PROCESS_CASES = {
    # name: (file contents or None for the bundled data, args, fragments)
    "a value of 1e200": (_csv(_with(ROWS, 5, "1e200,0.1,yes")), [],
                         ["d.csv", "line 7", "column 'a'", "1e+200 is too large", "--exclude"]),
    "a value of 1e308": (_csv(_with(ROWS, 9, "0.1,1e308,no")), [],
                         ["line 11", "column 'b'", "1e+308 is too large"]),
    "a bad value after blank lines and a multi-line field": (
        _csv([f"{r},ok" for r in ROWS[:3]] + ["", ""] + ['0.5,0.1,yes,"two\nlines"']
             + [f"{r},ok" for r in ROWS[3:8]] + ["0.1,x,no,ok"]
             + [f"{r},ok" for r in ROWS[8:]], "a,b,label,note"),
        [], ["line 14", "column 'b'", "'x' is not a number"]),  # pandas counted 11
    "duplicate header names": (_csv(ROWS, "a,a,label"), [],
                               ["line 1", "duplicate column name 'a'", "columns 1 and 2"]),
    "labels differing in case": (_csv([r.replace(",yes", ",Yes") if i % 3 == 0 else r
                                       for i, r in enumerate(ROWS)]), [],
                                 ["'label'", "differ only in case", "'Yes', 'yes'"]),
    "semicolons": (_csv([r.replace(",", ";") for r in ROWS], "a;b;label"), [],
                   ["--delimiter ';'"]),
    "a class with one row": (_csv(_with(ROWS, 3, "0.1,0.2,maybe")), [],
                             ["class 'maybe' has only 1 row", "--test-size 0"]),
    "a test set smaller than the classes": (
        _csv(ROWS + ["0.1,0.2,maybe", "0.2,0.1,maybe"]), ["--test-size", "0.04"],
        ["--test-size 0.04", "holds out 2 of 42 rows, fewer than the 3 classes",
         "--test-size 0.072 or more"]),
    "C so small the penalty overflows": (None, ["--C", "1e-320", "--solver", "gd"],
                                         ["--C 1e-320 is invalid", "overflows"]),
    "a negative seed": (None, ["--seed", "-1"], ["--seed", "'-1'", "0 to 4294967295"]),
    "a negative seed and no test rows": (None, ["--seed", "-1", "--test-size", "0"],
                                         ["--seed", "'-1'"]),
    "a port out of range": (None, ["--dask", "tcp://localhost:99999"],
                            ["--dask", "port 99999 is out of range"]),
    "an empty output path": (None, ["-o", ""], ["--output", "empty"]),
    "an empty report path": (None, ["--report", ""], ["--report", "empty"]),
    "an infinite class weight": (_csv(ROWS), ["--class-weight", "yes=inf"],
                                 ["--class-weight", "positive finite", "'yes=inf'"]),
    "l1 chosen by --l1-ratio with lbfgs": (None, ["--l1-ratio", "1"],
                                           ["--solver lbfgs cannot handle --l1-ratio 1.0",
                                            "--solver gd or --solver sgd"]),
    "--exclude the target": (_csv(ROWS), ["--exclude", "label"],
                             ["--exclude names the target column 'label'"]),
    "gd swinging above its start": (None, ["--solver", "gd", "--learning-rate", "100"],
                                    ["no progress", "--learning-rate 100",
                                     "not below its starting value 0.693147",
                                     "lower --learning-rate", "no model was saved"]),
    "L-BFGS aborting on its first step": (
        _csv(_with(ROWS, 2, "1e150,0.1,yes")), ["--no-standardize"],
        ["L-BFGS aborted at iteration 0", "leave out --no-standardize", "--solver gd",
         "no model was saved"]),
}


@pytest.mark.parametrize("case", IN_PROCESS_CASES, ids=list(IN_PROCESS_CASES))
def test_one_line_errors_in_the_users_words(lograd_main, user_error, tmp_path, case):
    contents, args, fragments = IN_PROCESS_CASES[case]
    data = []
    if contents is not None:
        data = [write(tmp_path, "d.csv", contents), "-t", "label"]
    output, report = tmp_path / "m.lograd", tmp_path / "r.html"
    if "-o" not in args:
        args = [*args, "-o", output]
    line = user_error(lograd_main("train", *data, *args, "--report", report, "-q")
                      if "--report" not in args else lograd_main("train", *data, *args, "-q"),
                      *fragments)
    assert "np." not in line  # values, not NumPy reprs
    assert not re.search(r"\b[a-z]+_[a-z_]+=|solver='|penalty='", line), line  # flags
    assert_nothing_written(tmp_path, output, report)
