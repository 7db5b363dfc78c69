"""`ImageListDataset`: a torch Dataset over `Sample`s that yields one or more augmented views."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from vireid_core.data.records import Sample
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
        raise UserError(f"{path}: refused, the image is too large to decode safely ({error}); expected a "
                        "person crop of ordinary size") from error
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{path}: cannot decode image ({error}); expected a JPEG/PNG/BMP file") from error


class ImageListDataset(Dataset):
    """Images of `samples`, each passed through every transform in `transforms`.

    Item i is `(views, target, i)`: views FloatTensor[V, 3, H, W] with V = len(transforms) (all
    transforms must give the same shape), target = int(targets[i]) or -1 when `targets` is None.
    With `cache_images=True` the decoded PIL images are kept in memory after the first read (per
    worker process: each DataLoader worker fills its own cache, so use it for small sets).
    A single callable is accepted in place of a one-element sequence.
    """

    def __init__(self, samples: Sequence[Sample], transforms: Sequence[ViewTransform] | ViewTransform,
                 targets: np.ndarray | None = None, cache_images: bool = False) -> None:
        self.samples = list(samples)
        if callable(transforms):
            transforms = [transforms]
        self.transforms = list(transforms)
        if not self.transforms:
            raise ValueError("ImageListDataset: transforms is empty; expected at least one callable")
        for position, transform in enumerate(self.transforms):
            if not callable(transform):
                raise TypeError(f"ImageListDataset: transforms[{position}] is {type(transform).__name__}, "
                                f"expected a callable PIL.Image -> Tensor")
        if targets is not None:
            targets = np.asarray(targets)
            if targets.ndim != 1 or len(targets) != len(self.samples):
                raise ValueError(f"ImageListDataset: targets must have shape [{len(self.samples)}] (one per "
                                 f"sample), got {targets.shape}")
            if not np.issubdtype(targets.dtype, np.integer):
                raise ValueError(f"ImageListDataset: targets must be integers, got dtype {targets.dtype}")
        self.targets = targets
        self.cache_images = cache_images
        self._cache: dict[int, Image.Image] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def image(self, index: int) -> Image.Image:
        """Returns the decoded RGB PIL image of sample `index` (from the cache if enabled)."""
        if self.cache_images:
            cached = self._cache.get(index)
            if cached is None:
                cached = open_rgb(self.samples[index].path)
                self._cache[index] = cached
            return cached
        return open_rgb(self.samples[index].path)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        index = int(index)
        image = self.image(index)
        views = [transform(image) for transform in self.transforms]
        shapes = {tuple(view.shape) for view in views}
        if len(shapes) != 1:
            raise ValueError(f"ImageListDataset: transforms gave differently shaped views {sorted(shapes)} "
                             f"for {self.samples[index].path}; expected one shape")
        target = -1 if self.targets is None else int(self.targets[index])
        return torch.stack(views), target, index
