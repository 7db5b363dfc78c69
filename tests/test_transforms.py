"""Transforms (as the official `ChannelAug.py` and training-script transforms) and ImageListDataset: shapes,
channel-augmentation semantics, seeding."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torch.utils.data import DataLoader

from vireid_core.data import (
    INFRARED,
    VISIBLE,
    ChannelAdapGray,
    ChannelExchange,
    ChannelRandomErasing,
    ImageListDataset,
    Sample,
    cluster_transform,
    test_transform,
    train_transform,
)
from vireid_core.data.transforms import CIFAR_MEAN, IMAGENET_MEAN, IMAGENET_STD, LUMINANCE_WEIGHTS

H, W = 32, 16


def colourful_image(seed: int = 0, size: tuple[int, int] = (20, 40)) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels, mode="RGB")


def identical_channels(tensor: torch.Tensor) -> bool:
    return torch.equal(tensor[0], tensor[1]) and torch.equal(tensor[1], tensor[2])


@pytest.mark.parametrize(
    ("modality", "view", "jitter"),
    [(VISIBLE, 1, False), (VISIBLE, 2, False), (INFRARED, 1, False), (INFRARED, 1, True)],
)
def test_train_transform_shapes(modality: int, view: int, jitter: bool) -> None:
    torch.manual_seed(0)
    transform = train_transform(modality, height=H, width=W, view=view, color_jitter_ir=jitter)
    out = transform(colourful_image())
    assert out.shape == (3, H, W) and out.dtype == torch.float32


def test_default_size_and_eval_transforms() -> None:
    image = colourful_image(size=(64, 128))
    assert train_transform(VISIBLE)(image).shape == (3, 288, 144)
    assert cluster_transform()(image).shape == (3, 288, 144)
    assert test_transform(H, W)(image).shape == (3, H, W)


def test_visible_view2_is_single_channel_replicated() -> None:
    transform = train_transform(VISIBLE, height=H, width=W, view=2)
    for seed in range(20):
        torch.manual_seed(seed)
        assert identical_channels(transform(colourful_image(seed)))


def test_train_transform_pipeline_order() -> None:
    names = lambda t: [type(step).__name__ for step in t.transforms]  # noqa: E731
    assert names(train_transform(VISIBLE, view=1)) == [
        "Resize",
        "Pad",
        "RandomCrop",
        "RandomHorizontalFlip",
        "ToTensor",
        "Normalize",
        "ChannelRandomErasing",
    ]
    assert names(train_transform(VISIBLE, view=2)) == [
        "Resize",
        "Pad",
        "RandomCrop",
        "RandomHorizontalFlip",
        "ColorJitter",
        "ToTensor",
        "Normalize",
        "ChannelRandomErasing",
        "ChannelExchange",
    ]
    assert names(train_transform(INFRARED, color_jitter_ir=True)) == [
        "Resize",
        "Pad",
        "RandomCrop",
        "RandomHorizontalFlip",
        "ColorJitter",
        "ToTensor",
        "Normalize",
        "ChannelRandomErasing",
        "ChannelAdapGray",
    ]
    assert "ColorJitter" not in names(train_transform(INFRARED))
    transform = train_transform(VISIBLE, view=2)
    jitter = transform.transforms[4]
    assert [jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue] == [
        (0.5, 1.5),
        (0.5, 1.5),
        (0.5, 1.5),
        (-0.5, 0.5),
    ]
    assert transform.transforms[0].interpolation == TF.InterpolationMode.BICUBIC
    assert transform.transforms[1].padding == 10


@pytest.mark.parametrize(("modality", "view"), [(VISIBLE, 3), (INFRARED, 2), (2, 1)])
def test_train_transform_bad_arguments(modality: int, view: int) -> None:
    with pytest.raises(ValueError, match="view|modality"):
        train_transform(modality, view=view)


def test_same_torch_seed_same_output_and_no_global_side_effects() -> None:
    transform = train_transform(INFRARED, height=H, width=W, color_jitter_ir=True)
    random.seed(5)
    np.random.seed(5)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    torch.manual_seed(3)
    first = transform(colourful_image())
    torch.manual_seed(3)
    second = transform(colourful_image())
    assert torch.equal(first, second)
    assert random.getstate() == python_state
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), numpy_state, strict=True))


def test_channel_exchange_picks_each_channel() -> None:
    base = torch.randn(3, 5, 4)
    seen = set()
    torch.manual_seed(0)
    for _ in range(60):
        out = ChannelExchange(gray=2)(base.clone())
        assert identical_channels(out)
        seen.add(next(k for k in range(3) if torch.equal(out[0], base[k])))
    assert seen == {0, 1, 2}
    torch.manual_seed(0)
    with_grey = ChannelExchange(gray=3)  # k = 3 reachable: luminance of all channels
    outputs = [with_grey(base.clone())[0] for _ in range(40)]
    w0, w1, w2 = LUMINANCE_WEIGHTS
    assert any(torch.allclose(out, w0 * base[0] + w1 * base[1] + w2 * base[2]) for out in outputs)


def test_channel_adap_gray_probabilities() -> None:
    base = torch.randn(3, 4, 4)
    w0, w1, w2 = LUMINANCE_WEIGHTS
    grey = w0 * base[0] + w1 * base[1] + w2 * base[2]
    counts = {"c0": 0, "c1": 0, "c2": 0, "grey": 0, "same": 0}
    augment = ChannelAdapGray(p=0.5)
    torch.manual_seed(123)
    draws = 4000
    for _ in range(draws):
        out = augment(base.clone())
        if torch.equal(out, base):
            counts["same"] += 1
        elif identical_channels(out) and torch.allclose(out[0], grey):
            counts["grey"] += 1
        else:
            assert identical_channels(out)
            counts[f"c{next(k for k in range(3) if torch.equal(out[0], base[k]))}"] += 1
    expected = {"c0": 0.25, "c1": 0.25, "c2": 0.25, "grey": 0.125, "same": 0.125}
    for key, p in expected.items():  # 5 sigma of a binomial proportion
        assert abs(counts[key] / draws - p) < 5 * np.sqrt(p * (1 - p) / draws), counts


def test_channel_random_erasing_value_and_rectangle() -> None:
    torch.manual_seed(7)
    erase = ChannelRandomErasing(p=1.0)
    fractions = []
    for _ in range(50):
        tensor = torch.full((3, 48, 24), -9.0)
        out = erase(tensor)
        erased = out[0] != -9.0
        rows, cols = torch.nonzero(erased, as_tuple=True)
        assert rows.numel() > 0
        h, w = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
        assert h * w == rows.numel() and h < 48 and w < 24  # one solid rectangle, strictly smaller
        for c in range(3):  # the CIFAR means, written into normalised space
            assert torch.all(out[c][erased] == torch.tensor(CIFAR_MEAN[c]))
            assert torch.all(out[c][~erased] == -9.0)
        fractions.append(h * w / (48 * 24))
    assert 0.01 < min(fractions) and max(fractions) < 0.45
    untouched = torch.randn(3, 8, 8)
    assert torch.equal(ChannelRandomErasing(p=0.0)(untouched.clone()), untouched)


def test_channel_random_erasing_rate() -> None:
    torch.manual_seed(1)
    erase = ChannelRandomErasing(p=0.5)
    hits = sum(bool((erase(torch.full((3, 32, 16), -9.0)) != -9.0).any()) for _ in range(1000))
    assert 420 < hits < 580


def test_channel_classes_reject_bad_shapes() -> None:
    for augment in (ChannelExchange(), ChannelAdapGray(), ChannelRandomErasing()):
        with pytest.raises(ValueError, match=r"\[3, H, W\]"):
            augment(torch.zeros(1, 4, 4))


def test_test_transform_is_lanczos_then_normalise() -> None:
    image = colourful_image(size=(50, 90))
    expected = TF.normalize(TF.to_tensor(image.resize((W, H), Image.Resampling.LANCZOS)), IMAGENET_MEAN, IMAGENET_STD)
    assert torch.allclose(test_transform(H, W)(image), expected)
    bicubic = TF.normalize(TF.to_tensor(image.resize((W, H), Image.Resampling.BICUBIC)), IMAGENET_MEAN, IMAGENET_STD)
    assert torch.allclose(cluster_transform(H, W)(image), bicubic, atol=1e-6)


# ------------------------------------------------------------------------------- ImageListDataset
def write_samples(folder: Path) -> list[Sample]:
    folder.mkdir(parents=True, exist_ok=True)
    samples = []
    for i in range(4):
        path = folder / f"img{i}.{'jpg' if i % 2 == 0 else 'bmp'}"
        if i % 2 == 0:
            colourful_image(i).save(path)
        else:
            Image.new("L", (20, 40), color=30 * i).save(path)  # infrared: single channel on disk
        samples.append(Sample(path=str(path), pid=i, cam=1 + i % 2, modality=i % 2))
    return samples


def test_image_list_dataset_items(tmp_path: Path) -> None:
    samples = write_samples(tmp_path)
    views = [train_transform(VISIBLE, height=H, width=W, view=1), train_transform(VISIBLE, height=H, width=W, view=2)]
    dataset = ImageListDataset(samples, views, targets=np.array([5, 6, 7, 8]))
    torch.manual_seed(0)
    images, target, index = dataset[2]
    assert images.shape == (2, 3, H, W) and target == 7 and index == 2
    plain = ImageListDataset(samples, cluster_transform(H, W))
    images, target, index = plain[1]
    assert images.shape == (1, 3, H, W) and target == -1 and index == 1
    grey_pixel = (30 / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    assert np.allclose(images[0, :, 0, 0].numpy(), grey_pixel, atol=1e-5)  # 'L' image became 3 channels


def test_image_list_dataset_cache(tmp_path: Path) -> None:
    samples = write_samples(tmp_path)
    dataset = ImageListDataset(samples, [cluster_transform(H, W)], cache_images=True)
    first = dataset[0][0]
    Path(samples[0].path).unlink()  # served from memory from now on
    assert torch.equal(dataset[0][0], first)


def test_image_list_dataset_bad_inputs(tmp_path: Path) -> None:
    samples = write_samples(tmp_path)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    dataset = ImageListDataset([Sample(str(broken), 0, 1, 0)], [cluster_transform(H, W)])
    with pytest.raises(ValueError, match=r"broken\.jpg: cannot decode"):
        dataset[0]
    missing = ImageListDataset([Sample(str(tmp_path / "gone.jpg"), 0, 1, 0)], [cluster_transform(H, W)])
    with pytest.raises(FileNotFoundError, match=r"gone\.jpg"):
        missing[0]
    with pytest.raises(ValueError, match="targets must have shape"):
        ImageListDataset(samples, [cluster_transform(H, W)], targets=np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="transforms is empty"):
        ImageListDataset(samples, [])
    with pytest.raises(ValueError, match="differently shaped"):
        ImageListDataset(samples, [cluster_transform(H, W), cluster_transform(H, 2 * W)])[0]


def test_seeded_worker_loader_is_deterministic(tmp_path: Path) -> None:
    samples = write_samples(tmp_path)
    dataset = ImageListDataset(samples, [train_transform(INFRARED, height=H, width=W)])

    def run(seed: int) -> torch.Tensor:
        loader = DataLoader(
            dataset, batch_size=2, shuffle=True, num_workers=1, generator=torch.Generator().manual_seed(seed)
        )
        return torch.cat([batch[0] for batch in loader])

    assert torch.equal(run(11), run(11))
    assert not torch.equal(run(11), run(12))
