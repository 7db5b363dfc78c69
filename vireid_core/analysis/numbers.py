"""The numbers a notebook reports, written as JSON: what the notebook tests assert on."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from vireid_core.learning.checkpoints import atomic_write_text


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_numbers(path: str | Path, numbers: dict[str, Any]) -> Path:
    """Write the numbers a notebook reports as indented JSON (numpy scalars converted, NaN → null).

    Returns the path. These files are what the notebook tests assert on.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(_plain(numbers), indent=2, sort_keys=True) + "\n")
    return path


def ladder_numbers(record: dict[str, Any], source: str, metric: str = "all_rank1") -> dict[str, Any]:
    """The stored ladder's ``metric`` in the shape a notebook's claims read.

    ``record`` is an ``ablation.json`` of ``ablation --ladder``; ``source`` names where it was read.
    Returns ``{"source", "preset", "seeds", "n_seeds", "rows": {row: {"mean", "std", "n"}},
    "paired": {"A - B": {"mean", "std", "n", "positive", "values"}}, "global_mixed_fraction": {row: mean}}``
    (retrieval in percent; the mixed share of the last global clustering, a fraction, for the rows that
    cluster globally); nothing is recomputed, the values are the record's own.
    """
    aggregate, paired = record.get("aggregate", {}), record.get("paired", {})
    return {
        "source": source,
        "preset": record.get("preset"),
        "seeds": list(record.get("seeds", [])),
        "n_seeds": len(record.get("seeds", [])),
        "rows": {row: dict(metrics[metric]) for row, metrics in aggregate.items() if metric in metrics},
        "paired": {step: dict(metrics[metric]) for step, metrics in paired.items() if metric in metrics},
        "global_mixed_fraction": {
            row: metrics["global_mixed_fraction"]["mean"]
            for row, metrics in aggregate.items()
            if "global_mixed_fraction" in metrics
        },
    }
