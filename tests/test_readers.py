"""Dataset readers on small fake trees: round trips (counts, orders, modalities, cams) and bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from vireid_core.data import (
    INFRARED,
    VISIBLE,
    ReIDDataset,
    Sample,
    available_datasets,
    load_dataset,
    register_dataset,
    unregister_dataset,
)


def write_image(path: Path, size: tuple[int, int] = (4, 8)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "L" if path.suffix == ".bmp" else "RGB"
    Image.new(mode, size, color=100 if mode == "L" else (10, 20, 30)).save(path)


# ---------------------------------------------------------------------------------------------- SYSU
# pid -> {cam: number of images}; 1, 2 train; 3 val; 7, 9 test (9 absent from cams 1, 2 and 3).
SYSU_TREE = {
    1: {1: 2, 2: 1, 3: 2, 4: 1, 5: 1, 6: 1},
    2: {4: 2, 6: 3},
    3: {1: 1, 3: 1},
    7: {1: 2, 2: 2, 3: 2, 4: 1, 5: 1, 6: 2},
    9: {4: 3, 5: 1, 6: 2},
}


def make_sysu(
    root: Path, tree: dict[int, dict[int, int]] = SYSU_TREE, train: str = "1,2", val: str = "0003", test: str = "7,9,"
) -> Path:
    for cam in range(1, 7):
        (root / f"cam{cam}").mkdir(parents=True, exist_ok=True)
    for pid, cams in tree.items():
        for cam, count in cams.items():
            for n in range(count):
                # written out of order to check the sorting
                write_image(root / f"cam{cam}" / f"{pid:04d}" / f"{count - n:04d}.jpg")
    (root / "exp").mkdir(exist_ok=True)
    for name, line in (("train_id.txt", train), ("val_id.txt", val), ("test_id.txt", test)):
        (root / "exp" / name).write_text(line + "\n")  # the official layout: one comma-separated line
    return root


def rel(sample: Sample, root: Path) -> str:
    return str(Path(sample.path).relative_to(root))


def test_sysu_round_trip(tmp_path: Path) -> None:
    root = make_sysu(tmp_path / "SYSU-MM01")
    data = load_dataset("sysu", str(root) + "/")
    assert isinstance(data, ReIDDataset) and data.protocol == "sysu" and data.root == str(root)
    assert all(Path(s.path).is_absolute() for s in data.train + data.query + data.gallery_candidates)

    vis = data.train_modality(VISIBLE)
    ir = data.train_modality(INFRARED)
    assert data.train == vis + ir
    assert [s.path for s in vis] == sorted(s.path for s in vis)
    assert [s.path for s in ir] == sorted(s.path for s in ir)
    assert len(vis) == 2 + 1 + 1 + 1 + 2 + 1 and len(ir) == 2 + 1 + 3 + 1
    assert {s.pid for s in data.train} == {1, 2, 3}
    assert {s.cam for s in vis} == {1, 2, 4, 5} and {s.cam for s in ir} == {3, 6}
    for s in data.train:
        assert Path(s.path).parent.parent.name == f"cam{s.cam}" and int(Path(s.path).parent.name) == s.pid

    assert [rel(s, root) for s in data.query] == [
        "cam3/0007/0001.jpg",
        "cam3/0007/0002.jpg",
        "cam6/0007/0001.jpg",
        "cam6/0007/0002.jpg",
        "cam6/0009/0001.jpg",
        "cam6/0009/0002.jpg",
    ]
    assert all(s.modality == INFRARED for s in data.query)
    assert [rel(s, root) for s in data.gallery_candidates] == [
        "cam1/0007/0001.jpg",
        "cam1/0007/0002.jpg",
        "cam2/0007/0001.jpg",
        "cam2/0007/0002.jpg",
        "cam4/0007/0001.jpg",
        "cam5/0007/0001.jpg",
        "cam4/0009/0001.jpg",
        "cam4/0009/0002.jpg",
        "cam4/0009/0003.jpg",
        "cam5/0009/0001.jpg",
    ]
    assert all(s.modality == VISIBLE for s in data.gallery_candidates)
    assert data.info["test_ids"] == [7, 9] and data.info["val_ids"] == [3]

    summary = data.summary()
    assert summary["splits"]["train"]["visible"] == {"images": 8, "ids": 3, "cams": [1, 2, 4, 5]}
    assert summary["splits"]["query"]["infrared"] == {"images": 6, "ids": 2, "cams": [3, 6]}
    assert "visible" not in summary["splits"]["query"]


def test_sysu_missing_camera_folder(tmp_path: Path) -> None:
    root = make_sysu(tmp_path / "sysu")
    shutil.rmtree(root / "cam5")
    with pytest.raises(FileNotFoundError, match=r"cam5.*camera folder"):
        load_dataset("sysu", root)


@pytest.mark.parametrize("split_file", ["train_id.txt", "val_id.txt", "test_id.txt"])
def test_sysu_missing_split_file(tmp_path: Path, split_file: str) -> None:
    root = make_sysu(tmp_path / "sysu")
    (root / "exp" / split_file).unlink()
    with pytest.raises(FileNotFoundError, match=split_file):
        load_dataset("sysu", root)


def test_sysu_malformed_split_file(tmp_path: Path) -> None:
    root = make_sysu(tmp_path / "sysu", train="1,two")
    with pytest.raises(ValueError, match=r"train_id\.txt.*'two'"):
        load_dataset("sysu", root)


def test_sysu_id_in_split_but_in_no_camera(tmp_path: Path) -> None:
    root = make_sysu(tmp_path / "sysu", test="7,9,42")
    with pytest.raises(ValueError, match=r"test_id\.txt.*\[42\].*cam1.*0042"):
        load_dataset("sysu", root)


def test_sysu_empty_modality(tmp_path: Path) -> None:
    tree = {pid: {c: n for c, n in cams.items() if not (pid < 7 and c in (3, 6))} for pid, cams in SYSU_TREE.items()}
    root = make_sysu(tmp_path / "sysu", tree=tree)
    with pytest.raises(ValueError, match=r"no training infrared images.*cam3"):
        load_dataset("sysu", root)


def test_sysu_non_image_file(tmp_path: Path) -> None:
    root = make_sysu(tmp_path / "sysu")
    (root / "cam4" / "0002" / "notes.txt").write_text("hello")
    (root / "cam4" / "0002" / ".DS_Store").write_text("ignored")
    with pytest.raises(ValueError, match=r"cam4/0002/notes\.txt.*non-image"):
        load_dataset("sysu", root)


def test_sysu_overlapping_splits(tmp_path: Path) -> None:
    root = make_sysu(tmp_path / "sysu", test="1,7,9")
    with pytest.raises(ValueError, match=r"test_id\.txt.*\[1\]"):
        load_dataset("sysu", root)


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_dataset("sysu", tmp_path / "nowhere")


# --------------------------------------------------------------------------------------------- RegDB
def make_regdb(root: Path, trial: int = 2, n_train: int = 3, n_test: int = 2, per_id: int = 2) -> Path:
    lines: dict[str, list[str]] = {}
    for split, pids in (("train", range(1, n_train + 1)), ("test", range(n_train + 1, n_train + n_test + 1))):
        for kind, folder, tag in (("visible", "Visible", "v"), ("thermal", "Thermal", "t")):
            entries = []
            for label, pid in enumerate(pids):
                for n in range(per_id):
                    relative = f"{folder}/{pid}/male_front_{tag}_{pid:05d}_{n + 1}.bmp"
                    write_image(root / relative)
                    entries.append(f"{relative} {label}")
            lines[f"{split}_{kind}_{trial}.txt"] = list(reversed(entries))  # file order != path order
    (root / "idx").mkdir(parents=True, exist_ok=True)
    for name, content in lines.items():
        (root / "idx" / name).write_text("\n".join(content) + "\n\n")
    return root


def test_regdb_round_trip(tmp_path: Path) -> None:
    root = make_regdb(tmp_path / "RegDB", trial=2)
    data = load_dataset("regdb", root, trial=2)
    assert data.protocol == "regdb" and data.info == {"trial": 2}
    vis, ir = data.train_modality(VISIBLE), data.train_modality(INFRARED)
    assert data.train == vis + ir and len(vis) == 6 and len(ir) == 6
    assert [s.path for s in vis] == sorted(s.path for s in vis)
    assert {s.cam for s in vis} == {1} and {s.cam for s in ir} == {2}
    assert {s.pid for s in data.train} == {0, 1, 2}
    # test lists keep the idx file order (which the fake files reverse)
    listed = (root / "idx" / "test_thermal_2.txt").read_text().split()[0::2]
    assert [rel(s, root) for s in data.query] == listed
    assert data.test_thermal == data.query and data.test_visible == data.gallery_candidates
    assert all(s.modality == INFRARED and s.cam == 2 for s in data.query)
    assert all(s.modality == VISIBLE and s.cam == 1 for s in data.gallery_candidates)
    assert len(data.query) == len(data.gallery_candidates) == 4
    # with and without trailing slash: identical
    assert load_dataset("regdb", str(root) + "/", trial=2) == data


def test_regdb_default_trial_is_one(tmp_path: Path) -> None:
    root = make_regdb(tmp_path / "RegDB", trial=1)
    assert load_dataset("regdb", root).info == {"trial": 1}


@pytest.mark.parametrize("trial", [0, 11, "1", 1.0, True])
def test_regdb_bad_trial(tmp_path: Path, trial: object) -> None:
    root = make_regdb(tmp_path / "RegDB", trial=1)
    with pytest.raises(ValueError, match=r"trial.*1\.\.10"):
        load_dataset("regdb", root, trial=trial)


def test_regdb_missing_idx_for_trial(tmp_path: Path) -> None:
    root = make_regdb(tmp_path / "RegDB", trial=1)
    with pytest.raises(FileNotFoundError, match=r"train_visible_3\.txt"):
        load_dataset("regdb", root, trial=3)


def test_regdb_listed_file_missing(tmp_path: Path) -> None:
    root = make_regdb(tmp_path / "RegDB", trial=1)
    index = root / "idx" / "test_visible_1.txt"
    first = index.read_text().splitlines()[0].split()[0]
    (root / first).unlink()
    with pytest.raises(FileNotFoundError, match=rf"{first}.*test_visible_1\.txt, line 1"):
        load_dataset("regdb", root, trial=1)


@pytest.mark.parametrize("bad_line", ["Visible/1/x.bmp", "Visible/1/x.bmp label", "3"])
def test_regdb_malformed_line(tmp_path: Path, bad_line: str) -> None:
    root = make_regdb(tmp_path / "RegDB", trial=1)
    index = root / "idx" / "train_thermal_1.txt"
    lines = index.read_text().splitlines()
    lines.insert(2, bad_line)
    index.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"train_thermal_1\.txt, line 3"):
        load_dataset("regdb", root, trial=1)


# ---------------------------------------------------------------------------------------------- LLCM
def make_llcm(root: Path) -> Path:
    train: dict[str, list[str]] = {"vis": [], "nir": []}
    for kind in ("vis", "nir"):
        for pid, cams in ((1, (2, 5)), (2, (3,))):
            for cam in cams:
                relative = f"{kind}/{pid:04d}/{pid:04d}_c{cam:02d}_s1_f{cam * 7}_{kind}.jpg"
                write_image(root / relative)
                train[kind].append(f"{relative} {pid - 1}")
    (root / "idx").mkdir(parents=True, exist_ok=True)
    for kind, entries in train.items():
        (root / "idx" / f"train_{kind}.txt").write_text("\n".join(reversed(entries)) + "\n")
    (root / "idx" / "test_id.txt").write_text("0012,0010\n")
    # test: vis cams 1, 2, 10 (two-digit camera); nir cams 1, 4 (no cam3)
    for folder, cams in (
        ("test_vis", {10: {10: 1}, 1: {10: 2, 12: 1}, 2: {12: 1}}),
        ("test_nir", {4: {10: 1, 12: 2}, 1: {12: 1}}),
    ):
        for cam, people in cams.items():
            for pid, count in people.items():
                for n in range(count):
                    write_image(root / folder / f"cam{cam}" / f"{pid:04d}" / f"{pid:04d}_c{cam:02d}_{n}.jpg")
    return root


def test_llcm_round_trip_with_cam_in_root(tmp_path: Path) -> None:
    root = make_llcm(tmp_path / "camera_data" / "LLCM_cam3")  # the DEEN trap: "cam" in the root
    data = load_dataset("llcm", root)
    assert data.protocol == "llcm" and data.info == {"test_ids": [10, 12]}
    vis, ir = data.train_modality(VISIBLE), data.train_modality(INFRARED)
    assert data.train == vis + ir and len(vis) == 3 and len(ir) == 3
    assert [s.path for s in ir] == sorted(s.path for s in ir)
    assert [(s.pid, s.cam) for s in vis] == [(0, 2), (0, 5), (1, 3)]
    assert [(rel(s, root), s.pid, s.cam) for s in data.query] == [
        ("test_nir/cam4/0010/0010_c04_0.jpg", 10, 4),
        ("test_nir/cam1/0012/0012_c01_0.jpg", 12, 1),
        ("test_nir/cam4/0012/0012_c04_0.jpg", 12, 4),
        ("test_nir/cam4/0012/0012_c04_1.jpg", 12, 4),
    ]
    assert [(rel(s, root), s.pid, s.cam) for s in data.gallery_candidates] == [
        ("test_vis/cam1/0010/0010_c01_0.jpg", 10, 1),
        ("test_vis/cam1/0010/0010_c01_1.jpg", 10, 1),
        ("test_vis/cam10/0010/0010_c10_0.jpg", 10, 10),
        ("test_vis/cam1/0012/0012_c01_0.jpg", 12, 1),
        ("test_vis/cam2/0012/0012_c02_0.jpg", 12, 2),
    ]
    assert all(s.modality == INFRARED for s in data.query)
    assert all(s.modality == VISIBLE for s in data.gallery_candidates)


def test_llcm_file_name_without_camera(tmp_path: Path) -> None:
    root = make_llcm(tmp_path / "LLCM")
    write_image(root / "vis" / "0003" / "nocamera.jpg")
    index = root / "idx" / "train_vis.txt"
    index.write_text(index.read_text() + "vis/0003/nocamera.jpg 2\n")
    with pytest.raises(ValueError, match=r"train_vis\.txt, line 4.*nocamera\.jpg.*_c<digits>"):
        load_dataset("llcm", root)


@pytest.mark.parametrize("missing", ["idx/test_id.txt", "idx/train_nir.txt", "test_nir"])
def test_llcm_missing_parts(tmp_path: Path, missing: str) -> None:
    root = make_llcm(tmp_path / "LLCM")
    target = root / missing
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(FileNotFoundError, match=missing.split("/")[-1]):
        load_dataset("llcm", root)


def test_llcm_test_id_in_no_camera(tmp_path: Path) -> None:
    root = make_llcm(tmp_path / "LLCM")
    (root / "idx" / "test_id.txt").write_text("10,12,77\n")
    with pytest.raises(ValueError, match=r"test_id\.txt.*\[77\]"):
        load_dataset("llcm", root)


def test_llcm_non_image_file(tmp_path: Path) -> None:
    root = make_llcm(tmp_path / "LLCM")
    (root / "test_vis" / "cam2" / "0012" / "sub").mkdir()
    with pytest.raises(ValueError, match=r"cam2/0012/sub.*directory"):
        load_dataset("llcm", root)


def test_llcm_listed_file_missing(tmp_path: Path) -> None:
    root = make_llcm(tmp_path / "LLCM")
    (root / "nir" / "0002" / "0002_c03_s1_f21_nir.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"0002_c03_s1_f21_nir\.jpg.*train_nir\.txt, line 1"):
        load_dataset("llcm", root)


# ------------------------------------------------------------------------------------------ registry
def test_registry(tmp_path: Path) -> None:
    assert {"sysu", "regdb", "llcm"} <= set(available_datasets())

    def load_tiny(root: str, *, flavour: str = "plain") -> ReIDDataset:
        sample = Sample(path=str(Path(root) / "a.jpg"), pid=1, cam=1, modality=VISIBLE)
        return ReIDDataset(
            name=f"tiny-{flavour}",
            root=str(root),
            train=[sample],
            query=[sample],
            gallery_candidates=[sample],
            protocol="sysu",
        )

    register_dataset("Tiny", load_tiny)
    try:
        assert "tiny" in available_datasets()
        assert load_dataset("tiny", tmp_path, flavour="x").name == "tiny-x"
        with pytest.raises(ValueError, match="already registered"):
            register_dataset("tiny", load_tiny)
        register_dataset("tiny", load_tiny, overwrite=True)
    finally:
        unregister_dataset("tiny")
    assert "tiny" not in available_datasets()
    with pytest.raises(ValueError, match="built in"):
        register_dataset("sysu", load_tiny, overwrite=True)
    with pytest.raises(KeyError, match="unknown dataset 'nope'.*llcm"):
        load_dataset("nope", tmp_path)
    with pytest.raises(ValueError, match="protocol"):
        ReIDDataset(name="x", root="/", train=[], query=[], gallery_candidates=[], protocol="market")


def test_sysu_empty_val_and_test_lines(tmp_path: Path) -> None:
    root = make_sysu(tmp_path / "sysu", val="", test="")  # how a labelled source set is written
    data = load_dataset("sysu", root)
    assert {s.pid for s in data.train} == {1, 2} and data.query == [] and data.gallery_candidates == []
    root = make_sysu(tmp_path / "sysu2", train="")
    with pytest.raises(ValueError, match=r"train_id\.txt: the first line holds no ids"):
        load_dataset("sysu", root)


# ------------------------------------------------------------------------- SynthVI layouts round trip
@pytest.fixture(scope="module")
def synthvi_roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    synthvi = pytest.importorskip("vireid_core.data.synthvi")
    config = synthvi.SynthVIConfig.tiny(seed=0)
    base = tmp_path_factory.mktemp("synthvi")
    return {
        layout: synthvi.write_dataset(base / layout, layout, config, progress=False) for layout in ("sysu", "regdb")
    } | {"source": synthvi.write_source_set(base / "source", config, progress=False)}


def test_synthvi_sysu_layout_loads(synthvi_roots: dict[str, Path]) -> None:
    root = synthvi_roots["sysu"]
    data = load_dataset("sysu", root)
    test_ids = data.info["test_ids"]
    all_ir_test = sorted(
        str(p) for cam in (3, 6) for pid in test_ids for p in (root / f"cam{cam}" / f"{pid:04d}").glob("*.jpg")
    )
    assert sorted(s.path for s in data.query) == all_ir_test and len(all_ir_test) > 0
    all_vis_test = sorted(
        str(p) for cam in (1, 2, 4, 5) for pid in test_ids for p in (root / f"cam{cam}" / f"{pid:04d}").glob("*.jpg")
    )
    assert sorted(s.path for s in data.gallery_candidates) == all_vis_test
    assert {s.cam for s in data.train_modality(VISIBLE)} <= {1, 2, 4, 5}
    assert {s.cam for s in data.train_modality(INFRARED)} <= {3, 6}
    assert data.train_modality(VISIBLE) and data.train_modality(INFRARED)
    assert set(data.info["train_ids"] + data.info["val_ids"]) == {s.pid for s in data.train}
    assert not {s.pid for s in data.train} & set(test_ids)


def test_synthvi_regdb_layout_loads(synthvi_roots: dict[str, Path]) -> None:
    for trial in (1, 10):
        data = load_dataset("regdb", synthvi_roots["regdb"], trial=trial)
        summary = data.summary()["splits"]
        assert summary["train"]["visible"]["cams"] == [1] and summary["train"]["infrared"]["cams"] == [2]
        assert summary["train"]["visible"]["ids"] == summary["query"]["infrared"]["ids"] == 3
        assert len(data.test_visible) == len(data.test_thermal) == 3 * 10
        assert not {s.pid for s in data.train} & {s.pid for s in data.query}


def test_synthvi_source_set_loads(synthvi_roots: dict[str, Path]) -> None:
    data = load_dataset("sysu", synthvi_roots["source"])
    assert data.train_modality(VISIBLE) and data.train_modality(INFRARED) and data.query == []
