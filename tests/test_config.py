"""Run configuration: presets, overrides, validation messages that name the key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vireid_core.config import (
    ABLATIONS,
    LEGACY_KEYS,
    RunConfig,
    all_keys,
    get_preset,
    get_value,
    preset_names,
    run_digest,
    set_value,
    set_values,
    stable_digest,
)
from vireid_core.config.checks import flatten
from vireid_core.config.legacy import flat_layout
from vireid_core.run_dir import check_checkpoint_config
from vireid_core.workflow import synthvi_config

RESULTS = Path(__file__).resolve().parent.parent / "results"
CONFIGS = sorted(RESULTS.rglob("config.json"))
# run folders written in the flat layout before the sections (their top level has the flat "cluster" key)
STORED = [p for p in CONFIGS if "cluster" in json.loads(p.read_text())]
SECTIONED = [p for p in CONFIGS if p not in STORED]  # written since, in the sections' layout


def test_every_preset_validates_and_round_trips():
    for name in preset_names():
        config = get_preset(name)
        assert RunConfig.from_dict(config.to_dict()).to_dict() == config.to_dict()


def test_official_presets_follow_the_official_run_scripts():
    sysu, regdb = get_preset("sysu"), get_preset("regdb")
    intra, global_ = sysu.intra_clustering, sysu.global_clustering
    assert (intra.k1, intra.k2, global_.k1, global_.k2, global_.eps, intra.subset_ratio) == (30, 6, 30, 6, 0.6, 0.5)
    assert intra.min_samples == global_.min_samples == 4
    assert (sysu.schedule.iters, sysu.schedule.vis_batch, sysu.schedule.ir_batch) == (200, 128, 128)
    assert (sysu.optim.lr, sysu.optim.weight_decay, sysu.memory.temperature, sysu.memory.momentum) == (
        3.5e-4,
        5e-4,
        0.05,
        0.1,
    )
    assert (sysu.loss.step_a_intra, sysu.loss.step_b_global) == (1.0, 0.5)
    assert (regdb.intra_clustering.eps_infrared, regdb.global_clustering.eps, regdb.intra_clustering.subset_ratio) == (
        0.3,
        0.3,
        None,
    )
    assert (regdb.schedule.iters, regdb.schedule.vis_batch) == (100, 64)
    assert sysu.schedule.stage1.color_jitter_ir and not regdb.schedule.stage1.color_jitter_ir


def test_ablations_are_configuration():
    full = get_preset("synthvi-cpu:M6")
    m1 = get_preset("synthvi-cpu:M1")
    m2 = get_preset("synthvi-cpu:M2")
    m3 = get_preset("synthvi-cpu:M3")
    assert m1.schedule.stage2.epochs == 0
    assert m1.schedule.stage1.epochs == full.schedule.stage1.epochs + full.schedule.stage2.epochs
    assert m2.global_clustering.method == "plain" and not m2.memory.split_prototypes
    assert m3.global_clustering.method == "modality_aware" and m3.intra_clustering.subset_ratio is None
    assert full.memory.split_prototypes and full.intra_clustering.subset_ratio == 0.5
    assert set(ABLATIONS) == {f"M{i}" for i in range(1, 7)}


def test_overrides_are_typed_from_text():
    config = get_preset(
        "sysu",
        {
            "global_clustering.eps": "0.5",
            "schedule.iters": "7",
            "memory.split_prototypes": "false",
            "intra_clustering.subset_ratio": "none",
        },
    )
    assert config.global_clustering.eps == 0.5 and config.schedule.iters == 7
    assert config.memory.split_prototypes is False and config.intra_clustering.subset_ratio is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("global_clustering.epsilon", "0.5"),
        ("schedule.iters", "0"),
        ("schedule.iters", "many"),
        ("global_clustering.eps", "1.5"),
        ("model.arch", "vgg"),
        ("memory.split_prototypes", "maybe"),
        ("schedule.ir_batch", "20"),
        ("schedule.stage2.epochs", "-1"),
        ("schedule.stage1.eval_trials", "0"),
        ("intra_clustering.eps_visible", "0"),
        ("global_clustering.min_samples", "0"),
        ("memory.num_selected", "0"),
        ("loss.step_b_global", "-0.5"),
        ("neighbours.method", "annoy"),  # KnnConfig's own check, named by the key
        ("neighbours.block_size", "0"),
        ("data.synthvi.n_train_ids", "-1"),
        ("data.synthvi.ir_response", "xray"),
    ],
)
def test_bad_values_name_the_key(key, value):
    with pytest.raises(ValueError, match=re.escape(key)):
        get_preset("sysu", {key: value})


def test_unknown_preset_and_section_errors():
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("market1501")
    with pytest.raises(ValueError, match="unknown ablation"):
        get_preset("sysu:M9")
    with pytest.raises(ValueError, match="section"):
        set_value(RunConfig(), "global_clustering", "1")


def test_a_run_trained_before_a_key_was_added_still_resumes(tmp_path):
    """A checkpoint whose stored config lacks keys added later (here pretrain.modalities/channel_aug, at
    their dataclass defaults in the request, which reproduce the older behaviour) is the same run; a real
    difference is still refused."""
    config = get_preset("synthvi-smoke", {"pretrain.modalities": "both", "pretrain.channel_aug": 0.0})
    older = config.to_dict()
    for key in ("modalities", "channel_aug"):
        del older["pretrain"][key]
    state = {"config": older, "config_digest": stable_digest(older)}
    check_checkpoint_config(state, config, tmp_path / "last.pt")
    visible = get_preset("synthvi-smoke", {"pretrain.modalities": "visible"})
    with pytest.raises(ValueError, match="pretrain.modalities"):
        check_checkpoint_config(state, visible, tmp_path / "last.pt")


def test_renamed_keys_are_refused_with_their_new_names():
    with pytest.raises(ValueError, match=r"'cluster.eps_global' was renamed to 'global_clustering.eps'"):
        get_preset("sysu", {"cluster.eps_global": 0.5})
    with pytest.raises(ValueError, match="'intra_clustering.min_samples' and 'global_clustering.min_samples'"):
        get_preset("sysu", {"cluster.min_samples": 3})
    assert not set(LEGACY_KEYS) & set(all_keys())


def test_synthvi_draws_at_the_run_image_size():
    """data.height/width is the one place deciding image size: data.synthvi's size follows it."""
    config = get_preset("synthvi-smoke", {"data.height": 96, "data.width": 48})
    assert (synthvi_config(config).height, synthvi_config(config).width) == (96, 48)
    assert (config.data.synthvi.height, config.data.synthvi.width) == (96, 48)
    assert config.to_dict()["data"]["synthvi"]["height"] == 96 and "data.synthvi.height" not in all_keys()
    with pytest.raises(ValueError, match="'data.synthvi.height' follows 'data.height'"):
        get_preset("synthvi-smoke", {"data.synthvi.height": 96})
    stored = config.to_dict()
    stored["data"]["synthvi"]["width"] = 64
    with pytest.raises(ValueError, match=r"'data.synthvi.width'=64 differs from 'data.width'=48"):
        RunConfig.from_dict(stored)
    with pytest.raises(ValueError, match="do not suit SynthVI"):
        get_preset("synthvi-smoke", {"data.height": 16})
    get_preset("sysu", {"data.height": 16, "data.width": 8})  # SynthVI is not drawn: its limits do not apply


def test_a_frozen_section_takes_its_keys_together():
    """data.synthvi is rebuilt once per update, so its own checks see the final values, not a step between."""
    config = get_preset("synthvi-cpu")
    set_values(config, {"data.synthvi.n_train_ids": 9900, "data.synthvi.n_test_ids": 0, "neighbours.screen": "off"})
    assert (config.data.synthvi.n_train_ids, config.data.synthvi.n_test_ids) == (9900, 0)
    assert config.neighbours.screen == "off" and get_value(config, "neighbours.screen") == "off"


@pytest.mark.parametrize("path", SECTIONED, ids=[str(p.relative_to(RESULTS)) for p in SECTIONED])
def test_run_folders_written_in_sections_load_unchanged(path: Path):
    """Every stored setting loads unchanged; the key added since (generator 1.4's ``pigment_cues``) takes
    its default, and no other key appears."""
    stored = dict(flatten(json.loads(path.read_text())))
    loaded = dict(flatten(RunConfig.from_json(path).to_dict()))
    assert {key: loaded[key] for key in stored} == stored
    assert set(loaded) - set(stored) <= {"data.synthvi.pigment_cues"}


@pytest.mark.parametrize("path", STORED, ids=[str(p.relative_to(RESULTS)) for p in STORED])
def test_run_folders_written_before_the_sections_still_load(path: Path):
    stored = json.loads(path.read_text())
    assert "cluster" in stored  # the flat layout
    config = RunConfig.from_json(path)
    for old, value in flatten(stored):
        for new in LEGACY_KEYS.get(old, (old,)):
            assert get_value(config, new) == value, (old, new)
    back = dict(flatten(flat_layout(config.to_dict())))
    assert all(back[key] == value for key, value in flatten(stored))  # the table read both ways
    # a checkpoint of that run (its stored digest is of the flat layout) resumes with the migrated config
    state = {"config": stored, "config_digest": stable_digest(stored)}
    check_checkpoint_config(state, config, path.with_name("last.pt"))
    other = RunConfig.from_dict({**config.to_dict(), "seed": config.seed + 1})
    with pytest.raises(ValueError, match="seed: run"):
        check_checkpoint_config(state, other, path.with_name("last.pt"))


def test_cached_runs_keep_their_folder_while_the_flat_layout_can_name_them():
    config = get_preset("synthvi-cpu")
    assert run_digest(config) == stable_digest(flat_layout(config.to_dict())) != stable_digest(config.to_dict())
    for key, value in {
        "loss.step_b_global": 0.25,
        "neighbours.screen": "off",
        "data.synthvi.ir_lum_mix": 0.5,
        "global_clustering.min_samples": 3,
    }.items():
        changed = get_preset("synthvi-cpu", {key: value})  # settings the flat layout cannot hold
        assert run_digest(changed) == stable_digest(changed.to_dict()) != run_digest(config), key


def test_imagenet_reference_preset_differs_from_the_demo_only_in_network_and_start():
    demo, reference = get_preset("synthvi-cpu").to_dict(), get_preset("synthvi-imagenet").to_dict()
    differing = {key for key in demo if demo[key] != reference[key]}
    assert differing == {"preset", "model", "pretrain"}
    assert reference["model"]["arch"] == "effnet_lite0" and reference["model"]["pretrained"] == "imagenet"
    assert reference["pretrain"]["enabled"] is False  # the start is the ImageNet weights themselves
