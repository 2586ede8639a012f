"""Which variant of a compiled kernel runs fastest on this CPU: measured once, then cached.

How fast the fused kernel streams X depends on the CPU more than on anything else in it:
software prefetch makes the step much faster on one Intel Xeon and the plain read slower on an
AMD EPYC (docs/performance.md, "The kernel's variant, chosen per CPU"). So lograd measures, as
FFTW and OpenBLAS choose their kernels per machine. The first time a kernel runs on data of at
least :data:`TUNE_MIN_BYTES`, :func:`choose` times each of its variants on slices of that data
(interleaved rounds, about :data:`MEASURE_SECONDS` in all), keeps the fastest for the process
(the default unless another variant was clearly faster round by round, see
:func:`faster_than_default`), and writes it to ``kernel-variants.json`` in lograd's cache
directory (``$XDG_CACHE_HOME/lograd``, by default ``~/.cache/lograd``), keyed by the CPU model
and the dtype, so that later processes skip the measurement. Before that (smaller data only)
the cache's choice or the kernel's default variant runs.

A kernel's variants must compute the same values (lograd's dense kernel: the same bits), so a
choice changes only the speed. The cache is a convenience and never makes a call fail: a
missing, damaged or unwritable file is ignored (the measurement then happens once per
process). A measurement whose timings scattered widely (other programs busy) is used but not
written. ``LOGRAD_KERNEL_TUNING=0`` turns measuring and the cache off: every kernel runs its
default variant.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import tempfile
import threading
import time
from dataclasses import dataclass, field

import numpy as np

#: Data at least this large stream from memory on current CPUs: their first call measures.
TUNE_MIN_BYTES = 128 * 2**20
#: Each timed call works on this many bytes of rows, a different slice each time.
SLICE_BYTES = 16 * 2**20
#: The measurement stops after this long (once it has MIN_ROUNDS rounds).
MEASURE_SECONDS = 0.3
MIN_ROUNDS, MAX_ROUNDS = 5, 25
#: The default variant is kept unless another one is faster by more than this fraction.
TIE = 0.02
#: A choice is not cached when its or the default's interquartile range exceeds this fraction
#: of the median (other programs were busy).
MAX_SPREAD = 0.2
_FORMAT = 1
_MAX_FILE_BYTES = 2**20


@dataclass(frozen=True)
class Choice:
    """What :func:`choose` decided for one kernel and dtype, and how.

    ``source`` is ``"measured"`` (in this process), ``"cache"`` (read from :func:`cache_path`)
    or ``"default"`` (nothing measured yet, or tuning turned off). A measured choice also has
    each candidate's median seconds per call, the winner's spread (interquartile range / median),
    how long the measurement took, and whether it was written to the cache.
    """

    variant: object
    source: str
    medians: dict = field(default_factory=dict)
    spread: float | None = None
    seconds: float | None = None
    saved: bool = False


_lock = threading.Lock()
_choices: dict = {}  # (kernel, dtype name) -> Choice, for this process


def choose(kernel, dtype, candidates, default, make_run=None, *, retune=False):
    """The variant of ``kernel`` to run on data of ``dtype``: this CPU's fastest, once known.

    Parameters
    ----------
    kernel : str
        The kernel's name in the cache; change it when the kernel or its candidates change.
    dtype : numpy dtype
    candidates : sequence of NamedTuple
        The variants (NamedTuples of ints, stored by their fields); ``default`` is one of them.
    default : NamedTuple
    make_run : callable, optional
        ``make_run() -> run``, where ``run(variant)`` makes one call of the kernel in that
        variant on a slice of the caller's data (a different slice each time). Given only for
        data of at least :data:`TUNE_MIN_BYTES`; without it nothing is measured.
    retune : bool
        Measure again even if a choice is known (with ``make_run``).

    Returns
    -------
    One of ``candidates``.
    """
    key = (kernel, np.dtype(dtype).name)
    known = _choices.get(key)  # (the hot path: one dict read, no lock)
    if known is not None and not retune and (known.source != "default" or make_run is None):
        return known.variant
    with _lock:
        known = _choices.get(key)
        if retune or known is None or (known.source == "default" and make_run is not None):
            known = _choices[key] = _decide(key, candidates, default, make_run, retune, known)
        return known.variant


def choice(kernel, dtype) -> Choice | None:
    """What :func:`choose` decided for ``kernel`` and ``dtype`` in this process (None: not yet)."""
    return _choices.get((kernel, np.dtype(dtype).name))


def use(kernel, dtype, variant) -> None:
    """Run ``variant`` of ``kernel`` on ``dtype`` from now on in this process (for benchmarks
    and experiments; nothing is measured or cached)."""
    with _lock:
        _choices[(kernel, np.dtype(dtype).name)] = Choice(variant, "use()")


def forget() -> None:
    """Drop this process's choices: the next call looks in the cache file again."""
    with _lock:
        _choices.clear()


def enabled() -> bool:
    """False when ``LOGRAD_KERNEL_TUNING`` is 0/off/no/false: defaults only, no cache."""
    setting = os.environ.get("LOGRAD_KERNEL_TUNING", "1").strip().lower()
    return setting not in ("0", "off", "no", "false")


def _decide(key, candidates, default, make_run, retune, known) -> Choice:
    if not enabled():
        return Choice(default, "default")
    if known is None and not retune:  # the file is read once per process and kernel
        cached = _cached_choice(key, candidates)
        if cached is not None:
            return cached
    if make_run is None:
        return known if known is not None else Choice(default, "default")
    times, seconds = measure(candidates, make_run())
    medians = {c: float(np.median(t)) for c, t in times.items()}
    spreads = {c: _spread(t) for c, t in times.items()}
    complete = min(len(t) for t in times.values()) >= MIN_ROUNDS
    best = faster_than_default(times, default) if complete else default
    calm = complete and max(spreads[best], spreads[default]) <= MAX_SPREAD
    saved = calm and _save(key, best, medians)
    return Choice(best, "measured", medians, spreads[best], seconds, saved)


def faster_than_default(times, default, tie=TIE):
    """The candidate that beat ``default`` round by round, or ``default``.

    Each round timed every candidate within a few milliseconds, so a candidate's time over the
    default's in the same round cancels what drifts between rounds. A candidate wins when that
    ratio's median is below ``1 - tie`` and it was faster in at least two rounds of three;
    of the winners, the one with the smallest median ratio. Under heavy load the ratios
    scatter, no candidate wins this way, and the default stays.
    """
    base = np.asarray(times[default])
    best, best_ratio = default, 1.0 - tie
    for candidate, t in times.items():
        ratios = np.asarray(t) / base
        if np.median(ratios) < best_ratio and np.mean(ratios < 1.0) >= 2 / 3:
            best, best_ratio = candidate, float(np.median(ratios))
    return best


def _spread(times) -> float:
    """Interquartile range / median."""
    q25, q50, q75 = np.percentile(times, [25, 50, 75])
    return float((q75 - q25) / max(q50, 1e-12))


def measure(candidates, run, *, seconds=MEASURE_SECONDS, min_rounds=MIN_ROUNDS,
            max_rounds=MAX_ROUNDS, clock=time.perf_counter):
    """Wall times of ``run(candidate)`` for each candidate, in interleaved rounds.

    Every round times each candidate once, starting each round from the next candidate, so
    that a burst of load or a drift of the machine's speed falls on all of them alike; the
    rounds go on until ``seconds`` have passed (at least ``min_rounds``, at most
    ``max_rounds``) and stop at ``3 * seconds`` in any case (a machine so busy that rounds
    take that long gives no usable timings: fewer than ``min_rounds`` keep the default). One
    untimed call of each candidate comes first (it compiles or loads the kernel and wakes the
    threads). ``clock`` is the timer (seconds).

    Returns
    -------
    times : dict
        candidate -> list of seconds, one per round (the same rounds for every candidate).
    seconds : float
        How long the timed rounds took.
    """
    candidates = list(candidates)
    for candidate in candidates:
        run(candidate)
    times = {candidate: [] for candidate in candidates}
    start = clock()
    for round_ in range(max_rounds):
        first = round_ % len(candidates)
        for candidate in candidates[first:] + candidates[:first]:
            before = clock()
            run(candidate)
            times[candidate].append(clock() - before)
        elapsed = clock() - start
        if (round_ + 1 >= min_rounds and elapsed >= seconds) or elapsed >= 3 * seconds:
            break
    return times, clock() - start


# -- the cache file ------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name: /proc/cpuinfo's ``model name`` on Linux, else what platform says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name") and ":" in line:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def cache_path() -> str | None:
    """``$XDG_CACHE_HOME/lograd/kernel-variants.json`` (``~/.cache`` without it, or when it is
    not an absolute path, as the XDG spec says); None when there is no home directory."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "lograd", "kernel-variants.json")


def _read_choices(path) -> dict:
    """``{cpu model: {entry name: entry}}`` from the cache file; {} for anything unusable."""
    try:
        with open(path, "rb") as f:
            raw = f.read(_MAX_FILE_BYTES + 1)
        data = json.loads(raw) if len(raw) <= _MAX_FILE_BYTES else None
    except (OSError, ValueError):  # (ValueError: not JSON, or not UTF-8)
        return {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return {}
    choices = data.get("choices")
    if not isinstance(choices, dict):
        return {}
    return {cpu: entries for cpu, entries in choices.items() if isinstance(entries, dict)}


def _entry_name(key) -> str:
    kernel, dtype = key
    return f"{kernel} {dtype}"


def _cached_choice(key, candidates) -> Choice | None:
    path = cache_path()
    if path is None:
        return None
    entry = _read_choices(path).get(cpu_model(), {}).get(_entry_name(key))
    stored = entry.get("variant") if isinstance(entry, dict) else None
    for candidate in candidates:  # a variant that is no longer a candidate is ignored
        if candidate._asdict() == stored:
            return Choice(candidate, "cache")
    return None


def _save(key, variant, medians) -> bool:
    """Add this choice to the cache file (atomically); False if it cannot be written."""
    path = cache_path()
    if path is None:
        return False
    from numba import get_num_threads

    from lograd import __version__

    entry = {"variant": variant._asdict(),
             "median_ms": {str(c): round(t * 1e3, 4) for c, t in medians.items()},
             "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "threads": get_num_threads(), "lograd": __version__}
    # Written to a temporary file in the same directory, then renamed over the old one, so that
    # a reader sees the old file or the new one, never half of one. (Not lograd.files'
    # atomic_write: that layer sits above the kernels, and a cache that cannot be written is
    # skipped, not reported.)
    temporary = None
    try:
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        choices = _read_choices(path)  # other kernels', dtypes' and CPUs' entries stay
        choices.setdefault(cpu_model(), {})[_entry_name(key)] = entry
        handle, temporary = tempfile.mkstemp(prefix=".kernel-variants.", dir=directory)
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            json.dump({"format": _FORMAT, "choices": choices}, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(temporary, path)
        temporary = None
    except OSError:
        return False
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.remove(temporary)
    return True
