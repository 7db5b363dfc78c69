"""Writers of SynthVI sets in the official SYSU-MM01 and RegDB on-disk layouts.

SYSU-MM01: `cam1..cam6/PPPP/NNNN.jpg` (cams 3 and 6 infrared), `exp/{train,val,test,available}_id.txt`
(one comma-separated line). RegDB: `Visible/<n>/*.bmp`, `Thermal/<n>/*.bmp` and
`idx/{train,test}_{visible,thermal}_{t}.txt` (`<relative path> <label>` lines), t = 1..trials.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from vireid_core.data.records import VISIBLE
from vireid_core.data.synthvi.cameras import REGDB_CAMERAS, SYSU_CAMERAS
from vireid_core.data.synthvi.config import STREAM_SOURCE, STREAM_TARGET, SynthVIConfig
from vireid_core.data.synthvi.generator import SynthWorld, split_ids, stream_rng, sysu_presence
from vireid_core.data.synthvi.manifest import prepare_output_dir, write_manifest

LAYOUTS = ("sysu", "regdb")
STREAM_REGDB = 2  # RegDB persons are their own stream (their own set of identities)
_REGDB_TRIALS = 7  # purpose code of the RegDB trial splits


def _ids_line(ids: list[int]) -> str:
    return ",".join(str(i) for i in ids) + "\n"


def _write_sysu(
    out_dir: Path,
    config: SynthVIConfig,
    stream: int,
    n_ids: int,
    splits: tuple[list[int], list[int], list[int]],
    progress: bool,
    desc: str,
) -> dict[str, Any]:
    world = SynthWorld.build(config, stream, n_ids, SYSU_CAMERAS)
    presence = sysu_presence(config, stream, n_ids, SYSU_CAMERAS)
    images_per_cam = {spec.cam: 0 for spec in SYSU_CAMERAS}
    ids_per_cam = {spec.cam: 0 for spec in SYSU_CAMERAS}
    for pid in tqdm(range(1, n_ids + 1), desc=desc, unit="id", disable=not progress):
        for cam, n_images in presence[pid].items():
            folder = out_dir / f"cam{cam}" / f"{pid:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(1, n_images + 1):
                pixels = world.render(pid, cam, index)
                Image.fromarray(pixels).save(folder / f"{index:04d}.jpg", format="JPEG", quality=config.jpeg_quality)
            images_per_cam[cam] += n_images
            ids_per_cam[cam] += 1
    for spec in SYSU_CAMERAS:  # every camera folder exists, as in the real set
        (out_dir / f"cam{spec.cam}").mkdir(exist_ok=True)
    exp = out_dir / "exp"
    exp.mkdir(exist_ok=True)
    train, val, test = splits
    (exp / "train_id.txt").write_text(_ids_line(train))
    (exp / "val_id.txt").write_text(_ids_line(val))
    (exp / "test_id.txt").write_text(_ids_line(test))
    (exp / "available_id.txt").write_text(_ids_line(sorted(train + val + test)))
    visible = sum(n for cam, n in images_per_cam.items() if world.camera(cam).modality == VISIBLE)
    return {
        "identities": n_ids,
        "train_ids": len(train),
        "val_ids": len(val),
        "test_ids": len(test),
        "visible_images": visible,
        "infrared_images": sum(images_per_cam.values()) - visible,
        "images_per_camera": {f"cam{c}": n for c, n in images_per_cam.items()},
        "ids_per_camera": {f"cam{c}": n for c, n in ids_per_cam.items()},
        "test_ids_in_cam1": sum(1 for p in test if 1 in presence[p]),
    }


def write_sysu_layout(out_dir: str | Path, config: SynthVIConfig | None = None, *, progress: bool = True) -> Path:
    """Write the SynthVI target set in the official SYSU-MM01 layout under `out_dir`.

    Person ids 1..n_target_ids are split (seeded) into train / val / test. Skips the work if
    `out_dir` already holds the same output (same config and generator version). Returns `out_dir`.
    """
    config = config or SynthVIConfig()
    out = Path(out_dir)
    if prepare_output_dir(out, "sysu", config):
        return out
    write_manifest(out, "sysu", config, complete=False)
    splits = split_ids(config, STREAM_TARGET)
    counts = _write_sysu(out, config, STREAM_TARGET, config.n_target_ids, splits, progress, "SynthVI sysu")
    write_manifest(out, "sysu", config, complete=True, counts=counts)
    return out


def write_source_set(out_dir: str | Path, config: SynthVIConfig | None = None, *, progress: bool = True) -> Path:
    """Write the labelled source set: `n_source_ids` identities disjoint from the target set.

    Drawn from a separate random stream (no identity coincides with the target's), written in the
    SYSU-MM01 layout with every id in `exp/train_id.txt`; `val_id.txt` and `test_id.txt` hold an
    empty line. Returns `out_dir`.
    """
    config = config or SynthVIConfig()
    if config.n_source_ids < 1:
        raise ValueError(f"n_source_ids must be >= 1 to write a source set, got {config.n_source_ids}")
    out = Path(out_dir)
    if prepare_output_dir(out, "sysu-source", config):
        return out
    write_manifest(out, "sysu-source", config, complete=False)
    ids = list(range(1, config.n_source_ids + 1))
    counts = _write_sysu(out, config, STREAM_SOURCE, config.n_source_ids, (ids, [], []), progress, "SynthVI source")
    write_manifest(out, "sysu-source", config, complete=True, counts=counts)
    return out


def regdb_file_name(female: bool, back_view: bool, modality: int, person: int, index: int) -> str:
    """RegDB-style file name, e.g. `female_front_v_00123_3.bmp` (`_t_` for thermal)."""
    return (
        f"{'female' if female else 'male'}_{'back' if back_view else 'front'}_"
        f"{'v' if modality == VISIBLE else 't'}_{person:05d}_{index}.bmp"
    )


def regdb_trial_split(config: SynthVIConfig, trial: int) -> tuple[list[int], list[int]]:
    """Seeded (train, test) split of RegDB persons 1..regdb_n_ids for `trial` (1-based): the first
    half (rounded down) of a random permutation trains, the rest tests. Both lists sorted."""
    if not 1 <= trial <= config.regdb_trials:
        raise ValueError(f"trial must be in 1..{config.regdb_trials}, got {trial}")
    order = stream_rng(config, STREAM_REGDB, _REGDB_TRIALS, trial).permutation(config.regdb_n_ids) + 1
    half = config.regdb_n_ids // 2
    return sorted(int(p) for p in order[:half]), sorted(int(p) for p in order[half:])


def write_regdb_layout(out_dir: str | Path, config: SynthVIConfig | None = None, *, progress: bool = True) -> Path:
    """Write `regdb_n_ids` persons in the RegDB layout under `out_dir`. Returns `out_dir`.

    Each person has `regdb_images_per_modality` visible and as many thermal BMP images; visible image
    k and thermal image k share a pose (RegDB records both at once). A person faces the camera or
    walks away for the whole sequence. Split files: for each trial, lines `<relative path> <label>`
    in ascending person order; the label of person folder n is n - 1 in every file and trial, so
    labels identify persons globally (train and test labels never collide).
    """
    config = config or SynthVIConfig()
    out = Path(out_dir)
    if prepare_output_dir(out, "regdb", config):
        return out
    write_manifest(out, "regdb", config, complete=False)
    world = SynthWorld.build(config, STREAM_REGDB, config.regdb_n_ids, REGDB_CAMERAS)
    views = stream_rng(config, STREAM_REGDB, _REGDB_TRIALS, 0).uniform(size=config.regdb_n_ids) < 0.4
    files: dict[int, dict[int, list[str]]] = {}
    for person in tqdm(range(1, config.regdb_n_ids + 1), desc="SynthVI regdb", unit="id", disable=not progress):
        identity = world.identities[person - 1]
        back = bool(views[person - 1])
        files[person] = {}
        for spec in REGDB_CAMERAS:
            top = "Visible" if spec.modality == VISIBLE else "Thermal"
            folder = out / top / str(person)
            folder.mkdir(parents=True, exist_ok=True)
            names = []
            for index in range(1, config.regdb_images_per_modality + 1):
                pixels = world.render(person, spec.cam, index, pose_key=0, back_view=back)
                name = regdb_file_name(identity.female, back, spec.modality, person, index)
                Image.fromarray(pixels).save(folder / name, format="BMP")
                names.append(f"{top}/{person}/{name}")
            files[person][spec.modality] = names
    idx = out / "idx"
    idx.mkdir(exist_ok=True)
    for trial in range(1, config.regdb_trials + 1):
        for split, persons in zip(("train", "test"), regdb_trial_split(config, trial), strict=True):
            for spec in REGDB_CAMERAS:
                kind = "visible" if spec.modality == VISIBLE else "thermal"
                lines = [f"{path} {person - 1}\n" for person in persons for path in files[person][spec.modality]]
                (idx / f"{split}_{kind}_{trial}.txt").write_text("".join(lines))
    n = config.regdb_n_ids * config.regdb_images_per_modality
    counts = {
        "identities": config.regdb_n_ids,
        "visible_images": n,
        "infrared_images": n,
        "trials": config.regdb_trials,
        "train_ids_per_trial": config.regdb_n_ids // 2,
    }
    write_manifest(out, "regdb", config, complete=True, counts=counts)
    return out


def write_dataset(
    out_dir: str | Path, layout: str, config: SynthVIConfig | None = None, *, progress: bool = True
) -> Path:
    """Write the SynthVI target set in `layout` ("sysu" or "regdb") under `out_dir`. Returns `out_dir`."""
    writers = {"sysu": write_sysu_layout, "regdb": write_regdb_layout}
    if layout not in writers:
        raise ValueError(f"unknown SynthVI layout {layout!r}; allowed: {', '.join(LAYOUTS)}")
    if config is not None and not isinstance(config, SynthVIConfig):
        raise TypeError(f"config must be a SynthVIConfig, got {type(config).__name__}")
    return writers[layout](out_dir, config, progress=progress)


def load_images_as_array(paths: list[Path]) -> np.ndarray:
    """Read image files into one uint8 array [N, H, W, 3] (for checks and benchmarks)."""
    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
