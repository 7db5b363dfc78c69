"""``python -m vireid_core <command>``: synth, train, evaluate, demo, ablation.

Argument parsing lives here only; each command builds one config object and calls the package.
Errors the user can fix (bad paths, files and values, unwritable outputs, a full disk) print one
``error:`` line and exit with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable, Sequence

from vireid_core import commands
from vireid_core.config import ABLATIONS, preset_names
from vireid_core.errors import UserError, one_line
from vireid_core.learning.engine import TrainingDiverged

DESCRIPTION = """vireid — unsupervised visible-infrared person re-identification (BMIL).

commands:
  synth      write the SynthVI dataset in the SYSU-MM01 or RegDB layout
  train      two-stage BMIL training with a named preset
  evaluate   evaluate a checkpoint with the exact SYSU-MM01 / RegDB / LLCM protocol
  demo       SynthVI + the synthvi-cpu preset + evaluation + a printed table and figures
  ablation   the paper's M1-M6 ablation over several seeds (--ladder: with untrained, start, oracle)
  ablation-table  print the ladder table of a finished ablation folder (no training)
"""


# Every command: its name, its one-line help in the command list, and the function that adds its options;
# that function's docstring is the command's ``--help`` description. Filled by ``@_command`` in the order
# of the definitions below, which is the order the commands are listed in.
_AddOptions = Callable[[argparse.ArgumentParser], None]
_COMMANDS: dict[str, tuple[str, _AddOptions]] = {}


def _command(name: str, help_line: str) -> Callable[[_AddOptions], _AddOptions]:
    """Register the decorated option adder as command ``name``, listed with ``help_line``."""

    def register(add_options: _AddOptions) -> _AddOptions:
        _COMMANDS[name] = (help_line, add_options)
        return add_options

    return register


@_command("synth", "write SynthVI in an official layout")
def _add_synth(p: argparse.ArgumentParser) -> None:
    """Write the procedural SynthVI visible/infrared dataset in the official SYSU-MM01 or RegDB layout
    (deterministic for a seed)."""
    p.add_argument("--out", required=True, help="output folder (created; must be empty or an earlier SynthVI output)")
    p.add_argument("--layout", choices=("sysu", "regdb"), default="sysu")
    p.add_argument(
        "--identities",
        type=int,
        default=None,
        help="sysu: total identities, split ~55/7/38 %% into train/val/test (default 270); "
        "regdb: persons (default 412)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--height", type=int, default=128)
    p.add_argument("--width", type=int, default=64)
    p.add_argument(
        "--ir-lum-mix",
        type=float,
        default=None,
        help="share of infrared intensity that follows visible luminance (0 = pure thermal)",
    )
    p.add_argument(
        "--source",
        action="store_true",
        help="write the disjoint labelled source set (for pretraining) instead of the target set",
    )
    p.add_argument("--contact-sheet", default=None, help="also draw a contact sheet PNG here")


@_command("train", "two-stage BMIL training")
def _add_train(p: argparse.ArgumentParser) -> None:
    """Train BMIL (stage 1 intra-modality, stage 2 cross-modality)."""
    p.add_argument(
        "--preset",
        required=True,
        help=f"one of {', '.join(preset_names())}, optionally with ':paper' (the official code's "
        "run settings: best test Rank-1 checkpoints, fp32) and/or an ablation suffix "
        f"(:{'/:'.join(ABLATIONS)}), e.g. synthvi-cpu:M3, sysu:paper, sysu:paper:M3",
    )
    p.add_argument("--data-root", default="", help="dataset folder (SynthVI: generated here if empty)")
    p.add_argument("--out", required=True, help="run folder: config.json, metrics.jsonl, checkpoints")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set schedule.iters=100 (repeatable)",
    )
    p.add_argument("--resume", action="store_true", help="continue from RUN/last.pt")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars")


@_command("evaluate", "evaluate a checkpoint")
def _add_evaluate(p: argparse.ArgumentParser) -> None:
    """Evaluate a vireid (or official BMIL) checkpoint with the exact protocol."""
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--dataset", required=True, help="sysu | regdb | llcm | synthvi")
    p.add_argument("--data-root", default="", help="dataset folder (SynthVI: the generated SYSU layout)")
    p.add_argument(
        "--mode",
        default=None,
        help="sysu: all | indoor (default: both); regdb: visible_to_thermal | thermal_to_visible; "
        "llcm: ir_to_vis | vis_to_ir | vis_to_ir_natural (default: the usual two)",
    )
    p.add_argument("--shots", type=int, choices=(1, 10), default=1)
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--trial", type=int, default=1, help="RegDB split 1..10")
    p.add_argument(
        "--selection",
        default=None,
        help="how this checkpoint was chosen (printed with the results; default: read from the "
        "checkpoint, e.g. 'last epoch (last.pt, stage 2, epoch 5)')",
    )
    p.add_argument("--json", default=None, help="write the report here (default: next to the checkpoint)")
    p.add_argument("--no-progress", action="store_true")


@_command("demo", "the main job on SynthVI")
def _add_demo(p: argparse.ArgumentParser) -> None:
    """Generate SynthVI, train with the synthvi-cpu preset, evaluate, print a results table and write the
    figures."""
    p.add_argument(
        "--out",
        default=None,
        help="run folder (default: data_cache/runs/<preset>-<config hash>, the run the notebooks reuse)",
    )
    p.add_argument("--preset", default="synthvi-cpu")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--figures", default="figures")
    p.add_argument("--no-progress", action="store_true")


def _seeds_argument(text: str) -> int | list[int]:
    """``--seeds``: ``3`` → 3 (seeds 1..3); ``2,3`` → [2, 3]."""
    try:
        if "," in text:
            return [int(part) for part in text.split(",") if part.strip()]
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count like 3 or a list like 2,3, got {text!r}") from None


@_command("ablation", "M1-M6 over seeds")
def _add_ablation(p: argparse.ArgumentParser) -> None:
    """Run the paper's ablation M1-M6 on a preset over several seeds and write a results JSON and table."""
    p.add_argument("--preset", default="synthvi-cpu")
    p.add_argument(
        "--seeds",
        type=_seeds_argument,
        default=3,
        metavar="N|S1,S2,...",
        help="a count N (seeds 1..N, default 3) or a comma list of seeds, e.g. 2,3 to train "
        "them in a second process sharing --out",
    )
    p.add_argument(
        "--configs",
        default="M1,M2,M3,M4,M5,M6",
        help="rows to run: M1..M6 and the reference rows untrained, start, oracle",
    )
    p.add_argument(
        "--ladder",
        action="store_true",
        help="run the whole baseline ladder: untrained,start,M1,...,M6,oracle (replaces --configs)",
    )
    p.add_argument("--out", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--no-progress", action="store_true")


@_command("ablation-table", "print a finished ladder's table")
def _add_ablation_table(p: argparse.ArgumentParser) -> None:
    """Print the tables of an ablation/ladder folder over its complete seeds (every row finished), with the
    issue-12 targets; trains nothing."""
    p.add_argument("--out", required=True, help="the folder the ablation command wrote")
    p.add_argument("--figure", help="also draw the baseline ladder (seed means, std, seed dots) into this PNG")
    p.add_argument("--title", help="the figure's title (default: says how many seeds it shows)")


@_command("checkpoints", "(re)write the shipped SynthVI models")
def _add_checkpoints(p: argparse.ArgumentParser) -> None:
    """Train the preset into data_cache (or reuse its cached run) and write models/synthvi/<preset>/:
    start, stage-1 and final weights, results and a manifest with the metrics the shipped weights give."""
    p.add_argument("--preset", default="synthvi-cpu")
    p.add_argument("--no-progress", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command (``--debug`` is accepted before or after the command)."""
    parser = argparse.ArgumentParser(
        prog="python -m vireid_core", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(_COMMANDS) + "}")
    sub.required = True
    for name, (help_line, add_options) in _COMMANDS.items():
        command = sub.add_parser(name, help=help_line, description=inspect.cleandoc(add_options.__doc__ or ""))
        add_options(command)
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback of an error"
        )
    return parser


def error_line(err: BaseException) -> str | None:
    """The one-line message for an error the user can act on, or None for a bug (shown as a traceback)."""
    if isinstance(err, KeyError):
        return one_line(err.args[0] if err.args else err)
    if isinstance(err, OSError) and not isinstance(err, UserError):
        where = f"{err.filename}: " if err.filename and str(err.filename) not in str(err.strerror) else ""
        return one_line(f"{where}{err.strerror}" if err.strerror else err)
    if isinstance(err, (ValueError, TrainingDiverged)):
        return one_line(err)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit status (0 ok, 2 user error, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    handler = getattr(commands, f"run_{args.command.replace('-', '_')}")
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        message = error_line(err)
        if args.debug or message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
