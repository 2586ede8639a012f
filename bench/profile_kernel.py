"""Where the fused dense kernel's time goes beyond one read of X: the kernel with parts removed.

    python3 bench/profile_kernel.py [--n 1000000] [--d 100] [--dtype float64] [--variant measure]

The first variants are a 4-rows-at-a-time loop over X with less work per row, without prefetch;
the differences between their rows are the costs of the parts: the four dot products, the
gradient update, the exp (``math.exp``, a scalar call) and division of σ(z), the log1p of the
loss. Then lograd's kernel (``lograd.losses._k_dense_binary``: exp in vectorised blocks,
prefetching rows ahead) in the variant this CPU chose (``--variant``: ``measure`` now, as on
first use; ``cached``; or ``PREFETCH_KIB``), the same kernel prefetching nothing ahead, and
the kernel recompiled from its source with one part taken out at a time (``ABLATIONS``, in the
chosen variant): what each part costs beyond the faster read of X (the first two rows); last,
the kernel recompiled with blocks of 16 rows instead of 32 (``_BLOCK``, not a tuned variant:
it changes the order of the sums).
Times are the minimum and median of ``--repeats`` interleaved runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import inspect
import math
import textwrap

import numba
import numpy as np
from bench_speed import OtherLoad, _read_all, _read_all_prefetched, dense_problem, run_times

from lograd import kernel_tuning, losses
from lograd.losses import DenseVariant, _dense_binary, dense_binary_variant

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


# lograd's kernel with one part taken out at a time: (the text replaced, its replacement)
ABLATIONS = {
    "lograd's kernel without the gradient update": [
        ("                _update4(X, g, i0 + q, r_blk, q)\n", "")],
    "lograd's kernel without the exp (e = 1/2)": [
        ("e_blk[t], k = _exp_parts(max(-abs(z_blk[t]), -700.0))", "e_blk[t], k = 1.0, -1")],
    "lograd's kernel without the loss's log1p": [
        ("_log1p_sum(e_blk)", "0.0")],
    "lograd's kernel: dot products and prefetch only": [
        ("                _update4(X, g, i0 + q, r_blk, q)\n", ""),
        ("e_blk[t], k = _exp_parts(max(-abs(z_blk[t]), -700.0))", "e_blk[t], k = 1.0, -1"),
        ("_log1p_sum(e_blk)", "0.0")],
}
#: Recompiled as they are, with another number of rows per block (a compile-time constant).
OTHER_BLOCKS = (16,)


def ablated_kernels():
    """``name -> kernel``: lograd's dense kernel recompiled with the parts in ABLATIONS removed,
    then as it is with each of OTHER_BLOCKS rows per block."""
    source = textwrap.dedent(inspect.getsource(losses._k_dense_binary.py_func))
    source = source.replace("@_jit\n", "")
    builds = [(name, replacements, losses._BLOCK) for name, replacements in ABLATIONS.items()]
    builds += [(f"lograd's kernel with blocks of {block} rows", [], block)
               for block in OTHER_BLOCKS]
    kernels = {}
    for name, replacements, block in builds:
        text = source
        for old, new in replacements:
            assert old in text, f"profile_kernel is out of date with losses.py: {old!r}"
            text = text.replace(old, new)
        namespace = dict(vars(losses), _BLOCK=block)
        exec(text, namespace)  # noqa: S102  (our own kernel's source, edited)
        kernels[name] = numba.njit(parallel=True, fastmath=FASTMATH)(namespace["_k_dense_binary"])
    return kernels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--variant", default="measure",
                        help="'measure', 'cached' or PREFETCH_KIB (e.g. 32; 0: none ahead)")
    args = parser.parse_args()
    X, y = dense_problem(args.n, args.d, np.dtype(args.dtype))
    w = (np.random.default_rng(1).standard_normal(args.d) * 0.1).astype(X.dtype)
    b, s = np.zeros((), X.dtype), np.empty(0, X.dtype)
    chunks = 4 * numba.get_num_threads()
    if args.variant in ("measure", "cached"):
        variant = dense_binary_variant(X, w, b, y, retune=args.variant == "measure")
    else:
        variant = DenseVariant(int(args.variant))
        kernel_tuning.use(losses.DENSE_BINARY_KERNEL, X.dtype, variant)
    ahead = variant.rows_ahead(X.shape[1] * X.itemsize)
    variants = {
        "one read of X": lambda: _read_all(X, chunks),
        "one read of X, prefetching 64 rows ahead": lambda: _read_all_prefetched(X, chunks),
        "4 dot products per 4 rows only": lambda: _variant(X, w, y, chunks, False, 0),
        "+ gradient update (no exp/log)": lambda: _variant(X, w, y, chunks, True, 0),
        "+ math.exp and division for σ(z)": lambda: _variant(X, w, y, chunks, True, 1),
        "+ one log1p per row": lambda: _variant(X, w, y, chunks, True, 2),
        f"lograd's kernel ({variant})": lambda: _dense_binary(X, w, b, y, s),
        "lograd's kernel prefetching nothing ahead":
            lambda: _dense_binary(X, w, b, y, s, DenseVariant(0)),
    }
    y_x = y.astype(X.dtype)
    for name, kernel in ablated_kernels().items():
        variants[name] = lambda kernel=kernel: kernel(X, w, b[()], y_x, s, ahead, chunks)
    load = OtherLoad()
    times = {name: [] for name in variants}
    for f in variants.values():
        f()  # compile
    for _ in range(args.repeats):  # interleaved, so a burst of load hits every variant alike
        for name, f in variants.items():
            times[name].extend(run_times(f, 1)[:1])
    read = min(np.median(times["one read of X"]),
               np.median(times["one read of X, prefetching 64 rows ahead"]))
    print(f"CPU: {kernel_tuning.cpu_model()}; X: {args.n:,} x {args.d} {args.dtype} "
          f"({X.nbytes / 1e6:.0f} MB), {numba.get_num_threads()} threads; kernel variant: "
          f"{variant}")
    print("| variant | min | median | median / faster read |")
    print("|---|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {min(t) * 1e3:.1f} ms | {np.median(t) * 1e3:.1f} ms "
              f"| {np.median(t) / read:.2f}x |")
    print(f"(other processes used {load.cores():.2f} cores meanwhile)")


if __name__ == "__main__":
    main()
