"""CPU training throughput of the two-stream models (forward + backward + Adam step).

Prints images per second for each architecture. Setup as in the SynthVI feasibility note: batch 64,
128 x 64 input, half visible / half infrared rows, hybrid-memory loss over 100 clusters, Adam.
``agw_resnet50`` runs at 288 x 144 (the paper's input) with a smaller batch and few iterations.

    .venv/bin/python benchmarks/model_throughput.py [--threads 2] [--iterations 5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from vireid_core.learning.memories import HybridMemory
from vireid_core.model import build_model


def measure(
    arch: str, kw: dict, *, batch: int, height: int, width: int, iterations: int, warmup: int = 1
) -> tuple[float, float]:
    """Returns (train img/s, eval img/s) for one configuration."""
    model = build_model(arch, seed=0, **kw)
    memory = HybridMemory(torch.randn(100, model.feature_dim))
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3.5e-4, weight_decay=5e-4)
    images = torch.randn(batch, 3, height, width)
    modality = (torch.arange(batch) >= batch // 2).long()
    targets = torch.randint(0, 100, (batch,), generator=torch.Generator().manual_seed(0))
    model.train()
    for step in range(warmup + iterations):
        if step == warmup:
            started = time.perf_counter()
        loss = memory.loss(model(images, modality), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    train_rate = batch * iterations / (time.perf_counter() - started)
    model.eval()
    with torch.no_grad():
        model(images, modality)
        started = time.perf_counter()
        for _ in range(iterations):
            model(images, modality)
    eval_rate = batch * iterations / (time.perf_counter() - started)
    return train_rate, eval_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="skip agw_resnet50")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.2f}")
    configs = [
        ("resnet18_small", {"width": 1.0, "last_stride": 2}, "width 1.0, last stride 2"),
        ("resnet18_small", {"width": 0.5, "last_stride": 2}, "width 0.5, last stride 2"),
        ("resnet18_small", {"width": 0.5, "last_stride": 1}, "width 0.5, last stride 1"),
        ("resnet18_small", {"width": 0.25, "last_stride": 2}, "width 0.25, last stride 2"),
        ("effnet_lite0", {}, ""),
    ]
    print(f"{'model':<16} {'options':<28} {'input':>8} {'batch':>5} {'train img/s':>12} {'eval img/s':>11}")
    for arch, kw, note in configs:
        train_rate, eval_rate = measure(arch, kw, batch=64, height=128, width=64, iterations=args.iterations)
        print(f"{arch:<16} {note:<28} {'128x64':>8} {64:>5} {train_rate:>12.1f} {eval_rate:>11.1f}")
    if not args.quick:
        train_rate, eval_rate = measure("agw_resnet50", {}, batch=16, height=288, width=144, iterations=2)
        print(
            f"{'agw_resnet50':<16} {'reference (NL, stride 1)':<28} {'288x144':>8} {16:>5} "
            f"{train_rate:>12.1f} {eval_rate:>11.1f}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
