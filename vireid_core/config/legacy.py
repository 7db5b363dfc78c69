"""Stored configs of the flat layout from before the sections: one table of renamed keys, read in both ways.

Run folders (``config.json``), checkpoints, shipped models and ``results/`` keep configs written before the
config was split into sections by reader. :meth:`vireid_core.config.RunConfig.from_dict` reads them
through :data:`LEGACY_KEYS` (:func:`migrate`); every other key kept its name. The new parts the flat
layout had no key for take their defaults, which are the values the code used then: ``loss`` (the
literals 1.0 and 0.5 of the engine), ``neighbours`` (the default neighbour search) and the SynthVI
settings beyond the seven ``data.synth_*`` ones. :func:`flat_layout` writes a config back in the flat
layout, for the digests that name caches written before the sections.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vireid_core.config.checks import flatten, unflatten

# old dotted key -> the new key(s) holding its value (cluster.min_samples served both clusterings)
LEGACY_KEYS: dict[str, tuple[str, ...]] = {
    "data.synth_seed": ("data.synthvi.seed",),
    "data.synth_train_ids": ("data.synthvi.n_train_ids",),
    "data.synth_val_ids": ("data.synthvi.n_val_ids",),
    "data.synth_test_ids": ("data.synthvi.n_test_ids",),
    "data.synth_source_ids": ("data.synthvi.n_source_ids",),
    "data.synth_visible_per_camera": ("data.synthvi.visible_per_camera",),
    "data.synth_infrared_per_camera": ("data.synthvi.infrared_per_camera",),
    "cluster.k1": ("intra_clustering.k1",),
    "cluster.k2": ("intra_clustering.k2",),
    "cluster.eps_intra_ir": ("intra_clustering.eps_infrared",),
    "cluster.eps_intra_vis": ("intra_clustering.eps_visible",),
    "cluster.subset_ratio": ("intra_clustering.subset_ratio",),
    "cluster.min_samples": ("intra_clustering.min_samples", "global_clustering.min_samples"),
    "cluster.global_association": ("global_clustering.method",),
    "cluster.global_k1": ("global_clustering.k1",),
    "cluster.global_k2": ("global_clustering.k2",),
    "cluster.eps_global": ("global_clustering.eps",),
    "cluster.balanced_halves": ("global_clustering.balanced_halves",),
    "optim.temperature": ("memory.temperature",),
    "optim.momentum": ("memory.momentum",),
    "optim.margin": ("memory.margin",),
    "optim.num_selected": ("memory.num_selected",),
    "optim.split_prototypes": ("memory.split_prototypes",),
    "schedule.epochs_stage1": ("schedule.stage1.epochs",),
    "schedule.epochs_stage2": ("schedule.stage2.epochs",),
    "schedule.color_jitter_ir_stage1": ("schedule.stage1.color_jitter_ir",),
    "schedule.color_jitter_ir_stage2": ("schedule.stage2.color_jitter_ir",),
    "schedule.eval_trials_stage1": ("schedule.stage1.eval_trials",),
    "schedule.eval_trials_stage2": ("schedule.stage2.eval_trials",),
}

# Sections (prefixes) the flat layout had no key in, besides the table's targets.
NEW_PARTS = ("data.synthvi.", "neighbours.", "loss.")


def migrate(items: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``(dotted key, value)`` pairs with the flat layout's keys renamed (:data:`LEGACY_KEYS`); others unchanged."""
    renamed: list[tuple[str, Any]] = []
    for key, value in items:
        renamed.extend((new, value) for new in LEGACY_KEYS.get(key, (key,)))
    return renamed


def flat_layout(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` (a :meth:`~vireid_core.config.RunConfig.to_dict`) written in the flat layout.

    Keys of the new parts are left out, and ``cluster.min_samples`` takes the intra clustering's value, so
    the result holds the same settings only when those are at their defaults and both ``min_samples``
    agree: check by reading it back (as :func:`vireid_core.config.run_digest` does).
    """
    new_to_old = {new: old for old, news in LEGACY_KEYS.items() for new in news}
    flat: dict[str, Any] = {}
    for key, value in flatten(settings):
        if key in new_to_old:
            flat.setdefault(new_to_old[key], value)  # the first of several new keys (intra before global)
        elif not key.startswith(NEW_PARTS):
            flat[key] = value
    return unflatten(list(flat.items()))
