"""Evaluation figures: CMC curves and the ablation bar chart (notebook 04)."""

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
