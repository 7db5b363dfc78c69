"""Training, extraction and pretraining throughput: the float32 path against the fast path, in one run.

"float32" is the path before the fast CPU path existed: float32, contiguous (NCHW) tensors and PIL
transforms for the clustering features. "fast" is what ``precision=auto``, ``channels_last=true`` give
on this machine (bfloat16 autocast only on CPUs with bf16 units; see vireid_core/compute.py) with the
cached uint8 tensor pipelines. The two are measured alternately, ``--rounds`` times each, on the same
data and the same starting weights, and the median of each is reported, so the ratios are robust to
other load on the machine. Printed:

* the training step (the engine's step A of one stage-1 epoch: infrared batch + both visible views,
  forward, loss, backward, Adam): images/s; and the network alone on random images of the same
  batch (no data loading, augmentation or memories), the part precision and memory format act on;
* feature extraction of the training images (flip-averaged clustering features): images/s;
* source pretraining steps: images/s;
* the epoch split of the fast path (extract / associate / iterate, seconds and shares);
* with ``--workers``: the training step with one DataLoader worker process instead of none;
* with ``--compile``: torch.compile's start-up cost and the step gain it buys.

Run: .venv/bin/python benchmarks/bench_training.py [--preset synthvi-cpu] [--iters 12] [--rounds 3]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from vireid_core.compute import compute_plan, plan_for_config
from vireid_core.config import get_preset, stable_digest
from vireid_core.data.synthvi import write_source_set
from vireid_core.data.tensor_transforms import cluster_pipeline
from vireid_core.data.transforms import cluster_transform
from vireid_core.evaluation import extract_features
from vireid_core.learning.callbacks import HistoryRecorder
from vireid_core.learning.engine import Engine
from vireid_core.learning.pretrain import pretrain_on_source
from vireid_core.learning.setup import resolve_device
from vireid_core.workflow import prepare_dataset, prepare_model, source_samples, synthvi_config


def _variants(preset: str, iters: int) -> dict:
    base = {"schedule.stage1.epochs": 1, "schedule.stage2.epochs": 0, "schedule.eval_every": 0, "schedule.iters": iters}
    return {
        "float32": get_preset(preset, {**base, "precision": "fp32", "channels_last": False}),
        "fast": get_preset(preset, {**base, "precision": "auto", "channels_last": True}),
    }


def _epoch(config, dataset, start) -> dict:
    recorder = HistoryRecorder()
    Engine(config, dataset, callbacks=[recorder], model=copy.deepcopy(start), progress=False).run()
    return recorder.records[0]


def _extraction_rate(config, start, samples, fast: bool) -> float:
    device = resolve_device(config.device)
    plan = plan_for_config(config, device)
    h, w = config.data.height, config.data.width
    transform = cluster_pipeline(h, w) if fast else cluster_transform(h, w)
    cache: dict | None = {} if fast else None
    model = copy.deepcopy(start)
    if fast:  # the engine's cache is warm after the first epoch: measure the steady state
        extract_features(model, samples, transform, progress=False, plan=plan, image_cache=cache)
    started = time.perf_counter()
    extract_features(model, samples, transform, renormalise=False, progress=False, plan=plan, image_cache=cache)
    return len(samples) / (time.perf_counter() - started)


def _augmentation_seconds(config, dataset, batches: int = 3) -> float:
    """Seconds per training step spent on the PIL augmentations of step A (infrared batch + both views
    of the visible batch) over cached decoded images: the data part of the step."""
    from vireid_core.data.images import open_rgb
    from vireid_core.data.records import INFRARED, VISIBLE
    from vireid_core.data.transforms import train_transform

    c, s = config.data, config.schedule
    by_modality = {m: [open_rgb(x.path) for x in dataset.train if x.modality == m][: s.ir_batch] for m in (0, 1)}
    views = {
        VISIBLE: [train_transform(VISIBLE, height=c.height, width=c.width, view=v) for v in (1, 2)],
        INFRARED: [
            train_transform(INFRARED, height=c.height, width=c.width, view=1, color_jitter_ir=s.stage1.color_jitter_ir)
        ],
    }
    counts = {VISIBLE: s.vis_batch, INFRARED: s.ir_batch}
    started = time.perf_counter()
    for _ in range(batches):
        for m, transforms in views.items():
            for image in by_modality[m][: counts[m]]:
                for transform in transforms:
                    transform(image)
    return (time.perf_counter() - started) / batches


def _pretrain_rate(config, start, source, steps: int) -> float:
    plan = plan_for_config(config, torch.device("cpu"))
    stats = pretrain_on_source(
        copy.deepcopy(start),
        source,
        iterations=steps,
        batch_size=config.pretrain.batch_size,
        height=config.data.height,
        width=config.data.width,
        progress=False,
        plan=plan,
    )
    return stats["images_per_second"]


def _timed_steps(plan, config, start, steps: int, compiled: bool = False) -> tuple[float, float]:
    """(seconds of the first step, steady images/s over the next ``steps``) of the network alone on
    random images: forward (``torch.compile``d if asked), a float32 loss, backward, Adam; batch 128 =
    one step A's images."""
    images = plan.images(torch.randn(128, 3, config.data.height, config.data.width))
    modality = torch.cat([torch.zeros(64), torch.ones(64)]).long()
    model = plan.prepare_model(copy.deepcopy(start)).train()
    forward = torch.compile(model) if compiled else model
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    times = []
    for _ in range(steps + 1):
        started = time.perf_counter()
        with plan.autocast():
            loss = forward(images, modality).float().pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - started)
    return times[0], 128 / statistics.median(times[1:])


def _network_rate(config, start, steps: int = 6) -> float:
    """images/s of the network alone (:func:`_timed_steps`): the part of a step that precision and
    memory format can speed up."""
    return _timed_steps(plan_for_config(config, torch.device("cpu")), config, start, steps)[1]


def _compile_probe(config, dataset, start, steps: int = 6) -> None:
    """Start-up cost and step speed of torch.compile on the fast path's training step."""
    plan = compute_plan("cpu", config.precision, channels_last=config.channels_last)
    rates = {
        name: _timed_steps(plan, config, start, steps, compiled=name == "compiled") for name in ("eager", "compiled")
    }
    print(
        f"torch.compile: first step {rates['compiled'][0]:.0f} s (eager {rates['eager'][0]:.1f} s); "
        f"steady {rates['compiled'][1]:.0f} vs {rates['eager'][1]:.0f} img/s "
        f"({rates['compiled'][1] / rates['eager'][1]:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="synthvi-cpu")
    parser.add_argument("--iters", type=int, default=12, help="training iterations per measured epoch")
    parser.add_argument("--rounds", type=int, default=3, help="alternating measurements of each path")
    parser.add_argument("--extract-images", type=int, default=2048, help="training images extracted per round")
    parser.add_argument("--pretrain-steps", type=int, default=8)
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (slow start-up)")
    parser.add_argument("--workers", action="store_true", help="also measure one DataLoader worker process")
    args = parser.parse_args()
    variants = _variants(args.preset, args.iters)
    config = variants["fast"]
    if config.threads:
        torch.set_num_threads(config.threads)
    dataset = prepare_dataset(config, progress=False)
    start = prepare_model(config, progress=False)  # the cached start (trained once if missing)
    source_cfg = synthvi_config(config)  # the source set prepare_model pretrains on (same folder)
    source_root = write_source_set(
        Path("data_cache") / f"synthvi-source-{stable_digest(source_cfg.to_dict())}", source_cfg, progress=False
    )
    source = source_samples(source_root)
    samples = list(dataset.train)[: args.extract_images]
    plan = plan_for_config(config, torch.device("cpu"))
    print(
        f"preset {args.preset}: {len(dataset.train)} training images; fast path here = {plan.name}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    rates: dict[str, dict[str, list[float]]] = {
        k: {"step": [], "network": [], "extract": [], "pretrain": []} for k in variants
    }
    records = []
    for _ in range(args.rounds):
        for name, cfg in variants.items():
            record = _epoch(cfg, dataset, start)
            rates[name]["step"].append(record["images_per_second"])
            rates[name]["network"].append(_network_rate(cfg, start))
            rates[name]["extract"].append(_extraction_rate(cfg, start, samples, name == "fast"))
            rates[name]["pretrain"].append(_pretrain_rate(cfg, start, source, args.pretrain_steps))
            if name == "fast":
                records.append(record)
    print(f"\n{'img/s (median of ' + str(args.rounds) + ')':<28}{'float32':>10}{'fast':>10}{'ratio':>8}")
    for what, label in (
        ("step", "training step"),
        ("network", "  of which the network alone"),
        ("extract", "feature extraction"),
        ("pretrain", "source pretraining"),
    ):
        a, b = statistics.median(rates["float32"][what]), statistics.median(rates["fast"][what])
        print(f"{label:<28}{a:>10.0f}{b:>10.0f}{b / a:>7.2f}x")
    parts = ("extract", "association", "iterations")
    split = {k: float(np.median([r[f"seconds_{k}"] for r in records])) for k in parts}
    total = sum(split.values())
    per_iter = split["iterations"] / args.iters
    augment = _augmentation_seconds(config, dataset)
    print(
        f"augmentations of one training step: {augment:.3f} s, {100 * augment / per_iter:.0f} % of the fast path's step"
    )
    print(
        f"\nfast-path stage-1 epoch ({args.iters} iterations): "
        + ", ".join(f"{k} {v:.1f} s ({100 * v / total:.0f} %)" for k, v in split.items())
        + f"; {per_iter:.2f} s per iteration"
    )
    if args.workers:
        # DataLoader worker processes on 2 cores: the engine loads in-process on CPU; one worker would
        # overlap decoding/augmentation with the step but competes with torch's two threads.
        rates_w = {}
        for workers in (0, 1):
            Engine._workers = lambda self, n=workers: n  # type: ignore[method-assign]
            rates_w[workers] = _epoch(config, dataset, start)["images_per_second"]
        print(f"training step with 0 / 1 DataLoader workers: {rates_w[0]:.0f} / {rates_w[1]:.0f} img/s")
    if args.compile:
        _compile_probe(config, dataset, start)


if __name__ == "__main__":
    main()
