"""Nearest-neighbour search for the k-reciprocal distances.

Two back ends:

* ``exact``: blocked float32 GEMM over the upper triangle of F Fᵀ (each block serves the rows
  and, transposed, the columns, so the GEMM work is halved), with an exact per-row top-k that breaks
  ties by the smaller index. Peak extra memory is two ``block_size x N`` float32 blocks.
* ``hnsw`` / ``ivf``: faiss approximate indexes for very large N (recall measured by
  :func:`knn_recall`).

Rankings are "smaller score is nearer": for ``metric="l2"`` the score is ``|f_j|² - 2<f_i, f_j>``
(squared L2 distance minus the query's own norm, the same order as faiss ``IndexFlatL2``); for
``metric="ip"`` it is ``-<f_i, f_j>``. Ties are broken by the smaller column index, so the order is
(score, index) everywhere — the stable order the reference's torch ``topk``/``argsort`` do not
guarantee (method-spec §14 #21).

Columns can be split into contiguous *groups* (the modalities, after a stable reordering done by the
caller); each group gets its own top-k list per query row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KnnConfig:
    """How neighbours are searched.

    Attributes:
        method: "exact" (blocked GEMM), "hnsw" (faiss IndexHNSWFlat) or "ivf" (faiss IndexIVFFlat).
        block_size: rows per GEMM block of the exact search.
        hnsw_m: HNSW graph degree.
        hnsw_ef_construction: HNSW build beam width.
        hnsw_ef_search: HNSW search beam width (raise it for more recall).
        ivf_nlist: IVF cell count; None means 4·sqrt(group size).
        ivf_nprobe: IVF cells visited per query.
        seed: seed of the IVF k-means training.
    """

    method: str = "exact"
    block_size: int = 1024
    hnsw_m: int = 32
    hnsw_ef_construction: int = 64
    hnsw_ef_search: int = 96
    ivf_nlist: int | None = None
    ivf_nprobe: int = 24
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in ("exact", "hnsw", "ivf"):
            raise ValueError(f"KnnConfig.method must be 'exact', 'hnsw' or 'ivf', got {self.method!r}")
        if self.block_size < 1:
            raise ValueError(f"KnnConfig.block_size must be >= 1, got {self.block_size}")


def stable_topk_rows(scores: np.ndarray, column_ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k entries with the smallest (score, column id), in that order.

    Args:
        scores: float32 [R, C].
        column_ids: int64 [C] or [R, C], the id of each column (ascending along a row if 1-D).
        k: entries to keep; if C <= k all entries are kept (sorted).

    Returns:
        (scores [R, min(k, C)] float32, ids [R, min(k, C)] int64), sorted by (score, id).
    """
    n_rows, n_cols = scores.shape
    ids = np.broadcast_to(column_ids, scores.shape)
    if n_cols > k:
        kth = np.partition(scores, k - 1, axis=1)[:, k - 1:k]
        rows, cols = np.nonzero(scores <= kth)
        cand_scores = scores[rows, cols]
        cand_ids = ids[rows, cols]
        order = np.lexsort((cand_ids, cand_scores, rows))
        rows, cand_scores, cand_ids = rows[order], cand_scores[order], cand_ids[order]
        starts = np.searchsorted(rows, np.arange(n_rows))
        rank = np.arange(rows.shape[0]) - starts[rows]
        keep = rank < k
        return (cand_scores[keep].reshape(n_rows, k), cand_ids[keep].reshape(n_rows, k))
    order = np.lexsort((ids, scores), axis=-1)
    return (np.take_along_axis(scores, order, 1), np.take_along_axis(np.ascontiguousarray(ids), order, 1))


def _merge(best: tuple[np.ndarray, np.ndarray], new: tuple[np.ndarray, np.ndarray], k: int
           ) -> tuple[np.ndarray, np.ndarray]:
    scores = np.concatenate([best[0], new[0]], axis=1)
    ids = np.concatenate([best[1], new[1]], axis=1)
    order = np.lexsort((ids, scores), axis=-1)[:, :k]
    return np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)


def exact_grouped_topk(features: np.ndarray, group_bounds: list[int], k_per_group: list[int], *,
                       metric: str, block_size: int = 1024) -> list[tuple[np.ndarray, np.ndarray]]:
    """Exact per-group top-k of every row against all rows (self included).

    Args:
        features: float32 [N, D], rows ordered so that each group is contiguous.
        group_bounds: [0, b_1, ..., N]; group g is rows ``group_bounds[g]:group_bounds[g+1]``.
        k_per_group: neighbours kept per group (each <= the group size).
        metric: "l2" or "ip" (see the module docstring for the scores).
        block_size: rows per GEMM block.

    Returns:
        One (scores [N, k_g] float32, ids [N, k_g] int64) pair per group, ids in the row space of
        ``features``, sorted by (score, id).
    """
    if metric not in ("l2", "ip"):
        raise ValueError(f"metric must be 'l2' or 'ip', got {metric!r}")
    n = features.shape[0]
    sq_norms = np.einsum("nd,nd->n", features, features) if metric == "l2" else None
    best = [(np.full((n, k), np.inf, np.float32), np.full((n, k), n, np.int64)) for k in k_per_group]
    groups = list(zip(group_bounds[:-1], group_bounds[1:], strict=True))
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        sims = features[start:stop] @ features[start:].T  # [r, N - start], upper triangle band
        if metric == "l2":
            row_scores = sq_norms[None, start:] - 2.0 * sims
            col_scores = (sq_norms[start:stop, None] - 2.0 * sims[:, stop - start:]).T
        else:
            np.negative(sims, out=sims)
            row_scores = sims
            col_scores = sims[:, stop - start:].T
        for g, (g_lo, g_hi) in enumerate(groups):
            k = k_per_group[g]
            lo, hi = max(g_lo, start), g_hi
            if lo < hi:  # block rows against columns [lo, hi) of this group
                new = stable_topk_rows(row_scores[:, lo - start:hi - start], np.arange(lo, hi), k)
                merged = _merge((best[g][0][start:stop], best[g][1][start:stop]), new, k)
                best[g][0][start:stop], best[g][1][start:stop] = merged
            if g_lo < stop and g_hi > start and stop < n:  # later rows against block columns of group
                c_lo, c_hi = max(g_lo, start), min(g_hi, stop)
                block = np.ascontiguousarray(col_scores[:, c_lo - start:c_hi - start])
                new = stable_topk_rows(block, np.arange(c_lo, c_hi), k)
                merged = _merge((best[g][0][stop:], best[g][1][stop:]), new, k)
                best[g][0][stop:], best[g][1][stop:] = merged
    return best


def approximate_grouped_topk(features: np.ndarray, group_bounds: list[int], k_per_group: list[int], *,
                             metric: str, config: KnnConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """Same contract as :func:`exact_grouped_topk`, searched with a faiss HNSW or IVF index per group.

    Entries the index could not fill (fewer than k found) get score +inf and id N. Returned lists
    are re-sorted by (score, id) so that ties follow the same rule as the exact search.
    """
    import faiss  # local import: only the approximate path needs it

    if metric not in ("l2", "ip"):
        raise ValueError(f"metric must be 'l2' or 'ip', got {metric!r}")
    n, dim = features.shape
    faiss_metric = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
    sq_norms = np.einsum("nd,nd->n", features, features)
    results = []
    for (lo, hi), k in zip(zip(group_bounds[:-1], group_bounds[1:], strict=True), k_per_group, strict=True):
        base = features[lo:hi]
        if config.method == "hnsw":
            index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss_metric)
            index.hnsw.efConstruction = config.hnsw_ef_construction
            index.add(base)
            index.hnsw.efSearch = max(config.hnsw_ef_search, k)
        else:
            nlist = config.ivf_nlist or max(1, int(4 * np.sqrt(hi - lo)))
            nlist = min(nlist, hi - lo)
            quantizer = faiss.IndexFlatL2(dim) if metric == "l2" else faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss_metric)
            index.cp.seed = config.seed
            rng = np.random.default_rng(config.seed)
            n_train = min(hi - lo, 64 * nlist)
            index.train(base[np.sort(rng.choice(hi - lo, n_train, replace=False))])
            index.add(base)
            index.nprobe = min(config.ivf_nprobe, nlist)
        values, ids = index.search(features, k)
        missing = ids < 0
        ids = np.where(missing, n, ids + lo).astype(np.int64)
        scores = (values - sq_norms[:, None]) if metric == "l2" else -values
        scores = np.where(missing, np.inf, scores).astype(np.float32)
        order = np.lexsort((ids, scores), axis=-1)
        results.append((np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)))
    return results


def knn_recall(approximate_ids: np.ndarray, exact_ids: np.ndarray) -> float:
    """Mean fraction of each row's exact neighbour set found by the approximate search.

    Args:
        approximate_ids, exact_ids: int [R, k] neighbour ids for the same R query rows.

    Returns:
        recall@k in [0, 1] (order inside a row ignored).
    """
    if approximate_ids.shape != exact_ids.shape:
        raise ValueError(f"recall needs equal shapes, got {approximate_ids.shape} and {exact_ids.shape}")
    rows, k = exact_ids.shape
    offset = np.arange(rows, dtype=np.int64)[:, None] * (max(approximate_ids.max(), exact_ids.max()) + 1)
    found = np.isin(exact_ids + offset, approximate_ids + offset)
    return float(found.mean()) if rows else 1.0
