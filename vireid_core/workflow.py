"""The whole job, as the CLI and the notebooks run it: data → (pretraining) → engine → final evaluation.

``train_run`` is what ``python -m vireid_core train`` and ``demo`` call. SynthVI sets and
source-pretrained weights are cached under ``cache_dir`` (keyed by everything that decides them), so
notebooks and ablation runs share one generation and one pretraining.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vireid_core.config import RunConfig, stable_digest
from vireid_core.data import load_dataset
from vireid_core.data.dataset import ReIDDataset
from vireid_core.data.records import INFRARED, VISIBLE, Sample
from vireid_core.evaluation.report import mean_metrics
from vireid_core.learning.callbacks import Callback, MetricsJsonl
from vireid_core.learning.checkpoints import atomic_write_text, load_checkpoint, save_checkpoint
from vireid_core.learning.engine import Engine
from vireid_core.learning.setup import build_configured_model, resolve_device

DEFAULT_CACHE = Path("data_cache")


def synthvi_config(config: RunConfig):
    """The SynthVI generator config implied by ``config.data`` (size, identity counts, seed)."""
    from vireid_core.data.synthvi import SynthVIConfig

    d = config.data
    return SynthVIConfig(seed=d.synth_seed, n_train_ids=d.synth_train_ids, n_val_ids=d.synth_val_ids,
                         n_test_ids=d.synth_test_ids, n_source_ids=d.synth_source_ids, height=d.height,
                         width=d.width, visible_per_camera=d.synth_visible_per_camera,
                         infrared_per_camera=d.synth_infrared_per_camera)


def synthvi_root(config: RunConfig, cache_dir: str | Path = DEFAULT_CACHE) -> Path:
    """Where the SynthVI target set of ``config`` lives (``data.root`` if set, else in the cache)."""
    if config.data.root:
        return Path(config.data.root)
    return Path(cache_dir) / f"synthvi-sysu-{stable_digest(synthvi_config(config).to_dict())}"


def prepare_dataset(config: RunConfig, cache_dir: str | Path = DEFAULT_CACHE, *,
                    progress: bool = True) -> ReIDDataset:
    """Load the dataset ``config.data`` names; SynthVI is generated first (a no-op when present).

    Returns a :class:`ReIDDataset`. Raises ``ValueError``/``FileNotFoundError`` with the path for
    missing or malformed real datasets.
    """
    d = config.data
    if d.dataset == "synthvi":
        from vireid_core.data.synthvi import write_dataset

        root = write_dataset(synthvi_root(config, cache_dir), "sysu", synthvi_config(config),
                             progress=progress)
        return load_dataset("sysu", root)
    if not d.root:
        raise ValueError(f"config key 'data.root' is empty: give the folder of the {d.dataset!r} dataset "
                         "(--data-root DIR)")
    kwargs = {"trial": d.trial} if d.dataset == "regdb" else {}
    return load_dataset(d.dataset, d.root, **kwargs)


def source_samples(root: str | Path) -> list[Sample]:
    """Every image of a SynthVI source set (SYSU layout, all ids in training), with its identity label.

    Labelled source data for pretraining only; never the target set. Cameras 3 and 6 are infrared.
    """
    from vireid_core.data.layout import camera_folders, list_images, person_folders

    root = Path(root)
    samples = []
    for cam, cam_dir in camera_folders(root).items():
        modality = INFRARED if cam in (3, 6) else VISIBLE
        for pid, person_dir in person_folders(cam_dir).items():
            samples.extend(Sample(str(path), pid, cam, modality) for path in list_images(person_dir))
    if not samples:
        raise ValueError(f"{root}: no images found in cam*/<id>/ folders; expected a SynthVI source set")
    return samples


def prepare_model(config: RunConfig, cache_dir: str | Path = DEFAULT_CACHE, *,
                  progress: bool = True) -> torch.nn.Module:
    """The starting model: built from the config, then (if enabled) pretrained on the SynthVI source set.

    Source pretraining uses a disjoint, labelled set of SynthVI identities (never the target set); its
    result is cached in ``cache_dir`` keyed by the model, pretraining and source-set settings.
    """
    model = build_configured_model(config)
    if not config.pretrain.enabled:
        return model
    from vireid_core.data.synthvi import write_source_set
    from vireid_core.learning.pretrain import pretrain_on_source

    source_cfg = synthvi_config(config)
    settings = config.to_dict()
    key = stable_digest({"model": settings["model"], "pretrain": settings["pretrain"],
                   "source": source_cfg.to_dict(), "seed": config.seed})
    cached = Path(cache_dir) / f"pretrained-{key}.pt"
    if cached.is_file():
        model.load_state_dict(load_checkpoint(cached)["model"])
        return model
    source_root = write_source_set(Path(cache_dir) / f"synthvi-source-{stable_digest(source_cfg.to_dict())}",
                                   source_cfg, progress=progress)
    samples = source_samples(source_root)
    p = config.pretrain
    stats = pretrain_on_source(model, samples, iterations=p.iterations, batch_size=p.batch_size, lr=p.lr,
                               height=config.data.height, width=config.data.width, seed=config.seed,
                               device=resolve_device(config.device), progress=progress)
    model.cpu()
    save_checkpoint(cached, {"model": model.state_dict(), "pretrain_stats": stats})
    return model


@dataclass
class RunResult:
    """What a training run produced: per-epoch history and the final evaluation tables.

    ``evaluations`` maps a label such as ``"stage 2 (last epoch)"`` to ``{"all": metrics, "indoor":
    metrics}`` (fractions; SYSU-style protocols) or ``{"v2t": …, "t2v": …}`` (RegDB).
    """

    out_dir: Path | None
    history: list[dict[str, Any]]
    evaluations: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able view."""
        return {"out_dir": str(self.out_dir) if self.out_dir else None, "history": self.history,
                "evaluations": self.evaluations}


def evaluate_modes(model: torch.nn.Module, dataset: ReIDDataset, config: RunConfig, *, trials: int = 10,
                   selection: str = "last epoch", progress: bool = True) -> dict[str, dict[str, float]]:
    """Evaluate ``model`` in every setting of the dataset's protocol (SYSU: all and indoor search;
    RegDB and LLCM: both directions); returns setting key → mean metrics (fractions)."""
    from vireid_core.evaluation import evaluate

    device = resolve_device(config.device)
    model.to(device).eval()
    kwargs: dict[str, Any] = {"mode": ["all", "indoor"]} if dataset.protocol == "sysu" else {}
    report = evaluate(model, dataset, trials=range(trials), height=config.data.height, width=config.data.width,
                      device=device, progress=progress, checkpoint_selection=selection, **kwargs)
    return mean_metrics(report)


def train_run(config: RunConfig, out_dir: str | Path | None, *, resume: bool = False,
              callbacks: Sequence[Callback] = (), cache_dir: str | Path = DEFAULT_CACHE,
              progress: bool = True, final_trials: int = 10) -> RunResult:
    """Run the whole job and evaluate after each stage.

    Writes ``config.json``, ``metrics.jsonl``, checkpoints and ``results.json`` into ``out_dir`` (when
    given). With ``resume`` it continues from ``out_dir/last.pt``; the config must then match.
    """
    out = Path(out_dir) if out_dir is not None else None
    callbacks = list(callbacks)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        config_path = out / "config.json"
        if resume and config_path.is_file():
            saved = RunConfig.from_json(config_path)
            if saved.to_dict() != config.to_dict():
                raise ValueError(f"--resume: {config_path} differs from the requested config; resume with "
                                 "the same preset and --set values, or use a new --out folder")
        elif (out / "last.pt").exists() and not resume:
            raise ValueError(f"{out} already holds a run (last.pt); pass --resume to continue it or choose "
                             "a new --out folder")
        atomic_write_text(config_path, json.dumps(config.to_dict(), indent=2) + "\n")
        callbacks.append(MetricsJsonl(out / "metrics.jsonl"))
    dataset = prepare_dataset(config, cache_dir, progress=progress)
    model = prepare_model(config, cache_dir, progress=progress)
    engine = Engine(config, dataset, out_dir=out, callbacks=callbacks, model=model, progress=progress)
    if resume:
        engine.resume()
    engine.run()
    result = RunResult(out_dir=out, history=engine.history)
    selection = "last epoch" if config.schedule.checkpoint_selection == "last" else "best on test Rank-1"
    final_state = {k: v.detach().clone() for k, v in engine.model.state_dict().items()}
    if config.schedule.epochs_stage1 and config.schedule.epochs_stage2:
        stage1_state = engine.stage_states.get(1)
        if stage1_state is None and out is not None and (out / "stage1_last.pt").is_file():
            stage1_state = load_checkpoint(out / "stage1_last.pt")["model"]
        if stage1_state is not None:
            engine.model.load_state_dict(stage1_state)
            result.evaluations["stage 1"] = evaluate_modes(engine.model, dataset, config, trials=final_trials,
                                                           selection=selection, progress=progress)
    engine.model.load_state_dict(final_state)
    final_stage = 2 if config.schedule.epochs_stage2 else 1
    if config.schedule.checkpoint_selection == "best" and out is not None:
        best = out / f"best_stage{final_stage}.pt"
        if best.is_file():
            engine.model.load_state_dict(load_checkpoint(best)["model"])
    result.evaluations[f"stage {final_stage}"] = evaluate_modes(
        engine.model, dataset, config, trials=final_trials, selection=selection, progress=progress)
    result.evaluations["selection"] = {"checkpoint": selection}  # type: ignore[assignment]
    if out is not None:
        atomic_write_text(out / "results.json", json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def results_table(evaluations: dict[str, Any]) -> str:
    """A plain-text table of Rank-1 / Rank-10 / mAP / mINP (percent) per stage and mode."""
    lines = [f"{'model':<22}{'mode':<12}{'Rank-1':>8}{'Rank-10':>9}{'mAP':>8}{'mINP':>8}"]
    for label, modes in evaluations.items():
        if label == "selection":
            continue
        for mode, m in modes.items():
            lines.append(f"{label:<22}{mode:<12}{100 * m['rank1']:>8.2f}{100 * m.get('rank10', 0.0):>9.2f}"
                         f"{100 * m['mAP']:>8.2f}{100 * m['mINP']:>8.2f}")
    selection = evaluations.get("selection", {}).get("checkpoint")
    if selection:
        lines.append(f"(checkpoint chosen by: {selection})")
    return "\n".join(lines)
