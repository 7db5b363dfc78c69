"""Sparse Jaccard distances against the dense reference (vireid_core.association.reference)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from vireid_core.association import (
    KnnConfig,
    NeighbourGraph,
    jaccard_distance,
    jaccard_from_graph,
    knn_recall,
    modality_aware_jaccard,
)
from vireid_core.association.reference import dense_jaccard, dense_modality_aware_jaccard
from vireid_core.association.search import partitioned
from vireid_core.association.search.exact import exact_grouped_topk


def clustered_features(
    n: int = 240, dim: int = 16, n_ids: int = 30, gap: float = 0.8, seed: int = 0, normalise: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Identity centres + a modality offset + noise; modality drawn at random (rows interleaved)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_ids, dim))
    ids = rng.integers(0, n_ids, n)
    modality = rng.integers(0, 2, n)
    offset = rng.normal(size=dim) * gap / np.sqrt(dim) * 3
    feats = centres[ids] + 0.5 * rng.normal(size=(n, dim)) + modality[:, None] * offset
    if normalise:
        feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    return feats.astype(np.float32), modality, ids


def tied_features(n: int = 120, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Small integer features scaled by 1/4: every dot product is exact in float32, so ties are real
    ties and duplicate rows are exact duplicates."""
    rng = np.random.default_rng(seed)
    base = rng.integers(-2, 3, size=(n // 2, 6))
    feats = np.concatenate([base, base[rng.integers(0, n // 2, n - n // 2)]])  # many duplicate rows
    feats = feats[rng.permutation(n)].astype(np.float32) / 4
    return feats, rng.integers(0, 2, n)


def as_dense(dist: sp.csr_matrix) -> np.ndarray:
    out = np.ones(dist.shape, np.float32)
    coo = dist.tocoo()
    out[coo.row, coo.col] = coo.data
    return out


@pytest.mark.parametrize("off_by_one", [True, False])
@pytest.mark.parametrize("k1,k2", [(20, 6), (13, 1)])
def test_plain_matches_dense(off_by_one: bool, k1: int, k2: int) -> None:
    feats, _, _ = clustered_features()
    got = jaccard_distance(feats, k1, k2, off_by_one=off_by_one, knn=KnnConfig(block_size=64))
    want = dense_jaccard(feats, k1, k2, off_by_one=off_by_one)
    np.testing.assert_allclose(as_dense(got), want, atol=1e-5)


@pytest.mark.parametrize("off_by_one,balanced", [(True, False), (False, False), (True, True), (False, True)])
def test_modality_aware_matches_dense_with_interleaved_rows(off_by_one: bool, balanced: bool) -> None:
    feats, modality, _ = clustered_features(seed=3)
    assert modality[0] != modality[1] or modality[1] != modality[2]  # rows really are interleaved
    got = modality_aware_jaccard(
        feats, modality, 20, 6, off_by_one=off_by_one, balanced_halves=balanced, knn=KnnConfig(block_size=50)
    )
    want = dense_modality_aware_jaccard(feats, modality, 20, 6, off_by_one=off_by_one, balanced_halves=balanced)
    np.testing.assert_allclose(as_dense(got), want, atol=1e-5)


def test_modality_aware_is_equivariant_to_row_order() -> None:
    feats, modality, _ = clustered_features(seed=4)
    perm = np.random.default_rng(0).permutation(len(feats))
    base = as_dense(modality_aware_jaccard(feats, modality, 20, 6))
    permuted = as_dense(modality_aware_jaccard(feats[perm], modality[perm], 20, 6))
    np.testing.assert_allclose(permuted, base[np.ix_(perm, perm)], atol=1e-6)
    order = np.argsort(modality, kind="stable")  # visible-first input gives the same distances
    np.testing.assert_allclose(
        as_dense(modality_aware_jaccard(feats[order], modality[order], 20, 6)), base[np.ix_(order, order)], atol=1e-6
    )


def test_ties_and_duplicate_rows_follow_the_index_rule() -> None:
    feats, modality = tied_features()
    for block in (7, 1024):  # several GEMM blocks, and one
        knn = KnnConfig(block_size=block)
        np.testing.assert_allclose(
            as_dense(jaccard_distance(feats, 10, 4, knn=knn)), dense_jaccard(feats, 10, 4), atol=1e-5
        )
        np.testing.assert_allclose(
            as_dense(modality_aware_jaccard(feats, modality, 10, 3, knn=knn)),
            dense_modality_aware_jaccard(feats, modality, 10, 3),
            atol=1e-5,
        )


def test_unnormalised_features_are_used_as_given() -> None:
    feats, modality, _ = clustered_features(seed=5, normalise=False)
    feats *= np.random.default_rng(0).uniform(0.8, 1.0, size=(len(feats), 1)).astype(np.float32)
    np.testing.assert_allclose(as_dense(jaccard_distance(feats, 15, 4)), dense_jaccard(feats, 15, 4), atol=1e-5)
    np.testing.assert_allclose(
        as_dense(modality_aware_jaccard(feats, modality, 16, 4)),
        dense_modality_aware_jaccard(feats, modality, 16, 4),
        atol=1e-5,
    )


def test_smallest_allowed_modality_matches_dense() -> None:
    feats, _, _ = clustered_features(n=120, seed=6)
    modality = np.zeros(120, np.int64)
    modality[np.random.default_rng(1).choice(120, 10, replace=False)] = 1  # exactly k1 // 2 infrared
    np.testing.assert_allclose(
        as_dense(modality_aware_jaccard(feats, modality, 20, 6)),
        dense_modality_aware_jaccard(feats, modality, 20, 6),
        atol=1e-5,
    )


def test_storage_contract() -> None:
    feats, modality, _ = clustered_features(seed=7)
    for dist in (jaccard_distance(feats, 20, 6), modality_aware_jaccard(feats, modality, 20, 6)):
        assert isinstance(dist, sp.csr_matrix) and dist.dtype == np.float32
        assert dist.has_sorted_indices
        diag_stored = np.diff(dist.indptr) > 0
        assert diag_stored.all()
        rows = np.repeat(np.arange(dist.shape[0]), np.diff(dist.indptr))
        assert set(zip(rows[rows == dist.indices], dist.indices[rows == dist.indices], strict=True)) == {
            (i, i) for i in range(dist.shape[0])
        }
        assert (dist.data >= 0).all() and (dist.data < 1).all()
        np.testing.assert_allclose(dist.diagonal(), 0, atol=1e-5)
        np.testing.assert_allclose(as_dense(dist), as_dense(dist).T, atol=1e-5)  # symmetric


def test_deterministic_and_accepts_torch_tensors() -> None:
    torch = pytest.importorskip("torch")
    feats, modality, _ = clustered_features(seed=8)
    first = modality_aware_jaccard(feats, modality, 20, 6)
    second = modality_aware_jaccard(torch.from_numpy(feats), torch.from_numpy(modality), 20, 6)
    assert (first != second).nnz == 0


def test_neighbour_graph_serves_several_settings() -> None:
    feats, modality, _ = clustered_features(seed=9)
    plain = NeighbourGraph.build(feats, max_k1=30)
    aware = NeighbourGraph.build(feats, modality, max_k1=30)
    for k1, k2 in ((30, 6), (20, 4), (10, 1)):
        assert (jaccard_from_graph(plain, k1, k2) != jaccard_distance(feats, k1, k2)).nnz == 0
        assert (
            jaccard_from_graph(aware, k1, k2 if k2 > 1 else 2)
            != modality_aware_jaccard(feats, modality, k1, k2 if k2 > 1 else 2)
        ).nnz == 0
    with pytest.raises(ValueError, match="max_k1=30"):
        jaccard_from_graph(plain, 40, 6)


def test_exact_topk_matches_stable_sort() -> None:
    feats, _ = tied_features(n=90)
    scores = -(feats @ feats.T)
    want = np.argsort(scores, axis=1, kind="stable")
    for block in (5, 90):
        (_, ids_a), (_, ids_b) = exact_grouped_topk(feats, [0, 40, 90], [7, 9], metric="ip", block_size=block)
        np.testing.assert_array_equal(ids_a, np.argsort(scores[:, :40], axis=1, kind="stable")[:, :7])
        np.testing.assert_array_equal(ids_b, 40 + np.argsort(scores[:, 40:], axis=1, kind="stable")[:, :9])
        ((_, ids),) = exact_grouped_topk(feats, [0, 90], [12], metric="ip", block_size=block)
        np.testing.assert_array_equal(ids, want[:, :12])


@pytest.mark.parametrize("method", ["hnsw", "ivf", "ivf_blas"])
def test_approximate_search_recall(method: str) -> None:
    feats, modality, _ = clustered_features(n=600, dim=32, seed=10)
    exact = NeighbourGraph.build(feats, modality, max_k1=20)
    approx = NeighbourGraph.build(feats, modality, max_k1=20, knn=KnnConfig(method=method, ivf_nprobe=8))
    for (_, e_ids), (_, a_ids) in zip(exact.lists, approx.lists, strict=True):
        assert knn_recall(a_ids, e_ids) >= 0.95
    assert knn_recall(np.array([[1, 2]]), np.array([[2, 3]])) == 0.5


@pytest.mark.parametrize(
    "bad,match",
    [
        (np.full((10, 4), np.nan, np.float32), "NaN"),
        (np.ones(10, np.float32), "2-D"),
        (np.ones((0, 4), np.float32), "at least one row"),
    ],
)
def test_bad_features_raise(bad: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        jaccard_distance(bad, 3, 1)


def test_bad_parameters_raise() -> None:
    feats, modality, _ = clustered_features(n=60, seed=11)
    with pytest.raises(ValueError, match="larger than the number of samples"):
        jaccard_distance(feats, 61, 6)
    with pytest.raises(ValueError, match="k2"):
        jaccard_distance(feats, 10, 11)
    with pytest.raises(ValueError, match="only 0"):
        modality_aware_jaccard(feats, np.where(modality == 1, 2, 0), 10, 3)
    with pytest.raises(ValueError, match="one entry per feature row"):
        modality_aware_jaccard(feats, modality[:-1], 10, 3)
    few = np.zeros(60, np.int64)
    few[:4] = 1
    with pytest.raises(ValueError, match="infrared modality .* has only 4 samples"):
        modality_aware_jaccard(feats, few, 10, 3)
    with pytest.raises(ValueError, match="has only 0 samples"):
        modality_aware_jaccard(feats, np.zeros(60, np.int64), 10, 3)


def test_pairs_at_distance_one_are_not_stored_but_the_diagonal_is() -> None:
    from vireid_core.association.minsum import minsum_jaccard

    expanded = sp.csr_matrix(np.array([[1 - 1e-9, 1e-9, 0], [0, 1, 0], [0, 0, 1]], np.float32))
    dist = minsum_jaccard(expanded)
    np.testing.assert_array_equal(dist.indptr, [0, 1, 2, 3])
    np.testing.assert_array_equal(dist.indices, [0, 1, 2])
    np.testing.assert_allclose(dist.data, 0.0, atol=1e-6)


def test_blocked_minsum_and_store_below() -> None:
    from vireid_core.association.jaccard import jaccard_from_lists

    feats, _, _ = clustered_features(seed=12)
    graph = NeighbourGraph.build(feats, max_k1=20)
    ranking = graph.plain_ranking(20)
    full = jaccard_from_graph(graph, 20, 6)
    blocked = jaccard_from_lists(feats, ranking, ranking[:, :11], [ranking[:, :6]])
    assert (full != blocked).nnz == 0
    from vireid_core.association.jaccard import encode, expansion_average, expansion_pattern
    from vireid_core.association.minsum import minsum_jaccard

    expanded = expansion_average([ranking[:, :6]], len(feats)) @ encode(
        feats, expansion_pattern(ranking, ranking[:, :11], len(feats))
    )
    assert (minsum_jaccard(expanded, block_rows=37) != full).nnz == 0
    trimmed = jaccard_from_graph(graph, 20, 6, store_below=0.9)
    dense_full = as_dense(full)
    expected = np.where(dense_full < 0.9, dense_full, 1.0)
    np.fill_diagonal(expected, np.diag(dense_full))  # the diagonal is always stored
    np.testing.assert_array_equal(as_dense(trimmed), expected)
    assert trimmed.nnz < full.nnz


def test_ivf_blas_tiles_do_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    feats, modality, _ = clustered_features(n=400, dim=24, seed=13)
    config = KnnConfig(method="ivf_blas", ivf_nprobe=3)
    whole = NeighbourGraph.build(feats, modality, max_k1=20, knn=config)
    monkeypatch.setattr(partitioned, "TILE_QUERIES", 7)
    monkeypatch.setattr(partitioned, "TILE_MEMBERS", 5)
    tiled = NeighbourGraph.build(feats, modality, max_k1=20, knn=config)
    for (w_scores, w_ids), (t_scores, t_ids) in zip(whole.lists, tiled.lists, strict=True):
        np.testing.assert_array_equal(t_ids, w_ids)
        np.testing.assert_allclose(t_scores, w_scores, atol=1e-6)  # BLAS summation order differs per tile shape
