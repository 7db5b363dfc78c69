"""Issue 12's calibration targets, checked on a ladder's aggregate and paired differences.

All-search numbers, means over the seeds; "paired" = per seed (same start). A target whose rows did not
run is left out. The check only reads numbers; it decides nothing about training.
"""

from __future__ import annotations

import math
from typing import Any

from vireid_core.ladder_probes import SHARE

R1 = "all_rank1"


def _mean(table: dict[str, dict[str, dict[str, float]]], row: str, key: str) -> float | None:
    """Mean of ``key`` in ``row`` over the seeds, or None when absent."""
    metric = table.get(row, {}).get(key)
    return None if metric is None else float(metric["mean"])


def _row(target: str, measured: str, met: bool) -> dict[str, Any]:
    return {"target": target, "measured": measured, "met": bool(met)}


def _paired_rule(paired: dict[str, dict[str, dict[str, Any]]], better: str, base: str) -> dict[str, Any] | None:
    """ "better > base: the paired all-search R1 difference positive in >= 4 of 5 seeds" (>= 80 % of seeds)."""
    step = paired.get(f"{better} - {base}", {}).get(R1)
    if step is None:
        return None
    need = math.ceil(0.8 * step["n"])
    return _row(
        f"{better} > {base} (paired all R1 > 0 in ≥ 4 of 5 seeds)",
        f"{step['mean']:+.1f} on average, > 0 in {step['positive']}/{step['n']} seeds",
        step["positive"] >= need and step["n"] >= 1,
    )


def check_targets(
    table: dict[str, dict[str, dict[str, float]]], paired: dict[str, dict[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Each issue-12 target the ladder can be checked on: ``{"target", "measured", "met"}`` dicts."""
    out: list[dict[str, Any]] = []
    start, m1, m6, oracle = (_mean(table, r, R1) for r in ("start", "M1", "M6", "oracle"))
    if start is not None:
        out.append(_row("start ≤ 10 % Rank-1", f"{start:.1f}", start <= 10.0))
    share, chance = _mean(table, "start", SHARE), _mean(table, "start", f"{SHARE}_chance")
    if share is not None and chance is not None:
        out.append(
            _row(
                "start: other-modality share of the test 10-NN ≤ 1/10 of chance",
                f"{share:.4f} (chance {chance:.3f})",
                share <= chance / 10,
            )
        )
    mixed = _mean(table, "start", "plain_jaccard_mixed_fraction")
    if mixed is not None:
        out.append(_row("start: plain Jaccard + DBSCAN mixed clusters ≤ 5 %", f"{100 * mixed:.1f} %", mixed <= 0.05))
    if start is not None and m1 is not None:
        out.append(_row("M1 ≥ 2 × start", f"{m1:.1f} vs {start:.1f}", m1 >= 2 * start))
    if m1 is not None and m6 is not None:
        out.append(
            _row("M6 ≥ M1 + 10 points and ≥ 1.3 × M1", f"{m6:.1f} vs {m1:.1f}", m6 >= m1 + 10 and m6 >= 1.3 * m1)
        )
    if m6 is not None and oracle is not None:
        out.append(_row("oracle above M6", f"{oracle:.1f} vs {m6:.1f}", oracle > m6))
    for better, base in (("M2", "M1"), ("M3", "M2"), ("M6", "M3")):
        rule = _paired_rule(paired, better, base)
        if rule is not None:
            out.append(rule)
    m3 = _mean(table, "M3", R1)
    for row in ("M4", "M5"):
        value = _mean(table, row, R1)
        if value is not None and m3 is not None:
            out.append(_row(f"{row} not below M3 on the mean", f"{value:.1f} vs {m3:.1f}", value >= m3))
    after = _mean(table, "M6", SHARE)
    if after is not None and share is not None:
        out.append(
            _row(
                "after M6: other-modality share of the test 10-NN ≥ 10 % and ≥ 10 × the start's",
                f"{100 * after:.1f} % vs {100 * share:.2f} %",
                after >= 0.10 and after >= 10 * share,
            )
        )
    precision = _mean(table, "M6", "global_cross_modality_pair_precision")
    if precision is not None:
        out.append(
            _row(
                "M6: last global clustering's cross-modality pair precision ≥ 0.5", f"{precision:.3f}", precision >= 0.5
            )
        )
    return out


def format_targets(targets: list[dict[str, Any]], n_seeds: int = 5) -> str:
    """Markdown table of :func:`check_targets`: target, measured value, met or missed; with fewer than the
    5 seeds the targets are stated over, a first line says every "met" is provisional."""
    lines = ["| issue-12 target | measured | |", "|---|---|---|"]
    if n_seeds < 5:
        lines.insert(0, f"{n_seeds} of the 5 seeds the targets are stated over: every 'met' below is provisional.\n")
    lines += [f"| {t['target']} | {t['measured']} | {'met' if t['met'] else 'MISSED'} |" for t in targets]
    return "\n".join(lines)
