"""Measure a PNG the way a reader's eye would: is anything drawn, and did it change?

Shared by the headless panel test (tests/test_viz.py) and the real-browser test (tests/test_browser.py).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# A drawn panel (two bar charts with titles and axes) covers far more than this (about 0.25; empty axes
# with a title about 0.03); a blank, plain white, fully transparent or title-only image covers less.
MIN_NON_WHITE = 0.05
MIN_STD = 12.0


def png_pixels(data: bytes) -> np.ndarray:
    """The PNG ``data`` as uint8 RGB [H, W, 3], composited on white (transparent pixels count as white)."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG", f"not a PNG: {image.format}"
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float64)
    alpha = rgba[..., 3:4] / 255.0
    return np.round(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def png_stats(data: bytes) -> dict[str, float]:
    """Width, height, grey-level standard deviation, share of non-white pixels, and the share of
    non-white pixels below the top 12 % of the image (where a figure title sits)."""
    pixels = png_pixels(data)
    grey = pixels.mean(axis=2)
    non_white = grey < 245
    body = non_white[int(0.12 * len(non_white)) :]
    return {
        "width": float(pixels.shape[1]),
        "height": float(pixels.shape[0]),
        "std": float(grey.std()),
        "non_white": float(non_white.mean()),
        "non_white_below_title": float(body.mean()),
    }


def assert_drawn(data: bytes, what: str = "figure") -> dict[str, float]:
    """Fail unless the PNG holds a real drawing (not blank, white, transparent or title only)."""
    stats = png_stats(data)
    assert stats["std"] >= MIN_STD and stats["non_white"] >= MIN_NON_WHITE, f"{what} looks blank: {stats}"
    assert stats["non_white_below_title"] >= MIN_NON_WHITE, f"{what} holds little more than a title: {stats}"
    return stats


def pixel_change(before: bytes, after: bytes) -> float:
    """Share of pixels that differ between two PNGs (1.0 when their sizes differ)."""
    a, b = png_pixels(before), png_pixels(after)
    if a.shape != b.shape:
        return 1.0
    return float(np.any(a != b, axis=2).mean())
