"""Contact sheet: identities as rows, visible cameras then infrared cameras as columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vireid_core.data.records import VISIBLE
from vireid_core.data.synthvi.cameras import SYSU_CAMERAS
from vireid_core.data.synthvi.config import STREAM_TARGET, SynthVIConfig
from vireid_core.data.synthvi.generator import SynthWorld

_SCALE = 2


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def contact_sheet(
    out_png: str | Path, config: SynthVIConfig | None = None, n_identities: int = 8, image_index: int = 0
) -> Path:
    """Write a PNG grid of the first `n_identities` SYSU-layout identities.

    Columns are visible cameras 1, 2, 4, 5 then infrared cameras 3, 6 (every camera is shown, even
    one a person is absent from in the written set); cells are shown at 2x. Returns the PNG path.
    """
    config = config or SynthVIConfig()
    if not 1 <= n_identities <= config.n_target_ids:
        raise ValueError(f"n_identities must be in 1..{config.n_target_ids}, got {n_identities}")
    out_png = Path(out_png)
    if out_png.suffix.lower() != ".png":
        raise ValueError(f"contact sheet path must end in .png, got {out_png}")
    world = SynthWorld.build(config, STREAM_TARGET, n_identities, SYSU_CAMERAS)
    cams = [c for c in SYSU_CAMERAS if c.modality == VISIBLE] + [c for c in SYSU_CAMERAS if c.modality != VISIBLE]
    cell_w, cell_h = config.width * _SCALE, config.height * _SCALE
    gap, group_gap, margin_left, header = 6, 24, 70, 70
    sheet_w = margin_left + len(cams) * (cell_w + gap) + group_gap
    sheet_h = header + n_identities * (cell_h + gap)
    sheet = Image.new("RGB", (sheet_w, sheet_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    title = (
        f"SynthVI - {n_identities} identities (rows); visible cams 1,2,4,5 | infrared cams 3,6 "
        f"(ir_lum_mix {config.ir_lum_mix}, ir_degrade {config.ir_degrade}, seed {config.seed})"
    )
    draw.text((10, 8), title, fill=(0, 0, 0), font=_font(16))
    for col, spec in enumerate(cams):
        x = margin_left + col * (cell_w + gap) + (group_gap if spec.modality != VISIBLE else 0)
        label = f"cam{spec.cam} {'VIS' if spec.modality == VISIBLE else 'IR'}"
        draw.text((x + 4, header - 24), label, fill=(0, 0, 0), font=_font(14))
        for row in range(n_identities):
            pixels = world.render(row + 1, spec.cam, image_index)
            cell = Image.fromarray(np.ascontiguousarray(pixels)).resize((cell_w, cell_h), Image.Resampling.NEAREST)
            sheet.paste(cell, (x, header + row * (cell_h + gap)))
    for row in range(n_identities):
        draw.text(
            (10, header + row * (cell_h + gap) + cell_h // 2 - 8),
            f"id {row + 1}",
            fill=(0, 0, 0),
            font=_font(14),
        )
    out_png.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out_png, format="PNG", optimize=True)
    return out_png
