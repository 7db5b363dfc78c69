"""Sparse min-sum Jaccard: J = 1 - S / (2 - S), S_ij = Σ_l min(V'_il, V'_jl) (step 5 of jaccard.py).

Only pairs that share a non-zero column can have S > 0, so rows are processed through an inverted
index (the transpose of V'), compiled with numba and split over threads by row chunks. The work is
Σ_l (non-zeros of column l)², the same as the official code's inverted-index loop, without its N-long
dense row per query.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp


@numba.njit(parallel=True, cache=True)
def _count_pairs(n, indptr, indices, t_indptr, t_indices, chunk_bounds, counts):  # pragma: no cover
    for c in numba.prange(len(chunk_bounds) - 1):
        mark = np.full(n, -1, np.int64)
        for i in range(chunk_bounds[c], chunk_bounds[c + 1]):
            count = 0
            for p in range(indptr[i], indptr[i + 1]):
                col = indices[p]
                for q in range(t_indptr[col], t_indptr[col + 1]):
                    j = t_indices[q]
                    if mark[j] != i:
                        mark[j] = i
                        count += 1
            if mark[i] != i:  # the diagonal is always stored
                count += 1
            counts[i] = count


@numba.njit(parallel=True, cache=True)
def _fill_pairs(
    n, indptr, indices, data, t_indptr, t_indices, t_data, chunk_bounds, out_indptr, out_indices, out_data
):  # pragma: no cover
    for c in numba.prange(len(chunk_bounds) - 1):
        mark = np.full(n, -1, np.int64)
        acc = np.zeros(n, np.float64)
        touched = np.empty(n, np.int64)
        for i in range(chunk_bounds[c], chunk_bounds[c + 1]):
            n_touched = 0
            for p in range(indptr[i], indptr[i + 1]):
                col = indices[p]
                value = data[p]
                for q in range(t_indptr[col], t_indptr[col + 1]):
                    j = t_indices[q]
                    if mark[j] != i:
                        mark[j] = i
                        acc[j] = 0.0
                        touched[n_touched] = j
                        n_touched += 1
                    other = t_data[q]
                    acc[j] += value if value < other else other
            if mark[i] != i:
                mark[i] = i
                acc[i] = 0.0
                touched[n_touched] = i
                n_touched += 1
            row = np.sort(touched[:n_touched])
            start = out_indptr[i]
            for t in range(n_touched):
                j = row[t]
                s = np.float32(acc[j])
                dist = np.float32(1.0) - s / (np.float32(2.0) - s)
                out_indices[start + t] = j
                out_data[start + t] = dist if dist > 0 else np.float32(0.0)


def minsum_jaccard(
    expanded: sp.csr_matrix, *, store_below: float = 1.0, block_rows: int = 16384, n_chunks: int | None = None
) -> sp.csr_matrix:
    """Jaccard distances from the query-expanded encoding V'.

    Args:
        expanded: V' as csr [N, N] float32 with non-negative entries (rows sum to ~1).
        store_below: keep off-diagonal pairs with distance < store_below (1.0 = every pair < 1, the
            exact contract). A smaller value (e.g. 0.95 for DBSCAN eps 0.6) treats farther pairs as
            distance 1 and bounds memory on hard, large inputs; DBSCAN with eps < store_below is
            unchanged.
        block_rows: rows computed per pass (bounds the temporary buffers).
        n_chunks: row chunks per pass for the thread pool (default 8 per numba thread).

    Returns:
        csr [N, N] float32 with sorted indices; stores every off-diagonal pair with distance
        < store_below (float32) and the whole diagonal; negative values are clamped to 0. Absent
        pairs mean distance 1.
    """
    if not 0 < store_below <= 1:
        raise ValueError(f"store_below must be in (0, 1], got {store_below!r}")
    n = expanded.shape[0]
    csr = expanded.tocsr()
    csr.sort_indices()
    indptr, indices = csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
    data = csr.data.astype(np.float32)
    transposed = csr.T.tocsr()
    transposed.sort_indices()
    t_indptr, t_indices = transposed.indptr.astype(np.int64), transposed.indices.astype(np.int64)
    t_data = transposed.data.astype(np.float32)
    n_chunks = n_chunks or max(1, 8 * numba.get_num_threads())
    index_dtype = np.int32 if n < 2**31 else np.int64
    kept_indices, kept_data, kept_counts = [], [], []
    counts = np.zeros(n, np.int64)
    local_indptr = np.zeros(n + 1, np.int64)
    for lo in range(0, n, block_rows):
        hi = min(lo + block_rows, n)
        bounds = np.linspace(lo, hi, min(n_chunks, hi - lo) + 1).astype(np.int64)
        _count_pairs(n, indptr, indices, t_indptr, t_indices, bounds, counts)
        local_indptr[lo] = 0
        np.cumsum(counts[lo:hi], out=local_indptr[lo + 1 : hi + 1])
        total = int(local_indptr[hi])
        out_indices = np.empty(total, index_dtype)
        out_data = np.empty(total, np.float32)
        _fill_pairs(n, indptr, indices, data, t_indptr, t_indices, t_data, bounds, local_indptr, out_indices, out_data)
        rows = np.repeat(np.arange(lo, hi, dtype=index_dtype), counts[lo:hi])
        keep = (out_data < store_below) | (out_indices == rows)  # the diagonal stays stored
        kept_indices.append(out_indices[keep])
        kept_data.append(out_data[keep])
        kept_counts.append(np.bincount(rows[keep] - lo, minlength=hi - lo))
        del out_indices, out_data, rows, keep
    out_indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.concatenate(kept_counts), out=out_indptr[1:])
    result = sp.csr_matrix(
        (
            np.concatenate(kept_data),
            np.concatenate(kept_indices),
            out_indptr.astype(index_dtype if out_indptr[-1] < 2**31 else np.int64),
        ),
        shape=(n, n),
    )
    result.has_sorted_indices = True
    return result
