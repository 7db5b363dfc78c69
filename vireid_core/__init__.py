"""vireid_core: unsupervised visible-infrared person re-identification (BMIL), taught and measured.

The small public face, enough for the shortest path from a preset to numbers::

    import vireid_core as vc

    config = vc.get_preset("synthvi-smoke")
    result = vc.train_run(config, "runs/smoke")        # data, start, both stages, final evaluation
    print(vc.results_table(result.evaluations))

Names are imported on first use (``import vireid_core`` loads neither torch nor the datasets).
The rooms behind them: :mod:`vireid_core.data`, :mod:`vireid_core.model`, :mod:`vireid_core.association`,
:mod:`vireid_core.learning`, :mod:`vireid_core.evaluation`; whole runs in :mod:`vireid_core.runs`.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any

try:
    __version__ = metadata.version("vireid")
except metadata.PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0.0.0+unknown"

# public name -> the module that defines it
_EXPORTS = {
    "RunConfig": "vireid_core.config",
    "get_preset": "vireid_core.config",
    "load_dataset": "vireid_core.data",
    "build_model": "vireid_core.model",
    "register_model": "vireid_core.model",
    "Engine": "vireid_core.learning.engine",
    "prepare_dataset": "vireid_core.workflow",
    "prepare_model": "vireid_core.workflow",
    "load_model": "vireid_core.workflow",
    "train_run": "vireid_core.runs",
    "run_ablation": "vireid_core.runs",
    "results_table": "vireid_core.runs",
    "evaluate": "vireid_core.evaluation",
    "evaluate_protocol": "vireid_core.evaluation",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and return the name (module attribute hook)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'vireid_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names plus the lazily imported public ones."""
    return sorted(set(globals()) | set(_EXPORTS))
