"""The fast CPU path (vireid_core.compute): which precision "auto" picks, and what bfloat16 autocast and
channels-last do (and do not do) to the network, its BatchNorm statistics, the memories and the losses."""

from __future__ import annotations

import copy

import pytest
import torch

from vireid_core import compute
from vireid_core.compute import autocast_dtype_for, compute_plan, guard_bf16_convolutions, plan_for_config
from vireid_core.config import get_preset
from vireid_core.learning.memories import HybridMemory
from vireid_core.learning.setup import build_configured_model


def _tiny_model():
    config = get_preset("synthvi-smoke", {"pretrain.enabled": False})
    return build_configured_model(config)


def test_auto_follows_the_cpu_flags_and_fp32_is_always_float32(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(compute, "_HAS_BF16_UNITS", True)
    assert autocast_dtype_for("auto", cpu) is torch.bfloat16
    monkeypatch.setattr(compute, "_HAS_BF16_UNITS", False)
    assert autocast_dtype_for("auto", cpu) is None
    assert autocast_dtype_for("bf16", cpu) is torch.bfloat16
    assert autocast_dtype_for("auto", cuda) is torch.float16
    assert autocast_dtype_for("auto", cuda, amp=False) is None
    for device in (cpu, cuda):
        assert autocast_dtype_for("fp32", device) is None
    with pytest.raises(ValueError, match="precision"):
        autocast_dtype_for("half", cpu)


def test_config_keys_reach_the_plan():
    config = get_preset("synthvi-smoke", {"precision": "fp32", "channels_last": False})
    plan = plan_for_config(config, torch.device("cpu"))
    assert plan.autocast_dtype is None and not plan.channels_last
    with pytest.raises(ValueError, match="precision"):
        get_preset("synthvi-smoke", {"precision": "fp8"})


def test_channels_last_gives_the_same_features():
    torch.manual_seed(0)
    model = _tiny_model().eval()
    fast = copy.deepcopy(model)
    plan = compute_plan("cpu", "fp32", channels_last=True)
    plan.prepare_model(fast)
    images = torch.randn(6, 3, 64, 32)
    modality = torch.tensor([0, 1, 0, 1, 1, 0])
    with torch.no_grad():
        reference = model(images, modality)
        got = fast(plan.images(images), modality)
    assert plan.images(images).is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, reference, atol=1e-5, rtol=1e-4)


def test_bf16_training_step_keeps_features_memories_losses_and_bn_statistics_float32():
    torch.manual_seed(0)
    reference = _tiny_model().train()
    fast = copy.deepcopy(reference)
    plan = compute_plan("cpu", "bf16", channels_last=True)
    plan.prepare_model(fast)
    images = torch.randn(16, 3, 64, 32)
    modality = torch.tensor([0, 1] * 8)
    targets = torch.arange(16) % 4
    centroids = torch.nn.functional.normalize(torch.randn(16, reference.feature_dim), dim=1)
    losses = {}
    for name, model, ctx in (
        ("fp32", reference, torch.autocast("cpu", enabled=False)),
        ("bf16", fast, plan.autocast()),
    ):
        memory = HybridMemory.from_clusters(centroids, targets.numpy(), momentum=0.1, temperature=0.05, margin=0.2)
        with ctx:
            feats = model(plan.images(images) if name == "bf16" else images, modality)
        assert feats.dtype == torch.float32  # GeM pooling and the BN neck compute in float32
        loss = memory.loss(feats.float(), targets)
        assert loss.dtype == torch.float32
        loss.backward()
        memory.update(feats.detach().float(), targets)
        assert all(t.dtype == torch.float32 for t in memory.state_dict().values() if t.is_floating_point())
        losses[name] = float(loss.detach())
    for (name, buf), (_, ref) in zip(fast.named_buffers(), reference.named_buffers(), strict=True):
        assert buf.dtype == ref.dtype, name  # running statistics stay float32 under autocast
        if buf.is_floating_point():
            # one bf16 step moves the running mean/var by a momentum-weighted batch statistic:
            # within bf16 rounding of the fp32 run
            torch.testing.assert_close(buf, ref, atol=2e-2, rtol=2e-2, msg=name)
    assert abs(losses["bf16"] - losses["fp32"]) < 0.05 * abs(losses["fp32"]) + 1e-3
    for (name, p), (_, q) in zip(fast.named_parameters(), reference.named_parameters(), strict=True):
        if not p.requires_grad:  # the BN neck bias is frozen
            continue
        assert p.grad is not None and p.grad.dtype == torch.float32, name
        assert torch.isfinite(p.grad).all() and torch.isfinite(q.grad).all(), name


def test_bf16_one_column_convolution_runs_in_float32_and_others_stay_bf16():
    # PyTorch 2.14's AMX bf16 kernels break a stride-2 3x3 convolution with a one-column output
    # (vireid_core/compute.py); the guard computes exactly that shape in float32, and only that shape.
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(64, 128, 3, stride=2, padding=1, bias=False)
    guard_bf16_convolutions(torch.nn.Sequential(conv))
    for width, guarded in ((2, True), (1, True), (4, False)):
        x = torch.relu(torch.randn(16, 64, 4, width))
        with torch.no_grad():
            reference = torch.nn.functional.conv2d(x, conv.weight, stride=2, padding=1)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = conv(x)
        assert out.dtype == (torch.float32 if guarded else torch.bfloat16), width
        assert torch.isfinite(out).all()
        error = float((out.float() - reference).norm() / reference.norm())
        assert error < (1e-6 if guarded else 2e-2), (width, error)
    assert guard_bf16_convolutions(torch.nn.Sequential(conv)) is not None  # idempotent
    plan = compute_plan("cpu", "bf16", channels_last=True)
    model = plan.prepare_model(_tiny_model())
    assert all("forward" in vars(m) for m in model.modules() if isinstance(m, torch.nn.Conv2d) and max(m.stride) > 1)
