"""Supervised source pretraining: runs, learns, is deterministic, validates its input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vireid_core.data.records import Sample
from vireid_core.learning.pretrain import pretrain_on_source
from vireid_core.model import build_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def source_samples(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    """3 identities x 2 modalities x 3 images of 32 x 16 pixels (random colours per identity)."""
    root = tmp_path_factory.mktemp("source")
    rng = np.random.default_rng(0)
    samples = []
    for pid in (7, 11, 20):
        base = rng.integers(0, 255, size=3)
        for modality in (0, 1):
            for k in range(3):
                pixels = np.clip(base + rng.normal(0, 20, size=(32, 16, 3)), 0, 255).astype(np.uint8)
                if modality == 1:
                    pixels = np.repeat(pixels.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
                path = root / f"{pid}_{modality}_{k}.png"
                Image.fromarray(pixels).save(path)
                samples.append(Sample(str(path), pid, 1 + modality, modality))
    return samples


def run(samples: list[Sample], iterations: int = 3, seed: int = 0) -> tuple[torch.nn.Module, dict]:
    model = build_model("resnet18_small", width=0.125, seed=1, last_stride=2)
    stats = pretrain_on_source(model, samples, iterations=iterations, batch_size=6, lr=1e-3, height=32,
                               width=16, seed=seed, progress=False)
    return model, stats


def test_pretraining_runs_changes_weights_and_reports(source_samples: list[Sample]) -> None:
    untouched = build_model("resnet18_small", width=0.125, seed=1, last_stride=2)
    model, stats = run(source_samples)
    assert stats["iterations"] == 3 and stats["num_identities"] == 3 and stats["num_images"] == 18
    assert len(stats["losses"]) == 3 and all(np.isfinite(stats["losses"]))
    assert 0.0 <= stats["final_accuracy"] <= 1.0 and stats["images_per_second"] > 0
    assert not torch.equal(model.stems[1].conv1.weight, untouched.stems[1].conv1.weight)
    assert not torch.equal(model.body.layer4[0].conv1.weight, untouched.body.layer4[0].conv1.weight)
    assert model.training  # mode restored


def test_same_seed_same_result_and_global_rng_untouched(source_samples: list[Sample]) -> None:
    torch.manual_seed(5)
    expected_next = torch.rand(1)
    torch.manual_seed(5)
    model_a, stats_a = run(source_samples, seed=3)
    assert torch.equal(torch.rand(1), expected_next)
    model_b, stats_b = run(source_samples, seed=3)
    _, stats_c = run(source_samples, seed=4)
    assert stats_a["losses"] == stats_b["losses"] and stats_a["losses"] != stats_c["losses"]
    for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_loss_goes_down_on_an_easy_source_set(source_samples: list[Sample]) -> None:
    _, stats = run(source_samples, iterations=25)
    assert np.mean(stats["losses"][-5:]) < np.mean(stats["losses"][:5])


def test_bad_input_is_rejected(source_samples: list[Sample], tmp_path: Path) -> None:
    model = build_model("resnet18_small", width=0.125)
    with pytest.raises(ValueError, match="batch_size"):
        pretrain_on_source(model, source_samples, iterations=1, batch_size=100, progress=False)
    unlabelled = [Sample(s.path, -1, s.cam, s.modality) for s in source_samples]
    with pytest.raises(ValueError, match="pid"):
        pretrain_on_source(model, unlabelled, iterations=1, batch_size=4, progress=False)
    one_id = [s for s in source_samples if s.pid == 7]
    with pytest.raises(ValueError, match="2 source identities"):
        pretrain_on_source(model, one_id, iterations=1, batch_size=4, progress=False)
