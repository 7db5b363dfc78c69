"""The k1/k2 rule (one helper, used by the config validation and the association) and the registry of
global association methods."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vireid_core.analysis.notebook_parameters import neighbour_settings
from vireid_core.association import (
    GLOBAL_ASSOCIATIONS,
    feasible_k,
    global_association,
    jaccard_distance,
    modality_aware_jaccard,
    register_global_association,
)
from vireid_core.association.feasibility import k_rule_violation
from vireid_core.config import get_preset
from vireid_core.errors import UserError
from vireid_core.learning.pseudo_labels import associate


def features(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(n, 8)).astype(np.float32)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    return feats, rng.integers(0, 2, n)


@pytest.mark.parametrize(
    "overrides,key",
    [
        ({"intra_clustering.k1": 1, "intra_clustering.k2": 1}, "'intra_clustering.k1'=1"),  # passed, clustered nothing
        ({"intra_clustering.k2": 17}, "'intra_clustering.k2'=17"),  # synthvi-cpu has k1 = 16
        ({"global_clustering.k1": 1, "global_clustering.k2": 1}, "'global_clustering.k1'=1"),
        ({"global_clustering.k2": 9}, "'global_clustering.k2'=9"),  # MAJ: k2 <= k1 // 2 = 8
        (
            {"global_clustering.method": "plain", "global_clustering.k1": 1, "global_clustering.k2": 1},
            "'global_clustering.k1'=1",
        ),
    ],
)
def test_infeasible_k_values_are_refused_naming_key_value_and_rule(overrides: dict, key: str) -> None:
    with pytest.raises(UserError) as info:
        get_preset("synthvi-cpu", overrides)
    message = str(info.value)
    assert key in message and "must" in message and "\n" not in message


def test_the_rule_follows_the_global_method() -> None:
    get_preset("synthvi-cpu", {"global_clustering.method": "plain", "global_clustering.k2": 9})  # k2 <= k1 for plain
    get_preset("synthvi-cpu", {"global_clustering.method": "none", "global_clustering.k2": 9})  # no global step
    for preset in ("sysu", "regdb", "llcm", "synthvi-cpu", "synthvi-smoke"):
        for ablation in ("M1", "M2", "M3", "M4", "M5", "M6"):
            get_preset(f"{preset}:{ablation}")  # every shipped setting is feasible


def test_rule_in_words() -> None:
    assert k_rule_violation(2, 1, per_modality=True) is None
    assert k_rule_violation(30, 6, per_modality=False) is None
    assert k_rule_violation(1, 1, per_modality=False)[0] == "k1"
    assert k_rule_violation(2.5, 1, per_modality=False)[0] == "k1"
    assert k_rule_violation(10, 0, per_modality=False)[0] == "k2"
    assert k_rule_violation(10, 6, per_modality=True)[0] == "k2"
    assert k_rule_violation(10, 6, per_modality=False) is None


def test_feasible_k_lowers_to_what_the_samples_allow() -> None:
    assert feasible_k(30, 6, [100], per_modality=False) == (30, 6)
    assert feasible_k(30, 6, [12], per_modality=False) == (12, 6)
    assert feasible_k(30, 6, [4], per_modality=False) == (4, 4)
    assert feasible_k(30, 6, [1], per_modality=False) is None
    assert feasible_k(30, 6, [50, 40], per_modality=True) == (30, 6)
    assert feasible_k(30, 6, [50, 5], per_modality=True) == (10, 5)  # twice the smaller modality
    assert feasible_k(30, 6, [50, 0], per_modality=True) is None


def test_the_notebook_settings_use_the_same_rule() -> None:
    defaults = get_preset("synthvi-cpu").global_clustering  # global k1/k2 = 16/4
    modality = np.array([0] * 5 + [1] * 9)
    assert neighbour_settings(modality, 0, 0, 0.0, defaults) == (10, 4, defaults.eps)
    assert neighbour_settings(modality, 8, 6, 0.4, defaults) == (*feasible_k(8, 6, [5, 9], per_modality=True), 0.4)
    with pytest.raises(UserError, match="parameter k1=1"):
        neighbour_settings(modality, 1, 0, 0.0, defaults)
    with pytest.raises(UserError, match="both modalities"):
        neighbour_settings(np.zeros(6, dtype=int), 0, 0, 0.0, defaults)


def test_the_distances_refuse_k1_below_two() -> None:
    feats, modality = features()
    with pytest.raises(UserError, match="k1=1"):
        jaccard_distance(feats, 1, 1)
    with pytest.raises(UserError, match="k1=1"):
        modality_aware_jaccard(feats, modality, 1, 1)


def test_a_global_set_too_small_gives_no_global_clusters_like_the_intra_step() -> None:
    feats, _ = features(40)
    modality = np.zeros(40, np.int64)
    modality[0] = 1  # one infrared row: MAJ is lowered to k1 = 2 (one neighbour per modality) and runs
    config = get_preset("synthvi-smoke")
    sections = (dataclasses.replace(config.intra_clustering, subset_ratio=None), config.global_clustering)
    labels = associate(feats, modality, *sections, stage=2, seed=0)
    assert labels.global_labels is not None and labels.global_labels.shape == (40,)
    modality[0] = 0  # no infrared row: no k-reciprocal neighbour across modalities, every row an outlier
    labels = associate(feats, modality, *sections, stage=2, seed=0)  # (this used to raise mid-training)
    assert (labels.global_labels == -1).all() and labels.report["clusters_global"] == 0


def test_unknown_global_association_lists_the_known_ones() -> None:
    with pytest.raises(UserError, match="known: modality_aware, plain, none"):
        global_association("bogus")
    assert global_association("none") is None
    with pytest.raises(ValueError, match="reserved or already registered"):
        register_global_association("plain", per_modality=False)


def test_a_registered_method_is_one_function() -> None:
    calls = []

    def half_k1(features, modality, *, k1, k2, balanced_halves, knn):
        calls.append((k1, k2, knn))
        return jaccard_distance(features, k1=max(2, k1 // 2), k2=1, knn=knn)

    register_global_association("half_k1", per_modality=False)(half_k1)
    try:
        config = get_preset("synthvi-smoke", {"global_clustering.method": "half_k1"})  # validation knows it
        feats, modality = features()
        labels = associate(
            feats, modality, config.intra_clustering, config.global_clustering, knn=config.neighbours, stage=2, seed=0
        )
    finally:
        GLOBAL_ASSOCIATIONS.pop("half_k1")
    g = config.global_clustering
    assert calls == [(g.k1, g.k2, config.neighbours)] and labels.global_labels is not None
