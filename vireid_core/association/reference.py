"""The Jaccard distance and the modality-aware Jaccard (MAJ), written out as their definitions read.

This is the reference to read first and the oracle the tests hold :mod:`vireid_core.association.jaccard`
to: dense N x N float32 matrices, one Python loop per row, O(N²) memory, so only for small N (tests,
notebooks, a few thousand rows in ``benchmarks/bench_association.py``). The sparse module gives the
same distances (up to float32 rounding) without ever forming an N x N matrix.

The plain distance is the k-reciprocal Jaccard distance of re-ranking (Zhong et al., CVPR 2017) as
the field's clustering code uses it. For features f_i (used as given, not re-normalised):

1. **ranking** L(i): all rows sorted by distance to f_i, nearest first (the row itself first);
2. **k-reciprocal set** R(i) = {j in L(i)[:k1] : i in L(j)[:k1]} — neighbours that also see i;
3. **expansion** E(i) = R(i) plus the half-size set H(j) (the same test on the first round(k1/2) + 1
   entries) of every j in R(i) with |H(j) ∩ R(i)| > 2/3 |H(j)|;
4. **encoding** V_ij = exp(-d_ij) / Σ_{l in E(i)} exp(-d_il) for j in E(i), else 0, with
   d_ij = 2 - 2<f_i, f_j> (squared L2 distance of unit vectors);
5. **query expansion** V'_i = mean of V_j over the first k2 entries of L(i) (k2 = 1: none);
6. **Jaccard** J_ij = 1 - Σ_l min(V'_il, V'_jl) / Σ_l max(V'_il, V'_jl), computed as
   1 - S / (2 - S) with S = Σ_l min(V'_il, V'_jl) (rows of V' sum to 1).

The modality-aware Jaccard of BMIL (arXiv 2512.07760, "modality-aware Jaccard distance") changes the
ranking so that neither modality can crowd the other out: L(i) is the k1 // 2 most similar visible
rows and the k1 // 2 most similar infrared rows (inner product), merged by similarity; the query
expansion averages the k2 nearest of each modality with equal weight.

Details kept as the official code has them: L(i) holds k1 entries (the row itself and k1 - 1
neighbours, ``off_by_one=True``) although the reciprocal test reads k1 + 1; MAJ's half-size sets come
from the first round(k1/2) + 1 merged entries (``balanced_halves=False``). Ties in every ranking are
broken by the smaller row index (stable sorts), the rule the package uses everywhere.
"""

from __future__ import annotations

import numpy as np


def sorted_rows(scores: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` best columns of each row, smaller score first, ties by the smaller index.

    Args:
        scores: float [N, M], smaller is nearer.
        width: columns kept.

    Returns:
        int64 [N, width] column indices.
    """
    return np.argsort(scores, axis=1, kind="stable")[:, :width]


def k_reciprocal_set(lists: np.ndarray, i: int) -> np.ndarray:
    """R(i): the entries j of ``lists[i]`` whose own list ``lists[j]`` contains i.

    Args:
        lists: int [N, L] neighbour lists (a ranking or its first columns).
        i: the query row.

    Returns:
        int array of row ids, in the order of ``lists[i]``.
    """
    candidates = lists[i]
    sees_i = np.any(lists[candidates] == i, axis=1)
    return candidates[sees_i]


def expanded_set(ranking: np.ndarray, half_lists: np.ndarray, i: int) -> np.ndarray:
    """E(i): R(i) plus H(j) for every j in R(i) whose H(j) lies mostly (> 2/3) inside R(i).

    Args:
        ranking: int [N, L], the lists R is computed on.
        half_lists: int [N, h], the lists the half-size sets H are computed on.
        i: the query row.

    Returns:
        int array of the distinct row ids of E(i), ascending.
    """
    reciprocal = k_reciprocal_set(ranking, i)
    members = reciprocal
    for j in reciprocal:
        half = k_reciprocal_set(half_lists, j)
        if len(np.intersect1d(half, reciprocal)) > 2 / 3 * len(half):
            members = np.append(members, half)
    return np.unique(members)


def encoding(features: np.ndarray, ranking: np.ndarray, half_lists: np.ndarray) -> np.ndarray:
    """V: every row a probability vector over its expanded set, nearer rows weighing more.

    Args:
        features: float32 [N, D].
        ranking: int [N, L] initial ranking.
        half_lists: int [N, h] lists of the half-size sets.

    Returns:
        float32 [N, N]; row i is exp(-d_ij) normalised over j in E(i), zero elsewhere.
    """
    n = features.shape[0]
    vectors = np.zeros((n, n), np.float32)
    for i in range(n):
        members = expanded_set(ranking, half_lists, i)
        distances = np.float32(2.0) - np.float32(2.0) * (features[members] @ features[i])
        weights = np.exp(-distances)
        vectors[i, members] = weights / np.sum(weights)
    return vectors


def query_expansion(vectors: np.ndarray, neighbour_lists: list[np.ndarray]) -> np.ndarray:
    """V': row i replaced by the mean of the rows in its neighbour lists, equal weight per list.

    Args:
        vectors: float32 [N, N] encoding V.
        neighbour_lists: one int [N, k2] array per list (one for the plain distance, one per
            modality for MAJ).

    Returns:
        float32 [N, N].
    """
    expanded = np.zeros_like(vectors)
    for i in range(vectors.shape[0]):
        per_list = [np.mean(vectors[ids[i], :], axis=0) for ids in neighbour_lists]
        expanded[i] = np.mean(per_list, axis=0)
    return expanded


def minsum_jaccard(vectors: np.ndarray) -> np.ndarray:
    """J_ij = 1 - S_ij / (2 - S_ij), S_ij = Σ_l min(V'_il, V'_jl), clipped at 0.

    The sums run through an inverted index (which rows are non-zero in each column), as the official
    code does: only rows that share a column can have S > 0.

    Args:
        vectors: float32 [N, N] expanded encoding V'.

    Returns:
        float32 [N, N] distances in [0, 1].
    """
    n = vectors.shape[0]
    rows_of_column = [np.nonzero(vectors[:, col])[0] for col in range(n)]
    distances = np.zeros((n, n), np.float32)
    for i in range(n):
        shared = np.zeros(n, np.float32)
        for col in np.nonzero(vectors[i])[0]:
            others = rows_of_column[col]
            shared[others] += np.minimum(vectors[i, col], vectors[others, col])
        distances[i] = 1 - shared / (2 - shared)
    np.maximum(distances, 0, out=distances)
    return distances


def jaccard_from_rankings(
    features: np.ndarray, ranking: np.ndarray, half_lists: np.ndarray, expansion_lists: list[np.ndarray] | None
) -> np.ndarray:
    """Steps 2-6 of the module docstring on a given ranking.

    Args:
        features: float32 [N, D].
        ranking: int [N, L] initial ranking (R is computed on all of it).
        half_lists: int [N, h] lists the half-size sets H are computed on.
        expansion_lists: lists averaged by the query expansion, or None to skip it.

    Returns:
        float32 [N, N] distances.
    """
    vectors = encoding(features, ranking, half_lists)
    if expansion_lists is not None:
        vectors = query_expansion(vectors, expansion_lists)
    return minsum_jaccard(vectors)


def half_width(k1: int) -> int:
    """Length of the lists the half-size sets are computed on: round(k1/2) + 1 (half to even)."""
    return int(np.around(k1 / 2)) + 1


def plain_ranking(features: np.ndarray, k1: int, *, off_by_one: bool = True) -> np.ndarray:
    """L(i) of the plain distance: rows by squared L2 distance, k1 (or k1 + 1) columns.

    Args:
        features: float32 [N, D].
        k1: reciprocal neighbourhood size.
        off_by_one: True keeps k1 columns as the official code does; False keeps k1 + 1.

    Returns:
        int64 [N, k1] or [N, k1 + 1].
    """
    sq_norms = np.einsum("nd,nd->n", features, features)
    # |f_j|² - 2<f_i, f_j> orders row i like the squared L2 distance (|f_i|² is the same for all j)
    scores = sq_norms[None, :] - 2 * (features @ features.T)
    return sorted_rows(scores, k1 if off_by_one else k1 + 1)


def modality_rankings(
    features: np.ndarray, modality: np.ndarray, k1: int, *, off_by_one: bool = True
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """L(i) of MAJ and the per-modality lists it is merged from.

    Args:
        features: float32 [N, D].
        modality: int [N], 0 visible and 1 infrared, any order.
        k1: reciprocal neighbourhood size; k1 // 2 neighbours come from each modality.
        off_by_one: True = the official code (2·(k1 // 2) entries, the row itself included); False
            adds one more neighbour of the row's own modality.

    Returns:
        (merged [N, 2·(k1 // 2) (+1)] sorted by (-similarity, id), {modality: [N, k1 // 2 (+1)]}
        most similar rows of that modality).
    """
    sims = features @ features.T
    half = k1 // 2
    extra = 0 if off_by_one else 1
    per_modality = {m: sorted_rows(np.where(modality[None, :] == m, -sims, np.inf), half + extra) for m in (0, 1)}
    merged = []
    for i in range(features.shape[0]):
        own = int(modality[i])
        ids = np.concatenate([per_modality[m][i, : half + (extra if m == own else 0)] for m in (0, 1)])
        merged.append(ids[np.lexsort((ids, -sims[i, ids]))])
    return np.stack(merged), per_modality


def dense_jaccard(features: np.ndarray, k1: int = 30, k2: int = 6, *, off_by_one: bool = True) -> np.ndarray:
    """The k-reciprocal Jaccard distance, dense.

    Args:
        features: float [N, D] (used as given).
        k1: reciprocal neighbourhood size.
        k2: query-expansion size (1 switches it off).
        off_by_one: as :func:`plain_ranking`.

    Returns:
        float32 [N, N] distances in [0, 1]; what :func:`vireid_core.association.jaccard_distance`
        returns, densified (absent pairs are 1).
    """
    features = np.asarray(features, np.float32)
    ranking = plain_ranking(features, k1, off_by_one=off_by_one)
    expansion = None if k2 == 1 else [ranking[:, :k2]]
    return jaccard_from_rankings(features, ranking, ranking[:, : half_width(k1)], expansion)


def dense_modality_aware_jaccard(
    features: np.ndarray,
    modality: np.ndarray,
    k1: int = 30,
    k2: int = 6,
    *,
    off_by_one: bool = True,
    balanced_halves: bool = False,
) -> np.ndarray:
    """The modality-aware Jaccard distance (MAJ), dense, rows in any modality order.

    Args:
        features: float [N, D] (used as given).
        modality: int [N], 0 visible and 1 infrared.
        k1: reciprocal neighbourhood size (k1 // 2 per modality).
        k2: query-expansion size per modality (<= k1 // 2).
        off_by_one: as :func:`modality_rankings`.
        balanced_halves: False = the official code (half-size sets from the merged ranking, which
            one modality can dominate); True takes ceil(h/2) entries of the row's own modality and
            floor(h/2) of the other.

    Returns:
        float32 [N, N] distances in [0, 1]; what :func:`vireid_core.association.modality_aware_jaccard`
        returns, densified.
    """
    features = np.asarray(features, np.float32)
    modality = np.asarray(modality)
    ranking, per_modality = modality_rankings(features, modality, k1, off_by_one=off_by_one)
    width = half_width(k1)
    if balanced_halves:
        own_count, other_count = (width + 1) // 2, width // 2
        half_lists = np.stack(
            [
                np.concatenate([per_modality[int(m)][i, :own_count], per_modality[1 - int(m)][i, :other_count]])
                for i, m in enumerate(modality)
            ]
        )
    else:
        half_lists = ranking[:, :width]
    return jaccard_from_rankings(features, ranking, half_lists, [per_modality[0][:, :k2], per_modality[1][:, :k2]])
