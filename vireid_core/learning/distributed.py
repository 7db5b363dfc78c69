"""Multi-process training with ``torchrun`` + DistributedDataParallel, and the single-process default.

Design (documented in docs/training.md):
* every rank extracts the features of its shard of the training list; shards are gathered so every
  rank holds all features;
* rank 0 clusters and broadcasts the pseudo labels;
* every rank draws its own batches (sampler seed + rank) and DDP averages the gradients, so the
  effective batch is ``world_size`` times the configured one (scale ``optim.lr`` yourself if you want
  the single-GPU recipe: results depending on the GPU count are a known trap in this field);
* memory updates use the features and targets gathered from all ranks, so every rank keeps identical
  memories;
* checkpoints and evaluation happen on rank 0.
Without an initialised process group every function here is the single-process identity.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import numpy as np
import torch
import torch.distributed as tdist

from vireid_core.errors import UserError

T = TypeVar("T")


def is_distributed() -> bool:
    """True when a process group is initialised with more than one rank."""
    return tdist.is_available() and tdist.is_initialized() and tdist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 without a process group)."""
    return tdist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of processes (1 without a process group)."""
    return tdist.get_world_size() if is_distributed() else 1


def local_rank() -> int:
    """The GPU index of this rank on its node (``LOCAL_RANK`` from torchrun, else 0)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """True on rank 0."""
    return rank() == 0


JOIN_TIMEOUT_VARIABLE = "VIREID_JOIN_TIMEOUT"  # seconds to wait for the other processes (default 300)


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _environment_int(name: str, default: int | None = None) -> int:
    text = os.environ.get(name)
    if text is None and default is not None:
        return default
    try:
        return int(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UserError(
            f"environment variable {name}={text!r}: expected an integer (set by torchrun); "
            "unset RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT to train in one process"
        ) from None


def _join(world: int, notify: Callable[[str], None]) -> tdist.Store:
    """Rendezvous of a process group started by hand (not by torchrun), with a time limit and a warning."""
    rank_, address = _environment_int("RANK"), os.environ.get("MASTER_ADDR")
    if not address:
        raise UserError(
            f"environment variable WORLD_SIZE={world} asks for {world} processes but MASTER_ADDR is not "
            "set; launch with torchrun, or unset WORLD_SIZE and RANK to train in one process"
        )
    port = _environment_int("MASTER_PORT")
    seconds = float(os.environ.get(JOIN_TIMEOUT_VARIABLE, "300"))
    notify(
        f"distributed: RANK={rank_} WORLD_SIZE={world} MASTER_ADDR={address} MASTER_PORT={port} are set; waiting "
        f"up to {seconds:.0f} s ({JOIN_TIMEOUT_VARIABLE}) for all {world} processes to join. Not launched with "
        "torchrun on purpose? Unset RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT to train in one process."
    )
    try:
        store = tdist.TCPStore(
            address, port, world, rank_ == 0, timeout=timedelta(seconds=seconds), wait_for_workers=True
        )
    except RuntimeError as err:
        raise UserError(
            f"distributed: the {world} processes that RANK/WORLD_SIZE/MASTER_ADDR={address}:{port} ask "
            f"for did not all join within {seconds:.0f} s ({' '.join(str(err).split())}); launch them "
            "with torchrun, or unset those variables to train in one process"
        ) from err
    store.set_timeout(timedelta(minutes=30))  # later waits (clustering on rank 0) may be long
    return store


def init_from_environment(notify: Callable[[str], None] = _stderr) -> bool:
    """Initialise the default process group when ``WORLD_SIZE`` > 1 (``torchrun`` or a manual launch).

    Uses NCCL when CUDA is available, else gloo. Under torchrun its agent holds the rendezvous; a
    manual launch (the variables set by hand, or left over from an earlier session) first prints a
    line through ``notify`` and waits at most ``VIREID_JOIN_TIMEOUT`` seconds (default 300) for the
    other processes, then raises :class:`~vireid_core.errors.UserError`. Returns True when a group
    was initialised.
    """
    world = _environment_int("WORLD_SIZE", 1)
    if world <= 1 or is_distributed():
        return False
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if os.environ.get("TORCHELASTIC_RUN_ID"):
        tdist.init_process_group(backend=backend)
    else:
        store = _join(world, notify)
        tdist.init_process_group(backend=backend, store=store, rank=_environment_int("RANK"), world_size=world)
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank())
    return True


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    if is_distributed():
        tdist.barrier()


def broadcast_object(obj: T) -> T:
    """Rank 0's ``obj`` on every rank."""
    if not is_distributed():
        return obj
    holder = [obj]
    tdist.broadcast_object_list(holder, src=0)
    return holder[0]


def sharded_extract(extract: Callable[[Sequence[Any]], np.ndarray], samples: Sequence[Any]) -> np.ndarray:
    """Run ``extract`` on this rank's shard (every ``world_size``-th sample) and gather all rows in order.

    Returns float32[len(samples), D] on every rank.
    """
    if not is_distributed():
        return extract(samples)
    r, w = rank(), world_size()
    mine = extract(list(samples)[r::w])
    parts: list[Any] = [None] * w
    tdist.all_gather_object(parts, mine)
    dim = next(p.shape[1] for p in parts if len(p))
    out = np.empty((len(samples), dim), dtype=np.float32)
    for i, part in enumerate(parts):
        out[i::w] = part
    return out


def gather_rows(features: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate ``features``/``targets`` of every rank (rank order); identity in one process."""
    if not is_distributed():
        return features, targets
    parts: list[Any] = [None] * world_size()
    tdist.all_gather_object(parts, (features.cpu(), targets.cpu()))
    device = features.device
    return (torch.cat([p[0] for p in parts]).to(device), torch.cat([p[1] for p in parts]).to(device))


def sync_buffers(model: torch.nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank (no-op in one process).

    DDP keeps parameters identical but each rank's last forward leaves its own BN statistics; the
    engine syncs them before extracting features and at the end, so every rank holds the same model.
    """
    if not is_distributed():
        return
    for buffer in model.buffers():
        tdist.broadcast(buffer.data, src=0)


def wrap_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around ``model`` when distributed, else ``model`` itself.

    ``find_unused_parameters`` is on because a batch may hold a single modality (one stem unused).
    """
    if not is_distributed():
        return model
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)
