"""Features for the notebooks: a seeded identity subset, extraction, 2-D embeddings, split prototypes
and retrieval lists."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from vireid_core.analysis.notebook_parameters import whole_number
from vireid_core.data.dataset import ReIDDataset
from vireid_core.data.records import Sample
from vireid_core.data.tensor_transforms import cluster_pipeline
from vireid_core.evaluation import extract_features


def identity_subset(
    samples: Sequence[Sample], n_ids: int, seed: int = 0, *, max_per_modality: int | None = None
) -> np.ndarray:
    """Row ids of ``samples`` belonging to ``n_ids`` identities drawn with ``seed`` (sorted int64 [M]).

    With ``max_per_modality`` each chosen identity keeps at most that many images per modality (the
    first ones in list order). All identities are kept when ``n_ids`` exceeds their number.
    """
    n_ids = whole_number("n_ids", n_ids, minimum=1)
    pids = np.array([s.pid for s in samples])
    mods = np.array([s.modality for s in samples])
    unique = np.unique(pids)
    chosen = np.sort(np.random.default_rng(seed).permutation(unique)[:n_ids])
    rows = []
    for pid in chosen:
        for m in (0, 1):
            members = np.flatnonzero((pids == pid) & (mods == m))
            rows.append(members if max_per_modality is None else members[:max_per_modality])
    return np.sort(np.concatenate(rows)).astype(np.int64)


def with_training_subset(dataset: ReIDDataset, n_ids: int, seed: int = 0) -> ReIDDataset:
    """A copy of ``dataset`` whose training set holds only ``n_ids`` of its identities (drawn with
    ``seed``, all their images); query and gallery unchanged. For live runs that must finish in minutes."""
    rows = identity_subset(dataset.train, n_ids, seed)
    return dataclasses.replace(dataset, train=[dataset.train[i] for i in rows])


def labels_of(samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(modality, pid, cam)`` int64 arrays [N] of ``samples``."""
    return (
        np.array([s.modality for s in samples], dtype=np.int64),
        np.array([s.pid for s in samples], dtype=np.int64),
        np.array([s.cam for s in samples], dtype=np.int64),
    )


def clustering_features(
    model: torch.nn.Module, samples: Sequence[Sample], height: int, width: int, *, progress: bool = False
) -> np.ndarray:
    """What the engine clusters (docs/method.md §8, "Features"): flip-averaged eval-mode features of ``samples``,
    not re-normalised; float32 [N, D]."""
    model.eval()
    return extract_features(model, list(samples), cluster_pipeline(height, width), renormalise=False, progress=progress)


def umap_embedding(
    features: Any,
    *,
    seed: int = 0,
    n_neighbors: int = 15,
    n_epochs: int = 200,
    min_dist: float = 0.3,
    max_points: int = 4096,
) -> np.ndarray:
    """A 2-D UMAP embedding (cosine metric) of ``features``: float32 [N, 2]; seeded, single-threaded.

    Refuses more than ``max_points`` rows (numba compilation plus the fit must stay within a
    notebook's time budget; subsample first).
    """
    import umap

    feats = np.asarray(features, dtype=np.float32)
    if len(feats) > max_points:
        raise ValueError(
            f"umap_embedding got {len(feats)} points, more than max_points={max_points}; "
            "subsample (identity_subset) first"
        )
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=min(n_neighbors, len(feats) - 1),
        min_dist=min_dist,
        metric="cosine",
        random_state=seed,
        n_epochs=n_epochs,
        n_jobs=1,
    )
    return reducer.fit_transform(feats).astype(np.float32)


def pca_2d(features: Any) -> np.ndarray:
    """Project rows onto their first two principal components: float32 [N, 2] (deterministic sign)."""
    feats = np.asarray(features, dtype=np.float64)
    centred = feats - feats.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2] * np.sign(vt[:2, :1] + 1e-12)
    return (centred @ axes.T).astype(np.float32)


def split_prototypes(features: Any, labels: Any, modality: Any) -> dict[str, np.ndarray]:
    """Split-and-contrast prototypes (docs/method.md §6): per cluster, the mean feature of its visible
    and of its infrared members.

    Returns ``{"prototypes": float32 [P, D] (unit rows), "cluster": int64 [P], "modality": int64 [P]}``
    in cluster order, visible before infrared; outliers (−1) get none.
    """
    feats = np.asarray(features, dtype=np.float32)
    labels, mods = np.asarray(labels), np.asarray(modality)
    if not (len(feats) == len(labels) == len(mods)):
        raise ValueError(
            f"features, labels and modality need equal lengths, got {len(feats)}, {len(labels)}, {len(mods)}"
        )
    protos, clusters, modalities = [], [], []
    for cluster in np.unique(labels[labels >= 0]):
        for m in (0, 1):
            members = (labels == cluster) & (mods == m)
            if members.any():
                mean = feats[members].mean(axis=0)
                protos.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
                clusters.append(cluster)
                modalities.append(m)
    dim = feats.shape[1] if feats.ndim == 2 else 0
    return {
        "prototypes": np.array(protos, dtype=np.float32).reshape(-1, dim),
        "cluster": np.array(clusters, dtype=np.int64),
        "modality": np.array(modalities, dtype=np.int64),
    }


def top_matches(
    query_features: Any, gallery_features: Any, query_pids: Any, gallery_pids: Any, k: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar gallery rows of every query (inner product, ties by lower index).

    Returns ``(ranked ids int64 [Q, k], correct bool [Q, k])`` where correct marks a same-identity match.
    """
    q, g = np.asarray(query_features, np.float32), np.asarray(gallery_features, np.float32)
    k = min(k, g.shape[0])
    sims = q @ g.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    correct = np.asarray(gallery_pids)[order] == np.asarray(query_pids)[:, None]
    return order.astype(np.int64), correct


def prototype_pair_similarity(prototypes: dict[str, np.ndarray]) -> dict[int, float]:
    """Cosine similarity of the visible and infrared prototype of every mixed cluster
    (:func:`split_prototypes` output): ``{cluster: cos}`` — what the multi-positive loss raises."""
    out = {}
    protos, clusters, mods = prototypes["prototypes"], prototypes["cluster"], prototypes["modality"]
    for cluster in np.unique(clusters):
        vis = np.flatnonzero((clusters == cluster) & (mods == 0))
        ir = np.flatnonzero((clusters == cluster) & (mods == 1))
        if len(vis) and len(ir):
            out[int(cluster)] = float(protos[vis[0]] @ protos[ir[0]])
    return out


def largest_mixed_clusters(labels: Any, modality: Any, count: int = 4) -> list[int]:
    """The ``count`` largest clusters holding both modalities (ties by lower id), largest first."""
    labels, mods = np.asarray(labels), np.asarray(modality)
    ids, sizes = np.unique(labels[labels >= 0], return_counts=True)
    mixed = [
        (int(-s), int(c))
        for c, s in zip(ids, sizes, strict=True)
        if np.any((labels == c) & (mods == 0)) and np.any((labels == c) & (mods == 1))
    ]
    return [c for _, c in sorted(mixed)[:count]]


def images_per_person(modality: Any, true_ids: Any) -> dict[str, int]:
    """How many images a person has in each modality: ``{"visible": median, "infrared": median}``
    over the identities present (k1 values are read against these: docs/method.md §3)."""
    mods, ids = np.asarray(modality), np.asarray(true_ids)
    out = {}
    for m, name in ((0, "visible"), (1, "infrared")):
        counts = np.unique(ids[mods == m], return_counts=True)[1]
        out[name] = int(np.median(counts)) if len(counts) else 0
    return out


def prototype_similarity_summary(prototypes: dict[str, np.ndarray]) -> dict[str, float | None]:
    """How alike the visible and infrared prototypes are (:func:`split_prototypes` output), with the value
    to read it against.

    Returns:
        ``{"same_cluster": mean cosine of each mixed cluster's own visible/infrared pair,
        "other_clusters": mean cosine between the visible prototype of one cluster and the infrared
        prototype of another}``; a value with no pair to average is None.
    """
    protos, clusters, mods = prototypes["prototypes"], prototypes["cluster"], prototypes["modality"]
    vis, ir = np.flatnonzero(mods == 0), np.flatnonzero(mods == 1)
    cos = protos[vis] @ protos[ir].T
    same = clusters[vis][:, None] == clusters[ir][None, :]
    return {
        "same_cluster": float(cos[same].mean()) if same.any() else None,
        "other_clusters": float(cos[~same].mean()) if (~same).any() else None,
    }
