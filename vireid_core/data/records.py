"""The one record type every part of vireid passes around."""

from __future__ import annotations

from dataclasses import dataclass

VISIBLE = 0
INFRARED = 1
MODALITY_NAMES = {VISIBLE: "visible", INFRARED: "infrared"}


@dataclass(frozen=True, slots=True)
class Sample:
    """One image of a person.

    Attributes:
        path: absolute or root-relative path of the image file.
        pid: true person id as written by the dataset (int). Training code never reads it; it is
            kept for diagnostics (ARI, purity) and for evaluation.
        cam: camera number as the dataset names it (SYSU-MM01: 1..6, RegDB: 1 visible / 2 thermal,
            LLCM: 1..9).
        modality: 0 visible, 1 infrared.
    """

    path: str
    pid: int
    cam: int
    modality: int

    def __post_init__(self) -> None:
        if self.modality not in (VISIBLE, INFRARED):
            raise ValueError(
                f"Sample {self.path!r}: modality must be 0 (visible) or 1 (infrared), got {self.modality!r}"
            )
