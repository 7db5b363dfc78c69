"""Per-modality train / cluster / test transforms (docs/method.md §8).

Each transform is a callable `PIL.Image (RGB) -> FloatTensor[3, H, W]` (ImageNet-normalised).
All randomness comes from torch's global RNG (torchvision v1 transforms and the channel classes
below), never from Python's `random` or numpy. A DataLoader with `num_workers > 0` and a seeded
`generator` therefore gives the same augmentations on every run (torch seeds each worker from the
generator); with `num_workers=0` the transforms run in the main process, so seed torch itself
(`torch.manual_seed`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torchvision.transforms as T
from PIL import Image
from torchvision.transforms import InterpolationMode

from vireid_core.data.records import INFRARED, VISIBLE

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Value written into erased rectangles: the CIFAR-10 channel means, written into the *normalised*
# tensor. A quirk inherited from the random-erasing code the field copies (docs/method.md §11, Q8); kept.
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
LUMINANCE_WEIGHTS = (0.2989, 0.5870, 0.1140)
PADDING = 10

ImageTransform = Callable[[Image.Image], torch.Tensor]


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(()))


def _randint(low: int, high_inclusive: int) -> int:
    return int(torch.randint(low, high_inclusive + 1, ()))


def _check_chw(tensor: torch.Tensor, who: str) -> None:
    if tensor.ndim != 3 or tensor.shape[0] != 3:
        raise ValueError(f"{who}: expected a tensor of shape [3, H, W], got {tuple(tensor.shape)}")


def _luminance(tensor: torch.Tensor) -> torch.Tensor:
    w0, w1, w2 = LUMINANCE_WEIGHTS
    return w0 * tensor[0] + w1 * tensor[1] + w2 * tensor[2]


class ChannelRandomErasing:
    """Random erasing with a per-channel constant (docs/method.md §8; the fill is §11, Q8).

    With probability `p`, up to `attempts` times: area fraction a ~ U(area_low, area_high) of H·W,
    aspect r ~ U(aspect_low, 1/aspect_low), h = round(√(a·H·W·r)), w = round(√(a·H·W/r)); if h < H and
    w < W, the top-left corner is uniform over [0, H−h] × [0, W−w] and channel c of the rectangle is
    set to `fill[c]` (default the CIFAR means, in normalised space — a kept quirk). Stops after the
    first success. Acts in place and returns the tensor [3, H, W].
    """

    def __init__(
        self,
        p: float = 0.5,
        area_low: float = 0.02,
        area_high: float = 0.4,
        aspect_low: float = 0.3,
        fill: tuple[float, float, float] = CIFAR_MEAN,
        attempts: int = 100,
    ) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"ChannelRandomErasing: p must be in [0, 1], got {p!r}")
        if not 0.0 < area_low <= area_high <= 1.0 or not 0.0 < aspect_low <= 1.0:
            raise ValueError(
                f"ChannelRandomErasing: need 0 < area_low <= area_high <= 1 and "
                f"0 < aspect_low <= 1, got {area_low}, {area_high}, {aspect_low}"
            )
        self.p, self.area_low, self.area_high, self.aspect_low = p, area_low, area_high, aspect_low
        self.fill, self.attempts = tuple(fill), attempts

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        _check_chw(tensor, type(self).__name__)
        if float(torch.rand(())) >= self.p:
            return tensor
        height, width = tensor.shape[1], tensor.shape[2]
        for _ in range(self.attempts):
            area = _uniform(self.area_low, self.area_high) * height * width
            aspect = _uniform(self.aspect_low, 1.0 / self.aspect_low)
            h = int(round(math.sqrt(area * aspect)))
            w = int(round(math.sqrt(area / aspect)))
            if h < height and w < width:
                top = _randint(0, height - h)
                left = _randint(0, width - w)
                for channel in range(3):
                    tensor[channel, top : top + h, left : left + w] = self.fill[channel]
                return tensor
        return tensor

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class ChannelExchange:
    """Overwrites all channels with one randomly chosen channel (docs/method.md §8, §11 Q9).

    k ~ uniform{0, …, gray}; k ∈ {0, 1, 2} copies channel k into all three; k ≥ 3 replaces all
    channels by the luminance 0.2989·c0 + 0.5870·c1 + 0.1140·c2. With the reference's gray=2 the
    grey branch is unreachable (kept as in the code). Acts on the normalised tensor, returns
    [3, H, W] with three identical channels.
    """

    def __init__(self, gray: int = 2) -> None:
        if gray < 0:
            raise ValueError(f"ChannelExchange: gray must be >= 0, got {gray!r}")
        self.gray = gray

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        _check_chw(tensor, type(self).__name__)
        k = _randint(0, self.gray)
        source = tensor[k].clone() if k < 3 else _luminance(tensor)
        tensor[:] = source
        return tensor

    def __repr__(self) -> str:
        return f"{type(self).__name__}(gray={self.gray})"


class ChannelAdapGray:
    """Infrared channel augmentation (docs/method.md §8).

    k ~ uniform{0, 1, 2, 3}; k ∈ {0, 1, 2} copies channel k into all three; k = 3: with probability
    `p` all channels become the luminance 0.2989·c0 + 0.5870·c1 + 0.1140·c2, else the image is left
    unchanged. Net with p = 0.5: 1/4 per channel copy, 1/8 grey, 1/8 identity. Returns [3, H, W].
    """

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"ChannelAdapGray: p must be in [0, 1], got {p!r}")
        self.p = p

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        _check_chw(tensor, type(self).__name__)
        k = _randint(0, 3)
        if k < 3:
            tensor[:] = tensor[k].clone()
        elif float(torch.rand(())) < self.p:
            tensor[:] = _luminance(tensor)
        return tensor

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


def _normalise() -> list[Callable]:
    return [T.ToTensor(), T.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD)]


def _geometric(height: int, width: int) -> list[Callable]:
    return [
        T.Resize((height, width), interpolation=InterpolationMode.BICUBIC),
        T.Pad(PADDING),
        T.RandomCrop((height, width)),
        T.RandomHorizontalFlip(p=0.5),
    ]


def _color_jitter() -> T.ColorJitter:
    return T.ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.5)


def _check_size(height: int, width: int) -> None:
    if not (isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0):
        raise ValueError(f"image size must be positive ints, got height={height!r}, width={width!r}")


def train_transform(
    modality: int, *, height: int = 288, width: int = 144, view: int = 1, color_jitter_ir: bool = False
) -> T.Compose:
    """Returns the training augmentation of one modality (the table of docs/method.md §8).

    visible view 1: bicubic resize, zero-pad 10, random crop, flip p=0.5, tensor, normalise,
        ChannelRandomErasing(0.5).
    visible view 2: as view 1 plus ColorJitter(0.5, 0.5, 0.5, 0.5) before the tensor conversion and
        ChannelExchange(gray=2) at the end (output: one channel replicated three times).
    infrared (view must be 1): resize, pad, crop, flip, [ColorJitter if `color_jitter_ir` — the
        reference uses it in SYSU stage 1 only], tensor, normalise, ChannelRandomErasing(0.5),
        ChannelAdapGray(0.5).
    The result maps a PIL RGB image to FloatTensor[3, height, width].
    """
    _check_size(height, width)
    if modality == VISIBLE:
        if view not in (1, 2):
            raise ValueError(f"visible train transform: view must be 1 or 2, got {view!r}")
        if view == 1:
            return T.Compose(_geometric(height, width) + _normalise() + [ChannelRandomErasing(p=0.5)])
        return T.Compose(
            _geometric(height, width)
            + [_color_jitter()]
            + _normalise()
            + [ChannelRandomErasing(p=0.5), ChannelExchange(gray=2)]
        )
    if modality == INFRARED:
        if view != 1:
            raise ValueError(f"infrared train transform has a single view; got view={view!r}")
        jitter = [_color_jitter()] if color_jitter_ir else []
        return T.Compose(
            _geometric(height, width) + jitter + _normalise() + [ChannelRandomErasing(p=0.5), ChannelAdapGray(p=0.5)]
        )
    raise ValueError(f"modality must be 0 (visible) or 1 (infrared), got {modality!r}")


def cluster_transform(height: int = 288, width: int = 144) -> T.Compose:
    """Returns the clustering-time transform (docs/method.md §8): bicubic resize, tensor, normalise.

    Maps a PIL RGB image to FloatTensor[3, height, width]; deterministic.
    """
    _check_size(height, width)
    return T.Compose([T.Resize((height, width), interpolation=InterpolationMode.BICUBIC)] + _normalise())


class LanczosResize:
    """PIL resize to (width, height) with the LANCZOS (formerly ANTIALIAS) filter; returns a PIL image."""

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width

    def __call__(self, image: Image.Image) -> Image.Image:
        return image.resize((self.width, self.height), Image.Resampling.LANCZOS)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(height={self.height}, width={self.width})"


def test_transform(height: int = 288, width: int = 144) -> T.Compose:
    """Returns the test-time transform (docs/method.md §8): Lanczos resize, bilinear resize to the same size (a
    no-op kept for fidelity), tensor, normalise. Maps a PIL RGB image to FloatTensor[3, height, width].
    """
    _check_size(height, width)
    return T.Compose(
        [LanczosResize(height, width), T.Resize((height, width), interpolation=InterpolationMode.BILINEAR)]
        + _normalise()
    )


# pytest collects module-level names starting with "test" when imported into a test module.
test_transform.__test__ = False  # type: ignore[attr-defined]
