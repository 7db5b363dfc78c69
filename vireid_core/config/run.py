"""The run config: :class:`RunConfig` (its sections in :mod:`vireid_core.config.sections`), dotted keys
(:func:`set_value`, :func:`get_value`, :func:`all_keys`), reading stored configs of any layout
(:meth:`RunConfig.from_dict`) and the digests runs and caches are named by."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from vireid_core.association.search.config import KnnConfig
from vireid_core.config.checks import annotation_of, flatten, need_choice, need_int, parse_text, validate
from vireid_core.config.legacy import LEGACY_KEYS, flat_layout, migrate
from vireid_core.config.sections import (
    DERIVED_KEYS,
    DataConfig,
    GlobalClusteringConfig,
    IntraClusteringConfig,
    LossWeights,
    MemoryConfig,
    ModelConfig,
    OptimConfig,
    PretrainConfig,
    ScheduleConfig,
    replace_section,
)
from vireid_core.errors import UserError

_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


@dataclass
class RunConfig:
    """Everything one training run needs: run-wide settings, then one section per reader."""

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
    intra_clustering: IntraClusteringConfig = field(default_factory=IntraClusteringConfig)
    global_clustering: GlobalClusteringConfig = field(default_factory=GlobalClusteringConfig)
    neighbours: KnnConfig = field(default_factory=KnnConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    loss: LossWeights = field(default_factory=LossWeights)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)

    def check(self) -> None:
        """The run-wide values, then every section's own rules (types are checked before, by
        :func:`~vireid_core.config.checks.validate`); aligns ``data.synthvi``'s size with ``data``'s.

        Raises:
            UserError: naming the dotted key and what it expects.
        """
        if not _DEVICE.fullmatch(self.device):
            raise UserError(f"config key 'device' must be auto, cpu, cuda, cuda:<index> or mps, got {self.device!r}")
        need_choice("precision", self.precision)
        need_int("threads", self.threads, 0)
        for f in fields(self):
            section = getattr(self, f.name)
            if hasattr(section, "check"):
                section.check(f.name)
        # SynthVI draws the target set (dataset "synthvi") and the source set of pretraining at data's size;
        # a checked config holds that size in data.synthvi too (unless SynthVI is not drawn at all)
        try:
            self.data.synthvi = self.data.generator_config()
        except ValueError as err:
            if self.data.dataset == "synthvi" or self.pretrain.enabled:
                raise UserError(
                    f"config keys 'data.height' and 'data.width' ({self.data.height}x{self.data.width})"
                    f" do not suit SynthVI, which draws its images at that size: {err}"
                ) from err

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain JSON-able data (``data.synthvi``'s size written as ``data``'s)."""
        settings = asdict(self)
        for key, source in DERIVED_KEYS.items():
            _put(settings, key, get_value(self, source))
        return settings

    def to_json(self, path: str | Path) -> None:
        """Write the resolved config as indented JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Rebuild a config from :meth:`to_dict` output of this layout or of the flat one before the sections.

        Keys of the flat layout are renamed through :data:`~vireid_core.config.legacy.LEGACY_KEYS`; keys
        absent from ``data`` take their defaults (which reproduce the behaviour from before they existed).

        Raises:
            UserError: (a ``ValueError``) an unknown key, a value that does not fit, or a
                ``data.synthvi.height``/``width`` different from ``data.height``/``width``.
        """
        pairs = migrate(flatten(data))
        config = cls()
        set_values(config, [(key, value) for key, value in pairs if key not in DERIVED_KEYS])
        for key, value in pairs:
            if key in DERIVED_KEYS and value != get_value(config, DERIVED_KEYS[key]):
                source = DERIVED_KEYS[key]
                raise UserError(
                    f"config key {key!r}={value!r} differs from {source!r}={get_value(config, source)!r}:"
                    f" SynthVI draws its images at the run's image size; set {source} instead"
                )
        return validate(config)

    @classmethod
    def from_json(cls, path: str | Path) -> RunConfig:
        """Read a config written by :meth:`to_json` (either layout, see :meth:`from_dict`)."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise UserError(f"cannot read run config {path}: {err}") from err
        return cls.from_dict(data)


def _put(settings: dict[str, Any], key: str, value: Any) -> None:
    *sections, name = key.split(".")
    for section in sections:
        settings = settings[section]
    settings[name] = value


def stable_digest(payload: Any) -> str:
    """A 10-hex-digit SHA-256 of ``payload`` as sorted-key JSON: the cache key of data, weights and runs."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:10]


def run_digest(config: RunConfig) -> str:
    """The digest a cached run of ``config`` is named by (:func:`vireid_core.runs.run_dir_for`).

    It is the digest of the config in the flat layout from before the sections when that layout holds the
    same settings (every key of the sections' new parts at its default), so the runs cached before the
    sections keep their folder; else the digest of :meth:`RunConfig.to_dict`.
    """
    settings = config.to_dict()
    flat = flat_layout(settings)
    if RunConfig.from_dict(flat).to_dict() == settings:
        return stable_digest(flat)
    return stable_digest(settings)


def _locate(config: RunConfig, key: str) -> tuple[Any, str]:
    """(the section holding ``key``'s field, the field's name); raises ``UserError`` for unknown keys."""
    if key in LEGACY_KEYS:
        raise UserError(
            f"config key {key!r} was renamed to {' and '.join(map(repr, LEGACY_KEYS[key]))} (the "
            "table of renamed keys is vireid_core.config.legacy.LEGACY_KEYS)"
        )
    *path, name = key.split(".")
    target: Any = config
    for part in path:
        if not is_dataclass(target) or part not in {f.name for f in fields(target)}:
            raise UserError(f"unknown config key {key!r}")
        target = getattr(target, part)
    if not is_dataclass(target) or name not in {f.name for f in fields(target)}:
        raise UserError(f"unknown config key {key!r} (known: {', '.join(sorted(all_keys()))})")
    return target, name


def get_value(config: RunConfig, key: str) -> Any:
    """The value of dotted ``key`` (e.g. ``"global_clustering.eps"``) in ``config``.

    Raises:
        UserError: the key does not exist (or was renamed: the message names the new key).
    """
    target, name = _locate(config, key)
    return getattr(target, name)


def set_value(config: RunConfig, key: str, value: Any) -> None:
    """Set a dotted ``key`` (e.g. ``"global_clustering.eps"``) on ``config``: :func:`set_values` for one key."""
    set_values(config, [(key, value)])


def set_values(config: RunConfig, items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
    """Set dotted keys on ``config``.

    A value may be text (from the command line, converted to the field's type) or already typed. The keys
    of a frozen section (``data.synthvi``, ``neighbours``) are applied together, in one rebuild of the
    section, so its own checks see the final values.

    Raises:
        UserError: naming the key when it does not exist (or was renamed), is a section or follows another
            key, or when the value does not fit.
    """
    pending: dict[str, dict[str, Any]] = {}  # dotted name of a frozen section -> its changes
    for key, value in items.items() if isinstance(items, Mapping) else items:
        if key in DERIVED_KEYS:
            raise UserError(
                f"config key {key!r} follows {DERIVED_KEYS[key]!r} (SynthVI draws its images at the "
                f"run's image size); set {DERIVED_KEYS[key]} instead"
            )
        target, name = _locate(config, key)
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
        try:
            setattr(target, name, value)
        except dataclasses.FrozenInstanceError:  # rebuilt below, with the section's other changes
            pending.setdefault(key.rsplit(".", 1)[0], {})[name] = value
    for section, changes in pending.items():
        holder, attribute = _locate(config, section)
        setattr(holder, attribute, replace_section(getattr(holder, attribute), section, changes))


def all_keys(config: RunConfig | None = None) -> list[str]:
    """Every settable dotted key of a run config."""
    return [key for key, _ in flatten((config or RunConfig()).to_dict()) if key not in DERIVED_KEYS]


def replace(config: RunConfig, **changes: Any) -> RunConfig:
    """A copy of ``config`` with top-level fields replaced (dataclasses.replace, deep-copied)."""
    return dataclasses.replace(RunConfig.from_dict(config.to_dict()), **changes)


__all__ = ["RunConfig", "all_keys", "get_value", "replace", "run_digest", "set_value", "set_values", "stable_digest"]
