"""Bad inputs (issue 16): each case ends in one ``error:`` line with exit status 2 or is handled right.

One table row per case of the issue, driven through ``vireid_core.cli.main`` in-process (fast); cases
that live below the CLI (notebook parameters, readers, the cached pretrained start) call the package
function and expect a :class:`~vireid_core.errors.UserError` with the fragment.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from vireid_core import analysis
from vireid_core.cli import main
from vireid_core.config import get_preset, stable_digest
from vireid_core.data import load_dataset
from vireid_core.data.synthvi import SynthVIConfig, write_dataset
from vireid_core.errors import UserError
from vireid_core.learning.checkpoints import save_checkpoint
from vireid_core.learning.setup import build_configured_model

SMOKE = ["--preset", "synthvi-smoke"]


class Payload:
    """A pickle whose loading would create ``marker`` (code execution)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def bomb_png(path: Path) -> Path:
    """A PNG whose header claims 20000 x 20000 pixels (400 megapixels), a few bytes on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 8)) + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Small SynthVI sets, a good checkpoint and broken variants of it, shared by every row."""
    base = tmp_path_factory.mktemp("bad_inputs")
    tiny = SynthVIConfig.tiny()
    config = get_preset("synthvi-smoke", {"model.pretrained": None})
    model = build_configured_model(config)
    good = base / "good.pt"
    save_checkpoint(
        good,
        {"model": model.state_dict(), "config": config.to_dict(), "stage": 1, "epoch": 0, "selection": "last epoch"},
    )
    payload = base / "payload.pt"
    torch.save({"model": model.state_dict(), "config": config.to_dict(), "extra": Payload(base / "PWNED")}, payload)
    tampered = base / "tampered.pt"
    state = torch.load(good, weights_only=True)
    first = next(k for k, v in state["model"].items() if v.dtype.is_floating_point and v.numel() > 4)
    state["model"][first].view(-1)[:4] += 1.0  # bytes changed inside a weight tensor, digest kept
    torch.save(state, tampered)
    mismatch = base / "mismatch.pt"
    wider = build_configured_model(
        get_preset("synthvi-smoke", {"model.pretrained": None, "model.width_multiplier": 0.5})
    )
    save_checkpoint(mismatch, {"model": wider.state_dict(), "config": config.to_dict()})
    return SimpleNamespace(
        base=base,
        config=config,
        good=good,
        payload=payload,
        tampered=tampered,
        mismatch=mismatch,
        sysu=write_dataset(base / "sysu", "sysu", tiny, progress=False),
        regdb=write_dataset(base / "regdb", "regdb", tiny, progress=False),
    )


def copy_tree(source: Path, target: Path) -> Path:
    """A writable copy of a dataset folder (rows that break a dataset work on their own copy)."""
    import shutil

    return Path(shutil.copytree(source, target))


def evaluate(checkpoint: Path, root: Path, out: Path, dataset: str = "synthvi") -> list[str]:
    return [
        "evaluate",
        "--checkpoint",
        str(checkpoint),
        "--dataset",
        dataset,
        "--data-root",
        str(root),
        "--trials",
        "1",
        "--json",
        str(out / "report.json"),
        "--no-progress",
    ]


def run_folder_with_last(out: Path, overrides: dict[str, Any], *, with_config: bool) -> Path:
    """A run folder whose last.pt was trained with ``synthvi-smoke`` + ``overrides``."""
    config = get_preset("synthvi-smoke", overrides)
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(
        out / "last.pt",
        {
            "model": {},
            "config": config.to_dict(),
            "stage": 1,
            "next_epoch": 1,
            "config_digest": stable_digest(config.to_dict()),
        },
    )
    if with_config:
        config.to_json(out / "config.json")
    return out


# ------------------------------------------------------------------------------------------ row builders
# Each builder gets (world, tmp_path, monkeypatch) and returns the argv for ``main``.
def _payload_evaluate(w, tmp, mp):
    return evaluate(w.payload, w.sysu, tmp)


def _payload_resume(w, tmp, mp):
    out = run_folder_with_last(tmp / "run", {}, with_config=True)
    (out / "last.pt").write_bytes(w.payload.read_bytes())
    return ["train", *SMOKE, "--out", str(out), "--resume"]


def _tampered(w, tmp, mp):
    return evaluate(w.tampered, w.sysu, tmp)


def _set_and_data_root(w, tmp, mp):
    return ["train", *SMOKE, "--out", str(tmp / "r"), "--data-root", str(tmp / "a"), "--set", f"data.root={tmp}/b"]


def _regdb_one_label(w, tmp, mp):
    root = copy_tree(w.regdb, tmp / "regdb")
    index = root / "idx" / "test_thermal_1.txt"
    index.write_text("".join(f"{line.rsplit(' ', 1)[0]} 7\n" for line in index.read_text().splitlines()))
    return evaluate(w.good, root, tmp, "regdb")


def _regdb_outside(w, tmp, mp):
    root = copy_tree(w.regdb, tmp / "regdb")
    (tmp / "secret.bmp").write_bytes((root / next(iter(sorted((root / "Visible").rglob("*.bmp"))))).read_bytes())
    index = root / "idx" / "test_visible_1.txt"
    index.write_text(index.read_text() + "../secret.bmp 0\n")
    return evaluate(w.good, root, tmp, "regdb")


def _live_lock(w, tmp, mp):
    out = tmp / "run"
    out.mkdir()
    (out / "run.lock").write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))
    return ["train", *SMOKE, "--out", str(out)]


def _resume_config_deleted(w, tmp, mp):
    out = run_folder_with_last(tmp / "run", {}, with_config=False)
    return ["train", *SMOKE, "--out", str(out), "--resume", "--set", "seed=5"]


def _foreign_last(w, tmp, mp):
    out = run_folder_with_last(tmp / "run", {"global_clustering.eps": 0.5}, with_config=False)
    get_preset("synthvi-smoke").to_json(out / "config.json")  # config.json claims the requested config
    return ["train", *SMOKE, "--out", str(out), "--resume"]


def _bomb(w, tmp, mp):
    root = copy_tree(w.sysu, tmp / "sysu")
    test_ids = (root / "exp" / "test_id.txt").read_text().strip().split(",")
    image = next(
        p for cam in (3, 6) for pid in test_ids for p in sorted((root / f"cam{cam}").glob(f"{int(pid):04d}/*"))
    )  # a query image
    image.unlink()
    bomb_png(image.with_suffix(".png"))
    return evaluate(w.good, root, tmp)


def _unreadable_person(w, tmp, mp):
    root = copy_tree(w.sysu, tmp / "sysu")
    person = next(p for p in sorted((root / "cam1").iterdir()) if p.is_dir())
    if os.geteuid() == 0:  # root reads any folder: make this one fail the way a 000 folder does
        real = Path.iterdir

        def iterdir(self):
            if self == person:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real(self)

        mp.setattr(Path, "iterdir", iterdir)
    else:
        person.chmod(0)
    return evaluate(w.good, root, tmp)


def _out_is_file(w, tmp, mp):
    (tmp / "file").write_text("mine")
    return ["train", *SMOKE, "--out", str(tmp / "file")]


def _read_only(path: Path, mp) -> None:
    """Make ``path`` read-only (as root, for whom chmod does not, make the access check say so)."""
    if os.geteuid() == 0:
        real = os.access
        mp.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == path else real(p, mode, **kw))
    else:
        path.chmod(0o500)


def _out_read_only(w, tmp, mp):
    (tmp / "ro").mkdir()
    _read_only(tmp / "ro", mp)
    return ["train", *SMOKE, "--out", str(tmp / "ro")]


def _disk_full(w, tmp, mp):
    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    mp.setattr(os, "replace", full)
    return ["train", *SMOKE, "--out", str(tmp / "run")]


def _json_folder(w, tmp, mp):
    (tmp / "report.json").mkdir()
    return evaluate(w.good, w.sysu, tmp)


def _json_read_only(w, tmp, mp):
    (tmp / "ro").mkdir()
    _read_only(tmp / "ro", mp)
    return [*evaluate(w.good, w.sysu, tmp)[:-2], str(tmp / "ro" / "report.json"), "--no-progress"]


def _mismatch(w, tmp, mp):
    return evaluate(w.mismatch, w.sysu, tmp)


def _sysu_offline(w, tmp, mp):
    from torchvision.models._api import WeightsEnum

    from tests.test_readers import make_sysu

    def offline(self, *args, **kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    mp.setattr(WeightsEnum, "get_state_dict", offline)
    return ["train", "--preset", "sysu", "--data-root", str(make_sysu(tmp / "SYSU")), "--out", str(tmp / "run")]


def _torchrun_leftovers(w, tmp, mp):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for key, value in {
        "WORLD_SIZE": "2",
        "RANK": "0",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "VIREID_JOIN_TIMEOUT": "1",
    }.items():
        mp.setenv(key, value)
    mp.delenv("TORCHELASTIC_RUN_ID", raising=False)
    return ["train", *SMOKE, "--out", str(tmp / "run")]


def _synth_over_user_files(w, tmp, mp):
    out = tmp / "mine"
    assert main(["synth", "--out", str(out), "--identities", "4", "--height", "32", "--width", "16"]) == 0
    (out / "exp" / "notes.txt").write_text("my notes")
    return ["synth", "--out", str(out), "--identities", "4", "--height", "32", "--width", "16", "--seed", "1"]


def _set(*pairs: str) -> Callable:
    return lambda w, tmp, mp: ["train", *SMOKE, "--out", str(tmp / "run"), *[a for p in pairs for a in ("--set", p)]]


@dataclass
class Row:
    name: str
    build: Callable
    fragment: str
    code: int = 2


CLI_ROWS = [
    Row("checkpoint with a pickle payload (evaluate)", _payload_evaluate, "refused"),
    Row("last.pt with a pickle payload (--resume)", _payload_resume, "refused"),
    Row("bytes changed inside a weight tensor", _tampered, "do not match the digest"),
    Row("--set data.root disagrees with --data-root", _set_and_data_root, "name different folders"),
    Row("RegDB test list with one repeated label", _regdb_one_label, "every line has label 7"),
    Row("RegDB index pointing outside the root", _regdb_outside, "outside the dataset root"),
    Row("second training into a run folder in use", _live_lock, "being written by another training"),
    Row("--resume with config.json deleted and a new --set", _resume_config_deleted, "seed: run 1, requested 5"),
    Row("--resume of a last.pt from another run", _foreign_last, "was trained with another config"),
    Row("400-megapixel image", _bomb, "too large to decode safely"),
    Row("unreadable person folder", _unreadable_person, "cannot be read"),
    Row("--out is an existing file", _out_is_file, "exists and is not a folder"),
    Row("--out is read-only", _out_read_only, "not writable"),
    Row("--out on a full disk", _disk_full, "No space left on device"),
    Row("--json is a folder", _json_folder, "is a folder"),
    Row("--json in a read-only folder", _json_read_only, "not writable"),
    Row("checkpoint whose config and weights disagree", _mismatch, "does not fit the model"),
    Row("synth over an earlier output holding a user file", _synth_over_user_files, "files SynthVI did not write"),
    Row("--set device=gpu", _set("device=gpu"), "config key 'device'"),
    Row("--set seed=none", _set("seed=none"), "config key 'seed'"),
    Row("--set optim.lr=inf", _set("optim.lr=inf"), "must be a finite number"),
    Row("--preset sysu offline", _sysu_offline, "could not be downloaded"),
    Row("leftover torchrun environment variables", _torchrun_leftovers, "did not all join within 1 s"),
]


@pytest.mark.parametrize("row", CLI_ROWS, ids=[row.name for row in CLI_ROWS])
def test_cli_bad_input_is_one_error_line(row: Row, world, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # any data_cache goes under tmp_path
    argv = row.build(world, tmp_path, monkeypatch)
    code = main(argv)
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == row.code, err
    assert len(errors) == 1 and row.fragment in errors[0], err
    assert "Traceback" not in err and "Rank-1" not in out  # nothing was evaluated before the refusal
    assert not (world.base / "PWNED").exists()


# ---------------------------------------------------------------------------- rows below the CLI
def _notebook_k1(w, tmp):
    analysis.neighbour_settings(np.array([0, 0, 1, 1]), "abc", 0, 0.0, w.config.global_clustering)


def _notebook_query_rank(w, tmp):
    analysis.infrared_query(np.array([0, 0, 1, 1]), 10**9)


def _notebook_checkpoint(w, tmp):
    analysis.load_model(w.config, w.payload)


def _official_loader(w, tmp):
    from vireid_core.model import load_official_checkpoint

    path = tmp / "bmil.pth.tar"
    torch.save({"state_dict": {"w": torch.ones(1)}, "extra": Payload(w.base / "PWNED")}, path)
    load_official_checkpoint(SimpleNamespace(arch="agw_resnet50"), path)


def _cached_pretrained(w, tmp):
    from vireid_core.workflow import prepare_model, pretrained_cache_path

    config = get_preset("synthvi-smoke", {"model.pretrained": None})
    pretrained_cache_path(config, tmp).parent.mkdir(parents=True, exist_ok=True)
    pretrained_cache_path(config, tmp).write_bytes(w.payload.read_bytes())
    prepare_model(config, tmp, progress=False)


def _llcm_outside(w, tmp):
    from tests.test_readers import make_llcm

    root = make_llcm(tmp / "LLCM")
    index = root / "idx" / "train_vis.txt"
    index.write_text(index.read_text() + "../../etc/x_c01.jpg 0\n")
    load_dataset("llcm", root)


FUNCTION_ROWS = [
    ("notebook parameter k1='abc'", _notebook_k1, "parameter k1='abc'"),
    ("notebook parameter query_rank=10**9", _notebook_query_rank, "parameter query_rank=1000000000"),
    ("notebook checkpoint with a pickle payload", _notebook_checkpoint, "refused"),
    ("official-weights loader with a pickle payload", _official_loader, "refused"),
    ("cached pretrained file with a pickle payload", _cached_pretrained, "refused"),
    ("LLCM index pointing outside the root", _llcm_outside, "outside the dataset root"),
]


@pytest.mark.parametrize("row", FUNCTION_ROWS, ids=[row[0] for row in FUNCTION_ROWS])
def test_package_bad_input_is_a_user_error(row, world, tmp_path) -> None:
    _, call, fragment = row
    with pytest.raises(UserError, match=None) as info:
        call(world, tmp_path)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert not (world.base / "PWNED").exists()


# ---------------------------------------------------------------------------- the remaining cases
def test_a_pickle_payload_never_runs(world, tmp_path) -> None:
    """Every loader refuses the payload before it can create its marker file."""
    from vireid_core.learning.checkpoints import load_checkpoint

    marker = tmp_path / "marker"
    evil = tmp_path / "evil.pt"
    torch.save({"model": {}, "x": Payload(marker)}, evil)
    with pytest.raises(UserError, match=r"io\.open"):
        load_checkpoint(evil)
    assert main(evaluate(evil, world.sysu, tmp_path)) == 2
    assert not marker.exists()


def test_files_without_digest_and_official_metadata_still_load(tmp_path) -> None:
    from vireid_core.learning.checkpoints import load_checkpoint, read_torch_file

    plain = tmp_path / "plain.pt"
    torch.save({"model": {"w": torch.ones(2)}, "epoch": 3}, plain)  # no model_digest: an older file
    assert load_checkpoint(plain)["epoch"] == 3
    official = tmp_path / "bmil.pth.tar"
    torch.save(
        {
            "state_dict": {"module.bottleneck.weight": torch.ones(2)},
            "mAP": np.float64(0.5),
            "cmc": np.zeros(3),
            "epoch": 60,
        },
        official,
    )
    with pytest.raises(UserError, match="numpy"):
        read_torch_file(official)  # plain loads admit tensors and plain data only
    assert float(read_torch_file(official, allow_numpy=True)["mAP"]) == 0.5


def test_debug_shows_the_traceback(tmp_path) -> None:
    with pytest.raises(UserError, match="unknown preset"):
        main(["train", "--preset", "nope", "--out", str(tmp_path / "r"), "--debug"])
    with pytest.raises(UserError, match="unknown preset"):
        main(["--debug", "train", "--preset", "nope", "--out", str(tmp_path / "r")])


def test_id_lists_one_per_line_crlf_and_bom_are_read_whole(tmp_path) -> None:
    from tests.test_readers import make_sysu

    root = make_sysu(tmp_path / "sysu")
    (root / "exp" / "train_id.txt").write_bytes(b"\xef\xbb\xbf0001\r\n0002\r\n")
    (root / "exp" / "test_id.txt").write_text("7,\n9\n")
    data = load_dataset("sysu", root)
    assert data.info["train_ids"] == [1, 2] and data.info["test_ids"] == [7, 9]
    (root / "exp" / "val_id.txt").write_text("3\n x3\n")
    with pytest.raises(UserError, match=r"val_id\.txt, line 2.*'x3'"):
        load_dataset("sysu", root)


def test_index_file_with_bom_and_crlf_loads(world, tmp_path) -> None:
    root = copy_tree(world.regdb, tmp_path / "regdb")
    for index in (root / "idx").glob("*_1.txt"):
        index.write_bytes(b"\xef\xbb\xbf" + index.read_text().replace("\n", "\r\n").encode())
    assert len(load_dataset("regdb", root, trial=1).train) == len(load_dataset("regdb", world.regdb).train)


def test_written_files_follow_the_umask(tmp_path) -> None:
    from vireid_core.learning.checkpoints import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
        save_checkpoint(tmp_path / "b.pt", {"model": {"w": torch.ones(1)}})
    finally:
        os.umask(old)
    assert {oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == {"0o644"}


def test_stale_lock_is_taken_over_and_temporaries_are_cleaned(tmp_path) -> None:
    from vireid_core.run_dir import RunDir

    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    (run.path / ".last.pt.k2j4h_x1.tmp").write_bytes(b"half a checkpoint")
    (run.path / "notes.tmp").write_text("mine")  # not a run file's temporary: kept
    dead = 2**22 + 12345  # beyond the default pid range: no such process
    run.lock_file.write_text(json.dumps({"pid": dead, "host": socket.gethostname()}))
    messages: list[str] = []
    with run.owned(messages.append):
        assert json.loads(run.lock_file.read_text())["pid"] == os.getpid()
        with pytest.raises(UserError, match="being written"), run.owned():
            pass
    assert not run.lock_file.exists()
    assert sorted(p.name for p in run.path.iterdir()) == ["notes.tmp"]
    assert any("no longer running" in m for m in messages) and any(".last.pt.k2j4h_x1.tmp" in m for m in messages)


def tree_digest(root: Path) -> dict[str, tuple[int, str]]:
    """Mode and SHA-256 of every file under ``root`` (and the set of folders)."""
    import hashlib

    return {
        str(p.relative_to(root)): (
            p.stat().st_mode,
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir",
        )
        for p in sorted(root.rglob("*"))
    }


def test_data_root_is_never_modified_and_labels_tell_the_truth(tmp_path, monkeypatch, capsys) -> None:
    """synth --out DIR, then train --data-root DIR (the case that wiped DIR): DIR stays byte-identical;
    best-without-best-file and stage2_init=best-without-best-file are said, not hidden."""
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "mine"
    assert main(["synth", "--out", str(data), "--identities", "8", "--height", "64", "--width", "32"]) == 0
    (data / "exp" / "notes.txt").write_text("my notes")
    before = tree_digest(data)
    sets = [
        "pretrain.enabled=false",
        "schedule.iters=1",
        "schedule.checkpoint_selection=best",
        "schedule.stage2_init=best",
        "threads=1",
    ]
    run = tmp_path / "run"
    code = main(
        [
            "train",
            *SMOKE,
            "--data-root",
            str(data),
            "--out",
            str(run),
            "--no-progress",
            *[a for s in sets for a in ("--set", s)],
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert tree_digest(data) == before
    assert "training on the folder as it is" in err + out
    assert "stage2_init=best, but there is no" in out
    results = json.loads((run / "results.json").read_text())
    label = results["evaluations"]["selection"]["stage 2"]
    assert label.startswith("last epoch (checkpoint_selection=best, but no best_stage2.pt")
    assert results["evaluations"]["selection"]["stage 1"] == "last epoch of stage 1"
    assert "best on test" not in json.dumps(results["evaluations"]["selection"])
    notes = results["notes"]  # each fallback is also written down in the results
    assert any("the stage 1 numbers are those of its last epoch" in note for note in notes)
    assert any("the final numbers are those of the last epoch" in note for note in notes)
    assert any(note.startswith("stage 2 started from the last stage-1 epoch") for note in notes)
    assert not (run / "run.lock").exists()


def test_zero_epochs_are_not_reported_as_a_trained_stage(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    sets = [
        "pretrain.enabled=false",
        "schedule.stage1.epochs=0",
        "schedule.stage2.epochs=0",
        "threads=1",
        "data.synthvi.n_train_ids=4",
        "data.synthvi.n_test_ids=3",
        "data.synthvi.n_val_ids=0",
    ]
    code = main(
        ["train", *SMOKE, "--out", str(tmp_path / "run"), "--no-progress", *[a for s in sets for a in ("--set", s)]]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    evaluations = json.loads((tmp_path / "run" / "results.json").read_text())["evaluations"]
    assert set(evaluations) == {"starting model (0 epochs)", "selection"}
    assert "never trained" in out and "stage 1" not in out


@pytest.mark.parametrize(
    "sets,fragment",
    [
        (
            ["intra_clustering.k1=1", "intra_clustering.k2=1"],
            "config key 'intra_clustering.k1'=1 is not usable: k1 must be an integer >= 2",
        ),
        (["global_clustering.k1=1", "global_clustering.k2=1"], "config key 'global_clustering.k1'=1 is not usable"),
        (
            ["global_clustering.k2=4"],
            "config key 'global_clustering.k2'=4 is not usable: k2 must not exceed k1 // 2 = 3",
        ),
        (["global_clustering.method=bogus"], "must be one of ('modality_aware', 'plain', 'none')"),
    ],
)
def test_infeasible_neighbour_sizes_are_refused_before_training(sets, fragment, tmp_path, monkeypatch, capsys) -> None:
    """k1 = 1 used to pass validation and then cluster nothing, epoch after epoch (issue 13)."""
    monkeypatch.chdir(tmp_path)
    code = main(
        ["train", *SMOKE, "--out", str(tmp_path / "run"), "--no-progress", *[a for s in sets for a in ("--set", s)]]
    )
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and fragment in errors[0], errors
    assert not (tmp_path / "run" / "last.pt").exists()
