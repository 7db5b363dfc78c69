"""The shipped SynthVI models (models/synthvi/): present for the demo preset, matching its settings, intact,
loaded by the notebooks' default path without training, and giving the metrics their manifest states."""

from __future__ import annotations

import json

import pytest

from vireid_core.config import get_preset
from vireid_core.config.legacy import flat_layout
from vireid_core.errors import UserError
from vireid_core.run_dir import ShippedDir
from vireid_core.runs import cached_run
from vireid_core.shipped import MANIFEST_TRIALS, _file_sha256, evaluate_shipped
from vireid_core.workflow import open_checkpoint, prepare_dataset, prepare_model, pretrained_cache_path, shipped_start

PRESET = "synthvi-cpu"


@pytest.fixture(scope="module")
def shipped():
    config = get_preset(PRESET)
    shipped = ShippedDir.find(config)
    assert shipped is not None, (
        f"{ShippedDir.of_preset(PRESET).path} is missing or was trained with other "
        f"settings than the current {PRESET!r} preset: run `make checkpoints` and commit "
        "models/synthvi/"
    )
    return config, shipped.path, shipped.read_manifest()


def test_files_are_intact_and_small(shipped):
    _, folder, manifest = shipped
    assert set(manifest["files"]) == {"start.pt", "stage1_last.pt", "stage2_last.pt"}
    for name, digest in manifest["files"].items():
        assert _file_sha256(folder / name) == digest, name
        assert (folder / name).stat().st_size < 8 * 2**20, name
    assert manifest["evaluation"]["trials"] == MANIFEST_TRIALS


def test_notebook_default_path_loads_them_without_training(shipped, tmp_path):
    config, folder, _ = shipped
    run = cached_run(config, tmp_path, train=False)
    assert run.shipped and not run.trained_now and run.run_dir == folder
    assert run.stage_model(1) is not None
    start = prepare_model(config, tmp_path, progress=False)  # the shipped start, no pretraining
    assert not pretrained_cache_path(config, tmp_path).exists()
    assert start.feature_dim == run.model.feature_dim
    with pytest.raises(UserError, match="train_fresh"):
        cached_run(config, tmp_path, {"schedule.iters": 7}, train=False)


@pytest.mark.slow
def test_shipped_weights_give_the_manifest_metrics(shipped, tmp_path):
    config, folder, manifest = shipped
    dataset = prepare_dataset(config, tmp_path, progress=False)
    metrics = evaluate_shipped(config, folder, dataset)
    assert set(metrics) == set(manifest["metrics"]) == {"start", "stage 1", "stage 2"}
    for label, modes in metrics.items():
        for mode, values in modes.items():
            for key in ("rank1", "mAP", "mINP"):
                # float32 on any CPU; different kernels may flip a near-tie ranking, hence not exact
                assert values[key] == pytest.approx(manifest["metrics"][label][mode][key], abs=0.01), (label, mode, key)


def test_models_drawn_by_another_generator_version_are_not_used(shipped, tmp_path):
    """Same config, older SynthVI generator: the images differ, so the shipped models must not be found."""
    config, folder, manifest = shipped
    copy = ShippedDir.of_preset(PRESET, tmp_path)
    copy.path.mkdir(parents=True)
    copy.manifest.write_text(json.dumps({**manifest, "synthvi_generator": "1.2.0"}))
    assert ShippedDir.find(config, tmp_path) is None
    copy.manifest.write_text(json.dumps(manifest))
    assert ShippedDir.find(config, tmp_path) is not None


def test_files_written_in_the_flat_config_layout_are_read_through_the_renamed_keys(shipped, tmp_path):
    """The shipped manifest matches the preset, and a manifest written in the flat layout of before the
    config sections (as the generator-1.3 models were) is still found through the renamed keys."""
    config, folder, manifest = shipped
    assert ShippedDir(folder).stored_config().to_dict() == config.to_dict()
    assert shipped_start(config) == folder / "start.pt"
    copy = ShippedDir.of_preset(PRESET, tmp_path)
    copy.path.mkdir(parents=True)
    flat = flat_layout(manifest["config"])
    assert "cluster" in flat and "global_clustering" not in flat
    copy.manifest.write_text(json.dumps({**manifest, "config": flat}))
    assert ShippedDir.find(config, tmp_path) is not None
    assert open_checkpoint(folder / "stage2_last.pt").config.to_dict() == config.to_dict()


def test_finding_the_shipped_folder_reads_its_manifest_once(shipped, monkeypatch):
    config, _, _ = shipped
    reads = []
    original = ShippedDir.read_manifest
    monkeypatch.setattr(ShippedDir, "read_manifest", lambda self: reads.append(self.path) or original(self))
    assert ShippedDir.find(config) is not None and len(reads) == 1
