"""The deterministic transforms (clustering, test) as tensor pipelines over cached uint8 images.

Feature extraction reads every training image once per epoch and every test image once per
evaluation. The PIL transforms of :mod:`vireid_core.data.transforms` decode, resize and convert each
image every time; here the work is split in two:

1. the **resize**, done once with PIL's own filter (bicubic for clustering, Lanczos for testing) and
   kept as a ``uint8`` tensor [3, H, W] (:func:`resized_uint8`): this is the image cache;
2. the **tensor steps** per use: scaling to [0, 1] and ImageNet normalisation, in the same
   operations as ``ToTensor`` + ``Normalize``, so the pipelines give the PIL transforms' values bit
   for bit (``tests/test_tensor_transforms.py``).

The random training augmentations stay in PIL (on cached decoded images): run image by image with
``torchvision.transforms.v2`` on small uint8 tensors they were 3–9× slower than PIL here
(docs/training.md, "Where an epoch's time goes").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from vireid_core.data.transforms import IMAGENET_MEAN, IMAGENET_STD

_FILTERS = {"bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}


class ResizeSpec(NamedTuple):
    """A deterministic resize: target size in pixels and PIL filter name ("bicubic" or "lanczos")."""

    height: int
    width: int
    filter: str


def resized_uint8(image: Image.Image, spec: ResizeSpec) -> torch.Tensor:
    """``image`` (RGB PIL) resized with PIL as ``spec`` says; returns uint8 [3, height, width].

    PIL returns an unchanged copy when the image already has the target size, as the PIL
    transforms do.
    """
    if spec.filter not in _FILTERS:
        raise ValueError(f"resize filter must be one of {sorted(_FILTERS)}, got {spec.filter!r}")
    resized = image.resize((spec.width, spec.height), _FILTERS[spec.filter])
    return torch.from_numpy(np.asarray(resized, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


class ScaleAndNormalise:
    """uint8 [3, H, W] → float32 [3, H, W]: divide by 255 (as ``ToTensor``), then ImageNet mean/std
    (as ``Normalize``), in the same operations so the values match the PIL transforms bit for bit."""

    def __init__(self) -> None:
        self.mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(3, 1, 1)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return image.float().div(255).sub_(self.mean).div_(self.std)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class TensorPipeline:
    """A transform split into a cacheable resize and tensor steps.

    ``pipeline.from_uint8(u8)`` applies the tensor steps to an already resized uint8 [3, H, W] image;
    ``pipeline(pil_image)`` does both parts (drop-in for the PIL transforms). Returns float32 [3, H, W].
    """

    def __init__(self, resize: ResizeSpec, steps: Sequence[Callable[[torch.Tensor], torch.Tensor]]) -> None:
        self.resize = resize
        self.steps = list(steps)

    def from_uint8(self, image: torch.Tensor) -> torch.Tensor:
        """The tensor steps on a resized uint8 image [3, H, W]; returns float32 [3, H, W]."""
        for step in self.steps:
            image = step(image)
        return image

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return self.from_uint8(resized_uint8(image, self.resize))

    def __repr__(self) -> str:
        steps = ", ".join(repr(s) for s in self.steps)
        return f"{type(self).__name__}(resize={tuple(self.resize)}, steps=[{steps}])"


def cluster_pipeline(height: int = 288, width: int = 144) -> TensorPipeline:
    """Clustering-time transform (bicubic resize, scale, normalise); equals ``cluster_transform``."""
    return TensorPipeline(ResizeSpec(height, width, "bicubic"), [ScaleAndNormalise()])


def test_pipeline(height: int = 288, width: int = 144) -> TensorPipeline:
    """Test-time transform (Lanczos resize, scale, normalise); equals ``test_transform`` (whose second,
    bilinear resize to the same size is a no-op)."""
    return TensorPipeline(ResizeSpec(height, width, "lanczos"), [ScaleAndNormalise()])


test_pipeline.__test__ = False  # type: ignore[attr-defined]
