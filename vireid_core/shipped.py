"""Shipped SynthVI checkpoints: the trained models the notebooks and the README analyse, in the repository.

A fresh clone should not have to train for twenty minutes before a notebook can run. ``models/synthvi/
<preset>/`` holds, for one preset, what the notebooks read from a trained run:

* ``start.pt`` (the source-pretrained start), ``stage1_last.pt`` and ``stage2_last.pt``: weights only,
  with the run's config and the weights' digest (checked on load). Convolution and linear weights are
  stored in float16 (a few MB per file), BatchNorm parameters and statistics in float32;
* ``results.json``: the run's per-epoch history and final evaluations, as a run folder holds it;
* ``manifest.json``: the config digest, seed, code version, file digests, and the metrics the shipped
  weights give (SYSU protocol, all and indoor search, 10 trials, float32 extraction). The test suite
  re-evaluates the weights and compares with these metrics.

:func:`write_shipped` (``make checkpoints`` = ``python -m vireid_core checkpoints``, which first
trains the preset into the cache or reuses the cached run) writes the folder;
:meth:`vireid_core.run_dir.ShippedDir.find` finds the folder matching a config (its file names live
in :class:`~vireid_core.run_dir.ShippedDir`).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import torch

from vireid_core.compute import compute_plan
from vireid_core.config import RunConfig, stable_digest
from vireid_core.data.synthvi.config import GENERATOR_VERSION
from vireid_core.errors import UserError
from vireid_core.learning.checkpoints import atomic_write_text, load_checkpoint, save_checkpoint
from vireid_core.run_dir import SHIPPED_ROOT, RunDir, ShippedDir
from vireid_core.workflow import (
    DEFAULT_CACHE,
    evaluate_run,
    load_model,
    prepare_dataset,
    prepare_model,
    pretrained_cache_path,
)

MANIFEST_TRIALS = 10


def _compact(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Convolution/linear weights (>= 2-d float tensors) as float16, everything else unchanged."""
    return {
        k: v.detach().cpu().contiguous().to(torch.float16)
        if v.is_floating_point() and v.dim() >= 2
        else v.detach().cpu().contiguous()
        for k, v in state.items()
    }


def _code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=SHIPPED_ROOT.parent.parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _file_sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def evaluate_shipped(
    config: RunConfig, folder: str | Path, dataset: Any, *, trials: int = MANIFEST_TRIALS, progress: bool = False
) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics of the shipped models in ``folder`` (start, stage 1, stage 2) on ``dataset``: label →
    search mode → mean metrics (fractions), extracted in float32 (channels first) on the CPU so any
    machine reproduces them."""
    shipped = ShippedDir(folder)
    plan = compute_plan("cpu", "fp32", channels_last=False)
    files = {"start": shipped.start, "stage 1": shipped.stage_last(1), "stage 2": shipped.stage_last(2)}
    return {
        label: evaluate_run(
            load_model(config, path),
            dataset,
            config,
            trials=trials,
            device="cpu",
            plan=plan,
            selection=f"shipped {path.name}",
            progress=progress,
        )
        for label, path in files.items()
        if path.is_file()
    }


def write_shipped(
    config: RunConfig,
    run_dir: str | Path,
    cache_dir: str | Path = DEFAULT_CACHE,
    root: str | Path = SHIPPED_ROOT,
    *,
    progress: bool = True,
) -> Path:
    """Write the shipped folder of ``config`` from its finished run in ``run_dir`` and its cached start
    (weights, results, a manifest with the metrics the shipped weights give). Returns the folder."""
    source = RunDir(run_dir)
    if not source.results.is_file():
        raise UserError(f"{source.results} is missing: {run_dir} holds no finished run to ship")
    folder = ShippedDir.of_preset(config.preset, root).path
    staging = ShippedDir(folder.with_name(folder.name + ".writing"))
    shutil.rmtree(staging.path, ignore_errors=True)
    staging.path.mkdir(parents=True)
    start_path = pretrained_cache_path(config, cache_dir)
    if config.pretrain.enabled and not start_path.is_file():
        prepare_model(config, cache_dir, progress=progress, use_shipped=False)
    weights = {staging.start: start_path} if config.pretrain.enabled else {}
    for stage in (1, 2):
        if source.stage_last(stage).is_file():
            weights[staging.stage_last(stage)] = source.stage_last(stage)
    for target, path in weights.items():
        state = load_checkpoint(path)
        save_checkpoint(
            target,
            {
                "model": _compact(state["model"]),
                "config": config.to_dict(),
                "selection": state.get("selection", "source-pretrained start"),
            },
        )
    shutil.copyfile(source.results, staging.results)
    dataset = prepare_dataset(config, cache_dir, progress=progress)
    manifest = {
        "preset": config.preset,
        "config_digest": stable_digest(config.to_dict()),
        "start_key": start_path.name if config.pretrain.enabled else None,
        "seed": config.seed,
        "synthvi_generator": GENERATOR_VERSION if config.data.dataset == "synthvi" else None,
        "code_version": _code_version(),
        "written": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "evaluation": {
            "protocol": "sysu",
            "modes": ["all", "indoor"],
            "trials": MANIFEST_TRIALS,
            "extraction": "cpu float32, channels first",
            "weights": "as shipped (float16 conv weights)",
        },
        "files": {target.name: _file_sha256(target) for target in sorted(weights)},
        "metrics": evaluate_shipped(config, staging.path, dataset, progress=progress),
        "config": config.to_dict(),
    }
    atomic_write_text(staging.manifest, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    if folder.exists():
        shutil.rmtree(folder)
    staging.path.rename(folder)
    return folder


def compare_with_shipped(config: RunConfig, evaluations: dict[str, Any], root: str | Path = SHIPPED_ROOT) -> str:
    """Lines comparing a fresh run's final evaluations with the shipped models' manifest metrics
    (Rank-1 and mAP in %, all and indoor search), or a line saying why there is nothing to compare."""
    shipped = ShippedDir.of_preset(config.preset, root)
    manifest = shipped.read_manifest()
    if manifest is None:
        return f"no shipped models for preset {config.preset!r} to compare with ({shipped.path})"
    note = "" if ShippedDir.find(config, root) is not None else " (NOTE: shipped with different settings)"
    lines = [
        f"compared with the shipped models ({shipped.path}, code {manifest.get('code_version')}){note}:",
        f"{'model':<10}{'mode':<8}{'R1 now':>8}{'shipped':>9}{'mAP now':>9}{'shipped':>9}",
    ]
    for label in ("stage 1", "stage 2"):
        mine = next((v for k, v in evaluations.items() if k.startswith(label)), None)
        theirs = manifest["metrics"].get(label)
        if not mine or not theirs:
            continue
        for mode in ("all", "indoor"):
            if mode in mine and mode in theirs:
                a, b = mine[mode], theirs[mode]
                lines.append(
                    f"{label:<10}{mode:<8}{100 * a['rank1']:>8.2f}{100 * b['rank1']:>9.2f}"
                    f"{100 * a['mAP']:>9.2f}{100 * b['mAP']:>9.2f}"
                )
    lines.append(
        "(same seed and settings; runs on other hardware differ by float rounding, which training "
        "amplifies: compare with the seed spread in docs/training.md)"
    )
    return "\n".join(lines)
