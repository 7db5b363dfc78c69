"""Supervised pretraining on a labelled *source* set — the CPU stand-in for ImageNet weights.

A small network trained from scratch gives the unsupervised loop too little to start from (its
clusters are near random), so every SynthVI run starts from identity classification on a **disjoint,
labelled** SynthVI source set, as real runs start from ImageNet. Which source images it sees and how
they are augmented is chosen by :mod:`vireid_core.learning.starts`; the ``synthvi-cpu`` start sees
visible images only, so no label ties a visible image to an infrared one
(docs/synthvi-calibration.md measures the candidates).

It reads the ``pid`` of the samples it is given. Those must be the labelled *source* identities, never
the target training set of the unsupervised run (whose pids are ground truth kept for diagnostics).
Two callers only: :mod:`vireid_core.learning.starts` (the configured start, on source images) and
:mod:`vireid_core.learning.oracle` (the supervised oracle of the baseline ladder, the one place where
target identities are labels on purpose; never part of an unsupervised run).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader
from tqdm.auto import tqdm

from vireid_core.compute import ComputePlan, compute_plan
from vireid_core.data.images import ImageListDataset
from vireid_core.data.records import INFRARED, VISIBLE, Sample
from vireid_core.data.transforms import train_transform


class EitherView:
    """Train transform of a visible image: ``first`` or, with probability ``p``, ``second``.

    The choice is drawn from torch's global RNG (like every transform of
    :mod:`vireid_core.data.transforms`); returns what the chosen transform returns.
    """

    def __init__(
        self, first: Callable[[Image.Image], torch.Tensor], second: Callable[[Image.Image], torch.Tensor], p: float
    ) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"EitherView: p must be in [0, 1], got {p!r}")
        self.first, self.second, self.p = first, second, p

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return self.second(image) if float(torch.rand(())) < self.p else self.first(image)


def _transform(modality: int, height: int, width: int, visible_channel_aug: float) -> Callable:
    """The per-modality train transform (view 1); visible images get view 2 (colour jitter + channel
    exchange) with probability ``visible_channel_aug``. With 0 it is exactly view 1 (no extra draw)."""
    plain = train_transform(modality, height=height, width=width, view=1)
    if modality != VISIBLE or not visible_channel_aug:
        return plain
    return EitherView(plain, train_transform(VISIBLE, height=height, width=width, view=2), visible_channel_aug)


def _batches(num_items: int, batch_size: int, iterations: int, rng: np.random.Generator) -> list[list[int]]:
    """``iterations`` batches of distinct indices: consecutive slices of fresh random permutations."""
    batches: list[list[int]] = []
    while len(batches) < iterations:
        order = rng.permutation(num_items)
        for start in range(0, num_items - batch_size + 1, batch_size):
            batches.append(order[start : start + batch_size].tolist())
            if len(batches) == iterations:
                break
    return batches


def pretrain_on_source(
    model: nn.Module,
    samples: Sequence[Sample],
    *,
    iterations: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    height: int = 128,
    width: int = 64,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
    label_smoothing: float = 0.1,
    weight_decay: float = 5e-4,
    num_workers: int = 0,
    cache_images: bool = True,
    plan: ComputePlan | None = None,
    visible_channel_aug: float = 0.0,
) -> dict[str, Any]:
    """Train ``model`` in place by identity classification on a labelled source set (both modalities).

    A temporary bias-free linear classifier over the BN-neck feature (train-mode output, D → number of
    source identities) is trained jointly with the model by cross-entropy with label smoothing and Adam
    (coupled L2 weight decay). Images get the per-modality train transform (visible view 1 / infrared,
    :func:`vireid_core.data.transforms.train_transform`); batches are uniform random draws without
    replacement (fresh permutation whenever the set is used up). The classifier is discarded.

    **Labelled source data only**: the sample ``pid`` s are the labels. Never pass the target set.

    Args:
        model: a :class:`~vireid_core.model.TwoStreamReID` (``model(images, modality)`` -> [B, D]).
        samples: the source images; pids are any ints (mapped to 0..C−1), both modalities expected.
        iterations: optimiser steps.
        batch_size: images per step (>= 2, <= len(samples)).
        lr, weight_decay: Adam settings.
        height, width: input size in pixels.
        seed: seeds the batch draws and the augmentations (torch's RNG inside a fork: the caller's
            global RNG is left as it was); same seed, same result on CPU with ``num_workers=0``.
        device: where to train (default: the model's current device). The model stays there.
        progress: show a tqdm bar.
        label_smoothing: ε of the cross-entropy.
        num_workers: DataLoader workers (seeded from ``seed``).
        cache_images: keep decoded images in memory (source sets are small).
        plan: autocast dtype and memory format (:mod:`vireid_core.compute`); None = the device's
            "auto" plan. The classifier's logits and the loss are float32 whatever the plan.
        visible_channel_aug: probability that a visible image gets the visible view-2 transform
            (colour jitter + channel exchange: one colour channel copied into all three) instead of
            view 1; 0 (default) = view 1 only, with no extra random draw.

    Returns:
        a dict: ``iterations``, ``num_identities``, ``num_images``, ``losses`` (per step, list of float),
        ``accuracies`` (per-step batch accuracy of the classifier, fractions), ``final_loss`` and
        ``final_accuracy`` (means over the last min(50, iterations) steps), ``seconds`` (wall time) and
        ``images_per_second``.
    """
    samples = list(samples)
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    if not 2 <= batch_size <= len(samples):
        raise ValueError(f"batch_size must be in 2..{len(samples)} (the number of source samples), got {batch_size}")
    pids = np.array([s.pid for s in samples], dtype=np.int64)
    if (pids < 0).any():
        raise ValueError("source samples must carry identity labels (pid >= 0); found negative pids")
    identities, labels = np.unique(pids, return_inverse=True)
    if identities.size < 2:
        raise ValueError(f"need at least 2 source identities, got {identities.size}")
    modalities = np.array([s.modality for s in samples], dtype=np.int64)

    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    plan = plan if plan is not None else compute_plan(device)
    plan.prepare_model(model)
    feature_dim = int(model.feature_dim)

    # One dataset per modality (each with its own transform), concatenated: visible rows first.
    order = np.concatenate([np.flatnonzero(modalities == VISIBLE), np.flatnonzero(modalities == INFRARED)])
    parts = []
    for m in (VISIBLE, INFRARED):
        rows = np.flatnonzero(modalities == m)
        if rows.size:
            parts.append(
                ImageListDataset(
                    [samples[i] for i in rows],
                    [_transform(m, height, width, visible_channel_aug)],
                    labels[rows],
                    cache_images=cache_images,
                )
            )
    dataset = ConcatDataset(parts)
    ordered_modality = torch.from_numpy(modalities[order])

    was_training = model.training
    losses: list[float] = []
    accuracies: list[float] = []
    started = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        classifier = nn.Linear(feature_dim, identities.size, bias=False)
        nn.init.normal_(classifier.weight, std=0.001)
        classifier.to(device)
        params = [p for p in model.parameters() if p.requires_grad] + list(classifier.parameters())
        optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
        batches = _batches(len(dataset), batch_size, iterations, np.random.default_rng(seed))
        generator = torch.Generator().manual_seed(seed)
        loader = DataLoader(dataset, batch_sampler=batches, num_workers=num_workers, generator=generator)
        model.train()
        steps = loader
        if progress:
            steps = tqdm(loader, total=iterations, desc="source pretraining", leave=False)
        for views, targets, _ in steps:
            images = plan.images(views[:, 0])
            targets = targets.to(device)
            # ConcatDataset hands back each part's local index; rebuild the modality from the batch order.
            modality = ordered_modality[torch.as_tensor(batches[len(losses)])].to(device)
            with plan.autocast():
                features = model(images, modality)
            logits = classifier(features.float())
            loss = F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            accuracies.append(float((logits.detach().argmax(dim=1) == targets).float().mean()))
            if progress:
                steps.set_postfix(loss=f"{losses[-1]:.3f}", acc=f"{accuracies[-1]:.2f}")
    model.train(was_training)
    seconds = time.perf_counter() - started
    tail = min(50, len(losses))
    return {
        "iterations": len(losses),
        "num_identities": int(identities.size),
        "num_images": len(samples),
        "losses": losses,
        "accuracies": accuracies,
        "final_loss": float(np.mean(losses[-tail:])),
        "final_accuracy": float(np.mean(accuracies[-tail:])),
        "seconds": seconds,
        "images_per_second": len(losses) * batch_size / max(seconds, 1e-9),
    }
