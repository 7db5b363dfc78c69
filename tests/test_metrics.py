"""rank_metrics: hand-computed cases, a brute-force per-query comparison, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from vireid_core.evaluation.metrics import rank_metrics


def brute_force(distmat, q_pids, g_pids, q_cams, g_cams, rule, max_rank=20):
    """Straight per-query transcription of the protocol (the SYSU-MM01 / RegDB rules of the official test code, see
    docs/evaluation-protocol.md)."""
    num_q, num_g = distmat.shape
    length = min(max_rank, num_g)
    cmc_rows, aps, inps, valid = [], [], [], []
    for q in range(num_q):
        order = np.argsort(distmat[q], kind="stable")
        kept = []
        for g in order:
            if rule == "sysu" and q_cams[q] == 3 and g_cams[g] == 2:
                continue
            if rule == "llcm" and g_pids[g] == q_pids[q] and g_cams[g] == q_cams[q]:
                continue
            kept.append(g)
        labels = [g_pids[g] for g in kept]
        hits = [int(label == q_pids[q]) for label in labels]
        if sum(hits) == 0:
            valid.append(False)
            aps.append(np.nan)
            inps.append(np.nan)
            continue
        valid.append(True)
        found, precisions = 0, []
        for i, h in enumerate(hits):
            if h:
                found += 1
                precisions.append(found / (i + 1))
        aps.append(sum(precisions) / found)
        last = max(i for i, h in enumerate(hits) if h) + 1
        inps.append(found / last)
        if rule == "regdb":
            ranked = labels
        else:
            ranked = []
            for label in labels:
                if label not in ranked:
                    ranked.append(label)
        row = []
        seen = 0
        for k in range(length):
            if k < len(ranked) and ranked[k] == q_pids[q]:
                seen = 1
            row.append(seen)
        cmc_rows.append(row)
    return (
        np.mean(cmc_rows, axis=0),
        np.nanmean(aps),
        np.nanmean(inps),
        np.array(aps),
        np.array(inps),
        np.array(valid),
    )


def test_hand_made_regdb_case(algorithm):
    # Query 0 (id 1): ranking g0(id2) g1(id1) g2(id2) g3(id1) -> hits at 2 and 4.
    # AP = (1/2 + 2/4)/2 = 0.5, INP = 2/4 = 0.5, image-level first hit at rank 2.
    # Query 1 (id 2): ranking g2(id2) g0(id2) g1 g3 -> AP 1, INP 2/2 = 1, hit at rank 1.
    distmat = np.array([[0.1, 0.2, 0.3, 0.4], [0.2, 0.3, 0.1, 0.4]])
    result = rank_metrics(distmat, [1, 2], [2, 1, 2, 1], rule="regdb", max_rank=3)
    np.testing.assert_allclose(result.cmc, [0.5, 1.0, 1.0])
    assert result.mAP == pytest.approx(0.75)
    assert result.mINP == pytest.approx(0.75)
    np.testing.assert_allclose(result.ap, [0.5, 1.0])
    np.testing.assert_allclose(result.inp, [0.5, 1.0])
    assert result.valid.tolist() == [True, True]


def test_sysu_removes_every_cam2_item_for_cam3_queries_and_dedups_identities(algorithm):
    # Gallery: g0 id7 cam2, g1 id5 cam1, g2 id5 cam4, g3 id9 cam1, g4 id7 cam4.
    g_pids = [7, 5, 5, 9, 7]
    g_cams = [2, 1, 4, 1, 4]
    # Query A (id 7, cam3): distances rank g0 g1 g2 g3 g4; g0 (cam2, a true match) is removed.
    # Surviving: g1(5) g2(5) g3(9) g4(7): hit at image rank 4; identities 5, 9, 7 -> id rank 3.
    # AP = 1/4, INP = 1/4.
    # Query B (id 7, cam6): nothing removed; g0 at rank 1 and g4 at rank 5: AP = (1 + 2/5)/2 = 0.7,
    # INP = 2/5, id rank 1.
    # Query C (id 9, cam3): g0 removed; surviving g1(5) g2(5) g3(9) g4 -> 9 at image rank 3, id rank 2;
    # AP = INP = 1/3.
    distmat = np.array([[0.0, 0.1, 0.2, 0.3, 0.4]] * 3)
    result = rank_metrics(distmat, [7, 7, 9], g_pids, [3, 6, 3], g_cams, rule="sysu", max_rank=4)
    np.testing.assert_allclose(result.ap, [0.25, 0.7, 1 / 3])
    np.testing.assert_allclose(result.inp, [0.25, 0.4, 1 / 3])
    np.testing.assert_allclose(result.cmc, [1 / 3, 2 / 3, 1.0, 1.0])
    # The same data under the RegDB rule: no removal, image-level CMC: A and B hit g0 at rank 1,
    # C hits g3 at rank 4.
    regdb = rank_metrics(distmat, [7, 7, 9], g_pids, rule="regdb", max_rank=4)
    np.testing.assert_allclose(regdb.cmc, [2 / 3, 2 / 3, 2 / 3, 1.0])


def test_llcm_removes_same_identity_same_camera_only(algorithm):
    # Query id 1 cam 4. Gallery g0 id1 cam4 (removed), g1 id2 cam4 (kept: other id), g2 id1 cam5.
    distmat = np.array([[0.0, 0.1, 0.2]])
    result = rank_metrics(distmat, [1], [1, 2, 1], [4], [4, 4, 5], rule="llcm", max_rank=5)
    assert result.ap[0] == pytest.approx(0.5)
    assert result.inp[0] == pytest.approx(0.5)
    np.testing.assert_allclose(result.cmc, [0.0, 1.0, 1.0])  # length = gallery size 3


def test_invalid_queries_are_skipped_not_counted(algorithm):
    # Query 1's identity (8) is not in the gallery; query 2's only match is cam2 for a cam3 query.
    distmat = np.array([[0.5, 0.1], [0.1, 0.2], [0.1, 0.2]])
    result = rank_metrics(distmat, [1, 8, 2], [1, 2], [6, 6, 3], [1, 2], rule="sysu")
    assert result.valid.tolist() == [True, False, False]
    assert result.num_valid == 1
    np.testing.assert_allclose(result.cmc, [0.0, 1.0])
    assert result.mAP == pytest.approx(0.5)
    assert np.isnan(result.ap[1]) and np.isnan(result.inp[2])


def test_ties_keep_gallery_order(algorithm):
    distmat = np.zeros((1, 4))
    result = rank_metrics(distmat, [3], [1, 3, 2, 3], rule="regdb")
    assert result.rank(1) == 0.0 and result.rank(2) == 1.0
    assert result.ap[0] == pytest.approx((1 / 2 + 2 / 4) / 2)
    sysu = rank_metrics(distmat, [3], [1, 3, 2, 3], [6], [1, 1, 4, 4], rule="sysu")
    np.testing.assert_allclose(sysu.cmc, [0.0, 1.0, 1.0, 1.0])  # ids in order 1, 3, 2


def test_tiny_gallery_keeps_last_cumulative_value(algorithm):
    # 3 identities, 6 images, max_rank 20: CMC has length 6 (gallery size); after the 3 distinct
    # identities are exhausted every valid query keeps its value (1).
    rng = np.random.default_rng(0)
    distmat = rng.random((4, 6))
    g_pids = [0, 0, 1, 1, 2, 2]
    result = rank_metrics(distmat, [0, 1, 2, 1], g_pids, [3, 6, 6, 3], [1, 4, 5, 1, 4, 5], rule="sysu")
    assert result.cmc.shape == (6,)
    np.testing.assert_allclose(result.cmc[2:], 1.0)


@pytest.fixture(params=["sorting", "counting"])
def algorithm(request, monkeypatch):
    """Force one of rank_metrics' two exact algorithms (sorting rows / counting ranks of matches)."""
    import vireid_core.evaluation.metrics as metrics

    monkeypatch.setattr(metrics, "_MAX_MATCHES_FOR_COUNTING", -1 if request.param == "sorting" else 10**9)
    return request.param


@pytest.mark.parametrize("rule", ["sysu", "llcm", "regdb"])
@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force_on_random_inputs(rule, seed, algorithm):
    rng = np.random.default_rng(seed)
    num_q, num_g = rng.integers(1, 40), rng.integers(1, 60)
    num_ids = int(rng.integers(1, 12))
    # Coarse values create many exact ties.
    distmat = rng.integers(0, 6, size=(num_q, num_g)).astype(np.float64)
    q_pids = rng.integers(0, num_ids + 2, size=num_q)  # some query ids absent from the gallery
    g_pids = rng.integers(0, num_ids, size=num_g)
    q_cams = rng.choice([3, 6, 1, 2], size=num_q)
    g_cams = rng.choice([1, 2, 3, 4, 5], size=num_g)
    max_rank = int(rng.integers(1, 25))
    expected = brute_force(distmat, q_pids, g_pids, q_cams, g_cams, rule, max_rank)
    if not expected[5].any():
        with pytest.raises(ValueError, match="no query has a true match"):
            rank_metrics(distmat, q_pids, g_pids, q_cams, g_cams, rule=rule, max_rank=max_rank)
        return
    result = rank_metrics(distmat, q_pids, g_pids, q_cams, g_cams, rule=rule, max_rank=max_rank)
    np.testing.assert_array_equal(result.valid, expected[5])
    np.testing.assert_allclose(result.cmc, expected[0], atol=1e-12)
    assert result.mAP == pytest.approx(expected[1], abs=1e-12)
    assert result.mINP == pytest.approx(expected[2], abs=1e-12)
    np.testing.assert_allclose(result.ap, expected[3], atol=1e-12)
    np.testing.assert_allclose(result.inp, expected[4], atol=1e-12)


def test_matches_brute_force_on_a_larger_float_case_across_chunks(monkeypatch, algorithm):
    import vireid_core.evaluation.metrics as metrics

    monkeypatch.setattr(metrics, "_CHUNK_ELEMENTS", 500)  # forces many query blocks
    rng = np.random.default_rng(7)
    distmat = rng.standard_normal((120, 90)).astype(np.float32)
    q_pids, g_pids = rng.integers(0, 30, 120), rng.integers(0, 30, 90)
    q_cams, g_cams = rng.choice([3, 6], 120), rng.choice([1, 2, 4, 5], 90)
    for rule in ("sysu", "llcm", "regdb"):
        expected = brute_force(distmat, q_pids, g_pids, q_cams, g_cams, rule)
        result = rank_metrics(distmat, q_pids, g_pids, q_cams, g_cams, rule=rule)
        np.testing.assert_allclose(result.cmc, expected[0], atol=1e-12)
        assert result.mAP == pytest.approx(expected[1], abs=1e-12)


def test_bad_input_raises_clear_errors():
    distmat = np.zeros((2, 3))
    with pytest.raises(ValueError, match="g_pids has length 2"):
        rank_metrics(distmat, [1, 2], [1, 2], rule="regdb")
    with pytest.raises(ValueError, match="q_pids has length 3"):
        rank_metrics(distmat, [1, 2, 3], [1, 2, 3], rule="regdb")
    with pytest.raises(ValueError, match="NaN"):
        rank_metrics(np.array([[0.0, np.nan, 1.0]] * 2), [1, 2], [1, 2, 3], rule="regdb")
    with pytest.raises(ValueError, match="gallery is empty"):
        rank_metrics(np.zeros((2, 0)), [1, 2], np.array([], dtype=int), rule="regdb")
    with pytest.raises(ValueError, match="2-D"):
        rank_metrics(np.zeros(3), [1], [1, 2, 3], rule="regdb")
    with pytest.raises(ValueError, match="needs q_cams"):
        rank_metrics(distmat, [1, 2], [1, 2, 3], rule="sysu")
    with pytest.raises(ValueError, match="rule must be one of"):
        rank_metrics(distmat, [1, 2], [1, 2, 3], rule="market")
    with pytest.raises(ValueError, match="integer labels"):
        rank_metrics(distmat, [1.5, 2.0], [1, 2, 3], rule="regdb")
    with pytest.raises(ValueError, match="max_rank"):
        rank_metrics(distmat, [1, 2], [1, 2, 3], rule="regdb", max_rank=0)
    with pytest.raises(ValueError, match="rank 5 not available"):
        rank_metrics(distmat, [1, 2], [1, 2, 3], rule="regdb").rank(5)
