"""Exact per-group top-k with a bfloat16 screening GEMM and a float32 certificate.

The exact search (:func:`vireid_core.association.search.exact.exact_grouped_topk`) spends most of its time in
the float32 GEMM F Fᵀ. On CPUs with bfloat16 matrix units (AVX512-BF16, AMX) a bfloat16 GEMM is
several times faster, but its scores are only accurate to a few 1e-3. This module keeps the answer
exact anyway:

1. *Screen*: a blocked bfloat16 GEMM over the upper triangle keeps, per row and group, the
   ``k + margin`` best candidates by approximate score.
2. *Re-score*: the candidates' scores are recomputed in float32 from the features and the
   candidates are sorted by (exact score, id).
3. *Certify*: the bfloat16 error of a dot product is bounded by ``c·|f_i|·|f_j|`` (rounding of the
   inputs and of the output to bfloat16, float32 accumulation; see :func:`screening_error_bound`).
   Every row outside the candidates has an approximate score at least the worst candidate's, so
   its exact score is at least ``worst - E``. If that is strictly above the k-th exact score, no
   outside row can enter the top-k and the row is certified.
4. *Fall back*: rows that fail the certificate (near-ties around rank k wider than the error
   bound) are searched again with a float32 GEMM against their group.

The result equals the float32 search up to float32 rounding of the scores themselves (the two
evaluate the same dot products in different summation orders, ~1e-7), which is the tolerance the
blocked float32 search already has against a single full GEMM.
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from vireid_core.association.search.exact import blocked_grouped_topk, update_rows

BF16_UNIT_ROUNDOFF = 2.0**-9  # bfloat16 has an 8-bit significand (7 stored bits + 1 implicit)
FLOAT32_UNIT_ROUNDOFF = 2.0**-24


def screening_error_bound(dim: int, safety: float = 1.25) -> float:
    """Constant c with |bf16 dot - exact dot| <= c·|a|·|b| for vectors of length ``dim``.

    Rounding a and b to bfloat16 changes each product by at most (2u + u²)|a_x b_x|; the float32
    accumulation adds at most γ_D Σ|a_x b_x|; rounding the result to bfloat16 adds u|dot|; the
    float32 re-score of the other side adds another γ_D. Σ|a_x b_x| <= |a||b| (Cauchy–Schwarz).
    ``safety`` covers accumulation orders a BLAS may choose. Returns c (dimensionless).
    """
    u, v = BF16_UNIT_ROUNDOFF, FLOAT32_UNIT_ROUNDOFF
    gamma = dim * v / (1 - dim * v)
    return safety * ((2 * u + u * u) * (1 + u) + u + 2 * gamma * (1 + u))


@numba.njit(parallel=True, cache=True, fastmath=True)
def _rescore(features, norms, use_l2, cand_ids, approx_scores, limits, out_scores):  # pragma: no cover
    """out_scores[i, t] = exact float32 score of candidate cand_ids[i, t] for row i, for the candidates
    whose approximate score is <= limits[i] (rows are sorted by approximate score, so this is a prefix);
    +inf for the rest and for the id-N padding. Returns int64 [N]: the rescored prefix length per row."""
    n, width = cand_ids.shape
    dim = features.shape[1]
    rescored = np.empty(n, np.int64)
    for i in numba.prange(n):
        count = width
        for t in range(width):
            j = cand_ids[i, t]
            if approx_scores[i, t] > limits[i] or j >= n:
                count = t
                for rest in range(t, width):
                    out_scores[i, rest] = np.inf
                break
            acc = np.float32(0.0)
            for x in range(dim):
                acc += features[i, x] * features[j, x]
            out_scores[i, t] = norms[j] - np.float32(2.0) * acc if use_l2 else -acc
        rescored[i] = count
    return rescored


def _float32_rows(
    features: np.ndarray,
    rows: np.ndarray,
    group: tuple[int, int],
    k: int,
    use_l2: bool,
    norms: np.ndarray,
    block_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact float32 top-k of the given rows against one group (the certificate's fall-back)."""
    g_lo, g_hi = group
    scores = np.full((len(rows), k), np.inf, np.float32)
    ids = np.full((len(rows), k), features.shape[0], np.int64)
    for start in range(0, len(rows), block_size):
        part = rows[start : start + block_size]
        sims = np.ascontiguousarray(features[part] @ features[g_lo:g_hi].T)
        update_rows(
            sims, g_lo, g_hi, g_lo, norms, use_l2, scores[start : start + len(part)], ids[start : start + len(part)], 0
        )
    return scores, ids


def screened_grouped_topk(
    features: np.ndarray,
    group_bounds: list[int],
    k_per_group: list[int],
    *,
    metric: str,
    block_size: int = 1024,
    margin: int = 24,
    stats: dict[str, float] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Exact per-group top-k (same contract and result as ``exact_grouped_topk``) through a
    bfloat16 screening GEMM, a float32 re-score of ``k + margin`` candidates and a certificate.

    Args:
        features: float32 [N, D], each group contiguous.
        group_bounds, k_per_group, metric, block_size: as ``exact_grouped_topk``.
        margin: extra candidates per row and group; more makes the certificate pass more often.
        stats: if given, receives ``"fallback_fraction"`` (rows x groups searched again in float32).

    Returns:
        One (scores [N, k_g] float32, ids [N, k_g] int64) pair per group, sorted by (score, id).
    """
    if margin < 1:
        raise ValueError(f"margin must be >= 1, got {margin}")
    features = np.ascontiguousarray(features, np.float32)
    n, dim = features.shape
    use_l2 = metric == "l2"
    norms = np.einsum("nd,nd->n", features, features).astype(np.float32)
    lengths = np.sqrt(norms.astype(np.float64))
    groups = list(zip(group_bounds[:-1], group_bounds[1:], strict=True))
    widths = [min(k + margin, hi - lo) for k, (lo, hi) in zip(k_per_group, groups, strict=True)]
    low = torch.from_numpy(features).bfloat16()
    screened = blocked_grouped_topk(
        n,
        groups,
        widths,
        norms,
        use_l2,
        block_size,
        lambda start, stop: torch.mm(low[start:stop], low[start:].T).float().numpy(),
    )
    bound = screening_error_bound(dim)
    results, fallbacks = [], 0
    for (g_lo, g_hi), k, width, (approx_scores, cand_ids) in zip(groups, k_per_group, widths, screened, strict=True):
        # Error of one approximate score: the dot product's bound (twice for the l2 score) plus the
        # float32 rounding of forming the score.
        error = bound * lengths * lengths[g_lo:g_hi].max() * (2.0 if use_l2 else 1.0)
        error += 8 * FLOAT32_UNIT_ROUNDOFF * (norms.max() + 2 * lengths * lengths.max())
        # Only candidates with approx <= approx_k + 2E can reach the top k (exact <= approx + E for the
        # k approximate best, exact >= approx - E for the others): re-score that sorted prefix.
        limits = (approx_scores[:, k - 1].astype(np.float64) + 2 * error).astype(np.float32)
        limits = np.nextafter(limits, np.float32(np.inf))  # rounding the limit must not shrink it
        exact_scores = np.empty_like(approx_scores)
        rescored = _rescore(features, norms, use_l2, cand_ids, approx_scores, limits, exact_scores)
        order = np.lexsort((cand_ids, exact_scores), axis=-1)
        exact_scores = np.take_along_axis(exact_scores, order, 1)
        sorted_ids = np.take_along_axis(cand_ids, order, 1)
        # The smallest approximate score outside the re-scored prefix: the first skipped candidate,
        # else the worst candidate (every non-candidate has an approximate score >= it).
        rows = np.arange(n)
        outside_approx = approx_scores[rows, np.minimum(rescored, width - 1)].astype(np.float64)
        outside_exists = (rescored < width) | (width < g_hi - g_lo)
        certified = ~outside_exists | (outside_approx - error > exact_scores[:, k - 1])
        failed = np.flatnonzero(~certified)
        scores, ids = exact_scores[:, :k].copy(), sorted_ids[:, :k].copy()
        if len(failed):
            scores[failed], ids[failed] = _float32_rows(features, failed, (g_lo, g_hi), k, use_l2, norms, block_size)
        fallbacks += len(failed)
        results.append((scores, ids))
    if stats is not None:
        stats["fallback_fraction"] = fallbacks / max(1, n * len(groups))
    return results
