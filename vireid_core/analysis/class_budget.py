"""Which notebook cells train, for how long, and whether they may: no cell silently starts a long training.

A cell that would train first builds a :class:`TrainingPlan` (what it would train and an estimated time)
and asks :func:`may_train`. The rule: a plan within the class budget (:data:`CLASS_BUDGET_SECONDS`,
counted on a slow CPU) is announced with its estimate and runs; a longer one runs only with the
notebook parameter ``allow_training = True``, otherwise the cell prints what it would train and how long
it would take, and skips it. Nothing is trained without first being announced.

The estimates come from the epochs the shipped run itself recorded (``models/synthvi/<preset>/
results.json``: seconds per extracted image and per iteration of each stage), so they describe the
machine that trained the shipped models; :data:`SLOW_CPU_FACTOR` covers a CPU without bfloat16 units.
They are meant to tell a one-minute run from a twenty-minute one, not to the second.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from vireid_core.config import RunConfig, get_preset
from vireid_core.errors import UserError
from vireid_core.run_dir import RunDir, ShippedDir
from vireid_core.runs import run_dir_for
from vireid_core.workflow import DEFAULT_CACHE, pretrained_cache_path, shipped_start

CLASS_BUDGET_SECONDS = 180.0
"""What a cell may train without ``allow_training = True``: three minutes on a slow CPU."""
SLOW_CPU_FACTOR = 3.0
"""How much longer a 2-core CPU without bfloat16 units takes than the shipped run's machine (README)."""
PRETRAIN_STEPS_PER_SECOND = 6.0
"""Source-pretraining steps per second of ``synthvi-cpu`` (half of the 12.7 ``make demo`` measured)."""
# Fallback rates (synthvi-cpu's shipped run) for a preset that has no shipped history.
_FALLBACK = {"extract": 0.0026, "iteration_1": 0.41, "iteration_2": 0.77, "association_1": 0.5, "association_2": 1.7}


@dataclass(frozen=True)
class TrainingPlan:
    """A training a cell would start: what it is and how long it should take.

    Attributes:
        what: a short description, e.g. ``"the live run (1 + 1 epochs of 20 iterations, 2,040 images)"``.
        seconds: the estimate on the shipped run's machine (see the module docstring).
    """

    what: str
    seconds: float

    @property
    def slow_seconds(self) -> float:
        """The estimate on a slow CPU (:data:`SLOW_CPU_FACTOR` times longer)."""
        return self.seconds * SLOW_CPU_FACTOR

    def estimate(self) -> str:
        """``"about 40 s (up to 2 min on a CPU without bfloat16 units)"``; ``"a few seconds"`` below 10 s."""
        if self.slow_seconds < 10:
            return "a few seconds"
        return f"about {_duration(self.seconds)} (up to {_duration(self.slow_seconds)} on a CPU without bfloat16 units)"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(5, round(seconds / 5) * 5):.0f} s"
    return f"{seconds / 60:.0f} min"


def epoch_rates(config: RunConfig) -> dict[str, float]:
    """Seconds per extracted image (``extract``), per iteration (``iteration_1``, ``iteration_2``) and
    per association of 1,000 images (``association_1``, ``association_2``), from the epochs the shipped
    run of ``config.preset`` recorded; synthvi-cpu's values when the preset has no shipped history."""
    shipped = ShippedDir.of_preset(config.preset)
    history = json.loads(shipped.results.read_text())["history"] if shipped.results.is_file() else []
    stored = shipped.stored_config()
    if not history or stored is None:
        return dict(_FALLBACK)
    iters = stored.schedule.iters
    rates: dict[str, float] = {}
    for stage in (1, 2):
        epochs = [r for r in history if r["stage"] == stage] or history
        images = [r["clustered_rows_ir"] + r["clustered_rows_vis"] for r in epochs]
        rates[f"iteration_{stage}"] = sum(r["seconds_iterations"] for r in epochs) / (iters * len(epochs))
        rates[f"association_{stage}"] = 1000 * sum(r["seconds_association"] for r in epochs) / sum(images)
        if stage == 1:
            rates["extract"] = sum(r["seconds_extract"] for r in epochs) / sum(images)
    return rates


def run_plan(config: RunConfig, n_images: int, what: str = "a run") -> TrainingPlan:
    """The plan of training ``config``'s two stages on ``n_images`` training images (epochs and
    iterations from its schedule), with a final evaluation counted as one extraction."""
    rates = epoch_rates(config)
    epochs = {1: config.schedule.stage1.epochs, 2: config.schedule.stage2.epochs}
    seconds = n_images * rates["extract"]  # the final evaluation
    for stage, count in epochs.items():
        per_epoch = (
            n_images * rates["extract"]
            + n_images / 1000 * rates[f"association_{stage}"]
            + config.schedule.iters * rates[f"iteration_{stage}"]
        )
        seconds += count * per_epoch
    detail = f"{epochs[1]} + {epochs[2]} epochs of {config.schedule.iters} iterations, {n_images:,} images"
    return TrainingPlan(f"{what} ({detail})", seconds)


def start_plan(
    config: RunConfig, cache_dir: str | Path = DEFAULT_CACHE, *, use_shipped: bool = True
) -> TrainingPlan | None:
    """The source pretraining :func:`~vireid_core.workflow.prepare_model` would run for ``config``, or
    None when the cache (or, with ``use_shipped``, the shipped models) holds a start of the same
    settings. A training run (``cached_run(train=True)``) ignores the shipped start: ``use_shipped=False``."""
    cached = pretrained_cache_path(config, cache_dir).is_file()
    if not config.pretrain.enabled or cached or (use_shipped and shipped_start(config)):
        return None
    steps = config.pretrain.iterations
    scale = config.pretrain.batch_size / 64
    return TrainingPlan(
        f"a source-pretrained start ({steps} steps; none is cached with these model, pretraining and seed settings)",
        steps * scale / PRETRAIN_STEPS_PER_SECOND,
    )


def full_run_plan(
    config: RunConfig, n_images: int, cache_dir: str | Path = DEFAULT_CACHE, *, train: bool
) -> TrainingPlan | None:
    """What :func:`~vireid_core.runs.cached_run` would train for ``config``: None when it only loads (the
    shipped models match and ``train`` is False, or the cache already holds the finished run) or when
    it would refuse (``train`` False and nothing to load: it raises, naming ``train_fresh``)."""
    if not train or RunDir(run_dir_for(config, cache_dir)).results.is_file():
        return None
    plan = run_plan(config, n_images, "a full run of the preset")
    start = start_plan(config, cache_dir, use_shipped=False)
    seconds = plan.seconds + (start.seconds if start else 0.0)
    return TrainingPlan(plan.what + (" and its start" if start else ""), seconds)


def may_train(plans: list[TrainingPlan | None], allow_training: bool) -> bool:
    """Announce what a cell is about to train and decide whether it may.

    Prints one line per plan. Returns True (train) when there is nothing to train, when every plan
    fits :data:`CLASS_BUDGET_SECONDS` on a slow CPU, or when ``allow_training``; otherwise False, after
    printing that the cell skips the training and how to allow it.
    """
    plans = [plan for plan in plans if plan is not None]
    if not plans:
        return True
    total = sum(plan.slow_seconds for plan in plans)
    allowed = allow_training or total <= CLASS_BUDGET_SECONDS
    for plan in plans:
        print(f"{'training' if allowed else 'would train'}: {plan.what}, {plan.estimate()}")
    if not allowed:
        print(
            f"skipped: more than the {CLASS_BUDGET_SECONDS / 60:.0f}-minute class budget; set "
            "allow_training = True in the parameters cell to run it"
        )
    return allowed


class TrainingNotAllowed(UserError):
    """A cell that cannot go on without a training longer than the class budget (``allow_training``)."""


def ensure_may_train(plans: list[TrainingPlan | None], allow_training: bool) -> None:
    """:func:`may_train` for a cell that cannot skip its training (the rest needs the trained model).

    Raises:
        TrainingNotAllowed: when :func:`may_train` refuses, naming ``allow_training``.
    """
    if not may_train(plans, allow_training):
        raise TrainingNotAllowed(
            "this cell needs the training announced above; set allow_training = True to run it, or "
            "undo the parameter changes that require it"
        )


def ablation_plan(preset: str, names: list[str], seeds: int, images_per_identity: int = 34) -> TrainingPlan:
    """The plan of :func:`~vireid_core.runs.run_ablation` training ``names`` × ``seeds`` runs of ``preset``
    (each on ``n_train_ids`` × ``images_per_identity`` images; 34 per identity in synthvi-cpu)."""
    config = get_preset(preset)
    n_images = config.data.synthvi.n_train_ids * images_per_identity
    one = run_plan(config, n_images)
    runs = len(names) * int(seeds)
    return TrainingPlan(
        f"an ablation of {preset}: {runs} runs of {one.what.removeprefix('a run ')}", runs * one.seconds
    )
