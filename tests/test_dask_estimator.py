"""LogisticRegression on Dask input: DataFrames, weights, sgd/adam over shuffled blocks,
partial_fit, early stopping and score, each against the NumPy fit or an independent computation.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")

import dask  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from tests.linear_support import linear_model, linear_objective  # noqa: E402

import lograd  # noqa: E402
import lograd.backends.dask as lograd_dask  # noqa: E402
from dask_support import assert_same_model  # noqa: E402
from lograd.errors import UserError  # noqa: E402
from lograd.models.targets import encode as _encode  # noqa: E402
from lograd.objective import penalty_strengths  # noqa: E402

GD = dict(solver="gd", learning_rate=0.5, tol=0, max_iter=15)


def make_data(n=600, d=4, k=2, seed=0):
    """Overlapping Gaussian classes (finite optimum), labels 0..k-1."""
    r = np.random.default_rng(seed)
    y = r.integers(0, k, n)
    X = r.normal(size=(k, d))[y] + 1.5 * r.normal(size=(n, d))
    return X, y


def chunked(a, rows):
    return da.from_array(a, chunks=(rows,) + a.shape[1:])


def objective_value(model, X, y, sample_weight=None):
    """F at the model's parameters, by a NumPy Objective built here (not the dask op)."""
    s = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    total = len(y) if s is None else s.sum()
    alpha_l2, alpha_l1 = penalty_strengths(model.penalty, model.C, model.l1_ratio, total)
    objective = linear_objective(X, _encode(y, model.classes_, X.dtype), s, alpha_l2=alpha_l2,
                                 alpha_l1=alpha_l1, fit_intercept=model.fit_intercept)
    return objective.value(objective.pack(objective.model.from_coef(model.coef_,
                                                                    model.intercept_)))


# -- DataFrames ---------------------------------------------------------------------------------
def frames(X, y, npartitions=3, columns=None):
    columns = columns or [f"f{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    return (frame, pd.Series(y, name="label"), dd.from_pandas(frame, npartitions=npartitions),
            dd.from_pandas(pd.Series(y, name="label"), npartitions=npartitions))


@pytest.mark.parametrize("k", [2, 3])
def test_fit_on_dask_dataframe_equals_pandas_fit(k):
    X, y = make_data(n=700, k=k, seed=k)
    frame, series, dframe, dseries = frames(X, y)
    reference = lograd.LogisticRegression(**GD).fit(frame, series)
    on_dask = lograd.LogisticRegression(**GD).fit(dframe, dseries)
    assert_same_model(reference, on_dask, 1e-10)
    np.testing.assert_array_equal(on_dask.feature_names_in_, reference.feature_names_in_)
    for method in ("decision_function", "predict_proba", "predict"):
        lazy = getattr(on_dask, method)(dframe)
        assert isinstance(lazy, da.Array), method
        np.testing.assert_allclose(lazy.compute(), getattr(reference, method)(frame),
                                   rtol=1e-9, atol=1e-12, err_msg=method)
    assert on_dask.score(dframe, dseries) == pytest.approx(reference.score(frame, series),
                                                           abs=1e-15)


def test_dataframe_int_and_bool_columns_become_float64():
    X, y = make_data(n=300)
    frame = pd.DataFrame({"a": X[:, 0], "b": np.round(X[:, 1] * 3).astype(np.int64),
                          "c": X[:, 2] > 0, "d": X[:, 3].astype(np.float32)})
    params = dict(GD, learning_rate=0.1)  # column b is unscaled: 0.5 would overshoot
    reference = lograd.LogisticRegression(**params).fit(frame.astype(np.float64), y)
    on_dask = lograd.LogisticRegression(**params).fit(dd.from_pandas(frame, npartitions=2),
                                                      da.from_array(y, chunks=100))
    assert_same_model(reference, on_dask, 1e-10)
    assert list(on_dask.feature_names_in_) == ["a", "b", "c", "d"]


def test_dataframe_errors_name_the_column():
    X, y = make_data(n=200)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(city=["x", "y"] * 100)
    model = lograd.LogisticRegression()
    with pytest.raises(UserError, match="column 'city' has dtype"):
        model.fit(dd.from_pandas(frame, npartitions=2), y)
    _, _, dframe, dseries = frames(X, y, columns=list("abcd"))
    model.fit(dframe, dseries)
    renamed = dd.from_pandas(pd.DataFrame(X, columns=list("abcz")), npartitions=2)
    with pytest.raises(UserError, match=r"fitted on columns \['a', 'b', 'c', 'd'\]"):
        model.predict(renamed)
    with pytest.raises(UserError, match="fitted on 4 features"):
        model.predict(dframe[["a", "b"]])
    with pytest.raises(UserError, match="dask array, DataFrame or Series"):
        model.fit(dask.delayed(X), y)


# -- sample and class weights -------------------------------------------------------------------
@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 3.0, 1: 0.5}])
@pytest.mark.parametrize("weight_kind", ["dask", "numpy", "series", None])
@pytest.mark.parametrize("k", [2, 3])
def test_weighted_gd_fit_equals_numpy_fit(class_weight, weight_kind, k):
    X, y = make_data(n=500, k=k, seed=40 + k)
    s = np.random.default_rng(k).uniform(0.0, 2.0, len(y))
    s[:7] = 0.0  # zero weights are allowed
    weights = {"dask": da.from_array(s, chunks=130), "numpy": s, None: None,
               "series": dd.from_pandas(pd.Series(s), npartitions=4)}[weight_kind]
    params = dict(GD, class_weight=class_weight)
    reference = lograd.LogisticRegression(**params).fit(X, y, sample_weight=(
        None if weight_kind is None else s))
    on_dask = lograd.LogisticRegression(**params).fit(chunked(X, 120), y, sample_weight=weights)
    assert_same_model(reference, on_dask, 1e-10)
    np.testing.assert_allclose(on_dask.loss_curve_, reference.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_auto_learning_rate_with_weights_equals_numpy(fit_intercept):
    X, y = make_data(n=400, k=3, seed=8)
    s = np.random.default_rng(1).uniform(0.1, 3.0, len(y))
    params = dict(solver="gd", tol=0, max_iter=5, class_weight="balanced",
                  fit_intercept=fit_intercept)
    reference = lograd.LogisticRegression(**params).fit(X, y, sample_weight=s)
    on_dask = lograd.LogisticRegression(**params).fit(chunked(X, 150), y,
                                                      sample_weight=chunked(s, 100))
    assert on_dask.learning_rate_ == pytest.approx(reference.learning_rate_, rel=1e-12)
    assert_same_model(reference, on_dask, 1e-10)


def test_weighted_lbfgs_fit_equals_numpy_fit():
    X, y = make_data(n=800, k=4, seed=9)
    s = np.random.default_rng(2).uniform(0.1, 3.0, len(y))
    params = dict(solver="lbfgs", tol=1e-9, max_iter=300, C=0.3, class_weight="balanced")
    reference = lograd.LogisticRegression(**params).fit(X, y, sample_weight=s)
    on_dask = lograd.LogisticRegression(**params).fit(chunked(X, 200), y,
                                                      sample_weight=chunked(s, 200))
    assert_same_model(reference, on_dask, 1e-8)


@pytest.mark.parametrize("weights, match", [
    (-np.ones(100), "negative value at row 0"),
    (np.r_[np.ones(99), np.nan], "NaN or infinity"),
    (np.zeros(100), "sums to zero"),
    (np.ones(99), r"shape \(99,\)"),
])
@pytest.mark.parametrize("as_dask", [False, True])
def test_bad_sample_weights_raise_user_error(weights, match, as_dask):
    X, y = make_data(n=100)
    if as_dask:
        weights = da.from_array(weights, chunks=40)
    with pytest.raises(UserError, match=match):
        lograd.LogisticRegression().fit(chunked(X, 50), y, sample_weight=weights)


def test_bad_class_weight_raises_user_error():
    X, y = make_data(n=100)
    with pytest.raises(UserError, match="class_weight"):
        lograd.LogisticRegression(class_weight={0: 1.0, 7: 2.0}).fit(chunked(X, 50), y)
    model = lograd.LogisticRegression(solver="gd", class_weight="balanced")
    with pytest.raises(UserError, match="class 2 has no rows"):
        model.partial_fit(chunked(X, 50), y, classes=[0, 1, 2])


# -- sgd and adam over shuffled blocks ----------------------------------------------------------
@pytest.mark.parametrize("params", [
    dict(solver="sgd", learning_rate=0.05),
    dict(solver="sgd", learning_rate=0.1, momentum=0.6, penalty="l1", C=0.5, batch_size=32),
    dict(solver="adam", learning_rate=0.02, lr_schedule="invscaling"),
])
@pytest.mark.parametrize("k", [2, 3])
def test_one_block_stochastic_fit_equals_numpy_fit(params, k):
    """With one block the chained random state makes the shuffles the NumPy fit's."""
    X, y = make_data(n=300, k=k, seed=50 + k)
    s = np.random.default_rng(k).uniform(0.0, 2.0, len(y))
    s[:40] = 0.0  # whole zero-weight batches are skipped, as in NumPy fits
    params = dict(params, max_iter=6, tol=0, random_state=11)
    reference = lograd.LogisticRegression(**params).fit(X, y, sample_weight=s)
    on_dask = lograd.LogisticRegression(**params).fit(chunked(X, 300), y,
                                                      sample_weight=chunked(s, 300))
    assert_same_model(reference, on_dask, 1e-12)
    np.testing.assert_allclose(on_dask.loss_curve_, reference.loss_curve_, rtol=1e-12)
    assert on_dask.n_iter_ == reference.n_iter_ == 6


def test_block_order_varies_across_epochs_and_follows_random_state(monkeypatch):
    X, y = make_data(n=450)
    sizes = (60, 70, 80, 90, 150)  # block sizes tell the blocks apart
    visits = []
    block_epoch = lograd_dask._block_epoch

    def recording(X_block, *args):
        visits.append(X_block.shape[0])
        return block_epoch(X_block, *args)

    monkeypatch.setattr(lograd_dask, "_block_epoch", recording)
    params = dict(solver="sgd", learning_rate=0.05, max_iter=6, tol=0)
    Xd = da.from_array(X, chunks=(sizes, 4))
    fits, orders = [], []
    for seed in (3, 3, 4):
        visits.clear()
        fits.append(lograd.LogisticRegression(random_state=seed, **params).fit(Xd, y))
        orders.append([tuple(visits[i:i + 5]) for i in range(0, len(visits), 5)])
    assert len(orders[0]) == 6
    assert all(sorted(order) == sorted(sizes) for order in orders[0])
    assert len(set(orders[0])) > 1  # a fresh order each epoch
    assert orders[0] == orders[1] and orders[0] != orders[2]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    assert not np.allclose(fits[0].coef_, fits[2].coef_, rtol=1e-6, atol=0)


@pytest.mark.parametrize("solver, rate", [("sgd", 0.2), ("adam", 0.01)])
def test_stochastic_fit_over_blocks_reaches_the_optimum(solver, rate):
    X, y = make_data(n=1200, d=5, seed=4)
    optimum = lograd.LogisticRegression(solver="lbfgs", tol=1e-10, max_iter=500).fit(X, y)
    F_opt = objective_value(optimum, X, y)
    params = dict(solver=solver, learning_rate=rate, max_iter=15, tol=0, random_state=0,
                  batch_size=50)
    on_dask = lograd.LogisticRegression(**params).fit(chunked(X, 150), y)
    in_memory = lograd.LogisticRegression(**params).fit(X, y)
    F_dask = objective_value(on_dask, X, y)
    assert F_dask - F_opt < 1e-3
    assert objective_value(in_memory, X, y) - F_opt < 1e-3  # what in-memory sgd attains too
    # loss_curve_ is the full objective (the dask op) after every epoch
    assert len(on_dask.loss_curve_) == 16
    assert on_dask.loss_curve_[-1] == pytest.approx(F_dask, rel=1e-12)
    assert on_dask.loss_curve_[-1] < on_dask.loss_curve_[0]


def test_sgd_on_dask_with_auto_rate_and_float32():
    X, y = make_data(n=400, seed=6)
    X32 = X.astype(np.float32)
    params = dict(solver="sgd", max_iter=4, tol=0, random_state=1)
    reference = lograd.LogisticRegression(**params).fit(X32, y)
    on_dask = lograd.LogisticRegression(**params).fit(chunked(X32, 400), y)
    assert on_dask.coef_.dtype == reference.coef_.dtype
    assert on_dask.learning_rate_ == pytest.approx(reference.learning_rate_, rel=1e-5)
    np.testing.assert_allclose(on_dask.coef_, reference.coef_, rtol=1e-4, atol=1e-5)


# -- partial_fit --------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["gd", "sgd", "adam"])
def test_partial_fit_on_dask_equals_numpy_partial_fit(solver):
    X, y = make_data(n=600, k=3, seed=12)
    labels = np.array(["a", "b", "c"])[y]
    params = dict(solver=solver, learning_rate=0.05, random_state=2)
    reference, on_dask = (lograd.LogisticRegression(**params) for _ in range(2))
    for part in (slice(0, 200), slice(200, 400), slice(400, 600)):
        # one block per call: the NumPy epoch's shuffles (sgd/adam)
        reference.partial_fit(X[part], labels[part], classes=["a", "b", "c"])
        on_dask.partial_fit(chunked(X[part], 200), da.from_array(labels[part], chunks=200),
                            classes=["a", "b", "c"])
    assert_same_model(reference, on_dask, 1e-12)
    assert on_dask.n_iter_ == reference.n_iter_ == 3
    np.testing.assert_allclose(on_dask.loss_curve_, reference.loss_curve_, rtol=1e-12)


def test_partial_fit_on_many_blocks_is_one_epoch_and_checks_classes():
    X, y = make_data(n=400, seed=13)
    model = lograd.LogisticRegression(solver="sgd", learning_rate=0.05, random_state=0)
    with pytest.raises(UserError, match="needs classes"):
        model.partial_fit(chunked(X, 100), y)
    model.partial_fit(chunked(X, 100), y, classes=[0, 1])
    assert model.n_iter_ == 1 and len(model.loss_curve_) == 2
    assert model.loss_curve_[1] == pytest.approx(objective_value(model, X, y), rel=1e-12)
    with pytest.raises(UserError, match=r"labels \[5\] not in classes"):
        model.partial_fit(chunked(X, 100), np.r_[y[:-1], 5])
    with pytest.raises(UserError, match="differ from the first call"):
        model.partial_fit(chunked(X, 100), y, classes=[0, 2])
    with pytest.raises(UserError, match="fitted on 4 features"):
        model.partial_fit(chunked(X[:, :3], 100), y)


# -- early stopping -----------------------------------------------------------------------------
def held_out_rows(n, chunks, y, fraction, seed):
    """The rows the fit's holdout keeps for training and validation (same seed, same masks)."""
    index = da.from_array(np.arange(n, dtype=float)[:, None], chunks=(chunks, 1))
    (train, _, _), (validation, _) = lograd_dask.holdout(
        index, da.from_array(y, chunks=(chunks,)), None, np.unique(y), fraction,
        check_random_state(seed))
    return train.compute()[:, 0].astype(int), validation.compute()[:, 0].astype(int)


def test_holdout_is_per_block_stratified_and_seeded():
    X, y = make_data(n=1000, k=3, seed=14)
    chunks = (300, 300, 250, 150)
    train, val = held_out_rows(1000, chunks, y, 0.2, seed=5)
    np.testing.assert_array_equal(np.sort(np.r_[train, val]), np.arange(1000))
    bounds = np.cumsum((0,) + chunks)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        in_block = val[(val >= start) & (val < stop)]
        assert in_block.size == int(np.ceil(0.2 * (stop - start)))
        for label in range(3):  # each class's share, within one row
            expected = 0.2 * np.count_nonzero(y[start:stop] == label)
            assert abs(np.count_nonzero(y[in_block] == label) - expected) < 1
    same = held_out_rows(1000, chunks, y, 0.2, seed=5)[1]
    other = held_out_rows(1000, chunks, y, 0.2, seed=6)[1]
    np.testing.assert_array_equal(same, val)
    assert not np.array_equal(np.sort(other), np.sort(val))


@pytest.mark.parametrize("k", [2, 3])
def test_early_stopping_on_dask_equals_gd_on_the_training_rows(k):
    X, y = make_data(n=800, k=k, seed=15 + k)
    chunks, fraction, seed = (200, 200, 250, 150), 0.25, 7
    params = dict(solver="gd", learning_rate=1.0, tol=0, max_iter=60)
    on_dask = lograd.LogisticRegression(early_stopping=True, validation_fraction=fraction,
                                        n_iter_no_change=4, random_state=seed, **params)
    on_dask.fit(da.from_array(X, chunks=(chunks, 4)), y)
    train, val = held_out_rows(800, chunks, y, fraction, seed)
    n_iter = int(on_dask.n_iter_[0])
    assert n_iter < 60  # stopped early
    coefs = []
    reference = lograd.LogisticRegression(callbacks=lambda info: coefs.append(
        (info["coef"], info["intercept"])), **dict(params, max_iter=n_iter))
    reference.fit(X[train], y[train])
    scores = []
    for coef, intercept in coefs:  # accuracy on the held-out rows, computed here in NumPy
        logits = X[val] @ coef.T + intercept
        predicted = (logits[:, 0] > 0).astype(int) if k == 2 else logits.argmax(axis=1)
        scores.append(np.mean(predicted == y[val]))
    np.testing.assert_allclose(on_dask.validation_scores_, scores, rtol=0, atol=1e-15)
    best = int(np.argmax(scores))
    np.testing.assert_allclose(on_dask.coef_, coefs[best][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(on_dask.intercept_, coefs[best][1], rtol=1e-10, atol=1e-12)


def test_early_stopping_with_sgd_runs_on_dask():
    X, y = make_data(n=600, seed=16)
    model = lograd.LogisticRegression(solver="sgd", learning_rate=0.05, early_stopping=True,
                                      n_iter_no_change=3, max_iter=40, random_state=0)
    model.fit(chunked(X, 150), y)
    assert len(model.validation_scores_) == model.n_iter_ < 40
    assert max(model.validation_scores_) > 0.6


def test_early_stopping_needs_blocks_of_two_rows():
    X, y = make_data(n=6)
    with pytest.raises(UserError, match="every block is too small"):
        lograd.LogisticRegression(solver="gd", early_stopping=True).fit(chunked(X, 1), y)


# -- score --------------------------------------------------------------------------------------
class CountingScheduler:
    """A dask scheduler that counts its computations and the largest result it returned."""

    def __init__(self):
        self.calls, self.largest = 0, 0

    def __call__(self, dsk, keys, **kwargs):
        self.calls += 1
        results = dask.get(dsk, keys, **kwargs)
        sizes = [np.size(r) for r in np.ravel(np.asarray(results, dtype=object))]
        self.largest = max([self.largest] + sizes)
        return results


@pytest.mark.parametrize("weighted", [False, True])
def test_score_is_one_dask_computation_of_scalars(weighted):
    X, y = make_data(n=900, k=3, seed=17)
    model = lograd.LogisticRegression(max_iter=200).fit(X, y)
    s = np.random.default_rng(3).uniform(0.0, 2.0, len(y)) if weighted else None
    scheduler = CountingScheduler()
    with dask.config.set(scheduler=scheduler):
        score = model.score(chunked(X, 200), da.from_array(y, chunks=300),
                            None if s is None else chunked(s, 250))
    assert scheduler.calls == 1 and scheduler.largest == 1
    assert score == pytest.approx(accuracy_score(y, model.predict(X), sample_weight=s),
                                  abs=1e-14)
    assert model.score(X, y, s) == pytest.approx(score, abs=1e-14)  # NumPy input unchanged


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_checkpointed_stochastic_fit_on_dask_resumes_exactly(solver, tmp_path):
    """The block order and in-block shuffles come from the estimator's random state, which the
    checkpoint saves: a fit stopped after 3 epochs and resumed ends as an uninterrupted one."""
    X, y = make_data(n=600, k=3, seed=3)
    params = dict(solver=solver, learning_rate=0.05, max_iter=8, tol=0, random_state=5)
    whole = lograd.LogisticRegression(**params).fit(chunked(X, 150), y)
    stopped = lograd.LogisticRegression(checkpoint=tmp_path, checkpoint_every=2,
                                        callbacks=lambda info: info["iteration"] == 3, **params)
    assert stopped.fit(chunked(X, 150), y).n_iter_ == 3
    resumed = lograd.LogisticRegression(checkpoint=tmp_path, checkpoint_every=2, **params)
    resumed.fit(chunked(X, 150), y)
    np.testing.assert_array_equal(resumed.coef_, whole.coef_)
    assert resumed.loss_curve_ == whole.loss_curve_


def test_string_labels_from_a_dask_series():
    X, y = make_data(n=300, k=3, seed=18)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(label=np.array(["ant", "bee", "cat"])[y])
    dframe = dd.from_pandas(frame, npartitions=3)
    params = dict(GD, class_weight="balanced")
    reference = lograd.LogisticRegression(**params).fit(frame[list("abcd")], frame["label"])
    on_dask = lograd.LogisticRegression(**params).fit(dframe[list("abcd")], dframe["label"])
    assert_same_model(reference, on_dask, 1e-10)
    np.testing.assert_array_equal(on_dask.predict(dframe[list("abcd")]).compute(),
                                  reference.predict(frame[list("abcd")]))
    assert on_dask.score(dframe[list("abcd")], dframe["label"]) == pytest.approx(
        reference.score(frame[list("abcd")], frame["label"]), abs=1e-15)


@pytest.mark.parametrize("exact", [True, False])
def test_lipschitz_bound_with_weights_on_dask_equals_numpy(exact, monkeypatch):
    import lograd.objective as objective_module

    if not exact:  # the trace bound, used above _MAX_EXACT_GRAM features
        monkeypatch.setattr(objective_module, "MAX_EXACT_GRAM", 2)
    X, y = make_data(n=500, k=3, seed=19)
    s = np.random.default_rng(4).uniform(0.0, 3.0, len(y))
    Y = np.eye(3)[y]
    for fit_intercept in (True, False):
        in_memory = linear_objective(X, Y, s, alpha_l2=0.01, fit_intercept=fit_intercept)
        on_dask = lograd_dask.BlockObjective(linear_model(X, Y, fit_intercept), chunked(X, 120),
                                             chunked(Y, 120), chunked(s, 120), alpha_l2=0.01)
        assert on_dask.lipschitz() == pytest.approx(in_memory.lipschitz(), rel=1e-12)


class _FakeClient:
    """Stands in for a distributed Client: only ``scheduler_info`` is used."""

    def __init__(self, limits):
        self.limits = limits

    def scheduler_info(self, n_workers=5):
        return {"workers": {f"w{i}": {"memory_limit": limit}
                            for i, limit in enumerate(self.limits)}}


def test_data_is_persisted_only_when_it_fits_half_the_workers_memory():
    X = da.zeros((1000, 100), chunks=(250, 100))  # 800,000 bytes
    y = da.zeros(1000, chunks=250)  # 8,000 bytes
    assert lograd_dask.fits_in_cluster(_FakeClient([900_000, 900_000]), (X, y, None))
    assert not lograd_dask.fits_in_cluster(_FakeClient([800_000, 800_000]), (X, y))
    assert lograd_dask.fits_in_cluster(_FakeClient([0, 0]), (X, y))  # no limits set


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_value_in_a_dask_X_is_named_by_row_and_column(bad):
    X, y = make_data(n=100)
    X[37, 2] = bad
    for fit in (lambda m: m.fit(chunked(X, 30), chunked(y, 30)),
                lambda m: m.partial_fit(chunked(X, 30), chunked(y, 30), classes=[0, 1])):
        with pytest.raises(UserError, match=r"non-finite value \((nan|inf)\) at row 37, column 2"):
            fit(lograd.LogisticRegression(solver="gd"))
