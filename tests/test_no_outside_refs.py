"""The project cites only what a clone contains: no source, test, benchmark, notebook or document points
to the reference notes kept outside the repository. The method is described in docs/method.md, the paper
is arXiv 2512.07760 and the official code github.com/Terminator8758/BMIL; cite those instead."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = (".py", ".md", ".ipynb")
SKIPPED_DIRS = {".venv", "data_cache", "results", ".git", ".ipynb_checkpoints", ".pytest_cache", ".ruff_cache"}
# Built from pieces so that this file does not match itself.
OUTSIDE = ("method" + "-spec", "../" + "shared", "shared" + "/docs", "eval" + "-protocol", "synthvi" + "-feasibility")


def _project_files() -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")]
        found += [Path(folder) / name for name in files if name.endswith(SUFFIXES)]
    return sorted(found)


def test_files_are_found() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in _project_files()}
    assert {"README.md", "docs/method.md", "vireid_core/config/run.py", "tests/test_no_outside_refs.py"} <= names


def test_no_reference_to_files_outside_the_repository() -> None:
    hits = []
    for path in _project_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            hits += [f"{path.relative_to(ROOT)}:{number}: {word}" for word in OUTSIDE if word in line]
    assert hits == [], "cite docs/method.md, the paper or the official code instead:\n" + "\n".join(hits)
