"""The dense kernel's variants against the graph of plain ops, and how one is chosen and cached.

No test here measures anything: the choice is driven by given timings (``measure`` replaced),
so that these tests check the logic and never depend on how busy the machine is.
"""

import json
import os
import stat

import numba
import numpy as np
import pytest

from lograd import kernel_tuning, losses
from lograd.losses import (
    DENSE_BINARY_DEFAULT,
    DENSE_BINARY_VARIANTS,
    DenseVariant,
    fused_data_loss,
    unfused_data_loss,
)
from test_fused import RTOL, assert_close, loss_and_grads, make_problem


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Every test starts with no choice made and a cache directory of its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("LOGRAD_KERNEL_TUNING", raising=False)
    kernel_tuning.forget()
    yield tmp_path / "cache" / "lograd" / "kernel-variants.json"
    kernel_tuning.forget()


def variant_sums(X, Y, s, w0, b0, variant, threads=2):
    """The kernel's sums (loss, dL/dw, dL/db, not yet divided by the weight) in one variant."""
    dtype = X.dtype
    y = Y.astype(dtype)
    weights = np.empty(0, dtype) if s is None else s.astype(dtype)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        return losses._dense_binary(X, w0, np.asarray(b0, dtype), y, weights, variant)
    finally:
        numba.set_num_threads(before)


# -- every variant computes what the graph computes ----------------------------------------------
@pytest.mark.parametrize("variant", DENSE_BINARY_VARIANTS, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n, threads", [(700, 2), (16 * 13 + 7, 1), (64 * 17 + 29, 2)])
def test_every_variant_gives_the_graphs_loss_and_gradient(variant, dtype, weighted, n, threads):
    """Row counts around the block sizes and prefetches reaching past the last row (clamped)."""
    X, Y, s, w0, b0 = make_problem("binary", "dense", dtype, weighted, n=n, d=37)
    want_loss, want_w, want_b = loss_and_grads(unfused_data_loss, X, Y, s, w0, b0)
    total = float(n if s is None else s.sum())
    loss, grad_w, grad_b = variant_sums(X, Y, s, w0, b0, variant, threads)
    assert_close(loss / total, want_loss.data, RTOL[dtype])
    assert_close(grad_w / total, want_w, RTOL[dtype])
    assert_close(grad_b / total, want_b, RTOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_candidates_give_the_defaults_bits(dtype, weighted):
    """What tuning may choose changes no bit of a fit: the same sums, in the same order, as the
    default (so a fit is reproducible whether or not the cache knows this CPU yet)."""
    X, Y, s, w0, b0 = make_problem("binary", "dense", dtype, weighted, n=64 * 17 + 29, d=37)
    want = variant_sums(X, Y, s, w0, b0, DENSE_BINARY_DEFAULT)
    for variant in DENSE_BINARY_VARIANTS:
        got = variant_sums(X, Y, s, w0, b0, variant)
        for g, v in zip(got, want):
            assert np.array_equal(g, v), variant


@pytest.mark.parametrize("variant", DENSE_BINARY_VARIANTS, ids=str)
def test_every_variant_stays_exact_at_extreme_logits(variant):
    X, Y, s, w0, b0 = make_problem("binary", "dense", np.float64, False, n=300)
    w0 = 300.0 * w0  # |z| in the thousands: exp(z) overflows, the loss must not
    want_loss, want_w, want_b = loss_and_grads(unfused_data_loss, X, Y, s, w0, b0)
    loss, grad_w, grad_b = variant_sums(X, Y, s, w0, b0, variant)
    assert np.isfinite(loss) and loss / 300 > 10
    for got, want in [(loss / 300, want_loss.data), (grad_w / 300, want_w),
                      (grad_b / 300, want_b)]:
        assert_close(got, want, 1e-10)


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("variant", [DENSE_BINARY_VARIANTS[0], DENSE_BINARY_VARIANTS[-1]],
                         ids=str)
def test_the_chosen_variant_runs_through_the_op(monkeypatch, kind, layout, variant):
    """Whatever variant this CPU chose, the fused op (dense binary takes it; multinomial and
    sparse data have no variants) gives the graph's value and gradients."""
    kernel_tuning.use(losses.DENSE_BINARY_KERNEL, np.float64, variant)
    X, Y, s, w0, b0 = make_problem(kind, layout, np.float64, True)
    ran, on_threads = [], losses._on_threads
    monkeypatch.setattr(losses, "_on_threads", lambda kernel, *args: (
        ran.append((kernel, args)), on_threads(kernel, *args))[1])
    fused = loss_and_grads(fused_data_loss, X, Y, s, w0, b0)
    if kind == "binary" and layout == "dense":
        (kernel, args), = ran
        assert kernel is losses._k_dense_binary
        assert args[-2] == variant.rows_ahead(X.shape[1] * 8)
    else:
        assert all(kernel is not losses._k_dense_binary for kernel, _ in ran)
    unfused = loss_and_grads(unfused_data_loss, X, Y, s, w0, b0)
    for got, want in zip(fused, unfused):
        assert_close(got.data if hasattr(got, "data") else got,
                     want.data if hasattr(want, "data") else want, 1e-10)


def test_variants_prefetch_by_bytes_and_are_named():
    assert DenseVariant(0).rows_ahead(800) == 0
    assert DenseVariant(32).rows_ahead(800) == 41  # 32 KiB of 800-byte rows, rounded up
    assert DenseVariant(32).rows_ahead(10**6) == 4  # never a row of the group in work
    assert str(DenseVariant(8)) == "prefetch 8 KiB ahead"
    assert str(DenseVariant(0)) == "no prefetch ahead"
    assert DENSE_BINARY_DEFAULT in DENSE_BINARY_VARIANTS


# -- choosing: measured once, on large data only ------------------------------------------------
CANDIDATES = DENSE_BINARY_VARIANTS[:3]
DEFAULT = CANDIDATES[1]


def fake_measure(medians, spread=0.01, calls=None, rounds=9):
    """A stand-in for kernel_tuning.measure: each candidate's rounds scatter by ``spread``
    around the given median (seconds), the same way in every round (so they pair)."""
    wiggle = np.linspace(-spread, spread, rounds)

    def measure(candidates, run):
        if calls is not None:
            calls.append(list(candidates))
        return {c: list(medians[c] * (1 + wiggle)) for c in candidates}, 0.05
    return measure


def choose(make_run=lambda: None, retune=False, dtype=np.float64):
    return kernel_tuning.choose("test-kernel", dtype, CANDIDATES, DEFAULT, make_run,
                                retune=retune)


def test_the_fastest_variant_is_chosen_and_cached(monkeypatch, own_cache):
    calls = []
    medians = {CANDIDATES[0]: 3e-3, CANDIDATES[1]: 2e-3, CANDIDATES[2]: 1e-3}
    monkeypatch.setattr(kernel_tuning, "measure", fake_measure(medians, calls=calls))
    assert choose() == CANDIDATES[2]
    assert choose() == CANDIDATES[2] and len(calls) == 1  # measured once per process
    made = kernel_tuning.choice("test-kernel", np.float64)
    assert made.source == "measured" and made.saved
    assert made.medians == pytest.approx(medians)
    entry = json.loads(own_cache.read_text())["choices"][kernel_tuning.cpu_model()]
    assert entry["test-kernel float64"]["variant"] == CANDIDATES[2]._asdict()
    assert not [p for p in own_cache.parent.iterdir() if p.name != own_cache.name]  # no temp

    kernel_tuning.forget()  # a later process: the cache answers, nothing is measured
    monkeypatch.setattr(kernel_tuning, "measure", None)
    assert choose() == CANDIDATES[2]
    assert kernel_tuning.choice("test-kernel", np.float64).source == "cache"
    assert choose(dtype=np.float32, make_run=None) == DEFAULT  # per dtype: float32 unknown


def test_the_default_stays_unless_another_is_clearly_faster(monkeypatch):
    near = {CANDIDATES[0]: 1.0e-3, CANDIDATES[1]: 1.01e-3, CANDIDATES[2]: 2e-3}
    monkeypatch.setattr(kernel_tuning, "measure", fake_measure(near))
    assert choose() == DEFAULT  # 1% slower: within TIE, the measurement's noise


def test_a_winner_must_win_round_by_round():
    """Paired by round: a candidate faster in the median but not in most rounds does not win
    (a busy machine), one that is faster in every round does."""
    default, other, steady = "default", "lucky", "steady"
    times = {default: [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
             other: [0.5, 0.5, 0.5, 1.5, 1.5, 1.5],  # median 1.0 ... or half of its rounds
             steady: [0.9, 0.9, 0.95, 0.9, 0.9, 0.9]}
    assert kernel_tuning.faster_than_default(times, default) == steady
    times[other] = [0.5, 0.5, 0.5, 0.5, 1.5, 1.5]  # median 0.5, but faster in 4 of 6 rounds
    assert kernel_tuning.faster_than_default(times, default) == other
    times[other] = [0.5, 0.5, 0.5, 1.5, 1.5, 1.5, 1.5]  # faster in 3 of 7: not 2 of 3
    times[default], times[steady] = [1.0] * 7, [1.0] * 7
    assert kernel_tuning.faster_than_default(times, default) == default


def test_too_few_rounds_keep_the_default_uncached(monkeypatch, own_cache):
    """A machine so busy that the measurement ran out of time before MIN_ROUNDS rounds."""
    monkeypatch.setattr(kernel_tuning, "measure", fake_measure(
        {CANDIDATES[0]: 1e-3, CANDIDATES[1]: 2e-3, CANDIDATES[2]: 2e-3},
        rounds=kernel_tuning.MIN_ROUNDS - 1))
    assert choose() == DEFAULT
    made = kernel_tuning.choice("test-kernel", np.float64)
    assert made.source == "measured" and not made.saved and not own_cache.exists()


def test_small_data_runs_the_default_without_measuring(monkeypatch):
    monkeypatch.setattr(kernel_tuning, "measure", None)  # calling it would fail
    assert choose(make_run=None) == DEFAULT
    assert kernel_tuning.choice("test-kernel", np.float64).source == "default"
    # the first large data set then measures
    monkeypatch.setattr(kernel_tuning, "measure", fake_measure(
        {CANDIDATES[0]: 1e-3, CANDIDATES[1]: 2e-3, CANDIDATES[2]: 2e-3}))
    assert choose() == CANDIDATES[0]


def test_a_scattered_measurement_is_used_but_not_cached(monkeypatch, own_cache):
    medians = {CANDIDATES[0]: 1e-3, CANDIDATES[1]: 2e-3, CANDIDATES[2]: 2e-3}
    monkeypatch.setattr(kernel_tuning, "measure", fake_measure(medians, spread=0.5))
    assert choose() == CANDIDATES[0]
    assert not kernel_tuning.choice("test-kernel", np.float64).saved
    assert not own_cache.exists()


def test_retune_measures_again(monkeypatch):
    monkeypatch.setattr(kernel_tuning, "measure", fake_measure(
        {CANDIDATES[0]: 1e-3, CANDIDATES[1]: 2e-3, CANDIDATES[2]: 2e-3}))
    assert choose() == CANDIDATES[0]
    monkeypatch.setattr(kernel_tuning, "measure", fake_measure(
        {CANDIDATES[0]: 3e-3, CANDIDATES[1]: 2e-3, CANDIDATES[2]: 1e-3}))
    assert choose() == CANDIDATES[0]
    assert choose(retune=True) == CANDIDATES[2]


def test_turned_off_by_the_environment(monkeypatch, own_cache):
    monkeypatch.setattr(kernel_tuning, "measure", None)
    monkeypatch.setenv("LOGRAD_KERNEL_TUNING", "0")
    own_cache.parent.mkdir(parents=True)
    own_cache.write_text(json.dumps({"format": 1, "choices": {kernel_tuning.cpu_model(): {
        "test-kernel float64": {"variant": CANDIDATES[0]._asdict()}}}}))
    assert choose() == DEFAULT  # neither the cache nor a measurement


# -- the cache file never makes a call fail ----------------------------------------------------
@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs a directory its owner cannot write (root writes anyway)")
def test_an_unwritable_cache_directory_is_no_error(monkeypatch, own_cache):
    own_cache.parent.mkdir(parents=True)
    own_cache.parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        monkeypatch.setattr(kernel_tuning, "measure", fake_measure(
            {CANDIDATES[0]: 1e-3, CANDIDATES[1]: 2e-3, CANDIDATES[2]: 2e-3}))
        assert choose() == CANDIDATES[0]
        assert not kernel_tuning.choice("test-kernel", np.float64).saved
    finally:
        own_cache.parent.chmod(stat.S_IRWXU)
    assert not own_cache.exists()


def test_a_cache_path_that_cannot_be_a_directory_is_no_error(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # lograd/ would go inside a file
    monkeypatch.setattr(kernel_tuning, "measure", fake_measure(
        {CANDIDATES[0]: 1e-3, CANDIDATES[1]: 2e-3, CANDIDATES[2]: 2e-3}))
    assert choose() == CANDIDATES[0]
    assert not kernel_tuning.choice("test-kernel", np.float64).saved
    assert blocker.read_text() == "not a directory"


def test_a_directory_in_place_of_the_cache_file_is_no_error(monkeypatch, own_cache):
    own_cache.mkdir(parents=True)
    monkeypatch.setattr(kernel_tuning, "measure", fake_measure(
        {CANDIDATES[0]: 1e-3, CANDIDATES[1]: 2e-3, CANDIDATES[2]: 2e-3}))
    assert choose() == CANDIDATES[0]
    assert not kernel_tuning.choice("test-kernel", np.float64).saved
    assert own_cache.is_dir() and not any(own_cache.iterdir())
    assert list(own_cache.parent.iterdir()) == [own_cache]  # the temporary file was removed


@pytest.mark.parametrize("content", [
    b"", b"{not json", b"\xff\xfe", b"[1, 2]", b'{"format": 99, "choices": {}}',
    b'{"format": 1, "choices": []}', b'{"format": 1, "choices": {"CPU": 3}}',
    "CPU-ENTRY-VARIANT-GONE", b" " * (2**20 + 10) + b"{}",
], ids=["empty", "not-json", "not-utf8", "a-list", "other-format", "choices-a-list",
        "cpu-not-a-dict", "unknown-variant", "too-large"])
def test_a_damaged_cache_file_is_ignored_and_replaced(monkeypatch, own_cache, content):
    if content == "CPU-ENTRY-VARIANT-GONE":  # a variant no longer among the candidates
        content = json.dumps({"format": 1, "choices": {kernel_tuning.cpu_model(): {
            "test-kernel float64": {"variant": {"prefetch_kib": 3}}}}}).encode()
    own_cache.parent.mkdir(parents=True)
    own_cache.write_bytes(content)
    monkeypatch.setattr(kernel_tuning, "measure", fake_measure(
        {CANDIDATES[0]: 1e-3, CANDIDATES[1]: 2e-3, CANDIDATES[2]: 2e-3}))
    assert choose() == CANDIDATES[0]
    assert kernel_tuning.choice("test-kernel", np.float64).source == "measured"
    stored = json.loads(own_cache.read_text())  # rewritten whole
    assert stored["choices"][kernel_tuning.cpu_model()]["test-kernel float64"]["variant"] \
        == CANDIDATES[0]._asdict()


def test_other_entries_of_the_cache_are_kept(monkeypatch, own_cache):
    own_cache.parent.mkdir(parents=True)
    other = {"Some Other CPU": {"test-kernel float64": {"variant": {"block": 32}}},
             kernel_tuning.cpu_model(): {"test-kernel float32": {
                 "variant": CANDIDATES[2]._asdict()}}}
    own_cache.write_text(json.dumps({"format": 1, "choices": other}))
    monkeypatch.setattr(kernel_tuning, "measure", fake_measure(
        {CANDIDATES[0]: 1e-3, CANDIDATES[1]: 2e-3, CANDIDATES[2]: 2e-3}))
    assert choose() == CANDIDATES[0]
    stored = json.loads(own_cache.read_text())["choices"]
    assert stored["Some Other CPU"] == other["Some Other CPU"]
    mine = stored[kernel_tuning.cpu_model()]
    assert mine["test-kernel float32"]["variant"] == CANDIDATES[2]._asdict()
    assert mine["test-kernel float64"]["variant"] == CANDIDATES[0]._asdict()


def test_the_cache_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert kernel_tuning.cache_path() == str(tmp_path / "xdg" / "lograd" / "kernel-variants.json")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # the spec: ignore a relative path
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert kernel_tuning.cache_path() == str(tmp_path / "home" / ".cache" / "lograd"
                                             / "kernel-variants.json")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert kernel_tuning.cache_path().startswith(str(tmp_path / "home" / ".cache"))


def test_the_cpu_model_names_something():
    assert kernel_tuning.cpu_model().strip()


# -- the measurement protocol (nothing timed is asserted) ---------------------------------------
def test_measure_interleaves_every_candidate_in_rotating_order():
    order = []
    times, seconds = kernel_tuning.measure(["a", "b", "c"], order.append, seconds=1.0,
                                           min_rounds=2, max_rounds=4, clock=lambda: 0.0)
    warmup, rounds = order[:3], [order[i:i + 3] for i in range(3, len(order), 3)]
    assert warmup == ["a", "b", "c"]
    assert rounds == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]
    assert {c: len(t) for c, t in times.items()} == {"a": 4, "b": 4, "c": 4}
    assert all(x >= 0 for t in times.values() for x in t) and seconds >= 0


def test_measure_gives_up_on_a_machine_too_busy_to_time():
    """Rounds that take longer than 3x the budget end the measurement early."""
    clock = iter(range(1000))
    times, _ = kernel_tuning.measure(["a", "b"], lambda c: None, seconds=0.5, min_rounds=5,
                                     max_rounds=10, clock=lambda: next(clock))
    assert len(times["a"]) == len(times["b"]) == 1  # one round took 5 "s" > 3 x 0.5 s


def test_large_data_is_measured_on_slices_that_cover_it_in_turn(monkeypatch):
    """The dispatch measures on the first large X, each timed call on the next rows."""
    monkeypatch.setattr(kernel_tuning, "TUNE_MIN_BYTES", 40_000 * 8 * 8)
    monkeypatch.setattr(kernel_tuning, "SLICE_BYTES", 5_000 * 8 * 8)
    X, Y, s, w0, b0 = make_problem("binary", "dense", np.float64, False, n=40_000, d=8)
    seen = []

    def measure(candidates, run):
        real = losses._dense_binary
        monkeypatch.setattr(losses, "_dense_binary",
                            lambda Xs, *args: seen.append(Xs.__array_interface__["data"][0]))
        candidates = list(candidates)
        for call in range(16):  # two passes over the 8 slices, whatever the candidates
            run(candidates[call % len(candidates)])
        monkeypatch.setattr(losses, "_dense_binary", real)
        fastest = DENSE_BINARY_VARIANTS[-1]
        return {c: [1e-3 if c == fastest else 2e-3] * 9 for c in candidates}, 0.01

    monkeypatch.setattr(kernel_tuning, "measure", measure)
    fused = loss_and_grads(fused_data_loss, X, Y, s, w0, b0)  # the first call measures ...
    assert kernel_tuning.choice(losses.DENSE_BINARY_KERNEL, np.float64).variant \
        == DENSE_BINARY_VARIANTS[-1]
    base, row_bytes = X.__array_interface__["data"][0], 8 * 8
    starts = [(address - base) // row_bytes for address in seen]
    assert starts[:8] == list(range(0, 40_000, 5_000))  # every slice once, then again
    assert starts[8:16] == starts[:8]
    unfused = loss_and_grads(unfused_data_loss, X, Y, s, w0, b0)  # ... and computes as always
    for got, want in zip(fused, unfused):
        assert_close(got.data if hasattr(got, "data") else got,
                     want.data if hasattr(want, "data") else want, 1e-10)


def test_small_data_never_measures(monkeypatch):
    monkeypatch.setattr(kernel_tuning, "measure", None)  # calling it would fail
    X, Y, s, w0, b0 = make_problem("binary", "dense", np.float64, True, n=2000)
    loss_and_grads(fused_data_loss, X, Y, s, w0, b0)
    made = kernel_tuning.choice(losses.DENSE_BINARY_KERNEL, np.float64)
    assert made.source == "default" and made.variant == DENSE_BINARY_DEFAULT


def test_data_mapped_from_a_file_never_measures(monkeypatch, tmp_path):
    """Timing slices of a memory map would time the disk: the default runs instead."""
    monkeypatch.setattr(kernel_tuning, "TUNE_MIN_BYTES", 1000)
    monkeypatch.setattr(kernel_tuning, "measure", None)  # calling it would fail
    X, Y, s, w0, b0 = make_problem("binary", "dense", np.float64, False, n=2000)
    mapped = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=X.dtype,
                                       shape=X.shape)
    mapped[:] = X
    for view in (mapped, np.asarray(mapped), mapped[100:]):
        loss_and_grads(fused_data_loss, view, Y[-view.shape[0]:], s, w0, b0)
    assert kernel_tuning.choice(losses.DENSE_BINARY_KERNEL, np.float64).source == "default"
