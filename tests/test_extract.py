"""Feature extraction and whole-protocol evaluation with a tiny dummy model (SynthVI, both layouts)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from vireid_core.compute import compute_plan
from vireid_core.data import ReIDDataset, load_dataset
from vireid_core.data.images import open_rgb
from vireid_core.data.records import INFRARED, VISIBLE, Sample
from vireid_core.data.transforms import test_transform as make_test_transform
from vireid_core.evaluation import (
    evaluate,
    evaluate_features,
    extract_features,
    merge_reports,
    rank_metrics,
    sample_gallery_indices,
)

HEIGHT, WIDTH = 32, 16
# these tests check the batching, flip and order logic against a float32 forward pass, on every CPU
FP32 = compute_plan("cpu", "fp32", channels_last=False)


class DummyTwoStream(nn.Module):
    """Two modality stems, a shared head; unit-norm output in eval mode; not flip-invariant."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stems = nn.ModuleList([nn.Conv2d(3, 4, 3, padding=1) for _ in range(2)])
        self.head = nn.Linear(4 * 2 * 2, dim)
        self.feature_dim = dim

    def forward(self, images: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        x = torch.zeros(images.shape[0], 4, *images.shape[2:])
        for m in (VISIBLE, INFRARED):
            chosen = modality == m
            if chosen.any():
                x[chosen] = self.stems[m](images[chosen]).float()  # bf16 under CPU autocast
        out = self.head(nn.functional.adaptive_avg_pool2d(x, (2, 2)).flatten(1))
        return out if self.training else nn.functional.normalize(out, dim=1)


@pytest.fixture(scope="module")
def image_samples(tmp_path_factory) -> list[Sample]:
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    samples = []
    for i in range(7):
        path = root / f"{i:02d}.png"
        Image.fromarray(rng.integers(0, 255, (40, 20, 3), dtype=np.uint8)).save(path)
        samples.append(Sample(str(path), i // 2, 1 + i % 2, i % 2))
    return samples


def manual_feature(model, sample, flip=True, renormalise=True):
    image = make_test_transform(HEIGHT, WIDTH)(open_rgb(sample.path))[None]
    modality = torch.tensor([sample.modality])
    with torch.no_grad():
        feature = model(image, modality)
        if flip:
            feature = (feature + model(torch.flip(image, dims=[3]), modality)) / 2
        if renormalise:
            feature = nn.functional.normalize(feature, dim=1)
    return feature[0].numpy()


def test_extract_features_flip_average_renormalise_and_order(image_samples):
    model = DummyTwoStream().eval()
    transform = make_test_transform(HEIGHT, WIDTH)
    features = extract_features(model, image_samples, transform, batch_size=3, progress=False, plan=FP32)
    assert features.shape == (7, 8) and features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-6)
    for row, sample in zip(features, image_samples, strict=True):
        np.testing.assert_allclose(row, manual_feature(model, sample), atol=1e-5)
    single = extract_features(model, image_samples, transform, batch_size=1, progress=False, plan=FP32)
    np.testing.assert_allclose(single, features, atol=1e-5)

    raw = extract_features(model, image_samples, transform, renormalise=False, progress=False, plan=FP32)
    assert (np.linalg.norm(raw, axis=1) < 1 - 1e-6).all()  # the flip average of two unit vectors
    np.testing.assert_allclose(raw[2], manual_feature(model, image_samples[2], renormalise=False), atol=1e-5)
    no_flip = extract_features(model, image_samples, transform, flip=False, progress=False, plan=FP32)
    np.testing.assert_allclose(no_flip[5], manual_feature(model, image_samples[5], flip=False), atol=1e-5)


def test_each_modality_goes_through_its_own_stem_and_mode_is_restored(image_samples):
    model = DummyTwoStream().train()
    transform = make_test_transform(HEIGHT, WIDTH)
    as_given = extract_features(model, image_samples[:2], transform, progress=False, plan=FP32)
    swapped = [Sample(s.path, s.pid, s.cam, 1 - s.modality) for s in image_samples[:2]]
    other = extract_features(model, swapped, transform, progress=False, plan=FP32)
    assert model.training  # restored
    assert not np.allclose(as_given, other, atol=1e-3)
    np.testing.assert_allclose(as_given[0], manual_feature(model.eval(), image_samples[0]), atol=1e-5)


def test_extract_features_bad_input(image_samples, tmp_path):
    model = DummyTwoStream()
    transform = make_test_transform(HEIGHT, WIDTH)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        extract_features(model, [Sample(str(tmp_path / "missing.png"), 0, 1, 0)], transform, progress=False)
    with pytest.raises(ValueError, match="no samples"):
        extract_features(model, [], transform, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        extract_features(model, image_samples, transform, batch_size=0, progress=False)


@pytest.fixture(scope="module")
def synthvi_roots(tmp_path_factory) -> dict[str, str]:
    from vireid_core.data.synthvi import SynthVIConfig, write_dataset

    roots = {}
    for layout in ("sysu", "regdb"):
        root = tmp_path_factory.mktemp(f"synthvi_{layout}")
        write_dataset(root, layout, SynthVIConfig.tiny(), progress=False)
        roots[layout] = str(root)
    return roots


def test_evaluate_sysu_layout_matches_direct_metrics(synthvi_roots):
    dataset = load_dataset("sysu", synthvi_roots["sysu"])
    model = DummyTwoStream()
    report = evaluate(
        model,
        dataset,
        mode=["all", "indoor"],
        trials=range(3),
        height=HEIGHT,
        width=WIDTH,
        batch_size=16,
        progress=False,
        checkpoint_selection="best Rank-1 on the test set",
    )
    assert [s.key for s in report.settings] == ["all", "indoor"]
    transform = make_test_transform(HEIGHT, WIDTH)
    query_feat = extract_features(model, dataset.query, transform, progress=False)
    cand_feat = extract_features(model, dataset.gallery_candidates, transform, progress=False)
    q_pids = np.array([s.pid for s in dataset.query])
    q_cams = np.array([s.cam for s in dataset.query])
    for key, cams in (("all", (1, 2, 4, 5)), ("indoor", (1, 2))):
        setting = report[key]
        assert setting.trials == [0, 1, 2] and len(setting.results) == 3
        for trial, result in zip(setting.trials, setting.results, strict=True):
            picks = sample_gallery_indices(dataset.gallery_candidates, cams, trial)
            gallery = [dataset.gallery_candidates[i] for i in picks]
            direct = rank_metrics(
                -(query_feat @ cand_feat[picks].T),
                q_pids,
                [s.pid for s in gallery],
                q_cams,
                [s.cam for s in gallery],
                rule="sysu",
            )
            np.testing.assert_allclose(result.cmc, direct.cmc, atol=1e-6)
            assert result.mAP == pytest.approx(direct.mAP, abs=1e-6)
        assert setting.mAP == pytest.approx(np.mean([r.mAP for r in setting.results]))
    from_features = evaluate_features(
        dataset,
        query_feat,
        cand_feat,
        mode=["all", "indoor"],
        trials=range(3),
        checkpoint_selection="best Rank-1 on the test set",
    )
    for a, b in zip(report.settings, from_features.settings, strict=True):
        assert a.mAP == pytest.approx(b.mAP, abs=1e-6) and a.rank(1) == pytest.approx(b.rank(1), abs=1e-6)
    table = report.table()
    assert "checkpoint: best Rank-1 on the test set" in table.splitlines()[0]
    assert "all-search, single-shot" in table and "indoor-search" in table
    encoded = json.loads(json.dumps(report.to_dict()))
    assert encoded["checkpoint_selection"] == "best Rank-1 on the test set"
    assert len(encoded["settings"][0]["per_trial"]) == 3
    # 4 test identities, <= 16 gallery images: the CMC has the gallery's length, R20 is not reported.
    gallery_size = report["all"].gallery_sizes[0]
    assert gallery_size < 20 and len(report["all"].cmc) == gallery_size
    assert encoded["settings"][0]["rank20"] is None and encoded["settings"][0]["rank10"] is not None
    assert table.splitlines()[2].split()[-4] == "-"  # the R20 column
    valid = report["all"].results[0].num_valid
    assert table.splitlines()[2].endswith(f"{valid}/{len(dataset.query)}")


def test_evaluate_regdb_layout_both_directions_from_one_matrix(synthvi_roots):
    dataset = load_dataset("regdb", synthvi_roots["regdb"], trial=2)
    model = DummyTwoStream()
    report = evaluate(model, dataset, height=HEIGHT, width=WIDTH, progress=False)
    assert [s.key for s in report.settings] == ["visible_to_thermal", "thermal_to_visible"]
    assert report.settings[0].trials == [2]
    transform = make_test_transform(HEIGHT, WIDTH)
    visible, thermal = dataset.test_visible, dataset.test_thermal
    v_feat = extract_features(model, visible, transform, progress=False)
    t_feat = extract_features(model, thermal, transform, progress=False)
    v_pids, t_pids = [s.pid for s in visible], [s.pid for s in thermal]
    v2t = rank_metrics(-(v_feat @ t_feat.T), v_pids, t_pids, rule="regdb")
    t2v = rank_metrics(-(t_feat @ v_feat.T), t_pids, v_pids, rule="regdb")
    assert report["visible_to_thermal"].mAP == pytest.approx(v2t.mAP, abs=1e-6)
    assert report["thermal_to_visible"].mAP == pytest.approx(t2v.mAP, abs=1e-6)
    np.testing.assert_allclose(report["thermal_to_visible"].cmc, t2v.cmc, atol=1e-6)
    merged = merge_reports([report, report])
    assert merged["visible_to_thermal"].trials == [2, 2]
    assert merged["visible_to_thermal"].mAP == pytest.approx(v2t.mAP)


def test_evaluate_features_llcm_and_unused_rows():
    rng = np.random.default_rng(1)
    nir = [Sample(f"/n/{p}_{c}_{n}.jpg", p, c, INFRARED) for p in range(5) for c in (1, 2, 4) for n in range(2)]
    vis = [Sample(f"/v/{p}_{c}_{n}.jpg", p, c, VISIBLE) for p in range(5) for c in (1, 3) for n in range(3)]
    dataset = ReIDDataset("llcm-fake", "/", [], nir, vis, "llcm")
    centres = rng.standard_normal((5, 6))
    q_feat = (centres[[s.pid for s in nir]] + rng.standard_normal((len(nir), 6))).astype(np.float32)
    g_feat = (centres[[s.pid for s in vis]] + rng.standard_normal((len(vis), 6))).astype(np.float32)
    report = evaluate_features(dataset, q_feat, g_feat, trials=range(2))
    assert [s.key for s in report.settings] == ["ir_to_vis", "vis_to_ir"]
    picks = sample_gallery_indices(nir, (1, 2, 4), 1)
    expected = rank_metrics(
        -(q_feat[picks] @ g_feat.T),
        [nir[i].pid for i in picks],
        [s.pid for s in vis],
        [nir[i].cam for i in picks],
        [s.cam for s in vis],
        rule="llcm",
    )
    assert report["vis_to_ir"].results[1].mAP == pytest.approx(expected.mAP, abs=1e-6)
    # Rows no trial uses may be NaN; rows that are used are rejected loudly.
    used = sorted(set(sample_gallery_indices(vis, (1, 3), 0)) | set(sample_gallery_indices(vis, (1, 3), 1)))
    holes = g_feat.copy()
    holes[[i for i in range(len(vis)) if i not in used]] = np.nan
    only_ir_to_vis = evaluate_features(dataset, q_feat, holes, direction="ir_to_vis", trials=range(2))
    assert only_ir_to_vis["ir_to_vis"].mAP == pytest.approx(report["ir_to_vis"].mAP, abs=1e-6)
    with pytest.raises(ValueError, match="NaN"):
        evaluate_features(dataset, q_feat, holes, direction="vis_to_ir", trials=range(2))
    with pytest.raises(ValueError, match="query features must have shape"):
        evaluate_features(dataset, q_feat[:3], g_feat)


def test_model_stays_trainable_after_extraction(image_samples):
    model = DummyTwoStream().train()
    extract_features(model, image_samples[:3], make_test_transform(HEIGHT, WIDTH), device="cpu", progress=False)
    loss = model(torch.randn(2, 3, HEIGHT, WIDTH), torch.tensor([0, 1])).square().sum()
    loss.backward()
    assert all(p.grad is not None for p in model.head.parameters())
