"""The one BMIL training engine (docs/method.md §1, §7): two stages, every ablation as configuration.

Per epoch: extract clustering features → associate (intra per modality, global in stage 2) → build
memories → ``iters`` iterations (stage 2: step A intra, step B global, each its own optimiser step) →
diagnostics, optional evaluation → atomic checkpoint. All randomness of an epoch is derived from
(seed, stage, epoch), so ``resume`` from the last checkpoint gives the same result as an
uninterrupted run on CPU.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from vireid_core.compute import plan_for_config
from vireid_core.config import RunConfig, stable_digest
from vireid_core.data.dataset import ReIDDataset
from vireid_core.data.records import INFRARED, VISIBLE
from vireid_core.data.tensor_transforms import cluster_pipeline
from vireid_core.evaluation import evaluate_protocol, extract_features
from vireid_core.evaluation.report import mean_metrics
from vireid_core.learning import distributed as dist
from vireid_core.learning.callbacks import Callback
from vireid_core.learning.checkpoints import load_checkpoint, load_model_weights, save_checkpoint
from vireid_core.learning.epoch_parts import EpochParts
from vireid_core.learning.loaders import Batch
from vireid_core.learning.pseudo_labels import EpochLabels, associate
from vireid_core.learning.seeding import epoch_seed, seed_everything
from vireid_core.learning.setup import build_configured_model, resolve_device
from vireid_core.run_dir import RunDir, check_checkpoint_config


class TrainingDiverged(RuntimeError):
    """Raised when a loss becomes NaN or infinite: training stops with a clear message."""


def _timed(function: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``(function(*args), seconds it took)``."""
    started = time.perf_counter()
    return function(*args), time.perf_counter() - started


class Engine:
    """Train BMIL on ``dataset`` with ``config``; report through ``callbacks``; save into ``out_dir``.

    Args:
        config: a validated :class:`RunConfig`.
        dataset: the target dataset (its true pids are used for diagnostics only).
        out_dir: run folder for checkpoints; None keeps everything in memory (notebooks, tests).
        callbacks: reporting hooks (see :mod:`vireid_core.learning.callbacks`).
        model: an already built (e.g. source-pretrained) model; built from the config when None.
        progress: show tqdm bars.
    """

    def __init__(
        self,
        config: RunConfig,
        dataset: ReIDDataset,
        *,
        out_dir: str | Path | None = None,
        callbacks: Sequence[Callback] = (),
        model: torch.nn.Module | None = None,
        progress: bool = True,
    ) -> None:
        self.config = config
        self.dataset = dataset
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.run_dir = RunDir(self.out_dir) if self.out_dir is not None else None  # every file name
        self.callbacks = list(callbacks)
        self.progress = progress and dist.is_main()
        self.device = resolve_device(config.device)
        if config.threads:
            torch.set_num_threads(config.threads)
        seed_everything(config.seed)
        self.model = model if model is not None else build_configured_model(config)
        self.model.to(self.device)
        # Autocast dtype and memory format (bf16 on CPUs with bf16 units, fp16 AMP on CUDA, else fp32).
        self.plan = plan_for_config(config, self.device)
        self.plan.prepare_model(self.model)
        self.train_samples = list(dataset.train)
        self.modality = np.array([s.modality for s in self.train_samples], dtype=np.int64)
        # Ground truth, for diagnostics only: never passed to association or losses.
        self._true_ids = np.array([s.pid for s in self.train_samples], dtype=np.int64)
        for m, name in ((VISIBLE, "visible"), (INFRARED, "infrared")):
            if not (self.modality == m).any():
                raise ValueError(f"dataset {dataset.name!r} has no {name} training images")
        # Loss scaling is for float16 only; bfloat16 has float32's range.
        self.use_amp = self.plan.autocast_dtype == torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.image_cache: dict | None = {} if config.data.cache_images else None
        self.history: list[dict[str, Any]] = []
        self.stage_states: dict[int, dict[str, torch.Tensor]] = {}  # model at the end of each stage
        self.best: dict[int, float] = {}
        self.stage, self.next_epoch = 1, 0
        self._new_optimiser()
        self.train_model = dist.wrap_model(self.model, self.device)
        # What each epoch trains on: a batch stream and a cluster memory per modality (learning/epoch_parts.py).
        self.parts = EpochParts(
            config, self.train_samples, self.modality, self.device, self.image_cache, self._workers(), self._message
        )

    # ------------------------------------------------------------------ helpers
    def _emit(self, hook: str, *args: Any) -> None:
        if dist.is_main():
            for callback in self.callbacks:
                getattr(callback, hook)(*args)

    def _message(self, text: str) -> None:
        self._emit("on_message", text)

    def _new_optimiser(self) -> None:
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(params, lr=self.config.optim.lr, weight_decay=self.config.optim.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.StepLR(
            self.optimizer, step_size=self.config.optim.step_size, gamma=self.config.optim.gamma
        )

    def _epochs(self, stage: int) -> int:
        return self.config.schedule.stage(stage).epochs

    def _workers(self) -> int:
        return self.config.data.num_workers if self.device.type == "cuda" else 0

    # ------------------------------------------------------------------ features and labels
    def extract_cluster_features(self) -> np.ndarray:
        """Clustering features of every training image (docs/method.md §8): float32[N, D]."""
        c = self.config.data
        transform = cluster_pipeline(c.height, c.width)
        dist.sync_buffers(self.model)
        return dist.sharded_extract(
            lambda samples: extract_features(
                self.model,
                samples,
                transform,
                device=self.device,
                renormalise=False,
                progress=self.progress,
                num_workers=self._workers(),
                plan=self.plan,
                image_cache=self.image_cache,
            ),
            self.train_samples,
        )

    def associate(self, features: np.ndarray, stage: int, epoch: int) -> EpochLabels:
        """Pseudo labels of one epoch (rank 0 clusters, other ranks receive the result)."""
        labels = None
        if dist.is_main():
            c = self.config
            labels = associate(
                features,
                self.modality,
                c.intra_clustering,
                c.global_clustering,
                knn=c.neighbours,
                stage=stage,
                seed=epoch_seed(c.seed, stage, epoch, "subset"),
                true_ids=self._true_ids,
                progress=self.progress,
            )
        return dist.broadcast_object(labels)

    # ------------------------------------------------------------------ one epoch
    def _step(self, parts: list, weight: float) -> float:
        """Forward the next batch of every part together, one backward, one optimiser step."""
        # One mixed batch: every part (a modality's stream and its memory) contributes its next batch,
        # so the shared body and its BatchNorm see both modalities together, as in the reference.
        batches: list[Batch] = [stream.next() for stream, _ in parts]
        images = self.plan.images(torch.cat([b.images for b in batches]))
        modality = torch.cat([torch.full((len(b.images),), b.modality, dtype=torch.long) for b in batches])
        with self.plan.autocast():  # only the network runs in reduced precision
            feats = self.train_model(images, modality.to(self.device))
        feats = feats.float()  # memories and losses stay float32
        # Each part scores its rows against its own memory; the features are kept for the update below.
        losses, offset, pending = [], 0, []
        for batch, (_, memory) in zip(batches, parts, strict=True):
            f = feats[offset : offset + len(batch.images)]
            offset += len(batch.images)
            targets = batch.targets.to(self.device)
            losses.append(memory.loss(f, targets))
            pending.append((memory, f.detach(), targets))
        loss = weight * sum(losses)
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"loss became {loss.item()} (stage {self.stage}); stopping. Lower optim.lr or check the data."
            )
        # One optimiser step for the whole step (A or B); the scaler is the identity outside float16.
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        # Clean timing rule (docs/method.md §5, §11 Q14): gradients used the forward-time memory; update
        # afterwards, identically on every rank (features and targets gathered across ranks).
        for memory, f, targets in pending:
            memory.update(*dist.gather_rows(f, targets))
        return float(loss.item())

    def train_epoch(self, stage: int, epoch: int) -> dict[str, Any]:
        """Run one epoch of ``stage`` and return its metrics record (the line of ``metrics.jsonl``)."""
        started = time.perf_counter()
        # Every random draw of this epoch derives from (seed, stage, epoch): resuming repeats it exactly.
        seed_everything(epoch_seed(self.config.seed, stage, epoch, "epoch"))
        # 1. Features of every training image with the current model, and the pseudo labels they give:
        #    intra-modality clusters, plus (stage 2) the global clusters across modalities.
        self.model.eval()
        features, t_extract = _timed(self.extract_cluster_features)
        labels, t_assoc = _timed(self.associate, features, stage, epoch)
        self._emit("on_association", stage, epoch, dict(labels.report))
        # 2. Memories initialised from the clusters, each with the batch stream that draws its rows.
        intra, global_ = self.parts.intra(features, labels, stage, epoch), []
        if stage == 2:
            global_ = self.parts.global_(features, labels, stage, epoch)
        # 3. ``iters`` iterations; in stage 2 each is step A (intra memories) then step B (global memory),
        #    two optimiser steps, each loss scaled by its weight (``loss``). An epoch that clustered nothing
        #    trains nothing.
        self.model.train()
        t0 = time.perf_counter()
        sums: dict[str, float] = {"loss_intra": 0.0, "loss_global": 0.0}
        iters = self.config.schedule.iters if intra or global_ else 0
        if not iters:
            self._message(f"stage {stage} epoch {epoch}: nothing was clustered; no training this epoch")
        bar = tqdm(range(iters), desc=f"stage {stage} epoch {epoch}", disable=not self.progress, leave=False)
        for it in bar:
            step = {}
            if intra:
                step["loss_intra"] = self._step(intra, self.config.loss.step_a_intra)
            if global_:
                step["loss_global"] = self._step(global_, self.config.loss.step_b_global)
            for key, value in step.items():
                sums[key] += value
            self._emit("on_iteration", stage, epoch, it, step)
        t_iter = time.perf_counter() - t0
        # 4. The learning-rate schedule advances once per epoch.
        with warnings.catch_warnings():
            # An epoch without clusters makes no optimiser step; the schedule still advances per epoch.
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
            self.scheduler.step()
        # 5. The record: clustering diagnostics, mean losses, timings, and (if due) a test evaluation.
        record: dict[str, Any] = {
            "stage": stage,
            "epoch": epoch,
            "lr": self.optimizer.param_groups[0]["lr"],
            **labels.report,
            "loss_intra": sums["loss_intra"] / iters if iters and intra else None,
            "loss_global": sums["loss_global"] / iters if iters and global_ else None,
            "seconds_extract": t_extract,
            "seconds_association": t_assoc,
            "seconds_iterations": t_iter,
            "images_per_second": self._images_per_iter(intra, global_) * iters / max(t_iter, 1e-9),
        }
        if self._should_evaluate(stage, epoch):
            record["eval"] = self.evaluate(trials=self._trials(stage))
        record["seconds"] = time.perf_counter() - started
        return record

    def _images_per_iter(self, intra: list, global_: list) -> int:
        return sum(stream.images_per_batch for stream, _ in intra + global_) * dist.world_size()

    def _trials(self, stage: int) -> int:
        return self.config.schedule.stage(stage).eval_trials

    def _should_evaluate(self, stage: int, epoch: int) -> bool:
        every = self.config.schedule.eval_every
        return bool(every) and epoch % every == 0 and dist.is_main()

    def evaluate(self, *, trials: int = 10) -> dict[str, Any]:
        """Evaluate the current model in the protocol's tracked setting (SYSU all-search, the first
        RegDB/LLCM direction; :func:`~vireid_core.evaluation.evaluate_protocol`); returns its mean
        metrics (fractions)."""
        self.model.eval()
        report = evaluate_protocol(
            self.model,
            self.dataset,
            "tracked",
            trials=range(trials),
            height=self.config.data.height,
            width=self.config.data.width,
            device=self.device,
            progress=self.progress,
            checkpoint_selection="current model",
            num_workers=self._workers(),
            plan=self.plan,
        )
        return next(iter(mean_metrics(report).values()))

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "stage": self.stage,
            "next_epoch": self.next_epoch,
            "history": self.history,
            "best": self.best,
            "config": self.config.to_dict(),
            "config_digest": stable_digest(self.config.to_dict()),
        }

    def save(self) -> None:
        """Write ``last.pt`` atomically (rank 0 only)."""
        if self.run_dir is not None and dist.is_main():
            save_checkpoint(self.run_dir.last, self._state())
        dist.barrier()

    def resume(self, path: str | Path | None = None) -> bool:
        """Continue from ``path`` (default ``out_dir/last.pt``); returns False when there is none."""
        path = Path(path) if path is not None else (self.run_dir.last if self.run_dir else None)
        if path is None or not path.is_file():
            return False
        state = load_checkpoint(path, map_location=self.device)
        check_checkpoint_config(state, self.config, path)  # never continue another run's checkpoint
        load_model_weights(self.model, state["model"], f"checkpoint {path}")
        self.stage, self.next_epoch = int(state["stage"]), int(state["next_epoch"])
        self._new_optimiser()
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.history = list(state["history"])
        self.best = {int(k): float(v) for k, v in state["best"].items()}
        for callback in self.callbacks:
            if hasattr(callback, "set_history"):
                callback.set_history(self.history)
        self._message(f"resumed from {path}: stage {self.stage}, next epoch {self.next_epoch}")
        return True

    def _save_model(self, path: Path, stage: int, epoch: int, selection: str) -> None:
        """Write the model's weights as ``path``, labelled with its stage, epoch and how it was selected."""
        save_checkpoint(
            path,
            {
                "model": self.model.state_dict(),
                "stage": stage,
                "epoch": epoch,
                "selection": selection,
                "config": self.config.to_dict(),
            },
        )

    def _finish_epoch(self, record: dict[str, Any]) -> None:
        ev = record.get("eval")
        if ev is not None and ev["rank1"] > self.best.get(self.stage, -1.0):
            self.best[self.stage] = ev["rank1"]
            if self.run_dir is not None and dist.is_main():
                self._save_model(self.run_dir.best(self.stage), self.stage, record["epoch"], "best on test Rank-1")
        self.history.append(record)
        self.next_epoch = record["epoch"] + 1
        self.save()
        self._emit("on_epoch_end", record)

    # ------------------------------------------------------------------ the run
    def run(self) -> dict[str, Any]:
        """Train both stages (continuing where a resumed checkpoint stopped); returns a summary."""
        for stage in (1, 2):
            if stage < self.stage or self._epochs(stage) == 0:
                continue
            if stage > self.stage:
                self._start_stage(stage)
            self._emit("on_stage_start", stage, {"epochs": self._epochs(stage)})
            for epoch in range(self.next_epoch, self._epochs(stage)):
                self._finish_epoch(self.train_epoch(stage, epoch))
            self.stage_states[stage] = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
            if self.run_dir is not None and dist.is_main():
                self._save_model(self.run_dir.stage_last(stage), stage, self._epochs(stage) - 1, "last epoch")
        dist.sync_buffers(self.model)
        summary = {"history": self.history, "best_rank1": self.best}
        self._emit("on_run_end", summary)
        return summary

    def _start_stage(self, stage: int) -> None:
        if self.config.schedule.stage2_init == "best" and self.run_dir is not None:
            best = self.run_dir.best(1)
            if best.is_file():
                self.model.load_state_dict(load_checkpoint(best, map_location=self.device)["model"])
                self._message(f"stage 2 starts from {best} (best on test, as the paper)")
            else:
                self._message(
                    f"stage2_init=best, but there is no {best} (nothing was evaluated during stage 1: "
                    "schedule.eval_every=0); stage 2 starts from the last stage-1 epoch instead"
                )
        elif self.config.schedule.stage2_init == "best":
            self._message(
                "stage2_init=best, but there is no run folder to keep a best stage-1 model in; "
                "stage 2 starts from the last stage-1 epoch instead"
            )
        self.stage, self.next_epoch = stage, 0
        self._new_optimiser()  # fresh Adam + StepLR (docs/method.md §7)
        self.save()
