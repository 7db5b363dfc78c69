"""Cameras and the scenes they film (background style, colour cast, blur, noise).

A scene is a fixed arrangement of large background shapes ("furniture") drawn per dataset seed;
two cameras that film the same place (SYSU cam2 and cam3; RegDB's dual camera) share a scene, the
visible camera drawing its colours and the infrared camera its temperatures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vireid_core.data.records import INFRARED, VISIBLE


@dataclass(frozen=True)
class CameraSpec:
    """How one camera renders. Visible fields are ignored by infrared cameras and vice versa.

    Attributes:
        cam: camera number as the dataset names it.
        modality: VISIBLE (0) or INFRARED (1).
        scene: name of the filmed place (cameras with the same scene share a background).
        outdoor: outdoor palette (sky, pavement, greenery) instead of indoor walls.
        cast: RGB multipliers of the illumination (visible).
        brightness: overall gain (visible).
        blur: Gaussian blur sigma in output pixels at 128 px height (visible: optics; infrared: sensor,
            further scaled by `ir_degrade`).
        noise: sensor noise sigma in [0, 1] intensity units (infrared: scaled by `ir_degrade`).
        ambient: background temperature as an intensity in [0, 1] (infrared).
    """

    cam: int
    modality: int
    scene: str
    outdoor: bool
    cast: tuple[float, float, float] = (1.0, 1.0, 1.0)
    brightness: float = 1.0
    blur: float = 0.0
    noise: float = 0.015
    ambient: float = 0.25


SYSU_CAMERAS: tuple[CameraSpec, ...] = (
    CameraSpec(1, VISIBLE, "room1", False, cast=(1.10, 0.98, 0.80), brightness=1.0, blur=0.0),
    CameraSpec(2, VISIBLE, "room2", False, cast=(0.90, 1.00, 1.12), brightness=1.05, blur=0.5),
    CameraSpec(3, INFRARED, "room2", False, blur=1.1, noise=0.035, ambient=0.22),
    CameraSpec(4, VISIBLE, "gate", True, cast=(0.94, 1.07, 0.90), brightness=1.0, blur=0.0),
    CameraSpec(5, VISIBLE, "garden", True, cast=(1.0, 1.0, 1.0), brightness=0.82, blur=0.8),
    CameraSpec(6, INFRARED, "passage", True, blur=1.5, noise=0.05, ambient=0.32),
)
REGDB_CAMERAS: tuple[CameraSpec, ...] = (
    CameraSpec(1, VISIBLE, "street", True, cast=(1.02, 1.0, 0.95), brightness=0.95, blur=0.4),
    CameraSpec(2, INFRARED, "street", True, blur=1.3, noise=0.045, ambient=0.28),
)


@dataclass(frozen=True)
class Scene:
    """Fixed background of one place.

    Attributes:
        wall: RGB of the wall / sky (visible).
        floor: RGB of the floor / pavement (visible).
        floor_y: top of the floor band as a fraction of the image height.
        shapes: large fixed shapes, each (kind, x0, y0, x1, y1, rgb, heat) with coordinates as
            fractions of the image and heat in [-0.1, 0.5] relative to ambient.
        wall_heat, floor_heat: infrared offsets of wall and floor from ambient.
    """

    wall: tuple[float, float, float]
    floor: tuple[float, float, float]
    floor_y: float
    shapes: tuple[tuple[str, float, float, float, float, tuple[float, float, float], float], ...]
    wall_heat: float
    floor_heat: float


def _colour(rng: np.random.Generator, low: float, high: float, sat: float) -> tuple[float, float, float]:
    base = rng.uniform(low, high)
    tint = rng.uniform(-sat, sat, size=3)
    return tuple(float(np.clip(base + t, 0.0, 1.0)) for t in tint)  # type: ignore[return-value]


def make_scene(rng: np.random.Generator, outdoor: bool) -> Scene:
    """Draw a fixed scene: wall/sky, floor band and 3-6 large shapes. Returns a `Scene`."""
    if outdoor:
        wall = _colour(rng, 0.45, 0.75, 0.12)
        floor = _colour(rng, 0.3, 0.5, 0.05)
    else:
        wall = _colour(rng, 0.55, 0.85, 0.10)
        floor = _colour(rng, 0.25, 0.55, 0.08)
    shapes = []
    for _ in range(int(rng.integers(3, 7))):
        kind = str(rng.choice(["rect", "rect", "disc", "pole"] if outdoor else ["rect", "rect", "rect", "disc"]))
        x0 = float(rng.uniform(-0.3, 1.0))
        y0 = float(rng.uniform(0.0, 0.7))
        if kind == "pole":
            x1, y1 = x0 + float(rng.uniform(0.04, 0.1)), 1.0
        else:
            x1, y1 = x0 + float(rng.uniform(0.2, 0.7)), y0 + float(rng.uniform(0.15, 0.5))
        rgb = _colour(rng, 0.15, 0.8, 0.25)
        heat = float(rng.uniform(0.2, 0.45)) if rng.uniform() < 0.2 else float(rng.uniform(-0.08, 0.08))
        shapes.append((kind, x0, y0, x1, y1, rgb, heat))
    return Scene(
        wall=wall,
        floor=floor,
        floor_y=float(rng.uniform(0.72, 0.86)),
        shapes=tuple(shapes),
        wall_heat=float(rng.uniform(-0.03, 0.03)),
        floor_heat=float(rng.uniform(-0.06, 0.02)),
    )


def make_scenes(rng: np.random.Generator, cameras: tuple[CameraSpec, ...]) -> dict[str, Scene]:
    """One `Scene` per distinct scene name of `cameras`, in camera order. Returns name -> Scene."""
    scenes: dict[str, Scene] = {}
    for camera in cameras:
        if camera.scene not in scenes:
            scenes[camera.scene] = make_scene(rng, camera.outdoor)
    return scenes
