"""The engine's one reporting interface, used by the CLI (log lines + JSONL) and notebooks (live plots).

The engine calls these hooks; a callback implements the ones it cares about. Records are plain
JSON-able dicts (see :class:`vireid_core.learning.engine.Engine` for their keys).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from vireid_core.learning.checkpoints import atomic_write_text


class Callback:
    """Base class: every hook is a no-op."""

    def on_stage_start(self, stage: int, info: dict[str, Any]) -> None:
        """A stage (1 intra-modality, 2 cross-modality) begins."""

    def on_association(self, stage: int, epoch: int, report: dict[str, Any]) -> None:
        """Pseudo labels of an epoch are ready (cluster counts, ARI, mixing …)."""

    def on_iteration(self, stage: int, epoch: int, iteration: int, losses: dict[str, float]) -> None:
        """One training iteration finished."""

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        """An epoch finished; ``record`` is the line written to ``metrics.jsonl``."""

    def on_message(self, text: str) -> None:
        """A human-readable log line (warnings about degenerate clustering, checkpoints …)."""

    def on_run_end(self, summary: dict[str, Any]) -> None:
        """Training finished."""


class PrintLog(Callback):
    """Print one compact line per epoch and every message (the CLI's console output)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def on_message(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        parts = [f"stage {record['stage']} epoch {record['epoch']}"]
        for key in ("clusters_ir", "clusters_vis", "clusters_global"):
            if record.get(key) is not None:
                parts.append(f"{key.split('_')[1]} {record[key]}")
        if record.get("global_ari") is not None:
            parts.append(f"global ARI {record['global_ari']:.3f}")
        if record.get("global_mixed_fraction") is not None:
            parts.append(f"mixed {record['global_mixed_fraction']:.2f}")
        if record.get("loss_intra") is not None:
            parts.append(f"loss {record['loss_intra']:.3f}")
        if record.get("loss_global") is not None:
            parts.append(f"global loss {record['loss_global']:.3f}")
        if record.get("eval"):
            ev = record["eval"]
            parts.append(f"R1 {100 * ev['rank1']:.1f} mAP {100 * ev['mAP']:.1f}")
        parts.append(f"{record.get('seconds', 0.0):.0f}s")
        print(" | ".join(parts), file=self.stream, flush=True)


class MetricsJsonl(Callback):
    """Keep ``metrics.jsonl`` equal to the run's history (one JSON line per finished epoch).

    The file is rewritten atomically from the engine's history at every epoch, so after a crash or a
    resume it holds exactly the epochs the last checkpoint holds.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.history: list[dict[str, Any]] = []

    def set_history(self, history: list[dict[str, Any]]) -> None:
        """Replace the in-memory history (used on resume)."""
        self.history = list(history)
        self._write()

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        self.history.append(record)
        self._write()

    def _write(self) -> None:
        atomic_write_text(self.path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.history))


class HistoryRecorder(Callback):
    """Collect every epoch record and association report in memory (notebooks, tests)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.associations: list[dict[str, Any]] = []
        self.messages: list[str] = []
        self.iteration_losses: list[dict[str, Any]] = []

    def on_association(self, stage: int, epoch: int, report: dict[str, Any]) -> None:
        self.associations.append({"stage": stage, "epoch": epoch, **report})

    def on_iteration(self, stage: int, epoch: int, iteration: int, losses: dict[str, float]) -> None:
        self.iteration_losses.append({"stage": stage, "epoch": epoch, "iteration": iteration, **losses})

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def on_message(self, text: str) -> None:
        self.messages.append(text)
