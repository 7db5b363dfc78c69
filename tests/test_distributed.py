"""DDP through the engine's own code path: two CPU processes with the gloo backend."""

from __future__ import annotations

import os
import socket

import torch
import torch.distributed as tdist
import torch.multiprocessing as mp

from tests.engine_fixtures import tiny_config, tiny_dataset


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, cache_dir: str, out_dir: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    tdist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        from vireid_core.learning import distributed as dist
        from vireid_core.learning.callbacks import HistoryRecorder
        from vireid_core.learning.engine import Engine

        assert dist.is_distributed() and dist.rank() == rank and dist.world_size() == world
        config = tiny_config()
        recorder = HistoryRecorder()
        engine = Engine(config, tiny_dataset(cache_dir, config), out_dir=out_dir, callbacks=[recorder], progress=False)
        engine.run()
        torch.save(
            {"model": engine.model.state_dict(), "records": recorder.records}, os.path.join(out_dir, f"rank{rank}.pt")
        )
    finally:
        tdist.destroy_process_group()


def test_two_gloo_ranks_train_in_lockstep(tmp_path):
    cache = tmp_path / "cache"
    tiny_dataset(cache)  # generate once, before the workers start
    out = tmp_path / "run"
    out.mkdir()
    mp.spawn(_worker, args=(2, _free_port(), str(cache), str(out)), nprocs=2, join=True)
    r0 = torch.load(out / "rank0.pt", weights_only=False)
    r1 = torch.load(out / "rank1.pt", weights_only=False)
    for key, value in r0["model"].items():
        assert torch.equal(value, r1["model"][key]), f"ranks disagree on {key}"
    # Only rank 0 reports and checkpoints; both stages ran.
    assert [(r["stage"], r["epoch"]) for r in r0["records"]] == [(1, 0), (2, 0)]
    assert r1["records"] == []
    assert (out / "last.pt").is_file()
