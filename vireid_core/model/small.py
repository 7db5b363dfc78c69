"""CPU-sized two-stream variants: a (width-scaled) ResNet-18 and EfficientNet-Lite0.

Both keep the shape of :class:`~vireid_core.model.agw.TwoStreamReID`: per-modality stem, shared body,
GeM pooling, BN neck. The EfficientNet-Lite0 architecture comes from the installed
``efficientnet-lite-pytorch`` package (Apache-2.0, imported, not copied).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock

from vireid_core.model.agw import NUM_MODALITIES, ResNetBody, TwoStreamReID, make_resnet_stem

RESNET18_WIDTHS = (64, 128, 256, 512)


def _basic_stage(inplanes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    """A ResNet stage of BasicBlocks with torchvision's module names (downsample.0 / .1)."""
    downsample = None
    if stride != 1 or inplanes != planes:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(planes)
        )
    layers = [BasicBlock(inplanes, planes, stride, downsample)]
    layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


def build_resnet18_small(
    *,
    width: float = 1.0,
    blocks: Sequence[int] = (2, 2, 2, 2),
    last_stride: int = 1,
    non_local: bool = False,
    nl_inter_channels: int = 1,
) -> TwoStreamReID:
    """Two-stream ResNet-18 with a width multiplier; D = round(512 · width).

    Args:
        width: channel multiplier (1.0 = torchvision ResNet-18, 0.5 = 32-64-128-256).
        blocks: BasicBlocks per stage (ResNet-18: 2, 2, 2, 2).
        last_stride: stride of layer4 (1 or 2).
        non_local: add a non-local block after the last block of layer2 and of layer3.
        nl_inter_channels: inter channels of those non-local blocks.
    """
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    if len(blocks) != 4 or any(b < 1 for b in blocks):
        raise ValueError(f"blocks must be four positive counts, got {tuple(blocks)}")
    if last_stride not in (1, 2):
        raise ValueError(f"last_stride must be 1 or 2, got {last_stride}")
    channels = [max(8, int(round(c * width))) for c in RESNET18_WIDTHS]
    stems = []
    for _ in range(NUM_MODALITIES):
        conv1 = nn.Conv2d(3, channels[0], kernel_size=7, stride=2, padding=3, bias=False)
        stems.append(make_resnet_stem(conv1, nn.BatchNorm2d(channels[0])))
    strides = (1, 2, 2, last_stride)
    stages, inplanes = [], channels[0]
    for planes, count, stride in zip(channels, blocks, strides, strict=True):
        stages.append(_basic_stage(inplanes, planes, count, stride))
        inplanes = planes
    positions = {}
    if non_local:
        positions = {"layer2": (len(stages[1]) - 1,), "layer3": (len(stages[2]) - 1,)}
    body = ResNetBody(stages, positions, channels, nl_inter_channels=nl_inter_channels)
    # Same init as torchvision's ResNet: Kaiming conv weights, unit BN weights.
    for part in [body, *stems]:
        for name, module in part.named_modules():
            if isinstance(module, nn.Conv2d) and not name.startswith("nl_"):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    return TwoStreamReID("resnet18_small", stems, body, channels[-1])


class EfficientNetBody(nn.Module):
    """Shared part of EfficientNet-Lite0: the MBConv blocks and the 1×1 head conv + BN + ReLU6.

    Sub-module names: ``blocks`` (the package's ``_blocks``), ``conv_head``, ``bn_head``.
    Drop-connect (stochastic depth) rate grows linearly with block index, as in the package.
    """

    def __init__(
        self, blocks: nn.ModuleList, conv_head: nn.Module, bn_head: nn.BatchNorm2d, drop_connect_rate: float
    ) -> None:
        super().__init__()
        self.blocks = blocks
        self.conv_head = conv_head
        self.bn_head = bn_head
        self.act = nn.ReLU6(inplace=False)
        self.drop_connect_rate = drop_connect_rate
        self.out_channels = bn_head.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Stem output [B, 32, h, w] -> head map [B, 1280, h', w']."""
        for index, block in enumerate(self.blocks):
            rate = self.drop_connect_rate * index / len(self.blocks) if self.drop_connect_rate else None
            x = block(x, drop_connect_rate=rate)
        return self.act(self.bn_head(self.conv_head(x)))


def build_effnet_lite0(*, drop_connect_rate: float = 0.2) -> TwoStreamReID:
    """Two-stream EfficientNet-Lite0 (per-modality stem conv + BN + ReLU6, shared rest); D = 1280.

    Uses "same" padding computed per input size (any H × W works).
    """
    from efficientnet_lite_pytorch import EfficientNet  # optional dependency, imported on use

    stems = []
    body = None
    for m in range(NUM_MODALITIES):
        net = EfficientNet.from_name("efficientnet-lite0", image_size=None, drop_connect_rate=drop_connect_rate)
        stems.append(nn.Sequential(OrderedDict([("conv", net._conv_stem), ("bn", net._bn0), ("act", nn.ReLU6())])))
        if m == 0:
            body = EfficientNetBody(net._blocks, net._conv_head, net._bn1, drop_connect_rate)
    return TwoStreamReID("effnet_lite0", stems, body, body.out_channels)
