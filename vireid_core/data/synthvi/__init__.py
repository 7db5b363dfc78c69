"""SynthVI: a seeded procedural visible/infrared pedestrian dataset written in real dataset layouts.

Public API:
    SynthVIConfig                        - what to draw (`SynthVIConfig()`, `.tiny()`, `.hires()`)
    write_dataset(out_dir, layout, cfg)  - layout "sysu" (SYSU-MM01) or "regdb" (RegDB)
    write_sysu_layout / write_regdb_layout / write_source_set
    contact_sheet(out_png, cfg, n_identities)
    SynthWorld                           - identities, cameras and per-image rendering in memory
"""

from vireid_core.data.synthvi.config import GENERATOR_VERSION, SynthVIConfig
from vireid_core.data.synthvi.contact_sheet import contact_sheet
from vireid_core.data.synthvi.generator import SynthWorld
from vireid_core.data.synthvi.identities import Identity
from vireid_core.data.synthvi.layouts import (
    LAYOUTS,
    write_dataset,
    write_regdb_layout,
    write_source_set,
    write_sysu_layout,
)

__all__ = [
    "GENERATOR_VERSION",
    "LAYOUTS",
    "Identity",
    "SynthVIConfig",
    "SynthWorld",
    "contact_sheet",
    "write_dataset",
    "write_regdb_layout",
    "write_source_set",
    "write_sysu_layout",
]
