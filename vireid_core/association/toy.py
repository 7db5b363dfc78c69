"""A toy small enough to build the association by hand (notebook 02, "Build it by hand").

:func:`toy_features` makes a few people, each seen a few times by both modalities, as unit vectors in
3-D with a modality bias built in: a person's direction in the x-y plane says who it is, and the z
coordinate says which camera took the image (+z visible, -z infrared). So an image's nearest images are
those of its own modality, other people included, before any image of its own person in the other
modality, which is what the stage-1 features of notebook 01 do at scale. Within one modality the
person directions still rank a person's own images first (up to the noise).

:func:`package_steps` runs the package on that toy and keeps every intermediate result of
docs/method.md §2 and §3 as a dense array: the answers the notebook's exercises are checked against.
Each one comes from the function training uses (:mod:`vireid_core.association.jaccard`,
:class:`~vireid_core.association.graph.NeighbourGraph`) or from the dense reference
(:mod:`vireid_core.association.reference`); the tests hold the two to each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from vireid_core.association.graph import NeighbourGraph
from vireid_core.association.jaccard import (
    encode,
    expansion_average,
    expansion_pattern,
    jaccard_distance,
    modality_aware_jaccard,
)
from vireid_core.association.reference import half_width, k_reciprocal_set


@dataclass(frozen=True)
class ToySet:
    """The toy's images as feature vectors, with their (hidden) identities and modalities.

    Attributes:
        features: float32 [N, 3], unit rows; N = people × 2 × images_per_modality, ordered by person,
            then modality (visible first), then image.
        pids: int64 [N] person of each row, 0 … people - 1.
        modality: int64 [N], 0 visible, 1 infrared.
        k1: reciprocal neighbourhood size the exercises use (2 × images per modality, so that MAJ's
            k1 // 2 neighbours of each modality can all be the query's own person).
        k2: query-expansion size the exercises use (<= k1 // 2).
    """

    features: np.ndarray
    pids: np.ndarray
    modality: np.ndarray
    k1: int
    k2: int

    @property
    def half_width(self) -> int:
        """h = round(k1 / 2) + 1, the length of the lists the half sets H(j) are taken on."""
        return half_width(self.k1)


def toy_features(
    people: int = 3,
    images_per_modality: int = 4,
    *,
    seed: int = 0,
    spread_degrees: float = 60.0,
    modality_offset: float = 0.9,
    angle_noise_degrees: float = 6.0,
    offset_noise: float = 0.08,
    k2: int = 2,
) -> ToySet:
    """A seeded toy with a visible modality bias.

    Person p points at the angle p · ``spread_degrees`` in the x-y plane; each image adds Gaussian
    noise to that angle (``angle_noise_degrees``) and sits at z = +``modality_offset`` (visible) or
    -``modality_offset`` (infrared), plus noise (``offset_noise``); rows are then scaled to unit length,
    as the clustering features are in notebook 02.

    Args:
        people: number of identities (2 or more).
        images_per_modality: images of each person in each modality (2 or more).
        seed: seed of the noise.
        spread_degrees: angle between neighbouring people in the x-y plane.
        modality_offset: how far the two modalities sit apart along z (larger = stronger bias).
        angle_noise_degrees: standard deviation of an image's angle around its person's.
        offset_noise: standard deviation of an image's z around its modality's.
        k2: query-expansion size stored with the toy (1 … images_per_modality).

    Returns:
        a :class:`ToySet` with N = people × 2 × images_per_modality rows and k1 = 2 × images_per_modality.
    """
    if people < 2 or images_per_modality < 2:
        raise ValueError(f"the toy needs >= 2 people and >= 2 images per modality, got {people}, {images_per_modality}")
    if not 1 <= k2 <= images_per_modality:
        raise ValueError(f"k2 must lie in 1 … {images_per_modality} (k1 // 2), got {k2}")
    rng = np.random.default_rng(seed)
    pids = np.repeat(np.arange(people), 2 * images_per_modality)
    modality = np.tile(np.repeat([0, 1], images_per_modality), people)
    angles = np.deg2rad(pids * spread_degrees + rng.normal(0.0, angle_noise_degrees, len(pids)))
    heights = np.where(modality == 0, modality_offset, -modality_offset) + rng.normal(0.0, offset_noise, len(pids))
    rows = np.stack([np.cos(angles), np.sin(angles), heights], axis=1)
    features = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    return ToySet(features, pids.astype(np.int64), modality.astype(np.int64), 2 * images_per_modality, k2)


@dataclass(frozen=True)
class ToySteps:
    """Every step of the plain and the modality-aware Jaccard on one toy, as the package computes them.

    All matrices are dense, N × N, in the toy's row order; "set" matrices are bool with [i, j] True when
    j belongs to the set of row i.

    Attributes:
        ranking: int64 [N, k1], L(i) of §2 step 1 (squared L2, self first, ties by the lower index),
            from :meth:`NeighbourGraph.plain_ranking`.
        reciprocal: bool [N, N], R(i) on all of L(i) (:func:`reference.k_reciprocal_set`).
        half: bool [N, N], H(i) on the first h entries of L(i) (:func:`reference.k_reciprocal_set`).
        expanded: bool [N, N], E(i) with the 2/3 rule (:func:`jaccard.expansion_pattern`).
        encoding: float32 [N, N], V of §2 step 4 (:func:`jaccard.encode`); rows sum to 1.
        expanded_encoding: float32 [N, N], V' of §2 step 5 (:func:`jaccard.expansion_average` times V).
        jaccard: float32 [N, N], d_J of §2 step 6 (:func:`jaccard.jaccard_distance`, absent pairs 1).
        visible_lists: int64 [N, k1 // 2], N_0(i): the most similar visible rows (inner product).
        infrared_lists: int64 [N, k1 // 2], N_1(i): the most similar infrared rows.
        balanced_ranking: int64 [N, 2 · (k1 // 2)], L^MAJ(i) of §3 step 1 (both lists merged by
            similarity), from :meth:`NeighbourGraph.modality_lists`.
        modality_aware: float32 [N, N], d_MAJ of §3 (:func:`jaccard.modality_aware_jaccard`).
    """

    ranking: np.ndarray
    reciprocal: np.ndarray
    half: np.ndarray
    expanded: np.ndarray
    encoding: np.ndarray
    expanded_encoding: np.ndarray
    jaccard: np.ndarray
    visible_lists: np.ndarray
    infrared_lists: np.ndarray
    balanced_ranking: np.ndarray
    modality_aware: np.ndarray


def set_matrix(lists: list[np.ndarray], n: int) -> np.ndarray:
    """bool [len(lists), n] with [i, j] True when j is in ``lists[i]``."""
    out = np.zeros((len(lists), n), bool)
    for i, ids in enumerate(lists):
        out[i, np.asarray(ids, dtype=np.int64)] = True
    return out


def dense_distances(distances: sp.spmatrix) -> np.ndarray:
    """float32 [N, N] of a sparse Jaccard matrix; the pairs it does not store are at distance 1."""
    out = np.ones(distances.shape, np.float32)
    coo = distances.tocoo()
    out[coo.row, coo.col] = coo.data
    return out


def package_steps(toy: ToySet) -> ToySteps:
    """Run §2 and §3 of docs/method.md on ``toy`` with the package, keeping every step.

    The settings are the package defaults (``off_by_one=True``: L(i) holds k1 entries with i itself;
    ``balanced_halves=False``: MAJ's half sets come from the merged list) at ``toy.k1``, ``toy.k2``.

    Returns:
        a :class:`ToySteps` of dense arrays (shapes listed there).
    """
    features, n, k1, k2 = toy.features, len(toy.features), toy.k1, toy.k2
    ranking = NeighbourGraph.build(features, max_k1=k1).plain_ranking(k1)
    halves = ranking[:, : toy.half_width]
    pattern = expansion_pattern(ranking, halves, n)
    encoding = encode(features, pattern)
    expanded_encoding = expansion_average([ranking[:, :k2]], n) @ encoding
    visible, infrared, balanced = NeighbourGraph.build(features, toy.modality, max_k1=k1).modality_lists(k1)
    return ToySteps(
        ranking=ranking,
        reciprocal=set_matrix([k_reciprocal_set(ranking, i) for i in range(n)], n),
        half=set_matrix([k_reciprocal_set(halves, i) for i in range(n)], n),
        expanded=pattern.toarray() > 0,
        encoding=encoding.toarray(),
        expanded_encoding=expanded_encoding.toarray(),
        jaccard=dense_distances(jaccard_distance(features, k1, k2)),
        visible_lists=visible,
        infrared_lists=infrared,
        balanced_ranking=balanced,
        modality_aware=dense_distances(modality_aware_jaccard(features, toy.modality, k1, k2)),
    )
