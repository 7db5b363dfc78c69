"""`ImageListDataset`: a torch Dataset over `Sample`s that yields one or more augmented views."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from vireid_core.data.records import Sample
from vireid_core.data.tensor_transforms import ResizeSpec, TensorPipeline, resized_uint8
from vireid_core.errors import UserError

ViewTransform = Callable[[Image.Image], torch.Tensor]


def open_rgb(path: str) -> Image.Image:
    """Opens an image file and returns it decoded as a 3-channel RGB PIL image.

    Infrared/greyscale images become three identical channels. Raises FileNotFoundError for a
    missing file and ValueError naming the file if it cannot be decoded.
    """
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: image file missing") from None
    except Image.DecompressionBombError as error:  # not an OSError: would escape unnamed
        raise UserError(
            f"{path}: refused, the image is too large to decode safely ({error}); expected a "
            "person crop of ordinary size"
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{path}: cannot decode image ({error}); expected a JPEG/PNG/BMP file") from error


class ImageListDataset(Dataset):
    """Images of `samples`, each passed through every transform in `transforms`.

    Item i is `(views, target, i)`: views FloatTensor[V, 3, H, W] with V = len(transforms) (all
    transforms must give the same shape), target = int(targets[i]) or -1 when `targets` is None.
    A :class:`~vireid_core.data.tensor_transforms.TensorPipeline` transform is fed the image resized
    once to its size as uint8 [3, H, W], so only its tensor steps run per item; any other transform
    gets the decoded PIL image. A single callable is accepted in place of a one-element sequence.

    Caching: with `cache_images=True` decoded images (PIL for PIL transforms, uint8 tensors for
    tensor pipelines) are kept in memory after the first read. `shared_cache` is a dict to keep them
    in instead, shared by several datasets over the same files (the engine's loaders and its feature
    extraction); keys are the path (PIL images) or (path, height, width, filter) (uint8 tensors).
    Either cache is per process: each DataLoader worker fills its own, so use them for small sets.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        transforms: Sequence[ViewTransform] | ViewTransform,
        targets: np.ndarray | None = None,
        cache_images: bool = False,
        shared_cache: dict | None = None,
    ) -> None:
        self.samples = list(samples)
        if callable(transforms):
            transforms = [transforms]
        self.transforms = list(transforms)
        if not self.transforms:
            raise ValueError("ImageListDataset: transforms is empty; expected at least one callable")
        for position, transform in enumerate(self.transforms):
            if not callable(transform):
                raise TypeError(
                    f"ImageListDataset: transforms[{position}] is {type(transform).__name__}, "
                    f"expected a callable PIL.Image -> Tensor"
                )
        if targets is not None:
            targets = np.asarray(targets)
            if targets.ndim != 1 or len(targets) != len(self.samples):
                raise ValueError(
                    f"ImageListDataset: targets must have shape [{len(self.samples)}] (one per "
                    f"sample), got {targets.shape}"
                )
            if not np.issubdtype(targets.dtype, np.integer):
                raise ValueError(f"ImageListDataset: targets must be integers, got dtype {targets.dtype}")
        self.targets = targets
        self.cache_images = cache_images or shared_cache is not None
        self._cache: dict = shared_cache if shared_cache is not None else {}

    def __len__(self) -> int:
        return len(self.samples)

    def _cached(self, key: Any, load: Callable[[], Any]) -> Any:
        """``load()``, kept under ``key`` when caching is enabled."""
        if not self.cache_images:
            return load()
        cached = self._cache.get(key)
        if cached is None:
            cached = load()
            self._cache[key] = cached
        return cached

    def image(self, index: int) -> Image.Image:
        """Returns the decoded RGB PIL image of sample `index` (from the cache if enabled)."""
        path = self.samples[index].path
        return self._cached(path, lambda: open_rgb(path))

    def resized(self, index: int, spec: ResizeSpec) -> torch.Tensor:
        """The image of sample `index` resized as `spec` says: uint8 [3, H, W] (cached if enabled).

        Decoded without keeping the PIL image: only the uint8 copy is cached."""
        path = self.samples[index].path
        return self._cached((path, *spec), lambda: resized_uint8(open_rgb(path), spec))

    def _view(self, index: int, transform: ViewTransform) -> torch.Tensor:
        if isinstance(transform, TensorPipeline):
            return transform.from_uint8(self.resized(index, transform.resize))
        return transform(self.image(index))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        index = int(index)
        views = [self._view(index, transform) for transform in self.transforms]
        shapes = {tuple(view.shape) for view in views}
        if len(shapes) != 1:
            raise ValueError(
                f"ImageListDataset: transforms gave differently shaped views {sorted(shapes)} "
                f"for {self.samples[index].path}; expected one shape"
            )
        target = -1 if self.targets is None else int(self.targets[index])
        return torch.stack(views), target, index
