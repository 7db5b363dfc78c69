"""What the baseline ladder measures on a fixed model besides retrieval: the bias and its clustering.

* :func:`other_modality_share`: the mean share of other-modality images among each test image's 10
  nearest neighbours (query and gallery-candidate images together, cosine on the evaluation features).
  Chance is about 0.5 on SYSU-like sets; a strongly modality-biased model scores near 0.
* :func:`training_clustering`: plain Jaccard + DBSCAN and modality-aware Jaccard + DBSCAN of the whole
  training set with the preset's global k1/k2/eps (:func:`vireid_core.learning.pseudo_labels.associate`,
  exactly the association of stage 2 without subsets): how many clusters hold both modalities, and
  how pure their visible-infrared pairs are.

Ground-truth ids are read for diagnostics only, as in the engine's logs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vireid_core.association import knn_modality_composition
from vireid_core.compute import plan_for_config
from vireid_core.config import RunConfig
from vireid_core.data.dataset import ReIDDataset
from vireid_core.data.records import INFRARED, VISIBLE
from vireid_core.data.tensor_transforms import cluster_pipeline, test_pipeline
from vireid_core.evaluation import extract_features
from vireid_core.learning.pseudo_labels import associate
from vireid_core.learning.setup import resolve_device
from vireid_core.run_dir import RunDir
from vireid_core.workflow import load_model

NEIGHBOURS = 10
SHARE = f"test_other_modality_share_{NEIGHBOURS}nn"


def _features(
    model: torch.nn.Module,
    samples: list,
    pipeline: Callable[[int, int], Any],
    config: RunConfig,
    progress: bool,
    description: str,
    *,
    renormalise: bool,
) -> np.ndarray:
    """Flip-averaged features of ``samples`` through ``pipeline`` at the config's image size, on its
    device and with its compute plan."""
    device = resolve_device(config.device)
    return extract_features(
        model,
        samples,
        pipeline(config.data.height, config.data.width),
        device=device,
        flip=True,
        renormalise=renormalise,
        progress=progress,
        plan=plan_for_config(config, device),
        description=description,
    )


def other_modality_share(
    model: torch.nn.Module, dataset: ReIDDataset, config: RunConfig, *, progress: bool = False
) -> dict[str, float]:
    """Other-modality share of the 10 nearest neighbours of every test image (self excluded).

    Features are the evaluation features (test pipeline, flip-averaged, unit length), so the inner
    product is the cosine the protocol ranks by. Returns ``{SHARE: mean over all test images,
    SHARE_visible / SHARE_infrared: mean over that modality's images, SHARE_chance: the same mean
    under random neighbours}`` (fractions).
    """
    samples = list(dataset.query) + list(dataset.gallery_candidates)
    features = _features(model, samples, test_pipeline, config, progress, "test images (10-NN)", renormalise=True)
    modality = np.array([s.modality for s in samples], dtype=np.int64)
    composition = knn_modality_composition(features, modality, ks=(NEIGHBOURS,))
    counts = {"visible": int((modality == VISIBLE).sum()), "infrared": int((modality == INFRARED).sum())}
    present = [name for name in counts if counts[name]]
    total = sum(counts[name] for name in present)
    out = {
        SHARE: sum(counts[n] * composition[n][NEIGHBOURS] for n in present) / total,
        f"{SHARE}_chance": sum(counts[n] * composition["chance"][n] for n in present) / total,
    }
    for name in present:
        out[f"{SHARE}_{name}"] = composition[name][NEIGHBOURS]
    return out


def training_clustering(
    model: torch.nn.Module, dataset: ReIDDataset, config: RunConfig, *, progress: bool = False
) -> dict[str, float]:
    """Global clustering of the whole training set with plain and with modality-aware Jaccard.

    Clustering features as in the engine (cluster pipeline, flip-averaged, not re-normalised); the
    preset's ``global_clustering`` (k1, k2, eps, min_samples) and ``neighbours``, no visible subsets.

    Returns, for prefix ``plain_jaccard`` and ``modality_aware_jaccard``: ``<prefix>_mixed_fraction``
    (share of clusters holding both modalities), ``<prefix>_clusters``, ``<prefix>_outlier_fraction``,
    ``<prefix>_ari``, ``<prefix>_cross_modality_pair_precision`` / ``_recall`` (NaN where undefined);
    and ``intra_ari_infrared`` / ``intra_ari_visible`` of the per-modality clusterings (``intra_clustering``).
    """
    samples = list(dataset.train)
    features = _features(model, samples, cluster_pipeline, config, progress, "training images", renormalise=False)
    modality = np.array([s.modality for s in samples], dtype=np.int64)
    true_ids = np.array([s.pid for s in samples], dtype=np.int64)
    out: dict[str, float] = {}
    intra = dataclasses.replace(config.intra_clustering, subset_ratio=None)
    for prefix, association in (("plain_jaccard", "plain"), ("modality_aware_jaccard", "modality_aware")):
        global_ = dataclasses.replace(config.global_clustering, method=association)
        report = associate(
            features, modality, intra, global_, knn=config.neighbours, stage=2, seed=config.seed, true_ids=true_ids
        ).report
        out[f"{prefix}_mixed_fraction"] = report["global_mixed_fraction"]
        out[f"{prefix}_clusters"] = float(report["clusters_global"])
        out[f"{prefix}_outlier_fraction"] = report["outliers_global"] / len(samples)
        for key in ("ari", "cross_modality_pair_precision", "cross_modality_pair_recall"):
            out[f"{prefix}_{key}"] = report.get(f"global_{key}", float("nan"))
        if association == "plain":
            out["intra_ari_infrared"] = report.get("ari_ir", float("nan"))
            out["intra_ari_visible"] = report.get("ari_vis", float("nan"))
    return out


def final_weights_path(run_dir: str | Path, config: RunConfig) -> Path | None:
    """The checkpoint a finished training run's final evaluation used, or None when it is not there.

    Mirrors the final evaluation of :func:`vireid_core.runs.train_run`: the last trained stage,
    ``best_stage<n>.pt`` when ``schedule.checkpoint_selection`` is ``best`` and the file exists, else
    ``stage<n>_last.pt``.
    (Committed result folders keep no weights: there the answer is None.)
    """
    run = RunDir(run_dir)
    s = config.schedule
    if not s.stage1.epochs and not s.stage2.epochs:
        return None
    stage = 2 if s.stage2.epochs else 1
    if s.checkpoint_selection == "best" and run.best(stage).is_file():
        return run.best(stage)
    return run.stage_last(stage) if run.stage_last(stage).is_file() else None


def load_final_model(run_dir: str | Path, config: RunConfig) -> torch.nn.Module | None:
    """The model of :func:`final_weights_path` (built from ``config`` without loading ImageNet weights;
    eval mode, CPU), or None when the run folder keeps no such checkpoint."""
    path = final_weights_path(run_dir, config)
    return None if path is None else load_model(config, path)
