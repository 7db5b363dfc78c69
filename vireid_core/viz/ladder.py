"""The baseline ladder as a figure: each row's mean over seeds, its spread, and every seed's own value.

Reads the ``ablation.json`` the ``ablation --ladder`` command writes (``runs[row]`` is one dict of
metrics per finished seed). Nothing is recomputed: the figure shows the stored numbers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from vireid_core.run_dir import AblationDir
from vireid_core.viz.base import detached_figure, titled

LADDER_ROWS = ("untrained", "start", "M1", "M6", "oracle")
LADDER_LABELS = {
    "untrained": "untrained\n(random)",
    "start": "start\n(no cross-\nmodality labels)",
    "M1": "M1\nstage 1 only",
    "M2": "M2",
    "M3": "M3",
    "M4": "M4",
    "M5": "M5",
    "M6": "M6\nfull BMIL",
    "oracle": "oracle\n(true labels)",
}


def load_ladder(path: str | Path) -> dict[str, Any]:
    """The ablation/ladder record at ``path`` (an ``ablation.json`` or the folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = AblationDir(path).summary
    if not path.is_file():
        raise FileNotFoundError(f"no ladder record at {path}: expected the ablation.json of `ablation --ladder`")
    return json.loads(path.read_text())


def ladder_values(record: dict[str, Any], row: str, metric: str = "all_rank1") -> np.ndarray:
    """One value of ``metric`` per finished seed of ``row``, in the record's seed order; shape [n_seeds]."""
    runs = record.get("runs", {}).get(row)
    if not runs:
        raise KeyError(f"the ladder record has no finished seed of row {row!r}; rows: {sorted(record.get('runs', {}))}")
    return np.array([run[metric] for run in runs], dtype=float)


def plot_baseline_ladder(
    record: dict[str, Any],
    rows: Sequence[str] = LADDER_ROWS,
    metric: str = "all_rank1",
    label: str = "all-search Rank-1 (%)",
    title: str | None = None,
) -> Figure:
    """Bars of each row's mean ``metric`` with ± one sample std over seeds, and one dot per seed.

    Rows absent from ``record`` are skipped. Returns the figure (one axis, rows left to right).
    """
    present = [row for row in rows if record.get("runs", {}).get(row)]
    values_of = {row: ladder_values(record, row, metric) for row in present}
    fig = detached_figure((1.5 * len(present) + 1.5, 3.8))
    ax = fig.add_subplot(1, 1, 1)
    rng = np.random.default_rng(0)  # horizontal jitter of the seed dots only
    for x, row in enumerate(present):
        values = values_of[row]
        std = float(values.std(ddof=1)) if values.size > 1 else 0.0
        ax.bar(x, values.mean(), color="#9ecae1" if row != "oracle" else "#d9d9d9", edgecolor="#3182bd", width=0.65)
        ax.errorbar(x, values.mean(), yerr=std, color="black", capsize=4, lw=1.2)
        ax.scatter(x + rng.uniform(-0.12, 0.12, values.size), values, s=16, color="black", zorder=3)
        ax.text(x, values.mean() + std + 0.6, f"{values.mean():.1f}", ha="center", va="bottom", fontsize=9)
    n_seeds = len(record.get("seeds", []))
    ax.set_xticks(range(len(present)), [LADDER_LABELS.get(row, row) for row in present], fontsize=8)
    ax.set_ylabel(label)
    ax.set_ylim(0, max(values.max() for values in values_of.values()) * 1.15 + 1)
    default = f"Baseline ladder ({n_seeds} seeds: bar = mean, line = ± std, dots = seeds)"
    return titled(fig, title or default)
