"""The pieces of a run: its data, its starting model, a model rebuilt from a checkpoint, its evaluation.

SynthVI sets and source-pretrained starts are cached under ``cache_dir`` (keyed by everything that
decides them), so notebooks and ablation runs share one generation and one pretraining; a start
shipped in ``models/synthvi/`` stands in for a missing cached one. :func:`open_checkpoint` is the one
way a model is rebuilt from a checkpoint file and :func:`evaluate_run` the one way a run evaluates
one (through :func:`vireid_core.evaluation.evaluate_protocol`). Whole runs are in :mod:`vireid_core.runs`.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vireid_core.compute import ComputePlan, plan_for_config
from vireid_core.config import RunConfig, stable_digest
from vireid_core.data import load_dataset
from vireid_core.data.dataset import ReIDDataset
from vireid_core.data.layout import camera_folders, list_images, person_folders
from vireid_core.data.records import INFRARED, VISIBLE, Sample
from vireid_core.data.synthvi import GENERATOR_VERSION, SynthVIConfig, write_dataset, write_source_set
from vireid_core.data.synthvi.manifest import manifest_key, read_manifest
from vireid_core.errors import UserError
from vireid_core.evaluation import evaluate_protocol, mean_metrics
from vireid_core.learning.checkpoints import load_checkpoint, load_model_weights, save_checkpoint
from vireid_core.learning.setup import build_configured_model, resolve_device
from vireid_core.learning.starts import pretrain_start
from vireid_core.model import build_model, load_official_checkpoint
from vireid_core.run_dir import SHIPPED_ROOT, ShippedDir

DEFAULT_CACHE = Path("data_cache")


def synthvi_config(config: RunConfig) -> SynthVIConfig:
    """The SynthVI generator config of ``config``: ``data.synthvi`` at the run's image size (``data.height``
    × ``data.width``, the one place that decides it; :meth:`~vireid_core.config.DataConfig.generator_config`)."""
    return config.data.generator_config()


def synthvi_digest(synth: SynthVIConfig) -> str:
    """The cache key of a SynthVI set: its generator settings and the generator's version (a new
    generator draws other images from the same settings, so it must not reuse an older cache)."""
    return stable_digest({**synth.to_dict(), "generator_version": GENERATOR_VERSION})


def synthvi_root(config: RunConfig, cache_dir: str | Path = DEFAULT_CACHE) -> Path:
    """Where the SynthVI target set of ``config`` lives (``data.root`` if set, else in the cache)."""
    if config.data.root:
        return Path(config.data.root)
    return Path(cache_dir) / f"synthvi-sysu-{synthvi_digest(synthvi_config(config))}"


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


def _synthvi_target(config: RunConfig, cache_dir: str | Path, progress: bool, notify: Callable[[str], None]) -> Path:
    """The SynthVI folder to train on, generated only where vireid may write.

    Without ``data.root`` the set lives in the cache (generated once). A ``data.root`` the user gave is
    read-only: it is generated into only when it is missing or empty, or to finish a generation vireid
    itself started there with the same settings; a folder holding anything else is read as it is.
    """
    synth = synthvi_config(config)
    root = synthvi_root(config, cache_dir)
    if not config.data.root or not root.exists() or (root.is_dir() and not any(root.iterdir())):
        return write_dataset(root, "sysu", synth, progress=progress)
    manifest = read_manifest(root) if root.is_dir() else None
    if manifest is None:
        return root
    expected = manifest_key("sysu", synth)
    same = {k: manifest.get(k) for k in expected} == expected
    if not manifest.get("complete"):
        if same:
            return write_dataset(root, "sysu", synth, progress=progress)
        raise UserError(
            f"{root}: holds an interrupted SynthVI generation with other settings; finish it with the "
            "'synth' command that started it, or pass a complete dataset folder as --data-root"
        )
    if not same:
        notify(
            f"note: {root} holds a SynthVI set written with other settings than this config's data.synthvi.* "
            "keys; training on the folder as it is (vireid never rewrites a --data-root)"
        )
    return root


def prepare_dataset(
    config: RunConfig,
    cache_dir: str | Path = DEFAULT_CACHE,
    *,
    progress: bool = True,
    notify: Callable[[str], None] = _stderr,
) -> ReIDDataset:
    """Load the dataset ``config.data`` names; SynthVI is generated first when vireid may write it.

    ``data.root`` is never modified (see :func:`_synthvi_target`); ``notify`` receives notes about it.
    Returns a :class:`ReIDDataset`. Raises :class:`~vireid_core.errors.UserError` (path variants are
    also ``FileNotFoundError``) naming the path for missing or malformed datasets.
    """
    d = config.data
    if d.dataset == "synthvi":
        return load_dataset("sysu", _synthvi_target(config, cache_dir, progress, notify))
    if not d.root:
        raise UserError(
            f"config key 'data.root' is empty: give the folder of the {d.dataset!r} dataset (--data-root DIR)"
        )
    kwargs = {"trial": d.trial} if d.dataset == "regdb" else {}
    return load_dataset(d.dataset, d.root, **kwargs)


def source_samples(root: str | Path) -> list[Sample]:
    """Every image of a SynthVI source set (SYSU layout, all ids in training), with its identity label.

    Labelled source data for pretraining only; never the target set. Cameras 3 and 6 are infrared.
    """
    root = Path(root)
    samples = []
    for cam, cam_dir in camera_folders(root).items():
        modality = INFRARED if cam in (3, 6) else VISIBLE
        for pid, person_dir in person_folders(cam_dir).items():
            samples.extend(Sample(str(path), pid, cam, modality) for path in list_images(person_dir))
    if not samples:
        raise UserError(f"{root}: no images found in cam*/<id>/ folders; expected a SynthVI source set")
    return samples


def pretrained_cache_path(config: RunConfig, cache_dir: str | Path = DEFAULT_CACHE) -> Path:
    """Where the source-pretrained start of ``config`` is cached: keyed by the model, pretraining and
    source-set settings and the seed."""
    settings = config.to_dict()
    pretrain = dict(settings["pretrain"])
    # Keys added after starts were first cached and shipped, dropped at the value that reproduces the
    # earlier pretraining, so those starts keep their key.
    for key, earlier in (("modalities", "both"), ("channel_aug", 0.0)):
        if pretrain.get(key) == earlier:
            pretrain.pop(key)
    key = stable_digest(
        {
            "model": settings["model"],
            "pretrain": pretrain,
            "source": synthvi_config(config).to_dict(),
            "seed": config.seed,
        }
    )
    return Path(cache_dir) / f"pretrained-{key}.pt"


def shipped_start(config: RunConfig, root: str | Path = SHIPPED_ROOT) -> Path | None:
    """The shipped ``start.pt`` pretrained with the settings that decide ``config``'s start (model,
    pretraining, source set, seed: :func:`pretrained_cache_path`), or None."""
    folder = ShippedDir.of_preset(config.preset, root)
    stored = folder.stored_config()
    if stored is None or not folder.start.is_file() or not config.pretrain.enabled:
        return None
    if pretrained_cache_path(stored).name != pretrained_cache_path(config).name:
        return None
    return folder.start


def prepare_model(
    config: RunConfig, cache_dir: str | Path = DEFAULT_CACHE, *, progress: bool = True, use_shipped: bool = True
) -> torch.nn.Module:
    """The starting model: built from the config, then (if enabled) pretrained on the SynthVI source set.

    Source pretraining uses a disjoint, labelled set of SynthVI identities (never the target set), in
    both modalities or visible only (``pretrain.modalities``, :mod:`vireid_core.learning.starts`); its
    result is cached in ``cache_dir`` keyed by the model, pretraining and source-set settings. When the
    cache has none and ``use_shipped``, the shipped start of the same settings (``models/synthvi/``)
    is used instead of pretraining; ``train_run`` passes ``use_shipped=False`` so a training run
    retrains its start unless the cache has it.
    """
    model = build_configured_model(config)
    if not config.pretrain.enabled:
        return model
    source_cfg = synthvi_config(config)
    cached = pretrained_cache_path(config, cache_dir)
    if not cached.is_file() and use_shipped:
        cached = shipped_start(config) or cached
    if cached.is_file():
        return load_model_weights(model, load_checkpoint(cached)["model"], f"pretrained weights {cached}")
    source_root = write_source_set(
        Path(cache_dir) / f"synthvi-source-{synthvi_digest(source_cfg)}", source_cfg, progress=progress
    )
    device = resolve_device(config.device)
    # which source images and augmentations: config.pretrain.modalities / channel_aug (learning/starts.py)
    stats = pretrain_start(
        model,
        source_samples(source_root),
        config,
        device=device,
        progress=progress,
        plan=plan_for_config(config, device),
    )
    model.cpu()
    save_checkpoint(cached, {"model": model.state_dict(), "pretrain_stats": stats})
    return model


def synthvi_regdb(
    config: RunConfig, cache_dir: str | Path = DEFAULT_CACHE, *, n_ids: int = 60, trial: int = 1, progress: bool = False
) -> ReIDDataset:
    """A SynthVI set in the RegDB layout (``n_ids`` persons, 10 visible + 10 thermal images each), drawn
    with the SynthVI settings of ``config``, written once into ``cache_dir`` and loaded for ``trial``.

    Returns a :class:`ReIDDataset` with protocol "regdb" (evaluated in both directions).
    """
    if n_ids < 4:
        raise ValueError(f"n_ids must be at least 4 (RegDB splits persons into train and test), got {n_ids}")
    synth = synthvi_config(config).with_(regdb_n_ids=int(n_ids))
    root = write_dataset(Path(cache_dir) / f"synthvi-regdb-{synthvi_digest(synth)}", "regdb", synth, progress=progress)
    return load_dataset("regdb", root, trial=trial)


# ---------------------------------------------------------------------- a model from a checkpoint file
OFFICIAL_IMAGE_SIZE = (288, 144)  # height, width the official BMIL code trains and tests at


@dataclass(frozen=True)
class LoadedModel:
    """A model rebuilt from a checkpoint file.

    Attributes:
        model: the network with the file's weights, eval mode, on the CPU.
        height, width: the image size (pixels) it was trained for, which its evaluation uses.
        label: which model the file holds (:func:`describe_checkpoint`), for report labels.
        config: the config it was built from (None for official BMIL weights).
    """

    model: torch.nn.Module
    height: int
    width: int
    label: str
    config: RunConfig | None


def describe_checkpoint(path: str | Path, state: dict[str, Any]) -> str:
    """Which model a checkpoint holds, for report labels, e.g. ``"last epoch (last.pt, stage 2, epoch 5)"``."""
    name = Path(path).name
    stage = state.get("stage")
    if "next_epoch" in state:  # last.pt: the model after the last finished epoch
        done = int(state["next_epoch"])
        if done:
            return f"last epoch ({name}, stage {stage}, epoch {done - 1})"
        if stage and int(stage) > 1:
            return f"last epoch ({name}, end of stage {int(stage) - 1})"
        return f"starting weights, never trained ({name})"
    if state.get("selection"):
        return f"{state['selection']} ({name}, stage {stage}, epoch {state.get('epoch')})"
    if "model" in state:
        return f"weights of {name}"
    return f"official BMIL weights ({name})"


def open_checkpoint(checkpoint: str | Path, config: RunConfig | None = None) -> LoadedModel:
    """Rebuild the model a checkpoint holds: the one model-from-checkpoint loader.

    The network is ``config``'s (without loading ImageNet weights first) or, when ``config`` is None,
    the one the checkpoint's stored config describes; a file without one is read as official BMIL
    weights (``state_dict`` with ``module.``-prefixed AGW keys, 288×144 images). The weights are a vireid
    checkpoint's ``model`` entry or a bare state dict. Returns a :class:`LoadedModel`. Raises
    ``FileNotFoundError`` / :class:`UserError` naming the file when it is missing, unreadable, or does
    not fit the network.
    """
    state = load_checkpoint(checkpoint)
    label = describe_checkpoint(checkpoint, state)
    weights = state["model"] if isinstance(state.get("model"), dict) else state
    if config is None and weights is not state and isinstance(state.get("config"), dict):
        try:
            config = RunConfig.from_dict(state["config"])
        except ValueError as err:
            raise UserError(f"checkpoint {checkpoint}: its stored config is not valid ({err})") from err
    if config is None:
        model = build_model("agw_resnet50")
        load_official_checkpoint(model, checkpoint)
        return LoadedModel(model.eval(), *OFFICIAL_IMAGE_SIZE, label, None)
    bare = dataclasses.replace(config, model=dataclasses.replace(config.model, pretrained=None))
    m = bare.model
    source = f"checkpoint {checkpoint} ({m.arch}, width {m.width_multiplier}, preset {bare.preset!r})"
    model = load_model_weights(build_configured_model(bare), weights, source)
    return LoadedModel(model.eval(), bare.data.height, bare.data.width, label, config)


def load_model(config: RunConfig | None, checkpoint: str | Path) -> torch.nn.Module:
    """The model of ``config`` with the weights of ``checkpoint`` (eval mode, CPU): :func:`open_checkpoint`'s model."""
    return open_checkpoint(checkpoint, config).model


# ---------------------------------------------------------------------- evaluation
def evaluate_run(
    model: torch.nn.Module,
    dataset: ReIDDataset,
    config: RunConfig,
    *,
    trials: int = 10,
    selection: str = "last epoch",
    progress: bool = True,
    settings: str | Sequence[str] | None = None,
    device: str | torch.device | None = None,
    plan: ComputePlan | None = None,
) -> dict[str, dict[str, float]]:
    """Evaluate ``model`` as a run of ``config`` reports it: the dataset's protocol in ``settings`` (None =
    every reported setting: SYSU all and indoor search, RegDB and LLCM both directions), ``trials``
    gallery trials, at the config's image size, device and compute plan unless ``device``/``plan`` are
    given. Returns setting key → mean metrics (fractions)."""
    device = resolve_device(config.device) if device is None else torch.device(device)
    model.to(device).eval()
    report = evaluate_protocol(
        model,
        dataset,
        settings,
        trials=range(trials),
        height=config.data.height,
        width=config.data.width,
        device=device,
        progress=progress,
        checkpoint_selection=selection,
        plan=plan_for_config(config, device) if plan is None else plan,
    )
    return mean_metrics(report)
