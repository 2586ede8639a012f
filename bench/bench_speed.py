"""Speed and memory of lograd against the physical limit and other libraries.

Run (the README's Performance table comes from the full size; ~10 minutes, ~3 GB of RAM)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/bench_speed.py

Smaller and faster (about a minute)::

    python3 bench/bench_speed.py --n 100000 --sparse-n 100000 --sparse-d 10000

Sections (``--sections 1,3`` runs some of them):

1. one full-batch gradient step, dense X of n x d, float64 and float32: lograd's fused op (and its
   unfused graph) vs one parallel read of X (the limit: the faster of a plain loop and one with
   software prefetch), a hand-written NumPy step and PyTorch autograd (if
   ``pip install torch==2.13.0`` was done);
2. time to reach the optimum on the same data (objective within 1e-6 relative of scikit-learn's
   at a tight tolerance): lograd vs scikit-learn's lbfgs, newton-cholesky and SGDClassifier;
3. the lecture's tiny graph (one example, two features): one gradient-descent step, also on a
   minimal micrograd-style engine (the floor of per-op overhead in Python);
4. peak resident memory of a fit (measured in a fresh process) vs the bytes of X;
5. sparse CSR X: one step and time to optimum, lograd vs scipy.sparse / scikit-learn.

Every time is the median of ``--repeats`` runs (section 1: of ``--step-repeats`` interleaved
rounds); ratios are taken within one run. The machine,
library versions and BLAS set-up are printed first. ``--output FILE`` also writes the report.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

import numba
import numpy as np
import scipy
import scipy.sparse as sp
import sklearn
from scipy.special import expit
from threadpoolctl import threadpool_info, threadpool_limits

import lograd
from lograd import Tensor, kernel_tuning, losses
from lograd.losses import _pick_kernel, _prefetch, fused_data_loss, unfused_data_loss

try:
    import torch
except ImportError:
    torch = None

TORCH_MISSING = "PyTorch not installed (pip install torch==2.13.0): its rows are skipped"
OPT_RTOL = 1e-6  # "reached the optimum": objective within this relative distance of the reference


# -- report ---------------------------------------------------------------------------------------
class Report:
    """Collects lines; prints them as they come and can write them all at the end."""

    def __init__(self):
        self.lines = []

    def __call__(self, text=""):
        print(text, flush=True)
        self.lines.append(text)

    def table(self, header, rows):
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
        fmt = "| " + " | ".join(f"{{:{w}}}" for w in widths) + " |"
        self(fmt.format(*header))
        self("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for row in rows:
            self(fmt.format(*[str(c) for c in row]))
        self()

    def write(self, path):
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(self.lines) + "\n")
        os.replace(tmp, path)


def describe_machine(report):
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    import psutil

    report("## Machine")
    report(f"- CPU: {cpu}, {os.cpu_count()} logical cores, numba threads "
           f"{numba.get_num_threads()} ({numba.config.THREADING_LAYER} layer)")
    report(f"- RAM: {psutil.virtual_memory().total / 2**30:.1f} GiB; {platform.platform()}")
    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}",
                f"scipy {scipy.__version__}", f"scikit-learn {sklearn.__version__}",
                f"numba {numba.__version__}", f"lograd {lograd.__version__}",
                f"torch {torch.__version__}" if torch else "torch absent"]
    report(f"- Versions: {', '.join(versions)}")
    for lib in threadpool_info():
        if lib["user_api"] == "blas":
            report(f"- BLAS: {lib['internal_api']} {lib['version']} kernel "
                   f"{lib.get('architecture')} x{lib['num_threads']} threads "
                   f"({os.path.basename(lib['filepath'])})")
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                           "OPENBLAS_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT",
                                           "OMP_NUM_THREADS")}
    report(f"- Environment: {', '.join(f'{k}={v}' for k, v in env.items() if v) or 'no BLAS vars'}")
    if env["OPENBLAS_CORETYPE"] or env["OPENBLAS_L2_SIZE"]:
        report("- WARNING: OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are set and slow current NumPy's "
               "BLAS; rerun with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`")
    report()


# -- timing ---------------------------------------------------------------------------------------
def run_times(step, repeats, before=None):
    """Wall times of ``repeats`` calls of ``step()`` after one warm-up.

    ``before()``, if given, runs untimed before each timed call (to measure an order effect).
    """
    step()
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return np.array(times)


def median_seconds(step, repeats, before=None):
    return float(np.median(run_times(step, repeats, before)))


class OtherLoad:
    """CPU time that other processes used while we ran: the machine is shared.

    ``(busy jiffies of the whole machine - this process's CPU time) / wall time``, in cores.
    """

    def __init__(self):
        self.start = self._snapshot()

    @staticmethod
    def _snapshot():
        fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
        busy = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
        own = sum(os.times()[:4])
        return time.monotonic(), busy, own

    def cores(self):
        (t0, busy0, own0), (t1, busy1, own1) = self.start, self._snapshot()
        return max(0.0, ((busy1 - busy0) - (own1 - own0)) / (t1 - t0))


def fmt_ms(seconds):
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} µs"


# -- data -----------------------------------------------------------------------------------------
def dense_problem(n, d, dtype, seed=0):
    """X (n, d) standard normal, generated in place (no temporaries); y from a logistic model."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, d), dtype=dtype)
    for start in range(0, n, 65536):
        rng.standard_normal(out=X[start:start + 65536], dtype=dtype)
    w_true = rng.standard_normal(d) / math.sqrt(d) * 2.0
    z = X @ w_true.astype(dtype)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(dtype)
    return X, y


def sparse_problem(n, d, nnz_per_row, seed=0):
    """CSR X (n, d), ``nnz_per_row`` standard-normal entries per row at random columns."""
    rng = np.random.default_rng(seed)
    indptr = np.arange(0, (n + 1) * nnz_per_row, nnz_per_row, dtype=np.int64)
    indices = rng.integers(0, d, n * nnz_per_row, dtype=np.int32)
    data = rng.standard_normal(n * nnz_per_row)
    X = sp.csr_matrix((data, indices, indptr), shape=(n, d))
    w_true = rng.standard_normal(d) * 0.3
    z = X @ w_true
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return X, y


@numba.njit(parallel=True, cache=True, fastmath={"reassoc"})
def _read_all(X, n_chunks):
    """Σ_ij X_ij with one accumulator row per chunk: one parallel, vectorised read of X."""
    n, d = X.shape
    acc = np.zeros((n_chunks, d), dtype=X.dtype)
    for c in numba.prange(n_chunks):
        a = acc[c]
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            x = X[i]
            for j in range(d):
                a[j] += x[j]
    return acc.sum()


@numba.njit(parallel=True, cache=True, fastmath={"reassoc"})
def _read_all_prefetched(X, n_chunks, ahead=64):
    """:func:`_read_all`, asking for row i + ``ahead`` while it sums row i, as lograd's kernel does:
    one core streams faster when it has more cache misses in flight than the loop itself makes."""
    n, d = X.shape
    line = 64 // X.itemsize
    acc = np.zeros((n_chunks, d), dtype=X.dtype)
    for c in numba.prange(n_chunks):
        a = acc[c]
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            for j in range(0, d, line):
                _prefetch(X, min(i + ahead, n - 1), j)
            x = X[i]
            for j in range(d):
                a[j] += x[j]
    return acc.sum()


# -- section 1: one full-batch step ---------------------------------------------------------------
def lograd_step(X, y, data_loss, lr=0.1):
    """A gradient-descent step through lograd's graph; ``data_loss`` fused or unfused."""
    w = Tensor(np.zeros(X.shape[1], X.dtype), requires_grad=True)
    b = Tensor(np.zeros((), X.dtype), requires_grad=True)

    def step():
        w.zero_grad()
        b.zero_grad()
        loss = data_loss(X, w, b, y, None)
        loss.backward()
        w.data -= lr * w.grad
        b.data -= lr * b.grad
    return step


def numpy_step(X, y, lr=0.1):
    """The hand-written step: z = Xw + b, a = σ(z), dw = Xᵀ(a - y)/n (two BLAS passes)."""
    w, b = np.zeros(X.shape[1], X.dtype), np.zeros((), X.dtype)
    n = X.shape[0]

    def step():
        nonlocal b
        z = X @ w + b
        a = 1.0 / (1.0 + np.exp(-z))
        dz = a - y
        w[:] -= lr * (X.T @ dz) / n
        b = b - lr * dz.mean()
    return step


def torch_step(X, y, lr=0.1):
    """PyTorch autograd: BCEWithLogits on X @ w + b, backward, SGD update (X shared, no copy)."""
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    w = torch.zeros(X.shape[1], dtype=Xt.dtype, requires_grad=True)
    b = torch.zeros((), dtype=Xt.dtype, requires_grad=True)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step():
        loss = loss_fn(Xt @ w + b, yt)
        loss.backward()
        with torch.no_grad():
            for t in (w, b):
                t.sub_(lr * t.grad)
                t.grad = None
    return step


def section_step(report, args):
    report(f"## 1. One full-batch gradient step, dense X of {args.n:,} x {args.d}")
    report(f"CPU: {kernel_tuning.cpu_model()}")
    if torch is None:
        report(f"({TORCH_MISSING})")
    rows, variant_rows, estimator_rows, chosen = [], [], [], {}
    for dtype in (np.float64, np.float32):
        X, y = dense_problem(args.n, args.d, dtype)
        name = np.dtype(dtype).name
        chosen[name] = choose_variant(report, X, y, args.kernel_variant)

        def read(X=X):
            return _read_all(X, 4 * numba.get_num_threads())

        def read_prefetched(X=X):
            return _read_all_prefetched(X, 4 * numba.get_num_threads())
        fused = lograd_step(X, y, fused_data_loss)
        numpy_ = numpy_step(X, y)
        cases = {
            "one parallel read of X (plain loop)": (read, None),
            "one parallel read of X, with software prefetch": (read_prefetched, None),
            "lograd, fused op (default)": (fused, None),
            "lograd, fused op, right after a NumPy/BLAS step": (fused, numpy_),
            "lograd, unfused graph (X@w -> cross-entropy -> mean)":
                (lograd_step(X, y, unfused_data_loss), None),
            "hand-written NumPy step": (numpy_, None),
            "hand-written NumPy step, right after a lograd step": (numpy_, fused),
        }
        if torch is not None:
            cases["PyTorch autograd (BCEWithLogits + backward)"] = (torch_step(X, y), None)
        # (interleaved: this VM's memory bandwidth drifts over seconds, and a case timed in one
        # stretch can land in a slow one; taking turns spreads the drift over every case. The
        # first case follows PyTorch, and PyTorch a NumPy step: those two wait for the pools.)
        after_blas = [list(cases)[0], "PyTorch autograd (BCEWithLogits + backward)"]
        times = interleaved_times(cases, args.step_repeats, settle=0.3, settle_before=after_blas)
        # the limit: the faster of the two reads, measured in this same run
        limit = min(np.median(times[k]) for k in list(cases)[:2])
        fused_time = np.median(times["lograd, fused op (default)"])
        for case, t in times.items():
            rows.append([name, f"{X.nbytes / 1e6:.0f} MB", case,
                         fmt_ms(np.median(t)), fmt_ms(t.min()), f"{np.median(t) / limit:.2f}x",
                         f"{np.median(t) / fused_time:.2f}x"])
        del cases, fused, numpy_
        variant_rows += every_variant(X, y, chosen[name], args.step_repeats, read,
                                      read_prefetched)
        estimator_rows.append(estimator_per_iteration(X, y, args.step_repeats))
        del X, y, read, read_prefetched
    report.table(["dtype", "X", "step", "median", "min", "median / faster read of X",
                  "median / lograd fused"], rows)
    report("Every variant of the dense kernel, called directly on the whole X (interleaved "
           "with the two reads, "
           f"{args.step_repeats} rounds); the first-use measurement's median per call is for "
           f"its {kernel_tuning.SLICE_BYTES // 2**20} MiB slices, on one thread")
    report.table(["dtype", "variant", "median", "min", "median / faster read of X",
                  "first-use measurement"], variant_rows)
    report("The estimator's iteration against the kernel's: `LogisticRegression(solver='gd', "
           "tol=0).fit`, each iteration timed (between two calls of a callback) with the "
           "kernel's calls inside it; and, inside the callback, one direct call of the kernel "
           "on the same data (the two take turns)")
    report.table(["dtype", "iterations", "fit: median per iteration",
                  "its kernel calls: median", "iteration / its kernel: median",
                  "direct kernel call: median", "iteration / direct call"], estimator_rows)
    report("Chosen variants: " + "; ".join(f"{k}: {v}" for k, v in chosen.items()))
    report()
    section_order(report, args)


def choose_variant(report, X, y, how):
    """The dense kernel's variant for X's dtype, as ``--kernel-variant`` asks (and reported)."""
    w, b = np.zeros(X.shape[1], X.dtype), np.zeros((), X.dtype)
    dtype = np.dtype(X.dtype).name
    if how not in ("measure", "cached"):
        variant = losses.DenseVariant(int(how))
        kernel_tuning.use(losses.DENSE_BINARY_KERNEL, X.dtype, variant)
        report(f"- {dtype}: {variant} (given by --kernel-variant)")
        return variant
    variant = losses.dense_binary_variant(X, w, b, y, retune=how == "measure")
    made = kernel_tuning.choice(losses.DENSE_BINARY_KERNEL, X.dtype)
    if made.source == "measured":
        ranked = sorted(made.medians.items(), key=lambda item: item[1])
        report(f"- {dtype}: {variant}, measured in this run in {made.seconds:.2f} s "
               f"(spread {made.spread:.0%}, {'written to' if made.saved else 'not cached in'} "
               f"{kernel_tuning.cache_path()}); fastest first: "
               + ", ".join(f"{v} {t * 1e3:.2f} ms" for v, t in ranked[:4]) + ", ...")
    else:
        report(f"- {dtype}: {variant} (from {made.source}: {kernel_tuning.cache_path()})")
    return variant


def every_variant(X, y, chosen, repeats, read, read_prefetched):
    """Rows of the variants table: each variant on the whole X, interleaved with the reads."""
    w = (np.random.default_rng(1).standard_normal(X.shape[1]) * 0.1).astype(X.dtype)
    b, s = np.zeros((), X.dtype), np.empty(0, X.dtype)
    cases = {"read": (read, None), "read, prefetched": (read_prefetched, None)}
    for variant in losses.DENSE_BINARY_VARIANTS:
        cases[variant] = (lambda v=variant: losses._dense_binary(X, w, b, y, s, v), None)
    times = interleaved_times(cases, repeats)
    limit = min(np.median(times["read"]), np.median(times["read, prefetched"]))
    made = kernel_tuning.choice(losses.DENSE_BINARY_KERNEL, X.dtype)
    rows = []
    for variant in losses.DENSE_BINARY_VARIANTS:
        t = times[variant]
        first_use = made.medians.get(variant) if made is not None else None
        rows.append([np.dtype(X.dtype).name,
                     f"{variant}{' (chosen)' if variant == chosen else ''}",
                     fmt_ms(np.median(t)), fmt_ms(t.min()), f"{np.median(t) / limit:.2f}x",
                     fmt_ms(first_use) if first_use else "-"])
    return rows


def estimator_per_iteration(X, y, iterations):
    """One row: the median wall time of a `fit` iteration against the kernel's.

    A callback runs once per iteration; the time from the end of one call to the start of the
    next is one iteration (solver step, objective, kernel, bookkeeping). The kernel's calls
    inside that iteration are timed too (``losses._dense_binary`` wrapped), so each iteration
    is paired with its own kernel time: on a busy machine a burst of load falls on both. Inside
    the callback, untimed by the fit's clock, the kernel also runs once on the same X (the two
    take turns; less robust to load, since the two are not the same seconds).
    """
    from lograd.estimators.logistic import LogisticRegression

    w, b = np.zeros(X.shape[1], X.dtype), np.zeros((), X.dtype)
    s = np.empty(0, X.dtype)
    kernel = losses._dense_binary
    iterations_, own, direct, last = [], [], [], [None]
    inside = [0.0]  # the kernel's time since the last callback

    def timed_kernel(*args, **kwargs):
        before = time.perf_counter()
        sums = kernel(*args, **kwargs)
        inside[0] += time.perf_counter() - before
        return sums

    def callback(info):
        now = time.perf_counter()
        if last[0] is not None:
            iterations_.append(now - last[0])
            own.append(inside[0])
        before = time.perf_counter()
        kernel(X, w, b, y, s)
        direct.append(time.perf_counter() - before)
        inside[0] = 0.0
        last[0] = time.perf_counter()

    losses._dense_binary = timed_kernel
    try:
        LogisticRegression(solver="gd", max_iter=iterations + 1, tol=0,
                           callbacks=[callback]).fit(X, y)
    finally:
        losses._dense_binary = kernel
    fit, own = np.asarray(iterations_), np.asarray(own)
    return [np.dtype(X.dtype).name, len(fit), fmt_ms(np.median(fit)), fmt_ms(np.median(own)),
            f"{np.median(fit / own):.3f}x", fmt_ms(np.median(direct)),
            f"{np.median(fit) / np.median(direct):.3f}x"]


def order_child(n, d):
    """Runs in a fresh process (so BLAS reads its environment): lograd's step alone and after
    a NumPy step; prints JSON medians."""
    X, y = dense_problem(n, d, np.float64)
    fused, numpy_ = lograd_step(X, y, fused_data_loss), numpy_step(X, y)
    print(json.dumps(dict(alone=median_seconds(fused, 7),
                          after_blas=median_seconds(fused, 7, before=numpy_))))


def section_order(report, args):
    """The OpenBLAS spin: its threads busy-wait after a call, slowing a parallel kernel next."""
    rows = []
    for timeout in (None, "4"):
        env = {k: v for k, v in os.environ.items()
               if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        if timeout:
            env["OPENBLAS_THREAD_TIMEOUT"] = timeout
        out = subprocess.run([sys.executable, __file__, "--order-child", str(args.n),
                              str(args.d)], capture_output=True, text=True, env=env)
        label = f"OPENBLAS_THREAD_TIMEOUT={timeout or 'unset (spin ~2^28 cycles)'}"
        if out.returncode != 0:
            rows.append([label, "failed", "", ""])
            continue
        m = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append([label, fmt_ms(m["alone"]), fmt_ms(m["after_blas"]),
                     f"{m['after_blas'] / m['alone']:.2f}x"])
    report("Order effect, float64, fresh process per row: lograd's fused step alone and right "
           "after a multithreaded NumPy/BLAS step")
    report.table(["BLAS setting", "alone", "after a BLAS step", "ratio"], rows)


# -- section 2: time to optimum -------------------------------------------------------------------
def objective_value(X, y, coef, intercept, C):
    """scikit-learn's objective divided by C·n: mean log-loss + ‖w‖²/(2 C n), in float64."""
    z = np.asarray(X @ coef.astype(np.float64)).ravel() + float(intercept)
    mean_loss = float(np.mean(np.logaddexp(0, z) - y * z))
    return mean_loss + float(coef @ coef) / (2 * C * X.shape[0])


class BlasLimited:
    """Fits ``estimator`` with BLAS limited to one thread: OpenBLAS's idle threads otherwise
    spin after each of L-BFGS's vector operations and slow the fused kernel that follows."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        with threadpool_limits(limits=1, user_api="blas"):
            return self.estimator.fit(X, y)


def timed_fit(make, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model = make().fit(X, y)
        seconds = time.perf_counter() - start
    return model, seconds


def time_to_optimum(name, make_for_tol, X, y, C, target, tols):
    """The fastest fit, over loosening-to-tightening tolerances, whose objective reaches target."""
    last = None
    for tol in tols:
        model, seconds = timed_fit(lambda tol=tol: make_for_tol(tol), X, y)
        value = objective_value(X, y, np.ravel(model.coef_), np.ravel(model.intercept_)[0], C)
        iters = int(np.max(getattr(model, "n_iter_", [-1])))
        last = [name, f"{tol:g}", iters, f"{seconds:.2f} s", f"{(value - target) / target:.1e}"]
        if value <= target * (1 + OPT_RTOL):
            return last + ["yes"], seconds
    return last + ["no (tightest tol tried)"], None


def section_optimum(report, args, X=None, y=None, title=None, solvers=None):
    from sklearn.linear_model import LogisticRegression as SkLogReg
    from sklearn.linear_model import SGDClassifier

    from lograd.estimators.logistic import LogisticRegression

    if X is None:
        X, y = dense_problem(args.n, args.d, np.float64)
    n = X.shape[0]
    C = args.C
    report(title or f"## 2. Time to the optimum, dense X of {n:,} x {X.shape[1]} float64, C={C}")
    ref = SkLogReg(C=C, solver="lbfgs", tol=1e-12, max_iter=10_000).fit(X, y)
    target = objective_value(X, y, ref.coef_.ravel(), ref.intercept_[0], C)
    report(f"Reference objective (scikit-learn lbfgs, tol=1e-12, {int(ref.n_iter_[0])} "
           f"iterations): {target:.12g}; reached = within {OPT_RTOL:g} relative.")
    tols = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9]
    contenders = {
        "lograd lbfgs": lambda tol: LogisticRegression(C=C, solver="lbfgs", tol=tol,
                                                       max_iter=10_000),
        "lograd lbfgs, BLAS limited to 1 thread": lambda tol: BlasLimited(LogisticRegression(
            C=C, solver="lbfgs", tol=tol, max_iter=10_000)),
        "scikit-learn lbfgs": lambda tol: SkLogReg(C=C, solver="lbfgs", tol=tol, max_iter=10_000),
        "scikit-learn newton-cholesky": lambda tol: SkLogReg(C=C, solver="newton-cholesky",
                                                             tol=tol, max_iter=1000),
        "scikit-learn SGDClassifier(log_loss)": lambda tol: SGDClassifier(
            loss="log_loss", alpha=1.0 / (C * n), tol=tol, max_iter=30, random_state=0),
    }
    contenders = {name: make for name, make in contenders.items()
                  if solvers is None or name in solvers}
    for make in contenders.values():  # load compiled kernels and caches: once per process
        timed_fit(lambda make=make: make(1e-3), X[:2000], y[:2000])
    rows, times = [], {}
    for name, make in contenders.items():
        # SGD's tolerance does not bring it to 1e-6 of the optimum: one run shows how close
        row, seconds = time_to_optimum(name, make, X, y, C, target,
                                       [1e-4] if "SGD" in name else tols)
        rows.append(row)
        times[name] = seconds
    report.table(["solver", "tol", "iterations", "fit time", "rel. gap to reference", "reached"],
                 rows)
    sk = [t for name, t in times.items() if name.startswith("scikit") and t is not None]
    for name, t in times.items():
        if name.startswith("lograd") and t is not None and sk:
            report(f"- {name} / fastest scikit-learn solver that reached it: {t / min(sk):.2f}x")
    report()


# -- section 3: the lecture's tiny graph ----------------------------------------------------------
LECTURE = dict(x1=1.0, x2=2.0, w1=0.5, w2=-1.0, b=0.25, y=1.0, lr=0.1)


def lecture_loss(w1, w2, b, x1=LECTURE["x1"], x2=LECTURE["x2"], y=LECTURE["y"]):
    """z = w1 x1 + w2 x2 + b, a = σ(z), L = -(y log a + (1-y) log(1-a)): the one graph every
    engine below is timed on (lograd Tensors, FloorNodes, torch tensors)."""
    a = (w1 * x1 + w2 * x2 + b).sigmoid()
    return -(y * a.log() + (1.0 - y) * (1.0 - a).log())


def lograd_tiny_step():
    """The lecture graph on the engine, built anew each step; backward; update."""
    p = LECTURE
    w1, w2, b = (Tensor(p[k], requires_grad=True) for k in ("w1", "w2", "b"))
    lr = p["lr"]

    def step():
        loss = lecture_loss(w1, w2, b)
        loss.backward()
        for t in (w1, w2, b):
            t.data = t.data - lr * t.grad
            t.grad = None
    return step


def lograd_tiny_compiled_step():
    """The same graph, traced once by lograd.compile_grad and replayed as straight-line code."""
    p = LECTURE
    params = [np.float64(p[k]) for k in ("w1", "w2", "b")]
    return compiled_descent(lograd.compile_grad(lecture_loss, (0, 1, 2)), params, p["lr"])


def lograd_tiny_vector_compiled_step():
    p = LECTURE
    x, y = np.array([p["x1"], p["x2"]]), np.array(p["y"])
    value_and_grad = lograd.compile_grad(
        lambda w, b: lograd.autodiff.ops.sigmoid_cross_entropy(x @ w + b, y), (0, 1))
    params = [np.array([p["w1"], p["w2"]]), np.float64(p["b"])]
    return compiled_descent(value_and_grad, params, p["lr"])


def compiled_descent(value_and_grad, params, lr):
    """One gradient-descent step per call on ``params`` (a list, updated in place)."""
    def step():
        _, grads = value_and_grad(*params)
        params[:] = [t - lr * g for t, g in zip(params, grads)]
    return step


def lograd_tiny_vector_step():
    """The same model as training writes it: z = x·w + b, fused sigmoid cross-entropy."""
    p = LECTURE
    w = Tensor(np.array([p["w1"], p["w2"]]), requires_grad=True)
    b = Tensor(p["b"], requires_grad=True)
    x, y, lr = np.array([p["x1"], p["x2"]]), np.array(p["y"]), p["lr"]

    def step():
        loss = lograd.autodiff.ops.sigmoid_cross_entropy(x @ w + b, y)
        loss.backward()
        for t in (w, b):
            t.data = t.data - lr * t.grad
            t.grad = None
    return step


def torch_tiny_vector_step():
    p = LECTURE
    w = torch.tensor([p["w1"], p["w2"]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(p["b"], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([p["x1"], p["x2"]], dtype=torch.float64)
    y, lr = torch.tensor(p["y"], dtype=torch.float64), p["lr"]
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step():
        loss = loss_fn(x @ w + b, y)
        loss.backward()
        with torch.no_grad():
            for t in (w, b):
                t.sub_(lr * t.grad)
                t.grad = None
    return step


def torch_tiny_step():
    p = LECTURE
    w1, w2, b = (torch.tensor(p[k], dtype=torch.float64, requires_grad=True)
                 for k in ("w1", "w2", "b"))
    lr = p["lr"]

    def step():
        loss = lecture_loss(w1, w2, b)
        loss.backward()
        with torch.no_grad():
            for t in (w1, w2, b):
                t.sub_(lr * t.grad)
                t.grad = None
    return step


class FloorNode:
    """The least a Python autodiff can do per op: one object, one NumPy scalar operation, one
    closure for its derivative (micrograd's design, on NumPy float64 scalars). No op table, no
    dtypes, no broadcasting, no shapes: the floor that lograd's per-op overhead is measured from.
    """

    __slots__ = ("data", "grad", "parents", "backward")

    def __init__(self, data, parents=(), backward=None):
        self.data, self.grad, self.parents, self.backward = data, 0.0, parents, backward

    def __add__(self, other):
        other = other if isinstance(other, FloorNode) else FloorNode(np.float64(other))
        out = FloorNode(self.data + other.data, (self, other))
        out.backward = lambda: (self.add_grad(out.grad), other.add_grad(out.grad))
        return out

    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, FloorNode) else FloorNode(np.float64(other))
        out = FloorNode(self.data * other.data, (self, other))
        out.backward = lambda: (self.add_grad(other.data * out.grad),
                                other.add_grad(self.data * out.grad))
        return out

    __rmul__ = __mul__

    def __neg__(self):
        return self * -1.0

    def __rsub__(self, other):  # other - self
        return (-self) + other

    def sigmoid(self):
        out = FloorNode(expit(self.data), (self,))
        out.backward = lambda: self.add_grad(out.data * (1.0 - out.data) * out.grad)
        return out

    def log(self):
        out = FloorNode(np.log(self.data), (self,))
        out.backward = lambda: self.add_grad(out.grad / self.data)
        return out

    def add_grad(self, g):
        self.grad = self.grad + g

    def backward_pass(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # iterative depth-first post-order, as lograd's
            node, done = stack.pop()
            if done:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((p, False) for p in node.parents if p not in seen)
        self.grad = np.float64(1.0)
        for node in reversed(order):
            if node.backward is not None:
                node.backward()


def floor_tiny_step():
    """The lecture graph on :class:`FloorNode` (14 nodes: ``1 - a`` is ``-a + 1`` here)."""
    p = LECTURE
    w1, w2, b = (FloorNode(np.float64(p[k])) for k in ("w1", "w2", "b"))
    lr = p["lr"]

    def step():
        loss = lecture_loss(w1, w2, b)
        loss.backward_pass()
        for t in (w1, w2, b):
            t.data = t.data - lr * t.grad
            t.grad = 0.0
    return step


def numpy_tiny_step():
    """The lecture's closed form: dz = a - y, dw_i = x_i dz, db = dz."""
    p = LECTURE
    x, w, y, lr = np.array([p["x1"], p["x2"]]), np.array([p["w1"], p["w2"]]), p["y"], p["lr"]
    b = p["b"]

    def step():
        nonlocal b
        a = 1.0 / (1.0 + math.exp(-(w @ x + b)))
        dz = a - y
        w[:] -= lr * dz * x
        b -= lr * dz
    return step


def interleaved_times(cases, repeats, settle=0.0, settle_before=()):
    """Wall times of each case (name -> ``(step, before)``), timed in turn ``repeats`` times after
    one warm-up each, so that the load of a shared machine falls on all of them alike.
    ``before()``, if not None, runs untimed right before each timed call (an order effect).
    The cases named in ``settle_before`` wait ``settle`` seconds first, so that the thread pools
    of the case before them (OpenBLAS, PyTorch's OpenMP) stop spinning and they do not measure
    that; the others run right after the one before, as the steps of a training loop do."""
    times = {name: [] for name in cases}
    for step, _ in cases.values():
        step()  # warm-up
    for _ in range(repeats):
        for name, (step, before) in cases.items():
            if before is not None:
                before()
            elif name in settle_before:
                time.sleep(settle)
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: np.array(t) for name, t in times.items()}


def interleaved_medians(steps, repeats):
    """Median seconds of each of ``steps`` (name -> callable), timed in turn."""
    times = interleaved_times({name: (step, None) for name, step in steps.items()}, repeats)
    return {name: float(np.median(t)) for name, t in times.items()}


def per_step(step, n_steps):
    def batch():
        for _ in range(n_steps):
            step()
    return batch


def section_tiny(report, args):
    report("## 3. The lecture's graph (one example, two features): one gradient-descent step")
    n_steps = 2000
    cases = [("lecture graph, one node per product (12 ops)", lograd_tiny_step,
              lograd_tiny_compiled_step, torch_tiny_step),
             ("vector form, fused loss (x@w + b -> cross-entropy)", lograd_tiny_vector_step,
              lograd_tiny_vector_compiled_step, torch_tiny_vector_step)]
    rows = []
    for graph, lograd_make, compiled_make, torch_make in cases:
        steps = {"lograd": per_step(lograd_make(), n_steps),
                 "compiled": per_step(compiled_make(), n_steps)}
        if torch is not None:
            steps["torch"] = per_step(torch_make(), n_steps)
        seconds = {name: t / n_steps for name, t in
                   interleaved_medians(steps, args.repeats).items()}
        torch_time = seconds.get("torch")
        for name, label in [("lograd", "engine"), ("compiled", "lograd.compile_grad")]:
            ratio = f"{seconds[name] / torch_time:.2f}x" if torch_time else "-"
            rows.append([f"{graph}: {label}", fmt_ms(seconds[name]),
                         fmt_ms(torch_time) if torch_time else "-", ratio])
    for name, make in [("floor: micrograd-style nodes on NumPy scalars (no table, dtypes, "
                        "shapes)", floor_tiny_step),
                       ("plain NumPy, closed form (dz = a - y)", numpy_tiny_step)]:
        seconds = median_seconds(per_step(make(), n_steps), args.repeats) / n_steps
        rows.append([name, fmt_ms(seconds), "-", "-"])
    if torch is None:
        report(f"({TORCH_MISSING})")
    report.table(["graph", "lograd (or the row's engine)", "PyTorch autograd",
                  "lograd / PyTorch"], rows)
    minibatch_table(report, args)


def minibatch_table(report, args, n=100_000, d=30, batch_size=256, n_steps=500):
    """One mini-batch's loss and gradient through the estimator's objective, the graph built
    each call (engine) or traced once (compiled, the default); the fused kernel alone below."""
    from lograd.objective import Objective

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 0.5).astype(np.float64)
    batches = [rng.integers(0, n, batch_size) for _ in range(n_steps)]
    theta = np.zeros(d + 1)

    def through(objective):
        return lambda: [objective.loss_and_grad(theta, batch) for batch in batches]

    w, b = np.zeros(d), np.zeros(())
    picked = [(X[batch], y[batch]) for batch in batches]
    steps = {
        "engine (graph built each call)":
            through(Objective(X, y, alpha_l2=1e-3, compiled=False)),
        "compiled (the default)": through(Objective(X, y, alpha_l2=1e-3)),
        "the fused kernel alone, on the same rows":
            lambda: [lograd.losses._fused_forward(Xb, w, b, yb) for Xb, yb in picked],
    }
    seconds = {name: t / n_steps for name, t in interleaved_medians(steps, args.repeats).items()}
    report(f"One mini-batch of {batch_size} rows x {d} features: Objective.loss_and_grad "
           "(L2 penalty; includes taking the batch's rows)")
    report.table(["objective", "time per mini-batch"],
                 [[name, fmt_ms(t)] for name, t in seconds.items()])


# -- section 4: peak memory of a fit (in a fresh process) -----------------------------------------
def _rss_kb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def use_estimator_loss(choice):
    """Make the estimator's data term lograd.losses' fused or unfused data loss (or leave it):
    the default of ``LogisticRegression(fused=...)``."""
    from lograd.estimators.logistic import LogisticRegression

    defaults = LogisticRegression.__init__.__kwdefaults__
    if choice != "default":
        defaults["fused"] = choice == "fused"
    loss_fn = fused_data_loss if defaults["fused"] else unfused_data_loss
    return f"{loss_fn.__module__}.{loss_fn.__name__}"


def memory_child(n, d, dtype, who):
    """Runs in a fresh process: build X, reset the peak-RSS counter, fit, print JSON."""
    from sklearn.linear_model import LogisticRegression as SkLogReg

    from lograd.estimators.logistic import LogisticRegression

    before_x = _rss_kb("VmRSS")
    X, y = dense_problem(n, d, np.dtype(dtype))
    make = {"lograd lbfgs": lambda: LogisticRegression(solver="lbfgs", max_iter=30, tol=0),
            "lograd gd": lambda: LogisticRegression(solver="gd", max_iter=30, tol=0),
            "scikit-learn lbfgs": lambda: SkLogReg(solver="lbfgs", max_iter=30)}[who]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM (peak RSS) to the current RSS
    before_fit = _rss_kb("VmRSS")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make().fit(X, y)
    print(json.dumps(dict(before_x=before_x, before_fit=before_fit, peak=_rss_kb("VmHWM"),
                          x_bytes=X.nbytes)))


def section_memory(report, args):
    report(f"## 4. Peak resident memory of a fit, dense X of {args.n:,} x {args.d} "
           "(fresh process each)")
    rows = []
    for dtype, who in [("float64", "lograd lbfgs"), ("float64", "lograd gd"),
                       ("float32", "lograd lbfgs"), ("float64", "scikit-learn lbfgs")]:
        out = subprocess.run([sys.executable, __file__, "--memory-child", str(args.n),
                              str(args.d), dtype, who, "--estimator-loss", args.estimator_loss],
                             capture_output=True, text=True)
        if out.returncode != 0:
            rows.append([who, dtype, "failed: " + out.stderr.strip().splitlines()[-1], "", "", ""])
            continue
        m = json.loads(out.stdout.strip().splitlines()[-1])
        x_mb = m["x_bytes"] / 2**20
        peak_mb = (m["peak"] - m["before_x"]) / 1024  # the process's growth from before X
        extra_mb = (m["peak"] - m["before_fit"]) / 1024
        limit_mb = 1.1 * x_mb + 100
        rows.append([who, dtype, f"{x_mb:.0f} MiB", f"{peak_mb:.0f} MiB", f"{extra_mb:.0f} MiB",
                     f"{'yes' if peak_mb <= limit_mb else 'NO'} (<= {limit_mb:.0f} MiB)"])
    report.table(["fit", "dtype", "X", "peak RSS - RSS before X", "peak during fit - RSS "
                  "before fit", "<= X + 10% + 100 MiB"], rows)


# -- section 5: sparse ----------------------------------------------------------------------------
def section_sparse(report, args):
    n, d, k = args.sparse_n, args.sparse_d, args.nnz_per_row
    X, y = sparse_problem(n, d, k)
    report(f"## 5. Sparse CSR X of {n:,} x {d:,}, {k} non-zeros per row "
           f"({(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 1e6:.0f} MB)")
    assert _pick_kernel(X, X.dtype, False) is not None

    def scipy_step():
        z = X @ np.zeros(d)
        r = 1.0 / (1.0 + np.exp(-z)) - y
        return X.T @ r
    timings = {"lograd, fused op": median_seconds(lograd_step(X, y, fused_data_loss),
                                                  args.repeats),
               "lograd, unfused graph": median_seconds(lograd_step(X, y, unfused_data_loss),
                                                       args.repeats),
               "scipy.sparse X@w and X.T@r": median_seconds(scipy_step, args.repeats)}
    fused = timings["lograd, fused op"]
    report.table(["step", "median time", "/ lograd fused"],
                 [[name, fmt_ms(t), f"{t / fused:.2f}x"] for name, t in timings.items()])
    section_optimum(report, args, X, y, title="Time to the optimum on this sparse X",
                    solvers={"lograd lbfgs", "lograd lbfgs, BLAS limited to 1 thread",
                             "scikit-learn lbfgs"})


# -- main -----------------------------------------------------------------------------------------
SECTIONS = {1: section_step, 2: section_optimum, 3: section_tiny, 4: section_memory,
            5: section_sparse}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="rows of the dense X")
    parser.add_argument("--d", type=int, default=100, help="columns of the dense X")
    parser.add_argument("--sparse-n", type=int, default=1_000_000)
    parser.add_argument("--sparse-d", type=int, default=100_000)
    parser.add_argument("--nnz-per-row", type=int, default=50)
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--step-repeats", type=int, default=21,
                        help="rounds of section 1's interleaved steps (each ~50 ms)")
    parser.add_argument("--sections", default="1,2,3,4,5")
    parser.add_argument("--kernel-variant", default="measure",
                        help="section 1's dense kernel variant: 'measure' (measure now, as on "
                        "first use), 'cached' (the cache's choice, as later processes), or "
                        "PREFETCH_KIB (e.g. 32; 0: nothing ahead)")
    parser.add_argument("--output", help="also write the report (markdown) to this file")
    parser.add_argument("--estimator-loss", choices=["default", "fused", "unfused"],
                        default="default", help="the data loss lograd's estimator uses "
                        "(default: whatever lograd.objective has by default)")
    parser.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--order-child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    estimator_loss = use_estimator_loss(args.estimator_loss)
    if args.order_child:
        order_child(*args.order_child)
        return 0
    if args.memory_child:
        n, d, dtype, who = args.memory_child
        memory_child(int(n), int(d), dtype, who)
        return 0
    report = Report()
    report(f"# lograd speed benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    report(f"Command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    report()
    describe_machine(report)
    report(f"lograd's estimator fits with the data loss {estimator_loss}")
    report()
    for number in (int(s) for s in args.sections.split(",")):
        load = OtherLoad()
        SECTIONS[number](report, args)
        report(f"(Other processes on this machine used {load.cores():.2f} of its "
               f"{os.cpu_count()} cores during section {number}.)")
        report()
    if args.output:
        report.write(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
