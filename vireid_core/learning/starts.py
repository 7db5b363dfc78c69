"""The configured start: which source images the source pretraining sees and how visible images are augmented.

``pretrain.modalities`` chooses the candidate starts issue 12 compares:

* ``"both"`` (default, the behaviour before the key existed): identity classification on the source set's
  visible *and* infrared images with shared identity labels. Those labels tie a visible image to an
  infrared image, i.e. the start receives exactly the cross-modality supervision the method is meant
  to do without.
* ``"visible"``: visible source images only (the stand-in for ImageNet, whose images are all visible).
  The infrared stem never sees an image, so after pretraining it receives a copy of the visible stem,
  as :func:`vireid_core.model.load_pretrained_weights` gives both stems the same ImageNet stem.

``pretrain.channel_aug`` is the share of visible source images given the visible view-2 transform
(colour jitter + channel exchange, :func:`vireid_core.data.transforms.train_transform`), the
"visible + grayscale augmentation" start (the candidate starts and their measured ladders are in
docs/synthvi-calibration.md). The third candidate,
ImageNet EfficientNet-Lite0, needs no pretraining: ``model.arch=effnet_lite0``,
``model.pretrained=imagenet``, ``pretrain.enabled=false``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from vireid_core.compute import ComputePlan
from vireid_core.config import RunConfig
from vireid_core.data.records import VISIBLE, Sample
from vireid_core.learning.pretrain import pretrain_on_source


def start_samples(samples: Sequence[Sample], modalities: str) -> list[Sample]:
    """The source images the start is pretrained on: all of them (``"both"``) or the visible ones
    (``"visible"``), in their given order. Raises ``ValueError`` for another value."""
    if modalities == "both":
        return list(samples)
    if modalities == "visible":
        return [s for s in samples if s.modality == VISIBLE]
    raise ValueError(f"pretrain.modalities must be 'both' or 'visible', got {modalities!r}")


def copy_visible_stem(model: nn.Module) -> None:
    """Overwrite the infrared stem (``model.stems[1]``) with the visible stem's parameters and
    statistics, in place (the model keeps its own tensors; returns nothing)."""
    with torch.no_grad():
        model.stems[1].load_state_dict(model.stems[0].state_dict())


def pretrain_start(
    model: nn.Module,
    source: Sequence[Sample],
    config: RunConfig,
    *,
    device: torch.device,
    plan: ComputePlan,
    progress: bool = True,
) -> dict[str, Any]:
    """Pretrain ``model`` in place on the labelled source set as ``config.pretrain`` says.

    With the defaults (``modalities="both"``, ``channel_aug=0``) this is exactly the call the workflow
    made before those keys existed, so the cached and shipped starts of older configs are reproduced.
    Returns the statistics of :func:`~vireid_core.learning.pretrain.pretrain_on_source`.
    """
    p = config.pretrain
    samples = start_samples(source, p.modalities)
    stats = pretrain_on_source(
        model,
        samples,
        iterations=p.iterations,
        batch_size=p.batch_size,
        lr=p.lr,
        height=config.data.height,
        width=config.data.width,
        seed=config.seed,
        device=device,
        progress=progress,
        plan=plan,
        visible_channel_aug=p.channel_aug,
    )
    if p.modalities == "visible":
        copy_visible_stem(model)
    return stats
