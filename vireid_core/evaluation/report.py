"""Evaluation reports: per-trial rank results, their means, a JSON-able dict and a text table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vireid_core.evaluation.metrics import RankResult

REPORTED_RANKS = (1, 5, 10, 20)
DATASET_TITLES = {"sysu": "SYSU-MM01", "regdb": "RegDB", "llcm": "LLCM"}


@dataclass
class SettingResult:
    """All trials of one setting (e.g. SYSU all-search single-shot, or RegDB thermal→visible).

    Attributes:
        key: short name ("all", "indoor", "visible_to_thermal", "vis_to_ir", ...).
        label: human-readable description, printed in the table.
        rule: removal/CMC rule used by `rank_metrics`.
        trials: trial number of each run (SYSU/LLCM gallery seed, RegDB split; None if unknown).
        results: one `RankResult` per trial, same order as `trials`.
        gallery_sizes, query_sizes: images in each trial's gallery and query set.
    """

    key: str
    label: str
    rule: str
    trials: list[int | None]
    results: list[RankResult]
    gallery_sizes: list[int] = field(default_factory=list)
    query_sizes: list[int] = field(default_factory=list)

    @property
    def cmc(self) -> np.ndarray:
        """Mean CMC over trials, float64 [L] with L the shortest per-trial CMC length."""
        length = min(len(r.cmc) for r in self.results)
        return np.mean([r.cmc[:length] for r in self.results], axis=0)

    @property
    def mAP(self) -> float:
        """Mean over trials of the per-trial mAP, in [0, 1]."""
        return float(np.mean([r.mAP for r in self.results]))

    @property
    def mINP(self) -> float:
        """Mean over trials of the per-trial mINP, in [0, 1]."""
        return float(np.mean([r.mINP for r in self.results]))

    def rank(self, k: int) -> float | None:
        """Mean Rank-k accuracy in [0, 1], or None when the gallery has fewer than k images."""
        cmc = self.cmc
        return float(cmc[k - 1]) if 1 <= k <= len(cmc) else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: means (fractions in [0, 1]) and every per-trial value."""
        return {
            "key": self.key,
            "label": self.label,
            "rule": self.rule,
            "num_trials": len(self.results),
            **{f"rank{k}": self.rank(k) for k in REPORTED_RANKS},
            "mAP": self.mAP,
            "mINP": self.mINP,
            "cmc": self.cmc.tolist(),
            "per_trial": [
                {
                    "trial": t,
                    **{f"rank{k}": (r.rank(k) if k <= len(r.cmc) else None) for k in REPORTED_RANKS},
                    "mAP": r.mAP,
                    "mINP": r.mINP,
                    "valid_queries": r.num_valid,
                    "queries": int(len(r.valid)),
                    "gallery": (self.gallery_sizes[i] if i < len(self.gallery_sizes) else None),
                }
                for i, (t, r) in enumerate(zip(self.trials, self.results, strict=True))
            ],
        }


@dataclass
class EvaluationReport:
    """Results of one protocol run on one dataset.

    Attributes:
        dataset: dataset name; protocol: "sysu" | "regdb" | "llcm".
        checkpoint_selection: how the evaluated checkpoint was chosen (e.g. "last epoch",
            "best Rank-1 on the test set"), printed in the table header because it changes what the
            numbers mean.
        settings: one `SettingResult` per evaluated setting, in order.
        info: free-form facts (shots, image size, checkpoint path, ...), included in `to_dict`.
    """

    dataset: str
    protocol: str
    checkpoint_selection: str
    settings: list[SettingResult]
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> SettingResult:
        for setting in self.settings:
            if setting.key == key:
                return setting
        raise KeyError(f"no setting {key!r} in this report; have {[s.key for s in self.settings]}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict: dataset, protocol, checkpoint_selection, info and every setting's results."""
        return {
            "dataset": self.dataset,
            "protocol": self.protocol,
            "checkpoint_selection": self.checkpoint_selection,
            "info": dict(self.info),
            "settings": [s.to_dict() for s in self.settings],
        }

    def table(self) -> str:
        """Readable text table (percentages, mean over trials) with a header naming the checkpoint rule."""
        title = DATASET_TITLES.get(self.protocol, self.protocol)
        lines = [f"{self.dataset} — {title} protocol — checkpoint: {self.checkpoint_selection}"]
        width = max([len("setting")] + [len(s.label) for s in self.settings])
        columns = [f"R{k}" for k in REPORTED_RANKS] + ["mAP", "mINP"]
        queries = [f"{s.results[0].num_valid}/{len(s.results[0].valid)}" for s in self.settings]
        q_width = max([len("valid queries")] + [len(q) for q in queries])
        lines.append(
            f"{'setting':<{width}}  {'trials':>6}  "
            + "  ".join(f"{c:>6}" for c in columns)
            + f"  {'valid queries':>{q_width}}"
        )
        for s, valid in zip(self.settings, queries, strict=True):
            values = [s.rank(k) for k in REPORTED_RANKS] + [s.mAP, s.mINP]
            cells = "  ".join(f"{'-':>6}" if v is None else f"{100 * v:6.2f}" for v in values)
            lines.append(f"{s.label:<{width}}  {len(s.results):>6}  {cells}  {valid:>{q_width}}")
        lines.append(
            "Rank-k, mAP, mINP in %, mean over trials; valid queries (with a true match left) of the first trial."
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def merge_reports(reports: Sequence[EvaluationReport]) -> EvaluationReport:
    """One report whose settings pool the trials of several reports (e.g. RegDB splits 1..10).

    Every report must have the same protocol, checkpoint selection and setting keys; the result's
    means are over all pooled trials.
    """
    if not reports:
        raise ValueError("merge_reports: no reports given")
    first = reports[0]
    keys = [s.key for s in first.settings]
    for report in reports[1:]:
        if report.protocol != first.protocol or [s.key for s in report.settings] != keys:
            raise ValueError(
                f"merge_reports: reports differ (protocol {report.protocol!r} vs "
                f"{first.protocol!r}, settings {[s.key for s in report.settings]} vs {keys})"
            )
        if report.checkpoint_selection != first.checkpoint_selection:
            raise ValueError(
                "merge_reports: reports used different checkpoint selections "
                f"({report.checkpoint_selection!r} vs {first.checkpoint_selection!r})"
            )
    settings = []
    for index, key in enumerate(keys):
        parts = [r.settings[index] for r in reports]
        settings.append(
            SettingResult(
                key,
                parts[0].label,
                parts[0].rule,
                [t for p in parts for t in p.trials],
                [x for p in parts for x in p.results],
                [g for p in parts for g in p.gallery_sizes],
                [q for p in parts for q in p.query_sizes],
            )
        )
    return EvaluationReport(
        first.dataset,
        first.protocol,
        first.checkpoint_selection,
        settings,
        {**first.info, "merged_reports": len(reports)},
    )


def mean_metrics(report: EvaluationReport) -> dict[str, dict[str, float]]:
    """Setting key (e.g. ``"all"``, ``"indoor"``) → mean Rank-1/5/10/20, mAP, mINP (fractions)."""
    out: dict[str, dict[str, float]] = {}
    for setting in report.settings:
        metrics = {f"rank{k}": setting.rank(k) for k in (1, 5, 10, 20)}
        metrics.update(mAP=setting.mAP, mINP=setting.mINP)
        clean = {key: float(value) for key, value in metrics.items() if value is not None}
        if not all(math.isfinite(v) for v in clean.values()):
            raise ValueError(f"evaluation of {setting.key!r} returned non-finite metrics: {clean}")
        out[setting.key] = clean
    return out
