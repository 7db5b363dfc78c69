"""Trained runs the notebooks share: one cached SynthVI run per config, checkpoints, the ablation.

The teaching notebooks need a trained model but must not train four times. ``cached_run`` trains a
preset once into ``<cache_dir>/runs/<preset>-<config hash>`` through :func:`vireid_core.workflow.train_run`
and afterwards only loads its checkpoints and ``results.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vireid_core.config import RunConfig, get_preset, set_value, stable_digest
from vireid_core.data.dataset import ReIDDataset
from vireid_core.errors import UserError
from vireid_core.learning.checkpoints import atomic_write_text, load_model_weights, model_state_from_checkpoint
from vireid_core.shipped import find_shipped


def config_digest(config: RunConfig) -> str:
    """A 10-hex-digit hash of everything in ``config`` (the cache key of a run)."""
    return stable_digest(config.to_dict())


def run_dir_for(config: RunConfig, cache_dir: str | Path) -> Path:
    """``<cache_dir>/runs/<preset>-<hash>``: where :func:`cached_run` keeps the run of ``config``."""
    name = config.preset.replace(":", "-").replace("/", "-")
    return Path(cache_dir) / "runs" / f"{name}-{config_digest(config)}"


def load_model(config: RunConfig, checkpoint: str | Path) -> torch.nn.Module:
    """The model of ``config`` with weights from ``checkpoint`` (a vireid checkpoint or a bare
    state dict), in eval mode on the CPU. Raises FileNotFoundError / ValueError naming the file."""
    from vireid_core.learning.setup import build_configured_model

    model = build_configured_model(config)
    state, _ = model_state_from_checkpoint(checkpoint)
    load_model_weights(model, state, f"checkpoint {checkpoint} (for preset {config.preset!r}: "
                                     f"{config.model.arch}, width {config.model.width_multiplier})")
    return model.eval()


@dataclass
class CachedRun:
    """A finished training run and what the notebooks need from it.

    Attributes:
        config: the run's config.
        dataset: its (SynthVI) dataset.
        model: the final model (last stage, last epoch), eval mode, CPU.
        result: the run's :class:`~vireid_core.workflow.RunResult` (history and evaluations).
        run_dir: the folder holding ``stage1_last.pt``, ``stage2_last.pt``, ``results.json``.
        trained_now: True when this call trained the run, False when it was loaded.
        shipped: True when the models are the shipped ones (``models/synthvi/``), not a run in the cache.
    """

    config: RunConfig
    dataset: ReIDDataset
    model: torch.nn.Module
    result: Any
    run_dir: Path
    trained_now: bool
    shipped: bool = False

    def stage_model(self, stage: int) -> torch.nn.Module:
        """A fresh model with the weights at the end of ``stage`` (1 or 2), eval mode."""
        path = self.run_dir / f"stage{stage}_last.pt"
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: the run has no stage {stage} "
                                    f"(epochs: {self.config.schedule.epochs_stage1}, "
                                    f"{self.config.schedule.epochs_stage2})")
        return load_model(self.config, path)


def cached_run(preset: str | RunConfig, cache_dir: str | Path = "data_cache",
               overrides: dict[str, Any] | None = None, *, progress: bool = False,
               final_trials: int = 10, train: bool = True) -> CachedRun:
    """The trained run of ``preset`` (with ``overrides``) that the notebooks analyse.

    ``train=False`` (the notebooks' default, ``train_fresh = False``): the models shipped in
    ``models/synthvi/`` when they were trained with exactly this config (:func:`vireid_core.shipped.
    find_shipped`), else a run already trained into the cache; never starts a training — raises
    :class:`~vireid_core.errors.UserError` saying how to get one when there is neither.
    ``train=True``: your own run in :func:`run_dir_for`: the first call runs
    :func:`~vireid_core.workflow.train_run` there (resuming an interrupted run), later calls only load
    ``results.json`` and the checkpoints. Returns a :class:`CachedRun`.
    """
    from vireid_core.workflow import RunResult, prepare_dataset, train_run

    if isinstance(preset, RunConfig):
        config = RunConfig.from_dict(preset.to_dict())
        for key, value in (overrides or {}).items():
            set_value(config, key, value)
    else:
        config = get_preset(preset, overrides)
    run_dir = run_dir_for(config, cache_dir)
    shipped = None if train else find_shipped(config)
    if shipped is not None:
        run_dir = shipped
    results = run_dir / "results.json"
    trained_now = not results.is_file()
    if trained_now and not train:
        raise UserError(f"no trained run of preset {config.preset!r} with these settings: neither shipped "
                        f"models (models/synthvi/) nor a run in {run_dir}; set train_fresh = True (train=True) "
                        "to train one into the cache, or use the preset's default settings")
    if trained_now:
        result = train_run(config, run_dir, resume=(run_dir / "last.pt").is_file(), cache_dir=cache_dir,
                           progress=progress, final_trials=final_trials)
    else:
        saved = json.loads(results.read_text())
        result = RunResult(out_dir=run_dir, history=saved["history"], evaluations=saved["evaluations"])
    dataset = prepare_dataset(config, cache_dir, progress=progress)
    final_stage = 2 if config.schedule.epochs_stage2 else 1
    model = load_model(config, run_dir / f"stage{final_stage}_last.pt")
    return CachedRun(config, dataset, model, result, run_dir, trained_now, shipped=shipped is not None)


def cached_ablation(preset: str, names: Sequence[str], out: str | Path, *, seeds: int | Sequence[int] = 1,
                    cache_dir: str | Path = "data_cache", overrides: dict[str, Any] | None = None,
                    final_trials: int = 10, progress: bool = False) -> dict[str, Any]:
    """The M1–M6 ablation (:func:`vireid_core.ablation.run_ablation`) with SynthVI and pretrained
    weights taken from ``cache_dir``.

    ``run_ablation`` itself uses the default cache folder; this wrapper first trains every missing
    ``out/<name>/seed<k>`` run with ``cache_dir`` (and ``final_trials``), then lets ``run_ablation``
    aggregate them. Returns its summary (``table``, ``aggregate``, ``runs``).
    """
    from vireid_core.ablation import run_ablation, seed_list
    from vireid_core.workflow import train_run

    out = Path(out)
    for seed in seed_list(seeds):
        for name in names:
            run_dir = out / name / f"seed{seed}"
            if not (run_dir / "results.json").is_file():
                config = get_preset(f"{preset}:{name}", {**(overrides or {}), "seed": seed})
                train_run(config, run_dir, resume=(run_dir / "last.pt").is_file(), cache_dir=cache_dir,
                          progress=progress, final_trials=final_trials)
    return run_ablation(preset, list(names), seeds, out, overrides=overrides, progress=progress,
                        cache_dir=cache_dir)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_numbers(path: str | Path, numbers: dict[str, Any]) -> Path:
    """Write the numbers a notebook reports as indented JSON (numpy scalars converted, NaN → null).

    Returns the path. These files are what the notebook tests assert on.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(_plain(numbers), indent=2, sort_keys=True) + "\n")
    return path


def synthvi_regdb(config: RunConfig, cache_dir: str | Path = "data_cache", *, n_ids: int = 60, trial: int = 1,
                  progress: bool = False) -> ReIDDataset:
    """A SynthVI set in the RegDB layout (``n_ids`` persons, 10 visible + 10 thermal images each), drawn
    with the SynthVI settings of ``config``, written once into ``cache_dir`` and loaded for ``trial``.

    Returns a :class:`ReIDDataset` with protocol "regdb" (evaluated in both directions).
    """
    from vireid_core.data import load_dataset
    from vireid_core.data.synthvi import write_dataset
    from vireid_core.workflow import synthvi_config

    if n_ids < 4:
        raise ValueError(f"n_ids must be at least 4 (RegDB splits persons into train and test), got {n_ids}")
    synth = synthvi_config(config).with_(regdb_n_ids=int(n_ids))
    key = stable_digest(synth.to_dict())
    root = write_dataset(Path(cache_dir) / f"synthvi-regdb-{key}", "regdb", synth, progress=progress)
    return load_dataset("regdb", root, trial=trial)
