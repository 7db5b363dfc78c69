"""The two-stage engine on a tiny SynthVI set: both stages, resume equality, robustness."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.engine_fixtures import tiny_config, tiny_dataset
from vireid_core.learning.callbacks import Callback, HistoryRecorder, MetricsJsonl
from vireid_core.learning.engine import Engine, TrainingDiverged


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("engine_cache")


@pytest.fixture(scope="module")
def dataset(cache_dir):
    return tiny_dataset(cache_dir)


def _params(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_two_stages_log_every_epoch_and_train(dataset, tmp_path):
    config = tiny_config()
    recorder = HistoryRecorder()
    engine = Engine(
        config, dataset, out_dir=tmp_path, callbacks=[recorder, MetricsJsonl(tmp_path / "m.jsonl")], progress=False
    )
    before = _params(engine.model)
    engine.run()
    stages = [(r["stage"], r["epoch"]) for r in recorder.records]
    assert stages == [(1, 0), (2, 0)]
    stage2 = recorder.records[1]
    assert stage2["clusters_ir"] > 0 and stage2["clusters_vis"] > 0 and stage2["clusters_global"] > 0
    assert 0.0 <= stage2["global_mixed_fraction"] <= 1.0 and stage2["loss_global"] is not None
    assert np.isfinite(stage2["loss_intra"]) and -1.0 <= stage2["global_ari"] <= 1.0
    changed = [
        k for k, v in engine.model.state_dict().items() if v.dtype.is_floating_point and not torch.equal(v, before[k])
    ]
    assert changed, "training changed no parameter"
    lines = (tmp_path / "m.jsonl").read_text().splitlines()
    assert [json.loads(line)["stage"] for line in lines] == [1, 2]
    assert {"last.pt", "stage1_last.pt", "stage2_last.pt"} <= {p.name for p in tmp_path.iterdir()}


class _Crash(Callback):
    """Simulate a kill right after the first epoch's checkpoint was written."""

    def on_epoch_end(self, record):
        raise KeyboardInterrupt


def test_resume_gives_the_same_model_as_an_uninterrupted_run(dataset, tmp_path):
    config = tiny_config(**{"schedule.stage1.epochs": 2})
    straight = Engine(config, dataset, out_dir=tmp_path / "a", progress=False)
    straight.run()

    crashed = Engine(config, dataset, out_dir=tmp_path / "b", callbacks=[_Crash()], progress=False)
    with pytest.raises(KeyboardInterrupt):
        crashed.run()
    resumed = Engine(config, dataset, out_dir=tmp_path / "b", progress=False)
    assert resumed.resume()
    assert (resumed.stage, resumed.next_epoch) == (1, 1)
    resumed.run()
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert [r["epoch"] for r in resumed.history] == [r["epoch"] for r in straight.history]
    assert resumed.history[-1]["loss_global"] == pytest.approx(straight.history[-1]["loss_global"])


def test_no_clusters_is_reported_not_a_crash(dataset, monkeypatch):
    from vireid_core.learning import pseudo_labels

    monkeypatch.setattr(
        pseudo_labels, "cluster_dbscan", lambda dist, eps, min_samples: np.full(dist.shape[0], -1, dtype=np.int64)
    )
    recorder = HistoryRecorder()
    Engine(tiny_config(), dataset, callbacks=[recorder], progress=False).run()
    text = "\n".join(recorder.messages)
    assert "no infrared clusters" in text and "nothing was clustered" in text
    assert "global clustering found no clusters" in text
    assert recorder.records[-1]["clusters_ir"] == 0


def test_nan_loss_stops_with_a_clear_error(dataset, monkeypatch):
    from vireid_core.learning import memories

    monkeypatch.setattr(memories.HybridMemory, "loss", lambda self, f, t: (f * float("nan")).sum())
    engine = Engine(tiny_config(), dataset, progress=False)
    with pytest.raises(TrainingDiverged, match="loss became nan"):
        engine.run()


def test_training_never_sees_true_ids(dataset, monkeypatch):
    """Shuffling the true pids changes diagnostics only, never the trained weights."""
    import dataclasses

    config = tiny_config()
    a = Engine(config, dataset, progress=False)
    a.run()
    rng = np.random.default_rng(0)
    fake = rng.permutation([s.pid for s in dataset.train])
    shuffled = dataclasses.replace(
        dataset, train=[dataclasses.replace(s, pid=int(p)) for s, p in zip(dataset.train, fake, strict=True)]
    )
    b = Engine(config, shuffled, progress=False)
    b.run()
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key]), key
