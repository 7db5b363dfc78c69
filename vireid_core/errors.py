"""The one error type for mistakes the user can fix: a bad path, file, value or combination.

Raised at the boundaries (reading data and checkpoints, parsing config, choosing output paths). The
message names the path or config key and says what was expected; the CLI prints it as one
``error: ...`` line and exits with status 2 (``--debug`` shows the traceback instead).

``UserError`` subclasses ``ValueError`` and the two path variants also subclass the matching
``OSError`` types, so code that catches ``ValueError`` or ``FileNotFoundError`` keeps working.
"""

from __future__ import annotations


class UserError(ValueError):
    """A mistake in what the user gave (path, file content, config value); the message says which."""


class PathMissingError(UserError, FileNotFoundError):
    """A path the user gave (or a file a dataset lists) does not exist, or is the wrong kind of entry."""


class NotAFolderError(UserError, NotADirectoryError):
    """A path that must be a directory is something else."""


def one_line(message: object) -> str:
    """``message`` as a single line: inner line breaks become ``" | "``, surrounding blanks are cut."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return " | ".join(lines)
