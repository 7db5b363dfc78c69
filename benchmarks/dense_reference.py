"""A straightforward dense implementation of method-spec §5.1/§5.2, written as the definition reads.

Kept as the comparison point for vireid_core.association: dense N x N float32 matrices (similarity,
V, V', J), per-row Python loops for the reciprocal sets, the expansion and the min-sum (through an
inverted index, as the reference code does). Same tie rule as the package: rankings sorted by
(score, index) with a stable sort. Not part of the package; O(N²) memory.
"""

from __future__ import annotations

import time

import numpy as np


def _ranking(scores: np.ndarray, k: int) -> np.ndarray:
    """First k columns of each row sorted by (score, index) — stable sort, smaller is nearer."""
    return np.argsort(scores, axis=1, kind="stable")[:, :k]


def _reciprocal(ranking: np.ndarray, i: int, k: int) -> np.ndarray:
    forward = ranking[i, :k + 1]
    backward = ranking[forward, :k + 1]
    return forward[np.any(backward == i, axis=1)]


def _jaccard_from_ranking(features: np.ndarray, ranking: np.ndarray, k1: int, half_ranking: np.ndarray,
                          expansion_sets: list[np.ndarray] | None) -> np.ndarray:
    n = features.shape[0]
    half_k = int(np.around(k1 / 2))
    encoding = np.zeros((n, n), np.float32)
    for i in range(n):
        recip = _reciprocal(ranking, i, k1)
        expanded = recip
        for candidate in recip:
            candidate_set = _reciprocal(half_ranking, candidate, half_k)
            if len(np.intersect1d(candidate_set, recip)) > 2 / 3 * len(candidate_set):
                expanded = np.append(expanded, candidate_set)
        expanded = np.unique(expanded)
        dist = np.float32(2.0) - np.float32(2.0) * (features[expanded] @ features[i])
        weight = np.exp(-dist)
        encoding[i, expanded] = weight / np.sum(weight)
    if expansion_sets is not None:
        expanded_encoding = np.zeros_like(encoding)
        for i in range(n):
            parts = [np.mean(encoding[ids[i], :], axis=0) for ids in expansion_sets]
            expanded_encoding[i] = np.mean(parts, axis=0)
        encoding = expanded_encoding
    inverted = [np.nonzero(encoding[:, col])[0] for col in range(n)]
    jaccard = np.zeros((n, n), np.float32)
    for i in range(n):
        shared = np.zeros(n, np.float32)
        for col in np.nonzero(encoding[i])[0]:
            others = inverted[col]
            shared[others] += np.minimum(encoding[i, col], encoding[others, col])
        jaccard[i] = 1 - shared / (2 - shared)
    np.maximum(jaccard, 0, out=jaccard)
    return jaccard


def dense_jaccard(features: np.ndarray, k1: int = 30, k2: int = 6, *, off_by_one: bool = True) -> np.ndarray:
    """Dense float32 [N, N] k-reciprocal Jaccard distance (method-spec §5.1)."""
    features = np.asarray(features, np.float32)
    sims = features @ features.T
    sq_norms = np.einsum("nd,nd->n", features, features)
    width = k1 if off_by_one else k1 + 1
    ranking = _ranking(sq_norms[None, :] - 2 * sims, width)
    expansion = None if k2 == 1 else [ranking[:, :k2]]
    return _jaccard_from_ranking(features, ranking, k1, ranking, expansion)


def dense_modality_aware_jaccard(features: np.ndarray, modality: np.ndarray, k1: int = 30, k2: int = 6, *,
                                 off_by_one: bool = True, balanced_halves: bool = False,
                                 timings: dict[str, float] | None = None) -> np.ndarray:
    """Dense float32 [N, N] modality-aware Jaccard distance (method-spec §5.2), any row order.

    ``timings``, if given, receives the seconds spent on the similarity + ranking step ("ranking").
    """
    start = time.perf_counter()
    features = np.asarray(features, np.float32)
    modality = np.asarray(modality)
    n = features.shape[0]
    sims = features @ features.T
    half = k1 // 2
    extra = 0 if off_by_one else 1
    lists = {}
    for m in (0, 1):
        scores = np.where(modality[None, :] == m, -sims, np.inf)
        lists[m] = _ranking(scores, half + extra)
    merged_rows, half_rows = [], []
    half_width = int(np.around(k1 / 2)) + 1
    for i in range(n):
        own = int(modality[i])
        parts = {m: lists[m][i, :half + (extra if m == own else 0)] for m in (0, 1)}
        ids = np.concatenate([parts[0], parts[1]])
        order = np.lexsort((ids, -sims[i, ids]))
        merged_rows.append(ids[order])
        if balanced_halves:
            n_own, n_other = (half_width + 1) // 2, half_width // 2
            half_rows.append(np.concatenate([lists[own][i, :n_own], lists[1 - own][i, :n_other]]))
        else:
            half_rows.append(ids[order][:half_width])
    ranking = np.stack(merged_rows)
    if timings is not None:
        timings["ranking"] = time.perf_counter() - start
    half_ranking = ranking if not balanced_halves else _pad_half(np.stack(half_rows), ranking.shape[1])
    return _jaccard_from_ranking(features, ranking, k1, half_ranking, [lists[0][:, :k2], lists[1][:, :k2]])


def _pad_half(half_rows: np.ndarray, width: int) -> np.ndarray:
    """Half lists padded with -1 so that _reciprocal's first round(k1/2)+1 columns are exactly them."""
    padded = np.full((half_rows.shape[0], max(width, half_rows.shape[1])), -1, np.int64)
    padded[:, :half_rows.shape[1]] = half_rows
    return padded
