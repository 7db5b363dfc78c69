"""Global association methods: a registry from name to distance, read by ``global_clustering.method``.

Stage 2 clusters visible and infrared rows together; *which* distance it clusters them with is a
registered method. Two ship with the package: ``modality_aware`` (MAJ, the BMIL method) and
``plain`` (the ordinary Jaccard over both modalities, the paper's naive-global-clustering
ablation). ``"none"`` is not a method: it switches the global step off.

A new method is one decorated function::

    @register_global_association("my_distance", per_modality=False)
    def my_distance(features, modality, *, k1, k2, balanced_halves, knn):
        return jaccard_distance(features, k1=k1, k2=k2, knn=knn)

``per_modality`` says which k1/k2 rule the method needs (:mod:`vireid_core.association.feasibility`):
True when it takes k1 // 2 neighbours from each modality, as MAJ does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from vireid_core.association.jaccard import jaccard_distance, modality_aware_jaccard
from vireid_core.association.search import KnnConfig
from vireid_core.errors import UserError

NO_GLOBAL_ASSOCIATION = "none"

Distance = Callable[..., sp.csr_matrix]


@dataclass(frozen=True)
class GlobalAssociation:
    """One registered global association method.

    Attributes:
        name: the value of ``global_clustering.method`` that selects it.
        distance: ``distance(features, modality, *, k1, k2, balanced_halves, knn)`` -> csr_matrix [N, N]
            float32 distances with the storage rule of :func:`jaccard_distance` (absent pairs mean
            distance 1); features float32 [N, D], modality int [N] (0 visible, 1 infrared), ``knn`` the
            neighbour search (:class:`KnnConfig`, the run config's ``neighbours``; None = the default).
        per_modality: True if the method takes k1 // 2 neighbours from each modality (k2 <= k1 // 2,
            each modality needs k1 // 2 samples); False for a distance over all rows (k2 <= k1).
    """

    name: str
    distance: Distance
    per_modality: bool


GLOBAL_ASSOCIATIONS: dict[str, GlobalAssociation] = {}


def register_global_association(name: str, *, per_modality: bool) -> Callable[[Distance], Distance]:
    """Decorator: register ``distance`` as the global association method ``name``.

    Args:
        name: the ``global_clustering.method`` value (not ``"none"``, not already taken).
        per_modality: which k1/k2 rule the method needs (see :class:`GlobalAssociation`).

    Returns:
        The decorator; it returns the function unchanged.
    """
    if name == NO_GLOBAL_ASSOCIATION or name in GLOBAL_ASSOCIATIONS:
        raise ValueError(f"global association name {name!r} is reserved or already registered")

    def register(distance: Distance) -> Distance:
        GLOBAL_ASSOCIATIONS[name] = GlobalAssociation(name, distance, per_modality)
        return distance

    return register


def global_association_names() -> tuple[str, ...]:
    """Every value ``global_clustering.method`` accepts: the registered methods and ``"none"``."""
    return (*GLOBAL_ASSOCIATIONS, NO_GLOBAL_ASSOCIATION)


def global_association(name: str) -> GlobalAssociation | None:
    """The method registered as ``name``; None for ``"none"`` (no global step).

    Raises:
        UserError: for an unknown name, listing the known ones.
    """
    if name == NO_GLOBAL_ASSOCIATION:
        return None
    if name not in GLOBAL_ASSOCIATIONS:
        raise UserError(
            f"unknown global association {name!r}; known: {', '.join(global_association_names())} "
            "(a new one is registered with register_global_association)"
        )
    return GLOBAL_ASSOCIATIONS[name]


@register_global_association("modality_aware", per_modality=True)
def modality_aware_distance(
    features: np.ndarray, modality: np.ndarray, *, k1: int, k2: int, balanced_halves: bool, knn: KnnConfig | None = None
) -> sp.csr_matrix:
    """MAJ: k1 // 2 neighbours from each modality (:func:`modality_aware_jaccard`)."""
    return modality_aware_jaccard(features, modality, k1=k1, k2=k2, balanced_halves=balanced_halves, knn=knn)


@register_global_association("plain", per_modality=False)
def plain_distance(
    features: np.ndarray, modality: np.ndarray, *, k1: int, k2: int, balanced_halves: bool, knn: KnnConfig | None = None
) -> sp.csr_matrix:
    """The ordinary Jaccard over both modalities, blind to them (:func:`jaccard_distance`)."""
    return jaccard_distance(features, k1=k1, k2=k2, knn=knn)
