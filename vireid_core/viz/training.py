"""Training figures: a live plot driven by the engine's callbacks, and split prototypes (notebook 03)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vireid_core.learning.callbacks import Callback
from vireid_core.viz.base import (
    MODALITY_COLOURS,
    STAGE_COLOURS,
    apply_style,
    draw_ceiling,
    last_value,
    plt,
    save_figure,
    sns,
    titled,
)


def _series(history: Sequence[dict[str, Any]], *keys: str) -> list[float]:
    """The first of ``keys`` present in each record (NaN when none is)."""
    values = []
    for record in history:
        value = next((record[k] for k in keys if record.get(k) is not None), None)
        values.append(float(value) if value is not None else float("nan"))
    return values


def plot_live_training(
    history: Sequence[dict[str, Any]],
    iteration_losses: Sequence[dict[str, Any]],
    title: str = "Is training converging, and are the clusters getting better?",
) -> plt.Figure:
    """2×2 view of a run so far: per-iteration losses, clusters per epoch, ARI per epoch (with the
    single-modality ceiling ARI dashed, once stage 2 reports it), and the cross-modality mixing of the
    global clusters (stage 2: mixed share and cross-modality pair precision). Returns the figure."""
    apply_style()
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.4))
    ax = axes[0, 0]
    for key, label in (("loss_intra", "intra (step A)"), ("loss_global", "global (step B)")):
        points = [(i, r[key]) for i, r in enumerate(iteration_losses) if r.get(key) is not None]
        if points:
            x, y = zip(*points, strict=True)
            ax.plot(x, y, linewidth=0.8, label=label)
    for stage in (1, 2):
        start = next((i for i, r in enumerate(iteration_losses) if r["stage"] == stage), None)
        if start is not None and stage == 2:
            ax.axvline(start, color="grey", linestyle=":")
    ax.set_title("loss per iteration")
    ax.set_xlabel("iteration")
    ax.legend(fontsize=8)
    x = list(range(len(history)))
    ticks = [f"S{r['stage']}E{r['epoch']}" for r in history]
    for key, label, colour in (
        ("clusters_ir", "infrared", MODALITY_COLOURS[1]),
        ("clusters_vis", "visible subset", MODALITY_COLOURS[0]),
        ("clusters_global", "global", "black"),
    ):
        axes[0, 1].plot(x, _series(history, key), marker="o", color=colour, label=label)
    axes[0, 1].set_title("pseudo identities (clusters) per epoch")
    for key, label in (("ari_ir", "infrared"), ("ari_vis", "visible"), ("global_ari", "global")):
        axes[1, 0].plot(x, _series(history, key), marker="o", label=label)
    draw_ceiling(axes[1, 0], last_value(history, "global_single_modality_ceiling_ari"))
    axes[1, 0].set_title("ARI of the pseudo labels vs the true ids")
    axes[1, 0].set_ylim(-0.02, 1.02)
    axes[1, 1].plot(
        x,
        _series(history, "global_mixed_fraction"),
        marker="o",
        color=STAGE_COLOURS[2],
        label="global clusters holding both modalities",
    )
    axes[1, 1].plot(
        x,
        _series(history, "global_cross_pair_precision", "global_cross_modality_pair_precision"),
        marker="s",
        color="grey",
        label="cross-modality pair precision",
    )
    axes[1, 1].set_title("cross-modality mixing (stage 2)")
    axes[1, 1].set_ylim(-0.02, 1.02)
    for a in (axes[0, 1], axes[1, 0], axes[1, 1]):
        a.set_xticks(x, ticks, rotation=45, fontsize=7)
        a.legend(fontsize=8)
    return titled(fig, title)


class LiveTrainingPlot(Callback):
    """Redraw :func:`plot_live_training` after every epoch, in place in a notebook (or silently when
    there is no IPython), and save the last drawing to ``figures_dir/name.png`` at the end of the run.

    It only listens to the engine's hooks: there is no second training loop.
    """

    def __init__(
        self, figures_dir: str | Path | None = None, name: str = "03_live_training", display: bool = True
    ) -> None:
        self.figures_dir, self.name, self.display = figures_dir, name, display
        self.history: list[dict[str, Any]] = []
        self.associations: list[dict[str, Any]] = []
        self.iteration_losses: list[dict[str, Any]] = []
        self.saved: Path | None = None

    def on_association(self, stage: int, epoch: int, report: dict[str, Any]) -> None:
        self.associations.append({"stage": stage, "epoch": epoch, **report})

    def on_iteration(self, stage: int, epoch: int, iteration: int, losses: dict[str, float]) -> None:
        self.iteration_losses.append({"stage": stage, "epoch": epoch, "iteration": iteration, **losses})

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        self.history.append(dict(record))
        self._redraw(final=False)

    def on_run_end(self, summary: dict[str, Any]) -> None:
        self._redraw(final=True)

    def _redraw(self, final: bool) -> None:
        fig = plot_live_training(self.history, self.iteration_losses)
        if self.display:
            try:
                from IPython.display import clear_output, display

                clear_output(wait=True)
                display(fig)
            except ImportError:  # plain Python: nothing to draw into
                pass
        if final and self.figures_dir is not None:
            self.saved = save_figure(fig, self.name, self.figures_dir)
        plt.close(fig)


def plot_prototypes(
    coords: np.ndarray,
    labels: np.ndarray,
    modality: np.ndarray,
    proto_coords: np.ndarray,
    proto_cluster: np.ndarray,
    proto_modality: np.ndarray,
    title: str = "Where do the visible and infrared prototypes of a mixed cluster sit?",
) -> plt.Figure:
    """Members of a few global clusters (dots, marker = modality) with their split prototypes (large
    stars) in a 2-D projection; a line joins the two prototypes of one cluster, the pair the
    multi-positive loss pulls together. Returns the figure."""
    apply_style()
    coords, labels, modality = np.asarray(coords), np.asarray(labels), np.asarray(modality)
    clusters = list(dict.fromkeys(np.asarray(proto_cluster).tolist()))
    palette = dict(zip(clusters, sns.color_palette("tab10", len(clusters)), strict=True))
    fig, ax = plt.subplots(figsize=(6.8, 5.2))
    for c in clusters:
        for m, marker in ((0, "o"), (1, "^")):
            rows = (labels == c) & (modality == m)
            ax.scatter(coords[rows, 0], coords[rows, 1], s=18, alpha=0.55, marker=marker, color=palette[c])
        own = np.flatnonzero(np.asarray(proto_cluster) == c)
        ax.plot(proto_coords[own, 0], proto_coords[own, 1], color=palette[c], linewidth=1.5)
        for p in own:
            ax.scatter(
                proto_coords[p, 0],
                proto_coords[p, 1],
                s=260,
                marker="*",
                color=palette[c],
                edgecolor=MODALITY_COLOURS[int(proto_modality[p])],
                linewidth=2,
                zorder=3,
            )
    ax.scatter([], [], marker="o", color="grey", label="visible member")
    ax.scatter([], [], marker="^", color="grey", label="infrared member")
    ax.scatter([], [], marker="*", s=160, color="white", edgecolor=MODALITY_COLOURS[0], label="visible prototype")
    ax.scatter([], [], marker="*", s=160, color="white", edgecolor=MODALITY_COLOURS[1], label="infrared prototype")
    ax.legend(fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    fig.tight_layout()
    return fig
