"""Render one image of one identity through one camera: background, person, occluder, sensor.

Visible: RGB drawing under a per-camera colour cast and brightness, light gradient, optics blur and
mild noise. Infrared: intensities with bare skin brightest and each garment at a fraction t of the
skin-to-background contrast; t follows the garment's dye (its near-infrared response, computed from
its colour) by `ir_lum_mix` and its own fabric for the rest; a darker background, then blur and noise
scaled by `ir_degrade`, copied into 3 identical channels.
Everything is drawn at 2x the output size and reduced with a box filter.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw
from scipy.ndimage import gaussian_filter

from vireid_core.data.records import VISIBLE
from vireid_core.data.synthvi.cameras import CameraSpec, Scene
from vireid_core.data.synthvi.config import SynthVIConfig
from vireid_core.data.synthvi.figure import Fill, Pose, draw_person
from vireid_core.data.synthvi.identities import RGB, Identity
from vireid_core.data.synthvi.pigments import REFLECTIVE_VISIBLE

# (rgb, heat relative to ambient) -> fill value of the canvas
FillFunction = Callable[[RGB, float], Fill]


def luminance(rgb: RGB) -> float:
    """Rec. 601 luma of an RGB colour in [0, 1]."""
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def near_infrared_response(rgb: RGB) -> float:
    """How bright a dyed fabric of colour ``rgb`` (in [0, 1]) looks to a near-infrared camera, in [0, 1].

    The long-wavelength end of the visible spectrum predicts the near-infrared reflectance of most dyes
    best (red and yellow dyes reflect strongly, blue and green ones less, dark dyes little), so the
    response weights the red channel most. This is also why the method's channel augmentation (one
    colour channel copied into three) resembles an infrared image.
    """
    return 0.65 * rgb[0] + 0.25 * rgb[1] + 0.10 * rgb[2]


def pigment_transmission(rgb: RGB) -> float:
    """Fraction of the skin-to-ambient infrared contrast shown by a pigment of visible colour `rgb`, in [0, 1].

    Pigments (`pigments.py`) reflect near-infrared light about as they reflect visible light, so the
    fraction follows the colour's :func:`luminance`: carbon black about 0.25, titanium white about 0.85
    (the range of dyed garments is 0.2-0.9).
    """
    return 0.2 + 0.7 * luminance(rgb)


def _rgb8(rgb: RGB) -> tuple[int, int, int]:
    return tuple(int(round(255 * min(max(c, 0.0), 1.0))) for c in rgb)  # type: ignore[return-value]


def _draw_shape(draw: ImageDraw.ImageDraw, kind: str, box: tuple[float, float, float, float], fill: Fill) -> None:
    x0, y0, x1, y1 = box
    if kind == "disc":
        draw.ellipse((x0, y0, x0 + (x1 - x0), y0 + (x1 - x0)), fill=fill)
    elif kind == "line":
        draw.line((x0, y0, x1, y1), fill=fill, width=max(1, int((x1 - x0) * 0.05) + 2))
    else:
        draw.rectangle((x0, y0, x1, y1), fill=fill)


def _draw_background(
    canvas: Image.Image,
    scene: Scene,
    rng: np.random.Generator,
    config: SynthVIConfig,
    fill: FillFunction,
    n_clutter: tuple[int, int],
) -> None:
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas)
    jitter = rng.uniform(-0.06, 0.06, size=3)
    draw.rectangle((0, 0, width, height), fill=fill(tuple(np.clip(np.add(scene.wall, jitter), 0, 1)), scene.wall_heat))
    offset_x, offset_y = rng.uniform(-0.35, 0.35), rng.uniform(-0.05, 0.05)
    for kind, x0, y0, x1, y1, rgb, heat in scene.shapes:
        box = (
            (x0 + offset_x) * width,
            (y0 + offset_y) * height,
            (x1 + offset_x) * width,
            (y1 + offset_y) * height,
        )
        _draw_shape(draw, kind, box, fill(rgb, heat))
    floor_y = (scene.floor_y + rng.uniform(-0.03, 0.03)) * height
    draw.rectangle((0, floor_y, width, height), fill=fill(scene.floor, scene.floor_heat))
    low, high = n_clutter
    n = int(round(rng.integers(low, high + 1) * config.clutter))
    for _ in range(n):
        kind = str(rng.choice(["rect", "disc", "line"]))
        x0, y0 = rng.uniform(-0.1, 1.0) * width, rng.uniform(0.0, 1.0) * height
        size = rng.uniform(0.06, 0.35) * width
        box = (x0, y0, x0 + size, y0 + size * rng.uniform(0.3, 1.6))
        rgb = tuple(float(c) for c in 0.6 * rng.uniform(0.05, 0.95, size=3) + 0.4 * np.asarray(scene.wall))
        heat = float(rng.uniform(-0.08, 0.12))
        _draw_shape(draw, kind, box, fill(rgb, heat))


def _draw_occluder(canvas: Image.Image, bbox: dict[str, float], rng: np.random.Generator, fill: FillFunction) -> None:
    draw = ImageDraw.Draw(canvas)
    person_h = bbox["bottom"] - bbox["top"]
    person_w = bbox["right"] - bbox["left"]
    rgb = tuple(float(c) for c in rng.uniform(0.1, 0.8, size=3))
    heat = float(rng.uniform(-0.05, 0.2))
    if rng.uniform() < 0.5:  # something low in front: bench, bin, car bonnet
        top = bbox["bottom"] - rng.uniform(0.18, 0.38) * person_h
        left = bbox["left"] - rng.uniform(0.0, 0.5) * person_w
        right = bbox["right"] + rng.uniform(-0.3, 0.5) * person_w
        draw.rectangle((left, top, right, canvas.size[1]), fill=fill(rgb, heat))
    else:  # something at the side: pillar, door frame, passer-by
        cover = rng.uniform(0.2, 0.4) * person_w
        if rng.uniform() < 0.5:
            box = (bbox["left"] - person_w, 0, bbox["left"] + cover, canvas.size[1])
        else:
            box = (bbox["right"] - cover, 0, bbox["right"] + person_w, canvas.size[1])
        draw.rectangle(box, fill=fill(rgb, heat))


def _visible_paint(person: Identity) -> dict[str, Fill]:
    return {
        "skin": _rgb8(person.skin),
        "hair": _rgb8(person.hair_colour),
        "cap": _rgb8(person.cap_colour),
        "upper": _rgb8(person.upper_colour),
        "upper2": _rgb8(person.upper_colour2),
        "lower": _rgb8(person.lower_colour),
        "shoe": _rgb8(person.shoe_colour),
        "bag": _rgb8(person.bag_colour),
        "belt": _rgb8(person.belt_colour),
        "print": _rgb8(person.print_ink),
        "reflective": _rgb8(REFLECTIVE_VISIBLE),
    }


def infrared_paint(
    person: Identity, ambient: float, ir_lum_mix: float, response: str = "near_infrared"
) -> dict[str, float]:
    """Infrared intensity in [0, 1] of each body part for a scene at `ambient` intensity.

    Bare skin is brightest; a garment shows a fraction t of the skin-to-ambient contrast,
    t = (1 - ir_lum_mix) * fabric term + ir_lum_mix * (0.2 + 0.7 * dye response of its colour), where the
    dye response is :func:`near_infrared_response` (``response="near_infrared"``) or the Rec. 601
    luminance (``"luminance"``, generator 1.2). Pigments (print inks, and shoes when
    ``person.pigment_shoes``) follow their visible luminance instead (:func:`pigment_transmission`);
    retroreflective trim returns the camera's illuminator and is brighter than skin (1.0).
    """
    skin = 0.62 + 0.35 * person.skin_heat
    dye = near_infrared_response if response == "near_infrared" else luminance

    def through(transmission: float, colour: RGB) -> float:
        t = (1.0 - ir_lum_mix) * transmission + ir_lum_mix * (0.2 + 0.7 * dye(colour))
        return ambient + (skin - ambient) * t

    return {
        "skin": skin,
        "hair": ambient + (skin - ambient) * person.hair_heat,
        "cap": through(0.4, person.cap_colour),
        "upper": through(person.upper_transmission, person.upper_colour),
        "upper2": through(person.upper2_transmission, person.upper_colour2),
        "lower": through(person.lower_transmission, person.lower_colour),
        "shoe": ambient
        + (skin - ambient) * (pigment_transmission(person.shoe_colour) if person.pigment_shoes else person.shoe_heat),
        "bag": ambient + (skin - ambient) * person.bag_heat,
        "belt": through(0.35, person.belt_colour),
        "print": ambient + (skin - ambient) * pigment_transmission(person.print_ink)
        if person.print_pigment
        else through(0.4, person.print_ink),
        "reflective": 1.0,
    }


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] floats to uint8 with rounding (values clipped)."""
    return np.clip(image * np.float32(255.0) + np.float32(0.5), 0.0, 255.0).astype(np.uint8)


def _reduce(canvas: Image.Image, config: SynthVIConfig) -> np.ndarray:
    small = canvas.resize((config.width, config.height), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def render_visible(
    person: Identity,
    camera: CameraSpec,
    scene: Scene,
    pose: Pose,
    rng: np.random.Generator,
    config: SynthVIConfig,
    occluded: bool,
) -> np.ndarray:
    """Visible image as uint8 array [H, W, 3]."""
    canvas = Image.new("RGB", (2 * config.width, 2 * config.height))

    def fill(rgb: RGB, heat: float) -> Fill:
        return _rgb8(rgb)

    _draw_background(canvas, scene, rng, config, fill, (4, 9))
    bbox = draw_person(canvas, person, pose, _visible_paint(person))
    if occluded:
        _draw_occluder(canvas, bbox, rng, fill)
    image = _reduce(canvas, config)
    gain = np.asarray(camera.cast, dtype=np.float32) * camera.brightness * rng.uniform(0.85, 1.15)
    slope = rng.uniform(-0.25, 0.25)
    gradient = 1.0 + slope * (np.linspace(0.0, 1.0, config.width, dtype=np.float32) - 0.5)
    image *= (gradient[:, None] * gain[None, :]).astype(np.float32)[None]
    sigma = camera.blur * config.height / 128.0
    if sigma > 0:
        image = gaussian_filter(image, sigma=(sigma, sigma, 0))
    image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(camera.noise)
    return _to_uint8(image)


def render_infrared(
    person: Identity,
    camera: CameraSpec,
    scene: Scene,
    pose: Pose,
    rng: np.random.Generator,
    config: SynthVIConfig,
    occluded: bool,
) -> np.ndarray:
    """Infrared image as uint8 array [H, W, 3] with 3 identical channels."""
    canvas = Image.new("L", (2 * config.width, 2 * config.height))
    ambient = camera.ambient + float(rng.uniform(-0.04, 0.04))

    def fill(rgb: RGB, heat: float) -> Fill:
        return int(round(255 * min(max(ambient + heat, 0.0), 1.0)))

    _draw_background(canvas, scene, rng, config, fill, (2, 6))
    paint = {
        part: int(round(255 * min(max(v, 0.0), 1.0)))
        for part, v in infrared_paint(person, ambient, config.ir_lum_mix, config.ir_response).items()
    }
    bbox = draw_person(canvas, person, pose, paint)
    if occluded:
        _draw_occluder(canvas, bbox, rng, fill)
    image = _reduce(canvas, config)
    sigma = camera.blur * config.ir_degrade * config.height / 128.0
    if sigma > 0:
        image = gaussian_filter(image, sigma=sigma)
    image = image * np.float32(rng.uniform(0.9, 1.1)) + np.float32(rng.uniform(-0.04, 0.04))
    image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(camera.noise * config.ir_degrade)
    gray = _to_uint8(image)
    return np.repeat(gray[:, :, None], 3, axis=2)


def render_image(
    person: Identity,
    camera: CameraSpec,
    scene: Scene,
    pose: Pose,
    rng: np.random.Generator,
    config: SynthVIConfig,
) -> np.ndarray:
    """One image of `person` seen by `camera` as uint8 array [H, W, 3] (infrared: equal channels).

    `rng` drives background, occlusion and sensor randomness; `pose` is drawn by the caller so that
    paired cameras (RegDB) can share it.
    """
    occluded = bool(rng.uniform() < config.occlusion_prob)
    renderer = render_visible if camera.modality == VISIBLE else render_infrared
    return renderer(person, camera, scene, pose, rng, config, occluded)
