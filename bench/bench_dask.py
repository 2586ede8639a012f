"""lograd on Dask against dask-ml, and a streamed fit over a file set larger than free RAM.

Run (the README's "Larger than memory / on a cluster" tables; ~20 minutes; disk space for 1.5x
the available RAM)::

    pip install -e ".[bench]"      # adds dask-ml
    python3 bench/bench_dask.py --output bench/results/dask.md

Smaller and faster (a couple of minutes)::

    python3 bench/bench_dask.py --rows 200000 --sections cluster

Sections (``--sections cluster,ooc``):

cluster
    One LocalCluster of 2 worker processes (1 thread each) per method, the same data generated
    on the workers and persisted. Every method minimises the same objective (no intercept, which
    dask-ml would penalize): lbfgs with C=1 (dask-ml's ``lamduh = 1/C`` on the sum of losses is
    scikit-learn's form), gradient descent without a penalty (dask-ml's ``gradient_descent``
    ignores C). "Time to the objective" is the wall time until the objective is within 1e-6
    relative of scikit-learn's optimum at a tight tolerance, computed on the same data pulled to
    the client: for lograd from its per-iteration callback, for dask-ml (no callbacks) from the
    smallest ``max_iter`` of a ladder whose result gets there. Peak worker memory is each worker
    process's peak RSS (``ru_maxrss``) against the bytes of the blocks it holds.
ooc
    ``.npy`` chunk files of X totalling more than this machine's available RAM, a Dask array of
    ``np.load`` tasks over them (the mechanism of ``lograd train`` past its memory budget), and
    ``max_iter`` full-batch gd steps with dask's threaded scheduler: seconds per pass over the
    files and throughput against the disk's sequential read speed (``dd`` with O_DIRECT on one
    of the files, in the same run), and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import dask
import dask.array as da
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_speed import Report, describe_machine  # noqa: E402

import lograd  # noqa: E402

OPT_RTOL = 1e-6
TRUE_SEED = 7


# -- the data -------------------------------------------------------------------------------------
def make_data(n_rows, n_features, n_chunks, seed=0):
    """X (standard normal) and y from a logistic model, as lazy dask arrays (row chunks)."""
    rng = da.random.RandomState(seed)
    rows = -(-n_rows // n_chunks)
    X = rng.standard_normal((n_rows, n_features), chunks=(rows, n_features))
    w_true = np.random.default_rng(TRUE_SEED).normal(size=n_features) / np.sqrt(n_features)
    noise = rng.logistic(size=n_rows, chunks=rows)
    y = ((X @ w_true + noise) > 0).astype(np.int64)
    return X, y


def objective(X, y, coef, C):
    """scikit-learn's objective divided by C·n (no intercept): mean log-loss + ½‖w‖²/(C n)."""
    z = X @ coef
    loss = np.mean(np.logaddexp(0.0, z) - y * z)
    return float(loss + (0.0 if np.isinf(C) else 0.5 * coef @ coef / (C * len(y))))


def reference(X, y, C):
    """scikit-learn's optimum at a tight tolerance: the objective to reach."""
    penalty = None if np.isinf(C) else "l2"
    kwargs = {} if penalty is None else {"C": C}
    model = SkLogisticRegression(penalty=penalty, fit_intercept=False, tol=1e-12,
                                 max_iter=10_000, **kwargs).fit(X, y)
    return objective(X, y, model.coef_[0], C)


# -- one cluster per method -----------------------------------------------------------------------
def _rss(pid="self"):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Samples the RSS of some processes every 20 ms in a thread; ``peaks`` per pid.

    (``ru_maxrss`` does not work for dask workers: it survives ``execve`` and so starts at the
    parent's peak.)
    """

    def __init__(self, pids):
        self.peaks = {pid: _rss(pid) for pid in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            for pid in self.peaks:
                try:
                    self.peaks[pid] = max(self.peaks[pid], _rss(pid))
                except OSError:
                    pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def on_cluster(args, fit, label, n_workers=2, n_chunks=None):
    """Start a LocalCluster, persist the data, run ``fit(X, y, start)``; time and memory."""
    from distributed import Client, LocalCluster, wait

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, memory_limit=None) as cluster, \
            Client(cluster) as client:
        pids = client.run(os.getpid)
        idle = {worker: _rss(pid) for worker, pid in pids.items()}
        with PeakRSS(pids.values()) as sampler:
            X, y = make_data(args.rows, args.features, n_chunks or args.chunks)
            X, y = client.persist([X, y])
            wait([X, y])
            held = {}
            for workers in client.who_has(X).values():
                for worker in workers:
                    held[worker] = held.get(worker, 0) + X.nbytes / X.npartitions
            start = time.perf_counter()
            result = fit(X, y, start)
            seconds = time.perf_counter() - start
    rows = []
    for worker, pid in sorted(pids.items()):
        peak = sampler.peaks[pid]
        data = held.get(worker, 0)
        rows.append((label, worker.rsplit(":", 1)[-1], f"{data / 2**20:.0f}",
                     f"{peak / 2**20:.0f}", f"{(peak - idle[worker]) / 2**20:.0f}",
                     f"{(peak - idle[worker]) / data:.2f}" if data else "-"))
    return result, seconds, rows


def lograd_fit(solver, C, targets, **params):
    """A fit function recording the time at which the objective first reaches the target."""
    def fit(X, y, start):
        reached = {}

        def watch(info):
            if "t" not in reached and info["loss"] <= targets[C]:
                reached["t"] = time.perf_counter() - start
                reached["iteration"] = info["iteration"]

        model = lograd.LogisticRegression(
            solver=solver, C=C, penalty=None if np.isinf(C) else "l2", fit_intercept=False,
            callbacks=[watch], **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        return model.coef_[0], reached, model.n_iter_
    return fit


def daskml_fit(solver, C, max_iter):
    from dask_ml.linear_model import LogisticRegression as DaskMLLogisticRegression

    def fit(X, y, start):
        model = DaskMLLogisticRegression(solver=solver, C=C, fit_intercept=False,
                                         max_iter=max_iter, tol=1e-12)
        model.fit(X, y)
        return np.asarray(model.coef_).ravel(), {}, max_iter
    return fit


def section_cluster(args, report):
    report(f"## lograd vs dask-ml on a LocalCluster (2 workers x 1 thread), X {args.rows:,} x "
           f"{args.features} float64 in {args.chunks} row blocks "
           f"({args.rows * args.features * 8 / 2**20:.0f} MiB), no intercept")
    X_local, y_local = dask.compute(*make_data(args.rows, args.features, args.chunks))
    targets = {}
    for C in (1.0, np.inf):
        best = reference(X_local, y_local, C)
        targets[C] = best * (1 + OPT_RTOL)
        report(f"- objective to reach ({'C=1' if C == 1 else 'no penalty'}): {best:.12g} "
               f"(scikit-learn lbfgs, tol 1e-12) x (1 + {OPT_RTOL:g})")
    report()
    timing_rows, memory_rows = [], []

    def run_lograd(label, solver, C, **params):
        (coef, reached, n_iter), total, mem = on_cluster(
            args, lograd_fit(solver, C, targets, **params), label)
        final = objective(X_local, y_local, coef, C)
        when = (f"{reached['t']:.2f} s (iteration {reached['iteration']})" if reached
                else f"not reached in {n_iter} iterations")
        timing_rows.append((label, when, f"{total:.2f}", f"{final:.10g}"))
        memory_rows.extend(mem)
        return reached.get("t")

    def run_daskml(label, solver, C, ladder):
        for max_iter in ladder:
            (coef, _, _), total, mem = on_cluster(args, daskml_fit(solver, C, max_iter), label)
            final = objective(X_local, y_local, coef, C)
            if final <= targets[C]:
                timing_rows.append((label, f"{total:.2f} s (max_iter={max_iter})", f"{total:.2f}",
                                    f"{final:.10g}"))
                memory_rows.extend(mem)
                return total
            if total > args.daskml_budget:
                break
        timing_rows.append((label, f"not reached (max_iter={max_iter}: objective {final:.10g})",
                            f"{total:.2f}", f"{final:.10g}"))
        memory_rows.extend(mem)
        return None

    ours_lbfgs = run_lograd("lograd lbfgs (C=1)", "lbfgs", 1.0, tol=1e-8, max_iter=200)
    theirs_lbfgs = run_daskml("dask-ml lbfgs (C=1)", "lbfgs", 1.0, (5, 8, 12, 16, 24, 32, 48))
    ours_gd = run_lograd("lograd gd, nesterov (no penalty)", "gd", np.inf, momentum="nesterov",
                         tol=1e-8, max_iter=500)
    run_lograd("lograd gd, plain (no penalty)", "gd", np.inf, tol=1e-8, max_iter=500)
    theirs_gd = run_daskml("dask-ml gradient_descent (no penalty)", "gradient_descent", np.inf,
                           (10, 20, 40, 80, 160))
    report.table(("method", "time to the objective", "fit time (s)", "final objective"),
                 timing_rows)
    for name, ours, theirs in (("lbfgs", ours_lbfgs, theirs_lbfgs),
                               ("gradient descent", ours_gd, theirs_gd)):
        if ours and theirs:
            report(f"- {name}: lograd / dask-ml time to the objective = {ours / theirs:.2f}x "
                   "(target <= 0.5x)")
    report()
    report("Peak worker memory (RSS) against the bytes of X's blocks each worker holds; "
           "'above idle' subtracts the worker's RSS before any data (interpreter, NumPy, numba, "
           "dask):")
    report()
    report.table(("method", "worker", "data held (MiB)", "peak RSS (MiB)",
                  "peak above idle (MiB)", "above idle / data"), memory_rows)


def gd_step_times(X, y, start):
    """Seconds per full-batch gd step (median of 10), a fixed learning rate."""
    stamps = []
    model = lograd.LogisticRegression(solver="gd", learning_rate=1.0, tol=0, max_iter=11,
                                      callbacks=[lambda info: stamps.append(time.perf_counter())])
    model.fit(X, y)
    return float(np.median(np.diff(stamps)))


def section_scaling(args, report):
    report("## Per-iteration cost of a Dask fit: workers and blocks (gd step = one evaluation)")
    report()
    rows = []
    data_mib = args.rows * args.features * 8 / 2**20
    for n_workers, n_chunks in ((1, args.chunks), (2, args.chunks), (2, 4 * args.chunks),
                                (2, 2)):
        seconds, _, _ = on_cluster(args, gd_step_times, "", n_workers=n_workers,
                                   n_chunks=n_chunks)[0:3]
        per_block = args.rows / n_chunks * args.features * 8 / 2**20
        rows.append((n_workers, n_chunks, f"{per_block:.0f}", f"{seconds * 1e3:.1f}",
                     f"{data_mib / n_workers / 1024 / seconds:.2f}"))
    report.table(("workers", "blocks", "MiB per block", "ms per step",
                  "GiB/s per worker"), rows)


# -- out of core ----------------------------------------------------------------------------------
def available_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def write_chunks(directory, total_bytes, n_features, chunk_rows):
    """``.npy`` files of X (float64) and y until ``total_bytes`` of X are on disk."""
    rng = np.random.default_rng(0)
    w_true = rng.normal(size=n_features) / np.sqrt(n_features)
    files, written = [], 0
    while written < total_bytes:
        X = rng.standard_normal((chunk_rows, n_features))
        y = (X @ w_true + rng.logistic(size=chunk_rows) > 0).astype(np.float64)
        stem = os.path.join(directory, f"part-{len(files):05d}")
        np.save(stem + "-X.npy", X)
        np.save(stem + "-y.npy", y)
        files.append(stem)
        written += X.nbytes
    return files


def disk_read_speed(paths) -> float:
    """Bytes/s of sequential O_DIRECT reads of some files (not served from the page cache)."""
    size = sum(os.path.getsize(path) for path in paths)
    start = time.perf_counter()
    for path in paths:
        subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=16M", "iflag=direct"],
                       check=True, capture_output=True)
    return size / (time.perf_counter() - start)


def section_ooc(args, report):
    available = available_bytes()
    total = int(available * args.ooc_factor)
    chunk_rows = args.ooc_chunk_rows
    report(f"## Out of core: a streamed gd fit over .npy files of {total / 2**30:.1f} GiB "
           f"(available RAM {available / 2**30:.1f} GiB), {args.features} features, "
           f"{chunk_rows:,} rows per file")
    directory = tempfile.mkdtemp(prefix="lograd-ooc-", dir=args.ooc_dir)
    try:
        start = time.perf_counter()
        stems = write_chunks(directory, total, args.features, chunk_rows)
        os.sync()  # the write-back of the new files must not compete with the reads below
        report(f"- wrote {len(stems)} files in {time.perf_counter() - start:.0f} s (with sync)")
        shape = (chunk_rows, args.features)
        X = da.concatenate([da.from_delayed(dask.delayed(np.load)(s + "-X.npy"), shape,
                                            np.float64) for s in stems])
        y = da.concatenate([da.from_delayed(dask.delayed(np.load)(s + "-y.npy"), shape[:1],
                                            np.float64) for s in stems])
        disk = disk_read_speed([s + "-X.npy" for s in stems[:8]])
        passes = []
        model = lograd.LogisticRegression(
            solver="gd", learning_rate=1.0, tol=0, max_iter=args.ooc_iterations,
            callbacks=[lambda info: passes.append(time.perf_counter())])
        rss_before = _rss()
        with dask.config.set(scheduler="threads"):
            start = time.perf_counter()
            model.fit(X, y)
            seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        # passes: the classes (one pass over y), then one pass over X per gd step + a final value
        steps = np.diff([start] + passes)
        per_pass = float(np.median(steps[1:])) if len(steps) > 1 else float(steps[0])
        report(f"- fit: {seconds:.1f} s for {args.ooc_iterations} gd steps; median "
               f"{per_pass:.1f} s per step (one pass over X and y)")
        report()
        report.table(
            ("X on disk (GiB)", "s per pass", "throughput (GB/s)", "disk O_DIRECT read (GB/s)",
             "throughput / disk", "peak RSS (MiB)", "RSS before fit (MiB)"),
            [(f"{X.nbytes / 2**30:.1f}", f"{per_pass:.1f}",
              f"{(X.nbytes + y.nbytes) / per_pass / 1e9:.2f}", f"{disk / 1e9:.2f}",
              f"{(X.nbytes + y.nbytes) / per_pass / disk:.2f}", f"{peak / 2**20:.0f}",
              f"{rss_before / 2**20:.0f}")])
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--sections", default="cluster,scaling,ooc")
    parser.add_argument("--daskml-budget", type=float, default=300.0,
                        help="stop dask-ml's max_iter ladder after a fit this long (s)")
    parser.add_argument("--ooc-factor", type=float, default=1.5,
                        help="file set size as a multiple of the available RAM")
    parser.add_argument("--ooc-dir", default=None, help="where to write the file set")
    parser.add_argument("--ooc-chunk-rows", type=int, default=500_000)
    parser.add_argument("--ooc-iterations", type=int, default=3)
    parser.add_argument("--output", help="also write the report to this file")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", FutureWarning)  # scikit-learn 1.8's `penalty`, dask-ml's
    warnings.filterwarnings("ignore", "overflow encountered in exp")  # dask-glm's loss
    report = Report()
    describe_machine(report)
    try:
        import dask_ml
        import distributed
        report(f"- dask {dask.__version__}, distributed {distributed.__version__}, dask-ml "
               f"{dask_ml.__version__}")
    except ImportError as exc:
        report(f"- {exc}: pip install -e '.[dask,bench]'")
        return 1
    report()
    sections = set(args.sections.split(","))
    if "cluster" in sections:
        section_cluster(args, report)
    if "scaling" in sections:
        section_scaling(args, report)
    if "ooc" in sections:
        section_ooc(args, report)
    if args.output:
        report.write(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
