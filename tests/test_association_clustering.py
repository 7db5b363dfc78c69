"""DBSCAN on the sparse graph, subset splits and the association diagnostics."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import DBSCAN

from vireid_core.association import (
    cluster_dbscan,
    cluster_subset,
    clustering_report,
    jaccard_distance,
    knn_modality_composition,
    modality_aware_jaccard,
    modality_gap,
    single_modality_ceiling_ari,
    split_subsets,
)
from vireid_core.association.reference import dense_modality_aware_jaccard


def clustered(n: int = 300, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(30, dim))
    ids = rng.integers(0, 30, n)
    modality = rng.integers(0, 2, n)
    feats = centres[ids] + 0.5 * rng.normal(size=(n, dim)) + modality[:, None] * 0.5
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    return feats.astype(np.float32), modality, ids


@pytest.fixture(scope="module")
def sparse_and_dense() -> tuple[sp.csr_matrix, np.ndarray]:
    feats, modality, _ = clustered()
    return modality_aware_jaccard(feats, modality, 20, 6), dense_modality_aware_jaccard(feats, modality, 20, 6)


@pytest.mark.parametrize("eps", [0.05, 0.3, 0.5, 0.6, 0.75, 0.95, 1.0, 1.5])
@pytest.mark.parametrize("min_samples", [1, 4])
def test_dbscan_sparse_equals_dense(
    sparse_and_dense: tuple[sp.csr_matrix, np.ndarray], eps: float, min_samples: int
) -> None:
    sparse, dense = sparse_and_dense
    got = cluster_dbscan(sparse, eps, min_samples)
    want = DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit_predict(dense)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(cluster_dbscan(dense, eps, min_samples), want)


def test_dbscan_counts_exact_zeros_and_the_diagonal() -> None:
    # rows 0-3 identical (distance 0 stored explicitly), row 4 alone; min_samples 4 needs self + 3
    dist = sp.csr_matrix(
        np.array([[0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [1, 1, 1, 1, 0]], np.float32)
    )
    stored = sp.csr_matrix(
        (np.zeros(17, np.float32), (np.r_[np.repeat(np.arange(4), 4), 4], np.r_[np.tile(np.arange(4), 4), 4])),
        shape=(5, 5),
    )
    assert stored.nnz == 17
    np.testing.assert_array_equal(cluster_dbscan(stored, 0.1, 4), [0, 0, 0, 0, -1])
    np.testing.assert_array_equal(cluster_dbscan(dist.toarray(), 0.1, 4), [0, 0, 0, 0, -1])


def test_dbscan_bad_input() -> None:
    with pytest.raises(ValueError, match="eps"):
        cluster_dbscan(sp.eye(3, format="csr"), -0.1)
    with pytest.raises(ValueError, match="square"):
        cluster_dbscan(np.zeros((3, 4)), 0.5)
    with pytest.raises(ValueError, match="min_samples"):
        cluster_dbscan(sp.eye(3, format="csr"), 0.5, 0)


def test_split_subsets_is_seeded_and_disjoint() -> None:
    a0, a1 = split_subsets(11, 0.5, seed=3)
    b0, b1 = split_subsets(11, 0.5, seed=3)
    np.testing.assert_array_equal(a0, b0)
    np.testing.assert_array_equal(a1, b1)
    assert len(a0) == len(a1) == 5 and not set(a0) & set(a1)
    c0, _ = split_subsets(11, 0.5, seed=4)
    assert not np.array_equal(a0, c0)
    full0, full1 = split_subsets(10, 1.0, seed=0)
    np.testing.assert_array_equal(full0, np.arange(10))
    assert full1.size == 0
    with pytest.raises(ValueError, match="ratio"):
        split_subsets(10, 0.0, seed=0)


def test_cluster_subset_labels_only_the_subset() -> None:
    feats, _, _ = clustered(n=200)
    subset, _ = split_subsets(200, 0.5, seed=0)
    labels = cluster_subset(feats, subset, eps=0.6, k1=20, k2=6)
    outside = np.setdiff1d(np.arange(200), subset)
    assert (labels[outside] == -1).all()
    direct = cluster_dbscan(jaccard_distance(feats[subset], 20, 6), 0.6)
    np.testing.assert_array_equal(labels[subset], direct)
    assert labels.max() >= 1


def test_clustering_report_hand_made() -> None:
    labels = np.array([0, 0, 0, 1, 1, -1])
    modality = np.array([0, 1, 0, 0, 0, 1])
    truth = np.array([7, 7, 8, 9, 9, 7])
    report = clustering_report(labels, modality, truth)
    assert report["n_clusters"] == 2
    assert report["outlier_rate"] == pytest.approx(1 / 6)
    assert report["mixed_cluster_fraction"] == pytest.approx(0.5)
    assert report["size_histogram"] == {2: 1, 3: 1}
    # predicted pairs: (0,1) (0,2) (1,2) (3,4); correct: (0,1) (3,4); true pairs: (0,1) (0,5) (1,5) (3,4)
    assert report["pair_precision"] == pytest.approx(2 / 4)
    assert report["pair_recall"] == pytest.approx(2 / 4)
    # cross pairs predicted: (0,1) (2,1), correct (0,1); true cross pairs: (0,1) (0,5)
    assert report["cross_modality_pair_precision"] == pytest.approx(1 / 2)
    assert report["cross_modality_pair_recall"] == pytest.approx(1 / 2)
    perfect = clustering_report(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([3, 3, 4, 4]))
    assert perfect["ari"] == pytest.approx(1.0) and perfect["nmi"] == pytest.approx(1.0)
    noise = clustering_report(np.array([-1, -1, 0, 0]), np.array([0, 1, 0, 1]), np.array([3, 3, 4, 4]))
    assert noise["ari"] < 1.0  # outliers count as singletons, so the split pair 0-1 costs ARI
    assert "ari" not in clustering_report(labels, modality)


def test_single_modality_ceiling_is_the_ari_of_the_perfect_modality_split() -> None:
    truth = np.array([1, 1, 1, 1, 2, 2, 2, 2])
    modality = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    split = np.array([0, 0, 1, 1, 2, 2, 3, 3])  # each identity split by modality, no outliers
    ceiling = single_modality_ceiling_ari(truth, modality)
    assert ceiling == pytest.approx(clustering_report(split, modality, truth)["ari"])
    assert ceiling < 1.0
    assert clustering_report(split, modality, truth)["single_modality_ceiling_ari"] == pytest.approx(ceiling)
    assert single_modality_ceiling_ari(truth, np.zeros(8, int)) == pytest.approx(1.0)  # one modality: no cost


def test_knn_modality_composition_hand_made() -> None:
    # visible rows near +x, infrared rows near +y: every neighbour within k=2 is same-modality
    feats = np.array([[1, 0.01], [1, 0.02], [1, 0.03], [0.01, 1], [0.02, 1], [0.03, 1]], np.float32)
    modality = np.array([0, 0, 0, 1, 1, 1])
    comp = knn_modality_composition(feats, modality, ks=(1, 2, 5))
    assert comp["visible"][1] == 0.0 and comp["infrared"][2] == 0.0
    assert comp["visible"][5] == pytest.approx(3 / 5)
    assert comp["chance"]["visible"] == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="ks"):
        knn_modality_composition(feats, modality, ks=(6,))


def test_modality_gap_hand_made() -> None:
    feats = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], np.float32)
    modality = np.array([0, 0, 1, 1])
    gap = modality_gap(feats, modality)
    assert gap["intra"] == pytest.approx(0.0) and gap["cross"] == pytest.approx(2.0)
    assert gap["gap"] == pytest.approx(2.0)
    with_ids = modality_gap(feats, modality, np.array([0, 1, 0, 1]))
    assert with_ids["cross_same_id"] == pytest.approx(2.0)
    assert np.isnan(with_ids["intra_same_id"])  # no same-id pair within a modality
    assert with_ids["intra_diff_id"] == pytest.approx(0.0)
    feats_r, modality_r, ids_r = clustered(n=120, seed=2)
    fast = modality_gap(feats_r, modality_r)
    dist = 2 - 2 * feats_r.astype(np.float64) @ feats_r.T.astype(np.float64)
    same_mod = modality_r[:, None] == modality_r[None, :]
    off_diag = ~np.eye(120, dtype=bool)
    assert fast["intra"] == pytest.approx(dist[same_mod & off_diag].mean(), abs=1e-6)
    assert fast["cross"] == pytest.approx(dist[~same_mod].mean(), abs=1e-6)
