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
trains the preset into the cache or reuses the cached run) writes the folder; :func:`find_shipped`
finds the folder matching a config.
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
from vireid_core.errors import UserError
from vireid_core.evaluation import evaluate
from vireid_core.evaluation.report import mean_metrics
from vireid_core.learning.checkpoints import atomic_write_text, load_checkpoint, load_model_weights, save_checkpoint
from vireid_core.learning.setup import build_configured_model
from vireid_core.run_dir import RunDir
from vireid_core.workflow import prepare_dataset, prepare_model, pretrained_cache_path

SHIPPED_ROOT = Path(__file__).resolve().parent.parent / "models" / "synthvi"
MANIFEST = "manifest.json"
START = "start.pt"
MANIFEST_TRIALS = 10


def shipped_dir(preset: str, root: str | Path = SHIPPED_ROOT) -> Path:
    """``<root>/<preset>``: where the shipped models of ``preset`` live (":" and "/" become "-")."""
    return Path(root) / preset.replace(":", "-").replace("/", "-")


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of a shipped folder, or None when the folder has none."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def _stored_config(manifest: dict[str, Any]) -> RunConfig | None:
    """The manifest's config read back through today's :class:`RunConfig` (keys added to the config
    since it was written take their defaults), or None when it no longer reads."""
    try:
        return RunConfig.from_dict(manifest["config"])
    except (KeyError, ValueError):
        return None


def find_shipped(config: RunConfig, root: str | Path = SHIPPED_ROOT) -> Path | None:
    """The shipped folder whose models were trained with exactly ``config``, or None (no folder for the
    preset, or trained with other settings). Config keys added after the models were written count as
    equal when ``config`` holds their default."""
    folder = shipped_dir(config.preset, root)
    manifest = read_manifest(folder)
    stored = _stored_config(manifest) if manifest else None
    if stored is None or stored.to_dict() != config.to_dict():
        return None
    return folder


def shipped_start(config: RunConfig, root: str | Path = SHIPPED_ROOT) -> Path | None:
    """The shipped ``start.pt`` pretrained with the settings that decide ``config``'s start (model,
    pretraining, source set, seed: :func:`vireid_core.workflow.pretrained_cache_path`), or None."""
    folder = shipped_dir(config.preset, root)
    manifest = read_manifest(folder)
    stored = _stored_config(manifest) if manifest else None
    if stored is None or not (folder / START).is_file() or not config.pretrain.enabled:
        return None
    if pretrained_cache_path(stored).name != pretrained_cache_path(config).name:
        return None
    return folder / START


def _compact(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Convolution/linear weights (>= 2-d float tensors) as float16, everything else unchanged."""
    return {k: v.detach().cpu().contiguous().to(torch.float16) if v.is_floating_point() and v.dim() >= 2
            else v.detach().cpu().contiguous() for k, v in state.items()}


def _code_version() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=SHIPPED_ROOT.parent.parent,
                             capture_output=True, text=True, timeout=10, check=False)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _file_sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def evaluate_shipped(config: RunConfig, folder: str | Path, dataset: Any, *, trials: int = MANIFEST_TRIALS,
                     progress: bool = False) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics of the shipped models in ``folder`` (start, stage 1, stage 2) on ``dataset``: label →
    search mode → mean metrics (fractions), extracted in float32 (channels first) on the CPU so any
    machine reproduces them."""
    folder = Path(folder)
    run = RunDir(folder)
    plan = compute_plan("cpu", "fp32", channels_last=False)
    files = {"start": folder / START, "stage 1": run.stage_last(1), "stage 2": run.stage_last(2)}
    metrics = {}
    for label, path in files.items():
        if not path.is_file():
            continue
        model = load_model_weights(build_configured_model(config), load_checkpoint(path)["model"], str(path)).eval()
        report = evaluate(model, dataset, mode=["all", "indoor"], trials=range(trials), height=config.data.height,
                          width=config.data.width, device="cpu", progress=progress, plan=plan,
                          checkpoint_selection=f"shipped {path.name}")
        metrics[label] = mean_metrics(report)
    return metrics


def write_shipped(config: RunConfig, run_dir: str | Path, cache_dir: str | Path = "data_cache",
                  root: str | Path = SHIPPED_ROOT, *, progress: bool = True) -> Path:
    """Write the shipped folder of ``config`` from its finished run in ``run_dir`` and its cached start
    (weights, results, a manifest with the metrics the shipped weights give). Returns the folder."""
    source = RunDir(run_dir)
    if not source.results.is_file():
        raise UserError(f"{source.results} is missing: {run_dir} holds no finished run to ship")
    folder = shipped_dir(config.preset, root)
    staging = folder.with_name(folder.name + ".writing")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    start_path = pretrained_cache_path(config, cache_dir)
    if config.pretrain.enabled and not start_path.is_file():
        prepare_model(config, cache_dir, progress=progress, use_shipped=False)
    weights = {START: start_path} if config.pretrain.enabled else {}
    for stage in (1, 2):
        if source.stage_last(stage).is_file():
            weights[source.stage_last(stage).name] = source.stage_last(stage)
    for name, path in weights.items():
        state = load_checkpoint(path)
        save_checkpoint(staging / name, {"model": _compact(state["model"]), "config": config.to_dict(),
                                         "selection": state.get("selection", "source-pretrained start")})
    shutil.copyfile(source.results, staging / source.results.name)
    dataset = prepare_dataset(config, cache_dir, progress=progress)
    manifest = {
        "preset": config.preset,
        "config_digest": stable_digest(config.to_dict()),
        "start_key": start_path.name if config.pretrain.enabled else None,
        "seed": config.seed,
        "code_version": _code_version(),
        "written": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "evaluation": {"protocol": "sysu", "modes": ["all", "indoor"], "trials": MANIFEST_TRIALS,
                       "extraction": "cpu float32, channels first", "weights": "as shipped (float16 conv weights)"},
        "files": {name: _file_sha256(staging / name) for name in sorted(weights)},
        "metrics": evaluate_shipped(config, staging, dataset, progress=progress),
        "config": config.to_dict(),
    }
    atomic_write_text(staging / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return folder


def compare_with_shipped(config: RunConfig, evaluations: dict[str, Any], root: str | Path = SHIPPED_ROOT) -> str:
    """Lines comparing a fresh run's final evaluations with the shipped models' manifest metrics
    (Rank-1 and mAP in %, all and indoor search), or a line saying why there is nothing to compare."""
    folder = shipped_dir(config.preset, root)
    manifest = read_manifest(folder)
    if manifest is None:
        return f"no shipped models for preset {config.preset!r} to compare with ({folder})"
    note = "" if find_shipped(config, root) is not None else " (NOTE: shipped with different settings)"
    lines = [f"compared with the shipped models ({folder}, code {manifest.get('code_version')}){note}:",
             f"{'model':<10}{'mode':<8}{'R1 now':>8}{'shipped':>9}{'mAP now':>9}{'shipped':>9}"]
    for label in ("stage 1", "stage 2"):
        mine = next((v for k, v in evaluations.items() if k.startswith(label)), None)
        theirs = manifest["metrics"].get(label)
        if not mine or not theirs:
            continue
        for mode in ("all", "indoor"):
            if mode in mine and mode in theirs:
                a, b = mine[mode], theirs[mode]
                lines.append(f"{label:<10}{mode:<8}{100 * a['rank1']:>8.2f}{100 * b['rank1']:>9.2f}"
                             f"{100 * a['mAP']:>9.2f}{100 * b['mAP']:>9.2f}")
    lines.append("(same seed and settings; runs on other hardware differ by float rounding, which training "
                 "amplifies: compare with the seed spread in docs/training.md)")
    return "\n".join(lines)
