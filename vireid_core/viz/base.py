"""Plotting helpers shared by the CLI and the notebooks: one style, one way to save.

Every function returns a matplotlib ``Figure`` (it never calls ``plt.show``) so that notebooks
display it and :func:`save_figure` writes it to ``figures/``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if matplotlib.get_backend().lower() not in (
    "module://matplotlib_inline.backend_inline",
    "nbagg",
    "widget",
    "ipympl",
    "module://ipympl.backend_nbagg",
):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

MODALITY_COLOURS = {0: "#d95f02", 1: "#1b9e77"}  # visible orange, infrared teal
MODALITY_LABELS = {0: "visible", 1: "infrared"}
STAGE_COLOURS = {1: "#7570b3", 2: "#e7298a"}


def apply_style() -> None:
    """The project's one plotting style (seaborn whitegrid, readable fonts)."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.95)
    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 130,
            "axes.titleweight": "bold",
            "axes.titlesize": 11,
            "figure.titlesize": 12,
        }
    )


def titled(fig: Figure, title: str) -> Figure:
    """``fig`` with its title (``suptitle``) and a tight layout (unless it already has a layout engine,
    e.g. the constrained layout of :func:`detached_figure`): the last step of most figures here."""
    fig.suptitle(title)
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    return fig


def save_figure(fig: Figure, name: str, figures_dir: str | Path = "figures") -> Path:
    """Save ``fig`` as ``figures_dir/name.png`` (tight bounding box); returns the path."""
    path = Path(figures_dir) / (name if name.endswith(".png") else f"{name}.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    return path


def detached_figure(figsize: tuple[float, float]) -> Figure:
    """A figure that pyplot does not know about, drawn by its own Agg canvas.

    Neither ``plt.show``, the inline backend's end-of-cell flush nor any other pyplot redraw ever
    touches it, so it can be rendered on any thread (see :func:`figure_png`). Uses constrained layout.
    """
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """``fig`` rendered once into PNG bytes (same size every call: no tight bounding box)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def last_value(history: Sequence[dict[str, Any]], key: str) -> float | None:
    """The last non-null ``key`` of the records, or None."""
    values = [r[key] for r in history if r.get(key) is not None]
    return float(values[-1]) if values else None


def draw_ceiling(ax: Any, ceiling: float | None) -> None:
    """A dashed black line at the single-modality ceiling ARI (a perfect clustering that never merges the
    modalities), labelled for the legend; nothing when ``ceiling`` is None."""
    if ceiling is not None:
        ax.axhline(
            ceiling, color="black", linestyle="--", linewidth=1.2, label=f"single-modality ceiling {ceiling:.2f}"
        )


def plot_training_curves(history: Sequence[dict[str, Any]], title: str | None = None) -> plt.Figure:
    """Per-epoch clusters, clustering quality and losses of a run (both stages on one time axis).

    Returns a 1×3 figure: (a) cluster counts per modality and global, (b) ARI of the intra and
    global pseudo labels against the true ids, the share of mixed-modality global clusters and the
    cross-modality pair precision of the global clusters, with the single-modality ceiling ARI dashed,
    (c) mean intra and global losses. ``title`` becomes the figure's title (laid out above the panels).
    """
    apply_style()
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    x = list(range(len(history)))
    ticks = [f"S{r['stage']}E{r['epoch']}" for r in history]

    def series(key: str) -> list[float]:
        return [r.get(key) if r.get(key) is not None else float("nan") for r in history]

    for key, label, colour in (
        ("clusters_ir", "infrared", MODALITY_COLOURS[1]),
        ("clusters_vis", "visible (subset)", MODALITY_COLOURS[0]),
        ("clusters_global", "global", "black"),
    ):
        axes[0].plot(x, series(key), marker="o", label=label, color=colour)
    axes[0].set_title("pseudo identities per epoch")
    for key, label, style in (
        ("ari_ir", "ARI infrared", "-"),
        ("ari_vis", "ARI visible", "-"),
        ("global_ari", "ARI global", "-"),
        ("global_mixed_fraction", "mixed global clusters", "--"),
        ("global_cross_modality_pair_precision", "cross-modality pair precision", ":"),
    ):
        axes[1].plot(x, series(key), marker="o", linestyle=style, label=label)
    draw_ceiling(axes[1], last_value(history, "global_single_modality_ceiling_ari"))
    axes[1].set_ylim(0, 1)
    axes[1].set_title("pseudo-label quality (true ids, diagnostics only)")
    axes[2].plot(x, series("loss_intra"), marker="o", label="intra (hybrid memory)")
    axes[2].plot(x, series("loss_global"), marker="o", label="global (multi-positive)")
    axes[2].set_title("mean loss per epoch")
    for ax in axes:
        ax.set_xticks(x, ticks, rotation=60, fontsize=7)
        ax.legend(fontsize=8)
    boundary = next((i for i, r in enumerate(history) if r["stage"] == 2), None)
    if boundary is not None:
        for ax in axes:
            ax.axvline(boundary - 0.5, color="grey", linestyle=":")
    if title:
        return titled(fig, title)
    fig.tight_layout()
    return fig


def plot_stage_results(evaluations: dict[str, Any], title: str | None = None) -> plt.Figure:
    """Bar chart of Rank-1 and mAP (percent) per stage and search mode; ``title`` above the panels."""
    apply_style()
    rows = [
        (stage, mode, metric, 100 * values[metric])
        for stage, modes in evaluations.items()
        if stage != "selection"
        for mode, values in modes.items()
        for metric in ("rank1", "mAP")
    ]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, metric in zip(axes, ("rank1", "mAP"), strict=True):
        sub = [(s, m, v) for s, m, k, v in rows if k == metric]
        modes = sorted({m for _, m, _ in sub})
        stages = list(dict.fromkeys(s for s, _, _ in sub))
        width = 0.8 / max(len(stages), 1)
        for i, stage in enumerate(stages):
            values = [next((v for s, m, v in sub if s == stage and m == mode), 0.0) for mode in modes]
            bars = ax.bar(
                [j + i * width for j in range(len(modes))],
                values,
                width=width,
                label=stage,
                color=STAGE_COLOURS.get(i + 1),
            )
            ax.bar_label(bars, fmt="%.1f", fontsize=8)
        ax.set_xticks([j + width * (len(stages) - 1) / 2 for j in range(len(modes))], modes)
        ax.set_title({"rank1": "Rank-1 (%)", "mAP": "mAP (%)"}[metric])
        ax.legend(fontsize=8)
    if title:
        return titled(fig, title)
    fig.tight_layout()
    return fig


def demo_figures(result: Any, config: Any, figures_dir: str | Path = "figures") -> list[Path]:
    """The figures ``demo`` writes: training curves and the stage-1 vs stage-2 results."""
    written = [save_figure(plot_training_curves(result.history), "demo_training_curves", figures_dir)]
    if result.evaluations:
        written.append(save_figure(plot_stage_results(result.evaluations), "demo_stage_results", figures_dir))
    plt.close("all")
    return written
