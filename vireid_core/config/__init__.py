"""Run configuration: one :class:`RunConfig` of sections shaped by their readers, named presets and
``key=value`` overrides.

One :class:`RunConfig` travels from the CLI or a notebook's parameters cell to the engine. Its keys are
dotted paths into the sections (``global_clustering.eps``, ``schedule.stage2.epochs``,
``data.synthvi.n_train_ids``); :mod:`.sections` says which code reads which section. Presets hold the
official hyperparameters (docs/method.md §10) for the real benchmarks and small CPU settings for SynthVI;
the paper's ablations M1–M6 are presets too (:data:`ABLATIONS`), never edited code. Configs stored in the
flat layout from before the sections still load (:mod:`.legacy`, the table of renamed keys).

Modules: :mod:`.sections` (the dataclasses and their checks), :mod:`.run` (:class:`RunConfig`, dotted
keys, digests), :mod:`.presets`, :mod:`.legacy`, :mod:`.checks` (text parsing, types, shared rules).
"""

from vireid_core.association.search.config import KnnConfig
from vireid_core.config import sections
from vireid_core.config.legacy import LEGACY_KEYS
from vireid_core.config.presets import ABLATIONS, PAPER_SETTINGS, get_preset, preset_names
from vireid_core.config.run import (
    RunConfig,
    all_keys,
    get_value,
    replace,
    run_digest,
    set_value,
    set_values,
    stable_digest,
)
from vireid_core.config.sections import *  # noqa: F403 (the section dataclasses, sections.__all__)
from vireid_core.data.synthvi.config import SynthVIConfig

__all__ = [
    "ABLATIONS",
    "LEGACY_KEYS",
    "PAPER_SETTINGS",
    "KnnConfig",
    "RunConfig",
    "SynthVIConfig",
    "all_keys",
    "get_preset",
    "get_value",
    "preset_names",
    "replace",
    "run_digest",
    "set_value",
    "set_values",
    "stable_digest",
    *sections.__all__,
]
