"""The figure of notebook 02's toy: which pairs each hand-built distance links."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from vireid_core.viz.base import MODALITY_LABELS, apply_style, plt, titled

MODALITY_MARKERS = {0: "o", 1: "^"}


def plot_toy_association(
    points: np.ndarray,
    pids: np.ndarray,
    modality: np.ndarray,
    distances: dict[str, np.ndarray],
    title: str = "Which pairs does each distance link on the toy?",
) -> Figure:
    """The toy in 2-D, one panel per distance, every pair at distance below 1 joined by a line.

    Colour = person, marker = modality (circle visible, triangle infrared). A line's darkness grows
    as the distance falls (1 - d); visible–infrared pairs are drawn solid, same-modality pairs dotted.
    Each panel's title counts the visible–infrared pairs below 1 and how many of them are one person.

    Args:
        points: float [N, 2] positions (e.g. :func:`vireid_core.analysis.pca_2d` of the features).
        pids: int [N] person of each row.
        modality: int [N], 0 visible, 1 infrared.
        distances: name -> float [N, N] distances in [0, 1].
        title: the figure's question.

    Returns:
        the figure.
    """
    apply_style()
    points, pids, modality = np.asarray(points), np.asarray(pids), np.asarray(modality)
    colours = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(distances), figsize=(5.0 * len(distances), 4.4), squeeze=False)
    for ax, (name, dist) in zip(axes[0], distances.items(), strict=True):
        dist = np.asarray(dist, dtype=np.float64)
        linked = same_person = 0
        for i, j in zip(*np.triu_indices(len(points), k=1), strict=True):
            if dist[i, j] >= 1:
                continue
            cross = modality[i] != modality[j]
            linked += int(cross)
            same_person += int(cross and pids[i] == pids[j])
            ax.plot(
                points[[i, j], 0],
                points[[i, j], 1],
                color="black",
                alpha=0.15 + 0.6 * (1 - dist[i, j]),
                linewidth=0.8 if cross else 0.6,
                linestyle="-" if cross else ":",
                zorder=1,
            )
        for m, marker in MODALITY_MARKERS.items():
            for p in np.unique(pids):
                rows = (modality == m) & (pids == p)
                ax.scatter(
                    points[rows, 0],
                    points[rows, 1],
                    marker=marker,
                    s=70,
                    color=colours(int(p) % 10),
                    edgecolor="black",
                    linewidth=0.6,
                    zorder=2,
                    label=f"person {p}, {MODALITY_LABELS[m]}",
                )
        ax.set_title(f"{name}\n{linked} visible–infrared pairs below 1, {same_person} of them one person", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal", adjustable="datalim")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8, frameon=False)
    titled(fig, title)
    fig.subplots_adjust(bottom=0.14)
    return fig
