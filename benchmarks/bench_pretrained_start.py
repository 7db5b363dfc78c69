"""Which pretrained start should the SynthVI CPU presets use? Measured on the synthvi-cpu data.

For each candidate start (random init; ImageNet EfficientNet-Lite0 shipped in a wheel; supervised
pretraining on the disjoint labelled SynthVI source set) this prints, on the *target* set:
  - the modality gap and the cross-modality share of the 20 nearest neighbours (the bias),
  - infrared→visible all-search Rank-1 / mAP before any unsupervised training (the usable signal),
  - plain Jaccard vs modality-aware Jaccard + DBSCAN: mixed-modality clusters, ARI, cross-pair precision.
ImageNet features carry the modality bias on SYSU-MM01; the start we want shows the bias *and* a
cross-modality signal that the modality-aware association can recover.

Run: .venv/bin/python benchmarks/bench_pretrained_start.py [--starts random,effnet,source]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from vireid_core.association import (
    cluster_dbscan,
    clustering_report,
    jaccard_distance,
    knn_modality_composition,
    modality_aware_jaccard,
    modality_gap,
)
from vireid_core.config import get_preset
from vireid_core.data.transforms import cluster_transform
from vireid_core.evaluation import evaluate, extract_features
from vireid_core.evaluation.report import mean_metrics
from vireid_core.workflow import prepare_dataset, prepare_model


def _config(start: str):
    if start == "random":
        return get_preset("synthvi-cpu", {"pretrain.enabled": False})
    if start == "effnet":
        return get_preset(
            "synthvi-cpu", {"pretrain.enabled": False, "model.arch": "effnet_lite0", "model.pretrained": "imagenet"}
        )
    if start == "source":
        return get_preset("synthvi-cpu")
    raise ValueError(f"unknown start {start!r}; expected random, effnet or source")


def measure(start: str, max_train: int) -> dict[str, float]:
    config = _config(start)
    dataset = prepare_dataset(config, progress=False)
    t0 = time.perf_counter()
    model = prepare_model(config, progress=False)
    prep = time.perf_counter() - t0
    model.eval()
    rng = np.random.default_rng(0)
    train = [
        dataset.train[i]
        for i in np.sort(rng.choice(len(dataset.train), min(max_train, len(dataset.train)), replace=False))
    ]
    feats = extract_features(model, train, cluster_transform(config.data.height, config.data.width), progress=False)
    modality = np.array([s.modality for s in train])
    ids = np.array([s.pid for s in train])
    gap = modality_gap(feats, modality, ids)
    comp = knn_modality_composition(feats, modality, ks=(20,))
    report = mean_metrics(
        evaluate(
            model,
            dataset,
            mode="all",
            trials=range(3),
            height=config.data.height,
            width=config.data.width,
            progress=False,
        )
    )["all"]
    g = config.global_clustering  # (k1, k2 equal the intra clustering's in every preset)
    k1, k2, eps = g.k1, g.k2, g.eps
    plain = clustering_report(cluster_dbscan(jaccard_distance(feats, k1, k2), eps), modality, ids)
    maj = clustering_report(cluster_dbscan(modality_aware_jaccard(feats, modality, k1, k2), eps), modality, ids)
    return {
        "prep_s": prep,
        "gap": gap,
        "comp": comp,
        "r1": 100 * report["rank1"],
        "mAP": 100 * report["mAP"],
        "plain": plain,
        "maj": maj,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", default="random,effnet,source")
    parser.add_argument("--max-train", type=int, default=3000, help="training images used for the statistics")
    args = parser.parse_args()
    torch.set_num_threads(2)
    for start in args.starts.split(","):
        m = measure(start.strip(), args.max_train)
        print(f"\n== start: {start}  (preparation {m['prep_s']:.0f} s)")
        print(f"modality gap: {m['gap']}")
        print(f"cross-modality share of top-20: {m['comp']}")
        print(f"IR->visible all-search before training: R1 {m['r1']:.1f}  mAP {m['mAP']:.1f}")
        for name in ("plain", "maj"):
            r = m[name]
            print(
                f"{name:>5} Jaccard+DBSCAN: clusters {r['n_clusters']}  mixed {r['mixed_cluster_fraction']:.2f}  "
                f"ARI {r['ari']:.3f}  x-pair precision {r.get('cross_modality_pair_precision', float('nan')):.3f}"
            )


if __name__ == "__main__":
    main()
