"""Whole runs, the one home of a run: training, the ablation over seeds and the cached run the notebooks share.

* :func:`train_run`: data → start → both stages (:class:`~vireid_core.learning.engine.Engine`) → the final
  evaluation of each stage, written into a run folder (:class:`~vireid_core.run_dir.RunDir`). This is
  what ``python -m vireid_core train`` and ``demo`` call.
* :func:`run_ablation`: every ladder row (M1–M6 and the reference rows) for each seed, then the summary
  (:mod:`vireid_core.ablation` aggregates the finished folders).
* :func:`cached_run`: the run the teaching notebooks analyse, trained once into
  ``<cache_dir>/runs/<preset>-<config hash>`` (:func:`run_dir_for`), or the shipped models of the same settings.

The pieces (data, start, checkpoint loading, evaluation) are in :mod:`vireid_core.workflow`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vireid_core.ablation import check_names, row_config, seed_list, summarise, training_set_ceiling
from vireid_core.config import ABLATIONS, RunConfig, get_preset, run_digest, set_values
from vireid_core.data.dataset import ReIDDataset
from vireid_core.errors import UserError
from vireid_core.ladder_rows import BASELINE_ROWS, ensure_probes, run_baseline_row
from vireid_core.learning import distributed as dist
from vireid_core.learning.callbacks import Callback, MetricsJsonl
from vireid_core.learning.checkpoints import atomic_write_text, load_checkpoint, load_model_weights
from vireid_core.learning.engine import Engine
from vireid_core.run_dir import AblationDir, RunDir, ShippedDir
from vireid_core.workflow import DEFAULT_CACHE, evaluate_run, load_model, prepare_dataset, prepare_model


@dataclass
class RunResult:
    """What a training run produced: per-epoch history and the final evaluation tables.

    ``evaluations`` maps a label such as ``"stage 2"`` to ``{"all": metrics, "indoor": metrics}``
    (fractions; SYSU-style protocols) or ``{"v2t": …, "t2v": …}`` (RegDB), and ``"selection"`` to the
    checkpoint each label's numbers come from. ``notes`` say where a run could not do what its config
    asked (e.g. ``best`` selection without a best checkpoint); ``results.json`` holds them only when
    there are some.
    """

    out_dir: Path | None
    history: list[dict[str, Any]]
    evaluations: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able view."""
        data = {
            "out_dir": str(self.out_dir) if self.out_dir else None,
            "history": self.history,
            "evaluations": self.evaluations,
        }
        return {**data, "notes": self.notes} if self.notes else data


def train_run(
    config: RunConfig,
    out_dir: str | Path | None,
    *,
    resume: bool = False,
    callbacks: Sequence[Callback] = (),
    cache_dir: str | Path = DEFAULT_CACHE,
    progress: bool = True,
    final_trials: int = 10,
) -> RunResult:
    """Run the whole job and evaluate after each stage, each with the checkpoint
    ``schedule.checkpoint_selection`` asks for (the stage's last epoch, or its best test Rank-1 model as
    the official code reports; a missing best checkpoint is evaluated as the last epoch, labelled so and
    named in :attr:`RunResult.notes`).

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


def _train_or_resume(
    config: RunConfig, run: RunDir, cache_dir: str | Path, progress: bool, final_trials: int
) -> RunResult:
    """:func:`train_run` into ``run``'s folder, continuing an interrupted training when its ``last.pt`` is there."""
    return train_run(
        config, run.path, resume=run.last.is_file(), cache_dir=cache_dir, progress=progress, final_trials=final_trials
    )


def _train_and_evaluate(
    config: RunConfig,
    run: RunDir | None,
    resume: bool,
    callbacks: list[Callback],
    notify: Callable[[str], None],
    cache_dir: str | Path,
    progress: bool,
    final_trials: int,
) -> RunResult:
    """Data, starting model, engine, then the final evaluations (labelled by the checkpoint used)."""
    dataset = prepare_dataset(config, cache_dir, progress=progress, notify=notify)
    model = prepare_model(config, cache_dir, progress=progress, use_shipped=False)
    engine = Engine(
        config, dataset, out_dir=run.path if run else None, callbacks=callbacks, model=model, progress=progress
    )
    if resume:
        engine.resume()
    engine.run()
    result = RunResult(out_dir=run.path if run else None, history=engine.history)
    s = config.schedule
    selections: dict[str, str] = {}

    def note(text: str) -> None:
        result.notes.append(text)
        notify(text)

    if s.stage2_init == "best" and s.stage2.epochs and (run is None or not run.best(1).is_file()):
        # the engine has said so when stage 2 started; the results keep it too
        result.notes.append(f"stage 2 started from the last stage-1 epoch: stage2_init=best, but {_no_best(run, 1)}")

    def evaluate_as(label: str, selection: str) -> None:
        selections[label] = selection
        result.evaluations[label] = evaluate_run(
            engine.model, dataset, config, trials=final_trials, selection=selection, progress=progress
        )

    if not s.stage1.epochs and not s.stage2.epochs:
        evaluate_as("starting model (0 epochs)", "starting weights, never trained (0 epochs in both stages)")
    else:
        final_state = {k: v.detach().clone() for k, v in engine.model.state_dict().items()}
        if s.stage1.epochs and s.stage2.epochs:
            label = _load_best(engine.model, run, 1) if s.checkpoint_selection == "best" else None
            if label is None:
                stage1_state = engine.stage_states.get(1)
                if stage1_state is None and run is not None and run.stage_last(1).is_file():
                    stage1_state = load_checkpoint(run.stage_last(1))["model"]
                if stage1_state is not None:
                    engine.model.load_state_dict(stage1_state)
                    label = "last epoch of stage 1"
                    if s.checkpoint_selection == "best":
                        note(
                            f"checkpoint_selection=best, but {_no_best(run, 1)}; the stage 1 numbers are "
                            "those of its last epoch"
                        )
            if label is not None:
                evaluate_as("stage 1", label)
        engine.model.load_state_dict(final_state)
        final_stage = 2 if s.stage2.epochs else 1
        evaluate_as(f"stage {final_stage}", _final_selection(engine.model, config, run, final_stage, note))
    result.evaluations["selection"] = {
        "checkpoint": next(reversed(selections.values())),  # type: ignore[assignment]
        **selections,
    }
    if run is not None and dist.is_main():
        atomic_write_text(run.results, json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def _final_selection(
    model: torch.nn.Module, config: RunConfig, run: RunDir | None, stage: int, note: Callable[[str], None]
) -> str:
    """Load the checkpoint ``schedule.checkpoint_selection`` asks for into ``model``; returns its label.

    ``best`` without a ``best_stage{n}.pt`` (nothing was evaluated during training) keeps the last
    epoch and says so in the label and in a ``note``, instead of calling it the best.
    """
    if config.schedule.checkpoint_selection != "best":
        return "last epoch"
    label = _load_best(model, run, stage)
    if label is not None:
        return label
    reason = _no_best(run, stage)
    note(f"checkpoint_selection=best, but {reason}; the final numbers are those of the last epoch")
    return f"last epoch (checkpoint_selection=best, but {reason})"


def _load_best(model: torch.nn.Module, run: RunDir | None, stage: int) -> str | None:
    """Load ``best_stage{stage}.pt`` into ``model`` and return its label; None (model untouched) when
    the run keeps no such file."""
    best = run.best(stage) if run is not None else None
    if best is None or not best.is_file():
        return None
    state = load_checkpoint(best)
    load_model_weights(model, state["model"], f"checkpoint {best}")
    return f"best on test Rank-1 (stage {stage}, epoch {state.get('epoch')}, {best.name})"


def _no_best(run: RunDir | None, stage: int) -> str:
    """Why a run has no best checkpoint of ``stage`` (for labels and notes)."""
    if run is None:
        return "no run folder to keep it in"
    return f"no {run.best(stage).name}: nothing was evaluated during stage {stage} (schedule.eval_every=0)"


def results_table(evaluations: dict[str, Any]) -> str:
    """A plain-text table of Rank-1 / Rank-10 / mAP / mINP (percent) per stage and mode, followed by
    the checkpoint each row's numbers come from."""
    lines = [f"{'model':<22}{'mode':<12}{'Rank-1':>8}{'Rank-10':>9}{'mAP':>8}{'mINP':>8}"]
    for label, modes in evaluations.items():
        if label == "selection":
            continue
        for mode, m in modes.items():
            lines.append(
                f"{label:<22}{mode:<12}{100 * m['rank1']:>8.2f}{100 * m.get('rank10', 0.0):>9.2f}"
                f"{100 * m['mAP']:>8.2f}{100 * m['mINP']:>8.2f}"
            )
    selection = dict(evaluations.get("selection", {}))
    per_label = {k: v for k, v in selection.items() if k != "checkpoint"}
    if per_label:
        lines += [f"({label}: {text})" for label, text in per_label.items()]
    elif selection.get("checkpoint"):
        lines.append(f"(checkpoint chosen by: {selection['checkpoint']})")
    return "\n".join(lines)


# ---------------------------------------------------------------------- the ablation over seeds
def run_ablation(
    preset: str,
    names: Sequence[str],
    seeds: int | Sequence[int],
    out: str | Path,
    *,
    overrides: dict[str, Any] | None = None,
    progress: bool = True,
    cache_dir: str | Path = DEFAULT_CACHE,
    final_trials: int = 10,
) -> dict[str, Any]:
    """Train (or make) every ladder row for each seed (``seeds`` = a count n meaning 1..n, or a list)
    into ``out/<name>/seed<k>``.

    ``names`` are M rows (``config.ABLATIONS``, trained by :func:`train_run`) and reference rows
    (``untrained``, ``start``, ``oracle``: :func:`vireid_core.ladder_rows.run_baseline_row`); all use the
    same protocol (``final_trials`` gallery trials) and the seed's shared start. Seed-major: all rows of
    one seed are done before the next seed starts, so a partial ablation holds complete seeds. Finished
    runs (with ``results.json``) are reused, so an interrupted ablation resumes, and two processes given
    disjoint seed lists can share ``out``. A finished M run without ``probes.json`` gets it from its
    final checkpoint when the folder still holds one. Returns :func:`vireid_core.ablation.summarise`'s
    dict and writes it to ``out/ablation.json`` over the requested seeds.
    """
    names = check_names(names)
    chosen = seed_list(seeds)
    folder = AblationDir(out)
    for seed in chosen:
        for name in names:
            run = folder.run(name, seed)
            if not run.results.is_file():
                config = row_config(preset, name, seed, overrides)
                if name in BASELINE_ROWS:
                    run_baseline_row(
                        name, config, run.path, cache_dir=cache_dir, progress=progress, trials=final_trials
                    )
                else:
                    _train_or_resume(config, run, cache_dir, progress, final_trials)
            if name in ABLATIONS:
                ensure_probes(run.path, cache_dir=cache_dir, progress=progress)
    summary = summarise(
        folder.path, names, chosen, preset, training_set_ceiling(preset, overrides, cache_dir=cache_dir)
    )
    atomic_write_text(folder.summary, json.dumps(summary, indent=2) + "\n")
    return summary


# ---------------------------------------------------------------------- the run the notebooks share
def run_dir_for(config: RunConfig, cache_dir: str | Path = DEFAULT_CACHE) -> Path:
    """``<cache_dir>/runs/<preset>-<hash of the whole config>``: where :func:`cached_run` keeps the run of
    ``config`` (the run ``demo`` trains and the notebooks load). The hash is
    :func:`~vireid_core.config.run_digest`'s, which keeps the folders of runs cached before the config sections."""
    name = config.preset.replace(":", "-").replace("/", "-")
    return Path(cache_dir) / "runs" / f"{name}-{run_digest(config)}"


@dataclass
class CachedRun:
    """A finished training run and what the notebooks need from it.

    Attributes:
        config: the run's config.
        dataset: its (SynthVI) dataset.
        model: the final model (last stage, last epoch), eval mode, CPU.
        result: the run's :class:`RunResult` (history and evaluations).
        run_dir: the folder holding ``stage1_last.pt``, ``stage2_last.pt``, ``results.json``.
        trained_now: True when this call trained the run, False when it was loaded.
        shipped: True when the models are the shipped ones (``models/synthvi/``), not a run in the cache.
    """

    config: RunConfig
    dataset: ReIDDataset
    model: torch.nn.Module
    result: RunResult
    run_dir: Path
    trained_now: bool
    shipped: bool = False

    def stage_model(self, stage: int) -> torch.nn.Module:
        """A fresh model with the weights at the end of ``stage`` (1 or 2), eval mode."""
        path = RunDir(self.run_dir).stage_last(stage)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist: the run has no stage {stage} "
                f"(epochs: {self.config.schedule.stage1.epochs}, "
                f"{self.config.schedule.stage2.epochs})"
            )
        return load_model(self.config, path)


def cached_run(
    preset: str | RunConfig,
    cache_dir: str | Path = DEFAULT_CACHE,
    overrides: dict[str, Any] | None = None,
    *,
    progress: bool = False,
    final_trials: int = 10,
    train: bool = True,
) -> CachedRun:
    """The trained run of ``preset`` (with ``overrides``) that the notebooks analyse.

    ``train=False`` (the notebooks' default, ``train_fresh = False``): the models shipped in
    ``models/synthvi/`` when they were trained with exactly this config
    (:meth:`~vireid_core.run_dir.ShippedDir.find`), else a run already trained into the cache; never
    starts a training — raises :class:`~vireid_core.errors.UserError` saying how to get one when there
    is neither. ``train=True``: your own run in :func:`run_dir_for`: the first call runs
    :func:`train_run` there (resuming an interrupted run), later calls only load ``results.json`` and
    the checkpoints. Returns a :class:`CachedRun`.
    """
    if isinstance(preset, RunConfig):
        config = RunConfig.from_dict(preset.to_dict())
        set_values(config, overrides or {})
    else:
        config = get_preset(preset, overrides)
    shipped = None if train else ShippedDir.find(config)
    run = shipped or RunDir(run_dir_for(config, cache_dir))
    trained_now = not run.results.is_file()
    if trained_now and not train:
        raise UserError(
            f"no trained run of preset {config.preset!r} with these settings: neither shipped "
            f"models (models/synthvi/) nor a run in {run.path}; set train_fresh = True (train=True) "
            "to train one into the cache, or use the preset's default settings"
        )
    if trained_now:
        result = _train_or_resume(config, run, cache_dir, progress, final_trials)
    else:
        saved = json.loads(run.results.read_text())
        result = RunResult(
            out_dir=run.path,
            history=saved["history"],
            evaluations=saved["evaluations"],
            notes=list(saved.get("notes", [])),
        )
    dataset = prepare_dataset(config, cache_dir, progress=progress)
    final_stage = 2 if config.schedule.stage2.epochs else 1
    model = load_model(config, run.stage_last(final_stage))
    return CachedRun(config, dataset, model, result, run.path, trained_now, shipped=shipped is not None)
