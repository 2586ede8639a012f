"""Fuzzing model files and checkpoints: every damaged file is one UserError, never a traceback.

Seeded mutations of real files: meta.json restructured (keys deleted, values of other types,
lists, objects, null, huge numbers), bytes of the ZIP flipped, the file truncated, .npy headers
tampered with, arrays replaced. Each mutated file must either load as a fully valid model (it
predicts finite probabilities that sum to one) or be refused with the one documented error, a
one-line :class:`lograd.errors.UserError` naming the file: through ``lograd.load``, through
``lograd predict`` (exit status 2, one line on stderr), and, for checkpoints, through a fit that
resumes from them (which, resumed from an accepted state, may also end in the fit's own
one-line UserError or DivergenceError, as any fit may).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lograd
from lograd.cli import main
from lograd.errors import DivergenceError, UserError
from lograd.estimators.logistic import LogisticRegression
from lograd.files.checkpoints import FILENAME
from lograd.files.tables import Schema

SEED = 12
REPLACEMENTS = [None, True, False, 0, -1, 2, 0.5, -1e308, 1e308, 10**30, "", "x", "inf", [],
                [1, 2], [[[]]], {}, {"a": 1}, {"__pairs__": 3}, {"__pairs__": [[1]]},
                {"__pairs__": [[[1, {}], 2]]}, {"__float__": "nan"}, {"__array__": "nope"},
                {"__array__": 7}, "\u00e9\u0000"]
HEADER_SHAPES = ["(1000000, 1000000)", "()", "(0,)", "(-1,)", "(1, 2, 3)", "(3,)", "(2, 4)",
                 "(10**6,)", "'x'"]
HEADER_DESCRS = ["'<f4'", "'|b1'", "'<U3'", "'|O'", "'<c16'", "'|V8'", "'<i8'", "'>f8'",
                 "[('a', '<f8')]", "'<U0'", "'<f8', 'x'"]


# -- mutations -------------------------------------------------------------------------------------
def json_paths(value, path=()):
    """Every path (tuple of keys and indices) into a JSON value, the root included."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value[:4]):  # long lists (names, curves): the first few
            yield from json_paths(item, (*path, i))


def mutate_json(value, rng, prefer=()):
    """(description, mutated copy) of a JSON value: one structural change at a random path;
    paths starting with a key in ``prefer`` are picked three times as often."""
    value = json.loads(json.dumps(value))
    paths = [p for p in json_paths(value) if p]
    weights = np.array([3.0 if p[0] in prefer else 1.0 for p in paths])
    path = paths[rng.choice(len(paths), p=weights / weights.sum())]
    *parents, last = path
    parent = value
    for key in parents:
        parent = parent[key]
    old = parent[last]
    op = rng.choice(["delete", "replace", "replace", "replace", "wrap", "number", "add key"])
    if op == "delete":
        del parent[last]
    elif op == "replace":
        parent[last] = REPLACEMENTS[rng.integers(len(REPLACEMENTS))]
    elif op == "wrap":
        parent[last] = [old]
    elif op == "number" and isinstance(old, (int, float)) and not isinstance(old, bool):
        parent[last] = [-old, old + 1, old * 10**6, 10**100, -(10**100)][rng.integers(5)]
    elif isinstance(old, dict):
        old["junk"] = REPLACEMENTS[rng.integers(len(REPLACEMENTS))]
    elif isinstance(old, list):
        parent[last] = old[:-1] if old and rng.random() < 0.5 else old + old[:1] + [None]
    else:
        parent[last] = str(old)
    return f"{op} at {'/'.join(map(str, path))}", value


def members_of(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def tampered_header(member: bytes, rng) -> tuple[str, bytes]:
    """An .npy member with its header's shape, dtype, order, version or text changed."""
    end = member.index(b"\n") + 1
    header, data = member[10:end].decode("latin1"), member[end:]
    what = rng.choice(["shape", "descr", "fortran", "version", "garbage", "data"])
    if what == "shape":
        header = header.replace(header[header.index("(") : header.index(")") + 1],
                                HEADER_SHAPES[rng.integers(len(HEADER_SHAPES))])
    elif what == "descr":
        start = header.index("'descr': ") + 9
        header = header[:start] + HEADER_DESCRS[rng.integers(len(HEADER_DESCRS))] + \
            header[header.index(",", start):]
    elif what == "fortran":
        header = header.replace("False", "True")
    elif what == "garbage":
        header = "{" + header[rng.integers(1, len(header)) :]
    elif what == "data":
        data = data[: rng.integers(len(data) + 1)] + bytes(rng.integers(0, 3) * 8)
    header = header.rstrip("\n").ljust(len(header) - 1) + "\n"
    version = b"\x03\x00" if what == "version" else b"\x01\x00"
    raw = header.encode("latin1")
    return f"npy {what}", b"\x93NUMPY" + version + len(raw).to_bytes(2, "little") + raw + data


def replacement_array(rng):
    return [np.array([np.nan, 1.0]), np.zeros((0,)), np.ones((3, 4, 2)), np.array(["a", "a"]),
            np.array([True, False]), np.full((1, 4), np.inf), np.arange(6).reshape(2, 3),
            np.zeros(624, dtype=np.uint32), np.float32([1, 2]), np.array(3.0)][rng.integers(10)]


def file_mutations(data: bytes, rng, n_json, n_bytes, prefer=()):
    """(description, bytes) of mutated copies of the ZIP file ``data`` (meta.json + .npy)."""
    members = members_of(data)
    meta = json.loads(members["meta.json"])
    arrays = sorted(name for name in members if name.endswith(".npy"))
    for _ in range(n_json):
        what, changed = mutate_json(meta, rng, prefer)
        yield what, zipped({**members, "meta.json": json.dumps(changed).encode()})
    for _ in range(n_bytes):
        flipped = bytearray(data)
        for position in rng.integers(len(data), size=rng.integers(1, 4)):
            flipped[position] ^= int(rng.integers(1, 256))
        yield "bytes flipped", bytes(flipped)
        yield "truncated", data[: rng.integers(len(data))]
        name = arrays[rng.integers(len(arrays))]
        what, member = tampered_header(members[name], rng)
        yield f"{what} of {name}", zipped({**members, name: member})
        array = replacement_array(rng)
        spec = json.loads(json.dumps(meta))
        key = name[: -len(".npy")]
        if "arrays" in spec and rng.random() < 0.5:  # meta.json agreeing with the new array
            spec["arrays"][key] = {"dtype": array.dtype.str, "shape": list(array.shape)}
        yield f"array {name} replaced by {array.dtype}{array.shape}", zipped(
            {**members, name: npy(array), "meta.json": json.dumps(spec).encode()})


# -- models ----------------------------------------------------------------------------------------
SCHEMA = Schema(columns=["a", "b", "color"], categories={"color": ["blue", "red"]},
                target="label", header=True, file_columns=["a", "b", "color", "label"])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """{name: (model file bytes, CSV to predict)}: a plain binary model fitted on named
    columns, and a standardizing three-class pipeline saved with a data schema as the CLI's."""
    directory = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    binary = LogisticRegression(solver="gd", max_iter=30, tol=1.0).fit(
        frame, (X[:, 0] > 0).astype(int))
    words = np.array(["no", "yes", "maybe"])[np.argmax(X[:, :3], axis=1)]
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)).fit(X, words)
    files = {}
    for name, model, info, table in [
            ("binary", binary, {"metrics": {"loss": np.inf, "n": 3}}, frame),
            ("pipeline", pipeline, {"schema": SCHEMA.to_dict()},
             pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "color": np.where(X[:, 2] > 0, "red",
                                                                         "blue"),
                           "label": words}))]:
        path = directory / f"{name}.lograd"
        lograd.save(model, path, info=info)
        csv = directory / f"{name}.csv"
        table.to_csv(csv, index=False)
        files[name] = (path.read_bytes(), csv)
    return files


def model_cases(models):
    rng = np.random.default_rng(SEED)
    for name, (data, csv) in models.items():
        for what, mutated in file_mutations(data, rng, n_json=160, n_bytes=40,
                                            prefer=("arrays", "attributes", "params")):
            yield f"{name}: {what}", mutated, csv


def check_valid(model):
    """A loaded model must predict: finite probabilities of its classes, rows summing to one."""
    n_features = model.n_features_in_
    X = np.random.default_rng(1).standard_normal((5, n_features))
    names = getattr(model, "feature_names_in_", None)
    proba = model.predict_proba(X if names is None else pd.DataFrame(X, columns=names))
    assert proba.shape == (5, len(model.classes_))
    assert np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def check_refusal(message, prefix):
    assert message.startswith(prefix), message
    assert "\n" not in message and "Traceback" not in message, message
    assert "UserError" not in message, message  # not one error wrapped in another


def test_every_mutated_model_loads_valid_or_is_one_user_error(models, tmp_path, capsys):
    counts = {"loaded": 0, "refused": 0}
    path, output = tmp_path / "mutated.lograd", tmp_path / "p.csv"
    for what, data, csv in model_cases(models):
        path.write_bytes(data)
        try:
            model = lograd.load(path)
        except UserError as exc:
            check_refusal(str(exc), f"model file {path}: ")
            counts["refused"] += 1
        except Exception as exc:  # noqa: BLE001 - the point: no other exception type
            pytest.fail(f"{what}: {type(exc).__name__}: {exc}")
        else:
            check_valid(model)
            counts["loaded"] += 1
        status = main(["predict", str(path), str(csv), "-o", str(output)])  # in-process CLI
        err = capsys.readouterr().err.strip()
        if status == 2:
            assert len(err.splitlines()) == 1, (what, err)
            check_refusal(err, "lograd predict: error: ")
        else:
            assert status == 0, (what, status, err)
            predictions = pd.read_csv(output)
            assert np.isfinite(predictions.filter(like="proba_").to_numpy()).all(), what
        output.unlink(missing_ok=True)
    assert counts["refused"] > 400 and counts["loaded"] > 50, counts  # both outcomes exercised


def test_mutated_models_through_the_real_command_line(models, tmp_path):
    """A few of the mutated files through ``python -m lograd predict``: exit 2, one line."""
    cases = list(model_cases(models))
    picked = [next(case for case in cases if case[0].startswith(start))
              for start in ("pipeline: replace at arrays", "binary: npy shape")]
    for i, (what, data, csv) in enumerate(picked):
        path = tmp_path / f"m{i}.lograd"
        path.write_bytes(data)
        result = subprocess.run([sys.executable, "-m", "lograd", "predict", path, csv, "-o",
                                 tmp_path / "p.csv"], capture_output=True, text=True, timeout=180)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, (what, result.stderr)
        assert lines[0].startswith(f"lograd predict: error: model file {path}: "), lines
        assert not (tmp_path / "p.csv").exists()


# -- checkpoints -----------------------------------------------------------------------------------
class Crash(Exception):
    pass


def crash_at(iteration):
    def callback(info):
        if info["iteration"] == iteration:
            raise Crash
    return callback


CHECKPOINTED = {  # name: (params, iteration of the crash or None for a finished fit)
    "gd-momentum": (dict(solver="gd", learning_rate=0.5, momentum=0.9, tol=0), 13),
    "nesterov": (dict(solver="gd", momentum="nesterov", tol=0), 13),
    "sgd": (dict(solver="sgd", learning_rate=0.05, batch_size=64, random_state=3, tol=0), 8),
    "adam-early-stopping": (dict(solver="adam", batch_size=64, random_state=2, tol=0,
                                 early_stopping=True, n_iter_no_change=50), 8),
    "lbfgs": (dict(solver="lbfgs", tol=1e-10), 7),
    "finished gd": (dict(solver="gd", learning_rate=0.5, tol=0), None),
}


def fit(X, y, directory, params, callbacks=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(max_iter=25, checkpoint=directory, checkpoint_every=5,
                                  callbacks=callbacks, **params).fit(X, y)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """{name: (checkpoint bytes, params)} of crashed (and one finished) fits, and the data."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 5))
    y = (X[:, 0] + 0.5 * rng.standard_normal(300) > 0).astype(int)
    files = {}
    for name, (params, at) in CHECKPOINTED.items():
        directory = tmp_path_factory.mktemp("checkpoint")
        try:
            fit(X, y, directory, params, callbacks=None if at is None else crash_at(at))
        except Crash:
            pass
        files[name] = ((directory / FILENAME).read_bytes(), params)
    return files, X, y


def test_every_mutated_checkpoint_resumes_or_is_one_user_error(checkpoints, tmp_path):
    files, X, y = checkpoints
    rng = np.random.default_rng(SEED)
    directory = tmp_path / "ck"
    directory.mkdir()
    counts = {"resumed": 0, "refused": 0, "fit refused": 0, "diverged": 0}
    for name, (data, params) in files.items():
        for what, mutated in file_mutations(data, rng, n_json=45, n_bytes=8,
                                            prefer=("state", "rng", "iteration", "complete")):
            (directory / FILENAME).write_bytes(mutated)
            try:
                model = fit(X, y, directory, params)
            except UserError as exc:  # the checkpoint refused (or, resumed, the fit's own)
                check_refusal(str(exc), "")
                counts["refused" if str(exc).startswith(f"checkpoint {directory}") else
                       "fit refused"] += 1
            except DivergenceError as exc:  # an accepted state may diverge, as any fit may
                check_refusal(str(exc), "")
                counts["diverged"] += 1
            except Exception as exc:  # noqa: BLE001 - the point: no other exception type
                pytest.fail(f"{name}: {what}: {type(exc).__name__}: {exc}")
            else:
                assert np.isfinite(model.coef_).all() and np.isfinite(model.intercept_).all()
                counts["resumed"] += 1
            for leftover in os.listdir(directory):
                assert leftover == FILENAME, (name, what, leftover)
    assert counts["refused"] > 250 and counts["resumed"] > 20, counts


# -- the cases the issue names, explicitly -------------------------------------------------------
def _changed_meta(data, change):
    members = members_of(data)
    meta = json.loads(members["meta.json"])
    change(meta)
    return zipped({**members, "meta.json": json.dumps(meta).encode()})


def _huge_header(data, name):
    members = members_of(data)
    end = members[name].index(b"\n") + 1
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10**6, 10**6)})
    return zipped({**members, name: header.getvalue() + members[name][end:]})


NAMED_MODEL_CASES = {
    "arrays as a list": lambda d: _changed_meta(d, lambda m: m.update(arrays=list(m["arrays"]))),
    "scaler arrays missing": lambda d: _changed_meta(
        d, lambda m: [m["arrays"].pop(f"scaler.{k}") for k in ("mean_", "scale_", "var_")]),
    "schema keys missing": lambda d: _changed_meta(d, lambda m: m["info"]["schema"].pop("columns")),
    "a .npy header claiming 10^6 x 10^6": lambda d: _huge_header(d, "coef_.npy"),
    "a newer format": lambda d: _changed_meta(d, lambda m: m.update(format_version=2)),
}


@pytest.mark.parametrize("case", NAMED_MODEL_CASES)
def test_the_named_model_cases_are_one_user_error(models, tmp_path, capsys, case):
    data, csv = models["pipeline"]
    path = tmp_path / "bad.lograd"
    path.write_bytes(NAMED_MODEL_CASES[case](data))
    with pytest.raises(UserError) as error:
        lograd.load(path)
    check_refusal(str(error.value), f"model file {path}: ")
    assert main(["predict", str(path), str(csv)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"lograd predict: error: {error.value}"


NAMED_CHECKPOINT_CASES = {
    "state {}": ("sgd", lambda d: _changed_meta(d, lambda m: m.update(state={}))),
    "solver state missing": ("gd-momentum", lambda d: _changed_meta(
        d, lambda m: m["state"].pop("solver"))),
    "rng of another generator": ("sgd", lambda d: _changed_meta(
        d, lambda m: m["rng"].update(bit_generator="PCG64"))),
    "result of another size": ("finished gd", lambda d: _changed_meta(
        d, lambda m: m["state"]["result"].update(theta={"__array__": "result.loss_curve"}))),
    "a .npy header claiming 10^6 x 10^6": ("gd-momentum", lambda d: _huge_header(d, "theta.npy")),
}


@pytest.mark.parametrize("case", NAMED_CHECKPOINT_CASES)
def test_the_named_checkpoint_cases_are_one_user_error(checkpoints, tmp_path, case):
    files, X, y = checkpoints
    name, change = NAMED_CHECKPOINT_CASES[case]
    data, params = files[name]
    (tmp_path / FILENAME).write_bytes(change(data))
    with pytest.raises(UserError) as error:
        fit(X, y, tmp_path, params)
    check_refusal(str(error.value), f"checkpoint {tmp_path}: {FILENAME} is ")
    assert str(error.value).endswith("delete it to start over")
