"""Per-group top-k through a faiss index: flat (exact), HNSW or IVF (approximate).

faiss is an optional dependency of the association room, so it is imported when a search runs.
"""

from __future__ import annotations

import numpy as np

from vireid_core.association.search.config import KnnConfig


def _build_index(base: np.ndarray, metric: str, k: int, config: KnnConfig):
    """A faiss index over the rows ``base`` of one group, trained and filled, ready to search."""
    import faiss  # optional dependency: only these back ends need it

    dim = base.shape[1]
    faiss_metric = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
    if config.method == "faiss_flat":
        index = faiss.IndexFlatL2(dim) if metric == "l2" else faiss.IndexFlatIP(dim)
        index.add(base)
    elif config.method == "hnsw":
        index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss_metric)
        index.hnsw.efConstruction = config.hnsw_ef_construction
        index.add(base)
        index.hnsw.efSearch = max(config.hnsw_ef_search, k)
    else:  # "ivf"
        size = base.shape[0]
        nlist = min(config.ivf_nlist or max(1, int(4 * np.sqrt(size))), size)
        quantizer = faiss.IndexFlatL2(dim) if metric == "l2" else faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss_metric)
        index.cp.seed = config.seed
        rng = np.random.default_rng(config.seed)
        n_train = min(size, 64 * nlist)
        index.train(base[np.sort(rng.choice(size, n_train, replace=False))])
        index.add(base)
        index.nprobe = min(config.ivf_nprobe, nlist)
    return index


def faiss_grouped_topk(
    features: np.ndarray, group_bounds: list[int], k_per_group: list[int], *, metric: str, config: KnnConfig
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-group top-k searched with one faiss index per group (``config.method``: flat, HNSW or IVF).

    Args:
        features: float32 [N, D], each group contiguous.
        group_bounds, k_per_group, metric: as :func:`~vireid_core.association.search.exact.exact_grouped_topk`.
        config: the index settings.

    Returns:
        One (scores [N, k_g] float32, ids [N, k_g] int64) pair per group, re-sorted by (score, id)
        so that ties follow the exact search's rule. Entries the index could not fill (fewer than
        k found) get score +inf and id N.
    """
    n = features.shape[0]
    sq_norms = np.einsum("nd,nd->n", features, features)
    results = []
    for (lo, hi), k in zip(zip(group_bounds[:-1], group_bounds[1:], strict=True), k_per_group, strict=True):
        values, ids = _build_index(features[lo:hi], metric, k, config).search(features, k)
        missing = ids < 0
        ids = np.where(missing, n, ids + lo).astype(np.int64)
        # faiss returns squared distances / inner products: turn them into "smaller is nearer" scores
        scores = (values - sq_norms[:, None]) if metric == "l2" else -values
        scores = np.where(missing, np.inf, scores).astype(np.float32)
        order = np.lexsort((ids, scores), axis=-1)
        results.append((np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)))
    return results
