"""SynthVI: determinism, official layouts (SYSU-MM01, RegDB), source-set disjointness, bad arguments."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vireid_core.data.synthvi import (
    SynthVIConfig,
    SynthWorld,
    contact_sheet,
    write_dataset,
    write_regdb_layout,
    write_source_set,
)
from vireid_core.data.synthvi.cameras import SYSU_CAMERAS
from vireid_core.data.synthvi.config import STREAM_SOURCE, STREAM_TARGET
from vireid_core.data.synthvi.figure import sample_pose
from vireid_core.data.synthvi.generator import sysu_presence
from vireid_core.data.synthvi.identities import sample_identities
from vireid_core.data.synthvi.render import infrared_paint, luminance, near_infrared_response, render_image

TINY = SynthVIConfig.tiny()
VISIBLE_CAMS, INFRARED_CAMS = (1, 2, 4, 5), (3, 6)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _ids(path: Path) -> list[int]:
    line = path.read_text().splitlines()[0]
    return [int(x) for x in line.split(",") if x.strip()]


@pytest.fixture(scope="module")
def sysu_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("sysu"), "sysu", TINY, progress=False)


@pytest.fixture(scope="module")
def regdb_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("regdb"), "regdb", TINY, progress=False)


def test_same_seed_gives_identical_bytes_and_other_seed_differs(sysu_root: Path, tmp_path: Path) -> None:
    again = write_dataset(tmp_path / "again", "sysu", TINY, progress=False)
    assert _digest(again) == _digest(sysu_root)
    other = write_dataset(tmp_path / "other", "sysu", SynthVIConfig.tiny(seed=1), progress=False)
    shared = set(_digest(other)) & set(_digest(sysu_root))
    images = [name for name in shared if name.endswith(".jpg")]
    assert images
    assert sum(_digest(other)[n] != _digest(sysu_root)[n] for n in images) == len(images)


def test_sysu_layout_folders_names_and_splits(sysu_root: Path) -> None:
    for cam in range(1, 7):
        assert (sysu_root / f"cam{cam}").is_dir()
    files = sorted(sysu_root.glob("cam*/*/*.jpg"))
    assert files
    for path in files:
        assert re.fullmatch(r"cam[1-6]/\d{4}/\d{4}\.jpg", str(path.relative_to(sysu_root)))
        # the fixed-position parsing of the reference loaders
        full = str(path)
        assert full[-15] == path.parent.parent.name[-1] and full[-13:-9] == path.parent.name
    for folder in sysu_root.glob("cam*/*"):
        numbers = sorted(int(p.stem) for p in folder.glob("*.jpg"))
        assert numbers == list(range(1, len(numbers) + 1))
    train, val, test = (_ids(sysu_root / "exp" / f"{s}_id.txt") for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (TINY.n_train_ids, TINY.n_val_ids, TINY.n_test_ids)
    assert not (set(train) & set(val) or set(train) & set(test) or set(val) & set(test))
    available = _ids(sysu_root / "exp" / "available_id.txt")
    assert sorted(train + val + test) == available == list(range(1, TINY.n_target_ids + 1))
    for pid in available:
        present = {int(p.parent.name[3:]) for p in sysu_root.glob(f"cam*/{pid:04d}")}
        assert present & set(VISIBLE_CAMS) and present & set(INFRARED_CAMS), pid
    manifest = json.loads((sysu_root / "synthvi.json").read_text())
    assert manifest["complete"] and manifest["config"] == TINY.to_dict()
    assert manifest["counts"]["visible_images"] + manifest["counts"]["infrared_images"] == len(files)


def test_infrared_images_are_gray_in_three_channels(sysu_root: Path) -> None:
    for cam in INFRARED_CAMS:
        for path in sorted(sysu_root.glob(f"cam{cam}/*/*.jpg"))[:5]:
            image = Image.open(path)
            assert image.mode == "RGB" and image.size == (TINY.width, TINY.height)
            pixels = np.asarray(image)
            assert np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 0], pixels[..., 2])
    visible = np.asarray(Image.open(sorted(sysu_root.glob("cam4/*/*.jpg"))[0]))
    assert not np.array_equal(visible[..., 0], visible[..., 2])


def test_presence_keeps_both_modalities_and_indoor_cams_together() -> None:
    config = SynthVIConfig(seed=3, p_absent_camera=0.5, p_absent_indoor=0.5)
    presence = sysu_presence(config, STREAM_TARGET, 300, SYSU_CAMERAS)
    for cams in presence.values():
        assert set(cams) & set(VISIBLE_CAMS) and set(cams) & set(INFRARED_CAMS)
        assert (1 in cams) == (2 in cams)
        assert sum(n for c, n in cams.items() if c in VISIBLE_CAMS) == 4 * config.visible_per_camera
        assert sum(n for c, n in cams.items() if c in INFRARED_CAMS) == 2 * config.infrared_per_camera
    indoor = np.mean([1 in cams for cams in presence.values()])
    assert 0.4 < indoor < 0.6


def test_regdb_layout_trials_and_counts(regdb_root: Path) -> None:
    persons = sorted(int(p.name) for p in (regdb_root / "Visible").iterdir())
    assert persons == list(range(1, TINY.regdb_n_ids + 1))
    for person in persons:
        visible = sorted((regdb_root / "Visible" / str(person)).glob("*.bmp"))
        thermal = sorted((regdb_root / "Thermal" / str(person)).glob("*.bmp"))
        assert len(visible) == len(thermal) == 10
        assert all(re.fullmatch(r"(fe)?male_(front|back)_v_\d{5}_\d+\.bmp", p.name) for p in visible)
        assert all(re.fullmatch(r"(fe)?male_(front|back)_t_\d{5}_\d+\.bmp", p.name) for p in thermal)
    splits = []
    for trial in range(1, 11):
        parsed = {}
        for split in ("train", "test"):
            for kind in ("visible", "thermal"):
                lines = (regdb_root / "idx" / f"{split}_{kind}_{trial}.txt").read_text().splitlines()
                rows = [line.split(" ") for line in lines]
                assert all(len(r) == 2 and (regdb_root / r[0]).is_file() for r in rows)
                folders = {int(r[0].split("/")[1]) for r in rows}
                assert len(rows) == 10 * len(folders)
                assert all(int(r[1]) == int(r[0].split("/")[1]) - 1 for r in rows)
                parsed[split, kind] = (folders, [int(r[1]) for r in rows])
        assert parsed["train", "visible"] == parsed["train", "thermal"]
        train, test = parsed["train", "visible"][0], parsed["test", "visible"][0]
        assert not train & test and len(train) == len(test) == TINY.regdb_n_ids // 2
        assert train | test == set(persons)
        splits.append(frozenset(train))
    assert len(set(splits)) > 1


def test_source_set_is_disjoint_from_target(tmp_path: Path) -> None:
    target = SynthWorld.build(TINY, STREAM_TARGET, TINY.n_target_ids, SYSU_CAMERAS)
    source = SynthWorld.build(TINY, STREAM_SOURCE, TINY.n_source_ids, SYSU_CAMERAS)
    assert not {p.as_tuple() for p in target.identities} & {p.as_tuple() for p in source.identities}
    assert not np.array_equal(target.render(1, 1, 1), source.render(1, 1, 1))
    root = write_source_set(tmp_path / "source", TINY, progress=False)
    assert _ids(root / "exp" / "train_id.txt") == list(range(1, TINY.n_source_ids + 1))
    assert (root / "exp" / "test_id.txt").read_text().strip() == ""
    assert json.loads((root / "synthvi.json").read_text())["layout"] == "sysu-source"


def test_rewrite_same_config_is_noop_and_new_config_regenerates(sysu_root: Path, tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "d", "sysu", TINY, progress=False)
    marker = root / "cam1"
    stamp = marker.stat().st_mtime_ns
    write_dataset(root, "sysu", TINY, progress=False)
    assert marker.stat().st_mtime_ns == stamp
    changed = TINY.with_(n_test_ids=5)
    write_dataset(root, "sysu", changed, progress=False)
    assert len(_ids(root / "exp" / "test_id.txt")) == 5
    assert json.loads((root / "synthvi.json").read_text())["config"] == changed.to_dict()


def test_bad_arguments_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sysu, regdb"):
        write_dataset(tmp_path / "x", "llcm", TINY)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        write_regdb_layout(foreign, TINY, progress=False)
    with pytest.raises(ValueError, match="ir_lum_mix"):
        SynthVIConfig(ir_lum_mix=1.5)
    with pytest.raises(ValueError, match="n_test_ids"):
        SynthVIConfig(n_test_ids=-1)
    with pytest.raises(ValueError, match=r"\.png"):
        contact_sheet(tmp_path / "sheet.jpg", TINY, n_identities=2)
    with pytest.raises(ValueError, match="pid"):
        SynthWorld.build(TINY, STREAM_TARGET, 2, SYSU_CAMERAS).render(3, 1, 1)


def test_contact_sheet_writes_png(tmp_path: Path) -> None:
    out = contact_sheet(tmp_path / "sheet.png", TINY, n_identities=2)
    image = Image.open(out)
    assert image.size[0] > 6 * TINY.width and image.size[1] > 2 * TINY.height


def test_generator_1_2_settings_reproduce_its_images_exactly() -> None:
    """``ir_lum_mix=0.55, ir_response="luminance", lookalike_same_fabric=False`` is generator 1.2, byte for byte
    (the hash was taken from the 1.2 code), so the designs in docs/synthvi-calibration.md stay
    reproducible."""
    config = SynthVIConfig.tiny(seed=3).with_(
        ir_lum_mix=0.55, ir_response="luminance", lookalike_same_fabric=False, pigment_cues=False
    )
    world = SynthWorld.build(config, 0, 6, SYSU_CAMERAS)
    digest = hashlib.sha256()
    for pid in range(1, 7):
        for cam in (1, 3, 6):
            digest.update(world.render(pid, cam, 0).tobytes())
    assert digest.hexdigest() == "73ea1ddaf1251ad0db05a60087a4aea9ed662580a2b5a750723cfe475ef39f5c"


def test_near_infrared_response_weights_red_dyes_most() -> None:
    """Red dyes look brighter than blue ones of the same luma to the near-infrared camera."""
    red, blue = (0.9, 0.1, 0.1), (0.2, 0.25, 0.95)
    assert near_infrared_response(red) > near_infrared_response(blue)
    assert abs(luminance(red) - luminance(blue)) < 0.1
    with pytest.raises(ValueError, match="ir_response"):
        SynthVIConfig(ir_response="thermal")


def _world_digest(config: SynthVIConfig) -> str:
    world = SynthWorld.build(config, 0, 6, SYSU_CAMERAS)
    digest = hashlib.sha256()
    for pid in range(1, 7):
        for cam in (1, 3, 6):
            digest.update(world.render(pid, cam, 0).tobytes())
    return digest.hexdigest()


def test_without_pigment_cues_generator_1_3_images_are_reproduced_exactly() -> None:
    """``pigment_cues=False`` is generator 1.3 byte for byte (hash taken from the 1.3 code), and the
    pigment cues change the images."""
    config = SynthVIConfig.tiny(seed=3)
    old = "4c02a5ea9372d7bf541051eeeb79d0fef32afefd27f213b9946b75793a6babc3"
    assert _world_digest(config.with_(pigment_cues=False)) == old
    assert _world_digest(config) != old


def test_pigment_cues_keep_the_other_attributes_and_follow_copied_garments() -> None:
    """The pigment stream is separate: every generator-1.3 attribute is unchanged. A look-alike that
    copies its template's upper garment also has the template's print."""
    plain = sample_identities(np.random.default_rng(5), 60, 3)
    cued = sample_identities(np.random.default_rng(5), 60, 3, pigment_rng=np.random.default_rng(9))
    for a, b in zip(plain, cued, strict=True):
        assert a.upper_colour == b.upper_colour and a.height == b.height and a.bag_kind == b.bag_kind
        assert b.pigment_shoes and not a.pigment_shoes
    assert sum(p.print_kind != "none" for p in cued) >= 15
    copies = [
        (cued[i - i % 3], cued[i])
        for i in range(60)
        if i % 3
        and cued[i].upper_colour == cued[i - i % 3].upper_colour
        and cued[i].upper_pattern == cued[i - i % 3].upper_pattern
    ]
    assert copies and all(t.print_kind == c.print_kind and t.print_ink == c.print_ink for t, c in copies)


def test_white_print_and_white_shoes_stay_bright_in_infrared() -> None:
    """Pigments keep their visible brightness in infrared: white ink brighter than black ink, white
    shoes brighter than black ones, and retroreflective trim brighter than skin."""
    person = sample_identities(np.random.default_rng(1), 1, 1, pigment_rng=np.random.default_rng(2))[0]

    white = infrared_paint(replace(person, print_ink=(0.93,) * 3, shoe_colour=(0.95,) * 3), 0.25, 0.8)
    black = infrared_paint(replace(person, print_ink=(0.07,) * 3, shoe_colour=(0.05,) * 3), 0.25, 0.8)
    assert white["print"] > black["print"] + 0.3 and white["shoe"] > black["shoe"] + 0.3
    assert white["reflective"] > white["skin"]


def test_a_front_print_is_drawn_in_both_modalities() -> None:
    """A large white print on a black shirt brightens the chest in the visible and the infrared image."""

    config = SynthVIConfig.tiny(seed=0).with_(occlusion_prob=0.0, clutter=0.0)
    world = SynthWorld.build(config, 0, 1, SYSU_CAMERAS)
    base = replace(
        world.identities[0], upper_colour=(0.08,) * 3, upper_pattern="plain", chest_mark=False, reflective="none"
    )
    pose = replace(sample_pose(np.random.default_rng(0)), back_view=False, shift_x=0.0, mirror=False)
    for cam in (1, 3):
        spec, rng = world.camera(cam), lambda: np.random.default_rng(4)
        scene = world.scenes[spec.scene]
        without = render_image(replace(base, print_kind="none"), spec, scene, pose, rng(), config).astype(float)
        with_print = render_image(
            replace(base, print_kind="square", print_ink=(0.93,) * 3, print_size=0.5, print_height=0.4),
            spec,
            scene,
            pose,
            rng(),
            config,
        ).astype(float)
        assert (with_print - without).mean() > 0.3, cam
