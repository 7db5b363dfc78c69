"""The package's shape: dependencies point one way (cli → commands → runs → workflow → rooms), imports sit
at the top of each module, the registries (architectures, global memories) extend without edits, run
folders name their files in one place, and ``import vireid_core`` stays cheap."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vireid_core.config import MemoryConfig, ModelConfig, get_preset
from vireid_core.errors import UserError
from vireid_core.evaluation import protocol_settings
from vireid_core.learning import global_memories
from vireid_core.learning.global_memories import build_global_memory, configured_global_memory
from vireid_core.learning.memories import HybridMemory
from vireid_core.model import build_from_config, build_model, register_model, registry
from vireid_core.model.small import build_resnet18_small
from vireid_core.run_dir import AblationDir, RunDir, ShippedDir

PACKAGE = Path(__file__).resolve().parent.parent / "vireid_core"
ROOMS = ("data", "model", "association", "learning", "evaluation")
ORCHESTRATION = ("runs", "workflow", "ablation", "shipped", "ladder_rows", "ladder_probes", "ladder_targets")


def _imports() -> dict[str, list[tuple[str, bool]]]:
    """Package module (dotted, relative to vireid_core) → [(imported vireid_core module, inside a function)]."""
    found: dict[str, list[tuple[str, bool]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        tree = ast.parse(path.read_text())
        nested = {
            id(node)
            for fn in ast.walk(tree)
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(fn)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vireid_core"):
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("vireid_core")]
            else:
                continue
            for target in targets:
                found.setdefault(name, []).append((target.removeprefix("vireid_core").lstrip("."), id(node) in nested))
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


def test_package_imports_sit_at_module_top() -> None:
    lazy = sorted(f"{m} -> {t}" for m, edges in _imports().items() for t, inside in edges if inside)
    assert lazy == []


def test_dependencies_point_one_way() -> None:
    edges = {(m, t) for m, targets in _imports().items() for t, _ in targets}
    wrong = set()
    for module, target in edges:
        source, goal = _top(module), _top(target)
        if goal in ("cli", "commands") and source not in ("cli", "commands", "__main__"):
            wrong.add((module, target))
        if source == "commands" and goal == "cli":
            wrong.add((module, target))
        if source in ORCHESTRATION and goal in ("analysis", "viz", "cli", "commands"):
            wrong.add((module, target))
        if source in ROOMS and goal in (*ORCHESTRATION, "analysis", "viz", "cli", "commands"):
            wrong.add((module, target))
        if source in ("workflow", *ORCHESTRATION[2:]) and goal == "runs":
            wrong.add((module, target))
    assert sorted(wrong) == []


def test_import_vireid_core_is_cheap_and_its_face_resolves() -> None:
    code = (
        "import sys, vireid_core as vc; assert 'torch' not in sys.modules; "
        "assert callable(vc.get_preset) and callable(vc.train_run) and vc.__version__; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "ok"


def test_an_architecture_is_one_registered_builder() -> None:
    calls = []

    def tiny(*, last_stride: int = 1, nl_inter_channels: int = 1, width: float = 1.0):
        calls.append((last_stride, width))
        return build_resnet18_small(width=width, last_stride=last_stride, nl_inter_channels=nl_inter_channels)

    register_model("tiny_test", config_options=lambda m: {**registry.resnet_options(m), "width": 0.125})(tiny)
    try:
        model = build_from_config(ModelConfig(arch="tiny_test", pretrained=None, last_stride=2), seed=0)
        assert calls == [(2, 0.125)] and model.feature_dim == 64
        with pytest.raises(ValueError, match="already registered"):
            register_model("tiny_test")(tiny)
    finally:
        registry._ARCHITECTURES.pop("tiny_test")
    with pytest.raises(UserError, match="unknown architecture 'vgg16'; expected one of agw_resnet50, resnet18_small"):
        build_model("vgg16")


def test_config_options_reproduce_the_configured_models() -> None:
    m = ModelConfig(arch="resnet18_small", pretrained=None, width_multiplier=0.25, last_stride=2)
    direct = build_model("resnet18_small", seed=3, width=0.25, last_stride=2, nl_inter_channels=1)
    for a, b in zip(build_from_config(m, seed=3).state_dict().values(), direct.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_global_memories_by_name() -> None:
    rng = np.random.default_rng(0)
    feats = torch.from_numpy(rng.normal(size=(12, 8)).astype(np.float32))
    labels, modality = np.repeat(np.arange(3), 4), np.tile([0, 1], 6)
    settings = MemoryConfig(split_prototypes=False)
    assert configured_global_memory(settings) == "hybrid"
    assert configured_global_memory(MemoryConfig()) == "split_prototypes"
    memory, targets = build_global_memory("hybrid", feats, labels, modality, settings)
    expected = HybridMemory.from_clusters(
        feats, labels, momentum=settings.momentum, temperature=settings.temperature, margin=settings.margin
    )
    assert isinstance(memory, HybridMemory) and np.array_equal(targets, labels)
    assert torch.equal(memory.mean_slots, expected.mean_slots) and memory.margin == expected.margin
    split, proxy = build_global_memory("split_prototypes", feats, labels, modality, MemoryConfig())
    assert split.num_classes == 6 and set(proxy) == set(range(6))
    assert set(global_memories.global_memory_names()) >= {"hybrid", "split_prototypes"}
    with pytest.raises(UserError, match="unknown global memory 'nope'; expected one of split_prototypes, hybrid"):
        build_global_memory("nope", feats, labels, modality, settings)


def test_protocol_settings_are_decided_in_one_place() -> None:
    assert protocol_settings("sysu") == {"mode": ["all", "indoor"]}
    assert protocol_settings("sysu", "tracked") == {"mode": ["all"]}
    assert protocol_settings("sysu", "indoor") == {"mode": ["indoor"]}
    assert protocol_settings("regdb") == {"direction": ["visible_to_thermal", "thermal_to_visible"]}
    assert protocol_settings("regdb", "tracked") == {"direction": ["visible_to_thermal"]}
    assert protocol_settings("llcm") == {"direction": ["ir_to_vis", "vis_to_ir"]}
    with pytest.raises(ValueError, match="protocol"):
        protocol_settings("market")


def test_run_folders_name_their_files_in_one_place(tmp_path) -> None:
    run = RunDir(tmp_path / "r")
    assert [
        p.name
        for p in (
            run.config,
            run.metrics,
            run.last,
            run.results,
            run.probes,
            run.oracle_weights,
            run.stage_last(2),
            run.best(1),
        )
    ] == [
        "config.json",
        "metrics.jsonl",
        "last.pt",
        "results.json",
        "probes.json",
        "oracle.pt",
        "stage2_last.pt",
        "best_stage1.pt",
    ]
    shipped = ShippedDir.of_preset("synthvi-cpu:M3", tmp_path)
    assert shipped.path.name == "synthvi-cpu-M3" and shipped.start.name == "start.pt"
    assert shipped.read_manifest() is None and shipped.stored_config() is None
    folder = AblationDir(tmp_path / "abl")
    for seed in (1, 2):
        folder.run("M1", seed).path.mkdir(parents=True)
    folder.run("M1", 2).results.write_text("{}")
    assert folder.has_row("M1") and not folder.has_row("M2")
    assert folder.finished_seeds("M1") == {2} and folder.summary.name == "ablation.json"


def test_a_registered_architecture_is_accepted_by_config_validation() -> None:
    """Registering an architecture is all it takes for ``--set model.arch=<name>`` to validate."""

    @register_model("layering_test_arch")
    def _builder(**options):  # pragma: no cover - never built here
        return build_model("resnet18_small", width=0.25)

    assert get_preset("synthvi-smoke", {"model.arch": "layering_test_arch"}).model.arch == "layering_test_arch"
    with pytest.raises(UserError, match="model.arch"):
        get_preset("synthvi-smoke", {"model.arch": "not_registered"})
