"""k-reciprocal Jaccard distances, plain and modality-aware (MAJ), sparse and exact.

The plain distance is the k-reciprocal Jaccard distance of re-ranking (Zhong et al., CVPR 2017) as
the field's clustering code uses it; the modality-aware one is the BMIL paper's (arXiv 2512.07760,
"modality-aware Jaccard distance"). :mod:`vireid_core.association.reference` writes both out densely,
step by step, as their definitions read; this module gives the same distances without N x N matrices.

Every step works on sparse N x N structures with O(N·k) entries; there is no per-row Python loop:

1. reciprocity: M[i, j] = 1 if j is in i's ranking; the k-reciprocal pattern is M ∘ Mᵀ
   (R over the whole ranking, H over its first round(k1/2) + 1 entries);
2. expansion: |H(j) ∩ R(i)| for every j ∈ R(i) is (R Hᵀ)[i, j]; the selected H rows are added with
   one sparse product (Sel · H);
3. encoding: softmax of -(2 - 2<f_i, f_j>) over each row of the expansion pattern (compiled dots);
4. query expansion: V' = Q V with a sparse averaging matrix Q;
5. min-sum Jaccard over pairs that share support (:mod:`vireid_core.association.minsum`).

Defaults faithful to the official code: the ranking has k1 columns although the reciprocal test wants
k1 + 1 (``off_by_one=True``); the modality-aware half-sets are the first round(k1/2) + 1 entries of
the merged list, which one modality can dominate (``balanced_halves=False``); features are used as
given, not re-normalised. Ties in the rankings are broken by the smaller row index (the official
code's torch sort leaves that order unspecified).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import scipy.sparse as sp

from vireid_core.association.feasibility import check_k_values
from vireid_core.association.graph import NeighbourGraph
from vireid_core.association.inputs import as_feature_matrix, as_modality_array
from vireid_core.association.minsum import minsum_jaccard
from vireid_core.association.search import KnnConfig


def _membership(lists: np.ndarray, n: int) -> sp.csr_matrix:
    """csr [N, N] float32 with a 1 at (i, lists[i, p]) for every position p."""
    rows, width = lists.shape
    if lists.size and (lists.min() < 0 or lists.max() >= n):
        raise ValueError(
            "neighbour lists hold ids outside [0, N); the search did not fill every list "
            "(raise hnsw_ef_search / ivf_nprobe or use the exact search)"
        )
    indptr = np.arange(0, rows * width + 1, width, dtype=np.int64)
    matrix = sp.csr_matrix((np.ones(rows * width, np.float32), lists.ravel(), indptr), shape=(n, n))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _reciprocal(lists: np.ndarray, n: int) -> sp.csr_matrix:
    """Pattern of the k-reciprocal sets: (i, j) with j in lists[i] and i in lists[j]."""
    member = _membership(lists, n)
    pattern = member.multiply(member.T).tocsr()
    pattern.eliminate_zeros()
    pattern.sort_indices()
    return pattern


def expansion_pattern(ranking: np.ndarray, half_lists: np.ndarray, n: int) -> sp.csr_matrix:
    """E(i) = R(i) ∪ ⋃{H(j) : j ∈ R(i), |H(j) ∩ R(i)| > 2/3·|H(j)|} as a csr [N, N] 0/1 pattern.

    Args:
        ranking: int [N, L], R(i) is reciprocal within these lists.
        half_lists: int [N, H], H(j) is reciprocal within these lists.
        n: N.
    """
    full = _reciprocal(ranking, n)
    half = _reciprocal(half_lists, n)
    half_sizes = np.diff(half.indptr).astype(np.float64)
    overlap = full.multiply(full @ half.T).tocsr()  # |R(i) ∩ H(j)| at the (i, j) of R
    overlap.sort_indices()
    cols = overlap.indices
    selected = overlap.data > (2.0 / 3.0) * half_sizes[cols]
    rows = np.repeat(np.arange(n), np.diff(overlap.indptr))
    chosen = sp.csr_matrix((np.ones(int(selected.sum()), np.float32), (rows[selected], cols[selected])), shape=(n, n))
    expansion = (full + chosen @ half).tocsr()
    expansion.data[:] = 1.0
    expansion.sort_indices()
    return expansion


@numba.njit(parallel=True, fastmath=True, cache=True)
def _pattern_dots(features, indptr, indices):  # pragma: no cover - compiled
    """<f_i, f_j> for every stored (i, j) of a csr pattern, float32 in storage order."""
    out = np.empty(indices.shape[0], np.float32)
    dim = features.shape[1]
    for i in numba.prange(indptr.shape[0] - 1):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            acc = np.float32(0.0)
            for d in range(dim):
                acc += features[i, d] * features[j, d]
            out[p] = acc
    return out


def encode(features: np.ndarray, pattern: sp.csr_matrix) -> sp.csr_matrix:
    """V: per row, softmax of -d_ij over the pattern's columns, d_ij = 2 - 2<f_i, f_j> (float32)."""
    n = pattern.shape[0]
    rows = np.repeat(np.arange(n), np.diff(pattern.indptr))
    cols = pattern.indices
    dots = _pattern_dots(features, pattern.indptr.astype(np.int64), cols.astype(np.int64))
    weights = np.exp(-(np.float32(2.0) - np.float32(2.0) * dots))
    sums = np.bincount(rows, weights=weights, minlength=n)
    safe = np.where(sums > 0, sums, 1.0)
    data = (weights / safe[rows]).astype(np.float32)
    return sp.csr_matrix((data, cols.copy(), pattern.indptr.copy()), shape=(n, n))


def expansion_average(lists: list[np.ndarray], n: int) -> sp.csr_matrix:
    """Q [N, N] float32: row i averages, with equal weight per list, the mean over each list's ids."""
    parts = []
    for ids in lists:
        width = ids.shape[1]
        parts.append(_membership(ids, n) * np.float32(1.0 / (width * len(lists))))
    return sum(parts[1:], parts[0]).tocsr()


def jaccard_from_lists(
    features: np.ndarray,
    ranking: np.ndarray,
    half_lists: np.ndarray,
    expansion_lists: list[np.ndarray] | None,
    *,
    store_below: float = 1.0,
) -> sp.csr_matrix:
    """Jaccard distances from precomputed rankings (steps 1-5 of the module docstring).

    Args:
        features: float32 [N, D].
        ranking: int [N, L] initial ranking (reciprocal sets R).
        half_lists: int [N, H] lists for the half-sets H.
        expansion_lists: lists averaged by the query expansion (equal weight per list), or None to
            skip it.
        store_below: see :func:`minsum_jaccard` (1.0 = exact contract).

    Returns:
        csr [N, N] float32 distances (see :func:`minsum_jaccard`).
    """
    n = features.shape[0]
    # k-reciprocal sets R(i), widened by the half-size sets H(j) of the members j that mostly lie
    # inside R(i): the neighbourhood E(i) each row is encoded over
    pattern = expansion_pattern(ranking, half_lists, n)
    # encode every row as a probability vector over E(i): nearer members weigh more
    encoding = encode(features, pattern)
    if expansion_lists is not None:
        # query expansion: replace each row's vector by the mean over its nearest neighbours'
        encoding = (expansion_average(expansion_lists, n) @ encoding).tocsr()
        encoding.eliminate_zeros()
    # two rows are near when their vectors overlap: J = 1 - S / (2 - S), S = Σ_l min(V'_il, V'_jl)
    # (= 1 - Σ min / Σ max, as every row sums to 1), over pairs that share a column only
    return minsum_jaccard(encoding, store_below=store_below)


def jaccard_from_graph(
    graph: NeighbourGraph,
    k1: int = 30,
    k2: int = 6,
    *,
    off_by_one: bool = True,
    balanced_halves: bool = False,
    store_below: float = 1.0,
) -> sp.csr_matrix:
    """Plain or modality-aware Jaccard (whichever the graph was built for) at this (k1, k2).

    Args:
        graph: neighbour lists searched once (:meth:`NeighbourGraph.build`) with max_k1 >= k1.
        k1: reciprocal neighbourhood size.
        k2: query-expansion size (1 disables it for the plain distance; MAJ needs k2 <= k1 // 2).
        off_by_one: as in :func:`jaccard_distance` / :func:`modality_aware_jaccard`.
        balanced_halves: modality-aware only: the half-sets look at the first ceil(h/2) entries of
            the query's own modality list and floor(h/2) of the other (h = round(k1/2) + 1) instead
            of the first h entries of the merged list.
        store_below: < 1 drops pairs at distance >= store_below (they read as 1); DBSCAN with
            eps < store_below is unchanged — a memory bound for huge, hard inputs.

    Returns:
        csr_matrix [N, N] float32 in the graph's row order, same storage rule as
        :func:`jaccard_distance`.
    """
    n = graph.features.shape[0]
    # the half-size sets H(j) look at the first round(k1/2) + 1 entries (round half to even, as numpy
    # and torch round)
    half_width = int(np.around(k1 / 2)) + 1
    if not graph.modality_aware:
        # plain: one ranking by L2 distance; its prefixes give H and the k2 rows of the expansion
        if balanced_halves:
            raise ValueError("balanced_halves applies only to the modality-aware Jaccard")
        check_k_values(k1, k2, n)
        ranking = graph.plain_ranking(k1, off_by_one=off_by_one)
        expansion = None if k2 == 1 else [ranking[:, :k2]]
        return jaccard_from_lists(graph.features, ranking, ranking[:, :half_width], expansion, store_below=store_below)
    # MAJ: k1 // 2 nearest of each modality merged into one ranking, so that neither modality can
    # crowd the other out of a row's neighbourhood
    counts = {m: int(np.count_nonzero(graph.modality == m)) for m in (0, 1)}
    check_k_values(k1, k2, n, per_modality=counts)
    if not off_by_one and min(counts.values()) < k1 // 2 + 1:
        raise ValueError(
            f"off_by_one=False takes k1//2 + 1 = {k1 // 2 + 1} samples of the query's own "
            f"modality, but the modalities have {counts[0]} (visible) / {counts[1]} (infrared)"
        )
    visible, infrared, ranking = graph.modality_lists(k1, off_by_one=off_by_one)
    if balanced_halves:
        # H from ceil(h/2) entries of the row's own modality and floor(h/2) of the other
        own_vis = (graph.modality == 0)[:, None]
        own, other = (half_width + 1) // 2, half_width // 2
        from_vis = np.where(own_vis, own, other)
        vis_part = np.where(np.arange(own)[None, :] < from_vis, visible[:, :own], -1)
        ir_part = np.where(np.arange(own)[None, :] < own + other - from_vis, infrared[:, :own], -1)
        both = np.concatenate([vis_part, ir_part], axis=1)
        half_lists = both[both >= 0].reshape(n, half_width)
    else:
        half_lists = ranking[:, :half_width]  # the official code: H from the merged ranking
    # the query expansion averages the k2 nearest of each modality with equal weight
    return jaccard_from_lists(
        graph.features, ranking, half_lists, [visible[:, :k2], infrared[:, :k2]], store_below=store_below
    )


def jaccard_distance(
    features: Any, k1: int = 30, k2: int = 6, *, off_by_one: bool = True, knn: KnnConfig | None = None
) -> sp.csr_matrix:
    """Standard k-reciprocal Jaccard distance as a sparse matrix.

    Args:
        features: [N, D] numpy array or torch tensor (used as given; rows ≈ unit).
        k1: reciprocal neighbourhood size (30).
        k2: query-expansion size (6; 1 disables the expansion).
        off_by_one: True reproduces the official code's ranking of k1 columns (self + k1 - 1
            neighbours); False uses k1 + 1 columns as the definition intends.
        knn: neighbour search configuration (exact by default; "ivf_blas", "hnsw" or "ivf" are
            approximate options for very large N).

    Returns:
        scipy.sparse.csr_matrix [N, N] float32: stored entries are the pairs with distance < 1 plus
        the diagonal (exact zeros stored explicitly); absent pairs mean distance 1. Ranking is by
        squared L2 (as faiss IndexFlatL2), ties by the smaller index.
    """
    feats = as_feature_matrix(features)
    check_k_values(k1, k2, feats.shape[0])
    if not off_by_one and k1 + 1 > feats.shape[0]:
        raise ValueError(f"off_by_one=False needs k1 + 1 = {k1 + 1} <= N = {feats.shape[0]}")
    graph = NeighbourGraph.build(feats, max_k1=k1, knn=knn)
    return jaccard_from_graph(graph, k1, k2, off_by_one=off_by_one)


def modality_aware_jaccard(
    features: Any,
    modality: Any,
    k1: int = 30,
    k2: int = 6,
    *,
    off_by_one: bool = True,
    balanced_halves: bool = False,
    knn: KnnConfig | None = None,
) -> sp.csr_matrix:
    """Modality-aware Jaccard distance, MAJ (BMIL, arXiv 2512.07760), as a sparse matrix.

    Every row's initial ranking is its k1//2 most similar visible and k1//2 most similar infrared
    rows (inner product), merged by similarity; the query expansion averages the k2 nearest of each
    modality with equal weight. Rows may come in any modality order.

    Args:
        features: [N, D] numpy array or torch tensor (used as given).
        modality: [N] with 0 visible, 1 infrared; each modality needs >= k1//2 samples.
        k1, k2: as in :func:`jaccard_distance` (k2 <= k1//2).
        off_by_one: True = the official code (merged ranking of 2·(k1//2) entries, self included); False adds
            one more own-modality neighbour so that self is not counted against k1.
        balanced_halves: False = the official code (half-sets from the first round(k1/2) + 1 merged entries,
            which one modality can dominate); True splits them evenly.
        knn: neighbour search configuration.

    Returns:
        csr_matrix [N, N] float32 in the caller's row order, same storage rule as jaccard_distance.
    """
    feats = as_feature_matrix(features)
    mods = as_modality_array(modality, feats.shape[0])
    counts = {m: int(np.count_nonzero(mods == m)) for m in (0, 1)}
    check_k_values(k1, k2, feats.shape[0], per_modality=counts)
    graph = NeighbourGraph.build(feats, mods, max_k1=k1, knn=knn)
    return jaccard_from_graph(graph, k1, k2, off_by_one=off_by_one, balanced_halves=balanced_halves)
