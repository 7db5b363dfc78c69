"""The CLI commands' bodies: turn parsed arguments into one config and call the package."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from vireid_core.cli import _parse_sets, print_json
from vireid_core.errors import UserError
from vireid_core.output_paths import check_output_file, check_output_folder


def run_synth(args: argparse.Namespace) -> int:
    """``synth``: write SynthVI (target or source set) in the SYSU-MM01 or RegDB layout."""
    from vireid_core.data.synthvi import SynthVIConfig, contact_sheet, write_dataset, write_source_set

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
    print(f"SynthVI ({'source' if args.source else args.layout} layout) written to {root} "
          f"in {time.perf_counter() - started:.1f} s")
    if args.contact_sheet:
        contact_sheet(args.contact_sheet, config)
        print(f"contact sheet: {args.contact_sheet}")
    return 0


def _config_from_args(preset: str, sets: list[str], data_root: str = "", seed: int | None = None):
    from vireid_core.config import get_preset

    overrides: dict[str, Any] = _parse_sets(sets)
    if data_root:
        given = overrides.setdefault("data.root", data_root)
        if given != data_root:
            raise UserError(f"--data-root {data_root!r} and --set data.root={given!r} name different folders; "
                            "give the dataset folder once")
    if seed is not None:
        overrides["seed"] = seed
    return get_preset(preset, overrides)


def run_train(args: argparse.Namespace) -> int:
    """``train``: one training run into ``--out``; prints the final table."""
    from vireid_core.learning.callbacks import PrintLog
    from vireid_core.learning.distributed import init_from_environment, is_main
    from vireid_core.run_dir import RunDir
    from vireid_core.workflow import results_table, train_run

    config = _config_from_args(args.preset, args.set, args.data_root)
    RunDir(args.out).check_writable()
    init_from_environment()
    result = train_run(config, args.out, resume=args.resume, callbacks=[PrintLog()],
                       progress=not args.no_progress)
    if is_main():
        print(results_table(result.evaluations))
        print(f"run folder: {args.out}")
    return 0


def describe_checkpoint(path: str | Path, state: dict[str, Any]) -> str:
    """Which model a checkpoint holds, for report labels, e.g. ``"last epoch (last.pt, stage 2, epoch 5)"``."""
    name = Path(path).name
    stage = state.get("stage")
    if "next_epoch" in state:  # last.pt: the model after the last finished epoch
        done = int(state["next_epoch"])
        if done:
            return f"last epoch ({name}, stage {stage}, epoch {done - 1})"
        if stage and int(stage) > 1:
            return f"last epoch ({name}, end of stage {int(stage) - 1})"
        return f"starting weights, never trained ({name})"
    if state.get("selection"):
        return f"{state['selection']} ({name}, stage {stage}, epoch {state.get('epoch')})"
    if "model" in state:
        return f"weights of {name}"
    return f"official BMIL weights ({name})"


def load_model_for_evaluation(checkpoint: str | Path):
    """Build the model a checkpoint was trained with and load its weights.

    Accepts vireid checkpoints (``model`` + ``config`` keys) and official BMIL checkpoints
    (``state_dict`` with ``module.``-prefixed AGW keys). Returns ``(model, height, width, label)``,
    ``label`` saying which model the file holds (:func:`describe_checkpoint`).
    """
    from vireid_core.config import RunConfig
    from vireid_core.learning.checkpoints import load_checkpoint, load_model_weights
    from vireid_core.learning.setup import build_configured_model
    from vireid_core.model import build_model, load_official_checkpoint

    state = load_checkpoint(checkpoint)
    label = describe_checkpoint(checkpoint, state)
    if "model" in state and isinstance(state.get("config"), dict):
        try:
            config = RunConfig.from_dict(state["config"])
        except ValueError as err:
            raise UserError(f"checkpoint {checkpoint}: its stored config is not valid ({err})") from err
        config.model.pretrained = None
        model = build_configured_model(config)
        m = config.model
        load_model_weights(model, state["model"], f"checkpoint {checkpoint} (its stored config describes "
                                                  f"{m.arch}, width {m.width_multiplier})")
        return model, config.data.height, config.data.width, label
    model = build_model("agw_resnet50", pretrained=None)
    load_official_checkpoint(model, checkpoint)
    return model, 288, 144, label


def run_evaluate(args: argparse.Namespace) -> int:
    """``evaluate``: the exact protocol on a checkpoint; prints the table and writes JSON."""
    from vireid_core.data import load_dataset
    from vireid_core.evaluation import evaluate

    name = args.dataset
    if name == "synthvi":
        if not args.data_root:
            raise UserError("--dataset synthvi needs --data-root: the SynthVI folder the model was trained on "
                            "(SYSU-MM01 layout, e.g. data_cache/synthvi-sysu-<hash>)")
        name = "sysu"  # SynthVI is written in the official SYSU-MM01 layout
    if not args.data_root:
        raise UserError(f"--data-root is required: the folder of the {name!r} dataset")
    if args.trials < 1:
        raise UserError(f"--trials must be at least 1, got {args.trials}")
    out = args.json or str(Path(args.checkpoint).with_suffix("")) + f"_eval_{name}.json"
    check_output_file(out, "the report file (--json)")  # before the work, so no report is lost
    model, height, width, label = load_model_for_evaluation(args.checkpoint)
    selection = args.selection or label
    dataset = load_dataset(name, args.data_root, **({"trial": args.trial} if name == "regdb" else {}))
    if dataset.protocol == "sysu":
        kwargs: dict[str, Any] = {"mode": [args.mode] if args.mode else ["all", "indoor"], "shots": args.shots}
    else:
        kwargs = {"direction": args.mode} if args.mode else {}
    report = evaluate(model, dataset, trials=range(args.trials), height=height, width=width,
                      checkpoint_selection=selection, progress=not args.no_progress, **kwargs)
    print(report.table())
    reports = report.to_dict()
    print_json({"checkpoint": str(args.checkpoint), "selection": selection, "reports": reports}, out)
    print(f"report written to {out}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """``demo``: SynthVI + ``synthvi-cpu`` + evaluation + table + figures."""
    from vireid_core.learning.callbacks import PrintLog
    from vireid_core.workflow import results_table, train_run

    started = time.perf_counter()
    config = _config_from_args(args.preset, args.set)
    if args.out:
        out = Path(args.out)
    else:
        from vireid_core.analysis.runs import run_dir_for

        out = run_dir_for(config, "data_cache")  # the run the notebooks load (trained once, shared)
    check_output_folder(out, "the run folder (--out)")
    check_output_folder(args.figures, "the figures folder (--figures)")
    resume = (out / "last.pt").is_file()
    if resume:
        print(f"{out} holds an earlier demo run; continuing it (delete the folder to start over)")
    result = train_run(config, out, resume=resume, callbacks=[PrintLog()], progress=not args.no_progress)
    print()
    print("SynthVI results (test identities never seen in training; 10 gallery trials):")
    print(results_table(result.evaluations))
    from vireid_core import viz

    written = viz.demo_figures(result, config, args.figures)
    for path in written:
        print(f"figure: {path}")
    from vireid_core.shipped import compare_with_shipped

    print()
    print(compare_with_shipped(config, result.evaluations))
    print(f"demo finished in {(time.perf_counter() - started) / 60:.1f} min; run folder {out}")
    return 0


def run_ablation(args: argparse.Namespace) -> int:
    """``ablation``: M1–M6 (``--ladder``: untrained, start, M1–M6, oracle) × seeds; writes
    ``ablation.json`` and prints the table."""
    from vireid_core.ablation import LADDER, check_names
    from vireid_core.ablation import run_ablation as run

    names = LADDER if args.ladder else check_names([c.strip() for c in args.configs.split(",") if c.strip()])
    check_output_folder(args.out, "the ablation folder (--out)")
    summary = run(args.preset, names, args.seeds, Path(args.out), overrides=_parse_sets(args.set),
                  progress=not args.no_progress)
    print(summary["table"])
    print(json.dumps({"written": str(Path(args.out) / "ablation.json")}))
    return 0


def run_ablation_table(args: argparse.Namespace) -> int:
    """``ablation-table``: print a finished ablation folder's tables (complete seeds), training nothing."""
    from vireid_core.ablation import ladder_table

    out = Path(args.out)
    if not out.is_dir():
        raise UserError(f"{out}: no such ablation folder (--out)")
    print(ladder_table(out))
    return 0


def run_checkpoints(args: argparse.Namespace) -> int:
    """``checkpoints``: train the preset into the cache (or reuse it) and write its shipped folder."""
    from vireid_core.analysis.runs import cached_run
    from vireid_core.shipped import read_manifest, write_shipped

    config = _config_from_args(args.preset, [])
    run = cached_run(config, "data_cache", progress=not args.no_progress, train=True)
    folder = write_shipped(config, run.run_dir, "data_cache", progress=not args.no_progress)
    manifest = read_manifest(folder)
    print(f"shipped models written to {folder} (config {manifest['config_digest']}, code {manifest['code_version']})")
    for label, modes in manifest["metrics"].items():
        print(f"  {label:<8}" + "  ".join(f"{mode} R1 {100 * m['rank1']:.2f} mAP {100 * m['mAP']:.2f}"
                                         for mode, m in modes.items()))
    return 0
