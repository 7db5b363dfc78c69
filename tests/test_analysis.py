"""Analysis helpers behind the teaching notebooks: pair sampling, neighbour lists, encodings, explorer,
prototypes, subsets, retrieval lists, numbers files and checkpoint loading."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from vireid_core import analysis
from vireid_core.association import (
    NeighbourGraph,
    cluster_dbscan,
    jaccard_from_graph,
    modality_aware_jaccard,
)
from vireid_core.config import get_preset
from vireid_core.data.records import Sample


def toy_features(ids: int = 6, per_modality: int = 5, seed: int = 0, offset: float = 2.0):
    """Identity code + a modality offset + noise: the modality bias in miniature."""
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(ids, 16))
    shift = rng.normal(size=16) * offset
    feats, mods, pids = [], [], []
    for pid in range(ids):
        for m in (0, 1):
            for _ in range(per_modality):
                feats.append(codes[pid] + m * shift + 0.3 * rng.normal(size=16))
                mods.append(m)
                pids.append(pid)
    return analysis.unit_rows(np.array(feats)), np.array(mods), np.array(pids)


def test_sample_pairs_kinds_are_correct_and_seeded():
    _, mods, pids = toy_features()
    i, j, kind = analysis.sample_pairs(mods, pids, per_kind=50, seed=3)
    assert np.all(i < j)
    same_id, same_mod = pids[i] == pids[j], mods[i] == mods[j]
    expected = np.where(same_id, np.where(same_mod, 0, 1), np.where(same_mod, 2, 3))
    np.testing.assert_array_equal(kind, expected)
    assert all(np.count_nonzero(kind == k) == 50 for k in range(4))
    again = analysis.sample_pairs(mods, pids, per_kind=50, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((i, j, kind), again, strict=True))


def test_pair_distances_features_and_sparse_absent_entries():
    feats, _, _ = toy_features()
    i, j = np.array([0, 1, 2]), np.array([3, 4, 2])
    np.testing.assert_allclose(
        analysis.pair_distances(feats, i, j), 2 - 2 * np.sum(feats[i] * feats[j], axis=1), atol=1e-6
    )
    dist = sp.csr_matrix((np.array([0.0, 0.25], np.float32), (np.array([0, 1]), np.array([3, 1]))), shape=(5, 5))
    np.testing.assert_allclose(
        analysis.pair_distances(dist, np.array([0, 1, 2]), np.array([3, 1, 4])), [0.0, 0.25, 1.0]
    )


def test_separation_summary_gap():
    table = {
        "distance": np.array([0.1, 0.5, 0.9, 0.9]),
        "pair": np.array(analysis.PAIR_KINDS, dtype=object),
        "measure": np.array(["m"] * 4, dtype=object),
    }
    summary = analysis.separation_summary(table)["m"]
    assert summary["same_id_gap"] == pytest.approx(0.4)
    assert summary["relative_gap"] == pytest.approx(0.4 / 0.9)


def test_query_neighbours_match_the_neighbour_graph():
    feats, mods, _ = toy_features()
    k = 8
    graph = NeighbourGraph.build(feats, mods, max_k1=k)
    _, _, merged = graph.modality_lists(k)
    plain = NeighbourGraph.build(feats, max_k1=k).plain_ranking(k)
    for query in (0, 7, 33):
        lists = analysis.query_neighbours(feats, mods, query, k=k)
        np.testing.assert_array_equal(lists["balanced"], merged[query])
        np.testing.assert_array_equal(lists["plain"], plain[query])
        assert np.all(mods[lists["visible"]] == 0) and np.all(mods[lists["infrared"]] == 1)
    with pytest.raises(ValueError, match="query"):
        analysis.query_neighbours(feats, mods, len(feats), k=k)


@pytest.mark.parametrize("aware", [False, True])
def test_encoding_vectors_give_the_jaccard_distance(aware):
    feats, mods, _ = toy_features()
    k1, k2 = 8, 3
    graph = NeighbourGraph.build(feats, mods if aware else None, max_k1=k1)
    enc = analysis.encoding_vectors(graph, k1, k2).toarray()
    np.testing.assert_allclose(enc.sum(axis=1), 1.0, atol=1e-5)
    pairs_a, pairs_b = np.array([0, 0, 3, 12, 5]), np.array([1, 6, 40, 13, 5])
    got = analysis.pair_distances(jaccard_from_graph(graph, k1, k2), pairs_a, pairs_b)
    low = np.minimum(enc[pairs_a], enc[pairs_b]).sum(axis=1)
    high = np.maximum(enc[pairs_a], enc[pairs_b]).sum(axis=1)
    np.testing.assert_allclose(got, 1 - low / high, atol=1e-4)


def test_cluster_explorer_equals_direct_computation_and_sweeps():
    feats, mods, pids = toy_features()
    explorer = analysis.ClusterExplorer(feats, mods, pids, max_k1=10)
    labels, report = explorer.cluster("modality-aware", 8, 3, 0.6, 2)
    direct = cluster_dbscan(modality_aware_jaccard(feats, mods, k1=8, k2=3), eps=0.6, min_samples=2)
    np.testing.assert_array_equal(labels, direct)
    assert report["n_samples"] == len(feats) and "ari" in report
    rows = explorer.sweep([6, 8], [0.5, 0.7], k2=3, min_samples=2)
    assert len(rows) == 2 * 2 * 2 and {r["kind"] for r in rows} == {"plain", "modality-aware"}
    plain = [r for r in rows if r["kind"] == "plain"]
    aware = [r for r in rows if r["kind"] == "modality-aware"]
    # the toy features carry a large modality offset: plain never mixes, modality-aware does
    assert max(r["mixed_cluster_fraction"] for r in plain if r["n_clusters"]) == 0.0
    assert max(r["mixed_cluster_fraction"] for r in aware) > 0.3
    with pytest.raises(ValueError, match="kind"):
        explorer.jaccard("euclid", 8, 3)


def test_split_prototypes_and_mixed_clusters():
    feats = np.eye(4, dtype=np.float32)[[0, 0, 1, 1, 2, 3]]
    labels = np.array([0, 0, 0, 1, 1, -1])
    mods = np.array([0, 0, 1, 1, 1, 0])
    protos = analysis.split_prototypes(feats, labels, mods)
    np.testing.assert_array_equal(protos["cluster"], [0, 0, 1])
    np.testing.assert_array_equal(protos["modality"], [0, 1, 1])
    np.testing.assert_allclose(protos["prototypes"][0], [1, 0, 0, 0])
    np.testing.assert_allclose(protos["prototypes"][2], np.array([0, 1, 1, 0]) / math.sqrt(2), atol=1e-6)
    assert analysis.prototype_pair_similarity(protos) == {0: pytest.approx(0.0)}
    assert analysis.largest_mixed_clusters(labels, mods) == [0]
    with pytest.raises(ValueError, match="equal lengths"):
        analysis.split_prototypes(feats, labels[:3], mods)


def test_identity_subset_is_seeded_and_capped():
    samples = [Sample(f"p{pid}_{m}_{k}.png", pid, 1 + 2 * m, m) for pid in range(10) for m in (0, 1) for k in range(5)]
    rows = analysis.identity_subset(samples, 3, seed=1, max_per_modality=2)
    assert len(rows) == 3 * 2 * 2 and len({samples[r].pid for r in rows}) == 3
    np.testing.assert_array_equal(rows, analysis.identity_subset(samples, 3, seed=1, max_per_modality=2))
    mods, pids, cams = analysis.labels_of([samples[r] for r in rows])
    assert set(mods) == {0, 1} and np.all(cams == 1 + 2 * mods)
    with pytest.raises(ValueError, match="n_ids"):
        analysis.identity_subset(samples, 0)


def test_top_matches_and_projection():
    gallery = np.eye(3, dtype=np.float32)
    ranked, correct = analysis.top_matches(gallery[[2, 0]], gallery, [7, 5], [5, 6, 7], k=2)
    np.testing.assert_array_equal(ranked[:, 0], [2, 0])
    np.testing.assert_array_equal(correct[:, 0], [True, True])
    coords = analysis.pca_2d(np.random.default_rng(0).normal(size=(20, 5)))
    assert coords.shape == (20, 2) and coords.dtype == np.float32


def test_eps_from_neighbour_distance():
    points = np.array([0.0, 1.0, 3.0, 6.0])
    dist = np.abs(points[:, None] - points[None, :])
    assert analysis.eps_from_neighbour_distance(dist, k=1, quantile=0.5) == pytest.approx(1.5)  # 1-NN: 1, 1, 2, 3
    with pytest.raises(ValueError, match="square"):
        analysis.eps_from_neighbour_distance(dist[:2], k=1)


def test_write_numbers_converts_numpy_and_nan(tmp_path):
    path = analysis.write_numbers(
        tmp_path / "sub" / "n.json", {"a": np.float32(0.5), "b": float("nan"), "c": np.arange(3), 4: {"d": np.int64(2)}}
    )
    assert json.loads(path.read_text()) == {"a": 0.5, "b": None, "c": [0, 1, 2], "4": {"d": 2}}


def test_run_dir_depends_on_the_config(tmp_path):
    base = get_preset("synthvi-smoke")
    other = get_preset("synthvi-smoke", {"seed": 5})
    assert analysis.run_dir_for(base, tmp_path) == analysis.run_dir_for(get_preset("synthvi-smoke"), tmp_path)
    assert analysis.run_dir_for(base, tmp_path) != analysis.run_dir_for(other, tmp_path)
    assert analysis.run_dir_for(get_preset("synthvi-smoke:M3"), tmp_path).name.startswith("synthvi-smoke-M3-")


def test_load_model_errors_name_the_file(tmp_path):
    config = get_preset("synthvi-smoke")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        analysis.load_model(config, tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    torch.save({"model": {"not_a_layer.weight": torch.zeros(1)}}, bad)
    with pytest.raises(ValueError, match="bad.pt"):
        analysis.load_model(config, bad)


def test_sweep_summary_reads_one_eps_and_counts_the_settings():
    rows = [
        {
            "kind": kind,
            "k1": k1,
            "eps": eps,
            "ari": ari + (0.1 if kind == "plain" else 0.0),
            "mixed_cluster_fraction": 0.0 if kind == "plain" else 0.3,
            "n_clusters": 5,
            "outlier_rate": 0.1,
        }
        for kind in ("plain", "modality-aware")
        for k1, ari in ((10, 0.2), (4, 0.1))
        for eps in (0.3, 0.5)
    ]
    summary = analysis.sweep_summary(rows, 0.49)
    assert summary["eps"] == 0.5 and summary["k1"] == [4, 10]
    assert summary["ari"] == {"plain": [pytest.approx(0.2), pytest.approx(0.3)], "modality-aware": [0.1, 0.2]}
    assert summary["mixed_cluster_fraction"]["modality-aware"] == [0.3, 0.3]
    assert (summary["settings"], summary["plain_ari_higher"]) == (4, 4)


def test_history_summary_reads_start_end_of_stage_1_and_last():
    history = [
        {"stage": 1, "epoch": 0, "ari_vis": 0.5},
        {"stage": 1, "epoch": 1, "ari_vis": 0.45},
        {"stage": 2, "epoch": 0, "ari_vis": 0.4, "global_ari": 0.1},
        {"stage": 2, "epoch": 1, "ari_vis": 0.42, "global_ari": 0.2},
    ]
    summary = analysis.history_summary(history, ("ari_vis", "global_ari"))
    assert summary["ari_vis"] == {
        "start": 0.5,
        "after stage 1": 0.4,
        "last": 0.42,
        "stage 2 min": 0.4,
        "stage 2 max": 0.42,
    }
    assert summary["global_ari"]["start"] is None and summary["global_ari"]["stage 2 max"] == 0.2
    assert analysis.history_summary(history[:2], ("global_ari",))["global_ari"]["after stage 1"] is None


def test_prototype_similarity_summary_and_images_per_person():
    protos = {
        "prototypes": np.array([[1, 0], [1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32),
        "cluster": np.array([0, 0, 1, 1]),
        "modality": np.array([0, 1, 0, 1]),
    }
    # own pairs: 1.0 and 0.8; visible of 0 with infrared of 1: 0.6, visible of 1 with infrared of 0: 0.0
    summary = analysis.prototype_similarity_summary(protos)
    assert summary == {"same_cluster": pytest.approx(0.9), "other_clusters": pytest.approx(0.3)}
    assert analysis.prototype_similarity_summary({k: v[:2] for k, v in protos.items()})["other_clusters"] is None
    assert analysis.images_per_person([0, 0, 1, 0, 1, 1, 1], [1, 1, 1, 2, 2, 2, 2]) == {"visible": 1, "infrared": 2}
