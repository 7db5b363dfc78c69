"""Notebook 02's solutions copy, run whole: headless with papermill on the smoke parameters that
tests/test_notebooks.py gives notebook 02, with ``exercises_strict = True`` (an unfinished or wrong part
raises). Notebook 02 says CI runs its solutions copy that way; test_notebooks.py runs only its toy section.

The run trains its own smoke run (``train_fresh``) into its own temporary cache and writes its figures
and numbers into a temporary folder. It is bounded by ``timeout`` and papermill's ``--execution-timeout``,
as the other notebook runs are.
"""

from __future__ import annotations

import nbformat
import pytest
from test_notebooks import NOTEBOOKS, PARAMETERS, SMOKE, SOLUTIONS, run_papermill

STUDENT = "02_distance_rectification"


@pytest.mark.slow
def test_solutions_copy_runs_whole_with_every_check_passed(tmp_path):
    solved = SOLUTIONS[STUDENT]
    executed = tmp_path / f"{solved}.ipynb"
    params = {
        **SMOKE,
        **PARAMETERS[STUDENT],
        "cache_dir": str(tmp_path / "cache"),
        "figures_dir": str(tmp_path / "figures"),
        "exercises_strict": True,
    }
    done = run_papermill(NOTEBOOKS / f"{solved}.ipynb", executed, params)
    assert done.returncode == 0, f"{solved} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"

    cells = [c for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"]
    for cell in cells:
        for output in cell.outputs:
            assert output.output_type != "error", f"{solved}: {output.get('ename')}: {output.get('evalue')}"

    def printed(cell):
        return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")

    check_cells = [c for c in cells if "checks.check(" in c.source]
    expected = sum(c.source.count("checks.check(") for c in check_cells)
    reports = [line for c in check_cells for line in printed(c).splitlines() if line[:2] in ("✓ ", "✗ ", "· ")]
    assert len(reports) == expected, f"{solved}: {expected} checks, {len(reports)} reported: {reports}"
    assert all(line.startswith("✓ ") for line in reports), [r for r in reports if not r.startswith("✓ ")]
    summary = f"exercise checks: {expected} passed, 0 failed, 0 not done yet"
    assert any(summary in printed(c) for c in cells), f"{solved}: no line {summary!r}"
    assert (tmp_path / "figures" / f"{STUDENT}_numbers.json").is_file(), f"{solved} wrote no numbers"
