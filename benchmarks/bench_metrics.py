"""Time the full SYSU-MM01 protocol from ready distance matrices: vectorised vs per-query loop.

Sizes as in the real test set: 3,803 infrared queries (96 ids, cam3 + cam6) against a single-shot
gallery of 301 images (all-search, cams 1/2/4/5) or 112 images (indoor, cams 1/2), 10 trials per
mode. Features are random clusters (2048-d), so the numbers are meaningless; only time matters.

Run: ``.venv/bin/python benchmarks/bench_metrics.py [--loop-trials N]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from vireid_core.evaluation.metrics import rank_metrics


def per_query_loop(distmat, q_pids, g_pids, q_cams, g_cams, max_rank=20):
    """Straightforward per-query SYSU evaluation (the way the field's reference code is written)."""
    num_q, num_g = distmat.shape
    max_rank = min(max_rank, num_g)
    cmc_sum = np.zeros(max_rank)
    aps, inps = [], []
    for q in range(num_q):
        order = np.argsort(distmat[q], kind="stable")
        keep = ~((q_cams[q] == 3) & (g_cams[order] == 2))
        labels = g_pids[order][keep]
        hits = labels == q_pids[q]
        if not hits.any():
            continue
        _, first = np.unique(labels, return_index=True)
        distinct = labels[np.sort(first)]
        row = np.cumsum(distinct == q_pids[q])[:max_rank]
        row = np.concatenate([row, np.full(max_rank - len(row), row[-1])]).clip(max=1)
        cmc_sum += row
        cum = np.cumsum(hits)
        positions = np.flatnonzero(hits)
        aps.append(np.mean(cum[positions] / (positions + 1.0)))
        inps.append(cum[positions[-1]] / (positions[-1] + 1.0))
    return cmc_sum / len(aps), float(np.mean(aps)), float(np.mean(inps))


def make_setting(rng: np.random.Generator, dim: int = 2048):
    ids = np.arange(96)
    centres = rng.standard_normal((96, dim)).astype(np.float32)
    q_pids = np.repeat(ids, 40)[:3803]
    q_cams = np.where(np.arange(3803) % 2 == 0, 3, 6)
    query = centres[q_pids] + 2.0 * rng.standard_normal((3803, dim)).astype(np.float32)
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    settings = []
    for cams, indoor_ids in (([1, 2, 4, 5], 96), ([1, 2], 56)):
        g_pids = np.concatenate([np.repeat(ids[:indoor_ids], len(cams))])[: 301 if len(cams) == 4 else 112]
        g_cams = np.tile(cams, len(g_pids) // len(cams) + 1)[: len(g_pids)]
        for _trial in range(10):
            gallery = centres[g_pids] + 2.0 * rng.standard_normal((len(g_pids), dim)).astype(np.float32)
            gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
            settings.append((-(query @ gallery.T), q_pids, g_pids, q_cams, g_cams))
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--loop-trials",
        type=int,
        default=20,
        help="how many of the 20 (mode, trial) settings the slow loop runs (time is scaled)",
    )
    args = parser.parse_args()
    settings = make_setting(np.random.default_rng(0))
    print(f"{len(settings)} settings: 3803 queries x (301 | 112) gallery, 10 trials x 2 modes")

    rank_metrics(*settings[0], rule="sysu")  # warm-up
    start = time.perf_counter()
    results = [rank_metrics(*s, rule="sysu") for s in settings]
    vectorised = time.perf_counter() - start

    count = max(1, min(args.loop_trials, len(settings)))
    start = time.perf_counter()
    loop_results = [per_query_loop(*s) for s in settings[:count]]
    loop = (time.perf_counter() - start) * len(settings) / count

    for fast, slow in zip(results, loop_results, strict=False):
        assert np.allclose(fast.cmc, slow[0], atol=1e-12) and abs(fast.mAP - slow[1]) < 1e-12
        assert abs(fast.mINP - slow[2]) < 1e-12
    print(f"vectorised rank_metrics, full SYSU protocol: {vectorised:.3f} s")
    scaled = f" (scaled from {count} settings)" if count < len(settings) else ""
    print(f"per-query loop, same protocol{scaled}: {loop:.3f} s")
    print(f"speed-up: {loop / vectorised:.1f}x   (results identical: checked on {count} settings)")


if __name__ == "__main__":
    main()
