"""Seeds: one root seed, a derived seed for every (stage, epoch, purpose)."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import torch


def epoch_seed(seed: int, stage: int, epoch: int, purpose: str) -> int:
    """A 31-bit seed derived from the run seed, the stage, the epoch and a purpose label.

    Every random choice of an epoch draws from its own derived seed, so an epoch's randomness does not
    depend on what earlier epochs consumed: resuming from a checkpoint replays it exactly.
    """
    text = f"{seed}/{stage}/{epoch}/{purpose}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy's legacy global RNG and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
