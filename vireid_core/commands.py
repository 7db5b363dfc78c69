"""The CLI commands' bodies: turn parsed arguments into one config and call the run layer.

Each ``run_<command>`` checks its outputs, builds the config (:func:`config_from_args`) and calls one
entry: :mod:`vireid_core.runs` (train, demo, ablation, checkpoints), :func:`vireid_core.workflow.
open_checkpoint` with :func:`vireid_core.evaluation.evaluate_protocol` (evaluate), or the SynthVI
writers (synth). Argument parsing is :mod:`vireid_core.cli`'s; nothing here imports it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from vireid_core import runs, viz
from vireid_core.ablation import LADDER, check_names, ladder_table
from vireid_core.compute import plan_for_config
from vireid_core.config import RunConfig, get_preset
from vireid_core.data import load_dataset
from vireid_core.data.synthvi import SynthVIConfig, contact_sheet, write_dataset, write_source_set
from vireid_core.errors import UserError
from vireid_core.evaluation import evaluate_protocol
from vireid_core.learning.callbacks import PrintLog
from vireid_core.learning.checkpoints import atomic_write_text
from vireid_core.learning.distributed import init_from_environment, is_main
from vireid_core.output_paths import check_output_file, check_output_folder
from vireid_core.run_dir import AblationDir, RunDir, ShippedDir
from vireid_core.shipped import compare_with_shipped, write_shipped
from vireid_core.viz.base import save_figure
from vireid_core.viz.ladder import load_ladder, plot_baseline_ladder
from vireid_core.workflow import DEFAULT_CACHE, open_checkpoint


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``--set key=value`` strings → ``{key: value}`` (text, parsed by the config); raises :class:`UserError`
    for a pair without ``=`` or key."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value (e.g. global_clustering.eps=0.5), got {pair!r}")
        overrides[key.strip()] = value.strip()
    return overrides


def write_json(data: object, path: str | Path | None) -> None:
    """Write ``data`` as indented JSON to ``path`` (if given), atomically."""
    if path is not None:
        atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def run_synth(args: argparse.Namespace) -> int:
    """``synth``: write SynthVI (target or source set) in the SYSU-MM01 or RegDB layout; returns 0."""
    check_output_folder(args.out, "the SynthVI output folder (--out)")
    if args.contact_sheet:
        check_output_file(args.contact_sheet, "the contact sheet PNG (--contact-sheet)")
    changes: dict[str, Any] = {"seed": args.seed, "height": args.height, "width": args.width}
    if args.ir_lum_mix is not None:
        changes["ir_lum_mix"] = args.ir_lum_mix
    if args.identities is not None:
        if args.identities < 2:
            raise UserError(f"--identities must be at least 2, got {args.identities}")
        if args.layout == "regdb":
            changes["regdb_n_ids"] = args.identities
        elif args.source:
            changes["n_source_ids"] = args.identities
        else:
            n_test = max(1, round(args.identities * 0.37))
            n_val = round(args.identities * 0.07)
            changes.update(n_train_ids=args.identities - n_test - n_val, n_val_ids=n_val, n_test_ids=n_test)
    config = SynthVIConfig(**changes)
    started = time.perf_counter()
    if args.source:
        root = write_source_set(args.out, config)
    else:
        root = write_dataset(args.out, args.layout, config)
    print(
        f"SynthVI ({'source' if args.source else args.layout} layout) written to {root} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    if args.contact_sheet:
        contact_sheet(args.contact_sheet, config)
        print(f"contact sheet: {args.contact_sheet}")
    return 0


def config_from_args(preset: str, sets: Sequence[str], data_root: str = "", seed: int | None = None) -> RunConfig:
    """The config of ``--preset`` with the ``--set`` overrides, ``--data-root`` (which must not contradict a
    ``--set data.root``) and ``seed``; raises :class:`UserError` naming the offending key or value."""
    overrides: dict[str, Any] = parse_overrides(sets)
    if data_root:
        given = overrides.setdefault("data.root", data_root)
        if given != data_root:
            raise UserError(
                f"--data-root {data_root!r} and --set data.root={given!r} name different folders; "
                "give the dataset folder once"
            )
    if seed is not None:
        overrides["seed"] = seed
    return get_preset(preset, overrides)


def run_train(args: argparse.Namespace) -> int:
    """``train``: one training run into ``--out``; prints the final table; returns 0."""
    config = config_from_args(args.preset, args.set, args.data_root)
    RunDir(args.out).check_writable()
    init_from_environment()
    result = runs.train_run(config, args.out, resume=args.resume, callbacks=[PrintLog()], progress=not args.no_progress)
    if is_main():
        print(runs.results_table(result.evaluations))
        print(f"run folder: {args.out}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """``evaluate``: the exact protocol on a checkpoint; prints the table, writes JSON; returns 0."""
    name = args.dataset
    if name == "synthvi":
        if not args.data_root:
            raise UserError(
                "--dataset synthvi needs --data-root: the SynthVI folder the model was trained on "
                "(SYSU-MM01 layout, e.g. data_cache/synthvi-sysu-<hash>)"
            )
        name = "sysu"  # SynthVI is written in the official SYSU-MM01 layout
    if not args.data_root:
        raise UserError(f"--data-root is required: the folder of the {name!r} dataset")
    if args.trials < 1:
        raise UserError(f"--trials must be at least 1, got {args.trials}")
    out = args.json or str(Path(args.checkpoint).with_suffix("")) + f"_eval_{name}.json"
    check_output_file(out, "the report file (--json)")  # before the work, so no report is lost
    loaded = open_checkpoint(args.checkpoint)
    selection = args.selection or loaded.label
    dataset = load_dataset(name, args.data_root, **({"trial": args.trial} if name == "regdb" else {}))
    # the checkpoint's own compute plan (e.g. a ':paper' run's fp32); official weights: the CPU's "auto" plan
    plan = plan_for_config(loaded.config, torch.device("cpu")) if loaded.config is not None else None
    # --mode names one setting (a SYSU search mode or a RegDB/LLCM direction); none = every reported one
    report = evaluate_protocol(
        loaded.model,
        dataset,
        args.mode,
        shots=args.shots,
        trials=range(args.trials),
        height=loaded.height,
        width=loaded.width,
        checkpoint_selection=selection,
        progress=not args.no_progress,
        device="cpu",
        plan=plan,
    )
    print(report.table())
    write_json({"checkpoint": str(args.checkpoint), "selection": selection, "reports": report.to_dict()}, out)
    print(f"report written to {out}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """``demo``: SynthVI + ``synthvi-cpu`` + evaluation + table + figures; returns 0."""
    started = time.perf_counter()
    config = config_from_args(args.preset, args.set)
    # the default folder is the run the notebooks load (trained once, shared)
    out = Path(args.out) if args.out else runs.run_dir_for(config, DEFAULT_CACHE)
    check_output_folder(out, "the run folder (--out)")
    check_output_folder(args.figures, "the figures folder (--figures)")
    resume = RunDir(out).last.is_file()
    if resume:
        print(f"{out} holds an earlier demo run; continuing it (delete the folder to start over)")
    result = runs.train_run(config, out, resume=resume, callbacks=[PrintLog()], progress=not args.no_progress)
    print()
    print("SynthVI results (test identities never seen in training; 10 gallery trials):")
    print(runs.results_table(result.evaluations))
    written = viz.demo_figures(result, config, args.figures)
    for path in written:
        print(f"figure: {path}")
    print()
    print(compare_with_shipped(config, result.evaluations))
    print(f"demo finished in {(time.perf_counter() - started) / 60:.1f} min; run folder {out}")
    return 0


def run_ablation(args: argparse.Namespace) -> int:
    """``ablation``: M1–M6 (``--ladder``: untrained, start, M1–M6, oracle) × seeds; writes
    ``ablation.json`` and prints the table; returns 0."""
    names = LADDER if args.ladder else check_names([c.strip() for c in args.configs.split(",") if c.strip()])
    check_output_folder(args.out, "the ablation folder (--out)")
    summary = runs.run_ablation(
        args.preset,
        names,
        args.seeds,
        Path(args.out),
        overrides=parse_overrides(args.set),
        progress=not args.no_progress,
    )
    print(summary["table"])
    print(json.dumps({"written": str(AblationDir(args.out).summary)}))
    return 0


def run_ablation_table(args: argparse.Namespace) -> int:
    """``ablation-table``: print a finished ablation folder's tables (complete seeds), training nothing;
    returns 0."""
    out = Path(args.out)
    if not out.is_dir():
        raise UserError(f"{out}: no such ablation folder (--out)")
    print(ladder_table(out))
    if args.figure:
        path = Path(args.figure)
        figure = plot_baseline_ladder(load_ladder(out), title=args.title)
        print(json.dumps({"figure": str(save_figure(figure, path.name, path.parent))}))
    return 0


def run_checkpoints(args: argparse.Namespace) -> int:
    """``checkpoints``: train the preset into the cache (or reuse it) and write its shipped folder; returns 0."""
    config = config_from_args(args.preset, [])
    run = runs.cached_run(config, DEFAULT_CACHE, progress=not args.no_progress, train=True)
    folder = write_shipped(config, run.run_dir, DEFAULT_CACHE, progress=not args.no_progress)
    manifest = ShippedDir(folder).read_manifest()
    print(f"shipped models written to {folder} (config {manifest['config_digest']}, code {manifest['code_version']})")
    for label, modes in manifest["metrics"].items():
        print(
            f"  {label:<8}"
            + "  ".join(f"{mode} R1 {100 * m['rank1']:.2f} mAP {100 * m['mAP']:.2f}" for mode, m in modes.items())
        )
    return 0
