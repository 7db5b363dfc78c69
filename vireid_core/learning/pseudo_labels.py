"""One epoch's association: features in, pseudo labels (intra per modality, global) out.

This is the "associate" arrow of the flow (docs/architecture.md): subset split of the visible set,
standard Jaccard + DBSCAN inside each modality, and in stage 2 the global clustering over
[visible subset 1; all infrared] with the method ``global_clustering.method`` names (a registry,
:mod:`vireid_core.association.global_methods`: the modality-aware Jaccard, or the plain one of the
ablation). True identities are only used for the diagnostics dictionary, never for the labels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from vireid_core.association import (
    cluster_dbscan,
    clustering_report,
    feasible_k,
    global_association,
    jaccard_distance,
    split_subsets,
)
from vireid_core.association.search import KnnConfig
from vireid_core.config import GlobalClusteringConfig, IntraClusteringConfig
from vireid_core.data.records import INFRARED, VISIBLE


@dataclass
class EpochLabels:
    """Pseudo labels of one epoch, all indexed by rows of the training list.

    Attributes:
        intra: int64[N] intra-modality cluster ids, −1 for outliers and for visible rows outside
            subset 0. Infrared and visible ids are separate label spaces (both start at 0).
        global_labels: int64[N] global cluster ids (stage 2), −1 for outliers and rows not in the
            global set; None in stage 1 or when global association is off.
        report: diagnostics (cluster counts, outliers, ARI/NMI and mixing when true ids are given,
            seconds spent).
    """

    intra: np.ndarray
    global_labels: np.ndarray | None
    report: dict[str, Any] = field(default_factory=dict)


def _safe_cluster(dist, eps: float, min_samples: int, n: int) -> np.ndarray:
    """DBSCAN labels int64 [n]; all outliers (-1) when there are fewer rows than a core point needs."""
    if n < max(min_samples, 2):
        return np.full(n, -1, dtype=np.int64)
    return np.asarray(cluster_dbscan(dist, eps=eps, min_samples=min_samples), dtype=np.int64)


def _intra_labels(features: np.ndarray, cfg: IntraClusteringConfig, eps: float, knn: KnnConfig | None) -> np.ndarray:
    """Plain Jaccard + DBSCAN over the rows of one modality: int64 [n] labels, -1 for outliers."""
    n = len(features)
    sizes = feasible_k(cfg.k1, cfg.k2, [n], per_modality=False)
    if sizes is None:  # too few rows for a k-reciprocal neighbour: nothing to cluster
        return np.full(n, -1, dtype=np.int64)
    k1, k2 = sizes
    dist = jaccard_distance(features, k1=k1, k2=k2, knn=knn)
    return _safe_cluster(dist, eps, cfg.min_samples, n)


def associate(
    features: np.ndarray,
    modality: np.ndarray,
    intra_cfg: IntraClusteringConfig,
    global_cfg: GlobalClusteringConfig,
    *,
    stage: int,
    seed: int,
    knn: KnnConfig | None = None,
    true_ids: np.ndarray | None = None,
    progress: bool = False,
) -> EpochLabels:
    """Cluster one epoch's features.

    Args:
        features: float32[N, D] clustering features (flip-averaged, not re-normalised).
        modality: int[N] 0 visible / 1 infrared, any order.
        intra_cfg: the per-modality clustering (the run config's ``intra_clustering``, with the visible
            subsets' ``subset_ratio``).
        global_cfg: stage 2's clustering across modalities (``global_clustering``).
        stage: 1 (intra only) or 2 (intra + global).
        seed: seeds the visible subset split (BMIL's subset clustering).
        knn: the neighbour search under both clusterings (``neighbours``); None = the default search.
        true_ids: int[N] ground-truth ids for diagnostics only, or None.
        progress: show a tqdm bar over the clustering steps.

    Returns:
        :class:`EpochLabels` over the N rows.

    Raises:
        UserError: if ``global_cfg.method`` names no registered method (checked in both stages).
    """
    features = np.ascontiguousarray(features, dtype=np.float32)
    modality = np.asarray(modality)
    n = len(features)
    vis_rows = np.flatnonzero(modality == VISIBLE)
    ir_rows = np.flatnonzero(modality == INFRARED)
    report: dict[str, Any] = {}
    started = time.perf_counter()
    method = global_association(global_cfg.method)  # None: no global step ("none")

    # Subset clustering: the visible rows are split in two random halves (seeded per epoch). Subset
    # 0 is clustered inside the visible modality, subset 1 joins the infrared rows in the global
    # step, so no visible row takes part in both.
    if intra_cfg.subset_ratio is not None:
        sub0, sub1 = split_subsets(len(vis_rows), intra_cfg.subset_ratio, seed)
        vis_intra, vis_global = vis_rows[np.asarray(sub0)], vis_rows[np.asarray(sub1)]
    else:
        vis_intra = vis_global = vis_rows

    with_global = stage == 2 and method is not None
    bar = tqdm(total=3 if with_global else 2, desc="clustering", disable=not progress, leave=False)

    # Intra-modality pseudo labels: plain Jaccard + DBSCAN inside each modality, with its own eps.
    # The two label spaces are separate (both start at 0); -1 marks outliers and unclustered rows.
    intra = np.full(n, -1, dtype=np.int64)
    bar.set_postfix_str("infrared")
    intra[ir_rows] = _intra_labels(features[ir_rows], intra_cfg, intra_cfg.eps_infrared, knn)
    bar.update()
    bar.set_postfix_str("visible subset")
    intra[vis_intra] = _intra_labels(features[vis_intra], intra_cfg, intra_cfg.eps_visible, knn)
    bar.update()
    for name, rows in (("ir", ir_rows), ("vis", vis_intra)):
        labels = intra[rows]
        report[f"clusters_{name}"] = int(len(set(labels.tolist()) - {-1}))
        report[f"outliers_{name}"] = int((labels == -1).sum())
        report[f"clustered_rows_{name}"] = int(len(rows))
        if true_ids is not None and len(rows):
            rep = clustering_report(labels, modality[rows], true_ids[rows])
            report[f"ari_{name}"] = float(rep["ari"])
    report["seconds_intra"] = time.perf_counter() - started

    global_labels = None
    if with_global:
        # Global (cross-modality) pseudo labels over [visible subset 1; all infrared]: the registered
        # distance, then one DBSCAN whose clusters may hold both modalities.
        bar.set_postfix_str(f"global ({method.name})")
        started = time.perf_counter()
        rows = np.concatenate([vis_global, ir_rows])
        sub_features, sub_modality = features[rows], modality[rows]
        # k1/k2 lowered to what this set allows (MAJ: at most twice the smaller modality); a set too
        # small for any k-reciprocal neighbour gives no global cluster, like the intra step
        sizes = feasible_k(
            global_cfg.k1, global_cfg.k2, [len(vis_global), len(ir_rows)], per_modality=method.per_modality
        )
        if sizes is None:
            sub_labels = np.full(len(rows), -1, dtype=np.int64)
        else:
            dist = method.distance(
                sub_features,
                sub_modality,
                k1=sizes[0],
                k2=sizes[1],
                balanced_halves=global_cfg.balanced_halves,
                knn=knn,
            )
            sub_labels = _safe_cluster(dist, global_cfg.eps, global_cfg.min_samples, len(rows))
        global_labels = np.full(n, -1, dtype=np.int64)
        global_labels[rows] = sub_labels
        # diagnostics only: true ids never reach the labels
        rep = clustering_report(sub_labels, sub_modality, None if true_ids is None else true_ids[rows])
        report["clusters_global"] = int(rep["n_clusters"])
        report["outliers_global"] = int((sub_labels == -1).sum())
        report["global_mixed_fraction"] = float(rep["mixed_cluster_fraction"])
        for key in (
            "ari",
            "nmi",
            "cross_modality_pair_precision",
            "cross_modality_pair_recall",
            "single_modality_ceiling_ari",
        ):
            if rep.get(key) is not None:
                report[f"global_{key}"] = float(rep[key])
        report["seconds_global"] = time.perf_counter() - started
        bar.update()
    bar.close()
    return EpochLabels(intra=intra, global_labels=global_labels, report=report)
