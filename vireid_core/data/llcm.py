"""LLCM reader (`idx/test_id.txt`, `idx/train_{vis,nir}.txt`, `test_vis/camN/PPPP/…`, `test_nir/camN/PPPP/…`).

Splits (docs/datasets/llcm.md; the test protocol is docs/method.md §9):
* train = the images listed in `idx/train_vis.txt` (modality 0) and `idx/train_nir.txt` (modality 1),
  lines `<relative path> <label>`; the camera is the number after `_c` in the *file name*
  (e.g. `..._c05_...jpg` → 5); sorted by path within each modality, visible first.
* query = every NIR test image of the `idx/test_id.txt` ids: ids ascending, camera folders ascending,
  file names sorted. gallery_candidates = every VIS test image, same order.

Camera and id of test images come from the folder structure (`camN` folder, then the person folder),
never from splitting the full path on "cam", so a root whose path contains "cam" is fine.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from vireid_core.data.dataset import ReIDDataset
from vireid_core.data.layout import (
    absolute_root,
    camera_folders,
    list_images,
    person_folders,
    read_id_line,
    read_index_file,
    require_dir,
    resolve_listed_file,
)
from vireid_core.data.records import INFRARED, VISIBLE, Sample
from vireid_core.errors import PathMissingError, UserError

_CAMERA_IN_NAME = re.compile(r"_c(\d+)")


def load_llcm(root: str | os.PathLike[str], *, name: str = "llcm") -> ReIDDataset:
    """Reads LLCM.

    Returns a `ReIDDataset` with protocol "llcm"; `info == {"test_ids": [...]}`.
    Raises FileNotFoundError for a missing idx file, test folder or listed image; ValueError for a
    malformed idx line, a file name without `_c<digits>`, a test id found in no camera folder, an
    empty modality, or a non-image file inside a person folder.
    """
    root_path = absolute_root(root, "LLCM")
    idx_dir = require_dir(
        root_path / "idx", "the LLCM split folder 'idx' with test_id.txt, train_vis.txt, train_nir.txt"
    )
    test_ids = read_id_line(idx_dir / "test_id.txt")
    train_visible = sorted(_read_train_list(root_path, idx_dir / "train_vis.txt", VISIBLE), key=lambda s: s.path)
    train_infrared = sorted(_read_train_list(root_path, idx_dir / "train_nir.txt", INFRARED), key=lambda s: s.path)
    # No train/test id overlap check: idx label values may be re-numbered relative to the folder ids.
    folders = {
        modality: _camera_people(root_path / folder_name)
        for modality, folder_name in ((VISIBLE, "test_vis"), (INFRARED, "test_nir"))
    }
    missing = [
        pid for pid in test_ids if not any(pid in people for cams in folders.values() for people in cams.values())
    ]
    if missing:
        raise UserError(
            f"{idx_dir / 'test_id.txt'}: ids {missing[:10]} are listed but have no person "
            f"folder in any camera of {root_path / 'test_vis'} or {root_path / 'test_nir'}"
        )
    query = _gather(test_ids, folders[INFRARED], INFRARED)
    gallery = _gather(test_ids, folders[VISIBLE], VISIBLE)
    for label, samples, where in (
        ("training visible", train_visible, idx_dir / "train_vis.txt"),
        ("training infrared", train_infrared, idx_dir / "train_nir.txt"),
        ("test NIR (query)", query, root_path / "test_nir"),
        ("test VIS (gallery)", gallery, root_path / "test_vis"),
    ):
        if not samples:
            raise UserError(f"{where}: no {label} images; expected images of the split's ids")
    return ReIDDataset(
        name=name,
        root=str(root_path),
        train=train_visible + train_infrared,
        query=query,
        gallery_candidates=gallery,
        protocol="llcm",
        info={"test_ids": test_ids},
    )


def _read_train_list(root: Path, index_file: Path, modality: int) -> list[Sample]:
    samples = []
    for relative, label, line_number in read_index_file(index_file):
        path = resolve_listed_file(root, relative, index_file, line_number)
        match = _CAMERA_IN_NAME.search(path.name)
        if match is None:
            raise UserError(
                f"{index_file}, line {line_number}: file name {path.name!r} has no camera tag; "
                f"expected '_c<digits>' in the name (e.g. '0001_c05_f123_nir.jpg')"
            )
        samples.append(Sample(path=str(path), pid=label, cam=int(match.group(1)), modality=modality))
    return samples


def _camera_people(test_dir: Path) -> dict[int, dict[int, Path]]:
    """{camera: {pid: person folder}} of one test folder (test_vis or test_nir)."""
    require_dir(test_dir, "an LLCM test folder with cam<N>/<PPPP>/ sub-folders")
    cams = camera_folders(test_dir)
    if not cams:
        raise PathMissingError(f"{test_dir}: no camera folders; expected sub-folders cam1, cam2, ...")
    return {cam: person_folders(folder) for cam, folder in sorted(cams.items())}


def _gather(pids: list[int], camera_people: dict[int, dict[int, Path]], modality: int) -> list[Sample]:
    samples: list[Sample] = []
    for pid in sorted(pids):
        for cam in sorted(camera_people):
            folder = camera_people[cam].get(pid)
            if folder is not None:
                samples.extend(
                    Sample(path=str(image), pid=pid, cam=cam, modality=modality) for image in list_images(folder)
                )
    return samples
