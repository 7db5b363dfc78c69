"""What the notebooks' figures show and measure so that they cannot mislead: scale-free separation of
pair distances, which identities and queries a figure picks (by seed or by quality, never "the first
ones"), the slider range of notebook 02, and the ablation as paired per-seed differences.

Ground-truth identities are read here for diagnostics only, as in :mod:`vireid_core.analysis.rectification`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from vireid_core.ablation import COMPARISONS
from vireid_core.analysis.notebook_parameters import whole_number
from vireid_core.analysis.rectification import PAIR_KINDS
from vireid_core.data.images import open_rgb
from vireid_core.data.records import Sample


def pair_auc(table: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per measure, how well a distance ranks same-person pairs before different-person pairs: ROC AUCs
    with the negated distance as score. Scale-free (any monotone rescaling of a measure gives the same
    value), so it compares models whose distances differ in scale.

    ``table`` is :func:`vireid_core.analysis.distance_table` output. Returns ``{measure: {"cross_modality":
    same-person cross-modality pairs against different-person cross-modality pairs (what retrieval across
    modalities faces), "cross_vs_same_modality": the same pairs against different-person same-modality pairs
    (what clustering over both modalities faces), "same_modality": same-person against different-person
    same-modality pairs}}``: 0.5 = no closer than a different person, 1 = always closer; NaN when a kind is
    missing.
    """
    out: dict[str, dict[str, float]] = {}
    measures, pairs = np.asarray(table["measure"]), np.asarray(table["pair"])
    distances = np.asarray(table["distance"], dtype=np.float64)
    contrasts = {
        "cross_modality": (PAIR_KINDS[1], PAIR_KINDS[3]),
        "cross_vs_same_modality": (PAIR_KINDS[1], PAIR_KINDS[2]),
        "same_modality": (PAIR_KINDS[0], PAIR_KINDS[2]),
    }
    for measure in dict.fromkeys(measures.tolist()):
        rows = measures == measure
        out[measure] = {}
        for key, (positive, negative) in contrasts.items():
            same, other = rows & (pairs == positive), rows & (pairs == negative)
            if not same.any() or not other.any():
                out[measure][key] = float("nan")
                continue
            keep = same | other
            out[measure][key] = float(roc_auc_score(same[keep], -distances[keep]))
    return out


def gap_ratio(gap: dict[str, float]) -> dict[str, float]:
    """Scale-free form of :func:`vireid_core.association.modality_gap`: ``{"all": cross / intra mean
    distance, "same_id": the same over same-person pairs}`` (1 = the modality adds nothing; NaN when a
    mean is missing or zero)."""

    def ratio(cross: float | None, intra: float | None) -> float:
        if cross is None or intra is None or not np.isfinite(cross) or not np.isfinite(intra) or intra == 0:
            return float("nan")
        return float(cross / intra)

    return {
        "all": ratio(gap.get("cross"), gap.get("intra")),
        "same_id": ratio(gap.get("cross_same_id"), gap.get("intra_same_id")),
    }


def highlight_identities(true_ids: Any, count: int = 6, seed: int = 0) -> list[int]:
    """``count`` identities of ``true_ids`` drawn with ``seed`` (sorted; all of them if there are fewer):
    the few a scatter plot colours while the rest stay grey."""
    count = whole_number("count", count, minimum=1)
    unique = np.unique(np.asarray(true_ids))
    return sorted(int(p) for p in np.random.default_rng(seed).permutation(unique)[:count])


def _upper_garment(sample: Sample) -> np.ndarray:
    """Mean and spread of RGB in the upper-body box of one image (rows 22–50 %, middle half): float [6]."""
    image = np.asarray(open_rgb(sample.path), dtype=np.float64) / 255.0
    h, w = image.shape[:2]
    box = image[
        int(0.22 * h) : max(int(0.5 * h), int(0.22 * h) + 1), int(0.25 * w) : max(int(0.75 * w), int(0.25 * w) + 1)
    ]
    pixels = box.reshape(-1, 3)
    return np.concatenate([pixels.mean(axis=0), pixels.std(axis=0)])


def distinct_identities(samples: Sequence[Sample], count: int = 3, seed: int = 0) -> list[int]:
    """``count`` identities that look different in visible light, chosen deterministically by ``seed``.

    Each identity is described by the mean and spread of the colours of the upper-body region of its
    first visible image (garment colour and pattern); the first identity is drawn with ``seed``, each next
    one is the identity farthest from all chosen so far (farthest-point selection). Returns pids in the
    order chosen; identities without a visible image are skipped.
    """
    count = whole_number("count", count, minimum=1)
    first: dict[int, Sample] = {}
    for s in samples:
        if s.modality == 0 and s.pid not in first:
            first[s.pid] = s
    pids = sorted(first)
    if not pids:
        raise ValueError("no visible images: cannot choose identities by appearance")
    looks = np.stack([_upper_garment(first[p]) for p in pids])
    chosen = [int(np.random.default_rng(seed).integers(len(pids)))]
    nearest = np.linalg.norm(looks - looks[chosen[0]], axis=1)
    while len(chosen) < min(count, len(pids)):
        nearest[chosen] = -1.0
        chosen.append(int(np.argmax(nearest)))
        nearest = np.minimum(nearest, np.linalg.norm(looks - looks[chosen[-1]], axis=1))
    return [pids[i] for i in chosen]


def query_average_precision(
    query_features: Any, gallery_features: Any, query_pids: Any, gallery_pids: Any
) -> np.ndarray:
    """Average precision of every query over the whole gallery ranking (inner product, ties by lower
    index): float64 [Q], NaN for a query without a match in the gallery."""
    q, g = np.asarray(query_features, np.float32), np.asarray(gallery_features, np.float32)
    order = np.argsort(-(q @ g.T), axis=1, kind="stable")
    hits = np.asarray(gallery_pids)[order] == np.asarray(query_pids)[:, None]
    ranks = np.arange(1, hits.shape[1] + 1)
    found = np.cumsum(hits, axis=1)
    n_hits = hits.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (hits * found / ranks).sum(axis=1) / n_hits
    return np.where(n_hits > 0, ap, np.nan)


def ap_quantiles(count: int) -> list[float]:
    """The AP quantiles a gallery of ``count`` rows shows, best first: 1 → [0.5]; 2 → [1, 0]; 3 → [1, 0.5,
    0]; more → evenly spaced from 1 to 0 with the median in place of the value nearest to it."""
    count = whole_number("count", count, minimum=1)
    if count == 1:
        return [0.5]
    values = [float(v) for v in np.linspace(1.0, 0.0, count)]
    if count > 3:  # best and worst stay; the inner value nearest the median becomes the median
        values[1 + int(np.argmin([abs(v - 0.5) for v in values[1:-1]]))] = 0.5
    return values


def quantile_queries(ap: Any, quantiles: Sequence[float] = (1.0, 0.5, 0.0)) -> list[int]:
    """The query at each AP quantile (1 = best, 0.5 = median, 0 = worst): indices into ``ap`` (float [Q]),
    in the order of ``quantiles``. Queries are sorted by AP (ties by lower index; NaN never chosen) and
    quantile q picks the query at position round(q · (n − 1)) from the worst; a query is not chosen twice
    while unused ones remain."""
    ap = np.asarray(ap, dtype=np.float64)
    valid = np.flatnonzero(np.isfinite(ap))
    if not len(valid):
        raise ValueError("no query has a finite AP (no query has a match in the gallery)")
    ranked = valid[np.lexsort((valid, ap[valid]))]  # worst first
    chosen: list[int] = []
    for q in quantiles:
        if not 0.0 <= float(q) <= 1.0:
            raise ValueError(f"quantiles must lie in [0, 1], got {q}")
        position = int(round(float(q) * (len(ranked) - 1)))
        free = [p for p in range(len(ranked)) if int(ranked[p]) not in chosen]
        if free and int(ranked[position]) in chosen:
            position = min(free, key=lambda p: (abs(p - position), p))
        chosen.append(int(ranked[position]))
    return chosen


def quantile_label(q: float) -> str:
    """How a gallery row at AP quantile ``q`` is named: "best", "median", "worst" or "AP quantile 33 %"."""
    return {1.0: "best", 0.5: "median", 0.0: "worst"}.get(float(q), f"AP quantile {q:.0%}")


def k1_slider_values(k1: int, modality: Any, true_ids: Any, largest: int = 60) -> list[int]:
    """Positions of notebook 02's k1 slider and sweep: below and at the analysed ``k1``, then up to
    ``largest`` — past twice the images a person has in the smaller modality, where neighbourhoods start
    to chain different people — capped at twice the smaller modality's size (what the modality-aware
    Jaccard allows). Sorted ints, at least 4."""
    mods, ids = np.asarray(modality), np.asarray(true_ids)
    limit = 2 * min(int(np.sum(mods == 0)), int(np.sum(mods == 1)))
    per_person = min(
        int(np.median(np.unique(ids[mods == m], return_counts=True)[1])) if np.any(mods == m) else 0 for m in (0, 1)
    )
    wanted = {max(4, k1 - 6), k1, k1 + 10, 2 * per_person, largest}
    return sorted(v for v in wanted if 4 <= v <= limit) or [min(max(4, k1), max(limit, 2))]


def ablation_steps(
    runs: dict[str, list[dict[str, float]]], metrics: Sequence[str] = ("all_rank1", "all_mAP")
) -> dict[str, dict[str, list[float]]]:
    """Per-seed differences of an ablation (``ablation.json``'s ``runs``: row → per-seed numbers in seed
    order; every row of one seed shares its start): ``{"M3 - M2": {metric: [difference per seed]}}``.

    The steps are the one-component comparisons of :data:`vireid_core.ablation.COMPARISONS` between M rows
    that ran; when none did (e.g. only M2 and M6), each M row minus the one before it. A seed missing a
    metric in either row is left out of that list.
    """
    names = [n for n in runs if n.startswith("M")]
    steps = [(a, b) for a, b in COMPARISONS if a in names and b in names]
    if not steps:
        steps = list(zip(names[1:], names[:-1], strict=True))
    out: dict[str, dict[str, list[float]]] = {}
    for better, base in steps:
        out[f"{better} - {base}"] = {
            metric: [
                float(b[metric] - a[metric])
                for a, b in zip(runs[base], runs[better], strict=True)
                if metric in a and metric in b
            ]
            for metric in metrics
        }
    return out
