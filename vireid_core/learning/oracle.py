"""The supervised oracle of the baseline ladder: the start trained with the TRUE target-train identities.

An upper bound for the unsupervised method on the same data: if even the oracle is low, the data is
ambiguous across modalities (issue 12). **This module is the one place in vireid where target-set
identity labels are read as training labels.** It is called only by the ladder's ``oracle`` row
(:mod:`vireid_core.ladder_rows`), never by the engine, the workflow or any unsupervised run.

The oracle is identity classification by :func:`~vireid_core.learning.pretrain.pretrain_on_source`
on the target training images of both modalities, whose pids are shared across modalities, starting
from the same start as the M rows. Its budget equals the preset's two unsupervised stages
(:func:`oracle_budget`): the same number of optimiser steps and the same number of images per step.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from vireid_core.compute import plan_for_config
from vireid_core.config import RunConfig
from vireid_core.data.dataset import ReIDDataset
from vireid_core.learning.pretrain import pretrain_on_source
from vireid_core.learning.setup import resolve_device

# Share of visible images given the view-2 (channel-exchange) transform: the engine feeds every visible
# sample as view 1 and view 2, so half of its visible images per step are channel-exchanged.
ORACLE_VISIBLE_CHANNEL_AUG = 0.5


def oracle_budget(config: RunConfig) -> dict[str, Any]:
    """The oracle's training budget for ``config`` (the base preset, both stages).

    The engine makes ``iters`` optimiser steps per stage-1 epoch and two per stage-2 epoch (step A intra,
    step B global), each on ``ir_batch`` infrared plus ``vis_batch`` visible samples in two views. The
    oracle makes the same number of steps on batches of the same number of images, at the engine's
    learning rate and weight decay (constant: the presets' StepLR never decays within their epochs).

    Returns a dict: ``iterations``, ``batch_size``, ``lr``, ``weight_decay``, ``visible_channel_aug`` and
    ``equivalence`` (the rule in words).
    """
    s, o = config.schedule, config.optim
    return {
        "iterations": s.iters * (s.stage1.epochs + 2 * s.stage2.epochs),
        "batch_size": s.ir_batch + 2 * s.vis_batch,
        "lr": o.lr,
        "weight_decay": o.weight_decay,
        "visible_channel_aug": ORACLE_VISIBLE_CHANNEL_AUG,
        "equivalence": "optimiser steps = iters x (stage1.epochs + 2 x stage2.epochs); images per step = "
        "ir_batch + 2 x vis_batch; Adam at optim.lr / optim.weight_decay",
    }


def train_oracle(model: nn.Module, dataset: ReIDDataset, config: RunConfig, *, progress: bool = True) -> dict[str, Any]:
    """Train ``model`` in place by identity classification on ``dataset.train`` with its TRUE pids.

    ``model`` should be the start of ``config`` (:func:`vireid_core.workflow.prepare_model`). The batch
    draws and augmentations are seeded by ``config.seed``.

    Returns the budget of :func:`oracle_budget` plus ``final_loss``, ``final_accuracy``, ``seconds`` and
    ``images_per_second`` of the training, and ``num_identities`` / ``num_images`` of the labelled set.
    """
    budget = oracle_budget(config)
    device = resolve_device(config.device)
    stats = pretrain_on_source(
        model,
        list(dataset.train),
        iterations=budget["iterations"],
        batch_size=budget["batch_size"],
        lr=budget["lr"],
        weight_decay=budget["weight_decay"],
        height=config.data.height,
        width=config.data.width,
        seed=config.seed,
        device=device,
        progress=progress,
        plan=plan_for_config(config, device),
        visible_channel_aug=budget["visible_channel_aug"],
    )
    kept = ("final_loss", "final_accuracy", "seconds", "images_per_second", "num_identities", "num_images")
    return {**budget, **{key: stats[key] for key in kept}}
