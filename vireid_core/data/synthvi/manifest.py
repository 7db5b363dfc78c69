"""The `synthvi.json` manifest and the guard that keeps writers out of foreign directories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from vireid_core.data.synthvi.config import GENERATOR_VERSION, SynthVIConfig

MANIFEST_NAME = "synthvi.json"
# Top-level entries a SynthVI writer creates (and may delete when regenerating).
OWNED_ENTRIES = frozenset(
    {*(f"cam{i}" for i in range(1, 7)), "exp", "Visible", "Thermal", "idx", MANIFEST_NAME}
)


def manifest_key(layout: str, config: SynthVIConfig) -> dict[str, Any]:
    """What decides the content of a written set: generator version, layout and config."""
    return {
        "generator": "SynthVI",
        "version": GENERATOR_VERSION,
        "layout": layout,
        "config": config.to_dict(),
    }


def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of `out_dir` as a dict, or None if there is none (ValueError if unreadable)."""
    path = Path(out_dir) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: unreadable SynthVI manifest ({error})") from error
    if not isinstance(data, dict) or data.get("generator") != "SynthVI":
        raise ValueError(f"{path}: not a SynthVI manifest")
    return data


def prepare_output_dir(out_dir: str | Path, layout: str, config: SynthVIConfig) -> bool:
    """Make `out_dir` ready for writing `layout` with `config`.

    Returns True when `out_dir` already holds a complete SynthVI output of the same layout, config and
    generator version (nothing to do). Otherwise creates the directory, or, if it holds an earlier
    SynthVI output, deletes that output's entries (other files are left alone), and returns False.
    Raises ValueError if `out_dir` is a file, or a non-empty directory that is not a SynthVI output.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"output path {out_dir} exists and is not a directory")
    if not out_dir.exists() or not any(out_dir.iterdir()):
        out_dir.mkdir(parents=True, exist_ok=True)
        return False
    manifest = read_manifest(out_dir)
    if manifest is None:
        raise ValueError(
            f"refusing to write SynthVI into {out_dir}: the directory is not empty and has no "
            f"{MANIFEST_NAME} (not an earlier SynthVI output); pass an empty or new directory"
        )
    if manifest.get("complete") and {
        k: manifest.get(k) for k in manifest_key(layout, config)
    } == manifest_key(layout, config):
        return True
    for entry in out_dir.iterdir():
        if entry.name in OWNED_ENTRIES:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    return False


def write_manifest(
    out_dir: str | Path,
    layout: str,
    config: SynthVIConfig,
    *,
    complete: bool,
    counts: dict[str, Any] | None = None,
) -> Path:
    """Write `synthvi.json` (key fields, `complete` flag and image counts). Returns its path."""
    path = Path(out_dir) / MANIFEST_NAME
    data = {**manifest_key(layout, config), "complete": complete, "counts": counts or {}}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path
