"""Training throughput of a preset and where an epoch's time goes (extraction, association, iterations).

Runs one stage-1 epoch and one stage-2 epoch of the preset (default synthvi-cpu) on its data, with the
pretrained start taken from the cache when present, and prints per epoch: images/s during the
iterations and the share of the epoch spent extracting features, associating and iterating.

Run: .venv/bin/python benchmarks/bench_training.py [--preset synthvi-cpu] [--iters N]
"""

from __future__ import annotations

import argparse
import time

from vireid_core.config import get_preset
from vireid_core.learning.callbacks import HistoryRecorder
from vireid_core.learning.engine import Engine
from vireid_core.workflow import prepare_dataset, prepare_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="synthvi-cpu")
    parser.add_argument("--iters", type=int, default=None, help="iterations per epoch (default: the preset's)")
    args = parser.parse_args()
    overrides = {"schedule.epochs_stage1": 1, "schedule.epochs_stage2": 1, "schedule.eval_every": 0}
    if args.iters:
        overrides["schedule.iters"] = args.iters
    config = get_preset(args.preset, overrides)
    t0 = time.perf_counter()
    dataset = prepare_dataset(config, progress=False)
    model = prepare_model(config, progress=False)
    print(f"preset {args.preset}: {len(dataset.train)} training images, data + start model ready in "
          f"{time.perf_counter() - t0:.0f} s")
    recorder = HistoryRecorder()
    Engine(config, dataset, callbacks=[recorder], model=model, progress=False).run()
    print(f"{'epoch':<10}{'seconds':>9}{'img/s':>8}{'extract':>9}{'associate':>11}{'iterate':>9}")
    for r in recorder.records:
        total, name = r["seconds"], f"S{r['stage']}E{r['epoch']}"
        print(f"{name:<10}{total:>9.1f}{r['images_per_second']:>8.0f}"
              f"{100 * r['seconds_extract'] / total:>8.0f}%{100 * r['seconds_association'] / total:>10.0f}%"
              f"{100 * r['seconds_iterations'] / total:>8.0f}%")


if __name__ == "__main__":
    main()
