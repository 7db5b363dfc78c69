"""2-D embeddings of features (UMAP, notebooks 01 and 04): coloured by modality, and a few identities in
colour with their visible and infrared centroids joined."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vireid_core.viz.base import MODALITY_COLOURS, MODALITY_LABELS, apply_style, plt, sns, titled


def plot_embedding(
    coords: np.ndarray, modality: np.ndarray, true_ids: np.ndarray, title: str, highlight: Sequence[int] | None = None
) -> plt.Figure:
    """A 2-D embedding twice: coloured by modality, and by identity (see :func:`plot_embeddings`).

    Returns the figure.
    """
    return plot_embeddings({"": coords}, modality, true_ids, title, highlight=highlight)


def modality_centroids(
    coords: np.ndarray, modality: np.ndarray, true_ids: np.ndarray, pid: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Mean 2-D position of identity ``pid``'s visible and of its infrared points: (float [2] or None, same)."""
    rows = np.asarray(true_ids) == pid
    mods = np.asarray(modality)
    return tuple(  # type: ignore[return-value]
        coords[rows & (mods == m)].mean(axis=0) if np.any(rows & (mods == m)) else None for m in (0, 1)
    )


def _identity_panel(
    ax: plt.Axes, coords: np.ndarray, modality: np.ndarray, true_ids: np.ndarray, highlight: Sequence[int]
) -> None:
    """Every point grey except those of ``highlight`` (one colour each, marker = modality); a line joins
    each highlighted identity's visible centroid (large circle) and infrared centroid (large triangle)."""
    palette = dict(zip(highlight, sns.color_palette("tab10", len(highlight)), strict=True))
    shown = np.isin(true_ids, list(highlight))
    for m, marker in ((0, "o"), (1, "^")):
        rows = (modality == m) & ~shown
        ax.scatter(coords[rows, 0], coords[rows, 1], s=7, alpha=0.35, color="#bdbdbd", marker=marker, linewidths=0)
    for pid in highlight:
        for m, marker in ((0, "o"), (1, "^")):
            rows = (true_ids == pid) & (modality == m)
            ax.scatter(coords[rows, 0], coords[rows, 1], s=14, alpha=0.85, color=palette[pid], marker=marker)
        vis, ir = modality_centroids(coords, modality, true_ids, pid)
        if vis is not None and ir is not None:
            ax.plot([vis[0], ir[0]], [vis[1], ir[1]], color=palette[pid], linewidth=1.8, zorder=3)
        for centre, marker in ((vis, "o"), (ir, "^")):
            if centre is not None:
                ax.scatter(
                    *centre, s=120, marker=marker, color=palette[pid], edgecolor="black", linewidth=1.2, zorder=4
                )
    handles = [plt.Line2D([], [], color=palette[p], marker="s", linestyle="", label=f"id {p}") for p in highlight]
    handles += [
        plt.Line2D([], [], color="black", marker="o", linestyle="", markerfacecolor="white", label="visible"),
        plt.Line2D([], [], color="black", marker="^", linestyle="", markerfacecolor="white", label="infrared"),
        plt.Line2D([], [], color="#bdbdbd", marker="o", linestyle="", label="other identities"),
        plt.Line2D([], [], color="black", linewidth=1.8, label="visible ↔ infrared centroid"),
    ]
    ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))


def plot_embeddings(
    coords_by_name: dict[str, np.ndarray],
    modality: np.ndarray,
    true_ids: np.ndarray,
    title: str,
    highlight: Sequence[int] | None = None,
) -> plt.Figure:
    """One row per embedding (e.g. before / after training) of the same images: coloured by modality, and
    by identity (marker = modality).

    Args:
        coords_by_name: row label → float [N, 2] coordinates (the rows of ``modality``/``true_ids``).
        highlight: identities drawn in colour in the right panels (e.g.
            :func:`vireid_core.analysis.highlight_identities`), the rest grey, with a line from each one's
            visible to its infrared centroid. None: every identity its own colour (readable for a few only).

    Returns the figure.
    """
    apply_style()
    modality, true_ids = np.asarray(modality), np.asarray(true_ids)
    _, codes = np.unique(true_ids, return_inverse=True)
    colours = np.array(sns.color_palette("husl", int(codes.max()) + 1))[codes]
    width = 11.5 if highlight is not None else 10
    fig, axes = plt.subplots(len(coords_by_name), 2, figsize=(width, 4.4 * len(coords_by_name)), squeeze=False)
    for (name, coords), row in zip(coords_by_name.items(), axes, strict=True):
        coords = np.asarray(coords)
        for m in (0, 1):
            rows = modality == m
            row[0].scatter(
                coords[rows, 0], coords[rows, 1], s=8, alpha=0.7, color=MODALITY_COLOURS[m], label=MODALITY_LABELS[m]
            )
        row[0].legend(markerscale=2)
        row[0].set_title("coloured by modality")
        row[0].set_ylabel(name, fontsize=9)
        if highlight is not None:
            _identity_panel(row[1], coords, modality, true_ids, list(highlight))
            row[1].set_title(f"{len(highlight)} identities in colour (marker = modality)")
        else:
            for m, marker in ((0, "o"), (1, "^")):
                rows = modality == m
                row[1].scatter(
                    coords[rows, 0],
                    coords[rows, 1],
                    s=10,
                    alpha=0.8,
                    c=colours[rows],
                    marker=marker,
                    label=f"{MODALITY_LABELS[m]} ({marker})",
                )
            row[1].legend(markerscale=2, fontsize=8)
            row[1].set_title("coloured by identity (marker = modality)")
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    return titled(fig, title)
