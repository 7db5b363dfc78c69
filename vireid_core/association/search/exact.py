"""Exact per-group top-k: a blocked float32 GEMM over the upper triangle and a compiled running top-k.

Each block of rows is multiplied against itself and every later row (the upper-triangle band of
F Fᵀ); the band serves its own rows and, transposed, the later rows, so the GEMM work is halved. A
compiled (numba) running top-k per row keeps the best entries with a lexicographic (score, index)
insertion. Peak extra memory is one ``block_size x N`` band.

The kernels here (:func:`insert`, :func:`update_rows`, :func:`blocked_grouped_topk`) are shared by
the screened and the partitioned back ends.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np


@numba.njit(inline="always")
def insert(best_s, best_i, row, score, ident, k):  # pragma: no cover - compiled
    """Insert (score, ident) into the sorted row if it beats the current worst (lexicographic)."""
    worst_s = best_s[row, k - 1]
    if score > worst_s or (score == worst_s and ident >= best_i[row, k - 1]):
        return
    pos = k - 1
    while pos > 0 and (
        best_s[row, pos - 1] > score or (best_s[row, pos - 1] == score and best_i[row, pos - 1] > ident)
    ):
        best_s[row, pos] = best_s[row, pos - 1]
        best_i[row, pos] = best_i[row, pos - 1]
        pos -= 1
    best_s[row, pos] = score
    best_i[row, pos] = ident


@numba.njit(parallel=True, cache=True)
def update_rows(sims, col_lo, col_hi, sim_offset, norms, use_l2, best_s, best_i, row_lo):  # pragma: no cover
    """Rows row_lo + r of the running top-k against columns [col_lo, col_hi) of sims[r, c - sim_offset]."""
    k = best_s.shape[1]
    for r in numba.prange(sims.shape[0]):
        row = row_lo + r
        for col in range(col_lo, col_hi):
            s = sims[r, col - sim_offset]
            score = norms[col] - np.float32(2.0) * s if use_l2 else -s
            insert(best_s, best_i, row, score, col, k)


@numba.njit(parallel=True, cache=True)
def _update_cols(
    sims, query_lo, query_hi, cand_lo, cand_hi, offset, norms, use_l2, best_s, best_i
):  # pragma: no cover - compiled
    """Transposed update: query rows [query_lo, query_hi) against candidate rows [cand_lo, cand_hi),
    reading sims[cand - offset, query - offset] (chunks of 16 queries keep the reads contiguous)."""
    k = best_s.shape[1]
    width = 16
    n_chunks = (query_hi - query_lo + width - 1) // width
    for chunk in numba.prange(n_chunks):
        lo = query_lo + chunk * width
        hi = min(lo + width, query_hi)
        for cand in range(cand_lo, cand_hi):
            for query in range(lo, hi):
                s = sims[cand - offset, query - offset]
                score = norms[cand] - np.float32(2.0) * s if use_l2 else -s
                insert(best_s, best_i, query, score, cand, k)


def exact_grouped_topk(
    features: np.ndarray, group_bounds: list[int], k_per_group: list[int], *, metric: str, block_size: int = 1024
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Exact per-group top-k of every row against all rows (self included), in float32.

    Args:
        features: float32 [N, D], rows ordered so that each group is contiguous.
        group_bounds: [0, b_1, ..., N]; group g is rows ``group_bounds[g]:group_bounds[g+1]``.
        k_per_group: neighbours kept per group (each <= the group size).
        metric: "l2" or "ip" (scores as in :mod:`vireid_core.association.search`).
        block_size: rows per GEMM block.

    Returns:
        One (scores [N, k_g] float32, ids [N, k_g] int64) pair per group, ids in the row space of
        ``features``, sorted by (score, id).
    """
    n = features.shape[0]
    use_l2 = metric == "l2"
    norms = np.einsum("nd,nd->n", features, features).astype(np.float32)
    groups = list(zip(group_bounds[:-1], group_bounds[1:], strict=True))
    # [r, N - start]: the upper-triangle band of F Fᵀ for rows start..stop
    return blocked_grouped_topk(
        n, groups, k_per_group, norms, use_l2, block_size, lambda start, stop: features[start:stop] @ features[start:].T
    )


def blocked_grouped_topk(
    n: int,
    groups: list[tuple[int, int]],
    widths: list[int],
    norms: np.ndarray,
    use_l2: bool,
    block_size: int,
    band: Callable[[int, int], np.ndarray],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The running per-group top-``widths[g]`` over the upper triangle of a similarity matrix.

    Args:
        n: number of rows N.
        groups: (lo, hi) row range of each group.
        widths: entries kept per row and group.
        norms: float32 [N] squared row norms (for the l2 score).
        use_l2: l2 scores (else inner-product scores).
        block_size: rows per band.
        band: ``band(start, stop)`` returns the float32 similarities [stop - start, n - start] of rows
            start..stop against rows start..n (float32 for the exact search, bfloat16 products for
            the screened one).

    Returns:
        One (scores [n, w] float32, ids [n, w] int64) pair per group, sorted by (score, id).
    """
    best = [(np.full((n, w), np.inf, np.float32), np.full((n, w), n, np.int64)) for w in widths]
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        sims = band(start, stop)
        for g, (g_lo, g_hi) in enumerate(groups):
            scores, ids = best[g]
            lo = max(g_lo, start)
            if lo < g_hi:  # block rows against the group's columns >= start
                update_rows(sims, lo, g_hi, start, norms, use_l2, scores, ids, start)
            if g_lo < stop and g_hi > start and stop < n:  # later rows against the block's columns
                _update_cols(sims, stop, n, max(g_lo, start), min(g_hi, stop), start, norms, use_l2, scores, ids)
    return best
