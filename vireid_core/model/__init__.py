"""Two-stream re-identification networks: AGW ResNet-50 (docs/method.md §8) and CPU-sized variants.

``build_model(arch, pretrained=...)`` is the one entry point; every model maps
``(images [B,3,H,W], modality LongTensor[B]) -> features [B, model.feature_dim]``. Architectures are
looked up by name in :mod:`vireid_core.model.registry`; the three built-in ones are registered here.
"""

from __future__ import annotations

from vireid_core.model.agw import (
    GeneralizedMeanPooling,
    NonLocalBlock,
    TwoStreamReID,
    build_agw_resnet50,
)
from vireid_core.model.registry import (
    architecture_names,
    build_from_config,
    build_model,
    register_model,
    resnet_options,
)
from vireid_core.model.small import build_effnet_lite0, build_resnet18_small
from vireid_core.model.weights import (
    load_official_checkpoint,
    load_pretrained_weights,
    map_official_state_dict,
    packaged_effnet_lite0_path,
)

register_model("agw_resnet50")(build_agw_resnet50)
register_model("resnet18_small", config_options=lambda m: {**resnet_options(m), "width": m.width_multiplier})(
    build_resnet18_small
)
register_model("effnet_lite0", config_options=lambda m: {})(build_effnet_lite0)  # no stride / non-local options

__all__ = [
    "GeneralizedMeanPooling",
    "NonLocalBlock",
    "TwoStreamReID",
    "architecture_names",
    "build_from_config",
    "build_model",
    "load_official_checkpoint",
    "load_pretrained_weights",
    "map_official_state_dict",
    "packaged_effnet_lite0_path",
    "register_model",
]
