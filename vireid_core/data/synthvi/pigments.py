"""Pigment cues (generator 1.4): prints, retroreflective trim and shoes, which look alike in both modalities.

Why these cues exist. A garment's colour comes from organic dyes, and many dyes are partly transparent
to near-infrared light, so a dyed garment's infrared brightness follows its visible colour only in part
(``ir_lum_mix``). Other things people wear are coloured with *pigments*: screen-print inks (titanium
white, carbon black), rubber soles and leather finishes (carbon black, white fillers). Carbon black
absorbs near-infrared light as it absorbs visible light and titanium white reflects both, so a white
logo on a dark shirt, a black print on a white one, or white trainers keep their contrast in an
infrared image. Retroreflective trim (sports and work jackets, trainers) returns the camera's own
infrared illuminator and is the brightest thing in an infrared frame; by day it looks light silver.

These are identity cues that both modalities share, so a model that learns a person from visible
images alone also learns something that holds in infrared, as on real visible-infrared data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

RGB = tuple[float, float, float]

PRINT_KINDS = ("none", "disc", "square", "bar", "two_bars", "triangle")

# Which look-alike family carries each pigment field: a copied garment keeps its print and trim.
PIGMENT_FAMILIES: dict[str, tuple[str, ...]] = {
    "upper": (
        "print_kind",
        "print_ink",
        "print_pigment",
        "print_size",
        "print_height",
        "print_offset",
        "back_print",
        "reflective",
    ),
}

REFLECTIVE_VISIBLE: RGB = (0.78, 0.79, 0.82)


def _ink(rng: np.random.Generator) -> tuple[RGB, bool]:
    """A print ink: white or black pigment (most screen prints), else a coloured ink that behaves like a dye."""
    u = rng.uniform()
    if u < 0.45:
        return (0.93, 0.93, 0.92), True
    if u < 0.75:
        return (0.07, 0.07, 0.08), True
    rgb = tuple(round(float(c), 4) for c in rng.uniform(0.1, 0.95, size=3))
    return rgb, False  # type: ignore[return-value]


def sample_pigment_cues(rng: np.random.Generator) -> dict[str, Any]:
    """Draw one person's pigment cues. Returns a dict of Identity field values (the pigment fields).

    Their Identity defaults draw nothing (generator 1.3).

    Half of the upper garments carry a front print (a disc, square, text bar, two bars or triangle
    of 25-60 % of the torso width, centred or on the left chest); a quarter a back print; one in
    eight has retroreflective trim (two bands round the torso and sleeves, or shoulder panels).
    Every person's shoes are pigment-coloured (their infrared brightness follows their visible one).
    """
    has_print = bool(rng.uniform() < 0.5)
    kind = str(PRINT_KINDS[1 + int(rng.integers(len(PRINT_KINDS) - 1))]) if has_print else "none"
    ink, pigment = _ink(rng)
    centred = bool(rng.uniform() < 0.6)
    size = float(rng.uniform(0.25, 0.6)) if centred else float(rng.uniform(0.2, 0.3))
    u = rng.uniform()
    reflective = "none" if u >= 0.125 else ("bands" if u < 0.08 else "shoulders")
    return {
        "print_kind": kind,
        "print_ink": ink,
        "print_pigment": pigment,
        "print_size": round(size, 4),
        "print_height": round(float(rng.uniform(0.22, 0.5)), 4),
        "print_offset": 0.0 if centred else 0.45,
        "back_print": bool(has_print and rng.uniform() < 0.5),
        "reflective": reflective,
        "pigment_shoes": True,
    }
