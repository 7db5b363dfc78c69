"""Shared helpers for the engine/CLI/notebook tests: a tiny SynthVI run configuration."""

from __future__ import annotations

from pathlib import Path

from vireid_core.config import RunConfig, get_preset


def tiny_config(**overrides: object) -> RunConfig:
    """The synthvi-smoke preset made smaller still (a few seconds per stage on 2 CPU cores)."""
    base = {"pretrain.enabled": False, "threads": 1}
    base.update(overrides)
    return get_preset("synthvi-smoke", base)


def tiny_dataset(cache_dir: Path, config: RunConfig | None = None):
    """Generate (once per cache dir) and load the tiny SynthVI target set."""
    from vireid_core.workflow import prepare_dataset

    return prepare_dataset(config or tiny_config(), cache_dir, progress=False)
