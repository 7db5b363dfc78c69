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
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import torch
import torch.distributed as tdist

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


def init_from_environment() -> bool:
    """Initialise the default process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1).

    Uses NCCL when CUDA is available, else gloo. Returns True when a group was initialised.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or is_distributed():
        return False
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    tdist.init_process_group(backend=backend)
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
