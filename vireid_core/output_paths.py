"""Checks of output paths before any work starts, so a long run never ends in an unwritable path.

Each check raises :class:`~vireid_core.errors.UserError` (or a path variant of it) naming the path and
what was expected: an existing file where a folder is needed, a folder where a file is needed, or a
location that is not writable (read-only folder or file system).

It also decides where a teaching notebook writes (:func:`notebook_output`): the committed ``figures/``
for a run with the default parameters, a scratch folder for every other run.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO_ROOT / "notebooks"
COMMITTED_FIGURES = REPO_ROOT / "figures"
SCRATCH = REPO_ROOT / "runs" / "notebooks" / "scratch"
"""Where a notebook run with changed parameters writes: ``runs/notebooks/scratch/<notebook>/`` (not tracked)."""
UNCOMPARED_PARAMETERS = frozenset({"figures_dir", "progress"})
"""Parameters that do not change what a notebook computes, so they may differ in a committed run."""


def notebook_defaults(name: str, folder: str | os.PathLike[str] = NOTEBOOKS) -> dict[str, Any]:
    """The default parameters of notebook ``name``: the ``name = literal`` lines of the cell tagged
    ``parameters`` in ``folder/<name>.ipynb`` (the committed notebook is the one place they are written).

    Raises:
        UserError: when the notebook is missing or its parameters cell holds a value that is not a literal.
    """
    path = Path(folder) / f"{name}.ipynb"
    if not path.is_file():
        raise UserError(f"{path}: no such notebook; cannot read the default parameters of {name!r}")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    source = next(("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if source is None:
        raise UserError(f"{path}: no cell tagged 'parameters'")
    defaults: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                defaults[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                raise UserError(f"{path}: parameter {node.targets[0].id} is not a literal value") from None
    return defaults


@dataclass(frozen=True)
class NotebookOutput:
    """Where one notebook run writes its figures and numbers, and why.

    Attributes:
        folder: the folder to write into.
        committed: True when it is the repository's ``figures/`` (a run with the default parameters).
        changed: the parameters that differ from the committed defaults (empty for a default run).
        message: one line for the notebook to print, naming the folder (relative to the repository).
    """

    folder: Path
    committed: bool
    changed: tuple[str, ...]
    message: str


def _relative(path: Path) -> Path:
    """``path`` relative to the working directory (``../figures`` from ``notebooks/``), so what a notebook
    prints names no machine's checkout; ``path`` itself where no relative path exists."""
    try:
        return Path(os.path.relpath(path))
    except ValueError:
        return path


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT)) + "/"
    except ValueError:
        return str(path) + "/"


def notebook_output(
    name: str, parameters: Mapping[str, Any], *, notebooks: str | os.PathLike[str] = NOTEBOOKS
) -> NotebookOutput:
    """The folder notebook ``name`` writes its figures and ``<name>_numbers.json`` into.

    The rule: the committed ``figures/`` only when every parameter equals the committed notebook's
    default (:func:`notebook_defaults`; ``figures_dir`` and ``progress`` are not compared), so the
    reference figures the README shows change only with a default run. Otherwise (a Try-this
    experiment, a changed parameter) a scratch folder, ``runs/notebooks/scratch/<name>/``.

    Args:
        name: the notebook's file name without ``.ipynb``, e.g. ``"03_training"``.
        parameters: the notebook's namespace (``globals()``) or any mapping holding its parameters.
            ``parameters["figures_dir"]``: empty (the default) applies the rule; a path is used as given,
            except ``figures/`` itself with changed parameters, which is refused.
        notebooks: the folder of the committed notebooks.

    Raises:
        UserError: a changed run asked to write into the committed ``figures/``.
    """
    defaults = notebook_defaults(name, notebooks)
    changed = tuple(
        key
        for key, default in defaults.items()
        if key not in UNCOMPARED_PARAMETERS and (key not in parameters or parameters[key] != default)
    )
    asked = str(parameters.get("figures_dir", "") or "")
    if asked:
        folder = Path(asked)
        committed = folder.resolve() == COMMITTED_FIGURES.resolve()
        if committed and changed:
            raise UserError(
                f"figures_dir={asked!r} is the committed figures/ folder, but these parameters differ from the "
                f"notebook's defaults: {', '.join(changed)}; leave figures_dir empty (a scratch folder) or "
                "give another folder"
            )
        return NotebookOutput(folder, committed, changed, f"figures and numbers go to {_shown(folder)} (figures_dir)")
    if not changed:
        return NotebookOutput(
            _relative(COMMITTED_FIGURES),
            True,
            (),
            "default parameters: figures and numbers go to figures/ (the committed ones)",
        )
    folder = _relative(SCRATCH / name)
    return NotebookOutput(
        folder,
        False,
        changed,
        f"changed parameters ({', '.join(changed)}): figures and numbers go to {_shown(folder)}; "
        "figures/ is not touched",
    )
