"""Exact neighbour search variants: the bfloat16-screened search (certificate + fall-back) and faiss' flat
index give the float32 search's neighbours."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vireid_core.association import KnnConfig, NeighbourGraph, modality_aware_jaccard
from vireid_core.association.search.exact import exact_grouped_topk
from vireid_core.association.search.screened import screened_grouped_topk, screening_error_bound


def biased_features(n: int, dim: int = 64, n_ids: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit rows: identity centre + modality offset + noise, modality interleaved at random."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, n_ids, n)
    modality = rng.integers(0, 2, n)
    feats = rng.normal(size=(n_ids, dim))[ids] + 0.7 * rng.normal(size=(n, dim)) + modality[:, None]
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    return feats.astype(np.float32), modality


def grouped(feats: np.ndarray, modality: np.ndarray) -> tuple[np.ndarray, list[int]]:
    order = np.argsort(modality, kind="stable")
    n_vis = int((modality == 0).sum())
    return np.ascontiguousarray(feats[order]), [0, n_vis, len(feats)]


def assert_same_neighbours(
    got_s: np.ndarray, got_i: np.ndarray, want_s: np.ndarray, want_i: np.ndarray, atol: float = 2e-6
) -> None:
    """Same scores per rank, and the same neighbours up to float32 ties.

    Two equal rows (an exact tie) can get scores 1e-7 apart in a blocked GEMM, depending on where they
    sit in a block and on the CPU's kernel; the screened search re-scores with plain dot products and
    then breaks the tie by id. So neighbours may swap places only where their scores tie within
    ``atol``, and may differ at rank k only by an element tied with the k-th score.
    """
    np.testing.assert_allclose(got_s, want_s, atol=atol)
    for row in np.flatnonzero((got_i != want_i).any(axis=1)):
        swapped = got_i[row] != want_i[row]
        np.testing.assert_allclose(got_s[row][swapped], want_s[row][swapped], atol=atol)
        outside = set(got_i[row]) ^ set(want_i[row])
        if outside:  # an element in one list only: it must tie with the k-th score
            tied = np.abs(got_s[row] - want_s[row][-1]) <= atol
            assert outside <= set(got_i[row][tied]) | set(want_i[row][np.abs(want_s[row] - want_s[row][-1]) <= atol])


@pytest.mark.parametrize("metric", ["ip", "l2"])
@pytest.mark.parametrize("margin", [1, 4, 32])
def test_screened_equals_float32_search(metric: str, margin: int) -> None:
    feats, modality = biased_features(700)
    feats[50] = feats[10]  # duplicate rows: an exact tie broken by id
    feats, bounds = grouped(feats, modality)
    stats: dict[str, float] = {}
    got = screened_grouped_topk(feats, bounds, [9, 9], metric=metric, block_size=128, margin=margin, stats=stats)
    want = exact_grouped_topk(feats, bounds, [9, 9], metric=metric, block_size=128)
    for (got_s, got_i), (want_s, want_i) in zip(got, want, strict=True):
        assert_same_neighbours(got_s, got_i, want_s, want_i)
    if margin == 1:
        assert stats["fallback_fraction"] > 0  # a margin of one cannot certify every row: fall-back ran


def test_group_smaller_than_candidate_list_needs_no_certificate() -> None:
    feats, modality = biased_features(200)
    modality[:] = 0
    modality[:5] = 1  # 5 infrared rows < k + margin: every infrared row is a candidate
    feats, bounds = grouped(feats, modality)
    stats: dict[str, float] = {}
    got = screened_grouped_topk(feats, bounds, [6, 5], metric="ip", margin=8, stats=stats)
    want = exact_grouped_topk(feats, bounds, [6, 5], metric="ip")
    for (_, got_i), (_, want_i) in zip(got, want, strict=True):
        np.testing.assert_array_equal(got_i, want_i)


def test_error_bound_holds_for_torch_bf16_gemm() -> None:
    rng = np.random.default_rng(3)
    dim = 512
    a = rng.normal(size=(64, dim)).astype(np.float32)
    b = rng.normal(size=(300, dim)).astype(np.float32)
    a[0] = np.abs(a[0])
    b[0] = np.abs(b[0])  # all-positive products: the worst case for accumulated rounding
    approx = torch.mm(torch.from_numpy(a).bfloat16(), torch.from_numpy(b).bfloat16().T).float().numpy()
    exact = a.astype(np.float64) @ b.astype(np.float64).T
    lengths = np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None, :]
    ratio = np.abs(approx - exact) / lengths
    assert ratio.max() <= screening_error_bound(dim)
    assert ratio.max() > 0  # bfloat16 really is inexact here: the bound is doing work


def test_forced_screen_gives_the_same_distances() -> None:
    feats, modality = biased_features(500, seed=5)
    plain = modality_aware_jaccard(feats, modality, 20, 4, knn=KnnConfig(screen="off"))
    screened = modality_aware_jaccard(feats, modality, 20, 4, knn=KnnConfig(screen="bf16", screen_margin=4))
    np.testing.assert_array_equal(plain.indices, screened.indices)
    np.testing.assert_allclose(screened.toarray(), plain.toarray(), atol=1e-5)


def test_bad_screen_settings_are_named() -> None:
    with pytest.raises(ValueError, match="screen"):
        KnnConfig(screen="fp16")
    with pytest.raises(ValueError, match="screen_margin"):
        KnnConfig(screen_margin=0)
    with pytest.raises(ValueError, match="margin"):
        screened_grouped_topk(np.zeros((4, 2), np.float32), [0, 4], [2], metric="ip", margin=0)


def test_auto_screen_follows_size_threshold() -> None:
    feats, modality = biased_features(300)
    auto = NeighbourGraph.build(feats, modality, max_k1=10, knn=KnnConfig(screen="auto", screen_min_rows=10))
    off = NeighbourGraph.build(feats, modality, max_k1=10, knn=KnnConfig(screen="off"))
    for (_, a), (_, b) in zip(auto.lists, off.lists, strict=True):
        np.testing.assert_array_equal(a, b)


def test_faiss_flat_search_matches_the_exact_search() -> None:
    feats, modality = biased_features(400, seed=7)
    flat = NeighbourGraph.build(feats, modality, max_k1=12, knn=KnnConfig(method="faiss_flat"))
    exact = NeighbourGraph.build(feats, modality, max_k1=12, knn=KnnConfig(screen="off"))
    for (flat_s, flat_i), (exact_s, exact_i) in zip(flat.lists, exact.lists, strict=True):
        np.testing.assert_array_equal(flat_i, exact_i)
        np.testing.assert_allclose(flat_s, exact_s, atol=1e-5)
