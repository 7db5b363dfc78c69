"""The paper-reproduction setting (``<preset>:paper``): the official code's run settings (best test Rank-1
checkpoints for both stages, float32 throughout, feature extraction included) and report labels that say
which checkpoint every number comes from."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from vireid_core import commands, compute, workflow
from vireid_core.ablation import row_config
from vireid_core.compute import compute_plan, plan_for_config
from vireid_core.config import ABLATIONS, PAPER_SETTINGS, get_preset
from vireid_core.config.checks import flatten
from vireid_core.data.records import Sample
from vireid_core.data.tensor_transforms import test_pipeline
from vireid_core.errors import UserError
from vireid_core.evaluation import extract_features
from vireid_core.learning.callbacks import Callback
from vireid_core.runs import train_run


def _flat(config) -> dict:
    return dict(flatten(config.to_dict()))


@pytest.mark.parametrize("base", ["sysu", "regdb", "llcm"])
def test_paper_changes_only_the_run_settings(base: str) -> None:
    plain, paper = get_preset(base), get_preset(f"{base}:paper")
    changed = {key for key, value in _flat(paper).items() if _flat(plain)[key] != value}
    assert changed == {"preset", *PAPER_SETTINGS}
    assert paper.preset == f"{base}:paper"
    assert (paper.schedule.stage2_init, paper.schedule.checkpoint_selection) == ("best", "best")
    assert paper.amp is False and paper.precision == "fp32" and paper.schedule.eval_every == 2


def test_paper_and_an_ablation_combine_in_either_order() -> None:
    first, second = get_preset("sysu:paper:M3"), get_preset("sysu:M3:paper")
    assert first.to_dict() == second.to_dict() and first.preset == "sysu:paper:M3"
    flat = _flat(first)
    assert all(flat[key] == value for key, value in {**ABLATIONS["M3"], **PAPER_SETTINGS}.items())
    m1 = get_preset("regdb:paper:M1")
    assert (m1.schedule.stage1.epochs, m1.schedule.stage2.epochs) == (100, 0)
    assert row_config("sysu:paper", "M4", 2).preset == "sysu:paper:M4"  # what `ablation --preset sysu:paper` trains
    assert get_preset("synthvi-cpu:M3").preset == "synthvi-cpu:M3"  # existing names unchanged


@pytest.mark.parametrize(
    "name, overrides, needle",
    [
        ("sysu:paper:paper", {}, "at most one"),
        ("sysu:M3:M4", {}, "at most one"),
        ("sysu:M9", {}, "unknown ablation"),
        ("sysu:paper", {"schedule.eval_every": 0}, "eval_every is 0"),
        ("synthvi-cpu:paper", {}, "eval_every is 0"),  # the demo preset never evaluates during training
    ],
)
def test_impossible_paper_requests_are_user_errors(name: str, overrides: dict, needle: str) -> None:
    with pytest.raises(UserError, match=needle):
        get_preset(name, overrides)


def test_paper_plan_is_float32_on_every_device(monkeypatch) -> None:
    monkeypatch.setattr(compute, "_HAS_BF16_UNITS", True)  # a CPU where "auto" would pick bf16
    paper, plain = get_preset("sysu:paper"), get_preset("sysu")
    for device in ("cpu", "cuda"):  # a torch.device("cuda") plan needs no GPU
        assert plan_for_config(paper, torch.device(device)).autocast_dtype is None
    assert plan_for_config(plain, torch.device("cuda")).autocast_dtype is torch.float16
    assert plan_for_config(plain, torch.device("cpu")).autocast_dtype is torch.bfloat16


class AutocastRecorder(nn.Module):
    """A two-stem stand-in that records whether autocast was on (and in which dtype) in each forward."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(3, 4)
        self.seen: list[tuple[bool, torch.dtype]] = []

    def forward(self, images: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        device = images.device.type
        self.seen.append((torch.is_autocast_enabled(device), self.head(images.mean(dim=(2, 3))).dtype))
        return nn.functional.normalize(self.head(images.mean(dim=(2, 3))).float(), dim=1)


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> list[Sample]:
    """One random image read four times, twice through each stem (only the compute path matters here)."""
    path = tmp_path_factory.mktemp("paper_images") / "image.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 8, 3), dtype=np.uint8)).save(path)
    return [Sample(str(path), 0, 1, modality) for modality in (0, 1, 0, 1)]


def _extract_with(plan: compute.ComputePlan, samples: list[Sample], device: str = "cpu") -> AutocastRecorder:
    model = AutocastRecorder().to(device)
    extract_features(model, samples, test_pipeline(16, 8), batch_size=2, device=device, progress=False, plan=plan)
    return model


def test_extraction_follows_the_run_plan_on_cpu(samples) -> None:
    fp32 = _extract_with(
        plan_for_config(get_preset("synthvi-smoke:paper", {"schedule.eval_every": 1}), torch.device("cpu")), samples
    )
    assert fp32.seen and all(seen == (False, torch.float32) for seen in fp32.seen)
    bf16 = _extract_with(compute_plan("cpu", "bf16"), samples)
    assert bf16.seen and all(seen == (True, torch.bfloat16) for seen in bf16.seen)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_extraction_follows_amp_on_cuda(samples) -> None:
    cuda = torch.device("cuda")
    fp32 = _extract_with(plan_for_config(get_preset("sysu:paper"), cuda), samples, "cuda")
    assert all(seen == (False, torch.float32) for seen in fp32.seen)
    fp16 = _extract_with(plan_for_config(get_preset("sysu"), cuda), samples, "cuda")
    assert all(seen == (True, torch.float16) for seen in fp16.seen)


def test_run_evaluations_and_the_evaluate_command_use_the_config_plan(monkeypatch, tmp_path) -> None:
    paper = get_preset("synthvi-smoke:paper", {"schedule.eval_every": 1, "channels_last": False})
    seen: list = []

    class Report:
        def table(self) -> str:
            return "table"

        def to_dict(self) -> dict:
            return {}

    def fake_protocol(model, dataset, settings=None, **kwargs):
        seen.append(kwargs["plan"])
        return Report()

    monkeypatch.setattr(workflow, "evaluate_protocol", fake_protocol)
    monkeypatch.setattr(workflow, "mean_metrics", lambda report: {})
    workflow.evaluate_run(nn.Linear(1, 1), None, paper, device="cpu")
    loaded = workflow.LoadedModel(nn.Linear(1, 1), 64, 32, "last epoch (last.pt, stage 2, epoch 0)", paper)
    monkeypatch.setattr(commands, "evaluate_protocol", fake_protocol)
    monkeypatch.setattr(commands, "open_checkpoint", lambda path: loaded)
    monkeypatch.setattr(commands, "load_dataset", lambda name, root, **kwargs: None)
    args = argparse.Namespace(
        dataset="sysu",
        data_root=str(tmp_path),
        trials=1,
        json=str(tmp_path / "r.json"),
        checkpoint=str(tmp_path / "last.pt"),
        selection=None,
        trial=1,
        mode=None,
        shots=1,
        no_progress=True,
    )
    assert commands.run_evaluate(args) == 0
    assert [(plan.autocast_dtype, plan.channels_last) for plan in seen] == [(None, False), (None, False)]


def test_a_paper_run_reports_each_stage_best_checkpoint(tmp_path: Path, monkeypatch) -> None:
    """Both stages evaluated every epoch: stage 2 starts from stage 1's best, and each stage's numbers
    are its best checkpoint's, labelled with the file and epoch."""
    monkeypatch.chdir(tmp_path)
    config = get_preset("synthvi-smoke:paper", {"pretrain.enabled": False, "threads": 1, "schedule.eval_every": 1})
    messages: list[str] = []

    class Messages(Callback):
        def on_message(self, text: str) -> None:
            messages.append(text)

    result = train_run(
        config, tmp_path / "run", callbacks=[Messages()], cache_dir=tmp_path / "cache", progress=False, final_trials=1
    )
    selection = result.evaluations["selection"]
    assert selection["stage 1"] == "best on test Rank-1 (stage 1, epoch 0, best_stage1.pt)"
    assert selection["stage 2"] == "best on test Rank-1 (stage 2, epoch 0, best_stage2.pt)"
    assert selection["checkpoint"] == selection["stage 2"]
    assert any("best on test, as the paper" in m for m in messages)  # stage 2 started from best_stage1.pt
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert "notes" not in saved and saved["evaluations"]["selection"] == selection
