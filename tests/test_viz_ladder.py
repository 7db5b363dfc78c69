"""The baseline-ladder figure reads the stored ablation record and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vireid_core.viz.ladder import ladder_values, load_ladder, plot_baseline_ladder


def test_baseline_ladder_plots_the_stored_seeds(tmp_path: Path) -> None:
    """The ladder figure reads runs[row] of an ablation.json: one value per seed, missing rows skipped,
    and a clear error for a folder without a record or a row without seeds."""
    record = {
        "seeds": [1, 2],
        "runs": {"start": [{"all_rank1": 2.0}, {"all_rank1": 4.0}], "M6": [{"all_rank1": 9.0}, {"all_rank1": 11.0}]},
    }
    (tmp_path / "ablation.json").write_text(json.dumps(record))
    loaded = load_ladder(tmp_path)
    assert ladder_values(loaded, "M6").tolist() == [9.0, 11.0]
    fig = plot_baseline_ladder(loaded)
    assert [t.get_text().split("\n")[0] for t in fig.axes[0].get_xticklabels()] == ["start", "M6"]
    with pytest.raises(FileNotFoundError, match="ablation.json"):
        load_ladder(tmp_path / "nowhere")
    with pytest.raises(KeyError, match="oracle"):
        ladder_values(loaded, "oracle")


def test_committed_ladder_record_loads() -> None:
    """The committed generator-1.3 ladder has three finished seeds of every row the figure shows."""
    record = load_ladder(Path(__file__).resolve().parents[1] / "results/calibration/gen1.3-ladder")
    for row in ("untrained", "start", "M1", "M6", "oracle"):
        assert ladder_values(record, row).size == 3
