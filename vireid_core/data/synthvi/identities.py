"""Random person identities: body shape, colours, garment structure and thermal signature.

Colour is visible-only; structure (pattern, sleeves, lower-garment type, hair style, bag, body shape)
shows in both modalities; each garment's infrared fabric term is drawn independently of its colour.
Generator 1.4 adds pigment cues (prints, retroreflective trim, shoes) that keep their contrast in both.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, fields, replace

import numpy as np

from vireid_core.data.synthvi.pigments import PIGMENT_FAMILIES, sample_pigment_cues

RGB = tuple[float, float, float]

SKIN_TONES: tuple[RGB, ...] = (
    (0.98, 0.84, 0.72),
    (0.93, 0.76, 0.62),
    (0.84, 0.64, 0.48),
    (0.72, 0.52, 0.36),
    (0.55, 0.38, 0.26),
    (0.38, 0.26, 0.18),
)
HAIR_COLOURS: tuple[RGB, ...] = (
    (0.08, 0.06, 0.05),
    (0.22, 0.14, 0.08),
    (0.42, 0.27, 0.14),
    (0.72, 0.58, 0.34),
    (0.55, 0.22, 0.10),
    (0.62, 0.62, 0.62),
)
HAIR_STYLES = ("short", "long", "bald", "cap", "hood")
UPPER_PATTERNS = ("plain", "stripes", "blocks")
BLOCK_KINDS = ("top_bottom", "left_right", "chest")
LOWER_KINDS = ("trousers", "shorts", "skirt")
BAG_KINDS = ("none", "backpack", "shoulder", "hand")


@dataclass(frozen=True)
class Identity:
    """One synthetic person. Lengths are fractions of the frame height; colours RGB in [0, 1];
    thermal values are fractions of the way from ambient (0) to skin temperature (1)."""

    # body shape
    height: float
    build: float
    head: float
    leg_fraction: float
    female: bool
    # visible colours
    skin: RGB
    hair_colour: RGB
    upper_colour: RGB
    upper_colour2: RGB
    lower_colour: RGB
    shoe_colour: RGB
    bag_colour: RGB
    cap_colour: RGB
    belt_colour: RGB
    # structure (both modalities)
    hair_style: str
    upper_pattern: str
    n_stripes: int
    block_kind: str
    long_sleeves: bool
    chest_mark: bool
    lower_kind: str
    belt: bool
    bag_kind: str
    bag_side: int
    # thermal signature (independent of colour)
    skin_heat: float
    hair_heat: float
    upper_transmission: float
    upper2_transmission: float
    lower_transmission: float
    shoe_heat: float
    bag_heat: float
    # pigment cues (generator 1.4, `pigments.py`); the defaults draw nothing, as generator 1.3
    print_kind: str = "none"
    print_ink: RGB = (1.0, 1.0, 1.0)
    print_pigment: bool = True
    print_size: float = 0.0
    print_height: float = 0.0
    print_offset: float = 0.0
    back_print: bool = False
    reflective: str = "none"
    pigment_shoes: bool = False

    def as_tuple(self) -> tuple:
        """All attributes as a hashable tuple (for equality checks between sets)."""
        return tuple(getattr(self, f.name) for f in fields(self))


def _hsv(rng: np.random.Generator, s: tuple[float, float], v: tuple[float, float]) -> RGB:
    rgb = colorsys.hsv_to_rgb(float(rng.uniform()), float(rng.uniform(*s)), float(rng.uniform(*v)))
    return (round(rgb[0], 4), round(rgb[1], 4), round(rgb[2], 4))


def _garment_colour(rng: np.random.Generator) -> RGB:
    """Mostly saturated colours, some dark / near-neutral ones, as on real streets."""
    u = rng.uniform()
    if u < 0.2:
        grey = float(rng.uniform(0.08, 0.9))
        return (round(grey, 4),) * 3  # type: ignore[return-value]
    if u < 0.35:
        return _hsv(rng, (0.3, 0.7), (0.12, 0.35))
    return _hsv(rng, (0.35, 0.95), (0.35, 0.95))


def _pick(rng: np.random.Generator, options: tuple, p: list[float] | None = None):
    return options[int(rng.choice(len(options), p=p))]


def _transmission(rng: np.random.Generator) -> float:
    return round(float(rng.uniform(0.30, 0.85)), 4)


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw one identity with independent attributes. Returns a frozen `Identity`."""
    female = bool(rng.uniform() < 0.5)
    hair_style = _pick(rng, HAIR_STYLES, [0.3, 0.4, 0.06, 0.16, 0.08] if female else [0.55, 0.08, 0.12, 0.18, 0.07])
    lower_kind = _pick(rng, LOWER_KINDS, [0.45, 0.2, 0.35] if female else [0.75, 0.25, 0.0])
    upper_pattern = _pick(rng, UPPER_PATTERNS, [0.4, 0.3, 0.3])
    upper_colour = _garment_colour(rng)
    upper_colour2 = _garment_colour(rng)
    while upper_pattern != "plain" and sum(abs(a - b) for a, b in zip(upper_colour, upper_colour2, strict=True)) < 0.5:
        upper_colour2 = _garment_colour(rng)
    t_upper = _transmission(rng)
    t_upper2 = _transmission(rng)
    while abs(t_upper2 - t_upper) < 0.15:
        t_upper2 = _transmission(rng)
    bag_kind = _pick(rng, BAG_KINDS, [0.4, 0.25, 0.2, 0.15])
    return Identity(
        height=round(float(rng.uniform(0.76, 0.96)), 4),
        build=round(float(rng.uniform(0.75, 1.30)) * (0.92 if female else 1.0), 4),
        head=round(float(rng.uniform(0.85, 1.2)), 4),
        leg_fraction=round(float(rng.uniform(0.46, 0.54)), 4),
        female=female,
        skin=SKIN_TONES[int(rng.integers(len(SKIN_TONES)))],
        hair_colour=HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))],
        upper_colour=upper_colour,
        upper_colour2=upper_colour2,
        lower_colour=_garment_colour(rng) if rng.uniform() < 0.6 else _hsv(rng, (0.4, 0.8), (0.15, 0.5)),
        shoe_colour=_hsv(rng, (0.0, 0.5), (0.05, 0.9)),
        bag_colour=_garment_colour(rng),
        cap_colour=_garment_colour(rng),
        belt_colour=_hsv(rng, (0.0, 0.6), (0.05, 0.5)),
        hair_style=hair_style,
        upper_pattern=upper_pattern,
        n_stripes=int(rng.integers(3, 7)),
        block_kind=_pick(rng, BLOCK_KINDS),
        long_sleeves=bool(rng.uniform() < 0.55),
        chest_mark=bool(rng.uniform() < 0.2),
        lower_kind=lower_kind,
        belt=bool(lower_kind != "skirt" and rng.uniform() < 0.3),
        bag_kind=bag_kind,
        bag_side=int(rng.choice([-1, 1])),
        skin_heat=round(float(rng.uniform(0.90, 1.0)), 4),
        hair_heat=round(float(rng.uniform(0.5, 0.7)), 4),
        upper_transmission=t_upper,
        upper2_transmission=t_upper2,
        lower_transmission=_transmission(rng),
        shoe_heat=round(float(rng.uniform(0.1, 0.3)), 4),
        bag_heat=round(float(rng.uniform(0.02, 0.15)), 4),
    )


# Attribute families a look-alike shares with its group's template.
_SHARED_FAMILIES: dict[str, tuple[str, ...]] = {
    "upper": ("upper_colour", "upper_colour2", "upper_pattern", "n_stripes", "block_kind", "long_sleeves"),
    "lower": ("lower_colour", "lower_kind", "shoe_colour"),
    "hair": ("hair_style", "hair_colour", "cap_colour"),
    "bag": ("bag_kind", "bag_colour", "bag_side"),
    "shape": ("height", "build"),
}
# The fabric (infrared) terms of each family's garments: a copied garment is the same material.
_FABRIC_TERMS: dict[str, tuple[str, ...]] = {
    "upper": ("upper_transmission", "upper2_transmission"),
    "lower": ("lower_transmission", "shoe_heat"),
    "bag": ("bag_heat",),
}


def sample_identities(
    rng: np.random.Generator,
    n: int,
    lookalike_group_size: int = 3,
    *,
    same_fabric: bool = True,
    pigment_rng: np.random.Generator | None = None,
) -> list[Identity]:
    """Draw `n` identities in look-alike groups of `lookalike_group_size` consecutive identities.

    Each member after a group's first copies 2-3 attribute families (upper garment, lower garment,
    hair, bag, body shape; the upper garment most often) from the group's first member, so that
    colour or pattern alone does not identify a person. With `same_fabric` a copied garment also
    keeps the template's fabric (infrared) terms: the same garment looks the same in both modalities.
    With `pigment_rng` (generator 1.4) each person also gets pigment cues (prints, retroreflective trim,
    pigment-coloured shoes; `pigments.sample_pigment_cues`) drawn from that separate stream, so the
    other attributes stay those of generator 1.3; a copied upper garment keeps its print and trim.
    Returns a list of length `n`.
    """
    if n < 0:
        raise ValueError(f"number of identities must be >= 0, got {n}")
    if lookalike_group_size < 1:
        raise ValueError(f"lookalike_group_size must be >= 1, got {lookalike_group_size}")
    families = tuple(_SHARED_FAMILIES)
    weights = np.array([0.4, 0.2, 0.15, 0.1, 0.15])
    people: list[Identity] = []
    template: Identity | None = None
    for index in range(n):
        person = sample_identity(rng)
        if pigment_rng is not None:
            person = replace(person, **sample_pigment_cues(pigment_rng))
        if index % lookalike_group_size == 0:
            template = person
        else:
            assert template is not None
            n_shared = int(rng.integers(2, 4))
            chosen = rng.choice(len(families), size=n_shared, replace=False, p=weights)
            names = [name for family in chosen for name in _SHARED_FAMILIES[families[int(family)]]]
            if same_fabric:
                names += [name for family in chosen for name in _FABRIC_TERMS.get(families[int(family)], ())]
            if pigment_rng is not None:
                names += [name for family in chosen for name in PIGMENT_FAMILIES.get(families[int(family)], ())]
            changes = {name: getattr(template, name) for name in names}
            person = replace(person, **changes)
            if person.lower_kind == "skirt" and person.belt:
                person = replace(person, belt=False)
        people.append(person)
    return people
