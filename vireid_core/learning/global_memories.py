"""Stage 2's global memory by name: a small registry (name → builder), as torchreid's and fast-reid's.

Each epoch of stage 2, the global clusters (both modalities together) become the memory that step B
trains against. A builder receives those clusters and returns the memory plus the target of every
row (a cluster or prototype index). Two are registered:

* ``"split_prototypes"`` (BMIL, docs/method.md §6): each cluster split into a visible and an
  infrared prototype, trained with the multi-positive loss;
* ``"hybrid"`` (ablations M2–M4): one centroid per cluster with the hybrid loss of stage 1.

A new memory is one function decorated with ``@register_global_memory("name")``. The run config picks
one through ``memory.split_prototypes`` (:func:`configured_global_memory`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from vireid_core.config import MemoryConfig
from vireid_core.errors import UserError
from vireid_core.learning.memories import HybridMemory, MomentumSlotMemory, SplitPrototypeMemory

# (features float32[N, D], cluster labels int64[N] in 0..K-1, modality int64[N], memory settings)
#   -> (memory, target of each row int64[N])
GlobalMemoryBuilder = Callable[
    [torch.Tensor, np.ndarray, np.ndarray, MemoryConfig], tuple[MomentumSlotMemory, np.ndarray]
]

_GLOBAL_MEMORIES: dict[str, GlobalMemoryBuilder] = {}


def register_global_memory(name: str) -> Callable[[GlobalMemoryBuilder], GlobalMemoryBuilder]:
    """Decorator: register a global-memory builder under ``name`` (returns it unchanged).

    Raises ``ValueError`` when ``name`` is taken.
    """

    def register(builder: GlobalMemoryBuilder) -> GlobalMemoryBuilder:
        if name in _GLOBAL_MEMORIES:
            raise ValueError(f"global memory {name!r} is already registered")
        _GLOBAL_MEMORIES[name] = builder
        return builder

    return register


def global_memory_names() -> tuple[str, ...]:
    """The registered global-memory names, in registration order."""
    return tuple(_GLOBAL_MEMORIES)


def configured_global_memory(memory: MemoryConfig) -> str:
    """The global memory a run config asks for: ``"split_prototypes"`` when ``memory.split_prototypes``,
    else ``"hybrid"``."""
    return "split_prototypes" if memory.split_prototypes else "hybrid"


def build_global_memory(
    name: str, features: torch.Tensor, labels: np.ndarray, modality: np.ndarray, memory: MemoryConfig
) -> tuple[MomentumSlotMemory, np.ndarray]:
    """The global memory ``name`` built from one epoch's global clusters.

    Args:
        name: a registered name (:func:`global_memory_names`).
        features: float32 [N, D] un-normalised clustering features of the clustered rows.
        labels: int64 [N] their global cluster labels, every label 0..K-1 used.
        modality: int64 [N] 0 visible / 1 infrared.
        memory: momentum, temperature, margin and num_selected of the memory (the ``memory`` section).

    Returns:
        ``(memory, targets)``: the memory (CPU) and int64 [N], the class each row is scored against.
        Raises :class:`UserError` for an unknown ``name``, listing the known ones.
    """
    if name not in _GLOBAL_MEMORIES:
        raise UserError(f"unknown global memory {name!r}; expected one of {', '.join(_GLOBAL_MEMORIES)}")
    return _GLOBAL_MEMORIES[name](features, labels, modality, memory)


@register_global_memory("split_prototypes")
def split_prototype_memory(
    features: torch.Tensor, labels: np.ndarray, modality: np.ndarray, settings: MemoryConfig
) -> tuple[MomentumSlotMemory, np.ndarray]:
    """A visible and an infrared prototype per cluster (multi-positive loss); targets: prototype indices."""
    return SplitPrototypeMemory.from_global_clusters(
        features,
        labels,
        modality,
        momentum=settings.momentum,
        temperature=settings.temperature,
        num_selected=settings.num_selected,
    )


@register_global_memory("hybrid")
def hybrid_memory(
    features: torch.Tensor, labels: np.ndarray, modality: np.ndarray, settings: MemoryConfig
) -> tuple[MomentumSlotMemory, np.ndarray]:
    """One centroid per cluster (hybrid loss, as stage 1's memories); targets: the cluster labels."""
    memory = HybridMemory.from_clusters(
        features, labels, momentum=settings.momentum, temperature=settings.temperature, margin=settings.margin
    )
    return memory, labels
