"""Checks of output paths before any work starts, so a long run never ends in an unwritable path.

Each check raises :class:`~vireid_core.errors.UserError` (or a path variant of it) naming the path and
what was expected: an existing file where a folder is needed, a folder where a file is needed, or a
location that is not writable (read-only folder or file system).
"""

from __future__ import annotations

import os
from pathlib import Path

from vireid_core.errors import NotAFolderError, UserError


def _nearest_existing(path: Path) -> Path:
    """``path`` itself or its closest ancestor that exists."""
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def check_output_folder(path: str | os.PathLike[str], what: str) -> Path:
    """Make sure ``path`` is, or can be created as, a writable folder; returns it as a ``Path``.

    Nothing is created. ``what`` describes the folder in the message, e.g. ``"the run folder (--out)"``.
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise NotAFolderError(f"{path}: exists and is not a folder; expected {what}")
        if not os.access(path, os.W_OK | os.X_OK):
            raise UserError(
                f"{path}: the folder is not writable (read-only); expected {what} that vireid may write into"
            )
        return path
    ancestor = _nearest_existing(path.absolute())
    if not ancestor.is_dir():
        raise NotAFolderError(f"{path}: cannot be created because {ancestor} is a file; expected {what}")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UserError(f"{path}: cannot be created because {ancestor} is not writable (read-only); expected {what}")
    return path


def check_output_file(path: str | os.PathLike[str], what: str) -> Path:
    """Make sure ``path`` can be written as a file (its folder existing or creatable); returns it.

    Refuses a path that is a folder, an existing file that is not writable, and an unwritable folder.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; expected {what} (a file path)")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"{path}: the file is not writable (read-only); expected {what}")
    check_output_folder(path.parent if str(path.parent) else Path("."), f"the folder of {what}")
    return path
