"""Run configuration: presets, overrides, validation messages that name the key."""

from __future__ import annotations

import pytest

from vireid_core.config import ABLATIONS, RunConfig, get_preset, preset_names, set_value


def test_every_preset_validates_and_round_trips():
    for name in preset_names():
        config = get_preset(name)
        assert RunConfig.from_dict(config.to_dict()).to_dict() == config.to_dict()


def test_official_presets_follow_the_official_run_scripts():
    sysu, regdb = get_preset("sysu"), get_preset("regdb")
    assert (sysu.cluster.k1, sysu.cluster.k2, sysu.cluster.eps_global, sysu.cluster.subset_ratio) == (30, 6, 0.6, 0.5)
    assert (sysu.schedule.iters, sysu.schedule.vis_batch, sysu.schedule.ir_batch) == (200, 128, 128)
    assert (sysu.optim.lr, sysu.optim.weight_decay, sysu.optim.temperature, sysu.optim.momentum) == (
        3.5e-4, 5e-4, 0.05, 0.1)
    assert (regdb.cluster.eps_intra_ir, regdb.cluster.eps_global, regdb.cluster.subset_ratio) == (0.3, 0.3, None)
    assert (regdb.schedule.iters, regdb.schedule.vis_batch) == (100, 64)
    assert sysu.schedule.color_jitter_ir_stage1 and not regdb.schedule.color_jitter_ir_stage1


def test_ablations_are_configuration():
    full = get_preset("synthvi-cpu:M6")
    m1 = get_preset("synthvi-cpu:M1")
    m2 = get_preset("synthvi-cpu:M2")
    m3 = get_preset("synthvi-cpu:M3")
    assert m1.schedule.epochs_stage2 == 0
    assert m1.schedule.epochs_stage1 == full.schedule.epochs_stage1 + full.schedule.epochs_stage2
    assert m2.cluster.global_association == "plain" and not m2.optim.split_prototypes
    assert m3.cluster.global_association == "modality_aware" and m3.cluster.subset_ratio is None
    assert full.optim.split_prototypes and full.cluster.subset_ratio == 0.5
    assert set(ABLATIONS) == {f"M{i}" for i in range(1, 7)}


def test_overrides_are_typed_from_text():
    config = get_preset("sysu", {"cluster.eps_global": "0.5", "schedule.iters": "7",
                                 "optim.split_prototypes": "false", "cluster.subset_ratio": "none"})
    assert config.cluster.eps_global == 0.5 and config.schedule.iters == 7
    assert config.optim.split_prototypes is False and config.cluster.subset_ratio is None


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("cluster.epsilon", "0.5", "cluster.epsilon"),
    ("schedule.iters", "0", "schedule.iters"),
    ("schedule.iters", "many", "schedule.iters"),
    ("cluster.eps_global", "1.5", "cluster.eps_global"),
    ("model.arch", "vgg", "model.arch"),
    ("optim.split_prototypes", "maybe", "optim.split_prototypes"),
    ("schedule.ir_batch", "20", "schedule.ir_batch"),
])
def test_bad_values_name_the_key(key, value, needle):
    with pytest.raises(ValueError, match=needle.replace(".", r"\.")):
        get_preset("sysu", {key: value})


def test_unknown_preset_and_section_errors():
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("market1501")
    with pytest.raises(ValueError, match="unknown ablation"):
        get_preset("sysu:M9")
    with pytest.raises(ValueError, match="section"):
        set_value(RunConfig(), "cluster", "1")


def test_a_run_trained_before_a_key_was_added_still_resumes(tmp_path):
    """A checkpoint whose stored config lacks keys added later (here pretrain.modalities/channel_aug, at
    their dataclass defaults in the request, which reproduce the older behaviour) is the same run; a real
    difference is still refused."""
    from vireid_core.config import stable_digest
    from vireid_core.run_dir import check_checkpoint_config

    config = get_preset("synthvi-smoke", {"pretrain.modalities": "both", "pretrain.channel_aug": 0.0})
    older = config.to_dict()
    for key in ("modalities", "channel_aug"):
        del older["pretrain"][key]
    state = {"config": older, "config_digest": stable_digest(older)}
    check_checkpoint_config(state, config, tmp_path / "last.pt")
    visible = get_preset("synthvi-smoke", {"pretrain.modalities": "visible"})
    with pytest.raises(ValueError, match="pretrain.modalities"):
        check_checkpoint_config(state, visible, tmp_path / "last.pt")
