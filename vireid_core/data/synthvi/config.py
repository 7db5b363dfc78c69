"""Configuration of the SynthVI generator: one dataclass, a few named presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

GENERATOR_VERSION = "1.4.0"

# Random streams: identities and images of the target set and of the source set never share one.
STREAM_TARGET = 0
STREAM_SOURCE = 1


@dataclass(frozen=True)
class SynthVIConfig:
    """Everything that decides what SynthVI draws. Same config → byte-identical files.

    Attributes:
        seed: master seed of every random choice.
        n_train_ids, n_val_ids, n_test_ids: identities in each split of the SYSU layout.
        n_source_ids: identities of the disjoint labelled "source" set (`write_source_set`).
        visible_per_camera: images per (identity, visible camera) when the id is in all 4 visible cams.
        infrared_per_camera: images per (identity, infrared camera) when the id is in both IR cams.
        keep_modality_totals: if an identity is absent from some cameras, its remaining cameras of
            that modality get more images so that its per-modality total stays the same.
        p_absent_indoor: probability that an identity is absent from both indoor visible cameras
            (cam1 and cam2 together, as in real SYSU-MM01 where ~60 % of test ids are indoors).
        p_absent_camera: probability that an identity is absent from any other single camera; an
            identity always keeps at least one visible and one infrared camera.
        height, width: output image size in pixels (drawn at 2x and reduced).
        ir_lum_mix: fraction of a garment's infrared intensity that follows its dye, i.e. its visible
            colour (0 = the fabric alone decides, independent of colour: hard mode).
        ir_response: how the dye's part is computed from the colour: "near_infrared" (red-weighted,
            as near-infrared cameras such as SYSU-MM01's and LLCM's see dyes) or "luminance" (generator
            1.2's Rec. 601 luma).
        lookalike_same_fabric: a look-alike who copies a garment from its group's template also copies
            that garment's fabric term (same garment, same material); False = generator 1.2 (only the
            colours and the pattern were copied).
        pigment_cues: people wear prints, retroreflective trim and shoes coloured with pigments, whose
            infrared brightness follows their visible brightness (generator 1.4, see `pigments.py`);
            False = generator 1.3 (same identities, images byte for byte).
        ir_degrade: scale of the infrared blur and sensor noise (1 = the prototype's "v1").
        clutter: scale of the number of background shapes.
        occlusion_prob: probability that an image has a partial occluder in front of the person.
        lookalike_group_size: identities per look-alike group (members share colours / patterns);
            1 disables look-alike groups.
        regdb_n_ids: persons in the RegDB layout (real RegDB: 412).
        regdb_images_per_modality: visible and thermal images per RegDB person (real: 10).
        regdb_trials: number of RegDB train/test trials (real: 10).
        jpeg_quality: JPEG quality of the SYSU-layout images.
    """

    seed: int = 0
    n_train_ids: int = 150
    n_val_ids: int = 20
    n_test_ids: int = 100
    n_source_ids: int = 250
    visible_per_camera: int = 7
    infrared_per_camera: int = 10
    keep_modality_totals: bool = True
    p_absent_indoor: float = 0.4
    p_absent_camera: float = 0.05
    height: int = 128
    width: int = 64
    ir_lum_mix: float = 0.8
    ir_response: str = "near_infrared"
    ir_degrade: float = 0.7
    clutter: float = 1.0
    occlusion_prob: float = 0.1
    lookalike_group_size: int = 3
    lookalike_same_fabric: bool = True
    pigment_cues: bool = True
    regdb_n_ids: int = 412
    regdb_images_per_modality: int = 10
    regdb_trials: int = 10
    jpeg_quality: int = 95

    def __post_init__(self) -> None:
        def need(condition: bool, message: str) -> None:
            if not condition:
                raise ValueError(f"SynthVIConfig: {message}")

        need(isinstance(self.seed, int) and self.seed >= 0, f"seed must be an int >= 0, got {self.seed!r}")
        for name in ("n_train_ids", "n_val_ids", "n_test_ids", "n_source_ids"):
            value = getattr(self, name)
            need(isinstance(value, int) and value >= 0, f"{name} must be an int >= 0, got {value!r}")
        need(self.n_train_ids + self.n_val_ids + self.n_test_ids >= 1, "needs at least one identity")
        need(self.n_train_ids + self.n_val_ids + self.n_test_ids <= 9999, "at most 9999 identities (4 digits)")
        for name in ("visible_per_camera", "infrared_per_camera", "regdb_images_per_modality"):
            value = getattr(self, name)
            need(isinstance(value, int) and value >= 1, f"{name} must be an int >= 1, got {value!r}")
        for name in ("p_absent_indoor", "p_absent_camera", "ir_lum_mix", "occlusion_prob"):
            value = getattr(self, name)
            need(0.0 <= value <= 1.0, f"{name} must be in [0, 1], got {value!r}")
        need(
            self.height >= 32 and self.width >= 16,
            f"image size must be >= 32x16, got {self.height}x{self.width}",
        )
        need(
            self.ir_response in ("near_infrared", "luminance"),
            f"ir_response must be 'near_infrared' or 'luminance', got {self.ir_response!r}",
        )
        need(self.ir_degrade >= 0.0, f"ir_degrade must be >= 0, got {self.ir_degrade!r}")
        need(self.clutter >= 0.0, f"clutter must be >= 0, got {self.clutter!r}")
        need(
            self.lookalike_group_size >= 1,
            f"lookalike_group_size must be >= 1, got {self.lookalike_group_size}",
        )
        need(self.regdb_n_ids >= 2, f"regdb_n_ids must be >= 2 (half train, half test), got {self.regdb_n_ids}")
        need(self.regdb_trials >= 1, f"regdb_trials must be >= 1, got {self.regdb_trials}")
        need(1 <= self.jpeg_quality <= 100, f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")

    @property
    def n_target_ids(self) -> int:
        """Identities of the SYSU-layout target set (train + val + test)."""
        return self.n_train_ids + self.n_val_ids + self.n_test_ids

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all fields (JSON-serialisable)."""
        return asdict(self)

    def with_(self, **changes: Any) -> SynthVIConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    @classmethod
    def tiny(cls, seed: int = 0) -> SynthVIConfig:
        """A few identities and images: the whole SYSU or RegDB layout generates in well under 2 s."""
        return cls(
            seed=seed,
            n_train_ids=4,
            n_val_ids=2,
            n_test_ids=4,
            n_source_ids=4,
            visible_per_camera=2,
            infrared_per_camera=2,
            regdb_n_ids=6,
        )

    @classmethod
    def hires(cls, seed: int = 0) -> SynthVIConfig:
        """The default set at 288x144 pixels (the usual GPU input size)."""
        return cls(seed=seed, height=288, width=144)
