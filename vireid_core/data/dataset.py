"""`ReIDDataset`: what every dataset reader returns (train list, query list, gallery candidates)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vireid_core.data.records import INFRARED, MODALITY_NAMES, VISIBLE, Sample

PROTOCOLS = ("sysu", "regdb", "llcm")


@dataclass
class ReIDDataset:
    """One visible-infrared re-id dataset as read from disk.

    Attributes:
        name: registry name the dataset was loaded under ("sysu", "regdb", "llcm", or a user name).
        root: absolute dataset root.
        train: all training images (both modalities). Sorted by path within each modality, visible
            block first, but consumers must use `Sample.modality`, never the position.
        query: the fixed query list of the evaluation protocol (SYSU/LLCM: every infrared test image;
            RegDB: every test thermal image — the RegDB evaluator picks the direction itself).
        gallery_candidates: every image the gallery is drawn from (SYSU/LLCM: every visible test
            image, the evaluator samples single-/multi-shot galleries from it grouped by (pid, cam);
            RegDB: every test visible image).
        protocol: evaluation protocol name, one of "sysu", "regdb", "llcm".
        info: free-form facts about how the dataset was read (e.g. {"trial": 3} for RegDB).
    """

    name: str
    root: str
    train: list[Sample]
    query: list[Sample]
    gallery_candidates: list[Sample]
    protocol: str
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"dataset {self.name!r}: protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        for split in ("train", "query", "gallery_candidates"):
            samples = getattr(self, split)
            if not isinstance(samples, list) or not all(isinstance(s, Sample) for s in samples):
                raise TypeError(f"dataset {self.name!r}: {split} must be a list of Sample")

    def train_modality(self, modality: int) -> list[Sample]:
        """Returns the training samples of one modality (0 visible, 1 infrared), in `train` order."""
        _check_modality(modality)
        return [s for s in self.train if s.modality == modality]

    @property
    def test_samples(self) -> list[Sample]:
        """Returns query followed by gallery candidates (every test image once)."""
        return self.query + self.gallery_candidates

    @property
    def test_visible(self) -> list[Sample]:
        """Returns every visible test image (query and gallery candidates), in list order.

        For RegDB this is the trial's `test_visible_<t>.txt` list in file order.
        """
        return [s for s in self.test_samples if s.modality == VISIBLE]

    @property
    def test_infrared(self) -> list[Sample]:
        """Returns every infrared test image (query and gallery candidates), in list order."""
        return [s for s in self.test_samples if s.modality == INFRARED]

    @property
    def test_thermal(self) -> list[Sample]:
        """Same as `test_infrared` (RegDB calls its infrared images "thermal")."""
        return self.test_infrared

    def summary(self) -> dict[str, Any]:
        """Returns counts per split and modality.

        Shape: {"name", "protocol", "root", "info", "splits": {split: {modality name:
        {"images": int, "ids": int, "cams": sorted list of camera numbers}}}} for the splits
        "train", "query" and "gallery_candidates" (modalities without images are left out).
        """
        splits = {split: _count(getattr(self, split)) for split in ("train", "query", "gallery_candidates")}
        return {
            "name": self.name,
            "protocol": self.protocol,
            "root": self.root,
            "info": dict(self.info),
            "splits": splits,
        }


def _check_modality(modality: int) -> None:
    if modality not in (VISIBLE, INFRARED):
        raise ValueError(f"modality must be 0 (visible) or 1 (infrared), got {modality!r}")


def _count(samples: Sequence[Sample]) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for modality, modality_name in MODALITY_NAMES.items():
        chosen = [s for s in samples if s.modality == modality]
        if chosen:
            counts[modality_name] = {
                "images": len(chosen),
                "ids": len({s.pid for s in chosen}),
                "cams": sorted({s.cam for s in chosen}),
            }
    return counts
