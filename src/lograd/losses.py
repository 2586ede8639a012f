"""The data term of the linear-logistic model, as a graph of plain ops and as one fused op.

Both functions compute the weighted mean cross-entropy of the logits ``Z = X W + b``::

    data_loss = Σ_i s_i loss_i / Σ_i s_i
    binary       (Y of shape (n,)):    loss_i = log(1 + exp(z_i)) - y_i z_i
    multinomial  (Y of shape (n, k)):  loss_i = logsumexp(z_i) Σ_c Y_ic - Σ_c Y_ic z_ic

(``Σ_c Y_ic = 1`` for one-hot rows, giving the usual ``logsumexp(z_i) - z_i,y_i``.)

:func:`unfused_data_loss` builds it from the engine's ops (``X @ w + b`` -> cross-entropy ->
weighted mean): the reference, and the graph a student can walk through. :func:`fused_data_loss`
is one primitive, ``linear_logistic_loss``, whose forward reads X once, row block by row block
on every core, and computes in that same pass both the loss and its gradient with respect to
``W`` and ``b``::

    r_i = s_i (σ(z_i) - y_i)          (binary;  softmax(z_i) Σ_c Y_ic - Y_i  for multinomial)
    dL/dW = Σ_i x_i r_iᵀ / Σ_i s_i,   dL/db = Σ_i r_i / Σ_i s_i

Its VJPs only scale that saved gradient by the upstream ``g``; X is never read again. The
unfused graph reads X twice (``X @ w`` forward, ``Xᵀ r`` backward) and makes n-sized temporaries.

The kernels are compiled by numba (cached on disk) for C-contiguous float32/float64 arrays and
CSR matrices, computing in X's dtype (dot products and gradient updates; the few per-row
scalars are float64); any other layout (Fortran order, CSC, ...) takes a NumPy path that
computes the same thing in two passes, still without copying X. CSR data so wide that w and the
gradient do not fit in L2 together also takes two passes (see _SPARSE_ONE_PASS_MAX_BYTES).
"""

from __future__ import annotations

import itertools
import math
import mmap
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from lograd import kernel_tuning
from lograd.autodiff import ops
from lograd.autodiff.engine import Tensor, apply, defop

try:
    import numba
    from llvmlite import ir
    from numba.core import cgutils
    from numba.extending import intrinsic
except ImportError:  # pragma: no cover - numba is a dependency; the NumPy path still works
    numba = None

_FUSED_OP = "linear_logistic_loss"
_ROWS_PER_CHUNK_MIN = 512  # below this, a chunk is not worth a thread
_PARTIALS_BYTES_MAX = 64 * 2**20  # per-chunk gradient accumulators (n_chunks, d, k) stay small
# Sparse rows gather from w and scatter into the gradient at random columns. Once the two
# d-vectors no longer fit in L2 together (measured: d = 1e5 float64 on a 2 MB L2 took 1.5x
# longer in one pass than in two), the kernel makes two passes: z and r first, then the scatter.
_SPARSE_ONE_PASS_MAX_BYTES = 256 * 2**10
_BLOCK = 32  # rows per block of the dense binary kernel (δ of _log1p_sum stays below 2^32)
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # ln 2 = HI + LO
_INV_LN2 = 1.44269504088896338700e00


# -- the two public forms -----------------------------------------------------------------------
def unfused_data_loss(X, w, b, Y, sample_weight=None):
    """Weighted mean cross-entropy of ``X @ w + b``, as a graph of plain engine ops.

    Parameters
    ----------
    X : ndarray of shape (n, d) or scipy.sparse matrix
        Data, a constant.
    w : Tensor of shape (d,) or (d, k)
        Weights: (d,) for binary targets, (d, k) for multinomial ones.
    b : Tensor of shape () or (k,)
        Intercept.
    Y : ndarray of shape (n,) or (n, k)
        Binary targets in {0, 1} (or [0, 1]), or one-hot rows (or probabilities).
    sample_weight : ndarray of shape (n,), optional
        Non-negative weights ``s_i``; None means all ones.

    Returns
    -------
    Tensor of shape (): ``Σ_i s_i loss_i / Σ_i s_i``.
    """
    X, Y, sample_weight = (_unwrap(a) for a in (X, Y, sample_weight))
    dtype = _compute_dtype(X)
    Y = np.asarray(Y, dtype=dtype)
    z = X @ w + b  # (n,) or (n, k)
    if Y.ndim == 1:
        per_example = ops.sigmoid_cross_entropy(z, Y)
    else:
        per_example = ops.softmax_cross_entropy(z, Y)
    if sample_weight is None:
        return per_example.mean()
    s = np.asarray(sample_weight, dtype=dtype)
    return (per_example * s).sum() * (1.0 / float(s.sum()))


def fused_data_loss(X, w, b, Y, sample_weight=None):
    """The same value and gradients as :func:`unfused_data_loss`, from one pass over X.

    Parameters
    ----------
    X : ndarray of shape (n, d) or scipy.sparse matrix
        Data, a constant. C-contiguous float32/float64 arrays and CSR matrices take the
        compiled one-pass kernel (computing in X's dtype); anything else a NumPy path. X is
        never copied.
    w : Tensor of shape (d,) or (d, k)
    b : Tensor of shape () or (k,)
    Y : ndarray of shape (n,) or (n, k)
    sample_weight : ndarray of shape (n,), optional

    Returns
    -------
    Tensor of shape (), the primitive ``linear_logistic_loss`` in the graph: its forward has
    already computed dL/dw and dL/db, which ``backward()`` scales by the upstream gradient.
    """
    # (data as inputs, not parameters: a compiled step then takes a new mini-batch each call)
    if sample_weight is None:
        return apply(_FUSED_OP, X, w, b, Y)
    return apply(_FUSED_OP, X, w, b, Y, sample_weight)


DATA_LOSSES = {"fused": fused_data_loss, "unfused": unfused_data_loss}


# -- the primitive ------------------------------------------------------------------------------
def _fused_forward(X, w, b, y, sample_weight=None):
    """``(loss, (dL/dw, dL/db))`` for the op table."""
    dtype = _compute_dtype(X)
    y, s, w_c, b_c = _prepare(X, w, b, y, sample_weight, dtype)
    multinomial = y.ndim == 2
    kernel = _pick_kernel(X, dtype, multinomial)
    if kernel is None:
        loss_sum, grad_w, grad_b = _numpy_pass(X, w_c, b_c, y, s)
    else:
        loss_sum, grad_w, grad_b = kernel(X, w_c, b_c, y, s)
    total_weight = float(s.sum(dtype=np.float64)) if s.size else float(X.shape[0])
    out_dtype = np.result_type(dtype, w.dtype)
    loss = np.asarray(loss_sum / total_weight, dtype=out_dtype)
    grads = (grad_w / total_weight).astype(w.dtype), (grad_b / total_weight).astype(b.dtype)
    return loss, grads


defop(_FUSED_OP, _fused_forward,
      None,  # X is data: no gradient
      lambda g, ans, X, w, b, y, s=None, saved=None: g * saved[0],  # dL/dw, from the forward
      lambda g, ans, X, w, b, y, s=None, saved=None: g * saved[1],  # dL/db, from the forward
      None, None,  # nor Y and the sample weights
      saves=True)


def block_sums(X, w, b, y, sample_weight=None):
    """``(Σ s_i loss_i, Σ x_i r_iᵀ, Σ r_i, Σ s_i)`` over the rows of X, in one pass: the sums a
    backend adds up over row blocks (the fused kernel's, or the NumPy path's). Gradient sums in
    float64."""
    X = np.asarray(X) if not sp.issparse(X) else X
    dtype = _compute_dtype(X)
    y, s, w_c, b_c = _prepare(X, w, b, y, sample_weight, dtype)
    kernel = _pick_kernel(X, dtype, y.ndim == 2)
    if kernel is None:
        loss_sum, grad_w, grad_b = _numpy_pass(X, w_c, b_c, y, s)
    else:
        loss_sum, grad_w, grad_b = kernel(X, w_c, b_c, y, s)
    weight_sum = float(s.sum(dtype=np.float64)) if s.size else float(X.shape[0])
    return (float(loss_sum), np.asarray(grad_w, dtype=np.float64),
            np.asarray(grad_b, dtype=np.float64), weight_sum)


def _unwrap(value):
    return value.data if isinstance(value, Tensor) else value


def _compute_dtype(X):
    dtype = X.dtype
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _prepare(X, w, b, y, sample_weight, dtype):
    """Check shapes; targets, weights and parameters in the compute dtype (small arrays only)."""
    n, d = X.shape
    y = np.ascontiguousarray(y, dtype=dtype)
    k = 1 if y.ndim == 1 else y.shape[1]
    expected_w = (d,) if y.ndim == 1 else (d, k)
    expected_b = () if y.ndim == 1 else (k,)
    if y.shape[0] != n or y.ndim > 2:
        raise ValueError(f"Y has shape {y.shape}; expected ({n},) or ({n}, k) for X of {X.shape}")
    if w.shape != expected_w or b.shape != expected_b:
        raise ValueError(f"w {w.shape} and b {b.shape} do not fit X {X.shape} and Y {y.shape}: "
                         f"expected w {expected_w} and b {expected_b}")
    if sample_weight is None:
        s = np.empty(0, dtype=dtype)  # the kernels read "no weights" as all ones
    else:
        s = np.ascontiguousarray(sample_weight, dtype=dtype)
        if s.shape != (n,):
            raise ValueError(f"sample_weight has shape {s.shape}; expected ({n},)")
    return y, s, np.ascontiguousarray(w, dtype=dtype), np.asarray(b, dtype=dtype)


def _numpy_pass(X, w, b, y, s):
    """Loss sum and gradient sums in NumPy: two passes over X (``X @ w`` and ``Xᵀ r``)."""
    z = np.asarray(X @ w) + b  # (n,) or (n, k)
    if y.ndim == 1:
        loss, r = np.logaddexp(0, z) - y * z, _sigmoid(z) - y
    else:
        y_sum = y.sum(axis=1)
        top = z.max(axis=1, keepdims=True)
        e = np.exp(z - top)
        lse = top[:, 0] + np.log(e.sum(axis=1))
        loss = lse * y_sum - (y * z).sum(axis=1)
        r = e / e.sum(axis=1, keepdims=True) * y_sum[:, None] - y
    if s.size:
        loss, r = loss * s, r * (s if r.ndim == 1 else s[:, None])
    grad_w = np.asarray(X.T @ r)
    return float(loss.sum(dtype=np.float64)), grad_w, r.sum(axis=0)


def _sigmoid(z):
    e = np.exp(-np.abs(z))  # never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# -- the compiled one-pass kernels --------------------------------------------------------------
def _pick_kernel(X, dtype, multinomial):
    """The numba driver for this layout, or None for the NumPy path."""
    if numba is None or X.dtype != dtype:
        return None
    if sp.issparse(X):
        if X.format != "csr":
            return None
        return _sparse_multinomial if multinomial else _sparse_binary
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.flags.c_contiguous:
        return _dense_multinomial if multinomial else _dense_binary
    return None


def _n_chunks(n, partial_size, itemsize):
    """Row chunks, each with its own gradient accumulator: a few per thread, for balance."""
    by_rows = n // _ROWS_PER_CHUNK_MIN
    by_memory = _PARTIALS_BYTES_MAX // max(1, partial_size * itemsize)
    return int(max(1, min(by_rows, 4 * numba.get_num_threads(), by_memory)))


def _on_threads(kernel, *args):
    """``kernel(*args)``, the last argument its number of row chunks, on at most that many
    threads: a one-chunk call (a mini-batch) then runs on the calling thread alone. Otherwise
    numba wakes every pool thread for it, and on a loaded machine waiting for the idle ones
    cost ~40 ms per call (measured: 0.5 ms quiet, 46 ms with the other core busy)."""
    threads = numba.get_num_threads()
    if args[-1] >= threads:
        return kernel(*args)
    numba.set_num_threads(args[-1])  # thread-local in numba: other threads are not affected
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(threads)


class DenseVariant(NamedTuple):
    """One way to run the dense binary kernel: how far ahead it prefetches X. Which is fastest
    depends on the CPU (see :mod:`lograd.kernel_tuning`); every variant computes the same bits
    (a prefetch is only a hint to the memory system)."""

    prefetch_kib: int  # how far ahead of the rows in work the kernel prefetches, KiB of X; 0: not

    def rows_ahead(self, row_bytes: int) -> int:
        """The prefetch distance in rows of ``row_bytes`` (0: the rows about to be read, which
        asks memory for nothing that is not already on its way)."""
        if not self.prefetch_kib:
            return 0
        return max(4, -(-self.prefetch_kib * 1024 // row_bytes))  # (at least past this group)

    def __str__(self) -> str:
        if not self.prefetch_kib:
            return "no prefetch ahead"
        return f"prefetch {self.prefetch_kib} KiB ahead"


# The variants measured on first use differ in the prefetch only (none, or 8 to 64 KiB ahead):
# that is what changes most from one CPU to another (the prefetch took the step from 1.23x to
# 0.98x of a plain read of X on an Intel Xeon, and made the plain read slower on an AMD EPYC),
# and it changes no bit of the result, so a fit gives the same numbers whether or not this
# CPU's choice is known yet (and the golden outputs stay exact). The rows per block are not a
# variant: they set the order of the sums (a block of 16 rounds differently from 32), the
# block's length must be a compile-time constant for the sums to stay as they were, and 16
# was not clearly faster than 32 on the Xeon (bench/profile_kernel.py, docs/performance.md).
DENSE_BINARY_VARIANTS = tuple(DenseVariant(kib) for kib in (0, 8, 16, 32, 64))
#: Runs until this CPU's choice is known (and with tuning off): 32 KiB is about the 64 rows of
#: 100 float64 the kernel prefetched before it had variants.
DENSE_BINARY_DEFAULT = DenseVariant(32)
#: The cache's name for this kernel and its candidates (a new name when either changes).
DENSE_BINARY_KERNEL = "dense_binary-2"


def _dense_binary(X, w, b, y, s, variant=None):
    """Sums of the loss and gradients over C-contiguous X; ``variant`` None: this CPU's choice."""
    n, d = X.shape
    if variant is None:
        variant = dense_binary_variant(X, w, b, y)
    loss, gw, gb = _on_threads(_k_dense_binary, X, w, b[()], y, s,
                               variant.rows_ahead(d * X.itemsize), _n_chunks(n, d, X.itemsize))
    return loss.sum(), gw.sum(axis=0, dtype=np.float64), gb.sum()


def dense_binary_variant(X, w=None, b=None, y=None, *, retune=False) -> DenseVariant:
    """The variant of the dense binary kernel that runs on X: this CPU's fastest for X's dtype.

    The first X of at least :data:`lograd.kernel_tuning.TUNE_MIN_BYTES` is used to measure
    them (on slices of its rows, with ``w``, ``b``, ``y`` or zeros); ``retune`` measures again.
    An X mapped from a file is not: its first reads would time the disk.
    """
    large = X.nbytes >= kernel_tuning.TUNE_MIN_BYTES and not _mapped_from_a_file(X)
    return kernel_tuning.choose(DENSE_BINARY_KERNEL, X.dtype, DENSE_BINARY_VARIANTS,
                                DENSE_BINARY_DEFAULT,
                                (lambda: _timed_on_slices(X, w, b, y)) if large else None,
                                retune=retune)


def _mapped_from_a_file(X) -> bool:
    """True for a memory map (np.memmap, or an array viewing one or an mmap buffer)."""
    while isinstance(X, np.ndarray):
        if isinstance(X, np.memmap):
            return True
        X = X.base
    return isinstance(X, mmap.mmap)


def _timed_on_slices(X, w, b, y):
    """``run(variant)``: one unweighted kernel call on the next slice of X's rows, in turn, so
    that no call finds its rows in cache from the call before (the slices add up to all of X).

    The calls run on one thread: the variants differ in how one core keeps its cache misses in
    flight, and a one-thread call is never held up waiting for a second thread whose core
    another program has (on a busy machine that wait, not the variant, decided the timings).
    """
    n, d = X.shape
    rows = min(n, max(4096, kernel_tuning.SLICE_BYTES // (d * X.itemsize)))
    w = np.zeros(d, X.dtype) if w is None else w
    b = np.zeros((), X.dtype) if b is None else b
    y = np.zeros(n, X.dtype) if y is None else y
    no_weights = np.empty(0, X.dtype)
    starts = itertools.cycle(range(0, n - rows + 1, rows))

    def run(variant):
        start = next(starts)
        threads = numba.get_num_threads()
        numba.set_num_threads(1)  # (thread-local in numba)
        try:
            _dense_binary(X[start:start + rows], w, b, y[start:start + rows], no_weights, variant)
        finally:
            numba.set_num_threads(threads)
    return run


def _dense_multinomial(X, w, b, y, s):
    n, d = X.shape
    wt = np.ascontiguousarray(w.T)  # (k, d): each class's weights contiguous, like a row of X
    loss, gw, gb = _on_threads(_k_dense_multinomial, X, wt, b, y, s,
                               _n_chunks(n, w.size, X.itemsize))
    return loss.sum(), gw.sum(axis=0, dtype=np.float64).T, gb.sum(axis=0)


def _sparse_binary(X, w, b, y, s):
    n, d = X.shape
    one_pass = d * X.dtype.itemsize <= _SPARSE_ONE_PASS_MAX_BYTES
    kernel = _k_sparse_binary if one_pass else _k_sparse_binary_two_pass
    loss, gw, gb = _on_threads(kernel, X.indptr, X.indices, X.data, w, b[()], y, s,
                               _n_chunks(n, d, X.dtype.itemsize))
    return loss.sum(), gw.sum(axis=0, dtype=np.float64), gb.sum()


def _sparse_multinomial(X, w, b, y, s):
    n, d = X.shape
    loss, gw, gb = _on_threads(_k_sparse_multinomial, X.indptr, X.indices, X.data, w, b, y, s,
                               _n_chunks(n, w.size, X.dtype.itemsize))
    return loss.sum(), gw.sum(axis=0, dtype=np.float64), gb.sum(axis=0)


if numba is not None:
    # Reassociation lets LLVM vectorise the dot products and row updates; no "nnan"/"ninf",
    # so the exp/log below keep their IEEE meaning.
    _jit = numba.njit(parallel=True, cache=True, nogil=True,
                      fastmath={"reassoc", "contract", "nsz", "arcp"})
    _inline = numba.njit(inline="always", cache=True, fastmath={"reassoc", "contract"})
    prange = numba.prange

    @intrinsic
    def _prefetch(typingctx, X, i, j):
        """Ask the memory system for the cache line of ``X[i, j]`` (LLVM's prefetch: a hint that
        never faults and changes no value), so that it arrives while other rows are computed."""
        def codegen(context, builder, signature, args):
            array = context.make_array(signature.args[0])(context, builder, args[0])
            address = cgutils.get_item_pointer(context, builder, signature.args[0], array,
                                               args[1:], wraparound=False)
            byte_ptr = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            llvm_prefetch = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]),
                "llvm.prefetch.p0i8")
            # (address, read (0), locality 2 = into L2, x86's prefetcht1, data cache (1))
            builder.call(llvm_prefetch, [builder.bitcast(address, byte_ptr), ir.Constant(i32, 0),
                                         ir.Constant(i32, 2), ir.Constant(i32, 1)])
            return context.get_dummy_value()
        return numba.types.void(X, i, j), codegen
else:  # pragma: no cover
    def _jit(f):
        return f
    _inline = _jit
    prange = range

    def _prefetch(X, i, j):
        pass


@_inline
def _chunk_bounds(c, n_chunks, n):
    return c * n // n_chunks, (c + 1) * n // n_chunks


@_inline
def _logistic_parts(z, y):
    """One row's e = exp(-|z|), loss - log1p(e) = max(z, 0) - y z, and residual σ(z) - y.

    Together loss = log(1 + e^z) - y z without overflow for any z. Per-row scalars are float64
    (a row's dot product and update stay in X's dtype).
    """
    z = float(z)
    e = math.exp(-abs(z))  # in (0, 1]
    sigma = (1.0 if z >= 0 else e) / (1.0 + e)
    return e, max(z, 0.0) - y * z, sigma - y


@_inline
def _binary_terms(z, y):
    """One row's loss log(1 + e^z) - y z and residual σ(z) - y."""
    e, loss_part, r = _logistic_parts(z, y)
    return loss_part + math.log1p(e), r


@_inline
def _log1p_sum(e):
    """Σ_t log1p(e_t) with one log1p: 1 + δ = Π_t (1 + e_t), δ built up as δ + e + δ e.

    Every term is positive, so δ keeps full relative precision (no rounding against 1): as
    accurate as a log1p per element, at a fraction of the cost. e_t in (0, 1], so δ < 2^len(e).
    Four products run side by side (a single chain waits on each step's latency); two δs
    combine the same way, (1 + δa)(1 + δb) = 1 + (δa + δb + δa δb).  len(e): a multiple of 4.
    """
    d0 = d1 = d2 = d3 = 0.0
    for t in range(0, e.shape[0], 4):
        d0 = d0 + e[t] + d0 * e[t]
        d1 = d1 + e[t + 1] + d1 * e[t + 1]
        d2 = d2 + e[t + 2] + d2 * e[t + 2]
        d3 = d3 + e[t + 3] + d3 * e[t + 3]
    d01 = d0 + d1 + d0 * d1
    d23 = d2 + d3 + d2 * d3
    return math.log1p(d01 + d23 + d01 * d23)


@_inline
def _softmax_terms(z, y_row, r):
    """One row: loss = logsumexp(z) Σy - y·z;  r <- softmax(z) Σy - y.   z, y_row, r: (k,)."""
    k = z.shape[0]
    top = z[0]
    for c in range(1, k):
        top = max(top, z[c])
    total = 0.0
    y_sum = 0.0
    y_dot_z = 0.0
    for c in range(k):
        r[c] = math.exp(z[c] - top)
        total += r[c]
        y_sum += y_row[c]
        y_dot_z += y_row[c] * z[c]
    for c in range(k):
        r[c] = r[c] / total * y_sum - y_row[c]
    return (top + math.log(total)) * y_sum - y_dot_z


@_inline
def _exp_parts(x):
    """``exp(x) = 2^k · p`` for x in [-700, 0], in plain arithmetic so that a loop of it vectorises
    (a loop of ``math.exp`` calls does not, and cost more than reading X).

    k = round(x / ln 2), r = x - k ln 2 in [-ln2/2, ln2/2] (ln 2 split in two for exactness),
    p = Σ_{m<=13} r^m / m!  (the next term is below 2e-16 relative).
    """
    k = math.floor(x * _INV_LN2 + 0.5)
    r = x - k * _LN2_HI - k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    return p * r + 1.0, k


@_jit
def _k_dense_binary(X, w, b, y, s, ahead, n_chunks):
    """X (n, d), w (d,), y (n,), s (n,) or (0,) -> per chunk: loss sum, Σ r_i x_i, Σ r_i.

    Rows go in blocks of 32 (_BLOCK, a compile-time constant: the block's sums are unrolled
    in a fixed order), each in three steps: the dot products z = X_blk w, four rows at a time
    (they share each load of w); then e = exp(-|z|), σ(z) and r for the block in vectorised
    loops; then g += Σ r_i x_i, four rows at a time, while the block is still in L1. X is read
    from memory once; the loss's log1p is taken once per block (see :func:`_log1p_sum`). A
    chunk's last rows (fewer than a block) go one by one. One core streams X only as fast as
    its outstanding cache misses allow, and the exp step issues none: with ``ahead`` > 0 the
    kernel prefetches the rows ``ahead`` rows on, spread over both row loops, so that memory
    keeps working while it computes. Which distance is fastest depends on the CPU
    (:class:`DenseVariant`). ``ahead`` = 0 prefetches the rows about to be read (nothing
    ahead): the prefetches stay unconditional because an ``if ahead`` around them changed how
    LLVM vectorised the block's sums (the last bits of Σ r_i moved).
    """
    n, d = X.shape
    as_x = X.dtype.type  # r is cast to X's dtype: float32 rows update in float32 SIMD
    loss = np.zeros(n_chunks)
    grad_w = np.zeros((n_chunks, d), dtype=X.dtype)
    grad_b = np.zeros(n_chunks)
    weighted = s.shape[0] > 0
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(c, n_chunks, n)
        g = grad_w[c]
        z_blk = np.empty(_BLOCK)
        e_blk = np.empty(_BLOCK)
        r_blk64 = np.empty(_BLOCK)
        r_blk = np.empty(_BLOCK, dtype=X.dtype)
        two_k = np.empty(_BLOCK, dtype=np.int64)  # 2^k built from its float64 bit pattern
        two_k_float = two_k.view(np.float64)
        loss_c = 0.0  # chunk sums live in registers: threads write loss[c] once (no false sharing)
        grad_b_c = 0.0
        i0 = start
        while i0 + _BLOCK <= stop:
            for q in range(0, _BLOCK, 4):
                _prefetch_rows2(X, min(i0 + q + ahead, n - 2))
                _dot4(X, w, b, i0 + q, z_blk, q)
            for t in range(_BLOCK):
                e_blk[t], k = _exp_parts(max(-abs(z_blk[t]), -700.0))
                two_k[t] = (np.int64(k) + 1023) << 52
            for t in range(_BLOCK):  # vectorised: no calls, no branches but selects
                e = e_blk[t] * two_k_float[t]
                e_blk[t] = e
                z = z_blk[t]
                r_blk64[t] = (1.0 if z >= 0 else e) / (1.0 + e) - y[i0 + t]  # σ(z) - y
                z_blk[t] = max(z, 0.0) - y[i0 + t] * z  # now the loss without log1p(e)
            if weighted:
                for t in range(_BLOCK):
                    r_blk64[t] *= s[i0 + t]
                    loss_c += s[i0 + t] * (z_blk[t] + math.log1p(e_blk[t]))
            else:
                loss_c += z_blk.sum() + _log1p_sum(e_blk)
            for t in range(_BLOCK):
                grad_b_c += r_blk64[t]
                r_blk[t] = as_x(r_blk64[t])
            for q in range(0, _BLOCK, 4):
                _prefetch_rows2(X, min(i0 + q + 2 + ahead, n - 2))
                _update4(X, g, i0 + q, r_blk, q)
            i0 += _BLOCK
        for last in range(i0, stop):
            x = X[last]
            z = b
            for j in range(d):
                z += x[j] * w[j]
            loss_i, r = _binary_terms(z, y[last])
            if weighted:
                loss_i, r = s[last] * loss_i, s[last] * r
            loss_c += loss_i
            grad_b_c += r
            r_x = as_x(r)
            for j in range(d):
                g[j] += r_x * x[j]
        loss[c], grad_b[c] = loss_c, grad_b_c
    return loss, grad_w, grad_b


@_inline
def _prefetch_rows2(X, i):
    """Prefetch rows i and i+1 of X, one request per 64-byte cache line."""
    line = 64 // X.itemsize
    for row in range(i, i + 2):
        for j in range(0, X.shape[1], line):
            _prefetch(X, row, j)


@_inline
def _dot4(X, w, b, i, z_out, q):
    """z_out[q:q+4] = X[i:i+4] @ w + b, the four rows sharing each load of w."""
    x0, x1, x2, x3 = X[i], X[i + 1], X[i + 2], X[i + 3]
    z0 = z1 = z2 = z3 = b
    for j in range(X.shape[1]):
        z0 += x0[j] * w[j]
        z1 += x1[j] * w[j]
        z2 += x2[j] * w[j]
        z3 += x3[j] * w[j]
    z_out[q], z_out[q + 1], z_out[q + 2], z_out[q + 3] = z0, z1, z2, z3


@_inline
def _update4(X, g, i, r, q):
    """g += r[q] X[i] + ... + r[q+3] X[i+3]: one load and store of g for four rows."""
    x0, x1, x2, x3 = X[i], X[i + 1], X[i + 2], X[i + 3]
    r0, r1, r2, r3 = r[q], r[q + 1], r[q + 2], r[q + 3]
    for j in range(X.shape[1]):
        g[j] += r0 * x0[j] + r1 * x1[j] + r2 * x2[j] + r3 * x3[j]


@_jit
def _k_dense_multinomial(X, wt, b, Y, s, n_chunks):
    """X (n, d), wt (k, d), Y (n, k) -> per chunk: loss sum, Σ r_i x_iᵀ as (k, d), Σ r_i."""
    n, d = X.shape
    k = wt.shape[0]
    loss = np.zeros(n_chunks)
    grad_w = np.zeros((n_chunks, k, d), dtype=X.dtype)
    grad_b = np.zeros((n_chunks, k))
    weighted = s.shape[0] > 0
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(c, n_chunks, n)
        z = np.empty(k, dtype=X.dtype)
        r = np.empty(k, dtype=X.dtype)
        for i in range(start, stop):
            x = X[i]
            for m in range(k):
                acc = b[m]
                for j in range(d):
                    acc += x[j] * wt[m, j]
                z[m] = acc
            loss_i = _softmax_terms(z, Y[i], r)
            if weighted:
                loss_i *= s[i]
                for m in range(k):
                    r[m] *= s[i]
            loss[c] += loss_i
            for m in range(k):
                grad_b[c, m] += r[m]
                rm = r[m]
                for j in range(d):
                    grad_w[c, m, j] += rm * x[j]
    return loss, grad_w, grad_b


@_jit
def _k_sparse_binary(indptr, indices, data, w, b, y, s, n_chunks):
    """CSR (indptr, indices, data) rows, w (d,) -> per chunk: loss sum, Σ r_i x_i, Σ r_i."""
    n = indptr.shape[0] - 1
    d = w.shape[0]
    loss = np.zeros(n_chunks)
    grad_w = np.zeros((n_chunks, d), dtype=data.dtype)
    grad_b = np.zeros(n_chunks)
    weighted = s.shape[0] > 0
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(c, n_chunks, n)
        g = grad_w[c]
        for i in range(start, stop):
            z = b
            for p in range(indptr[i], indptr[i + 1]):
                z += data[p] * w[indices[p]]
            loss_i, r = _binary_terms(z, y[i])
            if weighted:
                loss_i, r = s[i] * loss_i, s[i] * r
            loss[c] += loss_i
            grad_b[c] += r
            r_x = data.dtype.type(r)
            for p in range(indptr[i], indptr[i + 1]):
                g[indices[p]] += r_x * data[p]
    return loss, grad_w, grad_b


@_jit
def _k_sparse_binary_two_pass(indptr, indices, data, w, b, y, s, n_chunks):
    """As :func:`_k_sparse_binary`, for large d: all z and r first (w hot in cache), then the
    scatter Σ r_i x_i (the gradient hot). Costs an (n,) vector of residuals."""
    n = indptr.shape[0] - 1
    d = w.shape[0]
    as_x = data.dtype.type
    residual = np.empty(n, dtype=data.dtype)
    loss = np.zeros(n_chunks)
    grad_w = np.zeros((n_chunks, d), dtype=data.dtype)
    grad_b = np.zeros(n_chunks)
    weighted = s.shape[0] > 0
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(c, n_chunks, n)
        loss_c = 0.0
        grad_b_c = 0.0
        for i in range(start, stop):
            z = b
            for p in range(indptr[i], indptr[i + 1]):
                z += data[p] * w[indices[p]]
            loss_i, r = _binary_terms(z, y[i])
            if weighted:
                loss_i, r = s[i] * loss_i, s[i] * r
            loss_c += loss_i
            grad_b_c += r
            residual[i] = as_x(r)
        loss[c], grad_b[c] = loss_c, grad_b_c
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(c, n_chunks, n)
        g = grad_w[c]
        for i in range(start, stop):
            r_x = residual[i]
            for p in range(indptr[i], indptr[i + 1]):
                g[indices[p]] += r_x * data[p]
    return loss, grad_w, grad_b


@_jit
def _k_sparse_multinomial(indptr, indices, data, w, b, Y, s, n_chunks):
    """CSR rows, w (d, k), Y (n, k) -> per chunk: loss sum, Σ x_i r_iᵀ as (d, k), Σ r_i."""
    n = indptr.shape[0] - 1
    d, k = w.shape
    loss = np.zeros(n_chunks)
    grad_w = np.zeros((n_chunks, d, k), dtype=data.dtype)
    grad_b = np.zeros((n_chunks, k))
    weighted = s.shape[0] > 0
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(c, n_chunks, n)
        z = np.empty(k, dtype=data.dtype)
        r = np.empty(k, dtype=data.dtype)
        for i in range(start, stop):
            for m in range(k):
                z[m] = b[m]
            for p in range(indptr[i], indptr[i + 1]):
                for m in range(k):
                    z[m] += data[p] * w[indices[p], m]
            loss_i = _softmax_terms(z, Y[i], r)
            if weighted:
                loss_i *= s[i]
                for m in range(k):
                    r[m] *= s[i]
            loss[c] += loss_i
            for m in range(k):
                grad_b[c, m] += r[m]
            for p in range(indptr[i], indptr[i + 1]):
                for m in range(k):
                    grad_w[c, indices[p], m] += r[m] * data[p]
    return loss, grad_w, grad_b
