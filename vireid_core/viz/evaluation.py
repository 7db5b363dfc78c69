"""Evaluation figures: CMC curves, the ablation bar chart and its paired per-seed differences (notebook 04)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from vireid_core.viz.base import apply_style, plt, sns, titled


def plot_cmc(
    curves: dict[str, Sequence[float]], title: str = "How often is the right person within the first k gallery images?"
) -> plt.Figure:
    """CMC curves (Rank-k accuracy in % against k), one line per setting. Returns the figure."""
    apply_style()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, cmc in curves.items():
        cmc = 100 * np.asarray(cmc, dtype=float)
        ax.plot(np.arange(1, len(cmc) + 1), cmc, marker="o", markersize=3, label=f"{label} (R1 {cmc[0]:.1f})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("rank k")
    ax.set_ylabel("Rank-k accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_ablation(
    aggregate: dict[str, dict[str, dict[str, float]]],
    metrics: Sequence[str] = ("all_rank1", "all_mAP", "global_mixed_fraction", "global_cross_modality_pair_precision"),
    title: str = "What does each BMIL component add?",
) -> plt.Figure:
    """Bar chart of the ablation (``run_ablation(...)["aggregate"]``): one panel per metric, one bar
    per configuration with the std over seeds as error bar. Retrieval in %, fractions as given."""
    apply_style()
    names = list(aggregate)
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.4), squeeze=False)
    colours = sns.color_palette("crest", len(names))
    for ax, metric in zip(axes[0], metrics, strict=True):
        means = [aggregate[n].get(metric, {}).get("mean", np.nan) for n in names]
        stds = [aggregate[n].get(metric, {}).get("std", 0.0) for n in names]
        bars = ax.bar(names, means, yerr=stds, color=colours, capsize=3)
        ax.bar_label(bars, fmt="%.2f" if metric.startswith("global") else "%.1f", fontsize=7)
        ax.set_title(
            metric.replace("global_cross_modality_pair_", "cross-modality pair ")
            .replace("_", " ")
            .replace("rank1", "Rank-1 (%)")
            .replace("mAP", "mAP (%)"),
            fontsize=9,
        )
    return titled(fig, title)


METRIC_NAMES = {
    "all_rank1": "all-search Rank-1",
    "all_mAP": "all-search mAP",
    "indoor_rank1": "indoor Rank-1",
    "indoor_mAP": "indoor mAP",
}


def plot_ablation_differences(
    steps: dict[str, dict[str, Sequence[float]]],
    title: str = "What does each BMIL component add, seed by seed?",
    seeds: Sequence[int] | None = None,
) -> plt.Figure:
    """Paired per-seed differences of an ablation (:func:`vireid_core.analysis.ablation_steps`): one panel
    per metric, one row per step ("M3 - M2"), one dot per seed (the same seed has the same marker in every
    row), a bar at the mean and a zero line; beside each row, in how many seeds the step was positive.
    Differences in percentage points. Returns the figure."""
    apply_style()
    names = list(steps)
    metrics = list(dict.fromkeys(m for values in steps.values() for m in values))
    if not names or not metrics:
        raise ValueError("no ablation step to draw (steps is empty)")
    n_seeds = max(len(v) for values in steps.values() for v in values.values())
    seeds = list(seeds) if seeds is not None else list(range(1, n_seeds + 1))
    markers = ["o", "s", "^", "D", "v", "P", "X"]
    colours = sns.color_palette("dark", max(len(seeds), 1))
    fig, axes = plt.subplots(
        1,
        len(metrics),
        figsize=(3.9 * len(metrics) + 1.4, 0.55 * len(names) + 1.7),
        squeeze=False,
        sharey=True,
        layout="constrained",
    )
    y = np.arange(len(names))[::-1]
    for ax, metric in zip(axes[0], metrics, strict=True):
        ax.axvline(0.0, color="black", linewidth=1.0)
        for row, name in zip(y, names, strict=True):
            values = np.asarray(steps[name].get(metric, []), dtype=float)
            if not len(values):
                continue
            ax.barh(row, values.mean(), height=0.55, color="#c6dbef", edgecolor="#6baed6")
            for index, value in enumerate(values):
                ax.scatter(
                    value,
                    row + 0.12 * (index - (len(values) - 1) / 2),
                    marker=markers[index % len(markers)],
                    color=colours[index % len(colours)],
                    s=28,
                    zorder=3,
                    label=f"seed {seeds[index] if index < len(seeds) else index + 1}",
                )
            ax.annotate(
                f"{int((values > 0).sum())}/{len(values)} > 0",
                (1.0, row),
                xycoords=("axes fraction", "data"),
                xytext=(3, 0),
                textcoords="offset points",
                fontsize=7,
                va="center",
            )
        ax.set_title(f"Δ {METRIC_NAMES.get(metric, metric)} (points)", fontsize=9)
        ax.set_xlabel("difference, same seed and start")
    axes[0, 0].set_yticks(y, names)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), loc="outside right upper", fontsize=8, title="per seed")
    fig.suptitle(title)
    return fig


def ablation_rows(
    aggregate: dict[str, dict[str, dict[str, float]]], descriptions: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Flat rows (config, description, every metric's mean) for printing the ablation as a table."""
    rows = []
    for name, metrics in aggregate.items():
        row: dict[str, Any] = {"config": name, "description": (descriptions or {}).get(name, "")}
        row.update({key: value["mean"] for key, value in metrics.items()})
        rows.append(row)
    return rows
