"""Query and gallery construction of the SYSU-MM01, RegDB and LLCM test protocols.

Gallery sampling reproduces the field's code (docs/method.md §9, §11 Q16): for trial t a generator
seeded with t walks the identities in ascending order and, for each identity, the cameras in a fixed
order; for every (identity, camera) group that has images it draws from the group's *sorted* file
list. Single-shot uses ``choice`` (one image), which gives exactly the baseline's picks because a
private ``random.Random(t)`` produces the same stream as the baseline's ``random.seed(t)`` — but
without touching Python's global ``random`` state. Multi-shot (the official protocol's 10 images per
identity and camera) draws ``sample(group, min(shots, len(group)))`` from the same generator, i.e.
without replacement, the whole group when it is smaller; the picked images are returned in path
order within their group. (The official MATLAB code uses the fixed permutations of
``rand_perm_cam.mat`` instead; neither the Python baselines nor this module reproduce those, and the
numbers in the literature come from the Python single-shot procedure.)

Camera orders: SYSU all-search (1, 2, 4, 5), indoor (1, 2); LLCM the cameras present, ascending
(VIS 1..9, NIR 1, 2, 4..9 — DEEN's folder lists). An (identity, camera) group without images is
skipped and consumes no random number, exactly like a missing folder in the baseline.

A *protocol plan* (``plan_protocol``) lists, for each evaluated setting (e.g. "all-search" or
"thermal→visible") and trial, which rows of the dataset's ``query`` list and ``gallery_candidates``
list form the query set and the gallery; `vireid_core.evaluation.evaluate` runs it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from vireid_core import data
from vireid_core.data.records import INFRARED, VISIBLE, Sample

SYSU_GALLERY_CAMS: dict[str, tuple[int, ...]] = {"all": (1, 2, 4, 5), "indoor": (1, 2)}
SYSU_MODE_NAMES = {"all": "all-search", "indoor": "indoor-search"}
REGDB_DIRECTIONS: dict[str, str] = {
    "visible_to_thermal": "visible→thermal",
    "thermal_to_visible": "thermal→visible",
}
LLCM_DIRECTIONS: dict[str, str] = {
    "ir_to_vis": "IR→VIS",
    "vis_to_ir": "VIS→IR (DEEN-compatible: sampled NIR queries, all VIS gallery)",
    "vis_to_ir_natural": "VIS→IR (natural: all VIS queries, sampled NIR gallery)",
}
LLCM_DEFAULT_DIRECTIONS = ("ir_to_vis", "vis_to_ir")
DEFAULT_SYSU_TRIALS = tuple(range(10))
Side = Literal["query", "candidates"]


def _group_by_identity_and_camera(samples: Sequence[Sample], cams_order: Sequence[int]) -> list[list[int]]:
    """Indices of `samples` grouped by (pid, cam): pids ascending, cams in `cams_order`, paths sorted."""
    wanted = set(cams_order)
    groups: dict[tuple[int, int], list[int]] = {}
    for index, sample in enumerate(samples):
        if not isinstance(sample, Sample):
            raise TypeError(f"gallery candidate {index} is {type(sample).__name__}, expected Sample")
        if sample.cam in wanted:
            groups.setdefault((sample.pid, sample.cam), []).append(index)
    ordered = []
    for pid in sorted({pid for pid, _ in groups}):
        for cam in cams_order:
            members = groups.get((pid, cam))
            if members:
                ordered.append(sorted(members, key=lambda i: samples[i].path))
    return ordered


def sample_gallery_indices(
    candidates: Sequence[Sample], cams_order: Sequence[int], trial: int, shots: int = 1
) -> list[int]:
    """Indices into `candidates` of one trial's gallery (see the module docstring for the rule).

    Args:
        candidates: every image that may enter the gallery (any order).
        cams_order: cameras in the fixed visiting order (e.g. (1, 2, 4, 5)); other cameras are ignored.
        trial: seed of the private generator (0..9 in the field).
        shots: images per (identity, camera) group: 1 = single-shot (baseline), 10 = multi-shot.

    Returns:
        list of indices, identities ascending, cameras in `cams_order`, one block per existing group.
    """
    if not isinstance(trial, int | np.integer) or trial < 0:
        raise ValueError(f"trial must be an int >= 0, got {trial!r}")
    if not isinstance(shots, int | np.integer) or shots < 1:
        raise ValueError(f"shots must be a positive int (1 = single-shot, 10 = multi-shot), got {shots!r}")
    if len(cams_order) == 0 or len(set(cams_order)) != len(cams_order):
        raise ValueError(f"cams_order must list distinct cameras, got {tuple(cams_order)!r}")
    rng = random.Random(int(trial))
    picked: list[int] = []
    for group in _group_by_identity_and_camera(candidates, cams_order):
        if shots == 1:
            picked.append(rng.choice(group))
        else:
            chosen = set(rng.sample(group, min(int(shots), len(group))))
            picked.extend(i for i in group if i in chosen)
    if not picked:
        raise ValueError(f"no gallery candidate is from cameras {tuple(cams_order)} ({len(candidates)} candidates)")
    return picked


def sample_gallery(candidates: Sequence[Sample], cams_order: Sequence[int], trial: int, shots: int = 1) -> list[Sample]:
    """The gallery `Sample`s of one trial; same rule as `sample_gallery_indices`."""
    return [candidates[i] for i in sample_gallery_indices(candidates, cams_order, trial, shots)]


def sysu_cams(mode: str) -> tuple[int, ...]:
    """Gallery cameras of a SYSU-MM01 search mode ("all" → 1, 2, 4, 5; "indoor" → 1, 2)."""
    if mode not in SYSU_GALLERY_CAMS:
        raise ValueError(f"SYSU-MM01 mode must be one of {tuple(SYSU_GALLERY_CAMS)}, got {mode!r}")
    return SYSU_GALLERY_CAMS[mode]


def sysu_query(root: str) -> list[Sample]:
    """All infrared test images of SYSU-MM01 at `root` (ids ascending, cam3 then cam6, files sorted)."""
    return list(data.load_dataset("sysu", root).query)


def sysu_gallery(root: str, mode: str = "all", trial: int = 0, shots: int = 1) -> list[Sample]:
    """One trial's SYSU-MM01 visible gallery ("all": cams 1, 2, 4, 5; "indoor": cams 1, 2)."""
    return sample_gallery(data.load_dataset("sysu", root).gallery_candidates, sysu_cams(mode), trial, shots)


def regdb_split(root: str, trial: int) -> tuple[list[Sample], list[Sample]]:
    """(visible, thermal) test images of RegDB trial 1..10 at `root`."""
    if not isinstance(trial, int | np.integer) or not 1 <= trial <= 10:
        raise ValueError(f"RegDB trial must be an int in 1..10, got {trial!r}")
    dataset = data.load_dataset("regdb", root, trial=int(trial))
    return _split_by_modality(list(dataset.query) + list(dataset.gallery_candidates), "RegDB")


def _split_by_modality(samples: Sequence[Sample], what: str) -> tuple[list[Sample], list[Sample]]:
    visible = [s for s in samples if s.modality == VISIBLE]
    infrared = [s for s in samples if s.modality == INFRARED]
    if not visible or not infrared:
        raise ValueError(
            f"{what}: test set needs both modalities, got {len(visible)} visible and {len(infrared)} infrared images"
        )
    return visible, infrared


@dataclass(frozen=True)
class TrialPlan:
    """One evaluation run: rows of `query_side` against rows of `gallery_side`.

    A side is "query" (the dataset's ``query`` list) or "candidates" (its ``gallery_candidates``).
    """

    trial: int | None
    query_side: Side
    query_index: np.ndarray
    gallery_side: Side
    gallery_index: np.ndarray


@dataclass(frozen=True)
class SettingPlan:
    """All trials of one reported setting (one row of the result table)."""

    key: str
    label: str
    rule: str
    trials: tuple[TrialPlan, ...]


def _indices(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64)


def _as_list(value: str | Iterable[str] | None, default: Sequence[str]) -> list[str]:
    if value is None:
        return list(default)
    return [value] if isinstance(value, str) else list(value)


def plan_protocol(
    query: Sequence[Sample],
    candidates: Sequence[Sample],
    protocol: str,
    *,
    mode: str | Iterable[str] = "all",
    shots: int = 1,
    trials: Iterable[int] = DEFAULT_SYSU_TRIALS,
    direction: str | Iterable[str] | None = None,
    split: int | None = None,
) -> list[SettingPlan]:
    """Which query and gallery rows each setting and trial uses.

    Args:
        query, candidates: the dataset's ``query`` and ``gallery_candidates`` lists.
        protocol: "sysu", "regdb" or "llcm".
        mode: SYSU search mode(s), "all" and/or "indoor".
        shots: SYSU/LLCM images per (identity, camera) in the gallery (1 or 10).
        trials: SYSU/LLCM gallery-sampling seeds (default 0..9).
        direction: RegDB "visible_to_thermal"/"thermal_to_visible" (default both); LLCM "ir_to_vis",
            "vis_to_ir" (DEEN-compatible, published) or "vis_to_ir_natural" (default the first two).
        split: RegDB split number of this dataset (recorded as the trial; RegDB has one model per split).

    Returns:
        one `SettingPlan` per setting, in the order asked for.
    """
    if len(query) == 0 or len(candidates) == 0:
        raise ValueError(f"{protocol}: empty query ({len(query)}) or gallery candidate ({len(candidates)}) list")
    trials = [int(t) for t in trials]
    if protocol in ("sysu", "llcm") and not trials:
        raise ValueError("trials is empty: give at least one gallery-sampling seed")
    if protocol == "sysu":
        if direction is not None:
            raise ValueError(
                f"SYSU-MM01 has one direction (infrared query, visible gallery); "
                f"use mode='all'|'indoor', not direction={direction!r}"
            )
        plans = []
        for m in _as_list(mode, ["all"]):
            cams = sysu_cams(m)
            runs = tuple(
                TrialPlan(
                    t,
                    "query",
                    _indices(len(query)),
                    "candidates",
                    np.asarray(sample_gallery_indices(candidates, cams, t, shots)),
                )
                for t in trials
            )
            shot_name = "single-shot" if shots == 1 else f"multi-shot ({shots})"
            plans.append(SettingPlan(f"{m}", f"{SYSU_MODE_NAMES[m]}, {shot_name}", "sysu", runs))
        return plans
    if protocol == "regdb":
        return [_plan_regdb(query, candidates, d, split) for d in _as_list(direction, list(REGDB_DIRECTIONS))]
    if protocol == "llcm":
        return [_plan_llcm(query, candidates, d, trials, shots) for d in _as_list(direction, LLCM_DEFAULT_DIRECTIONS)]
    raise ValueError(f"protocol must be 'sysu', 'regdb' or 'llcm', got {protocol!r}")


def _side_of_modality(query: Sequence[Sample], candidates: Sequence[Sample], modality: int, what: str) -> Side:
    for side, samples in (("query", query), ("candidates", candidates)):
        if all(s.modality == modality for s in samples):
            return side
    raise ValueError(
        f"{what}: expected one list to be all {'visible' if modality == VISIBLE else 'infrared'}"
        " images (query and gallery_candidates must each hold a single modality)"
    )


def _plan_regdb(
    query: Sequence[Sample], candidates: Sequence[Sample], direction: str, split: int | None
) -> SettingPlan:
    if direction not in REGDB_DIRECTIONS:
        raise ValueError(f"RegDB direction must be one of {tuple(REGDB_DIRECTIONS)}, got {direction!r}")
    visible = _side_of_modality(query, candidates, VISIBLE, "RegDB")
    thermal: Side = "candidates" if visible == "query" else "query"
    size = {"query": len(query), "candidates": len(candidates)}
    q_side, g_side = (visible, thermal) if direction == "visible_to_thermal" else (thermal, visible)
    run = TrialPlan(split, q_side, _indices(size[q_side]), g_side, _indices(size[g_side]))
    return SettingPlan(direction, REGDB_DIRECTIONS[direction], "regdb", (run,))


def _plan_llcm(
    query: Sequence[Sample], candidates: Sequence[Sample], direction: str, trials: list[int], shots: int
) -> SettingPlan:
    if direction not in LLCM_DIRECTIONS:
        raise ValueError(f"LLCM direction must be one of {tuple(LLCM_DIRECTIONS)}, got {direction!r}")
    visible = _side_of_modality(query, candidates, VISIBLE, "LLCM")
    infrared: Side = "candidates" if visible == "query" else "query"
    lists = {"query": query, "candidates": candidates}
    runs = []
    for t in trials:
        if direction == "ir_to_vis":  # all NIR queries, sampled VIS gallery
            q_side, g_side, sampled = infrared, visible, "gallery"
        elif direction == "vis_to_ir":  # DEEN: sampled NIR images act as queries, all VIS as gallery
            q_side, g_side, sampled = infrared, visible, "query"
        else:  # natural: all VIS queries, sampled NIR gallery
            q_side, g_side, sampled = visible, infrared, "gallery"
        sampled_side = g_side if sampled == "gallery" else q_side
        pool = lists[sampled_side]
        picks = np.asarray(sample_gallery_indices(pool, sorted({s.cam for s in pool}), t, shots))
        q_index = picks if sampled == "query" else _indices(len(lists[q_side]))
        g_index = picks if sampled == "gallery" else _indices(len(lists[g_side]))
        runs.append(TrialPlan(t, q_side, q_index, g_side, g_index))
    return SettingPlan(direction, LLCM_DIRECTIONS[direction], "llcm", tuple(runs))
