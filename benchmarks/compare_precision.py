"""The fast CPU path against float32, as accuracy: full ``synthvi-cpu`` runs, paired per seed.

For each seed two runs train from the same cached start (the start's cache key does not depend on the
precision, so the first run of a seed pretrains it and the second reuses it): ``fp32`` (``precision=fp32``,
``channels_last=false``, the path before the fast CPU path) and ``fast`` (the defaults: ``precision=auto``,
bfloat16 autocast on CPUs with bf16 units, channels-last). Each run writes its folder under ``--out``
(config, metrics, results; checkpoints are git-ignored there) and is skipped when its ``results.json``
exists, resumed when only its ``last.pt`` does, so the script can be stopped and started again and
commits whole seeds.

Printed: the final all-search Rank-1 / mAP (stage 2, 10 trials) of each run, the paired difference
fast − fp32 per seed, and the seed standard deviation of each path.

Run: .venv/bin/python benchmarks/compare_precision.py [--seeds 1 2 3] [--out results/precision]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from vireid_core.compute import compute_plan
from vireid_core.config import get_preset
from vireid_core.runs import train_run

PATHS = {"fp32": {"precision": "fp32", "channels_last": False}, "fast": {}}


def _final(results: dict) -> tuple[float, float]:
    """(Rank-1, mAP) in % of the final (stage 2) all-search evaluation in a results.json."""
    final = results["evaluations"]["stage 2"]["all"]
    return 100 * final["rank1"], 100 * final["mAP"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="synthvi-cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", default="results/precision")
    parser.add_argument("--table-only", action="store_true", help="print the table of the finished runs")
    args = parser.parse_args()
    print(f"fast path on this machine: {compute_plan('cpu', 'auto').name}")
    finals: dict[str, dict[int, tuple[float, float]]] = {name: {} for name in PATHS}
    for seed in args.seeds:
        for name, overrides in PATHS.items():
            folder = Path(args.out) / name / f"seed{seed}"
            done = folder / "results.json"
            if not done.is_file() and not args.table_only:
                config = get_preset(args.preset, {"seed": seed, **overrides})
                train_run(config, folder, resume=(folder / "last.pt").is_file(), progress=False)
            if done.is_file():
                finals[name][seed] = _final(json.loads(done.read_text()))
    seeds = [s for s in args.seeds if all(s in finals[n] for n in PATHS)]
    print(f"\n{'seed':>6}{'fp32 R1':>10}{'fast R1':>10}{'Δ R1':>8}{'fp32 mAP':>10}{'fast mAP':>10}{'Δ mAP':>8}")
    for seed in seeds:
        (r_a, m_a), (r_b, m_b) = finals["fp32"][seed], finals["fast"][seed]
        print(f"{seed:>6}{r_a:>10.2f}{r_b:>10.2f}{r_b - r_a:>+8.2f}{m_a:>10.2f}{m_b:>10.2f}{m_b - m_a:>+8.2f}")
    if len(seeds) >= 2:
        for name in PATHS:
            r1 = [finals[name][s][0] for s in seeds]
            print(f"{name}: Rank-1 mean {statistics.mean(r1):.2f}, seed std {statistics.stdev(r1):.2f}")
        deltas = [abs(finals["fast"][s][0] - finals["fp32"][s][0]) for s in seeds]
        print(f"largest paired |Δ Rank-1| {max(deltas):.2f}")


if __name__ == "__main__":
    main()
