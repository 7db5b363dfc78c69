"""What one epoch trains on: for each modality, a stream of P×K batches paired with a cluster memory.

The engine (:mod:`vireid_core.learning.engine`) builds these "parts" after each association: step A's
parts hold the intra-modality pseudo labels and a :class:`~vireid_core.learning.memories.HybridMemory` per
modality; step B's (stage 2) hold the global labels and the one global memory both modalities share. Every
stream's shuffling is seeded by (seed, stage, epoch, part), so a resumed run draws the same batches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from vireid_core.config import RunConfig
from vireid_core.data.records import INFRARED, VISIBLE, Sample
from vireid_core.learning import distributed as dist
from vireid_core.learning.global_memories import build_global_memory, configured_global_memory
from vireid_core.learning.loaders import BatchStream, training_views
from vireid_core.learning.memories import HybridMemory
from vireid_core.learning.pseudo_labels import EpochLabels
from vireid_core.learning.seeding import epoch_seed

Part = tuple[BatchStream, torch.nn.Module]  # (batches of one modality, the memory that scores them)


class EpochParts:
    """Builds an epoch's (stream, memory) parts from its clustering features and pseudo labels.

    Args:
        config: the run config (batch sizes, views, memory settings).
        samples: the training samples, in the row order of the features.
        modality: int64[N], each row's modality (VISIBLE / INFRARED).
        device: where the memories live.
        image_cache: decoded images shared by every stream (None = decode each time).
        num_workers: DataLoader workers of each stream.
        message: reports a skipped part (the engine's callbacks).
    """

    def __init__(
        self,
        config: RunConfig,
        samples: list[Sample],
        modality: np.ndarray,
        device: torch.device,
        image_cache: dict | None,
        num_workers: int,
        message: Callable[[str], Any],
    ) -> None:
        self.config, self.samples, self.modality = config, samples, modality
        self.device, self.image_cache, self.num_workers, self.message = device, image_cache, num_workers, message

    def stream(
        self, rows: np.ndarray, groups: np.ndarray, targets: np.ndarray, modality: int, stage: int, seed: int
    ) -> BatchStream:
        """P×K batches of ``rows`` (grouped by ``groups``, scored against ``targets``) with the stage's views."""
        s = self.config.schedule
        return BatchStream(
            [self.samples[i] for i in rows],
            groups,
            targets,
            training_views(modality, self.config.data, s.stage(stage)),
            batch_size=s.vis_batch if modality == VISIBLE else s.ir_batch,
            num_instances=s.num_instances,
            seed=seed + dist.rank(),
            modality=modality,
            num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda",
            image_cache=self.image_cache,
        )

    def intra(self, features: np.ndarray, labels: EpochLabels, stage: int, epoch: int) -> list[Part]:
        """Step A: (stream, hybrid memory) per modality with at least one cluster."""
        parts = []
        feats = torch.from_numpy(features)
        for modality, name in ((INFRARED, "infrared"), (VISIBLE, "visible")):
            rows = np.flatnonzero((self.modality == modality) & (labels.intra >= 0))
            if len(rows) == 0:
                self.message(
                    f"stage {stage} epoch {epoch}: no {name} clusters this epoch; the {name} intra loss is skipped"
                )
                continue
            # Cluster ids renumbered 0..C-1 within the modality: the memory's rows.
            _, y = np.unique(labels.intra[rows], return_inverse=True)
            m = self.config.memory
            memory = HybridMemory.from_clusters(
                feats[rows], y, momentum=m.momentum, temperature=m.temperature, margin=m.margin
            ).to(self.device)
            seed = epoch_seed(self.config.seed, stage, epoch, f"intra{modality}")
            parts.append((self.stream(rows, y, y, modality, stage, seed), memory))
        return parts

    def global_(self, features: np.ndarray, labels: EpochLabels, stage: int, epoch: int) -> list[Part]:
        """Step B (stage 2): (stream, memory) per modality; both share the one global memory."""
        if labels.global_labels is None:
            return []
        rows = np.flatnonzero(labels.global_labels >= 0)
        if len(rows) == 0:
            self.message(f"stage 2 epoch {epoch}: global clustering found no clusters; step B is skipped")
            return []
        _, y = np.unique(labels.global_labels[rows], return_inverse=True)
        # The registered global memory the config names (learning/global_memories.py) and the memory slot
        # each row is scored against.
        memory, proxy = build_global_memory(
            configured_global_memory(self.config.memory),
            torch.from_numpy(features[rows]),
            y,
            self.modality[rows],
            self.config.memory,
        )
        memory = memory.to(self.device)
        mixed = len(set(y[self.modality[rows] == VISIBLE]) & set(y[self.modality[rows] == INFRARED]))
        if mixed == 0:
            self.message(f"stage 2 epoch {epoch}: every global cluster holds a single modality")
        parts = []
        for modality in (INFRARED, VISIBLE):
            mask = self.modality[rows] == modality
            if mask.any():
                seed = epoch_seed(self.config.seed, stage, epoch, f"global{modality}")
                parts.append((self.stream(rows[mask], y[mask], np.asarray(proxy)[mask], modality, stage, seed), memory))
        return parts
