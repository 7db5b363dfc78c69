"""SynthVI benchmark: generation speed and the modality bias of random-CNN features.

Prints
1. render speed (images/s, in memory) at 128x64 and 288x144, and the speed of writing a SYSU-layout
   set to disk (render + JPEG);
2. on random-CNN features (torchvision resnet18, weights=None, seeded; global average pooling) of
   SynthVI images: mean cosine distance by (same / different identity) x (same / cross modality),
   the fraction of cross-modality entries in top-20 neighbour lists against chance, and the
   fraction of same-identity entries; for raw L2-normalised and for mean-centred features.

Usage: .venv/bin/python benchmarks/bench_synthvi.py [--ids 100] [--per-camera 4] [--full]
(--full also writes the whole default SYSU-layout set once and times it).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchvision

from vireid_core.data.records import INFRARED, VISIBLE
from vireid_core.data.synthvi import SynthVIConfig, SynthWorld, write_sysu_layout
from vireid_core.data.synthvi.cameras import SYSU_CAMERAS
from vireid_core.data.synthvi.config import STREAM_TARGET
from vireid_core.data.synthvi.generator import sysu_presence


def render_speed(config: SynthVIConfig, n_ids: int = 12) -> float:
    """Images per second of in-memory rendering (every camera, 2 images per camera)."""
    world = SynthWorld.build(config, STREAM_TARGET, n_ids, SYSU_CAMERAS)
    start, count = time.perf_counter(), 0
    for pid in range(1, n_ids + 1):
        for spec in SYSU_CAMERAS:
            for index in (1, 2):
                world.render(pid, spec.cam, index)
                count += 1
    return count / (time.perf_counter() - start)


def write_speed(config: SynthVIConfig) -> tuple[float, int]:
    """(images per second, image count) of `write_sysu_layout` into a temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        root = write_sysu_layout(Path(tmp) / "sysu", config, progress=False)
        elapsed = time.perf_counter() - start
        count = sum(1 for _ in root.glob("cam*/*/*.jpg"))
    return count / elapsed, count


def sample_images(config: SynthVIConfig, n_ids: int, per_camera: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to `per_camera` images per (id, present camera) of the first `n_ids` identities.

    Returns (images uint8 [N, H, W, 3], pids [N], modality [N]).
    """
    world = SynthWorld.build(config, STREAM_TARGET, n_ids, SYSU_CAMERAS)
    presence = sysu_presence(config, STREAM_TARGET, n_ids, SYSU_CAMERAS)
    images, pids, modality = [], [], []
    for pid in range(1, n_ids + 1):
        for cam, n_images in presence[pid].items():
            for index in range(1, min(n_images, per_camera) + 1):
                images.append(world.render(pid, cam, index))
                pids.append(pid)
                modality.append(world.camera(cam).modality)
    return np.stack(images), np.asarray(pids), np.asarray(modality)


@torch.no_grad()
def random_cnn_features(images: np.ndarray, seed: int = 0, batch_size: int = 128) -> np.ndarray:
    """Global-average-pooled features of a randomly initialised resnet18: float32 [N, 512]."""
    torch.manual_seed(seed)
    model = torchvision.models.resnet18(weights=None)
    model.fc = torch.nn.Identity()
    model.eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    out = []
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(images[start : start + batch_size]).permute(0, 3, 1, 2).float() / 255.0
        out.append(model((batch - mean) / std).numpy())
    return np.concatenate(out).astype(np.float32)


def _normalise(features: np.ndarray) -> np.ndarray:
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def bias_statistics(features: np.ndarray, pids: np.ndarray, modality: np.ndarray, k: int = 20) -> dict:
    """Modality-bias figures of L2-normalised `features` (cosine distance 1 - cos).

    Returns a dict: mean distance for each of the four (identity, modality) pair groups; per query
    modality the fraction of cross-modality entries among the k nearest neighbours and its chance
    level; the fraction of same-identity entries among them; IR->visible rank-1 (nearest visible
    image has the query's identity).
    """
    f = _normalise(features)
    dist = 1.0 - f @ f.T
    n = len(f)
    same_id = pids[:, None] == pids[None, :]
    same_mod = modality[:, None] == modality[None, :]
    off_diagonal = ~np.eye(n, dtype=bool)
    groups = {
        "same-id same-mod": same_id & same_mod & off_diagonal,
        "same-id cross-mod": same_id & ~same_mod,
        "diff-id same-mod": ~same_id & same_mod,
        "diff-id cross-mod": ~same_id & ~same_mod,
    }
    stats: dict = {name: float(dist[mask].mean()) for name, mask in groups.items()}
    ranked = np.argsort(np.where(off_diagonal, dist, np.inf), axis=1, kind="stable")[:, :k]
    cross = modality[ranked] != modality[:, None]
    for mod, label in ((VISIBLE, "visible"), (INFRARED, "infrared")):
        rows = modality == mod
        stats[f"cross-mod in top-{k} ({label} queries)"] = float(cross[rows].mean())
        stats[f"chance ({label} queries)"] = float((modality != mod).sum() / (n - 1))
    stats[f"same-id in top-{k}"] = float((pids[ranked] == pids[:, None]).mean())
    ir, vis = np.flatnonzero(modality == INFRARED), np.flatnonzero(modality == VISIBLE)
    nearest_visible = vis[np.argmin(dist[np.ix_(ir, vis)], axis=1)]
    stats["IR->VIS rank-1"] = float((pids[nearest_visible] == pids[ir]).mean())
    stats["IR->VIS rank-1 chance"] = 1.0 / len(np.unique(pids))
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=100, help="identities for the bias statistics")
    parser.add_argument("--per-camera", type=int, default=4, help="images per (id, camera) for the statistics")
    parser.add_argument("--full", action="store_true", help="also write and time the whole default SYSU set")
    args = parser.parse_args()
    torch.set_num_threads(1)

    print("== generation speed (1 process) ==")
    for config in (SynthVIConfig(), SynthVIConfig.hires()):
        print(f"render {config.height}x{config.width}: {render_speed(config):8.0f} images/s (in memory)")
    small = SynthVIConfig(n_train_ids=20, n_val_ids=0, n_test_ids=10)
    rate, count = write_speed(small)
    print(f"write_sysu_layout 128x64 (30 ids, {count} images): {rate:8.0f} images/s (render + JPEG)")
    rate, count = write_speed(SynthVIConfig.hires().with_(n_train_ids=5, n_val_ids=0, n_test_ids=5))
    print(f"write_sysu_layout 288x144 (10 ids, {count} images): {rate:8.0f} images/s (render + JPEG)")
    if args.full:
        start = time.perf_counter()
        rate, count = write_speed(SynthVIConfig())
        print(f"default SYSU set: {count} images in {count / rate:.1f} s ({rate:.0f} images/s)")

    for label, config in (
        ("default (ir_lum_mix 0.8, near-infrared dye response)", SynthVIConfig()),
        ("hard mode (ir_lum_mix 0)", SynthVIConfig(ir_lum_mix=0.0)),
    ):
        images, pids, modality = sample_images(config, args.ids, args.per_camera)
        start = time.perf_counter()
        features = random_cnn_features(images)
        elapsed = time.perf_counter() - start
        print(
            f"\n== modality bias, random resnet18 (seed 0), {label}: {len(images)} images "
            f"({(modality == VISIBLE).sum()} visible, {(modality == INFRARED).sum()} IR), "
            f"{args.ids} ids; features in {elapsed:.1f} s =="
        )
        for variant, feats in (("raw", features), ("mean-centred", features - features.mean(axis=0))):
            stats = bias_statistics(feats, pids, modality)
            print(f"-- {variant} features --")
            for name, value in stats.items():
                print(f"  {name:38s} {value:.4f}")
            ratio = stats["same-id cross-mod"] / stats["diff-id same-mod"]
            print(f"  {'ratio same-id cross / diff-id same':38s} {ratio:.3f}")


if __name__ == "__main__":
    main()
