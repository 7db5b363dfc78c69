"""The four teaching notebooks: stored without outputs and exactly as JupyterLab writes them, parameterised,
free of function definitions outside the marked exercise cells, and each one runs headless with papermill on
the smallest parameters, writes the numbers it reports and shows no clutter (echoed return values, raw widget
reprs, unrounded numbers). Notebook 02's exercises (the association built by hand on a toy) are checked on
their own: the solutions copy is the student's copy with the collapsed solutions filled in, and its toy
section passes every check.
Every comparative sentence a notebook prints is a claim checked against its numbers
(:mod:`vireid_core.analysis.claims`): each numbers file carries its ``claims``; in the smoke runs here every
one must be evaluated (true or false: the tiny model is not the run the prose describes), and in the committed
``figures/*_numbers.json`` of the default parameters every one must hold.

The papermill runs share one SynthVI cache (so the smoke run is trained once, by notebook 01) and write
their figures and ``*_numbers.json`` into a temporary folder. Each run is bounded by ``timeout`` and by
papermill's ``--execution-timeout`` (a rare ipykernel stall after a finished cell must not hang CI).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest
import torch

from vireid_core.analysis.exercises import EXERCISE_MARKER, EXERCISE_TAG, is_exercise, solutions_notebook
from vireid_core.viz.ladder import load_ladder

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
COMMITTED = Path(__file__).resolve().parents[1] / "figures"
NAMES = ["01_modality_bias", "02_distance_rectification", "03_training", "04_evaluation"]
SOLUTIONS = {"02_distance_rectification": "02_distance_rectification_solutions"}  # student copy -> solved copy
STORED = NAMES + list(SOLUTIONS.values())
TOY_HEADING = "## Build it by hand"
SMOKE = {"preset": "synthvi-smoke", "threads": 1, "progress": False, "train_fresh": True}  # 01 trains the smoke run
PARAMETERS = {
    "01_modality_bias": {"n_ids": 8, "umap_epochs": 50},
    "02_distance_rectification": {"n_ids": 8, "interactive": True},
    "03_training": {"live_epochs_stage1": 1, "live_epochs_stage2": 1, "live_iters": 2, "eval_trials": 1},
    "04_evaluation": {
        "trials": 2,
        "regdb_ids": 8,
        "gallery_queries": 2,
        "ablation_dir": "",
        "ablation_names": ["M2", "M6"],
        "umap_ids": 6,
        "umap_epochs": 30,
    },
}
FIGURES = {
    "01_modality_bias": [
        "01_modality_samples",
        "01_distance_distributions",
        "01_knn_composition",
        "01_umap_stage1",
        "01_plain_jaccard_clusters",
    ],
    "02_distance_rectification": [
        "02_toy_association",
        "02_neighbour_lists",
        "02_encoding_vectors",
        "02_distance_histograms",
        "02_clustering_scores",
        "02_cluster_compositions",
        "02_parameter_sweep",
    ],
    "03_training": [
        "03_live_training",
        "03_split_prototypes",
        "03_full_run_curves",
        "03_full_run_stage_results",
        "03_baseline_ladder",
    ],
    "04_evaluation": ["04_cmc", "04_umap_before_after", "04_retrieval_gallery", "04_ablation"],
}


@pytest.mark.parametrize("name", STORED)
def test_notebook_is_stored_clean(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{name} is stored with outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    for key in ("preset", "cache_dir", "checkpoint", "figures_dir", "seed", "data_root"):
        assert f"\n{key} = " in "\n" + tagged[0].source, f"{name}: parameter {key!r} missing"
    for cell in code:
        lines = cell.source.splitlines()
        tagged_exercise = EXERCISE_TAG in cell.metadata.get("tags", [])
        assert tagged_exercise == cell.source.startswith(EXERCISE_MARKER), (
            f"{name}: cell {cell.get('id')}: an exercise cell starts with {EXERCISE_MARKER!r} and is tagged "
            f"{EXERCISE_TAG!r}, both or neither"
        )
        if is_exercise(cell):
            continue  # the student's code: the one place a notebook holds logic
        assert not any(line.lstrip().startswith(("def ", "class ")) for line in lines), (
            f"{name}: logic belongs in vireid_core, not in notebook functions"
        )
        assert "TODO" not in cell.source, f"{name}: cell {cell.get('id')}: a TODO outside an exercise cell"
    assert "try this" in nb.cells[-2].source.lower(), f"{name} must end with a 'Try this' block"


@pytest.mark.parametrize("name", STORED)
def test_notebook_is_stored_as_jupyterlab_writes_it(name):
    """Opening a notebook in JupyterLab must leave it clean: the stored bytes are what nbformat writes
    (jupyter_server saves with ``nbformat.write``: indent 1, sorted keys, non-ASCII kept, one final
    newline), and the metadata already holds what the kernel reports on connecting (language_info)."""
    from ipykernel.ipkernel import IPythonKernel

    path = NOTEBOOKS / f"{name}.ipynb"
    stored = path.read_text(encoding="utf-8")
    nb = nbformat.read(path, as_version=4)
    assert nbformat.writes(nb) + "\n" == stored, f"{name} is not stored as JupyterLab would save it"
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5) and all("id" in cell for cell in nb.cells)
    running = dict(IPythonKernel.language_info)
    info = dict(nb.metadata["language_info"])
    assert info.pop("version").split(".")[:2] == running.pop("version").split(".")[:2], "stored for another Python"
    assert info == running, f"{name}: language_info differs from what the kernel reports, so opening dirties it"
    assert nb.metadata["kernelspec"] == {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }


@pytest.mark.parametrize("name", STORED)
def test_notebook_defaults_and_cells_echo_nothing(name):
    """Progress bars on by default; ``train_fresh`` right after ``checkpoint`` and passed to every
    ``cached_run``; no cell ends in an expression whose value would be echoed (``PosixPath(...)``)."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    parameters = next(c for c in code if "parameters" in c.metadata.get("tags", [])).source.splitlines()
    assert any(re.match(r"progress = True\b", line) for line in parameters), f"{name}: progress must default to True"
    names = [line.split("=")[0].strip() for line in parameters if re.match(r"\w+ = ", line)]
    assert names[names.index("checkpoint") + 1] == "train_fresh", f"{name}: train_fresh must follow checkpoint"
    assert any(re.match(r"train_fresh = False\s+# True: train a fresh shared run", line) for line in parameters)
    for cell in code:
        tree = ast.parse(cell.source)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            if ast.unparse(call.func).endswith("cached_run"):
                keywords = {k.arg: ast.unparse(k.value) for k in call.keywords}
                assert keywords.get("train") == "train_fresh", f"{name}: {ast.unparse(call)} lacks train=train_fresh"
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr) and not cell.source.rstrip().endswith(";"):
            func = ast.unparse(last.value.func) if isinstance(last.value, ast.Call) else ""
            assert func in ("print", "display"), f"{name}: cell ending in {ast.unparse(last)[:60]!r} echoes its value"


def _read(name):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("student, solved", SOLUTIONS.items())
def test_exercises_have_a_todo_a_check_and_a_collapsed_solution(student, solved):
    """Every exercise cell of the student's copy leaves its functions to the student (``# TODO`` and
    ``raise NotImplementedError``), is followed by a check cell and a collapsed solution; the solved copy
    holds those solutions, with no TODO left."""
    cells = _read(student).cells
    exercises = [k for k, cell in enumerate(cells) if is_exercise(cell)]
    assert len(exercises) >= 4, f"{student}: expected the four exercises of the toy section"
    for k in exercises:
        assert "# TODO" in cells[k].source and "raise NotImplementedError" in cells[k].source, cells[k].id
        following = cells[k + 1 : k + 3]
        assert following[0].cell_type == "code" and "checks.check(" in following[0].source, cells[k].id
        assert following[1].cell_type == "markdown" and "<details><summary>Solution</summary>" in following[1].source
        assert "**Expected.**" in cells[k - 1].source and "$$" in cells[k - 1].source, f"{cells[k].id}: definition"
    for cell in (c for c in _read(solved).cells if is_exercise(c)):
        assert "TODO" not in cell.source and "NotImplementedError" not in cell.source, cell.id


@pytest.mark.parametrize("student, solved", SOLUTIONS.items())
def test_solutions_copy_differs_only_in_exercise_cells(student, solved):
    """The solved copy is the student's copy with each exercise cell replaced by its collapsed solution
    (regenerate it with :func:`vireid_core.analysis.exercises.write_solutions`); nothing else differs."""
    mine, theirs = _read(student), _read(solved)
    assert theirs == solutions_notebook(mine), f"{solved} is stale: rewrite it with exercises.write_solutions"
    assert mine.metadata == theirs.metadata and len(mine.cells) == len(theirs.cells)
    changed = []
    for a, b in zip(mine.cells, theirs.cells, strict=True):
        assert (a.id, a.cell_type, a.metadata) == (b.id, b.cell_type, b.metadata)
        if a.source != b.source:
            assert is_exercise(a) and is_exercise(b), f"cell {a.id} differs but is no exercise cell"
            changed.append(a.id)
    assert changed == [c.id for c in mine.cells if is_exercise(c)], "every exercise must be solved"


def _run_toy_section(name, figures, *, strict):
    """Execute, in one namespace, the parameters cell (with ``exercises_strict = strict``, figures into
    ``figures``), the setup cell after it and the cells of the toy section, as a kernel would in order.
    Returns the namespace."""
    cells = _read(name).cells
    start = next(k for k, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith(TOY_HEADING))
    end = next(k for k in range(start + 1, len(cells)) if cells[k].source.startswith("## "))
    parameters = next(k for k, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    setup = next(k for k in range(parameters + 1, len(cells)) if cells[k].cell_type == "code")
    namespace = {"__name__": "__notebook__"}
    injected = {"figures_dir": str(figures), "exercises_strict": strict, "threads": torch.get_num_threads()}
    try:
        for k in [parameters, setup, *range(start, end)]:
            if cells[k].cell_type == "code":
                exec(compile(cells[k].source, f"{name}:{cells[k].id}", "exec"), namespace)
            if k == parameters:
                namespace.update(injected)
    finally:
        plt.close("all")
    return namespace


@pytest.mark.parametrize("solved", SOLUTIONS.values())
def test_solved_exercises_pass_every_check(solved, tmp_path, capsys):
    """The solutions, run in strict mode (an unfinished or wrong part raises): every part of every
    exercise matches the package, the toy figure is drawn and the toy's claims hold."""
    namespace = _run_toy_section(solved, tmp_path, strict=True)
    results = namespace["checks"].results
    assert len(results) == 8 and all(r.passed for r in results), [str(r) for r in results]
    assert (tmp_path / "02_toy_association.png").is_file()
    assert namespace["claims"].records and all(r["holds"] for r in namespace["claims"].records)
    assert "8 passed, 0 failed, 0 not done yet" in capsys.readouterr().out


@pytest.mark.parametrize("student", SOLUTIONS)
def test_unfinished_exercises_report_not_done_and_the_notebook_goes_on(student, tmp_path):
    """The student's copy as shipped: every check says "not done yet", none raises, and the figure and
    the claims after the exercises use the package's results."""
    namespace = _run_toy_section(student, tmp_path, strict=False)
    results = namespace["checks"].results
    assert len(results) == 8 and {r.status for r in results} == {"not done"}
    assert all(r["holds"] for r in namespace["claims"].records)
    assert namespace["numbers"]["toy"]["modality-aware Jaccard"]["cross_pairs_linked"] > 0


def run_papermill(notebook: Path, output: Path, params: dict) -> subprocess.CompletedProcess:
    """Execute ``notebook`` headless into ``output`` with ``params``, from ``notebooks/``, bounded by an outer
    ``timeout`` of 300 s and papermill's per-cell ``--execution-timeout`` of 240 s; returns the finished process."""
    command = [
        "timeout",
        "300",
        sys.executable,
        "-m",
        "papermill",
        str(notebook),
        str(output),
        "--cwd",
        str(NOTEBOOKS),
        "--execution-timeout",
        "240",
        "-k",
        "python3",
        "--no-progress-bar",
        "-y",
        json.dumps(params),
    ]
    return subprocess.run(command, capture_output=True, text=True)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run all four notebooks once (in order: 01 trains the shared smoke run the others reuse)."""
    root = tmp_path_factory.mktemp("notebooks")
    figures, cache = root / "figures", root / "cache"
    outcomes = {}
    for name in NAMES:
        params = {**SMOKE, **PARAMETERS[name], "cache_dir": str(cache), "figures_dir": str(figures)}
        outcomes[name] = run_papermill(NOTEBOOKS / f"{name}.ipynb", root / f"{name}.ipynb", params)
    return figures, outcomes


def _numbers(executed, name):
    figures, outcomes = executed
    done = outcomes[name]
    assert done.returncode == 0, f"{name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
    for figure in FIGURES[name]:
        assert (figures / f"{figure}.png").is_file(), f"{name} did not save {figure}.png"
    return json.loads((figures / f"{name}_numbers.json").read_text())


def _assert_claims_hold(numbers, where, *, must_hold=True):
    claims = numbers.get("claims")
    assert isinstance(claims, list) and claims, f"{where}: no claims list in the numbers file"
    for claim in claims:
        assert set(claim) == {"text", "condition", "holds"}, f"{where}: claim without text/condition/holds: {claim}"
        assert isinstance(claim["text"], str) and claim["text"] and isinstance(claim["condition"], str)
        assert isinstance(claim["holds"], bool), f"{where}: claim not evaluated: {claim['text']!r}"
        if must_hold:
            assert claim["holds"], f"{where}: claim no longer holds: {claim['text']!r} ({claim['condition']})"


@pytest.mark.parametrize("name", NAMES)
def test_committed_numbers_carry_claims_that_hold(name):
    """The numbers the notebooks computed with their default parameters (committed in figures/): the prose's
    claims hold for them. Re-running a notebook rewrites the file, so a claim broken by a change shows here."""
    _assert_claims_hold(json.loads((COMMITTED / f"{name}_numbers.json").read_text()), f"figures/{name}_numbers.json")


@pytest.mark.parametrize("name", ["03_training", "04_evaluation"])
def test_committed_numbers_read_the_stored_ladder(name):
    """Notebooks 03 and 04 (with their default parameters) show the stored baseline ladder: its figure is
    committed and their numbers carry every reference row with the seed spread of the record they read."""
    ladder = json.loads((COMMITTED / f"{name}_numbers.json").read_text())["ladder"]
    assert (COMMITTED / f"{name[:2]}_baseline_ladder.png").is_file()
    record = load_ladder(NOTEBOOKS / ladder["source"])
    assert ladder["seeds"] == record["seeds"], f"{name}: the committed numbers read an older state of the ladder"
    for row in ("untrained", "start", "M1", "M6", "oracle"):
        assert ladder["rows"][row] == record["aggregate"][row]["all_rank1"]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_claim_is_evaluated_in_the_smoke_run(executed, name):
    """The smoke preset's tiny model is not the run the prose describes, so its claims must be evaluated
    (each with a true/false ``holds``, shown struck through when false), not true; the committed default
    numbers, which the prose is written about, must hold (test_committed_numbers_carry_claims_that_hold)."""
    _assert_claims_hold(_numbers(executed, name), f"{name} (smoke run)", must_hold=False)


WIDGET_REPR = re.compile(r"^(VBox|HBox|Box|Image|HTML|SelectionSlider|IntProgress|FloatProgress)\(")
LONG_FLOAT = re.compile(r"\d\.\d{7,}")


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_outputs_are_tidy(executed, name):
    """What a reader sees: no error, no echoed path, no figure or widget shown only as its text repr (the
    text fallback beside an image or a widget view is fine), no number printed with more than six
    decimals, no printed line longer than 250 characters."""
    _numbers(executed, name)
    root = executed[0].parent
    nb = nbformat.read(root / f"{name}.ipynb", as_version=4)
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        for output in cell.outputs:
            assert output.output_type != "error", f"{name}: {output.get('ename')}: {output.get('evalue')}"
            data = output.get("data", {})
            plain = output.get("text", "") if output.output_type == "stream" else data.get("text/plain", "")
            assert "PosixPath(" not in plain, f"{name}: an echoed path {plain[:80]!r}"
            if WIDGET_REPR.match(plain) or plain.startswith(("<Figure size", "<IPython.core.display")):
                assert set(data) - {"text/plain"}, f"{name}: only the text repr is shown: {plain[:80]!r}"
            if output.output_type == "stream" and output.name == "stdout":
                assert not LONG_FLOAT.search(plain), f"{name}: unrounded number in {plain[:200]!r}"
                assert max(map(len, plain.splitlines()), default=0) <= 250, f"{name}: long line {plain[:200]!r}"


@pytest.mark.slow
def test_01_shows_the_modality_bias(executed):
    numbers = _numbers(executed, "01_modality_bias")
    for model in ("untrained", "pretrained", "after stage 1"):
        share = numbers["knn_other_modality"][model]
        for modality in ("visible", "infrared"):
            assert share[modality] < numbers["knn_chance"][modality], (model, modality)
    assert numbers["modality_gap"]["after stage 1"]["gap_same_id"] > 0
    assert numbers["plain_jaccard"]["mixed_cluster_fraction"] <= 0.25
    assert numbers["plain_jaccard"]["n_clusters"] > 0


@pytest.mark.slow
def test_02_modality_aware_jaccard_mixes_modalities(executed):
    numbers = _numbers(executed, "02_distance_rectification")
    clustering = numbers["clustering"]
    plain = clustering["plain Jaccard"]["mixed_cluster_fraction"]
    aware = clustering["modality-aware Jaccard"]["mixed_cluster_fraction"]
    # A smoke model (10 pretraining steps, 8 identities): only the direction is stable, not the size
    # (0.19-0.25 across float-rounding changes of the extraction).
    assert aware > plain, (plain, aware)
    weights = numbers["encoding_other_modality_weight"]
    assert weights["plain Jaccard"] < weights["modality-aware Jaccard"]
    balanced = numbers["query_lists"]["balanced"]
    assert balanced["other_modality"] == balanced["length"] // 2
    assert {r["kind"] for r in numbers["sweep"]} == {"plain", "modality-aware"}


@pytest.mark.slow
def test_03_training_logged_both_stages(executed):
    numbers = _numbers(executed, "03_training")
    assert numbers["live"]["stages_logged"] == [1, 2]
    assert numbers["live"]["iterations_logged"] == 2 * 2
    assert numbers["full_run"]["stages_logged"] == [1, 2]
    for metrics in numbers["live"]["evaluation"].values():
        assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert numbers["live"]["history"][-1]["global_mixed_fraction"] is not None


@pytest.mark.slow
def test_04_evaluation_metrics_are_fractions(executed):
    numbers = _numbers(executed, "04_evaluation")
    assert set(numbers["sysu"]) == {"all_single", "indoor_single", "all_multi", "indoor_multi"}
    assert set(numbers["regdb"]) == {"visible_to_thermal", "thermal_to_visible"}
    for group in ("sysu", "regdb"):
        for setting, metrics in numbers[group].items():
            for key in ("rank1", "rank10", "mAP", "mINP"):
                assert metrics[key] is not None and 0.0 <= metrics[key] <= 1.0, (group, setting, key)
    assert numbers["sysu"]["all_single"]["trials"] == 2
    assert set(numbers["ablation"]["means"]) == {"M2", "M6"}
    assert 0 <= numbers["gallery_top1_correct"] <= 2
    before_after = numbers["before_after_other_modality_at_10"]
    assert set(before_after) == {"after stage 1", "after stage 2 (BMIL)"}
    assert all(0.0 <= share <= 1.0 for shares in before_after.values() for share in shares.values())
