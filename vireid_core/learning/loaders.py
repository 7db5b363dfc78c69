"""Training batches: pseudo-identity × instance streams per modality (docs/method.md §7).

A :class:`BatchStream` wraps one DataLoader over the non-outlier rows of one modality and restarts
it whenever it runs out, so an epoch is always exactly ``iters`` batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from vireid_core.config import DataConfig, StageSchedule
from vireid_core.data.images import ImageListDataset
from vireid_core.data.records import INFRARED, VISIBLE, Sample
from vireid_core.data.sampler import IdentityInstanceSampler, IterLoader
from vireid_core.data.transforms import train_transform


def training_views(modality: int, data: DataConfig, stage: StageSchedule) -> list[Callable]:
    """The training transforms of one modality in a stage, one per view of a sample: visible samples
    are fed twice (view 1, and view 2 with colour jitter and channel exchange), infrared ones once
    (colour jitter as the stage's ``schedule.stage{1,2}.color_jitter_ir`` says)."""
    if modality == VISIBLE:
        return [
            train_transform(VISIBLE, height=data.height, width=data.width, view=1),
            train_transform(VISIBLE, height=data.height, width=data.width, view=2),
        ]
    return [
        train_transform(INFRARED, height=data.height, width=data.width, view=1, color_jitter_ir=stage.color_jitter_ir)
    ]


@dataclass
class Batch:
    """One batch of one modality.

    Attributes:
        images: float[B·V, 3, H, W] — all first views, then all second views (V = 1 or 2).
        targets: int64[B·V] class of each row (cluster or prototype index), repeated per view.
        modality: the batch's modality (0 or 1).
    """

    images: torch.Tensor
    targets: torch.Tensor
    modality: int


class BatchStream:
    """Endless batches of one modality drawn with the identity × instance sampler.

    Args:
        samples: the rows that may be drawn (outliers already removed).
        group_labels: int[n] the identity the sampler groups by (cluster id).
        targets: int[n] the per-row training target (cluster id, or prototype index in the global
            step).
        transforms: one transform per view.
        batch_size: images per batch (a multiple of ``num_instances``).
        seed: seeds the sampler; every restart advances the sampler's epoch.
        image_cache: a dict shared between streams to keep decoded images (None = no cache).
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        group_labels: np.ndarray,
        targets: np.ndarray,
        transforms: Sequence[Callable],
        *,
        batch_size: int,
        num_instances: int,
        seed: int,
        modality: int,
        num_workers: int = 0,
        pin_memory: bool = False,
        image_cache: dict | None = None,
    ) -> None:
        if len(samples) == 0:
            raise ValueError("BatchStream needs at least one sample")
        self.modality = modality
        cams = np.array([s.cam for s in samples])
        targets = np.asarray(targets, dtype=np.int64)
        # Decoded images are shared between this epoch's loaders (and across epochs) when loading
        # happens in this process; worker processes would each fill a copy of their own.
        shared = image_cache if num_workers == 0 else None
        dataset = ImageListDataset(list(samples), list(transforms), targets, shared_cache=shared)
        sampler = IdentityInstanceSampler(
            np.asarray(group_labels, dtype=np.int64), cams, num_instances=num_instances, seed=seed
        )
        # Images one batch feeds the network (every view of ``batch_size`` samples), as configured.
        self.images_per_batch = batch_size * len(transforms)
        # A tiny epoch may hold fewer indices than one batch: shrink the batch rather than yield none.
        batch_size = max(1, min(batch_size, len(sampler)))
        loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            drop_last=True,
            num_workers=num_workers,
            pin_memory=pin_memory,
            generator=torch.Generator().manual_seed(seed),
        )
        self.batches = IterLoader(loader)

    def next(self) -> Batch:
        """Return the next batch (views stacked along the batch dimension, targets repeated)."""
        views, targets, _ = self.batches.next()
        n_views = views.shape[1]
        images = torch.cat([views[:, v] for v in range(n_views)], dim=0)
        return Batch(images=images, targets=targets.long().repeat(n_views), modality=self.modality)
