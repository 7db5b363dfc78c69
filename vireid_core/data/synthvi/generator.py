"""The seeded model of a SynthVI set: who exists, which cameras saw whom, and each image's randomness.

Every random choice draws from its own generator keyed by (seed, stream, purpose, ...), so an image
does not depend on the order of generation, and the target and source sets never share a stream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from vireid_core.data.records import INFRARED, VISIBLE
from vireid_core.data.synthvi.cameras import CameraSpec, Scene, make_scenes
from vireid_core.data.synthvi.config import SynthVIConfig
from vireid_core.data.synthvi.figure import sample_pose
from vireid_core.data.synthvi.identities import Identity, sample_identities
from vireid_core.data.synthvi.render import render_image

# purposes of random streams
_IDENTITIES, _SCENES, _PRESENCE, _SPLIT, _IMAGE, _POSE, _PIGMENTS = range(7)


def stream_rng(config: SynthVIConfig, stream: int, purpose: int, *keys: int) -> np.random.Generator:
    """Independent generator for one purpose (and optional keys such as pid, camera, image index)."""
    return np.random.default_rng([config.seed, stream, purpose, *keys])


@dataclass(frozen=True)
class SynthWorld:
    """The identities, cameras and scenes of one generated set.

    Attributes:
        config: the generating config.
        stream: random stream (target / source / RegDB target).
        identities: person i (1-based pid) is `identities[i - 1]`.
        cameras: camera specs in camera-number order.
        scenes: scene name -> `Scene`.
    """

    config: SynthVIConfig
    stream: int
    identities: tuple[Identity, ...]
    cameras: tuple[CameraSpec, ...]
    scenes: dict[str, Scene]

    @classmethod
    def build(cls, config: SynthVIConfig, stream: int, n_ids: int, cameras: tuple[CameraSpec, ...]) -> SynthWorld:
        """Draw `n_ids` identities and the scenes of `cameras` for `stream`."""
        people = sample_identities(
            stream_rng(config, stream, _IDENTITIES),
            n_ids,
            config.lookalike_group_size,
            same_fabric=config.lookalike_same_fabric,
            pigment_rng=stream_rng(config, stream, _PIGMENTS) if config.pigment_cues else None,
        )
        scenes = make_scenes(stream_rng(config, stream, _SCENES), cameras)
        return cls(config, stream, tuple(people), cameras, scenes)

    def camera(self, cam: int) -> CameraSpec:
        """The spec of camera number `cam` (ValueError if this world has no such camera)."""
        for spec in self.cameras:
            if spec.cam == cam:
                return spec
        raise ValueError(f"no camera {cam}; cameras are {[c.cam for c in self.cameras]}")

    def render(
        self, pid: int, cam: int, index: int, pose_key: int | None = None, back_view: bool | None = None
    ) -> np.ndarray:
        """Image `index` of person `pid` (1-based) in camera `cam`: uint8 [H, W, 3].

        `pose_key` (default: `cam`) keys the pose stream; cameras given the same key share poses,
        like RegDB's simultaneously recorded visible/thermal pairs. `back_view` forces the view
        (default: drawn with the pose).
        """
        if not 1 <= pid <= len(self.identities):
            raise ValueError(f"pid must be in 1..{len(self.identities)}, got {pid}")
        spec = self.camera(cam)
        key = cam if pose_key is None else pose_key
        pose = sample_pose(stream_rng(self.config, self.stream, _POSE, pid, key, index))
        if back_view is not None:
            pose = replace(pose, back_view=back_view)
        rng = stream_rng(self.config, self.stream, _IMAGE, pid, cam, index)
        return render_image(self.identities[pid - 1], spec, self.scenes[spec.scene], pose, rng, self.config)


def sysu_presence(
    config: SynthVIConfig, stream: int, n_ids: int, cameras: tuple[CameraSpec, ...]
) -> dict[int, dict[int, int]]:
    """Images per (pid, camera) for the SYSU layout; absent cameras are left out.

    cam1 and cam2 (indoor) are dropped together with `p_absent_indoor`; every other camera alone
    with `p_absent_camera`; a person always keeps at least one visible and one infrared camera.
    With `keep_modality_totals`, the remaining cameras of a modality share that modality's full
    total (cameras x images per camera), the first cameras taking any remainder.
    Returns {pid: {cam: n_images}} for pids 1..n_ids.
    """
    rng = stream_rng(config, stream, _PRESENCE)
    per_camera = {VISIBLE: config.visible_per_camera, INFRARED: config.infrared_per_camera}
    presence: dict[int, dict[int, int]] = {}
    for pid in range(1, n_ids + 1):
        indoor_absent = bool(rng.uniform() < config.p_absent_indoor)
        present: dict[int, list[int]] = {VISIBLE: [], INFRARED: []}
        draws = rng.uniform(size=len(cameras))
        for spec, u in zip(cameras, draws, strict=True):
            absent = indoor_absent if spec.cam in (1, 2) else bool(u < config.p_absent_camera)
            if not absent:
                present[spec.modality].append(spec.cam)
        counts: dict[int, int] = {}
        for modality in (VISIBLE, INFRARED):
            cams_of_modality = [c.cam for c in cameras if c.modality == modality]
            kept = present[modality]
            if not kept:  # never leave a person without a modality: keep a seeded non-indoor camera
                fallback = [c for c in cams_of_modality if not (indoor_absent and c in (1, 2))]
                kept = [fallback[int(rng.integers(len(fallback)))]]
            if config.keep_modality_totals:
                total = per_camera[modality] * len(cams_of_modality)
                share, extra = divmod(total, len(kept))
                for i, cam in enumerate(kept):
                    counts[cam] = share + (1 if i < extra else 0)
            else:
                for cam in kept:
                    counts[cam] = per_camera[modality]
        presence[pid] = dict(sorted(counts.items()))
    return presence


def split_ids(config: SynthVIConfig, stream: int) -> tuple[list[int], list[int], list[int]]:
    """Seeded split of pids 1..n_target_ids into (train, val, test), each sorted ascending."""
    order = stream_rng(config, stream, _SPLIT).permutation(config.n_target_ids) + 1
    train = sorted(int(p) for p in order[: config.n_train_ids])
    val = sorted(int(p) for p in order[config.n_train_ids : config.n_train_ids + config.n_val_ids])
    test = sorted(int(p) for p in order[config.n_train_ids + config.n_val_ids :])
    return train, val, test
