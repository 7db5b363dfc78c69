"""Figures made of person images: modality samples, neighbour strips and retrieval galleries."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.patches import Rectangle

from vireid_core.data.images import open_rgb
from vireid_core.data.records import Sample
from vireid_core.viz.base import MODALITY_COLOURS, MODALITY_LABELS, apply_style, plt, titled

MATCH_COLOURS = {True: "#1a9641", False: "#d7191c"}  # green = same identity, red = different


def _show(ax: plt.Axes, sample: Sample, frame: str | None = None, label: str | None = None) -> None:
    ax.imshow(np.asarray(open_rgb(sample.path)))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if frame is not None:
        h, w = ax.images[0].get_array().shape[:2]
        ax.add_patch(Rectangle((0, 0), w - 1, h - 1, fill=False, edgecolor=frame, linewidth=4))
    if label:
        ax.set_title(label, fontsize=7, fontweight="normal")


def plot_modality_samples(
    samples: Sequence[Sample],
    pids: Sequence[int],
    per_modality: int = 4,
    title: str = "What does one person look like to a visible and to an infrared camera?",
) -> plt.Figure:
    """A grid: one row per identity in ``pids``, ``per_modality`` visible then infrared images.

    Frames are coloured by modality (visible orange, infrared teal). Returns the figure.
    """
    apply_style()
    pids = list(pids)
    if not pids:
        raise ValueError("pids is empty: choose at least one identity to show")
    cols = 2 * per_modality
    fig, axes = plt.subplots(len(pids), cols, figsize=(1.1 * cols, 2.0 * len(pids)), squeeze=False)
    for r, pid in enumerate(pids):
        for m in (0, 1):
            own = [s for s in samples if s.pid == pid and s.modality == m]
            # alternate cameras (first image of every camera, then the second, ...)
            position = {id(s): sum(t.cam == s.cam for t in own[:k]) for k, s in enumerate(own)}
            chosen = sorted(own, key=lambda s: (position[id(s)], s.cam))[:per_modality]
            for c in range(per_modality):
                ax = axes[r, m * per_modality + c]
                if c < len(chosen):
                    label = f"id {pid} · cam {chosen[c].cam}" if c == 0 else f"cam {chosen[c].cam}"
                    _show(ax, chosen[c], MODALITY_COLOURS[m], label)
                else:
                    ax.axis("off")
    for m in (0, 1):
        axes[0, m * per_modality].annotate(
            MODALITY_LABELS[m], (0, 1.35), xycoords="axes fraction", color=MODALITY_COLOURS[m], fontweight="bold"
        )
    return titled(fig, title)


def plot_neighbour_strips(
    samples: Sequence[Sample],
    query: int,
    lists: dict[str, Sequence[int]],
    title: str = "Whom does the query see as its nearest neighbours?",
) -> plt.Figure:
    """One row per neighbour list: the query image, then its neighbours in rank order.

    Frames: modality colour; the caption under each neighbour says whether it is the same person
    (✓) or not (✗). Returns the figure.
    """
    apply_style()
    width = max(len(ids) for ids in lists.values()) + 1
    fig, axes = plt.subplots(len(lists), width, figsize=(0.95 * width, 2.1 * len(lists)), squeeze=False)
    q = samples[query]
    for r, (name, ids) in enumerate(lists.items()):
        _show(axes[r, 0], q, "black", "query")
        axes[r, 0].set_ylabel(name, fontsize=9, rotation=0, ha="right", va="center")
        for c in range(1, width):
            ax = axes[r, c]
            if c - 1 >= len(ids):
                ax.axis("off")
                continue
            s = samples[int(ids[c - 1])]
            mark = "✓" if s.pid == q.pid else "✗"
            _show(ax, s, MODALITY_COLOURS[s.modality], f"{c}. {mark}")
        other = sum(samples[int(i)].modality != q.modality for i in ids)
        axes[r, -1].annotate(
            f"{other}/{len(ids)} other modality", (1.05, 0.5), xycoords="axes fraction", fontsize=8, va="center"
        )
    return titled(fig, title)


QUERY_FRAME = "#333333"  # dark grey: neither a modality colour nor a match colour


def plot_retrieval_gallery(
    queries: Sequence[Sample],
    gallery: Sequence[Sample],
    ranked: np.ndarray,
    correct: np.ndarray,
    title: str = "Which gallery images does the model rank first for an infrared query?",
    row_labels: Sequence[str] | None = None,
) -> plt.Figure:
    """Each row: a query (dark grey frame, :data:`QUERY_FRAME`), then its top-k gallery images framed green
    (same person) or red; a legend names the three frames.

    ``ranked`` int [Q, k] gallery row ids, ``correct`` bool [Q, k] (see
    :func:`vireid_core.analysis.top_matches`); ``row_labels`` (one per query, e.g. "best · AP 0.82") are
    written above each query with its id. Returns the figure.
    """
    apply_style()
    ranked, correct = np.asarray(ranked), np.asarray(correct)
    if ranked.shape != correct.shape or ranked.shape[0] != len(queries):
        raise ValueError(
            f"ranked {ranked.shape} and correct {correct.shape} must both be [len(queries)={len(queries)}, k]"
        )
    if row_labels is not None and len(row_labels) != len(queries):
        raise ValueError(f"row_labels needs one label per query ({len(queries)}), got {len(row_labels)}")
    k = ranked.shape[1]
    fig, axes = plt.subplots(len(queries), k + 1, figsize=(0.95 * (k + 1), 2.1 * len(queries) + 0.5), squeeze=False)
    for r, q in enumerate(queries):
        label = f"query id {q.pid}" if row_labels is None else f"{row_labels[r]}\nquery id {q.pid}"
        _show(axes[r, 0], q, QUERY_FRAME, label)
        for c in range(k):
            _show(axes[r, c + 1], gallery[int(ranked[r, c])], MATCH_COLOURS[bool(correct[r, c])], f"{c + 1}")
    handles = [
        Rectangle((0, 0), 1, 1, fill=False, edgecolor=QUERY_FRAME, linewidth=3, label="query"),
        Rectangle((0, 0), 1, 1, fill=False, edgecolor=MATCH_COLOURS[True], linewidth=3, label="same person"),
        Rectangle((0, 0), 1, 1, fill=False, edgecolor=MATCH_COLOURS[False], linewidth=3, label="different person"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, bbox_to_anchor=(0.5, -0.01))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
