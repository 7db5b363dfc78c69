"""RegDB reader (`Visible/`, `Thermal/`, `idx/{train,test}_{visible,thermal}_<trial>.txt`).

Each idx line is `<path relative to the root> <integer label>` (docs/datasets/regdb.md). For one trial:
* train = `train_visible_<t>` (cam 1, modality 0, sorted by path) then `train_thermal_<t>` (cam 2,
  modality 1, sorted by path);
* query = `test_thermal_<t>` (cam 2, modality 1), gallery_candidates = `test_visible_<t>` (cam 1,
  modality 0), both in file order. RegDB is evaluated in both directions (visible→thermal and
  thermal→visible); the evaluator picks the direction, so use `dataset.test_visible` /
  `dataset.test_thermal` rather than reading "query" as a direction.

Camera numbers 1 (visible) and 2 (thermal) are ours: RegDB has one camera per modality. The root may
be given with or without a trailing slash.
"""

from __future__ import annotations

import os
from pathlib import Path

from vireid_core.data.dataset import ReIDDataset
from vireid_core.data.layout import absolute_root, read_index_file, require_dir, resolve_listed_file
from vireid_core.data.records import INFRARED, VISIBLE, Sample
from vireid_core.errors import UserError

REGDB_TRIALS = range(1, 11)
VISIBLE_CAM = 1
THERMAL_CAM = 2


def load_regdb(root: str | os.PathLike[str], *, trial: int = 1, name: str = "regdb") -> ReIDDataset:
    """Reads one RegDB trial (1..10).

    Returns a `ReIDDataset` with protocol "regdb" and `info == {"trial": trial}`.
    Raises ValueError for a trial outside 1..10 or a malformed idx line (line number in the message),
    FileNotFoundError for a missing idx file or a listed image that does not exist.
    """
    if isinstance(trial, bool) or not isinstance(trial, int) or trial not in REGDB_TRIALS:
        raise UserError(f"RegDB trial must be an int in 1..10, got {trial!r}")
    root_path = absolute_root(root, "RegDB")
    idx_dir = require_dir(
        root_path / "idx", "the RegDB split folder 'idx' with {train,test}_{visible,thermal}_<trial>.txt"
    )
    lists = {
        (split, kind): _read_list(root_path, idx_dir / f"{split}_{kind}_{trial}.txt", kind)
        for split in ("train", "test")
        for kind in ("visible", "thermal")
    }
    _check_test_labels(lists["test", "visible"], lists["test", "thermal"], idx_dir, trial)
    train = sorted(lists["train", "visible"], key=lambda s: s.path) + sorted(
        lists["train", "thermal"], key=lambda s: s.path
    )
    return ReIDDataset(
        name=name,
        root=str(root_path),
        train=train,
        query=lists["test", "thermal"],
        gallery_candidates=lists["test", "visible"],
        protocol="regdb",
        info={"trial": trial},
    )


def _read_list(root: Path, index_file: Path, kind: str) -> list[Sample]:
    modality, cam = (VISIBLE, VISIBLE_CAM) if kind == "visible" else (INFRARED, THERMAL_CAM)
    samples = []
    for relative, label, line_number in read_index_file(index_file):
        path = resolve_listed_file(root, relative, index_file, line_number)
        samples.append(Sample(path=str(path), pid=label, cam=cam, modality=modality))
    return samples


def _check_test_labels(visible: list[Sample], thermal: list[Sample], idx_dir: Path, trial: int) -> None:
    """Refuse test lists whose labels cannot give a meaningful evaluation.

    A single repeated label makes every gallery image a match (100 %); visible and thermal lists that
    share no label make every query unanswerable. Raises UserError naming the files.
    """
    files = f"{idx_dir / f'test_visible_{trial}.txt'} and {idx_dir / f'test_thermal_{trial}.txt'}"
    labels = {kind: {s.pid for s in samples} for kind, samples in (("visible", visible), ("thermal", thermal))}
    for kind, found in labels.items():
        if len(found) < 2:
            raise UserError(
                f"{idx_dir / f'test_{kind}_{trial}.txt'}: every line has label {sorted(found)[0]}; "
                "expected one label per test person (at least two persons), or every query "
                "would match every gallery image"
            )
    if not labels["visible"] & labels["thermal"]:
        raise UserError(
            f"{files}: the visible and thermal test lists share no label; expected the same persons in both modalities"
        )
