"""Nearest-neighbour search for the k-reciprocal distances.

Two back ends:

* ``exact``: blocked float32 GEMM over the upper triangle of F Fᵀ (each block serves its rows and,
  transposed, the later rows, so the GEMM work is halved); a compiled (numba) running top-k per row
  with a lexicographic (score, index) insertion. Peak extra memory is one ``block_size x N`` block.
* ``faiss_flat``: faiss' exact IndexFlatL2/IP per group (same neighbours as ``exact`` except how ties
  at the k-th place are broken; ~2x slower at N = 10,000, D = 2048 on this CPU);
* ``hnsw`` / ``ivf``: faiss approximate indexes; ``ivf_blas``: an IVF partition scanned with batched
  GEMMs (:mod:`vireid_core.association.partitioned_knn`) — for very large N (recall measured by
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

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np


@dataclass(frozen=True)
class KnnConfig:
    """How neighbours are searched.

    Attributes:
        method: "exact" (blocked GEMM), "faiss_flat" (faiss IndexFlat, exact), "hnsw" (faiss
            IndexHNSWFlat), "ivf" (faiss IndexIVFFlat) or
            "ivf_blas" (faiss k-means cells scanned with batched GEMMs; the fastest approximate
            option at D = 2048 on a few cores, see partitioned_knn).
        block_size: rows per GEMM block of the exact search.
        hnsw_m: HNSW graph degree.
        hnsw_ef_construction: HNSW build beam width.
        hnsw_ef_search: HNSW search beam width (raise it for more recall).
        ivf_nlist: IVF cell count; None means 4·sqrt(group size).
        ivf_nprobe: IVF cells visited per query.
        seed: seed of the IVF k-means training.
        screen: exact search only. "bf16" screens candidates with a bfloat16 GEMM and certifies them
            in float32 (:mod:`vireid_core.association.screened_knn`; same neighbours, up to float32
            rounding of near-ties); "off" is the plain float32 GEMM; "auto" (default) uses "bf16"
            when the CPU has bfloat16 matrix instructions (AVX512-BF16 / AMX) and N >= screen_min_rows
            — a hardware check, not a timing, so the choice is the same on every run of a machine.
        screen_margin: extra candidates per row and modality kept by the screen.
        screen_min_rows: smallest N for which "auto" screens (below it the GEMM is short anyway).
    """

    method: str = "exact"
    block_size: int = 1024
    hnsw_m: int = 32
    hnsw_ef_construction: int = 64
    hnsw_ef_search: int = 96
    ivf_nlist: int | None = None
    ivf_nprobe: int = 24
    seed: int = 0
    screen: str = "auto"
    screen_margin: int = 16
    screen_min_rows: int = 8192

    def __post_init__(self) -> None:
        if self.method not in ("exact", "faiss_flat", "hnsw", "ivf", "ivf_blas"):
            raise ValueError("KnnConfig.method must be 'exact', 'faiss_flat', 'hnsw', 'ivf' or 'ivf_blas', "
                             f"got {self.method!r}")
        if self.screen not in ("auto", "bf16", "off"):
            raise ValueError(f"KnnConfig.screen must be 'auto', 'bf16' or 'off', got {self.screen!r}")
        if self.screen_margin < 1:
            raise ValueError(f"KnnConfig.screen_margin must be >= 1, got {self.screen_margin}")
        if self.block_size < 1:
            raise ValueError(f"KnnConfig.block_size must be >= 1, got {self.block_size}")


@numba.njit(inline="always")
def _insert(best_s, best_i, row, score, ident, k):  # pragma: no cover - compiled
    """Insert (score, ident) into the sorted row if it beats the current worst (lexicographic)."""
    worst_s = best_s[row, k - 1]
    if score > worst_s or (score == worst_s and ident >= best_i[row, k - 1]):
        return
    pos = k - 1
    while pos > 0 and (best_s[row, pos - 1] > score
                       or (best_s[row, pos - 1] == score and best_i[row, pos - 1] > ident)):
        best_s[row, pos] = best_s[row, pos - 1]
        best_i[row, pos] = best_i[row, pos - 1]
        pos -= 1
    best_s[row, pos] = score
    best_i[row, pos] = ident


@numba.njit(parallel=True, cache=True)
def _update_rows(sims, col_lo, col_hi, sim_offset, norms, use_l2, best_s, best_i, row_lo):  # pragma: no cover
    """Rows row_lo + r of the running top-k against columns [col_lo, col_hi) of sims[r, c - sim_offset]."""
    k = best_s.shape[1]
    for r in numba.prange(sims.shape[0]):
        row = row_lo + r
        for col in range(col_lo, col_hi):
            s = sims[r, col - sim_offset]
            score = norms[col] - np.float32(2.0) * s if use_l2 else -s
            _insert(best_s, best_i, row, score, col, k)


@numba.njit(parallel=True, cache=True)
def _update_cols(sims, query_lo, query_hi, cand_lo, cand_hi, offset, norms, use_l2, best_s, best_i
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
                _insert(best_s, best_i, query, score, cand, k)


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
    use_l2 = metric == "l2"
    norms = np.einsum("nd,nd->n", features, features).astype(np.float32)
    groups = list(zip(group_bounds[:-1], group_bounds[1:], strict=True))
    # [r, N - start]: the upper-triangle band of F Fᵀ for rows start..stop
    return blocked_grouped_topk(n, groups, k_per_group, norms, use_l2, block_size,
                                lambda start, stop: features[start:stop] @ features[start:].T)


def blocked_grouped_topk(n: int, groups: list[tuple[int, int]], widths: list[int], norms: np.ndarray,
                         use_l2: bool, block_size: int, band: Callable[[int, int], np.ndarray]
                         ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The running per-group top-``widths[g]`` over the upper triangle of a similarity matrix.

    ``band(start, stop)`` returns the float32 similarities [stop - start, n - start] of rows
    start..stop against rows start..n; each band serves its own rows and, transposed, the later rows,
    so only half of the matrix is ever computed. Used with float32 (exact search) and bfloat16
    (screened search) bands. Returns one (scores [n, w] float32, ids [n, w] int64) pair per group,
    sorted by (score, id); ``norms`` are the squared row norms (for the l2 score).
    """
    best = [(np.full((n, w), np.inf, np.float32), np.full((n, w), n, np.int64)) for w in widths]
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        sims = band(start, stop)
        for g, (g_lo, g_hi) in enumerate(groups):
            scores, ids = best[g]
            lo = max(g_lo, start)
            if lo < g_hi:  # block rows against the group's columns >= start
                _update_rows(sims, lo, g_hi, start, norms, use_l2, scores, ids, start)
            if g_lo < stop and g_hi > start and stop < n:  # later rows against the block's columns
                _update_cols(sims, stop, n, max(g_lo, start), min(g_hi, stop), start, norms, use_l2,
                             scores, ids)
    return best


def approximate_grouped_topk(features: np.ndarray, group_bounds: list[int], k_per_group: list[int], *,
                             metric: str, config: KnnConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """Same contract as :func:`exact_grouped_topk`, searched with a faiss index per group (flat, HNSW
    or IVF).

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
        if config.method == "faiss_flat":
            index = faiss.IndexFlatL2(dim) if metric == "l2" else faiss.IndexFlatIP(dim)
            index.add(base)
        elif config.method == "hnsw":
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
