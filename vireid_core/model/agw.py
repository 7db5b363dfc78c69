"""Two-stream AGW re-identification network (docs/method.md §8).

The network is split in three parts that every architecture in :mod:`vireid_core.model` shares:

* one **stem per modality** (visible = 0, infrared = 1),
* one **shared body** that runs on the re-assembled, mixed batch,
* **GeM pooling** (fixed p = 3) and a **BN neck** (BatchNorm1d, weight ~ N(1, 0.01), bias 0 and frozen).

:class:`TwoStreamReID` holds that shape; this module also provides the AGW ResNet-50 parts
(torchvision layout, non-local blocks after layer2 blocks 2, 3 and layer3 blocks 3, 4, 5, last stride 1).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet50

NUM_MODALITIES = 2

# 0-based block indices after which a non-local block is inserted (docs/method.md §8).
AGW_NON_LOCAL_POSITIONS: dict[str, tuple[int, ...]] = {"layer2": (2, 3), "layer3": (3, 4, 5)}


class NonLocalBlock(nn.Module):
    """Non-local block of the AGW baseline (dot-product attention scaled by 1/(H·W), no softmax).

    Sub-module names follow the official checkpoints: ``g.0``, ``theta``, ``phi``, ``W.0`` (conv) and
    ``W.1`` (BN whose weight and bias start at 0, so the block starts as the identity).

    Args:
        in_channels: C of the input map.
        inter_channels: channels of g, θ, φ (the reference uses 1; docs/method.md §11, Q11).
    """

    def __init__(self, in_channels: int, inter_channels: int = 1) -> None:
        super().__init__()
        if inter_channels < 1:
            raise ValueError(f"inter_channels must be >= 1, got {inter_channels}")
        self.in_channels = in_channels
        self.inter_channels = inter_channels
        self.g = nn.Sequential(nn.Conv2d(in_channels, inter_channels, kernel_size=1))
        self.theta = nn.Conv2d(in_channels, inter_channels, kernel_size=1)
        self.phi = nn.Conv2d(in_channels, inter_channels, kernel_size=1)
        self.W = nn.Sequential(nn.Conv2d(inter_channels, in_channels, kernel_size=1), nn.BatchNorm2d(in_channels))
        nn.init.zeros_(self.W[1].weight)
        nn.init.zeros_(self.W[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return x + W(y) with y = (θᵀφ / HW)·g, shape [B, C, H, W] like the input."""
        batch, _, height, width = x.shape
        positions = height * width
        g_x = self.g(x).flatten(2).transpose(1, 2)  # [B, HW, c]
        theta_x = self.theta(x).flatten(2).transpose(1, 2)  # [B, HW, c]
        phi_x = self.phi(x).flatten(2)  # [B, c, HW]
        # (θ φ) g computed as θ (φ g): same numbers, no HW × HW matrix.
        y = theta_x @ (phi_x @ g_x) / positions  # [B, HW, c]
        y = y.transpose(1, 2).reshape(batch, self.inter_channels, height, width)
        return x + self.W(y)


class GeneralizedMeanPooling(nn.Module):
    """GeM pooling with a fixed exponent: (mean over H·W of x^p + 1e-12)^(1/p) -> [B, C]."""

    def __init__(self, p: float = 3.0, eps: float = 1e-12) -> None:
        super().__init__()
        self.p = p
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool a [B, C, H, W] map (x >= 0 expected, as after a ReLU) into float32 [B, C].

        Computed in float32 whatever the input dtype: under bfloat16 autocast x³ and its mean would
        otherwise lose most of their digits (a no-op for float32 input)."""
        return (x.float().flatten(2).pow(self.p).mean(dim=2) + self.eps).pow(1.0 / self.p)


def make_bn_neck(dim: int) -> nn.BatchNorm1d:
    """BatchNorm1d(dim) with weight ~ N(1, 0.01), bias 0 and frozen (requires_grad False)."""
    neck = nn.BatchNorm1d(dim)
    nn.init.normal_(neck.weight, mean=1.0, std=0.01)
    nn.init.zeros_(neck.bias)
    neck.bias.requires_grad_(False)
    return neck


def make_resnet_stem(conv1: nn.Conv2d, bn1: nn.BatchNorm2d) -> nn.Sequential:
    """ResNet stem conv1 + bn1 + ReLU + max-pool(3×3/2); child names match torchvision keys."""
    return nn.Sequential(
        OrderedDict(
            [
                ("conv1", conv1),
                ("bn1", bn1),
                ("relu", nn.ReLU(inplace=True)),
                ("maxpool", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
            ]
        )
    )


class ResNetBody(nn.Module):
    """Shared layer1–layer4 of a ResNet, with optional non-local blocks after chosen blocks.

    Args:
        layers: the four stages (``nn.Sequential`` of residual blocks), in order.
        non_local_positions: e.g. ``{"layer2": (2, 3)}`` — a non-local block after each named
            0-based block; the blocks live in ``nl_layer2`` etc. (``nn.ModuleList`` in that order).
        stage_channels: output channels of each stage (for the non-local blocks).
        nl_inter_channels: inter channels of every non-local block.
    """

    def __init__(
        self,
        layers: Sequence[nn.Sequential],
        non_local_positions: Mapping[str, Sequence[int]],
        stage_channels: Sequence[int],
        nl_inter_channels: int = 1,
    ) -> None:
        super().__init__()
        if len(layers) != 4 or len(stage_channels) != 4:
            raise ValueError("ResNetBody needs exactly four stages")
        self.stage_names = ("layer1", "layer2", "layer3", "layer4")
        for name, layer in zip(self.stage_names, layers, strict=True):
            self.add_module(name, layer)
        self.non_local_positions: dict[str, tuple[int, ...]] = {}
        for name, positions in non_local_positions.items():
            if name not in self.stage_names:
                raise ValueError(f"unknown stage {name!r} for non-local blocks; expected one of {self.stage_names}")
            stage = self.stage_names.index(name)
            positions = tuple(sorted(positions))
            if any(p < 0 or p >= len(layers[stage]) for p in positions):
                raise ValueError(
                    f"non-local positions {positions} out of range for {name} with {len(layers[stage])} blocks"
                )
            self.non_local_positions[name] = positions
            self.add_module(
                f"nl_{name}", nn.ModuleList(NonLocalBlock(stage_channels[stage], nl_inter_channels) for _ in positions)
            )
        self.out_channels = stage_channels[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the four stages on the stem output; returns the last feature map [B, C_out, h, w]."""
        for name in self.stage_names:
            stage: nn.Sequential = getattr(self, name)
            positions = self.non_local_positions.get(name, ())
            nl_blocks = getattr(self, f"nl_{name}") if positions else None
            for index, block in enumerate(stage):
                x = block(x)
                if index in positions:
                    x = nl_blocks[positions.index(index)](x)
        return x


class TwoStreamReID(nn.Module):
    """Per-modality stems, a shared body, GeM pooling and a BN neck.

    ``forward(images [B,3,H,W], modality LongTensor[B]) -> [B, feature_dim]``: rows of modality m go
    through ``stems[m]``; the stem outputs are put back in the original row order and the shared body
    runs on the whole mixed batch (shared BN statistics over the mixed batch, as the reference).
    ``train()`` mode returns the raw BN-neck feature, ``eval()`` mode the L2-normalised one.

    Attributes:
        arch: architecture name given to :func:`vireid_core.model.build_model`.
        feature_dim: D, the output dimension.
        stems: ``nn.ModuleList`` [visible stem, infrared stem].
        body: the shared part (stem output -> feature map).
        pool: GeM pooling; bottleneck: the BN neck.
    """

    def __init__(self, arch: str, stems: Sequence[nn.Module], body: nn.Module, feature_dim: int) -> None:
        super().__init__()
        if len(stems) != NUM_MODALITIES:
            raise ValueError(f"need one stem per modality ({NUM_MODALITIES}), got {len(stems)}")
        self.arch = arch
        self.feature_dim = feature_dim
        self.stems = nn.ModuleList(stems)
        self.body = body
        self.pool = GeneralizedMeanPooling(3.0)
        self.bottleneck = make_bn_neck(feature_dim)

    def _check_inputs(self, images: torch.Tensor, modality: torch.Tensor) -> None:
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape [B, 3, H, W], got {tuple(images.shape)}")
        if modality.dim() != 1 or modality.shape[0] != images.shape[0]:
            raise ValueError(f"modality must have shape [B] = [{images.shape[0]}], got {tuple(modality.shape)}")
        if modality.dtype in (torch.float16, torch.float32, torch.float64, torch.bool):
            raise ValueError(f"modality must be an integer tensor, got dtype {modality.dtype}")
        if images.shape[0] and (modality.min() < 0 or modality.max() >= NUM_MODALITIES):
            raise ValueError(
                f"modality values must be 0 (visible) or 1 (infrared), got {sorted(set(modality.tolist()))}"
            )

    def stem_forward(self, images: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        """Run every row through its modality's stem; returns the stem maps in the input row order."""
        self._check_inputs(images, modality)
        modality = modality.to(images.device)
        outputs, order = [], []
        for m, stem in enumerate(self.stems):
            rows = torch.nonzero(modality == m, as_tuple=True)[0]
            if rows.numel() == 0:
                continue
            outputs.append(stem(images.index_select(0, rows)))
            order.append(rows)
        if len(outputs) == 1:
            return outputs[0]
        inverse = torch.argsort(torch.cat(order))
        return torch.cat(outputs).index_select(0, inverse)

    def forward(self, images: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        """Return the BN-neck features [B, feature_dim]: raw in train(), L2-normalised in eval()."""
        feature_map = self.body(self.stem_forward(images, modality))
        feat = self.bottleneck(self.pool(feature_map))
        if self.training:
            return feat
        return F.normalize(feat, dim=1)


def build_agw_resnet50(*, last_stride: int = 1, nl_inter_channels: int = 1, non_local: bool = True) -> TwoStreamReID:
    """AGW two-stream ResNet-50 (docs/method.md §8), randomly initialised; D = 2048.

    Args:
        last_stride: stride of layer4 (1 keeps an 18×9 map for 288×144 input).
        nl_inter_channels: inter channels of the 5 non-local blocks (reference: 1).
        non_local: False drops the non-local blocks (ablation / speed).
    """
    if last_stride not in (1, 2):
        raise ValueError(f"last_stride must be 1 or 2, got {last_stride}")
    stems = []
    for _ in range(NUM_MODALITIES):
        owner = resnet50(weights=None)
        stems.append(make_resnet_stem(owner.conv1, owner.bn1))
    base = resnet50(weights=None)
    base.layer4[0].conv2.stride = (last_stride, last_stride)
    base.layer4[0].downsample[0].stride = (last_stride, last_stride)
    body = ResNetBody(
        [base.layer1, base.layer2, base.layer3, base.layer4],
        AGW_NON_LOCAL_POSITIONS if non_local else {},
        (256, 512, 1024, 2048),
        nl_inter_channels=nl_inter_channels,
    )
    return TwoStreamReID("agw_resnet50", stems, body, 2048)
