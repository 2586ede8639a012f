"""Checkpoints: a fit stopped part-way and resumed ends exactly as an uninterrupted one.

Every resume test compares against a fit that ran without interruption (and without a
checkpoint), attribute by attribute with exact equality: the loop's whole state (solver buffers,
history, counters, the shuffling RNG) must come back bit for bit for that to hold.
"""

import json
import os
import warnings
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler
from tests.linear_support import linear_objective
from tests.old_files import OLD_CHECKPOINT, OLD_CHECKPOINT_ITERATION, OLD_CHECKPOINT_PARAMS
from tests.old_files import data as old_data

import lograd.files.checkpoints as checkpoint_module
from lograd import solvers
from lograd.errors import UserError
from lograd.estimators.logistic import LogisticRegression
from lograd.files.checkpoints import FILENAME, read_meta, resume_note

# Each fits 25 iterations/epochs; tol=0 where a stopping rule would end it early.
RESUMABLE = {
    "gd": dict(solver="gd", learning_rate=0.5, tol=0),
    "gd-momentum": dict(solver="gd", learning_rate=0.5, momentum=0.9, tol=0),
    "gd-nesterov": dict(solver="gd", momentum="nesterov", tol=0),
    "gd-l1-invscaling": dict(solver="gd", penalty="l1", C=0.05, learning_rate=2.0,
                             lr_schedule="invscaling", tol=0),
    "sgd": dict(solver="sgd", learning_rate=0.05, batch_size=64, random_state=3, tol=0),
    "sgd-momentum-adaptive": dict(solver="sgd", momentum=0.5, batch_size=50,
                                  lr_schedule="adaptive", tol=1e-3, n_iter_no_change=3,
                                  random_state=1),
    "sgd-early-stopping": dict(solver="sgd", learning_rate=0.02, early_stopping=True,
                               n_iter_no_change=15, tol=1e-3, random_state=0),
    "adam": dict(solver="adam", batch_size=64, random_state=2, tol=0),
}
ATTRIBUTES = ("coef_", "intercept_", "n_iter_", "loss_curve_", "validation_scores_",
              "learning_rate_", "classes_")


class Crash(Exception):
    """Raised by a callback: the fit dies the way a kill would, between two checkpoints."""


def crash_at(iteration):
    def callback(info):
        if info["iteration"] == iteration:
            raise Crash
    return callback


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(300, 8, n_informative=5, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def three_classes():
    X, y = make_classification(300, 8, n_informative=5, n_classes=3, random_state=1)
    return StandardScaler().fit_transform(X), np.array(["a", "b", "c"])[y]


def fit(X, y, max_iter=25, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: the short fits are on purpose
        return LogisticRegression(max_iter=max_iter, **params).fit(X, y)


def assert_identical(model, reference):
    for name in ATTRIBUTES:
        ours, theirs = getattr(model, name), getattr(reference, name)
        if isinstance(theirs, np.ndarray):
            assert ours.dtype == theirs.dtype, name
            assert np.array_equal(ours, theirs), name
        else:
            assert ours == theirs, name


def crashed_fit(X, y, directory, at, every=5, **params):
    with pytest.raises(Crash):
        fit(X, y, checkpoint=directory, checkpoint_every=every, callbacks=crash_at(at), **params)


# -- resuming is bit-identical ---------------------------------------------------------------------
@pytest.mark.parametrize("data", ["binary", "three_classes"])
@pytest.mark.parametrize("name", RESUMABLE)
def test_resume_after_a_crash_is_bit_identical(name, data, tmp_path, request):
    X, y = request.getfixturevalue(data)
    params = RESUMABLE[name]
    reference = fit(X, y, **params)
    assert reference.n_iter_ > 13  # the crash below comes before the end
    crashed_fit(X, y, tmp_path, at=13, **params)
    meta = read_meta(tmp_path)
    assert (meta["iteration"], meta["complete"]) == (10, False)  # the last periodic one
    resumed = fit(X, y, checkpoint=tmp_path, checkpoint_every=5, **params)
    assert_identical(resumed, reference)
    assert read_meta(tmp_path)["complete"]


def test_resume_continues_the_iterations_without_redoing_them(binary, tmp_path):
    X, y = binary
    crashed_fit(X, y, tmp_path, at=13, **RESUMABLE["gd"])
    seen = []
    fit(X, y, checkpoint=tmp_path, checkpoint_every=5, callbacks=lambda info: seen.append(
        info["iteration"]), **RESUMABLE["gd"])
    assert seen == list(range(11, 26))


def test_a_resumed_fit_can_be_resumed_again(binary, tmp_path):
    X, y = binary
    params = RESUMABLE["adam"]
    reference = fit(X, y, **params)
    crashed_fit(X, y, tmp_path, at=8, every=3, **params)
    crashed_fit(X, y, tmp_path, at=20, every=3, **params)
    assert read_meta(tmp_path)["iteration"] == 18
    assert_identical(fit(X, y, checkpoint=tmp_path, checkpoint_every=3, **params), reference)


def test_float32_and_sparse_data_resume_bit_identically(binary, tmp_path):
    X, y = binary
    X32 = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0).astype(np.float32))
    params = dict(RESUMABLE["sgd"], max_iter=12)
    reference = fit(X32, y, **params)
    assert reference.coef_.dtype == np.float32
    crashed_fit(X32, y, tmp_path, at=7, **params)
    assert_identical(fit(X32, y, checkpoint=tmp_path, checkpoint_every=5, **params), reference)


def test_a_dask_fit_resumes_bit_identically(binary, tmp_path):
    da = pytest.importorskip("dask.array")
    X, y = binary
    X_dask, y_dask = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
    params = RESUMABLE["gd"]
    reference = fit(X_dask, y_dask, **params)
    crashed_fit(X_dask, y_dask, tmp_path, at=13, **params)
    assert read_meta(tmp_path)["iteration"] == 10
    assert_identical(fit(X_dask, y_dask, checkpoint=tmp_path, checkpoint_every=5, **params),
                     reference)


def test_random_state_none_resumes_the_interrupted_shuffles(binary, tmp_path):
    """Without a seed the shuffles come from NumPy's global RNG; the checkpoint keeps their
    state, so the resumed fit continues the crashed fit's sequence (seeded here to compare)."""
    X, y = binary
    params = dict(RESUMABLE["sgd"], random_state=None, max_iter=20)
    np.random.seed(7)
    reference = fit(X, y, **params)
    np.random.seed(7)
    crashed_fit(X, y, tmp_path, at=12, **params)
    np.random.seed(12345)  # whatever the global state now, the resumed shuffles are the same
    assert_identical(fit(X, y, checkpoint=tmp_path, checkpoint_every=5, **params), reference)


def test_a_callback_stop_is_saved_and_resumable(binary, tmp_path):
    X, y = binary
    params = RESUMABLE["gd-momentum"]
    reference = fit(X, y, **params)
    stopped = fit(X, y, checkpoint=tmp_path, checkpoint_every=5, **params,
                  callbacks=lambda info: info["iteration"] == 13)
    assert stopped.n_iter_ == 13
    meta = read_meta(tmp_path)
    assert (meta["iteration"], meta["complete"]) == (13, False)
    assert_identical(fit(X, y, checkpoint=tmp_path, checkpoint_every=5, **params), reference)


def test_a_finished_checkpoint_is_reused_without_training(binary, tmp_path):
    X, y = binary
    params = dict(solver="gd", learning_rate=0.5, tol=1e-3)  # converges before max_iter
    first = fit(X, y, checkpoint=tmp_path, **params)
    assert read_meta(tmp_path)["complete"]
    assert resume_note(tmp_path) == (f"checkpoint {tmp_path} holds the finished fit: its result "
                                     "is used without training")

    def no_training(info):
        raise AssertionError("a finished checkpoint trained again")

    again = fit(X, y, checkpoint=tmp_path, callbacks=no_training, **params)
    assert_identical(again, first)


def test_ignored_parameters_do_not_block_a_resume(binary, tmp_path, capsys):
    X, y = binary
    params = RESUMABLE["gd-nesterov"]
    reference = fit(X, y, **params)
    crashed_fit(X, y, tmp_path, at=13, **params)
    resumed = fit(X, y, checkpoint=str(tmp_path), checkpoint_every=7, verbose=1, **params)
    assert_identical(resumed, reference)
    assert f"resuming from {tmp_path} at iteration 10" in capsys.readouterr().out


def test_partial_fit_ignores_the_checkpoint(binary, tmp_path):
    X, y = binary
    directory = tmp_path / "unused"
    LogisticRegression(solver="sgd", checkpoint=directory).partial_fit(X, y, classes=[0, 1])
    assert not directory.exists()


# -- lbfgs: restarted from the saved parameters ----------------------------------------------------
def test_lbfgs_resume_reaches_the_same_optimum(binary, tmp_path):
    X, y = binary
    params = dict(solver="lbfgs", C=10.0, tol=1e-8, max_iter=200)
    reference = fit(X, y, **params)
    crashed_fit(X, y, tmp_path, at=7, every=3, **params)
    resumed = fit(X, y, checkpoint=tmp_path, checkpoint_every=3, **params)
    # the history up to the checkpoint is the uninterrupted run's own
    assert resumed.loss_curve_[:7] == reference.loss_curve_[:7]
    assert len(resumed.loss_curve_) == resumed.n_iter_ + 1
    assert resumed.n_iter_ > 6
    # L-BFGS restarts without its curvature pairs: a different path to the same optimum
    objective = linear_objective(X, y.astype(float), alpha_l2=1.0 / (10.0 * len(y)))
    theta = objective.pack([resumed.coef_[0], resumed.intercept_[0]])
    _, grad = objective.loss_and_grad(theta)
    assert np.max(np.abs(grad)) <= 1e-8
    np.testing.assert_allclose(resumed.coef_, reference.coef_, rtol=0, atol=1e-6)
    assert resumed.loss_curve_[-1] == pytest.approx(reference.loss_curve_[-1], rel=1e-12)


# -- the file --------------------------------------------------------------------------------------
def test_the_file_is_a_pickle_free_npz_with_json_meta(binary, tmp_path):
    X, y = binary
    model = fit(X, y, checkpoint=tmp_path, **RESUMABLE["gd-momentum"])
    with np.load(tmp_path / FILENAME, allow_pickle=False) as archive:
        meta = json.loads(archive["meta.json"].decode())
        assert meta["format"] == "lograd-checkpoint" and meta["complete"]
        assert meta["iteration"] == 25 and meta["fit"]["n_samples"] == 300
        theta = archive[meta["state"]["result"]["theta"]["__array__"]]
        curve = archive[meta["state"]["result"]["loss_curve"]["__array__"]]
    assert np.array_equal(theta, np.append(model.coef_[0], model.intercept_))
    assert curve.tolist() == model.loss_curve_
    assert [f for f in os.listdir(tmp_path) if f != FILENAME] == []  # no temporary files


def test_a_failed_write_keeps_the_previous_checkpoint(binary, tmp_path, monkeypatch):
    X, y = binary
    params = RESUMABLE["sgd"]
    reference = fit(X, y, **params)
    real_replace, calls = os.replace, []

    def replace_fails_on_the_third_write(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(checkpoint_module.os, "replace", replace_fails_on_the_third_write)
    with pytest.raises(UserError, match=f"checkpoint {tmp_path}: cannot write .*No space left "
                                        ".*the previous checkpoint is kept"):
        fit(X, y, checkpoint=tmp_path, checkpoint_every=4, **params)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == [FILENAME]  # the temporary file is gone
    assert read_meta(tmp_path)["iteration"] == 8
    assert_identical(fit(X, y, checkpoint=tmp_path, checkpoint_every=4, **params), reference)


def test_a_crash_half_way_through_a_write_leaves_the_previous_checkpoint(binary, tmp_path,
                                                                         monkeypatch):
    X, y = binary
    params = RESUMABLE["gd-nesterov"]
    reference = fit(X, y, **params)
    real_write, arrays_written = np.lib.format.write_array, []

    def dies_in_the_middle(stream, array, **kwargs):
        arrays_written.append(array)
        if len(arrays_written) > 12:  # a few arrays into the third checkpoint
            stream.write(b"\x93NUMPY half")
            raise KeyboardInterrupt
        real_write(stream, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", dies_in_the_middle)
    with pytest.raises(KeyboardInterrupt):
        fit(X, y, checkpoint=tmp_path, checkpoint_every=5, **params)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == [FILENAME]
    assert read_meta(tmp_path)["iteration"] == 10
    assert_identical(fit(X, y, checkpoint=tmp_path, checkpoint_every=5, **params), reference)


def test_a_damaged_checkpoint_is_a_clear_error(binary, tmp_path):
    X, y = binary
    (tmp_path / FILENAME).write_bytes(b"PK\x03\x04 not really a zip file")
    with pytest.raises(UserError, match=f"checkpoint {tmp_path}: {FILENAME} is (not a lograd "
                                        "checkpoint, or )?damaged"):
        fit(X, y, checkpoint=tmp_path, **RESUMABLE["gd"])
    with zipfile.ZipFile(tmp_path / FILENAME, "w") as archive:
        archive.writestr("meta.json", json.dumps({"format": "something else"}))
    with pytest.raises(UserError, match="is not a lograd checkpoint"):
        read_meta(tmp_path)


def test_a_file_in_place_of_the_directory_is_a_clear_error(binary, tmp_path):
    X, y = binary
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(UserError, match=f"checkpoint {path}: not a directory"):
        fit(X, y, checkpoint=path, **RESUMABLE["gd"])


# -- a checkpoint of another fit -------------------------------------------------------------------
def _changed(X, y):
    """(description, X, y, extra params, expected message fragment) of fits that differ."""
    X2 = X.copy()
    X2[150, 3] += 1e-9
    return [
        ("max_iter", X, y, dict(max_iter=26), "max_iter=26, the checkpoint's 25"),
        ("learning_rate", X, y, dict(learning_rate=0.25), "learning_rate=0.25"),
        ("one value", X2, y, {}, "other data"),
        ("labels", X, 1 - y, {}, "other data"),
        ("rows", X[:-1], y[:-1], {}, "n_samples 299, the checkpoint's 300"),
        ("features", X[:, :-1], y, {}, "n_features 7, the checkpoint's 8"),
        ("dtype", X.astype(np.float32), y, {}, "dtype 'float32', the checkpoint's 'float64'"),
        ("classes", X, np.where(y == 1, 5, 0), {}, "classes [0, 5]"),
        ("sample weights", X, y, dict(sample_weight=np.linspace(1, 2, len(y))), "other data"),
        ("initial", X, y, dict(coef_init=np.ones((1, 8))), "other initial parameters"),
    ]


def test_a_checkpoint_of_another_fit_is_refused_and_kept(binary, tmp_path):
    X, y = binary
    params = RESUMABLE["gd"]
    crashed_fit(X, y, tmp_path, at=13, **params)
    before = (tmp_path / FILENAME).read_bytes()
    for what, X_other, y_other, extra, fragment in _changed(X, y):
        fit_args = {k: extra.pop(k) for k in ("sample_weight", "coef_init") if k in extra}
        estimator = LogisticRegression(checkpoint=tmp_path, checkpoint_every=5,
                                       **{**params, "max_iter": 25, **extra})
        with pytest.raises(UserError) as error:
            estimator.fit(X_other, y_other, **fit_args)
        message = str(error.value)
        assert message.startswith(f"checkpoint {tmp_path} holds the state of a different fit"), \
            what
        assert fragment in message, (what, message)
        assert "nothing was changed" in message and "\n" not in message
    assert (tmp_path / FILENAME).read_bytes() == before


# -- the pieces ------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: solvers.GradientDescent(0.3, momentum=0.8),
    lambda: solvers.AcceleratedGradient(0.3),
    lambda: solvers.Adam(0.05),
], ids=["gd-momentum", "nesterov", "adam"])
def test_a_solver_loaded_with_the_state_of_another_continues_exactly(make, binary):
    X, y = binary
    problem = linear_objective(X, y.astype(float), alpha_l2=0.01)
    first, theta = make(), problem.zeros()
    for _ in range(6):
        theta, _ = first.step(theta, problem)
    without_state = make().step(theta, problem)[0]
    second = make()
    second.learning_rate = 123.0  # overwritten by the state
    second.load_state_dict(first.state_dict())
    theta_first = theta_second = theta
    for _ in range(6):
        theta_first, info_first = first.step(theta_first, problem)
        theta_second, info_second = second.step(theta_second, problem)
        assert np.array_equal(theta_first, theta_second)
        assert info_first == info_second
        # the state matters: a fresh solver would have gone elsewhere
        assert not np.array_equal(theta_second, without_state)


@pytest.mark.parametrize("name, value", [
    ("checkpoint", 3), ("checkpoint", ""), ("checkpoint", ["dir"]),
    ("checkpoint_every", 0), ("checkpoint_every", 2.5), ("checkpoint_every", True),
])
def test_bad_checkpoint_parameters_are_named(name, value, binary):
    X, y = binary
    with pytest.raises(UserError, match=f"parameter {name}="):
        LogisticRegression(**{name: value}).fit(X, y)


# -- the fingerprint covers every byte (issue 12, item 3) ------------------------------------------
@pytest.fixture(scope="module")
def many_rows():
    X, y = make_classification(5000, 6, n_informative=4, random_state=2)
    return StandardScaler().fit_transform(X), y


def _one_value_changed(X, row=1):
    changed = X.copy()
    changed[row, 2] += 1e-9  # row 1 of 5000 is between the old 1024 sampled rows
    return changed


def test_a_change_anywhere_in_the_data_is_another_fit(many_rows, tmp_path):
    X, y = many_rows
    params = dict(solver="gd", learning_rate=0.5, tol=1e-3)
    fit(X, y, checkpoint=tmp_path, **params)
    assert read_meta(tmp_path)["complete"]
    before = (tmp_path / FILENAME).read_bytes()
    for changed in (_one_value_changed(X), np.asfortranarray(_one_value_changed(X, row=4998))):
        with pytest.raises(UserError, match="holds the state of a different fit .other data"):
            fit(changed, y, checkpoint=tmp_path, **params)
    assert (tmp_path / FILENAME).read_bytes() == before
    # the same values in another memory layout are the same data: resumed, not refused
    fit(np.asfortranarray(X), y, checkpoint=tmp_path, **params,
        callbacks=lambda info: pytest.fail("a finished checkpoint trained again"))


def test_a_change_anywhere_in_dask_data_is_another_fit(many_rows, tmp_path):
    da = pytest.importorskip("dask.array")
    X, y = many_rows
    params = dict(solver="gd", learning_rate=0.5, tol=1e-3, max_iter=20)
    fit(da.from_array(X, chunks=1000), da.from_array(y, chunks=1000), checkpoint=tmp_path,
        **params)
    with pytest.raises(UserError, match="other data"):
        fit(da.from_array(_one_value_changed(X), chunks=1000), da.from_array(y, chunks=1000),
            checkpoint=tmp_path, **params)
    y_changed = y.copy()
    y_changed[1] = 1 - y_changed[1]
    with pytest.raises(UserError, match="other data"):
        fit(da.from_array(X, chunks=1000), da.from_array(y_changed, chunks=1000),
            checkpoint=tmp_path, **params)


def test_the_data_digest_hashes_every_byte_in_bounded_pieces(many_rows, monkeypatch):
    X, _ = many_rows
    digest = checkpoint_module.data_digest
    assert digest([X]) == digest([np.asfortranarray(X)]) == digest([X.copy()])
    assert digest([X]) != digest([_one_value_changed(X, row=2500)])
    assert digest([X]) != digest([X.astype(np.float32)]) != digest([X.T])
    assert digest([sp.csr_matrix(X)]) == digest([sp.csc_matrix(X)])  # both hashed as CSR
    monkeypatch.setattr(checkpoint_module, "_HASH_CHUNK_BYTES", 4096)  # 85 rows at a time
    assert digest([np.asfortranarray(X)]) == digest([X])


def test_a_checkpoint_of_format_1_is_refused_with_a_way_out(binary, tmp_path):
    X, y = binary
    crashed_fit(X, y, tmp_path, at=13, **RESUMABLE["gd"])
    path = tmp_path / FILENAME
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    meta = json.loads(members["meta.json"])
    meta["format_version"] = 1
    members["meta.json"] = json.dumps(meta)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(UserError, match=f"checkpoint {tmp_path} was written by an older lograd "
                                        ".*sampled rows.*delete it to start over"):
        fit(X, y, checkpoint=tmp_path, checkpoint_every=5, **RESUMABLE["gd"])


# -- files written by the older lograd -------------------------------------------------------------
def test_a_format_2_checkpoint_with_bare_infinity_resumes(tmp_path):
    import shutil

    directory = tmp_path / "old"
    shutil.copytree(OLD_CHECKPOINT, directory)
    with zipfile.ZipFile(directory / FILENAME) as archive:
        text = archive.read("meta.json").decode()
    assert '"C": Infinity' in text and '"best_score": -Infinity' in text  # not JSON
    assert json.loads(text)["format_version"] == 2
    X, y = old_data()
    seen = []
    resumed = fit(X, y, checkpoint=directory, callbacks=lambda info: seen.append(info["iteration"]),
                  **OLD_CHECKPOINT_PARAMS)
    assert seen[0] == OLD_CHECKPOINT_ITERATION + 1  # resumed, not started over
    reference = fit(X, y, **OLD_CHECKPOINT_PARAMS)
    assert resumed.n_iter_ == reference.n_iter_
    # the saved state came from another run (maybe another machine): equal to the last bits
    np.testing.assert_allclose(resumed.coef_, reference.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(resumed.loss_curve_, reference.loss_curve_, rtol=1e-9)
    meta = read_meta(directory)  # rewritten at the end: format 3, valid JSON
    with zipfile.ZipFile(directory / FILENAME) as archive:
        strict = json.loads(archive.read("meta.json"), parse_constant=_refuse)
    assert meta["format_version"] == strict["format_version"] == 3 and meta["complete"]
    assert strict["fit"]["params"]["C"] == {"__float__": "inf"} and meta["fit"]["params"]["C"] \
        == np.inf


def test_a_running_checkpoint_is_valid_json(binary, tmp_path):
    X, y = binary
    crashed_fit(X, y, tmp_path, at=7, C=np.inf, **RESUMABLE["sgd"])  # best_score is -inf
    with zipfile.ZipFile(tmp_path / FILENAME) as archive:
        meta = json.loads(archive.read("meta.json"), parse_constant=_refuse)
    assert meta["state"]["best_score"] == {"__float__": "-inf"}
    assert fit(X, y, checkpoint=tmp_path, C=np.inf, **RESUMABLE["sgd"]).n_iter_ == 25


def _refuse(constant):
    raise ValueError(f"non-standard JSON constant {constant}")


def test_the_data_digest_is_the_older_lograds():
    """The fingerprints of checkpoints written before stay theirs (recorded at 64f6243)."""
    da = pytest.importorskip("dask.array")
    from lograd.backends.dask import DASK
    from lograd.backends.memory import MEMORY

    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 4))
    y = (rng.rand(50) > 0.5).astype(float)
    w = rng.rand(50)
    X_sparse = X.copy()
    X_sparse[np.abs(X_sparse) < 1] = 0
    digest = checkpoint_module.data_digest
    assert digest([X, y, None, w]) == MEMORY.data_digest([X, y, None, w]) == (
        "f650d19fd4c70b1f915b4733e6ad556a6669fe32deaf438d5e45bc56a0652459")
    assert digest([np.asfortranarray(X)]) == (
        "e20b535139b9a335d88aabc8cf28cae5c5cadb90a73f72b7328dcab18f953ce1")
    assert digest([sp.csr_matrix(X_sparse), y]) == (
        "e3f1971464c28995c5d6cfbd7da72aedf4ca3251489adce42e79ba6ce1af8529")
    assert DASK.data_digest([da.from_array(X, chunks=(20, 4)), da.from_array(y, chunks=20),
                             w]) == (
        "d891f57ad55bf879324a30a3f56b4f61ea9d8295f32ffdd041be8ac136edd498")
