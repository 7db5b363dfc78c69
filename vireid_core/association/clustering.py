"""DBSCAN on the sparse Jaccard graph and the subset split of BMIL's subset clustering (arXiv 2512.07760)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import DBSCAN

from vireid_core.association.inputs import as_feature_matrix
from vireid_core.association.jaccard import jaccard_distance


def cluster_dbscan(dist: sp.spmatrix | np.ndarray, eps: float, min_samples: int = 4) -> np.ndarray:
    """DBSCAN with a precomputed distance, identical to scikit-learn DBSCAN on the dense matrix.

    Args:
        dist: csr [N, N] from :func:`jaccard_distance` / :func:`modality_aware_jaccard` (absent pairs
            mean distance 1; the diagonal stored explicitly), or a dense [N, N] array.
        eps: neighbourhood radius; a pair is a neighbour when distance <= eps (tested in float32).
        min_samples: neighbours (self included) that make a core point.

    Returns:
        int64 [N] labels, -1 for outliers, clusters numbered 0..K-1 in the order the scan over rows
        first reaches them. With eps >= 1 every pair is a neighbour (absent pairs are at distance 1),
        which the function handles exactly without densifying: one cluster if N >= min_samples.
    """
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a finite number > 0 (as scikit-learn requires), got {eps!r}")
    if int(min_samples) != min_samples or min_samples < 1:
        raise ValueError(f"min_samples must be an integer >= 1, got {min_samples!r}")
    if dist.ndim != 2 or dist.shape[0] != dist.shape[1]:
        raise ValueError(f"dist must be a square [N, N] distance matrix, got shape {dist.shape}")
    n = dist.shape[0]
    eps32 = float(np.float32(eps))
    if not sp.issparse(dist):
        dense = np.asarray(dist, np.float32)
        return DBSCAN(eps=eps32, min_samples=min_samples, metric="precomputed").fit_predict(dense).astype(np.int64)
    if eps32 >= 1.0:
        # every absent pair (distance 1) is within eps; stored pairs are all < 1 except perhaps a
        # degenerate diagonal: all points are mutual neighbours
        return np.zeros(n, np.int64) if n >= min_samples else np.full(n, -1, np.int64)
    # Only pairs within eps matter (absent or farther pairs are not neighbours either way); handing
    # scikit-learn the filtered graph saves its per-row sort of every stored pair (~5x fewer here).
    csr = sp.csr_matrix(dist)
    data = csr.data.astype(np.float32, copy=False)
    within = data <= np.float32(eps32)
    rows = np.repeat(np.arange(n), np.diff(csr.indptr))
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows[within], minlength=n), out=indptr[1:])
    graph = sp.csr_matrix((data[within], csr.indices[within], indptr), shape=(n, n))  # keeps stored zeros
    graph.sort_indices()
    labels = DBSCAN(eps=eps32, min_samples=min_samples, metric="precomputed").fit_predict(graph)
    return labels.astype(np.int64)


def split_subsets(n: int, ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random split of n samples into two disjoint subsets (BMIL's subset clustering).

    A permutation π of range(n) is drawn from ``numpy.random.default_rng(seed)``; with
    s = floor(n·ratio), subset 0 = π[0:s] and subset 1 = π[s:2s] (clipped to n). With ratio 0.5 and an
    odd n the last element of π is in neither, as in the reference (which draws π with torch's RNG,
    so the exact draw differs).

    Returns:
        (subset0_idx, subset1_idx): int64 arrays of sample indices, each sorted ascending.
    """
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio must be in (0, 1], got {ratio!r}")
    perm = np.random.default_rng(seed).permutation(int(n))
    size = int(np.floor(n * ratio))
    return np.sort(perm[:size]).astype(np.int64), np.sort(perm[size : 2 * size]).astype(np.int64)


def cluster_subset(
    features: Any, subset_idx: np.ndarray, *, eps: float, k1: int = 30, k2: int = 6, min_samples: int = 4
) -> np.ndarray:
    """Intra-modality clustering of one subset: plain Jaccard + DBSCAN on ``features[subset_idx]``.

    Args:
        features: [n, D] features of one modality.
        subset_idx: int indices into those rows (e.g. subset 0 of :func:`split_subsets`).
        eps, k1, k2, min_samples: as in :func:`cluster_dbscan` / :func:`jaccard_distance`.

    Returns:
        int64 [n] labels: cluster ids for the subset rows, -1 for every other row and for outliers.
    """
    feats = as_feature_matrix(features)
    idx = np.asarray(subset_idx, np.int64)
    if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= feats.shape[0])):
        raise ValueError(f"subset_idx must be 1-D indices into the {feats.shape[0]} rows")
    if np.unique(idx).size != idx.size:
        raise ValueError("subset_idx holds repeated indices")
    labels = np.full(feats.shape[0], -1, np.int64)
    labels[idx] = cluster_dbscan(jaccard_distance(feats[idx], k1, k2), eps, min_samples)
    return labels
