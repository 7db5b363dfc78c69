"""The numbers of the paper's ablation M1–M6 (config.ABLATIONS) over seeds, and the baseline ladder around it.

This module reads finished run folders and makes the tables (aggregate over seeds, paired differences,
the issue-12 targets); it trains nothing. :func:`vireid_core.runs.run_ablation` runs the rows.

The ladder (issue 12) puts reference rows beside the M rows, all in one protocol: ``untrained``,
``start``, M1 … M6 and the supervised ``oracle`` (:mod:`vireid_core.ladder_rows`). Every run also
carries its probes (``probes.json``: the other-modality share of the test images' 10 nearest
neighbours; for the reference rows also the plain and modality-aware clustering of the training set).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vireid_core.association import single_modality_ceiling_ari
from vireid_core.config import ABLATIONS, RunConfig, get_preset
from vireid_core.errors import UserError
from vireid_core.ladder_probes import SHARE
from vireid_core.ladder_rows import BASELINE_ROWS, read_probes
from vireid_core.ladder_targets import check_targets, format_targets
from vireid_core.run_dir import AblationDir
from vireid_core.workflow import DEFAULT_CACHE, prepare_dataset

LADDER = ["untrained", "start", *ABLATIONS, "oracle"]
DESCRIPTIONS = {
    **BASELINE_ROWS,
    "M1": "intra-modality baseline (stage 1 only)",
    "M2": "+ naive global clustering (plain Jaccard)",
    "M3": "+ bias-mitigated global clustering (MAJ)",
    "M4": "+ subset clustering",
    "M5": "+ modality-invariance learning (split prototypes)",
    "M6": "full BMIL",
}


def _final_numbers(result: dict[str, Any], probes: dict[str, float] | None = None) -> dict[str, float]:
    """Flatten one run's results.json (and its probes) into metric name → value (percent for retrieval).

    The final evaluation is stage 2's, else stage 1's, else the reference row's (or the only one);
    ``minutes`` is the time to make the model (training epochs, or the reference row's making),
    without the final evaluation.
    """
    evaluations = result["evaluations"]
    final = evaluations.get("stage 2") or evaluations.get("stage 1") or evaluations.get(result.get("row", ""))
    if final is None:
        final = [v for k, v in evaluations.items() if k != "selection"][-1]
    out: dict[str, float] = {}
    for mode, metrics in final.items():
        for key in ("rank1", "mAP", "mINP"):
            out[f"{mode}_{key}"] = 100.0 * metrics[key]
    last_global = [r for r in result["history"] if r.get("clusters_global") is not None]
    if last_global:
        rec = last_global[-1]
        for key in (
            "global_ari",
            "global_mixed_fraction",
            "global_cross_modality_pair_precision",
            "global_cross_modality_pair_recall",
            "global_single_modality_ceiling_ari",
        ):
            if rec.get(key) is not None:
                out[key] = float(rec[key])
    if result.get("row"):
        out["minutes"] = float(result.get("seconds_to_make", 0.0)) / 60
    elif result["history"]:
        out["minutes"] = sum(float(r.get("seconds", 0.0)) for r in result["history"]) / 60
    out.update(probes or {})
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


# Pairs that differ by one component (config.ABLATIONS): M4 and M5 each add one part to M3, M6 both;
# then the ladder's steps: stage 1 over its start, M6 over M3 and M1, the oracle over M6.
COMPARISONS = [
    ("M1", "start"),
    ("M2", "M1"),
    ("M3", "M2"),
    ("M4", "M3"),
    ("M5", "M3"),
    ("M6", "M4"),
    ("M6", "M5"),
    ("M6", "M3"),
    ("M6", "M1"),
    ("oracle", "M6"),
]
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
            values = np.array(
                [
                    b[metric] - a[metric]
                    for a, b in zip(per_seed[base], per_seed[better], strict=True)
                    if metric in a and metric in b
                ],
                dtype=float,
            )
            if not len(values):
                continue
            out[f"{better} - {base}"][metric] = {
                "mean": float(values.mean()),
                "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                "n": int(len(values)),
                "positive": int((values > 0).sum()),
                "values": [round(float(v), 2) for v in values],
            }
    return out


def format_paired(paired: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Markdown table of :func:`paired_differences`: mean ± std of the per-seed difference, and in how
    many seeds it was positive."""
    lines = [
        "| step | " + " | ".join(f"Δ {m.replace('_rank1', ' R1').replace('_', ' ')}" for m in PAIRED_METRICS) + " |",
        "|---|" + "---:|" * len(PAIRED_METRICS),
    ]
    for step, metrics in paired.items():
        cells = [
            f"{m['mean']:+.1f} ± {m['std']:.1f} ({m['positive']}/{m['n']} seeds > 0)" if m else "–"
            for m in (metrics.get(k) for k in PAIRED_METRICS)
        ]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


RETRIEVAL_COLUMNS = [
    ("all_rank1", "all R1"),
    ("all_mAP", "all mAP"),
    ("all_mINP", "all mINP"),
    ("indoor_rank1", "indoor R1"),
    ("indoor_mAP", "indoor mAP"),
    ("indoor_mINP", "indoor mINP"),
]
CLUSTERING_COLUMNS = [
    ("global_ari", "global ARI"),
    ("global_mixed_fraction", "mixed clusters"),
    ("global_cross_modality_pair_precision", "cross-modality pair precision"),
    ("global_cross_modality_pair_recall", "cross-modality pair recall"),
]
# The probes (ladder_probes): the bias on the test set, the reference rows' clustering of the training set.
BIAS_COLUMNS = [
    (SHARE, "other-modality share of test 10-NN"),
    (f"{SHARE}_chance", "chance"),
    ("plain_jaccard_mixed_fraction", "plain Jaccard mixed clusters (train)"),
    ("modality_aware_jaccard_mixed_fraction", "MAJ mixed clusters (train)"),
    ("modality_aware_jaccard_cross_modality_pair_precision", "MAJ cross-modality pair precision"),
    ("minutes", "minutes to make"),
]


def format_table(table: dict[str, dict[str, dict[str, float]]]) -> str:
    """Markdown tables, mean ± std over seeds: retrieval (all/indoor R1, mAP, mINP in %), the last
    epoch's global clustering (ARI, mixed-cluster share, cross-modality pair precision/recall) and the
    probes (other-modality share of the test 10-NN, training-set clustering of the reference rows,
    minutes). A table no row has a value for is left out."""
    blocks = []
    for columns, digits in ((RETRIEVAL_COLUMNS, 1), (CLUSTERING_COLUMNS, 3), (BIAS_COLUMNS, 3)):
        if not any(key in metrics for metrics in table.values() for key, _ in columns):
            continue
        lines = ["| config | " + " | ".join(title for _, title in columns) + " |", "|---|" + "---:|" * len(columns)]
        for name, metrics in table.items():
            cells = []
            for key, _ in columns:
                m = metrics.get(key)
                places = 1 if key == "minutes" else digits
                cells.append("–" if m is None else f"{m['mean']:.{places}f} ± {m['std']:.{places}f}")
            lines.append(f"| {name} {DESCRIPTIONS.get(name, '')} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def training_set_ceiling(
    preset: str, overrides: dict[str, Any] | None = None, *, cache_dir: str | Path = DEFAULT_CACHE
) -> float:
    """ARI of the perfect single-modality clustering of the preset's whole training set (each
    identity split by modality; :func:`vireid_core.association.single_modality_ceiling_ari`).

    Global ARIs above it mean visible and infrared images of the same people are being merged.
    SynthVI is generated first if missing; NaN if a real dataset's root is not available.
    """
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


def row_config(preset: str, name: str, seed: int, overrides: dict[str, Any] | None = None) -> RunConfig:
    """The config of row ``name`` for ``seed``: ``<preset>:<name>`` for an M row, the base preset for the
    reference rows (their start and budget are the base preset's)."""
    base = f"{preset}:{name}" if name in ABLATIONS else preset
    return get_preset(base, {**(overrides or {}), "seed": seed})


def check_names(names: Sequence[str]) -> list[str]:
    """``names`` as a list when every one is a ladder row (M1–M6 or a reference row); else ``ValueError``."""
    for name in names:
        if name not in ABLATIONS and name not in BASELINE_ROWS:
            raise ValueError(f"unknown ablation config {name!r}; choose from {', '.join(LADDER)}")
    return list(names)


def run_numbers(out: Path, name: str, seed: int) -> dict[str, float]:
    """The flattened numbers of one finished run folder ``out/<name>/seed<seed>`` (results + probes)."""
    run = AblationDir(out).run(name, seed)
    return _final_numbers(json.loads(run.results.read_text()), read_probes(run.path))


def summarise(
    out: Path, names: Sequence[str], seeds: Sequence[int], preset: str | None = None, ceiling: float = float("nan")
) -> dict[str, Any]:
    """The ``ablation.json`` content of finished runs: ``seeds``, ``aggregate``, ``runs`` (per seed, in
    seed order), ``paired``, the markdown ``table`` and the issue-12 ``targets`` check."""
    per_seed = {name: [run_numbers(out, name, seed) for seed in seeds] for name in names}
    table = aggregate(per_seed)
    paired = paired_differences(per_seed)
    targets = check_targets(table, paired)
    text = format_table(table) + "\n\n" + format_paired(paired)
    if targets:
        text += "\n\n" + format_targets(targets, len(seeds))
    return {
        "preset": preset,
        "seeds": list(seeds),
        "aggregate": table,
        "runs": per_seed,
        "paired": paired,
        "targets": targets,
        "table": text,
        "training_set_single_modality_ceiling_ari": ceiling,
    }


def finished_ladder(out: Path) -> tuple[list[str], list[int], list[str]]:
    """What a ladder folder holds, without training: ``(rows, seeds, notes)``.

    ``rows`` are the row folders present, in ladder order; ``seeds`` those for which every row has a
    ``results.json`` (complete seeds only, as they are committed); ``notes`` name the finished runs of
    incomplete seeds that are left out.
    """
    folder = AblationDir(out)
    rows = [name for name in LADDER if folder.has_row(name)]
    found = {name: folder.finished_seeds(name) for name in rows}
    every = set.union(*found.values()) if found else set()
    complete = sorted(s for s in every if all(s in found[name] for name in rows))
    notes = [
        f"seed {s}: left out, finished only for {', '.join(n for n in rows if s in found[n])}"
        for s in sorted(every - set(complete))
    ]
    return rows, complete, notes


def ladder_table(out: Path) -> str:
    """The ladder table of a finished folder (complete seeds only), printed without training; raises
    ``UserError`` when the folder holds no complete seed."""
    rows, seeds, notes = finished_ladder(out)
    if not seeds:
        raise UserError(f"{out}: no seed with a results.json in every row folder ({', '.join(rows) or 'none'})")
    stored = AblationDir(out).summary
    preset = json.loads(stored.read_text()).get("preset") if stored.is_file() else None
    summary = summarise(out, rows, seeds, preset)
    header = f"{out}: preset {preset or '?'}, seeds {', '.join(map(str, seeds))}"
    return "\n".join([header, *notes, "", summary["table"]])
