"""Short text views for notebooks: a dataset in a few lines, measured numbers rounded for reading.

The ``*_numbers.json`` files keep full precision (:func:`vireid_core.analysis.write_numbers`); these
helpers only shape what a notebook prints.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

MODALITY_ORDER = ("visible", "infrared")


def rounded(value: Any, digits: int = 3) -> Any:
    """``value`` with every float rounded for reading: ``digits`` decimals from 1 up (12.3457 → 12.346),
    ``digits`` significant digits below 1 (0.0123456 → 0.0123), so small shares never collapse to 0.

    Nested dicts/lists/tuples and numpy scalars/arrays included; NaN and ±inf become None, as in the
    numbers files.
    """
    if isinstance(value, dict):
        return {str(k): rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    if isinstance(value, np.ndarray):
        return rounded(value.tolist(), digits)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, digits) if abs(value) >= 1 else float(f"{value:.{digits}g}")
    return value


_SCALAR_LIST = re.compile(r"\[\s*((?:-?[\d.e+-]+|null|true|false)(?:,\s*(?:-?[\d.e+-]+|null|true|false))*)\s*\]")


def format_numbers(value: Any, digits: int = 3) -> str:
    """Indented JSON of ``value`` with floats rounded by :func:`rounded`, lists of numbers on one line,
    for ``print``."""
    text = json.dumps(rounded(value, digits), indent=1, ensure_ascii=False)
    return _SCALAR_LIST.sub(lambda m: "[" + ", ".join(part.strip() for part in m.group(1).split(",")) + "]", text)


def _split_line(name: str, counts: dict[str, dict[str, Any]]) -> str:
    parts = []
    for modality in MODALITY_ORDER:
        if modality in counts:
            c = counts[modality]
            cams = ", ".join(str(cam) for cam in c["cams"])
            parts.append(f"{c['images']} {modality} images of {c['ids']} ids (cameras {cams})")
    return f"  {name:<19}" + ("; ".join(parts) if parts else "no images")


def dataset_summary(dataset: Any) -> str:
    """A few lines about a :class:`~vireid_core.data.dataset.ReIDDataset`: name, protocol and root, then
    images / identities / cameras per split and modality, and the sizes of any id lists in ``info``
    (not the ids themselves)."""
    summary = dataset.summary()
    lines = [f"dataset {summary['name']!r} ({summary['protocol']} protocol) at {summary['root']}"]
    labels = {"train": "train", "query": "query", "gallery_candidates": "gallery candidates"}
    for split, counts in summary["splits"].items():
        lines.append(_split_line(labels.get(split, split), counts))
    facts = []
    for key, item in summary["info"].items():
        if isinstance(item, (list, tuple, set, dict)):
            facts.append(f"{key}: {len(item)}")
        else:
            facts.append(f"{key}: {item}")
    if facts:
        lines.append("  info: " + ", ".join(facts))
    return "\n".join(lines)
