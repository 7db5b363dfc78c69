"""The paper's ablation M1–M6 (config.ABLATIONS) over seeds: runs, aggregation, table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vireid_core.config import ABLATIONS, get_preset
from vireid_core.learning.checkpoints import atomic_write_text

DESCRIPTIONS = {
    "M1": "intra-modality baseline (stage 1 only)",
    "M2": "+ naive global clustering (plain Jaccard)",
    "M3": "+ bias-mitigated global clustering (MAJ)",
    "M4": "+ subset clustering",
    "M5": "+ modality-invariance learning (split prototypes)",
    "M6": "full BMIL",
}


def _final_numbers(result: dict[str, Any]) -> dict[str, float]:
    """Flatten one run's results.json into metric name → value (percent for retrieval)."""
    evaluations = result["evaluations"]
    final = evaluations.get("stage 2") or evaluations.get("stage 1")
    out: dict[str, float] = {}
    for mode, metrics in final.items():
        for key in ("rank1", "mAP", "mINP"):
            out[f"{mode}_{key}"] = 100.0 * metrics[key]
    last_global = [r for r in result["history"] if r.get("clusters_global") is not None]
    if last_global:
        rec = last_global[-1]
        for key in ("global_ari", "global_mixed_fraction", "global_cross_modality_pair_precision",
                    "global_cross_modality_pair_recall", "global_single_modality_ceiling_ari"):
            if rec.get(key) is not None:
                out[key] = float(rec[key])
    return out


def aggregate(per_seed: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """name → metric → {mean, std (sample, ddof 1), n} over the seeds where the metric is defined
    (finite); a metric undefined in every seed is left out."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for name, runs in per_seed.items():
        keys = sorted({k for run in runs for k in run})
        table[name] = {}
        for key in keys:
            values = np.array([run[key] for run in runs if key in run], dtype=float)
            values = values[np.isfinite(values)]  # undefined ratios (e.g. no cross-modality pair at all)
            if not len(values):
                continue
            # sample standard deviation over seeds (0 for a single seed)
            std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            table[name][key] = {"mean": float(values.mean()), "std": std, "n": int(len(values))}
    return table


# Pairs that differ by one component (config.ABLATIONS): M4 and M5 each add one part to M3, M6 both.
COMPARISONS = [("M2", "M1"), ("M3", "M2"), ("M4", "M3"), ("M5", "M3"), ("M6", "M4"), ("M6", "M5"), ("M6", "M1")]
PAIRED_METRICS = ["all_rank1", "all_mAP", "indoor_rank1", "indoor_mAP"]


def paired_differences(per_seed: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per-seed differences between configs that differ by one component ("M3 - M2" → metric →
    {mean, std, n, positive, values}). The configs of one seed share the pretrained start and the data,
    so the paired difference is far less noisy than comparing means whose std includes the seeds' spread.
    ``per_seed`` lists every config's runs in the same seed order. Only pairs whose both configs ran
    are reported; ``values`` follow that seed order.
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for better, base in COMPARISONS:
        if better not in per_seed or base not in per_seed:
            continue
        out[f"{better} - {base}"] = {}
        for metric in PAIRED_METRICS:
            values = np.array([b[metric] - a[metric] for a, b in zip(per_seed[base], per_seed[better], strict=True)
                               if metric in a and metric in b], dtype=float)
            if not len(values):
                continue
            out[f"{better} - {base}"][metric] = {
                "mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                "n": int(len(values)), "positive": int((values > 0).sum()),
                "values": [round(float(v), 2) for v in values]}
    return out


def format_paired(paired: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Markdown table of :func:`paired_differences`: mean ± std of the per-seed difference, and in how
    many seeds it was positive."""
    lines = ["| step | " + " | ".join(f"Δ {m.replace('_rank1', ' R1').replace('_', ' ')}" for m in PAIRED_METRICS)
             + " |", "|---|" + "---:|" * len(PAIRED_METRICS)]
    for step, metrics in paired.items():
        cells = [f"{m['mean']:+.1f} ± {m['std']:.1f} ({m['positive']}/{m['n']} seeds > 0)" if m else "–"
                 for m in (metrics.get(k) for k in PAIRED_METRICS)]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


RETRIEVAL_COLUMNS = [("all_rank1", "all R1"), ("all_mAP", "all mAP"), ("all_mINP", "all mINP"),
                     ("indoor_rank1", "indoor R1"), ("indoor_mAP", "indoor mAP"), ("indoor_mINP", "indoor mINP")]
CLUSTERING_COLUMNS = [("global_ari", "global ARI"), ("global_mixed_fraction", "mixed clusters"),
                      ("global_cross_modality_pair_precision", "cross-modality pair precision"),
                      ("global_cross_modality_pair_recall", "cross-modality pair recall")]


def format_table(table: dict[str, dict[str, dict[str, float]]]) -> str:
    """Two markdown tables, mean ± std over seeds: retrieval (all/indoor R1, mAP, mINP in %) and the
    last epoch's global clustering (ARI, mixed-cluster share, cross-modality pair precision/recall)."""
    blocks = []
    for columns, digits in ((RETRIEVAL_COLUMNS, 1), (CLUSTERING_COLUMNS, 3)):
        lines = ["| config | " + " | ".join(title for _, title in columns) + " |",
                 "|---|" + "---:|" * len(columns)]
        for name, metrics in table.items():
            cells = []
            for key, _ in columns:
                m = metrics.get(key)
                cells.append("–" if m is None else f"{m['mean']:.{digits}f} ± {m['std']:.{digits}f}")
            lines.append(f"| {name} {DESCRIPTIONS.get(name, '')} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def training_set_ceiling(preset: str, overrides: dict[str, Any] | None = None, *,
                         cache_dir: str | Path = "data_cache") -> float:
    """ARI of the perfect single-modality clustering of the preset's whole training set (each
    identity split by modality; :func:`vireid_core.association.single_modality_ceiling_ari`).

    Global ARIs above it mean visible and infrared images of the same people are being merged.
    SynthVI is generated first if missing; NaN if a real dataset's root is not available.
    """
    from vireid_core.association import single_modality_ceiling_ari
    from vireid_core.workflow import prepare_dataset

    try:
        dataset = prepare_dataset(get_preset(preset, overrides), cache_dir, progress=False)
    except (FileNotFoundError, ValueError):
        return float("nan")
    return single_modality_ceiling_ari([s.pid for s in dataset.train], [s.modality for s in dataset.train])


def seed_list(seeds: int | Sequence[int]) -> list[int]:
    """``3`` → ``[1, 2, 3]``; a sequence of seeds is returned sorted and de-duplicated.

    Raises ``ValueError`` for a count below 1, an empty list or a negative seed.
    """
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {seeds}")
        return list(range(1, seeds + 1))
    chosen = sorted(set(int(s) for s in seeds))
    if not chosen or chosen[0] < 0:
        raise ValueError(f"--seeds needs non-negative seeds, got {list(seeds)!r}")
    return chosen


def run_ablation(preset: str, names: list[str], seeds: int | Sequence[int], out: Path, *,
                 overrides: dict[str, Any] | None = None, progress: bool = True,
                 cache_dir: str | Path = "data_cache") -> dict[str, Any]:
    """Train every ablation config for each seed (``seeds`` = a count n meaning 1..n, or a list)
    into ``out/<name>/seed<k>``.

    Seed-major: all configs of one seed are trained before the next seed starts, so a partial
    ablation holds complete seeds. Finished runs (with ``results.json``) are reused, so an
    interrupted ablation resumes, and two processes given disjoint seed lists can share ``out``.
    Returns ``{"table": markdown, "aggregate": …, "runs": …}`` and writes ``out/ablation.json``
    over the requested seeds.
    """
    from vireid_core.workflow import train_run

    for name in names:
        if name not in ABLATIONS:
            raise ValueError(f"unknown ablation config {name!r}; choose from {', '.join(ABLATIONS)}")
    chosen = seed_list(seeds)
    for seed in chosen:
        for name in names:
            run_dir = out / name / f"seed{seed}"
            if not (run_dir / "results.json").is_file():
                config = get_preset(f"{preset}:{name}", {**(overrides or {}), "seed": seed})
                train_run(config, run_dir, resume=(run_dir / "last.pt").is_file(), cache_dir=cache_dir,
                          progress=progress)
    per_seed = {name: [_final_numbers(json.loads((out / name / f"seed{seed}" / "results.json").read_text()))
                       for seed in chosen] for name in names}
    table = aggregate(per_seed)
    paired = paired_differences(per_seed)
    summary = {"preset": preset, "seeds": chosen, "aggregate": table, "runs": per_seed,
               "paired": paired, "table": format_table(table) + "\n\n" + format_paired(paired),
               "training_set_single_modality_ceiling_ari": training_set_ceiling(preset, overrides, cache_dir=cache_dir)}
    atomic_write_text(out / "ablation.json", json.dumps(summary, indent=2) + "\n")
    return summary
