"""Data pipeline figures: decode/transform throughput (cache off vs on) and sampler pass time.

Run: `.venv/bin/python benchmarks/bench_data_pipeline.py` (single thread, ~10 s). Prints images per
second for ImageListDataset with the visible two-view training transforms at 288x144 and at 128x64,
with and without `cache_images`, and the time of one IdentityInstanceSampler pass at SYSU size
(22,258 images, 500 pseudo labels, 4 cameras).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vireid_core.data import VISIBLE, IdentityInstanceSampler, ImageListDataset, Sample, train_transform


def write_images(folder: Path, count: int, size: tuple[int, int] = (64, 128)) -> list[Sample]:
    rng = np.random.default_rng(0)
    samples = []
    for i in range(count):
        path = folder / f"{i:04d}.jpg"
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, quality=95)
        samples.append(Sample(str(path), pid=i // 10, cam=1 + i % 4, modality=VISIBLE))
    return samples


def images_per_second(dataset: ImageListDataset, passes: int) -> float:
    start = time.perf_counter()
    for _ in range(passes):
        for index in range(len(dataset)):
            dataset[index]
    return passes * len(dataset) / (time.perf_counter() - start)


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        samples = write_images(Path(tmp), 200)
        for height, width in ((288, 144), (128, 64)):
            views = [train_transform(VISIBLE, height=height, width=width, view=v) for v in (1, 2)]
            plain = images_per_second(ImageListDataset(samples, views), passes=2)
            cached_dataset = ImageListDataset(samples, views, cache_images=True)
            images_per_second(cached_dataset, passes=1)  # fill the cache
            cached = images_per_second(cached_dataset, passes=2)
            print(
                f"visible 2-view train transform at {height}x{width} from 128x64 JPEGs: "
                f"{plain:7.1f} img/s without cache, {cached:7.1f} img/s with cache "
                f"(x{cached / plain:.2f})"
            )

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 500, 22_258)
    cams = rng.choice([1, 2, 4, 5], 22_258)
    sampler = IdentityInstanceSampler(labels, cams, num_instances=16, seed=0)
    start = time.perf_counter()
    repeats = 20
    for epoch in range(repeats):
        sampler.set_epoch(epoch)
        indices = sampler.indices()
    elapsed = (time.perf_counter() - start) / repeats
    print(f"IdentityInstanceSampler pass (22,258 images, 500 labels): {elapsed * 1e3:.1f} ms, {len(indices)} indices")


if __name__ == "__main__":
    main()
