"""Named presets: the official hyperparameters (docs/method.md §10) for the real benchmarks, small CPU
settings for SynthVI, and the paper's ablations M1–M6 and run setting ``:paper`` as dotted-key overrides
(:data:`ABLATIONS`, :data:`PAPER_SETTINGS`), never edited code."""

from __future__ import annotations

from typing import Any

from vireid_core.config.checks import validate
from vireid_core.config.run import RunConfig, set_value, set_values
from vireid_core.config.sections import (
    DataConfig,
    GlobalClusteringConfig,
    IntraClusteringConfig,
    MemoryConfig,
    ModelConfig,
    OptimConfig,
    PretrainConfig,
    ScheduleConfig,
    StageSchedule,
)
from vireid_core.errors import UserError


def _official(dataset: str) -> RunConfig:
    """The official BMIL hyperparameters (docs/method.md §10) for one real benchmark."""
    config = RunConfig(preset=dataset)
    config.data.dataset = dataset
    if dataset == "regdb":
        config.intra_clustering.eps_infrared = config.intra_clustering.eps_visible = 0.3
        config.global_clustering.eps = 0.3
        config.intra_clustering.subset_ratio = None
        config.schedule.iters = 100
        config.schedule.vis_batch = 64
        config.schedule.stage1.color_jitter_ir = False
        config.schedule.stage1.eval_trials = config.schedule.stage2.eval_trials = 1
    if dataset == "llcm":
        # BMIL ships LLCM loaders but no LLCM script; SYSU's settings are the documented choice.
        config.data.height = 384
    return config


def _synthvi_cpu() -> RunConfig:
    """The demo: a whole two-stage run on SynthVI on a 2-core CPU (about ten minutes, start cached)."""
    config = RunConfig(preset="synthvi-cpu", threads=2)
    config.data = DataConfig(dataset="synthvi", height=128, width=64, cache_images=True, num_workers=0)
    # Quarter-width ResNet-18 (128-d features), last stride 2: ~3.5x the training images/s of half width
    # on this 2-core CPU (benchmarks/model_throughput.py); docs/synthvi-calibration.md records the choice.
    config.model = ModelConfig(arch="resnet18_small", pretrained=None, width_multiplier=0.25, last_stride=2)
    # The ImageNet-like start: identity pretraining on VISIBLE source images only (half of them
    # channel-exchanged), its visible stem copied into the infrared stem. No label ties a visible image to
    # an infrared one, as with ImageNet weights.
    config.pretrain = PretrainConfig(
        enabled=True, iterations=1000, batch_size=64, lr=1e-3, modalities="visible", channel_aug=0.5
    )
    # k1/2 must not exceed the images per identity in the smaller modality (MAJ, docs/method.md §3).
    config.intra_clustering = IntraClusteringConfig(
        k1=16, k2=4, eps_infrared=0.5, eps_visible=0.5, min_samples=4, subset_ratio=0.5
    )
    config.global_clustering = GlobalClusteringConfig(k1=16, k2=4, eps=0.5, min_samples=4)
    config.memory = MemoryConfig(num_selected=50)
    config.optim = OptimConfig(step_size=100)
    config.schedule = ScheduleConfig(
        iters=60,
        ir_batch=64,
        vis_batch=32,
        num_instances=8,
        eval_every=0,
        stage1=StageSchedule(epochs=3, color_jitter_ir=True, eval_trials=3),
        stage2=StageSchedule(epochs=6, color_jitter_ir=False, eval_trials=3),
    )
    return config


def _synthvi_imagenet() -> RunConfig:
    """The reference start on SynthVI: the packaged ImageNet EfficientNet-Lite0, no source pretraining.

    ImageNet weights are the start BMIL uses on real data; nothing in them ties a visible image to an
    infrared one. Data, association and schedule are ``synthvi-cpu``'s: only the network and its start
    differ, so the two ladders compare starts. The full-width network trains about 9x slower than the
    quarter-width ResNet-18 (docs/synthvi-calibration.md records the measured times).
    """
    config = _synthvi_cpu()
    config.preset = "synthvi-imagenet"
    config.model = ModelConfig(arch="effnet_lite0", pretrained="imagenet")
    config.pretrain = PretrainConfig(enabled=False)
    return config


def _synthvi_smoke() -> RunConfig:
    """A tiny two-stage run for tests (well under a minute on CPU)."""
    config = _synthvi_cpu()
    config.preset = "synthvi-smoke"
    config.threads = 0
    config.data.height, config.data.width = 64, 32
    config.data.synthvi = config.data.synthvi.with_(
        n_train_ids=10, n_val_ids=2, n_test_ids=8, n_source_ids=12, visible_per_camera=3, infrared_per_camera=4
    )
    config.model.width_multiplier = 0.25
    config.pretrain.iterations = 10
    config.pretrain.batch_size = 16
    config.intra_clustering = IntraClusteringConfig(
        k1=6, k2=2, eps_infrared=0.6, eps_visible=0.6, min_samples=2, subset_ratio=0.5
    )
    config.global_clustering = GlobalClusteringConfig(k1=6, k2=2, eps=0.6, min_samples=2)
    # synthvi-cpu's schedule, shrunk: two iterations of small batches, one epoch and one trial per stage.
    schedule = config.schedule
    schedule.iters, schedule.ir_batch, schedule.vis_batch, schedule.num_instances = 2, 8, 8, 4
    for stage in (schedule.stage1, schedule.stage2):
        stage.epochs = stage.eval_trials = 1
    return config


# The paper's ablations (docs/method.md §12; paper Table: M1 ... M6), as overrides of a base preset.
ABLATIONS: dict[str, dict[str, Any]] = {
    "M1": {"schedule.stage2.epochs": 0},  # intra-modality baseline (stage 1 only, same epoch budget)
    "M2": {
        "global_clustering.method": "plain",
        "intra_clustering.subset_ratio": None,
        "memory.split_prototypes": False,
    },  # naive global clustering
    "M3": {
        "global_clustering.method": "modality_aware",
        "intra_clustering.subset_ratio": None,
        "memory.split_prototypes": False,
    },  # + bias-mitigated global clustering (MAJ)
    "M4": {"global_clustering.method": "modality_aware", "memory.split_prototypes": False},  # + subsets
    "M5": {
        "global_clustering.method": "modality_aware",
        "intra_clustering.subset_ratio": None,
        "memory.split_prototypes": True,
    },  # + modality-invariance learning
    "M6": {},  # full BMIL
}

_PRESETS = {
    "sysu": lambda: _official("sysu"),
    "regdb": lambda: _official("regdb"),
    "llcm": lambda: _official("llcm"),
    "synthvi-cpu": _synthvi_cpu,
    "synthvi-smoke": _synthvi_smoke,
    "synthvi-imagenet": _synthvi_imagenet,
}


def preset_names() -> list[str]:
    """Names accepted by :func:`get_preset` (base presets, and ``<base>:M1`` … ``<base>:M6``)."""
    return sorted(_PRESETS)


# The paper-reproduction setting (suffix ":paper"): how the official code (Terminator8758/BMIL,
# train_sysu.py / train_regdb.py) was run, beyond the hyperparameters the base presets already hold. It
# evaluates every eval_every epochs, keeps each stage's best test Rank-1 model, starts stage 2 from stage 1's
# best and reports the best; it trains and extracts features in float32 (no AMP).
PAPER_SETTINGS: dict[str, Any] = {
    "schedule.stage2_init": "best",
    "schedule.checkpoint_selection": "best",
    "amp": False,
    "precision": "fp32",
}


def get_preset(name: str, overrides: dict[str, Any] | None = None) -> RunConfig:
    """A fresh, validated config for preset ``name`` with dotted-key ``overrides`` applied.

    ``name`` is a base preset, optionally followed by ``:paper`` (:data:`PAPER_SETTINGS`) and/or an
    ablation suffix (:data:`ABLATIONS`), e.g. ``"synthvi-cpu:M3"``, ``"sysu:paper"``, ``"sysu:paper:M3"``.
    Both suffix orders are accepted; the config's ``preset`` is the name in the order
    ``<base>:paper:<ablation>``, the order ``ablation --preset sysu:paper`` produces.

    Args:
        name: the preset name with its suffixes.
        overrides: dotted key -> value (text is converted to the key's type), applied last.

    Returns:
        The validated :class:`RunConfig`.

    Raises:
        UserError: an unknown base preset or suffix, a repeated suffix, a bad override, or a ``:paper``
            config that never evaluates during training (``schedule.eval_every=0`` leaves no best
            checkpoint to select).
    """
    base, *suffixes = name.split(":")
    if base not in _PRESETS:
        raise UserError(f"unknown preset {base!r}; choose one of {', '.join(preset_names())}")
    paper = "paper" in suffixes
    ablations = [suffix for suffix in suffixes if suffix != "paper"]
    if suffixes.count("paper") > 1 or len(ablations) > 1:
        raise UserError(f"preset {name!r}: give at most one ':paper' and one ablation suffix, e.g. 'sysu:paper:M3'")
    ablation = ablations[0] if ablations else ""
    if ablations and ablation not in ABLATIONS:
        raise UserError(f"unknown ablation {ablation!r}; choose one of {', '.join(ABLATIONS)} (or 'paper')")
    config = _PRESETS[base]()
    for key, value in (PAPER_SETTINGS if paper else {}).items():
        set_value(config, key, value)
    if ablation:
        for key, value in ABLATIONS[ablation].items():
            set_value(config, key, value)
        if ablation == "M1":  # stage 1 takes stage 2's epochs: the same epoch budget
            config.schedule.stage1.epochs += _PRESETS[base]().schedule.stage2.epochs
    if suffixes:
        config.preset = ":".join([base] + (["paper"] if paper else []) + ablations)
    set_values(config, overrides or {})
    if paper and config.schedule.eval_every < 1:
        raise UserError(
            f"preset {config.preset!r} reports the best test Rank-1 checkpoint of each stage, which "
            "needs evaluation during training, but schedule.eval_every is 0; set "
            "schedule.eval_every (e.g. 2, as the official code) or use the preset without ':paper'"
        )
    return validate(config)
