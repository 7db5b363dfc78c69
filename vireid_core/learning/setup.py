"""Run set-up shared by the engine, the workflow and the CLI: the device and the configured model."""

from __future__ import annotations

import torch

from vireid_core.config import RunConfig
from vireid_core.learning import distributed as dist
from vireid_core.model import TwoStreamReID, build_from_config


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


def build_configured_model(config: RunConfig) -> TwoStreamReID:
    """The model ``config.model`` describes (its registered architecture, :mod:`vireid_core.model.registry`),
    initialised from ``config.seed``; train mode, CPU."""
    return build_from_config(config.model, seed=config.seed)
