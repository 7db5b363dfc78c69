"""The cached-uint8 tensor pipelines give the PIL transforms' values exactly, and the image cache holds
each image once per resize."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vireid_core.data.images import ImageListDataset
from vireid_core.data.records import Sample
from vireid_core.data.tensor_transforms import ResizeSpec, cluster_pipeline, resized_uint8, test_pipeline
from vireid_core.data.transforms import cluster_transform, test_transform


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i, (h, w) in enumerate([(128, 64), (97, 41), (300, 140)]):
        path = tmp_path / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("size", [(128, 64), (64, 32), (288, 144)])
def test_pipelines_equal_the_pil_transforms_bit_for_bit(images, size):
    for path in images:
        image = Image.open(path).convert("RGB")
        for pil, tensor in (
            (cluster_transform(*size), cluster_pipeline(*size)),
            (test_transform(*size), test_pipeline(*size)),
        ):
            assert torch.equal(tensor(image), pil(image))


def test_resize_spec_and_cache(images):
    image = Image.open(images[1]).convert("RGB")
    u8 = resized_uint8(image, ResizeSpec(64, 32, "lanczos"))
    assert u8.dtype == torch.uint8 and u8.shape == (3, 64, 32)
    with pytest.raises(ValueError, match="filter"):
        resized_uint8(image, ResizeSpec(64, 32, "nearest"))
    samples = [Sample(p, i, 1, 0) for i, p in enumerate(images)]
    cache: dict = {}
    first = ImageListDataset(samples, [cluster_pipeline(64, 32)], shared_cache=cache)
    second = ImageListDataset(samples, [test_pipeline(64, 32), test_pipeline(64, 32)], shared_cache=cache)
    views = [first[i][0] for i in range(3)] + [second[i][0] for i in range(3)]
    assert len(cache) == 6  # one uint8 copy per (image, resize); no PIL image kept
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.uint8 for v in cache.values())
    assert views[3].shape == (2, 3, 64, 32)
