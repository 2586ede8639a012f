"""Where the fused dense kernel's time goes beyond one read of X: the kernel with parts removed.

    python3 bench/profile_kernel.py [--n 1000000] [--d 100] [--dtype float64]

Each variant is a 4-rows-at-a-time loop over X with less work per row; the differences between
rows of the table are the costs of the parts: the four dot products, the gradient update, the
exp (``math.exp``, a scalar call) and division of σ(z), the log1p of the loss. The last row is
lograd's kernel (``lograd.losses._k_dense_binary``), which computes exp in vectorised blocks and
prefetches the rows 64 ahead; the second row is the plain read with that same prefetch.
Times are the minimum and median of ``--repeats`` interleaved runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import math

import numba
import numpy as np
from bench_speed import OtherLoad, _read_all, _read_all_prefetched, dense_problem, run_times

from lograd.losses import _dense_binary

FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(inline="always", fastmath=FASTMATH)
def _residual_and_loss(z, y, transcendental):
    z = float(z)
    if transcendental == 0:
        return z - y, z
    e = math.exp(-abs(z))
    loss = max(z, 0.0) - y * z
    if transcendental == 2:
        loss += math.log1p(e)
    return (1.0 if z >= 0 else e) / (1.0 + e) - y, loss


@numba.njit(parallel=True, fastmath=FASTMATH)
def _variant(X, w, y, n_chunks, update, transcendental):
    """The fused loop; ``update``: do g += r x; ``transcendental``: 0 none, 1 exp/σ, 2 + log1p."""
    n, d = X.shape
    as_x = X.dtype.type
    grads = np.zeros((n_chunks, d), dtype=X.dtype)
    losses = np.zeros(n_chunks)
    for c in numba.prange(n_chunks):
        g = grads[c]
        total = 0.0
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks - 3, 4):
            x0, x1, x2, x3 = X[i], X[i + 1], X[i + 2], X[i + 3]
            z0 = z1 = z2 = z3 = as_x(0)
            for j in range(d):
                z0 += x0[j] * w[j]
                z1 += x1[j] * w[j]
                z2 += x2[j] * w[j]
                z3 += x3[j] * w[j]
            r0, l0 = _residual_and_loss(z0, y[i], transcendental)
            r1, l1 = _residual_and_loss(z1, y[i + 1], transcendental)
            r2, l2 = _residual_and_loss(z2, y[i + 2], transcendental)
            r3, l3 = _residual_and_loss(z3, y[i + 3], transcendental)
            total += l0 + l1 + l2 + l3
            if update:
                r0, r1, r2, r3 = as_x(r0), as_x(r1), as_x(r2), as_x(r3)
                for j in range(d):
                    g[j] += r0 * x0[j] + r1 * x1[j] + r2 * x2[j] + r3 * x3[j]
        losses[c] = total
    return losses.sum(), grads.sum(axis=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args()
    X, y = dense_problem(args.n, args.d, np.dtype(args.dtype))
    w = (np.random.default_rng(1).standard_normal(args.d) * 0.1).astype(X.dtype)
    b, s = np.zeros((), X.dtype), np.empty(0, X.dtype)
    chunks = 4 * numba.get_num_threads()
    variants = {
        "one read of X": lambda: _read_all(X, chunks),
        "one read of X, prefetching 64 rows ahead": lambda: _read_all_prefetched(X, chunks),
        "4 dot products per 4 rows only": lambda: _variant(X, w, y, chunks, False, 0),
        "+ gradient update (no exp/log)": lambda: _variant(X, w, y, chunks, True, 0),
        "+ math.exp and division for σ(z)": lambda: _variant(X, w, y, chunks, True, 1),
        "+ one log1p per row": lambda: _variant(X, w, y, chunks, True, 2),
        "lograd's kernel (blocks of 32: vectorised exp, one log1p, prefetch)":
            lambda: _dense_binary(X, w, b, y, s),
    }
    load = OtherLoad()
    times = {name: [] for name in variants}
    for f in variants.values():
        f()  # compile
    for _ in range(args.repeats):  # interleaved, so a burst of load hits every variant alike
        for name, f in variants.items():
            times[name].extend(run_times(f, 1)[:1])
    read = np.median(times["one read of X"])
    print(f"X: {args.n:,} x {args.d} {args.dtype} ({X.nbytes / 1e6:.0f} MB), "
          f"{numba.get_num_threads()} threads")
    print("| variant | min | median | median / read |")
    print("|---|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {min(t) * 1e3:.1f} ms | {np.median(t) * 1e3:.1f} ms "
              f"| {np.median(t) / read:.2f}x |")
    print(f"(other processes used {load.cores():.2f} cores meanwhile)")


if __name__ == "__main__":
    main()
