"""Exercises in the teaching notebooks: the checks a student's hand-built code is held to, and the
solutions copy of a notebook.

An *exercise cell* is a code cell whose first line is ``# EXERCISE`` and whose metadata tags hold
``exercise``; it is the only kind of notebook cell allowed to hold logic (functions the student writes).
In the student's copy its functions end in ``raise NotImplementedError`` under a ``# TODO``; the check
cell after it calls :meth:`ExerciseChecks.check`, which reports "not done yet" for such a function
instead of failing, so the notebook still runs end to end. The solution of every exercise is written
in a collapsed Markdown block after it (``<details><summary>Solution</summary>`` and one fenced
``python`` block); :func:`solutions_notebook` puts those solutions into the exercise cells, which is how
``notebooks/02_distance_rectification_solutions.ipynb`` is made::

    python -c "from vireid_core.analysis.exercises import write_solutions; write_solutions(
        'notebooks/02_distance_rectification.ipynb', 'notebooks/02_distance_rectification_solutions.ipynb')"
"""

from __future__ import annotations

import copy
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

__all__ = [
    "EXERCISE_MARKER",
    "EXERCISE_TAG",
    "CheckResult",
    "ExerciseChecks",
    "is_exercise",
    "solution_code",
    "solutions_notebook",
    "toy_pair_summary",
    "write_solutions",
]

EXERCISE_MARKER = "# EXERCISE"
EXERCISE_TAG = "exercise"
_SOLUTION = re.compile(r"<summary>\s*Solution\s*</summary>.*?```python\n(.*?)```.*?</details>", re.DOTALL)
_MARKS = {"passed": "✓", "failed": "✗", "not done": "·"}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: what was checked, as the notebook names it (e.g. ``"1 · k-reciprocal sets"``).
        status: ``"passed"``, ``"failed"`` or ``"not done"`` (the function raised NotImplementedError).
        detail: one sentence: what matched, the first difference, or what is left to do.
        value: what later cells continue with: the student's result when it passed, else the
            package's (so a later exercise or figure never depends on an unfinished one).
    """

    name: str
    status: str
    detail: str
    value: Any

    @property
    def passed(self) -> bool:
        """True when the student's result matched the package's."""
        return self.status == "passed"

    def __str__(self) -> str:
        return f"{_MARKS[self.status]} {self.name}: {self.detail}"


def _difference(mine: Any, expected: np.ndarray, atol: float, rtol: float) -> str:
    """Empty when ``mine`` matches ``expected``, else the first difference in words."""
    mine = np.asarray(mine)
    if mine.shape != expected.shape:
        return f"shape {mine.shape}, the package's is {expected.shape}"
    if expected.dtype == bool or np.issubdtype(expected.dtype, np.integer):
        same = mine == expected
    else:
        same = np.isclose(mine.astype(np.float64), expected.astype(np.float64), atol=atol, rtol=rtol)
    if np.all(same):
        return ""
    where = tuple(int(x) for x in np.argwhere(~same)[0])
    return (
        f"{int(np.count_nonzero(~same))} entries differ, the first at {list(where)}: yours "
        f"{_shown(mine[where])}, the package's {_shown(expected[where])}"
    )


def _shown(value: Any) -> str:
    """One entry of a result as the report prints it (floats with four significant digits)."""
    value = np.asarray(value).item()
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class ExerciseChecks:
    """The checks of one notebook's exercises, with what each one found.

    Args:
        strict: False (the student's default): a check that fails or is not done yet is reported, the
            notebook goes on. True (what CI runs the solutions with): either raises AssertionError.
        atol, rtol: tolerances of ``np.allclose`` for float results (float32 rounding of another
            summation order stays far below them); integer and bool results must be equal.
    """

    def __init__(self, *, strict: bool = False, atol: float = 1e-6, rtol: float = 1e-5) -> None:
        self.strict, self.atol, self.rtol = strict, atol, rtol
        self._results: dict[str, CheckResult] = {}

    @property
    def results(self) -> list[CheckResult]:
        """The latest result of every check run so far, in the order first run."""
        return list(self._results.values())

    def check(self, name: str, function: Callable[..., Any], *args: Any, expected: Any, source: str) -> CheckResult:
        """Call ``function(*args)`` and compare its result with ``expected``, the package's answer.

        Args:
            name: the exercise part, as the notebook names it.
            function: the student's function.
            *args: its inputs (the package's, so that each part is checked on its own).
            expected: an array, or a tuple of arrays when ``function`` returns a tuple.
            source: the package function(s) ``expected`` comes from, named in the report.

        Returns:
            the :class:`CheckResult` (print it for the one-line report). Raises AssertionError when
            ``strict`` and the result is not a pass.
        """
        wanted = expected if isinstance(expected, tuple) else (expected,)
        try:
            mine = function(*args)
        except NotImplementedError as unfinished:
            where = traceback.extract_tb(unfinished.__traceback__)[-1].name  # the function that is still a TODO
            result = CheckResult(name, "not done", f"not done yet, fill in the TODO of {where}", expected)
        else:
            got = mine if isinstance(expected, tuple) else (mine,)
            if not isinstance(got, tuple) or len(got) != len(wanted):
                problem = f"{function.__name__} should return {len(wanted)} arrays"
            else:
                problem = "; ".join(
                    f"part {k + 1}: {text}" if len(wanted) > 1 else text
                    for k, (a, b) in enumerate(zip(got, wanted, strict=True))
                    if (text := _difference(a, np.asarray(b), self.atol, self.rtol))
                )
            if problem:
                result = CheckResult(name, "failed", f"{problem} ({source})", expected)
            else:
                result = CheckResult(name, "passed", f"{function.__name__} matches {source}", mine)
        self._results[name] = result
        if self.strict and not result.passed:
            raise AssertionError(str(result))
        return result

    def value(self, name: str) -> Any:
        """What the check ``name`` hands on: the student's result if it passed, else the package's."""
        return self._results[name].value

    def summary(self) -> str:
        """One line: how many checks passed, failed and are not done yet."""
        counts = {status: sum(r.status == status for r in self._results.values()) for status in _MARKS}
        return f"{counts['passed']} passed, {counts['failed']} failed, {counts['not done']} not done yet"


def toy_pair_summary(distances: dict[str, np.ndarray], pids: np.ndarray, modality: np.ndarray) -> dict[str, Any]:
    """What each distance does to the pairs of a toy, by kind of pair.

    Args:
        distances: name -> float [N, N] distance matrix in [0, 1].
        pids: int [N] true person of each row.
        modality: int [N], 0 visible, 1 infrared.

    Returns:
        name -> {"same_person_cross_modality", "different_person_cross_modality",
        "same_person_same_modality": mean distance of those pairs (i != j); "cross_pairs_linked": number
        of visible-infrared pairs below 1; "cross_pairs_linked_same_person": how many of them are the
        same person}.
    """
    pids, modality = np.asarray(pids), np.asarray(modality)
    same = pids[:, None] == pids[None, :]
    cross = modality[:, None] != modality[None, :]
    upper = np.triu(np.ones_like(same), k=1)
    out = {}
    for name, dist in distances.items():
        dist = np.asarray(dist, dtype=np.float64)
        linked = (dist < 1) & cross & upper
        out[name] = {
            "same_person_cross_modality": float(dist[same & cross].mean()),
            "different_person_cross_modality": float(dist[~same & cross].mean()),
            "same_person_same_modality": float(dist[same & ~cross & upper].mean()),
            "cross_pairs_linked": int(linked.sum()),
            "cross_pairs_linked_same_person": int((linked & same).sum()),
        }
    return out


def is_exercise(cell: Any) -> bool:
    """True for an exercise cell: a code cell tagged ``exercise`` whose first line is ``# EXERCISE``."""
    return (
        cell.get("cell_type") == "code"
        and EXERCISE_TAG in cell.get("metadata", {}).get("tags", [])
        and cell.get("source", "").startswith(EXERCISE_MARKER)
    )


def solution_code(markdown: str) -> str | None:
    """The code of the collapsed solution in a Markdown cell (the fenced ``python`` block inside
    ``<details><summary>Solution</summary> … </details>``), without its final newline; None if none."""
    found = _SOLUTION.search(markdown)
    return found.group(1).rstrip("\n") if found else None


def solutions_notebook(student: Any) -> Any:
    """The solutions copy of a notebook: every exercise cell's source replaced by the solution in the
    first Markdown cell after it that holds one; everything else (ids, metadata) unchanged.

    Args:
        student: an nbformat notebook (version 4).

    Returns:
        a new notebook. Raises ValueError naming the cell when an exercise has no solution after it.
    """
    solved = copy.deepcopy(student)
    cells = solved.cells
    for position, cell in enumerate(cells):
        if not is_exercise(cell):
            continue
        later = (solution_code(c.source) for c in cells[position + 1 :] if c.cell_type == "markdown")
        code = next((c for c in later if c is not None), None)
        if code is None:
            raise ValueError(f"exercise cell {cell.get('id')} has no <details> solution after it")
        if not code.startswith(EXERCISE_MARKER):
            raise ValueError(f"the solution of exercise cell {cell.get('id')} must start with {EXERCISE_MARKER!r}")
        cell.source = code
    return solved


def write_solutions(student_path: str | Path, solutions_path: str | Path) -> Path:
    """Write the solutions copy of the notebook at ``student_path`` to ``solutions_path``, stored as
    JupyterLab writes notebooks (``nbformat.writes`` plus a final newline). Returns the path."""
    student = nbformat.read(str(student_path), as_version=4)
    path = Path(solutions_path)
    path.write_text(nbformat.writes(solutions_notebook(student)) + "\n", encoding="utf-8")
    return path
