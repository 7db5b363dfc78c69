"""The settings every preset, ablation and ``:paper`` variant resolves to stay those recorded in
``tests/preset_values_before_sections.json`` (written from the code before the config sections), and the
caches they are found by (SynthVI data digest, pretrained-start file, cached-run folder) keep their names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vireid_core import workflow
from vireid_core.config import get_preset
from vireid_core.config_checks import flatten
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
    expected = {**RECORD["defaults"], **RECORD["presets"][name]}
    assert dict(flatten(_resolve(name).to_dict())) == expected


@pytest.mark.parametrize("name", sorted(RECORD["caches"]))
def test_caches_keep_their_names(name: str) -> None:
    config, recorded = _resolve(name), RECORD["caches"][name]
    assert workflow.synthvi_digest(workflow.synthvi_config(config)) == recorded["synthvi_digest"]
    assert workflow.pretrained_cache_path(config).name == recorded["pretrained_cache_name"]
    assert run_dir_for(config).name == recorded["run_dir_name"]


def test_the_demo_preset_finds_its_data_and_shipped_start() -> None:
    config = get_preset("synthvi-cpu")
    assert workflow.synthvi_digest(workflow.synthvi_config(config)) == "d3c894df84"
    assert workflow.pretrained_cache_path(config).name == "pretrained-ec968c4449.pt"
