"""Speed and memory of vireid_core.association against the dense reference (printed, not asserted).

Usage (from the repo root, each mode in its own process so that peak RSS belongs to it):

    .venv/bin/python benchmarks/bench_association.py compare   # N = 2k/5k/10k vs dense, same run
    .venv/bin/python benchmarks/bench_association.py sysu      # 34,167 x 2048 MAJ + DBSCAN
    .venv/bin/python benchmarks/bench_association.py scale     # 200,000 x 2048, approximate kNN
    .venv/bin/python benchmarks/bench_association.py all       # the three above, one process each

Features are synthetic and seeded, rows L2-normalised, modalities interleaved at random (never
visible-first). ``compare`` and ``sysu`` use identity centres + a modality offset + isotropic noise
(kept so that their figures stay comparable run to run). ``scale`` uses ``reid_like_features``:
isotropic 2048-d noise makes every non-identity neighbour a near-tie with the whole set (nothing an
index can find, recall meaningless at 200k), whereas real re-ID features lie near a low-dimensional
manifold where look-alike identities are neighbours. Thread counts follow OMP_NUM_THREADS /
NUMBA_NUM_THREADS (the figures in the report were measured with 1).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score

from vireid_core.association import (
    KnnConfig,
    NeighbourGraph,
    cluster_dbscan,
    jaccard_from_graph,
    knn_recall,
    modality_aware_jaccard,
)
from vireid_core.association.reference import dense_modality_aware_jaccard, modality_rankings

DIM = 2048


def synthetic_features(
    n_visible: int,
    n_infrared: int,
    *,
    dim: int = DIM,
    images_per_id: int = 60,
    noise: float = 3.0,
    gap: float = 0.6,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clustered features [N, dim] float32 (unit rows), modality [N] and identity [N], seeded.

    Each identity has a centre; a visible/infrared image adds a modality offset (a shared direction
    of norm ``gap`` relative to the centre norm) and isotropic noise of relative norm ``noise``.
    """
    rng = np.random.default_rng(seed)
    n = n_visible + n_infrared
    n_ids = max(2, n // images_per_id)
    centres = rng.standard_normal((n_ids, dim), dtype=np.float32)
    offsets = rng.standard_normal((2, dim), dtype=np.float32) * gap
    modality = rng.permutation(np.r_[np.zeros(n_visible, np.int64), np.ones(n_infrared, np.int64)])
    ids = rng.integers(0, n_ids, n)
    feats = np.empty((n, dim), np.float32)
    for start in range(0, n, 20000):
        stop = min(start + 20000, n)
        block = centres[ids[start:stop]] + offsets[modality[start:stop]]
        block += noise * rng.standard_normal((stop - start, dim), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        feats[start:stop] = block
    return feats, modality, ids


def reid_like_features(
    n_visible: int,
    n_infrared: int,
    *,
    dim: int = DIM,
    latent: int = 128,
    images_per_id: int = 20,
    ids_per_group: int = 20,
    id_spread: float = 0.6,
    sample_spread: float = 0.9,
    gap: float = 0.5,
    isotropic: float = 0.3,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Re-ID-like features [N, dim] float32 (unit rows), modality [N], identity [N], look-alike group [N].

    N / images_per_id identities in groups of ``ids_per_group`` look-alikes; in a ``latent``-d space an
    image is group centre + id_spread·(identity deviation) + gap·(modality offset) +
    sample_spread·(pose/camera noise), all N(0, I) draws; a fixed random map lifts it to ``dim`` and
    isotropic noise of relative norm ``isotropic`` is added. Defaults: about 400 stored MAJ entries per
    row (k1 = 30, k2 = 6) and DBSCAN(eps 0.6) ARI ≈ 0.93 against identities at N = 10,000 — a hard but
    clusterable regime, like trained SYSU features.
    """
    rng = np.random.default_rng(seed)
    n = n_visible + n_infrared
    n_ids = max(2, n // images_per_id)
    n_groups = max(1, -(-n_ids // ids_per_group))
    group_centres = rng.standard_normal((n_groups, latent), dtype=np.float32)
    id_group = np.arange(n_ids) // ids_per_group
    centres = group_centres[id_group] + id_spread * rng.standard_normal((n_ids, latent), dtype=np.float32)
    offsets = gap * rng.standard_normal((2, latent), dtype=np.float32)
    lift = rng.standard_normal((latent, dim), dtype=np.float32) / np.float32(np.sqrt(latent))
    modality = rng.permutation(np.r_[np.zeros(n_visible, np.int64), np.ones(n_infrared, np.int64)])
    ids = rng.integers(0, n_ids, n)
    feats = np.empty((n, dim), np.float32)
    for start in range(0, n, 20000):
        stop = min(start + 20000, n)
        z = centres[ids[start:stop]] + offsets[modality[start:stop]]
        z += sample_spread * rng.standard_normal((stop - start, latent), dtype=np.float32)
        block = z @ lift
        scale = np.linalg.norm(block, axis=1, keepdims=True) * np.float32(isotropic / np.sqrt(dim))
        block += scale * rng.standard_normal((stop - start, dim), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        feats[start:stop] = block
    return feats, modality, ids, id_group[ids]


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def gemm_only_seconds(feats: np.ndarray, block_size: int = 1024, *, bfloat16: bool = False) -> float:
    """Time of the upper-triangle blocked GEMM alone (the floor of the exact search): float32 numpy, or
    the bfloat16 torch GEMM the screened search uses."""
    import torch

    low = torch.from_numpy(feats).bfloat16() if bfloat16 else None
    start_time = time.perf_counter()
    for start in range(0, feats.shape[0], block_size):
        if low is None:
            _ = feats[start : start + block_size] @ feats[start:].T
        else:
            _ = torch.mm(low[start : start + block_size], low[start:].T)
    return time.perf_counter() - start_time


def faiss_flat_seconds(feats: np.ndarray, modality: np.ndarray, k: int) -> float:
    """Time of faiss' exact inner-product search for the per-modality top-k lists (index build + search)."""
    import faiss

    start_time = time.perf_counter()
    for m in (0, 1):
        index = faiss.IndexFlatIP(feats.shape[1])
        index.add(np.ascontiguousarray(feats[modality == m]))
        index.search(feats, k)
    return time.perf_counter() - start_time


def sparse_maj_and_dbscan(
    feats: np.ndarray,
    modality: np.ndarray,
    eps: float,
    knn: KnnConfig | None = None,
    keep: dict | None = None,
    store_below: float = 1.0,
) -> tuple[np.ndarray, dict[str, float]]:
    times = {}
    t0 = time.perf_counter()
    graph = NeighbourGraph.build(feats, modality, max_k1=30, knn=knn)
    times["knn"] = time.perf_counter() - t0
    print(f"  [knn done in {times['knn']:.1f} s, peak RSS {peak_rss_gib():.2f} GiB]", flush=True)
    dist = jaccard_from_graph(graph, 30, 6, store_below=store_below)
    print(
        f"  [jaccard done, {dist.nnz / feats.shape[0]:.0f} entries/row, peak RSS {peak_rss_gib():.2f} GiB]", flush=True
    )
    times["jaccard"] = time.perf_counter() - t0 - times["knn"]
    t1 = time.perf_counter()
    labels = cluster_dbscan(dist, eps)
    times["dbscan"] = time.perf_counter() - t1
    times["total"] = time.perf_counter() - t0
    times["nnz_per_row"] = dist.nnz / feats.shape[0]
    if keep is not None:
        keep["graph"] = graph
    return labels, times


def compare(sizes: tuple[int, ...], eps: float) -> None:
    print("== sparse MAJ + DBSCAN vs dense reference (same run, same features, D = 2048) ==")
    print(
        f"{'N':>6} {'dense s':>8} {'(rank)':>7} {'sparse s':>9} {'knn':>6} {'gemm':>6} {'bf16':>6} "
        f"{'speed-up':>9} {'labels':>7} {'max|dJ|':>8} {'clusters':>8} {'faiss':>8}"
    )
    warm = synthetic_features(60, 40, seed=1)[:2]
    for screen in ("off", "bf16"):  # compile the numba kernels of both search paths once
        _ = modality_aware_jaccard(*warm, 30, 6, knn=KnnConfig(screen=screen))
    for n in sizes:
        feats, modality, _ = synthetic_features(int(n * 0.6), n - int(n * 0.6), seed=n)
        gemm = gemm_only_seconds(feats)
        gemm_bf16 = gemm_only_seconds(feats, bfloat16=True)
        labels, times = sparse_maj_and_dbscan(feats, modality, eps)
        sparse_dist = modality_aware_jaccard(feats, modality, 30, 6)
        t0 = time.perf_counter()
        modality_rankings(feats, modality, 30)  # the dense ranking step alone, timed for the "(rank)" column
        dense_ranking = time.perf_counter() - t0
        t0 = time.perf_counter()
        dense = dense_modality_aware_jaccard(feats, modality, 30, 6)
        dense_labels = DBSCAN(eps=eps, min_samples=4, metric="precomputed").fit_predict(dense)
        dense_total = time.perf_counter() - t0
        faiss_time = faiss_flat_seconds(feats, modality, 16)
        coo = sparse_dist.tocoo()
        diff = np.abs(dense[coo.row, coo.col] - coo.data).max()
        absent = np.ones_like(dense, bool)
        absent[coo.row, coo.col] = False
        diff = max(diff, float(np.abs(dense[absent] - 1).max()) if absent.any() else 0.0)
        same = bool(np.array_equal(labels, dense_labels))
        print(
            f"{n:>6} {dense_total:>8.1f} {dense_ranking:>7.1f} {times['total']:>9.2f} "
            f"{times['knn']:>6.2f} {gemm:>6.2f} {gemm_bf16:>6.2f} {dense_total / times['total']:>8.1f}x "
            f"{str(same):>7} {diff:>8.1e} {labels.max() + 1:>8} {faiss_time:>8.2f}"
        )
        del dense, absent
    print(
        "dense s = reference MAJ + sklearn DBSCAN on the dense matrix; (rank) = its dense ranking step;"
        " sparse s = NeighbourGraph + Jaccard + DBSCAN; knn = its exact search (bfloat16-screened and"
        " float32-certified from N = 8,192 on CPUs with bf16 units); gemm / bf16 = float32 / bfloat16"
        " upper-triangle GEMM alone; faiss = faiss IndexFlatIP exact search of the same per-modality"
        " lists (search only)"
    )


def sysu(eps: float) -> None:
    feats, modality, ids = synthetic_features(22258, 11909, seed=34167)
    base = peak_rss_gib()
    gemm = gemm_only_seconds(feats)
    _ = modality_aware_jaccard(*synthetic_features(60, 40, seed=1)[:2], 30, 6, knn=KnnConfig(screen="bf16"))
    labels, times = sparse_maj_and_dbscan(feats, modality, eps)
    peak = peak_rss_gib()
    gemm_bf16 = gemm_only_seconds(feats, bfloat16=True)
    plain_labels, plain = sparse_maj_and_dbscan(feats, modality, eps, knn=KnnConfig(screen="off"))
    print("== SYSU-MM01 training size: 34,167 x 2048 (22,258 visible + 11,909 infrared), exact MAJ ==")
    print(
        f"total {times['total']:.1f} s  (knn {times['knn']:.1f} s, jaccard {times['jaccard']:.1f} s, "
        f"dbscan {times['dbscan']:.1f} s); GEMM alone: float32 {gemm:.1f} s, bfloat16 {gemm_bf16:.1f} s"
    )
    print(
        f"peak RSS {peak:.2f} GiB (features + imports alone {base:.2f} GiB); "
        f"{times['nnz_per_row']:.0f} stored entries/row; {labels.max() + 1} clusters, "
        f"outliers {np.mean(labels < 0):.3f}, ARI vs ids {adjusted_rand_score(ids, labels):.3f}"
    )
    print(
        f"same features, plain float32 search (screen='off'): total {plain['total']:.1f} s "
        f"(knn {plain['knn']:.1f} s); labels identical: {bool(np.array_equal(labels, plain_labels))}"
    )


def exact_modality_lists(feats: np.ndarray, modality: np.ndarray, queries: np.ndarray, k: int) -> list[np.ndarray]:
    """Exact per-modality top-k ids (inner product) of the query rows, without copying a modality."""
    out = [np.empty((len(queries), k), np.int64) for _ in (0, 1)]
    for lo in range(0, len(queries), 256):
        sims = feats[queries[lo : lo + 256]] @ feats.T
        for group in (0, 1):
            masked = np.where(modality[None, :] == group, sims, -np.inf)
            top = np.argpartition(-masked, k - 1, axis=1)[:, :k]
            out[group][lo : lo + 256] = top
    return out


def scale(eps: float, n_total: int, subsample: int, n_queries: int, nprobe: int) -> None:
    import faiss
    import numba

    t_start = time.perf_counter()
    n_vis = int(n_total * 0.65)
    feats, modality, ids, groups = reid_like_features(n_vis, n_total - n_vis, seed=n_total)
    base = peak_rss_gib()
    print(
        f"[features {time.perf_counter() - t_start:.1f} s; threads: faiss {faiss.omp_get_max_threads()}, "
        f"numba {numba.get_num_threads()}]",
        flush=True,
    )
    knn = KnnConfig(method="ivf_blas", ivf_nprobe=nprobe)
    kept: dict = {}
    labels, times = sparse_maj_and_dbscan(feats, modality, eps, knn=knn, keep=kept, store_below=0.95)
    peak_main = peak_rss_gib()
    floor_rows = min(n_total, 20_000)
    gemm_floor = gemm_only_seconds(feats[:floor_rows]) * (n_total / floor_rows) ** 2
    print(
        f"== scale: {n_total:,} x 2048 re-ID-like features, approximate kNN ivf_blas (nlist 4*sqrt(n), "
        f"nprobe {nprobe}), pairs at distance >= 0.95 not stored =="
    )
    print(
        f"total {times['total']:.1f} s (knn {times['knn']:.1f} s, jaccard {times['jaccard']:.1f} s, "
        f"dbscan {times['dbscan']:.1f} s); exact-search GEMM floor alone {gemm_floor:.0f} s "
        f"(upper triangle, timed on {floor_rows:,} rows x (N/{floor_rows:,})^2)"
    )
    print(
        f"peak RSS {peak_main:.2f} GiB (features + imports {base:.2f} GiB); {times['nnz_per_row']:.0f} "
        f"stored entries/row; {labels.max() + 1} clusters, outliers {np.mean(labels < 0):.3f}, "
        f"ARI vs ids {adjusted_rand_score(ids, labels):.3f}"
    )
    graph = kept.pop("graph")
    rng = np.random.default_rng(0)
    queries = np.sort(rng.choice(n_total, n_queries, replace=False))
    k = graph.lists[0][1].shape[1]
    exact = exact_modality_lists(feats, modality, queries, k)
    recalls = [knn_recall(approx_ids[queries], exact[group]) for group, (_, approx_ids) in enumerate(graph.lists)]
    del graph
    print(
        f"recall@{k} (k1//2 + 1 per modality) on {n_queries} sampled queries vs exact search: "
        f"visible list {recalls[0]:.4f}, infrared list {recalls[1]:.4f}"
    )
    # ARI on a subsample: whole look-alike groups (a random-row 5% sample would leave ~1 image per identity),
    # the same rows clustered after an exact and after an approximate search
    chosen = rng.permutation(groups.max() + 1)
    sizes = np.bincount(groups)[chosen]
    chosen = chosen[: int(np.searchsorted(np.cumsum(sizes), subsample)) + 1]
    sub = np.flatnonzero(np.isin(groups, chosen))
    sub_feats, sub_mod = np.ascontiguousarray(feats[sub]), modality[sub]
    kept_exact: dict = {}
    exact_labels, exact_times = sparse_maj_and_dbscan(sub_feats, sub_mod, eps, keep=kept_exact, store_below=0.95)
    exact_lists = [ids_ for _, ids_ in kept_exact.pop("graph").lists]
    sub_vis = int(np.count_nonzero(sub_mod == 0))
    # stress line: the full run's scanned fraction (nprobe scaled by the cell-count ratio) gives a lower
    # recall on the subsample than the full run had, showing how the ARI falls with the recall
    matched = max(1, round(nprobe * np.sqrt(sub_vis / n_vis)))
    for label, config in (
        ("same config", knn),
        (f"stress: nprobe {matched} (full run's scanned fraction)", KnnConfig(method="ivf_blas", ivf_nprobe=matched)),
    ):
        kept_approx: dict = {}
        approx_labels, approx_times = sparse_maj_and_dbscan(
            sub_feats, sub_mod, eps, knn=config, keep=kept_approx, store_below=0.95
        )
        sub_recall = [knn_recall(ids_, exact_lists[g]) for g, (_, ids_) in enumerate(kept_approx.pop("graph").lists)]
        print(
            f"subsample {len(sub):,} rows ({len(chosen)} whole groups), {label}: recall "
            f"{sub_recall[0]:.4f}/{sub_recall[1]:.4f}, ARI(approximate, exact) = "
            f"{adjusted_rand_score(exact_labels, approx_labels):.4f} (exact {exact_times['total']:.1f} s, "
            f"approximate {approx_times['total']:.1f} s; {exact_labels.max() + 1} exact clusters)"
        )
    print(f"final peak RSS {peak_rss_gib():.2f} GiB; wall time of the whole run {time.perf_counter() - t_start:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("mode", choices=["compare", "sysu", "scale", "all"])
    parser.add_argument("--eps", type=float, default=0.6)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 10000])
    parser.add_argument("--scale-n", type=int, default=200_000)
    parser.add_argument("--subsample", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--nprobe", type=int, default=16)
    args = parser.parse_args()
    if args.mode == "all":
        for mode in ("compare", "sysu", "scale"):
            subprocess.run([sys.executable, __file__, mode, "--eps", str(args.eps)], check=True)
        return
    if args.mode == "compare":
        compare(tuple(args.sizes), args.eps)
    elif args.mode == "sysu":
        sysu(args.eps)
    else:
        scale(args.eps, args.scale_n, args.subsample, args.queries, args.nprobe)


if __name__ == "__main__":
    main()
