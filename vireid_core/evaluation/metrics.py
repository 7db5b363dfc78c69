"""Rank metrics of the VI-ReID field (CMC, mAP, mINP), vectorised over queries.

Semantics follow the field-standard reference functions (`eval_sysu`, `eval_regdb`, `eval_llcm`;
see docs/method.md §9 and docs/evaluation-protocol.md), with two deliberate, documented choices:

* **Stable sort.** Gallery items at exactly equal distance keep their gallery order (the reference
  uses numpy's default, unstable sort, whose tie order depends on numpy version and CPU). With real
  float features exact ties do not occur and the numbers are identical.
* **Tiny galleries.** The reference crashes (or silently shortens the CMC) when fewer distinct
  identities than `max_rank` survive the removal for some query. Here the CMC always has length
  ``min(max_rank, num_gallery)``; a query that cannot reach rank k keeps its last cumulative value
  (which is 1 for every valid query once its identity has been found). On real SYSU/LLCM/RegDB this
  never happens and the results equal the reference.

Removal rules (``rule``):

* ``"sysu"``: for a query from camera 3, *every* gallery item from camera 2 is removed whatever its
  identity (cam2 and cam3 film the same room); nothing is removed for other query cameras.
  Identity-level CMC (only the closest image of each identity counts).
* ``"llcm"``: gallery items with the query's identity *and* camera number are removed.
  Identity-level CMC.
* ``"regdb"``: nothing removed; image-level CMC. Cameras are ignored.

Queries whose identity has no surviving gallery item are *invalid*: they are skipped and not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Rule = Literal["sysu", "regdb", "llcm"]
RULES: tuple[str, ...] = ("sysu", "regdb", "llcm")
SYSU_CONFLICT_QUERY_CAM = 3  # an infrared camera filming the same room as ...
SYSU_CONFLICT_GALLERY_CAM = 2  # ... this visible camera
_CHUNK_ELEMENTS = 2_000_000  # queries are processed in blocks of about this many distance entries
_MAX_MATCHES_FOR_COUNTING = 6  # up to this many true matches per query: count ranks instead of sorting


@dataclass(frozen=True)
class RankResult:
    """Rank metrics of one query set against one gallery.

    Attributes:
        cmc: float64 array [min(max_rank, num_gallery)], ``cmc[k-1]`` = Rank-k accuracy in [0, 1],
            averaged over valid queries (the reference returns float32; differences are < 1e-6).
        mAP: mean average precision over valid queries, in [0, 1].
        mINP: mean inverse negative penalty over valid queries, in [0, 1].
        ap: float64 array [num_query], average precision per query (NaN for invalid queries).
        inp: float64 array [num_query], INP per query (NaN for invalid queries).
        valid: bool array [num_query], True where the query had a surviving true match.
    """

    cmc: np.ndarray
    mAP: float
    mINP: float
    ap: np.ndarray
    inp: np.ndarray
    valid: np.ndarray

    @property
    def num_valid(self) -> int:
        """Number of queries that were counted."""
        return int(self.valid.sum())

    def rank(self, k: int) -> float:
        """Rank-k accuracy in [0, 1]; raises ValueError if k exceeds the CMC length."""
        if not 1 <= k <= len(self.cmc):
            raise ValueError(f"rank {k} not available: the CMC has length {len(self.cmc)}")
        return float(self.cmc[k - 1])


def _as_labels(values: object, name: str, length: int | None = None) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of integer labels, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer labels, got dtype {array.dtype}")
    if length is not None and len(array) != length:
        raise ValueError(f"{name} has length {len(array)} but the distance matrix needs {length}")
    return array.astype(np.int64, copy=False)


def _validate(
    distmat: object, q_pids: object, g_pids: object, q_cams: object, g_cams: object, rule: str, max_rank: int
) -> tuple[np.ndarray, ...]:
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if not isinstance(max_rank, int | np.integer) or max_rank < 1:
        raise ValueError(f"max_rank must be a positive int, got {max_rank!r}")
    dist = np.asarray(distmat)
    if dist.ndim != 2:
        raise ValueError(f"distmat must be 2-D [num_query, num_gallery], got shape {dist.shape}")
    if not np.issubdtype(dist.dtype, np.floating) and not np.issubdtype(dist.dtype, np.integer):
        raise ValueError(f"distmat must be numeric, got dtype {dist.dtype}")
    num_q, num_g = dist.shape
    if num_q == 0:
        raise ValueError(f"distmat has no query rows (shape {dist.shape})")
    if num_g == 0:
        raise ValueError(f"the gallery is empty: distmat has shape {dist.shape}")
    if np.issubdtype(dist.dtype, np.floating) and np.isnan(dist).any():
        rows = np.flatnonzero(np.isnan(dist).any(axis=1))
        raise ValueError(f"distmat contains NaN (in {len(rows)} query rows, first: {rows[:5].tolist()})")
    q_pids = _as_labels(q_pids, "q_pids", num_q)
    g_pids = _as_labels(g_pids, "g_pids", num_g)
    if rule == "regdb":
        return dist, q_pids, g_pids, None, None
    if q_cams is None or g_cams is None:
        raise ValueError(f"rule {rule!r} needs q_cams and g_cams (camera numbers)")
    return dist, q_pids, g_pids, _as_labels(q_cams, "q_cams", num_q), _as_labels(g_cams, "g_cams", num_g)


def rank_metrics(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_cams: np.ndarray | None = None,
    g_cams: np.ndarray | None = None,
    *,
    rule: Rule = "sysu",
    max_rank: int = 20,
) -> RankResult:
    """CMC, mAP and mINP of a query set against a gallery, exactly as the field computes them.

    Args:
        distmat: [num_query, num_gallery] distances, smaller = more similar (e.g. -cosine). NaN is
            rejected; +-inf is allowed.
        q_pids, g_pids: integer identity labels, [num_query] and [num_gallery].
        q_cams, g_cams: integer camera numbers (required for ``"sysu"`` and ``"llcm"``).
        rule: ``"sysu"``, ``"llcm"`` or ``"regdb"`` (see the module docstring).
        max_rank: CMC length (truncated to the gallery size when the gallery is smaller).

    Returns:
        RankResult with ``cmc`` [min(max_rank, num_gallery)], ``mAP``, ``mINP`` and per-query
        ``ap``, ``inp``, ``valid``.

    Raises:
        ValueError: on shape/dtype mismatch, NaN, an empty gallery or query set, missing cameras,
            or when no query has a surviving true match.
    """
    dist, q_pids, g_pids, q_cams, g_cams = _validate(distmat, q_pids, g_pids, q_cams, g_cams, rule, max_rank)
    num_q, num_g = dist.shape
    cmc_len = min(int(max_rank), num_g)
    # Compact identity codes and the gallery grouped by identity, for the identity-level CMC.
    g_uniq, g_code = np.unique(g_pids, return_inverse=True)
    group_order = np.argsort(g_code, kind="stable")
    group_starts = np.searchsorted(g_code[group_order], np.arange(len(g_uniq)))

    first_hit = np.zeros(num_q, dtype=np.int64)  # 1-based rank used for the CMC (0 = invalid)
    ap = np.full(num_q, np.nan)
    inp = np.full(num_q, np.nan)
    chunk = max(1, _CHUNK_ELEMENTS // num_g)
    for start in range(0, num_q, chunk):
        rows = slice(start, min(start + chunk, num_q))
        hit, row_ap, row_inp = _rank_block(
            dist[rows],
            q_pids[rows],
            g_pids,
            None if q_cams is None else q_cams[rows],
            g_cams,
            rule,
            group_order,
            group_starts,
        )
        first_hit[rows], ap[rows], inp[rows] = hit, row_ap, row_inp
    valid = first_hit > 0
    if not valid.any():
        raise ValueError(
            f"no query has a true match left in the gallery after the {rule!r} removal "
            f"({num_q} queries, {num_g} gallery items)"
        )
    ranks = np.arange(1, cmc_len + 1)
    cmc = (first_hit[valid, None] <= ranks[None, :]).mean(axis=0)
    return RankResult(
        cmc=cmc.astype(np.float64),
        mAP=float(ap[valid].mean()),
        mINP=float(inp[valid].mean()),
        ap=ap,
        inp=inp,
        valid=valid,
    )


def _rank_block(
    dist: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_cams: np.ndarray | None,
    g_cams: np.ndarray | None,
    rule: str,
    group_order: np.ndarray,
    group_starts: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Metrics of a block of queries. Returns (CMC hit rank, 0 if invalid; AP; INP), each [rows].

    Two exact algorithms: with few true matches per query (single-shot galleries) the rank of each
    match is counted by comparisons (no sort); otherwise the rows are sorted.
    """
    matches = g_pids[None, :] == q_pids[:, None]
    removed = _removed_in_gallery_order(matches, q_cams, g_cams, rule)
    if removed is not None:
        matches &= ~removed
    if matches.sum(axis=1).max() <= _MAX_MATCHES_FOR_COUNTING:
        return _rank_block_counted(dist, matches, removed, q_pids, g_pids, rule, group_order, group_starts)
    return _rank_block_sorted(dist, matches, removed, rule, group_order, group_starts)


def _removed_in_gallery_order(
    matches: np.ndarray, q_cams: np.ndarray | None, g_cams: np.ndarray | None, rule: str
) -> np.ndarray | None:
    """[rows, num_gallery] mask of the gallery items the rule removes for each query (None: none)."""
    if rule == "sysu":
        return (q_cams[:, None] == SYSU_CONFLICT_QUERY_CAM) & (g_cams[None, :] == SYSU_CONFLICT_GALLERY_CAM)
    if rule == "llcm":
        return matches & (g_cams[None, :] == q_cams[:, None])
    return None


def _rank_block_counted(
    dist: np.ndarray,
    matches: np.ndarray,
    removed: np.ndarray | None,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    rule: str,
    group_order: np.ndarray,
    group_starts: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Sort-free metrics: the 1-based surviving rank of match j is 1 + the number of surviving
    items g that a stable sort puts first, i.e. with (dist[g], g) < (dist[j], j) lexicographically.
    `matches` are the surviving true matches, in gallery order. Same outputs as `_rank_block_sorted`.
    """
    rows, num_g = dist.shape
    num_rel = matches.sum(axis=1)
    valid = num_rel > 0
    width = max(int(num_rel.max()), 1)
    row_of, col_of = np.nonzero(matches)
    slot = np.arange(len(row_of)) - (np.cumsum(num_rel) - num_rel)[row_of]
    match_col = np.zeros((rows, width), dtype=np.int64)  # gallery index of each match (padded)
    match_col[row_of, slot] = col_of
    match_dist = np.take_along_axis(dist, match_col, axis=1)[:, :, None]
    gallery_index = np.arange(num_g)
    before = dist[:, None, :] < match_dist
    before |= (dist[:, None, :] == match_dist) & (gallery_index < match_col[:, :, None])
    kept = None if removed is None else ~removed
    if kept is not None:
        before &= kept[:, None, :]
    is_match = np.arange(width)[None, :] < num_rel[:, None]
    rank = np.where(is_match, np.count_nonzero(before, axis=2) + 1, np.iinfo(np.int64).max)
    best = np.argmin(rank, axis=1)  # the first surviving match
    rank.sort(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(is_match, np.arange(1, width + 1) / rank, 0.0)
        ap = np.where(valid, precision.sum(axis=1) / num_rel, np.nan)
        last = np.take_along_axis(rank, np.maximum(num_rel - 1, 0)[:, None], axis=1)[:, 0]
        inp = np.where(valid, num_rel / np.maximum(last, 1), np.nan)
    if rule == "regdb":
        return np.where(valid, rank[:, 0], 0), ap, inp
    first_col = match_col[np.arange(rows), best][:, None]
    first_dist = dist[np.arange(rows)[:, None], first_col]
    ahead = (dist < first_dist) | ((dist == first_dist) & (gallery_index < first_col))
    ahead &= g_pids[None, :] != q_pids[:, None]
    if kept is not None:
        ahead &= kept
    identities_ahead = np.logical_or.reduceat(ahead[:, group_order], group_starts, axis=1).sum(axis=1)
    return np.where(valid, identities_ahead + 1, 0), ap, inp


def _rank_block_sorted(
    dist: np.ndarray,
    matches: np.ndarray,
    removed: np.ndarray | None,
    rule: str,
    group_order: np.ndarray,
    group_starts: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Metrics of a block of queries by sorting each row (stable). Returns (hit rank; AP; INP).

    `matches` (the surviving true matches) and `removed` are in gallery order, as for `_rank_block_counted`;
    both are put in each row's ranked order here.
    """
    rows, num_g = dist.shape
    order = _stable_argsort_rows(dist)
    matches = np.take_along_axis(matches, order, axis=1)
    if removed is None:
        kept_rank = np.broadcast_to(np.arange(1, num_g + 1), (rows, num_g))
    else:
        removed = np.take_along_axis(removed, order, axis=1)
        kept_rank = np.cumsum(~removed, axis=1, dtype=np.int32)  # 1-based rank within the surviving list
    num_rel = matches.sum(axis=1)
    valid = num_rel > 0
    cum_hits = np.cumsum(matches, axis=1, dtype=np.int32)
    with np.errstate(invalid="ignore", divide="ignore"):  # kept_rank is 0 before the first kept item
        precision_at_hits = np.where(matches, cum_hits / kept_rank, 0.0)
        ap = np.where(valid, precision_at_hits.sum(axis=1) / num_rel, np.nan)
        last_rank = np.where(matches, kept_rank, 0).max(axis=1)
        inp = np.where(valid, num_rel / np.maximum(last_rank, 1), np.nan)
    first_pos = np.argmax(matches, axis=1)  # position of the first surviving match in the sorted row
    if rule == "regdb":
        hit = np.where(valid, first_pos + 1, 0)
    else:
        hit = _identity_rank(order, removed, first_pos, group_order, group_starts)
        hit = np.where(valid, hit, 0)
    return hit, ap, inp


def _stable_argsort_rows(dist: np.ndarray) -> np.ndarray:
    """Row-wise argsort that keeps gallery order on exact ties, as int32 [rows, num_gallery].

    numpy's default sort is several times faster than its stable sort; both agree on rows without
    repeated values, so only rows that contain a tie are sorted again with the stable algorithm.
    """
    order = np.argsort(dist, axis=1).astype(np.int32)
    ranked = np.take_along_axis(dist, order, axis=1)
    tied = (ranked[:, 1:] == ranked[:, :-1]).any(axis=1)
    if tied.any():
        order[tied] = np.argsort(dist[tied], axis=1, kind="stable")
    return order


def _identity_rank(
    order: np.ndarray, removed: np.ndarray, first_pos: np.ndarray, group_order: np.ndarray, group_starts: np.ndarray
) -> np.ndarray:
    """1-based rank of the query identity among the distinct identities of the surviving list.

    It is 1 + the number of identities whose closest surviving item comes before the first
    surviving true match. Only meaningful for valid queries.
    """
    rows, num_g = order.shape
    ranked_position = np.broadcast_to(np.arange(num_g, dtype=order.dtype), order.shape)
    ranked_position = np.where(removed, num_g, ranked_position)  # removed items never come first
    position = np.empty_like(order)  # position[q, g] = place of gallery item g in query q's ranking
    np.put_along_axis(position, order, ranked_position, axis=1)
    first_of_identity = np.minimum.reduceat(position[:, group_order], group_starts, axis=1)
    return (first_of_identity < first_pos[:, None]).sum(axis=1) + 1
