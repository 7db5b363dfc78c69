"""Run folders: the names of their files, who may write them, and whether a resume fits one.

Every file name of a run folder lives here. A run folder (:class:`RunDir`) holds ``config.json``,
``metrics.jsonl``, ``last.pt``, ``stage{n}_last.pt``, ``best_stage{n}.pt``, ``results.json``, for the
ladder's rows ``probes.json`` and ``oracle.pt``, and, while a training writes it, ``run.lock``. A shipped
folder (:class:`ShippedDir`) adds ``start.pt`` and ``manifest.json``; an ablation folder
(:class:`AblationDir`) holds one run folder per row and seed and the summary ``ablation.json``. The lock records
the writer's pid, host and process start time; a second writer is refused, and a lock whose process
has died (same host) is taken over. Temporary files of an atomic write that a kill interrupted
(``.last.pt.<random>.tmp``) are removed when the next writer starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vireid_core.config import RunConfig, stable_digest
from vireid_core.config.checks import flatten
from vireid_core.data.synthvi.config import GENERATOR_VERSION
from vireid_core.errors import UserError
from vireid_core.learning.checkpoints import atomic_write_text, load_checkpoint
from vireid_core.output_paths import check_output_folder

LOCK_NAME = "run.lock"
_RUN_FILE = (
    r"config\.json|metrics\.jsonl|last\.pt|results\.json|stage\d+_last\.pt|best_stage\d+\.pt"
    r"|probes\.json|oracle\.pt"
)
_TEMPORARY = re.compile(rf"\.({_RUN_FILE})\.[A-Za-z0-9_]+\.tmp")


def config_differences(stored: dict[str, Any], requested: dict[str, Any], limit: int = 5) -> str:
    """``"key: run X, requested Y; ..."`` for the dotted keys whose values differ (at most ``limit``)."""
    old, new = dict(flatten(stored)), dict(flatten(requested))
    keys = sorted(k for k in old.keys() | new.keys() if old.get(k, "<absent>") != new.get(k, "<absent>"))
    parts = [f"{k}: run {old.get(k, '<absent>')!r}, requested {new.get(k, '<absent>')!r}" for k in keys[:limit]]
    return "; ".join(parts) + (f"; ... ({len(keys)} keys differ)" if len(keys) > limit else "")


def _read_back(stored: dict[str, Any]) -> dict[str, Any] | None:
    """A stored config read through today's :class:`RunConfig` (the flat layout from before the config
    sections migrated through its table of renamed keys; keys added since take their defaults, which
    reproduce the behaviour before the keys existed), or None when it no longer reads."""
    try:
        return RunConfig.from_dict(stored).to_dict()
    except ValueError:
        return None


def check_checkpoint_config(state: dict[str, Any], config: RunConfig, path: Path) -> None:
    """Refuse to resume ``path`` with ``config`` unless it was trained with exactly that config.

    Compares the ``config_digest`` stored in the checkpoint (or, for older files, its stored config). When
    they differ, the stored config is read back through today's :class:`RunConfig` and compared with
    ``config``: a config stored in the flat layout from before the sections (whose digest always differs)
    or before keys were added (they take their defaults, which reproduce the older behaviour) is the same
    run, so neither renaming nor adding keys orphans runs trained before.
    Raises :class:`~vireid_core.errors.UserError` naming the file and the differing keys.
    """
    requested = config.to_dict()
    stored = state.get("config")
    digest = state.get("config_digest")
    if digest is None and not isinstance(stored, dict):
        raise UserError(f"{path}: holds no training config; expected a last.pt written by 'vireid_core train'")
    if digest == stable_digest(requested) or (digest is None and stored == requested):
        return
    read_back = _read_back(stored) if isinstance(stored, dict) else None
    if read_back == requested:
        return  # stored in the flat layout, or before config keys were added that ``config`` holds at their defaults
    detail = config_differences(read_back or stored, requested) if isinstance(stored, dict) else "digests differ"
    raise UserError(
        f"--resume: {path} was trained with another config ({detail}); resume with the same preset "
        "and --set values, or use a new --out folder"
    )


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks (Linux ``/proc``), None where unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[-1].split()[19]


def _alive(pid: int, start: str | None) -> bool:
    """True when process ``pid`` runs (and, if ``start`` is known, is the same process, not a reuse)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _process_start(pid)
    return start is None or now is None or now == start


def _file(name: str, what: str) -> property:
    """A folder class's read-only property ``self.path / name``, documented as ``name``: ``what``."""
    return property(lambda self: self.path / name, doc=f"``{name}``: {what}")


class RunDir:
    """The files of one run folder (every name lives here) and the lock of its writer."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    config = _file("config.json", "the resolved config of the run.")
    metrics = _file("metrics.jsonl", "one JSON line per finished epoch.")
    last = _file("last.pt", "the resumable checkpoint.")
    results = _file("results.json", "history and final evaluations.")
    probes = _file("probes.json", "the ladder's probes of the run's final model (:mod:`vireid_core.ladder_probes`).")
    oracle_weights = _file("oracle.pt", "the weights of the ladder's supervised oracle row.")
    lock_file = _file(LOCK_NAME, "present while a training writes the folder.")

    def stage_last(self, stage: int) -> Path:
        """The model at the end of ``stage``."""
        return self.path / f"stage{stage}_last.pt"

    def best(self, stage: int) -> Path:
        """The best-on-test model of ``stage`` (only when evaluating during training)."""
        return self.path / f"best_stage{stage}.pt"

    def check_writable(self) -> Path:
        """Refuse an ``--out`` that is a file or not writable, before any work starts; returns the path."""
        return check_output_folder(self.path, "the run folder (--out)")

    # ------------------------------------------------------------------ the writer's lock
    @contextlib.contextmanager
    def owned(self, notify: Callable[[str], None] = lambda text: None, *, lock: bool = True) -> Iterator[RunDir]:
        """Hold the run folder for writing (created if needed) for the ``with`` block.

        Takes ``run.lock`` (unless ``lock`` is False: the non-zero ranks of a distributed run), removes
        temporary files of interrupted writes, and releases the lock afterwards, also on errors.
        Raises :class:`UserError` when another live process holds the lock.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        if not lock:
            yield self
            return
        self._acquire(notify)
        try:
            for path in self.clean_temporaries():
                notify(f"removed {path.name}, left by an interrupted write")
            yield self
        finally:
            self._release()

    def _lock_record(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "process_start": _process_start(os.getpid()),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }

    def _acquire(self, notify: Callable[[str], None]) -> None:
        for _ in range(3):
            try:
                fd = os.open(self.lock_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                stale = self._stale_holder()
                self.lock_file.unlink(missing_ok=True)
                notify(f"took over {self.lock_file}: {stale}")
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump(self._lock_record(), handle)
            return
        raise UserError(f"{self.lock_file}: could not take the run folder's lock; another process keeps creating it")

    def _stale_holder(self) -> str:
        """Why the existing lock may be taken over; raises ``UserError`` when its holder may still run."""
        try:
            holder = json.loads(self.lock_file.read_text())
            pid, host = int(holder["pid"]), str(holder["host"])
        except (OSError, ValueError, KeyError, TypeError):
            age = time.time() - self.lock_file.stat().st_mtime if self.lock_file.exists() else 1e9
            if age > 10:
                return "its content was unreadable"
            raise UserError(
                f"{self.path}: another training is starting to write this run folder ({self.lock_file} "
                "was just created); wait for it or choose another --out folder"
            ) from None
        if host != socket.gethostname():
            raise UserError(
                f"{self.path}: the run folder is being written by pid {pid} on host {host} (since "
                f"{holder.get('since')}); if no training runs there any more, delete {self.lock_file}"
            )
        if pid == os.getpid() or _alive(pid, holder.get("process_start")):
            raise UserError(
                f"{self.path}: the run folder is being written by another training (pid {pid}, since "
                f"{holder.get('since')}); wait for it to finish or choose another --out folder"
            )
        return f"the process that held it (pid {pid}) is no longer running"

    def _release(self) -> None:
        try:
            holder = json.loads(self.lock_file.read_text())
        except (OSError, ValueError):
            return
        if holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
            self.lock_file.unlink(missing_ok=True)

    def clean_temporaries(self) -> list[Path]:
        """Delete the temporary files interrupted atomic writes of run files left; returns their paths."""
        removed = [p for p in sorted(self.path.iterdir()) if _TEMPORARY.fullmatch(p.name) and p.is_file()]
        for path in removed:
            path.unlink(missing_ok=True)
        return removed

    # ------------------------------------------------------------------ starting and resuming
    def check_start(self, config: RunConfig, resume: bool) -> None:
        """Refuse a start that would mix two runs in this folder.

        Without ``resume`` a folder holding ``last.pt`` is refused. With ``resume`` the requested config
        must equal ``config.json`` (when present) and the config ``last.pt`` was trained with (always,
        so a deleted ``config.json`` or a copied ``last.pt`` cannot slip through).
        """
        if not resume:
            if self.last.exists():
                raise UserError(
                    f"{self.path} already holds a run (last.pt); pass --resume to continue it or "
                    "choose a new --out folder"
                )
            return
        if self.config.is_file():
            saved = RunConfig.from_json(self.config)
            if saved.to_dict() != config.to_dict():
                raise UserError(
                    f"--resume: {self.config} differs from the requested config "
                    f"({config_differences(saved.to_dict(), config.to_dict())}); resume with the same "
                    "preset and --set values, or use a new --out folder"
                )
        if self.last.is_file():
            check_checkpoint_config(load_checkpoint(self.last), config, self.last)

    def write_config(self, config: RunConfig) -> None:
        """Write ``config.json`` (atomically)."""
        atomic_write_text(self.config, json.dumps(config.to_dict(), indent=2) + "\n")


SHIPPED_ROOT = Path(__file__).resolve().parent.parent / "models" / "synthvi"


class ShippedDir(RunDir):
    """A shipped-models folder (``models/synthvi/<preset>/``): the run files the notebooks read
    (``stage{n}_last.pt``, ``results.json``) plus ``start.pt`` and ``manifest.json``."""

    @classmethod
    def of_preset(cls, preset: str, root: str | os.PathLike[str] = SHIPPED_ROOT) -> ShippedDir:
        """``<root>/<preset>`` (":" and "/" become "-"): where the shipped models of ``preset`` live."""
        return cls(Path(root) / preset.replace(":", "-").replace("/", "-"))

    @classmethod
    def find(cls, config: RunConfig, root: str | os.PathLike[str] = SHIPPED_ROOT) -> ShippedDir | None:
        """The shipped folder of ``config.preset`` if its models were trained with exactly ``config``
        (config keys added after they were written count as equal when ``config`` holds their default)
        and, on SynthVI, on images of today's generator version; else None."""
        folder = cls.of_preset(config.preset, root)
        manifest = folder.read_manifest()
        stored = folder.stored_config(manifest)
        if stored is None or stored.to_dict() != config.to_dict():
            return None
        drawn_by = (manifest or {}).get("synthvi_generator")
        if config.data.dataset == "synthvi" and drawn_by != GENERATOR_VERSION:
            return None  # trained on images an older generator drew
        return folder

    start = _file("start.pt", "the source-pretrained start the shipped run trained from.")
    manifest = _file("manifest.json", "config, digests and the metrics the shipped weights give.")

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None when the folder has none."""
        return json.loads(self.manifest.read_text()) if self.manifest.is_file() else None

    def stored_config(self, manifest: dict[str, Any] | None = None) -> RunConfig | None:
        """The manifest's config read back through today's :class:`RunConfig` (either layout; keys added
        since take their defaults), or None without a manifest or when it no longer reads.

        Args:
            manifest: the manifest already read (:meth:`read_manifest`); None reads it.
        """
        manifest = self.read_manifest() if manifest is None else manifest
        try:
            return RunConfig.from_dict(manifest["config"]) if manifest else None
        except (KeyError, ValueError):
            return None


class AblationDir:
    """An ablation folder: one run folder per ladder row and seed (``<row>/seed<k>``) and ``ablation.json``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    summary = _file("ablation.json", "the aggregate, paired differences and tables over the finished seeds.")

    def run(self, row: str, seed: int) -> RunDir:
        """The run folder of ``row`` for ``seed``."""
        return RunDir(self.path / row / f"seed{seed}")

    def has_row(self, row: str) -> bool:
        """True when the folder holds a folder for ``row``."""
        return (self.path / row).is_dir()

    def finished_seeds(self, row: str) -> set[int]:
        """The seeds of ``row`` whose run folder holds ``results.json`` (the "finished" mark)."""
        seeds = {int(p.name[4:]) for p in (self.path / row).glob("seed*") if p.name[4:].isdigit()}
        return {seed for seed in seeds if self.run(row, seed).results.is_file()}
