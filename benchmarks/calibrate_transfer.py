"""SynthVI calibration probe: how learnable is the cross-modality match of a generator design?

Not a benchmark of speed and not part of ``make benchmarks`` (a few minutes per mode). Used for
docs/synthvi-calibration.md, "Data probes". It generates the SYSU-layout target set of a SynthVI design
(the ``synthvi-cpu`` sizes), builds the ``synthvi-cpu`` network at ``--width`` from a seeded random
initialisation and trains it with TRUE target-train labels, then evaluates SYSU all-search (IR
queries, visible gallery, 3 trials) on the test identities. Modes:

* ``shared``: one class per person, visible and infrared images together (a supervised cross-modality
  model: if this is low, the data is ambiguous across modalities);
* ``sep``: one class per person *within each modality*, one classifier per modality (what
  intra-modality learning alone can transfer across modalities, from a random start);
* ``none``: no training, the starting weights evaluated as they are.

``--start FILE`` begins every mode from a checkpoint's weights (e.g. the shipped
``models/synthvi/synthvi-cpu/start.pt``) instead of the random initialisation: ``sep`` from the start
is then the ceiling of stage 1 (intra-modality learning with *true* labels, nothing tying the modalities).

Prints one JSON object: the design's overrides, and R1 / mAP (%) and seconds per mode.

``--config KEY=VALUE`` overrides the preset itself, e.g. ``--config model.arch=effnet_lite0 --config
model.pretrained=imagenet`` measures the packaged ImageNet EfficientNet-Lite0 as the start.

Usage: .venv/bin/python benchmarks/calibrate_transfer.py --set ir_lum_mix=0.55 --set ir_response=luminance \
           --set lookalike_same_fabric=false [--modes shared,sep] [--steps 600] [--start FILE] [--out FILE]
           [--config KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from vireid_core.compute import ComputePlan, plan_for_config
from vireid_core.config import get_preset
from vireid_core.data import load_dataset
from vireid_core.data.images import ImageListDataset
from vireid_core.data.records import INFRARED, VISIBLE, Sample
from vireid_core.data.synthvi import write_dataset
from vireid_core.learning.checkpoints import load_checkpoint, load_model_weights
from vireid_core.learning.pretrain import _batches, _transform, pretrain_on_source
from vireid_core.model import build_from_config
from vireid_core.workflow import evaluate_run, synthvi_config


def _parse(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:  # a bare word such as luminance or effnet_lite0
        return key, value


def train_per_modality(
    model: nn.Module, samples: list[Sample], steps: int, plan: ComputePlan, *, batch_size: int = 64, seed: int = 1
) -> None:
    """Identity classification within each modality: half of each step's images are visible and scored
    by a visible-only classifier, half infrared and scored by an infrared-only one. No loss compares a
    visible image with an infrared one."""
    pids = np.array([s.pid for s in samples])
    modality = np.array([s.modality for s in samples])
    datasets, heads = [], []
    for m in (VISIBLE, INFRARED):
        rows = np.flatnonzero(modality == m)
        classes, labels = np.unique(pids[rows], return_inverse=True)
        datasets.append(
            ImageListDataset([samples[i] for i in rows], [_transform(m, 128, 64, 0.5)], labels, cache_images=True)
        )
        heads.append(nn.Linear(model.feature_dim, classes.size, bias=False))
    torch.manual_seed(seed)
    for head in heads:
        nn.init.normal_(head.weight, std=0.001)
    plan.prepare_model(model)
    model.train()
    params = list(model.parameters()) + [p for head in heads for p in head.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3, weight_decay=5e-4)
    streams = [
        iter(DataLoader(d, batch_sampler=_batches(len(d), batch_size // 2, steps, np.random.default_rng(seed + m))))
        for m, d in enumerate(datasets)
    ]
    for _ in range(steps):
        loss = torch.zeros(())
        for m, (stream, head) in enumerate(zip(streams, heads, strict=True)):
            views, targets, _ = next(stream)
            images = plan.images(views[:, 0])
            with plan.autocast():
                features = model(images, torch.full((images.shape[0],), m, dtype=torch.long))
            loss = loss + F.cross_entropy(head(features.float()), targets, label_smoothing=0.1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        type=_parse,
        metavar="FIELD=VALUE",
        help="a SynthVIConfig field, e.g. ir_lum_mix=0.55",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        type=_parse,
        metavar="KEY=VALUE",
        help="a run-config override of the synthvi-cpu preset, e.g. model.arch=effnet_lite0",
    )
    parser.add_argument("--modes", default="shared,sep")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument(
        "--start",
        type=Path,
        default=None,
        help="begin from this checkpoint's weights (default: seeded random initialisation)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    config = get_preset("synthvi-cpu", {"model.width_multiplier": args.width, **dict(args.config)})
    torch.set_num_threads(config.threads)
    synth = dataclasses.replace(synthvi_config(config), **dict(args.set))
    plan = plan_for_config(config, torch.device("cpu"))
    report: dict[str, Any] = {
        "overrides": dict(args.set),
        "config": dict(args.config),
        "steps": args.steps,
        "width": args.width,
        "start": str(args.start) if args.start else "random",
    }
    with tempfile.TemporaryDirectory() as scratch:
        dataset = load_dataset("sysu", write_dataset(Path(scratch) / "sysu", "sysu", synth, progress=False))
        for mode in args.modes.split(","):
            model = build_from_config(config.model, seed=1)
            if args.start:
                load_model_weights(model, load_checkpoint(args.start)["model"], f"start weights {args.start}")
            started = time.perf_counter()
            if mode == "shared":
                pretrain_on_source(
                    model,
                    list(dataset.train),
                    iterations=args.steps,
                    batch_size=64,
                    lr=1e-3,
                    seed=1,
                    progress=False,
                    plan=plan,
                    visible_channel_aug=0.5,
                )
            elif mode == "sep":
                train_per_modality(model, list(dataset.train), args.steps, plan)
            elif mode != "none":
                raise SystemExit(f"unknown mode {mode!r}; expected shared, sep or none")
            model.eval()
            metrics = next(
                iter(evaluate_run(model, dataset, config, trials=3, progress=False, settings="all").values())
            )
            report[mode] = {
                "R1": round(100 * metrics["rank1"], 2),
                "mAP": round(100 * metrics["mAP"], 2),
                "seconds": round(time.perf_counter() - started),
            }
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
