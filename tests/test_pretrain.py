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
    stats = pretrain_on_source(
        model, samples, iterations=iterations, batch_size=6, lr=1e-3, height=32, width=16, seed=seed, progress=False
    )
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


def start_config(**overrides: object):
    """A config whose pretraining matches :func:`run` (3 steps of 6 images at 32 x 16, seed 0)."""
    from vireid_core.config import get_preset

    return get_preset(
        "synthvi-smoke",
        {
            "seed": 0,
            "data.height": 32,
            "data.width": 16,
            "pretrain.iterations": 3,
            "pretrain.batch_size": 6,
            "pretrain.lr": 1e-3,
            "precision": "fp32",
            **overrides,
        },
    )


def configured_start(samples: list[Sample], **overrides: object) -> tuple[torch.nn.Module, dict]:
    from vireid_core.compute import plan_for_config
    from vireid_core.learning.starts import pretrain_start

    config = start_config(**overrides)
    model = build_model("resnet18_small", width=0.125, seed=1, last_stride=2)
    device = torch.device("cpu")
    stats = pretrain_start(model, samples, config, device=device, progress=False, plan=plan_for_config(config, device))
    return model, stats


def test_default_start_is_the_plain_both_modality_pretraining(source_samples: list[Sample]) -> None:
    """pretrain.modalities=both and channel_aug=0 (the keys' dataclass defaults; the synthvi presets now
    choose the visible-only start) make exactly the call made before the keys existed."""
    from vireid_core.compute import compute_plan
    from vireid_core.config import PretrainConfig

    assert (PretrainConfig().modalities, PretrainConfig().channel_aug) == ("both", 0.0)
    model, stats = configured_start(source_samples, **{"pretrain.modalities": "both", "pretrain.channel_aug": 0.0})
    plain = build_model("resnet18_small", width=0.125, seed=1, last_stride=2)
    expected = pretrain_on_source(
        plain,
        source_samples,
        iterations=3,
        batch_size=6,
        lr=1e-3,
        height=32,
        width=16,
        seed=0,
        progress=False,
        plan=compute_plan("cpu", "fp32"),
    )
    assert stats["losses"] == expected["losses"]
    for a, b in zip(model.state_dict().values(), plain.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_visible_start_never_sees_infrared_and_copies_its_stem(source_samples: list[Sample]) -> None:
    untouched = build_model("resnet18_small", width=0.125, seed=1, last_stride=2)
    model, stats = configured_start(source_samples, **{"pretrain.modalities": "visible"})
    assert stats["num_images"] == sum(s.modality == 0 for s in source_samples) == 9
    for key, value in model.stems[0].state_dict().items():
        assert torch.equal(value, model.stems[1].state_dict()[key]), key
    assert not torch.equal(model.stems[1].conv1.weight, untouched.stems[1].conv1.weight)


def test_channel_augmentation_of_visible_source_images(source_samples: list[Sample]) -> None:
    from vireid_core.learning.pretrain import EitherView

    first, second = (lambda image: "view 1"), (lambda image: "view 2")
    assert {EitherView(first, second, 0.0)(None) for _ in range(20)} == {"view 1"}
    assert {EitherView(first, second, 1.0)(None) for _ in range(20)} == {"view 2"}
    _, plain = configured_start(source_samples, **{"pretrain.modalities": "visible"})
    _, augmented = configured_start(source_samples, **{"pretrain.modalities": "visible", "pretrain.channel_aug": 1.0})
    assert plain["losses"] != augmented["losses"]
    with pytest.raises(ValueError, match="pretrain.channel_aug"):
        start_config(**{"pretrain.channel_aug": 1.5})
    with pytest.raises(ValueError, match="pretrain.modalities"):
        start_config(**{"pretrain.modalities": "infrared"})
