"""Diagnostics of the association step, used by the engine's logs and the teaching notebooks.

Ground-truth ids are only ever read here (never by training code).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from vireid_core.association.inputs import as_feature_matrix, as_modality_array
from vireid_core.association.search import KnnConfig, nearest_neighbours


def _labels_with_singleton_noise(labels: np.ndarray) -> np.ndarray:
    """Give every outlier (-1) its own cluster id so that ARI/NMI treat noise as singletons."""
    out = labels.copy()
    noise = out < 0
    out[noise] = out.max(initial=-1) + 1 + np.arange(int(noise.sum()))
    return out


def single_modality_ceiling_ari(true_ids: Any, modality: Any) -> float:
    """ARI against ``true_ids`` of the perfect *single-modality* clustering: every identity split into
    one visible and one infrared cluster, no outliers.

    A clustering that never merges the modalities cannot score above it; a global clustering above it
    must be joining visible and infrared images of the same people. Returns NaN for empty input.
    """
    truth = np.asarray(true_ids).astype(np.int64)
    mods = as_modality_array(modality, truth.shape[0])
    if truth.size == 0:
        return float("nan")
    split = np.unique(np.stack([truth, mods], axis=1), axis=0, return_inverse=True)[1].ravel()
    return float(adjusted_rand_score(truth, split))


def clustering_report(labels: Any, modality: Any, true_ids: Any = None) -> dict[str, Any]:
    """Summary of a clustering.

    Args:
        labels: int [N] cluster labels, -1 outliers.
        modality: [N] 0 visible / 1 infrared.
        true_ids: optional [N] ground-truth identities.

    Returns:
        dict with n_samples, n_clusters, outlier_rate, mixed_cluster_fraction (clusters holding
        both modalities / clusters), size_histogram ({cluster size: number of clusters}); with
        true_ids also ari and nmi (scikit-learn; every outlier counted as its own singleton cluster),
        single_modality_ceiling_ari (:func:`single_modality_ceiling_ari` on these rows),
        pair_precision / pair_recall (over clustered same-cluster pairs vs same-identity pairs) and
        cross_modality_pair_precision / cross_modality_pair_recall (the same on visible-infrared
        pairs only). Undefined ratios are NaN.
    """
    labels = np.asarray(labels).astype(np.int64)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    n = labels.shape[0]
    mods = as_modality_array(modality, n)
    clustered = labels >= 0
    cluster_ids, sizes = np.unique(labels[clustered], return_counts=True)
    vis_count = np.bincount(labels[clustered & (mods == 0)], minlength=labels.max(initial=-1) + 1)
    ir_count = np.bincount(labels[clustered & (mods == 1)], minlength=labels.max(initial=-1) + 1)
    mixed = int(np.count_nonzero((vis_count[cluster_ids] > 0) & (ir_count[cluster_ids] > 0)))
    size_values, size_freq = np.unique(sizes, return_counts=True)
    report: dict[str, Any] = {
        "n_samples": int(n),
        "n_clusters": int(cluster_ids.size),
        "outlier_rate": float(np.mean(~clustered)) if n else float("nan"),
        "mixed_cluster_fraction": mixed / cluster_ids.size if cluster_ids.size else float("nan"),
        "size_histogram": {int(s): int(c) for s, c in zip(size_values, size_freq, strict=True)},
    }
    if true_ids is None:
        return report
    truth = np.asarray(true_ids)
    if truth.shape != (n,):
        raise ValueError(f"true_ids must have shape ({n},), got {truth.shape}")
    predicted = _labels_with_singleton_noise(labels)
    report["ari"] = float(adjusted_rand_score(truth, predicted))
    report["nmi"] = float(normalized_mutual_info_score(truth, predicted))
    report["single_modality_ceiling_ari"] = single_modality_ceiling_ari(truth, mods)
    report.update(_pair_scores(labels, truth, mods))
    return report


def _pair_counts(group_a: np.ndarray, group_b: np.ndarray, mask_a: np.ndarray, mask_b: np.ndarray) -> int:
    """Pairs (i in A-rows, j in B-rows) with equal keys, counting A x B products per key."""
    keys_a, count_a = np.unique(group_a[mask_a], return_counts=True)
    keys_b, count_b = np.unique(group_b[mask_b], return_counts=True)
    common, ia, ib = np.intersect1d(keys_a, keys_b, return_indices=True)
    return int(np.sum(count_a[ia].astype(np.int64) * count_b[ib]))


def _pair_scores(labels: np.ndarray, truth: np.ndarray, mods: np.ndarray) -> dict[str, float]:
    _, truth_codes = np.unique(truth, return_inverse=True)
    clustered = labels >= 0
    width = int(truth_codes.max()) + 1
    joint = labels * width + truth_codes  # same cluster and same identity
    out = {}
    for name, mask_a, mask_b in (("", np.ones_like(clustered), None), ("cross_modality_", mods == 0, mods == 1)):
        if mask_b is None:  # unordered pairs within one set

            def pairs(keys: np.ndarray, mask: np.ndarray) -> int:
                _, counts = np.unique(keys[mask], return_counts=True)
                return int(np.sum(counts.astype(np.int64) * (counts - 1) // 2))

            predicted = pairs(labels, clustered)
            true_pairs = pairs(truth_codes, mask_a)
            hits = pairs(joint, clustered)
        else:
            predicted = _pair_counts(labels, labels, clustered & mask_a, clustered & mask_b)
            true_pairs = _pair_counts(truth_codes, truth_codes, mask_a, mask_b)
            hits = _pair_counts(joint, joint, clustered & mask_a, clustered & mask_b)
        out[f"{name}pair_precision"] = hits / predicted if predicted else float("nan")
        out[f"{name}pair_recall"] = hits / true_pairs if true_pairs else float("nan")
    return out


def knn_modality_composition(
    features: Any, modality: Any, ks: tuple[int, ...] = (1, 5, 10, 20), *, block_size: int = 1024
) -> dict[str, Any]:
    """How often a sample's nearest neighbours (inner product, self excluded) are of the other modality.

    Returns:
        {"visible": {k: fraction}, "infrared": {k: fraction}, "chance": {"visible": p, "infrared": p}}
        where fraction is the mean share of other-modality samples among the k nearest neighbours of
        the queries of that modality, and chance is that share under random neighbours
        (other-modality count / (N - 1)). A modality without samples is absent.
    """
    feats = as_feature_matrix(features)
    n = feats.shape[0]
    mods = as_modality_array(modality, n)
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1 or max(ks) > n - 1:
        raise ValueError(f"ks must be integers in [1, N-1 = {n - 1}], got {ks}")
    exact = KnnConfig(block_size=block_size, screen="off")  # a diagnostic: always the plain float32 search
    ((_, ids),) = nearest_neighbours(feats, [0, n], [max(ks) + 1], metric="ip", knn=exact)
    not_self = ids != np.arange(n)[:, None]
    # drop self (or, with duplicates, the last entry) so that every row keeps max(ks) neighbours
    first_self = np.where(not_self.all(axis=1), ids.shape[1] - 1, np.argmin(not_self, axis=1))
    keep = np.ones_like(not_self)
    keep[np.arange(n), first_self] = False
    neighbours = ids[keep].reshape(n, max(ks))
    other = mods[neighbours] != mods[:, None]
    result: dict[str, Any] = {"chance": {}}
    for value, name in ((0, "visible"), (1, "infrared")):
        rows = mods == value
        if not rows.any():
            continue
        result[name] = {k: float(other[rows, :k].mean()) for k in ks}
        result["chance"][name] = float(np.count_nonzero(mods != value) / (n - 1))
    return result


def modality_gap(features: Any, modality: Any, true_ids: Any = None) -> dict[str, float]:
    """Mean cross-modality minus mean intra-modality distance, d = 2 - 2<f_i, f_j> (self pairs excluded).

    Computed from per-modality feature sums, O(N·D). With true_ids the same is reported separately
    for same-identity and different-identity pairs (O(N·D) per identity group).

    Returns:
        {"intra": mean intra-modality distance, "cross": mean cross-modality distance,
         "gap": cross - intra} and, with ids, also "intra_same_id", "cross_same_id", "gap_same_id",
        "intra_diff_id", "cross_diff_id", "gap_diff_id" (NaN where there are no such pairs).
    """
    feats = as_feature_matrix(features).astype(np.float64)
    n = feats.shape[0]
    mods = as_modality_array(modality, n)

    def sums(rows: np.ndarray) -> tuple[np.ndarray, float, int]:
        block = feats[rows]
        return block.sum(axis=0), float(np.einsum("nd,nd->", block, block)), block.shape[0]

    def mean_distances(groups: list[np.ndarray]) -> tuple[float, float, float, float]:
        """(sum of intra sims, intra pair count, sum of cross sims, cross pair count) over groups."""
        intra_sim = intra_pairs = cross_sim = cross_pairs = 0.0
        for rows in groups:
            (s0, q0, n0), (s1, q1, n1) = sums(rows & (mods == 0)), sums(rows & (mods == 1))
            intra_sim += (s0 @ s0 - q0) + (s1 @ s1 - q1)
            intra_pairs += n0 * (n0 - 1) + n1 * (n1 - 1)
            cross_sim += 2 * (s0 @ s1)
            cross_pairs += 2 * n0 * n1
        return intra_sim, intra_pairs, cross_sim, cross_pairs

    def to_distances(intra_sim: float, intra_pairs: float, cross_sim: float, cross_pairs: float) -> tuple[float, float]:
        intra = float(2 - 2 * intra_sim / intra_pairs) if intra_pairs else float("nan")
        cross = float(2 - 2 * cross_sim / cross_pairs) if cross_pairs else float("nan")
        return intra, cross

    everything = mean_distances([np.ones(n, bool)])
    intra, cross = to_distances(*everything)
    result = {"intra": intra, "cross": cross, "gap": cross - intra}
    if true_ids is None:
        return result
    truth = np.asarray(true_ids)
    if truth.shape != (n,):
        raise ValueError(f"true_ids must have shape ({n},), got {truth.shape}")
    same = mean_distances([truth == t for t in np.unique(truth)])
    diff = tuple(a - b for a, b in zip(everything, same, strict=True))
    for suffix, parts in (("same_id", same), ("diff_id", diff)):
        intra_s, cross_s = to_distances(*parts)
        result[f"intra_{suffix}"], result[f"cross_{suffix}"] = intra_s, cross_s
        result[f"gap_{suffix}"] = cross_s - intra_s
    return result
