"""Run set-up shared by the engine, the workflow and the CLI: the device and the configured model."""

from __future__ import annotations

from typing import Any

import torch

from vireid_core.config import RunConfig
from vireid_core.learning import distributed as dist
from vireid_core.model import build_model


def resolve_device(name: str) -> torch.device:
    """``"auto"`` → CUDA when available (this rank's GPU under torchrun), else CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", dist.local_rank())
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"config key 'device' is {name!r} but CUDA is not available here")
    return device


def build_configured_model(config: RunConfig) -> torch.nn.Module:
    """The model ``config.model`` describes, initialised from ``config.seed``."""
    m = config.model
    options: dict[str, Any] = {"width": m.width_multiplier} if m.arch == "resnet18_small" else {}
    if m.arch != "effnet_lite0":
        options.update(last_stride=m.last_stride, nl_inter_channels=m.nl_inter_channels)
    return build_model(m.arch, pretrained=m.pretrained, seed=config.seed, **options)
