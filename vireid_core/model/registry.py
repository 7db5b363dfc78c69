"""Architectures by name: a small registry (name → builder), as torchreid's and fast-reid's model registries.

A builder is a function of keyword options that returns a randomly initialised
:class:`~vireid_core.model.agw.TwoStreamReID` on the CPU. It is registered with::

    @register_model("my_net", config_options=lambda m: {"width": m.width_multiplier})
    def build_my_net(*, last_stride: int = 1, nl_inter_channels: int = 1, width: float = 1.0) -> TwoStreamReID:
        ...

after which ``model.arch=my_net`` selects it. ``config_options`` says which :class:`ModelConfig` fields
the builder takes; by default the two every ResNet-like body has, ``last_stride`` and
``nl_inter_channels``. :func:`build_model` adds the seeded initialisation and the starting weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vireid_core.config import ModelConfig
from vireid_core.config.checks import allow_choice
from vireid_core.errors import UserError
from vireid_core.model.agw import TwoStreamReID
from vireid_core.model.weights import load_pretrained_weights

Builder = Callable[..., TwoStreamReID]
ConfigOptions = Callable[[ModelConfig], dict[str, Any]]


def resnet_options(model: ModelConfig) -> dict[str, Any]:
    """The options a ResNet-like builder takes from the config: ``last_stride`` and ``nl_inter_channels``."""
    return {"last_stride": model.last_stride, "nl_inter_channels": model.nl_inter_channels}


@dataclass(frozen=True)
class Architecture:
    """One registered architecture: its builder and the config fields it takes."""

    name: str
    build: Builder
    config_options: ConfigOptions


_ARCHITECTURES: dict[str, Architecture] = {}


def register_model(name: str, *, config_options: ConfigOptions = resnet_options) -> Callable[[Builder], Builder]:
    """Decorator: register ``builder`` as architecture ``name`` (returns the builder unchanged).

    Raises ``ValueError`` when ``name`` is taken.
    """

    def register(builder: Builder) -> Builder:
        if name in _ARCHITECTURES:
            raise ValueError(f"architecture {name!r} is already registered")
        _ARCHITECTURES[name] = Architecture(name, builder, config_options)
        allow_choice("model.arch", name)  # so --set model.arch=<name> validates
        return builder

    return register


def architecture_names() -> tuple[str, ...]:
    """The registered architecture names, in registration order."""
    return tuple(_ARCHITECTURES)


def architecture(name: str) -> Architecture:
    """The registered architecture ``name``; raises :class:`UserError` listing the known ones."""
    if name not in _ARCHITECTURES:
        raise UserError(f"unknown architecture {name!r}; expected one of {', '.join(_ARCHITECTURES)}")
    return _ARCHITECTURES[name]


def build_model(
    arch: str, *, pretrained: str | Path | None = None, seed: int | None = None, **options: Any
) -> TwoStreamReID:
    """Build the registered architecture ``arch`` with ``options``, then load its starting weights.

    Args:
        arch: a registered name: ``"agw_resnet50"`` (D = 2048), ``"resnet18_small"`` (D = 512 · width)
            or ``"effnet_lite0"`` (D = 1280) unless more were registered.
        pretrained: None (random init), a local ImageNet weights file, or ``"imagenet"`` (see
            :func:`~vireid_core.model.weights.load_pretrained_weights`). Both stems receive the same stem weights.
        seed: if given, the random initialisation is drawn from ``torch.manual_seed(seed)`` inside a
            forked RNG (global RNG untouched), so the same seed gives the same weights.
        **options: the builder's keyword options, e.g. ``last_stride`` and ``nl_inter_channels``
            (ResNet bodies), ``non_local``, ``width`` and ``blocks`` (resnet18_small),
            ``drop_connect_rate`` (effnet_lite0).

    Returns:
        a :class:`TwoStreamReID` in train mode on the CPU. Raises :class:`UserError` for an unknown
        ``arch`` and ``ValueError`` for options the builder does not take.
    """
    entry = architecture(arch)
    try:
        if seed is None:
            model = entry.build(**options)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = entry.build(**options)
    except TypeError as error:
        raise ValueError(f"bad options for architecture {arch!r}: {error}") from error
    if pretrained is not None:
        load_pretrained_weights(model, pretrained)
    return model


def build_from_config(model: ModelConfig, *, seed: int | None = None) -> TwoStreamReID:
    """The model a :class:`ModelConfig` describes (its architecture's config options, its starting
    weights), initialised from ``seed``; a :class:`TwoStreamReID` in train mode on the CPU."""
    entry = architecture(model.arch)
    return build_model(model.arch, pretrained=model.pretrained, seed=seed, **entry.config_options(model))
