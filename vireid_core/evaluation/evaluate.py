"""Run a whole test protocol: from a model (`evaluate`) or from ready features (`evaluate_features`).

Distances are ``-(query_features @ gallery_features.T)`` (negative cosine of unit features), as in
every test script of the field. SYSU/LLCM query features are extracted once for all trials and only
the gallery images that some trial picks are extracted (each once); RegDB's two directions use one
distance matrix and its transpose, with labels in their true roles.

`evaluate_protocol` is the one place that decides which settings (SYSU search modes, RegDB/LLCM
directions) a model is evaluated in: the engine, the runs, the shipped models and the CLI all call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from vireid_core.compute import ComputePlan
from vireid_core.data.records import MODALITY_NAMES, Sample
from vireid_core.data.tensor_transforms import test_pipeline
from vireid_core.evaluation.extract import extract_features
from vireid_core.evaluation.metrics import rank_metrics
from vireid_core.evaluation.protocols import (
    DEFAULT_SYSU_TRIALS,
    LLCM_DEFAULT_DIRECTIONS,
    REGDB_DIRECTIONS,
    SettingPlan,
    plan_protocol,
)
from vireid_core.evaluation.report import EvaluationReport, SettingResult


def _dataset_lists(dataset: Any) -> tuple[list[Sample], list[Sample]]:
    for attribute in ("query", "gallery_candidates"):
        if not hasattr(dataset, attribute):
            raise TypeError(
                f"dataset must have .query and .gallery_candidates (a ReIDDataset), "
                f"missing .{attribute} on {type(dataset).__name__}"
            )
    return list(dataset.query), list(dataset.gallery_candidates)


def _resolve_protocol(dataset: Any, protocol: str | None) -> str:
    protocol = protocol or getattr(dataset, "protocol", None)
    if protocol not in ("sysu", "regdb", "llcm"):
        raise ValueError(f"protocol must be 'sysu', 'regdb' or 'llcm' (or set dataset.protocol), got {protocol!r}")
    return protocol


# The settings a protocol is reported in: SYSU all- and indoor-search, RegDB both directions, LLCM the two
# published directions. The first one is the setting tracked during training (best-checkpoint choice).
REPORTED_SETTINGS: dict[str, tuple[str, ...]] = {
    "sysu": ("all", "indoor"),
    "regdb": tuple(REGDB_DIRECTIONS),
    "llcm": tuple(LLCM_DEFAULT_DIRECTIONS),
}


def protocol_settings(protocol: str, settings: str | Sequence[str] | None = None) -> dict[str, list[str]]:
    """The :func:`evaluate` keyword (``mode`` for SYSU, ``direction`` otherwise) for ``settings``.

    ``settings``: None = every reported setting of the protocol (:data:`REPORTED_SETTINGS`);
    ``"tracked"`` = only the first of them (what the engine evaluates during training); a name or a
    list of names = those (checked by the protocol planner). Returns e.g. ``{"mode": ["all", "indoor"]}``.
    """
    if protocol not in REPORTED_SETTINGS:
        raise ValueError(f"protocol must be one of {', '.join(REPORTED_SETTINGS)}, got {protocol!r}")
    if settings is None:
        chosen = list(REPORTED_SETTINGS[protocol])
    elif settings == "tracked":
        chosen = [REPORTED_SETTINGS[protocol][0]]
    else:
        chosen = [settings] if isinstance(settings, str) else list(settings)
    return {"mode": chosen} if protocol == "sysu" else {"direction": chosen}


def _split_of(dataset: Any) -> int | None:
    info = getattr(dataset, "info", None) or {}
    trial = info.get("trial") if isinstance(info, dict) else None
    return int(trial) if trial is not None else None


def _plan(
    dataset: Any,
    protocol: str | None,
    mode: str | Iterable[str],
    shots: int,
    trials: Iterable[int],
    direction: str | Iterable[str] | None,
) -> tuple[str, list[SettingPlan]]:
    query, candidates = _dataset_lists(dataset)
    protocol = _resolve_protocol(dataset, protocol)
    plans = plan_protocol(
        query,
        candidates,
        protocol,
        mode=mode,
        shots=shots,
        trials=trials,
        direction=direction,
        split=_split_of(dataset),
    )
    return protocol, plans


def _run(
    dataset: Any,
    protocol: str,
    plans: list[SettingPlan],
    features: dict[str, np.ndarray],
    checkpoint_selection: str,
    max_rank: int,
    info: dict[str, Any],
) -> EvaluationReport:
    query, candidates = _dataset_lists(dataset)
    lists = {"query": query, "candidates": candidates}
    labels = {
        side: (np.array([s.pid for s in samples], dtype=np.int64), np.array([s.cam for s in samples], dtype=np.int64))
        for side, samples in lists.items()
    }
    distances: dict[tuple, np.ndarray] = {}
    settings = []
    for plan in plans:
        results, gallery_sizes, query_sizes = [], [], []
        for run in plan.trials:
            key = (run.query_side, run.query_index.tobytes(), run.gallery_side, run.gallery_index.tobytes())
            reverse = (key[2], key[3], key[0], key[1])
            if key in distances:
                distmat = distances[key]
            elif reverse in distances:  # e.g. RegDB thermal→visible from the visible→thermal matrix
                distmat = distances[reverse].T
            else:
                q_feat = features[run.query_side][run.query_index]
                g_feat = features[run.gallery_side][run.gallery_index]
                distmat = -(q_feat @ g_feat.T)
                distances = {key: distmat}  # keep only the latest matrix (enough for RegDB's transpose)
            q_pids, q_cams = (a[run.query_index] for a in labels[run.query_side])
            g_pids, g_cams = (a[run.gallery_index] for a in labels[run.gallery_side])
            results.append(rank_metrics(distmat, q_pids, g_pids, q_cams, g_cams, rule=plan.rule, max_rank=max_rank))
            gallery_sizes.append(len(run.gallery_index))
            query_sizes.append(len(run.query_index))
        settings.append(
            SettingResult(
                plan.key, plan.label, plan.rule, [r.trial for r in plan.trials], results, gallery_sizes, query_sizes
            )
        )
    name = str(getattr(dataset, "name", protocol))
    return EvaluationReport(name, protocol, checkpoint_selection, settings, info)


def _check_features(features: np.ndarray, samples: list[Sample], what: str) -> np.ndarray:
    array = np.asarray(features, dtype=np.float32)
    if array.ndim != 2 or len(array) != len(samples):
        raise ValueError(
            f"{what} must have shape [{len(samples)}, D] (one row per dataset.{what.split()[0]} "
            f"sample), got {array.shape}"
        )
    return array


def evaluate_features(
    dataset: Any,
    query_features: np.ndarray,
    candidate_features: np.ndarray,
    *,
    protocol: str | None = None,
    mode: str | Iterable[str] = "all",
    shots: int = 1,
    trials: Iterable[int] = DEFAULT_SYSU_TRIALS,
    direction: str | Iterable[str] | None = None,
    checkpoint_selection: str = "last epoch",
    max_rank: int = 20,
) -> EvaluationReport:
    """Run a protocol from features that are already extracted (engine, notebooks).

    Args:
        dataset: a `ReIDDataset` (uses ``.query``, ``.gallery_candidates``, ``.protocol``, ``.name``,
            ``.info["trial"]`` for RegDB).
        query_features: [len(dataset.query), D] unit-norm features, rows in ``dataset.query`` order.
        candidate_features: [len(dataset.gallery_candidates), D], rows in that list's order. Rows no
            trial uses may hold anything (NaN rows that do get used raise a ValueError).
        protocol, mode, shots, trials, direction, max_rank: as in `evaluate`.
        checkpoint_selection: how the checkpoint was chosen; printed in the report header.

    Returns:
        EvaluationReport (per-trial `RankResult`s, means, ``to_dict()``, ``table()``).
    """
    query, candidates = _dataset_lists(dataset)
    features = {
        "query": _check_features(query_features, query, "query features"),
        "candidates": _check_features(candidate_features, candidates, "gallery_candidates features"),
    }
    protocol, plans = _plan(dataset, protocol, mode, shots, trials, direction)
    info = {"shots": shots, "source": "features"}
    return _run(dataset, protocol, plans, features, checkpoint_selection, max_rank, info)


def evaluate(
    model: nn.Module,
    dataset: Any,
    protocol: str | None = None,
    *,
    mode: str | Iterable[str] = "all",
    shots: int = 1,
    trials: Iterable[int] = DEFAULT_SYSU_TRIALS,
    direction: str | Iterable[str] | None = None,
    height: int = 288,
    width: int = 144,
    batch_size: int = 128,
    device: str | torch.device | None = None,
    checkpoint_selection: str = "last epoch",
    progress: bool = True,
    num_workers: int = 0,
    max_rank: int = 20,
    plan: ComputePlan | None = None,
) -> EvaluationReport:
    """Evaluate `model` on the test protocol of `dataset`.

    Args:
        model: ``model(images, modality) -> [B, D]`` (eval mode gives unit-norm features).
        dataset: a `ReIDDataset` from `vireid_core.data.load_dataset`.
        protocol: "sysu", "regdb" or "llcm"; None = ``dataset.protocol``.
        mode: SYSU search mode(s): "all", "indoor" or a list of both.
        shots: SYSU/LLCM gallery images per (identity, camera): 1 (single-shot) or 10 (multi-shot).
        trials: SYSU/LLCM gallery-sampling seeds (default 0..9). RegDB evaluates the dataset's own
            split (one model per split; pool splits with `merge_reports`).
        direction: RegDB "visible_to_thermal"/"thermal_to_visible" (default both); LLCM "ir_to_vis",
            "vis_to_ir" (DEEN-compatible, as published) or "vis_to_ir_natural" (default: the first two).
        height, width: test image size (pixels) for `test_pipeline` (equal to `test_transform`).
        batch_size, device, num_workers, progress: feature extraction settings.
        checkpoint_selection: how the checkpoint was chosen ("last epoch", "best Rank-1 on test", ...).
        max_rank: CMC length.
        plan: autocast dtype and memory format of the extraction (None = the device's "auto" plan).

    Returns:
        EvaluationReport with one setting per mode/direction, per-trial results and their means.
    """
    protocol, plans = _plan(dataset, protocol, mode, shots, trials, direction)
    query, candidates = _dataset_lists(dataset)
    lists = {"query": query, "candidates": candidates}
    transform = test_pipeline(height, width)
    features: dict[str, np.ndarray] = {}
    for side, samples in lists.items():
        used = [r.query_index for p in plans for r in p.trials if r.query_side == side]
        used += [r.gallery_index for p in plans for r in p.trials if r.gallery_side == side]
        needed = np.unique(np.concatenate(used)) if used else np.zeros(0, dtype=np.int64)
        if len(needed) == 0:
            features[side] = np.zeros((len(samples), 1), dtype=np.float32)
            continue
        extracted = extract_features(
            model,
            [samples[i] for i in needed],
            transform,
            batch_size=batch_size,
            device=device,
            flip=True,
            renormalise=True,
            num_workers=num_workers,
            progress=progress,
            plan=plan,
            description=f"{protocol} {MODALITY_NAMES[samples[0].modality]} images",
        )
        full = np.full((len(samples), extracted.shape[1]), np.nan, dtype=np.float32)
        full[needed] = extracted
        features[side] = full
    info = {"shots": shots, "height": height, "width": width, "source": "model"}
    return _run(dataset, protocol, plans, features, checkpoint_selection, max_rank, info)


def evaluate_protocol(
    model: nn.Module,
    dataset: Any,
    settings: str | Sequence[str] | None = None,
    *,
    protocol: str | None = None,
    **kwargs: Any,
) -> EvaluationReport:
    """Evaluate ``model`` on ``dataset``'s protocol in the settings :func:`protocol_settings` chooses.

    Args:
        model, dataset: as in :func:`evaluate`.
        settings: None = every reported setting (SYSU all + indoor, RegDB and LLCM both directions),
            ``"tracked"`` = the first only, or the names of settings (e.g. ``"indoor"``, ``"thermal_to_visible"``).
        protocol: None = ``dataset.protocol``.
        **kwargs: the other :func:`evaluate` options (``shots``, ``trials``, ``height``, ``width``,
            ``device``, ``plan``, ``checkpoint_selection``, ``progress``, ``num_workers``, ...).

    Returns:
        the :class:`EvaluationReport`, one setting per chosen name in that order.
    """
    protocol = _resolve_protocol(dataset, protocol)
    return evaluate(model, dataset, protocol, **protocol_settings(protocol, settings), **kwargs)
