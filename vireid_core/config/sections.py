"""The sections of a run config, each shaped by the code that reads it, each checking its own values.

============================  ==========================================================================
section                       read by
============================  ==========================================================================
``data``                      the dataset readers and transforms; ``data.synthvi`` by the SynthVI generator
``model`` / ``pretrain``      the model registry / the source-pretrained start
``intra_clustering``          the per-modality Jaccard + DBSCAN of every epoch (both stages)
``global_clustering``         stage 2's clustering over both modalities
``neighbours``                the neighbour search under both clusterings (the association's ``KnnConfig``)
``memory``                    the cluster memories and their losses
``loss``                      the weights of an iteration's two optimiser steps
``optim``                     Adam and its step schedule
``schedule``                  iterations, batches, evaluation; ``schedule.stage1`` / ``stage2`` per stage
============================  ==========================================================================

Every ``check(key)`` raises :class:`~vireid_core.errors.UserError` naming the dotted key (``key`` is the
section's own dotted name) and what it expects; value types are checked before, for all keys at once
(:func:`vireid_core.config.checks.validate`). The two embedded dataclasses of other rooms,
:class:`~vireid_core.data.synthvi.SynthVIConfig` and :class:`~vireid_core.association.search.KnnConfig`,
check themselves when they are built (the config wraps their message with the key).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from vireid_core.association.feasibility import check_k_pair
from vireid_core.association.global_methods import GLOBAL_ASSOCIATIONS, global_association_names
from vireid_core.config.checks import (
    need_choice,
    need_fraction,
    need_int,
    need_non_negative,
    need_positive,
)
from vireid_core.data.synthvi.config import SynthVIConfig
from vireid_core.errors import UserError

Section = TypeVar("Section")

# What ``vireid_core.config`` re-exports: the section dataclasses.
__all__ = [
    "DataConfig",
    "GlobalClusteringConfig",
    "IntraClusteringConfig",
    "LossWeights",
    "MemoryConfig",
    "ModelConfig",
    "OptimConfig",
    "PretrainConfig",
    "ScheduleConfig",
    "StageSchedule",
]


def _k_pair(key: str, k1: int, k2: int, *, per_modality: bool) -> None:
    """The k1/k2 rule (:mod:`vireid_core.association.feasibility`), naming ``<key>.k1`` / ``<key>.k2``."""
    check_k_pair(k1, k2, per_modality=per_modality, names=(f"config key '{key}.k1'", f"config key '{key}.k2'"))


@dataclass
class DataConfig:
    """Which images, at which size, read how.

    ``synthvi`` holds the SynthVI generator's own settings (identities per split, images per camera, seed,
    rendering), used when ``dataset`` is ``"synthvi"`` and for the labelled source set of ``pretrain``. Its
    image size is not a setting of its own: one place decides the size of every image, ``height`` ×
    ``width``, so SynthVI draws at that size (:meth:`generator_config`). ``data.synthvi.height`` /
    ``width`` cannot be set, the stored config writes them equal to ``data.height`` / ``width``, and a
    stored config where they differ is refused.
    """

    dataset: str = "sysu"  # a name known to vireid_core.data.load_dataset
    root: str = ""  # dataset root; for SynthVI the folder it is generated into
    trial: int = 1  # RegDB split 1..10
    height: int = 288
    width: int = 144
    cache_images: bool = False  # keep decoded images in memory (small datasets)
    num_workers: int = 8  # DataLoader workers on CUDA; CPU runs use 0 unless set explicitly
    synthvi: SynthVIConfig = field(default_factory=SynthVIConfig)

    def generator_config(self) -> SynthVIConfig:
        """The settings handed to the SynthVI generator: ``synthvi`` at the image size ``height`` × ``width``.

        Raises:
            ValueError: SynthVI cannot draw at that size (see :class:`SynthVIConfig`).
        """
        return self.synthvi.with_(height=self.height, width=self.width)

    def check(self, key: str) -> None:
        """Image size positive, worker count non-negative."""
        need_int(f"{key}.height", self.height, 1)
        need_int(f"{key}.width", self.width, 1)
        need_int(f"{key}.num_workers", self.num_workers, 0)


# Keys whose value another key decides: written into stored configs, never set.
DERIVED_KEYS = {"data.synthvi.height": "data.height", "data.synthvi.width": "data.width"}


@dataclass
class ModelConfig:
    """Backbone and its starting weights."""

    arch: str = "agw_resnet50"  # agw_resnet50 | resnet18_small | effnet_lite0 (or a registered one)
    pretrained: str | None = "imagenet"  # a local weights file, "imagenet", or None
    width_multiplier: float = 1.0  # resnet18_small only
    nl_inter_channels: int = 1  # AGW non-local inter channels (official: 1, docs/method.md §11 Q11)
    last_stride: int = 1

    def check(self, key: str) -> None:
        """A registered architecture."""
        need_choice(f"{key}.arch", self.arch)


@dataclass
class PretrainConfig:
    """Supervised pretraining on a disjoint labelled SynthVI source set (stand-in for ImageNet)."""

    enabled: bool = False
    iterations: int = 800
    batch_size: int = 64
    lr: float = 1e-3
    # both = source images of both modalities with shared identity labels (ties visible to infrared);
    # visible = visible source images only, then the visible stem is copied into the infrared stem
    # (as ImageNet weights load one stem into both): a start no label ever tied across modalities.
    modalities: str = "both"
    channel_aug: float = 0.0  # share of visible source images given the channel-exchange view (view 2)

    def check(self, key: str) -> None:
        """Iterations non-negative, learning rate positive, a known modality choice, a share in [0, 1]."""
        need_int(f"{key}.iterations", self.iterations, 0)
        need_positive(f"{key}.lr", self.lr)
        need_choice(f"{key}.modalities", self.modalities)
        need_fraction(f"{key}.channel_aug", self.channel_aug)


@dataclass
class IntraClusteringConfig:
    """Per-modality pseudo labels of every epoch, both stages (docs/method.md §2, §4): plain Jaccard + DBSCAN
    inside the infrared images and inside visible subset 0.

    ``subset_ratio`` is the visible subsets' split (docs/method.md §4): each epoch that share of the visible
    images is drawn into subset 0, the only visible images clustered here (in stage 1 too); stage 2's global
    clustering takes subset 1 with all infrared images. None = no subsets: every visible image in both.
    """

    k1: int = 30
    k2: int = 6
    eps_infrared: float = 0.6
    eps_visible: float = 0.6
    min_samples: int = 4
    subset_ratio: float | None = 0.5  # None = no subset clustering (RegDB)

    def check(self, key: str) -> None:
        """The plain Jaccard's k1/k2 rule, eps in (0, 1], min_samples positive, subset_ratio in (0, 1)."""
        _k_pair(key, self.k1, self.k2, per_modality=False)
        need_fraction(f"{key}.eps_infrared", self.eps_infrared, zero=False)
        need_fraction(f"{key}.eps_visible", self.eps_visible, zero=False)
        need_int(f"{key}.min_samples", self.min_samples, 1)
        if self.subset_ratio is not None and not 0.0 < float(self.subset_ratio) < 1.0:
            raise UserError(f"config key '{key}.subset_ratio' must be None or in (0, 1), got {self.subset_ratio!r}")


@dataclass
class GlobalClusteringConfig:
    """Stage 2's pseudo labels across modalities (docs/method.md §3, §4): the distance ``method`` names
    (the registry of :mod:`vireid_core.association.global_methods`: ``modality_aware`` = MAJ, ``plain`` =
    the ablation's Jaccard blind to modality, ``none`` = no global step) + DBSCAN over visible subset 1 and
    all infrared images."""

    method: str = "modality_aware"  # modality_aware | plain | none (or a registered one)
    k1: int = 30
    k2: int = 6
    eps: float = 0.6
    min_samples: int = 4
    balanced_halves: bool = False  # cleaner MAJ variant (docs/method.md §11 Q2), off = official

    def check(self, key: str) -> None:
        """A registered method, its k1/k2 rule (none for ``"none"``), eps in (0, 1], min_samples positive."""
        need_choice(f"{key}.method", self.method, global_association_names())
        method = GLOBAL_ASSOCIATIONS.get(self.method)
        if method is not None:
            _k_pair(key, self.k1, self.k2, per_modality=method.per_modality)
        need_fraction(f"{key}.eps", self.eps, zero=False)
        need_int(f"{key}.min_samples", self.min_samples, 1)


@dataclass
class MemoryConfig:
    """The cluster memories and their losses (docs/method.md §5–§6): stage 1's hybrid memories and stage 2's
    global memory (split prototypes with the multi-positive loss, or one centroid per cluster)."""

    temperature: float = 0.05
    momentum: float = 0.1
    margin: float = 0.2  # hinge r of the hybrid loss on the mean-slot cross-entropy
    num_selected: int = 50  # selected set of the multi-positive loss
    split_prototypes: bool = True  # modality-invariance learning (split-and-contrast + multi-positive)

    def check(self, key: str) -> None:
        """Temperature positive, momentum in [0, 1], num_selected positive."""
        need_positive(f"{key}.temperature", self.temperature)
        need_fraction(f"{key}.momentum", self.momentum)
        need_int(f"{key}.num_selected", self.num_selected, 1)


@dataclass
class LossWeights:
    """Weights of the two optimiser steps of an iteration (docs/method.md §7).

    Step A trains against the intra-modality memories (every iteration of both stages); step B, in stage 2
    only, against the global memory. Each step is one backward pass and one optimiser step on its own
    loss, scaled by its weight (the official code: 1 and 0.5).
    """

    step_a_intra: float = 1.0
    step_b_global: float = 0.5

    def check(self, key: str) -> None:
        """Both weights >= 0."""
        need_non_negative(f"{key}.step_a_intra", self.step_a_intra)
        need_non_negative(f"{key}.step_b_global", self.step_b_global)


@dataclass
class OptimConfig:
    """Adam and its step learning-rate schedule (docs/method.md §7); a fresh one per stage."""

    lr: float = 3.5e-4
    weight_decay: float = 5e-4
    step_size: int = 20
    gamma: float = 0.1

    def check(self, key: str) -> None:
        """Learning rate positive, step size positive, gamma in [0, 1]."""
        need_positive(f"{key}.lr", self.lr)
        need_int(f"{key}.step_size", self.step_size, 1)
        need_fraction(f"{key}.gamma", self.gamma)


@dataclass
class StageSchedule:
    """What differs between the two stages: epochs, infrared colour jitter, evaluation trials. No defaults:
    the stages' defaults differ (:class:`ScheduleConfig`), so every construction states all three."""

    epochs: int  # 0 skips the stage
    color_jitter_ir: bool  # colour jitter on infrared training images (docs/method.md §11 Q7)
    eval_trials: int  # gallery trials of the evaluations during training

    def check(self, key: str) -> None:
        """Epochs non-negative, trials positive."""
        need_int(f"{key}.epochs", self.epochs, 0)
        need_int(f"{key}.eval_trials", self.eval_trials, 1)


@dataclass
class ScheduleConfig:
    """Iterations, batches, evaluation and checkpoints; ``stage1`` / ``stage2`` hold what differs per stage."""

    iters: int = 200
    ir_batch: int = 128
    vis_batch: int = 128
    num_instances: int = 16
    eval_every: int = 2  # 0 = only at the end of each stage
    stage2_init: str = "last"  # last | best (best-on-test reproduces the paper, docs/method.md §11 Q17)
    checkpoint_selection: str = "last"  # last | best: which checkpoint the final report uses
    stage1: StageSchedule = field(default_factory=lambda: StageSchedule(epochs=50, color_jitter_ir=True, eval_trials=1))
    stage2: StageSchedule = field(
        default_factory=lambda: StageSchedule(epochs=50, color_jitter_ir=False, eval_trials=10)
    )

    def stage(self, number: int) -> StageSchedule:
        """The schedule of stage ``number`` (1 or 2)."""
        if number not in (1, 2):
            raise ValueError(f"stage must be 1 or 2, got {number!r}")
        return self.stage1 if number == 1 else self.stage2

    def check(self, key: str) -> None:
        """Positive iterations and batches (each a multiple of ``num_instances``), known choices, both stages."""
        for name in ("iters", "ir_batch", "vis_batch", "num_instances"):
            need_int(f"{key}.{name}", getattr(self, name), 1)
        need_int(f"{key}.eval_every", self.eval_every, 0)
        need_choice(f"{key}.stage2_init", self.stage2_init)
        need_choice(f"{key}.checkpoint_selection", self.checkpoint_selection)
        self.stage1.check(f"{key}.stage1")
        self.stage2.check(f"{key}.stage2")
        if self.ir_batch % self.num_instances or self.vis_batch % self.num_instances:
            raise UserError(
                f"config keys '{key}.ir_batch' and '{key}.vis_batch' must be multiples of "
                f"'{key}.num_instances' ({self.num_instances})"
            )


def replace_section(section: Section, key: str, changes: dict[str, Any]) -> Section:
    """``dataclasses.replace(section, **changes)`` for a frozen section (whose own checks run), with a
    failure named by the changed keys.

    Args:
        section: the frozen dataclass (``data.synthvi``, ``neighbours``).
        key: its dotted name.
        changes: field name -> new value.

    Returns:
        The rebuilt section.

    Raises:
        UserError: the section refuses the values, e.g. ``config key 'data.synthvi.n_train_ids': ...``.
    """
    try:
        return dataclasses.replace(section, **changes)
    except (ValueError, TypeError) as err:
        names = ", ".join(repr(f"{key}.{name}") for name in changes)
        raise UserError(f"config key{'s' if len(changes) > 1 else ''} {names}: {err}") from err
