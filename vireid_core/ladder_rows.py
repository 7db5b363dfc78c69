"""The reference rows of the baseline ladder (untrained, start, oracle) and the probes of every row.

Each row of one seed lives in its own run folder, like the ablation's M rows: ``config.json``,
``probes.json`` (:mod:`vireid_core.ladder_probes`) and, written last as the "finished" mark,
``results.json`` in the shape ``train_run`` writes (``evaluations`` with ``all`` and ``indoor``
search, 10 gallery trials). The oracle also keeps its weights in ``oracle.pt``.

* ``untrained``: the network of the seed as built, random weights (``model.pretrained`` ignored).
* ``start``: the seed's starting model before any unsupervised training (the cached start of
  :func:`vireid_core.workflow.prepare_model`, the same one the M rows of the seed train from).
* ``oracle``: that start trained with the true target-train identities (:mod:`vireid_core.learning.oracle`).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from vireid_core.config import RunConfig
from vireid_core.data.dataset import ReIDDataset
from vireid_core.ladder_probes import load_final_model, other_modality_share, training_clustering
from vireid_core.learning.checkpoints import atomic_write_text, save_checkpoint
from vireid_core.learning.oracle import train_oracle
from vireid_core.learning.setup import build_configured_model
from vireid_core.run_dir import RunDir
from vireid_core.workflow import DEFAULT_CACHE, evaluate_run, prepare_dataset, prepare_model

BASELINE_ROWS = {
    "untrained": "freshly initialised network (random weights, no training)",
    "start": "starting model, before any unsupervised training",
    "oracle": "supervised oracle (true target-train ids, same budget)",
}


def _stderr(text: str) -> None:
    """Default ``notify``: run-folder notes (e.g. a stale lock taken over) go to stderr."""
    print(text, file=sys.stderr)


def _row_model(
    name: str, config: RunConfig, dataset: ReIDDataset, cache_dir: str | Path, progress: bool
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The model of reference row ``name`` and what its making recorded (the oracle's training)."""
    if name == "untrained":
        bare = RunConfig.from_dict(config.to_dict())
        bare.model.pretrained = None
        return build_configured_model(bare), {}
    start = prepare_model(config, cache_dir, progress=progress, use_shipped=False)
    if name == "start":
        return start, {}
    if name == "oracle":
        return start, {"oracle": train_oracle(start, dataset, config, progress=progress)}
    raise ValueError(f"unknown reference row {name!r}; choose from {', '.join(BASELINE_ROWS)}")


def run_baseline_row(
    name: str,
    config: RunConfig,
    run_dir: str | Path,
    *,
    cache_dir: str | Path = DEFAULT_CACHE,
    progress: bool = True,
    trials: int = 10,
    notify: Callable[[str], None] = _stderr,
) -> dict[str, Any]:
    """Make, evaluate and probe reference row ``name`` (``untrained``, ``start`` or ``oracle``) of ``config``.

    Evaluation: the dataset's protocol in every setting (SYSU: all and indoor search) over ``trials``
    gallery trials, as the M rows' final evaluation. Probes: :func:`other_modality_share` and
    :func:`training_clustering`. Writes ``config.json``, ``probes.json``, (oracle) ``oracle.pt`` and
    finally ``results.json`` into ``run_dir`` while holding its lock. Returns the results dict.
    """
    if name not in BASELINE_ROWS:
        raise ValueError(f"unknown reference row {name!r}; choose from {', '.join(BASELINE_ROWS)}")
    run = RunDir(run_dir)
    run.check_writable()
    with run.owned(notify):
        run.write_config(config)
        dataset = prepare_dataset(config, cache_dir, progress=progress, notify=notify)
        started = time.perf_counter()
        model, extra = _row_model(name, config, dataset, cache_dir, progress)
        made = time.perf_counter() - started
        if "oracle" in extra:
            save_checkpoint(
                run.oracle_weights,
                {
                    "model": model.state_dict(),
                    "selection": "oracle",
                    "config": config.to_dict(),
                    "oracle": extra["oracle"],
                },
            )
        label = f"{name}: {BASELINE_ROWS[name]}"
        evaluations: dict[str, Any] = {
            name: evaluate_run(model, dataset, config, trials=trials, selection=label, progress=progress),
            "selection": {"checkpoint": label, name: label},
        }
        probes = {
            **other_modality_share(model, dataset, config, progress=progress),
            **training_clustering(model, dataset, config, progress=progress),
        }
        atomic_write_text(run.probes, json.dumps(probes, indent=2) + "\n")
        result = {
            "row": name,
            "description": BASELINE_ROWS[name],
            "out_dir": str(run.path),
            "history": [],
            "evaluations": evaluations,
            "seconds_to_make": made,
            "seconds": time.perf_counter() - started,
            **extra,
        }
        atomic_write_text(run.results, json.dumps(result, indent=2) + "\n")
    return result


def ensure_probes(run_dir: str | Path, *, cache_dir: str | Path = DEFAULT_CACHE, progress: bool = True) -> bool:
    """Write ``probes.json`` (:func:`other_modality_share` of the final model) for a finished training run.

    Does nothing when the file exists, or when the folder keeps no ``config.json`` or no final
    checkpoint (committed result folders hold no weights). Returns True when it wrote the file.
    """
    run = RunDir(run_dir)
    if run.probes.is_file() or not run.config.is_file():
        return False
    config = RunConfig.from_json(run.config)
    model = load_final_model(run.path, config)
    if model is None:
        return False
    dataset = prepare_dataset(config, cache_dir, progress=progress)
    probes = other_modality_share(model, dataset, config, progress=progress)
    atomic_write_text(run.probes, json.dumps(probes, indent=2) + "\n")
    return True


def read_probes(run_dir: str | Path) -> dict[str, float]:
    """The probes a run folder holds (``probes.json``), or an empty dict."""
    path = RunDir(run_dir).probes
    return {k: float(v) for k, v in json.loads(path.read_text()).items()} if path.is_file() else {}
