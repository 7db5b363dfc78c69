"""Atomic checkpoint writes: a failure mid-write leaves the previous file intact and no debris."""

from __future__ import annotations

import os

import pytest
import torch

from vireid_core.learning import checkpoints
from vireid_core.learning.checkpoints import load_checkpoint, save_checkpoint


def test_failed_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.zeros(2)})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"epoch": 2, "w": torch.ones(2)})
    monkeypatch.setattr(checkpoints.os, "replace", os.replace)
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_unreadable_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")
    torn = tmp_path / "torn.pt"
    torn.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="torn.pt"):
        load_checkpoint(torn)
