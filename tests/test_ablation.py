"""The ablation driver: seed lists, seed-major resumption over finished runs, the CLI's --seeds."""

from __future__ import annotations

import json

import pytest

from vireid_core.ablation import seed_list
from vireid_core.cli import main
from vireid_core.runs import run_ablation


def finished_run(path, rank1: float) -> None:
    """A results.json as train_run writes it, reduced to what the ablation reads."""
    path.mkdir(parents=True)
    metrics = {"rank1": rank1, "mAP": rank1 / 2, "mINP": rank1 / 4}
    result = {
        "evaluations": {"stage 2": {"all": metrics, "indoor": metrics}},
        "history": [{"clusters_global": 3, "global_ari": 0.5, "global_mixed_fraction": 0.25}],
    }
    (path / "results.json").write_text(json.dumps(result))


def test_seed_list_accepts_counts_and_lists() -> None:
    assert seed_list(3) == [1, 2, 3]
    assert seed_list([3, 2, 3]) == [2, 3]
    with pytest.raises(ValueError, match="at least 1"):
        seed_list(0)
    with pytest.raises(ValueError, match="non-negative"):
        seed_list([-1])


def test_finished_runs_are_reused_and_only_chosen_seeds_aggregated(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("vireid_core.runs.training_set_ceiling", lambda *a, **k: 0.7)
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

    table = aggregate(
        {
            "M2": [
                {"all_rank1": 5.0, "global_cross_modality_pair_precision": float("nan")},
                {"all_rank1": 7.0, "global_cross_modality_pair_precision": float("nan")},
            ],
            "M3": [
                {"all_rank1": 6.0, "global_cross_modality_pair_precision": 0.2},
                {"all_rank1": 8.0, "global_cross_modality_pair_precision": float("nan")},
            ],
        }
    )
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


def test_reference_rows_flatten_like_training_runs() -> None:
    from vireid_core.ablation import _final_numbers

    metrics = {"rank1": 0.08, "mAP": 0.1, "mINP": 0.05}
    result = {
        "row": "start",
        "history": [],
        "seconds_to_make": 90.0,
        "evaluations": {"start": {"all": metrics, "indoor": metrics}, "selection": {"checkpoint": "start"}},
    }
    numbers = _final_numbers(result, {"test_other_modality_share_10nn": 0.01})
    assert numbers["all_rank1"] == pytest.approx(8.0) and numbers["indoor_mAP"] == pytest.approx(10.0)
    assert numbers["minutes"] == pytest.approx(1.5) and numbers["test_other_modality_share_10nn"] == 0.01


def test_issue_targets_are_checked_on_means_and_paired_seeds() -> None:
    from vireid_core.ablation import aggregate, paired_differences
    from vireid_core.ladder_targets import check_targets, format_targets

    def runs(*rank1: float, **extra: float) -> list[dict[str, float]]:
        return [{"all_rank1": r, **extra} for r in rank1]

    per_seed = {
        "start": runs(
            8,
            9,
            10,
            7,
            8,
            test_other_modality_share_10nn=0.01,
            test_other_modality_share_10nn_chance=0.5,
            plain_jaccard_mixed_fraction=0.02,
        ),
        "M1": runs(20, 19, 21, 18, 20),
        "M2": runs(21, 20, 20, 18, 22),
        "M3": runs(25, 24, 26, 23, 25),
        "M6": runs(40, 39, 41, 38, 40, test_other_modality_share_10nn=0.2, global_cross_modality_pair_precision=0.4),
        "oracle": runs(60, 61, 59, 60, 60),
    }
    targets = {t["target"]: t for t in check_targets(aggregate(per_seed), paired_differences(per_seed))}
    assert targets["start ≤ 10 % Rank-1"]["met"]
    assert targets["M1 ≥ 2 × start"]["met"] and targets["oracle above M6"]["met"]
    assert targets["M6 ≥ M1 + 10 points and ≥ 1.3 × M1"]["met"]
    step = targets["M2 > M1 (paired all R1 > 0 in ≥ 4 of 5 seeds)"]
    assert not step["met"] and "3/5 seeds" in step["measured"]  # +1, +1, -1, 0, +2
    assert targets["M6 > M3 (paired all R1 > 0 in ≥ 4 of 5 seeds)"]["met"]
    assert not targets["M6: last global clustering's cross-modality pair precision ≥ 0.5"]["met"]
    assert not any(t.startswith("M4") for t in targets)  # rows that did not run are not judged
    assert "MISSED" in format_targets(list(targets.values()))
