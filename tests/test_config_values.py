"""The settings every preset, ablation and ``:paper`` variant resolves to stay those recorded in
``tests/preset_values_before_sections.json`` (written from the flat config before the config sections, in
its key names), read through the new keys; and the caches they are found by (SynthVI data digest,
pretrained-start file, cached-run folder) keep their names."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from vireid_core import workflow
from vireid_core.config import LEGACY_KEYS, KnnConfig, LossWeights, SynthVIConfig, all_keys, get_preset, get_value
from vireid_core.runs import run_dir_for

RECORD = json.loads((Path(__file__).with_name("preset_values_before_sections.json")).read_text())
OVERRIDE = " schedule.eval_every=2"


def _resolve(name: str):
    """The config recorded as ``name`` (a preset name, optionally followed by the eval_every override)."""
    if name.endswith(OVERRIDE):
        return get_preset(name.removesuffix(OVERRIDE), {"schedule.eval_every": 2})
    return get_preset(name)


@pytest.mark.parametrize("name", sorted(RECORD["presets"]))
def test_every_preset_resolves_to_the_recorded_settings(name: str) -> None:
    config = _resolve(name)
    recorded = {**RECORD["defaults"], **RECORD["presets"][name]}
    read = {}
    for old, value in recorded.items():
        for new in LEGACY_KEYS.get(old, (old,)):
            read[new] = get_value(config, new)
            assert read[new] == value, (old, new)
    # the parts the flat layout had no key for hold the values the code used then
    assert config.loss == LossWeights() == LossWeights(step_a_intra=1.0, step_b_global=0.5)
    assert config.neighbours == KnnConfig()
    mirrored = {
        key.removeprefix("data.synthvi."): value for key, value in read.items() if key.startswith("data.synthvi.")
    }
    drawn = dataclasses.replace(SynthVIConfig(), **mirrored, height=config.data.height, width=config.data.width)
    assert workflow.synthvi_config(config) == config.data.synthvi == drawn
    assert set(read) | {k for k in all_keys(config) if k.startswith(("loss.", "neighbours.", "data.synthvi."))} == set(
        all_keys(config)
    )  # every key is either recorded or one of the new parts


@pytest.mark.parametrize("name", sorted(RECORD["caches"]))
def test_caches_keep_their_names(name: str) -> None:
    config, recorded = _resolve(name), RECORD["caches"][name]
    assert workflow.synthvi_digest(workflow.synthvi_config(config)) == recorded["synthvi_digest"]
    assert workflow.pretrained_cache_path(config).name == recorded["pretrained_cache_name"]
    assert run_dir_for(config).name == recorded["run_dir_name"]


def test_the_demo_preset_finds_its_data_and_shipped_start() -> None:
    config = get_preset("synthvi-cpu")
    assert workflow.synthvi_digest(workflow.synthvi_config(config)) == "902ecf36f2"
    assert workflow.pretrained_cache_path(config).name == "pretrained-4910a5c87e.pt"
