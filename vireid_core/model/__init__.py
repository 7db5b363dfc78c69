"""Two-stream re-identification networks: AGW ResNet-50 (method-spec §4) and CPU-sized variants.

``build_model(arch, pretrained=...)`` is the one entry point; every model maps
``(images [B,3,H,W], modality LongTensor[B]) -> features [B, model.feature_dim]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vireid_core.model.agw import (
    GeneralizedMeanPooling,
    NonLocalBlock,
    TwoStreamReID,
    build_agw_resnet50,
)
from vireid_core.model.small import build_effnet_lite0, build_resnet18_small
from vireid_core.model.weights import (
    load_official_checkpoint,
    load_pretrained_weights,
    map_official_state_dict,
    packaged_effnet_lite0_path,
)

ARCHITECTURES = ("agw_resnet50", "resnet18_small", "effnet_lite0")


def build_model(arch: str, *, pretrained: str | Path | None = None, last_stride: int = 1,
                nl_inter_channels: int = 1, seed: int | None = None, **kw: Any) -> TwoStreamReID:
    """Build a two-stream re-ID model.

    Args:
        arch: ``"agw_resnet50"`` (D = 2048), ``"resnet18_small"`` (D = 512 · width) or
            ``"effnet_lite0"`` (D = 1280).
        pretrained: None (random init), a local ImageNet weights file, or ``"imagenet"`` (see
            :func:`load_pretrained_weights`). Both stems receive the same stem weights.
        last_stride: stride of the last ResNet stage (ignored by ``effnet_lite0``).
        nl_inter_channels: inter channels of non-local blocks (reference: 1).
        seed: if given, the random initialisation is drawn from ``torch.manual_seed(seed)`` inside a
            forked RNG (global RNG untouched), so the same seed gives the same weights.
        **kw: architecture options — ``non_local`` (bool, agw: True, resnet18_small: False),
            ``width`` and ``blocks`` (resnet18_small), ``drop_connect_rate`` (effnet_lite0).

    Returns:
        a :class:`TwoStreamReID` in train mode on the CPU.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {ARCHITECTURES}")

    def construct() -> TwoStreamReID:
        if arch == "agw_resnet50":
            return build_agw_resnet50(last_stride=last_stride, nl_inter_channels=nl_inter_channels, **kw)
        if arch == "resnet18_small":
            return build_resnet18_small(last_stride=last_stride, nl_inter_channels=nl_inter_channels, **kw)
        return build_effnet_lite0(**kw)

    try:
        if seed is None:
            model = construct()
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = construct()
    except TypeError as error:
        raise ValueError(f"bad options for architecture {arch!r}: {error}") from error
    if pretrained is not None:
        load_pretrained_weights(model, pretrained)
    return model


__all__ = [
    "ARCHITECTURES",
    "GeneralizedMeanPooling",
    "NonLocalBlock",
    "TwoStreamReID",
    "build_model",
    "load_official_checkpoint",
    "load_pretrained_weights",
    "map_official_state_dict",
    "packaged_effnet_lite0_path",
]
