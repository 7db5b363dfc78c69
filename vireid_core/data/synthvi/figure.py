"""Geometry of one stylised pedestrian, drawn with PIL onto any canvas (RGB or grayscale).

The same geometry serves both modalities: the caller passes a `paint` mapping from body part to
fill value (an RGB tuple for visible images, an intensity for infrared ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from vireid_core.data.synthvi.identities import Identity

Fill = int | tuple[int, int, int]

PARTS = ("skin", "hair", "cap", "upper", "upper2", "lower", "shoe", "bag", "belt", "print", "reflective")


@dataclass(frozen=True)
class Pose:
    """Per-image jitter. Shifts are fractions of the frame width / height."""

    shift_x: float
    shift_y: float
    scale: float
    mirror: bool
    stride: float
    arm_swing: float
    view_width: float
    back_view: bool


def sample_pose(rng: np.random.Generator) -> Pose:
    """Draw a small random pose change (scale +-5 %, so height and build stay cues)."""
    return Pose(
        shift_x=float(rng.uniform(-0.0625, 0.0625)),
        shift_y=float(rng.uniform(-0.025, 0.02)),
        scale=float(rng.uniform(0.95, 1.05)),
        mirror=bool(rng.uniform() < 0.5),
        stride=float(rng.uniform(0.0, 0.06)),
        arm_swing=float(rng.uniform(-0.05, 0.05)),
        view_width=float(rng.uniform(0.88, 1.04)),
        back_view=bool(rng.uniform() < 0.3),
    )


def _mask_like(canvas: Image.Image) -> Image.Image:
    return Image.new("L", canvas.size, 0)


def _limb(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], width: float, fill: Fill) -> None:
    draw.line(points, fill=fill, width=max(1, int(round(width))), joint="curve")
    r = width / 2.0
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def _print_mask(size: tuple[int, int], kind: str, cx: float, cy: float, s: float) -> Image.Image:
    """A mask (255 inside) of one print shape of width `s` centred at (cx, cy)."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    if kind == "disc":
        draw.ellipse((cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2), fill=255)
    elif kind == "square":
        draw.rectangle((cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2), fill=255)
    elif kind == "bar":
        draw.rectangle((cx - s / 2, cy - 0.15 * s, cx + s / 2, cy + 0.15 * s), fill=255)
    elif kind == "two_bars":
        for dy in (-0.2 * s, 0.2 * s):
            draw.rectangle((cx - s / 2, cy + dy - 0.1 * s, cx + s / 2, cy + dy + 0.1 * s), fill=255)
    elif kind == "triangle":
        draw.polygon([(cx, cy - s / 2), (cx + s / 2, cy + s / 2), (cx - s / 2, cy + s / 2)], fill=255)
    return mask


def _draw_pigment_cues(
    canvas: Image.Image,
    person: Identity,
    front: bool,
    torso_mask: Image.Image,
    frame: tuple,
    paint: dict[str, Fill],
) -> None:
    """Prints (front, or back when `person.back_print`) and retroreflective trim, clipped to the torso."""
    X, shoulder_y, hip_y, sh_hw = frame  # noqa: N806 - the caller's mirrored x mapping
    torso_h = hip_y - shoulder_y
    if person.print_kind != "none" and (front or person.back_print):
        s = person.print_size * 2 * sh_hw * (1.0 if front else 1.3)
        cx = X(person.print_offset * sh_hw) if front else X(0.0)
        cy = shoulder_y + person.print_height * torso_h
        mask = _print_mask(canvas.size, person.print_kind, cx, cy, s)
        canvas.paste(paint["print"], mask=ImageChops.multiply(torso_mask, mask))
    if person.reflective != "none":
        mask = Image.new("L", canvas.size, 0)
        draw = ImageDraw.Draw(mask)
        band = 0.07 * torso_h
        rows = (0.55, 0.75) if person.reflective == "bands" else (0.08,)
        for row in rows:
            y0 = shoulder_y + row * torso_h
            draw.rectangle((0, y0, canvas.size[0], y0 + band), fill=255)
        canvas.paste(paint["reflective"], mask=ImageChops.multiply(torso_mask, mask))


def draw_person(canvas: Image.Image, person: Identity, pose: Pose, paint: dict[str, Fill]) -> dict[str, float]:
    """Draw `person` in `pose` onto `canvas` (modified in place) with fills from `paint`.

    Returns the person's bounding box in canvas pixels as a dict (left, top, right, bottom), used
    to place occluders.
    """
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas)
    sign = -1.0 if pose.mirror else 1.0
    cx = width / 2.0 + pose.shift_x * width
    h = person.height * pose.scale * height
    feet = height * 0.975 + pose.shift_y * height
    top = feet - h
    bw = person.build * pose.view_width

    def X(dx: float) -> float:  # noqa: N802 - x in person coordinates (mirrored)
        return cx + sign * dx

    r_head = 0.062 * h * person.head
    head_cy = top + r_head
    shoulder_y = head_cy + r_head + 0.035 * h
    hip_y = feet - person.leg_fraction * h
    sh_hw = 0.115 * h * bw
    hip_hw = 0.085 * h * bw
    arm_w = 0.05 * h * np.sqrt(person.build)
    leg_w = 0.06 * h * np.sqrt(person.build)
    leg_len = feet - hip_y
    knee_y = hip_y + 0.5 * leg_len
    front = not pose.back_view

    # Backpack behind the body (front view) sticks out on both sides.
    if person.bag_kind == "backpack" and front:
        left, right = sorted((X(-sh_hw - 0.03 * h), X(sh_hw + 0.03 * h)))
        draw.rectangle((left, shoulder_y + 0.02 * h, right, hip_y - 0.04 * h), fill=paint["bag"])
    # Long hair falls behind the shoulders.
    if person.hair_style == "long":
        left, right = sorted((X(-1.05 * r_head), X(1.05 * r_head)))
        draw.rectangle((left, head_cy, right, shoulder_y + 0.09 * h), fill=paint["hair"])

    # Legs: trousers, shorts (skin below mid-thigh) or skirt (skin below the skirt).
    for side in (-1.0, 1.0):
        hip = (X(side * hip_hw * 0.55), hip_y)
        foot = (X(side * (hip_hw * 0.55 + pose.stride * h * 0.5)), feet - 0.02 * h)
        knee = ((hip[0] + foot[0]) / 2.0, knee_y)
        if person.lower_kind == "trousers":
            _limb(draw, [hip, knee, foot], leg_w, paint["lower"])
        else:
            _limb(draw, [hip, knee, foot], leg_w * 0.85, paint["skin"])
            if person.lower_kind == "shorts":
                thigh = (hip[0] + 0.45 * (foot[0] - hip[0]), hip_y + 0.45 * leg_len)
                _limb(draw, [hip, thigh], leg_w * 1.05, paint["lower"])
        shoe_w = 0.075 * h
        fx, fy = foot
        draw.ellipse((fx - shoe_w / 2, fy - 0.022 * h, fx + shoe_w / 2, fy + 0.022 * h), fill=paint["shoe"])
    if person.lower_kind == "skirt":
        skirt = [
            (X(-hip_hw), hip_y - 0.02 * h),
            (X(hip_hw), hip_y - 0.02 * h),
            (X(hip_hw * 1.45), knee_y + 0.03 * h),
            (X(-hip_hw * 1.45), knee_y + 0.03 * h),
        ]
        draw.polygon(skirt, fill=paint["lower"])
    else:
        left, right = sorted((X(-hip_hw), X(hip_hw)))
        draw.rectangle((left, hip_y - 0.03 * h, right, hip_y + 0.06 * h), fill=paint["lower"])

    # Torso with its pattern.
    torso = [(X(-sh_hw), shoulder_y), (X(sh_hw), shoulder_y), (X(hip_hw), hip_y), (X(-hip_hw), hip_y)]
    draw.polygon(torso, fill=paint["upper"])
    torso_mask = _mask_like(canvas)
    ImageDraw.Draw(torso_mask).polygon(torso, fill=255)
    pattern = _mask_like(canvas)
    pdraw = ImageDraw.Draw(pattern)
    torso_h = hip_y - shoulder_y
    if person.upper_pattern == "stripes":
        band = torso_h / (2 * person.n_stripes)
        for i in range(person.n_stripes):
            y0 = shoulder_y + (2 * i + 1) * band
            pdraw.rectangle((0, y0, width, y0 + band), fill=255)
    elif person.upper_pattern == "blocks":
        if person.block_kind == "top_bottom":
            pdraw.rectangle((0, shoulder_y + 0.55 * torso_h, width, hip_y), fill=255)
        elif person.block_kind == "left_right":
            pdraw.rectangle((min(cx, X(sh_hw * 2)), 0, max(cx, X(sh_hw * 2)), height), fill=255)
        else:
            left, right = sorted((X(-0.45 * sh_hw), X(0.45 * sh_hw)))
            pdraw.rectangle((left, shoulder_y + 0.15 * torso_h, right, shoulder_y + 0.7 * torso_h), fill=255)
    if person.upper_pattern != "plain":
        canvas.paste(paint["upper2"], mask=ImageChops.multiply(torso_mask, pattern))
    if person.chest_mark and front:
        mx, my, mr = X(0.35 * sh_hw), shoulder_y + 0.25 * torso_h, 0.035 * h
        draw.ellipse(
            (mx - mr, my - mr, mx + mr, my + mr),
            fill=paint["upper2"] if person.upper_pattern == "plain" else paint["belt"],
        )
    _draw_pigment_cues(canvas, person, front, torso_mask, (X, shoulder_y, hip_y, sh_hw), paint)
    if person.belt:
        draw.rectangle(
            (min(X(-hip_hw), X(hip_hw)), hip_y - 0.025 * h, max(X(-hip_hw), X(hip_hw)), hip_y),
            fill=paint["belt"],
        )

    # Arms: sleeves (long, or short with skin forearms) and hands.
    for side in (-1.0, 1.0):
        swing = side * pose.arm_swing * h * 0.4
        shoulder = (X(side * (sh_hw - arm_w * 0.35)), shoulder_y + arm_w * 0.5)
        elbow = (
            X(side * (sh_hw + 0.01 * h)) + swing * 0.5,
            shoulder_y + 0.5 * (hip_y - shoulder_y) + 0.02 * h,
        )
        hand = (X(side * (sh_hw + 0.005 * h)) + swing, hip_y + 0.03 * h)
        if person.long_sleeves:
            _limb(draw, [shoulder, elbow, hand], arm_w, paint["upper"])
        else:
            _limb(draw, [elbow, hand], arm_w * 0.85, paint["skin"])
            _limb(draw, [shoulder, elbow], arm_w * 1.05, paint["upper"])
        hr = arm_w * 0.6
        draw.ellipse((hand[0] - hr, hand[1] - hr, hand[0] + hr, hand[1] + hr), fill=paint["skin"])
        if person.bag_kind == "hand" and side == person.bag_side:
            bw_, bh_ = 0.07 * h, 0.06 * h
            draw.rectangle((hand[0] - bw_ / 2, hand[1], hand[0] + bw_ / 2, hand[1] + bh_), fill=paint["bag"])

    # Neck, head, hair.
    neck_hw = 0.3 * r_head
    draw.rectangle((cx - neck_hw, head_cy, cx + neck_hw, shoulder_y + 0.01 * h), fill=paint["skin"])
    head_box = (cx - r_head, head_cy - r_head, cx + r_head, head_cy + r_head)
    style = person.hair_style
    if style == "hood":
        big = 1.22 * r_head
        draw.ellipse((cx - big, head_cy - big, cx + big, head_cy + big * 0.95), fill=paint["upper"])
        if front:
            small = 0.78 * r_head
            draw.ellipse((cx - small, head_cy - small * 0.8, cx + small, head_cy + small), fill=paint["skin"])
    elif not front and style in ("short", "long"):
        draw.ellipse(head_box, fill=paint["hair"])
    else:
        draw.ellipse(head_box, fill=paint["skin"])
        if style in ("short", "long"):
            draw.chord(head_box, 180, 360, fill=paint["hair"])
            if style == "long":
                draw.chord(head_box, 160, 380, fill=paint["hair"])
        elif style == "cap":
            cap_box = (
                head_box[0] - 0.05 * r_head,
                head_box[1] - 0.08 * r_head,
                head_box[2] + 0.05 * r_head,
                head_box[3],
            )
            draw.chord(cap_box, 180, 360, fill=paint["cap"])
            if front:
                brim = (X(-0.2 * r_head), head_cy - 0.12 * r_head, X(1.35 * r_head), head_cy + 0.08 * r_head)
                draw.rectangle((min(brim[0], brim[2]), brim[1], max(brim[0], brim[2]), brim[3]), fill=paint["cap"])

    # Bags in front: backpack straps / full backpack on the back; shoulder bag with strap.
    if person.bag_kind == "backpack":
        if front:
            for side in (-1.0, 1.0):
                _limb(
                    draw,
                    [(X(side * sh_hw * 0.55), shoulder_y), (X(side * sh_hw * 0.5), hip_y - 0.06 * h)],
                    0.018 * h,
                    paint["bag"],
                )
        else:
            draw.rounded_rectangle(
                (
                    min(X(-sh_hw * 0.8), X(sh_hw * 0.8)),
                    shoulder_y + 0.03 * h,
                    max(X(-sh_hw * 0.8), X(sh_hw * 0.8)),
                    hip_y - 0.02 * h,
                ),
                radius=0.03 * h,
                fill=paint["bag"],
            )
    elif person.bag_kind == "shoulder":
        bag_x = X(person.bag_side * (hip_hw + 0.03 * h))
        _limb(
            draw,
            [(X(-person.bag_side * sh_hw * 0.7), shoulder_y + 0.005 * h), (bag_x, hip_y - 0.03 * h)],
            0.016 * h,
            paint["bag"],
        )
        draw.rectangle((bag_x - 0.055 * h, hip_y - 0.04 * h, bag_x + 0.055 * h, hip_y + 0.05 * h), fill=paint["bag"])

    xs = [X(-sh_hw - 0.06 * h), X(sh_hw + 0.06 * h)]
    return {"left": min(xs), "top": top, "right": max(xs), "bottom": feet}
