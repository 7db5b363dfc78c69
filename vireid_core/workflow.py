"""The whole job, as the CLI and the notebooks run it: data → (pretraining) → engine → final evaluation.

``train_run`` is what ``python -m vireid_core train`` and ``demo`` call. SynthVI sets and
source-pretrained weights are cached under ``cache_dir`` (keyed by everything that decides them), so
notebooks and ablation runs share one generation and one pretraining.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vireid_core.compute import plan_for_config
from vireid_core.config import RunConfig, stable_digest
from vireid_core.data import load_dataset
from vireid_core.data.dataset import ReIDDataset
from vireid_core.data.records import INFRARED, VISIBLE, Sample
from vireid_core.errors import UserError
from vireid_core.evaluation.report import mean_metrics
from vireid_core.learning import distributed as dist
from vireid_core.learning.callbacks import Callback, MetricsJsonl
from vireid_core.learning.checkpoints import atomic_write_text, load_checkpoint, load_model_weights, save_checkpoint
from vireid_core.learning.engine import Engine
from vireid_core.learning.setup import build_configured_model, resolve_device
from vireid_core.run_dir import RunDir

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


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


def _synthvi_target(config: RunConfig, cache_dir: str | Path, progress: bool,
                    notify: Callable[[str], None]) -> Path:
    """The SynthVI folder to train on, generated only where vireid may write.

    Without ``data.root`` the set lives in the cache (generated once). A ``data.root`` the user gave is
    read-only: it is generated into only when it is missing or empty, or to finish a generation vireid
    itself started there with the same settings; a folder holding anything else is read as it is.
    """
    from vireid_core.data.synthvi import write_dataset
    from vireid_core.data.synthvi.manifest import manifest_key, read_manifest

    synth = synthvi_config(config)
    root = synthvi_root(config, cache_dir)
    if not config.data.root or not root.exists() or (root.is_dir() and not any(root.iterdir())):
        return write_dataset(root, "sysu", synth, progress=progress)
    manifest = read_manifest(root) if root.is_dir() else None
    if manifest is None:
        return root
    expected = manifest_key("sysu", synth)
    same = {k: manifest.get(k) for k in expected} == expected
    if not manifest.get("complete"):
        if same:
            return write_dataset(root, "sysu", synth, progress=progress)
        raise UserError(f"{root}: holds an interrupted SynthVI generation with other settings; finish it with the "
                        "'synth' command that started it, or pass a complete dataset folder as --data-root")
    if not same:
        notify(f"note: {root} holds a SynthVI set written with other settings than this config's data.synth_* "
               "keys; training on the folder as it is (vireid never rewrites a --data-root)")
    return root


def prepare_dataset(config: RunConfig, cache_dir: str | Path = DEFAULT_CACHE, *, progress: bool = True,
                    notify: Callable[[str], None] = _stderr) -> ReIDDataset:
    """Load the dataset ``config.data`` names; SynthVI is generated first when vireid may write it.

    ``data.root`` is never modified (see :func:`_synthvi_target`); ``notify`` receives notes about it.
    Returns a :class:`ReIDDataset`. Raises :class:`~vireid_core.errors.UserError` (path variants are
    also ``FileNotFoundError``) naming the path for missing or malformed datasets.
    """
    d = config.data
    if d.dataset == "synthvi":
        return load_dataset("sysu", _synthvi_target(config, cache_dir, progress, notify))
    if not d.root:
        raise UserError(f"config key 'data.root' is empty: give the folder of the {d.dataset!r} dataset "
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
        raise UserError(f"{root}: no images found in cam*/<id>/ folders; expected a SynthVI source set")
    return samples


def pretrained_cache_path(config: RunConfig, cache_dir: str | Path = DEFAULT_CACHE) -> Path:
    """Where the source-pretrained start of ``config`` is cached: keyed by the model, pretraining and
    source-set settings and the seed."""
    settings = config.to_dict()
    pretrain = dict(settings["pretrain"])
    # Keys added after starts were first cached and shipped, dropped at the value that reproduces the
    # earlier pretraining, so those starts keep their key.
    for key, earlier in (("modalities", "both"), ("channel_aug", 0.0)):
        if pretrain.get(key) == earlier:
            pretrain.pop(key)
    key = stable_digest({"model": settings["model"], "pretrain": pretrain,
                         "source": synthvi_config(config).to_dict(), "seed": config.seed})
    return Path(cache_dir) / f"pretrained-{key}.pt"


def prepare_model(config: RunConfig, cache_dir: str | Path = DEFAULT_CACHE, *,
                  progress: bool = True, use_shipped: bool = True) -> torch.nn.Module:
    """The starting model: built from the config, then (if enabled) pretrained on the SynthVI source set.

    Source pretraining uses a disjoint, labelled set of SynthVI identities (never the target set), in
    both modalities or visible only (``pretrain.modalities``, :mod:`vireid_core.learning.starts`); its
    result is cached in ``cache_dir`` keyed by the model, pretraining and source-set settings. When the
    cache has none and ``use_shipped``, the shipped start of the same settings (``models/synthvi/``)
    is used instead of pretraining; ``train_run`` passes ``use_shipped=False`` so a training run
    retrains its start unless the cache has it.
    """
    model = build_configured_model(config)
    if not config.pretrain.enabled:
        return model
    from vireid_core.data.synthvi import write_source_set
    from vireid_core.learning.starts import pretrain_start
    from vireid_core.shipped import shipped_start

    source_cfg = synthvi_config(config)
    cached = pretrained_cache_path(config, cache_dir)
    if not cached.is_file() and use_shipped:
        cached = shipped_start(config) or cached
    if cached.is_file():
        return load_model_weights(model, load_checkpoint(cached)["model"], f"pretrained weights {cached}")
    source_root = write_source_set(Path(cache_dir) / f"synthvi-source-{stable_digest(source_cfg.to_dict())}",
                                   source_cfg, progress=progress)
    device = resolve_device(config.device)
    # which source images and augmentations: config.pretrain.modalities / channel_aug (learning/starts.py)
    stats = pretrain_start(model, source_samples(source_root), config, device=device, progress=progress,
                           plan=plan_for_config(config, device))
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
                      device=device, progress=progress, checkpoint_selection=selection,
                      plan=plan_for_config(config, device), **kwargs)
    return mean_metrics(report)


def train_run(config: RunConfig, out_dir: str | Path | None, *, resume: bool = False,
              callbacks: Sequence[Callback] = (), cache_dir: str | Path = DEFAULT_CACHE,
              progress: bool = True, final_trials: int = 10) -> RunResult:
    """Run the whole job and evaluate after each stage.

    Writes ``config.json``, ``metrics.jsonl``, checkpoints and ``results.json`` into ``out_dir`` (when
    given), holding its lock meanwhile (a second writer is refused). With ``resume`` it continues from
    ``out_dir/last.pt``; the config must equal the one the run was trained with. Returns the
    :class:`RunResult`.
    """
    callbacks = list(callbacks)

    def notify(text: str) -> None:
        if dist.is_main():
            for callback in callbacks:
                callback.on_message(text)

    if out_dir is None:
        return _train_and_evaluate(config, None, resume, callbacks, notify, cache_dir, progress, final_trials)
    run = RunDir(out_dir)
    run.check_writable()
    with run.owned(notify, lock=dist.is_main()):
        run.check_start(config, resume)
        if dist.is_main():
            run.write_config(config)
        callbacks.append(MetricsJsonl(run.metrics))
        return _train_and_evaluate(config, run, resume, callbacks, notify, cache_dir, progress, final_trials)


def _train_and_evaluate(config: RunConfig, run: RunDir | None, resume: bool, callbacks: list[Callback],
                        notify: Callable[[str], None], cache_dir: str | Path, progress: bool,
                        final_trials: int) -> RunResult:
    """Data, starting model, engine, then the final evaluations (labelled by the checkpoint used)."""
    dataset = prepare_dataset(config, cache_dir, progress=progress, notify=notify)
    model = prepare_model(config, cache_dir, progress=progress, use_shipped=False)
    engine = Engine(config, dataset, out_dir=run.path if run else None, callbacks=callbacks, model=model,
                    progress=progress)
    if resume:
        engine.resume()
    engine.run()
    result = RunResult(out_dir=run.path if run else None, history=engine.history)
    s = config.schedule
    selections: dict[str, str] = {}

    def evaluate_as(label: str, selection: str) -> None:
        selections[label] = selection
        result.evaluations[label] = evaluate_modes(engine.model, dataset, config, trials=final_trials,
                                                   selection=selection, progress=progress)

    if not s.epochs_stage1 and not s.epochs_stage2:
        evaluate_as("starting model (0 epochs)", "starting weights, never trained (0 epochs in both stages)")
    else:
        final_state = {k: v.detach().clone() for k, v in engine.model.state_dict().items()}
        if s.epochs_stage1 and s.epochs_stage2:
            stage1_state = engine.stage_states.get(1)
            if stage1_state is None and run is not None and run.stage_last(1).is_file():
                stage1_state = load_checkpoint(run.stage_last(1))["model"]
            if stage1_state is not None:
                engine.model.load_state_dict(stage1_state)
                evaluate_as("stage 1", "last epoch of stage 1")
        engine.model.load_state_dict(final_state)
        final_stage = 2 if s.epochs_stage2 else 1
        evaluate_as(f"stage {final_stage}", _final_selection(engine.model, config, run, final_stage, notify))
    result.evaluations["selection"] = {"checkpoint": next(reversed(selections.values())),  # type: ignore[assignment]
                                       **selections}
    if run is not None and dist.is_main():
        atomic_write_text(run.results, json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def _final_selection(model: torch.nn.Module, config: RunConfig, run: RunDir | None, stage: int,
                     notify: Callable[[str], None]) -> str:
    """Load the checkpoint ``schedule.checkpoint_selection`` asks for into ``model``; returns its label.

    ``best`` without a ``best_stage{n}.pt`` (nothing was evaluated during training) keeps the last
    epoch and says so in the label and in a message, instead of calling it the best.
    """
    if config.schedule.checkpoint_selection != "best":
        return "last epoch"
    best = run.best(stage) if run is not None else None
    if best is not None and best.is_file():
        state = load_checkpoint(best)
        load_model_weights(model, state["model"], f"checkpoint {best}")
        return f"best on test Rank-1 (stage {stage}, epoch {state.get('epoch')}, {best.name})"
    reason = ("no run folder to keep it in" if best is None else
              f"no {best.name}: nothing was evaluated during stage {stage} (schedule.eval_every=0)")
    notify(f"checkpoint_selection=best, but {reason}; the final numbers are those of the last epoch")
    return f"last epoch (checkpoint_selection=best, but {reason})"


def results_table(evaluations: dict[str, Any]) -> str:
    """A plain-text table of Rank-1 / Rank-10 / mAP / mINP (percent) per stage and mode, followed by
    the checkpoint each row's numbers come from."""
    lines = [f"{'model':<22}{'mode':<12}{'Rank-1':>8}{'Rank-10':>9}{'mAP':>8}{'mINP':>8}"]
    for label, modes in evaluations.items():
        if label == "selection":
            continue
        for mode, m in modes.items():
            lines.append(f"{label:<22}{mode:<12}{100 * m['rank1']:>8.2f}{100 * m.get('rank10', 0.0):>9.2f}"
                         f"{100 * m['mAP']:>8.2f}{100 * m['mINP']:>8.2f}")
    selection = dict(evaluations.get("selection", {}))
    per_label = {k: v for k, v in selection.items() if k != "checkpoint"}
    if per_label:
        lines += [f"({label}: {text})" for label, text in per_label.items()]
    elif selection.get("checkpoint"):
        lines.append(f"(checkpoint chosen by: {selection['checkpoint']})")
    return "\n".join(lines)
