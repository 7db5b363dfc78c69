"""The ablation driver: seed lists, seed-major resumption over finished runs, the CLI's --seeds."""

from __future__ import annotations

import json

import pytest

from vireid_core.ablation import run_ablation, seed_list
from vireid_core.cli import main


def finished_run(path, rank1: float) -> None:
    """A results.json as train_run writes it, reduced to what the ablation reads."""
    path.mkdir(parents=True)
    metrics = {"rank1": rank1, "mAP": rank1 / 2, "mINP": rank1 / 4}
    result = {"evaluations": {"stage 2": {"all": metrics, "indoor": metrics}},
              "history": [{"clusters_global": 3, "global_ari": 0.5, "global_mixed_fraction": 0.25}]}
    (path / "results.json").write_text(json.dumps(result))


def test_seed_list_accepts_counts_and_lists() -> None:
    assert seed_list(3) == [1, 2, 3]
    assert seed_list([3, 2, 3]) == [2, 3]
    with pytest.raises(ValueError, match="at least 1"):
        seed_list(0)
    with pytest.raises(ValueError, match="non-negative"):
        seed_list([-1])


def test_finished_runs_are_reused_and_only_chosen_seeds_aggregated(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("vireid_core.ablation.training_set_ceiling", lambda *a, **k: 0.7)
    for seed, rank1 in ((1, 0.10), (2, 0.20), (3, 0.90)):
        finished_run(tmp_path / "M1" / f"seed{seed}", rank1)
    summary = run_ablation("synthvi-smoke", ["M1"], [1, 2], tmp_path, progress=False)
    assert summary["seeds"] == [1, 2]
    rank1 = summary["aggregate"]["M1"]["all_rank1"]
    assert rank1["mean"] == pytest.approx(15.0) and rank1["n"] == 2
    assert rank1["std"] == pytest.approx(7.0710678)  # sample std over the two seeds
    assert summary["training_set_single_modality_ceiling_ari"] == 0.7
    assert json.loads((tmp_path / "ablation.json").read_text())["seeds"] == [1, 2]


def test_cli_rejects_a_malformed_seed_list(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["ablation", "--seeds", "2,x", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "2,x" in capsys.readouterr().err


def test_undefined_metrics_are_skipped_not_averaged() -> None:
    from vireid_core.ablation import aggregate, format_table

    table = aggregate({"M2": [{"all_rank1": 5.0, "global_cross_modality_pair_precision": float("nan")},
                              {"all_rank1": 7.0, "global_cross_modality_pair_precision": float("nan")}],
                       "M3": [{"all_rank1": 6.0, "global_cross_modality_pair_precision": 0.2},
                              {"all_rank1": 8.0, "global_cross_modality_pair_precision": float("nan")}]})
    assert "global_cross_modality_pair_precision" not in table["M2"]
    assert table["M3"]["global_cross_modality_pair_precision"] == {"mean": 0.2, "std": 0.0, "n": 1}
    text = format_table(table)
    assert "nan" not in text and "6.0 ± 1.4" in text


def test_paired_differences_are_per_seed() -> None:
    from vireid_core.ablation import format_paired, paired_differences

    per_seed = {"M2": [{"all_rank1": 5.0}, {"all_rank1": 9.0}], "M3": [{"all_rank1": 6.0}, {"all_rank1": 9.5}]}
    paired = paired_differences(per_seed)
    assert list(paired) == ["M3 - M2"]  # M1 did not run: no "M2 - M1"
    step = paired["M3 - M2"]["all_rank1"]
    assert step["values"] == [1.0, 0.5] and step["positive"] == 2 and step["mean"] == 0.75
    assert "+0.8 ± 0.4 (2/2 seeds > 0)" in format_paired(paired)
