"""On-disk building blocks shared by the dataset readers: checked folders, split files, image lists.

Every function raises a clear error (FileNotFoundError / NotADirectoryError / ValueError) that
names the offending path and says what was expected.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
_CAMERA_FOLDER = re.compile(r"cam(\d+)")


def absolute_root(root: str | os.PathLike[str], dataset: str) -> Path:
    """Returns `root` as an absolute path (symlinks kept); raises if it is not a directory.

    A trailing slash makes no difference.
    """
    path = Path(os.path.abspath(os.path.expanduser(os.fspath(root))))
    require_dir(path, f"the {dataset} dataset root")
    return path


def require_dir(path: Path, what: str) -> Path:
    """Returns `path` if it is a directory; otherwise raises naming it and `what` it should be."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; expected {what} (a directory)")
    if not path.is_dir():
        raise NotADirectoryError(f"{path}: not a directory; expected {what}")
    return path


def require_file(path: Path, what: str) -> Path:
    """Returns `path` if it is a regular file; otherwise raises naming it and `what` it should be."""
    if not path.is_file():
        state = "is a directory" if path.is_dir() else "missing"
        raise FileNotFoundError(f"{path}: {state}; expected {what} (a file)")
    return path


def read_id_line(path: Path, *, allow_empty: bool = False) -> list[int]:
    """Reads a split file whose first line is comma-separated integer ids (zero padding allowed).

    Only the first line is read (as the official loaders do); empty fields (e.g. a trailing comma)
    are skipped. Returns the distinct ids in ascending order. An empty first line is an error unless
    `allow_empty` (then it returns []).
    """
    require_file(path, "an id list (first line: comma-separated integers)")
    with open(path, encoding="utf-8") as handle:
        first_line = handle.readline().strip()
    ids: set[int] = set()
    for field_text in first_line.split(","):
        field_text = field_text.strip()
        if not field_text:
            continue
        if not field_text.isdigit():
            raise ValueError(f"{path}, line 1: expected comma-separated non-negative integer ids, "
                             f"found {field_text!r}")
        ids.add(int(field_text))
    if not ids and not allow_empty:
        raise ValueError(f"{path}: the first line holds no ids; expected comma-separated integers")
    return sorted(ids)


def read_index_file(path: Path) -> list[tuple[str, int, int]]:
    """Reads a `<relative path> <integer label>` list (RegDB/LLCM idx files), one entry a line.

    Blank lines are skipped; the label is the last whitespace-separated field, so the path may
    contain spaces. Returns [(relative path, label, line number)] in file order; raises ValueError
    with the line number for a malformed line, and for an empty file.
    """
    require_file(path, "an index file with '<relative path> <integer label>' lines")
    entries: list[tuple[str, int, int]] = []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            fields = text.rsplit(maxsplit=1)
            if len(fields) != 2 or not _is_int(fields[1]):
                raise ValueError(f"{path}, line {line_number}: expected '<relative path> <integer label>', "
                                 f"found {text!r}")
            entries.append((fields[0], int(fields[1]), line_number))
    if not entries:
        raise ValueError(f"{path}: no entries; expected '<relative path> <integer label>' lines")
    return entries


def resolve_listed_file(root: Path, relative: str, index_file: Path, line_number: int) -> Path:
    """Returns root/relative if that file exists; else FileNotFoundError naming both files."""
    path = root / relative.lstrip("/")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: listed in {index_file}, line {line_number}, but missing; "
                                f"expected an image file")
    return path


def camera_folders(parent: Path) -> dict[int, Path]:
    """Returns {camera number: folder} for the `cam<N>` sub-folders of `parent`.

    Other entries are ignored. Raises ValueError if two folders name the same camera.
    """
    found: dict[int, Path] = {}
    for entry in sorted(parent.iterdir()):
        match = _CAMERA_FOLDER.fullmatch(entry.name)
        if match is None or not entry.is_dir():
            continue
        cam = int(match.group(1))
        if cam in found:
            raise ValueError(f"{parent}: folders {found[cam].name!r} and {entry.name!r} both name "
                             f"camera {cam}")
        found[cam] = entry
    return found


def person_folders(camera_dir: Path) -> dict[int, Path]:
    """Returns {person id: folder} for the all-digit sub-folders of a camera folder (e.g. `0042`).

    Entries whose names are not all digits, and hidden entries, are ignored. Raises ValueError if two
    folders give the same id (e.g. `42` and `0042`).
    """
    found: dict[int, Path] = {}
    for entry in sorted(camera_dir.iterdir()):
        if not entry.name.isdigit() or not entry.is_dir():
            continue
        pid = int(entry.name)
        if pid in found:
            raise ValueError(f"{camera_dir}: folders {found[pid].name!r} and {entry.name!r} both give "
                             f"id {pid}")
        found[pid] = entry
    return found


def list_images(person_dir: Path) -> list[Path]:
    """Returns the image files of a person folder sorted by file name.

    Hidden files (names starting with ".") are ignored; any other entry that is not a file with an
    image suffix ({.jpg, .jpeg, .png, .bmp}, any case) is an error. An empty folder gives [].
    """
    images: list[Path] = []
    for entry in sorted(person_dir.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if not entry.is_file() or entry.suffix.lower() not in IMAGE_SUFFIXES:
            kind = "a directory" if entry.is_dir() else "a non-image file"
            raise ValueError(f"{entry}: {kind} inside a person folder; expected only image files "
                             f"with suffix in {sorted(IMAGE_SUFFIXES)}")
        images.append(entry)
    return images


def _is_int(text: str) -> bool:
    return text.lstrip("+-").isdigit()
