"""The baseline ladder (issue 12): reference rows untrained/start/oracle beside the M rows in one protocol,
per-run probes, resumption, the printed table, and the oracle as the only reader of target labels."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_fixtures import tiny_config, tiny_dataset

from vireid_core import runs
from vireid_core.ablation import finished_ladder, row_config
from vireid_core.cli import main
from vireid_core.ladder_probes import SHARE, final_weights_path, other_modality_share
from vireid_core.learning.checkpoints import load_checkpoint
from vireid_core.learning.oracle import oracle_budget, train_oracle
from vireid_core.learning.setup import build_configured_model
from vireid_core.runs import run_ablation
from vireid_core.workflow import prepare_model, pretrained_cache_path

PACKAGE = Path(__file__).resolve().parent.parent / "vireid_core"
ROWS = ["untrained", "start", "M1", "oracle"]
OVERRIDES = {"threads": 1, "pretrain.iterations": 4}


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """One seed of a small ladder on synthvi-smoke: (out folder, cache folder, summary)."""
    root = tmp_path_factory.mktemp("ladder")
    out, cache = root / "out", root / "cache"
    summary = run_ablation("synthvi-smoke", ROWS, [1], out, overrides=OVERRIDES, progress=False, cache_dir=cache)
    return out, cache, summary


def test_every_row_is_evaluated_and_probed_in_one_protocol(ladder) -> None:
    out, _, summary = ladder
    stored = json.loads((out / "ablation.json").read_text())
    assert {"seeds", "aggregate", "runs", "paired"} <= set(stored) and stored["seeds"] == [1]
    assert list(stored["runs"]) == ROWS
    for name in ROWS:
        run = stored["runs"][name][0]
        for key in ("all_rank1", "all_mAP", "indoor_rank1", "indoor_mAP"):
            assert 0.0 <= run[key] <= 100.0, (name, key)
        assert 0.0 <= run[SHARE] <= 1.0 and 0.0 < run[f"{SHARE}_chance"] < 1.0, name
        assert (out / name / "seed1" / "probes.json").is_file()
    start = stored["runs"]["start"][0]
    assert 0.0 <= start["plain_jaccard_mixed_fraction"] <= 1.0
    assert "modality_aware_jaccard_mixed_fraction" in start
    assert "M1 - start" in stored["paired"] and "untrained" in summary["table"] and "oracle" in summary["table"]


def test_reference_rows_use_the_seeds_start_and_the_oracle_trains_it(ladder) -> None:
    out, cache, _ = ladder
    start_file = pretrained_cache_path(row_config("synthvi-smoke", "start", 1, OVERRIDES), cache)
    assert start_file == pretrained_cache_path(row_config("synthvi-smoke", "M1", 1, OVERRIDES), cache)
    assert start_file.is_file()
    start = load_checkpoint(start_file)["model"]
    oracle = load_checkpoint(out / "oracle" / "seed1" / "oracle.pt")
    key = "body.layer4.0.conv1.weight"
    assert not torch.equal(oracle["model"][key], start[key])
    result = json.loads((out / "oracle" / "seed1" / "results.json").read_text())
    budget = oracle_budget(row_config("synthvi-smoke", "oracle", 1, OVERRIDES))
    assert result["oracle"]["iterations"] == budget["iterations"] == 2 * (1 + 2 * 1)
    untrained = build_configured_model(row_config("synthvi-smoke", "untrained", 1, OVERRIDES))
    assert not torch.equal(untrained.state_dict()[key], start[key])


def test_finished_rows_are_not_redone_and_a_missing_one_is(ladder, tmp_path, monkeypatch) -> None:
    out, cache, summary = ladder
    copy = tmp_path / "out"
    for name in ROWS:
        (copy / name / "seed1").mkdir(parents=True)
        for file in (out / name / "seed1").glob("*.json"):
            (copy / name / "seed1" / file.name).write_text(file.read_text())
    (copy / "oracle" / "seed1" / "results.json").unlink()
    made: list[str] = []

    def remake(name: str, config, run_dir: Path, **kw) -> None:
        made.append(name)
        (Path(run_dir) / "results.json").write_text((out / name / "seed1" / "results.json").read_text())

    monkeypatch.setattr(runs, "run_baseline_row", remake)
    monkeypatch.setattr(runs, "train_run", lambda *a, **k: pytest.fail("an M row was retrained"))
    again = run_ablation("synthvi-smoke", ROWS, [1], copy, overrides=OVERRIDES, progress=False, cache_dir=cache)
    assert made == ["oracle"]
    assert again["runs"] == summary["runs"]


def test_table_command_prints_complete_seeds_without_training(ladder, tmp_path, capsys, monkeypatch) -> None:
    out, _, _ = ladder
    monkeypatch.setattr(runs, "train_run", lambda *a, **k: pytest.fail("trained"))
    assert main(["ablation-table", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for name in ROWS:
        assert f"| {name} " in text
    assert "issue-12 target" in text and "seeds 1" in text
    extra = out.parent / "partial"
    for name in ROWS:
        (extra / name / "seed1").mkdir(parents=True)
        (extra / name / "seed1" / "results.json").write_text((out / name / "seed1" / "results.json").read_text())
    (extra / "M1" / "seed2").mkdir(parents=True)
    (extra / "M1" / "seed2" / "results.json").write_text((out / "M1" / "seed1" / "results.json").read_text())
    rows, seeds, notes = finished_ladder(extra)
    assert rows == ROWS and seeds == [1] and notes == ["seed 2: left out, finished only for M1"]
    assert main(["ablation-table", "--out", str(tmp_path / "none")]) == 2


def test_probes_of_a_training_run_come_from_its_final_checkpoint(ladder) -> None:
    out, cache, _ = ladder
    run_dir = out / "M1" / "seed1"
    config = row_config("synthvi-smoke", "M1", 1, OVERRIDES)
    assert final_weights_path(run_dir, config) == run_dir / "stage1_last.pt"  # M1 has no stage 2
    model = build_configured_model(config)
    model.load_state_dict(load_checkpoint(run_dir / "stage1_last.pt")["model"])
    dataset = tiny_dataset(cache, config)
    stored = json.loads((run_dir / "probes.json").read_text())
    assert stored[SHARE] == pytest.approx(other_modality_share(model, dataset, config)[SHARE])
    best = row_config("synthvi-smoke", "M6", 1, {**OVERRIDES, "schedule.checkpoint_selection": "best"})
    assert final_weights_path(run_dir, best) is None  # no stage2_last.pt, no best_stage2.pt


def test_unknown_rows_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown ablation config 'M9'"):
        run_ablation("synthvi-smoke", ["start", "M9"], 1, tmp_path, progress=False)
    assert main(["ablation", "--configs", "start,M9", "--out", str(tmp_path)]) == 2


def test_oracle_budget_matches_the_two_stages() -> None:
    config = row_config("synthvi-cpu", "oracle", 1)
    budget = oracle_budget(config)
    s = config.schedule
    assert budget["iterations"] == s.iters * (s.stage1.epochs + 2 * s.stage2.epochs) == 900
    assert budget["batch_size"] == s.ir_batch + 2 * s.vis_batch == 128
    assert budget["lr"] == config.optim.lr


def test_the_oracle_reads_the_target_labels(tmp_path) -> None:
    """The oracle is supervised by the true pids: shuffling them changes its weights (contrast with
    tests/test_engine.py::test_training_never_sees_true_ids for the unsupervised path)."""
    config = tiny_config()
    dataset = tiny_dataset(tmp_path, config)
    fake = np.random.default_rng(0).permutation([s.pid for s in dataset.train])
    shuffled = dataclasses.replace(
        dataset, train=[dataclasses.replace(s, pid=int(p)) for s, p in zip(dataset.train, fake, strict=True)]
    )
    weights = []
    for data in (dataset, dataset, shuffled):
        model = build_configured_model(config)
        train_oracle(model, data, config, progress=False)
        weights.append(model.state_dict()["body.layer4.0.conv1.weight"].clone())
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


def _calls(name: str) -> dict[str, list[ast.Call]]:
    """Package file (relative path) → the calls of function ``name`` in it."""
    found: dict[str, list[ast.Call]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == name:
                found.setdefault(str(path.relative_to(PACKAGE)), []).append(node)
    return found


def test_the_oracle_is_the_only_place_target_pids_are_labels() -> None:
    """pretrain_on_source is the one function that turns pids into training targets. It is called by the
    configured start (on the source set, from the workflow) and by the oracle only; the oracle only by
    the ladder's reference rows; and nothing else imports the oracle module."""
    assert set(_calls("pretrain_on_source")) == {"learning/starts.py", "learning/oracle.py"}
    starts = _calls("pretrain_start")
    assert set(starts) == {"workflow.py"}
    (call,) = starts["workflow.py"]
    assert isinstance(call.args[1], ast.Call) and call.args[1].func.id == "source_samples"
    assert set(_calls("train_oracle")) == {"ladder_rows.py"}
    importers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "vireid_core.learning.oracle":
                importers.add(str(path.relative_to(PACKAGE)))
    assert importers == {"ladder_rows.py"}


def test_imagenet_start_and_untrained_row(tmp_path) -> None:
    """The ImageNet EfficientNet-Lite0 candidate start: no pretraining, both stems hold the packaged stem;
    the untrained row of the same config is the random network."""
    from vireid_core.ladder_rows import _row_model
    from vireid_core.model import packaged_effnet_lite0_path

    config = tiny_config(**{"model.arch": "effnet_lite0", "model.pretrained": "imagenet"})
    packaged = torch.load(packaged_effnet_lite0_path(), map_location="cpu", weights_only=True)
    start = prepare_model(config, tmp_path, progress=False, use_shipped=False)
    for stem in start.stems:
        assert torch.equal(stem.conv.weight, packaged["_conv_stem.weight"])
    untrained, _ = _row_model("untrained", config, None, tmp_path, False)
    assert not torch.equal(untrained.stems[0].conv.weight, packaged["_conv_stem.weight"])


def test_ladder_flag_runs_every_row_in_ladder_order(tmp_path, monkeypatch, capsys) -> None:
    seen = {}

    def fake(preset, names, seeds, out, **kw):
        seen.update(preset=preset, names=names, seeds=seeds)
        return {"table": "| table |"}

    monkeypatch.setattr(runs, "run_ablation", fake)
    assert main(["ablation", "--ladder", "--seeds", "5", "--out", str(tmp_path / "ladder")]) == 0
    assert seen == {
        "preset": "synthvi-cpu",
        "seeds": 5,
        "names": ["untrained", "start", "M1", "M2", "M3", "M4", "M5", "M6", "oracle"],
    }
    assert "| table |" in capsys.readouterr().out
