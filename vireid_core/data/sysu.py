"""SYSU-MM01 reader for the official layout (`cam1..cam6/PPPP/NNNN.jpg`, `exp/*_id.txt`).

Splits (docs/method.md §8 for training, §9 for the test protocol):
* train = ids of `exp/train_id.txt` ∪ `exp/val_id.txt`, all six cameras; visible cams 1, 2, 4, 5
  (modality 0) and infrared cams 3, 6 (modality 1); sorted by path within each modality, visible
  list then infrared list.
* query = every infrared image of the `exp/test_id.txt` ids: ids ascending, cam3 then cam6, file
  names sorted.
* gallery_candidates = every visible image of the test ids: ids ascending, cameras [1, 2, 4, 5],
  file names sorted. The evaluator draws single-/multi-shot galleries from it by (pid, cam).

Camera and id come from the folder structure (never from character positions in the path).
"""

from __future__ import annotations

import os
from pathlib import Path

from vireid_core.data.dataset import ReIDDataset
from vireid_core.data.layout import absolute_root, list_images, person_folders, read_id_line, require_dir
from vireid_core.data.records import INFRARED, VISIBLE, Sample
from vireid_core.errors import UserError

VISIBLE_CAMS = (1, 2, 4, 5)
INFRARED_CAMS = (3, 6)
SPLIT_FILES = {"train": "train_id.txt", "val": "val_id.txt", "test": "test_id.txt"}


def load_sysu(root: str | os.PathLike[str], *, name: str = "sysu") -> ReIDDataset:
    """Reads SYSU-MM01 from its official layout.

    Returns a `ReIDDataset` with protocol "sysu"; `info` holds the id lists
    ({"train_ids": [...], "val_ids": [...], "test_ids": [...]}). `val_id.txt` and `test_id.txt` may
    hold an empty first line (no ids; with no test ids, query and gallery_candidates are empty) —
    the SynthVI labelled source set is written that way; `train_id.txt` must list ids.
    Raises FileNotFoundError for a missing camera folder or split file, ValueError for an id listed
    in a split but present in no camera, an empty modality, or a non-image file in a person folder.
    """
    root_path = absolute_root(root, "SYSU-MM01")
    exp_dir = require_dir(
        root_path / "exp", "the SYSU-MM01 split folder 'exp' with train_id.txt, val_id.txt, test_id.txt"
    )
    # val and test may hold an empty line (e.g. the SynthVI labelled source set): no ids then.
    ids = {
        split: read_id_line(exp_dir / file_name, allow_empty=split != "train")
        for split, file_name in SPLIT_FILES.items()
    }
    overlap = sorted(set(ids["test"]) & (set(ids["train"]) | set(ids["val"])))
    if overlap:
        raise UserError(
            f"{exp_dir / SPLIT_FILES['test']}: test ids {overlap[:10]} also appear in "
            f"train_id.txt/val_id.txt; expected disjoint splits"
        )
    camera_people = {
        cam: person_folders(
            require_dir(root_path / f"cam{cam}", f"SYSU-MM01 camera folder cam{cam} with one sub-folder per person")
        )
        for cam in sorted(VISIBLE_CAMS + INFRARED_CAMS)
    }
    train_ids = sorted(set(ids["train"]) | set(ids["val"]))
    for split, split_ids in (("train", ids["train"]), ("val", ids["val"]), ("test", ids["test"])):
        _require_present(split_ids, camera_people, root_path, exp_dir / SPLIT_FILES[split])

    train_visible = sorted(_gather(train_ids, VISIBLE_CAMS, camera_people, VISIBLE), key=lambda s: s.path)
    train_infrared = sorted(_gather(train_ids, INFRARED_CAMS, camera_people, INFRARED), key=lambda s: s.path)
    query = _gather(ids["test"], INFRARED_CAMS, camera_people, INFRARED)
    gallery = _gather(ids["test"], VISIBLE_CAMS, camera_people, VISIBLE)
    for label, samples, cams in (
        ("training visible", train_visible, VISIBLE_CAMS),
        ("training infrared", train_infrared, INFRARED_CAMS),
        ("test infrared (query)", query, INFRARED_CAMS),
        ("test visible (gallery)", gallery, VISIBLE_CAMS),
    ):
        if not samples and (ids["test"] or label.startswith("training")):
            folders = ", ".join(str(root_path / f"cam{c}") for c in cams)
            raise UserError(
                f"{root_path}: no {label} images found in {folders}; expected person "
                f"folders of the split's ids holding .jpg images"
            )
    return ReIDDataset(
        name=name,
        root=str(root_path),
        train=train_visible + train_infrared,
        query=query,
        gallery_candidates=gallery,
        protocol="sysu",
        info={f"{split}_ids": split_ids for split, split_ids in ids.items()},
    )


def _require_present(
    split_ids: list[int], camera_people: dict[int, dict[int, Path]], root: Path, split_file: Path
) -> None:
    missing = [pid for pid in split_ids if not any(pid in people for people in camera_people.values())]
    if missing:
        raise UserError(
            f"{split_file}: ids {missing[:10]}{' ...' if len(missing) > 10 else ''} are listed "
            f"but have no person folder in any camera under {root}; expected e.g. "
            f"{root / 'cam1' / f'{missing[0]:04d}'}"
        )


def _gather(
    pids: list[int], cams: tuple[int, ...], camera_people: dict[int, dict[int, Path]], modality: int
) -> list[Sample]:
    """Samples of `pids` (ascending) × `cams` (given order) × sorted files; absent folders skipped."""
    samples: list[Sample] = []
    for pid in sorted(pids):
        for cam in cams:
            folder = camera_people[cam].get(pid)
            if folder is None:
                continue
            samples.extend(
                Sample(path=str(image), pid=pid, cam=cam, modality=modality) for image in list_images(folder)
            )
    return samples
