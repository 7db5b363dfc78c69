"""Two-stream models: forward contract, AGW parts, weight loading and the official key mapping."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torchvision

from vireid_core.model import (
    GeneralizedMeanPooling,
    NonLocalBlock,
    build_model,
    load_official_checkpoint,
    load_pretrained_weights,
    packaged_effnet_lite0_path,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def agw() -> torch.nn.Module:
    return build_model("agw_resnet50", seed=0)


def small(**kw) -> torch.nn.Module:
    return build_model("resnet18_small", width=0.25, seed=0, **kw)


# ------------------------------------------------------------------------------------ forward contract
@pytest.mark.parametrize("arch, kw, dim", [("resnet18_small", {"width": 0.25}, 128), ("effnet_lite0", {}, 1280)])
def test_forward_shapes_and_modes(arch: str, kw: dict, dim: int) -> None:
    model = build_model(arch, seed=0, **kw)
    images, modality = torch.randn(4, 3, 64, 32), torch.tensor([1, 0, 0, 1])
    assert model.feature_dim == dim
    raw = model(images, modality)
    assert raw.shape == (4, dim) and not torch.allclose(raw.norm(dim=1), torch.ones(4))
    model.eval()
    with torch.no_grad():
        assert torch.allclose(model(images, modality).norm(dim=1), torch.ones(4), atol=1e-5)


def test_agw_layout(agw: torch.nn.Module) -> None:
    assert agw.feature_dim == 2048
    assert len(agw.body.nl_layer2) == 2 and len(agw.body.nl_layer3) == 3
    assert agw.body.non_local_positions == {"layer2": (2, 3), "layer3": (3, 4, 5)}
    assert all(block.inter_channels == 1 for block in [*agw.body.nl_layer2, *agw.body.nl_layer3])
    assert agw.body.layer4[0].conv2.stride == (1, 1) and agw.body.layer4[0].downsample[0].stride == (1, 1)
    neck = agw.bottleneck
    assert not neck.bias.requires_grad and torch.all(neck.bias == 0)
    assert abs(float(neck.weight.detach().mean()) - 1) < 0.01 and 0.005 < float(neck.weight.detach().std()) < 0.015
    with torch.no_grad():
        stem_map = agw.stems[0](torch.randn(1, 3, 288, 144))
        assert agw.body(stem_map).shape == (1, 2048, 18, 9)  # last stride 1 keeps 18 x 9


def test_agw_forward_mixed_and_single_modality(agw: torch.nn.Module) -> None:
    agw.train()
    images = torch.randn(3, 3, 64, 32)
    assert agw(images, torch.tensor([0, 1, 0])).shape == (3, 2048)
    assert agw(images, torch.ones(3, dtype=torch.long)).shape == (3, 2048)


def test_rows_use_their_own_stem_and_keep_their_order() -> None:
    model = small().eval()
    with torch.no_grad():
        model.stems[1].conv1.weight.mul_(-1.0)  # make the stems clearly different
        images = torch.randn(5, 3, 64, 32)
        modality = torch.tensor([0, 1, 1, 0, 1])
        mixed = model(images, modality)
        per_row = torch.cat([model(images[i : i + 1], modality[i : i + 1]) for i in range(5)])
        assert torch.allclose(mixed, per_row, atol=1e-5)
        flipped = model(images, 1 - modality)
        assert not torch.allclose(mixed, flipped, atol=1e-3)
        permutation = torch.tensor([4, 2, 0, 3, 1])
        assert torch.allclose(model(images[permutation], modality[permutation]), mixed[permutation], atol=1e-5)


def test_shared_bn_sees_the_mixed_batch_in_train_mode() -> None:
    model = small()
    images, modality = torch.randn(6, 3, 64, 32), torch.tensor([0, 0, 0, 1, 1, 1])
    together = model(images, modality)
    apart = torch.cat([model(images[:3], modality[:3]), model(images[3:], modality[3:])])
    assert not torch.allclose(together, apart, atol=1e-4)


def test_bad_modality_input_is_rejected() -> None:
    model = small()
    with pytest.raises(ValueError, match="0 \\(visible\\) or 1"):
        model(torch.randn(2, 3, 64, 32), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="shape"):
        model(torch.randn(2, 3, 64, 32), torch.tensor([0]))
    with pytest.raises(ValueError, match="integer"):
        model(torch.randn(2, 3, 64, 32), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("vgg16")
    with pytest.raises(ValueError, match="bad options"):
        build_model("effnet_lite0", width=0.5)


def test_seed_gives_same_weights_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a, b = small(), small()
    assert torch.equal(torch.rand(1), expected_next)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name


def test_resnet18_small_options() -> None:
    model = build_model("resnet18_small", width=0.5, blocks=(1, 1, 1, 1), non_local=True, last_stride=2)
    assert model.feature_dim == 256 and len(model.body.layer1) == 1
    assert model.body.non_local_positions == {"layer2": (0,), "layer3": (0,)}
    assert model(torch.randn(2, 3, 64, 32), torch.tensor([0, 1])).shape == (2, 256)


# ----------------------------------------------------------------------------------------- AGW parts
def test_non_local_block_matches_explicit_attention_and_starts_as_identity() -> None:
    torch.manual_seed(0)
    block = NonLocalBlock(6, inter_channels=2)
    x = torch.randn(2, 6, 5, 3)
    assert torch.allclose(block.eval()(x), x)  # BN weight and bias start at 0
    torch.nn.init.normal_(block.W[1].weight)
    with torch.no_grad():
        g = block.g(x).flatten(2).transpose(1, 2)
        theta = block.theta(x).flatten(2).transpose(1, 2)
        phi = block.phi(x).flatten(2)
        attention = theta @ phi / 15  # [B, HW, HW], no softmax
        y = (attention @ g).transpose(1, 2).reshape(2, 2, 5, 3)
        assert torch.allclose(block(x), x + block.W(y), atol=1e-5)


def test_gem_pooling_value() -> None:
    x = torch.tensor([1.0, 2.0, 3.0, 0.0]).reshape(1, 1, 2, 2)
    expected = ((1 + 8 + 27 + 0) / 4 + 1e-12) ** (1 / 3)
    assert GeneralizedMeanPooling()(x).item() == pytest.approx(expected, rel=1e-6)
    assert math.isfinite(GeneralizedMeanPooling()(torch.zeros(1, 1, 2, 2)).item())


# ------------------------------------------------------------------------------------- weight loading
def test_torchvision_resnet_weights_go_to_both_stems_and_the_body(tmp_path: Path) -> None:
    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    model = build_model("resnet18_small", pretrained=str(path), last_stride=2)
    for m in (0, 1):
        assert torch.equal(model.stems[m].conv1.weight, reference.conv1.weight)
        assert torch.equal(model.stems[m].bn1.running_var, reference.bn1.running_var)
    assert torch.equal(model.body.layer3[1].conv2.weight, reference.layer3[1].conv2.weight)
    with pytest.raises(ValueError, match=r"resnet18\.pth.*shape mismatches"):
        build_model("resnet18_small", width=0.5, pretrained=str(path))


def test_weight_file_errors_name_file_and_keys(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        build_model("resnet18_small", pretrained=str(tmp_path / "nope.pth"))
    state = torchvision.models.resnet18(weights=None).state_dict()
    del state["layer2.0.conv1.weight"]
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    with pytest.raises(
        ValueError,
        match=r"broken\.pth.*missing keys: body\.layer2\.0\.conv1\.weight.*"
        r"unexpected keys: extra\.weight",
    ):
        load_pretrained_weights(build_model("resnet18_small"), path)


def test_packaged_effnet_weights_load_offline() -> None:
    state = torch.load(packaged_effnet_lite0_path(), map_location="cpu", weights_only=True)
    model = build_model("effnet_lite0", pretrained="imagenet")
    for m in (0, 1):
        assert torch.equal(model.stems[m].conv.weight, state["_conv_stem.weight"])
    assert torch.equal(model.body.blocks[3]._depthwise_conv.weight, state["_blocks.3._depthwise_conv.weight"])
    assert torch.equal(model.body.bn_head.running_mean, state["_bn1.running_mean"])


def _official_names(own: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our agw_resnet50 state dict written with the official BMIL key names (plus unused parts)."""
    official = {}
    for key, value in own.items():
        if key.startswith("stems.0."):
            name = "visible_module.visible." + key[len("stems.0.") :]
        elif key.startswith("stems.1."):
            name = "thermal_module.thermal." + key[len("stems.1.") :]
        elif key.startswith("body.nl_layer2."):
            name = "NL_2." + key[len("body.nl_layer2.") :]
        elif key.startswith("body.nl_layer3."):
            name = "NL_3." + key[len("body.nl_layer3.") :]
        elif key.startswith("body."):
            name = "base_resnet.base." + key[len("body.") :]
        else:
            name = key
        official["module." + name] = value.clone()
    official["module.classifier.weight"] = torch.zeros(1000, 2048)
    official["module.visible_module.visible.layer1.0.conv1.weight"] = torch.zeros(64, 64, 1, 1)
    official["module.base_resnet.base.fc.weight"] = torch.zeros(1000, 2048)
    return official


def test_official_checkpoint_mapping(tmp_path: Path, agw: torch.nn.Module) -> None:
    source = build_model("agw_resnet50", seed=5)
    with torch.no_grad():
        for block in source.body.nl_layer3:
            block.W[1].weight.normal_()
    official = _official_names(source.state_dict())
    assert "module.NL_3.2.W.1.weight" in official and "module.NL_2.0.g.0.weight" in official
    path = tmp_path / "train_model_best.pth.tar"
    torch.save({"state_dict": official, "epoch": 3}, path)
    load_official_checkpoint(agw, path)
    for (name, a), b in zip(agw.state_dict().items(), source.state_dict().values(), strict=True):
        assert torch.equal(a, b), name

    official["module.mystery.weight"] = torch.zeros(1)
    del official["module.bottleneck.running_var"]
    torch.save(official, path)
    with pytest.raises(ValueError, match=r"missing keys: bottleneck\.running_var.*module\.mystery\.weight"):
        load_official_checkpoint(agw, path)
    with pytest.raises(ValueError, match="agw_resnet50"):
        load_official_checkpoint(small(), path)
