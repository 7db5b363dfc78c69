"""Checks and conversions of config values: ``--set`` text to typed values, types, choices, ranges.

Used by :mod:`vireid_core.config`. The choices of ``cluster.global_association`` and the k1/k2 rule
come from the association room (its registry and :mod:`vireid_core.association.feasibility`), so they
are stated once. Every failure is a :class:`~vireid_core.errors.UserError` naming the
dotted config key and what it expects.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import asdict, fields, is_dataclass
from typing import Any

from vireid_core.association.feasibility import check_k_pair
from vireid_core.association.global_methods import GLOBAL_ASSOCIATIONS, global_association_names
from vireid_core.errors import UserError


def flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``[(dotted key, value)]`` of every leaf of a nested dict (sections become ``a.b`` prefixes)."""
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            items.extend(flatten(value, name + "."))
        else:
            items.append((name, value))
    return items


def parse_text(text: str, current: Any, annotation: str) -> Any:
    """Turn ``text`` from ``--set key=value`` into the type of the field (its current value, or its
    ``annotation`` when the current value is None); fields annotated ``... | None`` accept ``none``, and a
    text field that cannot be None takes ``none`` as its text (``cluster.global_association=none``)."""
    if current is None:
        current = 0.0 if "float" in annotation else 0 if "int" in annotation else ""
    if text.lower() in ("none", "null") and not (isinstance(current, str) and "None" not in annotation):
        if "None" in annotation:
            return None
        raise UserError(f"expected {_kind(current)}, got {text!r} (this key cannot be none)")
    if isinstance(current, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise UserError(f"expected true/false, got {text!r}")
    try:
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
    except ValueError:
        raise UserError(f"expected {_kind(current)}, got {text!r}") from None
    return text


def _kind(value: Any) -> str:
    """How a value of ``value``'s type is described in messages."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    return "text"


def annotation_of(target: Any, name: str) -> str:
    """The type annotation of dataclass field ``name`` of ``target``, as text (e.g. ``"str | None"``)."""
    return str(next(f.type for f in fields(target) if f.name == name))


_CHOICES = {
    "precision": ("auto", "fp32", "bf16"),
    "model.arch": ("agw_resnet50", "resnet18_small", "effnet_lite0"),
    "schedule.stage2_init": ("last", "best"),
    "schedule.checkpoint_selection": ("last", "best"),
    "pretrain.modalities": ("both", "visible"),
}


def allow_choice(key: str, value: str) -> None:
    """Accept ``value`` for the choice-valued config ``key`` from now on.

    The model registry calls this when an architecture is registered, so ``--set model.arch=<name>``
    accepts every registered architecture (the built-in names are listed above, so validation does not
    depend on whether :mod:`vireid_core.model` has been imported yet).
    """
    if key not in _CHOICES:
        raise ValueError(f"{key!r} is not a choice-valued config key")
    if value not in _CHOICES[key]:
        _CHOICES[key] = (*_CHOICES[key], value)


_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def _annotations(cls: Any, prefix: str = "") -> dict[str, str]:
    """Dotted key → type annotation text of every leaf field of a config dataclass."""
    found: dict[str, str] = {}
    for f in fields(cls):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if is_dataclass(default):
            found.update(_annotations(type(default), f"{prefix}{f.name}."))
        else:
            found[f"{prefix}{f.name}"] = str(f.type)
    return found


def _check_types(flat: dict[str, Any], cls: Any) -> None:
    """Every value has its field's type (numbers finite); raise ``UserError`` naming the key."""
    for key, annotation in _annotations(cls).items():
        value = flat[key]
        if value is None:
            if "None" in annotation:
                continue
            raise UserError(f"config key {key!r} must not be none; expected {annotation}")
        kind = annotation.split("|")[0].strip()
        if kind == "bool":
            ok, what = isinstance(value, bool), "true or false"
        elif kind == "int":
            ok, what = isinstance(value, int) and not isinstance(value, bool), "an integer"
        elif kind == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            what = "a finite number"
        else:
            ok, what = isinstance(value, str), "text"
        if not ok:
            raise UserError(f"config key {key!r} must be {what}, got {value!r}")
    if not _DEVICE.fullmatch(flat["device"]):
        raise UserError(f"config key 'device' must be auto, cpu, cuda, cuda:<index> or mps, got {flat['device']!r}")


def _check_neighbour_sizes(cluster: Any) -> None:
    """The k1/k2 rule (:mod:`vireid_core.association.feasibility`) for the intra and the global settings.

    The intra step uses the plain Jaccard; the global step the rule of the method that
    ``cluster.global_association`` names (none for ``"none"``, which has no global step).

    Raises:
        UserError: naming the config key, its value and the rule it breaks.
    """
    check_k_pair(cluster.k1, cluster.k2, per_modality=False,
                 names=("config key 'cluster.k1'", "config key 'cluster.k2'"))
    method = GLOBAL_ASSOCIATIONS.get(cluster.global_association)
    if method is not None:
        check_k_pair(cluster.global_k1, cluster.global_k2, per_modality=method.per_modality,
                     names=("config key 'cluster.global_k1'", "config key 'cluster.global_k2'"))


def validate(config: Any) -> Any:
    """Check types and value ranges; raise ``UserError`` (a ``ValueError``) naming the offending key.

    Returns ``config``.
    """
    flat = dict(flatten(asdict(config)))
    _check_types(flat, type(config))
    choices = {**_CHOICES, "cluster.global_association": global_association_names()}  # the registry's names
    for key, allowed in choices.items():
        if flat[key] not in allowed:
            raise UserError(f"config key {key!r} must be one of {allowed}, got {flat[key]!r}")
    positive_ints = ["data.height", "data.width", "cluster.k1", "cluster.k2", "cluster.global_k1",
                     "cluster.global_k2", "cluster.min_samples", "schedule.iters", "schedule.ir_batch",
                     "schedule.vis_batch", "schedule.num_instances", "optim.num_selected",
                     "optim.step_size", "schedule.eval_trials_stage1", "schedule.eval_trials_stage2"]
    for key in positive_ints:
        if not isinstance(flat[key], int) or flat[key] < 1:
            raise UserError(f"config key {key!r} must be a positive integer, got {flat[key]!r}")
    non_negative = ["schedule.epochs_stage1", "schedule.epochs_stage2", "schedule.eval_every",
                    "pretrain.iterations", "data.num_workers", "threads"]
    for key in non_negative:
        if not isinstance(flat[key], int) or flat[key] < 0:
            raise UserError(f"config key {key!r} must be a non-negative integer, got {flat[key]!r}")
    for key in ("cluster.eps_intra_ir", "cluster.eps_intra_vis", "cluster.eps_global"):
        if not 0.0 < float(flat[key]) <= 1.0:
            raise UserError(f"config key {key!r} must lie in (0, 1], got {flat[key]!r}")
    for key in ("optim.lr", "optim.temperature", "pretrain.lr"):
        if not float(flat[key]) > 0.0:
            raise UserError(f"config key {key!r} must be positive, got {flat[key]!r}")
    for key in ("optim.momentum", "optim.gamma", "pretrain.channel_aug"):
        if not 0.0 <= float(flat[key]) <= 1.0:
            raise UserError(f"config key {key!r} must lie in [0, 1], got {flat[key]!r}")
    ratio = flat["cluster.subset_ratio"]
    if ratio is not None and not 0.0 < float(ratio) < 1.0:
        raise UserError(f"config key 'cluster.subset_ratio' must be None or in (0, 1), got {ratio!r}")
    _check_neighbour_sizes(config.cluster)
    if config.schedule.ir_batch % config.schedule.num_instances or \
            config.schedule.vis_batch % config.schedule.num_instances:
        raise UserError("config keys 'schedule.ir_batch' and 'schedule.vis_batch' must be multiples of "
                         f"'schedule.num_instances' ({config.schedule.num_instances})")
    return config
