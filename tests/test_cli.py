"""`python -m vireid_core`: help for every command, clear errors with a non-zero exit status."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vireid_core.cli import main

COMMANDS = ("synth", "train", "evaluate", "demo", "ablation")


def test_module_help_lists_every_command():
    out = subprocess.run(
        [sys.executable, "-m", "vireid_core", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage" in capsys.readouterr().out


def test_unknown_preset_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--preset", "nope", "--out", str(tmp_path / "run")]) == 2
    assert "unknown preset 'nope'" in capsys.readouterr().err


def test_bad_set_value_names_the_key(tmp_path, capsys):
    code = main(["train", "--preset", "synthvi-smoke", "--out", str(tmp_path / "r"), "--set", "intra_clustering.k1=-3"])
    assert code == 2
    assert "intra_clustering.k1" in capsys.readouterr().err


def test_missing_dataset_root_is_a_clear_error(tmp_path, capsys):
    code = main(["train", "--preset", "sysu", "--data-root", str(tmp_path / "missing"), "--out", str(tmp_path / "r")])
    assert code == 2
    assert str(tmp_path / "missing") in capsys.readouterr().err


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    code = main(
        ["evaluate", "--checkpoint", str(tmp_path / "none.pt"), "--dataset", "sysu", "--data-root", str(tmp_path)]
    )
    assert code == 2
    assert "none.pt" in capsys.readouterr().err


def test_synth_then_load_round_trip(tmp_path, capsys):
    from vireid_core.data import load_dataset

    out = tmp_path / "sysu"
    assert (
        main(
            [
                "synth",
                "--out",
                str(out),
                "--layout",
                "sysu",
                "--identities",
                "8",
                "--seed",
                "3",
                "--height",
                "64",
                "--width",
                "32",
            ]
        )
        == 0
    )
    dataset = load_dataset("sysu", out)
    assert {s.modality for s in dataset.train} == {0, 1}
    assert {s.cam for s in dataset.query} <= {3, 6} and all(s.modality == 1 for s in dataset.query)
    assert (
        main(
            [
                "synth",
                "--out",
                str(tmp_path / "regdb"),
                "--layout",
                "regdb",
                "--identities",
                "6",
                "--height",
                "64",
                "--width",
                "32",
            ]
        )
        == 0
    )
    regdb = load_dataset("regdb", tmp_path / "regdb", trial=2)
    assert {s.modality for s in regdb.train} == {0, 1}


def test_train_then_evaluate_checkpoint(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # data_cache/ goes under tmp_path
    run = tmp_path / "run"
    sets = ["--set", "pretrain.enabled=false", "--set", "schedule.stage2.epochs=0"]
    assert main(["train", "--preset", "synthvi-smoke", "--out", str(run), "--no-progress", *sets]) == 0
    out = capsys.readouterr().out
    assert "stage 1" in out and "Rank-1" in out
    assert (run / "config.json").is_file() and (run / "metrics.jsonl").is_file() and (run / "results.json").is_file()
    # A second run into the same folder without --resume is refused; with --resume it is a no-op.
    assert main(["train", "--preset", "synthvi-smoke", "--out", str(run), "--no-progress", *sets]) == 2
    assert "--resume" in capsys.readouterr().err
    root = next((tmp_path / "data_cache").glob("synthvi-sysu-*"))
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                str(run / "last.pt"),
                "--dataset",
                "synthvi",
                "--data-root",
                str(root),
                "--trials",
                "2",
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "checkpoint: last epoch" in out and "report written" in out
