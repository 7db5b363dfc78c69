"""Feature extraction shared by evaluation and training (docs/method.md §8, "Features").

Each image goes through its own modality's stem (``model(images, modality)``); the feature is the
average of the eval-mode (L2-normalised) features of the image and of its horizontal flip, then
re-normalised to unit length for test features and left as is for clustering (docs/method.md §8).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from vireid_core.compute import ComputePlan, compute_plan
from vireid_core.data.images import ImageListDataset
from vireid_core.data.records import Sample


def _model_device(model: nn.Module) -> torch.device:
    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")


def extract_features(
    model: nn.Module,
    samples: Sequence[Sample],
    transform: Callable[[Image.Image], torch.Tensor],
    *,
    batch_size: int = 128,
    device: str | torch.device | None = None,
    flip: bool = True,
    renormalise: bool = True,
    num_workers: int = 0,
    progress: bool = True,
    description: str = "features",
    plan: ComputePlan | None = None,
    image_cache: dict | None = None,
) -> np.ndarray:
    """Features of `samples`, each image through the stem of its own modality.

    Args:
        model: a `TwoStreamReID`-like module, ``model(images [B,3,H,W], modality LongTensor[B]) ->
            [B, D]``, L2-normalised in eval mode. It is put in eval mode for the extraction and its
            previous train/eval mode is restored afterwards.
        samples: images to read (`Sample.modality` chooses the stem).
        transform: PIL image -> FloatTensor[3, H, W], e.g. `vireid_core.data.tensor_transforms.test_pipeline`
            (a TensorPipeline: the resize is done once per image and its tensor steps per batch item).
        batch_size: images per forward pass.
        device: where to run; None = where the model's parameters are. The model is moved there.
        flip: average with the feature of the horizontally flipped image.
        renormalise: L2-normalise the (flip-averaged) feature; True for test, False for
            clustering (docs/method.md §8).
        num_workers: DataLoader worker processes reading images.
        progress: show a tqdm progress bar.
        description: label of the progress bar.
        plan: autocast dtype and memory format (:mod:`vireid_core.compute`); None = the "auto" plan of
            the device (float16 on CUDA, bfloat16 on CPUs with bf16 units, else float32; channels-last).
            Features are float32 whatever the plan.
        image_cache: a dict keeping decoded (resized) images between calls, e.g. the engine's, which
            extracts the same training images every epoch (None = read every image from disk).

    Returns:
        float32 array [len(samples), D], rows in the order of `samples`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    samples = list(samples)
    if not samples:
        raise ValueError("extract_features: no samples given")
    run_device = _model_device(model) if device is None else torch.device(device)
    plan = plan if plan is not None else compute_plan(run_device)
    model.to(run_device)  # outside inference mode, so the parameters stay usable for training
    plan.prepare_model(model)
    modality = torch.tensor([s.modality for s in samples], dtype=torch.long)
    images_of = ImageListDataset(samples, [transform], shared_cache=image_cache if num_workers == 0 else None)
    loader = DataLoader(
        images_of, batch_size=batch_size, shuffle=False, num_workers=num_workers, pin_memory=run_device.type == "cuda"
    )
    was_training = model.training
    model.eval()
    features: np.ndarray | None = None
    try:
        with (
            torch.inference_mode(),
            tqdm(total=len(samples), desc=description, unit="img", disable=not progress) as bar,
        ):
            for views, _, index in loader:
                images = views[:, 0]
                batch_modality = modality[index]
                if flip:  # the image and its mirror image in one forward pass (eval-mode BN: rows independent)
                    images = torch.cat([images, torch.flip(images, dims=[3])])
                    batch_modality = torch.cat([batch_modality, batch_modality])
                with plan.autocast():
                    feature = model(plan.images(images), batch_modality.to(run_device)).float()
                if flip:
                    feature = (feature[: len(index)] + feature[len(index) :]) / 2
                if feature.ndim != 2 or feature.shape[0] != len(index):
                    raise ValueError(
                        f"model returned shape {tuple(feature.shape)} for a batch of "
                        f"{len(index)} images; expected [B, D]"
                    )
                if renormalise:
                    feature = nn.functional.normalize(feature, dim=1)
                if features is None:
                    features = np.empty((len(samples), feature.shape[1]), dtype=np.float32)
                features[index.numpy()] = feature.cpu().numpy()
                bar.update(len(index))
    finally:
        model.train(was_training)
    return features
