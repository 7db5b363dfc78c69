"""Neighbour search for the k-reciprocal distances: one entry point, :func:`nearest_neighbours`.

Everything in the association room that needs nearest neighbours calls :func:`nearest_neighbours`;
which back end runs is decided in one place, :func:`choose_backend`, from a :class:`KnnConfig`:

* ``exact`` (default, :mod:`.exact`): blocked float32 GEMM over the upper triangle of F Fᵀ with a
  compiled running top-k;
* ``screened`` (:mod:`.screened`): the same answer through a bfloat16 screening GEMM and a float32
  certificate; chosen for the exact method when ``KnnConfig.screen`` asks for it ("bf16"), or
  ("auto") when N >= ``screen_min_rows`` on a CPU with bfloat16 matrix units;
* ``ivf_blas`` (:mod:`.partitioned`): approximate, faiss k-means cells scanned with batched GEMMs;
* ``faiss_flat`` / ``hnsw`` / ``ivf`` (:mod:`.faiss_index`): faiss indexes (flat is exact but breaks
  ties at the k-th place differently and is slower here; the other two are approximate).

Scores are "smaller is nearer": for ``metric="l2"`` the score is ``|f_j|² - 2<f_i, f_j>`` (squared
L2 distance minus the query's own norm, the same order as faiss ``IndexFlatL2``); for
``metric="ip"`` it is ``-<f_i, f_j>``. Ties are broken by the smaller row index, so the order is
(score, index) everywhere — a stable order that the official code's torch ``topk``/``argsort`` do
not guarantee.

Rows can be split into contiguous *groups* (the modalities, after a stable reordering done by the
caller); each group gets its own top-k list per query row.
"""

from __future__ import annotations

import numpy as np

from vireid_core.association.search.config import KnnConfig
from vireid_core.association.search.exact import exact_grouped_topk
from vireid_core.association.search.faiss_index import faiss_grouped_topk
from vireid_core.association.search.partitioned import partitioned_grouped_topk
from vireid_core.association.search.screened import screened_grouped_topk
from vireid_core.compute import cpu_has_bf16_matrix_units

__all__ = ["KnnConfig", "choose_backend", "knn_recall", "nearest_neighbours"]

Lists = list[tuple[np.ndarray, np.ndarray]]


def choose_backend(knn: KnnConfig, n_rows: int) -> str:
    """The back end :func:`nearest_neighbours` runs for ``knn`` on ``n_rows`` rows.

    Returns:
        "exact", "screened", "ivf_blas", or the faiss method name ("faiss_flat", "hnsw", "ivf").
    """
    if knn.method != "exact":
        return knn.method
    # The bfloat16 screen only pays off with bfloat16 matrix units and a long GEMM; it is a
    # hardware check, not a timing, so a machine always makes the same choice.
    wants_screen = knn.screen == "bf16" or (
        knn.screen == "auto" and n_rows >= knn.screen_min_rows and cpu_has_bf16_matrix_units()
    )
    return "screened" if wants_screen else "exact"


def nearest_neighbours(
    features: np.ndarray,
    group_bounds: list[int],
    k_per_group: list[int],
    *,
    metric: str,
    knn: KnnConfig | None = None,
    stats: dict[str, float] | None = None,
) -> Lists:
    """Per-group top-k of every row against all rows (self included), by the back end ``knn`` picks.

    Args:
        features: float32 [N, D], C-contiguous, rows ordered so that each group is contiguous.
        group_bounds: [0, b_1, ..., N]; group g is rows ``group_bounds[g]:group_bounds[g+1]``.
        k_per_group: neighbours kept per group, each in [1, group size].
        metric: "l2" or "ip" (see the module docstring for the scores).
        knn: search settings (exact float32 search by default).
        stats: for the screened search, receives ``"fallback_fraction"`` (share of rows x groups
            searched again in float32).

    Returns:
        One (scores [N, k_g] float32, ids [N, k_g] int64) pair per group, ids in the row space of
        ``features``, sorted by (score, id). Approximate back ends may leave entries unfilled:
        score +inf, id N.

    Raises:
        ValueError: on a metric other than "l2"/"ip", features that are not C-contiguous float32
            [N, D], or group bounds / k values that do not fit the rows.
    """
    knn = knn or KnnConfig()
    if metric not in ("l2", "ip"):
        raise ValueError(f"metric must be 'l2' or 'ip', got {metric!r}")
    if features.ndim != 2 or features.dtype != np.float32 or not features.flags.c_contiguous:
        raise ValueError(
            f"features must be a C-contiguous float32 [N, D] array, got {features.dtype} of shape {features.shape}"
        )
    n = features.shape[0]
    sizes = np.diff(group_bounds)
    if group_bounds[0] != 0 or group_bounds[-1] != n or (sizes < 1).any() or len(k_per_group) != len(sizes):
        raise ValueError(
            f"group_bounds {list(group_bounds)} must run from 0 to N = {n} in non-empty "
            f"groups, one k per group (got {list(k_per_group)})"
        )
    if any(not 1 <= k <= size for k, size in zip(k_per_group, sizes, strict=True)):
        raise ValueError(
            f"each k must lie in [1, group size]; got k {list(k_per_group)} for groups of {sizes.tolist()} rows"
        )
    backend = choose_backend(knn, n)
    if backend == "exact":
        return exact_grouped_topk(features, group_bounds, k_per_group, metric=metric, block_size=knn.block_size)
    if backend == "screened":
        return screened_grouped_topk(
            features,
            group_bounds,
            k_per_group,
            metric=metric,
            block_size=knn.block_size,
            margin=knn.screen_margin,
            stats=stats,
        )
    if backend == "ivf_blas":
        return partitioned_grouped_topk(features, group_bounds, k_per_group, metric=metric, config=knn)
    return faiss_grouped_topk(features, group_bounds, k_per_group, metric=metric, config=knn)


def knn_recall(approximate_ids: np.ndarray, exact_ids: np.ndarray) -> float:
    """Mean fraction of each row's exact neighbour set found by the approximate search.

    Args:
        approximate_ids: int [R, k] neighbour ids of an approximate search.
        exact_ids: int [R, k] exact neighbour ids for the same R query rows.

    Returns:
        recall@k in [0, 1] (order inside a row ignored).
    """
    if approximate_ids.shape != exact_ids.shape:
        raise ValueError(f"recall needs equal shapes, got {approximate_ids.shape} and {exact_ids.shape}")
    rows, k = exact_ids.shape
    offset = np.arange(rows, dtype=np.int64)[:, None] * (max(approximate_ids.max(), exact_ids.max()) + 1)
    found = np.isin(exact_ids + offset, approximate_ids + offset)
    return float(found.mean()) if rows else 1.0
