"""Run configuration: dataclasses, named presets and ``key=value`` overrides.

One :class:`RunConfig` travels from the CLI or a notebook's parameters cell to the engine. Presets
hold the official hyperparameters (docs/method.md §10) for the real benchmarks and small CPU settings for
SynthVI; the paper's ablations M1–M6 are presets too (:data:`ABLATIONS`), never edited code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from vireid_core.config_checks import annotation_of, flatten, parse_text, validate
from vireid_core.errors import UserError


@dataclass
class DataConfig:
    """Which images, at which size, read how."""

    dataset: str = "sysu"  # a name known to vireid_core.data.load_dataset
    root: str = ""  # dataset root; for SynthVI the folder it is generated into
    trial: int = 1  # RegDB split 1..10
    height: int = 288
    width: int = 144
    cache_images: bool = False  # keep decoded images in memory (small datasets)
    num_workers: int = 8  # DataLoader workers on CUDA; CPU runs use 0 unless set explicitly
    # SynthVI only: number of identities per split and the labelled source set for pretraining.
    synth_train_ids: int = 150
    synth_val_ids: int = 20
    synth_test_ids: int = 100
    synth_source_ids: int = 250
    synth_seed: int = 0
    synth_visible_per_camera: int = 7
    synth_infrared_per_camera: int = 10


@dataclass
class ModelConfig:
    """Backbone and its starting weights."""

    arch: str = "agw_resnet50"  # agw_resnet50 | resnet18_small | effnet_lite0
    pretrained: str | None = "imagenet"  # a local weights file, "imagenet", or None
    width_multiplier: float = 1.0  # resnet18_small only
    nl_inter_channels: int = 1  # AGW non-local inter channels (official: 1, docs/method.md §11 Q11)
    last_stride: int = 1


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


@dataclass
class ClusterConfig:
    """Pseudo-label association (docs/method.md §2–§4)."""

    k1: int = 30
    k2: int = 6
    global_k1: int = 30
    global_k2: int = 6
    eps_intra_ir: float = 0.6
    eps_intra_vis: float = 0.6
    eps_global: float = 0.6
    min_samples: int = 4
    subset_ratio: float | None = 0.5  # None = no subset clustering (RegDB)
    global_association: str = "modality_aware"  # modality_aware | plain | none
    balanced_halves: bool = False  # cleaner MAJ variant (docs/method.md §11 Q2), off = official


@dataclass
class OptimConfig:
    """Optimiser, schedule and memories (docs/method.md §5–§7)."""

    lr: float = 3.5e-4
    weight_decay: float = 5e-4
    step_size: int = 20
    gamma: float = 0.1
    temperature: float = 0.05
    momentum: float = 0.1
    margin: float = 0.2
    num_selected: int = 50
    split_prototypes: bool = True  # modality-invariance learning (split-and-contrast + multi-positive)


@dataclass
class ScheduleConfig:
    """Epochs, iterations, batches, evaluation and checkpoints."""

    epochs_stage1: int = 50
    epochs_stage2: int = 50
    iters: int = 200
    ir_batch: int = 128
    vis_batch: int = 128
    num_instances: int = 16
    color_jitter_ir_stage1: bool = True  # docs/method.md §11 Q7
    color_jitter_ir_stage2: bool = False
    eval_every: int = 2  # 0 = only at the end of each stage
    eval_trials_stage1: int = 1
    eval_trials_stage2: int = 10
    stage2_init: str = "last"  # last | best (best-on-test reproduces the paper, docs/method.md §11 Q17)
    checkpoint_selection: str = "last"  # last | best: which checkpoint the final report uses


@dataclass
class RunConfig:
    """Everything one training run needs."""

    preset: str = "custom"
    seed: int = 1
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # float16 autocast on CUDA (with precision "auto")
    precision: str = "auto"  # auto | fp32 | bf16: auto = bf16 on CPUs with bf16 units (learning/precision.py)
    channels_last: bool = True  # NHWC convolutions (faster with oneDNN on CPU; same values)
    threads: int = 0  # torch CPU threads; 0 = leave torch's default
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain JSON-able data."""
        return asdict(self)

    def to_json(self, path: str | Path) -> None:
        """Write the resolved config as indented JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Rebuild a config from :meth:`to_dict` output; unknown keys raise ``ValueError``."""
        config = cls()
        for key, value in flatten(data):
            set_value(config, key, value)
        validate(config)
        return config

    @classmethod
    def from_json(cls, path: str | Path) -> RunConfig:
        """Read a config written by :meth:`to_json`."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise UserError(f"cannot read run config {path}: {err}") from err
        return cls.from_dict(data)


def stable_digest(payload: Any) -> str:
    """A 10-hex-digit SHA-256 of ``payload`` as sorted-key JSON: the cache key of data, weights and runs."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:10]


def set_value(config: RunConfig, key: str, value: Any) -> None:
    """Set a dotted ``key`` (e.g. ``"cluster.eps_global"``) on ``config``.

    ``value`` may be text (from the command line, converted to the field's type) or already typed.
    Raises ``ValueError`` naming the key when it does not exist or the value does not fit.
    """
    parts = key.split(".")
    target: Any = config
    for part in parts[:-1]:
        if not is_dataclass(target) or part not in {f.name for f in fields(target)}:
            raise UserError(f"unknown config key {key!r}")
        target = getattr(target, part)
    name = parts[-1]
    if not is_dataclass(target) or name not in {f.name for f in fields(target)}:
        raise UserError(f"unknown config key {key!r} (known: {', '.join(sorted(all_keys()))})")
    current = getattr(target, name)
    if is_dataclass(current):
        raise UserError(f"config key {key!r} is a section; set one of its fields instead")
    if isinstance(value, str):
        try:
            value = parse_text(value, current, annotation_of(target, name))
        except ValueError as err:
            raise UserError(f"config key {key!r}: {err}") from err
    elif isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    setattr(target, name, value)


def all_keys(config: RunConfig | None = None) -> list[str]:
    """Every settable dotted key of a run config."""
    return [key for key, _ in flatten(asdict(config or RunConfig()))]


def _official(dataset: str) -> RunConfig:
    """The official BMIL hyperparameters (docs/method.md §10) for one real benchmark."""
    config = RunConfig(preset=dataset)
    config.data.dataset = dataset
    if dataset == "regdb":
        config.cluster.eps_intra_ir = config.cluster.eps_intra_vis = config.cluster.eps_global = 0.3
        config.cluster.subset_ratio = None
        config.schedule.iters = 100
        config.schedule.vis_batch = 64
        config.schedule.color_jitter_ir_stage1 = False
        config.schedule.eval_trials_stage1 = config.schedule.eval_trials_stage2 = 1
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
    config.pretrain = PretrainConfig(enabled=True, iterations=1000, batch_size=64, lr=1e-3, modalities="visible",
                                     channel_aug=0.5)
    # k1/2 must not exceed the images per identity in the smaller modality (MAJ, docs/method.md §3).
    config.cluster = ClusterConfig(k1=16, k2=4, global_k1=16, global_k2=4, eps_intra_ir=0.5,
                                   eps_intra_vis=0.5, eps_global=0.5, subset_ratio=0.5)
    config.optim = OptimConfig(num_selected=50)
    config.schedule = ScheduleConfig(epochs_stage1=3, epochs_stage2=6, iters=60, ir_batch=64, vis_batch=32,
                                     num_instances=8, eval_every=0, eval_trials_stage1=3,
                                     eval_trials_stage2=3)
    config.optim.step_size = 100
    return config


def _synthvi_smoke() -> RunConfig:
    """A tiny two-stage run for tests (well under a minute on CPU)."""
    config = _synthvi_cpu()
    config.preset = "synthvi-smoke"
    config.threads = 0
    config.data.synth_train_ids, config.data.synth_val_ids = 10, 2
    config.data.synth_test_ids, config.data.synth_source_ids = 8, 12
    config.data.synth_visible_per_camera, config.data.synth_infrared_per_camera = 3, 4
    config.model.width_multiplier = 0.25
    config.pretrain.iterations = 10
    config.pretrain.batch_size = 16
    config.cluster = ClusterConfig(k1=6, k2=2, global_k1=6, global_k2=2, eps_intra_ir=0.6,
                                   eps_intra_vis=0.6, eps_global=0.6, min_samples=2, subset_ratio=0.5)
    config.schedule = ScheduleConfig(epochs_stage1=1, epochs_stage2=1, iters=2, ir_batch=8, vis_batch=8,
                                     num_instances=4, eval_every=0, eval_trials_stage1=1,
                                     eval_trials_stage2=1)
    config.data.height, config.data.width = 64, 32
    return config


# The paper's ablations (docs/method.md §12; paper Table: M1 ... M6), as overrides of a base preset.
ABLATIONS: dict[str, dict[str, Any]] = {
    "M1": {"schedule.epochs_stage2": 0},  # intra-modality baseline (stage 1 only, same epoch budget)
    "M2": {"cluster.global_association": "plain", "cluster.subset_ratio": None,
           "optim.split_prototypes": False},  # naive global clustering
    "M3": {"cluster.global_association": "modality_aware", "cluster.subset_ratio": None,
           "optim.split_prototypes": False},  # + bias-mitigated global clustering (MAJ)
    "M4": {"cluster.global_association": "modality_aware", "optim.split_prototypes": False},  # + subsets
    "M5": {"cluster.global_association": "modality_aware", "cluster.subset_ratio": None,
           "optim.split_prototypes": True},  # + modality-invariance learning
    "M6": {},  # full BMIL
}

_PRESETS = {
    "sysu": lambda: _official("sysu"),
    "regdb": lambda: _official("regdb"),
    "llcm": lambda: _official("llcm"),
    "synthvi-cpu": _synthvi_cpu,
    "synthvi-smoke": _synthvi_smoke,
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

    Raises:
        UserError: an unknown base preset or suffix, a repeated suffix, or a ``:paper`` config that never
            evaluates during training (``schedule.eval_every=0`` leaves no best checkpoint to select).
    """
    base, *suffixes = name.split(":")
    if base not in _PRESETS:
        raise UserError(f"unknown preset {base!r}; choose one of {', '.join(preset_names())}")
    paper = "paper" in suffixes
    ablations = [suffix for suffix in suffixes if suffix != "paper"]
    if suffixes.count("paper") > 1 or len(ablations) > 1:
        raise UserError(f"preset {name!r}: give at most one ':paper' and one ablation suffix, "
                        "e.g. 'sysu:paper:M3'")
    ablation = ablations[0] if ablations else ""
    if ablations and ablation not in ABLATIONS:
        raise UserError(f"unknown ablation {ablation!r}; choose one of {', '.join(ABLATIONS)} (or 'paper')")
    config = _PRESETS[base]()
    for key, value in (PAPER_SETTINGS if paper else {}).items():
        set_value(config, key, value)
    if ablation:
        for key, value in ABLATIONS[ablation].items():
            set_value(config, key, value)
        if ablation == "M1":
            config.schedule.epochs_stage1 += _PRESETS[base]().schedule.epochs_stage2
    if suffixes:
        config.preset = ":".join([base] + (["paper"] if paper else []) + ablations)
    for key, value in (overrides or {}).items():
        set_value(config, key, value)
    if paper and config.schedule.eval_every < 1:
        raise UserError(f"preset {config.preset!r} reports the best test Rank-1 checkpoint of each stage, which "
                        "needs evaluation during training, but schedule.eval_every is 0; set "
                        "schedule.eval_every (e.g. 2, as the official code) or use the preset without ':paper'")
    return validate(config)


def replace(config: RunConfig, **changes: Any) -> RunConfig:
    """A copy of ``config`` with top-level fields replaced (dataclasses.replace, deep-copied)."""
    return dataclasses.replace(RunConfig.from_dict(config.to_dict()), **changes)
