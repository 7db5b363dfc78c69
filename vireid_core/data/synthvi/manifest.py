"""The `synthvi.json` manifest and the guard that keeps writers out of foreign directories."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from vireid_core.data.synthvi.config import GENERATOR_VERSION, SynthVIConfig
from vireid_core.errors import UserError

MANIFEST_NAME = "synthvi.json"
# Top-level entries a SynthVI writer creates (and may delete when regenerating).
OWNED_ENTRIES = frozenset({*(f"cam{i}" for i in range(1, 7)), "exp", "Visible", "Thermal", "idx", MANIFEST_NAME})


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
        raise UserError(f"{path}: unreadable SynthVI manifest ({error})") from error
    if not isinstance(data, dict) or data.get("generator") != "SynthVI":
        raise UserError(f"{path}: not a SynthVI manifest")
    return data


def prepare_output_dir(out_dir: str | Path, layout: str, config: SynthVIConfig) -> bool:
    """Make `out_dir` ready for writing `layout` with `config`.

    Returns True when `out_dir` already holds a complete SynthVI output of the same layout, config and
    generator version (nothing to do). Otherwise creates the directory, or, if it holds an earlier
    SynthVI output, deletes that output's entries (other top-level files are left alone), and returns
    False. Raises UserError if `out_dir` is a file, a non-empty directory that is not a SynthVI output,
    or an output whose entries hold files SynthVI did not write (those would be deleted).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"output path {out_dir} exists and is not a directory")
    if not out_dir.exists() or not any(out_dir.iterdir()):
        out_dir.mkdir(parents=True, exist_ok=True)
        return False
    manifest = read_manifest(out_dir)
    if manifest is None:
        raise UserError(
            f"refusing to write SynthVI into {out_dir}: the directory is not empty and has no "
            f"{MANIFEST_NAME} (not an earlier SynthVI output); pass an empty or new directory"
        )
    if manifest.get("complete") and {k: manifest.get(k) for k in manifest_key(layout, config)} == manifest_key(
        layout, config
    ):
        return True
    foreign = foreign_files(out_dir)
    if foreign:
        raise UserError(
            f"refusing to replace the SynthVI set in {out_dir}: it holds files SynthVI did not write "
            f"(e.g. {foreign[0]}); move them away, or pass an empty or new directory"
        )
    for entry in out_dir.iterdir():
        if entry.name in OWNED_ENTRIES:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    return False


# Every file a SynthVI writer creates, relative to its output folder.
_WRITTEN = re.compile(
    r"synthvi\.json"
    r"|cam[1-6]/\d{4}/\d{4}\.jpg"
    r"|exp/(train|val|test|available)_id\.txt"
    r"|(Visible|Thermal)/\d+/(fe)?male_(front|back)_[vt]_\d{5}_\d+\.bmp"
    r"|idx/(train|test)_(visible|thermal)_\d+\.txt"
)


def foreign_files(out_dir: str | Path) -> list[Path]:
    """Files inside the entries a SynthVI writer owns (`cam*`, `exp`, `idx`, ...) that it never writes.

    Regenerating deletes those entries, so any such file (a user's notes in `exp/`, an extra image) makes
    the writer refuse instead. Returns their paths, sorted.
    """
    out_dir = Path(out_dir)
    found = []
    for entry in sorted(out_dir.iterdir()):
        if entry.name not in OWNED_ENTRIES:
            continue
        files = [entry] if not entry.is_dir() else [p for p in entry.rglob("*") if not p.is_dir()]
        found += [p for p in files if not _WRITTEN.fullmatch(p.relative_to(out_dir).as_posix())]
    return sorted(found)


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
