"""Gallery sampling (baseline-exact picks, no global RNG side effect) and protocol plans."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from vireid_core.data.records import INFRARED, VISIBLE, Sample
from vireid_core.evaluation.protocols import (
    plan_protocol,
    sample_gallery,
    sample_gallery_indices,
    sysu_gallery,
    sysu_query,
)


def make_sysu_tree(root) -> None:
    """cam1..cam6/PPPP/NNNN.jpg with missing (id, camera) folders and irregular file numbers."""
    rng = np.random.default_rng(3)
    for pid in (1, 4, 5, 12, 30, 101):
        for cam in (1, 2, 3, 4, 5, 6):
            if rng.random() < 0.25 and cam not in (1, 3):
                continue  # this person is missing from this camera: no folder at all
            folder = root / f"cam{cam}" / f"{pid:04d}"
            folder.mkdir(parents=True)
            for number in rng.choice(40, size=int(rng.integers(1, 12)), replace=False):
                (folder / f"{number + 1:04d}.jpg").write_bytes(b"")


def baseline_gallery(root: str, cams: list[int], ids: list[int], trial: int) -> list[str]:
    """The field's procedure: global random.seed(trial), ids ascending, cams in order, sorted paths."""
    random.seed(trial)
    picks = []
    for pid in sorted(f"{i:04d}" for i in ids):
        for cam in cams:
            folder = os.path.join(root, f"cam{cam}", pid)
            if os.path.isdir(folder):
                files = sorted(folder + "/" + name for name in os.listdir(folder))
                picks.append(random.choice(files))
    return picks


def tree_samples(root) -> list[Sample]:
    samples = []
    for cam in (1, 2, 4, 5):
        for folder in sorted((root / f"cam{cam}").iterdir()):
            samples += [Sample(str(f), int(folder.name), cam, VISIBLE) for f in folder.iterdir()]
    random.Random(0).shuffle(samples)  # the sampler must not depend on the candidates' order
    return samples


@pytest.mark.parametrize("cams", [[1, 2, 4, 5], [1, 2]])
def test_single_shot_picks_equal_the_baseline_procedure(tmp_path, cams):
    make_sysu_tree(tmp_path)
    candidates = tree_samples(tmp_path)
    for trial in range(10):
        expected = baseline_gallery(str(tmp_path), cams, [1, 4, 5, 12, 30, 101], trial)
        picked = sample_gallery(candidates, cams, trial, shots=1)
        assert [s.path for s in picked] == expected


def test_sampling_leaves_the_global_random_state_untouched(tmp_path):
    make_sysu_tree(tmp_path)
    candidates = tree_samples(tmp_path)
    random.seed(12345)
    state = random.getstate()
    sample_gallery(candidates, (1, 2, 4, 5), trial=3)
    sample_gallery(candidates, (1, 2), trial=7, shots=10)
    assert random.getstate() == state


def test_order_is_ids_ascending_then_camera_order_and_missing_groups_are_skipped():
    candidates = [
        Sample(f"/d/cam{c}/{p:04d}/{n}.jpg", p, c, VISIBLE)
        for p in (9, 2, 5)
        for c in (5, 4, 2, 1)
        for n in range(3)
        if (p, c) != (5, 2)
    ]
    picked = sample_gallery(candidates, (1, 2, 4, 5), trial=0)
    assert [(s.pid, s.cam) for s in picked] == [
        (2, 1),
        (2, 2),
        (2, 4),
        (2, 5),
        (5, 1),
        (5, 4),
        (5, 5),
        (9, 1),
        (9, 2),
        (9, 4),
        (9, 5),
    ]
    indoor = sample_gallery(candidates, (1, 2), trial=0)
    assert [(s.pid, s.cam) for s in indoor] == [(2, 1), (2, 2), (5, 1), (9, 1), (9, 2)]
    # A different camera order changes the walk (and hence the draws).
    reordered = sample_gallery(candidates, (2, 1), trial=0)
    assert [(s.pid, s.cam) for s in reordered][:2] == [(2, 2), (2, 1)]


def test_picks_follow_sorted_paths_not_input_order():
    files = [f"/d/cam1/0001/{n:04d}.jpg" for n in (7, 2, 9, 4, 1)]
    forward = [Sample(f, 1, 1, VISIBLE) for f in files]
    for trial in range(10):
        first = sample_gallery(forward, (1,), trial)
        second = sample_gallery(forward[::-1], (1,), trial)
        assert first == second
        assert first[0].path == random.Random(trial).choice(sorted(files))


def test_multi_shot_draws_without_replacement_and_keeps_small_groups_whole():
    candidates = [Sample(f"/d/cam{c}/0003/{n:04d}.jpg", 3, c, VISIBLE) for c in (1, 2) for n in range(25)]
    candidates += [Sample(f"/d/cam4/0003/{n:04d}.jpg", 3, 4, VISIBLE) for n in range(4)]
    picked = sample_gallery(candidates, (1, 2, 4, 5), trial=2, shots=10)
    assert [s.cam for s in picked] == [1] * 10 + [2] * 10 + [4] * 4
    assert len(set(picked)) == len(picked)
    for cam in (1, 2):
        paths = [s.path for s in picked if s.cam == cam]
        assert paths == sorted(paths)
    assert picked == sample_gallery(candidates, (1, 2, 4, 5), trial=2, shots=10)
    assert picked != sample_gallery(candidates, (1, 2, 4, 5), trial=3, shots=10)


def test_sampling_rejects_bad_arguments():
    candidates = [Sample("/d/cam1/0001/0001.jpg", 1, 1, VISIBLE)]
    with pytest.raises(ValueError, match="trial"):
        sample_gallery_indices(candidates, (1,), trial=-1)
    with pytest.raises(ValueError, match="shots"):
        sample_gallery_indices(candidates, (1,), trial=0, shots=0)
    with pytest.raises(ValueError, match="no gallery candidate is from cameras"):
        sample_gallery_indices(candidates, (4, 5), trial=0)
    with pytest.raises(ValueError, match="distinct cameras"):
        sample_gallery_indices(candidates, (1, 1), trial=0)
    with pytest.raises(TypeError, match="expected Sample"):
        sample_gallery_indices(["/d/x.jpg"], (1,), trial=0)


def _sysu_lists():
    query = [Sample(f"/q/{p}_{c}_{n}", p, c, INFRARED) for p in (1, 2, 3) for c in (3, 6) for n in range(2)]
    gallery = [Sample(f"/g/{p}_{c}_{n}", p, c, VISIBLE) for p in (1, 2, 3) for c in (1, 2, 4, 5) for n in range(3)]
    return query, gallery


def test_sysu_plan_reuses_all_queries_and_samples_each_trial():
    query, gallery = _sysu_lists()
    plans = plan_protocol(query, gallery, "sysu", mode=["all", "indoor"], trials=range(3))
    assert [p.key for p in plans] == ["all", "indoor"] and plans[0].rule == "sysu"
    for plan, cams in zip(plans, [(1, 2, 4, 5), (1, 2)], strict=True):
        assert [run.trial for run in plan.trials] == [0, 1, 2]
        for run in plan.trials:
            assert run.query_side == "query" and run.query_index.tolist() == list(range(len(query)))
            assert run.gallery_index.tolist() == sample_gallery_indices(gallery, cams, run.trial)
    with pytest.raises(ValueError, match="mode must be one of"):
        plan_protocol(query, gallery, "sysu", mode="outdoor")


def test_regdb_plan_puts_each_modality_in_its_true_role():
    thermal = [Sample(f"/t/{i}", i // 2, 2, INFRARED) for i in range(6)]
    visible = [Sample(f"/v/{i}", i // 2, 1, VISIBLE) for i in range(6)]
    for query, candidates in ((thermal, visible), (visible, thermal)):
        plans = plan_protocol(query, candidates, "regdb", split=4)
        v2t, t2v = plans
        lists = {"query": query, "candidates": candidates}
        assert v2t.key == "visible_to_thermal" and t2v.key == "thermal_to_visible"
        assert all(s.modality == VISIBLE for s in lists[v2t.trials[0].query_side])
        assert all(s.modality == INFRARED for s in lists[v2t.trials[0].gallery_side])
        assert all(s.modality == INFRARED for s in lists[t2v.trials[0].query_side])
        assert v2t.trials[0].trial == 4 and v2t.rule == "regdb"
    with pytest.raises(ValueError, match="RegDB direction"):
        plan_protocol(thermal, visible, "regdb", direction="sideways")


def test_llcm_directions_deen_default_and_natural_variant():
    nir = [Sample(f"/n/{p}_{c}_{n}", p, c, INFRARED) for p in (1, 2) for c in (1, 2, 4) for n in range(3)]
    vis = [Sample(f"/v/{p}_{c}_{n}", p, c, VISIBLE) for p in (1, 2) for c in (1, 3, 5) for n in range(3)]
    plans = plan_protocol(nir, vis, "llcm", trials=[0, 1])
    assert [p.key for p in plans] == ["ir_to_vis", "vis_to_ir"]
    assert "DEEN" in plans[1].label
    ir_to_vis, vis_to_ir = (p.trials[0] for p in plans)
    assert ir_to_vis.query_side == "query" and len(ir_to_vis.query_index) == len(nir)
    assert ir_to_vis.gallery_index.tolist() == sample_gallery_indices(vis, (1, 3, 5), 0)
    # DEEN-compatible VIS->IR: the sampled NIR images are the queries, every VIS image is gallery.
    assert vis_to_ir.query_side == "query" and vis_to_ir.gallery_side == "candidates"
    assert vis_to_ir.query_index.tolist() == sample_gallery_indices(nir, (1, 2, 4), 0)
    assert len(vis_to_ir.gallery_index) == len(vis)
    natural = plan_protocol(nir, vis, "llcm", direction="vis_to_ir_natural", trials=[0])[0].trials[0]
    assert natural.query_side == "candidates" and len(natural.query_index) == len(vis)
    assert natural.gallery_index.tolist() == sample_gallery_indices(nir, (1, 2, 4), 0)


def test_sysu_wrappers_read_through_load_dataset(tmp_path, monkeypatch):
    import vireid_core.data as data

    query, gallery = _sysu_lists()

    class Fake:
        def __init__(self):
            self.query, self.gallery_candidates = query, gallery

    calls = []
    monkeypatch.setattr(data, "load_dataset", lambda name, root, **kw: calls.append((name, root)) or Fake())
    assert sysu_query(str(tmp_path)) == query
    assert sysu_gallery(str(tmp_path), "indoor", trial=5) == sample_gallery(gallery, (1, 2), 5)
    assert calls == [("sysu", str(tmp_path))] * 2
