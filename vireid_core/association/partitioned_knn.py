"""Approximate k-NN for very large N: an IVF partition scanned with batched GEMMs ("ivf_blas").

faiss k-means splits each group's rows into cells; every query visits its ``nprobe`` nearest cells
(by centroid). Instead of scanning cells query by query (faiss IndexIVFFlat), all queries that visit
a cell are gathered and multiplied against the cell's rows in one BLAS call, and a compiled running
top-k (same lexicographic (score, id) rule as the exact search) keeps the best. On a 2-core CPU this
is several times faster than per-query scanning or HNSW at D = 2048 (measured at N = 20,000:
HNSW M=16 60 s, this 15-35 s, exact 15-20 s on a loaded machine; it wins as N grows since the
scanned fraction is nprobe/nlist ≈ nprobe / (4·sqrt(N))).
"""

from __future__ import annotations

import numba
import numpy as np

from vireid_core.association.knn import KnnConfig, _insert


@numba.njit(cache=True)
def _update_gathered(sims, query_ids, cand_ids, norms, use_l2, best_s, best_i):  # pragma: no cover
    """Running top-k of query_ids[q] against cand_ids[c] with sims[q, c] (queries are distinct)."""
    k = best_s.shape[1]
    for q in range(sims.shape[0]):  # serial: many small calls, a thread barrier each would cost more
        row = query_ids[q]
        for c in range(sims.shape[1]):
            cand = cand_ids[c]
            s = sims[q, c]
            score = norms[cand] - np.float32(2.0) * s if use_l2 else -s
            _insert(best_s, best_i, row, score, cand, k)


def partitioned_grouped_topk(features: np.ndarray, group_bounds: list[int], k_per_group: list[int], *,
                             metric: str, config: KnnConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """Same contract as :func:`vireid_core.association.knn.exact_grouped_topk`, approximately.

    Per group: ``nlist`` cells (config.ivf_nlist or 4·sqrt(group size); fewer, larger cells were
    measured to lose recall: N = 20,000, nprobe 12: sqrt cells 0.84/0.70, 4·sqrt cells 0.996/0.956), k-means with
    ``config.seed``; each query scans ``config.ivf_nprobe`` cells. Rows a query could not fill
    (fewer than k candidates scanned) keep score +inf and id N.
    """
    import faiss  # local import: only the approximate path needs it

    if metric not in ("l2", "ip"):
        raise ValueError(f"metric must be 'l2' or 'ip', got {metric!r}")
    n, dim = features.shape
    use_l2 = metric == "l2"
    norms = np.einsum("nd,nd->n", features, features).astype(np.float32)
    results = []
    for (lo, hi), k in zip(zip(group_bounds[:-1], group_bounds[1:], strict=True), k_per_group, strict=True):
        size = hi - lo
        nlist = min(config.ivf_nlist or max(1, int(4 * np.sqrt(size))), size)
        nprobe = min(config.ivf_nprobe, nlist)
        rng = np.random.default_rng(config.seed)
        sample = np.sort(rng.choice(size, min(size, 40 * nlist), replace=False)) + lo
        kmeans = faiss.Kmeans(dim, nlist, niter=12, seed=config.seed, spherical=not use_l2,
                              max_points_per_centroid=40)
        kmeans.train(features[sample])
        quantizer = faiss.IndexFlatL2(dim) if use_l2 else faiss.IndexFlatIP(dim)
        quantizer.add(kmeans.centroids)
        _, cell_of_row = quantizer.search(features[lo:hi], 1)
        _, probes = quantizer.search(features, nprobe)  # [N, nprobe] cells visited by each query
        members = np.argsort(cell_of_row[:, 0], kind="stable")
        member_bounds = np.searchsorted(cell_of_row[members, 0], np.arange(nlist + 1))
        flat_cells = probes.ravel()
        visit_order = np.argsort(flat_cells, kind="stable")
        visit_bounds = np.searchsorted(flat_cells[visit_order], np.arange(nlist + 1))
        visit_query = visit_order // nprobe
        best_s = np.full((n, k), np.inf, np.float32)
        best_i = np.full((n, k), n, np.int64)
        for cell in range(nlist):
            cand = members[member_bounds[cell]:member_bounds[cell + 1]] + lo
            queries = visit_query[visit_bounds[cell]:visit_bounds[cell + 1]]
            if cand.size == 0 or queries.size == 0:
                continue
            sims = features[queries] @ features[cand].T
            _update_gathered(sims, queries, cand, norms, use_l2, best_s, best_i)
        results.append((best_s, best_i))
    return results
