"""Figures of distances, neighbourhoods and clusterings (notebooks 01 and 02)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from vireid_core.viz.base import MODALITY_COLOURS, apply_style, detached_figure, plt, sns, titled

PAIR_PALETTE = {
    "same id, same modality": "#1b7837",
    "same id, cross modality": "#a6dba0",
    "different id, same modality": "#762a83",
    "different id, cross modality": "#c2a5cf",
}


def saturated_share(distances: np.ndarray, pairs: np.ndarray) -> float:
    """Share of same-person cross-modality pairs at a Jaccard distance ≥ 0.999 (never neighbours): float,
    NaN without such pairs."""
    cross = np.asarray(pairs) == "same id, cross modality"
    return float(np.mean(np.asarray(distances)[cross] >= 0.999)) if cross.any() else float("nan")


def is_jaccard(measure: str) -> bool:
    """Whether a measure's name says it is a Jaccard distance (on [0, 1], 1 = no shared neighbour)."""
    return "jaccard" in measure.lower()


def plot_distance_distributions(
    table: dict[str, np.ndarray],
    title: str,
    *,
    log_density: bool = False,
    auc: dict[str, dict[str, float]] | None = None,
) -> plt.Figure:
    """Density of pair distances by pair kind (outlined histograms), one panel per measure.

    ``table`` is :func:`vireid_core.analysis.distance_table` output (columns distance, pair, measure).
    ``log_density`` draws the density on a log axis (Jaccard distances pile up at 1). Under each panel's
    name its title gives, when ``auc`` (:func:`vireid_core.analysis.pair_auc` output) is given, the
    scale-free "cross-modality AUC" (same-person against different-person cross-modality pairs), and, on Jaccard
    panels only (:func:`is_jaccard`), the share of same-person cross-modality pairs at d ≥ 0.999 (on a
    Euclidean or cosine scale that threshold means nothing). Titles are wrapped, so neighbouring ones never
    touch; one legend for all panels. Returns the figure.
    """
    apply_style()
    measures = list(dict.fromkeys(np.asarray(table["measure"]).tolist()))
    fig, axes = plt.subplots(
        1, len(measures), figsize=(4.4 * len(measures) + 2.2, 3.9), squeeze=False, layout="constrained"
    )
    for ax, measure in zip(axes[0], measures, strict=True):
        rows = np.asarray(table["measure"]) == measure
        data = {"distance": np.asarray(table["distance"])[rows], "pair": np.asarray(table["pair"])[rows]}
        sns.histplot(
            data=data,
            x="distance",
            hue="pair",
            ax=ax,
            element="step",
            fill=False,
            stat="density",
            common_norm=False,
            bins=40,
            palette=PAIR_PALETTE,
            legend=False,
            linewidth=1.6,
        )
        if log_density:
            ax.set_yscale("log")
        notes = []
        if auc is not None and measure in auc:
            notes.append(f"cross-modality AUC {auc[measure]['cross_modality']:.2f}")
        if is_jaccard(measure):
            far = saturated_share(data["distance"], data["pair"])
            notes.append(f"{far:.0%} of same-person cross pairs at d ≥ 0.999")
        lines = [textwrap.fill(measure, width=34), *(textwrap.fill(n, width=34) for n in notes)]
        ax.set_title("\n".join(lines), fontsize=9)
    handles = [plt.Line2D([], [], color=colour, linewidth=1.6) for colour in PAIR_PALETTE.values()]
    fig.legend(handles, list(PAIR_PALETTE), loc="outside right upper", fontsize=8, title="pair of images")
    fig.suptitle(title)
    return fig


KNN_STYLES = (
    {"color": "#7f7f7f", "linestyle": ":", "marker": "o", "markersize": 10, "markerfacecolor": "none"},
    {"color": "#1f77b4", "linestyle": "--", "marker": "s", "markersize": 7, "markerfacecolor": "none"},
    {"color": "#d62728", "linestyle": "-", "marker": "^", "markersize": 5},
)
"""Line styles of :func:`plot_knn_composition`, one per model: colour, dash pattern and marker all differ,
and markers shrink from model to model so points that coincide stay visible inside one another."""


def plot_knn_composition(
    compositions: dict[str, dict[str, Any]],
    title: str = "How many of a sample's k nearest neighbours come from the other modality?",
) -> plt.Figure:
    """Share of other-modality samples among the k nearest neighbours, against k.

    ``compositions`` maps a model name to :func:`vireid_core.association.knn_modality_composition`
    output; one panel per query modality, one line per model (its own colour, dash and marker, see
    :data:`KNN_STYLES`), dotted grey lines at chance, one legend for the figure. Returns the figure.
    """
    apply_style()
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 3.6), sharey=True, layout="constrained")
    handles: dict[str, Any] = {}
    for ax, name in zip(axes, ("visible", "infrared"), strict=True):
        chance = None
        for index, (label, comp) in enumerate(compositions.items()):
            if name not in comp:
                continue
            ks = sorted(int(k) for k in comp[name])
            (line,) = ax.plot(
                ks, [comp[name][k] for k in ks], label=label, linewidth=1.6, **KNN_STYLES[index % len(KNN_STYLES)]
            )
            handles.setdefault(label, line)
            chance = comp["chance"][name]
        if chance is not None:
            handles.setdefault(
                "chance (random neighbours)", ax.axhline(chance, color="black", linestyle=(0, (1, 3)), linewidth=1.2)
            )
        ax.set_xlabel("k (nearest neighbours)")
        ax.set_title(f"{name} queries")
        ax.set_ylim(-0.02, 1)
    axes[0].set_ylabel("other-modality share")
    fig.legend(list(handles.values()), list(handles), loc="outside right upper", fontsize=8, title="model")
    fig.suptitle(title)
    return fig


def plot_cluster_compositions(
    labels_by_name: dict[str, np.ndarray],
    modality: np.ndarray,
    title: str,
    max_clusters: int = 40,
    *,
    detached: bool = False,
) -> Figure:
    """Per clustering, the largest clusters as stacked bars of visible and infrared members.

    A cluster of one colour holds one modality only. ``detached=True`` draws into a figure pyplot does
    not know (:func:`~vireid_core.viz.base.detached_figure`, for the widget panel, which renders it to
    PNG bytes itself) and leaves the global style alone. Returns the figure.
    """
    modality = np.asarray(modality)
    size = (10, 2.3 * len(labels_by_name) + 0.4)
    if detached:
        fig = detached_figure(size)
    else:
        apply_style()
        fig = plt.figure(figsize=size, layout="constrained")
    axes = fig.subplots(len(labels_by_name), 1, squeeze=False)
    n_bars = max(
        min(len(np.unique(np.asarray(lab)[np.asarray(lab) >= 0])), max_clusters) for lab in labels_by_name.values()
    )
    for ax, (name, labels) in zip(axes[:, 0], labels_by_name.items(), strict=True):
        labels = np.asarray(labels)
        ids, sizes = np.unique(labels[labels >= 0], return_counts=True)
        top = ids[np.argsort(-sizes, kind="stable")][:max_clusters]
        vis = np.array([np.count_nonzero((labels == c) & (modality == 0)) for c in top])
        ir = np.array([np.count_nonzero((labels == c) & (modality == 1)) for c in top])
        x = np.arange(len(top))
        ax.bar(x, vis, color=MODALITY_COLOURS[0], label="visible members")
        ax.bar(x, ir, bottom=vis, color=MODALITY_COLOURS[1], label="infrared members")
        mixed = int(np.count_nonzero((vis > 0) & (ir > 0)))
        ax.set_title(
            f"{name}: {len(ids)} clusters, {mixed} of the {len(top)} largest hold both modalities, "
            f"{np.mean(labels < 0):.0%} outliers",
            fontsize=9,
        )
        ax.set_xticks([])
        ax.set_xlim(-0.6, max(n_bars, 1) - 0.4)  # one bar width in every row
        ax.set_ylabel("members")
        if not len(top):
            ax.text(
                0.5,
                0.5,
                "no clusters (every image is an outlier)",
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=9,
                color="grey",
            )
    axes[0, 0].legend(fontsize=8, loc="upper right")
    axes[-1, 0].set_xlabel(f"clusters, largest first (at most {max_clusters})")
    fig.suptitle(title)
    return fig


def plot_clustering_scores(
    reports: dict[str, dict[str, Any]],
    title: str,
    keys: Sequence[str] = (
        "n_clusters",
        "ari",
        "mixed_cluster_fraction",
        "cross_modality_pair_precision",
        "outlier_rate",
    ),
) -> plt.Figure:
    """Bar panels comparing clustering reports (:func:`vireid_core.association.clustering_report`)
    side by side: one panel per key, one bar per clustering. The ARI panel carries a dashed line at the
    reports' ``single_modality_ceiling_ari`` (what a perfect clustering that never merges the modalities
    scores); the cross-modality pair precision is its own panel. Returns the figure."""
    apply_style()
    names = list(reports)
    fig, axes = plt.subplots(1, len(keys), figsize=(2.6 * len(keys), 3.4))
    colours = sns.color_palette("deep", len(names))
    ceiling = next(
        (
            reports[n]["single_modality_ceiling_ari"]
            for n in names
            if reports[n].get("single_modality_ceiling_ari") is not None
        ),
        None,
    )
    for ax, key in zip(np.atleast_1d(axes), keys, strict=True):
        values = [reports[n].get(key) for n in names]
        values = [np.nan if v is None else float(v) for v in values]
        bars = ax.bar(range(len(names)), values, color=colours)
        ax.bar_label(bars, fmt="%.2f" if key != "n_clusters" else "%.0f", fontsize=8)
        for x, value in enumerate(values):
            if np.isnan(value):  # e.g. pair precision of a clustering that joins no visible-infrared pair
                ax.text(x, 0, "undefined", ha="center", va="bottom", fontsize=7, color="grey", rotation=90)
        ax.set_xticks(range(len(names)), names, rotation=25, ha="right", fontsize=8)
        ax.set_title(key.replace("_", " "), fontsize=9)
        if key == "ari" and ceiling is not None:
            ax.axhline(float(ceiling), color="black", linestyle="--", linewidth=1.2)
            ax.set_ylim(0, max(1.0, float(ceiling) * 1.1))
            ax.text(
                0.02,
                float(ceiling),
                f"single-modality ceiling {float(ceiling):.2f}",
                transform=ax.get_yaxis_transform(),
                fontsize=7,
                va="bottom",
            )
    return titled(fig, title)


def plot_encoding_vectors(
    vectors: dict[str, np.ndarray],
    modality: np.ndarray,
    same_id: np.ndarray,
    top: int = 25,
    title: str = "Which samples carry the weight in the query's k-reciprocal encoding?",
    query_modality: int | None = None,
) -> plt.Figure:
    """The largest entries of one query's encoding vector V'[q] for each distance (bars by weight).

    Bar colour = modality of that sample; hatched = a different person. ``query_modality`` (default:
    that of the largest entry) decides what "other modality" means in the titles. Returns the figure.
    """
    apply_style()
    modality, same_id = np.asarray(modality), np.asarray(same_id, dtype=bool)
    fig, axes = plt.subplots(len(vectors), 1, figsize=(10, 2.4 * len(vectors)), squeeze=False)
    for ax, (name, vec) in zip(axes[:, 0], vectors.items(), strict=True):
        vec = np.asarray(vec, dtype=np.float64)
        order = np.argsort(-vec, kind="stable")[:top]
        order = order[vec[order] > 0]
        for x, j in enumerate(order):
            ax.bar(
                x,
                vec[j],
                color=MODALITY_COLOURS[int(modality[j])],
                hatch=None if same_id[j] else "//",
                edgecolor="white" if same_id[j] else "black",
                linewidth=0.5,
            )
        support = int(np.count_nonzero(vec > 0))
        own = query_modality if query_modality is not None else (modality[order[0]] if len(order) else 0)
        other = float(vec[modality != own].sum())
        ax.set_title(
            f"{name}: {support} non-zero entries; weight on the other modality {other:.2f}, "
            f"on the same person {vec[same_id].sum():.2f}",
            fontsize=9,
        )
        ax.set_xticks([])
        ax.set_ylabel("weight")
    handles = [plt.Rectangle((0, 0), 1, 1, color=MODALITY_COLOURS[m]) for m in (0, 1)]
    handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="black", hatch="//"))
    axes[0, 0].legend(handles, ["visible", "infrared", "different person"], fontsize=8, loc="upper right")
    return titled(fig, title)


def plot_parameter_sweep(
    rows: Sequence[dict[str, Any]], title: str = "How do k1 and eps change the clusters of each distance?"
) -> plt.Figure:
    """Static stand-in for the interactive panel: ARI, mixed-cluster share and cross-modality pair
    precision against eps, one line per (distance, k1). ``rows`` hold keys kind, k1, eps, ari,
    mixed_cluster_fraction and optionally cross_modality_pair_precision and single_modality_ceiling_ari
    (:meth:`vireid_core.analysis.ClusterExplorer.sweep`); the ceiling is a dashed line on the ARI panel.
    Returns the figure."""
    apply_style()
    keys = ["ari", "mixed_cluster_fraction"]
    if any(r.get("cross_modality_pair_precision") is not None for r in rows):
        keys.append("cross_modality_pair_precision")
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys) + 1.6, 3.6))
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    k1s = sorted({r["k1"] for r in rows})
    styles = dict(zip(k1s, ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1))] * 3, strict=False))
    markers = dict(zip(k1s, ["o", "s", "^", "D", "v"] * 3, strict=False))
    colours = dict(zip(kinds, sns.color_palette("deep", len(kinds)), strict=True))
    for ax, key in zip(axes, keys, strict=True):
        for kind in kinds:
            for k1 in k1s:
                sel = sorted((r for r in rows if r["kind"] == kind and r["k1"] == k1), key=lambda r: r["eps"])
                values = [np.nan if r.get(key) is None else float(r[key]) for r in sel]
                ax.plot(
                    [r["eps"] for r in sel],
                    values,
                    marker=markers[k1],
                    markersize=4,
                    linestyle=styles[k1],
                    color=colours[kind],
                    label=f"{kind}, k1={k1}",
                )
        ax.set_xlabel("eps")
        ax.set_title(key.replace("_", " "))
        ax.set_ylim(-0.02, 1.02)
    ceiling = next(
        (r["single_modality_ceiling_ari"] for r in rows if r.get("single_modality_ceiling_ari") is not None), None
    )
    if ceiling is not None:
        axes[0].axhline(float(ceiling), color="black", linestyle="--", linewidth=1.2, label="single-modality ceiling")
    axes[-1].legend(*axes[0].get_legend_handles_labels(), fontsize=7, bbox_to_anchor=(1.02, 1), loc="upper left")
    return titled(fig, title)
