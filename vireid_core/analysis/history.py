"""A training history read at three points, for the sentences a notebook writes about it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

HISTORY_KEYS = (
    "ari_vis",
    "ari_ir",
    "clusters_vis",
    "clusters_ir",
    "global_ari",
    "global_mixed_fraction",
    "global_cross_modality_pair_precision",
    "global_cross_modality_pair_recall",
    "global_single_modality_ceiling_ari",
    "loss_intra",
    "loss_global",
)


def history_summary(history: Sequence[dict[str, Any]], keys: Sequence[str] = HISTORY_KEYS) -> dict[str, dict[str, Any]]:
    """Each key of a per-epoch history (:class:`~vireid_core.learning.callbacks.HistoryRecorder` records,
    or ``results.json``'s ``history``) at three points of the run.

    An epoch's association values (clusters, ARI, pair precision) are measured on the features the model
    has when that epoch *starts*. So the first epoch's values describe the starting model, and the first
    stage-2 epoch's values the model at the end of stage 1.

    Returns:
        ``{key: {"start": first epoch, "after stage 1": first stage-2 epoch, "last": last epoch,
        "stage 2 min": smallest value during stage 2, "stage 2 max": largest}}``; a value the history does
        not hold (no stage 2, a stage-2-only key in stage 1) is None.
    """
    stage2 = [r for r in history if r.get("stage") == 2]
    summary = {}
    for key in keys:
        values = [r.get(key) for r in stage2 if r.get(key) is not None]
        summary[key] = {
            "start": history[0].get(key) if history else None,
            "after stage 1": stage2[0].get(key) if stage2 else None,
            "last": history[-1].get(key) if history else None,
            "stage 2 min": min(values) if values else None,
            "stage 2 max": max(values) if values else None,
        }
    return summary
