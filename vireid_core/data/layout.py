"""On-disk building blocks shared by the dataset readers: checked folders, split files, image lists.

Every function raises a :class:`~vireid_core.errors.UserError` (the path variants are also
FileNotFoundError / NotADirectoryError) that names the offending path and says what was expected.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from vireid_core.errors import NotAFolderError, PathMissingError, UserError

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
        raise PathMissingError(f"{path}: missing; expected {what} (a directory)")
    if not path.is_dir():
        raise NotAFolderError(f"{path}: not a directory; expected {what}")
    return path


def require_file(path: Path, what: str) -> Path:
    """Returns `path` if it is a regular file; otherwise raises naming it and `what` it should be."""
    if not path.is_file():
        state = "is a directory" if path.is_dir() else "missing"
        raise PathMissingError(f"{path}: {state}; expected {what} (a file)")
    return path


def read_text_file(path: Path, what: str) -> str:
    """The text of a list file as official tools and common editors write it, newlines normalised.

    A UTF-8 byte-order mark (Windows editors) is dropped and CRLF/CR line ends become ``\\n``.
    Raises :class:`PathMissingError` when ``path`` is not a file and :class:`UserError` naming it
    when it cannot be read or is not UTF-8 text.
    """
    require_file(path, what)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UserError(f"{path}: cannot be read ({error.strerror or error}); expected {what}") from error
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text (byte {error.start}); expected {what}") from error
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_id_line(path: Path, *, allow_empty: bool = False) -> list[int]:
    """Reads a split file of integer ids (zero padding allowed) separated by commas and/or line breaks.

    The official files hold one comma-separated line; one id per line (as editors and scripts often
    write it), a trailing comma, blank lines, CRLF line ends and a UTF-8 byte-order mark are accepted
    too. Returns the distinct ids in ascending order. A file without ids is an error unless
    `allow_empty` (then it returns []); anything that is not an id is refused with its line number.
    """
    text = read_text_file(path, "an id list (comma-separated or one integer per line)")
    ids: set[int] = set()
    for line_number, line in enumerate(text.split("\n"), start=1):
        for field_text in re.split(r"[,\s]+", line.strip()):
            if not field_text:
                continue
            if not field_text.isdigit():
                raise UserError(
                    f"{path}, line {line_number}: expected non-negative integer ids separated by "
                    f"commas or line breaks, found {field_text!r}"
                )
            ids.add(int(field_text))
    if not ids and not allow_empty:
        raise UserError(
            f"{path}: the first line holds no ids and neither does any later line; expected "
            "integers separated by commas or line breaks"
        )
    return sorted(ids)


def read_index_file(path: Path) -> list[tuple[str, int, int]]:
    """Reads a `<relative path> <integer label>` list (RegDB/LLCM idx files), one entry a line.

    Blank lines are skipped; CRLF line ends and a UTF-8 byte-order mark are accepted; the label is the
    last whitespace-separated field, so the path may contain spaces. Returns [(relative path, label,
    line number)] in file order; raises UserError with the line number for a malformed line, a
    negative label, and for an empty file.
    """
    what = "an index file with '<relative path> <integer label>' lines"
    entries: list[tuple[str, int, int]] = []
    for line_number, line in enumerate(read_text_file(path, what).split("\n"), start=1):
        text = line.strip()
        if not text:
            continue
        fields = text.rsplit(maxsplit=1)
        if len(fields) != 2 or not _is_int(fields[1]):
            raise UserError(f"{path}, line {line_number}: expected '<relative path> <integer label>', found {text!r}")
        if int(fields[1]) < 0:
            raise UserError(f"{path}, line {line_number}: label {fields[1]} is negative; expected a person label >= 0")
        entries.append((fields[0], int(fields[1]), line_number))
    if not entries:
        raise UserError(f"{path}: no entries; expected '<relative path> <integer label>' lines")
    return entries


def resolve_listed_file(root: Path, relative: str, index_file: Path, line_number: int) -> Path:
    """Returns root/relative if that file exists inside the dataset root.

    A leading ``/`` is read as the root (as before); ``..`` steps that leave the root are refused
    (symlinks inside the root are followed as usual). Raises UserError for a path outside the root and
    PathMissingError naming both files for a missing one.
    """
    normal = os.path.normpath(relative.lstrip("/\\"))
    if normal == ".." or normal.startswith(".." + os.sep):
        raise UserError(
            f"{index_file}, line {line_number}: {relative!r} points outside the dataset root "
            f"{root}; expected a path inside it"
        )
    path = root / normal
    if not path.is_file():
        raise PathMissingError(
            f"{path}: listed in {index_file}, line {line_number}, but missing; expected an image file"
        )
    return path


def _entries(folder: Path, what: str) -> list[Path]:
    """The entries of `folder` sorted by name; UserError naming it when it cannot be listed."""
    try:
        return sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as error:
        raise UserError(
            f"{folder}: cannot be read ({error.strerror or error}); expected {what} readable by this user"
        ) from error


def camera_folders(parent: Path) -> dict[int, Path]:
    """Returns {camera number: folder} for the `cam<N>` sub-folders of `parent`.

    Other entries are ignored. Raises ValueError if two folders name the same camera.
    """
    found: dict[int, Path] = {}
    for entry in _entries(parent, "a folder of cam<N> sub-folders"):
        match = _CAMERA_FOLDER.fullmatch(entry.name)
        if match is None or not entry.is_dir():
            continue
        cam = int(match.group(1))
        if cam in found:
            raise UserError(f"{parent}: folders {found[cam].name!r} and {entry.name!r} both name camera {cam}")
        found[cam] = entry
    return found


def person_folders(camera_dir: Path) -> dict[int, Path]:
    """Returns {person id: folder} for the all-digit sub-folders of a camera folder (e.g. `0042`).

    Entries whose names are not all digits, and hidden entries, are ignored. Raises ValueError if two
    folders give the same id (e.g. `42` and `0042`).
    """
    found: dict[int, Path] = {}
    for entry in _entries(camera_dir, "a camera folder with one sub-folder per person"):
        if not entry.name.isdigit() or not entry.is_dir():
            continue
        pid = int(entry.name)
        if pid in found:
            raise UserError(f"{camera_dir}: folders {found[pid].name!r} and {entry.name!r} both give id {pid}")
        found[pid] = entry
    return found


def list_images(person_dir: Path) -> list[Path]:
    """Returns the image files of a person folder sorted by file name.

    Hidden files (names starting with ".") are ignored; any other entry that is not a file with an
    image suffix ({.jpg, .jpeg, .png, .bmp}, any case) is an error. An empty folder gives [].
    """
    images: list[Path] = []
    for entry in _entries(person_dir, "a person folder of image files"):
        if entry.name.startswith("."):
            continue
        if not entry.is_file() or entry.suffix.lower() not in IMAGE_SUFFIXES:
            kind = "a directory" if entry.is_dir() else "a non-image file"
            raise UserError(
                f"{entry}: {kind} inside a person folder; expected only image files "
                f"with suffix in {sorted(IMAGE_SUFFIXES)}"
            )
        images.append(entry)
    return images


def _is_int(text: str) -> bool:
    return text.lstrip("+-").isdigit()
