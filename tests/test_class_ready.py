"""Class-ready notebooks: where a run writes (figures/ only with the default parameters, a scratch folder
otherwise), what a cell may train without ``allow_training`` (announced, within the class budget), and
the executed copies in ``notebooks/executed/`` (outputs present, 10 MB in all)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from vireid_core import analysis
from vireid_core.analysis import class_budget
from vireid_core.config import get_preset
from vireid_core.errors import UserError
from vireid_core.output_paths import COMMITTED_FIGURES, REPO_ROOT, SCRATCH, notebook_defaults, notebook_output

NAMES = ["01_modality_bias", "02_distance_rectification", "03_training", "04_evaluation"]
EXECUTED = REPO_ROOT / "notebooks" / "executed"
EXECUTED_LIMIT = 10 * 1024 * 1024


@pytest.mark.parametrize("name", NAMES)
def test_default_parameters_write_the_committed_figures(name: str) -> None:
    defaults = notebook_defaults(name)
    assert defaults["figures_dir"] == "" and defaults["allow_training"] is False
    chosen = notebook_output(name, {**defaults, "progress": False})  # progress does not count
    assert chosen.committed and chosen.changed == () and chosen.folder.resolve() == COMMITTED_FIGURES
    assert "figures/" in chosen.message


@pytest.mark.parametrize("name", NAMES)
def test_changed_parameters_write_into_scratch(name: str) -> None:
    parameters = {**notebook_defaults(name), "seed": 7}
    chosen = notebook_output(name, parameters)
    assert not chosen.committed and chosen.changed == ("seed",)
    assert chosen.folder.resolve() == SCRATCH / name
    assert "seed" in chosen.message and "figures/ is not touched" in chosen.message


def test_an_explicit_folder_is_used_but_not_figures_with_changed_parameters(tmp_path: Path) -> None:
    defaults = notebook_defaults("03_training")
    chosen = notebook_output("03_training", {**defaults, "live_iters": 5, "figures_dir": str(tmp_path)})
    assert chosen.folder == tmp_path and not chosen.committed
    with pytest.raises(UserError, match="live_iters"):
        notebook_output("03_training", {**defaults, "live_iters": 5, "figures_dir": str(COMMITTED_FIGURES)})
    same = notebook_output("03_training", {**defaults, "figures_dir": str(COMMITTED_FIGURES)})
    assert same.committed


def test_defaults_come_from_the_parameters_cell(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("a = 1\nb = [1, 2]  # comment\nfigures_dir = ''")]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, tmp_path / "x.ipynb")
    assert notebook_defaults("x", tmp_path) == {"a": 1, "b": [1, 2], "figures_dir": ""}
    assert notebook_output("x", {"a": 1, "b": [1, 2]}, notebooks=tmp_path).committed
    assert notebook_output("x", {"a": 2, "b": [1, 2]}, notebooks=tmp_path).changed == ("a",)
    with pytest.raises(UserError, match="no such notebook"):
        notebook_defaults("missing", tmp_path)


def test_trainings_within_the_budget_are_announced_longer_ones_need_allow_training(capsys) -> None:
    short, long = class_budget.TrainingPlan("short", 10.0), class_budget.TrainingPlan("long", 600.0)
    assert class_budget.may_train([None], False) and capsys.readouterr().out == ""
    assert class_budget.may_train([short], False)
    assert "training: short, about 10 s" in capsys.readouterr().out
    assert not class_budget.may_train([long], False)
    out = capsys.readouterr().out
    assert "would train: long" in out and "allow_training = True" in out
    assert class_budget.may_train([long], True)
    with pytest.raises(class_budget.TrainingNotAllowed, match="allow_training"):
        class_budget.ensure_may_train([short, long], False)


def test_the_default_live_run_fits_the_budget_and_a_full_run_does_not(tmp_path: Path) -> None:
    defaults = notebook_defaults("03_training")
    budget = {
        "schedule.stage1.epochs": defaults["live_epochs_stage1"],
        "schedule.stage2.epochs": defaults["live_epochs_stage2"],
        "schedule.iters": defaults["live_iters"],
        "seed": defaults["seed"] + 1,
    }
    live = get_preset(defaults["preset"], budget)
    assert class_budget.start_plan(live, tmp_path) is None  # the shipped start has these settings
    plan = analysis.run_plan(live, 60 * 34, "the live run")
    assert plan.slow_seconds <= class_budget.CLASS_BUDGET_SECONDS
    full = get_preset("synthvi-cpu")
    assert analysis.full_run_plan(full, 5780, tmp_path, train=False) is None  # loads the shipped models
    assert analysis.full_run_plan(full, 5780, tmp_path, train=True).slow_seconds > class_budget.CLASS_BUDGET_SECONDS
    other_seed = get_preset("synthvi-cpu", {"seed": 5})
    assert analysis.start_plan(other_seed, tmp_path) is not None  # a start that would be pretrained
    assert analysis.ablation_plan("synthvi-smoke", ["M2", "M6"], 1).slow_seconds <= class_budget.CLASS_BUDGET_SECONDS


def _executed() -> list[Path]:
    return sorted(EXECUTED.glob("*.ipynb")) if EXECUTED.is_dir() else []


def test_executed_copies_are_small_and_hold_outputs() -> None:
    copies = _executed()
    if not copies:
        pytest.skip("no notebooks/executed/ copies (make notebooks writes them)")
    assert sum(path.stat().st_size for path in copies) <= EXECUTED_LIMIT, "notebooks/executed/ exceeds 10 MB"
    assert {path.stem for path in copies} <= set(NAMES)
    for path in copies:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert any(c.outputs for c in code), f"{path.name} has no outputs"
        errors = [o for c in code for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{path.name} holds an error output"
        assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), f"{path.name}: no figure"
        assert json.dumps(nb.metadata).find(str(REPO_ROOT)) < 0, f"{path.name} names this machine's checkout"


@pytest.mark.parametrize("name", NAMES)
def test_the_main_notebooks_hold_no_outputs(name: str) -> None:
    nb = nbformat.read(REPO_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
